/*
 * send_int.h - what the parts of crm-send's engine share: the sender of a
 * run, a claimed row (item), a rendered message, and the functions one
 * part calls in another.
 *
 *   send.c        the run: settings, channels, the campaign, planning,
 *                 recording the outcomes, the summary
 *   send_tmpl.c   templates: loading and checking them, rendering a row
 *   send_claim.c  who may be sent to now: recovery of interrupted rows,
 *                 the policy checks and claiming a batch
 *   send_tx.c     transmitting a batch: one connection, HTTP lanes in a
 *                 curl multi handle, the SMTP pool, the file channel
 */
#ifndef CRM_SEND_INT_H
#define CRM_SEND_INT_H

#include <stdint.h>
#include <stdio.h>
#include <sqlite3.h>

#include "chan.h"
#include "chan_http.h"
#include "claimant.h"
#include "send.h"
#include "supp.h"
#include "util.h"

struct conf;
struct dkim_signer;
struct expr;
struct out;
struct progress;
struct tmpl;
/* Rows claimed (marked transmitting) per transaction: after a crash, at
 * most this many become in_doubt, at the cost of two commits per batch. */
#define BATCH 10


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
	char *coupon;          /* the promo code bound to the row, or NULL */
};

/* One rendered message: the subject, text and HTML parts, and for e-mail
 * (and mbox) the whole RFC 5322 message and its From address. */
struct rendered {
	struct sb subj, text, html, msg, from_addr;
};

/* A connection of its own, for --concurrency: the channel's handle, the
 * message it is transmitting (NULL when idle), and that message. */
struct lane {
	struct http_provider *http;
	struct item *it;
	struct http_msg hm;
	struct rendered r;
};


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
	char claimant[CLAIMANT_MAX];
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
	/* statements prepared once per run (see send_cached()) */
	sqlite3_stmt *claim_st, *claim_up, *record_up, *record_ev, *supp_st;
	sqlite3_stmt *deferred_st, *tried_st, *started_st, *sync_normal, *sync_full;
	char *claim_sql;          /* the text claim_st was prepared from */
	double last_tx;           /* monotonic time of the last transmission */

	/* email: connections at once (--concurrency) */
	struct smtp_pool *smtp;
	/* sms, push, telegram, whatsapp, viber, webhook */
	struct http_provider *http;
	const char *from, *envelope_from, *unsub_url, *unsub_mailto, *msgid_domain;
	int verp;                 /* envelope_from as bounces+TOKEN@domain */
	struct supp_conf supp;    /* [bounces]: the soft-bounce rule */
	char supp_reason[32];
	/* [tracking]: crm-track's public URL (NULL: none), the open pixel,
	 * UTM parameters (utm_source NULL: none) */
	const char *track_url, *utm_source;
	int track_opens;
	char *domain;
	/* [dkim]: the keys every e-mail is signed with (NULL: none) */
	struct dkim_signer *dkim;
	/* file */
	FILE *file;

	/* --concurrency N > 1: N lanes in a curl multi handle */
	CURLM *multi;
	struct lane *lanes;
	int nlanes;

	struct out *out;
	struct sb pending;        /* result lines to print after the commit */
	long npending;
	int out_closed;           /* errno of a failed write to stdout */
	struct sb buf;
	struct rendered r;        /* the message being sent, one at a time */

	long planned, unknown, transmitted;
	long recorded;            /* rows recorded in this run, deferred too */
	int open_txn;             /* record()'s transaction, not committed yet */
	long counts[16];
	struct send_coupons *coupons; /* {{coupon}}: the pools (send_coupon.c) */
	int ncols;                /* result columns: 7, or 8 with coupon */
	int stop;              /* a failure that every further message would hit */
	char stop_reason[256];
	int dry_run;
};


/* Names a template may use besides customer fields, metrics and scores. */
static const char *const specials[] = {
	"campaign", "channel", "message_id", "variant", "unsubscribe_url", NULL,
};
enum { SP_CAMPAIGN, SP_CHANNEL, SP_MESSAGE_ID, SP_VARIANT, SP_UNSUBSCRIBE, SP_N };

/* send.c */
int64_t send_now(const struct sender *s);
void send_fmt_now(const struct sender *s, char buf[20]);
sqlite3_stmt *send_cached(struct sender *s, sqlite3_stmt **slot, const char *sql);
void send_count(struct sender *s, const char *status);
void send_print_row(struct sender *s, const char *const vals[8]);
void send_remember_deferred(struct sender *s, int64_t id);
void send_flush_rows(struct sender *s);
void send_mark_started(struct sender *s, struct item *it);

/* send_tmpl.c */
void send_rendered_init(struct rendered *b);
void send_rendered_free(struct rendered *b);
int send_special_index(const char *name);
/* The SQL value of a template name over customers c, now inlined: a
 * field, metric or score of expr_field_sql(), or last_order and
 * last_order.id, .ordered_at, .amount, .currency, .status, .lines (the
 * latest purchase up to now; lines a JSON array). Returns 0, -1 for an
 * unknown name, -2 for one not available yet. */
int send_field_sql(const char *name, int64_t now, struct sb *sql);
int send_load_templates(struct sender *s);
struct render_ctx {
	struct sender *s;
	struct item *it;
};
const char *send_lookup(void *arg, const char *name, size_t *len);
int send_render(struct sender *s, struct item *it, struct rendered *b);

/* send_claim.c */
void send_make_claimant(struct sender *s);
void send_recover(struct sender *s);
void send_item_free(struct sender *s, struct item *it);
int send_claim(struct sender *s, struct item *items, int n, int *ntx);

/* send_coupon.c: whether a template name is {{coupon}} or {{coupon "P"}};
 * checking such a name of template v (0, or an exit status); whether any
 * template has one; the pools against the rows due after planning (0, or
 * an exit status); the code of a row being claimed (0, or -1 when its pool
 * is empty: s->stop is set) */
int send_coupon_is(const char *name);
int send_coupon_name(struct sender *s, int v, const char *name, int line, int col);
int send_coupon_used(const struct sender *s);
int send_coupon_check(struct sender *s);
int send_coupon_take(struct sender *s, struct item *it);
void send_coupon_free(struct sender *s);

/* send_tx.c */
void send_transmit(struct sender *s, struct item *items, int n);
void send_transmit_lanes(struct sender *s, struct item *items, int n);
void send_transmit_smtp(struct sender *s, struct item *items, int n);

#endif
