/*
 * fuzz_links.c - crm-send's link rewriting (lib/track_link.c) over any
 * HTML and text.
 *
 * The first byte picks the settings: bit 0 UTM parameters, bit 1 a
 * skipped (unsubscribe) URL. The rest is an HTML part up to its first NUL
 * byte and a text part after it (none without a NUL). An input that holds
 * the base URL itself is skipped, so that every click link of the output
 * is one the rewriter wrote.
 *
 * Properties: no crash; every BASE/c/TOKEN/N?u=URL of the output (HTML
 * part, then text part, one numbering) has a token that checks for N and
 * URL, N is at most the number of targets and URL is target N; there are
 * as many of them as links the rewriter says it changed; no rewritten
 * URL ends in '.'. Without a base and UTM nothing changes, and the pixel
 * adds exactly itself.
 */
#include "fuzz.h"
#include "track_link.h"
#include "track_url.h"
#include "util.h"

#define KEY  "fuzz secret 0123456789abcdef"
#define BASE "https://t.example"
#define PRE  BASE "/c/"

static const char urlchars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%";

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 :
		c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Checks every click link of s; returns how many there are. */
static size_t check_links(const struct track_link *t, const char *s, size_t len)
{
	const char *p = s, *end = s + len;
	size_t found = 0;

	while (p < end) {
		const char *tok = NULL, *q, *e;
		size_t pl = strlen(PRE), tl;
		struct sb url = SB_INIT;
		int64_t msg = -1;
		int n = 0;

		for (; p + pl <= end; p++)
			if (!memcmp(p, PRE, pl)) {
				tok = p + pl;
				break;
			}
		if (!tok)
			break;
		found++;
		tl = strspn(tok, "0123456789abcdef-");
		FZ_CHECK(tok + tl < end && tok[tl] == '/', "no '/' after the token");
		for (q = tok + tl + 1; q < end && *q >= '0' && *q <= '9'; q++)
			n = n * 10 + (*q - '0');
		FZ_CHECK(q + 3 <= end && !memcmp(q, "?u=", 3), "no ?u= after the number");
		q += 3;
		for (e = q; e < end && *e && strchr(urlchars, *e); e++)
			;
		/* a '.' after the URL is the text's: rewritten URLs never end in one */
		while (e > q && e[-1] == '.')
			e--;
		for (const char *c = q; c < e; c++) {
			if (*c == '%') {
				FZ_CHECK(c + 2 < e && hexval(c[1]) >= 0 && hexval(c[2]) >= 0,
					 "a bad %% escape");
				sb_addc(&url, hexval(c[1]) * 16 + hexval(c[2]));
				c += 2;
			} else {
				sb_addc(&url, *c);
			}
		}
		FZ_CHECK(n >= 1 && (size_t)n <= t->ntargets, "link number %d of %zu", n,
			 t->ntargets);
		FZ_CHECK(url.len == strlen(t->targets[n - 1]) &&
			 !memcmp(url.buf, t->targets[n - 1], url.len), "link %d is not its target", n);
		FZ_CHECK(track_token_check(KEY, TRACK_CLICK, tok, tl, n, url.buf, url.len, &msg) == 0 &&
			 msg == 7, "the token of link %d does not check", n);
		sb_free(&url);
		p = e;
	}
	return found;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct track_link t;
	struct sb out = SB_INIT, out2 = SB_INIT;
	const char *html, *text, *nul;
	size_t hlen, tlen, changed;

	if (size < 1 || fz_memmem((const char *)data, size, BASE "/"))
		return 0;
	html = (const char *)data + 1;
	nul = memchr(html, 0, size - 1);
	hlen = nul ? (size_t)(nul - html) : size - 1;
	text = nul ? nul + 1 : html + hlen;
	tlen = nul ? size - 1 - hlen - 1 : 0;

	memset(&t, 0, sizeof(t));
	t.base = BASE;
	t.secret = KEY;
	t.msg = 7;
	if (data[0] & 1) {
		t.utm_source = "crmkit";
		t.utm_medium = "email";
		t.utm_campaign = "fuzz.";
	}
	if (data[0] & 2)
		t.skip = "https://shop.example/unsubscribe?m=1&t=2";

	changed = track_link_html(&t, &out, html, hlen);
	FZ_CHECK(check_links(&t, out.buf, out.len) == changed, "HTML: %zu links changed", changed);
	changed = track_link_text(&t, &out2, text, tlen);
	FZ_CHECK(check_links(&t, out2.buf, out2.len) == changed, "text: %zu links changed", changed);
	track_link_free(&t);

	/* no base, no UTM: nothing to do */
	memset(&t, 0, sizeof(t));
	sb_reset(&out);
	track_link_html(&t, &out, html, hlen);
	FZ_CHECK(out.len == hlen && !memcmp(out.buf, html, hlen), "HTML changed without settings");
	sb_reset(&out);
	track_link_text(&t, &out, text, tlen);
	FZ_CHECK(out.len == tlen && !memcmp(out.buf, text, tlen), "text changed without settings");
	track_link_free(&t);

	/* the pixel adds itself and nothing else */
	sb_reset(&out);
	sb_reset(&out2);
	track_link_pixel(&out, html, hlen, BASE, KEY, 7);
	track_link_pixel(&out2, "", 0, BASE, KEY, 7);
	FZ_CHECK(out.len == hlen + out2.len && fz_memmem(out.buf, out.len, out2.buf),
		 "the pixel is not all that was added");
	sb_free(&out);
	sb_free(&out2);
	return 0;
}
