/*
 * track_link.c - links of a rendered e-mail rewritten to crm-track's
 * click redirects, the open pixel and UTM parameters (rules in
 * track_link.h).
 *
 * The HTML scanner follows the tokenizer of HTML5 as far as finding the
 * href of <a> and <area> needs: comments, declarations and processing
 * instructions, start and end tags with attributes quoted or not, and the
 * raw text of <script>, <style>, <title>, <textarea> and <xmp> (no tags
 * inside). Anything it does not understand is copied as it is.
 */
#include "track_link.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "track_url.h"

/* ---- small helpers -------------------------------------------------------- */

static int is_hws(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

static int is_alnum(int c)
{
	return ascii_isalpha(c) || ascii_isdigit(c);
}

static int eq_ci(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && !ascii_ncasecmp(s, word, n);
}

static int starts_ci(const char *s, size_t n, const char *word)
{
	size_t k = strlen(word);

	return n >= k && !ascii_ncasecmp(s, word, k);
}

/* The first place at or after from where needle (lower case) starts,
 * ignoring case; len when there is none. */
static size_t find_ci(const char *s, size_t len, size_t from, const char *needle)
{
	size_t k = strlen(needle);

	for (size_t i = from; i + k <= len; i++)
		if (!ascii_ncasecmp(s + i, needle, k))
			return i;
	return len;
}

static void utf8_put(struct sb *out, unsigned long c)
{
	if (c == 0 || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		c = 0xfffd;
	if (c < 0x80) {
		sb_addc(out, (int)c);
	} else if (c < 0x800) {
		sb_addc(out, (int)(0xc0 | c >> 6));
		sb_addc(out, (int)(0x80 | (c & 0x3f)));
	} else if (c < 0x10000) {
		sb_addc(out, (int)(0xe0 | c >> 12));
		sb_addc(out, (int)(0x80 | (c >> 6 & 0x3f)));
		sb_addc(out, (int)(0x80 | (c & 0x3f)));
	} else {
		sb_addc(out, (int)(0xf0 | c >> 18));
		sb_addc(out, (int)(0x80 | (c >> 12 & 0x3f)));
		sb_addc(out, (int)(0x80 | (c >> 6 & 0x3f)));
		sb_addc(out, (int)(0x80 | (c & 0x3f)));
	}
}

static void html_escape(struct sb *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case '&': sb_adds(out, "&amp;"); break;
		case '"': sb_adds(out, "&quot;"); break;
		case '\'': sb_adds(out, "&#39;"); break;
		case '<': sb_adds(out, "&lt;"); break;
		case '>': sb_adds(out, "&gt;"); break;
		default: sb_addc(out, s[i]);
		}
	}
}

/* ---- character references --------------------------------------------------- */

static const struct {
	const char *name;
	unsigned long c;
	int legacy; /* also without ';' */
} refs[] = {
	{ "amp", '&', 1 }, { "lt", '<', 1 }, { "gt", '>', 1 }, { "quot", '"', 1 },
	{ "apos", '\'', 0 }, { "nbsp", 0xa0, 0 },
};

/* A reference at s[0] ('&'): its length, with the character in *c; 0 when
 * there is none. */
static size_t char_ref(const char *s, size_t n, unsigned long *c)
{
	size_t i = 1;

	if (n > 2 && s[1] == '#') {
		int hex = s[2] == 'x' || s[2] == 'X';
		size_t d0 = i = hex ? 3 : 2;
		unsigned long v = 0;

		for (; i < n; i++) {
			int d = ascii_isdigit(s[i]) ? s[i] - '0' :
				hex && (s[i] | 32) >= 'a' && (s[i] | 32) <= 'f' ? (s[i] | 32) - 'a' + 10 :
				-1;
			if (d < 0)
				break;
			v = v * (hex ? 16 : 10) + (unsigned long)d;
			if (v > 0x110000)
				v = 0x110000;
		}
		if (i == d0)
			return 0;
		*c = v;
		return i < n && s[i] == ';' ? i + 1 : i;
	}
	for (size_t r = 0; r < ARRAY_SIZE(refs); r++) {
		size_t k = strlen(refs[r].name);

		if (n < 1 + k || memcmp(s + 1, refs[r].name, k))
			continue;
		*c = refs[r].c;
		if (n > 1 + k && s[1 + k] == ';')
			return 2 + k;
		/* in an attribute, "&amp=" and "&ampx" stay as written */
		if (refs[r].legacy && (n == 1 + k || (!is_alnum((unsigned char)s[1 + k]) &&
						     s[1 + k] != '=')))
			return 1 + k;
	}
	return 0;
}

