/*
 * report_campaign.c - did a campaign pay off? crm-report campaign NAME and
 * campaigns.
 *
 * The outbox (messages) has one row per campaign and customer. The rows
 * compared are those that passed crm-send's policy checks, in both groups
 * alike: treatment rows that were sent or tried (sent, bounced, failed,
 * in_doubt) and control rows (held out). Suppressed rows (consent,
 * unsubscribes, caps ...) are counted apart, and rows not yet decided
 * (planned, transmitting, deferred) as pending.
 *
 * A row's time is its sent_at: when the message was handed over or tried,
 * and for a control row when crm-send held it out (it records that time
 * in sent_at, as in updated_at). A recipient converted when they placed a
 * completed order after that time and at most the window (--window, 7
 * days) later, and not after --now (as crm-segment's converted()):
 * post-click when they had clicked the message before such an order,
 * post-view otherwise. With
 * --attribution click only orders within the window after a click count;
 * the control group cannot click, so the comparison is then unavailable.
 *
 * Engagement comes from events (crm-import events, crm-track) of the
 * recipient that name the message (message_id) or the campaign
 * (campaign). Opens and clicks are a person's (events.machine IS NULL);
 * a recipient whose only opens (clicks) were a machine's (a privacy
 * proxy, a link scanner) is counted apart, and a machine's click makes
 * no conversion post-click. The rates are over delivered when delivered
 * events came back for the group, else over sent. --links: the click
 * map, one row per group and link number (props.link of the clicked
 * events).
 *
 * Treatment against control: the two-proportion z-test for the conversion
 * rate and Welch's t-test for revenue per recipient (see report_stats.c),
 * incremental conversions and revenue = difference times the treatment
 * recipients, and the minimum detectable effect of the group sizes.
 *
 * With --bootstrap N, revenue per recipient also gets a percentile
 * bootstrap interval: measure() keeps each recipient's revenue (only the
 * non-zero amounts, per currency); bootstrap() resamples the control
 * group and each variant N times from its own random stream (--seed and
 * the group's name) and keeps the N resample sums; the treatment as a
 * whole adds up its variants' sums of the same resample (a stratified
 * bootstrap: each variant keeps the size the split gave it). The values
 * of a group are sorted before resampling, so the interval depends on
 * the revenues, not on the order SQLite returns the rows in.
 */
#include "report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "diag.h"
#include "norm.h"
#include "util.h"

#define NCUR 32 /* as report.c's scan: currencies interned by report_currency_index */

enum { EV_DELIVERED = 1, EV_OPENED = 2, EV_CLICKED = 4, EV_BOUNCED = 8,
       EV_UNSUB = 16, EV_COMPLAINED = 32, EV_OPENED_M = 64, EV_CLICKED_M = 128 };

struct grp {
	char name[80];
	int control;
	int64_t rows, recipients, sent, delivered, bounced, opened, clicked, unsub,
		complained, suppressed, pending, converted, post_click, post_view;
	int64_t opened_m, clicked_m; /* recipients whose opens (clicks) were all machines' */
	int64_t orders[NCUR];
	double s[NCUR], ss[NCUR]; /* revenue per recipient: sum, sum of squares */
	struct rrev *rev;         /* --bootstrap: the recipients' non-zero revenues */
	size_t nrev, caprev;
	double *bsum;             /* --bootstrap: the sum of each resample */
	/* promo codes: recipients sent one, those whose code was redeemed,
	 * and the purchases with their codes (up to now, any time after) */
	int64_t codes, redeemed, red_orders[NCUR];
	double red_rev[NCUR];
};

/* One recipient's revenue in one currency. */
struct rrev {
	int cur;
	double x;
};

struct camp {
	int64_t id;
	char *name, *channel, *created;
	struct grp *g;            /* g[0] the control group, then the variants */
	size_t ng;
	struct grp total;         /* every treatment variant */
	const char *cur;          /* the currency of revenue */
	int ci;                   /* its index */
	int64_t other_orders;     /* orders in window in other currencies */
};

static struct grp *group_of(struct camp *c, int control, const char *variant)
{
	char name[80];

	if (control)
		return &c->g[0];
	if (variant && *variant)
		snprintf(name, sizeof(name), "treatment:%s", variant);
	else
		snprintf(name, sizeof(name), "treatment");
	for (size_t i = 1; i < c->ng; i++)
		if (!strcmp(c->g[i].name, name))
			return &c->g[i];
	c->g = xrealloc(c->g, (c->ng + 1) * sizeof(*c->g));
	memset(&c->g[c->ng], 0, sizeof(*c->g));
	snprintf(c->g[c->ng].name, sizeof(c->g[c->ng].name), "%s", name);
	return &c->g[c->ng++];
}

