/*
 * who.h - finding customers from what a person or another program gives:
 * an external id, an e-mail address or a phone number (crm-segment --why
 * ID, customers piped into crm-segment, and later crm-send's recipients
 * and crm-report customer ID).
 *
 * E-mails and phones are normalised the way crm-import stores them
 * (norm.h), so " Ann@Example.COM" finds ann@example.com and
 * "+7 916 123-45-67" finds +79161234567. Erased customers are never found.
 */
#ifndef CRM_WHO_H
#define CRM_WHO_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

#include "rec.h"
#include "util.h"

enum who_by {
	WHO_ANY,   /* external id; else an e-mail when it has '@'; else a phone */
	WHO_ID,
	WHO_EMAIL,
	WHO_PHONE,
};

struct who {
	sqlite3 *db;
	sqlite3_stmt *st[3]; /* by external id, e-mail, phone */
	struct sb buf;
};

void who_init(struct who *w, sqlite3 *db);
void who_free(struct who *w);

/* The customer's rowid (customers.id), or 0 when there is none; *why
 * (may be NULL) then says why, e.g. `no customer with id "C9"` or
 * `invalid phone "12": too short`. */
int64_t who_find(struct who *w, enum who_by by, const char *s, size_t len, const char **why);

/*
 * Customers in a file of rows (CSV with a header, JSON lines): the columns
 * "id" (or "customer_id", as crm-send prints it), "email" and "phone", in
 * any case, name them. who_columns() finds them (-1 when absent) and
 * returns how many there are; call it again when rec_ncols() grows (JSON
 * lines add columns as keys appear). who_find_row() tries the row's id,
 * then its e-mail, then its phone, skipping empty ones, so that rows of
 * customers without an external id still find them.
 */
struct who_cols {
	long id, email, phone;
};

int who_columns(const struct rdr *r, struct who_cols *c);
int64_t who_find_row(struct who *w, const struct who_cols *c, const struct rec *rec,
		     const char **why);

/*
 * Reads the customers named by a file of rows or a plain list (path "-"
 * is standard input; see above) and calls fn(arg, customer id) for each
 * row that names one, in input order (a customer named twice is passed
 * twice). Rows that name nobody, and malformed rows, are reported as
 * warnings with their file and line. Returns the number of such rows, or
 * -1 after reporting a fatal error (unreadable file, a header without a
 * column naming customers).
 */
long who_read(sqlite3 *db, const char *path, void (*fn)(void *, int64_t), void *arg);

#endif
