/*
 * hook_verify.c - who sent a provider callback: HMAC signatures (hex or
 * base64 of SHA-1 or SHA-256 over named pieces of the request), HTTP
 * basic authentication, a shared secret in a header, ECDSA (SendGrid),
 * and Amazon SNS's RSA signatures with the signing certificate. Every
 * comparison of a secret is in constant time (CRYPTO_memcmp, on hashes
 * where lengths could differ).
 */
#include "hook_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define SIG_MAX 2048    /* bytes of a signature header or field */

/* ---- encodings -------------------------------------------------------- */

int hook_b64_decode(const char *s, size_t len, struct sb *out)
{
	struct sb in = SB_INIT;
	size_t pad = 0;
	int n;

	sb_reset(out);
	if (len > (1u << 20))
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad || !(ascii_isalpha(c) || ascii_isdigit(c) || c == '+' || c == '/')) {
			sb_free(&in);
			return -1;
		}
		sb_addc(&in, (char)c);
	}
	if (pad > 2 || in.len % 4 == 1) {
		sb_free(&in);
		return -1;
	}
	pad = (4 - in.len % 4) % 4;
	for (size_t i = 0; i < pad; i++)
		sb_addc(&in, '=');
	sb_grow(out, in.len / 4 * 3 + 4);
	n = in.len ? EVP_DecodeBlock((unsigned char *)out->buf, (const unsigned char *)in.buf,
				     (int)in.len) : 0;
	sb_free(&in);
	if (n < 0 || (size_t)n < pad)
		return -1;
	out->len = (size_t)n - pad;
	out->buf[out->len] = 0;
	return 0;
}

static int hex_decode(const char *s, size_t len, struct sb *out)
{
	sb_reset(out);
	if (len % 2)
		return -1;
	for (size_t i = 0; i < len; i += 2) {
		int v = 0;
		for (int k = 0; k < 2; k++) {
			int c = (unsigned char)s[i + k], d;
			if (c >= '0' && c <= '9')
				d = c - '0';
			else if ((c | 32) >= 'a' && (c | 32) <= 'f')
				d = (c | 32) - 'a' + 10;
			else
				return -1;
			v = v * 16 + d;
		}
		sb_addc(out, (char)v);
	}
	return 0;
}

/* Equal, in time that does not depend on where they differ nor on the
 * secret's length. */
static int same_secret(const char *a, size_t alen, const char *b, size_t blen)
{
	unsigned char ha[32], hb[32];

	if (!EVP_Digest(a, alen, ha, NULL, EVP_sha256(), NULL) ||
	    !EVP_Digest(b, blen, hb, NULL, EVP_sha256(), NULL))
		return 0;
	return CRYPTO_memcmp(ha, hb, 32) == 0 && alen == blen;
}

/* ---- URLs ------------------------------------------------------------- */

static int host_is_aws(const char *host, size_t n, int sns_only)
{
	static const char *const tails[] = { ".amazonaws.com", ".amazonaws.com.cn" };

	for (size_t t = 0; t < 2; t++) {
		size_t k = strlen(tails[t]);
		const char *region;
		size_t rn;
		if (n <= k || ascii_ncasecmp(host + n - k, tails[t], k))
			continue;
		if (!sns_only)
			return 1;
		if (n < 4 + k + 1 || ascii_ncasecmp(host, "sns.", 4))
			continue;
		region = host + 4;
		rn = n - k - 4;
		for (size_t i = 0; i < rn; i++)
			if (!(ascii_isalpha((unsigned char)region[i]) ||
			      ascii_isdigit((unsigned char)region[i]) || region[i] == '-'))
				return 0;
		return rn > 0;
	}
	return 0;
}

