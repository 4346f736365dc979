/*
 * report_html_uplift.c - the page's "Who to message" section: the uplift
 * model crm-score uplift fitted last, in words, its Qini curve against the
 * random line, and the actual effect per decile of the predicted one
 * (crm-report uplift --by decile).
 */
#include "report_html.h"

#include <math.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "db.h"

static double jnum(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static char *num_tick(char *buf, size_t n, double v, const void *arg)
{
	(void)arg;
	return hf_short(buf, n, v);
}

static char *pct_tick(char *buf, size_t n, double v, const void *arg)
{
	(void)arg;
	snprintf(buf, n, "%.0f%%", 100 * v);
	return buf;
}

void rh_uplift(FILE *fp, struct report *r)
{
	sqlite3_stmt *st = db_prepare(r->crm->db,
		"SELECT name, outcome, treated, controls, treated_y, controls_y, qini, customers,"
		" negative, curve, method, currency FROM uplift_models ORDER BY id DESC LIMIT 1");
	const double W = RH_W, H = 240, L = 60, B = 34, T = 14, R = 10;
	char a[32], b[32], c[32], name[128];
	struct rtab t;
	int revenue, n = 0;
	char cur[4];
	cJSON *curve = NULL;
	const cJSON *p;
	double lo = 0, hi = 0;

	if (!db_row(st)) {
		sqlite3_finalize(st);
		fputs("<p>No uplift model: run <code>crm-score uplift --campaign NAME</code> on a "
		      "campaign with a control group.</p>\n", fp);
		return;
	}
	snprintf(name, sizeof(name), "%s", (const char *)sqlite3_column_text(st, 0));
	revenue = !strcmp((const char *)sqlite3_column_text(st, 1), "revenue");
	{
		double nt = sqlite3_column_double(st, 2), nc = sqlite3_column_double(st, 3);
		double mt = nt > 0 ? sqlite3_column_double(st, 4) / nt : NAN;
		double mc = nc > 0 ? sqlite3_column_double(st, 5) / nc : NAN;
		double cust = sqlite3_column_double(st, 7), neg = sqlite3_column_double(st, 8);
		const char *code = (const char *)sqlite3_column_text(st, 11);
		fputs("<p>The uplift model <b>", fp);
		rh_esc(fp, name);
		fprintf(fp, "</b> (%s) learnt from %s treated and %s control recipients: ",
			(const char *)sqlite3_column_text(st, 10), hf_int(a, sizeof(a), (int64_t)nt),
			hf_int(b, sizeof(b), (int64_t)nc));
		if (revenue)
			fprintf(fp, "the message changed revenue per recipient by %s on average. ",
				hf_money(c, sizeof(c), mt - mc, code));
		else
			fprintf(fp, "%s converted with the message, %s without. ",
				hf_pct(a, sizeof(a), mt), hf_pct(b, sizeof(b), mc));
		fprintf(fp, "Ranked by its predictions, its Qini coefficient is %.3f (0 is a random "
			"order, 1 a perfect one). %s of the %s customers scored have a negative "
			"predicted effect: a message makes them less likely to buy.</p>\n",
			sqlite3_column_double(st, 6), hf_pct(a, sizeof(a), cust > 0 ? neg / cust : 0),
			hf_int(b, sizeof(b), (int64_t)cust));
	}
	curve = cJSON_Parse((const char *)sqlite3_column_text(st, 9));
	sqlite3_finalize(st);
	cJSON_ArrayForEach(p, curve) {
		lo = fmin(lo, fmin(jnum(p, "qini"), jnum(p, "random")));
		hi = fmax(hi, fmax(jnum(p, "qini"), jnum(p, "random")));
		n++;
	}
	if (n > 1 && hi > lo) {
		struct svg_axis ax, sx = { 0, 1, 0.25 };
		int k;
		svg_nice(&ax, lo, hi, 4, 1);
		svg_open(fp, "qini", (int)W, (int)H, "Qini curve: incremental outcomes by share targeted");
		svg_yaxis(fp, &ax, L, W - R, H - B, T, num_tick, NULL);
		for (k = 0; k < 2; k++) {
			int i = 0;
			fprintf(fp, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"",
				k ? SVG_GREY : svg_palette[0], k ? " stroke-dasharray=\"6,4\"" : "");
			cJSON_ArrayForEach(p, curve) {
				fprintf(fp, "%s%.1f,%.1f", i++ ? " " : "",
					svg_map(&sx, jnum(p, "share"), L, W - R),
					svg_map(&ax, jnum(p, k ? "random" : "qini"), H - B, T));
			}
			fprintf(fp, "\"><title>%s</title></polyline>\n", k ? "random order" : "model");
		}
		for (k = 0; k <= 4; k++) {
			double s = k / 4.0;
			pct_tick(a, sizeof(a), s, NULL);
			svg_text(fp, svg_map(&sx, s, L, W - R), H - B + 14,
				 k == 0 ? "start" : k == 4 ? "end" : "middle", 10, NULL, a);
		}
		svg_legend(fp, svg_legend(fp, L + 10, H - 6, svg_palette[0], "targeted by the model"),
			   H - 6, SVG_GREY, "at random");
		svg_close(fp);
	}
	cJSON_Delete(curve);
	if (report_build_uplift(r, name, "decile", &t, &revenue, cur) == 0) {
		fputs("<p>The recipients in ten equal parts by their predicted effect (predicted "
		      "out of fold): the actual effect in each, treated against control, with "
		      "its 95% interval.</p>\n", fp);
		rh_table(fp, &t, "Uplift by decile", revenue ? cur : NULL);
		rh_free_tab(&t);
	}
}
