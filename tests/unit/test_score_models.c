/*
 * test_score_models.c - unit tests of crm-score's statistics
 * (lib/score_model.h): special functions, the BG/NBD and Gamma-Gamma
 * fits against Fader, Hardie & Lee (2005) on the CDNOW sample (read here
 * straight from tests/fixtures/cdnow/CDNOW_sample.txt, summarised by this
 * file's own code, not lib/score.c's), parameter recovery from simulated
 * data, replication, and the expected-purchases series against numerical
 * integration.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "norm.h"
#include "score_model.h"
#include "tap.h"

static int near(double got, double want, double rel)
{
	return fabs(got - want) <= rel * fabs(want);
}

#define is_near(got, want, rel, ...) do { \
	double g_ = (got), w_ = (want); \
	if (!tap_ok(near(g_, w_, rel), __FILE__, __LINE__, __VA_ARGS__)) \
		printf("#   got %.10g\n#   want %.10g (relative %.1g)\n", g_, w_, (double)(rel)); \
} while (0)

#define is_within(got, want, tol, ...) do { \
	double g_ = (got), w_ = (want); \
	if (!tap_ok(fabs(g_ - w_) <= (tol), __FILE__, __LINE__, __VA_ARGS__)) \
		printf("#   got %.10g\n#   want %.10g +- %g\n", g_, w_, (double)(tol)); \
} while (0)

/* ------------------------------------------------------------ functions */

static void test_functions(void)
{
	/* psi(1) = -Euler's gamma, psi(1/2) = -gamma - 2 ln 2 */
	is_near(sc_digamma(1), -0.57721566490153286, 1e-14, "digamma(1)");
	is_near(sc_digamma(0.5), -0.57721566490153286 - 2 * log(2), 1e-14, "digamma(0.5)");
	is_near(sc_digamma(1e-8), -1e8 - 0.57721566490153286, 1e-14, "digamma(1e-8)");
	/* psi(x+1) = psi(x) + 1/x across the switch to the series at 12 */
	is_near(sc_digamma(12.5), sc_digamma(11.5) + 1 / 11.5, 1e-15, "digamma recurrence");
	is_near(sc_digamma(1000), log(1000) - 1 / 2000.0 - 1 / 12e6 + 1 / 120e12, 1e-15, "digamma(1000)");
	/* d/dx ln Gamma by a central difference */
	for (double x = 0.3; x < 40; x *= 2.7) {
		double h = 1e-5 * x;
		double fd = (sc_lgamma(x + h) - sc_lgamma(x - h)) / (2 * h);
		is_near(sc_digamma(x), fd, 1e-8, "digamma(%g) is the derivative of lgamma", x);
	}
	is_near(sc_softplus(800), 800, 1e-15, "softplus(800) does not overflow");
	is_near(sc_softplus(-800), exp(-800), 1e-12, "softplus(-800) keeps its digits");
	is_near(sc_softplus(0), log(2), 1e-15, "softplus(0)");
	is_near(sc_logistic(-800), exp(-800), 1e-12, "logistic(-800)");
}

/* ------------------------------------------------------------ optimiser */

static double rosen(const double *t, double *g, void *data)
{
	double a = 1 - t[0], b = t[1] - t[0] * t[0];

	(void)data;
	g[0] = -2 * a - 400 * t[0] * b;
	g[1] = 200 * b;
	return a * a + 100 * b * b;
}

static void test_optimiser(void)
{
	double th[2] = { -1.2, 1 };
	struct sc_optim o = { .n = 2, .lo = -10, .hi = 10, .gtol = 1e-10 };

	sc_minimise(&o, th, rosen, NULL);
	ok(o.converged, "BFGS converges on Rosenbrock's valley (%d iterations)", o.iterations);
	is_near(th[0], 1, 1e-8, "Rosenbrock x");
	is_near(th[1], 1, 1e-8, "Rosenbrock y");
}

/* ------------------------------------------------------------- CDNOW */

struct cust {
	int first, last, x, hold, id;
	double spend;    /* repeat-day spend in calibration */
	double dayspend; /* spend of the current day */
	int day;
};

/* days since 1970 of a YYYYMMDD date (test_norm tests the calendar) */
static int days_of(const char *ymd)
{
	int y, m, d;

	if (sscanf(ymd, "%4d%2d%2d", &y, &m, &d) != 3)
		return -1;
	return (int)norm_days_from_civil(y, m, d);
}

static struct cust *cdnow;
static int ncdnow;

static int load_cdnow(void)
{
	const char *top = getenv("CRM_TOP");
	char path[4096], line[256];
	FILE *fp;
	int cal_end = days_of("19970930"), hold_end = days_of("19980630");

	snprintf(path, sizeof(path), "%s/tests/fixtures/cdnow/CDNOW_sample.txt", top ? top : ".");
	if (!(fp = fopen(path, "r")))
		return -1;
	cdnow = calloc(2358, sizeof(*cdnow));
	while (fgets(line, sizeof(line), fp)) {
		char master[16], date[16];
		int sid, cds;
		double amount;
		if (sscanf(line, "%15s %d %15s %d %lf", master, &sid, date, &cds, &amount) != 5 ||
		    sid < 1 || sid > 2357)
			continue;
		struct cust *c = &cdnow[sid];
		int day = days_of(date);
		/* rows are in date order per customer */
		if (!c->id) {
			c->id = sid;
			c->first = c->last = c->day = day;
			ncdnow++;
			continue;
		}
		if (day == c->day) {
			if (day != c->first && day <= cal_end)
				c->spend += amount;
			continue;
		}
		c->day = day;
		if (day <= cal_end) {
			c->x++;
			c->last = day;
			c->spend += amount;
		} else if (day <= hold_end) {
			c->hold++;
		}
	}
	fclose(fp);
	for (int i = 1; i <= 2357; i++) {
		cdnow[i].first = cal_end - cdnow[i].first;  /* T in days */
		cdnow[i].last = cal_end - cdnow[i].last;    /* T - tx */
	}
	return 0;
}

