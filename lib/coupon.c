/*
 * coupon.c - crm-import coupons: pools of promo codes (see coupon.h).
 *
 *   crm-import coupons POOL FILE...
 *       One code a line (a header line "code", blank lines, white space
 *       around a code and a UTF-8 BOM are allowed; case is kept). The
 *       files are one transaction: a code twice in the files, a code of
 *       another pool, or a line that is not a code is an error naming
 *       FILE:LINE, and nothing is written. Codes the pool has already are
 *       left as they are, so importing a file again changes nothing.
 *   crm-import coupons POOL --generate N --pattern WB-XXXX-XXXX
 *       N more codes of a generated pool (coupon_gen.c), printed on
 *       standard output (one a line, header "code") for the shop's
 *       checkout once they are committed.
 *   crm-import coupons POOL --verify CODE
 *       Whether CODE belongs to the pool: for a generated pool by its
 *       check characters and the secret alone, then what the base knows
 *       of it (free, assigned, redeemed).
 */
#include "coupon.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "diag.h"
#include "norm.h"
#include "util.h"

#define MAX_ERRORS 20
#define MAX_FILE (256u << 20)

int64_t coupon_pool_id(sqlite3 *db, const char *pool)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT id FROM coupon_pools WHERE name = ?");
	int64_t id = 0;

	db_bind_text(st, 1, pool, -1);
	if (db_row(st))
		id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return id;
}

int64_t coupon_pool_free(sqlite3 *db, int64_t pool_id)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT count(*) FROM coupons"
				      " WHERE pool_id = ? AND assigned_at IS NULL");
	int64_t n = 0;

	sqlite3_bind_int64(st, 1, pool_id);
	if (db_row(st))
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* The pool's row: its id (0 when none) and pattern (NULL: a list). */
static int64_t pool_get(sqlite3 *db, const char *pool, char **pattern, int64_t *next_n)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT id, pattern, next_n FROM coupon_pools"
				      " WHERE name = ?");
	int64_t id = 0;

	*pattern = NULL;
	db_bind_text(st, 1, pool, -1);
	if (db_row(st)) {
		id = sqlite3_column_int64(st, 0);
		if (sqlite3_column_type(st, 1) != SQLITE_NULL)
			*pattern = xstrdup((const char *)sqlite3_column_text(st, 1));
		if (next_n)
			*next_n = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	return id;
}

static int64_t pool_create(struct crm *crm, const char *pool, const char *pattern)
{
	sqlite3_stmt *st = db_prepare(crm->db, "INSERT INTO coupon_pools(name, pattern, created_at)"
				      " VALUES (?, ?, ?)");
	char now[20];

	norm_fmt_time(crm->now, now);
	db_bind_text(st, 1, pool, -1);
	db_bind_text(st, 2, pattern, -1);
	db_bind_text(st, 3, now, -1);
	db_step_done(crm->db, st);
	sqlite3_finalize(st);
	return sqlite3_last_insert_rowid(crm->db);
}

/* Reads a whole file ("-": standard input); NULL with a message. */
static char *slurp(const char *path, size_t *len)
{
	FILE *fp = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	struct sb b = SB_INIT;
	char buf[65536];
	size_t n;

	if (!fp) {
		crm_error_errno("%s: cannot open", path);
		return NULL;
	}
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0) {
		sb_add(&b, buf, n);
		if (b.len > MAX_FILE) {
			crm_error("%s: larger than %u MiB: not a file of codes", path, MAX_FILE >> 20);
			break;
		}
	}
	if (ferror(fp) || b.len > MAX_FILE) {
		if (ferror(fp))
			crm_error_errno("%s: cannot read", path);
		if (fp != stdin)
			fclose(fp);
		sb_free(&b);
		return NULL;
	}
	if (fp != stdin)
		fclose(fp);
	*len = b.len;
	return b.buf ? b.buf : xstrdup("");
}

/* ---- importing a list ----------------------------------------------------- */

struct reader {
	struct crm *crm;
	const char *file;
	int64_t pool_id;
	const char *pool;
	sqlite3_stmt *seen, *mark, *find, *ins;
	long errors, codes, added, had;
	char now[20];
};

