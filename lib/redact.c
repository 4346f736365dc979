/*
 * redact.c - credentials out of provider replies (see redact.h).
 */
#include "redact.h"

#include <stdlib.h>
#include <string.h>

#include "out.h"

void redact_init(struct redact *r)
{
	memset(r, 0, sizeof(*r));
}

void redact_free(struct redact *r)
{
	for (size_t i = 0; i < r->n; i++) {
		memset(r->forms[i], 0, strlen(r->forms[i]));
		free(r->forms[i]);
	}
	free(r->forms);
	memset(r, 0, sizeof(*r));
}

/* Adds s[0..n) unless empty or known; keeps the forms longest first, so
 * that a form inside a longer one does not cut the longer one up. */
static void add_form(struct redact *r, const char *s, size_t n)
{
	size_t at;

	if (!n)
		return;
	for (size_t i = 0; i < r->n; i++)
		if (strlen(r->forms[i]) == n && !memcmp(r->forms[i], s, n))
			return;
	r->forms = xgrow(r->forms, sizeof(*r->forms), r->n + 1, &r->cap);
	for (at = 0; at < r->n && strlen(r->forms[at]) >= n; at++)
		;
	memmove(r->forms + at + 1, r->forms + at, (r->n - at) * sizeof(*r->forms));
	r->forms[at] = xstrndup(s, n);
	r->n++;
}

static void add_sb(struct redact *r, struct sb *b)
{
	add_form(r, b->buf, b->len);
	if (b->len)
		memset(b->buf, 0, b->len);
	sb_reset(b);
}

static int is_unreserved(int c)
{
	return ascii_isalpha(c) || ascii_isdigit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* Percent-encodes s: all but the unreserved characters and those in
 * safe; form: application/x-www-form-urlencoded (a space is '+'). */
static void pct(struct sb *out, const char *s, const char *safe, int lower, int form)
{
	const char *hex = lower ? "0123456789abcdef" : "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (is_unreserved(*p) || (*p && strchr(safe, *p)))
			sb_addc(out, *p);
		else if (form && *p == ' ')
			sb_addc(out, '+');
		else {
			sb_addc(out, '%');
			sb_addc(out, hex[*p >> 4]);
			sb_addc(out, hex[*p & 15]);
		}
	}
}

static void b64(struct sb *out, const unsigned char *p, size_t n, int url, int pad)
{
	const char *al = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
			     : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		size_t k = n - i < 3 ? n - i : 3;
		if (k > 1)
			v |= (unsigned)p[i + 1] << 8;
		if (k > 2)
			v |= p[i + 2];
		sb_addc(out, al[v >> 18 & 63]);
		sb_addc(out, al[v >> 12 & 63]);
		if (k > 1)
			sb_addc(out, al[v >> 6 & 63]);
		else if (pad)
			sb_addc(out, '=');
		if (k > 2)
			sb_addc(out, al[v & 63]);
		else if (pad)
			sb_addc(out, '=');
	}
}

/* The base64 forms of data: standard with and without padding, and
 * base64url. */
static void add_b64(struct redact *r, const void *data, size_t n, struct sb *t)
{
	b64(t, data, n, 0, 1);
	add_sb(r, t);
	b64(t, data, n, 0, 0);
	add_sb(r, t);
	b64(t, data, n, 1, 0);
	add_sb(r, t);
}

void redact_add(struct redact *r, const char *s)
{
	struct sb t = SB_INIT;

	if (!s || !*s)
		return;
	add_form(r, s, strlen(s));
	for (int lower = 0; lower < 2; lower++) {
		pct(&t, s, "", lower, 0);
		add_sb(r, &t);
		pct(&t, s, ":@", lower, 0);	/* how a URL path holds it */
		add_sb(r, &t);
		pct(&t, s, "*", lower, 1);	/* a form field */
		add_sb(r, &t);
	}
	json_quote(&t, s, strlen(s));	/* without its quotes */
	add_form(r, t.buf + 1, t.len - 2);
	memset(t.buf, 0, t.len);
	sb_reset(&t);
	for (const char *p = s; *p; p++)	/* and with "\/" for "/" */
		if (*p == '/')
			sb_adds(&t, "\\/");
		else
			sb_addc(&t, *p);
	add_sb(r, &t);
	add_b64(r, s, strlen(s), &t);
	sb_free(&t);
}

