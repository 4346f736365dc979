/*
 * report_html_kpi.c - the top of the page: KPI tiles (now against 30
 * days before), revenue by month, revenue and conversions by campaign
 * over time. One scan of the completed orders feeds the tiles and the
 * revenue chart.
 */
#include "report_html.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "norm.h"
#include "util.h"

#define NC 64           /* currencies the scan tells apart */
#define DAY 86400LL
#define PERIOD (30 * DAY)

/* the figures at one time */
struct kfig {
	int64_t buyers, repeat, active30, active90, churned;
	int64_t rev[NC];        /* minor units, the 30 days up to the time */
};

struct kpi_ctx {
	int64_t now;
	struct kfig at[2];      /* now, 30 days before */
	int64_t orders[NC];
	int64_t *minor;         /* [nmonths * NC], from month base */
	int64_t base, nmonths;
	int64_t first, last;    /* months with orders (any currency) */
};

/* Widens the months kept to take month m (the orders' months are not
 * known before the scan; a base spans some decades at most). */
static void grow(struct kpi_ctx *c, int64_t m)
{
	int64_t base = c->nmonths ? (m < c->base ? m : c->base) : m;
	int64_t end = c->nmonths ? (m >= c->base + c->nmonths ? m + 1 : c->base + c->nmonths) : m + 1;
	int64_t *v = xcalloc((size_t)((end - base) * NC), sizeof(int64_t));

	if (c->nmonths)
		memcpy(v + (c->base - base) * NC, c->minor, (size_t)(c->nmonths * NC) * sizeof(int64_t));
	free(c->minor);
	c->minor = v;
	c->base = base;
	c->nmonths = end - base;
}

static void kpi_customer(void *arg, int64_t customer, const struct rorder *o, size_t n)
{
	struct kpi_ctx *c = arg;

	(void)customer;
	for (int w = 0; w < 2; w++) {
		int64_t t = c->now - w * PERIOD, last = INT64_MIN;
		int k = 0;
		struct kfig *f = &c->at[w];
		for (size_t i = 0; i < n && o[i].t <= t; i++) {
			if (o[i].cur < NC && o[i].t > t - PERIOD)
				f->rev[o[i].cur] += o[i].amount;
			if (o[i].refund)
				continue;
			k++;
			last = o[i].t;
		}
		if (!k)
			continue;
		f->buyers++;
		f->repeat += k >= 2;
		f->active30 += last > t - 30 * DAY;
		f->active90 += last > t - 90 * DAY;
		f->churned += last <= t - 365 * DAY;
	}
	for (size_t i = 0; i < n; i++) {
		int64_t m = rh_month(o[i].t);
		if (o[i].cur >= NC)
			continue;
		c->orders[o[i].cur] += !o[i].refund;
		if (m < c->base || m >= c->base + c->nmonths)
			grow(c, m);
		c->minor[(m - c->base) * NC + o[i].cur] += o[i].amount;
		if (!o[i].refund) {
			c->first = m < c->first ? m : c->first;
			c->last = m > c->last ? m : c->last;
		}
	}
}

static int64_t customers_at(struct report *r, int64_t t)
{
	struct sb sql = SB_INIT;
	sqlite3_stmt *st;
	char f[128], ts[20];
	int64_t n = 0;

	norm_fmt_time(t, ts);
	/* a customer without created_at counts from the start */
	sb_addf(&sql, "SELECT count(*) FROM customers c WHERE (c.created_at IS NULL OR"
		" c.created_at <= ?1)%s", report_filter(r, "c.id", f, sizeof(f)));
	st = db_prepare(r->crm->db, sql.buf);
	db_bind_text(st, 1, ts, -1);
	if (db_row(st))
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sb_free(&sql);
	return n;
}

enum { K_COUNT, K_MONEY, K_PCT };

/* A tile: its name, value and the change from before. For churn a rise
 * is the bad direction; the words say which way, the colour only helps. */
