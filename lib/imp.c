/*
 * imp.c - the import engine: maps a file's columns to fields, normalises
 * each row and upserts it; counts, reports and rejects. This file runs an
 * import (statements, transactions, files, summaries); the rest is in
 * imp_map.c, imp_val.c and imp_row.c (see imp_int.h).
 *
 * Identity of a customer: external id, else normalised e-mail, else E.164
 * phone. A customer row updates the stored one field by field; an empty
 * value never erases a known one. Orders and events are keyed by their id,
 * or by "~" + a hash of their normalised content + "." + how many times the
 * same content occurred before in the same file, so that identical rows
 * stay distinct orders and a re-import still changes nothing.
 */
#include "imp_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conf.h"
#include "ordstat.h"
#include "out.h"
#include "progress.h"

static int prepare(struct imp *im)
{
	sqlite3 *db = im->db;
	static const char *const by[3] = { "external_id", "email", "phone" };
	char sql[256];
	struct conf *conf = conf_load(im->crm);

	if (ordstat_conf(conf) < 0)
		exit(CRM_EXIT_USAGE);
	conf_free(conf);
	ordstat_register(db);

	for (int i = 0; i < 3; i++) {
		snprintf(sql, sizeof(sql), "SELECT " CUST_COLS " FROM customers WHERE %s = ?", by[i]);
		im->cust_by[i] = db_prepare(db, sql);
		snprintf(sql, sizeof(sql), "SELECT id FROM customers WHERE %s = ?", by[i]);
		im->cust_id_by[i] = db_prepare(db, sql);
	}
	im->cust_ins = db_prepare(db,
		"INSERT INTO customers(external_id, email, phone, first_name, last_name, birthday,"
		" city, country, timezone, created_at, updated_at, attrs)"
		" VALUES (?,?,?,?,?,?,?,?,?,?,?,?)");
	im->cust_upd = db_prepare(db,
		"UPDATE customers SET external_id=?1, email=?2, phone=?3, first_name=?4,"
		" last_name=?5, birthday=?6, city=?7, country=?8, timezone=?9, created_at=?10,"
		" updated_at=?11, attrs=?12, is_stub=0 WHERE id=?13");
	im->alias_find = db_prepare(db, "SELECT customer_id FROM customer_aliases WHERE alias = ?");
	im->alias_set = db_prepare(db,
		"INSERT INTO customer_aliases(alias, customer_id) VALUES (?1, ?2)"
		" ON CONFLICT(alias) DO UPDATE SET customer_id = excluded.customer_id"
		" WHERE customer_id <> excluded.customer_id");
	im->stub_ins = db_prepare(db,
		"INSERT INTO customers(external_id, email, phone, updated_at, is_stub)"
		" VALUES (?,?,?,?,1)");
	/* orders and events: see keyed_upsert(); an empty status, attrs,
	 * campaign, ... in the row keeps the stored one */
	im->ord[0] = db_prepare(db,
		"SELECT customer_id IS ?2 AND ordered_at IS ?3 AND (?4 IS NULL OR amount IS ?4)"
		" AND currency IS ?5 AND (?6 IS NULL OR status IS ?6)"
		" AND (?7 IS NULL OR attrs IS ?7), customer_id, id FROM orders WHERE external_id = ?1");
	im->ord[1] = db_prepare(db,
		"INSERT INTO orders(external_id, customer_id, ordered_at, amount, currency, status, attrs,"
		" purchase) VALUES (?1, ?2, ?3, coalesce(?4, 0), ?5, coalesce(?6, 'completed'), ?7,"
		" crm_order_class(coalesce(?6, 'completed'), coalesce(?4, 0)))");
	im->ord[2] = db_prepare(db,
		"UPDATE orders SET customer_id = ?2, ordered_at = ?3, amount = coalesce(?4, amount),"
		" currency = ?5, status = coalesce(?6, status), attrs = coalesce(?7, attrs),"
		" purchase = crm_order_class(coalesce(?6, status), coalesce(?4, amount))"
		" WHERE external_id = ?1");
	im->ev[0] = db_prepare(db,
		"SELECT customer_id IS ?2 AND type IS ?3 AND occurred_at IS ?4"
		" AND (?5 IS NULL OR campaign IS ?5) AND (?6 IS NULL OR message_id IS ?6)"
		" AND (?7 IS NULL OR props IS ?7) AND (?8 IS NULL OR machine IS ?8), id"
		" FROM events WHERE external_id = ?1");
	im->ev[1] = db_prepare(db,
		"INSERT INTO events(external_id, customer_id, type, occurred_at, campaign, message_id, props,"
		" machine) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
	im->ev[2] = db_prepare(db,
		"UPDATE events SET customer_id = ?2, type = ?3, occurred_at = ?4,"
		" campaign = coalesce(?5, campaign), message_id = coalesce(?6, message_id),"
		" props = coalesce(?7, props), machine = coalesce(?8, machine) WHERE external_id = ?1");
	/* occurrence counts of content keys: scratch space rebuilt on every
	 * run, in the temp database (on disk when large: bounded memory) */
	db_exec(db, "PRAGMA temp.journal_mode = OFF");
	db_exec(db, "PRAGMA temp.cache_size = -16384");
	db_exec(db, "CREATE TEMP TABLE IF NOT EXISTS imp_occ(k TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID");
	im->occ[0] = db_prepare(db, "SELECT n FROM imp_occ WHERE k = ?");
	im->occ[1] = db_prepare(db, "INSERT INTO imp_occ(k, n) VALUES (?, 0)");
	im->occ[2] = db_prepare(db, "UPDATE imp_occ SET n = n + 1 WHERE k = ?");
	im->supp = db_prepare(db, "SELECT 1 FROM suppressions WHERE hash = ?");
	im->cons_cur = db_prepare(db,
		"SELECT granted FROM consents WHERE customer_id = ? AND channel = ?"
		" ORDER BY recorded_at DESC, id DESC LIMIT 1");
	im->cons_ins = db_prepare(db,
		"INSERT OR IGNORE INTO consents(customer_id, channel, granted, recorded_at, source)"
		" VALUES (?,?,?,?,?)");
	if (im->o->kind == IMP_LINES || im->o->kind == IMP_PRODUCTS)
		imp_lines_prepare(im);
	if (im->o->kind == IMP_RATES && imp_rates_prepare(im) < 0)
		return -1;
	return 0;
}

static void finalize_all(struct imp *im)
{
	sqlite3_stmt *all[] = {
		im->cust_by[0], im->cust_by[1], im->cust_by[2], im->cust_id_by[0],
		im->cust_id_by[1], im->cust_id_by[2], im->cust_ins, im->cust_upd, im->stub_ins,
		im->ord[0], im->ord[1], im->ord[2], im->ev[0], im->ev[1], im->ev[2],
		im->occ[0], im->occ[1], im->occ[2], im->supp, im->cons_cur, im->cons_ins,
		im->alias_find, im->alias_set,
	};
	for (size_t i = 0; i < ARRAY_SIZE(all); i++)
		sqlite3_finalize(all[i]);
	imp_lines_close(im);
	imp_rates_close(im);
	imp_coupon_close(im);
	imp_loyalty_close(im);
	imp_messages_close(im);
}

static void refresh_suppressions(struct imp *im)
{
	sqlite3_stmt *st = db_prepare(im->db, "SELECT EXISTS (SELECT 1 FROM suppressions)");
	im->have_suppressions = db_step_row(im->db, st) && sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
}

/* The import whose transaction is open, for tx_died(). */
static struct imp *tx_open;

/* What a failure leaves stored: exit rolls the open transaction back, so
 * nothing, or (--batch) what the commits before it stored. */
static void tx_say_stored(const struct imp *im)
{
	if (im->committed_rows)
		crm_error("the rows up to %s:%ld were stored (--batch commits), "
			  "nothing after them", im->committed_file, im->committed_line);
	else
		crm_error("nothing was stored: the import was rolled back");
}

/* crm_die()'s hook while a transaction is open: an SQLite error in a
 * statement (disk full when the page cache spills, an I/O error), out of
 * memory, a write error on the rejects file. */
static void tx_died(void)
{
	if (tx_open)
		tx_say_stored(tx_open);
}

static void tx_begin(struct imp *im)
{
	db_begin(im->db);
	im->tx_rows = 0;
	refresh_suppressions(im);
	tx_open = im;
	crm_die_hook = tx_died;
}

/*
 * COMMIT, or exit 1 saying why and what was stored: the summaries of the
 * files are printed only after it succeeded. A failed COMMIT (disk full,
 * an I/O error) may leave the transaction open: it is rolled back.
 */
static void tx_commit(struct imp *im)
{
	sqlite3 *db = im->db;
	int sys;

	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK) {
		tx_open = NULL;
		crm_die_hook = NULL;
		return;
	}
	/* what the system said, when SQLite kept it; SQLITE_FULL is a
	 * full disk unless a page limit was set, which crmkit never does */
	sys = sqlite3_system_errno(db);
	if (!sys && (sqlite3_errcode(db) & 0xff) == SQLITE_FULL)
		sys = ENOSPC;
	crm_error("%s: cannot commit: %s%s%s%s", im->crm->db_path, sqlite3_errmsg(db),
		  sys ? " (" : "", sys ? strerror(sys) : "", sys ? ")" : "");
	db_rollback(db);
	tx_open = NULL;
	crm_die_hook = NULL;
	tx_say_stored(im);
	exit(CRM_EXIT_FAIL);
}

