/*
 * loyalty.c - crm-loyalty run: the rules applied to everything up to
 * --now, by replaying each member's ledger in time order.
 *
 * A member's timeline holds the rows already in the ledger, as they are,
 * and the rows the rules give that are not there yet (keys: earn:ORDER,
 * reverse:ORDER, welcome:CUSTOMER, birthday:CUSTOMER:YEAR, event:EVENT,
 * expire:LOT). Replaying it in time order gives the state of every lot
 * (points > 0 rows): a lot is pending until available_at, then usable;
 * points taken away (a reverse, a negative adjustment) come first from
 * the lot they undo, then from the usable lots that expire first (FIFO),
 * and what no lot covers is a debt, which the next lots pay when they
 * become usable; at expires_at what a lot has left expires (an expire
 * row). The new rows are inserted as the replay reaches them, so an
 * expire row can name a lot made in the same run.
 *
 * History does not move: the ledger's rows are never changed, and a run
 * never dates a row before the previous run's --now (the watermark, meta
 * loyalty_run_at): an order or event imported late is taken as of this
 * run. A run with a --now before the watermark is refused. The whole run
 * is one transaction (BEGIN IMMEDIATE): a crash leaves the ledger as it
 * was, and two runs at once take turns, the second finding the first's
 * rows under their keys.
 *
 * Tiers are a timeline of their own, from the purchases' real times: the
 * spend of the last 365 days in the rules' currency (refunds taken off)
 * moves a member up at once, and down only at the end of a review period
 * (year, quarter or month, UTC). An earn uses the multiplier of the tier
 * in force just before its purchase.
 */
#include "loyalty.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "diag.h"
#include "expr.h"
#include "norm.h"
#include "out.h"
#include "progress.h"
#include "rates.h"
#include "util.h"

enum kind { K_EARN, K_REVERSE, K_EXPIRE, K_WELCOME, K_BIRTHDAY, K_EVENT, K_ADJUST, K_BURN,
	    K_REDEEM, K_RETURN, K_N };

static const char *const kind_names[K_N] = {
	"earn", "reverse", "expire", "welcome", "birthday", "event", "adjust", "burn", "redeem",
	"return",
};

static int kind_of(const char *s)
{
	for (int k = 0; k < K_N; k++)
		if (!strcmp(s, kind_names[k]))
			return k;
	return -1;
}

/* "YYYY-MM-DD HH:MM:SS" (or a date) to epoch seconds; -1 if not that */
static int64_t ts(const char *s)
{
	int y, mo, d, h = 0, mi = 0, se = 0;

	if (!s || sscanf(s, "%4d-%2d-%2d", &y, &mo, &d) != 3)
		return -1;
	if (strlen(s) >= 19 && sscanf(s + 11, "%2d:%2d:%2d", &h, &mi, &se) != 3)
		return -1;
	return norm_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
}

static void fmt_ts(int64_t t, char buf[20])
{
	norm_fmt_time(t, buf);
}

/* ---- one member's inputs ------------------------------------------------------- */

struct ord {
	int64_t id, t, amount, extra; /* amount and extra (categories) in minor units */
	int64_t points_used;          /* loyalty points paid with it (a burn) */
	int purchase;                 /* orders.purchase: 1, 0 or -1 */
	int other;                    /* another currency without a rate: no points, no tier */
	double fx;                    /* its amounts times this are in the rules' currency */
};

struct lrow {
	int64_t id;          /* ledger id; 0 for a candidate not yet written */
	int kind;
	int64_t ref;         /* what the key names: order, event, lot, year, ... */
	int64_t points;      /* candidates: fixed ones, else computed at replay */
	int64_t t, avail, expires; /* 0: none */
	int64_t order_id, lot_id;
	char *key;           /* existing rows: the key as stored */
	int late;            /* a candidate dated at --now: its input came late */
	int64_t natural;     /* ... and the time it had */
	size_t ord;          /* candidates of orders: index in the orders */
};

struct lot {
	size_t row;          /* index in the rows */
	int64_t remaining, avail, expires;
	int usable, done;
};

struct member {
	int64_t id, created, bday_m, bday_d; /* bday_m 0: none */
	int in;              /* a member now (else only their ledger is replayed) */
	struct ord *o;
	size_t no, co;
	struct lrow *r;
	size_t nr, cr;
	struct lot *lots;
	size_t nlots, clots;
	/* tier timeline: changes in time order */
	struct tchange { int64_t t; int tier; double spend; int up; } *tc;
	size_t ntc, ctc;
};

struct run {
	struct crm *crm;
	const struct loyalty_rules *r;
	const struct loyalty_opts *o;
	int64_t now, wm;     /* --now, the previous run's (0: none) */
	int bulk;            /* the ledger was empty: no rows to read, indexes after */
	int64_t unit;        /* 10^exponent of the currency */
	int exponent;
	char currency[4];
	struct rates rates;  /* crm-import rates: other currencies converted (n 0: none) */
	sqlite3_stmt *q_orders, *q_events, *q_ledger, *q_lines, *ins, *ins_many, *acct, *del_lots,
		*ins_lot, *ins_tier, *q_tier;
	struct pending_row *buf; /* rows not inserted yet (write_row) */
	size_t nbuf;
	int64_t next_id;     /* the last ledger id given */
	/* what the run did */
	int64_t n_new[K_N], p_new[K_N];
	uint64_t members, accounts, other_currency, converted;
	struct out *out;     /* --dry-run: the rows it would add */
};

static void *grow(void *p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return p;
	*cap = *cap ? 2 * *cap : 16;
	return xrealloc(p, *cap * size);
}

static void member_reset(struct member *m)
{
	for (size_t i = 0; i < m->nr; i++)
		free(m->r[i].key);
	m->no = m->nr = m->nlots = m->ntc = 0;
}

static void member_free(struct member *m)
{
	member_reset(m);
	free(m->o);
	free(m->r);
	free(m->lots);
	free(m->tc);
}

static struct lrow *add_row(struct member *m)
{
	m->r = grow(m->r, &m->cr, m->nr, sizeof(*m->r));
	memset(&m->r[m->nr], 0, sizeof(*m->r));
	return &m->r[m->nr++];
}

/* the ref a stored key names, for matching candidates */
static int64_t key_ref(const char *key)
{
	const char *p = strrchr(key, ':');

	return p ? strtoll(p + 1, NULL, 10) : 0;
}

/* by time, then id */
static int cmp_time_id(int64_t ta, int64_t ia, int64_t tb, int64_t ib)
{
	if (ta != tb)
		return ta < tb ? -1 : 1;
	return (ia > ib) - (ia < ib);
}

static int cmp_ord(const void *pa, const void *pb)
{
	const struct ord *a = pa, *b = pb;

	return cmp_time_id(a->t, a->id, b->t, b->id);
}

