/*
 * crm-send - deliver a personalised message of a campaign to each
 * recipient, exactly once or honestly in doubt. The engine is lib/send.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "crm.h"
#include "db.h"
#include "diag.h"
#include "dkim.h"
#include "norm.h"
#include "opt.h"
#include "send.h"
#include "util.h"

static struct send_opts so = {
	.control_pct = -1, .quiet_from = -1, .quiet_to = -1, .backoff = 2.0,
	.max_wait = 120.0, .max_attempts = 8, .limit = -1,
};
static const char *tmpl_path, *control, *cap, *cap_policy, *quiet, *rate, *backoff, *max_wait;
static const char *consent, *check_dns;
static long max_attempts = 8, limit = -1, concurrency = 1;
static int no_consent;

static int add_variant(const char *arg, void *data)
{
	const char *eq = strchr(arg, '='), *colon;
	struct send_variant *v;
	char *end;

	(void)data;
	if (!eq || eq == arg || !eq[1])
		return -1;
	if (so.nvariants == SEND_MAX_VARIANTS)
		return -1;
	v = &so.variant[so.nvariants++];
	v->name = xstrndup(arg, (size_t)(eq - arg));
	colon = strrchr(eq + 1, ':');
	v->weight = 1;
	if (colon && colon[1] && strspn(colon + 1, "0123456789.") == strlen(colon + 1)) {
		v->weight = strtod(colon + 1, &end);
		if (*end || !(v->weight > 0))
			return -1;
		v->path = xstrndup(eq + 1, (size_t)(colon - eq - 1));
	} else {
		v->path = eq + 1;
	}
	return 0;
}

static const struct opt options[] = {
	OPT_STRING_(0, "campaign", &so.campaign, "NAME", "the campaign (one message per customer, ever)"),
	OPT_STRING_(0, "channel", &so.channel, "CH",
		    "email, sms, push, telegram, whatsapp, viber, webhook or file"),
	OPT_STRING_(0, "template", &tmpl_path, "FILE", "the message template"),
	OPT_CALL_(0, "variant", NULL, "NAME=FILE[:W]",
		  "an A/B variant with weight W (default 1); repeat", add_variant),
	OPT_STRING_(0, "segment", &so.segment, "NAME", "send to the saved segment NAME"),
	OPT_FLAG_(0, "retry", &so.retry, "continue the campaign: no new recipients"),
	OPT_FLAG_(0, "resend-in-doubt", &so.resend_in_doubt,
		  "send again the messages that may not have been delivered"),
	OPT_STRING_(0, "control", &control, "P%", "keep P percent as a control group (not sent)"),
	OPT_STRING_(0, "cap", &cap, "N/DUR", "at most N messages per customer on the channel in DUR"),
	OPT_STRING_(0, "cap-policy", &cap_policy, "POLICY",
		    "over the cap: defer (until the cap allows it; default) or drop"),
	OPT_STRING_(0, "quiet-hours", &quiet, "HH:MM-HH:MM",
		    "defer messages in these hours of the customer's time zone"),
	OPT_STRING_(0, "consent", &consent, "CH", "the consent needed: a channel or a topic (email:news; default: the channel)"),
	OPT_FLAG_(0, "no-consent", &no_consent, "with --channel file: check no consent"),
	OPT_FLAG_(0, "transactional", &so.transactional,
		  "not marketing: skip the consent check (never unsubscribes, erasures, bounces)"),
	OPT_STRING_(0, "rate", &rate, "N/s", "send at most N messages per second"),
	OPT_INT_(0, "concurrency", &concurrency, "N",
		 "transmit over N connections at once (e-mail, HTTP; default 1)"),
	OPT_STRING_(0, "backoff", &backoff, "DUR", "first retry delay, doubled each time (default 2s)"),
	OPT_STRING_(0, "max-wait", &max_wait, "DUR",
		    "wait at most this long for a retry within the run (default 2min)"),
	OPT_INT_(0, "max-attempts", &max_attempts, "N", "give up after N attempts (default 8)"),
	OPT_INT_(0, "limit", &limit, "N", "transmit at most N messages in this run"),
	OPT_STRING_('o', "output", &so.output, "FILE", "with --channel file: where (default stdout)"),
	OPT_FLAG_(0, "mbox", &so.mbox, "with --channel file: an mbox of RFC 5322 messages"),
	OPT_STRING_(0, "coupons", &so.coupons, "POOL",
		    "the pool {{coupon}} takes promo codes from (crm-import coupons)"),
	OPT_FLAG_(0, "no-track", &so.no_track,
		  "e-mail: no click redirects or open pixel ([tracking] in crm.conf)"),
	OPT_STRING_(0, "check-dns", &check_dns, "DOMAIN",
		    "print the DKIM, SPF and DMARC records to publish for DOMAIN ([dkim]), send nothing"),
	OPT_END_(),
};

static const struct opt_cmd cmd = {
	.usage = "--campaign NAME --channel CH --template FILE [options] [RECIPIENTS...]\n"
		 "--campaign NAME --channel CH --template FILE --segment NAME [options]\n"
		 "--campaign NAME --channel CH --template FILE --retry [options]\n"
		 "--check-dns DOMAIN [--config FILE]",
	.summary = "Send the campaign's message to each recipient (rows from crm-segment or any\n"
		   "CSV/JSON lines with an id, email or phone column; standard input without\n"
		   "RECIPIENTS), once per customer ever, and print one result line each.",
	.opts = options,
	.common = OPT_COMMON_DB | OPT_COMMON_FORMAT | OPT_COMMON_NOW | OPT_COMMON_CONFIG |
		  OPT_COMMON_DRY_RUN,
	.more = "Examples:\n"
		"  crm-segment -s lapsed |\n"
		"    crm-send --campaign winback-2026-11 --channel email --template winback.tmpl --control 10%\n"
		"  crm-send --campaign winback-2026-11 --channel email --template winback.tmpl --retry\n"
		"  crm-send -n --campaign test --channel file --template welcome.tmpl < ids.csv\n",
};

static double parse_dur(const char *what, const char *s)
{
	int64_t secs;
	const char *why;
	char *end;
	double d = strtod(s, &end);

	if (end != s && !*end && d >= 0)
		return d;
	if (norm_duration(s, strlen(s), &secs, &why) < 0)
		opt_usage_error(&cmd, "invalid %s \"%s\": %s", what, s, why);
	return (double)secs;
}

static int parse_hhmm(const char *s, size_t n)
{
	int h, m;
	char buf[8];

	if (n != 5 || s[2] != ':')
		return -1;
	memcpy(buf, s, 5);
	buf[5] = 0;
	if (sscanf(buf, "%2d:%2d", &h, &m) != 2 || h < 0 || h > 24 || m < 0 || m > 59 ||
	    (h == 24 && m))
		return -1;
	return h * 60 + m;
}

int cmd_main(int argc, char **argv)
{
	struct crm crm = { 0 };
	char *stdin_only[] = { "-", NULL };
	int first, rc;

	first = opt_parse(&crm, &cmd, argc, argv);
	if (check_dns) {
		struct conf *c;
		if (so.campaign || so.channel || tmpl_path || so.nvariants || first < argc)
			opt_usage_error(&cmd, "--check-dns DOMAIN takes no campaign, template or recipients");
		c = conf_load(&crm);
		rc = dkim_check_dns(c, check_dns, stdout);
		conf_free(c);
		return rc;
	}
	if (!so.campaign || !so.channel)
		opt_usage_error(&cmd, "--campaign and --channel are needed");
	if (!tmpl_path && !so.nvariants)
		opt_usage_error(&cmd, "--template FILE (or --variant NAME=FILE) is needed");
	if (tmpl_path && so.nvariants)
		opt_usage_error(&cmd, "give --template or --variant, not both");
	if (tmpl_path) {
		so.variant[0] = (struct send_variant){ "", tmpl_path, 1 };
		so.nvariants = 1;
	}
	if (so.segment && first < argc)
		opt_usage_error(&cmd, "--segment and RECIPIENTS files cannot be combined");
	if (so.retry && (so.segment || first < argc))
		opt_usage_error(&cmd, "--retry continues a campaign: no recipients");
	so.inputs = first < argc ? argv + first : stdin_only;
	if (control) {
		char *end;
		so.control_pct = strtod(control, &end);
		if (end == control || (*end && strcmp(end, "%")) || so.control_pct < 0 ||
		    so.control_pct >= 100)
			opt_usage_error(&cmd, "invalid --control \"%s\" (a percentage such as 10%%)", control);
	}
	if (cap) {
		const char *slash = strchr(cap, '/');
		char *end;
		so.cap_n = (int)strtol(cap, &end, 10);
		if (!slash || end != slash || so.cap_n < 1)
			opt_usage_error(&cmd, "invalid --cap \"%s\" (N/DURATION, such as 2/7d)", cap);
		so.cap_window = (int64_t)parse_dur("--cap", slash + 1);
	}
	if (cap_policy) {
		static const char *const policies[] = { "defer", "drop", NULL };
		const char *near = str_suggest(cap_policy, policies);
		if (strcmp(cap_policy, "defer") && strcmp(cap_policy, "drop"))
			opt_usage_error(&cmd, "invalid --cap-policy \"%s\" (defer or drop)%s%s%s",
					cap_policy, near ? "; did you mean \"" : "",
					near ? near : "", near ? "\"?" : "");
		so.cap_drop = !strcmp(cap_policy, "drop");
	}
	if (quiet) {
		const char *dash = strchr(quiet, '-');
		if (!dash || (so.quiet_from = parse_hhmm(quiet, (size_t)(dash - quiet))) < 0 ||
		    (so.quiet_to = parse_hhmm(dash + 1, strlen(dash + 1))) < 0 ||
		    so.quiet_from == so.quiet_to)
			opt_usage_error(&cmd, "invalid --quiet-hours \"%s\" (such as 21:00-09:00)", quiet);
	}
	if (rate) {
		char *end;
		so.rate = strtod(rate, &end);
		if (end == rate || (*end && strcmp(end, "/s")) || !(so.rate > 0))
			opt_usage_error(&cmd, "invalid --rate \"%s\" (such as 50/s)", rate);
	}
	if (backoff)
		so.backoff = parse_dur("--backoff", backoff);
	if (max_wait)
		so.max_wait = parse_dur("--max-wait", max_wait);
	if (max_attempts < 1)
		opt_usage_error(&cmd, "--max-attempts needs a number >= 1");
	so.max_attempts = (int)max_attempts;
	if (concurrency < 1 || concurrency > 64)
		opt_usage_error(&cmd, "--concurrency needs a number from 1 to 64");
	so.concurrency = (int)concurrency;
	so.limit = limit;
	if (consent && no_consent)
		opt_usage_error(&cmd, "--consent and --no-consent contradict each other");
	if (consent) {
		const char *why = NULL;
		int n = norm_consent_channel(consent, strlen(consent), &why);
		if (n == -1)
			opt_usage_error(&cmd, "unknown --consent channel \"%s\"", consent);
		if (n < 0)
			opt_usage_error(&cmd, "--consent \"%s\": %s", consent, why ? why : "invalid topic");
		so.consent = consent;
	} else if (!no_consent && strcmp(so.channel, "file")) {
		so.consent = so.channel;
	} else if (!no_consent) {
		opt_usage_error(&cmd, "--channel file needs --consent CH or --no-consent");
	}
	if ((so.output || so.mbox) && strcmp(so.channel, "file"))
		opt_usage_error(&cmd, "--output and --mbox go with --channel file");

	db_open(&crm, DB_WRITE);
	rc = send_run(&crm, &so);
	db_close(&crm);
	return rc;
}