static void tx_row(struct imp *im)
{
	if (im->single_tx || ++im->tx_rows < im->batch)
		return;
	if (im->o->kind == IMP_LINES)
		imp_lines_flush(im, 0);
	imp_stats_flush(im);
	tx_commit(im);
	im->committed_rows = im->tot.read + im->st.read;
	snprintf(im->committed_file, sizeof(im->committed_file), "%s", im->fname);
	im->committed_line = im->rec->line + im->rec->lines - 1;
	tx_begin(im);
}

static void row_reset(struct imp *im)
{
	memset(im->has, 0, sizeof(im->has));
	sb_reset(&im->err);
	if (im->attrs) {
		cJSON_Delete(im->attrs);
		im->attrs = NULL;
	}
}

static void count(struct imp *im, int rc)
{
	switch (rc) {
	case 0: im->st.inserted++; break;
	case 1: im->st.updated++; break;
	case 2: im->st.unchanged++; break;
	default: break;
	}
}

static void print_stats(const char *what, const struct imp_stats *s, double secs, int dry)
{
	if (crm_verbosity < 1)
		return;
	fprintf(stderr, "%s: %s: %" PRIu64 " read, %" PRIu64 " inserted, %" PRIu64
		" updated, %" PRIu64 " unchanged, %" PRIu64 " rejected, %" PRIu64
		" stubs created, %.1f s (%.0f rows/s)%s\n",
		crm_progname, what, s->read, s->inserted, s->updated, s->unchanged,
		s->rejected, s->stubs, secs, secs > 0 ? s->read / secs : 0.0,
		dry ? " [dry run: nothing written]" : "");
}