static void cdnow_rf(struct sc_rf *d, int copies)
{
	size_t n = (size_t)2357 * copies, k = 0;

	memset(d, 0, sizeof(*d));
	d->x = malloc(n * sizeof(int32_t));
	d->tx = malloc(n * sizeof(int32_t));
	d->T = malloc(n * sizeof(int32_t));
	d->w = malloc(n * sizeof(double));
	for (int c = 0; c < copies; c++)
		for (int i = 1; i <= 2357; i++, k++) {
			d->x[k] = cdnow[i].x;
			d->T[k] = cdnow[i].first;
			d->tx[k] = cdnow[i].x ? cdnow[i].first - cdnow[i].last : 0;
			d->w[k] = 1;
		}
	d->n = n;
	d->unit_ticks = 7;
	sc_rf_prepare(d);
}

/*
 * Pareto/NBD on the CDNOW sample, weeks: Fader, Hardie and Lee's note
 * "A note on deriving the Pareto/NBD model" and the BTYD package publish
 * r 0.553, alpha 10.58, s 0.606, beta 11.67, LL -9595.0.
 */
static void test_pareto(void)
{
	struct sc_rf d;
	struct sc_bgnbd m;
	struct sc_fitinfo fi;

	cdnow_rf(&d, 1);
	int rc = sc_pareto_fit(&d, &m, &fi);
	ok(rc == 0 && fi.converged, "Pareto/NBD on CDNOW converges (%d iterations, %d evaluations)",
	   fi.iterations, fi.evaluations);
	printf("# Pareto/NBD r=%.6f alpha=%.6f s=%.6f beta=%.6f LL=%.4f; se %.4f %.4f %.4f %.4f\n",
	       m.r, m.alpha, m.s, m.beta, fi.ll, fi.se[0], fi.se[1], fi.se[2], fi.se[3]);
	is_within(m.r, 0.553, 0.0005, "r = 0.553");
	is_within(m.alpha, 10.58, 0.005, "alpha = 10.58");
	is_within(m.s, 0.606, 0.0005, "s = 0.606");
	is_within(m.beta, 11.67, 0.005, "beta = 11.67");
	is_within(fi.ll, -9595.0, 0.05, "LL = -9595.0");
	is_near(sc_pareto_ll(&m, &d), fi.ll, 1e-12, "the fit's LL is the model's");
	/* P(alive) falls with the time since the last purchase, and a
	 * customer seen on the last day is alive for sure */
	ok(sc_bgnbd_p_alive(&m, 2, 30, 39) > sc_bgnbd_p_alive(&m, 2, 10, 39) &&
	   sc_bgnbd_p_alive(&m, 2, 39, 39) == 1 && sc_bgnbd_p_alive(&m, 0, 0, 39) < 1,
	   "Pareto/NBD P(alive): falls with the gap, 1 on the last day, below 1 at x = 0");
	/* the expected purchases of a new customer over 39 weeks against
	 * the closed form E[X(t)] = r beta / (alpha (s - 1)) (1 - (beta /
	 * (beta + t))^(s - 1)) */
	double t = 39, want = m.r * m.beta / (m.alpha * (m.s - 1)) *
				   (1 - pow(m.beta / (m.beta + t), m.s - 1));
	is_near(sc_bgnbd_expected(&m, t), want, 1e-12, "Pareto/NBD E[X(t)] of a new customer");
	sc_rf_free(&d);
}

