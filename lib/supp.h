/*
 * supp.h - the one suppression rule (crm.7 SUPPRESSION): what a hard
 * bounce, a soft bounce, a policy block, a complaint and an unsubscribe do
 * to later messages, whatever reported them: crm-send at SMTP time,
 * crm-import bounces, crm-import events, or crm-track's provider callbacks.
 *
 * Every source writes the same thing:
 *   - an event: "bounced" (props.kind hard, soft or policy; no kind is
 *     hard; props.address the address that bounced), "complained" or
 *     "unsubscribed" (props.channel);
 *   - for a hard bounce, supp_note(): the address's keyed hash in
 *     address_suppressions, which outlives the customer (erasure, a
 *     re-import under another id). A complaint or an unsubscribe is the
 *     customer's (their events), lifted by a later explicit grant.
 *
 * crm-send reads it all back through supp_sql() when it claims a message:
 *
 *   kind        effect on the channel's messages             transactional
 *   hard        the address is never sent to again            suppressed too
 *   soft        N soft bounces of the address in D days       suppressed too
 *               ([bounces] soft_limit, soft_days) = hard
 *   policy      recorded and counted, never suppresses        -
 *   complaint   no more marketing e-mail to the customer      sent
 *               (until a later explicit grant of consent)
 *   unsubscribe no more marketing on that channel (topic)     sent
 *               (until a later explicit grant)
 */
#ifndef CRM_SUPP_H
#define CRM_SUPP_H

#include <sqlite3.h>

#include "bounce.h"
#include "conf.h"
#include "util.h"

/* [bounces] soft_limit and soft_days, checked; defaults 3 in 30 days.
 * soft_limit 0 turns the soft rule off. Dies with a message naming the
 * configuration file on a bad value. */
struct supp_conf {
	int soft_limit;
	int soft_days;
};
void supp_conf_read(const struct conf *c, struct supp_conf *out);

/* The kind an SMTP reply ("550 5.1.1 <a@b>: user unknown") means for its
 * recipient: the RFC 3463 code when there is one (status gets it, else ""),
 * else the basic code (550, 551, 553: hard; 552 and 4xx: soft; 554 and the
 * rest: policy). */
enum bounce_kind supp_smtp_kind(const char *reply, char status[16]);

/* "hard", "soft" or "policy" for props.kind (bounce_kind_name's names). */
const char *supp_kind_name(enum bounce_kind k);

/* Keeps the keyed hash of channel:address in address_suppressions
 * (INSERT OR IGNORE: the first reason stays). reason is "bounced" (a hard
 * bounce: every message; "complained" in bases before version 8: marketing
 * only). Returns 1 when the row is new. */
struct supp_note {
	const char *channel, *address, *reason, *at, *message_id, *source, *status;
};
int supp_note(sqlite3 *db, const char *secret, const struct supp_note *n);

/* The customer's address on channel (e-mail: email; sms and whatsapp:
 * phone), malloc'd, or NULL. */
char *supp_address(sqlite3 *db, sqlite3_int64 customer, const char *channel);

/* After source recorded an event of type for customer (props: its JSON
 * text, or NULL): a hard bounce ("bounced" whose props.kind is hard or
 * absent) keeps the address's hash (supp_note). The address
 * is props.address, else the customer's address on props.channel (e-mail
 * when none is named). Other events do nothing here. */
void supp_event(sqlite3 *db, const char *secret, sqlite3_int64 customer, const char *type,
		const char *props, const char *at, const char *message_id, const char *source);

/*
 * Appends to sql the two expressions crm-send's claim selects for a
 * customer c (an alias of customers) and its address addr_sql, with ?2 the
 * time now and ?5 the channel, and the hash of the address bound later:
 *   1. the marketing opt-out: 'complained', 'unsubscribed' or NULL
 *   2. the address is undeliverable: 'bounced', 'soft_bounced' or NULL
 * separated by ", ". (The address's hash, surviving its customer, is
 * looked up apart: address_suppressions.) 
 */
void supp_sql(struct sb *sql, const char *addr_sql, const struct supp_conf *sc);

#endif
