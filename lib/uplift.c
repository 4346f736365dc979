/*
 * uplift.c - crm-score uplift: learn from the treatment and control rows
 * of past campaigns who converts because of a message, and score every
 * customer (crm-score(1), UPLIFT).
 *
 * The rows: every outbox row of the campaigns that crm-report campaign
 * compares (treatment rows sent or tried, control rows held out), whose
 * window has ended by --now. A row's outcome: a completed purchase within
 * the window after its message (converted), or their amount in the
 * currency of most purchases (revenue, major units).
 *
 * The features describe the customer as they were when the message went
 * out (time t): their purchases before t (recency, frequency, monetary,
 * average order, tenure), engagement in the year before t (opens, clicks,
 * messages, days since the last message), the e-mail consent at t, and,
 * as stored now, their RFM and CLV scores and attributes (numbers as
 * numbers, text as categories whose rare levels are pooled). Every
 * customer is scored with the same features as of --now. A missing value
 * is 0 with an indicator column, never a dropped row.
 *
 * The methods (uplift_fit.c): the two-model approach (T-learner: one
 * penalised logistic regression on the treated rows, one on the control
 * rows, the uplift their difference) and the class transformation
 * (Jaskowski and Jaroszewicz 2012: one model of Z = Y for treated rows,
 * 1 - Y for control rows, weighted so that the groups weigh alike; the
 * uplift 2 P(Z = 1) - 1). With --outcome revenue, ridge regressions, and
 * for the transformation the transformed outcome Y (T - p) / (p (1 - p))
 * (Athey and Imbens 2016). Each method with each penalty is
 * cross-validated: the customers are split into folds (a customer's rows
 * stay in one), each fold is predicted by the models fitted on the
 * others, and the candidate with the best Qini coefficient of those
 * out-of-fold predictions is fitted on every row.
 */
#include "uplift.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "diag.h"
#include "norm.h"
#include "out.h"
#include "rates.h"
#include "util.h"

#define YEAR (365 * 86400LL)
#define MAX_ATTRS 24      /* attribute keys used */
#define MAX_LEVELS 12     /* categories per text attribute */

/* a customer's rows of one table, in time order */
struct series {
	size_t *off;      /* rows of customer id c: off[c] .. off[c + 1] */
	int64_t *t;
	double *v;        /* orders: amount (major units); consents: granted */
	double *cum;      /* orders: the sum of v up to and including the row */
	unsigned char *k; /* orders: currency index; events: 1 clicked */
	size_t n;
};

struct attr {
	char *key;
	int numeric;
	int missing;          /* some customers lack it: an indicator column */
	char *level[MAX_LEVELS];
	size_t nlevels;
};

struct col {
	char name[96];
	double mean, sd;
	int keep;
};

struct row {
	int64_t cid, t;
	int camp;
	unsigned char treat;
	int fold;
	double y, p;          /* outcome; the treated share of its campaign */
};

struct ctx {
	struct crm *crm;
	const struct uplift_opts *o;
	int64_t maxid;
	struct series ord, ev, msg, con;
	char cur[16][4];      /* the orders' currencies */
	int ncur, ycur;       /* ... and the one revenue counts */
	struct rates rx;      /* minor-unit exponents */
	/* per customer id: attributes and scores (NAN: none) */
	struct attr attrs[MAX_ATTRS];
	size_t nattrs;
	float *av;            /* maxid + 1 rows of nav values */
	size_t nav;
	float *sv;            /* scores: has, clv, p_alive, r, f, m */
	int have_scores;
	struct col *cols;
	size_t ncols;
	struct row *rows;
	size_t nrows, caprows;
	int64_t *camp_id;
	double *camp_p;
};

enum { NBASE = 12, NSCORES = 6 };
static const char *const base_names[NBASE] = {
	"has_orders", "recency_days", "frequency", "monetary", "aov", "tenure_days",
	"opens_365d", "clicks_365d", "messages_365d", "has_message", "days_since_message",
	"email_consent",
};
static const char *const score_names[NSCORES] = {
	"has_scores", "clv", "p_alive", "rfm_r", "rfm_f", "rfm_m",
};

/* ---- loading ---------------------------------------------------------- */

static int64_t max_customer(sqlite3 *db)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT coalesce(max(id), 0) FROM customers");
	int64_t m = db_row(st) ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return m;
}

static int cur_index(struct ctx *x, const char *c)
{
	for (int i = 0; i < x->ncur; i++)
		if (!strcmp(x->cur[i], c))
			return i;
	if (x->ncur == (int)ARRAY_SIZE(x->cur))
		return 255;
	snprintf(x->cur[x->ncur], 4, "%s", c);
	return x->ncur++;
}

/* sql: customer_id, epoch seconds, value, text (currency, type) ordered
 * by customer and time */
static void load_series(struct ctx *x, struct series *s, const char *sql, int orders)
{
	sqlite3 *db = x->crm->db;
	sqlite3_stmt *st = db_prepare(db, sql);
	size_t cap = 0;
	int64_t *cid = NULL;
	size_t ccap = 0;

	memset(s, 0, sizeof(*s));
	while (db_step_row(db, st)) {
		int64_t c = sqlite3_column_int64(st, 0);
		const char *k = (const char *)sqlite3_column_text(st, 3);
		if (c < 1 || c > x->maxid)
			continue;
		if (s->n == cap) {
			size_t c2 = cap;
			s->t = xgrow(s->t, sizeof(*s->t), s->n + 1, &cap);
			c2 = cap;
			s->v = xrealloc(s->v, c2 * sizeof(*s->v));
			s->k = xrealloc(s->k, c2 * sizeof(*s->k));
		}
		cid = xgrow(cid, sizeof(*cid), s->n + 1, &ccap);
		cid[s->n] = c;
		s->t[s->n] = sqlite3_column_int64(st, 1);
		if (orders) {
			int ci = k ? cur_index(x, k) : 255;
			s->k[s->n] = (unsigned char)ci;
			s->v[s->n] = (double)sqlite3_column_int64(st, 2) /
				     pow(10, rates_exponent(&x->rx, k ? k : "XXX"));
		} else {
			s->k[s->n] = k && !strcmp(k, "clicked");
			s->v[s->n] = sqlite3_column_double(st, 2);
		}
		s->n++;
	}
	sqlite3_finalize(st);
	s->off = xcalloc((size_t)x->maxid + 2, sizeof(*s->off));
	for (size_t i = 0; i < s->n; i++)
		s->off[cid[i] + 1]++;
	for (int64_t c = 1; c <= x->maxid + 1; c++)
		s->off[c] += s->off[c - 1];
	free(cid);
	if (orders) {
		s->cum = xcalloc(s->n ? s->n : 1, sizeof(double));
		for (int64_t c = 1; c <= x->maxid; c++) {
			double sum = 0;
			for (size_t i = s->off[c]; i < s->off[c + 1]; i++)
				s->cum[i] = (sum += s->v[i]);
		}
	}
}

