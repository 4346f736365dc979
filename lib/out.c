#include "out.h"

#include <errno.h>
#include <unistd.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <csv.h>

#include "diag.h"
#include "norm.h"
#include "util.h"
#include "uwidth.h"

#define TABLE_SAMPLE 1000

struct out {
	FILE *fp;
	enum out_format f;
	size_t ncols;
	char **cols;
	unsigned char *jsoncol; /* column holds JSON text (attrs, props) */
	size_t rows;
	int neutralise;
	struct sb line;
	/* table: buffered cells until TABLE_SAMPLE rows, then fixed widths */
	struct tcell *cells;
	size_t ncells, capcells;
	size_t *width;
	/* table: what the numbers are (out_column_kind) */
	struct kdecl *decl;
	size_t ndecl, capdecl;
	unsigned char *kind;    /* per column: enum out_kind */
	char (*cur)[8];         /* per column: its currency, "" for the row's */
	long curcol;            /* the column called "currency", or -1 */
	int row_kind;           /* out_row_kind() for the next row, or -1 */
	char row_cur[8];
	int table_flushed;
	int keep_going;         /* a failed write sets err instead of exiting */
	int err;
};

int out_format_parse(const char *name, enum out_format *f)
{
	static const struct { const char *n; enum out_format f; } t[] = {
		{ "csv", OUT_CSV }, { "tsv", OUT_TSV }, { "jsonl", OUT_JSONL },
		{ "ndjson", OUT_JSONL }, { "json", OUT_JSON }, { "table", OUT_TABLE },
	};
	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		if (!strcmp(name, t[i].n)) {
			*f = t[i].f;
			return 0;
		}
	return -1;
}

void out_write_failed(FILE *fp)
{
	if (errno == EPIPE) {
		signal(SIGPIPE, SIG_DFL);
		raise(SIGPIPE);
		_exit(141);
	}
	crm_die_errno(1, "write error");
}

int out_close_stdout(void)
{
	int err = ferror(stdout);
	if (fclose(stdout) != 0 || err) {
		if (errno == EPIPE)
			return 0;
		crm_error_errno("write error");
		return 1;
	}
	return 0;
}

/* a declared kind, kept by name until the columns are known */
struct kdecl {
	char *name;
	enum out_kind k;
	char cur[8];
};

/* a table cell as shown, and whether it is a number (right-aligned) */
struct tcell {
	char *s;
	int right;
};

struct out *out_new(FILE *fp, enum out_format f)
{
	struct out *o = xcalloc(1, sizeof(*o));
	o->fp = fp;
	o->f = f;
	o->curcol = -1;
	o->row_kind = -1;
	sb_init(&o->line);
	return o;
}

int out_has_columns(const struct out *o)
{
	return o->cols != NULL;
}

void out_set_neutralise(struct out *o, int on)
{
	o->neutralise = on;
}

static void copy_code(char dst[8], const char *code)
{
	snprintf(dst, 8, "%s", code ? code : "");
}

/* Gives the columns named d->name d's kind. */
static void apply_kind(struct out *o, const struct kdecl *d)
{
	for (size_t i = 0; i < o->ncols; i++)
		if (!strcmp(o->cols[i], d->name)) {
			o->kind[i] = (unsigned char)d->k;
			memcpy(o->cur[i], d->cur, sizeof(d->cur));
		}
}

void out_columns(struct out *o, size_t n, const char *const *names)
{
	size_t m = n ? n : 1;

	o->ncols = n;
	o->cols = xcalloc(m, sizeof(*o->cols));
	o->jsoncol = xcalloc(m, 1);
	o->kind = xcalloc(m, 1);
	o->cur = xcalloc(m, sizeof(*o->cur));
	for (size_t i = 0; i < n; i++) {
		o->cols[i] = xstrdup(names[i]);
		o->jsoncol[i] = !strcmp(names[i], "attrs") || !strcmp(names[i], "props");
		if (o->curcol < 0 && !strcmp(names[i], "currency"))
			o->curcol = (long)i;
	}
	for (size_t j = 0; j < o->ndecl; j++)
		apply_kind(o, &o->decl[j]);
}

void out_column_kind(struct out *o, const char *name, enum out_kind k, const char *currency)
{
	struct kdecl *d;

	o->decl = xgrow(o->decl, sizeof(*o->decl), o->ndecl + 1, &o->capdecl);
	d = &o->decl[o->ndecl++];
	d->name = xstrdup(name);
	d->k = k;
	copy_code(d->cur, currency);
	if (o->cols)
		apply_kind(o, d);
}

