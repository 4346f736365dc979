/*
 * track_int.h - what the parts of crm-track share (lib/track*.c); not an
 * interface for anything else.
 */
#ifndef CRM_TRACK_INT_H
#define CRM_TRACK_INT_H

#include <pthread.h>
#include <stdint.h>

#include "conf.h"
#include "hook.h"
#include "imp.h"
#include "track.h"
#include "track_url.h"
#include "util.h"

enum job_kind {
	JOB_OPEN,      /* the pixel */
	JOB_CLICK,     /* a signed redirect */
	JOB_UNSUB,     /* POST List-Unsubscribe=One-Click */
	JOB_PAGE,      /* GET the unsubscribe and preference page */
	JOB_PREFS,     /* POST the page's form */
	JOB_COLLECT,   /* POST /v1/KIND: JSON lines */
	JOB_HOOK,      /* /h/NAME: a provider's verified callback */
};

/* One request for the writer, and its answer. */
struct job {
	enum job_kind kind;
	struct job *next;
	int64_t msg;             /* outbox row (open, click, unsubscribe) */
	int link;                /* click: link number */
	char *url;               /* click: target */
	char machine[48];        /* why a machine made the hit, or "" */
	int head;                /* a HEAD request */
	/* JOB_PREFS: the form */
	char *form;
	/* JOB_COLLECT */
	enum imp_kind ikind;
	const char *source;      /* collector name */
	const char *body;
	size_t len;
	int strict;
	/* JOB_HOOK: the records to apply (and the answer) */
	struct hook_result *hook;
	int unmatched;           /* records nobody in the base matched */
	/* the answer */
	int status;
	const char *ctype;
	struct sb out;
	int64_t customer;        /* for the log line; 0: none */
	int done;
	void *conn;              /* the suspended MHD connection */
};

struct topic {
	char *name;   /* "email:news" */
	char *label;  /* "Newsletter" */
};

struct collector {
	char *name;
	char *token;
	unsigned kinds;          /* 1 << enum imp_kind */
	double rate, burst;      /* requests per second; bucket */
	double tokens, last;
	pthread_mutex_t lock;
};

struct bot_rule;

struct hookcfg {
	char *name;              /* [hook.NAME] */
	struct hook *h;
};

struct track {
	struct crm *crm;
	const struct track_opts *o;
	struct conf *conf;
	char *secret;
	const char *name;        /* who sends, for the pages */
	long machine_secs;       /* hits this soon after sending: machine */
	struct topic *topics;
	size_t ntopics;
	struct collector *cols;
	size_t ncols;
	struct bot_rule *bots;
	size_t nbots;
	struct hookcfg *hooks;
	size_t nhooks;
	const char *public_url;  /* [tracking] url */
	int64_t clock_offset;    /* --now: seconds added to the clock */
	void *daemon;

	/* the writer */
	pthread_t writer;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct job *head, **tail;
	int stop;
	uint64_t seq;            /* for hit ids */
	char prefix[17];
	struct imp *imp[IMP_ERASE];
	struct imp_opts iopts[IMP_ERASE];
	struct sb rejects;       /* the current collector job's reject list */
	size_t nrejects;
};

/* track_wr.c */
void track_writer_start(struct track *t);
void track_writer_stop(struct track *t);
void track_submit(struct track *t, struct job *j);

/* track_page.c */
/* Appends the page of a message's unsubscribe link: channel, whether it
 * is unsubscribed, topics with their state (granted[i]), a note. */
void track_page(struct sb *out, const struct track *t, const char *channel, int unsubscribed, const int *granted, const char *note);
void track_page_simple(struct sb *out, const char *title, const char *text);

/* track_bot.c */
int track_bots_load(struct track *t, const char *path);
void track_bots_free(struct track *t);
/* Why the request from addr with user agent ua is a machine's, into
 * why (size n), or "" for none. */
void track_bot_check(const struct track *t, const char *addr, const char *ua, char *why,
		     size_t n);

#endif
