/*
 * report_html.c - crm-report --html FILE: one self-contained HTML page
 * for a meeting. No script, no font, no image, no style sheet comes from
 * anywhere else (a Content-Security-Policy of default-src 'none' says so
 * to the browser): the charts are inline SVG drawn here.
 *
 * Sections: the summary (a table), revenue by month (bars, the last 24
 * months, in the currency of most orders), the cohort retention heatmap
 * (12 months), the RFM grid (recency score against frequency score,
 * customers per cell) and the campaigns' conversion rates, treatment and
 * control, with their 95% intervals; for one campaign, a sentence saying
 * which method gave the intervals of revenue per recipient in its table,
 * and its click map (campaign --links); the latest holdout validation of
 * crm-score clv (the tracking curve, actual against predicted cumulative
 * repeat purchases, and the calibration table); crm-loyalty's programme
 * (its summary, its months, its tiers); deliverability against the
 * bulk-sender limits, per campaign (for one campaign, per receiving
 * domain, the ten largest and the rest as one line).
 */
#include "report.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "db.h"
#include "diag.h"
#include "norm.h"
#include "util.h"

static void esc(FILE *fp, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", fp); break;
		case '>': fputs("&gt;", fp); break;
		case '&': fputs("&amp;", fp); break;
		case '"': fputs("&quot;", fp); break;
		case '\'': fputs("&#39;", fp); break;
		default: fputc(*s, fp);
		}
	}
}

static void val(FILE *fp, const struct out_val *v)
{
	switch (v->t) {
	case OUT_NULL:
		break;
	case OUT_INT:
		fprintf(fp, "%lld", (long long)v->i);
		break;
	case OUT_REAL:
		fprintf(fp, "%.15g", v->d);
		break;
	default:
		esc(fp, v->s);
	}
}

static double num(const struct out_val *v)
{
	return v->t == OUT_INT ? (double)v->i : v->t == OUT_REAL ? v->d : NAN;
}

/* A table of t, sideways (a line per column) when it is wide and short. */
static void table(FILE *fp, const struct rtab *t)
{
	int side = t->ncols > 8 && t->nrows <= 6;

	fputs("<table>\n", fp);
	if (side) {
		fputs("<tr><th></th>", fp);
		for (size_t j = 0; j < t->nrows; j++) {
			fputs("<th>", fp);
			val(fp, &t->v[j * t->ncols]);
			fputs("</th>", fp);
		}
		fputs("</tr>\n", fp);
		for (size_t i = 1; i < t->ncols; i++) {
			fputs("<tr><th>", fp);
			esc(fp, t->cols[i]);
			fputs("</th>", fp);
			for (size_t j = 0; j < t->nrows; j++) {
				fputs("<td>", fp);
				val(fp, &t->v[j * t->ncols + i]);
				fputs("</td>", fp);
			}
			fputs("</tr>\n", fp);
		}
	} else {
		fputs("<tr>", fp);
		for (size_t i = 0; i < t->ncols; i++) {
			fputs("<th>", fp);
			esc(fp, t->cols[i]);
			fputs("</th>", fp);
		}
		fputs("</tr>\n", fp);
		for (size_t j = 0; j < t->nrows; j++) {
			fputs("<tr>", fp);
			for (size_t i = 0; i < t->ncols; i++) {
				fputs("<td>", fp);
				val(fp, &t->v[j * t->ncols + i]);
				fputs("</td>", fp);
			}
			fputs("</tr>\n", fp);
		}
	}
	fputs("</table>\n", fp);
}

static void free_tab(struct rtab *t)
{
	/* rtab_emit frees; here only the parts */
	for (size_t i = 0; i < t->ncols; i++)
		free((char *)t->cols[i]);
	free(t->cols);
	free(t->v);
	for (size_t i = 0; i < t->nstrs; i++)
		free(t->strs[i]);
	free(t->strs);
}

/* ---- revenue by month ------------------------------------------------------ */

#define MONTHS 24
#define NCUR 32

struct rev_ctx {
	int64_t first;                  /* month number of the first bar */
	int64_t minor[NCUR][MONTHS];
	int64_t orders[NCUR];
};

