/*
 * report_html_camp.c - what the page says of campaigns and programmes:
 * conversion rates with their 95% intervals (Wilson's score interval,
 * clipped to the chart with a mark; a group under RH_MIN_GROUP customers
 * is said to be too small in words), deliverability against the
 * bulk-sender limits, the latest holdout validation of crm-score clv,
 * crm-loyalty's programme.
 */
#include "report_html.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "db.h"
#include "util.h"

/* the smallest group whose conversion rate gets an interval drawn */
#define RH_MIN_GROUP 20

static char *pct_tick(char *buf, size_t n, double v, const void *arg)
{
	(void)arg;
	snprintf(buf, n, "%g%%", round(v * 1000) / 10);
	return buf;
}

/* Wilson's score interval of x successes in n at 95% */
static void wilson(double p, double n, double *lo, double *hi)
{
	const double z = 1.959964, z2 = z * z;
	double d = 1 + z2 / n, c = (p + z2 / (2 * n)) / d;
	double h = z * sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / d;

	*lo = c - h < 0 ? 0 : c - h;
	*hi = c + h > 1 ? 1 : c + h;
}

/* A rate, its interval clipped to the axis from x0 to x1 (a triangle where
 * it goes on), or the words for a group too small. */
static void ci_row(FILE *fp, double y, double p, double n, const char *colour, const char *group,
		   const struct svg_axis *ax, double x0, double x1)
{
	double lo, hi, cl, ch;
	char a[32], b[32], c[32];
	int cut;

	if (!(n > 0) || isnan(p)) {
		fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"%s\">%s: none</text>\n",
			x0 + 4, y + 4, SVG_GREY, group);
		return;
	}
	if (n < RH_MIN_GROUP) {
		fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">%s: %s of %.0f, too few "
			"for an interval</text>\n", x0 + 4, y + 4, group, hf_pct(a, sizeof(a), p),
			n);
		return;
	}
	wilson(p, n, &lo, &hi);
	cl = lo;
	ch = hi;
	cut = svg_clip(&cl, &ch, ax->lo, ax->hi);
	fprintf(fp, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>"
		"<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"><title>%s: %s (95%%: %s to %s) of "
		"%.0f</title></circle>\n", svg_map(ax, cl, x0, x1), y, svg_map(ax, ch, x0, x1), y, colour,
		svg_map(ax, p, x0, x1), y, colour, group, hf_pct(a, sizeof(a), p),
		hf_pct(b, sizeof(b), lo), hf_pct(c, sizeof(c), hi), n);
	if (cut & 1)
		svg_clip_mark(fp, x0, y, -1, colour);
	if (cut & 2)
		svg_clip_mark(fp, x1, y, 1, colour);
}

/* Which interval of revenue per recipient the table's columns hold. */
static void rpr_note(FILE *fp, const struct report *r)
{
	fputs("<p>Revenue per recipient, treatment minus control: the 95% interval "
	      "(low and high) of Welch's t-test", fp);
	if (r->o->bootstrap > 0)
		fprintf(fp, "; the bootstrap low and high the 95%% percentile bootstrap of %ld "
			"resamples (seed %llu)", r->o->bootstrap, (unsigned long long)r->o->seed);
	fputs(".</p>\n", fp);
}

static size_t col(const struct rtab *t, const char *name)
{
	for (size_t i = 0; i < t->ncols; i++)
		if (!strcmp(t->cols[i], name))
			return i;
	return (size_t)-1;
}

