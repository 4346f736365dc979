/*
 * track_link.h - crm-send's side of link tracking (issue 13): the links
 * of a rendered e-mail rewritten to crm-track's signed click redirects
 * (track_url.h), the open pixel, and UTM parameters. Pure functions over
 * buffers: no database, no configuration.
 *
 * Which links (both parts):
 *   - only absolute http:// and https:// URLs (any case): never mailto:,
 *     tel:, "#fragment", relative or javascript: links;
 *   - never the message's unsubscribe URL (t->skip) nor a URL that is
 *     already crm-track's (BASE/u/, BASE/o/, BASE/c/);
 *   - HTML: the href of <a> and <area> tags, quoted with " or ' or
 *     unquoted, with character references decoded first (&amp; -> &,
 *     &#38;, &#x26;, &lt; &gt; &quot; &apos; &nbsp;; amp lt gt quot
 *     without the ';' too) and ASCII white space around the URL and tabs
 *     and line ends inside it dropped, as a browser does. Not a tag that
 *     has a data-crm-notrack attribute (with any value or none), nothing
 *     inside comments (<!-- -->, so Outlook's conditional comments too),
 *     <!...> and <?...> declarations, end tags, <script> and <style>
 *     contents, nor a tag the input leaves unterminated. The first href
 *     of a tag counts (as in HTML); the rewritten one is written in
 *     double quotes, HTML-escaped; the rest of the tag is kept as it is.
 *   - text: bare http:// and https:// URLs that do not follow a letter or
 *     digit, up to white space, a control, '<', '>' or '"', without the
 *     punctuation that ends a sentence (. , : ; ! ? ' *) or a closing
 *     ')' ']' '}' that has no opening one in the URL.
 * Link N (from 1) is the Nth distinct target of the message in order of
 * first appearance, kept in t across calls: rewrite the HTML part first,
 * then the text part, with the same struct, and a link in both parts has
 * one number. Past TRACK_MAX_LINKS targets, links are left unwrapped.
 * A target is the URL as a browser would request it, with space,
 * controls, DEL, '"', '<' and '>' percent-encoded (other bytes, UTF-8
 * included, are kept), and with UTM parameters added when asked for.
 */
#ifndef CRM_TRACK_LINK_H
#define CRM_TRACK_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct track_link {
	/* set by the caller (zero the struct first) */
	const char *base;      /* crm-track's public URL; NULL: links are not
				  wrapped (UTM parameters only, if any) */
	const char *secret;    /* the base's secret, with base */
	int64_t msg;           /* the outbox row (messages.id) */
	const char *skip;      /* a URL left as it is (the unsubscribe URL), or NULL */
	const char *utm_source;   /* NULL: no UTM parameters */
	const char *utm_medium, *utm_campaign; /* NULL or "": that one is not added */
	/* the distinct targets so far: link N is targets[N - 1] */
	char **targets;
	size_t ntargets, cap;
};

/* Frees the targets (not the settings). */
void track_link_free(struct track_link *t);

/* Appends html (text) with its links rewritten to out; returns how many
 * links were changed. */
size_t track_link_html(struct track_link *t, struct sb *out, const char *html, size_t len);
size_t track_link_text(struct track_link *t, struct sb *out, const char *text, size_t len);

/* Appends html with the open pixel of row msg, an
 * <img src="BASE/o/TOKEN.gif" width="1" height="1" alt="" style="...">,
 * before the last </body> (any case), else at the end (before a final
 * line end). */
void track_link_pixel(struct sb *out, const char *html, size_t len, const char *base,
		      const char *secret, int64_t msg);

/* Appends url with utm_source, utm_medium and utm_campaign (each when not
 * NULL or "", percent-encoded) added to its query unless it has that
 * parameter already, before any #fragment. */
void track_link_utm(struct sb *out, const char *url, size_t len, const char *source,
		    const char *medium, const char *campaign);

/* Appends s with HTML character references decoded (the ones above;
 * others are kept as written; a number that is no character gives
 * U+FFFD). */
void track_link_unescape(struct sb *out, const char *s, size_t len);

#endif
