/*
 * opt.h - declarative command-line options, after git's parse-options.
 *
 * A program describes itself once, in a struct opt_cmd: its usage lines
 * (the man page SYNOPSIS), a one-line summary, its own option table and
 * which common options it takes. opt_parse() adds the common options
 * (--db, -f/--format, --now, --config, --strict, --dry-run, -q, -v, -h/--help,
 * --version), reads CRM_DB / CRM_NOW / CRM_CONFIG, handles --help (usage on
 * stdout, exit 0) and --version, and on a usage error prints
 *
 *     crm-import: unknown option "--frobnicate"
 *     usage: crm-import [options] KIND [FILE...]
 *     Try "crm-import --help" for more information.
 *
 * to stderr and exits 2. Options may follow operands (GNU style); "--"
 * ends them.
 */
#ifndef CRM_OPT_H
#define CRM_OPT_H

#include "crm.h"

enum opt_type {
	OPT_END,
	OPT_FLAG,    /* int *: set to 1 */
	OPT_COUNT,   /* int *: incremented */
	OPT_STRING,  /* const char **: the argument */
	OPT_INT,     /* long *: a whole number */
	OPT_CALL,    /* call(arg, data): may be repeated; 0 ok, -1 usage error */
};

struct opt {
	enum opt_type type;
	int short_name;       /* 0 for none */
	const char *long_name;
	void *value;
	const char *argh;     /* argument name in --help, NULL for none */
	const char *help;
	int (*call)(const char *arg, void *data);
};

#define OPT_FLAG_(s, l, v, h)        { OPT_FLAG, s, l, v, NULL, h, NULL }
#define OPT_COUNT_(s, l, v, h)       { OPT_COUNT, s, l, v, NULL, h, NULL }
#define OPT_STRING_(s, l, v, a, h)   { OPT_STRING, s, l, v, a, h, NULL }
#define OPT_INT_(s, l, v, a, h)      { OPT_INT, s, l, v, a, h, NULL }
#define OPT_CALL_(s, l, d, a, h, f)  { OPT_CALL, s, l, d, a, h, f }
#define OPT_END_()                   { OPT_END, 0, NULL, NULL, NULL, NULL, NULL }

enum {
	OPT_COMMON_DB = 1 << 0,
	OPT_COMMON_FORMAT = 1 << 1,
	OPT_COMMON_NOW = 1 << 2,
	OPT_COMMON_CONFIG = 1 << 3,
	OPT_COMMON_DRY_RUN = 1 << 4,
};

struct opt_cmd {
	const char *usage;    /* lines without the program name, '\n'-separated */
	const char *summary;  /* one line */
	const struct opt *opts;
	unsigned common;      /* OPT_COMMON_* */
	const char *more;     /* text after the option list, or NULL */
	/* A -f value only this program knows ("audience"), or NULL; when
	 * given, crm->format_extra is set and crm->format stays the default. */
	const char *format_extra;
	/* Operands may be negative numbers ("-200"), not options. */
	int negative_operands;
};

/* Parses argv; returns the index of the first operand (argv is permuted
 * so that operands come last). */
int opt_parse(struct crm *crm, const struct opt_cmd *cmd, int argc, char **argv);

/* Prints "PROG: MESSAGE", the usage lines and a hint; exits 2. */
_Noreturn void opt_usage_error(const struct opt_cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
