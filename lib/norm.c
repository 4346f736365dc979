/*
 * norm.c - normalisation of customer data; see norm.h.
 *
 * Every parser works on a byte range and never reads past its end, uses
 * only the ASCII helpers of util.h (no <ctype.h>, nothing that depends on
 * the locale) and static const tables. Calendar arithmetic is our own;
 * only naive local times go through mktime(3) and only --date-format
 * patterns through strptime(3). Money is integer arithmetic throughout.
 */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE		/* struct tm's tm_gmtoff */
#endif
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700	/* strptime(3) */
#endif

#include "norm.h"

#include "fold.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

static int fail(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return -1;
}

/* Does s[0..n) begin with the ASCII literal lit, ignoring case? */
static int has_prefix_ci(const char *s, size_t n, const char *lit)
{
	size_t k = strlen(lit);

	return n >= k && !ascii_ncasecmp(s, lit, k);
}

/* Like trim(), and also drops the spaces U+2009 and U+202F (French and
 * Russian amounts put them before the currency sign). */
static const char *trim_wide(const char *s, size_t *len)
{
	static const char *const sp[] = { "\xe2\x80\x89", "\xe2\x80\xaf" };
	size_t n, i;
	int again = 1;

	while (again) {
		again = 0;
		s = trim(s, len);
		n = *len;
		for (i = 0; i < ARRAY_SIZE(sp); i++) {
			if (n >= 3 && !memcmp(s, sp[i], 3)) {
				s += 3, n -= 3, again = 1;
			} else if (n >= 3 && !memcmp(s + n - 3, sp[i], 3)) {
				n -= 3, again = 1;
			}
			*len = n;
		}
	}
	return s;
}

/* ---------------------------------------------------------------- UTF-8 */

#define BAD_CP 0x110000u

/*
 * Decodes the code point at s[0..n) (n > 0) into *cp and returns its
 * length in bytes. A malformed sequence counts as one byte decoding to
 * BAD_CP, so callers can walk arbitrary bytes safely.
 */
static size_t u8_dec(const char *str, size_t n, unsigned *cp)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned c = s[0], v;
	size_t k, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf)
		k = 1, v = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		k = 2, v = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		k = 3, v = c & 0x07;
	else
		goto bad;
	if (n <= k)
		goto bad;
	for (i = 1; i <= k; i++) {
		if ((s[i] & 0xc0) != 0x80)
			goto bad;
		v = v << 6 | (s[i] & 0x3f);
	}
	*cp = v;
	return k + 1;
bad:
	*cp = BAD_CP;
	return 1;
}

