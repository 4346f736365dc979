/*
 * expr_sql.c - the allow-list of names of the expression language and the
 * SQL generator.
 *
 * Every field, metric and function maps to one SQL template in expr_defs[]
 * below; nothing else ever reaches the SQL but fixed operators, these
 * templates and parameter references. To precompute a metric (a table
 * refreshed by crm-score or a trigger), change its one template; to enable
 * a name whose sql is NULL, give it a template.
 *
 * A template is an SQL value over customers c that must be atomic (a
 * column, a function call or parenthesised). Placeholders:
 *     $1 .. $9   the function's arguments, bound as parameters
 *     $now       now, seconds since the epoch (an integer parameter)
 *     $nowt      now as "YYYY-MM-DD HH:MM:SS" (a text parameter)
 *     $since     now minus the function's duration argument, as text
 *     $until     now plus the function's duration argument, as text
 *     $days      birthday_in's condition on c.birthday: ranges of its
 *                "MM-DD" (see birthday_runs())
 *     $k         the currency factor: o.amount * $k / 1000.0 is the
 *                amount in major units, crm_currency_k() of norm's table
 *                (JPY amounts are yen, KWD amounts fils, most cents)
 *     $K         the same of e.currency (orders aliased e, the IN form)
 *     $f         the products that argument 1 names (a filter): p.sku = it,
 *                p.category COLLATE NOCASE = it or p.name COLLATE NOCASE = it
 *     $[ ... $]  kept only when the optional arguments were given
 *     $c         the channel of argument 1 when it names a topic ("email"
 *                of "email:news"), a parameter
 *     $< ... $>  kept only when argument 1 names a topic ("email:news")
 *     $h         " AND e.machine IS NULL" when argument 1 is an event type
 *                that machines make (opened, clicked), else nothing
 *     $$         a literal '$'
 *
 * History is taken as of now: orders, events and consent records after
 * now (a --now in the past) are ignored, so that a back-filled run sees
 * what it would have seen then. Customer fields are current values.
 */
#include "expr_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "norm.h"

/* The channels crm-import accepts (lib/imp.c keeps the same list). */

/*
 * Order metrics: completed orders up to now. A customer's row of
 * order_stats (share/schema/003-order-stats.sql) sums all of their
 * completed orders; it answers for a now at or after its last_order_at,
 * and the orders themselves (through the covering index
 * orders_customer(customer_id, ordered_at, status, amount, currency)) for
 * an earlier now, which must not see later orders. No row: no completed
 * order at all.
 *   STAT_C  the metric of customer c: the row, else the orders
 *   STAT_S  the same for the customer of an order_stats row s
 */
/* What each metric reads (lib/db.h, orders.purchase): revenue the
 * purchases and the refunds (OWHERE), the others the purchases alone
 * (PWHERE). The row of order_stats holds for a now at or after its
 * last_at, the latest of both. */
#define OWHERE_OF(cid) "o.customer_id = " cid " AND o.ordered_at <= $nowt AND " DB_COUNTED("o")
#define OWHERE OWHERE_OF("c.id")
#define PWHERE_OF(cid) "o.customer_id = " cid " AND o.ordered_at <= $nowt AND " DB_PURCHASE("o")
#define PWHERE PWHERE_OF("c.id")
#define STAT_C(stat, agg, where) \
	"coalesce((SELECT " stat " FROM order_stats s WHERE s.customer_id = c.id" \
	" AND s.last_at <= $nowt), (SELECT " agg " FROM orders o WHERE " where("c.id") "))"
#define STAT_S(stat, agg, where) \
	"(CASE WHEN s.last_at <= $nowt THEN " stat " ELSE (SELECT " agg \
	" FROM orders o WHERE " where("s.customer_id") ") END)"
#define DAYS_SINCE(t) "($now - CAST(strftime('%s', " t ") AS INTEGER)) / 86400"
#define LATEST_CONSENT_OF(ch) \
	"(SELECT k.granted FROM consents k WHERE k.customer_id = c.id AND k.channel = " ch \
	" AND k.recorded_at <= $nowt ORDER BY k.recorded_at DESC, k.id DESC LIMIT 1)"
/*
 * Consent topics: a consents row of "email:news" is about the topic news
 * of the channel email. consent("email:news") holds when the topic's
 * latest record is a grant and the channel's latest record, if any, is
 * not a revocation (a channel revoked stops all of its topics; a topic
 * revoked stops only itself); unsubscribed("email:news") when the topic
 * or the channel is unsubscribed.
 */
#define CONSENT \
	"$<(coalesce(" LATEST_CONSENT_OF("$c") ", 1) <> 0 AND $>" \
	"coalesce(" LATEST_CONSENT_OF("$1") ", 0)$<)$>"
#define UNSUB_OF(ch) \
	"(coalesce(" LATEST_CONSENT_OF(ch) ", 1) = 0 OR EXISTS (SELECT 1 FROM events e" \
	" WHERE e.customer_id = c.id AND e.type = 'unsubscribed' AND e.occurred_at <= $nowt" \
	" AND coalesce(lower(json_extract(e.props, '$$.channel')), " ch ") = " ch \
	" AND e.occurred_at > coalesce((SELECT max(k.recorded_at) FROM consents k" \
	" WHERE k.customer_id = c.id AND k.channel = " ch " AND k.granted = 1" \
	" AND k.recorded_at <= $nowt), '')))"
#define UNSUBSCRIBED "$<(" UNSUB_OF("$c") " OR $>" UNSUB_OF("$1") "$<)$>"
/* Opens and clicks: a person's (machine IS NULL, see events.machine in
 * crm.7) unless who is "" (the _any forms). */
#define HUMAN " AND e.machine IS NULL"
#define SINCE_EVENT(type, who) \
	"($now - CAST(strftime('%s', (SELECT max(e.occurred_at) FROM events e" \
	" WHERE e.customer_id = c.id AND e.type = '" type "' AND e.campaign = $1" who \
	" AND e.occurred_at <= $nowt)) AS INTEGER))"
#define EVENTS_IN(type, who) \
	"SELECT e.customer_id FROM events e WHERE e.type = '" type "' AND e.campaign = $1" who \
	" AND e.occurred_at <= $nowt"
#define SINCE_EVENT_IN "($now - CAST(strftime('%s', max(e.occurred_at)) AS INTEGER))"
/*
 * crm-send's outbox: the customer's row of the campaign (one at most),
 * when it was handed over (status sent) by now. received() also wants no
 * bounced event of the campaign since (an asynchronous bounce, imported
 * as an event). In the IN form (expr_gen_top()) the rows are aliased e,
 * like the events of event().
 */
#define CAMPAIGN_ID "(SELECT k.id FROM campaigns k WHERE k.name = $1)"
#define RECEIVED(m) \
	" AND NOT EXISTS (SELECT 1 FROM events b WHERE b.customer_id = " m ".customer_id" \
	" AND b.type = 'bounced' AND b.campaign = $1 AND b.occurred_at <= $nowt)"
#define SINCE_SENT(cond) \
	"($now - CAST(strftime('%s', (SELECT m.sent_at FROM messages m" \
	" WHERE m.campaign_id = " CAMPAIGN_ID " AND m.customer_id = c.id" \
	" AND m.status = 'sent' AND m.sent_at <= $nowt" cond ")) AS INTEGER))"
#define SENT_IN(cond) \
	"SELECT e.customer_id FROM messages e WHERE e.campaign_id = " CAMPAIGN_ID \
	" AND e.status = 'sent' AND e.sent_at <= $nowt" cond
#define CONVERTED \
	"($now - CAST(strftime('%s', (SELECT min(o.ordered_at) FROM messages m JOIN orders o" \
	" ON o.customer_id = m.customer_id WHERE m.campaign_id = " CAMPAIGN_ID \
	" AND m.customer_id = c.id AND m.status = 'sent' AND o.ordered_at > m.sent_at" \
	" AND o.ordered_at <= datetime(m.sent_at, '+7 days') AND o.ordered_at <= $nowt AND " DB_PURCHASE("o") \
	")) AS INTEGER))"
#define SINCE_SENT_IN "($now - CAST(strftime('%s', max(e.sent_at)) AS INTEGER))"
/* Promo codes (share/schema/015-coupons.sql): the customer's first
 * purchase with a code that the campaign sent (to anyone). */
#define REDEEMED \
	"($now - CAST(strftime('%s', (SELECT min(o.ordered_at) FROM coupon_redemptions r" \
	" JOIN coupons k ON k.id = r.coupon_id JOIN messages m ON m.id = k.message_id" \
	" JOIN orders o ON o.id = r.order_id WHERE m.campaign_id = " CAMPAIGN_ID \
	" AND o.customer_id = c.id AND o.ordered_at <= $nowt AND " DB_PURCHASE("o") \
	")) AS INTEGER))"

/*
 * Order lines (share/schema/009-lines-status.sql): the lines of the
 * customer's orders up to now that count (purchase <> 0: purchases, and
 * refund or credit orders, whose lines reduce), of the products that
 * argument 1 names ($f: sku exact, category or name case-insensitive for
 * ASCII letters, the NOCASE indexes of 010-expr-lines.sql). A line with a
 * negative quantity is a return. bought() counts the purchases (purchase
 * 1) with a line of positive quantity; bought_count() and spent() sum the
 * quantities and amounts of every line, returns subtracting. In the IN
 * form (expr_gen_top()) the orders are aliased e, $K their currency
 * factor.
 */
