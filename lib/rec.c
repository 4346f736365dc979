/*
 * rec.c - streaming record reader for CSV (libcsv) and JSON lines (cJSON).
 *
 * Input is read with read(2) in blocks into one buffer and cut into
 * physical lines with memchr; every record is assembled from whole lines,
 * which is what makes line numbers exact. A CSV line that starts a record
 * and holds no quote character is split here directly (memchr on the
 * delimiter), with the same result libcsv would give; every other line is
 * pushed through libcsv one line at a time. Lines of a record are kept in
 * r->raw, so that when a quote turns out never to be closed, the lines
 * after the record's first one can be read again ("replayed") as records
 * of their own.
 *
 * Field text lives in one buffer (r->text, a NUL after each field) with
 * an array of spans; nothing is allocated per field or per record once the
 * buffers have grown to the largest record seen.
 */
#include "rec.h"

#include <cjson/cJSON.h>
#include <csv.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diag.h"
#include "util.h"

#define REC_BLOCK (64 * 1024)
#define REC_MAX_RECORD (1024 * 1024)

/* libcsv's parser states (libcsv.c does not export them). */
enum {
	LIBCSV_ROW_NOT_BEGUN = 0,
	LIBCSV_FIELD_BEGUN = 2,
	LIBCSV_FIELD_MIGHT_HAVE_ENDED = 3,
};

static size_t rec_blocksize = REC_BLOCK;

void rec_set_blocksize(size_t n)
{
	rec_blocksize = n ? n : REC_BLOCK;
}

enum { LN_ERR = -1, LN_EOF = 0, LN_OK = 1, LN_LONG = 2 };

struct line {
	char *s;
	size_t len; /* with its '\n', when it has one */
};

struct span {
	size_t off, len;
};

struct rdr {
	char *name;
	int fd, own_fd;
	const char *mem;   /* rec_open_mem: the input, instead of fd */
	size_t memlen, mempos;
	enum rec_format fmt;
	int delim;
	size_t max, maxcols;
	int state; /* 0 reading, else REC_EOF + 2 or REC_FATAL (sticky) */

	/* Input: buf[beg, end) is read but not taken, memchr resumes at
	 * scan. buf[end] is always writable. */
	char *buf;
	size_t cap, beg, end, scan;
	int eof;
	off_t nread, size;

	/* Lines to read again before the rest of the input. */
	struct sb replay;
	size_t rpos;
	int peeked_replay;

	long lineno; /* physical lines taken so far */
	long hdrline;
	struct sb msg; /* fatal error */
	struct sb err; /* error of the current record */

	/* Columns, and a hash map name -> index + 1. */
	char **cols;
	size_t *collen;
	size_t ncols, colcap;
	size_t *map;
	size_t mapcap;
	int casefold;

	/* The current record. */
	struct sb text;
	struct span *sp;
	size_t nsp, spcap;
	struct span *num;	/* JSONL: raw text of each member's number */
	size_t nnum, numcap;
	struct rec_field *f;
	size_t fcap;
	struct sb raw, tmp;

	/* CSV */
	struct csv_parser p;
	int p_live, row_done, lfonly;

	/* JSON lines */
	cJSON *json;
	size_t *guess;
	size_t nguess, guesscap;
	/* the columns the current record has (out->present): every other
	 * f[i] is absent, so that a record costs its own keys and not every
	 * column the file has had (one new key per line was quadratic) */
	size_t *present;
	size_t npresent, presentcap;
	unsigned long *stamp; /* recno of the record that last had column i */
	unsigned long recno;
};

