#include "db.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diag.h"
#include "expr.h"
#include "util.h"

extern const char *const crm_schema_sql[];

static const char *db_path_of(sqlite3 *db)
{
	const char *p = sqlite3_db_filename(db, "main");
	return p && *p ? p : "database";
}

/* What the operating system said, for the errors where SQLite's own
 * message ("disk I/O error") hides it: " (File too large)", " (No space
 * left on device)"; "" when SQLite did not keep it (a failed COMMIT). */
static const char *db_os_error(sqlite3 *db)
{
	static char buf[128];
	int code = sqlite3_errcode(db) & 0xff, sys = sqlite3_system_errno(db);

	if (!sys || (code != SQLITE_IOERR && code != SQLITE_FULL && code != SQLITE_CANTOPEN))
		return "";
	snprintf(buf, sizeof(buf), " (%s)", strerror(sys));
	return buf;
}

void db_die(sqlite3 *db, const char *what)
{
	if (what)
		crm_die(1, "%s: %s: %s%s", db_path_of(db), what, sqlite3_errmsg(db), db_os_error(db));
	crm_die(1, "%s: %s%s", db_path_of(db), sqlite3_errmsg(db), db_os_error(db));
}

int db_schema_version(void)
{
	int n = 0;
	while (crm_schema_sql[n])
		n++;
	return n;
}

void db_exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		crm_error("%s: %s%s", db_path_of(db), err ? err : sqlite3_errmsg(db), db_os_error(db));
		exit(1);
	}
}

sqlite3_stmt *db_prepare(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
		db_die(db, "prepare");
	return st;
}

void db_begin(sqlite3 *db)
{
	db_exec(db, "BEGIN IMMEDIATE");
}

void db_commit(sqlite3 *db)
{
	db_exec(db, "COMMIT");
}

void db_rollback(sqlite3 *db)
{
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

int db_step_done(sqlite3 *db, sqlite3_stmt *st)
{
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	if (rc != SQLITE_DONE)
		db_die(db, NULL);
	sqlite3_reset(st);
	return sqlite3_changes(db);
}

int db_step_row(sqlite3 *db, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc != SQLITE_DONE)
		db_die(db, NULL);
	return 0;
}

int db_row(sqlite3_stmt *st)
{
	return db_step_row(sqlite3_db_handle(st), st);
}

const char *db_column_text(sqlite3 *db, sqlite3_stmt *st, int i)
{
	const char *s;

	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return NULL;
	if (!(s = (const char *)sqlite3_column_text(st, i)))
		db_die(db, "reading a value"); /* out of memory */
	return s;
}

void db_bind_text(sqlite3_stmt *st, int i, const char *s, int len)
{
	/* SQLITE_TRANSIENT copies the text: out of memory, the parameter
	 * would silently stay NULL (a name erased by an update) */
	int rc = s ? sqlite3_bind_text(st, i, s, len, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);

	if (rc != SQLITE_OK)
		db_die(sqlite3_db_handle(st), "binding a value");
}

char *db_meta_get(sqlite3 *db, const char *key)
{
	sqlite3_stmt *st;
	char *v = NULL;

	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?", -1, &st, NULL) != SQLITE_OK)
		db_die(db, NULL);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (db_step_row(db, st)) {
		const char *s = db_column_text(db, st, 0);
		v = s ? xstrdup(s) : NULL;
	}
	sqlite3_finalize(st);
	return v;
}

void db_meta_set(sqlite3 *db, const char *key, const char *value)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "INSERT INTO meta(key, value) VALUES (?, ?) "
			       "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
			       -1, &st, NULL) != SQLITE_OK)
		db_die(db, NULL);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	db_step_done(db, st);
	sqlite3_finalize(st);
}

static int user_version(sqlite3 *db)
{
	sqlite3_stmt *st;
	int v = 0;
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		db_die(db, NULL);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	else
		db_die(db, NULL);
	sqlite3_finalize(st);
	return v;
}

