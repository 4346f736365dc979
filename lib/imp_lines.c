/*
 * imp_lines.c - crm-import lines: a shop's order lines (one row per line
 * of an order) into orders, order_lines and products
 * (share/schema/009-lines-status.sql).
 *
 * Each row is checked and normalised as it is read (the customer resolved
 * or stubbed as for orders, imp_resolve_customer) and kept in memory, in
 * a batch of its orders (struct lord, in the order they first come) and
 * their lines (struct lline, chained per order in the order of the file).
 * Every LINES_STAGE rows, at each --batch commit and at the end of each
 * file the batch is written (imp_lines_flush), order by order:
 *  - orders not stored yet are inserted LINES_MULTI at a time by one
 *    INSERT OR IGNORE ... RETURNING (while most orders of the file are
 *    new); the others are looked up and updated when the file gives
 *    something else (amount the sum of the lines, ordered_at the earliest
 *    line, customer, currency and status those of the first line,
 *    purchase from ordstat_class());
 *  - the lines of each order are numbered 1, 2, ... in the order of the
 *    file, compared with the stored ones (updated in place when they
 *    differ), and new ones inserted LINES_MULTI at a time;
 *  - products are kept in memory with their stored id: the latest line
 *    (by time; the later one of the file among lines of the same time)
 *    names them, a line without a name or category keeping the one the
 *    product had.
 * No staging table and no set-based pass over the batch: a line costs a
 * hash lookup and a share of one multi-row INSERT (crm-import lines of 5M
 * lines: 0.87x sqlite3's .import plus the GROUP BY that builds the
 * orders, bench/lines.sh).
 *
 * An order begun earlier in the file (a bitmap of the ids written: lines
 * of an order split between two batches, or apart in the file) keeps its
 * customer, currency and status and adds its lines after those written,
 * so its amount is always the sum of the file's lines. Each file is
 * complete for the orders it names: the same file given twice in one run
 * changes nothing either. The stored lines of an order past the file's
 * are deleted at the end of the file, once no more can come (with
 * --batch, commits before it may still hold them, never in the amount).
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

/* new lines inserted by one statement */
#define LINES_MULTI 64
/* lines held in memory before they are written */
#define LINES_STAGE 50000
/* products kept in memory between batches, at most */
#define PROD_CACHE_MAX 200000

/* a line of the batch; strings are offsets in the batch's arena */
struct lline {
	uint32_t ord;           /* its order: index in ords */
	uint32_t next;          /* the order's next line in the batch + 1, or 0 */
	size_t sku, name, cat;  /* arena offsets + 1 (0: none) */
	char t[20];
	double qty;
	int64_t price, amount;
	long ln;                /* line of the file */
};

/* an order of the batch, as its lines in the file give it */
struct lord {
	size_t ext, status;     /* arena offsets (+ 1 for status: 0 none) */
	uint32_t first, last;   /* its lines (index + 1) */
	uint32_t n;
	int64_t cid, amt;
	int64_t oid;            /* inserted as a new order with this id, or 0 */
	char t0[20];            /* its earliest line */
	char cur[4];
};

/* a product: as stored, with what the lines written so far changed */
struct lprod {
	char *sku, *name, *cat;
	int64_t id;
	char t[20];
	int dirty;
};

struct imp_lines {
	sqlite3_stmt *order, *pupsert, *pfind;
	sqlite3_stmt *o_find, *o_ins, *o_upd, *l_find, *l_ins, *l_upd, *l_max, *l_del;
	sqlite3_stmt *p_find, *p_ins, *p_upd;
	/* the batch */
	struct lline *lines;
	size_t nlines, lcap;
	struct lord *ords;
	size_t nords, ocap;
	uint32_t *omap;         /* hash of ords by ext (index + 1) */
	size_t omapcap;
	struct sb arena;
	/* products of the run */
	struct lprod *ptab;
	size_t pcap, pcount;
	/* the file: orders held back (a line rejected), by external id */
	char **bad;
	size_t badcap, nbad;
	/* the file: orders written so far (a bitmap by id), and those whose
	 * stored lines past the file's are to be deleted at its end */
	unsigned char *touched;
	size_t tbytes;
	struct lextra { int64_t oid; uint32_t n; } *extra;
	size_t xcap, nx;
	int insert_first;       /* the last order was new: try inserting first */
	/* new lines not yet inserted: LINES_MULTI at a time, by one statement
	 * (a statement's cursors opened once for them all) */
	struct pline { int64_t oid, line, pid, price, amount; double qty; } pend[LINES_MULTI];
	size_t npend;
	sqlite3_stmt *l_multi, *o_multi;
	struct sb status;       /* write_order: the status an order gets */
	/* the row read last */
	struct sb prev;         /* its order id */
	int64_t prev_cid;       /* ... its customer */
	char prev_cur[4];       /* ... its currency */
};