static void fatal(struct rdr *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fatal(struct rdr *r, const char *fmt, ...)
{
	va_list ap;

	if (r->state == REC_FATAL)
		return;
	sb_reset(&r->msg);
	va_start(ap, fmt);
	sb_vaddf(&r->msg, fmt, ap);
	va_end(ap);
	r->state = REC_FATAL;
}

/*
 * Input and lines
 */

static int fill(struct rdr *r)
{
	size_t want = rec_blocksize;
	ssize_t n;

	if (r->beg && r->cap - r->end < want + 1) {
		memmove(r->buf, r->buf + r->beg, r->end - r->beg);
		r->end -= r->beg;
		r->scan -= r->beg;
		r->beg = 0;
	}
	if (r->cap - r->end < want + 1)
		r->buf = xgrow(r->buf, 1, r->end + want + 1, &r->cap);
	if (r->mem) {
		n = (ssize_t)(r->memlen - r->mempos < want ? r->memlen - r->mempos : want);
		memcpy(r->buf + r->end, r->mem + r->mempos, (size_t)n);
		r->mempos += (size_t)n;
	} else {
		do
			n = read(r->fd, r->buf + r->end, want);
		while (n < 0 && errno == EINTR);
	}
	if (n < 0) {
		fatal(r, "read error: %s", strerror(errno));
		return -1;
	}
	if (!n) {
		r->eof = 1;
		r->buf[r->end] = 0;
		return 0;
	}
	r->end += (size_t)n;
	r->nread += n;
	return 1;
}

/* Length of the line without its terminator ("\n" or "\r\n"). */
static size_t chomp(const char *s, size_t n)
{
	if (n && s[n - 1] == '\n')
		n--;
	if (n && s[n - 1] == '\r')
		n--;
	return n;
}

/*
 * Looks at the next physical line without taking it. LN_LONG: the line has
 * more than r->max bytes before its terminator; l holds its first r->max.
 */
static int peek_line(struct rdr *r, struct line *l)
{
	char *nl;

	if (r->rpos < r->replay.len) {
		l->s = r->replay.buf + r->rpos;
		nl = memchr(l->s, '\n', r->replay.len - r->rpos);
		l->len = nl ? (size_t)(nl + 1 - l->s) : r->replay.len - r->rpos;
		r->peeked_replay = 1;
		return LN_OK;
	}
	if (r->replay.len) {
		sb_reset(&r->replay);
		r->rpos = 0;
	}
	r->peeked_replay = 0;
	for (;;) {
		nl = memchr(r->buf + r->scan, '\n', r->end - r->scan);
		if (nl) {
			r->scan = (size_t)(nl - r->buf);
			l->s = r->buf + r->beg;
			l->len = (size_t)(nl + 1 - l->s);
			break;
		}
		r->scan = r->end;
		l->s = r->buf + r->beg;
		/* more than max bytes before the terminator */
		if (r->end - r->beg > r->max + 1) {
			l->len = r->max;
			return LN_LONG;
		}
		if (r->eof) {
			l->len = r->end - r->beg;
			if (!l->len)
				return LN_EOF;
			break;
		}
		if (fill(r) < 0)
			return LN_ERR;
	}
	if (chomp(l->s, l->len) > r->max) {
		l->len = r->max;
		return LN_LONG;
	}
	return LN_OK;
}

/* Takes the line peek_line returned; its bytes stay valid until the next
 * peek_line. */
static void take_line(struct rdr *r, const struct line *l)
{
	if (r->peeked_replay) {
		r->rpos += l->len;
	} else {
		r->beg += l->len;
		if (r->scan < r->beg)
			r->scan = r->beg;
	}
	r->lineno++;
}

/* Takes a line longer than r->max without keeping it. */
static int skip_line(struct rdr *r)
{
	char *nl;

	for (;;) {
		nl = memchr(r->buf + r->scan, '\n', r->end - r->scan);
		if (nl) {
			r->beg = r->scan = (size_t)(nl + 1 - r->buf);
			break;
		}
		r->beg = r->end = r->scan = 0;
		if (r->eof)
			break;
		if (fill(r) < 0)
			return -1;
	}
	r->lineno++;
	return 0;
}

/* 1 when s[0..n) has neither a NUL nor a byte >= 0x80. */
static int plain_ascii(const char *s, size_t n)
{
	const uint64_t hi = 0x8080808080808080ull, lo = 0x0101010101010101ull;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, s + i, 8);
		if ((w & hi) || ((w - lo) & ~w & hi))
			return 0;
	}
	for (; i < n; i++)
		if (!s[i] || (s[i] & 0x80))
			return 0;
	return 1;
}

/*
 * Columns
 */

static size_t hash_name(const char *s, size_t n, int fold)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		h = (h ^ (uint64_t)(fold ? ascii_lower(c) : c)) * 1099511628211ull;
	}
	return (size_t)(h ^ (h >> 29));
}

static int name_eq(const struct rdr *r, size_t i, const char *s, size_t n)
{
	if (r->collen[i] != n)
		return 0;
	return r->casefold ? !ascii_ncasecmp(r->cols[i], s, n)
			   : !memcmp(r->cols[i], s, n);
}

/* Index of column s[0..n), or -1. */
static long find_col(const struct rdr *r, const char *s, size_t n)
{
	size_t mask = r->mapcap - 1, h;

	if (!r->mapcap)
		return -1;
	for (h = hash_name(s, n, r->casefold) & mask; r->map[h]; h = (h + 1) & mask)
		if (name_eq(r, r->map[h] - 1, s, n))
			return (long)(r->map[h] - 1);
	return -1;
}

static void map_put(struct rdr *r, size_t i)
{
	size_t mask = r->mapcap - 1;
	size_t h = hash_name(r->cols[i], r->collen[i], r->casefold) & mask;

	while (r->map[h])
		h = (h + 1) & mask;
	r->map[h] = i + 1;
}

static size_t add_col(struct rdr *r, const char *s, size_t n)
{
	size_t i = r->ncols;

	if (i == r->colcap) {
		size_t cap = r->colcap;
		r->cols = xgrow(r->cols, sizeof(*r->cols), i + 1, &cap);
		r->collen = xgrow(r->collen, sizeof(*r->collen), i + 1, &r->colcap);
	}
	r->cols[i] = xstrndup(s, n);
	r->collen[i] = n;
	r->ncols++;
	if (r->ncols * 2 > r->mapcap) {
		free(r->map);
		r->mapcap = r->mapcap ? r->mapcap * 2 : 64;
		r->map = xcalloc(r->mapcap, sizeof(*r->map));
		for (size_t k = 0; k < r->ncols; k++)
			map_put(r, k);
	} else {
		map_put(r, i);
	}
	if (r->ncols > r->fcap) {
		size_t cap = r->fcap;
		r->f = xgrow(r->f, sizeof(*r->f), r->ncols, &r->fcap);
		r->stamp = xgrow(r->stamp, sizeof(*r->stamp), r->ncols, &cap);
	}
	r->f[i].s = "";
	r->f[i].len = 0;
	r->f[i].kind = REC_ABSENT;
	r->stamp[i] = 0;
	if (r->ncols > r->spcap)
		r->sp = xgrow(r->sp, sizeof(*r->sp), r->ncols, &r->spcap);
	return i;
}

