/*
 * expr_sql.c - the allow-list of names of the expression language and the
 * SQL generator.
 *
 * Every field, metric and function maps to one SQL template in expr_defs[]
 * below; nothing else ever reaches the SQL but fixed operators, these
 * templates and parameter references. To precompute a metric (a table
 * refreshed by crm-score or a trigger), change its one template; to enable
 * a name whose sql is NULL, give it a template.
 *
 * A template is an SQL value over customers c that must be atomic (a
 * column, a function call or parenthesised). Placeholders:
 *     $1 .. $9   the function's arguments, bound as parameters
 *     $now       now, seconds since the epoch (an integer parameter)
 *     $nowt      now as "YYYY-MM-DD HH:MM:SS" (a text parameter)
 *     $since     now minus the function's duration argument, as text
 *     $days      birthday_in's list of "MM-DD" parameters
 *     $k         the currency factor: o.amount * $k / 1000.0 is the
 *                amount in major units, generated from norm's table
 *                (JPY amounts are yen, KWD amounts fils, most cents)
 *     $[ ... $]  kept only when the optional arguments were given
 *     $$         a literal '$'
 *
 * History is taken as of now: orders, events and consent records after
 * now (a --now in the past) are ignored, so that a back-filled run sees
 * what it would have seen then. Customer fields are current values.
 */
#include "expr_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "norm.h"

/* The channels crm-import accepts (lib/imp.c keeps the same list). */

/* Completed orders only; the index orders_customer(customer_id,
 * ordered_at) serves every order metric. */
#define DONE "o.status NOT IN ('refunded', 'cancelled', 'returned')"
#define OWHERE "o.customer_id = c.id AND o.ordered_at <= $nowt AND " DONE
#define LATEST_CONSENT \
	"(SELECT k.granted FROM consents k WHERE k.customer_id = c.id AND k.channel = $1" \
	" AND k.recorded_at <= $nowt ORDER BY k.recorded_at DESC, k.id DESC LIMIT 1)"
#define SINCE_EVENT(type) \
	"($now - CAST(strftime('%s', (SELECT max(e.occurred_at) FROM events e" \
	" WHERE e.customer_id = c.id AND e.type = '" type "' AND e.campaign = $1" \
	" AND e.occurred_at <= $nowt)) AS INTEGER))"
#define SCORES "crm-score's scores"
#define MESSAGES "crm-send's message history"

#define FIELD(name, type, norm, sql, show, doc) \
	{ name, 0, type, norm, SP_NONE, NULL, sql, show, NULL, name, doc }
#define SCORE(name, type, doc) \
	{ name, 0, type, NORM_NONE, SP_NONE, NULL, NULL, NULL, SCORES, name, doc }
#define FUNC(name, type, sp, args, sql, show, sig, doc) \
	{ name, 1, type, NORM_NONE, sp, args, sql, show, NULL, sig, doc }
#define LATER(name, type, args, needs, sig, doc) \
	{ name, 1, type, NORM_NONE, SP_NONE, args, NULL, NULL, needs, sig, doc }

