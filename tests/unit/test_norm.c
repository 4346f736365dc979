/*
 * test_norm.c - unit tests of lib/norm.c.
 *
 * Every input is copied into a heap block of exactly its length (no NUL
 * after it), so that AddressSanitizer catches any read past len.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "norm.h"
#include "tap.h"

#define REJECT NULL

static char *exact(const char *s, size_t n)
{
	char *p = malloc(n ? n : 1);

	if (!p)
		abort();
	memcpy(p, s, n);
	return p;
}

/* ------------------------------------------------------------- e-mail */

static void test_email(void)
{
	static const struct {
		const char *in, *want, *why;
	} t[] = {
		{ "user@example.com", "user@example.com", NULL },
		{ "  User@Example.COM\t", "user@example.com", NULL },
		{ "Ivan Petrov <Ivan.P@Example.COM>", "ivan.p@example.com", NULL },
		{ "\"Petrov, Ivan <boss>\" <ivan@x.ru>", "ivan@x.ru", NULL },
		{ "<a@b.io>", "a@b.io", NULL },
		{ "mailto:x@y.ru", "x@y.ru", NULL },
		{ "MAILTO:X@Y.RU", "x@y.ru", NULL },
		{ "Ivan <mailto:Ivan@Y.ru>", "ivan@y.ru", NULL },
		{ "first.last+tag@sub.example.co.uk", "first.last+tag@sub.example.co.uk", NULL },
		{ "o'brien@example.ie", "o'brien@example.ie", NULL },
		{ "a!#$%&'*+/=?^_`{|}~-b@example.com", "a!#$%&'*+/=?^_`{|}~-b@example.com", NULL },
		{ "x@my-host.example.com", "x@my-host.example.com", NULL },
		{ "x@123.example.com", "x@123.example.com", NULL },
		{ "Иван@Пример.РФ", "иван@пример.рф", NULL },
		{ "ŁUKASZ@Example.PL", "łukasz@example.pl", NULL },
		{ "x@пример.xn--p1ai", "x@пример.xn--p1ai", NULL },
		{ "", REJECT, "empty address" },
		{ "   ", REJECT, "empty address" },
		{ "<>", REJECT, "empty address" },
		{ "mailto:", REJECT, "empty address" },
		{ "user.example.com", REJECT, "no '@'" },
		{ "a@b@example.com", REJECT, "more than one '@'" },
		{ "@example.com", REJECT, "empty local part" },
		{ "user@", REJECT, "empty domain" },
		{ ".user@example.com", REJECT, "dot at start or end of local part" },
		{ "user.@example.com", REJECT, "dot at start or end of local part" },
		{ "us..er@example.com", REJECT, "consecutive dots in local part" },
		{ "user@.example.com", REJECT, "dot at start or end of domain" },
		{ "user@example.com.", REJECT, "dot at start or end of domain" },
		{ "user@example..com", REJECT, "consecutive dots in domain" },
		{ "user@localhost", REJECT, "no dot in domain" },
		{ "user@example.123", REJECT, "invalid top-level domain" },
		{ "user@example.c0m", REJECT, "invalid top-level domain" },
		{ "user@example.c", REJECT, "top-level domain shorter than 2 characters" },
		{ "user@-example.com", REJECT, "hyphen at start or end of domain label" },
		{ "user@example-.com", REJECT, "hyphen at start or end of domain label" },
		{ "us er@example.com", REJECT, "space in address" },
		{ "Ivan Petrov ivan@x.ru", REJECT, "space in address" },
		{ "user@exa_mple.com", REJECT, "invalid character in domain" },
		{ "user@[192.168.0.1]", REJECT, "invalid character in domain" },
		{ "us(er)@example.com", REJECT, "invalid character in local part" },
		{ "\"quoted\"@example.com", REJECT, "invalid character in local part" },
		{ "ivan@x.ru>", REJECT, "'>' without '<'" },
		{ "Ivan <ivan@x.ru", REJECT, "space in address" },
		{ "<ivan@x.ru", REJECT, "invalid character in local part" },
		{ "x\xa0y@example.com", REJECT, "invalid utf-8" },
		{ "x\xc2\xa0y@example.com", REJECT, "invalid character in local part" },
		{ "\xff@example.com", REJECT, "invalid utf-8" },
		/* a display name is dropped, but one with CR, LF or another
		 * control character is refused: reused in a header it would
		 * start a new one */
		{ "Ann\r\nBcc: x@evil.example <ann@example.com>", REJECT,
		  "control character in display name" },
		{ "Ann\nB <ann@example.com>", REJECT, "control character in display name" },
		{ "Ann\rB <ann@example.com>", REJECT, "control character in display name" },
		{ "Ann\x1b[2JB <ann@example.com>", REJECT, "control character in display name" },
		{ "Ann\x7f <ann@example.com>", REJECT, "control character in display name" },
		{ "Ann\xc2\x85 <ann@example.com>", REJECT, "control character in display name" },
		{ "\"Ann\r\n\" <ann@example.com>", REJECT, "control character in display name" },
		{ "Ann\tLee <ann@example.com>", "ann@example.com", NULL },
		{ "\r\nAnn <ann@example.com>", "ann@example.com", NULL },
		{ "<ann@exa\r\nmple.com>", REJECT, "space in address" },
	};
	struct sb out = SB_INIT;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		size_t n = strlen(t[i].in);
		char *in = exact(t[i].in, n);
		const char *why = NULL;
		int r = norm_email(in, n, &out, &why);

		if (t[i].want) {
			is_str(r ? "(rejected)" : out.buf, t[i].want,
			       "email \"%s\"", t[i].in);
			if (r)
				printf("#   why: %s\n", why);
		} else {
			is_str(r ? why : "(accepted)", t[i].why,
			       "email \"%s\" rejected", t[i].in);
			is_int(out.len, 0, "email \"%s\": out reset", t[i].in);
		}
		free(in);
	}
	sb_free(&out);
}

