/*
 * fuzz_diag.c - how diagnostics show a value from the input
 * (lib/diag.c: diag_value, diag_name).
 *
 * The first byte picks: bit 0 a personal value, bit 1 a column name
 * (diag_name); the rest is the value. Properties of what is shown:
 *
 * - no control character (C0, DEL, C1) and valid UTF-8, so nothing from
 *   the input can move the cursor, clear the screen or start a line;
 * - a personal value is only "(N characters)";
 * - every '@' shown follows "***" (an address is masked), and a value
 *   with 7 digits or more and no '@' is only "(N characters)";
 * - at most 8 bytes per character shown (\xc2\x85 for a C1 control) for
 *   DIAG_NAME_MAX characters, plus the quotes and "...".
 */
#include "diag.h"
#include "fuzz.h"
#include "util.h"

static int is_length(const char *s, size_t n)
{
	size_t i = 1;

	if (n < 14 || s[0] != '(')
		return 0;
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	return i > 1 && n - i == 12 && !memcmp(s + i, " characters)", 12);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sb out = SB_INIT;
	const char *v = (const char *)data + 1;
	size_t n, bad, digits = 0;
	int personal, name;

	if (size < 1)
		return 0;
	personal = data[0] & 1;
	name = data[0] & 2;
	n = size - 1;
	if (name)
		diag_name(&out, v, n);
	else
		diag_value(&out, v, n, personal);

	for (size_t i = 0; i < out.len; i++) {
		unsigned char c = (unsigned char)out.buf[i];
		FZ_CHECK(c >= 0x20 && c != 0x7f, "control character 0x%02x shown", c);
		FZ_CHECK(!(c == 0xc2 && i + 1 < out.len && (unsigned char)out.buf[i + 1] <= 0x9f),
			 "C1 control shown");
		if (c == '@')
			FZ_CHECK(i >= 3 && !memcmp(out.buf + i - 3, "***", 3), "an address shown");
	}
	FZ_CHECK(utf8_valid(out.buf, out.len, &bad), "invalid UTF-8 shown at %zu", bad);
	FZ_CHECK(out.len <= 8 * DIAG_NAME_MAX + 8, "%zu bytes shown", out.len);
	if (personal && !name)
		FZ_CHECK(is_length(out.buf, out.len), "a personal value shown");
	for (size_t i = 0; i < n; i++)
		digits += v[i] >= '0' && v[i] <= '9';
	if (digits >= 7 && !memchr(v, '@', n))
		FZ_CHECK(is_length(out.buf, out.len), "a phone number shown");
	sb_free(&out);
	return 0;
}
