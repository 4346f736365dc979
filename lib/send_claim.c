/*
 * crm-send: who holds a transmitting row, recovery of rows whose sender
 * is gone, the policy checks and claiming a batch.
 */
#include "send_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "diag.h"
#include "erase.h"
#include "expr.h"
#include "hash.h"
#include "mime.h"
#include "quiet.h"
#include "track_url.h"
#include "tzinfer.h"


/* ---- the claimant and recovery ------------------------------------------ */

void send_make_claimant(struct sender *s)
{
	claimant_self(s->claimant, sizeof(s->claimant));
}

/* The boot id of a claimant (the fifth field from the right of format 2),
 * in out; "" when it has none. */
static void claimant_boot(const char *c, char *out, size_t n)
{
	const char *end = c + strlen(c), *p = end;
	int fields = 0;

	out[0] = 0;
	while (p > c && fields < 5) {
		const char *q = p;
		while (q > c && q[-1] != ':')
			q--;
		if (++fields == 5 && q > c)
			snprintf(out, n, "%.*s", (int)(p - q), q);
		p = q > c ? q - 1 : q;
	}
}

/*
 * Rows left transmitting by a process that is gone (claimant.h: certainly
 * dead, or a claim older than CLAIMANT_EXPIRY). A row it marked started
 * (sent_at) may or may not have reached the server: it becomes in_doubt.
 * A row it never started goes back to the queue with its attempt given
 * back, but only when its claimant ran on this boot: the mark is written
 * without waiting for the disk, so after a crash of the machine a missing
 * mark proves nothing, and every row of the earlier boot is in doubt.
 */
void send_recover(struct sender *s)
{
	sqlite3_stmt *st = db_prepare(s->db,
		"SELECT id, claimed_by, updated_at, sent_at IS NOT NULL FROM messages"
		" WHERE campaign_id = ? AND status = 'transmitting'");
	sqlite3_stmt *doubt = db_prepare(s->db,
		"UPDATE messages SET status = 'in_doubt', reason = 'interrupted while transmitting',"
		" claimed_by = NULL, updated_at = ? WHERE id = ? AND status = 'transmitting'");
	sqlite3_stmt *back = db_prepare(s->db,
		"UPDATE messages SET status = 'deferred', reason = 'not tried: its sender stopped',"
		" next_at = ?1, claimed_by = NULL, attempts = max(attempts - 1, 0), updated_at = ?1"
		" WHERE id = ?2 AND status = 'transmitting'");
	char now[20], myboot[64];
	int64_t t = send_now(s);
	long n = 0, nback = 0;

	claimant_boot(s->claimant, myboot, sizeof(myboot));
	send_fmt_now(s, now);
	sqlite3_bind_int64(st, 1, s->campaign_id);
	while (db_row(st)) {
		const char *by = (const char *)sqlite3_column_text(st, 1);
		const char *at = (const char *)sqlite3_column_text(st, 2);
		int started = sqlite3_column_int(st, 3);
		int64_t claimed = 0;
		const char *why;
		char boot[64];

		if (!at || norm_time(at, strlen(at), NULL, &claimed, &why) < 0)
			claimed = 0;
		if (!claimant_dead(by, claimed, t, CLAIMANT_EXPIRY))
			continue;
		claimant_boot(by ? by : "", boot, sizeof(boot));
		if (!started && boot[0] && strcmp(boot, "?") && !strcmp(boot, myboot)) {
			db_bind_text(back, 1, now, -1);
			sqlite3_bind_int64(back, 2, sqlite3_column_int64(st, 0));
			nback += db_step_done(s->db, back);
			continue;
		}
		db_bind_text(doubt, 1, now, -1);
		sqlite3_bind_int64(doubt, 2, sqlite3_column_int64(st, 0));
		n += db_step_done(s->db, doubt);
	}
	sqlite3_finalize(st);
	sqlite3_finalize(doubt);
	sqlite3_finalize(back);
	if (n)
		crm_warn("%ld message%s of campaign \"%s\" were being transmitted by a process that "
			 "stopped: marked in_doubt (crm-send --resend-in-doubt sends them again)",
			 n, n == 1 ? "" : "s", s->o->campaign);
	if (nback)
		crm_info("%ld message%s of campaign \"%s\" claimed by a process that stopped before "
			 "sending them: queued again", nback, nback == 1 ? "" : "s", s->o->campaign);
}