static void test_cdnow(void)
{
	struct sc_rf d;
	struct sc_bgnbd m, paper = { 0.2426, 4.414, 0.7929, 2.426, SC_BGNBD, 0, 0, 0 };
	struct sc_fitinfo fi;
	struct sc_spend sp = { 0 };
	struct sc_gg g;

	if (load_cdnow() < 0) {
		ok(0, "cannot read tests/fixtures/cdnow/CDNOW_sample.txt (is CRM_TOP set?)");
		return;
	}
	is_int(ncdnow, 2357, "CDNOW sample: 2357 customers");
	cdnow_rf(&d, 1);
	is_near(d.customers, 2357, 0, "summary: 2357 customers");
	is_near(d.repeaters, 946, 0, "summary: 946 repeat buyers");
	is_near(d.sum_x, 2457, 0, "summary: 2457 repeat purchase days");
	/* every customer's (x, T, tx) is found in its group, and only there */
	{
		int lost = 0;
		for (int i = 1; i <= 2357; i++) {
			int32_t x = cdnow[i].x, T = cdnow[i].first;
			int32_t tx = x ? cdnow[i].first - cdnow[i].last : 0;
			size_t k = sc_rf_find(&d, x, T, tx);
			if (k >= d.n || d.x[k] != x || d.T[k] != T || d.tx[k] != tx)
				lost++;
		}
		is_int(lost, 0, "sc_rf_find finds every customer's group");
		ok(sc_rf_find(&d, 1, 5, 6) == d.n && sc_rf_find(&d, 100000, 0, 0) == d.n,
		   "sc_rf_find: no group, d->n");
	}

	/* the paper's parameters give the paper's log-likelihood */
	is_near(sc_bgnbd_ll(&paper, &d), -9582.43, 2e-6, "LL at the published parameters");

	int rc = sc_bgnbd_fit(&d, &m, &fi);
	ok(rc == 0 && fi.converged, "BG/NBD fit converges (%d iterations)", fi.iterations);
	printf("# BG/NBD r=%.6f alpha=%.6f a=%.6f b=%.6f LL=%.4f (%d iterations, %d evaluations)\n",
	       m.r, m.alpha, m.a, m.b, fi.ll, fi.iterations, fi.evaluations);
	/* the paper rounds to 4 significant digits: within half the last one */
	is_within(m.r, 0.2426, 0.00005, "r = 0.2426");
	is_within(m.alpha, 4.414, 0.0005, "alpha = 4.414");
	is_within(m.a, 0.7929, 0.00005, "a = 0.7929");
	is_within(m.b, 2.426, 0.0005, "b = 2.426");
	is_near(fi.ll, -9582.43, 1e-6, "LL = -9582.43");
	is_near(sc_bgnbd_ll(&m, &d), fi.ll, 1e-13, "the reported LL is the LL of the parameters");
	double bgll = fi.ll;

	/* holdout (weeks 40-78): conditional expectations by calibration x */
	double pred0 = 0, pred3 = 0, act0 = 0;
	int n0 = 0, n3 = 0;
	for (int i = 1; i <= 2357; i++) {
		struct cust *c = &cdnow[i];
		double T = c->first / 7.0, tx = (c->first - c->last) / 7.0;
		double e = sc_bgnbd_p_alive(&m, c->x, tx, T) * sc_bgnbd_future(&m, c->x, T, 39);
		if (c->x == 0) {
			pred0 += e;
			act0 += c->hold;
			n0++;
		} else if (c->x == 3) {
			pred3 += e;
			n3++;
		}
	}
	is_int(n0, 1411, "1411 customers without repeat purchases");
	is_near(act0, 334, 0, "who made 334 purchases in the holdout");
	is_near(pred0 / n0, 0.225, 5e-3, "predicted about 0.225 each");
	is_int(n3, 100, "100 customers with 3 repeat purchases");
	is_near(pred3 / n3, 1.52, 5e-3, "predicted about 1.52 each");

	/* Gamma-Gamma on the repeat buyers */
	sp.x = malloc(2357 * sizeof(int32_t));
	sp.mbar = malloc(2357 * sizeof(double));
	for (int i = 1; i <= 2357; i++)
		if (cdnow[i].x > 0) {
			sp.x[sp.n] = cdnow[i].x;
			sp.mbar[sp.n] = cdnow[i].spend / cdnow[i].x;
			sp.n++;
		}
	is_int(sp.n, 946, "946 repeat buyers for Gamma-Gamma");
	rc = sc_gg_fit(&sp, &g, &fi);
	ok(rc == 0 && fi.converged, "Gamma-Gamma fit converges (%d iterations)", fi.iterations);
	printf("# Gamma-Gamma p=%.6f q=%.6f gamma=%.6f LL=%.4f\n", g.p, g.q, g.gamma, fi.ll);
	/* published with two decimals */
	is_within(g.p, 6.25, 0.005, "p = 6.25");
	is_within(g.q, 3.74, 0.005, "q = 3.74");
	is_within(g.gamma, 15.44, 0.005, "gamma = 15.44");
	is_near(fi.ll, -4055.92, 1e-6, "LL = -4055.92");
	/* E[M] is a weighted mean of the population mean and mbar */
	double pop = g.p * g.gamma / (g.q - 1);
	is_near(sc_gg_expected_spend(&g, 0, 123), pop, 1e-15, "x = 0 gets the population mean");
	double w = g.p * 5 / (g.p * 5 + g.q - 1);
	is_near(sc_gg_expected_spend(&g, 5, 40), (1 - w) * pop + w * 40, 1e-13,
		"x = 5: the credibility-weighted mean");
	free(sp.x);
	free(sp.mbar);

	/* replicating every customer K times: same parameters, K times the LL */
	struct sc_rf d3;
	struct sc_bgnbd m3;
	struct sc_fitinfo f3;
	cdnow_rf(&d3, 3);
	is_near(sc_bgnbd_ll(&m, &d3), 3 * sc_bgnbd_ll(&m, &d), 1e-12, "three copies: 3 x LL");
	ok(sc_bgnbd_fit(&d3, &m3, &f3) == 0, "three copies: the fit converges");
	is_near(m3.r, m.r, 1e-5, "three copies: same r");
	is_near(m3.alpha, m.alpha, 1e-5, "three copies: same alpha");
	is_near(m3.a, m.a, 1e-4, "three copies: same a");
	is_near(m3.b, m.b, 1e-4, "three copies: same b");
	is_near(f3.ll, 3 * bgll, 1e-8, "three copies: 3 x the fitted LL");
	sc_rf_free(&d3);
	sc_rf_free(&d);
}


/* ------------------------------------------------- expected purchases */

