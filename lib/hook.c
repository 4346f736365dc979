/*
 * hook.c - provider callbacks: loading a preset of share/hooks with its
 * [hook.NAME] section, and the order in which a request is handled
 * (method, size, verification, parsing, the SNS envelope, the rules).
 * See hook.h for the interface and share/hooks/README for the presets.
 */
#include "hook_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/err.h>

#include "conf.h"
#include "diag.h"
#include "share.h"
#include "suggest.h"

#define PRESET_MAX (1u << 20)
#define CHALLENGE_MAX 256

/* Keys of a section that belong to every hook, not to its preset. */
static const char *const own_keys[] = { "preset", "max_age", NULL };

const char *hook_kind_name(enum hook_kind k)
{
	return k == HOOK_EVENT ? "event" : k == HOOK_CONSENT ? "consent" : "bind";
}

const char *hook_conf(const struct hook *h, const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < h->nkeys; i++)
		if (!strcmp(h->keys[i].name, name))
			return h->keys[i].value;
	return NULL;
}

int hook_fail(struct hook_result *out, int status, const char *fmt, ...)
{
	va_list ap;

	out->status = status;
	va_start(ap, fmt);
	vsnprintf(out->err, sizeof(out->err), fmt, ap);
	va_end(ap);
	return status;
}

const char *hook_preset_path(const struct hook *h)
{
	return h->path;
}

/* ---- loading ------------------------------------------------------------- */

/* The file of preset name (a name of share/hooks, see share.h, or a path
 * with a /), or NULL with err filled. */
static char *find_preset(const char *section, const char *name, struct sb *err)
{
	struct sb tried = SB_INIT;
	char *path;

	if (strchr(name, '/'))
		return xstrdup(name);
	if (!share_name_ok(name)) {
		sb_addf(err, "[%s] preset \"%s\": a name of share/hooks or a path with a /",
			section, name);
		return NULL;
	}
	if (!(path = share_find("hooks", name, ".json", &tried))) {
		char sug[128];
		sb_addf(err, "[%s] preset \"%s\": no %s.json in %s", section, name, name, tried.buf);
		if (suggest_file(name, tried.buf, ".json", sug, sizeof(sug)))
			sb_addf(err, "; did you mean \"%s\"?", sug);
	}
	sb_free(&tried);
	return path;
}

/* Reads at most max bytes of path into out: 0, or -1 (errno set; EFBIG
 * when longer). */
static int read_file(const char *path, size_t max, struct sb *out)
{
	FILE *fp = fopen(path, "rb");
	char buf[8192];
	size_t n;

	if (!fp)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0) {
		if (out->len + n > max) {
			fclose(fp);
			errno = EFBIG;
			return -1;
		}
		sb_add(out, buf, n);
	}
	if (ferror(fp)) {
		fclose(fp);
		errno = EIO;
		return -1;
	}
	fclose(fp);
	return 0;
}

static int in_list(const char *const *l, const char *s)
{
	for (; *l; l++)
		if (!strcmp(*l, s))
			return 1;
	return 0;
}