void out_column_currency(struct out *o, size_t i, const char *currency)
{
	if (i < o->ncols)
		copy_code(o->cur[i], currency);
}

void out_row_kind(struct out *o, enum out_kind k, const char *currency)
{
	o->row_kind = (int)k;
	copy_code(o->row_cur, currency);
}

void json_quote(struct sb *sb, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	sb_grow(sb, len + 2);
	sb_addc(sb, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '"': sb_add(sb, "\\\"", 2); break;
		case '\\': sb_add(sb, "\\\\", 2); break;
		case '\n': sb_add(sb, "\\n", 2); break;
		case '\r': sb_add(sb, "\\r", 2); break;
		case '\t': sb_add(sb, "\\t", 2); break;
		default:
			if (c < 0x20 || c == 0x7f) {
				char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
				sb_add(sb, u, 6);
			} else {
				sb_addc(sb, c);
			}
		}
	}
	sb_addc(sb, '"');
}

static void put(struct out *o, const char *s, size_t n)
{
	if (o->err)
		return;
	if (n && fwrite(s, 1, n, o->fp) != n) {
		if (!o->keep_going)
			out_write_failed(o->fp);
		o->err = errno ? errno : EIO;
	}
}

void out_set_keep_going(struct out *o)
{
	o->keep_going = 1;
}

int out_error(const struct out *o)
{
	return o->err;
}

void out_flush(struct out *o)
{
	if (o->f == OUT_TABLE || o->err)
		return;
	if (fflush(o->fp) != 0) {
		if (!o->keep_going)
			out_write_failed(o->fp);
		o->err = errno ? errno : EIO;
	}
}

/* Text of a value for the delimited and table formats. */
static void val_text(struct sb *sb, const struct out_val *v)
{
	switch (v->t) {
	case OUT_NULL:
		break;
	case OUT_INT:
		sb_addf(sb, "%lld", (long long)v->i);
		break;
	case OUT_REAL:
		if (isfinite(v->d))
			sb_addf(sb, "%.15g", v->d);
		break;
	case OUT_TEXT:
	case OUT_RAWJSON:
		sb_add(sb, v->s, v->len);
		break;
	}
}

/* [+-]digits[.digits]: a signed number, which a spreadsheet reads as a
 * number (+79161234567, -12.5), never as a formula. */
static int plain_number(const char *s, size_t n)
{
	size_t k = 1, d = 0;
	while (k < n && s[k] >= '0' && s[k] <= '9')
		k++, d++;
	if (!d)
		return 0;
	if (k < n && s[k] == '.') {
		size_t f = ++k;
		while (k < n && s[k] >= '0' && s[k] <= '9')
			k++;
		if (k == f)
			return 0;
	}
	return k == n;
}

int out_formula_like(const char *s, size_t n)
{
	size_t q = 0;
	if (!n)
		return 0;
	switch (s[0]) {
	case '=': case '@': case '\t': case '\r':
		return 1;
	case '+': case '-':
		return !plain_number(s, n);
	case '\'':
		/* text that already starts as a guarded cell: guarded again, so
		 * that crm-import, which takes one quote off, gets it back */
		while (q < n && s[q] == '\'')
			q++;
		return q < n && strchr("=@+-\t\r", s[q]) != NULL;
	default:
		return 0;
	}
}

static void delimited_cell(struct out *o, struct sb *cell, int sep, int number)
{
	const char *s = cell->buf;
	size_t n = cell->len;

	if (o->neutralise && !(number && o->neutralise == OUT_NEUTRALISE_TEXT) &&
	    out_formula_like(s, n)) {
		/* a leading quote makes a spreadsheet show the text as is */
		struct sb t = SB_INIT;
		sb_addc(&t, '\'');
		sb_add(&t, s, n);
		sb_reset(cell);
		sb_add(cell, t.buf, t.len);
		sb_free(&t);
		s = cell->buf;
		n = cell->len;
	}
	if (sep == '\t') {
		/* TSV has no quoting: escape the characters it cannot hold */
		for (size_t i = 0; i < n; i++) {
			switch (s[i]) {
			case '\t': sb_add(&o->line, "\\t", 2); break;
			case '\n': sb_add(&o->line, "\\n", 2); break;
			case '\r': sb_add(&o->line, "\\r", 2); break;
			case '\\': sb_add(&o->line, "\\\\", 2); break;
			default: sb_addc(&o->line, s[i]);
			}
		}
		return;
	}
	if (n && strpbrk(s, ",\"\r\n") == NULL && s[0] != ' ' && s[n - 1] != ' ') {
		sb_add(&o->line, s, n);
		return;
	}
	if (!n)
		return;
	/* libcsv's csv_write quotes the field and doubles inner quotes */
	size_t need = csv_write(NULL, 0, s, n);
	sb_grow(&o->line, need);
	csv_write(o->line.buf + o->line.len, need, s, n);
	o->line.len += need;
	o->line.buf[o->line.len] = 0;
}

