/*
 * Unit tests for lib/mime.c: RFC 2047 header encoding and folding,
 * addresses, quoted-printable, base64, dates, Message-IDs and whole
 * messages.
 *
 * The exact expected encodings below were worked out from the rules in
 * mime.h (which words are encoded, B or Q by length, greedy filling of
 * 78-character lines) and then checked independently with Python 3.11:
 * every encoded word's payload with base64.b64decode / quopri, each whole
 * header by email.message_from_bytes(..., policy=email.policy.default)
 * giving back the input, and base64 bodies with base64.encodebytes.
 * Besides the fixed cases, a property check encodes many generated values
 * and decodes them with a small decoder of its own (unfold, decode
 * encoded words, drop white space between adjacent ones).
 *
 * With arguments it is a tool for tests/cli/t05*-mime.sh:
 *   test_mime header NAME VALUE
 *   test_mime address NAME DISPLAY ADDR
 *   test_mime message FROM_NAME FROM_ADDR TO_NAME TO_ADDR SUBJECT TEXT HTML
 *             ("-" for an absent TEXT or HTML; "\n" in them is a newline)
 *   test_mime qp < file
 * each writing what the module makes on stdout (exit 1 on -1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mime.h"
#include "tap.h"
#include "util.h"

static char *hdr(const char *name, const char *value)
{
	struct sb o = SB_INIT;

	if (mime_encode_header(&o, name, value))
		sb_adds(&o, "(error)");
	return sb_detach(&o);
}

static char *addr(const char *display, const char *a)
{
	struct sb o = SB_INIT;

	if (mime_encode_address(&o, "From", display, a))
		sb_adds(&o, "(error)");
	return sb_detach(&o);
}

static char *qp(const char *s, size_t n)
{
	struct sb o = SB_INIT;

	mime_qp(&o, s, n);
	return sb_detach(&o);
}

#define HDR_IS(name, value, want, ...) do { \
	char *g = hdr(name, value); \
	is_str(g, want, __VA_ARGS__); \
	free(g); \
} while (0)

#define ADDR_IS(display, a, want, ...) do { \
	char *g = addr(display, a); \
	is_str(g, want, __VA_ARGS__); \
	free(g); \
} while (0)

#define QP_IS(s, want, ...) do { \
	char *g = qp(s, strlen(s)); \
	is_str(g, want, __VA_ARGS__); \
	free(g); \
} while (0)

/* ------------------------------------------------- a decoder for checks */

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

static int b64dec(struct sb *out, const char *s, size_t n)
{
	unsigned acc = 0;
	int bits = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		int v;

		if (s[i] == '=')
			break;
		if ((v = b64val((unsigned char)s[i])) < 0)
			return -1;
		acc = acc << 6 | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			sb_addc(out, (int)(acc >> bits & 0xff));
		}
	}
	return 0;
}

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/*
 * Unfolds and decodes a header written by mime_encode_header: the value
 * after "Name: ", or NULL when the header breaks a rule (a CR or LF not in
 * a CRLF followed by a blank, a line over 998, an encoded word over 75
 * or with anything but UTF-8 B/Q, a Q word with unsafe characters).
 * *long_lines counts lines over 78.
 */
static char *decode_header(const char *h, int *long_lines)
{
	struct sb u = SB_INIT, out = SB_INIT;
	size_t i, n = strlen(h), line = 0, ws = 0, wsn = 0;
	int last_ew = 0;
	const char *c;

	*long_lines = 0;
	if (n < 2 || strcmp(h + n - 2, "\r\n"))
		goto bad;
	for (i = 0; i < n - 2; i++) {
		if (h[i] == '\r' || h[i] == '\n') {
			if (h[i] != '\r' || h[i + 1] != '\n' || (h[i + 2] != ' ' && h[i + 2] != '\t'))
				goto bad;
			if (line > 998)
				goto bad;
			*long_lines += line > 78;
			line = 0;
			i++;
			continue;
		}
		line++;
		sb_addc(&u, h[i]);
	}
	if (line > 998)
		goto bad;
	*long_lines += line > 78;
	c = strchr(u.buf, ':');
	if (!c)
		goto bad;
	i = (size_t)(c - u.buf) + 1;
	if (i < u.len && u.buf[i] == ' ')
		i++;
	while (i < u.len) {
		if (u.buf[i] == ' ' || u.buf[i] == '\t') {
			if (!wsn)
				ws = i;
			wsn++;
			i++;
			continue;
		}
		if (!strncmp(u.buf + i, "=?UTF-8?", 8) && i + 10 < u.len &&
		    (u.buf[i + 8] == 'B' || u.buf[i + 8] == 'Q') && u.buf[i + 9] == '?') {
			char *end = strstr(u.buf + i + 10, "?=");
			size_t e, k;

			if (!end)
				goto bad;
			e = (size_t)(end - u.buf) + 2;
			if (e - i > 75 || (e < u.len && u.buf[e] != ' ' && u.buf[e] != '\t'))
				goto bad;
			if (!last_ew)
				sb_add(&out, u.buf + ws, wsn);
			if (u.buf[i + 8] == 'B') {
				if (b64dec(&out, u.buf + i + 10, e - 2 - (i + 10)))
					goto bad;
			} else {
				for (k = i + 10; k < e - 2; k++) {
					char ch = u.buf[k];

					if (ch == '_')
						sb_addc(&out, ' ');
					else if (ch == '=' && k + 2 < e - 2 + 1 &&
						 hexval(u.buf[k + 1]) >= 0 && hexval(u.buf[k + 2]) >= 0) {
						sb_addc(&out, hexval(u.buf[k + 1]) * 16 + hexval(u.buf[k + 2]));
						k += 2;
					} else if (ascii_isalpha(ch) || ascii_isdigit(ch) ||
						   strchr("!*+-/", ch)) {
						sb_addc(&out, ch);
					} else {
						goto bad;
					}
				}
			}
			last_ew = 1;
			wsn = 0;
			i = e;
			continue;
		}
		sb_add(&out, u.buf + ws, wsn);
		wsn = 0;
		while (i < u.len && u.buf[i] != ' ' && u.buf[i] != '\t')
			sb_addc(&out, u.buf[i++]);
		last_ew = 0;
	}
	sb_free(&u);
	return sb_detach(&out);
bad:
	sb_free(&u);
	sb_free(&out);
	return NULL;
}

