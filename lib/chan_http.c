/*
 * HTTP providers through libcurl: a preset (JSON data file) says how a
 * message becomes a request and how the reply is read; the configuration
 * gives the base URL and the credentials. See chan_http.h for the formats
 * and the rules that classify an outcome.
 */
#include "chan_http.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cJSON.h>
#include <curl/curl.h>

#include "conf.h"
#include "diag.h"
#include "hash.h"
#include "jpath.h"
#include "redact.h"
#include "share.h"
#include "suggest.h"
#include "util.h"

#ifndef CRM_VERSION
#define CRM_VERSION "0"
#endif

#define RESP_MAX   65536   /* bytes of a reply kept */
#define MAX_RETRY  32
#define NAME_MAX_  64

/* The placeholders every message fills, besides the config keys. */
static const char *const msg_names[] = {
	"address", "text", "subject", "html", "campaign", "message_id", "customer", NULL,
};

/* Keys of a section that belong to crm-send, not to the preset. */
static const char *const own_keys[] = {
	"preset", "address", "timeout", "connect_timeout", "insecure", "ca_file", "allow_http",
	NULL,
};

/* The channel's preset when the section names none. */
static const struct { const char *channel, *preset; } default_presets[] = {
	{ "sms", "sms-twilio" },   { "push", "push" },   { "telegram", "telegram" },
	{ "whatsapp", "whatsapp" }, { "viber", "viber" }, { "webhook", "webhook" },
};

struct key {
	char *name;
	const char *value;     /* NULL when not set */
	char *owned;           /* a default or an uncovered secret's copy */
	char *enc;             /* a secret's value percent-encoded, for redact() */
	int secret;
	int required;
	int raw;               /* inserted into URLs as it is (a URL itself) */
};

struct http_provider {
	char *channel;
	char *path;            /* the preset file */
	char *address;         /* the address field */
	cJSON *preset;
	const char *method;
	const char *url;
	const cJSON *headers, *json, *form, *basic, *sign, *response;
	const char *resp_id, *resp_err, *resp_retry;
	const cJSON *resp_ok;
	int retry[MAX_RETRY];
	int nretry;
	struct key *keys;
	size_t nkeys;
	long timeout, connect_timeout;
	int dry_run;

	CURL *curl;
	char errbuf[CURL_ERROR_SIZE];
	int verbose;

	/* per message */
	const struct http_msg *m;
	struct sb text;        /* m->text without its final line ends */
	struct sb body;
	size_t body_off;       /* read by libcurl */
	size_t body_out;       /* reported written by libcurl, this attempt */
	int hdr_started, hdr_done;
	int resent;            /* libcurl started the request again after some
				  of its body was read: read_cb refuses it */
	int whole_before;      /* an earlier attempt went out whole */
	int replied;           /* a status line came for this message (libcurl's
				  response code is the last transfer's until then) */
	struct sb resp;
	struct sb req_url, user, pass, tmp, line, why, q;	/* reused by each message */
	int retry_after;
	int provider_problem;
	char unset[NAME_MAX_];
	/* the secrets, for every reply that is stored or printed */
	struct redact red;
	int red_login;         /* basic auth's login added */
	struct curl_slist *hdrs;  /* the request's headers */
};

/* ---- small helpers -------------------------------------------------- */

static int is_name(const char *s, size_t n)
{
	if (!n || n >= NAME_MAX_ || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

static int in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (!strcmp(*list, s))
			return 1;
	return 0;
}

/* Percent-encodes v into out: for a URL, all but RFC 3986's unreserved
 * characters and ":" and "@" (which a path segment and a query may hold:
 * Telegram's tokens have a ":"); for a form
 * (application/x-www-form-urlencoded), all but A-Z a-z 0-9 * - . _, and
 * a space as "+". */
static void pct_encode(struct sb *out, const char *v, int form)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (ascii_isalpha(*p) || ascii_isdigit(*p) || *p == '-' || *p == '.' || *p == '_' ||
		    (!form && (*p == '~' || *p == ':' || *p == '@')) || (*p == '*' && form))
			sb_addc(out, *p);
		else if (*p == ' ' && form)
			sb_addc(out, '+');
		else {
			sb_addc(out, '%');
			sb_addc(out, hex[*p >> 4]);
			sb_addc(out, hex[*p & 15]);
		}
	}
}

static const char *find(const char *h, size_t hlen, const char *n, size_t nlen)
{
	for (size_t i = 0; nlen && i + nlen <= hlen; i++)
		if (h[i] == n[0] && !memcmp(h + i, n, nlen))
			return h + i;
	return NULL;
}

/* Replaces every occurrence of each secret (as it is and percent-encoded)
 * in b with "***". */
static void redact(const struct http_provider *p, struct sb *b)
{
	struct sb out = SB_INIT;

	for (size_t k = 0; k < p->nkeys; k++) {
		const char *forms[2] = { p->keys[k].value, p->keys[k].enc };
		if (!p->keys[k].enc)
			continue;
		for (int f = 0; f < 2; f++) {
			size_t n = strlen(forms[f]);
			const char *s = b->buf, *hit;
			if (!find(b->buf, b->len, forms[f], n))
				continue;
			sb_reset(&out);
			while ((hit = find(s, b->len - (size_t)(s - b->buf), forms[f], n))) {
				sb_add(&out, s, (size_t)(hit - s));
				sb_adds(&out, "***");
				s = hit + n;
			}
			sb_add(&out, s, b->len - (size_t)(s - b->buf));
			sb_reset(b);
			sb_add(b, out.buf, out.len);
		}
	}
	sb_free(&out);
}

/* An excerpt of text for a message: at most max bytes, control
 * characters as spaces, not cut inside a UTF-8 character. */
