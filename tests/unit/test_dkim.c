/*
 * test_dkim.c - lib/dkim.c: DKIM signatures. RFC 8463 appendix A's key
 * and message give its bh= and b= to the byte; RFC 6376 3.4.5's example
 * canonicalises as the RFC says. Every signature lib/dkim.c makes is
 * checked by a second, separate verifier written here from RFC 6376 over
 * libcrypto, itself first checked on RFC 8463's published signature (and
 * tests/cli/t0655 checks crm-send's messages with python3-dkim). Then
 * the keys crm-send accepts and refuses, alignment, header lists.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "dkim.h"
#include "tap.h"
#include "util.h"

/* ---- a verifier of our own (RFC 6376, relaxed/relaxed only) --------------- */

struct field {
	char *name;      /* as written */
	char *raw;       /* the whole field, folded, without the final CRLF */
	int used;
};

static int wsp(int c)
{
	return c == ' ' || c == '\t';
}

/* Relaxed header canonicalisation (RFC 6376 3.4.2) of one field. */
static void canon_header(struct sb *out, const char *raw)
{
	const char *colon = strchr(raw, ':'), *p;
	size_t nlen = (size_t)(colon - raw);
	int space = 0, started = 0;

	while (nlen && wsp(raw[nlen - 1]))
		nlen--;
	for (size_t i = 0; i < nlen; i++)
		sb_addc(out, ascii_lower((unsigned char)raw[i]));
	sb_addc(out, ':');
	for (p = colon + 1; *p; p++) {
		if (*p == '\r' || *p == '\n')
			continue;
		if (wsp(*p)) {
			space = 1;
			continue;
		}
		if (space && started)
			sb_addc(out, ' ');
		space = 0;
		started = 1;
		sb_addc(out, *p);
	}
}

/* Relaxed body canonicalisation (RFC 6376 3.4.4). */
static void canon_body(struct sb *out, const char *b, size_t len)
{
	size_t blank = 0;
	const char *end = b + len;

	while (b < end) {
		const char *nl = strstr(b, "\r\n");
		const char *le = nl && nl < end ? nl : end;
		size_t n = (size_t)(le - b);
		struct sb line = SB_INIT;
		int space = 0;
		for (size_t i = 0; i < n; i++) {
			if (wsp(b[i])) {
				space = 1;
				continue;
			}
			if (space)
				sb_addc(&line, ' ');
			space = 0;
			sb_addc(&line, b[i]);
		}
		if (!line.len) {
			blank++;
		} else {
			for (; blank; blank--)
				sb_adds(out, "\r\n");
			sb_add(out, line.buf, line.len);
			sb_adds(out, "\r\n");
		}
		sb_free(&line);
		b = le < end ? le + 2 : end;
	}
}

