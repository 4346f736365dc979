/* Unit tests for lib/tmpl.c: the template file format, the language,
 * escaping, header safety, parse errors with positions, many renders. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "tmpl.h"
#include "util.h"

/* Values: "name=value" pairs; a value may hold any byte when given with a
 * length through vals_len. */
struct vals {
	const char *const *kv; /* name, value, name, value, ..., NULL */
	size_t nlookups;
};

static const char *lookup(void *ctx, const char *name, size_t *len)
{
	struct vals *v = ctx;

	v->nlookups++;
	for (size_t i = 0; v->kv[i]; i += 2)
		if (!strcmp(v->kv[i], name)) {
			*len = strlen(v->kv[i + 1]);
			return v->kv[i + 1];
		}
	return NULL;
}

/* A value with embedded NUL: "a\0b" */
static const char *lookup_nul(void *ctx, const char *name, size_t *len)
{
	(void)ctx;
	(void)name;
	*len = 3;
	return "a\0b";
}

static struct tmpl *parse(const char *s)
{
	struct tmpl_err err;
	struct tmpl *t = tmpl_parse(s, strlen(s), &err);

	if (!t)
		printf("# unexpected parse error %d:%d: %s\n", err.line, err.col, err.msg);
	return t;
}

static char *render_text(const char *src, const char *const *kv)
{
	struct vals v = { kv, 0 };
	struct sb out = SB_INIT;
	struct tmpl *t = parse(src);

	if (!t)
		return xstrdup("(parse error)");
	if (tmpl_render_text(t, lookup, &v, &out))
		sb_adds(&out, "(no text)");
	tmpl_free(t);
	return sb_detach(&out);
}

static char *render_html(const char *src, const char *const *kv)
{
	struct vals v = { kv, 0 };
	struct sb out = SB_INIT;
	struct tmpl *t = parse(src);

	if (!t)
		return xstrdup("(parse error)");
	if (tmpl_render_html(t, lookup, &v, &out))
		sb_adds(&out, "(no html)");
	tmpl_free(t);
	return sb_detach(&out);
}

#define TEXT_IS(src, kv, want, ...) do { \
	char *g = render_text(src, kv); \
	is_str(g, want, __VA_ARGS__); \
	free(g); \
} while (0)

#define HTML_IS(src, kv, want, ...) do { \
	char *g = render_html(src, kv); \
	is_str(g, want, __VA_ARGS__); \
	free(g); \
} while (0)

/* Expects a parse error at line:col whose message contains msg. */
static void parse_fails(const char *src, int line, int col, const char *msg,
			const char *what)
{
	struct tmpl_err err;
	struct tmpl *t = tmpl_parse(src, strlen(src), &err);

	if (t) {
		ok(0, "%s: parse error expected", what);
		tmpl_free(t);
		return;
	}
	if (!ok(err.line == line && err.col == col && strstr(err.msg, msg),
		"%s: error %d:%d containing \"%s\"", what, line, col, msg))
		printf("#   got %d:%d: %s\n", err.line, err.col, err.msg);
}

static const char *const none[] = { NULL };

