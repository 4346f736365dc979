/*
 * tmpl.c - message templates (the format and the language are described
 * in tmpl.h).
 *
 * Parsing turns each header value and each body part into a range of a
 * flat node list:
 *
 *   TEXT   literal text (a slice of the template's text pool)
 *   VAR    a name, its filters (a slice of the filter list), raw or not
 *   IF     a name and a negation: when the condition fails, jump to target
 *   JUMP   the end of a then-branch: jump over the else-branch
 *   EACH   a name: when its value has no items, jump to target (the
 *          {{else}} branch or past the loop); else enter the body with
 *          the first item
 *   NEXT   the end of a loop's body: back to the body with the next item,
 *          or on to target when there is none
 *
 * A value is a ref: a name of the caller's (looked up through the
 * callback, listed by tmpl_name) or, inside {{#each}}, a path into the
 * item of one of the enclosing loops ("name", "a.b", "this", "../x",
 * "@index"); rendering keeps one frame per loop being run.
 *
 * so rendering is one loop over the nodes with no parsing, no recursion
 * and no allocation except scratch buffers for case filters.
 *
 * Positions: the file is first copied with its line ends made LF (and a
 * final LF added), and every error or name position is an offset into
 * that copy, turned into line:col by a forward-moving cursor. Header
 * values are unfolded into a string of their own; a small segment list
 * maps offsets in it back to offsets in the copy.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "tmpl.h"
#include "util.h"

enum op { OP_TEXT, OP_VAR, OP_IF, OP_JUMP, OP_EACH, OP_NEXT };
/* the @ names of a loop */
enum at { AT_NONE, AT_INDEX, AT_NUMBER, AT_FIRST, AT_LAST, AT_KEY };
enum filt_kind { F_DEFAULT, F_UPPER, F_LOWER, F_CAPITALIZE };
enum mode { M_HEADER, M_TEXT, M_HTML };

struct node {
	unsigned char op, raw, neg;
	unsigned char at;  /* VAR, IF, EACH: an @ name of the loop */
	unsigned scope;    /* VAR, IF, EACH: 0 the caller's name, k the item of
			    * the k-th enclosing loop (1 the outermost) */
	size_t poff, plen; /* scope > 0: the path in the item, in pool ("" this) */
	uint32_t name;     /* VAR, IF, EACH (scope 0): index into names */
	size_t next;       /* EACH: its NEXT node */
	size_t off, len;   /* TEXT: slice of pool */
	size_t target;     /* IF (when false), JUMP, EACH (no items), NEXT (done) */
	size_t filt, nfilt; /* VAR: slice of filts */
};

struct filt {
	enum filt_kind kind;
	size_t off, len;   /* F_DEFAULT: its text in pool */
};

struct name {
	char *s;
	int line, col;
};

struct range {
	int present;
	size_t start, end; /* nodes */
};

struct header {
	char *name, *src;
	struct range r;
};

struct tmpl {
	struct node *nodes;
	size_t nnodes, capnodes;
	struct filt *filts;
	size_t nfilts, capfilts;
	struct sb pool;
	struct name *names;
	size_t nnames, capnames;
	struct header headers[TMPL_MAX_HEADERS];
	size_t nheaders;
	struct range text, html;
	size_t barrier; /* while parsing: TEXT nodes before it are closed */
};

/* Maps offset at in a parsed string to offset src in the file copy. */
struct seg {
	size_t at, src;
};

enum block_kind { B_IF, B_UNLESS, B_EACH };

struct block {
	int unless; /* enum block_kind */
	size_t if_node, jump_node, src;
	int has_else;
};

struct parser {
	struct tmpl *t;
	const char *src;   /* the normalised copy */
	size_t n;
	struct tmpl_err *err;
	/* line:col cursor */
	size_t cur, cur_ls;
	int cur_line;
	/* the string being parsed and its map */
	const struct seg *segs;
	size_t nsegs;
	struct block stack[TMPL_MAX_DEPTH];
	size_t depth;
	unsigned loops; /* open {{#each}} blocks */
};

/* ------------------------------------------------------------ positions */

static void position(struct parser *p, size_t off, int *line, int *col)
{
	size_t i;
	int c = 1;

	if (off > p->n)
		off = p->n;
	if (off < p->cur) {
		p->cur = 0;
		p->cur_ls = 0;
		p->cur_line = 1;
	}
	for (i = p->cur; i < off; i++)
		if (p->src[i] == '\n') {
			p->cur_line++;
			p->cur_ls = i + 1;
		}
	p->cur = off;
	for (i = p->cur_ls; i < off; i++)
		if (((unsigned char)p->src[i] & 0xc0) != 0x80)
			c++;
	*line = p->cur_line;
	*col = c;
}

/* The file offset of offset o of the string being parsed. */
static size_t src_of(const struct parser *p, size_t o)
{
	size_t k = 0;

	while (k + 1 < p->nsegs && p->segs[k + 1].at <= o)
		k++;
	return p->segs[k].src + (o - p->segs[k].at);
}

__attribute__((format(printf, 3, 4)))
static int error_at(struct parser *p, size_t src_off, const char *fmt, ...)
{
	va_list ap;

	if (!p->err)
		return -1;
	position(p, src_off, &p->err->line, &p->err->col);
	va_start(ap, fmt);
	vsnprintf(p->err->msg, sizeof p->err->msg, fmt, ap);
	va_end(ap);
	return -1;
}

/* -------------------------------------------------------------- building */

static struct node *add_node(struct tmpl *t, enum op op)
{
	struct node *n;

	t->nodes = xgrow(t->nodes, sizeof *t->nodes, t->nnodes + 1, &t->capnodes);
	n = &t->nodes[t->nnodes++];
	memset(n, 0, sizeof *n);
	n->op = (unsigned char)op;
	return n;
}

/* Appends literal text, extending the previous TEXT node when it ends
 * where the pool ends. */
static void add_text(struct tmpl *t, const char *s, size_t len)
{
	struct node *last = t->nnodes ? &t->nodes[t->nnodes - 1] : NULL;

	if (!len)
		return;
	if (!last || t->nnodes <= t->barrier || last->op != OP_TEXT ||
	    last->off + last->len != t->pool.len) {
		last = add_node(t, OP_TEXT);
		last->off = t->pool.len;
	}
	sb_add(&t->pool, s, len);
	last->len += len;
}

static uint32_t intern(struct parser *p, const char *s, size_t len, size_t src)
{
	struct tmpl *t = p->t;
	size_t i;

	for (i = 0; i < t->nnames; i++)
		if (strlen(t->names[i].s) == len && !memcmp(t->names[i].s, s, len))
			return (uint32_t)i;
	t->names = xgrow(t->names, sizeof *t->names, t->nnames + 1, &t->capnames);
	t->names[t->nnames].s = xstrndup(s, len);
	position(p, src, &t->names[t->nnames].line, &t->names[t->nnames].col);
	return (uint32_t)t->nnames++;
}