static size_t u8_enc(unsigned cp, char *b)
{
	if (cp < 0x80) {
		b[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		b[0] = (char)(0xc0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		b[0] = (char)(0xe0 | cp >> 12);
		b[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	b[0] = (char)(0xf0 | cp >> 18);
	b[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	b[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	b[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * Simple lower-casing without tables from the locale: ASCII, Latin-1,
 * Latin Extended-A (Polish, Czech, Turkish ...), Greek and Cyrillic
 * capitals. Everything else, including Turkish dotted capital I (whose
 * lower case is two code points), is returned unchanged. Every mapping
 * keeps the UTF-8 length, which norm_email and the suffix matching of
 * amounts rely on.
 */
static unsigned lower_cp(unsigned c)
{
	if (c < 0x80)
		return (unsigned)ascii_lower((int)c);
	if (c >= 0xc0 && c <= 0xde && c != 0xd7)
		return c + 0x20;
	if ((c >= 0x100 && c <= 0x12f) || (c >= 0x132 && c <= 0x137) ||
	    (c >= 0x14a && c <= 0x177))
		return c | 1;
	if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e))
		return c & 1 ? c + 1 : c;
	if (c == 0x178)
		return 0xff;
	if (c >= 0x391 && c <= 0x3ab && c != 0x3a2)
		return c + 0x20;
	if (c >= 0x410 && c <= 0x42f)
		return c + 0x20;
	if (c >= 0x400 && c <= 0x40f)
		return c + 0x50;
	return c;
}

/*
 * Does s[0..n) begin with lit[0..m), ignoring case as lower_cp does? On a
 * match *used is the number of bytes of s matched.
 */
static int u8_ci_prefix(const char *s, size_t n, const char *lit, size_t m,
			size_t *used)
{
	size_t i = 0, j = 0;

	while (j < m) {
		unsigned a, b;

		if (i >= n)
			return 0;
		i += u8_dec(s + i, n - i, &a);
		j += u8_dec(lit + j, m - j, &b);
		if (a == BAD_CP || lower_cp(a) != lower_cp(b))
			return 0;
	}
	*used = i;
	return 1;
}

static int u8_ci_eq(const char *s, size_t n, const char *lit, size_t m)
{
	size_t used;

	return u8_ci_prefix(s, n, lit, m, &used) && used == n;
}

/* Length of lit when s[0..n) ends with it (ignoring case), else 0. */
static size_t u8_ci_suffix(const char *s, size_t n, const char *lit)
{
	size_t m = strlen(lit);

	return m <= n && u8_ci_eq(s + n - m, m, lit, m) ? m : 0;
}

/* ---------------------------------------------------------------- e-mail */

static int is_atext(int c)
{
	return ascii_isalpha(c) || ascii_isdigit(c) ||
		(c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/*
 * Non-ASCII code points allowed in addresses (RFC 6531 lets any UTF-8
 * through; we keep out what is certainly not a letter: C1 controls,
 * no-break and other spaces, invisible formatting and specials).
 */
static int u8_addr_ok(unsigned cp)
{
	return cp != BAD_CP && cp > 0xa0 && cp != 0xad &&
		!(cp >= 0x2000 && cp <= 0x206f) && cp != 0x3000 &&
		cp != 0xfeff && !(cp >= 0xfff0 && cp <= 0xffff);
}

/* A C0 control character but TAB, DEL, or a C1 control (U+0080 to
 * U+009F, 0xc2 0x80-0x9f in UTF-8) in s[0..n). */
static int has_control(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return 1;
		if (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 &&
		    (unsigned char)s[i + 1] <= 0x9f)
			return 1;
	}
	return 0;
}

/* Strips "Name <addr>" (the last '<' wins, names may hold '<') and a
 * "mailto:" prefix. The name is dropped, but one with a CR, LF or other
 * control character is refused: reused in a header ("To: Name <addr>")
 * it would end the header and start another. */
static int email_unwrap(const char **sp, size_t *len, const char **why)
{
	const char *s = trim(*sp, len);
	size_t n = *len, lt;

	if (n && s[n - 1] == '>') {
		for (lt = n - 1; lt && s[lt - 1] != '<'; lt--)
			;
		if (!lt)
			return fail(why, "'>' without '<'");
		if (has_control(s, lt - 1))
			return fail(why, "control character in display name");
		n = n - 1 - lt;
		s = trim(s + lt, &n);
	}
	if (has_prefix_ci(s, n, "mailto:")) {
		s += 7, n -= 7;
		s = trim(s, &n);
	}
	*sp = s;
	*len = n;
	return 0;
}

static int email_local(const char *s, size_t n, const char **why)
{
	size_t i;

	if (!n)
		return fail(why, "empty local part");
	if (n > 64)
		return fail(why, "local part longer than 64 bytes");
	if (s[0] == '.' || s[n - 1] == '.')
		return fail(why, "dot at start or end of local part");
	for (i = 0; i < n; ) {
		unsigned char c = (unsigned char)s[i];
		unsigned cp;

		if (c == '.' && i + 1 < n && s[i + 1] == '.')
			return fail(why, "consecutive dots in local part");
		if (c >= 0x80) {
			i += u8_dec(s + i, n - i, &cp);
			if (!u8_addr_ok(cp))
				break;
			continue;
		}
		if (c != '.' && !is_atext(c))
			break;
		i++;
	}
	if (i < n)
		return fail(why, "invalid character in local part");
	return 0;
}

/* The top-level label: letters only (ASCII or not), 2+ characters, or an
 * IDNA A-label such as "xn--p1ai". */
static int email_tld(const char *s, size_t n, const char **why)
{
	size_t i, chars = 0;

	if (has_prefix_ci(s, n, "xn--") && n > 4)
		return 0;
	for (i = 0; i < n; chars++) {
		unsigned cp;

		i += u8_dec(s + i, n - i, &cp);
		if (cp < 0x80 && !ascii_isalpha((int)cp))
			return fail(why, "invalid top-level domain");
	}
	if (chars < 2)
		return fail(why, "top-level domain shorter than 2 characters");
	return 0;
}

static int email_label(const char *s, size_t n, const char **why)
{
	size_t i;

	if (!n)
		return fail(why, "empty label in domain");
	if (n > 63)
		return fail(why, "domain label longer than 63 bytes");
	if (s[0] == '-' || s[n - 1] == '-')
		return fail(why, "hyphen at start or end of domain label");
	for (i = 0; i < n; ) {
		unsigned char c = (unsigned char)s[i];
		unsigned cp;

		if (c >= 0x80) {
			i += u8_dec(s + i, n - i, &cp);
			if (!u8_addr_ok(cp))
				return fail(why, "invalid character in domain");
			continue;
		}
		if (!ascii_isalpha(c) && !ascii_isdigit(c) && c != '-')
			return fail(why, "invalid character in domain");
		i++;
	}
	return 0;
}

static int email_domain(const char *s, size_t n, const char **why)
{
	size_t i, start = 0, labels = 0;

	if (!n)
		return fail(why, "empty domain");
	if (n > 253)
		return fail(why, "domain longer than 253 bytes");
	if (s[0] == '.' || s[n - 1] == '.')
		return fail(why, "dot at start or end of domain");
	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		if (i == start)
			return fail(why, "consecutive dots in domain");
		if (email_label(s + start, i - start, why))
			return -1;
		labels++;
		if (i == n && labels < 2)
			return fail(why, "no dot in domain");
		if (i == n)
			return email_tld(s + start, i - start, why);
		start = i + 1;
	}
	return 0;
}

static void add_lower(struct sb *out, const char *s, size_t n)
{
	size_t i;

	sb_grow(out, n);
	for (i = 0; i < n; ) {
		unsigned cp;
		char b[4];

		i += u8_dec(s + i, n - i, &cp);
		sb_add(out, b, u8_enc(lower_cp(cp), b));
	}
}

int norm_email(const char *s, size_t len, struct sb *out, const char **why)
{
	const char *at = NULL;
	size_t i, nat = 0;

	sb_reset(out);
	if (email_unwrap(&s, &len, why))
		return -1;
	if (!len)
		return fail(why, "empty address");
	if (!utf8_valid(s, len, NULL))
		return fail(why, "invalid utf-8");
	for (i = 0; i < len; i++) {
		if (s[i] == '@')
			at = s + i, nat++;
		else if (ascii_isspace((unsigned char)s[i]))
			return fail(why, "space in address");
	}
	if (!nat)
		return fail(why, "no '@'");
	if (nat > 1)
		return fail(why, "more than one '@'");
	if (email_local(s, (size_t)(at - s), why) ||
	    email_domain(at + 1, len - (size_t)(at - s) - 1, why))
		return -1;
	if (len > 254)
		return fail(why, "address longer than 254 bytes");
	add_lower(out, s, len);
	return 0;
}

/* ------------------------------------------------------------- countries */

/*
 * The countries we have a telephone numbering plan for. trunk is the
 * national (trunk) prefix dialled before the national significant number
 * (NSN) inside the country and dropped in E.164; "" when numbers have none
 * or keep it (Italy keeps its 0, so it is part of the NSN there). min and
 * max bound the NSN length. The first entry of a shared calling code (+7,
 * +1) is the one used for international numbers. Country names are not
 * here: norm_country() knows them all (countries_tab.c).
 */
struct country {
	char a2[3];
	const char *cc, *trunk;
	unsigned char min, max;
	const char *why_nat, *why_intl;
};

#define C(a2, cc, trunk, min, max) \
	{ a2, cc, trunk, min, max, "wrong length for " a2, "wrong length for +" cc }

static const struct country countries[] = {
	C("RU", "7", "8", 10, 10),
	C("KZ", "7", "8", 10, 10),
	C("BY", "375", "80", 9, 9),
	C("UA", "380", "0", 9, 9),
	C("UZ", "998", "", 9, 9),
	C("AM", "374", "0", 8, 8),
	C("GE", "995", "0", 9, 9),
	C("AZ", "994", "0", 9, 9),
	C("KG", "996", "0", 9, 9),
	C("MD", "373", "0", 8, 8),
	C("TR", "90", "0", 10, 10),
	C("US", "1", "1", 10, 10),
	C("CA", "1", "1", 10, 10),
	C("DE", "49", "0", 6, 13),
	C("GB", "44", "0", 9, 10),
	C("FR", "33", "0", 9, 9),
	C("IT", "39", "", 6, 11),
	C("ES", "34", "", 9, 9),
	C("NL", "31", "0", 9, 9),
	C("PL", "48", "", 9, 9),
	C("CH", "41", "0", 9, 9),
	C("CZ", "420", "", 9, 9),
	C("SE", "46", "0", 7, 9),
	C("NO", "47", "", 8, 8),
	C("DK", "45", "", 8, 8),
	C("PT", "351", "", 9, 9),
	C("BE", "32", "0", 8, 9),
	C("IN", "91", "0", 10, 10),
	C("CN", "86", "0", 10, 11),
	C("BR", "55", "0", 10, 11),
	C("AE", "971", "0", 8, 9),
	C("IL", "972", "0", 8, 9),
	C("JP", "81", "0", 9, 10),
	C("AU", "61", "0", 9, 9),
};

#undef C

/*
 * The table share/gen_countries.c builds from iso-codes at build time:
 * keys of every ISO 3166-1 code, English name and translation and of the
 * aliases of share/countries.aliases (fold_name()), sorted by their bytes,
 * with the alpha-2 code each names: in lower case when only a code gives
 * the key (so "N/A", whose key is "na", is not Namibia).
 */
extern const size_t crm_country_nkeys;
extern const char crm_country_names[];
extern const uint32_t crm_country_off[];
extern const char crm_country_a2[];

/* The alpha-2 code of key, or NULL. */
static const char *country_by_key(const char *key)
{
	size_t lo = 0, hi = crm_country_nkeys;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(key, crm_country_names + crm_country_off[mid]);

		if (!c)
			return crm_country_a2 + 2 * mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

int norm_country(const char *s, size_t len, char out[3], const char **why)
{
	char key[FOLD_MAX + 1];
	const char *a2;
	int code = 0;

	out[0] = 0;
	s = trim_wide(s, &len);
	if (!len)
		return fail(why, "empty country");
	if (len == 2 || len == 3)
		code = ascii_isalpha(s[0]) && ascii_isalpha(s[1]) &&
		       (len == 2 || ascii_isalpha(s[2]));
	if (fold_name(s, len, key) == (size_t)-1 || !(a2 = country_by_key(key)) ||
	    (!code && a2[0] >= 'a'))
		return fail(why, "unknown country");
	out[0] = (char)ascii_upper(a2[0]);
	out[1] = (char)ascii_upper(a2[1]);
	out[2] = 0;
	return 0;
}

/* The numbering plan of an alpha-2 code. */
static const struct country *plan_by_a2(const char *a2)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(countries); i++)
		if (!memcmp(countries[i].a2, a2, 2))
			return &countries[i];
	return NULL;
}

/* ---------------------------------------------------------------- phones */

#define E164_MAX 15

struct digits {
	char d[24];
	size_t n;
};

/* Reports the first character that is neither a digit nor a separator. */
static int phone_bad_char(const char *s, size_t n, const char **why)
{
	size_t used;

	if (s[0] == ';' || s[0] == ',' || s[0] == '#' ||
	    has_prefix_ci(s, n, "ext") ||
	    (ascii_lower(s[0]) == 'x' && (n == 1 || !ascii_isalpha(s[1]))) ||
	    u8_ci_prefix(s, n, "доб", strlen("доб"), &used))
		return fail(why, "extension not allowed");
	if (s[0] == '+')
		return fail(why, "misplaced '+'");
	if (ascii_isalpha(s[0]) || (unsigned char)s[0] >= 0x80)
		return fail(why, "letter in phone number");
	return fail(why, "invalid character in phone number");
}

/* Length of a separator at s[0..n): " -.()/", tab, and no-break space,
 * non-breaking hyphen, en dash, narrow no-break space. */
static size_t phone_sep(const char *s, size_t n)
{
	static const char *const wide[] = {
		"\xc2\xa0", "\xe2\x80\x91", "\xe2\x80\x93", "\xe2\x80\xaf",
	};
	size_t i;

	if (s[0] && strchr(" \t-.()/", s[0]))
		return 1;
	for (i = 0; i < ARRAY_SIZE(wide); i++) {
		size_t k = strlen(wide[i]);

		if (n >= k && !memcmp(s, wide[i], k))
			return k;
	}
	return 0;
}

/* Collects the digits of s; *plus is set by a '+' before the first digit
 * ("+7 ...", "(+7) ..."). */
static int phone_scan(const char *s, size_t n, int *plus, struct digits *dg,
		      const char **why)
{
	size_t i = 0, k;

	*plus = 0;
	dg->n = 0;
	while (i < n) {
		if (ascii_isdigit(s[i])) {
			if (dg->n == sizeof(dg->d))
				return fail(why, "phone number too long");
			dg->d[dg->n++] = s[i++];
		} else if (s[i] == '+' && !*plus && !dg->n) {
			*plus = 1;
			i++;
		} else if ((k = phone_sep(s + i, n - i))) {
			i += k;
		} else {
			return phone_bad_char(s + i, n - i, why);
		}
	}
	return 0;
}

static int nsn_ok(const struct country *c, size_t n)
{
	return n >= c->min && n <= c->max;
}

static int has_trunk(const struct country *c, const char *d, size_t n)
{
	size_t k = strlen(c->trunk);

	return k && n >= k && !memcmp(d, c->trunk, k);
}

/* The table entry whose calling code begins d (codes are prefix-free, so
 * at most one code matches; +7 and +1 give their first country). */
static const struct country *plan_by_cc(const char *d, size_t n)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(countries); i++) {
		size_t k = strlen(countries[i].cc);

		if (k <= n && !memcmp(d, countries[i].cc, k))
			return &countries[i];
	}
	return NULL;
}

static int phone_emit(const char *cc, const char *d, size_t n, char out[17],
		      const char **why)
{
	size_t k = strlen(cc);

	if (k + n > E164_MAX)
		return fail(why, "phone number too long");
	out[0] = '+';
	memcpy(out + 1, cc, k);
	memcpy(out + 1 + k, d, n);
	out[1 + k + n] = 0;
	return 0;
}

/* North American Numbering Plan: area code and exchange are NXX, N 2-9. */
static int plan_emit(const struct country *c, const char *d, size_t n,
		     char out[17], const char **why)
{
	if (!strcmp(c->cc, "1")) {
		if (d[0] < '2')
			return fail(why, "invalid area code");
		if (d[3] < '2')
			return fail(why, "invalid exchange code");
	}
	return phone_emit(c->cc, d, n, out, why);
}

/*
 * +CC NSN. People write the trunk prefix after the code ("+44 (0)20 ...",
 * "+7 8 916 ..."): we drop it when the trunk is "0" (no such country's NSN
 * starts with 0) or when only the shorter number has a valid length (an
 * NSN may start with 8 in Russia: "+7 800 ...").
 */
static int phone_intl(const char *d, size_t n, char out[17], const char **why)
{
	const struct country *c;
	size_t k;

	if (d[0] == '0')
		return fail(why, "invalid country code");
	c = plan_by_cc(d, n);
	if (!c) {
		if (n < 8)
			return fail(why, "phone number too short");
		if (n > E164_MAX)
			return fail(why, "phone number too long");
		return phone_emit("", d, n, out, why);
	}
	d += strlen(c->cc);
	n -= strlen(c->cc);
	k = strlen(c->trunk);
	if (has_trunk(c, d, n) && (!strcmp(c->trunk, "0") ||
				   (!nsn_ok(c, n) && nsn_ok(c, n - k))))
		d += k, n -= k;
	if (!nsn_ok(c, n))
		return fail(why, c->why_intl);
	/* "+44 00 20...": a second trunk prefix would stay in the number,
	 * which then reads differently the next time */
	if (!strcmp(c->trunk, "0") && d[0] == '0')
		return fail(why, "national number starts with 0");
	return plan_emit(c, d, n, out, why);
}

static const struct country *phone_country(const char *country,
					   const struct norm_opts *o,
					   const char **why)
{
	const char *cn = country, *bad;
	const struct country *c;
	char a2[3];
	size_t n;

	if (cn && *cn) {
		n = strnlen(cn, 64);
	} else if (o && o->default_country[0]) {
		cn = o->default_country;
		n = strnlen(cn, sizeof(o->default_country));
	} else {
		fail(why, "no country for national number");
		return NULL;
	}
	c = norm_country(cn, n, a2, &bad) ? NULL : plan_by_a2(a2);
	if (!c)
		fail(why, "no phone rules for this country");
	return c;
}

/*
 * A national number: with the trunk prefix ("8 916 ...", "0 30 ..."),
 * without it ("916 ..."), or in international form without the '+'
 * ("7 916 ..."). A number that begins with the trunk prefix must be
 * trunk + NSN: "8 916 123 45 6" is a mobile number missing a digit, not
 * the NSN 891 612 34 56 (so a Russian "800 ..." needs its leading 8).
 */
static int phone_national(const char *d, size_t n, const char *country,
			  const struct norm_opts *o, char out[17],
			  const char **why)
{
	const struct country *c = phone_country(country, o, why);
	size_t k, cc;

	if (!c)
		return -1;
	k = strlen(c->trunk);
	cc = strlen(c->cc);
	if (has_trunk(c, d, n)) {
		if (nsn_ok(c, n - k))
			return plan_emit(c, d + k, n - k, out, why);
	} else if (nsn_ok(c, n)) {
		return plan_emit(c, d, n, out, why);
	}
	/* the country code without its '+' ("49 30 ..."): read as "+49 30
	 * ...", so that the result reads the same the next time (found by
	 * fuzz_norm: "49 00 ..." gave "+4900...", which "+" then refuses) */
	if (n > cc && !memcmp(d, c->cc, cc) && nsn_ok(c, n - cc))
		return phone_intl(d, n, out, why);
	return fail(why, c->why_nat);
}

int norm_phone(const char *s, size_t len, const char *country,
	       const struct norm_opts *o, char out[17], const char **why)
{
	struct digits dg;
	int plus;

	out[0] = 0;
	s = trim(s, &len);
	if (has_prefix_ci(s, len, "tel:")) {
		s += 4, len -= 4;
		s = trim(s, &len);
	}
	if (!len)
		return fail(why, "empty phone number");
	if (phone_scan(s, len, &plus, &dg, why))
		return -1;
	if (!dg.n)
		return fail(why, "no digits in phone number");
	if (!plus && dg.n > 2 && dg.d[0] == '0' && dg.d[1] == '0') {
		plus = 1;
		dg.n -= 2;
		memmove(dg.d, dg.d + 2, dg.n);
	}
	if (plus)
		return phone_intl(dg.d, dg.n, out, why);
	return phone_national(dg.d, dg.n, country, o, out, why);
}

/* ------------------------------------------------------------- calendar */

/*
 * Howard Hinnant's days_from_civil/civil_from_days: exact for the whole
 * proleptic Gregorian calendar. The arithmetic is done in int64_t so that
 * no int argument can overflow it.
 */
int64_t norm_days_from_civil(int y, int m, int d)
{
	int64_t yy = (int64_t)y - (m <= 2), mm = m, era, yoe, doy, doe;

	era = (yy >= 0 ? yy : yy - 399) / 400;
	yoe = yy - era * 400;
	doy = (153 * (mm > 2 ? mm - 3 : mm + 9) + 2) / 5 + (int64_t)d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* Days beyond 2^39 (about 1.5 billion years) either way are clamped,
 * which keeps the year inside int. */
#define DAYS_LIMIT ((int64_t)1 << 39)

void norm_civil_from_days(int64_t days, int *y, int *m, int *d)
{
	int64_t z, era, doe, yoe, doy, mp, yy;

	if (days > DAYS_LIMIT)
		days = DAYS_LIMIT;
	if (days < -DAYS_LIMIT)
		days = -DAYS_LIMIT;
	z = days + 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	yy = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yy + (*m <= 2));
}

static int is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
	static const unsigned char dim[] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};

	return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

static void put_num(char *b, int v, int width)
{
	while (width--) {
		b[width] = (char)('0' + v % 10);
		v /= 10;
	}
}

static int clamp(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

void norm_fmt_date(int y, int m, int d, char buf[11])
{
	put_num(buf, clamp(y, 0, 9999), 4);
	buf[4] = '-';
	put_num(buf + 5, clamp(m, 0, 99), 2);
	buf[7] = '-';
	put_num(buf + 8, clamp(d, 0, 99), 2);
	buf[10] = 0;
}

/* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: what fits the format. */
#define EPOCH_MIN INT64_C(-62167219200)
#define EPOCH_MAX INT64_C(253402300799)

void norm_fmt_time(int64_t epoch, char buf[20])
{
	int64_t days, secs;
	int y, m, d;

	if (epoch < EPOCH_MIN)
		epoch = EPOCH_MIN;
	if (epoch > EPOCH_MAX)
		epoch = EPOCH_MAX;
	days = epoch / 86400;
	secs = epoch % 86400;
	if (secs < 0)
		secs += 86400, days--;
	norm_civil_from_days(days, &y, &m, &d);
	norm_fmt_date(y, m, d, buf);
	buf[10] = ' ';
	put_num(buf + 11, (int)(secs / 3600), 2);
	buf[13] = ':';
	put_num(buf + 14, (int)(secs / 60 % 60), 2);
	buf[16] = ':';
	put_num(buf + 17, (int)(secs % 60), 2);
	buf[19] = 0;
}

/* ----------------------------------------------------------- date parser */

struct dt {
	int y, m, d, hh, mi, ss;
	int has_time, has_off;
	long off;		/* seconds east of UTC */
};

struct scan {
	const char *s;
	size_t n, i;
};

static int peek(const struct scan *c)
{
	return c->i < c->n ? (unsigned char)c->s[c->i] : -1;
}

static size_t digit_run(const struct scan *c)
{
	size_t k = 0;

	while (c->i + k < c->n && ascii_isdigit(c->s[c->i + k]))
		k++;
	return k;
}

/* Reads min..max digits (and insists that no digit follows). */
static int read_num(struct scan *c, size_t min, size_t max, int *v)
{
	size_t k = digit_run(c), i;

	if (k < min || k > max)
		return -1;
	for (*v = 0, i = 0; i < k; i++)
		*v = *v * 10 + (c->s[c->i++] - '0');
	return 0;
}

static int skip_char(struct scan *c, int ch)
{
	if (peek(c) != ch)
		return 0;
	c->i++;
	return 1;
}

static void skip_spaces(struct scan *c)
{
	while (peek(c) == ' ' || peek(c) == '\t')
		c->i++;
}

/* "2026-11-23", "2026/11/23", "2026.11.23" (a 4-digit year comes first
 * in every order). */
static int parse_year_first(struct scan *c, struct dt *t, const char **why)
{
	int sep;

	read_num(c, 4, 4, &t->y);
	sep = peek(c);
	if (sep != '-' && sep != '/' && sep != '.')
		return fail(why, "not a valid date");
	c->i++;
	if (read_num(c, 1, 2, &t->m) || !skip_char(c, sep) ||
	    read_num(c, 1, 2, &t->d))
		return fail(why, "not a valid date");
	return 0;
}

/*
 * a.b.yyyy, a/b/yyyy, a-b-yyyy. Dots are day first unless --date-format
 * mdy says otherwise; slashes and dashes follow --date-format, or the
 * order decided for their column (NORM_DATE_AUTO_DMY, _MDY), and in
 * auto (and ymd) mode are taken only when the reading is unambiguous: one
 * part above 12, or both equal.
 */
static int order_day_month(int a, int b, int sep, enum norm_date_order ord,
			   struct dt *t, const char **why)
{
	int dmy;

	if (ord == NORM_DATE_DMY || ord == NORM_DATE_MDY)
		dmy = ord == NORM_DATE_DMY;
	else if (sep == '.' || a == b)
		dmy = 1;
	else if (ord == NORM_DATE_AUTO_DMY || ord == NORM_DATE_AUTO_MDY)
		dmy = ord == NORM_DATE_AUTO_DMY;
	else if (a > 12 && b <= 12)
		dmy = 1;
	else if (b > 12 && a <= 12)
		dmy = 0;
	else if (a > 12)
		return fail(why, "not a valid date");
	else
		return fail(why, "ambiguous date; use --date-format dmy or mdy");
	t->d = dmy ? a : b;
	t->m = dmy ? b : a;
	return 0;
}

static int parse_year_last(struct scan *c, enum norm_date_order ord,
			   struct dt *t, const char **why)
{
	int a = 0, b = 0, sep;

	read_num(c, 1, 2, &a);
	sep = peek(c);
	if (sep != '-' && sep != '/' && sep != '.')
		return fail(why, "not a valid date");
	c->i++;
	if (read_num(c, 1, 2, &b) || !skip_char(c, sep))
		return fail(why, "not a valid date");
	if (digit_run(c) == 2)
		return fail(why, "two-digit year");
	if (read_num(c, 4, 4, &t->y))
		return fail(why, "not a valid date");
	return order_day_month(a, b, sep, ord, t, why);
}

static int parse_date_part(struct scan *c, enum norm_date_order ord,
			   struct dt *t, const char **why)
{
	size_t k = digit_run(c);

	if (k == 8) {		/* YYYYMMDD */
		read_num(c, 8, 8, &t->y);
		t->d = t->y % 100;
		t->m = t->y / 100 % 100;
		t->y /= 10000;
		return 0;
	}
	if (k == 4)
		return parse_year_first(c, t, why);
	if (k == 1 || k == 2)
		return parse_year_last(c, ord, t, why);
	return fail(why, "not a valid date");
}

/* "Z", "UTC", "GMT", "+03:00", "+0300", "+03" (also after a space). */
static int parse_offset(struct scan *c, struct dt *t, const char **why)
{
	int sign, h = 0, m = 0;

	if (skip_char(c, 'Z') || skip_char(c, 'z')) {
		t->has_off = 1;
		return 0;
	}
	if (has_prefix_ci(c->s + c->i, c->n - c->i, "UTC") ||
	    has_prefix_ci(c->s + c->i, c->n - c->i, "GMT")) {
		c->i += 3;
		t->has_off = 1;
		return 0;
	}
	sign = peek(c);
	if (sign != '+' && sign != '-')
		return 0;
	c->i++;
	switch (digit_run(c)) {
	case 2:		/* +03 or +03:00 */
		read_num(c, 2, 2, &h);
		if (skip_char(c, ':') && read_num(c, 2, 2, &m))
			return fail(why, "invalid time zone offset");
		break;
	case 4:		/* +0300 */
		read_num(c, 4, 4, &h);
		m = h % 100;
		h /= 100;
		break;
	default:
		return fail(why, "invalid time zone offset");
	}
	if (h > 18 || m > 59)
		return fail(why, "invalid time zone offset");
	t->off = (sign == '-' ? -1 : 1) * (h * 3600L + m * 60L);
	t->has_off = 1;
	return 0;
}

/* "AM"/"PM" after a 12-hour clock time. */
static int parse_ampm(struct scan *c, struct dt *t, const char **why)
{
	const char *p = c->s + c->i;
	size_t n = c->n - c->i;
	int pm;

	if (has_prefix_ci(p, n, "am"))
		pm = 0;
	else if (has_prefix_ci(p, n, "pm"))
		pm = 1;
	else
		return 0;
	c->i += 2;
	if (t->hh < 1 || t->hh > 12)
		return fail(why, "not a valid time");
	t->hh = t->hh % 12 + (pm ? 12 : 0);
	return 0;
}

/* {T|,? }H[H]:MM[:SS[.frac]] [AM|PM] [offset]; fractions are dropped.
 * The comma is what JavaScript's toLocaleString() puts there. */
static int parse_clock(struct scan *c, struct dt *t, const char **why)
{
	if (c->i == c->n)
		return 0;
	if (!skip_char(c, 'T') && !skip_char(c, 't')) {
		skip_char(c, ',');
		if (peek(c) != ' ')
			return fail(why, "not a valid date");
		skip_spaces(c);
	}
	if (read_num(c, 1, 2, &t->hh) || !skip_char(c, ':') ||
	    read_num(c, 2, 2, &t->mi))
		return fail(why, "not a valid time");
	if (skip_char(c, ':')) {
		if (read_num(c, 2, 2, &t->ss))
			return fail(why, "not a valid time");
		if ((skip_char(c, '.') || skip_char(c, ',')) && !digit_run(c))
			return fail(why, "not a valid time");
		c->i += digit_run(c);
	}
	t->has_time = 1;
	skip_spaces(c);
	if (parse_ampm(c, t, why))
		return -1;
	skip_spaces(c);
	if (parse_offset(c, t, why))
		return -1;
	if (c->i != c->n)
		return fail(why, "not a valid time");
	return 0;
}

static int check_fields(const struct dt *t, int ymax, const char **why)
{
	if (t->y < 1900 || t->y > ymax)
		return fail(why, "year out of range");
	if (t->m < 1 || t->m > 12 || t->d < 1 ||
	    t->d > days_in_month(t->y, t->m))
		return fail(why, "no such date");
	if (t->hh > 23 || t->mi > 59 || t->ss > 59)
		return fail(why, "not a valid time");
	return 0;
}

/*
 * A pattern from --date-format goes to strptime(3) on a NUL-terminated
 * copy. Fields the pattern lacks stay 0 (so no time means midnight); a
 * "%z" sets the offset through glibc's tm_gmtoff.
 */
static int parse_pattern(const char *s, size_t n, const char *pat,
			 struct dt *t, const char **why)
{
	char buf[128];
	struct tm tm;
	const char *end;

	if (!pat)
		return fail(why, "no date pattern");
	if (n >= sizeof(buf))
		return fail(why, "date too long");
	if (memchr(s, 0, n))
		return fail(why, "not a valid date");
	memcpy(buf, s, n);
	buf[n] = 0;
	memset(&tm, 0, sizeof(tm));
	end = strptime(buf, pat, &tm);
	if (!end || *end)
		return fail(why, "date does not match --date-format");
	if (tm.tm_year < -1900 || tm.tm_year > 9999)
		return fail(why, "year out of range");
	t->y = tm.tm_year + 1900;
	t->m = tm.tm_mon + 1;
	t->d = tm.tm_mday;
	t->hh = tm.tm_hour;
	t->mi = tm.tm_min;
	t->ss = tm.tm_sec;
	t->has_time = t->hh || t->mi || t->ss;
	if (strstr(pat, "%z")) {
		t->has_off = 1;
		t->off = tm.tm_gmtoff;
	}
	return 0;
}

static int parse_dt(const char *s, size_t len, const struct norm_opts *o,
		    struct dt *t, const char **why)
{
	enum norm_date_order ord = o ? o->date_order : NORM_DATE_AUTO;
	struct scan c;

	memset(t, 0, sizeof(*t));
	s = trim(s, &len);
	if (!len)
		return fail(why, "empty date");
	if (ord == NORM_DATE_PATTERN)
		return parse_pattern(s, len, o->date_pattern, t, why);
	c.s = s;
	c.n = len;
	c.i = 0;
	if (parse_date_part(&c, ord, t, why) || parse_clock(&c, t, why))
		return -1;
	return 0;
}

/* Local wall-clock time to epoch through mktime(3), DST left to it. */
static int local_epoch(const struct dt *t, int64_t *epoch, const char **why)
{
	struct tm tm;
	time_t r;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = t->y - 1900;
	tm.tm_mon = t->m - 1;
	tm.tm_mday = t->d;
	tm.tm_hour = t->hh;
	tm.tm_min = t->mi;
	tm.tm_sec = t->ss;
	tm.tm_isdst = -1;
	tm.tm_wday = -1;	/* mktime sets it on success */
	r = mktime(&tm);
	if (tm.tm_wday == -1)
		return fail(why, "local time out of range");
	*epoch = (int64_t)r;
	return 0;
}

int norm_time(const char *s, size_t len, const struct norm_opts *o,
	      int64_t *epoch, const char **why)
{
	struct dt t;

	if (parse_dt(s, len, o, &t, why) || check_fields(&t, 2199, why))
		return -1;
	if (!t.has_off && o && o->naive_local)
		return local_epoch(&t, epoch, why);
	*epoch = norm_days_from_civil(t.y, t.m, t.d) * 86400 +
		t.hh * 3600 + t.mi * 60 + t.ss - t.off;
	return 0;
}

/* Whether s reads as a date and time in order ord (no time zone work:
 * only the fields are checked). */
static int reads_as(const char *s, size_t len, enum norm_date_order ord, struct dt *t)
{
	struct norm_opts o;
	const char *why;

	memset(&o, 0, sizeof(o));
	o.date_order = ord;
	return parse_dt(s, len, &o, t, &why) == 0 && check_fields(t, 2199, &why) == 0;
}

enum norm_date_shape norm_date_shape(const char *s, size_t len)
{
	struct scan c;
	struct dt d, m;
	int dmy, mdy;
	size_t k;

	s = trim(s, &len);
	c.s = s;
	c.n = len;
	c.i = 0;
	k = digit_run(&c);
	if ((k != 1 && k != 2) || k >= len || (s[k] != '/' && s[k] != '-'))
		return NORM_SHAPE_NONE;
	dmy = reads_as(s, len, NORM_DATE_DMY, &d);
	mdy = reads_as(s, len, NORM_DATE_MDY, &m);
	if (dmy && mdy)
		return d.d == d.m ? NORM_SHAPE_SAME : NORM_SHAPE_BOTH;
	return dmy ? NORM_SHAPE_DMY : mdy ? NORM_SHAPE_MDY : NORM_SHAPE_NONE;
}

int norm_date(const char *s, size_t len, const struct norm_opts *o,
	      int *y, int *m, int *d, const char **why)
{
	struct dt t;

	if (parse_dt(s, len, o, &t, why))
		return -1;
	if (t.has_time || t.has_off)
		return fail(why, "time not allowed in a date");
	if (check_fields(&t, 2100, why))
		return -1;
	*y = t.y;
	*m = t.m;
	*d = t.d;
	return 0;
}

/*
 * A pattern must name a four-digit year (%Y or %F): strptime's %y, %D
 * (%m/%d/%y) and %C guess the century, and a pattern without a year
 * would silently put every date in 1900.
 */
static int pattern_ok(const char *p)
{
	int year = 0;

	for (; *p; p++) {
		if (*p != '%')
			continue;
		p++;
		if (*p == 'E' || *p == 'O')
			p++;
		switch (*p) {
		case 0:
		case 'y':
		case 'D':
		case 'C':
			return 0;
		case 'Y':
		case 'F':
			year = 1;
			break;
		}
	}
	return year;
}

int norm_date_format(const char *spec, struct norm_opts *o)
{
	static const struct {
		const char *name;
		enum norm_date_order order;
	} names[] = {
		{ "auto", NORM_DATE_AUTO },
		{ "dmy", NORM_DATE_DMY },
		{ "mdy", NORM_DATE_MDY },
		{ "ymd", NORM_DATE_YMD },
	};
	size_t i;

	if (!spec || !o)
		return -1;
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		if (!ascii_casecmp(spec, names[i].name)) {
			o->date_order = names[i].order;
			o->date_pattern = NULL;
			return 0;
		}
	}
	if (!strchr(spec, '%') || !pattern_ok(spec))
		return -1;
	o->date_order = NORM_DATE_PATTERN;
	o->date_pattern = spec;
	return 0;
}

/* -------------------------------------------------------------- currency */

static const struct currency {
	char code[4];
	unsigned char exponent;
} currencies[] = {
	{ "AED", 2 }, { "AMD", 2 }, { "ARS", 2 }, { "AUD", 2 }, { "AZN", 2 },
	{ "BGN", 2 }, { "BHD", 3 }, { "BIF", 0 }, { "BRL", 2 }, { "BYN", 2 },
	{ "CAD", 2 }, { "CHF", 2 }, { "CLP", 0 }, { "CNY", 2 }, { "COP", 2 },
	{ "CZK", 2 }, { "DJF", 0 }, { "DKK", 2 }, { "EGP", 2 }, { "EUR", 2 },
	{ "GBP", 2 }, { "GEL", 2 }, { "GNF", 0 }, { "HKD", 2 }, { "HUF", 2 },
	{ "IDR", 2 }, { "ILS", 2 }, { "INR", 2 }, { "IQD", 3 }, { "ISK", 0 },
	{ "JOD", 3 }, { "JPY", 0 }, { "KGS", 2 }, { "KMF", 0 }, { "KRW", 0 },
	{ "KWD", 3 }, { "KZT", 2 }, { "LYD", 3 }, { "MDL", 2 }, { "MXN", 2 },
	{ "MYR", 2 }, { "NOK", 2 }, { "NZD", 2 }, { "OMR", 3 }, { "PHP", 2 },
	{ "PKR", 2 }, { "PLN", 2 }, { "PYG", 0 }, { "QAR", 2 }, { "RON", 2 },
	{ "RSD", 2 }, { "RUB", 2 }, { "RWF", 0 }, { "SAR", 2 }, { "SEK", 2 },
	{ "SGD", 2 }, { "THB", 2 }, { "TJS", 2 }, { "TND", 3 }, { "TRY", 2 },
	{ "TWD", 2 }, { "UAH", 2 }, { "UGX", 0 }, { "USD", 2 }, { "UYU", 2 },
	{ "UZS", 2 }, { "VND", 0 }, { "VUV", 0 }, { "XAF", 0 }, { "XOF", 0 },
	{ "XPF", 0 }, { "ZAR", 2 },
};

/* Signs and abbreviations. ¥ is taken as the yen (JPY), not the yuan;
 * "руб." and "р." are the Russian abbreviations of the rouble. Longer
 * entries come before their prefixes. */
static const struct {
	const char *sym, *code;
} symbols[] = {
	{ "$", "USD" }, { "€", "EUR" }, { "£", "GBP" }, { "₽", "RUB" },
	{ "₺", "TRY" }, { "¥", "JPY" }, { "₸", "KZT" }, { "₴", "UAH" },
	{ "₹", "INR" }, { "₪", "ILS" }, { "₾", "GEL" }, { "₩", "KRW" },
	{ "руб.", "RUB" }, { "руб", "RUB" }, { "р.", "RUB" },
};

static const struct currency *find_code(const char *s, size_t n)
{
	size_t i;

	if (n != 3)
		return NULL;
	for (i = 0; i < ARRAY_SIZE(currencies); i++)
		if (!ascii_ncasecmp(s, currencies[i].code, 3))
			return &currencies[i];
	return NULL;
}

static const struct currency *find_symbol(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(symbols); i++)
		if (u8_ci_eq(s, n, symbols[i].sym, strlen(symbols[i].sym)))
			return find_code(symbols[i].code, 3);
	return NULL;
}

int norm_currency(const char *s, size_t len, char code[4], int *exponent,
		  const char **why)
{
	const struct currency *c;
	size_t i;

	code[0] = 0;
	s = trim(s, &len);
	if (!len)
		return fail(why, "empty currency");
	/* three ASCII letters are a code (no symbol is): the usual case
	 * first, without a look at each symbol */
	for (i = 0; i < len && i < 3 && ascii_isalpha(s[i]); i++)
		;
	c = len == 3 && i == 3 ? NULL : find_symbol(s, len);
	if (!c && len == 3) {
		for (i = 0; i < 3; i++)
			if (!ascii_isalpha(s[i]))
				return fail(why, "not a currency code");
		c = find_code(s, len);
		if (!c)
			return fail(why, "unknown currency");
	}
	if (!c)
		return fail(why, "not a currency code");
	memcpy(code, c->code, 4);
	*exponent = c->exponent;
	return 0;
}

/* ---------------------------------------------------------------- amounts */

int norm_currency_at(size_t i, char code[4], int *exponent)
{
	if (i >= ARRAY_SIZE(currencies))
		return -1;
	memcpy(code, currencies[i].code, 4);
	*exponent = currencies[i].exponent;
	return 0;
}

/*
 * A currency at the start (tail 0) or end (tail 1) of s[0..n): returns
 * its length in bytes, 0 for none, -1 for three letters that are not a
 * code we know.
 */
static int amount_currency(const char *s, size_t n, int tail)
{
	size_t i, k, used;

	/* no symbol or code begins or ends with a digit: the common case,
	 * a plain number, without a look at each symbol */
	if (n && ascii_isdigit((unsigned char)s[tail ? n - 1 : 0]))
		return 0;
	for (i = 0; i < ARRAY_SIZE(symbols); i++) {
		const char *sym = symbols[i].sym;

		if (tail && (k = u8_ci_suffix(s, n, sym)))
			return (int)k;
		if (!tail && u8_ci_prefix(s, n, sym, strlen(sym), &used))
			return (int)used;
	}
	for (k = 0; k < n && ascii_isalpha(s[tail ? n - 1 - k : k]); k++)
		;
	if (k != 3)
		return 0;
	return find_code(tail ? s + n - 3 : s, 3) ? 3 : -1;
}

/* The kind of separator at s[0..n) and its length: '.', ',', ' ' for
 * spaces (ASCII, U+00A0, U+2009, U+202F) and '\'' for apostrophes
 * (ASCII and U+2019, Swiss style). */
static size_t amount_sep(const char *s, size_t n, int *kind)
{
	static const struct {
		const char *s;
		int kind;
	} seps[] = {
		{ ".", '.' }, { ",", ',' }, { " ", ' ' }, { "'", '\'' },
		{ "\xc2\xa0", ' ' }, { "\xe2\x80\x89", ' ' },
		{ "\xe2\x80\xaf", ' ' }, { "\xe2\x80\x99", '\'' },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(seps); i++) {
		size_t k = strlen(seps[i].s);

		if (n >= k && !memcmp(s, seps[i].s, k)) {
			*kind = seps[i].kind;
			return k;
		}
	}
	return 0;
}

struct seps {
	size_t count[4];	/* by kind: '.', ',', ' ', '\'' */
	size_t last;		/* offset of the last separator */
	int last_kind;
};

static size_t *kind_count(struct seps *sp, int kind)
{
	int i = kind == '.' ? 0 : kind == ',' ? 1 : kind == ' ' ? 2 : 3;

	return &sp->count[i];
}

/* First pass: digits and single separators between them only. */
static int amount_survey(const char *s, size_t n, struct seps *sp,
			 const char **why)
{
	size_t i = 0, digits = 0, k;
	int kind, prev_sep = 0;

	memset(sp, 0, sizeof(*sp));
	while (i < n) {
		if (ascii_isdigit(s[i])) {
			digits++, i++, prev_sep = 0;
			continue;
		}
		k = amount_sep(s + i, n - i, &kind);
		if (!k)
			return fail(why, ascii_isalpha(s[i]) ?
				    "letter in amount" :
				    "invalid character in amount");
		if (prev_sep)
			return fail(why, "misplaced separator");
		++*kind_count(sp, kind);
		sp->last = i;
		sp->last_kind = kind;
		prev_sep = 1;
		i += k;
	}
	if (!digits)
		return fail(why, "no digits in amount");
	if (prev_sep)
		return fail(why, "misplaced separator");
	return 0;
}

/*
 * Which separator is the decimal one (its offset, or n for none)?
 * Forced by o->decimal, else guessed: the last separator when it is a '.'
 * or ',' that occurs once; but a lone ',' followed by exactly three digits
 * is a thousands separator ("1,234") when the currency has fewer than
 * three decimals and the integer part is not "0". A lone '.' is always
 * decimal ("1.500" is one and a half).
 */
static int amount_decimal(const char *s, size_t n, int exp, int dec,
			  struct seps *sp, size_t *dpos, const char **why)
{
	int k = sp->last_kind;
	size_t nsep = sp->count[0] + sp->count[1] + sp->count[2] +
		sp->count[3];

	*dpos = n;
	if (dec == '.' || dec == ',') {
		if (*kind_count(sp, dec) > 1)
			return fail(why, "more than one decimal separator");
		if (*kind_count(sp, dec) == 1 && k != dec)
			return fail(why, "group separator after decimal separator");
		if (*kind_count(sp, dec) == 1)
			*dpos = sp->last;
		return 0;
	}
	if ((k != '.' && k != ',') || *kind_count(sp, k) != 1)
		return 0;
	if (nsep == 1 && k == ',' && n - sp->last - 1 == 3 && exp < 3 &&
	    !(sp->last == 1 && s[0] == '0'))
		return 0;
	*dpos = sp->last;
	return 0;
}

static int add_digit(uint64_t *mag, uint64_t limit, int digit,
		     const char **why)
{
	if (*mag > (limit - (uint64_t)digit) / 10)
		return fail(why, "amount out of range");
	*mag = *mag * 10 + (uint64_t)digit;
	return 0;
}

/* The integer part s[0..n): groups of three after the first (1-3 digits)
 * when there are group separators, all of one kind. */
static int amount_int(const char *s, size_t n, uint64_t limit, uint64_t *mag,
		      const char **why)
{
	size_t i = 0, group = 0, k;
	int kind = 0, gkind = 0, seen = 0;

	while (i < n) {
		if (ascii_isdigit(s[i])) {
			if (add_digit(mag, limit, s[i++] - '0', why))
				return -1;
			group++;
			continue;
		}
		k = amount_sep(s + i, n - i, &kind);
		if (gkind && kind != gkind)
			return fail(why, "mixed group separators");
		if (!group || (seen ? group != 3 : group > 3))
			return fail(why, "misplaced group separator");
		gkind = kind, seen = 1, group = 0;
		i += k;
	}
	if (seen && group != 3)
		return fail(why, "misplaced group separator");
	return 0;
}

static const char *const too_many_decimals[] = {
	"too many decimal places for exponent 0",
	"too many decimal places for exponent 1",
	"too many decimal places for exponent 2",
	"too many decimal places for exponent 3",
	"too many decimal places for exponent 4",
	"too many decimal places for exponent 5",
	"too many decimal places for exponent 6",
	"too many decimal places for exponent 7",
	"too many decimal places for exponent 8",
	"too many decimal places for exponent 9",
};

/* The fraction s[0..n) scaled to exp digits; extra digits must be 0. */
static int amount_frac(const char *s, size_t n, int exp, uint64_t limit,
		       uint64_t *mag, const char **why)
{
	size_t i;

	for (i = (size_t)exp; i < n; i++)
		if (s[i] != '0')
			return fail(why, too_many_decimals[exp]);
	for (i = 0; i < (size_t)exp; i++)
		if (add_digit(mag, limit, i < n ? s[i] - '0' : 0, why))
			return -1;
	return 0;
}

static int amount_body(const char *s, size_t n, int exp, int dec, int neg,
		       int64_t *minor, const char **why)
{
	uint64_t limit = (uint64_t)INT64_MAX + (neg ? 1 : 0), mag = 0;
	struct seps sp;
	size_t dpos;

	if (amount_survey(s, n, &sp, why) ||
	    amount_decimal(s, n, exp, dec, &sp, &dpos, why))
		return -1;
	if (amount_int(s, dpos, limit, &mag, why))
		return -1;
	if (amount_frac(dpos < n ? s + dpos + 1 : s + n,
			dpos < n ? n - dpos - 1 : 0, exp, limit, &mag, why))
		return -1;
	if (!neg)
		*minor = (int64_t)mag;
	else if (mag > (uint64_t)INT64_MAX)
		*minor = INT64_MIN;
	else
		*minor = -(int64_t)mag;
	return 0;
}

/* A leading '-', '+' or U+2212 MINUS SIGN: its length, 0 for none. */
static size_t amount_sign(const char *s, size_t n, int *neg)
{
	if (n && (s[0] == '-' || s[0] == '+')) {
		*neg = s[0] == '-';
		return 1;
	}
	if (n >= 3 && !memcmp(s, "\xe2\x88\x92", 3)) {
		*neg = 1;
		return 3;
	}
	return 0;
}

/*
 * Peels what surrounds the number, in any order: accounting parentheses
 * "(5.00)", a sign, and one currency symbol or code at the start or the
 * end ("-$5", "$-5", "$(5)", "(5.00) USD", "12,50 ₽"). A sign and
 * parentheses together are an error (the sign is left in the number).
 */
static int amount_peel(const char **sp, size_t *len, int *neg,
		       const char **why)
{
	const char *s = *sp;
	size_t n = *len, k;
	int paren = 0, sign = 0, cur = 0, r;

	for (;;) {
		s = trim_wide(s, &n);
		if (!paren && !sign && n >= 2 &&
		    s[0] == '(' && s[n - 1] == ')') {
			paren = *neg = 1;
			s++, n -= 2;
		} else if (!paren && !sign && (k = amount_sign(s, n, neg))) {
			sign = 1;
			s += k, n -= k;
		} else if (!cur && (r = amount_currency(s, n, 0)) != 0) {
			if (r < 0)
				return fail(why, "unknown currency");
			cur = 1;
			s += r, n -= (size_t)r;
		} else if (!cur && (r = amount_currency(s, n, 1)) != 0) {
			if (r < 0)
				return fail(why, "unknown currency");
			cur = 1;
			n -= (size_t)r;
		} else {
			break;
		}
	}
	*sp = s;
	*len = n;
	return 0;
}

int norm_amount(const char *s, size_t len, int exponent,
		const struct norm_opts *o, int64_t *minor, const char **why)
{
	int neg = 0;

	s = trim_wide(s, &len);
	if (!len)
		return fail(why, "empty amount");
	if (exponent < 0 || exponent >= (int)ARRAY_SIZE(too_many_decimals))
		return fail(why, "invalid currency exponent");
	if (amount_peel(&s, &len, &neg, why))
		return -1;
	if (!len)
		return fail(why, "no digits in amount");
	return amount_body(s, len, exponent, o ? o->decimal : 0, neg, minor,
			   why);
}

/* ---------------------------------------------------------------- others */

int norm_bool(const char *s, size_t len, int *v, const char **why)
{
	static const struct {
		const char *word;
		int v;
	} words[] = {
		{ "yes", 1 }, { "y", 1 }, { "true", 1 }, { "t", 1 }, { "1", 1 },
		{ "on", 1 }, { "granted", 1 }, { "opt-in", 1 }, { "optin", 1 },
		{ "opt in", 1 }, { "subscribed", 1 }, { "да", 1 },
		{ "no", 0 }, { "n", 0 }, { "false", 0 }, { "f", 0 }, { "0", 0 },
		{ "off", 0 }, { "revoked", 0 }, { "opt-out", 0 },
		{ "optout", 0 }, { "opt out", 0 }, { "unsubscribed", 0 },
		{ "нет", 0 },
	};
	size_t i;

	s = trim(s, &len);
	for (i = 0; i < ARRAY_SIZE(words); i++) {
		if (u8_ci_eq(s, len, words[i].word, strlen(words[i].word))) {
			*v = words[i].v;
			return 0;
		}
	}
	return fail(why, len ? "not a boolean" : "empty boolean");
}

/*
 * Units: s, min, h, d, w, mo (30 days), y (365 days) and their spelled-out
 * forms. A bare "m" could be minutes or months and is refused.
 */
int norm_duration(const char *s, size_t len, int64_t *secs, const char **why)
{
	static const struct {
		const char *name;
		int64_t secs;
	} units[] = {
		{ "s", 1 }, { "sec", 1 }, { "second", 1 }, { "seconds", 1 },
		{ "min", 60 }, { "mins", 60 }, { "minute", 60 },
		{ "minutes", 60 },
		{ "h", 3600 }, { "hr", 3600 }, { "hrs", 3600 },
		{ "hour", 3600 }, { "hours", 3600 },
		{ "d", 86400 }, { "day", 86400 }, { "days", 86400 },
		{ "w", 604800 }, { "wk", 604800 }, { "week", 604800 },
		{ "weeks", 604800 },
		{ "mo", 2592000 }, { "month", 2592000 },
		{ "months", 2592000 },
		{ "y", 31536000 }, { "yr", 31536000 }, { "year", 31536000 },
		{ "years", 31536000 },
	};
	struct scan c;
	int64_t v = 0;
	size_t i;

	c.s = trim(s, &len);
	c.n = len;
	c.i = 0;
	if (!len)
		return fail(why, "empty duration");
	if (!digit_run(&c))
		return fail(why, "duration must start with a number");
	for (; ascii_isdigit(peek(&c)); c.i++) {
		int digit = c.s[c.i] - '0';

		if (v > (INT64_MAX - digit) / 10)
			return fail(why, "duration out of range");
		v = v * 10 + digit;
	}
	skip_spaces(&c);
	if (c.i == c.n)
		return fail(why, "missing unit");
	if (c.n - c.i == 1 && ascii_lower(c.s[c.i]) == 'm')
		return fail(why, "ambiguous unit 'm'; use min or mo");
	for (i = 0; i < ARRAY_SIZE(units); i++) {
		const char *u = units[i].name;

		if (c.n - c.i != strlen(u) ||
		    ascii_ncasecmp(c.s + c.i, u, strlen(u)))
			continue;
		if (v > INT64_MAX / units[i].secs)
			return fail(why, "duration out of range");
		*secs = v * units[i].secs;
		return 0;
	}
	return fail(why, "unknown unit");
}

const char *const norm_channels[] = {
	"email", "sms", "push", "telegram", "whatsapp", "viber", "webhook", NULL,
};

int norm_consent_channel(const char *s, size_t len, const char **why)
{
	const char *colon = memchr(s, ':', len);
	size_t ch = colon ? (size_t)(colon - s) : len, topic;
	int known = 0;

	for (size_t i = 0; norm_channels[i]; i++)
		known |= strlen(norm_channels[i]) == ch && !memcmp(norm_channels[i], s, ch);
	if (!known)
		return fail(why, "unknown channel"), -1;
	if (!colon)
		return (int)ch;
	topic = len - ch - 1;
	if (topic == 0)
		return fail(why, "empty topic after the channel"), -2;
	if (topic > NORM_TOPIC_MAX)
		return fail(why, "topic longer than 64 characters"), -2;
	for (size_t i = ch + 1; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || s[i] == ':')
			return fail(why, "a topic has no control characters and no ':'"), -2;
	return (int)ch;
}