static void test_file_format(void)
{
	static const char src[] =
		"Subject: Hi {{first_name}}\n"
		"From: Shop <shop@example.com>\n"
		"X-Long: one\n"
		"  two\t\n"
		"\tthree\n"
		"\n"
		"Hello {{first_name}}\n"
		"--- html ---\n"
		"<p>Hello {{ first_name }}</p>\n"
		"\n\n";
	static const char *const kv[] = { "first_name", "Ann", NULL };
	struct vals v = { kv, 0 };
	struct tmpl *t = parse(src);
	struct sb out = SB_INIT;

	ok(t != NULL, "a template with headers, text and html parses");
	if (!t)
		return;
	is_int(tmpl_nheaders(t), 3, "three headers");
	is_str(tmpl_header_name(t, 0), "Subject", "header 0 name");
	is_str(tmpl_header_name(t, 2), "X-Long", "header 2 name");
	is_str(tmpl_header_source(t, 2), "one two three", "continuations join with one space");
	is_str(tmpl_header_source(t, 1), "Shop <shop@example.com>", "header source");
	tmpl_free(t);
	t = parse("X-Empty:\n  folded {{v}}\nX-B: b\n   \t\n\nbody\n");
	ok(t && tmpl_nheaders(t) == 2, "header with its value on a continuation line");
	if (t) {
		is_str(tmpl_header_source(t, 0), "folded {{v}}", "no leading space from the fold");
		is_str(tmpl_header_source(t, 1), "b", "a line of blanks ends the block");
	}
	tmpl_free(t);
	t = parse(src);
	is_int(tmpl_header_index(t, "subject"), 0, "header_index ignores case");
	is_int(tmpl_header_index(t, "Reply-To"), -1, "absent header is -1");
	ok(tmpl_header_name(t, 3) == NULL, "header name out of range is NULL");
	ok(tmpl_has_text(t) && tmpl_has_html(t), "has text and html");
	tmpl_render_header(t, 0, lookup, &v, &out);
	is_str(out.buf, "Hi Ann", "subject renders");
	sb_reset(&out);
	is_int(tmpl_render_header(t, 9, lookup, &v, &out), -1, "header out of range");
	is_int(out.len, 0, "nothing written for a bad index");
	tmpl_render_text(t, lookup, &v, &out);
	is_str(out.buf, "Hello Ann\n", "text part");
	sb_reset(&out);
	tmpl_render_html(t, lookup, &v, &out);
	is_str(out.buf, "<p>Hello Ann</p>\n", "html part loses trailing blank lines");
	sb_reset(&out);
	sb_adds(&out, "keep:");
	tmpl_render_text(t, lookup, &v, &out);
	is_str(out.buf, "keep:Hello Ann\n", "render appends");
	is_int(tmpl_nnames(t), 1, "one distinct name");
	{
		int l = 0, c = 0;

		is_str(tmpl_name(t, 0, &l, &c), "first_name", "its name");
		is_int(l, 1, "first use line");
		is_int(c, 15, "first use column (the name, not the braces)");
	}
	ok(tmpl_name(t, 1, NULL, NULL) == NULL, "name out of range is NULL");
	sb_free(&out);
	tmpl_free(t);

	/* no header block */
	t = parse("Dear {{first_name}}: hi\nline 2\n");
	ok(t && tmpl_nheaders(t) == 0 && tmpl_has_text(t) && !tmpl_has_html(t),
	   "first line not a header: no headers, all text");
	tmpl_free(t);
	TEXT_IS("Dear customer,\nbye", none, "Dear customer,\nbye\n",
		"no header block: the whole file, a final newline added");
	TEXT_IS("\nNote: this is body\n", none, "Note: this is body\n",
		"empty first line: no headers, body after it");
	TEXT_IS("  \t\nNote: x\n", none, "Note: x\n", "blank first line counts as empty");
	t = parse("\nNote: x\n");
	ok(t && tmpl_nheaders(t) == 0, "empty first line: zero headers");
	tmpl_free(t);
	t = parse("Subject: only headers\n");
	ok(t && tmpl_nheaders(t) == 1 && !tmpl_has_text(t) && !tmpl_has_html(t),
	   "headers only: no parts");
	tmpl_free(t);
	t = parse("");
	ok(t && !tmpl_nheaders(t) && !tmpl_has_text(t) && !tmpl_has_html(t),
	   "empty file: nothing");
	tmpl_free(t);

	/* parts */
	t = parse("Subject: x\n\n--- html ---\n<b>hi</b>\n");
	ok(t && !tmpl_has_text(t) && tmpl_has_html(t), "html only");
	tmpl_free(t);
	t = parse("Subject: x\n\n\n\n--- html ---\n<b>hi</b>\n");
	ok(t && !tmpl_has_text(t), "blank lines before the first marker are no text part");
	tmpl_free(t);
	HTML_IS("--- html ---\n<i>a</i>\n--- text ---\nplain\n", none, "<i>a</i>\n",
		"html first then text: html");
	TEXT_IS("--- html ---\n<i>a</i>\n--- text ---  \nplain\n", none, "plain\n",
		"html first then text: text (marker with trailing blanks)");
	TEXT_IS("S: x\n\n--- text ---\n\n  line\n\n\n--- html ---\nh\n", none,
		"\n  line\n", "leading blank lines and indentation kept, trailing dropped");
	TEXT_IS("S: x\n\nlast line has spaces   \n\n", none, "last line has spaces   \n",
		"trailing spaces of the last line are kept");
	TEXT_IS("S: x\n\n---  html ---\n", none, "---  html ---\n",
		"a marker must be exact");
	t = parse("S: x\n\n--- text ---\n");
	ok(t && tmpl_has_text(t), "an explicit empty text part is present");
	{
		struct sb o = SB_INIT;
		struct vals v0 = { none, 0 };

		is_int(tmpl_render_text(t, lookup, &v0, &o), 0, "renders");
		is_int(o.len, 0, "to nothing");
		is_int(tmpl_render_html(t, lookup, &v0, &o), -1, "absent html part is -1");
		sb_free(&o);
	}
	tmpl_free(t);

	/* CRLF and CR line ends */
	t = parse("Subject: a\r\n  b\r\n\r\nx {{v}}\r\ny\r\n--- html ---\r\n<p>\r\n");
	ok(t != NULL, "CRLF template parses");
	if (t) {
		static const char *const kv2[] = { "v", "1", NULL };
		struct vals v2 = { kv2, 0 };
		struct sb o = SB_INIT;

		is_str(tmpl_header_source(t, 0), "a b", "CRLF folded header");
		tmpl_render_text(t, lookup, &v2, &o);
		is_str(o.buf, "x 1\ny\n", "CRLF body becomes LF");
		sb_reset(&o);
		tmpl_render_html(t, lookup, &v2, &o);
		is_str(o.buf, "<p>\n", "CRLF marker recognised");
		sb_free(&o);
		tmpl_free(t);
	}
	TEXT_IS("a\rb\r", none, "a\nb\n", "lone CR is a line end");
}

static void test_values_filters(void)
{
	static const char *const kv[] = {
		"first_name", "иВАН", "city", "istanbul", "tr", "İSTANBUL ıI",
		"empty", "", "de", "straße ÄÖÜ", "el", "Σοφία", "attr.shoe_size", "42",
		"attr.plan", "pro", "attr.размер", "XL", "ua", "їжак ґанок є",
		"mixed", "ÀÉÎõÿŸ ĳĲ ŁŃ ǅ", NULL
	};

	TEXT_IS("{{first_name}}", kv, "иВАН\n", "plain value");
	TEXT_IS("[{{missing}}]", kv, "[]\n", "missing is empty");
	TEXT_IS("{{missing|default:\"friend\"}}", kv, "friend\n", "default on missing");
	TEXT_IS("{{empty|default:\"friend\"}}", kv, "friend\n", "default on empty");
	TEXT_IS("{{city|default:\"friend\"}}", kv, "istanbul\n", "default not used");
	TEXT_IS("{{ missing | default : \"a \\\"q\\\" \\\\ }}\" }}", kv, "a \"q\" \\ }}\n",
		"default string escapes and }} inside the string");
	TEXT_IS("{{first_name|upper}}", kv, "ИВАН\n", "upper Cyrillic");
	TEXT_IS("{{first_name|lower}}", kv, "иван\n", "lower Cyrillic");
	TEXT_IS("{{first_name|capitalize}}", kv, "Иван\n", "capitalize Cyrillic");
	TEXT_IS("{{city|capitalize}}", kv, "Istanbul\n", "capitalize ASCII");
	TEXT_IS("{{tr|lower}}", kv, "istanbul ıi\n", "lower Turkish: İ->i, I->i, ı kept");
	TEXT_IS("{{tr|upper}}", kv, "İSTANBUL II\n", "upper Turkish: ı->I, İ kept");
	TEXT_IS("{{de|upper}}", kv, "STRAßE ÄÖÜ\n", "upper keeps ß");
	TEXT_IS("{{de|lower}}", kv, "straße äöü\n", "lower Latin-1");
	TEXT_IS("{{el|upper}}", kv, "ΣΟΦΊΑ\n", "upper Greek with tonos");
	TEXT_IS("{{el|lower}}", kv, "σοφία\n", "lower Greek");
	TEXT_IS("{{ua|upper}}", kv, "ЇЖАК ҐАНОК Є\n", "upper Ukrainian letters");
	TEXT_IS("{{mixed|lower}}", kv, "àéîõÿÿ ĳĳ łń ǅ\n", "lower Latin-1/Ext-A, others kept");
	TEXT_IS("{{mixed|upper}}", kv, "ÀÉÎÕŸŸ ĲĲ ŁŃ ǅ\n", "upper Latin-1/Ext-A");
	TEXT_IS("{{missing|upper|default:\"friend\"}}", kv, "friend\n",
		"chain: upper of missing, then default");
	TEXT_IS("{{missing|default:\"friend\"|upper}}", kv, "FRIEND\n",
		"chain: default then upper");
	TEXT_IS("{{first_name|lower|capitalize}}", kv, "Иван\n", "chain of case filters");
	TEXT_IS("{{attr.shoe_size}} {{attr.plan|upper}} {{attr.размер}}", kv, "42 PRO XL\n",
		"dotted names, UTF-8 attribute names");
	TEXT_IS("{{city|raw}}", kv, "istanbul\n", "raw in text is the value");
}

