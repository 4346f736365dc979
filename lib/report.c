/*
 * report.c - crm-report's common parts (the customer filter, tables of
 * results, money, one scan over the completed orders) and the reports on
 * the whole base: summary, cohorts, rfm, ltv and budget. See report.h and
 * crm-report(1) for what each number means.
 */
#include "report.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "diag.h"
#include "expr.h"
#include "norm.h"
#include "score_model.h"
#include "seg.h"
#include "util.h"


/* ---- the customer filter ------------------------------------------------ */

/* Inserts into temp table `table` the customers matching text (all
 * customers for an empty one). Returns 0 or an exit status. */
static int fill_filter(struct report *r, const char *table, const char *text, const char *label)
{
	sqlite3 *db = r->crm->db;
	struct expr *e = NULL;
	struct expr_err err;
	struct sb sql = SB_INIT;
	sqlite3_stmt *st = NULL, *ins;
	int rc;

	if (text && *text && !(e = expr_compile(text, r->crm->now, &err))) {
		crm_error("%s:%d:%d: %s", label, err.line, err.col, err.msg);
		return CRM_EXIT_USAGE;
	}
	sb_addf(&sql, "CREATE TEMP TABLE %s(customer_id INTEGER PRIMARY KEY)", table);
	db_exec(db, sql.buf);
	sb_reset(&sql);
	sb_adds(&sql, "SELECT c.id FROM customers c WHERE ");
	if (e)
		sb_addf(&sql, "(%s) AND ", expr_sql(e));
	sb_adds(&sql, "c.erased_at IS NULL");
	/* the same guards as crm-segment: authorizer, read-only, bound values */
	expr_register(db);
	sqlite3_set_authorizer(db, expr_authorizer, NULL);
	rc = sqlite3_prepare_v2(db, sql.buf, -1, &st, NULL);
	sqlite3_set_authorizer(db, NULL, NULL);
	if (rc != SQLITE_OK)
		crm_die(1, "%s: cannot run the expression: %s", r->crm->db_path, sqlite3_errmsg(db));
	if (expr_check_readonly(st) < 0)
		crm_die(1, "refusing to run a statement that could write");
	if (e && expr_bind(e, st, 1) != SQLITE_OK)
		db_die(db, NULL);
	sb_reset(&sql);
	sb_addf(&sql, "INSERT INTO temp.%s(customer_id) VALUES (?)", table);
	ins = db_prepare(db, sql.buf);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		sqlite3_bind_int64(ins, 1, sqlite3_column_int64(st, 0));
		db_step_done(db, ins);
	}
	if (rc != SQLITE_DONE)
		db_die(db, NULL);
	sqlite3_finalize(ins);
	sqlite3_finalize(st);
	sb_free(&sql);
	expr_free(e);
	return 0;
}

int report_open(struct report *r, struct crm *crm, const struct report_opts *o)
{
	int rc;

	memset(r, 0, sizeof(*r));
	r->crm = crm;
	r->o = o;
	r->fp = stdout;
	r->format = crm->format;
	/* a file is for a program: csv unless -f says otherwise */
	if (o->output && !crm->format_given)
		r->format = OUT_CSV;
	if (o->segment) {
		char *text = seg_load(crm, o->segment);
		char label[96];

		if (!text)
			return 1;
		snprintf(label, sizeof(label), "segment %s", o->segment);
		rc = fill_filter(r, "report_filter", text, label);
		free(text);
		if (rc)
			return rc;
		r->filtered = 1;
	}
	if (o->where) {
		if ((rc = fill_filter(r, r->filtered ? "report_where" : "report_filter",
				      o->where, "--where")))
			return rc;
		if (r->filtered)
			db_exec(crm->db, "DELETE FROM temp.report_filter WHERE customer_id NOT IN"
				" (SELECT customer_id FROM temp.report_where)");
		r->filtered = 1;
	}
	if (o->output) {
		if (!(r->fp = fopen_private(o->output, 0))) {
			crm_error_errno("%s", o->output);
			return 1;
		}
	}
	return 0;
}

int report_close(struct report *r)
{
	int rc = 0;

	if (r->fp && r->fp != stdout) {
		if (ferror(r->fp) | fclose(r->fp)) {
			crm_error_errno("%s: write error", r->o->output);
			rc = 1;
		}
	}
	r->fp = NULL;
	return rc;
}

const char *report_filter(const struct report *r, const char *col, char *buf, size_t n)
{
	if (!r->filtered)
		return "";
	snprintf(buf, n, " AND %s IN (SELECT customer_id FROM temp.report_filter)", col);
	return buf;
}

/* ---- tables ------------------------------------------------------------- */

void rtab_init(struct rtab *t, size_t ncols, const char *const *cols)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	t->cols = xcalloc(ncols, sizeof(char *));
	for (size_t i = 0; i < ncols; i++)
		t->cols[i] = xstrdup(cols[i]);
}

void rtab_kind(struct rtab *t, enum out_kind k, const char *currency, const char *const *names)
{
	if (!t->kind) {
		/* only a table that is printed has kinds (--html's are freed
		 * by report_html.c, which knows no kinds) */
		t->kind = xcalloc(t->ncols ? t->ncols : 1, 1);
		t->cur = xcalloc(t->ncols ? t->ncols : 1, sizeof(*t->cur));
	}
	for (; *names; names++)
		for (size_t i = 0; i < t->ncols; i++)
			if (!strcmp(t->cols[i], *names)) {
				t->kind[i] = (unsigned char)k;
				snprintf(t->cur[i], sizeof(t->cur[i]), "%s", currency ? currency : "");
			}
}

struct out_val *rtab_row(struct rtab *t)
{
	struct out_val *v;

	t->v = xgrow(t->v, t->ncols * sizeof(*t->v), t->nrows + 1, &t->cap);
	v = t->v + t->nrows++ * t->ncols;
	memset(v, 0, t->ncols * sizeof(*v));
	return v;
}