static void camp_free(struct camp *c)
{
	for (size_t i = 0; i < c->ng; i++) {
		free(c->g[i].rev);
		free(c->g[i].bsum);
	}
	free(c->total.bsum);
	free(c->name);
	free(c->channel);
	free(c->created);
	free(c->g);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct grp *)a)->name, ((const struct grp *)b)->name);
}

/* Reads the outcome of every row of campaign c. */
static void measure(struct report *r, struct camp *c)
{
	sqlite3 *db = r->crm->db;
	struct sb sql = SB_INIT;
	sqlite3_stmt *st, *ost, *rst;
	char f[128], now[20], t1[20], t2[20];
	int64_t nowt = r->crm->now, w = r->o->window;
	int rc;

	c->g = xcalloc(1, sizeof(*c->g));
	c->ng = 1;
	snprintf(c->g[0].name, sizeof(c->g[0].name), "control");
	c->g[0].control = 1;
	norm_fmt_time(nowt, now);
	sb_addf(&sql,
		"SELECT m.grp, m.variant, m.status, coalesce(m.sent_at, m.updated_at),"
		" m.customer_id,"
		" (SELECT sum(DISTINCT CASE e.type WHEN 'delivered' THEN 1"
		"   WHEN 'opened' THEN CASE WHEN e.machine IS NULL THEN 2 ELSE 64 END"
		"   WHEN 'clicked' THEN CASE WHEN e.machine IS NULL THEN 4 ELSE 128 END"
		"   WHEN 'bounced' THEN 8 WHEN 'unsubscribed' THEN 16"
		"   WHEN 'complained' THEN 32 END) FROM events e"
		"  WHERE " REPORT_EVENT_OF("m", "?3") " AND e.type IN ('delivered', 'opened',"
		"   'clicked', 'bounced', 'unsubscribed', 'complained') AND e.occurred_at <= ?2),"
		" (SELECT min(e.occurred_at) FROM events e"
		"  WHERE " REPORT_EVENT_OF("m", "?3") " AND e.type = 'clicked' AND e.occurred_at <= ?2"
		"   AND e.machine IS NULL),"
		" (SELECT k.id FROM coupons k WHERE k.message_id = m.id)"
		" FROM messages m WHERE m.campaign_id = ?1%s",
		report_filter(r, "m.customer_id", f, sizeof(f)));
	st = db_prepare(db, sql.buf);
	sqlite3_bind_int64(st, 1, c->id);
	sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, c->name, -1, SQLITE_STATIC);
	ost = db_prepare(db, "SELECT o.ordered_at, o.amount, o.currency FROM orders o"
			 " WHERE o.customer_id = ?1 AND o.ordered_at >= ?2 AND o.ordered_at <= ?3"
			 " AND " DB_PURCHASE("o") " ORDER BY o.ordered_at");
	rst = db_prepare(db, "SELECT o.amount, o.currency FROM coupon_redemptions r"
			 " JOIN orders o ON o.id = r.order_id WHERE r.coupon_id = ?1"
			 " AND o.ordered_at <= ?2 AND " DB_PURCHASE("o"));

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *grp = (const char *)sqlite3_column_text(st, 0);
		const char *variant = (const char *)sqlite3_column_text(st, 1);
		const char *status = (const char *)sqlite3_column_text(st, 2);
		const char *t0s = (const char *)sqlite3_column_text(st, 3);
		int ev = sqlite3_column_int(st, 5);
		const char *clicks = (const char *)sqlite3_column_text(st, 6);
		int control = grp && !strcmp(grp, "control");
		struct grp *g = group_of(c, control, variant);
		int64_t t0 = report_time(t0s), ct = clicks ? report_time(clicks) : -1;
		int64_t vend, cend, end;
		double vrev[NCUR] = { 0 }, crev[NCUR] = { 0 };
		int64_t vord[NCUR] = { 0 }, cord[NCUR] = { 0 };
		int vconv = 0, cconv = 0, pc = 0, eligible;

		g->rows++;
		if (!strcmp(status, "suppressed")) {
			g->suppressed++;
			continue;
		}
		eligible = control ? !strcmp(status, "control") :
			!strcmp(status, "sent") || !strcmp(status, "bounced") ||
			!strcmp(status, "failed") || !strcmp(status, "in_doubt");
		if (!eligible || t0 < 0) {
			g->pending++;
			continue;
		}
		g->recipients++;
		g->sent += !strcmp(status, "sent");
		g->delivered += !!(ev & EV_DELIVERED);
		g->bounced += !strcmp(status, "bounced") || (ev & EV_BOUNCED);
		g->opened += !!(ev & EV_OPENED);
		g->clicked += !!(ev & EV_CLICKED);
		g->opened_m += (ev & (EV_OPENED | EV_OPENED_M)) == EV_OPENED_M;
		g->clicked_m += (ev & (EV_CLICKED | EV_CLICKED_M)) == EV_CLICKED_M;
		g->unsub += !!(ev & EV_UNSUB);
		g->complained += !!(ev & EV_COMPLAINED);
		if (sqlite3_column_type(st, 7) != SQLITE_NULL) {
			int any = 0;

			g->codes++;
			sqlite3_bind_int64(rst, 1, sqlite3_column_int64(st, 7));
			sqlite3_bind_text(rst, 2, now, -1, SQLITE_STATIC);
			while (db_row(rst)) {
				const char *code = (const char *)sqlite3_column_text(rst, 1);
				int k = report_currency_index(code ? code : "");

				any = 1;
				if (k < 0)
					continue;
				g->red_orders[k]++;
				g->red_rev[k] += report_major(sqlite3_column_int64(rst, 0), code);
			}
			sqlite3_reset(rst);
			g->redeemed += any;
		}
		if (ct >= 0 && ct < t0)
			ct = t0; /* a click cannot come before its message */

		vend = t0 + w;
		cend = ct >= 0 ? ct + w : -1;
		end = vend > cend ? vend : cend;
		if (end > nowt)
			end = nowt;
		if (end < t0)
			continue;
		norm_fmt_time(t0, t1);
		norm_fmt_time(end, t2);
		sqlite3_bind_int64(ost, 1, sqlite3_column_int64(st, 4));
		sqlite3_bind_text(ost, 2, t1, -1, SQLITE_STATIC);
		sqlite3_bind_text(ost, 3, t2, -1, SQLITE_STATIC);
		while (db_row(ost)) {
			int64_t t = report_time((const char *)sqlite3_column_text(ost, 0));
			const char *code = (const char *)sqlite3_column_text(ost, 2);
			int k = report_currency_index(code ? code : "");
			double x;

			if (k < 0)
				continue;
			x = report_major(sqlite3_column_int64(ost, 1), code);
			if (t <= t0)
				continue; /* not after the message */
			if (t <= vend) {
				vconv = 1;
				vrev[k] += x;
				vord[k]++;
				if (ct >= 0 && t > ct)
					pc = 1;
			}
			if (ct >= 0 && t > ct && t <= cend) {
				cconv = 1;
				crev[k] += x;
				cord[k]++;
			}
		}
		sqlite3_reset(ost);
		if (r->o->click) {
			g->converted += cconv;
			g->post_click += cconv;
		} else {
			g->converted += vconv;
			g->post_click += vconv && pc;
			g->post_view += vconv && !pc;
		}
		for (int k = 0; k < NCUR; k++) {
			double x = r->o->click ? crev[k] : vrev[k];
			g->orders[k] += r->o->click ? cord[k] : vord[k];
			g->s[k] += x;
			g->ss[k] += x * x;
			if (x != 0 && r->o->bootstrap > 0) {
				g->rev = xgrow(g->rev, sizeof(*g->rev), g->nrev + 1, &g->caprev);
				g->rev[g->nrev++] = (struct rrev){ .cur = k, .x = x };
			}
		}
	}
	if (rc != SQLITE_DONE)
		db_die(db, NULL);
	sqlite3_finalize(ost);
	sqlite3_finalize(rst);
	sqlite3_finalize(st);
	sb_free(&sql);

	/* variants in name order */
	qsort(c->g + 1, c->ng - 1, sizeof(*c->g), by_name);

	/* the treatment as a whole */
	memset(&c->total, 0, sizeof(c->total));
	snprintf(c->total.name, sizeof(c->total.name), "treatment");
	for (size_t i = 1; i < c->ng; i++) {
		struct grp *g = &c->g[i], *t = &c->total;
		t->rows += g->rows;
		t->recipients += g->recipients;
		t->sent += g->sent;
		t->delivered += g->delivered;
		t->bounced += g->bounced;
		t->opened += g->opened;
		t->clicked += g->clicked;
		t->opened_m += g->opened_m;
		t->clicked_m += g->clicked_m;
		t->unsub += g->unsub;
		t->complained += g->complained;
		t->suppressed += g->suppressed;
		t->pending += g->pending;
		t->converted += g->converted;
		t->post_click += g->post_click;
		t->post_view += g->post_view;
		t->codes += g->codes;
		t->redeemed += g->redeemed;
		for (int k = 0; k < NCUR; k++) {
			t->red_orders[k] += g->red_orders[k];
			t->red_rev[k] += g->red_rev[k];
			t->orders[k] += g->orders[k];
			t->s[k] += g->s[k];
			t->ss[k] += g->ss[k];
		}
	}

	/* revenue in --currency, else in that of most attributed orders */
	c->ci = -1;
	if (r->o->currency) {
		c->ci = report_currency_index(r->o->currency);
	} else {
		int64_t best = 0;
		for (int k = 0; k < NCUR && report_currency(k); k++) {
			int64_t n = c->total.orders[k] + c->g[0].orders[k];
			if (n > best) {
				best = n;
				c->ci = k;
			}
		}
	}
	c->cur = c->ci >= 0 ? report_currency(c->ci) : NULL;
	c->other_orders = 0;
	for (int k = 0; k < NCUR; k++)
		if (k != c->ci)
			c->other_orders += c->total.orders[k] + c->g[0].orders[k];
}

