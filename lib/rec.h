/*
 * rec.h - streaming record reader for CSV (RFC 4180, via libcsv) and JSON
 * lines (via cJSON), with exact physical line numbers.
 *
 * A reader yields one record at a time. Columns are numbered in the order
 * they were first seen: for CSV they are the header's; for JSON lines a key
 * not seen before appends a column, so rec_ncols() can grow between
 * records. A record has one field per column known when it was read; a
 * column the record does not have is REC_ABSENT.
 *
 * Malformed records (wrong field count, broken quoting, invalid UTF-8, NUL
 * bytes, invalid JSON, a JSON line that is not an object) are returned with
 * rec.error set and reading goes on with the next record: bad input is
 * reported, never fatal. Only I/O errors and an unusable header are fatal.
 */
#ifndef CRM_REC_H
#define CRM_REC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum rec_format { REC_AUTO, REC_CSV, REC_JSONL };

enum rec_kind {
	REC_ABSENT, /* column not in this record (or JSON null) */
	REC_STR,    /* CSV field, JSON string */
	REC_NUM,    /* JSON number, as cJSON prints it */
	REC_BOOL,   /* JSON true/false, as "true"/"false" */
	REC_JSON,   /* JSON object or array, unformatted JSON text */
};

struct rec_field {
	const char *s; /* NUL-terminated; "" when absent */
	size_t len;
	enum rec_kind kind;
};

struct rec {
	long line;             /* physical line where the record starts, 1-based */
	long lines;            /* number of physical lines it spans */
	size_t n;              /* fields in f[] (== columns known when read) */
	struct rec_field *f;
	const char *raw;       /* the record's text, without its final newline */
	size_t rawlen;
	const char *error;     /* non-NULL: malformed, f[] unusable */
};

struct rec_opts {
	enum rec_format format; /* REC_AUTO: '{' as first non-blank byte is JSONL */
	int delim;              /* 0: ',' unless the header has ';' or TAB and no ',' */
	size_t max_record;      /* bytes; 0 = 1 MiB. Longer: error, resync */
};

struct rdr;

/* Opens path ("-" is stdin). NULL with errno set on failure. name is what
 * diagnostics call the file ("<stdin>" for "-"). */
struct rdr *rec_open(const char *path, const struct rec_opts *o);
void rec_close(struct rdr *r);

const char *rec_name(const struct rdr *r);
enum rec_format rec_format(const struct rdr *r);
size_t rec_ncols(const struct rdr *r);
const char *rec_colname(const struct rdr *r, size_t i);

enum { REC_EOF = 0, REC_OK = 1, REC_FATAL = -1 };
/* Reads the next record into *out (valid until the next call). Returns
 * REC_OK (check out->error), REC_EOF, or REC_FATAL with rec_errmsg() set
 * (I/O error, empty or invalid CSV header). The CSV header is read by the
 * first call and is not returned as a record. */
int rec_next(struct rdr *r, struct rec *out);
const char *rec_errmsg(const struct rdr *r);
/* Line of the header (CSV), for errors about columns. */
long rec_header_line(const struct rdr *r);

/* Progress: bytes consumed so far and total size (-1 when unknown, e.g.
 * a pipe). */
off_t rec_pos(const struct rdr *r);
off_t rec_size(const struct rdr *r);

#endif
