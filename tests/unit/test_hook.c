/*
 * test_hook.c - provider callbacks (lib/hook*.c) with the presets of
 * share/hooks: for every provider a payload as its documentation shows it
 * (tests/fixtures/hooks), signed here with test keys made with libcrypto
 * (an RSA key and a self-signed certificate for SNS, a P-256 key for
 * SendGrid, HMAC secrets); a good signature gives the right records, one
 * flipped byte in the body or the signature gives 401 and none.
 */
#include "tap.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "conf.h"
#include "hook.h"
#include "token.h"
#include "util.h"

#define NOW 1750030100

static const char *top;

/* ---- helpers ------------------------------------------------------------ */

struct hdrs {
	const char *name[8];
	const char *value[8];
	int n;
};

static const char *hget(void *ud, const char *name)
{
	struct hdrs *h = ud;
	for (int i = 0; i < h->n; i++)
		if (!ascii_casecmp(h->name[i], name))
			return h->value[i];
	return NULL;
}

static void hset(struct hdrs *h, const char *name, const char *value)
{
	h->name[h->n] = name;
	h->value[h->n++] = value;
}

static char *slurp(const char *name)
{
	char path[1024];
	struct sb b = SB_INIT;
	char buf[4096];
	size_t n;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/tests/fixtures/hooks/%s", top, name);
	if (!(fp = fopen(path, "rb"))) {
		ok(0, "cannot read %s (is CRM_TOP set?)", path);
		exit(1);
	}
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
		sb_add(&b, buf, n);
	fclose(fp);
	return sb_detach(&b);
}

static struct conf *cf;

static struct hook *load(const char *text, const char *name)
{
	char *err = NULL;
	struct hook *h;

	conf_free(cf);
	cf = conf_parse(text, "test.conf", 0600);
	h = hook_load(cf, name, &err);
	if (!h)
		printf("# hook_load: %s\n", err);
	free(err);
	return h;
}

static void b64(const unsigned char *d, size_t n, struct sb *out)
{
	sb_reset(out);
	sb_grow(out, n * 4 / 3 + 8);
	out->len = (size_t)EVP_EncodeBlock((unsigned char *)out->buf, d, (int)n);
	out->buf[out->len] = 0;
}

static void hmac_hex(const EVP_MD *md, const char *key, const char *msg, size_t len, char *out)
{
	unsigned char mac[64];
	unsigned int n = 0;

	HMAC(md, key, (int)strlen(key), (const unsigned char *)msg, len, mac, &n);
	for (unsigned i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", mac[i]);
}

static void req_init(struct hook_req *rq, struct hdrs *h, const char *body)
{
	memset(rq, 0, sizeof(*rq));
	memset(h, 0, sizeof(*h));
	rq->method = "POST";
	rq->header = hget;
	rq->ud = h;
	rq->body = body;
	rq->len = body ? strlen(body) : 0;
	rq->secret = "base secret 0123456789";
	rq->now = NOW;
}

static const struct hook_rec *find_rec(const struct hook_result *r, const char *type,
				       const char *address)
{
	for (size_t i = 0; i < r->nrecs; i++)
		if ((!type || (r->recs[i].type && !strcmp(r->recs[i].type, type))) &&
		    (!address || (r->recs[i].address && !strcmp(r->recs[i].address, address))))
			return &r->recs[i];
	return NULL;
}

static const char *prop(const struct hook_rec *r, const char *k)
{
	const cJSON *v = r ? cJSON_GetObjectItemCaseSensitive(r->props, k) : NULL;
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- SNS (SES) ------------------------------------------------------------ */

static EVP_PKEY *rsa;
static char cert_path[256];
static struct sb cert_pem = SB_INIT;

static void make_cert(void)
{
	EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, NULL);
	X509 *x = X509_new();
	X509_NAME *nm;
	FILE *fp;
	int fd;
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;

	EVP_PKEY_keygen_init(kc);
	EVP_PKEY_CTX_set_rsa_keygen_bits(kc, 2048);
	EVP_PKEY_keygen(kc, &rsa);
	EVP_PKEY_CTX_free(kc);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, rsa);
	nm = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)"sns.amazonaws.com",
				   -1, -1, 0);
	X509_set_issuer_name(x, nm);
	X509_sign(x, rsa, EVP_sha256());
	PEM_write_bio_X509(b, x);
	n = BIO_get_mem_data(b, &p);
	sb_add(&cert_pem, p, (size_t)n);
	BIO_free(b);
	X509_free(x);
	snprintf(cert_path, sizeof(cert_path), "%s/crm-test-hook-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	fd = mkstemp(cert_path);
	fp = fdopen(fd, "w");
	fwrite(cert_pem.buf, 1, cert_pem.len, fp);
	fclose(fp);
}

static void iso(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%S.123Z", &tm);
}