static int64_t month_of(int64_t t)
{
	int y, m, d;
	norm_civil_from_days(t / 86400, &y, &m, &d);
	return (int64_t)y * 12 + m - 1;
}

static void rev_customer(void *arg, int64_t customer, const struct rorder *o, size_t n)
{
	struct rev_ctx *c = arg;

	(void)customer;
	for (size_t i = 0; i < n; i++) {
		int64_t k = month_of(o[i].t) - c->first;
		c->orders[o[i].cur] += !o[i].refund;
		if (k >= 0 && k < MONTHS)
			c->minor[o[i].cur][k] += o[i].amount;
	}
}

static void revenue_chart(FILE *fp, struct report *r)
{
	struct rev_ctx *c = xcalloc(1, sizeof(*c));
	double v[MONTHS], max = 0;
	int cur = -1;
	const char *code;
	const int W = 760, H = 240, L = 60, B = 40, T = 10;

	c->first = month_of(r->crm->now) - (MONTHS - 1);
	report_scan_orders(r, rev_customer, c);
	if (r->o->currency)
		cur = report_currency_index(r->o->currency);
	else
		for (int k = 0; k < NCUR && report_currency(k); k++)
			if (cur < 0 || c->orders[k] > c->orders[cur])
				cur = k;
	if (cur < 0) {
		fputs("<p>No completed orders.</p>\n", fp);
		free(c);
		return;
	}
	code = report_currency(cur);
	for (int k = 0; k < MONTHS; k++) {
		v[k] = report_major(c->minor[cur][k], code);
		if (v[k] > max)
			max = v[k];
	}
	fprintf(fp, "<p>Completed orders per month, in ");
	esc(fp, code);
	fprintf(fp, ", the last %d months.</p>\n", MONTHS);
	fprintf(fp, "<svg class=\"chart\" id=\"revenue\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\""
		" role=\"img\" aria-label=\"revenue by month\">\n", W, H, W, H);
	fprintf(fp, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#444\"/>\n", L, H - B, W - 5,
		H - B);
	fprintf(fp, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\">%.0f</text>\n", L - 4,
		T + 10, max);
	fprintf(fp, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\">0</text>\n", L - 4,
		H - B);
	for (int k = 0; k < MONTHS; k++) {
		double bw = (double)(W - L - 10) / MONTHS;
		double h = max > 0 ? v[k] / max * (H - B - T) : 0;
		int64_t m = c->first + k;
		fprintf(fp, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#3b7dd8\">"
			"<title>%04lld-%02lld: %.2f</title></rect>\n",
			L + k * bw + 2, H - B - h, bw - 4, h, (long long)(m / 12), (long long)(m % 12 + 1),
			v[k]);
		if (k % 3 == 0)
			fprintf(fp, "<text x=\"%.1f\" y=\"%d\" font-size=\"10\">%04lld-%02lld</text>\n",
				L + k * bw, H - B + 14, (long long)(m / 12), (long long)(m % 12 + 1));
	}
	fputs("</svg>\n", fp);
	free(c);
}

/* ---- cohort heatmap ---------------------------------------------------------- */