const struct expr_def expr_defs[] = {
	/* customer fields */
	FIELD("id", EXPR_STRING, NORM_NONE, "c.external_id", NULL,
	      "the customer's id in the source system (external_id)"),
	FIELD("external_id", EXPR_STRING, NORM_NONE, "c.external_id", NULL,
	      "the customer's id in the source system"),
	FIELD("customer_id", EXPR_NUMBER, NORM_NONE, "c.id", NULL,
	      "crmkit's internal customer number"),
	FIELD("email", EXPR_STRING, NORM_EMAIL, "c.email", NULL,
	      "e-mail address, lower case"),
	FIELD("phone", EXPR_STRING, NORM_PHONE, "c.phone", NULL,
	      "phone number, E.164"),
	FIELD("first_name", EXPR_STRING, NORM_NONE, "c.first_name", NULL, "first name"),
	FIELD("last_name", EXPR_STRING, NORM_NONE, "c.last_name", NULL, "last name"),
	FIELD("birthday", EXPR_TIME, NORM_NONE, "datetime(c.birthday)", "c.birthday",
	      "date of birth (a time at midnight UTC)"),
	FIELD("city", EXPR_STRING, NORM_NONE, "c.city", NULL, "city"),
	FIELD("country", EXPR_STRING, NORM_COUNTRY, "c.country", NULL,
	      "ISO 3166 alpha-2 country code"),
	FIELD("timezone", EXPR_STRING, NORM_NONE, "c.timezone", NULL, "IANA time zone"),
	FIELD("created_at", EXPR_TIME, NORM_NONE, "c.created_at", NULL,
	      "when the customer was created"),
	FIELD("updated_at", EXPR_TIME, NORM_NONE, "c.updated_at", NULL,
	      "when the customer's data last changed"),
	FIELD("is_stub", EXPR_BOOL, NORM_NONE, "c.is_stub", NULL,
	      "created from an order or event of an unknown customer"),

	/* metrics over completed orders up to now */
	FIELD("orders", EXPR_NUMBER, NORM_NONE,
	      "(SELECT count(*) FROM orders o WHERE " OWHERE ")", NULL,
	      "number of completed orders"),
	FIELD("revenue", EXPR_NUMBER, NORM_NONE,
	      "(SELECT total(o.amount * $k) / 1000.0 FROM orders o WHERE " OWHERE ")", NULL,
	      "sum of completed orders in major units, currencies summed as they are; 0 when none"),
	FIELD("aov", EXPR_NUMBER, NORM_NONE,
	      "(SELECT total(o.amount * $k) / 1000.0 / nullif(count(*), 0) FROM orders o WHERE "
	      OWHERE ")", NULL,
	      "average order value (revenue / orders); null when no orders"),
	FIELD("first_order_at", EXPR_TIME, NORM_NONE,
	      "(SELECT min(o.ordered_at) FROM orders o WHERE " OWHERE ")", NULL,
	      "time of the first completed order; null when none"),
	FIELD("last_order_at", EXPR_TIME, NORM_NONE,
	      "(SELECT max(o.ordered_at) FROM orders o WHERE " OWHERE ")", NULL,
	      "time of the last completed order; null when none"),
	FIELD("days_since_last_order", EXPR_NUMBER, NORM_NONE,
	      "(SELECT ($now - CAST(strftime('%s', max(o.ordered_at)) AS INTEGER)) / 86400"
	      " FROM orders o WHERE " OWHERE ")", NULL,
	      "whole days since the last completed order; null when none"),
	FIELD("tenure_days", EXPR_NUMBER, NORM_NONE,
	      "(SELECT ($now - CAST(strftime('%s', min(coalesce(c.created_at, min(o.ordered_at)),"
	      " coalesce(min(o.ordered_at), c.created_at))) AS INTEGER)) / 86400"
	      " FROM orders o WHERE " OWHERE ")", NULL,
	      "whole days since created_at or the first completed order, whichever is earlier"),

	/* scores, once crm-score writes them */
	SCORE("r", EXPR_NUMBER, "RFM recency score, 1-5"),
	SCORE("f", EXPR_NUMBER, "RFM frequency score, 1-5"),
	SCORE("m", EXPR_NUMBER, "RFM monetary score, 1-5"),
	SCORE("rfm", EXPR_STRING, "RFM cell such as \"545\""),
	SCORE("rfm_segment", EXPR_STRING, "named RFM segment such as \"at_risk\""),
	SCORE("clv", EXPR_NUMBER, "predicted customer lifetime value, major units"),
	SCORE("p_alive", EXPR_NUMBER, "probability that the customer is still active"),
	SCORE("churn_risk", EXPR_NUMBER, "1 - p_alive"),
	SCORE("expected_orders", EXPR_NUMBER, "orders expected over the model's horizon"),

	/* functions */
	FUNC("now", EXPR_TIME, SP_NOW, "", NULL, NULL, "now()",
	     "the current time (--now)"),
	FUNC("today", EXPR_TIME, SP_TODAY, "", NULL, NULL, "today()",
	     "midnight UTC of the current day"),
	FUNC("orders", EXPR_NUMBER, SP_NONE, "d",
	     "(SELECT count(*) FROM orders o WHERE " OWHERE " AND o.ordered_at >= $since)", NULL,
	     "orders(DURATION)", "completed orders within the window ending now"),
	FUNC("revenue", EXPR_NUMBER, SP_NONE, "d",
	     "(SELECT total(o.amount * $k) / 1000.0 FROM orders o WHERE " OWHERE
	     " AND o.ordered_at >= $since)", NULL,
	     "revenue(DURATION)", "revenue within the window ending now"),
	FUNC("event", EXPR_NUMBER, SP_NONE, "e[d]",
	     "(SELECT count(*) FROM events e WHERE e.customer_id = c.id AND e.type = $1"
	     " AND e.occurred_at <= $nowt$[ AND e.occurred_at >= $since$])", NULL,
	     "event(TYPE[, DURATION])", "number of events of a type (within the window)"),
	FUNC("consent", EXPR_BOOL, SP_NONE, "c",
	     "coalesce(" LATEST_CONSENT ", 0)", NULL,
	     "consent(CHANNEL)", "the latest consent record for the channel is a grant"),
	FUNC("unsubscribed", EXPR_BOOL, SP_NONE, "c",
	     "(coalesce(" LATEST_CONSENT ", 1) = 0 OR EXISTS (SELECT 1 FROM events e"
	     " WHERE e.customer_id = c.id AND e.type = 'unsubscribed' AND e.occurred_at <= $nowt"
	     " AND coalesce(lower(json_extract(e.props, '$$.channel')), $1) = $1"
	     " AND e.occurred_at > coalesce((SELECT max(k.recorded_at) FROM consents k"
	     " WHERE k.customer_id = c.id AND k.channel = $1 AND k.granted = 1"
	     " AND k.recorded_at <= $nowt), '')))", NULL,
	     "unsubscribed(CHANNEL)",
	     "the latest consent record is a revocation, or an unsubscribed event came after the latest grant"),
	FUNC("birthday_in", EXPR_BOOL, SP_BIRTHDAY, "D",
	     "(substr(c.birthday, 6, 5) IN ($days))", "c.birthday",
	     "birthday_in(DURATION)", "the next birthday is within whole days from today (UTC)"),
	FUNC("opened", EXPR_DURATION, SP_NONE, "p", SINCE_EVENT("opened"), NULL,
	     "opened(CAMPAIGN)", "time since the latest opened event of the campaign; null when none"),
	FUNC("clicked", EXPR_DURATION, SP_NONE, "p", SINCE_EVENT("clicked"), NULL,
	     "clicked(CAMPAIGN)", "time since the latest clicked event of the campaign; null when none"),
	LATER("received", EXPR_DURATION, "p", MESSAGES, "received(CAMPAIGN)",
	      "time since the campaign's message was delivered; null when never"),
	LATER("sent", EXPR_DURATION, "p", MESSAGES, "sent(CAMPAIGN)",
	      "time since the campaign's message was sent; null when never"),
	LATER("converted", EXPR_DURATION, "p", MESSAGES, "converted(CAMPAIGN)",
	      "time since an order attributed to the campaign; null when none"),
};