static void excerpt(struct sb *out, const char *s, size_t len, size_t max)
{
	size_t n = len;

	s = trim(s, &n);
	if (n > max) {
		n = max;
		while (n && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		sb_addc(out, c < 0x20 || c == 0x7f ? ' ' : (char)c);
	}
	if (n < len && len > max)
		sb_adds(out, "...");
}

/* An excerpt of a reply (see excerpt) with its credentials redacted
 * first, so that the cut cannot leave a piece of one behind; trace: in
 * the -vvvv trace, where the known secrets show as "***". */
static void redacted_excerpt(const struct http_provider *p, struct sb *out, const char *s,
			     size_t len, size_t max, int trace)
{
	struct sb t = SB_INIT;

	sb_add(&t, s, len);
	if (trace)
		redact(p, &t);
	redact_sb(&t, &p->red);
	excerpt(out, t.buf, t.len, max);
	sb_free(&t);
}

/* ---- placeholders ----------------------------------------------------- */

static struct key *key_find(const struct http_provider *p, const char *name)
{
	for (size_t i = 0; i < p->nkeys; i++)
		if (!strcmp(p->keys[i].name, name))
			return &p->keys[i];
	return NULL;
}

/* The value of a placeholder now (message values are "" without a
 * message), or NULL when it is a config key that is not set. */
static const char *value_of(const struct http_provider *p, const char *name)
{
	const struct http_msg *m = p->m;
	struct key *k;

	if (in_list(msg_names, name)) {
		const char *v = NULL;
		if (!m)
			return "";
		if (!strcmp(name, "address")) v = m->address;
		else if (!strcmp(name, "text")) v = p->text.buf;
		else if (!strcmp(name, "subject")) v = m->subject;
		else if (!strcmp(name, "html")) v = m->html;
		else if (!strcmp(name, "campaign")) v = m->campaign;
		else if (!strcmp(name, "message_id")) v = m->message_id ? m->message_id : m->idempotency_key;
		else if (!strcmp(name, "customer")) v = m->customer;
		return v ? v : "";
	}
	k = key_find(p, name);
	return k ? k->value : NULL;
}

static int key_is_raw(const struct http_provider *p, const char *name)
{
	const struct key *k = key_find(p, name);
	return k && k->raw;
}

/* Finds the next "{{ name }}" of s: returns its start, with *end after it
 * and name filled; NULL when there is none. *bad is set for a tag that is
 * not closed or whose name is not a name. */
static const char *next_tag(const char *s, const char **end, char name[NAME_MAX_], int *bad)
{
	const char *b = strstr(s, "{{"), *e, *n0, *n1;

	*bad = 0;
	if (!b)
		return NULL;
	if (!(e = strstr(b + 2, "}}"))) {
		*bad = 1;
		return b;
	}
	n0 = b + 2;
	n1 = e;
	while (n0 < n1 && *n0 == ' ')
		n0++;
	while (n1 > n0 && n1[-1] == ' ')
		n1--;
	if (!is_name(n0, (size_t)(n1 - n0))) {
		*bad = 1;
		return b;
	}
	memcpy(name, n0, (size_t)(n1 - n0));
	name[n1 - n0] = 0;
	*end = e + 2;
	return b;
}

enum { ENC_RAW, ENC_URL };

/* Appends t with its placeholders filled; in a URL every value but
 * base_url is percent-encoded. Returns 0, or -1 with p->unset naming a
 * config key that is not set. */
static int fill(struct http_provider *p, const char *t, int enc, struct sb *out)
{
	const char *s = t, *b, *e = NULL;
	char name[NAME_MAX_];
	int bad;

	while ((b = next_tag(s, &e, name, &bad)) && !bad) {
		const char *v = value_of(p, name);
		sb_add(out, s, (size_t)(b - s));
		if (!v) {
			snprintf(p->unset, sizeof(p->unset), "%s", name);
			return -1;
		}
		if (enc == ENC_URL && strcmp(name, "base_url") && !key_is_raw(p, name))
			pct_encode(out, v, 0);
		else
			sb_adds(out, v);
		s = e;
	}
	sb_adds(out, s);
	return 0;
}

/* Checks every placeholder of t (at where) names something known. */
static int check_string(const struct http_provider *p, const char *t, const char *where)
{
	const char *s = t, *b, *e = NULL;
	char name[NAME_MAX_];
	int bad;

	while ((b = next_tag(s, &e, name, &bad))) {
		if (bad) {
			crm_error("%s: %s: a {{ without a name and }}: \"%.40s\"", p->path, where, b);
			return -1;
		}
		if (!in_list(msg_names, name) && !key_find(p, name)) {
			crm_error("%s: %s: unknown placeholder {{%s}} (not a message value nor a key "
				  "of \"config\")", p->path, where, name);
			return -1;
		}
		s = e;
	}
	return 0;
}

/* Every string inside v (keys of objects are taken as written). */
static int check_tree(const struct http_provider *p, const cJSON *v, const char *where)
{
	const cJSON *c;

	if (cJSON_IsString(v))
		return check_string(p, v->valuestring, where);
	cJSON_ArrayForEach(c, v)
		if (check_tree(p, c, where) < 0)
			return -1;
	return 0;
}

/* The body template with its strings filled; a member or element whose
 * string uses an unset key is left out. */
static cJSON *build_json(struct http_provider *p, const cJSON *t, struct sb *tmp)
{
	const cJSON *c;
	cJSON *o;

	if (cJSON_IsString(t)) {
		sb_reset(tmp);
		if (fill(p, t->valuestring, ENC_RAW, tmp) < 0)
			return NULL;
		return cJSON_CreateString(tmp->buf);
	}
	if (cJSON_IsArray(t) || cJSON_IsObject(t)) {
		o = cJSON_IsArray(t) ? cJSON_CreateArray() : cJSON_CreateObject();
		if (!o)
			crm_die(1, "out of memory");
		cJSON_ArrayForEach(c, t) {
			cJSON *v = build_json(p, c, tmp);
			if (!v)
				continue;
			if (cJSON_IsArray(t))
				cJSON_AddItemToArray(o, v);
			else
				cJSON_AddItemToObject(o, c->string, v);
		}
		return o;
	}
	if (!(o = cJSON_Duplicate(t, 1)))
		crm_die(1, "out of memory");
	return o;
}

/* ---- replies ------------------------------------------------------------- */

/* A copy of a JSON text in which every number is a string of its digits
 * as written, so that ids beyond 2^53 (Viber's message_token) keep them. */
static void quote_numbers(const char *s, size_t len, struct sb *out)
{
	size_t i = 0;

	while (i < len) {
		char c = s[i];
		if (c == '"') {
			size_t j = i + 1;
			while (j < len && s[j] != '"')
				j += s[j] == '\\' ? 2 : 1;
			if (j >= len)
				j = len - 1;
			sb_add(out, s + i, j - i + 1);
			i = j + 1;
		} else if (c == '-' || ascii_isdigit((unsigned char)c)) {
			size_t j = i;
			while (j < len && (ascii_isdigit((unsigned char)s[j]) || s[j] == '-' ||
					   s[j] == '+' || s[j] == '.' || s[j] == 'e' || s[j] == 'E'))
				j++;
			sb_addc(out, '"');
			sb_add(out, s + i, j - i);
			sb_addc(out, '"');
			i = j;
		} else {
			sb_addc(out, c);
			i++;
		}
	}
}


/* A scalar as text (numbers are strings after quote_numbers). */
static const char *json_text(const cJSON *v)
{
	if (cJSON_IsString(v))
		return v->valuestring;
	if (cJSON_IsTrue(v))
		return "true";
	if (cJSON_IsFalse(v))
		return "false";
	return NULL;
}

/* 1 ok, 0 not ok, -1 cannot tell (no such value). */
static int reply_ok(const struct http_provider *p, const cJSON *reply)
{
	const cJSON *spec = p->resp_ok, *want, *v;

	if (cJSON_IsString(spec)) {
		v = jpath(reply, spec->valuestring);
		return !v ? -1 : cJSON_IsTrue(v);
	}
	v = jpath(reply, cJSON_GetObjectItemCaseSensitive(spec, "path")->valuestring);
	want = cJSON_GetObjectItemCaseSensitive(spec, "equals");
	if (!v)
		return -1;
	if (cJSON_IsBool(want))
		return cJSON_IsBool(v) && !cJSON_IsTrue(v) == !cJSON_IsTrue(want);
	if (cJSON_IsNumber(want)) {
		char *end;
		double d;
		if (!cJSON_IsString(v))
			return 0;
		d = strtod(v->valuestring, &end);
		return !*end && d == want->valuedouble;
	}
	if (cJSON_IsString(want))
		return cJSON_IsString(v) && !strcmp(v->valuestring, want->valuestring);
	return cJSON_IsNull(v) && cJSON_IsNull(want);
}

/* ---- libcurl callbacks --------------------------------------------------- */

static size_t read_cb(char *buf, size_t size, size_t nitems, void *arg)
{
	struct http_provider *p = arg;
	size_t n = size * nitems, left = p->body.len - p->body_off;

	if (p->resent)	/* never a second copy of the request */
		return CURL_READFUNC_ABORT;
	if (n > left)
		n = left;
	memcpy(buf, p->body.buf + p->body_off, n);
	p->body_off += n;
	return n;
}

static size_t write_cb(char *buf, size_t size, size_t nitems, void *arg)
{
	struct http_provider *p = arg;
	size_t n = size * nitems;

	if (p->resp.len < RESP_MAX)
		sb_add(&p->resp, buf, n < RESP_MAX - p->resp.len ? n : RESP_MAX - p->resp.len);
	return n;
}

static size_t header_cb(char *buf, size_t size, size_t nitems, void *arg)
{
	struct http_provider *p = arg;
	size_t n = size * nitems;

	if (n >= 5 && !memcmp(buf, "HTTP/", 5)) {	/* a new response */
		p->replied = 1;
		p->retry_after = 0;
		sb_reset(&p->resp);
	} else if (n > 12 && !ascii_ncasecmp(buf, "Retry-After:", 12)) {
		char v[128];
		size_t len = n - 12;
		const char *s = trim(buf + 12, &len);
		long secs;
		char *end;
		time_t when;

		if (len >= sizeof(v))
			return n;
		memcpy(v, s, len);
		v[len] = 0;
		errno = 0;
		secs = strtol(v, &end, 10);
		if (end != v && !*end && !errno && secs >= 0)
			p->retry_after = secs > INT_MAX ? INT_MAX : (int)secs;
		else if ((when = curl_getdate(v, NULL)) != (time_t)-1)
			p->retry_after = when > time(NULL) ? (int)(when - time(NULL)) : 0;
	}
	return n;
}

/* Is the header name[0..len) one whose value is or holds a credential
 * (Authorization, or a preset header that uses a secret key)? */
static int header_is_secret(const struct http_provider *p, const char *name, size_t len)
{
	const cJSON *v;

	if ((len == 13 && !ascii_ncasecmp(name, "Authorization", 13)) ||
	    (len == 19 && !ascii_ncasecmp(name, "Proxy-Authorization", 19)))
		return 1;
	cJSON_ArrayForEach(v, p->headers) {
		const char *s = v->valuestring, *e = NULL, *b;
		char key[NAME_MAX_];
		int bad;
		struct key *k;

		if (strlen(v->string) != len || ascii_ncasecmp(v->string, name, len))
			continue;
		while ((b = next_tag(s, &e, key, &bad)) && !bad) {
			if ((k = key_find(p, key)) && k->secret)
				return 1;
			s = e;
		}
	}
	return 0;
}

/* Sees every byte libcurl writes (to know when the request is complete)
 * and, with -vvv, prints the exchange without secrets or credentials. */
static int debug_cb(CURL *h, curl_infotype type, char *data, size_t size, void *arg)
{
	struct http_provider *p = arg;
	struct sb b = SB_INIT;
	(void)h;

	if (type == CURLINFO_HEADER_OUT) {
		if (p->hdr_done) {
			/* libcurl starts the request again on a fresh connection:
			 * a reused one died before any reply came. Harmless when
			 * not a byte of the body was read yet (the server cannot
			 * have it whole); otherwise read_cb refuses to send it
			 * again, and an attempt that went out whole means in
			 * doubt. */
			if (p->body_out >= p->body.len)
				p->whole_before = 1;
			if (p->body_out || p->body_off || p->whole_before)
				p->resent = 1;
			p->hdr_done = 0;
			p->body_out = 0;
		}
		p->hdr_started = 1;
		if (size >= 4 && !memcmp(data + size - 4, "\r\n\r\n", 4))
			p->hdr_done = 1;
	} else if (type == CURLINFO_DATA_OUT) {
		p->body_out += size;
	}
	if (!p->verbose)
		return 0;
	switch (type) {
	case CURLINFO_TEXT:
	case CURLINFO_HEADER_IN:
	case CURLINFO_HEADER_OUT: {
		const char *s = data, *end = data + size;
		const char *mark = type == CURLINFO_TEXT ? "* " : type == CURLINFO_HEADER_IN ? "< " : "> ";
		while (s < end) {
			const char *nl = memchr(s, '\n', (size_t)(end - s));
			size_t len = nl ? (size_t)(nl - s) : (size_t)(end - s);
			if (len && s[len - 1] == '\r')
				len--;
			if (len || type == CURLINFO_TEXT) {
				sb_adds(&b, mark);
				if (type == CURLINFO_HEADER_OUT && memchr(s, ':', len) &&
				    header_is_secret(p, s, (size_t)((const char *)memchr(s, ':', len) - s))) {
					sb_add(&b, s, (size_t)((const char *)memchr(s, ':', len) - s));
					sb_adds(&b, ": ***");
				} else {
					redacted_excerpt(p, &b, s, len, 2000, 1);
				}
				sb_addc(&b, '\n');
			}
			s = nl ? nl + 1 : end;
		}
		break;
	}
	case CURLINFO_DATA_OUT:
		sb_addf(&b, "> (%zu bytes of the body)\n", size);
		break;
	case CURLINFO_DATA_IN:
		sb_adds(&b, "< ");
		redacted_excerpt(p, &b, data, size, 2000, 1);
		sb_addc(&b, '\n');
		break;
	default:
		break;
	}
	redact(p, &b);
	redact_sb(&b, &p->red);
	fputs(b.buf, stderr);
	sb_free(&b);
	return 0;
}

/* ---- loading ------------------------------------------------------------- */

/* The file of preset name (see chan_http.h for the directories), or NULL
 * after reporting. */
static char *find_preset(const char *channel, const char *name)
{
	struct sb tried = SB_INIT;
	char *path;

	if (strchr(name, '/'))
		return xstrdup(name);
	if (!share_name_ok(name)) {
		crm_error("[%s] preset \"%s\": a name of share/providers or a path with a /",
			  channel, name);
		return NULL;
	}
	if (!(path = share_find("providers", name, ".json", &tried))) {
		char sug[128];
		if (suggest_file(name, tried.buf, ".json", sug, sizeof(sug)))
			crm_error("[%s] preset \"%s\": no %s.json in %s; did you mean \"%s\"?",
				  channel, name, name, tried.buf, sug);
		else
			crm_error("[%s] preset \"%s\": no %s.json in %s", channel, name, name,
				  tried.buf);
	}
	sb_free(&tried);
	return path;
}

static cJSON *load_json(const char *path)
{
	FILE *fp = fopen(path, "rb");
	struct sb b = SB_INIT;
	char buf[8192];
	size_t n;
	cJSON *j;
	const char *err;

	if (!fp) {
		crm_error_errno("%s: cannot open the preset", path);
		return NULL;
	}
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0 && b.len < (1u << 20))
		sb_add(&b, buf, n);
	fclose(fp);
	if (!(j = cJSON_ParseWithLength(b.buf, b.len))) {
		err = cJSON_GetErrorPtr();
		size_t at = err && err >= b.buf && err <= b.buf + b.len ? (size_t)(err - b.buf) : 0;
		long line = 1;
		for (size_t i = 0; i < at; i++)
			line += b.buf[i] == '\n';
		crm_error("%s:%ld: the preset is not valid JSON", path, line);
	} else if (!cJSON_IsObject(j)) {
		crm_error("%s: the preset must be a JSON object", path);
		cJSON_Delete(j);
		j = NULL;
	}
	sb_free(&b);
	return j;
}

