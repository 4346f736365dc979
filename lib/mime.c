/*
 * mime.c - RFC 5322 messages, MIME bodies and RFC 2047 encoded words (the
 * rules are in mime.h).
 *
 * Headers are written by one folder: a value becomes a list of tokens,
 * each a word written as it is or a run of words to encode, with the
 * white space before it; the folder puts each token on the current line
 * when it fits in 78 characters and starts a continuation line (CRLF and
 * the token's white space) when it does not. Encoded runs are cut into
 * encoded words that fit what is left of the line, at character
 * boundaries.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "mime.h"
#include "norm.h"
#include "util.h"

#define RAW_WORD_MAX 900 /* longer words are encoded, so lines stay < 998 */
#define WS_RAW_MAX   64  /* longer white space is encoded with its words */
#define EW_MAX       75  /* RFC 2047 2: an encoded word's length */
#define EW_OVERHEAD  12  /* "=?UTF-8?B?" "?=" */

static const char hexd[] = "0123456789ABCDEF";
static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* ---------------------------------------------------------------- words */

struct tok {
	const char *ws, *s;
	size_t wslen, len;
	int enc;
};

struct fold {
	struct sb *out;
	size_t col; /* characters on the current line */
};

static int is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

/* Letters, digits and ! * + - / : safe in a Q encoded word anywhere,
 * phrases included (RFC 2047 5(3)). */
static int q_safe(int c)
{
	return ascii_isalpha(c) || ascii_isdigit(c) || c == '!' || c == '*' ||
		c == '+' || c == '-' || c == '/';
}

/* Length of the character at s: a valid UTF-8 sequence, else one byte. */
static size_t char_len(const char *s, size_t n)
{
	unsigned char c = (unsigned char)s[0];
	size_t l = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 :
		c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 1;

	if (l > 1 && (l > n || !utf8_valid(s, l, NULL)))
		l = 1;
	return l;
}

static size_t q_len(const char *s, size_t n)
{
	size_t i, l = 0;

	for (i = 0; i < n; i++)
		l += q_safe((unsigned char)s[i]) || s[i] == ' ' ? 1 : 3;
	return l;
}

static size_t b_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

/* How many bytes of s[0..n), whole characters, fit in one encoded word of
 * at most limit characters. */
static size_t ew_fit(const char *s, size_t n, int q, size_t limit)
{
	size_t i = 0, ql = 0;

	while (i < n) {
		size_t l = char_len(s + i, n - i);
		size_t enc = q ? ql + q_len(s + i, l) : b_len(i + l);

		if (EW_OVERHEAD + enc > limit)
			break;
		ql = enc;
		i += l;
	}
	return i;
}

static void put_b64(struct sb *out, const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		char q[4] = { b64[p[i] >> 2], b64[(p[i] & 3) << 4 | p[i + 1] >> 4],
			      b64[(p[i + 1] & 15) << 2 | p[i + 2] >> 6], b64[p[i + 2] & 63] };
		sb_add(out, q, 4);
	}
	if (n - i == 1) {
		char q[4] = { b64[p[i] >> 2], b64[(p[i] & 3) << 4], '=', '=' };
		sb_add(out, q, 4);
	} else if (n - i == 2) {
		char q[4] = { b64[p[i] >> 2], b64[(p[i] & 3) << 4 | p[i + 1] >> 4],
			      b64[(p[i + 1] & 15) << 2], '=' };
		sb_add(out, q, 4);
	}
}

static void put_ew(struct sb *out, const char *s, size_t n, int q)
{
	size_t i;

	sb_adds(out, q ? "=?UTF-8?Q?" : "=?UTF-8?B?");
	if (!q)
		put_b64(out, (const unsigned char *)s, n);
	else
		for (i = 0; i < n; i++) {
			unsigned char c = (unsigned char)s[i];

			if (q_safe(c))
				sb_addc(out, c);
			else if (c == ' ')
				sb_addc(out, '_');
			else {
				sb_addc(out, '=');
				sb_addc(out, hexd[c >> 4]);
				sb_addc(out, hexd[c & 15]);
			}
		}
	sb_adds(out, "?=");
}

