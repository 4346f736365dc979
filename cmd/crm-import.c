/*
 * crm-import - load customers, orders, order lines, events and consents into
 * the base, or erase people from it. The work is in lib/imp.c (and
 * lib/imp_lines.c) and lib/erase.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "coupon.h"
#include "crm.h"
#include "db.h"
#include "diag.h"
#include "erase.h"
#include "imp.h"
#include "inbound.h"
#include "opt.h"

static struct imp_opts io = { .max_rejects = -1 };
static const char *date_format, *default_country, *timezone_name, *delimiter;
static const char *input_format, *decimal;
static long max_rejects = -1, batch;
static struct inbound_opts bo;
static int check_only;
static struct coupon_opts co;

static int add_map(const char *arg, void *data)
{
	return imp_add_map(&io, arg);
}

static const struct opt options[] = {
	OPT_STRING_(0, "rejects", &io.rejects_path, "FILE",
		    "write rejected rows (file, line, reason, record) to FILE"),
	OPT_INT_(0, "max-rejects", &max_rejects, "N",
		 "more than N rejected rows: roll back everything, exit 1"),
	OPT_FLAG_(0, "strict", &io.strict, "reject rows for unknown customers (no stubs)"),
	OPT_CALL_('m', "map", NULL, "FROM=TO",
		  "read column FROM as field TO (attr.NAME; empty TO ignores)", add_map),
	OPT_STRING_('c', "default-country", &default_country, "CC",
		    "country of national phone numbers (RU, TR, US, DE, GB...)"),
	OPT_STRING_(0, "date-format", &date_format, "FMT",
		    "auto, dmy, mdy, ymd or a strptime pattern like %d/%m/%Y"),
	OPT_STRING_(0, "timezone", &timezone_name, "TZ",
		    "times without an offset are in TZ (default UTC)"),
	OPT_STRING_(0, "currency", &io.currency, "CODE",
		    "currency of orders when the file has no currency column"),
	OPT_STRING_(0, "decimal", &decimal, "SEP",
		    "decimal separator of amounts: . or , (default: guess)"),
	OPT_STRING_('d', "delimiter", &delimiter, "C",
		    "CSV field delimiter (default: , or ; or TAB from the header)"),
	OPT_STRING_(0, "input-format", &input_format, "FMT",
		    "csv or jsonl (default: '{' first means jsonl)"),
	OPT_STRING_(0, "source", &io.source, "NAME",
		    "source recorded with consents (default \"import\")"),
	OPT_INT_(0, "batch", &batch, "N", "commit every N rows (default: once, at the end)"),
	OPT_FLAG_(0, "check", &check_only,
		  "read and check everything, say what is wrong, write nothing (--dry-run)"),
	OPT_FLAG_(0, "mbox", &bo.mbox, "bounces: standard input is an mbox, not one message"),
	OPT_STRING_(0, "envelope-to", &bo.envelope_to, "ADDR",
		    "bounces: the envelope recipient (default $ORIGINAL_RECIPIENT)"),
	OPT_STRING_(0, "quarantine", &bo.quarantine, "MAILDIR",
		    "bounces: also copy each quarantined message into MAILDIR"),
	OPT_INT_(0, "generate", &co.generate, "N",
		 "coupons: N more codes of a generated pool, printed on stdout"),
	OPT_STRING_(0, "pattern", &co.pattern, "PATTERN",
		    "coupons: the codes generated, X for a character (WB-XXXX-XXXX)"),
	OPT_STRING_(0, "verify", &co.verify, "CODE",
		    "coupons: say whether CODE is one of the pool's"),
	OPT_END_(),
};

static const struct opt_cmd cmd = {
	.usage = "[options] customers|orders|lines|products|events|consents|rewards|messages [FILE...]\n"
		 "[options] rates [--currency BASE] [FILE...]\n"
		 "[options] erase [FILE...]\n"
		 "[options] coupons POOL FILE...\n"
		 "[options] coupons POOL --generate N [--pattern PATTERN]\n"
		 "coupons POOL --verify CODE\n"
		 "[--mbox] [--envelope-to ADDR] [--quarantine MAILDIR] bounces [MBOX|MAILDIR|MESSAGE...]",
	.summary = "Import customers, orders, order lines, products, events, consents, exchange\n"
		   "rates, loyalty rewards or a past campaign's messages from CSV or JSON lines\n"
		   "(FILE or - for stdin), erase\n"
		   "the people listed in\n"
		   "FILE, or\n"
		   "read the bounces and complaints that came back (stdin: one message, as\n"
		   "an MTA pipes it).",
	.opts = options,
	.common = OPT_COMMON_DB | OPT_COMMON_NOW | OPT_COMMON_DRY_RUN,
	.more = "Examples:\n"
		"  crm-import customers shop.csv --default-country RU --rejects bad.csv\n"
		"  crm-import orders --currency USD --map 'Order Total=amount' orders.csv\n"
		"  crm-import lines --currency GBP OnlineRetail.csv   (one row per order line)\n"
		"  cat events.jsonl | crm-import events -\n"
		"  crm-import rates --currency EUR rates.csv   (currency,rate[,valid_from])\n"
		"  crm-import coupons WB codes.txt   (promo codes, one a line)\n"
		"  crm-import rewards rewards.csv   (id,name,cost[,stock]: for crm-loyalty redeem)\n"
		"  crm-import messages test.csv   (campaign,customer_id,group,sent_at: a past test)\n"
		"  crm-import coupons WB --generate 500 --pattern WB-XXXX-XXXX > wb-codes.csv\n"
		"  crm-import bounces ~/Maildir/.bounces   (reads, never moves or deletes)\n"
		"  /etc/aliases:  bounces: \"|crm-import --db /var/lib/crm/crm.db bounces\"\n",
};

static int bounces(struct crm *crm, int n, char **paths)
{
	static char *stdin_only[] = { "-", NULL };
	char **files = n > 0 ? paths : stdin_only;
	int rc, from_stdin = 0;

	for (char **f = files; *f; f++) {
		struct stat st;
		if (!strcmp(*f, "-")) {
			from_stdin = 1;
			continue;
		}
		if (stat(*f, &st) < 0)
			crm_die_errno(1, "%s: cannot open", *f);
	}
	if (files == stdin_only && isatty(STDIN_FILENO))
		opt_usage_error(&cmd, "no MBOX, MAILDIR or MESSAGE given and stdin is a terminal");
	if (io.rejects_path || io.nmaps || max_rejects != -1 || io.strict || date_format ||
	    default_country || timezone_name || io.currency || decimal || delimiter ||
	    input_format || io.source)
		opt_usage_error(&cmd, "bounces takes only --mbox, --envelope-to, --quarantine "
				"and --batch");
	if (crm->dry_run)
		opt_usage_error(&cmd, "bounces has no --dry-run");
	if (batch < 0)
		opt_usage_error(&cmd, "--batch needs a number > 0");
	bo.batch = batch;
	/* a message from a pipe is nowhere else: whatever stops it being
	 * stored (a locked or unwritable base, a full disk, a crash) tells
	 * the MTA to keep it and try again, so the work is a child's */
	if (from_stdin && !bo.mbox) {
		pid_t pid;
		int st;

		fflush(NULL);
		if ((pid = fork()) < 0)
			crm_die_errno(INBOUND_TEMPFAIL, "fork");
		if (pid > 0) {
			while (waitpid(pid, &st, 0) < 0)
				if (errno != EINTR)
					crm_die_errno(INBOUND_TEMPFAIL, "waitpid");
			if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
				return 0;
			crm_error("the message was not stored: exit %d, the mail server keeps it "
				  "and tries again", INBOUND_TEMPFAIL);
			return INBOUND_TEMPFAIL;
		}
	}
	db_open(crm, DB_WRITE);
	rc = inbound_run(crm, &bo, files);
	db_close(crm);
	return rc;
}

