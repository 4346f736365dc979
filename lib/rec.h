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
 *
 * CSV follows RFC 4180 with libcsv's handling of white space: spaces, TABs
 * and CRs at either end of an unquoted field are dropped (the delimiter
 * never is), a quoted field is kept byte for byte, and spaces around the
 * quotes are allowed, so `"a", "b"` reads as a and b. The caller trims
 * values anyway, so this only matters for text it keeps verbatim. A line of
 * nothing but such white space is blank (skipped, not a record). CRLF and LF line ends may be mixed;
 * a CRLF inside a quoted field stays in the value. Lines without a quote
 * are split by the reader itself, with the same result libcsv gives.
 *
 * Error messages are lowercase, without the file or line (the caller adds
 * them from rec.line), and count fields, bytes and columns from 1 ("at byte
 * K" of a CSV field is within the field, of a JSON line within the line).
 * The CSV header is fatal when a name is empty or repeated (in any case),
 * and so is UTF-16 input or a file whose lines end in CR alone. A record
 * with a quote that is never closed (at end of file, within max_record
 * bytes, or closed by a quote followed by a character that cannot follow
 * one) is reported as its first line alone, "unterminated quoted field N
 * (COLUMN)", and the lines after it are read again as records of their
 * own, so one stray quote costs one line, not the rest of the file.
 *
 * JSON lines: one object per physical line; lines of only white space are
 * skipped. Keys are case-sensitive column names, and of a key repeated in
 * one object the last wins. A number is the text cJSON prints for it
 * (12.30 reads as "12.3", 1e3 as "1000"). cJSON keeps only about
 * 15 significant digits, so longer integers lose precision
 * (9007199254740993 reads "9.00719925474099e+15"), and a number beyond the
 * range of a double is an error.
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

/* raw is NUL-terminated, and a final "\r\n" is dropped like a "\n". Of a
 * line longer than max_record, raw holds only the first max_record bytes.
 * In a malformed record every field is REC_ABSENT (still n of them). */
struct rec {
	long line;             /* physical line where the record starts, 1-based */
	long lines;            /* number of physical lines it spans */
	size_t n;              /* fields in f[] (== columns known when read) */
	struct rec_field *f;
	const char *raw;       /* the record's text, without its final newline */
	size_t rawlen;
	const char *error;     /* non-NULL: malformed, f[] unusable */
	/* JSON lines: the columns this record has (its keys, in their order,
	 * a repeated one once); every other field is REC_ABSENT, so a caller
	 * can look at these alone. NULL for CSV, where a record has every
	 * column. */
	const size_t *present;
	size_t npresent;
};

struct rec_opts {
	enum rec_format format; /* REC_AUTO: '{' as first non-blank byte is JSONL
				 * (within the first max_record bytes) */
	int delim;              /* 0: ',' unless the header has ';' or TAB and no ',' */
	size_t max_record;      /* bytes; 0 = 1 MiB. Longer: error, resync */
	size_t max_columns;     /* 0 = REC_MAX_COLUMNS. More in a CSV header:
				 * fatal; a JSON line with a key beyond them: error */
};

/* Columns a file may have by default: 200,000, twice the widest file a
 * user asked for. Each costs about 250 bytes in crm-import (60 MB at the
 * limit); a JSON lines file can add one per line, so without a limit a
 * file of ids used as keys would grow without end. */
#define REC_MAX_COLUMNS 200000

struct rdr;

/* Opens path ("-" is stdin). NULL with errno set on failure. name is what
 * diagnostics call the file ("<stdin>" for "-"). o may be NULL for the
 * defaults; a delimiter that is a quote, CR or LF is EINVAL, and so is a
 * directory. rec_open already reads the start of the input to pick the
 * format and (CSV) read the header, so rec_format() and rec_ncols() are
 * meaningful right after it; a problem found there (read error, bad
 * header) is returned by the first rec_next() as REC_FATAL. */
struct rdr *rec_open(const char *path, const struct rec_opts *o);
/* The same over the len bytes at buf (kept by the caller until
 * rec_close), called name in diagnostics. */
struct rdr *rec_open_mem(const char *name, const char *buf, size_t len,
			 const struct rec_opts *o);
void rec_close(struct rdr *r);

const char *rec_name(const struct rdr *r);
enum rec_format rec_format(const struct rdr *r);
size_t rec_ncols(const struct rdr *r);
const char *rec_colname(const struct rdr *r, size_t i);

enum { REC_EOF = 0, REC_OK = 1, REC_FATAL = -1 };
/* Reads the next record into *out (valid until the next call). Returns
 * REC_OK (check out->error), REC_EOF, or REC_FATAL with rec_errmsg() set
 * (I/O error, invalid CSV header); REC_EOF and REC_FATAL stay so on later
 * calls. The CSV header is not returned as a record. An empty file (or
 * only a BOM and blank lines) has no columns and is REC_EOF, not an error. */
int rec_next(struct rdr *r, struct rec *out);
const char *rec_errmsg(const struct rdr *r);
/* Line of the header (CSV), for errors about columns. */
long rec_header_line(const struct rdr *r);

/* Progress: bytes consumed so far and total size (-1 when unknown, e.g.
 * a pipe). */
off_t rec_pos(const struct rdr *r);
off_t rec_size(const struct rdr *r);

/* For tests only: the size of the read(2) blocks of readers opened after
 * the call (0 restores the default, 64 KiB). Tiny blocks make every line
 * and quoted field cross block boundaries. */
void rec_set_blocksize(size_t n);

#endif
