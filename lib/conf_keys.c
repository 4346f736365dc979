/*
 * conf_keys.c - the one registry of the sections and keys crm.conf may
 * hold, and the check of a loaded file against it (conf.h). A name the
 * registry does not know is most often a typo that would otherwise be
 * ignored silently ("form" for "from"), so each is reported with the
 * closest known name.
 *
 * A section or key ending in ".*" stands for any name after its stem
 * ([hook.ses], event.review); a key list of just "*" means the keys are
 * free-form (a channel's keys come from its preset in share/providers,
 * a callback's from share/hooks, a topic's are its names).
 */
#include "conf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "util.h"

int conf_strict;

static const char *const any[] = { "*", NULL };

static const char *const k_smtp[] = {
	"url", "user", "password", "password_env", "starttls", "insecure", "ca_file", "timeout",
	"max_messages_per_connection", NULL,
};
static const char *const k_email[] = {
	"from", "envelope_from", "message_id_domain", "verp", NULL,
};
static const char *const k_unsub[] = { "url", "mailto", NULL };
static const char *const k_tracking[] = {
	"url", "opens", "utm", "utm_source", "name", "machine_seconds", "listen",
	"trusted_proxies", NULL,
};
static const char *const k_bounces[] = { "max_age", "soft_limit", "soft_days", NULL };
static const char *const k_orders[] = { "purchase", "other", "refund", NULL };
static const char *const k_loyalty[] = {
	"earn", "point_value", "currency", "pending", "expire", "welcome", "birthday",
	"start", "members", "tiers", "tier_multiplier", "tier_review", "event.*",
	"category.*", NULL,
};
static const char *const k_dkim[] = {
	"domain", "selector", "key_file", "headers", "dmarc_rua", "selector.*", "key_file.*",
	NULL,
};
static const char *const k_collector[] = { "token", "token_env", "kinds", "rate", NULL };

static const struct section {
	const char *name;
	const char *const *keys;
	/* the program whose reader refuses an unknown key of this section
	 * itself (an error naming file and line): there the load leaves it
	 * to the reader, so that one key gets one message */
	const char *reader;
} sections[] = {
	{ "smtp", k_smtp, NULL },
	{ "email", k_email, NULL },
	{ "unsubscribe", k_unsub, NULL },
	{ "tracking", k_tracking, NULL },
	{ "bounces", k_bounces, NULL },
	{ "orders", k_orders, NULL },
	{ "loyalty", k_loyalty, "crm-loyalty" },
	{ "dkim", k_dkim, "crm-send" },
	/* the HTTP channels of crm-send: keys of their preset */
	{ "sms", any, NULL },
	{ "push", any, NULL },
	{ "telegram", any, NULL },
	{ "whatsapp", any, NULL },
	{ "viber", any, NULL },
	{ "webhook", any, NULL },
	/* crm-track */
	{ "hook.*", any, NULL },
	{ "collector.*", k_collector, NULL },
	{ "topics.*", any, NULL },
};

/* Does name match pattern ("x", "x.*" or "*"), without case? */
static int match(const char *pattern, const char *name)
{
	size_t n = strlen(pattern);

	if (!strcmp(pattern, "*"))
		return 1;
	if (n > 2 && !strcmp(pattern + n - 2, ".*"))
		return !ascii_ncasecmp(pattern, name, n - 1) && name[n - 1];
	return !ascii_casecmp(pattern, name);
}

/*
 * The closest of the patterns to word, in buf: a plain name as it is; a
 * "stem.*" pattern when word has a stem close to it, with word's own
 * tail ("hooks.ses" -> "hook.ses"). NULL when none is close enough.
 */