static void json_val(struct sb *sb, const struct out_val *v, int jsoncol)
{
	switch (v->t) {
	case OUT_NULL:
		sb_add(sb, "null", 4);
		break;
	case OUT_INT:
		sb_addf(sb, "%lld", (long long)v->i);
		break;
	case OUT_REAL:
		if (isfinite(v->d)) {
			/* the shortest form that reads back as the same double:
			 * 0.6, not 0.59999999999999998 */
			char buf[32];
			for (int prec = 15; prec <= 17; prec++) {
				snprintf(buf, sizeof(buf), "%.*g", prec, v->d);
				if (strtod(buf, NULL) == v->d)
					break;
			}
			sb_adds(sb, buf);
		} else {
			sb_add(sb, "null", 4);
		}
		break;
	case OUT_TEXT:
		if (jsoncol && v->len && (v->s[0] == '{' || v->s[0] == '['))
			sb_add(sb, v->s, v->len);
		else
			json_quote(sb, v->s, v->len);
		break;
	case OUT_RAWJSON:
		sb_add(sb, v->s, v->len);
		break;
	}
}

static void header(struct out *o)
{
	struct sb cell = SB_INIT;
	int sep = o->f == OUT_TSV ? '\t' : ',';

	for (size_t i = 0; i < o->ncols; i++) {
		if (i)
			sb_addc(&o->line, sep);
		sb_reset(&cell);
		sb_adds(&cell, o->cols[i]);
		delimited_cell(o, &cell, sep, 0);
	}
	sb_addc(&o->line, '\n');
	sb_free(&cell);
}

/* Columns padded to their width in terminal columns (uwidth: a CJK
 * character or an emoji takes two, a combining mark none), text on the
 * left, numbers on the right. */
static void table_print_row(struct out *o, const struct tcell *cells)
{
	sb_reset(&o->line);
	for (size_t i = 0; i < o->ncols; i++) {
		const char *s = cells[i].s;
		size_t n = strlen(s), w = uwidth(s, n);
		if (i)
			sb_add(&o->line, "  ", 2);
		if (cells[i].right)
			for (; w < o->width[i]; w++)
				sb_addc(&o->line, ' ');
		sb_add(&o->line, s, n);
		if (i + 1 < o->ncols)
			for (; w < o->width[i]; w++)
				sb_addc(&o->line, ' ');
	}
	while (o->line.len && o->line.buf[o->line.len - 1] == ' ')
		o->line.len--;
	sb_addc(&o->line, '\n');
	put(o, o->line.buf, o->line.len);
}

/* The digits before the point of a plain number in groups of three
 * (-1234567.5 as -1,234,567.5); text with an exponent stays as it is. */
static void add_grouped(struct sb *sb, const char *num)
{
	const char *p = num, *d;
	size_t n;

	if (strpbrk(num, "eE")) {
		sb_adds(sb, num);
		return;
	}
	if (*p == '-')
		sb_addc(sb, *p++);
	for (d = p; *d >= '0' && *d <= '9'; d++)
		;
	n = (size_t)(d - p);
	for (size_t i = 0; i < n; i++) {
		if (i && (n - i) % 3 == 0)
			sb_addc(sb, ',');
		sb_addc(sb, p[i]);
	}
	sb_adds(sb, d);
}

/* %.*f of d without the sign of a value that rounds to zero ("-0.00"). */
static void fixed(char *buf, size_t n, int decimals, double d)
{
	snprintf(buf, n, "%.*f", decimals, d);
	if (buf[0] == '-' && !strpbrk(buf, "123456789"))
		memmove(buf, buf + 1, strlen(buf));
}

/* The decimals of currency code s[0..n): its minor units as crm-import
 * stores them (norm's table); 2 for a code it does not know. */
