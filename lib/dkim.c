/*
 * DKIM signatures on crm-send's e-mails (see dkim.h): RFC 6376's relaxed
 * canonicalisation here, the keys and the signatures (RSASSA-PKCS1-v1_5
 * with SHA-256; Ed25519 over the SHA-256 hash, RFC 8463) libcrypto's.
 */
#include "dkim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "conf.h"
#include "diag.h"
#include "mime.h"

#define KEY_FILE_MAX (64 * 1024)
#define MAX_HEADERS 64
#define MAX_FIELDS 1000   /* header fields of a message we sign */

struct dkim_key {
	char *selector;
	EVP_PKEY *pk;
	int ed25519;            /* else RSA */
	char *pub;              /* p= of the DNS record */
};

/* a header field of the message: its text without the final CRLF */
struct field {
	const char *p;
	size_t len, nlen;       /* nlen: the name, blanks before ':' dropped */
};

struct dkim_signer {
	char *domain;
	char *hdrs[MAX_HEADERS + 1];  /* lower case, NULL-terminated */
	struct dkim_key key[DKIM_MAX_KEYS];
	int nkeys;
	struct sb sigs, data, body, field;
	struct field *f;
};

/* ---- names ---------------------------------------------------------------- */

static char *lower_dup(const char *s, size_t n)
{
	char *d = xstrndup(s, n);
	for (char *p = d; *p; p++)
		*p = (char)ascii_lower((unsigned char)*p);
	return d;
}

/* 1 when s is a domain name of LDH labels (a selector may have dots too). */
static int dns_name_ok(const char *s)
{
	size_t n = strlen(s), label = 0;

	if (!n || n > 253)
		return 0;
	for (size_t i = 0; i <= n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.' || !c) {
			if (!label || s[i - 1] == '-' || label > 63)
				return 0;
			label = 0;
		} else if (ascii_isalpha(c) || ascii_isdigit(c) || c == '_' ||
			   (c == '-' && label)) {
			label++;
		} else {
			return 0;
		}
	}
	return 1;
}

/* The domain without a trailing dot, lower case, in buf; NULL when it
 * does not fit. */
static const char *norm_domain(const char *s, char *buf, size_t n)
{
	size_t len = strlen(s);

	if (len && s[len - 1] == '.')
		len--;
	if (len >= n)
		return NULL;
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)ascii_lower((unsigned char)s[i]);
	buf[len] = 0;
	return buf;
}

static int is_subdomain(const char *sub, const char *parent)
{
	size_t a = strlen(sub), b = strlen(parent);

	return a > b + 1 && sub[a - b - 1] == '.' && !strcmp(sub + a - b, parent) &&
	       strchr(parent, '.') != NULL;
}

int dkim_aligned(const char *d, const char *f)
{
	char a[256], b[256];

	if (!d || !f || !norm_domain(d, a, sizeof(a)) || !norm_domain(f, b, sizeof(b)) || !*a ||
	    !*b)
		return 0;
	return !strcmp(a, b) || is_subdomain(a, b) || is_subdomain(b, a);
}

/* ---- the signer ----------------------------------------------------------- */

struct dkim_signer *dkim_signer_new(const char *domain, const char *hdrs, char *err,
				    size_t n)
{
	struct dkim_signer *ds;
	size_t nh = 0;
	int from = 0;
	const char *p;

	if (!domain || !dns_name_ok(domain)) {
		snprintf(err, n, "domain \"%s\" is not a domain name", domain ? domain : "");
		return NULL;
	}
	ds = xcalloc(1, sizeof(*ds));
	sb_init(&ds->sigs);
	sb_init(&ds->data);
	sb_init(&ds->body);
	sb_init(&ds->field);
	ds->f = xcalloc(MAX_FIELDS, sizeof(*ds->f));
	ds->domain = lower_dup(domain, strlen(domain));
	for (p = hdrs ? hdrs : DKIM_HEADERS; *p;) {
		size_t len;
		int dup = 0;
		p += strspn(p, ":, \t");
		len = strcspn(p, ":, \t");
		if (!len)
			break;
		for (size_t i = 0; i < len; i++)
			if (!ascii_isalpha((unsigned char)p[i]) && !ascii_isdigit((unsigned char)p[i]) &&
			    p[i] != '-') {
				snprintf(err, n, "headers: \"%.*s\" is not a header field name",
					 (int)(len > 80 ? 80 : len), p);
				goto fail;
			}
		if (len > 76) {
			snprintf(err, n, "headers: \"%.40s...\" is too long for a field name", p);
			goto fail;
		}
		for (size_t i = 0; i < nh; i++)
			dup |= strlen(ds->hdrs[i]) == len && !ascii_ncasecmp(ds->hdrs[i], p, len);
		if (!dup) {
			if (nh == MAX_HEADERS) {
				snprintf(err, n, "headers: more than %d names", MAX_HEADERS);
				goto fail;
			}
			ds->hdrs[nh] = lower_dup(p, len);
			if (!strcmp(ds->hdrs[nh], "dkim-signature")) {
				snprintf(err, n, "headers: DKIM-Signature is not signed by its "
					 "own kind");
				nh++;
				goto fail;
			}
			from |= !strcmp(ds->hdrs[nh], "from");
			nh++;
		}
		p += len;
	}
	if (!from) {
		snprintf(err, n, "headers must name From: it is what DKIM signs for (RFC 6376 "
			 "section 5.4)");
		goto fail;
	}
	return ds;
fail:
	dkim_signer_free(ds);
	return NULL;
}