static void series_free(struct series *s)
{
	free(s->off);
	free(s->t);
	free(s->v);
	free(s->cum);
	free(s->k);
}

/* the first row of customer c at or after time t */
static size_t lower(const struct series *s, int64_t c, int64_t t)
{
	size_t lo = s->off[c], hi = s->off[c + 1];

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->t[mid] < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int is_number(const char *s, double *d)
{
	char *end;

	if (!*s)
		return 0;
	*d = strtod(s, &end);
	return !*end && isfinite(*d);
}

/* The attribute value of a JSON item as text (numbers and booleans as
 * written); NULL for null, objects and arrays. */
static const char *attr_text(const cJSON *v, char buf[64])
{
	if (cJSON_IsString(v))
		return v->valuestring;
	if (cJSON_IsNumber(v)) {
		snprintf(buf, 64, "%.17g", v->valuedouble);
		return buf;
	}
	if (cJSON_IsBool(v))
		return cJSON_IsTrue(v) ? "true" : "false";
	return NULL;
}

struct lvl {
	char *s;
	uint64_t n;
};

static int by_count(const void *a, const void *b)
{
	const struct lvl *x = a, *y = b;
	return x->n < y->n ? 1 : x->n > y->n ? -1 : strcmp(x->s, y->s);
}

/* Attributes: which keys, numeric or text, and the text levels kept. */
static void load_attrs(struct ctx *x)
{
	sqlite3 *db = x->crm->db;
	sqlite3_stmt *st;
	struct { char *key; uint64_t n, num; struct lvl *l; size_t nl, cl; int many; } k[64];
	size_t nk = 0;
	uint64_t ncust = 0;

	st = db_prepare(db, "SELECT attrs FROM customers WHERE erased_at IS NULL");
	while (db_step_row(db, st)) {
		const char *j = (const char *)sqlite3_column_text(st, 0);
		cJSON *o, *v;
		ncust++;
		if (!j || !strcmp(j, "{}") || !(o = cJSON_Parse(j)))
			continue;
		cJSON_ArrayForEach(v, o) {
			char buf[64];
			const char *t;
			double d;
			size_t i;
			int isnum;
			if (!v->string)
				continue;
			/* a JSON number is a number as it is; text may be one */
			if (cJSON_IsNumber(v)) {
				t = NULL;
				isnum = 1;
			} else if (!(t = attr_text(v, buf)) || !*t) {
				continue;
			} else {
				isnum = is_number(t, &d);
			}
			for (i = 0; i < nk && strcmp(k[i].key, v->string); i++)
				;
			if (i == nk) {
				if (nk == ARRAY_SIZE(k))
					continue;
				memset(&k[nk], 0, sizeof(k[nk]));
				k[nk++].key = xstrdup(v->string);
			}
			k[i].n++;
			k[i].num += isnum;
			/* the levels of text values only: a number is no category */
			if (isnum || k[i].many)
				continue;
			size_t l;
			for (l = 0; l < k[i].nl && strcmp(k[i].l[l].s, t); l++)
				;
			if (l == k[i].nl) {
				if (k[i].nl == 1000) {
					k[i].many = 1; /* an id, a free text: no categories */
					continue;
				}
				k[i].l = xgrow(k[i].l, sizeof(*k[i].l), k[i].nl + 1, &k[i].cl);
				k[i].l[k[i].nl].s = xstrdup(t);
				k[i].l[k[i].nl++].n = 0;
			}
			k[i].l[l].n++;
		}
		cJSON_Delete(o);
	}
	sqlite3_finalize(st);
	/* keys in name order, for a model that does not depend on row order */
	for (size_t i = 0; i < nk; i++)
		for (size_t j = i + 1; j < nk; j++)
			if (strcmp(k[j].key, k[i].key) < 0) {
				__typeof__(k[0]) tmp = k[i];
				k[i] = k[j];
				k[j] = tmp;
			}
	for (size_t i = 0; i < nk; i++) {
		struct attr *a;
		uint64_t min = ncust / 100 > 30 ? ncust / 100 : 30;
		if (x->nattrs == MAX_ATTRS || k[i].n < min)
			goto skip;
		a = &x->attrs[x->nattrs];
		memset(a, 0, sizeof(*a));
		a->numeric = k[i].num == k[i].n;
		a->missing = k[i].n < ncust;
		if (!a->numeric) {
			if (k[i].many)
				goto skip;
			qsort(k[i].l, k[i].nl, sizeof(*k[i].l), by_count);
			/* the levels common enough to learn from; the most common is
			 * the reference when every level is kept */
			for (size_t l = 0; l < k[i].nl && a->nlevels < MAX_LEVELS; l++)
				if (k[i].l[l].n >= min)
					a->level[a->nlevels++] = xstrdup(k[i].l[l].s);
			if (!a->nlevels)
				goto skip;
		}
		a->key = xstrdup(k[i].key);
		x->nattrs++;
skip:
		for (size_t l = 0; l < k[i].nl; l++)
			free(k[i].l[l].s);
		free(k[i].l);
		free(k[i].key);
	}
	/* the values per customer: numbers, or 1 for the level held */
	x->nav = 0;
	for (size_t i = 0; i < x->nattrs; i++)
		x->nav += (x->attrs[i].numeric ? 1 : x->attrs[i].nlevels) + x->attrs[i].missing;
	if (!x->nav)
		return;
	x->av = xcalloc(((size_t)x->maxid + 1) * x->nav, sizeof(float));
	st = db_prepare(db, "SELECT id, attrs FROM customers WHERE erased_at IS NULL");
	while (db_step_row(db, st)) {
		int64_t c = sqlite3_column_int64(st, 0);
		const char *j = (const char *)sqlite3_column_text(st, 1);
		cJSON *o = j ? cJSON_Parse(j) : NULL;
		float *out = x->av + (size_t)c * x->nav;
		size_t p = 0;
		if (c < 0 || c > x->maxid) {
			cJSON_Delete(o);
			continue;
		}
		for (size_t i = 0; i < x->nattrs; i++) {
			struct attr *a = &x->attrs[i];
			cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, a->key) : NULL;
			char buf[64];
			const char *t = v && !cJSON_IsNumber(v) ? attr_text(v, buf) : NULL;
			double d;
			int have = (v && cJSON_IsNumber(v)) || (t && *t);
			if (a->numeric)
				out[p++] = !have ? 0 : cJSON_IsNumber(v) ? (float)v->valuedouble :
					   is_number(t, &d) ? (float)d : 0;
			else
				for (size_t l = 0; l < a->nlevels; l++)
					out[p++] = have && !strcmp(t, a->level[l]);
			if (a->missing)
				out[p++] = !have;
		}
		cJSON_Delete(o);
	}
	sqlite3_finalize(st);
}

