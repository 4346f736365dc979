/*
 * imp_loyalty.c - what crm-import reads for crm-loyalty: the reward
 * catalogue (crm-import rewards: id, name, cost in points, stock) and the
 * points paid with an order (crm-import orders, a points_used column).
 *
 * points_used is checked against the member's points as the last
 * crm-loyalty run left them, less what orders imported since have used:
 * more is refused for that row, with the reason. Before any run there is
 * nothing to check against, and the run's replay decides (a debt when the
 * points were not there).
 */
#include "imp_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct imp_loyalty {
	sqlite3_stmt *have, *set, *rw_find, *rw_set;
	int checked;          /* a crm-loyalty run exists: check points_used */
};

static struct imp_loyalty *ly(struct imp *im)
{
	if (!im->loyalty) {
		char *run = db_meta_get(im->db, "loyalty_run_at");
		im->loyalty = xcalloc(1, sizeof(*im->loyalty));
		im->loyalty->checked = run != NULL;
		free(run);
	}
	return im->loyalty;
}

void imp_loyalty_close(struct imp *im)
{
	struct imp_loyalty *l = im->loyalty;

	if (!l)
		return;
	sqlite3_finalize(l->have);
	sqlite3_finalize(l->set);
	sqlite3_finalize(l->rw_find);
	sqlite3_finalize(l->rw_set);
	free(l);
	im->loyalty = NULL;
}

/* A whole number of 1 or more (points, a stock of 0 or more). */
static int whole(const char *s, size_t n, int64_t min, int64_t *v, const char **why)
{
	int64_t x = 0;

	if (!n) {
		*why = "empty";
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (!ascii_isdigit((unsigned char)s[i])) {
			*why = s[0] == '-' ? "negative" : "not a whole number";
			return -1;
		}
		if (x > (INT64_C(1) << 40)) {
			*why = "too large";
			return -1;
		}
		x = x * 10 + (s[i] - '0');
	}
	if (x < min) {
		*why = min ? "not above 0" : "negative";
		return -1;
	}
	*v = x;
	return 0;
}

int imp_points_check(struct imp *im, int64_t cid, const char *key, int64_t *points)
{
	struct imp_loyalty *l;
	const char *s, *why;
	size_t n;
	int64_t avail;

	*points = 0;
	if (!(s = imp_raw(im, F_POINTS, &n)))
		return 0;
	if (whole(s, n, 1, points, &why) < 0) {
		imp_reject_value(im, F_POINTS, "points_used", s, n, why);
		return -1;
	}
	l = ly(im);
	if (!l->checked)
		return 1;
	if (!l->have)
		l->have = db_prepare(im->db,
			"SELECT coalesce((SELECT points FROM loyalty_accounts WHERE customer_id = ?1), 0)"
			" - coalesce((SELECT sum(o.points_used) FROM orders o WHERE o.customer_id = ?1"
			"  AND o.points_used IS NOT NULL AND o.external_id <> ?2"
			"  AND NOT EXISTS (SELECT 1 FROM loyalty_ledger g WHERE g.key = 'burn:' || o.id)), 0)"
			" + coalesce((SELECT -g.points FROM loyalty_ledger g JOIN orders o"
			"  ON g.key = 'burn:' || o.id WHERE o.external_id = ?2), 0)");
	sqlite3_bind_int64(l->have, 1, cid);
	sqlite3_bind_text(l->have, 2, key, -1, SQLITE_TRANSIENT);
	avail = db_step_row(im->db, l->have) ? sqlite3_column_int64(l->have, 0) : 0;
	sqlite3_reset(l->have);
	if (*points > avail) {
		sb_reset(&im->tmp);
		sb_addf(&im->tmp, "points_used %" PRId64 " is more than the %" PRId64 " points the "
			"customer has (as of the last crm-loyalty run, less what orders imported since"
			" used)", *points, avail < 0 ? 0 : avail);
		imp_reject(im, im->rec, im->tmp.buf);
		return -1;
	}
	return 1;
}

int imp_points_set(struct imp *im, const char *key, int64_t points)
{
	struct imp_loyalty *l = ly(im);

	if (!l->set)
		l->set = db_prepare(im->db, "UPDATE orders SET points_used = ?2 WHERE external_id = ?1"
				    " AND points_used IS NOT ?2");
	sqlite3_bind_text(l->set, 1, key, -1, SQLITE_TRANSIENT);
	if (points > 0)
		sqlite3_bind_int64(l->set, 2, points);
	else
		sqlite3_bind_null(l->set, 2);
	db_step_done(im->db, l->set);
	sqlite3_reset(l->set);
	return sqlite3_changes(im->db) > 0;
}

int imp_row_reward(struct imp *im)
{
	struct imp_loyalty *l = ly(im);
	const char *s, *id, *why;
	size_t n, idn;
	int64_t cost, stock = -1;
	char now[20];
	int rc;

	if (!(id = imp_raw(im, F_EXTID, &idn))) {
		imp_reject(im, im->rec, "no id");
		return -1;
	}
	imp_take_text(im, F_PRODUCT, "name");
	if (!imp_val(im, F_PRODUCT)) {
		imp_reject(im, im->rec, "no name");
		return -1;
	}
	if (!(s = imp_raw(im, F_COST, &n))) {
		imp_reject(im, im->rec, "no cost");
		return -1;
	}
	if (whole(s, n, 1, &cost, &why) < 0) {
		imp_reject_value(im, F_COST, "cost", s, n, why);
		return -1;
	}
	if ((s = imp_raw(im, F_STOCK, &n)) && whole(s, n, 0, &stock, &why) < 0) {
		imp_reject_value(im, F_STOCK, "stock", s, n, why);
		return -1;
	}
	if (!l->rw_find) {
		l->rw_find = db_prepare(im->db, "SELECT name = ?2 AND cost = ?3 AND stock IS ?4"
					" FROM loyalty_rewards WHERE external_id = ?1");
		l->rw_set = db_prepare(im->db, "INSERT INTO loyalty_rewards (external_id, name, cost,"
				       " stock, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)"
				       " ON CONFLICT (external_id) DO UPDATE SET name = excluded.name,"
				       " cost = excluded.cost, stock = excluded.stock,"
				       " updated_at = excluded.updated_at");
	}
	norm_fmt_time(im->crm->now, now);
	for (int k = 0; k < 2; k++) {
		sqlite3_stmt *st = k ? l->rw_set : l->rw_find;
		sqlite3_bind_text(st, 1, id, (int)idn, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, imp_val(im, F_PRODUCT), -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 3, cost);
		if (stock >= 0)
			sqlite3_bind_int64(st, 4, stock);
		else
			sqlite3_bind_null(st, 4);
		if (k)
			sqlite3_bind_text(st, 5, now, -1, SQLITE_TRANSIENT);
	}
	if (db_step_row(im->db, l->rw_find))
		rc = sqlite3_column_int(l->rw_find, 0) ? 2 : 1;
	else
		rc = 0;
	sqlite3_reset(l->rw_find);
	if (rc != 2)
		db_step_done(im->db, l->rw_set);
	sqlite3_reset(l->rw_set);
	return rc;
}
