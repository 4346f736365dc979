/*
 * test_rec.c - the CSV / JSON lines record reader: RFC 4180 quoting, line
 * numbers, recovery from broken quoting, encoding checks, JSON lines,
 * block boundaries, stdin.
 *
 * Most checks compare a dump of every record a reader returns:
 *
 *     LINE[-LAST]:FIELD|FIELD...      one line per record
 *     LINE[-LAST]:E(ERROR)            a malformed record
 *     EOF  or  FATAL(MESSAGE)         how reading ended
 *
 * where a JSON field is "-" when absent, "#TEXT" for a number, "?TEXT" for
 * a boolean, and its text otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rec.h"
#include "tap.h"
#include "util.h"

static char *tmpfiles[64];
static size_t ntmp;

/* Writes data to a new temporary file and returns its name. */
static const char *mkfile(const char *data, size_t n)
{
	char path[] = "/tmp/test_rec.XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0 || write(fd, data, n) != (ssize_t)n || close(fd) < 0) {
		perror("test_rec: temporary file");
		exit(1);
	}
	if (ntmp == ARRAY_SIZE(tmpfiles)) {
		unlink(tmpfiles[0]);
		free(tmpfiles[0]);
		memmove(tmpfiles, tmpfiles + 1, sizeof(tmpfiles) - sizeof(tmpfiles[0]));
		ntmp--;
	}
	tmpfiles[ntmp++] = xstrdup(path);
	return tmpfiles[ntmp - 1];
}

static struct rdr *open_data(const char *data, size_t n, const struct rec_opts *o)
{
	struct rdr *r = rec_open(mkfile(data, n), o);

	if (!r) {
		perror("test_rec: rec_open");
		exit(1);
	}
	return r;
}

/* String literals may hold NUL bytes: take their size, not strlen. */
#define OPEN(lit, o) open_data(lit, sizeof(lit) - 1, o)

static void dump_field(struct sb *sb, const struct rec_field *f)
{
	switch (f->kind) {
	case REC_ABSENT:
		sb_addc(sb, '-');
		if (*f->s || f->len)
			sb_adds(sb, "<absent field not empty>");
		return;
	case REC_NUM:
		sb_addc(sb, '#');
		break;
	case REC_BOOL:
		sb_addc(sb, '?');
		break;
	case REC_STR:
	case REC_JSON:
		break;
	}
	sb_add(sb, f->s, f->len);
	if (f->s[f->len])
		sb_adds(sb, "<not NUL-terminated>");
}

static void dump_rec(struct sb *sb, const struct rec *rec)
{
	if (rec->lines > 1)
		sb_addf(sb, "%ld-%ld:", rec->line, rec->line + rec->lines - 1);
	else
		sb_addf(sb, "%ld:", rec->line);
	if (rec->error) {
		sb_addf(sb, "E(%s)\n", rec->error);
		return;
	}
	for (size_t i = 0; i < rec->n; i++) {
		if (i)
			sb_addc(sb, '|');
		dump_field(sb, &rec->f[i]);
	}
	sb_addc(sb, '\n');
}

/* Reads r to its end and closes it; returns the dump (static). */
static const char *dump(struct rdr *r)
{
	static struct sb sb = SB_INIT;
	struct rec rec;
	int rc;

	sb_reset(&sb);
	while ((rc = rec_next(r, &rec)) == REC_OK) {
		dump_rec(&sb, &rec);
		if (rec.n != rec_ncols(r))
			sb_addf(&sb, "<n %zu != ncols %zu>\n", rec.n, rec_ncols(r));
		if (rec.raw[rec.rawlen])
			sb_adds(&sb, "<raw not NUL-terminated>\n");
	}
	if (rc == REC_EOF)
		sb_adds(&sb, "EOF");
	else
		sb_addf(&sb, "FATAL(%s)", rec_errmsg(r));
	rec_close(r);
	return sb.buf;
}

#define DUMP(lit, o, want, ...) is_str(dump(OPEN(lit, o)), want, __VA_ARGS__)

static const char *cols(const struct rdr *r)
{
	static struct sb sb = SB_INIT;

	sb_reset(&sb);
	for (size_t i = 0; i < rec_ncols(r); i++)
		sb_addf(&sb, "%s%s", i ? "|" : "", rec_colname(r, i));
	return sb.buf;
}

static void test_basic(void)
{
	struct rdr *r = OPEN("id,name,email\n1,Ann,a@x.org\n2,Bob,b@x.org\n", NULL);
	struct rec rec;

	is_int(rec_format(r), REC_CSV, "csv: format detected");
	is_int(rec_ncols(r), 3, "csv: columns known after rec_open");
	is_str(cols(r), "id|name|email", "csv: column names");
	ok(rec_colname(r, 3) == NULL, "csv: colname past the end is NULL");
	is_int(rec_header_line(r), 1, "csv: header line");
	is_int(rec_next(r, &rec), REC_OK, "csv: first record");
	is_int(rec.line, 2, "csv: first record on line 2");
	is_int(rec.lines, 1, "csv: one line");
	is_int(rec.n, 3, "csv: n is the column count");
	ok(rec.error == NULL, "csv: no error");
	is_str(rec.f[1].s, "Ann", "csv: field text");
	is_int(rec.f[1].len, 3, "csv: field length");
	is_int(rec.f[1].kind, REC_STR, "csv: fields are REC_STR");
	is_str(rec.raw, "1,Ann,a@x.org", "csv: raw without newline");
	is_int(rec.rawlen, 13, "csv: rawlen");
	is_int(rec_next(r, &rec), REC_OK, "csv: second record");
	is_str(rec.f[2].s, "b@x.org", "csv: second record text");
	is_int(rec_next(r, &rec), REC_EOF, "csv: EOF");
	is_int(rec_next(r, &rec), REC_EOF, "csv: EOF again");
	is_int(rec_pos(r), rec_size(r), "csv: pos reaches size");
	is_int(rec_size(r), 42, "csv: size of a regular file");
	rec_close(r);
}