int hook_url_ok(const struct hook *h, const char *url, int kind)
{
	const char *test = hook_conf(h, "test_host"), *a, *e;
	int https;
	size_t n;

	for (const unsigned char *c = (const unsigned char *)url; *c; c++)
		if (*c <= ' ' || *c >= 0x7f || *c == '\\')
			return 0;
	if (!ascii_ncasecmp(url, "https://", 8))
		https = 1, a = url + 8;
	else if (!ascii_ncasecmp(url, "http://", 7))
		https = 0, a = url + 7;
	else
		return 0;
	e = a + strcspn(a, "/?#");
	n = (size_t)(e - a);
	if (!n || memchr(a, '@', n))
		return 0;
	if (test && *test && strlen(test) == n && !ascii_ncasecmp(a, test, n))
		return 1;
	if (!https)
		return 0;
	if (memchr(a, ':', n)) {	/* https://host:443 only */
		const char *c = memchr(a, ':', n);
		if ((size_t)(e - c) != 4 || memcmp(c, ":443", 4))
			return 0;
		n = (size_t)(c - a);
	}
	return host_is_aws(a, n, kind == 0);
}

/* ---- loading ---------------------------------------------------------- */

static const char *vstr(const cJSON *v, const char *k)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(v, k);
	return cJSON_IsString(x) ? x->valuestring : NULL;
}

static int key_declared(const struct hook *h, const char *name)
{
	for (size_t i = 0; i < h->nkeys; i++)
		if (!strcmp(h->keys[i].name, name))
			return 1;
	return 0;
}

static int piece_ok(const char *p)
{
	return !strcmp(p, "body") || !strcmp(p, "url") || !strcmp(p, "form_sorted") ||
	       (!strncmp(p, "header:", 7) && p[7]) || (!strncmp(p, "json:", 5) && p[5]);
}

static int piece_raw(const char *p)
{
	return strcmp(p, "form_sorted") && strncmp(p, "json:", 5);
}

static EVP_PKEY *load_pubkey(const char *v)
{
	EVP_PKEY *k = NULL;

	if (strstr(v, "-----BEGIN")) {
		BIO *b = BIO_new_mem_buf(v, -1);
		if (b)
			k = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
		BIO_free(b);
	} else {
		struct sb der = SB_INIT;
		if (hook_b64_decode(v, strlen(v), &der) == 0) {
			const unsigned char *p = (const unsigned char *)der.buf;
			k = d2i_PUBKEY(NULL, &p, (long)der.len);
		}
		sb_free(&der);
	}
	return k;
}

