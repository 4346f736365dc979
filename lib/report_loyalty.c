/*
 * report_loyalty.c - loyalty [--by month|tier|member]: the programme of
 * crm-loyalty from its ledger and accounts.
 *
 *   (default)  one line: members, the points outstanding and pending, the
 *              liability (outstanding points times [loyalty] point_value),
 *              the debts, points earned, spent and expired, breakage
 *   month      per month of the ledger: earned, spent, expired, adjusted
 *   tier       per tier: members, their spend of 365 days, who moved up or
 *              down in the last 365 days
 *   member     members against other customers over the last 365 days:
 *              buyers, revenue per customer, orders per buyer; not the
 *              programme's effect (members choose to join)
 *
 * --segment and --where restrict the customers as in every report.
 */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "db.h"
#include "diag.h"
#include "norm.h"
#include "util.h"

static double ratio(double a, double b)
{
	return b != 0 ? a / b : NAN;
}

static double col_real(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

/* The rules' point value and currency, when crm.conf has them (the
 * rules are crm-loyalty's to check: here they are only read). */
static void rules_value(struct report *r, double *pv, char cur[4])
{
	struct conf *c = conf_load(r->crm);
	const char *v = conf_get(c, "loyalty", "point_value"), *why;
	char *end;
	int exponent;

	*pv = NAN;
	cur[0] = 0;
	if (v) {
		double d = strtod(v, &end);
		if (end != v && !*end && d > 0)
			*pv = d;
	}
	if ((v = conf_get(c, "loyalty", "currency")) &&
	    norm_currency(v, strlen(v), cur, &exponent, &why) < 0)
		cur[0] = 0;
	conf_free(c);
	if (!cur[0]) {
		/* the currency the last run earned in (loyalty_currency) */
		char *m = db_meta_get(r->crm->db, "loyalty_currency");
		if (m && norm_currency(m, strlen(m), cur, &exponent, &why) < 0)
			cur[0] = 0;
		free(m);
	}
}

static int no_ledger(struct report *r)
{
	sqlite3_stmt *st = db_prepare(r->crm->db, "SELECT NOT EXISTS (SELECT 1 FROM loyalty_accounts)");
	int none = !db_row(st) || sqlite3_column_int(st, 0);

	sqlite3_finalize(st);
	return none;
}

static void summary(struct report *r, struct rtab *t, const char *f)
{
	static const char *const cols[] = {
		"currency", "members", "points", "pending", "liability", "debts", "debtors", "earned",
		"spent", "expired", "breakage",
	};
	struct sb sql = SB_INIT;
	sqlite3_stmt *st;
	double pv;
	char cur[4];

	rules_value(r, &pv, cur);
	sb_addf(&sql, "WITH a AS (SELECT * FROM loyalty_accounts a WHERE 1%s),"
		" g AS (SELECT kind, points FROM loyalty_ledger g WHERE 1%s)"
		" SELECT (SELECT count(*) FROM a), (SELECT total(max(points, 0)) FROM a),"
		" (SELECT total(pending) FROM a), (SELECT total(-min(points, 0)) FROM a),"
		" (SELECT count(*) FROM a WHERE points < 0),"
		" (SELECT total(points) FROM g WHERE points > 0 AND kind <> 'adjust'),"
		" (SELECT total(-points) FROM g WHERE kind IN ('burn', 'redeem')),"
		" (SELECT total(-points) FROM g WHERE kind = 'expire')", f, f);
	st = db_prepare(r->crm->db, sql.buf);
	rtab_init(t, ARRAY_SIZE(cols), cols);
	if (db_row(st)) {
		struct out_val *v = rtab_row(t);
		double pts = sqlite3_column_double(st, 1), earned = sqlite3_column_double(st, 5);
		rtab_text(t, &v[0], cur[0] ? cur : NULL);
		rtab_int(&v[1], sqlite3_column_int64(st, 0));
		rtab_int(&v[2], (int64_t)pts);
		rtab_int(&v[3], (int64_t)sqlite3_column_double(st, 2));
		rtab_real(&v[4], pts * pv, 2);
		rtab_int(&v[5], (int64_t)sqlite3_column_double(st, 3));
		rtab_int(&v[6], sqlite3_column_int64(st, 4));
		rtab_int(&v[7], (int64_t)earned);
		rtab_int(&v[8], (int64_t)sqlite3_column_double(st, 6));
		rtab_int(&v[9], (int64_t)sqlite3_column_double(st, 7));
		rtab_real(&v[10], ratio(sqlite3_column_double(st, 7), earned), 4);
	}
	sqlite3_finalize(st);
	sb_free(&sql);
	if (isnan(pv))
		crm_note("no [loyalty] point_value in the configuration: no liability");
}

static void by_month(struct report *r, struct rtab *t, const char *f)
{
	static const char *const cols[] = {
		"month", "earned", "bonuses", "spent", "reversed", "expired", "adjusted", "net",
	};
	struct sb sql = SB_INIT;
	sqlite3_stmt *st;

	sb_addf(&sql, "SELECT substr(occurred_at, 1, 7) AS m,"
		" total(CASE WHEN kind = 'earn' THEN points END),"
		" total(CASE WHEN kind IN ('welcome', 'birthday', 'event') THEN points END),"
		" total(CASE WHEN kind IN ('burn', 'redeem') THEN -points END),"
		" total(CASE WHEN kind = 'reverse' THEN -points END),"
		" total(CASE WHEN kind = 'expire' THEN -points END),"
		" total(CASE WHEN kind = 'adjust' THEN points END), total(points)"
		" FROM loyalty_ledger g WHERE 1%s GROUP BY m ORDER BY m", f);
	st = db_prepare(r->crm->db, sql.buf);
	rtab_init(t, ARRAY_SIZE(cols), cols);
	while (db_row(st)) {
		struct out_val *v = rtab_row(t);
		rtab_text(t, &v[0], (const char *)sqlite3_column_text(st, 0));
		for (int i = 1; i < 8; i++)
			rtab_int(&v[i], (int64_t)sqlite3_column_double(st, i));
	}
	sqlite3_finalize(st);
	sb_free(&sql);
}

static void by_tier(struct report *r, struct rtab *t, const char *f, const char *year)
{
	static const char *const cols[] = {
		"tier", "members", "share", "avg_spend_12m", "points", "upgraded_365d",
		"downgraded_365d",
	};
	struct sb sql = SB_INIT;
	sqlite3_stmt *st;

	sb_addf(&sql, "WITH a AS (SELECT * FROM loyalty_accounts a WHERE 1%s),"
		" n AS (SELECT count(*) AS n FROM a)"
		" SELECT coalesce(a.tier, '(base)') AS k, count(*), count(*) * 1.0 / n.n,"
		" avg(a.spend_12m), total(a.points),"
		" (SELECT count(*) FROM loyalty_tiers x WHERE x.customer_id IN (SELECT customer_id FROM a)"
		"  AND x.reason = 'upgrade' AND x.since > ?1 AND x.tier IS a.tier),"
		" (SELECT count(*) FROM loyalty_tiers x WHERE x.customer_id IN (SELECT customer_id FROM a)"
		"  AND x.reason = 'downgrade' AND x.since > ?1 AND x.tier IS a.tier)"
		" FROM a, n GROUP BY a.tier ORDER BY avg(a.spend_12m) DESC, k", f);
	st = db_prepare(r->crm->db, sql.buf);
	sqlite3_bind_text(st, 1, year, -1, SQLITE_STATIC);
	rtab_init(t, ARRAY_SIZE(cols), cols);
	while (db_row(st)) {
		struct out_val *v = rtab_row(t);
		rtab_text(t, &v[0], (const char *)sqlite3_column_text(st, 0));
		rtab_int(&v[1], sqlite3_column_int64(st, 1));
		rtab_real(&v[2], sqlite3_column_double(st, 2), 4);
		rtab_real(&v[3], col_real(st, 3), 2);
		rtab_int(&v[4], (int64_t)sqlite3_column_double(st, 4));
		rtab_int(&v[5], sqlite3_column_int64(st, 5));
		rtab_int(&v[6], sqlite3_column_int64(st, 6));
	}
	sqlite3_finalize(st);
	sb_free(&sql);
}

static void by_member(struct report *r, struct rtab *t, const char *now, const char *year)
{
	static const char *const cols[] = {
		"group", "customers", "buyers", "revenue", "revenue_per_customer", "orders_per_buyer",
		"currency",
	};
	struct sb sql = SB_INIT;
	sqlite3_stmt *st;
	char f[128];

	/* the currency of most purchases in the year */
	sb_addf(&sql, "WITH cur AS (SELECT currency FROM orders WHERE ordered_at > ?2"
		" AND ordered_at <= ?1 AND purchase = 1 GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1),"
		" c AS (SELECT c.id, EXISTS (SELECT 1 FROM loyalty_accounts a WHERE a.customer_id = c.id)"
		"  AS member FROM customers c WHERE c.erased_at IS NULL%s),"
		" o AS (SELECT o.customer_id, count(*) FILTER (WHERE o.purchase = 1) AS n,"
		"  sum(o.amount) AS amt FROM orders o WHERE o.ordered_at > ?2 AND o.ordered_at <= ?1"
		"  AND o.purchase <> 0 AND o.currency = (SELECT currency FROM cur) GROUP BY 1)"
		" SELECT CASE c.member WHEN 1 THEN 'members' ELSE 'others' END, count(*),"
		" count(o.n) FILTER (WHERE o.n > 0), total(o.amt), total(o.n),"
		" (SELECT currency FROM cur) FROM c LEFT JOIN o ON o.customer_id = c.id"
		" GROUP BY c.member ORDER BY c.member DESC",
		report_filter(r, "c.id", f, sizeof(f)));
	st = db_prepare(r->crm->db, sql.buf);
	sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, year, -1, SQLITE_STATIC);
	rtab_init(t, ARRAY_SIZE(cols), cols);
	while (db_row(st)) {
		struct out_val *v = rtab_row(t);
		const char *code = (const char *)sqlite3_column_text(st, 5);
		double n = sqlite3_column_double(st, 1), buyers = sqlite3_column_double(st, 2);
		double rev = report_major(sqlite3_column_int64(st, 3), code);
		rtab_text(t, &v[0], (const char *)sqlite3_column_text(st, 0));
		rtab_int(&v[1], (int64_t)n);
		rtab_int(&v[2], (int64_t)buyers);
		rtab_real(&v[3], rev, 2);
		rtab_real(&v[4], ratio(rev, n), 2);
		rtab_real(&v[5], ratio(sqlite3_column_double(st, 4), buyers), 2);
		rtab_text(t, &v[6], code);
	}
	sqlite3_finalize(st);
	sb_free(&sql);
	crm_note("members and others differ in more than the programme (who joins is not chosen at "
		 "random): the gap is not its effect; a campaign with a control group measures one "
		 "(crm-report campaign)");
}

int report_build_loyalty(struct report *r, const char *by, struct rtab *t)
{
	char buf[128], now[20], year[20];
	const char *f;

	if (no_ledger(r)) {
		crm_error("no loyalty accounts in %s: run crm-loyalty run first", r->crm->db_path);
		return 1;
	}
	norm_fmt_time(r->crm->now, now);
	norm_fmt_time(r->crm->now - 365 * 86400LL, year);
	f = report_filter(r, "customer_id", buf, sizeof(buf));
	if (!by)
		summary(r, t, f);
	else if (!strcmp(by, "month"))
		by_month(r, t, f);
	else if (!strcmp(by, "tier"))
		by_tier(r, t, f, year);
	else
		by_member(r, t, now, year);
	return 0;
}

int report_loyalty(struct report *r)
{
	struct rtab t;
	int rc = report_build_loyalty(r, r->o->by, &t);

	if (!rc)
		rtab_emit(r, &t);
	return rc;
}
