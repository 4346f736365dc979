/*
 * crm-track's server: libmicrohttpd with a pool of threads; each request
 * is checked here (its token, method, body, credentials), handed to the
 * writer (track_wr.c) and suspended until its work is committed, then
 * answered. One log line per request on stderr names the customer by id,
 * never by address.
 */
#include "track_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <microhttpd.h>

#include "db.h"
#include "diag.h"
#include "share.h"

/* the 1x1 transparent GIF */
static const unsigned char gif[] = {
	'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0x80, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff,
	0x21, 0xf9, 4, 1, 0, 0, 0, 0, 0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 0x44, 1, 0, 0x3b,
};

/* one request's state (libmicrohttpd's con_cls) */
struct req {
	int started;
	char *uri;               /* the request's URI as sent (path and query) */
	struct job job;
	struct sb body;
	int too_big;
	int queued;
	double t0;
	const char *method;
	char path[96];
	char addr[64];
};

static struct track *T;

static const char *const kinds[] = { "customers", "orders", "events", "consents" };

/* ---- configuration ---- */

static long conf_long(struct track *t, const char *key, long dflt, long min, long max)
{
	const char *v = conf_get(t->conf, "tracking", key);
	char *end;
	long n;

	if (!v)
		return dflt;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < min || n > max)
		crm_die(2, "%s: [tracking] %s: expected a whole number from %ld to %ld, not \"%s\"",
			conf_name(t->conf), key, min, max, v);
	return n;
}

static void load_conf(struct track *t)
{
	const char *sec, *key, *val;

	t->name = conf_get(t->conf, "tracking", "name");
	if (!t->name)
		t->name = "us";
	t->machine_secs = conf_long(t, "machine_seconds", 10, 0, 86400);
	for (size_t i = 0; conf_next(t->conf, &i, &sec, &key, &val);) {
		/* [topics.CHANNEL] NAME = LABEL: the consent channel CHANNEL:NAME */
		if (!ascii_ncasecmp(sec, "topics.", 7) && sec[7]) {
			struct sb name = SB_INIT;
			sb_addf(&name, "%s:%s", sec + 7, key);
			for (char *p = name.buf; *p; p++)
				*p = (char)ascii_lower((unsigned char)*p);
			t->topics = xrealloc(t->topics, (t->ntopics + 1) * sizeof(*t->topics));
			t->topics[t->ntopics].name = sb_detach(&name);
			t->topics[t->ntopics++].label = xstrdup(*val ? val : key);
		}
	}
	/* provider callbacks: one per [hook.NAME] section */
	t->public_url = conf_get(t->conf, "tracking", "url");
	for (size_t i = 0; conf_next(t->conf, &i, &sec, &key, &val);) {
		int seen = 0;
		char *err = NULL;
		struct hook *h;
		if (ascii_ncasecmp(sec, "hook.", 5) || !sec[5])
			continue;
		for (size_t k = 0; k < t->nhooks; k++)
			seen |= !ascii_casecmp(t->hooks[k].name, sec + 5);
		if (seen)
			continue;
		if (!share_name_ok(sec + 5))
			crm_die(2, "%s: [%s]: a hook's name is letters, digits, - and _",
				conf_name(t->conf), sec);
		if (!(h = hook_load(t->conf, sec + 5, &err)))
			crm_die(2, "%s", err);
		t->hooks = xrealloc(t->hooks, (t->nhooks + 1) * sizeof(*t->hooks));
		t->hooks[t->nhooks].name = xstrdup(sec + 5);
		for (char *p = t->hooks[t->nhooks].name; *p; p++)
			*p = (char)ascii_lower((unsigned char)*p);
		t->hooks[t->nhooks++].h = h;
	}
	/* collectors: one per [collector.NAME] section with a token */
	for (size_t i = 0; conf_next(t->conf, &i, &sec, &key, &val);) {
		struct collector *c;
		const char *tok, *ks, *rate;
		int seen = 0;
		if (ascii_ncasecmp(sec, "collector.", 10) || !sec[10])
			continue;
		for (size_t k = 0; k < t->ncols; k++)
			seen |= !ascii_casecmp(t->cols[k].name, sec + 10);
		if (seen)
			continue;
		tok = conf_secret(t->conf, sec, "token");
		if (!tok || strlen(tok) < 16)
			crm_die(2, "%s: [%s]: token (or token_env) of at least 16 characters is needed",
				conf_name(t->conf), sec);
		t->cols = xrealloc(t->cols, (t->ncols + 1) * sizeof(*t->cols));
		c = &t->cols[t->ncols++];
		memset(c, 0, sizeof(*c));
		c->name = xstrdup(sec + 10);
		c->token = xstrdup(tok);
		ks = conf_get(t->conf, sec, "kinds");
		if (!ks)
			ks = "events";
		for (const char *p = ks; *p;) {
			size_t n = strcspn(p, " ,\t");
			int found = 0;
			for (int k = 0; k < 4; k++)
				if (n == strlen(kinds[k]) && !strncmp(p, kinds[k], n))
					c->kinds |= 1u << k, found = 1;
			if (n && !found)
				crm_die(2, "%s: [%s] kinds: \"%.*s\" is not customers, orders, events or"
					" consents", conf_name(t->conf), sec, (int)n, p);
			p += n;
			p += strspn(p, " ,\t");
		}
		rate = conf_get(t->conf, sec, "rate");
		c->rate = 50;
		if (rate) {
			char *end;
			c->rate = strtod(rate, &end);
			if (end == rate || *end || !(c->rate > 0) || c->rate > 1e6)
				crm_die(2, "%s: [%s] rate: requests per second, not \"%s\"",
					conf_name(t->conf), sec, rate);
		}
		c->burst = c->tokens = c->rate * 2 > 1 ? c->rate * 2 : 1;
		pthread_mutex_init(&c->lock, NULL);
	}
}