int hook_verify_load(struct hook *h, struct sb *err)
{
	const cJSON *v = h->verify, *m, *x;
	const char *method, *s;
	static const char *const known[] = {
		"method", "hash", "key", "message", "signature", "prefix", "encoding", "timestamp",
		"user", "password", "header", "comment", NULL,
	};

	if (!cJSON_IsObject(v) || !(method = vstr(v, "method"))) {
		sb_addf(err, "\"verify\" must be an object with a \"method\" (hmac, ecdsa, basic, "
			"header, sns)");
		return -1;
	}
	h->method = method;
	cJSON_ArrayForEach(x, v) {
		const char *const *k;
		for (k = known; *k && strcmp(*k, x->string); k++)
			;
		if (!*k || (strcmp(x->string, "message") && !cJSON_IsString(x))) {
			sb_addf(err, "verify: unknown or non-string member \"%s\"", x->string);
			return -1;
		}
	}
	h->verify_raw = 1;
	if (!strcmp(method, "hmac") || !strcmp(method, "ecdsa")) {
		const char *hash = vstr(v, "hash"), *enc = vstr(v, "encoding");
		m = cJSON_GetObjectItemCaseSensitive(v, "message");
		if (!(s = vstr(v, "key")) || !key_declared(h, s)) {
			sb_addf(err, "verify: \"key\" must name a key of \"config\"");
			return -1;
		}
		if (hash && strcmp(hash, "sha1") && strcmp(hash, "sha256")) {
			sb_addf(err, "verify: hash is sha1 or sha256");
			return -1;
		}
		if (enc && strcmp(enc, "hex") && strcmp(enc, "base64")) {
			sb_addf(err, "verify: encoding is hex or base64");
			return -1;
		}
		if (!cJSON_IsArray(m) || !cJSON_GetArraySize(m)) {
			sb_addf(err, "verify: \"message\" must be a list of body, url, form_sorted, "
				"header:NAME, json:PATH");
			return -1;
		}
		cJSON_ArrayForEach(x, m) {
			if (!cJSON_IsString(x) || !piece_ok(x->valuestring)) {
				sb_addf(err, "verify: \"message\" must be a list of body, url, "
					"form_sorted, header:NAME, json:PATH");
				return -1;
			}
			if (!piece_raw(x->valuestring))
				h->verify_raw = 0;
		}
		if (!(s = vstr(v, "signature")) || !piece_ok(s) || !strcmp(s, "body") ||
		    !strcmp(s, "url") || !strcmp(s, "form_sorted")) {
			sb_addf(err, "verify: \"signature\" is header:NAME or json:PATH");
			return -1;
		}
		if (!piece_raw(s))
			h->verify_raw = 0;
		if ((s = vstr(v, "timestamp"))) {
			if (!piece_ok(s) || !strcmp(s, "body") || !strcmp(s, "url") ||
			    !strcmp(s, "form_sorted")) {
				sb_addf(err, "verify: \"timestamp\" is header:NAME or json:PATH");
				return -1;
			}
			if (!piece_raw(s))
				h->verify_raw = 0;
		}
		if (!strcmp(method, "ecdsa")) {
			const char *pk = hook_conf(h, vstr(v, "key"));
			if (pk && !(h->pubkey = load_pubkey(pk))) {
				sb_addf(err, "[%s] %s: not a public key (base64 of its DER, or PEM)",
					h->section, vstr(v, "key"));
				return -1;
			}
		}
		return 0;
	}
	if (!strcmp(method, "basic")) {
		if (!(s = vstr(v, "user")) || !key_declared(h, s) || !(s = vstr(v, "password")) ||
		    !key_declared(h, s)) {
			sb_addf(err, "verify: basic needs \"user\" and \"password\", keys of \"config\"");
			return -1;
		}
		return 0;
	}
	if (!strcmp(method, "header")) {
		if (!vstr(v, "header") || !(s = vstr(v, "key")) || !key_declared(h, s)) {
			sb_addf(err, "verify: header needs \"header\" (a name) and \"key\" (a key of "
				"\"config\")");
			return -1;
		}
		return 0;
	}
	if (!strcmp(method, "sns")) {
		if (!h->sns) {
			sb_addf(err, "verify: sns needs \"envelope\": \"sns\"");
			return -1;
		}
		h->verify_raw = 0;
		return 0;
	}
	sb_addf(err, "verify: unknown method \"%s\" (hmac, ecdsa, basic, header, sns)", method);
	return -1;
}

/* ---- checking a request ------------------------------------------------- */

static const char *header(const struct hook_req *rq, const char *name)
{
	return rq->header ? rq->header(rq->ud, name) : NULL;
}

static int cmp_pair(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
	int c = strcmp(cJSON_GetArrayItem(x, 0)->valuestring, cJSON_GetArrayItem(y, 0)->valuestring);

	return c ? c : strcmp(cJSON_GetArrayItem(x, 1)->valuestring,
			      cJSON_GetArrayItem(y, 1)->valuestring);
}

