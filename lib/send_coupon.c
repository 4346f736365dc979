/*
 * crm-send: promo codes ({{coupon}}, {{coupon "POOL"}}; coupon.h).
 *
 * Each template (variant) takes its codes from one pool: the one its
 * {{coupon "POOL"}} names, or --coupons POOL for {{coupon}}. A treatment
 * row that is to be transmitted gets its code in the transaction that
 * claims it (send_claim()): the code already bound to the row if it has
 * one (a --retry, a --resend-in-doubt, a row given back after its sender
 * died), else the pool's first free code, bound to the row for good
 * (coupons.message_id, assigned_at). A rolled-back claim binds nothing; a
 * committed one binds the code before any of the message goes out. So a
 * row has at most one code ever, a code at most one row, and no message
 * is transmitted without its code. Rows held out (control), suppressed or
 * deferred get none.
 *
 * Before anything is sent, after planning: the treatment rows due that
 * have no code yet are counted per pool against its free codes, and a
 * pool that cannot serve them all stops the run with nothing recorded
 * (send_coupon_check()). Should a pool still run out during the run
 * (another campaign drew on it), the row that finds it empty is left
 * planned and the run stops.
 */
#include "send_int.h"

#include <stdlib.h>
#include <string.h>

#include "coupon.h"
#include "db.h"
#include "diag.h"

struct send_coupons {
	char *pool[SEND_MAX_VARIANTS];     /* per template, NULL: no codes */
	int64_t pool_id[SEND_MAX_VARIANTS];
	sqlite3_stmt *mine, *next, *take;
};

static struct send_coupons *cps(struct sender *s)
{
	if (!s->coupons)
		s->coupons = xcalloc(1, sizeof(*s->coupons));
	return s->coupons;
}

int send_coupon_is(const char *name)
{
	return !strncmp(name, "coupon", 6) && (!name[6] || name[6] == ':');
}

int send_coupon_name(struct sender *s, int v, const char *name, int line, int col)
{
	struct send_coupons *c = cps(s);
	const char *path = s->tpl[v].path, *pool = name[6] ? name + 7 : s->o->coupons;
	int64_t id;

	if (!pool) {
		crm_error("%s:%d:%d: {{coupon}} needs --coupons POOL (or name the pool: "
			  "{{coupon \"POOL\"}})", path, line, col);
		return CRM_EXIT_USAGE;
	}
	if (c->pool[v] && strcmp(c->pool[v], pool)) {
		crm_error("%s:%d:%d: a template takes its codes from one pool, not \"%s\" and \"%s\"",
			  path, line, col, c->pool[v], pool);
		return CRM_EXIT_USAGE;
	}
	if (c->pool[v])
		return 0;
	if (!(id = coupon_pool_id(s->db, pool))) {
		crm_error("%s:%d:%d: no coupon pool \"%s\" (crm-import coupons %s FILE, or "
			  "--generate N --pattern PATTERN, makes it)", path, line, col, pool, pool);
		return CRM_EXIT_USAGE;
	}
	c->pool[v] = xstrdup(pool);
	c->pool_id[v] = id;
	return 0;
}

int send_coupon_used(const struct sender *s)
{
	if (!s->coupons)
		return 0;
	for (int v = 0; v < s->ntpl; v++)
		if (s->coupons->pool[v])
			return 1;
	return 0;
}

/* The rows due in the campaign that template v would send and that have
 * no code yet. */