static void test_email_limits(void)
{
	char buf[400];
	struct sb out = SB_INIT;
	const char *why = NULL;
	size_t n;

	/* local part: 64 bytes ok, 65 not */
	memset(buf, 'a', 64);
	strcpy(buf + 64, "@example.com");
	ok(!norm_email(buf, strlen(buf), &out, &why), "64-byte local part");
	memset(buf, 'a', 65);
	strcpy(buf + 65, "@example.com");
	ok(norm_email(buf, strlen(buf), &out, &why) &&
	   !strcmp(why, "local part longer than 64 bytes"), "65-byte local part");

	/* a label of 63 bytes ok, 64 not */
	n = (size_t)sprintf(buf, "a@");
	memset(buf + n, 'b', 63);
	strcpy(buf + n + 63, ".com");
	ok(!norm_email(buf, strlen(buf), &out, &why), "63-byte label");
	memset(buf + n, 'b', 64);
	strcpy(buf + n + 64, ".com");
	ok(norm_email(buf, strlen(buf), &out, &why) &&
	   !strcmp(why, "domain label longer than 63 bytes"), "64-byte label");

	/* a domain of 252 bytes (63+1+63+1+63+1+56+4) makes 254 in all */
	n = (size_t)sprintf(buf, "a@");
	for (int k = 0; k < 3; k++) {
		memset(buf + n, 'c', 63);
		n += 63;
		buf[n++] = '.';
	}
	memset(buf + n, 'd', 56);
	n += 56;
	strcpy(buf + n, ".com");
	is_int(strlen(buf), 254, "254-byte address set up");
	ok(!norm_email(buf, strlen(buf), &out, &why) && out.len == 254,
	   "254-byte address");
	memset(buf + n, 'd', 2);
	strcpy(buf + n + 2, ".com");
	ok(norm_email(buf, strlen(buf), &out, &why) &&
	   !strcmp(why, "domain longer than 253 bytes"), "254-byte domain");

	/* 64 + 1 + 190 = 255 bytes in all */
	memset(buf, 'a', 64);
	buf[64] = '@';
	n = 65;
	for (int k = 0; k < 3; k++) {
		memset(buf + n, 'e', 60);
		n += 60;
		buf[n++] = '.';
	}
	memset(buf + n, 'f', 4);
	strcpy(buf + n + 4, ".ru");
	is_int(strlen(buf), 255, "address length set up");
	ok(norm_email(buf, strlen(buf), &out, &why) &&
	   !strcmp(why, "address longer than 254 bytes"), "255-byte address");

	/* embedded NUL within len */
	ok(norm_email("a\0b@example.com", 15, &out, &why) &&
	   !strcmp(why, "invalid character in local part"), "NUL in address");
	/* the byte range ends before the NUL terminator */
	ok(!norm_email("x@y.ru-garbage", 6, &out, &why) &&
	   !strcmp(out.buf, "x@y.ru"), "range shorter than the string");
	sb_free(&out);
}

/* -------------------------------------------------------------- phones */