/* Makes every field absent: for JSON lines those of the columns the last
 * record had, the others are. */
static void fields_absent(struct rdr *r, struct rec *out)
{
	size_t n = r->fmt == REC_JSONL ? r->npresent : r->ncols;

	for (size_t k = 0; k < n; k++) {
		size_t i = r->fmt == REC_JSONL ? r->present[k] : k;
		r->f[i].s = "";
		r->f[i].len = 0;
		r->f[i].kind = REC_ABSENT;
	}
	r->npresent = 0;
	out->f = r->f;
	out->n = r->ncols;
}

/* "FIELD N" or "field N (COLUMN)" into r->err. */
static void err_field(struct rdr *r, const char *what, size_t i)
{
	sb_addf(&r->err, "%s in field %zu", what, i + 1);
	if (i < r->ncols && r->hdrline) {
		sb_adds(&r->err, " (");
		diag_name(&r->err, r->cols[i], r->collen[i]);
		sb_addc(&r->err, ')');
	}
}

/*
 * CSV
 */

static int sp_lfonly(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static int term_lfonly(unsigned char c)
{
	return c == '\n';
}

static void csv_start(struct rdr *r)
{
	csv_init(&r->p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL);
	csv_set_delim(&r->p, (unsigned char)r->delim);
	csv_set_realloc_func(&r->p, xrealloc);
	csv_set_blk_size(&r->p, 4096);
	r->p_live = 1;
	r->lfonly = 0;
}

static void csv_restart(struct rdr *r)
{
	csv_free(&r->p);
	csv_start(r);
}

static void csv_field_cb(void *s, size_t len, void *data)
{
	struct rdr *r = data;

	if (r->nsp == r->spcap)
		r->sp = xgrow(r->sp, sizeof(*r->sp), r->nsp + 1, &r->spcap);
	sb_grow(&r->text, len + 1);
	if (len)
		memcpy(r->text.buf + r->text.len, s, len);
	r->sp[r->nsp].off = r->text.len;
	r->sp[r->nsp].len = len;
	r->nsp++;
	r->text.len += len;
	r->text.buf[r->text.len++] = 0;
	r->text.buf[r->text.len] = 0;
}

static void csv_row_cb(int c, void *data)
{
	((struct rdr *)data)->row_done = 1;
}

/* A line libcsv would skip at the start of a row. */
static int csv_blank(const struct rdr *r, const char *s, size_t n)
{
	for (size_t i = 0; i < n && s[i] != '\n'; i++) {
		int c = (unsigned char)s[i];
		if ((c != ' ' && c != '\t' && c != '\r') || c == r->delim)
			return 0;
	}
	return 1;
}

static int csv_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/*
 * Splits a line without quotes the way libcsv does: at each delimiter,
 * spaces, TABs and CRs trimmed from both ends of every field.
 */
static void csv_split(struct rdr *r, const char *s, size_t n)
{
	char *t, *p, *e, *d, *a, *b;
	char delim = (char)r->delim;

	sb_grow(&r->text, n + 1);
	t = r->text.buf;
	memcpy(t, s, n);
	t[n] = delim;
	p = t;
	e = t + n;
	for (;;) {
		d = memchr(p, delim, (size_t)(e + 1 - p));
		a = p;
		b = d;
		while (a < b && csv_space((unsigned char)*a))
			a++;
		while (b > a && csv_space((unsigned char)b[-1]))
			b--;
		*b = 0;
		if (r->nsp == r->spcap)
			r->sp = xgrow(r->sp, sizeof(*r->sp), r->nsp + 1, &r->spcap);
		r->sp[r->nsp].off = (size_t)(a - t);
		r->sp[r->nsp].len = (size_t)(b - a);
		r->nsp++;
		if (d == e)
			break;
		p = d + 1;
	}
	r->text.len = n + 1;
	t[n + 1] = 0;
}

static void set_raw(struct rec *out, char *s, size_t n)
{
	n = chomp(s, n);
	s[n] = 0;
	out->raw = s;
	out->rawlen = n;
}

/*
 * The record that starts at out->line has a quoted field that is not
 * closed (at end of file, within r->max bytes, or before a character that
 * cannot follow a closing quote). It is reported as its first line alone;
 * the lines after it are read again.
 */
static int csv_unterminated(struct rdr *r, struct rec *out, size_t field,
			    const char *why)
{
	char *nl = memchr(r->raw.buf, '\n', r->raw.len);
	size_t first = nl ? (size_t)(nl + 1 - r->raw.buf) : r->raw.len;

	csv_restart(r);
	if (first < r->raw.len || r->rpos < r->replay.len) {
		sb_reset(&r->tmp);
		sb_add(&r->tmp, r->raw.buf + first, r->raw.len - first);
		sb_add(&r->tmp, r->replay.buf + r->rpos, r->replay.len - r->rpos);
		struct sb t = r->replay;
		r->replay = r->tmp;
		r->tmp = t;
		r->rpos = 0;
	}
	r->raw.len = first;
	r->lineno = out->line;
	out->lines = 1;
	set_raw(out, r->raw.buf, r->raw.len);
	sb_reset(&r->err);
	sb_addf(&r->err, "unterminated quoted field %zu", field + 1);
	if (field < r->ncols && r->hdrline) {
		sb_adds(&r->err, " (");
		diag_name(&r->err, r->cols[field], r->collen[field]);
		sb_addc(&r->err, ')');
	}
	sb_adds(&r->err, why);
	out->error = r->err.buf;
	return REC_OK;
}

/*
 * Reads the next CSV record into r->sp / r->text and out->line, lines,
 * raw; out->error is set for quoting errors and over-long records.
 */
static int csv_record(struct rdr *r, struct rec *out)
{
	struct line l;
	size_t nf1 = 0; /* fields complete at the end of the first line */
	char why[64];
	int st;

	r->nsp = 0;
	sb_reset(&r->text);
	sb_reset(&r->raw);
	for (;;) {
		st = peek_line(r, &l);
		if (st == LN_ERR)
			return REC_FATAL;
		if (st == LN_EOF) {
			if (!out->lines)
				return REC_EOF;
			r->row_done = 0;
			if (csv_fini(&r->p, csv_field_cb, csv_row_cb, r))
				return csv_unterminated(r, out, nf1, " at end of file");
			break;
		}
		if (st == LN_LONG) {
			if (out->lines) {
				snprintf(why, sizeof(why), ": record longer than %zu bytes", r->max);
				return csv_unterminated(r, out, nf1, why);
			}
			out->line = r->lineno + 1;
			out->lines = 1;
			sb_add(&r->raw, l.s, l.len);
			if (skip_line(r) < 0)
				return REC_FATAL;
			out->raw = r->raw.buf;
			out->rawlen = r->raw.len;
			sb_addf(&r->err, "record too long (more than %zu bytes)", r->max);
			out->error = r->err.buf;
			return REC_OK;
		}
		if (!out->lines) {
			if (csv_blank(r, l.s, l.len)) {
				take_line(r, &l);
				continue;
			}
			out->line = r->lineno + 1;
			if (!memchr(l.s, '"', l.len)) {
				take_line(r, &l);
				out->lines = 1;
				csv_split(r, l.s, chomp(l.s, l.len));
				set_raw(out, l.s, l.len);
				return REC_OK;
			}
		} else if (r->raw.len + l.len > r->max) {
			snprintf(why, sizeof(why), ": record longer than %zu bytes", r->max);
			return csv_unterminated(r, out, nf1, why);
		}
		take_line(r, &l);
		out->lines++;
		sb_add(&r->raw, l.s, l.len);

		/* A CR that does not end the line would end the row for
		 * libcsv: make LF the only terminator and CR a space. */
		size_t body = chomp(l.s, l.len);
		int lfonly = memchr(l.s, '\r', body) != NULL;
		if (lfonly != r->lfonly) {
			csv_set_space_func(&r->p, lfonly ? sp_lfonly : NULL);
			csv_set_term_func(&r->p, lfonly ? term_lfonly : NULL);
			r->lfonly = lfonly;
		}
		r->row_done = 0;
		if (csv_parse(&r->p, l.s, l.len, csv_field_cb, csv_row_cb, r) < l.len) {
			int pstate = r->p.pstate;
			int after_quote = pstate == LIBCSV_FIELD_MIGHT_HAVE_ENDED;

			if (out->lines > 1 && r->nsp == nf1 && after_quote) {
				snprintf(why, sizeof(why), ": malformed quoting on line %ld",
					 r->lineno);
				return csv_unterminated(r, out, nf1, why);
			}
			csv_restart(r);
			err_field(r, "malformed quoting", r->nsp);
			sb_adds(&r->err, after_quote ?
				": unexpected character after closing quote" :
				pstate == LIBCSV_FIELD_BEGUN && !r->p.quoted ?
				": quote in unquoted field" : "");
			out->error = r->err.buf;
			break;
		}
		if (r->row_done)
			break;
		if (out->lines == 1) {
			if (r->p.pstate == LIBCSV_ROW_NOT_BEGUN && !r->nsp) {
				/* nothing but space after all */
				out->lines = 0;
				sb_reset(&r->raw);
				continue;
			}
			nf1 = r->nsp;
		}
	}
	set_raw(out, r->raw.buf, r->raw.len);
	return REC_OK;
}

/* Checks encoding (and, past the header, the field count); fills f[]. */
static void csv_finish(struct rdr *r, struct rec *out)
{
	size_t i, bad;

	if (out->error)
		goto bad;
	if (r->nsp != r->ncols) {
		sb_addf(&r->err, "expected %zu fields, found %zu", r->ncols, r->nsp);
		goto bad;
	}
	if (!plain_ascii(out->raw, out->rawlen)) {
		for (i = 0; i < r->nsp; i++) {
			const char *s = r->text.buf + r->sp[i].off;
			size_t n = r->sp[i].len;
			if (memchr(s, 0, n)) {
				err_field(r, "NUL byte", i);
				goto bad;
			}
			if (!utf8_valid(s, n, &bad)) {
				err_field(r, "invalid UTF-8", i);
				sb_addf(&r->err, " at byte %zu", bad + 1);
				goto bad;
			}
		}
	}
	for (i = 0; i < r->ncols; i++) {
		r->f[i].s = r->text.buf + r->sp[i].off;
		r->f[i].len = r->sp[i].len;
		r->f[i].kind = REC_STR;
	}
	out->f = r->f;
	out->n = r->ncols;
	return;
bad:
	out->error = r->err.buf;
	fields_absent(r, out);
}

static int detect_delim(const char *s, size_t n)
{
	size_t semi = 0, tab = 0;

	for (size_t i = 0; i < n && s[i] != '\n'; i++) {
		if (s[i] == ',')
			return ',';
		semi += s[i] == ';';
		tab += s[i] == '\t';
	}
	if (semi || tab)
		return semi >= tab ? ';' : '\t';
	return ',';
}

static void csv_header(struct rdr *r)
{
	struct rec h = { 0 };
	struct line l;
	size_t i, bad;
	int st;

	if (!r->delim) {
		r->delim = ',';
		for (;;) {
			st = peek_line(r, &l);
			if (st == LN_ERR)
				return;
			if (st != LN_OK)
				break;
			if (csv_blank(r, l.s, l.len)) {
				take_line(r, &l);
				continue;
			}
			r->delim = detect_delim(l.s, l.len);
			break;
		}
	}
	csv_start(r);
	st = csv_record(r, &h);
	if (st != REC_OK)
		return; /* fatal, or an empty file: no columns */
	r->hdrline = h.line;
	if (h.error) {
		fatal(r, "invalid header: %s", h.error);
		return;
	}
	for (const char *cr = h.raw, *e = h.raw + h.rawlen;
	     (cr = memchr(cr, '\r', (size_t)(e - cr))) && ++cr < e;) {
		if (*cr != '\n' && *cr != '\r') {
			fatal(r, "invalid header: CR without LF (lines that end "
			      "in CR alone are not supported)");
			return;
		}
	}
	for (i = 0; i < r->nsp; i++) {
		const char *s = r->text.buf + r->sp[i].off;
		size_t n = r->sp[i].len;
		if (memchr(s, 0, n)) {
			fatal(r, "invalid header: NUL byte in field %zu", i + 1);
			return;
		}
		if (!utf8_valid(s, n, &bad)) {
			fatal(r, "invalid header: invalid UTF-8 in field %zu at byte %zu",
			      i + 1, bad + 1);
			return;
		}
		s = trim(s, &n);
		if (!n) {
			fatal(r, "empty column name in header (field %zu)", i + 1);
			return;
		}
		if (find_col(r, s, n) >= 0) {
			struct sb name = SB_INIT;
			diag_name(&name, s, n);
			fatal(r, "duplicate column \"%s\" in header", name.buf);
			sb_free(&name);
			return;
		}
		if (r->ncols == r->maxcols) {
			fatal(r, "invalid header: more than %zu columns", r->maxcols);
			return;
		}
		add_col(r, s, n);
	}
}

/*
 * JSON lines
 */

static int json_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return 0;
	return 1;
}

