/*
 * expr_lex.c - tokens of the expression language (see expr.c for the
 * grammar). A lexical error does not stop at once: it becomes a TK_ERR
 * token, so that an earlier syntax error is still the one reported.
 */
#include "expr_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "norm.h"

struct lex {
	const char *s;
	size_t n, i;
	struct expr_token *t;
	size_t nt, ct;
};

static struct expr_token *push(struct lex *l, enum expr_tok t, size_t pos, size_t len)
{
	struct expr_token *k;

	l->t = xgrow(l->t, sizeof(*l->t), l->nt + 1, &l->ct);
	k = &l->t[l->nt++];
	memset(k, 0, sizeof(*k));
	k->t = t;
	k->pos = pos;
	k->len = len;
	return k;
}

__attribute__((format(printf, 3, 4)))
static void lex_error(struct lex *l, size_t pos, const char *fmt, ...)
{
	struct expr_token *k = push(l, TK_ERR, pos, 0);
	struct sb sb = SB_INIT;
	va_list ap;

	va_start(ap, fmt);
	sb_vaddf(&sb, fmt, ap);
	va_end(ap);
	k->slen = sb.len;
	k->s = sb_detach(&sb);
}

/* Appends s[0..n) for a message: at most 40 bytes, cut on a character
 * boundary, with "..." when cut. */
static void quote_src(struct sb *sb, const char *s, size_t n)
{
	size_t k = n;

	if (n > 40) {
		k = 37;
		while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
			k--;
	}
	sb_addc(sb, '"');
	sb_add(sb, s, k);
	if (k < n)
		sb_adds(sb, "...");
	sb_addc(sb, '"');
}

static int is_ident_start(int c)
{
	return ascii_isalpha(c) || c == '_';
}

static int is_ident(int c)
{
	return ascii_isalpha(c) || ascii_isdigit(c) || c == '_';
}

static const struct {
	const char *word;
	enum expr_tok t;
} keywords[] = {
	{ "and", TK_AND }, { "or", TK_OR }, { "not", TK_NOT }, { "in", TK_IN },
	{ "between", TK_BETWEEN }, { "like", TK_LIKE }, { "is", TK_IS },
	{ "null", TK_NULL }, { "true", TK_TRUE }, { "false", TK_FALSE },
};

/* attr.NAME[.NAME...]: a name is ASCII letters, digits and '_' (lower-
 * cased, as crm-import stores attribute keys) and UTF-8 letters. The JSON
 * path '$."a"."b"' holds no quote, backslash or control character. */
static int lex_attr(struct lex *l, size_t start)
{
	struct sb path = SB_INIT;
	struct expr_token *k;

	sb_adds(&path, "$");
	while (l->i < l->n && l->s[l->i] == '.') {
		size_t b = ++l->i;

		while (l->i < l->n) {
			unsigned char c = (unsigned char)l->s[l->i];

			if (!is_ident(c) && c < 0x80)
				break;
			l->i++;
		}
		if (l->i == b) {
			sb_free(&path);
			lex_error(l, b, "expected an attribute name after \"%.*s\"",
				  (int)(b - start), l->s + start);
			return -1;
		}
		sb_adds(&path, ".\"");
		for (size_t j = b; j < l->i; j++)
			sb_addc(&path, ascii_lower((unsigned char)l->s[j]));
		sb_addc(&path, '"');
	}
	k = push(l, TK_ATTR, start, l->i - start);
	k->slen = path.len;
	k->s = sb_detach(&path);
	return 0;
}

static int lex_word(struct lex *l)
{
	size_t start = l->i;
	struct expr_token *k;
	char *w;

	while (l->i < l->n && is_ident((unsigned char)l->s[l->i]))
		l->i++;
	if (l->i - start == 4 && !ascii_ncasecmp(l->s + start, "attr", 4) &&
	    l->i < l->n && l->s[l->i] == '.')
		return lex_attr(l, start);
	for (size_t j = 0; j < ARRAY_SIZE(keywords); j++)
		if (strlen(keywords[j].word) == l->i - start &&
		    !ascii_ncasecmp(l->s + start, keywords[j].word, l->i - start)) {
			push(l, keywords[j].t, start, l->i - start);
			return 0;
		}
	w = xstrndup(l->s + start, l->i - start);
	for (char *p = w; *p; p++)
		*p = (char)ascii_lower((unsigned char)*p);
	k = push(l, TK_IDENT, start, l->i - start);
	k->s = w;
	k->slen = l->i - start;
	return 0;
}

static size_t digits(const char *s, size_t n, size_t i)
{
	size_t b = i;

	while (i < n && ascii_isdigit((unsigned char)s[i]))
		i++;
	return i - b;
}

/* A date literal "2026-01-31", optionally with a time "T10:00:00Z",
 * "T10:00+03:00" or " 10:00[:00]" (a space, then HH:MM). */