const size_t expr_ndefs = ARRAY_SIZE(expr_defs);

const struct expr_def *expr_def_find(const char *name, size_t len, int is_func)
{
	for (size_t i = 0; i < expr_ndefs; i++)
		if (expr_defs[i].is_func == is_func && strlen(expr_defs[i].name) == len &&
		    !memcmp(expr_defs[i].name, name, len))
			return &expr_defs[i];
	return NULL;
}

int expr_name_at(size_t i, struct expr_name *n)
{
	const struct expr_def *d;

	if (i >= expr_ndefs)
		return -1;
	d = &expr_defs[i];
	n->name = d->name;
	n->signature = d->sig;
	n->type = d->type;
	n->is_function = d->is_func;
	n->available = d->sql || d->special;
	n->needs = d->needs;
	n->doc = d->doc;
	return 0;
}

/* ---------------------------------------------------------- birthdays */

static int leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/*
 * The month-days of [today, today + days]. Someone born on 29 February
 * celebrates on the 28th in years without one: "02-29" is added with
 * every 28 February of a non-leap year.
 */
size_t expr_birthday_days(int64_t now, int days, char out[][6])
{
	int64_t today = (now >= 0 ? now : now - 86399) / 86400;
	size_t n = 0;

	for (int k = 0; k <= days && n < 366; k++) {
		int y, m, d;
		char md[6];
		size_t j;

		norm_civil_from_days(today + k, &y, &m, &d);
		snprintf(md, sizeof(md), "%02d-%02d", m, d);
		for (j = 0; j < n && strcmp(out[j], md); j++)
			;
		if (j == n)
			memcpy(out[n++], md, 6);
		if (m == 2 && d == 28 && !leap(y)) {
			for (j = 0; j < n && strcmp(out[j], "02-29"); j++)
				;
			if (j == n)
				memcpy(out[n++], "02-29", 6);
		}
	}
	return n;
}

/* --------------------------------------------------------- parameters */

static int new_param(struct expr_gen *g, struct expr_node *at, enum expr_ptype type,
		     int64_t i, double d, const char *s, size_t len)
{
	struct expr *e = g->e;
	struct expr_param *q;

	if (e->nparams >= EXPR_MAX_PARAMS) {
		if (!g->failed) {
			g->failed = 1;
			g->errpos = at ? at->start : 0;
		}
		return 0;
	}
	e->params = xgrow(e->params, sizeof(*e->params), e->nparams + 1, &e->cparams);
	q = &e->params[e->nparams];
	memset(q, 0, sizeof(*q));
	q->type = type;
	q->i = i;
	q->d = d;
	if (type == EXPR_P_TEXT) {
		q->s = xmalloc(len + 1);
		memcpy(q->s, s, len);
		q->s[len] = 0;
		q->len = len;
	}
	return (int)e->nparams++;
}