static void test_conditionals(void)
{
	static const char *const kv[] = {
		"yes", "1", "zero", "0", "f", "false", "fu", "FALSE", "empty", "",
		"name", "Ann", "plan", "pro", "sp", " ", NULL
	};

	TEXT_IS("{{#if yes}}A{{else}}B{{/if}}", kv, "A\n", "if true");
	TEXT_IS("{{#if zero}}A{{else}}B{{/if}}", kv, "B\n", "\"0\" is false");
	TEXT_IS("{{#if f}}A{{else}}B{{/if}}", kv, "B\n", "\"false\" is false");
	TEXT_IS("{{#if fu}}A{{else}}B{{/if}}", kv, "B\n", "\"FALSE\" is false");
	TEXT_IS("{{#if empty}}A{{else}}B{{/if}}", kv, "B\n", "empty is false");
	TEXT_IS("{{#if missing}}A{{else}}B{{/if}}", kv, "B\n", "missing is false");
	TEXT_IS("{{#if sp}}A{{else}}B{{/if}}", kv, "A\n", "a space is true");
	TEXT_IS("{{#if yes}}A{{/if}}|", kv, "A|\n", "if without else, true");
	TEXT_IS("{{#if zero}}A{{/if}}|", kv, "|\n", "if without else, false");
	TEXT_IS("{{#unless zero}}A{{else}}B{{/unless}}", kv, "A\n", "unless false");
	TEXT_IS("{{#unless yes}}A{{else}}B{{/unless}}", kv, "B\n", "unless true");
	TEXT_IS("{{#unless missing}}none{{/unless}}", kv, "none\n", "unless without else");
	TEXT_IS("{{#if yes}}1{{#if zero}}2{{else}}3{{#unless name}}4{{else}}5{{/unless}}{{/if}}6{{else}}7{{/if}}",
		kv, "1356\n", "nested three deep");
	TEXT_IS("{{#if missing}}1{{#if yes}}2{{/if}}{{else}}{{#if plan}}{{plan}}{{/if}}{{/if}}",
		kv, "pro\n", "nested in else");
	TEXT_IS("a\n{{#if plan}}\nPlan: {{plan}}\n{{/if}}\nb\n", kv, "a\nPlan: pro\nb\n",
		"standalone tag lines vanish (true)");
	TEXT_IS("a\n  {{#if missing}}  \nPlan\n\t{{else}}\nnone\n{{/if}}\nb\n", kv,
		"a\nnone\nb\n", "standalone tag lines with indentation vanish (false)");
	TEXT_IS("a\n{{! a comment }}\nb {{! inline }}c\n", kv, "a\nb c\n",
		"comments: standalone line vanishes, inline leaves the text");
	TEXT_IS("a {{#if yes}}x{{/if}}\n", kv, "a x\n", "inline block tags keep the line");
	TEXT_IS("{{#if yes}} {{name}}\n{{/if}}", kv, " Ann\n",
		"tag followed by text is not standalone");
	TEXT_IS("{{!\n multi-line\n comment }}x", kv, "x\n", "multi-line comment");
	{
		/* the same template rendered for many rows takes either branch */
		static const char *const a[] = { "plan", "pro", NULL };
		static const char *const b[] = { "plan", "", NULL };
		struct tmpl *t = parse("{{#if plan}}P={{plan}}{{else}}none{{/if}}");
		struct vals va = { a, 0 }, vb = { b, 0 };
		struct sb o = SB_INIT;

		tmpl_render_text(t, lookup, &va, &o);
		tmpl_render_text(t, lookup, &vb, &o);
		tmpl_render_text(t, lookup, &va, &o);
		is_str(o.buf, "P=pro\nnone\nP=pro\n", "one compiled template, several rows");
		sb_free(&o);
		tmpl_free(t);
	}
	{
		/* depth limit */
		struct sb s = SB_INIT;
		struct tmpl_err err;
		struct tmpl *t;
		int i;

		for (i = 0; i < TMPL_MAX_DEPTH; i++)
			sb_adds(&s, "{{#if yes}}");
		sb_adds(&s, "deep");
		for (i = 0; i < TMPL_MAX_DEPTH; i++)
			sb_adds(&s, "{{/if}}");
		t = tmpl_parse(s.buf, s.len, &err);
		ok(t != NULL, "nesting of %d parses", TMPL_MAX_DEPTH);
		tmpl_free(t);
		sb_reset(&s);
		for (i = 0; i <= TMPL_MAX_DEPTH; i++)
			sb_adds(&s, "{{#if yes}}");
		t = tmpl_parse(s.buf, s.len, &err);
		ok(!t && err.line == 1 && err.col == 1 + 11 * TMPL_MAX_DEPTH &&
		   strstr(err.msg, "nested too deeply"), "nesting of %d is an error at the tag",
		   TMPL_MAX_DEPTH + 1);
		sb_free(&s);
	}
}