static void fold_break(struct fold *f)
{
	sb_adds(f->out, "\r\n");
	f->col = 0;
}

/* A token; first is the first of the value (its white space follows the
 * colon and is not a place to fold, except for encoded words that could
 * not fit otherwise). */
static void fold_tok(struct fold *f, const struct tok *t, int first)
{
	size_t i = 0;
	int q, firstword = 1;

	if (!t->enc) {
		if (!first && f->col + t->wslen + t->len > MIME_LINE)
			fold_break(f);
		sb_add(f->out, t->ws, t->wslen);
		sb_add(f->out, t->s, t->len);
		f->col += t->wslen + t->len;
		return;
	}
	q = q_len(t->s, t->len) <= b_len(t->len);
	while (i < t->len) {
		const char *sep = firstword ? t->ws : " ";
		size_t seplen = firstword ? t->wslen : 1, k, limit;

		limit = f->col + seplen < MIME_LINE ? MIME_LINE - f->col - seplen : 0;
		if (limit > EW_MAX)
			limit = EW_MAX;
		k = ew_fit(t->s + i, t->len - i, q, limit);
		if (!k) {
			fold_break(f);
			limit = seplen < MIME_LINE - EW_MAX ? EW_MAX : MIME_LINE - seplen;
			k = ew_fit(t->s + i, t->len - i, q, limit);
			if (!k) /* long white space before: the line may pass 78 */
				k = ew_fit(t->s + i, t->len - i, q, EW_MAX);
		}
		sb_add(f->out, sep, seplen);
		{
			size_t before = f->out->len;

			put_ew(f->out, t->s + i, k, q);
			f->col += seplen + (f->out->len - before);
		}
		i += k;
		firstword = 0;
	}
}

static int header_name_ok(const char *name)
{
	size_t i;

	for (i = 0; name[i]; i++)
		if (!ascii_isalpha((unsigned char)name[i]) &&
		    !ascii_isdigit((unsigned char)name[i]) && name[i] != '-')
			return 0;
	return i > 0 && i <= 76;
}

/* Copies value with controls (but TAB) and DEL made spaces, trimmed of
 * blanks at both ends. */
static void sanitise(struct sb *v, const char *value, int tab_to_space)
{
	size_t i, b = 0, e;

	for (i = 0; value && value[i]; i++) {
		unsigned char c = (unsigned char)value[i];

		sb_addc(v, c < 0x20 && (c != '\t' || tab_to_space) ? ' ' :
			c == 0x7f ? ' ' : c);
	}
	e = v->len;
	while (b < e && is_wsp((unsigned char)v->buf[b]))
		b++;
	while (e > b && is_wsp((unsigned char)v->buf[e - 1]))
		e--;
	memmove(v->buf, v->buf + b, e - b);
	v->len = e - b;
	v->buf[v->len] = 0;
}

static int needs_ew(const char *s, size_t n)
{
	size_t i;

	if (n > RAW_WORD_MAX)
		return 1;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80 ||
		    (s[i] == '=' && i + 1 < n && s[i + 1] == '?'))
			return 1;
	return 0;
}

/* Splits v into tokens, merging neighbouring encoded words (and the
 * white space between them) into one run. Returns the count. */