static void put_param(struct sb *out, int idx)
{
	sb_addf(out, "%c%d%c", EXPR_PMARK, idx, EXPR_PEND);
}

static int time_param(struct expr_gen *g, struct expr_node *at, int64_t t)
{
	char buf[20];

	norm_fmt_time(t, buf);
	return new_param(g, at, EXPR_P_TEXT, 0, 0, buf, 19);
}

void expr_gen_init(struct expr_gen *g, struct expr *e, int64_t now)
{
	memset(g, 0, sizeof(*g));
	g->e = e;
	g->now = now;
	g->now_p = g->nowt_p = -1;
	sb_init(&g->k);
}

void expr_gen_release(struct expr_gen *g)
{
	sb_free(&g->k);
}

/* CASE over the currencies whose exponent is not 2: the factor that
 * turns minor units into thousandths of the major unit. */
static void currency_factor(struct sb *out)
{
	char code[4];
	int exp;

	sb_adds(out, "CASE o.currency");
	for (size_t i = 0; norm_currency_at(i, code, &exp) == 0; i++)
		if (exp != 2 && exp >= 0 && exp <= 3)
			sb_addf(out, " WHEN '%s' THEN %d", code, exp == 0 ? 1000 : exp == 1 ? 100 : 1);
	sb_adds(out, " ELSE 10 END");
}

/* ---------------------------------------------------------- templates */

/* The first duration argument of a call (its window), or NULL. */
static struct expr_node *window_arg(struct expr_node *call)
{
	for (size_t i = 0; i < call->nkid; i++)
		if (call->kid[i]->type == EXPR_DURATION)
			return call->kid[i];
	return NULL;
}

static int has_optional(const struct expr_node *call)
{
	const char *a = call->def->args, *q = strchr(a, '[');
	size_t required = 0;

	if (!q)
		return 0;
	for (const char *r = a; r < q; r++)
		required++;
	return call->nkid > required;
}

/*
 * Expands a template. call is the function node (NULL for a field);
 * with g NULL the output has no parameters: $now and $nowt become
 * literals of now (for expr_field_sql). Returns -1 when a placeholder
 * needs a call that is not there.
 */
static int expand(struct expr_gen *g, int64_t now, const char *tpl,
		  struct expr_node *call, struct sb *out)
{
	for (const char *p = tpl; *p; p++) {
		if (*p != '$') {
			sb_addc(out, *p);
			continue;
		}
		p++;
		if (*p == '$') {
			sb_addc(out, '$');
		} else if (!strncmp(p, "nowt", 4)) {
			p += 3;
			if (!g) {
				char buf[20];

				norm_fmt_time(now, buf);
				sb_addf(out, "'%s'", buf);
				continue;
			}
			if (g->nowt_p < 0)
				g->nowt_p = time_param(g, call, g->now);
			put_param(out, g->nowt_p);
		} else if (!strncmp(p, "now", 3)) {
			p += 2;
			if (!g) {
				sb_addf(out, "%lld", (long long)now);
				continue;
			}
			if (g->now_p < 0)
				g->now_p = new_param(g, call, EXPR_P_INT, g->now, 0, NULL, 0);
			put_param(out, g->now_p);
		} else if (*p == 'k') {
			currency_factor(out);
		} else if (!strncmp(p, "since", 5)) {
			struct expr_node *w = call ? window_arg(call) : NULL;

			p += 4;
			if (!g || !w)
				return -1;
			if (call->p[0] < 0) {
				int64_t t;

				if (__builtin_sub_overflow(g->now, w->i, &t))
					t = INT64_MIN;
				call->p[0] = time_param(g, call, t);
			}
			put_param(out, call->p[0]);
		} else if (!strncmp(p, "days", 4)) {
			struct expr_node *w = call ? window_arg(call) : NULL;

			p += 3;
			if (!g || !w)
				return -1;
			if (call->pfirst < 0) {
				char days[368][6];
				size_t n = expr_birthday_days(g->now, (int)(w->i / 86400), days);

				for (size_t i = 0; i < n; i++) {
					int idx = new_param(g, call, EXPR_P_TEXT, 0, 0, days[i], 5);

					if (i == 0)
						call->pfirst = idx;
				}
				call->pcount = (int)n;
			}
			for (int i = 0; i < call->pcount; i++) {
				if (i)
					sb_adds(out, ", ");
				put_param(out, call->pfirst + i);
			}
		} else if (*p == '[') {
			if (!call)
				return -1;
			if (!has_optional(call)) {
				const char *end = strstr(p, "$]");

				if (!end)
					return -1;
				p = end + 1;
			}
		} else if (*p == ']') {
			;
		} else if (*p >= '1' && *p <= '9') {
			size_t k = (size_t)(*p - '1');

			if (!g || !call || k >= call->nkid)
				return -1;
			expr_gen_value(g, call->kid[k], out);
		} else {
			return -1;
		}
	}
	return 0;
}

