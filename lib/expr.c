/*
 * expr.c - the segment expression language: parser, type checker and the
 * public API of expr.h. Tokens are in expr_lex.c, the allow-list of names
 * and the SQL generator in expr_sql.c, the SQL functions and the
 * authorizer in expr_fn.c.
 *
 * GRAMMAR (keywords are case-insensitive, "#" starts a comment to the end
 * of the line):
 *
 *     expr     = or
 *     or       = and { "or" and }
 *     and      = not { "and" not }
 *     not      = "not" not | cmp
 *     cmp      = sum [ ( "=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">=" ) sum
 *                    | [ "not" ] "in" "(" sum { "," sum } ")"
 *                    | [ "not" ] "between" sum "and" sum
 *                    | [ "not" ] "like" sum
 *                    | ( "~" | "!~" | "not" "~" ) STRING
 *                    | "is" [ "not" ] "null" ]
 *     sum      = product { ( "+" | "-" ) product }
 *     product  = unary { ( "*" | "/" | "%" ) unary }
 *     unary    = ( "-" | "+" ) unary | primary
 *     primary  = NUMBER | STRING | TIME | DURATION | "true" | "false" | "null"
 *              | NAME | NAME "(" [ arg { "," arg } ] ")"
 *              | "attr" "." KEY { "." KEY } | "(" expr ")"
 *     arg      = expr | FIELD "=" STRING          (a filter: see FILTERS)
 *
 *     NUMBER   12  3.25                       (no exponents)
 *     STRING   "..." or '...'; escapes \\ \" \' \n \t \r; any other
 *              backslash stays as written ("@example\.com$")
 *     TIME     2026-01-31  2026-01-31T10:00:00Z  2026-01-31 10:00
 *              2026-01-31T10:00+03:00         (UTC unless an offset)
 *     DURATION 90s 15min 12h 30d 8w 3mo 1y   (mo = 30d, y = 365d)
 *
 * A comparison does not chain ("a < b < c" is an error); "not" binds
 * looser than comparisons, so "not orders > 2" is "not (orders > 2)".
 *
 * TYPES: bool, number, string, time, duration, and attributes, which take
 * the type of what they meet. Comparisons need equal types, except that
 * bool and number mix (true is 1), a string literal compared with a time
 * or a duration is read as one ("2026-01-31", "30d"), and an attribute
 * converts: crm_num() against a number (JSON 41 and "41" are both 41),
 * crm_time() against a time, text against a string, crm_bool() against a
 * bool. Arithmetic: number op number (/ is real division, % integer
 * remainder); time - time = duration; time +- duration = time; duration
 * +- duration; duration * number; duration / number; duration / duration
 * = number. Constant times and durations are folded at compile time
 * ("now() - 30d" is one parameter). Where a condition is expected (the
 * operands of and/or/not and the whole expression) a bool is itself, a
 * number is true when non-zero (event("cart_add", 2d)), a time or a
 * duration when present (not opened("promo")), an attribute through
 * crm_bool(); a string is an error.
 *
 * MISSING VALUES: a comparison, in, between, like or ~ with a missing
 * value (null: no orders for days_since_last_order, no such attribute) is
 * false, and "not" turns false into true, so "not X" is exactly the
 * customers for whom X does not hold: "days_since_last_order > 30" is false
 * for a customer who never bought, and "not (days_since_last_order > 30)"
 * true. "x = null" means "x is null" and "x != null" "x is not null".
 *
 * LITERALS meet their fields: a string compared (=, !=, in) with email is
 * normalised like crm-import does (lower case), with phone to E.164 when
 * it parses, with country to its ISO code ("Russia" is "RU").
 * Channels (consent, unsubscribed) and event types are lower-cased, as
 * crm-import stores them; campaign names are kept as written.
 *
 * FILTERS: a function may take, as its first argument, FIELD = "LITERAL"
 * with a string literal: orders(status = "unpaid"[, 30d]) the field
 * status (normalised as stored statuses are, ordstat_norm()), and
 * bought(), bought_count() and spent() sku, category and name (a bare
 * string is a SKU). A field the function does not take is an error that
 * lists those it takes; FIELD = ... is parsed as a filter only in the
 * calls of such functions, so that elsewhere "status" is an unknown field.
 *
 * LIMITS (expr.h): 64 KiB of text, 256 levels of nesting, 4 KiB per
 * string, 1000 values per list, 30000 parameters, and SQL that SQLite's
 * parser can read inside a caller's query. Regular expressions are POSIX
 * extended, checked when compiled; back-references and counted repetitions
 * above 255 or of a group that holds one are refused (see expr_fn.c).
 *
 * The names (fields, metrics, functions) and their SQL are the table in
 * expr_sql.c.
 */
#include "expr_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "norm.h"
#include "ordstat.h"

struct parser {
	const char *text;
	size_t len;
	struct expr_token *tok;
	size_t ntok, i;
	int64_t now;
	int depth;
	int failed;
	struct expr_err *err;
	struct expr_node **all;
	size_t nall, call;
};

const char *expr_type_name(enum expr_type t)
{
	switch (t) {
	case EXPR_BOOL: return "bool";
	case EXPR_NUMBER: return "number";
	case EXPR_STRING: return "string";
	case EXPR_TIME: return "time";
	case EXPR_DURATION: return "duration";
	case EXPR_ANY: return "attribute";
	case EXPR_NULL: return "null";
	}
	return "?";
}

/* 1-based line and column (in UTF-8 characters) of byte pos. */
static void position(const char *text, size_t pos, int *line, int *col)
{
	int l = 1, c = 1;

	for (size_t i = 0; i < pos && text[i]; i++) {
		unsigned char ch = (unsigned char)text[i];

		if (ch == '\n') {
			l++;
			c = 1;
		} else if ((ch & 0xC0) != 0x80) {
			c++;
		}
	}
	*line = l;
	*col = c;
}

