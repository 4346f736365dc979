/*
 * expr_int.h - internals shared by expr.c (parser, type checker),
 * expr_lex.c (tokens), expr_sql.c (the allow-list of names and the SQL
 * generator) and expr_fn.c (SQL functions, authorizer). Not an API: see
 * expr.h.
 */
#ifndef CRM_EXPR_INT_H
#define CRM_EXPR_INT_H

#include "expr.h"

/* Highest SQL expression tree we generate; SQLite's default limit
 * (SQLITE_MAX_EXPR_DEPTH) is 1000 and the caller wraps a few levels. */
#define EXPR_MAX_SQL_DEPTH 900
/* Deepest parenthesis nesting of the SQL, in expr_sql_nesting() units;
 * SQLite's parser (3.40) takes about 100, the caller wraps a few levels. */
#define EXPR_MAX_SQL_NEST 72

/* ---------------------------------------------------------------- tokens */

enum expr_tok {
	TK_EOF, TK_ERR,
	TK_NUM, TK_STR, TK_TIME, TK_DUR, TK_IDENT, TK_ATTR,
	TK_AND, TK_OR, TK_NOT, TK_IN, TK_BETWEEN, TK_LIKE, TK_IS, TK_NULL,
	TK_TRUE, TK_FALSE,
	TK_LP, TK_RP, TK_COMMA,
	TK_EQ, TK_NE, TK_LT, TK_LE, TK_GT, TK_GE, TK_MATCH, TK_NMATCH,
	TK_PLUS, TK_MINUS, TK_STAR, TK_SLASH, TK_PCT,
};

struct expr_token {
	enum expr_tok t;
	size_t pos, len;  /* bytes of the source */
	int is_real;      /* TK_NUM */
	int64_t i;        /* TK_NUM integer, TK_TIME epoch, TK_DUR seconds */
	double d;         /* TK_NUM real */
	char *s;          /* TK_STR value, TK_IDENT lower case, TK_ATTR JSON
			   * path, TK_ERR message (all malloc'd) */
	size_t slen;
};

/* Splits text into tokens; the array always ends with one TK_EOF or
 * TK_ERR token (a lexical error, reported when the parser gets there). */
void expr_lex(const char *text, size_t len, struct expr_token **out, size_t *n);
void expr_tokens_free(struct expr_token *t, size_t n);

/* ------------------------------------------------------------ names */

enum expr_filter { FILTER_NONE, FILTER_STATUS, FILTER_SKU, FILTER_CATEGORY, FILTER_NAME };

enum expr_norm { NORM_NONE, NORM_EMAIL, NORM_PHONE, NORM_COUNTRY };
enum expr_special { SP_NONE, SP_NOW, SP_TODAY, SP_BIRTHDAY };

/*
 * One allow-listed name. sql is an SQL template (see expr_sql.c for its
 * $placeholders); NULL means the name is known but its data does not
 * exist yet, and using it is an error that names needs. A function's args
 * has one letter per argument, optional ones after '[':
 *     c  a channel: string literal, lower-cased, must be a known channel
 *     e  an event type: string literal, lower-cased
 *     p  a campaign (or message) name: string literal, kept as written
 *     d  a window: constant duration >= 0
 *     D  a number of whole days: constant duration, 0d .. 366d
 *     s  a status filter: status = "LITERAL", normalised as crm-import
 *        stores statuses (on-hold is on_hold)
 *     P  a product: a string literal (a SKU) or a filter sku = "...",
 *        category = "..." or name = "..."
 * A filter FIELD = "LITERAL" is a string constant whose node has filter
 * set (enum expr_filter); a name with two entries (orders(DURATION) and
 * orders(status = ...)) is told apart by whether argument 1 is a filter.
 */
struct expr_def {
	const char *name;
	unsigned char is_func;
	unsigned char type;    /* enum expr_type of the value */
	unsigned char norm;    /* enum expr_norm: literals compared with it */
	unsigned char special; /* enum expr_special */
	const char *args;      /* functions only */
	const char *sql;
	const char *show;      /* value for output and --why, when not sql */
	const char *needs;
	const char *sig;
	const char *doc;
	/*
	 * Metrics that hold nothing for a customer without orders (or
	 * without events of the kind) can select their customers from the
	 * rows that have some, which is what makes a large base fast (see
	 * expr_gen_top() in expr_sql.c). in_val is the metric's template
	 * in that setting; with in_from NULL it reads the order_stats row s
	 * of the customer s.customer_id, and in_pre, when given, is a
	 * condition on s that holds whenever the metric is not nil (its
	 * window has an order); with in_from the template is an aggregate
	 * over the rows of in_from, "SELECT e.customer_id FROM events e
	 * WHERE ...", grouped by e.customer_id ("count(*)" for a count).
	 * nil is the metric's value for a customer who has no such rows:
	 * NIL_NULL or NIL_ZERO.
	 */
	const char *in_val, *in_pre, *in_from;
	unsigned char nil;
};

