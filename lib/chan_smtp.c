/*
 * SMTP delivery: a pool of connections (see chan.h). libcurl makes each
 * connection (TCP, TLS or STARTTLS, EHLO, AUTH) in connect-only mode, in
 * a multi handle so that no connection waits for another; the pool then
 * speaks the mail transaction itself, one recipient per transaction,
 * over curl_easy_send() and curl_easy_recv(), and waits for every
 * connection's reply at once. libcurl's own SMTP transfer cannot: it
 * waits for the reply to the final "." inside its done phase, blocking
 * every other transfer of the multi handle, and after a time-out it
 * reuses the connection, whose late reply then answers the next command.
 *
 * The outcome of a message is classified from how far it got (RFC 1047):
 * once the final "." was handed to the connection, a lost or late reply
 * means the message may have been delivered (CHAN_IN_DOUBT); before it,
 * the server cannot have delivered anything (RFC 5321 4.1.1.4).
 */
#include "chan.h"

#include <ctype.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#include "diag.h"
#include "redact.h"
#include "util.h"

/* failed connections in a row (no message went through) that stop the
 * pool, and the first backoff after one (doubled each time) */
#define MAX_CONNECT_FAILURES 6
#define FIRST_BACKOFF 0.5
#define MAX_BACKOFF 60.0
/* accepted messages remembered to keep below a learnt rate */
#define RATE_RING 4096

enum state {
	C_DOWN,        /* no connection */
	C_CONNECTING,  /* libcurl is connecting (in the multi handle) */
	C_IDLE,        /* connected, no transaction */
	C_MAIL,        /* MAIL FROM sent, waiting for its reply */
	C_RCPT,
	C_DATA,
	C_BODY,        /* 354 came: sending the message and the final "." */
	C_DOT,         /* all sent, waiting for the reply to "." */
	C_RSET,        /* after a refused recipient or message */
	C_QUIT,        /* QUIT sent (after max_per_conn messages) */
};

static const char *const verbs[] = {
	"", "", "", "MAIL", "RCPT", "DATA", "the message", "the final \".\"", "RSET", "QUIT",
};

struct conn {
	struct smtp_pool *p;
	int idx;
	CURL *curl;
	curl_socket_t fd;
	enum state st;
	double deadline;        /* for the reply (or the body) awaited */
	double not_before;      /* no new connection before this time */
	int nmsgs;              /* messages whose MAIL this connection took */

	/* the connect phase, as libcurl's header callback sees it */
	int conn_code;          /* last reply code */
	char conn_reply[256];
	char conn_cmd[16];      /* the command it answered */
	int in_auth;
	int smtputf8, size_ok, eightbit; /* EHLO extensions */
	char err[CURL_ERROR_SIZE];

	/* replies: the code and last line of the last one */
	struct smtp_reply rp;
	int code;
	char reply[256];

	/* what is to be written, and how much of it is */
	struct sb out;
	size_t outoff;

	/* the message: tag, addresses, dot-stuffed text ending in CRLF.CRLF */
	int busy;
	void *tag;
	char from[300], rcpt[300];
	struct sb body;
	int body8;              /* 8-bit bytes in the message */
	int done;               /* finished: result is its outcome */
	struct chan_result result;
};

struct smtp_pool {
	struct smtp_conf c;
	struct redact red;      /* the login, in every form a reply may echo */
	CURLM *multi;
	struct conn *conns;
	int n;
	int connected_once;     /* some connection was ever made */
	int failures;           /* connections failed in a row */
	double backoff;         /* the next connection backoff */
	long reconnects;
	char stop[256];

	/* learnt limits */
	int per_conn;           /* messages per connection, 0: none known */
	double pause_until;     /* no MAIL before this (a 4xx at MAIL) */
	int npause;             /* pauses since the last refusal after a success */
	double paused_since;    /* the first of those refusals */
	char last_refusal[256];
	int rate_n;             /* at most rate_n MAILs in rate_w seconds */
	double rate_w;
	double burst_start;     /* first MAIL accepted since the last pause */
	int burst_n;            /* MAILs accepted since then */
	int paused;             /* a 4xx at MAIL is being waited out */
	double ring[RATE_RING]; /* times of the last accepted MAILs */
	long ring_n;
};

const char *chan_status_name(enum chan_status s)
{
	static const char *const n[] = { "sent", "transient", "permanent", "in_doubt" };
	return n[s];
}

CURL *chan_curl_new(void *arg, curl_read_callback rd, curl_write_callback hdr,
		    curl_debug_callback dbg, long timeout, long connect_timeout, int insecure,
		    const char *ca_file)
{
	static int inited;
	CURL *h;

	if (!inited) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			crm_die(1, "cannot initialise libcurl");
		inited = 1;
	}
	if (!(h = curl_easy_init()))
		crm_die(1, "cannot initialise libcurl");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	if (rd) {
		curl_easy_setopt(h, CURLOPT_READFUNCTION, rd);
		curl_easy_setopt(h, CURLOPT_READDATA, arg);
	}
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, hdr);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, arg);
	curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, dbg);
	curl_easy_setopt(h, CURLOPT_DEBUGDATA, arg);
	curl_easy_setopt(h, CURLOPT_VERBOSE, 1L); /* feeds dbg */
	if (timeout > 0)
		curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, connect_timeout);
	if (insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, ca_file);
	return h;
}

