/*
 * dkim.h - DKIM signatures (RFC 6376) on the e-mails crm-send makes:
 * RSA-SHA256 and Ed25519-SHA256 (RFC 8463), relaxed/relaxed
 * canonicalisation (here), keys and signatures by OpenSSL's libcrypto.
 * (Debian 12's libopendkim signs Ed25519 too, but leaks the key on every
 * such signature and decodes the PEM key again for every message.)
 *
 * Configuration (crm.conf):
 *
 *     [dkim]
 *     domain = example.com          ; d=, must align with the From domain
 *     selector = s2026              ; s=, the DNS name s2026._domainkey.example.com
 *     key_file = /etc/crm/dkim.key  ; PEM: RSA (>= 1024 bits) or Ed25519
 *     selector.ed = e2026           ; more keys: key_file.NAME with selector.NAME
 *     key_file.ed = /etc/crm/dkim-ed.key
 *     headers = from:to:subject:... ; the fields signed (see DKIM_HEADERS)
 *
 * Each key adds one DKIM-Signature field (in the order of the file:
 * key_file first, then key_file.NAME as written), so that an RSA and an
 * Ed25519 signature can travel together (RFC 8463 section 5). Every field
 * named in headers is over-signed: h= lists it once more than the message
 * has it (once when absent), so that nobody can add another From, Subject,
 * Reply-To or List-Unsubscribe after signing without breaking the
 * signature. From must be among them.
 *
 * The keys are read once per run, and checked before anything is sent: a
 * file that cannot be read or is readable by everybody, an encrypted key,
 * a key that is not RSA or Ed25519, an RSA key under 1024 bits (RFC 8301)
 * and a domain that does not align with [email] from are errors naming
 * the file and the reason; a 1024-bit RSA key is a warning.
 */
#ifndef CRM_DKIM_H
#define CRM_DKIM_H

#include <stdint.h>
#include <stdio.h>

#include "util.h"

struct conf;
struct dkim_signer;

#define DKIM_MAX_KEYS 8
/* the default [dkim] headers */
#define DKIM_HEADERS "from:reply-to:to:cc:subject:date:message-id:mime-version:" \
	"content-type:content-transfer-encoding:list-unsubscribe:list-unsubscribe-post"

/*
 * Reads the [dkim] section of c and its keys into *out: NULL when the
 * section names nothing (DKIM off). from is [email] from (or NULL): its
 * domain must align with [dkim] domain. Returns 0, or -1 after printing
 * the reason ("crm-send: crm.conf: [dkim] key_file /etc/crm/dkim.key: an
 * RSA key of 512 bits is too short: ..."). Warnings go to stderr.
 */
int dkim_signer_load(const struct conf *c, const char *from, struct dkim_signer **out);

/*
 * A signer without keys for domain and the header list hdrs (NULL: the
 * default), or NULL with the reason in err. Keys are added with
 * dkim_signer_add_key (PEM text; name is the file, for messages).
 */
struct dkim_signer *dkim_signer_new(const char *domain, const char *hdrs, char *err,
				    size_t n);
/* Returns 0, or -1 with the reason in err; warn (may be NULL) gets a
 * warning ("1024 bits: 2048 are recommended"). */
int dkim_signer_add_key(struct dkim_signer *ds, const char *selector, const char *pem,
			size_t len, char *err, size_t n, char *warn, size_t wn);
void dkim_signer_free(struct dkim_signer *ds);

/*
 * Signs the RFC 5322 message in msg (CRLF line ends, as mime_build makes
 * it): puts a DKIM-Signature field per key in front of it, with t= now
 * (seconds since the epoch; 0: the clock). from_addr is the From address:
 * its domain must align with the signing domain. Returns 0, or -1 with
 * the reason in err and msg left as it was.
 */
int dkim_signer_sign(struct dkim_signer *ds, struct sb *msg, const char *from_addr,
		     int64_t now, char *err, size_t n);

/*
 * The parts, for tests and fuzzing. dkim_canon_header appends the relaxed
 * form of one field (its text, folded, without the final CRLF; no CRLF
 * is added); dkim_canon_body the relaxed form of a body (RFC 6376 3.4.2,
 * 3.4.4). dkim_sign_fields puts into b (appended, base64) key's signature
 * of msg under the DKIM-Signature field sig, given as sent but with b=
 * empty, with the fields named by h[0..nh) (as h= lists them).
 */
void dkim_canon_header(struct sb *out, const char *p, size_t len);
void dkim_canon_body(struct sb *out, const char *b, size_t len);
int dkim_sign_fields(struct dkim_signer *ds, int key, const char *msg, size_t len,
		     const char *const *h, size_t nh, const char *sig, struct sb *b, char *err,
		     size_t n);

/* The number of keys, and key i's selector, algorithm ("rsa" or
 * "ed25519") and public key as DNS publishes it (p=, base64). */
int dkim_signer_nkeys(const struct dkim_signer *ds);
const char *dkim_signer_selector(const struct dkim_signer *ds, int i);
const char *dkim_signer_alg(const struct dkim_signer *ds, int i);
const char *dkim_signer_pubkey(const struct dkim_signer *ds, int i);
const char *dkim_signer_domain(const struct dkim_signer *ds);

/*
 * 1 when a signature by domain d aligns with the From domain f under
 * DMARC's relaxed alignment (RFC 7489 3.1.1): the same name, or one a
 * subdomain of the other (without the Public Suffix List: both must have
 * two labels or more). Case-insensitive; a trailing dot is ignored.
 */
int dkim_aligned(const char *d, const char *f);

/*
 * crm-send --check-dns DOMAIN: writes to out the records to publish for
 * DOMAIN, with a short explanation: the DKIM TXT record of every key in
 * [dkim], an SPF suggestion and a DMARC record. No DNS lookup. Returns
 * the exit status (0, or 1 after printing why: no [dkim], a bad key).
 */
int dkim_check_dns(const struct conf *c, const char *domain, FILE *out);

#endif