enum { NIL_NULL, NIL_ZERO };

extern const struct expr_def expr_defs[];
extern const size_t expr_ndefs;

const struct expr_def *expr_def_find(const char *name, size_t len, int is_func);

/* ------------------------------------------------------------ the tree */

enum expr_nkind {
	NK_CONST, NK_FIELD, NK_CALL, NK_ATTR, NK_COERCE, NK_NEG, NK_ARITH,
	NK_CMP, NK_IN, NK_BETWEEN, NK_LIKE, NK_REGEX, NK_ISNULL,
	NK_AND, NK_OR, NK_NOT,
};

struct expr_node {
	enum expr_nkind kind;
	enum expr_type type;
	size_t start, end;  /* source bytes [start, end) */
	size_t oppos;       /* the operator, for messages */
	enum expr_tok op;   /* NK_ARITH, NK_CMP */
	int neg;            /* not in, not between, not like, !~, is not null */
	int filter;         /* NK_CONST: a call's FIELD = "..." (enum expr_filter) */
	/* NK_CONST: the value (EXPR_NUMBER uses i or d by is_real; TIME i is
	 * the epoch, DURATION i seconds, BOOL i 0/1, STRING s/len);
	 * NK_ATTR: s is the JSON path. */
	int is_real;
	int64_t i;
	double d;
	char *s;
	size_t len;
	const struct expr_def *def;  /* NK_FIELD, NK_CALL */
	struct expr_node **kid;
	size_t nkid;
	int sqlh;                    /* estimated height of its SQL */
	/* Parameters, allocated once so that every clause shares them:
	 * p[0] the value (NK_CONST), the window start (NK_CALL);
	 * p[1] the epoch of a constant time; pfirst/pcount birthday days. */
	int p[2];
	int pfirst, pcount;
};

/* ------------------------------------------------------------ the result */

enum expr_ptype { EXPR_P_INT, EXPR_P_REAL, EXPR_P_TEXT };

struct expr_param {
	enum expr_ptype type;
	int64_t i;
	double d;
	char *s;
	size_t len;
};

/* In generated SQL a parameter is "\001N\002" (N from 0) until rendered
 * as "?M" by expr_render(), and "\003P\002" marks where the SQL of the
 * node at source position P starts (rendering drops it). */
#define EXPR_PMARK 1
#define EXPR_PEND 2
#define EXPR_NMARK 3

struct expr_iclause {
	char *cond, *value;  /* with parameter marks */
};

struct expr {
	char *text;
	int64_t now;
	int first;
	struct expr_param *params;
	size_t nparams, cparams;
	char *isql, *sql;
	struct expr_iclause *ic;
	struct expr_clause *clauses;
	size_t nclauses, cclauses;
};

/* SQL generation. g->e collects the parameters. */
struct expr_gen {
	struct expr *e;
	int64_t now;
	int now_p, nowt_p;
	struct sb k;           /* the currency multiplier CASE, once built */
	int failed;
	size_t errpos;
	int in_ctx;            /* generating a metric's in_val (expr_gen_top) */
};

void expr_gen_init(struct expr_gen *g, struct expr *e, int64_t now);
void expr_gen_release(struct expr_gen *g);
void expr_gen_cond(struct expr_gen *g, struct expr_node *n, struct sb *out);
void expr_gen_value(struct expr_gen *g, struct expr_node *n, struct sb *out);
/* The whole condition, as expr_gen_cond() but with the top-level
 * and-ed conditions on order metrics and events turned into "c.id IN
 * (SELECT ...)" of the customers that have such rows. Returns how many
 * conditions it turned (0: the SQL is expr_gen_cond()'s). */
int expr_gen_top(struct expr_gen *g, struct expr_node *root, struct sb *out);
/* The value shown for a clause subject: a field's show SQL if it has one. */
void expr_gen_show(struct expr_gen *g, struct expr_node *n, struct sb *out);
/* "?first+N" for every mark of isql; malloc'd. */
char *expr_render(const char *isql, int first);
/* Parenthesis nesting of generated SQL as SQLite's parser sees it (see
 * expr_sql.c); *pos gets the source position of the innermost node at the
 * deepest point. */
int expr_sql_nesting(const char *isql, size_t *pos);

/* Birthday days: the "MM-DD" strings whose birthdays fall within
 * [today, today + days] of now (see expr_sql.c). Returns how many were
 * written to out (at most 368). */
size_t expr_birthday_days(int64_t now, int days, char out[][6]);

/* Checks a regular expression literal: 0, or -1 with a message in msg. */
int expr_regex_check(const char *pat, char *msg, size_t msgsize);

#endif