#define PRODUCTS "l.product_id IN (SELECT p.id FROM products p WHERE $f)"
#define LINES_WIN(o) "$[ AND " o ".ordered_at >= $since$]"
/* One subquery, the product's condition first: SQLite's parser reads it
 * with less of its stack than at the end of the and-chain (see
 * expr_sql_nesting()). */
#define LINES_FROM \
	" FROM order_lines l JOIN orders o ON o.id = l.order_id JOIN products p ON p.id = l.product_id" \
	" WHERE $f AND o.customer_id = c.id AND o.ordered_at <= $nowt"
#define BOUGHT \
	"(SELECT count(DISTINCT o.id)" LINES_FROM " AND " DB_PURCHASE("o") LINES_WIN("o") \
	" AND l.quantity > 0)"
#define BOUGHT_IN \
	"SELECT e.customer_id FROM orders e WHERE e.ordered_at <= $nowt AND " DB_PURCHASE("e") \
	LINES_WIN("e") " AND e.id IN (SELECT l.order_id FROM order_lines l WHERE l.quantity > 0" \
	" AND " PRODUCTS ")"
#define LINES_SUM(agg) "(SELECT " agg LINES_FROM " AND " DB_COUNTED("o") LINES_WIN("o") ")"
#define LINES_SUM_IN \
	"SELECT e.customer_id FROM order_lines l JOIN orders e ON e.id = l.order_id" \
	" WHERE e.ordered_at <= $nowt AND " DB_COUNTED("e") LINES_WIN("e") " AND " PRODUCTS
#define LINES_FUNC(name, agg, agg_in, sig, doc) \
	{ name, 1, EXPR_NUMBER, NORM_NONE, SP_NONE, "P[d]", LINES_SUM(agg), NULL, NULL, sig, doc, \
	  agg_in, NULL, LINES_SUM_IN, NIL_ZERO }
/* The category of the most net spent (positive), ties by name; the
 * spellings of one category in other cases are one (NOCASE). */
#define TOP_CATEGORY \
	"(SELECT min(p.category) FROM order_lines l JOIN orders o ON o.id = l.order_id" \
	" JOIN products p ON p.id = l.product_id WHERE o.customer_id = c.id" \
	" AND o.ordered_at <= $nowt AND " DB_COUNTED("o") " AND p.category <> ''" \
	" GROUP BY p.category COLLATE NOCASE HAVING total(l.amount * $k) > 0" \
	" ORDER BY total(l.amount * $k) DESC, 1 LIMIT 1)"
/* orders(status = "..."): the orders of a status, whatever they count as.
 * The covering index orders_customer holds the status: one customer's
 * orders are a range of it, and the IN form reads it through once (no
 * index on status: every index on orders costs a large import a rebuild). */
#define STATUS_ORDERS \
	"(SELECT count(*) FROM orders o WHERE o.customer_id = c.id AND o.status = $1" \
	" AND o.ordered_at <= $nowt" LINES_WIN("o") ")"
#define STATUS_ORDERS_IN \
	"SELECT e.customer_id FROM orders e WHERE e.status = $1 AND e.ordered_at <= $nowt" \
	LINES_WIN("e")

/* loyalty: the account and the lots crm-loyalty's last run left */
#define LOYALTY_ACCOUNT(col) \
	"(SELECT " col " FROM loyalty_accounts a WHERE a.customer_id = c.id)"
#define LOYALTY_LOTS(agg, until) \
	"(SELECT " agg " FROM loyalty_lots l WHERE l.customer_id = c.id" \
	" AND (l.available_at IS NULL OR l.available_at <= $nowt)" \
	" AND l.expires_at > $nowt AND l.expires_at <= " until ")"

#define FIELD(name, type, norm, sql, show, doc) \
	{ name, 0, type, norm, SP_NONE, NULL, sql, show, NULL, name, doc, NULL, NULL, NULL, 0 }
#define SCORE(name, type, doc) \
	{ name, 0, type, NORM_NONE, SP_NONE, NULL, \
	  "(SELECT sc." name " FROM scores sc WHERE sc.customer_id = c.id)", NULL, NULL, name, \
	  doc "; from crm-score, null when not scored", NULL, NULL, NULL, 0 }
#define FUNC(name, type, sp, args, sql, show, sig, doc) \
	{ name, 1, type, NORM_NONE, sp, args, sql, show, NULL, sig, doc, NULL, NULL, NULL, 0 }
#define METRIC(name, type, stat, agg, where, nil, doc) \
	{ name, 0, type, NORM_NONE, SP_NONE, NULL, STAT_C(stat, agg, where), NULL, NULL, name, \
	  doc, STAT_S(stat, agg, where), NULL, NULL, nil }
#define WINDOW(name, agg, where, sig, doc) \
	{ name, 1, EXPR_NUMBER, NORM_NONE, SP_NONE, "d", \
	  "(SELECT " agg " FROM orders o WHERE " where("c.id") " AND o.ordered_at >= $since)", \
	  NULL, NULL, sig, doc, "(SELECT " agg " FROM orders o WHERE " where("s.customer_id") \
	  " AND o.ordered_at >= $since)", "s.last_at >= $since", NULL, NIL_ZERO }

