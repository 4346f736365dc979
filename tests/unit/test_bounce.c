/*
 * Unit tests for lib/bounce*.c: the report classifier of issue 14 over
 * the messages of tests/fixtures/bounces, written as the RFCs and the MTAs
 * (Postfix, Exim, Exchange, Gmail, Yandex) produce them. "@TOKEN@" in a
 * fixture is replaced here by token_make(SECRET, "bounce", 1234), the VERP
 * token crm-send would have put in the envelope sender of outbox row 1234.
 * Every fixture is also read with CRLF line ends and must give the same
 * verdict. CRM_TOP (set by tests/run.sh) is the top of the tree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounce.h"
#include "bounce_int.h"
#include "tap.h"
#include "token.h"
#include "util.h"

#define SECRET "test secret of the bounce tests"
#define ROW 1234

static const char *top;

/* the fixture with @TOKEN@ replaced; crlf: with CRLF line ends */
static char *fixture(const char *name, int crlf, size_t *len)
{
	char path[1024], tok[TOKEN_MAX];
	struct sb raw = SB_INIT, o = SB_INIT;
	char buf[4096];
	size_t n;
	FILE *f;

	snprintf(path, sizeof path, "%s/tests/fixtures/bounces/%s", top, name);
	if (!(f = fopen(path, "rb"))) {
		ok(0, "cannot read %s (is CRM_TOP set?)", path);
		*len = 0;
		return xstrdup("");
	}
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		sb_add(&raw, buf, n);
	fclose(f);
	token_make(SECRET, "bounce", ROW, tok);
	for (size_t i = 0; i < raw.len; i++) {
		if (!strncmp(raw.buf + i, "@TOKEN@", 7)) {
			sb_adds(&o, tok);
			i += 6;
		} else if (crlf && raw.buf[i] == '\n') {
			sb_add(&o, "\r\n", 2);
		} else {
			sb_addc(&o, raw.buf[i]);
		}
	}
	sb_free(&raw);
	*len = o.len;
	return sb_detach(&o);
}

static void parse(const char *name, int crlf, const char *envelope, struct bounce_result *r)
{
	size_t len;
	char *m = fixture(name, crlf, &len);
	int rc = bounce_parse(m, len, SECRET, envelope, r);

	ok(rc == 0, "%s%s: parsed (%s)", name, crlf ? " (CRLF)" : "", r->reason);
	free(m);
}

/* the verdict on one fixture, with LF and with CRLF */
static void check(const char *name, enum bounce_kind kind, int64_t outbox, const char *status)
{
	for (int crlf = 0; crlf < 2; crlf++) {
		struct bounce_result r;
		parse(name, crlf, NULL, &r);
		is_str(bounce_kind_name(r.kind), bounce_kind_name(kind), "%s%s: %s", name,
		       crlf ? " (CRLF)" : "", bounce_kind_name(kind));
		is_int(r.outbox_id, outbox, "%s%s: outbox row", name, crlf ? " (CRLF)" : "");
		if (status) {
			ok(r.nrcpts >= 1, "%s: a recipient", name);
			is_str(r.nrcpts ? r.rcpts[0].status : "", status, "%s: status", name);
		}
		ok(r.reason[0], "%s: a reason: %s", name, r.reason);
		bounce_result_free(&r);
	}
}