/* ---- answering ---- */

static enum MHD_Result answer(struct MHD_Connection *c, int status, const char *ctype,
			      const void *body, size_t len, const char *location)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result rc;

	if (!r)
		return MHD_NO;
	if (ctype)
		MHD_add_response_header(r, "Content-Type", ctype);
	if (location)
		MHD_add_response_header(r, "Location", location);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	/* the token in the URL stays here, not in the Referer of the
	 * site a click goes to */
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	if (ctype && !strncmp(ctype, "text/html", 9))
		MHD_add_response_header(r, "Content-Security-Policy",
					"default-src 'none'; style-src 'unsafe-inline'; "
					"form-action 'self'; frame-ancestors 'none'");
	rc = MHD_queue_response(c, (unsigned)status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result error(struct req *q, struct MHD_Connection *c, int status,
			     const char *msg)
{
	q->job.status = status;
	sb_reset(&q->job.out);
	sb_addf(&q->job.out, "%s\n", msg);
	return answer(c, status, "text/plain; charset=utf-8", q->job.out.buf, q->job.out.len,
		      NULL);
}

static enum MHD_Result respond(struct req *q, struct MHD_Connection *c)
{
	struct job *j = &q->job;

	switch (j->kind) {
	case JOB_OPEN:
		if (j->status == MHD_HTTP_OK)
			return answer(c, j->status, "image/gif", gif, q->method[0] == 'H' ? 0 :
				      sizeof(gif), NULL);
		break;
	case JOB_CLICK:
		if (j->status == MHD_HTTP_FOUND)
			return answer(c, j->status, "text/plain", "", 0, j->url);
		break;
	case JOB_UNSUB:
		if (j->status == MHD_HTTP_OK)
			return answer(c, j->status, "text/plain", "", 0, NULL);
		break;
	case JOB_HOOK:
		return answer(c, j->hook->status, j->hook->content_type,
			      j->hook->body.buf ? j->hook->body.buf : "", j->hook->body.len, NULL);
	default:
		if (j->out.len || j->status == MHD_HTTP_OK)
			return answer(c, j->status, j->ctype ? j->ctype : "text/plain",
				      j->out.buf ? j->out.buf : "", j->out.len, NULL);
	}
	return error(q, c, j->status ? j->status : 500,
		     j->status == MHD_HTTP_NOT_FOUND ? "not found" : "failed");
}

/* ---- requests ---- */

static void client_addr(struct track *t, struct MHD_Connection *c, char *buf, size_t n)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const char *xff;

	*buf = 0;
	if (ci && ci->client_addr) {
		const struct sockaddr *sa = ci->client_addr;
		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
				  buf, (socklen_t)n);
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6,
				  &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, buf,
				  (socklen_t)n);
	}
	/* behind a trusted proxy, the client is the address it appended */
	xff = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Forwarded-For");
	if (xff) {
		const char *tr = conf_get(t->conf, "tracking", "trusted_proxies");
		const char *last = strrchr(xff, ',');
		size_t bl = strlen(buf), k;
		int trusted = 0;
		if (!tr)
			tr = "127.0.0.1 ::1";
		for (const char *p = tr; *p; p += k) {
			p += strspn(p, " ,\t");
			k = strcspn(p, " ,\t");
			if (k && k == bl && !strncmp(p, buf, k))
				trusted = 1;
		}
		if (trusted) {
			last = last ? last + 1 : xff;
			last += strspn(last, " ");
			k = strcspn(last, " ");
			if (k < n) {
				memcpy(buf, last, k);
				buf[k] = 0;
			}
		}
	}
}