static void prod_clear(struct imp_lines *L);

void imp_lines_prepare(struct imp *im)
{
	sqlite3 *db = im->db;
	struct imp_lines *L = xcalloc(1, sizeof(*L));

	/* with the index rebuild at the end, a 5M-line import stays under
	 * 100 MiB */
	db_exec(db, "PRAGMA cache_size = -40960");
	sb_init(&L->prev);
	sb_init(&L->arena);
	sb_init(&L->status);
	L->order = db_prepare(db, "SELECT customer_id, ordered_at, currency FROM orders"
			      " WHERE external_id = ?1");
	im->lines = L;
}

/* A statement of head, n times row (separated by ", ") and tail. */
static sqlite3_stmt *multi_stmt(sqlite3 *db, const char *head, const char *row, int n,
				const char *tail)
{
	struct sb q = SB_INIT;
	sqlite3_stmt *st;

	sb_adds(&q, head);
	for (int i = 0; i < n; i++)
		sb_addf(&q, "%s%s", i ? ", " : "", row);
	sb_adds(&q, tail);
	st = db_prepare(db, q.buf);
	sb_free(&q);
	return st;
}

/* An INSERT of n order lines. */
static sqlite3_stmt *lines_stmt(sqlite3 *db, int n)
{
	return multi_stmt(db, "INSERT INTO order_lines(order_id, line, product_id, quantity,"
			  " unit_price, amount) VALUES ", "(?, ?, ?, ?, ?, ?)", n, "");
}

static void lines_statements(struct imp *im)
{
	struct imp_lines *L = im->lines;
	sqlite3 *db = im->db;

	if (L->o_find)
		return;
	L->o_find = db_prepare(db, "SELECT id, customer_id, ordered_at, amount, currency, status,"
			       " purchase FROM orders WHERE external_id = ?1");
	L->o_ins = db_prepare(db, "INSERT OR IGNORE INTO orders(external_id, customer_id,"
			      " ordered_at, amount, currency, status, purchase)"
			      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
	L->o_upd = db_prepare(db, "UPDATE orders SET customer_id = ?2, ordered_at = ?3,"
			      " amount = ?4, currency = ?5, status = ?6, purchase = ?7 WHERE id = ?1");
	L->l_find = db_prepare(db, "SELECT line, product_id, quantity, unit_price, amount"
			       " FROM order_lines WHERE order_id = ?1 AND line > ?2 ORDER BY line");
	L->l_ins = lines_stmt(db, 1);
	L->l_upd = db_prepare(db, "UPDATE order_lines SET product_id = ?3, quantity = ?4,"
			      " unit_price = ?5, amount = ?6 WHERE order_id = ?1 AND line = ?2");
	L->l_max = db_prepare(db, "SELECT coalesce(max(line), 0) FROM order_lines"
			      " WHERE order_id = ?1");
	L->l_multi = lines_stmt(db, LINES_MULTI);
	L->l_del = db_prepare(db, "DELETE FROM order_lines WHERE order_id = ?1 AND line > ?2");
	L->p_find = db_prepare(db, "SELECT id, name, category, updated_at FROM products"
			       " WHERE sku = ?1");
	L->p_ins = db_prepare(db, "INSERT INTO products(sku, name, category, updated_at)"
			      " VALUES (?1, ?2, ?3, ?4)");
	L->p_upd = db_prepare(db, "UPDATE products SET name = ?2, category = ?3, updated_at = ?4"
			      " WHERE id = ?1");
}

static void bad_clear(struct imp_lines *L)
{
	for (size_t i = 0; i < L->badcap; i++) {
		free(L->bad[i]);
		L->bad[i] = NULL;
	}
	L->nbad = 0;
}

void imp_lines_close(struct imp *im)
{
	struct imp_lines *L = im->lines;

	if (!L)
		return;
	sqlite3_stmt *sts[] = { L->order, L->pupsert, L->pfind, L->o_find, L->o_ins, L->o_upd,
				L->l_find, L->l_ins, L->l_upd, L->l_max, L->l_del, L->p_find,
				L->p_ins, L->p_upd, L->l_multi, L->o_multi };
	for (size_t i = 0; i < ARRAY_SIZE(sts); i++)
		sqlite3_finalize(sts[i]);
	prod_clear(L);
	free(L->ptab);
	bad_clear(L);
	free(L->bad);
	free(L->lines);
	free(L->ords);
	free(L->omap);
	free(L->touched);
	free(L->extra);
	sb_free(&L->arena);
	sb_free(&L->status);
	sb_free(&L->prev);
	free(L);
	im->lines = NULL;
}

/* ---- hashing ---- */

static size_t str_hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return (size_t)(h ^ (h >> 29));
}