static int load_keys(struct hook *h, const struct conf *conf, struct sb *err)
{
	const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(h->preset, "config"), *k;

	if (cfg && !cJSON_IsObject(cfg)) {
		sb_addf(err, "%s: \"config\" must be an object of key: {\"secret\", \"default\", "
			"\"required\"}", h->path);
		return -1;
	}
	h->keys = xcalloc((size_t)cJSON_GetArraySize(cfg) + 2, sizeof(*h->keys));
	cJSON_ArrayForEach(k, cfg) {
		struct hook_key *key = &h->keys[h->nkeys];
		const cJSON *sec = cJSON_GetObjectItemCaseSensitive(k, "secret");
		const cJSON *def = cJSON_GetObjectItemCaseSensitive(k, "default");
		const cJSON *req = cJSON_GetObjectItemCaseSensitive(k, "required");
		const cJSON *x;
		int required;

		if (!cJSON_IsObject(k) || in_list(own_keys, k->string) || hook_conf(h, k->string) ||
		    !*k->string || strlen(k->string) > 60 || strstr(k->string, "_env")) {
			sb_addf(err, "%s: config key \"%s\": an object, and a name not taken by "
				"preset or max_age", h->path, k->string);
			return -1;
		}
		cJSON_ArrayForEach(x, k)
			if (strcmp(x->string, "secret") && strcmp(x->string, "default") &&
			    strcmp(x->string, "required") && strcmp(x->string, "comment")) {
				sb_addf(err, "%s: config key \"%s\": unknown member \"%s\"", h->path,
					k->string, x->string);
				return -1;
			}
		if ((sec && !cJSON_IsBool(sec)) || (def && !cJSON_IsString(def)) ||
		    (req && !cJSON_IsBool(req))) {
			sb_addf(err, "%s: config key \"%s\": secret and required are true or false, "
				"default a string", h->path, k->string);
			return -1;
		}
		key->name = xstrdup(k->string);
		key->secret = cJSON_IsTrue(sec);
		required = req ? cJSON_IsTrue(req) : !def;
		h->nkeys++;
		key->value = key->secret ? conf_secret(conf, h->section, key->name)
					 : conf_get(conf, h->section, key->name);
		if (key->value && !*key->value)
			key->value = NULL;
		if (!key->value && def)
			key->value = key->owned = xstrdup(def->valuestring);
		if (!key->value && required) {
			if (key->secret)
				sb_addf(err, "%s: [%s] %s is not set: %s_env = VARIABLE names an "
					"environment variable that holds it", conf_name(conf),
					h->section, key->name, key->name);
			else
				sb_addf(err, "%s: [%s] %s is not set (preset %s)", conf_name(conf),
					h->section, key->name, h->path);
			return -1;
		}
	}
	{
		struct hook_key *key = &h->keys[h->nkeys++];
		const char *v = conf_get(conf, h->section, "max_age");
		int64_t n;
		key->name = xstrdup("max_age");
		if (v && *v) {
			if (parse_int64(v, &n) < 0 || n < 1 || n > 86400 * 30) {
				sb_addf(err, "%s: [%s] max_age: a number of seconds, not \"%s\"",
					conf_name(conf), h->section, v);
				return -1;
			}
			key->value = v;
		}
	}
	return 0;
}

static const char *get_str(const cJSON *o, const char *k, int *bad)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (!v)
		return NULL;
	if (!cJSON_IsString(v)) {
		*bad = 1;
		return NULL;
	}
	return v->valuestring;
}

static int parse_preset(struct hook *h, const struct conf *conf, struct sb *err)
{
	const cJSON *j = h->preset, *v;
	const char *parse, *env, *get;
	int bad = 0;
	static const char *const known[] = {
		"description", "comment", "config", "parse", "verify", "envelope", "get", "answer",
		"rules", NULL,
	};

	cJSON_ArrayForEach(v, j)
		if (!in_list(known, v->string)) {
			sb_addf(err, "%s: unknown member \"%s\"", h->path, v->string);
			return -1;
		}
	if (load_keys(h, conf, err) < 0)
		return -1;
	parse = get_str(j, "parse", &bad);
	env = get_str(j, "envelope", &bad);
	get = get_str(j, "get", &bad);
	if (bad || (parse && strcmp(parse, "json") && strcmp(parse, "form")) ||
	    (env && strcmp(env, "sns")) || (get && strcmp(get, "hub_challenge"))) {
		sb_addf(err, "%s: parse is \"json\" or \"form\", envelope \"sns\", get "
			"\"hub_challenge\"", h->path);
		return -1;
	}
	h->form = parse && !strcmp(parse, "form");
	h->sns = env != NULL;
	h->hub_challenge = get != NULL;
	if (h->hub_challenge && !hook_conf(h, "verify_token") &&
	    !cJSON_HasObjectItem(cJSON_GetObjectItemCaseSensitive(j, "config"), "verify_token")) {
		sb_addf(err, "%s: get hub_challenge needs a config key verify_token", h->path);
		return -1;
	}
	if (h->sns && h->form) {
		sb_addf(err, "%s: the sns envelope is JSON", h->path);
		return -1;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "answer"))) {
		h->answer_type = get_str(v, "content_type", &bad);
		h->answer_body = get_str(v, "body", &bad);
		if (bad || !cJSON_IsObject(v) || !h->answer_type || !h->answer_body ||
		    cJSON_GetArraySize(v) != 2 || strlen(h->answer_type) > 100 ||
		    strpbrk(h->answer_type, "\r\n")) {
			sb_addf(err, "%s: \"answer\" is {\"content_type\": T, \"body\": B}", h->path);
			return -1;
		}
	}
	h->verify = cJSON_GetObjectItemCaseSensitive(j, "verify");
	if (!h->verify) {
		sb_addf(err, "%s: a hook preset needs \"verify\": callbacks from anyone would change "
			"consents", h->path);
		return -1;
	}
	if (hook_verify_load(h, err) < 0) {
		struct sb t = SB_INIT;
		sb_addf(&t, "%s: %s", h->path, err->buf);
		sb_reset(err);
		sb_add(err, t.buf, t.len);
		sb_free(&t);
		return -1;
	}
	h->rules = cJSON_GetObjectItemCaseSensitive(j, "rules");
	if (hook_map_load(h, err) < 0) {
		struct sb t = SB_INIT;
		sb_addf(&t, "%s: %s", h->path, err->buf);
		sb_reset(err);
		sb_add(err, t.buf, t.len);
		sb_free(&t);
		return -1;
	}
	/* the SNS certificate from a file (tests, or pinned by hand) */
	if (h->sns && hook_conf(h, "certificate")) {
		struct sb pem = SB_INIT;
		const char *f = hook_conf(h, "certificate");
		if (read_file(f, HOOK_CERT_MAX, &pem) < 0) {
			sb_addf(err, "%s: [%s] certificate: cannot read %s: %s", conf_name(conf),
				h->section, f, strerror(errno));
			sb_free(&pem);
			return -1;
		}
		h->cert_len = pem.len;
		h->cert = sb_detach(&pem);
	}
	return 0;
}