static void load_member(struct run *R, struct member *m)
{
	sqlite3_stmt *st;
	const struct loyalty_rules *r = R->r;
	char now[20];

	fmt_ts(R->now, now);
	/* orders up to now, in time order */
	st = R->q_orders;
	sqlite3_bind_int64(st, 1, m->id);
	sqlite3_bind_text(st, 2, now, -1, SQLITE_TRANSIENT);
	while (db_row(st)) {
		struct ord *o;
		const char *cur = (const char *)sqlite3_column_text(st, 3);
		m->o = grow(m->o, &m->co, m->no, sizeof(*m->o));
		o = &m->o[m->no++];
		o->id = sqlite3_column_int64(st, 0);
		o->t = ts((const char *)sqlite3_column_text(st, 1));
		o->amount = sqlite3_column_int64(st, 2);
		o->purchase = sqlite3_column_int(st, 4);
		o->points_used = sqlite3_column_int64(st, 5);
		o->extra = 0;
		o->fx = 1;
		o->other = !cur || strcmp(cur, R->currency);
		if (o->other && cur && R->rates.n) {
			/* at the rate of the order's day (crm-import rates) */
			const char *at = (const char *)sqlite3_column_text(st, 1);
			int32_t day;
			double fx;
			if (at && rates_parse_day(at, (int)strlen(at), &day) == 0 &&
			    (fx = rates_factor(&R->rates, cur, day, R->currency, R->exponent)) > 0) {
				o->fx = fx;
				o->amount = llround((double)o->amount * fx);
				o->other = 0;
				if (o->purchase == 1)
					R->converted++;
			}
		}
		if (o->other && o->purchase == 1)
			R->other_currency++;
	}
	sqlite3_reset(st);
	if (m->no > 1)
		qsort(m->o, m->no, sizeof(*m->o), cmp_ord);
	/* the lines of the categories that earn more: amount x (mult - 1) */
	if (r->ncats && m->no) {
		st = R->q_lines;
		sqlite3_bind_int64(st, 1, m->id);
		sqlite3_bind_text(st, 2, now, -1, SQLITE_TRANSIENT);
		while (db_row(st)) {
			int64_t oid = sqlite3_column_int64(st, 0);
			const char *cat = (const char *)sqlite3_column_text(st, 1);
			double amt = sqlite3_column_double(st, 2), mult = 1;
			for (size_t k = 0; cat && k < r->ncats; k++)
				if (!ascii_casecmp(cat, r->cats[k].category))
					mult = r->cats[k].mult;
			if (mult == 1)
				continue;
			/* the orders are few per member: a binary search by id would need
			 * another order; they are sorted by time, so look linearly */
			for (size_t i = 0; i < m->no; i++)
				if (m->o[i].id == oid) {
					m->o[i].extra += (int64_t)llround(amt * (mult - 1) * m->o[i].fx);
					break;
				}
		}
		sqlite3_reset(st);
	}
	/* the ledger (none on a first run) */
	st = R->bulk ? NULL : R->q_ledger;
	if (!st)
		return;
	sqlite3_bind_int64(st, 1, m->id);
	while (db_row(st)) {
		struct lrow *w = add_row(m);
		const char *k = (const char *)sqlite3_column_text(st, 2);
		w->id = sqlite3_column_int64(st, 0);
		w->key = xstrdup((const char *)sqlite3_column_text(st, 1));
		w->kind = k ? kind_of(k) : -1;
		w->ref = key_ref(w->key);
		w->points = sqlite3_column_int64(st, 3);
		w->t = ts((const char *)sqlite3_column_text(st, 4));
		w->avail = sqlite3_column_type(st, 5) == SQLITE_NULL ? 0 :
			   ts((const char *)sqlite3_column_text(st, 5));
		w->expires = sqlite3_column_type(st, 6) == SQLITE_NULL ? 0 :
			     ts((const char *)sqlite3_column_text(st, 6));
		w->order_id = sqlite3_column_int64(st, 7);
		w->lot_id = sqlite3_column_int64(st, 8);
	}
	sqlite3_reset(st);
}

/* The stored row of a kind whose key names ref, or NULL. */
static struct lrow *stored(struct member *m, size_t nstored, int kind, int64_t ref)
{
	for (size_t i = 0; i < nstored; i++)
		if (m->r[i].kind == kind && m->r[i].ref == ref)
			return &m->r[i];
	return NULL;
}

/* ---- tiers ------------------------------------------------------------------ */

/* The end of the review period that t falls in (the start of the next). */
static int64_t review_end(int review, int64_t t)
{
	int y, mo, d;

	norm_civil_from_days(t >= 0 ? t / 86400 : (t - 86399) / 86400, &y, &mo, &d);
	if (review == LOYALTY_REVIEW_YEAR)
		y++, mo = 1;
	else if (review == LOYALTY_REVIEW_QUARTER)
		mo = (mo - 1) / 3 * 3 + 4;
	else
		mo++;
	if (mo > 12)
		mo -= 12, y++;
	return norm_days_from_civil(y, mo, 1) * 86400;
}

static int qualified(const struct loyalty_rules *r, double spend)
{
	int q = -1;

	for (size_t k = 0; k < r->ntiers; k++)
		if (spend >= r->tiers[k].spend - 1e-9)
			q = (int)k;
	return q;
}

static void tier_change(struct member *m, int64_t t, int tier, double spend, int up)
{
	m->tc = grow(m->tc, &m->ctc, m->ntc, sizeof(*m->tc));
	m->tc[m->ntc++] = (struct tchange){ t, tier, spend, up };
}

/*
 * The tier timeline from the orders in the currency: after each purchase,
 * the spend of (t - 365d, t] decides an upgrade; at each review period's
 * end, a downgrade to what that spend qualifies for.
 */
static void tiers(struct run *R, struct member *m)
{
	const struct loyalty_rules *r = R->r;
	int cur = -1;
	size_t lo = 0, i = 0;
	double spend = 0;
	int64_t year = 365 * 86400, next;

	if (!r->ntiers || !m->no)
		return;
	next = review_end(r->review, m->o[0].t);
	for (;;) {
		int64_t t = i < m->no ? m->o[i].t : INT64_MAX;
		if (next <= t && next <= R->now) {
			/* the window (next - 365d, next] at the period's end */
			while (lo < i && m->o[lo].t <= next - year) {
				if (!m->o[lo].other && m->o[lo].purchase)
					spend -= (double)m->o[lo].amount;
				lo++;
			}
			int q = qualified(r, spend / R->unit);
			if (q < cur) {
				cur = q;
				tier_change(m, next, cur, spend / R->unit, 0);
			}
			next = review_end(r->review, next);
			continue;
		}
		if (i >= m->no)
			break;
		const struct ord *o = &m->o[i++];
		if (o->other || !o->purchase)
			continue;
		spend += (double)o->amount; /* refunds are negative amounts */
		while (lo < i && m->o[lo].t <= o->t - year) {
			if (!m->o[lo].other && m->o[lo].purchase)
				spend -= (double)m->o[lo].amount;
			lo++;
		}
		if (o->purchase > 0) {
			int q = qualified(r, spend / R->unit);
			if (q > cur) {
				cur = q;
				tier_change(m, o->t, cur, spend / R->unit, 1);
			}
		}
	}
}

/* The tier in force just before t (-1: the base level). */
static int tier_before(const struct member *m, int64_t t)
{
	int tier = -1;

	for (size_t i = 0; i < m->ntc && m->tc[i].t < t; i++)
		tier = m->tc[i].tier;
	return tier;
}

