#include "db.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#ifdef __linux__
#include <sys/statfs.h>
#endif
#include <unistd.h>

#include "diag.h"
#include "expr.h"
#include "util.h"

extern const char *const crm_schema_sql[];

/* The database this program opened, as the user named it (one a process). */
static const char *open_path;

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

/*
 * Corruption is never passed over in silence. SQLite logs every damaged
 * page it meets (SQLITE_CORRUPT) before the statement fails, and db_die()
 * and db_exec() see SQLITE_CORRUPT and SQLITE_NOTADB; whichever path then
 * ends the program with an error (db_die, or a module's own message),
 * it says once, last, what to do:
 *
 *   crm-import: crm.db: the database is corrupt: 'crm-report check' lists
 *   the damage; 'sqlite3 crm.db .recover >saved.sql' saves what is left
 */
static int corrupt_seen, corrupt_told, checking;

static void corrupt_hint(int status, void *arg)
{
	(void)arg;
	if (!corrupt_seen || corrupt_told || status == 0)
		return;
	corrupt_told = 1;
	crm_error("%s: the database is corrupt: %s'sqlite3 %s .recover >saved.sql' saves what "
		  "is left", open_path ? open_path : "crm.db",
		  checking ? "" : "'crm-report check' lists the damage; ",
		  open_path ? open_path : "crm.db");
}

#ifndef __GLIBC__
/* (without on_exit(), no exit status: said whenever SQLite found damage) */
static void corrupt_hint_atexit(void)
{
	corrupt_hint(1, NULL);
}
#endif

static void mark_corrupt(int code)
{
	code &= 0xff;
	if (corrupt_seen || (code != SQLITE_CORRUPT && code != SQLITE_NOTADB))
		return;
	corrupt_seen = 1;
#ifdef __GLIBC__
	on_exit(corrupt_hint, NULL);
#else
	atexit(corrupt_hint_atexit);
#endif
}

static void sqlite_log(void *arg, int code, const char *msg)
{
	(void)arg;
	(void)msg;
	mark_corrupt(code);
}

void db_die(sqlite3 *db, const char *what)
{
	mark_corrupt(sqlite3_errcode(db));
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
		mark_corrupt(sqlite3_errcode(db));
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

static int pragma_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int v = 0;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		db_die(db, NULL);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	else
		db_die(db, NULL);
	sqlite3_finalize(st);
	return v;
}

static int user_version(sqlite3 *db)
{
	return pragma_int(db, "PRAGMA user_version");
}

static uint32_t application_id(sqlite3 *db)
{
	return (uint32_t)pragma_int(db, "PRAGMA application_id");
}

static void set_application_id(sqlite3 *db)
{
	char sql[64];
	snprintf(sql, sizeof(sql), "PRAGMA application_id = %d", (int)DB_APPLICATION_ID);
	db_exec(db, sql);
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
		" last_order_at, last_at) SELECT o.customer_id, " DB_PURCHASES ", sum(o.amount * ");
	expr_currency_factor(sql, "o.currency");
	sb_addf(sql, "), " DB_FIRST_PURCHASE ", " DB_LAST_PURCHASE ", max(o.ordered_at)"
		" FROM orders o WHERE " DB_COUNTED("o") "%s GROUP BY o.customer_id", where);
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

/*
 * Calls fn with each line of the problems PRAGMA integrity_check or
 * quick_check reports (several may come in one row, after a "*** in
 * database main ***" that says nothing with one database); returns their
 * number, 0 for "ok".
 */
static int check_lines(sqlite3 *db, const char *pragma, void (*fn)(void *, const char *), void *arg)
{
	sqlite3_stmt *st = db_prepare(db, pragma);
	const char *s, *nl;
	char *line;
	int n = 0, rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!(s = db_column_text(db, st, 0)) || !strcmp(s, "ok"))
			continue;
		for (; *s; s = *nl ? nl + 1 : nl) {
			if (!(nl = strchr(s, '\n')))
				nl = s + strlen(s);
			line = xstrndup(s, nl - s);
			if (*line && strcmp(line, "*** in database main ***")) {
				fn(arg, line);
				n++;
			}
			free(line);
		}
	}
	/* the check itself can stop at a page too damaged to go on */
	if (rc != SQLITE_DONE) {
		if ((sqlite3_errcode(db) & 0xff) != SQLITE_CORRUPT &&
		    (sqlite3_errcode(db) & 0xff) != SQLITE_NOTADB)
			db_die(db, NULL);
		mark_corrupt(SQLITE_CORRUPT);
		fn(arg, sqlite3_errmsg(db));
		n++;
	}
	sqlite3_finalize(st);
	return n;
}

