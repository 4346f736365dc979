#include "erase.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "diag.h"
#include "expr_int.h"
#include "hash.h"
#include "norm.h"
#include "util.h"

#define TOMBSTONE "<erased>"

void erase_hash(const char *secret, const char *kind, const char *value, char out[65])
{
	struct sb sb = SB_INIT;
	sb_addf(&sb, "%s:%s", kind, value);
	hash_hmac_hex(secret, strlen(secret), sb.buf, sb.len, out);
	sb_free(&sb);
}

/* ---- saved segments: scrubbing an erased person's identifiers ------- */

static const char *find_ci(const char *h, size_t hn, const char *n, size_t nn)
{
	for (size_t i = 0; nn && i + nn <= hn; i++)
		if (!ascii_ncasecmp(h + i, n, nn))
			return h + i;
	return NULL;
}

static int is_phone_sep(int c)
{
	return c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/' ||
	       c == '\\' || c == '+';
}

/* Do the digits d[0..n) hold the phone (E.164), with or without its
 * country code? The national number is tried after 1, 2 and 3 digits of
 * country code, when 7 digits or more are left. */
static int digits_hold_phone(const char *d, size_t n, const char *phone)
{
	const char *pd = phone + (phone[0] == '+');
	size_t pn = strlen(pd);

	if (!pn || !find_ci(d, n, pd, pn)) {
		for (size_t k = 1; k <= 3 && pn > k && pn - k >= 7; k++)
			if (find_ci(d, n, pd + k, pn - k))
				return 1;
		return 0;
	}
	return 1;
}

/* The next phone-like span of s[*at..n): digits with the separators of
 * phone numbers (and regular expressions' backslashes) between them,
 * holding 7 digits or more; from its first digit or '+' to its last
 * digit. Returns 0 when there is none. */
static int next_phone_span(const char *s, size_t n, size_t *at, size_t *b, size_t *e,
			   struct sb *digits)
{
	size_t i = *at;

	while (i < n) {
		size_t start, last = 0, nd = 0;

		while (i < n && !ascii_isdigit((unsigned char)s[i]) && s[i] != '+')
			i++;
		if (i >= n)
			break;
		start = i;
		sb_reset(digits);
		for (; i < n && (ascii_isdigit((unsigned char)s[i]) || is_phone_sep(s[i])); i++)
			if (ascii_isdigit((unsigned char)s[i])) {
				sb_addc(digits, s[i]);
				last = i;
				nd++;
			}
		if (nd >= 7) {
			*b = start;
			*e = last + 1;
			*at = i;
			return 1;
		}
	}
	*at = n;
	return 0;
}

/* Does the string value s[0..n) of a literal name one of the people? */
static int literal_names(const char *s, size_t n, const struct erase_person *p, size_t np)
{
	struct sb low = SB_INIT, d = SB_INIT;
	size_t at = 0, b, e;
	int hit = 0;

	/* lower case, without the backslashes of a regular expression */
	for (size_t i = 0; i < n; i++)
		if (s[i] != '\\')
			sb_addc(&low, ascii_lower((unsigned char)s[i]));
	for (size_t k = 0; k < np && !hit; k++) {
		size_t tn = n;
		const char *t = trim(s, &tn);
		if (p[k].external_id && *p[k].external_id && strlen(p[k].external_id) == tn &&
		    !memcmp(t, p[k].external_id, tn))
			hit = 1;
		else if (p[k].email && *p[k].email && find_ci(low.buf, low.len, p[k].email, strlen(p[k].email)))
			hit = 1;
	}
	while (!hit && next_phone_span(s, n, &at, &b, &e, &d))
		for (size_t k = 0; k < np && !hit; k++)
			if (p[k].phone && *p[k].phone)
				hit = digits_hold_phone(d.buf, d.len, p[k].phone);
	sb_free(&low);
	sb_free(&d);
	return hit;
}

size_t erase_scrub_text(const char *text, size_t len, const struct erase_person *p, size_t np,
			struct sb *out)
{
	struct sb a = SB_INIT, d = SB_INIT;
	size_t n = 0, at = 0, b, e, from = 0;

