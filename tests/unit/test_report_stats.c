/*
 * The statistics of crm-report (lib/report_stats.c) against closed forms
 * and values worked out by hand; tests/cli/t0720 checks a whole campaign
 * against Python.
 */
#include <math.h>
#include <stdio.h>

#include "report.h"
#include "tap.h"

static int near(double got, double want, double tol)
{
	return fabs(got - want) <= tol;
}

#define is_near(got, want, tol, what) \
	ok(near((got), (want), (tol)), "%s: got %.12g, want %.12g", (what), (double)(got), \
	   (double)(want))

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
	return tap_done();
}