void rh_campaigns(FILE *fp, struct report *r, const char *name)
{
	struct rtab t;
	size_t ci_rate, ci_n, ci_ctl_rate, ci_ctl_n;
	double max = 0;
	const double W = RH_W, L = 150, R = 14, rowh = 40;
	struct svg_axis ax;
	int rc, H;

	rc = name ? report_build_campaign(r, name, &t) : report_build_campaigns(r, &t);
	if (rc)
		return;
	if (!t.nrows) {
		fputs("<p>No campaigns.</p>\n", fp);
		rh_free_tab(&t);
		return;
	}
	ci_rate = col(&t, "conversion_rate");
	ci_n = col(&t, "recipients");
	ci_ctl_rate = col(&t, "control_rate");
	ci_ctl_n = col(&t, "control");
	for (size_t j = 0; j < t.nrows; j++) {
		const struct out_val *v = &t.v[j * t.ncols];
		double a = rh_num(&v[ci_rate]), b = ci_ctl_rate != (size_t)-1 ? rh_num(&v[ci_ctl_rate]) : NAN;
		max = fmax(max, isnan(a) ? 0 : a);
		max = fmax(max, isnan(b) ? 0 : b);
	}
	/* the axis: up to half as much again as the highest rate; an
	 * interval past it is cut with a mark */
	svg_nice(&ax, 0, max > 0 ? fmin(1, max * 1.5) : 0.1, 4, 1);
	H = 40 + (int)(t.nrows * rowh);
	fprintf(fp, "<p>Conversion rate with its 95%% interval (Wilson's): treatment in blue, "
		"control in grey; a triangle where an interval goes on past the chart. A group of "
		"fewer than %d customers gets no interval: it would say nothing.</p>\n",
		RH_MIN_GROUP);
	svg_open(fp, "campaigns", (int)W, H, "Campaign conversion rates with intervals");
	for (double v = ax.lo; v <= ax.hi + ax.step / 2; v += ax.step) {
		double x = svg_map(&ax, v, L, W - R);
		char buf[32];
		fprintf(fp, "<line x1=\"%.1f\" y1=\"10\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>\n", x, x,
			H - 22);
		svg_text(fp, x, H - 8, v == ax.lo ? "start" : v + ax.step / 2 > ax.hi ? "end" : "middle",
			 11, NULL, pct_tick(buf, sizeof(buf), v, NULL));
	}
	for (size_t j = 0; j < t.nrows; j++) {
		const struct out_val *v = &t.v[j * t.ncols];
		double y = 24 + j * rowh;
		int ctl_row = name && v[0].t == OUT_TEXT && !strcmp(v[0].s, "control");
		char lab[64] = "";
		/* the name, cut to fit left of the chart */
		if (v[0].t == OUT_TEXT)
			snprintf(lab, sizeof(lab), "%s", v[0].s);
		if (name && v[1].t == OUT_TEXT) {
			strncat(lab, " ", sizeof(lab) - strlen(lab) - 1);
			strncat(lab, v[1].s, sizeof(lab) - strlen(lab) - 1);
		}
		if (svg_text_width(lab, 11) > L - 8) {
			size_t cut = (size_t)((L - 8) / (11 * 0.62)) - 3;
			while (cut && ((unsigned char)lab[cut] & 0xc0) == 0x80)
				cut--;
			memcpy(lab + cut, "...", 4);
		}
		/* beside its one row, or between treatment and control */
		svg_text(fp, 4, y + (ci_ctl_rate != (size_t)-1 ? 12 : 4), NULL, 11, NULL, lab);
		ci_row(fp, y, rh_num(&v[ci_rate]), rh_num(&v[ci_n]), ctl_row ? "#767676" : "#0072B2",
		       ctl_row ? "control" : "treatment", &ax, L, W - R);
		if (ci_ctl_rate != (size_t)-1)
			ci_row(fp, y + 16, rh_num(&v[ci_ctl_rate]), rh_num(&v[ci_ctl_n]), "#767676",
			       "control", &ax, L, W - R);
	}
	svg_close(fp);
	rh_table(fp, &t, name ? "Campaign" : "Campaigns", NULL);
	if (name)
		rpr_note(fp, r);
	rh_free_tab(&t);
}

/* ---- deliverability ------------------------------------------------------------ */

/* Bounce, complaint and unsubscribe rates, a panel each, a row per line
 * of t (at most 12), the limits as dashed lines. */
