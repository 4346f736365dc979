/*
 * fuzz_tmpl.c - the template language of crm-send (lib/tmpl.c).
 *
 * The input is a template file. When it parses, every header, the text
 * part and the HTML part are rendered for a fixed customer whose values
 * are hostile (CR/LF and header injection attempts, NUL bytes, invalid
 * UTF-8, HTML, "{{" in a value). Properties:
 *
 * - every name tmpl_name() lists is one the template uses, with a
 *   position inside the file;
 * - rendered output is valid UTF-8 (tmpl.h: bad bytes of values become
 *   U+FFFD, and the template itself must be valid UTF-8);
 * - a rendered header is one line: no C0 control (CR, LF, NUL, TAB, ...)
 *   and no DEL;
 * - bodies hold no CR and no NUL (CR and CRLF become LF);
 * - the HTML part never shows a value's '<' unescaped (values hold
 *   "<script>"): unless a raw filter is used, it has no more '<' than the
 *   template file (template text is copied at most once, tags drop some);
 *   with {{#each}}, which copies its body once per item, it has no
 *   "<script" unless the template has;
 * - {{#each}} over the JSON values (arrays of objects with hostile
 *   strings, nested arrays, an object, broken JSON) keeps all of the above,
 *   and a render stays bounded (TMPL_MAX_ITERATIONS);
 * - rendering twice gives the same bytes;
 * - the message crm-send makes of them (mime_build with the rendered
 *   Subject, the other headers that are not reserved, text and HTML) has
 *   CRLF line ends only and no line over 998 bytes.
 */
#include "fuzz.h"
#include "mime.h"
#include "tmpl.h"
#include "util.h"

struct val {
	const char *name, *value;
	size_t len;
};

#define V(n, v) { n, v, sizeof(v) - 1 }
static const struct val vals[] = {
	V("first_name", "\xd0\xb8\xd0\x92\xd0\x90\xd0\x9d"),
	V("last_name", "O'Brien & <script>alert(1)</script>"),
	V("email", "anna@example.com\r\nBcc: victim@example.org"),
	V("city", "Kazan\rX-Injected: 1\n\nbody"),
	V("phone", "+7916\0 1234567"),
	V("country", "\xff\xfe\xc3\x28\xe2\x82\xf0\x9f\x98"),
	V("plan", "pro"),
	V("zero", "0"),
	V("no", "False"),
	V("empty", ""),
	V("tmpl", "{{first_name}}\\{{#if x}}"),
	V("attr.plan", "\"pro\"\t\x01\x7f"),
	V("attr.size", "42"),
	V("attr.\xd1\x80\xd0\xb0\xd0\xb7\xd0\xbc\xd0\xb5\xd1\x80", "XL"),
	V("unsubscribe_url", "https://shop.example/u?a=1&b=<2>"),
	V("attr.recs", "[{\"name\":\"<script>alert(1)</script>\",\"price\":129.5,"
		       "\"tags\":[\"a\\r\\nBcc: x@y\",\"\\u0000\\u001b\"]},"
		       "{\"name\":\"Hat & <b>\",\"price\":null,\"Size\":\"XL\"},"
		       "\"plain\",1e308,true,[1,[2,[3]]],{}]"),
	V("attr.obj", "{\"a\":\"<i>\",\"b\":{\"c\":[\"d\"]}}"),
	V("attr.grid", "[[1,2,3],[4,5],[],[[6]]]"),
	V("attr.bad", "[1,{\"a\":"),
	V("attr.empty", "[]"),
};

static size_t nlookups;

static const char *lookup(void *ctx, const char *name, size_t *len)
{
	(void)ctx;
	nlookups++;
	for (size_t i = 0; i < ARRAY_SIZE(vals); i++)
		if (!strcmp(vals[i].name, name)) {
			*len = vals[i].len;
			return vals[i].value;
		}
	return NULL;
}

static void check_utf8(const struct sb *s, const char *what)
{
	size_t bad;

	if (!utf8_valid(s->buf, s->len, &bad)) {
		fz_dump(what, s->buf, s->len);
		FZ_CHECK(0, "%s: invalid UTF-8 at byte %zu", what, bad);
	}
}

static void check_body(const struct sb *s, const char *what)
{
	check_utf8(s, what);
	if (memchr(s->buf, '\r', s->len) || memchr(s->buf, 0, s->len)) {
		fz_dump(what, s->buf, s->len);
		FZ_CHECK(0, "%s holds a CR or a NUL", what);
	}
}

/* Renders part (0 text, 1 html, 2+i header i) twice; out gets it. */
static int render(const struct tmpl *t, int part, struct sb *out)
{
	struct sb again = SB_INIT;
	int rc, rc2;

	sb_reset(out);
	rc = part == 0 ? tmpl_render_text(t, lookup, NULL, out) :
		part == 1 ? tmpl_render_html(t, lookup, NULL, out) :
		tmpl_render_header(t, (size_t)(part - 2), lookup, NULL, out);
	rc2 = part == 0 ? tmpl_render_text(t, lookup, NULL, &again) :
		part == 1 ? tmpl_render_html(t, lookup, NULL, &again) :
		tmpl_render_header(t, (size_t)(part - 2), lookup, NULL, &again);
	FZ_CHECK(rc == rc2 && out->len == again.len && !memcmp(out->buf, again.buf, out->len),
		 "part %d renders differently twice", part);
	FZ_CHECK(rc == 0 || out->len == 0, "a failed render wrote %zu bytes", out->len);
	sb_free(&again);
	return rc;
}