static int lex_time(struct lex *l)
{
	const char *s = l->s;
	size_t n = l->n, start = l->i, i = l->i, d;
	int has_time = 0;
	int64_t epoch;
	const char *why;
	struct expr_token *k;
	struct sb msg = SB_INIT;

	i += 4;                                     /* YYYY */
	for (int part = 0; part < 2; part++) {      /* -MM -DD */
		if (i < n && s[i] == '-' && (d = digits(s, n, i + 1)) > 0)
			i += 1 + d;
		else
			goto bad;
	}
	if (i + 1 < n && (s[i] == 'T' || s[i] == 't') && ascii_isdigit((unsigned char)s[i + 1])) {
		has_time = 1;
		i++;
	} else if (i + 3 < n && s[i] == ' ' && ascii_isdigit((unsigned char)s[i + 1]) &&
		   (s[i + 2] == ':' || (ascii_isdigit((unsigned char)s[i + 2]) && s[i + 3] == ':'))) {
		has_time = 1;
		i++;
	}
	if (has_time) {
		while (i < n && (ascii_isdigit((unsigned char)s[i]) || s[i] == ':' || s[i] == '.'))
			i++;
		if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
			i++;
		} else if (i + 2 < n && (s[i] == '+' || s[i] == '-') &&
			   digits(s, n, i + 1) >= 2) {
			i += 3;
			if (i < n && s[i] == ':')
				i++;
			i += digits(s, n, i);
		}
	}
	if (i < n && (is_ident((unsigned char)s[i]) || s[i] == '.'))
		goto bad;
	if (norm_time(s + start, i - start, NULL, &epoch, &why) < 0) {
		l->i = i;
		sb_adds(&msg, "invalid time ");
		quote_src(&msg, s + start, i - start);
		lex_error(l, start, "%s: %s", msg.buf, why);
		sb_free(&msg);
		return -1;
	}
	k = push(l, TK_TIME, start, i - start);
	k->i = epoch;
	l->i = i;
	return 0;
bad:
	while (i < n && (is_ident((unsigned char)s[i]) || s[i] == '-' || s[i] == ':' || s[i] == '.'))
		i++;
	sb_adds(&msg, "invalid time ");
	quote_src(&msg, s + start, i - start);
	lex_error(l, start, "%s: expected YYYY-MM-DD", msg.buf);
	sb_free(&msg);
	return -1;
}

static const double pow10_tab[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/*
 * A decimal "123.45" without the locale: when the digits fit in 2^53 and
 * there are at most 22 decimals, the quotient of two exact doubles is
 * correctly rounded; longer numbers go through strtod, which reads '.'
 * in the "C" locale the programs run in.
 */
static double decimal_value(const char *s, size_t n)
{
	uint64_t m = 0;
	size_t frac = 0, sig = 0;
	int dot = 0;
	char buf[400];

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.') {
			dot = 1;
			continue;
		}
		if (m || s[i] != '0')
			sig++;
		m = m * 10 + (uint64_t)(s[i] - '0');
		frac += dot;
		if (sig > 15)
			break;
	}
	if (sig <= 15 && frac < ARRAY_SIZE(pow10_tab))
		return (double)m / pow10_tab[frac];
	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	memcpy(buf, s, n);
	buf[n] = 0;
	return strtod(buf, NULL);
}

static int lex_number(struct lex *l)
{
	const char *s = l->s;
	size_t n = l->n, start = l->i, i = l->i, d;
	int is_real = 0;
	struct expr_token *k;
	struct sb msg = SB_INIT;

	d = digits(s, n, i);
	if (d == 4 && i + 5 < n && s[i + 4] == '-' && ascii_isdigit((unsigned char)s[i + 5]))
		return lex_time(l);
	i += d;
	if (i + 1 < n && s[i] == '.' && ascii_isdigit((unsigned char)s[i + 1])) {
		is_real = 1;
		i += 1 + digits(s, n, i + 1);
	}
	if (i < n && is_ident((unsigned char)s[i])) {
		int64_t secs;
		const char *why;

		while (i < n && is_ident((unsigned char)s[i]))
			i++;
		l->i = i;
		if (is_real) {
			sb_adds(&msg, "invalid duration ");
			quote_src(&msg, s + start, i - start);
			lex_error(l, start, "%s: use a whole number (e.g. 36h)", msg.buf);
			sb_free(&msg);
			return -1;
		}
		if (norm_duration(s + start, i - start, &secs, &why) < 0) {
			sb_adds(&msg, "invalid duration ");
			quote_src(&msg, s + start, i - start);
			lex_error(l, start, "%s: %s", msg.buf, why);
			sb_free(&msg);
			return -1;
		}
		k = push(l, TK_DUR, start, i - start);
		k->i = secs;
		return 0;
	}
	l->i = i;
	k = push(l, TK_NUM, start, i - start);
	if (is_real) {
		k->is_real = 1;
		k->d = decimal_value(s + start, i - start);
		return 0;
	}
	for (size_t j = start; j < i; j++) {
		int digit = s[j] - '0';

		if (k->i > (INT64_MAX - digit) / 10) {
			l->nt--;
			sb_adds(&msg, "number out of range ");
			quote_src(&msg, s + start, i - start);
			lex_error(l, start, "%s", msg.buf);
			sb_free(&msg);
			return -1;
		}
		k->i = k->i * 10 + digit;
	}
	return 0;
}