void track_link_unescape(struct sb *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		unsigned long c;
		size_t k = s[i] == '&' ? char_ref(s + i, len - i, &c) : 0;

		if (k) {
			utf8_put(out, c);
			i += k;
		} else {
			sb_addc(out, s[i++]);
		}
	}
}

/* ---- UTM ------------------------------------------------------------------- */

/* 1 when the query q[0..n) has the parameter key */
static int has_param(const char *q, size_t n, const char *key)
{
	size_t k = strlen(key);

	for (size_t i = 0; i < n;) {
		size_t e = i;

		while (e < n && q[e] != '&' && q[e] != ';')
			e++;
		if (e - i >= k && !memcmp(q + i, key, k) && (e - i == k || q[i + k] == '='))
			return 1;
		i = e + 1;
	}
	return 0;
}

void track_link_utm(struct sb *out, const char *url, size_t len, const char *source,
		    const char *medium, const char *campaign)
{
	const char *const keys[] = { "utm_source", "utm_medium", "utm_campaign" };
	const char *const vals[] = { source, medium, campaign };
	const char *hash = memchr(url, '#', len);
	size_t end = hash ? (size_t)(hash - url) : len;
	const char *qm = memchr(url, '?', end);
	size_t qs = qm ? (size_t)(qm - url) + 1 : end;

	sb_add(out, url, end);
	for (int k = 0; k < 3; k++) {
		if (!vals[k] || !*vals[k] || (qm && has_param(url + qs, end - qs, keys[k])))
			continue;
		if (!qm) {
			sb_addc(out, '?');
			qm = url; /* a query from now on */
		} else if (out->buf[out->len - 1] != '?' && out->buf[out->len - 1] != '&') {
			sb_addc(out, '&');
		}
		sb_adds(out, keys[k]);
		sb_addc(out, '=');
		track_url_escape(out, vals[k], strlen(vals[k]));
	}
	sb_add(out, url + end, len - end);
}

/* ---- targets ----------------------------------------------------------------- */

void track_link_free(struct track_link *t)
{
	for (size_t i = 0; i < t->ntargets; i++)
		free(t->targets[i]);
	free(t->targets);
	t->targets = NULL;
	t->ntargets = t->cap = 0;
}

/* The number of target (a new one when it is new); 0 past TRACK_MAX_LINKS */
static int link_number(struct track_link *t, const char *url, size_t len)
{
	for (size_t i = 0; i < t->ntargets; i++)
		if (!strncmp(t->targets[i], url, len) && !t->targets[i][len])
			return (int)i + 1;
	if (t->ntargets >= TRACK_MAX_LINKS)
		return 0;
	t->targets = xgrow(t->targets, sizeof(*t->targets), t->ntargets + 1, &t->cap);
	t->targets[t->ntargets++] = xstrndup(url, len);
	return (int)t->ntargets;
}

/* 1 when url (as a browser reads it) is a link to track */
static int trackable(const struct track_link *t, const char *url, size_t len)
{
	size_t k = starts_ci(url, len, "http://") ? 7 : starts_ci(url, len, "https://") ? 8 : 0;

	if (!k || len == k || url[k] == '/' || url[k] == '?' || url[k] == '#')
		return 0;
	if (t->skip && strlen(t->skip) == len && !memcmp(t->skip, url, len))
		return 0;
	if (t->base) {
		size_t b = strlen(t->base);

		while (b && t->base[b - 1] == '/')
			b--;
		if (len > b + 3 && !memcmp(url, t->base, b) && url[b] == '/' &&
		    strchr("uoc", url[b + 1]) && url[b + 2] == '/')
			return 0;
	}
	return 1;
}

/*
 * The replacement of url (already decoded, trimmed) in *rep: the click
 * redirect of its target, or (no base, or past the cap) the target when
 * UTM parameters were added to it. Returns 1 when url is to be replaced.
 */
static int replace(struct track_link *t, struct sb *rep, const char *url, size_t len)
{
	struct sb norm = SB_INIT, tg = SB_INIT;
	int n, changed;

	sb_reset(rep);
	if (!trackable(t, url, len))
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)url[i];

		if (c <= ' ' || c == 0x7f || c == '"' || c == '<' || c == '>')
			sb_addf(&norm, "%%%02X", c);
		else
			sb_addc(&norm, c);
	}
	if (t->utm_source)
		track_link_utm(&tg, norm.buf, norm.len, t->utm_source, t->utm_medium,
			       t->utm_campaign);
	else
		sb_add(&tg, norm.buf, norm.len);
	if (t->base && (n = link_number(t, tg.buf, tg.len)) > 0) {
		track_url_click(rep, t->base, t->secret, t->msg, n, tg.buf, tg.len);
		/* a '.' ending a link is the sentence's for readers and their
		 * link finders: the same target, percent-encoded */
		if (rep->buf[rep->len - 1] == '.') {
			rep->len--;
			sb_adds(rep, "%2E");
		}
		changed = 1;
	} else {
		/* unwrapped: replaced only when UTM parameters were added */
		sb_add(rep, tg.buf, tg.len);
		changed = tg.len != norm.len;
	}
	sb_free(&norm);
	sb_free(&tg);
	return changed;
}