/* ---------------------------------------------------------- generator */

/*
 * SQL precedence of what a node generates, loosest first. An operand is
 * parenthesised only when it binds looser than its place needs, so that
 * left-deep chains ("a + b + c", "x AND y AND z") come out flat: SQLite's
 * parser (a fixed stack of 100 entries up to 3.45) fails on deep nesting
 * long before its expression depth limit.
 */
enum { P_OR = 1, P_AND, P_NOT, P_CMP, P_ADD, P_MUL, P_UNARY, P_ATOM };

/* Marks where a node's SQL starts, for expr_sql_nesting(); rendering
 * drops the marks. */
static void mark(struct sb *out, const struct expr_node *n)
{
	sb_addf(out, "%c%zu%c", EXPR_NMARK, n->start, EXPR_PEND);
}

static int gen_value(struct expr_gen *g, struct expr_node *n, struct sb *out);
static int gen_cond(struct expr_gen *g, struct expr_node *n, struct sb *out);

/* Appends n (its value, or with cond its condition), in parentheses when
 * it binds looser than min. */
static void sub(struct expr_gen *g, struct expr_node *n, int min, int cond, struct sb *out)
{
	struct sb tmp = SB_INIT;
	int prec = cond ? gen_cond(g, n, &tmp) : gen_value(g, n, &tmp);

	if (prec < min) {
		mark(out, n);
		sb_addc(out, '(');
		sb_add(out, tmp.buf, tmp.len);
		sb_addc(out, ')');
	} else {
		sb_add(out, tmp.buf, tmp.len);
	}
	sb_free(&tmp);
}

static int is_time_arith(const struct expr_node *n)
{
	return n->kind == NK_ARITH && n->type == EXPR_TIME;
}

/* A time as seconds since the epoch: a parameter for a constant, flat
 * arithmetic for time +- duration, else the conversion of the text. */
static int epoch(struct expr_gen *g, struct expr_node *n, struct sb *out)
{
	if (n->kind == NK_CONST) {
		mark(out, n);
		if (n->p[1] < 0)
			n->p[1] = new_param(g, n, EXPR_P_INT, n->i, 0, NULL, 0);
		put_param(out, n->p[1]);
		return P_ATOM;
	}
	if (is_time_arith(n)) {
		struct expr_node *t = n->kid[0]->type == EXPR_TIME ? n->kid[0] : n->kid[1];
		struct expr_node *d = t == n->kid[0] ? n->kid[1] : n->kid[0];
		struct sb tmp = SB_INIT;

		mark(out, n);
		if (epoch(g, t, &tmp) < P_ADD) {
			sb_addc(out, '(');
			sb_add(out, tmp.buf, tmp.len);
			sb_addc(out, ')');
		} else {
			sb_add(out, tmp.buf, tmp.len);
		}
		sb_free(&tmp);
		sb_adds(out, n->op == TK_MINUS ? " - " : " + ");
		sub(g, d, P_MUL, 0, out);
		return P_ADD;
	}
	mark(out, n);
	sb_adds(out, "CAST(strftime('%s', ");
	gen_value(g, n, out);
	sb_adds(out, ") AS INTEGER)");
	return P_ATOM;
}

/* The epoch of an operand where it must bind at least as tightly as min. */
static void epoch_sub(struct expr_gen *g, struct expr_node *n, int min, struct sb *out)
{
	struct sb tmp = SB_INIT;

	if (epoch(g, n, &tmp) < min) {
		sb_addc(out, '(');
		sb_add(out, tmp.buf, tmp.len);
		sb_addc(out, ')');
	} else {
		sb_add(out, tmp.buf, tmp.len);
	}
	sb_free(&tmp);
}