void redact_add_login(struct redact *r, const char *user, const char *password)
{
	struct sb t = SB_INIT, raw = SB_INIT;

	if (!password || !*password)
		return;
	redact_add(r, password);
	if (user && *user) {
		sb_addf(&raw, "%s:%s", user, password);		/* HTTP Basic */
		add_b64(r, raw.buf, raw.len, &t);
		sb_reset(&raw);
		sb_addc(&raw, 0);				/* SASL PLAIN */
		sb_adds(&raw, user);
		sb_addc(&raw, 0);
		sb_adds(&raw, password);
		add_b64(r, raw.buf, raw.len, &t);
		add_b64(r, raw.buf + 1, raw.len - 1, &t);	/* ... with user as authzid */
		sb_reset(&raw);
		sb_adds(&raw, user);
		sb_addc(&raw, 0);
		sb_adds(&raw, user);
		sb_addc(&raw, 0);
		sb_adds(&raw, password);
		add_b64(r, raw.buf, raw.len, &t);
		memset(raw.buf, 0, raw.len);
	}
	sb_free(&raw);
	sb_free(&t);
}

/* ---- the known secrets ------------------------------------------------ */

static const char *find(const char *h, size_t hn, const char *n, size_t nn)
{
	for (size_t i = 0; nn && i + nn <= hn; i++)
		if (h[i] == n[0] && !memcmp(h + i, n, nn))
			return h + i;
	return NULL;
}

static void replace_known(struct sb *b, const struct redact *r, int cut)
{
	struct sb out = SB_INIT;

	for (size_t k = 0; r && k < r->n; k++) {
		const char *f = r->forms[k], *s, *hit;
		size_t n = strlen(f);

		if (!find(b->buf, b->len, f, n))
			continue;
		sb_reset(&out);
		for (s = b->buf; (hit = find(s, b->len - (size_t)(s - b->buf), f, n)); s = hit + n) {
			sb_add(&out, s, (size_t)(hit - s));
			sb_adds(&out, REDACTED);
		}
		sb_add(&out, s, b->len - (size_t)(s - b->buf));
		sb_reset(b);
		sb_add(b, out.buf, out.len);
	}
	/* a text cut short may end inside a secret */
	for (size_t k = 0; cut && r && k < r->n; k++) {
		const char *f = r->forms[k];
		size_t n = strlen(f);
		for (size_t l = n - 1; l >= 4 && l < n; l--)
			if (b->len >= l && !memcmp(b->buf + b->len - l, f, l)) {
				b->len -= l;
				b->buf[b->len] = 0;
				sb_adds(b, REDACTED);
				break;
			}
	}
	if (out.len)
		memset(out.buf, 0, out.len);
	sb_free(&out);
}

/* ---- the patterns ------------------------------------------------------- */

static int is_namech(int c)
{
	return ascii_isalpha(c) || ascii_isdigit(c) || c == '_' || c == '-';
}

/* A byte of a credential: token68 and the like, UTF-8 */
static int is_tokch(int c)
{
	return ascii_isalpha(c) || ascii_isdigit(c) || (c && strchr("-._~+/=:%!*$^|", c)) || c >= 0x80;
}

static size_t token_len(const char *s, size_t n)
{
	size_t k = 0;

	while (k < n && is_tokch((unsigned char)s[k]))
		k++;
	/* the end of a sentence is not part of it */
	while (k && (s[k - 1] == '.' || s[k - 1] == ':'))
		k--;
	return k;
}

/* Does s[0..n) look like a credential rather than a word? */
static int looks_secret(const char *s, size_t n)
{
	if (n < 4)
		return 0;
	if (n >= 20)
		return 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (ascii_isdigit(c) || (!ascii_isalpha(c) && c < 0x80) || (i && c >= 'A' && c <= 'Z'))
			return 1;
	}
	return 0;
}