/* ---------------------------------------------------------------- tests */

static void test_headers(void)
{
	HDR_IS("Subject", "plain ascii subject", "Subject: plain ascii subject\r\n", "ASCII as is");
	HDR_IS("Subject", "", "Subject:\r\n", "empty value");
	HDR_IS("Subject", NULL, "Subject:\r\n", "NULL value");
	HDR_IS("Subject", "  \t padded \t ", "Subject: padded\r\n", "blanks at the ends dropped");
	HDR_IS("Subject", "a  b\tc", "Subject: a  b\tc\r\n", "inner white space kept");
	HDR_IS("Subject", "Привет, Анна! Скидка 20% на всё",
	       "Subject: =?UTF-8?B?0J/RgNC40LLQtdGCLCDQkNC90L3QsCEg0KHQutC40LTQutCw?= 20%\r\n"
	       " =?UTF-8?B?0L3QsCDQstGB0ZE=?=\r\n",
	       "Cyrillic: B words, ASCII word between them raw, folded at 78");
	HDR_IS("Subject", "Şişli'de İndirim günü",
	       "Subject: =?UTF-8?B?xZ5pxZ9saSdkZSDEsG5kaXJpbSBnw7xuw7w=?=\r\n",
	       "Turkish: one run of three words, B shorter than Q");
	HDR_IS("Subject", "Prix réduit", "Subject: Prix =?UTF-8?Q?r=C3=A9duit?=\r\n",
	       "Q when shorter than B");
	HDR_IS("Subject", "Hello 🎉 world", "Subject: Hello =?UTF-8?B?8J+OiQ==?= world\r\n",
	       "emoji between ASCII words");
	HDR_IS("Subject", "🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉",
	       "Subject: =?UTF-8?B?8J+OifCfjonwn46J8J+OifCfjonwn46J8J+OifCfjonwn46J8J+OiQ==?=\r\n"
	       " =?UTF-8?B?8J+OifCfjonwn46J8J+OifCfjonwn46J8J+OifCfjonwn46J8J+OiQ==?=\r\n",
	       "20 emoji: 10 per word, none split");
	HDR_IS("Subject", "Ваш заказ №12345 готов к выдаче в пункте самовывоза на улице Ленина",
	       "Subject: =?UTF-8?B?0JLQsNGIINC30LDQutCw0Lcg4oSWMTIzNDUg0LPQvtGC0L7QsiDQuiA=?=\r\n"
	       " =?UTF-8?B?0LLRi9C00LDRh9C1INCyINC/0YPQvdC60YLQtSDRgdCw0LzQvtCy0YvQstC+?=\r\n"
	       " =?UTF-8?B?0LfQsCDQvdCwINGD0LvQuNGG0LUg0JvQtdC90LjQvdCw?=\r\n",
	       "long Cyrillic subject: three encoded words, spaces inside them");
	HDR_IS("Subject", "word word word word word word word word word word word word word word "
	       "word word word word word word word word word word word word word word word word",
	       "Subject: word word word word word word word word word word word word word word\r\n"
	       " word word word word word word word word word word word word word word word\r\n"
	       " word\r\n", "long ASCII subject folded at spaces, lines <= 78");
	HDR_IS("Subject", "Mixed Ünïcödé and a very long subject line with many plain words following after it to fold",
	       "Subject: Mixed =?UTF-8?B?w5xuw69jw7Zkw6k=?= and a very long subject line with\r\n"
	       " many plain words following after it to fold\r\n", "mixed: encoded word then folding");
	HDR_IS("Subject", "=?UTF-8?B?SGk=?= fake", "Subject: =?UTF-8?B?PT9VVEYtOD9CP1NHaz0/PQ==?= fake\r\n",
	       "text that looks like an encoded word is encoded");
	HDR_IS("Subject", "x\r\nBcc: evil@example.com",
	       "Subject: x  Bcc: evil@example.com\r\n", "CR LF become spaces: no injected header");
	HDR_IS("Subject", "a\nb\rc\x01" "d\x7f", "Subject: a b c d\r\n", "LF, CR, C0, DEL become spaces (the last one trimmed)");
	HDR_IS("X-Tag", "ok", "X-Tag: ok\r\n", "X- header");
	HDR_IS("List-Unsubscribe", "<https://shop.example/u/abc?x=1&y=2>, <mailto:u@shop.example?subject=unsub>",
	       "List-Unsubscribe: <https://shop.example/u/abc?x=1&y=2>,\r\n"
	       " <mailto:u@shop.example?subject=unsub>\r\n", "structured ASCII header is folded, not encoded");
	{
		struct sb o = SB_INIT;

		is_int(mime_encode_header(&o, "Bad Name", "x"), -1, "space in name");
		is_int(mime_encode_header(&o, "Bad:Name", "x"), -1, "colon in name");
		is_int(mime_encode_header(&o, "", "x"), -1, "empty name");
		is_int(mime_encode_header(&o, "X\r\nBcc", "x"), -1, "CRLF in name");
		is_int(o.len, 0, "nothing written on error");
		sb_free(&o);
	}
	{
		/* a word too long for any line is encoded so lines stay <= 998 */
		char *v = xmalloc(1001), *g;
		int longl;

		memset(v, 'a', 1000);
		v[1000] = 0;
		g = hdr("Subject", v);
		ok(!strncmp(g, "Subject: =?UTF-8?Q?aaaa", 23), "1000-byte word becomes encoded words");
		{
			char *d = decode_header(g, &longl);

			is_str(d, v, "and decodes back");
			is_int(longl, 0, "with no line over 78");
			free(d);
		}
		free(g);
		v[900] = 0;
		g = hdr("Subject", v);
		ok(strlen(g) == 9 + 900 + 2 && !strncmp(g + 9, "aaa", 3), "a 900-byte word stays raw");
		free(g);
		free(v);
	}
}

