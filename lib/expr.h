/*
 * expr.h - the segment expression language: compiles a boolean expression
 * such as
 *
 *     days_since_last_order > 30 and orders >= 1 and consent("email")
 *
 * into an SQL condition over the customers table (alias "c") with bound
 * parameters. The language itself (grammar, types, fields, functions) is
 * described at the top of expr.c and in crm(7).
 *
 * No user text is ever pasted into the SQL: every literal (numbers,
 * strings, times, durations, attribute paths, regular expressions,
 * channel names, event types, campaign names) becomes a "?NNN" parameter,
 * and every identifier maps through an allow-list to a fixed SQL snippet.
 * The compiled condition is meant to be used as
 *
 *     SELECT ... FROM customers c WHERE c.erased_at IS NULL AND (<sql>)
 *
 * A typical caller:
 *
 *     struct expr_err err;
 *     struct expr *e = expr_compile(text, crm->now, &err);
 *     if (!e)
 *             crm_die(2, "expression:%d:%d: %s", err.line, err.col, err.msg);
 *     expr_register(db);
 *     ... build the query around expr_sql(e) ...
 *     sqlite3_set_authorizer(db, expr_authorizer, NULL);
 *     rc = sqlite3_prepare_v2(db, query, -1, &st, NULL);
 *     sqlite3_set_authorizer(db, NULL, NULL);
 *     if (rc != SQLITE_OK || expr_check_readonly(st)) ... refuse ...
 *     expr_bind(e, st, 1);
 *     while (sqlite3_step(st) == SQLITE_ROW) ...
 *     sqlite3_finalize(st);
 *     expr_free(e);
 */
#ifndef CRM_EXPR_H
#define CRM_EXPR_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

#include "util.h"

/*
 * Limits: longer or deeper expressions are compile errors ("expression
 * nested too deeply" at the innermost part), never crashes. Besides these,
 * the generated SQL must fit SQLite's parser, whose stack (100 entries up
 * to SQLite 3.45) overflows long before its expression depth limit: the
 * compiler measures the nesting of the SQL it made and refuses what would
 * not parse inside a caller's query. That allows about 8 levels of
 * "not (a and not (b and ...))", 11 of "((x + 1) * 2 ...)", and any number
 * of parentheses that do not change the SQL ("((((x))))", 256).
 */
#define EXPR_MAX_LEN     65536 /* bytes of expression text */
#define EXPR_MAX_DEPTH   256   /* nesting of (), not, unary minus, calls */
#define EXPR_MAX_STRING  4096  /* bytes of one string literal */
#define EXPR_MAX_LIST    1000  /* values in one in (...) list */
#define EXPR_MAX_PARAMS  30000 /* bound parameters of one expression */

/* The types of the language. EXPR_ANY is an attribute (attr.NAME), whose
 * JSON value takes the type of what it is compared with. */
enum expr_type {
	EXPR_BOOL,
	EXPR_NUMBER,
	EXPR_STRING,
	EXPR_TIME,     /* SQL text "YYYY-MM-DD HH:MM:SS", UTC */
	EXPR_DURATION, /* SQL number of seconds */
	EXPR_ANY,
	EXPR_NULL,
};

/* "bool", "number", "string", "time", "duration", "attribute", "null". */
const char *expr_type_name(enum expr_type t);

/* Where and why a compilation failed. line and col are 1-based; col
 * counts UTF-8 characters (a tab counts as one). msg is lowercase, without
 * a trailing period, e.g. `unknown field "ordres" (did you mean "orders"?)`.
 * The program prints "crm-segment: expression:LINE:COL: MSG". */
struct expr_err {
	int line, col;
	char msg[256];
};

struct expr;

/*
 * Parses and type-checks text and generates its SQL. now (seconds since
 * the epoch, UTC) is the time that now(), today(), every window
 * (orders(90d)) and birthday_in() are computed from; it is fixed at
 * compile time into bound parameters, and order, event and consent
 * history after now is ignored (see expr.c). Returns NULL on error and
 * fills *err when err is not NULL.
 */
