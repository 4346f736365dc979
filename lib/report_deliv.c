/*
 * report_deliv.c - does the e-mail arrive? crm-report deliverability: per
 * campaign, receiving domain and ISO week (--by, one of them or several),
 * the messages sent, delivered, bounced (hard, soft, policy), complained
 * about and unsubscribed from, and their rates against the bulk-sender
 * limits of Google's and Yahoo's sender guidelines (2024): spam complaints
 * under 0.1% of the delivered messages, never 0.3% or more; bounces under
 * 2% of the sent (in neither guideline: the figure e-mail service
 * providers commonly give).
 *
 * The messages are the outbox's e-mail rows handed over to a server:
 * status sent, or bounced (the server refused the recipient at RCPT).
 * in_doubt rows (the whole message went out, the reply never came, RFC
 * 1047) are counted apart and in no rate: whether a server took them is
 * not known. A row's time is its sent_at; --since and --until keep the
 * rows sent in [since, until), and rows after --now are not seen.
 *
 * What came back is read from the events of the message, linked as the
 * campaign report links them (REPORT_EVENT_OF: the recipient's events
 * that name the message or its campaign), up to --now:
 *   bounced      props.kind hard, soft or policy (no kind: hard, as older
 *                imports and providers that report permanent bounces
 *                only; unknown or any other kind: not a bounce, since the
 *                classifier could not say it was one);
 *   complained, unsubscribed, delivered (a provider's receipt).
 * A row bounced at send time is a bounce even without an event, its kind
 * from the RFC 3463 status of the SMTP reply in messages.reason (as the
 * classifier decides it: 5.1.x and 5.2.1 hard, 5.7.x, 5.1.7 and 5.1.8
 * policy, 4.x.x, 5.2.2 and 5.3 to 5.6 soft), hard when there is none.
 *
 * Each message counts once per column: bounced hard when any of its
 * bounces is hard, else policy when any is policy, else soft. Delivered
 * is sent minus bounced. Bounce rates are over sent; the complaint and
 * unsubscribe rates over delivered (Gmail's spam rate is over the mail
 * delivered to its users).
 */
#include "report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounce.h"
#include "bounce_int.h" /* bounce_find_status: the classifier's reading of a reply */
#include "db.h"
#include "diag.h"
#include "norm.h"
#include "util.h"

/* what came back for a message, as the query's bit set */
enum { DV_HARD = 1, DV_SOFT = 2, DV_POLICY = 4, DV_COMPLAINED = 8, DV_UNSUB = 16,
       DV_RECEIPT = 32 };

/* a line of the report: its keys and counts */
struct dgroup {
	int key[3];          /* per --by key: index into its value table (-1: none) */
	int64_t sent, hard, soft, policy, complained, unsub, receipts, in_doubt;
};

/* An index of entries 0..n-1 by their 64-bit hashes (open addressing,
 * linear probing, at most half full). */
struct dindex {
	int *slot;           /* nslot slots, -1 empty */
	size_t nslot;
	uint64_t *h;         /* per entry: its hash */
	size_t caph;
};