static void test_rfc4180(void)
{
	struct rdr *r;
	struct rec rec;

	DUMP("id,note,x\n"
	     "1,\"a,b\",c\n"
	     "2,\"say \"\"hi\"\"\",d\n"
	     "3,\"multi\nline\nnote\",e\n"
	     "4,after,f\n"
	     "\n"
	     "5,\"x\r\ny\",g\n"
	     "6,\"\",h\n"
	     "7,,\n",
	     NULL,
	     "2:1|a,b|c\n"
	     "3:2|say \"hi\"|d\n"
	     "4-6:3|multi\nline\nnote|e\n"
	     "7:4|after|f\n"
	     "9-10:5|x\r\ny|g\n"
	     "11:6||h\n"
	     "12:7||\n"
	     "EOF",
	     "rfc4180: quoted delimiters, doubled quotes, newlines, CRLF inside");

	r = OPEN("id,note\n1,\"one\ntwo\"\n", NULL);
	is_int(rec_next(r, &rec), REC_OK, "multi-line: record");
	is_str(rec.raw, "1,\"one\ntwo\"", "multi-line: raw keeps the inner newline");
	is_int(rec.lines, 2, "multi-line: two lines");
	is_int(rec.f[1].len, 7, "multi-line: field length");
	rec_close(r);

	DUMP("a,b\n\"x\",\"y\"", NULL, "2:x|y\nEOF",
	     "quoted last field at EOF without newline");
	DUMP("a,b\n\"p\", \"q\" \n  x  , \"  y  \" \n", NULL,
	     "2:p|q\n3:x|  y  \nEOF",
	     "spaces around quotes allowed, unquoted fields trimmed, quoted kept");
	DUMP("a,b\n1, abc ,\n\"1\", \"abc\" ,\"\"\n", NULL,
	     "2:E(expected 2 fields, found 3)\n3:E(expected 2 fields, found 3)\nEOF",
	     "ragged lines with and without quotes");
	DUMP("a,b,c\n1, abc ,\t\n\"1\", \"abc\" ,\"\"\n", NULL,
	     "2:1|abc|\n3:1|abc|\nEOF",
	     "a line without quotes reads like its quoted twin");
	DUMP("a,b\nx\ry,z\nx\ry,\"q\"\r\n\r\r\n\"\r\",\"\"\r\n", NULL,
	     "2:x\ry|z\n3:x\ry|q\n5:\r|\nEOF",
	     "a CR inside a line does not end the record");
}

static void test_line_ends(void)
{
	struct rdr *r;
	struct rec rec;

	DUMP("\xef\xbb\xbfid,name\r\n\r\n1,Ann\r\n\r\n\r\n2,Bob\r\n3,Cy", NULL,
	     "3:1|Ann\n6:2|Bob\n7:3|Cy\nEOF",
	     "CRLF, BOM, blank lines, last line without newline");
	r = OPEN("\xef\xbb\xbfid,name\r\n1,Ann\r\n", NULL);
	is_str(rec_colname(r, 0), "id", "BOM not part of the first column");
	is_int(rec_next(r, &rec), REC_OK, "CRLF record");
	is_str(rec.raw, "1,Ann", "raw drops CRLF");
	is_str(rec.f[1].s, "Ann", "no CR in the last field");
	rec_close(r);
	DUMP("\n\n\r\na,b\n\n1,2\n   \n \t\r\n3,4\n\n", NULL,
	     "6:1|2\n9:3|4\nEOF", "blank and white-space lines skipped, lines counted");
	is_int(rec_header_line(r = OPEN("\n\n\r\na,b\n", NULL)), 4,
	       "header line after blank lines");
	rec_close(r);
	DUMP("a\n\"\"\nx\n", NULL, "2:\n3:x\nEOF", "one column: quoted empty field is a record");
}

