/*
 * crm-loyalty - bonus points and tiers: the rules of crm.conf [loyalty]
 * applied to the orders and events (run), the balances, a member's
 * ledger, and manual adjustments. The work is lib/loyalty*.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "crm.h"
#include "db.h"
#include "diag.h"
#include "loyalty.h"
#include "opt.h"

static const char *reason, *key;
static int full;

static const struct opt options[] = {
	OPT_STRING_(0, "reason", &reason, "TEXT", "adjust: why (required; kept in the ledger)"),
	OPT_STRING_(0, "key", &key, "KEY",
		    "adjust, redeem: a key of your own, so that the same entry given twice is one"),
	OPT_FLAG_(0, "full", &full,
		  "run: replay every member, not only those with news since the last run"),
	OPT_END_(),
};

static const struct opt_cmd cmd = {
	.usage = "[options] run [--full]\n"
		 "[options] balance [ID...]\n"
		 "[options] history ID\n"
		 "[options] adjust ID POINTS --reason TEXT [--key KEY]\n"
		 "[options] redeem ID REWARD [--key KEY]",
	.summary = "Bonus points and tiers: apply the rules of crm.conf [loyalty] to the orders\n"
		   "and events up to --now (run), show balances and a member's ledger, and add\n"
		   "a manual entry (adjust) or a reward (redeem). The ledger is append-only; a run\n"
		   "is idempotent.",
	.opts = options,
	.common = OPT_COMMON_DB | OPT_COMMON_FORMAT | OPT_COMMON_NOW | OPT_COMMON_CONFIG |
		  OPT_COMMON_DRY_RUN,
	.more = "Examples:\n"
		"  crm-loyalty run                          # nightly, from cron\n"
		"  crm-loyalty run --dry-run -f csv          # the rows it would add\n"
		"  crm-loyalty balance ann@example.com\n"
		"  crm-loyalty history C1042\n"
		"  crm-loyalty adjust C1042 +500 --reason 'late delivery, ticket 881'\n"
		"  crm-loyalty redeem C1042 MUG --key web-order-5512\n"
		"  crm-segment 'points_expiring(30d) > 0'    # after a run\n",
	.negative_operands = 1,
};

static int64_t parse_points(const char *s)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || *end || errno || v == 0 || v > 1000000000LL || v < -1000000000LL)
		opt_usage_error(&cmd, "invalid POINTS \"%s\" (a whole number such as +500 or -200, "
				"not 0)", s);
	return v;
}

int cmd_main(int argc, char **argv)
{
	struct crm crm = { 0 };
	struct loyalty_rules rules;
	struct loyalty_opts lo = { 0 };
	struct conf *conf;
	const char *task;
	int first, rc, nargs;

	first = opt_parse(&crm, &cmd, argc, argv);
	if (first >= argc)
		opt_usage_error(&cmd, "no task given (run, balance, history, adjust or redeem)");
	task = argv[first];
	nargs = argc - first - 1;
	if (strcmp(task, "run") && strcmp(task, "balance") && strcmp(task, "history") &&
	    strcmp(task, "adjust") && strcmp(task, "redeem"))
		opt_usage_error(&cmd, "unknown task \"%s\" (run, balance, history, adjust or redeem)",
				task);
	if (reason && strcmp(task, "adjust"))
		opt_usage_error(&cmd, "--reason goes with adjust");
	if (key && strcmp(task, "adjust") && strcmp(task, "redeem"))
		opt_usage_error(&cmd, "--key goes with adjust and redeem");
	if (!strcmp(task, "redeem") && nargs != 2)
		opt_usage_error(&cmd, "redeem takes a customer and a reward (its id)");
	if (full && strcmp(task, "run"))
		opt_usage_error(&cmd, "--full goes with run");
	if (!strcmp(task, "run") && nargs)
		opt_usage_error(&cmd, "run takes no arguments");
	if (!strcmp(task, "history") && nargs != 1)
		opt_usage_error(&cmd, "history takes one customer (ID, e-mail or phone)");
	if (!strcmp(task, "adjust")) {
		if (nargs != 2)
			opt_usage_error(&cmd, "adjust takes a customer and a number of points");
		if (!reason || !*reason)
			opt_usage_error(&cmd, "adjust needs --reason TEXT (kept in the ledger)");
	}
	if (key && (!*key || strlen(key) > 200))
		opt_usage_error(&cmd, "--key needs 1 to 200 characters");

	if (!strcmp(task, "balance") || !strcmp(task, "history")) {
		db_open(&crm, DB_READ);
		rc = !strcmp(task, "balance") ? loyalty_balance(&crm, argv + first + 1, nargs) :
						loyalty_history(&crm, argv[first + 1]);
		db_close(&crm);
		return rc;
	}
	conf = conf_load(&crm);
	if (loyalty_rules_read(conf, &rules) < 0) {
		conf_free(conf);
		return 1;
	}
	conf_free(conf);
	lo.dry_run = crm.dry_run;
	lo.full = full;
	/* a dry run writes nothing, but computes in a transaction it rolls
	 * back: the file is opened for writing all the same */
	db_open(&crm, access(crm.db_path, F_OK) != 0 ? DB_READ : DB_WRITE);
	if (!strcmp(task, "run"))
		rc = loyalty_run(&crm, &rules, &lo);
	else if (!strcmp(task, "redeem"))
		rc = loyalty_redeem(&crm, &rules, argv[first + 1], argv[first + 2], key);
	else
		rc = loyalty_adjust(&crm, &rules, argv[first + 1], parse_points(argv[first + 2]),
				    reason, key);
	db_close(&crm);
	loyalty_rules_free(&rules);
	return rc;
}