static const char *get_str(const struct http_provider *p, const cJSON *o, const char *k, int *bad)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (!v)
		return NULL;
	if (!cJSON_IsString(v)) {
		crm_error("%s: \"%s\" must be a string", p->path, k);
		*bad = 1;
		return NULL;
	}
	return v->valuestring;
}

static long conf_long(const struct conf *conf, const char *sec, const char *key, long def,
		      int *bad)
{
	const char *v = conf_get(conf, sec, key);
	char *end;
	long n;

	if (!v)
		return def;
	n = strtol(v, &end, 10);
	if (end == v || *end || n <= 0 || n > 86400) {
		crm_error("%s: [%s] %s: a number of seconds, not \"%s\"", conf_name(conf), sec, key, v);
		*bad = 1;
		return def;
	}
	return n;
}

static int conf_bool(const struct conf *conf, const char *sec, const char *key, int *bad)
{
	const char *v = conf_get(conf, sec, key);

	if (!v || !*v || !strcmp(v, "0") || !ascii_casecmp(v, "no") || !ascii_casecmp(v, "false") ||
	    !ascii_casecmp(v, "off"))
		return 0;
	if (!strcmp(v, "1") || !ascii_casecmp(v, "yes") || !ascii_casecmp(v, "true") ||
	    !ascii_casecmp(v, "on"))
		return 1;
	crm_error("%s: [%s] %s: yes or no, not \"%s\"", conf_name(conf), sec, key, v);
	*bad = 1;
	return 0;
}

