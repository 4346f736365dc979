/*
 * score_pareto.c - the Pareto/NBD model of purchase counts (Schmittlein,
 * Morrison and Colombo 1987): purchases at rate lambda ~ Gamma(r, alpha)
 * while alive, a lifetime exponential at rate mu ~ Gamma(s, beta). The
 * likelihood as in Fader, Hardie and Lee, "A note on deriving the
 * Pareto/NBD model and related expressions" (2005), with its Gaussian
 * hypergeometric function evaluated in logarithms; the predictions in the
 * same units as BG/NBD's (score_model.h), so that lib/score.c uses either.
 */
#include "score_model.h"

#include <math.h>
#include <string.h>

#include "util.h"

/* Gauss-Legendre nodes and weights on [-1, 1], once */
#define PGL_N 16
static double pgl_x[PGL_N], pgl_w[PGL_N];

static void pgl_init(void)
{
	static int ready;

	if (!ready)
		sc_gauss_legendre(PGL_N, pgl_x, pgl_w);
	ready = 1;
}

/*
 * The customer's terms. The likelihood is
 *   Gamma(r+x) alpha^r beta^s / Gamma(r) [e^L1 + s I],
 *   L1 = -(r+x) ln(alpha+T) - s ln(beta+T),
 *   I = integral over (tx, T) of f(u) = (alpha+u)^-(r+x) (beta+u)^-(s+1) du:
 * alive to T, or dropped out at u after the last purchase. The note
 * writes s I as s/(r+s+x) A0 with Gaussian hypergeometric functions,
 * whose series need about (r+x)/(1-z) terms and z runs to 1 as beta
 * grows (a base where no one drops out); the integral is smooth instead,
 * its integrand analytic but for poles at -alpha and -beta, so
 * Gauss-Legendre panels [tx, tx+e], [tx+e, tx+3e], [tx+3e, tx+7e] ... with
 * e = min(alpha, beta) + tx converge fast whatever the parameters (a
 * panel's length is its distance from the nearer pole, so they double).
 * ln I goes to *lnI (-inf when tx = T); with mean not NULL, the means
 * under f of -ln(alpha+u), -1/(alpha+u), -ln(beta+u), -1/(beta+u) (for
 * the gradient) go to mean[0..3].
 */
static void dropout_integral(const struct sc_bgnbd *m, double x, double tx, double T,
			     double *lnI, double *mean)
{
	double k1 = m->r + x, k2 = m->s + 1, al = m->alpha, be = m->beta;
	double g0 = -k1 * log(al + tx) - k2 * log(be + tx), sum = 0, acc[4] = { 0 };
	double e = fmin(al, be) + tx, lo = tx, hi = fmin(T, tx + e);

	if (!(T > tx)) {
		*lnI = -INFINITY;
		if (mean)
			mean[0] = mean[1] = mean[2] = mean[3] = 0;
		return;
	}
	while (lo < T) {
		double mid = (lo + hi) / 2, half = (hi - lo) / 2;
		for (int i = 0; i < PGL_N; i++) {
			double u = mid + half * pgl_x[i], la = log(al + u), lb = log(be + u);
			double w = pgl_w[i] * half * exp(-k1 * la - k2 * lb - g0);
			sum += w;
			if (mean) {
				acc[0] -= w * la;
				acc[1] -= w / (al + u);
				acc[2] -= w * lb;
				acc[3] -= w / (be + u);
			}
		}
		lo = hi;
		hi = fmin(T, lo + (lo - tx + e));
	}
	*lnI = g0 + log(sum);
	if (mean)
		for (int k = 0; k < 4; k++)
			mean[k] = acc[k] / sum;
}

/* One customer's log-likelihood and, with g, its derivatives with
 * respect to (r, alpha, s, beta) added to g. */
static double pareto_ll1(const struct sc_bgnbd *m, double x, double tx, double T, double *g)
{
	double r = m->r, al = m->alpha, s = m->s, be = m->beta, rx = r + x;
	double lnI, mean[4], L1, L2, hi, lo, L;

	dropout_integral(m, x, tx, T, &lnI, g ? mean : NULL);
	L1 = -rx * log(al + T) - s * log(be + T);
	L2 = log(s) + lnI;
	hi = fmax(L1, L2);
	lo = fmin(L1, L2);
	L = hi + log1p(exp(lo - hi));
	if (g) {
		double w1 = exp(L1 - L), w2 = exp(L2 - L), dg = 0;
		for (int k = 0; k < x; k++)
			dg += 1 / (r + k);
		g[0] += dg + log(al) - w1 * log(al + T) + w2 * mean[0];
		g[1] += r / al - w1 * rx / (al + T) + w2 * rx * mean[1];
		g[2] += log(be) - w1 * log(be + T) + w2 * (1 / s + mean[2]);
		g[3] += s / be - w1 * s / (be + T) + w2 * (s + 1) * mean[3];
	}
	return sc_lgamma(rx) - sc_lgamma(r) + r * log(al) + s * log(be) + L;
}

/* From this many groups on, the sums run in two threads. */
#define PARALLEL_MIN 20000

struct pareto_part {
	const struct sc_bgnbd *m;
	const struct sc_rf *d;
	size_t lo, hi;
	int grad;
	double ll, g[4];
};

