/*
 * imp_val.c - the values of the current row: reading, checking and
 * normalising them, attributes; and the diagnostics and rejects of a row.
 */
#include "imp_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "out.h"

void imp_field_text(const struct rec_field *f, const char **s, size_t *n)
{
	*s = f->s;
	*n = f->len;
	*s = trim(*s, n);
}

static void warn_counted_v(struct imp *im, const char *fmt, va_list ap);

/* Diagnostics. PII (e-mail, phone, names, birthday) is never echoed. */
void imp_warn(struct imp *im, const char *fmt, ...)
{
	va_list ap;

	im->st.warnings++;
	if (crm_verbosity < 1 || im->o->on_reject)
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

static uint64_t wc_hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* The slot of msg in the hash set: its entry's, or the empty one. */
static size_t wc_slot(const struct imp *im, const char *msg)
{
	size_t mask = im->wcmapcap - 1, i = (size_t)wc_hash(msg) & mask;

	while (im->wcmap[i] && strcmp(im->wc[im->wcmap[i] - 1].msg, msg))
		i = (i + 1) & mask;
	return i;
}

static void wc_grow(struct imp *im)
{
	size_t cap = im->wcmapcap ? im->wcmapcap * 2 : 64;

	free(im->wcmap);
	im->wcmap = xcalloc(cap, sizeof(*im->wcmap));
	im->wcmapcap = cap;
	for (size_t k = 0; k < im->nwc; k++)
		im->wcmap[wc_slot(im, im->wc[k].msg)] = k + 1;
}

static void warn_counted_v(struct imp *im, const char *fmt, va_list ap)
{
	struct sb msg = SB_INIT;
	size_t slot;

	sb_vaddf(&msg, fmt, ap);
	if (!im->wcmapcap)
		wc_grow(im);
	slot = wc_slot(im, msg.buf);
	if (im->wcmap[slot]) {
		im->wc[im->wcmap[slot] - 1].rows++;
	} else if (im->nwc >= IMP_MAX_COUNTED) {
		im->wc_more++;
	} else {
		if (im->nwc == im->wccap) {
			im->wccap = im->wccap ? im->wccap * 2 : 16;
			im->wc = xrealloc(im->wc, im->wccap * sizeof(*im->wc));
		}
		im->wc[im->nwc].msg = xstrdup(msg.buf);
		im->wc[im->nwc].line = im->rec ? im->rec->line : 0;
		im->wc[im->nwc].rows = 1;
		im->wcmap[slot] = ++im->nwc;
		if (im->nwc * 2 > im->wcmapcap)
			wc_grow(im);
	}
	sb_free(&msg);
}

void imp_warn_counted(struct imp *im, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	warn_counted_v(im, fmt, ap);
	va_end(ap);
}

void imp_warn_flush(struct imp *im)
{
	int show = crm_verbosity >= 1 && !im->o->on_reject;
	size_t k;

	for (k = 0; k < im->nwc; k++) {
		struct imp_wc *w = &im->wc[k];

		im->st.warnings += w->rows;	/* not before: see imp_warn's limit */
		if (show && (k < MAX_WARNINGS || crm_verbosity >= 2))
			crm_warn_at(im->fname, w->line, "%s (%" PRIu64 " row%s)", w->msg,
				    w->rows, w->rows == 1 ? "" : "s");
		free(w->msg);
	}
	if (show && k > MAX_WARNINGS && crm_verbosity < 2)
		crm_warn_at(im->fname, 0, "%zu more values with warnings not shown (-v shows all)",
			    k - MAX_WARNINGS);
	if (!im->o->on_reject && im->st.rejected > MAX_WARNINGS && crm_verbosity < 2)
		crm_error_at(im->fname, 0, "%" PRIu64 " more rejected rows not shown (-v shows all,"
			     " --rejects FILE keeps them all)", im->st.rejected - MAX_WARNINGS);
	im->st.warnings += im->wc_more;
	if (show && im->wc_more)
		crm_warn_at(im->fname, 0, "%" PRIu64 " more rows with warnings about other values"
			    " (more than %d distinct values)", im->wc_more, IMP_MAX_COUNTED);
	im->nwc = 0;
	im->wc_more = 0;
	if (im->wcmap)
		memset(im->wcmap, 0, im->wcmapcap * sizeof(*im->wcmap));
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

void imp_reject(struct imp *im, const struct rec *rec, const char *reason)
{
	im->st.rejected++;
	if (im->o->on_reject) {
		im->o->on_reject(im->o->reject_ud, rec->line, reason);
		return;
	}
	/* the first MAX_WARNINGS of a file; the others are counted when it
	 * ends (imp_warn_flush) and all go to --rejects */
	if (im->st.rejected <= MAX_WARNINGS || crm_verbosity >= 2)
		crm_error_at(im->fname, rec->line, "%s", reason);
	rejects_write(im, rec, reason);
	if (im->o->max_rejects >= 0 &&
	    im->tot.rejected + im->st.rejected > (uint64_t)im->o->max_rejects)
		abort_run(im);
}

/* Columns of personal data, whose values a diagnostic never shows. */
static int field_personal(int f)
{
	switch (f) {
	case F_EMAIL: case F_PHONE: case F_FIRST: case F_LAST: case F_NAME:
	case F_BIRTHDAY: case F_CITY: case F_ATTR: case F_PROPS:
		return 1;
	default:
		return 0;
	}
}

/* A value of field f in a message: diag_value() (lib/diag.h), which
 * never shows a personal one, masks what looks like an e-mail address or
 * a phone number, escapes control characters and caps the length. */
void imp_quote_val(struct sb *sb, int f, const char *s, size_t n)
{
	diag_value(sb, s, n, field_personal(f));
}

/* Rejects the row for a required value that does not parse:
 * 'invalid amount "12,3.4": misplaced group separator'. */
void imp_reject_value(struct imp *im, int f, const char *what, const char *s, size_t n,
		      const char *why)
{
	sb_reset(&im->tmp);
	sb_addf(&im->tmp, "invalid %s ", what);
	imp_quote_val(&im->tmp, f, s, n);
	sb_addf(&im->tmp, ": %s", why);
	imp_reject(im, im->rec, im->tmp.buf);
}

/* ---- values of the current row ---- */

/* Raw trimmed text of field f in the current row, or NULL when absent or
 * empty. */
const char *imp_raw(struct imp *im, enum field f, size_t *len)
{
	int c = im->fieldcol[f];
	const char *s;
	if (c < 0 || (size_t)c >= im->rec->n || im->rec->f[c].kind == REC_ABSENT)
		return NULL;
	imp_field_text(&im->rec->f[c], &s, len);
	return *len ? s : NULL;
}

void imp_set(struct imp *im, enum field f, const char *s, size_t n)
{
	sb_reset(&im->v[f]);
	sb_add(&im->v[f], s, n);
	im->has[f] = 1;
}

const char *imp_val(struct imp *im, enum field f)
{
	return im->has[f] ? im->v[f].buf : NULL;
}

/* Copies text into out, line ends as LF (CRLF and a lone CR become
 * "\n"); tab is kept, and with lines a line break; any other C0 control
 * byte makes it -1 (DEL and the rest are text). */
int imp_clean_text(const char *s, size_t n, int lines, struct sb *out)
{
	sb_reset(out);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 || c == '\t') {
			sb_addc(out, (char)c);
		} else if (lines && c == '\r') {
			sb_addc(out, '\n');
			if (i + 1 < n && s[i + 1] == '\n')
				i++;
		} else if (lines && c == '\n') {
			sb_addc(out, '\n');
		} else {
			return -1;
		}
	}
	if (!out->buf)
		sb_add(out, "", 0);
	return 0;
}

