/*
 * imp_row.c - one row of each kind: a customer (identified by external id,
 * else e-mail, else phone, updated field by field), an order, an event or
 * a consent (each for the customer it names, a stub when unknown), keyed
 * upserts, order_stats.
 */
#include "imp_int.h"
#include "supp.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "erase.h"
#include "hash.h"
#include "ordstat.h"

/* ---- suppression of erased people ---- */

static int suppressed(struct imp *im, const char *kind, const char *value)
{
	char h[65];
	int hit;

	if (!im->have_suppressions || !value)
		return 0;
	erase_hash(im->secret, kind, value, h);
	sqlite3_bind_text(im->supp, 1, h, 64, SQLITE_STATIC);
	hit = db_step_row(im->db, im->supp);
	sqlite3_reset(im->supp);
	return hit;
}

/* ---- customers ---- */

enum { CF_EXTID, CF_EMAIL, CF_PHONE, CF_FIRST, CF_LAST, CF_BIRTHDAY, CF_CITY,
       CF_COUNTRY, CF_TZ, CF_CREATED, NCF };
static const enum field cf_field[NCF] = {
	F_EXTID, F_EMAIL, F_PHONE, F_FIRST, F_LAST, F_BIRTHDAY, F_CITY,
	F_COUNTRY, F_TZ, F_CREATED,
};

struct cust {
	int64_t id;
	char *f[NCF];
	char *attrs;
	int is_stub;
};

static void cust_free(struct cust *c)
{
	for (int i = 0; i < NCF; i++)
		free(c->f[i]);
	free(c->attrs);
	memset(c, 0, sizeof(*c));
}