static void test_future(void)
{
	static const struct sc_bgnbd ms[] = {
		{ 0.2426, 4.414, 0.7929, 2.426, SC_BGNBD, 0, 0, 0 },  /* CDNOW, a < 1 */
		{ 0.5, 30, 1.0, 2.0, SC_BGNBD, 0, 0, 0 },             /* a = 1 exactly */
		{ 0.5, 30, 1.0 + 1e-9, 2.0, SC_BGNBD, 0, 0, 0 },      /* next to it */
		{ 1.3, 0.8, 3.5, 12, SC_BGNBD, 0, 0, 0 },             /* a > 1, b large */
		{ 0.2, 10, 0.3, 0.7, SC_BGNBD, 0, 0, 0 },             /* C = a+b+x-1 = 0 at x = 0 */
		{ 0.2, 10, 0.3, 0.5, SC_BGNBD, 0, 0, 0 },             /* C < 0 at x = 0 */
		{ 4, 2, 0.05, 40, SC_BGNBD, 0, 0, 0 },                /* tiny a */
	};
	static const double xs[] = { 0, 1, 3, 20 };
	static const double Ts[] = { 0, 2, 30 };
	static const double ts[] = { 0.5, 10, 52, 400 };
	int bad = 0, n = 0;
	double worst = 0;

	for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++)
		for (size_t j = 0; j < 4; j++)
			for (size_t k = 0; k < 3; k++)
				for (size_t l = 0; l < 4; l++) {
					double s = sc_bgnbd_future(&ms[i], xs[j], Ts[k], ts[l]);
					double q = sc_bgnbd_future_quad(&ms[i], xs[j], Ts[k], ts[l]);
					double e = fabs(s - q) / q;
					n++;
					if (e > worst)
						worst = e;
					if (!(e < 1e-10)) {
						bad++;
						printf("# model %zu x=%g T=%g t=%g: series %.15g, quadrature %.15g\n",
						       i, xs[j], Ts[k], ts[l], s, q);
					}
				}
	ok(!bad, "the series agrees with numerical integration over p in %d cases (worst %.1g)",
	   n, worst);

	/* the paper's closed form (a != 1, no cancellation at these values) */
	{
		const struct sc_bgnbd *m = &ms[3];
		double x = 3, T = 30, t = 10, z = t / (m->alpha + T + t);
		double f = 1, term = 1;
		for (int k = 0; k < 2000; k++) {
			term *= (m->r + x + k) * (m->b + x + k) / ((m->a + m->b + x - 1 + k) * (k + 1)) * z;
			f += term;
		}
		double want = (m->a + m->b + x - 1) / (m->a - 1) *
			      (1 - pow((m->alpha + T) / (m->alpha + T + t), m->r + x) * f);
		is_near(sc_bgnbd_future(m, x, T, t), want, 1e-12, "the paper's 2F1 form");
	}

	/* a new customer buys at rate r/alpha at first */
	is_near(sc_bgnbd_expected(&ms[0], 1e-6) / 1e-6, ms[0].r / ms[0].alpha, 1e-5,
		"E[X(t)] starts at slope r/alpha");
	/* with a > 1 the expected lifetime purchases are (a+b-1)/(a-1) */
	is_near(sc_bgnbd_expected(&ms[3], 1e7), (3.5 + 12 - 1) / 2.5, 1e-3,
		"E[X(t)] tends to (a+b-1)/(a-1)");

	/* far beyond the series' range, the two agree (quadrature used) */
	is_near(sc_bgnbd_future(&ms[0], 0, 0, 5000), sc_bgnbd_future_quad(&ms[0], 0, 0, 5000),
		1e-15, "z > 0.995 goes to the quadrature");

	/* discounting: against the sum over 200000 small steps */
	for (size_t i = 0; i < 4; i++) {
		const struct sc_bgnbd *m = &ms[i];
		double x = i, T = i == 2 ? 0 : 20, h = 52, delta = log(1.1) / (365 / 7.0);
		double sum = 0, prev = 0;
		int steps = 200000;
		for (int k = 1; k <= steps; k++) {
			double s = h * k / steps, f = sc_bgnbd_future(m, x, T, s);
			sum += exp(-delta * (s - h / steps / 2)) * (f - prev);
			prev = f;
		}
		is_near(sc_bgnbd_future_discounted(m, x, T, h, delta), sum, 1e-8,
			"discounted purchases, model %zu, match a fine sum", i);
	}
	is_near(sc_bgnbd_future_discounted(&ms[0], 2, 10, 52, 0), sc_bgnbd_future(&ms[0], 2, 10, 52),
		0, "no discount: the undiscounted expectation");
	ok(sc_bgnbd_future_discounted(&ms[0], 2, 10, 52, 0.01) < sc_bgnbd_future(&ms[0], 2, 10, 52),
	   "discounting lowers it");
}

static void test_p_alive(void)
{
	struct sc_bgnbd m = { .r = 0.2426, .alpha = 4.414, .a = 0.7929, .b = 2.426 };
	double x = 2, tx = 10, T = 30;
	double want = 1 / (1 + m.a / (m.b + x - 1) * pow((m.alpha + T) / (m.alpha + tx), m.r + x));

	is_near(sc_bgnbd_p_alive(&m, 0, 0, 30), 1, 0, "no repeat purchase: alive");
	is_near(sc_bgnbd_p_alive(&m, x, tx, T), want, 1e-14, "P(alive) by the paper's formula");
	ok(sc_bgnbd_p_alive(&m, x, 29, T) > sc_bgnbd_p_alive(&m, x, 10, T),
	   "a more recent purchase: more likely alive");
	is_near(sc_bgnbd_p_alive(&m, 200, 0, 3000), 0, 1e-300,
		"P(alive) underflows to 0, not NaN");
	ok(!isnan(sc_bgnbd_p_alive(&m, 200, 0, 3000)), "and is a number");
}

/* --------------------------------------------------- simulated data */

static uint64_t rng = 0x9e3779b97f4a7c15u;

static double unif(void)
{
	/* xorshift64*, 53 random bits in (0, 1) */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return ((rng * 2685821657736338717u >> 11) + 0.5) / 9007199254740992.0;
}

static double normal(void)
{
	return sqrt(-2 * log(unif())) * cos(2 * M_PI * unif());
}

