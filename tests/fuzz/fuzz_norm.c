/*
 * fuzz_norm.c - the normalisers crm-import applies to every value
 * (lib/norm.c).
 *
 * The first byte picks the normaliser, the second its options (country,
 * date order, currency exponent, decimal separator); the rest is the
 * value. Each must accept or refuse without a crash, and what it accepts
 * must survive a round trip:
 *
 *   email     the result is lower case ASCII where ASCII, <= 254 bytes,
 *             one '@', and normalising it again gives it back
 *   phone     "+" and at most 15 digits; normalising it again, with any
 *             default country or none, gives it back
 *   time      the epoch formatted by norm_fmt_time() parses back to it;
 *             norm_date_shape() agrees with what day first and month
 *             first read, and the order it decides reads it the same
 *   date      1900..2100, a real calendar day; norm_fmt_date() parses back
 *   amount    the minor units written as a decimal parse back to them
 *   currency  the code parses back to itself, with the same exponent
 *   country   the alpha-2 code parses back to itself
 *   duration  "<seconds>s" parses back to the same seconds
 *   bool      0 or 1
 *   pattern   "PATTERN\nVALUE": --date-format PATTERN, then as time
 */
#include "fuzz.h"
#include "norm.h"
#include "util.h"

static const char *const countries[] = { "", "RU", "US", "DE", "GB", "KZ", "TR", "FR", "JP", "IN" };

static void email(const char *s, size_t n)
{
	struct sb a = SB_INIT, b = SB_INIT;
	const char *why;

	if (norm_email(s, n, &a, &why) == 0) {
		const char *at = memchr(a.buf, '@', a.len);

		FZ_CHECK(a.len > 0 && a.len <= 254, "address of %zu bytes", a.len);
		FZ_CHECK(at && !memchr(at + 1, '@', a.len - (size_t)(at + 1 - a.buf)), "not one '@'");
		for (size_t i = 0; i < a.len; i++)
			FZ_CHECK(!(a.buf[i] >= 'A' && a.buf[i] <= 'Z') && (unsigned char)a.buf[i] > ' ',
				 "0x%02x in a normalised address", (unsigned char)a.buf[i]);
		if (norm_email(a.buf, a.len, &b, &why) != 0 || b.len != a.len ||
		    memcmp(a.buf, b.buf, a.len)) {
			fz_dump("input", s, n);
			fz_dump("normalised", a.buf, a.len);
			fz_dump("again", b.buf, b.len);
			FZ_CHECK(0, "norm_email is not idempotent");
		}
	}
	sb_free(&a);
	sb_free(&b);
}

static void phone(const char *s, size_t n, int opt)
{
	struct norm_opts o = { 0 };
	char out[17], again[17];
	const char *why;
	size_t len;

	snprintf(o.default_country, sizeof(o.default_country), "%s", countries[opt % ARRAY_SIZE(countries)]);
	if (norm_phone(s, n, (opt >> 4) & 1 ? "US" : NULL, &o, out, &why))
		return;
	len = strlen(out);
	FZ_CHECK(out[0] == '+' && len >= 5 && len <= 16, "phone \"%s\"", out);
	for (size_t i = 1; i < len; i++)
		FZ_CHECK(ascii_isdigit(out[i]), "phone \"%s\"", out);
	for (size_t c = 0; c < ARRAY_SIZE(countries); c++) {
		snprintf(o.default_country, sizeof(o.default_country), "%s", countries[c]);
		if (norm_phone(out, len, NULL, &o, again, &why) || strcmp(out, again)) {
			fz_dump("input", s, n);
			FZ_CHECK(0, "\"%s\" normalises to \"%s\" with default country \"%s\" (%s)",
				 out, again, countries[c], why);
		}
	}
}

static void time_back(const char *s, size_t n, int64_t epoch)
{
	struct norm_opts o = { 0 };
	char buf[20];
	int64_t back;
	const char *why;

	norm_fmt_time(epoch, buf);
	if (norm_time(buf, strlen(buf), &o, &back, &why) || back != epoch) {
		fz_dump("input", s, n);
		FZ_CHECK(0, "epoch %lld formats as \"%s\", which reads back as %lld (%s)",
			 (long long)epoch, buf, (long long)back, why);
	}
}

/* norm_date_shape agrees with norm_time in day first and month first,
 * and the order decided from it reads the value as that order does */
static void shape(const char *s, size_t n)
{
	struct norm_opts o = { 0 };
	enum norm_date_shape sh = norm_date_shape(s, n);
	int64_t ed = 0, em = 0, e;
	const char *why;
	int d, m;

	FZ_CHECK(sh >= NORM_SHAPE_NONE && sh <= NORM_SHAPE_BOTH, "shape %d", (int)sh);
	o.date_order = NORM_DATE_DMY;
	d = norm_time(s, n, &o, &ed, &why) == 0;
	o.date_order = NORM_DATE_MDY;
	m = norm_time(s, n, &o, &em, &why) == 0;
	if (sh == NORM_SHAPE_NONE)
		return;
	FZ_CHECK(sh == NORM_SHAPE_DMY ? d && !m : sh == NORM_SHAPE_MDY ? m && !d : d && m,
		 "shape %d, day first %d, month first %d", (int)sh, d, m);
	FZ_CHECK(sh != NORM_SHAPE_SAME || ed == em, "same shape, two readings");
	o.date_order = sh == NORM_SHAPE_MDY ? NORM_DATE_AUTO_MDY : NORM_DATE_AUTO_DMY;
	FZ_CHECK(norm_time(s, n, &o, &e, &why) == 0 && e == (sh == NORM_SHAPE_MDY ? em : ed),
		 "the decided order reads it otherwise");
	time_back(s, n, e);
}

