/*
 * SMTP delivery through libcurl: one recipient per transaction, the
 * connection kept open between messages (libcurl reuses it), STARTTLS or
 * SMTPS, AUTH. The outcome is classified from the replies themselves,
 * which the header callback sees, and from how far the message got: the
 * read callback knows when the last byte was handed over, after which
 * libcurl sends the final "." and a lost reply means the message may have
 * been delivered (RFC 1047).
 */
#include "chan.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#include "diag.h"
#include "util.h"

struct smtp {
	CURL *curl;
	struct smtp_conf c;
	int verbose;

	/* per message */
	const char *data;
	size_t len, off;
	int body_done;          /* the read callback returned 0 */
	int data_ok;            /* 354: the server takes the message text */
	int reply_after_body;   /* the reply that ends the message came */
	int dot_code;           /* its code */
	int dot_early;          /* and came before the body was all read */
	char last_cmd[16];      /* verb of the last command sent */
	int in_auth;            /* between AUTH and its final reply */
	int code;               /* last reply code */
	char reply[256];        /* last reply line */
	char reply_cmd[16];     /* the command the last reply answered */
	struct curl_slist *to;  /* the envelope recipient */
	char err[CURL_ERROR_SIZE];
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
	curl_easy_setopt(h, CURLOPT_READFUNCTION, rd);
	curl_easy_setopt(h, CURLOPT_READDATA, arg);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, hdr);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, arg);
	curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, dbg);
	curl_easy_setopt(h, CURLOPT_DEBUGDATA, arg);
	curl_easy_setopt(h, CURLOPT_VERBOSE, 1L); /* feeds dbg */
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

static size_t read_cb(char *buf, size_t size, size_t nitems, void *arg)
{
	struct smtp *s = arg;
	size_t n = size * nitems, left = s->len - s->off;

	if (left == 0) {
		s->body_done = 1;
		return 0;
	}
	if (n > left)
		n = left;
	memcpy(buf, s->data + s->off, n);
	s->off += n;
	return n;
}

/* Every server reply line comes here. Multi-line replies ("250-...") keep
 * the last line, which carries the final code. */
static size_t header_cb(char *buf, size_t size, size_t nitems, void *arg)
{
	struct smtp *s = arg;
	size_t n = size * nitems, len = n;

	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	if (len >= 3 && isdigit((unsigned char)buf[0]) && isdigit((unsigned char)buf[1]) &&
	    isdigit((unsigned char)buf[2])) {
		int code = (buf[0] - '0') * 100 + (buf[1] - '0') * 10 + (buf[2] - '0');
		/* the reply to QUIT says nothing about the message; after a
		 * failure, keep the first failing reply */
		if (!strcmp(s->last_cmd, "QUIT") || s->code >= 400)
			return n;
		s->code = code;
		snprintf(s->reply, sizeof(s->reply), "%.*s", (int)(len > 255 ? 255 : len), buf);
		memcpy(s->reply_cmd, s->last_cmd, sizeof(s->reply_cmd));
		/* after 354, the next reply is the one to the final ".",
		 * even one libcurl sent before the whole body (seen when
		 * send() and poll() fail under fault injection) */
		if (s->data_ok && !s->reply_after_body) {
			s->reply_after_body = 1;
			s->dot_code = code;
			s->dot_early = !s->body_done;
		}
		if (code == 354 && !strcmp(s->last_cmd, "DATA"))
			s->data_ok = 1;
		if (s->in_auth && (s->code < 300 || s->code >= 400))
			s->in_auth = 0;
	}
	return n;
}

/* Watches the commands going out (to know what a reply answers) and, with
 * -vvv, prints the dialogue, never the AUTH exchange. */
static int debug_cb(CURL *h, curl_infotype type, char *data, size_t size, void *arg)
{
	struct smtp *s = arg;
	(void)h;

	if (type == CURLINFO_HEADER_OUT) {
		size_t i = 0;
		/* within AUTH, lines are credentials: never look at them */
		if (s->in_auth) {
			if (s->verbose)
				fputs("> (credentials)\n", stderr);
			return 0;
		}
		while (i < size && i < sizeof(s->last_cmd) - 1 && isalpha((unsigned char)data[i]))
			i++;
		if (i > 0) {
			memcpy(s->last_cmd, data, i);
			s->last_cmd[i] = 0;
			for (size_t k = 0; k < i; k++)
				s->last_cmd[k] = (char)toupper((unsigned char)s->last_cmd[k]);
			if (!strcmp(s->last_cmd, "AUTH"))
				s->in_auth = 1;
		}
		if (s->verbose)
			fprintf(stderr, "> %.*s", s->in_auth ? 5 : (int)size,
				s->in_auth ? "AUTH\n" : data);	/* AUTH PLAIN carries them too */
	} else if (type == CURLINFO_HEADER_IN && s->verbose) {
		fprintf(stderr, "< %.*s", (int)size, data);
	} else if (type == CURLINFO_TEXT && s->verbose) {
		fprintf(stderr, "* %.*s", (int)size, data);
	}
	return 0;
}

struct smtp *smtp_open(const struct smtp_conf *c)
{
	struct smtp *s;

