/*
 * crm-send's engine: the run (see send.h and send_int.h).
 */
#include "send_int.h"

#include <inttypes.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "conf.h"
#include "db.h"
#include "diag.h"
#include "dkim.h"
#include "erase.h"
#include "expr.h"
#include "hash.h"
#include "mime.h"
#include "progress.h"
#include "seg.h"
#include "tmpl.h"
#include "who.h"


static const char *const states[] = {
	"sent", "control", "suppressed", "deferred", "bounced", "failed", "in_doubt", NULL,
};

void send_count(struct sender *s, const char *status)
{
	for (int i = 0; states[i]; i++)
		if (!strcmp(states[i], status))
			s->counts[i]++;
}

/* A statement prepared on first use and kept for the run: claims, records
 * and lookups run per row or per batch, and preparing them again each time
 * was most of their cost. Callers reset what they step. */
sqlite3_stmt *send_cached(struct sender *s, sqlite3_stmt **slot, const char *sql)
{
	if (!*slot)
		*slot = db_prepare(s->db, sql);
	return *slot;
}

/* ---- time ------------------------------------------------------------ */

/* The run's clock: --now plus the time the run has taken, so that
 * deferrals and caps move forward during a long run even when --now is
 * fixed. */
int64_t send_now(const struct sender *s)
{
	return s->crm->now + (int64_t)(now_monotonic() - s->t0);
}

void send_fmt_now(const struct sender *s, char buf[20])
{
	norm_fmt_time(send_now(s), buf);
}

/* ---- deterministic groups --------------------------------------------- */

/* A number in [0, 1) from the campaign, a salt and the customer's key. */
static double unit_hash(const char *campaign, const char *salt, const char *key)
{
	struct sb b = SB_INIT;
	char hex[65];
	uint64_t v = 0;

	sb_addf(&b, "%s%c%s%c%s", campaign, 0, salt, 0, key);
	hash_sha256_hex(b.buf, b.len, hex);
	sb_free(&b);
	for (int i = 0; i < 13; i++)	/* 52 bits */
		v = v * 16 + (uint64_t)(hex[i] <= '9' ? hex[i] - '0' : hex[i] - 'a' + 10);
	return (double)v / 4503599627370496.0;
}

static int conf_flag(const struct conf *c, const char *section, const char *key)
{
	const char *v = conf_get(c, section, key), *why;
	int b = 0;

	if (v && norm_bool(v, strlen(v), &b, &why) < 0)
		crm_die(1, "%s: [%s] %s: %s", conf_name(c), section, key, why);
	return b;
}

/* A whole number from 1 to max, or 0 when the key is not set. */
static int64_t conf_count(const struct conf *c, const char *section, const char *key, int64_t max)
{
	const char *v = conf_get(c, section, key);
	int64_t n;

	if (!v)
		return 0;
	if (parse_int64(v, &n) < 0 || n < 1 || n > max)
		crm_die(1, "%s: [%s] %s: \"%s\" is not a whole number from 1 to %lld", conf_name(c),
			section, key, v, (long long)max);
	return n;
}

/* ---- channels ------------------------------------------------------------ */

struct chan_info {
	const char *name;
	const char *address;   /* field that holds the address */
	const char *consent;   /* consent channel checked by default */
};

static const struct chan_info channels[] = {
	{ "email", "email", "email" },
	{ "file", NULL, NULL },
	/* HTTP providers: the address field is their preset's (chan_http.h) */
	{ "sms", "phone", "sms" },
	{ "push", "attr.push_token", "push" },
	{ "telegram", "attr.telegram_chat_id", "telegram" },
	{ "whatsapp", "phone", "whatsapp" },
	{ "viber", "attr.viber_id", "viber" },
	{ "webhook", "id", "webhook" },
};

static const struct chan_info *chan_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(channels); i++)
		if (!strcmp(channels[i].name, name))
			return &channels[i];
	return NULL;
}

/* [tracking] (issue 13): url, the public base URL of crm-track, must be
 * an absolute http(s) URL that can stand in a header and an attribute
 * as it is; opens and utm are yes/no. */