/* {{#each}} (issue 15): loops over a JSON array (or object) value */
static void test_each(void)
{
	static const char *const kv[] = {
		"first_name", "Ann",
		"attr.recs", "[{\"name\":\"Boots\",\"price\":129.5,\"tags\":[\"new\",\"sale\"]},"
			     "{\"name\":\"Tom & Jerry's <hat>\",\"price\":20,\"Size\":\"XL\"},"
			     "{\"name\":\"Socks\",\"price\":null,\"tags\":[]}]",
		"attr.empty", "[]",
		"attr.text", "just text",
		"attr.num", "42",
		"attr.obj", "{\"a\":1,\"b\":\"two\"}",
		"attr.nums", "[1, 2.5, -3, 1e300, true, false, null, \"s\", [1,2], {\"k\":\"v\"}]",
		"attr.grid", "[[1,2],[3]]",
		"attr.bad", "[1, 2",
		"attr.big", "[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]",
		NULL
	};

	TEXT_IS("{{#each attr.recs}}{{name}} {{price}};{{/each}}", kv,
		"Boots 129.5;Tom & Jerry's <hat> 20;Socks ;\n", "each: item keys");
	TEXT_IS("{{#each attr.recs}}{{@index}}/{{@number}}:{{#if @first}}F{{/if}}"
		"{{#if @last}}L{{/if}}{{#unless @last}}, {{/unless}}{{/each}}", kv,
		"0/1:F, 1/2:, 2/3:L\n", "each: @index, @number, @first, @last");
	TEXT_IS("{{#each attr.recs}}{{name}} for {{../first_name}}|{{/each}}", kv,
		"Boots for Ann|Tom & Jerry's <hat> for Ann|Socks for Ann|\n",
		"each: ../ reaches the caller's names");
	TEXT_IS("{{#each attr.recs}}{{first_name}}.{{/each}}", kv, "...\n",
		"each: a bare name is the item's, not the caller's");
	TEXT_IS("{{#each attr.recs}}{{#each tags}}{{this}}@{{../name}}{{@index}} {{/each}}{{/each}}",
		kv, "new@Boots0 sale@Boots1 \n", "each: nested, this, ../ to the outer item");
	TEXT_IS("{{#each attr.grid}}[{{#each this}}{{this}}{{../../first_name}}{{/each}}]{{/each}}",
		kv, "[1Ann2Ann][3Ann]\n", "each: arrays of arrays, ../../");
	TEXT_IS("{{#each attr.recs}}{{tags.1|default:\"-\"}}{{Size}}{{this.name|upper}} {{/each}}",
		kv, "saleBOOTS -XLTOM & JERRY'S <HAT> -SOCKS \n",
		"each: paths with an array index, keys with upper case, this.KEY, filters");
	TEXT_IS("{{#each attr.empty}}x{{else}}none{{/each}}", kv, "none\n", "each: empty array: else");
	TEXT_IS("{{#each missing}}x{{else}}none{{/each}}|{{#each attr.text}}x{{/each}}|"
		"{{#each attr.num}}x{{else}}n{{/each}}|{{#each attr.bad}}x{{else}}bad{{/each}}",
		kv, "none||n|bad\n", "each: missing, text, number, broken JSON: no items");
	TEXT_IS("{{#each attr.recs}}{{name}}{{else}}none{{/each}}", kv,
		"BootsTom & Jerry's <hat>Socks\n", "each: else not taken when there are items");
	TEXT_IS("{{#each attr.obj}}{{@key}}={{this}} {{/each}}", kv, "a=1 b=two \n",
		"each: an object's members, @key");
	TEXT_IS("{{#each attr.nums}}{{this}}|{{/each}}", kv,
		"1|2.5|-3|1e+300|true|false||s|[1,2]|{\"k\":\"v\"}|\n",
		"each: numbers short, true/false, null missing, JSON for arrays and objects");
	TEXT_IS("{{#each attr.nums}}{{#if this}}T{{else}}F{{/if}}{{/each}}", kv, "TTTTTFFTTT\n",
		"each: #if on items (false and null are false)");
	TEXT_IS("{{#each attr.recs}}{{#each ../attr.recs}}{{@index}}{{/each}}-{{/each}}", kv,
		"012-012-012-\n", "each: ../ loop over a caller's value inside a loop");
	TEXT_IS("A\n{{#each attr.recs}}\n- {{name}}\n{{/each}}\nB\n", kv,
		"A\n- Boots\n- Tom & Jerry's <hat>\n- Socks\nB\n",
		"each: standalone tags take their lines");
	HTML_IS("--- html ---\n{{#each attr.recs}}<li>{{name}}</li>{{/each}}", kv,
		"<li>Boots</li><li>Tom &amp; Jerry&#39;s &lt;hat&gt;</li><li>Socks</li>\n",
		"each: HTML-escaped like other values");
	HTML_IS("--- html ---\n{{#each attr.recs}}{{name|raw}}{{/each}}", kv,
		"BootsTom & Jerry's <hat>Socks\n", "each: raw");
	{
		/* a header is one line whatever the items hold */
		struct vals v = { kv, 0 };
		struct sb out = SB_INIT;
		struct tmpl *t = parse("Subject: {{#each attr.nums}}{{this}} {{/each}}\n\nx\n");

		ok(t && !tmpl_render_header(t, 0, lookup, &v, &out) &&
		   !strcmp(out.buf, "1 2.5 -3 1e+300 true false  s [1,2] {\"k\":\"v\"} "),
		   "each: in a header");
		sb_free(&out);
		tmpl_free(t);
	}
	{
		/* the names crm-send checks: the caller's only */
		struct tmpl *t = parse("{{#each attr.recs}}{{name}}{{../first_name}}{{#each tags}}"
				       "{{this}}{{../../city}}{{/each}}{{/each}}{{#if @first}}{{/if}}");
		int line, col;

		ok(!t, "each: @first outside a loop is an error");
		tmpl_free(t);
		t = parse("{{#each attr.recs}}{{name}}{{../first_name}}{{#each tags}}"
			  "{{this}}{{../../city}}{{/each}}{{/each}}");
		ok(t && tmpl_nnames(t) == 3, "each: three caller's names");
		if (t) {
			is_str(tmpl_name(t, 0, &line, &col), "attr.recs", "each: the loop's value");
			is_str(tmpl_name(t, 1, &line, &col), "first_name", "each: ../first_name");
			ok(line == 1 && col == 33, "each: its position %d:%d", line, col);
			is_str(tmpl_name(t, 2, NULL, NULL), "city", "each: ../../city");
		}
		tmpl_free(t);
	}
	{
		/* at most TMPL_MAX_ITERATIONS rounds in one render */
		char *g = render_text("{{#each attr.big}}{{#each ../attr.big}}{{#each ../../attr.big}}"
				      "x{{/each}}{{/each}}{{/each}}", kv);
		ok(strlen(g) > TMPL_MAX_ITERATIONS - 200 && strlen(g) < TMPL_MAX_ITERATIONS,
		   "each: rounds are capped (%zu of 1,000,000 rendered)", strlen(g));
		free(g);
	}
	{
		/* nesting: #each counts with #if and #unless */
		struct sb s = SB_INIT;
		struct tmpl_err err;
		struct tmpl *t;

		for (int i = 0; i < TMPL_MAX_DEPTH; i++)
			sb_adds(&s, i % 2 ? "{{#each this}}" : "{{#each attr.grid}}");
		for (int i = 0; i < TMPL_MAX_DEPTH; i++)
			sb_adds(&s, "{{/each}}");
		t = tmpl_parse(s.buf, s.len, &err);
		ok(t != NULL, "each: nesting of %d parses", TMPL_MAX_DEPTH);
		tmpl_free(t);
		sb_reset(&s);
		for (int i = 0; i <= TMPL_MAX_DEPTH; i++)
			sb_adds(&s, "{{#each x}}");
		t = tmpl_parse(s.buf, s.len, &err);
		ok(!t && err.line == 1 && err.col == 1 + 11 * TMPL_MAX_DEPTH &&
		   strstr(err.msg, "nested too deeply"), "each: nesting of %d is an error",
		   TMPL_MAX_DEPTH + 1);
		sb_free(&s);
	}

	parse_fails("{{#each x}}a", 1, 1, "{{#each}} is never closed", "each: unclosed");
	parse_fails("{{#each x}}\n{{/if}}", 2, 1, "{{/if}} closes {{#each}} opened at 1:1",
		    "each: closed by /if");
	parse_fails("{{#if x}}{{/each}}", 1, 10, "{{/each}} closes {{#if}} opened at 1:1",
		    "each: /each closes if");
	parse_fails("a {{/each}}", 1, 3, "{{/each}} without {{#each}}", "each: /each alone");
	parse_fails("{{#each}}x{{/each}}", 1, 8, "expected a name after #each", "each: no name");
	parse_fails("{{#each x}}{{else}}{{else}}{{/each}}", 1, 20,
		    "second {{else}} in {{#each}} opened at 1:1", "each: two elses");
	parse_fails("{{@index}}", 1, 3, "@index outside {{#each}}", "each: @index outside");
	parse_fails("{{#each x}}{{@idx}}{{/each}}", 1, 14, "unknown @idx", "each: unknown @");
	parse_fails("{{this}}", 1, 3, "\"this\" outside {{#each}}", "each: this outside");
	parse_fails("{{../x}}", 1, 3, "\"../\" outside {{#each}}", "each: ../ outside");
	parse_fails("{{#each x}}{{../../y}}{{/each}}", 1, 14, "too many \"../\" (1 {{#each}} around)",
		    "each: ../ above the top");
	parse_fails("{{#each x}}{{else}}{{@index}}{{/each}}", 1, 22, "@index outside {{#each}}",
		    "each: the else branch is outside the loop");
	parse_fails("{{#each x}}{{Name}}{{/each}}\n{{Name}}", 2, 3, "names are lower case",
		    "each: upper case in an item's key only");
}