/* ---------------------------------------------------------------- lexing */

static int is_blank(int c)
{
	return c == ' ' || c == '\t';
}

static size_t skip_blank(const char *s, size_t n, size_t i)
{
	while (i < n && is_blank((unsigned char)s[i]))
		i++;
	return i;
}

/* item: a path in a loop's item, whose keys are the data's own (JSON
 * keys may hold ASCII upper case) */
static int name_byte(int c, int first, int item)
{
	if (c >= 0x80)
		return !first;
	return (c >= 'a' && c <= 'z') || c == '_' || (!first && ascii_isdigit(c)) ||
		(item && c >= 'A' && c <= 'Z');
}

/* Could c be part of something meant as a name (for messages)? */
static int namelike(int c)
{
	return ascii_isalpha(c) || ascii_isdigit(c) || c == '_' || c == '.' ||
		c == '-' || c >= 0x80;
}

/*
 * A name at s[*i]: segments of [a-z_][a-z0-9_]* joined by '.', later
 * segments may start with a digit and hold UTF-8 bytes.
 */
static int scan_name(struct parser *p, const char *s, size_t n, size_t *i, int item)
{
	size_t b = *i, k = *i, e;
	int first = 1;

	for (;;) {
		size_t sb0 = k;

		while (k < n && name_byte((unsigned char)s[k], first && k == sb0, item))
			k++;
		if (k == sb0)
			break;
		if (k < n && s[k] == '.' && k + 1 < n &&
		    name_byte((unsigned char)s[k + 1], 0, item)) {
			k++;
			first = 0;
			continue;
		}
		break;
	}
	e = b;
	while (e < n && namelike((unsigned char)s[e]))
		e++;
	if (k == b && e == b)
		return error_at(p, src_of(p, b), "expected a name");
	if (e > k) {
		int upper = 0;

		for (size_t j = b; j < e; j++)
			upper |= s[j] >= 'A' && s[j] <= 'Z';
		if (upper)
			return error_at(p, src_of(p, b),
					"bad name \"%.*s\" (names are lower case)",
					(int)(e - b), s + b);
		return error_at(p, src_of(p, b),
				"bad name \"%.*s\" (a name is [a-z_][a-z0-9_]*, dots between parts)",
				(int)(e - b), s + b);
	}
	if (k - b == 4 && !memcmp(s + b, "else", 4))
		return error_at(p, src_of(p, b), "\"else\" is not a name");
	*i = k;
	return 0;
}

/* What a VAR, IF or EACH node reads (the fields of struct node). */
struct ref {
	unsigned char at;
	unsigned scope;
	size_t poff, plen;
	uint32_t name;
};

static void set_ref(struct node *nd, const struct ref *r)
{
	nd->at = r->at;
	nd->scope = r->scope;
	nd->poff = r->poff;
	nd->plen = r->plen;
	nd->name = r->name;
}

static const char *const at_names[] = { "", "index", "number", "first", "last", "key" };

/*
 * A value at s[*i]: a name; in a loop also "this", "this.PATH", "@index"
 * (and the other @ names), each after any number of "../" (one loop
 * out each). Outside every loop a name is the caller's; inside, it is a
 * path in the item of the loop it belongs to.
 */
static int parse_ref(struct parser *p, const char *s, size_t n, size_t *i, struct ref *r)
{
	size_t b = *i, k = *i;
	unsigned ups = 0;

	memset(r, 0, sizeof *r);
	while (k + 2 < n && s[k] == '.' && s[k + 1] == '.' && s[k + 2] == '/')
		k += 3, ups++;
	if (ups > p->loops)
		return p->loops ?
			error_at(p, src_of(p, b), "too many \"../\" (%u {{#each}} around)",
				 p->loops) :
			error_at(p, src_of(p, b), "\"../\" outside {{#each}}");
	r->scope = p->loops - ups;
	if (k < n && s[k] == '@') {
		size_t e = ++k;

		while (e < n && s[e] >= 'a' && s[e] <= 'z')
			e++;
		for (size_t a = 1; a < ARRAY_SIZE(at_names); a++)
			if (strlen(at_names[a]) == e - k && !memcmp(at_names[a], s + k, e - k))
				r->at = (unsigned char)a;
		if (!r->at)
			return error_at(p, src_of(p, k - 1),
					"unknown @%.*s (known: @index, @number, @first, @last, @key)",
					(int)(e - k), s + k);
		if (!r->scope)
			return error_at(p, src_of(p, b), "@%s outside {{#each}}", at_names[r->at]);
		*i = e;
		return 0;
	}
	if (k + 4 <= n && !memcmp(s + k, "this", 4) &&
	    (k + 4 == n || !namelike((unsigned char)s[k + 4]) ||
	     (s[k + 4] == '.' && k + 5 < n && name_byte((unsigned char)s[k + 5], 0, 1)))) {
		if (!r->scope)
			return error_at(p, src_of(p, b), "\"this\" outside {{#each}}");
		k += 4;
		r->poff = p->t->pool.len;
		if (k < n && s[k] == '.') {
			size_t pb = ++k;

			if (scan_name(p, s, n, &k, 1))
				return -1;
			sb_add(&p->t->pool, s + pb, k - pb);
		}
		r->plen = p->t->pool.len - r->poff;
		*i = k;
		return 0;
	}
	{
		size_t pb = k;

		if (scan_name(p, s, n, &k, r->scope > 0))
			return -1;
		if (r->scope) {
			r->poff = p->t->pool.len;
			r->plen = k - pb;
			sb_add(&p->t->pool, s + pb, k - pb);
		} else {
			r->name = intern(p, s + pb, k - pb, src_of(p, pb));
		}
	}
	*i = k;
	return 0;
}

static int expect_close(struct parser *p, const char *s, size_t n, size_t *i,
			const char *what)
{
	size_t k = skip_blank(s, n, *i);

	if (k + 1 < n && s[k] == '}' && s[k + 1] == '}') {
		*i = k + 2;
		return 0;
	}
	if (k < n && s[k] != '\n')
		return error_at(p, src_of(p, k), "unexpected \"%c\" in %s (expected }})",
				s[k], what);
	return error_at(p, src_of(p, k), "expected }} after %s", what);
}

/* A double-quoted string at s[*i] ('"' there) with \" and \\ escapes;
 * its value goes to the pool. */
static int parse_string(struct parser *p, const char *s, size_t n, size_t *i,
			struct filt *f)
{
	struct tmpl *t = p->t;
	size_t k = *i + 1;