static void quick_check_line(void *arg, const char *line)
{
	int *n = arg;

	if ((*n)++ < 3)
		crm_error("%s: %s", open_path, line);
}

/* PRAGMA quick_check, before a migration changes an existing base: every
 * page of every b-tree is read (not the index entries against their rows,
 * as integrity_check does). On a base of 1M customers and 5M orders
 * (0.96 GB, bench/gen.c) 1.4 s with the file in the page cache, 15 s from
 * a cold cache on a 65 MB/s disk (integrity_check: 37 s cached), once per
 * upgrade. A damaged base is left as it is. */
static void quick_check(sqlite3 *db)
{
	int shown = 0;

	if (check_lines(db, "PRAGMA quick_check(10)", quick_check_line, &shown)) {
		db_rollback(db);
		mark_corrupt(SQLITE_CORRUPT);
		crm_die(1, "%s: the database is damaged (PRAGMA quick_check); not migrating it",
			open_path);
	}
}

/* Applies the migrations the file lacks, each in its own write
 * transaction; the version is re-read under the lock so two programs
 * starting together cannot apply one twice. A base made before crmkit set
 * its application_id gets it here, in the same transaction. */
static void migrate(sqlite3 *db)
{
	int have, want = db_schema_version();
	uint32_t app;

	if (user_version(db) == want && application_id(db) == DB_APPLICATION_ID)
		return;
	db_begin(db);
	have = user_version(db);
	app = application_id(db);
	if ((have == 0 && table_count(db) > 0) || (app && app != DB_APPLICATION_ID)) {
		db_rollback(db);
		crm_die(1, "%s: not a crmkit database (it has tables but no crmkit schema)",
			db_path_of(db));
	}
	if (have > 0 && (have < want || app != DB_APPLICATION_ID))
		quick_check(db);
	if (app != DB_APPLICATION_ID)
		set_application_id(db);
	for (int v = have; v < want; v++) {
		char pragma[64];
		db_exec(db, crm_schema_sql[v]);
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", v + 1);
		db_exec(db, pragma);
		if (v == 0) {
			db_meta_set(db, "created_by", "crmkit " CRM_VERSION);
			make_secret(db);
		}
	}
	/* 003-order-stats.sql made the table, 009 remade it: fill it */
	if (have < 9 && want >= 3)
		db_order_stats_rebuild(db);
	db_commit(db);
	/* the new header into the main file, where the next program looks
	 * for it before it opens the file (a reader may hold it back) */
	if (app != DB_APPLICATION_ID && have > 0)
		sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
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

/* ---- the file, before SQLite opens it ------------------------------- */

/*
 * A crmkit program opens only crmkit's files, and looks before it
 * touches: another application's SQLite file given by mistake (--db
 * ~/.mozilla/.../places.sqlite) is refused unchanged, without the -wal
 * and -shm files, journal mode change or migration that opening it for
 * writing would bring. A crmkit base says so in its header (PRAGMA
 * application_id, DB_APPLICATION_ID, set when it is created); a base made
 * before that is known by its meta and customers tables and user_version,
 * and gets the application_id on its next write open.
 */
struct dbfile {
	const char *path;
	char *real;      /* path, or the file a symbolic link names (SQLite
			  * puts the -wal and -shm beside that) */
	char *dir, *wal;
	int exists;      /* path is there */
	int empty;       /* 0 bytes: a new base */
	int wal_mode;    /* the header says WAL */
	uint32_t app_id; /* PRAGMA application_id, from the header */
};

static const char *why(int e)
{
	switch (e) {
	case EROFS:
		return "read-only file system";
	case EACCES:
	case EPERM:
		return "permission denied";
	default:
		return strerror(e);
	}
}

static void file_free(struct dbfile *f)
{
	free(f->real);
	free(f->dir);
	free(f->wal);
}

static void file_look(struct dbfile *f, const char *path)
{
	const char *slash;
	unsigned char h[100];
	struct stat st;
	size_t n = 0;
	ssize_t r = 0;
	int fd;

	file_free(f);
	memset(f, 0, sizeof(*f));
	f->path = path;
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
		f->real = realpath(path, NULL);
	if (!f->real)
		f->real = xstrdup(path);
	slash = strrchr(f->real, '/');
	f->dir = !slash ? xstrdup(".") : slash == f->real ? xstrdup("/") :
		xstrndup(f->real, slash - f->real);
	f->wal = xmalloc(strlen(f->real) + 5);
	strcpy(f->wal, f->real);
	strcat(f->wal, "-wal");
	if (stat(path, &st) < 0) {
		if (errno != ENOENT)
			crm_die(1, "%s: cannot open database: %s", path, why(errno));
		return;
	}
	f->exists = 1;
	if (!S_ISREG(st.st_mode))
		crm_die(1, "%s: cannot open database: not a regular file", path);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		crm_die(1, "%s: cannot read: %s", path, why(errno));
	while (n < sizeof(h) && ((r = read(fd, h + n, sizeof(h) - n)) > 0 || (r < 0 && errno == EINTR)))
		if (r > 0)
			n += r;
	if (r < 0)
		crm_die(1, "%s: cannot read: %s", path, why(errno));
	close(fd);
	if (n == 0) {
		f->empty = 1;
		return;
	}
	if (n < sizeof(h) || memcmp(h, "SQLite format 3", 16))
		crm_die(1, "%s: not an SQLite database: refusing to open it (the file is left as it was)",
			path);
	f->wal_mode = h[18] == 2 || h[19] == 2;
	f->app_id = (uint32_t)h[68] << 24 | (uint32_t)h[69] << 16 | (uint32_t)h[70] << 8 | h[71];
}

/* PATH-wal holds changes the main file may lack (an empty one, none) */
static int wal_data(const struct dbfile *f)
{
	struct stat st;
	return stat(f->wal, &st) == 0 && st.st_size > 0;
}

static int dir_writable(const struct dbfile *f)
{
	return access(f->dir, W_OK | X_OK) == 0;
}

_Noreturn static void refuse(const struct dbfile *f, const char *reason, uint32_t app_id)
{
	if (app_id)
		crm_die(1, "%s: not a crmkit database (its SQLite application_id is 0x%08x, "
			"crmkit's 0x%08x): refusing to open it (the file is left as it was)",
			f->path, (unsigned)app_id, (unsigned)DB_APPLICATION_ID);
	crm_die(1, "%s: not a crmkit database (%s): refusing to open it (the file is left as it "
		"was)", f->path, reason);
}

/* "file:PATH?immutable=1", PATH escaped as a URI path */
static char *immutable_uri(const char *path)
{
	struct sb sb = SB_INIT;

	sb_adds(&sb, path[0] == '/' ? "file://" : "file:");
	for (const char *p = path; *p; p++) {
		if (*p == '%' || *p == '?' || *p == '#')
			sb_addf(&sb, "%%%02X", (unsigned char)*p);
		else
			sb_addc(&sb, *p);
	}
	sb_adds(&sb, "?immutable=1");
	return sb_detach(&sb);
}

/* A read-only connection. With immutable, SQLite reads the main file
 * alone, takes no lock and creates nothing beside it: right only while
 * no -wal holds changes the file lacks, and nobody writes. */
static sqlite3 *open_read(const char *path, int immutable)
{
	char *uri = immutable ? immutable_uri(path) : NULL;
	sqlite3 *db = NULL;
	int rc;

	rc = sqlite3_open_v2(uri ? uri : path, &db,
			     SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | (uri ? SQLITE_OPEN_URI : 0),
			     NULL);
	free(uri);
	if (rc != SQLITE_OK)
		crm_die(1, "%s: %s", path, db ? sqlite3_errmsg(db) : "cannot open");
	sqlite3_extended_result_codes(db, 1);
	/* a read-only connection never checkpoints; say so anyway */
	sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)NULL);
	return db;
}