static void read_tracking(struct sender *s)
{
	const char *u = conf_get(s->conf, "tracking", "url");

	if (u) {
		size_t n = strlen(u);
		int ok = n <= 200 && (!ascii_ncasecmp(u, "https://", 8) ||
				      !ascii_ncasecmp(u, "http://", 7));
		for (size_t i = 0; ok && i < n; i++)
			ok = (unsigned char)u[i] > ' ' && (unsigned char)u[i] < 0x7f &&
			     !strchr("\"'<>\\^`{|}?#", u[i]);
		if (!ok)
			crm_die(1, "%s: [tracking] url \"%s\": not an http:// or https:// URL of at "
				"most 200 characters without a query, fragment, space or quote",
				conf_name(s->conf), u);
		s->track_url = u;
	}
	s->track_opens = conf_flag(s->conf, "tracking", "opens");
	if (conf_flag(s->conf, "tracking", "utm")) {
		s->utm_source = conf_get(s->conf, "tracking", "utm_source");
		if (!s->utm_source || !*s->utm_source)
			s->utm_source = "crmkit";
	}
	if (s->track_opens && !s->track_url)
		crm_die(1, "%s: [tracking] opens = yes needs [tracking] url (where crm-track "
			"answers)", conf_name(s->conf));
}

/* The settings templates and planning need, read before anything is
 * checked or opened. */
static void read_settings(struct sender *s)
{
	s->unsub_url = conf_get(s->conf, "unsubscribe", "url");
	s->unsub_mailto = conf_get(s->conf, "unsubscribe", "mailto");
	s->from = conf_get(s->conf, "email", "from");
	s->envelope_from = conf_get(s->conf, "email", "envelope_from");
	s->msgid_domain = conf_get(s->conf, "email", "message_id_domain");
	supp_conf_read(s->conf, &s->supp);
	read_tracking(s);
	if (!s->msgid_domain && s->from) {
		struct sb name = SB_INIT, addr = SB_INIT;
		if (mime_split_address(s->from, &name, &addr) == 0 && strchr(addr.buf, '@'))
			s->msgid_domain = s->domain = xstrdup(strrchr(addr.buf, '@') + 1);
		sb_free(&name);
		sb_free(&addr);
	}
	if (!s->msgid_domain)
		s->msgid_domain = "crmkit.invalid";
}

/* Opens the channel (the SMTP connection is made on the first message). */
static int open_channel(struct sender *s)
{
	const struct send_opts *o = s->o;

	/* --concurrency: HTTP requests at once in a curl multi handle (the
	 * SMTP pool has connections of its own; the file channel writes one
	 * file in order) */
	if (o->concurrency > 1 && strcmp(o->channel, "file") && strcmp(o->channel, "email") &&
	    !s->dry_run) {
		s->nlanes = o->concurrency;
		s->lanes = xcalloc((size_t)s->nlanes, sizeof(*s->lanes));
		for (int k = 0; k < s->nlanes; k++)
			send_rendered_init(&s->lanes[k].r);
		if (!(s->multi = curl_multi_init()))
			crm_die(1, "cannot initialise libcurl");
		/* one connection per lane, kept open between messages */
		curl_multi_setopt(s->multi, CURLMOPT_MAXCONNECTS, (long)s->nlanes);
	}

	/* no [email] from: Message-IDs in the domain of a From: the template
	 * writes out, unless message_id_domain says */
	if (!s->from && !s->domain && !conf_get(s->conf, "email", "message_id_domain") &&
	    s->ntpl && tmpl_header_index(s->tpl[0].t, "From") >= 0) {
		const char *f = tmpl_header_source(s->tpl[0].t,
						   (size_t)tmpl_header_index(s->tpl[0].t, "From"));
		struct sb name = SB_INIT, addr = SB_INIT;
		if (!strstr(f, "{{") && mime_split_address(f, &name, &addr) == 0 &&
		    strchr(addr.buf, '@'))
			s->msgid_domain = s->domain = xstrdup(strrchr(addr.buf, '@') + 1);
		sb_free(&name);
		sb_free(&addr);
	}

	/* [dkim]: the keys are read and checked before anything is sent */
	if ((!strcmp(o->channel, "email") || (!strcmp(o->channel, "file") && o->mbox)) &&
	    dkim_signer_load(s->conf, s->from, &s->dkim) < 0)
		return 1;

	if (!strcmp(o->channel, "email") && !s->dry_run) {
		struct smtp_conf c = { 0 };

		c.url = conf_get(s->conf, "smtp", "url");
		c.user = conf_get(s->conf, "smtp", "user");
		c.password = conf_secret(s->conf, "smtp", "password");
		c.starttls = conf_flag(s->conf, "smtp", "starttls");
		c.insecure = conf_flag(s->conf, "smtp", "insecure");
		c.ca_file = conf_get(s->conf, "smtp", "ca_file");
		c.timeout = conf_count(s->conf, "smtp", "timeout", 3600);
		c.max_per_conn = (int)conf_count(s->conf, "smtp", "max_messages_per_connection",
						 1000000);
		c.max_hold = o->max_wait;
		c.verbose = crm_verbosity >= 4;
		if (!c.url) {
			crm_error("%s: no [smtp] url: where should e-mail go? (a crm.conf, "
				  "--config FILE or $CRM_CONFIG; see crm-send(1))", conf_name(s->conf));
			return 1;
		}
		if (!(s->smtp = smtp_pool_open(&c, o->concurrency)))
			return 1;
		/* VERP: bounces+TOKEN@domain, TOKEN naming the outbox row */
		s->verp = s->envelope_from &&
			  (!conf_get(s->conf, "email", "verp") || conf_flag(s->conf, "email", "verp"));
		if (s->verp) {
			const char *at = strrchr(s->envelope_from, '@');
			if (!at || at == s->envelope_from || at - s->envelope_from > 64 - 1 - 36) {
				crm_error("%s: [email] envelope_from \"%s\": VERP needs a local part of "
					  "1 to 27 characters before the @ (or verp = no)",
					  conf_name(s->conf), s->envelope_from);
				return 1;
			}
		}
		/* a From: header in each template is enough (crm-send.1) */
		for (int k = 0; !s->from && k < s->ntpl; k++)
			if (tmpl_header_index(s->tpl[k].t, "From") < 0) {
				crm_error("%s: no From address: the template has no From: header, "
					  "and %s no [email] from", s->tpl[k].path, conf_name(s->conf));
				return 1;
			}
	} else if (strcmp(o->channel, "email") && strcmp(o->channel, "file")) {
		/* an HTTP provider; its preset (or [CHANNEL] address) names
		 * the customer field that holds the address */
		struct sb a = SB_INIT;

		if (!(s->http = http_open(o->channel, s->conf, s->dry_run)))
			return 1;
		for (int k = 0; k < s->nlanes; k++)
			if (!(s->lanes[k].http = http_open(o->channel, s->conf, s->dry_run)))
				return 1;
		s->addr_kind = http_address_field(s->http);
		if (expr_field_sql(s->addr_kind, s->crm->now, &a) != 0) {
			crm_error("%s: [%s] address \"%s\" is not a customer field",
				  http_preset_path(s->http), o->channel, s->addr_kind);
			sb_free(&a);
			return 1;
		}
		free(s->addr_sql);
		s->addr_sql = a.buf;
	} else if (!strcmp(o->channel, "file")) {
		if (!o->output || !strcmp(o->output, "-")) {
			s->file = stdout;
		} else {
			if (!(s->file = fopen_private(o->output, 1)))
				crm_die_errno(1, "%s: cannot open", o->output);
		}
	}
	return 0;
}