static void test_escaping(void)
{
	static const char *const kv[] = {
		"x", "<a href=\"x\">Tom & Jerry's</a>", "amp", "&amp;", NULL
	};

	HTML_IS("--- html ---\n<p>{{x}}</p>", kv,
		"<p>&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;</p>\n",
		"html part escapes values");
	HTML_IS("--- html ---\n<p>{{x|raw}}</p>", kv,
		"<p><a href=\"x\">Tom & Jerry's</a></p>\n", "raw is not escaped");
	HTML_IS("--- html ---\n{{x|upper|raw}}", kv,
		"<A HREF=\"X\">TOM & JERRY'S</A>\n", "raw anywhere in the chain");
	HTML_IS("--- html ---\n{{amp}}", kv, "&amp;amp;\n", "escaping is not idempotent-clever");
	HTML_IS("--- html ---\n<b>{{missing|default:\"<you>\"}}</b>", kv,
		"<b>&lt;you&gt;</b>\n", "a default's text is escaped too");
	TEXT_IS("{{x}}", kv, "<a href=\"x\">Tom & Jerry's</a>\n", "text part does not escape");
	{
		struct tmpl *t = parse("Subject: {{x}}\n\n--- html ---\n{{x}}\n");
		struct vals v = { kv, 0 };
		struct sb o = SB_INIT;

		tmpl_render_header(t, 0, lookup, &v, &o);
		is_str(o.buf, "<a href=\"x\">Tom & Jerry's</a>", "headers do not escape");
		sb_free(&o);
		tmpl_free(t);
	}
	TEXT_IS("a \\{{name}} b", none, "a {{name}} b\n", "\\{{ is a literal {{");
	TEXT_IS("a \\\\{{missing|default:\"v\"}} b", none, "a \\v b\n",
		"\\\\{{ is a backslash and a value");
	TEXT_IS("a \\\\\\{{x}}", none, "a \\{{x}}\n", "three backslashes: one and literal {{");
	TEXT_IS("\nC:\\dir } }} {x}", none, "C:\\dir } }} {x}\n",
		"other backslashes and braces are text");
	TEXT_IS("C:\\dir\n\nbody", none, "body\n", "a first line \"C:...\" is a header");
}