static void load_scores(struct ctx *x)
{
	sqlite3 *db = x->crm->db;
	sqlite3_stmt *st = db_prepare(db, "SELECT customer_id, clv, p_alive, r, f, m FROM scores");

	while (db_step_row(db, st)) {
		int64_t c = sqlite3_column_int64(st, 0);
		float *s;
		if (c < 1 || c > x->maxid)
			continue;
		if (!x->sv)
			x->sv = xcalloc(((size_t)x->maxid + 1) * NSCORES, sizeof(float));
		s = x->sv + (size_t)c * NSCORES;
		s[0] = 1;
		for (int i = 1; i < NSCORES; i++)
			s[i] = sqlite3_column_type(st, i) == SQLITE_NULL ? 0 :
			       (float)sqlite3_column_double(st, i);
		s[1] = (float)log1p(s[1] > 0 ? s[1] : 0);
		x->have_scores = 1;
	}
	sqlite3_finalize(st);
}

/* ---- features --------------------------------------------------------- */

static size_t nfeatures(const struct ctx *x)
{
	return NBASE + (x->have_scores ? NSCORES : 0) + x->nav;
}

static void feature_names(struct ctx *x)
{
	size_t n = nfeatures(x), p = 0;

	x->cols = xcalloc(n, sizeof(*x->cols));
	x->ncols = n;
	for (int i = 0; i < NBASE; i++)
		snprintf(x->cols[p++].name, sizeof(x->cols[0].name), "%s", base_names[i]);
	if (x->have_scores)
		for (int i = 0; i < NSCORES; i++)
			snprintf(x->cols[p++].name, sizeof(x->cols[0].name), "%s", score_names[i]);
	for (size_t i = 0; i < x->nattrs; i++) {
		struct attr *a = &x->attrs[i];
		if (a->numeric)
			snprintf(x->cols[p++].name, sizeof(x->cols[0].name), "attr.%.80s", a->key);
		else
			for (size_t l = 0; l < a->nlevels; l++)
				snprintf(x->cols[p++].name, sizeof(x->cols[0].name), "attr.%.40s=%.40s",
					 a->key, a->level[l]);
		if (a->missing)
			snprintf(x->cols[p++].name, sizeof(x->cols[0].name), "attr.%.72s missing",
				 a->key);
	}
}

/* Customer c as at time t, unstandardised, into f[nfeatures]. */
static void features(const struct ctx *x, int64_t c, int64_t t, double *f)
{
	const struct series *o = &x->ord;
	size_t b = o->off[c], e = lower(o, c, t), k = e - b, p = 0;
	double days;

	f[p++] = k > 0;
	days = k ? (double)(t - o->t[e - 1]) / 86400 : 0;
	f[p++] = log1p(days > 0 ? days : 0);
	f[p++] = log1p((double)k);
	f[p++] = k ? log1p(o->cum[e - 1] > 0 ? o->cum[e - 1] : 0) : 0;
	f[p++] = k && o->cum[e - 1] > 0 ? log1p(o->cum[e - 1] / (double)k) : 0;
	days = k ? (double)(t - o->t[b]) / 86400 : 0;
	f[p++] = log1p(days > 0 ? days : 0);
	/* engagement in the year before t */
	{
		size_t lo = lower(&x->ev, c, t - YEAR), hi = lower(&x->ev, c, t);
		double opens = 0, clicks = 0;
		for (size_t i = lo; i < hi; i++)
			x->ev.k[i] ? clicks++ : opens++;
		f[p++] = log1p(opens);
		f[p++] = log1p(clicks);
	}
	{
		size_t lo = lower(&x->msg, c, t - YEAR), hi = lower(&x->msg, c, t);
		f[p++] = log1p((double)(hi - lo));
		hi = lower(&x->msg, c, t);
		f[p++] = hi > x->msg.off[c];
		days = hi > x->msg.off[c] ? (double)(t - x->msg.t[hi - 1]) / 86400 : 0;
		f[p++] = log1p(days > 0 ? days : 0);
	}
	{
		size_t hi = lower(&x->con, c, t + 1);
		f[p++] = hi > x->con.off[c] ? x->con.v[hi - 1] : 0;
	}
	if (x->have_scores)
		for (int i = 0; i < NSCORES; i++)
			f[p++] = x->sv[(size_t)c * NSCORES + i];
	for (size_t i = 0; i < x->nav; i++)
		f[p++] = x->av[(size_t)c * x->nav + i];
}

/* ---- the rows --------------------------------------------------------- */