struct hook *hook_load(const struct conf *conf, const char *name, char **err)
{
	struct hook *h = xcalloc(1, sizeof(*h));
	struct sb e = SB_INIT, text = SB_INIT;
	const char *preset;

	h->name = xstrdup(name);
	sb_addf(&e, "hook.%s", name);
	h->section = sb_detach(&e);
	if (!(preset = conf_get(conf, h->section, "preset")) || !*preset) {
		sb_addf(&e, "%s: [%s] preset is not set", conf_name(conf), h->section);
		goto fail;
	}
	if (!(h->path = find_preset(h->section, preset, &e)))
		goto fail;
	if (read_file(h->path, PRESET_MAX, &text) < 0) {
		sb_addf(&e, "%s: cannot read the preset: %s", h->path, strerror(errno));
		goto fail;
	}
	if (!(h->preset = cJSON_ParseWithLength(text.buf, text.len)) || !cJSON_IsObject(h->preset)) {
		sb_addf(&e, "%s: the preset is not a JSON object", h->path);
		goto fail;
	}
	if (parse_preset(h, conf, &e) < 0)
		goto fail;
	sb_free(&text);
	sb_free(&e);
	if (err)
		*err = NULL;
	return h;
fail:
	sb_free(&text);
	if (err)
		*err = sb_detach(&e);
	else
		sb_free(&e);
	hook_free(h);
	return NULL;
}

void hook_free(struct hook *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->nkeys; i++) {
		free(h->keys[i].name);
		free(h->keys[i].owned);
	}
	free(h->keys);
	cJSON_Delete(h->preset);
	EVP_PKEY_free(h->pubkey);
	free(h->cert);
	free(h->name);
	free(h->section);
	free(h->path);
	free(h);
}

/* ---- a request --------------------------------------------------------- */

void hook_result_free(struct hook_result *r)
{
	for (size_t i = 0; i < r->nrecs; i++)
		hook_rec_free(&r->recs[i]);
	free(r->recs);
	free(r->confirm_url);
	sb_free(&r->body);
	r->recs = NULL;
	r->nrecs = 0;
	r->confirm_url = NULL;
}

/* The WhatsApp (Meta) verification GET: hub.mode=subscribe,
 * hub.verify_token, hub.challenge echoed as text. */
static int hub_challenge(struct hook_ctx *c)
{
	const struct hook_req *rq = c->rq;
	const char *q = rq->query ? rq->query : "", *mode, *tok, *ch, *want;
	cJSON *pairs = NULL, *f;
	int rc;

	if (strlen(q) > 4096 || !(f = hook_parse_form(q, strlen(q), &pairs)))
		return hook_fail(c->out, 400, "a query that is not name=value&...");
	mode = hook_text(cJSON_GetObjectItemCaseSensitive(f, "hub.mode"));
	tok = hook_text(cJSON_GetObjectItemCaseSensitive(f, "hub.verify_token"));
	ch = hook_text(cJSON_GetObjectItemCaseSensitive(f, "hub.challenge"));
	want = hook_conf(c->h, "verify_token");
	if (!mode || strcmp(mode, "subscribe") || !ch || !*ch || strlen(ch) > CHALLENGE_MAX) {
		rc = hook_fail(c->out, 400, "not a hub.mode=subscribe with a hub.challenge");
	} else if (!tok || !want ||
		   (!c->unverified &&
		    (strlen(tok) != strlen(want) || CRYPTO_memcmp(tok, want, strlen(want))))) {
		rc = hook_fail(c->out, 403, "hub.verify_token does not match");
	} else {
		for (const char *s = ch; *s; s++)
			if ((unsigned char)*s < 0x20 || *s == 0x7f) {
				rc = hook_fail(c->out, 400, "a hub.challenge with control characters");
				goto out;
			}
		c->out->content_type = "text/plain; charset=utf-8";
		sb_reset(&c->out->body);
		sb_adds(&c->out->body, ch);
		rc = 0;
	}
out:
	cJSON_Delete(f);
	cJSON_Delete(pairs);
	return rc;
}