static void test_fixtures(void)
{
	struct bounce_result r;

	check("postfix-hard.eml", BOUNCE_HARD, ROW, "5.1.1");
	parse("postfix-hard.eml", 0, NULL, &r);
	is_str(r.rcpts[0].address, "anna.petrova@example.net", "postfix: the address");
	is_str(r.message_id, "<3f1c9a7e0b2d4c6e8f0a1b2c3d4e5f60@shop.example>",
	       "postfix: the original's Message-ID from text/rfc822-headers");
	is_str(r.reporting_mta, "mail.shop.example", "postfix: Reporting-MTA");
	ok(r.rcpts[0].diagnostic && strstr(r.rcpts[0].diagnostic, "550 5.1.1") &&
	   !strchr(r.rcpts[0].diagnostic, '\n'), "postfix: the diagnostic, unfolded: %s",
	   r.rcpts[0].diagnostic ? r.rcpts[0].diagnostic : "(null)");
	is_int(r.token_bad, 0, "postfix: the token checks");
	bounce_result_free(&r);

	check("postfix-delayed.eml", BOUNCE_DELAYED, ROW, "4.2.2");
	check("exim-text.eml", BOUNCE_HARD, ROW, "5.1.1");
	parse("exim-text.eml", 0, NULL, &r);
	is_int(r.nrcpts, 1, "exim: one recipient (X-Failed-Recipients)");
	is_str(r.nrcpts ? r.rcpts[0].address : "", "ivan.sidorov@example.ru", "exim: the address");
	is_str(r.message_id, "<5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b@shop.example>",
	       "exim: the Message-ID of the copy");
	bounce_result_free(&r);

	check("exchange-ndr.eml", BOUNCE_HARD, ROW, "5.1.10");
	parse("exchange-ndr.eml", 0, NULL, &r);
	is_str(r.nrcpts ? r.rcpts[0].address : "", "maria.ivanova@contoso.example",
	       "exchange: the address");
	is_str(r.message_id, "<c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4@shop.example>",
	       "exchange: the Message-ID of the original headers");
	bounce_result_free(&r);

	check("gmail-dsn.eml", BOUNCE_HARD, ROW, "5.1.1");
	parse("gmail-dsn.eml", 0, NULL, &r);
	is_str(r.message_id, "<0f1e2d3c4b5a69788796a5b4c3d2e1f0@shop.example>",
	       "gmail: the Message-ID of message/rfc822");
	is_str(r.nrcpts ? r.rcpts[0].address : "", "no.such.person@gmail.com", "gmail: the address");
	bounce_result_free(&r);

	check("spam-block.eml", BOUNCE_POLICY, ROW, "5.7.1");

	check("arf-complaint.eml", BOUNCE_COMPLAINT, ROW, NULL);
	parse("arf-complaint.eml", 0, NULL, &r);
	is_str(r.feedback_type, "abuse", "arf: Feedback-Type");
	is_str(r.message_id, "<d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9@shop.example>",
	       "arf: the original's Message-ID (third part)");
	is_int(r.nrcpts, 1, "arf: one recipient (Removal-Recipient repeats it)");
	is_str(r.nrcpts ? r.rcpts[0].address : "", "elena@example.com", "arf: Original-Rcpt-To");
	is_str(r.reporting_mta, "mail.example.com", "arf: Reporting-MTA");
	bounce_result_free(&r);

	check("vacation-autosubmitted.eml", BOUNCE_AUTOREPLY, ROW, NULL);
	check("vacation-subject.eml", BOUNCE_AUTOREPLY, 0, NULL);

	check("forged-token.eml", BOUNCE_HARD, 0, "5.1.1");
	parse("forged-token.eml", 0, NULL, &r);
	is_int(r.token_bad, 1, "forged: token_bad");
	bounce_result_free(&r);

	check("no-token.eml", BOUNCE_HARD, 0, "5.1.1");
	parse("no-token.eml", 0, NULL, &r);
	is_int(r.token_bad, 0, "no token: not a bad token");
	is_str(r.message_id, "<not-ours-77@shop.example>", "no token: the Message-ID to match");
	bounce_result_free(&r);

	for (int crlf = 0; crlf < 2; crlf++) {
		parse("malformed.eml", crlf, NULL, &r);
		ok(r.kind == BOUNCE_UNKNOWN, "malformed: unknown (%s): %s", bounce_kind_name(r.kind),
		   r.reason);
		is_int(r.outbox_id, ROW, "malformed: the token of To still found");
		bounce_result_free(&r);
	}

	check("multi-rcpt.eml", BOUNCE_HARD, ROW, "5.1.1");
	parse("multi-rcpt.eml", 0, NULL, &r);
	is_int(r.nrcpts, 2, "multi: two recipients");
	if (r.nrcpts == 2) {
		is_str(bounce_kind_name(r.rcpts[0].kind), "hard", "multi: the first is hard");
		is_str(bounce_kind_name(r.rcpts[1].kind), "soft", "multi: the second is soft");
		is_str(r.rcpts[1].address, "full@example.org", "multi: addresses lower-cased");
		is_str(r.rcpts[1].status, "5.2.2", "multi: 5.2.2");
	}
	bounce_result_free(&r);

	check("yandex-text.eml", BOUNCE_HARD, ROW, "5.1.1");
	parse("yandex-text.eml", 0, NULL, &r);
	is_str(r.nrcpts ? r.rcpts[0].address : "", "petr@yandex.ru", "yandex: the address");
	bounce_result_free(&r);
	/* Yandex's "550 5.7.1 No such user!" is the address, not a policy */
	check("yandex-571.eml", BOUNCE_HARD, ROW, "5.7.1");
}

