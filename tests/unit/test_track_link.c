/* test_track_link.c - lib/track_link.c: an e-mail's links rewritten to
 * crm-track's click redirects, the open pixel, UTM parameters. */
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>

#include "tap.h"
#include "track_link.h"
#include "track_url.h"
#include "util.h"

#define KEY  "0123456789abcdef0123456789abcdef"
#define BASE "https://t.shop.example"

static struct sb out;

static void setup(struct track_link *t)
{
	memset(t, 0, sizeof(*t));
	t->base = BASE;
	t->secret = KEY;
	t->msg = 42;
}

static const char *html(struct track_link *t, const char *s)
{
	sb_reset(&out);
	track_link_html(t, &out, s, strlen(s));
	return out.buf;
}

static const char *text(struct track_link *t, const char *s)
{
	sb_reset(&out);
	track_link_text(t, &out, s, strlen(s));
	return out.buf;
}

/* The k-th (from 0) click link in s: its number, target (percent-decoded
 * into *target) and whether its token checks for that number and target
 * (row 42). Returns -1 when there is no such link. */
static int click(const char *s, int k, struct sb *target, int *checks)
{
	const char *p = s;
	char pre[64];

	snprintf(pre, sizeof(pre), "%s/c/", BASE);
	for (;;) {
		const char *tok, *slash, *q, *e;
		int n;
		int64_t msg = -1;

		if (!(p = strstr(p, pre)))
			return -1;
		tok = p + strlen(pre);
		slash = strchr(tok, '/');
		n = atoi(slash + 1);
		q = strstr(slash, "?u=") + 3;
		e = q + strspn(q, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%");
		while (e > q && e[-1] == '.') /* never the end of a rewritten URL */
			e--;
		p = e;
		if (k-- > 0)
			continue;
		sb_reset(target);
		for (const char *c = q; c < e; c++) {
			if (*c == '%' && c + 2 < e) {
				char h[3] = { c[1], c[2], 0 };
				sb_addc(target, (int)strtol(h, NULL, 16));
				c += 2;
			} else {
				sb_addc(target, *c);
			}
		}
		*checks = track_token_check(KEY, TRACK_CLICK, tok, (size_t)(slash - tok), n,
					    target->buf, target->len, &msg) == 0 && msg == 42;
		return n;
	}
}

/* link k of s is number n to want, and its MAC checks only for those */
static void is_click(const char *s, int k, int n, const char *want, const char *name)
{
	struct sb tg = SB_INIT;
	int checks = 0, got = click(s, k, &tg, &checks);

	is_int(got, n, "%s: link number", name);
	is_str(tg.buf, want, "%s: target", name);
	ok(checks, "%s: the token checks", name);
	if (got > 0) {
		const char *tok = strstr(s, "/c/");
		int64_t msg;
		for (int j = 0; j < k; j++)
			tok = strstr(tok + 1, "/c/");
		tok += 3;
		size_t tl = (size_t)(strchr(tok, '/') - tok);
		ok(track_token_check(KEY, TRACK_CLICK, tok, tl, got, "https://evil.example/", 21,
				     &msg) == -1, "%s: refused for another target", name);
		ok(track_token_check(KEY, TRACK_CLICK, tok, tl, got + 1, tg.buf, tg.len, &msg) == -1,
		   "%s: refused for another number", name);
		ok(track_token_check("another key", TRACK_CLICK, tok, tl, got, tg.buf, tg.len,
				     &msg) == -1, "%s: refused with another secret", name);
	}
	sb_free(&tg);
}

static void untouched(struct track_link *t, const char *s, const char *name)
{
	is_str(html(t, s), s, "untouched: %s", name);
}

int main(void)
{
	struct track_link t;
	struct sb tg = SB_INIT;
	const char *r;
	int checks;

	sb_init(&out);

	/* ---- HTML: quoting styles, references ---- */
	setup(&t);
	r = html(&t, "<p><a href=\"https://shop.example/sale?a=1&amp;b=2\">sale</a></p>");
	is_click(r, 0, 1, "https://shop.example/sale?a=1&b=2", "double quotes, &amp; decoded");
	ok(!strncmp(r, "<p><a href=\"" BASE "/c/42-", strlen("<p><a href=\"" BASE "/c/42-")),
	   "written in double quotes: %s", r);
	ok(strstr(r, "\">sale</a></p>") != NULL, "the rest kept: %s", r);
	r = html(&t, "<a class=x href='https://shop.example/b'>b</a>");
	is_click(r, 0, 2, "https://shop.example/b", "single quotes");
	ok(!strncmp(r, "<a class=x href=\"", 17), "single quotes become double: %s", r);
	r = html(&t, "<A HREF=https://shop.example/c>c</A>");
	is_click(r, 0, 3, "https://shop.example/c", "unquoted, upper case");
	ok(strstr(r, "\">c</A>") != NULL, "unquoted value ends at '>': %s", r);
	r = html(&t, "<a href=https://shop.example/sale?a=1&amp;b=2 title=x>again</a>");
	is_click(r, 0, 1, "https://shop.example/sale?a=1&b=2", "the same target: the same number");
	ok(strstr(r, " title=x>again</a>") != NULL, "attributes after kept: %s", r);
	r = html(&t, "<area shape=rect href=\"HTTPS://shop.example/area\">");
	is_click(r, 0, 4, "HTTPS://shop.example/area", "<area>, scheme in upper case");
	r = html(&t, "<a href=\"https://shop.example/r?x=&#38;&#x26;&lt;&quot;&apos;&ampy\">r</a>");
	is_click(r, 0, 5, "https://shop.example/r?x=&&%3C%22'&ampy",
		 "numeric and named references; &ampy kept; < and \" encoded");
	r = html(&t, "<a href=\" \n https://shop.example/w\nx\t \">w</a>");
	is_click(r, 0, 6, "https://shop.example/wx", "white space around and line ends inside dropped");
	r = html(&t, "<a href=\"https://shop.example/q?s=a b\">q</a>");
	is_click(r, 0, 7, "https://shop.example/q?s=a%20b", "a space inside: %20");
	r = html(&t, "<a title=\"a > b\" href=\"https://shop.example/t\">t</a>");
	is_click(r, 0, 8, "https://shop.example/t", "'>' inside another attribute");
	r = html(&t, "<a href=\"https://shop.example/1\" href=\"https://shop.example/2\">1</a>");
	is_click(r, 0, 9, "https://shop.example/1", "the first href counts");
	ok(strstr(r, "href=\"https://shop.example/2\"") != NULL, "the second is left: %s", r);
	r = html(&t, "<a href=\"https://shop.example/&#0;&#x110000;&#xD800;\">z</a>");
	is_click(r, 0, 10, "https://shop.example/\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
		 "references to no character: U+FFFD");
	r = html(&t, "<a href=\"https://shop.example/esc\" title='&'>&amp;</a>");
	ok(strstr(r, "&amp;</a>") && strstr(r, "title='&'"), "text and other attributes as they were: %s", r);
	is_int(t.ntargets, 11, "11 distinct targets");
	track_link_free(&t);

	/* ---- HTML: what is left alone ---- */
	setup(&t);
	t.skip = BASE "/u/42-0123456789abcdef";
	untouched(&t, "<a href=\"mailto:a@b.example\">m</a>", "mailto:");
	untouched(&t, "<a href=\"tel:+4912345\">t</a>", "tel:");
	untouched(&t, "<a href=\"#top\">top</a>", "#fragment");
	untouched(&t, "<a href=\"/relative\">r</a> <a href=\"shop.example\">r</a>", "relative");
	untouched(&t, "<a href=\"javascript:alert(1)\">j</a>", "javascript:");
	untouched(&t, "<a href=\"https://\">e</a> <a href=\"https:///x\">e</a> <a href=\"\">e</a> <a href>e</a>",
		  "no host, empty");
	untouched(&t, "<a data-crm-notrack href=\"https://keep.example/\">k</a>", "data-crm-notrack");
	untouched(&t, "<a href=\"https://keep.example/\" DATA-CRM-NOTRACK=\"1\">k</a>",
		  "data-crm-notrack after href, upper case");
	untouched(&t, "<!-- <a href=\"https://comment.example/\">c</a> -->", "comment");
	untouched(&t, "<!--[if mso]><a href=\"https://mso.example/\">o</a><![endif]-->",
		  "conditional comment");
	untouched(&t, "<a href=\"" BASE "/u/42-0123456789abcdef\">unsubscribe</a>",
		  "the unsubscribe URL");
	untouched(&t, "<a href=\"" BASE "/c/42-0123456789abcdef/1?u=x\">c</a>",
		  "a crm-track URL already");
	untouched(&t, "<script>var s = '<a href=\"https://script.example/\">';</script>", "<script>");
	untouched(&t, "<style>a[href=\"<a href='https://css.example/'>\"] {}</style>", "<style>");
	untouched(&t, "<title><a href=\"https://title.example/\"></title>", "<title>");
	untouched(&t, "<link href=\"https://css.example/x.css\"> <img src=\"https://img.example/\">",
		  "other tags");
	untouched(&t, "</a href=\"https://end.example/\">", "end tag");
	untouched(&t, "<a href=\"https://open.example/\"", "an unterminated tag");
	untouched(&t, "<a href=\"https://open.example/>x</a>", "an unterminated quote");
	untouched(&t, "a < b and <3 <", "stray '<'");
	is_int(t.ntargets, 0, "no target");
	r = html(&t, "<!-- <a href=\"https://c.example/\"> --><a href=\"https://after.example/\">a</a>");
	is_click(r, 0, 1, "https://after.example/", "a link after a comment");
	r = html(&t, "<script>x</script><a href=\"https://after.example/s\">a</a>");
	is_click(r, 0, 2, "https://after.example/s", "a link after a script");
	r = html(&t, "<!-- x --!><a href=https://after.example/b -->b</a>");
	is_click(r, 0, 3, "https://after.example/b", "a comment ends at --!> too");
	r = html(&t, "<!--><a href=https://after.example/c>c</a><!---><a href=https://after.example/d>d</a>");
	is_click(r, 0, 4, "https://after.example/c", "<!--> is a whole comment");
	is_click(r, 1, 5, "https://after.example/d", "<!---> is a whole comment");
	track_link_free(&t);

	/* ---- text ---- */
	setup(&t);
	r = text(&t, "See https://shop.example/sale. Or https://shop.example/b, or "
		     "(https://shop.example/c) and https://en.example/wiki/Foo_(bar)!\n"
		     "<https://shop.example/d> \"https://shop.example/e\" https://shop.example/f?x=1;\n"
		     "xhttps://no.example/ http://shop.example/g\thttps:// https://shop.example/h'\n");
	is_click(r, 0, 1, "https://shop.example/sale", "text: a trailing '.'");
	is_click(r, 1, 2, "https://shop.example/b", "text: a trailing ','");
	is_click(r, 2, 3, "https://shop.example/c", "text: an unbalanced ')'");
	is_click(r, 3, 4, "https://en.example/wiki/Foo_(bar)", "text: a balanced ')' kept, '!' not");
	is_click(r, 4, 5, "https://shop.example/d", "text: <URL>");
	is_click(r, 5, 6, "https://shop.example/e", "text: \"URL\"");
	is_click(r, 6, 7, "https://shop.example/f?x=1", "text: a trailing ';'");
	is_click(r, 7, 8, "http://shop.example/g", "text: http, up to a tab");
	is_click(r, 8, 9, "https://shop.example/h", "text: a trailing quote");
	ok(click(r, 9, &tg, &checks) == -1, "text: 9 links, not xhttps:// nor an empty one");
	ok(strstr(r, "xhttps://no.example/ ") && strstr(r, "\thttps:// ") && strstr(r, ". Or ") &&
	   strstr(r, "!\n<") && strstr(r, "> \"") && strstr(r, ";\nx"), "text around kept");
	r = text(&t, "https://shop.example/sale\n");
	is_click(r, 0, 1, "https://shop.example/sale", "text: the same URL, the same number");
	r = text(&t, "https://shop.example/i\xc2\xa0next");
	is_click(r, 0, 10, "https://shop.example/i", "text: ends at a no-break space");
	track_link_free(&t);

	/* ---- both parts: HTML first, then text-only links ---- */
	setup(&t);
	t.skip = "https://shop.example/unsubscribe?m=1&t=2";
	r = html(&t, "<a href=\"https://shop.example/a\">a</a><a href=\"https://shop.example/b\">b</a>"
		     "<a href=\"https://shop.example/unsubscribe?m=1&amp;t=2\">u</a>");
	ok(strstr(r, "href=\"https://shop.example/unsubscribe?m=1&amp;t=2\""),
	   "the [unsubscribe] URL left, as written: %s", r);
	r = text(&t, "https://shop.example/c https://shop.example/b https://shop.example/a "
		     "https://shop.example/unsubscribe?m=1&t=2");
	is_click(r, 0, 3, "https://shop.example/c", "text-only link after the HTML's");
	is_click(r, 1, 2, "https://shop.example/b", "the HTML's number in the text");
	is_click(r, 2, 1, "https://shop.example/a", "the HTML's first number in the text");
	ok(strstr(r, " https://shop.example/unsubscribe?m=1&t=2"), "unsubscribe URL left in text");
	track_link_free(&t);

	/* ---- UTM ---- */
	setup(&t);
	t.utm_source = "crmkit";
	t.utm_medium = "email";
	t.utm_campaign = "winback 2026/11";
	r = html(&t, "<a href=\"https://shop.example/\">a</a>");
	is_click(r, 0, 1, "https://shop.example/?utm_source=crmkit&utm_medium=email&utm_campaign=winback%202026%2F11",
		 "UTM: no query");
	r = html(&t, "<a href=\"https://shop.example/p?id=7&amp;utm_source=news#top\">a</a>");
	is_click(r, 0, 2, "https://shop.example/p?id=7&utm_source=news&utm_medium=email&utm_campaign=winback%202026%2F11#top",
		 "UTM: a query, a source of its own, a fragment");
	r = text(&t, "https://shop.example/q?#frag https://shop.example/r?a=1&");
	is_click(r, 0, 3, "https://shop.example/q?utm_source=crmkit&utm_medium=email&utm_campaign=winback%202026%2F11#frag",
		 "UTM: an empty query");
	is_click(r, 1, 4, "https://shop.example/r?a=1&utm_source=crmkit&utm_medium=email&utm_campaign=winback%202026%2F11",
		 "UTM: a query ending in &");
	t.utm_campaign = "sale.";
	r = text(&t, "Buy: https://shop.example/.");
	ok(strstr(r, "utm_campaign%3Dsale%2E.") != NULL,
	   "a rewritten URL never ends in '.' (readers take it for the sentence's): %s", r);
	is_click(r, 0, 5, "https://shop.example/?utm_source=crmkit&utm_medium=email&utm_campaign=sale.",
		 "a final '.' of the target written %2E");
	t.utm_campaign = "winback 2026/11";
	r = text(&t, "https://shop.example/s?utm_source=a&utm_medium=b&utm_campaign=c");
	is_click(r, 0, 6, "https://shop.example/s?utm_source=a&utm_medium=b&utm_campaign=c",
		 "UTM: all three there already");
	r = text(&t, "https://shop.example/t?xutm_source=a&utm_source_x=1");
	is_click(r, 0, 7, "https://shop.example/t?xutm_source=a&utm_source_x=1&utm_source=crmkit&utm_medium=email&utm_campaign=winback%202026%2F11",
		 "UTM: similar names are other parameters");
	track_link_free(&t);
	/* UTM without crm-track: the target itself, HTML-escaped */
	memset(&t, 0, sizeof(t));
	t.utm_source = "crmkit";
	t.utm_medium = "email";
	r = html(&t, "<a href='https://shop.example/x?a=1&amp;b=2'>x</a> <a href=\"mailto:a@b\">m</a>");
	is_str(r, "<a href=\"https://shop.example/x?a=1&amp;b=2&amp;utm_source=crmkit&amp;utm_medium=email\">x</a> <a href=\"mailto:a@b\">m</a>",
	       "UTM only: no redirect, HTML-escaped");
	r = text(&t, "Go: https://shop.example/y.");
	is_str(r, "Go: https://shop.example/y?utm_source=crmkit&utm_medium=email.", "UTM only: text");
	sb_reset(&out);
	track_link_utm(&out, "https://a.example/#x?y", 22, "s", NULL, "");
	is_str(out.buf, "https://a.example/?utm_source=s#x?y", "UTM: a '?' in the fragment is not a query");
	track_link_free(&t);
	/* no base, no UTM: nothing changes */
	memset(&t, 0, sizeof(t));
	untouched(&t, "<a href=\"https://shop.example/\">a</a>", "no base, no UTM");
	is_str(text(&t, "https://shop.example/"), "https://shop.example/", "no base, no UTM: text");

	/* ---- the cap ---- */
	setup(&t);
	{
		struct sb many = SB_INIT;
		for (int i = 1; i <= TRACK_MAX_LINKS + 2; i++)
			sb_addf(&many, "https://shop.example/%d\n", i);
		r = text(&t, many.buf);
		is_int(t.ntargets, TRACK_MAX_LINKS, "at most TRACK_MAX_LINKS targets");
		ok(strstr(r, "\nhttps://shop.example/10000\nhttps://shop.example/10001\n") != NULL,
		   "the links past the cap are left as they are");
		is_click(r, TRACK_MAX_LINKS - 1, TRACK_MAX_LINKS, "https://shop.example/9999",
			 "the last one numbered");
		sb_free(&many);
	}
	track_link_free(&t);

	/* ---- the pixel ---- */
	{
		char want[256];
		struct sb src = SB_INIT;
		int64_t msg;
		const char *tok;

		track_url_open(&src, BASE, KEY, 42);
		tok = src.buf + strlen(BASE "/o/");
		ok(track_token_check(KEY, TRACK_OPEN, tok, strlen(tok) - 4, 0, NULL, 0, &msg) == 0 &&
		   msg == 42, "the pixel's token checks: %s", src.buf);
		snprintf(want, sizeof(want), "<img src=\"%s\" width=\"1\" height=\"1\" alt=\"\" style=\"", src.buf);
		sb_reset(&out);
		track_link_pixel(&out, "<html><body>x</body></html>\n", 28, BASE, KEY, 42);
		ok(!strncmp(out.buf, "<html><body>x", 13) && !strncmp(out.buf + 13, want, strlen(want)) &&
		   strstr(out.buf, "\"></body></html>\n"), "before </body>");
		sb_reset(&out);
		track_link_pixel(&out, "<BODY>x</BODY><!-- </body> -->y</Body >\n", 40, BASE, KEY, 42);
		ok(strstr(out.buf, "-->y<img ") && strstr(out.buf, "\"></Body >\n"),
		   "before the last </body>, any case");
		sb_reset(&out);
		track_link_pixel(&out, "<p>x</p>\n", 9, BASE, KEY, 42);
		ok(!strncmp(out.buf, "<p>x</p>", 8) && !strncmp(out.buf + 8, want, strlen(want)) &&
		   out.buf[out.len - 1] == '\n' && out.buf[out.len - 2] == '>',
		   "no </body>: at the end, before the line end");
		sb_reset(&out);
		track_link_pixel(&out, "", 0, BASE "/", KEY, 42);
		ok(!strncmp(out.buf, want, strlen(want)), "an empty part, base with '/': %s", out.buf);
		sb_free(&src);
	}

	/* ---- references ---- */
	sb_reset(&out);
	track_link_unescape(&out, "&amp;&amp &amp=&ampx&AMP;&lt;&#65;&#x41&#;&#x;&nbsp;&bogus;&", 60);
	is_str(out.buf, "&& &amp=&ampx&AMP;<AA&#;&#x;\xc2\xa0&bogus;&", "track_link_unescape");

	sb_free(&out);
	sb_free(&tg);
	return tap_done();
}