/* --bootstrap: the resample sums of the control group and of each variant
 * (in c->ci's currency; none when no order was in any), and of the
 * treatment as a whole (c->total) from its variants' (with one variant,
 * that variant's). */
static void bootstrap(struct report *r, struct camp *c)
{
	size_t nb = (size_t)r->o->bootstrap;

	for (size_t i = 0; i < c->ng; i++) {
		struct grp *g = &c->g[i];
		size_t n = (size_t)g->recipients, m = 0;
		struct rs_rng rng;
		double *x;

		if (n == 0)
			continue;
		if ((double)n > RS_BOOT_MAX_N) {
			crm_warn("campaign \"%s\": %s has more recipients than the bootstrap can "
				 "resample (%.0f): no bootstrap interval", c->name, g->name,
				 RS_BOOT_MAX_N);
			continue;
		}
		/* the recipients' revenues (the others' are 0), sorted */
		x = xcalloc(n, sizeof(*x));
		for (size_t j = 0; j < g->nrev; j++)
			if (g->rev[j].cur == c->ci)
				x[m++] = g->rev[j].x;
		rs_sort(x, n);
		g->bsum = xcalloc(nb, sizeof(*g->bsum));
		rs_rng_seed(&rng, r->o->seed, g->name);
		rs_boot_sums(x, n, nb, &rng, g->bsum);
		free(x);
	}
	{
		int all = c->ng > 1;
		for (size_t i = 1; i < c->ng; i++)
			all &= c->g[i].bsum || !c->g[i].recipients;
		if (all) {
			c->total.bsum = xcalloc(nb, sizeof(*c->total.bsum));
			for (size_t i = 1; i < c->ng; i++)
				for (size_t b = 0; c->g[i].bsum && b < nb; b++)
					c->total.bsum[b] += c->g[i].bsum[b];
		}
	}
	for (size_t i = 0; i < c->ng; i++)
		if (c->g[i].recipients < 2)
			crm_warn("campaign \"%s\": %s has %lld recipient%s: no bootstrap interval "
				 "(it needs 2 in each group compared)", c->name, c->g[i].name,
				 (long long)c->g[i].recipients, c->g[i].recipients == 1 ? "" : "s");
}

