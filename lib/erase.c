#include "erase.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "diag.h"
#include "hash.h"
#include "norm.h"
#include "util.h"

void erase_hash(const char *secret, const char *kind, const char *value, char out[65])
{
	struct sb sb = SB_INIT;
	sb_addf(&sb, "%s:%s", kind, value);
	hash_hmac_hex(secret, strlen(secret), sb.buf, sb.len, out);
	sb_free(&sb);
}

/* What erasing one customer does to each table. Later tables that hold
 * personal data add their statement here. */
static const char *const erase_sql[] = {
	"DELETE FROM events WHERE customer_id = ?1",
	"DELETE FROM consents WHERE customer_id = ?1",
	"DELETE FROM segment_members WHERE customer_id = ?1",
	"DELETE FROM scores WHERE customer_id = ?1",
	/* the outbox keeps its rows (one message per campaign, ever, and the
	 * campaign's counts) but not where they went */
	"UPDATE messages SET address = NULL, provider_id = NULL WHERE customer_id = ?1",
	"UPDATE orders SET attrs = NULL WHERE customer_id = ?1",
	"UPDATE customers SET external_id = NULL, email = NULL, phone = NULL,"
	" first_name = NULL, last_name = NULL, birthday = NULL, city = NULL,"
	" country = NULL, timezone = NULL, attrs = '{}', is_stub = 0,"
	" updated_at = ?2, erased_at = ?2 WHERE id = ?1",
};

struct eraser {
	struct crm *crm;
	const struct imp_opts *o;
	char secret[65];
	sqlite3_stmt *find[3], *idents, *supp, *steps[ARRAY_SIZE(erase_sql)];
	uint64_t erased, not_found, rejected, read;
};

static const char *const kinds[3] = { "external_id", "email", "phone" };

static void suppress(struct eraser *e, const char *kind, const char *value)
{
	char h[65], now[20];
	erase_hash(e->secret, kind, value, h);
	norm_fmt_time(e->crm->now, now);
	db_bind_text(e->supp, 1, h, 64);
	sqlite3_bind_text(e->supp, 2, kind, -1, SQLITE_STATIC);
	db_bind_text(e->supp, 3, now, -1);
	db_step_done(e->crm->db, e->supp);
}

static void erase_customer(struct eraser *e, int64_t id)
{
	char now[20];
	sqlite3_stmt *st = e->idents;

	/* every identifier the person had is suppressed, not only the one
	 * the request named */
	sqlite3_bind_int64(st, 1, id);
	if (db_step_row(e->crm->db, st))
		for (int i = 0; i < 3; i++) {
			const char *v = db_column_text(e->crm->db, st, i);
			if (v)
				suppress(e, kinds[i], v);
		}
	sqlite3_reset(st);
	norm_fmt_time(e->crm->now, now);
	for (size_t i = 0; i < ARRAY_SIZE(erase_sql); i++) {
		sqlite3_bind_int64(e->steps[i], 1, id);
		if (sqlite3_bind_parameter_count(e->steps[i]) >= 2)
			db_bind_text(e->steps[i], 2, now, -1);
		db_step_done(e->crm->db, e->steps[i]);
	}
	e->erased++;
}

/* Erases whoever has identifier value of the given kind (0..2). */
static void erase_one(struct eraser *e, int kind, const char *value)
{
	sqlite3_stmt *st = e->find[kind];
	int64_t id = 0;

	db_bind_text(st, 1, value, -1);
	if (db_step_row(e->crm->db, st))
		id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (id)
		erase_customer(e, id);
	else
		e->not_found++;
	suppress(e, kinds[kind], value);
}

/* Normalises a value of a known kind; -1 (reported) when invalid. */
static int normalise(struct eraser *e, const char *file, long line, int kind,
		     const char *s, size_t n, struct sb *out)
{
	const char *why = NULL;
	char e164[17];

	s = trim(s, &n);
	sb_reset(out);
	if (!n)
		return 1;
	switch (kind) {
	case 0:
		sb_add(out, s, n);
		return 0;
	case 1:
		if (norm_email(s, n, out, &why) == 0)
			return 0;
		break;
	case 2:
		if (norm_phone(s, n, NULL, &e->o->norm, e164, &why) == 0) {
			sb_adds(out, e164);
			return 0;
		}
		break;
	}
	crm_error_at(file, line, "invalid %s: %s", kinds[kind], why);
	e->rejected++;
	return -1;
}

static int guess_kind(const char *s, size_t n)
{
	s = trim(s, &n);
	if (memchr(s, '@', n))
		return 1;
	if (n && s[0] == '+')
		return 2;
	return 0;
}

/* Finds the id, email and phone columns of the header; returns 1 when
 * there is none: then the file is a plain list, whose first line (taken
 * for a header) is erased too. */