static int gen_const(struct expr_gen *g, struct expr_node *n, struct sb *out)
{
	if (n->type == EXPR_NULL) {
		sb_adds(out, "NULL");
		return P_ATOM;
	}
	if (n->p[0] < 0) {
		switch (n->type) {
		case EXPR_STRING:
			n->p[0] = new_param(g, n, EXPR_P_TEXT, 0, 0, n->s, n->len);
			break;
		case EXPR_TIME:
			n->p[0] = time_param(g, n, n->i);
			break;
		case EXPR_NUMBER:
			n->p[0] = new_param(g, n, n->is_real ? EXPR_P_REAL : EXPR_P_INT,
					    n->i, n->d, NULL, 0);
			break;
		default:
			n->p[0] = new_param(g, n, EXPR_P_INT, n->i, 0, NULL, 0);
			break;
		}
	}
	put_param(out, n->p[0]);
	return P_ATOM;
}

static int gen_arith(struct expr_gen *g, struct expr_node *n, struct sb *out)
{
	struct expr_node *a = n->kid[0], *b = n->kid[1];

	if (a->type == EXPR_TIME && b->type == EXPR_TIME) {
		epoch_sub(g, a, P_ADD, out);
		sb_adds(out, " - ");
		epoch_sub(g, b, P_MUL, out);
		return P_ADD;
	}
	if (n->type == EXPR_TIME) {
		sb_adds(out, "datetime(");
		epoch(g, n, out);
		sb_adds(out, ", 'unixepoch')");
		return P_ATOM;
	}
	switch (n->op) {
	case TK_PLUS: case TK_MINUS:
		sub(g, a, P_ADD, 0, out);
		sb_adds(out, n->op == TK_PLUS ? " + " : " - ");
		sub(g, b, P_MUL, 0, out);
		return P_ADD;
	case TK_SLASH:
		/* real division: "7 / 2" is 3.5 */
		sub(g, a, P_MUL, 0, out);
		sb_adds(out, " * 1.0 / ");
		sub(g, b, P_UNARY, 0, out);
		return P_MUL;
	default:
		sub(g, a, P_MUL, 0, out);
		sb_adds(out, n->op == TK_STAR ? " * " : " % ");
		sub(g, b, P_UNARY, 0, out);
		return P_MUL;
	}
}

static int gen_value(struct expr_gen *g, struct expr_node *n, struct sb *out)
{
	mark(out, n);
	switch (n->kind) {
	case NK_CONST:
		return gen_const(g, n, out);
	case NK_FIELD:
		expand(g, g->now, n->def->sql, NULL, out);
		return P_ATOM;
	case NK_CALL:
		expand(g, g->now, n->def->sql, n, out);
		return P_ATOM;
	case NK_ATTR:
		if (n->p[0] < 0)
			n->p[0] = new_param(g, n, EXPR_P_TEXT, 0, 0, n->s, n->len);
		sb_adds(out, "json_extract(c.attrs, ");
		put_param(out, n->p[0]);
		sb_addc(out, ')');
		return P_ATOM;
	case NK_COERCE:
		switch (n->type) {
		case EXPR_NUMBER: sb_adds(out, "crm_num("); break;
		case EXPR_TIME: sb_adds(out, "crm_time("); break;
		case EXPR_BOOL: sb_adds(out, "crm_bool("); break;
		default: sb_adds(out, "CAST("); break;
		}
		gen_value(g, n->kid[0], out);
		sb_adds(out, n->type == EXPR_STRING ? " AS TEXT)" : ")");
		return P_ATOM;
	case NK_NEG:
		sb_addc(out, '-');
		/* "-(-x)", never "--x", which would be a comment */
		sub(g, n->kid[0], P_ATOM, 0, out);
		return P_UNARY;
	case NK_ARITH:
		return gen_arith(g, n, out);
	default:
		return gen_cond(g, n, out);
	}
}

void expr_gen_value(struct expr_gen *g, struct expr_node *n, struct sb *out)
{
	gen_value(g, n, out);
}

void expr_gen_show(struct expr_gen *g, struct expr_node *n, struct sb *out)
{
	if ((n->kind == NK_FIELD || n->kind == NK_CALL) && n->def->show)
		expand(g, g->now, n->def->show, n->kind == NK_CALL ? n : NULL, out);
	else
		gen_value(g, n, out);
}

/* Operands from..to of an and/or chain: up to 64 side by side, longer
 * chains in parenthesised groups of 64 (SQLite builds "a OR b OR c" as a
 * left-deep tree, so the groups keep its height small). For readability
 * an and inside an or is parenthesised although SQL would not need it. */