static void test_delimiters(void)
{
	struct rec_opts o = { 0 };
	struct rdr *r;

	r = OPEN("a;b;c\n1;2;3\n", NULL);
	is_str(cols(r), "a|b|c", "semicolon detected");
	is_str(dump(r), "2:1|2|3\nEOF", "semicolon records");
	r = OPEN("a\tb\tc\n1\t\t3\n \t x \t\n", NULL);
	is_str(cols(r), "a|b|c", "TAB detected");
	is_str(dump(r), "2:1||3\n3:|x|\nEOF", "TAB: empty fields kept, spaces trimmed");
	r = OPEN("a;b,c\n1;2,3\n", NULL);
	is_str(cols(r), "a;b|c", "a comma wins over semicolons");
	rec_close(r);
	r = OPEN("a;b\tc;d\n", NULL);
	is_str(cols(r), "a|b\tc|d", "more semicolons than TABs: semicolon");
	rec_close(r);
	r = OPEN("\n\na\tb\tc;d\n", NULL);
	is_str(cols(r), "a|b|c;d", "more TABs than semicolons: TAB, after blank lines");
	rec_close(r);
	o.delim = ';';
	r = OPEN("a,b;c\n1,2;3\n", &o);
	is_str(cols(r), "a,b|c", "explicit delimiter");
	is_str(dump(r), "2:1,2|3\nEOF", "explicit delimiter records");
	o.delim = '|';
	DUMP("a|\"b|c\"\n1|\"x|y\"\n", &o, "2:1|x|y\nEOF", "pipe delimiter with quotes");
	o.delim = '"';
	errno = 0;
	ok(rec_open(mkfile("a\n", 2), &o) == NULL && errno == EINVAL,
	   "quote as delimiter is EINVAL");
}

static void test_malformed(void)
{
	struct rec_opts o = { 0 };
	struct rdr *r;
	struct rec rec;

	DUMP("a,b,c\n1,2\n1,2,3\n1,2,3,4\n", NULL,
	     "2:E(expected 3 fields, found 2)\n3:1|2|3\n4:E(expected 3 fields, found 4)\nEOF",
	     "ragged rows");
	DUMP("a,b,c\n1,\"b\"c,d\n2,x\"y,z\n3,ok,fine\n\"4\"x\n5,\"ok\",\"fine\"\n", NULL,
	     "2:E(malformed quoting in field 2 (b): unexpected character after closing quote)\n"
	     "3:E(malformed quoting in field 2 (b): quote in unquoted field)\n"
	     "4:3|ok|fine\n"
	     "5:E(malformed quoting in field 1 (a): unexpected character after closing quote)\n"
	     "6:5|ok|fine\n"
	     "EOF",
	     "broken quoting: good rows after it keep their lines");
	DUMP("a,b\n1,\"abc\n2,x\n3,y\n", NULL,
	     "2:E(unterminated quoted field 2 (b) at end of file)\n3:2|x\n4:3|y\nEOF",
	     "unterminated quote at EOF: the rows after it are recovered");
	r = OPEN("a,b\n1,\"abc\n2,x\n", NULL);
	is_int(rec_next(r, &rec), REC_OK, "unterminated: record");
	is_str(rec.raw, "1,\"abc", "unterminated: raw is the first line");
	is_int(rec.lines, 1, "unterminated: one line");
	is_int(rec.n, 2, "unterminated: n is still ncols");
	is_int(rec.f[0].kind, REC_ABSENT, "error record: fields absent");
	rec_close(r);
	DUMP("a,b\n1,\"abc", NULL,
	     "2:E(unterminated quoted field 2 (b) at end of file)\nEOF",
	     "unterminated quote on the last line");
	DUMP("a,b,c\n1,\"abc,q\n2,\"x\",y\n3,z,w\n", NULL,
	     "2:E(unterminated quoted field 2 (b): malformed quoting on line 3)\n"
	     "3:2|x|y\n4:3|z|w\nEOF",
	     "quote never closed properly: next line read again");
	DUMP("a,b\n1,\"p\n2,\"q\n3,r\n", NULL,
	     "2:E(unterminated quoted field 2 (b): malformed quoting on line 3)\n"
	     "3:E(unterminated quoted field 2 (b) at end of file)\n"
	     "4:3|r\nEOF",
	     "recovery inside recovery");
	DUMP("a,b,c\n1,\"x\ny\",c\"d\n2,ok,ok\n", NULL,
	     "2-3:E(malformed quoting in field 3 (c): quote in unquoted field)\n4:2|ok|ok\nEOF",
	     "closed multi-line field, broken field after it: one bad record");
	DUMP("a,b\r\n1,\"abc\r\n2,x\r\n", NULL,
	     "2:E(unterminated quoted field 2 (b) at end of file)\n3:2|x\nEOF",
	     "unterminated quote in a CRLF file");

	o.max_record = 64;
	DUMP("a,b\n1,\"\nxxxxxxxxxx\nxxxxxxxxxx\nxxxxxxxxxx\nxxxxxxxxxx\n"
	     "xxxxxxxxxx\nxxxxxxxxxx\nxxxxxxxxxx\n2,ok\n", &o,
	     "2:E(unterminated quoted field 2 (b): record longer than 64 bytes)\n"
	     "3:E(expected 2 fields, found 1)\n4:E(expected 2 fields, found 1)\n"
	     "5:E(expected 2 fields, found 1)\n6:E(expected 2 fields, found 1)\n"
	     "7:E(expected 2 fields, found 1)\n8:E(expected 2 fields, found 1)\n"
	     "9:E(expected 2 fields, found 1)\n10:2|ok\nEOF",
	     "record past max_record: unterminated, later lines read again");
	o.max_record = 32;
	r = OPEN("a,b\n1,xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n2,ok\n", &o);
	is_int(rec_next(r, &rec), REC_OK, "long line: record");
	is_str(rec.error, "record too long (more than 32 bytes)", "long line: error");
	is_int(rec.line, 2, "long line: line");
	is_int(rec.rawlen, 32, "long line: raw is cut at max_record");
	is_int(rec_next(r, &rec), REC_OK, "long line: next record");
	is_int(rec.line, 3, "long line: next record's line");
	is_str(rec.f[1].s, "ok", "long line: next record's text");
	rec_close(r);
	o.max_record = 16;
	DUMP("a,b\n1,\"x\nyyyyyyyyyyyyyyyyyyyyyyyy\n2,ok\n", &o,
	     "2:E(unterminated quoted field 2 (b): record longer than 16 bytes)\n"
	     "3:E(record too long (more than 16 bytes))\n4:2|ok\nEOF",
	     "a long line inside a quoted field");
}

