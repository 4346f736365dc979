/*
 * hook_int.h - what hook.c, hook_verify.c and hook_map.c share.
 */
#ifndef CRM_HOOK_INT_H
#define CRM_HOOK_INT_H

#include "hook.h"

#include <openssl/evp.h>

struct hook_key {
	char *name;
	const char *value;     /* NULL when not set */
	char *owned;           /* a default's copy */
	int secret;
};

struct hook {
	char *name;            /* NAME of [hook.NAME] */
	char *section;         /* "hook.NAME" */
	char *path;            /* the preset file */
	cJSON *preset;
	struct hook_key *keys;
	size_t nkeys;
	int form;              /* "parse": "form" */
	const cJSON *verify;   /* the "verify" object */
	const char *method;    /* its "method" */
	int verify_raw;        /* verification needs only the raw request */
	int sns;               /* "envelope": "sns" */
	int hub_challenge;     /* "get": "hub_challenge" */
	const cJSON *rules;
	const char *answer_type, *answer_body;
	EVP_PKEY *pubkey;      /* ecdsa: the configured public key */
	char *cert;            /* sns: the certificate file's PEM, or NULL */
	size_t cert_len;
};

/* One request being handled. */
struct hook_ctx {
	const struct hook *h;
	const struct hook_req *rq;
	struct hook_result *out;
	cJSON *root;           /* the parsed body (the SNS envelope's Message
				  once unwrapped) */
	cJSON *pairs;          /* form: [[name, value], ...] as sent */
	int unverified;        /* hook_handle_unverified() */
};

/* The value of config key name (NULL when unset or not declared). */
const char *hook_conf(const struct hook *h, const char *name);

/* Sets out's status and err; returns status. */
int hook_fail(struct hook_result *out, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* hook_verify.c */
/* Checks the "verify" object at load time and prepares keys: 0, or -1
 * with err set. */
int hook_verify_load(struct hook *h, struct sb *err);
/* Verifies the sender: 0, or a 4xx status (out filled). */
int hook_verify(struct hook_ctx *c);
/* Verifies an SNS envelope (signature, certificate URL, age): 0 or a 4xx. */
int hook_verify_sns(struct hook_ctx *c, const cJSON *env);
/* Base64 (standard alphabet, padding optional) into out; -1 when bad. */
int hook_b64_decode(const char *s, size_t len, struct sb *out);
/* Is url https (or on test_host) on a host that matches? kind 0: an SNS
 * signing certificate (sns.REGION.amazonaws.com[.cn]), 1: any
 * amazonaws.com[.cn] host. */
int hook_url_ok(const struct hook *h, const char *url, int kind);

/* hook_map.c */
/* JSON with every number kept as the string of its digits. NULL when not
 * valid JSON. */
cJSON *hook_parse_json(const char *s, size_t len);
/* application/x-www-form-urlencoded: an object of name to value (the first
 * of a repeated name), and *pairs every [name, value] in order. NULL when
 * malformed. */
cJSON *hook_parse_form(const char *s, size_t len, cJSON **pairs);
/* A dotted path (keys and array indexes) into v. */
#include "jpath.h"

/* A scalar as text: strings, true, false; NULL otherwise. */
const char *hook_text(const cJSON *v);
/* Checks "rules" at load time: 0 or -1 with err set. */
int hook_map_load(struct hook *h, struct sb *err);
/* Applies the rules to c->root: 0, or a 4xx status (out filled). */
int hook_map(struct hook_ctx *c);
/* Frees what a record holds. */
void hook_rec_free(struct hook_rec *r);
/* "YYYY-MM-DD HH:MM:SS" of a time in ISO 8601 into out[20]; -1 when bad. */
int hook_iso_time(const char *s, char out[20], int64_t *unix_out);

#endif