static void chain(struct expr_gen *g, struct expr_node *n, size_t lo, size_t hi,
		  struct sb *out)
{
	const char *op = n->kind == NK_AND ? " AND " : " OR ";
	int min = P_NOT;
	size_t step = 1;

	while (step * 64 < hi - lo)
		step *= 64;
	for (size_t i = lo; i < hi; i += step) {
		size_t end = i + step < hi ? i + step : hi;

		if (i > lo)
			sb_adds(out, op);
		if (end - i == 1) {
			sub(g, n->kid[i], min, 1, out);
		} else {
			mark(out, n->kid[i]);
			sb_addc(out, '(');
			chain(g, n, i, end, out);
			sb_addc(out, ')');
		}
	}
}

static const char *cmp_sql(enum expr_tok op)
{
	switch (op) {
	case TK_EQ: return " = ";
	case TK_NE: return " <> ";
	case TK_LT: return " < ";
	case TK_LE: return " <= ";
	case TK_GT: return " > ";
	default: return " >= ";
	}
}

/* Times compare as text ("YYYY-MM-DD HH:MM:SS"), which lets SQLite use
 * indexes; once one side is time arithmetic, all compare as epochs. */
static int use_epoch(const struct expr_node *n)
{
	if (n->kid[0]->type != EXPR_TIME)
		return 0;
	for (size_t i = 0; i < n->nkid; i++)
		if (is_time_arith(n->kid[i]))
			return 1;
	return 0;
}

static void cmp_operand(struct expr_gen *g, struct expr_node *n, int ep, struct sb *out)
{
	if (ep)
		epoch_sub(g, n, P_ADD, out);
	else
		sub(g, n, P_ADD, 0, out);
}

static int gen_cond(struct expr_gen *g, struct expr_node *n, struct sb *out)
{
	int ep;

	mark(out, n);
	switch (n->kind) {
	case NK_CMP:
		ep = use_epoch(n);
		cmp_operand(g, n->kid[0], ep, out);
		sb_adds(out, cmp_sql(n->op));
		cmp_operand(g, n->kid[1], ep, out);
		return P_CMP;
	case NK_IN:
		ep = use_epoch(n);
		cmp_operand(g, n->kid[0], ep, out);
		sb_adds(out, n->neg ? " NOT IN (" : " IN (");
		for (size_t i = 1; i < n->nkid; i++) {
			if (i > 1)
				sb_adds(out, ", ");
			if (ep)
				epoch(g, n->kid[i], out);
			else
				gen_value(g, n->kid[i], out);
		}
		sb_addc(out, ')');
		return P_CMP;
	case NK_BETWEEN:
		ep = use_epoch(n);
		cmp_operand(g, n->kid[0], ep, out);
		sb_adds(out, n->neg ? " NOT BETWEEN " : " BETWEEN ");
		cmp_operand(g, n->kid[1], ep, out);
		sb_adds(out, " AND ");
		cmp_operand(g, n->kid[2], ep, out);
		return P_CMP;
	case NK_LIKE:
		sub(g, n->kid[0], P_ADD, 0, out);
		sb_adds(out, n->neg ? " NOT LIKE " : " LIKE ");
		sub(g, n->kid[1], P_ADD, 0, out);
		sb_adds(out, " ESCAPE '\\'");
		return P_CMP;
	case NK_REGEX:
		sb_adds(out, n->neg ? "NOT regexp(" : "regexp(");
		gen_value(g, n->kid[1], out);
		sb_adds(out, ", ");
		gen_value(g, n->kid[0], out);
		sb_addc(out, ')');
		return n->neg ? P_NOT : P_ATOM;
	case NK_ISNULL:
		sub(g, n->kid[0], P_ADD, 0, out);
		sb_adds(out, n->neg ? " IS NOT NULL" : " IS NULL");
		return P_CMP;
	case NK_AND:
	case NK_OR:
		chain(g, n, 0, n->nkid, out);
		return n->kind == NK_AND ? P_AND : P_OR;
	case NK_NOT:
		/* two-valued: not (null) is true */
		sb_adds(out, "NOT coalesce(");
		gen_cond(g, n->kid[0], out);
		sb_adds(out, ", 0)");
		return P_NOT;
	default:
		break;
	}
	switch (n->type) {
	case EXPR_BOOL:
		return gen_value(g, n, out);
	case EXPR_NUMBER:
		sub(g, n, P_ADD, 0, out);
		sb_adds(out, " <> 0");
		return P_CMP;
	case EXPR_ANY:
		sb_adds(out, "crm_bool(");
		gen_value(g, n, out);
		sb_addc(out, ')');
		return P_ATOM;
	default:
		sub(g, n, P_ADD, 0, out);
		sb_adds(out, " IS NOT NULL");
		return P_CMP;
	}
}