	f->off = t->pool.len;
	while (k < n && s[k] != '"' && s[k] != '\n') {
		if (s[k] == '\\' && k + 1 < n && (s[k + 1] == '"' || s[k + 1] == '\\'))
			k++;
		sb_addc(&t->pool, s[k]);
		k++;
	}
	if (k >= n || s[k] != '"')
		return error_at(p, src_of(p, *i), "unterminated string");
	f->len = t->pool.len - f->off;
	*i = k + 1;
	return 0;
}

static const struct {
	const char *name;
	enum filt_kind kind;
	int arg;
} filters[] = {
	{ "default", F_DEFAULT, 1 },
	{ "upper", F_UPPER, 0 },
	{ "lower", F_LOWER, 0 },
	{ "capitalize", F_CAPITALIZE, 0 },
	{ "raw", F_DEFAULT, 0 }, /* kind unused: sets node->raw */
};

/*
 * {{name "argument"}} outside every loop: a name its caller resolves with
 * an argument (crm-send's {{coupon "POOL"}}), listed and looked up as
 * "name:argument" (a name holds no ':'). Returns 1 with *r set and *i past
 * the argument, 0 when there is no argument, -1 on error.
 */
static int parse_arg(struct parser *p, const char *s, size_t n, size_t *i, struct ref *r)
{
	size_t k = *i, e = *i, q;
	struct filt f;
	struct sb name = SB_INIT;

	if (p->loops || k >= n || !name_byte((unsigned char)s[k], 1, 0))
		return 0;
	if (scan_name(p, s, n, &e, 0))
		return -1;
	q = skip_blank(s, n, e);
	if (q == e || q >= n || s[q] != '"')
		return 0;
	if (parse_string(p, s, n, &q, &f))
		return -1;
	if (!f.len)
		return error_at(p, src_of(p, e + 1), "empty argument of %.*s", (int)(e - k), s + k);
	sb_add(&name, s + k, e - k);
	sb_addc(&name, ':');
	sb_add(&name, p->t->pool.buf + f.off, f.len);
	memset(r, 0, sizeof *r);
	r->name = intern(p, name.buf, name.len, src_of(p, k));
	sb_free(&name);
	*i = q;
	return 1;
}

/* {{name|filter...}}: k is just past the blanks after "{{". */
static int parse_var(struct parser *p, const char *s, size_t n, size_t *i)
{
	struct tmpl *t = p->t;
	size_t k = *i, nf = 0, first = t->nfilts;
	struct ref ref;
	int raw = 0, rc;
	struct node *nd;

	if ((rc = parse_arg(p, s, n, &k, &ref)) < 0)
		return -1;
	if (!rc && parse_ref(p, s, n, &k, &ref))
		return -1;
	for (;;) {
		size_t fb, j;
		int found = -1;

		k = skip_blank(s, n, k);
		if (k + 1 < n && s[k] == '}' && s[k + 1] == '}') {
			k += 2;
			break;
		}
		if (k >= n || s[k] != '|') {
			if (k < n && s[k] != '\n')
				return error_at(p, src_of(p, k),
						"unexpected \"%c\" after a name (expected | or }})",
						s[k]);
			return error_at(p, src_of(p, k), "expected }} after a name");
		}
		k = skip_blank(s, n, k + 1);
		fb = k;
		while (k < n && (ascii_isalpha((unsigned char)s[k]) || s[k] == '_' ||
				 ascii_isdigit((unsigned char)s[k])))
			k++;
		if (k == fb)
			return error_at(p, src_of(p, fb), "expected a filter name after |");
		for (j = 0; j < ARRAY_SIZE(filters); j++)
			if (strlen(filters[j].name) == k - fb &&
			    !memcmp(filters[j].name, s + fb, k - fb))
				found = (int)j;
		if (found < 0)
			return error_at(p, src_of(p, fb),
					"unknown filter \"%.*s\" (known: default, upper, lower, capitalize, raw)",
					(int)(k - fb), s + fb);
		k = skip_blank(s, n, k);
		if (k < n && s[k] == ':') {
			struct filt f;

			if (!filters[found].arg)
				return error_at(p, src_of(p, fb),
						"filter \"%s\" takes no argument",
						filters[found].name);
			k = skip_blank(s, n, k + 1);
			if (k >= n || s[k] != '"')
				return error_at(p, src_of(p, k),
						"expected a \"quoted string\" after %s:",
						filters[found].name);
			f.kind = filters[found].kind;
			if (parse_string(p, s, n, &k, &f))
				return -1;
			t->filts = xgrow(t->filts, sizeof *t->filts, t->nfilts + 1,
					 &t->capfilts);
			t->filts[t->nfilts++] = f;
			nf++;
		} else if (filters[found].arg) {
			return error_at(p, src_of(p, fb),
					"filter \"%s\" needs an argument, e.g. %s:\"friend\"",
					filters[found].name, filters[found].name);
		} else if (!strcmp(filters[found].name, "raw")) {
			raw = 1;
		} else {
			struct filt f = { filters[found].kind, 0, 0 };

			t->filts = xgrow(t->filts, sizeof *t->filts, t->nfilts + 1,
					 &t->capfilts);
			t->filts[t->nfilts++] = f;
			nf++;
		}
	}
	nd = add_node(t, OP_VAR);
	set_ref(nd, &ref);
	nd->raw = (unsigned char)raw;
	nd->filt = first;
	nd->nfilt = nf;
	*i = k;
	return 0;
}

enum tag { TAG_VAR, TAG_COMMENT, TAG_IF, TAG_UNLESS, TAG_ELSE, TAG_END_IF,
	   TAG_END_UNLESS, TAG_EACH, TAG_END_EACH };

static int word_is(const char *s, size_t n, size_t k, const char *w)
{
	size_t m = strlen(w);

	return k + m <= n && !memcmp(s + k, w, m) &&
		(k + m == n || !namelike((unsigned char)s[k + m]));
}

static const char *const block_words[] = { "if", "unless", "each" };

static const char *block_name(int kind)
{
	return kind == B_EACH ? "{{#each}}" : kind == B_UNLESS ? "{{#unless}}" : "{{#if}}";
}

/* Which block word is at s[k] ("if", "unless", "each"), or -1. */
static int block_word(const char *s, size_t n, size_t k)
{
	for (int w = 0; w < (int)ARRAY_SIZE(block_words); w++)
		if (word_is(s, n, k, block_words[w]))
			return w;
	return -1;
}

/*
 * The tag whose "{{" is at s[j]: emits its nodes and sets *end past its
 * "}}" and *kind.
 */