/* Plain text field: trimmed, valid UTF-8 (the reader checked); with
 * lines (names, city: what a person typed) line breaks are kept as LF,
 * else (ids, campaign, source) the value is one line; a control
 * character otherwise drops the field, never the row. */
static void take_text(struct imp *im, enum field f, const char *what, int lines)
{
	size_t n;
	const char *s = imp_raw(im, f, &n);
	if (!s)
		return;
	if (imp_clean_text(s, n, lines, &im->tmp) < 0) {
		imp_warn(im, "%s contains control characters; field dropped", what);
		return;
	}
	imp_set(im, f, im->tmp.buf, im->tmp.len);
}

void imp_take_text(struct imp *im, enum field f, const char *what)
{
	take_text(im, f, what, 0);
}

void imp_take_lines(struct imp *im, enum field f, const char *what)
{
	take_text(im, f, what, 1);
}

void imp_take_email(struct imp *im)
{
	size_t n;
	const char *s = imp_raw(im, F_EMAIL, &n), *why;
	if (!s)
		return;
	if (norm_email(s, n, &im->tmp, &why) < 0) {
		imp_warn(im, "invalid email: %s; field dropped", why);
		sb_reset(&im->err);
		sb_addf(&im->err, "invalid email: %s", why);
		return;
	}
	imp_set(im, F_EMAIL, im->tmp.buf, im->tmp.len);
}