static const char *suggest(const char *word, const char *const *pats, char *buf, size_t size)
{
	const char *plain[64], *stems[16], *s;
	char stem[64], lower[128];
	size_t np = 0, ns = 0, i;
	const char *dot;

	/* case does not count in names: compare in lower case */
	for (i = 0; word[i] && i + 1 < sizeof(lower); i++)
		lower[i] = (char)ascii_lower((unsigned char)word[i]);
	lower[i] = 0;
	word = lower;
	for (i = 0; pats[i]; i++) {
		size_t n = strlen(pats[i]);
		if (!strcmp(pats[i], "*"))
			continue;
		if (n > 2 && !strcmp(pats[i] + n - 2, ".*")) {
			if (ns < ARRAY_SIZE(stems))
				stems[ns++] = pats[i];
		} else if (np + 1 < ARRAY_SIZE(plain)) {
			plain[np++] = pats[i];
		}
	}
	plain[np] = NULL;
	if ((dot = strchr(word, '.')) && dot[1] && (size_t)(dot - word) < sizeof(stem)) {
		const char *names[ARRAY_SIZE(stems) + 1];
		char own[ARRAY_SIZE(stems)][64];
		snprintf(stem, sizeof(stem), "%.*s", (int)(dot - word), word);
		for (i = 0; i < ns; i++) {
			snprintf(own[i], sizeof(own[i]), "%.*s", (int)(strlen(stems[i]) - 2),
				 stems[i]);
			names[i] = own[i];
		}
		names[ns] = NULL;
		if ((s = str_suggest(stem, names))) {
			snprintf(buf, size, "%s%s", s, dot);
			return buf;
		}
	}
	if ((s = str_suggest(word, plain))) {
		snprintf(buf, size, "%s", s);
		return buf;
	}
	return NULL;
}

static const struct section *find_section(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(sections); i++)
		if (match(sections[i].name, name))
			return &sections[i];
	return NULL;
}

int conf_key_known(const char *section, const char *key)
{
	const struct section *s = find_section(section);

	if (!s)
		return 0;
	for (size_t i = 0; s->keys[i]; i++)
		if (match(s->keys[i], key))
			return 1;
	return 0;
}

const char *conf_key_suggest(const char *section, const char *key, char *buf, size_t size)
{
	const struct section *s = find_section(section);

	return s ? suggest(key, s->keys, buf, size) : NULL;
}

/* "; did you mean \"NAME\"?" after a message, or "" */
static void hint(char *out, size_t size, const char *s)
{
	if (s)
		snprintf(out, size, "; did you mean \"%s\"?", s);
	else
		out[0] = 0;
}

int conf_check(const struct conf *c, int strict)
{
	const char *names[ARRAY_SIZE(sections) + 1];
	const char *sec, *key, *val;
	char buf[160], h[200];
	int bad = 0;

	for (size_t i = 0; i < ARRAY_SIZE(sections); i++)
		names[i] = sections[i].name;
	names[ARRAY_SIZE(sections)] = NULL;
	for (size_t i = 0; conf_next(c, &i, &sec, &key, &val);) {
		const struct section *s = find_section(sec);
		int line = conf_line(c, sec, key);

		if (!s) {
			/* one message per section, at its header */
			const char *s2, *k2, *v2;
			size_t j = 0;
			int seen = 0;
			while (j + 1 < i && conf_next(c, &j, &s2, &k2, &v2))
				seen |= !ascii_casecmp(s2, sec);
			if (seen)
				continue;
			line = conf_section_line(c, sec);
			hint(h, sizeof(h), suggest(sec, names, buf, sizeof(buf)));
			if (strict)
				crm_error_at(conf_name(c), line, "unknown section [%s]%s", sec, h);
			else
				crm_warn_at(conf_name(c), line, "unknown section [%s]%s", sec, h);
			bad++;
			continue;
		}
		if (conf_key_known(sec, key))
			continue;
		if (!strict && s->reader && !strcmp(s->reader, crm_progname))
			continue;
		hint(h, sizeof(h), suggest(key, s->keys, buf, sizeof(buf)));
		if (strict)
			crm_error_at(conf_name(c), line, "unknown key \"%s\" in [%s]%s", key, sec, h);
		else
			crm_warn_at(conf_name(c), line, "unknown key \"%s\" in [%s]%s", key, sec, h);
		bad++;
	}
	if (bad && strict)
		crm_error("%s: %d unknown name%s, and --strict: nothing done", conf_name(c), bad,
			  bad == 1 ? "" : "s");
	return bad;
}