/* The summary of a file, printed once the import is committed. */
static void keep_stats(struct imp *im, double secs)
{
	struct imp_sum *f;

	im->sums = xrealloc(im->sums, (im->nsums + 1) * sizeof(*im->sums));
	f = &im->sums[im->nsums++];
	f->name = xstrdup(im->fname);
	f->st = im->st;
	f->secs = secs;
}

/* What the data looks like, beside what was stored: said per file. */
static void print_quality(const char *what, const struct imp_stats *s)
{
	struct sb b = SB_INIT;

	if (s->placeholder)
		sb_addf(&b, "%s%" PRIu64 " row%s with the placeholder customer id \"%s\" (all one "
			"customer; --strict rejects them)", b.len ? ", " : "", s->placeholder,
			s->placeholder == 1 ? "" : "s", s->placeholder_value);
	if (s->negative)
		sb_addf(&b, "%s%" PRIu64 " negative amount%s (refunds: less revenue, not purchases)",
			b.len ? ", " : "", s->negative, s->negative == 1 ? "" : "s");
	if (s->future)
		sb_addf(&b, "%s%" PRIu64 " time%s more than a day in the future", b.len ? ", " : "",
			s->future, s->future == 1 ? "" : "s");
	if (s->dupes)
		sb_addf(&b, "%s%" PRIu64 " row%s repeating an id of an earlier row (the later row"
			" wins), the first \"%s\"", b.len ? ", " : "", s->dupes,
			s->dupes == 1 ? "" : "s", s->dupe_value);
	if (b.len)
		crm_warn("%s: data quality: %s", what, b.buf);
	sb_free(&b);
}