/* the envelope recipient first; a bad envelope token does not hide a good
 * one in the headers, but is reported when nothing checks */
static void test_envelope(void)
{
	struct bounce_result r;
	char tok[TOKEN_MAX], env[128];
	const char *plain = "From: a@example.com\nTo: news@shop.example\nSubject: hi\n\nhello\n";

	token_make(SECRET, "bounce", 77, tok);
	snprintf(env, sizeof env, "bounces+%s@shop.example", tok);
	bounce_parse(plain, strlen(plain), SECRET, env, &r);
	is_int(r.outbox_id, 77, "envelope_to's token");
	is_str(bounce_kind_name(r.kind), "none", "ordinary mail is none");
	bounce_result_free(&r);

	for (char *c = env; *c; c++)
		*c = (char)ascii_upper((unsigned char)*c);
	bounce_parse(plain, strlen(plain), SECRET, env, &r);
	is_int(r.outbox_id, 77, "an upper-cased token checks");
	bounce_result_free(&r);

	bounce_parse(plain, strlen(plain), SECRET, "bounces+77-00000000deadbeef@shop.example", &r);
	is_int(r.outbox_id, 0, "a forged envelope token: no row");
	is_int(r.token_bad, 1, "a forged envelope token: token_bad");
	bounce_result_free(&r);

	bounce_parse(plain, strlen(plain), "another base's secret", NULL, &r);
	is_int(r.token_bad, 0, "no VERP address: not bad");
	bounce_result_free(&r);

	/* a token made for another purpose is refused */
	token_make(SECRET, "unsubscribe", 77, tok);
	snprintf(env, sizeof env, "bounces+%s@shop.example", tok);
	bounce_parse(plain, strlen(plain), SECRET, env, &r);
	ok(r.outbox_id == 0 && r.token_bad, "an unsubscribe token is not a bounce token");
	bounce_result_free(&r);
}

static void test_not_messages(void)
{
	struct bounce_result r;
	static const char bin[] = "\x00\x01\x02\xff garbage";

	is_int(bounce_parse("", 0, SECRET, NULL, &r), -1, "no bytes: -1");
	ok(r.reason[0], "no bytes: %s", r.reason);
	bounce_result_free(&r);
	is_int(bounce_parse("hello world, no header here\n", 28, SECRET, NULL, &r), -1,
	       "text without a header: -1 (%s)", r.reason);
	bounce_result_free(&r);
	is_int(bounce_parse(bin, sizeof bin - 1, SECRET, NULL, &r), -1,
	       "binary: -1 (%s)", r.reason);
	bounce_result_free(&r);
	/* a leading mbox From line is skipped */
	const char *mbox = "From MAILER-DAEMON Mon Nov 23 12:00:00 2026\nFrom: x@example.com\n"
			   "Subject: hello\n\nhi\n";
	is_int(bounce_parse(mbox, strlen(mbox), SECRET, NULL, &r), 0, "an mbox From line");
	is_str(bounce_kind_name(r.kind), "none", "an mbox message: none");
	bounce_result_free(&r);
}