void rtab_text(struct rtab *t, struct out_val *v, const char *s)
{
	char *c;

	if (!s) {
		v->t = OUT_NULL;
		return;
	}
	c = xstrdup(s);
	t->strs = xgrow(t->strs, sizeof(char *), t->nstrs + 1, &t->capstrs);
	t->strs[t->nstrs++] = c;
	v->t = OUT_TEXT;
	v->s = c;
	v->len = strlen(c);
}

void rtab_int(struct out_val *v, int64_t i)
{
	v->t = OUT_INT;
	v->i = i;
}

void rtab_real(struct out_val *v, double d, int digits)
{
	double k = pow(10, digits);

	if (!isfinite(d)) {
		v->t = OUT_NULL;
		return;
	}
	v->t = OUT_REAL;
	v->d = round(d * k) / k;
	if (v->d == 0)
		v->d = 0; /* no "-0" */
}

static void rtab_free(struct rtab *t)
{
	for (size_t i = 0; i < t->ncols; i++)
		free((char *)t->cols[i]);
	free(t->cols);
	free(t->kind);
	free(t->cur);
	free(t->v);
	for (size_t i = 0; i < t->nstrs; i++)
		free(t->strs[i]);
	free(t->strs);
	memset(t, 0, sizeof(*t));
}

static void value_text(const struct out_val *v, struct sb *sb)
{
	switch (v->t) {
	case OUT_NULL:
		break;
	case OUT_INT:
		sb_addf(sb, "%lld", (long long)v->i);
		break;
	case OUT_REAL:
		sb_addf(sb, "%.15g", v->d);
		break;
	default:
		sb_add(sb, v->s, v->len);
	}
}

void rtab_emit(struct report *r, struct rtab *t)
{
	struct out *o = out_new(r->fp, r->format);

	out_set_neutralise(o, r->o->raw ? 0 : OUT_NEUTRALISE_TEXT);
	if (r->format == OUT_TABLE && !t->keep && t->ncols > 8 && t->nrows >= 1 && t->nrows <= 12) {
		/* sideways: a line per column, a column per row, headed by the
		 * rows' first values */
		const char **names = xcalloc(t->nrows + 1, sizeof(char *));
		struct sb *heads = xcalloc(t->nrows, sizeof(struct sb));
		struct out_val *v = xcalloc(t->nrows + 1, sizeof(*v));

		long curcol = -1;

		names[0] = "metric";
		for (size_t j = 0; j < t->nrows; j++) {
			sb_init(&heads[j]);
			value_text(&t->v[j * t->ncols], &heads[j]);
			names[j + 1] = heads[j].buf;
		}
		out_columns(o, t->nrows + 1, names);
		/* a column per row: money in that row's currency */
		for (size_t i = 0; i < t->ncols && curcol < 0; i++)
			if (!strcmp(t->cols[i], "currency"))
				curcol = (long)i;
		for (size_t j = 0; curcol >= 0 && j < t->nrows; j++) {
			const struct out_val *c = &t->v[j * t->ncols + curcol];
			if (c->t == OUT_TEXT)
				out_column_currency(o, j + 1, c->s);
		}
		for (size_t i = 1; i < t->ncols; i++) {
			v[0] = (struct out_val){ .t = OUT_TEXT, .s = t->cols[i], .len = strlen(t->cols[i]) };
			for (size_t j = 0; j < t->nrows; j++)
				v[j + 1] = t->v[j * t->ncols + i];
			if (t->kind)
				out_row_kind(o, (enum out_kind)t->kind[i],
					     t->cur[i][0] ? t->cur[i] : NULL);
			out_row(o, v);
		}
		for (size_t j = 0; j < t->nrows; j++)
			sb_free(&heads[j]);
		free(heads);
		free(names);
		free(v);
	} else {
		out_columns(o, t->ncols, t->cols);
		for (size_t i = 0; t->kind && i < t->ncols; i++)
			if (t->kind[i])
				out_column_kind(o, t->cols[i], (enum out_kind)t->kind[i],
						t->cur[i][0] ? t->cur[i] : NULL);
		for (size_t j = 0; j < t->nrows; j++)
			out_row(o, t->v + j * t->ncols);
	}
	out_finish(o);
	rtab_free(t);
}

double report_rate(int64_t a, int64_t b)
{
	return b > 0 ? (double)a / b : NAN;
}

/* ---- money and time ------------------------------------------------------ */

double report_major(int64_t minor, const char *code)
{
	int k = expr_currency_k(code, code ? strlen(code) : 0);
	return (double)minor * k / 1000.0;
}

int64_t report_time(const char *s)
{
	int v[6] = { 0 };
	static const int pos[6] = { 0, 5, 8, 11, 14, 17 }, len[6] = { 4, 2, 2, 2, 2, 2 };

	if (!s || strlen(s) < 19)
		return -1;
	for (int i = 0; i < 6; i++)
		for (int j = 0; j < len[i]; j++) {
			char c = s[pos[i] + j];
			if (c < '0' || c > '9')
				return -1;
			v[i] = v[i] * 10 + (c - '0');
		}
	return norm_days_from_civil(v[0], v[1], v[2]) * 86400 + v[3] * 3600 + v[4] * 60 + v[5];
}

/* ---- the scan of completed orders ----------------------------------------- */

#define MAXCUR 32
static char currencies[MAXCUR][4];
static size_t ncurrencies;

const char *report_currency(size_t i)
{
	return i < ncurrencies ? currencies[i] : NULL;
}

size_t report_ncurrencies(void)
{
	return ncurrencies;
}

/* Scans run in two threads: the table of currencies is shared. */
static pthread_mutex_t currency_lock = PTHREAD_MUTEX_INITIALIZER;

