/*
 * report_html_base.c - the base itself: the cohort retention heatmap
 * (the current, partial month marked), the RFM grid with its segment
 * names, the CLV and churn-risk distributions, the tracked segments.
 */
#include "report_html.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "norm.h"
#include "util.h"

static char *count_tick(char *buf, size_t n, double v, const void *arg)
{
	(void)arg;
	return hf_short(buf, n, v);
}

/* entries up and exits down: both counted from zero */
static char *abs_tick(char *buf, size_t n, double v, const void *arg)
{
	(void)arg;
	return hf_short(buf, n, fabs(v));
}

/* white to Okabe-Ito blue: the cell's colour for x in [0, 1], and the
 * text colour that reads on it */
static void shade(double x, char *fill, size_t n, const char **text)
{
	/* from (247, 251, 255) to (0, 90, 140) */
	x = x < 0 ? 0 : x > 1 ? 1 : x;
	snprintf(fill, n, "rgb(%d,%d,%d)", (int)lround(247 - 247 * x), (int)lround(251 - 161 * x),
		 (int)lround(255 - 115 * x));
	*text = x > 0.45 ? "#fff" : "#1a1a1a";
}

/* ---- cohort heatmap ------------------------------------------------------------ */

void rh_cohorts(FILE *fp, struct report *r)
{
	struct report_opts o = *r->o;
	const struct report_opts *saved = r->o;
	struct rtab t;
	const int cw = 34, ch = 22, L = 100, T = 40;
	int W, H, any_partial = 0, nper;
	int64_t now_m = rh_month(r->crm->now);
	int partial_now = rh_month(r->crm->now + 1) == now_m;
	char buf[64], fill[32];

	o.metric = "retention";
	o.periods = 12;
	o.by_week = 0;
	r->o = &o;
	report_build_cohorts(r, &t);
	r->o = saved;
	if (!t.nrows) {
		fputs("<p>No cohorts: no completed orders.</p>\n", fp);
		rh_free_tab(&t);
		return;
	}
	nper = (int)t.ncols - 3;
	W = L + nper * cw + 6;
	W = W < 300 ? 300 : W;
	H = T + (int)t.nrows * ch + 30;
	fputs("<p>Share of each monthly cohort (customers by the month of their first order) "
	      "who ordered again 0, 1, 2 ... months later. A dashed cell is the current month, "
	      "still partial: its share can still grow.</p>\n", fp);
	svg_open(fp, "cohorts", W, H, "Cohort retention heatmap");
	svg_text(fp, L, 14, NULL, 11, NULL, "months since the first order");
	for (int i = 0; i < nper; i++) {
		snprintf(buf, sizeof(buf), "%d", i);
		svg_text(fp, L + i * cw + cw / 2.0, T - 8, "middle", 11, NULL, buf);
	}
	svg_text(fp, 4, T - 8, NULL, 11, NULL, "cohort (size)");
	for (size_t j = 0; j < t.nrows; j++) {
		const struct out_val *row = &t.v[j * t.ncols];
		int y = T + (int)j * ch;
		int cy = 0, cm = 0;
		int64_t cmonth;
		if (row[0].t == OUT_TEXT)
			sscanf(row[0].s, "%d-%d", &cy, &cm);
		cmonth = (int64_t)cy * 12 + cm - 1;
		snprintf(fill, sizeof(fill), " (%lld)", (long long)row[1].i);
		hf_month(buf, sizeof(buf), cmonth);
		strncat(buf, fill, sizeof(buf) - strlen(buf) - 1);
		svg_text(fp, 4, y + 15, NULL, 11, NULL, buf);
		for (int i = 0; i < nper; i++) {
			double x = rh_num(&row[i + 3]);
			const char *tc;
			int part = partial_now && cmonth + i == now_m;
			if (isnan(x))
				continue;
			any_partial |= part;
			shade(x, fill, sizeof(fill), &tc);
			fprintf(fp, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"%s>"
				"<title>%s, month %d: %s%s</title></rect>\n", L + i * cw, y, cw - 2, ch - 2,
				fill, part ? " stroke=\"#1a1a1a\" stroke-dasharray=\"3,2\"" : "",
				hf_month(buf, sizeof(buf), cmonth), i, hf_pct(buf + 32, 32, x),
				part ? " so far (partial month)" : "");
			fprintf(fp, "<text x=\"%d\" y=\"%d\" font-size=\"10\" text-anchor=\"middle\""
				" fill=\"%s\">%.0f%%%s</text>\n", L + i * cw + cw / 2 - 1, y + 15, tc,
				x * 100, part ? "*" : "");
		}
	}
	if (any_partial)
		svg_text(fp, 4, H - 10, NULL, 11, NULL,
			 "* dashed: the current month, partial");
	svg_close(fp);
	rh_free_tab(&t);
}