static size_t tokenize(const char *v, size_t n, struct tok **toks)
{
	struct tok *t = NULL;
	size_t nt = 0, cap = 0, i = 0;

	while (i < n) {
		size_t w = i, s, e;
		int enc;

		while (i < n && is_wsp((unsigned char)v[i]))
			i++;
		s = i;
		while (i < n && !is_wsp((unsigned char)v[i]))
			i++;
		e = i;
		enc = needs_ew(v + s, e - s);
		if (nt && s - w > WS_RAW_MAX) {
			t[nt - 1].enc = 1;
			enc = 1;
		}
		if (nt && enc && t[nt - 1].enc) {
			t[nt - 1].len = (size_t)(v + e - t[nt - 1].s);
			continue;
		}
		t = xgrow(t, sizeof *t, nt + 1, &cap);
		t[nt].ws = v + w;
		t[nt].wslen = s - w;
		t[nt].s = v + s;
		t[nt].len = e - s;
		t[nt].enc = enc;
		nt++;
	}
	/* a run made encoded by long white space after it may now touch an
	 * encoded neighbour before it */
	for (i = 1; i < nt; i++)
		if (t[i].enc && t[i - 1].enc) {
			t[i - 1].len = (size_t)(t[i].s + t[i].len - t[i - 1].s);
			memmove(t + i, t + i + 1, (nt - i - 1) * sizeof *t);
			nt--;
			i--;
		}
	*toks = t;
	return nt;
}

static void fold_all(struct sb *out, const char *name, struct tok *t, size_t nt)
{
	struct fold f = { out, 0 };
	size_t i;

	sb_adds(out, name);
	sb_addc(out, ':');
	f.col = strlen(name) + 1;
	for (i = 0; i < nt; i++) {
		if (i == 0) {
			t[0].ws = " ";
			t[0].wslen = 1;
		}
		fold_tok(&f, &t[i], i == 0);
	}
	sb_adds(out, "\r\n");
}

int mime_encode_header(struct sb *out, const char *name, const char *value)
{
	struct sb v = SB_INIT;
	struct tok *t;
	size_t nt;

	if (!name || !header_name_ok(name))
		return -1;
	sanitise(&v, value, 0);
	nt = tokenize(v.buf, v.len, &t);
	fold_all(out, name, t, nt);
	free(t);
	sb_free(&v);
	return 0;
}

/* ------------------------------------------------------------ addresses */

int mime_addr_valid(const char *addr)
{
	struct sb norm = SB_INIT;
	const char *why;
	size_t i, n;
	int ok;

	if (!addr || !*addr)
		return 0;
	for (i = 0; addr[i]; i++) {
		unsigned char c = (unsigned char)addr[i];

		if (c <= 0x20 || c == 0x7f || strchr("<>()[]\\,;:\"", c))
			return 0;
	}
	n = i;
	/* the same length: norm_email took nothing off (it only changes
	 * case, which keeps the length) */
	ok = !norm_email(addr, n, &norm, &why) && norm.len == n;
	sb_free(&norm);
	return ok;
}