static int parse_tag(struct parser *p, const char *s, size_t n, size_t j,
		     size_t *end, enum tag *kind)
{
	struct tmpl *t = p->t;
	size_t k = skip_blank(s, n, j + 2), le, q;
	const char *nl;

	if (k < n && s[k] == '!') {
		for (q = k + 1; q + 1 < n; q++)
			if (s[q] == '}' && s[q + 1] == '}')
				break;
		if (q + 1 >= n)
			return error_at(p, src_of(p, j), "unclosed {{! comment (no }})");
		*end = q + 2;
		*kind = TAG_COMMENT;
		return 0;
	}
	nl = memchr(s + j, '\n', n - j);
	le = nl ? (size_t)(nl - s) : n;
	for (q = j + 2; q + 1 < le; q++)
		if (s[q] == '}' && s[q + 1] == '}')
			break;
	if (q + 1 >= le)
		return error_at(p, src_of(p, j), "unclosed {{ (no }} on its line)");
	n = le; /* tags end on their line */

	if (k < n && s[k] == '#') {
		int bk;
		struct ref ref;
		struct node *nd;
		struct block *b;
		char what[24];

		k++;
		if ((bk = block_word(s, n, k)) < 0) {
			size_t e = k;

			while (e < n && namelike((unsigned char)s[e]))
				e++;
			return error_at(p, src_of(p, k),
					"unknown block {{#%.*s}} (known: #if, #unless, #each)",
					(int)(e - k), s + k);
		}
		k += strlen(block_words[bk]);
		if (k >= n || !is_blank((unsigned char)s[k]))
			return error_at(p, src_of(p, k), "expected a name after #%s",
					block_words[bk]);
		k = skip_blank(s, n, k);
		snprintf(what, sizeof what, "{{#%s NAME", block_words[bk]);
		if (parse_ref(p, s, n, &k, &ref) || expect_close(p, s, n, &k, what))
			return -1;
		if (p->depth == TMPL_MAX_DEPTH)
			return error_at(p, src_of(p, j),
					"blocks nested too deeply (more than %d)",
					TMPL_MAX_DEPTH);
		b = &p->stack[p->depth++];
		b->unless = bk;
		b->if_node = t->nnodes;
		b->has_else = 0;
		b->src = src_of(p, j);
		nd = add_node(t, bk == B_EACH ? OP_EACH : OP_IF);
		set_ref(nd, &ref);
		nd->neg = (unsigned char)(bk == B_UNLESS);
		if (bk == B_EACH)
			p->loops++;
		*kind = bk == B_EACH ? TAG_EACH : bk == B_UNLESS ? TAG_UNLESS : TAG_IF;
		*end = k;
		return 0;
	}
	if (k < n && s[k] == '/') {
		int bk;
		struct block *b;
		int bl, bc;
		char what[16];

		k++;
		if ((bk = block_word(s, n, k)) < 0)
			return error_at(p, src_of(p, k),
					"unknown closing tag (expected {{/if}}, {{/unless}} or {{/each}})");
		k += strlen(block_words[bk]);
		snprintf(what, sizeof what, "{{/%s", block_words[bk]);
		if (expect_close(p, s, n, &k, what))
			return -1;
		if (!p->depth)
			return error_at(p, src_of(p, j), "{{/%s}} without %s",
					block_words[bk], block_name(bk));
		b = &p->stack[p->depth - 1];
		if (b->unless != bk) {
			position(p, b->src, &bl, &bc);
			return error_at(p, src_of(p, j), "{{/%s}} closes %s opened at %d:%d",
					block_words[bk], block_name(b->unless), bl, bc);
		}
		if (bk == B_EACH) {
			/* NEXT ends the body; with an {{else}} it is already
			 * there (the else branch follows it) */
			t->nodes[b->if_node].next = b->has_else ? b->jump_node : t->nnodes;
			if (!b->has_else) {
				b->jump_node = t->nnodes;
				add_node(t, OP_NEXT);
				t->nodes[b->if_node].target = t->nnodes;
				p->loops--;
			}
			/* NEXT: on to target when done, else back to poff */
			t->nodes[b->jump_node].target = t->nnodes;
			t->nodes[b->jump_node].poff = b->if_node + 1;
		} else if (b->has_else) {
			t->nodes[b->jump_node].target = t->nnodes;
		} else {
			t->nodes[b->if_node].target = t->nnodes;
		}
		p->depth--;
		*kind = bk == B_EACH ? TAG_END_EACH : bk == B_UNLESS ? TAG_END_UNLESS : TAG_END_IF;
		*end = k;
		return 0;
	}
	if (word_is(s, n, k, "else")) {
		struct block *b;
		int bl, bc;

		k += 4;
		if (expect_close(p, s, n, &k, "{{else"))
			return -1;
		if (!p->depth)
			return error_at(p, src_of(p, j),
					"{{else}} without {{#if}}, {{#unless}} or {{#each}}");
		b = &p->stack[p->depth - 1];
		if (b->has_else) {
			position(p, b->src, &bl, &bc);
			return error_at(p, src_of(p, j), "second {{else}} in %s opened at %d:%d",
					block_name(b->unless), bl, bc);
		}
		b->has_else = 1;
		b->jump_node = t->nnodes;
		add_node(t, b->unless == B_EACH ? OP_NEXT : OP_JUMP);
		t->nodes[b->if_node].target = t->nnodes;
		if (b->unless == B_EACH)	/* the else branch is outside the loop */
			p->loops--;
		*kind = TAG_ELSE;
		*end = k;
		return 0;
	}
	if (k + 1 < n && s[k] == '}' && s[k + 1] == '}')
		return error_at(p, src_of(p, j), "empty {{}}");
	if (k < n && s[k] == '{')
		return error_at(p, src_of(p, k),
				"unexpected \"{\" (values are written {{name}}, unescaped ones {{name|raw}})");
	*kind = TAG_VAR;
	if (parse_var(p, s, n, &k))
		return -1;
	*end = k;
	return 0;
}

/*
 * Parses s[0..n) (a header value or a body part, mapped by segs) into
 * nodes; body parts remove standalone block-tag lines.
 */
static int parse_part(struct parser *p, const char *s, size_t n,
		      const struct seg *segs, size_t nsegs, int body,
		      struct range *r)
{
	struct tmpl *t = p->t;
	size_t i = 0, text = 0;

