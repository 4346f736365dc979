/*
 * db.h - opening the one SQLite file the tools share, with the settings
 * DESIGN.md promises: WAL, synchronous=FULL, foreign keys, a busy timeout
 * so that concurrent cron jobs wait rather than fail, 0600 on creation,
 * and the schema migrations of share/schema applied automatically
 * (PRAGMA user_version counts them).
 *
 * Every db_* helper that cannot sensibly fail dies with
 * "PROG: PATH: sqlite message" and exit 1 when it does.
 */
#ifndef CRM_DB_H
#define CRM_DB_H

#include <stdint.h>
#include <stdio.h>
#include <sqlite3.h>

#include "crm.h"

/* PRAGMA application_id of every crmkit base ("CRMK"): set when a base
 * is created, and on the next write open of a base made before. */
#define DB_APPLICATION_ID 0x43524d4bu

enum db_mode {
	DB_READ,  /* read-only connection; the file must exist */
	DB_WRITE, /* created (0600) and migrated when needed */
};

/*
 * Opens crm->db_path into crm->db. Dies with a clear message on failure:
 * a missing file (DB_READ), a file that is not a crmkit base (another
 * application's SQLite file is refused before anything could change it:
 * no -wal or -shm, no journal mode, no migration), a newer schema, a
 * file or directory that cannot be written (DB_WRITE: "cannot write:
 * read-only file system", "permission denied"). DB_WRITE sets an existing
 * base, -wal and -shm that others may open to 0600, with a warning; both
 * modes warn about a network file system. DB_READ reads a base on a
 * read-only medium (immutable when it has no -wal).
 */
void db_open(struct crm *crm, enum db_mode mode);
void db_close(struct crm *crm);

/* Another read-only connection to the base of DB_READ, opened the same
 * way (for a second thread); NULL when it cannot be opened. */
sqlite3 *db_open_reader(struct crm *crm);

/* crm-report check: PRAGMA integrity_check and foreign_key_check, each
 * problem a line on fp, else "ok"; says on stderr what the problems
 * mean. Returns 0 when there are none, else 1. */
int db_check(sqlite3 *db, FILE *fp);

/* Schema version this build knows (number of migrations). */
int db_schema_version(void);

void db_exec(sqlite3 *db, const char *sql);
sqlite3_stmt *db_prepare(sqlite3 *db, const char *sql);
/* BEGIN IMMEDIATE: takes the write lock now, waiting up to the busy
 * timeout, so a write transaction never fails half-way on SQLITE_BUSY. */
void db_begin(sqlite3 *db);
void db_commit(sqlite3 *db);
void db_rollback(sqlite3 *db);
/* Dies with the statement's error. */
_Noreturn void db_die(sqlite3 *db, const char *what);

/* Steps a statement that returns no rows (or ignores them) and resets it;
 * dies on error. Returns sqlite3_changes(). */
int db_step_done(sqlite3 *db, sqlite3_stmt *st);

/* Steps a statement for its next row: 1 when there is one (read its
 * columns, then step again or reset), 0 when there are no more rows.
 * Dies on an error, which must never pass for "no row": a lookup that
 * failed on an I/O error or out of memory would otherwise insert a
 * duplicate, miss a suppression, or go on after SQLite rolled the
 * transaction back. */
int db_step_row(sqlite3 *db, sqlite3_stmt *st);

/* db_step_row() on the statement's own connection. */
int db_row(sqlite3_stmt *st);

/* sqlite3_column_text(), dying when SQLite could not allocate the text
 * of a non-NULL value; NULL only for an SQL NULL. */
const char *db_column_text(sqlite3 *db, sqlite3_stmt *st, int i);

/* The value of meta.key, or NULL (malloc'd). */
char *db_meta_get(sqlite3 *db, const char *key);
void db_meta_set(sqlite3 *db, const char *key, const char *value);

/*
 * order_stats (share/schema/003-order-stats.sql), the per-customer sums of
 * completed orders that expressions read instead of the orders: only
 * crm-import writes orders, and it brings the rows of the customers whose
 * orders it changed up to date before each commit, in the same
 * transaction. db_order_stats_rebuild() recomputes the whole table (after
 * a large import; the migration that creates it); the others recompute the
 * row of one customer at a time:
 *
 *     struct db_order_stats s;
 *     db_order_stats_open(db, &s);
 *     db_order_stats_refresh(&s, customer_id);  ... for each customer
 *     db_order_stats_close(&s);
 */
/*
 * What an order counts as (orders.purchase, share/schema/009-lines-status.sql):
 * 1 a purchase, 0 kept but not counted, -1 a refund (a negative amount,
 * which reduces revenue). The SQL every order metric uses, for orders
 * aliased o:
 *   DB_COUNTED(o)      the orders a metric reads (purchases and refunds)
 *   DB_PURCHASE(o)     a purchase
 *   DB_PURCHASES       over DB_COUNTED rows: the number of purchases
 *   DB_FIRST_PURCHASE, DB_LAST_PURCHASE  their first and last time
 */
#define DB_COUNTED(o) o ".purchase <> 0"
#define DB_PURCHASE(o) o ".purchase = 1"
#define DB_PURCHASES "count(nullif(o.purchase, -1))"
#define DB_FIRST_PURCHASE "min(CASE WHEN o.purchase = 1 THEN o.ordered_at END)"
#define DB_LAST_PURCHASE "max(CASE WHEN o.purchase = 1 THEN o.ordered_at END)"

struct db_order_stats {
	sqlite3 *db;
	sqlite3_stmt *del, *ins;
};

void db_order_stats_rebuild(sqlite3 *db);
void db_order_stats_open(sqlite3 *db, struct db_order_stats *s);
void db_order_stats_refresh(struct db_order_stats *s, int64_t customer_id);
void db_order_stats_close(struct db_order_stats *s);

/* Binds a copy of text, or NULL when s is NULL; len -1 means strlen.
 * Dies when SQLite cannot copy it (out of memory). */
void db_bind_text(sqlite3_stmt *st, int i, const char *s, int len);

#endif