int report_currency_index(const char *code)
{
	int k = -1;

	pthread_mutex_lock(&currency_lock);
	for (size_t i = 0; i < ncurrencies && k < 0; i++)
		if (!strcmp(currencies[i], code))
			k = (int)i;
	if (k < 0 && ncurrencies < MAXCUR && strlen(code) < sizeof(currencies[0])) {
		memcpy(currencies[ncurrencies], code, strlen(code) + 1);
		k = (int)ncurrencies++;
	}
	pthread_mutex_unlock(&currency_lock);
	return k;
}

/* One scan: the orders of customers lo <= id < hi (hi < 0: no bound) on
 * db, passed customer by customer to fn(arg, ...). */
struct scan {
	struct report *r;
	sqlite3 *db;
	int64_t lo, hi;
	void (*fn)(void *arg, int64_t customer, const struct rorder *o, size_t n);
	void *arg;
};

static void *scan_run(void *p)
{
	struct scan *sc = p;
	struct report *r = sc->r;
	sqlite3 *db = sc->db;
	struct sb sql = SB_INIT;
	sqlite3_stmt *st;
	char now[20], f[128];
	struct rorder *buf = NULL;
	size_t n = 0, cap = 0;
	int64_t cur_customer = -1;
	char last_code[8] = "";
	int last_idx = -1, rc, warned = 0;

	norm_fmt_time(r->crm->now, now);
	/* the index orders_customer (customer_id, ordered_at, purchase, amount,
	 * currency, status) covers the query and gives its order */
	sb_addf(&sql, "SELECT o.customer_id, o.ordered_at, o.amount, o.currency, o.purchase"
		" FROM orders o WHERE " DB_COUNTED("o") " AND o.ordered_at <= ?1%s%s"
		" ORDER BY o.customer_id, o.ordered_at",
		sc->hi >= 0 ? " AND o.customer_id >= ?2 AND o.customer_id < ?3" : "",
		report_filter(r, "o.customer_id", f, sizeof(f)));
	st = db_prepare(db, sql.buf);
	sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
	if (sc->hi >= 0) {
		sqlite3_bind_int64(st, 2, sc->lo);
		sqlite3_bind_int64(st, 3, sc->hi);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t c = sqlite3_column_int64(st, 0);
		const char *code = (const char *)sqlite3_column_text(st, 3);
		struct rorder ro;

		if (c != cur_customer) {
			if (n)
				sc->fn(sc->arg, cur_customer, buf, n);
			n = 0;
			cur_customer = c;
		}
		if (!code)
			code = "";
		if (last_idx < 0 || strcmp(code, last_code)) {
			last_idx = report_currency_index(code);
			snprintf(last_code, sizeof(last_code), "%.7s", code);
		}
		if (last_idx < 0) {
			if (!warned++)
				crm_warn("more than %d currencies: orders in the others are left out", MAXCUR);
			continue;
		}
		ro.t = report_time((const char *)sqlite3_column_text(st, 1));
		ro.amount = sqlite3_column_int64(st, 2);
		ro.cur = last_idx;
		ro.refund = sqlite3_column_int(st, 4) < 0;
		buf = xgrow(buf, sizeof(*buf), n + 1, &cap);
		buf[n++] = ro;
	}
	if (rc != SQLITE_DONE)
		db_die(db, NULL);
	if (n)
		sc->fn(sc->arg, cur_customer, buf, n);
	sqlite3_finalize(st);
	free(buf);
	sb_free(&sql);
	return NULL;
}

void report_scan_orders(struct report *r,
			void (*fn)(void *arg, int64_t customer, const struct rorder *o, size_t n),
			void *arg)
{
	struct scan sc = { r, r->crm->db, 0, -1, fn, arg };
	scan_run(&sc);
}

int report_scan_orders2(struct report *r,
			void (*fn)(void *arg, int64_t customer, const struct rorder *o, size_t n),
			void *arg0, void *arg1)
{
	struct scan a = { r, r->crm->db, 0, -1, fn, arg0 }, b;
	sqlite3_stmt *st;
	sqlite3 *db2 = NULL;
	int64_t lo = 0, hi = -1;

	/* the filter is a temporary table of this connection: one scan */
	if (!r->filtered) {
		st = db_prepare(r->crm->db, "SELECT min(customer_id), max(customer_id) FROM orders");
		if (db_row(st) && sqlite3_column_type(st, 0) != SQLITE_NULL) {
			lo = sqlite3_column_int64(st, 0);
			hi = sqlite3_column_int64(st, 1);
		}
		sqlite3_finalize(st);
	}
	/* (opened as the first one was: on a read-only medium, immutable) */
	if (r->filtered || hi <= lo || !(db2 = db_open_reader(r->crm))) {
		scan_run(&a);
		return 0;
	}
	sqlite3_busy_timeout(db2, 600000);
	/* two halves of the customers, each in its own thread and connection */
	a.lo = lo;
	a.hi = lo + (hi - lo) / 2;
	b = (struct scan){ r, db2, a.hi, hi + 1, fn, arg1 };
	sc_run2(scan_run, &a, &b);
	sqlite3_close(db2);
	return 1;
}

/* The currency money is reported in when a report needs one: --currency,
 * else the one of most completed orders counted in counts[] (indexed as
 * report_currency()), else NULL. */
static const char *main_currency(const struct report *r, const int64_t *counts)
{
	size_t best = 0;

	if (r->o->currency)
		return r->o->currency;
	for (size_t i = 1; i < ncurrencies; i++)
		if (counts[i] > counts[best])
			best = i;
	return ncurrencies ? currencies[best] : NULL;
}

static int64_t count_customers(struct report *r)
{
	char f[128], sql[256];
	sqlite3_stmt *st;
	int64_t n = 0;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM customers c WHERE c.erased_at IS NULL%s",
		 report_filter(r, "c.id", f, sizeof(f)));
	st = db_prepare(r->crm->db, sql);
	if (db_row(st))
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* ---- summary ---------------------------------------------------------------- */