static void test_autoreplies(void)
{
	static const struct { const char *msg; const char *kind; const char *what; } t[] = {
		{ "From: a@example.com\nAuto-Submitted: auto-generated\nSubject: Ticket #12 received\n\n"
		  "We got your message.\n", "autoreply", "auto-generated without a report" },
		{ "From: a@example.com\nAuto-Submitted: no\nSubject: Re: sale\n\nThanks!\n", "none",
		  "Auto-Submitted: no" },
		{ "From: a@example.com\nX-Autoreply: yes\nSubject: Re: sale\n\nAway.\n", "autoreply",
		  "X-Autoreply" },
		{ "From: a@example.com\nX-Autorespond: yes\nSubject: Re: sale\n\nAway.\n", "autoreply",
		  "X-Autorespond" },
		{ "From: a@example.com\nPrecedence: bulk\nSubject: Re: sale\n\nAway.\n", "autoreply",
		  "Precedence: bulk" },
		{ "From: a@example.com\nPrecedence: junk\nSubject: Hi\n\nAway.\n", "autoreply",
		  "Precedence: junk" },
		{ "From: a@example.com\nSubject: =?utf-8?B?0JDQstGC0L7QvtGC0LLQtdGCOiDQoNCw0YHQv9GA0L7QtNCw0LbQsA==?=\n\n"
		  "Я в отпуске.\n", "autoreply", "an RFC 2047 Russian vacation subject" },
		{ "From: Mail Delivery System <MAILER-DAEMON@example.com>\nSubject: Undeliverable: "
		  "vacation deals\nAuto-Submitted: auto-replied\n\nYour message could not be delivered "
		  "to one or more recipients.\n\n<x@example.net>: 550 5.1.1 User unknown\n", "hard",
		  "a bounce text with auto-replied and \"vacation\" in the quoted subject" },
		{ "From: MAILER-DAEMON@example.com\nSubject: Undeliverable\n\nYour message could not be "
		  "delivered.\n", "unknown", "a bounce text without a code is never guessed" },
		{ "From: MAILER-DAEMON@example.com\nSubject: Undeliverable\n\n<x@example.net>: host said: "
		  "550 No such user here\n", "hard", "550 with an explicit no such user" },
		{ "From: MAILER-DAEMON@example.com\nSubject: Undeliverable\n\n<x@example.net>: host said: "
		  "550 Message rejected\n", "unknown", "a bare 550 is unknown" },
		{ "From: MAILER-DAEMON@example.com\nSubject: Undeliverable\n\n<x@example.net>: host said: "
		  "421 Try again later\n", "soft", "a 4xx reply is soft" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		struct bounce_result r;
		int rc = bounce_parse(t[i].msg, strlen(t[i].msg), SECRET, NULL, &r);
		ok(rc == 0, "%s: parsed", t[i].what);
		is_str(bounce_kind_name(r.kind), t[i].kind, "%s (%s)", t[i].what, r.reason);
		bounce_result_free(&r);
	}
}

static void test_status(void)
{
	static const struct { const char *s; enum bounce_kind k; } t[] = {
		{ "5.1.1", BOUNCE_HARD }, { "5.1.10", BOUNCE_HARD }, { "5.2.1", BOUNCE_HARD },
		{ "5.2.2", BOUNCE_SOFT }, { "4.2.2", BOUNCE_SOFT }, { "4.7.1", BOUNCE_SOFT },
		{ "5.7.1", BOUNCE_POLICY }, { "5.7.26", BOUNCE_POLICY }, { "5.1.8", BOUNCE_POLICY },
		{ "5.4.4", BOUNCE_SOFT }, { "5.0.0", BOUNCE_UNKNOWN }, { "2.0.0", BOUNCE_NONE },
		{ "6.1.1", BOUNCE_UNKNOWN }, { "5.1", BOUNCE_UNKNOWN }, { "5.1.1.1", BOUNCE_UNKNOWN },
		{ "55.1.1", BOUNCE_UNKNOWN }, { "5.1000.1", BOUNCE_UNKNOWN }, { "", BOUNCE_UNKNOWN },
	};
	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		is_str(bounce_kind_name(bounce_status_kind(t[i].s)), bounce_kind_name(t[i].k),
		       "status \"%s\"", t[i].s);

	char st[16];
	ok(bounce_find_status("550-5.1.1 The email account", 27, st) == 4 && !strcmp(st, "5.1.1"),
	   "550-5.1.1");
	ok(bounce_find_status("with esmtp (Exim 4.94.2) id", 27, st) < 0, "Exim 4.94.2 is not a status");
	ok(bounce_find_status("from [10.5.1.1] x", 17, st) < 0, "an IP address is not a status");
	ok(bounce_find_status("#550 5.1.10 RESOLVER", 20, st) == 5 && !strcmp(st, "5.1.10"), "#550 5.1.10");
	ok(bounce_find_status("smtp; 5.2.2 full", 16, st) == 6 && !strcmp(st, "5.2.2"), "smtp; 5.2.2");
	is_str(bounce_kind_name(BOUNCE_UNKNOWN + 1), "?", "a kind out of range");
}

/* a 50 MB message: the report comes first and is found; memory stays small */
static void test_huge(void)
{
	struct bounce_result r;
	size_t len, big = 50u << 20;
	char *head = fixture("gmail-dsn.eml", 0, &len);
	char *end = strstr(head, "--000000000000a1b2c30605d8e9f0--");
	struct sb m = SB_INIT;

	if (!end) {
		ok(0, "gmail fixture has its closing boundary");
		free(head);
		return;
	}
	sb_add(&m, head, (size_t)(end - head));
	sb_grow(&m, big);
	while (m.len < big)
		sb_add(&m, "Lorem ipsum dolor sit amet, consectetur adipiscing elit. 550 5.7.1\n", 68);
	bounce_parse(m.buf, m.len, SECRET, NULL, &r);
	is_str(bounce_kind_name(r.kind), "hard", "50 MB: the DSN before the original is read");
	is_int(r.outbox_id, ROW, "50 MB: the row");
	bounce_result_free(&r);

	/* 50 MB of ordinary text */
	sb_reset(&m);
	sb_adds(&m, "From: a@example.com\nSubject: big\n\n");
	while (m.len < big)
		sb_add(&m, "Lorem ipsum dolor sit amet, consectetur adipiscing elit. 550 5.7.1\n", 68);
	bounce_parse(m.buf, m.len, SECRET, NULL, &r);
	is_str(bounce_kind_name(r.kind), "none", "50 MB of text: none (%s)", r.reason);
	ok(strstr(r.reason, "KiB read") != NULL, "50 MB: the reason says what was read");
	bounce_result_free(&r);

	/* nested multiparts past any sane depth */
	sb_reset(&m);
	sb_adds(&m, "From: MAILER-DAEMON@example.com\nMIME-Version: 1.0\n");
	for (int i = 0; i < 2000; i++)
		sb_addf(&m, "Content-Type: multipart/mixed; boundary=\"b%d\"\n\n--b%d\n", i, i);
	sb_adds(&m, "Content-Type: text/plain\n\n550 5.1.1 x@example.com\n");
	ok(bounce_parse(m.buf, m.len, SECRET, NULL, &r) == 0 && r.kind == BOUNCE_UNKNOWN,
	   "2000 nested multiparts: unknown (%s)", r.reason);
	bounce_result_free(&r);

	/* and nested message/rfc822 */
	sb_reset(&m);
	sb_adds(&m, "From: MAILER-DAEMON@example.com\nMIME-Version: 1.0\n");
	for (int i = 0; i < 5000; i++)
		sb_adds(&m, "Content-Type: message/rfc822\n\n");
	sb_adds(&m, "Subject: x\n\n550 5.1.1 x@example.com\n");
	ok(bounce_parse(m.buf, m.len, SECRET, NULL, &r) == 0 && r.kind == BOUNCE_UNKNOWN,
	   "5000 nested message/rfc822: unknown (%s)", r.reason);
	bounce_result_free(&r);

	/* 400 nested multiparts (under the limit): GMime copes */
	sb_reset(&m);
	sb_adds(&m, "From: MAILER-DAEMON@example.com\nMIME-Version: 1.0\n");
	for (int i = 0; i < 400; i++)
		sb_addf(&m, "Content-Type: multipart/mixed; boundary=\"b%d\"\n\n--b%d\n", i, i);
	sb_adds(&m, "Content-Type: text/plain\n\n550 5.1.1 x@example.com\n");
	ok(bounce_parse(m.buf, m.len, SECRET, NULL, &r) == 0 && r.kind == BOUNCE_UNKNOWN,
	   "400 nested multiparts: a verdict (%s: %s)", bounce_kind_name(r.kind), r.reason);
	bounce_result_free(&r);
	sb_free(&m);
	free(head);
}

int main(void)
{
	top = getenv("CRM_TOP");
	if (!top)
		top = ".";
	test_fixtures();
	test_envelope();
	test_not_messages();
	test_autoreplies();
	test_status();
	test_huge();
	return tap_done();
}