/* ---- the connect phase (libcurl) ----------------------------------------- */

static int reply_code(const char *buf, size_t len)
{
	if (len < 3 || !isdigit((unsigned char)buf[0]) || !isdigit((unsigned char)buf[1]) ||
	    !isdigit((unsigned char)buf[2]))
		return 0;
	return (buf[0] - '0') * 100 + (buf[1] - '0') * 10 + (buf[2] - '0');
}

/* Every reply line of the connect phase: the greeting, EHLO's extensions,
 * STARTTLS and AUTH. */
static size_t header_cb(char *buf, size_t size, size_t nitems, void *arg)
{
	struct conn *k = arg;
	size_t n = size * nitems, len = n;
	int code;

	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	if (!(code = reply_code(buf, len)))
		return n;
	k->conn_code = code;
	snprintf(k->conn_reply, sizeof(k->conn_reply), "%.*s", (int)(len > 255 ? 255 : len), buf);
	if (!strcmp(k->conn_cmd, "EHLO") && code == 250 && len > 4) {
		const char *e = buf + 4;
		size_t el = len - 4;
		if (el >= 8 && !ascii_ncasecmp(e, "SMTPUTF8", 8))
			k->smtputf8 = 1;
		else if (el >= 4 && !ascii_ncasecmp(e, "SIZE", 4))
			k->size_ok = 1;
		else if (el >= 8 && !ascii_ncasecmp(e, "8BITMIME", 8))
			k->eightbit = 1;
	}
	if (k->in_auth && (code < 300 || code >= 400))
		k->in_auth = 0;
	return n;
}

static void vlog(struct conn *k, const char *dir, const char *s, size_t n)
{
	struct sb b = SB_INIT;

	if (!k->p->c.verbose)
		return;
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	sb_add(&b, s, n);
	redact_sb(&b, &k->p->red);
	fprintf(stderr, "%d%s %s\n", k->idx, dir, b.buf ? b.buf : "");
	sb_free(&b);
}

/* Watches the commands libcurl sends while connecting (to know what a
 * reply answers) and, with -vvvv, prints the dialogue, never AUTH. */
static int debug_cb(CURL *h, curl_infotype type, char *data, size_t size, void *arg)
{
	struct conn *k = arg;
	int verbose = k->p->c.verbose;
	(void)h;

	if (type == CURLINFO_HEADER_OUT) {
		size_t i = 0;
		if (k->in_auth) {	/* credentials: never look at them */
			if (verbose)
				fprintf(stderr, "%d> (credentials)\n", k->idx);
			return 0;
		}
		while (i < size && i < sizeof(k->conn_cmd) - 1 && isalpha((unsigned char)data[i]))
			i++;
		if (i > 0) {
			for (size_t j = 0; j < i; j++)
				k->conn_cmd[j] = (char)toupper((unsigned char)data[j]);
			k->conn_cmd[i] = 0;
			if (!strcmp(k->conn_cmd, "AUTH"))
				k->in_auth = 1;
		}
		if (verbose)
			fprintf(stderr, "%d> %.*s", k->idx, k->in_auth ? 5 : (int)size,
				k->in_auth ? "AUTH\n" : data);
	} else if (type == CURLINFO_HEADER_IN && verbose) {
		vlog(k, "<", data, size);
	} else if (type == CURLINFO_TEXT && verbose && size > 0 && strncmp(data, "reached ", 8)) {
		vlog(k, "*", data, size);
	}
	return 0;
}

/* ---- the pool ------------------------------------------------------------- */

struct smtp_pool *smtp_pool_open(const struct smtp_conf *c, int nconn)
{
	struct smtp_pool *p;

	if (!c->url || !*c->url) {
		crm_error("no SMTP server: set url in the [smtp] section of the configuration");
		return NULL;
	}
	if (strncmp(c->url, "smtp://", 7) && strncmp(c->url, "smtps://", 8)) {
		crm_error("[smtp] url must start with smtp:// or smtps://");
		return NULL;
	}
	p = xcalloc(1, sizeof(*p));
	p->c = *c;
	if (p->c.timeout <= 0)
		p->c.timeout = 60;
	if (p->c.connect_timeout <= 0)
		p->c.connect_timeout = 15;
	if (p->c.max_hold <= 0)
		p->c.max_hold = 120;
	p->per_conn = c->max_per_conn > 0 ? c->max_per_conn : 0;
	redact_init(&p->red);
	redact_add_login(&p->red, c->user, c->password);
	p->n = nconn < 1 ? 1 : nconn;
	p->conns = xcalloc((size_t)p->n, sizeof(*p->conns));
	p->backoff = FIRST_BACKOFF;
	for (int i = 0; i < p->n; i++) {
		p->conns[i].p = p;
		p->conns[i].idx = i + 1;
		p->conns[i].fd = CURL_SOCKET_BAD;
		sb_init(&p->conns[i].out);
		sb_init(&p->conns[i].body);
	}
	/* libcurl is initialised with the first handle */
	curl_easy_cleanup(chan_curl_new(NULL, NULL, NULL, NULL, 0, 0, 0, NULL));
	if (!(p->multi = curl_multi_init()))
		crm_die(1, "cannot initialise libcurl");
	return p;
}