/* An SNS envelope of type with message, signed (version 1 or 2). */
static char *sns(const char *type, const char *message, int64_t ts, int version,
		 const char *cert_url, const char *subscribe_url)
{
	cJSON *e = cJSON_CreateObject();
	char t[32], *out;
	struct sb canon = SB_INIT, sig = SB_INIT;
	unsigned char raw[512];
	size_t rl = sizeof(raw);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int conf = strcmp(type, "Notification") != 0;

	iso(ts, t);
	cJSON_AddStringToObject(e, "Type", type);
	cJSON_AddStringToObject(e, "MessageId", "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324");
	if (conf)
		cJSON_AddStringToObject(e, "Token", "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3beb71854e285d6ad02428b09ceece29417f1f02d609c582afbacc99c583a916b9981dd2728f4ae6fdb82efd087cc3b7849e05798d2d2785c03b0879594eeac82c01f235d0e717736");
	cJSON_AddStringToObject(e, "TopicArn", "arn:aws:sns:us-west-2:123456789012:MyTopic");
	cJSON_AddStringToObject(e, "Message", message);
	if (conf)
		cJSON_AddStringToObject(e, "SubscribeURL", subscribe_url);
	cJSON_AddStringToObject(e, "Timestamp", t);
	cJSON_AddStringToObject(e, "SignatureVersion", version == 1 ? "1" : "2");
	sb_addf(&canon, "Message\n%s\nMessageId\n%s\n", message,
		"22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324");
	if (conf)
		sb_addf(&canon, "SubscribeURL\n%s\n", subscribe_url);
	sb_addf(&canon, "Timestamp\n%s\n", t);
	if (conf)
		sb_addf(&canon, "Token\n%s\n", cJSON_GetObjectItem(e, "Token")->valuestring);
	sb_addf(&canon, "TopicArn\n%s\nType\n%s\n", "arn:aws:sns:us-west-2:123456789012:MyTopic", type);
	EVP_DigestSignInit(ctx, NULL, version == 1 ? EVP_sha1() : EVP_sha256(), NULL, rsa);
	EVP_DigestSign(ctx, raw, &rl, (const unsigned char *)canon.buf, canon.len);
	EVP_MD_CTX_free(ctx);
	b64(raw, rl, &sig);
	cJSON_AddStringToObject(e, "Signature", sig.buf);
	cJSON_AddStringToObject(e, "SigningCertURL", cert_url);
	cJSON_AddStringToObject(e, "UnsubscribeURL", "https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-west-2:123456789012:MyTopic:c9135db0-26c4-47ec-8998-413945fb5a96");
	out = cJSON_Print(e);
	cJSON_Delete(e);
	sb_free(&canon);
	sb_free(&sig);
	return out;
}

static int fetches;
static int fetch_cert(void *ud, const char *url, struct sb *out)
{
	(void)ud;
	fetches++;
	if (strcmp(url, "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-abc.pem"))
		return -1;
	sb_add(out, cert_pem.buf, cert_pem.len);
	return 0;
}

#define CERT_URL "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-abc.pem"
#define SUB_URL "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-west-2:123456789012:MyTopic&Token=2336412f37"