/* One customer holding an outlying share of the orders is a placeholder
 * or a test account more often than a customer: said after an import of
 * orders (from order_stats: no pass over the orders). */
static void check_outlier(sqlite3 *db)
{
	sqlite3_stmt *st = db_prepare(db,
		"SELECT s.orders, (SELECT sum(orders) FROM order_stats), coalesce(c.external_id,"
		" c.email, c.phone, '#' || c.id), c.is_stub FROM order_stats s"
		" JOIN customers c ON c.id = s.customer_id ORDER BY s.orders DESC LIMIT 1");

	if (db_step_row(db, st)) {
		int64_t top = sqlite3_column_int64(st, 0), all = sqlite3_column_int64(st, 1);
		if (top >= 100 && top * 20 > all)
			crm_warn("data quality: customer \"%s\"%s holds %" PRId64 " of the %" PRId64
				 " orders (%.1f%%): a placeholder id or a test account?",
				 (const char *)sqlite3_column_text(st, 2),
				 sqlite3_column_int(st, 3) ? " (a stub)" : "", top, all,
				 100.0 * (double)top / (double)all);
	}
	sqlite3_finalize(st);
}

static void add_stats(struct imp_stats *t, const struct imp_stats *s)
{
	t->read += s->read;
	t->inserted += s->inserted;
	t->updated += s->updated;
	t->unchanged += s->unchanged;
	t->rejected += s->rejected;
	t->stubs += s->stubs;
	t->warnings += s->warnings;
}

/* A CSV cell that a spreadsheet guard (crm-report's exports, lib/out.c)
 * prefixed with ' loses that quote: "'=SUM(A1)" reads as "=SUM(A1)" and
 * "'+79161234567" as "+79161234567". Only a quote before = @ + - TAB CR,
 * or before more quotes and one of those, which is what the guard writes
 * (it guards "'=x" as "''=x"); "'tis" keeps its quote. */
static void unguard(struct rec *rec)
{
	for (size_t i = 0; i < rec->n; i++) {
		struct rec_field *f = &rec->f[i];
		size_t k = 0, q;
		if (f->kind != REC_STR)
			continue;
		while (k < f->len && (f->s[k] == ' ' || f->s[k] == '\t'))
			k++;
		for (q = k; q < f->len && f->s[q] == '\''; q++)
			;
		if (q == k || q == f->len || !strchr("=@+-\t\r", f->s[q]))
			continue;
		f->s += k + 1;
		f->len -= k + 1;
	}
}

/* Imports one file; returns 0, or 1 when it could not be read or was
 * refused. */
