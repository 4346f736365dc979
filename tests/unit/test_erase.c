/* Unit tests for the scrubbing of saved segments in lib/erase.c: which
 * literals of an expression name an erased person, and what is left. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "erase.h"
#include "tap.h"
#include "util.h"

static const struct erase_person ann[] = {
	{ "C001", "anna.ivanova@example.com", "+79161234567" },
};
static const struct erase_person jurgen[] = {
	{ NULL, NULL, "+49301234567" },
};

static void expr_is(const char *in, const struct erase_person *p, size_t np, const char *want,
		    size_t want_n)
{
	struct sb out = SB_INIT;
	size_t n = erase_scrub_expr(in, p, np, &out);

	is_str(out.buf, want, "scrub %s", in);
	is_int(n, want_n, "  %zu replacements", want_n);
	sb_free(&out);
}

static void text_is(const char *in, const struct erase_person *p, size_t np, const char *want)
{
	struct sb out = SB_INIT;

	erase_scrub_text(in, strlen(in), p, np, &out);
	is_str(out.buf, want, "text %s", in);
	sb_free(&out);
}

int main(void)
{
	/* e-mail: any case, regular expressions, inside longer literals */
	expr_is("email = \"Anna.Ivanova@Example.COM\"", ann, 1, "email = \"<erased>\"", 1);
	expr_is("email = 'anna.ivanova@example.com'", ann, 1, "email = \"<erased>\"", 1);
	expr_is("email ~ \"^anna\\.ivanova@example\\.com$\"", ann, 1, "email ~ \"<erased>\"", 1);
	expr_is("email = \"Anna <anna.ivanova@example.com>\"", ann, 1, "email = \"<erased>\"", 1);
	expr_is("attr.note like \"%anna.ivanova@example.com%\"", ann, 1,
		"attr.note like \"<erased>\"", 1);
	expr_is("email = \"anna\\\"x\" or email = \"ann@example.com\"", ann, 1,
		"email = \"anna\\\"x\" or email = \"ann@example.com\"", 0);
	/* phone: E.164, national, with separators, 00, as a number */
	expr_is("phone = \"+79161234567\"", ann, 1, "phone = \"<erased>\"", 1);
	expr_is("phone = \"+7 (916) 123-45-67\"", ann, 1, "phone = \"<erased>\"", 1);
	expr_is("attr.m = \"8 916 123 45 67\"", ann, 1, "attr.m = \"<erased>\"", 1);
	expr_is("attr.m = \"0079161234567\"", ann, 1, "attr.m = \"<erased>\"", 1);
	expr_is("phone ~ \"\\+79161234567$\"", ann, 1, "phone ~ \"<erased>\"", 1);
	expr_is("attr.m = 79161234567", ann, 1, "attr.m = \"<erased>\"", 1);
	expr_is("phone = \"030 1234567\"", jurgen, 1, "phone = \"<erased>\"", 1);
	/* other numbers stay: another phone, fewer digits, a date */
	expr_is("phone = \"+79161234568\" or attr.zip = \"1234567\"", ann, 1,
		"phone = \"+79161234568\" or attr.zip = \"1234567\"", 0);
	expr_is("created_at > \"2026-11-23 12:00\" and orders >= 2", ann, 1,
		"created_at > \"2026-11-23 12:00\" and orders >= 2", 0);
	/* external id: the whole literal only */
	expr_is("id in (\"C001\", \"C0012\", \"C002\")", ann, 1,
		"id in (\"<erased>\", \"C0012\", \"C002\")", 1);
	/* comments: the identifiers themselves */
	expr_is("orders > 0 # Anna.Ivanova@example.com, +7 916 123-45-67\nand city = \"Kazan\"", ann, 1,
		"orders > 0 # <erased>, <erased>\nand city = \"Kazan\"", 2);
	expr_is("orders > 0 # C001 stays", ann, 1, "orders > 0 # C001 stays", 0);
	/* several people; nobody */
	expr_is("phone = \"+49 30 1234567\" or email = \"anna.ivanova@example.com\"", ann, 1,
		"phone = \"+49 30 1234567\" or email = \"<erased>\"", 1);
	{
		struct erase_person both[2] = { ann[0], jurgen[0] };
		expr_is("phone = \"+49 30 1234567\" or email = \"anna.ivanova@example.com\"", both, 2,
			"phone = \"<erased>\" or email = \"<erased>\"", 2);
	}
	expr_is("email = \"anna.ivanova@example.com\"", ann, 0, "email = \"anna.ivanova@example.com\"", 0);
	expr_is("", ann, 1, "", 0);
	/* text that does not lex: scrubbed as plain text */
	expr_is("email = \"anna.ivanova@example.com", ann, 1, "email = \"<erased>", 1);

	/* descriptions */
	text_is("Anna (anna.ivanova@example.com, +7 916 123-45-67)", ann, 1, "Anna (<erased>, <erased>)");
	text_is("call 8 (916) 123-45-67 or 8 916 000 00 00", ann, 1, "call <erased> or 8 916 000 00 00");
	text_is("ANNA.IVANOVA@EXAMPLE.COM and anna.ivanova@example.com", ann, 1, "<erased> and <erased>");
	text_is("just Bob, +1 212 555 0143", ann, 1, "just Bob, +1 212 555 0143");
	return tap_done();
}
