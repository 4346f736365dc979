#include "opt.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "diag.h"
#include "norm.h"
#include "util.h"
#include "version.h"

/* Indices of the common options, offset so they never clash with a
 * program's own (which are numbered from 0 in getopt's val). */
enum {
	C_BASE = 0x10000, C_DB, C_FORMAT, C_NOW, C_CONFIG, C_STRICT, C_DRY_RUN,
	C_QUIET, C_VERBOSE, C_HELP, C_VERSION,
};

struct common {
	int id;
	unsigned need; /* OPT_COMMON_* bit, 0 = always */
	int short_name;
	const char *long_name;
	const char *argh;
	const char *help;
};

static const struct common commons[] = {
	{ C_DB, OPT_COMMON_DB, 0, "db", "PATH",
	  "database file (default $CRM_DB, else ./crm.db)" },
	{ C_FORMAT, OPT_COMMON_FORMAT, 'f', "format", "FMT",
	  "output: csv, tsv, jsonl, json, table (table on a terminal)" },
	{ C_NOW, OPT_COMMON_NOW, 0, "now", "TIME",
	  "take TIME as the current time (default $CRM_NOW)" },
	{ C_CONFIG, OPT_COMMON_CONFIG, 0, "config", "FILE",
	  "configuration file (default $CRM_CONFIG, ./crm.conf)" },
	{ C_STRICT, 0, 0, "strict", NULL,
	  "unknown sections and keys of the configuration are errors" },
	{ C_DRY_RUN, OPT_COMMON_DRY_RUN, 'n', "dry-run", NULL,
	  "do everything but write to the database" },
	{ C_QUIET, 0, 'q', "quiet", NULL, "print errors only" },
	{ C_VERBOSE, 0, 'v', "verbose", NULL, "say more (repeat for more)" },
	{ C_HELP, 0, 'h', "help", NULL, "show this help and exit" },
	{ C_VERSION, 0, 0, "version", NULL, "show the version and exit" },
};

static void print_usage_lines(FILE *fp, const struct opt_cmd *cmd)
{
	const char *u = cmd->usage;
	int first = 1;

	while (*u) {
		const char *nl = strchr(u, '\n');
		size_t n = nl ? (size_t)(nl - u) : strlen(u);
		fprintf(fp, "%s %s %.*s\n", first ? "usage:" : "      ",
			crm_progname, (int)n, u);
		first = 0;
		u += n + (nl ? 1 : 0);
	}
}

static void help_line(FILE *fp, int s, const char *l, const char *argh, const char *help)
{
	char left[64];
	int n;

	if (s && l)
		n = snprintf(left, sizeof(left), "-%c, --%s", s, l);
	else if (s)
		n = snprintf(left, sizeof(left), "-%c", s);
	else
		n = snprintf(left, sizeof(left), "    --%s", l);
	if (argh && n > 0 && (size_t)n < sizeof(left))
		snprintf(left + n, sizeof(left) - n, " %s", argh);
	if (strlen(left) > 24)
		fprintf(fp, "  %s\n  %-24s  %s\n", left, "", help);
	else
		fprintf(fp, "  %-24s  %s\n", left, help);
}

/* Is common option k left out for cmd? Not asked for, or the program has
 * an option of that name of its own (crm-import's --strict, which then
 * does both). */
static int skip_common(const struct opt_cmd *cmd, const struct common *k)
{
	if (k->need && !(cmd->common & k->need))
		return 1;
	for (const struct opt *o = cmd->opts; o && o->type != OPT_END; o++)
		if (o->long_name && !strcmp(o->long_name, k->long_name))
			return 1;
	return 0;
}

