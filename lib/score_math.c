/*
 * score_math.c - special functions and the optimiser of crm-score's
 * models (score_model.h).
 */
#include "score_model.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* glibc declares lgamma_r under _DEFAULT_SOURCE; say so for others */
double lgamma_r(double x, int *sign);

double sc_lgamma(double x)
{
	int sign;

	return lgamma_r(x, &sign);
}

/*
 * psi(x) for x > 0: the recurrence psi(x) = psi(x + 1) - 1/x up to
 * x >= 12, then the asymptotic series
 *   ln x - 1/(2x) - sum B_2k / (2k x^2k),
 * whose first omitted term is below 1e-17 there.
 */
double sc_digamma(double x)
{
	double acc = 0, x2, s;

	if (!(x > 0))
		return NAN;
	while (x < 12) {
		acc -= 1 / x;
		x += 1;
	}
	x2 = 1 / (x * x);
	s = x2 * (1.0 / 12 - x2 * (1.0 / 120 - x2 * (1.0 / 252 - x2 * (1.0 / 240 -
		x2 * (1.0 / 132 - x2 * (691.0 / 32760 - x2 * (1.0 / 12)))))));
	return acc + log(x) - 0.5 / x - s;
}

double sc_softplus(double d)
{
	return d > 0 ? d + log1p(exp(-d)) : log1p(exp(d));
}

double sc_logistic(double d)
{
	double e;

	if (d >= 0)
		return 1 / (1 + exp(-d));
	e = exp(d);
	return e / (1 + e);
}

void sc_run2(void *(*fn)(void *), void *a0, void *a1)
{
	pthread_t t;

	if (pthread_create(&t, NULL, fn, a1) != 0) {
		fn(a0);
		fn(a1);
		return;
	}
	fn(a0);
	pthread_join(t, NULL);
}

/* ------------------------------------------------------------ optimiser */

static double dot(int n, const double *u, const double *v)
{
	double s = 0;

	for (int i = 0; i < n; i++)
		s += u[i] * v[i];
	return s;
}

static double maxabs(int n, const double *v)
{
	double m = 0;

	for (int i = 0; i < n; i++)
		if (fabs(v[i]) > m)
			m = fabs(v[i]);
	return m;
}

static int inside(const struct sc_optim *o, const double *t)
{
	for (int i = 0; i < o->n; i++)
		if (!(t[i] >= o->lo && t[i] <= o->hi))
			return 0;
	return 1;
}

/*
 * BFGS on the inverse Hessian (Nocedal & Wright, algorithm 6.1) with an
 * Armijo backtracking line search that interpolates a quadratic and
 * treats a non-finite value or a point outside the bounds as too far.
 * The update is skipped when the curvature condition s'y > 0 fails, and
 * the approximation restarts from a scaled identity when the direction
 * stops going downhill. A step moves no parameter by more than 2 (a
 * factor e^2 on a log-parameter) at a time.
 */