struct sum_cur {
	int64_t buyers, repeat, orders, revenue;
	int64_t active[3];        /* bought in the last 30, 90, 365 days */
	int64_t prev_year, kept;  /* bought in the year before; and again since */
	int64_t churned;          /* no order in the last 365 days */
};

struct sum_ctx {
	int64_t now;
	struct sum_cur cur[MAXCUR];
};

static void sum_customer(void *arg, int64_t customer, const struct rorder *o, size_t n)
{
	struct sum_ctx *s = arg;
	static const int days[3] = { 30, 90, 365 };

	/* per currency: a customer who pays in two is a buyer in both */
	int seen[MAXCUR], nseen = 0;

	(void)customer;
	for (size_t i = 0; i < n; i++) {
		int k;
		for (k = 0; k < nseen && seen[k] != o[i].cur; k++)
			;
		if (k == nseen)
			seen[nseen++] = o[i].cur;
	}
	for (int q = 0; q < nseen; q++) {
		int c = seen[q];
		struct sum_cur *a = &s->cur[c];
		int64_t k = 0, last = 0;
		int prev = 0, recent = 0;

		for (size_t j = 0; j < n; j++) {
			if (o[j].cur != c)
				continue;
			a->revenue += o[j].amount;
			if (o[j].refund)
				continue;
			k++;
			last = o[j].t;
			if (o[j].t > s->now - 730 * 86400LL && o[j].t <= s->now - 365 * 86400LL)
				prev = 1;
			if (o[j].t > s->now - 365 * 86400LL)
				recent = 1;
		}
		if (!k)
			continue; /* refunds alone: not a buyer */
		a->buyers++;
		a->orders += k;
		a->repeat += k >= 2;
		for (int d = 0; d < 3; d++)
			a->active[d] += last > s->now - days[d] * 86400LL;
		a->prev_year += prev;
		a->kept += prev && recent;
		a->churned += !recent;
	}
}

static double ratio(double a, double b)
{
	return b > 0 ? a / b : NAN;
}

int report_build_summary(struct report *r, struct rtab *t)
{
	static const char *const cols[] = {
		"currency", "customers", "buyers", "repeat_buyers", "repeat_rate", "orders",
		"revenue", "aov", "frequency", "active_30d", "active_90d", "active_365d",
		"retention_rate", "churned_share", "avg_clv",
	};
	struct sum_ctx *s = xcalloc(2, sizeof(*s));
	int64_t customers = count_customers(r);
	size_t order[MAXCUR], n = 0;
	double clv[MAXCUR];
	char f[128];
	struct sb sql = SB_INIT;
	sqlite3_stmt *st;

	s[0].now = s[1].now = r->crm->now;
	if (report_scan_orders2(r, sum_customer, &s[0], &s[1]))
		for (size_t i = 0; i < MAXCUR; i++) {
			struct sum_cur *a = &s[0].cur[i], *b = &s[1].cur[i];
			a->buyers += b->buyers;
			a->repeat += b->repeat;
			a->orders += b->orders;
			a->revenue += b->revenue;
			for (int d = 0; d < 3; d++)
				a->active[d] += b->active[d];
			a->prev_year += b->prev_year;
			a->kept += b->kept;
			a->churned += b->churned;
		}
	for (size_t i = 0; i < MAXCUR; i++)
		clv[i] = NAN;
	/* the average CLV of the customers scored in each currency */
	sb_addf(&sql, "SELECT s.currency, avg(s.clv) FROM currency_scores s"
		" WHERE s.clv IS NOT NULL%s GROUP BY s.currency",
		report_filter(r, "s.customer_id", f, sizeof(f)));
	st = db_prepare(r->crm->db, sql.buf);
	while (db_row(st)) {
		const char *code = (const char *)sqlite3_column_text(st, 0);
		int i = code ? report_currency_index(code) : -1;
		if (i >= 0)
			clv[i] = sqlite3_column_double(st, 1);
	}
	sqlite3_finalize(st);
	sb_free(&sql);

	for (size_t i = 0; i < ncurrencies; i++)
		if (s->cur[i].buyers || isfinite(clv[i]))
			order[n++] = i;
	/* the currency of most orders first, ties by code */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && (s->cur[order[j]].orders > s->cur[order[j - 1]].orders ||
					     (s->cur[order[j]].orders == s->cur[order[j - 1]].orders &&
					      strcmp(currencies[order[j]], currencies[order[j - 1]]) < 0)); j--) {
			size_t x = order[j];
			order[j] = order[j - 1];
			order[j - 1] = x;
		}
	rtab_init(t, ARRAY_SIZE(cols), cols);
	if (!n) {
		struct out_val *v = rtab_row(t);
		rtab_int(&v[1], customers);
		for (int k = 2; k < 14; k++)
			if (k != 4 && k != 7 && k != 8 && k != 12 && k != 13)
				rtab_int(&v[k], 0);
	}
	for (size_t j = 0; j < n; j++) {
		size_t i = order[j];
		const struct sum_cur *a = &s->cur[i];
		const char *code = currencies[i];
		struct out_val *v = rtab_row(t);
		double rev = report_major(a->revenue, code);

		rtab_text(t, &v[0], code);
		rtab_int(&v[1], customers);
		rtab_int(&v[2], a->buyers);
		rtab_int(&v[3], a->repeat);
		rtab_real(&v[4], ratio(a->repeat, a->buyers), 4);
		rtab_int(&v[5], a->orders);
		rtab_real(&v[6], rev, 2);
		rtab_real(&v[7], ratio(rev, a->orders), 2);
		rtab_real(&v[8], ratio(a->orders, a->buyers), 4);
		rtab_int(&v[9], a->active[0]);
		rtab_int(&v[10], a->active[1]);
		rtab_int(&v[11], a->active[2]);
		rtab_real(&v[12], ratio(a->kept, a->prev_year), 4);
		rtab_real(&v[13], ratio(a->churned, a->buyers), 4);
		rtab_real(&v[14], clv[i], 2);
	}
	free(s);
	return 0;
}