static void deliv_chart(FILE *fp, const struct rtab *t)
{
	static const char *const cols[3] = { "bounce_rate", "complaint_rate", "unsubscribe_rate" };
	static const char *const titles[3] = { "bounces", "spam complaints", "unsubscribes" };
	static const double limits[3][2] = {
		{ REPORT_BOUNCE_WARN, 0 }, { REPORT_COMPLAINT_WARN, REPORT_COMPLAINT_BAD }, { 0, 0 },
	};
	const double W = RH_W, L = 112, G = 22, T = 30, rowh = 18;
	size_t ci[3], nrow = t->nrows < 12 ? t->nrows : 12;
	double pw = (W - L - 2 * G - 6) / 3;
	int H = (int)(T + nrow * rowh + 26);
	char buf[64];

	for (int k = 0; k < 3; k++)
		if ((ci[k] = col(t, cols[k])) == (size_t)-1)
			return;
	fputs("<p>The rates by line; a dashed line is a limit.</p>\n", fp);
	svg_open(fp, "deliverability", (int)W, H, "Bounce, complaint and unsubscribe rates");
	for (int k = 0; k < 3; k++) {
		double x0 = L + k * (pw + G), max = 0;
		struct svg_axis ax;
		for (size_t j = 0; j < nrow; j++) {
			double v = rh_num(&t->v[j * t->ncols + ci[k]]);
			max = fmax(max, isnan(v) ? 0 : v);
		}
		max = fmax(max, limits[k][1] ? limits[k][1] * 1.2 : limits[k][0] * 1.2);
		svg_nice(&ax, 0, max > 0 ? max : 0.01, 2, 1);
		svg_text(fp, x0, 12, NULL, 11, NULL, titles[k]);
		for (double v = ax.lo; v <= ax.hi + ax.step / 2; v += ax.step) {
			double x = svg_map(&ax, v, x0, x0 + pw);
			fprintf(fp, "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#ddd\"/>\n",
				x, T - 6, x, T + nrow * rowh);
			svg_text(fp, x, H - 10, v == ax.lo ? "start" : v + ax.step / 2 > ax.hi ? "end" :
				 "middle", 10, NULL, pct_tick(buf, sizeof(buf), v, NULL));
		}
		for (size_t j = 0; j < nrow; j++) {
			double v = rh_num(&t->v[j * t->ncols + ci[k]]), y = T + j * rowh;
			double x1 = svg_map(&ax, isnan(v) ? 0 : v, x0, x0 + pw);
			int over = (limits[k][0] && v >= limits[k][0]);
			fprintf(fp, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\">"
				"<title>", x0, y + 2, x1 - x0, rowh - 6, over ? "#D55E00" : "#0072B2");
			rh_esc(fp, t->v[j * t->ncols].t == OUT_TEXT ? t->v[j * t->ncols].s : "");
			fprintf(fp, ": %s %s%s</title></rect>\n", titles[k], hf_pct(buf, sizeof(buf), v),
				over ? ", at or over the limit" : "");
		}
		for (int l = 0; l < 2; l++)
			if (limits[k][l])
				fprintf(fp, "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#1a1a1a\""
					" stroke-dasharray=\"3,2\"/>\n", svg_map(&ax, limits[k][l], x0, x0 + pw),
					T - 6, svg_map(&ax, limits[k][l], x0, x0 + pw), T + nrow * rowh);
	}
	for (size_t j = 0; j < nrow; j++) {
		char lab[40];
		const struct out_val *v = &t->v[j * t->ncols];
		snprintf(lab, sizeof(lab), "%s", v->t == OUT_TEXT ? v->s : "");
		if (strlen(lab) > 17) {
			size_t cut = 15;
			while (cut && ((unsigned char)lab[cut] & 0xc0) == 0x80)
				cut--;
			memcpy(lab + cut, "...", 4);
		}
		svg_text(fp, 4, T + j * rowh + rowh - 6, NULL, 11, NULL, lab);
	}
	svg_close(fp);
}

void rh_deliverability(FILE *fp, struct report *r, const char *campaign)
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
		rh_free_tab(&t);
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
		"(warn). <strong>%zu line%s at or over a limit.</strong></p>\n",
		campaign ? "per receiving domain, the ten largest" : "per campaign", over,
		over == 1 ? "" : "s");
	deliv_chart(fp, &t);
	rh_table(fp, &t, "Deliverability", NULL);
	rh_free_tab(&t);
}

/* ---- holdout validation: the tracking curve ---------------------------------- */