static uint64_t fnv(const void *p, size_t n)
{
	const unsigned char *c = p;
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= c[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* The first slot to probe for hash h in an index of n entries (grown
 * first when one more would make it more than half full). */
static size_t index_start(struct dindex *x, size_t n, uint64_t h)
{
	if ((n + 1) * 2 > x->nslot) {
		free(x->slot);
		x->nslot = x->nslot ? x->nslot * 2 : 64;
		x->slot = xcalloc(x->nslot, sizeof(int));
		for (size_t i = 0; i < x->nslot; i++)
			x->slot[i] = -1;
		for (size_t j = 0; j < n; j++) {
			size_t s = x->h[j] % x->nslot;
			while (x->slot[s] >= 0)
				s = (s + 1) % x->nslot;
			x->slot[s] = (int)j;
		}
	}
	return h % x->nslot;
}

/* Puts entry n, of hash h, in the empty slot s where a probe ended. */
static void index_put(struct dindex *x, size_t s, size_t n, uint64_t h)
{
	x->h = xgrow(x->h, sizeof(*x->h), n + 1, &x->caph);
	x->h[n] = h;
	x->slot[s] = (int)n;
}

static void index_free(struct dindex *x)
{
	free(x->slot);
	free(x->h);
}

/* the values of one key (campaign names, domains, weeks), interned */
struct dkeys {
	char **name;
	int64_t *sent;       /* per value: messages sent (the domains' order) */
	int64_t *order;      /* per value: campaigns' creation order */
	size_t n, cap;
	struct dindex x;
};

static int keys_intern(struct dkeys *k, const char *s, size_t len)
{
	uint64_t h = fnv(s, len);
	size_t i = index_start(&k->x, k->n, h);
	int j;

	for (; (j = k->x.slot[i]) >= 0; i = (i + 1) % k->x.nslot)
		if (k->x.h[j] == h && strlen(k->name[j]) == len && !memcmp(k->name[j], s, len))
			return j;
	if (k->n == k->cap) {
		size_t cap = k->cap;
		k->name = xgrow(k->name, sizeof(char *), k->n + 1, &cap);
		k->sent = xrealloc(k->sent, cap * sizeof(int64_t));
		k->order = xrealloc(k->order, cap * sizeof(int64_t));
		k->cap = cap;
	}
	k->name[k->n] = xcalloc(1, len + 1);
	memcpy(k->name[k->n], s, len);
	k->sent[k->n] = 0;
	k->order[k->n] = 0;
	index_put(&k->x, i, k->n, h);
	return (int)k->n++;
}

static void keys_free(struct dkeys *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->name[i]);
	free(k->name);
	free(k->sent);
	free(k->order);
	index_free(&k->x);
}

/* the groups, found by their keys */
struct dtab {
	struct dgroup *g;
	size_t n, cap;
	struct dindex x;
};

static struct dgroup *group_at(struct dtab *t, const int key[3])
{
	uint64_t h = fnv(key, 3 * sizeof(int));
	size_t i = index_start(&t->x, t->n, h);
	int j;

	for (; (j = t->x.slot[i]) >= 0; i = (i + 1) % t->x.nslot)
		if (t->x.h[j] == h && !memcmp(t->g[j].key, key, 3 * sizeof(int)))
			return &t->g[j];
	t->g = xgrow(t->g, sizeof(*t->g), t->n + 1, &t->cap);
	memset(&t->g[t->n], 0, sizeof(*t->g));
	memcpy(t->g[t->n].key, key, 3 * sizeof(int));
	index_put(&t->x, i, t->n, h);
	return &t->g[t->n++];
}

int report_deliv_by(const char *spec, int by[3])
{
	static const char *const names[] = { "campaign", "domain", "week" };
	int n = 0;
	const char *p = spec;

	for (;;) {
		size_t len = strcspn(p, ",");
		int k = 0;

		for (int i = 0; i < 3; i++)
			if (len == strlen(names[i]) && !memcmp(p, names[i], len))
				k = i + 1;
		if (!k || n == 3)
			return -1;
		for (int i = 0; i < n; i++)
			if (by[i] == k)
				return -1;
		by[n++] = k;
		if (!p[len])
			return n;
		p += len + 1;
	}
}

/* "2026-W40": the ISO 8601 week of epoch time t (weeks from Monday; week
 * 1 is the one with the year's first Thursday). */
static void iso_week(int64_t t, char buf[16])
{
	int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
	int64_t wd = ((days + 3) % 7 + 7) % 7; /* 1970-01-01 was a Thursday: 0 Monday */
	int64_t thu = days - wd + 3;
	int y, m, d;

	norm_civil_from_days(thu, &y, &m, &d);
	snprintf(buf, 16, "%04d-W%02d", y,
		 (int)((thu - norm_days_from_civil(y, 1, 1)) / 7 + 1));
}

/* The kind of a send-time refusal from its SMTP reply (messages.reason). */
static int reply_kind(const char *reason)
{
	char st[16];

	if (reason && bounce_find_status(reason, strlen(reason), st) >= 0)
		switch (bounce_status_kind(st)) {
		case BOUNCE_SOFT:
			return DV_SOFT;
		case BOUNCE_POLICY:
			return DV_POLICY;
		default:
			break;
		}
	return DV_HARD;
}

/* Reads the messages into groups keyed by --by (the key tables in k). */
static int scan(struct report *r, const int *by, size_t nby, struct dkeys *k, struct dtab *t)
{
	sqlite3 *db = r->crm->db;
	const struct report_opts *o = r->o;
	struct sb sql = SB_INIT;
	sqlite3_stmt *st;
	char f[128], now[20];
	int rc;

	norm_fmt_time(r->crm->now, now);
	sb_addf(&sql,
		"SELECT c.name, c.created_at, m.address, coalesce(m.sent_at, m.updated_at) AS t,"
		" m.status, m.reason,"
		" (SELECT sum(DISTINCT CASE e.type"
		"   WHEN 'bounced' THEN CASE lower(coalesce(json_extract(e.props, '$.kind'), 'hard'))"
		"    WHEN 'hard' THEN %d WHEN 'soft' THEN %d WHEN 'policy' THEN %d ELSE 0 END"
		"   WHEN 'complained' THEN %d WHEN 'unsubscribed' THEN %d WHEN 'delivered' THEN %d END)"
		"  FROM events e WHERE " REPORT_EVENT_OF("m", "c.name")
		"   AND e.type IN ('bounced', 'complained', 'unsubscribed', 'delivered')"
		"   AND e.occurred_at <= ?1)"
		" FROM messages m JOIN campaigns c ON c.id = m.campaign_id"
		" WHERE m.channel = 'email' AND m.status IN ('sent', 'bounced', 'in_doubt')"
		"  AND t <= ?1%s%s%s%s",
		DV_HARD, DV_SOFT, DV_POLICY, DV_COMPLAINED, DV_UNSUB, DV_RECEIPT,
		o->since ? " AND t >= ?2" : "", o->until ? " AND t < ?3" : "",
		o->campaign ? " AND c.name = ?4" : "",
		report_filter(r, "m.customer_id", f, sizeof(f)));
	st = db_prepare(db, sql.buf);
	sb_free(&sql);
	sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
	if (o->since)
		sqlite3_bind_text(st, 2, o->since, -1, SQLITE_STATIC);
	if (o->until)
		sqlite3_bind_text(st, 3, o->until, -1, SQLITE_STATIC);
	if (o->campaign)
		sqlite3_bind_text(st, 4, o->campaign, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *camp = (const char *)sqlite3_column_text(st, 0);
		const char *created = (const char *)sqlite3_column_text(st, 1);
		const char *addr = (const char *)sqlite3_column_text(st, 2);
		const char *ts = (const char *)sqlite3_column_text(st, 3);
		const char *status = (const char *)sqlite3_column_text(st, 4);
		int ev = sqlite3_column_int(st, 6);
		int key[3] = { -1, -1, -1 }, doubt = !strcmp(status, "in_doubt");
		char dom[256], week[16];
		struct dgroup *g;

		if (!strcmp(status, "bounced"))
			ev |= reply_kind((const char *)sqlite3_column_text(st, 5));
		for (size_t i = 0; i < nby; i++) {
			struct dkeys *kk = &k[by[i] - 1];
			int j;

			if (by[i] == REPORT_BY_CAMPAIGN) {
				j = keys_intern(kk, camp, strlen(camp));
				/* campaigns oldest first: created_at, seconds */
				kk->order[j] = report_time(created);
			} else if (by[i] == REPORT_BY_DOMAIN) {
				const char *at = addr ? strrchr(addr, '@') : NULL;
				size_t n = 0;
				if (at && at[1])
					for (at++; *at && n < sizeof(dom) - 1; at++)
						dom[n++] = (char)ascii_lower((unsigned char)*at);
				else
					n = (size_t)snprintf(dom, sizeof(dom), "(none)");
				dom[n] = 0;
				j = keys_intern(kk, dom, n);
			} else {
				int64_t tt = report_time(ts);
				if (tt >= 0)
					iso_week(tt, week);
				else
					snprintf(week, sizeof(week), "(none)");
				j = keys_intern(kk, week, strlen(week));
			}
			if (!doubt)
				kk->sent[j]++;
			key[i] = j;
		}
		g = group_at(t, key);
		if (doubt) {
			g->in_doubt++;
			continue;
		}
		g->sent++;
		if (ev & DV_HARD)
			g->hard++;
		else if (ev & DV_POLICY)
			g->policy++;
		else if (ev & DV_SOFT)
			g->soft++;
		g->complained += !!(ev & DV_COMPLAINED);
		g->unsub += !!(ev & DV_UNSUB);
		g->receipts += !!(ev & DV_RECEIPT);
	}
	if (rc != SQLITE_DONE)
		db_die(db, NULL);
	sqlite3_finalize(st);
	return 0;
}

/* the order of the lines: per key, campaigns oldest first, domains by
 * messages sent (most first, then by name; "(other)" last), weeks in
 * time order */
static size_t sort_nby;
static int *sort_rank[3];

static int cmp_group(const void *a, const void *b)
{
	const struct dgroup *x = a, *y = b;

	for (size_t i = 0; i < sort_nby; i++) {
		int rx = sort_rank[i][x->key[i]], ry = sort_rank[i][y->key[i]];
		if (rx != ry)
			return rx < ry ? -1 : 1;
	}
	return 0;
}

static const struct dkeys *rank_keys;
static int rank_kind;

static int cmp_value(const void *a, const void *b)
{
	int i = *(const int *)a, j = *(const int *)b;
	const struct dkeys *k = rank_keys;

	if (rank_kind == REPORT_BY_CAMPAIGN && k->order[i] != k->order[j])
		return k->order[i] < k->order[j] ? -1 : 1;
	if (rank_kind == REPORT_BY_DOMAIN) {
		int oi = !strcmp(k->name[i], "(other)"), oj = !strcmp(k->name[j], "(other)");
		if (oi != oj)
			return oi - oj;
		if (k->sent[i] != k->sent[j])
			return k->sent[i] > k->sent[j] ? -1 : 1;
	}
	return strcmp(k->name[i], k->name[j]);
}

/* rank[value] = its place in the order of kind's values */
static int *rank_values(const struct dkeys *k, int kind)
{
	int *idx = xcalloc(k->n + 1, sizeof(int)), *rank = xcalloc(k->n + 1, sizeof(int));

	for (size_t i = 0; i < k->n; i++)
		idx[i] = (int)i;
	rank_keys = k;
	rank_kind = kind;
	qsort(idx, k->n, sizeof(int), cmp_value);
	for (size_t i = 0; i < k->n; i++)
		rank[idx[i]] = (int)i;
	free(idx);
	return rank;
}

/* --top N: the domains past the N with most messages sent become one,
 * "(other)"; the groups are merged accordingly. */
static void top_domains(struct dkeys *dk, struct dtab *t, size_t di, long top)
{
	int *rank, other, *map;
	struct dtab merged = { 0 };

	if (top <= 0 || dk->n <= (size_t)top)
		return;
	rank = rank_values(dk, REPORT_BY_DOMAIN);
	other = keys_intern(dk, "(other)", 7);
	map = xcalloc(dk->n, sizeof(int));
	for (int j = 0; j < other; j++) {
		map[j] = rank[j] < top ? j : other;
		if (map[j] == other)
			dk->sent[other] += dk->sent[j];
	}
	map[other] = other;
	for (size_t i = 0; i < t->n; i++) {
		struct dgroup *a = &t->g[i], *m;
		int key[3];

		memcpy(key, a->key, sizeof(key));
		key[di] = map[key[di]];
		m = group_at(&merged, key);
		m->sent += a->sent;
		m->hard += a->hard;
		m->soft += a->soft;
		m->policy += a->policy;
		m->complained += a->complained;
		m->unsub += a->unsub;
		m->receipts += a->receipts;
		m->in_doubt += a->in_doubt;
	}
	free(t->g);
	index_free(&t->x);
	*t = merged;
	free(map);
	free(rank);
}

static const char *const metric_cols[] = {
	"sent", "delivered", "receipts", "bounced", "hard_bounced", "soft_bounced",
	"policy_blocked", "complained", "unsubscribed", "in_doubt", "bounce_rate",
	"hard_bounce_rate", "soft_bounce_rate", "policy_block_rate", "complaint_rate",
	"unsubscribe_rate", "level", "warnings",
};

/* what a line is over: its level (0 ok, 1 warn, 2 bad) and the words */
static int judge(const struct dgroup *g, struct sb *why)
{
	int64_t bounced = g->hard + g->soft + g->policy, delivered = g->sent - bounced;
	double cr = report_rate(g->complained, delivered), br = report_rate(bounced, g->sent);
	int level = 0;

	sb_reset(why);
	/* the rates in percent to 4 significant digits, so that 0.2997% is
	 * not shown as the 0.3% it is under */
	if (cr >= REPORT_COMPLAINT_BAD) {
		sb_addf(why, "complaint_rate %.4g%% >= %g%%", cr * 100, REPORT_COMPLAINT_BAD * 100);
		level = 2;
	} else if (cr >= REPORT_COMPLAINT_WARN) {
		sb_addf(why, "complaint_rate %.4g%% >= %g%%", cr * 100, REPORT_COMPLAINT_WARN * 100);
		level = 1;
	}
	if (br >= REPORT_BOUNCE_WARN) {
		sb_addf(why, "%sbounce_rate %.4g%% >= %g%%", why->len ? "; " : "", br * 100,
			REPORT_BOUNCE_WARN * 100);
		if (!level)
			level = 1;
	}
	return level;
}

static void group_row(struct rtab *t, size_t nby, const char *const *keys,
		      const struct dgroup *g, struct sb *why)
{
	static const char *const levels[] = { "ok", "warn", "bad" };
	struct out_val *v = rtab_row(t);
	int64_t bounced = g->hard + g->soft + g->policy, delivered = g->sent - bounced;
	int level = judge(g, why);

	for (size_t i = 0; i < nby; i++)
		rtab_text(t, &v[i], keys[i]);
	v += nby;
	rtab_int(&v[0], g->sent);
	rtab_int(&v[1], delivered);
	rtab_int(&v[2], g->receipts);
	rtab_int(&v[3], bounced);
	rtab_int(&v[4], g->hard);
	rtab_int(&v[5], g->soft);
	rtab_int(&v[6], g->policy);
	rtab_int(&v[7], g->complained);
	rtab_int(&v[8], g->unsub);
	rtab_int(&v[9], g->in_doubt);
	rtab_real(&v[10], report_rate(bounced, g->sent), 6);
	rtab_real(&v[11], report_rate(g->hard, g->sent), 6);
	rtab_real(&v[12], report_rate(g->soft, g->sent), 6);
	rtab_real(&v[13], report_rate(g->policy, g->sent), 6);
	rtab_real(&v[14], report_rate(g->complained, delivered), 6);
	rtab_real(&v[15], report_rate(g->unsub, delivered), 6);
	rtab_text(t, &v[16], levels[level]);
	rtab_text(t, &v[17], why->buf);
}

int report_build_deliverability(struct report *r, struct rtab *t)
{
	static const char *const by_name[] = { NULL, "campaign", "domain", "week" };
	const struct report_opts *o = r->o;
	int defby[1] = { REPORT_BY_CAMPAIGN };
	const int *by = o->ndeliv_by ? o->deliv_by : defby;
	size_t nby = o->ndeliv_by ? o->ndeliv_by : 1, over = 0, bad = 0, named = 0;
	struct dkeys k[3] = { { 0 } };
	struct dtab groups = { 0 };
	const char *cols[3 + ARRAY_SIZE(metric_cols)], *keys[3];
	struct dgroup all = { .key = { -1, -1, -1 } };
	struct sb why = SB_INIT, names = SB_INIT, label = SB_INIT;

	if (o->campaign) {
		sqlite3_stmt *st = db_prepare(r->crm->db, "SELECT 1 FROM campaigns WHERE name = ?1");
		int found;
		sqlite3_bind_text(st, 1, o->campaign, -1, SQLITE_STATIC);
		found = db_row(st);
		sqlite3_finalize(st);
		if (!found) {
			crm_error("no campaign \"%s\" in %s (crm-report campaigns lists them)",
				  o->campaign, r->crm->db_path);
			return 1;
		}
	}
	scan(r, by, nby, k, &groups);
	for (size_t i = 0; i < nby; i++)
		if (by[i] == REPORT_BY_DOMAIN)
			top_domains(&k[REPORT_BY_DOMAIN - 1], &groups, i, o->top);

	for (size_t i = 0; i < nby; i++) {
		cols[i] = by_name[by[i]];
		sort_rank[i] = rank_values(&k[by[i] - 1], by[i]);
	}
	for (size_t i = 0; i < ARRAY_SIZE(metric_cols); i++)
		cols[nby + i] = metric_cols[i];
	sort_nby = nby;
	if (groups.n)
		qsort(groups.g, groups.n, sizeof(*groups.g), cmp_group);

	rtab_init(t, nby + ARRAY_SIZE(metric_cols), cols);
	for (size_t j = 0; j < groups.n; j++) {
		const struct dgroup *g = &groups.g[j];
		int level;

		for (size_t i = 0; i < nby; i++)
			keys[i] = k[by[i] - 1].name[g->key[i]];
		group_row(t, nby, keys, g, &why);
		all.sent += g->sent;
		all.hard += g->hard;
		all.soft += g->soft;
		all.policy += g->policy;
		all.complained += g->complained;
		all.unsub += g->unsub;
		all.receipts += g->receipts;
		all.in_doubt += g->in_doubt;
		if ((level = judge(g, &why))) {
			over++;
			bad += level == 2;
			if (named++ < 5) {
				sb_reset(&label);
				for (size_t i = 0; i < nby; i++)
					sb_addf(&label, "%s%s", i ? " " : "", keys[i]);
				sb_addf(&names, "%s\"%s\" (%s)", names.len ? ", " : "", label.buf, why.buf);
			}
		}
	}
	if (groups.n) {
		keys[0] = "(all)";
		for (size_t i = 1; i < nby; i++)
			keys[i] = NULL;
		group_row(t, nby, keys, &all, &why);
	}
	if (over)
		crm_warn("deliverability: %zu of %zu %s%s at or over the bulk-sender limits of Gmail "
			 "and Yahoo (spam complaints 0.1%%, bad from 0.3%%; bounces 2%%), %zu bad: %s%s",
			 over, groups.n, nby == 1 ? by_name[by[0]] : "line", groups.n == 1 ? "" : "s",
			 bad, names.buf, named > 5 ? ", ..." : "");

	for (size_t i = 0; i < nby; i++)
		free(sort_rank[i]);
	for (size_t i = 0; i < 3; i++)
		keys_free(&k[i]);
	free(groups.g);
	index_free(&groups.x);
	sb_free(&why);
	sb_free(&names);
	sb_free(&label);
	return 0;
}

int report_deliverability(struct report *r)
{
	struct rtab t;
	int rc = report_build_deliverability(r, &t);

	if (rc)
		return rc;
	RTAB_KIND(&t, OUT_KIND_COUNT, NULL, "sent", "delivered", "receipts", "bounced",
		  "hard_bounced", "soft_bounced", "policy_blocked", "complained", "unsubscribed",
		  "in_doubt");
	RTAB_KIND(&t, OUT_KIND_RATE, NULL, "bounce_rate", "hard_bounce_rate", "soft_bounce_rate",
		  "policy_block_rate", "complaint_rate", "unsubscribe_rate");
	rtab_emit(r, &t);
	return rc;
}
