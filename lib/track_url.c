#include "track_url.h"

#include <stdio.h>
#include <string.h>

#include "token.h"

static const char *purpose(enum track_kind k)
{
	switch (k) {
	case TRACK_UNSUB: return "unsubscribe";
	case TRACK_OPEN: return "open";
	case TRACK_CLICK: return "click";
	default: return NULL;
	}
}

static void add_base(struct sb *out, const char *base)
{
	size_t n = strlen(base);

	while (n && base[n - 1] == '/')
		n--;
	sb_add(out, base, n);
}

/* "N NUL URL", what a click's MAC covers besides the row */
static void click_data(struct sb *d, int n, const char *url, size_t len)
{
	sb_addf(d, "%d", n);
	sb_addc(d, 0);
	sb_add(d, url, len);
}

void track_url_escape(struct sb *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			sb_addc(out, c);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };
			sb_add(out, e, 3);
		}
	}
}

void track_url_unsub(struct sb *out, const char *base, const char *secret, int64_t msg)
{
	char tok[TOKEN_MAX];

	token_make(secret, purpose(TRACK_UNSUB), msg, tok);
	add_base(out, base);
	sb_addf(out, "/u/%s", tok);
}

void track_url_open(struct sb *out, const char *base, const char *secret, int64_t msg)
{
	char tok[TOKEN_MAX];

	token_make(secret, purpose(TRACK_OPEN), msg, tok);
	add_base(out, base);
	sb_addf(out, "/o/%s.gif", tok);
}

void track_url_click(struct sb *out, const char *base, const char *secret, int64_t msg,
		     int n, const char *url, size_t len)
{
	char tok[TOKEN_MAX];
	struct sb d = SB_INIT;

	click_data(&d, n, url, len);
	token_make_data(secret, purpose(TRACK_CLICK), msg, d.buf, d.len, tok);
	sb_free(&d);
	add_base(out, base);
	sb_addf(out, "/c/%s/%d?u=", tok, n);
	track_url_escape(out, url, len);
}

/* the token at p: [0-9a-fA-F-], up to TOKEN_MAX - 1 bytes */
static size_t token_span(const char *p)
{
	size_t n = strspn(p, "0123456789abcdefABCDEF-");

	return n < TOKEN_MAX ? n : 0;
}

int track_path_parse(const char *path, enum track_kind *kind, const char **tok, size_t *len,
		     int *n)
{
	size_t k;

	*n = 0;
	if (path[0] != '/' || !path[1] || path[2] != '/')
		return -1;
	*tok = path + 3;
	if (!(k = token_span(*tok)))
		return -1;
	*len = k;
	switch (path[1]) {
	case 'u':
		*kind = TRACK_UNSUB;
		return (*tok)[k] ? -1 : 0;
	case 'o':
		*kind = TRACK_OPEN;
		return strcmp(*tok + k, ".gif") ? -1 : 0;
	case 'c': {
		const char *p = *tok + k;
		int v = 0;
		if (*p++ != '/' || *p < '1' || *p > '9')
			return -1;
		for (; *p >= '0' && *p <= '9'; p++) {
			v = v * 10 + (*p - '0');
			if (v > TRACK_MAX_LINKS)
				return -1;
		}
		if (*p)
			return -1;
		*kind = TRACK_CLICK;
		*n = v;
		return 0;
	}
	default:
		return -1;
	}
}

int track_token_check(const char *secret, enum track_kind kind, const char *tok, size_t len,
		      int n, const char *url, size_t urllen, int64_t *msg)
{
	struct sb d = SB_INIT;
	int rc;

	if (!purpose(kind))
		return -1;
	if (kind != TRACK_CLICK)
		return token_check(secret, purpose(kind), tok, len, msg);
	if (!url || n < 1 || n > TRACK_MAX_LINKS)
		return -1;
	click_data(&d, n, url, urllen);
	rc = token_check_data(secret, purpose(kind), tok, len, d.buf, d.len, msg);
	sb_free(&d);
	return rc;
}