void dkim_signer_free(struct dkim_signer *ds)
{
	if (!ds)
		return;
	for (int i = 0; i < ds->nkeys; i++) {
		struct dkim_key *k = &ds->key[i];
		EVP_PKEY_free(k->pk);
		free(k->selector);
		free(k->pub);
	}
	for (size_t i = 0; ds->hdrs[i]; i++)
		free(ds->hdrs[i]);
	free(ds->domain);
	sb_free(&ds->sigs);
	sb_free(&ds->data);
	sb_free(&ds->body);
	sb_free(&ds->field);
	free(ds->f);
	free(ds);
}

/* 1 when the n bytes at p hold the string s. */
static int holds(const char *p, size_t n, const char *s)
{
	size_t l = strlen(s);

	for (size_t i = 0; l <= n && i <= n - l; i++)
		if (!memcmp(p + i, s, l))
			return 1;
	return 0;
}

/* The passphrase callback: crm-send asks nobody (no prompt on a terminal
 * in the middle of a cron job). */
static int no_passphrase(char *buf, int size, int rw, void *u)
{
	(void)buf, (void)size, (void)rw;
	*(int *)u = 1;
	return -1;
}

static char *base64(const unsigned char *d, size_t len)
{
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)out, d, (int)len);
	return out;
}

/* ---- canonicalisation (RFC 6376 3.4) ---------------------------------------- */

static int wsp(int c)
{
	return c == ' ' || c == '\t';
}

/* Appends the relaxed canonical form of the field (RFC 6376 3.4.2): the
 * name in lower case, unfolded, runs of blanks as one space, none around
 * the colon or at the end; no CRLF. */
void dkim_canon_header(struct sb *out, const char *p, size_t len)
{
	const char *colon = memchr(p, ':', len), *e = p + len;
	size_t nlen;
	int space = 0, started = 0;

	if (!colon)
		colon = e;
	for (nlen = (size_t)(colon - p); nlen && wsp(p[nlen - 1]); nlen--)
		;
	for (size_t i = 0; i < nlen; i++)
		sb_addc(out, ascii_lower((unsigned char)p[i]));
	sb_addc(out, ':');
	for (const char *q = colon + 1; q < e; q++) {
		if (*q == '\r' || *q == '\n')
			continue;
		if (wsp(*q)) {
			space = 1;
			continue;
		}
		if (space && started)
			sb_addc(out, ' ');
		space = 0;
		started = 1;
		sb_addc(out, *q);
	}
}

/* Appends the relaxed canonical form of the body (RFC 6376 3.4.4): runs
 * of blanks as one space, none at a line's end, no empty lines at the
 * end; every line ends with CRLF. */
void dkim_canon_body(struct sb *out, const char *b, size_t len)
{
	const char *end = b + len;
	size_t blank = 0;

	while (b < end) {
		const char *le = b;
		int space = 0, any = 0;
		while (le < end && !(*le == '\r' && le + 1 < end && le[1] == '\n'))
			le++;
		for (const char *q = b; q < le; q++) {
			if (wsp(*q)) {
				space = 1;
				continue;
			}
			if (!any)
				for (; blank; blank--)
					sb_adds(out, "\r\n");
			if (space)
				sb_addc(out, ' ');
			space = 0;
			any = 1;
			sb_addc(out, *q);
		}
		if (any)
			sb_adds(out, "\r\n");
		else
			blank++;
		b = le < end ? le + 2 : end;
	}
}

