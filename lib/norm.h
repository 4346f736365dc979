/*
 * norm.h - normalisation of the values customers' exports are made of:
 * e-mail addresses, phone numbers, dates and times, money, booleans,
 * country and currency codes.
 *
 * Every parser takes a byte range (not NUL-terminated), ignores leading and
 * trailing white space, and returns 0 on success or -1 with *why set to a
 * short static reason in diagnostic style ("no '@'", "too many decimal
 * places for RUB"). None of them allocates except through struct sb, and
 * none depends on the locale.
 */
#ifndef CRM_NORM_H
#define CRM_NORM_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum norm_date_order {
	NORM_DATE_AUTO,    /* ISO, dd.mm.yyyy; a/b/yyyy only when unambiguous */
	NORM_DATE_DMY,     /* 03/04/2026 is 3 April */
	NORM_DATE_MDY,     /* 03/04/2026 is 4 March */
	NORM_DATE_YMD,     /* 2026/04/03 */
	NORM_DATE_PATTERN, /* strptime(3)-style pattern in date_pattern */
	/* auto, with a/b/yyyy and a-b-yyyy (time allowed) read day first
	 * or month first: what crm-import decided for one column from all
	 * its values (norm_date_shape); dotted dates stay day first */
	NORM_DATE_AUTO_DMY,
	NORM_DATE_AUTO_MDY,
};

struct norm_opts {
	enum norm_date_order date_order;
	const char *date_pattern;
	/* 1: times without an offset are local time of the process's TZ
	 * (the caller has set TZ and called tzset()); 0: they are UTC. */
	int naive_local;
	/* ISO 3166 alpha-2 used for national phone numbers, "" for none. */
	char default_country[3];
	/* Decimal separator of amounts: 0 guess, '.' or ','. */
	int decimal;
};

/* Parses --date-format: "auto", "dmy", "mdy", "ymd", or a pattern that
 * contains '%' (kept by pointer, not copied). */
int norm_date_format(const char *spec, struct norm_opts *o);

/*
 * E-mail: trims, strips a "mailto:" prefix and a "Name <addr>" wrapper,
 * lower-cases the whole address and checks its syntax (one '@'; local part
 * of atext and non-adjacent dots, at most 64 bytes; domain of at least two
 * LDH labels with an alphabetic top-level label of 2+ characters, at most
 * 253 bytes; at most 254 bytes in all; UTF-8 letters allowed). On success
 * out holds the normalised address (out is reset first).
 */
int norm_email(const char *s, size_t len, struct sb *out, const char **why);

/*
 * Phone: to E.164 ("+79161234567"). Accepts +CC..., 00CC..., and national
 * numbers with the trunk prefix of country (ISO alpha-2, falls back to
 * o->default_country; NULL or "" for none): RU/KZ "8 916 ..." and
 * "916...", TR/DE/GB/FR/... "0...", US/CA "(212) 555-0100" and
 * "1 212 ...". Separators " -.()/" are ignored; a letter, an extension or
 * a wrong length for a known country is an error. out must hold 17 bytes.
 */
int norm_phone(const char *s, size_t len, const char *country,
	       const struct norm_opts *o, char out[17], const char **why);

/*
 * Date and time: ISO 8601 ("2026-11-23", "2026-11-23T10:05:00Z",
 * "2026-11-23 10:05", "...+03:00", fractional seconds dropped),
 * "23.11.2026[ 10:05[:00]]", slash dates per o->date_order, "20261123",
 * or o->date_pattern. A date without a time is midnight. Validates the
 * calendar (2026-02-30 fails). On success *epoch is seconds since
 * 1970-01-01T00:00:00Z.
 */
int norm_time(const char *s, size_t len, const struct norm_opts *o,
	      int64_t *epoch, const char **why);

/*
 * What one value says about the order of day and month in its column:
 * for a/b/yyyy and a-b-yyyy (with or without a time), which of the two
 * readings norm_time accepts (a real date, a valid time): only day first
 * (13/1/2026) NORM_SHAPE_DMY, only month first (1/13/2026)
 * NORM_SHAPE_MDY, both, as different dates (3/4/2026) NORM_SHAPE_BOTH,
 * both, as the same date (4/4/2026) NORM_SHAPE_SAME. Anything else (ISO,
 * dd.mm.yyyy, two-digit years, a value no reading accepts) is
 * NORM_SHAPE_NONE: it does not take part in the decision.
 */