static void time_(const char *s, size_t n, int opt)
{
	struct norm_opts o = { 0 };
	int64_t epoch;
	const char *why;

	o.date_order = (enum norm_date_order)(opt % 4);
	if (norm_time(s, n, &o, &epoch, &why) == 0)
		time_back(s, n, epoch);
	shape(s, n);
}

static void date(const char *s, size_t n, int opt)
{
	struct norm_opts o = { 0 };
	int y, m, d, y2, m2, d2;
	char buf[11];
	const char *why;

	o.date_order = (enum norm_date_order)(opt % 4);
	if (norm_date(s, n, &o, &y, &m, &d, &why))
		return;
	FZ_CHECK(y >= 1900 && y <= 2100 && m >= 1 && m <= 12 && d >= 1 && d <= 31,
		 "date %d-%d-%d", y, m, d);
	norm_fmt_date(y, m, d, buf);
	o.date_order = NORM_DATE_AUTO;
	FZ_CHECK(norm_date(buf, strlen(buf), &o, &y2, &m2, &d2, &why) == 0 &&
		 y == y2 && m == m2 && d == d2, "\"%s\" does not read back", buf);
	/* the calendar: the day exists */
	{
		int yy, mm, dd;
		norm_civil_from_days(norm_days_from_civil(y, m, d), &yy, &mm, &dd);
		FZ_CHECK(yy == y && mm == m && dd == d, "%d-%d-%d is not a day", y, m, d);
	}
}

static void amount(const char *s, size_t n, int opt)
{
	struct norm_opts o = { 0 };
	int exponent = opt % 4;
	int64_t minor, back;
	uint64_t mag;
	char buf[64], digits[32];
	const char *why;
	size_t k;

	o.decimal = (opt >> 2) % 3 == 0 ? 0 : (opt >> 2) % 3 == 1 ? '.' : ',';
	if (norm_amount(s, n, exponent, &o, &minor, &why))
		return;
	mag = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;
	snprintf(digits, sizeof(digits), "%0*llu", exponent + 1, (unsigned long long)mag);
	k = strlen(digits);
	snprintf(buf, sizeof(buf), "%s%.*s%s%s", minor < 0 ? "-" : "", (int)(k - (size_t)exponent),
		 digits, exponent ? "." : "", digits + k - exponent);
	o.decimal = '.';
	if (norm_amount(buf, strlen(buf), exponent, &o, &back, &why) || back != minor) {
		fz_dump("input", s, n);
		FZ_CHECK(0, "%lld minor units (exponent %d) written \"%s\" read back as %lld (%s)",
			 (long long)minor, exponent, buf, (long long)back, why);
	}
}

static void currency(const char *s, size_t n)
{
	char code[4], back[4];
	int e, e2;
	const char *why;

	if (norm_currency(s, n, code, &e, &why))
		return;
	FZ_CHECK(strlen(code) == 3 && e >= 0 && e <= 4, "currency \"%s\" %d", code, e);
	FZ_CHECK(norm_currency(code, 3, back, &e2, &why) == 0 && !strcmp(code, back) && e == e2,
		 "currency \"%s\" does not read back", code);
}

static void country(const char *s, size_t n)
{
	char out[3], back[3];
	const char *why;

	if (norm_country(s, n, out, &why))
		return;
	FZ_CHECK(strlen(out) == 2 && ascii_upper(out[0]) == out[0] && ascii_upper(out[1]) == out[1],
		 "country \"%s\"", out);
	FZ_CHECK(norm_country(out, 2, back, &why) == 0 && !strcmp(out, back),
		 "country \"%s\" does not read back", out);
}

static void duration(const char *s, size_t n)
{
	int64_t secs, back;
	char buf[32];
	const char *why;

	if (norm_duration(s, n, &secs, &why))
		return;
	FZ_CHECK(secs >= 0, "negative duration %lld", (long long)secs);
	snprintf(buf, sizeof(buf), "%llds", (long long)secs);
	FZ_CHECK(norm_duration(buf, strlen(buf), &back, &why) == 0 && back == secs,
		 "\"%s\" does not read back", buf);
}

static void boolean(const char *s, size_t n)
{
	int v = -1;
	const char *why;

	if (norm_bool(s, n, &v, &why) == 0)
		FZ_CHECK(v == 0 || v == 1, "boolean %d", v);
}

static void pattern(const char *s, size_t n)
{
	const char *nl = memchr(s, '\n', n);
	struct norm_opts o = { 0 };
	char *p;
	int64_t epoch;
	const char *why;

	if (!nl)
		return;
	p = fz_str((const uint8_t *)s, (size_t)(nl - s));
	if (norm_date_format(p, &o) == 0 &&
	    norm_time(nl + 1, n - (size_t)(nl + 1 - s), &o, &epoch, &why) == 0)
		time_back(s, n, epoch);
	free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data + 2;
	size_t n = size - 2;

	if (size < 2 || size > 4096)
		return 0;
	switch (data[0] % 10) {
	case 0: email(s, n); break;
	case 1: phone(s, n, data[1]); break;
	case 2: time_(s, n, data[1]); break;
	case 3: date(s, n, data[1]); break;
	case 4: amount(s, n, data[1]); break;
	case 5: currency(s, n); break;
	case 6: country(s, n); break;
	case 7: duration(s, n); break;
	case 8: boolean(s, n); break;
	case 9: pattern(s, n); break;
	}
	return 0;
}
