/* rates.c - exchange rates in memory: see rates.h */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "norm.h"
#include "rates.h"
#include "util.h"

int rates_parse_day(const char *t, int len, int32_t *day)
{
	int y, m, d;

	if (len < 10 || t[4] != '-' || t[7] != '-')
		return -1;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !ascii_isdigit(t[i]))
			return -1;
	y = (t[0] - '0') * 1000 + (t[1] - '0') * 100 + (t[2] - '0') * 10 + (t[3] - '0');
	m = (t[5] - '0') * 10 + (t[6] - '0');
	d = (t[8] - '0') * 10 + (t[9] - '0');
	*day = (int32_t)norm_days_from_civil(y, m, d);
	return 0;
}

int rates_load(sqlite3 *db, struct rates *R)
{
	char *base = db_meta_get(db, "base_currency");
	sqlite3_stmt *st;

	memset(R, 0, sizeof(*R));
	if (!base)
		return 0;
	snprintf(R->base, sizeof(R->base), "%s", base);
	free(base);
	st = db_prepare(db, "SELECT currency, valid_from, rate FROM exchange_rates"
			" ORDER BY currency, valid_from");
	while (db_step_row(db, st)) {
		const char *c = (const char *)sqlite3_column_text(st, 0);
		const char *d = (const char *)sqlite3_column_text(st, 1);
		struct rate1 *e;
		R->r = xgrow(R->r, sizeof(*R->r), R->n + 1, &R->cap);
		e = &R->r[R->n];
		if (!c || !d || rates_parse_day(d, (int)strlen(d), &e->day) < 0)
			continue;
		snprintf(e->cur, sizeof(e->cur), "%s", c);
		e->rate = sqlite3_column_double(st, 2);
		R->n++;
	}
	sqlite3_finalize(st);
	if (!R->n)
		rates_free(R);
	return R->n > 0;
}

void rates_free(struct rates *R)
{
	free(R->r);
	memset(R, 0, sizeof(*R));
}

double rates_at(const struct rates *R, const char *cur, int32_t day)
{
	size_t lo = 0, hi = R->n;

	if (R->base[0] && !strcmp(cur, R->base))
		return 1;
	/* the first entry after (cur, day) */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(R->r[mid].cur, cur);
		if (c < 0 || (c == 0 && R->r[mid].day <= day))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && !strcmp(R->r[lo - 1].cur, cur) ? R->r[lo - 1].rate : NAN;
}

int rates_exponent(struct rates *R, const char *cur)
{
	char code[4];
	const char *why;
	int e = 2;

	for (size_t i = 0; i < R->nexps; i++)
		if (!strcmp(R->exps[i].cur, cur))
			return R->exps[i].exponent;
	if (norm_currency(cur, strlen(cur), code, &e, &why) < 0)
		e = 2;
	if (R->nexps < ARRAY_SIZE(R->exps)) {
		snprintf(R->exps[R->nexps].cur, 4, "%s", cur);
		R->exps[R->nexps++].exponent = e;
	}
	return e;
}

double rates_factor(struct rates *R, const char *from, int32_t day, const char *to, int to_exp)
{
	double a = rates_at(R, from, day), b = rates_at(R, to, day);

	if (!(a > 0) || !(b > 0))
		return NAN;
	return a / b * pow(10, to_exp - rates_exponent(R, from));
}

int rates_convert(struct rates *R, int64_t amount, const char *from, int32_t day,
		  const char *to, int to_exp, int64_t *out)
{
	double f = rates_factor(R, from, day, to, to_exp);

	if (!(f > 0))
		return -1;
	*out = llround((double)amount * f);
	return 0;
}