	/* the e-mail addresses, in any case */
	sb_add(&a, text, len);
	for (size_t k = 0; k < np; k++) {
		size_t el = p[k].email ? strlen(p[k].email) : 0;
		const char *hit;
		struct sb t = SB_INIT;
		const char *s = a.buf;

		if (!el || !find_ci(a.buf, a.len, p[k].email, el))
			continue;
		while ((hit = find_ci(s, a.len - (size_t)(s - a.buf), p[k].email, el))) {
			sb_add(&t, s, (size_t)(hit - s));
			sb_adds(&t, TOMBSTONE);
			s = hit + el;
			n++;
		}
		sb_add(&t, s, a.len - (size_t)(s - a.buf));
		sb_free(&a);
		a = t;
	}
	/* then the phone numbers */
	sb_reset(out);
	while (next_phone_span(a.buf, a.len, &at, &b, &e, &d)) {
		int hit = 0;
		for (size_t k = 0; k < np && !hit; k++)
			if (p[k].phone && *p[k].phone)
				hit = digits_hold_phone(d.buf, d.len, p[k].phone);
		if (!hit)
			continue;
		sb_add(out, a.buf + from, b - from);
		sb_adds(out, TOMBSTONE);
		from = e;
		n++;
	}
	sb_add(out, a.buf + from, a.len - from);
	sb_free(&a);
	sb_free(&d);
	return n;
}

size_t erase_scrub_expr(const char *text, const struct erase_person *p, size_t np, struct sb *out)
{
	struct expr_token *t;
	size_t nt, len = strlen(text), from = 0, n = 0;
	struct sb c = SB_INIT;

	expr_lex(text, len, &t, &nt);
	sb_reset(out);
	for (size_t i = 0; i < nt; i++) {
		const struct expr_token *k = &t[i];
		size_t gap_end = k->t == TK_ERR ? len : k->pos;
		int hit = 0;

		/* between tokens: blanks and comments, which may name anyone */
		for (size_t j = from; j < gap_end; j++) {
			size_t e = j;
			if (text[j] != '#')
				continue;
			while (e < gap_end && text[e] != '\n')
				e++;
			sb_add(out, text + from, j - from);
			n += erase_scrub_text(text + j, e - j, p, np, &c);
			sb_add(out, c.buf, c.len);
			from = j = e;
		}
		/* a lexical error (a saved expression compiled, so there is
		 * none): the rest as plain text */
		if (k->t == TK_ERR) {
			n += erase_scrub_text(text + from, len - from, p, np, &c);
			sb_add(out, c.buf, c.len);
			from = len;
			break;
		}
		sb_add(out, text + from, k->pos - from);
		from = k->pos;
		if (k->t == TK_STR)
			hit = literal_names(k->s, k->slen, p, np);
		else if (k->t == TK_NUM && !k->is_real)
			hit = literal_names(text + k->pos, k->len, p, np);
		if (hit) {
			sb_adds(out, "\"" TOMBSTONE "\"");
			from = k->pos + k->len;
			n++;
		}
		if (k->t == TK_EOF)
			break;
	}
	sb_add(out, text + from, len - from);
	expr_tokens_free(t, nt);
	sb_free(&c);
	return n;
}

/* What erasing one customer does to each table. Later tables that hold
 * personal data add their statement here. */
static const char *const erase_sql[] = {
	"DELETE FROM events WHERE customer_id = ?1",
	"DELETE FROM consents WHERE customer_id = ?1",
	"DELETE FROM segment_members WHERE customer_id = ?1",
	"DELETE FROM scores WHERE customer_id = ?1",
	"DELETE FROM currency_scores WHERE customer_id = ?1",
	"DELETE FROM uplift_scores WHERE customer_id = ?1",
	"DELETE FROM customer_aliases WHERE customer_id = ?1",
	/* the outbox keeps its rows (one message per campaign, ever, and the
	 * campaign's counts) but not where they went */
	"UPDATE messages SET address = NULL, provider_id = NULL WHERE customer_id = ?1",
	/* promo codes (coupon.h): the person's codes stay used, never given
	 * to anyone else, and keep when they were assigned and redeemed,
	 * but name neither their messages nor their orders any more */
	"UPDATE coupons SET message_id = NULL WHERE message_id IN"
	" (SELECT id FROM messages WHERE customer_id = ?1)",
	"DELETE FROM coupon_redemptions WHERE order_id IN"
	" (SELECT id FROM orders WHERE customer_id = ?1)",
	"UPDATE orders SET attrs = NULL WHERE customer_id = ?1",
	/* the reports that came back keep their decisions, not the text */
	"UPDATE inbound SET raw = NULL, address = NULL, diagnostic = NULL WHERE customer_id = ?1",
	/* and those quarantined about their address (before it is emptied) */
	"UPDATE inbound SET raw = NULL, address = NULL, diagnostic = NULL"
	" WHERE customer_id IS NULL AND address = (SELECT email FROM customers WHERE id = ?1)",
	"UPDATE customers SET external_id = NULL, email = NULL, phone = NULL,"
	" first_name = NULL, last_name = NULL, birthday = NULL, city = NULL,"
	" country = NULL, timezone = NULL, attrs = '{}', is_stub = 0,"
	" updated_at = ?2, erased_at = ?2 WHERE id = ?1",
	/* the points go with the person (the ledger's rows may only be
	 * deleted once erased_at is set, above) */
	"DELETE FROM loyalty_ledger WHERE customer_id = ?1",
	"DELETE FROM loyalty_lots WHERE customer_id = ?1",
	"DELETE FROM loyalty_accounts WHERE customer_id = ?1",
	"DELETE FROM loyalty_tiers WHERE customer_id = ?1",
};