static void test_phone(void)
{
	static const struct {
		const char *in, *country, *dflt, *want, *why;
	} t[] = {
		/* Russia */
		{ "8 (916) 123-45-67", "RU", "", "+79161234567", NULL },
		{ "9161234567", "RU", "", "+79161234567", NULL },
		{ "+7 916 123 45 67", NULL, "", "+79161234567", NULL },
		{ "+7(916)123-45-67", "", "", "+79161234567", NULL },
		{ "79161234567", "RU", "", "+79161234567", NULL },
		{ "8-916-123-45-67", NULL, "RU", "+79161234567", NULL },
		{ "(+7) 916 123 45 67", NULL, "", "+79161234567", NULL },
		{ "+7 8 916 123 45 67", NULL, "", "+79161234567", NULL },
		{ "8 800 555 35 35", "RU", "", "+78005553535", NULL },
		{ "+7 800 555 35 35", NULL, "", "+78005553535", NULL },
		{ "800 555 35 35", "RU", "", REJECT, "wrong length for RU" },
		{ "tel:+7-916-123-45-67", NULL, "", "+79161234567", NULL },
		{ "8\xc2\xa0" "916\xc2\xa0" "123\xe2\x80\x91" "45-67", "RU", "", "+79161234567", NULL },
		{ "8 916 123 45 6", "RU", "", REJECT, "wrong length for RU" },
		{ "8 916 123 45 678", "RU", "", REJECT, "wrong length for RU" },
		{ "+7 916 123 45 6", NULL, "", REJECT, "wrong length for +7" },
		{ "8 916 123 45 67", NULL, "", REJECT, "no country for national number" },
		{ "8 916 123 45 67", "Russia", "", "+79161234567", NULL },
		{ "8 916 123 45 67", "FI", "", REJECT, "no phone rules for this country" },
		/* Kazakhstan: the same plan */
		{ "8 701 123 45 67", "KZ", "", "+77011234567", NULL },
		/* Turkey */
		{ "0532 123 45 67", "TR", "", "+905321234567", NULL },
		{ "+90 (0532) 123 45 67", NULL, "", "+905321234567", NULL },
		{ "905321234567", "TR", "", "+905321234567", NULL },
		/* North America */
		{ "(212) 555-0100", "US", "", "+12125550100", NULL },
		{ "1 212 555 0100", "US", "", "+12125550100", NULL },
		{ "+1 416 555 0199", NULL, "", "+14165550199", NULL },
		{ "212.555.0100", "CA", "", "+12125550100", NULL },
		{ "(012) 555-0100", "US", "", REJECT, "invalid area code" },
		{ "(112) 555-0100", "US", "", REJECT, "wrong length for US" },
		{ "(212) 155-0100", "US", "", REJECT, "invalid exchange code" },
		{ "+1 012 555 0100", NULL, "", REJECT, "invalid area code" },
		{ "555-0100", "US", "", REJECT, "wrong length for US" },
		/* Europe */
		{ "030 1234567", "DE", "", "+49301234567", NULL },
		{ "+49 (0)30 1234567", NULL, "", "+49301234567", NULL },
		{ "+49 030 1234567", NULL, "", "+49301234567", NULL },
		{ "0049 30 1234567", NULL, "", "+49301234567", NULL },
		{ "+49 30 12", NULL, "", REJECT, "wrong length for +49" },
		/* the country code without '+' is read as with it (fuzz_norm) */
		{ "49 0 30 12345678 9", "DE", "", "+4930123456789", NULL },
		{ "49 00 4972149721", "DE", "", REJECT, "national number starts with 0" },
		{ "+44 (0)20 7946 0958", NULL, "", "+442079460958", NULL },
		{ "020 7946 0958", "GB", "", "+442079460958", NULL },
		{ "07911 123456", "UK", "", "+447911123456", NULL },
		{ "01 23 45 67 89", "FR", "", "+33123456789", NULL },
		{ "06 1234 5678", "IT", "", "+390612345678", NULL },
		{ "+39 06 1234 5678", NULL, "", "+390612345678", NULL },
		{ "612 345 678", "ES", "", "+34612345678", NULL },
		{ "020 123 4567", "NL", "", "+31201234567", NULL },
		{ "512 345 678", "PL", "", "+48512345678", NULL },
		{ "050 123 45 67", "UA", "", "+380501234567", NULL },
		{ "8 029 123 45 67", "BY", "", "+375291234567", NULL },
		{ "+375 29 123 45 67", NULL, "", "+375291234567", NULL },
		{ "90 123 45 67", "UZ", "", "+998901234567", NULL },
		/* elsewhere */
		{ "09876 543210", "IN", "", "+919876543210", NULL },
		{ "98765 43210", "IN", "", "+919876543210", NULL },
		{ "138 0013 8000", "CN", "", "+8613800138000", NULL },
		{ "010 1234 5678", "CN", "", "+861012345678", NULL },
		{ "(11) 91234-5678", "BR", "", "+5511912345678", NULL },
		{ "090-1234-5678", "JP", "", "+819012345678", NULL },
		{ "050 123 4567", "AE", "", "+971501234567", NULL },
		/* unknown calling codes: 8..15 digits */
		{ "+358 40 123 4567", NULL, "", "+358401234567", NULL },
		{ "+358 40", NULL, "", REJECT, "phone number too short" },
		{ "+358 1234 5678 9012 3", NULL, "", REJECT, "phone number too long" },
		{ "+0 123 456 789", NULL, "", REJECT, "invalid country code" },
		/* junk */
		{ "", "RU", "", REJECT, "empty phone number" },
		{ "+", NULL, "", REJECT, "no digits in phone number" },
		{ "()-", "RU", "", REJECT, "no digits in phone number" },
		{ "8 916 CALL-NOW", "RU", "", REJECT, "letter in phone number" },
		{ "8 916 123 45 67 ext 12", "RU", "", REJECT, "extension not allowed" },
		{ "8 916 123 45 67 x12", "RU", "", REJECT, "extension not allowed" },
		{ "+79161234567;ext=12", NULL, "", REJECT, "extension not allowed" },
		{ "8 916 123 45 67 доб. 12", "RU", "", REJECT, "extension not allowed" },
		{ "8 916 123+45 67", "RU", "", REJECT, "misplaced '+'" },
		{ "8 916 123 45 67*", "RU", "", REJECT, "invalid character in phone number" },
		{ "1234567890123456789012345", NULL, "", REJECT, "phone number too long" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		struct norm_opts o = { 0 };
		size_t n = strlen(t[i].in);
		char *in = exact(t[i].in, n), out[17] = "junk";
		const char *why = NULL;
		int r;

		strcpy(o.default_country, t[i].dflt);
		r = norm_phone(in, n, t[i].country, &o, out, &why);
		if (t[i].want) {
			is_str(r ? why : out, t[i].want, "phone \"%s\" (%s)",
			       t[i].in, t[i].country ? t[i].country : "-");
		} else {
			is_str(r ? why : out, t[i].why, "phone \"%s\" rejected",
			       t[i].in);
			is_str(out, "", "phone \"%s\": out emptied", t[i].in);
		}
		free(in);
	}
	/* o may be NULL */
	{
		char out[17];
		const char *why;

		ok(!norm_phone("+7 916 123 45 67", 16, NULL, NULL, out, &why) &&
		   !strcmp(out, "+79161234567"), "phone with NULL opts");
	}
}

/* ------------------------------------------------------- calendar, time */

static void test_calendar(void)
{
	static const struct {
		int y, m, d;
		int64_t days;
	} t[] = {
		{ 1970, 1, 1, 0 }, { 1969, 12, 31, -1 }, { 1900, 1, 1, -25567 },
		{ 2000, 3, 1, 11017 }, { 2100, 3, 1, 47541 },
		{ 2199, 12, 31, 84005 }, { 1, 1, 1, -719162 },
		{ 2000, 2, 29, 11016 },
	};
	size_t i;
	int y, m, d;
	char buf[20];

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		is_int(norm_days_from_civil(t[i].y, t[i].m, t[i].d), t[i].days,
		       "days_from_civil %04d-%02d-%02d", t[i].y, t[i].m, t[i].d);
		norm_civil_from_days(t[i].days, &y, &m, &d);
		ok(y == t[i].y && m == t[i].m && d == t[i].d,
		   "civil_from_days %lld", (long long)t[i].days);
	}
	/* leap rules: the day after Feb 28 */
	norm_civil_from_days(norm_days_from_civil(1900, 2, 28) + 1, &y, &m, &d);
	ok(m == 3 && d == 1, "1900 is not a leap year");
	norm_civil_from_days(norm_days_from_civil(2000, 2, 28) + 1, &y, &m, &d);
	ok(m == 2 && d == 29, "2000 is a leap year");
	norm_civil_from_days(norm_days_from_civil(2100, 2, 28) + 1, &y, &m, &d);
	ok(m == 3 && d == 1, "2100 is not a leap year");
	norm_civil_from_days(norm_days_from_civil(2024, 2, 28) + 1, &y, &m, &d);
	ok(m == 2 && d == 29, "2024 is a leap year");
	norm_civil_from_days(norm_days_from_civil(2026, 12, 31) + 1, &y, &m, &d);
	ok(y == 2027 && m == 1 && d == 1, "year end");

	/* extremes neither crash nor overflow */
	norm_civil_from_days(INT64_MAX, &y, &m, &d);
	ok(y > 1000000 && m >= 1 && m <= 12 && d >= 1 && d <= 31,
	   "civil_from_days(INT64_MAX) clamps");
	norm_civil_from_days(INT64_MIN, &y, &m, &d);
	ok(y < -1000000 && m >= 1 && m <= 12, "civil_from_days(INT64_MIN) clamps");
	ok(norm_days_from_civil(INT32_MAX, INT32_MAX, INT32_MAX) > 0,
	   "days_from_civil of huge fields");
	ok(norm_days_from_civil(INT32_MIN, INT32_MIN, INT32_MIN) < 0,
	   "days_from_civil of tiny fields");

	norm_fmt_time(0, buf);
	is_str(buf, "1970-01-01 00:00:00", "fmt_time 0");
	norm_fmt_time(-1, buf);
	is_str(buf, "1969-12-31 23:59:59", "fmt_time -1");
	norm_fmt_time(1795428307, buf);
	is_str(buf, "2026-11-23 10:05:07", "fmt_time 2026");
	norm_fmt_time(-2208988800, buf);
	is_str(buf, "1900-01-01 00:00:00", "fmt_time 1900");
	norm_fmt_time(INT64_MAX, buf);
	is_str(buf, "9999-12-31 23:59:59", "fmt_time INT64_MAX clamps");
	norm_fmt_time(INT64_MIN, buf);
	is_str(buf, "0000-01-01 00:00:00", "fmt_time INT64_MIN clamps");
	norm_fmt_date(2026, 2, 3, buf);
	is_str(buf, "2026-02-03", "fmt_date");
	norm_fmt_date(-5, 123, -1, buf);
	is_str(buf, "0000-99-00", "fmt_date clamps nonsense");
}

static struct norm_opts opts_order(enum norm_date_order ord)
{
	struct norm_opts o = { 0 };

	o.date_order = ord;
	return o;
}

#define AUTO NORM_DATE_AUTO
#define DMY NORM_DATE_DMY
#define MDY NORM_DATE_MDY
#define YMD NORM_DATE_YMD