static void test_ses(void)
{
	char conftext[1024], *bounce = slurp("ses-bounce.json"), *complaint = slurp("ses-complaint.json");
	char *click = slurp("ses-click.json"), *body;
	struct hook *h;
	struct hook_req rq;
	struct hdrs hd;
	struct hook_result r;
	const struct hook_rec *x;

	make_cert();
	snprintf(conftext, sizeof(conftext),
		 "[hook.ses]\npreset = ses\ntopic_arn = arn:aws:sns:us-west-2:123456789012:MyTopic\n"
		 "certificate = %s\n", cert_path);
	h = load(conftext, "ses");
	ok(h != NULL, "ses: loads with a certificate file");
	if (!h)
		return;

	body = sns("Notification", bounce, NOW - 60, 1, CERT_URL, NULL);
	req_init(&rq, &hd, body);
	hook_handle(h, &rq, &r);
	is_int(r.status, 200, "ses: a signed (v1) bounce notification: 200 (%s)", r.err);
	is_int(r.nrecs, 2, "ses: one record per bounced recipient");
	x = find_rec(&r, "bounced", "jane@example.com");
	ok(x && x->kind == HOOK_EVENT, "ses: jane bounced");
	is_str(x ? x->event_id : NULL,
	       "ses:000001378603177f-7a5433e7-8edb-42ae-af10-f0181f34d6ee-000000:jane@example.com",
	       "ses: event id of feedbackId and recipient");
	is_str(x ? x->occurred_at : NULL, "2016-01-27 14:59:38", "ses: bounce time");
	is_str(x ? x->message_ref : NULL, "crm.17.42@example.com", "ses: our Message-ID, without <>");
	is_str(x ? x->channel : NULL, "email", "ses: channel");
	is_str(prop(x, "status"), "5.1.1", "ses: status in props");
	is_str(prop(x, "bounce_type"), "Permanent", "ses: bounce type in props");
	ok(!strstr(r.err, "@"), "ses: no address in err");
	hook_result_free(&r);

	/* one flipped byte of the body (inside the Message) */
	{
		char *p = strstr(body, "Permanent");
		p[0] = 'p';
		hook_handle(h, &rq, &r);
		is_int(r.status, 401, "ses: a flipped byte in the Message: 401");
		is_int(r.nrecs, 0, "ses: ... and no records");
		ok(!strstr(r.err, "@"), "ses: no address in err (%s)", r.err);
		hook_result_free(&r);
		p[0] = 'P';
	}
	/* one flipped byte of the signature */
	{
		char *p = strstr(body, "\"Signature\":");
		p = strchr(p + 12, '"') + 5;
		*p = *p == 'A' ? 'B' : 'A';
		hook_handle(h, &rq, &r);
		is_int(r.status, 401, "ses: a flipped byte in the Signature: 401");
		is_int(r.nrecs, 0, "ses: ... and no records");
		hook_result_free(&r);
	}
	free(body);

	/* replay: an hour and more old */
	body = sns("Notification", bounce, NOW - 3700, 1, CERT_URL, NULL);
	req_init(&rq, &hd, body);
	hook_handle(h, &rq, &r);
	ok(r.status >= 400 && r.status < 500 && !r.nrecs, "ses: a Timestamp over an hour old: %d",
	   r.status);
	hook_result_free(&r);
	free(body);

	/* version 2 (SHA256withRSA), a complaint */
	body = sns("Notification", complaint, NOW - 5, 2, CERT_URL, NULL);
	req_init(&rq, &hd, body);
	hook_handle(h, &rq, &r);
	is_int(r.status, 200, "ses: a signed (v2) complaint: 200 (%s)", r.err);
	x = find_rec(&r, "complained", "recipient@example.com");
	ok(x != NULL && r.nrecs == 1, "ses: complained");
	is_str(prop(x, "feedback_type"), "abuse", "ses: feedback type");
	hook_result_free(&r);
	free(body);

	/* a click */
	body = sns("Notification", click, NOW - 5, 2, CERT_URL, NULL);
	req_init(&rq, &hd, body);
	hook_handle(h, &rq, &r);
	x = find_rec(&r, "clicked", "recipient@example.com");
	ok(r.status == 200 && x && r.nrecs == 1, "ses: clicked");
	is_str(prop(x, "url"), "http://docs.aws.amazon.com/ses/latest/DeveloperGuide/send-email-smtp.html",
	       "ses: the link");
	is_str(x ? x->message_ref : NULL, "crm.18.7@example.com", "ses: click's Message-ID");
	hook_result_free(&r);
	free(body);

	/* subscription confirmation */
	body = sns("SubscriptionConfirmation", "You have chosen to subscribe to the topic", NOW - 5, 1,
		   CERT_URL, SUB_URL);
	req_init(&rq, &hd, body);
	hook_handle(h, &rq, &r);
	is_int(r.status, 200, "ses: SubscriptionConfirmation: 200 (%s)", r.err);
	is_str(r.confirm_url, SUB_URL, "ses: ... asks to GET the SubscribeURL");
	is_int(r.nrecs, 0, "ses: ... and records nothing");
	hook_result_free(&r);
	free(body);
	body = sns("SubscriptionConfirmation", "x", NOW - 5, 1, CERT_URL,
		   "https://sns.us-west-2.amazonaws.com.evil.example/?Action=ConfirmSubscription");
	req_init(&rq, &hd, body);
	hook_handle(h, &rq, &r);
	ok(r.status == 400 && !r.confirm_url, "ses: a SubscribeURL off amazonaws.com: 400");
	hook_result_free(&r);
	free(body);
	hook_free(h);

	/* another topic */
	h = load("[hook.s]\npreset = ses\ntopic_arn = arn:aws:sns:us-west-2:123456789012:Other\n", "s");
	body = sns("Notification", bounce, NOW - 5, 1, CERT_URL, NULL);
	req_init(&rq, &hd, body);
	rq.fetch = fetch_cert;
	hook_handle(h, &rq, &r);
	ok(r.status == 403 && !r.nrecs, "ses: another topic: 403");
	hook_result_free(&r);
	hook_free(h);
	free(body);

	/* the certificate fetched from SigningCertURL */
	h = load("[hook.s]\npreset = ses\ntopic_arn = arn:aws:sns:us-west-2:123456789012:MyTopic\n", "s");
	body = sns("Notification", bounce, NOW - 5, 1, CERT_URL, NULL);
	req_init(&rq, &hd, body);
	rq.fetch = fetch_cert;
	fetches = 0;
	hook_handle(h, &rq, &r);
	ok(r.status == 200 && r.nrecs == 2 && fetches == 1, "ses: certificate fetched from "
	   "SigningCertURL (%s)", r.err);
	hook_result_free(&r);
	free(body);
	body = sns("Notification", bounce, NOW - 5, 1,
		   "https://evil.example/sns.us-west-2.amazonaws.com/cert.pem", NULL);
	req_init(&rq, &hd, body);
	rq.fetch = fetch_cert;
	fetches = 0;
	hook_handle(h, &rq, &r);
	ok(r.status == 401 && !r.nrecs && fetches == 0, "ses: a SigningCertURL off "
	   "sns.REGION.amazonaws.com is not fetched: 401");
	hook_result_free(&r);
	free(body);
	body = sns("Notification", bounce, NOW - 5, 1,
		   "http://sns.us-west-2.amazonaws.com/SimpleNotificationService-abc.pem", NULL);
	req_init(&rq, &hd, body);
	rq.fetch = fetch_cert;
	hook_handle(h, &rq, &r);
	ok(r.status == 401 && !r.nrecs, "ses: a plain http SigningCertURL: 401");
	hook_result_free(&r);
	free(body);
	req_init(&rq, &hd, "{\"Type\": \"Notification\"");
	hook_handle(h, &rq, &r);
	is_int(r.status, 400, "ses: not JSON: 400");
	hook_result_free(&r);
	hook_free(h);
	free(bounce);
	free(complaint);
	free(click);
	unlink(cert_path);
}

/* ---- SendGrid ------------------------------------------------------------- */

static char sg_pub[256];