static int64_t needed(struct sender *s, int v)
{
	sqlite3_stmt *st = db_prepare(s->db,
		"SELECT count(*) FROM messages m WHERE m.campaign_id = ?1 AND m.grp = 'treatment'"
		" AND (m.status IN ('planned', 'deferred', 'transmitting')"
		"  OR (?2 AND m.status = 'in_doubt'))"
		" AND (?3 OR coalesce(m.variant, '') = ?4)"
		" AND NOT EXISTS (SELECT 1 FROM coupons k WHERE k.message_id = m.id)");
	int64_t n = 0;

	sqlite3_bind_int64(st, 1, s->campaign_id);
	sqlite3_bind_int(st, 2, s->o->resend_in_doubt);
	sqlite3_bind_int(st, 3, s->ntpl == 1);
	db_bind_text(st, 4, s->tpl[v].name, -1);
	if (db_row(st))
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

int send_coupon_check(struct sender *s)
{
	struct send_coupons *c = s->coupons;
	int status = 0;

	if (!c)
		return 0;
	for (int v = 0; v < s->ntpl; v++) {
		int64_t need = 0, have;
		int first = 1;

		if (!c->pool[v])
			continue;
		/* once per pool: the templates that share it add up */
		for (int w = 0; w < v; w++)
			first &= !c->pool[w] || strcmp(c->pool[w], c->pool[v]);
		if (!first)
			continue;
		for (int w = v; w < s->ntpl; w++)
			if (c->pool[w] && !strcmp(c->pool[w], c->pool[v]))
				need += needed(s, w);
		have = coupon_pool_free(s->db, c->pool_id[v]);
		crm_info("pool \"%s\": %lld unused codes, %lld needed at most", c->pool[v],
			 (long long)have, (long long)need);
		if (need > have) {
			crm_error("pool \"%s\" has %lld unused code%s, and campaign \"%s\" may need %lld "
				  "(its treatment rows not sent yet that have none): add codes "
				  "(crm-import coupons %s FILE, or --generate N) and run again; nothing "
				  "was sent or recorded", c->pool[v], (long long)have,
				  have == 1 ? "" : "s", s->o->campaign, (long long)need, c->pool[v]);
			status = 1;
		}
	}
	return status;
}

int send_coupon_take(struct sender *s, struct item *it)
{
	struct send_coupons *c = s->coupons;
	int v = 0;
	int64_t id;
	char now[20];

	if (!c)
		return 0;
	for (int k = 0; k < s->ntpl; k++)
		if (it->variant && !strcmp(s->tpl[k].name, it->variant))
			v = k;
	if (!c->pool[v])
		return 0;
	/* the row's own code, whatever pool it came from */
	c->mine = send_cached(s, &c->mine, "SELECT code FROM coupons WHERE message_id = ?");
	sqlite3_bind_int64(c->mine, 1, it->id);
	if (db_row(c->mine))
		it->coupon = xstrdup((const char *)sqlite3_column_text(c->mine, 0));
	sqlite3_reset(c->mine);
	if (it->coupon)
		return 0;
	c->next = send_cached(s, &c->next, "SELECT id, code FROM coupons"
			      " WHERE pool_id = ? AND assigned_at IS NULL ORDER BY id LIMIT 1");
	sqlite3_bind_int64(c->next, 1, c->pool_id[v]);
	if (!db_row(c->next)) {
		sqlite3_reset(c->next);
		s->stop = 1;
		snprintf(s->stop_reason, sizeof(s->stop_reason),
			 "pool \"%s\" has no unused code left (crm-import coupons %s adds some; "
			 "the rest of the campaign waits, planned)", c->pool[v], c->pool[v]);
		return -1;
	}
	id = sqlite3_column_int64(c->next, 0);
	it->coupon = xstrdup((const char *)sqlite3_column_text(c->next, 1));
	sqlite3_reset(c->next);
	send_fmt_now(s, now);
	c->take = send_cached(s, &c->take, "UPDATE coupons SET message_id = ?, assigned_at = ?"
			      " WHERE id = ? AND assigned_at IS NULL");
	sqlite3_bind_int64(c->take, 1, it->id);
	db_bind_text(c->take, 2, now, -1);
	sqlite3_bind_int64(c->take, 3, id);
	if (db_step_done(s->db, c->take) != 1)
		crm_die(1, "pool \"%s\": code taken twice", c->pool[v]);
	return 0;
}

void send_coupon_free(struct sender *s)
{
	struct send_coupons *c = s->coupons;

	if (!c)
		return;
	for (int v = 0; v < SEND_MAX_VARIANTS; v++)
		free(c->pool[v]);
	sqlite3_finalize(c->mine);
	sqlite3_finalize(c->next);
	sqlite3_finalize(c->take);
	free(c);
	s->coupons = NULL;
}