/* Reads the "config" keys of the preset from the section. */
static int load_keys(struct http_provider *p, const struct conf *conf)
{
	const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(p->preset, "config"), *k;

	if (cfg && !cJSON_IsObject(cfg)) {
		crm_error("%s: \"config\" must be an object of key: {\"secret\", \"default\", "
			  "\"required\"}", p->path);
		return -1;
	}
	p->keys = xcalloc((size_t)cJSON_GetArraySize(cfg) + 1, sizeof(*p->keys));
	cJSON_ArrayForEach(k, cfg) {
		struct key *key = &p->keys[p->nkeys];
		const cJSON *sec, *def, *req, *raw;

		if (!is_name(k->string, strlen(k->string)) || in_list(msg_names, k->string) ||
		    in_list(own_keys, k->string) || key_find(p, k->string)) {
			crm_error("%s: config key \"%s\": not a name, or a name taken by a message "
				  "value or by crm-send", p->path, k->string);
			return -1;
		}
		if (!cJSON_IsObject(k)) {
			crm_error("%s: config key \"%s\" must be an object", p->path, k->string);
			return -1;
		}
		sec = cJSON_GetObjectItemCaseSensitive(k, "secret");
		def = cJSON_GetObjectItemCaseSensitive(k, "default");
		req = cJSON_GetObjectItemCaseSensitive(k, "required");
		raw = cJSON_GetObjectItemCaseSensitive(k, "url");
		if ((sec && !cJSON_IsBool(sec)) || (def && !cJSON_IsString(def)) ||
		    (req && !cJSON_IsBool(req)) || (raw && !cJSON_IsBool(raw))) {
			crm_error("%s: config key \"%s\": secret, required and url are true or "
				  "false, default a string", p->path, k->string);
			return -1;
		}
		key->name = xstrdup(k->string);
		key->secret = cJSON_IsTrue(sec);
		key->raw = cJSON_IsTrue(raw) || !strcmp(key->name, "base_url");
		key->required = req ? cJSON_IsTrue(req) : !def;
		p->nkeys++;
		if (key->secret) {
			if (!p->dry_run)
				key->value = conf_secret(conf, p->channel, key->name);
			else
				key->value = "***";
		} else {
			key->value = conf_get(conf, p->channel, key->name);
		}
		if (key->value && !*key->value && !key->secret)
			key->value = NULL;
		if (!key->value && def)
			key->value = key->owned = xstrdup(def->valuestring);
		if (key->value && !strcmp(key->name, "base_url")) {	/* no trailing / */
			size_t n = strlen(key->value);
			while (n > 1 && key->value[n - 1] == '/')
				n--;
			if (n != strlen(key->value)) {
				char *t = xstrndup(key->value, n);
				free(key->owned);
				key->value = key->owned = t;
			}
		}
		if (key->secret && key->value && *key->value) {
			struct sb enc = SB_INIT;
			pct_encode(&enc, key->value, 0);
			key->enc = sb_detach(&enc);
			if (!p->dry_run)
				redact_add(&p->red, key->value);
		}
		if (!key->value && key->required) {
			if (key->secret)
				crm_error("%s: [%s] %s is not set: %s_env = VARIABLE names an environment "
					  "variable that holds it", conf_name(conf), p->channel, key->name,
					  key->name);
			else
				crm_error("%s: [%s] %s is not set (preset %s)", conf_name(conf), p->channel,
					  key->name, p->path);
			return -1;
		}
	}
	return 0;
}

