/*
 * chan_http.h - the HTTP channels of crm-send (sms, push, telegram,
 * whatsapp, viber, webhook): one request per message through libcurl,
 * described by a provider preset (a JSON data file) and a section of the
 * configuration.
 *
 * THE CONFIGURATION
 *
 *     [telegram]
 *     preset = telegram              ; share/providers/telegram.json
 *     token_env = CRM_TELEGRAM_TOKEN ; a secret: from the environment
 *     timeout = 30                   ; seconds for one request
 *
 * The section is named after the channel. Keys: preset (a name, looked
 * up as NAME.json in the preset directories below, or a path containing
 * "/"; default: the channel's own preset, "sms-twilio" for sms), address
 * (the customer field holding the address, overriding the preset's),
 * timeout (default 30), connect_timeout (default 10), insecure (do not
 * verify certificates), ca_file, allow_http (plain http:// to a host
 * other than the loopback), and the keys the preset declares (base_url,
 * token, account_sid, ...). A key the preset marks secret is read with
 * conf_secret(): "token_env = VARIABLE", or "token = ..." in a file only
 * its owner can read.
 *
 * Presets are looked up in the providers directory of the data
 * directory that share_dir() resolves at run time (share.h):
 * $CRM_DATADIR, else share/crmkit beside the program's bin directory (make
 * install), else the source tree's share/ when the program runs from the
 * tree it was built in, else make's DATADIR as compiled in.
 *
 * THE PRESET (JSON)
 *
 *     {
 *       "description": "Telegram Bot API: sendMessage",
 *       "address": "attr.telegram_chat_id",
 *       "config": {
 *         "base_url": { "default": "https://api.telegram.org" },
 *         "token": { "secret": true }
 *       },
 *       "method": "POST",
 *       "url": "{{base_url}}/bot{{token}}/sendMessage",
 *       "headers": { "X-Source": "crmkit" },
 *       "json": { "chat_id": "{{address}}", "text": "{{text}}" },
 *       "response": { "id": "result.message_id", "ok": "ok",
 *                     "error": "description",
 *                     "retry_after": "parameters.retry_after" },
 *       "retry": [408, 429, 500, 502, 503, 504]
 *     }
 *
 * - address: the crm-segment field holding the recipient's address
 *   ("phone", "attr.push_token", "id").
 * - config: the keys the preset reads from its section. Each is an
 *   object: "secret": true (read with conf_secret, never printed, redacted
 *   from every message), "default": "text", "required": false (a key
 *   without a default is required unless this says otherwise), "url":
 *   true (a URL, inserted into the url as it is; base_url always is, and
 *   loses any trailing "/").
 * - method: POST (default), PUT or PATCH.
 * - url: {{base_url}} (and keys marked "url") is inserted as it is;
 *   every other value is percent-encoded (all but A-Z a-z 0-9 - . _ ~
 *   and the ":" and "@" a path segment may hold). The result must be an
 *   https:// URL, or http:// to the loopback (127.0.0.0/8, localhost,
 *   [::1]) unless allow_http = yes.
 * - headers: name to value; a header whose value uses a key that is not
 *   set is left out. Values may not hold control characters. crm-send
 *   adds Content-Type and Accept (unless given here), Idempotency-Key
 *   (the outbox row's message_id, the same on every retry), User-Agent,
 *   and an empty Expect (no 100-continue round trip). In the -vvvv trace
 *   the values of Authorization and of headers that use a secret show as
 *   "***".
 * - json: the body, any JSON value; every string in it has its
 *   placeholders filled (the result is a JSON string, escaped by cJSON);
 *   numbers, booleans and null are sent as written; a member or element
 *   whose string uses a key that is not set is left out. Or
 *   form: an object of name to value, sent as
 *   application/x-www-form-urlencoded in that order (a field whose value
 *   uses an unset key is left out).
 * - basic_auth: ["{{user}}", "{{password}}"]: HTTP basic authentication.
 * - sign: { "header": "X-Crm-Signature", "key": "{{signing_secret}}",
 *   "prefix": "sha256=" }: a header with the hex HMAC-SHA256 of the body
 *   under the key (left out when the key is not set).
 * - response: where to read the reply (JSON paths: keys and array
 *   indexes joined by dots, "messages.0.id"): id, the provider's message
 *   id (numbers keep their exact digits); ok, a value that must be true
 *   in a 2xx reply, or {"path": P, "equals": V}; error, the provider's
 *   error text for messages; retry_after, seconds to wait (besides the
 *   Retry-After header).
 * - retry: the HTTP statuses that are worth retrying (default 408, 429,
 *   500, 502, 503, 504).
 *
 * Placeholders: {{address}}, {{text}} (the text part of the template,
 *   without its final line end),
 * {{subject}} (its Subject: header), {{html}} (its HTML part, or empty),
 * {{campaign}}, {{message_id}} (the outbox row's key, also sent as the
 * Idempotency-Key header), {{customer}} (the customer's external id),
 * and the config keys. A name that is none of these is an error when
 * the preset is loaded.
 *
 * OUTCOMES (see chan.h)
 *
 *   2xx (and the ok value true)          CHAN_SENT, provider_id = the id
 *                                        (or "HTTP 200" without one)
 *   a status in retry                    CHAN_TRANSIENT, retry_after from
 *                                        Retry-After (seconds or a date)
 *   any other status                     CHAN_PERMANENT, with the status
 *                                        and the provider's error text
 *   2xx whose ok value is false          CHAN_PERMANENT
 *   2xx whose reply cannot be read       CHAN_IN_DOUBT (it may have been
 *     while ok or id is wanted           delivered)
 *   no connection, or a failure before   CHAN_TRANSIENT
 *     the last byte of the request was
 *     written to the socket
 *   no reply (time-out, connection       CHAN_IN_DOUBT
 *     closed) after the last byte of
 *     the request was written
 *
 * "Written" means handed to the kernel: libcurl's debug callback reports
 * every byte of the request it wrote, and the request is complete when
 * the body's bytes (or, without a body, the header block's end) have all
 * been reported. The body is supplied by a read callback without a seek
 * callback, so libcurl can never silently re-send a request on a fresh
 * connection: a request goes out at most once per http_send.
 *
 * One CURL handle is kept for the run, so the connection is reused
 * (keep-alive).
 */