static void *pareto_part_run(void *arg)
{
	struct pareto_part *p = arg;
	const struct sc_rf *d = p->d;
	double u = d->unit_ticks;

	for (size_t i = p->lo; i < p->hi; i++) {
		double gi[4] = { 0 };
		p->ll += d->w[i] * pareto_ll1(p->m, d->x[i], d->tx[i] / u, d->T[i] / u,
					      p->grad ? gi : NULL);
		for (int k = 0; k < 4 && p->grad; k++)
			p->g[k] += d->w[i] * gi[k];
	}
	return NULL;
}

/* LL and, with grad, its gradient with respect to (r, alpha, s, beta) */
static double pareto_ll(const struct sc_bgnbd *m, const struct sc_rf *d, double *grad)
{
	struct pareto_part part[2] = {
		{ m, d, 0, d->n, grad != NULL, 0, { 0 } },
		{ m, d, d->n, d->n, grad != NULL, 0, { 0 } },
	};

	pgl_init();
	if (d->n >= PARALLEL_MIN) {
		part[0].hi = part[1].lo = d->n / 2;
		sc_run2(pareto_part_run, &part[0], &part[1]);
	} else {
		pareto_part_run(&part[0]);
	}
	for (int k = 0; k < 4 && grad; k++)
		grad[k] = part[0].g[k] + part[1].g[k];
	return part[0].ll + part[1].ll;
}

double sc_pareto_ll(const struct sc_bgnbd *m, const struct sc_rf *d)
{
	return pareto_ll(m, d, NULL);
}

/* -LL / N over the logarithms of (r, alpha, s, beta) */
static double pareto_obj(const double *th, double *g, void *data)
{
	const struct sc_rf *d = data;
	struct sc_bgnbd m = {
		.r = exp(th[0]), .alpha = exp(th[1]), .s = exp(th[2]), .beta = exp(th[3]),
		.kind = SC_PARETO,
	};
	double gn[4], n = d->customers, v[4] = { m.r, m.alpha, m.s, m.beta };
	double ll = pareto_ll(&m, d, gn);

	for (int k = 0; k < 4; k++)
		g[k] = -gn[k] * v[k] / n;
	return -ll / n;
}

int sc_pareto_fit(const struct sc_rf *d, struct sc_bgnbd *m, struct sc_fitinfo *info)
{
	static const char *const names[] = { "r", "alpha", "s", "beta" };
	static const double limits[] = { 13.8, 25, 13.8, 25 };
	/* (r, s); alpha makes r/alpha the mean purchase rate, beta makes
	 * s/beta a dropout rate of about one per mean age */
	static const double rs[][2] = { { 0.5, 0.5 }, { 1, 1 }, { 0.2, 2 }, { 2, 0.3 } };
	double starts[4][SC_MAXPAR], th[4] = { 0 }, sumT = 0, rate, meanT;
	struct sc_penalty pe = { pareto_obj, (void *)d, 4, d->penalty };
	int rc;

	memset(m, 0, sizeof(*m));
	m->kind = SC_PARETO;
	if (sc_rf_fittable(d, info, &sumT) < 0)
		return -1;
	rate = d->sum_x / fmax(sumT, 1e-9);
	meanT = fmax(sumT / d->customers, 1e-3);
	for (int k = 0; k < 4; k++) {
		starts[k][0] = log(rs[k][0]);
		starts[k][1] = log(rs[k][0] / rate);
		starts[k][2] = log(rs[k][1]);
		starts[k][3] = log(rs[k][1] * meanT);
	}
	rc = d->penalty > 0 ?
	     sc_fit_starts(4, starts, 4, names, limits, 0, sc_penalised_obj, &pe, th, info) :
	     sc_fit_starts(4, starts, 4, names, limits, 0, pareto_obj, (void *)d, th, info);
	m->r = exp(th[0]);
	m->alpha = exp(th[1]);
	m->s = exp(th[2]);
	m->beta = exp(th[3]);
	m->a = m->b = NAN;
	if (rc == 0 && info->have_cov) {
		double v[4] = { m->r, m->alpha, m->s, m->beta };
		for (int i = 0; i < 4; i++)
			info->se[i] = v[i] * sqrt(info->cov[i][i] / d->customers);
	}
	/* the likelihood itself, also with a penalty */
	info->ll = sc_pareto_ll(m, d);
	return rc;
}

double sc_pareto_dead_logodds(const struct sc_bgnbd *m, double x, double tx, double T)
{
	double lnI;

	pgl_init();
	dropout_integral(m, x, tx, T, &lnI, NULL);
	return log(m->s) + lnI + (m->r + x) * log(m->alpha + T) + m->s * log(m->beta + T);
}

/* Expected purchases in (T, T+t] of a customer alive at T:
 * (r+x)(beta+T) / ((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))^(s-1)],
 * written without the pole at s = 1. */
double sc_pareto_future(const struct sc_bgnbd *m, double x, double T, double t)
{
	double L, s1 = m->s - 1, q;

	if (!(t > 0))
		return 0;
	L = log1p(t / (m->beta + T));
	q = fabs(s1) < 1e-12 ? L : -expm1(-s1 * L) / s1;
	return (m->r + x) * (m->beta + T) / (m->alpha + T) * q;
}
