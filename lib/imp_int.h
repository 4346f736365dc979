/*
 * imp_int.h - what the parts of the import engine share (lib/imp.c and
 * lib/imp_*.c); not an interface for anything else.
 *
 *   imp.c      the run: statements, transactions, files, summaries
 *   imp_map.c  the fields of each kind and how columns map to them
 *   imp_val.c  the values of the current row, diagnostics and rejects
 *   imp_row.c  one row of each kind: customers, orders, events, consents
 *   imp_lines.c  order lines: batched in memory, then orders, lines and products
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

/* The most a customer's attributes (or an order's attributes, an event's
 * props) may take as JSON: a row of 1 MiB (max_record) makes at most
 * about 7 MiB (every byte a control character, escaped as \u00XX); what
 * piles up past 16 MiB over many imports is rejected rather than parsed
 * and printed again on every later import of that customer. */
#define IMP_MAX_ATTRS (16 << 20)

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
	F_STUB,      /* customers: is_stub (crm-report export) */
	F_ERASED,    /* customers: erased_at (crm-report export) */
	F_MACHINE,   /* events: why a hit is a machine's (crm-track) */
	F_SKU,       /* lines: the product's code */
	F_PRODUCT,   /* lines: the product's name */
	F_CATEGORY,  /* lines: the product's category */
	F_QTY,       /* lines: quantity (negative: a return) */
	F_PRICE,     /* lines: unit price */
	F_ALIAS,     /* customers: another id of the customer (customer_aliases) */
	F_RATE,      /* rates: units of the base currency for one of the currency */
	F_PROMO,     /* orders: the promo code redeemed (imp_coupon.c) */
	F_POINTS,    /* orders: loyalty points paid with it (imp_loyalty.c) */
	F_COST,      /* rewards: the cost in points */
	F_STOCK,     /* rewards: how many are left (empty: no limit) */
	F_GROUP,     /* messages: treatment or control */
	F_VARIANT,   /* messages: the treatment's variant */
	F_MAX
};

struct fdef {
	enum field f;
	const char *name;    /* canonical name (for --map and messages) */
	const char *aliases; /* normalised names, space-separated */
};

/*
 * An input of the run (imp_dates.c). When dates are decided per column
 * (--date-format auto or ymd) every input is read twice: once to decide,
 * once to import. A regular file is opened again; standard input that is
 * a regular file is read again from where it started; a pipe (stdin, a
 * FIFO, <(...)) is first copied to an unlinked file in $TMPDIR, which
 * costs disk, not memory.
 */
struct imp_src {
	const char *path;    /* as given; "-" is stdin */
	const char *mem;     /* a session's buffer (crm-track), or NULL */
	size_t memlen;
	int fd;              /* >= 0: read through stdin from this fd */
	off_t start;         /* ... from this offset */
	int spooled;         /* fd is a copy of the pipe path was */
	struct imp_datecol {
		size_t col;  /* column of the file */
		enum norm_date_order order; /* NORM_DATE_AUTO_DMY or _MDY */
	} *dc;
	size_t ndc;
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
	sqlite3_stmt *alias_find, *alias_set;
	sqlite3_stmt *ord[3], *ev[3], *occ[3], *supp, *cons_cur, *cons_ins;

	FILE *rejects;
	struct imp_stats tot, st;
	char soon[20];       /* now and a day: later times are "in the future" */

	/* current file */
	struct rdr *r;
	const char *fname;
	size_t ncols;       /* columns mapped so far */
	size_t colcap;      /* room in the arrays below */
	int *colfield;      /* field of each column */
	char **colkey;      /* attribute key / consent channel per column */
	size_t *colgroup;   /* attribute column: the first column with its key */
	size_t *gmap;       /* hash set of those first columns (index + 1) */
	size_t gcap, gcount;
	size_t ncols_grouped; /* columns mapped so far, while mapping */
	cJSON **aslot;      /* imp_take_attrs: the row's value of each group */
	size_t *aused;      /* ... the groups it set, in order */
	int fieldcol[F_MAX];
	int fieldexact[F_MAX];
	int refused;
	int quiet_map;      /* mapping columns again: no warnings */
	const struct imp_src *src; /* its date columns' orders */
	struct norm_opts dnorm;    /* imp_date_opts() */

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
	struct imp_lines *lines; /* kind lines: its statements (imp_lines.c) */
	sqlite3_stmt *rate_find, *rate_set; /* kind rates (imp_rates.c) */
	char base[4];            /* ... the base currency */
	struct imp_coupon *coupon; /* orders' promo_code (imp_coupon.c) */
	struct imp_loyalty *loyalty; /* points_used, rewards (imp_loyalty.c) */
	struct imp_messages *messages; /* kind messages (imp_messages.c) */

	/* the files' summaries, printed once the import is committed */
	struct imp_sum {
		char *name;
		struct imp_stats st;
		double secs;
	} *sums;
	size_t nsums;
	/* warnings counted by distinct message (imp_warn_counted), printed
	 * once each with their count when the file ends */
	struct imp_wc {
		char *msg;
		long line;      /* of the first row that had it */
		uint64_t rows;
	} *wc;
	size_t nwc, wccap;
	size_t *wcmap;      /* hash set of wc (index + 1) */
	size_t wcmapcap;
	uint64_t wc_more;   /* rows past IMP_MAX_COUNTED distinct messages */
	/* orders and events: the highest row id before the current file; a
	 * row of the file that meets one above it repeats an id of the file */
	int64_t dup_from;
	/* --batch: what the commits so far stored */
	uint64_t committed_rows;
	char committed_file[256];
	long committed_line;
};