static void test_sendgrid(void)
{
	EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL);
	EVP_PKEY *ec = NULL;
	unsigned char *der = NULL, sig[128];
	size_t sl = sizeof(sig);
	int dl;
	struct sb pub = SB_INIT, s64 = SB_INIT, msg = SB_INIT;
	char conftext[512], *body = slurp("sendgrid.json");
	const char *ts = "1750030000";
	struct hook *h;
	struct hook_req rq;
	struct hdrs hd;
	struct hook_result r;
	const struct hook_rec *x;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	EVP_PKEY_keygen_init(kc);
	EVP_PKEY_CTX_set_ec_paramgen_curve_nid(kc, NID_X9_62_prime256v1);
	EVP_PKEY_keygen(kc, &ec);
	EVP_PKEY_CTX_free(kc);
	dl = i2d_PUBKEY(ec, &der);
	b64(der, (size_t)dl, &pub);
	OPENSSL_free(der);
	snprintf(conftext, sizeof(conftext), "[hook.sg]\npreset = sendgrid\npublic_key = %s\n", pub.buf);
	snprintf(sg_pub, sizeof(sg_pub), "%s", pub.buf);
	h = load(conftext, "sg");
	ok(h != NULL, "sendgrid: loads with a base64 public key");
	if (!h)
		return;
	sb_addf(&msg, "%s%s", ts, body);
	EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, ec);
	EVP_DigestSign(ctx, sig, &sl, (const unsigned char *)msg.buf, msg.len);
	EVP_MD_CTX_free(ctx);
	b64(sig, sl, &s64);

	req_init(&rq, &hd, body);
	hset(&hd, "X-Twilio-Email-Event-Webhook-Signature", s64.buf);
	hset(&hd, "X-Twilio-Email-Event-Webhook-Timestamp", ts);
	hook_handle(h, &rq, &r);
	is_int(r.status, 200, "sendgrid: signed batch: 200 (%s)", r.err);
	is_int(r.nrecs, 7, "sendgrid: every event but processed");
	x = find_rec(&r, "delivered", NULL);
	is_str(x ? x->event_id : NULL, "sendgrid:rWVYmVk90MjZJ9iohOBa3w==", "sendgrid: sg_event_id");
	is_str(x ? x->message_ref : NULL, "14c5d75ce93.dfd.64b469@ismtpd-555", "sendgrid: smtp-id");
	is_str(x ? x->occurred_at : NULL, "2017-12-15 00:59:30", "sendgrid: time");
	x = find_rec(&r, "bounced", "other@test.com");
	is_str(prop(x, "status"), "5.0.0", "sendgrid: bounce");
	ok(find_rec(&r, "deferred", "third@test.com") != NULL, "sendgrid: blocked bounce is deferred");
	ok(find_rec(&r, "complained", NULL) && find_rec(&r, "unsubscribed", NULL) &&
	   find_rec(&r, "opened", NULL) && find_rec(&r, "clicked", NULL), "sendgrid: the others");
	is_str(prop(find_rec(&r, "unsubscribed", NULL), "asm_group_id"), "10", "sendgrid: group");
	hook_result_free(&r);

	body[10] ^= 1;
	hook_handle(h, &rq, &r);
	ok(r.status == 401 && !r.nrecs, "sendgrid: a flipped byte in the body: 401");
	hook_result_free(&r);
	body[10] ^= 1;
	s64.buf[20] = s64.buf[20] == 'A' ? 'B' : 'A';
	hook_handle(h, &rq, &r);
	ok(r.status == 401 && !r.nrecs, "sendgrid: a flipped byte in the signature: 401");
	hook_result_free(&r);
	hd.value[1] = "1750030001";
	hook_handle(h, &rq, &r);
	ok(r.status == 401 && !r.nrecs, "sendgrid: another timestamp: 401");
	hook_result_free(&r);
	hook_free(h);
	EVP_PKEY_free(ec);
	sb_free(&pub);
	sb_free(&s64);
	sb_free(&msg);
	free(body);
}

/* ---- Mailgun -------------------------------------------------------------- */

static char *replace(const char *s, const char *a, const char *b)
{
	struct sb o = SB_INIT;
	const char *p = strstr(s, a);
	sb_add(&o, s, (size_t)(p - s));
	sb_adds(&o, b);
	sb_adds(&o, p + strlen(a));
	return sb_detach(&o);
}

static void test_mailgun(void)
{
	char *fx = slurp("mailgun-failed.json"), *b1, *body, hex[129], msg[128];
	struct hook *h;
	struct hook_req rq;
	struct hdrs hd;
	struct hook_result r;
	const struct hook_rec *x;

	setenv("TEST_MAILGUN_KEY", "key-7a5bb1c9f4d5e6f7a8b9c0d1e2f3a4b5", 1);
	h = load("[hook.mg]\npreset = mailgun\nsigning_key_env = TEST_MAILGUN_KEY\nmax_age = 3600\n",
		 "mg");
	ok(h != NULL, "mailgun: loads with the key from the environment");
	if (!h)
		return;
	snprintf(msg, sizeof(msg), "%d%s", NOW - 10, "a8ce0edb2dd8301dcc7d1c4f7f0bd5c0b5e1c2a6d3e8f11b9c");
	hmac_hex(EVP_sha256(), "key-7a5bb1c9f4d5e6f7a8b9c0d1e2f3a4b5", msg, strlen(msg), hex);
	{
		char ts[16];
		snprintf(ts, sizeof(ts), "%d", NOW - 10);
		b1 = replace(fx, "TIMESTAMP", ts);
		body = replace(b1, "SIGNATURE", hex);
		free(b1);
	}
	req_init(&rq, &hd, body);
	hook_handle(h, &rq, &r);
	is_int(r.status, 200, "mailgun: signed: 200 (%s)", r.err);
	x = find_rec(&r, "bounced", "alice@example.com");
	ok(x && r.nrecs == 1, "mailgun: failed, permanent: bounced");
	is_str(x ? x->event_id : NULL, "mailgun:G9Bn5sl1TC6nu79C8C0bwg", "mailgun: event id");
	is_str(x ? x->message_ref : NULL, "crm.19.5@example.com", "mailgun: Message-ID");
	is_str(x ? x->occurred_at : NULL, "2018-03-16 23:35:39", "mailgun: fractional unix time");
	is_str(prop(x, "code"), "550", "mailgun: code");
	is_str(prop(x, "diagnostic"), "Not delivering to previously bounced address", "mailgun: text");
	hook_result_free(&r);
	{
		char *p = strstr(body, hex);
		p[3] = p[3] == '0' ? '1' : '0';
		hook_handle(h, &rq, &r);
		ok(r.status == 401 && !r.nrecs, "mailgun: a flipped byte in the signature: 401");
		hook_result_free(&r);
		p[3] = hex[3];
		p = strstr(body, "a8ce0edb");
		p[0] = 'b';
		hook_handle(h, &rq, &r);
		ok(r.status == 401 && !r.nrecs, "mailgun: a flipped byte in the token: 401");
		hook_result_free(&r);
		p[0] = 'a';
	}
	rq.now = NOW + 4000;
	hook_handle(h, &rq, &r);
	ok(r.status == 401 && !r.nrecs, "mailgun: a signature older than max_age: 401");
	hook_result_free(&r);
	hook_free(h);
	free(body);
	free(fx);
}