	p->segs = segs;
	p->nsegs = nsegs;
	p->depth = 0;
	p->loops = 0;
	r->start = t->barrier = t->nnodes;
	while (i < n) {
		const char *b = memchr(s + i, '{', n - i);
		size_t j, nb, end = 0, ls, le;
		enum tag kind = TAG_VAR;

		if (!b)
			break;
		j = (size_t)(b - s);
		if (j + 1 >= n || s[j + 1] != '{') {
			i = j + 1;
			continue;
		}
		for (nb = 0; j - nb > text && s[j - nb - 1] == '\\'; nb++)
			;
		if (nb % 2) {
			add_text(t, s + text, j - nb - text);
			add_text(t, s + j - nb, nb / 2);
			add_text(t, "{{", 2);
			i = text = j + 2;
			continue;
		}
		/* where the text before the tag ends: standalone lines lose
		 * their indentation and line end, escapes lose half their
		 * backslashes */
		ls = j - nb;
		add_text(t, s + text, ls - text);
		add_text(t, s + ls, nb / 2);
		if (parse_tag(p, s, n, j, &end, &kind))
			return -1;
		t->barrier = t->nnodes;
		i = text = end;
		if (!body || kind == TAG_VAR || nb)
			continue;
		/* standalone: only blanks between the line start and the tag,
		 * and between the tag and the line end */
		for (ls = j; ls > 0 && is_blank((unsigned char)s[ls - 1]); ls--)
			;
		if (ls > 0 && s[ls - 1] != '\n')
			continue;
		le = skip_blank(s, n, end);
		if (le < n && s[le] != '\n')
			continue;
		/* drop the indentation already added as text */
		if (j > ls) {
			struct node *last = NULL;
			size_t k;

			/* it is the tail of the last TEXT node before the tag's
			 * nodes: find it */
			for (k = t->nnodes; k > r->start; k--)
				if (t->nodes[k - 1].op == OP_TEXT) {
					last = &t->nodes[k - 1];
					break;
				}
			if (last && last->len >= j - ls &&
			    !memcmp(t->pool.buf + last->off + last->len - (j - ls),
				    s + ls, j - ls)) {
				last->len -= j - ls;
				if (last->off + last->len + (j - ls) == t->pool.len)
					t->pool.len -= j - ls;
			}
		}
		i = text = le < n ? le + 1 : n;
	}
	add_text(t, s + text, n - text);
	if (p->depth) {
		struct block *bl = &p->stack[p->depth - 1];

		return error_at(p, bl->src, "%s is never closed (expected {{/%s}})",
				block_name(bl->unless), block_words[bl->unless]);
	}
	r->end = t->nnodes;
	r->present = 1;
	return 0;
}

/* ----------------------------------------------------------------- files */

/* "Name:" with Name of [A-Za-z0-9-]+ at s[o]; returns the length of Name
 * or 0. */
static size_t header_name_len(const char *s, size_t n, size_t o)
{
	size_t k = o;

	while (k < n && (ascii_isalpha((unsigned char)s[k]) ||
			 ascii_isdigit((unsigned char)s[k]) || s[k] == '-'))
		k++;
	return k > o && k < n && s[k] == ':' ? k - o : 0;
}

static int blank_line(const char *s, size_t b, size_t e)
{
	return skip_blank(s, e, b) == e;
}

/* Parses the unfolded value of the last header. */
static int finish_header(struct parser *p, struct sb *val, const struct seg *segs,
			 size_t nsegs)
{
	struct header *h = &p->t->headers[p->t->nheaders - 1];

	h->src = xstrndup(val->buf, val->len);
	return parse_part(p, val->buf, val->len, segs, nsegs, 0, &h->r);
}

static int parse_headers(struct parser *p, size_t *offp)
{
	struct tmpl *t = p->t;
	struct sb val = SB_INIT;
	struct seg *segs = NULL;
	size_t nsegs = 0, capsegs = 0, off = *offp;
	int rc = 0;

	while (off < p->n) {
		const char *nl = memchr(p->src + off, '\n', p->n - off);
		size_t eol = nl ? (size_t)(nl - p->src) : p->n, nlen, b, e;

		if (blank_line(p->src, off, eol)) {
			off = eol + 1;
			break;
		}
		if (is_blank((unsigned char)p->src[off])) {
			/* continuation: one space, then the line's text */
			b = skip_blank(p->src, eol, off);
			e = eol;
			while (e > b && is_blank((unsigned char)p->src[e - 1]))
				e--;
			if (val.len && e > b)
				sb_addc(&val, ' ');
		} else {
			nlen = header_name_len(p->src, eol, off);
			if (!nlen) {
				rc = error_at(p, off,
					      "expected a header line (Name: value) or an empty line before the body (a body whose first line looks like \"Name:\" needs an empty first line)");
				break;
			}
			if (nlen > 76) {
				rc = error_at(p, off, "header name longer than 76 characters");
				break;
			}
			for (size_t i = 0; i < t->nheaders; i++)
				if (strlen(t->headers[i].name) == nlen &&
				    !ascii_ncasecmp(t->headers[i].name, p->src + off, nlen)) {
					rc = error_at(p, off, "header \"%.*s\" given twice",
						      (int)nlen, p->src + off);
					break;
				}
			if (rc)
				break;
			if (t->nheaders == TMPL_MAX_HEADERS) {
				rc = error_at(p, off, "more than %d headers", TMPL_MAX_HEADERS);
				break;
			}
			if (t->nheaders && (rc = finish_header(p, &val, segs, nsegs)))
				break;
			sb_reset(&val);
			nsegs = 0;
			t->headers[t->nheaders++].name = xstrndup(p->src + off, nlen);
			b = skip_blank(p->src, eol, off + nlen + 1);
			e = eol;
			while (e > b && is_blank((unsigned char)p->src[e - 1]))
				e--;
		}
		segs = xgrow(segs, sizeof *segs, nsegs + 1, &capsegs);
		segs[nsegs].at = val.len;
		segs[nsegs++].src = b;
		sb_add(&val, p->src + b, e - b);
		off = eol + 1;
	}
	if (!rc && t->nheaders)
		rc = finish_header(p, &val, segs, nsegs);
	sb_free(&val);
	free(segs);
	*offp = off;
	return rc;
}

/* "--- html ---" / "--- text ---" (blanks may follow): 1 html, 2 text. */
static int marker(const char *s, size_t b, size_t e)
{
	while (e > b && is_blank((unsigned char)s[e - 1]))
		e--;
	if (e - b != 12 || memcmp(s + b, "--- ", 4) || memcmp(s + b + 8, " ---", 4))
		return 0;
	return !memcmp(s + b + 4, "html", 4) ? 1 : !memcmp(s + b + 4, "text", 4) ? 2 : 0;
}

/* The part of kind (0 the lines before any marker, 1 html, 2 text) in
 * src[a..b); mk is its marker's offset. */