/* The first read of a read-only connection, where SQLite opens the -wal
 * and -shm: on a read-only medium a -wal that holds changes cannot be
 * read without a -shm, which cannot be created there. */
static void first_read_failed(sqlite3 *db, const struct dbfile *f)
{
	int code = sqlite3_errcode(db) & 0xff, e;

	if ((code == SQLITE_CANTOPEN || code == SQLITE_READONLY) && !dir_writable(f)) {
		e = errno;
		crm_die(1, "%s: cannot read: %s-wal holds changes that SQLite reads through a "
			"%s-shm file, which cannot be created in %s: %s (open the base once where "
			"it can be written, or copy it with its -wal)",
			f->path, f->path, f->path, f->dir, why(e));
	}
	db_die(db, NULL);
}

/* Whose file it is, when the header does not say: read-only, creating
 * nothing (immutable when no -wal holds changes), from its schema. Returns 1
 * for a crmkit base, 0 for an SQLite file without tables; refuses every
 * other file. */
static int identify(const struct dbfile *f)
{
	static const char sql[] =
		"SELECT (SELECT count(*) FROM sqlite_schema),"
		" (SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'meta'),"
		" (SELECT count(*) FROM pragma_table_info('customers') WHERE name = 'is_stub')";
	sqlite3 *db = open_read(f->path, f->wal_mode && !wal_data(f));
	sqlite3_stmt *st;
	int objects, meta, is_stub, uv, crmkit = 0;
	uint32_t app;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
		int code = sqlite3_errcode(db) & 0xff;
		if (code == SQLITE_NOTADB)
			crm_die(1, "%s: not an SQLite database: refusing to open it (the file is left "
				"as it was)", f->path);
		if (code == SQLITE_CORRUPT || ((code == SQLITE_CANTOPEN || code == SQLITE_IOERR) &&
					       !dir_writable(f)))
			first_read_failed(db, f);
		/* (a hot rollback journal that only a write can undo, ...) */
		crm_die(1, "%s: cannot tell whose file it is (%s%s): refusing to open it (the file "
			"is left as it was)", f->path, sqlite3_errmsg(db), db_os_error(db));
	}
	objects = sqlite3_column_int(st, 0);
	meta = sqlite3_column_int(st, 1);
	is_stub = sqlite3_column_int(st, 2);
	sqlite3_finalize(st);
	app = application_id(db);
	uv = user_version(db);
	if (meta && !is_stub &&
	    sqlite3_prepare_v2(db, "SELECT 1 FROM meta WHERE key = 'created_by' AND value LIKE 'crmkit %'",
			       -1, &st, NULL) == SQLITE_OK) {
		crmkit = sqlite3_step(st) == SQLITE_ROW;
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	if (app == DB_APPLICATION_ID)
		return 1;
	if (app)
		refuse(f, NULL, app);
	if (objects == 0 && uv == 0)
		return 0;
	if (uv > 0 && meta && (is_stub || crmkit))
		return 1;
	refuse(f, objects ? "it has tables but no crmkit schema" : "it has a user_version but no tables", 0);
}