/* ---- Postmark -------------------------------------------------------------- */

static void test_postmark(void)
{
	char *bounce = slurp("postmark-bounce.json"), *open = slurp("postmark-open.json");
	struct hook *h = load("[hook.pm]\npreset = postmark\nuser = postmark\npassword = s3cret!\n", "pm");
	struct hook_req rq;
	struct hdrs hd;
	struct hook_result r;
	const struct hook_rec *x;
	struct sb a = SB_INIT, auth = SB_INIT;

	ok(h != NULL, "postmark: loads");
	if (!h)
		return;
	b64((const unsigned char *)"postmark:s3cret!", 16, &a);
	sb_addf(&auth, "Basic %s", a.buf);
	req_init(&rq, &hd, bounce);
	hset(&hd, "Authorization", auth.buf);
	hook_handle(h, &rq, &r);
	is_int(r.status, 200, "postmark: basic auth: 200 (%s)", r.err);
	x = find_rec(&r, "bounced", "john@example.com");
	ok(x && r.nrecs == 1, "postmark: HardBounce is bounced");
	is_str(x ? x->event_id : NULL, "postmark:bounce:4323372036854775807", "postmark: the exact ID");
	is_str(x ? x->occurred_at : NULL, "2019-11-05 16:33:54", "postmark: time");
	is_str(x ? x->message_ref : NULL, "883953f4-6105-42a2-a16a-77a8eac79483", "postmark: MessageID");
	hook_result_free(&r);
	rq.body = open;
	rq.len = strlen(open);
	hook_handle(h, &rq, &r);
	x = find_rec(&r, "opened", "john@example.com");
	ok(r.status == 200 && x && r.nrecs == 1, "postmark: Open");
	is_str(x ? x->occurred_at : NULL, "2019-11-05 21:33:54", "postmark: -05:00 to UTC");
	hook_result_free(&r);
	sb_reset(&auth);
	b64((const unsigned char *)"postmark:s3cret?", 16, &a);
	sb_addf(&auth, "Basic %s", a.buf);
	hd.value[0] = auth.buf;
	hook_handle(h, &rq, &r);
	ok(r.status == 401 && !r.nrecs, "postmark: a wrong password: 401");
	hook_result_free(&r);
	hd.n = 0;
	hook_handle(h, &rq, &r);
	ok(r.status == 401 && !r.nrecs, "postmark: no Authorization: 401");
	hook_result_free(&r);
	hook_free(h);
	sb_free(&a);
	sb_free(&auth);
	free(bounce);
	free(open);
}

/* ---- Twilio ----------------------------------------------------------------- */

/* Signs a form: the pairs are given sorted by name. */
static void twilio_sign(const char *url, const char *const *kv, int n, const char *token,
			struct sb *body, struct sb *sig)
{
	struct sb msg = SB_INIT;
	unsigned char mac[20];
	unsigned int ml = 0;

	sb_reset(body);
	sb_adds(&msg, url);
	for (int i = 0; i < n; i++) {
		sb_adds(&msg, kv[2 * i]);
		sb_adds(&msg, kv[2 * i + 1]);
		if (i)
			sb_addc(body, '&');
		sb_adds(body, kv[2 * i]);
		sb_addc(body, '=');
		for (const char *c = kv[2 * i + 1]; *c; c++)
			if (*c == ' ')
				sb_addc(body, '+');
			else if (*c == '+' || *c == ':' || *c == '&' || *c == '=')
				sb_addf(body, "%%%02X", (unsigned char)*c);
			else
				sb_addc(body, *c);
	}
	HMAC(EVP_sha1(), token, (int)strlen(token), (const unsigned char *)msg.buf, msg.len, mac, &ml);
	b64(mac, ml, sig);
	sb_free(&msg);
}

static void twilio_inbound(struct hook *h, const char *text, struct hook_result *r, int flip)
{
	const char *url = "https://crm.example.com/h/sms";
	const char *kv[] = {
		"AccountSid", "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", "ApiVersion", "2010-04-01",
		"Body", text, "From", "+14155552671", "MessageSid", "SM1f0e8ae6ade43cb3c0ce4525424e404f",
		"NumMedia", "0", "SmsStatus", "received", "To", "+15557122661",
	};
	struct sb body = SB_INIT, sig = SB_INIT;
	struct hook_req rq;
	struct hdrs hd;

	twilio_sign(url, kv, 8, "twilio-auth-token-0123", &body, &sig);
	if (flip)
		sig.buf[3] = sig.buf[3] == 'A' ? 'B' : 'A';
	req_init(&rq, &hd, body.buf);
	rq.url = url;
	hset(&hd, "X-Twilio-Signature", sig.buf);
	hook_handle(h, &rq, r);
	sb_free(&body);
	sb_free(&sig);
}