/* Looks up campaigns by name (NULL: all of them, oldest first). */
static struct camp *load_campaigns(struct report *r, const char *name, size_t *n)
{
	sqlite3_stmt *st = db_prepare(r->crm->db, name ?
		"SELECT id, name, channel, created_at FROM campaigns WHERE name = ?1" :
		"SELECT id, name, channel, created_at FROM campaigns ORDER BY created_at, id");
	struct camp *c = NULL;
	size_t cap = 0;

	*n = 0;
	if (name)
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	while (db_row(st)) {
		c = xgrow(c, sizeof(*c), *n + 1, &cap);
		memset(&c[*n], 0, sizeof(*c));
		c[*n].id = sqlite3_column_int64(st, 0);
		c[*n].name = xstrdup((const char *)sqlite3_column_text(st, 1));
		c[*n].channel = xstrdup((const char *)sqlite3_column_text(st, 2));
		c[*n].created = xstrdup((const char *)sqlite3_column_text(st, 3));
		(*n)++;
	}
	sqlite3_finalize(st);
	return c;
}

/* Whether c can be compared with its control group; says why not once. */
static int comparable(struct report *r, const struct camp *c, int quiet)
{
	if (c->g[0].recipients == 0) {
		if (!quiet && c->g[0].rows)
			crm_warn("campaign \"%s\": none of the %lld control-group rows was held out "
				 "(suppressed or pending): uplift unavailable", c->name,
				 (long long)c->g[0].rows);
		else if (!quiet)
			crm_warn("campaign \"%s\" has no control group: uplift unavailable", c->name);
		return 0;
	}
	if (c->total.recipients == 0) {
		if (!quiet)
			crm_warn("campaign \"%s\" has no treatment recipients yet: uplift unavailable",
				 c->name);
		return 0;
	}
	if (r->o->click) {
		if (!quiet)
			crm_warn("campaign \"%s\": the control group receives nothing to click, so "
				 "--attribution click has no uplift (use --attribution view)", c->name);
		return 0;
	}
	return 1;
}