/*
 * cJSON decodes \u0000 into a NUL that ends its strings early. Finds the
 * top-level member whose key or value holds one in the object text s:
 * returns its 1-based position with its key's text, or 0.
 */
static size_t json_nul_member(const char *s, size_t n, const char **key,
			      size_t *keylen)
{
	size_t member = 0, i, start;
	int depth = 0, want_key = 0, nul;

	*key = "";
	*keylen = 0;

	for (i = 0; i < n; i++) {
		switch (s[i]) {
		case '"':
			start = ++i;
			nul = 0;
			while (i < n && s[i] != '"') {
				if (s[i] == '\\') {
					if (i + 5 < n && !memcmp(s + i + 1, "u0000", 5))
						nul = 1;
					i++;
				}
				i++;
			}
			if (depth == 1 && want_key) {
				want_key = 0;
				member++;
				*key = s + start;
				*keylen = i - start;
			}
			if (nul)
				return member;
			break;
		case '{':
		case '[':
			if (++depth == 1)
				want_key = 1;
			break;
		case '}':
		case ']':
			depth--;
			break;
		case ',':
			if (depth == 1)
				want_key = 1;
			break;
		}
	}
	return 0;
}

/* Whether s[0..n) may hold a \u0000 escape. */
static int maybe_nul_escape(const char *s, size_t n)
{
	const char *e = s + n, *p = s;

	while ((p = memchr(p, '\\', (size_t)(e - p)))) {
		if (e - p >= 6 && !memcmp(p + 1, "u0000", 5))
			return 1;
		p++;
	}
	return 0;
}

