/*
 * crm-send: transmitting a claimed batch through the channel.
 */
#include "send_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "tmpl.h"
#include "token.h"


/* ---- transmitting --------------------------------------------------------- */

static void file_write(struct sender *s, struct item *it, struct chan_result *r)
{
	memset(r, 0, sizeof(*r));
	if (s->o->mbox) {
		/* mboxrd: "From " separator, LF line ends, ">From " quoting */
		const char *p = s->r.msg.buf, *end = p + s->r.msg.len;
		time_t t = (time_t)send_now(s);
		char date[64];
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm);
		fprintf(s->file, "From MAILER-DAEMON %s\n", date);
		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
			const char *q = p;
			if (len && p[len - 1] == '\r')
				len--;
			while (q < p + len && *q == '>')
				q++;
			if ((size_t)(p + len - q) >= 5 && !memcmp(q, "From ", 5))
				fputc('>', s->file);
			fwrite(p, 1, len, s->file);
			fputc('\n', s->file);
			p = nl ? nl + 1 : end;
		}
		fputc('\n', s->file);
	} else {
		struct sb j = SB_INIT;
		const struct tmpl *t = s->tpl[it->vi].t;
		struct render_ctx c = { s, it };
		struct sb v = SB_INIT;
		sb_adds(&j, "{\"id\":");
		json_quote(&j, it->ext, strlen(it->ext));
		sb_adds(&j, ",\"campaign\":");
		json_quote(&j, s->o->campaign, strlen(s->o->campaign));
		sb_adds(&j, ",\"to\":");
		if (it->address)
			json_quote(&j, it->address, strlen(it->address));
		else
			sb_adds(&j, "null");
		sb_adds(&j, ",\"message_id\":");
		json_quote(&j, it->message_id, strlen(it->message_id));
		if (it->variant) {
			sb_adds(&j, ",\"variant\":");
			json_quote(&j, it->variant, strlen(it->variant));
		}
		sb_adds(&j, ",\"headers\":{");
		for (size_t h = 0; h < tmpl_nheaders(t); h++) {
			const char *name = tmpl_header_name(t, h);
			sb_reset(&v);
			tmpl_render_header(t, h, send_lookup, &c, &v);
			sb_adds(&j, h ? "," : "");
			json_quote(&j, name, strlen(name));
			sb_addc(&j, ':');
			json_quote(&j, v.buf ? v.buf : "", v.len);
		}
		sb_adds(&j, "}");
		if (tmpl_has_text(t)) {
			sb_adds(&j, ",\"text\":");
			json_quote(&j, s->r.text.buf ? s->r.text.buf : "", s->r.text.len);
		}
		if (tmpl_has_html(t)) {
			sb_adds(&j, ",\"html\":");
			json_quote(&j, s->r.html.buf ? s->r.html.buf : "", s->r.html.len);
		}
		sb_adds(&j, "}\n");
		fwrite(j.buf, 1, j.len, s->file);
		sb_free(&j);
		sb_free(&v);
	}
	if (fflush(s->file) != 0) {
		/* not handed over: the reader went away, the disk is full */
		int e = errno ? errno : EIO;
		if (s->file == stdout)
			s->out_closed = e;
		r->status = CHAN_TRANSIENT;
		r->untried = 1;
		snprintf(r->reason, sizeof(r->reason), "%s: %s",
			 s->file == stdout ? "standard output" : s->o->output, strerror(e));
		s->stop = 1;
		snprintf(s->stop_reason, sizeof(s->stop_reason), "%s", r->reason);
		return;
	}
	r->status = CHAN_SENT;
	snprintf(r->provider_id, sizeof(r->provider_id), "%s",
		 s->file == stdout ? "stdout" : s->o->output);
}

/* Waits until --rate allows the next transmission (at most `gap` after
 * the previous one), or with nowait returns how long that would be. */
static double rate_wait(struct sender *s, int nowait)
{
	double gap, t;

	if (s->o->rate <= 0)
		return 0;
	gap = 1.0 / s->o->rate;
	t = now_monotonic();
	if (s->last_tx > 0 && t - s->last_tx < gap) {
		if (nowait)
			return gap - (t - s->last_tx);
		sleep_seconds(gap - (t - s->last_tx));
	}
	s->last_tx = now_monotonic();
	return 0;
}

/* Renders the item into b before its transfer. Returns 1 when it must be
 * transmitted, 0 when it is done already (it cannot be rendered, or a
 * dry run takes it as sent). */