/* ---- the campaign ------------------------------------------------------- */

/* The campaign's row, created on its first run with the options that
 * decide who is in which group; later runs must agree with them, or the
 * control group would no longer be comparable. */
static int campaign_setup(struct sender *s)
{
	const struct send_opts *o = s->o;
	sqlite3_stmt *st;
	struct sb set = SB_INIT;
	char now[20];
	int status = 0;

	sb_addf(&set, "{\"control\":%.6g,\"variants\":[", o->control_pct < 0 ? 0 : o->control_pct);
	for (int i = 0; i < o->nvariants; i++) {
		sb_addf(&set, "%s{\"name\":", i ? "," : "");
		json_quote(&set, o->variant[i].name, strlen(o->variant[i].name));
		sb_addf(&set, ",\"weight\":%.6g}", o->variant[i].weight);
	}
	sb_adds(&set, "]}");

	st = db_prepare(s->db, "SELECT id, channel, settings FROM campaigns WHERE name = ?");
	db_bind_text(st, 1, o->campaign, -1);
	if (db_row(st)) {
		const char *ch = (const char *)sqlite3_column_text(st, 1);
		const char *old = (const char *)sqlite3_column_text(st, 2);
		s->campaign_id = sqlite3_column_int64(st, 0);
		if (strcmp(ch, o->channel)) {
			crm_error("campaign \"%s\" sends on %s, not %s", o->campaign, ch, o->channel);
			status = CRM_EXIT_USAGE;
		} else if (!o->retry && old && strcmp(old, set.buf)) {
			crm_error("campaign \"%s\" was started with other --control or --variant "
				  "settings (%s); its groups cannot change", o->campaign, old);
			status = CRM_EXIT_USAGE;
		}
		sqlite3_finalize(st);
	} else {
		sqlite3_finalize(st);
		if (o->retry || o->resend_in_doubt) {
			/* a misspelt name must not start an empty campaign */
			crm_error("no campaign \"%s\" to continue (%s continues a campaign that was "
				  "sent before; crm-report campaigns lists them)", o->campaign,
				  o->retry ? "--retry" : "--resend-in-doubt");
			status = 1;
		} else {
			send_fmt_now(s, now);
			st = db_prepare(s->db, "INSERT INTO campaigns(name, channel, created_at, settings)"
					" VALUES (?, ?, ?, ?)");
			db_bind_text(st, 1, o->campaign, -1);
			db_bind_text(st, 2, o->channel, -1);
			db_bind_text(st, 3, now, -1);
			db_bind_text(st, 4, set.buf, -1);
			db_step_done(s->db, st);
			sqlite3_finalize(st);
			s->campaign_id = sqlite3_last_insert_rowid(s->db);
		}
	}
	sb_free(&set);
	return status;
}

