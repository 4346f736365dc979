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
	int untried;            /* CHAN_TRANSIENT: the message never reached
				   the recipient's transaction (the server
				   took nothing); no attempt is spent */
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

/* ---- SMTP ------------------------------------------------------------ */

struct smtp_conf {
	const char *url;        /* smtp://host:port, smtps://host:465 */
	const char *user;       /* NULL: no AUTH */
	const char *password;
	int starttls;           /* 1: require STARTTLS on smtp:// (default when
				   the host is not localhost) */
	int insecure;           /* 1: do not verify the server certificate */
	const char *ca_file;    /* extra CA bundle, or NULL */
	long timeout;           /* seconds to wait for any one reply, or for
				   the message to be taken; default 60 */
	long connect_timeout;   /* seconds, default 15 */
	int max_per_conn;       /* messages per connection before a new one
				   (0: as many as the server takes; a 421 or a
				   close after N messages teaches N) */
	double max_hold;        /* longest the pool waits for the server to
				   take messages again (rate limits, reconnect
				   backoff) before it hands a message back
				   untried; default 120 */
	int verbose;            /* the SMTP dialogue on stderr (-vvvv); AUTH
				   lines are not shown */
};

/*
 * A pool of SMTP connections: each takes one message at a time, and all
 * of them wait for their replies at once (the final "." too), so that a
 * slow or hung reply holds one connection, never the others. libcurl
 * connects (TLS, STARTTLS, EHLO, AUTH: CURLOPT_CONNECT_ONLY); the pool
 * speaks MAIL, RCPT, DATA and the message itself over that connection,
 * one recipient per transaction. What the server does is normal, not
 * fatal:
 *
 *   - a connection that is closed, times out, answers out of step or
 *     says 421 is closed and a new one made, with a backoff after a
 *     failure before any message went through it;
 *   - a 421 or a close at MAIL after N messages on one connection teaches
 *     the pool that the server takes N per connection: it then opens a
 *     new connection after N;
 *   - a 4xx at MAIL (a rate limit, Postfix's "450 4.7.1 Error: too much
 *     mail") pauses the pool with a growing backoff, and teaches it how
 *     many messages the server takes in how long: it keeps below that;
 *   - a message whose transaction never started (the MAIL was not
 *     accepted) is tried again on the next connection, and handed back
 *     untried (CHAN_TRANSIENT with untried set) only when the pool would
 *     hold it longer than max_hold;
 *   - a 5xx at MAIL, a refused login or certificate, a server that
 *     cannot be reached at all, or six failed connections in a row stop
 *     the pool (smtp_pool_stopped()): every further message would fail.
 */
struct smtp_pool;

/* SMTP replies as they come off a connection, in pieces of any size. */
struct smtp_reply {
	char line[1024];        /* the line being read (longer ones are cut) */
	size_t len;
	int code;               /* the last complete reply: its code (0 when
				   the line was no reply), */
	char text[256];         /* and its last line, without CR LF */
};

/* Takes bytes of buf until a reply is complete (its last line: "250 ..."
 * or "250"; "250-..." goes on), and returns how many it took; *done is 1
 * when a reply is complete (r->code and r->text), else 0 and the whole of
 * buf was taken. Each line read is given to line_cb (may be NULL). */
size_t smtp_reply_feed(struct smtp_reply *r, const char *buf, size_t n, int *done,
		       void (*line_cb)(void *arg, const char *line, size_t len), void *arg);

/* NULL after reporting a bad configuration. Connections are made when
 * messages come. */
struct smtp_pool *smtp_pool_open(const struct smtp_conf *c, int nconn);
void smtp_pool_close(struct smtp_pool *p);

/* Seconds until a connection can take a message: 0 now, > 0 later (all
 * busy, or the pool paused), < 0 never (the pool stopped). */
double smtp_pool_ready_in(struct smtp_pool *p);

/* Takes msg (a complete RFC 5322 message with CRLF line ends; copied)
 * from envelope sender from to one recipient rcpt on a free connection;
 * tag comes back with its result. from and rcpt must be plain addresses
 * (no CR, LF, <, >, spaces): else -1 with r filled and nothing sent.
 * Needs smtp_pool_ready_in() == 0. */
int smtp_pool_start(struct smtp_pool *p, void *tag, const char *from, const char *rcpt,
		    const char *msg, size_t len, struct chan_result *r);

/* Messages taken and not yet given back. */
int smtp_pool_busy(const struct smtp_pool *p);

/* Drives every connection for at most timeout seconds; returns 1 with tag
 * and r filled as soon as a message is done, else 0. */
int smtp_pool_next(struct smtp_pool *p, double timeout, void **tag, struct chan_result *r);

/* Why the pool stopped (NULL while it has not). */
const char *smtp_pool_stopped(const struct smtp_pool *p);

/* Messages that needed another connection because one was lost, closed
 * or limited (for tests and -v). */
long smtp_pool_reconnects(const struct smtp_pool *p);

#endif