/* Splits msg into its header fields (at most MAX_FIELDS) and the body.
 * Returns the number of fields, or -1. */
static long split(struct dkim_signer *ds, const char *msg, size_t len, const char **body)
{
	const char *p = msg, *end = msg + len;
	long n = 0;

	while (p < end && !(end - p >= 2 && p[0] == '\r' && p[1] == '\n')) {
		const char *e = p, *colon;
		for (;;) {
			while (e < end && !(*e == '\r' && e + 1 < end && e[1] == '\n'))
				e++;
			if (e + 2 < end && wsp(e[2]))
				e += 2;
			else
				break;
		}
		colon = memchr(p, ':', (size_t)(e - p));
		if (!colon || n == MAX_FIELDS)
			return -1;
		ds->f[n].p = p;
		ds->f[n].len = (size_t)(e - p);
		for (ds->f[n].nlen = (size_t)(colon - p); ds->f[n].nlen && wsp(p[ds->f[n].nlen - 1]);)
			ds->f[n].nlen--;
		/* a name is printable ASCII but ':' (RFC 5322 2.2) */
		if (!ds->f[n].nlen)
			return -1;
		for (size_t i = 0; i < ds->f[n].nlen; i++)
			if ((unsigned char)p[i] < 33 || (unsigned char)p[i] > 126)
				return -1;
		n++;
		p = e < end ? e + 2 : end;
	}
	*body = p < end ? p + 2 : end;
	return n;
}

/*
 * The hash input of the header fields named by h (in that order, each
 * name's instances from the last one up; a name listed more often than it
 * occurs adds nothing more) into ds->data.
 */
static void hash_fields(struct dkim_signer *ds, long nf, const char *const *h, size_t nh)
{
	unsigned char used[MAX_FIELDS];

	memset(used, 0, (size_t)nf);
	for (size_t j = 0; j < nh; j++) {
		size_t l = strlen(h[j]);
		for (long i = nf; i-- > 0;)
			if (!used[i] && ds->f[i].nlen == l && !ascii_ncasecmp(ds->f[i].p, h[j], l)) {
				used[i] = 1;
				dkim_canon_header(&ds->data, ds->f[i].p, ds->f[i].len);
				sb_adds(&ds->data, "\r\n");
				break;
			}
	}
}

/* Signs ds->data with k: base64 into b. */
static int sign_data(struct dkim_signer *ds, const struct dkim_key *k, struct sb *b, char *err,
		     size_t n)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[32], sig[1024];
	size_t sl = sizeof(sig);
	int ok;

	if (!ctx) {
		snprintf(err, n, "libcrypto: out of memory");
		return -1;
	}
	if (k->ed25519) {
		/* RFC 8463: Ed25519 (PureEdDSA) over the SHA-256 hash */
		ok = EVP_Digest(ds->data.buf, ds->data.len, md, NULL, EVP_sha256(), NULL) == 1 &&
		     EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pk) == 1 &&
		     EVP_DigestSign(ctx, sig, &sl, md, sizeof(md)) == 1;
	} else {
		ok = EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k->pk) == 1 &&
		     EVP_DigestSign(ctx, NULL, &sl, (unsigned char *)ds->data.buf, ds->data.len) == 1 &&
		     sl <= sizeof(sig) &&
		     EVP_DigestSign(ctx, sig, &sl, (unsigned char *)ds->data.buf, ds->data.len) == 1;
	}
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	if (!ok) {
		snprintf(err, n, "libcrypto cannot sign with the %s key", k->ed25519 ? "Ed25519" : "RSA");
		return -1;
	}
	sb_grow(b, 4 * ((sl + 2) / 3));
	b->len += (size_t)EVP_EncodeBlock((unsigned char *)b->buf + b->len, sig, (int)sl);
	b->buf[b->len] = 0;
	return 0;
}

int dkim_sign_fields(struct dkim_signer *ds, int key, const char *msg, size_t len,
		     const char *const *h, size_t nh, const char *sig, struct sb *b, char *err,
		     size_t n)
{
	const char *body;
	long nf = split(ds, msg, len, &body);

	if (nf < 0) {
		snprintf(err, n, "the header is not a list of fields");
		return -1;
	}
	sb_reset(&ds->data);
	hash_fields(ds, nf, h, nh);
	dkim_canon_header(&ds->data, sig, strlen(sig));
	return sign_data(ds, &ds->key[key], b, err, n);
}

