/*
 * imp.c - the import engine: maps a file's columns to fields, normalises
 * each row and upserts it; counts, reports and rejects.
 *
 * Identity of a customer: external id, else normalised e-mail, else E.164
 * phone. A customer row updates the stored one field by field; an empty
 * value never erases a known one. Orders and events are keyed by their id,
 * or by "~" + a hash of their normalised content + "." + how many times the
 * same content occurred before in the same file, so that identical rows
 * stay distinct orders and a re-import still changes nothing.
 */
#include "imp.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "db.h"
#include "diag.h"
#include "erase.h"
#include "hash.h"
#include "out.h"
#include "progress.h"
#include "util.h"

#define MAX_WARNINGS 100

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

static const struct fdef cust_fields[] = {
	{ F_EXTID, "external_id", "externalid id customerid customer clientid customerno customernumber userid" },
	{ F_EMAIL, "email", "email emailaddress mail" },
	{ F_PHONE, "phone", "phone phonenumber mobile mobilephone cellphone cell tel telephone msisdn" },
	{ F_FIRST, "first_name", "firstname givenname forename" },
	{ F_LAST, "last_name", "lastname surname familyname" },
	{ F_NAME, "name", "name fullname customername" },
	{ F_BIRTHDAY, "birthday", "birthday birthdate dateofbirth dob" },
	{ F_CITY, "city", "city town" },
	{ F_COUNTRY, "country", "country countrycode" },
	{ F_TZ, "timezone", "timezone tz" },
	{ F_CREATED, "created_at", "createdat created signupdate signedupat registeredat registrationdate customersince" },
	{ F_MAX, NULL, NULL },
};

static const struct fdef order_fields[] = {
	{ F_ORDERID, "order_id", "orderid id externalid ordernumber orderno number" },
	{ F_CUSTREF, "customer_id", "customerid customer customerexternalid clientid userid" },
	{ F_EMAIL, "email", "email emailaddress mail" },
	{ F_PHONE, "phone", "phone phonenumber mobile msisdn" },
	{ F_TIME, "ordered_at", "orderedat orderdate date time datetime createdat timestamp purchasedat" },
	{ F_AMOUNT, "amount", "amount total sum revenue value ordertotal totalamount price" },
	{ F_CURRENCY, "currency", "currency currencycode" },
	{ F_STATUS, "status", "status orderstatus state" },
	{ F_MAX, NULL, NULL },
};

static const struct fdef event_fields[] = {
	{ F_EVENTID, "event_id", "eventid id externalid" },
	{ F_CUSTREF, "customer_id", "customerid customer clientid userid" },
	{ F_EMAIL, "email", "email emailaddress mail" },
	{ F_PHONE, "phone", "phone phonenumber mobile msisdn" },
	{ F_TYPE, "type", "type event eventtype eventname" },
	{ F_TIME, "occurred_at", "occurredat time timestamp date datetime createdat at" },
	{ F_CAMPAIGN, "campaign", "campaign campaignid campaignname" },
	{ F_MESSAGE, "message_id", "messageid message" },
	{ F_PROPS, "props", "props properties data" },
	{ F_MAX, NULL, NULL },
};

static const struct fdef consent_fields[] = {
	{ F_CUSTREF, "customer_id", "customerid customer clientid userid" },
	{ F_EMAIL, "email", "email emailaddress mail" },
	{ F_PHONE, "phone", "phone phonenumber mobile msisdn" },
	{ F_CHANNEL, "channel", "channel" },
	{ F_GRANTED, "granted", "granted status consent optin subscribed value state" },
	{ F_TIME, "recorded_at", "recordedat time timestamp date datetime at updatedat createdat" },
	{ F_SOURCE, "source", "source origin" },
	{ F_MAX, NULL, NULL },
};


static const struct fdef *kind_fields(enum imp_kind k)
{
	switch (k) {
	case IMP_CUSTOMERS: return cust_fields;
	case IMP_ORDERS: return order_fields;
	case IMP_EVENTS: return event_fields;
	case IMP_CONSENTS: return consent_fields;
	default: return NULL;
	}
}

int imp_kind_parse(const char *s, enum imp_kind *k)
{
	static const char *const names[] = { "customers", "orders", "events", "consents", "erase" };
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(s, names[i])) {
			*k = (enum imp_kind)i;
			return 0;
		}
	return -1;
}

const char *imp_kind_name(enum imp_kind k)
{
	static const char *const names[] = { "customers", "orders", "events", "consents", "erase" };
	return names[k];
}

int imp_add_map(struct imp_opts *o, const char *spec)
{
	const char *eq = strchr(spec, '=');
	if (!eq || eq == spec)
		return -1;
	o->maps = xrealloc(o->maps, (o->nmaps + 1) * sizeof(*o->maps));
	o->maps[o->nmaps].from = xstrndup(spec, eq - spec);
	o->maps[o->nmaps].to = eq + 1;
	o->nmaps++;
	return 0;
}

/* "E-Mail Address" -> "emailaddress": what column names are matched by. */
static void norm_colname(const char *s, char *out, size_t n)
{
	size_t k = 0;
	for (; *s && k + 1 < n; s++)
		if (ascii_isalpha((unsigned char)*s) || ascii_isdigit((unsigned char)*s))
			out[k++] = (char)ascii_lower((unsigned char)*s);
	out[k] = 0;
}

/* "Loyalty Tier" -> "loyalty_tier": the key an unknown column is kept
 * under, usable as attr.loyalty_tier in expressions. */
static char *attr_key(const char *s)
{
	struct sb sb = SB_INIT;
	int gap = 0;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (ascii_isalpha(c) || ascii_isdigit(c) || c >= 0x80) {
			if (gap && sb.len)
				sb_addc(&sb, '_');
			sb_addc(&sb, ascii_lower(c));
			gap = 0;
		} else {
			gap = 1;
		}
	}
	if (!sb.len)
		sb_adds(&sb, "column");
	return sb_detach(&sb);
}

static int word_in(const char *word, const char *list)
{
	size_t n = strlen(word);
	for (const char *p = list; *p;) {
		const char *sp = strchr(p, ' ');
		size_t k = sp ? (size_t)(sp - p) : strlen(p);
		if (k == n && !memcmp(p, word, n))
			return 1;
		p += k + (sp ? 1 : 0);
	}
	return 0;
}

static const char *channel_of(const char *ncol)
{
	for (int i = 0; norm_channels[i]; i++) {
		size_t n = strlen(norm_channels[i]);
		if (!strncmp(ncol, norm_channels[i], n) &&
		    (!strcmp(ncol + n, "consent") || !strcmp(ncol + n, "optin")))
			return norm_channels[i];
	}
	return NULL;
}

static const struct fdef *fdef_by_name(const struct fdef *defs, const char *ncol);

int imp_key_column(const char *name)
{
	char ncol[128];
	const struct fdef *d;

	norm_colname(name, ncol, sizeof(ncol));
	d = fdef_by_name(cust_fields, ncol);
	if (!d)
		return -1;
	return d->f == F_EXTID ? 0 : d->f == F_EMAIL ? 1 : d->f == F_PHONE ? 2 : -1;
}

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
};

