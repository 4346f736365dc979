/*
 * fuzz_bounce.c - the report classifier (lib/bounce*.c) over anything:
 * never a crash, every kind and status well-formed, diagnostics short and
 * printable, and an outbox row only from a token that checks: with no
 * secret there is never one, and with the fuzz secret the row's token is
 * in the input (checked when no part is base64 or quoted-printable, where
 * it could hide encoded). The seeds (tests/fuzz/corpus/bounce) are the
 * fixtures of tests/fixtures/bounces with their @TOKEN@ made with the
 * secret below for row 1234.
 */
#include "bounce.h"
#include "bounce_int.h"
#include "fuzz.h"
#include "token.h"
#include "util.h"

#define FUZZ_SECRET "fuzz secret 0123456789abcdef"

static void check_result(const struct bounce_result *r, int rc, const char *s, size_t size)
{
	FZ_CHECK((unsigned)r->kind <= BOUNCE_UNKNOWN, "kind %d", (int)r->kind);
	FZ_CHECK(strcmp(bounce_kind_name(r->kind), "?"), "kind %d has no name", (int)r->kind);
	FZ_CHECK(memchr(r->reason, 0, sizeof r->reason) && r->reason[0], "no reason");
	FZ_CHECK(rc == 0 || (rc == -1 && r->kind == BOUNCE_UNKNOWN && !r->nrcpts), "rc %d", rc);
	FZ_CHECK(r->outbox_id >= 0, "outbox_id %lld", (long long)r->outbox_id);
	FZ_CHECK(!(r->outbox_id && r->token_bad), "a row and a bad token");
	FZ_CHECK(r->nrcpts <= BOUNCE_RCPTS_MAX, "%zu recipients", r->nrcpts);
	FZ_CHECK(!r->message_id || (r->message_id[0] == '<' &&
				    r->message_id[strlen(r->message_id) - 1] == '>'),
		 "message_id %s", r->message_id);
	for (size_t i = 0; i < r->nrcpts; i++) {
		const struct bounce_rcpt *rc_ = &r->rcpts[i];
		FZ_CHECK(rc_->address, "recipient %zu without an address", i);
		FZ_CHECK((unsigned)rc_->kind <= BOUNCE_UNKNOWN, "recipient kind %d", (int)rc_->kind);
		FZ_CHECK(!rc_->status[0] || bounce_status_ok(rc_->status), "status %s", rc_->status);
		if (rc_->diagnostic) {
			size_t n = strlen(rc_->diagnostic);
			FZ_CHECK(n <= BOUNCE_DIAG_MAX, "diagnostic of %zu bytes", n);
			for (size_t k = 0; k < n; k++)
				FZ_CHECK((unsigned char)rc_->diagnostic[k] >= 0x20 &&
					 rc_->diagnostic[k] != 0x7f, "a control in the diagnostic");
		}
	}
	if (r->outbox_id && !fz_memmem(s, size, "ase64") && !fz_memmem(s, size, "ASE64") &&
	    !fz_memmem(s, size, "uoted") && !fz_memmem(s, size, "UOTED") &&
	    !fz_memmem(s, size, "=?") && !fz_memmem(s, size, "uuencode")) {
		char t[TOKEN_MAX];
		size_t n = token_make(FUZZ_SECRET, "bounce", r->outbox_id, t);
		int found = 0;
		for (size_t i = 0; i + n <= size && !found; i++)
			found = !ascii_ncasecmp(s + i, t, n);
		FZ_CHECK(found, "row %lld without its token in the input", (long long)r->outbox_id);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bounce_result r;
	const char *s = (const char *)data;
	int rc;

	rc = bounce_parse(s, size, FUZZ_SECRET, NULL, &r);
	check_result(&r, rc, s, size);
	enum bounce_kind k = r.kind;
	bounce_result_free(&r);

	/* the same again: no state kept between messages */
	rc = bounce_parse(s, size, FUZZ_SECRET, NULL, &r);
	FZ_CHECK(r.kind == k, "a second parse says %s, the first %s", bounce_kind_name(r.kind),
		 bounce_kind_name(k));
	bounce_result_free(&r);

	/* without a secret no token is ever accepted */
	rc = bounce_parse(s, size, NULL, "bounces+1234-0123456789abcdef@shop.example", &r);
	check_result(&r, rc, s, size);
	FZ_CHECK(r.outbox_id == 0 && !r.token_bad, "a row or a bad token without a secret");
	bounce_result_free(&r);
	return 0;
}