static int is_atext(int c)
{
	return ascii_isalpha(c) || ascii_isdigit(c) ||
		(c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

int mime_encode_address(struct sb *out, const char *name, const char *display,
			const char *addr)
{
	struct sb d = SB_INIT, q = SB_INIT, a = SB_INIT;
	struct tok *t = NULL;
	size_t nt = 0, i;
	int atoms = 1, ascii = 1;
	size_t quoted = 2; /* the length as a quoted-string */

	if (!name || !header_name_ok(name) || !mime_addr_valid(addr))
		return -1;
	sanitise(&d, display, 1);
	for (i = 0; i < d.len; i++) {
		unsigned char c = (unsigned char)d.buf[i];

		if (c >= 0x80)
			ascii = 0;
		if (!is_atext(c) && !(c == ' ' && i > 0 && d.buf[i - 1] != ' '))
			atoms = 0;
		quoted += c == '"' || c == '\\' ? 2 : 1;
	}
	/* a quoted-string is one word that cannot be folded: one too long
	 * for a line (a name of 500 '"', each escaped) is encoded instead */
	if (d.len && (!ascii || needs_ew(d.buf, d.len) || d.len > RAW_WORD_MAX ||
		      (!atoms && quoted > RAW_WORD_MAX))) {
		t = xmalloc(sizeof *t);
		t[0] = (struct tok){ " ", d.buf, 1, d.len, 1 };
		nt = 1;
	} else if (d.len && atoms) {
		nt = tokenize(d.buf, d.len, &t);
	} else if (d.len) {
		sb_addc(&q, '"');
		for (i = 0; i < d.len; i++) {
			if (d.buf[i] == '"' || d.buf[i] == '\\')
				sb_addc(&q, '\\');
			sb_addc(&q, d.buf[i]);
		}
		sb_addc(&q, '"');
		t = xmalloc(sizeof *t);
		t[0] = (struct tok){ " ", q.buf, 1, q.len, 0 };
		nt = 1;
	}
	if (nt) {
		sb_addc(&a, '<');
		sb_adds(&a, addr);
		sb_addc(&a, '>');
	} else {
		sb_adds(&a, addr);
	}
	t = xrealloc(t, (nt + 1) * sizeof *t);
	t[nt++] = (struct tok){ " ", a.buf, 1, a.len, 0 };
	fold_all(out, name, t, nt);
	free(t);
	sb_free(&d);
	sb_free(&q);
	sb_free(&a);
	return 0;
}

int mime_split_address(const char *s, struct sb *display, struct sb *addr)
{
	size_t n = strlen(s), b = 0, e = n, lt, i;

	sb_reset(display);
	sb_reset(addr);
	while (b < e && ascii_isspace((unsigned char)s[b]))
		b++;
	while (e > b && ascii_isspace((unsigned char)s[e - 1]))
		e--;
	if (e > b && s[e - 1] == '>') {
		for (lt = e - 1; lt > b && s[lt - 1] != '<'; lt--)
			;
		if (lt == b)
			return -1;
		sb_add(addr, s + lt, e - 1 - lt);
		e = lt - 1;
		while (e > b && ascii_isspace((unsigned char)s[e - 1]))
			e--;
		if (e > b && s[b] == '"') {
			if (e - b < 2 || s[e - 1] != '"')
				return -1;
			for (i = b + 1; i < e - 1; i++) {
				if (s[i] == '\\' && i + 1 < e - 1)
					i++;
				else if (s[i] == '"')
					return -1;
				sb_addc(display, s[i]);
			}
		} else {
			for (i = b; i < e; i++)
				if (s[i] == '"' || s[i] == '<' || s[i] == '>')
					return -1;
			sb_add(display, s + b, e - b);
		}
	} else {
		sb_add(addr, s + b, e - b);
	}
	return mime_addr_valid(addr->buf) ? 0 : -1;
}

/* ----------------------------------------------------------------- bodies */

static int line_end_at(const char *s, size_t n, size_t i)
{
	return i >= n || s[i] == '\n' || (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n');
}

void mime_qp(struct sb *out, const char *body, size_t len)
{
	size_t i, col = 0;

	if (!len)
		return;
	sb_grow(out, len + len / 8);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)body[i];
		char enc[3];
		size_t el;

		if (c == '\n' || (c == '\r' && i + 1 < len && body[i + 1] == '\n')) {
			if (c == '\r')
				i++;
			sb_adds(out, "\r\n");
			col = 0;
			continue;
		}
		if ((is_wsp(c) && line_end_at(body, len, i + 1)) || c == '=' ||
		    (c < 0x20 && c != '\t') || c >= 0x7f ||
		    (c == 'F' && col == 0 && len - i >= 5 && !memcmp(body + i, "From ", 5))) {
			enc[0] = '=';
			enc[1] = hexd[c >> 4];
			enc[2] = hexd[c & 15];
			el = 3;
		} else {
			enc[0] = (char)c;
			el = 1;
		}
		/* a soft break leaves room for its "=": 75 characters, or 76
		 * when this is the last of its line */
		if (col + el > 75 && !(col + el <= 76 && line_end_at(body, len, i + 1))) {
			sb_adds(out, "=\r\n");
			col = 0;
			if (c == 'F' && el == 1 && len - i >= 5 && !memcmp(body + i, "From ", 5)) {
				enc[0] = '=';
				enc[1] = hexd[c >> 4];
				enc[2] = hexd[c & 15];
				el = 3;
			}
		}
		sb_add(out, enc, el);
		col += el;
	}
}

void mime_base64(struct sb *out, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i < len; i += 57) {
		put_b64(out, p + i, len - i < 57 ? len - i : 57);
		sb_adds(out, "\r\n");
	}
}

