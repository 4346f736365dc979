/*
 * score_bgnbd.c - the BG/NBD model (Fader, Hardie & Lee 2005): fitting
 * by maximum likelihood, P(alive) and expected future purchases.
 *
 * The model: while alive, a customer buys at Poisson rate lambda; after
 * each purchase they drop out with probability p; lambda ~ Gamma(r, alpha)
 * and p ~ Beta(a, b) across customers. For a customer with x repeat
 * purchases, the last at tx, observed for T (the paper's equation 6):
 *
 *   L = B(a, b+x)/B(a, b) * G(r+x)/G(r) * alpha^r / (alpha+T)^(r+x)
 *     + [x > 0] B(a+1, b+x-1)/B(a, b) * G(r+x)/G(r) * alpha^r / (alpha+tx)^(r+x)
 *
 * whose log is computed as the first term's log plus
 * softplus(d), d = ln a - ln(b+x-1) + (r+x) (ln(alpha+T) - ln(alpha+tx)),
 * the log-odds that the customer has dropped out: P(alive) = 1/(1 + e^d).
 * The gamma-function ratios of an integer x are products, so
 * ln G(r+x) - ln G(r) = sum_{i<x} ln(r+i) and its derivative sum 1/(r+i).
 * Times are whole ticks (days), so ln(alpha + T) is tabulated once per
 * evaluation for every tick: the loop over customers costs one exp and
 * one log1p per repeat buyer.
 */
#include "score_model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ---------------------------------------------------------- grouping */

struct key_w {
	uint64_t key;
	double w;
};

#define KEY_BITS 21
#define KEY_MAX ((1u << KEY_BITS) - 1)

static uint64_t pack(int32_t x, int32_t T, int32_t tx)
{
	return (uint64_t)x << (2 * KEY_BITS) | (uint64_t)T << KEY_BITS | (uint64_t)tx;
}

