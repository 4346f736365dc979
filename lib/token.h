/*
 * token.h - short signed tokens that name one row of the base for one
 * purpose: the outbox row behind a VERP bounce address today, the links
 * of crm-track later.
 *
 *     ID-MAC    1234-9f86d081884c7d65
 *
 * ID is the row id in decimal; MAC the first 16 hex digits (64 bits) of
 * HMAC-SHA256(secret, PURPOSE NUL ID) with the base's secret, so a token
 * cannot be made or altered without the base, and one made for one
 * purpose is refused for another. Only [0-9a-f-]: safe in a mailbox's
 * local part and a URL; checked without regard to case (some mail systems
 * lower-case local parts).
 */
#ifndef CRM_TOKEN_H
#define CRM_TOKEN_H

#include <stddef.h>
#include <stdint.h>

/* The longest token and its NUL: 19 digits, '-', 16 hex digits. */
#define TOKEN_MAX 40

/* Writes the token of row id (>= 0) for purpose into out; returns its
 * length. */
size_t token_make(const char *secret, const char *purpose, int64_t id, char out[TOKEN_MAX]);

/* 0 with *id set when the len bytes at tok are exactly a token of this
 * secret and purpose; -1 otherwise (the MAC compared in constant time). */
int token_check(const char *secret, const char *purpose, const char *tok, size_t len,
		int64_t *id);

/* The same with a MAC that also covers the dlen bytes at data (a click
 * link's number and target): HMAC(secret, PURPOSE NUL ID NUL DATA). data
 * NULL is token_make(). */
size_t token_make_data(const char *secret, const char *purpose, int64_t id, const char *data,
		       size_t dlen, char out[TOKEN_MAX]);
int token_check_data(const char *secret, const char *purpose, const char *tok, size_t len,
		     const char *data, size_t dlen, int64_t *id);

#endif