static const char *const camp_cols[] = {
	"group", "campaign", "rows", "recipients", "sent", "delivered", "bounced", "opened",
	"clicked", "unsubscribed", "complained", "suppressed", "pending", "converted",
	"post_click", "post_view", "conversion_rate", "orders", "revenue",
	"revenue_per_recipient", "currency", "uplift", "uplift_low", "uplift_high",
	"relative_uplift", "p_value", "mde", "rpr_uplift", "rpr_low", "rpr_high", "rpr_p_value",
	"incremental_conversions", "incremental_revenue", "incremental_revenue_low",
	"incremental_revenue_high",
	"opened_machine_only", "clicked_machine_only", "open_rate", "click_rate",
	"click_to_open_rate",
	/* with --bootstrap only */
	"rpr_boot_low", "rpr_boot_high", "rpr_boot_p_value", "incremental_revenue_boot_low",
	"incremental_revenue_boot_high", "bootstrap_resamples", "bootstrap_seed",
};
#define CAMP_COLS_WELCH 40 /* the columns before the bootstrap's */
_Static_assert(ARRAY_SIZE(camp_cols) == CAMP_COLS_WELCH + 7, "camp_cols");
/* last, when the campaign sent promo codes: recipients sent a code, codes
 * redeemed (at least once, by anyone, up to now), their share, the
 * purchases with them and their amount in the report's currency; the
 * control group is sent none (empty) */
static const char *const coupon_cols[] = {
	"codes", "redemptions", "redemption_rate", "redeemed_orders", "redeemed_revenue",
};

static void coupon_values(struct out_val *v, const struct camp *c, const struct grp *g)
{
	int k = c->ci;

	if (g->control && !g->codes)
		return;
	rtab_int(&v[0], g->codes);
	rtab_int(&v[1], g->redeemed);
	rtab_real(&v[2], report_rate(g->redeemed, g->codes), 6);
	rtab_int(&v[3], k >= 0 ? g->red_orders[k] : 0);
	rtab_real(&v[4], k >= 0 ? g->red_rev[k] : 0, 2);
}

