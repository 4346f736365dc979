/*
 * imp_messages.c - crm-import messages: a past campaign's outbox, from a
 * file, so that an experiment run elsewhere (another tool, a published
 * test such as Hillstrom's) can be measured by crm-report campaign and
 * learnt from by crm-score uplift.
 *
 * One row per customer: campaign, customer (customer_id, email or phone),
 * group (treatment or control), variant, sent_at, channel (default email).
 * A campaign named for the first time is created. A treatment row is
 * recorded as sent at sent_at, a control row as held out then, exactly as
 * crm-send records them. The outbox keeps one row per campaign and
 * customer, ever: an imported row is updated when the file says
 * otherwise, and a row crm-send wrote is never replaced (the row is
 * rejected with the reason).
 */
#include "imp_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define IMPORTED "imported-" /* message_id of the rows this file wrote */

struct imp_messages {
	sqlite3_stmt *camp, *camp_add, *find, *add, *set;
};

static struct imp_messages *mx(struct imp *im)
{
	struct imp_messages *x = im->messages;

	if (x)
		return x;
	x = im->messages = xcalloc(1, sizeof(*x));
	x->camp = db_prepare(im->db, "SELECT id, channel FROM campaigns WHERE name = ?1");
	x->camp_add = db_prepare(im->db, "INSERT INTO campaigns (name, channel, created_at)"
				 " VALUES (?1, ?2, ?3)");
	x->find = db_prepare(im->db, "SELECT id, message_id, grp, variant, sent_at FROM messages"
			     " WHERE campaign_id = ?1 AND customer_id = ?2");
	x->add = db_prepare(im->db, "INSERT INTO messages (campaign_id, customer_id, channel, grp,"
			    " variant, status, message_id, attempts, planned_at, sent_at, updated_at)"
			    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, '" IMPORTED "' || ?1 || '-' || ?2,"
			    " ?7, ?8, ?8, ?9)");
	x->set = db_prepare(im->db, "UPDATE messages SET grp = ?2, variant = ?3, status = ?4,"
			    " attempts = ?5, planned_at = ?6, sent_at = ?6, updated_at = ?7"
			    " WHERE id = ?1");
	return x;
}

void imp_messages_close(struct imp *im)
{
	struct imp_messages *x = im->messages;

	if (!x)
		return;
	sqlite3_finalize(x->camp);
	sqlite3_finalize(x->camp_add);
	sqlite3_finalize(x->find);
	sqlite3_finalize(x->add);
	sqlite3_finalize(x->set);
	free(x);
	im->messages = NULL;
}

/* treatment or control, as people write them; -1 when neither */
static int group_of(const char *s, size_t n)
{
	static const char *const treat[] = { "treatment", "treated", "test", "t", "1", "true", "yes" };
	static const char *const ctrl[] = { "control", "holdout", "held_out", "c", "0", "false", "no" };
	char low[16];

	if (n >= sizeof(low))
		return -1;
	for (size_t i = 0; i < n; i++)
		low[i] = (char)ascii_lower((unsigned char)s[i]);
	low[n] = 0;
	for (size_t i = 0; i < ARRAY_SIZE(treat); i++)
		if (!strcmp(low, treat[i]))
			return 1;
	for (size_t i = 0; i < ARRAY_SIZE(ctrl); i++)
		if (!strcmp(low, ctrl[i]))
			return 0;
	return -1;
}