struct eraser {
	struct crm *crm;
	const struct imp_opts *o;
	char secret[65];
	sqlite3_stmt *find[3], *idents, *supp, *steps[ARRAY_SIZE(erase_sql)];
	uint64_t erased, not_found, rejected, read;
	/* everyone erased (their identifiers, and the ones the files
	 * named), for scrub_segments(); the strings are owned */
	struct erase_person *people;
	size_t npeople, cpeople;
};

static void remember(struct eraser *e, const char *ext, const char *email, const char *phone)
{
	struct erase_person *q;

	e->people = xgrow(e->people, sizeof(*e->people), e->npeople + 1, &e->cpeople);
	q = &e->people[e->npeople++];
	q->external_id = ext ? xstrdup(ext) : NULL;
	q->email = email ? xstrdup(email) : NULL;
	q->phone = phone ? xstrdup(phone) : NULL;
}

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

/* The outbox keeps why each message failed, and a server's reply often
 * names the recipient ("550 5.1.1 <ann@example.com>: no such user"): the
 * person's identifiers in the reasons of their messages are replaced. */
static void scrub_reasons(struct eraser *e, int64_t id, const struct erase_person *p)
{
	sqlite3 *db = e->crm->db;
	sqlite3_stmt *st = db_prepare(db, "SELECT id, reason FROM messages"
				      " WHERE customer_id = ? AND reason IS NOT NULL");
	struct sb t = SB_INIT;
	int64_t *ids = NULL;
	char **reasons = NULL;
	size_t n = 0, cap = 0;

	sqlite3_bind_int64(st, 1, id);
	while (db_step_row(db, st)) {
		const char *r = db_column_text(db, st, 1);
		if (!erase_scrub_text(r, strlen(r), p, 1, &t))
			continue;
		reasons = xgrow(reasons, sizeof(*reasons), n + 1, &cap);
		ids = xrealloc(ids, cap * sizeof(*ids));
		ids[n] = sqlite3_column_int64(st, 0);
		reasons[n++] = sb_detach(&t);
	}
	sqlite3_finalize(st);
	st = db_prepare(db, "UPDATE messages SET reason = ? WHERE id = ?");
	for (size_t i = 0; i < n; i++) {
		db_bind_text(st, 1, reasons[i], -1);
		sqlite3_bind_int64(st, 2, ids[i]);
		db_step_done(db, st);
		free(reasons[i]);
	}
	sqlite3_finalize(st);
	free(reasons);
	free(ids);
	sb_free(&t);
}