static void tile(FILE *fp, const char *name, int kind, double now, double before, const char *code,
		 int rise_good, const char *help)
{
	char v[64], d[64];
	double diff = now - before;

	fprintf(fp, "<div class=\"kpi\"><div class=\"k\">%s</div><div class=\"v\">", name);
	if (kind == K_MONEY)
		rh_esc(fp, hf_money(v, sizeof(v), now, code));
	else if (kind == K_PCT)
		fputs(hf_pct(v, sizeof(v), now), fp);
	else
		fputs(hf_int(v, sizeof(v), (int64_t)now), fp);
	fputs("</div><div class=\"d", fp);
	if (!isfinite(diff) || fabs(diff) < 1e-12) {
		fputs("\">no change", fp);
	} else {
		int good = (diff > 0) == rise_good;
		fprintf(fp, " %s\">%s ", good ? "up" : "down", diff > 0 ? "▲" : "▼");
		if (kind == K_PCT)
			fprintf(fp, "%+.1f pts", diff * 100);
		else if (kind == K_MONEY) {
			rh_esc(fp, hf_money(d, sizeof(d), fabs(diff), code));
			fputs(diff > 0 ? " more" : " less", fp);
		} else
			fprintf(fp, "%s%s", diff > 0 ? "+" : "-", hf_int(d, sizeof(d), (int64_t)fabs(diff)));
		if (kind != K_PCT && before > 0)
			fprintf(fp, " (%+.1f%%)", 100 * diff / before);
	}
	fprintf(fp, "</div><div class=\"d\">%s</div></div>\n", help);
}

static struct kpi_ctx *scan(struct report *r)
{
	struct kpi_ctx *c = xcalloc(1, sizeof(*c));

	c->now = r->crm->now;
	c->first = INT64_MAX;
	c->last = INT64_MIN;
	report_scan_orders(r, kpi_customer, c);
	return c;
}

static void kfree(struct kpi_ctx *c)
{
	free(c->minor);
	free(c);
}

void rh_kpis(FILE *fp, struct report *r)
{
	struct kpi_ctx *c = scan(r);
	const char *code = rh_currency(r);
	int cur = code ? report_currency_index(code) : -1;
	const struct kfig *a = &c->at[0], *b = &c->at[1];
	char then[20];

	norm_fmt_time(c->now - PERIOD, then);
	fprintf(fp, "<p class=\"small\">Each figure as of now, and its change since %.10s "
		"(30 days before).</p>\n<div class=\"kpis\">\n", then);
	tile(fp, "Customers", K_COUNT, (double)customers_at(r, c->now),
	     (double)customers_at(r, c->now - PERIOD), NULL, 1, "in the base");
	tile(fp, "Buyers", K_COUNT, (double)a->buyers, (double)b->buyers, NULL, 1,
	     "with a completed order");
	if (cur >= 0 && cur < NC)
		tile(fp, "Revenue, 30 days", K_MONEY, report_major(a->rev[cur], code),
		     report_major(b->rev[cur], code), code, 1, "against the 30 days before");
	tile(fp, "Repeat rate", K_PCT, a->buyers ? (double)a->repeat / a->buyers : NAN,
	     b->buyers ? (double)b->repeat / b->buyers : NAN, NULL, 1, "buyers with 2+ orders");
	tile(fp, "Active, 30 days", K_COUNT, (double)a->active30, (double)b->active30, NULL, 1,
	     "buyers who ordered");
	tile(fp, "Active, 90 days", K_COUNT, (double)a->active90, (double)b->active90, NULL, 1,
	     "buyers who ordered");
	tile(fp, "Churned", K_PCT, a->buyers ? (double)a->churned / a->buyers : NAN,
	     b->buyers ? (double)b->churned / b->buyers : NAN, NULL, 0,
	     "buyers with no order in 365 days");
	fputs("</div>\n", fp);
	kfree(c);
}

static char *money_tick(char *buf, size_t n, double v, const void *code)
{
	return hf_money_short(buf, n, v, code);
}

/* month labels under bars of width bw from x0: every k-th, k so that
 * they do not overlap, counted back from the last (always labelled);
 * the first and last kept inside the bars' span */
