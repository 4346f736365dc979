/*
 * The pages crm-track shows a person: the unsubscribe confirmation and
 * preference centre behind a message's List-Unsubscribe link. Small and
 * self-contained: no script, no style sheet or font from elsewhere, every
 * text escaped. The forms post back to the same URL (its token is the
 * authority), and a GET never changes anything: mail scanners fetch
 * every link.
 */
#include "track_int.h"

#include <string.h>


static void head(struct sb *out, const char *title)
{
	sb_adds(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
		"<meta name=\"robots\" content=\"noindex\"><title>");
	sb_add_html(out, title);
	sb_adds(out, "</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:34em;"
		"margin:3em auto;padding:0 1em;color:#222}button{font:inherit;padding:.4em 1.2em;"
		"margin:.6em 0}.note{background:#eef6ee;padding:.6em 1em;border-radius:4px}"
		"label{display:block;margin:.3em 0}</style></head><body>\n");
}

void track_page_simple(struct sb *out, const char *title, const char *text)
{
	head(out, title);
	sb_adds(out, "<h1>");
	sb_add_html(out, title);
	sb_adds(out, "</h1>\n<p>");
	sb_add_html(out, text);
	sb_adds(out, "</p>\n</body></html>\n");
}

void track_page(struct sb *out, const struct track *t, const char *channel, int unsubscribed,
		const int *granted, const char *note)
{
	size_t n = strlen(channel), shown = 0;

	head(out, "Your subscription");
	sb_adds(out, "<h1>Your subscription</h1>\n");
	if (note) {
		sb_adds(out, "<p class=\"note\" role=\"status\">");
		sb_add_html(out, note);
		sb_adds(out, "</p>\n");
	}
	sb_adds(out, "<p>");
	sb_add_html(out, !strcmp(channel, "email") ? "E-mail" : !strcmp(channel, "sms") ?
		       "Text messages" : channel);
	sb_adds(out, " from ");
	sb_add_html(out, t->name);
	sb_adds(out, ".</p>\n<form method=\"post\" action=\"\">\n");
	if (unsubscribed) {
		sb_adds(out, "<p>You are unsubscribed.</p>\n"
			"<button name=\"action\" value=\"resubscribe\">Subscribe again</button>\n");
	} else {
		sb_adds(out, "<button name=\"action\" value=\"unsubscribe\">Unsubscribe from all"
			"</button>\n");
	}
	sb_adds(out, "</form>\n");
	for (size_t i = 0; i < t->ntopics && i < 64; i++) {
		const struct topic *tp = &t->topics[i];
		if (strncmp(tp->name, channel, n) || tp->name[n] != ':')
			continue;
		if (!shown++)
			sb_adds(out, "<h2>What you receive</h2>\n<form method=\"post\" action=\"\">\n");
		sb_adds(out, "<label><input type=\"checkbox\" name=\"topic\" value=\"");
		sb_add_html(out, tp->name);
		sb_adds(out, granted[i] ? "\" checked> " : "\"> ");
		sb_add_html(out, tp->label);
		sb_adds(out, "</label>\n");
	}
	if (shown)
		sb_adds(out, "<button name=\"action\" value=\"save\">Save preferences</button>\n"
			"</form>\n");
	sb_adds(out, "</body></html>\n");
}