static int table_count(sqlite3 *db)
{
	sqlite3_stmt *st;
	int n = 0;
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_schema", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW)
		db_die(db, (sqlite3_errcode(db) & 0xff) == SQLITE_NOTADB ? "not an SQLite database" : NULL);
	n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* The secret that keys erasure hashes (and later unsubscribe tokens when
 * no configured secret is given): 32 random bytes, hex. */
static void make_secret(sqlite3 *db)
{
	unsigned char key[32];
	char hex[65];

	if (getentropy(key, sizeof(key)) != 0)
		crm_die_errno(1, "cannot get random bytes for the database secret");
	for (size_t i = 0; i < sizeof(key); i++)
		snprintf(hex + 2 * i, 3, "%02x", key[i]);
	db_meta_set(db, "secret", hex);
}

/*
 * order_stats (share/schema/003-order-stats.sql) from the orders: the
 * completed ones, revenue in thousandths of the major unit with the
 * currency factors of the expression language (expr_currency_factor, an
 * SQL function that expr_register() adds to db), so that a metric read
 * from the table and one computed from the orders are the same number.
 * where narrows the orders ("" for all of them).
 */
static void stats_sql(sqlite3 *db, struct sb *sql, const char *where)
{
	expr_register(db);
	sb_adds(sql, "INSERT INTO order_stats(customer_id, orders, revenue, first_order_at,"
		" last_order_at) SELECT o.customer_id, count(*), sum(o.amount * ");
	expr_currency_factor(sql, "o.currency");
	sb_addf(sql, "), min(o.ordered_at), max(o.ordered_at) FROM orders o WHERE"
		" NOT (o.status = 'refunded' OR o.status = 'cancelled' OR o.status = 'returned')%s"
		" GROUP BY o.customer_id",
		where);
}

void db_order_stats_rebuild(sqlite3 *db)
{
	struct sb sql = SB_INIT;

	sb_adds(&sql, "DELETE FROM order_stats; ");
	stats_sql(db, &sql, "");
	db_exec(db, sql.buf);
	sb_free(&sql);
}

void db_order_stats_open(sqlite3 *db, struct db_order_stats *s)
{
	struct sb sql = SB_INIT;

	s->db = db;
	s->del = db_prepare(db, "DELETE FROM order_stats WHERE customer_id = ?1");
	stats_sql(db, &sql, " AND o.customer_id = ?1");
	s->ins = db_prepare(db, sql.buf);
	sb_free(&sql);
}

void db_order_stats_refresh(struct db_order_stats *s, int64_t customer_id)
{
	sqlite3_bind_int64(s->del, 1, customer_id);
	db_step_done(s->db, s->del);
	sqlite3_bind_int64(s->ins, 1, customer_id);
	db_step_done(s->db, s->ins);
}

void db_order_stats_close(struct db_order_stats *s)
{
	sqlite3_finalize(s->del);
	sqlite3_finalize(s->ins);
	memset(s, 0, sizeof(*s));
}

/* Applies the migrations the file lacks, each in its own write
 * transaction; the version is re-read under the lock so two programs
 * starting together cannot apply one twice. */
static void migrate(sqlite3 *db)
{
	int have, want = db_schema_version();

	if (user_version(db) == want)
		return;
	db_begin(db);
	have = user_version(db);
	if (have == 0 && table_count(db) > 0) {
		db_rollback(db);
		crm_die(1, "%s: not a crmkit database (it has tables but no crmkit schema)",
			db_path_of(db));
	}
	for (int v = have; v < want; v++) {
		char pragma[64];
		db_exec(db, crm_schema_sql[v]);
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", v + 1);
		db_exec(db, pragma);
		if (v == 0) {
			db_meta_set(db, "created_by", "crmkit " CRM_VERSION);
			make_secret(db);
		}
		if (v + 1 == 3) /* 003-order-stats.sql: fill the new table */
			db_order_stats_rebuild(db);
	}
	db_commit(db);
	if (have < want)
		crm_info("%s: schema migrated from version %d to %d",
			 db_path_of(db), have, want);
}

/*
 * When another program holds the write lock (a long import, a send), wait
 * for it: up to $CRM_BUSY_TIMEOUT seconds (default 600), saying so once
 * after two seconds so that a person at a terminal knows why nothing
 * happens. Sleeps back off from 1 ms to 100 ms.
 */
struct busy {
	double start;
	double limit;
	int told;
};

static int busy_wait(void *arg, int count)
{
	struct busy *b = arg;
	double t = now_monotonic();
	int ms;

	if (count == 0)
		b->start = t;
	if (t - b->start >= b->limit)
		return 0;
	if (!b->told && t - b->start >= 2.0) {
		b->told = 1;
		crm_warn("the database is busy (another crm program is writing); "
			 "waiting up to %.0f s", b->limit);
	}
	ms = count < 10 ? 1 << (count / 2) : 100;
	sqlite3_sleep(ms);
	return 1;
}

static struct busy busy_state;

static void settings(sqlite3 *db, int write)
{
	const char *env = getenv("CRM_BUSY_TIMEOUT");
	int64_t secs;

	busy_state.limit = env && parse_int64(env, &secs) == 0 && secs >= 0 ? (double)secs : 600;
	sqlite3_busy_handler(db, busy_wait, &busy_state);
	sqlite3_extended_result_codes(db, 1);
	db_exec(db, "PRAGMA foreign_keys = ON");
	if (write) {
		db_exec(db, "PRAGMA synchronous = FULL");
		db_exec(db, "PRAGMA secure_delete = FAST");
	}
}

void db_open(struct crm *crm, enum db_mode mode)
{
	const char *path = crm->db_path;
	sqlite3 *db = NULL;
	struct stat stbuf;
	int created = 0, rc, v;

	if (mode == DB_READ) {
		if (stat(path, &stbuf) < 0)
			crm_die(1, "%s: cannot open database: %s%s", path, strerror(errno),
				errno == ENOENT ? " (import data first: crm-import customers FILE)" : "");
		rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
		if (rc != SQLITE_OK)
			crm_die(1, "%s: %s", path, db ? sqlite3_errmsg(db) : "cannot open");
		settings(db, 0);
		v = user_version(db);
		if (v < db_schema_version()) {
			/* An older file: migrate once through a writable
			 * connection, then continue read-only. */
			sqlite3_close(db);
			db_open(crm, DB_WRITE);
			db_close(crm);
			return db_open(crm, DB_READ);
		}
	} else {
		/* Create the file ourselves so that it is 0600 whatever the
		 * umask; SQLite gives -wal and -shm the same mode. */
		int fd = strcmp(path, ":memory:") ?
			open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600) : -2;
		if (fd == -2) {
			created = 1;
		} else if (fd >= 0) {
			created = 1;
			close(fd);
		} else if (errno != EEXIST) {
			crm_die_errno(1, "%s: cannot create database", path);
		}
		rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
		if (rc != SQLITE_OK)
			crm_die(1, "%s: %s", path, db ? sqlite3_errmsg(db) : "cannot open");
		settings(db, 1);
		if (created)
			db_exec(db, "PRAGMA auto_vacuum = INCREMENTAL");
		/* journal_mode needs no lock only when it is already WAL. */
		db_exec(db, "PRAGMA journal_mode = WAL");
		v = user_version(db);
	}
	if (v > db_schema_version())
		crm_die(1, "%s: database schema version %d is newer than this crmkit (%d)",
			path, v, db_schema_version());
	if (mode == DB_WRITE)
		migrate(db);
	crm->db = db;
}

void db_close(struct crm *crm)
{
	if (!crm->db)
		return;
	if (sqlite3_close(crm->db) != SQLITE_OK)
		crm_error("%s: %s", crm->db_path, sqlite3_errmsg(crm->db));
	crm->db = NULL;
}