static void conn_drop(struct conn *k)
{
	if (k->curl) {
		curl_multi_remove_handle(k->p->multi, k->curl);
		curl_easy_cleanup(k->curl);
	}
	k->curl = NULL;
	k->fd = CURL_SOCKET_BAD;
	k->st = C_DOWN;
	k->nmsgs = 0;
	k->rp.len = 0;
	sb_reset(&k->out);
	k->outoff = 0;
}

void smtp_pool_close(struct smtp_pool *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->n; i++) {
		struct conn *k = &p->conns[i];
		if (k->st == C_IDLE) {	/* say goodbye, without waiting */
			size_t sent;
			curl_easy_send(k->curl, "QUIT\r\n", 6, &sent);
		}
		conn_drop(k);
		sb_free(&k->out);
		sb_free(&k->body);
	}
	curl_multi_cleanup(p->multi);
	redact_free(&p->red);
	free(p->conns);
	free(p);
}

const char *smtp_pool_stopped(const struct smtp_pool *p)
{
	return p->stop[0] ? p->stop : NULL;
}

long smtp_pool_reconnects(const struct smtp_pool *p)
{
	return p->reconnects;
}

int smtp_pool_busy(const struct smtp_pool *p)
{
	int b = 0;
	for (int i = 0; i < p->n; i++)
		b += p->conns[i].busy;
	return b;
}

/* MAILs accepted in the last w seconds. */
static int ring_count(const struct smtp_pool *p, double now, double w)
{
	int c = 0;
	for (long i = p->ring_n - 1; i >= 0 && i >= p->ring_n - RATE_RING; i--) {
		if (p->ring[i % RATE_RING] <= now - w)
			break;
		c++;
	}
	return c;
}

/* When the learnt rate lets the next MAIL go. */
static double rate_next(const struct smtp_pool *p, double now)
{
	double t = p->pause_until > now ? p->pause_until : now;

	if (p->rate_n > 0 && p->rate_n < RATE_RING && p->ring_n >= p->rate_n &&
	    ring_count(p, t, p->rate_w) >= p->rate_n) {
		/* the rate_n-th last MAIL must leave the window first */
		double oldest = p->ring[(p->ring_n - p->rate_n) % RATE_RING];
		if (oldest + p->rate_w > t)
			t = oldest + p->rate_w;
	}
	return t;
}

/* May another MAIL go now? Not before the learnt rate allows, counting
 * the MAILs still waiting for their reply; and while the pool finds out
 * whether a rate limit is over, one MAIL at a time (every MAIL refused
 * counts against the limit at servers such as Postfix). */
static int may_mail(const struct smtp_pool *p, double now)
{
	int inflight = 0;

	if (rate_next(p, now) > now)
		return 0;
	for (int i = 0; i < p->n; i++)
		inflight += p->conns[i].st == C_MAIL;
	if (p->paused && inflight)
		return 0;
	if (p->rate_n > 0 && p->rate_w > 0 &&
	    ring_count(p, now, p->rate_w) + inflight >= p->rate_n)
		return 0;
	return 1;
}

double smtp_pool_ready_in(struct smtp_pool *p)
{
	double now = now_monotonic(), best = -1;

	if (p->stop[0])
		return -1;
	for (int i = 0; i < p->n; i++) {
		struct conn *k = &p->conns[i];
		double t;
		if (k->busy)
			continue;
		t = k->st == C_DOWN && k->not_before > now ? k->not_before - now : 0;
		if (best < 0 || t < best)
			best = t;
	}
	if (best < 0)	/* all busy: as soon as one is done */
		return 0.05;
	{
		double r = rate_next(p, now) - now;
		if (r > best)
			best = r;
	}
	return best;
}


static void finish(struct conn *k, enum chan_status st, int code, int untried, const char *fmt, ...)
	CRM_FMT(5, 6);

/* The message is done with this outcome. */
static void finish(struct conn *k, enum chan_status st, int code, int untried, const char *fmt, ...)
{
	struct chan_result *r = &k->result;
	va_list ap;

	memset(r, 0, sizeof(*r));
	r->status = st;
	r->code = code;
	r->untried = untried;
	va_start(ap, fmt);
	if (st == CHAN_SENT)
		vsnprintf(r->provider_id, sizeof(r->provider_id), fmt, ap);
	else
		vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
	/* what the server said is stored and printed: never a credential
	 * it echoes */
	redact_buf(r->provider_id, sizeof(r->provider_id), &k->p->red);
	redact_buf(r->reason, sizeof(r->reason), &k->p->red);
	k->done = 1;
}