static void test_safety(void)
{
	static const char *const kv[] = {
		"evil", "x\r\nBcc: evil@x", "lf", "a\nb", "cr", "a\rb", "ctl", "a\tb\x01" "c\x7f" "d",
		"bad", "ok\xff\xc3(\xe2\x82", "two", "1\r\n2\r3\n", NULL
	};
	struct tmpl *t = parse("Subject: Hi {{evil}}\nX-A: {{lf}}|{{cr}}|{{ctl}}\n\n"
			       "{{evil}}|{{two}}|{{ctl}}\n--- html ---\n{{bad}}\n");
	struct vals v = { kv, 0 };
	struct sb o = SB_INIT;

	if (!ok(t != NULL, "safety template parses"))
		return;
	tmpl_render_header(t, 0, lookup, &v, &o);
	is_str(o.buf, "Hi x  Bcc: evil@x", "CR LF in a header value become spaces");
	ok(!memchr(o.buf, '\n', o.len) && !memchr(o.buf, '\r', o.len), "no line break in header");
	sb_reset(&o);
	tmpl_render_header(t, 1, lookup, &v, &o);
	is_str(o.buf, "a b|a b|a b c d", "LF, CR, TAB, C0 and DEL become spaces in headers");
	sb_reset(&o);
	tmpl_render_text(t, lookup, &v, &o);
	is_str(o.buf, "x\nBcc: evil@x|1\n2\n3\n|a\tb c d\n",
	       "bodies keep newlines as LF, TAB, other controls become spaces");
	sb_reset(&o);
	tmpl_render_html(t, lookup, &v, &o);
	is_str(o.buf, "ok\xef\xbf\xbd\xef\xbf\xbd(\xef\xbf\xbd\xef\xbf\xbd\n",
	       "each invalid UTF-8 byte in values becomes U+FFFD");
	sb_reset(&o);
	tmpl_free(t);

	t = parse("Subject: [{{v}}]\n\n[{{v}}]\n");
	tmpl_render_header(t, 0, lookup_nul, NULL, &o);
	is_int(o.len, 5, "NUL value: header length");
	ok(!memcmp(o.buf, "[a b]", 5), "NUL in a header value becomes a space");
	sb_reset(&o);
	tmpl_render_text(t, lookup_nul, NULL, &o);
	ok(o.len == 6 && !memcmp(o.buf, "[a b]\n", 6), "NUL in a body value becomes a space");
	sb_free(&o);
	tmpl_free(t);
}

static void test_names(void)
{
	struct tmpl *t = parse("Subject: {{a}} {{b|default:\"x\"}}\n"
			       "From: {{#if c}}{{a}}{{/if}}\n"
			       "\n"
			       "{{#unless d}}{{attr.plan}}{{/unless}} {{b}}\n"
			       "--- html ---\n"
			       "  {{ e }}\n");
	static const char *const want[] = { "a", "b", "c", "d", "attr.plan", "e" };
	static const int pos[][2] = { { 1, 12 }, { 1, 18 }, { 2, 13 }, { 4, 11 },
				      { 4, 16 }, { 6, 6 } };
	size_t i;

	if (!ok(t != NULL, "names template parses"))
		return;
	is_int(tmpl_nnames(t), 6, "six distinct names");
	for (i = 0; i < 6 && i < tmpl_nnames(t); i++) {
		int l, c;
		const char *n = tmpl_name(t, i, &l, &c);

		is_str(n, want[i], "name %zu", i);
		ok(l == pos[i][0] && c == pos[i][1], "name %s at %d:%d (got %d:%d)", want[i],
		   pos[i][0], pos[i][1], l, c);
	}
	tmpl_free(t);

	/* positions in folded headers and after multi-byte characters */
	t = parse("Subject: Привет\n  {{x}}\n\nЁж {{y}}\n");
	if (t) {
		int l, c;

		tmpl_name(t, 0, &l, &c);
		ok(l == 2 && c == 5, "name in a continuation line at 2:5 (got %d:%d)", l, c);
		tmpl_name(t, 1, &l, &c);
		ok(l == 4 && c == 6, "columns count characters: 4:6 (got %d:%d)", l, c);
		tmpl_free(t);
	}
}

