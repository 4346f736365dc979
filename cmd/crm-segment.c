/*
 * crm-segment - print the customers that match an expression. The
 * language is lib/expr.c, the query lib/seg.c.
 */
#include <stdlib.h>

#include "crm.h"
#include "db.h"
#include "diag.h"
#include "opt.h"
#include "seg.h"

static struct seg_opts so = { .limit = -1 };
static long limit = -1;

static const struct opt options[] = {
	OPT_FLAG_('c', "count", &so.count, "print the number of matching customers only"),
	OPT_STRING_(0, "fields", &so.fields, "LIST",
		    "fields to print, comma-separated, or all (default id,email,phone,first_name)"),
	OPT_STRING_(0, "order-by", &so.order_by, "FIELD[:desc]", "sort by a field"),
	OPT_INT_(0, "limit", &limit, "N", "print at most N customers"),
	OPT_FLAG_(0, "sql", &so.show_sql, "print the compiled SQL and its parameters, run nothing"),
	OPT_END_(),
};

static const struct opt_cmd cmd = {
	.usage = "[options] [EXPR]",
	.summary = "Print the customers that match the expression EXPR (all customers\n"
		   "without one). The language is described in crm(7).",
	.opts = options,
	.common = OPT_COMMON_DB | OPT_COMMON_FORMAT | OPT_COMMON_NOW,
	.more = "Examples:\n"
		"  crm-segment 'days_since_last_order > 60 and orders >= 2'\n"
		"  crm-segment -c 'birthday_in(3d) and consent(\"sms\")'\n"
		"  crm-segment --fields id,email,revenue --order-by revenue:desc --limit 10 'orders > 0'\n",
};

int cmd_main(int argc, char **argv)
{
	struct crm crm = { 0 };
	int first, rc;

	first = opt_parse(&crm, &cmd, argc, argv);
	if (argc - first > 1)
		opt_usage_error(&cmd, "one EXPR expected, got %d arguments (quote the expression)",
				argc - first);
	if (limit < -1)
		opt_usage_error(&cmd, "--limit needs a number >= 0");
	so.limit = limit;
	so.expr = first < argc ? argv[first] : NULL;
	if (!so.show_sql)
		db_open(&crm, DB_READ);
	rc = seg_run(&crm, &so);
	db_close(&crm);
	return rc;
}