static uint64_t mix(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The rows of the campaigns and their outcomes; -1 after an error. */
static int load_rows(struct ctx *x, uint64_t *immature, uint64_t *other_cur)
{
	sqlite3 *db = x->crm->db;
	const struct uplift_opts *o = x->o;
	sqlite3_stmt *st;
	int64_t now = x->crm->now;

	x->camp_id = xcalloc(o->ncampaigns, sizeof(int64_t));
	x->camp_p = xcalloc(o->ncampaigns, sizeof(double));
	st = db_prepare(db, "SELECT m.customer_id, m.grp,"
			" CAST(strftime('%s', coalesce(m.sent_at, m.updated_at)) AS INTEGER)"
			" FROM messages m JOIN customers c ON c.id = m.customer_id"
			" WHERE m.campaign_id = ?1 AND c.erased_at IS NULL"
			" AND (m.grp = 'control' AND m.status = 'control'"
			"  OR m.grp = 'treatment' AND m.status IN ('sent', 'bounced', 'failed', 'in_doubt'))"
			" ORDER BY m.customer_id");
	for (size_t ci = 0; ci < o->ncampaigns; ci++) {
		sqlite3_stmt *q = db_prepare(db, "SELECT id FROM campaigns WHERE name = ?1");
		uint64_t nt = 0, n = 0;
		sqlite3_bind_text(q, 1, o->campaigns[ci], -1, SQLITE_STATIC);
		if (!db_row(q)) {
			sqlite3_finalize(q);
			q = db_prepare(db, "SELECT name FROM campaigns ORDER BY name");
			{
				const char **names = NULL;
				size_t nn = 0, cn = 0;
				const char *best;
				while (db_row(q)) {
					names = xgrow(names, sizeof(*names), nn + 2, &cn);
					names[nn++] = xstrdup((const char *)sqlite3_column_text(q, 0));
				}
				if (names)
					names[nn] = NULL;
				best = names ? str_suggest(o->campaigns[ci], names) : NULL;
				crm_error("no campaign \"%s\"%s%s%s", o->campaigns[ci],
					  best ? "; did you mean \"" : "", best ? best : "", best ? "\"?" : "");
				for (size_t i = 0; i < nn; i++)
					free((char *)names[i]);
				free(names);
			}
			sqlite3_finalize(q);
			sqlite3_finalize(st);
			return -1;
		}
		x->camp_id[ci] = sqlite3_column_int64(q, 0);
		sqlite3_finalize(q);
		sqlite3_bind_int64(st, 1, x->camp_id[ci]);
		while (db_step_row(db, st)) {
			struct row *r;
			int64_t t0 = sqlite3_column_int64(st, 2);
			if (t0 + o->window > now) {
				(*immature)++;
				continue;
			}
			x->rows = xgrow(x->rows, sizeof(*x->rows), x->nrows + 1, &x->caprows);
			r = &x->rows[x->nrows++];
			r->cid = sqlite3_column_int64(st, 0);
			r->treat = !strcmp((const char *)sqlite3_column_text(st, 1), "treatment");
			r->t = t0;
			r->camp = (int)ci;
			r->fold = (int)(mix((uint64_t)r->cid ^ o->seed) % (uint64_t)o->folds);
			nt += r->treat;
			n++;
		}
		sqlite3_reset(st);
		x->camp_p[ci] = n ? (double)nt / (double)n : 0;
	}
	sqlite3_finalize(st);
	/* the revenue's currency: the one of most purchases */
	{
		uint64_t cnt[256] = { 0 }, best = 0;
		for (size_t i = 0; i < x->ord.n; i++)
			cnt[x->ord.k[i]]++;
		x->ycur = 0;
		for (int i = 0; i < x->ncur; i++)
			if (cnt[i] > best)
				best = cnt[i], x->ycur = i;
	}
	for (size_t i = 0; i < x->nrows; i++) {
		struct row *r = &x->rows[i];
		size_t lo = lower(&x->ord, r->cid, r->t + 1), hi = lower(&x->ord, r->cid, r->t + o->window + 1);
		double y = 0;
		r->p = x->camp_p[r->camp];
		if (o->outcome == UPLIFT_CONVERTED) {
			y = hi > lo;
		} else {
			for (size_t k = lo; k < hi; k++) {
				if (x->ord.k[k] == x->ycur)
					y += x->ord.v[k];
				else
					(*other_cur)++;
			}
		}
		r->y = y;
	}
	return 0;
}

/* ---- fitting ---------------------------------------------------------- */

struct model {
	enum uplift_method method;
	double lambda;
	double *b1, *b0;  /* T-learner: treated and control; CT: b1 only */
};

struct design {
	double *X;        /* nrows x d, standardised, kept columns only */
	size_t d;
	double *y1;       /* the outcome as each model learns it */
	double *yz, *wz;  /* CT: transformed outcome and weights */
	unsigned char *t;
	double *y;
};

static int fit(const struct ctx *x, const struct design *D, enum uplift_method m, double lambda,
	       const size_t *tr, size_t ntr, struct model *M)
{
	size_t d = D->d, *i1 = xcalloc(ntr ? ntr : 1, sizeof(size_t)),
	       *i0 = xcalloc(ntr ? ntr : 1, sizeof(size_t)), n1 = 0, n0 = 0;
	int rc;

	M->method = m;
	M->lambda = lambda;
	M->b1 = xcalloc(d + 1, sizeof(double));
	M->b0 = xcalloc(d + 1, sizeof(double));
	for (size_t k = 0; k < ntr; k++)
		D->t[tr[k]] ? (i1[n1++] = tr[k]) : (i0[n0++] = tr[k]);
	if (m == UPLIFT_TLEARNER) {
		if (x->o->outcome == UPLIFT_CONVERTED)
			rc = ufit_logistic(D->X, d, D->y, NULL, i1, n1, lambda, M->b1) |
			     ufit_logistic(D->X, d, D->y, NULL, i0, n0, lambda, M->b0);
		else
			rc = ufit_ridge(D->X, d, D->y, NULL, i1, n1, lambda, M->b1) |
			     ufit_ridge(D->X, d, D->y, NULL, i0, n0, lambda, M->b0);
	} else if (x->o->outcome == UPLIFT_CONVERTED) {
		rc = ufit_logistic(D->X, d, D->yz, D->wz, tr, ntr, lambda, M->b1);
	} else {
		rc = ufit_ridge(D->X, d, D->yz, NULL, tr, ntr, lambda, M->b1);
	}
	free(i1);
	free(i0);
	return rc;
}

static double predict(const struct ctx *x, const struct model *M, const double *f, size_t d)
{
	if (M->method == UPLIFT_TLEARNER) {
		double a = ufit_linear(f, d, M->b1), b = ufit_linear(f, d, M->b0);
		return x->o->outcome == UPLIFT_CONVERTED ? ufit_sigmoid(a) - ufit_sigmoid(b) : a - b;
	}
	if (x->o->outcome == UPLIFT_CONVERTED)
		return 2 * ufit_sigmoid(ufit_linear(f, d, M->b1)) - 1;
	return ufit_linear(f, d, M->b1);
}

static void model_free(struct model *M)
{
	free(M->b1);
	free(M->b0);
	M->b1 = M->b0 = NULL;
}

static const char *method_name(enum uplift_method m)
{
	return m == UPLIFT_TLEARNER ? "tlearner" : "ct";
}

/* the out-of-fold predictions of a candidate into s; -1 when a fit failed */
static int cross_validate(const struct ctx *x, const struct design *D, enum uplift_method m,
			  double lambda, double *s)
{
	size_t n = x->nrows, *tr = xcalloc(n, sizeof(size_t));
	int rc = 0;

	for (int k = 0; k < x->o->folds && !rc; k++) {
		struct model M;
		size_t ntr = 0;
		for (size_t i = 0; i < n; i++)
			if (x->rows[i].fold != k)
				tr[ntr++] = i;
		if (fit(x, D, m, lambda, tr, ntr, &M) < 0)
			rc = -1;
		for (size_t i = 0; i < n && !rc; i++)
			if (x->rows[i].fold == k)
				s[i] = predict(x, &M, D->X + i * D->d, D->d);
		model_free(&M);
	}
	free(tr);
	return rc;
}

/* ---- what is kept ------------------------------------------------------ */

struct ord2 {
	double s;
	size_t i;
};

static int by_s_desc(const void *a, const void *b)
{
	const struct ord2 *x = a, *y = b;
	return x->s < y->s ? 1 : x->s > y->s ? -1 : (x->i > y->i) - (x->i < y->i);
}

/* The out-of-fold predictions by decile and the Qini curve, as JSON. */
static void summaries(const struct ctx *x, const double *s, char **deciles, char **curve)
{
	size_t n = x->nrows;
	struct ord2 *q = xcalloc(n, sizeof(*q));
	cJSON *dj = cJSON_CreateArray(), *cj = cJSON_CreateArray();
	double yt = 0, yc = 0, nt = 0, nc = 0, tot;
	size_t next = 0;
	int step = 0;

	for (size_t i = 0; i < n; i++)
		q[i].s = s[i], q[i].i = i;
	qsort(q, n, sizeof(*q), by_s_desc);
	for (int dcl = 0; dcl < 10; dcl++) {
		size_t a = n * (size_t)dcl / 10, b = n * (size_t)(dcl + 1) / 10;
		double t1 = 0, c1 = 0, ty = 0, cy = 0, ty2 = 0, cy2 = 0, ps = 0;
		cJSON *o = cJSON_CreateObject();
		for (size_t k = a; k < b; k++) {
			const struct row *r = &x->rows[q[k].i];
			if (r->treat)
				t1++, ty += r->y, ty2 += r->y * r->y;
			else
				c1++, cy += r->y, cy2 += r->y * r->y;
			ps += q[k].s;
		}
		cJSON_AddNumberToObject(o, "decile", dcl + 1);
		cJSON_AddNumberToObject(o, "treated", t1);
		cJSON_AddNumberToObject(o, "controls", c1);
		cJSON_AddNumberToObject(o, "treated_y", ty);
		cJSON_AddNumberToObject(o, "controls_y", cy);
		cJSON_AddNumberToObject(o, "treated_y2", ty2);
		cJSON_AddNumberToObject(o, "controls_y2", cy2);
		cJSON_AddNumberToObject(o, "predicted", b > a ? ps / (double)(b - a) : 0);
		cJSON_AddItemToArray(dj, o);
	}
	/* the curve at every 5% of the rows, the random line to its end */
	for (size_t i = 0; i < n; i++) {
		const struct row *r = &x->rows[i];
		r->treat ? (nt++, yt += r->y) : (nc++, yc += r->y);
	}
	tot = yt - (nc > 0 ? yc * nt / nc : 0);
	yt = yc = nt = nc = 0;
	for (size_t k = 0; k <= n; k++) {
		if (k == next) {
			cJSON *o = cJSON_CreateObject();
			cJSON_AddNumberToObject(o, "share", step / 20.0);
			cJSON_AddNumberToObject(o, "qini", yt - (nc > 0 ? yc * nt / nc : 0));
			cJSON_AddNumberToObject(o, "random", tot * step / 20.0);
			cJSON_AddItemToArray(cj, o);
			step++;
			next = (size_t)((double)n * step / 20.0 + 0.5);
			if (step > 20)
				break;
		}
		if (k < n) {
			const struct row *r = &x->rows[q[k].i];
			r->treat ? (nt++, yt += r->y) : (nc++, yc += r->y);
		}
	}
	*deciles = cJSON_PrintUnformatted(dj);
	*curve = cJSON_PrintUnformatted(cj);
	cJSON_Delete(dj);
	cJSON_Delete(cj);
	free(q);
}

/* --rows FILE: every row learnt from, with the chosen candidate's
 * out-of-fold prediction (CSV), for other measures than this program's */
static int write_rows(const struct ctx *x, const double *s)
{
	static const char *const cols[] = {
		"campaign", "customer_id", "group", "sent_at", "fold", "outcome", "predicted",
	};
	sqlite3_stmt *st = db_prepare(x->crm->db, "SELECT external_id FROM customers WHERE id = ?1");
	FILE *fp = fopen(x->o->rows, "w");
	struct out *out;
	int rc;

	if (!fp) {
		crm_error("cannot write %s: %s", x->o->rows, strerror(errno));
		sqlite3_finalize(st);
		return -1;
	}
	out = out_new(fp, OUT_CSV);
	out_columns(out, ARRAY_SIZE(cols), cols);
	for (size_t i = 0; i < x->nrows; i++) {
		const struct row *r = &x->rows[i];
		struct out_val v[ARRAY_SIZE(cols)];
		char t[20], id[24];
		const char *ext;
		sqlite3_bind_int64(st, 1, r->cid);
		ext = db_row(st) ? (const char *)sqlite3_column_text(st, 0) : NULL;
		if (!ext) {
			snprintf(id, sizeof(id), "#%lld", (long long)r->cid);
			ext = id;
		}
		norm_fmt_time(r->t, t);
		v[0] = (struct out_val){ .t = OUT_TEXT, .s = x->o->campaigns[r->camp],
					 .len = strlen(x->o->campaigns[r->camp]) };
		v[1] = (struct out_val){ .t = OUT_TEXT, .s = ext, .len = strlen(ext) };
		v[2] = (struct out_val){ .t = OUT_TEXT, .s = r->treat ? "treatment" : "control",
					 .len = r->treat ? 9 : 7 };
		v[3] = (struct out_val){ .t = OUT_TEXT, .s = t, .len = strlen(t) };
		v[4] = (struct out_val){ .t = OUT_INT, .i = r->fold + 1 };
		v[5] = (struct out_val){ .t = OUT_REAL, .d = r->y };
		v[6] = (struct out_val){ .t = OUT_REAL, .d = s[i] };
		out_row(out, v);
		sqlite3_reset(st);
	}
	out_finish(out);
	sqlite3_finalize(st);
	rc = ferror(fp) | fclose(fp);
	if (rc) {
		crm_error("cannot write %s", x->o->rows);
		return -1;
	}
	return 0;
}

static char *json_names(const struct uplift_opts *o)
{
	cJSON *a = cJSON_CreateArray();
	char *s;

	for (size_t i = 0; i < o->ncampaigns; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(o->campaigns[i]));
	s = cJSON_PrintUnformatted(a);
	cJSON_Delete(a);
	return s;
}

static char *json_features(const struct ctx *x, const struct model *M)
{
	cJSON *a = cJSON_CreateArray(), *o;
	size_t p = 0;
	char *s;

	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", "(intercept)");
	cJSON_AddNumberToObject(o, "coef1", M->b1[0]);
	if (M->method == UPLIFT_TLEARNER)
		cJSON_AddNumberToObject(o, "coef0", M->b0[0]);
	cJSON_AddItemToArray(a, o);
	for (size_t j = 0; j < x->ncols; j++) {
		if (!x->cols[j].keep)
			continue;
		p++;
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", x->cols[j].name);
		cJSON_AddNumberToObject(o, "mean", x->cols[j].mean);
		cJSON_AddNumberToObject(o, "sd", x->cols[j].sd);
		cJSON_AddNumberToObject(o, "coef1", M->b1[p]);
		if (M->method == UPLIFT_TLEARNER)
			cJSON_AddNumberToObject(o, "coef0", M->b0[p]);
		cJSON_AddItemToArray(a, o);
	}
	s = cJSON_PrintUnformatted(a);
	cJSON_Delete(a);
	return s;
}

/* f (all columns) standardised into z (kept columns) */
static void standardise(const struct ctx *x, const double *f, double *z)
{
	size_t p = 0;

	for (size_t j = 0; j < x->ncols; j++)
		if (x->cols[j].keep)
			z[p++] = (f[j] - x->cols[j].mean) / x->cols[j].sd;
}

static void ctx_free(struct ctx *x)
{
	series_free(&x->ord);
	series_free(&x->ev);
	series_free(&x->msg);
	series_free(&x->con);
	for (size_t i = 0; i < x->nattrs; i++) {
		free(x->attrs[i].key);
		for (size_t l = 0; l < x->attrs[i].nlevels; l++)
			free(x->attrs[i].level[l]);
	}
	free(x->av);
	free(x->sv);
	free(x->cols);
	free(x->rows);
	free(x->camp_id);
	free(x->camp_p);
	rates_free(&x->rx);
}

int uplift_run(struct crm *crm, const struct uplift_opts *o)
{
	struct ctx x = { .crm = crm, .o = o };
	sqlite3 *db = crm->db;
	struct design D = { 0 };
	uint64_t immature = 0, other_cur = 0, nt = 0, nc = 0, ncust = 0, neg = 0;
	double yt = 0, yc = 0, best_q = -INFINITY, *s = NULL, *best_s = NULL;
	static const double lambdas[] = { 1, 100 };
	struct { enum uplift_method m; double lambda, q; } cand[4];
	size_t ncand = 0, best = 0, nf;
	struct model M = { 0 };
	struct out *out;
	int rc = 1;
	char now[20], *deciles = NULL, *curve = NULL;

	norm_fmt_time(crm->now, now);
	db_begin(db); /* one snapshot of everything read */
	x.maxid = max_customer(db);
	load_series(&x, &x.ord, "SELECT customer_id, CAST(strftime('%s', ordered_at) AS INTEGER),"
		    " amount, currency FROM orders o WHERE " DB_PURCHASE("o")
		    " ORDER BY customer_id, ordered_at, id", 1);
	load_series(&x, &x.ev, "SELECT customer_id, CAST(strftime('%s', occurred_at) AS INTEGER), 0,"
		    " type FROM events WHERE type IN ('opened', 'clicked') AND machine IS NULL"
		    " AND customer_id IS NOT NULL ORDER BY customer_id, occurred_at", 0);
	load_series(&x, &x.msg, "SELECT customer_id, CAST(strftime('%s', sent_at) AS INTEGER), 0, NULL"
		    " FROM messages WHERE status = 'sent' AND sent_at IS NOT NULL"
		    " ORDER BY customer_id, sent_at", 0);
	load_series(&x, &x.con, "SELECT customer_id, CAST(strftime('%s', recorded_at) AS INTEGER),"
		    " granted, NULL FROM consents WHERE channel = 'email'"
		    " ORDER BY customer_id, recorded_at, id", 0);
	if (load_rows(&x, &immature, &other_cur) < 0) {
		db_rollback(db);
		ctx_free(&x);
		return 1;
	}
	if (immature)
		crm_note("%" PRIu64 " rows whose %" PRId64 "-day window has not ended by %s left out",
			 immature, o->window / 86400, now);
	for (size_t i = 0; i < x.nrows; i++) {
		if (x.rows[i].treat)
			nt++, yt += x.rows[i].y;
		else
			nc++, yc += x.rows[i].y;
	}
	/* the refusal rule: too few rows or outcomes in a group to learn */
	{
		const char *what = o->outcome == UPLIFT_CONVERTED ? "conversions" : "buyers";
		uint64_t bt = 0, bc = 0;
		for (size_t i = 0; i < x.nrows; i++)
			if (x.rows[i].y > 0)
				x.rows[i].treat ? bt++ : bc++;
		if (nt < (uint64_t)o->min_group || nc < (uint64_t)o->min_group ||
		    bt < (uint64_t)o->min_events || bc < (uint64_t)o->min_events) {
			crm_error("too few rows to learn who responds: the treatment group has %" PRIu64
				  " recipients and %" PRIu64 " %s, the control group %" PRIu64 " and %"
				  PRIu64 "; at least %d recipients and %d %s in each group are needed "
				  "(more --campaign, or larger control groups with crm-send --control); "
				  "nothing written", nt, bt, what, nc, bc, o->min_group, o->min_events,
				  what);
			db_rollback(db);
			ctx_free(&x);
			return 1;
		}
	}
	if (other_cur)
		crm_note("%" PRIu64 " purchases in the windows in currencies other than %s left out"
			 " of revenue", other_cur, x.cur[x.ycur]);
	load_attrs(&x);
	load_scores(&x);
	feature_names(&x);
	nf = x.ncols;
	/* the design: features of each row at its time, standardised */
	{
		double *F = xcalloc(x.nrows * nf, sizeof(double));
		size_t d = 0;
		for (size_t i = 0; i < x.nrows; i++)
			features(&x, x.rows[i].cid, x.rows[i].t, F + i * nf);
		for (size_t j = 0; j < nf; j++) {
			double m = 0, v = 0;
			for (size_t i = 0; i < x.nrows; i++)
				m += F[i * nf + j];
			m /= (double)x.nrows;
			for (size_t i = 0; i < x.nrows; i++)
				v += (F[i * nf + j] - m) * (F[i * nf + j] - m);
			v = sqrt(v / (double)x.nrows);
			x.cols[j].mean = m;
			x.cols[j].sd = v;
			x.cols[j].keep = v > 1e-9;
			d += x.cols[j].keep;
		}
		D.d = d;
		D.X = xcalloc(x.nrows * (d ? d : 1), sizeof(double));
		for (size_t i = 0; i < x.nrows; i++)
			standardise(&x, F + i * nf, D.X + i * d);
		free(F);
	}
	D.y = xcalloc(x.nrows, sizeof(double));
	D.yz = xcalloc(x.nrows, sizeof(double));
	D.wz = xcalloc(x.nrows, sizeof(double));
	D.t = xcalloc(x.nrows, 1);
	for (size_t i = 0; i < x.nrows; i++) {
		const struct row *r = &x.rows[i];
		double p = r->p;
		D.y[i] = r->y;
		D.t[i] = r->treat;
		if (o->outcome == UPLIFT_CONVERTED) {
			D.yz[i] = r->treat ? r->y : 1 - r->y;
			D.wz[i] = r->treat ? 0.5 / p : 0.5 / (1 - p);
		} else {
			D.yz[i] = r->y * ((double)r->treat - p) / (p * (1 - p));
		}
	}
	/* the candidates, cross-validated */
	s = xcalloc(x.nrows, sizeof(double));
	best_s = xcalloc(x.nrows, sizeof(double));
	for (int mi = 0; mi < 2; mi++) {
		enum uplift_method m = mi ? UPLIFT_CT : UPLIFT_TLEARNER;
		if (o->method != UPLIFT_AUTO && o->method != m)
			continue;
		for (size_t li = 0; li < ARRAY_SIZE(lambdas); li++) {
			double q = NAN;
			if (cross_validate(&x, &D, m, lambdas[li], s) == 0)
				q = ufit_qini(s, D.y, D.t, NULL, x.nrows);
			cand[ncand].m = m;
			cand[ncand].lambda = lambdas[li];
			cand[ncand].q = q;
			if (isfinite(q) && q > best_q) {
				best_q = q;
				best = ncand;
				memcpy(best_s, s, x.nrows * sizeof(double));
			}
			ncand++;
		}
	}
	if (!isfinite(best_q)) {
		crm_error("no model could be fitted to the rows of %s (every fit failed): nothing "
			  "written", o->campaigns[0]);
		goto out;
	}
	{
		size_t *all = xcalloc(x.nrows, sizeof(size_t));
		for (size_t i = 0; i < x.nrows; i++)
			all[i] = i;
		if (fit(&x, &D, cand[best].m, cand[best].lambda, all, x.nrows, &M) < 0) {
			free(all);
			crm_error("the %s model failed to fit on every row: nothing written",
				  method_name(cand[best].m));
			goto out;
		}
		free(all);
	}
	summaries(&x, best_s, &deciles, &curve);
	if (o->rows && write_rows(&x, best_s) < 0)
		goto out;
	/* every customer, as of now */
	{
		sqlite3_stmt *st = NULL, *ins = NULL;
		int64_t model_id = 0;
		double *f = xcalloc(nf, sizeof(double)), *z = xcalloc(D.d ? D.d : 1, sizeof(double));
		char *camps = json_names(o), *feats = json_features(&x, &M);
		cJSON *cj = cJSON_CreateArray();
		char *cands;

		for (size_t i = 0; i < ncand; i++) {
			cJSON *c = cJSON_CreateObject();
			cJSON_AddStringToObject(c, "method", method_name(cand[i].m));
			cJSON_AddNumberToObject(c, "lambda", cand[i].lambda);
			if (isfinite(cand[i].q))
				cJSON_AddNumberToObject(c, "qini", cand[i].q);
			else
				cJSON_AddNullToObject(c, "qini");
			cJSON_AddItemToArray(cj, c);
		}
		cands = cJSON_PrintUnformatted(cj);
		cJSON_Delete(cj);
		if (!crm->dry_run) {
			st = db_prepare(db, "DELETE FROM uplift_scores WHERE model_id IN"
					" (SELECT id FROM uplift_models WHERE name = ?1)");
			sqlite3_bind_text(st, 1, o->name, -1, SQLITE_STATIC);
			db_step_done(db, st);
			sqlite3_finalize(st);
			st = db_prepare(db, "DELETE FROM uplift_models WHERE name = ?1");
			sqlite3_bind_text(st, 1, o->name, -1, SQLITE_STATIC);
			db_step_done(db, st);
			sqlite3_finalize(st);
			ins = db_prepare(db, "INSERT INTO uplift_scores (model_id, customer_id, uplift)"
					 " VALUES (?1, ?2, ?3)");
			/* the row first, its counts set below */
			st = db_prepare(db, "INSERT INTO uplift_models (name, campaigns, outcome, window,"
					" currency, method, lambda, treated, controls, treated_y, controls_y,"
					" qini, candidates, features, deciles, curve, customers, negative,"
					" fitted_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
					" ?13, ?14, ?15, ?16, 0, 0, ?17)");
			sqlite3_bind_text(st, 1, o->name, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, camps, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 3, o->outcome == UPLIFT_CONVERTED ? "converted" : "revenue",
					  -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 4, o->window);
			if (o->outcome == UPLIFT_REVENUE && x.ncur)
				sqlite3_bind_text(st, 5, x.cur[x.ycur], -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 6, method_name(M.method), -1, SQLITE_STATIC);
			sqlite3_bind_double(st, 7, M.lambda);
			sqlite3_bind_int64(st, 8, (int64_t)nt);
			sqlite3_bind_int64(st, 9, (int64_t)nc);
			sqlite3_bind_double(st, 10, yt);
			sqlite3_bind_double(st, 11, yc);
			sqlite3_bind_double(st, 12, best_q);
			sqlite3_bind_text(st, 13, cands, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 14, feats, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 15, deciles, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 16, curve, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 17, now, -1, SQLITE_STATIC);
			db_step_done(db, st);
			sqlite3_finalize(st);
			model_id = sqlite3_last_insert_rowid(db);
		}
		st = db_prepare(db, "SELECT id FROM customers WHERE erased_at IS NULL ORDER BY id");
		while (db_step_row(db, st)) {
			int64_t c = sqlite3_column_int64(st, 0);
			double u;
			if (c < 1 || c > x.maxid)
				continue;
			features(&x, c, crm->now, f);
			standardise(&x, f, z);
			u = predict(&x, &M, z, D.d);
			ncust++;
			neg += u < 0;
			if (ins) {
				sqlite3_bind_int64(ins, 1, model_id);
				sqlite3_bind_int64(ins, 2, c);
				sqlite3_bind_double(ins, 3, u);
				db_step_done(db, ins);
				sqlite3_reset(ins);
			}
		}
		sqlite3_finalize(st);
		sqlite3_finalize(ins);
		if (!crm->dry_run) {
			st = db_prepare(db, "UPDATE uplift_models SET customers = ?2, negative = ?3"
					" WHERE id = ?1");
			sqlite3_bind_int64(st, 1, model_id);
			sqlite3_bind_int64(st, 2, (int64_t)ncust);
			sqlite3_bind_int64(st, 3, (int64_t)neg);
			db_step_done(db, st);
			sqlite3_finalize(st);
			db_commit(db);
		} else {
			db_rollback(db);
		}
		free(f);
		free(z);
		free(camps);
		free(feats);
		free(cands);
	}
	/* what was learnt: one row per candidate */
	out = out_new(stdout, crm->format);
	{
		static const char *const cols[] = {
			"model", "method", "lambda", "qini", "random", "chosen", "treated", "controls",
			"treated_rate", "control_rate", "uplift", "customers", "negative_share",
		};
		out_columns(out, ARRAY_SIZE(cols), cols);
		for (const char *const *c = (const char *const[]){ "treated", "controls", "customers", NULL }; *c; c++)
			out_column_kind(out, *c, OUT_KIND_COUNT, NULL);
		out_column_kind(out, "negative_share", OUT_KIND_RATE, NULL);
		for (const char *const *c = (const char *const[]){ "treated_rate", "control_rate", "uplift", NULL }; *c; c++)
			out_column_kind(out, *c, o->outcome == UPLIFT_REVENUE ? OUT_KIND_MONEY : OUT_KIND_RATE,
					o->outcome == UPLIFT_REVENUE && x.ncur ? x.cur[x.ycur] : NULL);
		for (size_t i = 0; i < ncand; i++) {
			struct out_val v[ARRAY_SIZE(cols)] = { { 0 } };
			v[0] = (struct out_val){ .t = OUT_TEXT, .s = o->name, .len = strlen(o->name) };
			v[1] = (struct out_val){ .t = OUT_TEXT, .s = method_name(cand[i].m),
						 .len = strlen(method_name(cand[i].m)) };
			v[2] = (struct out_val){ .t = OUT_REAL, .d = cand[i].lambda };
			v[3] = isfinite(cand[i].q) ? (struct out_val){ .t = OUT_REAL, .d = round(cand[i].q * 1e6) / 1e6 }
						   : (struct out_val){ .t = OUT_NULL };
			v[4] = (struct out_val){ .t = OUT_REAL, .d = 0 };
			v[5] = (struct out_val){ .t = OUT_TEXT, .s = i == best ? "yes" : "",
						 .len = i == best ? 3 : 0 };
			v[6] = (struct out_val){ .t = OUT_INT, .i = (int64_t)nt };
			v[7] = (struct out_val){ .t = OUT_INT, .i = (int64_t)nc };
			v[8] = (struct out_val){ .t = OUT_REAL, .d = round(yt / (double)nt * 1e6) / 1e6 };
			v[9] = (struct out_val){ .t = OUT_REAL, .d = round(yc / (double)nc * 1e6) / 1e6 };
			v[10] = (struct out_val){ .t = OUT_REAL,
						  .d = round((yt / (double)nt - yc / (double)nc) * 1e6) / 1e6 };
			v[11] = (struct out_val){ .t = OUT_INT, .i = (int64_t)ncust };
			v[12] = (struct out_val){ .t = OUT_REAL,
						  .d = ncust ? round((double)neg / (double)ncust * 1e6) / 1e6 : 0 };
			out_row(out, v);
		}
	}
	out_finish(out);
	if (crm_verbosity >= 1)
		crm_note("uplift model \"%s\": %s (lambda %g), cross-validated Qini %.4f against 0 for "
			 "a random order; %" PRIu64 " customers scored, %.1f%% with a negative "
			 "predicted effect%s", o->name, method_name(M.method), M.lambda, best_q, ncust,
			 ncust ? 100.0 * (double)neg / (double)ncust : 0,
			 crm->dry_run ? "; dry run, nothing written" : "");
	rc = 0;
out:
	if (rc)
		db_rollback(db);
	model_free(&M);
	free(s);
	free(best_s);
	free(deciles);
	free(curve);
	free(D.X);
	free(D.y);
	free(D.yz);
	free(D.wz);
	free(D.t);
	ctx_free(&x);
	return rc;
}
