/*
 * The statistics of crm-report (lib/report_stats.c) against closed forms
 * and values worked out by hand; tests/cli/t0720 checks a whole campaign
 * against Python, and tests/cli/t0725 its bootstrap against a Python
 * implementation of the same generator and percentile rule.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "tap.h"

static int near(double got, double want, double tol)
{
	return fabs(got - want) <= tol;
}

#define is_near(got, want, tol, what) \
	ok(near((got), (want), (tol)), "%s: got %.12g, want %.12g", (what), (double)(got), \
	   (double)(want))

/* A skewed sample like revenue per recipient: a share rate of converters
 * with log-normal amounts (median e^3, about 20), the others 0. */
static void revenue_sample(struct rs_rng *g, double *x, size_t n, double rate)
{
	for (size_t i = 0; i < n; i++) {
		double u1, u2;
		if (rs_rng_unit(g) >= rate) {
			x[i] = 0;
			continue;
		}
		u1 = 1 - rs_rng_unit(g); /* (0, 1] */
		u2 = rs_rng_unit(g);
		x[i] = round(100 * exp(3 + 1.2 * sqrt(-2 * log(u1)) * cos(2 * M_PI * u2))) / 100;
	}
}

static void sum_squares(const double *x, size_t n, double *s, double *ss)
{
	*s = *ss = 0;
	for (size_t i = 0; i < n; i++) {
		*s += x[i];
		*ss += x[i] * x[i];
	}
}

/* The bootstrap interval of mean(x1) - mean(x0), seed seed. */
static void boot(const double *x1, size_t n1, const double *x0, size_t n0, size_t nb,
		 uint64_t seed, struct rs_boot *b)
{
	struct rs_rng g;
	double *s1 = calloc(nb, sizeof(double)), *s0 = calloc(nb, sizeof(double));

	rs_rng_seed(&g, seed, "treatment");
	rs_boot_sums(x1, n1, nb, &g, s1);
	rs_rng_seed(&g, seed, "control");
	rs_boot_sums(x0, n0, nb, &g, s0);
	rs_boot_diff(s1, (double)n1, s0, (double)n0, nb, b);
	free(s1);
	free(s0);
}