static void bad(struct reader *r, long line, const char *fmt, ...) CRM_FMT(3, 4);
static void bad(struct reader *r, long line, const char *fmt, ...)
{
	va_list ap;

	if (r->errors++ >= MAX_ERRORS)
		return;
	va_start(ap, fmt);
	crm_vreport(r->file, line, NULL, fmt, ap, 0);
	va_end(ap);
}

/* A code as a message shows it: quoted, control bytes and quotes
 * escaped, cut at COUPON_MAX_LEN bytes. Codes are no personal data, and
 * masking the ones that look like phone numbers (as diag_value() does)
 * would hide which line is meant. */
static const char *shown(struct sb *b, const char *s, size_t n)
{
	sb_reset(b);
	sb_addc(b, '"');
	for (size_t i = 0; i < n && i < COUPON_MAX_LEN; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			sb_addf(b, "\\x%02x", c);
		else if (c == '"' || c == '\\')
			sb_addf(b, "\\%c", c);
		else
			sb_addc(b, c);
	}
	sb_adds(b, n > COUPON_MAX_LEN ? "\"..." : "\"");
	return b->buf;
}

static int one_code(void *ud, long line, const char *code, size_t n)
{
	struct reader *r = ud;
	char why[128];
	struct sb q = SB_INIT;

	r->codes++;
	if (coupon_code_valid(code, n, why, sizeof(why)) < 0) {
		bad(r, line, "%s: %s", shown(&q, code, n), why);
		sb_free(&q);
		return 0;
	}
	/* twice in the files */
	sqlite3_bind_text(r->seen, 1, code, (int)n, SQLITE_STATIC);
	if (db_row(r->seen)) {
		bad(r, line, "duplicate code %s (first at %s:%lld)", shown(&q, code, n),
		    (const char *)sqlite3_column_text(r->seen, 0),
		    (long long)sqlite3_column_int64(r->seen, 1));
		sqlite3_reset(r->seen);
		sb_free(&q);
		return 0;
	}
	sqlite3_reset(r->seen);
	sqlite3_bind_text(r->mark, 1, code, (int)n, SQLITE_STATIC);
	db_bind_text(r->mark, 2, r->file, -1);
	sqlite3_bind_int64(r->mark, 3, line);
	db_step_done(r->crm->db, r->mark);
	/* in the base */
	sqlite3_bind_text(r->find, 1, code, (int)n, SQLITE_STATIC);
	if (db_row(r->find)) {
		if (sqlite3_column_int64(r->find, 0) == r->pool_id)
			r->had++;
		else
			bad(r, line, "code %s is in pool \"%s\" already (a code belongs to one pool)",
			    shown(&q, code, n), (const char *)sqlite3_column_text(r->find, 1));
		sqlite3_reset(r->find);
		sb_free(&q);
		return 0;
	}
	sqlite3_reset(r->find);
	if (!r->errors) {
		sqlite3_bind_int64(r->ins, 1, r->pool_id);
		sqlite3_bind_text(r->ins, 2, code, (int)n, SQLITE_STATIC);
		sqlite3_bind_null(r->ins, 3);
		db_bind_text(r->ins, 4, r->now, -1);
		db_step_done(r->crm->db, r->ins);
		r->added++;
	}
	sb_free(&q);
	return 0;
}