/* Gamma(shape k, rate 1) by Marsaglia and Tsang's method */
static double gamma1(double k)
{
	if (k < 1)
		return gamma1(k + 1) * pow(unif(), 1 / k);
	double d = k - 1.0 / 3, c = 1 / sqrt(9 * d);
	for (;;) {
		double z = normal(), v = 1 + c * z;
		if (v <= 0)
			continue;
		v = v * v * v;
		if (log(unif()) < 0.5 * z * z + d - d * v + d * log(v))
			return d * v;
	}
}

/*
 * The limits of BG/NBD (score_model.h): data simulated with one dropout
 * probability for everyone, and with no dropout at all. sc_bgnbd_fit_limit
 * recovers each model's parameters; the closed-form predictions agree
 * with the full model near the limit.
 */
/* One customer of purchase rate lam and dropout probability p after each
 * purchase, first purchase at 0, observed for T weeks in [20, 80]; ticks
 * of 1/1000 week so that rounding plays no part. */
static void sim_one(double lam, double p, int32_t *xo, int32_t *To, int32_t *txo)
{
	double T = 20 + 60 * unif(), t = 0, last = 0;
	int x = 0;

	for (;;) {
		t += -log(unif()) / lam;
		if (t > T)
			break;
		x++;
		last = t;
		if (unif() < p)
			break;
	}
	*xo = x;
	*To = (int32_t)(T * 1000);
	*txo = x ? (int32_t)(last * 1000) : 0;
}

static void rf_alloc(struct sc_rf *d, size_t n)
{
	d->x = malloc(n * sizeof(int32_t));
	d->tx = malloc(n * sizeof(int32_t));
	d->T = malloc(n * sizeof(int32_t));
	d->w = malloc(n * sizeof(double));
}

static void sim_limit(struct sc_rf *d, size_t n, double r, double alpha, double p)
{
	rf_alloc(d, n);
	for (size_t i = 0; i < n; i++) {
		double lam = gamma1(r) / alpha;
		sim_one(lam, p, &d->x[i], &d->T[i], &d->tx[i]);
		d->w[i] = 1;
	}
	d->n = n;
	d->unit_ticks = 1000;
	sc_rf_prepare(d);
}

static void test_limits(void)
{
	struct sc_rf d = { 0 };
	struct sc_fitinfo fi;
	struct sc_bgnbd m = { .r = 1, .alpha = 1, .a = 1, .b = 5 };

	sim_limit(&d, 100000, 0.6, 8, 0.15);
	ok(sc_bgnbd_fit_limit(&d, &m, &fi) == 0 && m.kind == SC_BG_CONST,
	   "one dropout probability for all: fitted as the constant-dropout limit");
	printf("# truth r=0.6 alpha=8 p=0.15; fitted r=%.4f alpha=%.4f p=%.4f (%s)\n", m.r, m.alpha,
	       m.p, sc_bgnbd_kind_name(m.kind));
	is_near(m.r, 0.6, 0.05, "recovers r");
	is_near(m.alpha, 8, 0.06, "recovers alpha");
	is_near(m.p, 0.15, 0.08, "recovers p");
	ok(fabs(m.r - 0.6) < 4 * fi.se[0] && fabs(m.alpha - 8) < 4 * fi.se[1] &&
	   fabs(m.p - 0.15) < 4 * fi.se[2], "constant dropout: the truth within 4 standard errors");
	sc_rf_free(&d);

	memset(&d, 0, sizeof(d));
	m = (struct sc_bgnbd){ .r = 1, .alpha = 1, .a = 1e-8, .b = 1e5 };
	sim_limit(&d, 100000, 0.8, 10, 0);
	ok(sc_bgnbd_fit_limit(&d, &m, &fi) == 0 && m.kind == SC_NBD,
	   "no dropout: fitted as the NBD limit");
	printf("# truth r=0.8 alpha=10; fitted r=%.4f alpha=%.4f (%s)\n", m.r, m.alpha,
	       sc_bgnbd_kind_name(m.kind));
	is_near(m.r, 0.8, 0.05, "recovers r");
	is_near(m.alpha, 10, 0.06, "recovers alpha");
	ok(fabs(m.r - 0.8) < 4 * fi.se[0] && fabs(m.alpha - 10) < 4 * fi.se[1],
	   "NBD: the truth within 4 standard errors");
	ok(sc_bgnbd_p_alive(&m, 3, 2, 40) == 1, "NBD: everyone is alive");
	sc_rf_free(&d);

	/* the closed forms against the full model next to each limit */
	struct sc_bgnbd nbd = { .r = 0.7, .alpha = 9, .kind = SC_NBD };
	struct sc_bgnbd near0 = { .r = 0.7, .alpha = 9, .a = 1e-9, .b = 3 };
	struct sc_bgnbd cst = { .r = 0.7, .alpha = 9, .kind = SC_BG_CONST, .p = 0.2 };
	struct sc_bgnbd nearc = { .r = 0.7, .alpha = 9, .a = 0.2e5, .b = 0.8e5 };
	int bad = 0;
	for (int x = 0; x <= 6; x += 2)
		for (double t = 1; t <= 100; t *= 10) {
			if (fabs(sc_bgnbd_future(&nbd, x, 30, t) /
				 sc_bgnbd_future(&near0, x, 30, t) - 1) > 1e-6)
				bad++;
			if (fabs(sc_bgnbd_future(&cst, x, 30, t) /
				 sc_bgnbd_future(&nearc, x, 30, t) - 1) > 1e-3)
				bad++;
			if (x && fabs(sc_bgnbd_p_alive(&cst, x, 10, 30) -
				      sc_bgnbd_p_alive(&nearc, x, 10, 30)) > 1e-3)
				bad++;
		}
	is_int(bad, 0, "limit models' predictions equal the full model's next to the limit");
}