static void test_big_field(void)
{
	struct sb sb = SB_INIT;
	struct rdr *r;
	struct rec rec;

	sb_adds(&sb, "a,b\n1,\"");
	for (int i = 0; i < 1000000; i++)
		sb_addc(&sb, i % 1000 == 999 ? '\n' : i % 100 == 99 ? '"' : 'x');
	/* every '"' must be doubled inside the quotes */
	struct sb q = SB_INIT;
	for (size_t i = 0; i < sb.len; i++) {
		sb_addc(&q, sb.buf[i]);
		if (sb.buf[i] == '"' && i > 7)
			sb_addc(&q, '"');
	}
	sb_adds(&q, "\"\n3,4\n");
	r = open_data(q.buf, q.len, NULL);
	is_int(rec_next(r, &rec), REC_OK, "1 MB quoted field: record");
	is_str(rec.error, NULL, "1 MB quoted field: no error");
	is_int(rec.f[1].len, 1000000, "1 MB quoted field: length");
	ok(rec.f[1].len == 1000000 && !memcmp(rec.f[1].s, sb.buf + 7, 1000000),
	   "1 MB quoted field: text");
	is_int(rec.lines, 1001, "1 MB quoted field: lines");
	is_int(rec_next(r, &rec), REC_OK, "1 MB quoted field: next record");
	is_int(rec.line, 1003, "1 MB quoted field: next record's line");
	rec_close(r);
	sb_free(&sb);
	sb_free(&q);
}

static void test_encoding(void)
{
	DUMP("a,b\n1,x\0y\n2,\"q\0\"\n3,ok\n\0,z\n", NULL,
	     "2:E(NUL byte in field 2 (b))\n3:E(NUL byte in field 2 (b))\n4:3|ok\n"
	     "5:E(NUL byte in field 1 (a))\nEOF",
	     "NUL bytes");
	DUMP("a,b\n1,ab\xc0\xaf\n2,\xed\xa0\x80x\n3,x\xe2\x82\n4,\xd0\x98\xd1\x80\xd0\xb8\xd0\xbd\xd0\xb0\n"
	     "5,\xff\n6,\"\xf4\x90\x80\x80\"\n\xe2\x82\xac,\xf0\x9f\x98\x80\n", NULL,
	     "2:E(invalid UTF-8 in field 2 (b) at byte 3)\n"
	     "3:E(invalid UTF-8 in field 2 (b) at byte 1)\n"
	     "4:E(invalid UTF-8 in field 2 (b) at byte 2)\n"
	     "5:4|\xd0\x98\xd1\x80\xd0\xb8\xd0\xbd\xd0\xb0\n"
	     "6:E(invalid UTF-8 in field 2 (b) at byte 1)\n"
	     "7:E(invalid UTF-8 in field 2 (b) at byte 1)\n"
	     "8:\xe2\x82\xac|\xf0\x9f\x98\x80\n"
	     "EOF",
	     "invalid UTF-8: overlong, surrogate, truncated, 0xff, above U+10FFFF");
	DUMP("a,b\n1,x\xe2\x82\n", NULL,
	     "2:E(invalid UTF-8 in field 2 (b) at byte 2)\nEOF",
	     "truncated sequence at the end of the file");
	DUMP("a,b\n1,\"x\ny\xc3\"\n", NULL,
	     "2-3:E(invalid UTF-8 in field 2 (b) at byte 4)\nEOF",
	     "invalid UTF-8 in a multi-line field");
}

