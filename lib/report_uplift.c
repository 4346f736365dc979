/*
 * report_uplift.c - uplift [NAME] [--by decile|qini|feature]: what an
 * uplift model of crm-score uplift learnt (share/schema/016-uplift.sql).
 *
 * Without --by, one row: the campaigns and rows it learnt from, the
 * average effect they measured (treatment minus control), the
 * cross-validated Qini coefficient against 0 for a random order, and the
 * customers scored, with the share whose predicted effect is negative
 * (the "sleeping dogs": a message makes them less likely to buy).
 *
 * --by decile: the rows in order of their out-of-fold predicted effect
 * (each predicted by the model fitted without their fold), cut into ten
 * equal parts; in each, the actual effect, treatment minus control, with
 * its 95% interval (normal approximation; the variance of each group's
 * outcome over its size). A model that has learnt something shows a
 * falling effect from the first decile to the last.
 *
 * --by qini: the Qini curve at every 5% of the rows: the incremental
 * outcomes of targeting that share in the model's order, against the
 * random line. --by feature: the model's coefficients on the
 * standardised features.
 */
#include "report.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "db.h"
#include "diag.h"
#include "util.h"

static double num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static double ratio(double a, double b)
{
	return b != 0 ? a / b : NAN;
}

/* the sample variance of a group's outcome from its sums */
static double var(double n, double s, double s2)
{
	return n > 1 ? (s2 - s * s / n) / (n - 1) : NAN;
}

static void by_decile(const cJSON *deciles, struct rtab *t)
{
	static const char *const cols[] = {
		"decile", "treated", "controls", "treated_rate", "control_rate", "uplift",
		"uplift_low", "uplift_high", "predicted",
	};
	const cJSON *d;

	rtab_init(t, ARRAY_SIZE(cols), cols);
	cJSON_ArrayForEach(d, deciles) {
		struct out_val *v = rtab_row(t);
		double nt = num(d, "treated"), nc = num(d, "controls");
		double yt = num(d, "treated_y"), yc = num(d, "controls_y");
		double mt = ratio(yt, nt), mc = ratio(yc, nc), u = mt - mc;
		double se = sqrt(var(nt, yt, num(d, "treated_y2")) / nt +
				 var(nc, yc, num(d, "controls_y2")) / nc);
		rtab_int(&v[0], (int64_t)num(d, "decile"));
		rtab_int(&v[1], (int64_t)nt);
		rtab_int(&v[2], (int64_t)nc);
		rtab_real(&v[3], mt, 6);
		rtab_real(&v[4], mc, 6);
		rtab_real(&v[5], u, 6);
		rtab_real(&v[6], u - 1.959963984540054 * se, 6);
		rtab_real(&v[7], u + 1.959963984540054 * se, 6);
		rtab_real(&v[8], num(d, "predicted"), 6);
	}
}

static void by_qini(const cJSON *curve, struct rtab *t)
{
	static const char *const cols[] = { "share", "qini", "random" };
	const cJSON *d;

	rtab_init(t, ARRAY_SIZE(cols), cols);
	cJSON_ArrayForEach(d, curve) {
		struct out_val *v = rtab_row(t);
		rtab_real(&v[0], num(d, "share"), 2);
		rtab_real(&v[1], num(d, "qini"), 4);
		rtab_real(&v[2], num(d, "random"), 4);
	}
}

static void by_feature(const cJSON *features, const char *method, struct rtab *t)
{
	static const char *const tl[] = { "feature", "mean", "sd", "treated_coef", "control_coef",
					  "difference" };
	static const char *const ct[] = { "feature", "mean", "sd", "coef" };
	int two = !strcmp(method, "tlearner");
	const cJSON *d;

	rtab_init(t, two ? ARRAY_SIZE(tl) : ARRAY_SIZE(ct), two ? tl : ct);
	cJSON_ArrayForEach(d, features) {
		struct out_val *v = rtab_row(t);
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(d, "name");
		rtab_text(t, &v[0], cJSON_IsString(name) ? name->valuestring : "");
		rtab_real(&v[1], num(d, "mean"), 6);
		rtab_real(&v[2], num(d, "sd"), 6);
		rtab_real(&v[3], num(d, "coef1"), 6);
		if (two) {
			rtab_real(&v[4], num(d, "coef0"), 6);
			rtab_real(&v[5], num(d, "coef1") - num(d, "coef0"), 6);
		}
	}
}