static void rec_field_text(const struct rec_field *f, const char **s, size_t *n)
{
	*s = f->s;
	*n = f->len;
	*s = trim(*s, n);
}

/* Diagnostics. PII (e-mail, phone, names, birthday) is never echoed. */
static void warn_row(struct imp *im, const char *fmt, ...) CRM_FMT(2, 3);
static void warn_row(struct imp *im, const char *fmt, ...)
{
	va_list ap;
	im->st.warnings++;
	if (crm_verbosity < 1)
		return;
	if (im->tot.warnings + im->st.warnings > MAX_WARNINGS && crm_verbosity < 2) {
		if (im->tot.warnings + im->st.warnings == MAX_WARNINGS + 1)
			crm_warn("more warnings not shown (-v shows all)");
		return;
	}
	va_start(ap, fmt);
	crm_vreport(im->fname, im->rec->line, "warning", fmt, ap, 0);
	va_end(ap);
}

static void rejects_write(struct imp *im, const struct rec *rec, const char *reason)
{
	char line[32];
	struct sb sb = SB_INIT;
	const char *cells[4];
	size_t lens[4];

	if (!im->rejects)
		return;
	snprintf(line, sizeof(line), "%ld", rec->line);
	cells[0] = im->fname, lens[0] = strlen(im->fname);
	cells[1] = line, lens[1] = strlen(line);
	cells[2] = reason, lens[2] = strlen(reason);
	cells[3] = rec->raw ? rec->raw : "", lens[3] = rec->raw ? rec->rawlen : 0;
	for (int i = 0; i < 4; i++) {
		if (i)
			sb_addc(&sb, ',');
		sb_addc(&sb, '"');
		for (size_t k = 0; k < lens[i]; k++) {
			if (cells[i][k] == '"')
				sb_addc(&sb, '"');
			sb_addc(&sb, cells[i][k]);
		}
		sb_addc(&sb, '"');
	}
	sb_addc(&sb, '\n');
	if (fwrite(sb.buf, 1, sb.len, im->rejects) != sb.len) {
		if (im->rejects == stdout)
			out_write_failed(stdout);
		crm_die_errno(1, "%s: write error", im->o->rejects_path);
	}
	sb_free(&sb);
}

static _Noreturn void abort_run(struct imp *im)
{
	db_rollback(im->db);
	crm_error("too many rejected rows (more than %ld): nothing was imported",
		  im->o->max_rejects);
	if (im->rejects)
		fclose(im->rejects);
	exit(CRM_EXIT_FAIL);
}

static void reject(struct imp *im, const struct rec *rec, const char *reason)
{
	im->st.rejected++;
	crm_error_at(im->fname, rec->line, "%s", reason);
	rejects_write(im, rec, reason);
	if (im->o->max_rejects >= 0 &&
	    im->tot.rejected + im->st.rejected > (uint64_t)im->o->max_rejects)
		abort_run(im);
}

/* Values shown in messages: never longer than 40 bytes. */
static void quote_val(struct sb *sb, const char *s, size_t n)
{
	sb_addc(sb, '"');
	if (n > 40) {
		sb_add(sb, s, 37);
		sb_adds(sb, "...");
	} else {
		sb_add(sb, s, n);
	}
	sb_addc(sb, '"');
}

/* Rejects the row for a required value that does not parse:
 * 'invalid amount "12,3.4": misplaced group separator'. */
static void reject_value(struct imp *im, const char *what, const char *s, size_t n,
			 const char *why)
{
	sb_reset(&im->tmp);
	sb_addf(&im->tmp, "invalid %s ", what);
	quote_val(&im->tmp, s, n);
	sb_addf(&im->tmp, ": %s", why);
	reject(im, im->rec, im->tmp.buf);
}

/* ---- column mapping ---- */

static const struct fdef *fdef_by_name(const struct fdef *defs, const char *ncol)
{
	for (const struct fdef *d = defs; d->name; d++)
		if (word_in(ncol, d->aliases))
			return d;
	return NULL;
}

static void map_column(struct imp *im, size_t i)
{
	const struct fdef *defs = kind_fields(im->o->kind);
	const char *name = rec_colname(im->r, i);
	const char *target = name;
	char ncol[128];
	const struct fdef *d = NULL;
	int exact;

	im->colfield[i] = F_ATTR;
	im->colkey[i] = NULL;
	for (size_t k = 0; k < im->o->nmaps; k++)
		if (!strcmp(im->o->maps[k].from, name) ||
		    !ascii_casecmp(im->o->maps[k].from, name))
			target = im->o->maps[k].to;
	if (!*target) {
		im->colfield[i] = F_IGNORE;
		return;
	}
	if (!strncmp(target, "attr.", 5)) {
		im->colkey[i] = attr_key(target + 5);
		return;
	}
	norm_colname(target, ncol, sizeof(ncol));
	if (im->o->kind == IMP_CUSTOMERS) {
		const char *ch = channel_of(ncol);
		if (ch) {
			im->colfield[i] = F_CONSENT;
			im->colkey[i] = xstrdup(ch);
			return;
		}
	}
	d = fdef_by_name(defs, ncol);
	if (!d) {
		if (target != name)
			crm_warn("%s: --map target \"%s\" is not a %s field; kept as attribute",
				 im->fname, target, imp_kind_name(im->o->kind));
		im->colkey[i] = attr_key(name);
		return;
	}
	exact = !strcmp(target, d->name) || target != name;
	if (im->fieldcol[d->f] >= 0) {
		/* two columns for one field: the canonical or mapped name wins,
		 * else the first; the other is kept as an attribute */
		if (!exact || im->fieldexact[d->f]) {
			im->colkey[i] = attr_key(name);
			return;
		}
		int old = im->fieldcol[d->f];
		im->colfield[old] = F_ATTR;
		im->colkey[old] = attr_key(rec_colname(im->r, old));
	}
	im->colfield[i] = d->f;
	im->fieldcol[d->f] = (int)i;
	im->fieldexact[d->f] = exact;
}

static void map_columns(struct imp *im)
{
	size_t n = rec_ncols(im->r);
	if (n <= im->ncols)
		return;
	im->colfield = xrealloc(im->colfield, n * sizeof(int));
	im->colkey = xrealloc(im->colkey, n * sizeof(char *));
	for (size_t i = im->ncols; i < n; i++)
		map_column(im, i);
	im->ncols = n;
}

static int have_col(struct imp *im, enum field f)
{
	return im->fieldcol[f] >= 0;
}