static void test_time(void)
{
	static const struct {
		const char *in;
		enum norm_date_order ord;
		int64_t want;
		const char *why;	/* NULL: accepted */
	} t[] = {
		{ "2026-11-23", AUTO, 1795392000, NULL },
		{ "2026-11-23T10:05:00Z", AUTO, 1795428300, NULL },
		{ "2026-11-23t10:05:00z", AUTO, 1795428300, NULL },
		{ "2026-11-23 10:05", AUTO, 1795428300, NULL },
		{ "2026-11-23   10:05:07", AUTO, 1795428307, NULL },
		{ "2026-11-23T10:05:07.123456Z", AUTO, 1795428307, NULL },
		{ "2026-11-23T10:05:07,5", AUTO, 1795428307, NULL },
		{ "2026-11-23T10:05:00+03:00", AUTO, 1795417500, NULL },
		{ "2026-11-23T10:05:00+0300", AUTO, 1795417500, NULL },
		{ "2026-11-23T10:05:00+03", AUTO, 1795417500, NULL },
		{ "2026-11-23 10:05:00 +0300", AUTO, 1795417500, NULL },
		{ "2026-11-23T10:05-05:30", AUTO, 1795448100, NULL },
		{ "2026-11-23 10:05 UTC", AUTO, 1795428300, NULL },
		{ "2026-11-23T9:05:00-01:00", AUTO, 1795428300, NULL },
		{ "23.11.2026", AUTO, 1795392000, NULL },
		{ "23.11.2026 10:05", AUTO, 1795428300, NULL },
		{ "23.11.2026 10:05:07", AUTO, 1795428307, NULL },
		{ "23.11.2026, 10:05:07", AUTO, 1795428307, NULL },
		{ "23.11.2026,10:05", AUTO, 0, "not a valid date" },
		{ "3.4.2026", AUTO, 1775174400, NULL },
		{ "03/04/2026", DMY, 1775174400, NULL },
		{ "04/03/2026", MDY, 1775174400, NULL },
		{ "03-04-2026", DMY, 1775174400, NULL },
		{ "23/11/2026", AUTO, 1795392000, NULL },
		{ "11/23/2026", AUTO, 1795392000, NULL },
		{ "11/23/2026 10:05 PM", AUTO, 1795471500, NULL },
		{ "11/23/2026 12:05 am", AUTO, 1795392300, NULL },
		{ "23-11-2026", AUTO, 1795392000, NULL },
		{ "2026/04/03", AUTO, 1775174400, NULL },
		{ "2026/04/03", YMD, 1775174400, NULL },
		{ "2026.04.03", DMY, 1775174400, NULL },
		{ "04/04/2026", AUTO, 1775260800, NULL },
		{ "20261123", AUTO, 1795392000, NULL },
		{ "1900-01-01", AUTO, -2208988800, NULL },
		{ "2199-12-31 23:59:59", AUTO, 7258118399, NULL },
		{ "2000-02-29", AUTO, 951782400, NULL },
		{ "2024-02-29 23:59:59", AUTO, 1709251199, NULL },
		{ "  2026-11-23 \n", AUTO, 1795392000, NULL },
		/* rejects */
		{ "", AUTO, 0, "empty date" },
		{ "03/04/2026", AUTO, 0, "ambiguous date; use --date-format dmy or mdy" },
		{ "03-04-2026", AUTO, 0, "ambiguous date; use --date-format dmy or mdy" },
		{ "03/04/2026", YMD, 0, "ambiguous date; use --date-format dmy or mdy" },
		{ "13/13/2026", AUTO, 0, "no such date" },
		{ "13/14/2026", AUTO, 0, "not a valid date" },
		{ "23.11.26", AUTO, 0, "two-digit year" },
		{ "11/23/26", AUTO, 0, "two-digit year" },
		{ "2026-02-29", AUTO, 0, "no such date" },
		{ "1900-02-29", AUTO, 0, "no such date" },
		{ "2100-02-29", AUTO, 0, "no such date" },
		{ "2026-02-30", AUTO, 0, "no such date" },
		{ "2026-04-31", AUTO, 0, "no such date" },
		{ "2026-13-01", AUTO, 0, "no such date" },
		{ "2026-00-10", AUTO, 0, "no such date" },
		{ "2026-01-00", AUTO, 0, "no such date" },
		{ "1899-12-31", AUTO, 0, "year out of range" },
		{ "2200-01-01", AUTO, 0, "year out of range" },
		{ "2026-11-23T24:00", AUTO, 0, "not a valid time" },
		{ "2026-11-23T10:60", AUTO, 0, "not a valid time" },
		{ "2026-11-23T23:59:60Z", AUTO, 0, "not a valid time" },
		{ "2026-11-23T10", AUTO, 0, "not a valid time" },
		{ "2026-11-23T10:5", AUTO, 0, "not a valid time" },
		{ "2026-11-23T10:05:07.", AUTO, 0, "not a valid time" },
		{ "2026-11-23T", AUTO, 0, "not a valid time" },
		{ "2026-11-23 13:05 PM", AUTO, 0, "not a valid time" },
		{ "2026-11-23T10:05+3", AUTO, 0, "invalid time zone offset" },
		{ "2026-11-23T10:05+03:0", AUTO, 0, "invalid time zone offset" },
		{ "2026-11-23T10:05+19:00", AUTO, 0, "invalid time zone offset" },
		{ "2026-11-23T10:05+03:60", AUTO, 0, "invalid time zone offset" },
		{ "2026-11-23T10:05:00 Moscow", AUTO, 0, "not a valid time" },
		{ "2026-11-23x", AUTO, 0, "not a valid date" },
		{ "2026-11-233", AUTO, 0, "not a valid date" },
		{ "1795392000", AUTO, 0, "not a valid date" },
		{ "179539200", AUTO, 0, "not a valid date" },
		{ "tomorrow", AUTO, 0, "not a valid date" },
		{ "2026-11", AUTO, 0, "not a valid date" },
		{ "2026-11/23", AUTO, 0, "not a valid date" },
		{ "-2026-11-23", AUTO, 0, "not a valid date" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		struct norm_opts o = opts_order(t[i].ord);
		size_t n = strlen(t[i].in);
		char *in = exact(t[i].in, n);
		const char *why = NULL;
		int64_t e = -42;
		int r = norm_time(in, n, &o, &e, &why);

		if (!t[i].why) {
			ok(!r && e == t[i].want, "time \"%s\"", t[i].in);
			if (r)
				printf("#   why: %s\n", why);
			else if (e != t[i].want)
				printf("#   got %lld want %lld\n", (long long)e,
				       (long long)t[i].want);
		} else {
			is_str(r ? why : "(accepted)", t[i].why,
			       "time \"%s\" rejected", t[i].in);
		}
		free(in);
	}
}

static void test_date(void)
{
	static const struct {
		const char *in;
		enum norm_date_order ord;
		const char *want;	/* YYYY-MM-DD or the reason */
		int good;
	} t[] = {
		{ "1985-07-14", AUTO, "1985-07-14", 1 },
		{ "14.07.1985", AUTO, "1985-07-14", 1 },
		{ "7/14/1985", AUTO, "1985-07-14", 1 },
		{ "14/7/1985", AUTO, "1985-07-14", 1 },
		{ "05/07/1985", DMY, "1985-07-05", 1 },
		{ "05/07/1985", MDY, "1985-05-07", 1 },
		{ "05.07.1985", MDY, "1985-05-07", 1 },
		{ "19850714", AUTO, "1985-07-14", 1 },
		{ "1900-01-01", AUTO, "1900-01-01", 1 },
		{ "2100-12-31", AUTO, "2100-12-31", 1 },
		{ "2000-02-29", AUTO, "2000-02-29", 1 },
		{ "2101-01-01", AUTO, "year out of range", 0 },
		{ "1899-12-31", AUTO, "year out of range", 0 },
		{ "1985-07-14 00:00", AUTO, "time not allowed in a date", 0 },
		{ "1985-07-14T10:00:00Z", AUTO, "time not allowed in a date", 0 },
		{ "29.02.1985", AUTO, "no such date", 0 },
		{ "05/07/1985", AUTO, "ambiguous date; use --date-format dmy or mdy", 0 },
		{ "14.07.85", AUTO, "two-digit year", 0 },
		{ "", AUTO, "empty date", 0 },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		struct norm_opts o = opts_order(t[i].ord);
		size_t n = strlen(t[i].in);
		char *in = exact(t[i].in, n), buf[11];
		const char *why = NULL;
		int y = 0, m = 0, d = 0;
		int r = norm_date(in, n, &o, &y, &m, &d, &why);

		if (!r)
			norm_fmt_date(y, m, d, buf);
		is_str(r ? why : buf, t[i].want, "date \"%s\"", t[i].in);
		is_int(r, t[i].good ? 0 : -1, "date \"%s\" status", t[i].in);
		free(in);
	}
}

static void test_date_format(void)
{
	static const struct {
		const char *spec;
		int r;
		enum norm_date_order ord;
	} t[] = {
		{ "auto", 0, NORM_DATE_AUTO }, { "DMY", 0, NORM_DATE_DMY },
		{ "mdy", 0, NORM_DATE_MDY }, { "ymd", 0, NORM_DATE_YMD },
		{ "%d.%m.%Y", 0, NORM_DATE_PATTERN },
		{ "%F %T", 0, NORM_DATE_PATTERN },
		{ "%d.%m.%y", -1, 0 }, { "%D", -1, 0 }, { "%d.%m", -1, 0 },
		{ "%Y-%m-%", -1, 0 }, { "%Y%E", -1, 0 }, { "dym", -1, 0 },
		{ "", -1, 0 },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		struct norm_opts o = { 0 };
		int r = norm_date_format(t[i].spec, &o);

		ok(r == t[i].r && (r || o.date_order == t[i].ord),
		   "date format \"%s\"", t[i].spec);
	}
	ok(norm_date_format(NULL, &(struct norm_opts){ 0 }) == -1,
	   "date format NULL");
}

static void test_date_shape(void)
{
	static const struct {
		const char *in;
		enum norm_date_shape want;
	} t[] = {
		{ "13/1/2026", NORM_SHAPE_DMY },
		{ "1/13/2026", NORM_SHAPE_MDY },
		{ "3/4/2026", NORM_SHAPE_BOTH },
		{ "4/4/2026", NORM_SHAPE_SAME },
		{ "12/1/2010 8:26", NORM_SHAPE_BOTH },
		{ "12/13/2010 9:02", NORM_SHAPE_MDY },
		{ " 31/12/2026 23:59:59 ", NORM_SHAPE_DMY },
		{ "2/29/2028 1:00 PM", NORM_SHAPE_MDY },
		{ "13-01-2026", NORM_SHAPE_DMY },
		{ "01-13-2026T10:00:00Z", NORM_SHAPE_MDY },
		{ "03-04-2026", NORM_SHAPE_BOTH },
		{ "12/1/2010 8:26 +0100", NORM_SHAPE_BOTH },
		/* no reading valid: no vote */
		{ "31/4/2026", NORM_SHAPE_NONE },
		{ "4/31/2026", NORM_SHAPE_NONE },
		{ "30/2/2026", NORM_SHAPE_NONE },
		{ "13/13/2026", NORM_SHAPE_NONE },
		{ "0/5/2026", NORM_SHAPE_NONE },
		{ "3/4/2026 25:00", NORM_SHAPE_NONE },
		{ "3/4/2026 junk", NORM_SHAPE_NONE },
		{ "3/4/26", NORM_SHAPE_NONE },
		{ "3/4-2026", NORM_SHAPE_NONE },
		/* other forms do not take part */
		{ "2026-03-04", NORM_SHAPE_NONE },
		{ "2026/03/04", NORM_SHAPE_NONE },
		{ "13.01.2026", NORM_SHAPE_NONE },
		{ "03.04.2026", NORM_SHAPE_NONE },
		{ "20260304", NORM_SHAPE_NONE },
		{ "", NORM_SHAPE_NONE },
		{ "/", NORM_SHAPE_NONE },
		{ "12", NORM_SHAPE_NONE },
		{ "12/", NORM_SHAPE_NONE },
		{ "123/4/2026", NORM_SHAPE_NONE },
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		is_int(norm_date_shape(t[i].in, strlen(t[i].in)), t[i].want,
		       "date shape \"%s\"", t[i].in);
}

/* A column's decided order reads a/b/yyyy and a-b-yyyy that way, leaves
 * dotted dates day first and refuses the other order. */
static void test_decided_order(void)
{
	static const struct {
		const char *in;
		enum norm_date_order ord;
		const char *want;	/* NULL: refused */
	} t[] = {
		{ "3/4/2026", NORM_DATE_AUTO_DMY, "2026-04-03 00:00:00" },
		{ "3/4/2026", NORM_DATE_AUTO_MDY, "2026-03-04 00:00:00" },
		{ "12/1/2010 8:26", NORM_DATE_AUTO_MDY, "2010-12-01 08:26:00" },
		{ "12/1/2010 8:26", NORM_DATE_AUTO_DMY, "2010-01-12 08:26:00" },
		{ "03-04-2026", NORM_DATE_AUTO_MDY, "2026-03-04 00:00:00" },
		{ "13/4/2026", NORM_DATE_AUTO_DMY, "2026-04-13 00:00:00" },
		{ "4/13/2026", NORM_DATE_AUTO_MDY, "2026-04-13 00:00:00" },
		{ "4/13/2026", NORM_DATE_AUTO_DMY, NULL },
		{ "13/4/2026", NORM_DATE_AUTO_MDY, NULL },
		{ "5/5/2026", NORM_DATE_AUTO_MDY, "2026-05-05 00:00:00" },
		{ "03.04.2026", NORM_DATE_AUTO_MDY, "2026-04-03 00:00:00" },
		{ "2026-03-04", NORM_DATE_AUTO_DMY, "2026-03-04 00:00:00" },
		{ "2026/03/04", NORM_DATE_AUTO_MDY, "2026-03-04 00:00:00" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		struct norm_opts o = opts_order(t[i].ord);
		const char *why = NULL;
		int64_t e;
		char buf[20];
		int r = norm_time(t[i].in, strlen(t[i].in), &o, &e, &why);

		if (!t[i].want) {
			ok(r < 0 && why, "decided order refuses \"%s\"", t[i].in);
			continue;
		}
		if (r == 0)
			norm_fmt_time(e, buf);
		is_str(r == 0 ? buf : why, t[i].want, "decided order reads \"%s\"", t[i].in);
	}
	{
		struct norm_opts o = opts_order(NORM_DATE_AUTO_MDY);
		int y, m, d;
		const char *why;

		ok(norm_date("3/4/1990", 8, &o, &y, &m, &d, &why) == 0 && y == 1990 && m == 3 &&
		   d == 4, "decided order: a birthday");
	}
}

static void test_pattern(void)
{
	struct norm_opts o = { 0 };
	const char *why = NULL;
	int64_t e = 0;
	int y, m, d;
	char big[300];

	ok(!norm_date_format("%d %b %Y", &o), "pattern set");
	ok(!norm_time("23 Nov 2026", 11, &o, &e, &why) && e == 1795392000,
	   "pattern without time is midnight");
	ok(!norm_date("23 Nov 2026", 11, &o, &y, &m, &d, &why) &&
	   y == 2026 && m == 11 && d == 23, "pattern date");
	ok(norm_time("2026-11-23", 10, &o, &e, &why) &&
	   !strcmp(why, "date does not match --date-format"), "pattern mismatch");
	ok(norm_time("30 Feb 2026", 11, &o, &e, &why) &&
	   !strcmp(why, "no such date"), "pattern result validated");
	ok(norm_time("23 Nov 2026 x", 13, &o, &e, &why), "pattern trailing junk");
	ok(norm_time("23 Nov 2026\0", 12, &o, &e, &why) &&
	   !strcmp(why, "not a valid date"), "pattern NUL in input");
	memset(big, '1', sizeof(big));
	ok(norm_time(big, sizeof(big), &o, &e, &why) &&
	   !strcmp(why, "date too long"), "pattern input too long");

	ok(!norm_date_format("%Y-%m-%d %H:%M %z", &o), "pattern with %%z set");
	ok(!norm_time("2026-11-23 10:05 +0300", 22, &o, &e, &why) &&
	   e == 1795417500, "pattern with %%z");
	ok(norm_date("2026-11-23 10:05 +0300", 22, &o, &y, &m, &d, &why) &&
	   !strcmp(why, "time not allowed in a date"), "pattern date with time");
	ok(!norm_date_format("%d/%m/%Y %H:%M:%S", &o), "pattern with time set");
	ok(norm_time("23/11/2026 10:05:60", 19, &o, &e, &why) &&
	   !strcmp(why, "not a valid time"), "pattern second 60");
}

static void test_local(void)
{
	struct norm_opts o = { 0 };
	const char *why = NULL;
	int64_t e = 0;

	o.naive_local = 1;
	setenv("TZ", "MSK-3", 1);
	tzset();
	ok(!norm_time("2026-11-23 10:05", 16, &o, &e, &why) && e == 1795417500,
	   "naive local time, fixed offset");
	ok(!norm_time("2026-11-23T10:05Z", 17, &o, &e, &why) && e == 1795428300,
	   "explicit offset wins over local time");
	setenv("TZ", "EST5EDT,M3.2.0,M11.1.0", 1);
	tzset();
	ok(!norm_time("2026-07-01 12:00", 16, &o, &e, &why) &&
	   e == norm_days_from_civil(2026, 7, 1) * 86400 + 16 * 3600,
	   "naive local time in summer");
	ok(!norm_time("2026-01-01 12:00", 16, &o, &e, &why) &&
	   e == norm_days_from_civil(2026, 1, 1) * 86400 + 17 * 3600,
	   "naive local time in winter");
	setenv("TZ", "UTC0", 1);
	tzset();
}

/* For random instants in 1900..2199, formatting and parsing round-trip. */
static void test_roundtrip(void)
{
	uint64_t x = 88172645463325252ULL;
	int64_t lo = norm_days_from_civil(1900, 1, 1);
	int64_t hi = norm_days_from_civil(2199, 12, 31);
	int bad_days = 0, bad_time = 0, k;

	for (k = 0; k < 20000; k++) {
		int64_t days, t, back = 0;
		int y, m, d;
		char buf[20];
		const char *why;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		days = lo + (int64_t)(x % (uint64_t)(hi - lo + 1));
		norm_civil_from_days(days, &y, &m, &d);
		if (norm_days_from_civil(y, m, d) != days || y < 1900 ||
		    y > 2199 || m < 1 || m > 12 || d < 1 || d > 31)
			bad_days++;
		t = days * 86400 + (int64_t)(x >> 40) % 86400;
		norm_fmt_time(t, buf);
		if (norm_time(buf, 19, NULL, &back, &why) || back != t)
			bad_time++;
	}
	is_int(bad_days, 0, "civil_from_days(days_from_civil) round-trips");
	is_int(bad_time, 0, "norm_time(norm_fmt_time(t)) == t");
}

/* ---------------------------------------------------------- money */

static void test_amount(void)
{
	static const struct {
		const char *in;
		int exp, dec;
		int64_t want;
		const char *why;
	} t[] = {
		{ "12.3", 2, 0, 1230, NULL },
		{ "12,30", 2, 0, 1230, NULL },
		{ "12", 2, 0, 1200, NULL },
		{ "0.01", 2, 0, 1, NULL },
		{ "1 234,56", 2, 0, 123456, NULL },
		{ "1\xc2\xa0" "234,56", 2, 0, 123456, NULL },
		{ "1\xe2\x80\xaf" "234,56", 2, 0, 123456, NULL },
		{ "1'234.56", 2, 0, 123456, NULL },
		{ "1,234.56", 2, 0, 123456, NULL },
		{ "1.234,56", 2, 0, 123456, NULL },
		{ "1,234,567.89", 2, 0, 123456789, NULL },
		{ "1.234.567", 2, 0, 123456700, NULL },
		{ "1,234", 2, 0, 123400, NULL },
		{ "0,500", 2, 0, 50, NULL },
		{ "1,234", 3, 0, 1234, NULL },
		{ "1.500", 2, 0, 150, NULL },
		{ "1.5", 2, 0, 150, NULL },
		{ ".5", 2, 0, 50, NULL },
		{ "-5.00", 2, 0, -500, NULL },
		{ "+5", 2, 0, 500, NULL },
		{ "\xe2\x88\x92" "5", 2, 0, -500, NULL },
		{ "(5.00)", 2, 0, -500, NULL },
		{ "$12.50", 2, 0, 1250, NULL },
		{ "-$12.50", 2, 0, -1250, NULL },
		{ "$-12.50", 2, 0, -1250, NULL },
		{ "$(5)", 2, 0, -500, NULL },
		{ "(5.00) USD", 2, 0, -500, NULL },
		{ "12.50 USD", 2, 0, 1250, NULL },
		{ "12.50usd", 2, 0, 1250, NULL },
		{ "EUR 7", 2, 0, 700, NULL },
		{ "12,50 ₽", 2, 0, 1250, NULL },
		{ "12,50\xe2\x80\xaf₽", 2, 0, 1250, NULL },
		{ "1 500 руб.", 2, 0, 150000, NULL },
		{ "1 500 Руб", 2, 0, 150000, NULL },
		{ "€ 3", 2, 0, 300, NULL },
		{ "£3.99", 2, 0, 399, NULL },
		{ "¥1,234", 0, 0, 1234, NULL },
		{ "1,234", 0, 0, 1234, NULL },
		{ "12.0", 0, 0, 12, NULL },
		{ "1.234", 3, 0, 1234, NULL },
		{ "1,5", 2, '.', 0, "misplaced group separator" },
		{ "1,234", 2, '.', 123400, NULL },
		{ "1,234", 2, ',', 123, "too many decimal places for exponent 2" },
		{ "1.234,5", 2, ',', 123450, NULL },
		{ "1.234,5", 2, '.', 0, "group separator after decimal separator" },
		{ "1,2,3", 2, ',', 0, "more than one decimal separator" },
		{ "9223372036854775807", 0, 0, INT64_MAX, NULL },
		{ "-9223372036854775808", 0, 0, INT64_MIN, NULL },
		{ "92233720368547758.07", 2, 0, INT64_MAX, NULL },
		{ "9223372036854775808", 0, 0, 0, "amount out of range" },
		{ "92233720368547758.08", 2, 0, 0, "amount out of range" },
		{ "99999999999999999999999999", 2, 0, 0, "amount out of range" },
		{ "100000000000000000", 2, 0, 0, "amount out of range" },
		/* rejects */
		{ "", 2, 0, 0, "empty amount" },
		{ "  ", 2, 0, 0, "empty amount" },
		{ "$", 2, 0, 0, "no digits in amount" },
		{ "-", 2, 0, 0, "no digits in amount" },
		{ "12,3.4", 2, 0, 0, "misplaced group separator" },
		{ "1.2.3", 2, 0, 0, "misplaced group separator" },
		{ "12.345", 2, 0, 0, "too many decimal places for exponent 2" },
		{ "12.5", 0, 0, 0, "too many decimal places for exponent 0" },
		{ "1,234 567", 2, 0, 0, "mixed group separators" },
		{ "1,,234", 2, 0, 0, "misplaced separator" },
		{ "12.", 2, 0, 0, "misplaced separator" },
		{ ",5.5", 2, 0, 0, "misplaced group separator" },
		{ "12a", 2, 0, 0, "letter in amount" },
		{ "1e5", 2, 0, 0, "letter in amount" },
		{ "12 XYZ", 2, 0, 0, "unknown currency" },
		{ "12#", 2, 0, 0, "invalid character in amount" },
		{ "-(5)", 2, 0, 0, "invalid character in amount" },
		{ "--5", 2, 0, 0, "invalid character in amount" },
		{ "$5 USD", 2, 0, 0, "letter in amount" },
		{ "5", -1, 0, 0, "invalid currency exponent" },
		{ "5", 10, 0, 0, "invalid currency exponent" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		struct norm_opts o = { 0 };
		size_t n = strlen(t[i].in);
		char *in = exact(t[i].in, n);
		const char *why = NULL;
		int64_t v = -42;
		int r;

		o.decimal = t[i].dec;
		r = norm_amount(in, n, t[i].exp, &o, &v, &why);
		if (!t[i].why) {
			ok(!r && v == t[i].want, "amount \"%s\" exp %d", t[i].in,
			   t[i].exp);
			if (r)
				printf("#   why: %s\n", why);
			else if (v != t[i].want)
				printf("#   got %lld\n", (long long)v);
		} else {
			is_str(r ? why : "(accepted)", t[i].why,
			       "amount \"%s\" exp %d rejected", t[i].in, t[i].exp);
		}
		free(in);
	}
}

static void test_currency(void)
{
	static const struct {
		const char *in, *code;
		int exp;
		const char *why;
	} t[] = {
		{ "USD", "USD", 2, NULL }, { "rub", "RUB", 2, NULL },
		{ " eur ", "EUR", 2, NULL }, { "JPY", "JPY", 0, NULL },
		{ "KWD", "KWD", 3, NULL }, { "VND", "VND", 0, NULL },
		{ "KRW", "KRW", 0, NULL }, { "TND", "TND", 3, NULL },
		{ "$", "USD", 2, NULL }, { "€", "EUR", 2, NULL },
		{ "£", "GBP", 2, NULL }, { "₽", "RUB", 2, NULL },
		{ "₺", "TRY", 2, NULL }, { "¥", "JPY", 0, NULL },
		{ "руб.", "RUB", 2, NULL },
		{ "XYZ", NULL, 0, "unknown currency" },
		{ "US1", NULL, 0, "not a currency code" },
		{ "USDT", NULL, 0, "not a currency code" },
		{ "", NULL, 0, "empty currency" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		size_t n = strlen(t[i].in);
		char *in = exact(t[i].in, n), code[4];
		const char *why = NULL;
		int e = -1;
		int r = norm_currency(in, n, code, &e, &why);

		if (t[i].code)
			ok(!r && !strcmp(code, t[i].code) && e == t[i].exp,
			   "currency \"%s\"", t[i].in);
		else
			is_str(r ? why : "(accepted)", t[i].why,
			       "currency \"%s\" rejected", t[i].in);
		free(in);
	}
}

/* ---------------------------------------------------------- the rest */

static void test_bool(void)
{
	static const struct {
		const char *in;
		int want;	/* -1: rejected */
	} t[] = {
		{ "yes", 1 }, { "Y", 1 }, { "TRUE", 1 }, { "t", 1 }, { "1", 1 },
		{ "on", 1 }, { "Granted", 1 }, { "opt-in", 1 },
		{ "subscribed", 1 }, { "Да", 1 }, { " no ", 0 }, { "n", 0 },
		{ "False", 0 }, { "f", 0 }, { "0", 0 }, { "OFF", 0 },
		{ "revoked", 0 }, { "Opt-Out", 0 }, { "unsubscribed", 0 },
		{ "НЕТ", 0 }, { "", -1 }, { "maybe", -1 }, { "yess", -1 },
		{ "2", -1 },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		size_t n = strlen(t[i].in);
		char *in = exact(t[i].in, n);
		const char *why = NULL;
		int v = -7;
		int r = norm_bool(in, n, &v, &why);

		is_int(r ? -1 : v, t[i].want, "bool \"%s\"", t[i].in);
		free(in);
	}
}

static void test_country(void)
{
	static const struct {
		const char *in, *want;
	} t[] = {
		{ "RU", "RU" }, { "ru", "RU" }, { "RUS", "RU" },
		{ "Russia", "RU" }, { "russian federation", "RU" },
		{ "Россия", "RU" }, { "РОССИЯ", "RU" }, { "United States", "US" },
		{ "USA", "US" }, { "us", "US" }, { "UK", "GB" },
		{ "United Kingdom", "GB" }, { "gbr", "GB" }, { "Germany", "DE" },
		{ "Turkey", "TR" }, { "Türkiye", "TR" }, { "TÜRKIYE", "TR" },
		{ "Kazakhstan", "KZ" }, { "fi", "FI" }, { "XK", "XK" },
		{ "  de  ", "DE" }, { "", NULL }, { "XX", NULL }, { "FIN", "FI" },
		{ "Narnia", NULL }, { "R", NULL }, { "Russia!", "RU" },
		/* issue 15: every ISO 3166-1 country, in every language of
		 * iso-codes, and the aliases of share/countries.aliases */
		{ "Ireland", "IE" }, { "IRELAND", "IE" }, { "Éire", "IE" },
		{ "EIRE", "IE" }, { "Österreich", "AT" }, { "Osterreich", "AT" },
		{ "Austria", "AT" }, { "Suomi", "FI" }, { "Finland", "FI" },
		{ "Ελλάδα", "GR" }, { "ΕΛΛΑΔΑ", "GR" }, { "Ελλαδα", "GR" },
		{ "Greece", "GR" }, { "Deutschland", "DE" },
		{ "Korea, Republic of", "KR" }, { "Republic of Korea", "KR" },
		{ "South Korea", "KR" }, { "North Korea", "KP" },
		{ "Korea, Democratic People's Republic of", "KP" },
		{ "Россия", "RU" }, { "Российская Федерация", "RU" },
		{ "United States of America", "US" }, { "U.S.A.", "US" },
		{ "U.S.", "US" }, { "Белоруссия", "BY" }, { "Kyrgyz Republic", "KG" },
		{ "Great Britain", "GB" }, { "Vereinigtes Königreich", "GB" },
		{ "Côte d'Ivoire", "CI" }, { "Cote d Ivoire", "CI" },
		{ "COTE D\xe2\x80\x99" "IVOIRE", "CI" }, { "Côte-d'Ivoire", "CI" },
		{ "Ivory Coast", "CI" }, { "Holland", "NL" }, { "Czechia", "CZ" },
		{ "Czech Republic", "CZ" }, { "Vietnam", "VN" }, { "Viet Nam", "VN" },
		{ "Việt Nam", "VN" }, { "Turkey", "TR" }, { "Türkiye", "TR" },
		{ "España", "ES" }, { "Espana", "ES" }, { "Brasil", "BR" },
		{ "Polska", "PL" }, { "Sverige", "SE" }, { "Nederland", "NL" },
		{ "Italia", "IT" }, { "日本", "JP" }, { "中国", "CN" },
		{ "Bosnia and Herzegovina", "BA" }, { "Bosnia & Herzegovina", "BA" },
		{ "Kosovo", "XK" }, { "XKX", "XK" }, { "aut", "AT" }, { "IRL", "IE" },
		{ "grc", "GR" }, { "gr", "GR" }, { "NA", "NA" }, { "Namibia", "NA" },
		/* a code counts only written as one: "N/A" is not Namibia */
		{ "N/A", NULL }, { "n/a", NULL }, { "-", NULL }, { "?", NULL },
		{ "Moscow", NULL }, { "Atlantis", NULL }, { "Germany 2", NULL },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		size_t n = strlen(t[i].in);
		char *in = exact(t[i].in, n), out[3];
		const char *why = NULL;
		int r = norm_country(in, n, out, &why);

		is_str(r ? NULL : out, t[i].want, "country \"%s\"", t[i].in);
		free(in);
	}
}

static void test_duration(void)
{
	static const struct {
		const char *in;
		int64_t want;
		const char *why;
	} t[] = {
		{ "12h", 43200, NULL }, { "30d", 2592000, NULL },
		{ "8w", 4838400, NULL }, { "3mo", 7776000, NULL },
		{ "1y", 31536000, NULL }, { "15min", 900, NULL },
		{ "45s", 45, NULL }, { "2 days", 172800, NULL },
		{ "1 Year", 31536000, NULL }, { "0d", 0, NULL },
		{ "90m", 0, "ambiguous unit 'm'; use min or mo" },
		{ "12", 0, "missing unit" }, { "12x", 0, "unknown unit" },
		{ "h", 0, "duration must start with a number" },
		{ "-3d", 0, "duration must start with a number" },
		{ "1.5h", 0, "unknown unit" }, { "", 0, "empty duration" },
		{ "9223372036854775807s", INT64_MAX, NULL },
		{ "9223372036854775807h", 0, "duration out of range" },
		{ "99999999999999999999d", 0, "duration out of range" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		size_t n = strlen(t[i].in);
		char *in = exact(t[i].in, n);
		const char *why = NULL;
		int64_t v = -1;
		int r = norm_duration(in, n, &v, &why);

		if (!t[i].why)
			ok(!r && v == t[i].want, "duration \"%s\"", t[i].in);
		else
			is_str(r ? why : "(accepted)", t[i].why,
			       "duration \"%s\" rejected", t[i].in);
		free(in);
	}
}

/* Random bytes (biased to the characters the parsers care about) into every
 * parser: nothing may crash or read past the range (ASan watches). */
static void test_fuzz(void)
{
	static const char alphabet[] =
		"0123456789+-.,:/ ()'@<>$TZxe\0\xc2\xa0\xe2\x80\xaf\xff";
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	struct norm_opts o = { 0 };
	struct sb sb = SB_INIT;
	int k, accepted = 0;

	strcpy(o.default_country, "RU");
	for (k = 0; k < 30000; k++) {
		char tmp[48], out[17], code[4], c2[3];
		size_t n, j;
		const char *why = NULL;
		int64_t v;
		int y, m, d, b, e;
		char *in;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		n = (size_t)(x % sizeof(tmp));
		for (j = 0; j < n; j++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			tmp[j] = (x & 3) ? alphabet[(x >> 8) % (sizeof(alphabet) - 1)]
				: (char)(x >> 16);
		}
		in = exact(tmp, n);
		o.date_order = (enum norm_date_order)(k % 4);
		accepted += !norm_email(in, n, &sb, &why);
		accepted += !norm_phone(in, n, NULL, &o, out, &why);
		accepted += !norm_time(in, n, &o, &v, &why);
		accepted += !norm_date(in, n, &o, &y, &m, &d, &why);
		accepted += !norm_amount(in, n, k % 4, &o, &v, &why);
		accepted += !norm_currency(in, n, code, &e, &why);
		accepted += !norm_bool(in, n, &b, &why);
		accepted += !norm_country(in, n, c2, &why);
		accepted += !norm_duration(in, n, &v, &why);
		free(in);
	}
	sb_free(&sb);
	ok(accepted > 0, "fuzz: %d inputs accepted, no crash", accepted);
}

int main(void)
{
	setenv("TZ", "UTC0", 1);
	tzset();
	test_email();
	test_email_limits();
	test_phone();
	test_calendar();
	test_time();
	test_date();
	test_date_format();
	test_date_shape();
	test_decided_order();
	test_pattern();
	test_local();
	test_roundtrip();
	test_amount();
	test_currency();
	test_bool();
	test_country();
	test_duration();
	test_fuzz();
	return tap_done();
}