static char *b64(const unsigned char *d, size_t n)
{
	char *o = xmalloc(4 * ((n + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)o, d, (int)n);
	return o;
}

static size_t unb64(const char *s, unsigned char *out, size_t max)
{
	struct sb clean = SB_INIT;
	int n;
	size_t pad = 0;

	for (; *s; s++)
		if (!ascii_isspace((unsigned char)*s))
			sb_addc(&clean, *s);
	if (clean.len % 4 || clean.len / 4 * 3 > max) {
		sb_free(&clean);
		return 0;
	}
	n = EVP_DecodeBlock(out, (unsigned char *)clean.buf, (int)clean.len);
	pad = clean.len && clean.buf[clean.len - 1] == '=' ? 1 + (clean.len > 1 && clean.buf[clean.len - 2] == '=') : 0;
	sb_free(&clean);
	return n < 0 ? 0 : (size_t)n - pad;
}

/* The value of tag t in a DKIM-Signature's text (white space removed), or
 * NULL; start and stop (when given) are where the value lies in sig. */
static char *tag(const char *sig, const char *t, const char **start, const char **stop)
{
	const char *p = strchr(sig, ':') + 1;

	while (*p) {
		const char *semi = strchr(p, ';'), *e = semi ? semi : p + strlen(p), *eq;
		const char *n = p;
		while (n < e && ascii_isspace((unsigned char)*n))
			n++;
		eq = memchr(n, '=', (size_t)(e - n));
		if (eq) {
			const char *ne = eq;
			while (ne > n && ascii_isspace((unsigned char)ne[-1]))
				ne--;
			if ((size_t)(ne - n) == strlen(t) && !memcmp(n, t, strlen(t))) {
				struct sb v = SB_INIT;
				for (const char *q = eq + 1; q < e; q++)
					if (!ascii_isspace((unsigned char)*q))
						sb_addc(&v, *q);
				if (start)
					*start = eq + 1, *stop = e;
				return sb_detach(&v);
			}
		}
		p = semi ? semi + 1 : e;
	}
	return NULL;
}

/* Splits msg into fields (unfolded text kept) and the body. */
static size_t split(const char *msg, struct field *f, size_t max, const char **body)
{
	size_t n = 0;
	const char *p = msg;

	while (*p && strncmp(p, "\r\n", 2)) {
		const char *e = p;
		for (;;) {
			e = strstr(e, "\r\n");
			if (!e || !wsp(e[2]))
				break;
			e += 2;
		}
		if (!e || n == max)
			break;
		f[n].raw = xstrndup(p, (size_t)(e - p));
		f[n].name = xstrndup(p, strcspn(p, ":"));
		for (size_t l = strlen(f[n].name); l && wsp(f[n].name[l - 1]); l--)
			f[n].name[l - 1] = 0;
		f[n].used = 0;
		n++;
		p = e + 2;
	}
	*body = strncmp(p, "\r\n", 2) ? p : p + 2;
	return n;
}

/*
 * Verifies the idx-th DKIM-Signature field of msg with the public key
 * pub (DNS p=, base64) of kind "rsa" or "ed25519". Returns 1 when it
 * holds, 0 when not; *why says what failed.
 */
static int verify(const char *msg, int idx, const char *kind, const char *pub, const char **why)
{
	struct field f[64];
	const char *body, *bs, *be;
	size_t nf = split(msg, f, 64, &body), si = nf;
	struct sb data = SB_INIT, cb = SB_INIT, sigc = SB_INIT;
	unsigned char md[32], keybuf[1024], sigbuf[1024];
	char *bh = NULL, *h = NULL, *b = NULL, *a = NULL, *mybh;
	int ok = 0, k = 0;
	size_t kl, sl;
	EVP_PKEY *pk = NULL;
	EVP_MD_CTX *ctx = NULL;

	*why = "no such signature";
	for (size_t i = 0; i < nf; i++)
		if (!ascii_casecmp(f[i].name, "DKIM-Signature") && k++ == idx)
			si = i;
	if (si == nf)
		goto out;
	bh = tag(f[si].raw, "bh", NULL, NULL);
	h = tag(f[si].raw, "h", NULL, NULL);
	a = tag(f[si].raw, "a", NULL, NULL);
	b = tag(f[si].raw, "b", &bs, &be);
	*why = "a tag is missing";
	if (!bh || !h || !b || !a)
		goto out;
	canon_body(&cb, body, strlen(body));
	EVP_Digest(cb.buf, cb.len, md, NULL, EVP_sha256(), NULL);
	mybh = b64(md, 32);
	ok = !strcmp(mybh, bh);
	free(mybh);
	*why = "body hash mismatch";
	if (!ok)
		goto out;
	ok = 0;
	/* the fields h= names, each instance from the bottom up */
	for (char *p = h; *p;) {
		size_t l = strcspn(p, ":");
		for (size_t i = nf; i-- > 0;)
			if (i != si && !f[i].used && strlen(f[i].name) == l &&
			    !ascii_ncasecmp(f[i].name, p, l)) {
				f[i].used = 1;
				canon_header(&data, f[i].raw);
				sb_adds(&data, "\r\n");
				break;
			}
		p += l + (p[l] == ':');
	}
	/* the signature field itself, b= empty, no CRLF */
	sb_add(&sigc, f[si].raw, (size_t)(bs - f[si].raw));
	sb_adds(&sigc, be);
	canon_header(&data, sigc.buf);
	*why = "bad key";
	if (!(kl = unb64(pub, keybuf, sizeof(keybuf))))
		goto out;
	if (!strcmp(kind, "ed25519")) {
		if (strcmp(a, "ed25519-sha256"))
			goto out;
		pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, keybuf, kl);
	} else {
		const unsigned char *q = keybuf;
		if (strcmp(a, "rsa-sha256"))
			goto out;
		pk = d2i_PUBKEY(NULL, &q, (long)kl);
	}
	if (!pk || !(sl = unb64(b, sigbuf, sizeof(sigbuf))))
		goto out;
	ctx = EVP_MD_CTX_new();
	*why = "signature mismatch";
	if (!strcmp(kind, "ed25519")) {
		/* RFC 8463: Ed25519 signs the SHA-256 hash of the data */
		EVP_Digest(data.buf, data.len, md, NULL, EVP_sha256(), NULL);
		ok = EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pk) == 1 &&
		     EVP_DigestVerify(ctx, sigbuf, sl, md, 32) == 1;
	} else {
		ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pk) == 1 &&
		     EVP_DigestVerify(ctx, sigbuf, sl, (unsigned char *)data.buf, data.len) == 1;
	}
	if (ok)
		*why = "ok";
out:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pk);
	for (size_t i = 0; i < nf; i++) {
		free(f[i].raw);
		free(f[i].name);
	}
	free(bh);
	free(h);
	free(b);
	free(a);
	sb_free(&data);
	sb_free(&cb);
	sb_free(&sigc);
	return ok;
}

/* ---- keys ------------------------------------------------------------------- */

static char *pem_of(EVP_PKEY *pk, const char *pass)
{
	BIO *m = BIO_new(BIO_s_mem());
	char *d, *s;
	long n;

	if (pass)
		PEM_write_bio_PrivateKey(m, pk, EVP_aes_256_cbc(), NULL, 0, NULL, (void *)pass);
	else
		PEM_write_bio_PrivateKey(m, pk, NULL, NULL, 0, NULL, NULL);
	n = BIO_get_mem_data(m, &d);
	s = xstrndup(d, (size_t)n);
	BIO_free(m);
	return s;
}

static char *pub_pem_of(EVP_PKEY *pk)
{
	BIO *m = BIO_new(BIO_s_mem());
	char *d, *s;
	long n;

	PEM_write_bio_PUBKEY(m, pk);
	n = BIO_get_mem_data(m, &d);
	s = xstrndup(d, (size_t)n);
	BIO_free(m);
	return s;
}

/* RFC 8463 appendix A */
static const char rfc8463_seed[] = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
static const char rfc8463_pub[] = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
static const char rfc8463_msg[] =
	"From: Joe SixPack <joe@football.example.com>\r\n"
	"To: Suzie Q <suzie@shopping.example.net>\r\n"
	"Subject: Is dinner ready?\r\n"
	"Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
	"Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
	"\r\n"
	"Hi.\r\n"
	"\r\n"
	"We lost the game.  Are you hungry yet?\r\n"
	"\r\n"
	"Joe.\r\n";
static const char rfc8463_sig[] =
	"DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
	" d=football.example.com; i=@football.example.com;\r\n"
	" q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
	" subject : date : message-id : from : subject : date;\r\n"
	" bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
	" b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n"
	" Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r\n";

static void test_canon(void)
{
	struct sb s = SB_INIT;
	const char *hdr = "B : Y\t\r\n\tZ  ";

	dkim_canon_header(&s, "A: X", 4);
	sb_adds(&s, "\r\n");
	dkim_canon_header(&s, hdr, strlen(hdr));
	sb_adds(&s, "\r\n");
	is_str(s.buf, "a:X\r\nb:Y Z\r\n", "RFC 6376 3.4.5: relaxed header example");
	sb_reset(&s);
	dkim_canon_body(&s, " C \r\nD \t E\r\n\r\n\r\n", 16);
	is_str(s.buf, " C\r\nD E\r\n", "RFC 6376 3.4.5: relaxed body example");
	sb_reset(&s);
	dkim_canon_body(&s, "", 0);
	is_str(s.buf, "", "the empty body: nothing");
	dkim_canon_body(&s, "\r\n \r\n\t\r\n", 8);
	is_str(s.buf, "", "only empty and blank lines: nothing");
	dkim_canon_body(&s, "a  b", 4);
	is_str(s.buf, "a b\r\n", "no final CRLF: one is added");
	sb_reset(&s);
	dkim_canon_body(&s, "x\r\n\r\n  \r\ny \r\n\r\n", 15);
	is_str(s.buf, "x\r\n\r\n\r\ny\r\n", "empty lines inside are kept, at the end dropped");
	sb_reset(&s);
	hdr = "Subject:   =?UTF-8?B?0J/RgA==?=\r\n =?UTF-8?B?0YDQuA==?=  ";
	dkim_canon_header(&s, hdr, strlen(hdr));
	is_str(s.buf, "subject:=?UTF-8?B?0J/RgA==?= =?UTF-8?B?0YDQuA==?=", "a folded encoded subject");
	sb_reset(&s);
	dkim_canon_header(&s, "X-Empty:", 8);
	is_str(s.buf, "x-empty:", "an empty field");
	sb_free(&s);
}

