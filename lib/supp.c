/*
 * supp.c - the one suppression rule: see supp.h and crm.7 SUPPRESSION.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "bounce_int.h"
#include "crm.h"
#include "db.h"
#include "diag.h"
#include "erase.h"
#include "supp.h"

static int conf_int(const struct conf *c, const char *key, int def, int lo, int hi)
{
	const char *v = conf_get(c, "bounces", key);
	char *end;
	long n;

	if (!v)
		return def;
	n = strtol(v, &end, 10);
	if (end == v || *end || n < lo || n > hi)
		crm_die(1, "%s: [bounces] %s = \"%s\": expected a whole number from %d to %d",
			conf_name(c), key, v, lo, hi);
	return (int)n;
}

void supp_conf_read(const struct conf *c, struct supp_conf *out)
{
	out->soft_limit = conf_int(c, "soft_limit", 3, 0, 1000);
	out->soft_days = conf_int(c, "soft_days", 30, 1, 3650);
}

enum bounce_kind supp_smtp_kind(const char *reply, char status[16])
{
	size_t len = reply ? strlen(reply) : 0;
	enum bounce_kind k;
	int code;

	status[0] = 0;
	if (len < 3 || reply[0] < '2' || reply[0] > '5')
		return BOUNCE_UNKNOWN;
	code = atoi(reply);
	if (bounce_find_status(reply, len, status) >= 0 && status[0] == reply[0]) {
		k = bounce_policy_refine(bounce_status_kind(status), status, reply, len);
		if (k != BOUNCE_UNKNOWN)
			return k;
	} else {
		status[0] = 0;
	}
	if (code >= 400 && code < 500)
		return BOUNCE_SOFT;
	/* a bare X.0.0 or no enhanced code: what the words say, then the
	 * basic code (RFC 5321 4.2.3) */
	if ((k = bounce_words_kind(reply, len)) != BOUNCE_UNKNOWN)
		return k;
	switch (code) {
	case 550:
	case 551:
	case 553:
		return BOUNCE_HARD;
	case 552:
		return BOUNCE_SOFT;
	default:
		return BOUNCE_POLICY;
	}
}

const char *supp_kind_name(enum bounce_kind k)
{
	switch (k) {
	case BOUNCE_HARD:
		return "hard";
	case BOUNCE_SOFT:
		return "soft";
	case BOUNCE_POLICY:
		return "policy";
	default:
		return bounce_kind_name(k);
	}
}

int supp_note(sqlite3 *db, const char *secret, const struct supp_note *n)
{
	sqlite3_stmt *st;
	char h[65];
	int added;

	if (!n->address || !*n->address || !n->channel)
		return 0;
	/* the hash is of the address as crm-send sees it: e-mail addresses
	 * are stored lower-cased, so a report's casing does not matter */
	if (!strcmp(n->channel, "email")) {
		char *a = xstrdup(n->address);
		for (char *p = a; *p; p++)
			*p = (char)ascii_lower((unsigned char)*p);
		erase_hash(secret, n->channel, a, h);
		free(a);
	} else {
		erase_hash(secret, n->channel, n->address, h);
	}
	st = db_prepare(db, "INSERT OR IGNORE INTO address_suppressions"
			"(hash, channel, reason, created_at, message_id, source, status)"
			" VALUES (?, ?, ?, ?, ?, ?, ?)");
	db_bind_text(st, 1, h, 64);
	db_bind_text(st, 2, n->channel, -1);
	db_bind_text(st, 3, n->reason, -1);
	db_bind_text(st, 4, n->at, -1);
	db_bind_text(st, 5, n->message_id, -1);
	db_bind_text(st, 6, n->source, -1);
	db_bind_text(st, 7, n->status && *n->status ? n->status : NULL, -1);
	added = db_step_done(db, st) > 0;
	sqlite3_finalize(st);
	return added;
}

