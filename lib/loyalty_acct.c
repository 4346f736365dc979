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

int loyalty_adjust(struct crm *crm, const struct loyalty_rules *r, const char *id,
		   int64_t points, const char *reason, const char *key)
{
	sqlite3 *db = crm->db;
	sqlite3_stmt *st;
	char k[300], now[20], exp[20], *wm;
	int64_t c = find(crm, id), have;
	int exists;

	if (!c)
		return 1;
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
	if (key) {
		snprintf(k, sizeof(k), "adjust:%" PRId64 ":%s", c, key);
	} else {
		st = db_prepare(db, "SELECT count(*) FROM loyalty_ledger WHERE customer_id = ?1"
				" AND kind = 'adjust'");
		sqlite3_bind_int64(st, 1, c);
		snprintf(k, sizeof(k), "adjust:%" PRId64 ":%lld", c,
			 db_row(st) ? (long long)sqlite3_column_int64(st, 0) + 1 : 1LL);
		sqlite3_finalize(st);
	}
	st = db_prepare(db, "SELECT 1 FROM loyalty_ledger WHERE key = ?1");
	sqlite3_bind_text(st, 1, k, -1, SQLITE_TRANSIENT);
	exists = db_row(st);
	sqlite3_finalize(st);
	if (exists) {
		db_rollback(db);
		crm_note("%s: already in the ledger (key %s): nothing written", id, k);
		return 0;
	}
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
	st = db_prepare(db, "INSERT INTO loyalty_ledger (customer_id, key, kind, points, occurred_at,"
			" available_at, expires_at, reason, created_at)"
			" VALUES (?1, ?2, 'adjust', ?3, ?4, NULL, ?5, ?6, ?4)");
	sqlite3_bind_int64(st, 1, c);
	sqlite3_bind_text(st, 2, k, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, points);
	sqlite3_bind_text(st, 4, now, -1, SQLITE_TRANSIENT);
	if (points > 0 && r->expire) {
		norm_fmt_time(crm->now + r->expire, exp);
		sqlite3_bind_text(st, 5, exp, -1, SQLITE_TRANSIENT);
	} else {
		sqlite3_bind_null(st, 5);
	}
	sqlite3_bind_text(st, 6, reason, -1, SQLITE_TRANSIENT);
	db_step_done(db, st);
	sqlite3_finalize(st);
	have = loyalty_replay_one(crm, r, c);
	db_commit(db);
	crm_note("%s: %+" PRId64 " points (%s): %" PRId64 " available", id, points, reason, have);
	return 0;
}