/* Sends what is queued in k->out. 0 when all of it went, 1 when the
 * socket is full (wait for POLLOUT), -1 when the connection failed. */
static int flush_out(struct conn *k)
{
	while (k->outoff < k->out.len) {
		size_t sent = 0;
		CURLcode rc = curl_easy_send(k->curl, k->out.buf + k->outoff, k->out.len - k->outoff,
					     &sent);
		if (rc == CURLE_AGAIN)
			return 1;
		if (rc != CURLE_OK) {
			snprintf(k->err, sizeof(k->err), "%s", curl_easy_strerror(rc));
			return -1;
		}
		k->outoff += sent;
	}
	sb_reset(&k->out);
	k->outoff = 0;
	return 0;
}

static void command(struct conn *k, enum state st, const char *fmt, ...) CRM_FMT(3, 4);

/* Queues one command line and waits for its reply in state st. */
static void command(struct conn *k, enum state st, const char *fmt, ...)
{
	va_list ap;
	size_t at = k->out.len;

	va_start(ap, fmt);
	sb_vaddf(&k->out, fmt, ap);
	va_end(ap);
	vlog(k, ">", k->out.buf + at, k->out.len - at);
	sb_adds(&k->out, "\r\n");
	k->st = st;
	k->deadline = now_monotonic() + (double)k->p->c.timeout;
}

/* Gives the message back to be tried on another connection later: its
 * transaction never started. */
static void requeue(struct conn *k, double delay)
{
	conn_drop(k);
	k->not_before = now_monotonic() + delay;
	k->p->reconnects++;
}

static double next_backoff(struct smtp_pool *p)
{
	double d = p->backoff;
	p->backoff = p->backoff * 2 > MAX_BACKOFF ? MAX_BACKOFF : p->backoff * 2;
	return d;
}

static void stop_pool(struct smtp_pool *p, const char *fmt, ...) CRM_FMT(2, 3);

static void stop_pool(struct smtp_pool *p, const char *fmt, ...)
{
	va_list ap;

	if (p->stop[0])
		return;
	va_start(ap, fmt);
	vsnprintf(p->stop, sizeof(p->stop), fmt, ap);
	va_end(ap);
	redact_buf(p->stop, sizeof(p->stop), &p->red);
}

/* A connection failed before this message's transaction began (no
 * connection, 421, closed at MAIL): try again on a new connection after a
 * backoff, unless that happened too often in a row. */
static void conn_failed(struct conn *k, const char *why)
{
	struct smtp_pool *p = k->p;

	if (++p->failures >= MAX_CONNECT_FAILURES)
		stop_pool(p, "%d connections in a row failed, the last: %s", p->failures, why);
	requeue(k, next_backoff(p));
	if (p->c.verbose)
		fprintf(stderr, "%d* connection failed (%s); again in %.1f s\n", k->idx, why,
			k->not_before - now_monotonic());
}

/* Starts the transaction of k's message on its connection. */
static void begin_mail(struct conn *k)
{
	char size[32] = "";
	int utf8 = 0;

	for (const char *c = k->from; *c; c++)
		utf8 |= (unsigned char)*c >= 0x80;
	for (const char *c = k->rcpt; *c; c++)
		utf8 |= (unsigned char)*c >= 0x80;
	if (utf8 && !k->smtputf8) {
		finish(k, CHAN_PERMANENT, 0, 0, "the address is not ASCII and the server does "
		       "not offer SMTPUTF8");
		return;
	}
	if (k->size_ok)
		snprintf(size, sizeof(size), " SIZE=%zu", k->body.len);
	sb_reset(&k->out);
	k->outoff = 0;
	command(k, C_MAIL, "MAIL FROM:<%s>%s%s%s", k->from, utf8 ? " SMTPUTF8" : "",
		k->body8 && k->eightbit ? " BODY=8BITMIME" : "", size);
}