const struct expr_def expr_defs[] = {
	/* customer fields */
	FIELD("id", EXPR_STRING, NORM_NONE, "c.external_id", NULL,
	      "the customer's id in the source system (external_id)"),
	FIELD("external_id", EXPR_STRING, NORM_NONE, "c.external_id", NULL,
	      "the customer's id in the source system"),
	FIELD("customer_id", EXPR_NUMBER, NORM_NONE, "c.id", NULL,
	      "crmkit's internal customer number"),
	FIELD("email", EXPR_STRING, NORM_EMAIL, "c.email", NULL,
	      "e-mail address, lower case"),
	FIELD("phone", EXPR_STRING, NORM_PHONE, "c.phone", NULL,
	      "phone number, E.164"),
	FIELD("first_name", EXPR_STRING, NORM_NONE, "c.first_name", NULL, "first name"),
	FIELD("last_name", EXPR_STRING, NORM_NONE, "c.last_name", NULL, "last name"),
	FIELD("birthday", EXPR_TIME, NORM_NONE, "datetime(c.birthday)", "c.birthday",
	      "date of birth (a time at midnight UTC)"),
	FIELD("city", EXPR_STRING, NORM_NONE, "c.city", NULL, "city"),
	FIELD("country", EXPR_STRING, NORM_COUNTRY, "c.country", NULL,
	      "ISO 3166 alpha-2 country code"),
	FIELD("timezone", EXPR_STRING, NORM_NONE, "c.timezone", NULL, "IANA time zone"),
	FIELD("created_at", EXPR_TIME, NORM_NONE, "c.created_at", NULL,
	      "when the customer was created"),
	FIELD("updated_at", EXPR_TIME, NORM_NONE, "c.updated_at", NULL,
	      "when the customer's data last changed"),
	FIELD("is_stub", EXPR_BOOL, NORM_NONE, "c.is_stub", NULL,
	      "created from an order or event of an unknown customer"),

	/* metrics over completed orders up to now */
	METRIC("orders", EXPR_NUMBER, "s.orders", "count(*)", PWHERE_OF, NIL_ZERO,
	       "number of purchases (crm.7 ORDERS)"),
	METRIC("revenue", EXPR_NUMBER, "s.revenue / 1000.0", "total(o.amount * $k) / 1000.0",
	       OWHERE_OF, NIL_ZERO,
	       "purchases less refunds in major units, currencies summed as they are; 0 when none"),
	METRIC("aov", EXPR_NUMBER, "s.revenue / 1000.0 / nullif(s.orders, 0)",
	       "total(o.amount * $k) / 1000.0 / nullif(" DB_PURCHASES ", 0)", OWHERE_OF, NIL_NULL,
	       "average order value (revenue / orders); null when no orders"),
	METRIC("first_order_at", EXPR_TIME, "s.first_order_at", "min(o.ordered_at)", PWHERE_OF,
	       NIL_NULL, "time of the first purchase; null when none"),
	METRIC("last_order_at", EXPR_TIME, "s.last_order_at", "max(o.ordered_at)", PWHERE_OF,
	       NIL_NULL, "time of the last purchase; null when none"),
	METRIC("days_since_last_order", EXPR_NUMBER, DAYS_SINCE("s.last_order_at"),
	       DAYS_SINCE("max(o.ordered_at)"), PWHERE_OF, NIL_NULL,
	       "whole days since the last purchase; null when none"),
	FIELD("tenure_days", EXPR_NUMBER, NORM_NONE,
	      "(SELECT ($now - CAST(strftime('%s', min(coalesce(c.created_at, min(o.ordered_at)),"
	      " coalesce(min(o.ordered_at), c.created_at))) AS INTEGER)) / 86400"
	      " FROM orders o WHERE " PWHERE ")", NULL,
	      "whole days since created_at or the first purchase, whichever is earlier"),
	FIELD("top_category", EXPR_STRING, NORM_NONE, TOP_CATEGORY, NULL,
	      "the product category of the most net spent over the order lines (ties: the first"
	      " by name); null when none"),

	/* scores, once crm-score writes them */
	SCORE("r", EXPR_NUMBER, "RFM recency score, 1 to the number of bins (default 5), higher is better"),
	SCORE("f", EXPR_NUMBER, "RFM frequency score, 1 to the number of bins (default 5), higher is better"),
	SCORE("m", EXPR_NUMBER, "RFM monetary score, 1 to the number of bins (default 5), higher is better"),
	SCORE("rfm", EXPR_STRING, "RFM cell such as \"545\""),
	SCORE("rfm_segment", EXPR_STRING, "named RFM segment such as \"at_risk\""),
	SCORE("clv", EXPR_NUMBER, "discounted expected revenue over the horizon, major units (crm-score(1))"),
	SCORE("p_alive", EXPR_NUMBER, "probability that the customer is still active"),
	SCORE("churn_risk", EXPR_NUMBER, "1 - p_alive"),
	SCORE("expected_orders", EXPR_NUMBER, "orders expected over the model's horizon"),

	/* uplift, once crm-score uplift has fitted a model: the latest one */
	FIELD("uplift", EXPR_NUMBER, NORM_NONE,
	      "(SELECT u.uplift FROM uplift_scores u WHERE u.model_id ="
	      " (SELECT max(k.id) FROM uplift_models k) AND u.customer_id = c.id)", NULL,
	      "predicted effect of a message on the chance to convert (or on revenue), of the uplift"
	      " model fitted last (crm-score uplift); null when none"),

	/* loyalty, once crm-loyalty runs (as of its last run) */
	FIELD("points", EXPR_NUMBER, NORM_NONE, "coalesce(" LOYALTY_ACCOUNT("a.points") ", 0)", NULL,
	      "loyalty points usable now (negative: a debt); 0 when none (crm-loyalty(1))"),
	FIELD("points_pending", EXPR_NUMBER, NORM_NONE, "coalesce(" LOYALTY_ACCOUNT("a.pending") ", 0)",
	      NULL, "loyalty points earned and not usable yet; 0 when none"),
	FIELD("points_expiring_30d", EXPR_NUMBER, NORM_NONE,
	      LOYALTY_LOTS("coalesce(sum(l.remaining), 0)", "datetime($nowt, '+30 days')"), NULL,
	      "usable loyalty points whose lot expires within 30 days (for templates)"),
	FIELD("points_expiry", EXPR_TIME, NORM_NONE,
	      LOYALTY_LOTS("min(l.expires_at)", "'9999-12-31 23:59:59'"), NULL,
	      "when the next usable loyalty points expire; null when none do"),
	FIELD("tier", EXPR_STRING, NORM_NONE, LOYALTY_ACCOUNT("a.tier"), NULL,
	      "the loyalty tier; null at the base level or when not a member"),
	FIELD("tier_since", EXPR_TIME, NORM_NONE, LOYALTY_ACCOUNT("a.tier_since"), NULL,
	      "since when the member has the tier; null without one"),

	/* functions */
	FUNC("points_expiring", EXPR_NUMBER, SP_NONE, "d",
	     LOYALTY_LOTS("coalesce(sum(l.remaining), 0)", "$until"), NULL,
	     "points_expiring(DURATION)",
	     "usable loyalty points whose lot expires within the duration from now"),
	FUNC("earned", EXPR_NUMBER, SP_NONE, "d",
	     "(SELECT coalesce(sum(g.points), 0) FROM loyalty_ledger g WHERE g.customer_id = c.id"
	     " AND g.points > 0 AND g.kind <> 'adjust' AND g.occurred_at <= $nowt"
	     " AND g.occurred_at >= $since)", NULL, "earned(DURATION)",
	     "loyalty points earned within the window ending now (purchases and bonuses, not"
	     " manual adjustments)"),
	FUNC("now", EXPR_TIME, SP_NOW, "", NULL, NULL, "now()",
	     "the current time (--now)"),
	FUNC("today", EXPR_TIME, SP_TODAY, "", NULL, NULL, "today()",
	     "midnight UTC of the current day"),
	WINDOW("orders", "count(*)", PWHERE_OF, "orders(DURATION)",
	       "purchases within the window ending now"),
	{ "orders", 1, EXPR_NUMBER, NORM_NONE, SP_NONE, "s[d]", STATUS_ORDERS, NULL, NULL,
	  "orders(status = STATUS[, DURATION])",
	  "number of orders of a status, purchases or not (within the window)",
	  "count(*)", NULL, STATUS_ORDERS_IN, NIL_ZERO },
	WINDOW("revenue", "total(o.amount * $k) / 1000.0", OWHERE_OF, "revenue(DURATION)",
	       "revenue within the window ending now"),
	{ "bought", 1, EXPR_NUMBER, NORM_NONE, SP_NONE, "P[d]", BOUGHT, NULL, NULL,
	  "bought(PRODUCT[, DURATION])",
	  "number of purchases with a line of the product (a SKU, sku = ..., category = ... or"
	  " name = ...; within the window)",
	  "count(*)", NULL, BOUGHT_IN, NIL_ZERO },
	LINES_FUNC("bought_count", "total(l.quantity)", "total(l.quantity)",
		   "bought_count(PRODUCT[, DURATION])",
		   "net units of the product over the order lines, returns subtracted (within the"
		   " window)"),
	LINES_FUNC("spent", "total(l.amount * $k) / 1000.0", "total(l.amount * $K) / 1000.0",
		   "spent(PRODUCT[, DURATION])",
		   "net amount of the product's order lines in major units, returns subtracted"
		   " (within the window)"),
	{ "event", 1, EXPR_NUMBER, NORM_NONE, SP_NONE, "e[d]",
	  "(SELECT count(*) FROM events e WHERE e.customer_id = c.id AND e.type = $1$h"
	  " AND e.occurred_at <= $nowt$[ AND e.occurred_at >= $since$])", NULL, NULL,
	  "event(TYPE[, DURATION])",
	  "number of events of a type (within the window); opened and clicked: a person's only",
	  "count(*)", NULL,
	  "SELECT e.customer_id FROM events e WHERE e.type = $1$h AND e.occurred_at <= $nowt"
	  "$[ AND e.occurred_at >= $since$]", NIL_ZERO },
	{ "event_any", 1, EXPR_NUMBER, NORM_NONE, SP_NONE, "e[d]",
	  "(SELECT count(*) FROM events e WHERE e.customer_id = c.id AND e.type = $1"
	  " AND e.occurred_at <= $nowt$[ AND e.occurred_at >= $since$])", NULL, NULL,
	  "event_any(TYPE[, DURATION])",
	  "number of events of a type (within the window), machine opens and clicks included",
	  "count(*)", NULL,
	  "SELECT e.customer_id FROM events e WHERE e.type = $1 AND e.occurred_at <= $nowt"
	  "$[ AND e.occurred_at >= $since$]", NIL_ZERO },
	FUNC("consent", EXPR_BOOL, SP_NONE, "c", CONSENT, NULL,
	     "consent(CHANNEL[:TOPIC])",
	     "the latest consent record for the channel (the topic, and the channel is not"
	     " revoked) is a grant"),
	FUNC("unsubscribed", EXPR_BOOL, SP_NONE, "c", UNSUBSCRIBED, NULL,
	     "unsubscribed(CHANNEL[:TOPIC])",
	     "the latest consent record is a revocation, or an unsubscribed event came after the"
	     " latest grant (for a topic: of the topic or of its channel)"),
	FUNC("birthday_in", EXPR_BOOL, SP_BIRTHDAY, "D", "($days)", "c.birthday",
	     "birthday_in(DURATION)", "the next birthday is within whole days from today (UTC)"),
	{ "opened", 1, EXPR_DURATION, NORM_NONE, SP_NONE, "p", SINCE_EVENT("opened", HUMAN), NULL,
	  NULL, "opened(CAMPAIGN)",
	  "time since the latest opened event of the campaign that a person made (not a"
	  " machine); null when none",
	  SINCE_EVENT_IN, NULL, EVENTS_IN("opened", HUMAN), NIL_NULL },
	{ "clicked", 1, EXPR_DURATION, NORM_NONE, SP_NONE, "p", SINCE_EVENT("clicked", HUMAN),
	  NULL, NULL, "clicked(CAMPAIGN)",
	  "time since the latest clicked event of the campaign that a person made (not a"
	  " machine); null when none",
	  SINCE_EVENT_IN, NULL, EVENTS_IN("clicked", HUMAN), NIL_NULL },
	{ "opened_any", 1, EXPR_DURATION, NORM_NONE, SP_NONE, "p", SINCE_EVENT("opened", ""), NULL,
	  NULL, "opened_any(CAMPAIGN)",
	  "as opened(), machine opens (privacy proxies) included; null when none",
	  SINCE_EVENT_IN, NULL, EVENTS_IN("opened", ""), NIL_NULL },
	{ "clicked_any", 1, EXPR_DURATION, NORM_NONE, SP_NONE, "p", SINCE_EVENT("clicked", ""),
	  NULL, NULL, "clicked_any(CAMPAIGN)",
	  "as clicked(), machine clicks (link scanners) included; null when none",
	  SINCE_EVENT_IN, NULL, EVENTS_IN("clicked", ""), NIL_NULL },
	{ "received", 1, EXPR_DURATION, NORM_NONE, SP_NONE, "p", SINCE_SENT(RECEIVED("m")), NULL, NULL,
	  "received(CAMPAIGN)",
	  "time since the campaign's message was sent, unless a bounced event of the campaign"
	  " came back; null when never",
	  SINCE_SENT_IN, NULL, SENT_IN(RECEIVED("e")), NIL_NULL },
	{ "sent", 1, EXPR_DURATION, NORM_NONE, SP_NONE, "p", SINCE_SENT(""), NULL, NULL,
	  "sent(CAMPAIGN)",
	  "time since crm-send handed the campaign's message over (status sent); null when never",
	  SINCE_SENT_IN, NULL, SENT_IN(""), NIL_NULL },
	{ "converted", 1, EXPR_DURATION, NORM_NONE, SP_NONE, "p", CONVERTED, NULL, NULL,
	  "converted(CAMPAIGN)",
	  "time since the first completed order within 7 days after the campaign's message was"
	  " sent (crm-report's default window); null when none", NULL, NULL, NULL, NIL_NULL },
	FUNC("uplift", EXPR_NUMBER, SP_NONE, "p",
	     "(SELECT u.uplift FROM uplift_scores u WHERE u.model_id ="
	     " (SELECT k.id FROM uplift_models k WHERE k.name = $1) AND u.customer_id = c.id)", NULL,
	     "uplift(MODEL)",
	     "predicted effect of a message under the named uplift model (crm-score uplift --as);"
	     " null when none"),
	{ "redeemed", 1, EXPR_DURATION, NORM_NONE, SP_NONE, "p", REDEEMED, NULL, NULL,
	  "redeemed(CAMPAIGN)",
	  "time since the customer's first purchase with a promo code that the campaign sent"
	  " (crm-import orders, column promo_code); null when none", NULL, NULL, NULL, NIL_NULL },
};

