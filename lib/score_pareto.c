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
 *   I = integral over (tx, T) of (alpha+u)^-(r+x) (beta+u)^-(s+1) du:
 * alive to T, or dropped out at u after the last purchase. The note
 * writes s I as s/(r+s+x) A0 with Gaussian hypergeometric functions,
 * whose series need about (r+x)/(1-z) terms and z runs to 1 as beta
 * grows (a base where no one drops out); the integral is smooth instead,
 * its integrand analytic but for poles at -alpha and -beta, so
 * Gauss-Legendre panels [tx, tx+e], [tx+e, tx+3e], [tx+3e, tx+7e] ... with
 * e = min(alpha, beta) + tx converge fast
 * whatever the parameters (a panel's length is its distance from the
 * nearer pole, so they double). Returns ln I (-inf when tx = T).
 */
static double ln_dropout_integral(const struct sc_bgnbd *m, double x, double tx, double T)
{
	double k1 = m->r + x, k2 = m->s + 1, al = m->alpha, be = m->beta;
	double g0 = -k1 * log(al + tx) - k2 * log(be + tx), sum = 0;
	double e = fmin(al, be) + tx, lo = tx, hi = fmin(T, tx + e);

	if (!(T > tx))
		return -INFINITY;
	while (lo < T) {
		double mid = (lo + hi) / 2, half = (hi - lo) / 2, ps = 0;
		for (int i = 0; i < PGL_N; i++) {
			double u = mid + half * pgl_x[i];
			ps += pgl_w[i] * exp(-k1 * log(al + u) - k2 * log(be + u) - g0);
		}
		sum += ps * half;
		lo = hi;
		hi = fmin(T, lo + (lo - tx + e));
	}
	return g0 + log(sum);
}

static void pareto_terms(const struct sc_bgnbd *m, double x, double tx, double T, double *lnsI,
			 double *L1)
{
	*L1 = -(m->r + x) * log(m->alpha + T) - m->s * log(m->beta + T);
	*lnsI = log(m->s) + ln_dropout_integral(m, x, tx, T);
}

static double pareto_ll1(const struct sc_bgnbd *m, double x, double tx, double T)
{
	double r = m->r, s = m->s, L2, L1, hi, lo;

	pareto_terms(m, x, tx, T, &L2, &L1);
	hi = fmax(L1, L2);
	lo = fmin(L1, L2);
	return sc_lgamma(r + x) - sc_lgamma(r) + r * log(m->alpha) + s * log(m->beta) + hi +
	       log1p(exp(lo - hi));
}

double sc_pareto_ll(const struct sc_bgnbd *m, const struct sc_rf *d)
{
	double ll = 0, u = d->unit_ticks;

	pgl_init();
	for (size_t i = 0; i < d->n; i++)
		ll += d->w[i] * pareto_ll1(m, d->x[i], d->tx[i] / u, d->T[i] / u);
	return ll;
}

/* -LL / N over the logarithms of (r, alpha, s, beta); the gradient by
 * central differences (the hypergeometric terms have no cheap closed
 * derivative) */
static double pareto_f(const double *th, const void *data)
{
	const struct sc_rf *d = data;
	struct sc_bgnbd m = {
		.r = exp(th[0]), .alpha = exp(th[1]), .s = exp(th[2]), .beta = exp(th[3]),
		.kind = SC_PARETO,
	};
	return -sc_pareto_ll(&m, d) / d->customers;
}

static double pareto_obj(const double *th, double *g, void *data)
{
	return sc_numeric_gradient(4, th, g, pareto_f, data);
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
	double L2, L1;

	pgl_init();
	pareto_terms(m, x, tx, T, &L2, &L1);
	return L2 - L1;
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
