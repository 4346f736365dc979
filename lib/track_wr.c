/*
 * The writer of crm-track: one thread owns the write connection. Requests
 * queue jobs (track_submit) and are suspended; the writer takes every job
 * that has queued up, applies them in one write transaction, commits, and
 * only then lets each request answer. One commit (one fsync with
 * synchronous=FULL) serves a whole batch, so many hits a second cost few
 * commits, and a hit that was answered is in the base: a kill -9 loses
 * only hits that had no answer yet.
 */
#include "supp.h"
#include "track_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "db.h"
#include "diag.h"
#include "norm.h"
#include "report.h"

/* a message's outbox row, as the hits need it */
struct msginfo {
	int64_t customer;
	char channel[32];
	char message_id[256];
	char campaign[256];
	char address[320];       /* where it went */
	int64_t sent_at;         /* -1: unknown */
	int erased;
};

/* the latest click of a message, for the every-link rule */
struct recent {
	int64_t msg, event;
	int link;
	double at;
};
#define NRECENT 4096

static struct recent recent[NRECENT];
static sqlite3_stmt *st_msg, *st_ev, *st_mark, *st_cons, *st_cur, *st_unsub;
static sqlite3_stmt *st_ref, *st_by[4], *st_bind;
static char now_s[20];
static int64_t now_epoch;
static double now_exact;

static void prepare(sqlite3 *db)
{
	st_msg = db_prepare(db,
		"SELECT m.customer_id, m.channel, m.message_id, m.sent_at, ca.name,"
		" cu.erased_at IS NOT NULL, coalesce(m.address, cu.email) FROM messages m JOIN campaigns ca ON ca.id = m.campaign_id"
		" JOIN customers cu ON cu.id = m.customer_id WHERE m.id = ?");
	st_ev = db_prepare(db,
		"INSERT OR IGNORE INTO events(external_id, customer_id, type, occurred_at, campaign,"
		" message_id, props, machine) VALUES (?,?,?,?,?,?,?,?)");
	st_mark = db_prepare(db,
		"UPDATE events SET machine = 'every-link' WHERE id = ? AND machine IS NULL");
	st_cons = db_prepare(db,
		"INSERT OR IGNORE INTO consents(customer_id, channel, granted, recorded_at, source)"
		" VALUES (?,?,?,?,?)");
	st_cur = db_prepare(db,
		"SELECT granted FROM consents WHERE customer_id = ? AND channel = ?"
		" ORDER BY recorded_at DESC, id DESC LIMIT 1");
	/* the channel is unsubscribed: its latest consent record is a
	 * revocation, or an unsubscribed event came after the latest grant
	 * (what crm-send and unsubscribed() go by) */
	st_unsub = db_prepare(db,
		"SELECT coalesce((SELECT NOT k.granted FROM consents k WHERE k.customer_id = ?1"
		"  AND k.channel = ?2 ORDER BY k.recorded_at DESC, k.id DESC LIMIT 1), 0)"
		" OR EXISTS (SELECT 1 FROM events e WHERE e.customer_id = ?1"
		"  AND e.type = 'unsubscribed'"
		"  AND coalesce(lower(json_extract(e.props, '$.channel')), ?2) = ?2"
		"  AND e.occurred_at > coalesce((SELECT max(k.recorded_at) FROM consents k"
		"   WHERE k.customer_id = ?1 AND k.channel = ?2 AND k.granted = 1), ''))");
	/* a callback's message: ours by Message-ID (with or without <>) or
	 * Idempotency-Key, or the provider's id */
	st_ref = db_prepare(db,
		"SELECT id FROM messages WHERE message_id = ?1 UNION ALL"
		" SELECT id FROM messages WHERE message_id = '<' || ?1 || '>' UNION ALL"
		" SELECT id FROM messages WHERE provider_id = ?1 LIMIT 1");
	/* whoever has this address on the channel */
	st_by[0] = db_prepare(db, "SELECT id FROM customers WHERE email = ? AND erased_at IS NULL");
	st_by[1] = db_prepare(db, "SELECT id FROM customers WHERE phone = ? AND erased_at IS NULL");
	st_by[2] = db_prepare(db, "SELECT id FROM customers WHERE erased_at IS NULL"
			      " AND CAST(json_extract(attrs, '$.telegram_chat_id') AS TEXT) = ?");
	st_by[3] = db_prepare(db, "SELECT id FROM customers WHERE erased_at IS NULL"
			      " AND CAST(json_extract(attrs, '$.viber_id') AS TEXT) = ?");
	st_bind = db_prepare(db, "UPDATE customers SET attrs = json_set(attrs, ?2, ?3),"
			     " updated_at = ?4 WHERE id = ?1 AND erased_at IS NULL");
}