static enum MHD_Result form_field(void *cls, enum MHD_ValueKind kind, const char *key,
				  const char *filename, const char *ctype, const char *enc,
				  const char *data, uint64_t off, size_t size)
{
	struct sb *f = cls;

	/* whole small values only: a form of the page or RFC 8058's one */
	if (off || f->len + strlen(key) + size + 2 > 8192)
		return MHD_YES;
	sb_adds(f, key);
	sb_addc(f, '=');
	sb_add(f, data, size);
	sb_addc(f, 0);
	return MHD_YES;
}

/* the form of the body as NUL-terminated "key=value" strings */
static char *parse_form(struct MHD_Connection *c, struct req *q)
{
	struct sb f = SB_INIT;
	struct MHD_PostProcessor *pp = MHD_create_post_processor(c, 4096, form_field, &f);

	if (pp) {
		MHD_post_process(pp, q->body.buf ? q->body.buf : "", q->body.len);
		MHD_destroy_post_processor(pp);
	} else if (q->body.len == 26 && !memcmp(q->body.buf, "List-Unsubscribe=One-Click", 26)) {
		sb_adds(&f, "List-Unsubscribe=One-Click");
		sb_addc(&f, 0);
	}
	sb_addc(&f, 0);
	return sb_detach(&f);
}

static int is_one_click(const char *form)
{
	for (const char *p = form; *p; p += strlen(p) + 1)
		if (!strcmp(p, "List-Unsubscribe=One-Click"))
			return 1;
	return 0;
}

/* a target crm-send signed may still not be sent as a Location */
static int target_ok(const char *u, size_t n)
{
	if (strlen(u) != n)
		return 0;
	if (ascii_ncasecmp(u, "http://", 7) && ascii_ncasecmp(u, "https://", 8))
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)u[i] < 0x20 || u[i] == 0x7f)
			return 0;
	return 1;
}

/* 0 and the collector, or an HTTP status */
static int collector_auth(struct track *t, struct MHD_Connection *c, struct collector **out)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	size_t n;

	if (!h || ascii_ncasecmp(h, "Bearer ", 7))
		return MHD_HTTP_UNAUTHORIZED;
	h += 7;
	n = strlen(h);
	for (size_t i = 0; i < t->ncols; i++) {
		const char *tok = t->cols[i].token;
		size_t tl = strlen(tok);
		unsigned diff = (unsigned)(tl ^ n);
		for (size_t k = 0; k < tl; k++)
			diff |= (unsigned char)tok[k] ^ (unsigned char)(k < n ? h[k] : 0);
		if (!diff) {
			*out = &t->cols[i];
			return 0;
		}
	}
	return MHD_HTTP_UNAUTHORIZED;
}

static int rate_ok(struct collector *c)
{
	struct timespec ts;
	double now;
	int ok;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (double)ts.tv_sec + ts.tv_nsec / 1e9;
	pthread_mutex_lock(&c->lock);
	if (c->last > 0)
		c->tokens = fmin(c->burst, c->tokens + (now - c->last) * c->rate);
	c->last = now;
	ok = c->tokens >= 1;
	if (ok)
		c->tokens -= 1;
	pthread_mutex_unlock(&c->lock);
	return ok;
}

static const char *header_of(void *ud, const char *name)
{
	return MHD_lookup_connection_value(ud, MHD_HEADER_KIND, name);
}

