/*
 * imp_dates.c - the order of day and month, decided per date column from
 * all its values, and the inputs an import reads twice to decide it.
 *
 * With --date-format auto (or ymd), 3/4/2026 is 3 April in one file and
 * March 4 in another; one value cannot tell, the column can. Before a
 * file is imported, every value of its date columns (ordered_at,
 * occurred_at, recorded_at, created_at, birthday; CSV or JSON lines) is
 * looked at: a value only day/month reads as a date (13/1/2026) votes
 * day first, one only month/day reads as (1/13/2026) votes month first
 * (norm_date_shape). The column then reads a/b/yyyy and a-b-yyyy in the
 * order its votes agree on. A column of slash dates without a vote (every
 * value has both parts <= 12) is an error, and so is a column with votes
 * both ways: the run stops before it writes anything and names the file,
 * the column and the lines. Only counters per date column are kept:
 * memory does not grow with the file.
 *
 * Reading twice: a regular file is opened again; standard input that is
 * a regular file ("< file") is read again from where it started; a pipe
 * (stdin, a FIFO, <(...)) is copied first to a file in $TMPDIR (else
 * /tmp), created 0600 and unlinked at once, so that its data costs disk
 * rather than memory and is gone when the process ends, however it ends.
 * Both readings of such an input go through standard input (dup2), which
 * is how rec.h reads a descriptor; diagnostics keep the input's own name.
 */
#include "imp_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "progress.h"

/* ---- inputs ---- */

/* Copies the rest of fd in to an unlinked temporary file; its fd, or -1
 * after saying why. */