const size_t expr_ndefs = ARRAY_SIZE(expr_defs);

const struct expr_def *expr_def_find(const char *name, size_t len, int is_func)
{
	for (size_t i = 0; i < expr_ndefs; i++)
		if (expr_defs[i].is_func == is_func && strlen(expr_defs[i].name) == len &&
		    !memcmp(expr_defs[i].name, name, len))
			return &expr_defs[i];
	return NULL;
}

int expr_name_at(size_t i, struct expr_name *n)
{
	const struct expr_def *d;

	if (i >= expr_ndefs)
		return -1;
	d = &expr_defs[i];
	n->name = d->name;
	n->signature = d->sig;
	n->type = d->type;
	n->is_function = d->is_func;
	n->available = d->sql || d->special;
	n->needs = d->needs;
	n->doc = d->doc;
	return 0;
}

/* ---------------------------------------------------------- birthdays */

static int leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/*
 * The month-days of [today, today + days]. Someone born on 29 February
 * celebrates on the 28th in years without one: "02-29" is added with
 * every 28 February of a non-leap year.
 */
size_t expr_birthday_days(int64_t now, int days, char out[][6])
{
	int64_t today = (now >= 0 ? now : now - 86399) / 86400;
	size_t n = 0;

	for (int k = 0; k <= days && n < 366; k++) {
		int y, m, d;
		char md[6];
		size_t j;

		norm_civil_from_days(today + k, &y, &m, &d);
		snprintf(md, sizeof(md), "%02d-%02d", m, d);
		for (j = 0; j < n && strcmp(out[j], md); j++)
			;
		if (j == n)
			memcpy(out[n++], md, 6);
		if (m == 2 && d == 28 && !leap(y)) {
			for (j = 0; j < n && strcmp(out[j], "02-29"); j++)
				;
			if (j == n)
				memcpy(out[n++], "02-29", 6);
		}
	}
	return n;
}

/*
 * The same days as ranges of "MM-DD" in text order, which SQLite tests
 * with two comparisons per customer rather than a lookup in a list. The
 * 366 month-days sort as text in calendar order, 02-29 between 02-28 and
 * 03-01, and the days of expr_birthday_days() are one arc of that circle
 * (its 02-29 closes the gap between 02-28 and 03-01 of a year without
 * one, or ends the arc after 02-28), so there is one range, or two
 * joined across the year end; the loop below finds any number. A range
 * is (first, last) as indexes into the circle, first > last when it
 * wraps past 12-31. Returns how many; 0 means every day of the year.
 */
static const int md_before[12] = { 0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335 };

static int md_index(const char *md)
{
	int m = (md[0] - '0') * 10 + (md[1] - '0'), d = (md[3] - '0') * 10 + (md[4] - '0');

	return md_before[m - 1] + d - 1;
}

static void md_text(int i, char out[6])
{
	int m = 11, d;

	while (md_before[m] > i)
		m--;
	d = i - md_before[m] + 1;

	out[0] = (char)('0' + (m + 1) / 10);
	out[1] = (char)('0' + (m + 1) % 10);
	out[2] = '-';
	out[3] = (char)('0' + d / 10);
	out[4] = (char)('0' + d % 10);
	out[5] = 0;
}

static size_t birthday_runs(int64_t now, int days, int runs[][2])
{
	char md[368][6];
	unsigned char in[366] = { 0 };
	size_t n = expr_birthday_days(now, days, md), k = 0;
	int z = 0, start = -1;

	for (size_t i = 0; i < n; i++)
		in[md_index(md[i])] = 1;
	while (z < 366 && in[z])
		z++;
	if (z == 366)
		return 0;
	/* from the day after a day that is out round to it */
	for (int s = 1; s <= 366; s++) {
		int i = (z + s) % 366;

		if (in[i] && start < 0)
			start = i;
		if (!in[i] && start >= 0) {
			runs[k][0] = start;
			runs[k][1] = (i + 365) % 366;
			k++;
			start = -1;
		}
	}
	return k;
}

/* --------------------------------------------------------- parameters */

static int new_param(struct expr_gen *g, struct expr_node *at, enum expr_ptype type,
		     int64_t i, double d, const char *s, size_t len)
{
	struct expr *e = g->e;
	struct expr_param *q;

	if (e->nparams >= EXPR_MAX_PARAMS) {
		if (!g->failed) {
			g->failed = 1;
			g->errpos = at ? at->start : 0;
		}
		return 0;
	}
	e->params = xgrow(e->params, sizeof(*e->params), e->nparams + 1, &e->cparams);
	q = &e->params[e->nparams];
	memset(q, 0, sizeof(*q));
	q->type = type;
	q->i = i;
	q->d = d;
	if (type == EXPR_P_TEXT) {
		q->s = xmalloc(len + 1);
		memcpy(q->s, s, len);
		q->s[len] = 0;
		q->len = len;
	}
	return (int)e->nparams++;
}

static void put_param(struct sb *out, int idx)
{
	sb_addf(out, "%c%d%c", EXPR_PMARK, idx, EXPR_PEND);
}

static int time_param(struct expr_gen *g, struct expr_node *at, int64_t t)
{
	char buf[20];

	norm_fmt_time(t, buf);
	return new_param(g, at, EXPR_P_TEXT, 0, 0, buf, 19);
}

void expr_gen_init(struct expr_gen *g, struct expr *e, int64_t now)
{
	memset(g, 0, sizeof(*g));
	g->e = e;
	g->now = now;
	g->now_p = g->nowt_p = -1;
	sb_init(&g->k);
}

void expr_gen_release(struct expr_gen *g)
{
	sb_free(&g->k);
}

/* The factor that turns minor units into thousandths of the major unit:
 * crm_currency_k() (expr_fn.c), one call per order; an SQL CASE over the
 * two dozen currencies without two decimals tests every order against
 * them, which was a third of the work of revenue(365d) on a large base. */
void expr_currency_factor(struct sb *out, const char *col)
{
	sb_addf(out, "crm_currency_k(%s)", col);
}

/* ---------------------------------------------------------- templates */

/* The first duration argument of a call (its window), or NULL. */
static struct expr_node *window_arg(struct expr_node *call)
{
	for (size_t i = 0; i < call->nkid; i++)
		if (call->kid[i]->type == EXPR_DURATION)
			return call->kid[i];
	return NULL;
}

static int has_optional(const struct expr_node *call)
{
	const char *a = call->def->args, *q = strchr(a, '[');
	size_t required = 0;

	if (!q)
		return 0;
	for (const char *r = a; r < q; r++)
		required++;
	return call->nkid > required;
}

/*
 * Expands a template. call is the function node (NULL for a field);
 * with g NULL the output has no parameters: $now and $nowt become
 * literals of now (for expr_field_sql). Returns -1 when a placeholder
 * needs a call that is not there.
 */
