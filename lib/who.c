#include "who.h"

#include <stdio.h>
#include <string.h>

#include "db.h"
#include "diag.h"
#include "norm.h"

static const char *const queries[3] = {
	"SELECT id FROM customers WHERE external_id = ? AND erased_at IS NULL",
	"SELECT id FROM customers WHERE email = ? AND erased_at IS NULL",
	"SELECT id FROM customers WHERE phone = ? AND erased_at IS NULL",
};

void who_init(struct who *w, sqlite3 *db)
{
	memset(w, 0, sizeof(*w));
	w->db = db;
	sb_init(&w->buf);
}

void who_free(struct who *w)
{
	for (size_t i = 0; i < ARRAY_SIZE(w->st); i++)
		sqlite3_finalize(w->st[i]);
	sb_free(&w->buf);
	memset(w, 0, sizeof(*w));
}

static int64_t lookup(struct who *w, int i, const char *s, size_t len)
{
	sqlite3_stmt *st;
	int64_t id = 0;
	int rc;

	if (!w->st[i])
		w->st[i] = db_prepare(w->db, queries[i]);
	st = w->st[i];
	sqlite3_bind_text(st, 1, s, (int)len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		db_die(w->db, "cannot look up a customer");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return id;
}

int64_t who_find(struct who *w, enum who_by by, const char *s, size_t len, const char **why)
{
	static char msg[160];
	const char *what, *t = trim(s, &len), *bad = NULL;
	char phone[17];
	int64_t id = 0;

	if (why)
		*why = NULL;
	if (!len) {
		if (why)
			*why = "empty customer id";
		return 0;
	}
	if (by == WHO_ANY || by == WHO_ID) {
		if ((id = lookup(w, 0, t, len)))
			return id;
		what = "id";
		if (by == WHO_ANY)
			by = memchr(t, '@', len) ? WHO_EMAIL : WHO_PHONE;
		if (by == WHO_PHONE && strspn(t, "+0123456789 -().") != len)
			by = WHO_ID;	/* not a phone either: report the id */
	}
	if (by == WHO_EMAIL) {
		what = "e-mail";
		if (norm_email(t, len, &w->buf, &bad) == 0 &&
		    (id = lookup(w, 1, w->buf.buf, w->buf.len)))
			return id;
	} else if (by == WHO_PHONE) {
		what = "phone";
		if (norm_phone(t, len, NULL, NULL, phone, &bad) == 0 &&
		    (id = lookup(w, 2, phone, strlen(phone))))
			return id;
	} else {
		what = "id";
	}
	if (why) {
		/* logs name customers by id: an e-mail or a phone (personal
		 * data, from a file or the base) is shown only with -v */
		int hide = strcmp(what, "id") && crm_verbosity < 2;
		if (bad && hide)
			snprintf(msg, sizeof(msg), "invalid %s: %s (-v shows it)", what, bad);
		else if (bad)
			snprintf(msg, sizeof(msg), "invalid %s \"%.*s\": %s", what,
				 (int)(len > 64 ? 64 : len), t, bad);
		else if (hide)
			snprintf(msg, sizeof(msg), "no customer with that %s (-v shows it)", what);
		else
			snprintf(msg, sizeof(msg), "no customer with %s \"%.*s\"", what,
				 (int)(len > 64 ? 64 : len), t);
		*why = msg;
	}
	return 0;
}

int who_columns(const struct rdr *r, struct who_cols *c)
{
	static const char *const names[] = { "id", "customer_id", "email", "phone" };
	long *slot[] = { &c->id, &c->id, &c->email, &c->phone };
	size_t n = rec_ncols(r);
	int found = 0;

	c->id = c->email = c->phone = -1;
	for (size_t k = 0; k < ARRAY_SIZE(names); k++)
		for (size_t i = 0; i < n && *slot[k] < 0; i++)
			if (!ascii_casecmp(rec_colname(r, i), names[k])) {
				*slot[k] = (long)i;
				found++;
			}
	return found;
}

static const struct rec_field *field(const struct rec *rec, long col)
{
	if (col < 0 || (size_t)col >= rec->n || rec->f[col].kind == REC_ABSENT)
		return NULL;
	return &rec->f[col];
}

int64_t who_find_row(struct who *w, const struct who_cols *c, const struct rec *rec,
		     const char **why)
{
	const long cols[3] = { c->id, c->email, c->phone };
	static const enum who_by by[3] = { WHO_ID, WHO_EMAIL, WHO_PHONE };
	const char *first_why = NULL;
	int64_t id;

	for (int k = 0; k < 3; k++) {
		const struct rec_field *f = field(rec, cols[k]);
		size_t len;
		if (!f)
			continue;
		len = f->len;
		if (!trim(f->s, &len) || !len)
			continue;
		if ((id = who_find(w, by[k], f->s, f->len, why)))
			return id;
		if (!first_why && why && *why) {
			static char keep[160];
			snprintf(keep, sizeof(keep), "%s", *why);
			first_why = keep;
		}
	}
	if (why)
		*why = first_why ? first_why : "no id, e-mail or phone";
	return 0;
}

long who_read(sqlite3 *db, const char *path, void (*fn)(void *, int64_t), void *arg)
{
	struct rdr *r = rec_open(path, NULL);
	struct who w;
	struct who_cols wc = { -1, -1, -1 };
	struct rec rec;
	size_t ncols = 0;
	long bad = 0;
	int plain = 0, rc;

	if (!r) {
		crm_error_errno("%s: cannot open", path);
		return -1;
	}
	who_init(&w, db);
	if (rec_format(r) == REC_CSV && rec_ncols(r) > 0) {
		ncols = rec_ncols(r);
		if (who_columns(r, &wc) == 0) {
			const char *name = rec_colname(r, 0), *why;
			int64_t id;

			if (ncols > 1) {
				crm_error_at(rec_name(r), rec_header_line(r),
					     "no column names the customers (id, customer_id, email or phone)");
				bad = -1;
				goto out;
			}
			/* a plain list: the "header" is the first id */
			plain = 1;
			if ((id = who_find(&w, WHO_ANY, name, strlen(name), &why))) {
				fn(arg, id);
			} else {
				bad++;
				crm_warn_at(rec_name(r), rec_header_line(r), "%s", why);
			}
		}
	}
	while ((rc = rec_next(r, &rec)) == REC_OK) {
		const char *why;
		int64_t id;

		if (rec.error) {
			bad++;
			crm_warn_at(rec_name(r), rec.line, "%s", rec.error);
			continue;
		}
		if (rec_ncols(r) != ncols) {	/* JSON lines: new keys */
			ncols = rec_ncols(r);
			who_columns(r, &wc);
		}
		if (plain)
			id = who_find(&w, WHO_ANY, rec.raw, rec.rawlen, &why);
		else
			id = who_find_row(&w, &wc, &rec, &why);
		if (!id) {
			bad++;
			crm_warn_at(rec_name(r), rec.line, "%s", why);
			continue;
		}
		fn(arg, id);
	}
	if (rc == REC_FATAL) {
		crm_error("%s: %s", rec_name(r), rec_errmsg(r));
		bad = -1;
	}
out:
	who_free(&w);
	rec_close(r);
	return bad;
}
