/*
 * crm-segment - print the customers that match an expression, save
 * segments and track who enters and leaves them. The language is
 * lib/expr.c, the queries lib/seg.c, saved segments lib/seg_store.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crm.h"
#include "db.h"
#include "diag.h"
#include "opt.h"
#include "seg.h"
#include "util.h"

static struct seg_opts so = { .limit = -1, .min_size = 100, .sample_n = -1 };
static long limit = -1, min_size = -1; /* -1: not given (100) */
static const char *sample, *seed, *save, *description, *delete_name, *hash_name;
static int list, no_input;

static const struct opt options[] = {
	OPT_FLAG_('c', "count", &so.count, "print the number of matching customers only"),
	OPT_STRING_(0, "fields", &so.fields, "LIST",
		    "fields to print, comma-separated, or all (default id,email,phone,first_name)"),
	OPT_STRING_(0, "order-by", &so.order_by, "FIELD[:desc]", "sort by a field"),
	OPT_INT_(0, "limit", &limit, "N", "print at most N customers"),
	OPT_STRING_(0, "sample", &sample, "N|P%",
		    "a random sample of N customers, or P percent, of the matches"),
	OPT_STRING_(0, "seed", &seed, "N", "seed of --sample: the same seed picks the same customers"),
	OPT_STRING_(0, "input", &so.input, "FILE",
		    "filter the customers in FILE (- for standard input; see INPUT)"),
	OPT_FLAG_(0, "no-input", &no_input,
		  "query the whole base even when standard input is a pipe or file"),
	OPT_STRING_('s', "segment", &so.segment, "NAME", "run the saved segment NAME"),
	OPT_STRING_(0, "save", &save, "NAME", "save EXPR as the segment NAME (replacing it)"),
	OPT_STRING_(0, "description", &description, "TEXT", "with --save: what the segment is for"),
	OPT_FLAG_(0, "list", &list, "list the saved segments"),
	OPT_STRING_(0, "delete", &delete_name, "NAME", "delete a saved segment and its history"),
	OPT_FLAG_(0, "track", &so.track,
		  "with -s: record who is a member now (entered and exited times)"),
	OPT_FLAG_(0, "entered", &so.entered,
		  "with -s: print who entered since the last tracked run"),
	OPT_FLAG_(0, "exited", &so.exited, "with -s: print who left since the last tracked run"),
	OPT_STRING_(0, "why", &so.why, "ID",
		    "show each clause's value for one customer (id, e-mail or phone)"),
	OPT_FLAG_(0, "sql", &so.show_sql, "print the compiled SQL and its parameters, run nothing"),
	OPT_STRING_(0, "audience-hash", &hash_name, "ALG",
		    "with -f audience: sha256 (default) or md5"),
	OPT_INT_(0, "min-size", &min_size, "N",
		 "with -f audience: refuse audiences of fewer than N people (default 100)"),
	OPT_END_(),
};

static const struct opt_cmd cmd = {
	.usage = "[options] [EXPR]\n"
		 "[options] -s NAME [--track] [--entered] [--exited]\n"
		 "--save NAME [--description TEXT] EXPR\n"
		 "--list\n"
		 "--delete NAME",
	.summary = "Print the customers that match the expression EXPR (all customers\n"
		   "without one), or those of the saved segment NAME; customers piped in\n"
		   "are filtered instead of the whole base. The language is in crm(7).",
	.opts = options,
	.common = OPT_COMMON_DB | OPT_COMMON_FORMAT | OPT_COMMON_NOW | OPT_COMMON_DRY_RUN,
	.format_extra = "audience",
	.more = "Examples:\n"
		"  crm-segment 'days_since_last_order > 60 and orders >= 2'\n"
		"  crm-segment -c 'birthday_in(3d) and consent(\"sms\")'\n"
		"  crm-segment --fields id,email,revenue --order-by revenue:desc --limit 10 'orders > 0'\n"
		"  crm-segment --save lapsed 'days_since_last_order > 90 and orders >= 1'\n"
		"  crm-segment -s lapsed --track --entered | crm-send ...\n"
		"  crm-segment 'orders = 0' | crm-segment 'consent(\"email\")'\n"
		"  crm-segment -f audience 'revenue(365d) > 500' > audience.txt\n",
};

/* Standard input holds customers when it is a pipe, a socket or a file,
 * not a terminal or a device such as /dev/null. */
static int stdin_has_rows(void)
{
	struct stat st;

	if (fstat(STDIN_FILENO, &st) < 0)
		return 0;
	return S_ISFIFO(st.st_mode) || S_ISREG(st.st_mode) || S_ISSOCK(st.st_mode);
}

static uint64_t random_seed(void)
{
	uint64_t s = 0;
	FILE *fp = fopen("/dev/urandom", "rb");

	if (!fp || fread(&s, sizeof(s), 1, fp) != 1)
		s = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	if (fp)
		fclose(fp);
	return s;
}