/* Is url http(s) and, when plain http, to the loopback (or allowed)? */
static int check_url(struct http_provider *p, const struct conf *conf, const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	int ok = 0;

	if (!u)
		crm_die(1, "out of memory");
	for (const unsigned char *c = (const unsigned char *)url; *c; c++)
		if (*c <= ' ' || *c == 0x7f) {
			crm_error("%s: [%s]: the URL has a space or a control character", conf_name(conf),
				  p->channel);
			curl_url_cleanup(u);
			return -1;
		}
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		struct sb b = SB_INIT;
		sb_adds(&b, url);
		redact(p, &b);
		crm_error("%s: [%s]: not a URL: \"%s\" (is base_url set?)", conf_name(conf), p->channel,
			  b.buf);
		sb_free(&b);
	} else if (strcmp(scheme, "https") && strcmp(scheme, "http")) {
		crm_error("%s: [%s]: the URL must be http:// or https://", conf_name(conf), p->channel);
	} else if (!strcmp(scheme, "http") && strcmp(host, "localhost") && strcmp(host, "[::1]") &&
		   strncmp(host, "127.", 4)) {
		int bad = 0;
		if (conf_bool(conf, p->channel, "allow_http", &bad))
			ok = 1;
		else if (!bad)
			crm_error("%s: [%s]: plain http:// to %s would send the credentials and the "
				  "messages unencrypted: use https://, or allow_http = yes",
				  conf_name(conf), p->channel, host);
	} else {
		ok = 1;
	}
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return ok ? 0 : -1;
}

static int parse_preset(struct http_provider *p, const struct conf *conf)
{
	const cJSON *j = p->preset, *v;
	int bad = 0;
	const char *addr;
	static const char *const known[] = {
		"description", "address", "config", "method", "url", "headers", "json", "form",
		"basic_auth", "sign", "response", "retry", "comment", NULL,
	};

	cJSON_ArrayForEach(v, j)
		if (!in_list(known, v->string)) {
			crm_error("%s: unknown member \"%s\"", p->path, v->string);
			return -1;
		}
	if (load_keys(p, conf) < 0)
		return -1;
	addr = get_str(p, j, "address", &bad);
	p->method = get_str(p, j, "method", &bad);
	p->url = get_str(p, j, "url", &bad);
	if (bad)
		return -1;
	if (!p->method)
		p->method = "POST";
	if (strcmp(p->method, "POST") && strcmp(p->method, "PUT") && strcmp(p->method, "PATCH")) {
		crm_error("%s: method must be POST, PUT or PATCH", p->path);
		return -1;
	}
	if (!p->url || !addr) {
		crm_error("%s: a preset needs \"url\" and \"address\"", p->path);
		return -1;
	}
	if (!p->address)
		p->address = xstrdup(addr);
	if (check_string(p, p->url, "url") < 0)
		return -1;

	p->headers = cJSON_GetObjectItemCaseSensitive(j, "headers");
	if (p->headers) {
		if (!cJSON_IsObject(p->headers)) {
			crm_error("%s: \"headers\" must be an object of name: value", p->path);
			return -1;
		}
		cJSON_ArrayForEach(v, p->headers) {
			const char *c;
			for (c = v->string; *c; c++)
				if (!(ascii_isalpha((unsigned char)*c) || ascii_isdigit((unsigned char)*c) ||
				      *c == '-' || *c == '_'))
					break;
			if (*c || !*v->string || !cJSON_IsString(v)) {
				crm_error("%s: header \"%s\": a name of letters, digits and -, and a "
					  "string value", p->path, v->string);
				return -1;
			}
			if (!ascii_casecmp(v->string, "Idempotency-Key") ||
			    !ascii_casecmp(v->string, "Content-Length") ||
			    !ascii_casecmp(v->string, "Host")) {
				crm_error("%s: header \"%s\" is set by crm-send", p->path, v->string);
				return -1;
			}
			if (check_string(p, v->valuestring, v->string) < 0)
				return -1;
		}
	}
	p->json = cJSON_GetObjectItemCaseSensitive(j, "json");
	p->form = cJSON_GetObjectItemCaseSensitive(j, "form");
	if (!!p->json == !!p->form) {
		crm_error("%s: a preset needs a body: \"json\" or \"form\" (one of them)", p->path);
		return -1;
	}
	if (p->json && check_tree(p, p->json, "json") < 0)
		return -1;
	if (p->form) {
		if (!cJSON_IsObject(p->form)) {
			crm_error("%s: \"form\" must be an object of name: value", p->path);
			return -1;
		}
		cJSON_ArrayForEach(v, p->form)
			if (!cJSON_IsString(v)) {
				crm_error("%s: form field \"%s\" must be a string", p->path, v->string);
				return -1;
			}
		if (check_tree(p, p->form, "form") < 0)
			return -1;
	}
	p->basic = cJSON_GetObjectItemCaseSensitive(j, "basic_auth");
	if (p->basic && (!cJSON_IsArray(p->basic) || cJSON_GetArraySize(p->basic) != 2 ||
			 !cJSON_IsString(cJSON_GetArrayItem(p->basic, 0)) ||
			 !cJSON_IsString(cJSON_GetArrayItem(p->basic, 1)))) {
		crm_error("%s: \"basic_auth\" must be [\"user\", \"password\"]", p->path);
		return -1;
	}
	if (p->basic && check_tree(p, p->basic, "basic_auth") < 0)
		return -1;
	p->sign = cJSON_GetObjectItemCaseSensitive(j, "sign");
	if (p->sign) {
		const char *h = get_str(p, p->sign, "header", &bad);
		const char *k = get_str(p, p->sign, "key", &bad);
		get_str(p, p->sign, "prefix", &bad);
		if (bad || !cJSON_IsObject(p->sign) || !h || !k) {
			crm_error("%s: \"sign\" must be {\"header\": NAME, \"key\": KEY, \"prefix\": "
				  "TEXT}", p->path);
			return -1;
		}
		if (check_tree(p, p->sign, "sign") < 0)
			return -1;
	}
	p->response = cJSON_GetObjectItemCaseSensitive(j, "response");
	if (p->response) {
		if (!cJSON_IsObject(p->response)) {
			crm_error("%s: \"response\" must be an object", p->path);
			return -1;
		}
		cJSON_ArrayForEach(v, p->response)
			if (strcmp(v->string, "id") && strcmp(v->string, "ok") &&
			    strcmp(v->string, "error") && strcmp(v->string, "retry_after")) {
				crm_error("%s: response: unknown member \"%s\" (id, ok, error, "
					  "retry_after)", p->path, v->string);
				return -1;
			}
		p->resp_id = get_str(p, p->response, "id", &bad);
		p->resp_err = get_str(p, p->response, "error", &bad);
		p->resp_retry = get_str(p, p->response, "retry_after", &bad);
		if (bad)
			return -1;
		p->resp_ok = cJSON_GetObjectItemCaseSensitive(p->response, "ok");
		if (p->resp_ok && !cJSON_IsString(p->resp_ok) &&
		    !(cJSON_IsObject(p->resp_ok) &&
		      cJSON_IsString(cJSON_GetObjectItemCaseSensitive(p->resp_ok, "path")) &&
		      cJSON_GetObjectItemCaseSensitive(p->resp_ok, "equals"))) {
			crm_error("%s: response.ok must be a path or {\"path\": P, \"equals\": V}",
				  p->path);
			return -1;
		}
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "retry");
	if (v) {
		const cJSON *c;
		if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > MAX_RETRY) {
			crm_error("%s: \"retry\" must be a list of HTTP statuses", p->path);
			return -1;
		}
		cJSON_ArrayForEach(c, v) {
			if (!cJSON_IsNumber(c) || c->valuedouble < 100 || c->valuedouble > 599) {
				crm_error("%s: \"retry\" must be a list of HTTP statuses", p->path);
				return -1;
			}
			p->retry[p->nretry++] = c->valueint;
		}
	} else {
		static const int def[] = { 408, 429, 500, 502, 503, 504 };
		for (size_t i = 0; i < ARRAY_SIZE(def); i++)
			p->retry[p->nretry++] = def[i];
	}
	{
		/* the URL with every message value empty must be a usable one */
		struct sb url = SB_INIT;
		int rc;
		if (fill(p, p->url, ENC_URL, &url) < 0) {
			crm_error("%s: [%s] %s is not set, and the url needs it", conf_name(conf),
				  p->channel, p->unset);
			sb_free(&url);
			return -1;
		}
		rc = check_url(p, conf, url.buf);
		sb_free(&url);
		if (rc < 0)
			return -1;
	}
	return 0;
}