struct expr *expr_compile(const char *text, int64_t now, struct expr_err *err);
void expr_free(struct expr *e);

/*
 * The SQL boolean condition over customers c. It holds only fixed SQL
 * snippets and parameter references "?N", numbered from 1 unless
 * expr_renumber() said otherwise. A condition may be NULL for a customer
 * (SQL's unknown); a WHERE clause treats that as false, which is what the
 * language means (see "missing values" in expr.c).
 *
 * For speed, the top-level and-ed conditions on order metrics and events
 * that cannot hold for a customer without such rows ("orders >= 2",
 * "revenue(365d) > 10000", "event("cart_add", 2d)") come out as
 * "c.id IN (SELECT ...)" over order_stats or events, which SQLite computes
 * once per statement; the clauses (expr_clause) keep the SQL that looks
 * up one customer, which is what --why wants.
 */
const char *expr_sql(const struct expr *e);

/* The number of parameters; they are numbered first .. first + n - 1. */
size_t expr_nparams(const struct expr *e);

/*
 * Renumbers the parameters to start at first (>= 1) and regenerates the
 * text of expr_sql() and of every clause, so that a caller can put its own
 * parameters ?1 .. ?(first - 1) before the expression in one statement.
 * Parameters after the expression's can simply be "?" (SQLite numbers an
 * anonymous "?" one past the largest so far).
 */
void expr_renumber(struct expr *e, int first);

/* Binds every parameter of e to st: parameter i (from 0) to index
 * first + i, where first is what expr_renumber() was given (1 by default);
 * those past the statement's largest index are left out (expr_sql() need
 * not use the last ones: "event(...) > 0" asks for the customers with such
 * events, and only its clause compares their number with 0). Text is
 * copied (SQLITE_TRANSIENT). Returns SQLITE_OK or the first sqlite3_bind_*
 * error. */
int expr_bind(const struct expr *e, sqlite3_stmt *st, int first);

/* Appends parameter i (from 0) as an SQL literal to out, for --sql:
 * 42, 0.5, 'it''s' (quotes doubled). */
void expr_param_text(const struct expr *e, size_t i, struct sb *out);

/*
 * Clauses, for --why. The clauses are the operands of the top-level
 * and/or chain (an "a and b and c" is one chain of three), in source
 * order, each followed by its own operands when it is itself an and, or or
 * not, one level deeper. For "a and (b or c) and not d":
 *
 *     depth 0  a
 *     depth 0  (b or c)
 *     depth 1    b
 *     depth 1    c
 *     depth 0  not d
 *     depth 1    d
 *
 * An expression without and/or/not at the top has one clause, itself; a
 * top-level "not x" lists x. Each clause has its source text, its own SQL
 * condition and, unless it is an and/or/not, the SQL of the value it tests
 * (for "orders >= 2" the orders metric, for "consent("sms")" the consent
 * itself, for "birthday_in(3d)" the birthday), and the type of that value.
 * All use the parameters of expr_sql(), so one statement such as
 *
 *     SELECT <cond 0>, <value 0>, <cond 1>, ... FROM customers c WHERE c.id = ?N
 *
 * with N = first + expr_nparams(e) (numbered explicitly: a bare "?" would
 * get a smaller number when some clauses are left out) evaluates every
 * clause for one customer after expr_bind(). A condition that is NULL did
 * not hold. SQLite allows 2000 result columns: take the clauses in
 * batches if an expression has more than 1000.
 */
struct expr_clause {
	int depth;
	size_t start, len;   /* byte range in the expression text */
	int line, col;       /* of start, as in struct expr_err */
	const char *text;    /* that range, NUL-terminated */
	const char *cond;    /* SQL condition */
	const char *value;   /* SQL value, or NULL for and/or/not */
	enum expr_type type; /* of value */
};

size_t expr_nclauses(const struct expr *e);
const struct expr_clause *expr_clause(const struct expr *e, size_t i);