/* Goes on only with a crmkit base or a new one (empty, or SQLite without
 * tables); refuses every other file before anything could change it. */
static void whose(const struct dbfile *f)
{
	if (f->empty || f->app_id == DB_APPLICATION_ID)
		return;
	if (f->app_id)
		refuse(f, NULL, f->app_id);
	identify(f);
}

/* A write open needs the file and its directory (for the -wal and -shm
 * files) writable; say which is not, instead of SQLite's "unable to open
 * database file" or "attempt to write a readonly database". */
static void check_writable(const struct dbfile *f)
{
	if (access(f->path, R_OK | W_OK) < 0)
		crm_die(1, "%s: cannot write: %s", f->path, why(errno));
	if (!dir_writable(f)) {
		int e = errno;
		crm_die(1, "%s: cannot write: %s%s", f->path, why(e),
			e == EACCES ? " (the directory must be writable for the -wal and -shm files)" : "");
	}
}

/* A base, -wal or -shm of this user that group or others may open is
 * set to 0600 before SQLite opens it (which gives a new -wal and -shm
 * the mode of the base), with a warning: it holds personal data. */
static void fix_mode(const char *path)
{
	struct stat st;
	mode_t m;

	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    !(st.st_mode & 077))
		return;
	m = (st.st_mode & 0700) | 0600;
	if (chmod(path, m) < 0)
		crm_warn("%s: mode %04o lets others open personal data, and it cannot be changed: %s",
			 path, (unsigned)(st.st_mode & 07777), strerror(errno));
	else
		crm_warn("%s: mode was %04o, now %04o: it holds personal data", path,
			 (unsigned)(st.st_mode & 07777), (unsigned)m);
}