static int import_files(struct crm *crm, const struct coupon_opts *o, char **files)
{
	sqlite3 *db = crm->db;
	struct reader r = { .crm = crm, .pool = o->pool };
	char *pattern = NULL;
	long total = 0, added = 0, had = 0;
	struct { char *name; long codes, added, had; } *sum;
	size_t nfiles = 0;
	int status = 0;

	for (char **f = files; *f; f++)
		nfiles++;
	sum = xcalloc(nfiles, sizeof(*sum));
	norm_fmt_time(crm->now, r.now);
	db_exec(db, "CREATE TEMP TABLE IF NOT EXISTS coupon_in(code TEXT PRIMARY KEY, file TEXT,"
		" line INTEGER) WITHOUT ROWID");
	db_begin(db);
	r.pool_id = pool_get(db, o->pool, &pattern, NULL);
	if (pattern) {
		crm_error("pool \"%s\" is generated (pattern %s): its codes come from "
			  "crm-import coupons %s --generate N; nothing imported", o->pool, pattern,
			  o->pool);
		free(pattern);
		db_rollback(db);
		free(sum);
		return CRM_EXIT_FAIL;
	}
	if (!r.pool_id)
		r.pool_id = pool_create(crm, o->pool, NULL);
	r.seen = db_prepare(db, "SELECT file, line FROM temp.coupon_in WHERE code = ?");
	r.mark = db_prepare(db, "INSERT INTO temp.coupon_in(code, file, line) VALUES (?, ?, ?)");
	r.find = db_prepare(db, "SELECT k.pool_id, p.name FROM coupons k"
			    " JOIN coupon_pools p ON p.id = k.pool_id WHERE k.code = ?");
	r.ins = db_prepare(db, "INSERT INTO coupons(pool_id, code, n, imported_at)"
			   " VALUES (?, ?, ?, ?)");
	for (size_t i = 0; i < nfiles; i++) {
		size_t len;
		char *buf;

		r.file = files[i];
		r.codes = r.added = r.had = 0;
		if (!(buf = slurp(files[i], &len))) {
			r.errors++;
			continue;
		}
		coupon_lines(buf, len, one_code, &r);
		free(buf);
		if (!r.codes && !r.errors)
			crm_warn("%s: no codes in the file", files[i]);
		sum[i].name = files[i];
		sum[i].codes = r.codes;
		sum[i].added = r.added;
		sum[i].had = r.had;
		total += r.codes;
		added += r.added;
		had += r.had;
	}
	sqlite3_finalize(r.seen);
	sqlite3_finalize(r.mark);
	sqlite3_finalize(r.find);
	sqlite3_finalize(r.ins);
	db_exec(db, "DELETE FROM temp.coupon_in");
	if (r.errors) {
		db_rollback(db);
		if (r.errors > MAX_ERRORS)
			crm_error("%ld more errors not shown", r.errors - MAX_ERRORS);
		crm_error("pool \"%s\": %ld error%s: nothing imported", o->pool, r.errors,
			  r.errors == 1 ? "" : "s");
		free(sum);
		return CRM_EXIT_FAIL;
	}
	{
		int64_t nfree = coupon_pool_free(db, r.pool_id);

		if (crm->dry_run)
			db_rollback(db);
		else
			db_commit(db);
		for (size_t i = 0; i < nfiles; i++) {
			if (sum[i].added)
				crm_note("%s: %ld code%s, %ld new in pool \"%s\", %ld there already",
					 sum[i].name, sum[i].codes, sum[i].codes == 1 ? "" : "s",
					 sum[i].added, o->pool, sum[i].had);
			else if (sum[i].codes)
				crm_note("%s: %ld code%s, none new: pool \"%s\" has every one already "
					 "(nothing changed)", sum[i].name, sum[i].codes,
					 sum[i].codes == 1 ? "" : "s", o->pool);
		}
		crm_note("pool \"%s\": %" PRId64 " unused code%s%s", o->pool, nfree,
			 nfree == 1 ? "" : "s", crm->dry_run ? " (dry run: nothing imported)" : "");
	}
	(void)total;
	(void)had;
	(void)added;
	free(sum);
	return status;
}

/* ---- generating ----------------------------------------------------------- */

