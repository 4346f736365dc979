/*
 * html_fmt.h - numbers as the HTML page shows them to a person: thousands
 * separators, money in its currency's minor units with its symbol, rates
 * as percentages, column names as words. Each writes into buf (NUL-
 * terminated, cut at n) and returns buf, so that a chart can measure a
 * label before it places it.
 */
#ifndef CRM_HTML_FMT_H
#define CRM_HTML_FMT_H

#include <stddef.h>
#include <stdint.h>

/* 1234567 -> "1,234,567" */
char *hf_int(char *buf, size_t n, int64_t v);
/* v with digits decimals and separators: 1234.5, 1 -> "1,234.5" */
char *hf_num(char *buf, size_t n, double v, int digits);
/* an amount in major units of code: "€1,234.56", "1,234 JPY" when the
 * code has no symbol here; NULL code: the number alone */
char *hf_money(char *buf, size_t n, double v, const char *code);
/* short money for an axis: "€1.2k", "€3M", "€250" */
char *hf_money_short(char *buf, size_t n, double v, const char *code);
/* short count for an axis: "1.2k", "25" */
char *hf_short(char *buf, size_t n, double v);
/* a rate (0.6667) as a percentage with three significant figures:
 * "66.7%", "2.81%", "0.0999%"; zero is "0.0%" */
char *hf_pct(char *buf, size_t n, double rate);
/* a column name as words: "repeat_rate" -> "Repeat rate", "aov" ->
 * "Average order value", "active_30d" -> "Active (30 days)" */
char *hf_label(char *buf, size_t n, const char *col);
/* How a column's values read: HF_PCT for rates and shares, HF_MONEY for
 * revenue, CLV and the like, HF_PLAIN for the rest. */
enum { HF_PLAIN, HF_PCT, HF_MONEY };
int hf_kind(const char *col);
/* "2026-11" -> "Nov 2026"; months since year 0 (y * 12 + m - 1) */
char *hf_month(char *buf, size_t n, int64_t month);
/* the minor-unit digits of a currency code (2 when unknown) */
int hf_exponent(const char *code);

#endif
