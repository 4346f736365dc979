/*
 * test_mo.c - the gettext .mo reader (lib/mo.c) and name folding
 * (lib/fold.c) that build the country table of norm_country().
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fold.h"
#include "mo.h"
#include "tap.h"
#include "util.h"

/* A .mo file of the pairs ids[i] -> strs[i] in buf (little- or
 * big-endian); returns its size. */
static size_t build(unsigned char *buf, size_t cap, int big, const char *const *ids,
		    const char *const *strs, uint32_t n)
{
	size_t otab = 28, ttab = otab + 8 * (size_t)n, pos = ttab + 8 * (size_t)n;
	uint32_t words[7] = { 0x950412de, 0, n, (uint32_t)otab, (uint32_t)ttab, 0, 0 };

#define PUT(off, v) do { \
		uint32_t v_ = (v); \
		for (int b_ = 0; b_ < 4; b_++) \
			buf[(off) + (size_t)b_] = (unsigned char)(big ? v_ >> (24 - 8 * b_) : v_ >> (8 * b_)); \
	} while (0)
	memset(buf, 0, cap);
	for (int i = 0; i < 7; i++)
		PUT(4 * (size_t)i, words[i]);
	for (uint32_t i = 0; i < n; i++) {
		size_t l = strlen(ids[i]);

		PUT(otab + 8 * i, (uint32_t)l);
		PUT(otab + 8 * i + 4, (uint32_t)pos);
		memcpy(buf + pos, ids[i], l + 1);
		pos += l + 1;
		l = strlen(strs[i]);
		PUT(ttab + 8 * i, (uint32_t)l);
		PUT(ttab + 8 * i + 4, (uint32_t)pos);
		memcpy(buf + pos, strs[i], l + 1);
		pos += l + 1;
	}
#undef PUT
	return pos;
}

static const char *const ids[] = { "", "Austria", "Greece" };
static const char *const strs[] = { "Content-Type: text/plain; charset=UTF-8\n",
				    "Österreich", "Ελλάδα" };

static void test_read(void)
{
	unsigned char buf[512];
	struct mo m;
	const char *id, *str;
	size_t il, sl;

	for (int big = 0; big <= 1; big++) {
		size_t n = build(buf, sizeof(buf), big, ids, strs, 3);

		ok(mo_open(&m, buf, n) == 0 && m.count == 3 && m.swap == big,
		   "%s-endian file opens", big ? "big" : "little");
		ok(mo_get(&m, 1, &id, &il, &str, &sl) == 0 && il == 7 && !strcmp(id, "Austria") &&
		   sl == strlen("Österreich") && !strcmp(str, "Österreich"), "entry 1");
		ok(mo_get(&m, 2, &id, &il, &str, &sl) == 0 && !strcmp(str, "Ελλάδα"), "entry 2");
		ok(mo_get(&m, 0, &id, &il, &str, &sl) == 0 && il == 0, "the header entry");
		ok(mo_get(&m, 3, &id, &il, &str, &sl) == -1, "no entry 3");
		ok(mo_open(&m, buf, n - 1) == 0 && mo_get(&m, 2, &id, &il, &str, &sl) == -1,
		   "a string cut by the end of the buffer");
	}
}

