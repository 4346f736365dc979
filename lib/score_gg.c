/*
 * score_gg.c - the Gamma-Gamma model of spend (Fader, Hardie & Lee 2005,
 * "RFM and CLV"): a customer's transaction values are Gamma(p, nu), and
 * nu ~ Gamma(q, gamma) across customers. The average mbar of x repeat
 * transactions has the density (the paper's equation 1, marginal)
 *
 *   G(px+q) / (G(px) G(q)) * gamma^q * mbar^(px-1) * x^(px)
 *     / (gamma + x mbar)^(px+q),
 *
 * and the expected value of a customer's next transactions is
 *
 *   E[M | x, mbar] = p (gamma + x mbar) / (p x + q - 1),
 *
 * a weighted mean of the population mean p gamma / (q - 1) and mbar.
 */
#include "score_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct gg_ctx {
	size_t n;
	int32_t *x;         /* sorted */
	double *mbar, *lm, *lx;
	double customers;
};

static int cmp_xm(const void *pa, const void *pb)
{
	const double *a = pa, *b = pb;

	if (a[0] != b[0])
		return a[0] < b[0] ? -1 : 1;
	return (a[1] > b[1]) - (a[1] < b[1]);
}

static void gg_init(struct gg_ctx *c, const struct sc_spend *d)
{
	double *pairs = xmalloc(2 * d->n * sizeof(double) + 1);

	for (size_t i = 0; i < d->n; i++) {
		pairs[2 * i] = d->x[i];
		pairs[2 * i + 1] = d->mbar[i];
	}
	qsort(pairs, d->n, 2 * sizeof(double), cmp_xm);
	c->n = d->n;
	c->customers = (double)d->n;
	c->x = xmalloc(d->n * sizeof(int32_t) + 1);
	c->mbar = xmalloc(3 * d->n * sizeof(double) + 1);
	c->lm = c->mbar + d->n;
	c->lx = c->lm + d->n;
	for (size_t i = 0; i < d->n; i++) {
		c->x[i] = (int32_t)pairs[2 * i];
		c->mbar[i] = pairs[2 * i + 1];
		c->lm[i] = log(c->mbar[i]);
		c->lx[i] = log((double)c->x[i]);
	}
	free(pairs);
}

static void gg_free(struct gg_ctx *c)
{
	free(c->x);
	free(c->mbar);
}

/*
 * ln G(q + a) - ln G(q): for large q the difference of two large numbers
 * loses digits, so there it is Stirling's series, differenced term by
 * term: (q - 1/2) ln(1 + a/q) + a ln(q + a) - a + 1/(12(q+a)) - 1/(12q)
 * - 1/(360(q+a)^3) + 1/(360q^3), whose first omitted terms are below
 * 1e-17 for q >= 1000.
 */
static double lgamma_diff(double q, double a)
{
	if (q < 1000)
		return sc_lgamma(q + a) - sc_lgamma(q);
	double qa = q + a;
	return (q - 0.5) * log1p(a / q) + a * log(qa) - a + (1 / qa - 1 / q) / 12 -
	       (1 / (qa * qa * qa) - 1 / (q * q * q)) / 360;
}

/*
 * LL and its gradient in (p, q, gamma), written with
 * L1 = ln(1 + x mbar / gamma) so that a large q (spend rates that hardly
 * vary between customers) keeps its digits:
 *   l = lnG(px+q) - lnG(q) - lnG(px) + px ln x + (px-1) ln mbar
 *       - q L1 - px (ln gamma + L1)
 */
#define PARALLEL_MIN 50000

struct gg_part {
	const struct gg_ctx *c;
	const struct sc_gg *m;
	size_t lo, hi;
	int grad;
	double ll, gp, gq, gg;
};

static void *gg_part_run(void *arg)
{
	struct gg_part *pt = arg;
	const struct gg_ctx *c = pt->c;
	double p = pt->m->p, q = pt->m->q, g = pt->m->gamma, lg = log(g);
	double psq = pt->grad ? sc_digamma(q) : 0;
	double ll = 0, gp = 0, gq = 0, gg = 0;
	double lgd = 0, lg2 = 0, ps1 = 0, ps2 = 0;
	int32_t cur = -1;

	for (size_t i = pt->lo; i < pt->hi; i++) {
		int32_t x = c->x[i];
		double px = p * x, xm = x * c->mbar[i], L1;
		if (x != cur) {
			cur = x;
			lgd = lgamma_diff(q, px);
			lg2 = sc_lgamma(px);
			if (pt->grad) {
				ps1 = sc_digamma(px + q);
				ps2 = sc_digamma(px);
			}
		}
		L1 = log1p(xm / g);
		ll += lgd - lg2 + px * c->lx[i] + (px - 1) * c->lm[i] - q * L1 - px * (lg + L1);
		if (!pt->grad)
			continue;
		gp += x * (ps1 - ps2 + c->lx[i] + c->lm[i] - lg - L1);
		gq += ps1 - psq - L1;
		gg += x * (q * c->mbar[i] - g * p) / (g * (g + xm));
	}
	pt->ll = ll;
	pt->gp = gp;
	pt->gq = gq;
	pt->gg = gg;
	return NULL;
}

static double gg_ll(const struct gg_ctx *c, const struct sc_gg *m, double *grad)
{
	struct gg_part part[2] = {
		{ c, m, 0, c->n, grad != NULL, 0, 0, 0, 0 },
		{ c, m, c->n, c->n, grad != NULL, 0, 0, 0, 0 },
	};

	if (c->n >= PARALLEL_MIN) {
		part[0].hi = part[1].lo = c->n / 2;
		sc_run2(gg_part_run, &part[0], &part[1]);
	} else {
		gg_part_run(&part[0]);
	}
	if (grad) {
		grad[0] = part[0].gp + part[1].gp;
		grad[1] = part[0].gq + part[1].gq;
		grad[2] = part[0].gg + part[1].gg;
	}
	return part[0].ll + part[1].ll;
}