/* Appends s to the field being built, folding before it ("CRLF TAB") when
 * the line would pass 78 characters. */
static void fold_add(struct sb *f, size_t *col, const char *s, size_t len)
{
	if (*col > 1 && *col + len > 78) {
		sb_adds(f, "\r\n\t");
		*col = 1;
	}
	sb_add(f, s, len);
	*col += len;
}

/* Signs msg with key k: appends "DKIM-Signature: ...\r\n" to out. */
static int sign_one(struct dkim_signer *ds, const struct dkim_key *k, const char *msg,
		    size_t len, uint64_t t, struct sb *out, char *err, size_t n)
{
	const char *body, *h[2 * MAX_HEADERS + MAX_FIELDS];
	unsigned char md[32];
	char bh[45], tmp[300];
	struct sb *f = &ds->field;
	long nf = split(ds, msg, len, &body);
	size_t nh = 0, col, blen;

	if (nf < 0) {
		snprintf(err, n, "cannot sign: the header is not a list of fields");
		return -1;
	}
	/* the body hash */
	sb_reset(&ds->body);
	dkim_canon_body(&ds->body, body, (size_t)(msg + len - body));
	EVP_Digest(ds->body.buf, ds->body.len, md, NULL, EVP_sha256(), NULL);
	EVP_EncodeBlock((unsigned char *)bh, md, 32);
	/* h=: each field named as often as it occurs, and once more */
	for (size_t j = 0; ds->hdrs[j]; j++) {
		size_t l = strlen(ds->hdrs[j]);
		h[nh++] = ds->hdrs[j];
		for (long i = 0; i < nf; i++)
			if (ds->f[i].nlen == l && !ascii_ncasecmp(ds->f[i].p, ds->hdrs[j], l))
				h[nh++] = ds->hdrs[j];
	}
	/* the field, b= empty: what is hashed is what is sent */
	sb_reset(f);
	sb_adds(f, "DKIM-Signature: v=1;");
	col = f->len;
	snprintf(tmp, sizeof(tmp), " a=%s;", k->ed25519 ? "ed25519-sha256" : "rsa-sha256");
	fold_add(f, &col, tmp, strlen(tmp));
	fold_add(f, &col, " c=relaxed/relaxed;", 19);
	snprintf(tmp, sizeof(tmp), " d=%s;", ds->domain);
	fold_add(f, &col, tmp, strlen(tmp));
	snprintf(tmp, sizeof(tmp), " s=%s;", k->selector);
	fold_add(f, &col, tmp, strlen(tmp));
	snprintf(tmp, sizeof(tmp), " t=%llu;", (unsigned long long)t);
	fold_add(f, &col, tmp, strlen(tmp));
	snprintf(tmp, sizeof(tmp), " bh=%s;", bh);
	fold_add(f, &col, tmp, strlen(tmp));
	for (size_t j = 0; j < nh; j++) {
		snprintf(tmp, sizeof(tmp), "%s%s%s", j ? "" : " h=", h[j], j + 1 < nh ? ":" : ";");
		fold_add(f, &col, tmp, strlen(tmp));
	}
	fold_add(f, &col, " b=", 3);
	sb_reset(&ds->data);
	hash_fields(ds, nf, h, nh);
	dkim_canon_header(&ds->data, f->buf, f->len);
	blen = f->len;
	if (sign_data(ds, k, f, err, n) < 0)
		return -1;
	/* b= folded in lines of at most 78 characters (white space in b= is
	 * ignored, RFC 6376 3.5) */
	sb_add(out, f->buf, blen);
	for (size_t i = blen; i < f->len;) {
		size_t room = 78 > col ? 78 - col : 0, take = f->len - i;
		if (!room) {
			sb_adds(out, "\r\n\t ");
			col = 2;
			continue;
		}
		if (take > room)
			take = room;
		sb_add(out, f->buf + i, take);
		col += take;
		i += take;
	}
	sb_adds(out, "\r\n");
	return 0;
}

