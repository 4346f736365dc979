/*
 * tmpl.h - message templates: a header block and text and/or HTML bodies
 * with {{name}} insertions, filters and conditionals, compiled once and
 * rendered per recipient.
 *
 * THE FILE
 *
 *     Subject: {{first_name|default:"Hello"}}, your size is back
 *     From: Shop <shop@example.com>
 *     X-Tag: winback
 *
 *     Hi {{first_name|capitalize|default:"friend"}},
 *     {{#if attr.plan}}your plan: {{attr.plan|upper}}{{/if}}
 *     --- html ---
 *     <p>Hi {{first_name|default:"friend"}},</p>
 *
 * - Line ends may be LF or CRLF (a lone CR is a line end too); the file
 *   must be valid UTF-8 without NUL bytes.
 * - Header block: the file has one exactly when its first line is a header
 *   line, "Name: value", where Name is [A-Za-z0-9-]+ (at most 76 bytes)
 *   directly followed by ':'. The block then runs to the first empty line
 *   (or a line of only spaces and tabs);
 *   every line in it must be a header line or a continuation (a line
 *   starting with space or tab, joined to the previous header with a
 *   single space after its leading white space is removed). A block that
 *   runs to the end of the file leaves no body. White space around a value
 *   is dropped. A header name may appear only once (case-insensitive).
 *   When the first line is empty (or blank), the header block is empty
 *   and the body starts after that line (so a body whose first line looks
 *   like "Note: ..." or "https://..." is written after an empty line).
 *   When the first line is neither a header line nor empty (plain text, a
 *   part marker, a "{{"), the file has no headers and all of it is body.
 * - Body: a line that is exactly "--- html ---" starts the HTML part and
 *   "--- text ---" the text part (trailing spaces or tabs allowed on the
 *   marker line). Lines before the first marker are the text part, unless
 *   they are all blank. Each part may be given once; a template may have a
 *   text part, an HTML part, both (in any order) or neither. A part keeps
 *   its lines as written except that blank lines at its end are dropped:
 *   a non-empty part ends with exactly one "\n".
 *
 * THE LANGUAGE (in header values and bodies)
 *
 *   {{name}}                  the value of name; missing values are empty
 *   {{ name | f1 | f2:"a" }}  filters, applied left to right
 *   {{name "arg"}}            a name with one argument (outside loops),
 *                             listed and looked up as "name:arg"
 *                             (crm-send's {{coupon "WB"}})
 *   {{#if name}}..{{else}}..{{/if}}      true when the value is present,
 *   {{#unless name}}..{{else}}..{{/unless}}  non-empty and not "0" or
 *                             "false" (ASCII case-insensitive); nested
 *                             up to TMPL_MAX_DEPTH
 *   {{#each name}}..{{else}}..{{/each}}  the body once per item of the
 *                             value, a JSON array (or object: its members)
 *                             as text; the else branch when there is no
 *                             item (missing, empty, not JSON, a scalar)
 *   {{! comment }}            dropped (may span lines, ends at the first }})
 *   \{{                       a literal "{{"; before "{{", 2N backslashes
 *                             print N and 2N+1 print N and a literal "{{"
 *                             (a backslash anywhere else is itself)
 *
 * Names are [a-z_][a-z0-9_]* segments joined by dots ("first_name",
 * "attr.shoe_size"); segments after the first may start with a digit and
 * may hold UTF-8 letters (as crm-import's attribute keys do). ASCII upper
 * case is an error (names are stored lower case). "else" is reserved.
 * Tags hold no line break (except comments): a "{{" without "}}" on its
 * line is an "unclosed {{" error at the "{{".
 *
 * Inside {{#each}} a name is a path in the item: "name", "a.b" (keys;
 * here ASCII upper case is allowed, as JSON keys are the data's own),
 * "tags.0" (an array's index), "this" (the item itself), "this.name".
 * Each leading "../" goes one loop out, to the caller's names at the
 * top: {{../first_name}}; {{#each ../attr.recs}} loops over a caller's
 * value inside a loop. The loop's @ names: @index (0-based), @number
 * (1-based), @first and @last ("true"/"false", for #if and #unless),
 * @key (an object member's key; an array's index). An item's value is
 * a string as it is, a number in its shortest form (129.5, 20), true or
 * false, null missing, an array or object as JSON text; every value is
 * escaped in HTML like any other. Only the caller's names are listed by
 * tmpl_name(). Loops count in TMPL_MAX_DEPTH with #if and #unless; one
 * render runs at most TMPL_MAX_ITERATIONS rounds of all its loops, later
 * items are left out. @ names, "this" and "../" outside a loop, and too
 * many "../", are errors.
 *
 * Filters:
 *   default:"text"  the text when the value is missing or empty ("")
 *   upper, lower    case mapping of ASCII, Latin-1, Latin Extended-A,
 *                   Greek and Cyrillic letters by Unicode's simple,
 *                   locale-independent mappings (so "ı"->"I", "İ"->"i",
 *                   "i"->"I": no Turkish special rule; "ß" is kept)
 *   capitalize      the first character upper case, the rest lower case
 *                   ("иВАН" -> "Иван")
 *   raw             no HTML escaping (anywhere in the chain)
 * The argument of default is a double-quoted string with \" and \\.
 *
 * Block tags alone on a line ({{#if}}, {{else}}, {{/if}}, {{#unless}},
 * {{/unless}}, {{#each}}, {{/each}}, {{! }}) with only spaces or tabs around them take their
 * whole line with them in bodies, so
 *
 *     {{#if plan}}
 *     Plan: {{plan}}
 *     {{/if}}
 *
 * renders either "Plan: pro\n" or nothing.
 *
 * RENDERING
 *
 * - HTML part: every inserted value is escaped (& < > " ' become &amp;
 *   &lt; &gt; &quot; &#39;) unless a raw filter is in its chain; this
 *   includes a default's text. Template text itself is never escaped.
 * - Text part and headers: nothing is escaped.
 * - Inserted values that are not valid UTF-8 have each bad byte replaced by
 *   U+FFFD, so output is always valid UTF-8.
 * - Bodies: CRLF and CR in values become LF; other C0 controls except TAB,
 *   and DEL, become a space. The MIME layer makes CRLF.
 * - Headers: the whole rendered value is one line: every C0 control
 *   (CR, LF, NUL, TAB, ...) and DEL, whether from a value or the template,
 *   becomes a space, so a value can never start a header of its own.
 *
 * Typical use:
 *
 *     struct tmpl_err err;
 *     struct tmpl *t = tmpl_parse(text, len, &err);
 *     if (!t) die("%s:%d:%d: %s", file, err.line, err.col, err.msg);
 *     for (i = 0; i < tmpl_nnames(t); i++)
 *             if (!known(n = tmpl_name(t, i, &line, &col))) die(...);
 *     ... per recipient:
 *     sb_reset(&subj);
 *     tmpl_render_header(t, tmpl_header_index(t, "Subject"), lookup, row, &subj);
 *     tmpl_render_text(t, lookup, row, &text);
 */