char *supp_address(sqlite3 *db, sqlite3_int64 customer, const char *channel)
{
	const char *col = !strcmp(channel, "email") ? "email" :
			  !strcmp(channel, "sms") || !strcmp(channel, "whatsapp") ? "phone" : NULL;
	struct sb q = SB_INIT;
	sqlite3_stmt *st;
	char *a = NULL;

	if (!col)
		return NULL;
	sb_addf(&q, "SELECT %s FROM customers WHERE id = ?", col);
	st = db_prepare(db, q.buf);
	sqlite3_bind_int64(st, 1, customer);
	if (db_row(st) && sqlite3_column_text(st, 0))
		a = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sb_free(&q);
	return a;
}

void supp_event(sqlite3 *db, const char *secret, sqlite3_int64 customer, const char *type,
		const char *props, const char *at, const char *message_id, const char *source)
{
	cJSON *p = NULL;
	const char *kind = NULL, *channel = "email", *address = NULL, *status = NULL;
	char *addr = NULL;
	const cJSON *v;

	if (strcmp(type, "bounced"))
		return;
	if (props && (p = cJSON_Parse(props)) && cJSON_IsObject(p)) {
		if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(p, "kind")))
			kind = v->valuestring;
		if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(p, "channel")) &&
		    *v->valuestring)
			channel = v->valuestring;
		if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(p, "address")) &&
		    *v->valuestring)
			address = v->valuestring;
		if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(p, "status")))
			status = v->valuestring;
	}
	if (kind && ascii_casecmp(kind, "hard"))
		goto out;
	if (!address)
		address = addr = supp_address(db, customer, channel);
	if (address) {
		struct supp_note n = {
			.channel = channel, .address = address,
			.reason = "bounced", .at = at,
			.message_id = message_id, .source = source, .status = status,
		};
		supp_note(db, secret, &n);
	}
out:
	free(addr);
	cJSON_Delete(p);
}

/* an event of customer c, of the channel ?5: props.channel, or dflt */
#define EV_OF(types, dflt)                                                              \
	"SELECT 1 FROM events e WHERE e.customer_id = c.id AND e.type " types           \
	" AND e.occurred_at <= ?2"                                                       \
	" AND coalesce(lower(json_extract(e.props, '$.channel')), " dflt ") = ?5"

void supp_sql(struct sb *sql, const char *addr_sql, const struct supp_conf *sc)
{
	/* after the latest explicit grant of the channel: a person who
	 * opted in again after complaining or unsubscribing is back (in the
	 * same second too: a preference page's "resubscribe" right after
	 * its "unsubscribe") */
	static const char after_grant[] =
		" AND e.occurred_at > coalesce((SELECT max(k.recorded_at) FROM consents k"
		"  WHERE k.customer_id = c.id AND k.channel = ?5 AND k.granted = 1), '')";
	/* a bounce of this address: its props.address, or none recorded
	 * (an import that named only the customer) */
	struct sb addr = SB_INIT;

	sb_addf(&addr, " AND (json_extract(e.props, '$.address') IS NULL"
		" OR lower(json_extract(e.props, '$.address')) = lower(%s))", addr_sql);

	/* 1. the marketing opt-out: a complaint (e-mail unless it says
	 * otherwise) wins over an unsubscribe */
	sb_addf(sql, "CASE WHEN EXISTS (" EV_OF("= 'complained'", "'email'") "%s)"
		" THEN 'complained' WHEN EXISTS (" EV_OF("= 'unsubscribed'", "?5") "%s)"
		" THEN 'unsubscribed' END, ",
		after_grant, after_grant);
	/* 2. the address is undeliverable: a hard bounce, or soft_limit soft
	 * ones in soft_days */
	sb_addf(sql, "CASE WHEN EXISTS (" EV_OF("= 'bounced'", "'email'")
		" AND coalesce(lower(json_extract(e.props, '$.kind')), 'hard') = 'hard'%s)"
		" THEN 'bounced'", addr.buf);
	if (sc->soft_limit > 0)
		sb_addf(sql, " WHEN (SELECT count(*) FROM (" EV_OF("= 'bounced'", "'email'")
			" AND lower(json_extract(e.props, '$.kind')) = 'soft'"
			" AND e.occurred_at > datetime(?2, '-%d days')%s LIMIT %d)) >= %d"
			" THEN 'soft_bounced'",
			sc->soft_days, addr.buf, sc->soft_limit, sc->soft_limit);
	sb_adds(sql, " END");
	sb_free(&addr);
}