static const char *arena_str(const struct imp_lines *L, size_t off)
{
	return L->arena.buf + off;
}

/* s[0..n) into the arena; its offset */
static size_t arena_add(struct imp_lines *L, const char *s, size_t n)
{
	size_t off = L->arena.len;

	sb_add(&L->arena, s, n);
	sb_addc(&L->arena, 0);
	return off;
}

static size_t arena_opt(struct imp_lines *L, const char *s)
{
	return s ? arena_add(L, s, strlen(s)) + 1 : 0;
}

static const char *arena_optstr(const struct imp_lines *L, size_t off1)
{
	return off1 ? arena_str(L, off1 - 1) : NULL;
}

/* ---- orders held back in the file ---- */

static char **bad_slot(struct imp_lines *L, const char *ext, size_t n)
{
	size_t mask = L->badcap - 1, h = str_hash(ext, n) & mask;

	while (L->bad[h] && !(strlen(L->bad[h]) == n && !memcmp(L->bad[h], ext, n)))
		h = (h + 1) & mask;
	return &L->bad[h];
}

static void bad_add(struct imp_lines *L, const char *ext, size_t n)
{
	char **e;

	if ((L->nbad + 1) * 2 > L->badcap) {
		size_t cap = L->badcap ? L->badcap * 2 : 64;
		char **old = L->bad;
		size_t ocap = L->badcap;
		L->bad = xcalloc(cap, sizeof(*L->bad));
		L->badcap = cap;
		for (size_t i = 0; i < ocap; i++)
			if (old[i])
				*bad_slot(L, old[i], strlen(old[i])) = old[i];
		free(old);
	}
	e = bad_slot(L, ext, n);
	if (!*e) {
		char *s = xmalloc(n + 1);
		memcpy(s, ext, n);
		s[n] = 0;
		*e = s;
		L->nbad++;
	}
}

static int is_bad(struct imp_lines *L, const char *ext, size_t n)
{
	return L->nbad && *bad_slot(L, ext, n);
}

/* ---- the batch's orders, by external id ---- */

static uint32_t *ord_slot(struct imp_lines *L, const char *ext, size_t n)
{
	size_t mask = L->omapcap - 1, h = str_hash(ext, n) & mask;

	while (L->omap[h]) {
		const char *s = arena_str(L, L->ords[L->omap[h] - 1].ext);
		if (strlen(s) == n && !memcmp(s, ext, n))
			break;
		h = (h + 1) & mask;
	}
	return &L->omap[h];
}

/* The batch's order of ext, added when new. */
static struct lord *ord_get(struct imp_lines *L, const char *ext, size_t n, uint32_t *idx)
{
	uint32_t *slot;

	if ((L->nords + 1) * 2 > L->omapcap) {
		size_t cap = L->omapcap ? L->omapcap * 2 : 1024;
		free(L->omap);
		L->omap = xcalloc(cap, sizeof(*L->omap));
		L->omapcap = cap;
		for (size_t i = 0; i < L->nords; i++) {
			const char *s = arena_str(L, L->ords[i].ext);
			*ord_slot(L, s, strlen(s)) = (uint32_t)i + 1;
		}
	}
	slot = ord_slot(L, ext, n);
	if (!*slot) {
		if (L->nords == L->ocap) {
			L->ocap = L->ocap ? L->ocap * 2 : 1024;
			L->ords = xrealloc(L->ords, L->ocap * sizeof(*L->ords));
		}
		struct lord *o = &L->ords[L->nords];
		memset(o, 0, sizeof(*o));
		o->ext = arena_add(L, ext, n);
		*slot = (uint32_t)++L->nords;
	}
	*idx = *slot - 1;
	return &L->ords[*slot - 1];
}