static void help(const struct opt_cmd *cmd)
{
	FILE *fp = stdout;

	print_usage_lines(fp, cmd);
	fprintf(fp, "\n%s\n\nOptions:\n", cmd->summary);
	for (const struct opt *o = cmd->opts; o && o->type != OPT_END; o++)
		help_line(fp, o->short_name, o->long_name, o->argh, o->help);
	fprintf(fp, "\nCommon options:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commons); i++) {
		const char *h = commons[i].help;
		char buf[160];
		if (skip_common(cmd, &commons[i]))
			continue;
		if (commons[i].id == C_FORMAT && cmd->format_extra) {
			snprintf(buf, sizeof(buf), "output: csv, tsv, jsonl, json, table, %s "
				 "(table on a terminal)", cmd->format_extra);
			h = buf;
		}
		help_line(fp, commons[i].short_name, commons[i].long_name, commons[i].argh, h);
	}
	if (cmd->more)
		fprintf(fp, "\n%s", cmd->more);
	fprintf(fp, "\nExit status: 0 success, 1 failure, 2 usage error, "
		"3 done but some input rows were rejected.\n"
		"See %s(1) for the full manual.\n", crm_progname);
}

static const struct opt_cmd *usage_cmd;

void opt_usage_error(const struct opt_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	crm_vreport(NULL, 0, NULL, fmt, ap, 0);
	va_end(ap);
	if (!cmd)
		cmd = usage_cmd;
	if (cmd)
		print_usage_lines(stderr, cmd);
	fprintf(stderr, "Try \"%s --help\" for more information.\n", crm_progname);
	exit(CRM_EXIT_USAGE);
}

static void set_now(const struct opt_cmd *cmd, struct crm *crm, const char *arg,
		    const char *what)
{
	struct norm_opts no = { 0 };
	const char *why;
	int64_t t;

	if (norm_time(arg, strlen(arg), &no, &t, &why) < 0)
		opt_usage_error(cmd, "invalid %s \"%s\": %s", what, arg, why);
	crm->now = t;
}

static void set_format(const struct opt_cmd *cmd, struct crm *crm, const char *arg)
{
	crm->format_given = 1;
	crm->format_extra = 0;
	if (cmd->format_extra && !strcmp(arg, cmd->format_extra)) {
		crm->format_extra = 1;
		return;
	}
	if (out_format_parse(arg, &crm->format) < 0)
		opt_usage_error(cmd, "unknown format \"%s\" (csv, tsv, jsonl, json, table%s%s)", arg,
				cmd->format_extra ? ", " : "",
				cmd->format_extra ? cmd->format_extra : "");
}