/* MBG/NBD: a customer may leave right after the first purchase too */
static void test_mbg(void)
{
	struct sc_rf d = { 0 };
	struct sc_fitinfo fi;
	struct sc_bgnbd m, truth = { .r = 0.6, .alpha = 8, .a = 0.8, .b = 2.5, .kind = SC_MBGNBD };
	size_t n = 100000;

	rf_alloc(&d, n);
	for (size_t i = 0; i < n; i++) {
		double lam = gamma1(truth.r) / truth.alpha;
		double g1 = gamma1(truth.a), g2 = gamma1(truth.b), p = g1 / (g1 + g2);
		if (unif() < p) {
			d.x[i] = 0;
			d.T[i] = (int32_t)((20 + 60 * unif()) * 1000);
			d.tx[i] = 0;
		} else {
			sim_one(lam, p, &d.x[i], &d.T[i], &d.tx[i]);
		}
		d.w[i] = 1;
	}
	d.n = n;
	d.unit_ticks = 1000;
	sc_rf_prepare(&d);
	ok(sc_mbgnbd_fit(&d, &m, &fi) == 0 && m.kind == SC_MBGNBD, "simulated MBG/NBD: the fit converges");
	printf("# truth r=0.6 alpha=8 a=0.8 b=2.5; MBG/NBD r=%.4f alpha=%.4f a=%.4f b=%.4f; "
	       "se %.4f %.4f %.4f %.4f\n", m.r, m.alpha, m.a, m.b, fi.se[0], fi.se[1], fi.se[2],
	       fi.se[3]);
	ok(fabs(m.r - truth.r) < 4 * fi.se[0] && fabs(m.alpha - truth.alpha) < 4 * fi.se[1] &&
	   fabs(m.a - truth.a) < 4 * fi.se[2] && fabs(m.b - truth.b) < 4 * fi.se[3],
	   "MBG/NBD: the truth within 4 standard errors");
	ok(fi.ll >= sc_mbgnbd_ll(&truth, &d), "MBG/NBD: the fit's LL is at least the truth's");
	ok(sc_bgnbd_p_alive(&m, 0, 0, 40) < 1, "MBG/NBD: a customer who never came back may be gone");
	sc_rf_free(&d);
}

static void test_recovery(void)
{
	struct sc_bgnbd truth = { .r = 0.6, .alpha = 8, .a = 0.8, .b = 2.5 }, m;
	struct sc_gg gtruth = { 4, 5, 30 }, g;
	struct sc_fitinfo fi;
	struct sc_rf d = { 0 };
	struct sc_spend sp = { 0 };
	size_t n = 100000;

	/* BG/NBD: first purchase at 0, observed for T weeks in [20, 80];
	 * ticks of 1/1000 week so that rounding plays no part */
	rf_alloc(&d, n);
	sp.x = malloc(n * sizeof(int32_t));
	sp.mbar = malloc(n * sizeof(double));
	for (size_t i = 0; i < n; i++) {
		double lam = gamma1(truth.r) / truth.alpha;
		double g1 = gamma1(truth.a), g2 = gamma1(truth.b), p = g1 / (g1 + g2);
		sim_one(lam, p, &d.x[i], &d.T[i], &d.tx[i]);
		d.w[i] = 1;
		/* spend of x + 1 transactions (x >= 1 go to Gamma-Gamma) */
		double nu = gamma1(gtruth.q) / gtruth.gamma, sum = 0;
		int k = 1 + (int)(unif() * 6);
		for (int j = 0; j < k; j++)
			sum += gamma1(gtruth.p) / nu;
		sp.x[i] = k;
		sp.mbar[i] = sum / k;
	}
	d.n = n;
	d.unit_ticks = 1000;
	sc_rf_prepare(&d);
	sp.n = n;
	int rc = sc_bgnbd_fit(&d, &m, &fi);
	ok(rc == 0, "simulated BG/NBD data: the fit converges");
	printf("# truth r=%g alpha=%g a=%g b=%g; fitted r=%.4f alpha=%.4f a=%.4f b=%.4f\n",
	       truth.r, truth.alpha, truth.a, truth.b, m.r, m.alpha, m.a, m.b);
	/* tolerances are about 4 standard errors (spread over seeds) */
	is_near(m.r, truth.r, 0.03, "recovers r");
	is_near(m.alpha, truth.alpha, 0.04, "recovers alpha");
	is_near(m.a, truth.a, 0.12, "recovers a");
	is_near(m.b, truth.b, 0.18, "recovers b");
	ok(fi.ll >= sc_bgnbd_ll(&truth, &d), "the fit's LL is at least the truth's");
	printf("# standard errors r %.4f alpha %.4f a %.4f b %.4f\n", fi.se[0], fi.se[1], fi.se[2],
	       fi.se[3]);
	ok(fabs(m.r - truth.r) < 4 * fi.se[0] && fabs(m.alpha - truth.alpha) < 4 * fi.se[1] &&
	   fabs(m.a - truth.a) < 4 * fi.se[2] && fabs(m.b - truth.b) < 4 * fi.se[3],
	   "BG/NBD: the truth within 4 standard errors of the fit");

	rc = sc_gg_fit(&sp, &g, &fi);
	ok(rc == 0, "simulated spend: the Gamma-Gamma fit converges");
	printf("# truth p=%g q=%g gamma=%g; fitted p=%.4f q=%.4f gamma=%.4f\n",
	       gtruth.p, gtruth.q, gtruth.gamma, g.p, g.q, g.gamma);
	is_near(g.p, gtruth.p, 0.06, "recovers p");
	is_near(g.q, gtruth.q, 0.06, "recovers q");
	is_near(g.gamma, gtruth.gamma, 0.1, "recovers gamma");
	ok(fabs(g.p - gtruth.p) < 4 * fi.se[0] && fabs(g.q - gtruth.q) < 4 * fi.se[1] &&
	   fabs(g.gamma - gtruth.gamma) < 4 * fi.se[2],
	   "Gamma-Gamma: the truth within 4 standard errors (%.3f %.3f %.3f)", fi.se[0], fi.se[1],
	   fi.se[2]);
	/* the population mean spend is what matters most */
	is_near(g.p * g.gamma / (g.q - 1), gtruth.p * gtruth.gamma / (gtruth.q - 1), 0.02,
		"recovers the mean spend p gamma/(q-1)");

	/* one spend rate for everyone: q runs off to infinity, which is a
	 * limit model, not a failure */
	for (size_t i = 0; i < n; i++) {
		double sum = 0;
		int k = sp.x[i];
		for (int j = 0; j < k; j++)
			sum += gamma1(3) / 0.1;
		sp.mbar[i] = sum / k;
	}
	rc = sc_gg_fit(&sp, &g, &fi);
	ok(rc == 0 && fi.limit, "no spend heterogeneity: the limit model (%s)",
	   fi.limit ? fi.limit : "none");
	is_near(g.p, 3, 0.02, "the limit keeps p");
	is_near(g.p * g.gamma / g.q, 30, 0.01, "and the mean spend p gamma/q");
	is_near(sc_gg_expected_spend(&g, 5, 1000), 30, 0.01,
		"a customer's expected spend is the population's, whatever they spent");

	/* the LL for a large q (Stirling's differences) against long double */
	{
		struct sc_gg big = { 2.5, 5000, 90000 };
		struct sc_spend one = { 3, (int32_t[]){ 1, 4, 9 }, (double[]){ 12.5, 40, 7.25 }, 0 };
		long double want = 0;
		for (size_t i = 0; i < 3; i++) {
			long double x = one.x[i], mb = one.mbar[i], px = big.p * x;
			want += lgammal(px + big.q) - lgammal(px) - lgammal(big.q) +
				big.q * logl(big.gamma) + px * logl(x) + (px - 1) * logl(mb) -
				(px + big.q) * logl(big.gamma + x * mb);
		}
		is_near(sc_gg_ll(&big, &one), (double)want, 1e-12, "LL at q = 5000");
	}
	free(sp.x);
	free(sp.mbar);
	sc_rf_free(&d);
}