static void test_header(void)
{
	struct rdr *r;
	struct rec rec;

	r = OPEN("", NULL);
	is_int(rec_next(r, &rec), REC_EOF, "empty file: EOF");
	is_int(rec_ncols(r), 0, "empty file: no columns");
	is_str(rec_errmsg(r), "", "empty file: no error");
	is_int(rec_size(r), 0, "empty file: size 0");
	rec_close(r);
	DUMP("\xef\xbb\xbf", NULL, "EOF", "only a BOM");
	DUMP("\n\r\n\n", NULL, "EOF", "only blank lines");
	r = OPEN("a,b\n", NULL);
	is_str(cols(r), "a|b", "header only: columns");
	is_str(dump(r), "EOF", "header only: no records");
	r = OPEN("a,b", NULL);
	is_str(cols(r), "a|b", "header without newline");
	rec_close(r);
	r = OPEN(" id , Full Name ,\"x, y\"\n", NULL);
	is_str(cols(r), "id|Full Name|x, y", "header names trimmed, quoted names");
	rec_close(r);
	DUMP("id,Email,email\n1,2,3\n", NULL,
	     "FATAL(duplicate column \"email\" in header)", "duplicate column, any case");
	r = OPEN("a,,b\n1,2,3\n", NULL);
	is_int(rec_next(r, &rec), REC_FATAL, "empty column name is fatal");
	is_str(rec_errmsg(r), "empty column name in header (field 2)", "empty column name message");
	is_int(rec_next(r, &rec), REC_FATAL, "fatal is sticky");
	rec_close(r);
	DUMP("a,\"  \"\n", NULL, "FATAL(empty column name in header (field 2))",
	     "blank quoted column name");
	DUMP("a,\"b\n1,2\n", NULL,
	     "FATAL(invalid header: unterminated quoted field 2 at end of file)",
	     "unterminated header");
	DUMP("a,b\"c\n", NULL,
	     "FATAL(invalid header: malformed quoting in field 2: quote in unquoted field)",
	     "malformed header");
	DUMP("a,b\xff\n", NULL,
	     "FATAL(invalid header: invalid UTF-8 in field 2 at byte 2)", "header UTF-8");

	DUMP("\xff\xfei\0d\0\n\0", NULL,
	     "FATAL(UTF-16 input is not supported: convert it to UTF-8)", "UTF-16 is fatal");
	DUMP("id,name\r1,Ann\r2,Bob\r", NULL,
	     "FATAL(invalid header: CR without LF (lines that end in CR alone are not supported))",
	     "CR-only line ends are fatal");
	DUMP("id,name\r\r\n1,Ann\n", NULL, "2:1|Ann\nEOF", "header ending in CR CR LF is fine");

	/* many columns: the name map grows */
	struct sb sb = SB_INIT;
	for (int i = 0; i < 300; i++)
		sb_addf(&sb, "%scol%d", i ? "," : "", i);
	sb_adds(&sb, ",COL150\n");
	r = open_data(sb.buf, sb.len, NULL);
	is_int(rec_next(r, &rec), REC_FATAL, "300 columns: duplicate found");
	is_str(rec_errmsg(r), "duplicate column \"COL150\" in header", "300 columns: message");
	rec_close(r);
	sb.len -= 8;
	sb_adds(&sb, "\n");
	for (int i = 0; i < 300; i++)
		sb_addf(&sb, "%s%d", i ? "," : "", i);
	r = open_data(sb.buf, sb.len, NULL);
	is_int(rec_ncols(r), 300, "300 columns");
	is_int(rec_next(r, &rec), REC_OK, "300 columns: record");
	is_str(rec.f[299].s, "299", "300 columns: last field");
	rec_close(r);
	sb_free(&sb);
}

