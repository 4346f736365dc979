/*
 * score_mbg.c - the MBG/NBD model (Batislam, Denizel and Filiztekin 2007):
 * BG/NBD where a customer may also drop out right after the first
 * purchase, so that one who never came back can be gone too. A
 * customer's likelihood, with A = Gamma(r+x) alpha^r / Gamma(r) and the
 * beta function terms of surviving x+1 chances,
 *
 *   A Gamma(a+b) Gamma(b+x+1) / (Gamma(b) Gamma(a+b+x+1))
 *     [ (alpha+T)^-(r+x) + a / (b+x) (alpha+tx)^-(r+x) ]
 *
 * for every x, 0 included. Alive after x+1 chances, the dropout
 * probability is Beta(a, b+x+1): BG/NBD's predictions with b + 1.
 */
#include "score_model.h"

#include <math.h>
#include <string.h>

#include "util.h"

double sc_mbgnbd_ll(const struct sc_bgnbd *m, const struct sc_rf *d)
{
	double r = m->r, al = m->alpha, a = m->a, b = m->b, u = d->unit_ticks, ll = 0;
	double base = -sc_lgamma(r) + r * log(al) + sc_lgamma(a + b) - sc_lgamma(b);

	for (size_t i = 0; i < d->n; i++) {
		double x = d->x[i], T = d->T[i] / u, tx = d->tx[i] / u, rx = r + x;
		double A = sc_lgamma(rx) + sc_lgamma(b + x + 1) - sc_lgamma(a + b + x + 1);
		double l1 = -rx * log(al + T);
		double l2 = log(a) - log(b + x) - rx * log(al + tx);
		double hi = fmax(l1, l2);
		ll += d->w[i] * (base + A + hi + log1p(exp(fmin(l1, l2) - hi)));
	}
	return ll;
}

/* -LL / N over the logarithms of (r, alpha, a, b); the gradient by
 * central differences */
static double mbg_f(const double *th, const void *data)
{
	const struct sc_rf *d = data;
	struct sc_bgnbd m = {
		.r = exp(th[0]), .alpha = exp(th[1]), .a = exp(th[2]), .b = exp(th[3]),
		.kind = SC_MBGNBD,
	};
	return -sc_mbgnbd_ll(&m, d) / d->customers;
}

static double mbg_obj(const double *th, double *g, void *data)
{
	return sc_numeric_gradient(4, th, g, mbg_f, data);
}

int sc_mbgnbd_fit(const struct sc_rf *d, struct sc_bgnbd *m, struct sc_fitinfo *info)
{
	static const char *const names[] = { "r", "alpha", "a", "b" };
	static const double limits[] = { 13.8, 25, 13.8, 13.8 };
	double starts[4][SC_MAXPAR], th[4] = { 0 }, sumT;
	struct sc_penalty pe = { mbg_obj, (void *)d, 4, d->penalty };
	int rc;

	memset(m, 0, sizeof(*m));
	m->kind = SC_MBGNBD;
	if (sc_rf_fittable(d, info, &sumT) < 0)
		return -1;
	sc_bgnbd_starts(d, sumT, starts);
	rc = d->penalty > 0 ?
	     sc_fit_starts(4, starts, 4, names, limits, 0, sc_penalised_obj, &pe, th, info) :
	     sc_fit_starts(4, starts, 4, names, limits, 0, mbg_obj, (void *)d, th, info);
	m->r = exp(th[0]);
	m->alpha = exp(th[1]);
	m->a = exp(th[2]);
	m->b = exp(th[3]);
	if (rc == 0 && info->have_cov) {
		double v[4] = { m->r, m->alpha, m->a, m->b };
		for (int i = 0; i < 4; i++)
			info->se[i] = v[i] * sqrt(info->cov[i][i] / d->customers);
	}
	info->ll = sc_mbgnbd_ll(m, d);
	return rc;
}