void imp_take_phone(struct imp *im)
{
	size_t n;
	const char *s = imp_raw(im, F_PHONE, &n), *why;
	char e164[17];
	if (!s)
		return;
	if (norm_phone(s, n, imp_val(im, F_COUNTRY), &im->o->norm, e164, &why) < 0) {
		imp_warn(im, "invalid phone: %s; field dropped", why);
		if (!im->err.len)
			sb_addf(&im->err, "invalid phone: %s", why);
		return;
	}
	imp_set(im, F_PHONE, e164, strlen(e164));
}

/* Time field: on failure *why is set and 0 returned. */
int imp_take_time(struct imp *im, enum field f, const char **why)
{
	size_t n;
	const char *s = imp_raw(im, f, &n);
	int64_t t;
	char buf[20];

	*why = NULL;
	if (!s)
		return 0;
	if (norm_time(s, n, imp_date_opts(im, f), &t, why) < 0)
		return 0;
	norm_fmt_time(t, buf);
	imp_set(im, f, buf, 19);
	return 1;
}

/* Unknown columns into a JSON object (im->attrs, empty before): numbers
 * that look like numbers (no leading zeros, so zip codes stay text) become
 * JSON numbers; JSON values of JSON lines keep their type. Of columns with
 * the same key (imp_map.c) the last non-empty one wins. */
void imp_take_attrs(struct imp *im)
{
	size_t nused = 0;
	cJSON *obj = NULL;

	for (size_t ck = 0, i; imp_next_col(im, &ck, &i);) {
		const struct rec_field *rf = &im->rec->f[i];
		const char *s;
		size_t n;
		cJSON *v = NULL;

		if (im->colfield[i] != F_ATTR || rf->kind == REC_ABSENT)
			continue;
		imp_field_text(rf, &s, &n);
		if (!n)
			continue;
		/* an "attrs" column holding a JSON object (crm-report export of
		 * customers and orders): its members are attributes, a column of
		 * their own winning */
		if (!obj && im->o->kind != IMP_EVENTS && s[0] == '{' &&
		    !strcmp(rec_colname(im->r, i), "attrs")) {
			obj = cJSON_ParseWithLength(s, n);
			if (cJSON_IsObject(obj))
				continue;
			cJSON_Delete(obj);
			obj = NULL;
		}
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
			} else if (imp_clean_text(s, n, 1, &im->tmp) < 0) {
				/* tab and line breaks are text, other controls
				 * drop the attribute (the row is kept) */
				const char *key = im->colkey[im->colgroup[i]];
				struct sb kb = SB_INIT;

				diag_name(&kb, key, strlen(key));
				imp_warn(im, "%s contains control characters; field dropped",
					 kb.buf);
				sb_free(&kb);
			} else {
				v = cJSON_CreateString(im->tmp.buf);
			}
		}
		}
		if (!v)
			continue;
		size_t g = im->colgroup[i];
		if (im->aslot[g])
			cJSON_Delete(im->aslot[g]);
		else
			im->aused[nused++] = g;
		im->aslot[g] = v;
	}
	if (!nused && !obj)
		return;
	if (!im->attrs)
		im->attrs = cJSON_CreateObject();
	for (size_t k = 0; k < nused; k++) {
		size_t g = im->aused[k];
		cJSON_AddItemToObject(im->attrs, im->colkey[g], im->aslot[g]);
		im->aslot[g] = NULL;
	}
	if (obj) {
		imp_json_merge(obj, im->attrs, 0);
		cJSON_Delete(im->attrs);
		im->attrs = obj;
	}
}