int report_summary(struct report *r)
{
	struct rtab t;
	int rc = report_build_summary(r, &t);

	if (rc)
		return rc;
	RTAB_KIND(&t, OUT_KIND_COUNT, NULL, "customers", "buyers", "repeat_buyers", "orders",
		  "active_30d", "active_90d", "active_365d");
	RTAB_KIND(&t, OUT_KIND_MONEY, NULL, "revenue", "aov", "avg_clv");
	RTAB_KIND(&t, OUT_KIND_RATE, NULL, "repeat_rate", "retention_rate", "churned_share");
	rtab_emit(r, &t);
	return rc;
}

/* ---- cohorts ------------------------------------------------------------------ */

struct cohort {
	int64_t customers;
	int64_t *active;          /* customers who ordered in period k */
	int64_t *rev;             /* minor units, [k * MAXCUR + currency] */
	int n;                    /* periods allocated */
};

struct coh_ctx {
	int by_week;
	int64_t now_period;
	int64_t min_period, max_period;
	struct cohort *c;         /* indexed by period - base */
	int64_t base, ncap;
	int64_t orders[MAXCUR];
};

/* Months since 1970-01, or Monday-based weeks since 1969-12-29. */
static int64_t period_of(int by_week, int64_t t)
{
	int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
	int y, m, d;

	if (by_week)
		return (days + 3) >= 0 ? (days + 3) / 7 : -((-(days + 3) + 6) / 7);
	norm_civil_from_days(days, &y, &m, &d);
	return (int64_t)y * 12 + (m - 1) - 1970 * 12;
}

static void period_label(int by_week, int64_t p, char *buf, size_t n)
{
	int y, m, d;

	if (by_week) {
		norm_civil_from_days(p * 7 - 3, &y, &m, &d);
		snprintf(buf, n, "%04d-%02d-%02d", y, m, d);
	} else {
		int64_t mm = p + 1970 * 12;
		snprintf(buf, n, "%04lld-%02lld", (long long)(mm / 12), (long long)(mm % 12 + 1));
	}
}

static struct cohort *cohort_at(struct coh_ctx *c, int64_t p)
{
	if (!c->c) {
		c->base = p - 64;
		c->ncap = 4096;
		c->c = xcalloc(c->ncap, sizeof(*c->c));
	}
	if (p < c->base || p >= c->base + c->ncap) {
		/* grow to cover p, keeping the rows where they are by period */
		int64_t lo = p < c->base ? p - 64 : c->base;
		int64_t hi = p >= c->base + c->ncap ? p + 64 : c->base + c->ncap;
		struct cohort *nc = xcalloc(hi - lo, sizeof(*nc));
		memcpy(nc + (c->base - lo), c->c, c->ncap * sizeof(*nc));
		free(c->c);
		c->c = nc;
		c->base = lo;
		c->ncap = hi - lo;
	}
	return &c->c[p - c->base];
}

/* The arrays of the cohort h of period p, when it has none yet. */
static void cohort_alloc(struct coh_ctx *c, struct cohort *h, int64_t p)
{
	if (!h->active) {
		h->n = (int)(c->now_period - p + 1);
		if (h->n < 1)
			h->n = 1;
		h->active = xcalloc(h->n, sizeof(int64_t));
		h->rev = xcalloc((size_t)h->n * MAXCUR, sizeof(int64_t));
	}
	if (p < c->min_period)
		c->min_period = p;
	if (p > c->max_period)
		c->max_period = p;
}

/* Adds the cohorts of b to a and frees b's. */
static void cohorts_merge(struct coh_ctx *a, struct coh_ctx *b)
{
	for (int64_t p = b->min_period; b->c && p <= b->max_period; p++) {
		struct cohort *y = &b->c[p - b->base], *x;

		if (!y->customers)
			continue;
		x = cohort_at(a, p);
		cohort_alloc(a, x, p);
		x->customers += y->customers;
		for (int k = 0; k < x->n && k < y->n; k++) {
			x->active[k] += y->active[k];
			for (int q = 0; q < MAXCUR; q++)
				x->rev[k * MAXCUR + q] += y->rev[k * MAXCUR + q];
		}
	}
	for (int q = 0; q < MAXCUR; q++)
		a->orders[q] += b->orders[q];
	for (int64_t i = 0; b->c && i < b->ncap; i++) {
		free(b->c[i].active);
		free(b->c[i].rev);
	}
	free(b->c);
	b->c = NULL;
}

static void coh_customer(void *arg, int64_t customer, const struct rorder *o, size_t n)
{
	struct coh_ctx *c = arg;
	size_t i0 = 0;
	int64_t first, lastk = -1;
	struct cohort *h;

	(void)customer;
	while (i0 < n && o[i0].refund)
		i0++;
	if (i0 == n)
		return; /* refunds alone: in no cohort */
	first = period_of(c->by_week, o[i0].t);
	h = cohort_at(c, first);
	cohort_alloc(c, h, first);
	h->customers++;
	for (size_t i = i0; i < n; i++) {
		int64_t k = period_of(c->by_week, o[i].t) - first;
		c->orders[o[i].cur] += !o[i].refund;
		if (k >= h->n)
			continue;
		h->rev[k * MAXCUR + o[i].cur] += o[i].amount;
		if (o[i].refund)
			continue;
		if (k != lastk)
			h->active[k]++;
		lastk = k;
	}
}