static void test_verifier(void)
{
	struct sb s = SB_INIT, t = SB_INIT;
	const char *why = "";
	char *p;

	/* RFC 6376 3.4.5: the canonical forms of its example */
	canon_header(&s, "A: X");
	canon_header(&s, "B : Y\t\r\n\tZ  ");
	is_str(s.buf, "a:Xb:Y Z", "our verifier: RFC 6376 3.4.5 relaxed header example");
	sb_reset(&s);
	canon_body(&s, " C \r\nD \t E\r\n\r\n\r\n", 16);
	is_str(s.buf, " C\r\nD E\r\n", "our verifier: RFC 6376 3.4.5 relaxed body example");

	/* RFC 8463 appendix A: the published signature holds */
	sb_reset(&s);
	sb_adds(&s, rfc8463_sig);
	sb_adds(&s, rfc8463_msg);
	ok(verify(s.buf, 0, "ed25519", rfc8463_pub, &why), "our verifier: RFC 8463 A's signature holds (%s)", why);
	/* and fails when anything changes */
	sb_add(&t, s.buf, s.len);
	p = strstr(t.buf, "Is dinner");
	p[0] = 'i';
	ok(!verify(t.buf, 0, "ed25519", rfc8463_pub, &why), "our verifier: a changed Subject fails (%s)", why);
	sb_reset(&t);
	sb_add(&t, s.buf, s.len);
	p = strstr(t.buf, "hungry");
	p[0] = 'H';
	ok(!verify(t.buf, 0, "ed25519", rfc8463_pub, &why) && !strcmp(why, "body hash mismatch"),
	   "our verifier: a changed body fails (%s)", why);
	sb_reset(&t);
	sb_add(&t, s.buf, s.len);
	p = strstr(t.buf, "b=/gCr");
	p[3] = 'h';
	ok(!verify(t.buf, 0, "ed25519", rfc8463_pub, &why), "our verifier: a changed b= fails (%s)", why);
	sb_free(&s);
	sb_free(&t);
}

static EVP_PKEY *rfc8463_key(void)
{
	unsigned char seed[40];
	size_t n = unb64(rfc8463_seed, seed, sizeof(seed));
	return EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, n);
}

