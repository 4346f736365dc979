/*
 * report_stats.c - the statistics of crm-report's campaign comparison:
 * the normal distribution (through erfc), Student's t (through the
 * regularised incomplete beta function, evaluated by its continued
 * fraction with the modified Lentz method), the two-proportion z-test and
 * Welch's unequal-variance t-test.
 *
 * Two-proportion test: the p-value uses the pooled standard error
 * (the null hypothesis says both groups share one rate), the 95% interval
 * the unpooled one (each group its own rate):
 *     SE_pooled   = sqrt(p (1 - p) (1/n1 + 1/n0)),  p = (x1 + x0) / (n1 + n0)
 *     SE_unpooled = sqrt(p1 (1 - p1) / n1 + p0 (1 - p0) / n0)
 * The minimum detectable effect of a design with these group sizes, at
 * 5% two-sided significance and 80% power, from the control rate:
 *     MDE = (z_0.975 + z_0.8) sqrt(p0 (1 - p0) (1/n1 + 1/n0))
 * Welch: SE = sqrt(v1/n1 + v0/n0) with the sample variances, and
 * Welch-Satterthwaite degrees of freedom.
 *
 * The percentile bootstrap (Efron and Tibshirani 1993, ch. 13) for the
 * difference of two means, which makes no assumption about the shape of
 * revenue (most recipients at 0, a few large orders): each sample is
 * resampled with replacement at its own size, nb times, independently of
 * the other; the 2.5th and 97.5th percentiles of the nb differences of
 * the resample means are the 95% interval. The random numbers are
 * xoshiro256** seeded through splitmix64 (Blackman and Vigna, "Scrambled
 * linear pseudorandom number generators", 2021), and draws in [0, n) use
 * Lemire's multiply-and-shift with rejection ("Fast random integer
 * generation in an interval", 2019): all in 64-bit integer arithmetic,
 * so the same seed gives the same interval everywhere.
 */
#include "report.h"

#include <math.h>
#include <stdlib.h>

#include "score_model.h"
#include "util.h"

/* The same numbers on every machine: no fused multiply-add where the
 * source has a multiplication and an addition (GCC contracts none in ISO
 * C mode, and warns about the pragma; clang contracts by default). */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

double rs_norm_cdf(double z)
{
	return 0.5 * erfc(-z / sqrt(2.0));
}

/* By bisection on the cdf: slow next to a rational approximation, but
 * exact to the last bits, and called a handful of times per report. */
static double invert(double (*cdf)(double, double), double arg, double p)
{
	double lo = -1, hi = 1;

	if (!(p > 0 && p < 1))
		return p == 0 ? -INFINITY : p == 1 ? INFINITY : NAN;
	while (cdf(lo, arg) > p)
		lo *= 2;
	while (cdf(hi, arg) < p)
		hi *= 2;
	for (int i = 0; i < 200 && hi - lo > 1e-15 * (1 + fabs(lo)); i++) {
		double mid = 0.5 * (lo + hi);
		if (cdf(mid, arg) < p)
			lo = mid;
		else
			hi = mid;
	}
	return 0.5 * (lo + hi);
}

static double norm_cdf2(double z, double unused)
{
	(void)unused;
	return rs_norm_cdf(z);
}

double rs_norm_quantile(double p)
{
	return invert(norm_cdf2, 0, p);
}

/* The continued fraction of I_x(a, b), for x < (a + 1) / (a + b + 2). */
static double betacf(double a, double b, double x)
{
	const double tiny = 1e-300, eps = 1e-15;
	double c = 1, d = 1 - (a + b) * x / (a + 1), h;

	if (fabs(d) < tiny)
		d = tiny;
	d = 1 / d;
	h = d;
	for (int m = 1; m <= 1000; m++) {
		double m2 = 2.0 * m, num, del;

		num = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
		d = 1 + num * d;
		d = fabs(d) < tiny ? tiny : d;
		c = 1 + num / c;
		c = fabs(c) < tiny ? tiny : c;
		d = 1 / d;
		h *= d * c;
		num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
		d = 1 + num * d;
		d = fabs(d) < tiny ? tiny : d;
		c = 1 + num / c;
		c = fabs(c) < tiny ? tiny : c;
		d = 1 / d;
		del = d * c;
		h *= del;
		if (fabs(del - 1) < eps)
			break;
	}
	return h;
}