int report_build_cohorts(struct report *r, struct rtab *t)
{
	const char *metric = r->o->metric ? r->o->metric : "retention";
	struct coh_ctx c = { 0 }, c2;
	const char *code;
	int64_t width = 0;
	const char **cols;
	char lab[32];
	int cur = -1;

	c.by_week = r->o->by_week;
	c.now_period = period_of(c.by_week, r->crm->now);
	c.min_period = INT64_MAX;
	c.max_period = INT64_MIN;
	c2 = c;
	if (report_scan_orders2(r, coh_customer, &c, &c2))
		cohorts_merge(&c, &c2);
	code = main_currency(r, c.orders);
	if (code)
		cur = report_currency_index(code);
	if (!strcmp(metric, "revenue") && !r->o->currency) {
		int64_t other = 0;
		for (size_t i = 0; i < ncurrencies; i++)
			if ((int)i != cur)
				other += c.orders[i];
		if (other)
			crm_warn("revenue in %s only: %lld orders in other currencies left out "
				 "(choose with --currency)", code, (long long)other);
	}
	if (c.c && c.min_period <= c.max_period)
		width = c.now_period - c.min_period + 1;
	if (r->o->periods > 0 && width > r->o->periods)
		width = r->o->periods;

	cols = xcalloc(width + 3, sizeof(char *));
	cols[0] = "cohort";
	cols[1] = "customers";
	cols[2] = "currency";
	for (int64_t k = 0; k < width; k++) {
		snprintf(lab, sizeof(lab), "%c%lld", c.by_week ? 'w' : 'm', (long long)k);
		cols[k + 3] = xstrdup(lab);
	}
	rtab_init(t, width + 3, cols);
	t->keep = 1;
	for (int64_t p = c.min_period; c.c && p <= c.max_period; p++) {
		struct cohort *h = &c.c[p - c.base];
		struct out_val *v;

		if (!h->customers)
			continue;
		v = rtab_row(t);
		period_label(c.by_week, p, lab, sizeof(lab));
		rtab_text(t, &v[0], lab);
		rtab_int(&v[1], h->customers);
		/* revenue is in one currency; activity counts every one */
		rtab_text(t, &v[2], !strcmp(metric, "revenue") ? code : "all");
		for (int64_t k = 0; k < width && k < h->n; k++) {
			if (!strcmp(metric, "retention"))
				rtab_real(&v[k + 3], (double)h->active[k] / h->customers, 4);
			else if (!strcmp(metric, "customers"))
				rtab_int(&v[k + 3], h->active[k]);
			else
				rtab_real(&v[k + 3], cur >= 0 ? report_major(h->rev[k * MAXCUR + cur], code) : 0, 2);
		}
	}
	for (int64_t k = 0; k < width; k++)
		free((char *)cols[k + 3]);
	free(cols);
	for (int64_t i = 0; c.c && i < c.ncap; i++) {
		free(c.c[i].active);
		free(c.c[i].rev);
	}
	free(c.c);
	return 0;
}

int report_cohorts(struct report *r)
{
	struct rtab t;
	int rc = report_build_cohorts(r, &t);
	const char *metric = r->o->metric ? r->o->metric : "retention";
	enum out_kind k = !strcmp(metric, "retention") ? OUT_KIND_RATE :
		!strcmp(metric, "customers") ? OUT_KIND_COUNT : OUT_KIND_MONEY;

	if (rc)
		return rc;
	RTAB_KIND(&t, OUT_KIND_COUNT, NULL, "customers");
	for (size_t i = 3; i < t.ncols; i++) /* m0, m1, ... */
		RTAB_KIND(&t, k, NULL, t.cols[i]);
	rtab_emit(r, &t);
	return rc;
}

/* ---- rfm ---------------------------------------------------------------------- */

/* The currency of the latest model of a kind, or NULL (malloc'd). */
static char *model_currency(struct report *r, const char *kind)
{
	sqlite3_stmt *st = db_prepare(r->crm->db,
		"SELECT currency FROM models WHERE kind = ?1 ORDER BY id DESC LIMIT 1");
	char *code = NULL;

	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	if (db_row(st) && sqlite3_column_text(st, 0))
		code = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return code;
}

static int no_scores(struct report *r, const char *what, const char *col)
{
	char sql[160];
	sqlite3_stmt *st;
	int none;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM scores WHERE %s IS NOT NULL", col);
	st = db_prepare(r->crm->db, sql);
	none = !db_row(st) || sqlite3_column_int64(st, 0) == 0;
	sqlite3_finalize(st);
	if (none)
		crm_error("no %s scores in %s: run crm-score %s first", what, r->crm->db_path,
			  what);
	return none;
}

int report_build_rfm(struct report *r, struct rtab *t)
{
	static const char *const cols[] = {
		"segment", "customers", "customer_share", "revenue", "revenue_share",
		"avg_recency_days", "avg_frequency", "avg_monetary", "avg_clv", "currency",
	};
	struct sb sql = SB_INIT;
	sqlite3_stmt *st;
	char f[128];

	if (no_scores(r, "rfm", "rfm_segment"))
		return 1;
	/* each currency's customers apart, the currency of most first */
	sb_addf(&sql, "WITH s AS (SELECT * FROM currency_scores s WHERE s.rfm_segment IS NOT NULL%s),"
		" n AS (SELECT currency, count(*) AS n, sum(monetary) AS m FROM s GROUP BY currency)"
		" SELECT s.rfm_segment, count(*), sum(s.monetary), avg(s.recency_days),"
		" avg(s.frequency), avg(s.monetary), avg(s.clv), s.currency, n.n, n.m"
		" FROM s JOIN n ON n.currency = s.currency GROUP BY s.currency, s.rfm_segment"
		" ORDER BY n.n DESC, s.currency, sum(s.monetary) DESC, s.rfm_segment",
		report_filter(r, "s.customer_id", f, sizeof(f)));
	st = db_prepare(r->crm->db, sql.buf);
	rtab_init(t, ARRAY_SIZE(cols), cols);
	while (db_row(st)) {
		struct out_val *v = rtab_row(t);
		rtab_text(t, &v[0], (const char *)sqlite3_column_text(st, 0));
		rtab_int(&v[1], sqlite3_column_int64(st, 1));
		rtab_real(&v[2], ratio(sqlite3_column_double(st, 1), sqlite3_column_double(st, 8)), 4);
		rtab_real(&v[3], sqlite3_column_double(st, 2), 2);
		rtab_real(&v[4], ratio(sqlite3_column_double(st, 2), sqlite3_column_double(st, 9)), 4);
		rtab_real(&v[5], sqlite3_column_double(st, 3), 1);
		rtab_real(&v[6], sqlite3_column_double(st, 4), 2);
		rtab_real(&v[7], sqlite3_column_double(st, 5), 2);
		rtab_real(&v[8], sqlite3_column_type(st, 6) == SQLITE_NULL ? NAN :
			  sqlite3_column_double(st, 6), 2);
		rtab_text(t, &v[9], (const char *)sqlite3_column_text(st, 7));
	}
	sqlite3_finalize(st);
	sb_free(&sql);
	return 0;
}

