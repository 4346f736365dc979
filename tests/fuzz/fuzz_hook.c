/*
 * fuzz_hook.c - the payload side of provider callbacks (lib/hook_map.c,
 * lib/hook.c) with the sender's verification bypassed
 * (hook_handle_unverified): the first byte picks a preset of share/hooks
 * (and, for the WhatsApp preset, a GET with the rest as its query), the
 * rest is the body. Properties: no crash or leak; a status that is 200 or
 * a 4xx; no record unless 200; every event has an id and a type, every
 * consent and bind a channel and an address; fields within
 * HOOK_VALUE_MAX; times as "YYYY-MM-DD HH:MM:SS"; no record when the
 * body is not what the preset parses.
 */
#include "fuzz.h"
#include "conf.h"
#include "hook.h"
#include "util.h"

static const char *const confs[] = {
	"[hook.p]\npreset = ses\ntopic_arn = *\n",
	"[hook.p]\npreset = mailgun\nsigning_key = k\n",
	"[hook.p]\npreset = postmark\nuser = u\npassword = p\n",
	"[hook.p]\npreset = twilio\nauth_token = t\n",
	"[hook.p]\npreset = telegram\nsecret_token = s\n",
	"[hook.p]\npreset = whatsapp\napp_secret = a\nverify_token = v\n",
	"[hook.p]\npreset = viber\nauth_token = t\n",
	"[hook.p]\npreset = sendgrid\npublic_key = MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE4VXI8QhNY0z4gWsTyl2hnP1ae/e7zP5ylkfNYC4LNanRhFlH30Ygh+aVTcVvs9xi/0IKG4vAD0CEmydiukWDcA==\n",
};
#define NPRESETS (sizeof(confs) / sizeof(confs[0]))

static struct hook *hooks[NPRESETS];
static struct conf *cfs[NPRESETS];

static int is_time(const char *s)
{
	static const char pat[] = "dddd-dd-dd dd:dd:dd";
	if (strlen(s) != 19)
		return 0;
	for (int i = 0; i < 19; i++)
		if (pat[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != pat[i])
			return 0;
	return 1;
}

static void check_len(const char *s, const char *what)
{
	FZ_CHECK(!s || (strlen(s) > 0 && strlen(s) <= HOOK_VALUE_MAX), "%s of %zu bytes", what,
		 s ? strlen(s) : 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hook_req rq;
	struct hook_result r;
	size_t k;
	char *q = NULL;

	if (size < 1)
		return 0;
	k = data[0] % NPRESETS;
	if (!hooks[k]) {
		char *err = NULL;
		cfs[k] = conf_parse(confs[k], "fuzz.conf", 0600);
		hooks[k] = hook_load(cfs[k], "p", &err);
		FZ_CHECK(hooks[k], "preset %zu does not load: %s", k, err ? err : "?");
	}
	memset(&rq, 0, sizeof(rq));
	rq.method = "POST";
	rq.url = "https://crm.example.com/h/p";
	rq.body = (const char *)data + 1;
	rq.len = size - 1;
	rq.secret = "fuzz secret 0123456789abcdef";
	rq.now = 1750030100;
	if (k == 5 && (data[0] & 0x80)) {
		rq.method = "GET";
		q = fz_str(data + 1, size - 1);
		rq.query = q;
		rq.body = NULL;
		rq.len = 0;
	}
	hook_handle_unverified(hooks[k], &rq, &r);
	FZ_CHECK(r.status == 200 || (r.status >= 400 && r.status < 500), "status %d", r.status);
	FZ_CHECK(r.status == 200 || (r.nrecs == 0 && !r.confirm_url), "records with status %d",
		 r.status);
	FZ_CHECK(r.nrecs <= HOOK_MAX_RECS, "%zu records", r.nrecs);
	FZ_CHECK(r.content_type && r.body.buf, "no content type or body");
	FZ_CHECK(strlen(r.err) < sizeof(r.err), "err");
	for (size_t i = 0; i < r.nrecs; i++) {
		const struct hook_rec *x = &r.recs[i];
		FZ_CHECK(x->props && cJSON_IsObject(x->props), "record %zu without props", i);
		check_len(x->event_id, "event_id");
		check_len(x->type, "type");
		check_len(x->message_ref, "message_ref");
		check_len(x->address, "address");
		check_len(x->channel, "channel");
		FZ_CHECK(!x->occurred_at || is_time(x->occurred_at), "occurred_at \"%s\"",
			 x->occurred_at);
		if (x->kind == HOOK_EVENT)
			FZ_CHECK(x->event_id && x->type, "an event without id or type");
		else
			FZ_CHECK(x->channel && x->address && (x->granted == 0 || x->granted == 1),
				 "a consent or bind without channel or address");
		if (x->kind == HOOK_BIND)
			FZ_CHECK(x->customer > 0 && x->granted == 1, "a bind without customer");
	}
	if (r.confirm_url)
		/* a scheme is case-insensitive (RFC 3986 3.1): "httPs://" is https */
		FZ_CHECK(!ascii_ncasecmp(r.confirm_url, "https://", 8), "confirm_url not https");
	hook_result_free(&r);
	free(q);
	return 0;
}
