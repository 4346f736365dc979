/*
 * test_imp_diag.c - how crm-import's diagnostics show a value from the
 * input (lib/diag.c: diag_value, diag_name, and crm_vreport's escaping):
 * never a personal value, e-mail addresses and phone numbers masked in
 * any column, control characters escaped, the length capped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "imp_int.h"
#include "tap.h"
#include "util.h"

static const char *value(const char *v, size_t n, int personal)
{
	static struct sb sb = SB_INIT;

	sb_reset(&sb);
	diag_value(&sb, v, n, personal);
	return sb.buf;
}

/* imp_clean_text() (imp_val.c): what a text field keeps, or "(dropped)" */
static const char *clean(const char *v, size_t n, int lines)
{
	static struct sb sb = SB_INIT;

	if (imp_clean_text(v, n, lines, &sb) < 0)
		return "(dropped)";
	return sb.buf;
}

#define C(lit, lines) clean(lit, sizeof(lit) - 1, lines)

static const char *name(const char *v)
{
	static struct sb sb = SB_INIT;

	sb_reset(&sb);
	diag_name(&sb, v, strlen(v));
	return sb.buf;
}

#define V(lit, p) value(lit, sizeof(lit) - 1, p)

/* What crm_error_at() writes to stderr, through a pipe. */
static const char *reported(const char *file, long line, const char *msg)
{
	static char buf[8192];
	int p[2], saved = dup(2);
	ssize_t n;

	if (saved < 0 || pipe(p) < 0) {
		perror("test_imp_diag: pipe");
		exit(1);
	}
	fflush(stderr);
	dup2(p[1], 2);
	close(p[1]);
	crm_error_at(file, line, "%s", msg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	buf[n > 0 ? n : 0] = 0;
	return buf;
}

int main(void)
{
	crm_progname = "crm-import";

	/* personal columns: only the length */
	is_str(V("Ann Lee", 1), "(7 characters)", "personal: length only");
	is_str(V("Ирина", 1), "(5 characters)", "personal: characters, not bytes");
	is_str(V("x@example.com", 1), "(13 characters)", "personal: an address too");

	/* other columns: shown, unless an address or a phone number */
	is_str(V("12,3.4", 0), "\"12,3.4\"", "plain value in quotes");
	is_str(V("Europe/Mosc", 0), "\"Europe/Mosc\"", "time zone shown");
	is_str(V("john.doe@example.com", 0), "\"j***@e***.com\"", "an address is masked");
	is_str(V("Ann <ann@mail.example.co.uk>", 0), "\"A***@m***.***\"", "a named address is masked");
	is_str(V("@x", 0), "\"****@x***\"", "an '@' alone is masked too");
	is_str(V("a@b.c0m", 0), "\"a***@b***.***\"", "an odd top-level domain is not shown");
	is_str(V("+7 916 123-45-67", 0), "(16 characters)", "a phone number: length only");
	is_str(V("79161234567", 0), "(11 characters)", "digits: length only");
	is_str(V("123456", 0), "\"123456\"", "6 digits are shown");
	is_str(V("2026-01-01", 0), "(10 characters)", "8 digits are masked, even in a date");

	/* control characters escaped, the length capped */
	is_str(V("a\x1b[31mb", 0), "\"a\\x1b[31mb\"", "ESC escaped");
	is_str(V("Bad\r\nZone\t!", 0), "\"Bad\\r\\nZone\\t!\"", "CR, LF, TAB escaped");
	is_str(V("a\x7f" "b\xc2\x85" "c", 0), "\"a\\x7fb\\xc2\\x85c\"", "DEL and C1 escaped");
	is_str(V("a\"b\\c", 0), "\"a\\\"b\\\\c\"", "quote and backslash escaped");
	is_str(V("\xff\xfe", 0), "\"\\xff\\xfe\"", "bytes that are not UTF-8 escaped");
	is_str(V("Привет", 0), "\"Привет\"", "UTF-8 kept");
	is_str(V("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ", 0),
	       "\"abcdefghijklmnopqrstuvwxyzABCDEF...\"", "capped at 32 characters");
	is_str(V("\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b"
		 "\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b", 0),
	       "\"\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b"
	       "\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b...\"",
	       "capped by characters, not by what they become");

	/* text fields (issue 15): line breaks kept as LF in a multi-line
	 * value (city, names, attributes), tab always; other C0 controls
	 * drop the field */
	is_str(C("New\nYork", 1), "New\nYork", "multi-line: LF kept");
	is_str(C("New\r\nYork\r\n", 1), "New\nYork\n", "multi-line: CRLF becomes LF");
	is_str(C("a\rb\r\r\nc", 1), "a\nb\n\nc", "multi-line: a lone CR is a line end");
	is_str(C("a\tb", 1), "a\tb", "multi-line: tab kept");
	is_str(C("a\tb", 0), "a\tb", "one line: tab kept");
	is_str(C("New\nYork", 0), "(dropped)", "one line (ids): LF refused");
	is_str(C("a\rb", 0), "(dropped)", "one line: CR refused");
	is_str(C("Kaz\x01an", 1), "(dropped)", "multi-line: other C0 refused");
	is_str(C("x\x1b[2J", 1), "(dropped)", "multi-line: ESC refused");
	is_str(C("a\0b", 1), "(dropped)", "multi-line: NUL refused");
	is_str(C("caf\xc3\xa9\x7f", 1), "caf\xc3\xa9\x7f", "UTF-8 and DEL are text");
	is_str(C("", 1), "", "empty stays empty");

	/* column names: the same rule, no quotes */
	is_str(name("Order Total"), "Order Total", "name shown");
	is_str(name("k\\u0000"), "k\\u0000", "a backslash in a name stays one");
	is_str(name("col\x1b]0;x\x07"), "col\\x1b]0;x\\x07", "a name's control characters escaped");
	is_str(name("ann@example.com"), "a***@e***.com", "a name that is an address is masked");

	/* and whatever a message holds, stderr gets no control character */
	is_str(reported("in\x1b.csv", 3, "bad \x1b[2J\r\nthing"),
	       "crm-import: in\\x1b.csv:3: bad \\x1b[2J\\x0d\\x0athing\n",
	       "crm_error_at escapes control characters of the whole message");
	is_str(reported(NULL, 0, "caf\xc3\xa9 \xc2\x9b"), "crm-import: caf\xc3\xa9 \\xc2\\x9b\n",
	       "C1 escaped, other UTF-8 kept");
	return tap_done();
}