static int generate(struct crm *crm, const struct coupon_opts *o)
{
	sqlite3 *db = crm->db;
	char *stored = NULL, *secret, why[160], code[COUPON_MAX_LEN + 1], now[20];
	struct coupon_pattern p;
	unsigned char key[32];
	int64_t pool_id, next = 0, added = 0, skipped = 0;
	sqlite3_stmt *ins, *up;
	struct sb out = SB_INIT;

	db_begin(db);
	pool_id = pool_get(db, o->pool, &stored, &next);
	if (pool_id && !stored) {
		crm_error("pool \"%s\" holds imported codes: generated codes go in a pool of their "
			  "own (another POOL); nothing generated", o->pool);
		db_rollback(db);
		return CRM_EXIT_FAIL;
	}
	if (stored && o->pattern && strcmp(stored, o->pattern)) {
		crm_error("pool \"%s\" was generated with --pattern %s, not %s; nothing generated",
			  o->pool, stored, o->pattern);
		free(stored);
		db_rollback(db);
		return CRM_EXIT_USAGE;
	}
	if (!stored && !o->pattern) {
		crm_error("a new pool needs --pattern (such as WB-XXXX-XXXX: X for each "
			  "generated character)");
		db_rollback(db);
		return CRM_EXIT_USAGE;
	}
	if (coupon_pattern_parse(stored ? stored : o->pattern,
				 strlen(stored ? stored : o->pattern), &p, why, sizeof(why)) < 0) {
		crm_error("invalid --pattern \"%s\": %s", stored ? stored : o->pattern, why);
		free(stored);
		db_rollback(db);
		return CRM_EXIT_USAGE;
	}
	if ((uint64_t)next + (uint64_t)o->generate > p.space) {
		crm_error("pool \"%s\": the pattern %s has %" PRIu64 " codes, %" PRId64 " made "
			  "already: %ld more do not fit (a pattern with more X)", o->pool, p.text,
			  p.space, next, o->generate);
		free(stored);
		db_rollback(db);
		return CRM_EXIT_FAIL;
	}
	if (!pool_id)
		pool_id = pool_create(crm, o->pool, p.text);
	if (!(secret = db_meta_get(db, "secret")))
		crm_die(1, "%s: the database has no secret", crm->db_path);
	coupon_key(secret, o->pool, key);
	memset(secret, 0, strlen(secret));
	free(secret);
	norm_fmt_time(crm->now, now);
	ins = db_prepare(db, "INSERT OR IGNORE INTO coupons(pool_id, code, n, imported_at)"
			 " VALUES (?, ?, ?, ?)");
	sb_adds(&out, "code\n");
	while (added < o->generate && (uint64_t)next < p.space) {
		coupon_make(&p, key, (uint64_t)next, code);
		sqlite3_bind_int64(ins, 1, pool_id);
		db_bind_text(ins, 2, code, -1);
		sqlite3_bind_int64(ins, 3, next);
		db_bind_text(ins, 4, now, -1);
		next++;
		/* the same text in another pool (its own pattern): skipped */
		if (db_step_done(db, ins)) {
			added++;
			sb_addf(&out, "%s\n", code);
		} else {
			skipped++;
		}
	}
	sqlite3_finalize(ins);
	memset(key, 0, sizeof(key));
	up = db_prepare(db, "UPDATE coupon_pools SET next_n = ? WHERE id = ?");
	sqlite3_bind_int64(up, 1, next);
	sqlite3_bind_int64(up, 2, pool_id);
	db_step_done(db, up);
	sqlite3_finalize(up);
	if (added < o->generate) {
		crm_error("pool \"%s\": the pattern %s has no room for %ld more codes; nothing "
			  "generated", o->pool, p.text, o->generate);
		db_rollback(db);
		free(stored);
		sb_free(&out);
		return CRM_EXIT_FAIL;
	}
	{
		int64_t nfree = coupon_pool_free(db, pool_id);

		if (crm->dry_run)
			db_rollback(db);
		else
			db_commit(db);
		/* after the commit: a code printed is a code the base has */
		if (fwrite(out.buf, 1, out.len, stdout) != out.len || fflush(stdout) != 0)
			crm_error_errno("standard output");
		if (skipped)
			crm_warn("pool \"%s\": %" PRId64 " generated code%s skipped: another pool "
				 "has the same text", o->pool, skipped, skipped == 1 ? "" : "s");
		crm_note("pool \"%s\": %" PRId64 " code%s generated (numbers %" PRId64 " to %" PRId64
			 " of %s), %" PRId64 " unused%s", o->pool, added, added == 1 ? "" : "s",
			 next - added - skipped,
			 next - 1, p.text, nfree, crm->dry_run ? " (dry run: nothing stored)" : "");
	}
	free(stored);
	sb_free(&out);
	return 0;
}