/* ---- the timeline ---------------------------------------------------------------- */

static int64_t day_start(int64_t t)
{
	return (t >= 0 ? t / 86400 : (t - 86399) / 86400) * 86400;
}

/* A candidate's time: its own, or --now when that is before the watermark. */
static int64_t dated(const struct run *R, int64_t t, int *late)
{
	*late = R->wm && t < R->wm;
	return *late ? R->now : t;
}

static int cmp_event_rows(const void *pa, const void *pb)
{
	const struct lrow *a = pa, *b = pb;

	return cmp_time_id(a->t, a->ref, b->t, b->ref);
}

/* Adds the rows the rules give that the ledger does not hold yet. */
static void candidates(struct run *R, struct member *m)
{
	const struct loyalty_rules *r = R->r;
	size_t nstored = m->nr;
	int64_t joined = m->created, from;
	struct lrow *w;
	int late;

	/* a customer known only from their orders (a stub, no created_at)
	 * joined with the first of them */
	if (joined < 0)
		joined = m->no ? m->o[0].t : -1;
	from = r->start > joined ? r->start : joined;

	if (m->in && r->welcome > 0 && joined >= 0 && !stored(m, nstored, K_WELCOME, m->id)) {
		int64_t t = dated(R, from, &late);
		if (t <= R->now) {
			w = add_row(m);
			w->kind = K_WELCOME, w->ref = m->id, w->points = r->welcome, w->t = t;
			w->late = late, w->natural = from;
		}
	}
	if (m->in && r->birthday > 0 && m->bday_m && joined >= 0) {
		int y0, y1, mo, d;
		norm_civil_from_days(day_start(from) / 86400, &y0, &mo, &d);
		norm_civil_from_days(day_start(R->now) / 86400, &y1, &mo, &d);
		for (int y = y0; y <= y1; y++) {
			int dd = (int)m->bday_d;
			int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
			if (m->bday_m == 2 && dd == 29 && !leap)
				dd = 28;
			int64_t t = norm_days_from_civil(y, (int)m->bday_m, dd) * 86400;
			if (t < day_start(from) || t > R->now || (R->wm && t < R->wm))
				continue;
			if (stored(m, nstored, K_BIRTHDAY, y))
				continue;
			w = add_row(m);
			w->kind = K_BIRTHDAY, w->ref = y, w->points = r->birthday, w->t = t;
		}
	}
	for (size_t i = 0; i < m->no; i++) {
		const struct ord *o = &m->o[i];
		const struct lrow *e;
		/* points paid with the order (any currency, member or not): taken
		 * at its time, unless the order does not count (cancelled, not
		 * paid); paid with an order that no longer counts, they come back
		 * at the run that sees it, as a new lot */
		if (o->points_used > 0 && o->purchase != 0 && !stored(m, nstored, K_BURN, o->id)) {
			w = add_row(m);
			w->kind = K_BURN, w->ref = o->id, w->order_id = o->id, w->ord = i;
			w->points = -o->points_used;
			w->t = dated(R, o->t, &late);
			w->natural = o->t;
			w->late = late;
		} else if (o->purchase == 0 && (e = stored(m, nstored, K_BURN, o->id)) &&
			   !stored(m, nstored, K_RETURN, o->id)) {
			int64_t back = -e->points;
			w = add_row(m);
			w->kind = K_RETURN, w->ref = o->id, w->order_id = o->id, w->ord = i;
			w->points = back, w->t = R->now;
		}
		if (o->other)
			continue;
		if (o->purchase == 1 && m->in && o->t >= r->start &&
		    !stored(m, nstored, K_EARN, o->id)) {
			w = add_row(m);
			w->kind = K_EARN, w->ref = o->id, w->order_id = o->id, w->ord = i;
			w->t = dated(R, o->t, &late);
			w->natural = o->t;
			w->late = late;
		} else if (o->purchase != 1 && (e = stored(m, nstored, K_EARN, o->id)) &&
			   !stored(m, nstored, K_REVERSE, o->id)) {
			/* an order that earned and no longer counts: all of it back */
			int64_t lot = e->id, pts = e->points;
			w = add_row(m);
			w->kind = K_REVERSE, w->ref = o->id, w->order_id = o->id, w->lot_id = lot;
			w->points = -pts, w->t = R->now, w->ord = i;
		} else if (o->purchase == -1 && o->amount < 0 && o->t >= r->start &&
			   !stored(m, nstored, K_REVERSE, o->id)) {
			/* a refund: its share of the points, at most what was earned */
			w = add_row(m);
			w->kind = K_REVERSE, w->ref = o->id, w->order_id = o->id, w->ord = i;
			w->t = dated(R, o->t, &late);
			w->natural = o->t;
			w->late = late;
		}
	}
	if (m->in && r->nevents) {
		sqlite3_stmt *st = R->q_events;
		size_t e0 = m->nr;
		char now[20];
		fmt_ts(R->now, now);
		sqlite3_bind_int64(st, 1, m->id);
		sqlite3_bind_text(st, 2, now, -1, SQLITE_TRANSIENT);
		while (db_row(st)) {
			int64_t eid = sqlite3_column_int64(st, 0), t;
			const char *type = (const char *)sqlite3_column_text(st, 1);
			t = ts((const char *)sqlite3_column_text(st, 2));
			if (t < r->start || stored(m, nstored, K_EVENT, eid))
				continue;
			for (size_t k = 0; k < r->nevents; k++)
				if (type && !strcmp(type, r->events[k].type) && r->events[k].points > 0) {
					w = add_row(m);
					w->kind = K_EVENT, w->ref = eid, w->points = r->events[k].points;
					w->t = dated(R, t, &late);
			w->natural = t;
					w->late = late;
					break;
				}
		}
		sqlite3_reset(st);
		/* the index gives them by type: in time order, ties by id */
		if (m->nr - e0 > 1)
			qsort(m->r + e0, m->nr - e0, sizeof(*m->r), cmp_event_rows);
	}
}

/* timeline order: by time; stored rows before candidates at a time, then
 * by id (stored) or by the order they were made (candidates) */
static const struct member *sort_m;

static int cmp_rows(const void *pa, const void *pb)
{
	const size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
	const struct lrow *x = &sort_m->r[a], *y = &sort_m->r[b];

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	if (!x->id != !y->id)
		return x->id ? -1 : 1;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return (a > b) - (a < b);
}

/* ---- the replay ------------------------------------------------------------------- */

struct state {
	int64_t debt, spent, expired, earned_net; /* earned_net: earn - reverse, for refunds */
};

/* New rows wait here and go in LEDGER_BATCH at a time, by one multi-row
 * INSERT: a statement's cost (cursors, its journal) once per batch. Their
 * ids are given here: the run holds the write lock from its start. */
#define LEDGER_BATCH 64
#define LEDGER_COLS 12

struct pending_row {
	int64_t id, customer, points, t, avail, expires, order_id, lot_id;
	int kind;
	char key[64], reason[96];
	int has_reason;
};