/* Prints item (unformatted) at the end of r->text; returns its length. */
static size_t json_print(struct rdr *r, cJSON *item)
{
	size_t room = 256;
	char *s;

	for (;;) {
		sb_grow(&r->text, room);
		room = r->text.cap - r->text.len - 1;
		if (room > INT_MAX / 2)
			break;
		if (cJSON_PrintPreallocated(item, r->text.buf + r->text.len,
					    (int)room, 0))
			return strlen(r->text.buf + r->text.len);
		room *= 2;
	}
	s = cJSON_PrintUnformatted(item);
	if (!s)
		crm_die(1, "out of memory");
	size_t n = strlen(s);
	sb_grow(&r->text, n + 1);
	memcpy(r->text.buf + r->text.len, s, n);
	cJSON_free(s);
	return n;
}

/* cJSON keeps a number only as a double, which would round a 19-digit id
 * or print 12.30 as 12.3. This walks the top-level members of a line that
 * cJSON has already accepted and records, for the k-th member, where its
 * value's text is when that value is a number (len 0 otherwise), so that
 * numbers reach the caller exactly as written. */
static void json_skip_string(const char *s, size_t n, size_t *i)
{
	size_t k = *i + 1;
	while (k < n && s[k] != '"')
		k += s[k] == '\\' ? 2 : 1;
	*i = k + 1;
}