__attribute__((format(printf, 4, 5)))
static void set_err(struct expr_err *err, const char *text, size_t pos, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	position(text, pos, &err->line, &err->col);
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

/* Records the first error only; returns NULL for "return perr(...)". */
__attribute__((format(printf, 3, 4)))
static void *perr(struct parser *p, size_t pos, const char *fmt, ...)
{
	va_list ap;

	if (p->failed)
		return NULL;
	p->failed = 1;
	if (p->err) {
		position(p->text, pos, &p->err->line, &p->err->col);
		va_start(ap, fmt);
		vsnprintf(p->err->msg, sizeof(p->err->msg), fmt, ap);
		va_end(ap);
	}
	return NULL;
}

/* ------------------------------------------------------------- nodes */

static struct expr_node *new_node(struct parser *p, enum expr_nkind kind,
				  enum expr_type type, size_t start, size_t end)
{
	struct expr_node *n = xcalloc(1, sizeof(*n));

	n->kind = kind;
	n->type = type;
	n->start = start;
	n->end = end;
	n->p[0] = n->p[1] = -1;
	n->pfirst = -1;
	n->sqlh = 1;
	p->all = xgrow(p->all, sizeof(*p->all), p->nall + 1, &p->call);
	p->all[p->nall++] = n;
	return n;
}

static void free_nodes(struct parser *p)
{
	for (size_t i = 0; i < p->nall; i++) {
		free(p->all[i]->s);
		free(p->all[i]->kid);
		free(p->all[i]);
	}
	free(p->all);
	p->all = NULL;
	p->nall = 0;
}

/* Adds a child and grows the SQL height estimate by cost; too deep SQL
 * is an error at the node. */
static int add_kid(struct parser *p, struct expr_node *n, struct expr_node *k, int cost)
{
	n->kid = xrealloc(n->kid, (n->nkid + 1) * sizeof(*n->kid));
	n->kid[n->nkid++] = k;
	if (k->sqlh + cost > n->sqlh)
		n->sqlh = k->sqlh + cost;
	if (n->sqlh > EXPR_MAX_SQL_DEPTH) {
		perr(p, n->oppos ? n->oppos : n->start, "expression nested too deeply");
		return -1;
	}
	return 0;
}

static const char *tok_text(enum expr_tok t)
{
	switch (t) {
	case TK_EQ: return "=";
	case TK_NE: return "!=";
	case TK_LT: return "<";
	case TK_LE: return "<=";
	case TK_GT: return ">";
	case TK_GE: return ">=";
	case TK_PLUS: return "+";
	case TK_MINUS: return "-";
	case TK_STAR: return "*";
	case TK_SLASH: return "/";
	case TK_PCT: return "%";
	case TK_MATCH: return "~";
	case TK_NMATCH: return "!~";
	default: return "?";
	}
}

static struct expr_token *peek(struct parser *p)
{
	return &p->tok[p->i];
}

static struct expr_token *peek2(struct parser *p)
{
	return p->i + 1 < p->ntok ? &p->tok[p->i + 1] : &p->tok[p->i];
}

static struct expr_token *next(struct parser *p)
{
	struct expr_token *t = &p->tok[p->i];

	if (t->t != TK_EOF && t->t != TK_ERR)
		p->i++;
	return t;
}

/* How a token is named in "expected X, found Y". */
static void describe(struct parser *p, const struct expr_token *t, char *buf, size_t size)
{
	switch (t->t) {
	case TK_EOF:
		snprintf(buf, size, "end of expression");
		break;
	case TK_STR:
		snprintf(buf, size, "a string");
		break;
	default:
		snprintf(buf, size, "\"%.*s\"", (int)(t->len > 40 ? 40 : t->len), p->text + t->pos);
		break;
	}
}

/* An error at t: the lexer's own message for TK_ERR, else "expected
 * what, found ...". */
static void *expected(struct parser *p, const struct expr_token *t, const char *what)
{
	char found[64];

	if (t->t == TK_ERR)
		return perr(p, t->pos, "%s", t->s);
	describe(p, t, found, sizeof(found));
	return perr(p, t->pos, "expected %s, found %s", what, found);
}

static int is_const(const struct expr_node *n, enum expr_type t)
{
	return n->kind == NK_CONST && n->type == t;
}

/* ------------------------------------------------------- did you mean */

/* The closest name of the table (fields or functions), or NULL. */
static const char *suggest_name(const char *word, int is_func)
{
	const char *best = NULL;
	size_t bd = 99;

	for (size_t i = 0; i < expr_ndefs; i++) {
		size_t dd;

		if (expr_defs[i].is_func != is_func)
			continue;
		dd = str_distance(word, expr_defs[i].name);
		if (dd < bd) {
			bd = dd;
			best = expr_defs[i].name;
		}
	}
	return best && str_close_enough(word, bd) ? best : NULL;
}

static const char *suggest_channel(const char *word)
{
	return str_suggest(word, norm_channels);
}

/* ------------------------------------------------------------- types */

/* Where a condition is expected: everything but strings and null. */
static int check_cond(struct parser *p, struct expr_node *n)
{
	if (n->type == EXPR_STRING)
		return perr(p, n->start, "expected a condition, got a string"), -1;
	if (n->type == EXPR_NULL)
		return perr(p, n->start, "expected a condition, got null"), -1;
	return 0;
}

static struct expr_node *coerce(struct parser *p, struct expr_node *n, enum expr_type t)
{
	struct expr_node *c;

	if (n->type != EXPR_ANY || t == EXPR_ANY)
		return n;
	c = new_node(p, NK_COERCE, t, n->start, n->end);
	if (add_kid(p, c, n, 1) < 0)
		return NULL;
	return c;
}

/* A string literal read as a time or a duration, in place. */
static int literal_as(struct parser *p, struct expr_node *n, enum expr_type t)
{
	const char *why;
	int64_t v;

	if (t == EXPR_TIME) {
		if (norm_time(n->s, n->len, NULL, &v, &why) < 0) {
			perr(p, n->start, "invalid time \"%.*s\": %s",
			     (int)(n->len > 40 ? 40 : n->len), n->s, why);
			return -1;
		}
	} else {
		if (norm_duration(n->s, n->len, &v, &why) < 0) {
			perr(p, n->start, "invalid duration \"%.*s\": %s",
			     (int)(n->len > 40 ? 40 : n->len), n->s, why);
			return -1;
		}
	}
	free(n->s);
	n->s = NULL;
	n->len = 0;
	n->i = v;
	n->type = t;
	return 0;
}

/*
 * Makes *a and *b comparable, converting attributes and string literals
 * (see TYPES above); an error names the operator at oppos. what is
 * "compare" for messages.
 */
static int unify(struct parser *p, struct expr_node **a, struct expr_node **b, size_t oppos)
{
	enum expr_type ta = (*a)->type, tb = (*b)->type;

	if (ta == EXPR_ANY && tb == EXPR_ANY)
		return 0;
	if (ta == EXPR_ANY || tb == EXPR_ANY) {
		struct expr_node **x = ta == EXPR_ANY ? a : b;
		enum expr_type t = ta == EXPR_ANY ? tb : ta;

		if (t == EXPR_DURATION || t == EXPR_NULL)
			return perr(p, oppos, "cannot compare an attribute with a %s",
				    expr_type_name(t)), -1;
		*x = coerce(p, *x, t);
		return *x ? 0 : -1;
	}
	if (ta == tb)
		return 0;
	if ((ta == EXPR_BOOL && tb == EXPR_NUMBER) || (ta == EXPR_NUMBER && tb == EXPR_BOOL))
		return 0;
	if ((ta == EXPR_TIME || ta == EXPR_DURATION) && is_const(*b, EXPR_STRING))
		return literal_as(p, *b, ta);
	if ((tb == EXPR_TIME || tb == EXPR_DURATION) && is_const(*a, EXPR_STRING))
		return literal_as(p, *a, tb);
	perr(p, oppos, "cannot compare %s with %s", expr_type_name(ta), expr_type_name(tb));
	return -1;
}

/* A string literal compared with email, phone or country, normalised the
 * way crm-import stores those fields. */
static void normalise_literal(struct expr_node *field, struct expr_node *lit)
{
	const char *why;
	struct sb out = SB_INIT;
	char buf[17];

	if (field->kind != NK_FIELD || !field->def->norm || !is_const(lit, EXPR_STRING))
		return;
	switch (field->def->norm) {
	case NORM_EMAIL:
		if (norm_email(lit->s, lit->len, &out, &why) == 0) {
			free(lit->s);
			lit->len = out.len;
			lit->s = sb_detach(&out);
		}
		break;
	case NORM_PHONE:
		if (norm_phone(lit->s, lit->len, NULL, NULL, buf, &why) == 0) {
			free(lit->s);
			lit->s = xstrdup(buf);
			lit->len = strlen(buf);
		}
		break;
	case NORM_COUNTRY:
		if (norm_country(lit->s, lit->len, buf, &why) == 0) {
			free(lit->s);
			lit->s = xstrdup(buf);
			lit->len = strlen(buf);
		}
		break;
	}
	sb_free(&out);
}

/* --------------------------------------------------------- the parser */

static struct expr_node *parse_or(struct parser *p);
static struct expr_node *parse_sum(struct parser *p);

static int enter(struct parser *p, size_t pos)
{
	if (++p->depth > EXPR_MAX_DEPTH) {
		perr(p, pos, "expression nested too deeply");
		return -1;
	}
	return 0;
}

static struct expr_node *const_node(struct parser *p, const struct expr_token *t,
				    enum expr_type type)
{
	struct expr_node *n = new_node(p, NK_CONST, type, t->pos, t->pos + t->len);

	n->is_real = t->is_real;
	n->i = t->i;
	n->d = t->d;
	if (t->t == TK_STR) {
		n->s = xmalloc(t->slen + 1);
		memcpy(n->s, t->s, t->slen);
		n->s[t->slen] = 0;
		n->len = t->slen;
	}
	return n;
}

/* ----------------------------------------------------------- filters */

/*
 * A filter argument FIELD = "LITERAL" (orders(status = "unpaid"),
 * bought(category = "Shoes", 90d)). The fields a function takes come from
 * the letters of its entries: s is status, P sku, category and name.
 */
static const struct {
	const char *name;
	int filter;
	char letter;
} filter_fields[] = {
	{ "status", FILTER_STATUS, 's' },
	{ "sku", FILTER_SKU, 'P' },
	{ "category", FILTER_CATEGORY, 'P' },
	{ "name", FILTER_NAME, 'P' },
};

/* Whether an entry named name (a function) has argument letter c. */
static int func_has_letter(const char *name, char c)
{
	for (size_t i = 0; i < expr_ndefs; i++)
		if (expr_defs[i].is_func && !strcmp(expr_defs[i].name, name) &&
		    strchr(expr_defs[i].args, c))
			return 1;
	return 0;
}

static int takes_filter(const char *name)
{
	return func_has_letter(name, 's') || func_has_letter(name, 'P');
}

/* "status" or "sku, category, name": the filters of function name. */
static void filter_list(const char *name, char *buf, size_t size)
{
	size_t k = 0;

	buf[0] = 0;
	for (size_t i = 0; i < ARRAY_SIZE(filter_fields); i++) {
		if (!func_has_letter(name, filter_fields[i].letter))
			continue;
		k += (size_t)snprintf(buf + k, k < size ? size - k : 0, "%s%s", k ? ", " : "",
				      filter_fields[i].name);
		if (k >= size)
			break;
	}
}

/* FIELD = "LITERAL" inside a call of def (the tokens are IDENT "="): a
 * string constant whose filter says which field. */
static struct expr_node *parse_filter(struct parser *p, const struct expr_def *def)
{
	struct expr_token *f = next(p), *t;
	struct expr_node *n;
	int filter = FILTER_NONE;
	char list[64];

	for (size_t i = 0; i < ARRAY_SIZE(filter_fields); i++)
		if (!strcmp(f->s, filter_fields[i].name) &&
		    func_has_letter(def->name, filter_fields[i].letter))
			filter = filter_fields[i].filter;
	if (!filter) {
		filter_list(def->name, list, sizeof(list));
		return perr(p, f->pos, "\"%s\" has no filter \"%.*s\" (filters: %s)", def->name,
			    (int)(f->len > 40 ? 40 : f->len), p->text + f->pos, list);
	}
	next(p);                                    /* = */
	t = peek(p);
	if (t->t != TK_STR)
		return perr(p, t->pos, "the filter \"%s\" needs a string such as %s", f->s,
			    filter == FILTER_STATUS ? "\"unpaid\"" : filter == FILTER_SKU ?
			    "\"SKU-1\"" : filter == FILTER_CATEGORY ? "\"Shoes\"" : "\"Red shoes\"");
	n = const_node(p, next(p), EXPR_STRING);
	n->start = f->pos;
	n->filter = filter;
	if (!n->len)
		return perr(p, t->pos, "the filter \"%s\" is empty", f->s);
	if (filter == FILTER_STATUS) {
		struct sb st = SB_INIT;

		ordstat_norm(n->s, n->len, &st);
		free(n->s);
		n->len = st.len;
		n->s = sb_detach(&st);
		if (!n->len)
			return perr(p, t->pos, "the filter \"%s\" is empty", f->s);
	}
	return n;
}

/* The entry of def's name for a call with a filter among its arguments
 * (or without): orders(status = ...) is not orders(DURATION). */
static const struct expr_def *overload(const struct expr_def *def, int filter)
{
	if (def->args[0] == 'P')
		return def;
	for (size_t i = 0; i < expr_ndefs; i++) {
		const struct expr_def *d = &expr_defs[i];

		if (d->is_func && !strcmp(d->name, def->name) && (d->args[0] == 's') == !!filter)
			return d;
	}
	return def;
}

/* The arguments of a function call, checked against def->args. */
static int check_args(struct parser *p, struct expr_node *call, size_t namepos)
{
	const struct expr_def *def = call->def;
	const char *a = def->args;
	size_t min = 0, max = 0, k = 0;
	int optional = 0;

	for (const char *q = a; *q; q++) {
		if (*q == '[' || *q == ']') {
			optional |= *q == '[';
			continue;
		}
		max++;
		if (!optional)
			min++;
	}
	if (call->nkid < min || call->nkid > max) {
		if (max == 0)
			return perr(p, namepos, "\"%s\" takes no arguments, got %zu",
				    def->name, call->nkid), -1;
		if (min == max)
			return perr(p, namepos, "\"%s\" takes %zu argument%s, got %zu",
				    def->name, min, min == 1 ? "" : "s", call->nkid), -1;
		return perr(p, namepos, "\"%s\" takes %zu or %zu arguments, got %zu",
			    def->name, min, max, call->nkid), -1;
	}
	for (const char *q = a; *q && k < call->nkid; q++) {
		struct expr_node *arg;

		if (*q == '[' || *q == ']')
			continue;
		arg = call->kid[k++];
		if (arg->filter && *q != 's' && *q != 'P') {
			char list[64];

			filter_list(def->name, list, sizeof(list));
			if (!list[0])
				return perr(p, arg->start, "\"%s\" takes no filter", def->name), -1;
			return perr(p, arg->start, "\"%s\" takes one filter (%s), as its first argument",
				    def->name, list), -1;
		}
		switch (*q) {
		case 's':
			if (arg->filter != FILTER_STATUS)
				return perr(p, arg->start, "argument %zu of \"%s\" must be a filter such as"
					    " status = \"unpaid\"", k, def->name), -1;
			break;
		case 'P':
			if (!is_const(arg, EXPR_STRING))
				return perr(p, arg->start, "argument %zu of \"%s\" must be a SKU such as"
					    " \"SKU-1\" or a filter such as category = \"Shoes\"",
					    k, def->name), -1;
			if (!arg->len)
				return perr(p, arg->start, "argument %zu of \"%s\" is empty",
					    k, def->name), -1;
			if (!arg->filter)
				arg->filter = FILTER_SKU;
			break;
		case 'c': case 'e': case 'p':
			if (!is_const(arg, EXPR_STRING))
				return perr(p, arg->start, "argument %zu of \"%s\" must be a string such as %s",
					    k, def->name, *q == 'c' ? "\"email\"" : *q == 'e' ?
					    "\"cart_add\"" : "\"promo\""), -1;
			if (!arg->len)
				return perr(p, arg->start, "argument %zu of \"%s\" is empty",
					    k, def->name), -1;
			if (*q == 'p')
				break;
			for (size_t j = 0; j < arg->len; j++)
				arg->s[j] = (char)ascii_lower((unsigned char)arg->s[j]);
			if (*q == 'c') {
				const char *sug, *why;
				int ch = norm_consent_channel(arg->s, arg->len, &why);

				if (ch >= 0)
					break;
				if (ch == -2)
					return perr(p, arg->start, "invalid topic in \"%.80s\": %s",
						    arg->s, why), -1;
				if (memchr(arg->s, ':', arg->len))
					arg->s[strcspn(arg->s, ":")] = 0;
				sug = suggest_channel(arg->s);
				if (sug)
					return perr(p, arg->start, "unknown channel \"%.40s\" (did you mean \"%s\"?)",
						    arg->s, sug), -1;
				return perr(p, arg->start, "unknown channel \"%.40s\" (channels: email, sms, push, telegram, whatsapp, viber, webhook)",
					    arg->s), -1;
			}
			break;
		case 'd': case 'D':
			if (arg->kind != NK_CONST || (arg->type != EXPR_DURATION &&
			    !(arg->type == EXPR_STRING && literal_as(p, arg, EXPR_DURATION) == 0))) {
				if (p->failed)
					return -1;
				return perr(p, arg->start, "argument %zu of \"%s\" must be a duration such as %s",
					    k, def->name, *q == 'D' ? "3d" : "90d"), -1;
			}
			if (arg->i < 0)
				return perr(p, arg->start, "the window of \"%s\" must not be negative",
					    def->name), -1;
			if (*q == 'D' && arg->i % 86400)
				return perr(p, arg->start, "\"%s\" needs whole days, such as 3d",
					    def->name), -1;
			if (*q == 'D' && arg->i > 366 * 86400)
				return perr(p, arg->start, "\"%s\" covers at most 366 days",
					    def->name), -1;
			break;
		}
	}
	return 0;
}

static struct expr_node *parse_name(struct parser *p)
{
	struct expr_token *t = next(p);
	const struct expr_def *def;
	struct expr_node *n;
	const char *sug;
	int call = peek(p)->t == TK_LP, filtered = 0;

	def = expr_def_find(t->s, t->slen, call);
	if (!def) {
		const struct expr_def *other = expr_def_find(t->s, t->slen, !call);

		if (other && call)
			return perr(p, t->pos, "\"%s\" is a field, not a function", other->name);
		if (other)
			return perr(p, t->pos, "\"%s\" is a function: write \"%s(%s)\"", other->name,
				    other->name, other->args[0] ? "..." : "");
		sug = suggest_name(t->s, call);
		if (!sug && (sug = suggest_name(t->s, !call)) && !call &&
		    !expr_def_find(sug, strlen(sug), 0))
			return perr(p, t->pos, "unknown field \"%.*s\" (did you mean \"%s(...)\"?)",
				    (int)t->len, p->text + t->pos, sug);
		if (sug)
			return perr(p, t->pos, "unknown %s \"%.*s\" (did you mean \"%s\"?)",
				    call ? "function" : "field", (int)t->len, p->text + t->pos, sug);
		return perr(p, t->pos, "unknown %s \"%.*s\"", call ? "function" : "field",
			    (int)t->len, p->text + t->pos);
	}
	if (!def->sql && !def->special)
		return perr(p, t->pos, "\"%s\" needs %s (not available yet)", def->name, def->needs);
	if (!call) {
		n = new_node(p, NK_FIELD, def->type, t->pos, t->pos + t->len);
		n->def = def;
		n->sqlh = 12;
		return n;
	}
	n = new_node(p, NK_CALL, def->type, t->pos, 0);
	n->def = def;
	n->sqlh = 30;
	if (enter(p, t->pos) < 0)
		return NULL;
	next(p);                                    /* ( */
	if (peek(p)->t != TK_RP) {
		int filters = takes_filter(def->name);

		for (;;) {
			struct expr_node *a = filters && peek(p)->t == TK_IDENT &&
				peek2(p)->t == TK_EQ ? parse_filter(p, def) : parse_or(p);

			if (!a || add_kid(p, n, a, 1) < 0)
				return NULL;
			if (peek(p)->t != TK_COMMA)
				break;
			next(p);
		}
	}
	if (peek(p)->t != TK_RP)
		return expected(p, peek(p), "\",\" or \")\"");
	n->end = next(p)->pos + 1;
	p->depth--;
	for (size_t i = 0; i < n->nkid; i++)
		filtered |= n->kid[i]->filter;
	n->def = def = overload(def, filtered);
	n->type = def->type;
	if (check_args(p, n, t->pos) < 0)
		return NULL;
	if (def->special == SP_NOW || def->special == SP_TODAY) {
		n->kind = NK_CONST;
		n->i = p->now;
		if (def->special == SP_TODAY)
			n->i -= ((n->i % 86400) + 86400) % 86400;
	}
	return n;
}

static struct expr_node *parse_primary(struct parser *p)
{
	struct expr_token *t = peek(p);
	struct expr_node *n;

	switch (t->t) {
	case TK_NUM:
		return const_node(p, next(p), EXPR_NUMBER);
	case TK_STR:
		return const_node(p, next(p), EXPR_STRING);
	case TK_TIME:
		return const_node(p, next(p), EXPR_TIME);
	case TK_DUR:
		return const_node(p, next(p), EXPR_DURATION);
	case TK_TRUE: case TK_FALSE:
		n = const_node(p, next(p), EXPR_BOOL);
		n->i = t->t == TK_TRUE;
		return n;
	case TK_NULL:
		return const_node(p, next(p), EXPR_NULL);
	case TK_IDENT:
		return parse_name(p);
	case TK_ATTR:
		next(p);
		n = new_node(p, NK_ATTR, EXPR_ANY, t->pos, t->pos + t->len);
		n->s = xstrdup(t->s);
		n->len = t->slen;
		n->sqlh = 2;
		return n;
	case TK_LP: {
		size_t lp = t->pos;

		if (enter(p, lp) < 0)
			return NULL;
		next(p);
		n = parse_or(p);
		if (!n)
			return NULL;
		if (peek(p)->t != TK_RP)
			return expected(p, peek(p), "\")\"");
		n->start = lp;
		n->end = next(p)->pos + 1;
		p->depth--;
		return n;
	}
	default:
		return expected(p, t, "a value");
	}
}

static int fold_time(struct parser *p, struct expr_node *n, int64_t v, size_t pos)
{
	/* 0000-01-01 .. 9999-12-31, what the text form can hold */
	if (v < INT64_C(-62167219200) || v > INT64_C(253402300799)) {
		perr(p, pos, "time out of range");
		return -1;
	}
	n->i = v;
	return 0;
}

static struct expr_node *make_neg(struct parser *p, size_t pos, struct expr_node *k)
{
	struct expr_node *n;

	if (k->type == EXPR_ANY && !(k = coerce(p, k, EXPR_NUMBER)))
		return NULL;
	if (k->type != EXPR_NUMBER && k->type != EXPR_DURATION)
		return perr(p, pos, "cannot negate a %s", expr_type_name(k->type));
	if (k->kind == NK_NEG) {                    /* - -x is x */
		k = k->kid[0];
		k->start = pos;
		return k;
	}
	if (k->kind == NK_CONST && (k->is_real || k->i != INT64_MIN)) {
		k->i = -k->i;
		k->d = -k->d;
		k->start = pos;
		return k;
	}
	n = new_node(p, NK_NEG, k->type, pos, k->end);
	n->oppos = pos;
	if (add_kid(p, n, k, 1) < 0)
		return NULL;
	return n;
}

static struct expr_node *parse_unary(struct parser *p)
{
	struct expr_token *t = peek(p);
	struct expr_node *k;

	if (t->t != TK_MINUS && t->t != TK_PLUS)
		return parse_primary(p);
	if (enter(p, t->pos) < 0)
		return NULL;
	next(p);
	k = parse_unary(p);
	if (!k)
		return NULL;
	p->depth--;
	if (t->t == TK_MINUS)
		return make_neg(p, t->pos, k);
	if (k->type == EXPR_ANY)
		k = coerce(p, k, EXPR_NUMBER);
	else if (k->type != EXPR_NUMBER && k->type != EXPR_DURATION)
		return perr(p, t->pos, "cannot apply \"+\" to a %s", expr_type_name(k->type));
	if (k)
		k->start = t->pos;
	return k;
}

/* Folds constant time and duration arithmetic; 1 when folded into a,
 * 0 when not constant, -1 on error. */
static int fold_arith(struct parser *p, enum expr_tok op, size_t pos,
		      struct expr_node *a, struct expr_node *b, enum expr_type rt)
{
	int64_t v = 0;
	int bad = 0;
	enum expr_type ta = a->type, tb = b->type;

	if (a->kind != NK_CONST || b->kind != NK_CONST)
		return 0;
	if (ta == EXPR_NUMBER && tb == EXPR_NUMBER)
		return 0;                 /* left to SQL: same arithmetic */
	if ((ta == EXPR_NUMBER && a->is_real) || (tb == EXPR_NUMBER && b->is_real)) {
		double f = ta == EXPR_NUMBER ? a->d * (double)b->i : (double)a->i * b->d;

		if (op == TK_SLASH)
			return 0;
		if (!(f > -9.2e18 && f < 9.2e18))
			return perr(p, pos, "duration out of range"), -1;
		v = (int64_t)(f < 0 ? f - 0.5 : f + 0.5);
	} else {
		switch (op) {
		case TK_PLUS:
			bad = __builtin_add_overflow(a->i, b->i, &v);
			break;
		case TK_MINUS:
			bad = __builtin_sub_overflow(a->i, b->i, &v);
			break;
		case TK_STAR:
			bad = __builtin_mul_overflow(a->i, b->i, &v);
			break;
		case TK_SLASH:
			if (rt != EXPR_DURATION || b->i == 0 || a->i % b->i)
				return 0;
			v = a->i / b->i;
			break;
		default:
			return 0;
		}
	}
	if (bad)
		return perr(p, pos, "%s out of range", rt == EXPR_TIME ? "time" : "duration"), -1;
	if (rt == EXPR_TIME && fold_time(p, a, v, pos) < 0)
		return -1;
	a->i = v;
	a->is_real = 0;
	a->type = rt;
	return 1;
}

static struct expr_node *make_arith(struct parser *p, enum expr_tok op, size_t pos,
				    struct expr_node *a, struct expr_node *b)
{
	enum expr_type ta = a->type, tb = b->type, rt = EXPR_NULL;
	struct expr_node *n;
	int additive = op == TK_PLUS || op == TK_MINUS;
	int r;

	/* attributes take the type the other operand suggests */
	if (ta == EXPR_ANY || tb == EXPR_ANY) {
		enum expr_type other = ta == EXPR_ANY ? tb : ta, want = EXPR_NUMBER;

		if (other == EXPR_DURATION && additive)
			want = EXPR_TIME;
		else if (other == EXPR_TIME && op == TK_MINUS)
			want = EXPR_TIME;
		if (ta == EXPR_ANY && !(a = coerce(p, a, want)))
			return NULL;
		if (tb == EXPR_ANY && !(b = coerce(p, b, want)))
			return NULL;
		ta = a->type;
		tb = b->type;
	}
	if (ta == EXPR_NUMBER && tb == EXPR_NUMBER)
		rt = EXPR_NUMBER;
	else if (ta == EXPR_TIME && tb == EXPR_TIME && op == TK_MINUS)
		rt = EXPR_DURATION;
	else if (ta == EXPR_TIME && tb == EXPR_DURATION && additive)
		rt = EXPR_TIME;
	else if (ta == EXPR_DURATION && tb == EXPR_TIME && op == TK_PLUS)
		rt = EXPR_TIME;
	else if (ta == EXPR_DURATION && tb == EXPR_DURATION && (additive || op == TK_SLASH))
		rt = additive ? EXPR_DURATION : EXPR_NUMBER;
	else if (ta == EXPR_DURATION && tb == EXPR_NUMBER && (op == TK_STAR || op == TK_SLASH))
		rt = EXPR_DURATION;
	else if (ta == EXPR_NUMBER && tb == EXPR_DURATION && op == TK_STAR)
		rt = EXPR_DURATION;
	if (rt == EXPR_NULL)
		return perr(p, pos, "cannot apply \"%s\" to %s and %s", tok_text(op),
			    expr_type_name(ta), expr_type_name(tb));
	if ((rt != EXPR_NUMBER || ta != EXPR_NUMBER) && a->kind == NK_CONST &&
	    b->kind == NK_CONST) {
		size_t s = a->start, e = b->end;

		if ((ta == EXPR_DURATION && tb == EXPR_TIME) ||
		    (ta == EXPR_NUMBER && tb == EXPR_DURATION)) {
			struct expr_node *x = a;     /* commute: the time or */
						     /* duration comes first */
			a = b;
			b = x;
		}
		r = fold_arith(p, op, pos, a, b, rt);
		if (r < 0)
			return NULL;
		if (r > 0) {
			a->start = s;
			a->end = e;
			return a;
		}
		if (a->start != s) {                 /* not folded: undo */
			struct expr_node *x = a;

			a = b;
			b = x;
		}
	}
	n = new_node(p, NK_ARITH, rt, a->start, b->end);
	n->op = op;
	n->oppos = pos;
	if (add_kid(p, n, a, rt == EXPR_TIME || ta == EXPR_TIME ? 4 : 2) < 0 ||
	    add_kid(p, n, b, rt == EXPR_TIME || tb == EXPR_TIME ? 4 : 2) < 0)
		return NULL;
	return n;
}

static struct expr_node *parse_product(struct parser *p)
{
	struct expr_node *a = parse_unary(p);

	while (a) {
		struct expr_token *t = peek(p);
		struct expr_node *b;

		if (t->t != TK_STAR && t->t != TK_SLASH && t->t != TK_PCT)
			break;
		next(p);
		if (!(b = parse_unary(p)))
			return NULL;
		a = make_arith(p, t->t, t->pos, a, b);
	}
	return a;
}

static struct expr_node *parse_sum(struct parser *p)
{
	struct expr_node *a = parse_product(p);

	while (a) {
		struct expr_token *t = peek(p);
		struct expr_node *b;

		if (t->t != TK_PLUS && t->t != TK_MINUS)
			break;
		next(p);
		if (!(b = parse_product(p)))
			return NULL;
		a = make_arith(p, t->t, t->pos, a, b);
	}
	return a;
}

static int is_cmp_tok(enum expr_tok t)
{
	return t == TK_EQ || t == TK_NE || t == TK_LT || t == TK_LE ||
		t == TK_GT || t == TK_GE;
}

static struct expr_node *make_cmp(struct parser *p, enum expr_tok op, size_t pos,
				  struct expr_node *a, struct expr_node *b)
{
	struct expr_node *n;

	if (a->type == EXPR_NULL || b->type == EXPR_NULL) {
		struct expr_node *x = a->type == EXPR_NULL ? b : a;

		if (op != TK_EQ && op != TK_NE)
			return perr(p, pos, "cannot compare with null using \"%s\" (use \"is null\")",
				    tok_text(op));
		n = new_node(p, NK_ISNULL, EXPR_BOOL, a->start, b->end);
		n->neg = op == TK_NE;
		n->oppos = pos;
		if (add_kid(p, n, x, 1) < 0)
			return NULL;
		return n;
	}
	if (unify(p, &a, &b, pos) < 0)
		return NULL;
	if (op == TK_EQ || op == TK_NE) {
		normalise_literal(a, b);
		normalise_literal(b, a);
	}
	n = new_node(p, NK_CMP, EXPR_BOOL, a->start, b->end);
	n->op = op;
	n->oppos = pos;
	if (add_kid(p, n, a, 1) < 0 || add_kid(p, n, b, 1) < 0)
		return NULL;
	return n;
}

static struct expr_node *parse_in(struct parser *p, struct expr_node *a, size_t pos, int neg)
{
	struct expr_node *n = new_node(p, NK_IN, EXPR_BOOL, a->start, 0);
	struct expr_token *t;

	n->neg = neg;
	n->oppos = pos;
	if (peek(p)->t != TK_LP)
		return expected(p, peek(p), "\"(\" after \"in\"");
	next(p);
	if (peek(p)->t == TK_RP)
		return perr(p, peek(p)->pos, "empty list");
	if (add_kid(p, n, a, 1) < 0)
		return NULL;
	for (;;) {
		struct expr_node *v;
		size_t vpos = peek(p)->pos;

		if (n->nkid > EXPR_MAX_LIST)
			return perr(p, vpos, "list longer than %d values", EXPR_MAX_LIST);
		if (!(v = parse_sum(p)))
			return NULL;
		if (v->type == EXPR_NULL)
			return perr(p, v->start, "null in a list (use \"is null\")");
		if (unify(p, &n->kid[0], &v, pos) < 0)
			return NULL;
		if (n->kid[0]->sqlh + 1 > n->sqlh)
			n->sqlh = n->kid[0]->sqlh + 1;
		normalise_literal(n->kid[0], v);
		if (add_kid(p, n, v, 1) < 0)
			return NULL;
		t = peek(p);
		if (t->t == TK_RP)
			break;
		if (t->t != TK_COMMA)
			return expected(p, t, "\",\" or \")\"");
		next(p);
	}
	/* every value has met the left side; an attribute took the type of
	 * the first that was not one, so the others meet that now */
	for (size_t i = 1; i < n->nkid; i++) {
		if (n->kid[i]->type != EXPR_ANY || n->kid[0]->type == EXPR_ANY)
			continue;
		if (n->kid[0]->type == EXPR_DURATION)
			return perr(p, pos, "cannot compare an attribute with a duration");
		if (!(n->kid[i] = coerce(p, n->kid[i], n->kid[0]->type)))
			return NULL;
	}
	n->end = next(p)->pos + 1;
	return n;
}

static struct expr_node *parse_cmp(struct parser *p)
{
	struct expr_node *a = parse_sum(p), *b, *c, *n;
	struct expr_token *t;
	int neg = 0;

	if (!a)
		return NULL;
	t = peek(p);
	if (t->t == TK_NOT) {
		enum expr_tok t2 = peek2(p)->t;

		if (t2 != TK_IN && t2 != TK_BETWEEN && t2 != TK_LIKE && t2 != TK_MATCH)
			return a;
		next(p);
		neg = 1;
		t = peek(p);
	}
	if (is_cmp_tok(t->t)) {
		next(p);
		if (!(b = parse_sum(p)) || !(n = make_cmp(p, t->t, t->pos, a, b)))
			return NULL;
	} else if (t->t == TK_IN) {
		next(p);
		if (!(n = parse_in(p, a, t->pos, neg)))
			return NULL;
	} else if (t->t == TK_BETWEEN) {
		next(p);
		if (!(b = parse_sum(p)))
			return NULL;
		if (peek(p)->t != TK_AND)
			return expected(p, peek(p), "\"and\" in \"between\"");
		next(p);
		if (!(c = parse_sum(p)))
			return NULL;
		if (b->type == EXPR_NULL || c->type == EXPR_NULL)
			return perr(p, t->pos, "cannot compare with null using \"between\" (use \"is null\")");
		if (unify(p, &a, &b, t->pos) < 0 || unify(p, &a, &c, t->pos) < 0)
			return NULL;
		n = new_node(p, NK_BETWEEN, EXPR_BOOL, a->start, c->end);
		n->neg = neg;
		n->oppos = t->pos;
		if (add_kid(p, n, a, 1) < 0 || add_kid(p, n, b, 1) < 0 || add_kid(p, n, c, 1) < 0)
			return NULL;
	} else if (t->t == TK_LIKE) {
		next(p);
		if (!(b = parse_sum(p)))
			return NULL;
		if (a->type == EXPR_ANY)
			a = coerce(p, a, EXPR_STRING);
		if (b && b->type == EXPR_ANY)
			b = coerce(p, b, EXPR_STRING);
		if (!a || !b)
			return NULL;
		if (a->type != EXPR_STRING || b->type != EXPR_STRING)
			return perr(p, t->pos, "\"like\" needs strings, got %s and %s",
				    expr_type_name(a->type), expr_type_name(b->type));
		n = new_node(p, NK_LIKE, EXPR_BOOL, a->start, b->end);
		n->neg = neg;
		n->oppos = t->pos;
		if (add_kid(p, n, a, 1) < 0 || add_kid(p, n, b, 1) < 0)
			return NULL;
	} else if (t->t == TK_MATCH || t->t == TK_NMATCH) {
		struct expr_token *pt;
		char msg[200];

		next(p);
		neg |= t->t == TK_NMATCH;
		if (a->type == EXPR_ANY && !(a = coerce(p, a, EXPR_STRING)))
			return NULL;
		if (a->type != EXPR_STRING)
			return perr(p, t->pos, "\"%s\" needs a string on its left, got %s",
				    tok_text(t->t), expr_type_name(a->type));
		pt = peek(p);
		if (pt->t != TK_STR)
			return expected(p, pt, "a regular expression in quotes");
		if (expr_regex_check(pt->s, msg, sizeof(msg)) < 0)
			return perr(p, pt->pos, "%s", msg);
		b = const_node(p, next(p), EXPR_STRING);
		n = new_node(p, NK_REGEX, EXPR_BOOL, a->start, b->end);
		n->neg = neg;
		n->oppos = t->pos;
		if (add_kid(p, n, a, 2) < 0 || add_kid(p, n, b, 1) < 0)
			return NULL;
	} else if (t->t == TK_IS) {
		next(p);
		if (peek(p)->t == TK_NOT) {
			next(p);
			neg = 1;
		}
		if (peek(p)->t != TK_NULL)
			return expected(p, peek(p), "\"null\" after \"is\"");
		n = new_node(p, NK_ISNULL, EXPR_BOOL, a->start, next(p)->pos + 4);
		n->neg = neg;
		n->oppos = t->pos;
		if (add_kid(p, n, a, 1) < 0)
			return NULL;
	} else {
		return a;
	}
	t = peek(p);
	if (is_cmp_tok(t->t) || t->t == TK_IN || t->t == TK_BETWEEN || t->t == TK_LIKE ||
	    t->t == TK_MATCH || t->t == TK_NMATCH || t->t == TK_IS)
		return perr(p, t->pos, "comparisons cannot be chained (use \"and\")");
	return n;
}

static struct expr_node *parse_not(struct parser *p)
{
	struct expr_token *t = peek(p);
	struct expr_node *k, *n;

	if (t->t != TK_NOT)
		return parse_cmp(p);
	if (enter(p, t->pos) < 0)
		return NULL;
	next(p);
	if (!(k = parse_not(p)) || check_cond(p, k) < 0)
		return NULL;
	p->depth--;
	if (k->kind == NK_NOT) {
		/* not not x holds exactly when x does */
		k = k->kid[0];
		k->start = t->pos;
		return k;
	}
	n = new_node(p, NK_NOT, EXPR_BOOL, t->pos, k->end);
	if (add_kid(p, n, k, k->type == EXPR_BOOL ? 2 : 3) < 0)
		return NULL;
	return n;
}

/* and/or chains are one node with n operands; the SQL groups them as a
 * balanced tree, about log2(n) deep. */
static struct expr_node *parse_chain(struct parser *p, int is_or)
{
	enum expr_tok op = is_or ? TK_OR : TK_AND;
	struct expr_node *a = is_or ? parse_chain(p, 0) : parse_not(p), *n, *b;

	if (!a || peek(p)->t != op)
		return a;
	if (check_cond(p, a) < 0)
		return NULL;
	n = new_node(p, is_or ? NK_OR : NK_AND, EXPR_BOOL, a->start, 0);
	n->kid = xmalloc(sizeof(*n->kid));
	n->kid[0] = a;
	n->nkid = 1;
	while (peek(p)->t == op) {
		next(p);
		b = is_or ? parse_chain(p, 0) : parse_not(p);
		if (!b || check_cond(p, b) < 0 || add_kid(p, n, b, 1) < 0)
			return NULL;
	}
	n->end = n->kid[n->nkid - 1]->end;
	/* the SQL has groups of 64 side by side (see chain() in expr_sql.c),
	 * a tree as high as 64 per level of groups */
	for (size_t groups = n->nkid, h = 0;; groups = (groups + 63) / 64) {
		h += groups < 64 ? groups : 64;
		if (groups <= 64) {
			n->sqlh = 0;
			for (size_t i = 0; i < n->nkid; i++)
				if (n->kid[i]->sqlh > n->sqlh)
					n->sqlh = n->kid[i]->sqlh;
			n->sqlh += (int)h + 1;
			break;
		}
	}
	if (n->sqlh > EXPR_MAX_SQL_DEPTH)
		return perr(p, n->start, "expression nested too deeply");
	return n;
}

static struct expr_node *parse_or(struct parser *p)
{
	return parse_chain(p, 1);
}

/* ---------------------------------------------------------- clauses */

static int is_logic(const struct expr_node *n)
{
	return n->kind == NK_AND || n->kind == NK_OR || n->kind == NK_NOT;
}

static void add_clause(struct expr *e, struct expr_gen *g, struct expr_node *n, int depth)
{
	struct expr_clause *c;
	struct expr_iclause *ic;
	struct sb cond = SB_INIT, val = SB_INIT;
	struct expr_node *s = n;

	if (e->nclauses == e->cclauses) {
		e->cclauses = e->cclauses ? 2 * e->cclauses : 8;
		e->clauses = xrealloc(e->clauses, e->cclauses * sizeof(*e->clauses));
		e->ic = xrealloc(e->ic, e->cclauses * sizeof(*e->ic));
	}
	c = &e->clauses[e->nclauses];
	ic = &e->ic[e->nclauses++];
	memset(c, 0, sizeof(*c));
	c->depth = depth;
	c->start = n->start;
	c->len = n->end - n->start;
	position(e->text, n->start, &c->line, &c->col);
	c->text = xstrndup(e->text + n->start, c->len);
	expr_gen_cond(g, n, &cond);
	ic->cond = sb_detach(&cond);
	ic->value = NULL;
	if (is_logic(n)) {
		c->type = EXPR_BOOL;
		return;
	}
	switch (n->kind) {
	case NK_CMP:
		s = n->kid[0]->kind == NK_CONST && n->kid[1]->kind != NK_CONST ?
			n->kid[1] : n->kid[0];
		break;
	case NK_IN: case NK_BETWEEN: case NK_LIKE: case NK_REGEX: case NK_ISNULL:
		s = n->kid[0];
		break;
	default:
		break;
	}
	if (s->kind == NK_COERCE)
		s = s->kid[0];
	expr_gen_show(g, s, &val);
	c->type = s->kind == NK_CALL && s->def->show ? EXPR_TIME : s->type;
	ic->value = sb_detach(&val);
}

static void collect(struct expr *e, struct expr_gen *g, struct expr_node *n, int depth)
{
	for (size_t i = 0; i < n->nkid; i++) {
		add_clause(e, g, n->kid[i], depth);
		if (is_logic(n->kid[i]))
			collect(e, g, n->kid[i], depth + 1);
	}
}

/* Forgets every parameter, to generate the SQL again from scratch. */
static void reset_params(struct expr *e, struct expr_gen *g, struct parser *p)
{
	for (size_t i = 0; i < e->nparams; i++)
		free(e->params[i].s);
	e->nparams = 0;
	g->now_p = g->nowt_p = -1;
	g->failed = 0;
	for (size_t i = 0; i < p->nall; i++) {
		p->all[i]->p[0] = p->all[i]->p[1] = -1;
		p->all[i]->pfirst = -1;
		p->all[i]->pcount = 0;
	}
}

/* ----------------------------------------------------------- the API */

static void render_all(struct expr *e)
{
	free(e->sql);
	e->sql = expr_render(e->isql, e->first);
	for (size_t i = 0; i < e->nclauses; i++) {
		free((char *)e->clauses[i].cond);
		free((char *)e->clauses[i].value);
		e->clauses[i].cond = expr_render(e->ic[i].cond, e->first);
		e->clauses[i].value = e->ic[i].value ? expr_render(e->ic[i].value, e->first) : NULL;
	}
}

struct expr *expr_compile(const char *text, int64_t now, struct expr_err *err)
{
	struct parser p;
	struct expr_node *root;
	struct expr *e;
	struct expr_gen g;
	struct sb sql = SB_INIT;
	size_t len, bad, nestpos;

	if (err)
		memset(err, 0, sizeof(*err));
	if (!text)
		text = "";
	len = strnlen(text, EXPR_MAX_LEN + 1);
	if (len > EXPR_MAX_LEN) {
		set_err(err, "", 0, "expression longer than %d bytes", EXPR_MAX_LEN);
		return NULL;
	}
	if (!utf8_valid(text, len, &bad)) {
		set_err(err, text, bad, "invalid utf-8");
		return NULL;
	}
	memset(&p, 0, sizeof(p));
	p.text = text;
	p.len = len;
	p.now = now;
	p.err = err;
	expr_lex(text, len, &p.tok, &p.ntok);
	if (p.tok[0].t == TK_EOF) {
		perr(&p, 0, "empty expression");
		root = NULL;
	} else {
		root = parse_or(&p);
	}
	if (root && peek(&p)->t != TK_EOF) {
		struct expr_token *t = peek(&p);
		char found[64];

		describe(&p, t, found, sizeof(found));
		if (t->t == TK_ERR)
			perr(&p, t->pos, "%s", t->s);
		else if (t->t == TK_RP)
			perr(&p, t->pos, "unexpected \")\" (no \"(\" to close)");
		else if (t->t == TK_IDENT || t->t == TK_ATTR || t->t == TK_NOT ||
			 t->t == TK_LP || t->t == TK_STR || t->t == TK_NUM)
			perr(&p, t->pos, "unexpected %s (missing \"and\" or \"or\"?)", found);
		else
			perr(&p, t->pos, "unexpected %s", found);
		root = NULL;
	}
	if (root && check_cond(&p, root) < 0)
		root = NULL;
	if (!root) {
		expr_tokens_free(p.tok, p.ntok);
		free_nodes(&p);
		return NULL;
	}

	e = xcalloc(1, sizeof(*e));
	e->text = xstrndup(text, len);
	e->now = now;
	e->first = 1;
	expr_gen_init(&g, e, now);
	if (expr_gen_top(&g, root, &sql) && !g.failed &&
	    expr_sql_nesting(sql.buf, &nestpos) > EXPR_MAX_SQL_NEST) {
		/* turned into subqueries it nests too deeply; as it is, it
		 * may not */
		sb_reset(&sql);
		reset_params(e, &g, &p);
		expr_gen_cond(&g, root, &sql);
	}
	e->isql = sb_detach(&sql);
	if (!g.failed && expr_sql_nesting(e->isql, &nestpos) > EXPR_MAX_SQL_NEST) {
		set_err(err, text, nestpos, "expression nested too deeply");
		expr_gen_release(&g);
		expr_tokens_free(p.tok, p.ntok);
		free_nodes(&p);
		expr_free(e);
		return NULL;
	}
	if (!g.failed) {
		if (is_logic(root))
			collect(e, &g, root, 0);
		else
			add_clause(e, &g, root, 0);
	}
	expr_gen_release(&g);
	expr_tokens_free(p.tok, p.ntok);
	free_nodes(&p);
	if (g.failed) {
		set_err(err, text, g.errpos, "too many values in the expression (more than %d parameters)",
			EXPR_MAX_PARAMS);
		expr_free(e);
		return NULL;
	}
	render_all(e);
	return e;
}

void expr_free(struct expr *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->nparams; i++)
		free(e->params[i].s);
	free(e->params);
	for (size_t i = 0; i < e->nclauses; i++) {
		free((char *)e->clauses[i].text);
		free((char *)e->clauses[i].cond);
		free((char *)e->clauses[i].value);
		free(e->ic[i].cond);
		free(e->ic[i].value);
	}
	free(e->clauses);
	free(e->ic);
	free(e->isql);
	free(e->sql);
	free(e->text);
	free(e);
}

