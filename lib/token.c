#include "token.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "hash.h"
#include "util.h"

#define MAC_HEX 16

/* HMAC(secret, PURPOSE NUL ID), or with data HMAC(secret, PURPOSE NUL ID
 * NUL DATA): a token without data never equals one with data */
static void mac(const char *secret, const char *purpose, int64_t id, const char *data,
		size_t dlen, char out[65])
{
	struct sb b = SB_INIT;

	sb_addf(&b, "%s%c%" PRId64, purpose, 0, id);
	if (data) {
		sb_addc(&b, 0);
		sb_add(&b, data, dlen);
	}
	hash_hmac_hex(secret, strlen(secret), b.buf, b.len, out);
	sb_free(&b);
}

size_t token_make_data(const char *secret, const char *purpose, int64_t id, const char *data,
		       size_t dlen, char out[TOKEN_MAX])
{
	char m[65];

	mac(secret, purpose, id, data, dlen, m);
	return (size_t)snprintf(out, TOKEN_MAX, "%" PRId64 "-%.*s", id, MAC_HEX, m);
}

size_t token_make(const char *secret, const char *purpose, int64_t id, char out[TOKEN_MAX])
{
	return token_make_data(secret, purpose, id, NULL, 0, out);
}

int token_check(const char *secret, const char *purpose, const char *tok, size_t len,
		int64_t *id)
{
	return token_check_data(secret, purpose, tok, len, NULL, 0, id);
}

int token_check_data(const char *secret, const char *purpose, const char *tok, size_t len,
		     const char *data, size_t dlen, int64_t *id)
{
	const char *dash = memchr(tok, '-', len);
	size_t digits = dash ? (size_t)(dash - tok) : 0;
	unsigned diff = 0;
	int64_t v = 0;
	char m[65];

	if (!dash || digits < 1 || digits > 19 || len - digits - 1 != MAC_HEX ||
	    (digits > 1 && tok[0] == '0'))
		return -1;
	for (size_t i = 0; i < digits; i++) {
		int d = tok[i] - '0';
		if (d < 0 || d > 9 || v > (INT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	mac(secret, purpose, v, data, dlen, m);
	for (size_t i = 0; i < MAC_HEX; i++)
		diff |= (unsigned)(ascii_lower((unsigned char)dash[1 + i]) ^ m[i]);
	if (diff)
		return -1;
	*id = v;
	return 0;
}