/* ---- planning ----------------------------------------------------------- */

struct planner {
	struct sender *s;
	sqlite3_stmt *ins, *key;
	char now[20];
};

static void plan_one(struct planner *p, int64_t customer)
{
	struct sender *s = p->s;
	const struct send_opts *o = s->o;
	char ckey[64], hex[65], msgid[160];
	const char *ext = NULL, *grp = "treatment", *variant = NULL;
	struct sb b = SB_INIT;

	sqlite3_bind_int64(p->key, 1, customer);
	if (db_row(p->key) && sqlite3_column_text(p->key, 0))
		ext = (const char *)sqlite3_column_text(p->key, 0);
	snprintf(ckey, sizeof(ckey), "#%" PRId64, customer);
	sb_adds(&b, ext ? ext : ckey);
	sqlite3_reset(p->key);

	if (o->control_pct > 0 && unit_hash(o->campaign, "control", b.buf) * 100.0 < o->control_pct)
		grp = "control";
	if (o->nvariants > 1) {
		double total = 0, u, acc = 0;
		for (int i = 0; i < o->nvariants; i++)
			total += o->variant[i].weight;
		u = unit_hash(o->campaign, "variant", b.buf) * total;
		variant = o->variant[o->nvariants - 1].name;
		for (int i = 0; i < o->nvariants; i++) {
			acc += o->variant[i].weight;
			if (u < acc) {
				variant = o->variant[i].name;
				break;
			}
		}
	}
	/* the Message-ID / Idempotency-Key: stable for this row, unguessable */
	sb_reset(&b);
	sb_addf(&b, "%s%c%s%c%" PRId64, s->secret, 0, o->campaign, 0, customer);
	hash_sha256_hex(b.buf, b.len, hex);
	sb_free(&b);
	if (!strcmp(o->channel, "email") || !strcmp(o->channel, "file"))
		snprintf(msgid, sizeof(msgid), "<%.32s@%s>", hex, s->msgid_domain);
	else
		snprintf(msgid, sizeof(msgid), "%.32s", hex);

	sqlite3_bind_int64(p->ins, 1, s->campaign_id);
	sqlite3_bind_int64(p->ins, 2, customer);
	db_bind_text(p->ins, 3, o->channel, -1);
	db_bind_text(p->ins, 4, grp, -1);
	db_bind_text(p->ins, 5, variant, -1);
	db_bind_text(p->ins, 6, msgid, -1);
	db_bind_text(p->ins, 7, p->now, -1);
	s->planned += db_step_done(s->db, p->ins);
}

static void plan_cb(void *arg, int64_t customer)
{
	plan_one(arg, customer);
}

/* Plans every recipient of the inputs or the segment; returns the number
 * of input rows that named nobody, or -1 after a fatal error. */
static long plan(struct sender *s)
{
	const struct send_opts *o = s->o;
	struct planner p = { s, NULL, NULL, "" };
	long bad = 0;

	send_fmt_now(s, p.now);
	p.ins = db_prepare(s->db,
		"INSERT OR IGNORE INTO messages(campaign_id, customer_id, channel, grp, variant,"
		" status, message_id, planned_at, updated_at) VALUES (?, ?, ?, ?, ?, 'planned', ?, ?7, ?7)");
	p.key = db_prepare(s->db, "SELECT external_id FROM customers WHERE id = ?");

	if (o->segment) {
		if (seg_foreach(s->crm, o->segment, plan_cb, &p) < 0)
			bad = -1;
	} else {
		for (char **in = o->inputs; *in && bad >= 0; in++) {
			long b = who_read(s->db, *in, plan_cb, &p);
			bad = b < 0 ? -1 : bad + b;
		}
	}
	sqlite3_finalize(p.ins);
	sqlite3_finalize(p.key);
	s->unknown = bad > 0 ? bad : 0;
	return bad;
}

/* Deferred rows are printed once, at the end of the run, if they are
 * still deferred then (an in-run retry may have sent them). */