/* ---- claiming ------------------------------------------------------------- */

void send_item_free(struct sender *s, struct item *it)
{
	free(it->ext);
	free(it->address);
	free(it->message_id);
	free(it->variant);
	free(it->unsub);
	free(it->coupon);
	for (size_t i = 0; it->vals && i < s->nnames; i++)
		free(it->vals[i]);
	free(it->vals);
	memset(it, 0, sizeof(*it));
}

static char *col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? xstrdup((const char *)t) : NULL;
}

/* A template value: text as stored; a real number in its shortest form
 * that reads back the same, as crm-segment prints it (revenue 1334.5,
 * 10 rather than SQLite's 10.0). */
static char *val_dup(sqlite3_stmt *st, int i)
{
	if (sqlite3_column_type(st, i) == SQLITE_FLOAT) {
		double d = sqlite3_column_double(st, i);
		char buf[40];

		if (!isfinite(d))
			return NULL;
		for (int prec = 15; prec <= 17; prec++) {
			snprintf(buf, sizeof(buf), "%.*g", prec, d);
			if (strtod(buf, NULL) == d)
				break;
		}
		return xstrdup(buf);
	}
	return col_dup(st, i);
}

/* Why the address's keyed hash is in address_suppressions ("bounced",
 * "complained"), or NULL; the text lives until the next call. */