static void finalize(void)
{
	sqlite3_stmt *all[] = { st_msg, st_ev, st_mark, st_cons, st_cur, st_unsub, st_ref,
				st_by[0], st_by[1], st_by[2], st_by[3], st_bind };

	for (size_t i = 0; i < ARRAY_SIZE(all); i++)
		sqlite3_finalize(all[i]);
}

static void copy_col(char *dst, size_t n, sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	snprintf(dst, n, "%s", s ? (const char *)s : "");
}

/* 0 with *m filled, -1 when the row is not in the base */
static int lookup(struct track *t, int64_t msg, struct msginfo *m)
{
	sqlite3 *db = t->crm->db;
	int rc = -1;

	sqlite3_reset(st_msg);
	sqlite3_bind_int64(st_msg, 1, msg);
	if (db_step_row(db, st_msg)) {
		const char *sent = (const char *)sqlite3_column_text(st_msg, 3);
		m->customer = sqlite3_column_int64(st_msg, 0);
		copy_col(m->channel, sizeof(m->channel), st_msg, 1);
		copy_col(m->message_id, sizeof(m->message_id), st_msg, 2);
		m->sent_at = sent ? report_time(sent) : -1;
		copy_col(m->campaign, sizeof(m->campaign), st_msg, 4);
		m->erased = sqlite3_column_int(st_msg, 5);
		copy_col(m->address, sizeof(m->address), st_msg, 6);
		rc = 0;
	}
	sqlite3_reset(st_msg);
	return rc;
}

/* Records an event of the message; returns its row id (0 when it was
 * there already). */
static int64_t event_at(struct track *t, const struct msginfo *m, const char *type,
			const char *extid, cJSON *props, const char *machine, const char *at);

static int64_t event(struct track *t, const struct msginfo *m, const char *type,
		     const char *extid, cJSON *props, const char *machine)
{
	return event_at(t, m, type, extid, props, machine, now_s);
}

/* the same at a time of the event's own (a provider's) */
static int64_t event_at(struct track *t, const struct msginfo *m, const char *type,
			const char *extid, cJSON *props, const char *machine, const char *at)
{
	sqlite3 *db = t->crm->db;
	char *p = props ? cJSON_PrintUnformatted(props) : NULL;
	int64_t id = 0;

	sqlite3_reset(st_ev);
	sqlite3_bind_text(st_ev, 1, extid, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st_ev, 2, m->customer);
	sqlite3_bind_text(st_ev, 3, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st_ev, 4, at, -1, SQLITE_STATIC);
	if (m->campaign[0])
		sqlite3_bind_text(st_ev, 5, m->campaign, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st_ev, 5);
	if (m->message_id[0])
		sqlite3_bind_text(st_ev, 6, m->message_id, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st_ev, 6);
	if (p)
		sqlite3_bind_text(st_ev, 7, p, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st_ev, 7);
	if (machine && *machine)
		sqlite3_bind_text(st_ev, 8, machine, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st_ev, 8);
	db_step_done(db, st_ev);
	if (sqlite3_changes(db))
		id = sqlite3_last_insert_rowid(db);
	sqlite3_reset(st_ev);
	free(p);
	return id;
}

static void hit_id(struct track *t, char *buf, size_t n)
{
	snprintf(buf, n, "trk:%s:%" PRIu64, t->prefix, ++t->seq);
}

static void consent_at(struct track *t, int64_t customer, const char *channel, int granted,
		       const char *source, const char *at);

static void consent(struct track *t, int64_t customer, const char *channel, int granted,
		    const char *source)
{
	consent_at(t, customer, channel, granted, source, now_s);
}

