/*
 * fuzz_coupon.c - promo codes without the database (lib/coupon_gen.c).
 * The first byte picks what the rest is:
 *   even: a coupon file (coupon_lines): every code handed over is a
 *         non-empty line's content without white space around it or a
 *         line end in it, lines counted upwards, and coupon_code_valid()
 *         answers for it;
 *   odd:  "PATTERN\nCODE": a pattern coupon_pattern_parse() accepts makes
 *         codes that check with their own number, and a CODE that checks
 *         is, up to ASCII case, the code of the number it checks as.
 */
#include "fuzz.h"
#include "coupon.h"
#include "util.h"

struct st {
	long last;
	size_t n;
};

static int line(void *ud, long ln, const char *code, size_t len)
{
	struct st *s = ud;
	char why[128];

	FZ_CHECK(len > 0, "an empty code at line %ld", ln);
	FZ_CHECK(ln > s->last, "line %ld after %ld", ln, s->last);
	FZ_CHECK(code[0] != ' ' && code[0] != '\t' && code[len - 1] != ' ' &&
		 code[len - 1] != '\t' && code[len - 1] != '\r', "white space kept at line %ld", ln);
	FZ_CHECK(!memchr(code, '\n', len), "a line end in a code at line %ld", ln);
	if (coupon_code_valid(code, len, why, sizeof(why)) == 0)
		FZ_CHECK(len <= COUPON_MAX_LEN && !memchr(code, ' ', len), "a bad code accepted");
	s->last = ln;
	s->n++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data + 1;
	size_t n = size ? size - 1 : 0;

	if (size < 1)
		return 0;
	if (!(data[0] & 1)) {
		struct st st = { 0, 0 };
		coupon_lines(s, n, line, &st);
		return 0;
	}
	{
		const char *nl = memchr(s, '\n', n);
		size_t plen = nl ? (size_t)(nl - s) : n;
		struct coupon_pattern p;
		unsigned char key[32];
		char why[160], code[COUPON_MAX_LEN + 1];
		uint64_t got;

		if (coupon_pattern_parse(s, plen, &p, why, sizeof(why)) < 0)
			return 0;
		FZ_CHECK(p.nx >= COUPON_MIN_X && p.nx <= COUPON_MAX_X && p.len == plen,
			 "a pattern of %d X accepted", p.nx);
		coupon_key("fuzz secret", "POOL", key);
		for (uint64_t k = 0; k < 3; k++) {
			uint64_t v = k == 2 ? p.space - 1 : k;
			FZ_CHECK(coupon_make(&p, key, v, code) == 0, "no code %llu", (unsigned long long)v);
			FZ_CHECK(strlen(code) == p.len, "a code of another length");
			FZ_CHECK(coupon_check(&p, key, code, p.len, &got) == 0 && got == v,
				 "code %s of %llu does not check", code, (unsigned long long)v);
		}
		FZ_CHECK(coupon_make(&p, key, p.space, code) < 0, "a code beyond the pattern");
		if (nl && coupon_check(&p, key, nl + 1, n - plen - 1, &got) == 0) {
			FZ_CHECK(coupon_make(&p, key, got, code) == 0, "no code for %llu",
				 (unsigned long long)got);
			FZ_CHECK(!ascii_ncasecmp(code, nl + 1, p.len), "%.*s checked as %s",
				 (int)p.len, nl + 1, code);
		}
	}
	return 0;
}