static void test_rfc8463(void)
{
	char err[512], warn[256];
	EVP_PKEY *pk = rfc8463_key();
	char *pem = pem_of(pk, NULL), *bh;
	struct dkim_signer *ds = dkim_signer_new("football.example.com",
						 "from:to:subject:date:message-id", err, sizeof(err));
	struct sb m = SB_INIT;
	const char *why = "";

	ok(ds != NULL, "signer for football.example.com (%s)", ds ? "" : err);
	is_int(dkim_signer_add_key(ds, "brisbane", pem, strlen(pem), err, sizeof(err), warn,
				   sizeof(warn)), 0, "RFC 8463's key is taken");
	is_str(dkim_signer_alg(ds, 0), "ed25519", "an Ed25519 key");
	is_str(dkim_signer_pubkey(ds, 0), rfc8463_pub, "its p= is RFC 8463's");
	sb_adds(&m, rfc8463_msg);
	is_int(dkim_signer_sign(ds, &m, "joe@football.example.com", 1528637909, err, sizeof(err)),
	       0, "signs RFC 8463's message");
	ok(!strncmp(m.buf, "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;", 57),
	   "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed first");
	{
		static const char *const want[][2] = {
			{ "d", "football.example.com" }, { "s", "brisbane" }, { "t", "1528637909" },
			{ "h", "from:from:to:to:subject:subject:date:date:message-id:message-id" },
		};
		for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
			char *v = tag(m.buf, want[i][0], NULL, NULL);
			is_str(v, want[i][1], "%s=", want[i][0]);
			free(v);
		}
	}
	ok(!strcmp(m.buf + m.len - strlen(rfc8463_msg), rfc8463_msg), "the message follows unchanged");
	bh = tag(m.buf, "bh", NULL, NULL);
	is_str(bh, "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=", "bh= is RFC 8463's");
	free(bh);
	ok(verify(m.buf, 0, "ed25519", rfc8463_pub, &why), "the signature holds (%s)", why);
	for (size_t i = 0; i < m.len; i++)
		if (m.buf[i] == '\n')
			ok(i && m.buf[i - 1] == '\r', "LF at %zu follows CR", i);
	/* RFC 8463 A's own field, b= empty: our canonicalisation and
	 * signature give its b= exactly (Ed25519 is deterministic) */
	{
		static const char *const h8463[] = { "from", "to", "subject", "date", "message-id",
						     "from", "subject", "date" };
		const char *end = strstr(rfc8463_sig, " b=") + 3;
		char *sig = xstrndup(rfc8463_sig, (size_t)(end - rfc8463_sig));
		struct sb b = SB_INIT;
		is_int(dkim_sign_fields(ds, 0, rfc8463_msg, strlen(rfc8463_msg), h8463, 8, sig, &b,
					err, sizeof(err)), 0, "signs under RFC 8463's field");
		is_str(b.buf, "/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11BusFa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==",
		       "b= is RFC 8463 appendix A's, to the byte");
		free(sig);
		sb_free(&b);
	}
	/* Ed25519 is deterministic: the same message, the same signature */
	{
		struct sb m2 = SB_INIT;
		sb_adds(&m2, rfc8463_msg);
		dkim_signer_sign(ds, &m2, "joe@football.example.com", 1528637909, err, sizeof(err));
		is_str(m2.buf, m.buf, "signing again gives the same bytes");
		sb_free(&m2);
	}
	sb_free(&m);
	dkim_signer_free(ds);
	free(pem);
	EVP_PKEY_free(pk);
}

