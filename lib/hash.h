/*
 * hash.h - SHA-256 and HMAC-SHA256 as lowercase hex, through OpenSSL's
 * libcrypto (a reviewed implementation beats a hand-written one here).
 * Used for content keys of rows without ids, erasure suppression hashes,
 * ad-audience hashes and signed unsubscribe tokens.
 */
#ifndef CRM_HASH_H
#define CRM_HASH_H

#include <stddef.h>

void hash_sha256_hex(const void *data, size_t len, char out[65]);
void hash_md5_hex(const void *data, size_t len, char out[33]);
void hash_hmac_hex(const void *key, size_t keylen, const void *data, size_t len,
		   char out[65]);

#endif