/* ---- RFM grid ------------------------------------------------------------------ */

/* crm-score(1)'s segment names as words short enough for a cell */
static const char *seg_word(const char *s)
{
	static const char *const w[][2] = {
		{ "champions", "Champions" }, { "loyal", "Loyal" },
		{ "potential_loyalist", "Potential" }, { "new", "New" },
		{ "promising", "Promising" }, { "need_attention", "Attention" },
		{ "about_to_sleep", "Sleepy" }, { "at_risk", "At risk" },
		{ "cannot_lose", "Can't lose" }, { "hibernating", "Hibernating" },
		{ "lost", "Lost" },
	};

	for (size_t i = 0; s && i < sizeof(w) / sizeof(w[0]); i++)
		if (!strcmp(s, w[i][0]))
			return w[i][1];
	return s ? s : "";
}

void rh_rfm(FILE *fp, struct report *r)
{
	struct sb sql = SB_INIT;
	sqlite3_stmt *st;
	char f[128], fill[32];
	int64_t n[10][10] = { { 0 } }, best[10][10] = { { 0 } }, max = 0, total = 0;
	char *seg[10][10] = { { 0 } };
	int N = 2; /* the grid: crm-score rfm --bins, 2 to 9 */
	const int cs = 66, L = 40, T = 10;
	struct rtab t;

	/* per cell its customers and the segment most of them are in */
	sb_addf(&sql, "SELECT s.r, s.f, s.rfm_segment, count(*) FROM scores s WHERE s.r BETWEEN 1"
		" AND 9 AND s.f BETWEEN 1 AND 9%s GROUP BY s.r, s.f, s.rfm_segment",
		report_filter(r, "s.customer_id", f, sizeof(f)));
	st = db_prepare(r->crm->db, sql.buf);
	while (db_row(st)) {
		int rr = sqlite3_column_int(st, 0), ff = sqlite3_column_int(st, 1);
		const char *s = (const char *)sqlite3_column_text(st, 2);
		int64_t k = sqlite3_column_int64(st, 3);
		n[rr][ff] += k;
		if (k > best[rr][ff]) {
			best[rr][ff] = k;
			free(seg[rr][ff]);
			seg[rr][ff] = s ? xstrdup(s) : NULL;
		}
		N = rr > N ? rr : N;
		N = ff > N ? ff : N;
		total += k;
	}
	sqlite3_finalize(st);
	sb_free(&sql);
	if (!total) {
		fputs("<p>No RFM scores: run <code>crm-score rfm</code>.</p>\n", fp);
		return;
	}
	for (int rr = 1; rr <= N; rr++)
		for (int ff = 1; ff <= N; ff++)
			max = n[rr][ff] > max ? n[rr][ff] : max;
	fputs("<p>Customers by recency score (across: the higher, the more recent their last "
	      "order) and frequency score (up: the higher, the more orders). Each cell names the "
	      "segment most of its customers are in; the table below has every segment.</p>\n", fp);
	svg_open(fp, "rfm", L + N * cs + 6, T + N * cs + 24, "RFM grid");
	for (int rr = 1; rr <= N; rr++)
		for (int ff = 1; ff <= N; ff++) {
			double x = max ? (double)n[rr][ff] / max : 0;
			int px = L + (rr - 1) * cs, py = T + (N - ff) * cs;
			const char *tc;
			shade(x * 0.9, fill, sizeof(fill), &tc);
			fprintf(fp, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\">"
				"<title>R %d F %d: %lld customers", px, py, cs - 3, cs - 3, fill, rr, ff,
				(long long)n[rr][ff]);
			if (seg[rr][ff]) {
				fputs(", most ", fp);
				rh_esc(fp, seg[rr][ff]);
			}
			fprintf(fp, "</title></rect><text x=\"%d\" y=\"%d\" font-size=\"13\" "
				"text-anchor=\"middle\" fill=\"%s\">%lld</text>\n", px + cs / 2 - 1,
				py + cs / 2 - 2, tc, (long long)n[rr][ff]);
			if (n[rr][ff] && seg[rr][ff]) {
				fprintf(fp, "<text x=\"%d\" y=\"%d\" font-size=\"9\" text-anchor=\"middle\""
					" fill=\"%s\">", px + cs / 2 - 1, py + cs / 2 + 12, tc);
				rh_esc(fp, seg_word(seg[rr][ff]));
				fputs("</text>\n", fp);
			}
			free(seg[rr][ff]);
		}
	for (int k = 1; k <= N; k++) {
		char lab[8];
		snprintf(lab, sizeof(lab), "R%d", k);
		svg_text(fp, L + (k - 1) * cs + cs / 2.0, T + N * cs + 14, "middle", 11, NULL, lab);
		snprintf(lab, sizeof(lab), "F%d", k);
		svg_text(fp, 8, T + (N - k) * cs + cs / 2.0 + 4, NULL, 11, NULL, lab);
	}
	svg_close(fp);
	if (report_build_rfm(r, &t) == 0) {
		/* the segment names as words */
		for (size_t j = 0; j < t.nrows; j++) {
			struct out_val *v = &t.v[j * t.ncols];
			char buf[64];
			if (v->t != OUT_TEXT)
				continue;
			hf_label(buf, sizeof(buf), v->s);
			rtab_text(&t, v, buf);
		}
		rh_table(fp, &t, "RFM segments", NULL);
		rh_free_tab(&t);
	}
}

