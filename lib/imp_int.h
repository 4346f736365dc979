/*
 * imp_int.h - what the parts of the import engine share (lib/imp.c and
 * lib/imp_*.c); not an interface for anything else.
 *
 *   imp.c      the run: statements, transactions, files, summaries
 *   imp_map.c  the fields of each kind and how columns map to them
 *   imp_val.c  the values of the current row, diagnostics and rejects
 *   imp_row.c  one row of each kind: customers, orders, events, consents
 */
#ifndef CRM_IMP_INT_H
#define CRM_IMP_INT_H

#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "db.h"
#include "diag.h"
#include "imp.h"
#include "util.h"

#define MAX_WARNINGS 100

/* the columns imp_row.c reads of a customer (imp.c prepares the lookups) */
#define CUST_COLS "id, external_id, email, phone, first_name, last_name, " \
	"birthday, city, country, timezone, created_at, attrs, is_stub"

/* Fields a column can map to. */
enum field {
	F_ATTR = -2, /* unknown column: kept as an attribute (props for events) */
	F_IGNORE = -1,
	F_EXTID,     /* customers: the customer's id */
	F_CUSTREF,   /* orders, events, consents: the customer's external id */
	F_EMAIL,
	F_PHONE,
	F_FIRST,
	F_LAST,
	F_NAME,      /* full name, split into first and last */
	F_BIRTHDAY,
	F_CITY,
	F_COUNTRY,
	F_TZ,
	F_CREATED,
	F_CONSENT,   /* customers: <channel>_consent */
	F_ORDERID,
	F_TIME,
	F_AMOUNT,
	F_CURRENCY,
	F_STATUS,
	F_EVENTID,
	F_TYPE,
	F_CAMPAIGN,
	F_MESSAGE,
	F_PROPS,
	F_CHANNEL,
	F_GRANTED,
	F_SOURCE,
	F_MAX
};

struct fdef {
	enum field f;
	const char *name;    /* canonical name (for --map and messages) */
	const char *aliases; /* normalised names, space-separated */
};

/* Per-run state. */
struct imp {
	struct crm *crm;
	const struct imp_opts *o;
	sqlite3 *db;
	char secret[65];
	int have_suppressions;

	sqlite3_stmt *cust_by[3];  /* by external_id, email, phone: full row */
	sqlite3_stmt *cust_id_by[3];
	sqlite3_stmt *cust_ins, *cust_upd, *stub_ins;
	sqlite3_stmt *ord[3], *ev[3], *occ[3], *supp, *cons_cur, *cons_ins;

	FILE *rejects;
	struct imp_stats tot, st;

	/* current file */
	struct rdr *r;
	const char *fname;
	size_t ncols;       /* columns mapped so far */
	int *colfield;      /* field of each column */
	char **colkey;      /* attribute key / consent channel per column */
	int fieldcol[F_MAX];
	int fieldexact[F_MAX];
	int refused;

	/* current row */
	struct rec *rec;
	struct sb v[F_MAX];  /* normalised values */
	int has[F_MAX];
	struct sb err, tmp, key;
	cJSON *attrs;        /* unknown columns of the row, or NULL */
	long tx_rows;
	long batch;
	int single_tx;
	char **deferred;     /* CREATE INDEX statements to run at the end */
	size_t ndeferred;
	char last_ref[128];
	int64_t last_ref_id;

	/* customers whose orders changed since the last commit: their
	 * order_stats rows are recomputed before it (stats_flush) */
	unsigned char *dirty;  /* bitmap by customer id */
	size_t dirty_bytes, ndirty;
	int bulk_orders;       /* orders' indexes deferred: rebuild it all */
	struct db_order_stats stats;

	/* the files' summaries, printed once the import is committed */
	struct imp_sum {
		char *name;
		struct imp_stats st;
		double secs;
	} *sums;
	size_t nsums;
	/* --batch: what the commits so far stored */
	uint64_t committed_rows;
	char committed_file[256];
	long committed_line;
};

/* imp_map.c */
const struct fdef *imp_kind_fields(enum imp_kind k);
void imp_map_columns(struct imp *im);
int imp_check_columns(struct imp *im);

/* imp_val.c */
void imp_field_text(const struct rec_field *f, const char **s, size_t *n);
void imp_warn(struct imp *im, const char *fmt, ...) CRM_FMT(2, 3);
void imp_reject(struct imp *im, const struct rec *rec, const char *reason);
void imp_quote_val(struct sb *sb, const char *s, size_t n);
void imp_reject_value(struct imp *im, const char *what, const char *s, size_t n,
		      const char *why);
const char *imp_raw(struct imp *im, enum field f, size_t *len);
void imp_set(struct imp *im, enum field f, const char *s, size_t n);
const char *imp_val(struct imp *im, enum field f);
void imp_take_text(struct imp *im, enum field f, const char *what);
void imp_take_email(struct imp *im);
void imp_take_phone(struct imp *im);
int imp_take_time(struct imp *im, enum field f, const char **why);
void imp_take_attrs(struct imp *im);
char *imp_json_sorted(cJSON *obj);
char *imp_merge_attrs(struct imp *im, const char *old);

/* imp_row.c: each returns 0 inserted, 1 updated, 2 unchanged, -1 rejected */
int imp_row_customer(struct imp *im);
int imp_row_order(struct imp *im);
int imp_row_event(struct imp *im);
int imp_row_consent(struct imp *im);
void imp_stats_flush(struct imp *im);

#endif