/* Is s[0..n) redacted already: "[redacted]", or "***" as the -vvvv
 * trace of the HTTP channels shows known secrets? */
static int already(const char *s, size_t n)
{
	size_t k = 0;

	if (n >= sizeof(REDACTED) - 1 && !memcmp(s, REDACTED, sizeof(REDACTED) - 1))
		return 1;
	while (k < n && s[k] == '*')
		k++;
	return k >= 3 && k == n;
}

/* "://user:pass@": the userinfo of a URL */
static size_t userinfo(const char *s, size_t n, struct sb *out)
{
	size_t k = 3;

	if (n < 4 || memcmp(s, "://", 3))
		return 0;
	while (k < n && !strchr("/?#@\"'<> \t\r\n", s[k]))
		k++;
	if (k >= n || s[k] != '@' || k == 3 || already(s + 3, k - 3))
		return 0;
	sb_adds(out, "://" REDACTED);
	return k;
}

/* "bot123456:AAF-x": a Telegram bot token */
static size_t bot_token(const char *s, size_t n, struct sb *out)
{
	size_t k = 3, d;

	if (n < 3 || memcmp(s, "bot", 3))
		return 0;
	for (d = 0; k < n && ascii_isdigit((unsigned char)s[k]); k++)
		d++;
	if (d < 3 || k >= n || s[k] != ':')
		return 0;
	for (d = 0, k++; k < n && (is_namech((unsigned char)s[k])); k++)
		d++;
	if (!d)
		return 0;
	sb_adds(out, "bot" REDACTED);
	return k;
}

/* "Basic X", "Bearer X": the scheme stays, a credential-like X goes */
static size_t scheme_token(const char *s, size_t n, struct sb *out)
{
	static const char *const schemes[] = { "basic", "bearer", "token", "digest" };
	size_t w = 0, k, t;

	while (w < n && ascii_isalpha((unsigned char)s[w]))
		w++;
	for (size_t i = 0; i < ARRAY_SIZE(schemes); i++) {
		if (strlen(schemes[i]) != w || ascii_ncasecmp(s, schemes[i], w))
			continue;
		for (k = w; k < n && (s[k] == ' ' || s[k] == '\t'); k++)
			;
		if (k == w)
			return 0;
		t = token_len(s + k, n - k);
		/* realm="x": an auth-param, not a credential */
		if (t && s[k + t - 1] == '=' && k + t < n && (s[k + t] == '"' || s[k + t] == '\''))
			return 0;
		if (!looks_secret(s + k, t))
			return 0;
		sb_add(out, s, k);
		sb_adds(out, REDACTED);
		return k + t;
	}
	return 0;
}

/* Is name[0..n) the name of a credential? 2: an Authorization header,
 * whose value starts with a scheme; 1: another; 0: no. */
static int secret_name(const char *name, size_t n)
{
	static const char *const last[] = {
		"token", "key", "apikey", "secret", "password", "passwd", "pwd", "sig", "signature",
		"auth", "credential", "credentials", "authorization",
	};
	static const char *const ids[] = {
		"idempotency_key", "idempotency-key", "message_token", "message-token",
	};
	size_t b = n;

	for (size_t i = 0; i < ARRAY_SIZE(ids); i++)
		if (strlen(ids[i]) == n && !ascii_ncasecmp(name, ids[i], n))
			return 0;
	if ((n == 13 && !ascii_ncasecmp(name, "authorization", 13)) ||
	    (n == 19 && !ascii_ncasecmp(name, "proxy-authorization", 19)))
		return 2;
	while (b && name[b - 1] != '_' && name[b - 1] != '-')
		b--;
	for (size_t i = 0; i < ARRAY_SIZE(last); i++)
		if (strlen(last[i]) == n - b && !ascii_ncasecmp(name + b, last[i], n - b))
			return 1;
	return 0;
}

/* After a scheme word and its spaces ("Basic "), or s itself. */
static size_t past_scheme(const char *s, size_t n)
{
	size_t a = 0;

	while (a < n && ascii_isalpha((unsigned char)s[a]))
		a++;
	if (!a || a >= n || s[a] != ' ')
		return 0;
	while (a < n && s[a] == ' ')
		a++;
	return a;
}