static void fix_modes(const struct dbfile *f)
{
	struct sb sb = SB_INIT;

	fix_mode(f->real);
	fix_mode(f->wal);
	sb_adds(&sb, f->real);
	sb_adds(&sb, "-shm");
	fix_mode(sb.buf);
	sb_free(&sb);
}

/* SQLite's locking does not hold on network file systems (NFS, SMB):
 * two programs on two machines can both write, and the base is damaged.
 * A warning, not an error: one machine alone may be fine. */
static void warn_network(const struct dbfile *f)
{
	static const struct {
		unsigned long magic;
		const char *name;
	} fs[] = {
		{ 0x6969, "NFS" },           { 0x517b, "SMB" },      { 0xff534d42, "CIFS" },
		{ 0xfe534d42, "SMB2" },      { 0x5346414f, "AFS" },  { 0x00c36400, "Ceph" },
		{ 0x01021997, "9P" },        { 0x73757245, "Coda" }, { 0x564c, "NCP" },
		{ 0x0bd00bd0, "Lustre" },    { 0x47504653, "GPFS" },
	};
	static int told;
#ifdef __linux__
	struct statfs sf;
	unsigned long type;

	if (told || statfs(f->exists ? f->path : f->dir, &sf) < 0)
		return;
	type = (unsigned long)sf.f_type & 0xffffffffUL;
	for (size_t i = 0; i < ARRAY_SIZE(fs); i++)
		if (type == fs[i].magic) {
			told = 1;
			crm_warn("%s: on a network file system (%s): SQLite's locking does not hold "
				 "there and the base can be damaged; keep it on a local disk",
				 f->path, fs[i].name);
		}
#else
	(void)fs;
	(void)told;
	(void)f;
#endif
}

static int read_immutable; /* the read connection is immutable (db_open_reader) */
static int log_set;        /* sqlite_log() is SQLite's log */

