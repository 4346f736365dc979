/*
 * score.c - crm-score's runs (score.h): read the completed orders up to
 * the as-of time, summarise them per customer, fit or compute the models
 * (score_model.h), print a summary and store per-customer scores in one
 * write transaction.
 *
 * The per-customer summary is computed in one pass over the orders in
 * (customer, time) order, which the index orders_customer gives without
 * sorting. Purchases are collapsed to calendar days (UTC): several
 * orders on one day are one purchase of their summed value, as in the
 * CDNOW set-up of the papers. With x repeat purchase days (the first day
 * is not counted), the last at day L, the first at F and the as-of day A:
 * tx = L - F and T = A - F days, in weeks (days / 7) or days.
 */
#include "score.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "diag.h"
#include "norm.h"
#include "out.h"
#include "progress.h"
#include "rates.h"
#include "score_model.h"
#include "util.h"

/* fewer repeat buyers than this and the models are not fitted */
#define MIN_REPEATERS 10
/* the penalty of a fit that has no answer without one (--penalty) */
#define AUTO_PENALTY 0.001

/* ------------------------------------------------------------ parsing */

int score_parse_time(const char *s, int64_t *epoch)
{
	struct norm_opts no = { 0 };
	const char *why;
	int y, m, d;

	if (norm_date(s, strlen(s), &no, &y, &m, &d, &why) == 0) {
		*epoch = norm_days_from_civil(y, m, d) * 86400 + 86399;
		return 0;
	}
	return norm_time(s, strlen(s), &no, epoch, &why);
}

int score_parse_duration(const char *s, int64_t *days)
{
	int64_t secs;
	const char *why;

	if (norm_duration(s, strlen(s), &secs, &why) < 0 || secs <= 0 || secs % 86400 ||
	    secs / 86400 > 36500)
		return -1;
	*days = secs / 86400;
	return 0;
}

int score_parse_rate(const char *s, double *rate)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s)
		return -1;
	if (!strcmp(end, "%"))
		v /= 100;
	else if (*end)
		return -1;
	if (!(v >= 0 && v < 10))
		return -1;
	*rate = v;
	return 0;
}

/* ------------------------------------------------- orders -> customers */

struct cust {
	int64_t id;
	int32_t first, last;    /* days since 1970 of the first and last purchase day */
	int32_t x;              /* repeat purchase days up to the as-of time */
	int32_t orders;         /* completed orders up to the as-of time */
	int32_t hold;           /* purchase days in the holdout period */
	int64_t revenue;        /* minor units, up to the as-of time */
	int64_t repeat_spend;   /* minor units on the repeat purchase days */
};

struct load {
	struct cust *c;
	size_t n, cap;
	char currency[4];
	int exponent;
	double unit;            /* minor units per major unit */
	char data_from[20];
	char as_of[20], hold_to[20];
	int32_t as_of_day, hold_day;
	uint64_t orders;
	/* orders converted into the base currency (crm-import rates) */
	int converted;
	uint64_t nconverted;
	/* --tracking: the day of every repeat purchase day of the cohort */
	int track;
	int32_t *rdays;
	size_t nrdays, rdcap;
};

#define MAX_CURRENCIES 16

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static void track_day(struct load *L, int32_t day)
{
	L->rdays = xgrow(L->rdays, sizeof(*L->rdays), L->nrdays + 1, &L->rdcap);
	L->rdays[L->nrdays++] = day;
}

/*
 * Reads the purchases (and refunds) up to o->as_of (and, for a holdout, up to
 * o->holdout_end) in the currency of the run, except those of erased
 * customers (erasure deletes their scores; a run must not bring them
 * back). Returns 0, or 1 after an error message.
 */
static int load_orders(struct crm *crm, const struct score_opts *o, struct load *L)
{
	static const char sql[] =
		"SELECT customer_id, ordered_at, amount, currency, purchase FROM orders"
		" WHERE ordered_at <= ?1 AND purchase <> 0"
		" AND customer_id NOT IN (SELECT id FROM customers WHERE erased_at IS NOT NULL)"
		" ORDER BY customer_id, ordered_at";
	char cur_code[MAX_CURRENCIES][4];
	uint64_t cur_n[MAX_CURRENCIES];
	int ncur = 0, more_cur = 0;
	struct cust *c = NULL;
	int32_t day_now = 0;          /* the current customer's latest purchase day */
	struct progress *pg = progress_new("reading orders", -1);
	sqlite3_stmt *st;
	uint64_t rows = 0;
	int rc;

	memset(L, 0, sizeof(*L));
	L->track = o->tracking || o->holdout_end; /* the tracking curve is kept */
	norm_fmt_time(o->as_of, L->as_of);
	L->as_of_day = (int32_t)floor_div(o->as_of, 86400);
	L->hold_day = o->holdout_end ? (int32_t)floor_div(o->holdout_end, 86400) : L->as_of_day;
	norm_fmt_time(o->holdout_end ? o->holdout_end : o->as_of, L->hold_to);
	if (o->currency) {
		const char *why;
		if (norm_currency(o->currency, strlen(o->currency), L->currency, &L->exponent, &why) < 0) {
			crm_error("invalid --currency \"%s\": %s", o->currency, why);
			return CRM_EXIT_USAGE;
		}
	}

	/* several currencies and rates: everything in the base currency */
	struct rates R = { 0 };
	char miss_cur[4] = "";
	int32_t miss_day = 0;
	uint64_t nmiss = 0;
	if (!o->currency && rates_load(crm->db, &R)) {
		const char *why;
		L->converted = 1;
		if (norm_currency(R.base, 3, L->currency, &L->exponent, &why) < 0) {
			snprintf(L->currency, sizeof(L->currency), "%s", R.base);
			L->exponent = 2;
		}
	} else {
		rates_free(&R);
	}

	st = db_prepare(crm->db, sql);
	db_bind_text(st, 1, L->hold_to, -1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		const char *at = (const char *)sqlite3_column_text(st, 1);
		int atlen = sqlite3_column_bytes(st, 1);
		int64_t amount = sqlite3_column_int64(st, 2);
		const char *cc = (const char *)sqlite3_column_text(st, 3);
		int32_t day;

		if (!(++rows & 0xffff))
			progress_update(pg, (int64_t)rows, rows);
		if (!cc || !at || rates_parse_day(at, atlen, &day) < 0)
			continue;
		if (L->converted) {
			if (strcmp(cc, L->currency)) {
				if (rates_convert(&R, amount, cc, day, L->currency, L->exponent,
						  &amount) < 0) {
					if (!nmiss++) {
						snprintf(miss_cur, sizeof(miss_cur), "%s", cc);
						miss_day = day;
					}
					continue;
				}
				L->nconverted++;
			}
		} else if (o->currency) {
			if (strcmp(cc, L->currency))
				continue;
		} else {
			int k;
			for (k = 0; k < ncur; k++)
				if (!strcmp(cur_code[k], cc))
					break;
			if (k == ncur) {
				if (ncur == MAX_CURRENCIES) {
					more_cur = 1;
					continue;
				}
				snprintf(cur_code[ncur], 4, "%s", cc);
				cur_n[ncur++] = 0;
			}
			cur_n[k]++;
			if (ncur > 1)
				continue; /* an error below; keep counting currencies */
		}
		if (sqlite3_column_int(st, 4) < 0) {
			/* a refund: less revenue (RFM's monetary value) for a
			 * customer with purchases before it; the spend model
			 * (Gamma-Gamma) reads the purchases */
			if (c && c->id == id && c->orders && strcmp(at, L->as_of) <= 0)
				c->revenue += amount;
			continue;
		}
		L->orders++;
		if (!c || c->id != id) {
			if (c && !c->orders)
				L->n--; /* only holdout orders: not in the cohort */
			L->c = xgrow(L->c, sizeof(*L->c), L->n + 1, &L->cap);
			c = &L->c[L->n++];
			memset(c, 0, sizeof(*c));
			c->id = id;
			day_now = INT32_MIN;
		}
		if (strcmp(at, L->as_of) <= 0) {
			if (!c->orders) {
				c->first = c->last = day_now = day;
				if (!L->data_from[0] || strcmp(at, L->data_from) < 0)
					snprintf(L->data_from, sizeof(L->data_from), "%.19s", at);
			} else if (day != day_now) {
				c->x++;
				if (L->track)
					track_day(L, day);
				c->last = day_now = day;
				c->repeat_spend += amount;
			} else if (day != c->first) {
				c->repeat_spend += amount;
			}
			c->orders++;
			c->revenue += amount;
		} else if (c->orders && day != day_now) {
			c->hold++;
			if (L->track)
				track_day(L, day);
			day_now = day;
		}
	}
	if (rc != SQLITE_DONE)
		db_die(crm->db, "cannot read orders");
	sqlite3_finalize(st);
	if (c && !c->orders)
		L->n--;
	progress_end(pg);
	rates_free(&R);
	if (nmiss) {
		char d[20];
		norm_fmt_time((int64_t)miss_day * 86400, d);
		d[10] = 0;
		crm_error("no exchange rate for %s on %s (%" PRIu64 " orders without a rate; "
			  "crm-import rates gives a currency's rate from a day on): nothing written",
			  miss_cur, d, nmiss);
		free(L->c);
		L->c = NULL;
		return CRM_EXIT_FAIL;
	}

	if (ncur > 1 || more_cur) {
		struct sb sb = SB_INIT;
		for (int k = 0; k < ncur; k++)
			sb_addf(&sb, "%s%s %" PRIu64, k ? ", " : "", cur_code[k], cur_n[k]);
		crm_error("completed orders in %d%s currencies up to %s (%s%s): "
			  "choose one with --currency, or give exchange rates with crm-import rates",
			  ncur, more_cur ? " or more" : "", L->hold_to, sb.buf, more_cur ? ", ..." : "");
		sb_free(&sb);
		free(L->c);
		L->c = NULL;
		return CRM_EXIT_FAIL;
	}
	if (!o->currency && ncur == 1) {
		const char *why;
		if (norm_currency(cur_code[0], 3, L->currency, &L->exponent, &why) < 0) {
			snprintf(L->currency, sizeof(L->currency), "%s", cur_code[0]);
			L->exponent = 2;
		}
	}
	L->unit = pow(10, L->exponent);
	if (!L->n) {
		crm_error("no completed orders%s%s up to %s: nothing to score",
			  o->currency ? " in " : "", o->currency ? L->currency : "", L->as_of);
		free(L->c);
		L->c = NULL;
		return CRM_EXIT_FAIL;
	}
	crm_info("%" PRIu64 " orders of %zu customers read (%s, up to %s)", L->orders, L->n,
		 L->currency, L->hold_to);
	if (L->nconverted)
		crm_note("%" PRIu64 " orders in other currencies converted to %s at the rates of "
			 "crm-import rates", L->nconverted, L->currency);
	return 0;
}