/* at the time the provider says: a retried callback is the same row */
static void consent_at(struct track *t, int64_t customer, const char *channel, int granted,
		       const char *source, const char *at)
{
	sqlite3_reset(st_cons);
	sqlite3_bind_int64(st_cons, 1, customer);
	sqlite3_bind_text(st_cons, 2, channel, -1, SQLITE_STATIC);
	sqlite3_bind_int(st_cons, 3, granted);
	sqlite3_bind_text(st_cons, 4, at, -1, SQLITE_STATIC);
	sqlite3_bind_text(st_cons, 5, source, -1, SQLITE_STATIC);
	db_step_done(t->crm->db, st_cons);
	sqlite3_reset(st_cons);
}

/* 1 granted, 0 revoked, -1 no record */
static int consent_now(struct track *t, int64_t customer, const char *channel)
{
	int v = -1;

	sqlite3_reset(st_cur);
	sqlite3_bind_int64(st_cur, 1, customer);
	sqlite3_bind_text(st_cur, 2, channel, -1, SQLITE_STATIC);
	if (db_step_row(t->crm->db, st_cur))
		v = sqlite3_column_int(st_cur, 0);
	sqlite3_reset(st_cur);
	return v;
}

static int unsubscribed(struct track *t, int64_t customer, const char *channel)
{
	int v = 0;

	sqlite3_reset(st_unsub);
	sqlite3_bind_int64(st_unsub, 1, customer);
	sqlite3_bind_text(st_unsub, 2, channel, -1, SQLITE_STATIC);
	if (db_step_row(t->crm->db, st_unsub))
		v = sqlite3_column_int(st_unsub, 0);
	sqlite3_reset(st_unsub);
	return v;
}

/* why a hit is a machine's beyond what the request itself said */
static void machine_why(struct track *t, const struct job *j, const struct msginfo *m,
			char *why, size_t n)
{
	snprintf(why, n, "%s", j->machine);
	if (!*why && j->head)
		snprintf(why, n, "head");
	if (!*why && m->sent_at >= 0 && now_epoch - m->sent_at < t->machine_secs)
		snprintf(why, n, "fast");
}

static void do_hit(struct track *t, struct job *j)
{
	struct msginfo m;
	char why[48], id[64];
	cJSON *props = NULL;
	int64_t ev;

	if (lookup(t, j->msg, &m) < 0) {
		j->status = MHD_HTTP_NOT_FOUND;
		return;
	}
	j->status = j->kind == JOB_CLICK ? MHD_HTTP_FOUND : MHD_HTTP_OK;
	if (m.erased)
		return; /* an erased person's hits are not recorded */
	j->customer = m.customer;
	machine_why(t, j, &m, why, sizeof(why));
	if (j->kind == JOB_CLICK) {
		props = cJSON_CreateObject();
		cJSON_AddNumberToObject(props, "link", j->link);
		cJSON_AddStringToObject(props, "url", j->url);
	}
	hit_id(t, id, sizeof(id));
	ev = event(t, &m, j->kind == JOB_CLICK ? "clicked" : "opened", id, props, why);
	cJSON_Delete(props);
	if (j->kind == JOB_CLICK && ev) {
		/* two links of one message within a second: no person
		 * clicks that fast, a scanner following every link does */
		struct recent *r = &recent[(uint64_t)j->msg % NRECENT];
		if (r->msg == j->msg && r->link != j->link && now_exact - r->at < 1.0) {
			sqlite3_reset(st_mark);
			sqlite3_bind_int64(st_mark, 1, r->event);
			db_step_done(t->crm->db, st_mark);
			sqlite3_reset(st_mark);
			sqlite3_bind_int64(st_mark, 1, ev);
			db_step_done(t->crm->db, st_mark);
			sqlite3_reset(st_mark);
		}
		r->msg = j->msg;
		r->link = j->link;
		r->at = now_exact;
		r->event = ev;
	}
}