/* ---- products: those of the run in memory, with the stored id ---- */

static struct lprod *prod_slot(struct lprod *tab, size_t cap, const char *sku)
{
	size_t mask = cap - 1, h = str_hash(sku, strlen(sku)) & mask;

	while (tab[h].sku && strcmp(tab[h].sku, sku))
		h = (h + 1) & mask;
	return &tab[h];
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static int str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
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

/*
 * The id of the product sku, which a written line of time t names with
 * name and cat (NULL: none): the latest line (the later one of the file
 * among lines of the same time) names it; a line without a name or
 * category keeps the one it had.
 */
static int64_t prod_line(struct imp *im, const char *sku, const char *name, const char *cat,
			 const char *t)
{
	struct imp_lines *L = im->lines;
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
		sqlite3_bind_text(L->p_find, 1, sku, -1, SQLITE_STATIC);
		if (db_step_row(im->db, L->p_find)) {
			e->id = sqlite3_column_int64(L->p_find, 0);
			e->name = dup_or_null((const char *)sqlite3_column_text(L->p_find, 1));
			e->cat = dup_or_null((const char *)sqlite3_column_text(L->p_find, 2));
			snprintf(e->t, sizeof(e->t), "%s",
				 (const char *)sqlite3_column_text(L->p_find, 3));
			sqlite3_reset(L->p_find);
			e->sku = xstrdup(sku);
			L->pcount++;
			/* the line may name it later than the stored name: below */
		} else {
			sqlite3_reset(L->p_find);
			sqlite3_bind_text(L->p_ins, 1, sku, -1, SQLITE_STATIC);
			db_bind_text(L->p_ins, 2, name, -1);
			db_bind_text(L->p_ins, 3, cat, -1);
			sqlite3_bind_text(L->p_ins, 4, t, -1, SQLITE_STATIC);
			db_step_done(im->db, L->p_ins);
			sqlite3_reset(L->p_ins);
			e->id = sqlite3_last_insert_rowid(im->db);
			e->name = dup_or_null(name);
			e->cat = dup_or_null(cat);
			snprintf(e->t, sizeof(e->t), "%s", t);
			e->sku = xstrdup(sku);
			L->pcount++;
			return e->id;
		}
	}
	if (strcmp(t, e->t) < 0)
		return e->id;
	if (!name)
		name = e->name;
	if (!cat)
		cat = e->cat;
	if (!strcmp(t, e->t) && str_eq(name, e->name) && str_eq(cat, e->cat))
		return e->id;
	if (!str_eq(name, e->name)) {
		char *s = dup_or_null(name);
		free(e->name);
		e->name = s;
	}
	if (!str_eq(cat, e->cat)) {
		char *s = dup_or_null(cat);
		free(e->cat);
		e->cat = s;
	}
	snprintf(e->t, sizeof(e->t), "%s", t);
	e->dirty = 1;
	return e->id;
}