static void test_errors(void)
{
	parse_fails("Hello {{name", 1, 7, "unclosed {{", "unclosed {{");
	parse_fails("S: x\n\nab\ncd {{name\n}}", 4, 4, "unclosed {{", "unclosed {{ on a later line");
	parse_fails("x {{! comment", 1, 3, "unclosed {{! comment", "unclosed comment");
	parse_fails("{{name|uper}}", 1, 8, "unknown filter \"uper\"", "unknown filter");
	parse_fails("{{name | default}}", 1, 10, "needs an argument", "default without argument");
	parse_fails("{{name|upper:\"x\"}}", 1, 8, "takes no argument", "upper with argument");
	parse_fails("{{name|default:friend}}", 1, 16, "quoted string", "unquoted argument");
	parse_fails("{{name|default:\"abc}}", 1, 16, "unterminated string", "unterminated string");
	parse_fails("{{name|}}", 1, 8, "expected a filter name", "empty filter");
	parse_fails("{{name x}}", 1, 8, "unexpected \"x\"", "junk after name");
	parse_fails("{{First_Name}}", 1, 3, "bad name \"First_Name\" (names are lower case)",
		    "upper-case name");
	parse_fails("{{ 1abc }}", 1, 4, "bad name \"1abc\"", "name starting with a digit");
	parse_fails("{{first-name}}", 1, 3, "bad name \"first-name\"", "dash in name");
	parse_fails("{{attr.}}", 1, 3, "bad name \"attr.\"", "dot at the end");
	parse_fails("{{}}", 1, 1, "empty {{}}", "empty tag");
	parse_fails("{{ }}", 1, 1, "empty {{}}", "blank tag");
	parse_fails("{{{name}}}", 1, 3, "unexpected \"{\"", "triple braces");
	parse_fails("{{#if x}}a", 1, 1, "{{#if}} is never closed", "unclosed #if");
	parse_fails("a\n{{#if x}}\n{{#unless y}}b{{/unless}}\n", 2, 1,
		    "{{#if}} is never closed", "unclosed #if after a closed unless");
	parse_fails("a {{else}}", 1, 3, "{{else}} without {{#if}}", "else without if");
	parse_fails("a {{/if}}", 1, 3, "{{/if}} without {{#if}}", "endif without if");
	parse_fails("{{#if x}}a{{else}}b{{else}}c{{/if}}", 1, 20,
		    "second {{else}} in {{#if}} opened at 1:1", "two elses");
	parse_fails("{{#unless x}}\n  {{/if}}", 2, 3, "{{/if}} closes {{#unless}} opened at 1:1",
		    "if closing unless");
	parse_fails("{{#for x}}{{/for}}", 1, 4, "unknown block {{#for}} (known: #if, #unless, #each)",
		    "unknown block");
	parse_fails("{{#if}}x{{/if}}", 1, 6, "expected a name after #if", "if without name");
	parse_fails("{{#if X}}x{{/if}}", 1, 7, "bad name", "if with a bad name");
	parse_fails("{{/end}}", 1, 4, "unknown closing tag", "unknown closing tag");
	parse_fails("{{else}}", 1, 1, "{{else}} without", "else alone");
	parse_fails("{{#if a}}{{/if b}}", 1, 16, "unexpected \"b\"", "junk in /if");
	parse_fails("Subject: a\nFrom x\n\nbody", 2, 1, "expected a header line",
		    "bad header line");
	parse_fails("Subject: a\nsubject: b\n\nbody", 2, 1, "header \"subject\" given twice",
		    "duplicate header");
	parse_fails("Subject: ok\nX-Y: {{a|nope}}\n\n", 2, 10, "unknown filter \"nope\"",
		    "error in a header value at its position");
	parse_fails("Subject: ok\nX-Y: a\n   b {{c\n\n", 3, 6, "unclosed {{",
		    "error in a continuation line at its position");
	parse_fails("Subject: {{#if a}}x\n\nbody", 1, 10, "never closed",
		    "an #if cannot span a header and the body");
	parse_fails("S: x\n\n{{#if a}}\n--- html ---\n{{/if}}\n", 3, 1, "never closed",
		    "an #if cannot span parts");
	parse_fails("S: x\n\ntext\n--- text ---\nagain\n", 4, 1, "a second text part",
		    "implicit and explicit text parts");
	parse_fails("--- html ---\na\n--- html ---\nb\n", 3, 1, "a second html part",
		    "two html parts");
	parse_fails("S: x\n\nok\nbad \xff here\n", 4, 5, "invalid UTF-8", "invalid UTF-8");
	{
		struct tmpl_err err;
		static const char src[] = "S: x\n\nab\0c";

		ok(!tmpl_parse(src, sizeof src - 1, &err) && err.line == 3 && err.col == 3 &&
		   strstr(err.msg, "NUL"), "NUL byte at its position");
	}
	parse_fails("S: x\r\n\r\nok\r\n  {{x|bad}}\r\n", 4, 7, "unknown filter",
		    "positions in a CRLF file");
	parse_fails("Ёжик {{x|bad}}", 1, 10, "unknown filter", "columns count characters");
	ok(!tmpl_parse("{{x", 3, NULL), "a NULL err is allowed");
}

static void test_speed(void)
{
	static const char *const kv[] = {
		"first_name", "Анна", "last_name", "O'Brien & Co", "city", "Kazan",
		"plan", "pro", "attr.shoe_size", "38", NULL
	};
	struct sb src = SB_INIT, out = SB_INIT;
	struct tmpl *t;
	struct vals v = { kv, 0 };
	double t0, el;
	int i;

	sb_adds(&src, "Subject: {{first_name|default:\"Hi\"}}, news for {{city}}\n\n");
	while (src.len < 1000)
		sb_adds(&src, "Dear {{first_name|capitalize}}, your plan is {{plan|upper}}.\n"
			"{{#if attr.shoe_size}}Size {{attr.shoe_size}} is back.{{else}}New arrivals.{{/if}}\n");
	sb_adds(&src, "--- html ---\n");
	while (src.len < 2100)
		sb_adds(&src, "<p>Dear {{first_name}} {{last_name}}, from {{city}}</p>\n");
	t = parse(src.buf);
	if (!ok(t != NULL, "2 KB template parses"))
		return;
	t0 = now_monotonic();
	for (i = 0; i < 20000; i++) {
		sb_reset(&out);
		tmpl_render_header(t, 0, lookup, &v, &out);
		tmpl_render_text(t, lookup, &v, &out);
		tmpl_render_html(t, lookup, &v, &out);
	}
	el = now_monotonic() - t0;
	/* a figure, not a test: speed targets belong in make bench */
	printf("# 20k renders of a %zu-byte template: %.3f s\n", src.len, el);
	ok(!strncmp(out.buf, "Анна, news for KazanDear Анна, your plan is PRO.\nSize 38 is back.\n", 70) &&
	   strstr(out.buf, "<p>Dear Анна O&#39;Brien &amp; Co, from Kazan</p>\n"),
	   "the renders produced the right output (%zu bytes)", out.len);
	sb_free(&src);
	sb_free(&out);
	tmpl_free(t);
}