void sc_minimise(struct sc_optim *o, double *th, sc_objective fn, void *data)
{
	int n = o->n, max_iter = o->max_iter ? o->max_iter : 500;
	double gtol = o->gtol > 0 ? o->gtol : 1e-9;
	double H[SC_MAXPAR][SC_MAXPAR], g[SC_MAXPAR], p[SC_MAXPAR];
	double tn[SC_MAXPAR], gn[SC_MAXPAR], s[SC_MAXPAR], y[SC_MAXPAR];
	double f, fn_, gp, step;
	int fresh = 1, stalls = 0;

	o->iterations = 0;
	o->converged = 0;
	o->why = NULL;
	f = fn(th, g, data);
	o->evaluations = 1;
	if (!isfinite(f) || !inside(o, th)) {
		o->f = f;
		o->gmax = INFINITY;
		o->why = "the starting point is outside the model's domain";
		return;
	}
	memset(H, 0, sizeof(H));
	for (int i = 0; i < n; i++)
		H[i][i] = 1;

	for (;;) {
		o->gmax = maxabs(n, g);
		if (o->gmax <= gtol) {
			o->converged = 1;
			break;
		}
		if (o->iterations >= max_iter) {
			o->why = "too many iterations";
			break;
		}
		o->iterations++;
		for (int i = 0; i < n; i++) {
			p[i] = 0;
			for (int j = 0; j < n; j++)
				p[i] -= H[i][j] * g[j];
		}
		gp = dot(n, g, p);
		if (!(gp < 0)) {
			memset(H, 0, sizeof(H));
			for (int i = 0; i < n; i++) {
				H[i][i] = 1;
				p[i] = -g[i];
			}
			gp = -dot(n, g, g);
			fresh = 1;
		}
		double pm = maxabs(n, p);
		if (pm > 2) {
			for (int i = 0; i < n; i++)
				p[i] *= 2 / pm;
			gp *= 2 / pm;
		}

		step = 1;
		int accepted = 0;
		/* close to the tolerance, a failed step is rounding noise in f:
		 * give up after a few tries instead of 60 */
		int max_ls = o->gmax <= 1e3 * gtol ? 4 : 60;
		for (int ls = 0; ls < max_ls; ls++) {
			for (int i = 0; i < n; i++)
				tn[i] = th[i] + step * p[i];
			fn_ = inside(o, tn) ? fn(tn, gn, data) : INFINITY;
			o->evaluations++;
			if (isfinite(fn_) && fn_ <= f + 1e-4 * step * gp) {
				accepted = 1;
				break;
			}
			if (!isfinite(fn_)) {
				step *= 0.2;
			} else {
				/* minimum of the quadratic through f, gp and fn_ */
				double st = -gp * step * step / (2 * (fn_ - f - gp * step));
				step = fmax(0.1 * step, fmin(0.5 * step, st));
			}
		}
		if (!accepted) {
			/* at the limit of floating point: as good as it gets */
			if (o->gmax <= 1e3 * gtol)
				o->converged = 1;
			else
				o->why = "the line search found no better point";
			break;
		}
		for (int i = 0; i < n; i++) {
			s[i] = tn[i] - th[i];
			y[i] = gn[i] - g[i];
		}
		double sy = dot(n, s, y);
		double df = f - fn_;
		memcpy(th, tn, sizeof(double) * (size_t)n);
		memcpy(g, gn, sizeof(double) * (size_t)n);
		f = fn_;
		for (int i = 0; i < n; i++)
			if ((o->stop_mask & 1u << i) && th[i] > o->stop_at) {
				o->why = "a parameter runs off to infinity";
				o->gmax = maxabs(n, g);
				goto out;
			}
		if (df <= 1e-15 * fabs(f) && maxabs(n, s) < 1e-12) {
			if (++stalls >= 3) {
				o->gmax = maxabs(n, g);
				if (o->gmax <= 1e3 * gtol)
					o->converged = 1;
				else
					o->why = "no progress";
				break;
			}
		} else {
			stalls = 0;
		}
		if (sy > 1e-12 * sqrt(dot(n, s, s) * dot(n, y, y)) && sy > 0) {
			double rho = 1 / sy, Hy[SC_MAXPAR], yHy;
			if (fresh) {
				/* scale the identity to the curvature seen (N&W 6.20) */
				double sc = sy / dot(n, y, y);
				for (int i = 0; i < n; i++)
					H[i][i] = sc;
				fresh = 0;
			}
			for (int i = 0; i < n; i++) {
				Hy[i] = 0;
				for (int j = 0; j < n; j++)
					Hy[i] += H[i][j] * y[j];
			}
			yHy = dot(n, y, Hy);
			/* H += (1 + rho y'Hy) rho s s' - rho (Hy s' + s y'H) */
			for (int i = 0; i < n; i++)
				for (int j = 0; j < n; j++)
					H[i][j] += (1 + rho * yHy) * rho * s[i] * s[j] -
						   rho * (Hy[i] * s[j] + s[i] * Hy[j]);
		}
	}
out:
	o->f = f;
	memcpy(o->grad, g, sizeof(double) * (size_t)n);
}