static void test_jsonl(void)
{
	struct rdr *r;
	struct rec rec;

	r = OPEN("{\"id\":1,\"name\":\"Ann\"}\n"
		 "\n"
		 "{\"name\":\"Bob\",\"id\":2,\"tags\":[\"a\",\"b\"]}\n"
		 "{\"id\":3,\"addr\":{\"city\":\"Oslo\",\"zip\":\"0150\"},\"vip\":true,\"note\":null}\r\n"
		 "not json\n"
		 "[1,2]\n"
		 "{\"id\":12.30,\"amount\":1e3,\"big\":9007199254740993}\n"
		 "{\"id\":\"x\",\"id\":\"y\"}\n"
		 "{\"id\":1} x\n"
		 "{\"id\":\"a\\u0000b\"}\n"
		 "{\"id\":\"caf\\u00e9\",\"vip\":false}\n"
		 "{\"id\":\"\xc3(\"}\n"
		 "{\"v\":1e999}\n"
		 "{\"id\":4}", NULL);
	is_int(rec_format(r), REC_JSONL, "jsonl: format detected");
	is_int(rec_ncols(r), 0, "jsonl: no columns before the first record");
	is_int(rec_header_line(r), 0, "jsonl: no header line");
	is_int(rec_next(r, &rec), REC_OK, "jsonl: first record");
	is_int(rec.n, 2, "jsonl: n after the first line");
	is_int(rec.f[0].kind, REC_NUM, "jsonl: number kind");
	is_str(rec.raw, "{\"id\":1,\"name\":\"Ann\"}", "jsonl: raw");
	is_int(rec_next(r, &rec), REC_OK, "jsonl: second record");
	is_int(rec.line, 3, "jsonl: blank line skipped, line counted");
	is_int(rec.n, 3, "jsonl: a new key adds a column");
	is_str(cols(r), "id|name|tags", "jsonl: columns in order of appearance");
	is_str(rec.f[0].s, "2", "jsonl: keys in another order");
	is_int(rec.f[2].kind, REC_JSON, "jsonl: array kind");
	is_str(dump(r),
	       "4:#3|-|-|{\"city\":\"Oslo\",\"zip\":\"0150\"}|?true|-\n"
	       "5:E(invalid JSON at column 1)\n"
	       "6:E(expected a JSON object)\n"
	       "7:#12.30|-|-|-|-|-|#1e3|#9007199254740993\n"
	       "8:y|-|-|-|-|-|-|-\n"
	       "9:E(invalid JSON at column 10)\n"
	       "10:E(NUL byte in field 1 (id))\n"
	       "11:caf\xc3\xa9|-|-|-|?false|-|-|-\n"
	       "12:E(invalid UTF-8 at byte 8)\n"
	       "13:E(number out of range in field 1 (v))\n"
	       "14:#4|-|-|-|-|-|-|-\n"
	       "EOF",
	       "jsonl: values, absent fields, errors between good lines");

	r = OPEN("\xef\xbb\xbf\r\n  \n{\"a\":\"x\"}\r\n\t\r\n{\"b\":-0.5,\"a\":\"\"}\n", NULL);
	is_int(rec_format(r), REC_JSONL, "jsonl: detected after BOM and blank lines");
	is_str(dump(r), "3:x\n5:|#-0.5\nEOF", "jsonl: BOM, CRLF, blank lines, empty string");

	DUMP("{\"Email\":1,\"email\":2}\n", NULL, "1:#1|#2\nEOF", "jsonl: keys are case-sensitive");
	DUMP("{}\n{\"a\":{}}\n{\"a\":[]}\n{\"a\":[{\"b\":null}]}\n", NULL,
	     "1:\n2:{}\n3:[]\n4:[{\"b\":null}]\nEOF", "jsonl: empty and nested values");
	DUMP("{\"a\":\"\\ud800\"}\n{\"a\":\"\\ud83d\\ude00\"}\n{\"a\":\"\\\\u0000\"}\n", NULL,
	     "1:E(invalid JSON at column 7)\n2:\xf0\x9f\x98\x80\n3:\\u0000\nEOF",
	     "jsonl: surrogates, an escaped backslash is not a NUL");
	DUMP("{\"a\":1,\"k\\u0000\":2}\n{\"a\":{\"x\":\"\\u0000\"}}\n{\"a\":\"\\u0000\"}\n", NULL,
	     "1:E(NUL byte in field 2 (k\\u0000))\n2:E(NUL byte in field 1 (a))\n"
	     "3:E(NUL byte in field 1 (a))\nEOF",
	     "jsonl: \\u0000 in a key, nested value, string");
	DUMP("{\"a\":\"x\0y\"}\n{\"a\":1}\n", NULL,
	     "1:E(NUL byte at byte 8)\n2:#1\nEOF", "jsonl: raw NUL byte");
	DUMP("{\"a\":1}\n{\"a\":2,\"b\":\n{\"a\":3}\n", NULL,
	     "1:#1\n2:E(invalid JSON at column 12)\n3:#3\nEOF",
	     "jsonl: truncated object (error at its end, no column added)");

	struct rec_opts o = { 0 };
	o.max_record = 64;
	DUMP("{\"a\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}\n"
	     "{\"a\":1}\n", &o,
	     "1:E(line too long (more than 64 bytes))\n2:#1\nEOF", "jsonl: line too long");

	o.max_record = 0;
	o.format = REC_CSV;
	r = OPEN("{\"a\":1}\n", &o);
	is_int(rec_format(r), REC_CSV, "format forced to CSV");
	is_int(rec_next(r, &rec), REC_FATAL, "JSON read as CSV: header fails");
	rec_close(r);
	o.format = REC_JSONL;
	DUMP("a,b\n1,2\n", &o,
	     "1:E(invalid JSON at column 1)\n2:E(invalid JSON at column 2)\nEOF",
	     "CSV read as JSON lines");

	/* many keys: the name map grows */
	struct sb sb = SB_INIT;
	for (int i = 0; i < 3; i++) {
		sb_addc(&sb, '{');
		for (int k = 0; k < 200; k++)
			sb_addf(&sb, "%s\"k%d\":%d", k ? "," : "", (k * 7 + i * 13) % 200, k);
		sb_adds(&sb, "}\n");
	}
	r = open_data(sb.buf, sb.len, NULL);
	int good = 1;
	for (int i = 0; i < 3; i++) {
		good &= rec_next(r, &rec) == REC_OK && !rec.error && rec.n == 200;
		/* key kN (at position k in the line) is in the column named kN */
		for (size_t c = 0; good && c < rec.n; c++) {
			int key = atoi(rec_colname(r, c) + 1), k;
			for (k = 0; (k * 7 + i * 13) % 200 != key; k++)
				;
			good &= atoi(rec.f[c].s) == k;
		}
	}
	ok(good, "jsonl: 200 keys in changing orders");
	is_int(rec_ncols(r), 200, "jsonl: 200 columns");
	rec_close(r);
	sb_free(&sb);
}

/*
 * A 3 MB file of every kind of record, read with several block sizes: the
 * dump must not depend on where the blocks end.
 */