/* Mutated templates: every parse either fails with a position and a
 * message or gives a template that renders (under the sanitizers this
 * is the memory-safety check). */
static void test_fuzz(void)
{
	static const char base[] =
		"Subject: {{a|upper}} {{#if b}}x{{else}}y{{/if}}\n"
		"X-A: one\n  two {{c|default:\"d\"}}\n\n"
		"Hi {{a|capitalize|default:\"friend\"}}\n{{#unless c}}\n  none\n{{/unless}}\n"
		"\\{{lit}} {{! note }}\n--- html ---\n<p>{{a}} {{b|raw}}</p>\n";
	static const char *const bits[] = {
		"{{", "}}", "|", "\"", "#if ", "/if", "{{else}}", "\n", "\r\n", " ", "\\",
		"--- html ---\n", "--- text ---\n", ":", "{{#unless x}}", "{{/unless}}", "é",
		"\xff", "{{!", "a.b", "Z",
	};
	static const char *const kv[] = { "a", "ёж", "b", "<b>", "c", "0", NULL };
	unsigned seed = 7;
	int i, okc = 0, errc = 0, badpos = 0, ctl = 0;

	for (i = 0; i < 20000; i++) {
		struct sb src = SB_INIT, out = SB_INIT;
		struct tmpl_err err;
		struct tmpl *t;
		int k, nm;

		sb_adds(&src, base);
		seed = seed * 1103515245 + 12345;
		nm = 1 + (int)(seed >> 16) % 4;
		for (k = 0; k < nm; k++) {
			size_t at, cut;
			const char *bit;
			struct sb tmp = SB_INIT;

			seed = seed * 1103515245 + 12345;
			at = (seed >> 8) % (src.len + 1);
			seed = seed * 1103515245 + 12345;
			bit = bits[(seed >> 16) % ARRAY_SIZE(bits)];
			cut = (seed >> 4) % 3 == 0 && at < src.len ? 1 + (seed >> 20) % 4 : 0;
			if (at + cut > src.len)
				cut = src.len - at;
			sb_add(&tmp, src.buf, at);
			sb_adds(&tmp, bit);
			sb_add(&tmp, src.buf + at + cut, src.len - at - cut);
			sb_free(&src);
			src = tmp;
		}
		t = tmpl_parse(src.buf, src.len, &err);
		if (t) {
			struct vals v = { kv, 0 };
			size_t h;

			okc++;
			for (h = 0; h < tmpl_nheaders(t); h++) {
				size_t from = out.len;

				tmpl_render_header(t, h, lookup, &v, &out);
				for (; from < out.len; from++)
					ctl += (unsigned char)out.buf[from] < 0x20;
			}
			tmpl_render_text(t, lookup, &v, &out);
			tmpl_render_html(t, lookup, &v, &out);
			for (h = 0; h < tmpl_nnames(t); h++)
				tmpl_name(t, h, NULL, NULL);
			tmpl_free(t);
		} else {
			errc++;
			if (err.line < 1 || err.col < 1 || !err.msg[0])
				badpos++;
		}
		sb_free(&src);
		sb_free(&out);
	}
	ok(okc > 1000 && errc > 1000, "20000 mutated templates: %d parse, %d fail", okc, errc);
	is_int(badpos, 0, "every failure has a line, a column and a message");
	is_int(ctl, 0, "no rendered header holds a control character");
}

/* {{name "argument"}}: crm-send's {{coupon "POOL"}} */
static void test_arguments(void)
{
	static const char *const kv[] = { "coupon:WB", "WB-2345-6789", "coupon", "C-1",
					  "first_name", "Ann", NULL };
	struct tmpl *t;

	TEXT_IS("{{coupon \"WB\"}} {{coupon}} {{ coupon  \"WB\" | lower }}\n", kv,
		"WB-2345-6789 C-1 wb-2345-6789\n", "an argument names another value");
	TEXT_IS("{{coupon \"NONE\"|default:\"-\"}}\n", kv, "-\n", "a missing one is missing");
	HTML_IS("--- html ---\n{{coupon \"a\\\"b\"}}\n", kv, "\n", "escaped quotes in the argument");
	t = parse("{{coupon \"WB\"}} {{first_name}} {{coupon \"WB\"}}\n");
	if (ok(t != NULL, "arguments parse")) {
		int l, c;

		is_int(tmpl_nnames(t), 2, "one name per argument");
		is_str(tmpl_name(t, 0, &l, &c), "coupon:WB", "listed as name:argument");
		ok(l == 1 && c == 3, "at 1:3 (got %d:%d)", l, c);
		tmpl_free(t);
	}
	parse_fails("{{coupon \"WB}}\n", 1, 10, "unterminated string", "unterminated argument");
	parse_fails("{{coupon \"\"}}\n", 1, 10, "empty argument of coupon", "empty argument");
	parse_fails("{{coupon \"A\" \"B\"}}\n", 1, 14, "expected | or }}", "two arguments");
	parse_fails("{{#each xs}}{{coupon \"WB\"}}{{/each}}\n", 1, 22, "after a name",
		    "no arguments inside loops");
}

int main(void)
{
	test_file_format();
	test_values_filters();
	test_conditionals();
	test_each();
	test_escaping();
	test_safety();
	test_names();
	test_errors();
	test_arguments();
	test_fuzz();
	test_speed();
	return tap_done();
}
