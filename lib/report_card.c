/*
 * report_card.c - crm-report customer ID (one customer's card) and
 * crm-report export TABLE (the tables as CSV/JSONL for data engineers).
 *
 * The card is one list of rows "section, time, item, value, detail", so
 * that it reads the same as a table, CSV or JSON lines: the profile, the
 * order metrics, the scores, every consent record (the one in force
 * marked), then the orders, messages and events in time order.
 */
#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "db.h"
#include "diag.h"
#include "erase.h"
#include "expr.h"
#include "norm.h"
#include "supp.h"
#include "util.h"
#include "who.h"

static void card_row(struct rtab *t, const char *section, const char *time, const char *item,
		     const struct out_val *value, const char *detail)
{
	struct out_val *v = rtab_row(t);

	rtab_text(t, &v[0], section);
	rtab_text(t, &v[1], time);
	rtab_text(t, &v[2], item);
	if (value && (value->t == OUT_TEXT || value->t == OUT_RAWJSON))
		rtab_text(t, &v[3], value->s);
	else if (value)
		v[3] = *value;
	rtab_text(t, &v[4], detail);
}

static void col_val(sqlite3_stmt *st, int i, struct out_val *v)
{
	memset(v, 0, sizeof(*v));
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_NULL:
		v->t = OUT_NULL;
		break;
	case SQLITE_INTEGER:
		v->t = OUT_INT;
		v->i = sqlite3_column_int64(st, i);
		break;
	case SQLITE_FLOAT:
		v->t = OUT_REAL;
		v->d = sqlite3_column_double(st, i);
		break;
	default:
		v->t = OUT_TEXT;
		v->s = (const char *)sqlite3_column_text(st, i);
		v->len = strlen(v->s);
	}
}

static const char *ctext(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

/* Every non-NULL column of the one row of st as section rows. */
static void fields(struct rtab *t, sqlite3_stmt *st, const char *section)
{
	if (!db_row(st))
		return;
	for (int i = 0; i < sqlite3_column_count(st); i++) {
		struct out_val v;
		if (sqlite3_column_type(st, i) == SQLITE_NULL)
			continue;
		col_val(st, i, &v);
		card_row(t, section, NULL, sqlite3_column_name(st, i), &v, NULL);
	}
}

/* What the one suppression rule (supp.h) says of the customer's e-mail now,
 * and every report that came back about them (crm-import bounces): its
 * decision, why, and where the raw message is. */
static void returns_rows(struct report *r, struct rtab *t, int64_t id, const char *now)
{
	sqlite3 *db = r->crm->db;
	struct conf *conf = conf_load(r->crm);
	struct supp_conf sc;
	struct sb q = SB_INIT;
	sqlite3_stmt *st;
	struct out_val v;
	char *secret = db_meta_get(db, "secret");
	const char *state = NULL, *scope = NULL;

	supp_conf_read(conf, &sc);
	conf_free(conf);
	sb_adds(&q, "SELECT c.email, ");
	supp_sql(&q, "c.email", &sc);
	sb_adds(&q, " FROM customers c WHERE c.id = ?1 AND ?5 = 'email' AND ?2 IS NOT NULL");
	st = db_prepare(db, q.buf);
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, "email", -1, SQLITE_STATIC);
	if (db_row(st) && sqlite3_column_text(st, 0)) {
		const char *addr = ctext(st, 0);
		char h[65];
		sqlite3_stmt *hs = db_prepare(db, "SELECT reason FROM address_suppressions WHERE hash = ?");
		if (ctext(st, 2))
			state = ctext(st, 2), scope = "every e-mail (transactional too)";
		else if (secret) {
			erase_hash(secret, "email", addr, h);
			sqlite3_bind_text(hs, 1, h, -1, SQLITE_STATIC);
			if (db_row(hs) && !strcmp(ctext(hs, 0), "bounced"))
				state = "bounced", scope = "every e-mail (transactional too): the address";
		}
		if (!state && ctext(st, 1))
			state = ctext(st, 1), scope = "marketing e-mail (transactional goes on)";
		rtab_text(t, &v, state ? state : "none");
		card_row(t, "suppression", NULL, "email", &v, scope);
		sqlite3_finalize(hs);
	}
	sqlite3_finalize(st);
	sb_free(&q);
	free(secret);

	st = db_prepare(db, "SELECT received_at, kind || coalesce(' ' || status, ''), decision,"
			" reason || '; ' || origin || CASE WHEN raw IS NOT NULL THEN"
			"  ' (kept as inbound ' || id || ')' ELSE '' END"
			" FROM inbound WHERE customer_id = ?1 ORDER BY received_at, id");
	sqlite3_bind_int64(st, 1, id);
	while (db_row(st)) {
		col_val(st, 2, &v);
		card_row(t, "returned", ctext(st, 0), ctext(st, 1), &v, ctext(st, 3));
	}
	sqlite3_finalize(st);
}