/* ---- HTML ---------------------------------------------------------------------- */

struct tag {
	size_t end;            /* after the '>' */
	int href;              /* has an href */
	size_t vs, ve;         /* its value as written, quotes included */
	size_t hs, he;         /* without the quotes */
	int notrack;
};

/* The attributes of a tag from h[i] (after its name) to its '>'. Returns
 * 0 when the input ends first. */
static int parse_attrs(const char *h, size_t len, size_t i, struct tag *tg)
{
	memset(tg, 0, sizeof(*tg));
	for (;;) {
		size_t ns, ne, vs, ve, hs, he;

		while (i < len && (is_hws((unsigned char)h[i]) || h[i] == '/'))
			i++;
		if (i >= len)
			return 0;
		if (h[i] == '>') {
			tg->end = i + 1;
			return 1;
		}
		ns = i++;
		while (i < len && !is_hws((unsigned char)h[i]) && h[i] != '/' && h[i] != '>' &&
		       h[i] != '=')
			i++;
		ne = i;
		while (i < len && is_hws((unsigned char)h[i]))
			i++;
		vs = ve = hs = he = i;
		if (i < len && h[i] == '=') {
			i++;
			while (i < len && is_hws((unsigned char)h[i]))
				i++;
			if (i >= len)
				return 0;
			vs = i;
			if (h[i] == '"' || h[i] == '\'') {
				const char *q = memchr(h + i + 1, h[i], len - i - 1);
				if (!q)
					return 0;
				hs = i + 1;
				he = (size_t)(q - h);
				i = ve = he + 1;
			} else {
				hs = i;
				while (i < len && !is_hws((unsigned char)h[i]) && h[i] != '>')
					i++;
				he = ve = i;
			}
		}
		if (!tg->href && eq_ci(h + ns, ne - ns, "href")) {
			tg->href = 1;
			tg->vs = vs, tg->ve = ve, tg->hs = hs, tg->he = he;
		}
		if (eq_ci(h + ns, ne - ns, "data-crm-notrack"))
			tg->notrack = 1;
	}
}

/* The URL a browser reads from an href value: references decoded, ASCII
 * white space at the ends and tabs and line ends inside dropped. */
static void href_url(struct sb *out, const char *v, size_t n)
{
	struct sb d = SB_INIT;
	size_t b = 0, e;

	track_link_unescape(&d, v, n);
	e = d.len;
	while (b < e && (is_hws((unsigned char)d.buf[b]) || d.buf[b] == '\v'))
		b++;
	while (e > b && (is_hws((unsigned char)d.buf[e - 1]) || d.buf[e - 1] == '\v'))
		e--;
	for (size_t i = b; i < e; i++)
		if (d.buf[i] != '\t' && d.buf[i] != '\n' && d.buf[i] != '\r')
			sb_addc(out, d.buf[i]);
	sb_free(&d);
}

static const char *const rawtext[] = { "script", "style", "title", "textarea", "xmp" };