/* Values made of pieces: ASCII words, Cyrillic, Turkish, emoji, "=?",
 * runs of blanks, long words. */
static void test_header_property(void)
{
	static const char *const pieces[] = {
		"a", "Hello", "20%", "Привет", "Ёлка", "İstanbul", "ğüşöçı", "🎉", "👍🏽",
		"=?", "?=", "x=?y?=z", "!*+-/_", "\"q\"", "(c)", "<>", "日本語",
		"averyveryverylongwordwithoutanyspacesatallthatislongerthanaline-averyveryverylongword",
	};
	static const char *const blanks[] = { " ", "  ", "\t", " \t ", "" };
	unsigned seed = 12345;
	int i, bad = 0, badlong = 0;

	for (i = 0; i < 3000; i++) {
		struct sb v = SB_INIT;
		int k, nw, longl;
		char *g, *d;

		seed = seed * 1103515245 + 12345;
		nw = 1 + (int)(seed >> 16) % 30;
		for (k = 0; k < nw; k++) {
			seed = seed * 1103515245 + 12345;
			if (k)
				sb_adds(&v, blanks[(seed >> 8) % (k % 7 ? 4 : 5)]);
			sb_adds(&v, pieces[(seed >> 16) % ARRAY_SIZE(pieces)]);
		}
		if (i % 97 == 0) /* a long run of blanks */
			sb_adds(&v, "                                                                      x");
		g = hdr(i % 2 ? "Subject" : "X-A-Rather-Long-Header-Name-For-Folding", v.buf);
		d = decode_header(g, &longl);
		if (!d || strcmp(d, v.buf)) {
			if (bad++ < 3)
				printf("# round trip failed for \"%s\"\n#   %s\n#   -> %s\n", v.buf, g,
				       d ? d : "(invalid)");
		}
		/* lines over 78 only for raw words that long */
		if (longl && !strstr(v.buf, "averyvery") && badlong++ < 3)
			printf("# long line for \"%s\":\n%s", v.buf, g);
		free(g);
		free(d);
		sb_free(&v);
	}
	is_int(bad, 0, "3000 generated headers decode back to their values");
	is_int(badlong, 0, "and only raw words longer than a line make lines over 78");
}

