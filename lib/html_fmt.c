/*
 * html_fmt.c - the HTML page's number formatting (see html_fmt.h). The
 * page is in English: '.' for decimals and ',' between thousands,
 * whatever the locale the report runs in.
 */
#include "html_fmt.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "norm.h"

/* Inserts separators into the digits of s (an optional '-', digits, an
 * optional '.' and decimals), into buf. */
static char *group(char *buf, size_t n, const char *s)
{
	size_t len = strlen(s), i = 0, o = 0, intlen;
	const char *dot = strchr(s, '.');

	if (*s == '-') {
		if (o + 1 < n)
			buf[o++] = '-';
		i = 1;
	}
	intlen = (dot ? (size_t)(dot - s) : len) - i;
	for (size_t k = 0; i < len; i++, k++) {
		if (k < intlen && k && (intlen - k) % 3 == 0 && o + 1 < n)
			buf[o++] = ',';
		if (o + 1 < n)
			buf[o++] = s[i];
	}
	if (n)
		buf[o] = 0;
	return buf;
}

char *hf_int(char *buf, size_t n, int64_t v)
{
	char s[32];

	snprintf(s, sizeof(s), "%lld", (long long)v);
	return group(buf, n, s);
}

char *hf_num(char *buf, size_t n, double v, int digits)
{
	char s[64];

	if (!isfinite(v)) {
		snprintf(buf, n, "–");
		return buf;
	}
	snprintf(s, sizeof(s), "%.*f", digits, v);
	if (*s == '-' && strspn(s + 1, "0.") == strlen(s + 1))
		memmove(s, s + 1, strlen(s)); /* -0.00: no sign on a zero */
	return group(buf, n, s);
}

int hf_exponent(const char *code)
{
	char c[4];
	int e = 2;
	const char *why;

	if (code && norm_currency(code, strlen(code), c, &e, &why) != 0)
		e = 2;
	return e;
}

static const char *symbol(const char *code)
{
	static const char *const sym[][2] = {
		{ "EUR", "€" }, { "USD", "$" }, { "GBP", "£" }, { "RUB", "₽" },
		{ "JPY", "¥" }, { "TRY", "₺" },
	};

	for (size_t i = 0; code && i < sizeof(sym) / sizeof(sym[0]); i++)
		if (!strcmp(code, sym[i][0]))
			return sym[i][1];
	return NULL;
}

/* sign, symbol, number: "-€12.50"; or "-12.50 CHF" */
static char *money(char *buf, size_t n, double v, const char *code, const char *num)
{
	const char *s = symbol(code);

	if (!code || !*code)
		snprintf(buf, n, "%s", num);
	else if (s && *num == '-')
		snprintf(buf, n, "-%s%s", s, num + 1);
	else if (s)
		snprintf(buf, n, "%s%s", s, num);
	else
		snprintf(buf, n, "%s %s", num, code);
	(void)v;
	return buf;
}

char *hf_money(char *buf, size_t n, double v, const char *code)
{
	char num[64];

	if (!isfinite(v)) {
		snprintf(buf, n, "–");
		return buf;
	}
	hf_num(num, sizeof(num), v, hf_exponent(code));
	return money(buf, n, v, code, num);
}

char *hf_short(char *buf, size_t n, double v)
{
	double a = fabs(v);

	if (a >= 1e6)
		snprintf(buf, n, "%.*fM", fmod(a, 1e6) ? 1 : 0, v / 1e6);
	else if (a >= 1e4)
		snprintf(buf, n, "%.*fk", fmod(a, 1e3) ? 1 : 0, v / 1e3);
	else if (a == floor(a))
		hf_num(buf, n, v, 0);
	else
		snprintf(buf, n, "%.*f", a < 0.1 ? 3 : a < 1 ? 2 : 1, v);
	/* 2.0k and 1.50: no trailing zeros after the point */
	return buf;
}

char *hf_money_short(char *buf, size_t n, double v, const char *code)
{
	char num[64];

	hf_short(num, sizeof(num), v);
	return money(buf, n, v, code, num);
}