int dkim_signer_add_key(struct dkim_signer *ds, const char *selector, const char *pem,
			size_t len, char *err, size_t n, char *warn, size_t wn)
{
	struct dkim_key k = { 0 };
	EVP_PKEY *pk = NULL;
	BIO *in = NULL;
	unsigned char *der = NULL, raw[32];
	size_t rawlen = sizeof(raw);
	int asked = 0, id, rc = -1, dlen;

	if (warn && wn)
		*warn = 0;
	if (ds->nkeys == DKIM_MAX_KEYS) {
		snprintf(err, n, "more than %d keys", DKIM_MAX_KEYS);
		return -1;
	}
	if (!selector || !dns_name_ok(selector)) {
		snprintf(err, n, "selector \"%s\" is not a DNS name", selector ? selector : "");
		return -1;
	}
	if (!holds(pem, len, "-----BEGIN ")) {
		snprintf(err, n, "not a PEM file (openssl genpkey -algorithm ed25519, or "
			 "-algorithm RSA -pkeyopt rsa_keygen_bits:2048, makes one)");
		return -1;
	}
	if (holds(pem, len, "PUBLIC KEY-----") && !holds(pem, len, "PRIVATE KEY-----")) {
		snprintf(err, n, "a public key: DKIM signs with the private one");
		return -1;
	}
	if (len > INT32_MAX || !(in = BIO_new_mem_buf(pem, (int)len)))
		goto nomem;
	pk = PEM_read_bio_PrivateKey(in, NULL, no_passphrase, &asked);
	if (!pk) {
		unsigned long e = ERR_peek_last_error();
		if (asked || holds(pem, len, "ENCRYPTED"))
			snprintf(err, n, "an encrypted key: crm-send cannot ask for its passphrase "
				 "(openssl pkey -in KEY -out PLAIN decrypts it; keep it mode 600)");
		else
			snprintf(err, n, "not a private key OpenSSL can read (%s)",
				 e ? ERR_reason_error_string(e) : "no key in it");
		goto out;
	}
	id = EVP_PKEY_get_base_id(pk);
	if (id == EVP_PKEY_RSA) {
		int bits = EVP_PKEY_get_bits(pk);
		if (bits < 1024) {
			snprintf(err, n, "an RSA key of %d bits is too short: DKIM needs 1024 at least "
				 "(RFC 8301), 2048 are recommended", bits);
			goto out;
		}
		if (bits < 2048 && warn)
			snprintf(warn, wn, "an RSA key of %d bits: 2048 are recommended", bits);
		if (bits > 4096 && warn)
			snprintf(warn, wn, "an RSA key of %d bits: verifiers need not check keys "
				 "over 4096 bits (RFC 8301)", bits);
		k.ed25519 = 0;
		if ((dlen = i2d_PUBKEY(pk, &der)) <= 0)
			goto nomem;
		k.pub = base64(der, (size_t)dlen);
	} else if (id == EVP_PKEY_ED25519) {
		k.ed25519 = 1;
		if (EVP_PKEY_get_raw_public_key(pk, raw, &rawlen) != 1 || rawlen != 32)
			goto nomem;
		k.pub = base64(raw, rawlen);
	} else {
		const char *name = OBJ_nid2sn(id);
		snprintf(err, n, "a key of type %s: DKIM signs with RSA or Ed25519",
			 name ? name : "unknown");
		goto out;
	}
	k.selector = lower_dup(selector, strlen(selector));
	k.pk = pk;
	pk = NULL;
	/* one signature now, so that a key libcrypto cannot use is found
	 * before anything is sent */
	{
		struct sb probe = SB_INIT, sig = SB_INIT;
		int bad;
		sb_addf(&probe, "From: <probe@%s>\r\nSubject: probe\r\n\r\nprobe\r\n", ds->domain);
		bad = sign_one(ds, &k, probe.buf, probe.len, 0, &sig, err, n);
		sb_free(&probe);
		sb_free(&sig);
		if (bad)
			goto out;
	}
	ds->key[ds->nkeys++] = k;
	memset(&k, 0, sizeof(k));
	rc = 0;
	goto out;
nomem:
	snprintf(err, n, "libcrypto failed to read the key");
out:
	ERR_clear_error();
	EVP_PKEY_free(k.pk);
	free(k.selector);
	free(k.pub);
	OPENSSL_free(der);
	EVP_PKEY_free(pk);
	BIO_free(in);
	return rc;
}