static void start_connect(struct conn *k)
{
	struct smtp_pool *p = k->p;
	const struct smtp_conf *c = &p->c;

	k->curl = chan_curl_new(k, NULL, header_cb, debug_cb, 0, c->connect_timeout,
				c->insecure, c->ca_file);
	curl_easy_setopt(k->curl, CURLOPT_URL, c->url);
	curl_easy_setopt(k->curl, CURLOPT_CONNECT_ONLY, 1L);
	/* the connect phase as a whole: greeting, EHLO, STARTTLS, AUTH */
	curl_easy_setopt(k->curl, CURLOPT_TIMEOUT, (long)(c->connect_timeout + c->timeout));
	curl_easy_setopt(k->curl, CURLOPT_ERRORBUFFER, k->err);
	if (c->starttls)
		curl_easy_setopt(k->curl, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	if (c->user && *c->user) {
		curl_easy_setopt(k->curl, CURLOPT_USERNAME, c->user);
		curl_easy_setopt(k->curl, CURLOPT_PASSWORD, c->password ? c->password : "");
	}
	curl_easy_setopt(k->curl, CURLOPT_PRIVATE, (void *)k);
	k->err[0] = 0;
	k->conn_code = 0;
	k->conn_reply[0] = k->conn_cmd[0] = 0;
	k->in_auth = k->smtputf8 = k->size_ok = k->eightbit = 0;
	k->nmsgs = 0;
	k->rp.len = 0;
	if (curl_multi_add_handle(p->multi, k->curl) != CURLM_OK)
		crm_die(1, "libcurl: cannot start a connection");
	k->st = C_CONNECTING;
}

/* libcurl finished connecting k with rc. */
static void connected(struct conn *k, CURLcode rc)
{
	struct smtp_pool *p = k->p;
	char why[400];

	/* the handle stays in the multi handle until the connection is
	 * dropped: removed, libcurl would no longer find its connection for
	 * curl_easy_send() and curl_easy_recv() */
	k->st = C_DOWN;
	if (rc == CURLE_OK && curl_easy_getinfo(k->curl, CURLINFO_ACTIVESOCKET, &k->fd) == CURLE_OK &&
	    k->fd != CURL_SOCKET_BAD) {
		p->connected_once = 1;
		k->st = C_IDLE;	/* drive() starts the message */
		return;
	}
	if (k->conn_code >= 400)
		snprintf(why, sizeof(why), "%s (after %s)", k->conn_reply,
			 k->conn_cmd[0] ? k->conn_cmd : "connecting");
	else
		snprintf(why, sizeof(why), "%s", k->err[0] ? k->err : curl_easy_strerror(rc));
	/* refused for good: every connection would be */
	if ((k->conn_code >= 500 && k->conn_code < 600) || rc == CURLE_LOGIN_DENIED ||
	    rc == CURLE_USE_SSL_FAILED || rc == CURLE_PEER_FAILED_VERIFICATION ||
	    rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_CERTPROBLEM ||
	    rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_URL_MALFORMAT ||
	    (!p->connected_once && k->conn_code == 0 &&
	     (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST))) {
		stop_pool(p, "%s", why);
		conn_drop(k);
		return;
	}
	conn_failed(k, why);
}

/* Queues the dot-stuffed message (RFC 5321 4.5.2) and the final ".". */
static void stuff(struct conn *k, const char *msg, size_t len)
{
	const char *p = msg, *end = msg + len;

	sb_reset(&k->body);
	sb_grow(&k->body, len + len / 50 + 8);
	k->body8 = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl + 1 - p) : (size_t)(end - p);
		if (*p == '.')
			sb_addc(&k->body, '.');
		sb_add(&k->body, p, n);
		p += n;
	}
	for (size_t i = 0; i < len && !k->body8; i++)
		k->body8 = (unsigned char)msg[i] >= 0x80;
	if (k->body.len && (k->body.len < 2 || memcmp(k->body.buf + k->body.len - 2, "\r\n", 2)))
		sb_adds(&k->body, "\r\n");
	sb_adds(&k->body, ".\r\n");
}

/* An envelope address: what would otherwise go into the SMTP command
 * stream as it is (CR/LF included). */
static int plain_address(const char *a)
{
	const char *at = strchr(a, '@');

	if (!at || at == a || !at[1] || strlen(a) > 254)
		return 0;
	for (const unsigned char *p = (const unsigned char *)a; *p; p++)
		if (*p <= ' ' || *p == 0x7f || *p == '<' || *p == '>' || *p == '(' ||
		    *p == ')' || *p == ',' || *p == ';' || *p == '"' || *p == '\\')
			return 0;
	return 1;
}

int smtp_pool_start(struct smtp_pool *p, void *tag, const char *from, const char *rcpt,
		    const char *msg, size_t len, struct chan_result *r)
{
	struct conn *k = NULL;
	double now = now_monotonic();

	memset(r, 0, sizeof(*r));
	if (!plain_address(rcpt)) {
		r->status = CHAN_PERMANENT;
		snprintf(r->reason, sizeof(r->reason), "invalid recipient address");
		return -1;
	}
	if (!plain_address(from)) {
		r->status = CHAN_TRANSIENT;
		snprintf(r->reason, sizeof(r->reason), "invalid sender address");
		return -1;
	}
	/* a connected idle one first, then one that may connect now */
	for (int i = 0; i < p->n && !k; i++)
		if (!p->conns[i].busy && p->conns[i].st == C_IDLE)
			k = &p->conns[i];
	for (int i = 0; i < p->n && !k; i++)
		if (!p->conns[i].busy && p->conns[i].st == C_DOWN && p->conns[i].not_before <= now)
			k = &p->conns[i];
	for (int i = 0; i < p->n && !k; i++)
		if (!p->conns[i].busy)
			k = &p->conns[i];
	if (!k)
		crm_die(1, "smtp: no free connection (a bug)");
	k->busy = 1;
	k->done = 0;
	k->tag = tag;
	snprintf(k->from, sizeof(k->from), "%s", from);
	snprintf(k->rcpt, sizeof(k->rcpt), "%s", rcpt);
	stuff(k, msg, len);
	/* MAIL goes out when the connection is up and the rate allows */
	if (k->st == C_IDLE && may_mail(p, now))
		begin_mail(k);
	return 0;
}