static int64_t campaign(struct imp *im, struct imp_messages *x, const char *name,
			const char *channel)
{
	int64_t id = 0;
	char now[20];

	sqlite3_bind_text(x->camp, 1, name, -1, SQLITE_TRANSIENT);
	if (db_step_row(im->db, x->camp)) {
		const char *ch = (const char *)sqlite3_column_text(x->camp, 1);
		id = sqlite3_column_int64(x->camp, 0);
		if (ch && strcmp(ch, channel)) {
			sb_reset(&im->tmp);
			sb_addf(&im->tmp, "campaign \"%s\" is a %s campaign, not %s", name, ch, channel);
			imp_reject(im, im->rec, im->tmp.buf);
			id = -1;
		}
	}
	sqlite3_reset(x->camp);
	if (id)
		return id;
	norm_fmt_time(im->crm->now, now);
	sqlite3_bind_text(x->camp_add, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(x->camp_add, 2, channel, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(x->camp_add, 3, now, -1, SQLITE_TRANSIENT);
	db_step_done(im->db, x->camp_add);
	sqlite3_reset(x->camp_add);
	return sqlite3_last_insert_rowid(im->db);
}

int imp_row_message(struct imp *im)
{
	struct imp_messages *x = mx(im);
	const char *s, *why, *variant, *sent;
	struct sb *ch = &im->v[F_CHANNEL];
	size_t n;
	int treat, rc;
	int64_t camp, cid;
	char now[20];

	imp_take_text(im, F_CAMPAIGN, "campaign");
	if (!imp_val(im, F_CAMPAIGN)) {
		imp_reject(im, im->rec, "no campaign");
		return -1;
	}
	if (!(s = imp_raw(im, F_GROUP, &n))) {
		imp_reject(im, im->rec, "no group (treatment or control)");
		return -1;
	}
	if ((treat = group_of(s, n)) < 0) {
		imp_reject_value(im, F_GROUP, "group", s, n, "treatment or control");
		return -1;
	}
	imp_take_text(im, F_VARIANT, "variant");
	variant = treat ? imp_val(im, F_VARIANT) : NULL;
	if (!imp_take_time(im, F_TIME, &why)) {
		sb_reset(&im->tmp);
		sb_addf(&im->tmp, why ? "invalid sent_at: %s" : "no sent_at", why);
		imp_reject(im, im->rec, im->tmp.buf);
		return -1;
	}
	sent = imp_val(im, F_TIME);
	sb_reset(ch);
	if ((s = imp_raw(im, F_CHANNEL, &n))) {
		for (size_t i = 0; i < n; i++)
			sb_addc(ch, ascii_lower((unsigned char)s[i]));
		if (!strcmp(ch->buf, "e-mail") || !strcmp(ch->buf, "mail"))
			sb_reset(ch), sb_adds(ch, "email");
		if (norm_consent_channel(ch->buf, ch->len, &why) != 0 || strchr(ch->buf, ':')) {
			sb_reset(&im->tmp);
			sb_adds(&im->tmp, "unknown channel ");
			imp_quote_val(&im->tmp, F_CHANNEL, s, n);
			sb_adds(&im->tmp, " (email, sms, push, telegram, whatsapp, viber or webhook)");
			imp_reject(im, im->rec, im->tmp.buf);
			return -1;
		}
	} else {
		sb_adds(ch, "email");
	}
	if ((camp = campaign(im, x, imp_val(im, F_CAMPAIGN), ch->buf)) < 0)
		return -1;
	if (!(cid = imp_resolve_customer(im)))
		return -1;
	norm_fmt_time(im->crm->now, now);
	sqlite3_bind_int64(x->find, 1, camp);
	sqlite3_bind_int64(x->find, 2, cid);
	if (db_step_row(im->db, x->find)) {
		int64_t id = sqlite3_column_int64(x->find, 0);
		const char *mid = (const char *)sqlite3_column_text(x->find, 1);
		const char *g = (const char *)sqlite3_column_text(x->find, 2);
		const char *v = (const char *)sqlite3_column_text(x->find, 3);
		const char *t = (const char *)sqlite3_column_text(x->find, 4);
		int same;

		if (!mid || strncmp(mid, IMPORTED, strlen(IMPORTED))) {
			sqlite3_reset(x->find);
			sb_reset(&im->tmp);
			sb_addf(&im->tmp, "campaign \"%s\" already has crm-send's message for this "
				"customer: the outbox keeps one row per campaign and customer, ever",
				imp_val(im, F_CAMPAIGN));
			imp_reject(im, im->rec, im->tmp.buf);
			return -1;
		}
		same = g && !strcmp(g, treat ? "treatment" : "control") &&
		       !strcmp(v ? v : "", variant ? variant : "") && t && !strcmp(t, sent);
		sqlite3_reset(x->find);
		if (same)
			return 2;
		sqlite3_bind_int64(x->set, 1, id);
		sqlite3_bind_text(x->set, 2, treat ? "treatment" : "control", -1, SQLITE_STATIC);
		if (variant)
			sqlite3_bind_text(x->set, 3, variant, -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_null(x->set, 3);
		sqlite3_bind_text(x->set, 4, treat ? "sent" : "control", -1, SQLITE_STATIC);
		sqlite3_bind_int(x->set, 5, treat);
		sqlite3_bind_text(x->set, 6, sent, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(x->set, 7, now, -1, SQLITE_TRANSIENT);
		db_step_done(im->db, x->set);
		sqlite3_reset(x->set);
		return 1;
	}
	sqlite3_reset(x->find);
	sqlite3_bind_int64(x->add, 1, camp);
	sqlite3_bind_int64(x->add, 2, cid);
	sqlite3_bind_text(x->add, 3, ch->buf, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(x->add, 4, treat ? "treatment" : "control", -1, SQLITE_STATIC);
	if (variant)
		sqlite3_bind_text(x->add, 5, variant, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(x->add, 5);
	sqlite3_bind_text(x->add, 6, treat ? "sent" : "control", -1, SQLITE_STATIC);
	sqlite3_bind_int(x->add, 7, treat);
	sqlite3_bind_text(x->add, 8, sent, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(x->add, 9, now, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(x->add);
	sqlite3_reset(x->add);
	if (rc != SQLITE_DONE)
		db_die(im->db, "cannot add the message");
	return 0;
}