static void unsubscribe(struct track *t, const struct msginfo *m, const char *source)
{
	cJSON *props = cJSON_CreateObject();
	struct sb id = SB_INIT;

	consent(t, m->customer, m->channel, 0, source);
	cJSON_AddStringToObject(props, "channel", m->channel);
	cJSON_AddStringToObject(props, "source", source);
	/* one per customer, channel, source and second: a retried POST is
	 * one event */
	sb_addf(&id, "trk:u:%" PRId64 ":%s:%s:%s", m->customer, m->channel, source, now_s);
	event(t, m, "unsubscribed", id.buf, props, NULL);
	sb_free(&id);
	cJSON_Delete(props);
}

/* the topics of a channel ("email:news" for "email") */
static int topic_of(const struct topic *tp, const char *channel)
{
	size_t n = strlen(channel);

	return !strncmp(tp->name, channel, n) && tp->name[n] == ':';
}

static void page(struct track *t, struct job *j, const struct msginfo *m, const char *note)
{
	int granted[64];
	size_t n = t->ntopics < 64 ? t->ntopics : 64;

	for (size_t i = 0; i < n; i++)
		granted[i] = topic_of(&t->topics[i], m->channel) &&
			     consent_now(t, m->customer, t->topics[i].name) == 1;
	track_page(&j->out, t, m->channel, unsubscribed(t, m->customer, m->channel),
		   granted, note);
	j->ctype = "text/html; charset=utf-8";
	j->status = MHD_HTTP_OK;
}

/* the form's field "name" has the value v (form: NUL-separated
 * "key=value" pairs, already decoded) */
static int form_has(const char *form, const char *key, const char *v)
{
	size_t kl = strlen(key);

	for (const char *p = form; p && *p; p += strlen(p) + 1)
		if (!strncmp(p, key, kl) && p[kl] == '=' && (!v || !strcmp(p + kl + 1, v)))
			return 1;
	return 0;
}

static void do_unsub(struct track *t, struct job *j)
{
	struct msginfo m;
	const char *note = NULL;

	if (lookup(t, j->msg, &m) < 0) {
		j->status = MHD_HTTP_NOT_FOUND;
		return;
	}
	if (!m.erased)
		j->customer = m.customer;
	if (j->kind == JOB_UNSUB) {
		j->status = MHD_HTTP_OK;
		/* a retry, or a second message's link, once unsubscribed
		 * changes nothing */
		if (!m.erased && !unsubscribed(t, m.customer, m.channel))
			unsubscribe(t, &m, "one-click");
		return;
	}
	if (m.erased) {
		track_page_simple(&j->out, "Unsubscribed",
				  "This address receives no more messages from us.");
		j->ctype = "text/html; charset=utf-8";
		j->status = MHD_HTTP_OK;
		return;
	}
	if (j->kind == JOB_PREFS) {
		if (form_has(j->form, "action", "unsubscribe")) {
			if (!unsubscribed(t, m.customer, m.channel))
				unsubscribe(t, &m, "page");
			note = "You are unsubscribed. You will receive no more of these messages.";
		} else if (form_has(j->form, "action", "resubscribe")) {
			consent(t, m.customer, m.channel, 1, "page");
			note = "You are subscribed again.";
		} else if (form_has(j->form, "action", "save")) {
			for (size_t i = 0; i < t->ntopics; i++) {
				const struct topic *tp = &t->topics[i];
				int want, have;
				if (!topic_of(tp, m.channel))
					continue;
				want = form_has(j->form, "topic", tp->name);
				have = consent_now(t, m.customer, tp->name) == 1;
				if (want != have)
					consent(t, m.customer, tp->name, want, "page");
			}
			note = "Your preferences are saved.";
		} else {
			j->status = MHD_HTTP_BAD_REQUEST;
			sb_adds(&j->out, "unknown action\n");
			return;
		}
	}
	page(t, j, &m, note);
}

/* ---- the collector ---- */

static void on_reject(void *ud, long line, const char *reason)
{
	struct track *t = ud;
	cJSON *o = cJSON_CreateObject();
	char *s;

	if (++t->nrejects > 1000)
		return;
	cJSON_AddNumberToObject(o, "line", (double)line);
	cJSON_AddStringToObject(o, "reason", reason);
	s = cJSON_PrintUnformatted(o);
	if (t->rejects.len)
		sb_addc(&t->rejects, ',');
	sb_adds(&t->rejects, s);
	free(s);
	cJSON_Delete(o);
}