/* ---- CLV and churn-risk distributions -------------------------------------- */

#define NBIN 10

static void histogram(FILE *fp, const char *id, const char *label, const int64_t *k, int nb,
		      const char *const *lab, const char *xtitle)
{
	const double W = RH_W, H = 220, L = 56, R = 10, T = 12, B = 44;
	int64_t max = 0;
	struct svg_axis ax;
	char buf[64];

	for (int i = 0; i < nb; i++)
		max = k[i] > max ? k[i] : max;
	svg_nice(&ax, 0, (double)max, 4, 1);
	svg_open(fp, id, (int)W, (int)H, label);
	svg_yaxis(fp, &ax, L, W - R, H - B, T, count_tick, NULL);
	for (int i = 0; i < nb; i++) {
		double bw = (W - L - R) / nb, y0 = H - B, y = svg_map(&ax, (double)k[i], H - B, T);
		fprintf(fp, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\">"
			"<title>%s: %s customers</title></rect>\n", L + i * bw + 2, y, bw - 4, y0 - y,
			svg_palette[0], lab[i], hf_int(buf, sizeof(buf), k[i]));
		svg_text(fp, L + (i + 0.5) * bw, H - B + 14, "middle", 10, NULL, lab[i]);
	}
	svg_text(fp, L, H - 6, NULL, 11, NULL, xtitle);
	svg_close(fp);
}