/* The products the batch changed, written; past PROD_CACHE_MAX, forgotten. */
static void prod_write(struct imp *im)
{
	struct imp_lines *L = im->lines;

	for (size_t i = 0; i < L->pcap; i++) {
		struct lprod *e = &L->ptab[i];
		if (!e->sku || !e->dirty)
			continue;
		sqlite3_bind_int64(L->p_upd, 1, e->id);
		db_bind_text(L->p_upd, 2, e->name, -1);
		db_bind_text(L->p_upd, 3, e->cat, -1);
		sqlite3_bind_text(L->p_upd, 4, e->t, -1, SQLITE_STATIC);
		db_step_done(im->db, L->p_upd);
		sqlite3_reset(L->p_upd);
		e->dirty = 0;
	}
	if (L->pcount > PROD_CACHE_MAX)
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
	if (ext)
		bad_add(im->lines, ext, n);
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

	uint32_t oi;
	struct lord *o = ord_get(L, ext, next, &oi);
	struct lline *l;
	if (L->nlines == L->lcap) {
		L->lcap = L->lcap ? L->lcap * 2 : 4096;
		L->lines = xrealloc(L->lines, L->lcap * sizeof(*L->lines));
	}
	l = &L->lines[L->nlines];
	l->ord = oi;
	l->next = 0;
	l->sku = arena_opt(L, imp_val(im, F_SKU));
	l->name = arena_opt(L, imp_val(im, F_PRODUCT));
	l->cat = arena_opt(L, imp_val(im, F_CATEGORY));
	snprintf(l->t, sizeof(l->t), "%s", imp_val(im, F_TIME));
	l->qty = qty;
	l->price = price;
	l->amount = amount;
	l->ln = im->rec->line;
	if (!o->n) {
		/* the order's first line gives its customer, currency and status */
		o->first = (uint32_t)L->nlines + 1;
		o->cid = cid;
		memcpy(o->cur, code, sizeof(o->cur));
		o->status = arena_opt(L, imp_val(im, F_STATUS));
		memcpy(o->t0, l->t, sizeof(o->t0));
	} else {
		L->lines[o->last - 1].next = (uint32_t)L->nlines + 1;
		if (strcmp(l->t, o->t0) < 0)
			memcpy(o->t0, l->t, sizeof(o->t0));
	}
	o->last = (uint32_t)L->nlines + 1;
	o->n++;
	o->amt += amount;
	L->nlines++;
	if (!same) {
		sb_reset(&L->prev);
		sb_add(&L->prev, ext, next);
		L->prev_cid = cid;
		memcpy(L->prev_cur, code, sizeof(L->prev_cur));
	}
	if (L->nlines >= LINES_STAGE)
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

/* ---- writing the batch ---- */

/* orders written in this file: a bitmap by id (ids outside it are kept
 * with the extras, n = UINT32_MAX meaning "no extra lines") */
#define TOUCH_MAX ((int64_t)1 << 32)

static struct lextra *extra_slot(struct imp_lines *L, int64_t oid)
{
	size_t mask = L->xcap - 1, h = (size_t)((uint64_t)oid * 0x9E3779B97F4A7C15ull >> 20) & mask;

	while (L->extra[h].oid && L->extra[h].oid != oid)
		h = (h + 1) & mask;
	return &L->extra[h];
}

static struct lextra *extra_find(struct imp_lines *L, int64_t oid)
{
	struct lextra *e;

	if (!L->nx)
		return NULL;
	e = extra_slot(L, oid);
	return e->oid ? e : NULL;
}

static struct lextra *extra_add(struct imp_lines *L, int64_t oid)
{
	struct lextra *e;

	if ((L->nx + 1) * 2 > L->xcap) {
		size_t cap = L->xcap ? L->xcap * 2 : 256;
		struct lextra *old = L->extra;
		size_t ocap = L->xcap;
		L->extra = xcalloc(cap, sizeof(*L->extra));
		L->xcap = cap;
		for (size_t i = 0; i < ocap; i++)
			if (old[i].oid)
				*extra_slot(L, old[i].oid) = old[i];
		free(old);
	}
	e = extra_slot(L, oid);
	if (!e->oid) {
		e->oid = oid;
		e->n = UINT32_MAX;
		L->nx++;
	}
	return e;
}

static int touched(struct imp_lines *L, int64_t oid)
{
	if (oid > 0 && oid < TOUCH_MAX)
		return (size_t)(oid >> 3) < L->tbytes && (L->touched[oid >> 3] >> (oid & 7) & 1);
	return extra_find(L, oid) != NULL;
}

static void touch(struct imp_lines *L, int64_t oid)
{
	if (oid > 0 && oid < TOUCH_MAX)
		bitmap_set(&L->touched, &L->tbytes, (uint64_t)oid);
	else
		extra_add(L, oid);
}

/* a stored line of an order */
struct sline {
	int64_t line, pid, price, amount;
	double qty;
};

/* The new lines not yet inserted, inserted: by one statement when there
 * are LINES_MULTI of them. */
static void lines_insert(struct imp *im)
{
	struct imp_lines *L = im->lines;
	int multi = L->npend == LINES_MULTI;

	for (size_t i = 0; i < L->npend; i++) {
		const struct pline *p = &L->pend[i];
		sqlite3_stmt *st = multi ? L->l_multi : L->l_ins;
		int k = multi ? 6 * (int)i : 0;
		sqlite3_bind_int64(st, k + 1, p->oid);
		sqlite3_bind_int64(st, k + 2, p->line);
		sqlite3_bind_int64(st, k + 3, p->pid);
		sqlite3_bind_double(st, k + 4, p->qty);
		sqlite3_bind_int64(st, k + 5, p->price);
		sqlite3_bind_int64(st, k + 6, p->amount);
		if (!multi || i + 1 == L->npend) {
			db_step_done(im->db, st);
			sqlite3_reset(st);
		}
	}
	L->npend = 0;
}

/* An INSERT OR IGNORE of n orders returning the ids of those inserted. */
static sqlite3_stmt *orders_stmt(sqlite3 *db, size_t n)
{
	return multi_stmt(db, "INSERT OR IGNORE INTO orders(external_id, customer_id, ordered_at,"
			  " amount, currency, status, purchase) VALUES ", "(?, ?, ?, ?, ?, ?, ?)",
			  (int)n, " RETURNING external_id, id");
}

/*
 * The orders ords[from..to) not held back, inserted by one statement
 * when they are new (their ids in oid); the others stay for write_order.
 * While most orders of the file are new; else each is looked up.
 */
static void orders_insert(struct imp *im, const unsigned char *skip, size_t from, size_t to)
{
	struct imp_lines *L = im->lines;
	size_t n = 0, got = 0;
	sqlite3_stmt *st;
	int k = 0;

	if (!L->insert_first)
		return;
	for (size_t i = from; i < to; i++)
		n += !skip[i];
	if (!n)
		return;
	if (n == LINES_MULTI) {
		if (!L->o_multi)
			L->o_multi = orders_stmt(im->db, LINES_MULTI);
		st = L->o_multi;
	} else {
		st = orders_stmt(im->db, n);
	}
	for (size_t i = from; i < to; i++) {
		struct lord *o = &L->ords[i];
		const char *status = arena_optstr(L, o->status);
		if (skip[i])
			continue;
		if (!status)
			status = "completed";
		sqlite3_bind_text(st, ++k, arena_str(L, o->ext), -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, ++k, o->cid);
		sqlite3_bind_text(st, ++k, o->t0, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, ++k, o->amt);
		sqlite3_bind_text(st, ++k, o->cur, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, ++k, status, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, ++k, ordstat_class(status, o->amt, NULL));
	}
	while (db_step_row(im->db, st)) {
		const char *ext = (const char *)sqlite3_column_text(st, 0);
		uint32_t *slot = ord_slot(L, ext, strlen(ext));
		if (*slot) {
			L->ords[*slot - 1].oid = sqlite3_column_int64(st, 1);
			got++;
		}
	}
	if (st == L->o_multi) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	} else {
		sqlite3_finalize(st);
	}
	L->insert_first = got * 2 >= n;
}