/* RFC 6376 3.4.6's example, signed with RSA and Ed25519 */
static void test_rfc6376_example(void)
{
	char err[512], warn[256];
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	char *rpem = pem_of(rsa, NULL), *epem = pem_of(ed, NULL), *bh, *h;
	struct dkim_signer *ds = dkim_signer_new("example.com", "from:a:b", err, sizeof(err));
	const char msg[] = "A: X\r\nB : Y\t\r\n\tZ  \r\nFrom: x@example.com\r\n\r\n C \r\nD \t E\r\n\r\n\r\n";
	struct sb m = SB_INIT, t = SB_INIT;
	unsigned char md[32];
	char *want;
	const char *why = "";

	is_int(dkim_signer_add_key(ds, "r", rpem, strlen(rpem), err, sizeof(err), warn, sizeof(warn)),
	       0, "RSA 2048 key taken (%s)", err);
	is_str(warn, "", "no warning for 2048 bits");
	is_int(dkim_signer_add_key(ds, "e", epem, strlen(epem), err, sizeof(err), warn, sizeof(warn)),
	       0, "Ed25519 key taken");
	is_int(dkim_signer_nkeys(ds), 2, "two keys");
	sb_adds(&m, msg);
	is_int(dkim_signer_sign(ds, &m, "x@example.com", 1795435200, err, sizeof(err)), 0, "signs");
	EVP_Digest(" C\r\nD E\r\n", 9, md, NULL, EVP_sha256(), NULL);
	want = b64(md, 32);
	bh = tag(m.buf, "bh", NULL, NULL);
	is_str(bh, want, "bh= is SHA-256 of RFC 6376 3.4.5's canonical body");
	free(bh);
	free(want);
	h = tag(m.buf, "h", NULL, NULL);
	is_str(h, "from:from:a:a:b:b", "h=: each field as often as it occurs, and once more");
	free(h);
	ok(verify(m.buf, 0, "rsa", dkim_signer_pubkey(ds, 0), &why), "the RSA signature holds (%s)", why);
	ok(verify(m.buf, 1, "ed25519", dkim_signer_pubkey(ds, 1), &why), "the Ed25519 signature holds (%s)", why);
	ok(!verify(m.buf, 0, "rsa", dkim_signer_pubkey(ds, 1), &why), "not with the other key");
	/* white space changes that relaxed canonicalisation forgives */
	sb_add(&t, m.buf, m.len);
	{
		char *p = strstr(t.buf, "B : Y");
		memcpy(p, "b:   Y", 6);
	}
	ok(verify(t.buf, 0, "rsa", dkim_signer_pubkey(ds, 0), &why), "B's name case and spaces: still holds (%s)", why);
	sb_reset(&t);
	sb_add(&t, m.buf, m.len);
	sb_adds(&t, "\r\n\r\n");
	ok(verify(t.buf, 1, "ed25519", dkim_signer_pubkey(ds, 1), &why), "more empty lines at the end: still holds");
	sb_reset(&t);
	sb_add(&t, m.buf, m.len);
	strstr(t.buf, "D \t E")[4] = 'F';
	ok(!verify(t.buf, 0, "rsa", dkim_signer_pubkey(ds, 0), &why) &&
	   !verify(t.buf, 1, "ed25519", dkim_signer_pubkey(ds, 1), &why), "a changed body: both fail");
	/* an added From after signing breaks it: From is over-signed */
	sb_reset(&t);
	{
		const char *body = strstr(m.buf, "\r\n\r\n");
		sb_add(&t, m.buf, (size_t)(body - m.buf) + 2);
		sb_adds(&t, "From: boss@example.com\r\n");
		sb_adds(&t, body + 2);
	}
	ok(!verify(t.buf, 0, "rsa", dkim_signer_pubkey(ds, 0), &why), "a second From added: fails");

	/* the empty body */
	sb_reset(&m);
	sb_adds(&m, "From: x@example.com\r\n\r\n");
	is_int(dkim_signer_sign(ds, &m, "x@example.com", 0, err, sizeof(err)), 0, "signs an empty body");
	bh = tag(m.buf, "bh", NULL, NULL);
	is_str(bh, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", "bh= of the empty body (RFC 6376 3.4.4)");
	free(bh);
	ok(verify(m.buf, 1, "ed25519", dkim_signer_pubkey(ds, 1), &why), "and it holds (%s)", why);

	/* a From that does not align: refused, msg unchanged */
	sb_reset(&m);
	sb_adds(&m, msg);
	is_int(dkim_signer_sign(ds, &m, "x@example.org", 0, err, sizeof(err)), -1,
	       "From x@example.org with d=example.com: refused");
	ok(strstr(err, "does not align") != NULL, "says why: %s", err);
	is_str(m.buf, msg, "the message is left as it was");

	sb_free(&m);
	sb_free(&t);
	dkim_signer_free(ds);
	free(rpem);
	free(epem);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ed);
}

static void test_keys(void)
{
	char err[512], warn[256];
	struct dkim_signer *ds = dkim_signer_new("example.com", NULL, err, sizeof(err));
	EVP_PKEY *r512 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)512);
	EVP_PKEY *r1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	EVP_PKEY *x = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	char *p;
	const char *garbage = "hello, this is not a key\n";
	const char *broken = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";