/* For CSV the header tells at once whether the file can be imported. */
static int check_columns(struct imp *im)
{
	const char *missing = NULL;
	enum imp_kind k = im->o->kind;
	int ref = have_col(im, F_CUSTREF) || have_col(im, F_EMAIL) || have_col(im, F_PHONE);

	if (k == IMP_CUSTOMERS && !have_col(im, F_EXTID) && !have_col(im, F_EMAIL) &&
	    !have_col(im, F_PHONE))
		missing = "no id, email or phone column";
	else if (k != IMP_CUSTOMERS && !ref)
		missing = "no customer_id, email or phone column";
	else if (k == IMP_ORDERS && !have_col(im, F_TIME))
		missing = "no ordered_at (date) column";
	else if (k == IMP_ORDERS && !have_col(im, F_AMOUNT))
		missing = "no amount column";
	else if (k == IMP_ORDERS && !have_col(im, F_CURRENCY) && !im->o->currency)
		missing = "no currency column (give --currency CODE)";
	else if (k == IMP_EVENTS && !have_col(im, F_TYPE))
		missing = "no type column";
	else if (k == IMP_EVENTS && !have_col(im, F_TIME))
		missing = "no occurred_at (time) column";
	else if (k == IMP_CONSENTS && !have_col(im, F_CHANNEL))
		missing = "no channel column";
	else if (k == IMP_CONSENTS && !have_col(im, F_GRANTED))
		missing = "no granted column";
	if (!missing)
		return 0;
	struct sb cols = SB_INIT;
	for (size_t i = 0; i < rec_ncols(im->r); i++)
		sb_addf(&cols, "%s\"%s\"", i ? ", " : "", rec_colname(im->r, i));
	crm_error_at(im->fname, rec_header_line(im->r),
		     "cannot import %s: %s; columns are %s (rename with --map 'COLUMN=FIELD')",
		     imp_kind_name(k), missing, cols.len ? cols.buf : "none");
	sb_free(&cols);
	return -1;
}

/* ---- values of the current row ---- */

/* Raw trimmed text of field f in the current row, or NULL when absent or
 * empty. */
static const char *raw(struct imp *im, enum field f, size_t *len)
{
	int c = im->fieldcol[f];
	const char *s;
	if (c < 0 || (size_t)c >= im->rec->n || im->rec->f[c].kind == REC_ABSENT)
		return NULL;
	rec_field_text(&im->rec->f[c], &s, len);
	return *len ? s : NULL;
}

static void set(struct imp *im, enum field f, const char *s, size_t n)
{
	sb_reset(&im->v[f]);
	sb_add(&im->v[f], s, n);
	im->has[f] = 1;
}

static const char *val(struct imp *im, enum field f)
{
	return im->has[f] ? im->v[f].buf : NULL;
}

/* Plain text field (names, city, ...): trimmed, must be valid UTF-8
 * (the reader checked), control characters are an error. */
static void take_text(struct imp *im, enum field f, const char *what)
{
	size_t n;
	const char *s = raw(im, f, &n);
	if (!s)
		return;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 && s[i] != '\t') {
			warn_row(im, "%s contains control characters; field dropped", what);
			return;
		}
	set(im, f, s, n);
}

static void take_email(struct imp *im)
{
	size_t n;
	const char *s = raw(im, F_EMAIL, &n), *why;
	if (!s)
		return;
	if (norm_email(s, n, &im->tmp, &why) < 0) {
		warn_row(im, "invalid email: %s; field dropped", why);
		sb_reset(&im->err);
		sb_addf(&im->err, "invalid email: %s", why);
		return;
	}
	set(im, F_EMAIL, im->tmp.buf, im->tmp.len);
}

static void take_phone(struct imp *im)
{
	size_t n;
	const char *s = raw(im, F_PHONE, &n), *why;
	char e164[17];
	if (!s)
		return;
	if (norm_phone(s, n, val(im, F_COUNTRY), &im->o->norm, e164, &why) < 0) {
		warn_row(im, "invalid phone: %s; field dropped", why);
		if (!im->err.len)
			sb_addf(&im->err, "invalid phone: %s", why);
		return;
	}
	set(im, F_PHONE, e164, strlen(e164));
}

/* Time field: on failure *why is set and 0 returned. */
static int take_time(struct imp *im, enum field f, const char **why)
{
	size_t n;
	const char *s = raw(im, f, &n);
	int64_t t;
	char buf[20];

	*why = NULL;
	if (!s)
		return 0;
	if (norm_time(s, n, &im->o->norm, &t, why) < 0)
		return 0;
	norm_fmt_time(t, buf);
	set(im, f, buf, 19);
	return 1;
}

/* Unknown columns into a JSON object: numbers that look like numbers
 * (no leading zeros, so zip codes stay text) become JSON numbers; JSON
 * values of JSON lines keep their type. */
static void take_attrs(struct imp *im)
{
	for (size_t i = 0; i < im->rec->n && i < im->ncols; i++) {
		const struct rec_field *rf = &im->rec->f[i];
		const char *s;
		size_t n;
		cJSON *v = NULL;

		if (im->colfield[i] != F_ATTR || rf->kind == REC_ABSENT)
			continue;
		rec_field_text(rf, &s, &n);
		if (!n)
			continue;
		switch (rf->kind) {
		case REC_NUM:
			v = cJSON_CreateRaw(rf->s);
			break;
		case REC_BOOL:
			v = cJSON_CreateBool(rf->s[0] == 't');
			break;
		case REC_JSON:
			v = cJSON_Parse(rf->s);
			break;
		default: {
			/* -?(0|[1-9][0-9]*)(\.[0-9]+)? up to 15 digits */
			size_t k = 0, digits = 0;
			int num = 1;
			if (k < n && s[k] == '-')
				k++;
			if (k < n && s[k] == '0' && k + 1 < n && s[k + 1] != '.')
				num = 0;
			size_t start = k;
			while (k < n && ascii_isdigit((unsigned char)s[k]))
				k++, digits++;
			if (k == start)
				num = 0;
			if (num && k < n && s[k] == '.') {
				size_t fs = ++k;
				while (k < n && ascii_isdigit((unsigned char)s[k]))
					k++, digits++;
				if (k == fs)
					num = 0;
			}
			if (num && k == n && digits <= 15) {
				char *t = xstrndup(s, n);
				v = cJSON_CreateRaw(t);
				free(t);
			} else {
				char *t = xstrndup(s, n);
				v = cJSON_CreateString(t);
				free(t);
			}
		}
		}
		if (!v)
			continue;
		if (!im->attrs)
			im->attrs = cJSON_CreateObject();
		cJSON_DeleteItemFromObjectCaseSensitive(im->attrs, im->colkey[i]);
		cJSON_AddItemToObject(im->attrs, im->colkey[i], v);
	}
}

static int cmp_items(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
	return strcmp(x->string, y->string);
}

/* Serialises an object with its keys sorted, so that the same data gives
 * the same text whatever order it arrived in. */
static char *json_sorted(cJSON *obj)
{
	size_t n = 0, k = 0;
	cJSON **items, *it;
	char *s;

	for (it = obj->child; it; it = it->next)
		n++;
	if (n > 1) {
		items = xcalloc(n, sizeof(*items));
		for (it = obj->child; it; it = it->next)
			items[k++] = it;
		qsort(items, n, sizeof(*items), cmp_items);
		for (k = 0; k < n; k++) {
			items[k]->prev = k ? items[k - 1] : items[n - 1];
			items[k]->next = k + 1 < n ? items[k + 1] : NULL;
		}
		obj->child = items[0];
		free(items);
	}
	s = cJSON_PrintUnformatted(obj);
	if (!s)
		crm_die(1, "out of memory");
	return s;
}

