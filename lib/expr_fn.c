/*
 * expr_fn.c - the SQL functions compiled expressions call (regexp,
 * crm_num, crm_time, crm_bool), the authorizer that guards the statement
 * holding them, and the compile-time check of regular expressions.
 */
#include "expr_int.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "norm.h"

/* ------------------------------------------------- regular expressions */

#define REGEX_FLAGS (REG_EXTENDED | REG_NOSUB)
#define MAX_REPEAT 255

/*
 * Patterns are POSIX extended regular expressions. Refused at compile
 * time, so that a pattern cannot take the process hostage:
 *   - back-references (\1..\9, exponential to match);
 *   - repetition counts above 255;
 *   - a quantifier right after another ("a++", "a*{2}": undefined in
 *     POSIX);
 *   - "+" and "{n,m}" nested more than MAX_NEST deep ("((a+)+)+..."), and
 *     a counted repetition of a group that holds one of them: glibc's
 *     regcomp copies the operand of each, so the tree grows as the
 *     product (2^30 nodes for thirty nested "+").
 * "*" and "?" copy nothing and nest freely.
 */
#define MAX_NEST 4

int expr_regex_check(const char *pat, char *msg, size_t msgsize)
{
	/* per open group: how deep "+" and "{}" nest inside it */
	int depth[EXPR_MAX_STRING + 2];
	/* what a quantifier would apply to: 0 nothing, 1 a single atom,
	 * 2 + d a group in which they nest d deep */
	int sp = 0, atom = 0, quant = 0, rc;
	regex_t re;

	depth[0] = 0;
	for (const char *p = pat; *p; p++) {
		if (*p == '+' || *p == '*' || *p == '?' || *p == '{') {
			int inner = atom >= 2 ? atom - 2 : 0;

			if (quant) {
				snprintf(msg, msgsize, "a quantifier after another (such as \"a++\") is not "
					 "supported in regular expressions");
				return -1;
			}
			quant = 1;
			atom = 0;
			if (*p == '*' || *p == '?')
				continue;
			if (*p == '{') {
				long lo, hi;
				char *end;

				lo = strtol(p + 1, &end, 10);
				hi = lo;
				if (*end == ',')
					hi = ascii_isdigit((unsigned char)end[1]) ?
						strtol(end + 1, &end, 10) : (end++, lo);
				if (lo > MAX_REPEAT || hi > MAX_REPEAT) {
					snprintf(msg, msgsize, "repetition count above %d in a regular "
						 "expression", MAX_REPEAT);
					return -1;
				}
				if (inner > 0) {
					snprintf(msg, msgsize, "nested repetition counts are not supported "
						 "in regular expressions");
					return -1;
				}
			}
			if (inner + 1 > MAX_NEST) {
				snprintf(msg, msgsize, "repetitions (\"+\", \"{n,m}\") nested more than %d "
					 "deep in a regular expression", MAX_NEST);
				return -1;
			}
			if (inner + 1 > depth[sp])
				depth[sp] = inner + 1;
			continue;
		}
		quant = 0;
		atom = 1;
		if (*p == '\\') {
			if (p[1] >= '1' && p[1] <= '9') {
				snprintf(msg, msgsize, "back-references are not supported in regular expressions");
				return -1;
			}
			if (p[1])
				p++;
		} else if (*p == '[') {
			/* a bracket expression: "]" first is literal; skip
			 * [:class:], [=x=] and [.x.] */
			p++;
			if (*p == '^')
				p++;
			if (*p == ']')
				p++;
			while (*p && *p != ']') {
				if (*p == '[' && (p[1] == ':' || p[1] == '=' || p[1] == '.')) {
					const char *end = strchr(p + 2, p[1]);

					p = end && end[1] == ']' ? end + 1 : p + 1;
				}
				p++;
			}
			if (!*p)
				break;              /* regcomp reports it */
		} else if (*p == '(') {
			if (sp + 1 < (int)ARRAY_SIZE(depth))
				depth[++sp] = 0;
			atom = 0;
		} else if (*p == ')') {
			int d = depth[sp];

			if (sp > 0) {
				sp--;
				if (d > depth[sp])
					depth[sp] = d;
			}
			atom = 2 + d;
		} else if (*p == '|' || *p == '^' || *p == '$') {
			atom = 0;
		}
	}
	rc = regcomp(&re, pat, REGEX_FLAGS);
	if (rc) {
		char why[128];

		regerror(rc, &re, why, sizeof(why));
		why[0] = (char)ascii_lower((unsigned char)why[0]);
		snprintf(msg, msgsize, "invalid regular expression \"%.40s%s\": %s",
			 pat, strlen(pat) > 40 ? "..." : "", why);
		return -1;
	}
	regfree(&re);
	return 0;
}

