/*
 * report_html.c - crm-report --html FILE: one self-contained HTML page a
 * marketing manager reads, a dashboard. No script, no font, no image, no
 * style sheet comes from anywhere else (a Content-Security-Policy of
 * default-src 'none' says so to the browser): the charts are inline SVG.
 * The page reads at a phone's width (the charts have a viewBox and scale
 * down; wide tables scroll inside their box) and prints.
 *
 * Sections: KPI tiles (now against 30 days before), revenue by month
 * (from the first month with orders to the last, the current month
 * marked partial), revenue and conversions by campaign over time, the
 * campaigns' conversion rates with their 95% intervals (a group too
 * small for one is said in words) and, for one campaign, its click map,
 * deliverability against the bulk-sender limits, the cohort retention
 * heatmap (the partial month marked), the RFM grid with its segment
 * names, the CLV and churn-risk distributions, the tracked segments
 * (size, entries and exits per run), the latest holdout validation of
 * crm-score clv, crm-loyalty's programme, and the summary report per
 * currency. The parts are listed in report_html.h.
 */
#include "report_html.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "diag.h"
#include "norm.h"
#include "util.h"

void rh_esc(FILE *fp, const char *s)
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

double rh_num(const struct out_val *v)
{
	return v->t == OUT_INT ? (double)v->i : v->t == OUT_REAL ? v->d : NAN;
}

int64_t rh_month(int64_t t)
{
	int y, m, d;
	int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);

	norm_civil_from_days(days, &y, &m, &d);
	return (int64_t)y * 12 + m - 1;
}

const char *rh_currency(struct report *r)
{
	static char code[8];
	struct sb sql = SB_INIT;
	sqlite3_stmt *st;
	char f[128];
	const char *ret = NULL;

	if (r->o->currency)
		return r->o->currency;
	sb_addf(&sql, "SELECT currency FROM orders o WHERE purchase = 1%s"
		" GROUP BY currency ORDER BY count(*) DESC, currency LIMIT 1",
		report_filter(r, "o.customer_id", f, sizeof(f)));
	st = db_prepare(r->crm->db, sql.buf);
	if (db_row(st) && sqlite3_column_text(st, 0)) {
		snprintf(code, sizeof(code), "%s", (const char *)sqlite3_column_text(st, 0));
		ret = code;
	}
	sqlite3_finalize(st);
	sb_free(&sql);
	return ret;
}

/* One cell: by its column's kind, in the row's currency; whole: every
 * number of its column is whole (written without decimals). */
static void cell(FILE *fp, const char *col, const struct out_val *v, const char *code, int whole)
{
	char buf[96];
	int kind = hf_kind(col);

	switch (v->t) {
	case OUT_NULL:
		break;
	case OUT_INT:
	case OUT_REAL:
		if (kind == HF_PCT)
			fputs(hf_pct(buf, sizeof(buf), rh_num(v)), fp);
		else if (kind == HF_MONEY)
			rh_esc(fp, hf_money(buf, sizeof(buf), rh_num(v), code));
		else if (v->t == OUT_INT)
			fputs(hf_int(buf, sizeof(buf), v->i), fp);
		else
			/* p-values, means: three figures after the point at most */
			fputs(hf_num(buf, sizeof(buf), v->d, fabs(v->d) >= 100 || whole ? 0 :
				     fabs(v->d) >= 10 ? 1 : fabs(v->d) >= 1 ? 2 : 3), fp);
		break;
	default:
		rh_esc(fp, v->s);
	}
}

static const char *row_code(const struct rtab *t, size_t j, const char *code)
{
	for (size_t i = 0; i < t->ncols; i++)
		if (!strcmp(t->cols[i], "currency")) {
			const struct out_val *v = &t->v[j * t->ncols + i];
			return v->t == OUT_TEXT && v->s[0] ? v->s : code;
		}
	return code;
}

static int is_whole(const struct rtab *t, size_t i)
{
	for (size_t j = 0; j < t->nrows; j++) {
		const struct out_val *v = &t->v[j * t->ncols + i];
		if (v->t == OUT_REAL && v->d != floor(v->d))
			return 0;
	}
	return 1;
}