static int minor_digits(const char *s, size_t n)
{
	char code[4];
	const char *why;
	int e;

	if (s && n && norm_currency(s, n, code, &e, &why) == 0)
		return e;
	return 2;
}

/* A number as a person reads it in a column of kind k (out.h). */
static void number_text(struct sb *sb, const struct out_val *v, enum out_kind k,
			const char *cur, size_t curlen)
{
	char buf[512];
	double d = v->t == OUT_INT ? (double)v->i : v->d;

	if (v->t == OUT_REAL && !isfinite(d))
		return;
	switch (k) {
	case OUT_KIND_COUNT:
		if (v->t == OUT_INT)
			snprintf(buf, sizeof(buf), "%lld", (long long)v->i);
		else
			snprintf(buf, sizeof(buf), "%.15g", d);
		add_grouped(sb, buf);
		break;
	case OUT_KIND_MONEY:
		fixed(buf, sizeof(buf), minor_digits(cur, curlen), d);
		add_grouped(sb, buf);
		break;
	case OUT_KIND_RATE:
		/* one decimal; under 1%, where the complaint limits are, up to
		 * four significant digits: 0.2997% is not shown as 0.3% */
		d *= 100;
		if (d != 0 && fabs(d) < 1)
			snprintf(buf, sizeof(buf), "%.4g", d);
		else
			fixed(buf, sizeof(buf), 1, d);
		add_grouped(sb, buf);
		sb_addc(sb, '%');
		break;
	default:
		val_text(sb, v);
	}
}

/* Cell i of row v as the table shows it. */
static struct tcell table_cell(const struct out *o, const struct out_val *v, size_t i)
{
	struct sb sb = SB_INIT;
	const struct out_val *c = &v[i];
	/* (NaN and infinities are shown as empty, as NULL is) */
	int number = c->t == OUT_INT || (c->t == OUT_REAL && isfinite(c->d));
	enum out_kind k = (enum out_kind)o->kind[i];
	const char *cur = o->cur[i];
	size_t curlen = strlen(cur);

	if (o->row_kind >= 0 && i > 0) {
		k = (enum out_kind)o->row_kind;
		if (o->row_cur[0])
			cur = o->row_cur, curlen = strlen(cur);
	} else if (!cur[0] && o->curcol >= 0 && v[o->curcol].t == OUT_TEXT) {
		/* the row's own currency */
		cur = v[o->curcol].s;
		curlen = v[o->curcol].len;
	}
	if (number)
		number_text(&sb, c, k, cur, curlen);
	else
		val_text(&sb, c);
	/* one line per row: show control characters as spaces */
	for (size_t j = 0; j < sb.len; j++)
		if ((unsigned char)sb.buf[j] < 0x20)
			sb.buf[j] = ' ';
	return (struct tcell){ sb_detach(&sb), number };
}

static void table_flush(struct out *o)
{
	size_t nrows;
	struct tcell *head;

	if (o->table_flushed)
		return;
	o->table_flushed = 1;
	o->width = xcalloc(o->ncols ? o->ncols : 1, sizeof(size_t));
	head = xcalloc(o->ncols ? o->ncols : 1, sizeof(*head));
	nrows = o->ncols ? o->ncells / o->ncols : 0;
	for (size_t i = 0; i < o->ncols; i++) {
		size_t numbers = 0, texts = 0;

		o->width[i] = uwidth(o->cols[i], strlen(o->cols[i]));
		for (size_t r = 0; r < nrows; r++) {
			const struct tcell *c = &o->cells[r * o->ncols + i];
			size_t w = uwidth(c->s, strlen(c->s));
			if (w > o->width[i])
				o->width[i] = w;
			if (c->right)
				numbers++;
			else if (c->s[0])
				texts++;
		}
		/* a column of numbers has its name on the right too */
		head[i] = (struct tcell){ o->cols[i], numbers > 0 && texts == 0 };
	}
	table_print_row(o, head);
	free(head);
	for (size_t r = 0; r < nrows; r++)
		table_print_row(o, o->cells + r * o->ncols);
	for (size_t i = 0; i < o->ncells; i++)
		free(o->cells[i].s);
	free(o->cells);
	o->cells = NULL;
	o->ncells = 0;
}

