/*
 * inbound.c - crm-import bounces (see inbound.h): messages in, one
 * decision each, the suppression rule of supp.h applied.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "bounce.h"
#include "conf.h"
#include "db.h"
#include "diag.h"
#include "hash.h"
#include "inbound.h"
#include "norm.h"
#include "supp.h"
#include "util.h"

/* the outbox row a report is about */
struct row {
	int64_t id, customer;
	int erased;
	char *address, *message_id, *campaign, *channel, *sent_at;
};

struct inb {
	struct crm *crm;
	const struct inbound_opts *o;
	sqlite3 *db;
	char *secret;
	struct supp_conf sc;
	int max_age_days;        /* [bounces] max_age: older messages' reports
				  * are quarantined as expired */
	sqlite3_stmt *seen, *ins, *upd, *by_id, *by_msgid, *ev, *soft;
	char now[20];
	long in_tx, batch;
	/* counts, for the summary */
	long read, seen_before, applied, recorded, ignored, quarantined;
	long kinds[BOUNCE_UNKNOWN + 1];
	long qseq;
};

static void row_free(struct row *r)
{
	free(r->address);
	free(r->message_id);
	free(r->campaign);
	free(r->channel);
	free(r->sent_at);
	memset(r, 0, sizeof(*r));
}

static char *col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? xstrdup((const char *)t) : NULL;
}

#define ROW_SQL                                                                        \
	"SELECT m.id, m.customer_id, c.erased_at IS NOT NULL, m.address, m.message_id,"  \
	" k.name, m.channel, m.sent_at FROM messages m JOIN customers c ON c.id = m.customer_id" \
	" JOIN campaigns k ON k.id = m.campaign_id WHERE "

static int row_get(struct inb *b, sqlite3_stmt *st, struct row *r)
{
	int found = db_row(st);

	if (found) {
		r->id = sqlite3_column_int64(st, 0);
		r->customer = sqlite3_column_int64(st, 1);
		r->erased = sqlite3_column_int(st, 2);
		r->address = col_dup(st, 3);
		r->message_id = col_dup(st, 4);
		r->campaign = col_dup(st, 5);
		r->channel = col_dup(st, 6);
		r->sent_at = col_dup(st, 7);
	}
	sqlite3_reset(st);
	(void)b;
	return found;
}