void db_open(struct crm *crm, enum db_mode mode)
{
	const char *path = crm->db_path;
	struct dbfile f = { 0 };
	sqlite3 *db = NULL;
	int fresh = 0, rc, v;

	open_path = path;
	/* before the first connection (once: later it would fail) */
	if (!log_set) {
		log_set = 1;
		sqlite3_config(SQLITE_CONFIG_LOG, sqlite_log, NULL);
	}
	if (mode == DB_WRITE && !strcmp(path, ":memory:")) {
		if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL))
			crm_die(1, "%s: %s", path, db ? sqlite3_errmsg(db) : "cannot open");
		settings(db, 1);
		db_exec(db, "PRAGMA auto_vacuum = INCREMENTAL");
		migrate(db);
		crm->db = db;
		return;
	}
	file_look(&f, path);
	if (mode == DB_READ) {
		if (!f.exists)
			crm_die(1, "%s: cannot open database: %s%s", path, strerror(ENOENT),
				" (import data first: crm-import customers FILE)");
		whose(&f);
		warn_network(&f);
		/* Where no -wal and -shm can be made (a read-only medium, a
		 * directory of somebody else's), a WAL base whose -wal holds
		 * nothing is whole in its main file: read it as immutable
		 * (no writer can be at work without a -wal there). */
		read_immutable = f.wal_mode && !wal_data(&f) && !dir_writable(&f);
		db = open_read(path, read_immutable);
		settings(db, 0);
		{
			sqlite3_stmt *st;
			if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
			    sqlite3_step(st) != SQLITE_ROW)
				first_read_failed(db, &f);
			v = sqlite3_column_int(st, 0);
			sqlite3_finalize(st);
		}
		if (v < db_schema_version()) {
			/* An older file: migrate once through a writable
			 * connection, then continue read-only. */
			if (access(path, W_OK) < 0 || !dir_writable(&f))
				crm_die(1, "%s: schema version %d is older than this crmkit's (%d), and "
					"the file cannot be migrated: cannot write: %s",
					path, v, db_schema_version(), why(errno));
			sqlite3_close(db);
			file_free(&f);
			db_open(crm, DB_WRITE);
			db_close(crm);
			return db_open(crm, DB_READ);
		}
	} else {
		if (!f.exists) {
			/* Create the file ourselves so that it is 0600 whatever
			 * the umask; SQLite gives -wal and -shm the same mode. */
			int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
			if (fd >= 0) {
				fresh = 1;
				close(fd);
			} else if (errno == EEXIST) {
				file_look(&f, path); /* another program made it first */
			} else {
				crm_die(1, "%s: cannot create database: %s", path, why(errno));
			}
		}
		if (!fresh) {
			whose(&f);
			check_writable(&f);
			fix_modes(&f);
		}
		f.exists = 1;
		warn_network(&f);
		rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
		if (rc != SQLITE_OK)
			crm_die(1, "%s: %s", path, db ? sqlite3_errmsg(db) : "cannot open");
		settings(db, 1);
		if (fresh || f.empty) {
			/* before the first page is written; the application_id
			 * goes into the main file's header before it is in WAL
			 * mode, so that the header says whose file it is from
			 * the start */
			db_exec(db, "PRAGMA auto_vacuum = INCREMENTAL");
			set_application_id(db);
		}
		/* journal_mode needs no lock only when it is already WAL. */
		db_exec(db, "PRAGMA journal_mode = WAL");
		v = user_version(db);
	}
	file_free(&f);
	if (v > db_schema_version())
		crm_die(1, "%s: database schema version %d is newer than this crmkit (%d)",
			path, v, db_schema_version());
	if (mode == DB_WRITE)
		migrate(db);
	crm->db = db;
}

sqlite3 *db_open_reader(struct crm *crm)
{
	char *uri = read_immutable ? immutable_uri(crm->db_path) : NULL;
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(uri ? uri : crm->db_path, &db,
			    SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | (uri ? SQLITE_OPEN_URI : 0),
			    NULL) != SQLITE_OK) {
		sqlite3_close(db);
		db = NULL;
	}
	free(uri);
	return db;
}

void db_close(struct crm *crm)
{
	if (!crm->db)
		return;
	if (sqlite3_close(crm->db) != SQLITE_OK)
		crm_error("%s: %s", crm->db_path, sqlite3_errmsg(crm->db));
	crm->db = NULL;
}

/* ---- crm-report check ------------------------------------------------ */

static void check_line(void *arg, const char *line)
{
	fprintf(arg, "%s\n", line);
}

int db_check(sqlite3 *db, FILE *fp)
{
	sqlite3_stmt *st;
	int bad, fk = 0;

	checking = 1;
	bad = check_lines(db, "PRAGMA integrity_check", check_line, fp);
	/* (the references are read through the indexes: only when they
	 * are sound) */
	st = db_prepare(db, "PRAGMA foreign_key_check");
	while (!bad && db_step_row(db, st)) {
		fprintf(fp, "row %lld of %s refers to a missing row of %s\n",
			(long long)sqlite3_column_int64(st, 1), db_column_text(db, st, 0),
			db_column_text(db, st, 2));
		fk++;
	}
	sqlite3_finalize(st);
	if (!bad && !fk) {
		fprintf(fp, "ok\n");
		return 0;
	}
	corrupt_told = 1; /* this is the hint */
	if (bad)
		crm_error("%s: the database is corrupt (%d problem%s found by PRAGMA "
			  "integrity_check): 'sqlite3 %s .recover >saved.sql' saves what is left",
			  open_path, bad, bad == 1 ? "" : "s", open_path);
	if (fk)
		crm_error("%s: %d row%s refer%s to rows that are missing (PRAGMA foreign_key_check)",
			  open_path, fk, fk == 1 ? "" : "s", fk == 1 ? "s" : "");
	return 1;
}