static void json_skip_ws(const char *s, size_t n, size_t *i)
{
	while (*i < n && (s[*i] == ' ' || s[*i] == '\t' || s[*i] == '\r' || s[*i] == '\n'))
		++*i;
}

static void json_number_spans(struct rdr *r, const char *s, size_t n)
{
	size_t i = 0, k = 0;

	json_skip_ws(s, n, &i);
	i++; /* '{' */
	for (;;) {
		size_t v;
		json_skip_ws(s, n, &i);
		if (i >= n || s[i] != '"')
			break;
		json_skip_string(s, n, &i);
		json_skip_ws(s, n, &i);
		i++; /* ':' */
		json_skip_ws(s, n, &i);
		v = i;
		r->num = xgrow(r->num, sizeof(*r->num), k + 1, &r->numcap);
		r->num[k].off = v;
		r->num[k].len = 0;
		if (i < n && (s[i] == '-' || (s[i] >= '0' && s[i] <= '9'))) {
			while (i < n && strchr("+-0123456789.eE", s[i]) && s[i])
				i++;
			r->num[k].len = i - v;
		} else if (i < n && s[i] == '"') {
			json_skip_string(s, n, &i);
		} else if (i < n && (s[i] == '{' || s[i] == '[')) {
			int depth = 0;
			while (i < n) {
				if (s[i] == '"') {
					json_skip_string(s, n, &i);
					continue;
				}
				if (s[i] == '{' || s[i] == '[')
					depth++;
				else if ((s[i] == '}' || s[i] == ']') && --depth == 0) {
					i++;
					break;
				}
				i++;
			}
		} else {
			while (i < n && s[i] >= 'a' && s[i] <= 'z')
				i++;
		}
		k++;
		json_skip_ws(s, n, &i);
		if (i < n && s[i] == ',')
			i++;
	}
	r->nnum = k;
}

