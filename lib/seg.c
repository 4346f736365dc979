#include "seg.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "diag.h"
#include "expr.h"
#include "hash.h"
#include "norm.h"
#include "out.h"
#include "rec.h"
#include "util.h"
#include "who.h"

#define DEFAULT_FIELDS "id,email,phone,first_name"

/*
 * Where the rows of the output query come from: the customers c, joined
 * with a temporary table that restricts them (input rows, a sample, the
 * changes of a tracked segment), whether the expression still has to be
 * tested, and the order when no --order-by is given.
 */
struct src {
	const char *join;   /* "" or " JOIN temp.T t ON t.customer_id = c.id" */
	int test_expr;      /* AND (expr) in the WHERE clause */
	const char *order;  /* default ORDER BY */
	int with_change;    /* first column: t.change (entered/exited) */
};

static const struct src base_src = { "", 1, "c.id", 0 };

/* Appends name as a double-quoted SQL identifier. */
static void add_ident(struct sb *sql, const char *name)
{
	sb_addc(sql, '"');
	for (const char *p = name; *p; p++) {
		if (*p == '"')
			sb_addc(sql, '"');
		sb_addc(sql, *p);
	}
	sb_addc(sql, '"');
}

/* Appends the SQL of one output field with its name as the column alias.
 * Returns 0, or -1 after reporting an unknown or unavailable name. */
static int add_field(struct crm *crm, struct sb *sql, const char *name)
{
	struct sb v = SB_INIT;
	int rc = expr_field_sql(name, crm->now, &v);

	if (rc == -1)
		crm_error("unknown field \"%s\" (crm-segment --fields all lists them)", name);
	else if (rc == -2)
		crm_error("field \"%s\" is not available yet", name);
	if (rc < 0) {
		sb_free(&v);
		return -1;
	}
	sb_adds(sql, v.buf);
	sb_adds(sql, " AS ");
	add_ident(sql, name);
	sb_free(&v);
	return 0;
}

static int add_fields(struct crm *crm, struct sb *sql, const char *list)
{
	int n = 0;

	if (!strcmp(list, "all")) {
		struct expr_name en;
		for (size_t i = 0; expr_name_at(i, &en) == 0; i++) {
			if (en.is_function || !en.available)
				continue;
			if (n++)
				sb_adds(sql, ", ");
			if (add_field(crm, sql, en.name) < 0)
				return -1;
		}
		return 0;
	}
	for (const char *p = list; *p;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		const char *t = trim(p, &len);
		char *name = xstrndup(t, len);
		int rc = 0;

		if (*name) {
			if (n++)
				sb_adds(sql, ", ");
			rc = add_field(crm, sql, name);
		}
		free(name);
		if (rc < 0)
			return -1;
		p = comma ? comma + 1 : p + strlen(p);
	}
	if (!n) {
		crm_error("--fields names no field");
		return -1;
	}
	return 0;
}

static int add_order(struct crm *crm, struct sb *sql, const char *spec)
{
	const char *colon = strrchr(spec, ':');
	char *name = xstrndup(spec, colon ? (size_t)(colon - spec) : strlen(spec));
	struct sb v = SB_INIT;
	int desc = 0, rc;

	if (colon && !ascii_casecmp(colon + 1, "desc"))
		desc = 1;
	else if (colon && ascii_casecmp(colon + 1, "asc")) {
		crm_error("invalid --order-by \"%s\" (FIELD, FIELD:asc or FIELD:desc)", spec);
		free(name);
		return -1;
	}
	rc = expr_field_sql(name, crm->now, &v);
	if (rc < 0)
		crm_error("cannot order by \"%s\": %s", name,
			  rc == -1 ? "unknown field" : "not available yet");
	else
		sb_addf(sql, " ORDER BY %s %s NULLS LAST, c.id", v.buf, desc ? "DESC" : "ASC");
	sb_free(&v);
	free(name);
	return rc < 0 ? -1 : 0;
}

static void print_sql(const char *sql, const struct expr *e)
{
	struct sb p = SB_INIT;
	printf("%s;\n", sql);
	for (size_t i = 0; e && i < expr_nparams(e); i++) {
		sb_reset(&p);
		expr_param_text(e, i, &p);
		printf("-- ?%zu = %s\n", i + 1, p.buf);
	}
	sb_free(&p);
}

