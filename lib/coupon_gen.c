/*
 * coupon_gen.c - generated promo codes: patterns, codes from numbers and
 * back, without the database (see coupon.h).
 *
 * A pattern's X positions hold symbols of an alphabet without the
 * characters people confuse (no 0/O, 1/I/L): COUPON_ALPHABET, 31 of them.
 * Of its N X positions the first m = N - k carry the code's identity, a
 * number below 31^m, and the last k = (N + 2) / 3 a check: both are keyed
 * by HMAC-SHA256 with a key of the pool, HMAC(secret, "coupon:" POOL).
 *
 *   identity  = P(n), where P is a permutation of [0, 31^m): a four-round
 *               Feistel network on the smallest even number of bits that
 *               holds 31^m, each round's function an HMAC of the key,
 *               walked again while the value is 31^m or more (cycle
 *               walking keeps it a permutation of the smaller set);
 *   check     = HMAC(key, "check" identity) mod 31^k.
 *
 * So the codes of numbers 0, 1, 2, ... of a pool never repeat (P is one to
 * one), look unrelated to each other, and are the same for the same
 * secret, pool and number; and a code is checked with the secret alone:
 * its check must match its identity (a code made up at random passes
 * with odds 1 in 31^k: 29,791 for WB-XXXX-XXXX), and P^-1 of its identity
 * is its number.
 */
#include "coupon.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "diag.h"
#include "util.h"

static const char alphabet[] = COUPON_ALPHABET;
#define ABASE 31

static int symbol_value(int c)
{
	const char *p;

	c = ascii_upper(c);
	if (!c || !(p = strchr(alphabet, c)))
		return -1;
	return (int)(p - alphabet);
}

int coupon_pattern_parse(const char *pat, size_t len, struct coupon_pattern *p, char *why,
			 size_t whylen)
{
	size_t x = 0;

	memset(p, 0, sizeof(*p));
	if (len == 0) {
		snprintf(why, whylen, "an empty pattern");
		return -1;
	}
	if (len > COUPON_MAX_LEN) {
		snprintf(why, whylen, "a pattern of more than %d characters", COUPON_MAX_LEN);
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)pat[i];

		if (c == 'X') {
			x++;
			continue;
		}
		if (!((c >= 'A' && c <= 'Z') || ascii_isdigit(c) || c == '-' || c == '_' ||
		      c == '.' || c == '/' || c == '#')) {
			if (c >= 'a' && c <= 'z')
				snprintf(why, whylen, "\"%c\" at %zu: a pattern is upper case (X for "
					 "each generated character)", c, i + 1);
			else if (c < 0x20 || c >= 0x7f)
				snprintf(why, whylen, "byte 0x%02x at %zu: a pattern holds A-Z, 0-9, "
					 "- _ . / # and X", c, i + 1);
			else
				snprintf(why, whylen, "\"%c\" at %zu: a pattern holds A-Z, 0-9, "
					 "- _ . / # and X", c, i + 1);
			return -1;
		}
	}
	if (x < COUPON_MIN_X || x > COUPON_MAX_X) {
		snprintf(why, whylen, "%zu X in the pattern: it needs %d to %d (one per generated "
			 "character, e.g. WB-XXXX-XXXX)", x, COUPON_MIN_X, COUPON_MAX_X);
		return -1;
	}
	memcpy(p->text, pat, len);
	p->text[len] = 0;
	p->len = len;
	p->nx = (int)x;
	p->check = (p->nx + 2) / 3;
	p->id = p->nx - p->check;
	p->space = 1;
	for (int i = 0; i < p->id; i++)
		p->space *= ABASE;
	p->check_space = 1;
	for (int i = 0; i < p->check; i++)
		p->check_space *= ABASE;
	p->bits = 0;
	while (p->bits < 64 && (p->bits == 0 || (p->space - 1) >> p->bits))
		p->bits++;
	if (p->bits & 1)
		p->bits++;
	return 0;
}

void coupon_key(const char *secret, const char *pool, unsigned char key[32])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	char buf[COUPON_MAX_LEN + 16];
	int len = snprintf(buf, sizeof(buf), "coupon:%s", pool);

	if (len < 0 || (size_t)len >= sizeof(buf))
		len = (int)sizeof(buf) - 1;
	if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)buf,
		  (size_t)len, md, &n) || n < 32)
		crm_die(1, "libcrypto HMAC failed");
	memcpy(key, md, 32);
}