static int prepare(struct sender *s, struct item *it, struct rendered *b)
{
	if (send_render(s, it, b) < 0) {
		it->status = "failed";
		return 0;
	}
	if (s->dry_run) {
		it->status = "sent";
		snprintf(it->provider, sizeof(it->provider), "dry run");
		return 0;
	}
	return 1;
}

/* Starts the HTTP request of it (rendered in b) on http (the lane's, or
 * the sender's own). Returns 0, or -1 with r filled when it was refused
 * before any transfer. */
static int begin(struct sender *s, struct http_provider *http, struct http_msg *hm,
		 struct item *it, struct rendered *b, struct chan_result *r)
{
	*hm = (struct http_msg){
		.address = it->address, .text = b->text.buf, .subject = b->subj.buf,
		.html = b->html.buf, .idempotency_key = it->message_id,
		.customer = it->ext, .campaign = s->o->campaign, .message_id = it->message_id,
	};
	return http_begin(http, hm, r);
}

/* Records the channel's outcome r in the item; a failure that every
 * further message would meet (no connection, the sender or credentials
 * refused) stops the run. */
static void outcome(struct sender *s, struct http_provider *http, struct item *it,
		    struct chan_result *r)
{
	const struct send_opts *o = s->o;

	if (r->untried) {
		/* the server took nothing of it: no attempt spent */
		it->untried = 1;
	} else if (http && r->status == CHAN_TRANSIENT && http_last_was_provider_problem(http)) {
		/* nothing of the request reached the provider */
		s->stop = 1;
		snprintf(s->stop_reason, sizeof(s->stop_reason), "%s", r->reason);
		it->untried = 1;
	}
	if (s->smtp && smtp_pool_stopped(s->smtp) && !s->stop) {
		s->stop = 1;
		snprintf(s->stop_reason, sizeof(s->stop_reason), "%s", smtp_pool_stopped(s->smtp));
	}
	if (it->untried)
		it->attempts--;	/* send_claim() counted it */
	s->transmitted++;
	snprintf(it->provider, sizeof(it->provider), "%s", r->provider_id);
	snprintf(it->reason, sizeof(it->reason), "%s", r->reason);
	switch (r->status) {
	case CHAN_SENT:
		it->status = "sent";
		break;
	case CHAN_IN_DOUBT:
		it->status = "in_doubt";
		break;
	case CHAN_PERMANENT:
		it->status = "bounced";
		it->bounce = r->code >= 500 && strstr(r->reason, "(after RCPT)") != NULL;
		if (!it->bounce)
			it->status = "failed";
		break;
	case CHAN_TRANSIENT:
		if (it->untried) {
			it->status = "deferred";
			it->next_at = send_now(s) + r->retry_after;
		} else if (it->attempts >= o->max_attempts) {
			char tmp[256];
			it->status = "failed";
			snprintf(tmp, sizeof(tmp), "gave up after %d attempts: %.200s", it->attempts,
				 r->reason);
			memcpy(it->reason, tmp, sizeof(it->reason));
		} else {
			double d = o->backoff * pow(2.0, it->attempts - 1);
			if (d > 3600)
				d = 3600;
			if (r->retry_after > d)
				d = r->retry_after;
			it->status = "deferred";
			it->next_at = send_now(s) + (int64_t)ceil(d);
		}
		break;
	}
}

/* Transmits a batch one message at a time (HTTP without --concurrency,
 * and the file channel). */
void send_transmit(struct sender *s, struct item *items, int n)
{
	for (int i = 0; i < n && !s->stop; i++) {
		struct item *it = &items[i];
		struct chan_result r;
		struct http_msg hm;

		if (!prepare(s, it, &s->r))
			continue;
		rate_wait(s, 0);
		send_mark_started(s, it);
		if (s->file)
			file_write(s, it, &r);
		else if (begin(s, s->http, &hm, it, &s->r, &r) == 0)
			http_end(s->http, curl_easy_perform(http_handle(s->http)), &r);
		outcome(s, s->http, it, &r);
	}
}

/* The envelope sender of it, where bounces go (RFC 5321): [email]
 * envelope_from, with VERP as local+TOKEN@domain, TOKEN naming the outbox
 * row (token.h, purpose "bounce"), so that a bounce names its message
 * even when it quotes nothing of it; else the From address. */
static const char *envelope(struct sender *s, const struct item *it, char *buf, size_t n)
{
	const char *at;
	char tok[TOKEN_MAX];

	if (!s->envelope_from)
		return s->r.from_addr.buf;
	if (!s->verp || !(at = strrchr(s->envelope_from, '@')))
		return s->envelope_from;
	token_make(s->secret, "bounce", it->id, tok);
	snprintf(buf, n, "%.*s+%s%s", (int)(at - s->envelope_from), s->envelope_from, tok, at);
	return buf;
}

