/*
 * fuzz_mime.c - the RFC 2047 header encoder and the body encoding of
 * crm-send's e-mail (lib/mime.c).
 *
 * The first byte picks what is fuzzed, the rest is the text (up to its
 * first NUL, as the C strings the encoders take):
 *
 *   0  mime_encode_header(name, text), name by the second byte
 *   1  mime_encode_address("From", display name text, a fixed address)
 *   2  mime_split_address(text) (a template's From), then, when it splits,
 *      mime_encode_address of the parts
 *   3  mime_qp(text) (all of it, NULs included)
 *
 * Properties of every header written: it ends with CRLF, has no bare CR or
 * LF, no line over 998 bytes, and, unfolded and with its RFC 2047
 * encoded words decoded by the small independent decoder below, gives back
 * the value as mime.h says it is sanitised (controls but TAB, and DEL,
 * become spaces; blanks at both ends dropped; in display names TAB becomes
 * a space too). Of quoted-printable: only printable ASCII and TAB, lines
 * of at most 76 characters, no white space before a line end, no line
 * starting "From ", and decoding gives the text with every line end CRLF.
 */
#include "fuzz.h"
#include "mime.h"
#include "util.h"

/* ---------------------------------------------------------- the decoder */

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 :
		c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int b64val(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26 :
		c >= '0' && c <= '9' ? c - '0' + 52 : c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Decodes w[0..n) when it is an encoded word "=?UTF-8?Q?...?=" or
 * "=?UTF-8?B?...?=" (charset case-insensitive) into out; 0 when it is
 * not one. Malformed encoded text fails the property. */
static int decode_ew(const char *w, size_t n, struct sb *out)
{
	const char *p, *e;
	int q;

	if (n < 12 || w[0] != '=' || w[1] != '?' || ascii_ncasecmp(w + 2, "UTF-8?", 6) ||
	    (ascii_upper(w[8]) != 'Q' && ascii_upper(w[8]) != 'B') || w[9] != '?' ||
	    w[n - 2] != '?' || w[n - 1] != '=')
		return 0;
	FZ_CHECK(n <= 75, "encoded word of %zu characters", n);
	q = ascii_upper(w[8]) == 'Q';
	p = w + 10;
	e = w + n - 2;
	if (q) {
		while (p < e) {
			if (*p == '_') {
				sb_addc(out, ' ');
				p++;
			} else if (*p == '=') {
				FZ_CHECK(e - p >= 3 && hexval(p[1]) >= 0 && hexval(p[2]) >= 0,
					 "bad =XX in a Q word");
				sb_addc(out, hexval(p[1]) << 4 | hexval(p[2]));
				p += 3;
			} else {
				FZ_CHECK(*p > 0x20 && *p < 0x7f && *p != '?', "0x%02x in a Q word",
					 (unsigned char)*p);
				sb_addc(out, *p++);
			}
		}
	} else {
		FZ_CHECK((e - p) % 4 == 0, "B text of %td characters", e - p);
		for (; p < e; p += 4) {
			int v[4];

			for (int k = 0; k < 4; k++) {
				v[k] = p[k] == '=' ? 0 : b64val(p[k]);
				FZ_CHECK(v[k] >= 0, "bad base64 character 0x%02x", (unsigned char)p[k]);
			}
			sb_addc(out, v[0] << 2 | v[1] >> 4);
			if (p[2] != '=')
				sb_addc(out, (v[1] & 15) << 4 | v[2] >> 2);
			if (p[3] != '=')
				sb_addc(out, (v[2] & 3) << 6 | v[3]);
		}
	}
	return 1;
}

/* Decodes unstructured text: words and white space as they are, encoded
 * words decoded, white space between two encoded words dropped. */
static void decode_text(const char *s, size_t n, struct sb *out)
{
	size_t i = 0;
	int prev_ew = 0;

	while (i < n) {
		size_t w = i, b, e;

		while (i < n && (s[i] == ' ' || s[i] == '\t'))
			i++;
		b = i;
		while (i < n && s[i] != ' ' && s[i] != '\t')
			i++;
		e = i;
		if (b == e) { /* white space at the end */
			sb_add(out, s + w, b - w);
			break;
		}
		{
			struct sb word = SB_INIT;
			int ew = decode_ew(s + b, e - b, &word);

			if (!(ew && prev_ew))
				sb_add(out, s + w, b - w);
			if (ew)
				sb_add(out, word.buf, word.len);
			else
				sb_add(out, s + b, e - b);
			prev_ew = ew;
			sb_free(&word);
		}
	}
}

/* Checks the lines of a header and unfolds it into value (what follows
 * "Name:" and its one space). */
static void unfold(const struct sb *h, const char *name, struct sb *value)
{
	struct sb u = SB_INIT;
	size_t i, start = 0, nl = strlen(name);

	FZ_CHECK(h->len >= 2 && h->buf[h->len - 2] == '\r' && h->buf[h->len - 1] == '\n',
		 "a header that does not end with CRLF");
	for (i = 0; i < h->len; i++) {
		if (h->buf[i] == '\r' || h->buf[i] == '\n') {
			if (!(h->buf[i] == '\r' && i + 1 < h->len && h->buf[i + 1] == '\n')) {
				fz_dump("header", h->buf, h->len);
				FZ_CHECK(0, "bare CR or LF at byte %zu", i);
			}
			if (i - start > MIME_LINE_MAX) {
				fz_dump("header", h->buf, h->len);
				FZ_CHECK(0, "line of %zu bytes", i - start);
			}
			sb_add(&u, h->buf + start, i - start);
			i++;
			start = i + 1;
		}
	}
	FZ_CHECK(u.len > nl && !memcmp(u.buf, name, nl) && u.buf[nl] == ':', "no \"%s:\"", name);
	sb_reset(value);
	if (u.len > nl + 1) {
		FZ_CHECK(u.buf[nl + 1] == ' ', "no space after the colon");
		sb_add(value, u.buf + nl + 2, u.len - nl - 2);
	}
	sb_free(&u);
}

/* What mime.h says the encoders make of a value. */
static void sanitised(const char *v, int tab_to_space, struct sb *out)
{
	size_t b = 0, e;

	sb_reset(out);
	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;
		sb_addc(out, (c < 0x20 && (c != '\t' || tab_to_space)) || c == 0x7f ? ' ' : c);
	}
	e = out->len;
	while (b < e && (out->buf[b] == ' ' || out->buf[b] == '\t'))
		b++;
	while (e > b && (out->buf[e - 1] == ' ' || out->buf[e - 1] == '\t'))
		e--;
	memmove(out->buf, out->buf + b, e - b);
	out->len = e - b;
	out->buf[out->len] = 0;
}