static void do_collect(struct track *t, struct job *j)
{
	sqlite3 *db = t->crm->db;
	struct imp_stats st;
	struct imp *im;
	int rc, rolled = 0;

	if (!t->imp[j->ikind]) {
		struct imp_opts *o = &t->iopts[j->ikind];
		memset(o, 0, sizeof(*o));
		o->kind = j->ikind;
		o->max_rejects = -1;
		o->rec.format = REC_JSONL;
		o->source = "collector";
		o->on_reject = on_reject;
		o->reject_ud = t;
		t->imp[j->ikind] = imp_session_open(t->crm, o);
		imp_session_begin(t->imp[j->ikind]);
	}
	im = t->imp[j->ikind];
	sb_reset(&t->rejects);
	t->nrejects = 0;
	db_exec(db, "SAVEPOINT collect");
	rc = imp_session_feed(im, j->source, j->body, j->len, &st);
	if (rc < 0 || st.read == 0 || st.rejected == st.read || (j->strict && st.rejected)) {
		db_exec(db, "ROLLBACK TO collect");
		imp_session_begin(im);
		rolled = 1;
	}
	db_exec(db, "RELEASE collect");
	if (rc == 0 && st.read == 0)
		on_reject(t, 0, "no data");
	sb_addf(&j->out, "{\"read\":%" PRIu64 ",\"inserted\":%" PRIu64 ",\"updated\":%" PRIu64
		",\"unchanged\":%" PRIu64 ",\"rejected\":%" PRIu64 ",\"stored\":%s,\"errors\":[%s]}\n",
		st.read, rolled ? 0 : st.inserted, rolled ? 0 : st.updated,
		rolled ? 0 : st.unchanged, st.rejected, rolled ? "false" : "true",
		t->rejects.len ? t->rejects.buf : "");
	j->ctype = "application/json";
	j->status = rolled ? (rc < 0 || st.read == 0 || st.rejected == st.read
			      ? MHD_HTTP_BAD_REQUEST : 422)
			   : MHD_HTTP_OK;
}

/* ---- provider callbacks ---- */

static int64_t one_id(sqlite3 *db, sqlite3_stmt *st, const char *v)
{
	int64_t id = 0;

	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, v, -1, SQLITE_STATIC);
	if (db_step_row(db, st))
		id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return id;
}

/* the customer with this address on the channel, or 0 */
static int64_t by_address(struct track *t, const char *channel, const char *addr)
{
	sqlite3 *db = t->crm->db;
	struct sb v = SB_INIT;
	int64_t id = 0;
	const char *why;

	if (!addr || !*addr || !channel)
		return 0;
	if (!strcmp(channel, "email")) {
		if (norm_email(addr, strlen(addr), &v, &why) == 0)
			id = one_id(db, st_by[0], v.buf);
	} else if (!strcmp(channel, "sms") || !strcmp(channel, "whatsapp")) {
		char e164[17];
		struct norm_opts no = { 0 };
		if (!strncmp(addr, "whatsapp:", 9))
			addr += 9;
		/* WhatsApp's ids are E.164 without the + */
		sb_addf(&v, "%s%s", addr[0] >= '0' && addr[0] <= '9' ? "+" : "", addr);
		if (norm_phone(v.buf, v.len, NULL, &no, e164, &why) == 0)
			id = one_id(db, st_by[1], e164);
	} else if (!strcmp(channel, "telegram")) {
		id = one_id(db, st_by[2], addr);
	} else if (!strcmp(channel, "viber")) {
		id = one_id(db, st_by[3], addr);
	}
	sb_free(&v);
	return id;
}