static void test_bootstrap(void)
{
	struct rs_rng g, h;
	struct rs_boot b, b2;
	struct rs_welch w;
	static const uint64_t xo[5] = { 11520, 0, 1509978240, UINT64_C(1215971899390074240),
					UINT64_C(1216172134540287360) };
	static const uint32_t below[8] = { 2824164049u, 1480134346u, 1850150468u, 507211153u,
					   2281160501u, 1882639350u, 713751782u, 2103443280u };
	int good, counts[3] = { 0 };

	/* xoshiro256** from the state {1, 2, 3, 4}: 11520 = rotl(2 * 5, 7) * 9 by
	 * hand; the rest as the reference implementation (and rand_xoshiro's
	 * test) give them */
	memcpy(g.s, (uint64_t[4]){ 1, 2, 3, 4 }, sizeof(g.s));
	good = 1;
	for (int i = 0; i < 5; i++)
		good &= rs_rng_next(&g) == xo[i];
	ok(good, "xoshiro256** from {1, 2, 3, 4}: 11520, 0, 1509978240, ...");

	/* splitmix64 from 1234567 (the published vector): the label "" hashes to
	 * FNV-1a's offset basis, which the seed cancels */
	rs_rng_seed(&g, UINT64_C(1234567) ^ UINT64_C(0xcbf29ce484222325), "");
	ok(g.s[0] == UINT64_C(6457827717110365317) && g.s[1] == UINT64_C(3203168211198807973) &&
	   g.s[2] == UINT64_C(9817491932198370423) && g.s[3] == UINT64_C(4593380528125082431),
	   "the state is splitmix64's first four outputs");
	rs_rng_seed(&g, 1, "control");
	rs_rng_seed(&h, 1, "control");
	ok(!memcmp(g.s, h.s, sizeof(g.s)), "same seed and label: same stream");
	rs_rng_seed(&h, 1, "treatment");
	ok(memcmp(g.s, h.s, sizeof(g.s)), "another label: another stream");
	rs_rng_seed(&h, 2, "control");
	ok(memcmp(g.s, h.s, sizeof(g.s)), "another seed: another stream");

	/* draws below n: from {1, 2, 3, 4}, whose first outputs are tiny and
	 * rejected, with n = 3 * 2^30 (a quarter of the products rejected);
	 * the values of a Python transcription of Lemire's method */
	memcpy(g.s, (uint64_t[4]){ 1, 2, 3, 4 }, sizeof(g.s));
	good = 1;
	for (int i = 0; i < 8; i++)
		good &= rs_rng_below(&g, UINT32_C(3) << 30) == below[i];
	ok(good, "rs_rng_below(3 * 2^30): with rejections, as the reference");
	rs_rng_seed(&g, 7, "x");
	good = 1;
	for (int i = 0; i < 30000; i++) {
		uint32_t k = rs_rng_below(&g, 3);
		good &= k < 3 && rs_rng_below(&g, 1) == 0 && rs_rng_below(&g, 4294967295u) < 4294967295u;
		counts[k < 3 ? k : 0]++;
	}
	ok(good, "rs_rng_below(n) < n, and 0 for n = 1");
	/* each 10000 expected, sd 82: 5 sd */
	ok(abs(counts[0] - 10000) < 410 && abs(counts[1] - 10000) < 410 &&
	   abs(counts[2] - 10000) < 410, "rs_rng_below(3) uniform: %d %d %d", counts[0], counts[1],
	   counts[2]);
	good = 1;
	for (int i = 0; i < 1000; i++) {
		double u = rs_rng_unit(&g);
		good &= u >= 0 && u < 1;
	}
	ok(good, "rs_rng_unit in [0, 1)");

	/* percentiles, numpy's linear rule */
	{
		const double x[4] = { 1, 2, 3, 4 }, one[1] = { 7 };
		is_near(rs_quantile_sorted(x, 4, 0.5), 2.5, 1e-15, "median of 1..4");
		is_near(rs_quantile_sorted(x, 4, 0.025), 1.075, 1e-15, "2.5th percentile of 1..4");
		is_near(rs_quantile_sorted(x, 4, 0.975), 3.925, 1e-15, "97.5th percentile of 1..4");
		is_near(rs_quantile_sorted(x, 4, 1), 4, 0, "100th percentile");
		is_near(rs_quantile_sorted(x, 4, 0), 1, 0, "0th percentile");
		is_near(rs_quantile_sorted(one, 1, 0.025), 7, 0, "a single value");
	}

	/* differences by hand: treatment resample sums 50, 10, 30, 20, 40 of 10
	 * recipients (means 5, 1, 3, 2, 4), control 0 of 2: differences 1..5;
	 * h = 4 * 0.025 = 0.1 -> 1.1, h = 3.9 -> 4.9; none <= 0: p = 2 / 6 */
	{
		const double s1[5] = { 50, 10, 30, 20, 40 }, s0[5] = { 0 }, z[5] = { 0 };
		rs_boot_diff(s1, 10, s0, 2, 5, &b);
		is_near(b.lo, 1.1, 1e-12, "bootstrap low, by hand");
		is_near(b.hi, 4.9, 1e-12, "bootstrap high, by hand");
		is_near(b.p, 2.0 / 6, 1e-15, "bootstrap p-value, by hand");
		rs_boot_diff(s0, 10, s1, 20, 5, &b);
		is_near(b.hi, -0.55, 1e-12, "negative differences: high");
		is_near(b.p, 2.0 / 6, 1e-15, "negative differences: p");
		rs_boot_diff(z, 10, z, 20, 5, &b);
		ok(b.lo == 0 && b.hi == 0 && b.p == 1, "no revenue anywhere: [0, 0], p 1");
		rs_boot_diff(s1, 1, s0, 20, 5, &b);
		ok(isnan(b.lo) && isnan(b.hi) && isnan(b.p), "one recipient: undefined");
		rs_boot_diff(s1, 10, s0, 20, 0, &b);
		ok(isnan(b.lo), "no resamples: undefined");
	}

	/* resample sums: of a constant, n times it; of one value, that value */
	{
		const double c[3] = { 2.5, 2.5, 2.5 }, one[1] = { 4 };
		double s[4];
		rs_rng_seed(&g, 1, "c");
		rs_boot_sums(c, 3, 4, &g, s);
		ok(s[0] == 7.5 && s[1] == 7.5 && s[2] == 7.5 && s[3] == 7.5, "sums of a constant");
		rs_boot_sums(one, 1, 4, &g, s);
		ok(s[0] == 4 && s[3] == 4, "sums of one value");
	}

	/* a large skewed sample: determinism, and the interval close to Welch's
	 * (the means are nearly normal at these sizes, so both are right) */
	{
		size_t n1 = 20000, n0 = 5000;
		double *x1 = malloc(n1 * sizeof(double)), *x0 = malloc(n0 * sizeof(double));
		double a, aa, c, cc, half;

		rs_rng_seed(&g, 2026, "fixture");
		revenue_sample(&g, x1, n1, 0.12);
		revenue_sample(&g, x0, n0, 0.10);
		sum_squares(x1, n1, &a, &aa);
		sum_squares(x0, n0, &c, &cc);
		rs_welch((double)n1, a, aa, (double)n0, c, cc, &w);
		boot(x1, n1, x0, n0, 2000, 1, &b);
		boot(x1, n1, x0, n0, 2000, 1, &b2);
		ok(!memcmp(&b, &b2, sizeof(b)), "same seed: the same interval, bit for bit");
		boot(x1, n1, x0, n0, 2000, 2, &b2);
		ok(b.lo != b2.lo && b.hi != b2.hi, "another seed: another interval (%.6f %.6f, %.6f %.6f)",
		   b.lo, b.hi, b2.lo, b2.hi);
		half = (w.hi - w.lo) / 2;
		ok(fabs(b.lo - w.lo) < 0.1 * half && fabs(b.hi - w.hi) < 0.1 * half,
		   "bootstrap [%.4f, %.4f] near Welch [%.4f, %.4f] (within 10%% of %.4f)", b.lo, b.hi,
		   w.lo, w.hi, half);
		ok(fabs(b2.lo - w.lo) < 0.1 * half && fabs(b2.hi - w.hi) < 0.1 * half,
		   "with seed 2 as well: [%.4f, %.4f]", b2.lo, b2.hi);
		ok(b.lo < w.diff && w.diff < b.hi, "the interval holds the observed difference");
		ok(fabs(b.p - w.p) < 0.03 || (b.p < 0.01 && w.p < 0.01),
		   "bootstrap p %.4f near Welch's %.4f", b.p, w.p);
		free(x1);
		free(x0);
	}

	/* coverage: 200 campaigns of 300 + 300 recipients from one population
	 * of known mean difference 0; the 95% interval should hold 0 about 95%
	 * of the time (binomial sd 1.5%; a skewed small sample undercovers a
	 * little) */
	{
		size_t n = 300, hold = 0;
		double x1[300], x0[300];
		rs_rng_seed(&g, 99, "coverage");
		for (int k = 0; k < 200; k++) {
			revenue_sample(&g, x1, n, 0.1);
			revenue_sample(&g, x0, n, 0.1);
			boot(x1, n, x0, n, 400, (uint64_t)k, &b);
			hold += b.lo <= 0 && 0 <= b.hi;
		}
		ok(hold >= 176 && hold <= 198, "coverage of the 95%% interval: %zu of 200", hold);
	}
}