static void month_labels(FILE *fp, int64_t first, int nm, double x0, double bw, double y)
{
	char buf[32];
	/* a label's width and a gap, and half a bar for the last one, which
	 * may be pushed left to stay inside */
	int k = (int)ceil((svg_text_width("Mmm 0000", 11) + 8) / bw + 0.5);

	if (k < 1)
		k = 1;
	for (int i = (nm - 1) % k; i < nm; i += k) {
		const char *anchor = "middle";
		double x = x0 + (i + 0.5) * bw, hw;
		hf_month(buf, sizeof(buf), first + i);
		hw = svg_text_width(buf, 11) / 2;
		if (x - hw < x0 - 4) {
			anchor = "start";
			x = x0 + i * bw;
		} else if (x + hw > x0 + nm * bw) {
			anchor = "end";
			x = x0 + (i + 1) * bw;
		}
		svg_text(fp, x, y, anchor, 11, NULL, buf);
	}
}

void rh_revenue(FILE *fp, struct report *r)
{
	struct kpi_ctx *c;
	const char *code = rh_currency(r);
	int cur, nm, partial;
	int64_t first, last, now_m;
	double max = 0, *v;
	struct svg_axis ax;
	char buf[64], lab[64];
	const double W = RH_W, H = 270, L = 64, R = 10, T = 22, B = 40;

	if (!code) {
		fputs("<p>No completed orders.</p>\n", fp);
		return;
	}
	c = scan(r);
	cur = report_currency_index(code);
	now_m = rh_month(c->now);
	if (cur < 0 || cur >= NC || c->first > c->last) {
		fputs("<p>No completed orders.</p>\n", fp);
		kfree(c);
		return;
	}
	/* from the first month with orders to the last, at most 36 */
	last = c->last;
	first = c->first > last - 35 ? c->first : last - 35;
	nm = (int)(last - first + 1);
	v = xcalloc(nm, sizeof(double));
	for (int i = 0; i < nm; i++) {
		v[i] = report_major(c->minor[(first + i - c->base) * NC + cur], code);
		max = fmax(max, v[i]);
	}
	/* the current month is partial unless now is its last second */
	partial = last == now_m && rh_month(c->now + 1) == now_m;
	fprintf(fp, "<p>Completed orders per month in %s, net of refunds, %s to %s",
		code, hf_month(buf, sizeof(buf), first), hf_month(lab, sizeof(lab), last));
	if (first > c->first)
		fputs(" (the last 36 months)", fp);
	if (partial) {
		int y, m, d;
		norm_civil_from_days(c->now / DAY, &y, &m, &d);
		fprintf(fp, "; %s is partial: its first %d days", lab, d);
	}
	fputs(".</p>\n", fp);
	svg_nice(&ax, 0, max, 5, 1);
	svg_open(fp, "revenue", (int)W, (int)H, "Revenue by month");
	svg_yaxis(fp, &ax, L, W - R, H - B, T, money_tick, code);
	for (int i = 0; i < nm; i++) {
		double bw = (W - L - R) / nm, y0 = svg_map(&ax, 0, H - B, T), y = svg_map(&ax, v[i], H - B, T);
		double gap = bw > 12 ? bw * 0.18 : 1;
		int part = partial && i == nm - 1;
		fprintf(fp, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"%s>"
			"<title>%s: %s%s</title></rect>\n", L + i * bw + gap / 2, fmin(y, y0), bw - gap,
			fabs(y0 - y), svg_palette[0],
			part ? " fill-opacity=\"0.35\" stroke=\"#0072B2\" stroke-dasharray=\"4,3\"" : "",
			hf_month(lab, sizeof(lab), first + i), hf_money(buf, sizeof(buf), v[i], code),
			part ? " so far (partial month)" : "");
		/* under its month, where no bar is */
		if (part)
			svg_text(fp, L + (i + 1) * bw, H - B + 30, "end", 11, NULL, "(partial)");
	}
	month_labels(fp, first, nm, L, (W - L - R) / nm, H - B + 15);
	svg_close(fp);
	free(v);
	kfree(c);
}

