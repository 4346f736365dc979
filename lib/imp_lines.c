/*
 * imp_lines.c - crm-import lines: a shop's order lines (one row per line
 * of an order) into orders, order_lines and products
 * (share/schema/009-lines-status.sql).
 *
 * Each row is checked and normalised as it is read (the customer resolved
 * or stubbed as for orders, imp_resolve_customer) and put in a TEMP
 * staging table; every LINES_STAGE rows, at each --batch commit and at the
 * end of each file the staged rows are written with set-based SQL
 * (imp_lines_flush): products upserted (their latest name and category
 * by line time), orders upserted (amount the sum of the lines, ordered_at
 * the earliest line, customer, currency and status those of the first
 * line, purchase from crm_order_class()), then the lines of each order,
 * numbered 1, 2, ... in the order of the file, replacing those stored.
 *
 * An order keeps what the file gave it in imp_lord (its lines so far and
 * their sum), so that an order whose lines are split between two flushes,
 * or come apart in the file, still gets all of them, and its amount is
 * always the sum of the file's lines. Each file is complete for the
 * orders it names: the same file given twice in one run changes nothing
 * either. Lines are updated in place (same id) when they differ, so that
 * importing the same file again changes nothing; the stored lines of an
 * order past the file's are deleted at the end of the file, once no more
 * can come (with --batch, commits before it may still hold them, never in
 * the amount).
 *
 * An order with a rejected line (a bad quantity, no customer...) is held
 * back: its other lines are rejected too ("another line of the order was
 * rejected") and the order stays as stored.
 */
#include "imp_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ordstat.h"

/* rows staged before they are written: a bounded temp table */
#define LINES_STAGE 50000

/* a product as the latest line of the batch names it */
struct lprod {
	char *sku, *name, *cat;
	char t[20];
};

struct imp_lines {
	sqlite3_stmt *stage, *bad, *prod, *order, *pupsert, *pfind;
	struct lprod *ptab;    /* hash table of the batch's products */
	size_t pcap, pcount;
	long nstaged;
	int nbad;              /* some order was held back in the run */
	int stored;            /* the file names an order stored before it */
	struct sb prev;        /* the order id of the row staged last */
	int64_t prev_cid;      /* ... its customer */
	char prev_cur[4];      /* ... its currency */
	int64_t k;             /* its rows in a row so far: the line's number in
				* the batch when the order's rows are together */
};

static void prod_clear(struct imp_lines *L);

void imp_lines_prepare(struct imp *im)
{
	sqlite3 *db = im->db;
	struct imp_lines *L = xcalloc(1, sizeof(*L));

	/* the staging tables and imp_lord are in the temp database as well:
	 * both caches smaller than other kinds' (48 and 16 MiB) keep a
	 * 5M-line import, with the index rebuild at its end, under 100 MiB */
	db_exec(db, "PRAGMA cache_size = -40960; PRAGMA temp.cache_size = -8192");
	db_exec(db,
		"CREATE TEMP TABLE IF NOT EXISTS imp_ls(seq INTEGER PRIMARY KEY, ext TEXT NOT NULL,"
		" cid INTEGER NOT NULL, t TEXT NOT NULL, sku TEXT NOT NULL, name TEXT, cat TEXT,"
		" qty REAL NOT NULL, price INTEGER NOT NULL, amount INTEGER NOT NULL,"
		" cur TEXT NOT NULL, status TEXT, ln INTEGER NOT NULL, k INTEGER NOT NULL);"
		"CREATE TEMP TABLE IF NOT EXISTS imp_lo(ext TEXT PRIMARY KEY, fs INTEGER, maxk INTEGER,"
		" oid INTEGER, prior_n INTEGER, cnt INTEGER, cid INTEGER, t0 TEXT, amt INTEGER,"
		" cur TEXT, status TEXT, old_cid INTEGER);"
		"CREATE TEMP TABLE IF NOT EXISTS imp_lord(oid INTEGER PRIMARY KEY, n INTEGER NOT NULL,"
		" amt INTEGER NOT NULL);"
		"CREATE TEMP TABLE IF NOT EXISTS imp_lr(oid INTEGER, line INTEGER, pid INTEGER,"
		" qty REAL, price INTEGER, amount INTEGER);"
		"CREATE TEMP TABLE IF NOT EXISTS imp_lbad(ext TEXT PRIMARY KEY) WITHOUT ROWID;"
		"CREATE TEMP TABLE IF NOT EXISTS imp_lp(sku TEXT, name TEXT, cat TEXT, t TEXT);"
		"DELETE FROM imp_lp; DELETE FROM imp_ls; DELETE FROM imp_lo; DELETE FROM imp_lord;"
		" DELETE FROM imp_lr; DELETE FROM imp_lbad;");
	L->stage = db_prepare(db,
		"INSERT INTO imp_ls(ext, cid, t, sku, name, cat, qty, price, amount, cur, status, ln, k)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)");
	sb_init(&L->prev);
	L->bad = db_prepare(db, "INSERT OR IGNORE INTO imp_lbad(ext) VALUES (?1)");
	L->prod = db_prepare(db, "INSERT INTO imp_lp(sku, name, cat, t) VALUES (?1, ?2, ?3, ?4)");
	L->order = db_prepare(db, "SELECT customer_id, ordered_at, currency FROM orders"
			      " WHERE external_id = ?1");
	im->lines = L;
}

