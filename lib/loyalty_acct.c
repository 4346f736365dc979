/*
 * loyalty_acct.c - crm-loyalty balance, history and adjust: the accounts
 * as the last run (or adjustment) left them, a member's ledger, and a
 * manual entry.
 */
#include "loyalty.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "diag.h"
#include "norm.h"
#include "out.h"
#include "util.h"
#include "who.h"

/* The customer that id names (external id, e-mail or phone), or 0 after
 * an error. */
static int64_t find(struct crm *crm, const char *id)
{
	struct who w;
	const char *why = NULL;
	int64_t c;

	who_init(&w, crm->db);
	c = who_find(&w, WHO_ANY, id, strlen(id), &why);
	who_free(&w);
	if (!c)
		crm_error("%s: %s", id, why ? why : "no such customer");
	return c;
}

static void rows(struct crm *crm, sqlite3_stmt *st)
{
	struct out *o = out_new(stdout, crm->format);
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		out_stmt_row(o, st);
	if (rc != SQLITE_DONE)
		db_die(crm->db, NULL);
	if (!out_has_columns(o)) {
		const char **names = xcalloc((size_t)sqlite3_column_count(st) + 1, sizeof(char *));
		for (int k = 0; k < sqlite3_column_count(st); k++)
			names[k] = sqlite3_column_name(st, k);
		out_columns(o, (size_t)sqlite3_column_count(st), names);
		free(names);
	}
	out_finish(o);
}

#define BALANCE_SQL \
	"SELECT coalesce(c.external_id, c.email, c.phone) AS id, a.points, a.pending," \
	" (SELECT total(l.remaining) FROM loyalty_lots l WHERE l.customer_id = a.customer_id" \
	"  AND l.expires_at > ?1 AND l.expires_at <= datetime(?1, '+30 days')" \
	"  AND (l.available_at IS NULL OR l.available_at <= ?1)) AS expiring_30d," \
	" a.tier, a.tier_since, a.spend_12m, a.updated_at" \
	" FROM loyalty_accounts a JOIN customers c ON c.id = a.customer_id" \
	" WHERE c.erased_at IS NULL"

int loyalty_balance(struct crm *crm, char **ids, int n)
{
	sqlite3_stmt *st;
	struct sb sql = SB_INIT;
	char now[20], *last = db_meta_get(crm->db, "loyalty_run_at");
	int64_t *who = NULL;

	if (!last) {
		crm_error("no loyalty run yet in %s: crm-loyalty run first", crm->db_path);
		return 1;
	}
	if (n) {
		who = xcalloc((size_t)n, sizeof(*who));
		for (int i = 0; i < n; i++)
			if (!(who[i] = find(crm, ids[i]))) {
				free(who);
				free(last);
				return 1;
			}
	}
	norm_fmt_time(crm->now, now);
	sb_adds(&sql, BALANCE_SQL);
	if (n) {
		sb_adds(&sql, " AND a.customer_id IN (SELECT value FROM json_each(?2))");
	}
	sb_adds(&sql, " ORDER BY a.customer_id");
	st = db_prepare(crm->db, sql.buf);
	sqlite3_bind_text(st, 1, now, -1, SQLITE_TRANSIENT);
	if (n) {
		struct sb list = SB_INIT;
		sb_addc(&list, '[');
		for (int i = 0; i < n; i++)
			sb_addf(&list, "%s%" PRId64, i ? "," : "", who[i]);
		sb_addc(&list, ']');
		sqlite3_bind_text(st, 2, list.buf, -1, SQLITE_TRANSIENT);
		sb_free(&list);
	}
	rows(crm, st);
	sqlite3_finalize(st);
	crm_info("balances as of the last run or adjustment (crm-loyalty run: %s)", last);
	sb_free(&sql);
	free(who);
	free(last);
	return 0;
}

int loyalty_history(struct crm *crm, const char *id)
{
	int64_t c = find(crm, id);
	sqlite3_stmt *st;

	if (!c)
		return 1;
	st = db_prepare(crm->db, "SELECT occurred_at, kind, points, available_at, expires_at,"
			" reason, key FROM loyalty_ledger WHERE customer_id = ?1 ORDER BY occurred_at, id");
	sqlite3_bind_int64(st, 1, c);
	rows(crm, st);
	sqlite3_finalize(st);
	return 0;
}

/* The key of a manual entry: KIND:CUSTOMER:KEY with --key, else
 * KIND:CUSTOMER:N, N one more than the customer's entries of the kind. */
static void entry_key(sqlite3 *db, const char *kind, int64_t c, const char *key, char *k, size_t n)
{
	sqlite3_stmt *st;

	if (key) {
		snprintf(k, n, "%s:%" PRId64 ":%s", kind, c, key);
		return;
	}
	st = db_prepare(db, "SELECT count(*) FROM loyalty_ledger WHERE customer_id = ?1 AND kind = ?2");
	sqlite3_bind_int64(st, 1, c);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	snprintf(k, n, "%s:%" PRId64 ":%lld", kind, c,
		 db_row(st) ? (long long)sqlite3_column_int64(st, 0) + 1 : 1LL);
	sqlite3_finalize(st);
}

/* Begins the transaction of a manual entry: refused before the last run's
 * --now; *done when the key is in the ledger already (said). 0 or 1. */