size_t track_link_html(struct track_link *t, struct sb *out, const char *h, size_t len)
{
	struct sb url = SB_INIT, rep = SB_INIT;
	size_t i = 0, last = 0, changed = 0;

	while (i < len) {
		const char *lt = memchr(h + i, '<', len - i);
		size_t ns, ne;
		struct tag tg;

		if (!lt)
			break;
		i = (size_t)(lt - h);
		if (i + 1 >= len)
			break;
		if (starts_ci(h + i, len - i, "<!--")) {
			size_t e;
			if (i + 4 < len && h[i + 4] == '>') {
				i += 5;
				continue;
			}
			if (i + 5 < len && h[i + 4] == '-' && h[i + 5] == '>') {
				i += 6;
				continue;
			}
			e = find_ci(h, len, i + 4, "-->");
			if (find_ci(h, e, i + 4, "--!>") < e)
				e = find_ci(h, e, i + 4, "--!>") + 1;
			i = e < len ? e + 3 : len;
			continue;
		}
		if (h[i + 1] == '!' || h[i + 1] == '?' ||
		    (h[i + 1] == '/' && (i + 2 >= len || !ascii_isalpha((unsigned char)h[i + 2])))) {
			/* a declaration, a bogus comment or "</>" */
			const char *gt = memchr(h + i + 1, '>', len - i - 1);
			i = gt ? (size_t)(gt - h) + 1 : len;
			continue;
		}
		if (!ascii_isalpha((unsigned char)h[i + 1]) && h[i + 1] != '/') {
			i++;
			continue;
		}
		ns = i + 1 + (h[i + 1] == '/');
		ne = ns;
		while (ne < len && !is_hws((unsigned char)h[ne]) && h[ne] != '/' && h[ne] != '>')
			ne++;
		if (!parse_attrs(h, len, ne, &tg))
			break; /* unterminated: a browser drops it */
		i = tg.end;
		if (h[ns - 1] == '/')
			continue; /* an end tag */
		if (tg.href && !tg.notrack &&
		    (eq_ci(h + ns, ne - ns, "a") || eq_ci(h + ns, ne - ns, "area"))) {
			sb_reset(&url);
			href_url(&url, h + tg.hs, tg.he - tg.hs);
			if (replace(t, &rep, url.buf, url.len)) {
				sb_add(out, h + last, tg.vs - last);
				sb_addc(out, '"');
				html_escape(out, rep.buf, rep.len);
				sb_addc(out, '"');
				last = tg.ve;
				changed++;
			}
		}
		for (size_t r = 0; r < ARRAY_SIZE(rawtext); r++)
			if (eq_ci(h + ns, ne - ns, rawtext[r])) {
				char end[16];
				snprintf(end, sizeof(end), "</%s", rawtext[r]);
				i = find_ci(h, len, i, end);
			}
	}
	sb_add(out, h + last, len - last);
	sb_free(&url);
	sb_free(&rep);
	return changed;
}

/* ---- text ------------------------------------------------------------------------ */

/* The end of the URL that starts at s[0] */
static size_t url_end(const char *s, size_t n)
{
	static const char open[] = "([{", close[] = ")]}";
	size_t e = 0, depth[3] = { 0, 0, 0 }, shut[3] = { 0, 0, 0 };

	while (e < n) {
		unsigned char c = (unsigned char)s[e];
		const char *p;
		if (c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == '"' ||
		    (c == 0xc2 && e + 1 < n && (unsigned char)s[e + 1] == 0xa0))
			break;
		if (c && (p = strchr(open, c)))
			depth[p - open]++;
		else if (c && (p = strchr(close, c)))
			shut[p - close]++;
		e++;
	}
	while (e > 0) {
		char c = s[e - 1];
		const char *p = c ? strchr(close, c) : NULL;
		if (p && shut[p - close] > depth[p - close]) {
			shut[p - close]--;
			e--;
		} else if (c && strchr(".,:;!?'*", c)) {
			e--;
		} else {
			break;
		}
	}
	return e;
}

size_t track_link_text(struct track_link *t, struct sb *out, const char *s, size_t len)
{
	struct sb rep = SB_INIT;
	size_t i = 0, last = 0, changed = 0;

	while (i < len) {
		size_t e;

		if ((s[i] != 'h' && s[i] != 'H') || (i > 0 && is_alnum((unsigned char)s[i - 1])) ||
		    (!starts_ci(s + i, len - i, "http://") && !starts_ci(s + i, len - i, "https://"))) {
			i++;
			continue;
		}
		e = url_end(s + i, len - i);
		if (replace(t, &rep, s + i, e)) {
			sb_add(out, s + last, i - last);
			sb_add(out, rep.buf, rep.len);
			last = i + e;
			changed++;
		}
		i += e > 0 ? e : 1;
	}
	sb_add(out, s + last, len - last);
	sb_free(&rep);
	return changed;
}

/* ---- the open pixel ------------------------------------------------------------------ */

void track_link_pixel(struct sb *out, const char *html, size_t len, const char *base,
		      const char *secret, int64_t msg)
{
	struct sb src = SB_INIT;
	size_t at = len, k;

	for (k = find_ci(html, len, 0, "</body"); k < len; k = find_ci(html, len, k + 1, "</body"))
		at = k;
	if (at == len && len && html[len - 1] == '\n')
		at = len - 1;
	track_url_open(&src, base, secret, msg);
	sb_add(out, html, at);
	sb_adds(out, "<img src=\"");
	html_escape(out, src.buf, src.len);
	sb_adds(out, "\" width=\"1\" height=\"1\" alt=\"\" "
		"style=\"display:block;width:1px;height:1px;border:0;margin:0;padding:0\">");
	sb_add(out, html + at, len - at);
	sb_free(&src);
}