static size_t curl_sink(char *p, size_t size, size_t n, void *ud)
{
	struct sb *out = ud;

	if (out->len + size * n > HOOK_CERT_MAX)
		return 0;
	sb_add(out, p, size * n);
	return size * n;
}

/* GETs url (a signing certificate, an SNS confirmation: the preset has
 * checked the host and scheme, https on amazonaws.com unless the section
 * names a test_host): 0 on a 2xx */
static int fetch_url(void *ud, const char *url, struct sb *out)
{
	CURL *c = curl_easy_init();
	long code = 0;
	CURLcode rc;

	if (!c)
		return -1;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, curl_sink);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	return rc == CURLE_OK && code >= 200 && code < 300 ? 0 : -1;
}

/* the signing certificates fetched so far: SNS signs every notification
 * with one of a few, fetched once each */
#define NCERTS 16
static struct {
	char *url;
	struct sb body;
} certs[NCERTS];
static size_t ncerts_next;
static pthread_mutex_t certs_lock = PTHREAD_MUTEX_INITIALIZER;

static int fetch_cached(void *ud, const char *url, struct sb *out)
{
	int rc;

	pthread_mutex_lock(&certs_lock);
	for (size_t i = 0; i < NCERTS; i++)
		if (certs[i].url && !strcmp(certs[i].url, url)) {
			sb_add(out, certs[i].body.buf, certs[i].body.len);
			pthread_mutex_unlock(&certs_lock);
			return 0;
		}
	pthread_mutex_unlock(&certs_lock);
	if ((rc = fetch_url(ud, url, out)) == 0) {
		size_t k;
		pthread_mutex_lock(&certs_lock);
		k = ncerts_next++ % NCERTS;
		free(certs[k].url);
		sb_free(&certs[k].body);
		certs[k].url = xstrdup(url);
		sb_init(&certs[k].body);
		sb_add(&certs[k].body, out->buf, out->len);
		pthread_mutex_unlock(&certs_lock);
	}
	return rc;
}

static void certs_free(void)
{
	for (size_t i = 0; i < NCERTS; i++) {
		free(certs[i].url);
		if (certs[i].url)
			sb_free(&certs[i].body);
		certs[i].url = NULL;
	}
}

/* /h/NAME: the preset checks and maps the request here; the records go
 * to the writer. Returns like route(). */
static int route_hook(struct track *t, struct MHD_Connection *c, struct req *q,
		      const char *name, enum MHD_Result *rc)
{
	struct hookcfg *hc = NULL;
	struct hook_req rq = { 0 };
	struct hook_result *res;
	struct sb url = SB_INIT;
	const char *qs = strchr(q->uri ? q->uri : "", '?');

	for (size_t i = 0; i < t->nhooks; i++)
		if (!strcmp(t->hooks[i].name, name))
			hc = &t->hooks[i];
	if (!hc) {
		*rc = error(q, c, MHD_HTTP_NOT_FOUND, "not found");
		return 1;
	}
	/* the public URL the provider signed: [tracking] url and the URI */
	if (t->public_url) {
		size_t n = strlen(t->public_url);
		while (n && t->public_url[n - 1] == '/')
			n--;
		sb_add(&url, t->public_url, n);
	} else {
		const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
		sb_addf(&url, "http://%s", host ? host : "localhost");
	}
	sb_adds(&url, q->uri ? q->uri : "");
	rq.method = q->method;
	rq.url = url.buf;
	rq.query = qs ? qs + 1 : NULL;
	rq.header = header_of;
	rq.ud = c;
	rq.body = q->body.buf ? q->body.buf : "";
	rq.len = q->body.len;
	rq.secret = t->secret;
	rq.now = (int64_t)time(NULL);
	rq.fetch = fetch_cached;
	res = xcalloc(1, sizeof(*res));
	hook_handle(hc->h, &rq, res);
	sb_free(&url);
	q->job.hook = res;
	q->job.kind = JOB_HOOK;
	q->job.source = hc->name;
	q->job.status = res->status;
	if (res->status >= 200 && res->status < 300 && res->confirm_url) {
		struct sb ignored = SB_INIT;
		int ok = fetch_url(NULL, res->confirm_url, &ignored) == 0;
		sb_free(&ignored);
		if (!ok) {
			snprintf(res->err, sizeof(res->err), "the subscription could not be confirmed");
			*rc = error(q, c, MHD_HTTP_BAD_GATEWAY, "could not confirm the subscription");
			return 1;
		}
		snprintf(res->err, sizeof(res->err), "subscription confirmed");
	}
	if (res->status < 200 || res->status >= 300 || !res->nrecs) {
		*rc = answer(c, res->status, res->content_type,
			     res->body.buf ? res->body.buf : "", res->body.len, NULL);
		return 1;
	}
	return 0;
}