static void do_hook(struct track *t, struct job *j)
{
	struct hook_result *r = j->hook;
	struct sb src = SB_INIT, id = SB_INIT;

	sb_addf(&src, "hook:%s", j->source);
	for (size_t i = 0; i < r->nrecs; i++) {
		const struct hook_rec *rec = &r->recs[i];
		struct msginfo m;
		int64_t msg = 0, cust = 0;

		memset(&m, 0, sizeof(m));
		if (rec->kind == HOOK_BIND) {
			const char *key = rec->channel && !strcmp(rec->channel, "viber") ?
					  "$.viber_id" : "$.telegram_chat_id";
			if (!rec->customer || !rec->address || !rec->channel) {
				j->unmatched++;
				continue;
			}
			sqlite3_reset(st_bind);
			sqlite3_bind_int64(st_bind, 1, rec->customer);
			sqlite3_bind_text(st_bind, 2, key, -1, SQLITE_STATIC);
			sqlite3_bind_text(st_bind, 3, rec->address, -1, SQLITE_STATIC);
			sqlite3_bind_text(st_bind, 4, now_s, -1, SQLITE_STATIC);
			db_step_done(t->crm->db, st_bind);
			if (!sqlite3_changes(t->crm->db)) {
				sqlite3_reset(st_bind);
				j->unmatched++;
				continue;
			}
			sqlite3_reset(st_bind);
			consent_at(t, rec->customer, rec->channel, 1, src.buf,
				   rec->occurred_at ? rec->occurred_at : now_s);
			j->customer = rec->customer;
			continue;
		}
		if (rec->message_ref && (msg = one_id(t->crm->db, st_ref, rec->message_ref)) &&
		    lookup(t, msg, &m) == 0 && !m.erased)
			cust = m.customer;
		/* a message to several addresses (SES names each bounced
		 * recipient): the record is the message's only for its address */
		if (cust && rec->address && m.address[0] && ascii_casecmp(rec->address, m.address) &&
		    strcmp(m.channel, "email") == 0)
			cust = 0;
		if (!cust && (cust = by_address(t, rec->channel, rec->address))) {
			memset(&m, 0, sizeof(m));
			m.customer = cust;
		}
		if (!cust) {
			j->unmatched++;
			continue;
		}
		j->customer = cust;
		if (rec->kind == HOOK_CONSENT) {
			if (rec->channel)
				consent_at(t, cust, rec->channel, rec->granted, src.buf,
					   rec->occurred_at ? rec->occurred_at : now_s);
			continue;
		}
		/* an event: idempotent by the provider's id */
		cJSON *props = cJSON_Duplicate(rec->props, 1);
		if (!props)
			props = cJSON_CreateObject();
		cJSON_AddStringToObject(props, "source", src.buf);
		if (rec->channel && !cJSON_GetObjectItemCaseSensitive(props, "channel"))
			cJSON_AddStringToObject(props, "channel", rec->channel);
		/* a bounce or a complaint is of the address the provider
		 * names (supp.h) */
		if ((!strcmp(rec->type, "bounced") || !strcmp(rec->type, "complained")) &&
		    !cJSON_GetObjectItemCaseSensitive(props, "address") &&
		    (rec->address || m.address[0]))
			cJSON_AddStringToObject(props, "address", rec->address ? rec->address : m.address);
		sb_reset(&id);
		sb_addf(&id, "%s", rec->event_id);
		const char *at = rec->occurred_at ? rec->occurred_at : now_s;
		if (event_at(t, &m, rec->type, id.buf, props, NULL, at)) {
			/* an unsubscribe revokes the channel; a resubscribe (a
			 * provider's own preference page) grants it again */
			if ((!strcmp(rec->type, "unsubscribed") || !strcmp(rec->type, "resubscribed")) &&
			    (rec->channel || m.channel[0]))
				consent(t, cust, rec->channel ? rec->channel : m.channel,
					rec->type[0] == 'r', src.buf);
			if (!strcmp(rec->type, "bounced") || !strcmp(rec->type, "complained")) {
				char *p = cJSON_PrintUnformatted(props);
				supp_event(t->crm->db, t->secret, cust, rec->type, p, at,
					   m.message_id[0] ? m.message_id : NULL, src.buf);
				free(p);
			}
		}
		cJSON_Delete(props);
	}
	sb_free(&src);
	sb_free(&id);
	j->status = r->status;
}

static void apply(struct track *t, struct job *j)
{
	switch (j->kind) {
	case JOB_OPEN:
	case JOB_CLICK:
		do_hit(t, j);
		break;
	case JOB_UNSUB:
	case JOB_PAGE:
	case JOB_PREFS:
		do_unsub(t, j);
		break;
	case JOB_COLLECT:
		do_collect(t, j);
		break;
	case JOB_HOOK:
		do_hook(t, j);
		break;
	}
}