int report_customer(struct report *r, const char *who)
{
	static const char *const cols[] = { "section", "time", "item", "value", "detail" };
	sqlite3 *db = r->crm->db;
	struct who w;
	const char *why = NULL;
	int64_t id;
	sqlite3_stmt *st;
	struct rtab t;
	char now[20];

	who_init(&w, db);
	id = who_find(&w, WHO_ANY, who, strlen(who), &why);
	who_free(&w);
	if (!id) {
		crm_error("%s", why ? why : "no such customer");
		return 1;
	}
	expr_register(db);
	norm_fmt_time(r->crm->now, now);
	rtab_init(&t, ARRAY_SIZE(cols), cols);

	st = db_prepare(db, "SELECT external_id AS id, email, phone, first_name, last_name,"
			" birthday, city, country, timezone, created_at, updated_at,"
			" CASE WHEN attrs = '{}' THEN NULL ELSE attrs END AS attrs,"
			" CASE WHEN is_stub THEN 'yes' END AS stub FROM customers WHERE id = ?1");
	sqlite3_bind_int64(st, 1, id);
	fields(&t, st, "profile");
	sqlite3_finalize(st);

	/* order metrics per currency, as of --now */
	st = db_prepare(db, "SELECT o.currency, " DB_PURCHASES ","
			" sum(o.amount) * crm_currency_k(o.currency) / 1000.0, " DB_FIRST_PURCHASE ","
			" " DB_LAST_PURCHASE ", CAST(julianday(?2) - julianday(" DB_LAST_PURCHASE ")"
			" AS INTEGER) FROM orders o WHERE o.customer_id = ?1 AND o.ordered_at <= ?2"
			" AND " DB_COUNTED("o") " GROUP BY o.currency ORDER BY 2 DESC");
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
	while (db_row(st)) {
		struct out_val v;
		const char *cur = ctext(st, 0);
		static const char *const names[] = { NULL, "orders", "revenue", "first_order_at",
						      "last_order_at", "days_since_last_order" };
		for (int i = 1; i < 6; i++) {
			col_val(st, i, &v);
			if (i == 2) {
				v.t = OUT_REAL;
				v.d = sqlite3_column_double(st, 2);
			}
			card_row(&t, "metrics", NULL, names[i], &v, i == 2 ? cur : NULL);
		}
	}
	sqlite3_finalize(st);

	/* the scores in each currency scored (crm-score), money in that one */
	st = db_prepare(db, "SELECT s.currency, s.rfm, s.rfm_segment, s.recency_days, s.frequency,"
			" s.monetary, s.p_alive, s.churn_risk, s.expected_orders, s.expected_spend,"
			" s.clv, s.updated_at AS scored_at FROM currency_scores s"
			" WHERE s.customer_id = ?1 ORDER BY s.currency");
	sqlite3_bind_int64(st, 1, id);
	while (db_row(st)) {
		const char *cur = (const char *)sqlite3_column_text(st, 0);
		for (int i = 1; i < sqlite3_column_count(st); i++) {
			struct out_val v;
			if (sqlite3_column_type(st, i) == SQLITE_NULL)
				continue;
			col_val(st, i, &v);
			card_row(&t, "scores", NULL, sqlite3_column_name(st, i), &v, cur);
		}
	}
	sqlite3_finalize(st);

	/* loyalty: the account as the last crm-loyalty run left it, and the
	 * latest entries of the ledger */
	st = db_prepare(db, "SELECT points, pending, tier, tier_since, updated_at AS as_of"
			" FROM loyalty_accounts WHERE customer_id = ?1");
	sqlite3_bind_int64(st, 1, id);
	fields(&t, st, "loyalty");
	sqlite3_finalize(st);
	st = db_prepare(db, "SELECT occurred_at, kind, points, reason FROM (SELECT * FROM loyalty_ledger"
			" WHERE customer_id = ?1 ORDER BY occurred_at DESC, id DESC LIMIT 10)"
			" ORDER BY occurred_at, id");
	sqlite3_bind_int64(st, 1, id);
	while (db_row(st)) {
		struct out_val v;
		col_val(st, 2, &v);
		card_row(&t, "points", (const char *)sqlite3_column_text(st, 0),
			 (const char *)sqlite3_column_text(st, 1), &v,
			 (const char *)sqlite3_column_text(st, 3));
	}
	sqlite3_finalize(st);

	/* consent history, the record in force per channel marked */
	st = db_prepare(db, "SELECT c.recorded_at, c.channel, CASE c.granted WHEN 1 THEN 'granted'"
			" ELSE 'revoked' END, c.source, c.id = (SELECT c2.id FROM consents c2"
			"  WHERE c2.customer_id = c.customer_id AND c2.channel = c.channel"
			"  ORDER BY c2.recorded_at DESC, c2.id DESC LIMIT 1)"
			" FROM consents c WHERE c.customer_id = ?1 ORDER BY c.recorded_at, c.id");
	sqlite3_bind_int64(st, 1, id);
	while (db_row(st)) {
		struct out_val v;
		struct sb d = SB_INIT;
		col_val(st, 2, &v);
		sb_adds(&d, ctext(st, 3) && *ctext(st, 3) ? ctext(st, 3) : "");
		if (sqlite3_column_int(st, 4))
			sb_adds(&d, d.len ? "; in force" : "in force");
		card_row(&t, "consent", ctext(st, 0), ctext(st, 1), &v, d.len ? d.buf : NULL);
		sb_free(&d);
	}
	sqlite3_finalize(st);

	returns_rows(r, &t, id, now);

	/* the history: orders, messages and events in time order */
	st = db_prepare(db,
		"SELECT ordered_at AS t, 'order' AS k, external_id,"
		"  amount * crm_currency_k(currency) / 1000.0,"
		"  currency || ' ' || status, 0 AS o, id FROM orders WHERE customer_id = ?1"
		" UNION ALL SELECT coalesce(m.sent_at, m.planned_at), 'message', c.name, m.status,"
		"  m.channel || ' ' || m.grp || coalesce(' variant ' || m.variant, '')"
		"  || coalesce(' (' || m.reason || ')', ''), 1, m.id"
		"  FROM messages m JOIN campaigns c ON c.id = m.campaign_id WHERE m.customer_id = ?1"
		" UNION ALL SELECT occurred_at, 'event', type, campaign,"
		"  CASE WHEN props IS NOT NULL AND props != '{}' THEN props END, 2, id"
		"  FROM events WHERE customer_id = ?1"
		" ORDER BY 1, 6, 7");
	sqlite3_bind_int64(st, 1, id);
	while (db_row(st)) {
		struct out_val v;
		char item[160];
		col_val(st, 3, &v);
		snprintf(item, sizeof(item), "%s %s", ctext(st, 1), ctext(st, 2) ? ctext(st, 2) : "");
		card_row(&t, "history", ctext(st, 0), item, &v, ctext(st, 4));
	}
	sqlite3_finalize(st);
	rtab_emit(r, &t);
	return 0;
}