/* Eigenvalues of a symmetric n x n matrix (destroyed) by cyclic Jacobi
 * rotations; the diagonal ends up holding them. */
static void jacobi_eigen(int n, double A[SC_MAXPAR][SC_MAXPAR])
{
	for (int sweep = 0; sweep < 100; sweep++) {
		double off = 0;
		for (int i = 0; i < n; i++)
			for (int j = i + 1; j < n; j++)
				off += A[i][j] * A[i][j];
		if (off < 1e-300)
			return;
		for (int p = 0; p < n; p++)
			for (int q = p + 1; q < n; q++) {
				if (A[p][q] == 0)
					continue;
				double th = (A[q][q] - A[p][p]) / (2 * A[p][q]);
				double t = (th >= 0 ? 1 : -1) / (fabs(th) + sqrt(th * th + 1));
				double c = 1 / sqrt(t * t + 1), s = t * c;
				for (int k = 0; k < n; k++) {
					double akp = A[k][p], akq = A[k][q];
					A[k][p] = c * akp - s * akq;
					A[k][q] = s * akp + c * akq;
				}
				for (int k = 0; k < n; k++) {
					double apk = A[p][k], aqk = A[q][k];
					A[p][k] = c * apk - s * aqk;
					A[q][k] = s * apk + c * aqk;
				}
			}
	}
}

/* The Hessian of fn at theta by central differences of its gradient
 * (step 1e-4 in the log-parameters), symmetrised. 0, or -1 when a point
 * is outside the domain. */
static int hessian(int n, const double *theta, sc_objective fn, void *data,
		   double H[SC_MAXPAR][SC_MAXPAR])
{
	double t[SC_MAXPAR], gp[SC_MAXPAR], gm[SC_MAXPAR];
	const double h = 1e-4;

	for (int j = 0; j < n; j++) {
		memcpy(t, theta, sizeof(double) * (size_t)n);
		t[j] = theta[j] + h;
		if (!isfinite(fn(t, gp, data)))
			return -1;
		t[j] = theta[j] - h;
		if (!isfinite(fn(t, gm, data)))
			return -1;
		for (int i = 0; i < n; i++)
			H[i][j] = (gp[i] - gm[i]) / (2 * h);
	}
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			H[i][j] = H[j][i] = (H[i][j] + H[j][i]) / 2;
	return 0;
}

static double min_eigen(int n, double H[SC_MAXPAR][SC_MAXPAR])
{
	double A[SC_MAXPAR][SC_MAXPAR], m = INFINITY;

	memcpy(A, H, sizeof(A));
	jacobi_eigen(n, A);
	for (int i = 0; i < n; i++)
		if (A[i][i] < m)
			m = A[i][i];
	return m;
}

double sc_min_curvature(int n, const double *theta, sc_objective fn, void *data)
{
	double H[SC_MAXPAR][SC_MAXPAR];

	if (hessian(n, theta, fn, data, H) < 0)
		return NAN;
	return min_eigen(n, H);
}

/* Solves H d = -g by Cholesky (H positive definite); -1 if it is not. */
static int newton_step(int n, double H[SC_MAXPAR][SC_MAXPAR], const double *g, double *d)
{
	double L[SC_MAXPAR][SC_MAXPAR] = { { 0 } }, y[SC_MAXPAR];

	for (int i = 0; i < n; i++)
		for (int j = 0; j <= i; j++) {
			double sum = H[i][j];
			for (int k = 0; k < j; k++)
				sum -= L[i][k] * L[j][k];
			if (i == j) {
				if (!(sum > 0))
					return -1;
				L[i][i] = sqrt(sum);
			} else {
				L[i][j] = sum / L[j][j];
			}
		}
	for (int i = 0; i < n; i++) {
		double sum = -g[i];
		for (int k = 0; k < i; k++)
			sum -= L[i][k] * y[k];
		y[i] = sum / L[i][i];
	}
	for (int i = n - 1; i >= 0; i--) {
		double sum = y[i];
		for (int k = i + 1; k < n; k++)
			sum -= L[k][i] * d[k];
		d[i] = sum / L[i][i];
	}
	return 0;
}

