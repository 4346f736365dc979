/*
 * crm-report - what the base and the campaigns earned: summary, campaign
 * uplift against control groups, cohorts, RFM, LTV, budget, products, the
 * customer card, deliverability, exports and an HTML page. The reports are
 * lib/report*.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm.h"
#include "db.h"
#include "diag.h"
#include "norm.h"
#include "opt.h"
#include "report.h"
#include "util.h"

static struct report_opts ro = { .margin = 0.3, .share = 0.1, .periods = 12,
				  .seed = REPORT_SEED_DEFAULT };
static const char *window = "7d", *attribution, *by, *since, *until, *margin, *share, *seed,
	*bootstrap;
static long periods = -1, top = -1, limit = -1;

static const struct opt options[] = {
	OPT_STRING_('s', "segment", &ro.segment, "NAME", "only the members of the saved segment NAME"),
	OPT_STRING_(0, "where", &ro.where, "EXPR",
		    "only the customers matching EXPR (the crm-segment language)"),
	OPT_STRING_(0, "currency", &ro.currency, "CODE",
		    "report money in CODE (default: that of most orders)"),
	OPT_STRING_(0, "window", &window, "DURATION",
		    "campaign: orders this long after a message convert (default 7d)"),
	OPT_STRING_(0, "attribution", &attribution, "view|click",
		    "campaign: any order in the window (view, default) or after a click"),
	OPT_FLAG_(0, "links", &ro.links,
		  "campaign: the click map, a row per link: URL, a person's clicks and clickers, "
		  "machine clicks"),
	OPT_STRING_(0, "bootstrap", &bootstrap, "N",
		    "campaign(s): a percentile bootstrap interval of revenue per recipient too, "
		    "N resamples (100 to 100000; 0 none)"),
	OPT_STRING_(0, "seed", &seed, "S",
		    "campaign(s): seed of --bootstrap (default " REPORT_SEED_DEFAULT_S
		    "): the same seed, the same interval"),
	OPT_STRING_(0, "by", &by, "KEY",
		    "cohorts: month or week; ltv: segment, cohort, city, category or attr.NAME; "
		    "products: product or category; holdout: frequency, period or run; "
		    "loyalty: month, tier or member; "
		    "deliverability: campaign, domain, week or a list of them (campaign,domain)"),
	OPT_STRING_(0, "metric", &ro.metric, "NAME", "cohorts: retention, revenue or customers"),
	OPT_INT_(0, "periods", &periods, "N", "cohorts: the first N periods (default 12; 0 all)"),
	OPT_STRING_(0, "margin", &margin, "RATE", "budget: profit margin (default 0.3)"),
	OPT_STRING_(0, "share", &share, "RATE",
		    "budget: share of the profit spent on CRM (default 0.1)"),
	OPT_STRING_(0, "since", &since, "TIME",
		    "export: rows from TIME on; deliverability: messages sent from TIME on"),
	OPT_STRING_(0, "until", &until, "TIME", "deliverability: messages sent before TIME"),
	OPT_STRING_(0, "campaign", &ro.campaign, "NAME", "deliverability: only campaign NAME"),
	OPT_INT_(0, "top", &top, "N",
		 "deliverability --by domain: the N domains with most messages, the rest as (other)"),
	OPT_INT_(0, "limit", &limit, "N",
		 "products: the N products (categories) with most revenue (default: all)"),
	OPT_FLAG_(0, "raw", &ro.raw, "CSV/TSV: leave cells starting with = + - @ as they are"),
	OPT_STRING_('o', "output", &ro.output, "FILE",
		    "write to FILE (created 0600; csv unless -f says otherwise)"),
	OPT_STRING_(0, "html", &ro.html, "FILE",
		    "write one self-contained HTML page with charts to FILE (0600)"),
	OPT_END_(),
};

static const struct opt_cmd cmd = {
	.usage = "[options] summary\n"
		 "[options] campaign NAME [--window 7d] [--attribution view|click]"
		 " [--bootstrap N [--seed S]]\n"
		 "[options] campaign NAME --links\n"
		 "[options] campaigns [--bootstrap N [--seed S]]\n"
		 "[options] cohorts [--by month|week] [--metric retention|revenue|customers]\n"
		 "[options] rfm\n"
		 "[options] ltv [--by segment|cohort|city|category|attr.NAME]\n"
		 "[options] products [--by product|category] [--limit N]\n"
		 "[options] customer ID|EMAIL|PHONE\n"
		 "[options] budget [--margin 0.3] [--share 0.1]\n"
		 "[options] holdout [--by frequency|period|run]\n"
		 "[options] loyalty [--by month|tier|member]\n"
		 "[options] uplift [NAME] [--by decile|qini|feature]\n"
		 "[options] deliverability [--by campaign|domain|week[,...]] [--campaign NAME]"
		 " [--since TIME] [--until TIME] [--top N]\n"
		 "[options] export customers|orders|events|consents|messages|inbound [--since TIME]\n"
		 "[options] --html FILE [campaign NAME]\n"
		 "[options] check",
	.summary = "Report what the customers and the campaigns earned, from the database\n"
		   "(read only): money in major units, per currency or in one (--currency).",
	.opts = options,
	.common = OPT_COMMON_DB | OPT_COMMON_FORMAT | OPT_COMMON_NOW,
	.more = "Examples:\n"
		"  crm-report summary\n"
		"  crm-report campaign winback-2026-11 --window 14d\n"
		"  crm-report cohorts --by month --metric retention --periods 0 -f csv\n"
		"  crm-report ltv --by city --where 'country = \"RU\"'\n"
		"  crm-report products --by category --limit 10 --currency RUB\n"
		"  crm-report customer ann@example.com\n"
		"  crm-report holdout --by period -f csv   # after crm-score clv --holdout-end\n"
		"  crm-report uplift spring --by decile   # after crm-score uplift --campaign spring\n"
		"  crm-report deliverability --by domain --top 10 --since 2026-11-01\n"
		"  crm-report export orders --since 2026-11-01 -o orders.csv\n"
		"  crm-report --html report.html\n"
		"  crm-report check          # PRAGMA integrity_check: ok, or the damage and exit 1\n",
};

static int parse_rate(const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s)
		return -1;
	if (!strcmp(end, "%"))
		v /= 100;
	else if (*end)
		return -1;
	if (!(v >= 0 && v <= 1))
		return -1;
	*out = v;
	return 0;
}

/* A time option, normalised into buf ("YYYY-MM-DD HH:MM:SS", UTC). */
static const char *parse_time(const char *opt, const char *s, char buf[20])
{
	struct norm_opts no = { 0 };
	const char *why;
	int64_t t;

	if (norm_time(s, strlen(s), &no, &t, &why) < 0)
		opt_usage_error(&cmd, "invalid %s \"%s\": %s", opt, s, why);
	norm_fmt_time(t, buf);
	return buf;
}