static void test_addresses(void)
{
	ADDR_IS("Shop", "news@shop.example", "From: Shop <news@shop.example>\r\n", "atom name");
	ADDR_IS("Anna O'Brien", "anna@example.com", "From: Anna O'Brien <anna@example.com>\r\n",
		"atoms with an apostrophe");
	ADDR_IS(NULL, "anna@example.com", "From: anna@example.com\r\n", "no name");
	ADDR_IS("  ", "anna@example.com", "From: anna@example.com\r\n", "blank name");
	ADDR_IS("Smith, John", "j@example.com", "From: \"Smith, John\" <j@example.com>\r\n",
		"comma needs a quoted-string");
	ADDR_IS("Dr. \"Who\" \\o/", "w@example.com",
		"From: \"Dr. \\\"Who\\\" \\\\o/\" <w@example.com>\r\n", "quotes and backslashes escaped");
	ADDR_IS("Магазин", "news@shop.example",
		"From: =?UTF-8?B?0JzQsNCz0LDQt9C40L0=?= <news@shop.example>\r\n", "Cyrillic name");
	ADDR_IS("Çiçek Sepeti", "info@ciceksepeti.example",
		"From: =?UTF-8?B?w4dpw6dlayBTZXBldGk=?= <info@ciceksepeti.example>\r\n",
		"Turkish name: B (20 characters) is shorter than Q (22)");
	ADDR_IS("Müller Straße GmbH", "info@mueller.example",
		"From: =?UTF-8?Q?M=C3=BCller_Stra=C3=9Fe_GmbH?= <info@mueller.example>\r\n",
		"German name: Q (28) no longer than B (28), space as _");
	ADDR_IS("Evil\r\nBcc: x@evil.example", "a@example.com",
		"From: \"Evil  Bcc: x@evil.example\" <a@example.com>\r\n",
		"CR LF in a name: spaces, quoted, no new header");
	ADDR_IS("Name", "a@example.com\r\nBcc: x@evil.example", "(error)", "CR LF in address refused");
	ADDR_IS("Name", "a@example.com>, <x@evil.example", "(error)", "angle brackets refused");
	ADDR_IS("Name", "Name <a@example.com>", "(error)", "a wrapped address refused");
	ADDR_IS("Name", "a b@example.com", "(error)", "space refused");
	ADDR_IS("Name", "a@example", "(error)", "no TLD refused");
	ADDR_IS("Name", "", "(error)", "empty address refused");
	ADDR_IS("Name", NULL, "(error)", "NULL address refused");
	ADDR_IS("Name", "Anna.Smith@Example.COM", "From: Name <Anna.Smith@Example.COM>\r\n",
		"upper case kept");
	ADDR_IS("Анна Каренина-Вронская из Санкт-Петербурга, Российская империя",
		"anna@example.com",
		"From: =?UTF-8?B?0JDQvdC90LAg0JrQsNGA0LXQvdC40L3QsC3QktGA0L7QvdGB0LrQsNGPINC4?=\r\n"
		" =?UTF-8?B?0Lcg0KHQsNC90LrRgi3Qn9C10YLQtdGA0LHRg9GA0LPQsCwg0KDQvtGB0YE=?=\r\n"
		" =?UTF-8?B?0LjQudGB0LrQsNGPINC40LzQv9C10YDQuNGP?= <anna@example.com>\r\n",
		"long Cyrillic name folded, address on the last line");

	ok(mime_addr_valid("a@example.com"), "valid address");
	ok(!mime_addr_valid("mailto:a@example.com"), "mailto: prefix is not an address");
	ok(!mime_addr_valid(" a@example.com"), "leading space");
	ok(!mime_addr_valid("a@example.com\n"), "trailing LF");
	ok(!mime_addr_valid("a\x7f@example.com"), "DEL");
	ok(!mime_addr_valid("a@@example.com"), "two @");
	ok(!mime_addr_valid("\"a\"@example.com"), "quoted local part");
	ok(mime_addr_valid("ёж@пример.рф") == 1, "UTF-8 address passes (needs SMTPUTF8)");

	{
		struct sb d = SB_INIT, a = SB_INIT;

		ok(!mime_split_address("Shop <news@shop.example>", &d, &a) &&
		   !strcmp(d.buf, "Shop") && !strcmp(a.buf, "news@shop.example"), "split name <addr>");
		ok(!mime_split_address("  \"Smith, \\\"J\\\"\" <j@example.com> ", &d, &a) &&
		   !strcmp(d.buf, "Smith, \"J\"") && !strcmp(a.buf, "j@example.com"),
		   "split quoted name");
		ok(!mime_split_address("<j@example.com>", &d, &a) && !d.len &&
		   !strcmp(a.buf, "j@example.com"), "split <addr>");
		ok(!mime_split_address("j@example.com", &d, &a) && !d.len &&
		   !strcmp(a.buf, "j@example.com"), "split bare addr");
		ok(!mime_split_address("Магазин <news@shop.example>", &d, &a) &&
		   !strcmp(d.buf, "Магазин"), "split UTF-8 name");
		ok(mime_split_address("Shop <news@shop.example", &d, &a), "unclosed <");
		ok(mime_split_address("Shop news@shop.example>", &d, &a), "no <");
		ok(mime_split_address("Shop <bad address>", &d, &a), "invalid address");
		ok(mime_split_address("Sh\"op <a@example.com>", &d, &a), "stray quote");
		ok(mime_split_address("a@example.com, b@example.com", &d, &a), "two addresses");
		sb_free(&d);
		sb_free(&a);
	}
}

/* Decodes QP for checks: NULL when a line is over 76, a line ends in a
 * blank, or an "=" is not followed by two upper-case hex digits or CRLF. */
