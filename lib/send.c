#include "send.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chan.h"
#include "chan_http.h"
#include "conf.h"
#include "db.h"
#include "diag.h"
#include "erase.h"
#include "expr.h"
#include "hash.h"
#include "mime.h"
#include "norm.h"
#include "out.h"
#include "progress.h"
#include "rec.h"
#include "seg.h"
#include "tmpl.h"
#include "util.h"
#include "who.h"

/* Rows claimed (marked transmitting) per transaction: after a crash, at
 * most this many become in_doubt, at the cost of two commits per batch. */
#define BATCH 10

/* Names a template may use besides customer fields, metrics and scores. */
static const char *const specials[] = {
	"campaign", "channel", "message_id", "variant", "unsubscribe_url", NULL,
};
enum { SP_CAMPAIGN, SP_CHANNEL, SP_MESSAGE_ID, SP_VARIANT, SP_UNSUBSCRIBE, SP_N };

/* One claimed row, with what rendering and policy need. */
struct item {
	int64_t id;            /* messages.id */
	int64_t customer;
	char *ext;             /* external id (or "" ) */
	char *address;
	char *message_id;
	char *variant;
	int vi;                /* index into s->tpl */
	int attempts;
	char **vals;           /* values of s->names, NULL when missing */
	char *unsub;           /* the unsubscribe URL, or NULL */
	/* outcome */
	const char *status;
	char reason[256];
	char provider[256];
	int64_t next_at;
	int bounce;            /* suppress the address */
	int untried;           /* never reached the server: no attempt spent */
};

/* One rendered message: the subject, text and HTML parts, and for e-mail
 * (and mbox) the whole RFC 5322 message and its From address. */
struct rendered {
	struct sb subj, text, html, msg, from_addr;
};

/* A connection of its own, for --concurrency: the channel's handle, the
 * message it is transmitting (NULL when idle), and that message. */
struct lane {
	struct smtp *smtp;
	struct http_provider *http;
	struct item *it;
	struct http_msg hm;
	struct rendered r;
};

static void rendered_init(struct rendered *b)
{
	sb_init(&b->subj);
	sb_init(&b->text);
	sb_init(&b->html);
	sb_init(&b->msg);
	sb_init(&b->from_addr);
}

static void rendered_free(struct rendered *b)
{
	sb_free(&b->subj);
	sb_free(&b->text);
	sb_free(&b->html);
	sb_free(&b->msg);
	sb_free(&b->from_addr);
}

struct tpl {
	char *name;
	char *path;
	struct tmpl *t;
	double weight;
};

struct sender {
	struct crm *crm;
	const struct send_opts *o;
	sqlite3 *db;
	struct conf *conf;
	int64_t campaign_id;
	char claimant[160];
	char *secret;
	double t0;

	struct tpl tpl[SEND_MAX_VARIANTS];
	int ntpl;
	char **names;         /* field names the templates use */
	size_t nnames;
	int uses_unsub;

	const char *addr_kind; /* what the address column is */
	char *addr_sql;
	struct expr *consent_e;
	/* statements prepared once per run (see cached()) */
	sqlite3_stmt *claim_st, *claim_up, *record_up, *record_sup, *supp_st;
	sqlite3_stmt *deferred_st, *tried_st;
	char *claim_sql;          /* the text claim_st was prepared from */
	double last_tx;           /* monotonic time of the last transmission */
	/* local time per time zone for the claim at tz_t (quiet hours) */
	struct { char *tz; int minutes; } tz_cache[16];
	int tz_n;
	int64_t tz_t;

	/* email */
	struct smtp *smtp;
	/* sms, push, telegram, whatsapp, viber, webhook */
	struct http_provider *http;
	const char *from, *envelope_from, *unsub_url, *unsub_mailto, *msgid_domain;
	char *domain;
	/* file */
	FILE *file;

	/* --concurrency N > 1: N lanes in a curl multi handle */
	CURLM *multi;
	struct lane *lanes;
	int nlanes;

	struct out *out;
	struct sb buf;
	struct rendered r;        /* the message being sent, one at a time */

	long planned, unknown, transmitted;
	long recorded;            /* rows recorded in this run, deferred too */
	int open_txn;             /* record()'s transaction, not committed yet */
	long counts[16];
	int stop;              /* a failure that every further message would hit */
	char stop_reason[256];
	int dry_run;
};

static const char *const states[] = {
	"sent", "control", "suppressed", "deferred", "bounced", "failed", "in_doubt", NULL,
};

static void count(struct sender *s, const char *status)
{
	for (int i = 0; states[i]; i++)
		if (!strcmp(states[i], status))
			s->counts[i]++;
}

/* A statement prepared on first use and kept for the run: claims, records
 * and lookups run per row or per batch, and preparing them again each time
 * was most of their cost. Callers reset what they step. */
static sqlite3_stmt *cached(struct sender *s, sqlite3_stmt **slot, const char *sql)
{
	if (!*slot)
		*slot = db_prepare(s->db, sql);
	return *slot;
}

/* ---- time ------------------------------------------------------------ */

/* The run's clock: --now plus the time the run has taken, so that
 * deferrals and caps move forward during a long run even when --now is
 * fixed. */
static int64_t now_s(const struct sender *s)
{
	return s->crm->now + (int64_t)(now_monotonic() - s->t0);
}

static void fmt_now(const struct sender *s, char buf[20])
{
	norm_fmt_time(now_s(s), buf);
}

/* ---- the claimant: who holds a transmitting row ----------------------- */

/* "host:pid:start": the start time (in clock ticks since boot, from
 * /proc) tells a live process from a later one that got the same pid. */
static void proc_start(long pid, char *out, size_t n)
{
	char path[64], buf[1024];
	FILE *fp;
	size_t len;
	char *p;

	snprintf(out, n, "?");
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if (!(fp = fopen(path, "r")))
		return;
	len = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[len] = 0;
	/* field 22, counted after the ")" that ends the command name */
	if (!(p = strrchr(buf, ')')))
		return;
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (p)
		snprintf(out, n, "%.*s", (int)strcspn(p + 1, " "), p + 1);
}