/* ---- revenue and conversions by campaign over time ------------------------- */

#define NCAMP 6 /* campaigns drawn apart; the others as one */

void rh_campaign_time(FILE *fp, struct report *r)
{
	const char *code = rh_currency(r);
	struct sb sql = SB_INIT;
	sqlite3_stmt *st;
	char f[128], buf[64], lab[64];
	int64_t w = r->o->window > 0 ? r->o->window : 7 * DAY, first = INT64_MAX, last = INT64_MIN;
	/* campaigns by revenue: names, and per month (from first) sums */
	char *names[NCAMP + 1] = { 0 };
	int nc = 0, nm;
	double (*rev)[NCAMP + 1] = NULL, max = 0, tot[NCAMP + 1] = { 0 };
	int64_t (*conv)[NCAMP + 1] = NULL, ctot[NCAMP + 1] = { 0 };
	struct svg_axis ax;
	const double W = RH_W, H = 280, L = 64, R = 10, T = 14, B = 62;

	if (!code) {
		fputs("<p>No completed orders.</p>\n", fp);
		return;
	}
	/* an order of a treatment recipient within the window after the send
	 * counts for that campaign (the latest send before it) */
	sb_addf(&sql, "WITH a AS (SELECT c.name AS camp, o.id AS oid, o.customer_id AS cust,"
		" o.amount AS amount, CAST(strftime('%%Y', o.ordered_at) AS INTEGER) * 12 +"
		" CAST(strftime('%%m', o.ordered_at) AS INTEGER) - 1 AS month,"
		" row_number() OVER (PARTITION BY o.id ORDER BY m.sent_at DESC, c.id) AS k"
		" FROM messages m JOIN campaigns c ON c.id = m.campaign_id"
		" JOIN orders o ON o.customer_id = m.customer_id AND o.purchase = 1"
		" AND o.currency = ?1 AND o.ordered_at > m.sent_at"
		" AND o.ordered_at <= datetime(m.sent_at, '+%lld seconds') AND o.ordered_at <= ?2"
		" WHERE m.grp = 'treatment' AND m.status = 'sent'%s)"
		" SELECT camp, month, count(DISTINCT cust), total(amount), sum(total(amount))"
		" OVER (PARTITION BY camp) AS t FROM a WHERE k = 1 GROUP BY camp, month"
		" ORDER BY t DESC, camp, month", (long long)w,
		report_filter(r, "m.customer_id", f, sizeof(f)));
	st = db_prepare(r->crm->db, sql.buf);
	db_bind_text(st, 1, code, -1);
	norm_fmt_time(r->crm->now, buf);
	db_bind_text(st, 2, buf, -1);
	/* first pass: the months and the campaigns */
	while (db_row(st)) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		int64_t m = sqlite3_column_int64(st, 1);
		first = m < first ? m : first;
		last = m > last ? m : last;
		if (nc < NCAMP && (!nc || strcmp(names[nc - 1], name)))
			names[nc++] = xstrdup(name);
	}
	if (!nc) {
		sqlite3_finalize(st);
		sb_free(&sql);
		st = db_prepare(r->crm->db, "SELECT EXISTS (SELECT 1 FROM campaigns)");
		nc = db_row(st) && sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
		if (!nc) {
			fputs("<p>No campaigns.</p>\n", fp);
			return;
		}
		fputs("<p>No orders attributed to a campaign (an order of a recipient within "
		      "the attribution window after the send).</p>\n", fp);
		return;
	}
	nm = (int)(last - first + 1);
	rev = xcalloc(nm, sizeof(*rev));
	conv = xcalloc(nm, sizeof(*conv));
	sqlite3_reset(st);
	while (db_row(st)) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		int k = 0, i = (int)(sqlite3_column_int64(st, 1) - first);
		while (k < nc && strcmp(names[k], name))
			k++;
		if (k == nc) {
			k = NCAMP; /* the rest */
			if (!names[NCAMP])
				names[NCAMP] = xstrdup("other campaigns");
		}
		rev[i][k] += report_major(sqlite3_column_int64(st, 3), code);
		conv[i][k] += sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	sb_free(&sql);
	for (int i = 0; i < nm; i++) {
		double s = 0;
		for (int k = 0; k <= NCAMP; k++) {
			s += rev[i][k];
			tot[k] += rev[i][k];
			ctot[k] += conv[i][k];
		}
		max = fmax(max, s);
	}
	fprintf(fp, "<p>Revenue in %s from the orders of each campaign's recipients (the "
		"treatment group) within %lld days after its send, per month; the table gives the "
		"conversions (customers who ordered) too.</p>\n", code, (long long)(w / DAY));
	svg_nice(&ax, 0, max, 5, 1);
	svg_open(fp, "camptime", (int)W, (int)H, "Revenue by campaign and month");
	svg_yaxis(fp, &ax, L, W - R, H - B, T, money_tick, code);
	for (int i = 0; i < nm; i++) {
		double bw = (W - L - R) / nm, gap = bw > 12 ? bw * 0.2 : 1, base = 0;
		for (int k = 0; k <= NCAMP; k++) {
			double y0, y1;
			if (!rev[i][k])
				continue;
			y0 = svg_map(&ax, base, H - B, T);
			base += rev[i][k];
			y1 = svg_map(&ax, base, H - B, T);
			fprintf(fp, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\">"
				"<title>", L + i * bw + gap / 2, fmin(y0, y1), bw - gap, fabs(y0 - y1),
				k == NCAMP ? SVG_GREY : svg_palette[k]);
			rh_esc(fp, names[k]);
			fprintf(fp, ", %s: %s, ", hf_month(lab, sizeof(lab), first + i),
				hf_money(buf, sizeof(buf), rev[i][k], code));
			fprintf(fp, "%lld conversions</title></rect>\n", (long long)conv[i][k]);
		}
	}
	month_labels(fp, first, nm, L, (W - L - R) / nm, H - B + 16);
	{
		double x = 4, y = H - B + 38;
		for (int k = 0; k <= NCAMP; k++) {
			char nm_[40];
			if (!names[k])
				continue;
			snprintf(nm_, sizeof(nm_), "%s", names[k]);
			if (strlen(nm_) > 24) {
				/* cut at a character, not inside one */
				size_t cut = 21;
				while (cut && ((unsigned char)nm_[cut] & 0xc0) == 0x80)
					cut--;
				memcpy(nm_ + cut, "...", 4);
			}
			if (x + svg_text_width(nm_, 11) + 30 > W) {
				x = 4;
				y += 18;
				if (y > H - 4)
					break;
			}
			x = svg_legend(fp, x, y, k == NCAMP ? SVG_GREY : svg_palette[k], nm_);
		}
	}
	svg_close(fp);
	fputs("<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-label=\"Campaigns over time (table)\">\n"
	      "<table>\n<tr><th class=\"t\" scope=\"col\">Campaign</th><th scope=\"col\">Conversions</th>"
	      "<th scope=\"col\">Revenue</th>", fp);
	for (int i = 0; i < nm && nm <= 12; i++)
		fprintf(fp, "<th scope=\"col\">%s</th>", hf_month(lab, sizeof(lab), first + i));
	fputs("</tr>\n", fp);
	for (int k = 0; k <= NCAMP; k++) {
		if (!names[k])
			continue;
		fputs("<tr><td class=\"t\">", fp);
		rh_esc(fp, names[k]);
		fprintf(fp, "</td><td>%s</td><td>", hf_int(buf, sizeof(buf), ctot[k]));
		rh_esc(fp, hf_money(buf, sizeof(buf), tot[k], code));
		fputs("</td>", fp);
		for (int i = 0; i < nm && nm <= 12; i++) {
			fputs("<td>", fp);
			if (conv[i][k])
				fprintf(fp, "%lld", (long long)conv[i][k]);
			fputs("</td>", fp);
		}
		fputs("</tr>\n", fp);
		free(names[k]);
	}
	fputs("</table>\n</div>\n", fp);
	free(rev);
	free(conv);
}