void rh_scores(FILE *fp, struct report *r)
{
	struct sb sql = SB_INIT;
	sqlite3_stmt *st;
	char f[128], code[8] = "", buf[64];
	double *clv = NULL, hi;
	size_t n = 0, cap = 0;
	int64_t k[NBIN] = { 0 }, risk[NBIN] = { 0 };
	char labs[NBIN][40];
	const char *lp[NBIN];
	struct svg_axis ax;

	sb_addf(&sql, "SELECT s.clv, s.churn_risk, (SELECT currency FROM models m WHERE"
		" m.id = s.clv_model_id) FROM scores s WHERE s.clv IS NOT NULL%s ORDER BY s.clv",
		report_filter(r, "s.customer_id", f, sizeof(f)));
	st = db_prepare(r->crm->db, sql.buf);
	while (db_row(st)) {
		double p = sqlite3_column_double(st, 1);
		if (n == cap)
			clv = xrealloc(clv, (cap = cap ? 2 * cap : 256) * sizeof(double));
		clv[n++] = sqlite3_column_double(st, 0);
		if (sqlite3_column_type(st, 1) != SQLITE_NULL)
			risk[p >= 1 ? NBIN - 1 : p <= 0 ? 0 : (int)(p * NBIN)]++;
		if (!code[0] && sqlite3_column_text(st, 2))
			snprintf(code, sizeof(code), "%s", (const char *)sqlite3_column_text(st, 2));
	}
	sqlite3_finalize(st);
	sb_free(&sql);
	if (!n) {
		fputs("<p>No customer lifetime values: run <code>crm-score clv</code>.</p>\n", fp);
		return;
	}
	/* bins up to the 95th percentile, the long tail in the last one */
	hi = clv[(size_t)((n - 1) * 0.95)];
	svg_nice(&ax, 0, hi > 0 ? hi : 1, NBIN - 1, 1);
	for (size_t i = 0; i < n; i++) {
		int b = (int)((clv[i] - ax.lo) / ax.step);
		k[b < 0 ? 0 : b >= NBIN - 1 ? NBIN - 1 : b]++;
	}
	for (int i = 0; i < NBIN; i++) {
		char a[32];
		hf_money_short(a, sizeof(a), ax.lo + i * ax.step, code);
		if (i == NBIN - 1)
			snprintf(labs[i], sizeof(labs[i]), "%s+", a);
		else
			snprintf(labs[i], sizeof(labs[i]), "%s", a);
		lp[i] = labs[i];
	}
	fprintf(fp, "<p>Customers by their lifetime value (crm-score clv, the expected revenue "
		"of its horizon, in %s): %s customers, ", code[0] ? code : "the model's currency",
		hf_int(buf, sizeof(buf), (int64_t)n));
	rh_esc(fp, hf_money(buf, sizeof(buf), clv[n / 2], code[0] ? code : NULL));
	fputs(" the median.</p>\n", fp);
	histogram(fp, "clv", "Customer lifetime value distribution", k, NBIN, lp,
		  "lifetime value, from each bar's figure up");
	free(clv);
	for (int i = 0; i < NBIN; i++) {
		snprintf(labs[i], sizeof(labs[i]), "%d%%", i * 100 / NBIN);
		lp[i] = labs[i];
	}
	fputs("<p>Customers by churn risk (1 − P(alive) of the purchase model): how likely "
	      "each is to have stopped buying.</p>\n", fp);
	histogram(fp, "churn", "Churn risk distribution", risk, NBIN, lp,
		  "churn risk, from each bar's figure up");
}

/* ---- tracked segments ------------------------------------------------------------ */

#define NSEG 8