double rs_betai(double a, double b, double x)
{
	double lbt;

	if (!(x >= 0 && x <= 1) || !(a > 0) || !(b > 0))
		return NAN;
	if (x == 0 || x == 1)
		return x;
	lbt = sc_lgamma(a + b) - sc_lgamma(a) - sc_lgamma(b) + a * log(x) + b * log1p(-x);
	if (x < (a + 1) / (a + b + 2))
		return exp(lbt) * betacf(a, b, x) / a;
	return 1 - exp(lbt) * betacf(b, a, 1 - x) / b;
}

double rs_t_cdf(double t, double df)
{
	double tail;

	if (isnan(t) || !(df > 0))
		return NAN;
	if (isinf(t))
		return t > 0 ? 1 : 0;
	if (df > 1e7) /* indistinguishable from the normal */
		return rs_norm_cdf(t);
	/* P(|T| > |t|) = I_{df / (df + t^2)}(df / 2, 1 / 2) */
	tail = 0.5 * rs_betai(df / 2, 0.5, df / (df + t * t));
	return t > 0 ? 1 - tail : tail;
}

double rs_t_quantile(double p, double df)
{
	return invert(rs_t_cdf, df, p);
}

void rs_ztest(double x1, double n1, double x0, double n0, struct rs_prop *r)
{
	double z975 = rs_norm_quantile(0.975), z80 = rs_norm_quantile(0.8);
	double pp, se_pool, se, q;

	r->p1 = n1 > 0 ? x1 / n1 : NAN;
	r->p0 = n0 > 0 ? x0 / n0 : NAN;
	r->diff = r->p1 - r->p0;
	r->rel = r->p0 > 0 ? r->diff / r->p0 : NAN;
	se = sqrt(r->p1 * (1 - r->p1) / n1 + r->p0 * (1 - r->p0) / n0);
	r->lo = r->diff - z975 * se;
	r->hi = r->diff + z975 * se;
	pp = (x1 + x0) / (n1 + n0);
	se_pool = sqrt(pp * (1 - pp) * (1 / n1 + 1 / n0));
	if (n1 > 0 && n0 > 0 && se_pool > 0) {
		r->z = r->diff / se_pool;
		r->p = 2 * rs_norm_cdf(-fabs(r->z));
	} else if (n1 > 0 && n0 > 0) {
		/* both rates 0 or both 1: no evidence of a difference */
		r->z = 0;
		r->p = 1;
	} else {
		r->z = r->p = NAN;
	}
	/* a control rate of 0 or 1 (a small group, mostly) says nothing of the
	 * variance: the pooled rate stands in for it, else the MDE would be 0
	 * and no control group ever too small */
	q = r->p0 > 0 && r->p0 < 1 ? r->p0 : pp;
	r->mde = (z975 + z80) * sqrt(q * (1 - q) * (1 / n1 + 1 / n0));
	if (!(n1 > 0 && n0 > 0))
		r->lo = r->hi = r->mde = NAN;
}

void rs_welch(double n1, double s1, double ss1, double n0, double s0, double ss0,
	      struct rs_welch *r)
{
	double v1, v0, a, b, se, q;

	r->m1 = n1 > 0 ? s1 / n1 : NAN;
	r->m0 = n0 > 0 ? s0 / n0 : NAN;
	r->diff = r->m1 - r->m0;
	r->lo = r->hi = r->t = r->df = r->p = NAN;
	if (!(n1 >= 2 && n0 >= 2))
		return;
	v1 = (ss1 - s1 * s1 / n1) / (n1 - 1);
	v0 = (ss0 - s0 * s0 / n0) / (n0 - 1);
	if (v1 < 0)
		v1 = 0;
	if (v0 < 0)
		v0 = 0;
	a = v1 / n1;
	b = v0 / n0;
	se = sqrt(a + b);
	if (!(se > 0)) {
		/* no spread at all: identical means are no evidence */
		r->lo = r->hi = r->diff;
		r->t = 0;
		r->p = r->diff == 0 ? 1 : 0;
		return;
	}
	r->df = (a + b) * (a + b) / (a * a / (n1 - 1) + b * b / (n0 - 1));
	r->t = r->diff / se;
	r->p = 2 * rs_t_cdf(-fabs(r->t), r->df);
	q = rs_t_quantile(0.975, r->df);
	r->lo = r->diff - q * se;
	r->hi = r->diff + q * se;
}