/*
 * Newton steps with the finite-difference Hessian from a point where BFGS
 * stopped: near the optimum the change in f drowns in rounding, which
 * stalls a line search, while the gradient still shrinks quadratically.
 * A step is kept when it makes the largest gradient component smaller.
 * Returns the smallest Hessian eigenvalue at the start (NAN on failure).
 */
/* The inverse of the Hessian of fn at theta (positive definite), by
 * solving H d = e_j for each j; -1 if it is not positive definite. */
static int covariance(int n, const double *theta, sc_objective fn, void *data,
		      double C[SC_MAXPAR][SC_MAXPAR])
{
	double H[SC_MAXPAR][SC_MAXPAR], g[SC_MAXPAR], d[SC_MAXPAR];

	if (hessian(n, theta, fn, data, H) < 0)
		return -1;
	for (int j = 0; j < n; j++) {
		for (int i = 0; i < n; i++)
			g[i] = i == j ? -1 : 0;
		if (newton_step(n, H, g, d) < 0)
			return -1;
		for (int i = 0; i < n; i++)
			C[i][j] = d[i];
	}
	return 0;
}

static double polish(int n, double *theta, double *f, double *gmax, sc_objective fn,
		     void *data, int *evals)
{
	double H[SC_MAXPAR][SC_MAXPAR], g[SC_MAXPAR], d[SC_MAXPAR], t[SC_MAXPAR], gt[SC_MAXPAR];
	double curv = NAN;

	*f = fn(theta, g, data);
	++*evals;
	*gmax = maxabs(n, g);
	for (int it = 0; it < 3; it++) {
		if (hessian(n, theta, fn, data, H) < 0)
			break;
		*evals += 2 * n;
		if (it == 0)
			curv = min_eigen(n, H);
		if (*gmax < 1e-13 || newton_step(n, H, g, d) < 0)
			break;
		for (int i = 0; i < n; i++)
			t[i] = theta[i] + d[i];
		double ft = fn(t, gt, data);
		++*evals;
		if (!isfinite(ft) || !(maxabs(n, gt) < *gmax) || ft > *f + 1e-12 * fabs(*f))
			break;
		memcpy(theta, t, sizeof(double) * (size_t)n);
		memcpy(g, gt, sizeof(double) * (size_t)n);
		*f = ft;
		*gmax = maxabs(n, g);
	}
	return curv;
}

double sc_penalised_obj(const double *theta, double *grad, void *data)
{
	const struct sc_penalty *pe = data;
	double f = pe->fn(theta, grad, pe->data);

	for (int i = 0; i < pe->n; i++) {
		f += pe->L * theta[i] * theta[i];
		grad[i] += 2 * pe->L * theta[i];
	}
	return f;
}

#define LOG_BOUND 25.0
#define MIN_CURVATURE 1e-7

