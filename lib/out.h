/*
 * out.h - writing result rows in the format the user asked for:
 * csv (RFC 4180, via libcsv's quoting), tsv, jsonl, json (one array) and
 * table (aligned columns for a person at a terminal).
 *
 * Rows are written as they come, except for table, which looks at the
 * first rows to size the columns. A write error on stdout is fatal
 * ("write error"), except EPIPE: the reader went away (| head), so the
 * program ends quietly as if killed by SIGPIPE, as git and coreutils do.
 */
#ifndef CRM_OUT_H
#define CRM_OUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sqlite3.h>

enum out_format { OUT_CSV, OUT_TSV, OUT_JSONL, OUT_JSON, OUT_TABLE };

/* Parses a --format name; 0 on success. */
int out_format_parse(const char *name, enum out_format *f);

enum out_type { OUT_NULL, OUT_INT, OUT_REAL, OUT_TEXT, OUT_RAWJSON };

struct out_val {
	enum out_type t;
	int64_t i;
	double d;
	const char *s;  /* OUT_TEXT, OUT_RAWJSON (valid JSON text) */
	size_t len;
};

struct out;

struct out *out_new(FILE *fp, enum out_format f);
/* Sets the column names (copied); must precede the first row. */
void out_columns(struct out *o, size_t n, const char *const *names);
void out_row(struct out *o, const struct out_val *vals);
/* Writes the current row of a statement; the first call takes the column
 * names from the statement unless out_columns() was called. Text that is
 * valid JSON in a column whose name is "attrs" or "props" is written as
 * JSON, not as a string, in the JSON formats. */
void out_stmt_row(struct out *o, sqlite3_stmt *st);
/*
 * What a column's numbers are, for the table format, which is for a
 * person: counts with thousands separators (1,752,457), money to its
 * currency's minor units with separators (1,234.50 GBP, 1,235 JPY,
 * 1.235 KWD), rates and shares as percentages (0.6667 as 66.7%; under
 * 1%, four significant digits: 0.2997%, 0.08%). Numbers are
 * right-aligned whatever their kind. csv, tsv and the JSON formats write
 * every value exactly as given, whatever its kind: they are for programs.
 */
enum out_kind { OUT_KIND_PLAIN, OUT_KIND_COUNT, OUT_KIND_MONEY, OUT_KIND_RATE };
/* Declares the kind of the column(s) called name, before or after
 * out_columns (a name that never comes is no error). Money is in
 * currency (a code such as "GBP"), or with currency NULL in the one that
 * the same row's column called "currency" names; a code that is not
 * known gets two decimals. */
void out_column_kind(struct out *o, const char *name, enum out_kind k, const char *currency);
/* Money in column i (from 0) is in currency, where the row does not say
 * otherwise (out_row_kind). */
void out_column_currency(struct out *o, size_t i, const char *currency);
/* The next row's cells, but the first, are of kind k, money in currency
 * or with NULL in each column's currency: a table on its side, a line
 * per metric. */
void out_row_kind(struct out *o, enum out_kind k, const char *currency);
/* 1 once the columns are known (out_columns or a first out_stmt_row). */
int out_has_columns(const struct out *o);
/* CSV/TSV cells that a spreadsheet would run as a formula (out_formula_like)
 * are prefixed with ' so that it shows them as text: every such cell (on
 * = 1), or OUT_NEUTRALISE_TEXT: text cells only (numbers such as -7.5e-07
 * stay as written). crm-import takes the quote off again (imp.c). */
enum { OUT_NEUTRALISE_TEXT = 2 };
/* 1 when a cell of n bytes needs the quote: it starts with = or @, with
 * + or - not followed by a plain number ([0-9]+(.[0-9]+)?: +79161234567
 * and -12.5 are left alone, +cmd|... and -2+3 are not), with TAB or CR,
 * or with quotes followed by one of those (text that looks guarded
 * already, which crm-import would otherwise take a quote off). */
int out_formula_like(const char *s, size_t n);
void out_set_neutralise(struct out *o, int on);
/* A failed write no longer ends the program: the row and every later one
 * are dropped, and out_error() tells the errno (0 while none failed);
 * for a program that must finish what it started (crm-send). */
void out_set_keep_going(struct out *o);
int out_error(const struct out *o);
/* Writes what is buffered (not the table format's sample). */
void out_flush(struct out *o);
/* Flushes (prints the table) and frees o. A failed write ends the
 * program (see out_write_failed), so there is nothing to return. */
void out_finish(struct out *o);

/* Appends s as a JSON string literal (with quotes) to sb. */
struct sb;
void json_quote(struct sb *sb, const char *s, size_t len);

/* Called on any failed write to stdout: EPIPE ends the process quietly
 * (SIGPIPE), anything else is "write error" and exit 1. */
_Noreturn void out_write_failed(FILE *fp);

/* Checks and closes stdout at exit (sbase's fshut): 0 or 1. */
int out_close_stdout(void);

#endif
