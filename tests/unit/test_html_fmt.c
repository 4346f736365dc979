/*
 * Unit tests for lib/html_fmt.c and lib/svg.c: the HTML page's numbers
 * (separators, money in minor units with its symbol, percentages to three
 * significant figures, words for column names) and its axes (nice ticks
 * that cover the data, clipping with the side cut).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "html_fmt.h"
#include "svg.h"
#include "tap.h"

static void numbers(void)
{
	char b[64];

	is_str(hf_int(b, sizeof b, 0), "0", "0");
	is_str(hf_int(b, sizeof b, 999), "999", "999");
	is_str(hf_int(b, sizeof b, 1000), "1,000", "1000");
	is_str(hf_int(b, sizeof b, 1752457), "1,752,457", "the axis label of issue 19");
	is_str(hf_int(b, sizeof b, -1234567), "-1,234,567", "negative");
	is_str(hf_num(b, sizeof b, 1234.5, 2), "1,234.50", "decimals kept apart from separators");
	is_str(hf_num(b, sizeof b, -0.001, 2), "0.00", "no sign on a zero");
	is_str(hf_money(b, sizeof b, 87360.4, "EUR"), "€87,360.40", "euros, cents");
	is_str(hf_money(b, sizeof b, -684.31, "EUR"), "-€684.31", "the sign before the symbol");
	is_str(hf_money(b, sizeof b, 1234, "JPY"), "¥1,234", "yen: no minor unit");
	is_str(hf_money(b, sizeof b, 1.5, "KWD"), "1.500 KWD", "three minor digits, no symbol: the code");
	is_str(hf_money(b, sizeof b, 12, "CHF"), "12.00 CHF", "the code after");
	is_str(hf_money_short(b, sizeof b, 25000, "USD"), "$25k", "short money");
	is_str(hf_money_short(b, sizeof b, 8000, "EUR"), "€8,000", "under 10k in full");
	is_str(hf_short(b, sizeof b, 1500000), "1.5M", "millions");
	is_str(hf_short(b, sizeof b, 2.5), "2.5", "a fraction");
}

static void rates(void)
{
	char b[64];

	is_str(hf_pct(b, sizeof b, 2.0 / 3), "66.7%", "0.6667 as a percentage");
	is_str(hf_pct(b, sizeof b, 0.028125), "2.81%", "three figures");
	is_str(hf_pct(b, sizeof b, 0.000999), "0.0999%", "just under 0.1%% is not 0.1%%");
	is_str(hf_pct(b, sizeof b, 0.003), "0.300%", "a limit");
	is_str(hf_pct(b, sizeof b, 0), "0.0%", "zero");
	is_str(hf_pct(b, sizeof b, 1), "100.0%", "all");
	is_str(hf_pct(b, sizeof b, NAN), "–", "no rate: a dash");
	is_str(hf_label(b, sizeof b, "repeat_rate"), "Repeat rate", "snake_case to words");
	is_str(hf_label(b, sizeof b, "aov"), "Average order value", "an abbreviation spelt out");
	is_int(hf_kind("complaint_rate"), HF_PCT, "a rate");
	is_int(hf_kind("revenue_share"), HF_PCT, "a share of revenue is a rate");
	is_int(hf_kind("incremental_revenue"), HF_MONEY, "revenue is money");
	is_int(hf_kind("rpr_p_value"), HF_PLAIN, "a p-value is neither");
	is_int(hf_kind("recipients"), HF_PLAIN, "a count");
	is_str(hf_month(b, sizeof b, 2026 * 12 + 10), "Nov 2026", "a month");
}

static void axes(void)
{
	struct svg_axis a;
	double lo, hi;

	svg_nice(&a, 0, 7855.04, 5, 1);
	ok(a.lo == 0 && a.step == 2000 && a.hi == 8000, "0 to 7855: steps of 2000 to 8000 (%g %g %g)",
	   a.lo, a.step, a.hi);
	svg_nice(&a, 0, 0.0594 * 1.5, 4, 1);
	ok(a.lo == 0 && fabs(a.step - 0.025) < 1e-12 && fabs(a.hi - 0.1) < 1e-12,
	   "rates to 8.9%%: steps of 2.5%% to 10%% (%g %g %g)", a.lo, a.step, a.hi);
	svg_nice(&a, -28, 28, 2, 1);
	ok(a.lo <= -28 && a.hi >= 28 && a.step > 0, "symmetric: covers both sides");
	svg_nice(&a, 0, 0, 4, 1);
	ok(a.hi > a.lo, "no data: still an axis");
	is_int((int)lround(svg_map(&a, a.hi * 2, 100, 0)), 0, "a value past the axis maps to its end");
	lo = -0.02;
	hi = 0.16;
	is_int(svg_clip(&lo, &hi, 0, 0.15), 3, "cut at both ends");
	ok(lo == 0 && hi == 0.15, "to the axis");
	lo = 0.01;
	hi = 0.05;
	is_int(svg_clip(&lo, &hi, 0, 0.15), 0, "inside: not cut");
}

int main(void)
{
	numbers();
	rates();
	axes();
	return tap_done();
}