enum norm_date_shape {
	NORM_SHAPE_NONE,
	NORM_SHAPE_SAME,
	NORM_SHAPE_DMY,
	NORM_SHAPE_MDY,
	NORM_SHAPE_BOTH,
};
enum norm_date_shape norm_date_shape(const char *s, size_t len);

/* A calendar date only (a birthday): same forms as norm_time, any time
 * part is an error. 1900-01-01 .. 2100-12-31. */
int norm_date(const char *s, size_t len, const struct norm_opts *o,
	      int *y, int *m, int *d, const char **why);

/* Formats epoch as "YYYY-MM-DD HH:MM:SS" (UTC, SQLite's datetime()
 * form); buf must hold 20 bytes. */
void norm_fmt_time(int64_t epoch, char buf[20]);
/* Formats a date as "YYYY-MM-DD"; buf must hold 11 bytes. */
void norm_fmt_date(int y, int m, int d, char buf[11]);
/* Days since 1970-01-01 of a proleptic Gregorian date. */
int64_t norm_days_from_civil(int y, int m, int d);
void norm_civil_from_days(int64_t days, int *y, int *m, int *d);

/*
 * Currency: a three-letter ISO 4217 code (case-insensitive) or one of the
 * symbols $ € £ ₽ ₺ ¥. code gets the upper-case code; *exponent the
 * number of minor-unit digits (JPY 0, KWD 3, most 2).
 */
int norm_currency(const char *s, size_t len, char code[4], int *exponent,
		  const char **why);

/* The i-th entry (from 0) of the currency table that norm_currency knows:
 * code gets its upper-case ISO 4217 code and *exponent its number of
 * minor-unit digits. Returns 0, or -1 when i is past the end. Lets other
 * modules generate per-currency SQL (the expression compiler's revenue). */
int norm_currency_at(size_t i, char code[4], int *exponent);

/*
 * Amount: "1234.5", "1 234,50", "1,234.50", "1.234,50", "-12", with an
 * optional currency symbol or code before or after (ignored here). The
 * last '.' or ',' followed by 1..exponent digits is the decimal separator
 * unless o->decimal says otherwise; others must separate groups of three
 * digits. More decimals than exponent are an error unless they are zeros.
 * *minor is the exact amount in minor units (12.30 with exponent 2 is
 * 1230). Overflow of int64 is an error.
 */
int norm_amount(const char *s, size_t len, int exponent,
		const struct norm_opts *o, int64_t *minor, const char **why);

/* Booleans: yes/no, y/n, true/false, t/f, 1/0, on/off, granted/revoked,
 * opt-in/opt-out, subscribed/unsubscribed (case-insensitive). */
int norm_bool(const char *s, size_t len, int *v, const char **why);

/*
 * Country: an ISO 3166-1 alpha-2 or alpha-3 code (the value is the code
 * alone), a name, official name or common name of ISO 3166-1 in English or
 * any language of iso-codes' translations, or an alias of
 * share/countries.aliases ("UK", "EIRE", "Holland"); case, accents,
 * spaces and punctuation are ignored (lib/fold.c). out gets the alpha-2
 * code in upper case. The table is built at build time (countries_tab.c);
 * a lookup is a binary search, with no locale and no file read.
 */
int norm_country(const char *s, size_t len, char out[3], const char **why);

/* Duration such as "12h", "30d", "8w", "3mo", "1y" in seconds
 * (mo = 30 days, y = 365 days). */
int norm_duration(const char *s, size_t len, int64_t *secs, const char **why);

/* The delivery channels crmkit knows, in the lower case they are stored
 * in (consents, crm-send): "email", "sms", "push", "telegram",
 * "whatsapp", "viber", "webhook"; NULL-terminated. */
extern const char *const norm_channels[];

/*
 * A consent channel: a channel of norm_channels, or a topic of one,
 * "CHANNEL:TOPIC" ("email:news"), TOPIC 1 to 64 bytes without control
 * characters or ':' (the text in lower case already; crm-track's topics
 * are [topics.CHANNEL] keys, lowered). Returns the length of the channel part
 * (5 for "email" and "email:news"), -1 for an unknown channel, -2 for a
 * bad topic (*why says what).
 */
#define NORM_TOPIC_MAX 64
int norm_consent_channel(const char *s, size_t len, const char **why);

#endif
