/*
 * fuzz_dkim.c - DKIM's relaxed canonicalisation and signing (lib/dkim.c)
 * on anything: the canonical body has no blank at a line's end, no run of
 * blanks, no empty line at the end, CRLF after every line, and is its own
 * canonical form; a canonical field has no CR, LF, TAB or run of spaces
 * and no space at its end; a message is signed (From aligned) or refused
 * without a crash, and a signed one is the DKIM-Signature fields followed
 * by the message unchanged, in lines of at most 78 characters. The first
 * byte picks the header list.
 */
#include "fuzz.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "dkim.h"
#include "util.h"

static struct dkim_signer *signer(int which)
{
	static struct dkim_signer *ds[2];
	static const char *const hdrs[2] = { NULL, "from:x-a:subject:x-a" };
	unsigned char seed[32];
	char err[256];

	if (ds[which])
		return ds[which];
	for (int i = 0; i < 32; i++)
		seed[i] = (unsigned char)(i * 7 + 1);
	{
		EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
		BIO *m = BIO_new(BIO_s_mem());
		char *pem;
		long n;
		PEM_write_bio_PrivateKey(m, pk, NULL, NULL, 0, NULL, NULL);
		n = BIO_get_mem_data(m, &pem);
		ds[which] = dkim_signer_new("example.com", hdrs[which], err, sizeof(err));
		FZ_CHECK(ds[which] && dkim_signer_add_key(ds[which], "f", pem, (size_t)n, err,
							  sizeof(err), NULL, 0) == 0, "%s", err);
		BIO_free(m);
		EVP_PKEY_free(pk);
	}
	return ds[which];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *msg = (const char *)data + 1;
	struct sb c = SB_INIT, c2 = SB_INIT, m = SB_INIT;
	char err[512];
	size_t len;

	if (size < 1)
		return 0;
	len = size - 1;

	dkim_canon_body(&c, msg, len);
	FZ_CHECK(!c.len || (c.len >= 2 && !memcmp(c.buf + c.len - 2, "\r\n", 2)),
		 "the canonical body does not end with CRLF");
	FZ_CHECK(c.len < 4 || memcmp(c.buf + c.len - 4, "\r\n\r\n", 4),
		 "an empty line at the end of the canonical body");
	for (size_t i = 0; i + 1 < c.len; i++) {
		FZ_CHECK(c.buf[i] != '\t', "a TAB in the canonical body at %zu", i);
		FZ_CHECK(!(c.buf[i] == ' ' && (c.buf[i + 1] == ' ' ||
					       (c.buf[i + 1] == '\r' && i + 2 < c.len && c.buf[i + 2] == '\n'))),
			 "a run of blanks or a blank at a line's end at %zu", i);
	}
	dkim_canon_body(&c2, c.buf, c.len);
	FZ_CHECK(c2.len == c.len && !memcmp(c.buf, c2.buf, c.len),
		 "the canonical body is not its own canonical form");

	/* a field whose name is a name (printable ASCII, blanks before ':') */
	sb_reset(&c);
	{
		size_t nl = 0, i;
		while (nl < len && msg[nl] > 32 && msg[nl] < 127 && msg[nl] != ':')
			nl++;
		for (i = nl; i < len && (msg[i] == ' ' || msg[i] == '\t'); i++)
			;
		if (!nl || i == len || msg[i] != ':')
			len = 0;	/* not a field: no property */
		else
			dkim_canon_header(&c, msg, len);
		len = size - 1;
	}
	for (size_t i = 0; i < c.len; i++) {
		FZ_CHECK(c.buf[i] != '\r' && c.buf[i] != '\n' && c.buf[i] != '\t',
			 "CR, LF or TAB in a canonical field at %zu", i);
		FZ_CHECK(!(c.buf[i] == ' ' && (i + 1 == c.len || c.buf[i + 1] == ' ')),
			 "a run of spaces or a space at the end at %zu", i);
	}

	sb_add(&m, msg, len);
	if (dkim_signer_sign(signer(data[0] & 1), &m, "a@example.com", 1795435200, err,
			     sizeof(err)) == 0) {
		const char *p = m.buf;
		size_t sigs = m.len - len;
		FZ_CHECK(m.len > len && !memcmp(m.buf + sigs, msg, len),
			 "the message changed under the signature");
		FZ_CHECK(!strncmp(m.buf, "DKIM-Signature: v=1; a=ed25519-sha256;", 38),
			 "no DKIM-Signature first");
		while (p < m.buf + sigs) {
			const char *nl = strstr(p, "\r\n");
			FZ_CHECK(nl && nl - p <= 78, "a line of the field over 78 characters");
			p = nl + 2;
		}
	} else {
		FZ_CHECK(m.len == len && !memcmp(m.buf, msg, len), "a refused message was changed");
	}
	sb_free(&c);
	sb_free(&c2);
	sb_free(&m);
	return 0;
}
