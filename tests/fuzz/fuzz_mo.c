/*
 * fuzz_mo.c - the gettext .mo reader (lib/mo.c) and the name folding
 * (lib/fold.c) the country table is built with.
 *
 * The input is read as a .mo file: mo_open() accepts or refuses it, and
 * every entry mo_get() returns lies inside the buffer, NUL-terminated at
 * its length. The input is also folded, whole and entry by entry: a key
 * is at most FOLD_MAX bytes, NUL-terminated at its length, and its ASCII
 * bytes are only lower-case letters and digits. norm_country() takes the
 * entries too (no crash; an accepted one gives an upper-case code).
 */
#include "fuzz.h"
#include "fold.h"
#include "mo.h"
#include "norm.h"

static void check_key(const char *s, size_t n)
{
	char key[FOLD_MAX + 1];
	size_t k = fold_name(s, n, key);

	if (k == (size_t)-1)
		return;
	FZ_CHECK(k <= FOLD_MAX && key[k] == 0 && strlen(key) == k, "key of %zu bytes", k);
	for (size_t i = 0; i < k; i++) {
		unsigned char c = (unsigned char)key[i];

		FZ_CHECK(c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'),
			 "byte 0x%02x in a key", c);
	}
}

static void check_country(const char *s, size_t n)
{
	char out[3];
	const char *why;

	if (norm_country(s, n, out, &why) == 0)
		FZ_CHECK(out[0] >= 'A' && out[0] <= 'Z' && out[1] >= 'A' && out[1] <= 'Z' &&
			 !out[2], "code \"%s\"", out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mo m;
	const char *buf = (const char *)data;

	check_key(buf, size);
	if (mo_open(&m, data, size))
		return 0;
	for (uint32_t i = 0; i < m.count && i < 4096; i++) {
		const char *id, *str;
		size_t idlen, slen;

		if (mo_get(&m, i, &id, &idlen, &str, &slen))
			continue;
		FZ_CHECK(id >= buf && id + idlen < buf + size && !id[idlen], "msgid %u", i);
		FZ_CHECK(str >= buf && str + slen < buf + size && !str[slen], "msgstr %u", i);
		check_key(id, idlen);
		check_key(str, slen);
		check_country(str, slen);
	}
	return 0;
}