struct http_provider *http_open(const char *channel, const struct conf *conf, int dry_run)
{
	struct http_provider *p = xcalloc(1, sizeof(*p));
	const char *name = conf_get(conf, channel, "preset"), *v;
	int bad = 0, insecure;

	redact_init(&p->red);
	p->channel = xstrdup(channel);
	p->dry_run = dry_run;
	sb_init(&p->body);
	sb_init(&p->resp);
	sb_init(&p->text);
	sb_init(&p->req_url);
	sb_init(&p->user);
	sb_init(&p->pass);
	sb_init(&p->tmp);
	sb_init(&p->line);
	sb_init(&p->why);
	sb_init(&p->q);
	if (!name)
		for (size_t i = 0; i < ARRAY_SIZE(default_presets); i++)
			if (!strcmp(default_presets[i].channel, channel))
				name = default_presets[i].preset;
	if (!name) {
		crm_error("%s: [%s] preset is not set", conf_name(conf), channel);
		goto fail;
	}
	if (!(p->path = find_preset(channel, name)) || !(p->preset = load_json(p->path)))
		goto fail;
	if ((v = conf_get(conf, channel, "address")) && *v)
		p->address = xstrdup(v);
	if (parse_preset(p, conf) < 0)
		goto fail;
	p->timeout = conf_long(conf, channel, "timeout", 30, &bad);
	p->connect_timeout = conf_long(conf, channel, "connect_timeout", 10, &bad);
	if (bad)
		goto fail;
	if (dry_run)
		return p;