/* Appends the piece p of the request to out: 0, or -1 when it is missing. */
static int piece(struct hook_ctx *c, const char *p, struct sb *out)
{
	const struct hook_req *rq = c->rq;
	const char *v;

	if (!strcmp(p, "body")) {
		sb_add(out, rq->body, rq->len);
		return 0;
	}
	if (!strcmp(p, "url")) {
		if (!rq->url)
			return -1;
		sb_adds(out, rq->url);
		return 0;
	}
	if (!strcmp(p, "form_sorted")) {
		int n = cJSON_GetArraySize(c->pairs);
		const cJSON **list, *x;
		int i = 0;
		if (!c->pairs)
			return -1;
		list = xcalloc((size_t)n + 1, sizeof(*list));
		cJSON_ArrayForEach(x, c->pairs)
			list[i++] = x;
		qsort(list, (size_t)n, sizeof(*list), cmp_pair);
		for (i = 0; i < n; i++) {
			sb_adds(out, cJSON_GetArrayItem(list[i], 0)->valuestring);
			sb_adds(out, cJSON_GetArrayItem(list[i], 1)->valuestring);
		}
		free(list);
		return 0;
	}
	if (!strncmp(p, "header:", 7))
		v = header(rq, p + 7);
	else
		v = hook_text(jpath(c->root, p + 5));
	if (!v || strlen(v) > SIG_MAX)
		return -1;
	sb_adds(out, v);
	return 0;
}

static int verify_mac(struct hook_ctx *c)
{
	const struct hook *h = c->h;
	const cJSON *v = h->verify, *x;
	const char *hash = vstr(v, "hash"), *enc = vstr(v, "encoding"), *prefix = vstr(v, "prefix");
	const char *ts = vstr(v, "timestamp"), *maxage = hook_conf(h, "max_age");
	const char *keyname = vstr(v, "key"), *key = hook_conf(h, keyname);
	const EVP_MD *md = hash && !strcmp(hash, "sha1") ? EVP_sha1() : EVP_sha256();
	struct sb msg = SB_INIT, sig = SB_INIT, raw = SB_INIT;
	int rc = 401, ecdsa = !strcmp(h->method, "ecdsa");
	const char *why = "signature missing";

	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(v, "message"))
		if (piece(c, x->valuestring, &msg) < 0) {
			why = "a signed part of the request is missing";
			goto out;
		}
	if (piece(c, vstr(v, "signature"), &sig) < 0 || !sig.len)
		goto out;
	if (prefix) {
		size_t pn = strlen(prefix);
		if (sig.len < pn || ascii_ncasecmp(sig.buf, prefix, pn)) {
			why = "signature without its prefix";
			goto out;
		}
		memmove(sig.buf, sig.buf + pn, sig.len - pn + 1);
		sig.len -= pn;
	}
	if ((enc && !strcmp(enc, "hex") ? hex_decode(sig.buf, sig.len, &raw)
					: hook_b64_decode(sig.buf, sig.len, &raw)) < 0 ||
	    !raw.len) {
		why = "signature not well encoded";
		goto out;
	}
	if (ts && maxage) {
		struct sb t = SB_INIT;
		int64_t when, age;
		int bad = piece(c, ts, &t) < 0 || parse_int64(t.buf, &when) < 0;
		if (!bad && t.len > 10 && strspn(t.buf, "0123456789") != t.len)
			bad = 1;
		age = bad ? 0 : c->rq->now - when;
		sb_free(&t);
		if (bad || age > atoll(maxage) || age < -900) {
			why = "signed timestamp missing or older than max_age";
			goto out;
		}
	}
	if (ecdsa) {
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		why = "ECDSA signature does not verify";
		if (!h->pubkey) {
			why = "no public key configured";
		} else if (ctx && EVP_DigestVerifyInit(ctx, NULL, md, NULL, h->pubkey) == 1 &&
			   EVP_DigestVerify(ctx, (const unsigned char *)raw.buf, raw.len,
					    (const unsigned char *)msg.buf, msg.len) == 1) {
			rc = 0;
		}
		EVP_MD_CTX_free(ctx);
	} else {
		unsigned char mac[EVP_MAX_MD_SIZE];
		unsigned int mlen = 0;
		why = "signature does not match";
		if (!key || !*key)
			why = "no key configured";
		else if (HMAC(md, key, (int)strlen(key), (const unsigned char *)msg.buf, msg.len, mac,
			      &mlen) && mlen == raw.len && CRYPTO_memcmp(mac, raw.buf, mlen) == 0)
			rc = 0;
	}
