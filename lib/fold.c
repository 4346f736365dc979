/*
 * fold.c - keys of names, for matching them whatever their case, accents,
 * spaces and punctuation (see fold.h). Self-contained: the build's
 * country table generator (share/gen_countries.c) links it alone, so
 * that the table's keys and the lookups fold alike.
 */
#include "fold.h"

#include <string.h>

/* Latin letters U+00C0..U+017F with their base letters; "" drops it. */
static const char *const latin1[64] = {
	"a", "a", "a", "a", "a", "a", "ae", "c",	/* C0 */
	"e", "e", "e", "e", "i", "i", "i", "i",
	"d", "n", "o", "o", "o", "o", "o", "",		/* D0; D7 x */
	"o", "u", "u", "u", "u", "y", "th", "ss",
	"a", "a", "a", "a", "a", "a", "ae", "c",	/* E0 */
	"e", "e", "e", "e", "i", "i", "i", "i",
	"d", "n", "o", "o", "o", "o", "o", "",		/* F0; F7 / */
	"o", "u", "u", "u", "u", "y", "th", "y",
};

/* Latin Extended-A, U+0100..U+017F, by ranges of one base. */
static const struct {
	unsigned short lo, hi;
	const char *to;
} latin_ext[] = {
	{ 0x100, 0x105, "a" }, { 0x106, 0x10d, "c" }, { 0x10e, 0x111, "d" },
	{ 0x112, 0x11b, "e" }, { 0x11c, 0x123, "g" }, { 0x124, 0x127, "h" },
	{ 0x128, 0x131, "i" }, { 0x132, 0x133, "ij" }, { 0x134, 0x135, "j" },
	{ 0x136, 0x138, "k" }, { 0x139, 0x142, "l" }, { 0x143, 0x14b, "n" },
	{ 0x14c, 0x151, "o" }, { 0x152, 0x153, "oe" }, { 0x154, 0x159, "r" },
	{ 0x15a, 0x161, "s" }, { 0x162, 0x167, "t" }, { 0x168, 0x173, "u" },
	{ 0x174, 0x175, "w" }, { 0x176, 0x178, "y" }, { 0x179, 0x17e, "z" },
	{ 0x17f, 0x17f, "s" },
	/* Latin Extended-B: pinyin caron vowels, Romanian comma letters */
	{ 0x1cd, 0x1ce, "a" }, { 0x1cf, 0x1d0, "i" }, { 0x1d1, 0x1d2, "o" },
	{ 0x1d3, 0x1dc, "u" }, { 0x218, 0x219, "s" }, { 0x21a, 0x21b, "t" },
	/* Latin Extended Additional: Vietnamese */
	{ 0x1ea0, 0x1eb7, "a" }, { 0x1eb8, 0x1ec7, "e" }, { 0x1ec8, 0x1ecb, "i" },
	{ 0x1ecc, 0x1ee3, "o" }, { 0x1ee4, 0x1ef1, "u" }, { 0x1ef2, 0x1ef9, "y" },
};

/* Decodes one code point; a malformed byte is returned as 0x110000 + it
 * (and counts as one byte). */
static size_t dec(const unsigned char *s, size_t n, unsigned *cp)
{
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
	/* overlong forms, surrogates and past U+10FFFF are malformed too
	 * (a key must not get a byte such a sequence hides) */
	if ((k == 2 && v < 0x800) || (k == 3 && (v < 0x10000 || v > 0x10ffff)) ||
	    (v >= 0xd800 && v <= 0xdfff))
		goto bad;
	*cp = v;
	return k + 1;
bad:
	*cp = 0x110000u + c;
	return 1;
}

/* Greek: lower case without tonos or dialytika; final sigma is sigma. */
static unsigned greek(unsigned c)
{
	static const unsigned short acc[][2] = {
		{ 0x386, 0x3b1 }, { 0x388, 0x3b5 }, { 0x389, 0x3b7 },
		{ 0x38a, 0x3b9 }, { 0x38c, 0x3bf }, { 0x38e, 0x3c5 },
		{ 0x38f, 0x3c9 }, { 0x390, 0x3b9 }, { 0x3aa, 0x3b9 },
		{ 0x3ab, 0x3c5 }, { 0x3ac, 0x3b1 }, { 0x3ad, 0x3b5 },
		{ 0x3ae, 0x3b7 }, { 0x3af, 0x3b9 }, { 0x3b0, 0x3c5 },
		{ 0x3c2, 0x3c3 }, { 0x3ca, 0x3b9 }, { 0x3cb, 0x3c5 },
		{ 0x3cc, 0x3bf }, { 0x3cd, 0x3c5 }, { 0x3ce, 0x3c9 },
	};
	size_t i;

	for (i = 0; i < sizeof(acc) / sizeof(acc[0]); i++)
		if (acc[i][0] == c)
			return acc[i][1];
	if (c >= 0x391 && c <= 0x3a9)
		return c + 0x20;
	return c;
}