	if (!c->url || !*c->url) {
		crm_error("no SMTP server: set url in the [smtp] section of the configuration");
		return NULL;
	}
	if (strncmp(c->url, "smtp://", 7) && strncmp(c->url, "smtps://", 8)) {
		crm_error("[smtp] url must start with smtp:// or smtps://");
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->c = *c;
	s->verbose = c->verbose;
	s->curl = chan_curl_new(s, read_cb, header_cb, debug_cb, c->timeout > 0 ? c->timeout : 60L,
				c->connect_timeout > 0 ? c->connect_timeout : 15L, c->insecure,
				c->ca_file);
	curl_easy_setopt(s->curl, CURLOPT_URL, c->url);
	curl_easy_setopt(s->curl, CURLOPT_UPLOAD, 1L);
	if (c->starttls)
		curl_easy_setopt(s->curl, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	if (c->user && *c->user) {
		curl_easy_setopt(s->curl, CURLOPT_USERNAME, c->user);
		curl_easy_setopt(s->curl, CURLOPT_PASSWORD, c->password ? c->password : "");
	}
	return s;
}

void smtp_close(struct smtp *s)
{
	if (!s)
		return;
	curl_easy_cleanup(s->curl);
	curl_slist_free_all(s->to);
	free(s);
}

/* An envelope address: what libcurl would otherwise pass into the SMTP
 * command stream as it is (CR/LF included). */
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

int smtp_begin(struct smtp *s, const char *from, const char *rcpt, const char *msg,
	       size_t len, struct chan_result *r)
{
	char buf[300];

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
	s->data = msg;
	s->len = len;
	s->off = 0;
	s->body_done = s->data_ok = s->reply_after_body = s->dot_code = s->dot_early = 0;
	s->code = 0;
	s->reply[0] = s->last_cmd[0] = s->reply_cmd[0] = 0;
	s->in_auth = 0;
	s->err[0] = 0;

	snprintf(buf, sizeof(buf), "<%s>", from);
	curl_easy_setopt(s->curl, CURLOPT_MAIL_FROM, buf);
	snprintf(buf, sizeof(buf), "<%s>", rcpt);
	curl_slist_free_all(s->to);
	s->to = curl_slist_append(NULL, buf);
	curl_easy_setopt(s->curl, CURLOPT_MAIL_RCPT, s->to);
	curl_easy_setopt(s->curl, CURLOPT_ERRORBUFFER, s->err);
	return 0;
}

CURL *smtp_handle(const struct smtp *s)
{
	return s->curl;
}

void smtp_end(struct smtp *s, CURLcode rc, struct chan_result *r)
{
	const char *err = s->err[0] ? s->err : curl_easy_strerror(rc);

	curl_slist_free_all(s->to);
	s->to = NULL;
	curl_easy_setopt(s->curl, CURLOPT_MAIL_RCPT, NULL);
	curl_easy_setopt(s->curl, CURLOPT_ERRORBUFFER, NULL);
	r->code = s->code;
	/* the server took the message once it said 2xx to the final ".",
	 * whatever libcurl met after that */
	if (((rc == CURLE_OK && s->code >= 200 && s->code < 300) ||
	     (s->dot_code >= 200 && s->dot_code < 300)) && !s->dot_early) {
		r->status = CHAN_SENT;
		r->code = s->dot_code ? s->dot_code : s->code;
		snprintf(r->provider_id, sizeof(r->provider_id), "%s", s->reply);
		return;
	}
	/* once the server said 354, it may store what it got, so without
	 * a clear answer to the whole message it may have been delivered
	 * (RFC 1047): in doubt, never retried by itself */
	if (s->dot_early) {
		r->status = CHAN_IN_DOUBT;
		snprintf(r->reason, sizeof(r->reason), "the server answered %d before the whole "
			 "message was sent: %.180s", s->dot_code, err);
		return;
	}
	if ((s->body_done || s->data_ok) && !s->reply_after_body) {
		r->status = CHAN_IN_DOUBT;
		snprintf(r->reason, sizeof(r->reason), "no reply after the message was sent: %.200s",
			 err);
		return;
	}
	if (s->code >= 500 && s->code < 600) {
		r->status = CHAN_PERMANENT;
		if (s->reply_cmd[0])
			snprintf(r->reason, sizeof(r->reason), "%.200s (after %s)", s->reply,
				 s->reply_cmd);
		else
			snprintf(r->reason, sizeof(r->reason), "%s", s->reply);
		return;
	}
	r->status = CHAN_TRANSIENT;
	if (s->code >= 400)
		snprintf(r->reason, sizeof(r->reason), "%s", s->reply);
	else
		snprintf(r->reason, sizeof(r->reason), "%.250s", err);
}

void smtp_send(struct smtp *s, const char *from, const char *rcpt, const char *msg,
	       size_t len, struct chan_result *r)
{
	if (smtp_begin(s, from, rcpt, msg, len, r) == 0)
		smtp_end(s, curl_easy_perform(s->curl), r);
}

/* For the send loop: did the last failure come from the server refusing
 * us (the sender, AUTH) rather than the recipient? Then every further
 * message would fail the same way. */
int smtp_last_was_sender_problem(const struct smtp *s)
{
	return !strcmp(s->reply_cmd, "MAIL") || !strcmp(s->reply_cmd, "AUTH") ||
	       !strcmp(s->reply_cmd, "EHLO") || !strcmp(s->reply_cmd, "HELO") ||
	       (s->code == 0 && !s->body_done);
}