int report_rfm(struct report *r)
{
	struct rtab t;
	int rc = report_build_rfm(r, &t);

	if (rc)
		return rc;
	RTAB_KIND(&t, OUT_KIND_COUNT, NULL, "customers");
	RTAB_KIND(&t, OUT_KIND_MONEY, NULL, "revenue", "avg_monetary", "avg_clv");
	RTAB_KIND(&t, OUT_KIND_RATE, NULL, "customer_share", "revenue_share");
	rtab_emit(r, &t);
	return rc;
}

/* Whether some customer has a CLV score in a currency. */
static int has_clv(struct report *r, const char *code)
{
	sqlite3_stmt *st = db_prepare(r->crm->db, "SELECT EXISTS (SELECT 1 FROM currency_scores"
				      " WHERE currency = ?1 AND clv IS NOT NULL)");
	int yes;

	sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
	yes = db_row(st) && sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return yes;
}

/* ---- ltv and budget: completed orders per customer in one currency ------------ */

/* The currency of a report that reads one: --currency, else that of the
 * CLV model, else the one of most completed orders (malloc'd; NULL when
 * there are no orders). */
static char *pick_currency(struct report *r)
{
	char *code;
	sqlite3_stmt *st;

	if (r->o->currency)
		return xstrdup(r->o->currency);
	if ((code = model_currency(r, "bgnbd")))
		return code;
	st = db_prepare(r->crm->db, "SELECT currency FROM orders GROUP BY currency"
			" ORDER BY count(*) DESC, currency LIMIT 1");
	if (db_row(st))
		code = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return code;
}

int report_ltv(struct report *r)
{
	const char *by = r->o->by ? r->o->by : "segment";
	const char *cols[] = {
		by, "customers", "historic_revenue", "historic_avg", "scored",
		"predicted_clv", "predicted_avg", "currency",
	};
	struct sb sql = SB_INIT, path = SB_INIT;
	const char *grp;
	char f[128], now[20], *code = pick_currency(r), *clv_code = model_currency(r, "bgnbd");
	sqlite3_stmt *st;
	struct rtab t;
	int same;
	double all[5] = { 0 };

	if (!strcmp(by, "segment"))
		grp = "coalesce(s.rfm_segment, '(unscored)')";
	else if (!strcmp(by, "cohort"))
		grp = "substr(h.first, 1, 7)";
	else if (!strcmp(by, "city"))
		grp = "coalesce(c.city, '(unknown)')";
	else if (!strcmp(by, "category"))
		/* the customer's top category as crm-segment's top_category
		 * (crm.7): the most net spent over the lines of the counted
		 * orders up to now, in major units of every currency, returns
		 * and refunds taken off; spellings that differ in case are one,
		 * ties go to the first by name; none with a positive net spend
		 * is (none) */
		grp = "coalesce((SELECT min(p.category) FROM order_lines ol"
		      " JOIN orders o2 ON o2.id = ol.order_id"
		      " JOIN products p ON p.id = ol.product_id"
		      " WHERE o2.customer_id = h.customer_id AND o2.ordered_at <= ?1"
		      " AND " DB_COUNTED("o2") " AND p.category <> ''"
		      " GROUP BY p.category COLLATE NOCASE"
		      " HAVING total(ol.amount * crm_currency_k(o2.currency)) > 0"
		      " ORDER BY total(ol.amount * crm_currency_k(o2.currency)) DESC,"
		      " min(p.category) LIMIT 1), '(none)')";
	else if (!strncmp(by, "attr.", 5) && by[5]) {
		/* the attribute name is bound, never pasted */
		sb_adds(&path, "$.");
		json_quote(&path, by + 5, strlen(by + 5));
		grp = "coalesce(CAST(json_extract(c.attrs, ?3) AS TEXT), '(unknown)')";
	} else {
		crm_error("invalid --by \"%s\" (segment, cohort, city, category or attr.NAME)", by);
		free(code);
		free(clv_code);
		return CRM_EXIT_USAGE;
	}
	same = code && has_clv(r, code);
	expr_register(r->crm->db); /* crm_currency_k() of --by category */
	norm_fmt_time(r->crm->now, now);
	sb_addf(&sql, "WITH h AS (SELECT o.customer_id, sum(o.amount) AS amt,"
		" " DB_FIRST_PURCHASE " AS first"
		" FROM orders o WHERE " DB_COUNTED("o") " AND o.ordered_at <= ?1 AND o.currency = ?2%s"
		" GROUP BY o.customer_id HAVING max(o.purchase) = 1)"
		" SELECT %s AS g, count(*), sum(h.amt), count(s.clv), sum(s.clv)"
		" FROM h JOIN customers c ON c.id = h.customer_id"
		" LEFT JOIN currency_scores s ON s.customer_id = h.customer_id AND s.currency = ?2"
		" GROUP BY g ORDER BY sum(h.amt) DESC, g",
		report_filter(r, "o.customer_id", f, sizeof(f)), grp);
	st = db_prepare(r->crm->db, sql.buf);
	sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
	db_bind_text(st, 2, code ? code : "", -1);
	if (path.len)
		sqlite3_bind_text(st, 3, path.buf, -1, SQLITE_STATIC);
	rtab_init(&t, ARRAY_SIZE(cols), cols);
	{
		while (db_row(st)) {
			double n = sqlite3_column_double(st, 1);
			double hist = report_major(sqlite3_column_int64(st, 2), code);
			double ns = same ? sqlite3_column_double(st, 3) : 0;
			double clv = sqlite3_column_double(st, 4);
			struct out_val *v = rtab_row(&t);

			all[0] += n;
			all[1] += hist;
			all[2] += ns;
			all[3] += clv;
			rtab_text(&t, &v[0], (const char *)sqlite3_column_text(st, 0));
			rtab_int(&v[1], (int64_t)n);
			rtab_real(&v[2], hist, 2);
			rtab_real(&v[3], ratio(hist, n), 2);
			rtab_int(&v[4], (int64_t)ns);
			rtab_real(&v[5], ns > 0 ? clv : NAN, 2);
			rtab_real(&v[6], ratio(clv, ns), 2);
			rtab_text(&t, &v[7], code);
		}
	}
	if (t.nrows > 1) {
		struct out_val *v = rtab_row(&t);
		rtab_text(&t, &v[0], "(all)");
		rtab_int(&v[1], (int64_t)all[0]);
		rtab_real(&v[2], all[1], 2);
		rtab_real(&v[3], ratio(all[1], all[0]), 2);
		rtab_int(&v[4], (int64_t)all[2]);
		rtab_real(&v[5], all[2] > 0 ? all[3] : NAN, 2);
		rtab_real(&v[6], ratio(all[3], all[2]), 2);
		rtab_text(&t, &v[7], code);
	}
	sqlite3_finalize(st);
	if (clv_code && code && !same)
		crm_warn("no CLV scores in %s (the latest are in %s): no predicted CLV", code, clv_code);
	else if (!clv_code)
		crm_note("no CLV scores (crm-score clv): historic revenue only");
	RTAB_KIND(&t, OUT_KIND_COUNT, NULL, "customers", "scored");
	RTAB_KIND(&t, OUT_KIND_MONEY, NULL, "historic_revenue", "historic_avg", "predicted_clv",
		  "predicted_avg");
	rtab_emit(r, &t);
	sb_free(&sql);
	sb_free(&path);
	free(code);
	free(clv_code);
	return 0;
}