/* "..." or '...' with the escapes \\ \" \' \n \t \r; any other backslash
 * is kept with the character after it, so that "@example\.com$" reaches
 * the regular expression as written. */
static int lex_string(struct lex *l)
{
	const char *s = l->s;
	size_t n = l->n, start = l->i, i = l->i + 1;
	char q = s[start];
	struct sb v = SB_INIT;
	struct expr_token *k;

	for (;; i++) {
		if (i >= n) {
			sb_free(&v);
			l->i = n;
			lex_error(l, start, "unterminated string");
			return -1;
		}
		if (s[i] == q)
			break;
		if (s[i] == '\\' && i + 1 < n) {
			char c = s[++i];

			switch (c) {
			case 'n': sb_addc(&v, '\n'); break;
			case 't': sb_addc(&v, '\t'); break;
			case 'r': sb_addc(&v, '\r'); break;
			case '\\': case '"': case '\'': sb_addc(&v, c); break;
			default: sb_addc(&v, '\\'); sb_addc(&v, c); break;
			}
		} else {
			sb_addc(&v, s[i]);
		}
		if (v.len > EXPR_MAX_STRING) {
			sb_free(&v);
			while (i < n && s[i] != q)
				i += s[i] == '\\' ? 2 : 1;
			l->i = i < n ? i + 1 : n;
			lex_error(l, start, "string longer than %d bytes", EXPR_MAX_STRING);
			return -1;
		}
	}
	l->i = i + 1;
	k = push(l, TK_STR, start, l->i - start);
	k->slen = v.len;
	k->s = sb_detach(&v);
	return 0;
}

static int lex_op(struct lex *l)
{
	static const struct {
		const char *op;
		enum expr_tok t;
	} ops[] = {
		{ "==", TK_EQ }, { "!=", TK_NE }, { "<>", TK_NE }, { "<=", TK_LE },
		{ ">=", TK_GE }, { "!~", TK_NMATCH },
		{ "=", TK_EQ }, { "<", TK_LT }, { ">", TK_GT }, { "~", TK_MATCH },
		{ "(", TK_LP }, { ")", TK_RP }, { ",", TK_COMMA }, { "+", TK_PLUS },
		{ "-", TK_MINUS }, { "*", TK_STAR }, { "/", TK_SLASH }, { "%", TK_PCT },
	};
	const char *s = l->s + l->i;
	size_t left = l->n - l->i;
	unsigned char c = (unsigned char)*s;

	for (size_t j = 0; j < ARRAY_SIZE(ops); j++) {
		size_t k = strlen(ops[j].op);

		if (k <= left && !memcmp(s, ops[j].op, k)) {
			push(l, ops[j].t, l->i, k);
			l->i += k;
			return 0;
		}
	}
	if (c < 0x20 || c == 0x7f) {
		lex_error(l, l->i, "unexpected control character 0x%02x", c);
	} else {
		size_t k = 1;

		while (k < left && ((unsigned char)s[k] & 0xC0) == 0x80)
			k++;
		if (c == ';')
			lex_error(l, l->i, "unexpected character \";\" (an expression is one condition)");
		else
			lex_error(l, l->i, "unexpected character \"%.*s\"", (int)k, s);
	}
	return -1;
}

void expr_lex(const char *text, size_t len, struct expr_token **out, size_t *n)
{
	struct lex l = { text, len, 0, NULL, 0, 0 };
	int rc = 0;

	while (rc == 0) {
		unsigned char c;

		while (l.i < l.n) {
			c = (unsigned char)l.s[l.i];
			if (ascii_isspace(c)) {
				l.i++;
			} else if (c == '#') {
				while (l.i < l.n && l.s[l.i] != '\n')
					l.i++;
			} else {
				break;
			}
		}
		if (l.i >= l.n) {
			push(&l, TK_EOF, l.n, 0);
			break;
		}
		c = (unsigned char)l.s[l.i];
		if (is_ident_start(c))
			rc = lex_word(&l);
		else if (ascii_isdigit(c))
			rc = lex_number(&l);
		else if (c == '"' || c == '\'')
			rc = lex_string(&l);
		else
			rc = lex_op(&l);
	}
	*out = l.t;
	*n = l.nt;
}

void expr_tokens_free(struct expr_token *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(t[i].s);
	free(t);
}