static void group_row(struct rtab *t, const struct report *r, const struct camp *c,
		      const struct grp *g, int cmp)
{
	struct out_val *v = rtab_row(t);
	int k = c->ci;
	double rev = k >= 0 ? g->s[k] : 0;
	const struct grp *ctl = &c->g[0];

	rtab_text(t, &v[0], g->name);
	rtab_text(t, &v[1], c->name);
	rtab_int(&v[2], g->rows);
	rtab_int(&v[3], g->recipients);
	rtab_int(&v[4], g->sent);
	rtab_int(&v[5], g->delivered);
	rtab_int(&v[6], g->bounced);
	rtab_int(&v[7], g->opened);
	rtab_int(&v[8], g->clicked);
	rtab_int(&v[9], g->unsub);
	rtab_int(&v[10], g->complained);
	rtab_int(&v[11], g->suppressed);
	rtab_int(&v[12], g->pending);
	rtab_int(&v[13], g->converted);
	rtab_int(&v[14], g->post_click);
	rtab_int(&v[15], g->post_view);
	rtab_real(&v[16], report_rate(g->converted, g->recipients), 6);
	rtab_int(&v[17], k >= 0 ? g->orders[k] : 0);
	rtab_real(&v[18], rev, 2);
	rtab_real(&v[19], g->recipients ? rev / g->recipients : NAN, 4);
	rtab_text(t, &v[20], c->cur);
	{
		/* the rates: over delivered when deliveries are reported */
		int64_t base = g->delivered > 0 ? g->delivered : g->sent;

		rtab_int(&v[35], g->opened_m);
		rtab_int(&v[36], g->clicked_m);
		rtab_real(&v[37], report_rate(g->opened, base), 6);
		rtab_real(&v[38], report_rate(g->clicked, base), 6);
		rtab_real(&v[39], report_rate(g->clicked, g->opened), 6);
	}
	if (cmp && !g->control) {
		struct rs_prop p;
		struct rs_welch wt;
		double n1 = (double)g->recipients;

		rs_ztest(g->converted, n1, ctl->converted, ctl->recipients, &p);
		rtab_real(&v[21], p.diff, 6);
		rtab_real(&v[22], p.lo, 6);
		rtab_real(&v[23], p.hi, 6);
		rtab_real(&v[24], p.rel, 4);
		rtab_real(&v[25], p.p, 6);
		rtab_real(&v[26], p.mde, 6);
		if (k >= 0) {
			rs_welch(n1, g->s[k], g->ss[k], ctl->recipients, ctl->s[k], ctl->ss[k], &wt);
		} else {
			wt.diff = 0;
			wt.lo = wt.hi = 0;
			wt.p = 1;
		}
		rtab_real(&v[27], wt.diff, 4);
		rtab_real(&v[28], wt.lo, 4);
		rtab_real(&v[29], wt.hi, 4);
		rtab_real(&v[30], wt.p, 6);
		rtab_real(&v[31], p.diff * n1, 1);
		rtab_real(&v[32], wt.diff * n1, 2);
		rtab_real(&v[33], wt.lo * n1, 2);
		rtab_real(&v[34], wt.hi * n1, 2);
		if (r->o->bootstrap > 0 && g->bsum && ctl->bsum) {
			struct rs_boot bt;
			rs_boot_diff(g->bsum, n1, ctl->bsum, (double)ctl->recipients,
				     (size_t)r->o->bootstrap, &bt);
			rtab_real(&v[40], bt.lo, 4);
			rtab_real(&v[41], bt.hi, 4);
			rtab_real(&v[42], bt.p, 6);
			rtab_real(&v[43], bt.lo * n1, 2);
			rtab_real(&v[44], bt.hi * n1, 2);
		}
	}
	if (cmp && !g->control && r->o->bootstrap > 0) {
		rtab_int(&v[45], r->o->bootstrap);
		rtab_int(&v[46], (int64_t)r->o->seed);
	}
	if (c->total.codes || c->g[0].codes)
		coupon_values(&v[r->o->bootstrap > 0 ? ARRAY_SIZE(camp_cols) : CAMP_COLS_WELCH], c, g);
}

/* The warning that the control group is too small for what was seen:
 * the difference is not significant and smaller than the design could
 * detect. */
static void mde_warning(const struct camp *c)
{
	struct rs_prop p;
	const struct grp *t = &c->total, *ctl = &c->g[0];

	rs_ztest(t->converted, t->recipients, ctl->converted, ctl->recipients, &p);
	if (isfinite(p.mde) && p.p >= 0.05 && fabs(p.diff) < p.mde)
		crm_warn("campaign \"%s\": the control group (%lld) is too small to detect the observed "
			 "effect (%+.2f pp): the minimum detectable effect at 95%% confidence and 80%% "
			 "power is %.2f pp", c->name, (long long)ctl->recipients, p.diff * 100,
			 p.mde * 100);
}

static void currency_note(const struct report *r, const struct camp *c)
{
	if (c->other_orders)
		crm_warn("campaign \"%s\": revenue in %s only; %lld attributed order%s in other "
			 "currencies left out%s", c->name, c->cur ? c->cur : "-",
			 (long long)c->other_orders, c->other_orders == 1 ? "" : "s",
			 r->o->currency ? "" : " (choose with --currency)");
}

int report_build_campaign(struct report *r, const char *name, struct rtab *t)
{
	size_t n;
	struct camp *c = load_campaigns(r, name, &n);
	int cmp;

	if (!n) {
		crm_error("no campaign \"%s\" in %s (crm-report campaigns lists them)", name,
			  r->crm->db_path);
		free(c);
		return 1;
	}
	measure(r, c);
	cmp = comparable(r, c, 0);
	if (cmp)
		mde_warning(c);
	currency_note(r, c);
	if (cmp && r->o->bootstrap > 0)
		bootstrap(r, c);
	{
		const char *cols[ARRAY_SIZE(camp_cols) + ARRAY_SIZE(coupon_cols)];
		size_t nc = r->o->bootstrap > 0 ? ARRAY_SIZE(camp_cols) : CAMP_COLS_WELCH;

		memcpy(cols, camp_cols, nc * sizeof(*cols));
		if (c->total.codes || c->g[0].codes) {
			memcpy(cols + nc, coupon_cols, sizeof(coupon_cols));
			nc += ARRAY_SIZE(coupon_cols);
		}
		rtab_init(t, nc, cols);
	}
	for (size_t i = 1; i < c->ng; i++)
		group_row(t, r, c, &c->g[i], cmp);
	if (c->ng > 2)
		group_row(t, r, c, &c->total, cmp);
	group_row(t, r, c, &c->g[0], cmp);
	camp_free(c);
	free(c);
	return 0;
}