static void erase_customer(struct eraser *e, int64_t id)
{
	char now[20];
	sqlite3_stmt *st = e->idents;

	/* every identifier the person had is suppressed, not only the one
	 * the request named */
	sqlite3_bind_int64(st, 1, id);
	if (db_step_row(e->crm->db, st)) {
		for (int i = 0; i < 3; i++) {
			const char *v = db_column_text(e->crm->db, st, i);
			if (v)
				suppress(e, kinds[i], v);
		}
		remember(e, db_column_text(e->crm->db, st, 0), db_column_text(e->crm->db, st, 1),
			 db_column_text(e->crm->db, st, 2));
		sqlite3_reset(st);
		scrub_reasons(e, id, &e->people[e->npeople - 1]);
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
	remember(e, kind == 0 ? value : NULL, kind == 1 ? value : NULL, kind == 2 ? value : NULL);
}

/*
 * Replaces the erased identifiers in the saved segments' expressions and
 * descriptions and in the tracked runs' expressions (see erase.h) and
 * marks what changed with the time. A run's expression is mostly its
 * segment's, so each distinct text is scrubbed once.
 */
static void scrub_segments(struct eraser *e)
{
	sqlite3 *db = e->crm->db;
	sqlite3_stmt *sel, *upd;
	struct sb ex = SB_INIT, de = SB_INIT;
	char now[20], **texts = NULL;
	size_t ntexts = 0, ctexts = 0;
	int64_t *ids = NULL;
	uint64_t segs = 0, runs = 0;

	if (!e->npeople)
		return;
	norm_fmt_time(e->crm->now, now);
	/* read first, then write: no table changes under its own SELECT */
	sel = db_prepare(db, "SELECT id, expr, description FROM segments ORDER BY id");
	while (db_step_row(db, sel)) {
		const char *x = db_column_text(db, sel, 1), *d = db_column_text(db, sel, 2);
		texts = xgrow(texts, sizeof(*texts), ntexts + 2, &ctexts);
		ids = xrealloc(ids, ctexts * sizeof(*ids));
		ids[ntexts / 2] = sqlite3_column_int64(sel, 0);
		texts[ntexts++] = xstrdup(x ? x : "");
		texts[ntexts++] = xstrdup(d ? d : "");
	}
	sqlite3_finalize(sel);
	upd = db_prepare(db, "UPDATE segments SET expr = ?2, description = ?3, scrubbed_at = ?4"
			 " WHERE id = ?1");
	for (size_t i = 0; i < ntexts; i += 2) {
		size_t n = erase_scrub_expr(texts[i], e->people, e->npeople, &ex);
		n += erase_scrub_text(texts[i + 1], strlen(texts[i + 1]), e->people, e->npeople, &de);
		if (!n)
			continue;
		sqlite3_bind_int64(upd, 1, ids[i / 2]);
		db_bind_text(upd, 2, ex.buf, (int)ex.len);
		db_bind_text(upd, 3, de.buf, (int)de.len);
		db_bind_text(upd, 4, now, -1);
		db_step_done(db, upd);
		segs++;
	}
	sqlite3_finalize(upd);
	for (size_t i = 0; i < ntexts; i++)
		free(texts[i]);
	ntexts = 0;

	sel = db_prepare(db, "SELECT DISTINCT expr FROM segment_runs");
	while (db_step_row(db, sel)) {
		const char *x = db_column_text(db, sel, 0);
		texts = xgrow(texts, sizeof(*texts), ntexts + 1, &ctexts);
		texts[ntexts++] = xstrdup(x ? x : "");
	}
	sqlite3_finalize(sel);
	upd = db_prepare(db, "UPDATE segment_runs SET expr = ?2, scrubbed_at = ?3 WHERE expr = ?1");
	for (size_t i = 0; i < ntexts; i++) {
		if (erase_scrub_expr(texts[i], e->people, e->npeople, &ex)) {
			db_bind_text(upd, 1, texts[i], -1);
			db_bind_text(upd, 2, ex.buf, (int)ex.len);
			db_bind_text(upd, 3, now, -1);
			db_step_done(db, upd);
			runs += (uint64_t)sqlite3_changes(db);
		}
		free(texts[i]);
	}
	sqlite3_finalize(upd);
	free(texts);
	free(ids);
	sb_free(&ex);
	sb_free(&de);
	if (segs || runs)
		crm_note("erase: %" PRIu64 " saved segments and %" PRIu64 " tracked runs changed: "
			 "what named an erased person now reads \"" TOMBSTONE "\"%s", segs, runs,
			 e->crm->dry_run ? " [dry run: nothing written]" : "");
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
	scrub_segments(&e);
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
	for (size_t i = 0; i < e.npeople; i++) {
		free((char *)e.people[i].external_id);
		free((char *)e.people[i].email);
		free((char *)e.people[i].phone);
	}
	free(e.people);

	if (!crm->dry_run && e.npeople) {
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