static int import_file(struct imp *im, struct imp_src *src)
{
	struct rec rec;
	struct progress *pg;
	double t0 = now_monotonic();
	int rc, status = 0;

	memset(&im->st, 0, sizeof(im->st));
	norm_fmt_time(im->crm->now + 86400, im->soon);
	im->r = imp_src_open(src, &im->o->rec);
	if (!im->r) {
		if (im->o->on_reject)
			im->o->on_reject(im->o->reject_ud, 0, strerror(errno));
		else
			crm_error_errno("%s: cannot open", src->path);
		return 1;
	}
	im->fname = imp_src_name(src, im->r);
	im->dup_from = INT64_MAX;
	if (im->o->kind == IMP_ORDERS || im->o->kind == IMP_EVENTS) {
		sqlite3_stmt *st = db_prepare(im->db, im->o->kind == IMP_ORDERS ?
			"SELECT coalesce(max(id), 0) FROM orders" :
			"SELECT coalesce(max(id), 0) FROM events");
		if (db_step_row(im->db, st))
			im->dup_from = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	im->src = src;
	im->ncols = 0;
	for (int f = 0; f < F_MAX; f++)
		im->fieldcol[f] = -1, im->fieldexact[f] = 0;
	im->last_ref_id = 0;
	db_exec(im->db, "DELETE FROM imp_occ");
	pg = src->mem ? NULL : progress_new(im->fname, rec_size(im->r));

	while ((rc = rec_next(im->r, &rec)) == REC_OK) {
		int r;
		if (!im->ncols || rec_ncols(im->r) > im->ncols) {
			int first = !im->ncols;
			imp_map_columns(im);
			if (first && rec_format(im->r) == REC_CSV && imp_check_columns(im) < 0) {
				status = 1;
				break;
			}
		}
		im->st.read++;
		im->rec = &rec;
		if (rec.error) {
			imp_reject(im, &rec, rec.error);
			continue;
		}
		if (rec_format(im->r) == REC_CSV)
			unguard(&rec);
		row_reset(im);
		switch (im->o->kind) {
		case IMP_CUSTOMERS: r = imp_row_customer(im); break;
		case IMP_ORDERS: r = imp_row_order(im); break;
		case IMP_EVENTS: r = imp_row_event(im); break;
		case IMP_CONSENTS: r = imp_row_consent(im); break;
		case IMP_LINES: r = imp_row_line(im); break;
		case IMP_PRODUCTS: r = imp_row_product(im); break;
		case IMP_RATES: r = imp_row_rate(im); break;
		case IMP_REWARDS: r = imp_row_reward(im); break;
		case IMP_MESSAGES: r = imp_row_message(im); break;
		default: r = -1;
		}
		count(im, r);
		tx_row(im);
		progress_update(pg, rec_pos(im->r), im->st.read);
	}
	progress_end(pg);
	if (im->o->kind == IMP_LINES && rc != REC_FATAL)
		imp_lines_flush(im, 1);
	imp_warn_flush(im);
	if (rc == REC_FATAL) {
		if (im->o->on_reject)
			im->o->on_reject(im->o->reject_ud, 0, rec_errmsg(im->r));
		else if (im->st.read)
			/* a file cut short by a read error is not imported in
			 * part: the transaction is rolled back (tx_died says
			 * what earlier --batch commits kept) */
			crm_die(1, "%s: %s after %" PRIu64 " rows",
				im->fname, rec_errmsg(im->r), im->st.read);
		else
			crm_error("%s: %s", im->fname, rec_errmsg(im->r));
		status = 1;
	} else if (rc == REC_EOF && !im->ncols && im->st.read == 0 && !im->o->on_reject) {
		crm_warn("%s: no data", im->fname);
	}
	row_reset(im);
	keep_stats(im, now_monotonic() - t0);
	add_stats(&im->tot, &im->st);
	for (size_t i = 0; i < im->ncols; i++)
		free(im->colkey[i]);
	im->ncols = 0;
	rec_close(im->r);
	im->r = NULL;
	im->src = NULL;
	return status;
}

/* Whether the order of day and month is decided per column (then every
 * input is read once for its dates before the import starts). */
static int dates_per_column(const struct imp_opts *o)
{
	return o->norm.date_order == NORM_DATE_AUTO || o->norm.date_order == NORM_DATE_YMD;
}

/* Gets every input ready and decides its date columns (imp_dates.c);
 * -1 when the run cannot go on (nothing was written). */
static int prepare_inputs(struct imp *im, struct imp_src *srcs, char **files, size_t n)
{
	int bad = 0;

	for (size_t k = 0; k < n; k++) {
		srcs[k].fd = -1;
		srcs[k].path = files[k];
	}
	if (!dates_per_column(im->o))
		return 0;
	for (size_t k = 0; k < n; k++)
		if (imp_src_init(&srcs[k], files[k]) < 0)
			return -1;
	for (size_t k = 0; k < n; k++)
		if (imp_dates_scan(im, &srcs[k]) < 0)
			bad = 1;
	return bad ? -1 : 0;
}

/*
 * A large import into a table with secondary indexes (orders by customer,
 * events by customer and campaign) inserts into them at random places;
 * once they outgrow the page cache every row costs page reads and writes.
 * When one transaction will add many rows compared to what the table
 * holds, those indexes are dropped at the start and built again, sorted,
 * before the commit: other programs never see them missing, and a killed
 * import rolls back with them in place. Unique indexes stay: the import
 * looks rows up by them.
 */
#define DEFER_MIN_ROWS 200000
#define BYTES_PER_ROW 64

static void defer_indexes(struct imp *im, char **files)
{
	/* lines: a line is about 5 rows of order_lines for one of orders */
	const char *table = im->o->kind == IMP_ORDERS || im->o->kind == IMP_LINES ? "orders" :
			    im->o->kind == IMP_EVENTS ? "events" : NULL;
	int per_row = im->o->kind == IMP_LINES ? 5 * BYTES_PER_ROW : BYTES_PER_ROW;
	int64_t bytes = 0, have = 0;
	struct stat stbuf;
	sqlite3_stmt *st;
	char sql[160];
	size_t n0;

	if (!table)
		return;
	for (char **f = files; *f; f++)
		if (strcmp(*f, "-") && stat(*f, &stbuf) == 0 && S_ISREG(stbuf.st_mode))
			bytes += stbuf.st_size;
	snprintf(sql, sizeof(sql), "SELECT coalesce(max(id), 0) FROM %s", table);
	st = db_prepare(im->db, sql);
	if (db_step_row(im->db, st))
		have = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (bytes / per_row < DEFER_MIN_ROWS || bytes / per_row < have / 2)
		return;
	/* lines: most of a shop's nightly export is the orders already
	 * stored, written again unchanged: dropping and building the indexes
	 * costs more than keeping them, unless the base is small beside it */
	if (im->o->kind == IMP_LINES && have > bytes / per_row / 4)
		return;
	struct sb drops = SB_INIT;
	for (int t = 0; t < (im->o->kind == IMP_LINES ? 2 : 1); t++) {
		const char *tbl = t ? "order_lines" : table;
		n0 = im->ndeferred;
		st = db_prepare(im->db, "SELECT name, sql FROM sqlite_schema WHERE type = 'index'"
				" AND tbl_name = ? AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%'");
		sqlite3_bind_text(st, 1, tbl, -1, SQLITE_STATIC);
		while (db_step_row(im->db, st)) {
			im->deferred = xrealloc(im->deferred, (im->ndeferred + 1) * sizeof(char *));
			im->deferred[im->ndeferred++] = xstrdup(db_column_text(im->db, st, 1));
			sb_addf(&drops, "DROP INDEX \"%s\";", db_column_text(im->db, st, 0));
		}
		sqlite3_finalize(st);
		if (im->ndeferred > n0)
			crm_info("%s: building %zu index(es) at the end instead of row by row",
				 tbl, im->ndeferred - n0);
	}
	/* dropped once the schema is no longer being read */
	if (drops.len)
		db_exec(im->db, drops.buf);
	sb_free(&drops);
	im->bulk_orders = im->ndeferred && (im->o->kind == IMP_ORDERS || im->o->kind == IMP_LINES);
}

static void restore_indexes(struct imp *im)
{
	if (!im->ndeferred)
		return;
	/* the sorter takes as much memory as the page cache, per thread:
	 * keep the sum within bounds; two helper threads sort the runs (5M
	 * order lines: 5.4 s alone, 4.1 s with them, the same with 8 MiB
	 * as with 16 MiB) */
	db_exec(im->db, "PRAGMA cache_size = -8192; PRAGMA threads = 2");
	for (size_t i = 0; i < im->ndeferred; i++) {
		db_exec(im->db, im->deferred[i]);
		free(im->deferred[i]);
	}
	free(im->deferred);
	im->deferred = NULL;
	im->ndeferred = 0;
	db_exec(im->db, "PRAGMA threads = 0");
}

/* The buffers of a run (not its statements). */
static void imp_free(struct imp *im)
{
	for (int f = 0; f < F_MAX; f++)
		sb_free(&im->v[f]);
	sb_free(&im->err);
	sb_free(&im->tmp);
	sb_free(&im->key);
	free(im->colfield);
	free(im->colkey);
	free(im->colgroup);
	free(im->gmap);
	free(im->aslot);
	free(im->aused);
}

int imp_run(struct crm *crm, const struct imp_opts *o, char **files)
{
	struct imp im;
	struct imp_src *srcs;
	size_t nsrcs = 0;
	int status = 0, nfiles = 0;
	int64_t nclass;
	double t0 = now_monotonic();
	char *secret;

	memset(&im, 0, sizeof(im));
	im.crm = crm;
	im.o = o;
	im.db = crm->db;
	/* One transaction for the whole run unless --batch asks for
	 * commits every N rows: a large import into a WAL database is much
	 * faster in one (no index page is written twice), and --max-rejects
	 * and --dry-run need one to roll back. */
	im.batch = o->batch;
	im.single_tx = o->batch <= 0 || o->max_rejects >= 0 || crm->dry_run;
	for (int f = 0; f < F_MAX; f++)
		sb_init(&im.v[f]);
	sb_init(&im.err);
	sb_init(&im.tmp);
	sb_init(&im.key);
	secret = db_meta_get(im.db, "secret");
	if (!secret)
		crm_die(1, "%s: no secret in meta table", crm->db_path);
	snprintf(im.secret, sizeof(im.secret), "%s", secret);
	free(secret);

	for (char **f = files; *f; f++)
		nsrcs++;
	srcs = xcalloc(nsrcs ? nsrcs : 1, sizeof(*srcs));
	if (prepare_inputs(&im, srcs, files, nsrcs) < 0) {
		crm_error("nothing was imported");
		for (size_t k = 0; k < nsrcs; k++)
			imp_src_free(&srcs[k]);
		free(srcs);
		imp_free(&im);
		return CRM_EXIT_FAIL;
	}

	if (o->rejects_path && !strcmp(o->rejects_path, "-")) {
		im.rejects = stdout;
		fputs("file,line,reason,record\n", im.rejects);
	} else if (o->rejects_path) {
		im.rejects = fopen_private(o->rejects_path, 0);
		if (!im.rejects)
			crm_die_errno(1, "%s: cannot create", o->rejects_path);
		fputs("file,line,reason,record\n", im.rejects);
	}
	/* a bigger page cache than the default 2 MB: index pages of a large
	 * base stay in memory (48 MiB: with the sorter and buffers the
	 * process stays under 100 MiB whatever the file size) */
	db_exec(im.db, "PRAGMA cache_size = -49152");
	/* Every customer_id written here was just read from customers or
	 * inserted as a stub in the same transaction, and no program deletes
	 * customer rows (erasure keeps a tombstone): the foreign key holds by
	 * construction. Checking it again costs a random read of the
	 * customer row per order, a third of a large import; the tests run
	 * PRAGMA foreign_key_check after imports instead. */
	db_exec(im.db, "PRAGMA foreign_keys = OFF");
	if (prepare(&im) < 0) {
		finalize_all(&im);
		if (im.rejects && im.rejects != stdout)
			fclose(im.rejects);
		for (size_t k = 0; k < nsrcs; k++)
			imp_src_free(&srcs[k]);
		free(srcs);
		imp_free(&im);
		return CRM_EXIT_FAIL;
	}
	tx_begin(&im);
	if ((nclass = ordstat_apply(im.db)) > 0)
		crm_note("%" PRId64 " stored orders classified again with crm.conf [orders]", nclass);
	if (im.single_tx && !crm->dry_run)
		defer_indexes(&im, files);
	for (size_t k = 0; k < nsrcs; k++, nfiles++)
		if (import_file(&im, &srcs[k]))
			status = 1;
	for (size_t k = 0; k < nsrcs; k++)
		imp_src_free(&srcs[k]);
	free(srcs);
	/* the per-file lines do not include building deferred indexes and
	 * the commit: say how long they took when it was noticeable */
	double tc = now_monotonic();
	size_t rebuilt = im.ndeferred;
	restore_indexes(&im);
	if (crm->dry_run) {
		db_rollback(im.db);
		tx_open = NULL;
		crm_die_hook = NULL;
	} else {
		imp_stats_flush(&im);
		tx_commit(&im);
	}
	/* what was read and stored: only now that it is */
	tc = now_monotonic() - tc;
	if (crm_verbosity >= 1 && (tc >= 1.0 || crm_verbosity >= 2))
		fprintf(stderr, "%s: %s%s in %.1f s\n", crm_progname,
			rebuilt ? "indexes rebuilt and " : "",
			crm->dry_run ? "rolled back" : "committed", tc);
	for (size_t i = 0; i < im.nsums; i++) {
		print_stats(im.sums[i].name, &im.sums[i].st, im.sums[i].secs, crm->dry_run);
		print_quality(im.sums[i].name, &im.sums[i].st);
		free(im.sums[i].name);
	}
	if ((o->kind == IMP_ORDERS || o->kind == IMP_LINES) && !crm->dry_run)
		check_outlier(im.db);
	free(im.sums);
	if (nfiles > 1)
		print_stats("total", &im.tot, now_monotonic() - t0, crm->dry_run);
	finalize_all(&im);
	if (im.stats.db)
		db_order_stats_close(&im.stats);
	free(im.dirty);
	free(im.wc);
	free(im.wcmap);
	if (im.rejects == stdout) {
		if (fflush(stdout) != 0)
			out_write_failed(stdout);
	} else if (im.rejects && fclose(im.rejects) != 0)
		crm_die_errno(1, "%s: write error", o->rejects_path);
	imp_free(&im);
	if (status)
		return CRM_EXIT_FAIL;
	return im.tot.rejected ? CRM_EXIT_PARTIAL : CRM_EXIT_OK;
}

/* ---- an import inside someone else's transaction (crm-track) ---- */

struct imp *imp_session_open(struct crm *crm, const struct imp_opts *o)
{
	struct imp *im = xcalloc(1, sizeof(*im));
	char *secret;

	im->crm = crm;
	im->o = o;
	im->db = crm->db;
	im->single_tx = 1;
	for (int f = 0; f < F_MAX; f++)
		sb_init(&im->v[f]);
	sb_init(&im->err);
	sb_init(&im->tmp);
	sb_init(&im->key);
	secret = db_meta_get(im->db, "secret");
	if (!secret)
		crm_die(1, "%s: no secret in meta table", crm->db_path);
	snprintf(im->secret, sizeof(im->secret), "%s", secret);
	free(secret);
	(void)prepare(im); /* a session's kinds need nothing more */
	return im;
}

void imp_session_begin(struct imp *im)
{
	refresh_suppressions(im);
	/* the customers and stubs of a rolled-back transaction are gone */
	im->last_ref[0] = 0;
	im->last_ref_id = 0;
	im->ndirty = 0;
	if (im->dirty)
		memset(im->dirty, 0, im->dirty_bytes);
}

int imp_session_feed(struct imp *im, const char *name, const char *buf, size_t len,
		     struct imp_stats *st)
{
	struct imp_src src;
	int rc;

	memset(&src, 0, sizeof(src));
	src.path = name;
	src.mem = buf;
	src.memlen = len;
	src.fd = -1;
	if (dates_per_column(im->o) && imp_dates_scan(im, &src) < 0) {
		memset(st, 0, sizeof(*st));
		imp_src_free(&src);
		return -1;
	}
	rc = import_file(im, &src);
	imp_src_free(&src);
	*st = im->st;
	for (size_t i = 0; i < im->nsums; i++)
		free(im->sums[i].name);
	im->nsums = 0;
	return rc ? -1 : 0;
}

void imp_session_flush(struct imp *im)
{
	imp_stats_flush(im);
}

void imp_session_close(struct imp *im)
{
	if (!im)
		return;
	finalize_all(im);
	if (im->stats.db)
		db_order_stats_close(&im->stats);
	free(im->dirty);
	free(im->sums);
	free(im->wc);
	free(im->wcmap);
	imp_free(im);
	free(im);
}
