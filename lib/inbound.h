/*
 * inbound.h - crm-import bounces: reading what came back to the return
 * path (delivery status notifications, complaints, auto-replies) from
 * standard input, an mbox, a Maildir or message files, deciding what each
 * message means with bounce.h, and applying the one suppression rule
 * (supp.h).
 *
 * Every message read gets one row in the table inbound, with its kind,
 * status code, decision (applied, recorded, ignored, quarantined), reason
 * and where the raw message is. A message is read once (by the SHA-256 of
 * its bytes): reading the same mailbox again applies nothing twice.
 * Nothing is ever deleted or moved in a mailbox. A message that matches no
 * outbox row, has a forged or expired VERP token, or cannot be classified
 * is quarantined: kept whole in inbound.raw (and copied into the Maildir
 * --quarantine names), never dropped.
 */
#ifndef CRM_INBOUND_H
#define CRM_INBOUND_H

#include "crm.h"

/* The exit status an MTA's pipe takes for "try again later" (sysexits.h
 * EX_TEMPFAIL): the message was not stored, the MTA keeps it. */
#define INBOUND_TEMPFAIL 75

struct inbound_opts {
	int mbox;                /* standard input is an mbox, not one message */
	const char *envelope_to; /* the envelope recipient of standard input's
				  * message (default $ORIGINAL_RECIPIENT) */
	const char *quarantine;  /* a Maildir that gets a copy of each
				  * quarantined message, or NULL */
	long batch;              /* messages per transaction (0: 500) */
};

/*
 * Reads every path (NULL-terminated; "-" is standard input): a directory
 * with cur/ and new/ is a Maildir, a file that begins with "From " an mbox,
 * any other file one message. crm->db must be open for writing. Returns 0,
 * or 1 when a path could not be read (the others were).
 */
int inbound_run(struct crm *crm, const struct inbound_opts *o, char **paths);

/*
 * The mbox splitter (RFC 4155): the message that begins at start of the
 * len bytes at s ends where a "From " line follows an empty line, or at
 * the end. Returns where the next message begins (> start, <= len) and
 * sets *msglen to the message's length without the separating empty line.
 */
#include <stddef.h>
size_t inbound_mbox_next(const char *s, size_t len, size_t start, size_t *msglen);

#endif