void send_remember_deferred(struct sender *s, int64_t id)
{
	sqlite3_stmt *t = send_cached(s, &s->deferred_st,
				 "INSERT OR IGNORE INTO temp.send_deferred VALUES (?)");
	sqlite3_bind_int64(t, 1, id);
	db_step_done(s->db, t);
}

static void emit_row(struct sender *s, const char *const vals[8])
{
	struct out_val r[8];

	for (int k = 0; k < s->ncols; k++)
		r[k] = (struct out_val){ .t = OUT_TEXT, .s = vals[k] ? vals[k] : "",
					 .len = vals[k] ? strlen(vals[k]) : 0 };
	out_row(s->out, r);
}

/* A result line. It is printed by send_flush_rows() once what it says is
 * committed, never while the run holds the write lock: a slow reader of
 * standard output must not keep every other writer of the base waiting.
 * (A dry run holds its transaction to the end anyway.) */
void send_print_row(struct sender *s, const char *const vals[8])
{
	if (!s->out)
		return;
	if (s->dry_run) {
		emit_row(s, vals);
		return;
	}
	for (int k = 0; k < 8; k++)
		sb_add(&s->pending, vals[k] ? vals[k] : "", (vals[k] ? strlen(vals[k]) : 0) + 1);
	s->npending++;
}

/* Prints the result lines kept by send_print_row(); when standard output
 * is closed (the reader went away), the run stops after the batch in
 * flight instead of ending with rows nobody chose. */
void send_flush_rows(struct sender *s)
{
	const char *p = s->pending.buf;

	for (long i = 0; i < s->npending && s->out; i++) {
		const char *vals[8];
		for (int k = 0; k < 8; k++) {
			vals[k] = p;
			p += strlen(p) + 1;
		}
		if (!out_error(s->out))
			emit_row(s, vals);
	}
	if (s->npending && s->out)
		out_flush(s->out);
	sb_reset(&s->pending);
	s->npending = 0;
	if (s->out && out_error(s->out) && !s->out_closed) {
		s->out_closed = out_error(s->out);
		s->stop = 1;
		snprintf(s->stop_reason, sizeof(s->stop_reason), "standard output: %s",
			 strerror(s->out_closed));
	}
}

/* Marks a claimed row as handed to the channel, before any of it goes:
 * a row still transmitting without this mark when its sender is gone was
 * never tried, and goes back to the queue instead of in_doubt. The mark
 * is committed without waiting for the disk (synchronous = NORMAL in WAL
 * mode): it survives the process being killed, which is what it is for;
 * after a crash of the machine, recovery takes every transmitting row of
 * the earlier boot as in doubt, marked or not. */
void send_mark_started(struct sender *s, struct item *it)
{
	sqlite3_stmt *st;
	char now[20];

	if (s->dry_run)
		return;
	send_fmt_now(s, now);
	/* one statement, its own transaction; every statement prepared
	 * once (the mark is per message: its cost is the engine's) */
	db_step_done(s->db, send_cached(s, &s->sync_normal, "PRAGMA synchronous = NORMAL"));
	st = send_cached(s, &s->started_st, "UPDATE messages SET sent_at = ? WHERE id = ?");
	db_bind_text(st, 1, now, -1);
	sqlite3_bind_int64(st, 2, it->id);
	db_step_done(s->db, st);
	db_step_done(s->db, send_cached(s, &s->sync_full, "PRAGMA synchronous = FULL"));
}

/* A refusal of the recipient at SMTP time is a bounce like one that comes
 * back later (supp.h): a "bounced" event with its kind, and for a hard one
 * the address's suppression. */
static void record_bounce(struct sender *s, const struct item *it, const char *nowt)
{
	char status[16], *props;
	enum bounce_kind k = supp_smtp_kind(it->reason, status);
	cJSON *p = cJSON_CreateObject();
	struct sb id = SB_INIT;
	sqlite3_stmt *st;

	if (k != BOUNCE_HARD && k != BOUNCE_SOFT)
		k = BOUNCE_POLICY;
	cJSON_AddStringToObject(p, "address", it->address);
	cJSON_AddStringToObject(p, "channel", s->o->channel);
	cJSON_AddStringToObject(p, "diagnostic", it->reason);
	cJSON_AddStringToObject(p, "kind", supp_kind_name(k));
	cJSON_AddStringToObject(p, "source", "smtp");
	if (status[0])
		cJSON_AddStringToObject(p, "status", status);
	props = cJSON_PrintUnformatted(p);
	cJSON_Delete(p);
	if (!props)
		crm_die(1, "out of memory");
	sb_addf(&id, "smtp:%s", it->message_id);
	st = send_cached(s, &s->record_ev,
			 "INSERT OR IGNORE INTO events(external_id, customer_id, type, occurred_at,"
			 " campaign, message_id, props) VALUES (?, ?, 'bounced', ?, ?, ?, ?)");
	db_bind_text(st, 1, id.buf, -1);
	sqlite3_bind_int64(st, 2, it->customer);
	db_bind_text(st, 3, nowt, -1);
	db_bind_text(st, 4, s->o->campaign, -1);
	db_bind_text(st, 5, it->message_id, -1);
	db_bind_text(st, 6, props, -1);
	db_step_done(s->db, st);
	free(props);
	sb_free(&id);
	if (k == BOUNCE_HARD) {
		struct supp_note n = {
			.channel = s->o->channel, .address = it->address, .reason = "bounced",
			.at = nowt, .message_id = it->message_id, .source = "smtp", .status = status,
		};
		supp_note(s->db, s->secret, &n);
	}
}