static int json_record(struct rdr *r, struct rec *out)
{
	struct line l;
	const char *end, *key;
	size_t n, bad, klen, k;
	char *s;
	cJSON *it;
	int st;

	for (;;) {
		st = peek_line(r, &l);
		if (st == LN_ERR)
			return REC_FATAL;
		if (st == LN_EOF)
			return REC_EOF;
		out->line = r->lineno + 1;
		out->lines = 1;
		if (st == LN_LONG) {
			sb_reset(&r->raw);
			sb_add(&r->raw, l.s, l.len);
			if (skip_line(r) < 0)
				return REC_FATAL;
			out->raw = r->raw.buf;
			out->rawlen = r->raw.len;
			sb_addf(&r->err, "line too long (more than %zu bytes)", r->max);
			goto bad;
		}
		take_line(r, &l);
		s = l.s;
		n = chomp(s, l.len);
		if (!json_blank(s, n))
			break;
	}
	s[n] = 0;
	out->raw = s;
	out->rawlen = n;

	if (r->json) {
		cJSON_Delete(r->json);
		r->json = NULL;
	}
	if (!plain_ascii(s, n)) {
		const char *z = memchr(s, 0, n);
		if (z) {
			sb_addf(&r->err, "NUL byte at byte %zu", (size_t)(z - s) + 1);
			goto bad;
		}
		if (!utf8_valid(s, n, &bad)) {
			sb_addf(&r->err, "invalid UTF-8 at byte %zu", bad + 1);
			goto bad;
		}
	}
	end = NULL;
	r->json = cJSON_ParseWithLengthOpts(s, n + 1, &end, 1);
	if (!r->json) {
		sb_addf(&r->err, "invalid JSON at column %zu",
			end && end >= s && end <= s + n ? (size_t)(end - s) + 1 : 1);
		goto bad;
	}
	if (!cJSON_IsObject(r->json)) {
		sb_adds(&r->err, "expected a JSON object");
		goto bad;
	}
	if (maybe_nul_escape(s, n) && (k = json_nul_member(s, n, &key, &klen))) {
		sb_addf(&r->err, "NUL byte in field %zu (", k);
		diag_name(&r->err, key, klen);
		sb_addc(&r->err, ')');
		goto bad;
	}
	k = 0;
	for (it = r->json->child; it; it = it->next) {
		k++;
		if (cJSON_IsNumber(it) && (isinf(it->valuedouble) || isnan(it->valuedouble))) {
			sb_addf(&r->err, "number out of range in field %zu (", k);
			diag_name(&r->err, it->string, strlen(it->string));
			sb_addc(&r->err, ')');
			goto bad;
		}
	}

	json_number_spans(r, s, n);
	sb_reset(&r->text);
	fields_absent(r, out);
	r->recno++;
	k = 0;
	for (it = r->json->child; it; it = it->next, k++) {
		size_t col;
		struct rec_field *f;

		if (k < r->nguess && r->guess[k] < r->ncols &&
		    !strcmp(r->cols[r->guess[k]], it->string)) {
			col = r->guess[k];
		} else {
			size_t kl = strlen(it->string);
			long c = find_col(r, it->string, kl);
			if (c < 0 && r->ncols == r->maxcols) {
				sb_addf(&r->err, "too many columns: key %zu would be column %zu "
					"(at most %zu)", k + 1, r->ncols + 1, r->maxcols);
				goto bad;
			}
			col = c >= 0 ? (size_t)c : add_col(r, it->string, kl);
			if (k >= r->guesscap)
				r->guess = xgrow(r->guess, sizeof(*r->guess), k + 1,
						 &r->guesscap);
			r->guess[k] = col;
			if (k >= r->nguess)
				r->nguess = k + 1;
		}
		if (r->stamp[col] != r->recno) {
			/* a key repeated in the object is one column, once */
			r->stamp[col] = r->recno;
			if (r->npresent == r->presentcap)
				r->present = xgrow(r->present, sizeof(*r->present),
						   r->npresent + 1, &r->presentcap);
			r->present[r->npresent++] = col;
		}
		f = &r->f[col];
		if (cJSON_IsString(it)) {
			f->s = it->valuestring;
			f->len = strlen(it->valuestring);
			f->kind = REC_STR;
		} else if (cJSON_IsBool(it)) {
			f->s = cJSON_IsTrue(it) ? "true" : "false";
			f->len = strlen(f->s);
			f->kind = REC_BOOL;
		} else if (cJSON_IsNull(it)) {
			f->s = "";
			f->len = 0;
			f->kind = REC_ABSENT;
		} else if (cJSON_IsNumber(it) && k < r->nnum && r->num[k].len) {
			/* a number as written in the line */
			size_t len = r->num[k].len;
			sb_add(&r->text, s + r->num[k].off, len);
			sb_addc(&r->text, 0);
			r->sp[col].off = r->text.len - len - 1;
			r->sp[col].len = len;
			f->s = NULL;
			f->len = len;
			f->kind = REC_NUM;
		} else {
			/* object or array: printed into r->text */
			size_t len = json_print(r, it);
			r->sp[col].off = r->text.len;
			r->sp[col].len = len;
			r->text.len += len + 1;
			r->text.buf[r->text.len] = 0;
			f->s = NULL;
			f->len = len;
			f->kind = cJSON_IsNumber(it) ? REC_NUM : REC_JSON;
		}
	}
	for (size_t k2 = 0; k2 < r->npresent; k2++) {
		size_t i = r->present[k2];
		if (!r->f[i].s)
			r->f[i].s = r->text.buf + r->sp[i].off;
	}
	out->f = r->f;
	out->n = r->ncols;
	out->present = r->present;
	out->npresent = r->npresent;
	return REC_OK;
bad:
	out->error = r->err.buf;
	fields_absent(r, out);
	return REC_OK;
}

/*
 * Opening and the public functions
 */

/* Skips a BOM and, for REC_AUTO, looks at the first non-blank byte among
 * the first r->max. */
static void sniff(struct rdr *r)
{
	size_t i = 0;

	while (!r->eof && r->end - r->beg < 3)
		if (fill(r) < 0)
			return;
	if (r->end - r->beg >= 3 && !memcmp(r->buf + r->beg, "\xef\xbb\xbf", 3)) {
		r->beg = r->scan = r->beg + 3;
		/* what follows the BOM, whatever the size of the reads */
		while (!r->eof && r->end - r->beg < 2)
			if (fill(r) < 0)
				return;
	}
	if (r->end - r->beg >= 2 && (!memcmp(r->buf + r->beg, "\xff\xfe", 2) ||
				     !memcmp(r->buf + r->beg, "\xfe\xff", 2))) {
		fatal(r, "UTF-16 input is not supported: convert it to UTF-8");
		return;
	}
	if (r->fmt != REC_AUTO)
		return;
	/* The first r->max bytes decide, never more: the bytes one read
	 * happens to bring in past them must not (a 64 KiB read once saw a
	 * '{' that 17-byte reads stopped short of). */
	r->fmt = REC_CSV;
	for (;;) {
		for (; r->beg + i < r->end && i < r->max; i++) {
			int c = (unsigned char)r->buf[r->beg + i];
			if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
				if (c == '{')
					r->fmt = REC_JSONL;
				return;
			}
		}
		if (r->eof || i >= r->max)
			return;
		if (fill(r) < 0)
			return;
	}
}

