#include "hash.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "diag.h"

static void hex(const unsigned char *md, unsigned n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (unsigned i = 0; i < n; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 15];
	}
	out[2 * n] = 0;
}

static void digest(const EVP_MD *type, const void *data, size_t len, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	if (!EVP_Digest(data, len, md, &n, type, NULL))
		crm_die(1, "libcrypto digest failed");
	hex(md, n, out);
}

void hash_sha256_hex(const void *data, size_t len, char out[65])
{
	digest(EVP_sha256(), data, len, out);
}

void hash_md5_hex(const void *data, size_t len, char out[33])
{
	digest(EVP_md5(), data, len, out);
}

void hash_hmac_hex(const void *key, size_t keylen, const void *data, size_t len,
		   char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	if (!HMAC(EVP_sha256(), key, (int)keylen, data, len, md, &n))
		crm_die(1, "libcrypto HMAC failed");
	hex(md, n, out);
}