/* Prepares a statement that holds (or may hold) a compiled expression:
 * under the expression authorizer, and refused unless read-only. */
static sqlite3_stmt *prepare_guarded(struct crm *crm, const char *sql, const struct expr *e)
{
	sqlite3_stmt *st = NULL;
	int rc;

	expr_register(crm->db);
	sqlite3_set_authorizer(crm->db, expr_authorizer, NULL);
	rc = sqlite3_prepare_v2(crm->db, sql, -1, &st, NULL);
	sqlite3_set_authorizer(crm->db, NULL, NULL);
	if (rc != SQLITE_OK)
		crm_die(1, "%s: cannot run the expression: %s", crm->db_path, sqlite3_errmsg(crm->db));
	if (expr_check_readonly(st) < 0)
		crm_die(1, "refusing to run a statement that could write");
	if (e && expr_bind(e, st, 1) != SQLITE_OK)
		crm_die(1, "%s: %s", crm->db_path, sqlite3_errmsg(crm->db));
	return st;
}

static void step_error(struct crm *crm)
{
	crm_die(1, "%s: %s", crm->db_path, sqlite3_errmsg(crm->db));
}

/* "FROM customers c JOIN ... WHERE (expr) AND c.erased_at IS NULL" */
static void add_from(struct sb *sql, const struct src *s, const struct expr *e)
{
	/* the expression first: erased_at is the last column of the row, and
	 * most customers fail the expression before it is needed */
	sb_addf(sql, " FROM customers c%s WHERE ", s->join);
	if (e && s->test_expr)
		sb_addf(sql, "(%s) AND ", expr_sql(e));
	sb_adds(sql, "c.erased_at IS NULL");
}

/* ---- customers from an input file --------------------------------- */

struct input_ctx {
	struct crm *crm;
	sqlite3_stmt *ins;
	long n;
};

static void input_one(void *arg, int64_t id)
{
	struct input_ctx *c = arg;
	c->n++;
	sqlite3_bind_int64(c->ins, 1, id);
	db_step_done(c->crm->db, c->ins);
}

/* Reads the customers of path into temp.seg_input(seq, customer_id), in
 * input order and once each (who_read reports rows that name nobody).
 * Returns who_read's count of such rows, or -1 after a fatal error. */
static long load_input(struct crm *crm, const char *path)
{
	struct input_ctx c = { crm, NULL, 0 };
	long bad;

	db_exec(crm->db, "CREATE TEMP TABLE seg_input(seq INTEGER PRIMARY KEY,"
		" customer_id INTEGER NOT NULL UNIQUE)");
	c.ins = db_prepare(crm->db, "INSERT OR IGNORE INTO temp.seg_input(customer_id) VALUES (?)");
	bad = who_read(crm->db, path, input_one, &c);
	sqlite3_finalize(c.ins);
	if (bad == 0 && c.n == 0)
		crm_warn("%s: no customers in the input, so none match "
			 "(to query the whole base, do not redirect standard input, or use --no-input)",
			 strcmp(path, "-") ? path : "<stdin>");
	return bad;
}

/* ---- matching into a temporary table ------------------------------- */

/* Runs "SELECT c.id FROM <s> WHERE ... (expr)" and calls fn for each
 * match in the source's order; returns the number of matches. */
static long each_match(struct crm *crm, const struct src *s, const struct expr *e,
		       void (*fn)(void *, sqlite3_stmt *), void *arg)
{
	struct sb sql = SB_INIT;
	sqlite3_stmt *st;
	long n = 0;
	int rc;

	sb_adds(&sql, "SELECT c.id, c.external_id");
	add_from(&sql, s, e);
	sb_addf(&sql, " ORDER BY %s", s->order);
	st = prepare_guarded(crm, sql.buf, e);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		fn(arg, st);
		n++;
	}
	if (rc != SQLITE_DONE)
		step_error(crm);
	sqlite3_finalize(st);
	sb_free(&sql);
	return n;
}

struct ins_ctx {
	struct crm *crm;
	sqlite3_stmt *ins;
};

static void insert_match(void *arg, sqlite3_stmt *st)
{
	struct ins_ctx *c = arg;
	sqlite3_bind_int64(c->ins, 1, sqlite3_column_int64(st, 0));
	db_step_done(c->crm->db, c->ins);
}