static void test_twilio(void)
{
	struct hook *h = load("[hook.sms]\npreset = twilio\nauth_token = twilio-auth-token-0123\n"
			      "help_text = Acme: reply STOP to opt out & <more>\n", "sms");
	const char *url = "https://crm.example.com/h/sms?x=1";
	const char *kv[] = {
		"AccountSid", "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", "ApiVersion", "2010-04-01",
		"From", "+15017250604", "MessageSid", "SM1342fe1b2c904d1ab04f0fc7a58abca9",
		"MessageStatus", "undelivered", "SmsSid", "SM1342fe1b2c904d1ab04f0fc7a58abca9",
		"SmsStatus", "undelivered", "To", "+15558675310", "ErrorCode", "30003",
	};
	struct sb body = SB_INIT, sig = SB_INIT;
	struct hook_req rq;
	struct hdrs hd;
	struct hook_result r;
	const struct hook_rec *x;

	ok(h != NULL, "twilio: loads");
	if (!h)
		return;
	/* sorted: ErrorCode goes before From */
	{
		const char *s[18];
		memcpy(s, kv, sizeof(s));
		s[4] = "ErrorCode"; s[5] = "30003";
		for (int i = 2; i < 8; i++) {
			s[2 * i + 2] = kv[2 * i];
			s[2 * i + 3] = kv[2 * i + 1];
		}
		twilio_sign(url, s, 9, "twilio-auth-token-0123", &body, &sig);
	}
	req_init(&rq, &hd, body.buf);
	rq.url = url;
	hset(&hd, "X-Twilio-Signature", sig.buf);
	hook_handle(h, &rq, &r);
	is_int(r.status, 200, "twilio: signed status callback: 200 (%s)", r.err);
	x = find_rec(&r, "failed", "+15558675310");
	ok(x && r.nrecs == 1 && x->channel && !strcmp(x->channel, "sms"), "twilio: undelivered is failed");
	is_str(x ? x->message_ref : NULL, "SM1342fe1b2c904d1ab04f0fc7a58abca9", "twilio: MessageSid");
	is_str(prop(x, "error_code"), "30003", "twilio: error code");
	hook_result_free(&r);
	rq.url = "https://crm.example.com/h/sms?x=2";
	hook_handle(h, &rq, &r);
	ok(r.status == 401 && !r.nrecs, "twilio: another URL: 401");
	hook_result_free(&r);
	rq.url = url;
	body.buf[body.len - 1] ^= 1;
	hook_handle(h, &rq, &r);
	ok(r.status == 401 && !r.nrecs, "twilio: a flipped byte in the body: 401");
	hook_result_free(&r);

	twilio_inbound(h, "  Stop. ", &r, 0);
	is_int(r.status, 200, "twilio: STOP: 200 (%s)", r.err);
	x = find_rec(&r, NULL, "+14155552671");
	ok(r.nrecs == 2, "twilio: STOP: a reply event and a consent");
	for (size_t i = 0; i < r.nrecs; i++)
		if (r.recs[i].kind == HOOK_CONSENT) {
			ok(r.recs[i].granted == 0 && !strcmp(r.recs[i].channel, "sms") &&
			   !strcmp(r.recs[i].address, "+14155552671"), "twilio: STOP revokes sms consent");
		}
	ok(strstr(r.body.buf, "<Response/>") != NULL, "twilio: STOP answered with empty TwiML");
	hook_result_free(&r);
	twilio_inbound(h, "start", &r, 0);
	for (size_t i = 0; i < r.nrecs; i++)
		if (r.recs[i].kind == HOOK_CONSENT)
			ok(r.recs[i].granted == 1, "twilio: START grants sms consent");
	hook_result_free(&r);
	twilio_inbound(h, "HELP", &r, 0);
	ok(r.status == 200 && r.nrecs == 1 && r.recs[0].kind == HOOK_EVENT, "twilio: HELP records no "
	   "consent");
	is_str(r.body.buf, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>Acme: reply "
	       "STOP to opt out &amp; &lt;more&gt;</Message></Response>", "twilio: HELP answered");
	is_str(r.content_type, "application/xml", "twilio: as XML");
	hook_result_free(&r);
	twilio_inbound(h, "STOP", &r, 1);
	ok(r.status == 401 && !r.nrecs && !strstr(r.body.buf, "Message"), "twilio: a flipped byte in "
	   "the signature of a STOP: 401");
	ok(!strstr(r.err, "+1"), "twilio: no phone number in err");
	hook_result_free(&r);
	twilio_inbound(h, "Stop sending me these", &r, 0);
	ok(r.nrecs == 1 && r.recs[0].kind == HOOK_EVENT, "twilio: a sentence is no keyword");
	hook_result_free(&r);
	hook_free(h);
	sb_free(&body);
	sb_free(&sig);
}

/* ---- Telegram ------------------------------------------------------------- */