static const char *const subs[] = {
	"summary", "campaign", "campaigns", "cohorts", "rfm", "ltv", "products", "customer",
	"budget", "holdout", "loyalty", "uplift", "deliverability", "export", "check", NULL,
};

int cmd_main(int argc, char **argv)
{
	struct crm crm = { 0 };
	struct report r;
	const char *sub, *arg = NULL;
	char code[4], sincebuf[20], untilbuf[20];
	int first, nargs, rc, i;

	first = opt_parse(&crm, &cmd, argc, argv);
	nargs = argc - first;
	if (nargs == 0 && !ro.html)
		opt_usage_error(&cmd, "a report is needed: summary, campaign NAME, campaigns, cohorts,"
				" rfm, ltv, products, customer ID, budget, holdout, loyalty, uplift,"
				" deliverability, export TABLE or check");
	sub = nargs ? argv[first] : "summary";
	for (i = 0; subs[i] && strcmp(subs[i], sub); i++)
		;
	if (!subs[i]) {
		const char *sug = str_suggest(sub, subs);
		if (sug)
			opt_usage_error(&cmd, "unknown report \"%s\"; did you mean \"%s\"?", sub, sug);
		opt_usage_error(&cmd, "unknown report \"%s\"", sub);
	}
	if (!strcmp(sub, "campaign") || !strcmp(sub, "customer") || !strcmp(sub, "export")) {
		if (nargs != 2)
			opt_usage_error(&cmd, "%s needs one %s", sub,
					!strcmp(sub, "campaign") ? "campaign NAME" :
					!strcmp(sub, "customer") ? "ID, e-mail or phone" : "TABLE");
		arg = argv[first + 1];
	} else if (!strcmp(sub, "uplift") && nargs == 2) {
		arg = argv[first + 1];
	} else if (nargs > 1) {
		opt_usage_error(&cmd, "%s takes no operand, got \"%s\"", sub, argv[first + 1]);
	}
	if (ro.html && strcmp(sub, "summary") && strcmp(sub, "campaign"))
		opt_usage_error(&cmd, "--html writes the whole page: give no report, or campaign NAME");
	if (ro.html && ro.output)
		opt_usage_error(&cmd, "--html and -o are two outputs: give one");

	/* options that belong to one report */
	if ((strcmp(window, "7d") || attribution) && strcmp(sub, "campaign") &&
	    strcmp(sub, "campaigns") && !ro.html)
		opt_usage_error(&cmd, "--window and --attribution go with campaign and campaigns");
	if ((bootstrap || seed) && ((strcmp(sub, "campaign") && strcmp(sub, "campaigns")) ||
				    (ro.html && !arg)))
		opt_usage_error(&cmd, "--bootstrap and --seed go with campaign NAME and campaigns");
	if (ro.links && (strcmp(sub, "campaign") || ro.html))
		opt_usage_error(&cmd, "--links goes with campaign NAME (the --html page has the click map)");
	if (ro.links && (bootstrap || attribution || strcmp(window, "7d")))
		opt_usage_error(&cmd, "--links prints the click map: no --window, --attribution or --bootstrap");
	if (seed && !bootstrap)
		opt_usage_error(&cmd, "--seed goes with --bootstrap N");
	if (by && strcmp(sub, "cohorts") && strcmp(sub, "ltv") && strcmp(sub, "deliverability") &&
	    strcmp(sub, "products") && strcmp(sub, "holdout") && strcmp(sub, "loyalty") &&
	    strcmp(sub, "uplift"))
		opt_usage_error(&cmd, "--by goes with cohorts, ltv, products, holdout, loyalty, uplift"
				" and deliverability");
	if (!strcmp(sub, "holdout") && (ro.segment || ro.where || ro.currency))
		opt_usage_error(&cmd, "holdout shows the validation of the whole base that crm-score "
				"clv --holdout-end made: no --segment, --where or --currency");
	if (limit != -1 && strcmp(sub, "products"))
		opt_usage_error(&cmd, "--limit goes with products");
	if (limit != -1 && limit < 1)
		opt_usage_error(&cmd, "--limit needs a number of products >= 1");
	if (limit > 0)
		ro.limit = limit;
	if ((ro.metric || periods != -1) && strcmp(sub, "cohorts"))
		opt_usage_error(&cmd, "--metric and --periods go with cohorts");
	if ((margin || share) && strcmp(sub, "budget"))
		opt_usage_error(&cmd, "--margin and --share go with budget");
	if (since && strcmp(sub, "export") && strcmp(sub, "deliverability"))
		opt_usage_error(&cmd, "--since goes with export and deliverability");
	if ((until || ro.campaign || top != -1) && strcmp(sub, "deliverability"))
		opt_usage_error(&cmd, "--until, --campaign and --top go with deliverability");
	if ((ro.segment || ro.where) && !strcmp(sub, "customer"))
		opt_usage_error(&cmd, "customer shows one customer: no --segment or --where");
	if ((ro.segment || ro.where || ro.currency || ro.output || ro.raw) && !strcmp(sub, "check"))
		opt_usage_error(&cmd, "check looks at the whole file and prints to standard output: "
				"no --segment, --where, --currency, --raw or -o");

	{
		int64_t secs;
		const char *why;
		if (norm_duration(window, strlen(window), &secs, &why) < 0 || secs <= 0)
			opt_usage_error(&cmd, "invalid --window \"%s\" (a duration such as 7d, 48h, 2w)",
					window);
		ro.window = secs;
	}
	if (attribution) {
		if (!strcmp(attribution, "click"))
			ro.click = 1;
		else if (strcmp(attribution, "view"))
			opt_usage_error(&cmd, "invalid --attribution \"%s\" (view or click)", attribution);
	}
	if (by && !strcmp(sub, "deliverability")) {
		int n = report_deliv_by(by, ro.deliv_by);
		if (n < 0)
			opt_usage_error(&cmd, "invalid --by \"%s\" for deliverability (campaign, domain, "
					"week, or a list of them such as campaign,domain)", by);
		ro.ndeliv_by = (size_t)n;
	} else if (by && !strcmp(sub, "cohorts")) {
		if (!strcmp(by, "week"))
			ro.by_week = 1;
		else if (strcmp(by, "month"))
			opt_usage_error(&cmd, "invalid --by \"%s\" for cohorts (month or week)", by);
	} else if (by && !strcmp(sub, "loyalty")) {
		if (strcmp(by, "month") && strcmp(by, "tier") && strcmp(by, "member"))
			opt_usage_error(&cmd, "invalid --by \"%s\" for loyalty (month, tier or member)", by);
		ro.by = by;
	} else if (by && !strcmp(sub, "uplift")) {
		if (strcmp(by, "decile") && strcmp(by, "qini") && strcmp(by, "feature"))
			opt_usage_error(&cmd, "invalid --by \"%s\" for uplift (decile, qini or feature)",
					by);
		ro.by = by;
	} else if (by && !strcmp(sub, "holdout")) {
		if (strcmp(by, "frequency") && strcmp(by, "period") && strcmp(by, "run"))
			opt_usage_error(&cmd, "invalid --by \"%s\" for holdout (frequency, period or run)",
					by);
		ro.by = by;
	} else if (by && !strcmp(sub, "products")) {
		if (strcmp(by, "product") && strcmp(by, "category"))
			opt_usage_error(&cmd, "invalid --by \"%s\" for products (product or category)",
					by);
		ro.by = by;
	} else if (by) {
		if (strcmp(by, "segment") && strcmp(by, "cohort") && strcmp(by, "city") &&
		    strcmp(by, "category") && !(strncmp(by, "attr.", 5) == 0 && by[5]))
			opt_usage_error(&cmd, "invalid --by \"%s\" for ltv (segment, cohort, city, "
					"category or attr.NAME)", by);
		ro.by = by;
	}
	if (ro.metric && strcmp(ro.metric, "retention") && strcmp(ro.metric, "revenue") &&
	    strcmp(ro.metric, "customers"))
		opt_usage_error(&cmd, "invalid --metric \"%s\" (retention, revenue or customers)",
				ro.metric);
	if (bootstrap) {
		int64_t v;
		if (parse_int64(bootstrap, &v) < 0 ||
		    (v != 0 && (v < REPORT_BOOTSTRAP_MIN || v > REPORT_BOOTSTRAP_MAX)))
			opt_usage_error(&cmd, "invalid --bootstrap \"%s\": 0 (none) or %d to %d "
					"resamples (1000 is usual)", bootstrap, REPORT_BOOTSTRAP_MIN,
					REPORT_BOOTSTRAP_MAX);
		ro.bootstrap = (long)v;
	}
	if (seed) {
		int64_t v;
		if (parse_int64(seed, &v) < 0 || v < 0)
			opt_usage_error(&cmd, "invalid --seed \"%s\" (a whole number from 0)", seed);
		ro.seed = (uint64_t)v;
	}
	if (periods < -1)
		opt_usage_error(&cmd, "--periods needs a number >= 0");
	if (periods >= 0)
		ro.periods = periods;
	if (margin && parse_rate(margin, &ro.margin) < 0)
		opt_usage_error(&cmd, "invalid --margin \"%s\" (a rate from 0 to 1, or a percentage)",
				margin);
	if (share && parse_rate(share, &ro.share) < 0)
		opt_usage_error(&cmd, "invalid --share \"%s\" (a rate from 0 to 1, or a percentage)",
				share);
	if (ro.currency) {
		int exp;
		const char *why;
		if (norm_currency(ro.currency, strlen(ro.currency), code, &exp, &why) < 0)
			opt_usage_error(&cmd, "invalid --currency \"%s\": %s", ro.currency, why);
		ro.currency = code;
	}
	if (top != -1) {
		int dom = 0;
		for (size_t k = 0; k < ro.ndeliv_by; k++)
			dom |= ro.deliv_by[k] == REPORT_BY_DOMAIN;
		if (top < 1)
			opt_usage_error(&cmd, "--top needs a number of domains >= 1");
		if (!dom)
			opt_usage_error(&cmd, "--top goes with --by domain");
		ro.top = top;
	}
	if (since)
		ro.since = parse_time("--since", since, sincebuf);
	if (until) {
		ro.until = parse_time("--until", until, untilbuf);
		if (ro.since && strcmp(ro.since, ro.until) >= 0)
			opt_usage_error(&cmd, "--since %s is not before --until %s: no message is sent "
					"in between", ro.since, ro.until);
	}

	db_open(&crm, DB_READ);
	if (!strcmp(sub, "check")) {
		rc = db_check(crm.db, stdout);
		db_close(&crm);
		return rc;
	}
	if ((rc = report_open(&r, &crm, &ro)) == 0) {
		if (ro.html)
			rc = report_html(&r, arg);
		else if (!strcmp(sub, "summary"))
			rc = report_summary(&r);
		else if (!strcmp(sub, "campaign"))
			rc = report_campaign(&r, arg);
		else if (!strcmp(sub, "campaigns"))
			rc = report_campaigns(&r);
		else if (!strcmp(sub, "cohorts"))
			rc = report_cohorts(&r);
		else if (!strcmp(sub, "rfm"))
			rc = report_rfm(&r);
		else if (!strcmp(sub, "ltv"))
			rc = report_ltv(&r);
		else if (!strcmp(sub, "products"))
			rc = report_products(&r);
		else if (!strcmp(sub, "customer"))
			rc = report_customer(&r, arg);
		else if (!strcmp(sub, "budget"))
			rc = report_budget(&r);
		else if (!strcmp(sub, "holdout"))
			rc = report_holdout(&r);
		else if (!strcmp(sub, "loyalty"))
			rc = report_loyalty(&r);
		else if (!strcmp(sub, "uplift"))
			rc = report_uplift(&r, arg);
		else if (!strcmp(sub, "deliverability"))
			rc = report_deliverability(&r);
		else
			rc = report_export(&r, arg);
	}
	if (report_close(&r) && !rc)
		rc = 1;
	db_close(&crm);
	return rc;
}