static int finish_part(struct parser *p, int kind, size_t a, size_t b, size_t mk)
{
	struct range *r = kind == 1 ? &p->t->html : &p->t->text;
	struct seg seg = { 0, a };
	size_t q = b, e = a;

	while (q > a && (is_blank((unsigned char)p->src[q - 1]) || p->src[q - 1] == '\n'))
		q--;
	if (q > a) {
		const char *nl = memchr(p->src + q, '\n', b - q);

		e = nl ? (size_t)(nl - p->src) + 1 : b;
	}
	if (kind == 0 && e == a)
		return 0;
	if (r->present)
		return error_at(p, mk, kind == 1 ? "a second html part" :
				"a second text part (lines before the first marker are the text part)");
	return parse_part(p, p->src + a, e - a, &seg, 1, 1, r);
}

static int parse_body(struct parser *p, size_t off)
{
	size_t a = off, mk = off, pos = off;
	int kind = 0;

	while (pos < p->n) {
		const char *nl = memchr(p->src + pos, '\n', p->n - pos);
		size_t eol = nl ? (size_t)(nl - p->src) : p->n;
		int m = marker(p->src, pos, eol);

		if (m) {
			if (finish_part(p, kind, a, pos, mk))
				return -1;
			kind = m;
			mk = pos;
			a = eol < p->n ? eol + 1 : p->n;
		}
		pos = eol + 1;
	}
	return finish_part(p, kind, a, p->n, mk);
}

struct tmpl *tmpl_parse(const char *text, size_t len, struct tmpl_err *err)
{
	struct parser p;
	struct sb src = SB_INIT;
	size_t i, bad, off = 0;
	struct tmpl *t;
	int rc;

	if (err) {
		err->line = err->col = 1;
		err->msg[0] = 0;
	}
	if (len > TMPL_MAX_LEN) {
		if (err)
			snprintf(err->msg, sizeof err->msg,
				 "template longer than %u bytes", TMPL_MAX_LEN);
		return NULL;
	}
	sb_grow(&src, len + 1);
	for (i = 0; i < len; i++) {
		if (text[i] != '\r')
			sb_addc(&src, text[i]);
		else if (i + 1 >= len || text[i + 1] != '\n')
			sb_addc(&src, '\n');
	}
	if (src.len && src.buf[src.len - 1] != '\n')
		sb_addc(&src, '\n');

	t = xcalloc(1, sizeof *t);
	sb_init(&t->pool);
	memset(&p, 0, sizeof p);
	p.t = t;
	p.src = src.buf;
	p.n = src.len;
	p.err = err;
	p.cur_line = 1;

	if (memchr(src.buf, 0, src.len))
		rc = error_at(&p, (size_t)((char *)memchr(src.buf, 0, src.len) - src.buf),
			      "NUL byte in template");
	else if (!utf8_valid(src.buf, src.len, &bad))
		rc = error_at(&p, bad, "invalid UTF-8");
	else {
		rc = 0;
		const char *nl = memchr(src.buf, '\n', src.len);

		if (nl && header_name_len(src.buf, src.len, 0))
			rc = parse_headers(&p, &off);
		else if (nl && blank_line(src.buf, 0, (size_t)(nl - src.buf)))
			off = (size_t)(nl - src.buf) + 1;
		if (!rc)
			rc = parse_body(&p, off);
	}
	sb_free(&src);
	if (rc) {
		tmpl_free(t);
		return NULL;
	}
	return t;
}

void tmpl_free(struct tmpl *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->nnames; i++)
		free(t->names[i].s);
	for (i = 0; i < t->nheaders; i++) {
		free(t->headers[i].name);
		free(t->headers[i].src);
	}
	free(t->names);
	free(t->nodes);
	free(t->filts);
	sb_free(&t->pool);
	free(t);
}

size_t tmpl_nnames(const struct tmpl *t)
{
	return t->nnames;
}

const char *tmpl_name(const struct tmpl *t, size_t i, int *line, int *col)
{
	if (i >= t->nnames)
		return NULL;
	if (line)
		*line = t->names[i].line;
	if (col)
		*col = t->names[i].col;
	return t->names[i].s;
}

size_t tmpl_nheaders(const struct tmpl *t)
{
	return t->nheaders;
}

const char *tmpl_header_name(const struct tmpl *t, size_t i)
{
	return i < t->nheaders ? t->headers[i].name : NULL;
}

const char *tmpl_header_source(const struct tmpl *t, size_t i)
{
	return i < t->nheaders ? t->headers[i].src : NULL;
}

long tmpl_header_index(const struct tmpl *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->nheaders; i++)
		if (!ascii_casecmp(t->headers[i].name, name))
			return (long)i;
	return -1;
}

int tmpl_has_text(const struct tmpl *t)
{
	return t->text.present;
}

int tmpl_has_html(const struct tmpl *t)
{
	return t->html.present;
}

/* ----------------------------------------------------------- case maps */

static unsigned cp_lower(unsigned c)
{
	if (c < 0x80)
		return (unsigned)ascii_lower((int)c);
	if (c >= 0xc0 && c <= 0xde && c != 0xd7)
		return c + 0x20;
	if (c < 0x100)
		return c;
	if (c == 0x130)
		return 'i';
	if (c == 0x178)
		return 0xff;
	if ((c <= 0x12f) || (c >= 0x132 && c <= 0x137) || (c >= 0x14a && c <= 0x177))
		return c & 1 ? c : c + 1;
	if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e))
		return c & 1 ? c + 1 : c;
	if (c == 0x386)
		return 0x3ac;
	if (c >= 0x388 && c <= 0x38a)
		return c + 0x25;
	if (c == 0x38c)
		return 0x3cc;
	if (c == 0x38e || c == 0x38f)
		return c + 0x3f;
	if (c >= 0x391 && c <= 0x3ab && c != 0x3a2)
		return c + 0x20;
	if (c >= 0x400 && c <= 0x40f)
		return c + 0x50;
	if (c >= 0x410 && c <= 0x42f)
		return c + 0x20;
	if ((c >= 0x460 && c <= 0x481) || (c >= 0x48a && c <= 0x4bf) ||
	    (c >= 0x4d0 && c <= 0x52f))
		return c & 1 ? c : c + 1;
	if (c == 0x4c0)
		return 0x4cf;
	if (c >= 0x4c1 && c <= 0x4ce)
		return c & 1 ? c + 1 : c;
	return c;
}

