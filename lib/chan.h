/*
 * chan.h - delivery channels of crm-send: how one rendered message reaches
 * one recipient, and what came back.
 *
 * A channel never decides policy (consent, caps, quiet hours: lib/send.c
 * does) and never touches the database; it transmits and classifies the
 * outcome so that the outbox can record it:
 *
 *   CHAN_SENT       the server took it (SMTP 250 after the final ".", HTTP
 *                   2xx); provider_id holds its reply or message id
 *   CHAN_TRANSIENT  not delivered, try again later (SMTP 4xx, HTTP 429 and
 *                   5xx, a connection that failed before the message was
 *                   complete, a timeout before that); retry_after in
 *                   seconds when the server said (Retry-After)
 *   CHAN_PERMANENT  refused for good (SMTP 5xx: a bounce; HTTP 4xx)
 *   CHAN_IN_DOUBT   the whole message went out but no answer came (the
 *                   connection dropped or timed out after SMTP's final
 *                   ".", or after an HTTP request was sent): it may have
 *                   been delivered, so it is never re-sent automatically
 */
#ifndef CRM_CHAN_H
#define CRM_CHAN_H

#include <stddef.h>
#include <curl/curl.h>

enum chan_status { CHAN_SENT, CHAN_TRANSIENT, CHAN_PERMANENT, CHAN_IN_DOUBT };

struct chan_result {
	enum chan_status status;
	int code;               /* SMTP reply or HTTP status, 0 when none */
	char provider_id[256];  /* SMTP final reply text, provider message id */
	char reason[256];       /* what went wrong, for the outbox and stderr */
	int retry_after;        /* seconds, 0 when not given */
};

const char *chan_status_name(enum chan_status s);

/* A libcurl handle for a channel (libcurl is initialised on the first
 * call): no signals; rd, hdr and dbg called with arg (VERBOSE is on, so
 * that dbg sees every byte written); the time-outs in seconds; with
 * insecure, no certificate checks; ca_file (or NULL), extra CAs. Dies
 * when libcurl cannot start. */
CURL *chan_curl_new(void *arg, curl_read_callback rd, curl_write_callback hdr,
		    curl_debug_callback dbg, long timeout, long connect_timeout, int insecure,
		    const char *ca_file);

/* ---- SMTP (libcurl) ------------------------------------------------ */

struct smtp_conf {
	const char *url;        /* smtp://host:port, smtps://host:465 */
	const char *user;       /* NULL: no AUTH */
	const char *password;
	int starttls;           /* 1: require STARTTLS on smtp:// (default when
				   the host is not localhost) */
	int insecure;           /* 1: do not verify the server certificate */
	const char *ca_file;    /* extra CA bundle, or NULL */
	long timeout;           /* seconds for one message, default 60 */
	long connect_timeout;   /* seconds, default 15 */
	int verbose;            /* libcurl protocol trace on stderr (-vvv);
				   AUTH lines are not shown */
};

struct smtp;

/* NULL after reporting a bad configuration. The connection is made on the
 * first send and reused for the next ones. */
struct smtp *smtp_open(const struct smtp_conf *c);
void smtp_close(struct smtp *s);

/* Sends msg (a complete RFC 5322 message with CRLF line ends) from
 * envelope sender from to one recipient rcpt. from and rcpt must be plain
 * addresses (no CR, LF, <, >, spaces): anything else is CHAN_PERMANENT
 * without a connection. */
void smtp_send(struct smtp *s, const char *from, const char *rcpt, const char *msg,
	       size_t len, struct chan_result *r);

/* smtp_send in two halves, for running several connections at once in a
 * curl multi handle: smtp_begin() checks the addresses (-1 and r filled
 * when one is refused: no transfer) and sets up the transfer of
 * smtp_handle(s); after libcurl finished it with rc, smtp_end() fills r.
 * msg must stay valid until then. */
int smtp_begin(struct smtp *s, const char *from, const char *rcpt, const char *msg,
	       size_t len, struct chan_result *r);
CURL *smtp_handle(const struct smtp *s);
void smtp_end(struct smtp *s, CURLcode rc, struct chan_result *r);

/* After a failed smtp_send: 1 when the failure was not about the recipient
 * (no connection, the sender or AUTH refused), so that every further
 * message would fail the same way and the run should stop. */
int smtp_last_was_sender_problem(const struct smtp *s);

#endif