/*
 * The click map: for each treatment group (variant) and link number of
 * the clicked events (props.link; clicks without one make a row of their
 * own, link null, last), the URL (props.url; the smallest when they
 * differ), a person's clicks and the recipients who made them, and the
 * machines' clicks. The recipients are the treatment rows the campaign
 * report counts (sent or tried), the events those that name their
 * message or the campaign, up to --now.
 */
int report_build_links(struct report *r, const char *name, struct rtab *t)
{
	static const char *const cols[] = {
		"group", "campaign", "link", "url", "clicks", "clickers", "machine_clicks",
	};
	size_t n;
	struct camp *c = load_campaigns(r, name, &n);
	struct sb sql = SB_INIT;
	sqlite3_stmt *st;
	char f[128], now[20];

	if (!n) {
		crm_error("no campaign \"%s\" in %s (crm-report campaigns lists them)", name,
			  r->crm->db_path);
		free(c);
		return 1;
	}
	norm_fmt_time(r->crm->now, now);
	sb_addf(&sql,
		"SELECT coalesce(m.variant, ''), CAST(json_extract(e.props, '$.link') AS INTEGER) AS link,"
		" min(json_extract(e.props, '$.url')), sum(e.machine IS NULL),"
		" count(DISTINCT CASE WHEN e.machine IS NULL THEN m.customer_id END),"
		" sum(e.machine IS NOT NULL)"
		" FROM messages m JOIN events e ON " REPORT_EVENT_OF("m", "?3")
		"  AND e.type = 'clicked' AND e.occurred_at <= ?2"
		" WHERE m.campaign_id = ?1 AND m.grp <> 'control'"
		"  AND m.status IN ('sent', 'bounced', 'failed', 'in_doubt')"
		"  AND coalesce(m.sent_at, m.updated_at) IS NOT NULL%s"
		" GROUP BY 1, 2 ORDER BY 1, link IS NULL, link",
		report_filter(r, "m.customer_id", f, sizeof(f)));
	st = db_prepare(r->crm->db, sql.buf);
	sb_free(&sql);
	sqlite3_bind_int64(st, 1, c->id);
	sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, c->name, -1, SQLITE_STATIC);
	rtab_init(t, ARRAY_SIZE(cols), cols);
	while (db_row(st)) {
		struct out_val *v = rtab_row(t);
		const char *variant = (const char *)sqlite3_column_text(st, 0);
		char g[80];

		if (variant && *variant)
			snprintf(g, sizeof(g), "treatment:%s", variant);
		else
			snprintf(g, sizeof(g), "treatment");
		rtab_text(t, &v[0], g);
		rtab_text(t, &v[1], c->name);
		if (sqlite3_column_type(st, 1) != SQLITE_NULL)
			rtab_int(&v[2], sqlite3_column_int64(st, 1));
		rtab_text(t, &v[3], (const char *)sqlite3_column_text(st, 2));
		rtab_int(&v[4], sqlite3_column_int64(st, 3));
		rtab_int(&v[5], sqlite3_column_int64(st, 4));
		rtab_int(&v[6], sqlite3_column_int64(st, 5));
	}
	sqlite3_finalize(st);
	for (size_t i = 0; i < n; i++)
		camp_free(&c[i]);
	free(c);
	return 0;
}