int sc_fit_starts(int n, const double (*starts)[SC_MAXPAR], int nstarts,
		  const char *const *names, const double *limits, unsigned inf_ok,
		  sc_objective fn, void *data, double *theta, struct sc_fitinfo *info)
{
	double best = INFINITY, th[SC_MAXPAR];
	int found = 0;

	memset(info, 0, sizeof(*info));
	info->curvature = NAN;
	for (int s = 0; s < nstarts; s++) {
		struct sc_optim o = { .n = n, .lo = -LOG_BOUND, .hi = LOG_BOUND, .stop_mask = inf_ok };
		int off = -1, limit = 1;

		for (int i = 0; i < n; i++)
			if (inf_ok & 1u << i)
				o.stop_at = limits[i];

		for (int i = 0; i < n; i++)
			th[i] = fmin(fmax(starts[s][i], -LOG_BOUND + 2), LOG_BOUND - 2);
		sc_minimise(&o, th, fn, data);
		info->starts++;
		info->iterations += o.iterations;
		info->evaluations += o.evaluations;
		if (!isfinite(o.f))
			continue;
		for (int i = 0; i < n; i++) {
			if (fabs(th[i]) >= fmin(limits[i], LOG_BOUND - 1)) {
				off = i;
				if (!(inf_ok & 1u << i) || th[i] < 0)
					limit = 0;
			}
		}
		/* running off to an allowed limit: the caller fits the limit
		 * model from here */
		if (off >= 0 && limit) {
			memcpy(theta, th, sizeof(double) * (size_t)n);
			info->ll = -o.f;
			info->gmax = o.gmax;
			snprintf(info->limit_buf, sizeof(info->limit_buf), "%s runs off to infinity",
				 names[off]);
			info->limit = info->limit_buf;
			info->why = NULL;
			return 1;
		}
		if (o.f < best) {
			best = o.f;
			memcpy(theta, th, sizeof(double) * (size_t)n);
			info->ll = -o.f;
			info->gmax = o.gmax;
			if (off >= 0)
				snprintf(info->why_buf, sizeof(info->why_buf),
					 "parameter %s runs off to %s", names[off],
					 th[off] > 0 ? "infinity" : "0");
			else
				snprintf(info->why_buf, sizeof(info->why_buf), "%s",
					 o.converged ? "" : o.why);
		}
		if (!o.converged || off >= 0 || o.f > best)
			continue;
		info->curvature = polish(n, th, &o.f, &o.gmax, fn, data, &info->evaluations);
		memcpy(theta, th, sizeof(double) * (size_t)n);
		info->ll = -o.f;
		info->gmax = o.gmax;
		if (!(info->curvature > MIN_CURVATURE)) {
			/* the flattest direction: the largest component of the
			 * eigenvector is not computed; name the parameters */
			snprintf(info->why_buf, sizeof(info->why_buf),
				 "the likelihood is flat (curvature %.1g): the data do not identify "
				 "the parameters", info->curvature);
			continue;
		}
		found = 1;
		info->have_cov = covariance(n, th, fn, data, info->cov) == 0;
		break;
	}
	for (int i = 0; i < SC_MAXPAR; i++)
		info->se[i] = NAN;
	info->converged = found;
	info->why = found ? NULL : info->why_buf;
	if (!found && !info->why_buf[0])
		snprintf(info->why_buf, sizeof(info->why_buf), "no starting point converged");
	return found ? 0 : -1;
}

void sc_gauss_legendre(int n, double *x, double *w)
{
	for (int i = 0; i < n; i++) {
		double xx = cos(M_PI * (i + 0.75) / (n + 0.5)), dp = 1;
		for (int it = 0; it < 100; it++) {
			double p0 = 1, p1 = xx;
			for (int k = 2; k <= n; k++) {
				double p2 = ((2 * k - 1) * xx * p1 - (k - 1) * p0) / k;
				p0 = p1;
				p1 = p2;
			}
			dp = n * (xx * p1 - p0) / (xx * xx - 1);
			double dx = p1 / dp;
			xx -= dx;
			if (fabs(dx) < 1e-16)
				break;
		}
		x[i] = xx;
		w[i] = 2 / ((1 - xx * xx) * dp * dp);
	}
}

double sc_numeric_gradient(int n, const double *theta, double *grad,
			   double (*f)(const double *theta, const void *data), const void *data)
{
	double v = f(theta, data), t[SC_MAXPAR];

	if (!isfinite(v))
		return v;
	for (int i = 0; i < n; i++) {
		double h = 1e-5, fp, fm;
		memcpy(t, theta, sizeof(double) * (size_t)n);
		t[i] = theta[i] + h;
		fp = f(t, data);
		t[i] = theta[i] - h;
		fm = f(t, data);
		if (!isfinite(fp) || !isfinite(fm))
			return NAN;
		grad[i] = (fp - fm) / (2 * h);
	}
	return v;
}