int opt_parse(struct crm *crm, const struct opt_cmd *cmd, int argc, char **argv)
{
	size_t nown = 0, nlong = 0;
	struct option *longs;
	struct sb shorts = SB_INIT;
	const char *env;
	int c;

	usage_cmd = cmd;
	crm->db_path = "crm.db";
	crm->now = (int64_t)time(NULL);
	crm->format = isatty(STDOUT_FILENO) ? OUT_TABLE : OUT_CSV;
	if ((env = getenv("CRM_DB")) && *env)
		crm->db_path = env;
	if ((env = getenv("CRM_CONFIG")) && *env)
		crm->config_path = env;
	if ((env = getenv("CRM_NOW")) && *env)
		set_now(cmd, crm, env, "CRM_NOW");

	for (const struct opt *o = cmd->opts; o && o->type != OPT_END; o++)
		nown++;
	longs = xcalloc(nown + ARRAY_SIZE(commons) + 1, sizeof(*longs));
	sb_addc(&shorts, '-'); /* operands come back as option 1, in order */
	sb_addc(&shorts, ':');
	for (size_t i = 0; i < nown; i++) {
		const struct opt *o = &cmd->opts[i];
		int arg = o->type == OPT_STRING || o->type == OPT_INT ||
			  (o->type == OPT_CALL && o->argh);
		if (o->long_name)
			longs[nlong++] = (struct option){ o->long_name,
				arg ? required_argument : no_argument, NULL, (int)(0x1000 + i) };
		if (o->short_name) {
			sb_addc(&shorts, o->short_name);
			if (arg)
				sb_addc(&shorts, ':');
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(commons); i++) {
		const struct common *k = &commons[i];
		if (skip_common(cmd, k))
			continue;
		longs[nlong++] = (struct option){ k->long_name,
			k->argh ? required_argument : no_argument, NULL, k->id };
		if (k->short_name) {
			sb_addc(&shorts, k->short_name);
			if (k->argh)
				sb_addc(&shorts, ':');
		}
	}

	/* Operands are collected in order and moved to the end of argv. */
	char **operands = xcalloc(argc + 1, sizeof(char *));
	int noperands = 0;

	/* "-200" an operand: hidden from getopt behind a \1, put back below */
	for (int i = 1; cmd->negative_operands && i < argc; i++)
		if (argv[i][0] == '-' && argv[i][1] >= '0' && argv[i][1] <= '9' &&
		    strspn(argv[i] + 1, "0123456789") == strlen(argv[i] + 1))
			argv[i][0] = '\1';
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, shorts.buf, longs, NULL)) != -1) {
		const struct opt *o = NULL;

		if (c == 1) {
			if (optarg[0] == '\1')
				optarg[0] = '-';
			operands[noperands++] = optarg;
			continue;
		}
		if (c == '?') {
			if (optopt && optopt < 0x1000)
				opt_usage_error(cmd, "unknown option \"-%c\"", optopt);
			opt_usage_error(cmd, "unknown option \"%s\"", argv[optind - 1]);
		}
		if (c == ':') {
			if (optopt && optopt < 0x1000)
				opt_usage_error(cmd, "option \"-%c\" needs an argument", optopt);
			opt_usage_error(cmd, "option \"%s\" needs an argument", argv[optind - 1]);
		}
		if (c >= 0x1000 && c < 0x1000 + (int)nown) {
			o = &cmd->opts[c - 0x1000];
		} else if (c < 0x1000) {
			for (size_t i = 0; i < nown; i++)
				if (cmd->opts[i].short_name == c)
					o = &cmd->opts[i];
			if (!o)
				for (size_t i = 0; i < ARRAY_SIZE(commons); i++)
					if (commons[i].short_name == c)
						c = commons[i].id;
		}
		if (o) {
			if (o->long_name && !strcmp(o->long_name, "strict"))
				conf_strict = 1;
			switch (o->type) {
			case OPT_FLAG:
				*(int *)o->value = 1;
				break;
			case OPT_COUNT:
				++*(int *)o->value;
				break;
			case OPT_STRING:
				*(const char **)o->value = optarg;
				break;
			case OPT_INT: {
				int64_t v;
				if (parse_int64(optarg, &v) < 0)
					opt_usage_error(cmd, "option \"--%s\" needs a whole number, not \"%s\"",
							o->long_name ? o->long_name : "?", optarg);
				*(long *)o->value = (long)v;
				break;
			}
			case OPT_CALL:
				if (o->call(optarg, o->value) < 0)
					opt_usage_error(cmd, "invalid value for \"--%s\": \"%s\"",
							o->long_name ? o->long_name : "?",
							optarg ? optarg : "");
				break;
			case OPT_END:
				break;
			}
			continue;
		}
		switch (c) {
		case C_DB:
			crm->db_path = optarg;
			break;
		case C_FORMAT:
			set_format(cmd, crm, optarg);
			break;
		case C_NOW:
			set_now(cmd, crm, optarg, "--now");
			break;
		case C_CONFIG:
			crm->config_path = optarg;
			break;
		case C_STRICT:
			conf_strict = 1;
			break;
		case C_DRY_RUN:
			crm->dry_run = 1;
			break;
		case C_QUIET:
			crm_verbosity = 0;
			break;
		case C_VERBOSE:
			crm_verbosity = crm_verbosity < 1 ? 2 : crm_verbosity + 1;
			break;
		case C_HELP:
		case C_VERSION:
			free(operands);
			free(longs);
			sb_free(&shorts);
			if (c == C_HELP)
				help(cmd);
			else
				crm_print_versions(stdout);
			exit(out_close_stdout());
		default:
			opt_usage_error(cmd, "unhandled option");
		}
	}
	/* "--" stops getopt: the rest are operands too */
	for (int i = optind; i < argc; i++) {
		if (argv[i][0] == '\1')
			argv[i][0] = '-';
		operands[noperands++] = argv[i];
	}
	for (int i = 0; i < noperands; i++)
		argv[argc - noperands + i] = operands[i];
	free(operands);
	free(longs);
	sb_free(&shorts);
	return argc - noperands;
}
