/*
 * rec_common.h - the record reader target (lib/rec.c), included by
 * fuzz_csv.c and fuzz_jsonl.c with REC_FUZZ_FORMAT set to the format they
 * force (REC_AUTO lets the first byte of the input choose).
 *
 * The first byte of the input picks the options: bits 0-1 the read(2)
 * block size (64 KiB, or 1, 3 or 17 bytes per 256 bytes of input), bit 2 a small max_record (40
 * bytes), bits 3-4 the delimiter (guessed, ',', ';', TAB), bit 5 whether
 * REC_AUTO picks the format, bit 6 a small max_columns (3); the rest is
 * the file, read as crm-import reads it (rec_open on a path). Properties:
 *
 * - every record's line numbers grow, raw and fields are NUL-terminated at
 *   their length, a good record has one field per column known, and its
 *   fields (CSV or JSON, \u0000 and \ud800 escapes included) and the
 *   column names are valid UTF-8 without NUL bytes; of a JSON line,
 *   rec.present names each column it has once, and every other field is
 *   absent; there are never more columns than max_columns;
 * - the records, errors and columns do not depend on the block size: a
 *   read with tiny blocks (every line and quoted field crosses blocks) gives
 *   exactly what a read with 64 KiB blocks gives.
 */
#define _GNU_SOURCE /* memfd_create */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "rec.h"
#include "util.h"

static char path[64];
static int fd = -1;