/* BEGIN IMMEDIATE until it is had: another program's write lock is
 * waited out (the busy handler waits up to CRM_BUSY_TIMEOUT each time),
 * never answered with a lost hit */
static void begin(struct track *t)
{
	sqlite3 *db = t->crm->db;
	int rc, said = 0;

	while ((rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL)) != SQLITE_OK) {
		if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED)
			crm_die(1, "%s: cannot begin a transaction: %s", t->crm->db_path,
				sqlite3_errmsg(db));
		if (!said++)
			crm_warn("the database is locked by another program; requests wait");
	}
}

static void *writer(void *arg)
{
	struct track *t = arg;
	sqlite3 *db = t->crm->db;

	for (;;) {
		struct job *batch, *next;
		struct timespec ts;

		pthread_mutex_lock(&t->lock);
		while (!t->head && !t->stop)
			pthread_cond_wait(&t->cond, &t->lock);
		batch = t->head;
		t->head = NULL;
		t->tail = &t->head;
		pthread_mutex_unlock(&t->lock);
		if (!batch)
			break;
		begin(t);
		clock_gettime(CLOCK_REALTIME, &ts);
		now_epoch = ts.tv_sec + t->clock_offset;
		now_exact = (double)now_epoch + ts.tv_nsec / 1e9;
		norm_fmt_time(now_epoch, now_s);
		for (struct job *j = batch; j; j = j->next)
			apply(t, j);
		for (int k = 0; k < IMP_ERASE; k++)
			if (t->imp[k])
				imp_session_flush(t->imp[k]);
		if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
			crm_die(1, "%s: cannot commit: %s", t->crm->db_path, sqlite3_errmsg(db));
		/* committed: now they may answer (a resumed request may free
		 * its job at once) */
		for (struct job *j = batch; j; j = next) {
			next = j->next;
			pthread_mutex_lock(&t->lock);
			j->done = 1;
			pthread_mutex_unlock(&t->lock);
			MHD_resume_connection(j->conn);
		}
	}
	return NULL;
}

void track_submit(struct track *t, struct job *j)
{
	pthread_mutex_lock(&t->lock);
	if (t->stop) {
		/* stopping: the writer is gone */
		j->status = MHD_HTTP_SERVICE_UNAVAILABLE;
		j->done = 1;
		pthread_mutex_unlock(&t->lock);
		MHD_resume_connection(j->conn);
		return;
	}
	j->next = NULL;
	*t->tail = j;
	t->tail = &j->next;
	pthread_cond_signal(&t->cond);
	pthread_mutex_unlock(&t->lock);
}

void track_writer_start(struct track *t)
{
	FILE *fp = fopen("/dev/urandom", "rb");
	unsigned char r[8] = { 0 };

	if (!fp || fread(r, 1, sizeof(r), fp) != sizeof(r))
		crm_die_errno(1, "/dev/urandom");
	fclose(fp);
	for (int i = 0; i < 8; i++)
		snprintf(t->prefix + 2 * i, 3, "%02x", r[i]);
	/* the indexes' pages of a busy base stay in memory: each hit
	 * touches a few of them (32 MiB of cache, reads through mmap) */
	db_exec(t->crm->db, "PRAGMA cache_size = -32768");
	db_exec(t->crm->db, "PRAGMA mmap_size = 268435456");
	prepare(t->crm->db);
	t->tail = &t->head;
	sb_init(&t->rejects);
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->cond, NULL);
	if (pthread_create(&t->writer, NULL, writer, t))
		crm_die(1, "cannot start the writer thread");
}

void track_writer_stop(struct track *t)
{
	pthread_mutex_lock(&t->lock);
	t->stop = 1;
	pthread_cond_signal(&t->cond);
	pthread_mutex_unlock(&t->lock);
	pthread_join(t->writer, NULL);
	for (int k = 0; k < IMP_ERASE; k++)
		imp_session_close(t->imp[k]);
	sb_free(&t->rejects);
	finalize();
}