static int entry_begin(struct crm *crm, const char *id, const char *k, int *done)
{
	sqlite3 *db = crm->db;
	sqlite3_stmt *st;
	char now[20], *wm;

	*done = 0;
	norm_fmt_time(crm->now, now);
	db_begin(db);
	if ((wm = db_meta_get(db, "loyalty_run_at")) && strcmp(wm, now) > 0) {
		crm_error("--now %s is before the last run's (%s): the ledger goes forward in time, "
			  "nothing written", now, wm);
		free(wm);
		db_rollback(db);
		return 1;
	}
	free(wm);
	st = db_prepare(db, "SELECT 1 FROM loyalty_ledger WHERE key = ?1");
	sqlite3_bind_text(st, 1, k, -1, SQLITE_TRANSIENT);
	*done = db_row(st);
	sqlite3_finalize(st);
	if (*done) {
		db_rollback(db);
		crm_note("%s: already in the ledger (key %s): nothing written", id, k);
	}
	return 0;
}

/* Writes a manual entry at --now and brings the account up to date. */
static int64_t entry_write(struct crm *crm, const struct loyalty_rules *r, int64_t c,
			   const char *k, const char *kind, int64_t points, const char *reason)
{
	sqlite3 *db = crm->db;
	sqlite3_stmt *st;
	char now[20], exp[20];

	norm_fmt_time(crm->now, now);
	st = db_prepare(db, "INSERT INTO loyalty_ledger (customer_id, key, kind, points, occurred_at,"
			" available_at, expires_at, reason, created_at)"
			" VALUES (?1, ?2, ?3, ?4, ?5, NULL, ?6, ?7, ?5)");
	sqlite3_bind_int64(st, 1, c);
	sqlite3_bind_text(st, 2, k, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, points);
	sqlite3_bind_text(st, 5, now, -1, SQLITE_TRANSIENT);
	if (points > 0 && r->expire) {
		norm_fmt_time(crm->now + r->expire, exp);
		sqlite3_bind_text(st, 6, exp, -1, SQLITE_TRANSIENT);
	} else {
		sqlite3_bind_null(st, 6);
	}
	sqlite3_bind_text(st, 7, reason, -1, SQLITE_TRANSIENT);
	db_step_done(db, st);
	sqlite3_finalize(st);
	return loyalty_replay_one(crm, r, c);
}

int loyalty_adjust(struct crm *crm, const struct loyalty_rules *r, const char *id,
		   int64_t points, const char *reason, const char *key)
{
	sqlite3 *db = crm->db;
	char k[300];
	int64_t c = find(crm, id), have;
	int done;

	if (!c)
		return 1;
	entry_key(db, "adjust", c, key, k, sizeof(k));
	if (entry_begin(crm, id, k, &done) || done)
		return done ? 0 : 1;
	have = loyalty_replay_one(crm, r, c);
	if (have == INT64_MIN) {
		db_rollback(db);
		return 1;
	}
	if (points < 0 && have + points < 0) {
		crm_error("%s: %" PRId64 " points to take, %" PRId64 " available: refused, nothing "
			  "written", id, -points, have);
		db_rollback(db);
		return 1;
	}
	if (crm->dry_run) {
		db_rollback(db);
		crm_note("%s: %+" PRId64 " points (%s); dry run, nothing written", id, points, reason);
		return 0;
	}
	have = entry_write(crm, r, c, k, "adjust", points, reason);
	db_commit(db);
	crm_note("%s: %+" PRId64 " points (%s): %" PRId64 " available", id, points, reason, have);
	return 0;
}

int loyalty_redeem(struct crm *crm, const struct loyalty_rules *r, const char *id,
		   const char *reward, const char *key)
{
	sqlite3 *db = crm->db;
	sqlite3_stmt *st;
	char k[300], *name = NULL, why[400];
	int64_t c = find(crm, id), have, cost = 0, rid = 0, stock = -1;
	int done;

	if (!c)
		return 1;
	entry_key(db, "redeem", c, key, k, sizeof(k));
	if (entry_begin(crm, id, k, &done) || done)
		return done ? 0 : 1;
	st = db_prepare(db, "SELECT id, name, cost, stock FROM loyalty_rewards WHERE external_id = ?1");
	sqlite3_bind_text(st, 1, reward, -1, SQLITE_TRANSIENT);
	if (db_row(st)) {
		rid = sqlite3_column_int64(st, 0);
		name = xstrdup((const char *)sqlite3_column_text(st, 1));
		cost = sqlite3_column_int64(st, 2);
		stock = sqlite3_column_type(st, 3) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 3);
	}
	sqlite3_finalize(st);
	why[0] = 0;
	have = rid ? loyalty_replay_one(crm, r, c) : 0;
	if (!rid)
		snprintf(why, sizeof(why), "no reward \"%s\" (crm-import rewards FILE adds them)", reward);
	else if (have == INT64_MIN)
		snprintf(why, sizeof(why), "no account");
	else if (!stock)
		snprintf(why, sizeof(why), "%s (%s) is out of stock", name, reward);
	else if (have < cost)
		snprintf(why, sizeof(why), "%s (%s) costs %" PRId64 " points, %" PRId64 " available",
			 name, reward, cost, have < 0 ? 0 : have);
	if (why[0]) {
		crm_error("%s: %s: refused, nothing written", id, why);
		db_rollback(db);
		free(name);
		return 1;
	}
	snprintf(why, sizeof(why), "%s (%s)", name, reward);
	if (crm->dry_run) {
		db_rollback(db);
		crm_note("%s: %s for %" PRId64 " points; dry run, nothing written", id, why, cost);
		free(name);
		return 0;
	}
	if (stock > 0) {
		st = db_prepare(db, "UPDATE loyalty_rewards SET stock = stock - 1 WHERE id = ?1");
		sqlite3_bind_int64(st, 1, rid);
		db_step_done(db, st);
		sqlite3_finalize(st);
	}
	have = entry_write(crm, r, c, k, "redeem", -cost, why);
	db_commit(db);
	crm_note("%s: %s for %" PRId64 " points: %" PRId64 " available", id, why, cost, have);
	free(name);
	return 0;
}