/* crm-import coupons POOL ...: lib/coupon.c */
static int coupons(struct crm *crm, int n, char **args)
{
	int rc;

	if (n < 1)
		opt_usage_error(&cmd, "coupons needs a POOL name");
	co.pool = args[0];
	if (io.rejects_path || io.nmaps || max_rejects != -1 || io.strict || date_format ||
	    default_country || timezone_name || io.currency || decimal || delimiter ||
	    input_format || io.source || batch || bo.mbox || bo.envelope_to || bo.quarantine)
		opt_usage_error(&cmd, "coupons takes only --generate, --pattern, --verify and "
				"--dry-run");
	if (co.generate < 0 || (co.generate == 0 && co.pattern))
		opt_usage_error(&cmd, "--generate needs a number > 0");
	if (co.verify && (co.generate || co.pattern || n > 1))
		opt_usage_error(&cmd, "--verify CODE takes no FILE, --generate or --pattern");
	if (co.generate && n > 1)
		opt_usage_error(&cmd, "--generate takes no FILE");
	if (!co.verify && !co.generate && n < 2)
		opt_usage_error(&cmd, "coupons POOL needs a FILE of codes (- for stdin), "
				"--generate N or --verify CODE");
	if (n >= 2 && !co.generate && !co.verify) {
		for (int i = 1; i < n; i++) {
			struct stat st;
			if (!strcmp(args[i], "-"))
				continue;
			if (stat(args[i], &st) < 0 || access(args[i], R_OK) < 0)
				crm_die_errno(1, "%s: cannot open", args[i]);
			if (S_ISDIR(st.st_mode))
				crm_die(1, "%s: cannot open: Is a directory", args[i]);
		}
	}
	if (co.verify && access(crm->db_path, F_OK) != 0)
		crm_die(1, "%s: no such database", crm->db_path);
	if (crm->dry_run && access(crm->db_path, F_OK) != 0)
		crm->db_path = ":memory:";
	db_open(crm, DB_WRITE);
	rc = coupon_import_run(crm, &co, args + 1);
	db_close(crm);
	return rc;
}