static void test_degenerate(void)
{
	struct sc_rf d = { 0 };
	struct sc_bgnbd m;
	struct sc_fitinfo fi;
	struct sc_spend sp = { 0 };
	struct sc_gg g;
	int32_t one[1] = { 1 };
	double mb[1] = { 10 };

	d.n = 50;
	d.x = calloc(50, sizeof(int32_t));
	d.tx = calloc(50, sizeof(int32_t));
	d.T = calloc(50, sizeof(int32_t));
	d.w = malloc(50 * sizeof(double));
	for (int i = 0; i < 50; i++) {
		d.T[i] = 10 + i;
		d.w[i] = 1;
	}
	d.unit_ticks = 7;
	sc_rf_prepare(&d);
	int rc = sc_bgnbd_fit(&d, &m, &fi);
	ok(rc < 0 && fi.why, "no repeat purchases: no fit (%s)", fi.why ? fi.why : "?");
	sc_rf_free(&d);

	/* every repeat buyer bought on the last day: nobody has dropped out,
	 * so the dropout parameters run off to a limit */
	d.n = 3000;
	d.x = calloc(d.n, sizeof(int32_t));
	d.tx = calloc(d.n, sizeof(int32_t));
	d.T = calloc(d.n, sizeof(int32_t));
	d.w = malloc(d.n * sizeof(double));
	for (size_t i = 0; i < d.n; i++) {
		d.x[i] = (int32_t)(i % 7);
		d.T[i] = (int32_t)(20 + i % 31) * 7;
		d.tx[i] = d.x[i] ? d.T[i] : 0;
		d.w[i] = 1;
	}
	d.unit_ticks = 7;
	sc_rf_prepare(&d);
	rc = sc_bgnbd_fit(&d, &m, &fi);
	ok(rc < 0 && fi.why, "nobody drops out: no fit (%s)", fi.why ? fi.why : "?");
	ok(fi.why && (strstr(fi.why, "runs off") || strstr(fi.why, "flat")),
	   "the reason names the parameter or the flat likelihood");
	sc_rf_free(&d);
	sp.n = 1;
	sp.x = one;
	sp.mbar = mb;
	rc = sc_gg_fit(&sp, &g, &fi);
	ok(rc < 0 && fi.why, "one repeat buyer: no spend model (%s)", fi.why ? fi.why : "?");
	/* q <= 1: no population mean, no negative spend */
	g.p = 2;
	g.q = 0.8;
	g.gamma = 10;
	ok(isnan(sc_gg_expected_spend(&g, 0, 0)), "q <= 1: no expected spend for x = 0");
	is_near(sc_gg_expected_spend(&g, 3, 20), 2 * (10 + 60) / (6 + 0.8 - 1), 1e-15,
		"q <= 1: x = 3 still has one");
}

/* ----------------------------------------------------------------- RFM */

static void scores_of(const double *v, size_t n, int bins, const char *want)
{
	int s[64];
	char got[65];

	sc_quantile_scores(v, n, bins, s);
	for (size_t i = 0; i < n; i++)
		got[i] = (char)('0' + s[i]);
	got[n] = 0;
	is_str(got, want, "quantile scores of %zu values, %d bins", n, bins);
}

