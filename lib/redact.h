/*
 * redact.h - credentials out of provider replies before they are stored
 * or printed. A provider's error text may echo the request: its
 * Authorization header, its URL with a token in the path or the query,
 * the password it refused. Everything crm-send keeps (the outbox's
 * reason and provider_id) or prints (stdout, stderr, the -vvvv trace)
 * from a server goes through redact_sb() or redact_buf() first.
 *
 * What is replaced by "[redacted]":
 *   - every known secret (redact_add): the value as it is,
 *     percent-encoded (upper or lower case hex, with or without ":" and
 *     "@" left alone, form-encoded), JSON-escaped and base64-encoded;
 *     for a login (redact_add_login) also the base64 of "user:password"
 *     (HTTP Basic) and of "\0user\0password" (SASL PLAIN);
 *   - "Basic X", "Bearer X", "Token X", "Digest X" where X looks like a
 *     credential (a run of 4 or more token characters holding a digit,
 *     a symbol or an upper-case letter after the first, or 20 or more
 *     letters): the scheme stays, X goes ("Bearer [redacted]"); "Basic
 *     authentication failed" stays as it is;
 *   - the value of a header, JSON member, form field or query parameter
 *     whose name says it is secret: Authorization, Proxy-Authorization,
 *     and names whose last part (split at '_' and '-') is token, key,
 *     apikey, secret, password, passwd, pwd, sig, signature, auth,
 *     credential or credentials (access_token, api_key, X-Api-Key,
 *     X-Viber-Auth-Token, client_secret), but not idempotency_key or
 *     message_token (ids, not credentials). After "=" and in quotes the
 *     value always goes; after ":" unquoted, only when it looks like a
 *     credential ("key: use another" stays). An Authorization value
 *     keeps its scheme word ("Authorization: Basic [redacted]");
 *   - URL userinfo: "https://user:pass@host" -> "https://[redacted]@host";
 *   - Telegram bot tokens: "/bot123456:AAF-x/" -> "/bot[redacted]/".
 * Redacting twice changes nothing more. It errs on the side of removing
 * too much: a reply is for a person to read, not for a program to parse.
 *
 * USE (a channel)
 *
 *     struct redact red;
 *     redact_init(&red);                       once, when the channel opens
 *     redact_add(&red, token);                 each secret of the config
 *     redact_add_login(&red, user, password);  a login (SMTP AUTH, Basic)
 *     ...
 *     redact_sb(&why, &red);                   the whole text, before it is
 *     snprintf(r->reason, ..., "%s", why.buf); cut to a fixed size
 *     ...
 *     redact_free(&red);                       when it closes
 *
 * or, for a fixed buffer that is already filled (a reason of struct
 * chan_result), redact_buf(r->reason, sizeof(r->reason), &red). A NULL
 * struct redact applies the patterns only.
 */
#ifndef CRM_REDACT_H
#define CRM_REDACT_H

#include <stddef.h>

#include "util.h"

#define REDACTED "[redacted]"

struct redact {
	char **forms;      /* every form of every known secret, longest first */
	size_t n, cap;
};

void redact_init(struct redact *r);
void redact_free(struct redact *r);

/* Adds a secret (NULL or "" is ignored) with its encodings. */
void redact_add(struct redact *r, const char *secret);

/* Adds a login: the password (as redact_add) and the base64 forms that
 * carry user and password together. user may be NULL or "". */
void redact_add_login(struct redact *r, const char *user, const char *password);

/* Redacts b in place (see above). r may be NULL. */
void redact_sb(struct sb *b, const struct redact *r);

/* The same on a NUL-terminated string in a buffer of size bytes: the
 * result is cut to fit (at a UTF-8 character boundary). When the buffer
 * was full, so that the text may have been cut inside a secret, an end
 * that is the start (4 bytes or more) of a known secret's form is
 * redacted too. */
void redact_buf(char *buf, size_t size, const struct redact *r);

/* One call for a list of known secrets (NULL-terminated; NULL for none):
 * redact_buf() with a struct redact made of them. */
void redact_secrets(char *buf, size_t size, const char *const *known);

#endif
