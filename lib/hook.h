/*
 * hook.h - provider callbacks (delivery receipts, bounces, complaints,
 * opens, clicks, inbound replies, opt-outs) as data-driven presets: one
 * HTTP request to crm-track's /h/NAME in, a verdict (the HTTP answer) and
 * a list of records out. This module never touches the database: the
 * server applies the records.
 *
 * THE CONFIGURATION
 *
 *     [hook.ses]
 *     preset = ses                    ; share/hooks/ses.json
 *     topic_arn = arn:aws:sns:eu-west-1:123456789012:crm-events
 *
 *     [hook.sg]
 *     preset = sendgrid
 *     public_key = MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE...
 *
 *     [hook.mg]
 *     preset = mailgun
 *     signing_key_env = MAILGUN_SIGNING_KEY   ; a secret: from the environment
 *
 * The section is [hook.NAME]. Keys: preset (a name, looked up as
 * NAME.json in the hook directories below, or a path containing "/"),
 * and the keys the preset declares in its "config" (see share/hooks/README
 * for each preset's). A key the preset marks secret is read with
 * conf_secret(): "KEY_env = VARIABLE", or "KEY = ..." in a file only its
 * owner can read.
 *
 * Hook presets are looked up in the hooks directory of the data directory
 * (share_find(), share.h: $CRM_DATADIR, else beside the installed program,
 * else the source tree's share/, else make's DATADIR).
 *
 * THE PRESET (JSON) - see share/hooks/README for the full language:
 * "config" (keys, as share/providers), "parse" ("json" or "form"),
 * "verify" (how the sender is checked: hmac, basic, header, ecdsa, sns),
 * "envelope" ("sns": the SNS envelope, handled in C), "get" ("hub_challenge":
 * the WhatsApp verification GET, in C), "answer" (the body of a 2xx),
 * "rules" (where records come from: JSON paths into the payload, value
 * maps, and named functions in C: keyword, command, command_arg, token,
 * unix, unix_ms, iso8601, msgid, lower).
 *
 * OUTCOMES
 *
 * hook_handle() always fills out (status, content_type, body); records
 * only when status is 2xx. 401: the sender could not be verified (bad or
 * missing signature, credentials, secret token; a stale signed
 * timestamp); 403: verified but not for us (an SNS topic that is not
 * topic_arn, a wrong WhatsApp verify_token); 400: malformed (not JSON,
 * not a form, an SNS envelope without its fields, a bad SubscribeURL);
 * 405: a method the preset does not take; 413: more than HOOK_BODY_MAX
 * bytes or HOOK_MAX_RECS records. err says why in words that hold no
 * personal data (no address, phone number or payload text), for the
 * log line; with a 200 it may hold a note (a /start token refused).
 */
#ifndef CRM_HOOK_H
#define CRM_HOOK_H

#include <stddef.h>
#include <stdint.h>
#include <cJSON.h>

#include "util.h"

struct conf;

#define HOOK_BODY_MAX (4u << 20)  /* bytes of a request body */
#define HOOK_MAX_RECS 10000       /* records from one request */
#define HOOK_VALUE_MAX 1024       /* bytes of a record's field; a longer value
				     is missing (a prop's is cut) */
#define HOOK_CERT_MAX 65536       /* bytes of a signing certificate */

struct hook;                      /* a loaded preset with its config */

/* Loads the preset of section [hook.NAME] and checks it with the
 * configuration (secrets read with conf_secret(), which dies when a
 * KEY_env names an unset variable). NULL with *err a malloc'd message
 * (naming the file and key, never a secret's value) on failure. */
struct hook *hook_load(const struct conf *conf, const char *name, char **err);
void hook_free(struct hook *h);

/* The preset's file, for messages. */
const char *hook_preset_path(const struct hook *h);

struct hook_req {
	const char *method;           /* "GET", "POST" */
	const char *url;              /* full public URL of the request ([tracking]
					 url + path + "?" query), for Twilio */
	const char *query;            /* raw query string (without "?") or NULL */
	const char *(*header)(void *ud, const char *name);  /* case-insensitive; NULL:
							       none */
	void *ud;
	const char *body;             /* raw body (need not be NUL-terminated) */
	size_t len;
	const char *secret;           /* the base's secret (token checks) */
	int64_t now;                  /* unix time */
	/* GETs url into out (certificates); 0 on success. The server may
	 * cache by URL. NULL: certificates come only from the config. */
	int (*fetch)(void *ud, const char *url, struct sb *out);
};

enum hook_kind { HOOK_EVENT, HOOK_CONSENT, HOOK_BIND };

struct hook_rec {                 /* one thing to apply */
	enum hook_kind kind;
	char *event_id;    /* the provider's id for idempotency
			      ("ses:<feedbackId>:<recipient>"); always set for
			      events (a hash of the event when it has no id) */
	char *type;        /* event: delivered, bounced, deferred, complained,
			      opened, clicked, unsubscribed, failed, replied,
			      sent, subscribed, ... */
	char *occurred_at; /* "YYYY-MM-DD HH:MM:SS" UTC, or NULL for now */
	char *message_ref; /* our Message-ID (without <>) / Idempotency-Key, or the
			      provider's message id, when the payload has one */
	char *address;     /* email / E.164 phone / chat or user id, or NULL */
	char *channel;     /* email, sms, telegram, whatsapp, viber */
	int granted;       /* consent and bind: 1 grant, 0 revoke */
	int64_t customer;  /* bind: the customer id of a verified token; else 0 */
	cJSON *props;      /* object of extra fields (strings), never NULL */
};
/* HOOK_BIND: "set customer's CHANNEL address (the Telegram chat id) to
 * address, and grant CHANNEL consent". HOOK_CONSENT: grant or revoke
 * channel consent of whoever has address on channel. */

struct hook_result {
	int status;                /* HTTP status to answer */
	const char *content_type;  /* of body (static) */
	struct sb body;            /* what to answer: the challenge, TwiML, or "" */
	char *confirm_url;         /* SNS: GET this to confirm the subscription */
	struct hook_rec *recs;
	size_t nrecs;
	char err[256];             /* why a 4xx (no personal data), or a note */
};

/* Turns one request into a verdict and records. out needs no
 * initialisation; free it with hook_result_free() whatever the status.
 * Returns out->status. */
int hook_handle(const struct hook *h, const struct hook_req *rq, struct hook_result *out);
void hook_result_free(struct hook_result *r);

/* hook_handle() without the sender's verification (signature, secret,
 * SNS certificate, timestamp age): for tests and fuzzing only. */
int hook_handle_unverified(const struct hook *h, const struct hook_req *rq,
			   struct hook_result *out);

/* The names of the record kinds: "event", "consent", "bind". */
const char *hook_kind_name(enum hook_kind k);

#endif
