/*
 * coupon.h - promo codes: pools of codes (imported from a file, or
 * generated from a pattern and the base's secret), one code bound to one
 * outbox row by crm-send, and their redemption by orders.
 *
 * Tables: coupon_pools, coupons, coupon_redemptions
 * (share/schema/015-coupons.sql; crm.7 "Tables").
 *
 *   crm-import coupons POOL FILE...           codes, one a line
 *   crm-import coupons POOL --generate N --pattern WB-XXXX-XXXX
 *   crm-import coupons POOL --verify CODE
 *   crm-send ... --coupons POOL               {{coupon}} takes from POOL
 *   {{coupon "POOL"}}                         in a template
 *   crm-import orders (column promo_code)     redemptions
 */
#ifndef CRM_COUPON_H
#define CRM_COUPON_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

#include "crm.h"

/* the generated characters: no 0/O, 1/I/L */
#define COUPON_ALPHABET "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
#define COUPON_MAX_LEN 64     /* bytes of a code, a pattern, a pool name */
#define COUPON_MIN_X 6
#define COUPON_MAX_X 16

/* ---- coupon_gen.c: no database ---------------------------------------- */

struct coupon_pattern {
	char text[COUPON_MAX_LEN + 1];
	size_t len;
	int nx;               /* X positions */
	int id, check;        /* ... of them carrying the number, the check */
	uint64_t space;       /* 31^id: the codes a pattern has */
	uint64_t check_space; /* 31^check */
	int bits;             /* the Feistel network's width (even) */
};

/* Parses a pattern (A-Z, 0-9, - _ . / # literally, X a generated
 * character, COUPON_MIN_X to COUPON_MAX_X of them). 0, or -1 with why. */
int coupon_pattern_parse(const char *pat, size_t len, struct coupon_pattern *p, char *why,
			 size_t whylen);
/* The pool's key: HMAC-SHA256(secret, "coupon:" pool). */
void coupon_key(const char *secret, const char *pool, unsigned char key[32]);
/* Code number n of the pool (n < p->space): 0, or -1 when out of range. */
int coupon_make(const struct coupon_pattern *p, const unsigned char key[32], uint64_t n,
		char out[COUPON_MAX_LEN + 1]);
/* Whether code is one of the pattern's under key (ASCII case ignored);
 * 0 with its number in *n, or -1. */
int coupon_check(const struct coupon_pattern *p, const unsigned char key[32], const char *code,
		 size_t len, uint64_t *n);
/* Whether s is acceptable as a code (1 to COUPON_MAX_LEN bytes of UTF-8,
 * no white space, control characters, quotes, commas or semicolons);
 * 0, or -1 with why. Pool names follow the same rule. */
int coupon_code_valid(const char *s, size_t len, char *why, size_t whylen);
/* Calls fn for each code of a coupon file held in buf (see coupon.c);
 * stops at the first non-zero return of fn and returns it. */
typedef int (*coupon_line_fn)(void *ud, long line, const char *code, size_t len);
int coupon_lines(const char *buf, size_t len, coupon_line_fn fn, void *ud);

/* ---- coupon.c: pools ----------------------------------------------------- */

struct coupon_opts {
	const char *pool;
	long generate;        /* --generate N, 0 none */
	const char *pattern;  /* --pattern */
	const char *verify;   /* --verify CODE */
};

/* crm-import coupons: crm->db open for writing. Returns the exit status. */
int coupon_import_run(struct crm *crm, const struct coupon_opts *o, char **files);

/* The pool's id, or 0 when there is none. */
int64_t coupon_pool_id(sqlite3 *db, const char *pool);
/* Codes of the pool not assigned yet. */
int64_t coupon_pool_free(sqlite3 *db, int64_t pool_id);

#endif