void expr_gen_cond(struct expr_gen *g, struct expr_node *n, struct sb *out)
{
	gen_cond(g, n, out);
}

/* ------------------------------------------------------------ output */

/* Skips a mark "\00XN\002" at p; returns the byte after it and N. */
static const char *skip_mark(const char *p, long *n)
{
	char *end;

	*n = strtol(p + 1, &end, 10);
	return *end == EXPR_PEND ? end : end - 1;
}

char *expr_render(const char *isql, int first)
{
	struct sb out = SB_INIT;
	long n;

	for (const char *p = isql; *p; p++) {
		if (*p == EXPR_PMARK) {
			p = skip_mark(p, &n);
			sb_addf(&out, "?%ld", (long)first + n);
		} else if (*p == EXPR_NMARK) {
			p = skip_mark(p, &n);
		} else {
			sb_addc(&out, *p);
		}
	}
	return sb_detach(&out);
}

/*
 * How deeply SQLite's parser must nest to read isql, in units calibrated
 * on SQLite 3.40 (whose parser stack holds 100 entries) with a margin:
 * a parenthesis opening a subquery costs 7, a function call 5, any other
 * 4. Returns the deepest point and in *pos the source position of the
 * innermost node there.
 */
int expr_sql_nesting(const char *isql, size_t *pos)
{
	int *stack = NULL, cur = 0, max = 0;
	size_t sp = 0, cap = 0, last = 0;
	char prev = ' ';
	long n;

	*pos = 0;
	for (const char *p = isql; *p; p++) {
		if (*p == EXPR_NMARK) {
			p = skip_mark(p, &n);
			last = (size_t)n;
			continue;
		}
		if (*p == EXPR_PMARK) {
			p = skip_mark(p, &n);
			prev = '?';
			continue;
		}
		if (*p == '\'') {
			while (p[1] && !(p[1] == '\'' && p[2] != '\''))
				p += p[1] == '\'' ? 2 : 1;
			if (p[1])
				p++;
			prev = '\'';
			continue;
		}
		if (*p == '(') {
			const char *q = p + 1;
			int w = 4;

			while (*q == ' ' || *q == EXPR_NMARK) {
				if (*q == EXPR_NMARK)
					q = skip_mark(q, &n);
				q++;
			}
			if (!strncmp(q, "SELECT", 6))
				w = 7;
			else if (ascii_isalpha((unsigned char)prev) || ascii_isdigit((unsigned char)prev) ||
				 prev == '_')
				w = 5;
			stack = xgrow(stack, sizeof(*stack), sp + 1, &cap);
			stack[sp++] = w;
			cur += w;
			if (cur > max) {
				max = cur;
				*pos = last;
			}
		} else if (*p == ')' && sp) {
			cur -= stack[--sp];
		}
		if (*p != ' ')
			prev = *p;
	}
	free(stack);
	return max;
}

/* attr.NAME[.NAME]: the same names the lexer accepts. */
static int attr_field_sql(const char *name, struct sb *sql)
{
	struct sb path = SB_INIT;
	const char *p = name;
	size_t bad;

	if (!utf8_valid(name, strlen(name), &bad))
		return -1;
	while (*p == '.') {
		const char *b = ++p;

		while (*p && (ascii_isalpha((unsigned char)*p) || ascii_isdigit((unsigned char)*p) ||
			      *p == '_' || (unsigned char)*p >= 0x80))
			p++;
		if (p == b)
			break;
		sb_adds(&path, ".\"");
		for (; b < p; b++)
			sb_addc(&path, ascii_lower((unsigned char)*b));
		sb_addc(&path, '"');
	}
	if (*p || !path.len) {
		sb_free(&path);
		return -1;
	}
	sb_addf(sql, "json_extract(c.attrs, '$%s')", path.buf);
	sb_free(&path);
	return 0;
}

int expr_field_sql(const char *name, int64_t now, struct sb *sql)
{
	const struct expr_def *d;
	size_t len = strlen(name);
	char low[64];

	if (len > 5 && !ascii_ncasecmp(name, "attr.", 5))
		return attr_field_sql(name + 4, sql);
	if (len >= sizeof(low))
		return -1;
	for (size_t i = 0; i <= len; i++)
		low[i] = (char)ascii_lower((unsigned char)name[i]);
	d = expr_def_find(low, len, 0);
	if (!d)
		return -1;
	if (!d->sql)
		return -2;
	return expand(NULL, now, d->show ? d->show : d->sql, NULL, sql);
}