/* Records the outcomes of a batch, in a transaction that the next
 * send_claim() commits (one commit, one fsync, per batch) or flush()
 * does; their result lines are printed after that commit. */
static void record(struct sender *s, struct item *items, int n)
{
	sqlite3_stmt *up;
	char nowt[20], next[20];

	send_fmt_now(s, nowt);
	if (!s->dry_run) {
		db_begin(s->db);
		s->open_txn = 1;
	}
	up = send_cached(s, &s->record_up,
		"UPDATE messages SET status = ?2, reason = ?3, provider_id = ?4, next_at = ?5,"
		" sent_at = ?6, updated_at = ?6, claimed_by = NULL, attempts = attempts - ?7"
		" WHERE id = ?1");
	for (int i = 0; i < n; i++) {
		struct item *it = &items[i];
		const char *vals[8];

		if (!it->status) {	/* not transmitted (the run stopped) */
			it->status = "deferred";
			it->next_at = send_now(s);
			snprintf(it->reason, sizeof(it->reason), "not tried: the run stopped");
			it->untried = 1;
		}
		if (!strcmp(it->status, "deferred"))
			norm_fmt_time(it->next_at, next);
		sqlite3_bind_int64(up, 1, it->id);
		db_bind_text(up, 2, it->status, -1);
		db_bind_text(up, 3, it->reason[0] ? it->reason : NULL, -1);
		db_bind_text(up, 4, it->provider[0] ? it->provider : NULL, -1);
		db_bind_text(up, 5, !strcmp(it->status, "deferred") ? next : NULL, -1);
		db_bind_text(up, 6, nowt, -1);
		sqlite3_bind_int(up, 7, it->untried);
		db_step_done(s->db, up);
		if (it->bounce)
			record_bounce(s, it, nowt);
		vals[0] = it->ext;
		vals[1] = s->o->channel;
		vals[2] = it->status;
		vals[3] = it->reason;
		vals[4] = it->provider;
		vals[5] = it->message_id;
		vals[6] = it->variant;
		vals[7] = it->coupon ? it->coupon : "";
		s->recorded++;
		if (!strcmp(it->status, "deferred")) {
			send_remember_deferred(s, it->id);
		} else {
			send_print_row(s, vals);
			send_count(s, it->status);
		}
		if (crm_verbosity >= 2 && strcmp(it->status, "sent"))
			crm_info("customer %s: %s%s%s", it->ext[0] ? it->ext : "(no id)", it->status,
				 it->reason[0] ? ": " : "", it->reason);
	}
}

/* Commits what record() left open. */
static void flush(struct sender *s)
{
	if (s->open_txn) {
		db_commit(s->db);
		s->open_txn = 0;
	}
	send_flush_rows(s);
}

/* The time of the next deferred row of the campaign, or -1. */
static int64_t next_due(struct sender *s)
{
	sqlite3_stmt *st = db_prepare(s->db, "SELECT min(next_at) FROM messages"
				      " WHERE campaign_id = ? AND status = 'deferred'");
	int64_t t = -1;
	const char *why;

	sqlite3_bind_int64(st, 1, s->campaign_id);
	if (db_row(st) && sqlite3_column_text(st, 0)) {
		const char *v = (const char *)sqlite3_column_text(st, 0);
		if (norm_time(v, strlen(v), NULL, &t, &why) < 0)
			t = -1;
	}
	sqlite3_finalize(st);
	return t;
}