static void expect_same(const struct sb *want, const struct sb *got, const struct sb *h)
{
	if (want->len != got->len || memcmp(want->buf, got->buf, want->len)) {
		fz_dump("header", h->buf, h->len);
		fz_dump("want", want->buf, want->len);
		fz_dump("decoded", got->buf, got->len);
		FZ_CHECK(0, "the header does not decode to its value");
	}
}

/* ---------------------------------------------------------- the modes */

static void header(int which, const char *value)
{
	static const char *const names[] = {
		"Subject", "X-Campaign", "List-Unsubscribe", "X",
		"X-Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	const char *name = names[which % ARRAY_SIZE(names)];
	struct sb h = SB_INIT, v = SB_INIT, want = SB_INIT, got = SB_INIT;

	FZ_CHECK(mime_encode_header(&h, name, value) == 0, "%s refused", name);
	unfold(&h, name, &v);
	decode_text(v.buf, v.len, &got);
	sanitised(value, 0, &want);
	expect_same(&want, &got, &h);
	sb_free(&h);
	sb_free(&v);
	sb_free(&want);
	sb_free(&got);
}

/* Checks "From: [phrase <]addr[>]" against display and addr. */
static void address(const char *display, const char *addr)
{
	struct sb h = SB_INIT, v = SB_INIT, want = SB_INIT, got = SB_INIT;
	size_t al = strlen(addr);

	FZ_CHECK(mime_encode_address(&h, "From", display, addr) == 0, "address refused");
	unfold(&h, "From", &v);
	sanitised(display, 1, &want);
	if (!want.len) {
		FZ_CHECK(v.len == al && !memcmp(v.buf, addr, al), "not the bare address");
	} else {
		size_t n;

		FZ_CHECK(v.len > al + 3 && v.buf[v.len - 1] == '>' &&
			 !memcmp(v.buf + v.len - 1 - al, addr, al) &&
			 v.buf[v.len - 2 - al] == '<' && v.buf[v.len - 3 - al] == ' ',
			 "no \" <addr>\" at the end");
		n = v.len - 3 - al;
		if (n && v.buf[0] == '"') {
			FZ_CHECK(n >= 2 && v.buf[n - 1] == '"', "unterminated quoted string");
			for (size_t i = 1; i < n - 1; i++) {
				if (v.buf[i] == '\\')
					i++;
				else
					FZ_CHECK(v.buf[i] != '"', "unescaped quote");
				sb_addc(&got, v.buf[i]);
			}
		} else {
			for (size_t i = 0; i < n; i++)
				FZ_CHECK(v.buf[i] != '"' && v.buf[i] != '<' && v.buf[i] != ',' &&
					 v.buf[i] != ';' && v.buf[i] != '@' && v.buf[i] != '\\',
					 "specials in an unquoted phrase");
			decode_text(v.buf, n, &got);
		}
		expect_same(&want, &got, &h);
	}
	sb_free(&h);
	sb_free(&v);
	sb_free(&want);
	sb_free(&got);
}

static void split(const char *s)
{
	struct sb d = SB_INIT, a = SB_INIT;

	if (mime_split_address(s, &d, &a) == 0) {
		FZ_CHECK(mime_addr_valid(a.buf), "split gave an invalid address");
		FZ_CHECK(strlen(d.buf) == d.len, "NUL in a display name");
		address(d.buf, a.buf);
	}
	sb_free(&d);
	sb_free(&a);
}

static void qp(const char *s, size_t n)
{
	struct sb out = SB_INIT, want = SB_INIT, got = SB_INIT;
	size_t i, start = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '\n' && !(i && s[i - 1] == '\r'))
			sb_addc(&want, '\r');
		sb_addc(&want, s[i]);
	}
	mime_qp(&out, s, n);
	for (i = 0; i <= out.len; i++) {
		size_t len;
		const char *l = out.buf + start;

		if (i < out.len && !(out.buf[i] == '\r' && i + 1 < out.len && out.buf[i + 1] == '\n'))
			continue;
		len = i - start;
		if (len > 76 || (len && (l[len - 1] == ' ' || l[len - 1] == '\t')) ||
		    (len >= 5 && !memcmp(l, "From ", 5))) {
			fz_dump("qp", out.buf, out.len);
			FZ_CHECK(0, "bad quoted-printable line at byte %zu", start);
		}
		for (size_t k = 0; k < len; k++) {
			unsigned char c = (unsigned char)l[k];

			if (c == '=' && k + 1 == len && i < out.len)
				break; /* soft line break */
			if (c == '=') {
				FZ_CHECK(k + 2 < len && hexval(l[k + 1]) >= 0 && hexval(l[k + 2]) >= 0 &&
					 !(l[k + 1] >= 'a') && !(l[k + 2] >= 'a'), "bad =XX");
				sb_addc(&got, hexval(l[k + 1]) << 4 | hexval(l[k + 2]));
				k += 2;
				continue;
			}
			if (!((c >= 0x20 && c < 0x7f) || c == '\t')) {
				fz_dump("qp", out.buf, out.len);
				FZ_CHECK(0, "raw byte 0x%02x in quoted-printable", c);
			}
			sb_addc(&got, c);
		}
		/* '=' is always written =3D: a line ending in '=' is a
		 * soft break */
		if (i < out.len && !(len && l[len - 1] == '='))
			sb_adds(&got, "\r\n");
		start = i + 2;
		i++;
	}
	if (want.len != got.len || memcmp(want.buf, got.buf, want.len)) {
		fz_dump("qp", out.buf, out.len);
		fz_dump("want", want.buf, want.len);
		fz_dump("decoded", got.buf, got.len);
		FZ_CHECK(0, "quoted-printable does not decode to the text");
	}
	sb_free(&out);
	sb_free(&want);
	sb_free(&got);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size < 2 || size > 8192)
		return 0;
	s = fz_str(data + 2, size - 2);
	switch (data[0] & 3) {
	case 0:
		header(data[1], s);
		break;
	case 1:
		address(s, data[1] & 1 ? "news@shop.example" : "Anna.Smith+tag@Example.COM");
		break;
	case 2:
		split(s);
		break;
	case 3:
		qp((const char *)data + 2, size - 2);
		break;
	}
	free(s);
	return 0;
}
