/*
 * report_products.c - crm-report products [--by product|category]: what
 * each product (or category) sold, read from the order lines of the
 * counted orders (purchases and refunds, crm.7 ORDERS) up to now.
 *
 * Per product or category:
 *   buyers       distinct customers with a purchase holding a line of it
 *                with a quantity above 0
 *   orders       those purchases
 *   units        the quantities of its lines, returns (negative
 *                quantities) taken off
 *   revenue      the amounts of its lines, net of returns, in one
 *                currency: --currency, else that of most purchases with
 *                lines; lines in other currencies are left out of it (a
 *                warning counts them when --currency is not given)
 *   returns      the units returned (the negative quantities, as a
 *                positive number)
 *   repeat_rate  the share of its buyers who bought it in two purchases
 *                or more
 * in order of revenue, then units, then the SKU or category. Spellings of
 * a category that differ in case are one, named by the first.
 */
#include "report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "diag.h"
#include "norm.h"
#include "util.h"

/* The counted lines up to ?1 of the reported customers, as
 * (oid, cid, pur, cur, q, amt, k, kn): k the key of the report, kn its
 * name. */
static void lines_cte(struct sb *sql, const struct report *r, const char *key,
		      const char *name)
{
	char f[128];

	sb_addf(sql, "l AS (SELECT o.id AS oid, o.customer_id AS cid, o.purchase AS pur,"
		" o.currency AS cur, ol.quantity AS q, ol.amount AS amt, %s AS k, %s AS kn"
		" FROM order_lines ol JOIN orders o ON o.id = ol.order_id"
		" JOIN products p ON p.id = ol.product_id"
		" WHERE " DB_COUNTED("o") " AND o.ordered_at <= ?1%s)",
		key, name, report_filter(r, "o.customer_id", f, sizeof(f)));
}

/* The currency of the report (malloc'd; NULL when there are no lines):
 * --currency, else that of most purchases with lines, ties by code. */
static char *products_currency(struct report *r, const char *now)
{
	struct sb sql = SB_INIT;
	sqlite3_stmt *st;
	char f[128], *code = NULL;

	if (r->o->currency)
		return xstrdup(r->o->currency);
	sb_addf(&sql, "SELECT o.currency FROM orders o WHERE " DB_PURCHASE("o")
		" AND o.ordered_at <= ?1%s"
		" AND EXISTS (SELECT 1 FROM order_lines ol WHERE ol.order_id = o.id)"
		" GROUP BY o.currency ORDER BY count(*) DESC, o.currency LIMIT 1",
		report_filter(r, "o.customer_id", f, sizeof(f)));
	st = db_prepare(r->crm->db, sql.buf);
	sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
	if (db_row(st) && sqlite3_column_text(st, 0))
		code = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sb_free(&sql);
	return code;
}

int report_products(struct report *r)
{
	static const char *const pcols[] = {
		"sku", "name", "category", "buyers", "orders", "units", "revenue", "returns",
		"repeat_rate", "currency",
	};
	static const char *const ccols[] = {
		"category", "buyers", "orders", "units", "revenue", "returns", "repeat_rate",
		"currency",
	};
	int by_cat = r->o->by && !strcmp(r->o->by, "category");
	struct sb sql = SB_INIT;
	sqlite3_stmt *st;
	struct rtab t;
	char now[20], *code;
	int64_t other = 0;
	int nk = by_cat ? 1 : 3;

	norm_fmt_time(r->crm->now, now);
	code = products_currency(r, now);
	sb_adds(&sql, "WITH ");
	/* spellings of a category that differ in case are one, named by the
	 * first (as crm-segment's top_category takes them) */
	if (by_cat)
		lines_cte(&sql, r, "lower(coalesce(nullif(p.category, ''), '(none)'))",
			  "coalesce(nullif(p.category, ''), '(none)')");
	else
		lines_cte(&sql, r, "p.id", "p.sku");
	/* per key and buyer: the purchases holding it */
	sb_adds(&sql, ", b AS (SELECT k, cid, count(DISTINCT oid) AS n FROM l"
		" WHERE pur = 1 AND q > 0 GROUP BY k, cid)"
		", bb AS (SELECT k, count(*) AS buyers, sum(n) AS orders,"
		" sum(n >= 2) AS repeaters FROM b GROUP BY k)"
		", g AS (SELECT k, min(kn) AS kn, total(q) AS units,"
		" sum(CASE WHEN cur = ?2 THEN amt ELSE 0 END) AS revenue,"
		" -total(CASE WHEN q < 0 THEN q END) AS returns,"
		" sum(cur <> ?2) AS other FROM l GROUP BY k)"
		" SELECT ");
	if (by_cat)
		sb_adds(&sql, "g.kn");
	else
		sb_adds(&sql, "p.sku, p.name, p.category");
	sb_adds(&sql, ", coalesce(bb.buyers, 0), coalesce(bb.orders, 0), g.units, g.revenue,"
		" g.returns, coalesce(bb.repeaters, 0),"
		/* (a window: over every row, before the limit) */
		" sum(g.other) OVER ()"
		" FROM g LEFT JOIN bb ON bb.k = g.k");
	if (!by_cat)
		sb_adds(&sql, " JOIN products p ON p.id = g.k");
	sb_addf(&sql, " ORDER BY g.revenue DESC, g.units DESC, %s", by_cat ? "g.kn" : "p.sku");
	if (r->o->limit > 0)
		sb_addf(&sql, " LIMIT %ld", r->o->limit);
	st = db_prepare(r->crm->db, sql.buf);
	sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
	db_bind_text(st, 2, code ? code : "", -1);
	if (by_cat)
		rtab_init(&t, ARRAY_SIZE(ccols), ccols);
	else
		rtab_init(&t, ARRAY_SIZE(pcols), pcols);
	t.keep = 1; /* a list: never sideways */
	RTAB_KIND(&t, OUT_KIND_COUNT, NULL, "buyers", "orders", "units", "returns");
	RTAB_KIND(&t, OUT_KIND_MONEY, NULL, "revenue");
	RTAB_KIND(&t, OUT_KIND_RATE, NULL, "repeat_rate");
	while (db_row(st)) {
		struct out_val *v = rtab_row(&t);
		int64_t buyers = sqlite3_column_int64(st, nk);

		for (int i = 0; i < nk; i++)
			rtab_text(&t, &v[i], (const char *)sqlite3_column_text(st, i));
		rtab_int(&v[nk], buyers);
		rtab_int(&v[nk + 1], sqlite3_column_int64(st, nk + 1));
		rtab_real(&v[nk + 2], sqlite3_column_double(st, nk + 2), 3);
		rtab_real(&v[nk + 3], report_major(sqlite3_column_int64(st, nk + 3), code), 2);
		rtab_real(&v[nk + 4], sqlite3_column_double(st, nk + 4), 3);
		rtab_real(&v[nk + 5], report_rate(sqlite3_column_int64(st, nk + 5), buyers), 4);
		rtab_text(&t, &v[nk + 6], code);
		/* the lines whose amounts the revenue leaves out */
		other = sqlite3_column_int64(st, nk + 6);
	}
	sqlite3_finalize(st);
	if (!t.nrows)
		crm_note("no order lines%s up to %s (crm-import lines)",
			 r->filtered ? " of these customers" : "", now);
	if (other && !r->o->currency)
		crm_warn("revenue in %s only: %lld order lines in other currencies left out "
			 "(choose with --currency)", code, (long long)other);
	rtab_emit(r, &t);
	sb_free(&sql);
	free(code);
	return 0;
}