static int expand(struct expr_gen *g, int64_t now, const char *tpl,
		  struct expr_node *call, struct sb *out)
{
	for (const char *p = tpl; *p; p++) {
		if (*p != '$') {
			sb_addc(out, *p);
			continue;
		}
		p++;
		if (*p == '$') {
			sb_addc(out, '$');
		} else if (!strncmp(p, "nowt", 4)) {
			p += 3;
			if (!g) {
				char buf[20];

				norm_fmt_time(now, buf);
				sb_addf(out, "'%s'", buf);
				continue;
			}
			if (g->nowt_p < 0)
				g->nowt_p = time_param(g, call, g->now);
			put_param(out, g->nowt_p);
		} else if (!strncmp(p, "now", 3)) {
			p += 2;
			if (!g) {
				sb_addf(out, "%lld", (long long)now);
				continue;
			}
			if (g->now_p < 0)
				g->now_p = new_param(g, call, EXPR_P_INT, g->now, 0, NULL, 0);
			put_param(out, g->now_p);
		} else if (*p == 'k') {
			expr_currency_factor(out, "o.currency");
		} else if (*p == 'K') {
			expr_currency_factor(out, "e.currency");
		} else if (*p == 'f') {
			struct expr_node *a = call && call->nkid ? call->kid[0] : NULL;

			if (!g || !a || !a->filter)
				return -1;
			sb_adds(out, a->filter == FILTER_CATEGORY ? "p.category COLLATE NOCASE = " :
				a->filter == FILTER_NAME ? "p.name COLLATE NOCASE = " : "p.sku = ");
			expr_gen_value(g, a, out);
		} else if (!strncmp(p, "since", 5) || !strncmp(p, "until", 5)) {
			/* now minus (since) or plus (until) the duration argument */
			struct expr_node *w = call ? window_arg(call) : NULL;
			int ahead = *p == 'u';

			p += 4;
			if (!g || !w)
				return -1;
			if (call->p[0] < 0) {
				int64_t t;

				if (ahead ? __builtin_add_overflow(g->now, w->i, &t) :
					    __builtin_sub_overflow(g->now, w->i, &t))
					t = ahead ? INT64_MAX / 2 : INT64_MIN;
				call->p[0] = time_param(g, call, t);
			}
			put_param(out, call->p[0]);
		} else if (!strncmp(p, "days", 4)) {
			struct expr_node *w = call ? window_arg(call) : NULL;
			int runs[183][2], k = 0;
			size_t nr;

			p += 3;
			if (!g || !w)
				return -1;
			nr = birthday_runs(g->now, (int)(w->i / 86400), runs);
			if (!nr) {
				sb_adds(out, "c.birthday IS NOT NULL");
				continue;
			}
			if (call->pfirst < 0) {
				for (size_t i = 0; i < nr; i++)
					for (int j = 0; j < 2; j++) {
						char md[6];
						int idx;

						if (j && runs[i][1] == runs[i][0])
							break;
						md_text(runs[i][j], md);
						idx = new_param(g, call, EXPR_P_TEXT, 0, 0, md, 5);
						if (i == 0 && j == 0)
							call->pfirst = idx;
						call->pcount++;
					}
			}
			for (size_t i = 0; i < nr; i++) {
				int lo = call->pfirst + k++;

				if (i)
					sb_adds(out, " OR ");
				sb_adds(out, "substr(c.birthday, 6, 5)");
				if (runs[i][0] == runs[i][1]) {
					sb_adds(out, " = ");
					put_param(out, lo);
					continue;
				}
				if (runs[i][0] < runs[i][1]) {
					sb_adds(out, " BETWEEN ");
					put_param(out, lo);
					sb_adds(out, " AND ");
				} else {
					sb_adds(out, " >= ");
					put_param(out, lo);
					sb_adds(out, " OR substr(c.birthday, 6, 5) <= ");
				}
				put_param(out, call->pfirst + k++);
			}
		} else if (*p == 'c') {
			struct expr_node *a = call && call->nkid ? call->kid[0] : NULL;
			const char *colon = a && a->s ? memchr(a->s, ':', a->len) : NULL;

			if (!g || !colon)
				return -1;
			if (call->p[1] < 0)
				call->p[1] = new_param(g, call, EXPR_P_TEXT, 0, 0, a->s,
						       (size_t)(colon - a->s));
			put_param(out, call->p[1]);
		} else if (*p == '<') {
			struct expr_node *a = call && call->nkid ? call->kid[0] : NULL;

			if (!a || !a->s || !memchr(a->s, ':', a->len)) {
				const char *end = strstr(p, "$>");

				if (!end)
					return -1;
				p = end + 1;
			}
		} else if (*p == '>') {
			;
		} else if (*p == 'h') {
			struct expr_node *a = call && call->nkid ? call->kid[0] : NULL;

			if (a && a->s && (!strcmp(a->s, "opened") || !strcmp(a->s, "clicked")))
				sb_adds(out, HUMAN);
		} else if (*p == '[') {
			if (!call)
				return -1;
			if (!has_optional(call)) {
				const char *end = strstr(p, "$]");

				if (!end)
					return -1;
				p = end + 1;
			}
		} else if (*p == ']') {
			;
		} else if (*p >= '1' && *p <= '9') {
			size_t k = (size_t)(*p - '1');

			if (!g || !call || k >= call->nkid)
				return -1;
			expr_gen_value(g, call->kid[k], out);
		} else {
			return -1;
		}
	}
	return 0;
}

/* ---------------------------------------------------------- generator */

/*
 * SQL precedence of what a node generates, loosest first. An operand is
 * parenthesised only when it binds looser than its place needs, so that
 * left-deep chains ("a + b + c", "x AND y AND z") come out flat: SQLite's
 * parser (a fixed stack of 100 entries up to 3.45) fails on deep nesting
 * long before its expression depth limit.
 */
enum { P_OR = 1, P_AND, P_NOT, P_CMP, P_ADD, P_MUL, P_UNARY, P_ATOM };

/* Marks where a node's SQL starts, for expr_sql_nesting(); rendering
 * drops the marks. */
static void mark(struct sb *out, const struct expr_node *n)
{
	sb_addf(out, "%c%zu%c", EXPR_NMARK, n->start, EXPR_PEND);
}

static int gen_value(struct expr_gen *g, struct expr_node *n, struct sb *out);
static int gen_cond(struct expr_gen *g, struct expr_node *n, struct sb *out);

/* Appends n (its value, or with cond its condition), in parentheses when
 * it binds looser than min. */
static void sub(struct expr_gen *g, struct expr_node *n, int min, int cond, struct sb *out)
{
	struct sb tmp = SB_INIT;
	int prec = cond ? gen_cond(g, n, &tmp) : gen_value(g, n, &tmp);

	if (prec < min) {
		mark(out, n);
		sb_addc(out, '(');
		sb_add(out, tmp.buf, tmp.len);
		sb_addc(out, ')');
	} else {
		sb_add(out, tmp.buf, tmp.len);
	}
	sb_free(&tmp);
}

static int is_time_arith(const struct expr_node *n)
{
	return n->kind == NK_ARITH && n->type == EXPR_TIME;
}

static void epoch_sub(struct expr_gen *g, struct expr_node *n, int min, struct sb *out);

/* A time as seconds since the epoch: a parameter for a constant, flat
 * arithmetic for time +- duration, else the conversion of the text. */
static int epoch(struct expr_gen *g, struct expr_node *n, struct sb *out)
{
	if (n->kind == NK_CONST) {
		mark(out, n);
		if (n->p[1] < 0)
			n->p[1] = new_param(g, n, EXPR_P_INT, n->i, 0, NULL, 0);
		put_param(out, n->p[1]);
		return P_ATOM;
	}
	if (is_time_arith(n)) {
		struct expr_node *t = n->kid[0]->type == EXPR_TIME ? n->kid[0] : n->kid[1];
		struct expr_node *d = t == n->kid[0] ? n->kid[1] : n->kid[0];

		mark(out, n);
		epoch_sub(g, t, P_ADD, out);
		sb_adds(out, n->op == TK_MINUS ? " - " : " + ");
		sub(g, d, P_MUL, 0, out);
		return P_ADD;
	}
	mark(out, n);
	sb_adds(out, "CAST(strftime('%s', ");
	gen_value(g, n, out);
	sb_adds(out, ") AS INTEGER)");
	return P_ATOM;
}

/* The epoch of an operand where it must bind at least as tightly as min. */
static void epoch_sub(struct expr_gen *g, struct expr_node *n, int min, struct sb *out)
{
	struct sb tmp = SB_INIT;

	if (epoch(g, n, &tmp) < min) {
		sb_addc(out, '(');
		sb_add(out, tmp.buf, tmp.len);
		sb_addc(out, ')');
	} else {
		sb_add(out, tmp.buf, tmp.len);
	}
	sb_free(&tmp);
}

static int gen_const(struct expr_gen *g, struct expr_node *n, struct sb *out)
{
	if (n->type == EXPR_NULL) {
		sb_adds(out, "NULL");
		return P_ATOM;
	}
	if (n->p[0] < 0) {
		switch (n->type) {
		case EXPR_STRING:
			n->p[0] = new_param(g, n, EXPR_P_TEXT, 0, 0, n->s, n->len);
			break;
		case EXPR_TIME:
			n->p[0] = time_param(g, n, n->i);
			break;
		case EXPR_NUMBER:
			n->p[0] = new_param(g, n, n->is_real ? EXPR_P_REAL : EXPR_P_INT,
					    n->i, n->d, NULL, 0);
			break;
		default:
			n->p[0] = new_param(g, n, EXPR_P_INT, n->i, 0, NULL, 0);
			break;
		}
	}
	put_param(out, n->p[0]);
	return P_ATOM;
}

