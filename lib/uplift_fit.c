/*
 * uplift_fit.c - the statistics of crm-score uplift: penalised logistic
 * and ridge regression by Newton's method on the normal equations
 * (Cholesky), and the Qini coefficient.
 *
 * The features come standardised (mean 0, sd 1), so one penalty lambda
 * weighs them alike; the intercept is not penalised. Newton's method on
 * the penalised log-likelihood converges in a few steps from 0, and the
 * penalty keeps it finite when a feature separates the outcome.
 *
 * Qini (Radcliffe 2007; the normalisation of scikit-uplift's
 * qini_auc_score): rows in decreasing order of the score; at the end of
 * each run of equal scores, the curve is the treated rows' outcome minus
 * the control rows' scaled to the treated count, Y_t - Y_c N_t / N_c; its
 * area above the straight line to the last point, over the same area for
 * the perfect ordering (treated converters first, control converters
 * last).
 */
#include "uplift.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

double ufit_sigmoid(double z)
{
	if (z >= 0) {
		double e = exp(-z);
		return 1 / (1 + e);
	} else {
		double e = exp(z);
		return e / (1 + e);
	}
}

double ufit_linear(const double *x, size_t d, const double *beta)
{
	double z = beta[0];

	for (size_t j = 0; j < d; j++)
		z += beta[j + 1] * x[j];
	return z;
}

/* A x = b for symmetric positive definite A (m x m, overwritten by its
 * Cholesky factor); 0, or -1 when A is not positive definite. */
static int cholesky_solve(double *A, double *b, size_t m)
{
	for (size_t j = 0; j < m; j++) {
		double s = A[j * m + j];
		for (size_t k = 0; k < j; k++)
			s -= A[j * m + k] * A[j * m + k];
		if (!(s > 1e-12))
			return -1;
		A[j * m + j] = sqrt(s);
		for (size_t i = j + 1; i < m; i++) {
			double t = A[i * m + j];
			for (size_t k = 0; k < j; k++)
				t -= A[i * m + k] * A[j * m + k];
			A[i * m + j] = t / A[j * m + j];
		}
	}
	for (size_t i = 0; i < m; i++) {
		double t = b[i];
		for (size_t k = 0; k < i; k++)
			t -= A[i * m + k] * b[k];
		b[i] = t / A[i * m + i];
	}
	for (size_t i = m; i-- > 0;) {
		double t = b[i];
		for (size_t k = i + 1; k < m; k++)
			t -= A[k * m + i] * b[k];
		b[i] = t / A[i * m + i];
	}
	return 0;
}

/* H += c * (1, x)(1, x)^T, lower triangle, and g += r * (1, x) */
static void accumulate(double *H, double *g, const double *x, size_t d, double c, double r)
{
	size_t m = d + 1;

	H[0] += c;
	g[0] += r;
	for (size_t i = 1; i < m; i++) {
		double ci = c * x[i - 1];
		double *row = H + i * m;
		row[0] += ci;
		for (size_t k = 1; k <= i; k++)
			row[k] += ci * x[k - 1];
		g[i] += r * x[i - 1];
	}
}

static void symmetrise(double *H, size_t m)
{
	for (size_t i = 0; i < m; i++)
		for (size_t k = i + 1; k < m; k++)
			H[i * m + k] = H[k * m + i];
}