/* Decides what the request is: a job for the writer (returns 0), or
 * answers it at once (returns 1, *rc set). */
static int route(struct track *t, struct MHD_Connection *c, struct req *q, const char *url,
		 enum MHD_Result *rc)
{
	struct job *j = &q->job;
	int get = !strcmp(q->method, "GET"), head = !strcmp(q->method, "HEAD");
	int post = !strcmp(q->method, "POST");
	enum track_kind kind;
	const char *tok;
	size_t toklen;
	int n;

	if (q->too_big) {
		*rc = error(q, c, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large");
		return 1;
	}
	if (!strcmp(url, "/healthz")) {
		*rc = error(q, c, MHD_HTTP_OK, "ok");
		return 1;
	}
	if (!strncmp(url, "/h/", 3))
		return route_hook(t, c, q, url + 3, rc);
	if (!strncmp(url, "/v1/", 4)) {
		struct collector *col = NULL;
		int k, st;
		for (k = 0; k < 4 && strcmp(url + 4, kinds[k]); k++)
			;
		if (k == 4) {
			*rc = error(q, c, MHD_HTTP_NOT_FOUND, "not found");
			return 1;
		}
		if (!post) {
			*rc = error(q, c, MHD_HTTP_METHOD_NOT_ALLOWED, "use POST");
			return 1;
		}
		if ((st = collector_auth(t, c, &col))) {
			*rc = error(q, c, st, "a valid Authorization: Bearer token is needed");
			return 1;
		}
		if (!(col->kinds & (1u << k))) {
			*rc = error(q, c, MHD_HTTP_FORBIDDEN, "this source may not post here");
			return 1;
		}
		if (!rate_ok(col)) {
			struct MHD_Response *r = MHD_create_response_from_buffer(
				13, (void *)"rate limited\n", MHD_RESPMEM_PERSISTENT);
			MHD_add_response_header(r, "Retry-After", "1");
			q->job.status = MHD_HTTP_TOO_MANY_REQUESTS;
			*rc = MHD_queue_response(c, MHD_HTTP_TOO_MANY_REQUESTS, r);
			MHD_destroy_response(r);
			return 1;
		}
		j->kind = JOB_COLLECT;
		j->ikind = (enum imp_kind)k;
		j->source = col->name;
		j->body = q->body.buf ? q->body.buf : "";
		j->len = q->body.len;
		{
			const char *s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "strict");
			j->strict = s && strcmp(s, "0") && strcmp(s, "no");
		}
		return 0;
	}
	if (track_path_parse(url, &kind, &tok, &toklen, &n) < 0) {
		*rc = error(q, c, MHD_HTTP_NOT_FOUND, "not found");
		return 1;
	}
	if (kind == TRACK_CLICK) {
		const char *u = NULL;
		size_t ul = 0;
		if (!get && !head) {
			*rc = error(q, c, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET");
			return 1;
		}
		if (MHD_lookup_connection_value_n(c, MHD_GET_ARGUMENT_KIND, "u", 1, &u, &ul) != MHD_YES ||
		    !u || track_token_check(t->secret, kind, tok, toklen, n, u, ul, &j->msg) < 0 ||
		    !target_ok(u, ul)) {
			*rc = error(q, c, MHD_HTTP_BAD_REQUEST, "this link is not valid");
			return 1;
		}
		j->kind = JOB_CLICK;
		j->link = n;
		j->url = xstrndup(u, ul);
	} else {
		if (track_token_check(t->secret, kind, tok, toklen, 0, NULL, 0, &j->msg) < 0) {
			*rc = error(q, c, MHD_HTTP_BAD_REQUEST, "this link is not valid");
			return 1;
		}
		if (kind == TRACK_OPEN) {
			if (!get && !head) {
				*rc = error(q, c, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET");
				return 1;
			}
			j->kind = JOB_OPEN;
		} else if (get || head) {
			j->kind = JOB_PAGE;
		} else if (post) {
			j->form = parse_form(c, q);
			j->kind = is_one_click(j->form) ? JOB_UNSUB : JOB_PREFS;
		} else {
			*rc = error(q, c, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET or POST");
			return 1;
		}
	}
	j->head = head;
	if (j->kind == JOB_OPEN || j->kind == JOB_CLICK)
		track_bot_check(t, q->addr,
				MHD_lookup_connection_value(c, MHD_HEADER_KIND, "User-Agent"),
				j->machine, sizeof(j->machine));
	return 0;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *data,
			       size_t *size, void **con_cls)
{
	struct track *t = cls;
	struct req *q = *con_cls;
	enum MHD_Result rc;
	int done;

	if (!q || !q->started) {
		const char *cl;
		if (!q)
			q = xcalloc(1, sizeof(*q));
		q->started = 1;
		sb_init(&q->body);
		sb_init(&q->job.out);
		q->t0 = now_monotonic();
		q->method = method;
		snprintf(q->path, sizeof(q->path), "%s", url);
		client_addr(t, c, q->addr, sizeof(q->addr));
		*con_cls = q;
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
		if (cl && strtoull(cl, NULL, 10) > (unsigned long long)t->o->max_body)
			return error(q, c, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large");
		return MHD_YES;
	}
	if (*size) {
		if (q->body.len + *size > (size_t)t->o->max_body)
			q->too_big = 1;
		else
			sb_add(&q->body, data, *size);
		*size = 0;
		return MHD_YES;
	}
	if (q->queued) {
		pthread_mutex_lock(&t->lock);
		done = q->job.done;
		pthread_mutex_unlock(&t->lock);
		return done ? respond(q, c) : MHD_NO;
	}
	if (route(t, c, q, url, &rc))
		return rc;
	q->queued = 1;
	q->job.conn = c;
	/* suspended first: the writer may resume it as soon as it is queued */
	MHD_suspend_connection(c);
	track_submit(t, &q->job);
	return MHD_YES;
}

/* the URI as the client sent it, before libmicrohttpd decodes it: a
 * provider signs the URL with its query */
static void *uri_log(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct req *q = xcalloc(1, sizeof(*q));

	q->uri = xstrndup(uri, strnlen(uri, 4096));
	return q;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode why)
{
	struct track *t = cls;
	struct req *q = *con_cls;

	if (!q)
		return;
	if (!q->started) {
		/* answered by libmicrohttpd itself (a header too large) */
		q->method = "-";
		snprintf(q->path, sizeof(q->path), "%.*s",
			 q->uri ? (int)strcspn(q->uri, "?") : 0, q->uri ? q->uri : "");
	}
	if (!t->o->quiet) {
		char cust[32] = "", mach[64] = "";
		if (q->job.customer)
			snprintf(cust, sizeof(cust), " customer=%" PRId64, q->job.customer);
		if (q->job.machine[0])
			snprintf(mach, sizeof(mach), " machine=%s", q->job.machine);
		if (q->job.hook && q->job.hook->err[0])
			snprintf(mach, sizeof(mach), " (%.50s)", q->job.hook->err);
		else if (q->job.unmatched)
			snprintf(mach, sizeof(mach), " unmatched=%d", q->job.unmatched);
		fprintf(stderr, "%s: %s %s %s %d%s%s %.1f ms%s\n", crm_progname, q->addr,
			q->method, q->path, q->job.status, cust, mach,
			(now_monotonic() - q->t0) * 1e3,
			why == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (not answered)");
	}
	sb_free(&q->body);
	sb_free(&q->job.out);
	if (q->job.hook) {
		hook_result_free(q->job.hook);
		free(q->job.hook);
	}
	free(q->uri);
	free(q->job.url);
	free(q->job.form);
	free(q);
	*con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct sb b = SB_INIT;

	sb_vaddf(&b, fmt, ap);
	while (b.len && b.buf[b.len - 1] == '\n')
		b.buf[--b.len] = 0;
	crm_warn("%s", b.buf);
	sb_free(&b);
}

/* ADDR:PORT, [ADDR6]:PORT or :PORT into a socket address */
static int parse_listen(const char *s, struct sockaddr_storage *ss)
{
	char host[128];
	const char *colon = strrchr(s, ':');
	struct addrinfo hints = { 0 }, *res;
	size_t hl;

	if (!colon || !colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
	    strlen(colon + 1) > 5 || atol(colon + 1) > 65535)
		return -1;
	hl = (size_t)(colon - s);
	if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']')
		s++, hl -= 2;
	if (hl >= sizeof(host))
		return -1;
	memcpy(host, s, hl);
	host[hl] = 0;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(hl ? host : NULL, colon + 1, &hints, &res))
		return -1;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return 0;
}

int track_serve(struct crm *crm, const struct track_opts *o)
{
	struct track t;
	struct sockaddr_storage ss;
	struct sb tried = SB_INIT;
	struct MHD_Daemon *d;
	sigset_t sigs;
	unsigned threads;
	char *bots;
	int sig;
	const char *listen = o->listen;

	memset(&t, 0, sizeof(t));
	t.crm = crm;
	t.o = o;
	/* --now (or CRM_NOW): the clock starts there and runs on */
	t.clock_offset = crm->now - (int64_t)time(NULL);
	if (t.clock_offset >= -2 && t.clock_offset <= 2)
		t.clock_offset = 0;
	T = &t;
	t.conf = conf_load(crm);
	load_conf(&t);
	if (!listen)
		listen = conf_get(t.conf, "tracking", "listen");
	if (!listen)
		listen = "127.0.0.1:8080";
	if (parse_listen(listen, &ss) < 0)
		crm_die(2, "--listen \"%s\": expected ADDR:PORT (127.0.0.1:8080, [::1]:8080)", listen);
	bots = share_find("track", "machines", "", &tried);
	if (!bots)
		crm_die(1, "no track/machines in %s", tried.buf);
	sb_free(&tried);
	if (track_bots_load(&t, bots) < 0)
		return CRM_EXIT_FAIL;
	free(bots);

	db_open(crm, DB_WRITE);
	t.secret = db_meta_get(crm->db, "secret");
	if (!t.secret)
		crm_die(1, "%s: the database has no secret", crm->db_path);

	/* the signals end the server in this thread, not in a random one */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	track_writer_start(&t);
	threads = o->threads > 0 ? (unsigned)o->threads : (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	if (threads < 1)
		threads = 1;
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
			     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG,
			     0, NULL, NULL, handler, &t,
			     MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
			     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
			     MHD_OPTION_THREAD_POOL_SIZE, threads,
			     MHD_OPTION_CONNECTION_LIMIT, (unsigned)o->max_connections,
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)o->timeout,
			     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384,
			     MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
			     MHD_OPTION_NOTIFY_COMPLETED, completed, &t,
			     MHD_OPTION_URI_LOG_CALLBACK, uri_log, &t,
			     MHD_OPTION_END);
	if (!d)
		crm_die(1, "cannot listen on %s: %s", listen, strerror(errno));
	t.daemon = d;
	{
		const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
		char where[160];
		snprintf(where, sizeof(where), "%.*s:%u", (int)(strrchr(listen, ':') - listen), listen,
			 di ? (unsigned)di->port : 0u);
		crm_note("listening on %s (%u threads), base %s", where, threads, crm->db_path);
	}
	sigwait(&sigs, &sig);
	crm_note("stopping (%s)", sig == SIGINT ? "SIGINT" : "SIGTERM");
	/* what is queued is committed and answered; then the server stops */
	MHD_quiesce_daemon(d);
	track_writer_stop(&t);
	MHD_stop_daemon(d);
	track_bots_free(&t);
	for (size_t i = 0; i < t.ntopics; i++) {
		free(t.topics[i].name);
		free(t.topics[i].label);
	}
	free(t.topics);
	for (size_t i = 0; i < t.nhooks; i++) {
		hook_free(t.hooks[i].h);
		free(t.hooks[i].name);
	}
	free(t.hooks);
	certs_free();
	for (size_t i = 0; i < t.ncols; i++) {
		free(t.cols[i].name);
		free(t.cols[i].token);
		pthread_mutex_destroy(&t.cols[i].lock);
	}
	free(t.cols);
	free(t.secret);
	conf_free(t.conf);
	db_close(crm);
	return CRM_EXIT_OK;
}