void mime_date(int64_t epoch, char buf[32])
{
	static const char wd[][4] = { "Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed" };
	static const char mo[][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
				      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	int64_t days = epoch / 86400, s = epoch % 86400;
	int y, m, d;

	if (s < 0) {
		s += 86400;
		days--;
	}
	norm_civil_from_days(days, &y, &m, &d);
	snprintf(buf, 32, "%s, %02d %s %04d %02d:%02d:%02d +0000",
		 wd[((days % 7) + 7) % 7], d, mo[m - 1], y, (int)(s / 3600),
		 (int)(s / 60 % 60), (int)(s % 60));
}

static int domain_ok(const char *d)
{
	size_t i, lab = 0;

	for (i = 0; d[i]; i++) {
		if (d[i] == '.') {
			if (!lab || d[i - 1] == '-')
				return 0;
			lab = 0;
		} else if (ascii_isalpha((unsigned char)d[i]) ||
			   ascii_isdigit((unsigned char)d[i]) ||
			   (d[i] == '-' && lab)) {
			if (++lab > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return i > 0 && i <= 253 && lab && d[i - 1] != '-';
}

int mime_message_id(char *out, size_t n, const char *key, const char *domain)
{
	char hex[65];

	if (!domain || !domain_ok(domain) || n < 36 + strlen(domain))
		return -1;
	hash_sha256_hex(key, strlen(key), hex);
	snprintf(out, n, "<%.32s@%s>", hex, domain);
	return 0;
}

int mime_header_reserved(const char *name)
{
	static const char *const names[] = {
		"Date", "From", "Sender", "To", "Cc", "Bcc", "Reply-To", "Subject",
		"Message-ID", "MIME-Version", "Return-Path", "Received",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (!ascii_casecmp(name, names[i]))
			return 1;
	return !ascii_ncasecmp(name, "Content-", 8);
}

static int msgid_ok(const char *id)
{
	size_t i, n = id ? strlen(id) : 0, at = 0, nat = 0;

	if (n < 5 || n > 250 || id[0] != '<' || id[n - 1] != '>')
		return 0;
	for (i = 1; i < n - 1; i++) {
		unsigned char c = (unsigned char)id[i];

		if (c <= 0x20 || c >= 0x7f || strchr("<>()[]\\,;:\"", c))
			return 0;
		if (c == '@')
			at = i, nat++;
	}
	return nat == 1 && at > 1 && at < n - 2;
}

static int contains(const struct sb *hay, const char *needle)
{
	size_t n = strlen(needle), i;

	for (i = 0; i + n <= hay->len; i++)
		if (hay->buf[i] == needle[0] && !memcmp(hay->buf + i, needle, n))
			return 1;
	return 0;
}

/* Encodes one body part: its Content-* headers, a blank line, the body;
 * end_crlf ends it with CRLF when it does not end so (a message does; in
 * a multipart the delimiter brings its own CRLF, so that a body's final
 * line end survives). */
static void put_part(struct sb *out, const char *type, const char *body, size_t len,
		     int end_crlf)
{
	size_t i, esc = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)body[i];

		esc += c >= 0x7f || c == '=' || (c < 0x20 && c != '\t' && c != '\n' && c != '\r');
	}
	sb_addf(out, "Content-Type: %s; charset=UTF-8\r\n", type);
	if (esc * 6 <= len) {
		sb_adds(out, "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
		mime_qp(out, body, len);
		if (end_crlf && (out->len < 2 || memcmp(out->buf + out->len - 2, "\r\n", 2)))
			sb_adds(out, "\r\n");
	} else {
		struct sb crlf = SB_INIT;

		for (i = 0; i < len; i++) {
			if (body[i] == '\n' && (i == 0 || body[i - 1] != '\r'))
				sb_addc(&crlf, '\r');
			sb_addc(&crlf, body[i]);
		}
		sb_adds(out, "Content-Transfer-Encoding: base64\r\n\r\n");
		mime_base64(out, crlf.buf, crlf.len);
		sb_free(&crlf);
	}
}

int mime_build(struct sb *out, const struct mime_msg *m, const char **why)
{
	size_t i;
	char date[32];
	const char *dummy;

	if (!why)
		why = &dummy;
	if (!mime_addr_valid(m->from_addr))
		return *why = "invalid From address", -1;
	if (!mime_addr_valid(m->to_addr))
		return *why = "invalid To address", -1;
	if (m->reply_to_addr && !mime_addr_valid(m->reply_to_addr))
		return *why = "invalid Reply-To address", -1;
	if (!msgid_ok(m->message_id))
		return *why = "invalid Message-ID (want <left@right>)", -1;
	if (!m->text && !m->html)
		return *why = "no text or HTML body", -1;
	for (i = 0; i < m->nheaders; i++) {
		if (!m->headers[i].name || !header_name_ok(m->headers[i].name))
			return *why = "bad extra header name", -1;
		if (mime_header_reserved(m->headers[i].name))
			return *why = "extra header name is reserved (Date, From, To, Subject, Content-*, ...)", -1;
	}

	mime_date(m->date, date);
	sb_addf(out, "Date: %s\r\n", date);
	mime_encode_address(out, "From", m->from_name, m->from_addr);
	mime_encode_address(out, "To", m->to_name, m->to_addr);
	if (m->reply_to_addr)
		mime_encode_address(out, "Reply-To", m->reply_to_name, m->reply_to_addr);
	if (m->subject)
		mime_encode_header(out, "Subject", m->subject);
	sb_addf(out, "Message-ID: %s\r\n", m->message_id);
	sb_adds(out, "MIME-Version: 1.0\r\n");
	for (i = 0; i < m->nheaders; i++)
		mime_encode_header(out, m->headers[i].name, m->headers[i].value);

	if (m->text && m->html) {
		struct sb parts[2] = { SB_INIT, SB_INIT }, key = SB_INIT;
		char hex[65], boundary[40];
		int tries;

		put_part(&parts[0], "text/plain", m->text, m->text_len, 0);
		put_part(&parts[1], "text/html", m->html, m->html_len, 0);
		sb_add(&key, m->text, m->text_len);
		sb_addc(&key, 0);
		sb_add(&key, m->html, m->html_len);
		for (tries = 0;; tries++) {
			hash_sha256_hex(key.buf, key.len, hex);
			snprintf(boundary, sizeof boundary, "=_%.32s", hex);
			/* cannot happen ("=_" is in neither QP nor base64), but
			 * a boundary inside a part would cut the message */
			if ((!contains(&parts[0], boundary) && !contains(&parts[1], boundary)) ||
			    tries > 8)
				break;
			sb_addc(&key, 0);
		}
		sb_addf(out, "Content-Type: multipart/alternative;\r\n boundary=\"%s\"\r\n\r\n",
			boundary);
		sb_addf(out, "--%s\r\n", boundary);
		sb_add(out, parts[0].buf, parts[0].len);
		sb_addf(out, "\r\n--%s\r\n", boundary);
		sb_add(out, parts[1].buf, parts[1].len);
		sb_addf(out, "\r\n--%s--\r\n", boundary);
		sb_free(&parts[0]);
		sb_free(&parts[1]);
		sb_free(&key);
	} else if (m->text) {
		put_part(out, "text/plain", m->text, m->text_len, 1);
	} else {
		put_part(out, "text/html", m->html, m->html_len, 1);
	}
	return 0;
}