#ifndef CRM_CHAN_HTTP_H
#define CRM_CHAN_HTTP_H

#include "chan.h"

struct conf;
struct http_provider;

struct http_msg {
	const char *address;
	const char *text;
	const char *subject;          /* NULL: empty */
	const char *html;             /* NULL: empty */
	const char *idempotency_key;  /* the outbox row's message_id */
	const char *customer;         /* external id, for the webhook */
	const char *campaign;
	const char *message_id;       /* usually = idempotency_key */
};

/* Loads the preset of channel's section and checks it with the
 * configuration. With dry_run, secrets are not read and no connection is
 * prepared (http_send must not be called). NULL after reporting. */
struct http_provider *http_open(const char *channel, const struct conf *conf, int dry_run);

/* The crm-segment field that holds a recipient's address. */
const char *http_address_field(const struct http_provider *p);

/* The preset's file, for messages. */
const char *http_preset_path(const struct http_provider *p);

/* Sends one message; r is filled (see OUTCOMES above). Reasons and
 * provider ids never hold a credential: whatever the provider said goes
 * through redact_sb() (redact.h) with the section's secrets and basic
 * auth's login before it is cut to size, and so does the -vvvv trace
 * (where the configured secrets show as "***", other credentials as
 * "[redacted]"). */
void http_send(struct http_provider *p, const struct http_msg *m, struct chan_result *r);

/* http_send in two halves, for several requests at once in a curl multi
 * handle: http_begin() checks and builds the request (-1 and r filled when
 * it cannot be made: no transfer) and sets up the transfer of
 * http_handle(p); after libcurl finished it with rc, http_end() fills r.
 * m must stay valid until then. */
int http_begin(struct http_provider *p, const struct http_msg *m, struct chan_result *r);
CURL *http_handle(const struct http_provider *p);
void http_end(struct http_provider *p, CURLcode rc, struct chan_result *r);

/* After a CHAN_TRANSIENT from http_send: 1 when the failure was not about
 * the message (no connection to the provider, credentials refused: 401,
 * 407), so that every further message would fail the same way. */
int http_last_was_provider_problem(const struct http_provider *p);

void http_close(struct http_provider *p);

#endif