/* NAME: value, NAME=value, "NAME": "value": the value of a credential */
static size_t named_value(const char *s, size_t n, struct sb *out)
{
	size_t w = 0, k, v, e;
	int kind, sep, quoted_name = 0;

	while (w < n && is_namech((unsigned char)s[w]))
		w++;
	if (!w || !(kind = secret_name(s, w)))
		return 0;
	k = w;
	if (k < n && (s[k] == '"' || s[k] == '\'')) {	/* the end of a JSON key */
		quoted_name = 1;
		k++;
	}
	while (k < n && (s[k] == ' ' || s[k] == '\t'))
		k++;
	if (k >= n || (s[k] != ':' && s[k] != '='))
		return 0;
	sep = s[k++];
	while (k < n && (s[k] == ' ' || s[k] == '\t'))
		k++;
	if (k < n && (s[k] == '"' || s[k] == '\'')) {
		char q = s[k];
		/* "... the token: " in a JSON string: its end, not a value */
		if (sep == ':' && !quoted_name)
			return 0;
		v = ++k;
		for (e = v; e < n && s[e] != q; e++)
			if (s[e] == '\\' && e + 1 < n)
				e++;
		if (kind == 2)
			v += past_scheme(s + v, e - v);
	} else {
		v = k;
		if (kind == 2)
			v += past_scheme(s + v, n - v);
		e = v + token_len(s + v, n - v);
		if (sep == ':' && kind != 2 && !looks_secret(s + v, e - v))
			return 0;
	}
	if (e == v || already(s + v, e - v))
		return 0;
	sb_add(out, s, v);
	sb_adds(out, REDACTED);
	return e;
}

static void patterns(struct sb *b)
{
	struct sb out = SB_INIT;
	const char *s = b->buf;
	size_t n = b->len, i = 0, k;

	while (i < n) {
		int word = !i || !is_namech((unsigned char)s[i - 1]);
		k = 0;
		if (s[i] == ':')
			k = userinfo(s + i, n - i, &out);
		else if (s[i] == 'b' && (word || s[i - 1] == '/'))
			k = bot_token(s + i, n - i, &out);
		if (!k && word && ascii_isalpha((unsigned char)s[i]))
			k = scheme_token(s + i, n - i, &out);
		if (!k && word && is_namech((unsigned char)s[i]))
			k = named_value(s + i, n - i, &out);
		if (k) {
			i += k;
			continue;
		}
		/* the rest of a word is not the start of a name */
		if (word && is_namech((unsigned char)s[i])) {
			size_t e = i;
			while (e < n && is_namech((unsigned char)s[e]))
				e++;
			sb_add(&out, s + i, e - i);
			i = e;
			continue;
		}
		sb_addc(&out, s[i]);
		i++;
	}
	sb_reset(b);
	sb_add(b, out.buf, out.len);
	if (out.len)
		memset(out.buf, 0, out.len);
	sb_free(&out);
}

static void redact_cut(struct sb *b, const struct redact *r, int cut)
{
	replace_known(b, r, cut);
	patterns(b);
}

void redact_sb(struct sb *b, const struct redact *r)
{
	redact_cut(b, r, 0);
}

void redact_buf(char *buf, size_t size, const struct redact *r)
{
	struct sb b = SB_INIT;
	size_t n;

	if (!size)
		return;
	n = strnlen(buf, size - 1);
	sb_add(&b, buf, n);
	redact_cut(&b, r, n == size - 1);
	n = b.len < size - 1 ? b.len : size - 1;
	while (n && n < b.len && ((unsigned char)b.buf[n] & 0xC0) == 0x80)
		n--;
	memcpy(buf, b.buf, n);
	buf[n] = 0;
	memset(b.buf, 0, b.len);
	sb_free(&b);
}

void redact_secrets(char *buf, size_t size, const char *const *known)
{
	struct redact r;

	redact_init(&r);
	for (; known && *known; known++)
		redact_add(&r, *known);
	redact_buf(buf, size, &r);
	redact_free(&r);
}