/* The columns of the current row worth looking at: for JSON lines the
 * ones it has (rec.present), else all. A row costs its own width, not
 * the number of columns the file has had.
 *     for (size_t ck = 0, i; imp_next_col(im, &ck, &i);) ... */
static inline int imp_next_col(const struct imp *im, size_t *k, size_t *i)
{
	const struct rec *r = im->rec;

	for (; r->present ? *k < r->npresent : *k < r->n; ++*k) {
		*i = r->present ? r->present[*k] : *k;
		if (*i < im->ncols && *i < r->n) {
			++*k;
			return 1;
		}
	}
	return 0;
}

/* imp_map.c */
const struct fdef *imp_kind_fields(enum imp_kind k);
void imp_map_columns(struct imp *im);
int imp_check_columns(struct imp *im);

/* imp_val.c */
void imp_field_text(const struct rec_field *f, const char **s, size_t *n);
void imp_warn(struct imp *im, const char *fmt, ...) CRM_FMT(2, 3);
/*
 * A warning about a value that many rows may share ("invalid country
 * "Atlantis": ..."): counted by its distinct text, and printed once per
 * file, at the line of the first row that had it, with the number of
 * rows: 'f.csv:2: warning: invalid country "Atlantis": unknown country;
 * field dropped (3 rows)'. imp_warn_flush() prints them, in the order
 * they first came, when the file ends. At most IMP_MAX_COUNTED distinct
 * texts are kept per file; the rows of others are summed in one line.
 */
#define IMP_MAX_COUNTED 10000
void imp_warn_counted(struct imp *im, const char *fmt, ...) CRM_FMT(2, 3);
void imp_warn_flush(struct imp *im);
void imp_reject(struct imp *im, const struct rec *rec, const char *reason);
void imp_quote_val(struct sb *sb, int f, const char *s, size_t n);
void imp_reject_value(struct imp *im, int f, const char *what, const char *s, size_t n,
		      const char *why);
const char *imp_raw(struct imp *im, enum field f, size_t *len);
void imp_set(struct imp *im, enum field f, const char *s, size_t n);
const char *imp_val(struct imp *im, enum field f);
void imp_take_text(struct imp *im, enum field f, const char *what);
void imp_take_lines(struct imp *im, enum field f, const char *what);
int imp_clean_text(const char *s, size_t n, int lines, struct sb *out);
void imp_take_email(struct imp *im);
void imp_take_phone(struct imp *im);
int imp_take_time(struct imp *im, enum field f, const char **why);
void imp_take_attrs(struct imp *im);
char *imp_json_sorted(cJSON *obj);
char *imp_merge_attrs(struct imp *im, const char *old);
size_t imp_json_merge(cJSON *dst, const cJSON *src, int skip_same);
int imp_attrs_too_big(struct imp *im, const char *json);

/* imp_dates.c */
int imp_src_init(struct imp_src *s, const char *path);
struct rdr *imp_src_open(struct imp_src *s, const struct rec_opts *o);
const char *imp_src_name(const struct imp_src *s, struct rdr *r);
void imp_src_free(struct imp_src *s);
int imp_dates_scan(struct imp *im, struct imp_src *s);
const struct norm_opts *imp_date_opts(struct imp *im, enum field f);

/* imp_row.c: each returns 0 inserted, 1 updated, 2 unchanged, -1 rejected */
int imp_row_customer(struct imp *im);
int imp_row_order(struct imp *im);
int imp_row_event(struct imp *im);
int imp_row_consent(struct imp *im);
void imp_stats_flush(struct imp *im);
int64_t imp_resolve_customer(struct imp *im);
void imp_stats_dirty(struct imp *im, int64_t id);

/* imp_lines.c: kind lines. imp_row_line stages the row and returns 3 (its
 * count comes with the flush); imp_lines_flush writes what is staged
 * (final: at the end of a file, nothing stays open). */
void imp_lines_prepare(struct imp *im);
int imp_row_line(struct imp *im);
void imp_take_status(struct imp *im);
/* kind products: a catalogue (sku, product_name, category) into products;
 * an empty name or category keeps the stored one. */
int imp_row_product(struct imp *im);
void imp_lines_flush(struct imp *im, int final);
/* imp_rates.c: kind rates (exchange_rates): the base currency checked or
 * set (meta base_currency, --currency), then one rate per row. */
int imp_rates_prepare(struct imp *im);
int imp_row_rate(struct imp *im);
void imp_rates_close(struct imp *im);
void imp_lines_close(struct imp *im);
/* imp_coupon.c: an order's promo_code, after its upsert (key: its
 * external_id, cid: its customer) */
void imp_coupon_order(struct imp *im, const char *key, int64_t cid);
void imp_coupon_close(struct imp *im);
/* imp_loyalty.c: an order's points_used (checked before its upsert: -1
 * rejected, 0 none, 1 *points set; then set: 1 when it changed) and kind
 * rewards (the catalogue of crm-loyalty redeem) */
int imp_points_check(struct imp *im, int64_t cid, const char *key, int64_t *points);
int imp_points_set(struct imp *im, const char *key, int64_t points);
int imp_row_reward(struct imp *im);
void imp_loyalty_close(struct imp *im);
/* imp_messages.c: kind messages (a past campaign's outbox rows) */
int imp_row_message(struct imp *im);
void imp_messages_close(struct imp *im);

#endif