/* What crm-send does with a rendered template: one message. */
static void message(const struct tmpl *t)
{
	struct sb subj = SB_INIT, text = SB_INIT, html = SB_INIT, msg = SB_INIT;
	struct sb hv[8];
	struct mime_header extra[8];
	size_t nextra = 0, start = 0;
	long si = tmpl_header_index(t, "Subject");
	struct mime_msg m = {
		.from_name = "Shop", .from_addr = "news@shop.example",
		.to_name = vals[0].value, .to_addr = "anna@example.com",
		.message_id = "<0123456789abcdef@shop.example>", .date = 1795435200,
	};
	const char *why;

	if (si >= 0) {
		tmpl_render_header(t, (size_t)si, lookup, NULL, &subj);
		m.subject = subj.buf;
	}
	for (size_t i = 0; i < tmpl_nheaders(t) && nextra < ARRAY_SIZE(extra); i++) {
		const char *name = tmpl_header_name(t, i);

		if (mime_header_reserved(name))
			continue;
		sb_init(&hv[nextra]);
		tmpl_render_header(t, i, lookup, NULL, &hv[nextra]);
		extra[nextra].name = name;
		extra[nextra].value = hv[nextra].buf;
		nextra++;
	}
	m.headers = extra;
	m.nheaders = nextra;
	if (tmpl_render_text(t, lookup, NULL, &text) == 0) {
		m.text = text.buf;
		m.text_len = text.len;
	}
	if (tmpl_render_html(t, lookup, NULL, &html) == 0) {
		m.html = html.buf;
		m.html_len = html.len;
	}
	if (mime_build(&msg, &m, &why) == 0) {
		for (size_t i = 0; i < msg.len; i++) {
			if (msg.buf[i] != '\r' && msg.buf[i] != '\n')
				continue;
			if (!(msg.buf[i] == '\r' && i + 1 < msg.len && msg.buf[i + 1] == '\n')) {
				fz_dump("message", msg.buf, msg.len);
				FZ_CHECK(0, "bare CR or LF at byte %zu of the message", i);
			}
			FZ_CHECK(i - start <= MIME_LINE_MAX, "message line of %zu bytes", i - start);
			start = i + 2;
			i++;
		}
		FZ_CHECK(start == msg.len, "the message does not end with CRLF");
	} else {
		FZ_CHECK(!m.text && !m.html, "mime_build refused a rendered template: %s", why);
	}
	for (size_t i = 0; i < nextra; i++)
		sb_free(&hv[i]);
	sb_free(&subj);
	sb_free(&text);
	sb_free(&html);
	sb_free(&msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tmpl_err err;
	struct tmpl *t;
	struct sb out = SB_INIT;
	const char *text = (const char *)data;
	int line, col;

	if (size > 65536)
		return 0;
	t = tmpl_parse(text, size, &err);
	if (!t) {
		FZ_CHECK(err.line >= 1 && err.col >= 1, "error at %d:%d", err.line, err.col);
		FZ_CHECK(err.msg[0] != 0, "error without a message");
		return 0;
	}
	for (size_t i = 0; i < tmpl_nnames(t); i++) {
		const char *name = tmpl_name(t, i, &line, &col);

		FZ_CHECK(name && *name, "name %zu is empty", i);
		FZ_CHECK(line >= 1 && col >= 1, "name %zu at %d:%d", i, line, col);
	}
	for (size_t i = 0; i < tmpl_nheaders(t); i++) {
		const char *name = tmpl_header_name(t, i);

		FZ_CHECK(tmpl_header_index(t, name) == (long)i, "header %s is not found at %zu", name, i);
		FZ_CHECK(render(t, (int)(2 + i), &out) == 0, "header %zu does not render", i);
		check_utf8(&out, "header");
		for (size_t k = 0; k < out.len; k++) {
			unsigned char c = (unsigned char)out.buf[k];
			if (c < 0x20 || c == 0x7f) {
				fz_dump("header", out.buf, out.len);
				FZ_CHECK(0, "control 0x%02x in a rendered header", c);
			}
		}
	}
	FZ_CHECK(render(t, (int)(2 + tmpl_nheaders(t)), &out) == -1, "a header past the end renders");
	if (render(t, 0, &out) == 0)
		check_body(&out, "text");
	else
		FZ_CHECK(!tmpl_has_text(t), "the text part does not render");
	if (render(t, 1, &out) == 0) {
		check_body(&out, "html");
		if (fz_memmem(text, size, "#each")) {
			if (!fz_memmem(text, size, "raw") && !fz_memmem(text, size, "<script") &&
			    fz_memmem(out.buf, out.len, "<script")) {
				fz_dump("html", out.buf, out.len);
				FZ_CHECK(0, "a value's '<' is not escaped in HTML (#each)");
			}
		} else if (!fz_memmem(text, size, "raw") &&
		    fz_count(out.buf, out.len, '<') > fz_count(text, size, '<')) {
			fz_dump("html", out.buf, out.len);
			FZ_CHECK(0, "a value's '<' is not escaped in HTML");
		}
	} else {
		FZ_CHECK(!tmpl_has_html(t), "the HTML part does not render");
	}
	message(t);
	sb_free(&out);
	tmpl_free(t);
	return 0;
}