/* ---- --sample ------------------------------------------------------ */

int seg_parse_sample(const char *s, struct seg_opts *o)
{
	size_t len = strlen(s);
	char *end;

	if (len && s[len - 1] == '%') {
		double p;
		errno = 0;
		p = strtod(s, &end);
		if (errno || end != s + len - 1 || end == s || !(p > 0 && p <= 100))
			return -1;
		o->sample_n = -1;
		o->sample_pct = p;
	} else {
		int64_t n;
		if (parse_int64(s, &n) < 0 || n < 0 || n > LONG_MAX)
			return -1;
		o->sample_n = (long)n;
	}
	o->sample = 1;
	return 0;
}

/* A 64-bit key per customer from the seed and the external id (FNV-1a,
 * then the splitmix64 finaliser): the same seed picks the same customers
 * in any copy of the base, whatever their row ids. */
static uint64_t sample_key(uint64_t seed, const unsigned char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ seed;
	for (size_t i = 0; i < len; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	h += 0x9e3779b97f4a7c15ULL;
	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
	h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
	return h ^ (h >> 31);
}

struct pick {
	uint64_t key;
	int64_t id;
	long seq;
};

struct pick_ctx {
	uint64_t seed;
	struct pick *v;
	size_t n, cap;
};

static void collect_pick(void *arg, sqlite3_stmt *st)
{
	struct pick_ctx *c = arg;
	int64_t id = sqlite3_column_int64(st, 0);
	const unsigned char *ext = sqlite3_column_text(st, 1);
	char buf[32];

	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 1024;
		c->v = xrealloc(c->v, c->cap * sizeof(*c->v));
	}
	if (!ext) {
		snprintf(buf, sizeof(buf), "#%" PRId64, id);
		ext = (const unsigned char *)buf;
	}
	c->v[c->n].key = sample_key(c->seed, ext, strlen((const char *)ext));
	c->v[c->n].id = id;
	c->v[c->n].seq = (long)c->n;
	c->n++;
}