	insecure = conf_bool(conf, channel, "insecure", &bad);
	if (bad)
		goto fail;
	p->curl = chan_curl_new(p, read_cb, header_cb, debug_cb, p->timeout, p->connect_timeout,
				insecure, conf_get(conf, channel, "ca_file"));
	p->verbose = crm_verbosity >= 4;
	curl_easy_setopt(p->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(p->curl, CURLOPT_TCP_KEEPALIVE, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(p->curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(p->curl, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(p->curl, CURLOPT_USERAGENT, "crmkit/" CRM_VERSION);
	curl_easy_setopt(p->curl, CURLOPT_POST, 1L);
	if (strcmp(p->method, "POST"))
		curl_easy_setopt(p->curl, CURLOPT_CUSTOMREQUEST, p->method);
	curl_easy_setopt(p->curl, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(p->curl, CURLOPT_WRITEDATA, p);
	curl_easy_setopt(p->curl, CURLOPT_ERRORBUFFER, p->errbuf);
	return p;
fail:
	http_close(p);
	return NULL;
}

const char *http_address_field(const struct http_provider *p)
{
	return p->address;
}

const char *http_preset_path(const struct http_provider *p)
{
	return p->path;
}

int http_last_was_provider_problem(const struct http_provider *p)
{
	return p->provider_problem;
}

void http_close(struct http_provider *p)
{
	if (!p)
		return;
	if (p->curl)
		curl_easy_cleanup(p->curl);
	for (size_t i = 0; i < p->nkeys; i++) {
		free(p->keys[i].name);
		free(p->keys[i].owned);
		free(p->keys[i].enc);
	}
	free(p->keys);
	cJSON_Delete(p->preset);
	free(p->channel);
	free(p->path);
	free(p->address);
	sb_free(&p->body);
	sb_free(&p->resp);
	sb_free(&p->text);
	sb_free(&p->req_url);
	sb_free(&p->user);
	sb_free(&p->pass);
	sb_free(&p->tmp);
	sb_free(&p->line);
	sb_free(&p->why);
	sb_free(&p->q);
	redact_free(&p->red);
	free(p);
}

/* ---- sending -------------------------------------------------------------- */

static int has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

static int header_set(const cJSON *headers, const char *name)
{
	const cJSON *v;

	cJSON_ArrayForEach(v, headers)
		if (!ascii_casecmp(v->string, name))
			return 1;
	return 0;
}

/* Builds the request: p->req_url, headers, p->body, p->user and p->pass
 * (all empty before). Returns 0, or -1 with r filled (the message cannot
 * be made into a request: permanent). */
static int build(struct http_provider *p, struct curl_slist **hdrs, struct chan_result *r)
{
	struct sb *tmp = &p->tmp, *line = &p->line;
	const cJSON *v;

	if (fill(p, p->url, ENC_URL, &p->req_url) < 0) {
		snprintf(r->reason, sizeof(r->reason), "[%s] %s is not set", p->channel, p->unset);
		return -1;
	}
	/* the body */
	sb_reset(&p->body);
	if (p->json) {
		cJSON *body = build_json(p, p->json, tmp);
		char *text = body ? cJSON_PrintUnformatted(body) : NULL;
		cJSON_Delete(body);
		if (!text)
			crm_die(1, "out of memory");
		sb_adds(&p->body, text);
		cJSON_free(text);
	} else {
		cJSON_ArrayForEach(v, p->form) {
			sb_reset(tmp);
			if (fill(p, v->valuestring, ENC_RAW, tmp) < 0)
				continue;
			if (p->body.len)
				sb_addc(&p->body, '&');
			pct_encode(&p->body, v->string, 1);
			sb_addc(&p->body, '=');
			pct_encode(&p->body, tmp->buf, 1);
		}
	}
	/* the headers */
	if (!header_set(p->headers, "Content-Type"))
		*hdrs = curl_slist_append(*hdrs, p->json ? "Content-Type: application/json; charset=utf-8"
						    : "Content-Type: application/x-www-form-urlencoded");
	if (!header_set(p->headers, "Accept"))
		*hdrs = curl_slist_append(*hdrs, "Accept: application/json");
	*hdrs = curl_slist_append(*hdrs, "Expect:");	/* no 100-continue round trip */
	sb_reset(line);
	sb_addf(line, "Idempotency-Key: %s", p->m->idempotency_key);
	if (has_ctl(p->m->idempotency_key)) {
		snprintf(r->reason, sizeof(r->reason), "invalid idempotency key");
		return -1;
	}
	*hdrs = curl_slist_append(*hdrs, line->buf);
	cJSON_ArrayForEach(v, p->headers) {
		sb_reset(tmp);
		if (fill(p, v->valuestring, ENC_RAW, tmp) < 0)
			continue;
		if (has_ctl(tmp->buf)) {
			snprintf(r->reason, sizeof(r->reason), "header %.64s: a control character in "
				 "its value", v->string);
			return -1;
		}
		sb_reset(line);
		/* "Name;" sends a header with an empty value */
		if (tmp->len)
			sb_addf(line, "%s: %s", v->string, tmp->buf);
		else
			sb_addf(line, "%s;", v->string);
		*hdrs = curl_slist_append(*hdrs, line->buf);
	}
	if (p->sign) {
		const char *key = cJSON_GetObjectItemCaseSensitive(p->sign, "key")->valuestring;
		const cJSON *pre = cJSON_GetObjectItemCaseSensitive(p->sign, "prefix");
		char mac[65];
		sb_reset(tmp);
		if (fill(p, key, ENC_RAW, tmp) == 0 && tmp->len) {
			hash_hmac_hex(tmp->buf, tmp->len, p->body.buf, p->body.len, mac);
			sb_reset(line);
			sb_addf(line, "%s: %s%s",
				cJSON_GetObjectItemCaseSensitive(p->sign, "header")->valuestring,
				pre ? pre->valuestring : "", mac);
			*hdrs = curl_slist_append(*hdrs, line->buf);
		}
	}
	if (p->basic) {
		if (fill(p, cJSON_GetArrayItem(p->basic, 0)->valuestring, ENC_RAW, &p->user) < 0 ||
		    fill(p, cJSON_GetArrayItem(p->basic, 1)->valuestring, ENC_RAW, &p->pass) < 0) {
			snprintf(r->reason, sizeof(r->reason), "[%s] %s is not set", p->channel, p->unset);
			return -1;
		}
		/* a reply may echo them as base64 (Authorization: Basic) */
		if (!p->red_login) {
			redact_add_login(&p->red, p->user.buf, p->pass.buf);
			p->red_login = 1;
		}
	}
	return 0;
}

static int retryable(const struct http_provider *p, long code)
{
	for (int i = 0; i < p->nretry; i++)
		if (p->retry[i] == code)
			return 1;
	return 0;
}

/* The provider's error text (or an excerpt of the reply) for a reason. */
static void error_text(const struct http_provider *p, const cJSON *reply, struct sb *out)
{
	const char *t = p->resp_err ? json_text(jpath(reply, p->resp_err)) : NULL;

	if (t)
		redacted_excerpt(p, out, t, strlen(t), 160, 0);
	else if (p->resp.len)
		redacted_excerpt(p, out, p->resp.buf, p->resp.len, 160, 0);
}

/* The reason, from the whole text: redacted before it is cut to size */
static void set_reason(const struct http_provider *p, struct chan_result *r, struct sb *b)
{
	redact_sb(b, &p->red);
	snprintf(r->reason, sizeof(r->reason), "%s", b->buf);
}

/* After a request, whatever its outcome: forget the message and the
 * credentials. */
static void request_done(struct http_provider *p)
{
	p->m = NULL;
	curl_slist_free_all(p->hdrs);
	p->hdrs = NULL;
	if (p->curl)
		curl_easy_setopt(p->curl, CURLOPT_HTTPHEADER, NULL);
	if (p->basic && p->curl) {
		curl_easy_setopt(p->curl, CURLOPT_USERNAME, NULL);
		curl_easy_setopt(p->curl, CURLOPT_PASSWORD, NULL);
	}
	if (p->pass.len)
		memset(p->pass.buf, 0, p->pass.len);
}

int http_begin(struct http_provider *p, const struct http_msg *m, struct chan_result *r)
{
	struct sb *why = &p->why, *q = &p->q;

	memset(r, 0, sizeof(*r));
	p->provider_problem = 0;
	if (!m->address || !*m->address || strlen(m->address) > 512 || has_ctl(m->address)) {
		r->status = CHAN_PERMANENT;
		snprintf(r->reason, sizeof(r->reason), "invalid address");
		return -1;
	}
	if (!m->idempotency_key || !*m->idempotency_key) {
		r->status = CHAN_PERMANENT;
		snprintf(r->reason, sizeof(r->reason), "no idempotency key");
		return -1;
	}
	p->m = m;
	sb_reset(&p->req_url);
	sb_reset(&p->user);
	sb_reset(&p->pass);
	sb_reset(why);
	sb_reset(q);
	sb_reset(&p->text);
	if (m->text) {
		size_t n = strlen(m->text);
		while (n && (m->text[n - 1] == '\n' || m->text[n - 1] == '\r'))
			n--;
		sb_add(&p->text, m->text, n);
	}
	p->hdrs = NULL;
	if (build(p, &p->hdrs, r) < 0) {
		r->status = CHAN_PERMANENT;
		request_done(p);
		return -1;
	}
	p->body_off = p->body_out = 0;
	p->hdr_started = p->hdr_done = p->resent = p->whole_before = p->replied = 0;
	p->retry_after = 0;
	p->errbuf[0] = 0;
	sb_reset(&p->resp);
	curl_easy_setopt(p->curl, CURLOPT_URL, p->req_url.buf);
	curl_easy_setopt(p->curl, CURLOPT_HTTPHEADER, p->hdrs);
	curl_easy_setopt(p->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)p->body.len);
	if (p->basic) {
		curl_easy_setopt(p->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(p->curl, CURLOPT_USERNAME, p->user.buf);
		curl_easy_setopt(p->curl, CURLOPT_PASSWORD, p->pass.buf);
	}
	return 0;
}

CURL *http_handle(const struct http_provider *p)
{
	return p->curl;
}

void http_end(struct http_provider *p, CURLcode rc, struct chan_result *r)
{
	struct sb *why = &p->why, *q = &p->q;
	cJSON *reply = NULL;
	long code = 0;
	int complete;

	curl_easy_getinfo(p->curl, CURLINFO_RESPONSE_CODE, &code);
	/* libcurl leaves the previous message's status when a transfer ends
	 * before a status line, as when curl_easy_perform() gives up on a
	 * failed poll() (CURLE_BAD_FUNCTION_ARGUMENT): no reply is no reply */
	if (!p->replied)
		code = 0;
	/* the last byte of the request was written, now or by an attempt
	 * before libcurl started it again */
	complete = (p->hdr_done && p->body_out >= p->body.len) || p->whole_before;
	r->code = (int)code;

	if (code >= 200 && p->resp.len) {
		quote_numbers(p->resp.buf, p->resp.len, q);
		reply = cJSON_ParseWithLength(q->buf, q->len);
	}
	if (code < 200) {	/* no reply (1xx are never final) */
		const char *err = p->errbuf[0] ? p->errbuf : curl_easy_strerror(rc);
		/* libcurl found the reused connection closed and wanted to
		 * send the request again: the read callback refused */
		if (p->resent || rc == CURLE_SEND_FAIL_REWIND || rc == CURLE_GOT_NOTHING)
			err = "the connection was closed without a reply";
		/* what curl_easy_perform() says when its poll() failed */
		else if (rc == CURLE_BAD_FUNCTION_ARGUMENT && !p->errbuf[0])
			err = "libcurl stopped waiting for the connection";
		if (complete) {
			r->status = CHAN_IN_DOUBT;
			sb_addf(why, "no reply after the request was sent: %s", err);
		} else {
			r->status = CHAN_TRANSIENT;
			p->provider_problem = !p->hdr_started;
			sb_addf(why, "%s%s", p->hdr_started ? "the request was not sent completely: " : "",
				err);
		}
	} else if (code < 300) {
		int ok = p->resp_ok ? (reply ? reply_ok(p, reply) : -1) : 1;
		const char *id = p->resp_id && reply ? json_text(jpath(reply, p->resp_id)) : NULL;
		if (ok < 0) {
			r->status = CHAN_IN_DOUBT;
			sb_addf(why, "HTTP %ld but the reply cannot be read%s", code,
				rc != CURLE_OK ? " (cut short)" : "");
			if (p->resp.len) {
				sb_adds(why, ": ");
				redacted_excerpt(p, why, p->resp.buf, p->resp.len, 80, 0);
			}
		} else if (!ok) {
			r->status = CHAN_PERMANENT;
			sb_addf(why, "refused (HTTP %ld): ", code);
			error_text(p, reply, why);
		} else {
			r->status = CHAN_SENT;
			sb_reset(q);
			if (id && *id)
				redacted_excerpt(p, q, id, strlen(id), sizeof(r->provider_id) - 4, 0);
			else
				sb_addf(q, "HTTP %ld", code);
			redact_sb(q, &p->red);
			snprintf(r->provider_id, sizeof(r->provider_id), "%s", q->buf);
		}
	} else {
		const char *ra = p->resp_retry && reply ? json_text(jpath(reply, p->resp_retry)) : NULL;
		sb_addf(why, "HTTP %ld", code);
		if (p->resp.len || reply) {
			size_t at = why->len;
			sb_adds(why, ": ");
			error_text(p, reply, why);
			if (why->len == at + 2)
				why->len = at, why->buf[at] = 0;
		}
		if (code == 401 || code == 407) {
			r->status = CHAN_TRANSIENT;
			p->provider_problem = 1;
		} else if (retryable(p, code)) {
			r->status = CHAN_TRANSIENT;
			r->retry_after = p->retry_after;
			if (ra) {
				double d = strtod(ra, NULL);
				if (d > r->retry_after && d < 1e6)
					r->retry_after = (int)d;
			}
		} else {
			r->status = CHAN_PERMANENT;
		}
	}
	if (why->len)
		set_reason(p, r, why);
	if (crm_verbosity >= 3) {
		sb_reset(why);
		sb_addf(why, "%s: ", p->channel);
		if (code)
			sb_addf(why, "HTTP %ld: ", code);
		sb_addf(why, "%s%s%s", chan_status_name(r->status), r->reason[0] ? ": " : "",
			r->reason);
		crm_info("%s", why->buf);
	}
	cJSON_Delete(reply);
	request_done(p);
}

void http_send(struct http_provider *p, const struct http_msg *m, struct chan_result *r)
{
	if (http_begin(p, m, r) == 0)
		http_end(p, curl_easy_perform(p->curl), r);
}