/* Merges the row's attributes into old (JSON text); returns the new text
 * (malloc'd) or NULL when nothing changes. */
static char *merge_attrs(struct imp *im, const char *old)
{
	cJSON *o = old ? cJSON_Parse(old) : NULL;
	int changed = 0;
	char *s;

	if (!o || !cJSON_IsObject(o)) {
		cJSON_Delete(o);
		o = cJSON_CreateObject();
		changed = old && strcmp(old, "{}");
	}
	for (cJSON *it = im->attrs ? im->attrs->child : NULL; it; it = it->next) {
		cJSON *cur = cJSON_GetObjectItemCaseSensitive(o, it->string);
		if (cur && cJSON_Compare(cur, it, 1))
			continue;
		/* numbers from the file are kept as written (raw); the stored
		 * ones come back parsed: 12.50 and 12.5 are the same value */
		if (cur && cJSON_IsRaw(it) && cJSON_IsNumber(cur) &&
		    strtod(it->valuestring, NULL) == cur->valuedouble)
			continue;
		cJSON_DeleteItemFromObjectCaseSensitive(o, it->string);
		cJSON_AddItemToObject(o, it->string, cJSON_Duplicate(it, 1));
		changed = 1;
	}
	s = changed ? json_sorted(o) : NULL;
	cJSON_Delete(o);
	return s;
}

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
#define CUST_COLS "id, external_id, email, phone, first_name, last_name, " \
	"birthday, city, country, timezone, created_at, attrs, is_stub"

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

	take_text(im, F_EXTID, "id");
	if ((s = raw(im, F_COUNTRY, &n))) {
		char cc[3];
		if (norm_country(s, n, cc, &why) == 0)
			set(im, F_COUNTRY, cc, 2);
		else {
			sb_reset(&im->tmp);
			quote_val(&im->tmp, s, n);
			warn_row(im, "invalid country %s: %s; field dropped", im->tmp.buf, why);
		}
	}
	take_email(im);
	take_phone(im);
	take_text(im, F_FIRST, "first_name");
	take_text(im, F_LAST, "last_name");
	if (!im->has[F_FIRST] && !im->has[F_LAST] && (s = raw(im, F_NAME, &n))) {
		const char *sp = memchr(s, ' ', n);
		if (sp) {
			size_t rest = n - (sp - s);
			const char *r = trim(sp, &rest);
			set(im, F_FIRST, s, sp - s);
			if (rest)
				set(im, F_LAST, r, rest);
		} else {
			set(im, F_FIRST, s, n);
		}
	}
	if ((s = raw(im, F_BIRTHDAY, &n))) {
		int y, m, d;
		char buf[11];
		if (norm_date(s, n, &im->o->norm, &y, &m, &d, &why) == 0) {
			norm_fmt_date(y, m, d, buf);
			set(im, F_BIRTHDAY, buf, 10);
		} else {
			warn_row(im, "invalid birthday: %s; field dropped", why);
		}
	}
	take_text(im, F_CITY, "city");
	if ((s = raw(im, F_TZ, &n))) {
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
			set(im, F_TZ, s, n);
		} else {
			sb_reset(&im->tmp);
			quote_val(&im->tmp, s, n);
			warn_row(im, "unknown time zone %s; field dropped", im->tmp.buf);
		}
	}
	if (!take_time(im, F_CREATED, &why) && why)
		warn_row(im, "invalid created_at: %s; field dropped", why);
	take_attrs(im);
}