static void print_deferred(struct sender *s)
{
	sqlite3_stmt *st = db_prepare(s->db,
		"SELECT coalesce(c.external_id, ''), m.reason, m.next_at, m.message_id, m.variant,"
		" (SELECT k.code FROM coupons k WHERE k.message_id = m.id)"
		" FROM temp.send_deferred d JOIN messages m ON m.id = d.id"
		" JOIN customers c ON c.id = m.customer_id WHERE m.status = 'deferred' ORDER BY m.id");

	while (db_row(st)) {
		struct sb why = SB_INIT;
		const char *vals[8];
		sb_addf(&why, "%s (until %s)", sqlite3_column_type(st, 1) == SQLITE_NULL ? "deferred" :
			(const char *)sqlite3_column_text(st, 1), (const char *)sqlite3_column_text(st, 2));
		vals[0] = (const char *)sqlite3_column_text(st, 0);
		vals[1] = s->o->channel;
		vals[2] = "deferred";
		vals[3] = why.buf;
		vals[4] = "";
		vals[5] = (const char *)sqlite3_column_text(st, 3);
		vals[6] = (const char *)sqlite3_column_text(st, 4);
		vals[7] = (const char *)sqlite3_column_text(st, 5);
		send_print_row(s, vals);
		send_count(s, "deferred");
		sb_free(&why);
	}
	sqlite3_finalize(st);
}

/* ---- the run ---------------------------------------------------------------- */

static const char *const result_cols[] = {
	"id", "channel", "status", "reason", "provider_id", "message_id", "variant",
	"coupon",	/* when a template has {{coupon}} */
};