/* Looks a customer up by external_id (0), email (1) or phone (2). */
static int cust_find(struct imp *im, int by, const char *value, struct cust *c)
{
	sqlite3_stmt *st = im->cust_by[by];
	int rc;

	sqlite3_bind_text(st, 1, value, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		c->id = sqlite3_column_int64(st, 0);
		for (int i = 0; i < NCF; i++) {
			const char *t = db_column_text(im->db, st, 1 + i);
			c->f[i] = t ? xstrdup(t) : NULL;
		}
		c->attrs = xstrdup(db_column_text(im->db, st, 1 + NCF));
		c->is_stub = sqlite3_column_int(st, 2 + NCF);
	} else if (rc != SQLITE_DONE) {
		db_die(im->db, NULL);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW;
}

static int64_t cust_id_find(struct imp *im, int by, const char *value)
{
	sqlite3_stmt *st = im->cust_id_by[by];
	int64_t id = 0;
	int rc;

	sqlite3_bind_text(st, 1, value, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		db_die(im->db, NULL);
	sqlite3_reset(st);
	/* no customer has it as their id: another id of one (an alias) */
	if (!id && by == 0) {
		st = im->alias_find;
		sqlite3_bind_text(st, 1, value, -1, SQLITE_STATIC);
		if (db_step_row(im->db, st))
			id = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
	}
	return id;
}

static void consent_record(struct imp *im, int64_t cid, const char *channel,
			   int granted, const char *when, const char *source,
			   int *changed);

static void take_customer_fields(struct imp *im)
{
	const char *why;
	size_t n;
	const char *s;

	imp_take_text(im, F_EXTID, "id");
	if ((s = imp_raw(im, F_COUNTRY, &n))) {
		char cc[3];
		if (norm_country(s, n, cc, &why) == 0)
			imp_set(im, F_COUNTRY, cc, 2);
		else {
			sb_reset(&im->tmp);
			imp_quote_val(&im->tmp, F_COUNTRY, s, n);
			imp_warn_counted(im, "invalid country %s: %s; field dropped", im->tmp.buf, why);
		}
	}
	imp_take_email(im);
	imp_take_phone(im);
	imp_take_lines(im, F_FIRST, "first_name");
	imp_take_lines(im, F_LAST, "last_name");
	if (!im->has[F_FIRST] && !im->has[F_LAST] && (s = imp_raw(im, F_NAME, &n))) {
		const char *sp = memchr(s, ' ', n);
		if (sp) {
			size_t rest = n - (sp - s);
			const char *r = trim(sp, &rest);
			imp_set(im, F_FIRST, s, sp - s);
			if (rest)
				imp_set(im, F_LAST, r, rest);
		} else {
			imp_set(im, F_FIRST, s, n);
		}
	}
	if ((s = imp_raw(im, F_BIRTHDAY, &n))) {
		int y, m, d;
		char buf[11];
		if (norm_date(s, n, imp_date_opts(im, F_BIRTHDAY), &y, &m, &d, &why) == 0) {
			norm_fmt_date(y, m, d, buf);
			imp_set(im, F_BIRTHDAY, buf, 10);
		} else {
			imp_warn(im, "invalid birthday: %s; field dropped", why);
		}
	}
	imp_take_lines(im, F_CITY, "city");
	if ((s = imp_raw(im, F_TZ, &n))) {
		int okz = n < 64;
		for (size_t i = 0; okz && i < n; i++)
			okz = ascii_isalpha((unsigned char)s[i]) || ascii_isdigit((unsigned char)s[i]) ||
			      strchr("/_+-", s[i]);
		if (okz) {
			char path[128];
			snprintf(path, sizeof(path), "/usr/share/zoneinfo/%.*s", (int)n, s);
			okz = strstr(path, "..") == NULL &&
			      (access("/usr/share/zoneinfo", F_OK) != 0 || access(path, F_OK) == 0);
		}
		if (okz) {
			imp_set(im, F_TZ, s, n);
		} else {
			sb_reset(&im->tmp);
			imp_quote_val(&im->tmp, F_TZ, s, n);
			imp_warn(im, "unknown time zone %s; field dropped", im->tmp.buf);
		}
	}
	if (!imp_take_time(im, F_CREATED, &why) && why)
		imp_warn(im, "invalid created_at: %s; field dropped", why);
	imp_take_attrs(im);
}

int imp_row_customer(struct imp *im)
{
	struct cust cur = { 0 }, other = { 0 };
	int found = 0, changed = 0, result, stub = 0;
	char now[20];
	char *attrs = NULL;
	const char *sv, *swhy;
	size_t stub_n;
	static const char *const idname[3] = { "external_id", "email", "phone" };

	/* a row of crm-report export for an erased person: nothing of them
	 * is left to import (their hashes stay in the base they left) */
	if (imp_raw(im, F_ERASED, &stub_n)) {
		imp_warn(im, "an erased person (erased_at is set); row skipped");
		return 2;
	}
	if ((sv = imp_raw(im, F_STUB, &stub_n)) && norm_bool(sv, stub_n, &stub, &swhy) < 0)
		stub = 0;
	take_customer_fields(im);
	norm_fmt_time(im->crm->now, now);

	/* identify: external id, else email, else phone */
	if (im->has[F_EXTID])
		found = cust_find(im, 0, imp_val(im, F_EXTID), &cur);
	for (int by = 1; by <= 2; by++) {
		enum field f = by == 1 ? F_EMAIL : F_PHONE;
		if (!im->has[f])
			continue;
		if (found && cur.f[by] && !strcmp(cur.f[by], imp_val(im, f)))
			continue;
		if (!cust_find(im, by, imp_val(im, f), &other))
			continue;
		if (!found && !(im->has[F_EXTID] && other.f[CF_EXTID] &&
				strcmp(other.f[CF_EXTID], imp_val(im, F_EXTID)))) {
			cur = other;
			memset(&other, 0, sizeof(other));
			found = 1;
			continue;
		}
		/* the address belongs to another customer: keep it there */
		imp_warn(im, "%s already belongs to customer %" PRId64 "; field dropped",
			 idname[by], other.id);
		im->has[f] = 0;
		cust_free(&other);
	}
	if (!found && !im->has[F_EXTID] && !im->has[F_EMAIL] && !im->has[F_PHONE]) {
		sb_reset(&im->tmp);
		sb_adds(&im->tmp, "no usable key (no id, valid email or phone)");
		if (im->err.len)
			sb_addf(&im->tmp, ": %s", im->err.buf);
		imp_reject(im, im->rec, im->tmp.buf);
		cust_free(&cur);
		return -1;
	}
	for (int i = 0; i < 3; i++) {
		enum field f = cf_field[i];
		if (im->has[f] && !(found && cur.f[i] && !strcmp(cur.f[i], imp_val(im, f))) &&
		    suppressed(im, idname[i], imp_val(im, f))) {
			sb_reset(&im->tmp);
			sb_addf(&im->tmp, "%s belongs to an erased person; row not imported",
				idname[i]);
			imp_reject(im, im->rec, im->tmp.buf);
			cust_free(&cur);
			return -1;
		}
	}

	/* is_stub (crm-report export): a customer known only from an order
	 * or event, created as such and never made a stub again */
	if (stub && found) {
		cust_free(&cur);
		return 2;
	}
	if (stub) {
		db_bind_text(im->stub_ins, 1, imp_val(im, F_EXTID), -1);
		db_bind_text(im->stub_ins, 2, imp_val(im, F_EMAIL), -1);
		db_bind_text(im->stub_ins, 3, imp_val(im, F_PHONE), -1);
		db_bind_text(im->stub_ins, 4, now, -1);
		db_step_done(im->db, im->stub_ins);
		im->st.stubs++;
		cust_free(&cur);
		return 0;
	}
	if (!found && im->attrs)
		attrs = imp_json_sorted(im->attrs);
	else if (found && im->attrs)
		attrs = imp_merge_attrs(im, cur.attrs);
	if (imp_attrs_too_big(im, attrs)) {
		free(attrs);
		cust_free(&cur);
		return -1;
	}
	if (!found) {
		sqlite3_stmt *st = im->cust_ins;
		for (int i = 0; i < NCF; i++)
			db_bind_text(st, 1 + i, imp_val(im, cf_field[i]), -1);
		if (!im->has[F_CREATED])
			db_bind_text(st, 1 + CF_CREATED, now, -1);
		db_bind_text(st, NCF + 1, now, -1);
		if (attrs) {
			db_bind_text(st, NCF + 2, attrs, -1);
		} else {
			sqlite3_bind_text(st, NCF + 2, "{}", 2, SQLITE_STATIC);
		}
		db_step_done(im->db, st);
		cur.id = sqlite3_last_insert_rowid(im->db);
		result = 0;
	} else {
		sqlite3_stmt *st = im->cust_upd;
		for (int i = 0; i < NCF; i++) {
			const char *nv = imp_val(im, cf_field[i]);
			if (nv && (!cur.f[i] || strcmp(cur.f[i], nv))) {
				free(cur.f[i]);
				cur.f[i] = xstrdup(nv);
				changed = 1;
			}
		}
		if (attrs)
			changed = 1;
		if (cur.is_stub)
			changed = 1;
		if (changed) {
			for (int i = 0; i < NCF; i++)
				db_bind_text(st, 1 + i, cur.f[i], -1);
			db_bind_text(st, NCF + 1, now, -1);
			db_bind_text(st, NCF + 2, attrs ? attrs : cur.attrs, -1);
			sqlite3_bind_int64(st, NCF + 3, cur.id);
			db_step_done(im->db, st);
		}
		result = changed ? 1 : 2;
	}
	free(attrs);

	/* another id of the customer (customer_aliases) */
	if ((sv = imp_raw(im, F_ALIAS, &stub_n))) {
		sb_reset(&im->tmp);
		sb_add(&im->tmp, sv, stub_n);
		db_bind_text(im->alias_set, 1, im->tmp.buf, -1);
		sqlite3_bind_int64(im->alias_set, 2, cur.id);
		db_step_done(im->db, im->alias_set);
		if (sqlite3_changes(im->db) && result == 2)
			result = 1;
	}

	/* consent columns of a customer file: recorded when they change */
	for (size_t ck = 0, i; imp_next_col(im, &ck, &i);) {
		const char *s, *why;
		size_t n;
		int g, c = 0;
		if (im->colfield[i] != F_CONSENT || im->rec->f[i].kind == REC_ABSENT)
			continue;
		imp_field_text(&im->rec->f[i], &s, &n);
		if (!n)
			continue;
		if (norm_bool(s, n, &g, &why) < 0) {
			sb_reset(&im->tmp);
			imp_quote_val(&im->tmp, F_CONSENT, s, n);
			imp_warn(im, "invalid %s_consent %s: %s; field dropped",
				 im->colkey[i], im->tmp.buf, why);
			continue;
		}
		consent_record(im, cur.id, im->colkey[i], g, NULL,
			       im->o->source ? im->o->source : "import", &c);
		if (c && result == 2)
			result = 1;
	}
	cust_free(&cur);
	return result;
}

/* ---- the customer an order, event or consent belongs to ---- */

/* Returns the customer's id, creating a stub for an unknown one unless
 * --strict; 0 after rejecting the row. */
/* An id exports put where there is none: "(blank)", "0", "-", "n/a"... */
static int placeholder_id(const char *s)
{
	static const char *const words[] = {
		"(blank)", "blank", "0", "-", "--", "n/a", "na", "#n/a", "null", "(null)", "none",
		"nil", "unknown", "undefined", "?", "x", "guest", "(none)", "-1",
	};
	for (size_t i = 0; i < ARRAY_SIZE(words); i++)
		if (!ascii_casecmp(s, words[i]))
			return 1;
	return 0;
}

int64_t imp_resolve_customer(struct imp *im)
{
	const char *ref;
	int64_t id = 0;

	imp_take_text(im, F_CUSTREF, "customer_id");
	imp_take_email(im);
	imp_take_phone(im);
	ref = imp_val(im, F_CUSTREF);
	if (ref && placeholder_id(ref)) {
		if (im->o->strict) {
			sb_reset(&im->tmp);
			sb_addf(&im->tmp, "placeholder customer id \"%s\" (--strict)", ref);
			imp_reject(im, im->rec, im->tmp.buf);
			return 0;
		}
		if (!im->st.placeholder++)
			snprintf(im->st.placeholder_value, sizeof(im->st.placeholder_value), "%s", ref);
	}
	if (!ref && !im->has[F_EMAIL] && !im->has[F_PHONE]) {
		sb_reset(&im->tmp);
		sb_adds(&im->tmp, "no customer (no customer_id, valid email or phone)");
		if (im->err.len)
			sb_addf(&im->tmp, ": %s", im->err.buf);
		imp_reject(im, im->rec, im->tmp.buf);
		return 0;
	}
	/* rows of one customer tend to come together */
	if (ref && im->last_ref_id && !strcmp(ref, im->last_ref))
		return im->last_ref_id;
	if (ref)
		id = cust_id_find(im, 0, ref);
	if (!id && im->has[F_EMAIL])
		id = cust_id_find(im, 1, imp_val(im, F_EMAIL));
	if (!id && im->has[F_PHONE])
		id = cust_id_find(im, 2, imp_val(im, F_PHONE));
	if (!id) {
		if (im->o->strict) {
			imp_reject(im, im->rec, "unknown customer (--strict)");
			return 0;
		}
		if (suppressed(im, "external_id", ref) ||
		    suppressed(im, "email", imp_val(im, F_EMAIL)) ||
		    suppressed(im, "phone", imp_val(im, F_PHONE))) {
			imp_reject(im, im->rec, "customer is an erased person; row not imported");
			return 0;
		}
		/* a stub keeps only identifiers no one else has */
		const char *email = imp_val(im, F_EMAIL), *phone = imp_val(im, F_PHONE);
		if (ref && email && cust_id_find(im, 1, email))
			email = NULL;
		if (ref && phone && cust_id_find(im, 2, phone))
			phone = NULL;
		char now[20];
		norm_fmt_time(im->crm->now, now);
		db_bind_text(im->stub_ins, 1, ref, -1);
		db_bind_text(im->stub_ins, 2, email, -1);
		db_bind_text(im->stub_ins, 3, phone, -1);
		db_bind_text(im->stub_ins, 4, now, -1);
		db_step_done(im->db, im->stub_ins);
		id = sqlite3_last_insert_rowid(im->db);
		im->st.stubs++;
	}
	if (ref && strlen(ref) < sizeof(im->last_ref)) {
		strcpy(im->last_ref, ref);
		im->last_ref_id = id;
	}
	return id;
}

/* Key of a row without an id: content hash and occurrence count. */
static void content_key(struct imp *im, struct sb *content)
{
	char h[65];
	int64_t n = 0;
	sqlite3_stmt *sel = im->occ[0];

	hash_sha256_hex(content->buf, content->len, h);
	h[32] = 0;
	sqlite3_bind_text(sel, 1, h, 32, SQLITE_STATIC);
	if (db_step_row(im->db, sel))
		n = sqlite3_column_int64(sel, 0) + 1;
	sqlite3_reset(sel);
	sqlite3_bind_text(im->occ[n ? 2 : 1], 1, h, 32, SQLITE_STATIC);
	db_step_done(im->db, im->occ[n ? 2 : 1]);
	sb_reset(&im->key);
	sb_addf(&im->key, "~%s.%" PRId64, h, n);
}

/* A parameter of the keyed statements below. */
struct kv {
	const char *s; /* text, or NULL for NULL when !is_int */
	int64_t i;
	int is_int;
};

/*
 * Upsert of a row keyed by external_id (?1), its values ?2..?n. st[0]
 * selects "are the stored values the same" for the key, st[1] inserts,
 * st[2] updates. Done as a lookup and a plain statement, not INSERT ...
 * ON CONFLICT: an upsert makes SQLite keep a statement journal for every
 * row, which doubled the writes of a large import.
 * Returns 0 inserted, 1 updated, 2 unchanged. With old_cid, st[0] also
 * selects the stored customer_id, which it gets when the row exists (an
 * updated order may have moved to another customer: both need their
 * order_stats recomputed).
 */
static void bind_kv(sqlite3_stmt *st, const struct kv *v, int n)
{
	/* the values live in the row's buffers until the next row: no copy */
	for (int i = 0; i < n; i++) {
		if (v[i].is_int)
			sqlite3_bind_int64(st, i + 1, v[i].i);
		else if (v[i].s)
			sqlite3_bind_text(st, i + 1, v[i].s, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, i + 1);
	}
}

static int keyed_upsert(struct imp *im, sqlite3_stmt *const st[3], const struct kv *v, int n,
			int64_t *old_cid)
{
	int rc, which, same = 0;

	bind_kv(st[0], v, n);
	rc = sqlite3_step(st[0]);
	if (rc == SQLITE_ROW) {
		same = sqlite3_column_int(st[0], 0);
		if (old_cid)
			*old_cid = sqlite3_column_int64(st[0], 1);
		/* written by an earlier row of this file: an id given twice
		 * (content keys are made distinct on purpose) */
		if (sqlite3_column_int64(st[0], sqlite3_column_count(st[0]) - 1) > im->dup_from &&
		    v[0].s && v[0].s[0] != '~' && !im->st.dupes++)
			snprintf(im->st.dupe_value, sizeof(im->st.dupe_value), "%s", v[0].s);
	} else if (rc != SQLITE_DONE)
		db_die(im->db, NULL);
	sqlite3_reset(st[0]);
	sqlite3_clear_bindings(st[0]);
	if (rc == SQLITE_ROW && same)
		return 2;
	which = rc == SQLITE_ROW ? 1 : 0;
	/* only the statement that runs gets the values */
	bind_kv(st[which ? 2 : 1], v, n);
	db_step_done(im->db, st[which ? 2 : 1]);
	sqlite3_clear_bindings(st[which ? 2 : 1]);
	return which;
}

/* ---- order_stats (lib/db.h) ---- */

/* The orders of customer id changed in this transaction. */
void imp_stats_dirty(struct imp *im, int64_t id)
{
	if (id > 0 && bitmap_set(&im->dirty, &im->dirty_bytes, (uint64_t)id))
		im->ndirty++;
}

/*
 * Brings order_stats up to date for the orders written since the last
 * commit, in the same transaction: customer by customer (an index range
 * each), or, when that would touch a good part of the orders anyway (a
 * large import, whose indexes were deferred), the whole table in one
 * pass over the orders.
 */
void imp_stats_flush(struct imp *im)
{
	int64_t norders = 0;
	sqlite3_stmt *st;

	if (!im->ndirty)
		return;
	if (!im->bulk_orders) {
		st = db_prepare(im->db, "SELECT coalesce(max(id), 0) FROM orders");
		if (db_step_row(im->db, st))
			norders = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	if (im->bulk_orders || (int64_t)im->ndirty * 16 > norders) {
		db_order_stats_rebuild(im->db);
	} else {
		if (!im->stats.db)
			db_order_stats_open(im->db, &im->stats);
		for (size_t b = 0; b < im->dirty_bytes; b++)
			for (int k = 0; im->dirty[b] && k < 8; k++)
				if (im->dirty[b] & (1u << k))
					db_order_stats_refresh(&im->stats, (int64_t)b * 8 + k);
	}
	memset(im->dirty, 0, im->dirty_bytes);
	im->ndirty = 0;
}

/* The status of an order or order line, normalised (lib/ordstat.h); a
 * status in no list of crm.conf [orders] is a counted warning. */
void imp_take_status(struct imp *im)
{
	struct sb *v = &im->v[F_STATUS];
	const char *s;
	size_t n;
	int known;

	if (!(s = imp_raw(im, F_STATUS, &n)))
		return;
	ordstat_norm(s, n, v);
	im->has[F_STATUS] = 1;
	ordstat_class(v->buf, 0, &known);
	if (!known) {
		sb_reset(&im->tmp);
		imp_quote_val(&im->tmp, F_STATUS, v->buf, v->len);
		imp_warn_counted(im, "order status %s is in no list of crm.conf [orders]:"
				 " kept, not counted as a purchase", im->tmp.buf);
	}
}

int imp_row_order(struct imp *im)
{
	const char *why, *s;
	size_t n;
	int64_t cid, minor, old_cid = 0;
	char code[4];
	int exponent = 2;
	char *attrs = NULL;
	int rc, no_amount;

	/* required values first: a bad row must not create a stub */
	if (!imp_take_time(im, F_TIME, &why)) {
		sb_reset(&im->tmp);
		if (why)
			sb_addf(&im->tmp, "invalid ordered_at: %s", why);
		else
			sb_adds(&im->tmp, "no ordered_at");
		imp_reject(im, im->rec, im->tmp.buf);
		return -1;
	}
	s = imp_raw(im, F_CURRENCY, &n);
	if (!s && im->o->currency)
		s = im->o->currency, n = strlen(s);
	if (!s) {
		imp_reject(im, im->rec, "no currency (give --currency CODE)");
		return -1;
	}
	if (norm_currency(s, n, code, &exponent, &why) < 0) {
		imp_reject_value(im, F_CURRENCY, "currency", s, n, why);
		return -1;
	}
	s = imp_raw(im, F_AMOUNT, &n);
	/* no amount column (with order ids: imp_check_columns): the amount
	 * comes from the order's lines (crm-import lines) */
	no_amount = !s && im->fieldcol[F_AMOUNT] < 0 && imp_raw(im, F_ORDERID, &n);
	if (no_amount) {
		minor = 0;
	} else if (!s) {
		imp_reject(im, im->rec, "no amount");
		return -1;
	} else if (norm_amount(s, n, exponent, &im->o->norm, &minor, &why) < 0) {
		imp_reject_value(im, F_AMOUNT, "amount", s, n, why);
		return -1;
	}
	if (minor < 0)
		im->st.negative++;
	if (strcmp(imp_val(im, F_TIME), im->soon) > 0)
		im->st.future++;
	imp_take_status(im);
	imp_take_attrs(im);
	if (im->attrs)
		attrs = imp_json_sorted(im->attrs);
	if (imp_attrs_too_big(im, attrs) || !(cid = imp_resolve_customer(im))) {
		free(attrs);
		return -1;
	}

	if ((s = imp_raw(im, F_ORDERID, &n))) {
		sb_reset(&im->key);
		sb_add(&im->key, s, n);
	} else {
		sb_reset(&im->tmp);
		sb_addf(&im->tmp, "%s\x1f%s\x1f%s\x1f%s\x1f%" PRId64 "\x1f%s\x1f%s\x1f%s",
			imp_val(im, F_CUSTREF) ? imp_val(im, F_CUSTREF) : "",
			imp_val(im, F_EMAIL) ? imp_val(im, F_EMAIL) : "",
			imp_val(im, F_PHONE) ? imp_val(im, F_PHONE) : "",
			imp_val(im, F_TIME), minor, code,
			imp_val(im, F_STATUS) ? imp_val(im, F_STATUS) : "", attrs ? attrs : "");
		content_key(im, &im->tmp);
	}
	int64_t points;
	int have_points = imp_points_check(im, cid, im->key.buf, &points);
	if (have_points < 0) {
		free(attrs);
		return -1;
	}
	struct kv v[] = {
		{ im->key.buf, 0, 0 }, { NULL, cid, 1 }, { imp_val(im, F_TIME), 0, 0 },
		{ NULL, minor, !no_amount }, { code, 0, 0 }, { imp_val(im, F_STATUS), 0, 0 },
		{ attrs, 0, 0 },
	};
	rc = keyed_upsert(im, im->ord, v, (int)ARRAY_SIZE(v), &old_cid);
	imp_coupon_order(im, im->key.buf, cid);
	/* a points_used column: its value, or none for an empty cell */
	if (im->fieldcol[F_POINTS] >= 0 && imp_points_set(im, im->key.buf, points) && rc == 2)
		rc = 1;
	free(attrs);
	if (rc == 0 || rc == 1)
		imp_stats_dirty(im, cid);
	if (rc == 1 && old_cid != cid)
		imp_stats_dirty(im, old_cid);
	return rc;
}

int imp_row_event(struct imp *im)
{
	const char *why, *s;
	size_t n;
	int64_t cid;
	char *props = NULL;
	int rc;

	if ((s = imp_raw(im, F_TYPE, &n))) {
		struct sb *v = &im->v[F_TYPE];
		sb_reset(v);
		for (size_t i = 0; i < n; i++)
			sb_addc(v, ascii_lower((unsigned char)s[i]));
		im->has[F_TYPE] = 1;
	} else {
		imp_reject(im, im->rec, "no event type");
		return -1;
	}
	if (!imp_take_time(im, F_TIME, &why)) {
		sb_reset(&im->tmp);
		if (why)
			sb_addf(&im->tmp, "invalid occurred_at: %s", why);
		else
			sb_adds(&im->tmp, "no occurred_at");
		imp_reject(im, im->rec, im->tmp.buf);
		return -1;
	}
	if (strcmp(imp_val(im, F_TIME), im->soon) > 0)
		im->st.future++;
	/* props: a JSON object column, plus unknown columns */
	imp_take_attrs(im);
	int pc = im->fieldcol[F_PROPS];
	if (pc >= 0 && (size_t)pc < im->rec->n && im->rec->f[pc].kind != REC_ABSENT &&
	    im->rec->f[pc].len) {
		cJSON *p = cJSON_ParseWithLength(im->rec->f[pc].s, im->rec->f[pc].len);
		if (!cJSON_IsObject(p)) {
			cJSON_Delete(p);
			imp_reject(im, im->rec, "props is not a JSON object");
			return -1;
		}
		if (im->attrs) {
			imp_json_merge(p, im->attrs, 0);
			cJSON_Delete(im->attrs);
		}
		im->attrs = p;
	}
	if (im->attrs)
		props = imp_json_sorted(im->attrs);
	if (imp_attrs_too_big(im, props)) {
		free(props);
		return -1;
	}
	imp_take_text(im, F_CAMPAIGN, "campaign");
	imp_take_text(im, F_MESSAGE, "message_id");
	imp_take_text(im, F_MACHINE, "machine");
	if (!(cid = imp_resolve_customer(im))) {
		free(props);
		return -1;
	}
	/* a bounce that names no address is of the customer's address now
	 * (supp.h): said in props, so that a later change of address is
	 * not suppressed with it */
	if (!strcmp(imp_val(im, F_TYPE), "bounced") &&
	    !cJSON_GetObjectItemCaseSensitive(im->attrs, "address")) {
		const cJSON *ch = cJSON_GetObjectItemCaseSensitive(im->attrs, "channel");
		const char *chan = cJSON_IsString(ch) ? ch->valuestring : "email";
		char *a = supp_address(im->db, cid, chan);
		if (a) {
			if (!im->attrs)
				im->attrs = cJSON_CreateObject();
			cJSON_AddStringToObject(im->attrs, "address", a);
			free(props);
			props = imp_json_sorted(im->attrs);
			free(a);
		}
	}
	if ((s = imp_raw(im, F_EVENTID, &n))) {
		sb_reset(&im->key);
		sb_add(&im->key, s, n);
	} else {
		sb_reset(&im->tmp);
		sb_addf(&im->tmp, "%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s",
			imp_val(im, F_CUSTREF) ? imp_val(im, F_CUSTREF) : "",
			imp_val(im, F_EMAIL) ? imp_val(im, F_EMAIL) : "",
			imp_val(im, F_PHONE) ? imp_val(im, F_PHONE) : "",
			imp_val(im, F_TYPE), imp_val(im, F_TIME),
			imp_val(im, F_CAMPAIGN) ? imp_val(im, F_CAMPAIGN) : "",
			imp_val(im, F_MESSAGE) ? imp_val(im, F_MESSAGE) : "", props ? props : "");
		content_key(im, &im->tmp);
	}
	struct kv v[] = {
		{ im->key.buf, 0, 0 }, { NULL, cid, 1 }, { imp_val(im, F_TYPE), 0, 0 },
		{ imp_val(im, F_TIME), 0, 0 }, { imp_val(im, F_CAMPAIGN), 0, 0 },
		{ imp_val(im, F_MESSAGE), 0, 0 }, { props, 0, 0 }, { imp_val(im, F_MACHINE), 0, 0 },
	};
	rc = keyed_upsert(im, im->ev, v, (int)ARRAY_SIZE(v), NULL);
	/* a hard bounce or a complaint suppresses its address (supp.h) */
	if (rc == 0)
		supp_event(im->db, im->secret, cid, imp_val(im, F_TYPE), props, imp_val(im, F_TIME),
			   imp_val(im, F_MESSAGE), "import");
	free(props);
	return rc;
}

/* Appends to the consent history. With a time, the record is kept unless
 * the same one exists; without, only a change of state is recorded. */
static void consent_record(struct imp *im, int64_t cid, const char *channel,
			   int granted, const char *when, const char *source,
			   int *changed)
{
	char now[20];

	*changed = 0;
	if (!when) {
		int cur = -1;
		sqlite3_bind_int64(im->cons_cur, 1, cid);
		sqlite3_bind_text(im->cons_cur, 2, channel, -1, SQLITE_STATIC);
		if (db_step_row(im->db, im->cons_cur))
			cur = sqlite3_column_int(im->cons_cur, 0);
		sqlite3_reset(im->cons_cur);
		if (cur == granted)
			return;
		norm_fmt_time(im->crm->now, now);
		when = now;
	}
	sqlite3_bind_int64(im->cons_ins, 1, cid);
	sqlite3_bind_text(im->cons_ins, 2, channel, -1, SQLITE_STATIC);
	sqlite3_bind_int(im->cons_ins, 3, granted);
	db_bind_text(im->cons_ins, 4, when, -1);
	sqlite3_bind_text(im->cons_ins, 5, source, -1, SQLITE_STATIC);
	*changed = db_step_done(im->db, im->cons_ins) > 0;
}

int imp_row_consent(struct imp *im)
{
	const char *why, *s;
	size_t n;
	int64_t cid;
	int g, changed;
	struct sb *ch = &im->v[F_CHANNEL];

	if (!(s = imp_raw(im, F_CHANNEL, &n))) {
		imp_reject(im, im->rec, "no channel");
		return -1;
	}
	sb_reset(ch);
	for (size_t i = 0; i < n; i++)
		sb_addc(ch, ascii_lower((unsigned char)s[i]));
	if (!strcmp(ch->buf, "e-mail") || !strcmp(ch->buf, "mail"))
		sb_reset(ch), sb_adds(ch, "email");
	/* a channel, or a topic of one ("email:news", crm.7) */
	const char *cwhy;
	int known = norm_consent_channel(ch->buf, ch->len, &cwhy);
	if (known < 0) {
		sb_reset(&im->tmp);
		sb_adds(&im->tmp, known == -2 ? "invalid topic in channel " : "unknown channel ");
		imp_quote_val(&im->tmp, F_CHANNEL, s, n);
		if (known == -2)
			sb_addf(&im->tmp, ": %s", cwhy);
		else
			sb_adds(&im->tmp, " (email, sms, push, telegram, whatsapp, viber, webhook,"
				" or CHANNEL:TOPIC)");
		imp_reject(im, im->rec, im->tmp.buf);
		return -1;
	}
	if (!(s = imp_raw(im, F_GRANTED, &n))) {
		imp_reject(im, im->rec, "no granted value");
		return -1;
	}
	if (norm_bool(s, n, &g, &why) < 0) {
		imp_reject_value(im, F_GRANTED, "granted", s, n, why);
		return -1;
	}
	if (!imp_take_time(im, F_TIME, &why) && why) {
		sb_reset(&im->tmp);
		sb_addf(&im->tmp, "invalid recorded_at: %s", why);
		imp_reject(im, im->rec, im->tmp.buf);
		return -1;
	}
	imp_take_text(im, F_SOURCE, "source");
	if (!(cid = imp_resolve_customer(im)))
		return -1;
	consent_record(im, cid, ch->buf, g, imp_val(im, F_TIME),
		       imp_val(im, F_SOURCE) ? imp_val(im, F_SOURCE)
					 : im->o->source ? im->o->source : "import",
		       &changed);
	return changed ? 0 : 2;
}
