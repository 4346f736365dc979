/*
 * send.h - the engine of crm-send: plan, claim, transmit, record.
 *
 * The outbox (table messages) holds one row per campaign and customer,
 * ever. A run
 *
 *   1. plans: every recipient (from files or standard input, resolved with
 *      who.h, or from a saved segment) gets a row, unless it has one;
 *      its group (treatment or control) and variant are decided here, by
 *      a hash of the campaign and the customer, so they never change;
 *   2. recovers: rows left "transmitting" by a process that is gone
 *      become in_doubt (they may have been delivered);
 *   3. claims a batch under BEGIN IMMEDIATE: rows due (planned, deferred
 *      whose time has come, in_doubt with --resend-in-doubt) are checked
 *      against the policy now (erasure, address, bounced address,
 *      unsubscribe, consent, cap, quiet hours) and either recorded in a
 *      final state (control, suppressed with a reason), deferred, or
 *      marked transmitting: from then on the row is never sent by anyone
 *      else and, if this process dies, becomes in_doubt;
 *   4. transmits the claimed rows through the channel (chan.h);
 *   5. records each outcome: sent, bounced (the address is suppressed for
 *      the future), failed, in_doubt, or deferred with exponential backoff
 *      (retried within the run while the wait is short, else by a later
 *      run: crm-send --retry);
 * and prints one result line per recipient.
 */
#ifndef CRM_SEND_H
#define CRM_SEND_H

#include <stdint.h>

#include "crm.h"

#define SEND_MAX_VARIANTS 16

struct send_variant {
	const char *name;      /* "A" */
	const char *path;      /* template file */
	double weight;         /* > 0 */
};

struct send_opts {
	const char *campaign;
	const char *channel;      /* email, sms, ..., file */
	struct send_variant variant[SEND_MAX_VARIANTS];
	int nvariants;            /* --template is one variant named "" */

	char **inputs;            /* recipient files ("-": stdin), NULL-ended */
	const char *segment;      /* --segment NAME instead of inputs */
	int retry;                /* --retry: no planning, continue the campaign */
	int resend_in_doubt;

	double control_pct;       /* --control, -1 when not given */
	int cap_n;                /* --cap N/WINDOW, 0 for none */
	int64_t cap_window;       /* seconds */
	int cap_drop;             /* --cap-policy drop: suppress, not defer */
	int quiet_from, quiet_to; /* --quiet-hours, minutes after midnight; -1 none */
	const char *consent;      /* channel whose consent is needed, NULL none */
	int transactional;        /* skip the consent check */
	double rate;              /* messages per second, 0 for no limit */
	int concurrency;          /* connections at once (e-mail, HTTP), 1 default */
	double backoff;           /* first retry delay, seconds (doubles) */
	double max_wait;          /* longest wait for an in-run retry, seconds */
	int max_attempts;
	long limit;               /* at most this many transmissions, -1 none */

	const char *output;       /* file channel: where, "-" for stdout */
	int mbox;                 /* file channel: mbox instead of JSON lines */
	int no_track;             /* --no-track: no click redirects, no open pixel */
	const char *coupons;      /* --coupons POOL: where {{coupon}} takes codes */
};

/* Runs a campaign; returns the exit status (0, 1, 2, or 3 when some
 * recipients could not be found or some messages failed). */
int send_run(struct crm *crm, const struct send_opts *o);

#endif