static int is_text(const struct rtab *t, size_t i)
{
	for (size_t j = 0; j < t->nrows; j++)
		if (t->v[j * t->ncols + i].t == OUT_TEXT)
			return 1;
	return 0;
}

/* A heading cell in words, with the report's own column name (as
 * crm-report -f csv writes it) in its title when the words differ. */
static void head(FILE *fp, const char *col, const char *attrs)
{
	char buf[96];

	hf_label(buf, sizeof(buf), col);
	fprintf(fp, "<th%s", attrs);
	if (strcmp(buf, col)) {
		fputs(" title=\"", fp);
		rh_esc(fp, col);
		fputc('"', fp);
	}
	fputc('>', fp);
	rh_esc(fp, buf);
	fputs("</th>", fp);
}

/* A table of t, sideways (a line per column) when it is wide and short;
 * in a box of its own that scrolls sideways on a narrow screen. */
void rh_table(FILE *fp, const struct rtab *t, const char *label, const char *code)
{
	int side = t->ncols > 8 && t->nrows <= 6;

	fputs("<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-label=\"", fp);
	rh_esc(fp, label);
	fputs(" (table)\">\n<table>\n", fp);
	if (side) {
		fputs("<tr>", fp);
		head(fp, t->cols[0], " class=\"t\" scope=\"col\"");
		for (size_t j = 0; j < t->nrows; j++) {
			fputs("<th scope=\"col\">", fp);
			cell(fp, t->cols[0], &t->v[j * t->ncols], NULL, 0);
			fputs("</th>", fp);
		}
		fputs("</tr>\n", fp);
		for (size_t i = 1; i < t->ncols; i++) {
			fputs("<tr>", fp);
			head(fp, t->cols[i], " class=\"t\" scope=\"row\"");
			for (size_t j = 0; j < t->nrows; j++) {
				fputs(t->v[j * t->ncols + i].t == OUT_TEXT ? "<td class=\"t\">" : "<td>", fp);
				cell(fp, t->cols[i], &t->v[j * t->ncols + i], row_code(t, j, code),
				     is_whole(t, i));
				fputs("</td>", fp);
			}
			fputs("</tr>\n", fp);
		}
	} else {
		fputs("<tr>", fp);
		for (size_t i = 0; i < t->ncols; i++) {
			head(fp, t->cols[i], is_text(t, i) ? " scope=\"col\" class=\"t\"" : " scope=\"col\"");
		}
		fputs("</tr>\n", fp);
		for (size_t j = 0; j < t->nrows; j++) {
			fputs("<tr>", fp);
			for (size_t i = 0; i < t->ncols; i++) {
				fputs(t->v[j * t->ncols + i].t == OUT_TEXT ? "<td class=\"t\">" : "<td>", fp);
				cell(fp, t->cols[i], &t->v[j * t->ncols + i], row_code(t, j, code),
				     is_whole(t, i));
				fputs("</td>", fp);
			}
			fputs("</tr>\n", fp);
		}
	}
	fputs("</table>\n</div>\n", fp);
}

void rh_free_tab(struct rtab *t)
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

static const char style[] =
	"body { font: 15px/1.45 system-ui, -apple-system, \"Segoe UI\", sans-serif; color: #1a1a1a;"
	" background: #fff; margin: 0 auto; padding: 1em 1.5em; max-width: 1040px; }\n"
	"h1 { font-size: 1.6em; margin: 0.3em 0; }\n"
	"h2 { font-size: 1.25em; margin: 1.8em 0 0.4em; padding-bottom: 0.2em;"
	" border-bottom: 1px solid #d0d7e2; }\n"
	"p { max-width: 46em; }\n"
	".kpis { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr));"
	" gap: 0.6em; margin: 1em 0; }\n"
	".kpi { border: 1px solid #d0d7e2; border-radius: 6px; padding: 0.5em 0.8em; }\n"
	".kpi .k { font-size: 0.85em; color: #404040; }\n"
	".kpi .v { font-size: 1.45em; font-weight: 600; overflow-wrap: anywhere; }\n"
	".kpi .d { font-size: 0.8em; color: #404040; }\n"
	".kpi .up { color: #005a8c; } .kpi .down { color: #9c3900; }\n"
	".scroll { overflow-x: auto; max-width: 100%; }\n"
	"table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0;"
	" font-variant-numeric: tabular-nums; }\n"
	"th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; white-space: nowrap; }\n"
	"th { background: #eef3fb; } .t { text-align: left; }\n"
	"td.t { white-space: normal; min-width: 6em; max-width: 14em; }\n"
	"svg.chart { display: block; width: 100%; height: auto; margin: 0.5em 0; }\n"
	".small { font-size: 0.85em; color: #404040; }\n"
	"@media (max-width: 600px) { body { padding: 0.5em 0.7em; font-size: 14px; }"
	" .kpis { grid-template-columns: repeat(2, minmax(0, 1fr)); } }\n"
	"@media print { body { max-width: none; padding: 0; font-size: 10pt; }"
	" .scroll { overflow: visible; } h2 { break-after: avoid; }"
	" table { font-size: 7.5pt; } th, td { white-space: normal; padding: 1px 3px; }"
	" svg.chart, .kpi, tr { break-inside: avoid; } }\n";