static unsigned cp_upper(unsigned c)
{
	if (c < 0x80)
		return (unsigned)ascii_upper((int)c);
	if (c >= 0xe0 && c <= 0xfe && c != 0xf7)
		return c - 0x20;
	if (c == 0xff)
		return 0x178;
	if (c < 0x100)
		return c;
	if (c == 0x131)
		return 'I';
	if (c == 0x17f)
		return 'S';
	if ((c <= 0x12f) || (c >= 0x132 && c <= 0x137) || (c >= 0x14a && c <= 0x177))
		return c & 1 ? c - 1 : c;
	if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e))
		return c & 1 ? c : c - 1;
	if (c == 0x3ac)
		return 0x386;
	if (c >= 0x3ad && c <= 0x3af)
		return c - 0x25;
	if (c == 0x3cc)
		return 0x38c;
	if (c == 0x3cd || c == 0x3ce)
		return c - 0x3f;
	if (c == 0x3c2)
		return 0x3a3;
	if (c >= 0x3b1 && c <= 0x3cb)
		return c - 0x20;
	if (c >= 0x430 && c <= 0x44f)
		return c - 0x20;
	if (c >= 0x450 && c <= 0x45f)
		return c - 0x50;
	if ((c >= 0x460 && c <= 0x481) || (c >= 0x48a && c <= 0x4bf) ||
	    (c >= 0x4d0 && c <= 0x52f))
		return c & 1 ? c - 1 : c;
	if (c == 0x4cf)
		return 0x4c0;
	if (c >= 0x4c1 && c <= 0x4ce)
		return c & 1 ? c : c - 1;
	return c;
}

/* Decodes one UTF-8 character of valid or invalid text: its length, and
 * *cp (or (unsigned)-1 for a bad byte, length 1). */
static size_t u8_next(const char *s, size_t n, unsigned *cp)
{
	unsigned char c = (unsigned char)s[0];
	size_t len = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 :
		c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
	unsigned v;

	if (len == 1) {
		*cp = c;
		return 1;
	}
	if (!len || len > n || !utf8_valid(s, len, NULL)) {
		*cp = (unsigned)-1;
		return 1;
	}
	v = c & (0x7f >> len);
	for (size_t i = 1; i < len; i++)
		v = v << 6 | ((unsigned char)s[i] & 0x3f);
	*cp = v;
	return len;
}

static void u8_put(struct sb *out, unsigned c)
{
	char b[4];

	if (c < 0x80) {
		sb_addc(out, (int)c);
		return;
	}
	if (c < 0x800) {
		b[0] = (char)(0xc0 | c >> 6);
		b[1] = (char)(0x80 | (c & 0x3f));
		sb_add(out, b, 2);
	} else if (c < 0x10000) {
		b[0] = (char)(0xe0 | c >> 12);
		b[1] = (char)(0x80 | (c >> 6 & 0x3f));
		b[2] = (char)(0x80 | (c & 0x3f));
		sb_add(out, b, 3);
	} else {
		b[0] = (char)(0xf0 | c >> 18);
		b[1] = (char)(0x80 | (c >> 12 & 0x3f));
		b[2] = (char)(0x80 | (c >> 6 & 0x3f));
		b[3] = (char)(0x80 | (c & 0x3f));
		sb_add(out, b, 4);
	}
}

static void case_map(struct sb *out, const char *s, size_t n, enum filt_kind k)
{
	size_t i = 0;

	while (i < n) {
		unsigned c;
		size_t l = u8_next(s + i, n - i, &c);

		if (c == (unsigned)-1)
			sb_addc(out, s[i]); /* bad bytes pass; the writer fixes them */
		else if (k == F_UPPER || (k == F_CAPITALIZE && i == 0))
			u8_put(out, cp_upper(c));
		else
			u8_put(out, cp_lower(c));
		i += l;
	}
}

/* ------------------------------------------------------------- rendering */

/* Writes an inserted value for mode, escaping for HTML unless raw. */
static void put_value(struct sb *out, const char *v, size_t n, enum mode m, int raw)
{
	int esc = m == M_HTML && !raw;
	int bad = !utf8_valid(v, n, NULL);
	size_t i, run = 0;

	sb_grow(out, n);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		const char *rep;

		if (c >= 0x80) {
			unsigned cp;
			size_t l;

			if (!bad)
				continue;
			l = u8_next(v + i, n - i, &cp);
			if (cp != (unsigned)-1) {
				i += l - 1;
				continue;
			}
			rep = "\xef\xbf\xbd";
		} else if (c >= 0x20 && c != 0x7f) {
			if (!esc)
				continue;
			switch (c) {
			case '&': rep = "&amp;"; break;
			case '<': rep = "&lt;"; break;
			case '>': rep = "&gt;"; break;
			case '"': rep = "&quot;"; break;
			case '\'': rep = "&#39;"; break;
			default: continue;
			}
		} else if (m == M_HEADER) {
			rep = " ";
		} else if (c == '\n' || c == '\t') {
			continue;
		} else if (c == '\r') {
			rep = i + 1 < n && v[i + 1] == '\n' ? "" : "\n";
		} else {
			rep = " ";
		}
		sb_add(out, v + run, i - run);
		sb_adds(out, rep);
		run = i + 1;
	}
	sb_add(out, v + run, n - run);
}

static int truthy(const char *v, size_t n)
{
	return v && n && !(n == 1 && v[0] == '0') &&
		!(n == 5 && !ascii_ncasecmp(v, "false", 5));
}

/* One {{#each}} being run: its items are the children of a JSON array
 * or object (owned: parsed from a caller's value, freed at the end). */
struct frame {
	cJSON *owned;
	const cJSON *item;
	size_t index;
};

struct run {
	const struct tmpl *t;
	tmpl_lookup lookup;
	void *ctx;
	struct frame fr[TMPL_MAX_DEPTH];
	size_t nfr;
	unsigned long budget; /* loop iterations left */
};

/* The JSON value of a path in the item of the ref's loop, or NULL. A
 * part is an object's key, or an array's index (0-based). */
static const cJSON *item_at(const struct run *st, const struct node *nd)
{
	const cJSON *v = st->fr[nd->scope - 1].item;
	const char *p = st->t->pool.buf + nd->poff, *e = p + nd->plen;

	while (v && p < e) {
		const char *d = memchr(p, '.', (size_t)(e - p));
		size_t l = d ? (size_t)(d - p) : (size_t)(e - p);
		const cJSON *c = NULL;

		if (cJSON_IsObject(v)) {
			for (c = v->child; c; c = c->next)
				if (c->string && strlen(c->string) == l && !memcmp(c->string, p, l))
					break;
		} else if (cJSON_IsArray(v) && l && l < 10) {
			size_t k = 0, idx = 0;

			while (k < l && ascii_isdigit((unsigned char)p[k]))
				idx = idx * 10 + (size_t)(p[k++] - '0');
			if (k == l && (l == 1 || p[0] != '0'))
				for (c = v->child; c && idx; c = c->next)
					idx--;
		}
		v = c;
		p += l + (d ? 1 : 0);
	}
	return v;
}

/* A JSON value as a template value: a string as it is, a number in its
 * shortest form, true/false, an array or object as JSON text; null and
 * nothing are missing (NULL). */