static void make_claimant(struct sender *s)
{
	char host[64] = "localhost", start[32];

	gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = 0;
	proc_start((long)getpid(), start, sizeof(start));
	snprintf(s->claimant, sizeof(s->claimant), "%s:%ld:%s", host, (long)getpid(), start);
}

/* Is the process that wrote claimant (on this host) still running? */
static int claimant_alive(const char *claimant)
{
	char host[64] = "localhost", start[32], want[64];
	const char *c1 = strchr(claimant, ':'), *c2;
	long pid;

	gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = 0;
	if (!c1 || strncmp(claimant, host, (size_t)(c1 - claimant)) ||
	    strlen(host) != (size_t)(c1 - claimant))
		return 1; /* another host: cannot tell, assume alive */
	if (!(c2 = strchr(c1 + 1, ':')))
		return 0;
	pid = strtol(c1 + 1, NULL, 10);
	snprintf(want, sizeof(want), "%s", c2 + 1);
	proc_start(pid, start, sizeof(start));
	return strcmp(start, "?") && !strcmp(start, want);
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

/* ---- templates ---------------------------------------------------------- */

static char *read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	struct sb b = SB_INIT;
	char buf[65536];
	size_t n;

	if (!fp)
		crm_die_errno(1, "%s: cannot open the template", path);
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0) {
		sb_add(&b, buf, n);
		if (b.len > TMPL_MAX_LEN)
			crm_die(1, "%s: template larger than %u bytes", path, TMPL_MAX_LEN);
	}
	if (ferror(fp))
		crm_die_errno(1, "%s: cannot read the template", path);
	fclose(fp);
	*len = b.len;
	return b.buf ? b.buf : xstrdup("");
}

static int special_index(const char *name)
{
	for (int i = 0; specials[i]; i++)
		if (!strcmp(specials[i], name))
			return i;
	return -1;
}

static size_t name_index(struct sender *s, const char *name)
{
	for (size_t i = 0; i < s->nnames; i++)
		if (!strcmp(s->names[i], name))
			return i;
	return (size_t)-1;
}

/* Parses every template and checks every name it uses before anything
 * is planned or sent. Returns 0 or an exit status. */
static int load_templates(struct sender *s)
{
	const struct send_opts *o = s->o;
	int status = 0;

	for (int v = 0; v < o->nvariants; v++) {
		struct tmpl_err err;
		size_t len;
		char *text = read_file(o->variant[v].path, &len);
		struct tpl *t = &s->tpl[s->ntpl++];

		t->name = xstrdup(o->variant[v].name);
		t->path = xstrdup(o->variant[v].path);
		t->weight = o->variant[v].weight;
		t->t = tmpl_parse(text, len, &err);
		free(text);
		if (!t->t) {
			crm_error("%s:%d:%d: %s", t->path, err.line, err.col, err.msg);
			status = CRM_EXIT_USAGE;
			continue;
		}
		for (size_t i = 0; i < tmpl_nnames(t->t); i++) {
			int line, col, rc;
			const char *name = tmpl_name(t->t, i, &line, &col);
			struct sb sql = SB_INIT;

			if (special_index(name) >= 0) {
				if (special_index(name) == SP_UNSUBSCRIBE)
					s->uses_unsub = 1;
				continue;
			}
			rc = expr_field_sql(name, s->crm->now, &sql);
			sb_free(&sql);
			if (rc == -1) {
				crm_error("%s:%d:%d: unknown field \"%s\"", t->path, line, col, name);
				status = CRM_EXIT_USAGE;
			} else if (rc == -2) {
				crm_error("%s:%d:%d: field \"%s\" is not available yet", t->path,
					  line, col, name);
				status = CRM_EXIT_USAGE;
			} else if (name_index(s, name) == (size_t)-1) {
				s->names = xrealloc(s->names, (s->nnames + 1) * sizeof(*s->names));
				s->names[s->nnames++] = xstrdup(name);
			}
		}
		for (size_t h = 0; t->t && h < tmpl_nheaders(t->t); h++) {
			const char *name = tmpl_header_name(t->t, h);
			if (mime_header_reserved(name) && ascii_casecmp(name, "Subject") &&
			    ascii_casecmp(name, "From") && ascii_casecmp(name, "Reply-To")) {
				crm_error("%s: the header %s is set by crm-send, not by templates",
					  t->path, name);
				status = CRM_EXIT_USAGE;
			}
		}
		if (!strcmp(o->channel, "email") && t->t) {
			if (tmpl_header_index(t->t, "Subject") < 0) {
				crm_error("%s: an e-mail template needs a Subject: header", t->path);
				status = CRM_EXIT_USAGE;
			}
			if (!tmpl_has_text(t->t) && !tmpl_has_html(t->t)) {
				crm_error("%s: the template has no body", t->path);
				status = CRM_EXIT_USAGE;
			}
		} else if (t->t && !tmpl_has_text(t->t)) {
			crm_error("%s: a %s message needs a text body", t->path, o->channel);
			status = CRM_EXIT_USAGE;
		}
	}
	if (!status && s->uses_unsub && !s->unsub_url) {
		crm_error("the template uses {{unsubscribe_url}}, but the configuration has no "
			  "[unsubscribe] url");
		status = CRM_EXIT_USAGE;
	}
	return status;
}