static int header(struct eraser *e, struct rdr *r, const char *name, int col[3], struct sb *v)
{
	int list = 1;

	for (size_t i = 0; i < rec_ncols(r); i++) {
		int k = imp_key_column(rec_colname(r, i));
		if (k >= 0 && col[k] < 0) {
			col[k] = (int)i;
			list = 0;
		}
	}
	if (list && rec_format(r) == REC_CSV) {
		const char *h = rec_colname(r, 0);
		int k = guess_kind(h, strlen(h));
		e->read++;
		if (normalise(e, name, rec_header_line(r), k, h, strlen(h), v) == 0)
			erase_one(e, k, v->buf);
	}
	return list;
}

static int erase_file(struct eraser *e, const char *path)
{
	struct rdr *r = rec_open(path, &e->o->rec);
	struct rec rec;
	struct sb v = SB_INIT;
	int col[3] = { -1, -1, -1 }, list = -1, rc;
	const char *name;

	if (!r) {
		crm_error_errno("%s: cannot open", path);
		return 1;
	}
	name = rec_name(r);
	while ((rc = rec_next(r, &rec)) == REC_OK) {
		if (list < 0)
			list = header(e, r, name, col, &v);
		e->read++;
		if (rec.error) {
			crm_error_at(name, rec.line, "%s", rec.error);
			e->rejected++;
			continue;
		}
		if (list) {
			if (!rec.n || rec.f[0].kind == REC_ABSENT)
				continue;
			int k = guess_kind(rec.f[0].s, rec.f[0].len);
			if (normalise(e, name, rec.line, k, rec.f[0].s, rec.f[0].len, &v) == 0)
				erase_one(e, k, v.buf);
			continue;
		}
		for (int k = 0; k < 3; k++) {
			if (col[k] < 0 || (size_t)col[k] >= rec.n || rec.f[col[k]].kind == REC_ABSENT)
				continue;
			if (normalise(e, name, rec.line, k, rec.f[col[k]].s, rec.f[col[k]].len, &v) == 0)
				erase_one(e, k, v.buf);
		}
	}
	/* a list of one identifier is all header */
	if (list < 0 && rc == REC_EOF && rec_format(r) == REC_CSV && rec_ncols(r) > 0)
		header(e, r, name, col, &v);
	if (rc == REC_FATAL)
		crm_error("%s: %s", name, rec_errmsg(r));
	rec_close(r);
	sb_free(&v);
	return rc == REC_FATAL;
}

int erase_run(struct crm *crm, const struct imp_opts *o, char **files)
{
	struct eraser e;
	sqlite3 *db = crm->db;
	char sql[128], *secret;
	int status = 0;

	memset(&e, 0, sizeof(e));
	e.crm = crm;
	e.o = o;
	/* without the key, the suppression hashes would never match the
	 * ones crm-import computes: erasing would not keep anyone out */
	if (!(secret = db_meta_get(db, "secret")))
		crm_die(1, "%s: no secret in meta table", crm->db_path);
	snprintf(e.secret, sizeof(e.secret), "%s", secret);
	free(secret);
	for (int i = 0; i < 3; i++) {
		snprintf(sql, sizeof(sql), "SELECT id FROM customers WHERE %s = ?", kinds[i]);
		e.find[i] = db_prepare(db, sql);
	}
	e.idents = db_prepare(db, "SELECT external_id, email, phone FROM customers WHERE id = ?");
	e.supp = db_prepare(db, "INSERT OR IGNORE INTO suppressions(hash, kind, reason, created_at)"
			    " VALUES (?, ?, 'erased', ?)");
	for (size_t i = 0; i < ARRAY_SIZE(erase_sql); i++)
		e.steps[i] = db_prepare(db, erase_sql[i]);

	/* deleted content is overwritten with zeros, not just unlinked */
	db_exec(db, "PRAGMA secure_delete = ON");
	db_begin(db);
	for (char **f = files; *f; f++)
		status |= erase_file(&e, *f);
	if (crm->dry_run)
		db_rollback(db);
	else
		db_commit(db);

	for (int i = 0; i < 3; i++)
		sqlite3_finalize(e.find[i]);
	sqlite3_finalize(e.idents);
	sqlite3_finalize(e.supp);
	for (size_t i = 0; i < ARRAY_SIZE(erase_sql); i++)
		sqlite3_finalize(e.steps[i]);

	if (!crm->dry_run && e.erased) {
		/* free pages are given back, and the WAL, which still holds the
		 * old pages, is checkpointed and truncated to zero bytes */
		int log = 0, ckpt = 0;
		db_exec(db, "PRAGMA incremental_vacuum");
		if (sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log, &ckpt) != SQLITE_OK ||
		    log > 0)
			crm_warn("%s: another program has the database open: the write-ahead log "
				 "keeps old pages until it is checkpointed; run the erase again when it is idle",
				 crm->db_path);
	}
	if (crm_verbosity >= 1)
		fprintf(stderr, "%s: erase: %" PRIu64 " read, %" PRIu64 " customers erased, %"
			PRIu64 " identifiers not found (suppressed anyway), %" PRIu64 " rejected%s\n",
			crm_progname, e.read, e.erased, e.not_found, e.rejected,
			crm->dry_run ? " [dry run: nothing written]" : "");
	if (status)
		return CRM_EXIT_FAIL;
	return e.rejected ? CRM_EXIT_PARTIAL : CRM_EXIT_OK;
}