static void cohort_heatmap(FILE *fp, struct report *r)
{
	struct report_opts o = *r->o;
	const struct report_opts *saved = r->o;
	struct rtab t;
	const int cw = 46, ch = 20, L = 130, T = 24;
	int W, H;

	o.metric = "retention";
	o.periods = 12;
	o.by_week = 0;
	r->o = &o;
	report_build_cohorts(r, &t);
	r->o = saved;
	if (!t.nrows) {
		fputs("<p>No cohorts: no completed orders.</p>\n", fp);
		free_tab(&t);
		return;
	}
	W = L + (int)(t.ncols - 3) * cw + 10;
	H = T + (int)t.nrows * ch + 10;
	fputs("<p>Share of each monthly cohort (by first order) that ordered in the months since.</p>\n",
	      fp);
	fprintf(fp, "<svg class=\"chart\" id=\"cohorts\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\""
		" role=\"img\" aria-label=\"cohort retention\">\n", W, H, W, H);
	for (size_t i = 3; i < t.ncols; i++)
		fprintf(fp, "<text x=\"%d\" y=\"16\" font-size=\"11\" text-anchor=\"middle\">%s</text>\n",
			L + (int)(i - 3) * cw + cw / 2, t.cols[i]);
	for (size_t j = 0; j < t.nrows; j++) {
		const struct out_val *row = &t.v[j * t.ncols];
		int y = T + (int)j * ch;
		fprintf(fp, "<text x=\"4\" y=\"%d\" font-size=\"11\">", y + 14);
		val(fp, &row[0]);
		fprintf(fp, " (%lld)</text>\n", (long long)row[1].i);
		for (size_t i = 3; i < t.ncols; i++) {
			double x = num(&row[i]);
			int light;
			if (isnan(x))
				continue;
			/* white to dark blue */
			light = (int)lround(245 - 200 * (x > 1 ? 1 : x));
			fprintf(fp, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
				"fill=\"rgb(%d,%d,%d)\"/><text x=\"%d\" y=\"%d\" font-size=\"10\" "
				"text-anchor=\"middle\" fill=\"%s\">%.0f%%</text>\n",
				L + (int)(i - 3) * cw, y, cw - 2, ch - 2, light - 30 > 0 ? light - 30 : 0,
				light, 255, L + (int)(i - 3) * cw + cw / 2, y + 14,
				x > 0.5 ? "#fff" : "#000", x * 100);
		}
	}
	fputs("</svg>\n", fp);
	free_tab(&t);
}

/* ---- RFM grid ------------------------------------------------------------------ */

static void rfm_grid(FILE *fp, struct report *r)
{
	struct sb sql = SB_INIT;
	sqlite3_stmt *st;
	char f[128];
	int64_t n[10][10] = { { 0 } }, max = 0, total = 0;
	int N = 2; /* the grid: crm-score rfm --bins, 2 to 9 */
	const int cs = 48, L = 40, T = 10;

	sb_addf(&sql, "SELECT s.r, s.f, count(*) FROM scores s WHERE s.r BETWEEN 1 AND 9"
		" AND s.f BETWEEN 1 AND 9%s GROUP BY s.r, s.f",
		report_filter(r, "s.customer_id", f, sizeof(f)));
	st = db_prepare(r->crm->db, sql.buf);
	while (db_row(st)) {
		int64_t k = sqlite3_column_int64(st, 2);
		int rr = sqlite3_column_int(st, 0), ff = sqlite3_column_int(st, 1);
		n[rr][ff] = k;
		N = rr > N ? rr : N;
		N = ff > N ? ff : N;
		total += k;
		if (k > max)
			max = k;
	}
	sqlite3_finalize(st);
	sb_free(&sql);
	if (!total) {
		fputs("<p>No RFM scores: run <code>crm-score rfm</code>.</p>\n", fp);
		return;
	}
	fputs("<p>Customers by recency score (across, the highest is the most recent) and "
	      "frequency score (up, the highest is the most frequent).</p>\n", fp);
	fprintf(fp, "<svg class=\"chart\" id=\"rfm\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\""
		" role=\"img\" aria-label=\"RFM grid\">\n", L + N * cs + 10, T + N * cs + 30,
		L + N * cs + 10, T + N * cs + 30);
	for (int rr = 1; rr <= N; rr++)
		for (int ff = 1; ff <= N; ff++) {
			double x = max ? (double)n[rr][ff] / max : 0;
			int light = (int)lround(245 - 190 * x);
			int px = L + (rr - 1) * cs, py = T + (N - ff) * cs;
			fprintf(fp, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"rgb(255,%d,%d)\">"
				"<title>R %d F %d: %lld</title></rect><text x=\"%d\" y=\"%d\" font-size=\"12\" "
				"text-anchor=\"middle\">%lld</text>\n",
				px, py, cs - 3, cs - 3, light, light - 40 > 0 ? light - 40 : 0, rr, ff,
				(long long)n[rr][ff], px + cs / 2, py + cs / 2 + 4, (long long)n[rr][ff]);
		}
	for (int k = 1; k <= N; k++) {
		fprintf(fp, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">R%d</text>\n",
			L + (k - 1) * cs + cs / 2, T + N * cs + 16, k);
		fprintf(fp, "<text x=\"%d\" y=\"%d\" font-size=\"11\">F%d</text>\n", 8,
			T + (N - k) * cs + cs / 2 + 4, k);
	}
	fputs("</svg>\n", fp);
}