static void regex_free(void *p)
{
	regfree(p);
	free(p);
}

/* regexp(PATTERN, TEXT): also what "TEXT REGEXP PATTERN" calls. */
static void fn_regexp(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	regex_t *re = sqlite3_get_auxdata(ctx, 0);
	const char *text;
	int cached = re != NULL, rc;

	(void)argc;
	if (sqlite3_value_type(argv[0]) == SQLITE_NULL ||
	    sqlite3_value_type(argv[1]) == SQLITE_NULL)
		return;                             /* NULL */
	if (!re) {
		const char *pat = (const char *)sqlite3_value_text(argv[0]);
		char msg[200];

		if (!pat) {
			sqlite3_result_error_nomem(ctx);
			return;
		}
		if (expr_regex_check(pat, msg, sizeof(msg)) < 0) {
			sqlite3_result_error(ctx, msg, -1);
			return;
		}
		re = xmalloc(sizeof(*re));
		if (regcomp(re, pat, REGEX_FLAGS)) {
			free(re);
			sqlite3_result_error(ctx, "invalid regular expression", -1);
			return;
		}
	}
	text = (const char *)sqlite3_value_text(argv[1]);
	if (!text) {
		if (!cached)
			regex_free(re);
		sqlite3_result_error_nomem(ctx);
		return;
	}
	rc = regexec(re, text, 0, NULL, 0);
	sqlite3_result_int(ctx, rc == 0);
	/* Last: SQLite may free re at once when it cannot keep it. */
	if (!cached)
		sqlite3_set_auxdata(ctx, 0, re, regex_free);
}

/* ------------------------------------------------------- conversions */

static void fn_num(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	sqlite3_value *v = argv[0];

	(void)argc;
	switch (sqlite3_value_type(v)) {
	case SQLITE_INTEGER:
	case SQLITE_FLOAT:
		sqlite3_result_value(ctx, v);
		return;
	case SQLITE_TEXT:
		/* SQLite's own numeric affinity: locale-free, whole text */
		switch (sqlite3_value_numeric_type(v)) {
		case SQLITE_INTEGER:
			sqlite3_result_int64(ctx, sqlite3_value_int64(v));
			return;
		case SQLITE_FLOAT:
			sqlite3_result_double(ctx, sqlite3_value_double(v));
			return;
		}
		return;
	default:
		return;
	}
}

static void fn_time(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *s, *why;
	int64_t t;
	char buf[20];

	(void)argc;
	if (sqlite3_value_type(argv[0]) != SQLITE_TEXT)
		return;
	s = (const char *)sqlite3_value_text(argv[0]);
	if (!s || norm_time(s, (size_t)sqlite3_value_bytes(argv[0]), NULL, &t, &why) < 0)
		return;
	norm_fmt_time(t, buf);
	sqlite3_result_text(ctx, buf, 19, SQLITE_TRANSIENT);
}

static void fn_bool(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *s, *why;
	int b;

	(void)argc;
	switch (sqlite3_value_type(argv[0])) {
	case SQLITE_INTEGER:
		sqlite3_result_int(ctx, sqlite3_value_int64(argv[0]) != 0);
		return;
	case SQLITE_FLOAT:
		sqlite3_result_int(ctx, sqlite3_value_double(argv[0]) != 0);
		return;
	case SQLITE_TEXT:
		s = (const char *)sqlite3_value_text(argv[0]);
		if (s && norm_bool(s, (size_t)sqlite3_value_bytes(argv[0]), &b, &why) == 0)
			sqlite3_result_int(ctx, b);
		return;
	default:
		return;
	}
}

/* ------------------------------------------------------ currencies */