static char *qp_decode(const char *s, size_t n, size_t *outlen)
{
	struct sb o = SB_INIT;
	size_t i, col = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '\r' || s[i] == '\n') {
			if (s[i] != '\r' || i + 1 >= n || s[i + 1] != '\n' || col > 76 ||
			    (i > 0 && (s[i - 1] == ' ' || s[i - 1] == '\t')))
				goto bad;
			sb_adds(&o, "\r\n");
			i++;
			col = 0;
			continue;
		}
		if (s[i] == '=') {
			if (i + 2 < n && s[i + 1] == '\r' && s[i + 2] == '\n') {
				if (col + 1 > 76)
					goto bad;
				i += 2;
				col = 0;
				continue;
			}
			if (i + 2 >= n || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0)
				goto bad;
			sb_addc(&o, hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
			col += 3;
			continue;
		}
		if ((unsigned char)s[i] > 126 || ((unsigned char)s[i] < 32 && s[i] != '\t'))
			goto bad;
		sb_addc(&o, s[i]);
		col++;
	}
	if (col > 76 || (n && (s[n - 1] == ' ' || s[n - 1] == '\t')))
		goto bad;
	*outlen = o.len;
	return sb_detach(&o);
bad:
	sb_free(&o);
	return NULL;
}

#define AS "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static void test_qp(void)
{
	char a[200];

	QP_IS("Hello world\n", "Hello world\r\n", "plain line");
	QP_IS("a = b\n", "a =3D b\r\n", "= is encoded");
	QP_IS("trail  \nx \t\n", "trail =20\r\nx =09\r\n", "trailing space and tab encoded");
	QP_IS("end ", "end=20", "trailing space at the end of input");
	QP_IS("Привет", "=D0=9F=D1=80=D0=B8=D0=B2=D0=B5=D1=82", "UTF-8 bytes encoded, upper-case hex");
	QP_IS("a\r\nb\rc", "a\r\nb=0Dc", "CRLF is a line end, lone CR encoded");
	QP_IS("tab\there", "tab\there", "inner tab literal");
	QP_IS("From me\nnot From x\n", "=46rom me\r\nnot From x\r\n", "From at a line start");
	QP_IS(".\n..x\n", ".\r\n..x\r\n", "dots left to SMTP dot-stuffing");
	QP_IS("\x01\x7f", "=01=7F", "controls and DEL");
	QP_IS("", "", "empty");

	{
		char want[200];

		snprintf(a, sizeof a, "%.100s", AS);
		snprintf(want, sizeof want, "%.75s=\r\n%.25s", AS, AS);
		QP_IS(a, want, "100 a: 75 and a soft break, then 25");
		snprintf(a, sizeof a, "%.76s\n", AS);
		snprintf(want, sizeof want, "%.76s\r\n", AS);
		QP_IS(a, want, "76 a and a line end: fits on one line");
		snprintf(a, sizeof a, "%.76s", AS);
		snprintf(want, sizeof want, "%.76s", AS);
		QP_IS(a, want, "76 a at the end: fits on one line");
		snprintf(a, sizeof a, "%.77s\n", AS);
		snprintf(want, sizeof want, "%.75s=\r\naa\r\n", AS);
		QP_IS(a, want, "77 a: soft break after 75");
		snprintf(a, sizeof a, "%.74sé\n", AS);
		snprintf(want, sizeof want, "%.74s=\r\n=C3=A9\r\n", AS);
		QP_IS(a, want, "=XX never split by a soft break");
		snprintf(a, sizeof a, "%.73s=\n", AS);
		snprintf(want, sizeof want, "%.73s=3D\r\n", AS);
		QP_IS(a, want, "=3D ending a line at 76");
		snprintf(a, sizeof a, "%.75s ", AS);
		snprintf(want, sizeof want, "%.75s=\r\n=20", AS);
		QP_IS(a, want, "a final space after 75 characters: =20 on the next line");
		snprintf(a, sizeof a, "%.75s bbbbbbbbbb", AS);
		snprintf(want, sizeof want, "%.75s=\r\n bbbbbbbbbb", AS);
		QP_IS(a, want, "a space starting the line after a soft break stays a space");
		snprintf(a, sizeof a, "%.74s b", AS);
		snprintf(want, sizeof want, "%.74s b", AS);
		QP_IS(a, want, "a space before the last character stays a space");
		snprintf(a, sizeof a, "%.75sFrom here", AS);
		snprintf(want, sizeof want, "%.75s=\r\n=46rom here", AS);
		QP_IS(a, want, "From after a soft break is encoded too");
	}
	{
		/* property: random bytes round-trip, lines <= 76, no trailing
		 * blanks, a 5000-byte line becomes short lines */
		unsigned seed = 99;
		int i, bad = 0;

		for (i = 0; i < 2000; i++) {
			char in[600];
			size_t n = (size_t)(i % 600), k, dn;
			struct sb want = SB_INIT;
			char *e, *d;

			for (k = 0; k < n; k++) {
				seed = seed * 1103515245 + 12345;
				in[k] = (char)(i % 3 ? " \t\n=aF.\r\xd0\x9f"[(seed >> 16) % 11] :
					       (int)(seed >> 16));
			}
			for (k = 0; k < n; k++) {
				if (in[k] == '\n' && !(k && in[k - 1] == '\r'))
					sb_addc(&want, '\r');
				sb_addc(&want, in[k]);
			}
			e = qp(in, n);
			d = qp_decode(e, strlen(e), &dn);
			if (!d || dn != want.len || memcmp(d, want.buf, dn))
				if (bad++ < 2)
					printf("# qp round trip %d failed:\n%s\n", i, e);
			free(e);
			free(d);
			sb_free(&want);
		}
		is_int(bad, 0, "2000 random bodies round-trip through QP within its line rules");
	}
	{
		char *big = xmalloc(5001), *e, *d;
		size_t dn;

		memset(big, 'x', 5000);
		big[5000] = 0;
		e = qp(big, 5000);
		d = qp_decode(e, strlen(e), &dn);
		ok(d && dn == 5000, "a 5000-byte line is cut into lines of at most 76");
		is_int(strlen(e), 5000 + 66 * 3, "66 soft breaks");
		free(e);
		free(d);
		free(big);
	}
}