void rh_segments(FILE *fp, struct report *r)
{
	sqlite3_stmt *st = db_prepare(r->crm->db,
		"SELECT s.id, s.name, count(*), max(run_at) FROM segments s JOIN segment_runs u"
		" ON u.segment_id = s.id GROUP BY s.id ORDER BY max(run_at) DESC, s.name LIMIT 8");
	int64_t ids[NSEG];
	char *names[NSEG];
	int ns = 0;

	while (db_row(st) && ns < NSEG) {
		ids[ns] = sqlite3_column_int64(st, 0);
		names[ns++] = xstrdup((const char *)sqlite3_column_text(st, 1));
	}
	sqlite3_finalize(st);
	if (!ns) {
		fputs("<p>No tracked segments: run <code>crm-segment -s NAME --track</code>.</p>\n", fp);
		return;
	}
	fputs("<p>Each tracked segment (<code>crm-segment -s NAME --track</code>) run by run: "
	      "its members (the line), who entered (bars up) and who left (bars down) since "
	      "the run before.</p>\n", fp);
	for (int s = 0; s < ns; s++) {
		const double W = RH_W, H = 260, L = 56, R = 10, T = 26, M = 120, B = 26;
		int64_t *mem = NULL, *ent = NULL, *ex = NULL;
		char **when = NULL, buf[64], id[32];
		size_t n = 0, cap = 0;
		double maxm = 0, maxe = 0;
		struct svg_axis am, ae;

		st = db_prepare(r->crm->db, "SELECT run_at, members, entered, exited FROM segment_runs"
				" WHERE segment_id = ?1 ORDER BY run_at, id");
		sqlite3_bind_int64(st, 1, ids[s]);
		while (db_row(st)) {
			if (n == cap) {
				cap = cap ? 2 * cap : 16;
				mem = xrealloc(mem, cap * sizeof(*mem));
				ent = xrealloc(ent, cap * sizeof(*ent));
				ex = xrealloc(ex, cap * sizeof(*ex));
				when = xrealloc(when, cap * sizeof(*when));
			}
			when[n] = xstrdup((const char *)sqlite3_column_text(st, 0));
			mem[n] = sqlite3_column_int64(st, 1);
			ent[n] = sqlite3_column_int64(st, 2);
			ex[n] = sqlite3_column_int64(st, 3);
			maxm = fmax(maxm, (double)mem[n]);
			/* a first run's entries are everyone: not drawn as entries */
			if (n)
				maxe = fmax(maxe, (double)(ent[n] > ex[n] ? ent[n] : ex[n]));
			n++;
		}
		sqlite3_finalize(st);
		fputs("<h3>", fp);
		rh_esc(fp, names[s]);
		fprintf(fp, "</h3>\n<p class=\"small\">%s members at the last run (%.10s)", 
			hf_int(buf, sizeof(buf), mem[n - 1]), when[n - 1]);
		if (n > 1)
			fprintf(fp, ", %lld entered and %lld left then", (long long)ent[n - 1],
				(long long)ex[n - 1]);
		fputs(".</p>\n", fp);
		snprintf(id, sizeof(id), "segment-%d", s + 1);
		snprintf(buf, sizeof(buf), "Segment %s over time", names[s]);
		svg_nice(&am, 0, maxm, 3, 1);
		svg_nice(&ae, -fmax(maxe, 1), fmax(maxe, 1), 2, 1);
		svg_open(fp, id, (int)W, (int)H, buf);
		svg_text(fp, 4, 12, NULL, 11, NULL, "members");
		svg_yaxis(fp, &am, L, W - R, T + M - 20, T, count_tick, NULL);
		svg_text(fp, 4, T + M - 2, NULL, 11, NULL, "entered / left");
		svg_yaxis(fp, &ae, L, W - R, H - B, T + M + 6, abs_tick, NULL);
		{
			double step = (W - L - R) / (double)n;
			fputs("<polyline fill=\"none\" stroke=\"#0072B2\" stroke-width=\"2\" points=\"", fp);
			for (size_t i = 0; i < n; i++)
				fprintf(fp, "%s%.1f,%.1f", i ? " " : "", L + (i + 0.5) * step,
					svg_map(&am, (double)mem[i], T + M - 20, T));
			fputs("\"><title>members</title></polyline>\n", fp);
			for (size_t i = 0; i < n; i++) {
				double x = L + (i + 0.5) * step, bw = fmin(step * 0.5, 24);
				double y0 = svg_map(&ae, 0, H - B, T + M + 6);
				double yu = svg_map(&ae, i ? (double)ent[i] : 0, H - B, T + M + 6);
				double yd = svg_map(&ae, -(double)ex[i], H - B, T + M + 6);
				fprintf(fp, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#0072B2\">"
					"<title>%.10s: %lld members</title></circle>\n", x,
					svg_map(&am, (double)mem[i], T + M - 20, T), when[i],
					(long long)mem[i]);
				if (i && ent[i])
					fprintf(fp, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\""
						" fill=\"#009E73\"><title>%.10s: %lld entered</title></rect>\n",
						x - bw / 2, yu, bw, y0 - yu, when[i], (long long)ent[i]);
				if (ex[i])
					fprintf(fp, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\""
						" fill=\"#D55E00\"><title>%.10s: %lld left</title></rect>\n",
						x - bw / 2, y0, bw, yd - y0, when[i], (long long)ex[i]);
			}
			/* dates: about six */
			for (size_t i = 0, k = n > 6 ? (n + 5) / 6 : 1; i < n; i += k) {
				char d[16];
				snprintf(d, sizeof(d), "%.10s", when[i]);
				svg_text(fp, fmax(L + (i + 0.5) * step, L + 34), H - 6, "middle", 10, NULL, d);
			}
		}
		svg_close(fp);
		for (size_t i = 0; i < n; i++)
			free(when[i]);
		free(when);
		free(mem);
		free(ent);
		free(ex);
		free(names[s]);
	}
}