static void test_damaged(void)
{
	unsigned char buf[512];
	struct mo m;
	const char *id, *str;
	size_t il, sl, n = build(buf, sizeof(buf), 0, ids, strs, 3);

	ok(mo_open(&m, buf, 27) == -1, "a header cut short");
	ok(mo_open(&m, buf, 0) == -1, "an empty file");
	buf[0] ^= 1;
	ok(mo_open(&m, buf, n) == -1, "a wrong magic number");
	buf[0] ^= 1;
	buf[6] = 1;		/* revision 1.0 */
	ok(mo_open(&m, buf, n) == -1, "an unknown major revision");
	buf[6] = 0;
	buf[4] = 1;		/* revision 0.1 */
	ok(mo_open(&m, buf, n) == 0, "a minor revision is read");
	buf[4] = 0;
	buf[8] = 0xff, buf[9] = 0xff, buf[10] = 0xff, buf[11] = 0x7f;
	ok(mo_open(&m, buf, n) == -1, "a count whose tables do not fit");
	n = build(buf, sizeof(buf), 0, ids, strs, 3);
	buf[16] = 0xf0, buf[17] = 0xff, buf[18] = 0xff, buf[19] = 0xff;
	ok(mo_open(&m, buf, n) == -1, "a table offset past the end");
	n = build(buf, sizeof(buf), 0, ids, strs, 3);
	buf[28 + 8 + 4] = 0xff, buf[28 + 8 + 7] = 0xff;
	ok(mo_open(&m, buf, n) == 0 && mo_get(&m, 1, &id, &il, &str, &sl) == -1,
	   "a string offset past the end");
	n = build(buf, sizeof(buf), 0, ids, strs, 3);
	buf[28 + 8] = 3;	/* "Aus" is not followed by a NUL */
	ok(mo_open(&m, buf, n) == 0 && mo_get(&m, 1, &id, &il, &str, &sl) == -1,
	   "a string without its NUL");
	n = build(buf, sizeof(buf), 0, ids, strs, 0);
	ok(mo_open(&m, buf, n) == 0 && m.count == 0 && mo_get(&m, 0, &id, &il, &str, &sl) == -1,
	   "an empty catalogue");
}

static void test_fold(void)
{
	static const struct {
		const char *in, *want;
	} t[] = {
		{ "Côte d'Ivoire", "cotedivoire" }, { "COTE D IVOIRE", "cotedivoire" },
		{ "Cote-d\xe2\x80\x99Ivoire", "cotedivoire" },
		{ "Korea, Republic of", "korearepublicof" },
		{ "ΕΛΛΆΔΑ", "ελλαδα" }, { "Ελλάς", "ελλασ" },
		{ "РОССИЯ", "россия" }, { "Ёлка", "елка" }, { "Україна", "україна" },
		{ "Straße", "strasse" }, { "Færøerne", "faeroerne" },
		{ "Việt Nam", "vietnam" }, { "România", "romania" },
		{ "Ş\xc8\x98ţ\xc8\x9a", "sstt" }, { "Łódź", "lodz" },
		{ "e\xcc\x81", "e" },	/* combining acute */
		{ "\xc2\xa0 Chile\xc2\xa0", "chile" }, { "日本", "日本" },
		{ "a\xff" "b", "a\xff" "b" }, { "", "" }, { "-/.", "" },
		/* beyond U+10FFFF, overlong, a surrogate: bytes kept, nothing
		 * decoded (fuzz_mo found 0xf4 0x90 0x80 0x90 giving 0x10) */
		{ "\xf4\x90\x80\x90", "\xf4\x90\x80\x90" },
		{ "\xe0\x81\x81", "\xe0\x81\x81" }, { "\xed\xa0\x80", "\xed\xa0\x80" },
	};
	char key[FOLD_MAX + 1], big[FOLD_MAX + 2];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		size_t k = fold_name(t[i].in, strlen(t[i].in), key);

		is_str(k == (size_t)-1 ? "(too long)" : key, t[i].want, "fold \"%s\"", t[i].in);
	}
	memset(big, 'a', sizeof(big));
	ok(fold_name(big, FOLD_MAX, key) == FOLD_MAX, "a key of FOLD_MAX bytes");
	ok(fold_name(big, FOLD_MAX + 1, key) == (size_t)-1, "a longer key is refused");
	ok(fold_name("\xc3\x9f", 2, key) == 2 && !strcmp(key, "ss"), "ß is two letters");
}

int main(void)
{
	test_read();
	test_damaged();
	test_fold();
	return tap_done();
}