void imp_lines_close(struct imp *im)
{
	struct imp_lines *L = im->lines;

	if (!L)
		return;
	sqlite3_finalize(L->stage);
	sqlite3_finalize(L->bad);
	sqlite3_finalize(L->prod);
	sqlite3_finalize(L->order);
	sqlite3_finalize(L->pupsert);
	sqlite3_finalize(L->pfind);
	prod_clear(L);
	free(L->ptab);
	sb_free(&L->prev);
	free(L);
	im->lines = NULL;
}

/* ---- the batch's products: the latest line of each SKU, in memory (no
 * sort of the staged rows); at most one entry per staged row ---- */

static size_t sku_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (size_t)(h ^ (h >> 29));
}

static struct lprod *prod_slot(struct lprod *tab, size_t cap, const char *sku)
{
	size_t mask = cap - 1, h = sku_hash(sku) & mask;

	while (tab[h].sku && strcmp(tab[h].sku, sku))
		h = (h + 1) & mask;
	return &tab[h];
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* A line of the batch names sku: it wins when it is as late as the one
 * kept (the later row of the file among lines of the same time). */
static void prod_note(struct imp_lines *L, const char *sku, const char *name, const char *cat,
		      const char *t)
{
	struct lprod *e;

	if ((L->pcount + 1) * 2 > L->pcap) {
		size_t cap = L->pcap ? L->pcap * 2 : 1024;
		struct lprod *tab = xcalloc(cap, sizeof(*tab));
		for (size_t i = 0; i < L->pcap; i++)
			if (L->ptab[i].sku)
				*prod_slot(tab, cap, L->ptab[i].sku) = L->ptab[i];
		free(L->ptab);
		L->ptab = tab;
		L->pcap = cap;
	}
	e = prod_slot(L->ptab, L->pcap, sku);
	if (!e->sku) {
		e->sku = xstrdup(sku);
		L->pcount++;
	} else if (strcmp(t, e->t) < 0) {
		return;
	} else {
		free(e->name);
		free(e->cat);
	}
	e->name = dup_or_null(name);
	e->cat = dup_or_null(cat);
	snprintf(e->t, sizeof(e->t), "%s", t);
}

static void prod_clear(struct imp_lines *L)
{
	for (size_t i = 0; i < L->pcap; i++) {
		struct lprod *e = &L->ptab[i];
		if (!e->sku)
			continue;
		free(e->sku);
		free(e->name);
		free(e->cat);
		memset(e, 0, sizeof(*e));
	}
	L->pcount = 0;
}

/* The batch's products into imp_lp; the table emptied. */
static void prod_stage(struct imp *im)
{
	struct imp_lines *L = im->lines;
	sqlite3_stmt *st = L->prod;

	for (size_t i = 0; i < L->pcap; i++) {
		struct lprod *e = &L->ptab[i];
		if (!e->sku)
			continue;
		sqlite3_bind_text(st, 1, e->sku, -1, SQLITE_STATIC);
		db_bind_text(st, 2, e->name, -1);
		db_bind_text(st, 3, e->cat, -1);
		sqlite3_bind_text(st, 4, e->t, -1, SQLITE_STATIC);
		db_step_done(im->db, st);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
	prod_clear(L);
}

/* ---- one row ---- */

/*
 * A quantity: an optional sign, digits, and a decimal part after '.' or
 * ',' (the one --decimal names, else either); no group separators, no
 * units. "6", "-12", "1.5", "0,25". Without --decimal, "1,500" (a comma
 * and three digits: 1.5 or 1500?) is refused.
 */
static int parse_qty(const char *s, size_t n, int decimal, double *q, const char **why)
{
	char buf[40];
	size_t i = 0, k = 0, digits = 0;
	int sep = 0;
	size_t comma = 0; /* where a decimal comma was, + 1 */

	if (n >= sizeof(buf) - 1) {
		*why = "too long";
		return -1;
	}
	if (i < n && (s[i] == '-' || s[i] == '+'))
		buf[k++] = s[i++];
	for (; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (ascii_isdigit(c)) {
			buf[k++] = (char)c;
			digits++;
		} else if ((c == '.' || c == ',') && !sep &&
			   (!decimal || c == decimal)) {
			buf[k++] = '.';
			sep = 1;
			if (c == ',')
				comma = i + 1;
		} else {
			*why = "not a number";
			return -1;
		}
	}
	buf[k] = 0;
	if (!digits) {
		*why = "not a number";
		return -1;
	}
	if (comma && !decimal && n - comma == 3) {
		*why = "a comma and three digits, 1.5 or 1500? (--decimal , reads a decimal comma)";
		return -1;
	}
	if (digits > 15) {
		*why = "too many digits";
		return -1;
	}
	*q = strtod(buf, NULL);
	return 0;
}

/* The row's order was rejected in part: the whole order is held back. */
static int reject_in_order(struct imp *im, const char *ext, size_t n)
{
	struct imp_lines *L = im->lines;

	if (ext) {
		sqlite3_bind_text(L->bad, 1, ext, (int)n, SQLITE_STATIC);
		db_step_done(im->db, L->bad);
		sqlite3_reset(L->bad);
	}
	return -1;
}

int imp_row_line(struct imp *im)
{
	struct imp_lines *L = im->lines;
	const char *why, *s, *ext, *sku;
	size_t n, next, nsku;
	char code[4];
	int exponent = 2;
	int64_t cid, price, fine = 0, amount;
	int scale = 0; /* price in 10^-(exponent+scale) units */
	int same;      /* the row staged last is of the same order */
	int have_cust, stored;
	int64_t stored_cid = 0;
	char stored_t[20] = "", stored_cur[8] = "";
	double qty, a;

	/* required values first: a bad row must not create a stub */
	ext = imp_raw(im, F_ORDERID, &next);
	if (!ext) {
		imp_reject(im, im->rec, "no order_id");
		return -1;
	}
	if (imp_clean_text(ext, next, 0, &im->key) < 0) {
		imp_reject(im, im->rec, "order_id contains control characters");
		return -1;
	}
	ext = im->key.buf;
	next = im->key.len;
	sku = imp_raw(im, F_SKU, &nsku);
	if (!sku) {
		imp_reject(im, im->rec, "no sku");
		return reject_in_order(im, ext, next);
	}
	if (imp_clean_text(sku, nsku, 0, &im->v[F_SKU]) < 0) {
		imp_reject(im, im->rec, "sku contains control characters");
		return reject_in_order(im, ext, next);
	}
	im->has[F_SKU] = 1;
	/*
	 * A line without its order's customer, time or currency (Olist's
	 * order items: the order file has them) takes them from the stored
	 * order, imported before.
	 */
	have_cust = imp_raw(im, F_CUSTREF, &n) || imp_raw(im, F_EMAIL, &n) ||
		    imp_raw(im, F_PHONE, &n);
	stored = 0;
	if (!have_cust || !imp_raw(im, F_TIME, &n) ||
	    (!imp_raw(im, F_CURRENCY, &n) && !im->o->currency)) {
		sqlite3_bind_text(L->order, 1, ext, (int)next, SQLITE_STATIC);
		if (db_step_row(im->db, L->order)) {
			stored = 1;
			stored_cid = sqlite3_column_int64(L->order, 0);
			snprintf(stored_t, sizeof(stored_t), "%s",
				 (const char *)sqlite3_column_text(L->order, 1));
			snprintf(stored_cur, sizeof(stored_cur), "%s",
				 (const char *)sqlite3_column_text(L->order, 2));
		}
		sqlite3_reset(L->order);
	}
	if (!imp_raw(im, F_TIME, &n) && stored) {
		sb_reset(&im->v[F_TIME]);
		sb_adds(&im->v[F_TIME], stored_t);
		im->has[F_TIME] = 1;
	} else if (!imp_take_time(im, F_TIME, &why)) {
		sb_reset(&im->tmp);
		if (why)
			sb_addf(&im->tmp, "invalid ordered_at: %s", why);
		else
			sb_adds(&im->tmp, "no ordered_at (and no stored order of the id)");
		imp_reject(im, im->rec, im->tmp.buf);
		return reject_in_order(im, ext, next);
	}
	s = imp_raw(im, F_CURRENCY, &n);
	if (!s && im->o->currency)
		s = im->o->currency, n = strlen(s);
	if (!s && stored)
		s = stored_cur, n = strlen(s);
	if (!s) {
		imp_reject(im, im->rec, "no currency (give --currency CODE)");
		return reject_in_order(im, ext, next);
	}
	if (norm_currency(s, n, code, &exponent, &why) < 0) {
		imp_reject_value(im, F_CURRENCY, "currency", s, n, why);
		return reject_in_order(im, ext, next);
	}
	if (im->fieldcol[F_QTY] < 0) {
		qty = 1; /* no quantity column: a row per item (Olist) */
	} else if (!(s = imp_raw(im, F_QTY, &n))) {
		imp_reject(im, im->rec, "no quantity");
		return reject_in_order(im, ext, next);
	} else if (parse_qty(s, n, im->o->norm.decimal, &qty, &why) < 0) {
		imp_reject_value(im, F_QTY, "quantity", s, n, why);
		return reject_in_order(im, ext, next);
	}
	if (!(s = imp_raw(im, F_PRICE, &n))) {
		imp_reject(im, im->rec, "no unit_price");
		return reject_in_order(im, ext, next);
	}
	if (norm_amount(s, n, exponent, &im->o->norm, &price, &why) < 0) {
		/* a unit price finer than the currency (a wholesale 0.165 GBP):
		 * the line's amount from the exact price, the price rounded */
		if (!strncmp(why, "too many decimal", 16) && exponent + 4 <= 9 &&
		    norm_amount(s, n, exponent + 4, &im->o->norm, &fine, &why) == 0) {
			scale = 4;
			price = (int64_t)llround((double)fine / 1e4);
		} else {
			imp_reject_value(im, F_PRICE, "unit_price", s, n, why);
			return reject_in_order(im, ext, next);
		}
	}
	a = scale ? qty * (double)fine / 1e4 : qty * (double)price;
	if (!(fabs(a) < 9e15)) {
		imp_reject(im, im->rec, "line amount too large");
		return reject_in_order(im, ext, next);
	}
	amount = (int64_t)llround(a);
	imp_take_lines(im, F_PRODUCT, "product_name");
	imp_take_text(im, F_CATEGORY, "category");
	imp_take_status(im);
	/* imp_resolve_customer uses im->tmp and may reject: the order id is
	 * in im->key, which it does not touch */
	if (!have_cust && stored)
		cid = stored_cid;
	else if (!(cid = imp_resolve_customer(im)))
		return reject_in_order(im, ext, next);
	same = L->prev.len == next && L->prev.buf && !memcmp(L->prev.buf, ext, next);
	/* an order is one customer's, in one currency (checked against the
	 * line before, when it is of the same order) */
	if (same && cid != L->prev_cid) {
		imp_reject(im, im->rec, "another customer than the order's line before");
		return reject_in_order(im, ext, next);
	}
	if (same && strcmp(code, L->prev_cur)) {
		sb_reset(&im->tmp);
		sb_addf(&im->tmp, "currency %s, the order's line before is in %s", code,
			L->prev_cur);
		imp_reject(im, im->rec, im->tmp.buf);
		return reject_in_order(im, ext, next);
	}
	if (strcmp(imp_val(im, F_TIME), im->soon) > 0)
		im->st.future++;

	sqlite3_stmt *st = L->stage;
	sqlite3_bind_text(st, 1, ext, (int)next, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, cid);
	sqlite3_bind_text(st, 3, imp_val(im, F_TIME), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, imp_val(im, F_SKU), -1, SQLITE_STATIC);
	db_bind_text(st, 5, imp_val(im, F_PRODUCT), -1);
	db_bind_text(st, 6, imp_val(im, F_CATEGORY), -1);
	sqlite3_bind_double(st, 7, qty);
	sqlite3_bind_int64(st, 8, price);
	sqlite3_bind_int64(st, 9, amount);
	sqlite3_bind_text(st, 10, code, -1, SQLITE_STATIC);
	db_bind_text(st, 11, imp_val(im, F_STATUS), -1);
	sqlite3_bind_int64(st, 12, im->rec->line);
	if (same) {
		L->k++;
	} else {
		sb_reset(&L->prev);
		sb_add(&L->prev, ext, next);
		L->k = 1;
		L->prev_cid = cid;
		memcpy(L->prev_cur, code, sizeof(L->prev_cur));
	}
	sqlite3_bind_int64(st, 13, L->k);
	db_step_done(im->db, st);
	prod_note(L, imp_val(im, F_SKU), imp_val(im, F_PRODUCT), imp_val(im, F_CATEGORY),
		  imp_val(im, F_TIME));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (++L->nstaged >= LINES_STAGE)
		imp_lines_flush(im, 0);
	return 3;
}

/* ---- kind products: a catalogue ---- */

int imp_row_product(struct imp *im)
{
	struct imp_lines *L = im->lines;
	const char *sku;
	size_t n;
	char now[20];
	int rc, found;

	if (!(sku = imp_raw(im, F_SKU, &n))) {
		imp_reject(im, im->rec, "no sku");
		return -1;
	}
	if (imp_clean_text(sku, n, 0, &im->v[F_SKU]) < 0) {
		imp_reject(im, im->rec, "sku contains control characters");
		return -1;
	}
	im->has[F_SKU] = 1;
	imp_take_lines(im, F_PRODUCT, "product_name");
	imp_take_text(im, F_CATEGORY, "category");
	if (!L->pupsert) {
		L->pfind = db_prepare(im->db, "SELECT 1 FROM products WHERE sku = ?1");
		L->pupsert = db_prepare(im->db,
			"INSERT INTO products(sku, name, category, updated_at) VALUES (?1, ?2, ?3, ?4)"
			" ON CONFLICT(sku) DO UPDATE SET name = coalesce(excluded.name, name),"
			" category = coalesce(excluded.category, category),"
			" updated_at = excluded.updated_at"
			" WHERE name IS NOT coalesce(excluded.name, name)"
			" OR category IS NOT coalesce(excluded.category, category)");
	}
	sqlite3_bind_text(L->pfind, 1, imp_val(im, F_SKU), -1, SQLITE_STATIC);
	found = db_step_row(im->db, L->pfind);
	sqlite3_reset(L->pfind);
	/* a catalogue says what a product is now: later than any line */
	norm_fmt_time(im->crm->now, now);
	sqlite3_bind_text(L->pupsert, 1, imp_val(im, F_SKU), -1, SQLITE_STATIC);
	db_bind_text(L->pupsert, 2, imp_val(im, F_PRODUCT), -1);
	db_bind_text(L->pupsert, 3, imp_val(im, F_CATEGORY), -1);
	sqlite3_bind_text(L->pupsert, 4, now, -1, SQLITE_STATIC);
	db_step_done(im->db, L->pupsert);
	rc = !found ? 0 : sqlite3_changes(im->db) ? 1 : 2;
	sqlite3_reset(L->pupsert);
	sqlite3_clear_bindings(L->pupsert);
	return rc;
}

/* ---- writing what is staged ---- */

static int64_t changes(struct imp *im, const char *sql)
{
	db_exec(im->db, sql);
	return sqlite3_changes64(im->db);
}

/* Lines of orders held back: rejected, one by one (no record text: the
 * row was read before its order was known to be bad). */
static void hold_back(struct imp *im)
{
	struct imp_lines *L = im->lines;
	sqlite3_stmt *st;
	struct rec fake;
	struct sb why = SB_INIT;

	if (!L->nbad) {
		st = db_prepare(im->db, "SELECT EXISTS (SELECT 1 FROM imp_lbad)");
		L->nbad = db_step_row(im->db, st) && sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
		if (!L->nbad)
			return;
	}
	st = db_prepare(im->db, "SELECT s.ln, s.ext FROM imp_ls s JOIN imp_lbad b ON b.ext = s.ext"
			" ORDER BY s.seq");
	memset(&fake, 0, sizeof(fake));
	while (db_step_row(im->db, st)) {
		const char *ext = db_column_text(im->db, st, 1);
		fake.line = sqlite3_column_int64(st, 0);
		fake.lines = 1;
		sb_reset(&why);
		sb_adds(&why, "order ");
		imp_quote_val(&why, F_ORDERID, ext, strlen(ext));
		sb_adds(&why, ": another line of the order was rejected; the order is kept as stored");
		imp_reject(im, &fake, why.buf);
	}
	sqlite3_finalize(st);
	sb_free(&why);
	db_exec(im->db, "DELETE FROM imp_ls WHERE ext IN (SELECT ext FROM imp_lbad)");
	if (!sqlite3_changes(im->db))
		return;
	/* the products of the batch again, without the lines held back */
	prod_clear(L);
	st = db_prepare(im->db, "SELECT sku, name, cat, t FROM imp_ls ORDER BY seq");
	while (db_step_row(im->db, st))
		prod_note(L, db_column_text(im->db, st, 0), db_column_text(im->db, st, 1),
			  db_column_text(im->db, st, 2), db_column_text(im->db, st, 3));
	sqlite3_finalize(st);
}

void imp_lines_flush(struct imp *im, int final)
{
	struct imp_lines *L = im->lines;
	sqlite3 *db = im->db;
	sqlite3_stmt *st;
	int64_t staged = 0, ins, upd;

	if (!L)
		return;
	hold_back(im);
	st = db_prepare(db, "SELECT count(*) FROM imp_ls");
	if (db_step_row(db, st))
		staged = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);

	if (staged) {
		/* products: the latest line of each SKU in the batch names it,
		 * unless the stored name is from a later line */
		prod_stage(im);
		db_exec(db,
			"INSERT INTO products(sku, name, category, updated_at)"
			" SELECT sku, name, cat, t FROM imp_lp WHERE true"
			" ON CONFLICT(sku) DO UPDATE SET name = coalesce(excluded.name, name),"
			"  category = coalesce(excluded.category, category), updated_at = excluded.updated_at"
			" WHERE excluded.updated_at >= updated_at AND (updated_at IS NOT excluded.updated_at"
			"  OR name IS NOT coalesce(excluded.name, name)"
			"  OR category IS NOT coalesce(excluded.category, category))");

		/* the orders of the batch as they will be stored: an order
		 * already begun in this run (imp_lord) keeps its customer,
		 * currency and status and adds to its sum */
		db_exec(db, "DELETE FROM imp_lo;"
			"INSERT INTO imp_lo(ext, fs, maxk, oid, prior_n, cnt, cid, t0, amt, cur, status, old_cid)"
			" SELECT g.ext, g.fs, g.maxk, o.id, coalesce(p.n, 0), g.cnt,"
			"  CASE WHEN p.oid IS NULL THEN f.cid ELSE o.customer_id END,"
			"  CASE WHEN p.oid IS NULL THEN g.t0 ELSE min(o.ordered_at, g.t0) END,"
			"  coalesce(p.amt, 0) + g.amt,"
			"  CASE WHEN p.oid IS NULL THEN f.cur ELSE o.currency END,"
			"  CASE WHEN p.oid IS NULL THEN coalesce(f.status, o.status, 'completed')"
			"   ELSE o.status END,"
			"  o.customer_id"
			" FROM (SELECT ext, min(seq) AS fs, max(k) AS maxk, min(t) AS t0, sum(amount) AS amt,"
			"   count(*) AS cnt FROM imp_ls GROUP BY ext) g"
			" JOIN imp_ls f ON f.seq = g.fs"
			" LEFT JOIN orders o ON o.external_id = g.ext"
			" LEFT JOIN imp_lord p ON p.oid = o.id");

		if (!L->stored) {
			st = db_prepare(db, "SELECT EXISTS (SELECT 1 FROM imp_lo"
					" WHERE oid IS NOT NULL AND prior_n = 0)");
			L->stored = db_step_row(db, st) && sqlite3_column_int(st, 0);
			sqlite3_finalize(st);
		}

		/* order_stats of the customers whose orders change */
		st = db_prepare(db,
			"SELECT lo.cid, lo.old_cid FROM imp_lo lo LEFT JOIN orders o ON o.id = lo.oid"
			" WHERE o.id IS NULL OR o.customer_id IS NOT lo.cid OR o.ordered_at IS NOT lo.t0"
			"  OR o.amount IS NOT lo.amt OR o.currency IS NOT lo.cur OR o.status IS NOT lo.status"
			"  OR o.purchase IS NOT crm_order_class(lo.status, lo.amt)");
		while (db_step_row(db, st)) {
			imp_stats_dirty(im, sqlite3_column_int64(st, 0));
			imp_stats_dirty(im, sqlite3_column_int64(st, 1));
		}
		sqlite3_finalize(st);

		db_exec(db,
			"UPDATE orders SET customer_id = lo.cid, ordered_at = lo.t0, amount = lo.amt,"
			" currency = lo.cur, status = lo.status, purchase = crm_order_class(lo.status, lo.amt)"
			" FROM imp_lo lo WHERE orders.id = lo.oid AND (orders.customer_id IS NOT lo.cid"
			"  OR orders.ordered_at IS NOT lo.t0 OR orders.amount IS NOT lo.amt"
			"  OR orders.currency IS NOT lo.cur OR orders.status IS NOT lo.status"
			"  OR orders.purchase IS NOT crm_order_class(lo.status, lo.amt));"
			"INSERT INTO orders(external_id, customer_id, ordered_at, amount, currency, status,"
			" purchase) SELECT ext, cid, t0, amt, cur, status, crm_order_class(status, amt)"
			" FROM imp_lo WHERE oid IS NULL ORDER BY fs;"
			"UPDATE imp_lo SET oid = (SELECT id FROM orders WHERE external_id = imp_lo.ext)"
			" WHERE oid IS NULL;"
			"INSERT INTO imp_lord(oid, n, amt) SELECT oid, prior_n + cnt, amt FROM imp_lo WHERE true"
			" ON CONFLICT(oid) DO UPDATE SET n = excluded.n, amt = excluded.amt;");

		/* the lines, numbered after those the order already has: k
		 * counted the rows of an order in a row; an order whose rows
		 * came apart in the batch (some k repeats) is counted again */
		db_exec(db,
			"UPDATE imp_ls SET k = w.rn FROM (SELECT seq, row_number() OVER"
			" (PARTITION BY ext ORDER BY seq) AS rn FROM imp_ls WHERE ext IN"
			"  (SELECT ext FROM imp_lo WHERE maxk <> cnt)) AS w WHERE imp_ls.seq = w.seq;"
			"DELETE FROM imp_lr;"
			"INSERT INTO imp_lr(oid, line, pid, qty, price, amount)"
			" SELECT lo.oid, lo.prior_n + s.k, p.id, s.qty, s.price, s.amount"
			" FROM imp_ls s JOIN imp_lo lo ON lo.ext = s.ext JOIN products p ON p.sku = s.sku"
			" ORDER BY s.seq");
		upd = changes(im,
			"UPDATE order_lines SET product_id = r.pid, quantity = r.qty, unit_price = r.price,"
			" amount = r.amount FROM imp_lr r WHERE order_lines.order_id = r.oid"
			" AND order_lines.line = r.line AND (order_lines.product_id IS NOT r.pid"
			"  OR order_lines.quantity IS NOT r.qty OR order_lines.unit_price IS NOT r.price"
			"  OR order_lines.amount IS NOT r.amount)");
		ins = changes(im,
			"INSERT OR IGNORE INTO order_lines(order_id, line, product_id, quantity, unit_price,"
			" amount) SELECT oid, line, pid, qty, price, amount FROM imp_lr");
		im->st.inserted += (uint64_t)ins;
		im->st.updated += (uint64_t)upd;
		im->st.unchanged += (uint64_t)(staged - ins - upd);

		db_exec(db, "DELETE FROM imp_ls; DELETE FROM imp_lr; DELETE FROM imp_lp;");
	}
	L->nstaged = 0;
	sb_reset(&L->prev);
	if (!final)
		return;
	/* the file is read: the stored lines of its orders past those it
	 * gave them go (not before: an order's lines may come apart); only
	 * when it named an order stored before it, and by the orders of the
	 * file (CROSS JOIN: imp_lord outside), not by all the lines */
	if (L->stored)
		db_exec(db,
			"DELETE FROM order_lines WHERE id IN (SELECT l.id FROM imp_lord p"
			" CROSS JOIN order_lines l ON l.order_id = p.oid AND l.line > p.n)");
	L->stored = 0;
	db_exec(db, "DELETE FROM imp_lbad; DELETE FROM imp_lord");
}
