/*
 * imp_coupon.c - crm-import orders: the promo_code column (coupon.h).
 *
 * An order with a promo code is linked to the code (coupon_redemptions),
 * hence to the outbox row it was bound to: its campaign and customer.
 * What is odd is said with FILE:LINE and the order imported all the same
 * (the shop took it): a code in no pool (kept as written, linked to
 * nothing), a code that an earlier order redeemed already (said of the
 * later order, by time then by import, whichever file it is in), a code sent
 * to another customer than the order's. coupons.redeemed_at is the time
 * of the earliest order with the code. An empty promo_code removes the
 * link of an order imported with one before; a file without the column
 * leaves the links as they are.
 */
#include "imp_int.h"

#include <stdlib.h>
#include <string.h>

#include "coupon.h"

struct imp_coupon {
	sqlite3_stmt *order, *cur, *find, *set, *del, *dup, *when;
};

void imp_coupon_close(struct imp *im)
{
	struct imp_coupon *c = im->coupon;

	if (!c)
		return;
	sqlite3_finalize(c->order);
	sqlite3_finalize(c->cur);
	sqlite3_finalize(c->find);
	sqlite3_finalize(c->set);
	sqlite3_finalize(c->del);
	sqlite3_finalize(c->dup);
	sqlite3_finalize(c->when);
	free(c);
	im->coupon = NULL;
}

static struct imp_coupon *prepare(struct imp *im)
{
	struct imp_coupon *c = im->coupon;

	if (c)
		return c;
	c = im->coupon = xcalloc(1, sizeof(*c));
	c->order = db_prepare(im->db, "SELECT id FROM orders WHERE external_id = ?");
	c->cur = db_prepare(im->db, "SELECT code, coupon_id FROM coupon_redemptions"
			    " WHERE order_id = ?");
	c->find = db_prepare(im->db,
		"SELECT k.id, m.customer_id, p.name FROM coupons k"
		" LEFT JOIN messages m ON m.id = k.message_id"
		" LEFT JOIN campaigns p ON p.id = m.campaign_id"
		" WHERE k.code = ?1 OR k.code = upper(?1) ORDER BY k.code = ?1 DESC LIMIT 1");
	c->set = db_prepare(im->db, "INSERT INTO coupon_redemptions(order_id, code, coupon_id)"
			    " VALUES (?1, ?2, ?3) ON CONFLICT (order_id) DO UPDATE"
			    " SET code = excluded.code, coupon_id = excluded.coupon_id");
	c->del = db_prepare(im->db, "DELETE FROM coupon_redemptions WHERE order_id = ?");
	c->dup = db_prepare(im->db,
		"SELECT o.external_id FROM coupon_redemptions r JOIN orders o ON o.id = r.order_id"
		" WHERE r.coupon_id = ?1 AND r.order_id <> ?2 AND (o.ordered_at < ?3"
		" OR (o.ordered_at = ?3 AND o.id < ?2)) ORDER BY o.ordered_at, o.id LIMIT 1");
	c->when = db_prepare(im->db,
		"UPDATE coupons SET redeemed_at = (SELECT min(o.ordered_at) FROM coupon_redemptions r"
		" JOIN orders o ON o.id = r.order_id WHERE r.coupon_id = coupons.id) WHERE id = ?");
	return c;
}

static void refresh(struct imp *im, int64_t coupon)
{
	struct imp_coupon *c = im->coupon;

	if (coupon <= 0)
		return;
	sqlite3_bind_int64(c->when, 1, coupon);
	db_step_done(im->db, c->when);
}

static void quote(struct sb *b, const char *s, size_t n)
{
	sb_addc(b, '"');
	for (size_t i = 0; i < n && i < COUPON_MAX_LEN; i++)
		sb_addc(b, s[i] == '"' || (unsigned char)s[i] < 0x20 ? '?' : s[i]);
	sb_adds(b, n > COUPON_MAX_LEN ? "\"..." : "\"");
}

void imp_coupon_order(struct imp *im, const char *key, int64_t cid)
{
	struct imp_coupon *c;
	const char *s;
	size_t n = 0;
	int64_t order = 0, old = 0, coupon = 0, to = 0;
	char why[128], *old_code = NULL, *camp = NULL;
	struct sb q = SB_INIT;

	if (im->fieldcol[F_PROMO] < 0)
		return;
	c = prepare(im);
	s = imp_raw(im, F_PROMO, &n);
	if (s)
		s = trim(s, &n);
	db_bind_text(c->order, 1, key, -1);
	if (db_row(c->order))
		order = sqlite3_column_int64(c->order, 0);
	sqlite3_reset(c->order);
	if (!order)
		return;
	sqlite3_bind_int64(c->cur, 1, order);
	if (db_row(c->cur)) {
		old_code = xstrdup((const char *)sqlite3_column_text(c->cur, 0));
		old = sqlite3_column_int64(c->cur, 1);
	}
	sqlite3_reset(c->cur);
	if (!s || !n) {
		if (old_code) {
			sqlite3_bind_int64(c->del, 1, order);
			db_step_done(im->db, c->del);
			refresh(im, old);
		}
		free(old_code);
		return;
	}
	quote(&q, s, n);
	if (coupon_code_valid(s, n, why, sizeof(why)) < 0) {
		imp_warn(im, "promo_code %s: %s: the order is kept, not linked to a code", q.buf, why);
		sb_free(&q);
		free(old_code);
		return;
	}
	sqlite3_bind_text(c->find, 1, s, (int)n, SQLITE_STATIC);
	if (db_row(c->find)) {
		coupon = sqlite3_column_int64(c->find, 0);
		to = sqlite3_column_int64(c->find, 1);
		if (sqlite3_column_type(c->find, 2) != SQLITE_NULL)
			camp = xstrdup((const char *)sqlite3_column_text(c->find, 2));
	}
	sqlite3_reset(c->find);

	if (!old_code || strlen(old_code) != n || memcmp(old_code, s, n) || old != coupon) {
		sqlite3_bind_int64(c->set, 1, order);
		sqlite3_bind_text(c->set, 2, s, (int)n, SQLITE_STATIC);
		if (coupon)
			sqlite3_bind_int64(c->set, 3, coupon);
		else
			sqlite3_bind_null(c->set, 3);
		db_step_done(im->db, c->set);
		sqlite3_clear_bindings(c->set);
		if (old != coupon)
			refresh(im, old);
	}
	refresh(im, coupon);

	if (!coupon) {
		imp_warn(im, "promo_code %s is in no coupon pool: the order is kept, linked to no "
			 "campaign", q.buf);
	} else {
		sqlite3_bind_int64(c->dup, 1, coupon);
		sqlite3_bind_int64(c->dup, 2, order);
		db_bind_text(c->dup, 3, imp_val(im, F_TIME), -1);
		if (db_row(c->dup)) {
			const char *other = (const char *)sqlite3_column_text(c->dup, 0);
			if (other && other[0] != '~')
				imp_warn(im, "promo_code %s is on another order too (%.64s): redeemed "
					 "twice; the order is kept", q.buf, other);
			else
				imp_warn(im, "promo_code %s is on another order too: redeemed twice; "
					 "the order is kept", q.buf);
		}
		sqlite3_reset(c->dup);
		if (to && to != cid)
			imp_warn(im, "promo_code %s was sent to another customer (campaign \"%s\"): "
				 "the order is kept", q.buf, camp ? camp : "?");
	}
	sb_free(&q);
	free(old_code);
	free(camp);
}