int dkim_signer_sign(struct dkim_signer *ds, struct sb *msg, const char *from_addr,
		     int64_t now, char *err, size_t n)
{
	const char *at = from_addr ? strrchr(from_addr, '@') : NULL;
	uint64_t t = (uint64_t)(now > 0 ? now : (int64_t)time(NULL));

	if (!at || !dkim_aligned(ds->domain, at + 1)) {
		snprintf(err, n, "the From domain %s does not align with [dkim] domain %s "
			 "(DMARC needs them to be the same or one a subdomain of the other)",
			 at ? at + 1 : (from_addr ? from_addr : ""), ds->domain);
		return -1;
	}
	sb_reset(&ds->sigs);
	for (int i = 0; i < ds->nkeys; i++)
		if (sign_one(ds, &ds->key[i], msg->buf, msg->len, t, &ds->sigs, err, n) < 0)
			return -1;
	/* the fields go in front of the message */
	sb_grow(msg, ds->sigs.len);
	memmove(msg->buf + ds->sigs.len, msg->buf, msg->len + 1);
	memcpy(msg->buf, ds->sigs.buf, ds->sigs.len);
	msg->len += ds->sigs.len;
	return 0;
}

int dkim_signer_nkeys(const struct dkim_signer *ds)
{
	return ds ? ds->nkeys : 0;
}

const char *dkim_signer_selector(const struct dkim_signer *ds, int i)
{
	return ds->key[i].selector;
}

const char *dkim_signer_alg(const struct dkim_signer *ds, int i)
{
	return ds->key[i].ed25519 ? "ed25519" : "rsa";
}

const char *dkim_signer_pubkey(const struct dkim_signer *ds, int i)
{
	return ds->key[i].pub;
}

const char *dkim_signer_domain(const struct dkim_signer *ds)
{
	return ds->domain;
}

/* ---- crm.conf ------------------------------------------------------------- */

/* Reads a key file (a regular file, not readable by others, at most
 * KEY_FILE_MAX bytes) into sb; -1 with the reason in err. */
static int read_key_file(const char *path, struct sb *sb, char *err, size_t n)
{
	struct stat st;
	char buf[4096];
	ssize_t r;
	int fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, n, "cannot read: %s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, n, "not a regular file");
		close(fd);
		return -1;
	}
	if (st.st_mode & (S_IROTH | S_IWOTH)) {
		snprintf(err, n, "a private key that others can %s (mode %03o): chmod 600 it, "
			 "or 640 for a group", st.st_mode & S_IROTH ? "read" : "change",
			 (unsigned)(st.st_mode & 0777));
		close(fd);
		return -1;
	}
	while ((r = read(fd, buf, sizeof(buf))) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, n, "cannot read: %s", strerror(errno));
			break;
		}
		if (sb->len + (size_t)r > KEY_FILE_MAX) {
			snprintf(err, n, "over %d KiB: not a key", KEY_FILE_MAX / 1024);
			r = -1;
			break;
		}
		sb_add(sb, buf, (size_t)r);
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	close(fd);
	return r < 0 ? -1 : 0;
}

/* [dkim] key names: "selector", "key_file" or "selector.NAME",
 * "key_file.NAME"; *name is "" for the first. Returns 1 for selector, 2
 * for key_file, 0 for anything else. */
static int key_kind(const char *key, const char **name)
{
	static const char *const kinds[] = { "selector", "key_file" };

	for (int i = 0; i < 2; i++) {
		size_t l = strlen(kinds[i]);
		if (ascii_ncasecmp(key, kinds[i], l))
			continue;
		if (!key[l]) {
			*name = "";
			return i + 1;
		}
		if (key[l] == '.' && key[l + 1]) {
			*name = key + l + 1;
			return i + 1;
		}
	}
	return 0;
}