static int by_key(const void *a, const void *b)
{
	const struct pick *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Fills temp.seg_pick(customer_id, seq) with the sample of the matches of
 * s; returns the new source. */
static struct src take_sample(struct crm *crm, const struct seg_opts *o, const struct src *s,
			      const struct expr *e)
{
	struct pick_ctx c = { .seed = o->seed };
	sqlite3_stmt *ins;
	size_t want;

	each_match(crm, s, e, collect_pick, &c);
	if (o->sample_n >= 0)
		want = (size_t)o->sample_n;
	else
		want = (size_t)floor((double)c.n * o->sample_pct / 100.0 + 0.5);
	if (want > c.n)
		want = c.n;
	if (c.n)
		qsort(c.v, c.n, sizeof(*c.v), by_key);
	db_exec(crm->db, "CREATE TEMP TABLE seg_pick(customer_id INTEGER PRIMARY KEY, seq INTEGER)");
	ins = db_prepare(crm->db, "INSERT INTO temp.seg_pick VALUES (?, ?)");
	for (size_t i = 0; i < want; i++) {
		sqlite3_bind_int64(ins, 1, c.v[i].id);
		sqlite3_bind_int64(ins, 2, c.v[i].seq);
		db_step_done(crm->db, ins);
	}
	sqlite3_finalize(ins);
	crm_info("sample of %zu of %zu matching customers, seed %" PRIu64, want, c.n, o->seed);
	free(c.v);
	return (struct src){ " JOIN temp.seg_pick t ON t.customer_id = c.id", 0, "t.seq", 0 };
}

/* ---- tracked segments ---------------------------------------------- */

static void exec_bound(sqlite3 *db, const char *sql, int64_t a, const char *t, int64_t b)
{
	sqlite3_stmt *st = db_prepare(db, sql);
	sqlite3_bind_int64(st, 1, a);
	if (t)
		db_bind_text(st, 2, t, -1);
	sqlite3_bind_int64(st, 3, b);
	db_step_done(db, st);
	sqlite3_finalize(st);
}

/*
 * The change between the current members of the saved segment and the
 * customers who match now, into temp.seg_change(customer_id, change);
 * with o->track also recorded as a new run. Returns 0, or an exit status.
 */
static int track(struct crm *crm, const struct seg_opts *o, const struct expr *e)
{
	char now[20];
	struct ins_ctx ic = { crm, NULL };
	int64_t sid, run = 0;
	long members;
	int64_t entered, exited;
	char *last = NULL;
	int first;

	int write = o->track && !crm->dry_run;

	norm_fmt_time(crm->now, now);
	if (write)
		db_begin(crm->db);
	sid = seg_id(crm, o->segment);
	{
		sqlite3_stmt *st = db_prepare(crm->db,
			"SELECT max(run_at) FROM segment_runs WHERE segment_id = ?");
		sqlite3_bind_int64(st, 1, sid);
		if (db_row(st) && sqlite3_column_text(st, 0))
			last = xstrdup((const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
	}
	first = !last;
	if (o->track) {
		if (last && strcmp(now, last) < 0) {
			crm_error("segment \"%s\" was last tracked at %s, after --now %s: "
				  "tracked runs must go forward in time", o->segment, last, now);
			free(last);
			if (write)
				db_rollback(crm->db);
			return 1;
		}
	}
	free(last);

	db_exec(crm->db, "CREATE TEMP TABLE seg_now(customer_id INTEGER PRIMARY KEY)");
	db_exec(crm->db, "CREATE TEMP TABLE seg_change(customer_id INTEGER PRIMARY KEY,"
		" change TEXT NOT NULL)");
	ic.ins = db_prepare(crm->db, "INSERT INTO temp.seg_now VALUES (?)");
	members = each_match(crm, &base_src, e, insert_match, &ic);
	sqlite3_finalize(ic.ins);

	exec_bound(crm->db,
		   "INSERT INTO temp.seg_change SELECT n.customer_id, 'entered' FROM temp.seg_now n"
		   " WHERE NOT EXISTS (SELECT 1 FROM segment_members m WHERE m.segment_id = ?1"
		   " AND m.customer_id = n.customer_id AND m.exited_at IS NULL)",
		   sid, NULL, 0);
	entered = sqlite3_changes(crm->db);
	exec_bound(crm->db,
		   "INSERT INTO temp.seg_change SELECT m.customer_id, 'exited' FROM segment_members m"
		   " WHERE m.segment_id = ?1 AND m.exited_at IS NULL"
		   " AND m.customer_id NOT IN (SELECT customer_id FROM temp.seg_now)",
		   sid, NULL, 0);
	exited = sqlite3_changes(crm->db);
	db_exec(crm->db, "DROP TABLE temp.seg_now");

	if (!o->track)
		return 0;
	if (write) {
		sqlite3_stmt *st = db_prepare(crm->db,
			"INSERT INTO segment_runs(segment_id, run_at, expr, members, entered, exited)"
			" VALUES (?, ?, ?, ?, ?, ?)");
		sqlite3_bind_int64(st, 1, sid);
		db_bind_text(st, 2, now, -1);
		db_bind_text(st, 3, o->expr, -1);
		sqlite3_bind_int64(st, 4, members);
		sqlite3_bind_int64(st, 5, entered);
		sqlite3_bind_int64(st, 6, exited);
		db_step_done(crm->db, st);
		sqlite3_finalize(st);
		run = sqlite3_last_insert_rowid(crm->db);
	}
	if (write) {
		exec_bound(crm->db,
			   "UPDATE segment_members SET exited_at = ?2, exited_run = ?3"
			   " WHERE segment_id = ?1 AND exited_at IS NULL AND customer_id IN"
			   " (SELECT customer_id FROM temp.seg_change WHERE change = 'exited')",
			   sid, now, run);
		exec_bound(crm->db,
			   "INSERT INTO segment_members(segment_id, customer_id, entered_at, entered_run)"
			   " SELECT ?1, customer_id, ?2, ?3 FROM temp.seg_change WHERE change = 'entered'",
			   sid, now, run);
		db_commit(crm->db);
	}
	crm_note("segment \"%s\"%s at %s: %ld members, %" PRId64 " entered, %" PRId64 " exited%s",
		 o->segment, crm->dry_run ? " not tracked (dry run)" : " tracked", now, members,
		 entered, exited, first && entered ? " (its first tracked run: every member entered)" : "");
	return 0;
}

/* ---- --why ---------------------------------------------------------- */

static void fmt_duration(int64_t s, struct sb *out)
{
	static const struct { const char *u; int64_t n; } units[] = {
		{ "d", 86400 }, { "h", 3600 }, { "m", 60 }, { "s", 1 },
	};
	int any = 0;

	if (s < 0) {
		sb_addc(out, '-');
		s = -s;
	}
	for (size_t i = 0; i < ARRAY_SIZE(units); i++)
		if (s >= units[i].n || (!any && units[i].n == 1)) {
			sb_addf(out, "%s%" PRId64 "%s", any ? " " : "", s / units[i].n, units[i].u);
			s %= units[i].n;
			any = 1;
		}
}

/* The value of a clause for a person: as SQLite gives it, durations in
 * d/h/m/s, booleans as yes/no, NULL as "null". */
static void fmt_value(sqlite3_stmt *st, int col, enum expr_type t, struct sb *out)
{
	int vt = sqlite3_column_type(st, col);

	if (vt == SQLITE_NULL)
		sb_adds(out, "null");
	else if (t == EXPR_DURATION && vt != SQLITE_TEXT)
		fmt_duration((int64_t)llround(sqlite3_column_double(st, col)), out);
	else if (t == EXPR_BOOL && vt == SQLITE_INTEGER)
		sb_adds(out, sqlite3_column_int64(st, col) ? "yes" : "no");
	else
		sb_adds(out, (const char *)sqlite3_column_text(st, col));
}

static const char *holds(sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return "no (null)";
	return sqlite3_column_int64(st, col) ? "yes" : "no";
}

static int why(struct crm *crm, const struct seg_opts *o, struct expr *e)
{
	struct who w;
	const char *reason;
	int64_t id;
	size_t nc = e ? expr_nclauses(e) : 0;
	struct sb sql = SB_INIT, v = SB_INIT;
	sqlite3_stmt *st;
	struct out *out;
	static const char *const cols[] = { "clause", "value", "holds" };
	int whole;

	who_init(&w, crm->db);
	id = who_find(&w, WHO_ANY, o->why, strlen(o->why), &reason);
	who_free(&w);
	if (!id) {
		crm_error("--why: %s", reason);
		return 1;
	}
	if (nc > 900)
		crm_die(1, "--why: the expression has %zu clauses, more than 900", nc);
	sb_addf(&sql, "SELECT %s", e ? expr_sql(e) : "1");
	for (size_t i = 0; i < nc; i++) {
		const struct expr_clause *c = expr_clause(e, i);
		sb_addf(&sql, ", (%s), %s", c->cond, c->value ? c->value : "NULL");
	}
	sb_addf(&sql, " FROM customers c WHERE c.id = ?%zu", (e ? expr_nparams(e) : 0) + 1);
	st = prepare_guarded(crm, sql.buf, e);
	sqlite3_bind_int64(st, (int)(e ? expr_nparams(e) : 0) + 1, id);
	if (!db_row(st))
		step_error(crm);

	out = out_new(stdout, crm->format);
	out_columns(out, 3, cols);
	/* the whole expression first; with its value when it is one clause */
	whole = nc == 1 && expr_clause(e, 0)->len == strlen(o->expr);
	if (whole && expr_clause(e, 0)->value)
		fmt_value(st, 2, expr_clause(e, 0)->type, &v);
	{
		struct out_val r[3] = {
			{ .t = OUT_TEXT, .s = o->expr && *o->expr ? o->expr : "(every customer)" },
			{ .t = OUT_TEXT, .s = v.len ? v.buf : "" },
			/* a single clause's own condition is the cheaper one to
			 * read: the whole may be a set query over the base */
			{ .t = OUT_TEXT, .s = holds(st, whole ? 1 : 0) },
		};
		for (int k = 0; k < 3; k++)
			r[k].len = strlen(r[k].s);
		out_row(out, r);
	}
	for (size_t i = 0; i < nc && !whole; i++) {
		const struct expr_clause *c = expr_clause(e, i);
		struct sb text = SB_INIT;
		struct out_val r[3];

		for (int d = 0; d <= c->depth; d++)
			sb_adds(&text, "  ");
		sb_adds(&text, c->text);
		sb_reset(&v);
		if (c->value)
			fmt_value(st, 2 + 2 * (int)i, c->type, &v);
		r[0] = (struct out_val){ .t = OUT_TEXT, .s = text.buf, .len = text.len };
		r[1] = (struct out_val){ .t = OUT_TEXT, .s = v.buf ? v.buf : "", .len = v.len };
		r[2] = (struct out_val){ .t = OUT_TEXT, .s = holds(st, 1 + 2 * (int)i) };
		r[2].len = strlen(r[2].s);
		out_row(out, r);
		sb_free(&text);
	}
	out_finish(out);
	sqlite3_finalize(st);
	sb_free(&sql);
	sb_free(&v);
	return 0;
}

/* ---- --format audience --------------------------------------------- */

/*
 * One hash per line: of the e-mail (as stored: trimmed, lower case) and of
 * the phone (E.164 with its "+"), for each matching customer. Nothing is
 * printed unless at least min_size customers have one, so that a tiny
 * audience cannot single out a person; lines are held back until then.
 */
static int audience(struct crm *crm, const struct seg_opts *o, sqlite3_stmt *st)
{
	struct sb held = SB_INIT;
	long people = 0;
	int rc, flowing = o->min_size <= 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char h[65];
		int any = 0;
		for (int col = 0; col < 2; col++) {
			const unsigned char *s = sqlite3_column_text(st, col);
			size_t n = (size_t)sqlite3_column_bytes(st, col);
			if (!s || !n)
				continue;
			if (o->hash == SEG_MD5)
				hash_md5_hex(s, n, h);
			else
				hash_sha256_hex(s, n, h);
			sb_adds(&held, h);
			sb_addc(&held, '\n');
			any = 1;
		}
		people += any;
		if (!flowing && people >= o->min_size)
			flowing = 1;
		if (flowing && held.len) {
			if (fwrite(held.buf, 1, held.len, stdout) != held.len)
				out_write_failed(stdout);
			sb_reset(&held);
		}
	}
	if (rc != SQLITE_DONE)
		step_error(crm);
	sb_free(&held);
	if (!flowing) {
		crm_error("the audience has %ld customer%s with an e-mail or phone, fewer than "
			  "--min-size %ld: refusing to print it (a small audience can identify people)",
			  people, people == 1 ? "" : "s", o->min_size);
		return 1;
	}
	if (fflush(stdout) != 0)
		out_write_failed(stdout);
	crm_note("audience of %ld customers", people);
	return 0;
}

/* ---- the main query ------------------------------------------------ */

static int output(struct crm *crm, const struct seg_opts *o, const struct src *s,
		  const struct expr *e)
{
	struct sb sql = SB_INIT;
	sqlite3_stmt *st = NULL;
	int rc, status = 0;

	if (o->count) {
		sb_adds(&sql, "SELECT count(*) AS count");
	} else if (o->audience) {
		sb_adds(&sql, "SELECT c.email, c.phone");
	} else {
		sb_adds(&sql, "SELECT ");
		if (s->with_change)
			sb_adds(&sql, "t.change AS change, ");
		if (add_fields(crm, &sql, o->fields ? o->fields : DEFAULT_FIELDS) < 0) {
			status = CRM_EXIT_USAGE;
			goto out;
		}
	}
	add_from(&sql, s, e);
	if (!o->count) {
		if (o->order_by) {
			if (add_order(crm, &sql, o->order_by) < 0) {
				status = CRM_EXIT_USAGE;
				goto out;
			}
		} else {
			sb_addf(&sql, " ORDER BY %s", s->order);
		}
		if (o->limit >= 0)
			sb_addf(&sql, " LIMIT %ld", o->limit);
	}
	if (o->show_sql) {
		print_sql(sql.buf, e);
		goto out;
	}

	st = prepare_guarded(crm, sql.buf, s->test_expr ? e : NULL);
	if (o->count) {
		/* a bare number, like grep -c and wc -l */
		if (!db_row(st))
			step_error(crm);
		printf("%lld\n", (long long)sqlite3_column_int64(st, 0));
		if (fflush(stdout) != 0)
			out_write_failed(stdout);
		goto out;
	}
	if (o->audience) {
		status = audience(crm, o, st);
		goto out;
	}
	struct out *out = out_new(stdout, crm->format);
	/* -f table: what the fields' numbers are (out.h); revenue sums the
	 * currencies as they are, so it has no one currency's decimals */
	static const char *const counts[] = {
		"orders", "points", "points_pending", "points_expiring_30d",
	}, *const money[] = { "revenue", "aov", "clv" }, *const rates[] = { "p_alive", "churn_risk" };
	for (size_t i = 0; i < ARRAY_SIZE(counts); i++)
		out_column_kind(out, counts[i], OUT_KIND_COUNT, NULL);
	for (size_t i = 0; i < ARRAY_SIZE(money); i++)
		out_column_kind(out, money[i], OUT_KIND_MONEY, NULL);
	for (size_t i = 0; i < ARRAY_SIZE(rates); i++)
		out_column_kind(out, rates[i], OUT_KIND_RATE, NULL);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		out_stmt_row(out, st);
	if (rc != SQLITE_DONE)
		step_error(crm);
	if (!out_has_columns(out)) {
		/* no rows: the header still says what the columns are */
		const char **names = xcalloc(sqlite3_column_count(st) + 1, sizeof(char *));
		for (int i = 0; i < sqlite3_column_count(st); i++)
			names[i] = sqlite3_column_name(st, i);
		out_columns(out, sqlite3_column_count(st), names);
		free(names);
	}
	out_finish(out);
out:
	sqlite3_finalize(st);
	sb_free(&sql);
	return status;
}

struct foreach_ctx {
	void (*fn)(void *, int64_t);
	void *arg;
};

static void foreach_one(void *arg, sqlite3_stmt *st)
{
	struct foreach_ctx *c = arg;
	c->fn(c->arg, sqlite3_column_int64(st, 0));
}

long seg_foreach(struct crm *crm, const char *name, void (*fn)(void *, int64_t), void *arg)
{
	struct foreach_ctx c = { fn, arg };
	struct expr_err err;
	struct expr *e;
	char *text = seg_load(crm, name);
	long n;

	if (!text)
		return -1;
	if (!*text) {
		e = NULL;
	} else if (!(e = expr_compile(text, crm->now, &err))) {
		crm_error("segment %s:%d:%d: %s", name, err.line, err.col, err.msg);
		free(text);
		return -1;
	}
	n = each_match(crm, &base_src, e, foreach_one, &c);
	expr_free(e);
	free(text);
	return n;
}

int seg_run(struct crm *crm, const struct seg_opts *o)
{
	struct expr *e = NULL;
	struct expr_err err;
	struct src s = base_src;
	int status = 0;

	if (o->expr && *o->expr) {
		e = expr_compile(o->expr, crm->now, &err);
		if (!e) {
			crm_error("%s:%d:%d: %s", o->label ? o->label : "expression",
				  err.line, err.col, err.msg);
			return CRM_EXIT_USAGE;
		}
	}
	if (o->show_sql) {
		status = output(crm, o, &s, e);
		goto out;
	}
	if (o->why) {
		status = why(crm, o, e);
		goto out;
	}
	if (o->track || o->entered || o->exited) {
		/* the changes: no expression to test, they are in seg_change */
		static const char *const joins[3] = {
			" JOIN temp.seg_change t ON t.customer_id = c.id AND t.change = 'entered'",
			" JOIN temp.seg_change t ON t.customer_id = c.id AND t.change = 'exited'",
			" JOIN temp.seg_change t ON t.customer_id = c.id",
		};
		if ((status = track(crm, o, e)) || (!o->entered && !o->exited))
			goto out;
		s = (struct src){ joins[o->entered && o->exited ? 2 : o->entered ? 0 : 1], 0,
				  "t.change, c.id", o->entered && o->exited };
		status = output(crm, o, &s, NULL);
		goto out;
	}
	if (o->input) {
		long bad = load_input(crm, o->input);
		if (bad < 0) {
			status = 1;
			goto out;
		}
		s = (struct src){ " JOIN temp.seg_input t ON t.customer_id = c.id", 1, "t.seq", 0 };
	}
	if (o->sample)
		s = take_sample(crm, o, &s, e);
	status = output(crm, o, &s, e);
out:
	expr_free(e);
	return status;
}