static void test_telegram(void)
{
	struct hook *h = load("[hook.tg]\npreset = telegram\nsecret_token = tg-Secret_123\n", "tg");
	char *fx = slurp("telegram-start.json"), *body, tok[TOKEN_MAX + 16];
	struct hook_req rq;
	struct hdrs hd;
	struct hook_result r;

	ok(h != NULL, "telegram: loads");
	if (!h)
		return;
	token_make("base secret 0123456789", "telegram", 42, tok);
	body = replace(fx, "TOKEN", tok);
	req_init(&rq, &hd, body);
	hset(&hd, "X-Telegram-Bot-Api-Secret-Token", "tg-Secret_123");
	hook_handle(h, &rq, &r);
	is_int(r.status, 200, "telegram: /start TOKEN: 200 (%s)", r.err);
	ok(r.nrecs == 1 && r.recs[0].kind == HOOK_BIND && r.recs[0].customer == 42 &&
	   r.recs[0].granted == 1, "telegram: binds customer 42 and grants consent");
	is_str(r.nrecs ? r.recs[0].address : NULL, "1111111", "telegram: the chat id");
	is_str(r.nrecs ? r.recs[0].channel : NULL, "telegram", "telegram: channel");
	hook_result_free(&r);
	hd.value[0] = "tg-Secret_124";
	hook_handle(h, &rq, &r);
	ok(r.status == 401 && !r.nrecs, "telegram: a wrong secret token: 401");
	hook_result_free(&r);
	hd.value[0] = "tg-Secret_123";
	free(body);

	/* forged: one digit of the MAC changed */
	{
		size_t n = strlen(tok);
		tok[n - 1] = tok[n - 1] == '0' ? '1' : '0';
		body = replace(fx, "TOKEN", tok);
		req_init(&rq, &hd, body);
		hset(&hd, "X-Telegram-Bot-Api-Secret-Token", "tg-Secret_123");
		hook_handle(h, &rq, &r);
		ok(r.status == 200 && r.nrecs == 0, "telegram: a forged token records nothing");
		ok(strstr(r.err, "token") != NULL, "telegram: ... and says why (%s)", r.err);
		hook_result_free(&r);
		free(body);
	}
	body = replace(fx, "/start TOKEN", "/stop");
	req_init(&rq, &hd, body);
	hset(&hd, "X-Telegram-Bot-Api-Secret-Token", "tg-Secret_123");
	hook_handle(h, &rq, &r);
	ok(r.status == 200 && r.nrecs == 1 && r.recs[0].kind == HOOK_CONSENT && !r.recs[0].granted &&
	   !strcmp(r.recs[0].address, "1111111"), "telegram: /stop revokes the chat's consent");
	hook_result_free(&r);
	free(body);
	body = replace(fx, "/start TOKEN", "/start");
	req_init(&rq, &hd, body);
	hset(&hd, "X-Telegram-Bot-Api-Secret-Token", "tg-Secret_123");
	hook_handle(h, &rq, &r);
	ok(r.status == 200 && r.nrecs == 1 && r.recs[0].kind == HOOK_CONSENT && r.recs[0].granted,
	   "telegram: a bare /start grants the chat's consent");
	hook_result_free(&r);
	free(body);
	hook_free(h);
	free(fx);
}

/* ---- WhatsApp -------------------------------------------------------------- */

static void test_whatsapp(void)
{
	struct hook *h;
	char *st = slurp("whatsapp-status.json"), *msg = slurp("whatsapp-message.json");
	char hex[65], sig[80];
	struct hook_req rq;
	struct hdrs hd;
	struct hook_result r;
	const struct hook_rec *x;

	setenv("TEST_WA_SECRET", "wa-app-secret", 1);
	h = load("[hook.wa]\npreset = whatsapp\napp_secret_env = TEST_WA_SECRET\n"
		 "verify_token = meatyhamhock\n", "wa");
	ok(h != NULL, "whatsapp: loads");
	if (!h)
		return;
	req_init(&rq, &hd, NULL);
	rq.method = "GET";
	rq.query = "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock";
	hook_handle(h, &rq, &r);
	is_int(r.status, 200, "whatsapp: verification GET: 200");
	is_str(r.body.buf, "1158201444", "whatsapp: answers hub.challenge");
	ok(!strncmp(r.content_type, "text/plain", 10), "whatsapp: as text/plain");
	hook_result_free(&r);
	rq.query = "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhocK";
	hook_handle(h, &rq, &r);
	ok(r.status == 403 && !r.body.len, "whatsapp: a wrong verify_token: 403");
	hook_result_free(&r);

	hmac_hex(EVP_sha256(), "wa-app-secret", st, strlen(st), hex);
	snprintf(sig, sizeof(sig), "sha256=%s", hex);
	req_init(&rq, &hd, st);
	hset(&hd, "X-Hub-Signature-256", sig);
	hook_handle(h, &rq, &r);
	is_int(r.status, 200, "whatsapp: signed status: 200 (%s)", r.err);
	x = find_rec(&r, "delivered", "+16505551234");
	ok(x && r.nrecs == 1 && !strcmp(x->channel, "whatsapp"), "whatsapp: delivered, E.164");
	is_str(x ? x->message_ref : NULL, "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA",
	       "whatsapp: wamid");
	is_str(x ? x->occurred_at : NULL, "2025-06-15 23:27:53", "whatsapp: time");
	hook_result_free(&r);
	sig[10] = sig[10] == 'a' ? 'b' : 'a';
	hook_handle(h, &rq, &r);
	ok(r.status == 401 && !r.nrecs, "whatsapp: a flipped byte in the signature: 401");
	hook_result_free(&r);

	hmac_hex(EVP_sha256(), "wa-app-secret", msg, strlen(msg), hex);
	snprintf(sig, sizeof(sig), "sha256=%s", hex);
	req_init(&rq, &hd, msg);
	hset(&hd, "X-Hub-Signature-256", sig);
	hook_handle(h, &rq, &r);
	ok(r.status == 200 && r.nrecs == 2, "whatsapp: inbound Stop: 2 records (%s)", r.err);
	x = find_rec(&r, "replied", "+16505551234");
	ok(x != NULL, "whatsapp: replied");
	for (size_t i = 0; i < r.nrecs; i++)
		if (r.recs[i].kind == HOOK_CONSENT)
			ok(!r.recs[i].granted && !strcmp(r.recs[i].channel, "whatsapp"),
			   "whatsapp: Stop revokes whatsapp consent");
	hook_result_free(&r);
	msg[strlen(msg) / 2] ^= 0x20;
	hook_handle(h, &rq, &r);
	ok(r.status == 401 && !r.nrecs, "whatsapp: a flipped byte in the body: 401");
	hook_result_free(&r);
	hook_free(h);
	free(st);
	free(msg);
}