static int cmp_items(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
	return strcmp(x->string, y->string);
}

/* Serialises an object with its keys sorted, so that the same data gives
 * the same text whatever order it arrived in. */
char *imp_json_sorted(cJSON *obj)
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

/*
 * Sets each member of the object src in the object dst, a copy replacing
 * dst's member of the same key where it has one; with skip_same, a member
 * whose value dst already has is left alone (numbers from a file are kept
 * as written, raw; stored ones come back parsed: 12.50 and 12.5 are the
 * same value). Returns how many members it set. dst's members are sorted
 * once and found by binary search: cJSON's own lookups walk the list, and
 * one per member made a row of 100,000 attributes take minutes.
 */
size_t imp_json_merge(cJSON *dst, const cJSON *src, int skip_same)
{
	size_t n = 0, k = 0, set = 0;
	cJSON **idx, *it;

	for (it = dst->child; it; it = it->next)
		n++;
	idx = xcalloc(n ? n : 1, sizeof(*idx));
	for (it = dst->child; it; it = it->next)
		idx[k++] = it;
	qsort(idx, n, sizeof(*idx), cmp_items);
	for (const cJSON *m = src->child; m; m = m->next) {
		cJSON **hit = n ? bsearch(&m, idx, n, sizeof(*idx), cmp_items) : NULL;
		cJSON *cur = hit ? *hit : NULL, *copy;

		if (cur && skip_same &&
		    (cJSON_Compare(cur, m, 1) ||
		     (cJSON_IsRaw(m) && cJSON_IsNumber(cur) &&
		      strtod(m->valuestring, NULL) == cur->valuedouble)))
			continue;
		copy = cJSON_Duplicate(m, 1);
		if (!copy)
			crm_die(1, "out of memory");
		if (cur) {
			cJSON_ReplaceItemViaPointer(dst, cur, copy);
			*hit = copy;
		} else {
			cJSON_AddItemToObject(dst, m->string, copy);
		}
		set++;
	}
	free(idx);
	return set;
}

/* Merges the row's attributes into old (JSON text); returns the new text
 * (malloc'd) or NULL when nothing changes. */
char *imp_merge_attrs(struct imp *im, const char *old)
{
	cJSON *o = old ? cJSON_Parse(old) : NULL;
	int changed = 0;
	char *s;

	if (!o || !cJSON_IsObject(o)) {
		cJSON_Delete(o);
		o = cJSON_CreateObject();
		changed = old && strcmp(old, "{}");
	}
	if (im->attrs && imp_json_merge(o, im->attrs, 1))
		changed = 1;
	s = changed ? imp_json_sorted(o) : NULL;
	cJSON_Delete(o);
	return s;
}

/* Rejects the row (and returns 1) when json is more than IMP_MAX_ATTRS. */
int imp_attrs_too_big(struct imp *im, const char *json)
{
	size_t n = json ? strlen(json) : 0;

	if (n <= IMP_MAX_ATTRS)
		return 0;
	sb_reset(&im->tmp);
	sb_addf(&im->tmp, "attributes too large: %zu bytes as JSON (at most %d MiB)", n,
		IMP_MAX_ATTRS >> 20);
	imp_reject(im, im->rec, im->tmp.buf);
	return 1;
}