/* The order o of the batch, with its lines: inserted, or the stored one
 * updated (and its lines compared) when the file gives something else. */
static void write_order(struct imp *im, struct lord *o, struct sline **sl, size_t *slcap)
{
	struct imp_lines *L = im->lines;
	sqlite3 *db = im->db;
	const char *ext = arena_str(L, o->ext), *status = arena_optstr(L, o->status);
	const char *st = status ? status : "completed";
	int64_t oid = 0, cid = o->cid, amt = o->amt, old_cid = 0;
	int64_t nline = 0, prior_n = 0;
	size_t ns = 0;
	char t0[20], cur[4];
	int isnew = 0;

	memcpy(t0, o->t0, sizeof(t0));
	memcpy(cur, o->cur, sizeof(cur));
	/* a file of new orders is inserted without looking each up first */
	if (o->oid) {
		oid = o->oid;
		isnew = 1;
		imp_stats_dirty(im, cid);
	}
	for (int pass = 1; pass < 3 && !oid; pass++) {
		if (pass == 1) {
			sqlite3_stmt *f = L->o_find;
			sqlite3_bind_text(f, 1, ext, -1, SQLITE_STATIC);
			if (db_step_row(db, f)) {
				const char *ot = (const char *)sqlite3_column_text(f, 2);
				const char *oc = (const char *)sqlite3_column_text(f, 4);
				const char *os = (const char *)sqlite3_column_text(f, 5);
				oid = sqlite3_column_int64(f, 0);
				old_cid = sqlite3_column_int64(f, 1);
				int again = touched(L, oid);
				int64_t oamt = sqlite3_column_int64(f, 3);
				int opurchase = sqlite3_column_int(f, 6);
				if (again) {
					/* an order begun before in the file keeps its
					 * customer, currency and status */
					cid = old_cid;
					snprintf(cur, sizeof(cur), "%s", oc ? oc : "");
					amt = oamt + o->amt;
					if (ot && strcmp(ot, t0) < 0)
						snprintf(t0, sizeof(t0), "%s", ot);
				}
				/* the status the order gets, copied from the row */
				sb_reset(&L->status);
				sb_adds(&L->status, again || !status ? (os ? os : "completed") : status);
				st = L->status.buf;
				int cls = ordstat_class(st, amt, NULL);
				int changed = old_cid != cid || !ot || strcmp(ot, t0) || oamt != amt ||
					      !oc || strcmp(oc, cur) || !os || strcmp(os, st) ||
					      sqlite3_column_type(f, 6) == SQLITE_NULL || opurchase != cls;
				sqlite3_reset(f);
				if (changed) {
					sqlite3_stmt *u = L->o_upd;
					sqlite3_bind_int64(u, 1, oid);
					sqlite3_bind_int64(u, 2, cid);
					sqlite3_bind_text(u, 3, t0, -1, SQLITE_STATIC);
					sqlite3_bind_int64(u, 4, amt);
					sqlite3_bind_text(u, 5, cur, -1, SQLITE_STATIC);
					sqlite3_bind_text(u, 6, st, -1, SQLITE_STATIC);
					sqlite3_bind_int(u, 7, cls);
					db_step_done(db, u);
					sqlite3_reset(u);
					imp_stats_dirty(im, cid);
					imp_stats_dirty(im, old_cid);
				}
				if (again) {
					struct lextra *x = extra_find(L, oid);
					if (x && x->n != UINT32_MAX) {
						prior_n = x->n;
					} else {
						lines_insert(im);
						sqlite3_bind_int64(L->l_max, 1, oid);
						if (db_step_row(db, L->l_max))
							prior_n = sqlite3_column_int64(L->l_max, 0);
						sqlite3_reset(L->l_max);
					}
				}
			} else {
				sqlite3_reset(f);
			}
			continue;
		}
		sqlite3_stmt *in = L->o_ins;
		sqlite3_bind_text(in, 1, ext, -1, SQLITE_STATIC);
		sqlite3_bind_int64(in, 2, cid);
		sqlite3_bind_text(in, 3, t0, -1, SQLITE_STATIC);
		sqlite3_bind_int64(in, 4, amt);
		sqlite3_bind_text(in, 5, cur, -1, SQLITE_STATIC);
		sqlite3_bind_text(in, 6, st, -1, SQLITE_STATIC);
		sqlite3_bind_int(in, 7, ordstat_class(st, amt, NULL));
		db_step_done(db, in);
		sqlite3_reset(in);
		if (sqlite3_changes(db)) {
			oid = sqlite3_last_insert_rowid(db);
			isnew = 1;
			imp_stats_dirty(im, cid);
		} else if (pass == 2) {
			crm_die(1, "%s: order %s: neither found nor inserted", im->fname, ext);
		}
	}
	if (isnew)
		L->insert_first = 1;

	/* the stored lines after those the file gave the order so far */
	if (!isnew) {
		lines_insert(im);
		sqlite3_stmt *f = L->l_find;
		sqlite3_bind_int64(f, 1, oid);
		sqlite3_bind_int64(f, 2, prior_n);
		while (db_step_row(db, f)) {
			if (ns == *slcap) {
				*slcap = *slcap ? *slcap * 2 : 64;
				*sl = xrealloc(*sl, *slcap * sizeof(**sl));
			}
			struct sline *s = &(*sl)[ns++];
			s->line = sqlite3_column_int64(f, 0);
			s->pid = sqlite3_column_int64(f, 1);
			s->qty = sqlite3_column_double(f, 2);
			s->price = sqlite3_column_int64(f, 3);
			s->amount = sqlite3_column_int64(f, 4);
		}
		sqlite3_reset(f);
	}
	nline = prior_n;
	size_t k = 0;
	for (uint32_t i = o->first; i; i = L->lines[i - 1].next) {
		struct lline *l = &L->lines[i - 1];
		int64_t pid = prod_line(im, arena_optstr(L, l->sku), arena_optstr(L, l->name),
					arena_optstr(L, l->cat), l->t);
		nline++;
		while (k < ns && (*sl)[k].line < nline)
			k++;
		if (k < ns && (*sl)[k].line == nline) {
			struct sline *s = &(*sl)[k++];
			if (s->pid == pid && s->qty == l->qty && s->price == l->price &&
			    s->amount == l->amount) {
				im->st.unchanged++;
				continue;
			}
			sqlite3_stmt *u = L->l_upd;
			sqlite3_bind_int64(u, 1, oid);
			sqlite3_bind_int64(u, 2, nline);
			sqlite3_bind_int64(u, 3, pid);
			sqlite3_bind_double(u, 4, l->qty);
			sqlite3_bind_int64(u, 5, l->price);
			sqlite3_bind_int64(u, 6, l->amount);
			db_step_done(db, u);
			sqlite3_reset(u);
			im->st.updated++;
			continue;
		}
		struct pline *p = &L->pend[L->npend++];
		p->oid = oid;
		p->line = nline;
		p->pid = pid;
		p->qty = l->qty;
		p->price = l->price;
		p->amount = l->amount;
		if (L->npend == LINES_MULTI)
			lines_insert(im);
		im->st.inserted++;
	}
	/* stored lines past the file's go when the file is read (not
	 * before: the order's lines may come apart) */
	struct lextra *x = extra_find(L, oid);
	while (k < ns && (*sl)[k].line <= nline)
		k++;
	if (k < ns || (x && x->n != UINT32_MAX)) {
		x = extra_add(L, oid);
		x->n = (uint32_t)nline;
	}
	touch(L, oid);
}