const char *expr_sql(const struct expr *e)
{
	return e->sql;
}

size_t expr_nparams(const struct expr *e)
{
	return e->nparams;
}

void expr_renumber(struct expr *e, int first)
{
	if (first < 1)
		first = 1;
	e->first = first;
	render_all(e);
}

int expr_bind(const struct expr *e, sqlite3_stmt *st, int first)
{
	int last = sqlite3_bind_parameter_count(st);

	for (size_t i = 0; i < e->nparams; i++) {
		const struct expr_param *q = &e->params[i];
		int idx = first + (int)i, rc;

		if (idx > last)
			break; /* only the clauses use it */

		switch (q->type) {
		case EXPR_P_INT:
			rc = sqlite3_bind_int64(st, idx, q->i);
			break;
		case EXPR_P_REAL:
			rc = sqlite3_bind_double(st, idx, q->d);
			break;
		default:
			rc = sqlite3_bind_text(st, idx, q->s, (int)q->len, SQLITE_TRANSIENT);
			break;
		}
		if (rc != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
}

void expr_param_text(const struct expr *e, size_t i, struct sb *out)
{
	const struct expr_param *q;

	if (i >= e->nparams)
		return;
	q = &e->params[i];
	switch (q->type) {
	case EXPR_P_INT:
		sb_addf(out, "%lld", (long long)q->i);
		break;
	case EXPR_P_REAL: {
		char buf[40];

		for (int prec = 15; prec <= 17; prec++) {
			snprintf(buf, sizeof(buf), "%.*g", prec, q->d);
			if (strtod(buf, NULL) == q->d)
				break;
		}
		sb_adds(out, buf);
		if (!strpbrk(buf, ".eEn"))
			sb_adds(out, ".0");
		break;
	}
	default:
		sb_addc(out, '\'');
		for (size_t j = 0; j < q->len; j++) {
			if (q->s[j] == '\'')
				sb_addc(out, '\'');
			sb_addc(out, q->s[j]);
		}
		sb_addc(out, '\'');
		break;
	}
}

size_t expr_nclauses(const struct expr *e)
{
	return e->nclauses;
}

const struct expr_clause *expr_clause(const struct expr *e, size_t i)
{
	return i < e->nclauses ? &e->clauses[i] : NULL;
}
