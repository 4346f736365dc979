/*
 * report_holdout.c - holdout [--by frequency|period|run]: the holdout
 * validations that crm-score clv --holdout-end keeps (the table
 * validations, share/schema/013-validations.sql): the latest run's
 * calibration table (actual against predicted holdout purchases by the
 * number of repeat purchases in the calibration period), its tracking
 * curve (cumulative repeat purchases, actual and predicted, per week or
 * day), or one row per run with its total error, mean absolute error and
 * correlation.
 */
#include "report.h"

#include <math.h>
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

static const char *str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : "";
}

static double ratio(double a, double b)
{
	return b != 0 ? a / b : NAN;
}

int report_holdout_load(struct report *r, struct report_holdout *h, int quiet)
{
	sqlite3_stmt *st = db_prepare(r->crm->db,
		"SELECT id, model, currency, period, as_of, holdout_end, customers, actual,"
		" predicted, mae, correlation, calibration, tracking FROM validations"
		" ORDER BY id DESC LIMIT 1");
	int found = 0;

	memset(h, 0, sizeof(*h));
	if (db_row(st)) {
		const char *c[6];
		for (int i = 0; i < 6; i++)
			c[i] = (const char *)sqlite3_column_text(st, i);
		h->id = sqlite3_column_int64(st, 0);
		snprintf(h->model, sizeof(h->model), "%s", c[1] ? c[1] : "");
		snprintf(h->currency, sizeof(h->currency), "%s", c[2] ? c[2] : "");
		h->week = c[3] && !strcmp(c[3], "week");
		snprintf(h->as_of, sizeof(h->as_of), "%s", c[4] ? c[4] : "");
		snprintf(h->holdout_end, sizeof(h->holdout_end), "%s", c[5] ? c[5] : "");
		h->customers = sqlite3_column_int64(st, 6);
		h->actual = sqlite3_column_double(st, 7);
		h->predicted = sqlite3_column_type(st, 8) == SQLITE_NULL ? NAN :
			       sqlite3_column_double(st, 8);
		h->mae = sqlite3_column_type(st, 9) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 9);
		h->corr = sqlite3_column_type(st, 10) == SQLITE_NULL ? NAN :
			  sqlite3_column_double(st, 10);
		h->calibration = cJSON_Parse((const char *)sqlite3_column_text(st, 11));
		h->tracking = cJSON_Parse((const char *)sqlite3_column_text(st, 12));
		found = cJSON_IsArray(h->calibration) && cJSON_IsArray(h->tracking);
		if (!found)
			crm_error("%s: validation %lld is damaged (its calibration or tracking is not"
				  " a JSON array)", r->crm->db_path, (long long)h->id);
	} else if (!quiet) {
		crm_error("no holdout validation in %s: run crm-score clv --as-of DATE"
			  " --holdout-end DATE first", r->crm->db_path);
	}
	sqlite3_finalize(st);
	if (!found) {
		report_holdout_free(h);
		return 1;
	}
	return 0;
}

void report_holdout_free(struct report_holdout *h)
{
	cJSON_Delete(h->calibration);
	cJSON_Delete(h->tracking);
	h->calibration = h->tracking = NULL;
}

/* The calibration table: a row per number of calibration repeat purchases
 * (0 .. 6, 7+) and the total. */
void report_holdout_table(const struct report_holdout *h, struct rtab *t)
{
	static const char *const cols[] = {
		"repeat_purchases", "customers", "actual", "predicted", "actual_mean",
		"predicted_mean",
	};
	const cJSON *row;
	double n = 0, a = 0, p = 0;

	rtab_init(t, ARRAY_SIZE(cols), cols);
	cJSON_ArrayForEach(row, h->calibration) {
		struct out_val *v = rtab_row(t);
		double rn = num(row, "customers"), ra = num(row, "actual"), rp = num(row, "predicted");
		rtab_text(t, &v[0], str(row, "repeat_purchases"));
		rtab_int(&v[1], (int64_t)rn);
		rtab_int(&v[2], (int64_t)ra);
		rtab_real(&v[3], rp, 2);
		rtab_real(&v[4], ratio(ra, rn), 4);
		rtab_real(&v[5], ratio(rp, rn), 4);
		n += rn, a += ra, p += rp;
	}
	struct out_val *v = rtab_row(t);
	rtab_text(t, &v[0], "total");
	rtab_int(&v[1], (int64_t)n);
	rtab_int(&v[2], (int64_t)a);
	rtab_real(&v[3], p, 2);
	rtab_real(&v[4], ratio(a, n), 4);
	rtab_real(&v[5], ratio(p, n), 4);
}