static void test_rfm(void)
{
	double ten[] = { 10, 1, 9, 2, 8, 3, 7, 4, 6, 5 };
	double ties[] = { 1, 1, 1, 1, 1, 1, 2, 3, 4, 5 };
	double same[] = { 7, 7, 7, 7 };
	double one[] = { 42 };
	double two[] = { 1, 2 };

	scores_of(ten, 10, 5, "5151424233");
	/* quantiles give the six ties 2 and leave 1 and 3 empty: groups */
	scores_of(ties, 10, 5, "1111112345");
	/* the shop of t0410: 1 (x10), 2 (x3), 3 (x2), 4 (x2), 6, 8, 12 */
	double shop[] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 3, 3, 4, 4, 6, 8, 12 };
	scores_of(shop, 20, 5, "11111111112223344555");
	/* four distinct values for five scores: quantiles stay */
	double few[] = { 1, 1, 1, 1, 1, 1, 2, 3, 4 };
	scores_of(few, 9, 5, "222222455");
	/* heavy ties at random (order counts of a real shop): every score
	 * used when there are values enough, ordered, equal values equal */
	{
		uint64_t x = 88172645463325252ull;
		int bad = 0;
		for (int round = 0; round < 2000; round++) {
			size_t n = 1 + (size_t)(round % 300);
			int bins = 2 + round % 8;
			double *v = xmalloc(n * sizeof(double));
			int *sc = xmalloc(n * sizeof(int));
			size_t distinct = 0;
			for (size_t i = 0; i < n; i++) {
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				double c = 1;
				while ((x >> (int)c) & 1 && c < 40)
					c++;
				v[i] = c;
			}
			int how = sc_quantile_scores(v, n, bins, sc);
			unsigned used = 0;
			for (size_t i = 0; i < n; i++) {
				int newval = 1;
				for (size_t j = 0; j < i; j++)
					if (v[j] == v[i])
						newval = 0;
				distinct += (size_t)newval;
				if (sc[i] < 1 || sc[i] > bins)
					bad++;
				else
					used |= 1u << sc[i];
				for (size_t j = 0; j < n; j++)
					if ((v[j] < v[i] && sc[j] > sc[i]) || (v[j] == v[i] && sc[j] != sc[i]))
						bad++;
			}
			if (distinct >= (size_t)bins && used != ((1u << (bins + 1)) - 2))
				bad++;
			if (how == SC_GROUPS && distinct < (size_t)bins)
				bad++;
			free(v);
			free(sc);
		}
		is_int(bad, 0, "scores of heavy ties: every score used, ordered, equal values equal");
	}
	scores_of(same, 4, 5, "3333");
	scores_of(one, 1, 5, "3");
	scores_of(two, 2, 5, "24");
	scores_of(ten, 10, 2, "2121212121");
	scores_of(ten, 10, 9, "9182736455");

	static const struct {
		int r, f, m, bins;
		const char *segment, *what;
	} cells[] = {
		{ 5, 5, 5, 5, "champions", "555 is a champion" },
		{ 5, 1, 1, 5, "new", "511 is new" },
		{ 4, 1, 1, 5, "promising", "411 is promising" },
		{ 4, 4, 4, 5, "loyal", "444 is loyal" },
		{ 3, 3, 3, 5, "need_attention", "333 needs attention" },
		{ 3, 1, 2, 5, "about_to_sleep", "312 is about to sleep" },
		{ 1, 5, 5, 5, "cannot_lose", "155 cannot be lost" },
		{ 2, 4, 3, 5, "at_risk", "243 is at risk" },
		{ 2, 1, 1, 5, "hibernating", "211 hibernates" },
		{ 1, 1, 2, 5, "lost", "112 is lost" },
		{ 5, 2, 3, 5, "potential_loyalist", "523 is a potential loyalist" },
		{ 3, 3, 3, 3, "champions", "333 of 3 bins is a champion" },
		{ 1, 1, 1, 3, "hibernating", "111 of 3 bins (2 on 5) hibernates" },
	};
	for (size_t i = 0; i < sizeof(cells) / sizeof(cells[0]); i++)
		is_str(sc_rfm_segment(cells[i].r, cells[i].f, cells[i].m, cells[i].bins),
		       cells[i].segment, "%s", cells[i].what);
	/* every cell of the 5x5x5 cube has a segment, and all 11 occur */
	int seen[16] = { 0 }, missing = 0, misindexed = 0;
	for (int r = 1; r <= 5; r++)
		for (int f = 1; f <= 5; f++)
			for (int m = 1; m <= 5; m++) {
				const char *sg = sc_rfm_segment(r, f, m, 5);
				size_t k;
				for (k = 0; sg && k < sc_rfm_nsegments; k++)
					if (!strcmp(sg, sc_rfm_segments[k]))
						break;
				if (!sg || k == sc_rfm_nsegments)
					missing++;
				else
					seen[k] = 1;
				if (sc_rfm_segment_index(r, f, m, 5) != (int)k)
					misindexed++;
			}
	is_int(misindexed, 0, "sc_rfm_segment_index is the index of sc_rfm_segment's name");
	ok(sc_rfm_segment_index(0, 3, 3, 5) == -1 && !sc_rfm_segment(6, 3, 3, 5),
	   "a score out of range has no segment");
	int all = 1;
	for (size_t k = 0; k < sc_rfm_nsegments; k++)
		all &= seen[k];
	ok(!missing && all && sc_rfm_nsegments == 11, "the grid maps every cell to one of 11 segments");
}

int main(void)
{
	test_functions();
	test_optimiser();
	test_cdnow();
	test_future();
	test_p_alive();
	test_recovery();
	test_limits();
	test_pareto();
	test_mbg();
	test_degenerate();
	test_rfm();
	return tap_done();
}