/*
 * Transmits a batch of e-mails through the SMTP pool: every connection
 * that is free takes the next message, and the pool waits for all their
 * replies at once. Items not started when the run stops keep no status
 * (record() defers them).
 */
void send_transmit_smtp(struct sender *s, struct item *items, int n)
{
	struct smtp_pool *p = s->smtp;
	char env[320];
	int next = 0;

	for (;;) {
		double wait = 1.0, ready = 0;
		struct chan_result r;
		void *tag;

		while (next < n && !s->stop) {
			struct item *it;
			if ((ready = smtp_pool_ready_in(p)) != 0) {
				wait = ready;
				break;
			}
			if ((wait = rate_wait(s, 1)) > 0)
				break;
			it = &items[next++];
			if (!prepare(s, it, &s->r))
				continue;
			s->last_tx = now_monotonic();
			send_mark_started(s, it);
			if (smtp_pool_start(p, it, envelope(s, it, env, sizeof(env)), it->address,
					    s->r.msg.buf, s->r.msg.len, &r) < 0)
				outcome(s, NULL, it, &r);
			wait = 1.0;
		}
		if (ready < 0 || (ready > s->o->max_wait && !smtp_pool_busy(p))) {
			/* the pool stopped, or would hold the rest too long */
			if (!s->stop) {
				s->stop = 1;
				if (smtp_pool_stopped(p))
					snprintf(s->stop_reason, sizeof(s->stop_reason), "%s",
						 smtp_pool_stopped(p));
				else
					snprintf(s->stop_reason, sizeof(s->stop_reason),
						 "the server asks us to wait %.0f s, longer than "
						 "--max-wait", ready);
			}
		}
		if (!smtp_pool_busy(p)) {
			if (next >= n || s->stop)
				break;
			sleep_seconds(wait);
			continue;
		}
		if (wait <= 0 || wait > 1.0)
			wait = 1.0;
		if (smtp_pool_next(p, wait, &tag, &r))
			outcome(s, NULL, tag, &r);
	}
}

/*
 * Transmits a batch over the HTTP lanes (--concurrency): each idle lane
 * starts the next message, libcurl drives them all at once, and a lane
 * that finishes takes the next. Items not started when the run stops keep
 * no status (record() defers them).
 */
void send_transmit_lanes(struct sender *s, struct item *items, int n)
{
	int next = 0, active = 0;

	for (;;) {
		double wait = 0;
		int running;
		CURLMsg *msg;
		int left;

		for (int k = 0; k < s->nlanes && next < n && !s->stop; k++) {
			struct lane *l = &s->lanes[k];
			struct item *it;
			struct chan_result r;

			if (l->it)
				continue;
			if ((wait = rate_wait(s, 1)) > 0)
				break;
			it = &items[next++];
			if (!prepare(s, it, &l->r)) {
				k--;	/* the lane is still free */
				continue;
			}
			s->last_tx = now_monotonic();
			send_mark_started(s, it);
			if (begin(s, l->http, &l->hm, it, &l->r, &r) < 0) {
				outcome(s, l->http, it, &r);
				k--;
				continue;
			}
			curl_easy_setopt(http_handle(l->http), CURLOPT_PRIVATE, (void *)l);
			if (curl_multi_add_handle(s->multi, http_handle(l->http)) != CURLM_OK)
				crm_die(1, "libcurl: cannot start a transfer");
			l->it = it;
			active++;
		}
		if (!active) {
			if (next >= n || s->stop)
				break;
			if (wait > 0)
				sleep_seconds(wait);
			continue;
		}
		if (curl_multi_perform(s->multi, &running) != CURLM_OK)
			crm_die(1, "libcurl: the transfers failed");
		while ((msg = curl_multi_info_read(s->multi, &left))) {
			CURL *h = msg->easy_handle;
			CURLcode rc = msg->data.result;
			struct lane *l = NULL;
			struct chan_result r;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&l);
			curl_multi_remove_handle(s->multi, h);	/* msg is gone now */
			memset(&r, 0, sizeof(r));
			http_end(l->http, rc, &r);
			outcome(s, l->http, l->it, &r);
			l->it = NULL;
			active--;
		}
		if (active) {
			int ms = wait > 0 && wait < 1 ? (int)(wait * 1000) + 1 : 1000;
			if (curl_multi_poll(s->multi, NULL, 0, ms, NULL) != CURLM_OK)
				sleep_seconds(0.01);	/* poll() failed: do not spin */
		}
	}
}