int report_budget(struct report *r)
{
	static const char *const cols[] = {
		"segment", "customers", "revenue_365d", "revenue_per_customer",
		"profit_per_customer", "budget_per_customer", "budget_total", "currency",
	};
	struct sb sql = SB_INIT;
	char f[128], now[20], year[20], *code = pick_currency(r);
	sqlite3_stmt *st;
	struct rtab t;
	double m = r->o->margin, k = r->o->share, all_n = 0, all_y = 0;

	norm_fmt_time(r->crm->now, now);
	norm_fmt_time(r->crm->now - 365 * 86400LL, year);
	sb_addf(&sql, "WITH h AS (SELECT o.customer_id,"
		" sum(CASE WHEN o.ordered_at > ?3 THEN o.amount ELSE 0 END) AS y"
		" FROM orders o WHERE " DB_COUNTED("o") " AND o.ordered_at <= ?1 AND o.currency = ?2%s"
		" GROUP BY o.customer_id)"
		" SELECT coalesce(s.rfm_segment, '(unscored)') AS g, count(*), sum(h.y)"
		" FROM h LEFT JOIN currency_scores s ON s.customer_id = h.customer_id"
		" AND s.currency = ?2 GROUP BY g ORDER BY sum(h.y) * 1.0 / count(*) DESC, g",
		report_filter(r, "o.customer_id", f, sizeof(f)));
	st = db_prepare(r->crm->db, sql.buf);
	sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
	db_bind_text(st, 2, code ? code : "", -1);
	sqlite3_bind_text(st, 3, year, -1, SQLITE_STATIC);
	rtab_init(&t, ARRAY_SIZE(cols), cols);
	/* first the whole base, then each RFM segment */
	rtab_row(&t);
	while (db_row(st)) {
		double n = sqlite3_column_double(st, 1);
		double y = report_major(sqlite3_column_int64(st, 2), code);
		struct out_val *v = rtab_row(&t);

		all_n += n;
		all_y += y;
		rtab_text(&t, &v[0], (const char *)sqlite3_column_text(st, 0));
		rtab_int(&v[1], (int64_t)n);
		rtab_real(&v[2], y, 2);
		rtab_real(&v[3], ratio(y, n), 2);
		rtab_real(&v[4], ratio(y, n) * m, 2);
		rtab_real(&v[5], ratio(y, n) * m * k, 2);
		rtab_real(&v[6], y * m * k, 2);
		rtab_text(&t, &v[7], code);
	}
	sqlite3_finalize(st);
	{
		struct out_val *v = t.v;
		rtab_text(&t, &v[0], "(all)");
		rtab_int(&v[1], (int64_t)all_n);
		rtab_real(&v[2], all_y, 2);
		rtab_real(&v[3], ratio(all_y, all_n), 2);
		rtab_real(&v[4], ratio(all_y, all_n) * m, 2);
		rtab_real(&v[5], ratio(all_y, all_n) * m * k, 2);
		rtab_real(&v[6], all_y * m * k, 2);
		rtab_text(&t, &v[7], code);
	}
	RTAB_KIND(&t, OUT_KIND_COUNT, NULL, "customers");
	RTAB_KIND(&t, OUT_KIND_MONEY, NULL, "revenue_365d", "revenue_per_customer",
		  "profit_per_customer", "budget_per_customer", "budget_total");
	rtab_emit(r, &t);
	sb_free(&sql);
	free(code);
	return 0;
}