int cmd_main(int argc, char **argv)
{
	struct crm crm = { 0 };
	static char *stdin_only[] = { "-", NULL };
	char **files;
	int first, rc;

	first = opt_parse(&crm, &cmd, argc, argv);
	if (check_only)
		crm.dry_run = 1;
	if (first >= argc)
		opt_usage_error(&cmd, "no KIND given");
	if (!strcmp(argv[first], "bounces"))
		return bounces(&crm, argc - first - 1, argv + first + 1);
	if (!strcmp(argv[first], "coupons"))
		return coupons(&crm, argc - first - 1, argv + first + 1);
	if (co.generate || co.pattern || co.verify)
		opt_usage_error(&cmd, "--generate, --pattern and --verify are for coupons");
	if (imp_kind_parse(argv[first], &io.kind) < 0)
		opt_usage_error(&cmd, "unknown kind \"%s\" (customers, orders, lines, products, events, consents, "
				"rates, rewards, messages, erase, coupons, bounces)",
				argv[first]);
	files = first + 1 < argc ? argv + first + 1 : stdin_only;
	if (files == stdin_only && isatty(STDIN_FILENO))
		opt_usage_error(&cmd, "no FILE given and stdin is a terminal");

	io.max_rejects = max_rejects;
	if (max_rejects < -1)
		opt_usage_error(&cmd, "--max-rejects needs a number >= 0");
	io.batch = batch;
	if (date_format && norm_date_format(date_format, &io.norm) < 0)
		opt_usage_error(&cmd, "invalid --date-format \"%s\" (auto, dmy, mdy, ymd, or a strptime pattern with %%Y)",
				date_format);
	if (default_country) {
		const char *why;
		if (norm_country(default_country, strlen(default_country),
				 io.norm.default_country, &why) < 0)
			opt_usage_error(&cmd, "invalid --default-country \"%s\": %s", default_country, why);
	}
	if (timezone_name) {
		if (setenv("TZ", timezone_name, 1) < 0)
			crm_die_errno(1, "setenv");
		tzset();
		io.norm.naive_local = 1;
		io.tz_given = 1;
	}
	if (decimal) {
		if (strcmp(decimal, ".") && strcmp(decimal, ","))
			opt_usage_error(&cmd, "--decimal must be \".\" or \",\"");
		io.norm.decimal = decimal[0];
	}
	if (delimiter) {
		if (!strcmp(delimiter, "\\t") || !strcmp(delimiter, "tab"))
			io.rec.delim = '\t';
		else if (strlen(delimiter) == 1 && delimiter[0] != '"' && delimiter[0] != '\n')
			io.rec.delim = (unsigned char)delimiter[0];
		else
			opt_usage_error(&cmd, "--delimiter must be one character (or \\t)");
	}
	if (input_format) {
		if (!strcmp(input_format, "csv"))
			io.rec.format = REC_CSV;
		else if (!strcmp(input_format, "jsonl") || !strcmp(input_format, "ndjson"))
			io.rec.format = REC_JSONL;
		else
			opt_usage_error(&cmd, "unknown --input-format \"%s\" (csv, jsonl)", input_format);
	}
	if (io.currency) {
		char code[4];
		int exp;
		const char *why;
		if (norm_currency(io.currency, strlen(io.currency), code, &exp, &why) < 0)
			opt_usage_error(&cmd, "invalid --currency \"%s\": %s", io.currency, why);
	}

	/* every file must be readable before anything is written */
	int unreadable = 0;
	for (char **f = files; *f; f++) {
		struct stat stbuf;
		if (!strcmp(*f, "-"))
			continue;
		if (stat(*f, &stbuf) < 0 || access(*f, R_OK) < 0) {
			crm_error_errno("%s: cannot open", *f);
			unreadable = 1;
		} else if (S_ISDIR(stbuf.st_mode)) {
			crm_error("%s: cannot open: Is a directory", *f);
			unreadable = 1;
		}
	}
	if (unreadable)
		return CRM_EXIT_FAIL;

	/* a dry run never creates the database: it works on an empty one */
	if (crm.dry_run && access(crm.db_path, F_OK) != 0)
		crm.db_path = ":memory:";
	db_open(&crm, DB_WRITE);
	if (io.kind == IMP_ERASE)
		rc = erase_run(&crm, &io, files);
	else
		rc = imp_run(&crm, &io, files);
	db_close(&crm);
	return rc;
}