static void check_options(const char *expr)
{
	int modes = !!save + !!list + !!delete_name + !!so.why;

	if (modes > 1)
		opt_usage_error(&cmd, "--save, --list, --delete and --why are separate tasks: "
				"give one of them");
	if ((list || delete_name) && (expr || so.segment))
		opt_usage_error(&cmd, "--%s takes no expression or segment",
				list ? "list" : "delete");
	if (save && !expr)
		opt_usage_error(&cmd, "--save NAME needs the expression to save");
	if (save && so.segment)
		opt_usage_error(&cmd, "--save takes an expression, not -s");
	if (save && !seg_valid_name(save))
		opt_usage_error(&cmd, "invalid segment name \"%s\" "
				"(1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit)",
				save);
	if (description && !save)
		opt_usage_error(&cmd, "--description goes with --save");
	if (so.segment && expr)
		opt_usage_error(&cmd, "-s NAME and an expression cannot be combined "
				"(pipe one into the other: crm-segment -s NAME | crm-segment EXPR)");
	if ((so.track || so.entered || so.exited) && !so.segment)
		opt_usage_error(&cmd, "--%s needs a saved segment: -s NAME",
				so.track ? "track" : so.entered ? "entered" : "exited");
	if ((so.track || so.entered || so.exited) && (sample || so.input || so.why))
		opt_usage_error(&cmd, "tracking covers the whole base: no --sample, --input or --why");
	if (so.why && (so.count || sample || so.show_sql))
		opt_usage_error(&cmd, "--why explains one customer: no -c, --sample or --sql");
	if (seed && !sample)
		opt_usage_error(&cmd, "--seed goes with --sample");
	if (so.input && no_input)
		opt_usage_error(&cmd, "--input and --no-input contradict each other");
	if ((hash_name || min_size != -1) && !so.audience)
		opt_usage_error(&cmd, "--audience-hash and --min-size go with -f audience");
	if (so.audience && (so.count || so.fields))
		opt_usage_error(&cmd, "-f audience prints hashes: no -c or --fields");
}

int cmd_main(int argc, char **argv)
{
	struct crm crm = { 0 };
	const char *expr;
	char *saved = NULL;
	char label[96];
	int first, rc;

	first = opt_parse(&crm, &cmd, argc, argv);
	if (argc - first > 1)
		opt_usage_error(&cmd, "one EXPR expected, got %d arguments (quote the expression)",
				argc - first);
	expr = first < argc ? argv[first] : NULL;
	if (limit < -1)
		opt_usage_error(&cmd, "--limit needs a number >= 0");
	if (min_size < -1)
		opt_usage_error(&cmd, "--min-size needs a number >= 0");
	so.limit = limit;
	so.min_size = min_size == -1 ? 100 : min_size;
	so.audience = crm.format_extra;
	if (hash_name) {
		if (!strcmp(hash_name, "sha256"))
			so.hash = SEG_SHA256;
		else if (!strcmp(hash_name, "md5"))
			so.hash = SEG_MD5;
		else
			opt_usage_error(&cmd, "unknown --audience-hash \"%s\" (sha256 or md5)", hash_name);
	}
	if (sample && seg_parse_sample(sample, &so) < 0)
		opt_usage_error(&cmd, "invalid --sample \"%s\" (a count N, or a percentage such as 10%%)",
				sample);
	if (seed) {
		int64_t v;
		if (parse_int64(seed, &v) < 0)
			opt_usage_error(&cmd, "invalid --seed \"%s\" (a whole number)", seed);
		so.seed = (uint64_t)v;
	} else {
		so.seed = random_seed();
	}
	check_options(expr);

	if (list) {
		db_open(&crm, DB_READ);
		rc = seg_list(&crm);
	} else if (delete_name) {
		db_open(&crm, DB_WRITE);
		rc = seg_delete(&crm, delete_name);
	} else if (save) {
		db_open(&crm, DB_WRITE);
		rc = seg_save(&crm, save, expr, description);
	} else {
		if (so.segment || !so.show_sql)
			db_open(&crm, so.track ? DB_WRITE : DB_READ);
		if (so.segment) {
			if (!(saved = seg_load(&crm, so.segment))) {
				db_close(&crm);
				return 1;
			}
			expr = saved;
			snprintf(label, sizeof(label), "segment %s", so.segment);
			so.label = label;
		}
		so.expr = expr;
		/* piped customers are filtered; tracking is over the whole base */
		if (!so.input && !no_input && !so.show_sql && !so.why && !so.track &&
		    !so.entered && !so.exited && stdin_has_rows())
			so.input = "-";
		rc = seg_run(&crm, &so);
	}
	free(saved);
	db_close(&crm);
	return rc;
}