int main(void)
{
	struct rs_prop p;
	struct rs_welch w;

	/* the normal distribution */
	is_near(rs_norm_cdf(0), 0.5, 1e-15, "Phi(0)");
	is_near(rs_norm_cdf(1.959963984540054), 0.975, 1e-12, "Phi(1.96)");
	is_near(rs_norm_quantile(0.975), 1.959963984540054, 1e-9, "z(0.975)");
	is_near(rs_norm_quantile(0.8), 0.8416212335729143, 1e-9, "z(0.8)");
	is_near(rs_norm_quantile(0.025), -1.959963984540054, 1e-9, "z(0.025)");

	/* I_x(1, b) = 1 - (1 - x)^b and I_x(a, 1) = x^a */
	is_near(rs_betai(1, 3.5, 0.3), 1 - pow(0.7, 3.5), 1e-12, "I_0.3(1, 3.5)");
	is_near(rs_betai(2.5, 1, 0.6), pow(0.6, 2.5), 1e-12, "I_0.6(2.5, 1)");
	is_near(rs_betai(4, 7, 0.9), 1 - rs_betai(7, 4, 0.1), 1e-12, "I_x(a, b) = 1 - I_1-x(b, a)");
	ok(isnan(rs_betai(1, 1, 1.5)), "I_x outside [0, 1] is NaN");

	/* Student t: df 1 is Cauchy, df 2 has a closed form */
	is_near(rs_t_cdf(1, 1), 0.75, 1e-12, "t1 cdf(1)");
	is_near(rs_t_cdf(-3, 1), 0.5 + atan(-3) / M_PI, 1e-12, "t1 cdf(-3)");
	is_near(rs_t_cdf(1.5, 2), 0.5 + 1.5 / (2 * sqrt(2 + 1.5 * 1.5)), 1e-12, "t2 cdf(1.5)");
	is_near(rs_t_quantile(0.975, 2), 4.302652729911275, 1e-8, "t2 quantile(0.975)");
	is_near(rs_t_quantile(0.975, 1), tan(M_PI * 0.475), 1e-7, "t1 quantile(0.975)");
	is_near(rs_t_cdf(2, 1e9), rs_norm_cdf(2), 1e-12, "t with huge df is normal");

	/* two proportions, by hand: 33/200 against 8/100 */
	rs_ztest(33, 200, 8, 100, &p);
	is_near(p.diff, 0.085, 1e-15, "difference");
	is_near(p.rel, 1.0625, 1e-12, "relative uplift");
	/* SE unpooled = sqrt(.165 * .835 / 200 + .08 * .92 / 100) = 0.037789 */
	is_near(p.hi - p.lo, 2 * 1.959963984540054 * sqrt(0.165 * 0.835 / 200 + 0.08 * 0.92 / 100),
		1e-9, "interval width");
	/* pooled 41/300: z = 0.085 / sqrt(41/300 * 259/300 * 0.015) */
	is_near(p.z, 0.085 / sqrt(41.0 / 300 * 259.0 / 300 * 0.015), 1e-12, "z");
	is_near(p.p, 2 * rs_norm_cdf(-p.z), 1e-15, "p-value");
	is_near(p.p, 0.043334497838, 1e-9, "p-value, in digits");
	is_near(p.mde, (1.959963984540054 + 0.8416212335729143) * sqrt(0.08 * 0.92 * 0.015), 1e-9,
		"MDE");

	/* a control rate of 0: the MDE from the pooled rate 1/6 (5 and 1
	 * recipients, 1 conversion), not 0 */
	rs_ztest(1, 5, 0, 1, &p);
	is_near(p.mde, (1.959963984540054 + 0.8416212335729143) *
		sqrt(1.0 / 6 * 5.0 / 6 * (1.0 / 5 + 1.0)), 1e-9, "MDE, control rate 0: pooled");
	ok(p.mde > fabs(p.diff), "MDE, control rate 0: above the difference (0.2)");
	rs_ztest(3, 10, 4, 4, &p);
	is_near(p.mde, (1.959963984540054 + 0.8416212335729143) *
		sqrt(0.5 * 0.5 * (1.0 / 10 + 1.0 / 4)), 1e-9, "MDE, control rate 1: pooled");

	/* nothing converts: no difference, p-value 1, relative uplift undefined */
	rs_ztest(0, 50, 0, 50, &p);
	ok(p.diff == 0 && p.p == 1 && isnan(p.rel), "zero conversions: diff 0, p 1, no relative");
	/* no control group: all undefined */
	rs_ztest(5, 50, 0, 0, &p);
	ok(isnan(p.diff) && isnan(p.p) && isnan(p.lo) && isnan(p.mde), "no control: all NaN");

	/* Welch, by hand: samples {1, 2, 3, 4} and {2, 4, 6}: means 2.5, 4,
	 * variances 5/3 and 4, SE^2 = 5/12 + 4/3 = 1.75, t = -1.5 / sqrt(1.75),
	 * df = 1.75^2 / ((5/12)^2 / 3 + (4/3)^2 / 2) */
	rs_welch(4, 10, 30, 3, 12, 56, &w);
	is_near(w.diff, -1.5, 1e-12, "Welch difference");
	is_near(w.t, -1.5 / sqrt(1.75), 1e-12, "Welch t");
	is_near(w.df, 1.75 * 1.75 / ((5.0 / 12) * (5.0 / 12) / 3 + (4.0 / 3) * (4.0 / 3) / 2), 1e-9,
		"Welch-Satterthwaite df");
	is_near(w.p, 2 * rs_t_cdf(-fabs(w.t), w.df), 1e-15, "Welch p-value");
	is_near(w.hi - w.diff, rs_t_quantile(0.975, w.df) * sqrt(1.75), 1e-9, "Welch interval");
	rs_welch(1, 5, 25, 3, 12, 56, &w);
	ok(isnan(w.p) && isnan(w.lo), "Welch with one observation: undefined");
	rs_welch(10, 0, 0, 10, 0, 0, &w);
	ok(w.diff == 0 && w.p == 1, "Welch with no spread and equal means: p 1");

	test_bootstrap();
	return tap_done();
}