static void prepare(struct inb *b)
{
	b->seen = db_prepare(b->db, "SELECT 1 FROM inbound WHERE digest = ?");
	b->ins = db_prepare(b->db,
		"INSERT INTO inbound(digest, received_at, origin, raw, kind, status, diagnostic,"
		" address, outbox_id, customer_id, decision, reason)"
		" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	b->upd = db_prepare(b->db, "UPDATE inbound SET decision = ?, reason = ?, kind = ? WHERE id = ?");
	b->by_id = db_prepare(b->db, ROW_SQL "m.id = ?");
	b->by_msgid = db_prepare(b->db, ROW_SQL "m.message_id = ?");
	b->ev = db_prepare(b->db,
		"INSERT OR IGNORE INTO events(external_id, customer_id, type, occurred_at,"
		" campaign, message_id, props) VALUES (?, ?, ?, ?, ?, ?, ?)");
	b->soft = db_prepare(b->db,
		"SELECT count(*) FROM events e WHERE e.customer_id = ?1 AND e.type = 'bounced'"
		" AND lower(json_extract(e.props, '$.kind')) = 'soft'"
		" AND e.occurred_at > datetime(?2, '-' || ?3 || ' days')"
		" AND (json_extract(e.props, '$.address') IS NULL"
		"  OR lower(json_extract(e.props, '$.address')) = lower(?4))");
}

static void finalize(struct inb *b)
{
	sqlite3_stmt *all[] = { b->seen, b->ins, b->upd, b->by_id, b->by_msgid, b->ev, b->soft };
	for (size_t i = 0; i < ARRAY_SIZE(all); i++)
		sqlite3_finalize(all[i]);
}

/* ---- the quarantine Maildir ---------------------------------------------- */

static void mkdir_p(const char *dir)
{
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		crm_die_errno(1, "%s: cannot create the quarantine Maildir", dir);
}

/* Delivers a copy into the Maildir (tmp/, fsync, rename into new/), the
 * way an MDA does, so a mail reader may show it at once. */
static void quarantine_copy(struct inb *b, const char *msg, size_t len)
{
	struct sb tmp = SB_INIT, dst = SB_INIT, name = SB_INIT;
	const char *dir = b->o->quarantine;
	char host[64] = "localhost";
	int fd;

	gethostname(host, sizeof(host) - 1);
	for (char *p = host; *p; p++)
		if (*p == '/' || *p == ':')
			*p = '_';
	sb_addf(&name, "%" PRId64 ".P%ldQ%ld.%s", (int64_t)time(NULL), (long)getpid(),
		++b->qseq, host);
	sb_addf(&tmp, "%s/tmp/%s", dir, name.buf);
	sb_addf(&dst, "%s/new/%s", dir, name.buf);
	if ((fd = open(tmp.buf, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0)
		crm_die_errno(1, "%s: cannot write", tmp.buf);
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, msg + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			crm_die_errno(1, "%s: cannot write", tmp.buf);
		off += (size_t)w;
	}
	if (fsync(fd) < 0 || close(fd) < 0)
		crm_die_errno(1, "%s: cannot write", tmp.buf);
	if (rename(tmp.buf, dst.buf) < 0)
		crm_die_errno(1, "%s: cannot move into new/", tmp.buf);
	sb_free(&tmp);
	sb_free(&dst);
	sb_free(&name);
}

/* ---- one message ------------------------------------------------------------ */

struct verdict {
	const char *decision;
	struct sb reason;
	const struct bounce_rcpt *rcpt;
	struct row row;
};

/* the recipient the decision is about: the outbox row's address when the
 * report names it, else the gravest one */
static const struct bounce_rcpt *pick_rcpt(const struct bounce_result *r, const char *address)
{
	const struct bounce_rcpt *best = NULL;

	for (size_t i = 0; i < r->nrcpts; i++) {
		if (address && !ascii_casecmp(r->rcpts[i].address, address))
			return &r->rcpts[i];
		if (!best && r->rcpts[i].kind == r->kind)
			best = &r->rcpts[i];
	}
	return best ? best : r->nrcpts ? &r->rcpts[0] : NULL;
}

static int64_t days_since(const char *t, int64_t now)
{
	struct norm_opts no = { 0 };
	int64_t at;
	const char *why;

	if (!t || norm_time(t, strlen(t), &no, &at, &why) < 0)
		return 0;
	return (now - at) / 86400;
}

/* Records the event of an applied report; 1 when it is new. */
static int record_event(struct inb *b, const struct bounce_result *r, struct verdict *v,
			const char *type, const char *kind, int64_t inbound_id)
{
	const struct bounce_rcpt *rc = v->rcpt;
	const char *address = v->row.address ? v->row.address : rc ? rc->address : NULL;
	struct sb id = SB_INIT;
	cJSON *p = cJSON_CreateObject();
	char *props;
	int added;

	if (address)
		cJSON_AddStringToObject(p, "address", address);
	/* a DSN or a complaint is about e-mail, whatever channel the row
	 * was written by (the file channel's mbox is e-mail too) */
	cJSON_AddStringToObject(p, "channel", "email");
	if (rc && rc->diagnostic)
		cJSON_AddStringToObject(p, "diagnostic", rc->diagnostic);
	if (r->feedback_type)
		cJSON_AddStringToObject(p, "feedback_type", r->feedback_type);
	cJSON_AddNumberToObject(p, "inbound", (double)inbound_id);
	if (kind)
		cJSON_AddStringToObject(p, "kind", kind);
	if (r->reporting_mta)
		cJSON_AddStringToObject(p, "reporting_mta", r->reporting_mta);
	cJSON_AddStringToObject(p, "source", "bounces");
	if (rc && rc->status[0])
		cJSON_AddStringToObject(p, "status", rc->status);
	props = cJSON_PrintUnformatted(p);
	cJSON_Delete(p);
	if (!props)
		crm_die(1, "out of memory");
	/* one event per message and kind: a second report of the same
	 * bounce (a retried DSN, the same complaint twice) changes nothing */
	if (kind)
		sb_addf(&id, "bounce:%" PRId64 ":%s", v->row.id, kind);
	else
		sb_addf(&id, "%s:%" PRId64, type, v->row.id);
	db_bind_text(b->ev, 1, id.buf, -1);
	sqlite3_bind_int64(b->ev, 2, v->row.customer);
	db_bind_text(b->ev, 3, type, -1);
	db_bind_text(b->ev, 4, b->now, -1);
	db_bind_text(b->ev, 5, v->row.campaign, -1);
	db_bind_text(b->ev, 6, v->row.message_id, -1);
	db_bind_text(b->ev, 7, props, -1);
	added = db_step_done(b->db, b->ev) > 0;
	free(props);
	sb_free(&id);
	return added;
}

static int soft_count(struct inb *b, struct verdict *v)
{
	int n = 0;

	sqlite3_bind_int64(b->soft, 1, v->row.customer);
	db_bind_text(b->soft, 2, b->now, -1);
	sqlite3_bind_int(b->soft, 3, b->sc.soft_days);
	db_bind_text(b->soft, 4, v->row.address ? v->row.address : "", -1);
	if (db_row(b->soft))
		n = sqlite3_column_int(b->soft, 0);
	sqlite3_reset(b->soft);
	return n;
}

/* Applies a report that names an outbox row of a customer still here;
 * returns the kind applied. */
static enum bounce_kind apply(struct inb *b, const struct bounce_result *r, struct verdict *v,
		  int64_t inbound_id)
{
	const struct bounce_rcpt *rc = v->rcpt;
	enum bounce_kind k = r->kind;
	const char *status = rc && rc->status[0] ? rc->status : NULL;
	struct supp_note n = {
		.channel = "email", .address = v->row.address, .at = b->now,
		.message_id = v->row.message_id, .source = "bounces", .status = status,
	};

	/* a DSN about several recipients: the row's own recipient decides */
	if (rc && k != BOUNCE_COMPLAINT && rc->kind >= BOUNCE_HARD && rc->kind <= BOUNCE_POLICY)
		k = rc->kind;
	sb_reset(&v->reason);
	if (k == BOUNCE_COMPLAINT) {
		if (!record_event(b, r, v, "complained", NULL, inbound_id)) {
			v->decision = "ignored";
			sb_addf(&v->reason, "already recorded: a complaint about message %" PRId64,
				v->row.id);
			return k;
		}
		v->decision = "applied";
		sb_addf(&v->reason, "complaint%s%s: no more marketing e-mail to customer %" PRId64,
			r->feedback_type ? " " : "", r->feedback_type ? r->feedback_type : "",
			v->row.customer);
		return k;
	}
	if (!record_event(b, r, v, "bounced", supp_kind_name(k), inbound_id)) {
		v->decision = "ignored";
		sb_addf(&v->reason, "already recorded: a %s bounce of message %" PRId64,
			supp_kind_name(k), v->row.id);
		return k;
	}
	switch (k) {
	case BOUNCE_HARD:
		n.reason = "bounced";
		supp_note(b->db, b->secret, &n);
		v->decision = "applied";
		sb_addf(&v->reason, "hard bounce%s%s: the address is suppressed",
			status ? " " : "", status ? status : "");
		break;
	case BOUNCE_SOFT: {
		int have = soft_count(b, v);
		if (b->sc.soft_limit > 0 && have >= b->sc.soft_limit) {
			v->decision = "applied";
			sb_addf(&v->reason, "soft bounce%s%s, %d in %d days: the address is "
				"suppressed ([bounces] soft_limit = %d)", status ? " " : "",
				status ? status : "", have, b->sc.soft_days, b->sc.soft_limit);
		} else {
			v->decision = "recorded";
			sb_addf(&v->reason, "soft bounce%s%s, %d in %d days (suppressed at %d)",
				status ? " " : "", status ? status : "", have, b->sc.soft_days,
				b->sc.soft_limit);
		}
		break;
	}
	default:
		v->decision = "recorded";
		sb_addf(&v->reason, "policy block%s%s: the sender's problem, not the address's; "
			"not suppressed", status ? " " : "", status ? status : "");
		break;
	}
	return k;
}

/* Reads one message: decides, records, applies. origin says where it is;
 * keep_raw stores its bytes (they are nowhere else). */
static void one(struct inb *b, const char *msg, size_t len, const char *origin, int keep_raw,
		const char *envelope_to)
{
	struct bounce_result r;
	struct verdict v = { .reason = SB_INIT };
	char digest[65];
	const char *body = msg;
	size_t blen = len;
	int matched = 0, quarantine = 0;
	int64_t inbound_id;

	/* the digest skips an mbox "From " line: the same message from a pipe
	 * and from a Maildir is the same message */
	if (blen >= 5 && !memcmp(body, "From ", 5)) {
		const char *nl = memchr(body, '\n', blen);
		size_t skip = nl ? (size_t)(nl - body) + 1 : blen;
		body += skip, blen -= skip;
	}
	hash_sha256_hex(body, blen, digest);
	b->read++;
	db_bind_text(b->seen, 1, digest, 64);
	if (db_row(b->seen)) {
		sqlite3_reset(b->seen);
		b->seen_before++;
		crm_info("%s: read before, nothing to do", origin);
		return;
	}
	sqlite3_reset(b->seen);

	bounce_parse(msg, len, b->secret, envelope_to, &r);
	enum bounce_kind kind = r.kind;

	/* which outbox row */
	if (r.token_bad) {
		quarantine = 1;
		sb_adds(&v.reason, "the VERP token does not check (forged, or another base's): "
			"nothing applied");
	} else if (r.outbox_id) {
		sqlite3_bind_int64(b->by_id, 1, r.outbox_id);
		if (!(matched = row_get(b, b->by_id, &v.row))) {
			quarantine = 1;
			sb_addf(&v.reason, "the VERP token names outbox row %" PRId64
				", which this base does not have", r.outbox_id);
		}
	} else if (r.message_id) {
		db_bind_text(b->by_msgid, 1, r.message_id, -1);
		matched = row_get(b, b->by_msgid, &v.row);
	}
	v.rcpt = pick_rcpt(&r, v.row.address);

	if (quarantine) {
		/* reason set above */
	} else if (r.kind == BOUNCE_NONE) {
		quarantine = 1;
		sb_addf(&v.reason, "not a report (%s): ordinary mail, for a person to read", r.reason);
	} else if (r.kind == BOUNCE_UNKNOWN) {
		quarantine = 1;
		sb_addf(&v.reason, "not classified: %s", r.reason);
	} else if (r.kind == BOUNCE_AUTOREPLY) {
		v.decision = "ignored";
		sb_addf(&v.reason, "an automatic reply, not a bounce: %s", r.reason);
	} else if (r.kind == BOUNCE_DELAYED) {
		v.decision = "ignored";
		sb_addf(&v.reason, "delivery delayed, still being tried%s%s",
			v.rcpt && v.rcpt->status[0] ? ": " : "", v.rcpt ? v.rcpt->status : "");
	} else if (!matched) {
		quarantine = 1;
		sb_addf(&v.reason, "a %s report about no message of this base (no VERP token%s)",
			bounce_kind_name(r.kind), r.message_id ? ", Message-ID unknown" : "");
	} else if (v.row.erased) {
		v.decision = "ignored";
		sb_addf(&v.reason, "customer %" PRId64 " was erased", v.row.customer);
	} else if (b->max_age_days && days_since(v.row.sent_at, b->crm->now) > b->max_age_days) {
		quarantine = 1;
		sb_addf(&v.reason, "expired: message %" PRId64 " was sent %" PRId64 " days ago "
			"([bounces] max_age = %d days)", v.row.id,
			days_since(v.row.sent_at, b->crm->now), b->max_age_days);
	}
	if (quarantine) {
		v.decision = "quarantined";
		keep_raw = 1;
		if (b->o->quarantine)
			quarantine_copy(b, msg, len);
	}

	/* the row first (the event names it), then what it applies */
	db_bind_text(b->ins, 1, digest, 64);
	db_bind_text(b->ins, 2, b->now, -1);
	db_bind_text(b->ins, 3, origin, -1);
	if (keep_raw)
		sqlite3_bind_blob64(b->ins, 4, msg, len, SQLITE_STATIC);
	else
		sqlite3_bind_null(b->ins, 4);
	db_bind_text(b->ins, 5, bounce_kind_name(r.kind), -1);
	db_bind_text(b->ins, 6, v.rcpt && v.rcpt->status[0] ? v.rcpt->status : NULL, -1);
	db_bind_text(b->ins, 7, v.rcpt ? v.rcpt->diagnostic : NULL, -1);
	db_bind_text(b->ins, 8, v.row.address ? v.row.address : v.rcpt ? v.rcpt->address : NULL, -1);
	if (matched)
		sqlite3_bind_int64(b->ins, 9, v.row.id), sqlite3_bind_int64(b->ins, 10, v.row.customer);
	else
		sqlite3_bind_null(b->ins, 9), sqlite3_bind_null(b->ins, 10);
	db_bind_text(b->ins, 11, v.decision ? v.decision : "ignored", -1);
	db_bind_text(b->ins, 12, v.reason.len ? v.reason.buf : "-", -1);
	db_step_done(b->db, b->ins);
	inbound_id = sqlite3_last_insert_rowid(b->db);

	if (!v.decision) {
		/* the kind applied to the row is its own recipient's (a DSN
		 * about several: kind was the gravest of them) */
		kind = apply(b, &r, &v, inbound_id);
		db_bind_text(b->upd, 1, v.decision, -1);
		db_bind_text(b->upd, 2, v.reason.buf, -1);
		db_bind_text(b->upd, 3, bounce_kind_name(kind), -1);
		sqlite3_bind_int64(b->upd, 4, inbound_id);
		db_step_done(b->db, b->upd);
		sqlite3_reset(b->upd);
	}
	b->kinds[kind]++;
	if (!strcmp(v.decision, "applied"))
		b->applied++;
	else if (!strcmp(v.decision, "recorded"))
		b->recorded++;
	else if (!strcmp(v.decision, "quarantined"))
		b->quarantined++;
	else
		b->ignored++;
	if (crm_verbosity >= 2)
		fprintf(stderr, "%s: %s: %s: %s\n", crm_progname, origin, v.decision, v.reason.buf);
	row_free(&v.row);
	sb_free(&v.reason);
	bounce_result_free(&r);
	if (++b->in_tx >= b->batch) {
		db_commit(b->db);
		db_begin(b->db);
		b->in_tx = 0;
	}
}

/* ---- sources ----------------------------------------------------------------- */

static int read_all(int fd, struct sb *out)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		sb_add(out, buf, (size_t)n);
	}
	return 0;
}