static int gen_arith(struct expr_gen *g, struct expr_node *n, struct sb *out)
{
	struct expr_node *a = n->kid[0], *b = n->kid[1];

	if (a->type == EXPR_TIME && b->type == EXPR_TIME) {
		epoch_sub(g, a, P_ADD, out);
		sb_adds(out, " - ");
		epoch_sub(g, b, P_MUL, out);
		return P_ADD;
	}
	if (n->type == EXPR_TIME) {
		sb_adds(out, "datetime(");
		epoch(g, n, out);
		sb_adds(out, ", 'unixepoch')");
		return P_ATOM;
	}
	switch (n->op) {
	case TK_PLUS: case TK_MINUS:
		sub(g, a, P_ADD, 0, out);
		sb_adds(out, n->op == TK_PLUS ? " + " : " - ");
		sub(g, b, P_MUL, 0, out);
		return P_ADD;
	case TK_SLASH:
		/* real division: "7 / 2" is 3.5 */
		sub(g, a, P_MUL, 0, out);
		sb_adds(out, " * 1.0 / ");
		sub(g, b, P_UNARY, 0, out);
		return P_MUL;
	default:
		sub(g, a, P_MUL, 0, out);
		sb_adds(out, n->op == TK_STAR ? " * " : " % ");
		sub(g, b, P_UNARY, 0, out);
		return P_MUL;
	}
}

static int gen_value(struct expr_gen *g, struct expr_node *n, struct sb *out)
{
	mark(out, n);
	switch (n->kind) {
	case NK_CONST:
		return gen_const(g, n, out);
	case NK_FIELD:
		expand(g, g->now, g->in_ctx && n->def->in_val ? n->def->in_val : n->def->sql,
		       NULL, out);
		return P_ATOM;
	case NK_CALL:
		expand(g, g->now, g->in_ctx && n->def->in_val ? n->def->in_val : n->def->sql,
		       n, out);
		return P_ATOM;
	case NK_ATTR:
		if (n->p[0] < 0)
			n->p[0] = new_param(g, n, EXPR_P_TEXT, 0, 0, n->s, n->len);
		sb_adds(out, "json_extract(c.attrs, ");
		put_param(out, n->p[0]);
		sb_addc(out, ')');
		return P_ATOM;
	case NK_COERCE:
		switch (n->type) {
		case EXPR_NUMBER: sb_adds(out, "crm_num("); break;
		case EXPR_TIME: sb_adds(out, "crm_time("); break;
		case EXPR_BOOL: sb_adds(out, "crm_bool("); break;
		default: sb_adds(out, "CAST("); break;
		}
		gen_value(g, n->kid[0], out);
		sb_adds(out, n->type == EXPR_STRING ? " AS TEXT)" : ")");
		return P_ATOM;
	case NK_NEG:
		sb_addc(out, '-');
		/* "-(-x)", never "--x", which would be a comment */
		sub(g, n->kid[0], P_ATOM, 0, out);
		return P_UNARY;
	case NK_ARITH:
		return gen_arith(g, n, out);
	default:
		return gen_cond(g, n, out);
	}
}

void expr_gen_value(struct expr_gen *g, struct expr_node *n, struct sb *out)
{
	gen_value(g, n, out);
}

void expr_gen_show(struct expr_gen *g, struct expr_node *n, struct sb *out)
{
	if ((n->kind == NK_FIELD || n->kind == NK_CALL) && n->def->show)
		expand(g, g->now, n->def->show, n->kind == NK_CALL ? n : NULL, out);
	else
		gen_value(g, n, out);
}

/* Operands from..to of an and/or chain: up to 64 side by side, longer
 * chains in parenthesised groups of 64 (SQLite builds "a OR b OR c" as a
 * left-deep tree, so the groups keep its height small). For readability
 * an and inside an or is parenthesised although SQL would not need it. */
static void chain(struct expr_gen *g, struct expr_node *n, size_t lo, size_t hi,
		  struct sb *out)
{
	const char *op = n->kind == NK_AND ? " AND " : " OR ";
	int min = P_NOT;
	size_t step = 1;

	while (step * 64 < hi - lo)
		step *= 64;
	for (size_t i = lo; i < hi; i += step) {
		size_t end = i + step < hi ? i + step : hi;

		if (i > lo)
			sb_adds(out, op);
		if (end - i == 1) {
			sub(g, n->kid[i], min, 1, out);
		} else {
			mark(out, n->kid[i]);
			sb_addc(out, '(');
			chain(g, n, i, end, out);
			sb_addc(out, ')');
		}
	}
}

static const char *cmp_sql(enum expr_tok op)
{
	switch (op) {
	case TK_EQ: return " = ";
	case TK_NE: return " <> ";
	case TK_LT: return " < ";
	case TK_LE: return " <= ";
	case TK_GT: return " > ";
	default: return " >= ";
	}
}

/* Times compare as text ("YYYY-MM-DD HH:MM:SS"), which lets SQLite use
 * indexes; once one side is time arithmetic, all compare as epochs. */
static int use_epoch(const struct expr_node *n)
{
	if (n->kid[0]->type != EXPR_TIME)
		return 0;
	for (size_t i = 0; i < n->nkid; i++)
		if (is_time_arith(n->kid[i]))
			return 1;
	return 0;
}

static void cmp_operand(struct expr_gen *g, struct expr_node *n, int ep, struct sb *out)
{
	if (ep)
		epoch_sub(g, n, P_ADD, out);
	else
		sub(g, n, P_ADD, 0, out);
}

static enum expr_tok mirror(enum expr_tok op)
{
	switch (op) {
	case TK_LT: return TK_GT;
	case TK_LE: return TK_GE;
	case TK_GT: return TK_LT;
	case TK_GE: return TK_LE;
	default: return op;
	}
}

/*
 * A count compared with 0 or 1 ("orders(7d) = 0", "event(\"x\") >= 1")
 * asks whether there is a row at all: when the count's template (as
 * gen_value() would pick it) is "(SELECT count(*) FROM ...)", returns 1
 * for EXISTS, 0 for NOT EXISTS and sets *call and *tpl; else -1.
 */
#define COUNT_SELECT "(SELECT count(*) "

static int count_exists(struct expr_gen *g, struct expr_node *n, struct expr_node **call,
			const char **tpl)
{
	struct expr_node *a = n->kid[0], *b = n->kid[1];
	enum expr_tok op = n->op;

	if (b->kind == NK_CALL) {
		b = a;
		a = n->kid[1];
		op = mirror(op);
	}
	if (a->kind != NK_CALL || b->kind != NK_CONST || b->type != EXPR_NUMBER || b->is_real)
		return -1;
	*call = a;
	*tpl = g->in_ctx && a->def->in_val ? a->def->in_val : a->def->sql;
	if (strncmp(*tpl, COUNT_SELECT, strlen(COUNT_SELECT)))
		return -1;
	switch (op) {
	case TK_EQ: case TK_LE: return b->i == 0 ? 0 : -1;
	case TK_LT: return b->i == 1 ? 0 : -1;
	case TK_GT: case TK_NE: return b->i == 0 ? 1 : -1;
	case TK_GE: return b->i == 1 ? 1 : -1;
	default: return -1;
	}
}

static int gen_cond(struct expr_gen *g, struct expr_node *n, struct sb *out)
{
	struct expr_node *call;
	const char *tpl;
	int ep;

	mark(out, n);
	switch (n->kind) {
	case NK_CMP:
		if ((ep = count_exists(g, n, &call, &tpl)) >= 0) {
			sb_adds(out, ep ? "EXISTS (SELECT 1 " : "NOT EXISTS (SELECT 1 ");
			expand(g, g->now, tpl + strlen(COUNT_SELECT), call, out);
			return ep ? P_ATOM : P_NOT;
		}
		ep = use_epoch(n);
		cmp_operand(g, n->kid[0], ep, out);
		sb_adds(out, cmp_sql(n->op));
		cmp_operand(g, n->kid[1], ep, out);
		return P_CMP;
	case NK_IN:
		ep = use_epoch(n);
		cmp_operand(g, n->kid[0], ep, out);
		sb_adds(out, n->neg ? " NOT IN (" : " IN (");
		for (size_t i = 1; i < n->nkid; i++) {
			if (i > 1)
				sb_adds(out, ", ");
			if (ep)
				epoch(g, n->kid[i], out);
			else
				gen_value(g, n->kid[i], out);
		}
		sb_addc(out, ')');
		return P_CMP;
	case NK_BETWEEN:
		ep = use_epoch(n);
		cmp_operand(g, n->kid[0], ep, out);
		sb_adds(out, n->neg ? " NOT BETWEEN " : " BETWEEN ");
		cmp_operand(g, n->kid[1], ep, out);
		sb_adds(out, " AND ");
		cmp_operand(g, n->kid[2], ep, out);
		return P_CMP;
	case NK_LIKE:
		sub(g, n->kid[0], P_ADD, 0, out);
		sb_adds(out, n->neg ? " NOT LIKE " : " LIKE ");
		sub(g, n->kid[1], P_ADD, 0, out);
		sb_adds(out, " ESCAPE '\\'");
		return P_CMP;
	case NK_REGEX:
		sb_adds(out, n->neg ? "NOT regexp(" : "regexp(");
		gen_value(g, n->kid[1], out);
		sb_adds(out, ", ");
		gen_value(g, n->kid[0], out);
		sb_addc(out, ')');
		return n->neg ? P_NOT : P_ATOM;
	case NK_ISNULL:
		sub(g, n->kid[0], P_ADD, 0, out);
		sb_adds(out, n->neg ? " IS NOT NULL" : " IS NULL");
		return P_CMP;
	case NK_AND:
	case NK_OR:
		chain(g, n, 0, n->nkid, out);
		return n->kind == NK_AND ? P_AND : P_OR;
	case NK_NOT:
		/* two-valued: not (null) is true */
		sb_adds(out, "NOT coalesce(");
		gen_cond(g, n->kid[0], out);
		sb_adds(out, ", 0)");
		return P_NOT;
	default:
		break;
	}
	switch (n->type) {
	case EXPR_BOOL:
		return gen_value(g, n, out);
	case EXPR_NUMBER:
		sub(g, n, P_ADD, 0, out);
		sb_adds(out, " <> 0");
		return P_CMP;
	case EXPR_ANY:
		sb_adds(out, "crm_bool(");
		gen_value(g, n, out);
		sb_addc(out, ')');
		return P_ATOM;
	default:
		sub(g, n, P_ADD, 0, out);
		sb_adds(out, " IS NOT NULL");
		return P_CMP;
	}
}