void out_row(struct out *o, const struct out_val *v)
{
	struct sb cell = SB_INIT;
	int sep = o->f == OUT_TSV ? '\t' : ',';

	sb_reset(&o->line);
	switch (o->f) {
	case OUT_CSV:
	case OUT_TSV:
		if (o->rows == 0)
			header(o);
		for (size_t i = 0; i < o->ncols; i++) {
			if (i)
				sb_addc(&o->line, sep);
			sb_reset(&cell);
			val_text(&cell, &v[i]);
			delimited_cell(o, &cell, sep, v[i].t == OUT_INT || v[i].t == OUT_REAL);
		}
		sb_addc(&o->line, '\n');
		break;
	case OUT_JSON:
	case OUT_JSONL:
		if (o->f == OUT_JSON)
			sb_adds(&o->line, o->rows ? ",\n" : "[\n");
		sb_addc(&o->line, '{');
		for (size_t i = 0; i < o->ncols; i++) {
			if (i)
				sb_addc(&o->line, ',');
			json_quote(&o->line, o->cols[i], strlen(o->cols[i]));
			sb_addc(&o->line, ':');
			json_val(&o->line, &v[i], o->jsoncol[i]);
		}
		sb_addc(&o->line, '}');
		if (o->f == OUT_JSONL)
			sb_addc(&o->line, '\n');
		break;
	case OUT_TABLE:
		if (!o->table_flushed) {
			size_t need = o->ncells + o->ncols;
			o->cells = xgrow(o->cells, sizeof(*o->cells), need, &o->capcells);
			for (size_t i = 0; i < o->ncols; i++)
				o->cells[o->ncells++] = table_cell(o, v, i);
			if (o->rows + 1 >= TABLE_SAMPLE)
				table_flush(o);
		} else {
			struct tcell *cells = xcalloc(o->ncols ? o->ncols : 1, sizeof(*cells));
			for (size_t i = 0; i < o->ncols; i++)
				cells[i] = table_cell(o, v, i);
			table_print_row(o, cells);
			for (size_t i = 0; i < o->ncols; i++)
				free(cells[i].s);
			free(cells);
		}
		break;
	}
	put(o, o->line.buf, o->line.len);
	o->rows++;
	o->row_kind = -1;
	sb_free(&cell);
}

void out_stmt_row(struct out *o, sqlite3_stmt *st)
{
	int n = sqlite3_column_count(st);
	struct out_val *v;

	if (!o->cols) {
		const char **names = xcalloc(n ? n : 1, sizeof(char *));
		for (int i = 0; i < n; i++)
			names[i] = sqlite3_column_name(st, i);
		out_columns(o, n, names);
		free(names);
	}
	v = xcalloc(n ? n : 1, sizeof(*v));
	for (int i = 0; i < n && (size_t)i < o->ncols; i++) {
		switch (sqlite3_column_type(st, i)) {
		case SQLITE_NULL:
			v[i].t = OUT_NULL;
			break;
		case SQLITE_INTEGER:
			v[i].t = OUT_INT;
			v[i].i = sqlite3_column_int64(st, i);
			break;
		case SQLITE_FLOAT:
			v[i].t = OUT_REAL;
			v[i].d = sqlite3_column_double(st, i);
			break;
		default:
			v[i].t = OUT_TEXT;
			v[i].s = (const char *)sqlite3_column_text(st, i);
			v[i].len = sqlite3_column_bytes(st, i);
			if (!v[i].s)
				v[i].s = "";
		}
	}
	out_row(o, v);
	free(v);
}

void out_finish(struct out *o)
{
	if (o->f == OUT_TABLE && o->ncols)
		table_flush(o);
	if ((o->f == OUT_CSV || o->f == OUT_TSV) && o->rows == 0 && o->ncols) {
		sb_reset(&o->line);
		header(o);
		put(o, o->line.buf, o->line.len);
	}
	if (o->f == OUT_JSON) {
		const char *end = o->rows ? "\n]\n" : "[]\n";
		put(o, end, strlen(end));
	}
	if (!o->err && fflush(o->fp) != 0) {
		if (!o->keep_going)
			out_write_failed(o->fp);
		o->err = errno ? errno : EIO;
	}
	for (size_t i = 0; i < o->ncols; i++)
		free(o->cols[i]);
	free(o->cols);
	free(o->jsoncol);
	free(o->kind);
	free(o->cur);
	for (size_t i = 0; i < o->ndecl; i++)
		free(o->decl[i].name);
	free(o->decl);
	free(o->width);
	for (size_t i = 0; i < o->ncells; i++)
		free(o->cells[i].s);
	free(o->cells);
	sb_free(&o->line);
	free(o);
}
