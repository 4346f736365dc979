/* rates.h - the exchange rates of crm-import rates, in memory, for the
 * programs that convert amounts into one currency (crm-score, crm-loyalty). */
#ifndef CRM_RATES_H
#define CRM_RATES_H

#include <stdint.h>
#include <stddef.h>
#include <sqlite3.h>

struct rates {
	struct rate1 {
		char cur[4];
		int32_t day;
		double rate;          /* units of the base currency for one unit */
	} *r;
	size_t n, cap;
	char base[4];             /* meta base_currency */
	struct { char cur[4]; int exponent; } exps[32];
	size_t nexps;
};

/* The day number (days since 1970-01-01) of a text starting YYYY-MM-DD;
 * -1 when it does not. */
int rates_parse_day(const char *t, int len, int32_t *day);

/* Loads exchange_rates: 1 when the base has rates, 0 when it has none (R
 * is then empty). */
int rates_load(sqlite3 *db, struct rates *R);
void rates_free(struct rates *R);

/* The rate of cur on day: its latest row from that day or before, 1 for the
 * base currency; NaN when there is none. */
double rates_at(const struct rates *R, const char *cur, int32_t day);

/* The minor-unit exponent of a currency code (cached); 2 when unknown. */
int rates_exponent(struct rates *R, const char *cur);

/* What an amount in minor units of from is multiplied by to be in minor
 * units of to (exponent to_exp) on day, through the base currency; NaN when
 * a rate is missing. */
double rates_factor(struct rates *R, const char *from, int32_t day, const char *to, int to_exp);

/* amount (minor units of from) in minor units of to (exponent to_exp) on
 * day, through the base currency; -1 when a rate is missing. */
int rates_convert(struct rates *R, int64_t amount, const char *from, int32_t day,
		  const char *to, int to_exp, int64_t *out);

#endif