size_t inbound_mbox_next(const char *s, size_t len, size_t start, size_t *msglen)
{
	const char *p = start + 1 < len ? memmem(s + start + 1, len - start - 1, "\n\nFrom ", 7)
					: NULL;
	size_t next = p ? (size_t)(p - s) + 2 : len;

	/* the message without the empty line that separates it */
	*msglen = next - start - (p ? 1 : 0);
	return next;
}

/* An mbox: messages begin at a "From " line at the start of the file or
 * after an empty line (mboxo and mboxrd both escape a body's "From "). */
static void mbox(struct inb *b, const char *path, const char *s, size_t len, int mapped)
{
	size_t start = 0;
	struct sb origin = SB_INIT;

	size_t page = (size_t)sysconf(_SC_PAGESIZE), dropped = 0;

	while (start < len) {
		size_t mlen, next = inbound_mbox_next(s, len, start, &mlen);

		/* a mapped file's pages that were read count as the process's
		 * memory until dropped: keep it to a window, whatever the size
		 * of the mbox */
		if (mapped && start / page * page - dropped >= (16u << 20)) {
			madvise((char *)s + dropped, start / page * page - dropped, MADV_DONTNEED);
			dropped = start / page * page;
		}

		sb_reset(&origin);
		sb_addf(&origin, "mbox %s at byte %zu", path, start);
		one(b, s + start, mlen, origin.buf, 0, NULL);
		start = next;
	}
	sb_free(&origin);
}