static int spool(int in, const char *name)
{
	const char *dir = getenv("TMPDIR");
	char path[PATH_MAX], *buf;
	int fd, e;
	ssize_t got;

	if (!dir || !*dir)
		dir = "/tmp";
	if ((size_t)snprintf(path, sizeof(path), "%s/crm-import.XXXXXX", dir) >= sizeof(path)) {
		crm_error("%s: cannot buffer the input: $TMPDIR is too long", name);
		return -1;
	}
	fd = mkstemp(path);
	if (fd < 0) {
		crm_error_errno("%s: cannot buffer the input (to read its dates first) in %s",
				name, dir);
		return -1;
	}
	unlink(path);
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	buf = xmalloc(1 << 16);
	for (;;) {
		got = read(in, buf, 1 << 16);
		if (got == 0)
			break;
		if (got < 0) {
			if (errno == EINTR)
				continue;
			e = errno;
			crm_error("%s: read error: %s", name, strerror(e));
			goto fail;
		}
		for (ssize_t off = 0; off < got;) {
			ssize_t w = write(fd, buf + off, (size_t)(got - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				e = w < 0 ? errno : ENOSPC;
				crm_error("%s: cannot buffer the input (to read its dates first) in %s: %s",
					  name, dir, strerror(e));
				goto fail;
			}
			off += w;
		}
	}
	free(buf);
	return fd;
fail:
	free(buf);
	close(fd);
	return -1;
}

/* Gets s ready to be read twice: 0, or -1 after saying why. */
int imp_src_init(struct imp_src *s, const char *path)
{
	struct stat st;
	int in;

	memset(s, 0, sizeof(*s));
	s->path = path;
	s->fd = -1;
	if (strcmp(path, "-")) {
		/* a regular file, or one rec_open() refuses anyway */
		if (stat(path, &st) < 0 || S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
			return 0;
		in = open(path, O_RDONLY | O_CLOEXEC);
		if (in < 0)
			return 0;	/* the import says why */
		s->fd = spool(in, path);
		close(in);
		s->spooled = 1;
		return s->fd < 0 ? -1 : 0;
	}
	if (fstat(STDIN_FILENO, &st) == 0 && S_ISREG(st.st_mode) &&
	    (s->start = lseek(STDIN_FILENO, 0, SEEK_CUR)) >= 0) {
		/* kept apart: another input may be put on stdin meanwhile */
		s->fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
		if (s->fd < 0) {
			crm_error_errno("<stdin>: dup");
			return -1;
		}
		return 0;
	}
	s->start = 0;
	s->fd = spool(STDIN_FILENO, "<stdin>");
	s->spooled = 1;
	return s->fd < 0 ? -1 : 0;
}

/* A reader of s from its start (NULL with errno set). */
struct rdr *imp_src_open(struct imp_src *s, const struct rec_opts *o)
{
	if (s->mem)
		return rec_open_mem(s->path, s->mem, s->memlen, o);
	if (s->fd < 0)
		return rec_open(s->path, o);
	if (lseek(s->fd, s->start, SEEK_SET) < 0 || dup2(s->fd, STDIN_FILENO) < 0)
		return NULL;
	return rec_open("-", o);
}

/* What diagnostics call s. */
const char *imp_src_name(const struct imp_src *s, struct rdr *r)
{
	return s->spooled && strcmp(s->path, "-") ? s->path : rec_name(r);
}

void imp_src_free(struct imp_src *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	free(s->dc);
	s->dc = NULL;
	s->ndc = 0;
}

/* ---- deciding ---- */

/* The columns an order of day and month matters to. */
static const enum field date_fields[] = { F_TIME, F_CREATED, F_BIRTHDAY };

#define SAMPLE_MAX 48

/* One date column while the file is read: values of each shape, and the
 * first of each (its line and text). */
struct dcount {
	size_t col;
	enum field f;
	char *name;
	uint64_t n[NORM_SHAPE_BOTH + 1];
	long line[NORM_SHAPE_BOTH + 1];
	char sample[NORM_SHAPE_BOTH + 1][SAMPLE_MAX];
	size_t slen[NORM_SHAPE_BOTH + 1];
};

static struct dcount *dcount_of(struct dcount **v, size_t *n, size_t col, enum field f,
				struct rdr *r)
{
	const char *name;
	struct sb sb = SB_INIT;

	for (size_t i = 0; i < *n; i++)
		if ((*v)[i].col == col)
			return &(*v)[i];
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	memset(&(*v)[*n], 0, sizeof(**v));
	(*v)[*n].col = col;
	(*v)[*n].f = f;
	name = rec_colname(r, col);
	diag_name(&sb, name, strlen(name));
	(*v)[*n].name = sb_detach(&sb);
	return &(*v)[(*n)++];
}

/* The value of one example in a message: a date is not personal data,
 * and the shape check let only date text through, but a birthday is
 * shown as its length alone. */
static void sample(struct sb *sb, const struct dcount *d, int shape)
{
	const char *s = d->sample[shape];
	size_t n = d->slen[shape];

	if (d->f == F_BIRTHDAY) {
		diag_value(sb, s, n, 1);
		return;
	}
	/* norm_date_shape() took it for a date: digits, separators, maybe
	 * AM/PM or a zone; escaped anyway */
	sb_addc(sb, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
			sb_addf(sb, "\\x%02x", c);
		else
			sb_addc(sb, (char)c);
	}
	if (n == SAMPLE_MAX)
		sb_adds(sb, "...");
	sb_addc(sb, '"');
}

static void say(struct imp *im, const char *fname, const char *msg)
{
	if (im->o->on_reject)
		im->o->on_reject(im->o->reject_ud, 0, msg);
	else
		crm_error("%s: %s", fname, msg);
}

/* The order of d, or -1 after saying why there is none. */
static int decide(struct imp *im, const char *fname, const struct dcount *d,
		  enum norm_date_order *order)
{
	struct sb m = SB_INIT;

	if (d->n[NORM_SHAPE_DMY] && d->n[NORM_SHAPE_MDY]) {
		int first = d->line[NORM_SHAPE_DMY] < d->line[NORM_SHAPE_MDY] ?
			    NORM_SHAPE_DMY : NORM_SHAPE_MDY;
		int second = first == NORM_SHAPE_DMY ? NORM_SHAPE_MDY : NORM_SHAPE_DMY;

		sb_addf(&m, "column \"%s\": dates in two orders: line %ld has ", d->name,
			d->line[first]);
		sample(&m, d, first);
		sb_addf(&m, ", %s first, and line %ld has ",
			first == NORM_SHAPE_DMY ? "day" : "month", d->line[second]);
		sample(&m, d, second);
		sb_addf(&m, ", %s first (%llu day first, %llu month first); correct the file, "
			"or pass --date-format dmy or mdy to reject the others",
			second == NORM_SHAPE_DMY ? "day" : "month",
			(unsigned long long)d->n[NORM_SHAPE_DMY],
			(unsigned long long)d->n[NORM_SHAPE_MDY]);
		say(im, fname, m.buf);
		sb_free(&m);
		return -1;
	}
	if (d->n[NORM_SHAPE_DMY] || d->n[NORM_SHAPE_MDY]) {
		*order = d->n[NORM_SHAPE_DMY] ? NORM_DATE_AUTO_DMY : NORM_DATE_AUTO_MDY;
		if (crm_verbosity >= 2)
			crm_info("%s: column \"%s\": dates are %s (%llu values say so, line %ld first)",
				 fname, d->name, d->n[NORM_SHAPE_DMY] ? "day/month/year" :
				 "month/day/year",
				 (unsigned long long)(d->n[NORM_SHAPE_DMY] + d->n[NORM_SHAPE_MDY]),
				 d->line[d->n[NORM_SHAPE_DMY] ? NORM_SHAPE_DMY : NORM_SHAPE_MDY]);
		return 0;
	}
	*order = NORM_DATE_AUTO;
	if (!d->n[NORM_SHAPE_BOTH])
		return 0;
	sb_addf(&m, "column \"%s\": ambiguous dates: no value tells day/month from "
		"month/day (%llu like ", d->name, (unsigned long long)d->n[NORM_SHAPE_BOTH]);
	sample(&m, d, NORM_SHAPE_BOTH);
	sb_addf(&m, ", line %ld); pass --date-format dmy or --date-format mdy",
		d->line[NORM_SHAPE_BOTH]);
	say(im, fname, m.buf);
	sb_free(&m);
	return -1;
}

/* Forgets the columns mapped so far (the import maps them again). */
static void unmap(struct imp *im)
{
	for (size_t i = 0; i < im->ncols; i++) {
		free(im->colkey[i]);
		im->colkey[i] = NULL;
	}
	im->ncols = 0;
	for (int f = 0; f < F_MAX; f++)
		im->fieldcol[f] = -1, im->fieldexact[f] = 0;
}

/*
 * Reads s once and decides the order of each of its date columns (s->dc).
 * Returns 0, or -1 after saying why a column cannot be read (the run must
 * stop). An input that cannot be read to its end is left undecided: the
 * import says why when it meets the same problem, and reads its slash
 * dates row by row (an ambiguous one is rejected, never guessed).
 */
int imp_dates_scan(struct imp *im, struct imp_src *s)
{
	struct dcount *dc = NULL;
	size_t ndc = 0;
	struct rec rec;
	struct progress *pg = NULL;
	struct rdr *r;
	const char *fname;
	int rc, status = 0;

	s->ndc = 0;
	r = imp_src_open(s, &im->o->rec);
	if (!r)
		return 0;
	fname = imp_src_name(s, r);
	im->r = r;
	im->fname = fname;
	im->ncols = 0;
	for (int f = 0; f < F_MAX; f++)
		im->fieldcol[f] = -1, im->fieldexact[f] = 0;
	im->quiet_map = 1;
	imp_map_columns(im);
	/* a CSV file without a date column has nothing to decide */
	if (rec_format(r) == REC_CSV) {
		int any = 0;
		for (size_t k = 0; k < ARRAY_SIZE(date_fields); k++)
			any |= im->fieldcol[date_fields[k]] >= 0;
		if (!any)
			goto done;
	}
	if (!s->mem) {
		struct sb label = SB_INIT;
		sb_addf(&label, "%s (dates)", fname);
		pg = progress_new(label.buf, rec_size(r));
		sb_free(&label);
	}
	while ((rc = rec_next(r, &rec)) == REC_OK) {
		if (rec_ncols(r) > im->ncols)
			imp_map_columns(im);
		progress_update(pg, rec_pos(r), 0);
		if (rec.error)
			continue;
		for (size_t k = 0; k < ARRAY_SIZE(date_fields); k++) {
			int c = im->fieldcol[date_fields[k]];
			const struct rec_field *rf;
			const char *v;
			size_t n;
			enum norm_date_shape sh;
			struct dcount *d;

			if (c < 0 || (size_t)c >= rec.n)
				continue;
			rf = &rec.f[c];
			if (rf->kind != REC_STR)
				continue;
			imp_field_text(rf, &v, &n);
			sh = norm_date_shape(v, n);
			if (sh == NORM_SHAPE_NONE || sh == NORM_SHAPE_SAME)
				continue;
			d = dcount_of(&dc, &ndc, (size_t)c, date_fields[k], r);
			if (!d->n[sh]++) {
				d->line[sh] = rec.line;
				d->slen[sh] = n < SAMPLE_MAX ? n : SAMPLE_MAX;
				memcpy(d->sample[sh], v, d->slen[sh]);
			}
		}
	}
	progress_end(pg);
	if (rc == REC_FATAL)
		goto done;
	for (size_t i = 0; i < ndc; i++) {
		enum norm_date_order order;
		if (decide(im, fname, &dc[i], &order) < 0) {
			status = -1;
			continue;
		}
		if (order == NORM_DATE_AUTO)
			continue;
		s->dc = xrealloc(s->dc, (s->ndc + 1) * sizeof(*s->dc));
		s->dc[s->ndc].col = dc[i].col;
		s->dc[s->ndc].order = order;
		s->ndc++;
	}
done:
	for (size_t i = 0; i < ndc; i++)
		free(dc[i].name);
	free(dc);
	unmap(im);
	im->quiet_map = 0;
	im->r = NULL;
	rec_close(r);
	return status;
}

/* The options to read field f of the current row with: its column's
 * order when one was decided. */
const struct norm_opts *imp_date_opts(struct imp *im, enum field f)
{
	int c = im->fieldcol[f];

	if (c < 0 || !im->src)
		return &im->o->norm;
	for (size_t i = 0; i < im->src->ndc; i++)
		if (im->src->dc[i].col == (size_t)c) {
			im->dnorm = im->o->norm;
			im->dnorm.date_order = im->src->dc[i].order;
			return &im->dnorm;
		}
	return &im->o->norm;
}