/* ------------------------------------------------------------ writing */

struct model_row {
	const char *kind;
	struct sb params, stats;
	double ll;               /* NAN: none */
	double customers;
	const char *period;      /* NULL: none */
	int64_t horizon_days;    /* < 0: none */
	double discount;         /* NAN: none */
	int converged;           /* < 0: none */
	int iterations;          /* < 0: none */
	double seconds;          /* NAN: none */
};

static void bind_real(sqlite3_stmt *st, int i, double v)
{
	if (isfinite(v))
		sqlite3_bind_double(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

static int64_t insert_model(struct crm *crm, const struct load *L, const struct model_row *m,
			    const char *now)
{
	sqlite3_stmt *st = db_prepare(crm->db,
		"INSERT INTO models (kind, params, log_likelihood, customers, as_of, data_from,"
		" period, horizon_days, discount, currency, converged, iterations, fit_seconds,"
		" stats, fitted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	int64_t id;

	db_bind_text(st, 1, m->kind, -1);
	db_bind_text(st, 2, m->params.buf, (int)m->params.len);
	bind_real(st, 3, m->ll);
	sqlite3_bind_int64(st, 4, (int64_t)m->customers);
	db_bind_text(st, 5, L->as_of, -1);
	db_bind_text(st, 6, L->data_from[0] ? L->data_from : NULL, -1);
	db_bind_text(st, 7, m->period, -1);
	if (m->horizon_days >= 0)
		sqlite3_bind_int64(st, 8, m->horizon_days);
	bind_real(st, 9, m->discount);
	db_bind_text(st, 10, L->currency, -1);
	if (m->converged >= 0)
		sqlite3_bind_int(st, 11, m->converged);
	if (m->iterations >= 0)
		sqlite3_bind_int(st, 12, m->iterations);
	bind_real(st, 13, m->seconds);
	db_bind_text(st, 14, m->stats.len ? m->stats.buf : "{}", -1);
	db_bind_text(st, 15, now, -1);
	db_step_done(crm->db, st);
	sqlite3_finalize(st);
	id = sqlite3_last_insert_rowid(crm->db);
	return id;
}

/*
 * The write transaction. Every customer_id written was read from orders,
 * whose foreign key holds, and no program deletes customer rows (erasure
 * keeps a tombstone); the model ids are inserted in the same transaction.
 * So the references hold by construction and are not checked row by row
 * (a random read of customers per score, as lib/imp.c explains); the
 * tests run PRAGMA foreign_key_check instead. A bigger page cache keeps
 * the scores table's pages in memory.
 */
static void write_begin(struct crm *crm)
{
	db_exec(crm->db, "PRAGMA foreign_keys = OFF");
	db_exec(crm->db, "PRAGMA cache_size = -49152");
	db_begin(crm->db);
}

/* The columns of scores a run of each kind writes; the first is its model. */
static const char *const rfm_cols[] = {
	"rfm_model_id", "recency_days", "frequency", "monetary", "r", "f", "m", "rfm",
	"rfm_segment", NULL,
};
static const char *const clv_cols[] = {
	"clv_model_id", "spend_model_id", "p_alive", "churn_risk", "expected_orders",
	"expected_spend", "clv", NULL,
};

static void run_cleared(struct crm *crm, struct sb *sql, const char *now, int64_t model_id)
{
	sqlite3_stmt *st = db_prepare(crm->db, sql->buf);

	db_bind_text(st, 1, now, -1);
	sqlite3_bind_int64(st, 2, model_id);
	db_step_done(crm->db, st);
	sqlite3_finalize(st);
	sb_reset(sql);
}

/*
 * Ends the write transaction after the scores (st, the statement that
 * wrote them into scores, is finalised): clears the columns (cols) of the
 * customers the model of this run (model_id) did not score, in scores
 * where the model they hold is of the same currency, drops rows that
 * hold no score at all, copies the run's scores into currency_scores
 * under the model's currency, clears there that currency's rows the run
 * did not score, and commits. The times (-v) count from t0.
 */
static void write_end(struct crm *crm, sqlite3_stmt *st, struct progress *pg, double t0,
		      const char *const *cols, int64_t model_id, const char *now)
{
	struct sb sql = SB_INIT, set = SB_INIT, names = SB_INIT;
	const char *cur = "coalesce((SELECT currency FROM models WHERE id = ?2), '')";

	sqlite3_finalize(st);
	crm_info("scores written in %.2f s", now_monotonic() - t0);
	for (size_t i = 0; cols[i]; i++) {
		sb_addf(&set, "%s = NULL, ", cols[i]);
		sb_addf(&names, "%s, ", cols[i]);
	}
	sb_addf(&sql, "UPDATE scores SET %supdated_at = ?1 WHERE %s <> ?2 AND %s IN"
		" (SELECT id FROM models WHERE currency IS (SELECT currency FROM models WHERE id = ?2))",
		set.buf, cols[0], cols[0]);
	run_cleared(crm, &sql, now, model_id);
	db_exec(crm->db, "DELETE FROM scores WHERE rfm_model_id IS NULL AND clv_model_id IS NULL");
	crm_info("stale scores cleared at %.2f s", now_monotonic() - t0);

	sb_addf(&sql, "INSERT INTO currency_scores (customer_id, currency, %supdated_at)"
		" SELECT customer_id, %s, %supdated_at FROM scores WHERE %s = ?2 AND ?1 IS NOT NULL"
		" ON CONFLICT (customer_id, currency) DO UPDATE SET ", names.buf, cur, names.buf, cols[0]);
	for (size_t i = 0; cols[i]; i++)
		sb_addf(&sql, "%s = excluded.%s, ", cols[i], cols[i]);
	sb_adds(&sql, "updated_at = excluded.updated_at");
	run_cleared(crm, &sql, now, model_id);
	sb_addf(&sql, "UPDATE currency_scores SET %supdated_at = ?1 WHERE currency = %s AND %s <> ?2",
		set.buf, cur, cols[0]);
	run_cleared(crm, &sql, now, model_id);
	db_exec(crm->db, "DELETE FROM currency_scores WHERE rfm_model_id IS NULL AND clv_model_id IS NULL");
	crm_info("scores by currency written at %.2f s", now_monotonic() - t0);
	sb_free(&sql);
	sb_free(&set);
	sb_free(&names);
	db_commit(crm->db);
	db_exec(crm->db, "PRAGMA foreign_keys = ON");
	crm_info("committed at %.2f s", now_monotonic() - t0);
	progress_end(pg);
}

static struct out_val v_text(const char *s)
{
	struct out_val v = { .t = OUT_TEXT, .s = s, .len = strlen(s) };
	return v;
}

static struct out_val v_int(int64_t i)
{
	struct out_val v = { .t = OUT_INT, .i = i };
	return v;
}

static struct out_val v_real(double d)
{
	struct out_val v = { .t = isfinite(d) ? OUT_REAL : OUT_NULL, .d = d };
	return v;
}

/* ---------------------------------------------------------------- RFM */

int score_rfm(struct crm *crm, const struct score_opts *o)
{
	static const char *const method_name[] = { [SC_QUANTILES] = "quantiles",
						   [SC_GROUPS] = "groups" };
	static const char *const cols[] = { "segment", "customers", "share", "revenue" };
	struct load L;
	double *rv, *fv, *mv;
	int *rs, *fs, *ms, rc;
	signed char *seg;
	size_t nseg = sc_rfm_nsegments;
	int64_t *seg_n, *seg_rev;
	char now[20];
	struct out *out = NULL;

	if ((rc = load_orders(crm, o, &L)))
		return rc;
	norm_fmt_time(crm->now, now);
	rv = xmalloc(3 * L.n * sizeof(double));
	fv = rv + L.n;
	mv = fv + L.n;
	rs = xmalloc(3 * L.n * sizeof(int));
	fs = rs + L.n;
	ms = fs + L.n;
	seg = xmalloc(L.n * sizeof(*seg));
	for (size_t i = 0; i < L.n; i++) {
		rv[i] = -(double)(L.as_of_day - L.c[i].last); /* recent is high */
		fv[i] = L.c[i].orders;
		mv[i] = (double)L.c[i].revenue;
	}
	int how[3] = {
		sc_quantile_scores(rv, L.n, o->bins, rs),
		sc_quantile_scores(fv, L.n, o->bins, fs),
		sc_quantile_scores(mv, L.n, o->bins, ms),
	};
	seg_n = xcalloc(nseg, sizeof(int64_t));
	seg_rev = xcalloc(nseg, sizeof(int64_t));
	for (size_t i = 0; i < L.n; i++) {
		/* the scores are 1..bins: every customer has a segment; one
		 * order is the grid's first column whatever its amount (new,
		 * promising ... lost), never champions or loyal */
		seg[i] = (signed char)(L.c[i].orders == 1 ?
				       sc_rfm_segment_one_order(rs[i], o->bins) :
				       sc_rfm_segment_index(rs[i], fs[i], ms[i], o->bins));
		seg_n[seg[i]]++;
		seg_rev[seg[i]] += L.c[i].revenue;
	}

	if (!crm->dry_run) {
		struct model_row m = {
			.kind = "rfm", .params = SB_INIT, .stats = SB_INIT, .ll = NAN,
			.customers = (double)L.n, .horizon_days = -1, .discount = NAN,
			.converged = -1, .iterations = -1, .seconds = NAN,
		};
		struct progress *pg = progress_new("writing scores", (int64_t)L.n);
		sqlite3_stmt *st;
		int64_t id;

		double t0 = now_monotonic();

		sb_addf(&m.params, "{\"bins\":%d,\"r\":\"%s\",\"f\":\"%s\",\"m\":\"%s\"}",
			o->bins, method_name[how[0]], method_name[how[1]], method_name[how[2]]);
		sb_addf(&m.stats, "{\"orders\":%" PRIu64 "}", L.orders);
		write_begin(crm);
		id = insert_model(crm, &L, &m, now);
		sb_free(&m.params);
		sb_free(&m.stats);
		st = db_prepare(crm->db,
			"INSERT INTO scores (customer_id, rfm_model_id, recency_days, frequency,"
			" monetary, r, f, m, rfm, rfm_segment, updated_at)"
			" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
			" ON CONFLICT (customer_id) DO UPDATE SET rfm_model_id = excluded.rfm_model_id,"
			" recency_days = excluded.recency_days, frequency = excluded.frequency,"
			" monetary = excluded.monetary, r = excluded.r, f = excluded.f, m = excluded.m,"
			" rfm = excluded.rfm, rfm_segment = excluded.rfm_segment,"
			" updated_at = excluded.updated_at");
		for (size_t i = 0; i < L.n; i++) {
			char code[4] = { (char)('0' + rs[i]), (char)('0' + fs[i]), (char)('0' + ms[i]), 0 };
			sqlite3_bind_int64(st, 1, L.c[i].id);
			sqlite3_bind_int64(st, 2, id);
			sqlite3_bind_int64(st, 3, L.as_of_day - L.c[i].last);
			sqlite3_bind_int64(st, 4, L.c[i].orders);
			sqlite3_bind_double(st, 5, (double)L.c[i].revenue / L.unit);
			sqlite3_bind_int(st, 6, rs[i]);
			sqlite3_bind_int(st, 7, fs[i]);
			sqlite3_bind_int(st, 8, ms[i]);
			db_bind_text(st, 9, code, 3);
			db_bind_text(st, 10, sc_rfm_segments[seg[i]], -1);
			db_bind_text(st, 11, now, -1);
			db_step_done(crm->db, st);
			if (!(i & 0xffff))
				progress_update(pg, (int64_t)i, i);
		}
		write_end(crm, st, pg, t0, rfm_cols, id, now);
	}

	/* the summary: not with -q (errors only) */
	for (size_t k = 0; k < nseg && crm_verbosity >= 1; k++) {
		struct out_val v[4] = {
			v_text(sc_rfm_segments[k]), v_int(seg_n[k]),
			v_real(round(10000.0 * (double)seg_n[k] / (double)L.n) / 10000),
			v_real((double)seg_rev[k] / L.unit),
		};
		if (!k) {
			out = out_new(stdout, crm->format);
			out_columns(out, ARRAY_SIZE(cols), cols);
		}
		out_row(out, v);
		if (k + 1 == nseg)
			out_finish(out);
	}
	crm_note("rfm: %zu customers scored as of %s (%s, %d bins)%s", L.n, L.as_of,
		 L.currency, o->bins, crm->dry_run ? "; dry run, nothing written" : "");
	for (int d = 0; d < 3; d++)
		if (how[d] == SC_GROUPS)
			crm_note("rfm: %s: ties left a score empty; scored by groups of equal values",
				 d == 0 ? "recency" : d == 1 ? "frequency" : "monetary");
	free(rv);
	free(rs);
	free(seg);
	free(seg_n);
	free(seg_rev);
	free(L.c);
	return 0;
}

/* ---------------------------------------------------------------- CLV */

/* ,"se":{"name":value,...} of the named parameters with a finite one */
static void json_se(struct sb *sb, const char *const *names, const double *se)
{
	int any = 0;

	for (int i = 0; i < SC_MAXPAR && names[i]; i++) {
		if (!isfinite(se[i]))
			continue;
		sb_addf(sb, "%s\"%s\":%.6g", any ? "," : ",\"se\":{", names[i], se[i]);
		any = 1;
	}
	if (any)
		sb_addc(sb, '}');
}

static void fmt_g(char *buf, size_t n, double v)
{
	snprintf(buf, n, "%.17g", v);
}

/* The parameters of a purchase model as the JSON of models.params. */
static void model_params(struct sb *sb, const struct sc_bgnbd *bg)
{
	char buf[4][32];

	fmt_g(buf[0], 32, bg->r), fmt_g(buf[1], 32, bg->alpha);
	fmt_g(buf[2], 32, bg->a), fmt_g(buf[3], 32, bg->b);
	if (bg->kind == SC_BGNBD)
		sb_addf(sb, "{\"r\":%s,\"alpha\":%s,\"a\":%s,\"b\":%s}",
			buf[0], buf[1], buf[2], buf[3]);
	else if (bg->kind == SC_MBGNBD)
		sb_addf(sb, "{\"model\":\"mbgnbd\",\"r\":%s,\"alpha\":%s,\"a\":%s,"
			"\"b\":%s}", buf[0], buf[1], buf[2], buf[3]);
	else if (bg->kind == SC_NBD)
		sb_addf(sb, "{\"model\":\"nbd\",\"r\":%s,\"alpha\":%s}", buf[0], buf[1]);
	else if (bg->kind == SC_PARETO)
		fmt_g(buf[2], 32, bg->s), fmt_g(buf[3], 32, bg->beta),
		sb_addf(sb, "{\"model\":\"pareto\",\"r\":%s,\"alpha\":%s,"
			"\"s\":%s,\"beta\":%s}", buf[0], buf[1], buf[2], buf[3]);
	else
		fmt_g(buf[2], 32, bg->p),
		sb_addf(sb, "{\"model\":\"bgnbd_constant_dropout\",\"r\":%s,"
			"\"alpha\":%s,\"p\":%s}", buf[0], buf[1], buf[2]);
}

static void print_fit(const char *what, const struct sc_fitinfo *fi, double seconds)
{
	crm_note("%s %s in %d iterations (%d evaluations, %.1f ms), log-likelihood %.2f",
		 what, fi->converged ? "converged" : "did not converge", fi->iterations,
		 fi->evaluations, seconds * 1000, fi->ll);
	crm_info("%s: starting points tried %d, largest gradient %.2g, smallest curvature %.3g",
		 what, fi->starts, fi->gmax, fi->curvature);
}

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	return (x > y) - (x < y);
}

/*
 * The tracking curve: the cohort's cumulative repeat purchase days,
 * actual and predicted, at the end of every period (a week, or a day with
 * --period day) from the first purchase to the end of the holdout: the
 * papers' tracking figure. Predicted: the sum over the customers of the
 * expected purchases of a new customer since their first purchase day,
 * grouped by that day. Returns the points (malloc'd), *np their number.
 */
struct track_pt {
	int64_t period, actual;
	int32_t end;
	double predicted;
};

static struct track_pt *tracking(struct load *L, const struct sc_bgnbd *m, double u, size_t *np)
{
	int32_t *first = xmalloc((L->n ? L->n : 1) * sizeof(int32_t)), d0;
	int32_t *cnt = xmalloc((L->n ? L->n : 1) * sizeof(int32_t));
	size_t nf = 0, k = 0, n = 0, cap = 64;
	struct track_pt *pt = xmalloc(cap * sizeof(*pt));

	for (size_t i = 0; i < L->n; i++)
		first[i] = L->c[i].first;
	qsort(first, L->n, sizeof(*first), cmp_i32);
	qsort(L->rdays, L->nrdays, sizeof(*L->rdays), cmp_i32);
	/* the distinct first days, with their customers */
	for (size_t i = 0; i < L->n;) {
		size_t j = i;
		while (j < L->n && first[j] == first[i])
			j++;
		first[nf] = first[i];
		cnt[nf++] = (int32_t)(j - i);
		i = j;
	}
	d0 = nf ? first[0] : L->as_of_day;
	for (int64_t p = 1;; p++) {
		int32_t end = d0 + (int32_t)(p * (int64_t)u) - 1;
		double pred = 0;
		if (end > L->hold_day)
			end = L->hold_day;
		while (k < L->nrdays && L->rdays[k] <= end)
			k++;
		for (size_t j = 0; j < nf && first[j] <= end; j++)
			pred += cnt[j] * sc_bgnbd_expected(m, (end - first[j]) / u);
		if (n == cap)
			pt = xrealloc(pt, (cap *= 2) * sizeof(*pt));
		pt[n++] = (struct track_pt){ .period = p, .actual = (int64_t)k, .end = end,
					     .predicted = pred };
		if (end >= L->hold_day)
			break;
	}
	free(first);
	free(cnt);
	*np = n;
	return pt;
}

static void day_text(int32_t day, char date[20])
{
	norm_fmt_time((int64_t)day * 86400, date);
	date[10] = 0;
}

/* --tracking: the curve as a table */
static void print_tracking(struct crm *crm, const struct load *L, const struct track_pt *pt, size_t n)
{
	static const char *const cols[] = { "period", "end", "phase", "actual", "predicted" };
	struct out *out = out_new(stdout, crm->format);

	out_columns(out, ARRAY_SIZE(cols), cols);
	for (size_t i = 0; i < n; i++) {
		char date[20];
		day_text(pt[i].end, date);
		struct out_val v[5] = {
			v_int(pt[i].period), v_text(date),
			v_text(pt[i].end <= L->as_of_day ? "calibration" : "holdout"),
			v_int(pt[i].actual), v_real(pt[i].predicted),
		};
		out_row(out, v);
	}
	out_finish(out);
}

/* A holdout validation, kept in validations for crm-report holdout. */
struct validation {
	const struct load *L;
	const struct sc_bgnbd *bg;
	double u;
	const double *n, *act, *pred; /* by calibration purchases 0..6, 7+, total */
	double mae, corr;
	const struct track_pt *pt;
	size_t npt;
};

static void json_num(struct sb *sb, double v)
{
	if (isfinite(v))
		sb_addf(sb, "%.10g", v);
	else
		sb_adds(sb, "null");
}

static void save_validation(struct crm *crm, const struct validation *v)
{
	struct sb params = SB_INIT, cal = SB_INIT, trk = SB_INIT;
	char now[20], date[20];
	sqlite3_stmt *st;

	model_params(&params, v->bg);
	sb_addc(&cal, '[');
	for (int k = 0; k < 8; k++) {
		sb_addf(&cal, "%s{\"repeat_purchases\":\"%d%s\",\"customers\":%.0f,\"actual\":%.0f,"
			"\"predicted\":", k ? "," : "", k, k == 7 ? "+" : "", v->n[k], v->act[k]);
		json_num(&cal, v->pred[k]);
		sb_addc(&cal, '}');
	}
	sb_addc(&cal, ']');
	sb_addc(&trk, '[');
	for (size_t i = 0; i < v->npt; i++) {
		day_text(v->pt[i].end, date);
		sb_addf(&trk, "%s{\"period\":%" PRId64 ",\"end\":\"%s\",\"actual\":%" PRId64
			",\"predicted\":", i ? "," : "", v->pt[i].period, date, v->pt[i].actual);
		json_num(&trk, v->pt[i].predicted);
		sb_addc(&trk, '}');
	}
	sb_addc(&trk, ']');
	norm_fmt_time(crm->now, now);
	st = db_prepare(crm->db, "INSERT INTO validations (model, params, currency, period, as_of,"
			" holdout_end, customers, actual, predicted, mae, correlation, calibration,"
			" tracking, validated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	db_bind_text(st, 1, sc_bgnbd_kind_name(v->bg->kind), -1);
	db_bind_text(st, 2, params.buf, -1);
	db_bind_text(st, 3, v->L->currency, -1);
	db_bind_text(st, 4, v->u == 7 ? "week" : "day", -1);
	db_bind_text(st, 5, v->L->as_of, -1);
	db_bind_text(st, 6, v->L->hold_to, -1);
	sqlite3_bind_int64(st, 7, (int64_t)v->n[8]);
	sqlite3_bind_int64(st, 8, (int64_t)v->act[8]);
	bind_real(st, 9, v->pred[8]);
	bind_real(st, 10, v->mae);
	bind_real(st, 11, v->corr);
	db_bind_text(st, 12, cal.buf, -1);
	db_bind_text(st, 13, trk.buf, -1);
	db_bind_text(st, 14, now, -1);
	db_step_done(crm->db, st);
	sqlite3_finalize(st);
	sb_free(&params);
	sb_free(&cal);
	sb_free(&trk);
}

/* The mean absolute error of a model's predictions of the purchase days
 * in a holdout of th model units, per customer. */
static double holdout_mae(const struct load *L, const struct sc_bgnbd *m, double u, double th)
{
	double sum = 0;

	for (size_t i = 0; i < L->n; i++) {
		const struct cust *c = &L->c[i];
		double T = (L->as_of_day - c->first) / u, tx = (c->last - c->first) / u;
		double e = sc_logistic(-sc_bgnbd_dead_logodds(m, c->x, tx, T)) *
			   sc_bgnbd_future(m, c->x, T, th);
		sum += fabs(e - c->hold);
	}
	return L->n ? sum / (double)L->n : NAN;
}

/*
 * BG/NBD, or when a parameter runs off to a boundary the limit model
 * there (score_model.h); why gets the full fit's reason then. 0 or -1
 * (bfi->why says why).
 */
static int fit_bgnbd(const struct sc_rf *rf, struct sc_bgnbd *bg, struct sc_fitinfo *bfi,
		     char *why, size_t whysize)
{
	int rc = sc_bgnbd_fit(rf, bg, bfi);

	if (rc < 0 && bfi->why && strstr(bfi->why, "runs off")) {
		struct sc_fitinfo lfi;
		snprintf(why, whysize, "%s", bfi->why);
		if (sc_bgnbd_fit_limit(rf, bg, &lfi) == 0) {
			lfi.iterations += bfi->iterations;
			lfi.evaluations += bfi->evaluations;
			lfi.starts += bfi->starts;
			*bfi = lfi;
			rc = 0;
		} else {
			bfi->why = why;
		}
	}
	return rc;
}

/*
 * The purchase model of o->model fitted to rf (BG/NBD with its limits,
 * MBG/NBD, Pareto/NBD, or with auto the best of them): 0, or -1 with
 * bfi->why. full_why gets the reason BG/NBD ran to a limit, if it did.
 */
static int fit_purchases(const struct score_opts *o, const struct load *Lp, const struct sc_rf *rfp,
			 double u, struct sc_bgnbd *bgp, struct sc_fitinfo *bfip, char *full_why,
			 size_t whysize)
{
	const struct load L = *Lp;
	const struct sc_rf rf = *rfp;
	struct sc_bgnbd bg;
	struct sc_fitinfo bfi;
	int rc;

	if (o->model == SCORE_PARETO)
		rc = sc_pareto_fit(&rf, &bg, &bfi);
	else if (o->model == SCORE_MBGNBD)
		rc = sc_mbgnbd_fit(&rf, &bg, &bfi);
	else
		rc = fit_bgnbd(&rf, &bg, &bfi, full_why, whysize);
	if (o->model == SCORE_AUTO) {
		/* the others too, and the one with the lower AIC (2 k - 2 LL;
		 * BG/NBD's limits have fewer parameters), or in a validation
		 * run the lower mean absolute error of the holdout purchases */
		struct sc_bgnbd cm[3];
		struct sc_fitinfo cfi[3];
		int crc[3], best = -1, bbest = -1;
		double score[3], bic[3], th_ = (double)(L.hold_day - L.as_of_day) / u;
		struct sb said = SB_INIT;
		cm[0] = bg, cfi[0] = bfi, crc[0] = rc;
		crc[1] = sc_pareto_fit(&rf, &cm[1], &cfi[1]);
		crc[2] = sc_mbgnbd_fit(&rf, &cm[2], &cfi[2]);
		for (int k = 0; k < 3; k++) {
			int np = cm[k].kind == SC_NBD ? 2 : cm[k].kind == SC_BG_CONST ? 3 : 4;
			if (crc[k] < 0) {
				sb_addf(&said, "%s%s no fit (%s)", k ? ", " : "",
					sc_bgnbd_kind_name(cm[k].kind), cfi[k].why);
				continue;
			}
			score[k] = o->holdout_end ? holdout_mae(&L, &cm[k], u, th_) :
						    2 * np - 2 * cfi[k].ll;
			bic[k] = np * log((double)L.n) - 2 * cfi[k].ll;
			sb_addf(&said, "%s%s %s %.*f", k ? ", " : "", sc_bgnbd_kind_name(cm[k].kind),
				o->holdout_end ? "holdout mean absolute error" : "AIC",
				o->holdout_end ? 4 : 2, score[k]);
			if (!o->holdout_end)
				sb_addf(&said, " (BIC %.2f)", bic[k]);
			if (best < 0 || score[k] < score[best])
				best = k;
			if (bbest < 0 || bic[k] < bic[bbest])
				bbest = k;
		}
		if (!o->holdout_end && best >= 0 && bbest != best)
			sb_addf(&said, "; BIC would pick %s, AIC decides", sc_bgnbd_kind_name(cm[bbest].kind));
		if (best >= 0) {
			crm_note("model auto: %s: %s", said.buf, sc_bgnbd_kind_name(cm[best].kind));
			if (best > 0)
				full_why[0] = 0;
			bg = cm[best], bfi = cfi[best], rc = 0;
		}
		sb_free(&said);
	}
	*bgp = bg;
	*bfip = bfi;
	return rc;
}

int score_clv(struct crm *crm, const struct score_opts *o)
{
	struct load L;
	struct sc_rf rf = { 0 };
	struct sc_spend sp = { 0 };
	struct sc_bgnbd bg;
	struct sc_gg gg;
	struct sc_fitinfo bfi, gfi;
	double u = o->period, t0, bg_sec, gg_sec;
	double H = (double)o->horizon_days / u;
	/* continuous discounting at the annual rate, per model time unit */
	double delta = log1p(o->discount) * u / 365;
	size_t zero_spend = 0;
	char now[20], full_why[160] = "", gg_why[256] = "";
	int rc;

	memset(&gg, 0, sizeof(gg));
	memset(&gfi, 0, sizeof(gfi));
	gg.p = gg.q = gg.gamma = NAN;
	gg_sec = 0;
	t0 = now_monotonic();
	if ((rc = load_orders(crm, o, &L)))
		return rc;
	crm_info("orders read in %.2f s", now_monotonic() - t0);
	norm_fmt_time(crm->now, now);

	/* the BG/NBD summary */
	rf.x = xmalloc(L.n * sizeof(int32_t));
	rf.tx = xmalloc(L.n * sizeof(int32_t));
	rf.T = xmalloc(L.n * sizeof(int32_t));
	rf.w = xmalloc(L.n * sizeof(double));
	sp.x = xmalloc(L.n * sizeof(int32_t));
	sp.mbar = xmalloc(L.n * sizeof(double));
	for (size_t i = 0; i < L.n; i++) {
		const struct cust *c = &L.c[i];
		rf.x[i] = c->x;
		rf.tx[i] = c->last - c->first;
		rf.T[i] = L.as_of_day - c->first;
		rf.w[i] = 1;
		if (c->x > 0 && c->repeat_spend > 0) {
			sp.x[sp.n] = c->x;
			sp.mbar[sp.n++] = (double)c->repeat_spend / L.unit / c->x;
		} else if (c->x > 0) {
			zero_spend++;
		}
	}
	rf.n = L.n;
	rf.unit_ticks = u;
	rf.penalty = sp.penalty = o->penalty;
	sc_rf_prepare(&rf);
	if (rf.repeaters < MIN_REPEATERS) {
		crm_error("%.0f of %zu customers made a repeat purchase up to %s: the models need "
			  "at least %d (nothing written)", rf.repeaters, L.n, L.as_of, MIN_REPEATERS);
		rc = CRM_EXIT_FAIL;
		goto out;
	}
	t0 = now_monotonic();
	rc = fit_purchases(o, &L, &rf, u, &bg, &bfi, full_why, sizeof(full_why));
	if (rc < 0 && !(o->penalty > 0)) {
		/* no model without a penalty: a small one keeps the parameters
		 * finite (crm-score(1) --penalty), said */
		struct sc_bgnbd pbg;
		struct sc_fitinfo pfi;
		char pwhy[160] = "";
		rf.penalty = sp.penalty = AUTO_PENALTY;
		if (fit_purchases(o, &L, &rf, u, &pbg, &pfi, pwhy, sizeof(pwhy)) == 0) {
			crm_warn("no fit without a penalty (%s): fitted with --penalty %g",
				 bfi.why ? bfi.why : "no convergence", AUTO_PENALTY);
			bg = pbg, bfi = pfi, rc = 0;
			memcpy(full_why, pwhy, sizeof(pwhy));
		} else {
			rf.penalty = sp.penalty = 0;
		}
	}
	bg_sec = now_monotonic() - t0;
	if (rc < 0) {
		if (bg.kind == SC_PARETO)
			crm_error("no Pareto/NBD fit to the orders up to %s: %s (r %.4g, alpha %.4g, "
				  "s %.4g, beta %.4g after %d iterations from %d starting points); "
				  "nothing written", L.as_of, bfi.why, bg.r, bg.alpha, bg.s, bg.beta,
				  bfi.iterations, bfi.starts);
		else
			crm_error("no BG/NBD fit to the orders up to %s: %s (r %.4g, alpha %.4g, a %.4g, "
				  "b %.4g after %d iterations from %d starting points); the history is too "
				  "short or too uniform for the model; nothing written", L.as_of,
				  bfi.why, bg.r, bg.alpha, bg.a, bg.b, bfi.iterations, bfi.starts);
		rc = CRM_EXIT_FAIL;
		goto out;
	}
	if (sp.n < MIN_REPEATERS) {
		snprintf(gg_why, sizeof(gg_why), "%zu repeat buyers with a positive spend, the "
			 "spend model needs at least %d", sp.n, MIN_REPEATERS);
	} else {
		t0 = now_monotonic();
		rc = sc_gg_fit(&sp, &gg, &gfi);
		gg_sec = now_monotonic() - t0;
		if (rc < 0)
			snprintf(gg_why, sizeof(gg_why), "no Gamma-Gamma fit: %s (p %.4g, q %.4g, "
				 "gamma %.4g after %d iterations from %d starting points)", gfi.why,
				 gg.p, gg.q, gg.gamma, gfi.iterations, gfi.starts);
	}
	rc = 0;
	if (bg.kind == SC_NBD)
		crm_note("BG/NBD: %s: fitted as its limit, the NBD model without dropout (no "
			 "customer is taken to have left): r %.4g, alpha %.4g", full_why, bg.r,
			 bg.alpha);
	else if (bg.kind == SC_BG_CONST)
		crm_note("BG/NBD: %s: fitted as its limit, one dropout probability for every "
			 "customer: r %.4g, alpha %.4g, p %.4g", full_why, bg.r, bg.alpha, bg.p);
	else if (bg.kind == SC_PARETO)
		crm_note("Pareto/NBD on %zu customers (%.0f repeat buyers): r %.4g, alpha %.4g, "
			 "s %.4g, beta %.4g", L.n, rf.repeaters, bg.r, bg.alpha, bg.s, bg.beta);
	else if (bg.kind == SC_MBGNBD)
		crm_note("MBG/NBD on %zu customers (%.0f repeat buyers): r %.4g, alpha %.4g, a %.4g, "
			 "b %.4g", L.n, rf.repeaters, bg.r, bg.alpha, bg.a, bg.b);
	else
		crm_note("BG/NBD on %zu customers (%.0f repeat buyers): r %.4g, alpha %.4g, a %.4g, "
			 "b %.4g", L.n, rf.repeaters, bg.r, bg.alpha, bg.a, bg.b);
	print_fit(bg.kind == SC_BGNBD ? "BG/NBD" : bg.kind == SC_PARETO ? "Pareto/NBD" :
		  bg.kind == SC_MBGNBD ? "MBG/NBD" : sc_bgnbd_kind_name(bg.kind), &bfi, bg_sec);
	if (!gg_why[0]) {
		crm_note("Gamma-Gamma on %zu repeat buyers%s: p %.4g, q %.4g, gamma %.4g", sp.n,
			 zero_spend ? " with a positive spend" : "", gg.p, gg.q, gg.gamma);
		print_fit("Gamma-Gamma", &gfi, gg_sec);
	}
	if (zero_spend)
		crm_note("repeat buyers without a positive spend, left out of the spend model: %zu",
			 zero_spend);
	if (!gg_why[0] && gfi.limit)
		crm_warn("Gamma-Gamma: %s: the average spend does not vary between customers more "
			 "than chance explains, so every customer's expected spend is close to the "
			 "population mean, whatever they spent so far", gfi.limit);
	if (!gg_why[0] && gg.q <= 1)
		crm_warn("q = %.4g <= 1: the spend model has no mean for customers without repeat "
			 "purchases; their clv is left empty", gg.q);
	/* without a spend model: each repeat buyer's own mean spend, the
	 * mean of those for the others (P(alive) and expected orders stand) */
	double pop_mean = NAN;
	if (gg_why[0]) {
		gg.p = gg.q = gg.gamma = NAN;
		gfi.ll = NAN;
		gfi.converged = 0;
		double sum = 0;
		for (size_t i = 0; i < sp.n; i++)
			sum += sp.mbar[i];
		if (sp.n) {
			pop_mean = sum / (double)sp.n;
		} else {
			int64_t rev = 0, ord = 0;
			for (size_t i = 0; i < L.n; i++)
				rev += L.c[i].revenue, ord += L.c[i].orders;
			pop_mean = ord ? (double)rev / L.unit / (double)ord : NAN;
		}
		crm_warn("%s: the clv uses each repeat buyer's own mean spend, and for the others "
			 "the mean of those (%.2f %s)%s", gg_why, pop_mean, L.currency,
			 sp.n ? "" : " (no repeat buyer spent: the mean order)");
	}

	/* per (x, T, tx) group of rf: the log-odds of having dropped out;
	 * per (x, T): expected purchases of an alive customer, undiscounted
	 * over the horizon or holdout, and discounted over the horizon.
	 * A customer's group is sc_rf_find()'s. */
	size_t ng = rf.n;
	double *gH = xmalloc(3 * ng * sizeof(double)), *gD = gH + ng, *gL = gD + ng;
	double th = o->holdout_end ? (double)(L.hold_day - L.as_of_day) / u : 0;
	t0 = now_monotonic();
	for (size_t g = 0; g < ng; g++) {
		gL[g] = sc_bgnbd_dead_logodds(&bg, rf.x[g], rf.tx[g] / u, rf.T[g] / u);
		if (g && rf.x[g] == rf.x[g - 1] && rf.T[g] == rf.T[g - 1]) {
			gH[g] = gH[g - 1];
			gD[g] = gD[g - 1];
			continue;
		}
		double T = rf.T[g] / u;
		if (o->holdout_end) {
			gH[g] = sc_bgnbd_future(&bg, rf.x[g], T, th);
			gD[g] = 0;
		} else {
			gH[g] = sc_bgnbd_future(&bg, rf.x[g], T, H);
			gD[g] = sc_bgnbd_future_discounted(&bg, rf.x[g], T, H, delta);
		}
	}
	crm_info("predictions for %zu groups in %.3f s", ng, now_monotonic() - t0);

	if (o->holdout_end) {
		/* validation: predicted against actual purchases in the holdout */
		static const char *const cols[] = {
			"repeat_purchases", "customers", "actual", "predicted",
			"actual_mean", "predicted_mean",
		};
		static const char *const label[] = { "0", "1", "2", "3", "4", "5", "6", "7+", "total" };
		double n[9] = { 0 }, act[9] = { 0 }, pred[9] = { 0 };
		double sa = 0, sp2 = 0, saa = 0, spp = 0, sap = 0, sae = 0;
		struct out *out;

		for (size_t i = 0; i < L.n; i++) {
			const struct cust *c = &L.c[i];
			int32_t T = L.as_of_day - c->first, tx = c->last - c->first;
			size_t g = sc_rf_find(&rf, c->x, T, tx);
			double e = sc_logistic(-gL[g]) * gH[g];
			int k = c->x < 7 ? c->x : 7;
			n[k]++, n[8]++;
			act[k] += c->hold, act[8] += c->hold;
			pred[k] += e, pred[8] += e;
			/* per customer: the error and the correlation */
			sa += c->hold, sp2 += e, saa += (double)c->hold * c->hold, spp += e * e;
			sap += c->hold * e, sae += fabs(e - c->hold);
		}
		double nn = n[8];
		double cov = sap - sa * sp2 / nn, va = saa - sa * sa / nn, vp = spp - sp2 * sp2 / nn;
		double corr = va > 0 && vp > 0 ? cov / sqrt(va * vp) : NAN;
		size_t npt;
		struct track_pt *pt = tracking(&L, &bg, u, &npt);
		if (o->tracking) {
			print_tracking(crm, &L, pt, npt);
		} else {
			out = out_new(stdout, crm->format);
			out_columns(out, ARRAY_SIZE(cols), cols);
			for (int k = 0; k < 9; k++) {
				struct out_val v[6] = {
					v_text(label[k]), v_int((int64_t)n[k]), v_int((int64_t)act[k]),
					v_real(pred[k]), v_real(n[k] ? act[k] / n[k] : NAN),
					v_real(n[k] ? pred[k] / n[k] : NAN),
				};
				out_row(out, v);
			}
			out_finish(out);
		}
		if (!crm->dry_run) {
			struct validation va_ = {
				.L = &L, .bg = &bg, .u = u, .n = n, .act = act, .pred = pred,
				.mae = sae / nn, .corr = corr, .pt = pt, .npt = npt,
			};
			save_validation(crm, &va_);
		}
		free(pt);
		crm_note("holdout after %s to %s (%g %ss): %.1f purchases predicted, %.0f made "
			 "(%+.1f%%); per customer: mean absolute error %.4f, correlation %.3f; "
			 "scores unchanged%s", L.as_of, L.hold_to, th,
			 u == 7 ? "week" : "day", pred[8], act[8],
			 act[8] > 0 ? 100 * (pred[8] - act[8]) / act[8] : NAN, sae / nn, corr,
			 crm->dry_run ? ", dry run: the validation not kept" :
			 "; the validation kept for crm-report holdout");
		rc = 0;
		free(gH);
		goto out;
	}

	/* per customer */
	double *pa = xmalloc(5 * L.n * sizeof(double));
	double *eo = pa + L.n, *es = eo + L.n, *clv = es + L.n, *lo_ = clv + L.n;
	double sum_clv = 0, sum_eo = 0, sum_pa = 0, sum_rev = 0;
	size_t no_clv = 0;
	for (size_t i = 0; i < L.n; i++) {
		const struct cust *c = &L.c[i];
		int32_t T = L.as_of_day - c->first, tx = c->last - c->first;
		size_t g = sc_rf_find(&rf, c->x, T, tx);
		double mbar = c->x > 0 && c->repeat_spend > 0 ?
			      (double)c->repeat_spend / L.unit / c->x : 0;
		lo_[i] = gL[g];
		pa[i] = sc_logistic(-lo_[i]);
		eo[i] = pa[i] * gH[g];
		es[i] = !gg_why[0] ? sc_gg_expected_spend(&gg, c->x, mbar) :
			mbar > 0 ? mbar : pop_mean;
		clv[i] = es[i] * pa[i] * gD[g];
		if (!isfinite(pa[i]) || !isfinite(eo[i])) {
			/* cannot happen with converged finite parameters */
			crm_error("customer %" PRId64 ": a prediction is not a number; nothing written",
				  c->id);
			free(pa);
			free(gH);
			rc = CRM_EXIT_FAIL;
			goto out;
		}
		if (!isfinite(clv[i]))
			no_clv++;
		else
			sum_clv += clv[i];
		sum_eo += eo[i];
		sum_pa += pa[i];
		sum_rev += (double)c->revenue / L.unit;
	}
	free(gH);
	if (no_clv)
		crm_warn("%zu customers without a clv (no expected spend)", no_clv);

	if (!crm->dry_run) {
		char buf[4][32];
		struct model_row mb = {
			.kind = "bgnbd", .params = SB_INIT, .stats = SB_INIT, .ll = bfi.ll,
			.customers = (double)L.n, .period = u == 7 ? "week" : "day",
			.horizon_days = o->horizon_days, .discount = o->discount,
			.converged = bfi.converged, .iterations = bfi.iterations, .seconds = bg_sec,
		};
		struct model_row mg = {
			.kind = "gamma_gamma", .params = SB_INIT, .stats = SB_INIT, .ll = gfi.ll,
			.customers = (double)sp.n, .period = mb.period,
			.horizon_days = o->horizon_days, .discount = o->discount,
			.converged = gfi.converged, .iterations = gfi.iterations, .seconds = gg_sec,
		};
		struct progress *pg = progress_new("writing scores", (int64_t)L.n);
		sqlite3_stmt *st;
		int64_t bid, gid;

		model_params(&mb.params, &bg);
		sb_addf(&mb.stats, "{\"repeat_buyers\":%.0f,\"repeat_purchases\":%.0f,"
			"\"evaluations\":%d,\"starts\":%d,\"max_gradient\":%.3g,\"orders\":%" PRIu64,
			rf.repeaters, rf.sum_x, bfi.evaluations, bfi.starts, bfi.gmax, L.orders);
		if (bg.kind == SC_NBD || bg.kind == SC_BG_CONST)
			sb_addf(&mb.stats, ",\"limit\":\"%s\"", full_why);
		{
			static const char *const nm[5][4] = {
				[SC_MBGNBD] = { "r", "alpha", "a", "b" },
				[SC_BGNBD] = { "r", "alpha", "a", "b" },
				[SC_NBD] = { "r", "alpha" },
				[SC_BG_CONST] = { "r", "alpha", "p" },
				[SC_PARETO] = { "r", "alpha", "s", "beta" },
			};
			json_se(&mb.stats, nm[bg.kind], bfi.se);
		}
		if (rf.penalty > 0)
			sb_addf(&mb.stats, ",\"penalty\":%.17g", rf.penalty);
		if (gg_why[0]) {
			sb_addf(&mb.stats, ",\"spend\":\"own_mean\",\"population_mean_spend\":%.17g,"
				"\"spend_why\":", pop_mean);
			json_quote(&mb.stats, gg_why, strlen(gg_why));
		}
		sb_addc(&mb.stats, '}');
		fmt_g(buf[0], 32, gg.p), fmt_g(buf[1], 32, gg.q), fmt_g(buf[2], 32, gg.gamma);
		sb_addf(&mg.params, "{\"p\":%s,\"q\":%s,\"gamma\":%s}", buf[0], buf[1], buf[2]);
		sb_addf(&mg.stats, "{\"excluded_zero_spend\":%zu,\"evaluations\":%d,\"starts\":%d,"
			"\"max_gradient\":%.3g", zero_spend, gfi.evaluations, gfi.starts, gfi.gmax);
		if (gfi.limit)
			sb_addf(&mg.stats, ",\"limit\":\"%s\"", gfi.limit);
		{
			static const char *const nm[4] = { "p", "q", "gamma" };
			json_se(&mg.stats, nm, gfi.se);
		}
		if (sp.penalty > 0)
			sb_addf(&mg.stats, ",\"penalty\":%.17g", sp.penalty);
		sb_addc(&mg.stats, '}');

		t0 = now_monotonic();
		write_begin(crm);
		bid = insert_model(crm, &L, &mb, now);
		gid = gg_why[0] ? 0 : insert_model(crm, &L, &mg, now);
		sb_free(&mb.params), sb_free(&mb.stats), sb_free(&mg.params), sb_free(&mg.stats);
		st = db_prepare(crm->db,
			"INSERT INTO scores (customer_id, clv_model_id, spend_model_id, p_alive,"
			" churn_risk, expected_orders, expected_spend, clv, updated_at)"
			" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
			" ON CONFLICT (customer_id) DO UPDATE SET clv_model_id = excluded.clv_model_id,"
			" spend_model_id = excluded.spend_model_id, p_alive = excluded.p_alive,"
			" churn_risk = excluded.churn_risk, expected_orders = excluded.expected_orders,"
			" expected_spend = excluded.expected_spend, clv = excluded.clv,"
			" updated_at = excluded.updated_at");
		for (size_t i = 0; i < L.n; i++) {
			sqlite3_bind_int64(st, 1, L.c[i].id);
			sqlite3_bind_int64(st, 2, bid);
			if (gid)
				sqlite3_bind_int64(st, 3, gid);
			else
				sqlite3_bind_null(st, 3);
			sqlite3_bind_double(st, 4, pa[i]);
			/* 1 - p_alive without cancellation when p_alive is near 1 */
			sqlite3_bind_double(st, 5, sc_logistic(lo_[i]));
			sqlite3_bind_double(st, 6, eo[i]);
			bind_real(st, 7, es[i]);
			bind_real(st, 8, clv[i]);
			db_bind_text(st, 9, now, -1);
			db_step_done(crm->db, st);
			if (!(i & 0xffff))
				progress_update(pg, (int64_t)i, i);
		}
		write_end(crm, st, pg, t0, clv_cols, bid, now);
	}

	/* the summary: not with -q (errors only) */
	if (crm_verbosity >= 1) {
		static const char *const cols[] = { "model", "parameter", "value" };
		int has_ab = bg.kind == SC_BGNBD || bg.kind == SC_MBGNBD;
		struct out *out = out_new(stdout, crm->format);
		struct row { const char *m, *p; struct out_val v; } rows[] = {
			{ "bgnbd", "model", v_text(sc_bgnbd_kind_name(bg.kind)) },
			{ "bgnbd", "r", v_real(bg.r) },
			{ "bgnbd", "alpha", v_real(bg.alpha) },
			{ "bgnbd", "a", v_real(bg.a) },
			{ "bgnbd", "b", v_real(bg.b) },
			{ "bgnbd", "p", v_real(bg.kind == SC_BG_CONST ? bg.p : NAN) },
			{ "bgnbd", "s", v_real(bg.kind == SC_PARETO ? bg.s : NAN) },
			{ "bgnbd", "beta", v_real(bg.kind == SC_PARETO ? bg.beta : NAN) },
			{ "bgnbd", "r_se", v_real(bfi.se[0]) },
			{ "bgnbd", "alpha_se", v_real(bfi.se[1]) },
			{ "bgnbd", "a_se", v_real(has_ab ? bfi.se[2] : NAN) },
			{ "bgnbd", "b_se", v_real(has_ab ? bfi.se[3] : NAN) },
			{ "bgnbd", "p_se", v_real(bg.kind == SC_BG_CONST ? bfi.se[2] : NAN) },
			{ "bgnbd", "s_se", v_real(bg.kind == SC_PARETO ? bfi.se[2] : NAN) },
			{ "bgnbd", "beta_se", v_real(bg.kind == SC_PARETO ? bfi.se[3] : NAN) },
			{ "bgnbd", "log_likelihood", v_real(bfi.ll) },
			{ "bgnbd", "customers", v_int((int64_t)L.n) },
			{ "bgnbd", "repeat_buyers", v_int((int64_t)rf.repeaters) },
			{ "bgnbd", "converged", v_int(bfi.converged) },
			{ "bgnbd", "iterations", v_int(bfi.iterations) },
			{ "gamma_gamma", "p", v_real(gg.p) },
			{ "gamma_gamma", "q", v_real(gg.q) },
			{ "gamma_gamma", "gamma", v_real(gg.gamma) },
			{ "gamma_gamma", "p_se", v_real(gg_why[0] ? NAN : gfi.se[0]) },
			{ "gamma_gamma", "q_se", v_real(gg_why[0] ? NAN : gfi.se[1]) },
			{ "gamma_gamma", "gamma_se", v_real(gg_why[0] ? NAN : gfi.se[2]) },
			{ "gamma_gamma", "log_likelihood", v_real(gfi.ll) },
			{ "gamma_gamma", "customers", v_int((int64_t)sp.n) },
			{ "gamma_gamma", "excluded_zero_spend", v_int((int64_t)zero_spend) },
			{ "gamma_gamma", "converged", v_int(gfi.converged) },
			{ "gamma_gamma", "iterations", v_int(gfi.iterations) },
			{ "clv", "spend", v_text(gg_why[0] ? "own_mean" : "gamma_gamma") },
			{ "clv", "as_of", v_text(L.as_of) },
			{ "clv", "data_from", v_text(L.data_from) },
			{ "clv", "currency", v_text(L.currency) },
			{ "clv", "period", v_text(u == 7 ? "week" : "day") },
			{ "clv", "horizon_days", v_int(o->horizon_days) },
			{ "clv", "discount", v_real(o->discount) },
			{ "clv", "penalty", v_real(rf.penalty) },
			{ "clv", "customers", v_int((int64_t)L.n) },
			{ "clv", "revenue", v_real(round(sum_rev * L.unit) / L.unit) },
			{ "clv", "expected_orders", v_real(sum_eo) },
			{ "clv", "mean_p_alive", v_real(sum_pa / (double)L.n) },
			{ "clv", "total_clv", v_real(sum_clv) },
			{ "clv", "mean_clv", v_real(L.n > no_clv ? sum_clv / (double)(L.n - no_clv) : NAN) },
		};
		out_columns(out, ARRAY_SIZE(cols), cols);
		for (size_t k = 0; k < ARRAY_SIZE(rows); k++) {
			struct out_val v[3] = { v_text(rows[k].m), v_text(rows[k].p), rows[k].v };
			out_row(out, v);
		}
		out_finish(out);
	}
	crm_note("clv: %zu customers scored as of %s (%s, %" PRId64 " days, %g%% a year)%s", L.n,
		 L.as_of, L.currency, o->horizon_days, o->discount * 100,
		 crm->dry_run ? "; dry run, nothing written" : "");
	free(pa);
	rc = 0;
out:
	sc_rf_free(&rf);
	free(sp.x);
	free(sp.mbar);
	free(L.c);
	free(L.rdays);
	return rc;
}