static void test_blocks(void)
{
	struct sb in = SB_INIT, want = SB_INIT;
	long line = 1;
	int straddle = 0;
	static const size_t sizes[] = { 7, 4093, 0 };

	sb_adds(&in, "id,text,n\r\n");
	for (int i = 1; in.len < 3 * 1024 * 1024; i++) {
		size_t start = in.len;
		switch (i % 10) {
		case 0:
			sb_addf(&in, "%d,\"line a\nline b, with comma\n\"\"quoted\"\"\",%d\n", i, i);
			sb_addf(&want, "%ld-%ld:%d|line a\nline b, with comma\n\"quoted\"|%d\n",
				line + 1, line + 3, i, i);
			line += 3;
			break;
		case 1:
			sb_addf(&in, "%d,crlf,%d\r\n", i, i);
			sb_addf(&want, "%ld:%d|crlf|%d\n", ++line, i, i);
			break;
		case 2:
			sb_addf(&in, "\n\r\n%d,after blank,%d\n", i, i);
			line += 2;
			sb_addf(&want, "%ld:%d|after blank|%d\n", ++line, i, i);
			break;
		case 3:
			sb_addf(&in, "%d,\"bad\"x,%d\n", i, i);
			sb_addf(&want, "%ld:E(malformed quoting in field 2 (text): "
				"unexpected character after closing quote)\n", ++line);
			break;
		case 4: {
			sb_addf(&in, "%d,\"", i);
			size_t a = in.len;
			for (int k = 0; k < 3000; k++)
				sb_addc(&in, k == 1500 ? '\n' : 'a' + k % 26);
			sb_addf(&want, "%ld-%ld:%d|%.*s|%d\n", line + 1, line + 2, i,
				(int)(in.len - a), in.buf + a, i);
			sb_addf(&in, "\",%d\n", i);
			line += 2;
			if (start / 65536 != in.len / 65536)
				straddle = 1;
			break;
		}
		case 5:
			sb_addf(&in, "%d,\xd0\x98\xd1\x80\xd0\xb8\xd0\xbd\xd0\xb0 \"\",%d\n", i, i);
			sb_addf(&want, "%ld:E(malformed quoting in field 2 (text): quote in unquoted field)\n",
				++line);
			break;
		default:
			sb_addf(&in, "%d,plain text %d,%d\n", i, i * 31, i);
			sb_addf(&want, "%ld:%d|plain text %d|%d\n", ++line, i, i * 31, i);
			break;
		}
	}
	sb_adds(&in, "9,\"unterminated\n10,x,y\n");
	sb_addf(&want, "%ld:E(unterminated quoted field 2 (text) at end of file)\n", ++line);
	sb_addf(&want, "%ld:10|x|y\nEOF", ++line);
	ok(straddle, "blocks: a quoted field spans a 64 KiB boundary");

	const char *path = mkfile(in.buf, in.len);
	for (size_t k = 0; k < ARRAY_SIZE(sizes); k++) {
		rec_set_blocksize(sizes[k]);
		struct rdr *r = rec_open(path, NULL);
		const char *got = dump(r);
		size_t i = 0;
		while (got[i] && got[i] == want.buf[i])
			i++;
		if (!ok(!strcmp(got, want.buf), "blocks: 3 MB read in blocks of %zu", sizes[k]))
			printf("#   differs at byte %zu: got \"%.60s\"\n#   want \"%.60s\"\n",
			       i, got + i, want.buf + i);
	}
	rec_set_blocksize(0);
	sb_free(&in);
	sb_free(&want);
}

/*
 * REC_AUTO looks for '{' in the first max_record bytes only, whatever the
 * size of the reads: it used to look at all the bytes one read brought
 * in, so 64 KiB blocks saw a '{' after 66 bytes of TABs and CR that 17
 * byte blocks stopped short of (fuzz_csv, regress/csv/auto-format-past-max).
 */
static void test_sniff_window(void)
{
	static const size_t sizes[] = { 1, 3, 17, 0 };
	struct rec_opts o = { REC_AUTO, 0, 40, 0 };
	struct sb in = SB_INIT;

	for (int i = 0; i < 66; i++)
		sb_addc(&in, i == 24 ? '\r' : '\t');
	sb_adds(&in, "{\"a\":1}\n");
	for (size_t k = 0; k < ARRAY_SIZE(sizes); k++) {
		rec_set_blocksize(sizes[k]);
		struct rdr *r = open_data(in.buf, in.len, &o);
		is_int(rec_format(r), REC_CSV,
		       "auto: '{' past max_record bytes of blanks is not JSONL (blocks of %zu)",
		       sizes[k]);
		rec_close(r);
	}
	/* within the window: JSON lines, whatever the blocks */
	for (size_t k = 0; k < ARRAY_SIZE(sizes); k++) {
		rec_set_blocksize(sizes[k]);
		struct rdr *r = open_data(in.buf + 40, in.len - 40, &o);
		is_int(rec_format(r), REC_JSONL,
		       "auto: '{' within max_record bytes is JSONL (blocks of %zu)", sizes[k]);
		rec_close(r);
	}
	rec_set_blocksize(0);
	sb_free(&in);
}