static unsigned cyrillic(unsigned c)
{
	if (c == 0x401 || c == 0x451)		/* Ё ё */
		return 0x435;
	if (c >= 0x400 && c <= 0x40f)
		return c + 0x50;
	if (c >= 0x410 && c <= 0x42f)
		return c + 0x20;
	if ((c >= 0x460 && c <= 0x481) || (c >= 0x48a && c <= 0x4bf) ||
	    (c >= 0x4d0 && c <= 0x4ff))
		return c | 1;
	if (c >= 0x4c1 && c <= 0x4ce && (c & 1))
		return c + 1;
	return c;
}

/* White space, punctuation, symbols and marks that a key leaves out. */
static int dropped(unsigned c)
{
	return (c >= 0x80 && c <= 0xbf) || c == 0xd7 || c == 0xf7 ||
	       (c >= 0x2b0 && c <= 0x36f) ||	/* modifiers, combining */
	       (c >= 0x2000 && c <= 0x206f) ||	/* spaces, dashes, quotes */
	       (c >= 0x3000 && c <= 0x3003) || c == 0x30fb ||
	       c == 0xfeff || (c >= 0xff01 && c <= 0xff0f);
}

static size_t put(char *out, size_t k, const char *s, size_t m)
{
	if (k + m > FOLD_MAX)
		return (size_t)-1;
	memcpy(out + k, s, m);
	return k + m;
}

static size_t put_cp(char *out, size_t k, unsigned c)
{
	char b[4];
	size_t m;

	if (c >= 0x110000u) {		/* a malformed byte, as it was */
		b[0] = (char)(c - 0x110000u);
		m = 1;
	} else if (c < 0x800) {
		b[0] = (char)(0xc0 | c >> 6);
		b[1] = (char)(0x80 | (c & 0x3f));
		m = 2;
	} else if (c < 0x10000) {
		b[0] = (char)(0xe0 | c >> 12);
		b[1] = (char)(0x80 | (c >> 6 & 0x3f));
		b[2] = (char)(0x80 | (c & 0x3f));
		m = 3;
	} else {
		b[0] = (char)(0xf0 | c >> 18);
		b[1] = (char)(0x80 | (c >> 12 & 0x3f));
		b[2] = (char)(0x80 | (c >> 6 & 0x3f));
		b[3] = (char)(0x80 | (c & 0x3f));
		m = 4;
	}
	return put(out, k, b, m);
}

static const char *latin(unsigned c)
{
	size_t i;

	if (c >= 0xc0 && c <= 0xff)
		return latin1[c - 0xc0];
	for (i = 0; i < sizeof(latin_ext) / sizeof(latin_ext[0]); i++)
		if (c >= latin_ext[i].lo && c <= latin_ext[i].hi)
			return latin_ext[i].to;
	return NULL;
}

size_t fold_name(const char *str, size_t n, char out[FOLD_MAX + 1])
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, k = 0;

	while (i < n && k != (size_t)-1) {
		unsigned c;
		const char *l;

		if (s[i] < 0x80) {
			c = s[i++];
			if (c >= 'A' && c <= 'Z')
				c += 32;
			if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
				if (k == FOLD_MAX)
					return (size_t)-1;
				out[k++] = (char)c;
			}
			continue;
		}
		i += dec(s + i, n - i, &c);
		if (dropped(c))
			continue;
		if ((l = latin(c)))
			k = put(out, k, l, strlen(l));
		else if (c >= 0x370 && c <= 0x3ff)
			k = put_cp(out, k, greek(c));
		else if (c >= 0x400 && c <= 0x4ff)
			k = put_cp(out, k, cyrillic(c));
		else
			k = put_cp(out, k, c);
	}
	if (k == (size_t)-1)
		return k;
	out[k] = 0;
	return k;
}