#define REFUSED(sel, pem, len, want, what) do { \
	is_int(dkim_signer_add_key(ds, sel, pem, len, err, sizeof(err), warn, sizeof(warn)), -1, what); \
	ok(strstr(err, want) != NULL, "  says: %s", err); \
} while (0)

	ok(ds != NULL, "a signer with the default headers");
	REFUSED("s", garbage, strlen(garbage), "not a PEM file", "garbage");
	REFUSED("s", "", 0, "not a PEM file", "an empty file");
	REFUSED("s", broken, strlen(broken), "not a private key OpenSSL can read", "a broken PEM");
	p = pem_of(r512, NULL);
	REFUSED("s", p, strlen(p), "an RSA key of 512 bits is too short", "RSA 512");
	free(p);
	p = pem_of(ec, NULL);
	REFUSED("s", p, strlen(p), "a key of type id-ecPublicKey: DKIM signs with RSA or Ed25519", "EC P-256");
	free(p);
	p = pem_of(x, NULL);
	REFUSED("s", p, strlen(p), "a key of type X25519", "X25519");
	free(p);
	p = pem_of(ed, "secret");
	REFUSED("s", p, strlen(p), "an encrypted key", "an encrypted Ed25519 key");
	free(p);
	p = pub_pem_of(ed);
	REFUSED("s", p, strlen(p), "a public key", "a public key");
	free(p);
	p = pem_of(ed, NULL);
	REFUSED("s_2026!", p, strlen(p), "is not a DNS name", "a selector with '!'");
	REFUSED("", p, strlen(p), "is not a DNS name", "an empty selector");
	is_int(dkim_signer_nkeys(ds), 0, "none of them was taken");
	is_int(dkim_signer_add_key(ds, "S2026.Mail", p, strlen(p), err, sizeof(err), warn, sizeof(warn)),
	       0, "a selector with a dot is taken");
	is_str(dkim_signer_selector(ds, 0), "s2026.mail", "lower case");
	free(p);
	p = pem_of(r1024, NULL);
	is_int(dkim_signer_add_key(ds, "r", p, strlen(p), err, sizeof(err), warn, sizeof(warn)), 0,
	       "RSA 1024 is taken");
	ok(strstr(warn, "1024 bits: 2048 are recommended") != NULL, "with a warning: %s", warn);
	is_str(dkim_signer_alg(ds, 1), "rsa", "k=rsa");
	free(p);
	dkim_signer_free(ds);
	EVP_PKEY_free(r512);
	EVP_PKEY_free(r1024);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(ed);
	EVP_PKEY_free(x);
}

static void test_headers(void)
{
	char err[512];
	struct dkim_signer *ds;

	ok((ds = dkim_signer_new("Example.COM.", NULL, err, sizeof(err))) == NULL,
	   "a trailing dot is not taken in domain");
	ds = dkim_signer_new("Example.COM", NULL, err, sizeof(err));
	is_str(ds ? dkim_signer_domain(ds) : NULL, "example.com", "domain in lower case");
	dkim_signer_free(ds);
	ok(!dkim_signer_new("example.com", "to:subject", err, sizeof(err)) &&
	   strstr(err, "must name From"), "headers without From: refused (%s)", err);
	ok(!dkim_signer_new("example.com", "from:x_y", err, sizeof(err)) &&
	   strstr(err, "not a header field name"), "a bad name: refused (%s)", err);
	ok(!dkim_signer_new("example.com", "from:dkim-signature", err, sizeof(err)),
	   "DKIM-Signature: refused");
	ok(!dkim_signer_new("exa mple.com", NULL, err, sizeof(err)), "a domain with a space: refused");
	ok(!dkim_signer_new("-example.com", NULL, err, sizeof(err)), "a label starting with '-': refused");
	ok(!dkim_signer_new("", NULL, err, sizeof(err)), "an empty domain: refused");
	ds = dkim_signer_new("example.com", " From , to:FROM::subject ", err, sizeof(err));
	ok(ds != NULL, "':', ',' and blanks separate; repeats and case do not matter");
	dkim_signer_free(ds);
}

static void test_aligned(void)
{
	static const struct { const char *d, *f; int want; } t[] = {
		{ "example.com", "example.com", 1 },
		{ "Example.COM", "example.com.", 1 },
		{ "mail.example.com", "example.com", 1 },
		{ "example.com", "news.example.com", 1 },
		{ "example.com", "example.org", 0 },
		{ "ample.com", "example.com", 0 },
		{ "example.com", "badexample.com", 0 },
		{ "com", "example.com", 0 },
		{ "example.com", "com", 0 },
		{ "a.example.com", "b.example.com", 0 },
		{ "", "example.com", 0 },
		{ "example.com", "", 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		is_int(dkim_aligned(t[i].d, t[i].f), t[i].want, "aligned(d=%s, From %s)", t[i].d, t[i].f);
}

int main(void)
{
	test_canon();
	test_verifier();
	test_rfc8463();
	test_rfc6376_example();
	test_keys();
	test_headers();
	test_aligned();
	return tap_done();
}