static int read_file(struct inb *b, const char *path, int as_maildir_msg)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	struct sb origin = SB_INIT;

	if (fd < 0 || fstat(fd, &st) < 0) {
		crm_error_errno("%s: cannot open", path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (st.st_size == 0) {
		close(fd);
		if (!as_maildir_msg)
			crm_warn("%s: empty file, no message", path);
		return 0;
	}
	void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED) {
		crm_error_errno("%s: cannot read", path);
		return -1;
	}
	madvise(m, (size_t)st.st_size, MADV_SEQUENTIAL);
	if (!as_maildir_msg && st.st_size >= 5 && !memcmp(m, "From ", 5)) {
		mbox(b, path, m, (size_t)st.st_size, 1);
	} else {
		sb_addf(&origin, "%s %s", as_maildir_msg ? "maildir" : "file", path);
		one(b, m, (size_t)st.st_size, origin.buf, 0, NULL);
	}
	munmap(m, (size_t)st.st_size);
	sb_free(&origin);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A Maildir: new/ then cur/, each in name order (delivery order); files
 * are read, never moved, renamed or deleted. */
static int maildir(struct inb *b, const char *dir)
{
	static const char *const subs[] = { "new", "cur" };
	int rc = 0;

	for (size_t k = 0; k < ARRAY_SIZE(subs); k++) {
		struct sb d = SB_INIT;
		DIR *dp;
		struct dirent *de;
		char **names = NULL;
		size_t n = 0, cap = 0;

		sb_addf(&d, "%s/%s", dir, subs[k]);
		if (!(dp = opendir(d.buf))) {
			crm_error_errno("%s: cannot open", d.buf);
			sb_free(&d);
			rc = -1;
			continue;
		}
		while ((de = readdir(dp))) {
			if (de->d_name[0] == '.')
				continue;
			names = xgrow(names, sizeof(*names), n + 1, &cap);
			names[n++] = xstrdup(de->d_name);
		}
		closedir(dp);
		qsort(names, n, sizeof(*names), cmp_str);
		for (size_t i = 0; i < n; i++) {
			struct sb f = SB_INIT;
			sb_addf(&f, "%s/%s", d.buf, names[i]);
			if (read_file(b, f.buf, 1) < 0)
				rc = -1;
			sb_free(&f);
			free(names[i]);
		}
		free(names);
		sb_free(&d);
	}
	return rc;
}

static int is_maildir(const char *path)
{
	struct stat st;
	struct sb p = SB_INIT;
	int yes;

	sb_addf(&p, "%s/cur", path);
	yes = stat(p.buf, &st) == 0 && S_ISDIR(st.st_mode);
	sb_reset(&p);
	sb_addf(&p, "%s/new", path);
	yes = yes && stat(p.buf, &st) == 0 && S_ISDIR(st.st_mode);
	sb_free(&p);
	return yes;
}

int inbound_run(struct crm *crm, const struct inbound_opts *o, char **paths)
{
	struct inb b = { .crm = crm, .o = o, .db = crm->db };
	struct conf *conf;
	int rc = 0;
	const char *age;

	if (!(b.secret = db_meta_get(b.db, "secret")))
		crm_die(1, "%s: the database has no secret", crm->db_path);
	conf = conf_load(crm);
	supp_conf_read(conf, &b.sc);
	b.max_age_days = 90;
	if ((age = conf_get(conf, "bounces", "max_age"))) {
		char *end;
		long d = strtol(age, &end, 10);
		if (end == age || (*end && strcmp(end, "d")) || d < 0 || d > 36500)
			crm_die(1, "%s: [bounces] max_age = \"%s\": expected a number of days "
				"(0: no limit)", conf_name(conf), age);
		b.max_age_days = (int)d;
	}
	if (o->quarantine) {
		static const char *const subs[] = { "tmp", "new", "cur" };
		mkdir_p(o->quarantine);
		for (size_t i = 0; i < ARRAY_SIZE(subs); i++) {
			struct sb d = SB_INIT;
			sb_addf(&d, "%s/%s", o->quarantine, subs[i]);
			mkdir_p(d.buf);
			sb_free(&d);
		}
	}
	b.batch = o->batch > 0 ? o->batch : 500;
	norm_fmt_time(crm->now, b.now);
	prepare(&b);
	db_begin(b.db);
	for (char **p = paths; *p; p++) {
		if (!strcmp(*p, "-")) {
			struct sb in = SB_INIT;
			const char *env = o->envelope_to ? o->envelope_to : getenv("ORIGINAL_RECIPIENT");
			if (read_all(STDIN_FILENO, &in) < 0)
				crm_die_errno(1, "standard input: cannot read");
			if (o->mbox)
				mbox(&b, "(stdin)", in.buf ? in.buf : "", in.len, 0);
			else if (in.len)
				one(&b, in.buf, in.len, "stdin", 1, env);
			else
				crm_warn("standard input: empty, no message");
			sb_free(&in);
		} else if (is_maildir(*p)) {
			if (maildir(&b, *p) < 0)
				rc = 1;
		} else if (read_file(&b, *p, 0) < 0) {
			rc = 1;
		}
	}
	db_commit(b.db);
	finalize(&b);
	crm_note("bounces: %ld read: %ld applied, %ld recorded, %ld ignored, %ld quarantined; "
		 "%ld hard, %ld soft, %ld policy, %ld complaints, %ld auto-replies, %ld delayed, "
		 "%ld unclassified, %ld not reports; %ld read before",
		 b.read, b.applied, b.recorded, b.ignored, b.quarantined, b.kinds[BOUNCE_HARD],
		 b.kinds[BOUNCE_SOFT], b.kinds[BOUNCE_POLICY], b.kinds[BOUNCE_COMPLAINT],
		 b.kinds[BOUNCE_AUTOREPLY], b.kinds[BOUNCE_DELAYED], b.kinds[BOUNCE_UNKNOWN],
		 b.kinds[BOUNCE_NONE], b.seen_before);
	free(b.secret);
	conf_free(conf);
	return rc;
}