/* The server said something nobody asked for, or a reply that does not
 * fit the command: the dialogue is out of step, the connection is of no
 * further use. */
static void out_of_step(struct conn *k)
{
	char why[320];

	snprintf(why, sizeof(why), "out-of-step reply \"%s\" to %s", k->reply, verbs[k->st]);
	switch (k->st) {
	case C_MAIL:
		conn_failed(k, why);
		return;
	case C_RCPT:
	case C_DATA:
		finish(k, CHAN_TRANSIENT, k->code, 0, "%s", why);
		break;
	case C_BODY:
	case C_DOT:
		finish(k, CHAN_IN_DOUBT, k->code, 0, "%s", why);
		break;
	default:
		break;
	}
	conn_drop(k);
}

/*
 * Learns from a MAIL refused with 4xx (not 421): the server takes so many
 * messages in so long. The first refusal gives the count (the messages
 * taken since the pool last resumed) and the first message taken after it
 * the window (from the first of those to now): from then on the pool
 * keeps to that many in any such window, which keeps it within a server
 * that counts in fixed windows of that length or less. A refusal while
 * keeping to it widens the window by half. The pauses to find the window
 * are a second each for five seconds, then double up to a minute.
 */
static void rate_limited(struct conn *k)
{
	struct smtp_pool *p = k->p;
	double now = now_monotonic(), d;

	k->st = C_IDLE;
	if (now < p->pause_until)
		return;	/* a MAIL sent before the pause began: same answer */
	if (!p->paused) {
		p->paused_since = now;
		if (p->rate_n && p->rate_w > 0)
			p->rate_w *= 1.5;
		else if (!p->rate_n && p->burst_n > 0)
			p->rate_n = p->burst_n;
		p->npause = 0;
	}
	p->paused = 1;
	snprintf(p->last_refusal, sizeof(p->last_refusal), "%s", k->reply);
	d = p->npause < 5 ? 1 : 1 << (p->npause - 4 > 6 ? 6 : p->npause - 4);
	if (d > MAX_BACKOFF)
		d = MAX_BACKOFF;
	p->npause++;
	p->pause_until = now + d;
	if (p->c.verbose)
		fprintf(stderr, "%d* the server asks us to wait (%s): pausing %.0f s\n", k->idx,
			k->reply, d);
}

/* A complete reply (its last line) came for k's state. */
static void on_reply(struct conn *k)
{
	struct smtp_pool *p = k->p;
	int c = k->code;
	double now = now_monotonic();

	switch (k->st) {
	case C_MAIL:
		if (c >= 200 && c < 300) {
			k->nmsgs++;
			p->failures = 0;
			p->backoff = FIRST_BACKOFF;
			if (p->paused) {
				/* the window: from the burst's start to now */
				if (p->rate_n && p->burst_start > 0) {
					double w = now - p->burst_start;
					if (w > p->rate_w)
						p->rate_w = w;
				}
				p->paused = 0;
				p->burst_n = 0;
			}
			if (p->burst_n++ == 0)
				p->burst_start = now;
			p->ring[p->ring_n++ % RATE_RING] = now;
			command(k, C_RCPT, "RCPT TO:<%s>", k->rcpt);
		} else if (c == 421) {
			/* the server ends this connection: after N messages,
			 * a per-connection limit */
			if (k->nmsgs > 0) {
				if (!p->per_conn || k->nmsgs < p->per_conn)
					p->per_conn = k->nmsgs;
				if (p->c.verbose)
					fprintf(stderr, "%d* %s after %d messages: a new connection "
						"every %d\n", k->idx, k->reply, k->nmsgs, p->per_conn);
				requeue(k, 0);
			} else {
				conn_failed(k, k->reply);
			}
		} else if (c >= 400 && c < 500) {
			rate_limited(k);
		} else if (c >= 500 && c < 600) {
			/* the sender refused: every message would be */
			stop_pool(p, "%s (after MAIL)", k->reply);
			finish(k, CHAN_TRANSIENT, c, 1, "%s (after MAIL)", k->reply);
			command(k, C_RSET, "RSET");
		} else {
			out_of_step(k);
		}
		break;
	case C_RCPT:
		if (c >= 200 && c < 300) {
			command(k, C_DATA, "DATA");
		} else if (c >= 400 && c < 600) {
			finish(k, c >= 500 ? CHAN_PERMANENT : CHAN_TRANSIENT, c, 0, "%s (after RCPT)",
			       k->reply);
			if (c == 421)
				conn_drop(k);
			else
				command(k, C_RSET, "RSET");
		} else {
			out_of_step(k);
		}
		break;
	case C_DATA:
		if (c == 354) {
			sb_reset(&k->out);
			k->outoff = 0;
			sb_add(&k->out, k->body.buf, k->body.len);
			vlog(k, ">", "(the message)", 13);
			k->st = C_BODY;
			k->deadline = now + (double)p->c.timeout;
		} else if (c >= 400 && c < 600) {
			finish(k, c >= 500 ? CHAN_PERMANENT : CHAN_TRANSIENT, c, 0, "%s (after DATA)",
			       k->reply);
			if (c == 421)
				conn_drop(k);
			else
				command(k, C_RSET, "RSET");
		} else {
			out_of_step(k);
		}
		break;
	case C_BODY:
		/* a reply before the whole message went: the server may
		 * have stored what it had */
		finish(k, CHAN_IN_DOUBT, c, 0, "the server answered \"%s\" before the whole "
		       "message was sent", k->reply);
		conn_drop(k);
		break;
	case C_DOT:
		if (c >= 200 && c < 300)
			finish(k, CHAN_SENT, c, 0, "%s", k->reply);
		else if (c >= 400 && c < 600)
			finish(k, c >= 500 ? CHAN_PERMANENT : CHAN_TRANSIENT, c, 0, "%s", k->reply);
		else {
			out_of_step(k);
			break;
		}
		if (c == 421)
			conn_drop(k);
		else if (p->per_conn && k->nmsgs >= p->per_conn)
			command(k, C_QUIT, "QUIT");
		else
			k->st = C_IDLE;
		break;
	case C_RSET:
		if (c >= 200 && c < 300)
			k->st = C_IDLE;
		else
			conn_drop(k);
		break;
	case C_QUIT:
		conn_drop(k);
		break;
	default:
		/* nothing was asked */
		out_of_step(k);
		break;
	}
}