/* ---- export ------------------------------------------------------------------ */

/* The customer of an order, event or consent as crm-import finds them
 * again: by id, else (only then) e-mail, else phone. */
#define KEY_COLS \
	" CASE WHEN c.external_id IS NULL THEN c.email END AS email," \
	" CASE WHEN c.external_id IS NULL AND c.email IS NULL THEN c.phone END AS phone,"

/* Each table as crm-import reads it back (crm-report.1, EXPORT): the
 * columns it does not read (updated_at of customers, amount_minor,
 * customer_key) it ignores by name. */
static const struct {
	const char *name, *since, *sql;
} exports[] = {
	{ "customers", "c.updated_at",
	  "SELECT c.external_id AS id, c.email, c.phone, c.first_name, c.last_name, c.birthday,"
	  " c.city, c.country, c.timezone, c.created_at, c.updated_at, c.attrs, c.is_stub,"
	  " c.erased_at, c.id AS customer_key FROM customers c WHERE 1" },
	{ "orders", "o.ordered_at",
	  "SELECT o.external_id AS order_id, c.external_id AS customer_id," KEY_COLS " o.ordered_at,"
	  " o.amount * crm_currency_k(o.currency) / 1000.0 AS amount, o.currency,"
	  " o.amount AS amount_minor, o.status, o.attrs, o.customer_id AS customer_key"
	  " FROM orders o JOIN customers c ON c.id = o.customer_id WHERE 1" },
	/* the lines as crm-import lines reads them back: the order's
	 * customer, time, currency and status on each line, the price in
	 * major units; product name and category as the product has them */
	{ "lines", "o.ordered_at",
	  "SELECT o.external_id AS order_id, c.external_id AS customer_id," KEY_COLS
	  " o.ordered_at, p.sku, p.name AS product_name, p.category, l.quantity,"
	  " l.unit_price * crm_currency_k(o.currency) / 1000.0 AS unit_price, o.currency,"
	  " o.status, l.line, l.amount AS amount_minor, o.customer_id AS customer_key"
	  " FROM order_lines l JOIN orders o ON o.id = l.order_id"
	  " JOIN products p ON p.id = l.product_id"
	  " JOIN customers c ON c.id = o.customer_id WHERE 1" },
	{ "products", "p.updated_at",
	  "SELECT p.sku, p.name AS product_name, p.category, p.updated_at FROM products p WHERE 1" },
	/* other ids of customers, as crm-import customers reads them */
	{ "aliases", "a.alias",
	  "SELECT c.external_id AS id, a.alias, a.customer_id AS customer_key"
	  " FROM customer_aliases a JOIN customers c ON c.id = a.customer_id"
	  " WHERE c.external_id IS NOT NULL" },
	{ "events", "e.occurred_at",
	  "SELECT e.external_id AS event_id, c.external_id AS customer_id," KEY_COLS " e.type,"
	  " e.occurred_at,"
	  " e.campaign, e.message_id, e.props, e.machine, e.customer_id AS customer_key"
	  " FROM events e JOIN customers c ON c.id = e.customer_id WHERE 1" },
	{ "consents", "k.recorded_at",
	  "SELECT c.external_id AS customer_id," KEY_COLS " k.channel,"
	  " CASE k.granted WHEN 1 THEN 'granted' ELSE 'revoked' END AS consent, k.recorded_at,"
	  " k.source, k.customer_id AS customer_key"
	  " FROM consents k JOIN customers c ON c.id = k.customer_id WHERE 1" },
	{ "messages", "m.updated_at",
	  "SELECT p.name AS campaign, c.external_id AS customer_id, m.channel, m.grp AS \"group\","
	  " m.variant, m.status, m.reason, m.address, m.message_id, m.provider_id, m.attempts,"
	  " m.planned_at, m.sent_at, m.updated_at, m.customer_id AS customer_key"
	  " FROM messages m JOIN campaigns p ON p.id = m.campaign_id"
	  " JOIN customers c ON c.id = m.customer_id WHERE 1" },
	/* what crm-import bounces read and decided; raw is left in the base
	 * (its size says whether it is there) */
	{ "inbound", "i.received_at",
	  "SELECT i.id AS inbound, i.received_at, i.origin, i.kind, i.status, i.decision,"
	  " i.reason, i.address, i.diagnostic, p.name AS campaign, m.message_id,"
	  " c.external_id AS customer_id, length(i.raw) AS raw_bytes, i.customer_id AS customer_key"
	  " FROM inbound i LEFT JOIN messages m ON m.id = i.outbox_id"
	  " LEFT JOIN campaigns p ON p.id = m.campaign_id"
	  " LEFT JOIN customers c ON c.id = i.customer_id WHERE 1" },
	/* exchange rates as crm-import rates reads them (--currency BASE) */
	{ "rates", "x.valid_from",
	  "SELECT x.currency, x.rate, x.valid_from FROM exchange_rates x WHERE 1" },
	/* promo codes: whom each was sent to, in which campaign, and the
	 * orders that redeemed it */
	{ "coupons", "k.imported_at",
	  "SELECT k.pool, k.code, k.ext AS customer_id, k.campaign, k.assigned_at, k.redeemed_at,"
	  " k.redemptions, k.imported_at FROM (SELECT p.name AS pool, k.code, c.external_id AS ext,"
	  " cp.name AS campaign, k.assigned_at, k.redeemed_at,"
	  " (SELECT count(*) FROM coupon_redemptions r WHERE r.coupon_id = k.id) AS redemptions,"
	  " k.imported_at, m.customer_id"
	  " FROM coupons k JOIN coupon_pools p ON p.id = k.pool_id"
	  " LEFT JOIN messages m ON m.id = k.message_id"
	  " LEFT JOIN campaigns cp ON cp.id = m.campaign_id"
	  " LEFT JOIN customers c ON c.id = m.customer_id) k WHERE 1" },
	/* the loyalty ledger (crm-loyalty), by time then entry */
	{ "ledger", "g.occurred_at",
	  "SELECT g.id AS entry, c.external_id AS customer_id, g.kind, g.points, g.occurred_at,"
	  " g.available_at, g.expires_at, o.external_id AS order_id, g.lot_id, g.key, g.reason,"
	  " g.created_at FROM loyalty_ledger g JOIN customers c ON c.id = g.customer_id"
	  " LEFT JOIN orders o ON o.id = g.order_id WHERE 1" },
};