/* ---- the bootstrap ------------------------------------------------------- */

static uint64_t rotl64(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* splitmix64: a Weyl sequence (the golden-ratio increment) through a
 * bijective mixer; good enough to spread any seed over a state. */
static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

void rs_rng_seed(struct rs_rng *g, uint64_t seed, const char *label)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325); /* FNV-1a, 64 bits */

	for (const unsigned char *p = (const unsigned char *)(label ? label : ""); *p; p++) {
		h ^= *p;
		h *= UINT64_C(0x100000001b3);
	}
	h ^= seed;
	/* four outputs of a bijection of distinct counters: never all 0 */
	for (int i = 0; i < 4; i++)
		g->s[i] = splitmix64(&h);
}

uint64_t rs_rng_next(struct rs_rng *g)
{
	uint64_t *s = g->s;
	uint64_t out = rotl64(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl64(s[3], 45);
	return out;
}

uint32_t rs_rng_below(struct rs_rng *g, uint32_t n)
{
	uint64_t m = (rs_rng_next(g) >> 32) * (uint64_t)n;
	uint32_t low = (uint32_t)m;

	if (low < n) {
		/* 2^32 mod n of the 2^32 products fall short: redraw those */
		uint32_t reject = (uint32_t)-n % n;
		while (low < reject) {
			m = (rs_rng_next(g) >> 32) * (uint64_t)n;
			low = (uint32_t)m;
		}
	}
	return (uint32_t)(m >> 32);
}

double rs_rng_unit(struct rs_rng *g)
{
	return (double)(rs_rng_next(g) >> 11) * 0x1.0p-53;
}

void rs_boot_sums(const double *x, size_t n, size_t nb, struct rs_rng *g, double *sums)
{
	uint32_t n32 = (uint32_t)n;

	for (size_t b = 0; b < nb; b++) {
		double s = 0;
		for (size_t i = 0; i < n; i++)
			s += x[rs_rng_below(g, n32)];
		sums[b] = s;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

void rs_sort(double *x, size_t n)
{
	qsort(x, n, sizeof(*x), cmp_double);
}

double rs_quantile_sorted(const double *x, size_t n, double p)
{
	double h, f;
	size_t i;

	if (n == 0 || !(p >= 0 && p <= 1))
		return NAN;
	h = (double)(n - 1) * p;
	f = floor(h);
	i = (size_t)f;
	if (i + 1 >= n)
		return x[n - 1];
	return x[i] + (h - f) * (x[i + 1] - x[i]);
}

void rs_boot_diff(const double *s1, double n1, const double *s0, double n0, size_t nb,
		  struct rs_boot *r)
{
	double *d;
	size_t le = 0, ge = 0, k;

	r->lo = r->hi = r->p = NAN;
	if (!(n1 >= 2 && n0 >= 2) || nb == 0)
		return;
	d = xcalloc(nb, sizeof(*d));
	for (size_t b = 0; b < nb; b++) {
		d[b] = s1[b] / n1 - s0[b] / n0;
		le += d[b] <= 0;
		ge += d[b] >= 0;
	}
	rs_sort(d, nb);
	r->lo = rs_quantile_sorted(d, nb, 0.025);
	r->hi = rs_quantile_sorted(d, nb, 0.975);
	k = le < ge ? le : ge;
	r->p = 2.0 * ((double)k + 1) / ((double)nb + 1);
	if (r->p > 1)
		r->p = 1;
	free(d);
}