static int row_customer(struct imp *im)
{
	struct cust cur = { 0 }, other = { 0 };
	int found = 0, changed = 0, result;
	char now[20];
	char *attrs = NULL;
	static const char *const idname[3] = { "external_id", "email", "phone" };

	take_customer_fields(im);
	norm_fmt_time(im->crm->now, now);

	/* identify: external id, else email, else phone */
	if (im->has[F_EXTID])
		found = cust_find(im, 0, val(im, F_EXTID), &cur);
	for (int by = 1; by <= 2; by++) {
		enum field f = by == 1 ? F_EMAIL : F_PHONE;
		if (!im->has[f])
			continue;
		if (found && cur.f[by] && !strcmp(cur.f[by], val(im, f)))
			continue;
		if (!cust_find(im, by, val(im, f), &other))
			continue;
		if (!found && !(im->has[F_EXTID] && other.f[CF_EXTID] &&
				strcmp(other.f[CF_EXTID], val(im, F_EXTID)))) {
			cur = other;
			memset(&other, 0, sizeof(other));
			found = 1;
			continue;
		}
		/* the address belongs to another customer: keep it there */
		warn_row(im, "%s already belongs to customer %" PRId64 "; field dropped",
			 idname[by], other.id);
		im->has[f] = 0;
		cust_free(&other);
	}
	if (!found && !im->has[F_EXTID] && !im->has[F_EMAIL] && !im->has[F_PHONE]) {
		sb_reset(&im->tmp);
		sb_adds(&im->tmp, "no usable key (no id, valid email or phone)");
		if (im->err.len)
			sb_addf(&im->tmp, ": %s", im->err.buf);
		reject(im, im->rec, im->tmp.buf);
		cust_free(&cur);
		return -1;
	}
	for (int i = 0; i < 3; i++) {
		enum field f = cf_field[i];
		if (im->has[f] && !(found && cur.f[i] && !strcmp(cur.f[i], val(im, f))) &&
		    suppressed(im, idname[i], val(im, f))) {
			sb_reset(&im->tmp);
			sb_addf(&im->tmp, "%s belongs to an erased person; row not imported",
				idname[i]);
			reject(im, im->rec, im->tmp.buf);
			cust_free(&cur);
			return -1;
		}
	}

	if (!found) {
		sqlite3_stmt *st = im->cust_ins;
		for (int i = 0; i < NCF; i++)
			db_bind_text(st, 1 + i, val(im, cf_field[i]), -1);
		if (!im->has[F_CREATED])
			db_bind_text(st, 1 + CF_CREATED, now, -1);
		db_bind_text(st, NCF + 1, now, -1);
		if (im->attrs) {
			attrs = json_sorted(im->attrs);
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
			const char *nv = val(im, cf_field[i]);
			if (nv && (!cur.f[i] || strcmp(cur.f[i], nv))) {
				free(cur.f[i]);
				cur.f[i] = xstrdup(nv);
				changed = 1;
			}
		}
		if (im->attrs && (attrs = merge_attrs(im, cur.attrs)))
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

	/* consent columns of a customer file: recorded when they change */
	for (size_t i = 0; i < im->rec->n && i < im->ncols; i++) {
		const char *s, *why;
		size_t n;
		int g, c = 0;
		if (im->colfield[i] != F_CONSENT || im->rec->f[i].kind == REC_ABSENT)
			continue;
		rec_field_text(&im->rec->f[i], &s, &n);
		if (!n)
			continue;
		if (norm_bool(s, n, &g, &why) < 0) {
			sb_reset(&im->tmp);
			quote_val(&im->tmp, s, n);
			warn_row(im, "invalid %s_consent %s: %s; field dropped",
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
static int64_t resolve_customer(struct imp *im)
{
	const char *ref;
	int64_t id = 0;

	take_text(im, F_CUSTREF, "customer_id");
	take_email(im);
	take_phone(im);
	ref = val(im, F_CUSTREF);
	if (!ref && !im->has[F_EMAIL] && !im->has[F_PHONE]) {
		sb_reset(&im->tmp);
		sb_adds(&im->tmp, "no customer (no customer_id, valid email or phone)");
		if (im->err.len)
			sb_addf(&im->tmp, ": %s", im->err.buf);
		reject(im, im->rec, im->tmp.buf);
		return 0;
	}
	/* rows of one customer tend to come together */
	if (ref && im->last_ref_id && !strcmp(ref, im->last_ref))
		return im->last_ref_id;
	if (ref)
		id = cust_id_find(im, 0, ref);
	if (!id && im->has[F_EMAIL])
		id = cust_id_find(im, 1, val(im, F_EMAIL));
	if (!id && im->has[F_PHONE])
		id = cust_id_find(im, 2, val(im, F_PHONE));
	if (!id) {
		if (im->o->strict) {
			reject(im, im->rec, "unknown customer (--strict)");
			return 0;
		}
		if (suppressed(im, "external_id", ref) ||
		    suppressed(im, "email", val(im, F_EMAIL)) ||
		    suppressed(im, "phone", val(im, F_PHONE))) {
			reject(im, im->rec, "customer is an erased person; row not imported");
			return 0;
		}
		/* a stub keeps only identifiers no one else has */
		const char *email = val(im, F_EMAIL), *phone = val(im, F_PHONE);
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
static void stats_dirty(struct imp *im, int64_t id)
{
	size_t byte;

	if (id <= 0)
		return;
	byte = (size_t)(id / 8);
	if (byte >= im->dirty_bytes) {
		size_t n = im->dirty_bytes ? im->dirty_bytes : 4096;

		while (n <= byte)
			n *= 2;
		im->dirty = xrealloc(im->dirty, n);
		memset(im->dirty + im->dirty_bytes, 0, n - im->dirty_bytes);
		im->dirty_bytes = n;
	}
	if (!(im->dirty[byte] & (1u << (id % 8)))) {
		im->dirty[byte] |= (unsigned char)(1u << (id % 8));
		im->ndirty++;
	}
}

/*
 * Brings order_stats up to date for the orders written since the last
 * commit, in the same transaction: customer by customer (an index range
 * each), or, when that would touch a good part of the orders anyway (a
 * large import, whose indexes were deferred), the whole table in one
 * pass over the orders.
 */
static void stats_flush(struct imp *im)
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

static int row_order(struct imp *im)
{
	const char *why, *s;
	size_t n;
	int64_t cid, minor, old_cid = 0;
	char code[4];
	int exponent = 2;
	char *attrs = NULL;
	int rc;

	/* required values first: a bad row must not create a stub */
	if (!take_time(im, F_TIME, &why)) {
		sb_reset(&im->tmp);
		if (why)
			sb_addf(&im->tmp, "invalid ordered_at: %s", why);
		else
			sb_adds(&im->tmp, "no ordered_at");
		reject(im, im->rec, im->tmp.buf);
		return -1;
	}
	s = raw(im, F_CURRENCY, &n);
	if (!s && im->o->currency)
		s = im->o->currency, n = strlen(s);
	if (!s) {
		reject(im, im->rec, "no currency (give --currency CODE)");
		return -1;
	}
	if (norm_currency(s, n, code, &exponent, &why) < 0) {
		reject_value(im, "currency", s, n, why);
		return -1;
	}
	s = raw(im, F_AMOUNT, &n);
	if (!s) {
		reject(im, im->rec, "no amount");
		return -1;
	}
	if (norm_amount(s, n, exponent, &im->o->norm, &minor, &why) < 0) {
		reject_value(im, "amount", s, n, why);
		return -1;
	}
	if ((s = raw(im, F_STATUS, &n))) {
		struct sb *v = &im->v[F_STATUS];
		sb_reset(v);
		for (size_t i = 0; i < n; i++)
			sb_addc(v, ascii_lower((unsigned char)s[i]));
		if (!strcmp(v->buf, "canceled") || !strcmp(v->buf, "cancel"))
			sb_reset(v), sb_adds(v, "cancelled");
		else if (!strcmp(v->buf, "refund"))
			sb_reset(v), sb_adds(v, "refunded");
		else if (!strcmp(v->buf, "return"))
			sb_reset(v), sb_adds(v, "returned");
		im->has[F_STATUS] = 1;
	}
	if (!(cid = resolve_customer(im)))
		return -1;
	take_attrs(im);
	if (im->attrs)
		attrs = json_sorted(im->attrs);

	if ((s = raw(im, F_ORDERID, &n))) {
		sb_reset(&im->key);
		sb_add(&im->key, s, n);
	} else {
		sb_reset(&im->tmp);
		sb_addf(&im->tmp, "%s\x1f%s\x1f%s\x1f%s\x1f%" PRId64 "\x1f%s\x1f%s\x1f%s",
			val(im, F_CUSTREF) ? val(im, F_CUSTREF) : "",
			val(im, F_EMAIL) ? val(im, F_EMAIL) : "",
			val(im, F_PHONE) ? val(im, F_PHONE) : "",
			val(im, F_TIME), minor, code,
			val(im, F_STATUS) ? val(im, F_STATUS) : "", attrs ? attrs : "");
		content_key(im, &im->tmp);
	}
	struct kv v[] = {
		{ im->key.buf, 0, 0 }, { NULL, cid, 1 }, { val(im, F_TIME), 0, 0 },
		{ NULL, minor, 1 }, { code, 0, 0 }, { val(im, F_STATUS), 0, 0 },
		{ attrs, 0, 0 },
	};
	rc = keyed_upsert(im, im->ord, v, (int)ARRAY_SIZE(v), &old_cid);
	free(attrs);
	if (rc == 0 || rc == 1)
		stats_dirty(im, cid);
	if (rc == 1 && old_cid != cid)
		stats_dirty(im, old_cid);
	return rc;
}

static int row_event(struct imp *im)
{
	const char *why, *s;
	size_t n;
	int64_t cid;
	char *props = NULL;
	int rc;

	if ((s = raw(im, F_TYPE, &n))) {
		struct sb *v = &im->v[F_TYPE];
		sb_reset(v);
		for (size_t i = 0; i < n; i++)
			sb_addc(v, ascii_lower((unsigned char)s[i]));
		im->has[F_TYPE] = 1;
	} else {
		reject(im, im->rec, "no event type");
		return -1;
	}
	if (!take_time(im, F_TIME, &why)) {
		sb_reset(&im->tmp);
		if (why)
			sb_addf(&im->tmp, "invalid occurred_at: %s", why);
		else
			sb_adds(&im->tmp, "no occurred_at");
		reject(im, im->rec, im->tmp.buf);
		return -1;
	}
	/* props: a JSON object column, plus unknown columns */
	take_attrs(im);
	int pc = im->fieldcol[F_PROPS];
	if (pc >= 0 && (size_t)pc < im->rec->n && im->rec->f[pc].kind != REC_ABSENT &&
	    im->rec->f[pc].len) {
		cJSON *p = cJSON_ParseWithLength(im->rec->f[pc].s, im->rec->f[pc].len);
		if (!cJSON_IsObject(p)) {
			cJSON_Delete(p);
			reject(im, im->rec, "props is not a JSON object");
			return -1;
		}
		if (im->attrs) {
			for (cJSON *it = im->attrs->child; it; it = it->next) {
				cJSON_DeleteItemFromObjectCaseSensitive(p, it->string);
				cJSON_AddItemToObject(p, it->string, cJSON_Duplicate(it, 1));
			}
			cJSON_Delete(im->attrs);
		}
		im->attrs = p;
	}
	if (im->attrs)
		props = json_sorted(im->attrs);
	take_text(im, F_CAMPAIGN, "campaign");
	take_text(im, F_MESSAGE, "message_id");
	if (!(cid = resolve_customer(im))) {
		free(props);
		return -1;
	}
	if ((s = raw(im, F_EVENTID, &n))) {
		sb_reset(&im->key);
		sb_add(&im->key, s, n);
	} else {
		sb_reset(&im->tmp);
		sb_addf(&im->tmp, "%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s",
			val(im, F_CUSTREF) ? val(im, F_CUSTREF) : "",
			val(im, F_EMAIL) ? val(im, F_EMAIL) : "",
			val(im, F_PHONE) ? val(im, F_PHONE) : "",
			val(im, F_TYPE), val(im, F_TIME),
			val(im, F_CAMPAIGN) ? val(im, F_CAMPAIGN) : "",
			val(im, F_MESSAGE) ? val(im, F_MESSAGE) : "", props ? props : "");
		content_key(im, &im->tmp);
	}
	struct kv v[] = {
		{ im->key.buf, 0, 0 }, { NULL, cid, 1 }, { val(im, F_TYPE), 0, 0 },
		{ val(im, F_TIME), 0, 0 }, { val(im, F_CAMPAIGN), 0, 0 },
		{ val(im, F_MESSAGE), 0, 0 }, { props, 0, 0 },
	};
	rc = keyed_upsert(im, im->ev, v, (int)ARRAY_SIZE(v), NULL);
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

static int row_consent(struct imp *im)
{
	const char *why, *s;
	size_t n;
	int64_t cid;
	int g, changed;
	struct sb *ch = &im->v[F_CHANNEL];

	if (!(s = raw(im, F_CHANNEL, &n))) {
		reject(im, im->rec, "no channel");
		return -1;
	}
	sb_reset(ch);
	for (size_t i = 0; i < n; i++)
		sb_addc(ch, ascii_lower((unsigned char)s[i]));
	if (!strcmp(ch->buf, "e-mail") || !strcmp(ch->buf, "mail"))
		sb_reset(ch), sb_adds(ch, "email");
	int known = 0;
	for (int i = 0; norm_channels[i]; i++)
		known |= !strcmp(norm_channels[i], ch->buf);
	if (!known) {
		sb_reset(&im->tmp);
		sb_adds(&im->tmp, "unknown channel ");
		quote_val(&im->tmp, s, n);
		sb_adds(&im->tmp, " (email, sms, push, telegram, whatsapp, viber, webhook)");
		reject(im, im->rec, im->tmp.buf);
		return -1;
	}
	if (!(s = raw(im, F_GRANTED, &n))) {
		reject(im, im->rec, "no granted value");
		return -1;
	}
	if (norm_bool(s, n, &g, &why) < 0) {
		reject_value(im, "granted", s, n, why);
		return -1;
	}
	if (!take_time(im, F_TIME, &why) && why) {
		sb_reset(&im->tmp);
		sb_addf(&im->tmp, "invalid recorded_at: %s", why);
		reject(im, im->rec, im->tmp.buf);
		return -1;
	}
	take_text(im, F_SOURCE, "source");
	if (!(cid = resolve_customer(im)))
		return -1;
	consent_record(im, cid, ch->buf, g, val(im, F_TIME),
		       val(im, F_SOURCE) ? val(im, F_SOURCE)
					 : im->o->source ? im->o->source : "import",
		       &changed);
	return changed ? 0 : 2;
}

/* ---- driver ---- */

static void prepare(struct imp *im)
{
	sqlite3 *db = im->db;
	static const char *const by[3] = { "external_id", "email", "phone" };
	char sql[256];

	for (int i = 0; i < 3; i++) {
		snprintf(sql, sizeof(sql), "SELECT " CUST_COLS " FROM customers WHERE %s = ?", by[i]);
		im->cust_by[i] = db_prepare(db, sql);
		snprintf(sql, sizeof(sql), "SELECT id FROM customers WHERE %s = ?", by[i]);
		im->cust_id_by[i] = db_prepare(db, sql);
	}
	im->cust_ins = db_prepare(db,
		"INSERT INTO customers(external_id, email, phone, first_name, last_name, birthday,"
		" city, country, timezone, created_at, updated_at, attrs)"
		" VALUES (?,?,?,?,?,?,?,?,?,?,?,?)");
	im->cust_upd = db_prepare(db,
		"UPDATE customers SET external_id=?1, email=?2, phone=?3, first_name=?4,"
		" last_name=?5, birthday=?6, city=?7, country=?8, timezone=?9, created_at=?10,"
		" updated_at=?11, attrs=?12, is_stub=0 WHERE id=?13");
	im->stub_ins = db_prepare(db,
		"INSERT INTO customers(external_id, email, phone, updated_at, is_stub)"
		" VALUES (?,?,?,?,1)");
	/* orders and events: see keyed_upsert(); an empty status, attrs,
	 * campaign, ... in the row keeps the stored one */
	im->ord[0] = db_prepare(db,
		"SELECT customer_id IS ?2 AND ordered_at IS ?3 AND amount IS ?4"
		" AND currency IS ?5 AND (?6 IS NULL OR status IS ?6)"
		" AND (?7 IS NULL OR attrs IS ?7), customer_id FROM orders WHERE external_id = ?1");
	im->ord[1] = db_prepare(db,
		"INSERT INTO orders(external_id, customer_id, ordered_at, amount, currency, status, attrs)"
		" VALUES (?1, ?2, ?3, ?4, ?5, coalesce(?6, 'completed'), ?7)");
	im->ord[2] = db_prepare(db,
		"UPDATE orders SET customer_id = ?2, ordered_at = ?3, amount = ?4, currency = ?5,"
		" status = coalesce(?6, status), attrs = coalesce(?7, attrs) WHERE external_id = ?1");
	im->ev[0] = db_prepare(db,
		"SELECT customer_id IS ?2 AND type IS ?3 AND occurred_at IS ?4"
		" AND (?5 IS NULL OR campaign IS ?5) AND (?6 IS NULL OR message_id IS ?6)"
		" AND (?7 IS NULL OR props IS ?7) FROM events WHERE external_id = ?1");
	im->ev[1] = db_prepare(db,
		"INSERT INTO events(external_id, customer_id, type, occurred_at, campaign, message_id, props)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
	im->ev[2] = db_prepare(db,
		"UPDATE events SET customer_id = ?2, type = ?3, occurred_at = ?4,"
		" campaign = coalesce(?5, campaign), message_id = coalesce(?6, message_id),"
		" props = coalesce(?7, props) WHERE external_id = ?1");
	/* occurrence counts of content keys: scratch space rebuilt on every
	 * run, in the temp database (on disk when large: bounded memory) */
	db_exec(db, "PRAGMA temp.journal_mode = OFF");
	db_exec(db, "PRAGMA temp.cache_size = -16384");
	db_exec(db, "CREATE TEMP TABLE IF NOT EXISTS imp_occ(k TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID");
	im->occ[0] = db_prepare(db, "SELECT n FROM imp_occ WHERE k = ?");
	im->occ[1] = db_prepare(db, "INSERT INTO imp_occ(k, n) VALUES (?, 0)");
	im->occ[2] = db_prepare(db, "UPDATE imp_occ SET n = n + 1 WHERE k = ?");
	im->supp = db_prepare(db, "SELECT 1 FROM suppressions WHERE hash = ?");
	im->cons_cur = db_prepare(db,
		"SELECT granted FROM consents WHERE customer_id = ? AND channel = ?"
		" ORDER BY recorded_at DESC, id DESC LIMIT 1");
	im->cons_ins = db_prepare(db,
		"INSERT OR IGNORE INTO consents(customer_id, channel, granted, recorded_at, source)"
		" VALUES (?,?,?,?,?)");
}

static void finalize_all(struct imp *im)
{
	sqlite3_stmt *all[] = {
		im->cust_by[0], im->cust_by[1], im->cust_by[2], im->cust_id_by[0],
		im->cust_id_by[1], im->cust_id_by[2], im->cust_ins, im->cust_upd, im->stub_ins,
		im->ord[0], im->ord[1], im->ord[2], im->ev[0], im->ev[1], im->ev[2],
		im->occ[0], im->occ[1], im->occ[2], im->supp, im->cons_cur, im->cons_ins,
	};
	for (size_t i = 0; i < ARRAY_SIZE(all); i++)
		sqlite3_finalize(all[i]);
}

static void refresh_suppressions(struct imp *im)
{
	sqlite3_stmt *st = db_prepare(im->db, "SELECT EXISTS (SELECT 1 FROM suppressions)");
	im->have_suppressions = db_step_row(im->db, st) && sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
}

static void tx_begin(struct imp *im)
{
	db_begin(im->db);
	im->tx_rows = 0;
	refresh_suppressions(im);
}

static void tx_row(struct imp *im)
{
	if (im->single_tx || ++im->tx_rows < im->batch)
		return;
	stats_flush(im);
	db_commit(im->db);
	tx_begin(im);
}

static void row_reset(struct imp *im)
{
	memset(im->has, 0, sizeof(im->has));
	sb_reset(&im->err);
	if (im->attrs) {
		cJSON_Delete(im->attrs);
		im->attrs = NULL;
	}
}

static void count(struct imp *im, int rc)
{
	switch (rc) {
	case 0: im->st.inserted++; break;
	case 1: im->st.updated++; break;
	case 2: im->st.unchanged++; break;
	default: break;
	}
}

static void print_stats(const char *what, const struct imp_stats *s, double secs, int dry)
{
	if (crm_verbosity < 1)
		return;
	fprintf(stderr, "%s: %s: %" PRIu64 " read, %" PRIu64 " inserted, %" PRIu64
		" updated, %" PRIu64 " unchanged, %" PRIu64 " rejected, %" PRIu64
		" stubs created, %.1f s (%.0f rows/s)%s\n",
		crm_progname, what, s->read, s->inserted, s->updated, s->unchanged,
		s->rejected, s->stubs, secs, secs > 0 ? s->read / secs : 0.0,
		dry ? " [dry run: nothing written]" : "");
}

static void add_stats(struct imp_stats *t, const struct imp_stats *s)
{
	t->read += s->read;
	t->inserted += s->inserted;
	t->updated += s->updated;
	t->unchanged += s->unchanged;
	t->rejected += s->rejected;
	t->stubs += s->stubs;
	t->warnings += s->warnings;
}

/* Imports one file; returns 0, or 1 when it could not be read or was
 * refused. */
static int import_file(struct imp *im, const char *path)
{
	struct rec rec;
	struct progress *pg;
	double t0 = now_monotonic();
	int rc, status = 0;

	memset(&im->st, 0, sizeof(im->st));
	im->r = rec_open(path, &im->o->rec);
	if (!im->r) {
		crm_error_errno("%s: cannot open", path);
		return 1;
	}
	im->fname = rec_name(im->r);
	im->ncols = 0;
	for (int f = 0; f < F_MAX; f++)
		im->fieldcol[f] = -1, im->fieldexact[f] = 0;
	im->last_ref_id = 0;
	db_exec(im->db, "DELETE FROM imp_occ");
	pg = progress_new(im->fname, rec_size(im->r));

	while ((rc = rec_next(im->r, &rec)) == REC_OK) {
		int r;
		if (!im->ncols || rec_ncols(im->r) > im->ncols) {
			int first = !im->ncols;
			map_columns(im);
			if (first && rec_format(im->r) == REC_CSV && check_columns(im) < 0) {
				status = 1;
				break;
			}
		}
		im->st.read++;
		im->rec = &rec;
		if (rec.error) {
			reject(im, &rec, rec.error);
			continue;
		}
		row_reset(im);
		switch (im->o->kind) {
		case IMP_CUSTOMERS: r = row_customer(im); break;
		case IMP_ORDERS: r = row_order(im); break;
		case IMP_EVENTS: r = row_event(im); break;
		case IMP_CONSENTS: r = row_consent(im); break;
		default: r = -1;
		}
		count(im, r);
		tx_row(im);
		progress_update(pg, rec_pos(im->r), im->st.read);
	}
	progress_end(pg);
	if (rc == REC_FATAL) {
		crm_error("%s: %s", im->fname, rec_errmsg(im->r));
		status = 1;
	} else if (rc == REC_EOF && !im->ncols && im->st.read == 0) {
		crm_warn("%s: no data", im->fname);
	}
	row_reset(im);
	print_stats(im->fname, &im->st, now_monotonic() - t0, im->crm->dry_run);
	add_stats(&im->tot, &im->st);
	for (size_t i = 0; i < im->ncols; i++)
		free(im->colkey[i]);
	im->ncols = 0;
	rec_close(im->r);
	im->r = NULL;
	return status;
}

/*
 * A large import into a table with secondary indexes (orders by customer,
 * events by customer and campaign) inserts into them at random places;
 * once they outgrow the page cache every row costs page reads and writes.
 * When one transaction will add many rows compared to what the table
 * holds, those indexes are dropped at the start and built again, sorted,
 * before the commit: other programs never see them missing, and a killed
 * import rolls back with them in place. Unique indexes stay: the import
 * looks rows up by them.
 */
#define DEFER_MIN_ROWS 200000
#define BYTES_PER_ROW 64

static void defer_indexes(struct imp *im, char **files)
{
	const char *table = im->o->kind == IMP_ORDERS ? "orders" :
			    im->o->kind == IMP_EVENTS ? "events" : NULL;
	int64_t bytes = 0, have = 0;
	struct stat stbuf;
	sqlite3_stmt *st;
	char sql[160];

	if (!table)
		return;
	for (char **f = files; *f; f++)
		if (strcmp(*f, "-") && stat(*f, &stbuf) == 0 && S_ISREG(stbuf.st_mode))
			bytes += stbuf.st_size;
	snprintf(sql, sizeof(sql), "SELECT coalesce(max(id), 0) FROM %s", table);
	st = db_prepare(im->db, sql);
	if (db_step_row(im->db, st))
		have = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (bytes / BYTES_PER_ROW < DEFER_MIN_ROWS || bytes / BYTES_PER_ROW < have / 2)
		return;
	st = db_prepare(im->db, "SELECT name, sql FROM sqlite_schema WHERE type = 'index'"
			" AND tbl_name = ? AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%'");
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	struct sb drops = SB_INIT;
	while (db_step_row(im->db, st)) {
		im->deferred = xrealloc(im->deferred, (im->ndeferred + 1) * sizeof(char *));
		im->deferred[im->ndeferred++] = xstrdup(db_column_text(im->db, st, 1));
		sb_addf(&drops, "DROP INDEX \"%s\";", db_column_text(im->db, st, 0));
	}
	sqlite3_finalize(st);
	/* dropped once the schema is no longer being read */
	if (drops.len)
		db_exec(im->db, drops.buf);
	sb_free(&drops);
	im->bulk_orders = im->ndeferred && im->o->kind == IMP_ORDERS;
	if (im->ndeferred)
		crm_info("%s: building %zu index(es) at the end instead of row by row",
			 table, im->ndeferred);
}

static void restore_indexes(struct imp *im)
{
	if (!im->ndeferred)
		return;
	/* the sorter takes as much memory as the page cache: keep the sum
	 * within bounds */
	db_exec(im->db, "PRAGMA cache_size = -16384");
	for (size_t i = 0; i < im->ndeferred; i++) {
		db_exec(im->db, im->deferred[i]);
		free(im->deferred[i]);
	}
	free(im->deferred);
	im->deferred = NULL;
	im->ndeferred = 0;
}

int imp_run(struct crm *crm, const struct imp_opts *o, char **files)
{
	struct imp im;
	int status = 0, nfiles = 0;
	double t0 = now_monotonic();
	char *secret;

	memset(&im, 0, sizeof(im));
	im.crm = crm;
	im.o = o;
	im.db = crm->db;
	/* One transaction for the whole run unless --batch asks for
	 * commits every N rows: a large import into a WAL database is much
	 * faster in one (no index page is written twice), and --max-rejects
	 * and --dry-run need one to roll back. */
	im.batch = o->batch;
	im.single_tx = o->batch <= 0 || o->max_rejects >= 0 || crm->dry_run;
	for (int f = 0; f < F_MAX; f++)
		sb_init(&im.v[f]);
	sb_init(&im.err);
	sb_init(&im.tmp);
	sb_init(&im.key);
	secret = db_meta_get(im.db, "secret");
	if (!secret)
		crm_die(1, "%s: no secret in meta table", crm->db_path);
	snprintf(im.secret, sizeof(im.secret), "%s", secret);
	free(secret);

	if (o->rejects_path && !strcmp(o->rejects_path, "-")) {
		im.rejects = stdout;
		fputs("file,line,reason,record\n", im.rejects);
	} else if (o->rejects_path) {
		im.rejects = fopen_private(o->rejects_path, 0);
		if (!im.rejects)
			crm_die_errno(1, "%s: cannot create", o->rejects_path);
		fputs("file,line,reason,record\n", im.rejects);
	}
	/* a bigger page cache than the default 2 MB: index pages of a large
	 * base stay in memory (48 MiB: with the sorter and buffers the
	 * process stays under 100 MiB whatever the file size) */
	db_exec(im.db, "PRAGMA cache_size = -49152");
	/* Every customer_id written here was just read from customers or
	 * inserted as a stub in the same transaction, and no program deletes
	 * customer rows (erasure keeps a tombstone): the foreign key holds by
	 * construction. Checking it again costs a random read of the
	 * customer row per order, a third of a large import; the tests run
	 * PRAGMA foreign_key_check after imports instead. */
	db_exec(im.db, "PRAGMA foreign_keys = OFF");
	prepare(&im);
	tx_begin(&im);
	if (im.single_tx && !crm->dry_run)
		defer_indexes(&im, files);
	for (char **f = files; *f; f++, nfiles++)
		if (import_file(&im, *f))
			status = 1;
	/* the per-file lines do not include building deferred indexes and
	 * the commit: say how long they took when it was noticeable */
	double tc = now_monotonic();
	size_t rebuilt = im.ndeferred;
	restore_indexes(&im);
	if (crm->dry_run) {
		db_rollback(im.db);
	} else {
		stats_flush(&im);
		db_commit(im.db);
	}
	tc = now_monotonic() - tc;
	if (crm_verbosity >= 1 && (tc >= 1.0 || crm_verbosity >= 2))
		fprintf(stderr, "%s: %s%s in %.1f s\n", crm_progname,
			rebuilt ? "indexes rebuilt and " : "",
			crm->dry_run ? "rolled back" : "committed", tc);
	if (nfiles > 1)
		print_stats("total", &im.tot, now_monotonic() - t0, crm->dry_run);
	finalize_all(&im);
	if (im.stats.db)
		db_order_stats_close(&im.stats);
	free(im.dirty);
	if (im.rejects == stdout) {
		if (fflush(stdout) != 0)
			out_write_failed(stdout);
	} else if (im.rejects && fclose(im.rejects) != 0)
		crm_die_errno(1, "%s: write error", o->rejects_path);
	for (int f = 0; f < F_MAX; f++)
		sb_free(&im.v[f]);
	sb_free(&im.err);
	sb_free(&im.tmp);
	sb_free(&im.key);
	free(im.colfield);
	free(im.colkey);
	if (status)
		return CRM_EXIT_FAIL;
	return im.tot.rejected ? CRM_EXIT_PARTIAL : CRM_EXIT_OK;
}