int dkim_signer_load(const struct conf *c, const char *from, struct dkim_signer **out)
{
	struct conf_key { const char *name, *selector, *file; } keys[DKIM_MAX_KEYS];
	const char *cn = conf_name(c), *sec, *key, *val, *domain = NULL, *hdrs = NULL;
	struct dkim_signer *ds = NULL;
	char err[512], warn[256];
	int nk = 0, any = 0;
	size_t i = 0;

	*out = NULL;
	while (conf_next(c, &i, &sec, &key, &val)) {
		const char *name = NULL;
		int kind, j;
		if (ascii_casecmp(sec, "dkim"))
			continue;
		any = 1;
		if (!ascii_casecmp(key, "domain")) {
			domain = val;
			continue;
		}
		if (!ascii_casecmp(key, "headers")) {
			hdrs = val;
			continue;
		}
		if (!ascii_casecmp(key, "dmarc_rua"))
			continue;
		if (!(kind = key_kind(key, &name))) {
			crm_error("%s: [dkim] unknown key \"%s\" (domain, selector, key_file, headers, "
				  "dmarc_rua; selector.NAME with key_file.NAME for more keys)", cn, key);
			return -1;
		}
		for (j = 0; j < nk && ascii_casecmp(keys[j].name, name); j++)
			;
		if (j == nk) {
			if (nk == DKIM_MAX_KEYS) {
				crm_error("%s: [dkim] more than %d keys", cn, DKIM_MAX_KEYS);
				return -1;
			}
			keys[nk++] = (struct conf_key){ name, NULL, NULL };
		}
		if (kind == 1)
			keys[j].selector = val;
		else
			keys[j].file = val;
	}
	if (!any)
		return 0;
	if (!domain || !*domain) {
		crm_error("%s: [dkim] has no domain (the d= of the signatures: your From domain)",
			  cn);
		return -1;
	}
	if (!nk) {
		crm_error("%s: [dkim] has no key_file and selector", cn);
		return -1;
	}
	for (int j = 0; j < nk; j++) {
		const char *dot = *keys[j].name ? "." : "";
		if (!keys[j].file || !*keys[j].file) {
			crm_error("%s: [dkim] selector%s%s has no key_file%s%s", cn, dot, keys[j].name,
				  dot, keys[j].name);
			return -1;
		}
		if (!keys[j].selector || !*keys[j].selector) {
			crm_error("%s: [dkim] key_file%s%s has no selector%s%s", cn, dot, keys[j].name,
				  dot, keys[j].name);
			return -1;
		}
	}
	if (!(ds = dkim_signer_new(domain, hdrs, err, sizeof(err)))) {
		crm_error("%s: [dkim] %s", cn, err);
		return -1;
	}
	if (from) {
		struct sb name = SB_INIT, addr = SB_INIT;
		const char *at;
		int ok = mime_split_address(from, &name, &addr) == 0 &&
			 (at = strrchr(addr.buf, '@')) && dkim_aligned(ds->domain, at + 1);
		if (!ok)
			crm_error("%s: [dkim] domain %s does not align with [email] from \"%s\": "
				  "DMARC passes only when the signing domain is the From domain, or "
				  "one is a subdomain of the other", cn, ds->domain, from);
		sb_free(&name);
		sb_free(&addr);
		if (!ok)
			goto fail;
	}
	for (int j = 0; j < nk; j++) {
		struct sb pem = SB_INIT;
		const char *dot = *keys[j].name ? "." : "";
		int bad = read_key_file(keys[j].file, &pem, err, sizeof(err)) < 0 ||
			  dkim_signer_add_key(ds, keys[j].selector, pem.buf, pem.len, err,
					      sizeof(err), warn, sizeof(warn)) < 0;
		OPENSSL_cleanse(pem.buf, pem.len);
		sb_free(&pem);
		if (bad) {
			crm_error("%s: [dkim] key_file%s%s %s: %s", cn, dot, keys[j].name,
				  keys[j].file, err);
			goto fail;
		}
		if (*warn)
			crm_warn("%s: [dkim] key_file%s%s %s: %s", cn, dot, keys[j].name,
				 keys[j].file, warn);
		for (int k = 0; k < j; k++)
			if (!strcmp(ds->key[k].selector, ds->key[j].selector)) {
				crm_error("%s: [dkim] two keys with the selector %s: each needs a DNS "
					  "record of its own", cn, ds->key[j].selector);
				goto fail;
			}
	}
	*out = ds;
	return 0;
fail:
	dkim_signer_free(ds);
	return -1;
}

/* ---- --check-dns ---------------------------------------------------------- */

/* Writes NAME IN TXT "VALUE" with VALUE in strings of at most 255 bytes
 * (RFC 1035 3.3.14; one record, the strings joined). */
static void txt_record(FILE *out, const char *name, const char *value)
{
	size_t len = strlen(value);

	fprintf(out, "%s. IN TXT", name);
	for (size_t i = 0; i < len || !len; i += 250) {
		fprintf(out, " \"%.*s\"", (int)(len - i > 250 ? 250 : len - i), value + i);
		if (!len)
			break;
	}
	fputc('\n', out);
}