void expr_gen_cond(struct expr_gen *g, struct expr_node *n, struct sb *out)
{
	gen_cond(g, n, out);
}

/* ------------------------------------------------ customers with rows */

/*
 * A condition on order metrics such as "orders >= 2" cannot hold for a
 * customer without completed orders, so it can be asked of the
 * order_stats rows alone, and "event("cart_add", 2d)" of the cart_add
 * events of the window: the customers come from a few hundred thousand
 * rows, or a few hundred, instead of each of a million customers looking
 * their rows up. expr_gen_top() does that for the operands of a
 * top-level "and" (or the whole expression) when
 *   - every name in the operand is such a metric (in_val in expr_defs),
 *     all of them order metrics, or a single event metric, and the rest
 *     is constants, and
 *   - the operand is false when every metric in it has its value for a
 *     customer without rows (nil: 0 for orders and revenue, null for the
 *     others), which nil_truth() works out at compile time, or, for order
 *     metrics, null, when another such operand is false (so that the
 *     whole keeps its value, null or false, for every customer);
 * and writes them as
 *     c.id IN (SELECT s.customer_id FROM order_stats s WHERE <op> AND ...)
 *     c.id IN (SELECT e.customer_id FROM events e WHERE ... GROUP BY
 *              e.customer_id HAVING <op>)
 * (without the GROUP BY when <op> holds for any number of rows, as
 * "event(...) > 0" does)
 * with the metrics of <op> read from s (STAT_S: the row when it holds for
 * now, else the orders) or aggregated over the group. A windowed metric
 * alone in its operand also skips the rows whose last order is before
 * the window. The --why clauses keep the per-customer SQL.
 */

enum { NV_FALSE, NV_TRUE, NV_NULL, NV_UNKNOWN };

/* The value of n for a customer without rows: 1 and *v, 0 for null, -1
 * when it cannot be worked out here. */
static int nil_value(const struct expr_node *n, double *v)
{
	double a, b;
	int ra, rb;

	switch (n->kind) {
	case NK_CONST:
		switch (n->type) {
		case EXPR_NULL:
			return 0;
		case EXPR_NUMBER:
			*v = n->is_real ? n->d : (double)n->i;
			return 1;
		case EXPR_BOOL: case EXPR_TIME: case EXPR_DURATION:
			*v = (double)n->i;
			return 1;
		default:
			return -1;
		}
	case NK_FIELD: case NK_CALL:
		if (!n->def->in_val)
			return -1;
		*v = 0;
		return n->def->nil == NIL_ZERO;
	case NK_NEG:
		ra = nil_value(n->kid[0], &a);
		*v = -a;
		return ra;
	case NK_ARITH:
		for (size_t i = 0; i < 2; i++)
			if (n->kid[i]->type != EXPR_NUMBER && n->kid[i]->type != EXPR_DURATION)
				return -1;
		ra = nil_value(n->kid[0], &a);
		rb = nil_value(n->kid[1], &b);
		if (ra < 0 || rb < 0)
			return -1;
		if (!ra || !rb)
			return 0;
		switch (n->op) {
		case TK_PLUS: *v = a + b; return 1;
		case TK_MINUS: *v = a - b; return 1;
		case TK_STAR: *v = a * b; return 1;
		case TK_SLASH:
			if (b == 0)
				return 0;
			*v = a / b;
			return 1;
		default:
			return -1;
		}
	default:
		return -1;
	}
}

static int nv_not(int t)
{
	return t == NV_TRUE ? NV_FALSE : t == NV_FALSE ? NV_TRUE : t;
}

static int nv_cmp(enum expr_tok op, double a, double b)
{
	int r;

	switch (op) {
	case TK_EQ: r = a == b; break;
	case TK_NE: r = a != b; break;
	case TK_LT: r = a < b; break;
	case TK_LE: r = a <= b; break;
	case TK_GT: r = a > b; break;
	default: r = a >= b; break;
	}
	return r ? NV_TRUE : NV_FALSE;
}

/* SQL's three-valued and (or with is_or) of two truths. */
static int nv_and(int a, int b, int is_or)
{
	int stop = is_or ? NV_TRUE : NV_FALSE;

	if (a == NV_UNKNOWN || b == NV_UNKNOWN)
		return NV_UNKNOWN;
	if (a == stop || b == stop)
		return stop;
	if (a == NV_NULL || b == NV_NULL)
		return NV_NULL;
	return is_or ? NV_FALSE : NV_TRUE;
}

/* Whether condition n holds for a customer without rows, as the SQL of
 * gen_cond() evaluates it. */
static int nil_truth(const struct expr_node *n)
{
	double a, b, c;
	int ra, rb, rc, t;

	switch (n->kind) {
	case NK_CMP:
		ra = nil_value(n->kid[0], &a);
		rb = nil_value(n->kid[1], &b);
		if (ra < 0 || rb < 0)
			return NV_UNKNOWN;
		return !ra || !rb ? NV_NULL : nv_cmp(n->op, a, b);
	case NK_BETWEEN:
		ra = nil_value(n->kid[0], &a);
		rb = nil_value(n->kid[1], &b);
		rc = nil_value(n->kid[2], &c);
		if (ra < 0 || rb < 0 || rc < 0)
			return NV_UNKNOWN;
		t = nv_and(!ra || !rb ? NV_NULL : nv_cmp(TK_GE, a, b),
			   !ra || !rc ? NV_NULL : nv_cmp(TK_LE, a, c), 0);
		return n->neg ? nv_not(t) : t;
	case NK_IN:
		ra = nil_value(n->kid[0], &a);
		if (ra < 0)
			return NV_UNKNOWN;
		t = NV_FALSE;
		for (size_t i = 1; i < n->nkid; i++) {
			rb = nil_value(n->kid[i], &b);
			if (rb < 0)
				return NV_UNKNOWN;
			t = nv_and(t, !ra || !rb ? NV_NULL : nv_cmp(TK_EQ, a, b), 1);
		}
		return n->neg ? nv_not(t) : t;
	case NK_ISNULL:
		ra = nil_value(n->kid[0], &a);
		if (ra < 0)
			return NV_UNKNOWN;
		return (ra == 0) != (n->neg != 0) ? NV_TRUE : NV_FALSE;
	case NK_NOT:
		/* two-valued: not (null) is true */
		t = nil_truth(n->kid[0]);
		return t == NV_UNKNOWN ? t : t == NV_TRUE ? NV_FALSE : NV_TRUE;
	case NK_AND: case NK_OR:
		t = n->kind == NK_AND ? NV_TRUE : NV_FALSE;
		for (size_t i = 0; i < n->nkid; i++)
			t = nv_and(t, nil_truth(n->kid[i]), n->kind == NK_OR);
		return t;
	case NK_CONST: case NK_FIELD: case NK_CALL: case NK_NEG: case NK_ARITH:
		ra = nil_value(n, &a);
		if (ra < 0)
			return NV_UNKNOWN;
		if (n->type == EXPR_NUMBER || n->type == EXPR_BOOL)
			return !ra ? NV_NULL : a != 0 ? NV_TRUE : NV_FALSE;
		return ra ? NV_TRUE : NV_FALSE;
	default:
		return NV_UNKNOWN;
	}
}

struct leaves {
	size_t stats, group, other;
	struct expr_node *metric; /* the last metric seen */
};

static void scan_leaves(struct expr_node *n, struct leaves *l)
{
	switch (n->kind) {
	case NK_CONST:
		return;
	case NK_FIELD: case NK_CALL:
		/* a call's arguments are constants */
		if (!n->def->in_val)
			l->other++;
		else if (n->def->in_from)
			l->group++;
		else
			l->stats++;
		l->metric = n;
		return;
	default:
		if (!n->nkid)
			l->other++;
		for (size_t i = 0; i < n->nkid; i++)
			scan_leaves(n->kid[i], l);
	}
}

enum { OP_PLAIN, OP_STATS, OP_GROUP };