/*
 * The SQL value expression of a field or metric by name ("email",
 * "orders", "days_since_last_order", "attr.plan") over customers c, for
 * --fields. now is inlined as a literal; the SQL has no parameters and is
 * appended to sql. Times come out as "YYYY-MM-DD HH:MM:SS" text, birthday
 * as "YYYY-MM-DD", durations as seconds. Returns 0, -1 for an unknown
 * name, -2 for a name that is not available yet (the scores).
 */
int expr_field_sql(const char *name, int64_t now, struct sb *sql);

/*
 * The SQL factor that turns an amount in minor units of the currency in
 * column col into thousandths of its major unit ("crm_currency_k(col)",
 * see expr_register()): what revenue sums, and what order_stats.revenue
 * holds (lib/db.c). expr_currency_k() is the same factor in C: 1000 for
 * a currency without decimals (JPY), 100 with one, 1 with three (KWD),
 * else 10.
 */
void expr_currency_factor(struct sb *out, const char *col);
int expr_currency_k(const char *code, size_t len);

/*
 * Every name of the language, for --fields all, --help and the man page:
 * expr_name_at(i, &n) fills n with the i-th (from 0) and returns 0, or
 * returns -1 past the end. Fields and metrics come first, then functions.
 * A name can appear twice: "orders" is a metric and orders(DURATION) a
 * function.
 */
struct expr_name {
	const char *name;      /* "orders", "event" */
	const char *signature; /* "orders", "event(TYPE[, DURATION])" */
	enum expr_type type;   /* of the value */
	int is_function;
	int available;         /* 0: depends on a table that does not exist yet */
	const char *needs;     /* when not available: what it needs */
	const char *doc;       /* one line, lowercase, no period */
};

int expr_name_at(size_t i, struct expr_name *n);

/*
 * Registers on db the SQL functions the compiled SQL calls (all
 * deterministic, UTF-8):
 *   regexp(PATTERN, TEXT)  1 when TEXT matches the POSIX extended regular
 *                          expression PATTERN, 0 when not, NULL when either
 *                          is NULL; the compiled pattern is cached per
 *                          statement (sqlite3_get_auxdata)
 *   crm_num(X)             X as a number: numbers as they are, text that
 *                          is a decimal number converted, else NULL
 *   crm_time(X)            X as "YYYY-MM-DD HH:MM:SS" when it is a date or
 *                          time norm_time() accepts, else NULL
 *   crm_bool(X)            1 or 0 from a number (non-zero) or from text
 *                          norm_bool() accepts (yes/no, true/false, ...),
 *                          else NULL
 *   crm_currency_k(CODE)   the currency factor of expr_currency_factor():
 *                          1000, 100, 1 or 10 (any other value, NULL)
 * Dies like the db_* helpers if SQLite refuses.
 */
void expr_register(sqlite3 *db);

/*
 * An authorizer (sqlite3_set_authorizer) for preparing the statement that
 * holds a compiled expression: it allows SQLITE_SELECT, SQLITE_READ of
 * any table but meta (the database secret) and suppressions, and
 * SQLITE_FUNCTION of an allow-list (count sum total avg min max coalesce
 * ifnull nullif iif julianday datetime date time strftime unixepoch substr
 * substring json_extract lower upper length like glob abs round typeof
 * instr trim ltrim rtrim regexp crm_num crm_time crm_bool crm_currency_k);
 * everything else (writes, PRAGMA, ATTACH, transactions, load_extension,
 * ...) is denied. That includes table-valued functions such as json_each(), whose
 * declaration SQLite reports as an update of sqlite_master: pass a list
 * of ids as "WITH ids(id) AS (VALUES (?), (?), ...)" or in a temporary
 * table filled before. Set it only around sqlite3_prepare of that
 * statement: it is consulted at prepare time.
 */
int expr_authorizer(void *user, int action, const char *a, const char *b,
		    const char *db, const char *trigger);

/* 0 when st cannot write to the database (sqlite3_stmt_readonly), else
 * -1. The caller must refuse to step a statement for which this fails. */
int expr_check_readonly(sqlite3_stmt *st);

#endif