/* The SNS envelope: 0 with c->root the Message to map, 1 when done (a
 * confirmation), or a 4xx. */
static int sns_envelope(struct hook_ctx *c)
{
	const cJSON *env = c->root;
	const char *type, *msg;
	int rc;
	cJSON *inner;

	if (!cJSON_IsObject(env))
		return hook_fail(c->out, 400, "not an SNS envelope");
	if ((rc = hook_verify_sns(c, env)))
		return rc;
	type = hook_text(cJSON_GetObjectItemCaseSensitive(env, "Type"));
	if (!strcmp(type, "SubscriptionConfirmation")) {
		const char *u = hook_text(cJSON_GetObjectItemCaseSensitive(env, "SubscribeURL"));
		if (!u || strlen(u) > 4096 || !hook_url_ok(c->h, u, 1))
			return hook_fail(c->out, 400, "SubscribeURL is not https on an amazonaws.com "
					 "host");
		c->out->confirm_url = xstrdup(u);
		return 1;
	}
	if (!strcmp(type, "UnsubscribeConfirmation"))
		return 1;
	if (strcmp(type, "Notification"))
		return hook_fail(c->out, 400, "unknown SNS Type");
	msg = hook_text(cJSON_GetObjectItemCaseSensitive(env, "Message"));
	if (!(inner = hook_parse_json(msg, strlen(msg))))
		return hook_fail(c->out, 400, "the SNS Message is not JSON");
	cJSON_Delete(c->root);
	c->root = inner;
	return 0;
}

static int handle(const struct hook *h, const struct hook_req *rq, struct hook_result *out,
		  int unverified)
{
	struct hook_ctx c = { h, rq, out, NULL, NULL, unverified };
	int rc;

	memset(out, 0, sizeof(*out));
	sb_init(&out->body);
	out->status = 200;
	out->content_type = h->answer_type ? h->answer_type : "text/plain; charset=utf-8";
	if (h->answer_body)
		sb_adds(&out->body, h->answer_body);

	if (!rq->method || (strcmp(rq->method, "POST") && strcmp(rq->method, "GET"))) {
		rc = hook_fail(out, 405, "only POST (and GET where the preset takes one)");
		goto out;
	}
	if (!strcmp(rq->method, "GET")) {
		rc = h->hub_challenge ? hub_challenge(&c)
				      : hook_fail(out, 405, "this preset takes no GET");
		goto out;
	}
	if (rq->len > HOOK_BODY_MAX) {
		rc = hook_fail(out, 413, "a body over %u bytes", HOOK_BODY_MAX);
		goto out;
	}
	if (!rq->body && rq->len) {
		rc = hook_fail(out, 400, "no body");
		goto out;
	}
	if (h->verify_raw && (rc = hook_verify(&c)))
		goto out;
	if (h->form)
		c.root = hook_parse_form(rq->body ? rq->body : "", rq->len, &c.pairs);
	else
		c.root = hook_parse_json(rq->body ? rq->body : "", rq->len);
	if (!c.root) {
		rc = hook_fail(out, 400, h->form ? "the body is not a form" : "the body is not JSON");
		goto out;
	}
	if (!h->verify_raw && (rc = hook_verify(&c)))
		goto out;
	if (h->sns && (rc = sns_envelope(&c))) {
		if (rc == 1)
			rc = 0;
		goto out;
	}
	rc = hook_map(&c);
out:
	cJSON_Delete(c.root);
	cJSON_Delete(c.pairs);
	ERR_clear_error();
	if (rc) {
		/* never a record, a confirmation or a reply with a refusal */
		for (size_t i = 0; i < out->nrecs; i++)
			hook_rec_free(&out->recs[i]);
		free(out->recs);
		out->recs = NULL;
		out->nrecs = 0;
		free(out->confirm_url);
		out->confirm_url = NULL;
		out->status = rc;
		out->content_type = "text/plain; charset=utf-8";
		sb_reset(&out->body);
	}
	return out->status;
}

int hook_handle(const struct hook *h, const struct hook_req *rq, struct hook_result *out)
{
	return handle(h, rq, out, 0);
}

int hook_handle_unverified(const struct hook *h, const struct hook_req *rq,
			   struct hook_result *out)
{
	return handle(h, rq, out, 1);
}