/* What the campaign tables' numbers are, for -f table. */
static void camp_kinds(struct rtab *t)
{
	RTAB_KIND(t, OUT_KIND_COUNT, NULL, "rows", "recipients", "sent", "delivered", "bounced",
		  "opened", "clicked", "unsubscribed", "complained", "suppressed", "pending",
		  "converted", "post_click", "post_view", "orders", "incremental_conversions",
		  "opened_machine_only", "clicked_machine_only", "codes", "redemptions",
		  "redeemed_orders", "control", "control_converted", "clicks", "clickers",
		  "machine_clicks", "bootstrap_resamples");
	RTAB_KIND(t, OUT_KIND_MONEY, NULL, "revenue", "revenue_per_recipient", "rpr_uplift",
		  "rpr_low", "rpr_high", "incremental_revenue", "incremental_revenue_low",
		  "incremental_revenue_high", "rpr_boot_low", "rpr_boot_high",
		  "incremental_revenue_boot_low", "incremental_revenue_boot_high",
		  "redeemed_revenue");
	RTAB_KIND(t, OUT_KIND_RATE, NULL, "conversion_rate", "control_rate", "uplift",
		  "uplift_low", "uplift_high", "relative_uplift", "mde", "open_rate", "click_rate",
		  "click_to_open_rate", "redemption_rate");
}

int report_campaign(struct report *r, const char *name)
{
	struct rtab t;
	int rc = r->o->links ? report_build_links(r, name, &t) :
		report_build_campaign(r, name, &t);

	if (rc)
		return rc;
	camp_kinds(&t);
	rtab_emit(r, &t);
	return rc;
}

int report_build_campaigns(struct report *r, struct rtab *t)
{
	static const char *const cols[] = {
		"campaign", "channel", "created_at", "recipients", "control", "converted",
		"control_converted", "conversion_rate", "control_rate", "uplift", "uplift_low",
		"uplift_high", "p_value", "incremental_conversions", "incremental_revenue", "currency",
		/* with --bootstrap only: the treatment as a whole against control */
		"rpr_boot_p_value", "incremental_revenue_boot_low", "incremental_revenue_boot_high",
		"bootstrap_resamples", "bootstrap_seed",
	};
	size_t n;
	struct camp *c = load_campaigns(r, NULL, &n);

	rtab_init(t, r->o->bootstrap > 0 ? ARRAY_SIZE(cols) : ARRAY_SIZE(cols) - 5, cols);
	for (size_t i = 0; i < n; i++) {
		struct out_val *v = rtab_row(t);
		const struct grp *tr, *ctl;
		int k;

		measure(r, &c[i]);
		tr = &c[i].total;
		ctl = &c[i].g[0];
		k = c[i].ci;
		rtab_text(t, &v[0], c[i].name);
		rtab_text(t, &v[1], c[i].channel);
		rtab_text(t, &v[2], c[i].created);
		rtab_int(&v[3], tr->recipients);
		rtab_int(&v[4], ctl->recipients);
		rtab_int(&v[5], tr->converted);
		rtab_int(&v[6], ctl->converted);
		rtab_real(&v[7], report_rate(tr->converted, tr->recipients), 6);
		rtab_real(&v[8], report_rate(ctl->converted, ctl->recipients), 6);
		if (comparable(r, &c[i], 1)) {
			struct rs_prop p;
			struct rs_welch wt;
			rs_ztest(tr->converted, tr->recipients, ctl->converted, ctl->recipients, &p);
			rtab_real(&v[9], p.diff, 6);
			rtab_real(&v[10], p.lo, 6);
			rtab_real(&v[11], p.hi, 6);
			rtab_real(&v[12], p.p, 6);
			rtab_real(&v[13], p.diff * tr->recipients, 1);
			if (k >= 0) {
				rs_welch(tr->recipients, tr->s[k], tr->ss[k], ctl->recipients, ctl->s[k],
					 ctl->ss[k], &wt);
				rtab_real(&v[14], wt.diff * tr->recipients, 2);
			} else {
				rtab_real(&v[14], 0, 2);
			}
			if (r->o->bootstrap > 0) {
				bootstrap(r, &c[i]);
				if (tr->bsum && ctl->bsum) {
					struct rs_boot bt;
					rs_boot_diff(tr->bsum, (double)tr->recipients, ctl->bsum,
						     (double)ctl->recipients, (size_t)r->o->bootstrap, &bt);
					rtab_real(&v[16], bt.p, 6);
					rtab_real(&v[17], bt.lo * tr->recipients, 2);
					rtab_real(&v[18], bt.hi * tr->recipients, 2);
				}
				rtab_int(&v[19], r->o->bootstrap);
				rtab_int(&v[20], (int64_t)r->o->seed);
			}
		}
		rtab_text(t, &v[15], c[i].cur);
		camp_free(&c[i]);
	}
	free(c);
	return 0;
}

int report_campaigns(struct report *r)
{
	struct rtab t;
	int rc = report_build_campaigns(r, &t);

	if (rc)
		return rc;
	camp_kinds(&t);
	rtab_emit(r, &t);
	return rc;
}