int report_build_uplift(struct report *r, const char *name, const char *by, struct rtab *t,
			int *revenue, char cur[4])
{
	static const char *const cols[] = {
		"model", "campaigns", "outcome", "window_days", "currency", "method", "lambda",
		"treated", "controls", "treated_rate", "control_rate", "uplift", "qini", "random",
		"customers", "negative", "negative_share", "fitted_at",
	};
	sqlite3 *db = r->crm->db;
	sqlite3_stmt *st;
	int rc = 0;

	st = db_prepare(db, name ?
			"SELECT name, campaigns, outcome, window, currency, method, lambda, treated,"
			" controls, treated_y, controls_y, qini, customers, negative, fitted_at,"
			" deciles, curve, features FROM uplift_models WHERE name = ?1" :
			"SELECT name, campaigns, outcome, window, currency, method, lambda, treated,"
			" controls, treated_y, controls_y, qini, customers, negative, fitted_at,"
			" deciles, curve, features FROM uplift_models ORDER BY id DESC LIMIT 1");
	if (name)
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (!db_row(st)) {
		sqlite3_stmt *q = db_prepare(db, "SELECT group_concat(name, ', ') FROM"
					     " (SELECT name FROM uplift_models ORDER BY name)");
		const char *have = db_row(q) ? (const char *)sqlite3_column_text(q, 0) : NULL;
		if (have)
			crm_error("no uplift model \"%s\" in %s (there are: %s)", name ? name : "",
				  r->crm->db_path, have);
		else
			crm_error("no uplift model in %s: run crm-score uplift --campaign NAME first",
				  r->crm->db_path);
		sqlite3_finalize(q);
		sqlite3_finalize(st);
		return 1;
	}
	/* -f table: effects are rates of converting, or money */
	*revenue = sqlite3_column_text(st, 2) &&
		   !strcmp((const char *)sqlite3_column_text(st, 2), "revenue");
	cur[0] = 0;
	if (sqlite3_column_text(st, 4))
		snprintf(cur, 4, "%s", (const char *)sqlite3_column_text(st, 4));
	if (by) {
		const char *col = !strcmp(by, "decile") ? "deciles" : !strcmp(by, "qini") ? "curve" :
				  "features";
		int ci = !strcmp(by, "decile") ? 15 : !strcmp(by, "qini") ? 16 : 17;
		cJSON *j = cJSON_Parse((const char *)sqlite3_column_text(st, ci));
		if (!cJSON_IsArray(j)) {
			crm_error("%s: uplift model \"%s\" is damaged (its %s is not a JSON array)",
				  r->crm->db_path, (const char *)sqlite3_column_text(st, 0), col);
			rc = 1;
		} else if (!strcmp(by, "decile")) {
			by_decile(j, t);
		} else if (!strcmp(by, "qini")) {
			by_qini(j, t);
		} else {
			by_feature(j, (const char *)sqlite3_column_text(st, 5), t);
		}
		cJSON_Delete(j);
	} else {
		struct out_val *v;
		double nt = sqlite3_column_double(st, 7), nc = sqlite3_column_double(st, 8);
		double mt = ratio(sqlite3_column_double(st, 9), nt);
		double mc = ratio(sqlite3_column_double(st, 10), nc);
		double cust = sqlite3_column_double(st, 12), neg = sqlite3_column_double(st, 13);
		rtab_init(t, ARRAY_SIZE(cols), cols);
		v = rtab_row(t);
		rtab_text(t, &v[0], (const char *)sqlite3_column_text(st, 0));
		{
			/* the campaigns as a list: ["a","b"] -> a b */
			cJSON *a = cJSON_Parse((const char *)sqlite3_column_text(st, 1)), *e;
			struct sb s = SB_INIT;
			cJSON_ArrayForEach(e, a)
				if (cJSON_IsString(e))
					sb_addf(&s, "%s%s", s.len ? " " : "", e->valuestring);
			rtab_text(t, &v[1], s.len ? s.buf : "");
			sb_free(&s);
			cJSON_Delete(a);
		}
		rtab_text(t, &v[2], (const char *)sqlite3_column_text(st, 2));
		rtab_int(&v[3], sqlite3_column_int64(st, 3) / 86400);
		rtab_text(t, &v[4], (const char *)sqlite3_column_text(st, 4));
		rtab_text(t, &v[5], (const char *)sqlite3_column_text(st, 5));
		rtab_real(&v[6], sqlite3_column_double(st, 6), 4);
		rtab_int(&v[7], (int64_t)nt);
		rtab_int(&v[8], (int64_t)nc);
		rtab_real(&v[9], mt, 6);
		rtab_real(&v[10], mc, 6);
		rtab_real(&v[11], mt - mc, 6);
		rtab_real(&v[12], sqlite3_column_type(st, 11) == SQLITE_NULL ? NAN :
			  sqlite3_column_double(st, 11), 6);
		rtab_real(&v[13], 0, 1);
		rtab_int(&v[14], (int64_t)cust);
		rtab_int(&v[15], (int64_t)neg);
		rtab_real(&v[16], ratio(neg, cust), 6);
		rtab_text(t, &v[17], (const char *)sqlite3_column_text(st, 14));
	}
	sqlite3_finalize(st);
	return rc;
}

int report_uplift(struct report *r, const char *name)
{
	struct rtab t;
	int revenue;
	char cur[4];

	if (report_build_uplift(r, name, r->o->by, &t, &revenue, cur))
		return 1;
	RTAB_KIND(&t, OUT_KIND_COUNT, NULL, "treated", "controls", "customers", "negative");
	RTAB_KIND(&t, OUT_KIND_RATE, NULL, "negative_share");
	RTAB_KIND(&t, revenue ? OUT_KIND_MONEY : OUT_KIND_RATE, revenue ? cur : NULL, "treated_rate",
		  "control_rate", "uplift", "uplift_low", "uplift_high", "predicted");
	rtab_emit(r, &t);
	return 0;
}