/* The tracking curve: a row per week (or day) from the first purchase. */
static void by_period(const struct report_holdout *h, struct rtab *t)
{
	static const char *const cols[] = { "period", "end", "phase", "actual", "predicted" };
	const cJSON *row;

	rtab_init(t, ARRAY_SIZE(cols), cols);
	cJSON_ArrayForEach(row, h->tracking) {
		struct out_val *v = rtab_row(t);
		const char *end = str(row, "end");
		rtab_int(&v[0], (int64_t)num(row, "period"));
		rtab_text(t, &v[1], end);
		rtab_text(t, &v[2], strncmp(end, h->as_of, 10) <= 0 ? "calibration" : "holdout");
		rtab_int(&v[3], (int64_t)num(row, "actual"));
		rtab_real(&v[4], num(row, "predicted"), 2);
	}
}

/* A row per validation run, newest first. */
static int by_run(struct report *r, struct rtab *t)
{
	static const char *const cols[] = {
		"id", "validated_at", "model", "as_of", "holdout_end", "period", "customers",
		"actual", "predicted", "error", "mae", "correlation", "currency",
	};
	sqlite3_stmt *st = db_prepare(r->crm->db,
		"SELECT id, validated_at, model, as_of, holdout_end, period, customers, actual,"
		" predicted, mae, correlation, currency FROM validations ORDER BY id DESC");

	rtab_init(t, ARRAY_SIZE(cols), cols);
	while (db_row(st)) {
		struct out_val *v = rtab_row(t);
		double a = sqlite3_column_double(st, 7);
		double p = sqlite3_column_type(st, 8) == SQLITE_NULL ? NAN :
			   sqlite3_column_double(st, 8);
		rtab_int(&v[0], sqlite3_column_int64(st, 0));
		for (int i = 1; i <= 5; i++)
			rtab_text(t, &v[i], (const char *)sqlite3_column_text(st, i));
		rtab_int(&v[6], sqlite3_column_int64(st, 6));
		rtab_int(&v[7], (int64_t)a);
		rtab_real(&v[8], p, 2);
		rtab_real(&v[9], ratio(p - a, a), 4);
		rtab_real(&v[10], sqlite3_column_type(st, 9) == SQLITE_NULL ? NAN :
			  sqlite3_column_double(st, 9), 4);
		rtab_real(&v[11], sqlite3_column_type(st, 10) == SQLITE_NULL ? NAN :
			  sqlite3_column_double(st, 10), 4);
		rtab_text(t, &v[12], (const char *)sqlite3_column_text(st, 11));
	}
	sqlite3_finalize(st);
	if (!t->nrows) {
		crm_error("no holdout validation in %s: run crm-score clv --as-of DATE"
			  " --holdout-end DATE first", r->crm->db_path);
		return 1;
	}
	return 0;
}

int report_holdout(struct report *r)
{
	const char *by = r->o->by ? r->o->by : "frequency";
	struct report_holdout h;
	struct rtab t;

	if (!strcmp(by, "run")) {
		if (by_run(r, &t))
			return 1;
		RTAB_KIND(&t, OUT_KIND_COUNT, NULL, "customers", "actual");
		RTAB_KIND(&t, OUT_KIND_RATE, NULL, "error");
		rtab_emit(r, &t);
		return 0;
	}
	if (report_holdout_load(r, &h, 0))
		return 1;
	if (!strcmp(by, "period"))
		by_period(&h, &t);
	else
		report_holdout_table(&h, &t);
	crm_note("holdout validation %lld: %s fitted to %s, holdout to %s (%s): %.1f purchases"
		 " predicted, %.0f made (%+.1f%%); per customer: mean absolute error %.4f,"
		 " correlation %.3f", (long long)h.id, h.model, h.as_of, h.holdout_end, h.currency,
		 h.predicted, h.actual, 100 * ratio(h.predicted - h.actual, h.actual), h.mae, h.corr);
	report_holdout_free(&h);
	RTAB_KIND(&t, OUT_KIND_COUNT, NULL, "customers", "actual");
	rtab_emit(r, &t);
	return 0;
}