static int conf_flag(const struct conf *c, const char *section, const char *key)
{
	const char *v = conf_get(c, section, key), *why;
	int b = 0;

	if (v && norm_bool(v, strlen(v), &b, &why) < 0)
		crm_die(1, "%s: [%s] %s: %s", conf_name(c), section, key, why);
	return b;
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

/* The settings templates and planning need, read before anything is
 * checked or opened. */
static void read_settings(struct sender *s)
{
	s->unsub_url = conf_get(s->conf, "unsubscribe", "url");
	s->unsub_mailto = conf_get(s->conf, "unsubscribe", "mailto");
	s->from = conf_get(s->conf, "email", "from");
	s->envelope_from = conf_get(s->conf, "email", "envelope_from");
	s->msgid_domain = conf_get(s->conf, "email", "message_id_domain");
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

	/* --concurrency: connections of their own in a curl multi handle
	 * (e-mail and HTTP; the file channel writes one file in order) */
	if (o->concurrency > 1 && strcmp(o->channel, "file") && !s->dry_run) {
		s->nlanes = o->concurrency;
		s->lanes = xcalloc((size_t)s->nlanes, sizeof(*s->lanes));
		for (int k = 0; k < s->nlanes; k++)
			rendered_init(&s->lanes[k].r);
		if (!(s->multi = curl_multi_init()))
			crm_die(1, "cannot initialise libcurl");
		/* one connection per lane, kept open between messages */
		curl_multi_setopt(s->multi, CURLMOPT_MAXCONNECTS, (long)s->nlanes);
	}

	if (!strcmp(o->channel, "email") && !s->dry_run) {
		struct smtp_conf c = { 0 };
		const char *v;

		c.url = conf_get(s->conf, "smtp", "url");
		c.user = conf_get(s->conf, "smtp", "user");
		c.password = conf_secret(s->conf, "smtp", "password");
		c.starttls = conf_flag(s->conf, "smtp", "starttls");
		c.insecure = conf_flag(s->conf, "smtp", "insecure");
		c.ca_file = conf_get(s->conf, "smtp", "ca_file");
		if ((v = conf_get(s->conf, "smtp", "timeout")))
			c.timeout = strtol(v, NULL, 10);
		c.verbose = crm_verbosity >= 4;
		if (!c.url) {
			crm_error("%s: no [smtp] url: where should e-mail go? (a crm.conf, "
				  "--config FILE or $CRM_CONFIG; see crm-send(1))", conf_name(s->conf));
			return 1;
		}
		if (!(s->smtp = smtp_open(&c)))
			return 1;
		for (int k = 0; k < s->nlanes; k++)
			if (!(s->lanes[k].smtp = smtp_open(&c)))
				return 1;
		if (!s->envelope_from && !s->from) {
			crm_error("%s: no [email] from address", conf_name(s->conf));
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
		if (o->retry) {
			crm_error("no campaign \"%s\" to continue", o->campaign);
			status = 1;
		} else {
			fmt_now(s, now);
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

	fmt_now(s, p.now);
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

/* ---- recovery ----------------------------------------------------------- */

/* Rows left transmitting by a process that is gone: the message may or may
 * not have reached the server, so they become in_doubt. */
static void recover(struct sender *s)
{
	sqlite3_stmt *st = db_prepare(s->db,
		"SELECT id, claimed_by FROM messages WHERE campaign_id = ? AND status = 'transmitting'");
	sqlite3_stmt *up = db_prepare(s->db,
		"UPDATE messages SET status = 'in_doubt', reason = 'interrupted while transmitting',"
		" updated_at = ? WHERE id = ? AND status = 'transmitting'");
	char now[20];
	long n = 0;

	fmt_now(s, now);
	sqlite3_bind_int64(st, 1, s->campaign_id);
	while (db_row(st)) {
		const char *by = (const char *)sqlite3_column_text(st, 1);
		if (by && claimant_alive(by))
			continue;
		db_bind_text(up, 1, now, -1);
		sqlite3_bind_int64(up, 2, sqlite3_column_int64(st, 0));
		n += db_step_done(s->db, up);
	}
	sqlite3_finalize(st);
	sqlite3_finalize(up);
	if (n)
		crm_warn("%ld message%s of campaign \"%s\" were being transmitted by a process that "
			 "stopped: marked in_doubt (crm-send --resend-in-doubt sends them again)",
			 n, n == 1 ? "" : "s", s->o->campaign);
}

/* ---- claiming ------------------------------------------------------------- */

static void item_free(struct sender *s, struct item *it)
{
	free(it->ext);
	free(it->address);
	free(it->message_id);
	free(it->variant);
	free(it->unsub);
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

/* Minutes after local midnight at t in time zone tz (IANA name; empty or
 * unknown: the process's TZ). Switching TZ means tzset(), which reads the
 * zone file: the answer is kept per zone for the t of the current claim. */
static int local_minutes(struct sender *s, const char *tz, int64_t t)
{
	static char *saved;
	static int saved_set;
	time_t tt = (time_t)t;
	struct tm tm;
	const char *key = tz ? tz : "";

	if (t != s->tz_t) {
		for (int i = 0; i < s->tz_n; i++)
			free(s->tz_cache[i].tz);
		s->tz_n = 0;
		s->tz_t = t;
	}
	for (int i = 0; i < s->tz_n; i++)
		if (!strcmp(s->tz_cache[i].tz, key))
			return s->tz_cache[i].minutes;
	if (!saved_set) {
		const char *e = getenv("TZ");
		saved = e ? xstrdup(e) : NULL;
		saved_set = 1;
	}
	if (*key) {
		setenv("TZ", key, 1);
		tzset();
	}
	localtime_r(&tt, &tm);
	if (*key) {
		if (saved)
			setenv("TZ", saved, 1);
		else
			unsetenv("TZ");
		tzset();
	}
	if (s->tz_n < (int)ARRAY_SIZE(s->tz_cache)) {
		s->tz_cache[s->tz_n].tz = xstrdup(key);
		s->tz_cache[s->tz_n].minutes = tm.tm_hour * 60 + tm.tm_min;
		s->tz_n++;
	}
	return tm.tm_hour * 60 + tm.tm_min;
}

/* When quiet, the seconds until the quiet hours end; else 0. */
static int64_t quiet_wait(struct sender *s, const char *tz, int64_t t)
{
	const struct send_opts *o = s->o;
	int m, from = o->quiet_from, to = o->quiet_to, in;

	if (from < 0)
		return 0;
	m = local_minutes(s, tz, t);
	in = from <= to ? (m >= from && m < to) : (m >= from || m < to);
	if (!in)
		return 0;
	return (int64_t)(((to - m) + 1440) % 1440) * 60 - (t % 60);
}

static int address_suppressed(struct sender *s, const char *addr)
{
	char h[65];
	sqlite3_stmt *st = cached(s, &s->supp_st,
				  "SELECT 1 FROM address_suppressions WHERE hash = ?");
	int found;

	erase_hash(s->secret, s->o->channel, addr, h);
	db_bind_text(st, 1, h, -1);
	found = db_row(st);
	sqlite3_reset(st);
	return found;
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
	/* an explicit unsubscribe (an "unsubscribed" event for the channel,
	 * such as a List-Unsubscribe click, after the latest grant) stops
	 * every message on the channel, transactional ones too */
	sb_addf(&sql, "SELECT m.id, m.customer_id, m.grp, m.variant, m.message_id, m.attempts,"
		" coalesce(c.external_id, ''), c.erased_at IS NOT NULL, %s, c.timezone, %s,"
		" EXISTS (SELECT 1 FROM events e WHERE e.customer_id = c.id"
		"  AND e.type = 'unsubscribed' AND e.occurred_at <= ?2"
		"  AND coalesce(lower(json_extract(e.props, '$.channel')), ?5) = ?5"
		"  AND e.occurred_at > coalesce((SELECT max(k.recorded_at) FROM consents k"
		"   WHERE k.customer_id = c.id AND k.channel = ?5 AND k.granted = 1), '')),"
		" (SELECT count(*) FROM messages x WHERE x.customer_id = c.id AND x.channel = ?5"
		"  AND x.status = 'sent' AND x.sent_at > ?4)",
		s->addr_sql, s->consent_e ? expr_sql(s->consent_e) : "1");
	for (size_t i = 0; i < s->nnames; i++) {
		struct sb v = SB_INIT;
		expr_field_sql(s->names[i], now, &v);
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

static void unsub_url(struct sender *s, struct item *it)
{
	char mac[65];
	struct sb b = SB_INIT;
	const char *id = it->message_id;
	size_t n = strlen(id);

	if (!s->unsub_url)
		return;
	if (n >= 2 && id[0] == '<')
		id++, n -= 2;
	sb_addf(&b, "unsubscribe:%.*s", (int)n, id);
	hash_hmac_hex(s->secret, strlen(s->secret), b.buf, b.len, mac);
	sb_reset(&b);
	sb_addf(&b, "%s%s", s->unsub_url, strchr(s->unsub_url, '?') ? "&" : "?");
	sb_adds(&b, "m=");
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)id[i];
		if (isalnum(ch) || strchr("-._~", ch))
			sb_addc(&b, (char)ch);
		else
			sb_addf(&b, "%%%02X", ch);
	}
	sb_addf(&b, "&t=%.32s", mac);
	it->unsub = b.buf;
}

/* Deferred rows are printed once, at the end of the run, if they are
 * still deferred then (an in-run retry may have sent them). */
static void remember_deferred(struct sender *s, int64_t id)
{
	sqlite3_stmt *t = cached(s, &s->deferred_st,
				 "INSERT OR IGNORE INTO temp.send_deferred VALUES (?)");
	sqlite3_bind_int64(t, 1, id);
	db_step_done(s->db, t);
}

static void print_row(struct sender *s, const char *const vals[7])
{
	struct out_val r[7];

	if (!s->out)
		return;
	for (int k = 0; k < 7; k++)
		r[k] = (struct out_val){ .t = OUT_TEXT, .s = vals[k] ? vals[k] : "",
					 .len = vals[k] ? strlen(vals[k]) : 0 };
	out_row(s->out, r);
}

static const char transmitting[] = "transmitting";

/*
 * Claims up to n due rows in one write transaction; the ones to transmit
 * are returned in items (the rest are recorded and printed here).
 * Returns the number of rows looked at (0: nothing due).
 */
static int claim(struct sender *s, struct item *items, int n, int *ntx)
{
	const struct send_opts *o = s->o;
	int64_t now = now_s(s);
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
	up = cached(s, &s->claim_up,
		"UPDATE messages SET status = ?2, reason = ?3, address = ?4, next_at = ?5,"
		" claimed_by = ?6, attempts = attempts + ?7, sent_at = ?8, updated_at = ?9"
		" WHERE id = ?1");

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct item it = { 0 };
		const char *grp = (const char *)sqlite3_column_text(st, 2);
		const char *tz = (const char *)sqlite3_column_text(st, 9);
		int erased = sqlite3_column_int(st, 7);
		int consent = sqlite3_column_type(st, 10) != SQLITE_NULL && sqlite3_column_int(st, 10);
		int unsub = sqlite3_column_type(st, 11) != SQLITE_NULL && sqlite3_column_int(st, 11);
		int capped = o->cap_n && sqlite3_column_int(st, 12) >= o->cap_n;
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
		else if (s->addr_kind && address_suppressed(s, it.address))
			status = "suppressed", reason = "bounced";
		else if (unsub)
			status = "suppressed", reason = "unsubscribed";
		else if (o->consent && !o->transactional && !consent)
			status = "suppressed", reason = "no_consent";
		else if (capped)
			status = "suppressed", reason = "cap";
		else if (!strcmp(grp, "control"))
			status = "control";
		else if ((wait = quiet_wait(s, tz, now)) > 0) {
			status = "deferred", reason = "quiet_hours";
			norm_fmt_time(now + wait, next);
		} else
			status = transmitting;

		tx = status == transmitting;
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
			const char *vals[7] = { it.ext, o->channel, status, reason, "",
						it.message_id, it.variant };
			if (!strcmp(status, "deferred"))
				remember_deferred(s, it.id);
			else {
				print_row(s, vals);
				count(s, status);
			}
			item_free(s, &it);
			continue;
		}
		it.vi = 0;
		for (int v = 0; v < s->ntpl; v++)
			if (it.variant && !strcmp(s->tpl[v].name, it.variant))
				it.vi = v;
		it.vals = xcalloc(s->nnames + 1, sizeof(char *));
		for (size_t i = 0; i < s->nnames; i++)
			it.vals[i] = col_dup(st, 13 + (int)i);
		it.attempts++;
		unsub_url(s, &it);
		if (s->o->resend_in_doubt) {	/* once per run */
			sqlite3_stmt *t = cached(s, &s->tried_st,
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
	return seen;
}

/* ---- rendering ------------------------------------------------------------ */

struct render_ctx {
	struct sender *s;
	struct item *it;
};

static const char *lookup(void *arg, const char *name, size_t *len)
{
	struct render_ctx *c = arg;
	struct sender *s = c->s;
	const char *v = NULL;
	size_t i;

	switch (special_index(name)) {
	case SP_CAMPAIGN: v = s->o->campaign; break;
	case SP_CHANNEL: v = s->o->channel; break;
	case SP_MESSAGE_ID: v = c->it->message_id; break;
	case SP_VARIANT: v = c->it->variant; break;
	case SP_UNSUBSCRIBE: v = c->it->unsub; break;
	default:
		if ((i = name_index(s, name)) != (size_t)-1)
			v = c->it->vals[i];
	}
	if (v)
		*len = strlen(v);
	return v;
}

/* Renders the item into b->msg: the RFC 5322 message (e-mail, mbox), or
 * fills b->subj/text/html (other channels). Returns 0, or -1 with
 * it->reason set. */
static int render(struct sender *s, struct item *it, struct rendered *b)
{
	const struct tmpl *t = s->tpl[it->vi].t;
	struct render_ctx c = { s, it };
	struct sb from = SB_INIT, fname = SB_INIT, faddr = SB_INIT, reply = SB_INIT;
	struct sb rname = SB_INIT, raddr = SB_INIT;
	const char *why = NULL;
	struct mime_header extra[TMPL_MAX_HEADERS + 4];
	struct sb hv[TMPL_MAX_HEADERS];
	size_t nextra = 0, nh = tmpl_nheaders(t);
	long i;
	int rc = 0;

	for (size_t h = 0; h < nh && h < TMPL_MAX_HEADERS; h++)
		sb_init(&hv[h]);
	sb_reset(&b->subj);
	sb_reset(&b->text);
	sb_reset(&b->html);
	sb_reset(&b->msg);
	if ((i = tmpl_header_index(t, "Subject")) >= 0)
		tmpl_render_header(t, (size_t)i, lookup, &c, &b->subj);
	if (tmpl_has_text(t))
		tmpl_render_text(t, lookup, &c, &b->text);
	if (tmpl_has_html(t))
		tmpl_render_html(t, lookup, &c, &b->html);
	if (strcmp(s->o->channel, "email") && !(s->file && s->o->mbox))
		return 0;

	if ((i = tmpl_header_index(t, "From")) >= 0)
		tmpl_render_header(t, (size_t)i, lookup, &c, &from);
	else if (s->from)
		sb_adds(&from, s->from);
	if (!from.len || mime_split_address(from.buf, &fname, &faddr) < 0) {
		snprintf(it->reason, sizeof(it->reason), "no From address");
		rc = -1;
		goto out;
	}
	sb_reset(&b->from_addr);
	sb_add(&b->from_addr, faddr.buf, faddr.len);
	if ((i = tmpl_header_index(t, "Reply-To")) >= 0) {
		tmpl_render_header(t, (size_t)i, lookup, &c, &reply);
		if (mime_split_address(reply.buf, &rname, &raddr) < 0) {
			snprintf(it->reason, sizeof(it->reason), "invalid Reply-To address");
			rc = -1;
			goto out;
		}
	}
	for (size_t h = 0; h < nh && h < TMPL_MAX_HEADERS; h++) {
		const char *name = tmpl_header_name(t, h);
		if (!ascii_casecmp(name, "Subject") || !ascii_casecmp(name, "From") ||
		    !ascii_casecmp(name, "Reply-To") || !ascii_casecmp(name, "To") ||
		    !ascii_casecmp(name, "Preheader"))
			continue;
		tmpl_render_header(t, h, lookup, &c, &hv[h]);
		extra[nextra].name = name;
		extra[nextra].value = hv[h].buf ? hv[h].buf : "";
		nextra++;
	}
	if (it->unsub) {
		sb_reset(&s->buf);
		sb_addf(&s->buf, "<%s>", it->unsub);
		if (s->unsub_mailto)
			sb_addf(&s->buf, ", <mailto:%s?subject=unsubscribe>", s->unsub_mailto);
		extra[nextra].name = "List-Unsubscribe";
		extra[nextra].value = s->buf.buf;
		nextra++;
		extra[nextra].name = "List-Unsubscribe-Post";
		extra[nextra].value = "List-Unsubscribe=One-Click";
		nextra++;
	}
	{
		struct mime_msg m = {
			.from_name = fname.len ? fname.buf : NULL, .from_addr = faddr.buf,
			.to_addr = it->address,
			.reply_to_name = rname.len ? rname.buf : NULL,
			.reply_to_addr = raddr.len ? raddr.buf : NULL,
			.subject = b->subj.buf ? b->subj.buf : "",
			.message_id = it->message_id,
			.date = now_s(s),
			.text = tmpl_has_text(t) ? (b->text.buf ? b->text.buf : "") : NULL,
			.text_len = b->text.len,
			.html = tmpl_has_html(t) ? (b->html.buf ? b->html.buf : "") : NULL,
			.html_len = b->html.len,
			.headers = extra, .nheaders = nextra,
		};
		if (mime_build(&b->msg, &m, &why) < 0) {
			snprintf(it->reason, sizeof(it->reason), "cannot build the message: %s",
				 why ? why : "invalid");
			rc = -1;
		}
	}
out:
	for (size_t h = 0; h < nh && h < TMPL_MAX_HEADERS; h++)
		sb_free(&hv[h]);
	sb_free(&from);
	sb_free(&fname);
	sb_free(&faddr);
	sb_free(&reply);
	sb_free(&rname);
	sb_free(&raddr);
	return rc;
}

/* ---- transmitting --------------------------------------------------------- */

static void file_write(struct sender *s, struct item *it, struct chan_result *r)
{
	memset(r, 0, sizeof(*r));
	if (s->o->mbox) {
		/* mboxrd: "From " separator, LF line ends, ">From " quoting */
		const char *p = s->r.msg.buf, *end = p + s->r.msg.len;
		time_t t = (time_t)now_s(s);
		char date[64];
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm);
		fprintf(s->file, "From MAILER-DAEMON %s\n", date);
		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
			const char *q = p;
			if (len && p[len - 1] == '\r')
				len--;
			while (q < p + len && *q == '>')
				q++;
			if ((size_t)(p + len - q) >= 5 && !memcmp(q, "From ", 5))
				fputc('>', s->file);
			fwrite(p, 1, len, s->file);
			fputc('\n', s->file);
			p = nl ? nl + 1 : end;
		}
		fputc('\n', s->file);
	} else {
		struct sb j = SB_INIT;
		const struct tmpl *t = s->tpl[it->vi].t;
		struct render_ctx c = { s, it };
		struct sb v = SB_INIT;
		sb_adds(&j, "{\"id\":");
		json_quote(&j, it->ext, strlen(it->ext));
		sb_adds(&j, ",\"campaign\":");
		json_quote(&j, s->o->campaign, strlen(s->o->campaign));
		sb_adds(&j, ",\"to\":");
		if (it->address)
			json_quote(&j, it->address, strlen(it->address));
		else
			sb_adds(&j, "null");
		sb_adds(&j, ",\"message_id\":");
		json_quote(&j, it->message_id, strlen(it->message_id));
		if (it->variant) {
			sb_adds(&j, ",\"variant\":");
			json_quote(&j, it->variant, strlen(it->variant));
		}
		sb_adds(&j, ",\"headers\":{");
		for (size_t h = 0; h < tmpl_nheaders(t); h++) {
			const char *name = tmpl_header_name(t, h);
			sb_reset(&v);
			tmpl_render_header(t, h, lookup, &c, &v);
			sb_adds(&j, h ? "," : "");
			json_quote(&j, name, strlen(name));
			sb_addc(&j, ':');
			json_quote(&j, v.buf ? v.buf : "", v.len);
		}
		sb_adds(&j, "}");
		if (tmpl_has_text(t)) {
			sb_adds(&j, ",\"text\":");
			json_quote(&j, s->r.text.buf ? s->r.text.buf : "", s->r.text.len);
		}
		if (tmpl_has_html(t)) {
			sb_adds(&j, ",\"html\":");
			json_quote(&j, s->r.html.buf ? s->r.html.buf : "", s->r.html.len);
		}
		sb_adds(&j, "}\n");
		fwrite(j.buf, 1, j.len, s->file);
		sb_free(&j);
		sb_free(&v);
	}
	if (fflush(s->file) != 0) {
		if (s->file == stdout)
			out_write_failed(stdout);
		r->status = CHAN_TRANSIENT;
		snprintf(r->reason, sizeof(r->reason), "%s: %s", s->o->output, strerror(errno));
		s->stop = 1;
		snprintf(s->stop_reason, sizeof(s->stop_reason), "%s", r->reason);
		return;
	}
	r->status = CHAN_SENT;
	snprintf(r->provider_id, sizeof(r->provider_id), "%s",
		 s->file == stdout ? "stdout" : s->o->output);
}

/* Waits until --rate allows the next transmission (at most `gap` after
 * the previous one), or with nowait returns how long that would be. */
static double rate_wait(struct sender *s, int nowait)
{
	double gap, t;

	if (s->o->rate <= 0)
		return 0;
	gap = 1.0 / s->o->rate;
	t = now_monotonic();
	if (s->last_tx > 0 && t - s->last_tx < gap) {
		if (nowait)
			return gap - (t - s->last_tx);
		sleep_seconds(gap - (t - s->last_tx));
	}
	s->last_tx = now_monotonic();
	return 0;
}

/* Renders the item into b before its transfer. Returns 1 when it must be
 * transmitted, 0 when it is done already (it cannot be rendered, or a
 * dry run takes it as sent). */
static int prepare(struct sender *s, struct item *it, struct rendered *b)
{
	if (render(s, it, b) < 0) {
		it->status = "failed";
		return 0;
	}
	if (s->dry_run) {
		it->status = "sent";
		snprintf(it->provider, sizeof(it->provider), "dry run");
		return 0;
	}
	return 1;
}

/* Starts the transfer of it (rendered in b) on the channel's handle smtp
 * or http (the lane's, or the sender's own). Returns 0, or -1 with r
 * filled when it was refused before any transfer. */
static int begin(struct sender *s, struct smtp *smtp, struct http_provider *http,
		 struct http_msg *hm, struct item *it, struct rendered *b, struct chan_result *r)
{
	if (smtp)
		return smtp_begin(smtp, s->envelope_from ? s->envelope_from : b->from_addr.buf,
				  it->address, b->msg.buf, b->msg.len, r);
	*hm = (struct http_msg){
		.address = it->address, .text = b->text.buf, .subject = b->subj.buf,
		.html = b->html.buf, .idempotency_key = it->message_id,
		.customer = it->ext, .campaign = s->o->campaign, .message_id = it->message_id,
	};
	return http_begin(http, hm, r);
}

static void end(struct smtp *smtp, struct http_provider *http, CURLcode rc,
		struct chan_result *r)
{
	if (smtp)
		smtp_end(smtp, rc, r);
	else
		http_end(http, rc, r);
}

/* Records the channel's outcome r in the item; a failure that every
 * further message would meet (no connection, the sender or credentials
 * refused) stops the run. */
static void outcome(struct sender *s, struct smtp *smtp, struct http_provider *http,
		    struct item *it, struct chan_result *r)
{
	const struct send_opts *o = s->o;

	if (smtp && (r->status == CHAN_TRANSIENT || r->status == CHAN_PERMANENT) &&
	    smtp_last_was_sender_problem(smtp)) {
		/* refused before the recipient came up: this one was never
		 * really tried */
		s->stop = 1;
		snprintf(s->stop_reason, sizeof(s->stop_reason), "%s", r->reason);
		r->status = CHAN_TRANSIENT;
		it->untried = 1;
	} else if (http && r->status == CHAN_TRANSIENT && http_last_was_provider_problem(http)) {
		/* nothing of the request reached the provider */
		s->stop = 1;
		snprintf(s->stop_reason, sizeof(s->stop_reason), "%s", r->reason);
		it->untried = 1;
	}
	if (it->untried)
		it->attempts--;	/* claim() counted it */
	s->transmitted++;
	snprintf(it->provider, sizeof(it->provider), "%s", r->provider_id);
	snprintf(it->reason, sizeof(it->reason), "%s", r->reason);
	switch (r->status) {
	case CHAN_SENT:
		it->status = "sent";
		break;
	case CHAN_IN_DOUBT:
		it->status = "in_doubt";
		break;
	case CHAN_PERMANENT:
		it->status = "bounced";
		it->bounce = r->code >= 500 && strstr(r->reason, "(after RCPT)") != NULL;
		if (!it->bounce)
			it->status = "failed";
		break;
	case CHAN_TRANSIENT:
		if (it->attempts >= o->max_attempts) {
			char tmp[256];
			it->status = "failed";
			snprintf(tmp, sizeof(tmp), "gave up after %d attempts: %.200s", it->attempts,
				 r->reason);
			memcpy(it->reason, tmp, sizeof(it->reason));
		} else {
			double d = o->backoff * pow(2.0, it->attempts - 1);
			if (d > 3600)
				d = 3600;
			if (r->retry_after > d)
				d = r->retry_after;
			it->status = "deferred";
			it->next_at = now_s(s) + (int64_t)ceil(d);
		}
		break;
	}
}

/* Transmits a batch one message at a time. */
static void transmit(struct sender *s, struct item *items, int n)
{
	for (int i = 0; i < n && !s->stop; i++) {
		struct item *it = &items[i];
		struct chan_result r;
		struct http_msg hm;

		if (!prepare(s, it, &s->r))
			continue;
		rate_wait(s, 0);
		if (s->file)
			file_write(s, it, &r);
		else if (begin(s, s->smtp, s->http, &hm, it, &s->r, &r) == 0)
			end(s->smtp, s->http,
			    curl_easy_perform(s->smtp ? smtp_handle(s->smtp) : http_handle(s->http)), &r);
		outcome(s, s->smtp, s->http, it, &r);
	}
}

static CURL *lane_handle(const struct lane *l)
{
	return l->smtp ? smtp_handle(l->smtp) : http_handle(l->http);
}

/*
 * Transmits a batch over the lanes (--concurrency): each idle lane starts
 * the next message, libcurl drives them all at once, and a lane that
 * finishes takes the next. Items not started when the run stops keep no
 * status (record() defers them).
 */
static void transmit_lanes(struct sender *s, struct item *items, int n)
{
	int next = 0, active = 0;

	for (;;) {
		double wait = 0;
		int running;
		CURLMsg *msg;
		int left;

		for (int k = 0; k < s->nlanes && next < n && !s->stop; k++) {
			struct lane *l = &s->lanes[k];
			struct item *it;
			struct chan_result r;

			if (l->it)
				continue;
			if ((wait = rate_wait(s, 1)) > 0)
				break;
			it = &items[next++];
			if (!prepare(s, it, &l->r)) {
				k--;	/* the lane is still free */
				continue;
			}
			s->last_tx = now_monotonic();
			if (begin(s, l->smtp, l->http, &l->hm, it, &l->r, &r) < 0) {
				outcome(s, l->smtp, l->http, it, &r);
				k--;
				continue;
			}
			curl_easy_setopt(lane_handle(l), CURLOPT_PRIVATE, (void *)l);
			if (curl_multi_add_handle(s->multi, lane_handle(l)) != CURLM_OK)
				crm_die(1, "libcurl: cannot start a transfer");
			l->it = it;
			active++;
		}
		if (!active) {
			if (next >= n || s->stop)
				break;
			if (wait > 0)
				sleep_seconds(wait);
			continue;
		}
		if (curl_multi_perform(s->multi, &running) != CURLM_OK)
			crm_die(1, "libcurl: the transfers failed");
		while ((msg = curl_multi_info_read(s->multi, &left))) {
			CURL *h = msg->easy_handle;
			CURLcode rc = msg->data.result;
			struct lane *l = NULL;
			struct chan_result r;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&l);
			curl_multi_remove_handle(s->multi, h);	/* msg is gone now */
			memset(&r, 0, sizeof(r));
			end(l->smtp, l->http, rc, &r);
			outcome(s, l->smtp, l->http, l->it, &r);
			l->it = NULL;
			active--;
		}
		if (active) {
			int ms = wait > 0 && wait < 1 ? (int)(wait * 1000) + 1 : 1000;
			if (curl_multi_poll(s->multi, NULL, 0, ms, NULL) != CURLM_OK)
				sleep_seconds(0.01);	/* poll() failed: do not spin */
		}
	}
}

/* Records the outcomes of a batch and prints them, in a transaction that
 * the next claim() commits (one commit, one fsync, per batch) or
 * flush() does. */
static void record(struct sender *s, struct item *items, int n)
{
	sqlite3_stmt *up, *sup;
	char nowt[20], next[20];

	fmt_now(s, nowt);
	if (!s->dry_run) {
		db_begin(s->db);
		s->open_txn = 1;
	}
	up = cached(s, &s->record_up,
		"UPDATE messages SET status = ?2, reason = ?3, provider_id = ?4, next_at = ?5,"
		" sent_at = ?6, updated_at = ?6, claimed_by = NULL, attempts = attempts - ?7"
		" WHERE id = ?1");
	for (int i = 0; i < n; i++) {
		struct item *it = &items[i];
		const char *vals[7];

		if (!it->status) {	/* not transmitted (the run stopped) */
			it->status = "deferred";
			it->next_at = now_s(s);
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
		if (it->bounce) {
			char h[65];
			sup = cached(s, &s->record_sup, "INSERT OR IGNORE INTO address_suppressions"
				     "(hash, channel, reason, created_at, message_id)"
				     " VALUES (?, ?, 'bounced', ?, ?)");
			erase_hash(s->secret, s->o->channel, it->address, h);
			db_bind_text(sup, 1, h, -1);
			db_bind_text(sup, 2, s->o->channel, -1);
			db_bind_text(sup, 3, nowt, -1);
			db_bind_text(sup, 4, it->message_id, -1);
			db_step_done(s->db, sup);
		}
		vals[0] = it->ext;
		vals[1] = s->o->channel;
		vals[2] = it->status;
		vals[3] = it->reason;
		vals[4] = it->provider;
		vals[5] = it->message_id;
		vals[6] = it->variant;
		s->recorded++;
		if (!strcmp(it->status, "deferred")) {
			remember_deferred(s, it->id);
		} else {
			print_row(s, vals);
			count(s, it->status);
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
		"SELECT coalesce(c.external_id, ''), m.reason, m.next_at, m.message_id, m.variant"
		" FROM temp.send_deferred d JOIN messages m ON m.id = d.id"
		" JOIN customers c ON c.id = m.customer_id WHERE m.status = 'deferred' ORDER BY m.id");

	while (db_row(st)) {
		struct sb why = SB_INIT;
		const char *vals[7];
		sb_addf(&why, "%s (until %s)", sqlite3_column_type(st, 1) == SQLITE_NULL ? "deferred" :
			(const char *)sqlite3_column_text(st, 1), (const char *)sqlite3_column_text(st, 2));
		vals[0] = (const char *)sqlite3_column_text(st, 0);
		vals[1] = s->o->channel;
		vals[2] = "deferred";
		vals[3] = why.buf;
		vals[4] = "";
		vals[5] = (const char *)sqlite3_column_text(st, 3);
		vals[6] = (const char *)sqlite3_column_text(st, 4);
		print_row(s, vals);
		count(s, "deferred");
		sb_free(&why);
	}
	sqlite3_finalize(st);
}

/* ---- the run ---------------------------------------------------------------- */

static const char *const result_cols[] = {
	"id", "channel", "status", "reason", "provider_id", "message_id", "variant",
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
	s.dry_run = crm->dry_run;
	s.t0 = now_monotonic();
	sb_init(&s.buf);
	rendered_init(&s.r);
	if (!ci)
		crm_die(2, "unknown channel \"%s\"", o->channel);
	s.conf = conf_load(crm);
	s.secret = db_meta_get(s.db, "secret");
	if (!s.secret)
		crm_die(1, "%s: the database has no secret", crm->db_path);
	make_claimant(&s);
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
	if ((status = load_templates(&s)) || (status = open_channel(&s)))
		goto out;
	/* enough rows per claim to keep every lane busy */
	if (s.nlanes && batch < 2 * s.nlanes)
		batch = 2 * s.nlanes;
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
	recover(&s);
	if (!s.dry_run)
		db_commit(s.db);
	if (o->resend_in_doubt)
		db_exec(s.db, "CREATE TEMP TABLE send_tried(id INTEGER PRIMARY KEY)");
	db_exec(s.db, "CREATE TEMP TABLE send_deferred(id INTEGER PRIMARY KEY)");
	crm_info("campaign \"%s\": %ld new recipients planned", o->campaign, s.planned);

	/* result lines, unless the messages themselves go to stdout */
	if (s.file != stdout) {
		s.out = out_new(stdout, crm->format);
		out_columns(s.out, ARRAY_SIZE(result_cols), result_cols);
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
		seen = claim(&s, items, batch, &ntx);
		if (s.nlanes)
			transmit_lanes(&s, items, ntx);
		else
			transmit(&s, items, ntx);
		if (ntx)
			record(&s, items, ntx);
		for (int i = 0; i < ntx; i++)
			item_free(&s, &items[i]);
		if (seen)
			continue;
		flush(&s);
		if (o->limit >= 0 && s.transmitted >= o->limit)
			break;
		/* nothing due now: wait for a retry if it is soon */
		int64_t due = next_due(&s), now = now_s(&s);
		if (due < 0 || s.dry_run || (double)(due - now) > o->max_wait)
			break;
		if (due > now)
			sleep_seconds((double)(due - now));
	}
	flush(&s);
	progress_end(pg);
	print_deferred(&s);
	if (s.out)
		out_finish(s.out);
	if (s.dry_run)
		db_rollback(s.db);

	fprintf(stderr, "%s: campaign \"%s\": %ld planned, %ld sent, %ld control, %ld suppressed,"
		" %ld deferred, %ld bounced, %ld failed, %ld in doubt%s\n", crm_progname,
		o->campaign, s.planned, s.counts[0], s.counts[1], s.counts[2], s.counts[3],
		s.counts[4], s.counts[5], s.counts[6], s.dry_run ? " (dry run: nothing sent or recorded)" : "");
	if (s.stop) {
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
		sqlite3_stmt *sts[] = { s.claim_st, s.claim_up, s.record_up, s.record_sup,
					s.supp_st, s.deferred_st, s.tried_st };
		for (size_t i = 0; i < ARRAY_SIZE(sts); i++)
			sqlite3_finalize(sts[i]);
	}
	free(s.claim_sql);
	for (int i = 0; i < s.tz_n; i++)
		free(s.tz_cache[i].tz);
	smtp_close(s.smtp);
	http_close(s.http);
	if (s.file && s.file != stdout)
		fclose(s.file);
	conf_free(s.conf);
	free(s.domain);
	if (s.secret) {
		memset(s.secret, 0, strlen(s.secret));
		free(s.secret);
	}
	sb_free(&s.buf);
	free(items);
	rendered_free(&s.r);
	for (int k = 0; k < s.nlanes; k++) {
		smtp_close(s.lanes[k].smtp);
		http_close(s.lanes[k].http);
		rendered_free(&s.lanes[k].r);
	}
	free(s.lanes);
	if (s.multi)
		curl_multi_cleanup(s.multi);
	return status;
}