/* ---- Viber ------------------------------------------------------------------ */

static void test_viber(void)
{
	struct hook *h = load("[hook.vb]\npreset = viber\nauth_token = 445da6az1s345z78-dazcczb2542zv51a-e0vc5fva17480im9\n", "vb");
	char *d = slurp("viber-delivered.json"), *s = slurp("viber-subscribed.json"), hex[65];
	const char *key = "445da6az1s345z78-dazcczb2542zv51a-e0vc5fva17480im9";
	struct hook_req rq;
	struct hdrs hd;
	struct hook_result r;

	ok(h != NULL, "viber: loads");
	if (!h)
		return;
	hmac_hex(EVP_sha256(), key, d, strlen(d), hex);
	req_init(&rq, &hd, d);
	hset(&hd, "X-Viber-Content-Signature", hex);
	hook_handle(h, &rq, &r);
	is_int(r.status, 200, "viber: signed delivered: 200 (%s)", r.err);
	ok(r.nrecs == 1 && !strcmp(r.recs[0].type, "delivered"), "viber: delivered");
	is_str(r.nrecs ? r.recs[0].message_ref : NULL, "4912661846655238145",
	       "viber: a 64-bit message token keeps its digits");
	is_str(r.nrecs ? r.recs[0].occurred_at : NULL, "2016-03-12 06:29:57", "viber: ms time");
	hook_result_free(&r);
	hex[0] = hex[0] == '0' ? '1' : '0';
	hook_handle(h, &rq, &r);
	ok(r.status == 401 && !r.nrecs, "viber: a flipped byte in the signature: 401");
	hook_result_free(&r);
	hmac_hex(EVP_sha256(), key, s, strlen(s), hex);
	req_init(&rq, &hd, s);
	hset(&hd, "X-Viber-Content-Signature", hex);
	hook_handle(h, &rq, &r);
	ok(r.status == 200 && r.nrecs == 1 && r.recs[0].kind == HOOK_CONSENT && r.recs[0].granted &&
	   !strcmp(r.recs[0].address, "01234567890A="), "viber: subscribed grants consent");
	hook_result_free(&r);
	hook_free(h);
	free(d);
	free(s);
}

/* ---- the rest --------------------------------------------------------------- */

static void test_misc(void)
{
	struct hook *h;
	struct hook_req rq;
	struct hdrs hd;
	struct hook_result r;
	char *err = NULL;

	h = load("[hook.x]\npreset = viber\nauth_token = k\n", "x");
	req_init(&rq, &hd, "{}");
	rq.method = "PUT";
	hook_handle(h, &rq, &r);
	is_int(r.status, 405, "a PUT: 405");
	hook_result_free(&r);
	rq.method = "GET";
	hook_handle(h, &rq, &r);
	is_int(r.status, 405, "a GET where the preset takes none: 405");
	hook_result_free(&r);
	rq.method = "POST";
	rq.len = HOOK_BODY_MAX + 1;
	hook_handle(h, &rq, &r);
	is_int(r.status, 413, "a body too large: 413");
	hook_result_free(&r);
	hook_free(h);

	conf_free(cf);
	cf = conf_parse("[hook.x]\npreset = nosuch\n", "test.conf", 0600);
	h = hook_load(cf, "x", &err);
	ok(!h && err && strstr(err, "nosuch.json"), "an unknown preset: %s", err);
	free(err);
	h = hook_load(cf, "y", &err);
	ok(!h && err && strstr(err, "preset is not set"), "no section: %s", err);
	free(err);
	conf_free(cf);
	cf = conf_parse("[hook.x]\npreset = telegram\n", "test.conf", 0600);
	h = hook_load(cf, "x", &err);
	ok(!h && err && strstr(err, "secret_token_env"), "a secret not set: %s",
	   err);
	free(err);
	conf_free(cf);
	cf = conf_parse("[hook.x]\npreset = sendgrid\npublic_key = bm90IGEga2V5\n", "test.conf", 0600);
	h = hook_load(cf, "x", &err);
	ok(!h && err && strstr(err, "not a public key"), "a bad public key: %s",
	   err);
	free(err);

	/* every preset of share/hooks loads in its minimal configuration */
	{
		static const char *const cfgs[] = {
			"preset = ses\ntopic_arn = *\n", "preset = sendgrid\npublic_key = ",
			"preset = mailgun\nsigning_key = k\n", "preset = postmark\nuser = u\npassword = p\n",
			"preset = twilio\nauth_token = t\n", "preset = telegram\nsecret_token = s\n",
			"preset = whatsapp\napp_secret = a\nverify_token = v\n", "preset = viber\nauth_token = t\n",
		};
		for (size_t i = 0; i < ARRAY_SIZE(cfgs); i++) {
			char t[512];
			snprintf(t, sizeof(t), "[hook.p]\n%s%s\n", cfgs[i], i == 1 ? sg_pub : "");
			h = load(t, "p");
			ok(h != NULL, "preset loads: %.*s", (int)strcspn(cfgs[i] + 9, "\n"), cfgs[i] + 9);
			hook_free(h);
		}
	}
}

int main(void)
{
	top = getenv("CRM_TOP");
	if (!top)
		top = ".";
	test_ses();
	test_sendgrid();
	test_mailgun();
	test_postmark();
	test_twilio();
	test_telegram();
	test_whatsapp();
	test_viber();
	test_misc();
	conf_free(cf);
	EVP_PKEY_free(rsa);
	sb_free(&cert_pem);
	return tap_done();
}