/* ---- holdout validation: the tracking curve ---------------------------------- */

static double jnum(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static void holdout_chart(FILE *fp, struct report *r)
{
	struct report_holdout h;
	struct rtab t;
	const int W = 760, H = 260, L = 70, B = 40, T = 16, R = 10;
	int n, cal = 0;
	double max = 0;
	const cJSON *p;

	if (report_holdout_load(r, &h, 1)) {
		fputs("<p>No holdout validation: run <code>crm-score clv --as-of DATE "
		      "--holdout-end DATE</code>.</p>\n", fp);
		return;
	}
	n = cJSON_GetArraySize(h.tracking);
	cJSON_ArrayForEach(p, h.tracking) {
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(p, "end");
		max = fmax(max, fmax(jnum(p, "actual"), jnum(p, "predicted")));
		if (cJSON_IsString(e) && strncmp(e->valuestring, h.as_of, 10) <= 0)
			cal++;
	}
	fprintf(fp, "<p>The %s model fitted to the orders up to %.10s predicted %.0f repeat "
		"purchases from then to %.10s; %.0f were made (", h.model, h.as_of, h.predicted,
		h.holdout_end, h.actual);
	if (h.actual > 0)
		fprintf(fp, "%+.1f%%", 100 * (h.predicted - h.actual) / h.actual);
	else
		fputs("none to compare", fp);
	fprintf(fp, "). Per customer, the mean absolute error is %.2f purchases and the "
		"correlation of predicted with actual %.2f. The curve: cumulative repeat "
		"purchases of the %lld customers, per %s.</p>\n", h.mae, h.corr,
		(long long)h.customers, h.week ? "week" : "day");
	if (n > 0 && max > 0) {
		double xs = (double)(W - L - R) / (n > 1 ? n - 1 : 1), ys = (H - B - T) / max;
		const char *what[2] = { "actual", "predicted" };
		fprintf(fp, "<svg class=\"chart\" id=\"holdout\" width=\"%d\" height=\"%d\""
			" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"holdout tracking\">\n",
			W, H, W, H);
		fprintf(fp, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#444\"/>\n",
			L, H - B, W - R, H - B);
		fprintf(fp, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\">%.0f</text>\n"
			"<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\">0</text>\n",
			L - 4, T + 4, max, L - 4, H - B);
		if (cal > 0 && cal < n) {
			double x = L + (cal - 1) * xs;
			fprintf(fp, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#999\""
				" stroke-dasharray=\"3,3\"/><text x=\"%.1f\" y=\"%d\" font-size=\"10\""
				" text-anchor=\"%s\">end of calibration</text>\n", x, T, x, H - B,
				x + (x > W / 2 ? -4 : 4), T + 8, x > W / 2 ? "end" : "start");
		}
		for (int k = 0; k < 2; k++) {
			int i = 0;
			fprintf(fp, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"",
				k ? "#e08a1e" : "#3b7dd8", k ? " stroke-dasharray=\"6,4\"" : "");
			cJSON_ArrayForEach(p, h.tracking) {
				fprintf(fp, "%s%.1f,%.1f", i ? " " : "", L + i * xs,
					H - B - jnum(p, what[k]) * ys);
				i++;
			}
			fprintf(fp, "\"><title>%s</title></polyline>\n", what[k]);
		}
		/* about six dates along the axis */
		for (int i = 0, step = n > 6 ? (n + 5) / 6 : 1; i < n; i += step) {
			const cJSON *e = cJSON_GetObjectItemCaseSensitive(
				cJSON_GetArrayItem(h.tracking, i), "end");
			fprintf(fp, "<text x=\"%.1f\" y=\"%d\" font-size=\"10\" text-anchor=\"%s\">",
				L + i * xs, H - B + 14, i ? "middle" : "start");
			esc(fp, cJSON_IsString(e) ? e->valuestring : "");
			fputs("</text>\n", fp);
		}
		fprintf(fp, "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"3\" fill=\"#3b7dd8\"/>"
			"<text x=\"%d\" y=\"%d\" font-size=\"11\">actual</text>"
			"<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"3\" fill=\"#e08a1e\"/>"
			"<text x=\"%d\" y=\"%d\" font-size=\"11\">predicted</text>\n",
			L + 10, H - 12, L + 28, H - 8, L + 90, H - 12, L + 108, H - 8);
		fputs("</svg>\n", fp);
	}
	fputs("<p>Holdout purchases by the number of repeat purchases in the calibration "
	      "period, actual and predicted:</p>\n", fp);
	report_holdout_table(&h, &t);
	table(fp, &t);
	free_tab(&t);
	report_holdout_free(&h);
}

/* ---- loyalty: the programme and its months --------------------------------- */

static void loyalty(FILE *fp, struct report *r)
{
	struct rtab t;
	sqlite3_stmt *st = db_prepare(r->crm->db, "SELECT EXISTS (SELECT 1 FROM loyalty_accounts)");
	int any = db_row(st) && sqlite3_column_int(st, 0);

	sqlite3_finalize(st);
	if (!any) {
		fputs("<p>No loyalty accounts: run <code>crm-loyalty run</code>.</p>\n", fp);
		return;
	}
	fputs("<p>Points outstanding, pending and owed (debts), what they are worth "
	      "(the liability, at [loyalty] point_value), and the share of the points "
	      "earned that expired (breakage).</p>\n", fp);
	if (report_build_loyalty(r, NULL, &t) == 0) {
		table(fp, &t);
		free_tab(&t);
	}
	fputs("<p>Points per month: earned on purchases, bonuses, spent (orders and "
	      "rewards), taken back on refunds, expired, adjusted by hand.</p>\n", fp);
	if (report_build_loyalty(r, "month", &t) == 0) {
		table(fp, &t);
		free_tab(&t);
	}
	if (report_build_loyalty(r, "tier", &t) == 0) {
		if (t.nrows > 1) {
			fputs("<p>Members per tier, their spend of the last 365 days, and who "
			      "moved up or down in that time.</p>\n", fp);
			table(fp, &t);
		}
		free_tab(&t);
	}
}

/* ---- campaign conversion with intervals ------------------------------------ */

static void ci_row(FILE *fp, int y, double p, double n, const char *colour, double scale, int L)
{
	double se, lo, hi;

	if (!(n > 0) || isnan(p))
		return;
	se = sqrt(p * (1 - p) / n);
	lo = p - 1.959964 * se;
	hi = p + 1.959964 * se;
	if (lo < 0)
		lo = 0;
	fprintf(fp, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\"/>"
		"<circle cx=\"%.1f\" cy=\"%d\" r=\"4\" fill=\"%s\"><title>%.2f%% (%.2f%% to %.2f%%)"
		"</title></circle>\n",
		L + lo * scale, y, L + hi * scale, y, colour, L + p * scale, y, colour, p * 100,
		lo * 100, hi * 100);
}

/* Which interval of revenue per recipient the table's columns hold. */
static void rpr_note(FILE *fp, const struct report *r)
{
	fputs("<p>Revenue per recipient, treatment minus control: rpr_low and rpr_high are the "
	      "95% interval of Welch's t-test", fp);
	if (r->o->bootstrap > 0)
		fprintf(fp, "; rpr_boot_low and rpr_boot_high the 95%% percentile bootstrap of %ld "
			"resamples (seed %llu)", r->o->bootstrap, (unsigned long long)r->o->seed);
	fputs(".</p>\n", fp);
}

static void campaign_chart(FILE *fp, struct report *r, const char *name)
{
	struct rtab t;
	size_t ci_rate, ci_n, ci_ctl_rate, ci_ctl_n, ci_name;
	double max = 0;
	const int L = 180, W = 760, rowh = 34;
	int rc, H;

	if (name)
		rc = report_build_campaign(r, name, &t);
	else
		rc = report_build_campaigns(r, &t);
	if (rc)
		return;
	if (!t.nrows) {
		fputs("<p>No campaigns.</p>\n", fp);
		free_tab(&t);
		return;
	}
	table(fp, &t);
	if (name)
		rpr_note(fp, r);
	/* the columns the chart needs, by name */
	ci_rate = ci_n = ci_ctl_rate = ci_ctl_n = ci_name = 0;
	for (size_t i = 0; i < t.ncols; i++) {
		if (!strcmp(t.cols[i], "conversion_rate"))
			ci_rate = i;
		else if (!strcmp(t.cols[i], "recipients"))
			ci_n = i;
		else if (!strcmp(t.cols[i], "control_rate"))
			ci_ctl_rate = i;
		else if (!strcmp(t.cols[i], "control"))
			ci_ctl_n = i;
	}
	for (size_t j = 0; j < t.nrows; j++) {
		const struct out_val *v = &t.v[j * t.ncols];
		double a = num(&v[ci_rate]), b = ci_ctl_rate ? num(&v[ci_ctl_rate]) : NAN;
		if (a > max)
			max = a;
		if (b > max)
			max = b;
	}
	max = max > 0 ? fmin(1, max * 1.5) : 0.1;
	H = 30 + (int)t.nrows * rowh;
	fputs("<p>Conversion rate with its 95% interval: treatment in blue, control in grey.</p>\n", fp);
	fprintf(fp, "<svg class=\"chart\" id=\"campaigns\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\""
		" role=\"img\" aria-label=\"campaign conversion\">\n", W, H, W, H);
	for (int k = 0; k <= 4; k++) {
		double x = L + k * (W - L - 20) / 4.0;
		fprintf(fp, "<line x1=\"%.1f\" y1=\"10\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>"
			"<text x=\"%.1f\" y=\"%d\" font-size=\"10\" text-anchor=\"middle\">%.1f%%</text>\n",
			x, x, H - 16, x, H - 4, max * k / 4 * 100);
	}
	for (size_t j = 0; j < t.nrows; j++) {
		const struct out_val *v = &t.v[j * t.ncols];
		int y = 24 + (int)j * rowh;
		double scale = (W - L - 20) / max;
		fprintf(fp, "<text x=\"4\" y=\"%d\" font-size=\"11\">", y + 4);
		val(fp, &v[ci_name]);
		if (name) {
			fputs(" ", fp);
			val(fp, &v[1]);
		}
		fputs("</text>\n", fp);
		ci_row(fp, y - 5, num(&v[ci_rate]), num(&v[ci_n]),
		       name && v[0].t == OUT_TEXT && !strcmp(v[0].s, "control") ? "#888" : "#3b7dd8",
		       scale, L);
		if (ci_ctl_rate)
			ci_row(fp, y + 7, num(&v[ci_ctl_rate]), num(&v[ci_ctl_n]), "#888", scale, L);
	}
	fputs("</svg>\n", fp);
	free_tab(&t);
}

/* ---- deliverability ------------------------------------------------------------ */

static void deliverability(FILE *fp, struct report *r, const char *campaign)
{
	struct report_opts o = *r->o;
	const struct report_opts *saved = r->o;
	struct rtab t;
	size_t lvl = 0, over = 0;
	int rc;

	o.campaign = campaign;
	o.deliv_by[0] = campaign ? REPORT_BY_DOMAIN : REPORT_BY_CAMPAIGN;
	o.ndeliv_by = 1;
	o.top = campaign ? 10 : 0;
	r->o = &o;
	rc = report_build_deliverability(r, &t);
	r->o = saved;
	if (rc)
		return;
	if (!t.nrows) {
		fputs("<p>No e-mail sent.</p>\n", fp);
		free_tab(&t);
		return;
	}
	for (size_t i = 0; i < t.ncols; i++)
		if (!strcmp(t.cols[i], "level"))
			lvl = i;
	for (size_t j = 0; j + 1 < t.nrows; j++) {
		const struct out_val *v = &t.v[j * t.ncols + lvl];
		over += v->t == OUT_TEXT && strcmp(v->s, "ok");
	}
	fprintf(fp, "<p>E-mail sent (handed over or refused at RCPT), delivered (sent and not "
		"bounced), bounces by kind, spam complaints and unsubscribes %s. Google's and "
		"Yahoo's bulk-sender guidelines (2024): spam complaints under 0.1%% of the "
		"delivered mail (level warn), never 0.3%% (bad); bounces under 2%% of the sent "
		"(warn). %zu line%s at or over a limit.</p>\n",
		campaign ? "per receiving domain, the ten largest" : "per campaign", over,
		over == 1 ? "" : "s");
	table(fp, &t);
	free_tab(&t);
}

int report_html(struct report *r, const char *campaign)
{
	FILE *fp;
	struct rtab t;
	char now[20];

	if (campaign) {
		/* an unknown campaign is an error before the page is written */
		sqlite3_stmt *st = db_prepare(r->crm->db, "SELECT 1 FROM campaigns WHERE name = ?1");
		int found;
		sqlite3_bind_text(st, 1, campaign, -1, SQLITE_STATIC);
		found = db_row(st);
		sqlite3_finalize(st);
		if (!found) {
			crm_error("no campaign \"%s\" in %s (crm-report campaigns lists them)", campaign,
				  r->crm->db_path);
			return 1;
		}
	}
	if (!(fp = fopen_private(r->o->html, 0))) {
		crm_error_errno("%s", r->o->html);
		return 1;
	}
	norm_fmt_time(r->crm->now, now);
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	      "style-src 'unsafe-inline'\">\n"
	      "<title>crmkit report</title>\n<style>\n"
	      "body { font-family: sans-serif; margin: 2em; color: #222; background: #fff; }\n"
	      "h1 { font-size: 1.6em; } h2 { font-size: 1.2em; margin-top: 1.6em; }\n"
	      "table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }\n"
	      "th, td { border: 1px solid #ccc; padding: 2px 8px; text-align: right; }\n"
	      "th { background: #eef3fb; }\n"
	      "svg.chart { display: block; margin: 0.5em 0; }\n"
	      "</style>\n</head>\n<body>\n", fp);
	fputs("<h1>crmkit report</h1>\n<p>As of ", fp);
	esc(fp, now);
	fputs(" UTC", fp);
	if (r->o->segment) {
		fputs(", segment ", fp);
		esc(fp, r->o->segment);
	}
	if (r->o->where) {
		fputs(", customers matching <code>", fp);
		esc(fp, r->o->where);
		fputs("</code>", fp);
	}
	fputs(".</p>\n<h2>Summary</h2>\n", fp);
	if (report_build_summary(r, &t) == 0) {
		table(fp, &t);
		free_tab(&t);
	}
	fputs("<h2>Revenue by month</h2>\n", fp);
	revenue_chart(fp, r);
	fputs("<h2>Cohort retention</h2>\n", fp);
	cohort_heatmap(fp, r);
	fputs("<h2>RFM grid</h2>\n", fp);
	rfm_grid(fp, r);
	fputs("<h2>Holdout validation</h2>\n", fp);
	holdout_chart(fp, r);
	fputs("<h2>Loyalty</h2>\n", fp);
	loyalty(fp, r);
	fputs(campaign ? "<h2>Campaign</h2>\n" : "<h2>Campaigns</h2>\n", fp);
	campaign_chart(fp, r, campaign);
	if (campaign && report_build_links(r, campaign, &t) == 0) {
		fputs("<h2>Click map</h2>\n", fp);
		if (t.nrows) {
			fputs("<p>Per link of the message: a person's clicks and the recipients who "
			      "made them, and the clicks of machines (link scanners) apart.</p>\n", fp);
			table(fp, &t);
		} else {
			fputs("<p>No clicks.</p>\n", fp);
		}
		free_tab(&t);
	}
	fputs("<h2>Deliverability</h2>\n", fp);
	deliverability(fp, r, campaign);
	fputs("</body>\n</html>\n", fp);
	if (ferror(fp) | fclose(fp)) {
		crm_error_errno("%s: write error", r->o->html);
		return 1;
	}
	return 0;
}
