/*
 * bounce.h - what one message that came back to the return path is: a
 * delivery status notification (RFC 3464), a complaint (RFC 5965 ARF), a
 * non-standard bounce text of a known MTA, an auto-reply (RFC 3834) or
 * ordinary mail. A pure library: it reads the bytes of ONE message (with
 * GMime), touches no base and no file, and says what the message is and
 * which outbox row it is about. crm-import bounces (issue 14) is its
 * caller.
 *
 * What the caller is expected to do with each verdict (the suppression
 * matrix itself is crm.7's):
 *
 *   BOUNCE_NONE       not a report: ordinary mail (a person answering).
 *                     Nothing is recorded; the message is left where it is
 *                     (or handed to a person).
 *   BOUNCE_AUTOREPLY  an automatic answer (vacation, "out of office",
 *                     ticket systems). Not a bounce: nothing recorded,
 *                     nothing suppressed; counted apart in the summary.
 *   BOUNCE_HARD       the address does not exist or is disabled (5.1.x,
 *                     5.2.1): a bounced event of the outbox row's message
 *                     (its status stays sent: it was handed over) and the
 *                     address is suppressed, for transactional mail too.
 *   BOUNCE_SOFT       a temporary or not-the-address's failure (4.x.x,
 *                     mailbox full 5.2.2, 5.3-5.6.x): a bounced event with
 *                     the reason; no suppression from one soft bounce
 *                     (supp.h's rule suppresses after several).
 *   BOUNCE_POLICY     refused by policy (5.7.x: spam blocks, DMARC,
 *                     reputation; 5.1.7 and 5.1.8, the sender's own
 *                     address): recorded, never suppresses the address -
 *                     it is the sender's problem, not theirs.
 *   BOUNCE_COMPLAINT  a spam complaint (ARF): the address is suppressed
 *                     for all marketing e-mail (transactional mail goes on).
 *   BOUNCE_DELAYED    a DSN with Action: delayed: logged only; the message
 *                     may still arrive.
 *   BOUNCE_UNKNOWN    a report we could not classify (a bounce text with no
 *                     SMTP code, a DSN with an unusable Status): the message
 *                     is quarantined for a person with reason; nothing is
 *                     suppressed. Never guessed to be hard.
 *
 * The outbox row: outbox_id comes only from a VERP address
 * (LOCAL+TOKEN@domain, TOKEN = token_make(secret, "bounce", row)) whose
 * token checks. outbox_id 0 means no such address: the caller may still
 * match message_id against messages.message_id, and quarantines the
 * message otherwise (a report about someone else's mail). token_bad means
 * a VERP-shaped address whose token did not check (forged, or from another
 * base): the caller quarantines it and acts on nothing in it, even when
 * message_id happens to match.
 *
 * With several recipients (rcpts), kind is the gravest of theirs in the
 * order HARD, SOFT, POLICY, UNKNOWN, DELAYED, NONE; a VERP outbox row has
 * one address, so the caller acts on the rcpt whose address is the row's
 * when there are several, and on kind otherwise.
 *
 * Limits: only the first BOUNCE_INPUT_MAX bytes of a message are parsed
 * (the report parts come first; what is cut is the returned original's
 * body), and only the first BOUNCE_PART_MAX decoded bytes of each part are
 * read, so a 50 MB message costs a few MB at most.
 */
#ifndef CRM_BOUNCE_H
#define CRM_BOUNCE_H

#include <stddef.h>
#include <stdint.h>

#define BOUNCE_INPUT_MAX (1024u * 1024u)
#define BOUNCE_PART_MAX (64u * 1024u)
/* at most this many recipients of one DSN are reported */
#define BOUNCE_RCPTS_MAX 64

enum bounce_kind {
	BOUNCE_NONE,      /* not a report: ordinary mail */
	BOUNCE_AUTOREPLY,
	BOUNCE_HARD,
	BOUNCE_SOFT,
	BOUNCE_POLICY,
	BOUNCE_COMPLAINT,
	BOUNCE_DELAYED,   /* a DSN with Action: delayed */
	BOUNCE_UNKNOWN,   /* a report we could not classify */
};

struct bounce_rcpt {
	char *address;      /* lower-cased when it is a valid address; never NULL */
	char status[16];    /* RFC 3463 "5.1.1", or "" when there is none */
	enum bounce_kind kind;
	char *diagnostic;   /* the remote's reply, at most 200 bytes of
			     * printable text, or NULL */
};

struct bounce_result {
	enum bounce_kind kind;  /* the message's overall verdict */
	int64_t outbox_id;      /* from a VERP token that checks, or 0 */
	int token_bad;          /* a VERP address whose token does not check */
	char *message_id;       /* "<...>" of the original when the report
				 * quotes it, or NULL */
	char *feedback_type;    /* ARF: abuse, fraud, ... (lower case), or NULL */
	char *reporting_mta;    /* "mx.example.com" (no "dns;"), or NULL */
	struct bounce_rcpt *rcpts;
	size_t nrcpts;
	char reason[160];       /* why this verdict, for the quarantine and logs */
};

/*
 * Reads the len bytes of one message (a leading mbox "From " line is
 * skipped) and fills *out (which need not be initialised; free it with
 * bounce_result_free whatever the return). secret is the base's token
 * secret (NULL: no token is checked); envelope_to the envelope recipient
 * the message was delivered to (the MTA's $ORIGINAL_RECIPIENT, or NULL),
 * tried first for the VERP token, then Delivered-To, X-Original-To, To,
 * ARF's Original-Mail-From and the quoted original's Return-Path.
 * Returns 0, or -1 when the bytes are not a message at all (out->reason
 * says why, out->kind is BOUNCE_UNKNOWN).
 */
int bounce_parse(const char *msg, size_t len, const char *secret, const char *envelope_to,
		 struct bounce_result *out);
void bounce_result_free(struct bounce_result *r);

/* "none", "autoreply", "hard", "soft", "policy", "complaint", "delayed",
 * "unknown"; "?" for anything else. */
const char *bounce_kind_name(enum bounce_kind k);

/* The kind an RFC 3463 status ("5.1.1") means for a failed recipient;
 * BOUNCE_UNKNOWN when it is not well-formed or is a bare X.0.0. */
enum bounce_kind bounce_status_kind(const char *status);

#endif