static double jnum(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static char *count_tick(char *buf, size_t n, double v, const void *arg)
{
	(void)arg;
	return hf_short(buf, n, v);
}

void rh_holdout(FILE *fp, struct report *r)
{
	struct report_holdout h;
	struct rtab t;
	const double W = RH_W, H = 260, L = 70, B = 40, T = 16, R = 10;
	int n, cal = 0;
	double max = 0;
	const cJSON *p;
	char a[32], b[32];

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
	fprintf(fp, "<p>The %s model fitted to the orders up to %.10s predicted %s repeat "
		"purchases from then to %.10s; ", h.model, h.as_of,
		hf_num(a, sizeof(a), h.predicted, 0), h.holdout_end);
	fprintf(fp, "%s were made (", hf_num(a, sizeof(a), h.actual, 0));
	if (h.actual > 0)
		fprintf(fp, "%+.1f%%", 100 * (h.predicted - h.actual) / h.actual);
	else
		fputs("none to compare", fp);
	fprintf(fp, "). Per customer, the mean absolute error is %.2f purchases and the "
		"correlation of predicted with actual %.2f. The curve: cumulative repeat "
		"purchases of the %s customers, per %s.</p>\n", h.mae, h.corr,
		hf_int(b, sizeof(b), (int64_t)h.customers), h.week ? "week" : "day");
	if (n > 0 && max > 0) {
		double xs = (W - L - R) / (n > 1 ? n - 1 : 1);
		const char *what[2] = { "actual", "predicted" };
		struct svg_axis ax;
		svg_nice(&ax, 0, max, 4, 1);
		svg_open(fp, "holdout", (int)W, (int)H, "Holdout tracking: actual and predicted");
		svg_yaxis(fp, &ax, L, W - R, H - B, T, count_tick, NULL);
		if (cal > 0 && cal < n) {
			double x = L + (cal - 1) * xs;
			fprintf(fp, "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#767676\""
				" stroke-dasharray=\"3,3\"/>", x, T, x, H - B);
			svg_text(fp, x + (x > W / 2 ? -4 : 4), T + 10, x > W / 2 ? "end" : "start", 11,
				 NULL, "end of calibration");
		}
		for (int k = 0; k < 2; k++) {
			int i = 0;
			fprintf(fp, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"",
				k ? "#E69F00" : "#0072B2", k ? " stroke-dasharray=\"6,4\"" : "");
			cJSON_ArrayForEach(p, h.tracking) {
				fprintf(fp, "%s%.1f,%.1f", i ? " " : "", L + i * xs,
					svg_map(&ax, jnum(p, what[k]), H - B, T));
				i++;
			}
			fprintf(fp, "\"><title>%s</title></polyline>\n", what[k]);
		}
		/* four dates along the axis, the last one's end inside */
		for (int i = 0, step = n > 4 ? (n + 3) / 4 : 1; i < n; i += step) {
			const cJSON *e = cJSON_GetObjectItemCaseSensitive(
				cJSON_GetArrayItem(h.tracking, i), "end");
			char d[16];
			double x = L + i * xs;
			snprintf(d, sizeof(d), "%.10s", cJSON_IsString(e) ? e->valuestring : "");
			svg_text(fp, x, H - B + 14, i == 0 ? "start" : x + 32 > W ? "end" : "middle", 10,
				 NULL, d);
		}
		svg_legend(fp, svg_legend(fp, L + 10, H - 6, "#0072B2", "actual"), H - 6, "#E69F00",
			   "predicted");
		svg_close(fp);
	}
	fputs("<p>Holdout purchases by the number of repeat purchases in the calibration "
	      "period, actual and predicted:</p>\n", fp);
	report_holdout_table(&h, &t);
	rh_table(fp, &t, "Holdout calibration", NULL);
	rh_free_tab(&t);
	report_holdout_free(&h);
}

/* ---- loyalty: the programme and its months --------------------------------- */

void rh_loyalty(FILE *fp, struct report *r)
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
		rh_table(fp, &t, "Loyalty programme", NULL);
		rh_free_tab(&t);
	}
	fputs("<p>Points per month: earned on purchases, bonuses, spent (orders and "
	      "rewards), taken back on refunds, expired, adjusted by hand.</p>\n", fp);
	if (report_build_loyalty(r, "month", &t) == 0) {
		rh_table(fp, &t, "Loyalty points per month", NULL);
		rh_free_tab(&t);
	}
	if (report_build_loyalty(r, "tier", &t) == 0) {
		if (t.nrows > 1) {
			fputs("<p>Members per tier, their spend of the last 365 days, and who "
			      "moved up or down in that time.</p>\n", fp);
			rh_table(fp, &t, "Loyalty tiers", NULL);
		}
		rh_free_tab(&t);
	}
}