out:
	if (rc)
		hook_fail(c->out, rc, "%s", why);
	sb_free(&msg);
	sb_free(&sig);
	sb_free(&raw);
	return rc;
}

static int verify_basic(struct hook_ctx *c)
{
	const cJSON *v = c->h->verify;
	const char *user = hook_conf(c->h, vstr(v, "user"));
	const char *pass = hook_conf(c->h, vstr(v, "password"));
	const char *a = header(c->rq, "Authorization"), *colon;
	struct sb dec = SB_INIT;
	int ok = 0;

	if (!user || !pass)
		return hook_fail(c->out, 401, "no user and password configured");
	if (!a || strlen(a) > SIG_MAX || ascii_ncasecmp(a, "Basic ", 6))
		return hook_fail(c->out, 401, "no basic authentication");
	a += 6;
	while (*a == ' ')
		a++;
	if (hook_b64_decode(a, strlen(a), &dec) == 0 && (colon = memchr(dec.buf, ':', dec.len))) {
		size_t ul = (size_t)(colon - dec.buf);
		int u = same_secret(dec.buf, ul, user, strlen(user));
		int p = same_secret(colon + 1, dec.len - ul - 1, pass, strlen(pass));
		ok = u & p;
	}
	sb_free(&dec);
	return ok ? 0 : hook_fail(c->out, 401, "basic authentication refused");
}

static int verify_header(struct hook_ctx *c)
{
	const cJSON *v = c->h->verify;
	const char *key = hook_conf(c->h, vstr(v, "key"));
	const char *got = header(c->rq, vstr(v, "header"));

	if (!key || !*key)
		return hook_fail(c->out, 401, "no secret configured");
	if (!got || strlen(got) > SIG_MAX)
		return hook_fail(c->out, 401, "secret header missing");
	if (!same_secret(got, strlen(got), key, strlen(key)))
		return hook_fail(c->out, 401, "secret header does not match");
	return 0;
}

int hook_verify(struct hook_ctx *c)
{
	const char *m = c->h->method;

	if (c->unverified || !strcmp(m, "sns"))
		return 0;
	if (!strcmp(m, "hmac") || !strcmp(m, "ecdsa"))
		return verify_mac(c);
	if (!strcmp(m, "basic"))
		return verify_basic(c);
	return verify_header(c);
}

/* ---- Amazon SNS ------------------------------------------------------- */

static const char *env_str(const cJSON *env, const char *k)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(env, k);
	return cJSON_IsString(x) ? x->valuestring : NULL;
}

/* Is arn one of topic_arn's (a comma-separated list, or "*")? */
static int topic_ok(const struct hook *h, const char *arn)
{
	const char *list = hook_conf(h, "topic_arn"), *s;
	size_t n = strlen(arn);

	if (!list)
		return 0;
	for (s = list; *s;) {
		size_t k = strcspn(s, ",");
		size_t t = k;
		const char *w = trim(s, &t);
		if ((t == 1 && *w == '*') || (t == n && !memcmp(w, arn, n)))
			return 1;
		s += k;
		if (*s == ',')
			s++;
	}
	return 0;
}