int report_export(struct report *r, const char *table)
{
	sqlite3 *db = r->crm->db;
	struct sb sql = SB_INIT;
	sqlite3_stmt *st;
	struct out *o;
	char f[128], col[32];
	size_t i;
	int rc;

	for (i = 0; i < ARRAY_SIZE(exports); i++)
		if (!strcmp(table, exports[i].name))
			break;
	if (i == ARRAY_SIZE(exports)) {
		crm_error("cannot export \"%s\" (customers, orders, lines, products, aliases, events,"
			  " consents, messages, inbound, rates, coupons or ledger)", table);
		return CRM_EXIT_USAGE;
	}
	/* the customer column of each table is the one its alias starts */
	snprintf(col, sizeof(col), "%c.%s", exports[i].since[0],
		 i == 0 ? "id" : "customer_id");
	if (!strcmp(table, "aliases") && r->o->since) {
		crm_error("aliases have no time: export them without --since");
		return CRM_EXIT_USAGE;
	}
	if ((!strcmp(table, "products") || !strcmp(table, "rates")) && r->filtered) {
		crm_error("%s belong to no customer: export them without --segment or --where", table);
		return CRM_EXIT_USAGE;
	}
	if (!strcmp(table, "rates")) {
		char *base = db_meta_get(db, "base_currency");
		if (base)
			crm_note("rates in %s: import them with crm-import rates --currency %s", base,
				 base);
		free(base);
	}
	sb_adds(&sql, exports[i].sql);
	if (r->o->since)
		sb_addf(&sql, " AND %s >= ?1", exports[i].since);
	sb_adds(&sql, report_filter(r, col, f, sizeof(f)));
	/* lines in their order's line order, after the order's time */
	sb_addf(&sql, " ORDER BY %s, 1%s", exports[i].since,
		!strcmp(table, "lines") ? ", l.line" : "");
	expr_register(db);
	st = db_prepare(db, sql.buf);
	if (r->o->since)
		sqlite3_bind_text(st, 1, r->o->since, -1, SQLITE_STATIC);
	o = out_new(r->fp, r->format);
	out_set_neutralise(o, r->o->raw ? 0 : OUT_NEUTRALISE_TEXT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		out_stmt_row(o, st);
	if (rc != SQLITE_DONE)
		db_die(db, NULL);
	if (!out_has_columns(o)) {
		const char **names = xcalloc(sqlite3_column_count(st), sizeof(char *));
		for (int k = 0; k < sqlite3_column_count(st); k++)
			names[k] = sqlite3_column_name(st, k);
		out_columns(o, sqlite3_column_count(st), names);
		free(names);
	}
	out_finish(o);
	sqlite3_finalize(st);
	sb_free(&sql);
	return 0;
}
