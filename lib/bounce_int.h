/*
 * bounce_int.h - what the parts of the report classifier share:
 * bounce.c (GMime, the message's structure, VERP, auto-replies and the
 * verdict), bounce_dsn.c (RFC 3464 and RFC 5965 fields, RFC 3463 codes)
 * and bounce_text.c (the bounce texts of MTAs that send no DSN). Nothing
 * here knows GMime but bounce.c.
 */
#ifndef CRM_BOUNCE_INT_H
#define CRM_BOUNCE_INT_H

#include "bounce.h"
#include "util.h"

/* Longest field value kept (unfolded), and diagnostic kept. */
#define BF_VALUE_MAX 1000
#define BOUNCE_DIAG_MAX 200

/*
 * Reads one header-style field ("Name: value" and its folded lines) at
 * *p (before end): 1 with name and value set (value unfolded, trimmed,
 * at most BF_VALUE_MAX bytes; name "" for a line without a colon), 0 for
 * a blank line (the end of a block), -1 at the end of the data. *p moves
 * past what was read.
 */
int bf_next(const char **p, const char *end, struct sb *name, struct sb *value);

/* Adds a recipient to r (address copied and normalised; status "" or
 * well-formed; diag may be NULL, kept short and printable). Does nothing
 * past BOUNCE_RCPTS_MAX. */
struct bounce_rcpt *bounce_add_rcpt(struct bounce_result *r, const char *addr, size_t alen,
				    const char *status, enum bounce_kind kind,
				    const char *diag, size_t dlen);

/* 1 when s is a well-formed RFC 3463 status "C.S.D" that fits 16 bytes. */
int bounce_status_ok(const char *s);

/* Finds an RFC 3463 enhanced status in s[0..len) ("550 5.1.1", "550-5.1.1",
 * "#5.1.1", "smtp; 5.1.1", or one alone between spaces): copies it into
 * status and returns its offset, or -1. */
long bounce_find_status(const char *s, size_t len, char status[16]);

/* Classifies a permanent failure's text that has no specific enhanced
 * code by its words: BOUNCE_HARD (an explicit "user unknown"),
 * BOUNCE_SOFT (mailbox full, over quota), BOUNCE_POLICY (spam, blocked,
 * DMARC), else BOUNCE_UNKNOWN. */
enum bounce_kind bounce_words_kind(const char *s, size_t len);

/* k as decided by the status code, corrected by the reply's words where a
 * known server misuses the code (Yandex's "550 5.7.1 No such user!"). */
enum bounce_kind bounce_policy_refine(enum bounce_kind k, const char *status, const char *s,
				     size_t len);

/* The gravest of two kinds in the order of bounce.h. */
enum bounce_kind bounce_graver(enum bounce_kind a, enum bounce_kind b);

/* Copies a diagnostic: printable ASCII and UTF-8 kept, controls and runs
 * of space made one space, at most BOUNCE_DIAG_MAX bytes (cut at a
 * character boundary). */
char *bounce_diag(const char *s, size_t len);

/* RFC 3464 message/delivery-status text: fills r->rcpts, r->reporting_mta
 * and r->kind; 0, or -1 when it has no recipient block (reason set). */
int bounce_dsn_parse(const char *s, size_t len, struct bounce_result *r);

/* RFC 5965 message/feedback-report text: fills r->feedback_type,
 * r->reporting_mta and one rcpt per Original-Rcpt-To; the value of
 * Original-Mail-From goes to mail_from (reset first). */
void bounce_arf_parse(const char *s, size_t len, struct bounce_result *r, struct sb *mail_from);

/* A bounce text without a DSN: finds the SMTP reply and the failed
 * address(es) in text (the part before any copy of the original) and
 * fills r->rcpts and r->kind; failed is X-Failed-Recipients or NULL.
 * Returns 1 when a code was found, 0 otherwise (kind BOUNCE_UNKNOWN). */
int bounce_text_parse(const char *text, size_t len, const char *failed, struct bounce_result *r);

/* Where the quoted copy of the original starts in a bounce text (Exim's
 * "------ This is a copy of the message", ...), or len. */
size_t bounce_text_copy_start(const char *text, size_t len);

/* 1 when the text has the words of a known MTA's bounce ("This message
 * was created automatically by mail delivery software", ...). */
int bounce_text_is_bounce(const char *text, size_t len);

/* ascii case-insensitive memmem */
const char *bounce_memcasemem(const char *h, size_t hlen, const char *needle);

#endif
