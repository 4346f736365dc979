/*
 * imp_rates.c - crm-import rates: exchange rates into exchange_rates
 * (share/schema/011-rates.sql), one row per currency and day it is valid
 * from, as units of the base currency for one unit of the currency.
 *
 * The base currency is the one the rates are in: --currency on the first
 * import, stored in meta "base_currency" with the first row written; a
 * later import in another is refused before anything is read, since its
 * rates would mean something else.
 */
#include "imp_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int imp_rates_prepare(struct imp *im)
{
	char *stored = db_meta_get(im->db, "base_currency");
	const char *why;
	int exponent;

	if (im->o->currency &&
	    norm_currency(im->o->currency, strlen(im->o->currency), im->base, &exponent, &why) < 0) {
		crm_error("invalid --currency \"%s\": %s", im->o->currency, why);
		free(stored);
		return -1;
	}
	if (stored && im->o->currency && strcmp(stored, im->base)) {
		crm_error("the rates stored are in %s, not %s: one base currency per base "
			  "(nothing imported)", stored, im->base);
		free(stored);
		return -1;
	}
	if (!stored && !im->o->currency) {
		crm_error("rates: give --currency CODE, the currency the rates are in (the base "
			  "currency; nothing imported)");
		return -1;
	}
	if (stored)
		snprintf(im->base, sizeof(im->base), "%s", stored);
	free(stored);
	im->rate_find = db_prepare(im->db, "SELECT rate FROM exchange_rates"
				   " WHERE currency = ?1 AND valid_from = ?2");
	im->rate_set = db_prepare(im->db, "INSERT INTO exchange_rates(currency, valid_from, rate)"
				  " VALUES (?1, ?2, ?3) ON CONFLICT (currency, valid_from)"
				  " DO UPDATE SET rate = excluded.rate");
	return 0;
}

void imp_rates_close(struct imp *im)
{
	sqlite3_finalize(im->rate_find);
	sqlite3_finalize(im->rate_set);
	im->rate_find = im->rate_set = NULL;
}

/* A rate: a positive decimal number, "." or "," before the decimals (the
 * one --decimal names, else either), no group separators, no exponent. */
static int parse_rate(const char *s, size_t n, int decimal, double *rate, const char **why)
{
	char buf[40];
	size_t k = 0, digits = 0;
	int sep = 0;

	if (n >= sizeof(buf)) {
		*why = "too long";
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (ascii_isdigit(c)) {
			buf[k++] = (char)c;
			digits++;
		} else if ((c == '.' || c == ',') && !sep && (!decimal || c == decimal)) {
			buf[k++] = '.';
			sep = 1;
		} else {
			*why = c == '-' && !i ? "not above 0" : "not a number";
			return -1;
		}
	}
	buf[k] = 0;
	if (!digits) {
		*why = "not a number";
		return -1;
	}
	*rate = strtod(buf, NULL);
	if (!(*rate > 0) || !isfinite(*rate)) {
		*why = "not above 0";
		return -1;
	}
	return 0;
}

int imp_row_rate(struct imp *im)
{
	const char *s, *why;
	size_t n;
	char code[4], day[11] = "1970-01-01";
	int exponent, rc;
	double rate;

	if (!(s = imp_raw(im, F_CURRENCY, &n))) {
		imp_reject(im, im->rec, "no currency");
		return -1;
	}
	if (norm_currency(s, n, code, &exponent, &why) < 0) {
		imp_reject_value(im, F_CURRENCY, "currency", s, n, why);
		return -1;
	}
	if (!strcmp(code, im->base)) {
		imp_reject(im, im->rec, "the base currency: its rate is 1");
		return -1;
	}
	if (!(s = imp_raw(im, F_RATE, &n))) {
		imp_reject(im, im->rec, "no rate");
		return -1;
	}
	if (parse_rate(s, n, im->o->norm.decimal, &rate, &why) < 0) {
		imp_reject_value(im, F_RATE, "rate", s, n, why);
		return -1;
	}
	if (imp_raw(im, F_TIME, &n)) {
		if (!imp_take_time(im, F_TIME, &why)) {
			sb_reset(&im->tmp);
			sb_addf(&im->tmp, "invalid valid_from: %s", why ? why : "empty");
			imp_reject(im, im->rec, im->tmp.buf);
			return -1;
		}
		memcpy(day, imp_val(im, F_TIME), 10);
	}
	/* the base with the first row the import writes */
	db_meta_set(im->db, "base_currency", im->base);
	sqlite3_bind_text(im->rate_find, 1, code, -1, SQLITE_STATIC);
	sqlite3_bind_text(im->rate_find, 2, day, -1, SQLITE_STATIC);
	if (!db_step_row(im->db, im->rate_find))
		rc = 0;
	else
		rc = sqlite3_column_double(im->rate_find, 0) == rate ? 2 : 1;
	sqlite3_reset(im->rate_find);
	if (rc == 2)
		return rc;
	sqlite3_bind_text(im->rate_set, 1, code, -1, SQLITE_STATIC);
	sqlite3_bind_text(im->rate_set, 2, day, -1, SQLITE_STATIC);
	sqlite3_bind_double(im->rate_set, 3, rate);
	db_step_done(im->db, im->rate_set);
	sqlite3_reset(im->rate_set);
	return rc;
}