/* The first 8 bytes of HMAC(key, tag v) as a number. */
static uint64_t prf(const unsigned char key[32], unsigned char tag, uint64_t v)
{
	unsigned char msg[9], md[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	uint64_t r = 0;

	msg[0] = tag;
	for (int i = 0; i < 8; i++)
		msg[1 + i] = (unsigned char)(v >> (56 - 8 * i));
	if (!HMAC(EVP_sha256(), key, 32, msg, sizeof(msg), md, &n) || n < 8)
		crm_die(1, "libcrypto HMAC failed");
	for (int i = 0; i < 8; i++)
		r = r << 8 | md[i];
	return r;
}

#define ROUNDS 4

static uint64_t feistel(const struct coupon_pattern *p, const unsigned char key[32], uint64_t x,
			int inverse)
{
	int half = p->bits / 2;
	uint64_t mask = ((uint64_t)1 << half) - 1, l = x >> half, r = x & mask, t;

	if (!inverse) {
		for (int i = 0; i < ROUNDS; i++) {
			t = l ^ (prf(key, (unsigned char)(1 + i), r) & mask);
			l = r;
			r = t;
		}
	} else {
		for (int i = ROUNDS - 1; i >= 0; i--) {
			t = r ^ (prf(key, (unsigned char)(1 + i), l) & mask);
			r = l;
			l = t;
		}
	}
	return l << half | r;
}

/* P(n) or P^-1(n) on [0, space): cycle walking. */
static uint64_t permute(const struct coupon_pattern *p, const unsigned char key[32], uint64_t n,
			int inverse)
{
	do
		n = feistel(p, key, n, inverse);
	while (n >= p->space);
	return n;
}

static uint64_t check_of(const struct coupon_pattern *p, const unsigned char key[32], uint64_t id)
{
	return prf(key, 0x63, id) % p->check_space;
}

int coupon_make(const struct coupon_pattern *p, const unsigned char key[32], uint64_t n,
		char out[COUPON_MAX_LEN + 1])
{
	uint64_t id, ck;
	char sym[COUPON_MAX_X];
	int k = 0;

	if (n >= p->space)
		return -1;
	id = permute(p, key, n, 0);
	ck = check_of(p, key, id);
	for (int i = p->id - 1; i >= 0; i--, id /= ABASE)
		sym[i] = alphabet[id % ABASE];
	for (int i = p->nx - 1; i >= p->id; i--, ck /= ABASE)
		sym[i] = alphabet[ck % ABASE];
	for (size_t i = 0; i < p->len; i++)
		out[i] = p->text[i] == 'X' ? sym[k++] : p->text[i];
	out[p->len] = 0;
	return 0;
}

int coupon_check(const struct coupon_pattern *p, const unsigned char key[32], const char *code,
		 size_t len, uint64_t *n)
{
	uint64_t id = 0, ck = 0;
	int k = 0;

	if (len != p->len)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int v;

		if (p->text[i] != 'X') {
			if (ascii_upper((unsigned char)code[i]) != p->text[i])
				return -1;
			continue;
		}
		if ((v = symbol_value((unsigned char)code[i])) < 0)
			return -1;
		if (k++ < p->id)
			id = id * ABASE + (uint64_t)v;
		else
			ck = ck * ABASE + (uint64_t)v;
	}
	if (id >= p->space || check_of(p, key, id) != ck)
		return -1;
	*n = permute(p, key, id, 1);
	return 0;
}

int coupon_code_valid(const char *s, size_t len, char *why, size_t whylen)
{
	size_t bad;

	if (len == 0) {
		snprintf(why, whylen, "an empty code");
		return -1;
	}
	if (len > COUPON_MAX_LEN) {
		snprintf(why, whylen, "a code of %zu bytes (at most %d)", len, COUPON_MAX_LEN);
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c == 0x7f) {
			snprintf(why, whylen, c == ' ' || c == '\t' ?
				 "a space inside a code (one code a line)" :
				 "a control character in a code");
			return -1;
		}
		if (c == ',' || c == ';' || c == '"') {
			snprintf(why, whylen, "\"%c\" in a code (one code a line, no other "
				 "columns)", c);
			return -1;
		}
	}
	if (!utf8_valid(s, len, &bad)) {
		snprintf(why, whylen, "a code that is not UTF-8 (byte %zu)", bad + 1);
		return -1;
	}
	return 0;
}

/*
 * The coupon file: one code a line, LF or CRLF, a UTF-8 BOM allowed;
 * white space (spaces, tabs, CRs) around a code dropped; blank lines skipped; the first
 * non-blank line may be the header "code".
 */
int coupon_lines(const char *buf, size_t len, coupon_line_fn fn, void *ud)
{
	size_t i = 0;
	long line = 0;
	int seen = 0, rc;

	if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
		i = 3;
	while (i < len) {
		const char *s = buf + i, *nl = memchr(s, '\n', len - i);
		size_t n = nl ? (size_t)(nl - s) : len - i;

		i += n + (nl != NULL);
		line++;
		/* CR is white space here: "\r \r\n" is a blank line */
		while (n && (*s == ' ' || *s == '\t' || *s == '\r'))
			s++, n--;
		while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
			n--;
		if (!n)
			continue;
		if (!seen++ && n == 4 && !ascii_ncasecmp(s, "code", 4))
			continue;
		if ((rc = fn(ud, line, s, n)) != 0)
			return rc;
	}
	return 0;
}