static void put_file(const uint8_t *data, size_t size)
{
	if (fd < 0) {
		/* in memory: truncating a file on ext4 waits for the disk,
		 * which made this 10 times slower */
		fd = memfd_create("crm-fuzz-rec", MFD_CLOEXEC);
		if (fd < 0) {
			const char *tmp = getenv("TMPDIR");
			snprintf(path, sizeof(path), "%s/crm-fuzz-rec.XXXXXX",
				 tmp && strlen(tmp) < 40 ? tmp : "/tmp");
			fd = mkstemp(path);
			FZ_CHECK(fd >= 0, "mkstemp: %s", strerror(errno));
			unlink(path);
		}
		/* rec_open opens a path, as crm-import does: this one
		 * reopens fd from the start */
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	FZ_CHECK(ftruncate(fd, 0) == 0, "ftruncate: %s", strerror(errno));
	FZ_CHECK(pwrite(fd, data, size, 0) == (ssize_t)size, "pwrite: %s", strerror(errno));
}

/* Reads the file with block size bs and writes everything the reader
 * said into log; checks the per-record properties. */
static void read_all(const struct rec_opts *o, size_t bs, struct sb *log)
{
	struct rdr *r;
	struct rec rec;
	long prev = 0;
	int rc;

	rec_set_blocksize(bs);
	r = rec_open(path, o);
	FZ_CHECK(r != NULL, "rec_open: %s", strerror(errno));
	sb_addf(log, "format %d\n", (int)rec_format(r));
	while ((rc = rec_next(r, &rec)) == REC_OK) {
		FZ_CHECK(rec.line > prev, "line %ld after %ld", rec.line, prev);
		FZ_CHECK(rec.lines >= 1, "record of %ld lines", rec.lines);
		prev = rec.line + rec.lines - 1;
		FZ_CHECK(rec.raw[rec.rawlen] == 0, "raw not NUL-terminated");
		FZ_CHECK(rec.n == rec_ncols(r), "%zu fields, %zu columns", rec.n, rec_ncols(r));
		FZ_CHECK(rec.n <= (o->max_columns ? o->max_columns : REC_MAX_COLUMNS),
			 "%zu columns, at most %zu", rec.n, o->max_columns);
		sb_addf(log, "rec %ld+%ld raw %zu:", rec.line, rec.lines, rec.rawlen);
		sb_add(log, rec.raw, rec.rawlen);
		sb_addc(log, '\n');
		if (rec.error) {
			sb_addf(log, "error %s\n", rec.error);
			continue;
		}
		if (rec.present) {
			static unsigned char seen[4096 + 8];
			size_t present = 0;

			FZ_CHECK(rec.npresent <= rec.n, "%zu present of %zu", rec.npresent, rec.n);
			FZ_CHECK(rec.n <= sizeof(seen), "%zu columns", rec.n);
			memset(seen, 0, rec.n);
			for (size_t k = 0; k < rec.npresent; k++) {
				FZ_CHECK(rec.present[k] < rec.n, "present %zu of %zu", rec.present[k], rec.n);
				FZ_CHECK(!seen[rec.present[k]], "column %zu present twice", rec.present[k]);
				seen[rec.present[k]] = 1;
			}
			for (size_t i = 0; i < rec.n; i++)
				if (!seen[i])
					FZ_CHECK(rec.f[i].kind == REC_ABSENT, "field %zu not present, not absent", i);
				else
					present++;
			sb_addf(log, "present %zu\n", present);
		}
		for (size_t i = 0; i < rec.n; i++) {
			const struct rec_field *f = &rec.f[i];
			size_t bad;

			FZ_CHECK(f->s[f->len] == 0, "field %zu not NUL-terminated", i);
			if (f->kind == REC_ABSENT)
				FZ_CHECK(f->len == 0, "absent field %zu has %zu bytes", i, f->len);
			/* CSV and JSON alike: a line with a NUL byte or invalid
			 * UTF-8 is an error, and so is a top-level \u0000 */
			FZ_CHECK(strlen(f->s) == f->len, "NUL byte in field %zu", i);
			FZ_CHECK(utf8_valid(f->s, f->len, &bad), "invalid UTF-8 in field %zu", i);
			sb_addf(log, " %d:%zu:", (int)f->kind, f->len);
			sb_add(log, f->s, f->len);
		}
		sb_addc(log, '\n');
	}
	FZ_CHECK(rc == REC_EOF || rc == REC_FATAL, "rec_next returned %d", rc);
	if (rc == REC_FATAL)
		sb_addf(log, "fatal %s\n", rec_errmsg(r));
	FZ_CHECK(rec_next(r, &rec) == rc, "the end is not sticky");
	sb_addf(log, "columns %zu header %ld\n", rec_ncols(r), rec_header_line(r));
	for (size_t i = 0; i < rec_ncols(r); i++) {
		const char *c = rec_colname(r, i);
		size_t bad;

		FZ_CHECK(c != NULL, "column %zu has no name", i);
		FZ_CHECK(utf8_valid(c, strlen(c), &bad), "column %zu name invalid UTF-8", i);
		sb_addf(log, "col %s\n", c);
	}
	rec_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t sizes[] = { 0, 1, 3, 17 };
	static const int delims[] = { 0, ',', ';', '\t' };
	struct rec_opts o = { REC_FUZZ_FORMAT, 0, 0, 0 };
	struct sb a = SB_INIT, b = SB_INIT;
	unsigned flags;
	size_t bs;

	if (size < 1)
		return 0;
	flags = data[0];
	o.delim = delims[(flags >> 3) & 3];
	o.max_record = flags & 4 ? 40 : 0;
	if (flags & 32)
		o.format = REC_AUTO;
	if (flags & 64)
		o.max_columns = 3;
	put_file(data + 1, size - 1);
	/* one read(2) per byte of a long input costs more than it finds:
	 * blocks grow with the input, and still cut most lines */
	bs = sizes[flags & 3] * (1 + size / 256);
	read_all(&o, bs, &a);
	if (bs) {
		read_all(&o, 0, &b);
		if (a.len != b.len || memcmp(a.buf, b.buf, a.len)) {
			fz_dump("small blocks", a.buf, a.len);
			fz_dump("64 KiB blocks", b.buf, b.len);
			FZ_CHECK(0, "the block size changed what was read");
		}
	}
	sb_free(&a);
	sb_free(&b);
	rec_set_blocksize(0);
	return 0;
}