static const char *address_suppressed(struct sender *s, const char *addr)
{
	char h[65];
	sqlite3_stmt *st = send_cached(s, &s->supp_st,
				  "SELECT reason FROM address_suppressions WHERE hash = ?");

	erase_hash(s->secret, s->o->channel, addr, h);
	db_bind_text(st, 1, h, -1);
	s->supp_reason[0] = 0;
	if (db_row(st))
		snprintf(s->supp_reason, sizeof(s->supp_reason), "%s",
			 (const char *)sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	return s->supp_reason[0] ? s->supp_reason : NULL;
}

static int address_valid(const char *channel, const char *addr)
{
	struct sb b = SB_INIT;
	const char *why;
	int ok;

	if (!addr || !*addr)
		return 0;
	if (strcmp(channel, "email"))
		return 1;
	ok = norm_email(addr, strlen(addr), &b, &why) == 0 && !strcmp(b.buf, addr) &&
	     mime_addr_valid(addr);
	sb_free(&b);
	return ok;
}

/* Builds the claim query for this moment: the rows due and, for each,
 * what the policy needs, evaluated now (so a consent withdrawn during the
 * run counts from the next batch). */
static sqlite3_stmt *claim_query(struct sender *s, int64_t now)
{
	const struct send_opts *o = s->o;
	struct sb sql = SB_INIT;
	struct expr_err err;
	char text[96];
	sqlite3_stmt *st;

	expr_free(s->consent_e);
	s->consent_e = NULL;
	if (o->consent) {
		snprintf(text, sizeof(text), "consent(\"%s\")", o->consent);
		if (!(s->consent_e = expr_compile(text, now, &err)))
			crm_die(1, "consent check: %s", err.msg);
		expr_renumber(s->consent_e, 6);

	}
	/* the one suppression rule (supp.h, crm.7 SUPPRESSION): a
	 * complaint or an unsubscribe after the latest grant stops marketing
	 * on the channel; a hard bounce, or too many soft ones, stops every
	 * message to the address */
	sb_addf(&sql, "SELECT m.id, m.customer_id, m.grp, m.variant, m.message_id, m.attempts,"
		" coalesce(c.external_id, ''), c.erased_at IS NOT NULL, %s, c.timezone, %s, ",
		s->addr_sql, s->consent_e ? expr_sql(s->consent_e) : "1");
	supp_sql(&sql, s->addr_sql, &s->supp);
	sb_adds(&sql, ", (SELECT count(*) FROM messages x WHERE x.customer_id = c.id AND x.channel = ?5"
		"  AND x.status = 'sent' AND x.sent_at > ?4), c.country, c.phone");
	for (size_t i = 0; i < s->nnames; i++) {
		struct sb v = SB_INIT;
		send_field_sql(s->names[i], now, &v);
		sb_addf(&sql, ", %s", v.buf);
		sb_free(&v);
	}
	/* the next rows due, each kind from the index messages_status
	 * (campaign_id, status, then id): the first n planned ones come
	 * straight off it, where one OR over the kinds would sort every row
	 * of the campaign for each batch */
	sb_addf(&sql, " FROM (SELECT id FROM (SELECT id FROM messages WHERE campaign_id = ?1"
		" AND status = 'planned' ORDER BY id LIMIT ?3)"
		" UNION ALL SELECT id FROM (SELECT id FROM messages WHERE campaign_id = ?1"
		" AND status = 'deferred' AND next_at <= ?2 ORDER BY id LIMIT ?3)%s) AS due"
		" JOIN messages m ON m.id = due.id JOIN customers c ON c.id = m.customer_id"
		" ORDER BY m.id LIMIT ?3",
		o->resend_in_doubt ? " UNION ALL SELECT id FROM (SELECT id FROM messages"
		" WHERE campaign_id = ?1 AND status = 'in_doubt'"
		" AND id NOT IN (SELECT id FROM temp.send_tried) ORDER BY id LIMIT ?3)" : "");
	/* the consent check takes now as parameters, but metrics a template
	 * uses inline it: the text, and so the prepared statement, stays the
	 * same within a second of the run's clock */
	if (s->claim_st && s->claim_sql && !strcmp(s->claim_sql, sql.buf)) {
		st = s->claim_st;
		sqlite3_clear_bindings(st);
		sb_free(&sql);
	} else {
		sqlite3_finalize(s->claim_st);
		free(s->claim_sql);
		st = s->claim_st = db_prepare(s->db, sql.buf);
		s->claim_sql = sb_detach(&sql);
	}
	if (s->consent_e)
		expr_bind(s->consent_e, st, 6);
	return st;
}

/* The message's unsubscribe URL: crm-track's BASE/u/TOKEN (TOKEN naming
 * the outbox row) when [tracking] url is set, else [unsubscribe] url with
 * m=MESSAGE-ID&t=HMAC, else none. */
static void unsub_url(struct sender *s, struct item *it)
{
	char mac[65];
	struct sb b = SB_INIT;
	const char *id = it->message_id;
	size_t n = strlen(id);

	if (s->track_url) {
		track_url_unsub(&b, s->track_url, s->secret, it->id);
		it->unsub = b.buf;
		return;
	}
	if (!s->unsub_url)
		return;
	if (n >= 2 && id[0] == '<')
		id++, n -= 2;
	sb_addf(&b, "unsubscribe:%.*s", (int)n, id);
	hash_hmac_hex(s->secret, strlen(s->secret), b.buf, b.len, mac);
	sb_reset(&b);
	sb_addf(&b, "%s%s", s->unsub_url, strchr(s->unsub_url, '?') ? "&" : "?");
	sb_adds(&b, "m=");
	track_url_escape(&b, id, n);
	sb_addf(&b, "&t=%.32s", mac);
	it->unsub = b.buf;
}

/*
 * When the cap lets one more message go to the customer: of their sends
 * on the channel counted now, the cap_n-th latest leaves the window (a
 * send counts while sent_at > now - window) at its time plus the window,
 * and fewer than cap_n remain. Read in the claim's transaction, so the
 * deferral is written with the claim or not at all. Prepared per capped
 * row: they are few.
 */
static int64_t cap_free_at(struct sender *s, int64_t customer, const char *since, int64_t now)
{
	const struct send_opts *o = s->o;
	sqlite3_stmt *st = db_prepare(s->db,
		"SELECT sent_at FROM messages WHERE customer_id = ?1 AND channel = ?2"
		" AND status = 'sent' AND sent_at > ?3 ORDER BY sent_at DESC LIMIT 1 OFFSET ?4");
	int64_t t = now + o->cap_window;	/* (none found: a window on) */
	const char *why;

	sqlite3_bind_int64(st, 1, customer);
	db_bind_text(st, 2, o->channel, -1);
	db_bind_text(st, 3, since, -1);
	sqlite3_bind_int(st, 4, o->cap_n - 1);
	if (db_row(st)) {
		const char *v = (const char *)sqlite3_column_text(st, 0);
		int64_t at;
		if (v && norm_time(v, strlen(v), NULL, &at, &why) == 0 && at + o->cap_window > now)
			t = at + o->cap_window;
	}
	sqlite3_finalize(st);
	return t;
}

/* The wait to the end of quiet hours in the customer's time zone, stored
 * or inferred from their country or phone (tzinfer.h), or 0; the claim
 * row has the zone in column 9, country and phone in 14 and 15. */
static int64_t quiet_for(const struct send_opts *o, sqlite3_stmt *st, int64_t now)
{
	struct tz_guess g;

	if (o->quiet_from < 0)
		return 0;
	tz_infer((const char *)sqlite3_column_text(st, 9), (const char *)sqlite3_column_text(st, 14),
		 (const char *)sqlite3_column_text(st, 15), &g);
	return quiet_wait(g.zone, now, o->quiet_from, o->quiet_to);
}

static const char transmitting[] = "transmitting";

/*
 * Claims up to n due rows in one write transaction; the ones to transmit
 * are returned in items (the rest are recorded and printed here).
 * Returns the number of rows looked at (0: nothing due).
 */
int send_claim(struct sender *s, struct item *items, int n, int *ntx)
{
	const struct send_opts *o = s->o;
	int64_t now = send_now(s);
	char nowt[20], since[20], next[20];
	sqlite3_stmt *st, *up;
	int seen = 0, rc;

	*ntx = 0;
	norm_fmt_time(now, nowt);
	norm_fmt_time(now - (o->cap_n ? o->cap_window : 0), since);
	if (!s->dry_run && !s->open_txn)
		db_begin(s->db);
	s->open_txn = 0;
	st = claim_query(s, now);
	sqlite3_bind_int64(st, 1, s->campaign_id);
	db_bind_text(st, 2, nowt, -1);
	sqlite3_bind_int(st, 3, n);
	db_bind_text(st, 4, since, -1);
	db_bind_text(st, 5, o->channel, -1);
	up = send_cached(s, &s->claim_up,
		"UPDATE messages SET status = ?2, reason = ?3, address = ?4, next_at = ?5,"
		" claimed_by = ?6, attempts = attempts + ?7, sent_at = ?8, updated_at = ?9"
		" WHERE id = ?1");

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct item it = { 0 };
		const char *grp = (const char *)sqlite3_column_text(st, 2);
		int erased = sqlite3_column_int(st, 7);
		int consent = sqlite3_column_type(st, 10) != SQLITE_NULL && sqlite3_column_int(st, 10);
		const char *optout = (const char *)sqlite3_column_text(st, 11);
		const char *dead = (const char *)sqlite3_column_text(st, 12);
		int capped = o->cap_n && sqlite3_column_int(st, 13) >= o->cap_n;
		const char *hashed;
		const char *status = NULL, *reason = NULL;
		int64_t wait;
		int tx;

		if (o->limit >= 0 && s->transmitted + *ntx >= o->limit)
			break;
		seen++;
		it.id = sqlite3_column_int64(st, 0);
		it.customer = sqlite3_column_int64(st, 1);
		it.variant = col_dup(st, 3);
		it.message_id = col_dup(st, 4);
		it.attempts = sqlite3_column_int(st, 5);
		it.ext = col_dup(st, 6);
		it.address = col_dup(st, 8);
		next[0] = 0;

		if (erased)
			status = "suppressed", reason = "erased";
		else if (s->addr_kind && !address_valid(o->channel, it.address))
			status = "suppressed", reason = "invalid_address";
		else if (s->addr_kind && dead)
			status = "suppressed", reason = dead;
		else if (s->addr_kind && (hashed = address_suppressed(s, it.address)) &&
			 (!o->transactional || strcmp(hashed, "complained")))
			status = "suppressed", reason = hashed;
		else if (optout && !o->transactional)
			status = "suppressed", reason = optout;
		else if (o->consent && !o->transactional && !consent)
			status = "suppressed", reason = "no_consent";
		else if (capped && o->cap_drop)
			status = "suppressed", reason = "cap";
		else if (capped) {
			/* --cap-policy defer: due again when the cap allows
			 * it, and checked against the cap (and all else) then */
			status = "deferred", reason = "cap";
			norm_fmt_time(cap_free_at(s, it.customer, since, now), next);
		} else if (!strcmp(grp, "control"))
			status = "control";
		else if ((wait = quiet_for(o, st, now)) > 0) {
			status = "deferred", reason = "quiet_hours";
			norm_fmt_time(now + wait, next);
		} else
			status = transmitting;

		tx = status == transmitting;
		/* its promo code, in this transaction (send_coupon.c); an
		 * empty pool leaves the row planned and stops the run */
		if (tx && send_coupon_take(s, &it) < 0) {
			seen--;
			send_item_free(s, &it);
			break;
		}
		sqlite3_bind_int64(up, 1, it.id);
		db_bind_text(up, 2, status, -1);
		db_bind_text(up, 3, reason, -1);
		db_bind_text(up, 4, it.address, -1);
		db_bind_text(up, 5, next[0] ? next : NULL, -1);
		db_bind_text(up, 6, tx ? s->claimant : NULL, -1);
		sqlite3_bind_int(up, 7, tx);
		db_bind_text(up, 8, !tx && !strcmp(status, "control") ? nowt : NULL, -1);
		db_bind_text(up, 9, nowt, -1);
		db_step_done(s->db, up);

		if (!tx) {
			const char *vals[8] = { it.ext, o->channel, status, reason, "",
						it.message_id, it.variant, "" };
			if (!strcmp(status, "deferred"))
				send_remember_deferred(s, it.id);
			else {
				send_print_row(s, vals);
				send_count(s, status);
			}
			send_item_free(s, &it);
			continue;
		}
		it.vi = 0;
		for (int v = 0; v < s->ntpl; v++)
			if (it.variant && !strcmp(s->tpl[v].name, it.variant))
				it.vi = v;
		it.vals = xcalloc(s->nnames + 1, sizeof(char *));
		for (size_t i = 0; i < s->nnames; i++)
			it.vals[i] = val_dup(st, 16 + (int)i);
		it.attempts++;
		unsub_url(s, &it);
		if (s->o->resend_in_doubt) {	/* once per run */
			sqlite3_stmt *t = send_cached(s, &s->tried_st,
						 "INSERT OR IGNORE INTO temp.send_tried VALUES (?)");
			sqlite3_bind_int64(t, 1, it.id);
			db_step_done(s->db, t);
		}
		items[(*ntx)++] = it;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		db_die(s->db, "cannot claim messages");
	sqlite3_reset(st);	/* kept for the next batch */
	if (!s->dry_run)
		db_commit(s->db);
	send_flush_rows(s);
	return seen;
}