static void test_base64(void)
{
	struct sb o = SB_INIT;
	unsigned char all[256];
	int i;

	mime_base64(&o, "", 0);
	is_int(o.len, 0, "empty input, no output");
	mime_base64(&o, "Man", 3);
	is_str(o.buf, "TWFu\r\n", "Man");
	sb_reset(&o);
	mime_base64(&o, "Ma", 2);
	is_str(o.buf, "TWE=\r\n", "one pad");
	sb_reset(&o);
	mime_base64(&o, "M", 1);
	is_str(o.buf, "TQ==\r\n", "two pads");
	sb_reset(&o);
	for (i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	mime_base64(&o, all, 256);
	/* base64.encodebytes(bytes(range(256))) with \n made \r\n */
	is_str(o.buf,
	       "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4\r\n"
	       "OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1ub3Bx\r\n"
	       "cnN0dXZ3eHl6e3x9fn+AgYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6ChoqOkpaanqKmq\r\n"
	       "q6ytrq+wsbKztLW2t7i5uru8vb6/wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd3t/g4eLj\r\n"
	       "5OXm5+jp6uvs7e7v8PHy8/T19vf4+fr7/P3+/w==\r\n", "256 bytes in 76-character lines");
	sb_reset(&o);
	mime_base64(&o, all, 57);
	ok(o.len == 78 && o.buf[76] == '\r', "57 bytes: exactly one full line");
	sb_free(&o);
}

static void test_misc(void)
{
	char buf[64];

	mime_date(1795435200, buf);
	is_str(buf, "Mon, 23 Nov 2026 12:00:00 +0000", "date (python email.utils.formatdate)");
	mime_date(0, buf);
	is_str(buf, "Thu, 01 Jan 1970 00:00:00 +0000", "epoch");
	mime_date(951868799, buf);
	is_str(buf, "Tue, 29 Feb 2000 23:59:59 +0000", "leap day");
	mime_date(-1, buf);
	is_str(buf, "Wed, 31 Dec 1969 23:59:59 +0000", "before the epoch");

	is_int(mime_message_id(buf, sizeof buf, "winback/42", "shop.example"), 0, "message id");
	/* hashlib.sha256(b"winback/42").hexdigest()[:32] */
	is_str(buf, "<24e0b5d154519a00fee387c517f28d29@shop.example>", "stable id from the key");
	is_int(mime_message_id(buf, sizeof buf, "k", "bad domain"), -1, "bad domain");
	is_int(mime_message_id(buf, sizeof buf, "k", "-x.example"), -1, "label starting with -");
	is_int(mime_message_id(buf, sizeof buf, "k", ""), -1, "empty domain");
	is_int(mime_message_id(buf, 47, "k", "shop.example"), -1, "buffer too small");
	is_int(mime_message_id(buf, 48, "k", "shop.example"), 0, "buffer just large enough");
	is_int(strlen(buf), 47, "its length");

	ok(mime_header_reserved("bcc") && mime_header_reserved("Content-Type") &&
	   mime_header_reserved("MESSAGE-ID") && mime_header_reserved("content-x"),
	   "reserved headers ignore case");
	ok(!mime_header_reserved("List-Unsubscribe") && !mime_header_reserved("X-Campaign") &&
	   !mime_header_reserved("Contents"), "others are not reserved");
}

static const struct mime_header extra[] = {
	{ "List-Unsubscribe", "<https://shop.example/u/abc>" },
	{ "List-Unsubscribe-Post", "List-Unsubscribe=One-Click" },
	{ "X-Campaign", "winback" },
};

static void test_message(void)
{
	struct sb o = SB_INIT;
	const char *why = NULL;
	char id[64];
	struct mime_msg m = {
		.from_name = "Магазин", .from_addr = "news@shop.example",
		.to_name = "Anna O'Brien", .to_addr = "anna@example.com",
		.reply_to_name = "Support, Shop", .reply_to_addr = "support@shop.example",
		.subject = "Скидка 20% для вас",
		.message_id = id, .date = 1795435200,
		.text = "Hello Anna,\nsee you.\n", .text_len = 21,
		.html = "<p>Hello Anna, café</p>\n", .html_len = 25,
		.headers = extra, .nheaders = 3,
	};

	mime_message_id(id, sizeof id, "winback/42", "shop.example");
	is_int(mime_build(&o, &m, &why), 0, "multipart message builds");
	/* boundary: hashlib.sha256(text + b"\0" + html).hexdigest()[:32] */
	is_str(o.buf,
	       "Date: Mon, 23 Nov 2026 12:00:00 +0000\r\n"
	       "From: =?UTF-8?B?0JzQsNCz0LDQt9C40L0=?= <news@shop.example>\r\n"
	       "To: Anna O'Brien <anna@example.com>\r\n"
	       "Reply-To: \"Support, Shop\" <support@shop.example>\r\n"
	       "Subject: =?UTF-8?B?0KHQutC40LTQutCw?= 20% =?UTF-8?B?0LTQu9GPINCy0LDRgQ==?=\r\n"
	       "Message-ID: <24e0b5d154519a00fee387c517f28d29@shop.example>\r\n"
	       "MIME-Version: 1.0\r\n"
	       "List-Unsubscribe: <https://shop.example/u/abc>\r\n"
	       "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
	       "X-Campaign: winback\r\n"
	       "Content-Type: multipart/alternative;\r\n boundary=\"=_972db02a1ce93572e590a8090bd0c18a\"\r\n"
	       "\r\n"
	       "--=_972db02a1ce93572e590a8090bd0c18a\r\n"
	       "Content-Type: text/plain; charset=UTF-8\r\n"
	       "Content-Transfer-Encoding: quoted-printable\r\n"
	       "\r\n"
	       "Hello Anna,\r\n"
	       "see you.\r\n"
	       "\r\n"
	       "--=_972db02a1ce93572e590a8090bd0c18a\r\n"
	       "Content-Type: text/html; charset=UTF-8\r\n"
	       "Content-Transfer-Encoding: quoted-printable\r\n"
	       "\r\n"
	       "<p>Hello Anna, caf=C3=A9</p>\r\n"
	       "\r\n"
	       "--=_972db02a1ce93572e590a8090bd0c18a--\r\n",
	       "the whole multipart/alternative message");

	sb_reset(&o);
	m.html = NULL;
	m.reply_to_addr = NULL;
	m.nheaders = 0;
	m.subject = NULL;
	m.text = "Привет, Анна!\nДо встречи.";
	m.text_len = strlen(m.text);
	is_int(mime_build(&o, &m, &why), 0, "text-only message builds");
	is_str(o.buf,
	       "Date: Mon, 23 Nov 2026 12:00:00 +0000\r\n"
	       "From: =?UTF-8?B?0JzQsNCz0LDQt9C40L0=?= <news@shop.example>\r\n"
	       "To: Anna O'Brien <anna@example.com>\r\n"
	       "Message-ID: <24e0b5d154519a00fee387c517f28d29@shop.example>\r\n"
	       "MIME-Version: 1.0\r\n"
	       "Content-Type: text/plain; charset=UTF-8\r\n"
	       "Content-Transfer-Encoding: base64\r\n"
	       "\r\n"
	       /* base64.encodebytes("Привет, Анна!\r\nДо встречи.".encode()) */
	       "0J/RgNC40LLQtdGCLCDQkNC90L3QsCENCtCU0L4g0LLRgdGC0YDQtdGH0Lgu\r\n",
	       "Cyrillic text-only: base64 of the CRLF text, no Subject when NULL");

	sb_reset(&o);
	m.text = NULL;
	m.html = "<p>x</p>";
	m.html_len = 8;
	is_int(mime_build(&o, &m, &why), 0, "html-only message builds");
	ok(strstr(o.buf, "Content-Type: text/html; charset=UTF-8\r\n"
		  "Content-Transfer-Encoding: quoted-printable\r\n\r\n<p>x</p>\r\n") &&
	   !strstr(o.buf, "multipart"), "html only: one text/html part ending in CRLF");

	/* errors leave out alone */
	sb_reset(&o);
	sb_adds(&o, "keep");
	m.to_addr = "a@example.com\r\nRCPT TO:<x@evil.example>";
	ok(mime_build(&o, &m, &why) == -1 && !strcmp(why, "invalid To address") &&
	   !strcmp(o.buf, "keep"), "CR LF in To refused, nothing written");
	m.to_addr = "anna@example.com";
	m.from_addr = "no-at-sign";
	ok(mime_build(&o, &m, &why) == -1 && !strcmp(why, "invalid From address"), "bad From");
	m.from_addr = "news@shop.example";
	m.reply_to_addr = "x y@z.example";
	ok(mime_build(&o, &m, &why) == -1 && !strcmp(why, "invalid Reply-To address"), "bad Reply-To");
	m.reply_to_addr = NULL;
	m.message_id = "<no-at>";
	ok(mime_build(&o, &m, &why) == -1 && strstr(why, "Message-ID"), "bad Message-ID");
	m.message_id = "<a@b>\r\nBcc: x@y";
	ok(mime_build(&o, &m, &why) == -1 && strstr(why, "Message-ID"), "CR LF in Message-ID");
	m.message_id = id;
	m.html = NULL;
	ok(mime_build(&o, &m, &why) == -1 && strstr(why, "no text or HTML"), "no body");
	m.html = "<p>x</p>";
	{
		static const struct mime_header bad1[] = { { "Bcc", "x@evil.example" } };
		static const struct mime_header bad2[] = { { "X Bad", "v" } };

		m.headers = bad1;
		m.nheaders = 1;
		ok(mime_build(&o, &m, &why) == -1 && strstr(why, "reserved"), "reserved extra header");
		m.headers = bad2;
		ok(mime_build(&o, &m, &why) == -1 && strstr(why, "bad extra header"), "bad extra name");
	}
	is_str(o.buf, "keep", "out unchanged by every refusal");
	sb_free(&o);

	{
		/* long lines and mostly non-ASCII bodies: no line over 998, QP
		 * or base64 as the rule says */
		struct sb body = SB_INIT, html = SB_INIT;
		size_t i, line = 0, maxline = 0;
		int bare = 0;

		for (i = 0; i < 3000; i++)
			sb_adds(&body, "word ");
		sb_adds(&body, "\n");
		for (i = 0; i < 500; i++)
			sb_adds(&html, "<td>ä</td><td>x</td>");
		m.text = body.buf;
		m.text_len = body.len;
		m.html = html.buf;
		m.html_len = html.len;
		m.headers = extra;
		m.nheaders = 3;
		sb_init(&o);
		is_int(mime_build(&o, &m, &why), 0, "long-line message builds");
		for (i = 0; i < o.len; i++) {
			if (o.buf[i] == '\n' && (i == 0 || o.buf[i - 1] != '\r'))
				bare++;
			if (o.buf[i] == '\r' && (i + 1 >= o.len || o.buf[i + 1] != '\n'))
				bare++;
			if (o.buf[i] == '\n') {
				if (line > maxline)
					maxline = line;
				line = 0;
			} else if (o.buf[i] != '\r') {
				line++;
			}
		}
		is_int(bare, 0, "CRLF line ends only");
		ok(maxline <= 76, "no line over 76 (got %zu)", maxline);
		ok(strstr(o.buf, "text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable"),
		   "ASCII text: quoted-printable");
		ok(strstr(o.buf, "text/html; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable"),
		   "html with 2 in 20 bytes non-ASCII: quoted-printable (<= 1/6)");
		sb_free(&o);
		sb_reset(&html);
		for (i = 0; i < 500; i++)
			sb_adds(&html, "<i>ä</i>");
		m.html = html.buf;
		m.html_len = html.len;
		is_int(mime_build(&o, &m, &why), 0, "builds");
		ok(strstr(o.buf, "text/html; charset=UTF-8\r\nContent-Transfer-Encoding: base64"),
		   "html with 2 in 9 bytes non-ASCII: base64 (> 1/6)");
		sb_free(&o);
		sb_free(&body);
		sb_free(&html);
	}
}

/* ------------------------------------------------------------- the tool */

static char *unescape(const char *s)
{
	struct sb o = SB_INIT;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] == 'n') {
			sb_addc(&o, '\n');
			s++;
		} else {
			sb_addc(&o, *s);
		}
	}
	return sb_detach(&o);
}