int hook_verify_sns(struct hook_ctx *c, const cJSON *env)
{
	const struct hook *h = c->h;
	const char *type = env_str(env, "Type"), *arn = env_str(env, "TopicArn");
	const char *ts = env_str(env, "Timestamp"), *ver = env_str(env, "SignatureVersion");
	const char *sig = env_str(env, "Signature"), *cert_url = env_str(env, "SigningCertURL");
	static const char *const note_keys[] = { "Message", "MessageId", "Subject", "Timestamp",
						  "TopicArn", "Type", NULL };
	static const char *const conf_keys[] = { "Message", "MessageId", "SubscribeURL",
						  "Timestamp", "Token", "TopicArn", "Type", NULL };
	const char *const *keys;
	struct sb canon = SB_INIT, raw = SB_INIT, pem = SB_INIT;
	int64_t when;
	int rc = 401;
	const char *why = "SNS signature does not verify";
	EVP_PKEY *pk = NULL;
	X509 *x = NULL;
	BIO *b = NULL;
	EVP_MD_CTX *ctx = NULL;

	if (!type || !arn || !ts || !env_str(env, "MessageId") || !env_str(env, "Message"))
		return hook_fail(c->out, 400, "an SNS envelope without Type, MessageId, TopicArn, "
				 "Message or Timestamp");
	if (!topic_ok(h, arn))
		return hook_fail(c->out, 403, "SNS topic is not one of topic_arn");
	if (hook_iso_time(ts, NULL, &when) < 0)
		return hook_fail(c->out, 400, "SNS Timestamp is not a time");
	if (c->unverified)
		return 0;
	if (c->rq->now - when > 3600 || when - c->rq->now > 900)
		return hook_fail(c->out, 401, "SNS message older than an hour (or from the future): "
				 "a replay?");
	if (!strcmp(type, "Notification"))
		keys = note_keys;
	else if (!strcmp(type, "SubscriptionConfirmation") || !strcmp(type, "UnsubscribeConfirmation"))
		keys = conf_keys;
	else
		return hook_fail(c->out, 400, "unknown SNS Type");
	for (; *keys; keys++) {
		const char *v = env_str(env, *keys);
		if (!v) {
			if (!strcmp(*keys, "Subject"))
				continue;
			sb_free(&canon);
			return hook_fail(c->out, 400, "an SNS envelope without %s", *keys);
		}
		sb_addf(&canon, "%s\n%s\n", *keys, v);
	}
	if (!ver || (strcmp(ver, "1") && strcmp(ver, "2"))) {
		why = "SNS SignatureVersion is not 1 or 2";
		goto out;
	}
	if (!sig || strlen(sig) > SIG_MAX || hook_b64_decode(sig, strlen(sig), &raw) < 0 ||
	    !raw.len) {
		why = "SNS Signature missing or not base64";
		goto out;
	}
	if (h->cert) {
		sb_add(&pem, h->cert, h->cert_len);
	} else {
		if (!cert_url || !hook_url_ok(h, cert_url, 0)) {
			why = "SigningCertURL is not https on sns.REGION.amazonaws.com";
			goto out;
		}
		if (!c->rq->fetch || c->rq->fetch(c->rq->ud, cert_url, &pem) != 0 ||
		    pem.len > HOOK_CERT_MAX) {
			why = "cannot fetch the SNS signing certificate";
			rc = 401;
			goto out;
		}
	}
	if (!(b = BIO_new_mem_buf(pem.buf, (int)pem.len)) ||
	    !(x = PEM_read_bio_X509(b, NULL, NULL, NULL)) || !(pk = X509_get_pubkey(x))) {
		why = "the SNS signing certificate is not a PEM certificate";
		goto out;
	}
	if ((ctx = EVP_MD_CTX_new()) &&
	    EVP_DigestVerifyInit(ctx, NULL, !strcmp(ver, "1") ? EVP_sha1() : EVP_sha256(), NULL,
				 pk) == 1 &&
	    EVP_DigestVerify(ctx, (const unsigned char *)raw.buf, raw.len,
			     (const unsigned char *)canon.buf, canon.len) == 1)
		rc = 0;
out:
	if (rc)
		hook_fail(c->out, rc, "%s", why);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pk);
	X509_free(x);
	BIO_free(b);
	sb_free(&canon);
	sb_free(&raw);
	sb_free(&pem);
	return rc;
}
