/*
 * loyalty.h - crm-loyalty: bonus points, tiers and their ledger.
 *
 *   loyalty_rules.c  the rules: the [loyalty] section of crm.conf, every
 *                    key checked (file:line, did you mean)
 *   loyalty.c        run: the rules applied to the orders and events up
 *                    to --now, by replaying each member's ledger in time
 *                    order (FIFO lots, pending, expiry, debts, tiers)
 *   loyalty_acct.c   balance, history, adjust and redeem
 *
 * The ledger (share/schema/014-loyalty.sql) is append-only; every row has
 * a key naming its cause, so that a second run adds nothing twice. See
 * crm-loyalty(1) for the rules and crm.7 for the tables.
 */
#ifndef CRM_LOYALTY_H
#define CRM_LOYALTY_H

#include <stddef.h>
#include <stdint.h>

#include "crm.h"

struct conf;

struct loyalty_tier {
	char *name;
	double spend;          /* over 12 months, major units: from here up */
	double mult;           /* earn multiplier (1 when not given) */
};

struct loyalty_event {
	char *type;            /* events.type */
	int64_t points;
};

struct loyalty_cat {
	char *category;        /* products.category, compared without case */
	double mult;           /* the lines of the category earn mult times */
};

enum { LOYALTY_REVIEW_YEAR, LOYALTY_REVIEW_QUARTER, LOYALTY_REVIEW_MONTH };

struct loyalty_rules {
	double earn;           /* share of a purchase's amount, in points' value */
	double point_value;    /* what a point is worth, in major units */
	char currency[4];      /* of the orders that earn; "" when not given */
	int exponent;          /* its minor units */
	int64_t pending;       /* seconds before earned points are usable */
	int64_t expire;        /* seconds a lot lasts (0: never) */
	int64_t welcome, birthday;
	int64_t start;         /* orders and events from then on count (0: all) */
	char *members;         /* a crm-segment expression, or NULL: everyone */
	int review;            /* LOYALTY_REVIEW_*: when tiers go down */
	struct loyalty_tier *tiers;   /* ascending by spend */
	size_t ntiers;
	struct loyalty_event *events;
	size_t nevents;
	struct loyalty_cat *cats;
	size_t ncats;
};

/* Reads [loyalty] of c into r. 0, or -1 after an error naming the file,
 * the line and the reason (an unknown key with a suggestion, a value out
 * of range, tiers out of order, a multiplier of no tier, no section). */
int loyalty_rules_read(const struct conf *c, struct loyalty_rules *r);
void loyalty_rules_free(struct loyalty_rules *r);

struct loyalty_opts {
	int dry_run;           /* compute and print, write nothing */
	int full;              /* replay every member, not only those with news */
};

/* crm-loyalty run: 0, or an exit status after an error. */
int loyalty_run(struct crm *crm, const struct loyalty_rules *r, const struct loyalty_opts *o);

/* balance [ID...] (none: every member), history ID, adjust ID POINTS. */
int loyalty_balance(struct crm *crm, char **ids, int n);
int loyalty_history(struct crm *crm, const char *id);
int loyalty_adjust(struct crm *crm, const struct loyalty_rules *r, const char *id,
		   int64_t points, const char *reason, const char *key);
/* redeem ID REWARD: the reward's cost in points, one of its stock. */
int loyalty_redeem(struct crm *crm, const struct loyalty_rules *r, const char *id,
		   const char *reward, const char *key);

/* Replays one customer's ledger (no rule applied) and rewrites their
 * account and lots; for adjust. Returns the points available, or
 * INT64_MIN when the customer has no ledger. */
int64_t loyalty_replay_one(struct crm *crm, const struct loyalty_rules *r, int64_t customer);

#endif