/* The host of an smtp:// or smtps:// URL, in buf ("" when none). */
static void url_host(const char *url, char *buf, size_t n)
{
	const char *p = url ? strstr(url, "://") : NULL;
	size_t len;

	*buf = 0;
	if (!p)
		return;
	p += 3;
	if (strchr(p, '@') && strchr(p, '@') < p + strcspn(p, "/"))
		p = strchr(p, '@') + 1;
	if (*p == '[')
		return;	/* an IPv6 literal: left to the reader */
	len = strcspn(p, ":/?#");
	if (len && len < n) {
		memcpy(buf, p, len);
		buf[len] = 0;
	}
}

int dkim_check_dns(const struct conf *c, const char *domain, FILE *out)
{
	const char *cn = conf_name(c), *env = conf_get(c, "email", "envelope_from");
	const char *rua = conf_get(c, "dkim", "dmarc_rua");
	struct dkim_signer *ds = NULL;
	struct sb v = SB_INIT, name = SB_INIT;
	char dom[256], host[256], spf_dom[256];
	const char *at;

	if (!norm_domain(domain, dom, sizeof(dom)) || !dns_name_ok(dom)) {
		crm_error("--check-dns \"%s\": not a domain name", domain);
		return 2;
	}
	if (dkim_signer_load(c, conf_get(c, "email", "from"), &ds) < 0)
		return 1;
	if (!ds) {
		crm_error("%s: no [dkim] section: crm-send signs nothing, and there is no key to "
			  "publish (see DKIM in crm-send(1))", cn);
		return 1;
	}
	if (!dkim_aligned(ds->domain, dom)) {
		crm_error("%s: [dkim] domain %s does not align with %s: DMARC passes only when "
			  "the signing domain is the From domain, or one is a subdomain of the other",
			  cn, ds->domain, dom);
		dkim_signer_free(ds);
		return 1;
	}
	snprintf(spf_dom, sizeof(spf_dom), "%s", dom);
	if (env && (at = strrchr(env, '@')) && dns_name_ok(at + 1))
		norm_domain(at + 1, spf_dom, sizeof(spf_dom));
	url_host(conf_get(c, "smtp", "url"), host, sizeof(host));

	fprintf(out, "; DNS records for %s, from %s (crm-send --check-dns: nothing was\n"
		"; looked up). Names end with a dot, as in a zone file; a provider's web\n"
		"; form wants the name without it, and the quoted strings of a value joined.\n\n",
		dom, cn);
	fprintf(out, "; DKIM (RFC 6376, RFC 8463): crm-send signs every e-mail with each key\n"
		"; of [dkim]; receivers fetch the public key from SELECTOR._domainkey.%s.\n",
		ds->domain);
	for (int i = 0; i < ds->nkeys; i++) {
		sb_reset(&name);
		sb_reset(&v);
		sb_addf(&name, "%s._domainkey.%s", ds->key[i].selector, ds->domain);
		sb_addf(&v, "v=DKIM1; k=%s; p=%s", dkim_signer_alg(ds, i), ds->key[i].pub);
		txt_record(out, name.buf, v.buf);
	}
	fprintf(out, "\n; SPF (RFC 7208): the hosts that may send mail whose envelope sender is\n"
		"; at %s (%s). List the relay that\n"
		"; crm-send hands its mail to%s%s%s, or your provider's include:;\n"
		"; ~all until you are sure, then -all.\n",
		spf_dom, env ? "[email] envelope_from, where bounces go" : "the From address",
		*host ? " (" : "", host, *host ? ")" : "");
	sb_reset(&v);
	sb_adds(&v, "v=spf1 mx");
	if (*host && strcmp(host, "localhost") && strncmp(host, "127.", 4)) {
		int ip = strspn(host, "0123456789.") == strlen(host);
		sb_addf(&v, " %s:%s", ip ? "ip4" : "a", host);
	}
	sb_adds(&v, " ~all");
	txt_record(out, spf_dom, v.buf);
	fprintf(out, "\n; DMARC (RFC 7489): mail whose From is at %s passes when an aligned\n"
		"; DKIM signature (the ones above) or aligned SPF holds. Start with p=none and\n"
		"; read the aggregate reports sent to rua, then p=quarantine, then p=reject.\n",
		dom);
	sb_reset(&name);
	sb_reset(&v);
	sb_addf(&name, "_dmarc.%s", dom);
	sb_addf(&v, "v=DMARC1; p=none; rua=mailto:%s", rua ? rua : "dmarc-reports@");
	if (!rua)
		sb_adds(&v, dom);
	txt_record(out, name.buf, v.buf);
	sb_free(&v);
	sb_free(&name);
	dkim_signer_free(ds);
	return fflush(out) == 0 ? 0 : 1;
}