static const char *json_text(const cJSON *v, struct sb *buf, size_t *len)
{
	sb_reset(buf);
	if (!v || cJSON_IsNull(v) || cJSON_IsInvalid(v))
		return NULL;
	if (cJSON_IsString(v)) {
		*len = v->valuestring ? strlen(v->valuestring) : 0;
		return v->valuestring ? v->valuestring : "";
	}
	if (cJSON_IsTrue(v)) {
		sb_adds(buf, "true");
	} else if (cJSON_IsFalse(v)) {
		sb_adds(buf, "false");
	} else if (cJSON_IsNumber(v)) {
		char num[40];

		if (v->valuedouble != v->valuedouble || v->valuedouble > 1e308 ||
		    v->valuedouble < -1e308)
			return NULL;
		for (int prec = 15; prec <= 17; prec++) {
			snprintf(num, sizeof num, "%.*g", prec, v->valuedouble);
			if (strtod(num, NULL) == v->valuedouble)
				break;
		}
		sb_adds(buf, num);
	} else {
		char *j = cJSON_PrintUnformatted(v);

		if (!j)
			return NULL;
		sb_adds(buf, j);
		cJSON_free(j);
	}
	*len = buf->len;
	return buf->buf;
}

/* The value a VAR or IF node reads, or NULL when missing. */
static const char *ref_text(struct run *st, const struct node *nd, struct sb *buf,
			    size_t *len)
{
	const char *v;

	*len = 0;
	if (nd->at) {
		const struct frame *f = &st->fr[nd->scope - 1];

		sb_reset(buf);
		switch (nd->at) {
		case AT_INDEX: sb_addf(buf, "%zu", f->index); break;
		case AT_NUMBER: sb_addf(buf, "%zu", f->index + 1); break;
		case AT_FIRST: sb_adds(buf, f->index ? "false" : "true"); break;
		case AT_LAST: sb_adds(buf, f->item->next ? "false" : "true"); break;
		default:
			if (f->item->string)
				sb_adds(buf, f->item->string);
			else
				sb_addf(buf, "%zu", f->index);
		}
		*len = buf->len;
		return buf->buf ? buf->buf : "";
	}
	if (nd->scope)
		return json_text(item_at(st, nd), buf, len);
	v = st->lookup(st->ctx, st->t->names[nd->name].s, len);
	if (!v)
		*len = 0;
	return v;
}

/* OP_EACH: the first item of the value's array or object (entering the
 * loop, 1), or none (0). */
static int each_enter(struct run *st, const struct node *nd)
{
	cJSON *owned = NULL;
	const cJSON *a = NULL;

	if (nd->at) {
		a = NULL;
	} else if (nd->scope) {
		a = item_at(st, nd);
	} else {
		size_t len;
		const char *v = st->lookup(st->ctx, st->t->names[nd->name].s, &len);

		/* a caller's value that is a JSON array (or object) as text */
		if (v && len && (v[0] == '[' || v[0] == '{'))
			a = owned = cJSON_ParseWithLength(v, len);
	}
	if (!a || !(cJSON_IsArray(a) || cJSON_IsObject(a)) || !a->child) {
		cJSON_Delete(owned);
		return 0;
	}
	st->fr[st->nfr++] = (struct frame){ owned, a->child, 0 };
	return 1;
}

static void render(const struct tmpl *t, const struct range *r, enum mode m,
		   tmpl_lookup lookup, void *ctx, struct sb *out)
{
	struct sb tmp[2] = { SB_INIT, SB_INIT }, vbuf = SB_INIT;
	struct run st = { .t = t, .lookup = lookup, .ctx = ctx,
			  .budget = TMPL_MAX_ITERATIONS };
	size_t pc = r->start;

	while (pc < r->end) {
		const struct node *nd = &t->nodes[pc];
		const char *v;
		size_t len = 0;

		switch (nd->op) {
		case OP_TEXT:
			sb_add(out, t->pool.buf + nd->off, nd->len);
			pc++;
			break;
		case OP_VAR: {
			int w = 0;

			v = ref_text(&st, nd, &vbuf, &len);
			for (size_t f = nd->filt; f < nd->filt + nd->nfilt; f++) {
				const struct filt *fl = &t->filts[f];

				if (fl->kind == F_DEFAULT) {
					if (!v || !len) {
						v = t->pool.buf + fl->off;
						len = fl->len;
					}
				} else if (v) {
					sb_reset(&tmp[w]);
					case_map(&tmp[w], v, len, fl->kind);
					v = tmp[w].buf;
					len = tmp[w].len;
					w ^= 1;
				}
			}
			if (v)
				put_value(out, v, len, m, nd->raw);
			pc++;
			break;
		}
		case OP_IF:
			v = ref_text(&st, nd, &vbuf, &len);
			pc = truthy(v, v ? len : 0) != nd->neg ? pc + 1 : nd->target;
			break;
		case OP_EACH:
			if (!each_enter(&st, nd))
				pc = nd->target;	/* no items: the else branch */
			else if (!st.budget) {	/* items, but no more rounds */
				cJSON_Delete(st.fr[--st.nfr].owned);
				pc = t->nodes[nd->next].target;
			} else {
				st.budget--;
				pc++;
			}
			break;
		case OP_NEXT: {
			struct frame *f = &st.fr[st.nfr - 1];

			if (f->item->next && st.budget) {
				st.budget--;
				f->item = f->item->next;
				f->index++;
				pc = nd->poff;
			} else {
				cJSON_Delete(f->owned);
				st.nfr--;
				pc = nd->target;
			}
			break;
		}
		default:
			pc = nd->target;
			break;
		}
	}
	while (st.nfr)
		cJSON_Delete(st.fr[--st.nfr].owned);
	sb_free(&tmp[0]);
	sb_free(&tmp[1]);
	sb_free(&vbuf);
}

int tmpl_render_header(const struct tmpl *t, size_t i, tmpl_lookup lookup,
		       void *ctx, struct sb *out)
{
	size_t from = out->len, k;

	if (i >= t->nheaders)
		return -1;
	render(t, &t->headers[i].r, M_HEADER, lookup, ctx, out);
	for (k = from; k < out->len; k++)
		if ((unsigned char)out->buf[k] < 0x20 || out->buf[k] == 0x7f)
			out->buf[k] = ' ';
	return 0;
}

int tmpl_render_text(const struct tmpl *t, tmpl_lookup lookup, void *ctx,
		     struct sb *out)
{
	if (!t->text.present)
		return -1;
	render(t, &t->text, M_TEXT, lookup, ctx, out);
	return 0;
}

int tmpl_render_html(const struct tmpl *t, tmpl_lookup lookup, void *ctx,
		     struct sb *out)
{
	if (!t->html.present)
		return -1;
	render(t, &t->html, M_HTML, lookup, ctx, out);
	return 0;
}