static int bad_opts(const struct rec_opts *o)
{
	return o && (o->delim < 0 || o->delim > 255 || o->delim == '"' ||
		     o->delim == '\n' || o->delim == '\r' ||
		     (unsigned)o->format > REC_JSONL);
}

static struct rdr *rdr_new(const char *name, int fd, int own, off_t size, const char *mem,
			   const struct rec_opts *o);

struct rdr *rec_open_mem(const char *name, const char *buf, size_t len,
			 const struct rec_opts *o)
{
	struct rdr *r;

	if (bad_opts(o)) {
		errno = EINVAL;
		return NULL;
	}
	r = rdr_new(name, -1, 0, (off_t)len, buf ? buf : "", o);
	return r;
}

struct rdr *rec_open(const char *path, const struct rec_opts *o)
{
	struct stat st;
	int fd, std = !strcmp(path, "-");

	if (bad_opts(o)) {
		errno = EINVAL;
		return NULL;
	}
	if (std) {
		fd = STDIN_FILENO;
	} else {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return NULL;
	}
	if (fstat(fd, &st) < 0) {
		int e = errno;
		if (!std)
			close(fd);
		errno = e;
		return NULL;
	}
	if (!std && S_ISDIR(st.st_mode)) {
		close(fd);
		errno = EISDIR;
		return NULL;
	}
	return rdr_new(std ? "<stdin>" : path, fd, !std, S_ISREG(st.st_mode) ? st.st_size : -1,
		       NULL, o);
}

/* A reader of fd, or (mem not NULL) of the size bytes at mem. */
static struct rdr *rdr_new(const char *name, int fd, int own, off_t size, const char *mem,
			   const struct rec_opts *o)
{
	struct rdr *r = xcalloc(1, sizeof(*r));

	r->name = xstrdup(name);
	r->fd = fd;
	r->own_fd = own;
	r->size = size;
	if (mem) {
		r->mem = mem;
		r->memlen = (size_t)size;
	}
	r->fmt = o ? o->format : REC_AUTO;
	r->delim = o ? o->delim : 0;
	r->max = o && o->max_record ? o->max_record : REC_MAX_RECORD;
	r->maxcols = o && o->max_columns ? o->max_columns : REC_MAX_COLUMNS;
	sb_init(&r->replay);
	sb_init(&r->msg);
	sb_init(&r->err);
	sb_init(&r->text);
	sb_init(&r->raw);
	sb_init(&r->tmp);
	r->cap = 2 * rec_blocksize + 1;
	r->buf = xmalloc(r->cap);

	sniff(r);
	if (r->state)
		return r;
	if (r->fmt == REC_CSV) {
		r->casefold = 1;
		csv_header(r);
	}
	return r;
}

void rec_close(struct rdr *r)
{
	if (!r)
		return;
	if (r->own_fd)
		close(r->fd);
	if (r->p_live)
		csv_free(&r->p);
	cJSON_Delete(r->json);
	for (size_t i = 0; i < r->ncols; i++)
		free(r->cols[i]);
	free(r->cols);
	free(r->collen);
	free(r->map);
	free(r->sp);
	free(r->num);
	free(r->f);
	free(r->guess);
	free(r->present);
	free(r->stamp);
	free(r->buf);
	free(r->name);
	sb_free(&r->replay);
	sb_free(&r->msg);
	sb_free(&r->err);
	sb_free(&r->text);
	sb_free(&r->raw);
	sb_free(&r->tmp);
	free(r);
}

const char *rec_name(const struct rdr *r)
{
	return r->name;
}

enum rec_format rec_format(const struct rdr *r)
{
	return r->fmt;
}

size_t rec_ncols(const struct rdr *r)
{
	return r->ncols;
}

const char *rec_colname(const struct rdr *r, size_t i)
{
	return i < r->ncols ? r->cols[i] : NULL;
}

int rec_next(struct rdr *r, struct rec *out)
{
	int st;

	out->line = out->lines = 0;
	out->n = 0;
	out->f = r->f;
	out->raw = "";
	out->rawlen = 0;
	out->error = NULL;
	out->present = NULL;
	out->npresent = 0;
	if (r->state)
		return r->state == REC_FATAL ? REC_FATAL : REC_EOF;
	sb_reset(&r->err);
	if (r->fmt == REC_JSONL) {
		st = json_record(r, out);
	} else {
		st = csv_record(r, out);
		if (st == REC_OK)
			csv_finish(r, out);
	}
	if (st == REC_EOF)
		r->state = REC_EOF + 2;
	else if (st == REC_FATAL)
		r->state = REC_FATAL; /* already set by fatal() */
	return st;
}

const char *rec_errmsg(const struct rdr *r)
{
	return r->msg.buf;
}

long rec_header_line(const struct rdr *r)
{
	return r->hdrline;
}

off_t rec_pos(const struct rdr *r)
{
	return r->nread - (off_t)(r->end - r->beg);
}

off_t rec_size(const struct rdr *r)
{
	return r->size;
}