static void bind_time_or_null(sqlite3_stmt *st, int i, int64_t t)
{
	char buf[20];

	if (!t) {
		sqlite3_bind_null(st, i);
		return;
	}
	fmt_ts(t, buf);
	sqlite3_bind_text(st, i, buf, -1, SQLITE_TRANSIENT);
}

static void bind_id_or_null(sqlite3_stmt *st, int i, int64_t v)
{
	if (v)
		sqlite3_bind_int64(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

static void flush_rows(struct run *R)
{
	sqlite3_stmt *st = R->nbuf == LEDGER_BATCH ? R->ins_many : R->ins;
	char now[20];
	size_t n = R->nbuf == LEDGER_BATCH ? LEDGER_BATCH : 1;

	fmt_ts(R->now, now);
	for (size_t done = 0; done < R->nbuf; done += n) {
		for (size_t k = 0; k < n; k++) {
			const struct pending_row *p = &R->buf[done + k];
			int c = (int)(k * LEDGER_COLS);
			sqlite3_bind_int64(st, c + 1, p->id);
			sqlite3_bind_int64(st, c + 2, p->customer);
			sqlite3_bind_text(st, c + 3, p->key, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, c + 4, kind_names[p->kind], -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, c + 5, p->points);
			{
				char t[20];
				fmt_ts(p->t, t);
				sqlite3_bind_text(st, c + 6, t, -1, SQLITE_TRANSIENT);
			}
			bind_time_or_null(st, c + 7, p->avail);
			bind_time_or_null(st, c + 8, p->expires);
			bind_id_or_null(st, c + 9, p->order_id);
			bind_id_or_null(st, c + 10, p->lot_id);
			if (p->has_reason)
				sqlite3_bind_text(st, c + 11, p->reason, -1, SQLITE_STATIC);
			else
				sqlite3_bind_null(st, c + 11);
			sqlite3_bind_text(st, c + 12, now, -1, SQLITE_TRANSIENT);
		}
		db_step_done(R->crm->db, st);
	}
	R->nbuf = 0;
}

static void write_row(struct run *R, struct member *m, struct lrow *w, const char *reason)
{
	struct pending_row *p;
	char t[20], e[20];

	if (R->nbuf == LEDGER_BATCH)
		flush_rows(R);
	p = &R->buf[R->nbuf++];
	switch (w->kind) {
	case K_BIRTHDAY:
		snprintf(p->key, sizeof(p->key), "birthday:%" PRId64 ":%" PRId64, m->id, w->ref);
		break;
	case K_WELCOME:
		snprintf(p->key, sizeof(p->key), "welcome:%" PRId64, m->id);
		break;
	default:
		snprintf(p->key, sizeof(p->key), "%s:%" PRId64, kind_names[w->kind], w->ref);
	}
	p->id = w->id = ++R->next_id;
	p->customer = m->id;
	p->kind = w->kind;
	p->points = w->points;
	p->t = w->t;
	p->avail = w->avail;
	p->expires = w->expires;
	p->order_id = w->order_id;
	p->lot_id = w->lot_id;
	p->has_reason = reason != NULL;
	if (reason)
		snprintf(p->reason, sizeof(p->reason), "%s", reason);
	w->key = xstrdup(p->key);
	R->n_new[w->kind]++;
	R->p_new[w->kind] += w->points;
	if (R->out) {
		struct out_val v[6] = {
			{ .t = OUT_TEXT, .s = p->key, .len = strlen(p->key) },
			{ .t = OUT_TEXT, .s = kind_names[w->kind], .len = strlen(kind_names[w->kind]) },
			{ .t = OUT_INT, .i = w->points }, { .t = OUT_TEXT, .s = t, .len = 19 },
			{ .t = OUT_NULL }, { .t = OUT_NULL },
		};
		fmt_ts(w->t, t);
		if (w->expires) {
			fmt_ts(w->expires, e);
			v[4] = (struct out_val){ .t = OUT_TEXT, .s = e, .len = strlen(e) };
		}
		if (reason)
			v[5] = (struct out_val){ .t = OUT_TEXT, .s = reason, .len = strlen(reason) };
		out_row(R->out, v);
	}
}

static void make_lot(struct member *m, size_t row)
{
	const struct lrow *w = &m->r[row];

	m->lots = grow(m->lots, &m->clots, m->nlots, sizeof(*m->lots));
	m->lots[m->nlots++] = (struct lot){ row, w->points, w->avail, w->expires, 0, 0 };
}

/* Takes n points from the usable lots, those expiring first first (never
 * expiring last); returns what they could not cover. */
static int64_t take_fifo(struct member *m, int64_t n)
{
	while (n > 0) {
		struct lot *best = NULL;
		for (size_t i = 0; i < m->nlots; i++) {
			struct lot *l = &m->lots[i];
			if (!l->usable || l->done || l->remaining <= 0)
				continue;
			if (!best || (l->expires && (!best->expires || l->expires < best->expires)))
				best = l;
		}
		if (!best)
			break;
		int64_t k = best->remaining < n ? best->remaining : n;
		best->remaining -= k;
		n -= k;
	}
	return n;
}

static struct lot *lot_of(struct member *m, int64_t id)
{
	for (size_t i = 0; i < m->nlots; i++)
		if (m->r[m->lots[i].row].id == id)
			return &m->lots[i];
	return NULL;
}

/* The lot events due up to t (or < t when strict): expiries, then
 * becoming usable (paying the debt first). */
static void lot_events(struct run *R, struct member *m, struct state *s, int64_t t, int strict)
{
	for (;;) {
		struct lot *next = NULL;
		int64_t when = INT64_MAX;
		int expiry = 0;
		/* the earliest event; at a time, expiries before lots becoming usable */
		for (size_t i = 0; i < m->nlots; i++) {
			struct lot *l = &m->lots[i];
			int64_t a = l->avail ? l->avail : m->r[l->row].t;
			if (l->done)
				continue;
			if (l->expires && (l->expires < when || (l->expires == when && !expiry)))
				next = l, when = l->expires, expiry = 1;
			if (!l->usable && a < when)
				next = l, when = a, expiry = 0;
		}
		if (!next || when > t || (strict && when == t) || when > R->now)
			return;
		if (expiry) {
			struct lrow *w = &m->r[next->row];
			struct lrow *e = NULL;
			for (size_t i = 0; i < m->nr; i++)
				if (m->r[i].kind == K_EXPIRE && m->r[i].id && m->r[i].lot_id == w->id) {
					e = &m->r[i];
					break;
				}
			if (e) {
				next->remaining += e->points;
				if (next->remaining < 0)
					next->remaining = 0;
				s->expired -= e->points;
			} else if (next->remaining > 0) {
				struct lrow *x = add_row(m);
				w = &m->r[next->row]; /* add_row may move the rows */
				x->kind = K_EXPIRE, x->ref = w->id, x->lot_id = w->id;
				x->points = -next->remaining, x->t = next->expires;
				write_row(R, m, x, NULL);
				s->expired += next->remaining;
				next->remaining = 0;
			}
			next->done = 1;
			next->usable = 0;
		} else {
			next->usable = 1;
			next->avail = 0;
			if (s->debt > 0 && next->remaining > 0) {
				int64_t k = s->debt < next->remaining ? s->debt : next->remaining;
				next->remaining -= k;
				s->debt -= k;
			}
		}
	}
}

static int64_t floor_points(double x)
{
	return (int64_t)floor(x + 1e-9);
}

/* Replays m's timeline, writing the candidates it reaches. */
static void replay(struct run *R, struct member *m, struct state *s)
{
	const struct loyalty_rules *r = R->r;
	size_t n = m->nr, *order = xmalloc((n ? n : 1) * sizeof(size_t));

	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	sort_m = m;
	qsort(order, n, sizeof(size_t), cmp_rows);
	for (size_t k = 0; k < n; k++) {
		size_t i = order[k];
		struct lrow *w = &m->r[i];
		char reason[96];
		const char *why = NULL;
		if (w->kind == K_EXPIRE)
			continue; /* applied at its lot's expiry */
		lot_events(R, m, s, w->t, 0);
		w = &m->r[i];
		if (!w->id) {
			/* a candidate: its points now */
			if (w->kind == K_EARN) {
				const struct ord *o = &m->o[w->ord];
				int tier = tier_before(m, o->t);
				double mult = tier >= 0 ? r->tiers[tier].mult : 1;
				w->points = floor_points((double)(o->amount + o->extra) / R->unit * r->earn *
							 mult / r->point_value);
				if (tier >= 0 && mult != 1) {
					snprintf(reason, sizeof(reason), "%s x%g", r->tiers[tier].name, mult);
					why = reason;
				}
			} else if (w->kind == K_REVERSE && !w->lot_id) {
				const struct ord *o = &m->o[w->ord];
				int64_t p = floor_points((double)(-o->amount) / R->unit * r->earn /
							 r->point_value);
				if (p > s->earned_net)
					p = s->earned_net;
				w->points = -p;
			}
			if (w->late && !why) {
				char t[20];
				fmt_ts(w->natural, t);
				snprintf(reason, sizeof(reason), "late: of %s", t);
				why = reason;
			}
			if ((w->kind == K_REVERSE && w->lot_id) || w->kind == K_RETURN)
				why = why ? why : "the order no longer counts";
			if (w->points == 0)
				continue;
			if (w->points > 0) {
				w->avail = w->kind == K_EARN && r->pending ? w->t + r->pending : 0;
				w->expires = r->expire ? w->t + r->expire : 0;
			}
			write_row(R, m, w, why);
			w = &m->r[i];
		}
		if (w->kind == K_EARN)
			s->earned_net += w->points;
		else if (w->kind == K_REVERSE)
			s->earned_net += w->points;
		if (w->points > 0) {
			make_lot(m, i);
			lot_events(R, m, s, w->t, 0);
		} else {
			int64_t need = -w->points;
			struct lot *own = w->lot_id ? lot_of(m, w->lot_id) : NULL;
			if (own && !own->done) {
				int64_t take = own->remaining < need ? own->remaining : need;
				own->remaining -= take;
				need -= take;
			}
			need = take_fifo(m, need);
			s->debt += need;
			s->spent -= w->points;
		}
	}
	lot_events(R, m, s, R->now, 0);
	free(order);
}

/* ---- accounts -------------------------------------------------------------------- */

static int64_t write_account(struct run *R, struct member *m, const struct state *s)
{
	const struct loyalty_rules *r = R->r;
	int64_t avail = 0, pending = 0, earned = 0;
	int tier = -1;
	int64_t since = 0;
	double spend = 0;
	sqlite3_stmt *st;
	char now[20];

	for (size_t i = 0; i < m->nlots; i++) {
		const struct lot *l = &m->lots[i];
		earned += m->r[l->row].points;
		if (l->done)
			continue;
		if (l->usable)
			avail += l->remaining;
		else
			pending += l->remaining;
	}
	for (size_t i = 0; i < m->ntc && m->tc[i].t <= R->now; i++)
		tier = m->tc[i].tier, since = m->tc[i].t;
	/* the spend of the last 365 days now */
	for (size_t i = 0; i < m->no; i++)
		if (!m->o[i].other && m->o[i].purchase && m->o[i].t > R->now - 365 * 86400)
			spend += (double)m->o[i].amount;
	fmt_ts(R->now, now);
	st = R->acct;
	sqlite3_bind_int64(st, 1, m->id);
	sqlite3_bind_int64(st, 2, avail - s->debt);
	sqlite3_bind_int64(st, 3, pending);
	sqlite3_bind_int64(st, 4, earned);
	sqlite3_bind_int64(st, 5, s->spent);
	sqlite3_bind_int64(st, 6, s->expired);
	if (tier >= 0)
		sqlite3_bind_text(st, 7, r->tiers[tier].name, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 7);
	bind_time_or_null(st, 8, tier >= 0 ? since : 0);
	if (r->ntiers)
		sqlite3_bind_double(st, 9, spend / R->unit);
	else
		sqlite3_bind_null(st, 9);
	sqlite3_bind_text(st, 10, now, -1, SQLITE_TRANSIENT);
	db_step_done(R->crm->db, st);

	sqlite3_bind_int64(R->del_lots, 1, m->id);
	db_step_done(R->crm->db, R->del_lots);
	for (size_t i = 0; i < m->nlots; i++) {
		const struct lot *l = &m->lots[i];
		if (l->done || l->remaining <= 0)
			continue;
		st = R->ins_lot;
		sqlite3_bind_int64(st, 1, m->r[l->row].id);
		sqlite3_bind_int64(st, 2, m->id);
		sqlite3_bind_int64(st, 3, l->remaining);
		bind_time_or_null(st, 4, m->r[l->row].avail);
		bind_time_or_null(st, 5, m->r[l->row].expires);
		db_step_done(R->crm->db, st);
	}
	/* tier changes up to now that are not recorded yet */
	for (size_t i = 0; i < m->ntc && m->tc[i].t <= R->now; i++) {
		st = R->ins_tier;
		sqlite3_bind_int64(st, 1, m->id);
		bind_time_or_null(st, 2, m->tc[i].t);
		if (m->tc[i].tier >= 0)
			sqlite3_bind_text(st, 3, r->tiers[m->tc[i].tier].name, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 3);
		sqlite3_bind_text(st, 4, m->tc[i].up ? "upgrade" : "downgrade", -1, SQLITE_STATIC);
		sqlite3_bind_double(st, 5, m->tc[i].spend);
		sqlite3_bind_text(st, 6, now, -1, SQLITE_TRANSIENT);
		db_step_done(R->crm->db, st);
	}
	R->accounts++;
	return avail - s->debt;
}

/* ---- the run ------------------------------------------------------------------------ */

static void prepare(struct run *R)
{
	sqlite3 *db = R->crm->db;
	sqlite3_stmt *st;

	/* in the covering index's order (by time); load_member orders ties by id */
	R->q_orders = db_prepare(db, "SELECT id, ordered_at, amount, currency, purchase, points_used"
				 " FROM orders"
				 " WHERE customer_id = ?1 AND ordered_at <= ?2 AND purchase IS NOT NULL");
	R->q_lines = db_prepare(db, "SELECT ol.order_id, p.category, total(ol.amount)"
				" FROM orders o JOIN order_lines ol ON ol.order_id = o.id"
				" JOIN products p ON p.id = ol.product_id"
				" WHERE o.customer_id = ?1 AND o.ordered_at <= ?2 AND p.category <> ''"
				" GROUP BY 1, 2");
	R->q_events = db_prepare(db, "SELECT id, type, occurred_at FROM events"
				 " WHERE customer_id = ?1 AND occurred_at <= ?2");
	R->q_ledger = db_prepare(db, "SELECT id, key, kind, points, occurred_at, available_at,"
				 " expires_at, order_id, lot_id FROM loyalty_ledger"
				 " WHERE customer_id = ?1 ORDER BY id");
	{
		struct sb q = SB_INIT;
		const char *head = "INSERT INTO loyalty_ledger (id, customer_id, key, kind, points,"
				   " occurred_at, available_at, expires_at, order_id, lot_id, reason,"
				   " created_at) VALUES ";
		const char *one = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
		sb_addf(&q, "%s%s", head, one);
		R->ins = db_prepare(db, q.buf);
		sb_reset(&q);
		sb_adds(&q, head);
		for (int i = 0; i < LEDGER_BATCH; i++)
			sb_addf(&q, "%s%s", i ? ", " : "", one);
		R->ins_many = db_prepare(db, q.buf);
		sb_free(&q);
		st = db_prepare(db, "SELECT coalesce(max(id), 0) FROM loyalty_ledger");
		R->next_id = db_row(st) ? sqlite3_column_int64(st, 0) : 0;
		sqlite3_finalize(st);
		R->buf = xcalloc(LEDGER_BATCH, sizeof(*R->buf));
	}
	R->acct = db_prepare(db, "INSERT OR REPLACE INTO loyalty_accounts (customer_id, points,"
			     " pending, earned, spent, expired, tier, tier_since, spend_12m, updated_at)"
			     " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	R->del_lots = db_prepare(db, "DELETE FROM loyalty_lots WHERE customer_id = ?1");
	R->ins_lot = db_prepare(db, "INSERT INTO loyalty_lots (lot_id, customer_id, remaining,"
				" available_at, expires_at) VALUES (?, ?, ?, ?, ?)");
	R->ins_tier = db_prepare(db, "INSERT OR IGNORE INTO loyalty_tiers (customer_id, since, tier,"
				 " reason, spend_12m, created_at) VALUES (?, ?, ?, ?, ?, ?)");
}

static void finalize(struct run *R)
{
	sqlite3_stmt *sts[] = { R->q_orders, R->q_lines, R->q_events, R->q_ledger, R->ins,
				R->ins_many, R->acct, R->del_lots, R->ins_lot, R->ins_tier };

	flush_rows(R);
	free(R->buf);
	R->buf = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(sts); i++)
		sqlite3_finalize(sts[i]);
}

/* The currency of the rules: [loyalty] currency, else the base currency of
 * crm-import rates, else the one of every purchase; 0, or -1 after an
 * error. */
static int pick_currency(struct run *R)
{
	sqlite3_stmt *st;
	const char *why;
	int n = 0, exp;
	struct sb list = SB_INIT;

	if (R->r->currency[0]) {
		memcpy(R->currency, R->r->currency, 4);
		exp = R->r->exponent;
	} else if (R->rates.n) {
		/* exchange rates: every purchase in the base currency */
		char code[4];
		memcpy(R->currency, R->rates.base, 4);
		if (norm_currency(R->currency, strlen(R->currency), code, &exp, &why) < 0)
			exp = 2;
	} else {
		st = db_prepare(R->crm->db, "SELECT currency, count(*) FROM orders WHERE purchase = 1"
				" GROUP BY 1 ORDER BY 2 DESC, 1");
		while (db_row(st)) {
			const char *c = (const char *)sqlite3_column_text(st, 0);
			if (!n)
				snprintf(R->currency, sizeof(R->currency), "%s", c ? c : "");
			sb_addf(&list, "%s%s %lld", n ? ", " : "", c ? c : "?",
				(long long)sqlite3_column_int64(st, 1));
			n++;
		}
		sqlite3_finalize(st);
		if (n > 1) {
			crm_error("purchases in %d currencies (%s): give [loyalty] currency, the one "
				  "that earns points", n, list.buf);
			sb_free(&list);
			return -1;
		}
		sb_free(&list);
		char code[4];
		if (!n)
			memcpy(R->currency, "XXX", 4);
		if (norm_currency(R->currency, strlen(R->currency), code, &exp, &why) < 0)
			exp = 2;
	}
	R->exponent = exp;
	R->unit = 1;
	for (int i = 0; i < exp; i++)
		R->unit *= 10;
	return 0;
}

/* The rules as one text, kept in meta loyalty_rules: a run with other
 * rules than the last replays every member. */
static void rules_text(const struct loyalty_rules *r, struct sb *sb)
{
	sb_addf(sb, "earn=%.17g pv=%.17g cur=%s pending=%lld expire=%lld welcome=%lld "
		"birthday=%lld start=%lld review=%d members=%s", r->earn, r->point_value,
		r->currency, (long long)r->pending, (long long)r->expire, (long long)r->welcome,
		(long long)r->birthday, (long long)r->start, r->review,
		r->members ? r->members : "");
	for (size_t i = 0; i < r->ntiers; i++)
		sb_addf(sb, " tier=%s:%.17g:%.17g", r->tiers[i].name, r->tiers[i].spend,
			r->tiers[i].mult);
	for (size_t i = 0; i < r->nevents; i++)
		sb_addf(sb, " event=%s:%lld", r->events[i].type, (long long)r->events[i].points);
	for (size_t i = 0; i < r->ncats; i++)
		sb_addf(sb, " cat=%s:%.17g", r->cats[i].category, r->cats[i].mult);
}

/* ... and the exchange rates, which convert other currencies' purchases:
 * rates imported since the last run replay every member too */
static void rates_text(const struct rates *x, struct sb *sb)
{
	uint64_t h = 1469598103934665603ULL;

	if (!x->n)
		return;
	for (size_t i = 0; i < x->n; i++) {
		unsigned char b[4 + sizeof(int32_t) + sizeof(double)];
		memcpy(b, x->r[i].cur, 4);
		memcpy(b + 4, &x->r[i].day, sizeof(int32_t));
		memcpy(b + 4 + sizeof(int32_t), &x->r[i].rate, sizeof(double));
		for (size_t k = 0; k < sizeof(b); k++)
			h = (h ^ b[k]) * 1099511628211ULL;
	}
	sb_addf(sb, " rates=%s:%zu:%016llx", x->base, x->n, (unsigned long long)h);
}

static int64_t meta_int(sqlite3 *db, const char *key)
{
	char *v = db_meta_get(db, key);
	int64_t n = v ? strtoll(v, NULL, 10) : 0;

	free(v);
	return n;
}

static void touch(sqlite3 *db, const char *sql, const char *wm, const char *now, int64_t n)
{
	struct sb q = SB_INIT;
	sqlite3_stmt *st;

	sb_addf(&q, "INSERT OR IGNORE INTO temp.loyalty_touched %s", sql);
	st = db_prepare(db, q.buf);
	for (int i = 1; i <= sqlite3_bind_parameter_count(st); i++) {
		const char *name = sqlite3_bind_parameter_name(st, i);
		if (!name)
			continue;
		if (!strcmp(name, ":wm"))
			sqlite3_bind_text(st, i, wm, -1, SQLITE_STATIC);
		else if (!strcmp(name, ":now"))
			sqlite3_bind_text(st, i, now, -1, SQLITE_STATIC);
		else if (!strcmp(name, ":n"))
			sqlite3_bind_int64(st, i, n);
	}
	db_step_done(db, st);
	sqlite3_finalize(st);
	sb_free(&q);
}

/*
 * The members a run past the watermark must replay: those with orders or
 * events new since the last run (by id) or dated after it, an order that
 * counts otherwise (loyalty_dirty, filled by a trigger), a lot that
 * becomes usable or expires, a birthday, a tier review when one falls in
 * between, and the members without an account yet. Everyone else's
 * ledger and account would come out as they are.
 */
static void touched(struct run *R)
{
	sqlite3 *db = R->crm->db;
	const struct loyalty_rules *r = R->r;
	char wm[20], now[20];

	fmt_ts(R->wm, wm);
	fmt_ts(R->now, now);
	db_exec(db, "CREATE TEMP TABLE IF NOT EXISTS loyalty_touched (id INTEGER PRIMARY KEY)");
	db_exec(db, "DELETE FROM temp.loyalty_touched");
	touch(db, "SELECT customer_id FROM orders WHERE id > :n"
	      " OR (ordered_at > :wm AND ordered_at <= :now)", wm, now,
	      meta_int(db, "loyalty_orders_max"));
	touch(db, "SELECT customer_id FROM loyalty_dirty", wm, now, 0);
	if (r->nevents)
		touch(db, "SELECT customer_id FROM events WHERE id > :n"
		      " OR (occurred_at > :wm AND occurred_at <= :now)", wm, now,
		      meta_int(db, "loyalty_events_max"));
	touch(db, "SELECT customer_id FROM loyalty_lots WHERE (expires_at > :wm AND expires_at <= :now)"
	      " OR (available_at > :wm AND available_at <= :now)", wm, now, 0);
	if (r->birthday > 0) {
		/* the birthdays of the days after the watermark (29 February with
		 * 28 February, which it falls on in other years) */
		struct sb days = SB_INIT, q = SB_INIT;
		int64_t d0 = day_start(R->wm) / 86400 + 1, d1 = day_start(R->now) / 86400;
		if (d1 - d0 >= 366) {
			sb_adds(&q, "SELECT id FROM customers WHERE birthday IS NOT NULL");
		} else {
			for (int64_t d = d0; d <= d1; d++) {
				int y, mo, dd;
				norm_civil_from_days(d, &y, &mo, &dd);
				sb_addf(&days, "%s'%02d-%02d'", days.len ? "," : "", mo, dd);
				if (mo == 2 && dd == 28)
					sb_adds(&days, ",'02-29'");
			}
			sb_addf(&q, "SELECT id FROM customers WHERE birthday IS NOT NULL"
				" AND substr(birthday, 6, 5) IN (%s)", days.len ? days.buf : "''");
		}
		touch(db, q.buf, wm, now, 0);
		sb_free(&days);
		sb_free(&q);
	}
	if (r->ntiers && review_end(r->review, R->wm) <= R->now)
		touch(db, "SELECT customer_id FROM loyalty_accounts WHERE tier IS NOT NULL", wm, now, 0);
	touch(db, "SELECT w.id FROM temp.loyalty_who w WHERE w.member"
	      " AND NOT EXISTS (SELECT 1 FROM loyalty_accounts a WHERE a.customer_id = w.id)",
	      wm, now, 0);
}

static int run(struct crm *crm, const struct loyalty_rules *r, const struct loyalty_opts *o,
	       const struct rates *rates);

int loyalty_run(struct crm *crm, const struct loyalty_rules *r, const struct loyalty_opts *o)
{
	struct rates rates;
	int rc;

	rates_load(crm->db, &rates);
	rc = run(crm, r, o, &rates);
	rates_free(&rates);
	return rc;
}

static int run(struct crm *crm, const struct loyalty_rules *r, const struct loyalty_opts *o,
	       const struct rates *rates)
{
	struct run R = { .crm = crm, .r = r, .o = o, .now = crm->now, .rates = *rates };
	sqlite3 *db = crm->db;
	sqlite3_stmt *st;
	struct member m = { 0 };
	struct progress *pg;
	struct expr *e = NULL;
	char *wm, now[20];
	int64_t total;
	int full;
	struct sb rtext = SB_INIT;
	double t0 = now_monotonic();

	/* the ledger's indexes and the orders' pages in memory (64 MiB) */
	db_exec(db, "PRAGMA cache_size = -65536");
	db_exec(db, "PRAGMA threads = 2"); /* the index builds of a first run sort on two cores */
	db_begin(db);
	if ((wm = db_meta_get(db, "loyalty_run_at"))) {
		R.wm = ts(wm);
		if (R.wm > R.now) {
			crm_error("--now %s is before the last run's (%s): runs go forward in time, "
				  "nothing written", (fmt_ts(R.now, now), now), wm);
			free(wm);
			db_rollback(db);
			return 1;
		}
		free(wm);
	}
	if (pick_currency(&R) < 0) {
		db_rollback(db);
		return 1;
	}
	/* the members: the expression of [loyalty] members, else everyone; and
	 * whoever has a ledger, whose points still expire */
	db_exec(db, "CREATE TEMP TABLE IF NOT EXISTS loyalty_who (id INTEGER PRIMARY KEY, member INTEGER)");
	db_exec(db, "DELETE FROM temp.loyalty_who");
	if (r->members) {
		struct expr_err err;
		struct sb sql = SB_INIT;
		if (!(e = expr_compile(r->members, crm->now, &err))) {
			crm_error("[loyalty] members: expression:%d:%d: %s", err.line, err.col, err.msg);
			db_rollback(db);
			return 1;
		}
		sqlite3_stmt *ins;
		int rc;
		expr_register(db);
		sb_addf(&sql, "SELECT c.id FROM customers c WHERE c.erased_at IS NULL AND (%s)",
			expr_sql(e));
		/* the expression's query under the allow-list, read-only */
		sqlite3_set_authorizer(db, expr_authorizer, NULL);
		rc = sqlite3_prepare_v2(db, sql.buf, -1, &st, NULL);
		sqlite3_set_authorizer(db, NULL, NULL);
		if (rc != SQLITE_OK || expr_check_readonly(st))
			db_die(db, "[loyalty] members");
		expr_bind(e, st, 1);
		ins = db_prepare(db, "INSERT INTO temp.loyalty_who VALUES (?1, 1)");
		while (db_row(st)) {
			sqlite3_bind_int64(ins, 1, sqlite3_column_int64(st, 0));
			db_step_done(db, ins);
		}
		sqlite3_finalize(ins);
		sqlite3_finalize(st);
		sb_free(&sql);
		expr_free(e);
	} else {
		db_exec(db, "INSERT INTO temp.loyalty_who SELECT id, 1 FROM customers WHERE erased_at IS NULL");
	}
	db_exec(db, "INSERT OR IGNORE INTO temp.loyalty_who SELECT DISTINCT customer_id, 0"
		" FROM loyalty_ledger");
	/* everyone on the first run, with other rules or --full; else those
	 * with news since the last run */
	rules_text(r, &rtext);
	rates_text(&R.rates, &rtext);
	{
		char *old = db_meta_get(db, "loyalty_rules");
		full = o->full || !R.wm || !old || strcmp(old, rtext.buf);
		free(old);
	}
	if (!full)
		touched(&R);
	st = db_prepare(db, full ? "SELECT count(*) FROM temp.loyalty_who" :
			"SELECT count(*) FROM temp.loyalty_who w JOIN temp.loyalty_touched t ON t.id = w.id");
	total = db_row(st) ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);

	/* a first run writes every row: the ledger's two indexes are built
	 * once after them (sorted), not row by row; the unique one checks the
	 * keys then */
	st = db_prepare(db, "SELECT NOT EXISTS (SELECT 1 FROM loyalty_ledger)");
	R.bulk = db_row(st) && sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (R.bulk) {
		db_exec(db, "DROP INDEX loyalty_ledger_key");
		db_exec(db, "DROP INDEX loyalty_ledger_customer");
	}
	prepare(&R);
	if (o->dry_run) {
		static const char *const cols[] = { "key", "kind", "points", "occurred_at",
						    "expires_at", "reason" };
		R.out = out_new(stdout, crm->format);
		out_columns(R.out, ARRAY_SIZE(cols), cols);
	}
	pg = progress_new("loyalty", total);
	st = db_prepare(db, full ? "SELECT c.id, c.created_at, c.birthday, w.member FROM temp.loyalty_who w"
			" JOIN customers c ON c.id = w.id WHERE c.erased_at IS NULL ORDER BY c.id" :
			"SELECT c.id, c.created_at, c.birthday, w.member FROM temp.loyalty_who w"
			" JOIN temp.loyalty_touched t ON t.id = w.id"
			" JOIN customers c ON c.id = w.id WHERE c.erased_at IS NULL ORDER BY c.id");
	while (db_row(st)) {
		struct state s;
		const char *b = (const char *)sqlite3_column_text(st, 2);
		int by, bm, bd;
		member_reset(&m);
		m.id = sqlite3_column_int64(st, 0);
		m.created = ts((const char *)sqlite3_column_text(st, 1)); /* -1: unknown */
		m.bday_m = m.bday_d = 0;
		if (b && sscanf(b, "%4d-%2d-%2d", &by, &bm, &bd) == 3 && bm >= 1 && bm <= 12 && bd >= 1 &&
		    bd <= 31)
			m.bday_m = bm, m.bday_d = bd;
		m.in = sqlite3_column_int(st, 3);
		R.members += m.in;
		load_member(&R, &m);
		tiers(&R, &m);
		candidates(&R, &m);
		replay(&R, &m, &s);
		if (m.nlots || m.ntc || m.in)
			write_account(&R, &m, &s);
		if (!(R.accounts & 0x3fff))
			progress_update(pg, (int64_t)R.accounts, R.accounts);
	}
	sqlite3_finalize(st);
	progress_end(pg);
	finalize(&R);
	member_free(&m);
	if (R.bulk) {
		crm_info("ledger written in %.1f s; building its indexes", now_monotonic() - t0);
		db_exec(db, "CREATE UNIQUE INDEX loyalty_ledger_key ON loyalty_ledger(key)");
		db_exec(db, "CREATE INDEX loyalty_ledger_customer ON loyalty_ledger(customer_id, occurred_at)");
	}
	fmt_ts(R.now, now);
	if (o->dry_run) {
		out_finish(R.out);
		db_rollback(db);
	} else {
		char n[32];
		if (!R.wm || R.now > R.wm)
			db_meta_set(db, "loyalty_run_at", now);
		db_meta_set(db, "loyalty_rules", rtext.buf);
		db_meta_set(db, "loyalty_currency", R.currency);
		st = db_prepare(db, "SELECT (SELECT coalesce(max(id), 0) FROM orders),"
				" (SELECT coalesce(max(id), 0) FROM events)");
		if (db_row(st)) {
			snprintf(n, sizeof(n), "%lld", (long long)sqlite3_column_int64(st, 0));
			db_meta_set(db, "loyalty_orders_max", n);
			snprintf(n, sizeof(n), "%lld", (long long)sqlite3_column_int64(st, 1));
			db_meta_set(db, "loyalty_events_max", n);
		}
		sqlite3_finalize(st);
		db_exec(db, "DELETE FROM loyalty_dirty");
		db_commit(db);
	}
	sb_free(&rtext);
	if (R.converted && crm_verbosity >= 1)
		crm_note("%" PRIu64 " purchases in other currencies converted to %s at the rates of "
			 "crm-import rates", R.converted, R.currency);
	if (R.other_currency)
		crm_warn("%" PRIu64 " purchases in currencies other than %s earned nothing and count "
			 "for no tier (%s)", R.other_currency, R.currency,
			 R.rates.n ? "no exchange rate on their day: crm-import rates"
				   : "[loyalty] currency, or crm-import rates to convert them");
	if (crm_verbosity >= 1) {
		struct sb said = SB_INIT;
		for (int k = 0; k < K_N; k++)
			if (R.n_new[k])
				sb_addf(&said, "%s%s %" PRId64 " (%+" PRId64 " points)", said.len ? ", " : "",
					kind_names[k], R.n_new[k], R.p_new[k]);
		crm_note("loyalty: %" PRIu64 " members %s as of %s (%s): %s%s; %.1f s", R.members,
			 full ? "replayed" : "with news", now, R.currency,
			 said.len ? said.buf : "nothing new",
			 o->dry_run ? "; dry run, nothing written" : "", now_monotonic() - t0);
		sb_free(&said);
	}
	return 0;
}

int64_t loyalty_replay_one(struct crm *crm, const struct loyalty_rules *r, int64_t customer)
{
	struct run R = { .crm = crm, .r = r, .now = crm->now };
	struct loyalty_opts o = { 0 };
	struct member m = { 0 };
	struct state s;
	sqlite3_stmt *st;
	char *wm;
	int64_t points = INT64_MIN;

	R.o = &o;
	if ((wm = db_meta_get(crm->db, "loyalty_run_at")))
		R.wm = ts(wm);
	free(wm);
	rates_load(crm->db, &R.rates);
	if (pick_currency(&R) < 0) {
		rates_free(&R.rates);
		return INT64_MIN;
	}
	st = db_prepare(crm->db, "SELECT created_at, birthday FROM customers WHERE id = ?1"
			" AND erased_at IS NULL");
	sqlite3_bind_int64(st, 1, customer);
	if (db_row(st)) {
		m.id = customer;
		m.created = ts((const char *)sqlite3_column_text(st, 0));
		prepare(&R);
		load_member(&R, &m);
		tiers(&R, &m);
		replay(&R, &m, &s);
		points = write_account(&R, &m, &s);
		finalize(&R);
	}
	sqlite3_finalize(st);
	member_free(&m);
	rates_free(&R.rates);
	return points;
}