/* The lines of orders held back: rejected (no record text: the row was
 * read before its order was known to be bad). Returns whether any was. */
static int hold_back(struct imp *im, unsigned char *skip)
{
	struct imp_lines *L = im->lines;
	struct rec fake;
	struct sb why = SB_INIT;
	int any = 0;

	memset(&fake, 0, sizeof(fake));
	for (size_t i = 0; i < L->nords; i++) {
		const char *ext = arena_str(L, L->ords[i].ext);
		skip[i] = (unsigned char)is_bad(L, ext, strlen(ext));
		any |= skip[i];
	}
	for (size_t i = 0; any && i < L->nlines; i++) {
		const struct lline *l = &L->lines[i];
		if (!skip[l->ord])
			continue;
		const char *ext = arena_str(L, L->ords[l->ord].ext);
		fake.line = l->ln;
		fake.lines = 1;
		sb_reset(&why);
		sb_adds(&why, "order ");
		imp_quote_val(&why, F_ORDERID, ext, strlen(ext));
		sb_adds(&why, ": another line of the order was rejected; the order is kept as stored");
		imp_reject(im, &fake, why.buf);
	}
	sb_free(&why);
	return any;
}

void imp_lines_flush(struct imp *im, int final)
{
	struct imp_lines *L = im->lines;

	if (!L)
		return;
	if (L->nlines) {
		unsigned char *skip = xmalloc(L->nords);
		struct sline *sl = NULL;
		size_t slcap = 0;
		lines_statements(im);
		hold_back(im, skip);
		for (size_t i = 0; i < L->nords; i++) {
			if (i % LINES_MULTI == 0)
				orders_insert(im, skip, i,
					      i + LINES_MULTI < L->nords ? i + LINES_MULTI : L->nords);
			if (!skip[i])
				write_order(im, &L->ords[i], &sl, &slcap);
		}
		lines_insert(im);
		prod_write(im);
		free(sl);
		free(skip);
	}
	L->nlines = 0;
	L->nords = 0;
	if (L->omap)
		memset(L->omap, 0, L->omapcap * sizeof(*L->omap));
	sb_reset(&L->arena);
	sb_reset(&L->prev);
	if (!final)
		return;
	/* the file is read: the stored lines of its orders past those it
	 * gave them go */
	for (size_t i = 0; i < L->xcap; i++) {
		struct lextra *x = &L->extra[i];
		if (!x->oid || x->n == UINT32_MAX)
			continue;
		sqlite3_bind_int64(L->l_del, 1, x->oid);
		sqlite3_bind_int64(L->l_del, 2, x->n);
		db_step_done(im->db, L->l_del);
		sqlite3_reset(L->l_del);
	}
	if (L->extra)
		memset(L->extra, 0, L->xcap * sizeof(*L->extra));
	L->nx = 0;
	if (L->touched)
		memset(L->touched, 0, L->tbytes);
	bad_clear(L);
}