int ufit_logistic(const double *X, size_t d, const double *y, const double *w,
		  const size_t *idx, size_t n, double lambda, double *beta)
{
	size_t m = d + 1;
	double *H = xcalloc(m * m, sizeof(double)), *g = xcalloc(m, sizeof(double));
	double sw = 0, sy = 0;
	int rc = -1;

	/* start from the mean */
	for (size_t k = 0; k < n; k++) {
		size_t i = idx ? idx[k] : k;
		double wi = w ? w[i] : 1;
		sw += wi;
		sy += wi * y[i];
	}
	memset(beta, 0, m * sizeof(double));
	if (!(sw > 0) || sy <= 0 || sy >= sw)
		goto out; /* no outcome, or every row has it: nothing to learn */
	beta[0] = log(sy / (sw - sy));
	for (int it = 0; it < 50; it++) {
		double step = 0;
		memset(H, 0, m * m * sizeof(double));
		memset(g, 0, m * sizeof(double));
		for (size_t k = 0; k < n; k++) {
			size_t i = idx ? idx[k] : k;
			const double *x = X + i * d;
			double wi = w ? w[i] : 1;
			double p = ufit_sigmoid(ufit_linear(x, d, beta));
			accumulate(H, g, x, d, wi * p * (1 - p), wi * (y[i] - p));
		}
		for (size_t j = 1; j < m; j++) {
			H[j * m + j] += lambda;
			g[j] -= lambda * beta[j];
		}
		symmetrise(H, m);
		if (cholesky_solve(H, g, m) < 0)
			goto out;
		for (size_t j = 0; j < m; j++) {
			beta[j] += g[j];
			if (fabs(g[j]) > step)
				step = fabs(g[j]);
		}
		if (!isfinite(step))
			goto out;
		if (step < 1e-8)
			break;
	}
	rc = 0;
out:
	free(H);
	free(g);
	return rc;
}

int ufit_ridge(const double *X, size_t d, const double *y, const double *w,
	       const size_t *idx, size_t n, double lambda, double *beta)
{
	size_t m = d + 1;
	double *H = xcalloc(m * m, sizeof(double));
	int rc;

	memset(beta, 0, m * sizeof(double));
	for (size_t k = 0; k < n; k++) {
		size_t i = idx ? idx[k] : k;
		double wi = w ? w[i] : 1;
		accumulate(H, beta, X + i * d, d, wi, wi * y[i]);
	}
	for (size_t j = 1; j < m; j++)
		H[j * m + j] += lambda;
	symmetrise(H, m);
	rc = n ? cholesky_solve(H, beta, m) : -1;
	free(H);
	return rc;
}

/* ---- Qini ---- */

struct qrow {
	double s, y;
	unsigned char t;
};

static int by_score_desc(const void *a, const void *b)
{
	const struct qrow *x = a, *y = b;
	return x->s < y->s ? 1 : x->s > y->s ? -1 : 0;
}

/* The area under the Qini curve of rows q[0..n) in their order. */
static double qini_area(const struct qrow *q, size_t n, double *last)
{
	double yt = 0, yc = 0, nt = 0, nc = 0, area = 0, px = 0, py = 0;

	for (size_t i = 0; i < n; i++) {
		if (q[i].t)
			nt++, yt += q[i].y;
		else
			nc++, yc += q[i].y;
		if (i + 1 < n && q[i + 1].s == q[i].s)
			continue;
		double x = (double)(i + 1), v = yt - (nc > 0 ? yc * nt / nc : 0);
		area += (x - px) * (v + py) / 2;
		px = x;
		py = v;
	}
	*last = py;
	return area;
}

double ufit_qini(const double *s, const double *y, const unsigned char *t, const size_t *idx,
		 size_t n)
{
	struct qrow *q;
	double actual, perfect, last, plast, base;

	if (n < 2)
		return NAN;
	q = xcalloc(n, sizeof(*q));
	for (size_t k = 0; k < n; k++) {
		size_t i = idx ? idx[k] : k;
		q[k].s = s[i];
		q[k].y = y[i];
		q[k].t = t[i];
	}
	/* ties keep a fixed order: qsort is not stable, but the curve is only
	 * read at the end of each run of equal scores */
	qsort(q, n, sizeof(*q), by_score_desc);
	actual = qini_area(q, n, &last);
	for (size_t k = 0; k < n; k++)
		q[k].s = q[k].t ? q[k].y : -q[k].y;
	qsort(q, n, sizeof(*q), by_score_desc);
	perfect = qini_area(q, n, &plast);
	free(q);
	base = (double)n * plast / 2;
	if (!(fabs(perfect - base) > 0))
		return NAN;
	return (actual - base) / (perfect - base);
}