#ifndef CRM_TMPL_H
#define CRM_TMPL_H

#include <stddef.h>

#include "util.h"

#define TMPL_MAX_LEN     (4u << 20) /* bytes of template file */
#define TMPL_MAX_DEPTH   32         /* nesting of #if / #unless / #each */
#define TMPL_MAX_ITERATIONS 10000   /* rounds of all #each loops in one render */
#define TMPL_MAX_HEADERS 64

/* Where and why parsing failed: line and col are 1-based, col counts UTF-8
 * characters (a tab counts as one); msg is lowercase without a trailing
 * period, e.g. `unknown filter "uper"`. */
struct tmpl_err {
	int line, col;
	char msg[256];
};

struct tmpl;

/* Parses a template file; NULL on error with *err filled (err may be NULL). */
struct tmpl *tmpl_parse(const char *text, size_t len, struct tmpl_err *err);
void tmpl_free(struct tmpl *t);

/* Every distinct name the template uses (headers, text, HTML, #if and
 * #unless), in order of first use; line and col (either may be NULL) give
 * that first use, for "file:LINE:COL: unknown field" messages. */
size_t tmpl_nnames(const struct tmpl *t);
const char *tmpl_name(const struct tmpl *t, size_t i, int *line, int *col);

/* The headers in file order: name as written, and its unrendered text
 * (after unfolding). tmpl_header_index finds a name case-insensitively;
 * -1 when absent. */
size_t tmpl_nheaders(const struct tmpl *t);
const char *tmpl_header_name(const struct tmpl *t, size_t i);
const char *tmpl_header_source(const struct tmpl *t, size_t i);
long tmpl_header_index(const struct tmpl *t, const char *name);

/* Whether the template has a text / an HTML part. */
int tmpl_has_text(const struct tmpl *t);
int tmpl_has_html(const struct tmpl *t);

/* Returns the value of name (NUL-terminated or not: *len is its length
 * in bytes), or NULL when the value is missing. ctx is the caller's. */
typedef const char *(*tmpl_lookup)(void *ctx, const char *name, size_t *len);

/* Rendering appends to out (it does not reset it). Each returns 0, or -1
 * (writing nothing) when i is out of range / the part is absent. */
int tmpl_render_header(const struct tmpl *t, size_t i, tmpl_lookup lookup,
		       void *ctx, struct sb *out);
int tmpl_render_text(const struct tmpl *t, tmpl_lookup lookup, void *ctx,
		     struct sb *out);
int tmpl_render_html(const struct tmpl *t, tmpl_lookup lookup, void *ctx,
		     struct sb *out);

#endif
