/*
 * track_url.h - the URLs crm-track answers, made by crm-send and read by
 * crm-track (one module, so that the two always agree):
 *
 *     BASE/u/TOKEN            unsubscribe: one-click POST (RFC 8058), GET
 *                             the confirmation and preference page
 *     BASE/o/TOKEN.gif        the open pixel
 *     BASE/c/TOKEN/N?u=URL    a click on link N (from 1) of the message,
 *                             redirected to URL
 *
 * TOKEN is a token.h token of the outbox row (messages.id) for the
 * purpose "unsubscribe", "open" or "click"; a click's MAC also covers
 * "N NUL URL", so that neither the link number nor the target can be
 * changed: crm-track redirects only to URLs crm-send signed.
 */
#ifndef CRM_TRACK_URL_H
#define CRM_TRACK_URL_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum track_kind { TRACK_NONE, TRACK_UNSUB, TRACK_OPEN, TRACK_CLICK };

/* The longest link number a message may have. */
#define TRACK_MAX_LINKS 9999

/* Appends the URL for outbox row msg to out; base has no trailing '/'
 * (one is ignored). */
void track_url_unsub(struct sb *out, const char *base, const char *secret, int64_t msg);
void track_url_open(struct sb *out, const char *base, const char *secret, int64_t msg);
void track_url_click(struct sb *out, const char *base, const char *secret, int64_t msg,
		     int n, const char *url, size_t len);

/* Appends s percent-encoded: every byte but A-Z a-z 0-9 - . _ ~ as %XX. */
void track_url_escape(struct sb *out, const char *s, size_t n);

/* Splits a request path (no query string) of the layout above: sets
 * *kind, the token (*tok, *len, pointing into path) and for a click the
 * link number *n. Returns 0, or -1 when path is none of them. */
int track_path_parse(const char *path, enum track_kind *kind, const char **tok, size_t *len,
		     int *n);

/* 0 with *msg set when the token is one this secret made for kind (and
 * for a click, for link n to url); -1 otherwise. */
int track_token_check(const char *secret, enum track_kind kind, const char *tok, size_t len,
		      int n, const char *url, size_t urllen, int64_t *msg);

#endif