char *hf_pct(char *buf, size_t n, double rate)
{
	double p = rate * 100, a = fabs(p);
	int d;

	if (!isfinite(p)) {
		snprintf(buf, n, "–");
		return buf;
	}
	/* three significant figures, so that a rate just under a limit
	 * (0.0999%) does not print as the limit; 1 decimal at least */
	d = a >= 10 || a == 0 ? 1 : a >= 1 ? 2 : a >= 0.1 ? 3 : 4;
	snprintf(buf, n, "%.*f%%", d, p);
	return buf;
}

char *hf_month(char *buf, size_t n, int64_t month)
{
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
					   "Aug", "Sep", "Oct", "Nov", "Dec" };

	snprintf(buf, n, "%s %lld", mon[((month % 12) + 12) % 12], (long long)(month / 12));
	return buf;
}

/* Words for the columns whose name does not say it by itself. */
static const char *const words[][2] = {
	{ "aov", "Average order value" },
	{ "frequency", "Orders per buyer" },
	{ "active_30d", "Active (30 days)" },
	{ "active_90d", "Active (90 days)" },
	{ "active_365d", "Active (365 days)" },
	{ "churned_share", "Churned" },
	{ "retention_rate", "Kept from last year" },
	{ "avg_clv", "Average CLV" },
	{ "clv", "CLV" },
	{ "recipients", "Recipients" },
	{ "control", "Control group" },
	{ "converted", "Converted" },
	{ "control_converted", "Control converted" },
	{ "conversion_rate", "Conversion" },
	{ "control_rate", "Control conversion" },
	{ "uplift_low", "Uplift, 95% low" },
	{ "uplift_high", "Uplift, 95% high" },
	{ "p_value", "p-value" },
	{ "mde", "Minimum detectable effect" },
	{ "rpr_uplift", "Revenue per recipient, uplift" },
	{ "rpr_p_value", "Revenue per recipient, p-value" },
	{ "relative_uplift", "Relative uplift" },
	{ "open_rate", "Open rate" },
	{ "click_to_open_rate", "Click-to-open rate" },
	{ "rpr_low", "Revenue per recipient, 95% low" },
	{ "rpr_high", "Revenue per recipient, 95% high" },
	{ "rpr_boot_low", "Bootstrap 95% low" },
	{ "rpr_boot_high", "Bootstrap 95% high" },
	{ "rpr_boot_p_value", "Bootstrap p-value" },
	{ "created_at", "Created" },
	{ "in_doubt", "In doubt" },
	{ "mae", "Mean absolute error" },
	{ "avg_spend_12m", "Average spend (12 months)" },
	{ "upgraded_365d", "Moved up (365 days)" },
	{ "downgraded_365d", "Moved down (365 days)" },
	{ "machine_clicks", "Machine clicks" },
	{ "url", "URL" },
};

char *hf_label(char *buf, size_t n, const char *col)
{
	size_t o = 0;

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcmp(col, words[i][0])) {
			snprintf(buf, n, "%s", words[i][1]);
			return buf;
		}
	for (const char *p = col; *p && o + 1 < n; p++)
		buf[o++] = *p == '_' ? ' ' : p == col && *p >= 'a' && *p <= 'z' ? *p - 32 : *p;
	if (n)
		buf[o] = 0;
	return buf;
}

static int ends(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);

	return a >= b && !strcmp(s + a - b, suf);
}

int hf_kind(const char *col)
{
	static const char *const pct[] = { "breakage", "mde", "uplift", "uplift_low",
					   "uplift_high", "relative_uplift" };
	static const char *const money[] = { "revenue", "aov", "clv", "monetary", "liability",
					     "spend", "budget", "profit" };

	if (ends(col, "_rate") || ends(col, "share"))
		return HF_PCT;
	for (size_t i = 0; i < sizeof(pct) / sizeof(pct[0]); i++)
		if (!strcmp(col, pct[i]))
			return HF_PCT;
	if (strstr(col, "p_value"))
		return HF_PLAIN;
	if (!strncmp(col, "rpr", 3) || !strcmp(col, "revenue_per_recipient"))
		return HF_MONEY;
	for (size_t i = 0; i < sizeof(money) / sizeof(money[0]); i++)
		if (strstr(col, money[i]))
			return HF_MONEY;
	return HF_PLAIN;
}