/* LSD radix sort of the keys, 16 bits a pass (63 bits of key) */
static void radix_sort(struct key_w *a, size_t n)
{
	struct key_w *tmp = xmalloc(n * sizeof(*tmp));
	size_t *count = xmalloc(65536 * sizeof(*count));

	for (int shift = 0; shift < 64; shift += 16) {
		memset(count, 0, 65536 * sizeof(*count));
		for (size_t i = 0; i < n; i++)
			count[(a[i].key >> shift) & 0xffff]++;
		if (count[(a[0].key >> shift) & 0xffff] == n)
			continue; /* all equal in this digit */
		size_t sum = 0;
		for (size_t d = 0; d < 65536; d++) {
			size_t c = count[d];
			count[d] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			tmp[count[(a[i].key >> shift) & 0xffff]++] = a[i];
		memcpy(a, tmp, n * sizeof(*a));
	}
	free(tmp);
	free(count);
}

void sc_rf_prepare(struct sc_rf *d)
{
	struct key_w *k;
	size_t n = 0;

	d->max_x = d->max_T = 0;
	d->customers = d->repeaters = d->sum_x = 0;
	if (!d->n)
		return;
	k = xmalloc(d->n * sizeof(*k));
	for (size_t i = 0; i < d->n; i++) {
		if (d->x[i] < 0 || (uint32_t)d->x[i] > KEY_MAX || d->T[i] < 0 ||
		    (uint32_t)d->T[i] > KEY_MAX || d->tx[i] < 0 || d->tx[i] > d->T[i])
			abort(); /* the caller's summary is wrong */
		k[i].key = pack(d->x[i], d->T[i], d->tx[i]);
		k[i].w = d->w[i];
	}
	radix_sort(k, d->n);
	for (size_t i = 0; i < d->n; i++) {
		if (n && k[i].key == pack(d->x[n - 1], d->T[n - 1], d->tx[n - 1])) {
			d->w[n - 1] += k[i].w;
			continue;
		}
		d->x[n] = (int32_t)(k[i].key >> (2 * KEY_BITS));
		d->T[n] = (int32_t)((k[i].key >> KEY_BITS) & KEY_MAX);
		d->tx[n] = (int32_t)(k[i].key & KEY_MAX);
		d->w[n] = k[i].w;
		n++;
	}
	free(k);
	d->n = n;
	for (size_t i = 0; i < n; i++) {
		if (d->x[i] > d->max_x)
			d->max_x = d->x[i];
		if (d->T[i] > d->max_T)
			d->max_T = d->T[i];
		d->customers += d->w[i];
		if (d->x[i] > 0)
			d->repeaters += d->w[i];
		d->sum_x += d->w[i] * d->x[i];
	}
}

void sc_rf_free(struct sc_rf *d)
{
	free(d->x);
	free(d->tx);
	free(d->T);
	free(d->w);
	memset(d, 0, sizeof(*d));
}

size_t sc_rf_find(const struct sc_rf *d, int32_t x, int32_t T, int32_t tx)
{
	uint64_t key = pack(x, T, tx);
	size_t lo = 0, hi = d->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (pack(d->x[mid], d->T[mid], d->tx[mid]) < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < d->n && pack(d->x[lo], d->T[lo], d->tx[lo]) == key ? lo : d->n;
}

void sc_bgnbd_starts(const struct sc_rf *d, double sumT, double starts[4][SC_MAXPAR])
{
	/* (r, a, b); alpha makes r/alpha the mean repeat purchase rate */
	static const double rab[][3] = {
		{ 1, 1, 3 }, { 0.3, 0.5, 1.5 }, { 3, 2, 10 }, { 0.1, 0.2, 0.5 },
	};
	double rate = d->sum_x / fmax(sumT, 1e-9);

	for (int s = 0; s < 4; s++) {
		starts[s][0] = log(rab[s][0]);
		starts[s][1] = log(rab[s][0] / rate);
		starts[s][2] = log(rab[s][1]);
		starts[s][3] = log(rab[s][2]);
	}
}

int sc_rf_fittable(const struct sc_rf *d, struct sc_fitinfo *info, double *sumT)
{
	if (d->repeaters < 1 || d->customers < 2) {
		memset(info, 0, sizeof(*info));
		info->why = "no repeat purchases";
		return -1;
	}
	if (sumT) {
		*sumT = 0;
		for (size_t i = 0; i < d->n; i++)
			*sumT += d->w[i] * d->T[i] / d->unit_ticks;
	}
	return 0;
}

/* ------------------------------------------------------ log-likelihood */

struct bg_ctx {
	const struct sc_rf *d;
	double *nx;               /* customers per x */
	double *lt, *it;          /* per tick: ln(alpha + t), 1/(alpha + t) */
	double *lgr, *dgr, *lgb, *dgb, *lgab, *dgab, *lb1, *ib1; /* per x */
};

static void ctx_init(struct bg_ctx *c, const struct sc_rf *d)
{
	size_t nx = (size_t)d->max_x + 1, nt = (size_t)d->max_T + 1;

	memset(c, 0, sizeof(*c));
	c->d = d;
	c->nx = xcalloc(nx, sizeof(double));
	for (size_t i = 0; i < d->n; i++)
		c->nx[d->x[i]] += d->w[i];
	c->lt = xmalloc(nt * sizeof(double));
	c->it = xmalloc(nt * sizeof(double));
	c->lgr = xmalloc(8 * nx * sizeof(double));
	c->dgr = c->lgr + nx;
	c->lgb = c->dgr + nx;
	c->dgb = c->lgb + nx;
	c->lgab = c->dgb + nx;
	c->dgab = c->lgab + nx;
	c->lb1 = c->dgab + nx;
	c->ib1 = c->lb1 + nx;
}

static void ctx_free(struct bg_ctx *c)
{
	free(c->nx);
	free(c->lt);
	free(c->it);
	free(c->lgr);
}

/* From this many groups on, the loop over them runs in two threads. */
#define PARALLEL_MIN 50000

/* The sums over the groups lo..hi of the customer-specific terms. */
struct bg_part {
	const struct bg_ctx *c;
	const struct sc_bgnbd *m;
	size_t lo, hi;
	int grad;
	double ll, gr, gal, ga, gb;
};

static void *bg_part_run(void *arg)
{
	struct bg_part *p = arg;
	const struct bg_ctx *c = p->c;
	const struct sc_rf *d = c->d;
	double r = p->m->r, a = p->m->a, lna = log(a);
	double ll = 0, gr = 0, gal = 0, ga = 0, gb = 0;

	for (size_t i = p->lo; i < p->hi; i++) {
		int32_t x = d->x[i];
		double w = d->w[i], rx = r + x, LT = c->lt[d->T[i]];

		if (x == 0) {
			ll -= w * rx * LT;
			gr -= w * LT;
			gal -= w * rx * c->it[d->T[i]];
			continue;
		}
		double Ltx = c->lt[d->tx[i]];
		double dd = lna - c->lb1[x] + rx * (LT - Ltx);
		double e = exp(-fabs(dd)), sp, sig;
		if (dd > 0) {
			sp = dd + log1p(e);
			sig = 1 / (1 + e);
		} else {
			sp = log1p(e);
			sig = e / (1 + e);
		}
		ll += w * (sp - rx * LT);
		if (!p->grad)
			continue;
		double iT = c->it[d->T[i]], itx = c->it[d->tx[i]];
		gr += w * (-LT + sig * (LT - Ltx));
		gal += w * (-rx * iT + sig * rx * (iT - itx));
		ga += w * sig / a;
		gb -= w * sig * c->ib1[x];
	}
	p->ll = ll;
	p->gr = gr;
	p->gal = gal;
	p->ga = ga;
	p->gb = gb;
	return NULL;
}

/* LL and (when grad) its gradient with respect to (r, alpha, a, b) */
static double bg_ll(struct bg_ctx *c, const struct sc_bgnbd *m, double *grad)
{
	const struct sc_rf *d = c->d;
	double r = m->r, al = m->alpha, a = m->a, b = m->b, u = d->unit_ticks;
	double la = log(al);
	double ll = 0, gr = 0, gal = 0, ga = 0, gb = 0;

	for (int32_t t = 0; t <= d->max_T; t++) {
		double v = al + t / u;
		c->lt[t] = log(v);
		c->it[t] = 1 / v;
	}
	c->lgr[0] = c->dgr[0] = c->lgb[0] = c->dgb[0] = c->lgab[0] = c->dgab[0] = 0;
	for (int32_t x = 1; x <= d->max_x; x++) {
		double ri = r + x - 1, bi = b + x - 1, abi = a + b + x - 1;
		c->lgr[x] = c->lgr[x - 1] + log(ri);
		c->dgr[x] = c->dgr[x - 1] + 1 / ri;
		c->lgb[x] = c->lgb[x - 1] + log(bi);
		c->dgb[x] = c->dgb[x - 1] + 1 / bi;
		c->lgab[x] = c->lgab[x - 1] + log(abi);
		c->dgab[x] = c->dgab[x - 1] + 1 / abi;
		c->lb1[x] = log(bi);
		c->ib1[x] = 1 / bi;
	}
	for (int32_t x = 0; x <= d->max_x; x++) {
		double n = c->nx[x];
		if (n == 0)
			continue;
		ll += n * (c->lgr[x] + r * la + c->lgb[x] - c->lgab[x]);
		gr += n * (c->dgr[x] + la);
		gal += n * r / al;
		ga -= n * c->dgab[x];
		gb += n * (c->dgb[x] - c->dgab[x]);
	}
	struct bg_part part[2] = {
		{ c, m, 0, d->n, grad != NULL, 0, 0, 0, 0, 0 },
		{ c, m, d->n, d->n, grad != NULL, 0, 0, 0, 0, 0 },
	};
	if (d->n >= PARALLEL_MIN) {
		part[0].hi = part[1].lo = d->n / 2;
		sc_run2(bg_part_run, &part[0], &part[1]);
	} else {
		bg_part_run(&part[0]);
	}
	for (int k = 0; k < 2; k++) {
		ll += part[k].ll;
		gr += part[k].gr;
		gal += part[k].gal;
		ga += part[k].ga;
		gb += part[k].gb;
	}
	if (grad) {
		grad[0] = gr;
		grad[1] = gal;
		grad[2] = ga;
		grad[3] = gb;
	}
	return ll;
}

double sc_bgnbd_ll(const struct sc_bgnbd *m, const struct sc_rf *d)
{
	struct bg_ctx c;
	double ll;

	if (!d->n)
		return 0;
	ctx_init(&c, d);
	ll = bg_ll(&c, m, NULL);
	ctx_free(&c);
	return ll;
}

/* the objective: -LL / N over log-parameters */
static double bg_obj(const double *th, double *g, void *data)
{
	struct bg_ctx *c = data;
	struct sc_bgnbd m = {
		.r = exp(th[0]), .alpha = exp(th[1]), .a = exp(th[2]), .b = exp(th[3]),
	};
	double gn[4], n = c->d->customers;
	double ll = bg_ll(c, &m, gn);

	g[0] = -gn[0] * m.r / n;
	g[1] = -gn[1] * m.alpha / n;
	g[2] = -gn[2] * m.a / n;
	g[3] = -gn[3] * m.b / n;
	return -ll / n;
}

int sc_bgnbd_fit(const struct sc_rf *d, struct sc_bgnbd *m, struct sc_fitinfo *info)
{
	static const char *const names[] = { "r", "alpha", "a", "b" };
	static const double limits[] = { 13.8, 25, 13.8, 13.8 }; /* 1e6, 1e-6 */
	double starts[4][SC_MAXPAR], th[4] = { 0 }, sumT = 0;
	struct bg_ctx c;
	int rc;

	m->kind = SC_BGNBD;
	m->p = 0;
	if (sc_rf_fittable(d, info, &sumT) < 0)
		return -1;
	sc_bgnbd_starts(d, sumT, starts);
	ctx_init(&c, d);
	struct sc_penalty pe = { bg_obj, &c, 4, d->penalty };
	rc = d->penalty > 0 ?
	     sc_fit_starts(4, starts, 4, names, limits, 0, sc_penalised_obj, &pe, th, info) :
	     sc_fit_starts(4, starts, 4, names, limits, 0, bg_obj, &c, th, info);
	if (d->penalty > 0) {
		/* the likelihood itself, not the penalised objective */
		struct sc_bgnbd mm = {
			.r = exp(th[0]), .alpha = exp(th[1]), .a = exp(th[2]), .b = exp(th[3]),
		};
		info->ll = bg_ll(&c, &mm, NULL) / d->customers;
	}
	ctx_free(&c);
	m->r = exp(th[0]);
	m->alpha = exp(th[1]);
	m->a = exp(th[2]);
	m->b = exp(th[3]);
	m->kind = SC_BGNBD;
	m->p = 0;
	if (rc == 0 && info->have_cov) {
		/* delta method: se(x) = x se(ln x) */
		double v[4] = { m->r, m->alpha, m->a, m->b };
		for (int i = 0; i < 4; i++)
			info->se[i] = v[i] * sqrt(info->cov[i][i] / d->customers);
	}
	info->ll *= d->customers;
	return rc;
}

/* ----------------------------------------------------- limit models */

/*
 * The constant-dropout model (and the NBD model, p = 0): with
 * A(t) = Gamma(r+x) alpha^r / (Gamma(r) (alpha+t)^(r+x)), a customer's
 * likelihood is (1-p)^x A(T) + [x > 0] p (1-p)^(x-1) A(tx): alive after
 * the x-th purchase, or dropped out right after it.
 */
struct lim_ctx {
	struct bg_ctx c;
	int kind;
};

static double lim_ll(struct bg_ctx *c, double r, double al, double p, double *grad)
{
	const struct sc_rf *d = c->d;
	double u = d->unit_ticks, la = log(al), lp = p > 0 ? log(p) : 0, lq = log1p(-p);
	double ll = 0, gr = 0, gal = 0, gp = 0;

	for (int32_t t = 0; t <= d->max_T; t++) {
		double v = al + t / u;
		c->lt[t] = log(v);
		c->it[t] = 1 / v;
	}
	c->lgr[0] = c->dgr[0] = 0;
	for (int32_t x = 1; x <= d->max_x; x++) {
		c->lgr[x] = c->lgr[x - 1] + log(r + x - 1);
		c->dgr[x] = c->dgr[x - 1] + 1 / (r + x - 1);
	}
	for (size_t i = 0; i < d->n; i++) {
		int32_t x = d->x[i];
		double w = d->w[i], rx = r + x, LT = c->lt[d->T[i]], iT = c->it[d->T[i]];
		double t1 = x * lq - rx * LT, L = t1, s2 = 0, Ltx = 0, itx = 0;

		if (x > 0 && p > 0) {
			Ltx = c->lt[d->tx[i]];
			itx = c->it[d->tx[i]];
			double t2 = lp + (x - 1) * lq - rx * Ltx;
			double hi = fmax(t1, t2);
			L = hi + log(exp(t1 - hi) + exp(t2 - hi));
			s2 = exp(t2 - L);
		}
		ll += w * (c->lgr[x] + r * la + L);
		gr += w * (c->dgr[x] + la - (1 - s2) * LT - s2 * Ltx);
		gal += w * (r / al - rx * ((1 - s2) * iT + s2 * itx));
		if (p > 0)
			gp += w * ((1 - s2) * (-x / (1 - p)) + s2 * (1 / p - (x - 1) / (1 - p)));
	}
	if (grad) {
		grad[0] = gr;
		grad[1] = gal;
		grad[2] = gp;
	}
	return ll;
}

static double logistic_of(double t)
{
	return t >= 0 ? 1 / (1 + exp(-t)) : exp(t) / (1 + exp(t));
}

/* -LL / N over (log r, log alpha[, logit p]) */
static double lim_obj(const double *th, double *g, void *data)
{
	struct lim_ctx *lc = data;
	double r = exp(th[0]), al = exp(th[1]);
	double p = lc->kind == SC_BG_CONST ? logistic_of(th[2]) : 0;
	double gn[3], n = lc->c.d->customers;
	double ll = lim_ll(&lc->c, r, al, p, gn);

	g[0] = -gn[0] * r / n;
	g[1] = -gn[1] * al / n;
	if (lc->kind == SC_BG_CONST)
		g[2] = -gn[2] * p * (1 - p) / n;
	return -ll / n;
}

const char *sc_bgnbd_kind_name(int kind)
{
	return kind == SC_NBD ? "nbd" : kind == SC_BG_CONST ? "bgnbd_constant_dropout" :
	       kind == SC_PARETO ? "pareto" : kind == SC_MBGNBD ? "mbgnbd" : "bgnbd";
}

int sc_bgnbd_fit_limit(const struct sc_rf *d, struct sc_bgnbd *m, struct sc_fitinfo *info)
{
	static const char *const names[] = { "r", "alpha", "p" };
	static const double limits[] = { 13.8, 25, 13.8 };
	struct lim_ctx lc;
	double starts[3][SC_MAXPAR], th[3] = { 0 };
	double r0 = m->r > 0 && isfinite(m->r) ? m->r : 1;
	double al0 = m->alpha > 0 && isfinite(m->alpha) ? m->alpha : 1;
	double p0 = m->a / (m->a + m->b);
	int rc = -1;

	if (sc_rf_fittable(d, info, NULL) < 0)
		return -1;
	if (!(p0 > 1e-4 && p0 < 0.9999))
		p0 = 0.05;
	/* from where the full fit stopped, and from two others */
	for (int k = 0; k < 3; k++) {
		double f = k == 0 ? 1 : k == 1 ? 0.3 : 3;
		starts[k][0] = log(r0 * f);
		starts[k][1] = log(al0 * f);
		starts[k][2] = log(p0 / (1 - p0)) + (k == 0 ? 0 : k == 1 ? -2 : 2);
	}
	ctx_init(&lc.c, d);
	lc.kind = SC_BG_CONST;
	struct sc_penalty pe = { lim_obj, &lc, 3, d->penalty };
	sc_objective fn = d->penalty > 0 ? sc_penalised_obj : lim_obj;
	void *fd = d->penalty > 0 ? (void *)&pe : (void *)&lc;
	rc = sc_fit_starts(3, starts, 3, names, limits, 0, fn, fd, th, info);
	if (rc == 0) {
		m->kind = SC_BG_CONST;
		m->p = logistic_of(th[2]);
	} else if (th[2] < -limits[2] + 1) {
		/* p runs off to 0 as well: no one drops out */
		lc.kind = SC_NBD;
		pe.n = 2;
		rc = sc_fit_starts(2, starts, 3, names, limits, 0, fn, fd, th, info);
		m->kind = SC_NBD;
		m->p = 0;
	}
	if (rc == 0 && d->penalty > 0)
		info->ll = lim_ll(&lc.c, exp(th[0]), exp(th[1]), m->p, NULL) / d->customers;
	ctx_free(&lc.c);
	if (rc == 0) {
		m->r = exp(th[0]);
		m->alpha = exp(th[1]);
		m->a = m->kind == SC_NBD ? 0 : NAN;
		m->b = NAN;
		if (info->have_cov) {
			info->se[0] = m->r * sqrt(info->cov[0][0] / d->customers);
			info->se[1] = m->alpha * sqrt(info->cov[1][1] / d->customers);
			if (m->kind == SC_BG_CONST)
				info->se[2] = m->p * (1 - m->p) * sqrt(info->cov[2][2] / d->customers);
		}
	}
	info->ll *= d->customers;
	return rc;
}

/* ------------------------------------------------------------ P(alive) */

double sc_bgnbd_dead_logodds(const struct sc_bgnbd *m, double x, double tx, double T)
{
	if (m->kind == SC_PARETO)
		return sc_pareto_dead_logodds(m, x, tx, T);
	if (m->kind == SC_MBGNBD)
		/* a dropout right after the first purchase counts too */
		return log(m->a) - log(m->b + x) +
		       (m->r + x) * (log(m->alpha + T) - log(m->alpha + tx));
	if (x <= 0 || m->kind == SC_NBD)
		return -INFINITY;
	/* the odds of a dropout right after the last purchase: p / (1-p),
	 * p ~ Beta(a, b + x - 1) after x purchases survived */
	double odds = m->kind == SC_BG_CONST ? log(m->p) - log1p(-m->p) :
					       log(m->a) - log(m->b + x - 1);
	return odds + (m->r + x) * (log(m->alpha + T) - log(m->alpha + tx));
}

double sc_bgnbd_p_alive(const struct sc_bgnbd *m, double x, double tx, double T)
{
	if (x <= 0 && m->kind != SC_PARETO && m->kind != SC_MBGNBD)
		return 1;
	return sc_logistic(-sc_bgnbd_dead_logodds(m, x, tx, T));
}

/* ------------------------------------------------- expected purchases */

/*
 * future(t): expected purchases in (T, T+t] given alive at T. With the
 * posterior lambda ~ Gamma(r+x, alpha+T) and p ~ Beta(a, b+x), and
 * (1 - e^(-lambda p t)) / p purchases expected of an individual,
 *
 *   future = E_p[ (1 - (1 + p c)^-(r+x)) / p ],   c = t / (alpha + T),
 *
 * which is the paper's (a+b+x-1)/(a-1) [1 - (1-z)^(r+x) 2F1(r+x, b+x;
 * a+b+x-1; z)], z = c/(1+c). Euler's transformation turns
 * (1-z)^(r+x) 2F1(r+x, b+x; C; z) into (1-z)^(a-1) 2F1(A, a-1; C; z),
 * with C = a+b+x-1 and A = a+b-1-r, whose parameters no longer grow with
 * x. Every term of that series after the first holds a factor (a-1),
 * and C cancels the 1/C of its terms, so with L = ln(1-z):
 *
 *   future = C (1 - e^((a-1)L)) / (a-1) - e^((a-1)L) V,
 *   V = sum_{n>=1} v_n, v_1 = A z,
 *   v_{n+1} = v_n (A+n)(a+n-1) z / ((C+n)(n+1)),
 *
 * which has no pole at a = 1 nor at C = 0 (x = 0, a+b = 1). The series
 * needs about 1/(1-z) terms; beyond z = 0.995 (t > 199 (alpha+T)) the
 * integral over p is computed numerically instead.
 */
double sc_bgnbd_future(const struct sc_bgnbd *m, double x, double T, double t)
{
	double r = m->r, a = m->a, b = m->b;
	double c, z, L, am1, q1, C, A, v, V;

	if (!(t > 0))
		return 0;
	c = t / (m->alpha + T);
	/* the limits: E[lambda] t without dropout; with the same p for
	 * everyone, E[(1 - e^(-lambda p t)) / p] over Gamma(r+x, alpha+T) */
	if (m->kind == SC_PARETO)
		return sc_pareto_future(m, x, T, t);
	if (m->kind == SC_MBGNBD) {
		/* alive after x + 1 chances: p ~ Beta(a, b + x + 1) */
		struct sc_bgnbd bg = *m;
		bg.kind = SC_BGNBD;
		bg.b = m->b + 1;
		return sc_bgnbd_future(&bg, x, T, t);
	}
	if (m->kind == SC_NBD)
		return (r + x) * c;
	if (m->kind == SC_BG_CONST)
		return -expm1(-(r + x) * log1p(m->p * c)) / m->p;
	z = c / (1 + c);
	if (z > 0.995)
		return sc_bgnbd_future_quad(m, x, T, t);
	L = -log1p(c);
	am1 = a - 1;
	q1 = am1 == 0 ? -L : -expm1(am1 * L) / am1;
	C = a + b + x - 1;
	A = a + b - 1 - r;
	v = A * z;
	V = v;
	for (int n = 1; v != 0; n++) {
		double ratio = (A + n) * (a + n - 1) * z / ((C + n) * (n + 1));
		v *= ratio;
		V += v;
		if (ratio < 1 && fabs(v) * (1 + ratio / (1 - ratio)) <= 1e-17 * fabs(V))
			break;
		if (n > 20000)
			return sc_bgnbd_future_quad(m, x, T, t);
	}
	return C * q1 - exp(am1 * L) * V;
}

/*
 * The same expectation by tanh-sinh quadrature over p in (0, 1): the
 * substitution p = 1/(1 + e^-2u), u = (pi/2) sinh(s) clusters the points
 * double-exponentially at both ends, where the Beta density may be
 * singular and where (for large c) the integrand changes fastest. The
 * step is halved until two estimates agree to 1e-13.
 */
double sc_bgnbd_future_quad(const struct sc_bgnbd *m, double x, double T, double t)
{
	double k = m->r + x, a = m->a, be = m->b + x, c;
	double lB = sc_lgamma(a) + sc_lgamma(be) - sc_lgamma(a + be);
	double h = 0.5, smax = 6.2, sum = 0, prev = 0;

	if (!(t > 0))
		return 0;
	c = t / (m->alpha + T);
	for (int level = 0; level < 10; level++) {
		double step = level ? 2 * h : h;
		double s0 = level ? h : 0;
		for (int j = 0; s0 + j * step <= smax; j++) {
			double s = s0 + j * step;
			for (int sign = -1; sign <= 1; sign += 2) {
				double ss = sign * s, uu, e, p, lp, lq, f, w;
				if (s == 0 && sign > 0)
					continue;
				uu = M_PI / 2 * sinh(ss);
				if (uu >= 0) {
					e = exp(-2 * uu);
					p = 1 / (1 + e);
					lp = -log1p(e);
					lq = -2 * uu - log1p(e);
				} else {
					e = exp(2 * uu);
					p = e / (1 + e);
					lp = 2 * uu - log1p(e);
					lq = -log1p(e);
				}
				f = p > 0 ? -expm1(-k * log1p(c * p)) / p : k * c;
				w = exp(a * lp + be * lq - lB) * M_PI * cosh(ss);
				sum += f * w;
			}
		}
		double est = sum * h;
		if (level >= 3 && fabs(est - prev) <= 1e-13 * fabs(est))
			return est;
		prev = est;
		h /= 2;
	}
	return prev;
}

/* Gauss-Legendre nodes and weights on [-1, 1], computed once */
#define GL_N 10
static double gl_x[GL_N], gl_w[GL_N];
static int gl_ready;

static void gl_init(void)
{
	sc_gauss_legendre(GL_N, gl_x, gl_w);
	gl_ready = 1;
}

/*
 * Discounted purchases: the integral of e^(-delta s) d future(s) over
 * (0, h], integrated by parts into
 *   e^(-delta h) future(h) + delta * integral_0^h e^(-delta s) future(s) ds.
 * future(s) is analytic with its nearest singularity at s = -(alpha+T), so
 * the integral uses Gauss-Legendre panels [0, e], [e, 4e], [4e, 16e]...
 * with e = alpha + T: each panel is at least its own length away from it.
 */
double sc_bgnbd_future_discounted(const struct sc_bgnbd *m, double x, double T,
				  double h, double delta)
{
	double fh, J = 0, lo = 0, hi;

	if (!(h > 0))
		return 0;
	fh = sc_bgnbd_future(m, x, T, h);
	if (delta == 0)
		return fh;
	if (!gl_ready)
		gl_init();
	hi = fmin(h, m->alpha + T);
	while (lo < h) {
		double mid = (lo + hi) / 2, half = (hi - lo) / 2, s = 0;
		for (int i = 0; i < GL_N; i++) {
			double ss = mid + half * gl_x[i];
			s += gl_w[i] * exp(-delta * ss) * sc_bgnbd_future(m, x, T, ss);
		}
		J += s * half;
		lo = hi;
		hi = fmin(h, 4 * hi);
	}
	return exp(-delta * h) * fh + delta * J;
}

double sc_bgnbd_expected(const struct sc_bgnbd *m, double t)
{
	return sc_bgnbd_future(m, 0, 0, t);
}