/* The connection broke in k's state: closed or failed (closed), or no
 * reply in time, as why says. The connection is never used again: a late
 * reply would answer the next command. */
static void conn_broke(struct conn *k, const char *why, int closed)
{
	switch (k->st) {
	case C_MAIL:
		/* closed at MAIL after N messages: a per-connection limit */
		if (closed && k->nmsgs > 0) {
			if (!k->p->per_conn || k->nmsgs < k->p->per_conn)
				k->p->per_conn = k->nmsgs;
			requeue(k, 0);
		} else {
			conn_failed(k, why);
		}
		return;
	case C_RCPT:
	case C_DATA:
		finish(k, CHAN_TRANSIENT, 0, 0, "%s (after %s)", why, verbs[k->st]);
		break;
	case C_BODY:
		/* the final "." never went: nothing can be delivered */
		finish(k, CHAN_TRANSIENT, 0, 0, "%s (while sending the message)", why);
		break;
	case C_DOT:
		finish(k, CHAN_IN_DOUBT, 0, 0, "no reply after the message was sent: %s", why);
		break;
	default:
		break;
	}
	conn_drop(k);
}

static void on_lost(struct conn *k, const char *why)
{
	char msg[320];

	snprintf(msg, sizeof(msg), "connection lost: %s", why);
	conn_broke(k, msg, 1);
}

size_t smtp_reply_feed(struct smtp_reply *r, const char *buf, size_t n, int *done,
		       void (*line_cb)(void *arg, const char *line, size_t len), void *arg)
{
	for (size_t i = 0; i < n; i++) {
		size_t len;
		if (buf[i] != '\n') {
			if (r->len < sizeof(r->line) - 1)
				r->line[r->len++] = buf[i];
			continue;
		}
		len = r->len;
		r->len = 0;
		if (len && r->line[len - 1] == '\r')
			len--;
		if (line_cb)
			line_cb(arg, r->line, len);
		/* "250-..." continues; "250 ..." or "250" ends */
		if (len > 3 && r->line[3] == '-' && reply_code(r->line, len))
			continue;
		r->code = reply_code(r->line, len);
		snprintf(r->text, sizeof(r->text), "%.*s", (int)(len > 255 ? 255 : len), r->line);
		/* a cut line keeps no CR of its own */
		for (char *c = r->text; *c; c++)
			if (*c == '\r')
				*c = ' ';
		*done = 1;
		return i + 1;
	}
	*done = 0;
	return n;
}

static void log_line(void *arg, const char *line, size_t len)
{
	vlog(arg, "<", line, len);
}

/* Reads what came on k; each complete reply goes to on_reply(). */
static void on_readable(struct conn *k)
{
	char buf[4096];

	for (;;) {
		size_t n = 0, off = 0;
		CURLcode rc = curl_easy_recv(k->curl, buf, sizeof(buf), &n);
		if (rc == CURLE_AGAIN)
			return;
		if (rc != CURLE_OK || n == 0) {
			on_lost(k, rc != CURLE_OK ? curl_easy_strerror(rc) : "closed by the server");
			return;
		}
		while (off < n && k->st != C_DOWN) {
			int done;
			off += smtp_reply_feed(&k->rp, buf + off, n - off, &done, log_line, k);
			if (!done)
				break;
			k->code = k->rp.code;
			memcpy(k->reply, k->rp.text, sizeof(k->reply));
			if (!k->code || k->st == C_IDLE || k->st == C_DOWN) {
				out_of_step(k);
				return;
			}
			on_reply(k);
		}
		if (k->st == C_DOWN)
			return;
	}
}

/* k's reply did not come in time. */
static void on_timeout(struct conn *k)
{
	char why[64];

	snprintf(why, sizeof(why), "no reply to %s within %ld s", verbs[k->st], k->p->c.timeout);
	conn_broke(k, why, 0);
}