/* A section and its heading (a plain <h2>: tests and scripts find the
 * sections by it); its id lets a link point at it. */
static void section(FILE *fp, const char *id, const char *title)
{
	fprintf(fp, "</section>\n<section id=\"%s\">\n<h2>%s</h2>\n", id, title);
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
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	      "style-src 'unsafe-inline'\">\n"
	      "<title>crmkit report</title>\n<style>\n", fp);
	fputs(style, fp);
	fputs("</style>\n</head>\n<body>\n<main>\n<header>\n<h1>crmkit report</h1>\n<p>As of ", fp);
	rh_esc(fp, now);
	fputs(" UTC", fp);
	if (r->o->segment) {
		fputs(", segment ", fp);
		rh_esc(fp, r->o->segment);
	}
	if (r->o->where) {
		fputs(", customers matching <code>", fp);
		rh_esc(fp, r->o->where);
		fputs("</code>", fp);
	}
	fputs(".</p>\n</header>\n<section id=\"kpi\">\n<h2>Key figures</h2>\n", fp);
	rh_kpis(fp, r);
	section(fp, "revenue", "Revenue by month");
	rh_revenue(fp, r);
	section(fp, "camptime", "Campaigns over time");
	rh_campaign_time(fp, r);
	section(fp, "campaigns", campaign ? "Campaign" : "Campaigns");
	rh_campaigns(fp, r, campaign);
	if (campaign && report_build_links(r, campaign, &t) == 0) {
		section(fp, "clicks", "Click map");
		if (t.nrows) {
			fputs("<p>Per link of the message: a person's clicks and the recipients who "
			      "made them, and the clicks of machines (link scanners) apart.</p>\n", fp);
			rh_table(fp, &t, "Click map", NULL);
		} else {
			fputs("<p>No clicks.</p>\n", fp);
		}
		rh_free_tab(&t);
	}
	section(fp, "deliv", "Deliverability");
	rh_deliverability(fp, r, campaign);
	section(fp, "cohorts", "Cohort retention");
	rh_cohorts(fp, r);
	section(fp, "rfm", "RFM grid");
	rh_rfm(fp, r);
	section(fp, "scores", "Customer value and churn risk");
	rh_scores(fp, r);
	section(fp, "segments", "Tracked segments");
	rh_segments(fp, r);
	section(fp, "uplift", "Who to message");
	rh_uplift(fp, r);
	section(fp, "holdout", "Holdout validation");
	rh_holdout(fp, r);
	section(fp, "loyalty", "Loyalty");
	rh_loyalty(fp, r);
	section(fp, "summary", "All figures per currency");
	if (report_build_summary(r, &t) == 0) {
		fputs("<p>The summary report (<code>crm-report summary</code>): every currency "
		      "apart.</p>\n", fp);
		rh_table(fp, &t, "Summary per currency", NULL);
		rh_free_tab(&t);
	}
	fputs("</section>\n</main>\n</body>\n</html>\n", fp);
	if (ferror(fp) | fclose(fp)) {
		crm_error_errno("%s: write error", r->o->html);
		return 1;
	}
	return 0;
}