int send_run(struct crm *crm, const struct send_opts *o)
{
	struct sender s = { 0 };
	const struct chan_info *ci = chan_find(o->channel);
	struct item *items = NULL;
	struct progress *pg = NULL;
	int status = 0, batch = BATCH;
	long bad = 0;

#ifdef __GLIBC__
	/* each message frees buffers that glibc would give back to the
	 * system (brk, a TLB flush on every CPU) to take again for the next:
	 * keep up to 64 MiB (measured: half the CPU of a run) */
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
#endif
	s.crm = crm;
	s.o = o;
	s.db = crm->db;
	/* the SQL functions of the expression language: a template's money
	 * metrics (revenue, aov, revenue(...)) call crm_currency_k() */
	expr_register(s.db);
	s.dry_run = crm->dry_run;
	s.t0 = now_monotonic();
	sb_init(&s.buf);
	send_rendered_init(&s.r);
	if (!ci) {
		const char *names[ARRAY_SIZE(channels) + 1] = { 0 }, *sug;
		for (size_t i = 0; i < ARRAY_SIZE(channels); i++)
			names[i] = channels[i].name;
		if ((sug = str_suggest(o->channel, names)))
			crm_die(2, "unknown channel \"%s\"; did you mean \"%s\"?", o->channel, sug);
		crm_die(2, "unknown channel \"%s\" (email, file, sms, push, telegram, whatsapp, "
			"viber, webhook)", o->channel);
	}
	s.conf = conf_load(crm);
	s.secret = db_meta_get(s.db, "secret");
	if (!s.secret)
		crm_die(1, "%s: the database has no secret", crm->db_path);
	send_make_claimant(&s);
	s.addr_kind = ci->address;
	{
		struct sb a = SB_INIT;
		if (ci->address)
			expr_field_sql(ci->address, crm->now, &a);
		else
			sb_adds(&a, "coalesce(c.email, c.phone)");
		s.addr_sql = a.buf;
	}
	/* template errors first: they need no server to be found */
	read_settings(&s);
	if ((status = send_load_templates(&s)) || (status = open_channel(&s)))
		goto out;
	s.ncols = send_coupon_used(&s) ? 8 : 7;
	/* enough rows per claim to keep every connection busy, a multiple
	 * of them so that none idles at the end of a batch */
	if (o->concurrency > 1) {
		if (batch < 2 * o->concurrency)
			batch = 2 * o->concurrency;
		batch = (batch + o->concurrency - 1) / o->concurrency * o->concurrency;
	}
	if (o->rate > 0 && o->rate < batch)
		batch = o->rate < 1 ? 1 : (int)o->rate;
	items = xcalloc((size_t)batch, sizeof(*items));

	/* a dry run keeps this transaction open to the end and rolls back */
	db_begin(s.db);
	if ((status = campaign_setup(&s))) {
		db_rollback(s.db);
		goto out;
	}
	if (!o->retry)
		bad = plan(&s);
	if (bad < 0) {
		db_rollback(s.db);
		status = 1;
		goto out;
	}
	send_recover(&s);
	/* enough unused codes for every row that may need one */
	if ((status = send_coupon_check(&s))) {
		db_rollback(s.db);
		goto out;
	}
	if (!s.dry_run)
		db_commit(s.db);
	if (o->resend_in_doubt)
		db_exec(s.db, "CREATE TEMP TABLE send_tried(id INTEGER PRIMARY KEY)");
	db_exec(s.db, "CREATE TEMP TABLE send_deferred(id INTEGER PRIMARY KEY)");
	crm_info("campaign \"%s\": %ld new recipients planned", o->campaign, s.planned);

	/* result lines, unless the messages themselves go to stdout */
	if (s.file != stdout) {
		s.out = out_new(stdout, crm->format);
		out_columns(s.out, (size_t)s.ncols, result_cols);
		out_set_keep_going(s.out);	/* see send_flush_rows() */
	}
	{
		/* the bar counts the rows due now: new, deferred, in doubt */
		sqlite3_stmt *st = db_prepare(s.db, "SELECT count(*) FROM messages WHERE campaign_id = ?"
			" AND status IN ('planned', 'deferred', 'in_doubt')");
		sqlite3_bind_int64(st, 1, s.campaign_id);
		pg = progress_new(o->campaign, db_row(st) ?
				  sqlite3_column_int64(st, 0) : -1);
		sqlite3_finalize(st);
	}
	for (;;) {
		int ntx = 0, seen;

		progress_update(pg, s.recorded, (uint64_t)s.recorded);
		if (s.stop)
			break;
		seen = send_claim(&s, items, batch, &ntx);
		if (s.smtp)
			send_transmit_smtp(&s, items, ntx);
		else if (s.nlanes)
			send_transmit_lanes(&s, items, ntx);
		else
			send_transmit(&s, items, ntx);
		if (ntx)
			record(&s, items, ntx);
		for (int i = 0; i < ntx; i++)
			send_item_free(&s, &items[i]);
		if (seen)
			continue;
		flush(&s);
		if (o->limit >= 0 && s.transmitted >= o->limit)
			break;
		/* nothing due now: wait for a retry if it is soon */
		int64_t due = next_due(&s), now = send_now(&s);
		if (due < 0 || s.dry_run || (double)(due - now) > o->max_wait)
			break;
		if (due > now)
			sleep_seconds((double)(due - now));
	}
	flush(&s);
	progress_end(pg);
	print_deferred(&s);
	send_flush_rows(&s);
	if (s.out)
		out_finish(s.out);
	if (s.dry_run)
		db_rollback(s.db);

	fprintf(stderr, "%s: campaign \"%s\": %ld planned, %ld sent, %ld control, %ld suppressed,"
		" %ld deferred, %ld bounced, %ld failed, %ld in doubt%s\n", crm_progname,
		o->campaign, s.planned, s.counts[0], s.counts[1], s.counts[2], s.counts[3],
		s.counts[4], s.counts[5], s.counts[6], s.dry_run ? " (dry run: nothing sent or recorded)" : "");
	if (s.out_closed) {
		crm_error("stopped: standard output was closed (%s); the messages in flight are "
			  "recorded and nothing is left transmitting; crm-send --retry --campaign %s "
			  "sends the rest", strerror(s.out_closed), o->campaign);
		status = 1;
	} else if (s.stop) {
		crm_error("stopped: %s", s.stop_reason);
		status = 1;
	} else if (bad > 0 || s.counts[5] > 0) {
		status = CRM_EXIT_PARTIAL;
	}
out:
	for (int i = 0; i < s.ntpl; i++) {
		tmpl_free(s.tpl[i].t);
		free(s.tpl[i].name);
		free(s.tpl[i].path);
	}
	for (size_t i = 0; i < s.nnames; i++)
		free(s.names[i]);
	free(s.names);
	free(s.addr_sql);
	expr_free(s.consent_e);
	{
		sqlite3_stmt *sts[] = { s.claim_st, s.claim_up, s.record_up, s.record_ev,
					s.supp_st, s.deferred_st, s.tried_st, s.started_st,
					s.sync_normal, s.sync_full };
		for (size_t i = 0; i < ARRAY_SIZE(sts); i++)
			sqlite3_finalize(sts[i]);
	}
	free(s.claim_sql);
	send_coupon_free(&s);
	smtp_pool_close(s.smtp);
	http_close(s.http);
	if (s.file && s.file != stdout)
		fclose(s.file);
	conf_free(s.conf);
	dkim_signer_free(s.dkim);
	free(s.domain);
	if (s.secret) {
		memset(s.secret, 0, strlen(s.secret));
		free(s.secret);
	}
	sb_free(&s.buf);
	sb_free(&s.pending);
	free(items);
	send_rendered_free(&s.r);
	for (int k = 0; k < s.nlanes; k++) {
		http_close(s.lanes[k].http);
		send_rendered_free(&s.lanes[k].r);
	}
	free(s.lanes);
	if (s.multi)
		curl_multi_cleanup(s.multi);
	return status;
}
