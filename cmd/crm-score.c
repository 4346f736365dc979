/*
 * crm-score - RFM scores and customer lifetime value (BG/NBD and
 * Gamma-Gamma) from the orders in the base. The runs are lib/score.c,
 * the statistics lib/score_*.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crm.h"
#include "db.h"
#include "diag.h"
#include "norm.h"
#include "opt.h"
#include "score.h"
#include "uplift.h"
#include "util.h"

static const char *as_of, *currency, *period, *horizon, *discount, *holdout_end, *penalty;
static const char *model;
static const char *window, *outcome, *as_name, *method, *rows;
static const char **campaigns;
static size_t ncampaigns;

static int add_campaign(const char *arg, void *data)
{
	campaigns = xrealloc(campaigns, (ncampaigns + 1) * sizeof(*campaigns));
	campaigns[ncampaigns++] = arg;
	return 0;
}
static long bins = -1;
static int tracking;

static const struct opt options[] = {
	OPT_STRING_(0, "as-of", &as_of, "DATE",
		    "score the orders up to DATE (a date means its end; default: --now)"),
	OPT_STRING_(0, "currency", &currency, "CODE",
		    "use the orders in this currency (needed when there are several)"),
	OPT_INT_(0, "bins", &bins, "N", "rfm: scores from 1 to N, 2 to 9 (default 5)"),
	OPT_STRING_(0, "period", &period, "UNIT",
		    "clv: time unit of the fitted parameters, week (default) or day"),
	OPT_STRING_(0, "horizon", &horizon, "DURATION",
		    "clv: how far ahead clv and expected_orders look (default 52w)"),
	OPT_STRING_(0, "discount", &discount, "RATE",
		    "clv: annual discount rate, such as 0.1 or 10% (default 10%)"),
	OPT_STRING_(0, "model", &model, "NAME",
		    "clv: the purchase model, bgnbd (default), mbgnbd, pareto, or auto (the best "
		    "by AIC, or by the holdout's error)"),
	OPT_STRING_(0, "penalty", &penalty, "L",
		    "clv: an L2 penalty L on the log-parameters, for small bases (default 0)"),
	OPT_STRING_(0, "holdout-end", &holdout_end, "DATE",
		    "clv: predict the purchases after --as-of up to DATE and compare them with "
		    "the orders (writes nothing)"),
	OPT_CALL_(0, "campaign", NULL, "NAME",
		  "uplift: learn from this campaign's treatment and control rows (repeatable)",
		  add_campaign),
	OPT_STRING_(0, "window", &window, "DURATION",
		    "uplift: how long after the message an outcome counts (default 14d)"),
	OPT_STRING_(0, "outcome", &outcome, "WHAT",
		    "uplift: converted (default) or revenue"),
	OPT_STRING_(0, "as", &as_name, "NAME",
		    "uplift: the model's name (default the first campaign's)"),
	OPT_STRING_(0, "method", &method, "NAME",
		    "uplift: tlearner, ct, or auto (default: the best by cross-validated Qini)"),
	OPT_STRING_(0, "rows", &rows, "FILE",
		    "uplift: write the rows learnt from with their out-of-fold predictions (CSV)"),
	OPT_FLAG_(0, "tracking", &tracking,
		  "clv --holdout-end: print the cumulative repeat purchases, actual and "
		  "predicted, week by week instead"),
	OPT_END_(),
};

static const struct opt_cmd cmd = {
	.usage = "[options] rfm [--bins N]\n"
		 "[options] clv [--model NAME] [--period UNIT] [--horizon DURATION] [--discount RATE]"
		 " [--penalty L]\n"
		 "[options] clv --as-of DATE --holdout-end DATE [--tracking]\n"
		 "[options] uplift --campaign NAME... [--window DURATION] [--outcome WHAT] [--as NAME]"
		 " [--method NAME] [--rows FILE]",
	.summary = "Score the customers from their completed orders: RFM quantile scores and\n"
		   "segments (rfm), or the probability that they are still customers, the\n"
		   "orders they will place and their lifetime value (clv), or how much a\n"
		   "campaign's message changes their chance to buy, learnt from past campaigns'\n"
		   "control groups (uplift). The scores are stored for crm-segment; a summary\n"
		   "is printed.",
	.opts = options,
	.common = OPT_COMMON_DB | OPT_COMMON_FORMAT | OPT_COMMON_NOW | OPT_COMMON_DRY_RUN,
	.more = "Examples:\n"
		"  crm-score rfm\n"
		"  crm-score clv --horizon 1y --discount 8%\n"
		"  crm-score clv --model auto\n"
		"  crm-score clv --as-of 1997-09-30 --holdout-end 1998-06-30\n"
		"  crm-score uplift --campaign spring --campaign summer --as promo\n"
		"  crm-segment 'rfm_segment = \"at_risk\" and clv > 100'\n"
		"  crm-segment --order-by uplift:desc --limit 5000 'uplift > 0'\n",
};

static int uplift(struct crm *crm)
{
	struct uplift_opts uo = {
		.window = 14 * 86400, .folds = 3, .seed = 0x75706c696674ULL,
		.min_group = 100, .min_events = 20,
	};
	int64_t days;
	int rc;

	if (as_of || currency || bins != -1 || period || horizon || discount || holdout_end ||
	    penalty || model || tracking)
		opt_usage_error(&cmd, "uplift takes --campaign, --window, --outcome, --as and --method");
	if (!ncampaigns)
		opt_usage_error(&cmd, "uplift needs --campaign NAME, a campaign with a control group");
	uo.campaigns = campaigns;
	uo.rows = rows;
	uo.ncampaigns = ncampaigns;
	uo.name = as_name ? as_name : campaigns[0];
	if (window) {
		if (score_parse_duration(window, &days) < 0)
			opt_usage_error(&cmd, "invalid --window \"%s\" (whole days: 7d, 2w, 30d)", window);
		uo.window = days * 86400;
	}
	if (outcome) {
		if (!strcmp(outcome, "converted"))
			uo.outcome = UPLIFT_CONVERTED;
		else if (!strcmp(outcome, "revenue"))
			uo.outcome = UPLIFT_REVENUE;
		else
			opt_usage_error(&cmd, "invalid --outcome \"%s\" (converted or revenue)", outcome);
	}
	if (method) {
		if (!strcmp(method, "tlearner"))
			uo.method = UPLIFT_TLEARNER;
		else if (!strcmp(method, "ct"))
			uo.method = UPLIFT_CT;
		else if (!strcmp(method, "auto"))
			uo.method = UPLIFT_AUTO;
		else
			opt_usage_error(&cmd, "invalid --method \"%s\" (tlearner, ct or auto)", method);
	}
	db_open(crm, crm->dry_run || access(crm->db_path, F_OK) != 0 ? DB_READ : DB_WRITE);
	rc = uplift_run(crm, &uo);
	db_close(crm);
	free(campaigns);
	return rc;
}

int cmd_main(int argc, char **argv)
{
	struct crm crm = { 0 };
	struct score_opts so = {
		.bins = 5, .period = SCORE_WEEK, .horizon_days = 364, .discount = 0.10,
	};
	int first, rc, is_rfm;

	first = opt_parse(&crm, &cmd, argc, argv);
	if (first >= argc)
		opt_usage_error(&cmd, "no task given (rfm, clv or uplift)");
	if (argc - first > 1)
		opt_usage_error(&cmd, "one task expected, got %d arguments", argc - first);
	if (!strcmp(argv[first], "uplift"))
		return uplift(&crm);
	if (ncampaigns || window || outcome || as_name || method || rows)
		opt_usage_error(&cmd, "--%s goes with uplift", ncampaigns ? "campaign" : window ?
				"window" : outcome ? "outcome" : as_name ? "as" : "method");
	if (!strcmp(argv[first], "rfm"))
		is_rfm = 1;
	else if (!strcmp(argv[first], "clv"))
		is_rfm = 0;
	else
		opt_usage_error(&cmd, "unknown task \"%s\" (rfm, clv or uplift)", argv[first]);

	if (is_rfm && (period || horizon || discount || holdout_end || penalty || model))
		opt_usage_error(&cmd, "--%s goes with clv", period ? "period" : horizon ? "horizon" :
				discount ? "discount" : penalty ? "penalty" : model ? "model" :
				"holdout-end");
	if (model) {
		if (!strcmp(model, "bgnbd"))
			so.model = SCORE_BGNBD;
		else if (!strcmp(model, "pareto"))
			so.model = SCORE_PARETO;
		else if (!strcmp(model, "mbgnbd"))
			so.model = SCORE_MBGNBD;
		else if (!strcmp(model, "auto"))
			so.model = SCORE_AUTO;
		else
			opt_usage_error(&cmd, "invalid --model \"%s\" (bgnbd, mbgnbd, pareto or auto)",
					model);
	}
	if (!is_rfm && bins != -1)
		opt_usage_error(&cmd, "--bins goes with rfm");
	if (bins != -1) {
		if (bins < 2 || bins > 9)
			opt_usage_error(&cmd, "--bins needs a number from 2 to 9");
		so.bins = (int)bins;
	}
	so.as_of = crm.now;
	if (as_of && score_parse_time(as_of, &so.as_of) < 0)
		opt_usage_error(&cmd, "invalid --as-of \"%s\" (a date or a time, such as 2026-06-30)",
				as_of);
	if (period) {
		if (!strcmp(period, "week"))
			so.period = SCORE_WEEK;
		else if (!strcmp(period, "day"))
			so.period = SCORE_DAY;
		else
			opt_usage_error(&cmd, "invalid --period \"%s\" (day or week)", period);
	}
	if (horizon && score_parse_duration(horizon, &so.horizon_days) < 0)
		opt_usage_error(&cmd, "invalid --horizon \"%s\" (whole days: 365d, 52w, 12mo, 1y)",
				horizon);
	if (discount && score_parse_rate(discount, &so.discount) < 0)
		opt_usage_error(&cmd, "invalid --discount \"%s\" (a yearly rate such as 0.1 or 10%%)",
				discount);
	if (penalty) {
		char *end;
		errno = 0;
		so.penalty = strtod(penalty, &end);
		if (errno || end == penalty || *end || !(so.penalty >= 0 && so.penalty <= 1e6))
			opt_usage_error(&cmd, "invalid --penalty \"%s\" (a number from 0, such as 0.001)",
					penalty);
	}
	if (tracking && !holdout_end)
		opt_usage_error(&cmd, "--tracking goes with --holdout-end");
	so.tracking = tracking;
	if (holdout_end) {
		if (!as_of)
			opt_usage_error(&cmd, "--holdout-end needs --as-of, the end of the calibration period");
		if (score_parse_time(holdout_end, &so.holdout_end) < 0)
			opt_usage_error(&cmd, "invalid --holdout-end \"%s\" (a date or a time)", holdout_end);
		if (so.holdout_end / 86400 <= so.as_of / 86400)
			opt_usage_error(&cmd, "--holdout-end must be a day after --as-of");
	}
	if (currency) {
		char code[4];
		int exp;
		const char *why;
		if (norm_currency(currency, strlen(currency), code, &exp, &why) < 0)
			opt_usage_error(&cmd, "invalid --currency \"%s\": %s", currency, why);
	}
	so.currency = currency;

	/* a dry run writes nothing: read-only (a validation writes its row
	 * of validations); a missing database has nothing to score: opening
	 * it read-only says so */
	db_open(&crm, crm.dry_run || access(crm.db_path, F_OK) != 0 ?
		DB_READ : DB_WRITE);
	rc = is_rfm ? score_rfm(&crm, &so) : score_clv(&crm, &so);
	db_close(&crm);
	return rc;
}