/* What a JSON line has (rec.present), and the limit on columns. */
static void test_columns(void)
{
	struct rec_opts o = { 0 };
	struct rdr *r;
	struct rec rec;
	struct sb in = SB_INIT;

	r = OPEN("{\"a\":1,\"b\":2}\n{\"c\":3,\"a\":4,\"c\":5}\n{\"b\":null}\nnot json\n{}\n", NULL);
	is_int(rec_next(r, &rec), REC_OK, "present: first line");
	is_int(rec.npresent, 2, "present: two keys");
	ok(rec.present && rec.present[0] == 0 && rec.present[1] == 1, "present: a, b");
	is_int(rec_next(r, &rec), REC_OK, "present: second line");
	is_int(rec.npresent, 2, "present: a repeated key once");
	ok(rec.present[0] == 2 && rec.present[1] == 0, "present: c, a in the order of the line");
	is_str(rec.f[2].s, "5", "present: the last of a repeated key");
	is_int(rec.f[1].kind, REC_ABSENT, "present: b of the line before is absent again");
	is_int(rec_next(r, &rec), REC_OK, "present: null line");
	ok(rec.f[0].kind == REC_ABSENT && rec.f[2].kind == REC_ABSENT, "present: a and c absent again");
	is_int(rec_next(r, &rec), REC_OK, "present: bad line");
	ok(rec.error && rec.f[1].kind == REC_ABSENT, "present: a bad line has every field absent");
	is_int(rec_next(r, &rec), REC_OK, "present: empty object");
	is_int(rec.npresent, 0, "present: nothing");
	rec_close(r);
	r = OPEN("a,b\n1,2\n", NULL);
	is_int(rec_next(r, &rec), REC_OK, "present: CSV record");
	ok(rec.present == NULL, "present: NULL for CSV");
	rec_close(r);

	o.max_columns = 3;
	DUMP("a,b,c\n1,2,3\n", &o, "2:1|2|3\nEOF", "max_columns: a header of 3 columns");
	DUMP("a,b,c,d\n1,2,3,4\n", &o, "FATAL(invalid header: more than 3 columns)",
	     "max_columns: a header of 4 is fatal");
	DUMP("{\"a\":1,\"b\":2}\n{\"c\":3,\"d\":4}\n{\"a\":5,\"c\":6}\n", &o,
	     "1:#1|#2\n"
	     "2:E(too many columns: key 2 would be column 4 (at most 3))\n"
	     "3:#5|-|#6\nEOF",
	     "max_columns: a JSON line with a key too many is an error, the next is read");

	/* the default: 200,000 columns, one more is fatal (a header that
	 * long is more than the 1 MiB of max_record: 4 MiB here) */
	o.max_columns = 0;
	o.max_record = 4 << 20;
	for (int i = 0; i <= REC_MAX_COLUMNS; i++)
		sb_addf(&in, "%sc%d", i ? "," : "", i);
	sb_addc(&in, '\n');
	r = open_data(in.buf, in.len, &o);
	is_int(rec_next(r, &rec), REC_FATAL, "max_columns: 200,001 columns are fatal by default");
	is_str(rec_errmsg(r), "invalid header: more than 200000 columns", "max_columns: the message");
	rec_close(r);
	sb_free(&in);
}

static void test_stdin(void)
{
	static const char data[] = "\xef\xbb\xbfid;name\n1;Ann\n\n2;\"B\nob\"\n";
	int saved = dup(0), p[2];
	struct rdr *r;

	if (saved < 0 || pipe(p) < 0 || write(p[1], data, sizeof(data) - 1) < 0) {
		perror("test_rec: pipe");
		exit(1);
	}
	close(p[1]);
	dup2(p[0], 0);
	close(p[0]);
	r = rec_open("-", NULL);
	ok(r != NULL, "stdin: opened");
	is_str(rec_name(r), "<stdin>", "stdin: name");
	is_int(rec_size(r), -1, "stdin: size unknown");
	is_str(cols(r), "id|name", "stdin: columns");
	is_str(dump(r), "2:1|Ann\n4-5:2|B\nob\nEOF", "stdin: records");

	/* a read error: stdin is a directory */
	int d = open(".", O_RDONLY);
	dup2(d, 0);
	close(d);
	r = rec_open("-", NULL);
	ok(r != NULL, "stdin directory: opened");
	is_str(dump(r), "FATAL(read error: Is a directory)", "read error is fatal");

	dup2(saved, 0);
	close(saved);
}

static void test_open(void)
{
	struct rdr *r;
	struct rec rec;

	errno = 0;
	ok(rec_open("/nonexistent/x.csv", NULL) == NULL && errno == ENOENT,
	   "open: missing file is NULL, ENOENT");
	errno = 0;
	ok(rec_open("/tmp", NULL) == NULL && errno == EISDIR, "open: directory is EISDIR");
	r = OPEN("a,b\n1,2\n", NULL);
	ok(!strncmp(rec_name(r), "/tmp/test_rec.", 14), "open: name is the path");
	ok(rec_pos(r) <= rec_size(r), "progress: pos within size");
	is_int(rec_next(r, &rec), REC_OK, "progress: record");
	is_int(rec_next(r, &rec), REC_EOF, "progress: EOF");
	is_int(rec_pos(r), 8, "progress: pos at the end");
	rec_close(r);
	rec_close(NULL);
	ok(1, "rec_close(NULL) is harmless");
}

int main(void)
{
	test_basic();
	test_rfc4180();
	test_line_ends();
	test_delimiters();
	test_malformed();
	test_big_field();
	test_encoding();
	test_header();
	test_jsonl();
	test_blocks();
	test_sniff_window();
	test_columns();
	test_stdin();
	test_open();
	for (size_t i = 0; i < ntmp; i++) {
		unlink(tmpfiles[i]);
		free(tmpfiles[i]);
	}
	return tap_done();
}