double sc_gg_ll(const struct sc_gg *m, const struct sc_spend *d)
{
	struct gg_ctx c;
	double ll;

	if (!d->n)
		return 0;
	gg_init(&c, d);
	ll = gg_ll(&c, m, NULL);
	gg_free(&c);
	return ll;
}

/* the objective: -LL / N over (ln p, ln q, ln(gamma/q)), so that the
 * limit q -> infinity with gamma/q fixed (one spend rate for everyone) is
 * a direction along one coordinate */
static double gg_obj(const double *th, double *g, void *data)
{
	const struct gg_ctx *c = data;
	struct sc_gg m = { exp(th[0]), exp(th[1]), exp(th[1] + th[2]) };
	double gn[3], n = c->customers;
	double ll = gg_ll(c, &m, gn);

	g[0] = -gn[0] * m.p / n;
	g[1] = -(gn[1] * m.q + gn[2] * m.gamma) / n;
	g[2] = -gn[2] * m.gamma / n;
	return -ll / n;
}

/* the objective with ln q fixed, over (ln p, ln(gamma/q)) */
struct fixq {
	const struct gg_ctx *c;
	double logq;
};

static double gg_obj_fixq(const double *th, double *g, void *data)
{
	const struct fixq *fq = data;
	double t3[3] = { th[0], fq->logq, th[1] }, g3[3];
	double f = gg_obj(t3, g3, (void *)fq->c);

	g[0] = g3[0];
	g[1] = g3[2];
	return f;
}

int sc_gg_fit(const struct sc_spend *d, struct sc_gg *m, struct sc_fitinfo *info)
{
	static const char *const names[] = { "p", "q", "gamma" };
	static const double limits[] = { 13.8, 13.8, 25 }; /* 1e6, 1e-6 */
	/* q may run off to infinity: everyone spends at the same rate */
	static const unsigned inf_ok = 1u << 1;
	/* (p, q); gamma makes the population mean p gamma/(q-1) the sample's */
	static const double pq[][2] = { { 1, 3 }, { 4, 4 }, { 0.5, 1.5 }, { 10, 10 } };
	double starts[4][SC_MAXPAR], th[3] = { 0 }, mean = 0;
	struct gg_ctx c;
	int rc;

	if (d->n < 2) {
		memset(info, 0, sizeof(*info));
		info->why = "too few repeat buyers";
		return -1;
	}
	for (size_t i = 0; i < d->n; i++)
		mean += d->mbar[i];
	mean /= (double)d->n;
	for (int s = 0; s < 4; s++) {
		starts[s][0] = log(pq[s][0]);
		starts[s][1] = log(pq[s][1]);
		starts[s][2] = log(mean * (pq[s][1] - 1) / pq[s][0] / pq[s][1]);
	}
	gg_init(&c, d);
	struct sc_penalty pe = { gg_obj, &c, 3, d->penalty };
	rc = d->penalty > 0 ?
	     sc_fit_starts(3, starts, 4, names, limits, inf_ok, sc_penalised_obj, &pe, th, info) :
	     sc_fit_starts(3, starts, 4, names, limits, inf_ok, gg_obj, &c, th, info);
	if (rc == 1) {
		/* q -> infinity: one spend rate for everyone. Fit (p, gamma/q)
		 * with q fixed at 1e12, where the model equals its limit to
		 * about 1e-12 */
		static const char *const names2[] = { "p", "gamma/q" };
		static const double limits2[] = { 13.8, 25 };
		struct fixq fq = { &c, log(1e12) };
		double st[1][SC_MAXPAR] = { { th[0], th[2] } }, th2[2];
		struct sc_fitinfo lim;
		memcpy(&lim, info, sizeof(lim));
		rc = sc_fit_starts(2, st, 1, names2, limits2, 0, gg_obj_fixq, &fq, th2, info);
		info->starts += lim.starts;
		info->iterations += lim.iterations;
		info->evaluations += lim.evaluations;
		snprintf(info->limit_buf, sizeof(info->limit_buf),
			 "q runs off to infinity (fitted as q = 1e12)");
		info->limit = info->limit_buf;
		th[0] = th2[0];
		th[1] = fq.logq;
		th[2] = th2[1];
	}
	m->p = exp(th[0]);
	m->q = exp(th[1]);
	m->gamma = exp(th[1] + th[2]);
	if (d->penalty > 0)
		/* the likelihood itself, not the penalised objective */
		info->ll = gg_ll(&c, m, NULL) / (double)d->n;
	gg_free(&c);
	if (rc == 0 && !info->limit && info->have_cov) {
		/* ln gamma = th1 + th2 */
		double n = (double)d->n, (*C)[SC_MAXPAR] = info->cov;
		info->se[0] = m->p * sqrt(C[0][0] / n);
		info->se[1] = m->q * sqrt(C[1][1] / n);
		info->se[2] = m->gamma * sqrt((C[1][1] + C[2][2] + 2 * C[1][2]) / n);
	}
	info->ll *= (double)d->n;
	return rc;
}

double sc_gg_expected_spend(const struct sc_gg *m, double x, double mbar)
{
	double den = m->p * x + m->q - 1;

	if (!(den > 0))
		return NAN;
	if (x <= 0)
		mbar = 0;
	return m->p * (m->gamma + x * mbar) / den;
}