/*
 * crm_currency_k(CODE): what an amount in CODE's minor units is multiplied
 * by to give thousandths of its major unit: 1000 for a currency without
 * decimals (JPY), 100 with one, 1 with three (KWD), 10 for any other text,
 * number or NULL (two decimals, most of them, or a code norm does not
 * know). Codes compare as SQL text does, by bytes: "jpy" is not JPY. A
 * table indexed by the three letters, filled from norm's on first use.
 */
static unsigned short currency_k[26 * 26 * 26];

static void currency_k_init(void)
{
	char code[4];
	int exp;

	if (currency_k[0])
		return;
	for (size_t i = 0; i < ARRAY_SIZE(currency_k); i++)
		currency_k[i] = 10;
	for (size_t i = 0; norm_currency_at(i, code, &exp) == 0; i++) {
		int k = (code[0] - 'A') * 676 + (code[1] - 'A') * 26 + (code[2] - 'A');

		if (code[0] < 'A' || code[0] > 'Z' || code[1] < 'A' || code[1] > 'Z' ||
		    code[2] < 'A' || code[2] > 'Z')
			continue;
		currency_k[k] = exp == 0 ? 1000 : exp == 1 ? 100 : exp == 3 ? 1 : 10;
	}
}

int expr_currency_k(const char *code, size_t len)
{
	const unsigned char *c = (const unsigned char *)code;

	currency_k_init();
	if (!code || len != 3 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' ||
	    c[2] < 'A' || c[2] > 'Z')
		return 10;
	return currency_k[(c[0] - 'A') * 676 + (c[1] - 'A') * 26 + (c[2] - 'A')];
}

static void fn_currency_k(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	if (sqlite3_value_type(argv[0]) != SQLITE_TEXT) {
		sqlite3_result_int(ctx, 10);
		return;
	}
	sqlite3_result_int(ctx, expr_currency_k((const char *)sqlite3_value_text(argv[0]),
						(size_t)sqlite3_value_bytes(argv[0])));
}

void expr_register(sqlite3 *db)
{
	static const struct {
		const char *name;
		int argc;
		void (*fn)(sqlite3_context *, int, sqlite3_value **);
	} fns[] = {
		{ "regexp", 2, fn_regexp },
		{ "crm_num", 1, fn_num },
		{ "crm_time", 1, fn_time },
		{ "crm_bool", 1, fn_bool },
		{ "crm_currency_k", 1, fn_currency_k },
	};
	int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC;

	currency_k_init();
#ifdef SQLITE_INNOCUOUS
	flags |= SQLITE_INNOCUOUS;
#endif
	for (size_t i = 0; i < ARRAY_SIZE(fns); i++)
		if (sqlite3_create_function(db, fns[i].name, fns[i].argc, flags, NULL,
					    fns[i].fn, NULL, NULL) != SQLITE_OK)
			crm_die(1, "cannot register SQL function %s: %s", fns[i].name,
				sqlite3_errmsg(db));
}

/* ------------------------------------------------------- authorizer */

static const char *const allowed_functions[] = {
	"count", "sum", "total", "avg", "min", "max", "coalesce", "ifnull",
	"nullif", "iif", "julianday", "datetime", "date", "time", "strftime",
	"unixepoch", "substr", "substring", "json_extract", "lower", "upper",
	"length", "like", "glob", "abs", "round", "typeof", "instr", "trim",
	"ltrim", "rtrim", "regexp", "crm_num", "crm_time", "crm_bool", "crm_currency_k", NULL,
};

int expr_authorizer(void *user, int action, const char *a, const char *b,
		    const char *db, const char *trigger)
{
	(void)user;
	(void)db;
	(void)trigger;
	switch (action) {
	case SQLITE_SELECT:
		return SQLITE_OK;
	case SQLITE_READ:
		if (a && (!ascii_casecmp(a, "meta") || !ascii_casecmp(a, "suppressions")))
			return SQLITE_DENY;
		return SQLITE_OK;
	case SQLITE_FUNCTION:
		for (size_t i = 0; b && allowed_functions[i]; i++)
			if (!ascii_casecmp(b, allowed_functions[i]))
				return SQLITE_OK;
		return SQLITE_DENY;
	default:
		return SQLITE_DENY;
	}
}

int expr_check_readonly(sqlite3_stmt *st)
{
	return st && sqlite3_stmt_readonly(st) ? 0 : -1;
}