static int tool(int argc, char **argv)
{
	struct sb o = SB_INIT;
	int rc = 0;

	if (!strcmp(argv[1], "header") && argc == 4) {
		rc = mime_encode_header(&o, argv[2], argv[3]);
	} else if (!strcmp(argv[1], "address") && argc == 5) {
		rc = mime_encode_address(&o, argv[2], argv[3], argv[4]);
	} else if (!strcmp(argv[1], "message") && argc == 9) {
		char id[300], *text = NULL, *html = NULL;
		const char *why;
		struct mime_msg m = { 0 };

		mime_message_id(id, sizeof id, argv[4], "shop.example");
		m.from_name = argv[2];
		m.from_addr = argv[3];
		m.to_name = argv[4];
		m.to_addr = argv[5];
		m.subject = argv[6];
		m.message_id = id;
		m.date = 1795435200;
		if (strcmp(argv[7], "-")) {
			text = unescape(argv[7]);
			m.text = text;
			m.text_len = strlen(text);
		}
		if (strcmp(argv[8], "-")) {
			html = unescape(argv[8]);
			m.html = html;
			m.html_len = strlen(html);
		}
		m.headers = extra;
		m.nheaders = 3;
		rc = mime_build(&o, &m, &why);
		if (rc)
			fprintf(stderr, "test_mime: %s\n", why);
		free(text);
		free(html);
	} else if (!strcmp(argv[1], "qp") && argc == 2) {
		struct sb in = SB_INIT;
		char buf[4096];
		size_t n;

		while ((n = fread(buf, 1, sizeof buf, stdin)) > 0)
			sb_add(&in, buf, n);
		mime_qp(&o, in.buf, in.len);
		sb_free(&in);
	} else {
		fprintf(stderr, "usage: test_mime [header NAME VALUE | address NAME DISPLAY ADDR |\n"
			"       message FROM_NAME FROM_ADDR TO_NAME TO_ADDR SUBJECT TEXT HTML | qp]\n");
		return 2;
	}
	fwrite(o.buf, 1, o.len, stdout);
	sb_free(&o);
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		return tool(argc, argv);
	test_headers();
	test_header_property();
	test_addresses();
	test_qp();
	test_base64();
	test_misc();
	test_message();
	return tap_done();
}