static int classify(struct expr_node *n, struct expr_node **metric, int *truth)
{
	struct leaves l = { 0, 0, 0, NULL };
	int t;

	scan_leaves(n, &l);
	*metric = l.metric;
	if (l.other || !(l.stats || l.group) || (l.stats && l.group) || l.group > 1)
		return OP_PLAIN;
	*truth = t = nil_truth(n);
	if (t != NV_FALSE && t != NV_NULL)
		return OP_PLAIN;
	if (l.group && t != NV_FALSE)
		return OP_PLAIN;
	if (l.stats > 1)
		*metric = NULL; /* no prefilter: each metric has its own window */
	return l.group ? OP_GROUP : OP_STATS;
}

/*
 * Whether operand n holds for every customer who has a row of count
 * metric m ("event(\"cart_add\", 7d)", "event(...) > 0", ">= 1", "<> 0",
 * "0 < event(...)"): then the customers are those of the rows, with no
 * GROUP BY to count them.
 */
static int any_row_holds(const struct expr_node *n, const struct expr_node *m)
{
	const struct expr_node *a, *b;
	enum expr_tok op;
	double c;

	if (!m || strcmp(m->def->in_val, "count(*)"))
		return 0;
	if (n == m)
		return 1; /* a number as a condition: <> 0 */
	if (n->kind != NK_CMP)
		return 0;
	a = n->kid[0];
	b = n->kid[1];
	op = n->op;
	if (b == m) {
		b = a;
		a = m;
		op = mirror(op);
	}
	if (a != m || b->kind != NK_CONST || b->type != EXPR_NUMBER)
		return 0;
	c = b->is_real ? b->d : (double)b->i;
	switch (op) {
	case TK_GT: case TK_NE: return c < 1;
	case TK_GE: return c <= 1;
	default: return 0;
	}
}

int expr_gen_top(struct expr_gen *g, struct expr_node *root, struct sb *out)
{
	struct expr_node **ops = root->kind == NK_AND ? root->kid : &root;
	size_t n = root->kind == NK_AND ? root->nkid : 1;
	struct expr_node *metric[64];
	int how[64], truth, turned = 0, first = 1, stats_done = 0, stats_false = 0;

	if (n > 64 || root->kind == NK_OR) {
		expr_gen_cond(g, root, out);
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		if ((how[i] = classify(ops[i], &metric[i], &truth)) == OP_STATS && truth == NV_FALSE)
			stats_false = 1;
	/* The SQL of the whole keeps its three values: a customer without
	 * rows gets false (0) from the IN, as from the operand it replaces,
	 * only where that operand is false for them, not null; an operand
	 * that is null for them ("days_since_last_order > 30") goes into the
	 * IN only next to one that is false ("orders >= 2"). */
	for (size_t i = 0; i < n; i++) {
		if (how[i] == OP_STATS && !stats_false)
			how[i] = OP_PLAIN;
		if (how[i] != OP_PLAIN)
			turned++;
	}
	if (!turned) {
		expr_gen_cond(g, root, out);
		return 0;
	}
	mark(out, root);
	for (size_t i = 0; i < n; i++) {
		if (how[i] == OP_STATS && stats_done)
			continue;
		if (!first)
			sb_adds(out, " AND ");
		first = 0;
		if (how[i] == OP_PLAIN) {
			sub(g, ops[i], P_NOT, 1, out);
			continue;
		}
		mark(out, ops[i]);
		sb_adds(out, "c.id IN (");
		g->in_ctx = 1;
		if (how[i] == OP_GROUP) {
			expand(g, g->now, metric[i]->def->in_from,
			       metric[i]->kind == NK_CALL ? metric[i] : NULL, out);
			if (!any_row_holds(ops[i], metric[i])) {
				sb_adds(out, " GROUP BY e.customer_id HAVING ");
				sub(g, ops[i], P_NOT, 1, out);
			}
		} else {
			sb_adds(out, "SELECT s.customer_id FROM order_stats s WHERE ");
			for (size_t j = i; j < n; j++) {
				struct expr_node *m = metric[j];

				if (how[j] != OP_STATS)
					continue;
				if (j > i)
					sb_adds(out, " AND ");
				if (m && m->def->in_pre) {
					expand(g, g->now, m->def->in_pre,
					       m->kind == NK_CALL ? m : NULL, out);
					sb_adds(out, " AND ");
				}
				sub(g, ops[j], P_NOT, 1, out);
			}
			stats_done = 1;
		}
		g->in_ctx = 0;
		sb_addc(out, ')');
	}
	return turned;
}

/* ------------------------------------------------------------ output */

/* Skips a mark "\00XN\002" at p; returns the byte after it and N. */
static const char *skip_mark(const char *p, long *n)
{
	char *end;

	*n = strtol(p + 1, &end, 10);
	return *end == EXPR_PEND ? end : end - 1;
}

char *expr_render(const char *isql, int first)
{
	struct sb out = SB_INIT;
	long n;

	for (const char *p = isql; *p; p++) {
		if (*p == EXPR_PMARK) {
			p = skip_mark(p, &n);
			sb_addf(&out, "?%ld", (long)first + n);
		} else if (*p == EXPR_NMARK) {
			p = skip_mark(p, &n);
		} else {
			sb_addc(&out, *p);
		}
	}
	return sb_detach(&out);
}

/*
 * How deeply SQLite's parser must nest to read isql, in units calibrated
 * on SQLite 3.40 (whose parser stack holds 100 entries) with a margin:
 * a parenthesis opening a subquery costs 7, a function call 5, any other
 * 4, and a subquery that joins tables ("FROM a JOIN b ON ...", the order
 * lines of bought()) 12: the parser holds the join while it reads the
 * rest. Returns the deepest point and in *pos the source position of the
 * innermost node there.
 */
/* Whether the subquery that starts at q (its SELECT) joins tables: a
 * " JOIN " of its own before its closing parenthesis. */
static int joins(const char *q)
{
	int depth = 0;

	for (; *q; q++) {
		if (*q == '\'') {
			while (q[1] && !(q[1] == '\'' && q[2] != '\''))
				q += q[1] == '\'' ? 2 : 1;
			if (q[1])
				q++;
		} else if (*q == '(') {
			depth++;
		} else if (*q == ')') {
			if (!depth--)
				return 0;
		} else if (!depth && *q == ' ' && !strncmp(q, " JOIN ", 6)) {
			return 1;
		}
	}
	return 0;
}

int expr_sql_nesting(const char *isql, size_t *pos)
{
	int *stack = NULL, cur = 0, max = 0;
	size_t sp = 0, cap = 0, last = 0;
	char prev = ' ';
	long n;

	*pos = 0;
	for (const char *p = isql; *p; p++) {
		if (*p == EXPR_NMARK) {
			p = skip_mark(p, &n);
			last = (size_t)n;
			continue;
		}
		if (*p == EXPR_PMARK) {
			p = skip_mark(p, &n);
			prev = '?';
			continue;
		}
		if (*p == '\'') {
			while (p[1] && !(p[1] == '\'' && p[2] != '\''))
				p += p[1] == '\'' ? 2 : 1;
			if (p[1])
				p++;
			prev = '\'';
			continue;
		}
		if (*p == '(') {
			const char *q = p + 1;
			int w = 4;

			while (*q == ' ' || *q == EXPR_NMARK) {
				if (*q == EXPR_NMARK)
					q = skip_mark(q, &n);
				q++;
			}
			if (!strncmp(q, "SELECT", 6))
				w = joins(q) ? 12 : 7;
			else if (ascii_isalpha((unsigned char)prev) || ascii_isdigit((unsigned char)prev) ||
				 prev == '_')
				w = 5;
			stack = xgrow(stack, sizeof(*stack), sp + 1, &cap);
			stack[sp++] = w;
			cur += w;
			if (cur > max) {
				max = cur;
				*pos = last;
			}
		} else if (*p == ')' && sp) {
			cur -= stack[--sp];
		}
		if (*p != ' ')
			prev = *p;
	}
	free(stack);
	return max;
}

/* attr.NAME[.NAME]: the same names the lexer accepts. */
static int attr_field_sql(const char *name, struct sb *sql)
{
	struct sb path = SB_INIT;
	const char *p = name;
	size_t bad;

	if (!utf8_valid(name, strlen(name), &bad))
		return -1;
	while (*p == '.') {
		const char *b = ++p;

		while (*p && (ascii_isalpha((unsigned char)*p) || ascii_isdigit((unsigned char)*p) ||
			      *p == '_' || (unsigned char)*p >= 0x80))
			p++;
		if (p == b)
			break;
		sb_adds(&path, ".\"");
		for (; b < p; b++)
			sb_addc(&path, ascii_lower((unsigned char)*b));
		sb_addc(&path, '"');
	}
	if (*p || !path.len) {
		sb_free(&path);
		return -1;
	}
	sb_addf(sql, "json_extract(c.attrs, '$%s')", path.buf);
	sb_free(&path);
	return 0;
}

int expr_field_sql(const char *name, int64_t now, struct sb *sql)
{
	const struct expr_def *d;
	size_t len = strlen(name);
	char low[64];

	if (len > 5 && !ascii_ncasecmp(name, "attr.", 5))
		return attr_field_sql(name + 4, sql);
	if (len >= sizeof(low))
		return -1;
	for (size_t i = 0; i <= len; i++)
		low[i] = (char)ascii_lower((unsigned char)name[i]);
	d = expr_def_find(low, len, 0);
	if (!d)
		return -1;
	if (!d->sql)
		return -2;
	return expand(NULL, now, d->show ? d->show : d->sql, NULL, sql);
}