/* Moves every connection on as far as it goes without waiting. */
static void drive(struct smtp_pool *p)
{
	double now = now_monotonic();

	/* a server that refuses every MAIL for that long will go on */
	if (p->paused && now - p->paused_since > p->c.max_hold)
		stop_pool(p, "the server has refused every message for %.0f s, the last time: %s",
			  now - p->paused_since, p->last_refusal);

	for (int i = 0; i < p->n; i++) {
		struct conn *k = &p->conns[i];

		if (p->stop[0] && k->busy && !k->done &&
		    (k->st == C_DOWN || k->st == C_CONNECTING || k->st == C_IDLE)) {
			/* its transaction never began */
			finish(k, CHAN_TRANSIENT, 0, 1, "not tried: %s", p->stop);
			continue;
		}
		if (k->busy && !k->done && k->st == C_DOWN && k->not_before <= now) {
			start_connect(k);
			continue;
		}
		if (k->busy && !k->done && k->st == C_DOWN &&
		    k->not_before - now > p->c.max_hold) {
			finish(k, CHAN_TRANSIENT, 0, 1, "the server could not be reached again "
			       "within %.0f s", p->c.max_hold);
			k->result.retry_after = (int)(k->not_before - now + 1);
			continue;
		}
		if (k->busy && !k->done && k->st == C_IDLE) {
			double t = rate_next(p, now);
			if (t <= now) {
				if (may_mail(p, now))
					begin_mail(k);
			}
			else if (t - now > p->c.max_hold) {
				finish(k, CHAN_TRANSIENT, 0, 1, "the server asks us to wait longer "
				       "than %.0f s (%s)", p->c.max_hold, k->reply);
				k->result.retry_after = (int)(t - now + 1);
			}
		}
		if (k->st > C_IDLE && k->outoff < k->out.len) {
			int rc = flush_out(k);
			if (rc < 0)
				on_lost(k, k->err);
			else if (rc == 0 && k->st == C_BODY) {
				/* the final "." is out: from now on in doubt */
				k->st = C_DOT;
				k->deadline = now + (double)p->c.timeout;
			}
		}
		if (k->st > C_IDLE && k->st != C_CONNECTING && now >= k->deadline)
			on_timeout(k);
	}
}

static int take_done(struct smtp_pool *p, void **tag, struct chan_result *r)
{
	for (int i = 0; i < p->n; i++) {
		struct conn *k = &p->conns[i];
		if (k->busy && k->done) {
			*tag = k->tag;
			*r = k->result;
			k->busy = k->done = 0;
			k->tag = NULL;
			return 1;
		}
	}
	return 0;
}

int smtp_pool_next(struct smtp_pool *p, double timeout, void **tag, struct chan_result *r)
{
	double end = now_monotonic() + timeout;

	for (;;) {
		struct curl_waitfd fds[64];
		struct conn *of[64];
		unsigned nfd = 0;
		double now, wake;
		int running, left;
		CURLMsg *msg;

		drive(p);
		if (take_done(p, tag, r))
			return 1;
		now = now_monotonic();
		if (now >= end)
			return 0;
		wake = end;
		for (int i = 0; i < p->n; i++) {
			struct conn *k = &p->conns[i];
			if (k->st > C_IDLE && k->deadline < wake)
				wake = k->deadline;
			if (k->busy && k->st == C_DOWN && k->not_before < wake)
				wake = k->not_before;
			if (k->busy && k->st == C_IDLE) {
				/* (when the rate allows now but may_mail() does
				 * not, a reply is awaited) */
				double t = rate_next(p, now);
				if (t > now && t < wake)
					wake = t;
			}
			if (k->fd != CURL_SOCKET_BAD && k->st >= C_IDLE && nfd < 64) {
				fds[nfd].fd = k->fd;
				fds[nfd].events = CURL_WAIT_POLLIN;
				if (k->outoff < k->out.len)
					fds[nfd].events |= CURL_WAIT_POLLOUT;
				fds[nfd].revents = 0;
				of[nfd++] = k;
			}
		}
		{
			int ms = (int)((wake - now) * 1000) + 1;
			if (ms < 0)
				ms = 0;
			if (curl_multi_poll(p->multi, fds, nfd, ms, NULL) != CURLM_OK)
				sleep_seconds(0.01);	/* poll() failed: do not spin */
		}
		if (curl_multi_perform(p->multi, &running) != CURLM_OK)
			crm_die(1, "libcurl: the connections failed");
		while ((msg = curl_multi_info_read(p->multi, &left))) {
			struct conn *k = NULL;
			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&k);
			connected(k, msg->data.result);	/* msg is gone now */
		}
		for (unsigned i = 0; i < nfd; i++) {
			struct conn *k = of[i];
			if (k->fd != fds[i].fd || k->st < C_IDLE)
				continue;	/* dropped meanwhile */
			if (fds[i].revents & (CURL_WAIT_POLLIN | CURL_WAIT_POLLPRI))
				on_readable(k);
		}
	}
}