/* ---- verifying ---------------------------------------------------------- */

static int verify(struct crm *crm, const struct coupon_opts *o)
{
	sqlite3 *db = crm->db;
	char *pattern = NULL, *secret, why[160];
	int64_t pool_id = pool_get(db, o->pool, &pattern, NULL);
	const char *code = o->verify;
	size_t len = strlen(code);
	sqlite3_stmt *st;
	int valid = 0, known = 0;
	uint64_t n = 0;
	struct sb b = SB_INIT, q = SB_INIT;

	if (!pool_id) {
		crm_error("no coupon pool \"%s\" in %s", o->pool, crm->db_path);
		return CRM_EXIT_FAIL;
	}
	if (pattern) {
		struct coupon_pattern p;
		unsigned char key[32];

		if (coupon_pattern_parse(pattern, strlen(pattern), &p, why, sizeof(why)) < 0)
			crm_die(1, "pool \"%s\": stored pattern %s: %s", o->pool, pattern, why);
		if (!(secret = db_meta_get(db, "secret")))
			crm_die(1, "%s: the database has no secret", crm->db_path);
		coupon_key(secret, o->pool, key);
		memset(secret, 0, strlen(secret));
		free(secret);
		valid = coupon_check(&p, key, code, len, &n) == 0;
		memset(key, 0, sizeof(key));
	}
	st = db_prepare(db, "SELECT k.n, k.assigned_at, k.redeemed_at, k.message_id IS NULL,"
			" (SELECT c.name FROM messages m JOIN campaigns c ON c.id = m.campaign_id"
			"  WHERE m.id = k.message_id), k.code"
			" FROM coupons k WHERE k.pool_id = ?1 AND (k.code = ?2 OR k.code = upper(?2))"
			" ORDER BY k.code = ?2 DESC LIMIT 1");
	sqlite3_bind_int64(st, 1, pool_id);
	db_bind_text(st, 2, code, -1);
	sb_adds(&b, shown(&q, code, len));
	if (db_row(st)) {
		known = 1;
		const char *assigned = (const char *)sqlite3_column_text(st, 1);
		const char *redeemed = (const char *)sqlite3_column_text(st, 2);
		const char *camp = (const char *)sqlite3_column_text(st, 4);

		if (!pattern)
			sb_addf(&b, ": valid, in pool \"%s\"", o->pool);
		else
			sb_addf(&b, ": valid, code %" PRIu64 " of pool \"%s\"", n, o->pool);
		if (!assigned)
			sb_adds(&b, "; unused");
		else if (camp)
			sb_addf(&b, "; sent by campaign \"%s\" on %s", camp, assigned);
		else
			sb_addf(&b, "; assigned on %s (to someone since erased)", assigned);
		if (redeemed)
			sb_addf(&b, "; redeemed on %s", redeemed);
		else if (assigned)
			sb_adds(&b, "; not redeemed");
	} else if (valid) {
		sb_addf(&b, ": valid, code %" PRIu64 " of pool \"%s\" (by its check characters), "
			"but not among the codes generated so far", n, o->pool);
	} else {
		sb_addf(&b, ": invalid: not a code of pool \"%s\"", o->pool);
	}
	sqlite3_finalize(st);
	printf("%s\n", b.buf);
	sb_free(&b);
	sb_free(&q);
	free(pattern);
	if (fflush(stdout) != 0)
		return CRM_EXIT_FAIL;
	return known || valid ? 0 : CRM_EXIT_FAIL;
}

int coupon_import_run(struct crm *crm, const struct coupon_opts *o, char **files)
{
	char why[128];

	if (coupon_code_valid(o->pool, strlen(o->pool), why, sizeof(why)) < 0) {
		crm_error("invalid pool name \"%s\": %s", o->pool, why);
		return CRM_EXIT_USAGE;
	}
	if (o->verify)
		return verify(crm, o);
	if (o->generate > 0)
		return generate(crm, o);
	return import_files(crm, o, files);
}
