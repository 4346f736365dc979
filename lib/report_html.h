/*
 * report_html.h - the parts of crm-report --html (internal to them):
 *
 *   report_html.c       the page: its style, the order of its sections,
 *                       tables with words for headings and formatted
 *                       numbers
 *   report_html_kpi.c   the KPI tiles against the previous 30 days,
 *                       revenue by month, revenue and conversions by
 *                       campaign over time
 *   report_html_base.c  the cohort heatmap, the RFM grid with segment
 *                       names, the CLV and churn-risk distributions, the
 *                       tracked segments
 *   report_html_camp.c  campaigns with intervals, deliverability, the
 *                       holdout validation, loyalty
 *   report_html_uplift.c  who to message: the latest uplift model, its
 *                       Qini curve and its deciles
 * Charts are drawn with svg.h, numbers written with html_fmt.h.
 */
#ifndef CRM_REPORT_HTML_H
#define CRM_REPORT_HTML_H

#include <stdio.h>

#include "html_fmt.h"
#include "report.h"
#include "svg.h"

/* the width of a chart's viewBox: it scales down to a phone's width */
#define RH_W 480

void rh_esc(FILE *fp, const char *s);
/* t as an HTML table: headings in words, rates as percentages, money in
 * the row's currency (a "currency" column) or code */
void rh_table(FILE *fp, const struct rtab *t, const char *label, const char *code);
void rh_free_tab(struct rtab *t);
double rh_num(const struct out_val *v);
/* months since year 0 of epoch seconds t (y * 12 + m - 1) */
int64_t rh_month(int64_t t);
/* the currency of the page's money: --currency, else that of most
 * completed orders; NULL without orders */
const char *rh_currency(struct report *r);

void rh_kpis(FILE *fp, struct report *r);
void rh_revenue(FILE *fp, struct report *r);
void rh_campaign_time(FILE *fp, struct report *r);
void rh_cohorts(FILE *fp, struct report *r);
void rh_rfm(FILE *fp, struct report *r);
void rh_scores(FILE *fp, struct report *r);
void rh_segments(FILE *fp, struct report *r);
void rh_campaigns(FILE *fp, struct report *r, const char *name);
void rh_deliverability(FILE *fp, struct report *r, const char *campaign);
void rh_holdout(FILE *fp, struct report *r);
void rh_loyalty(FILE *fp, struct report *r);
void rh_uplift(FILE *fp, struct report *r);

#endif
