/*
 * ordstat.c - what an order's status makes it: see ordstat.h and crm.7
 * ORDERS.
 */
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "crm.h"
#include "db.h"
#include "diag.h"
#include "ordstat.h"
#include "util.h"

/*
 * The defaults. Purchases: what WooCommerce, Shopify, Magento, Olist and
 * most ERPs call an order that was paid or is being fulfilled. Kept but
 * not counted: not paid (yet), failed, abandoned. Refunds: the order was
 * given back whole (an amount >= 0 with such a status counts for nothing;
 * a negative amount is a refund whatever its status).
 */
static const char *const def_purchase[] = {
	"", "completed", "complete", "paid", "shipped", "delivered", "processing",
	"invoiced", "approved", "fulfilled", "partially_refunded", "partially_paid", NULL
};
static const char *const def_other[] = {
	"pending", "on_hold", "unpaid", "failed", "void", "voided", "draft", "checkout_draft",
	"created", "unavailable", "authorized", "abandoned", "expired", "awaiting_payment",
	"pending_payment", "declined", "trash", NULL
};
static const char *const def_refund[] = {
	"refunded", "returned", "cancelled", "chargeback", "reversed", NULL
};

struct list {
	const char *key;
	int cls;
	const char *const *def;
	char **v;    /* configured, NULL: the default */
	size_t n;
};

static struct list lists[] = {
	{ "purchase", ORD_PURCHASE, def_purchase, NULL, 0 },
	{ "other", ORD_OTHER, def_other, NULL, 0 },
	{ "refund", ORD_REFUND, def_refund, NULL, 0 },
};
#define NLISTS (sizeof(lists) / sizeof(lists[0]))

static struct sb signature = SB_INIT;

void ordstat_norm(const char *s, size_t n, struct sb *out)
{
	size_t i = 0;
	int us = 0;

	sb_reset(out);
	s = trim(s, &n);
	if (n >= 3 && !ascii_ncasecmp(s, "wc-", 3) && n > 3)
		i = 3;
	for (; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == ' ' || c == '-' || c == '_' || c == '\t') {
			us = out->len > 0;
			continue;
		}
		if (us)
			sb_addc(out, '_');
		us = 0;
		sb_addc(out, ascii_lower(c));
	}
	if (!out->buf)
		sb_adds(out, "");
	if (!strcmp(out->buf, "canceled") || !strcmp(out->buf, "cancel"))
		sb_reset(out), sb_adds(out, "cancelled");
	else if (!strcmp(out->buf, "refund"))
		sb_reset(out), sb_adds(out, "refunded");
	else if (!strcmp(out->buf, "return"))
		sb_reset(out), sb_adds(out, "returned");
}

/* In the configured list of l */
static int in_list(const struct list *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], s))
			return 1;
	return 0;
}

int ordstat_class(const char *status, int64_t amount, int *known)
{
	int cls = ORD_OTHER, k = 0;

	if (!status)
		status = "";
	/* the configured lists first (they add to the defaults, and naming
	 * a status moves it out of the default list that had it) */
	for (size_t i = 0; i < NLISTS && !k; i++)
		if (lists[i].v && in_list(&lists[i], status))
			cls = lists[i].cls, k = 1;
	for (size_t i = 0; i < NLISTS && !k; i++)
		for (size_t j = 0; lists[i].def[j] && !k; j++)
			if (!strcmp(lists[i].def[j], status))
				cls = lists[i].cls, k = 1;
	if (known)
		*known = k;
	if (amount < 0)
		return ORD_REFUND;
	return cls == ORD_REFUND ? ORD_OTHER : cls;
}

static void free_lists(void)
{
	for (size_t i = 0; i < NLISTS; i++) {
		for (size_t j = 0; j < lists[i].n; j++)
			free(lists[i].v[j]);
		free(lists[i].v);
		lists[i].v = NULL;
		lists[i].n = 0;
	}
}

static void make_signature(void)
{
	sb_reset(&signature);
	for (size_t i = 0; i < NLISTS; i++) {
		const struct list *l = &lists[i];
		sb_addf(&signature, "%s%s=", i ? ";" : "", l->key);
		for (size_t j = 0; j < l->n; j++)
			sb_addf(&signature, "%s%s", j ? "," : "", l->v[j]);
		sb_adds(&signature, "+");
		for (size_t j = 0; l->def[j]; j++)
			sb_addf(&signature, "%s%s", j ? "," : "", l->def[j]);
	}
}

int ordstat_conf(const struct conf *conf)
{
	struct sb tok = SB_INIT;

	free_lists();
	for (size_t i = 0; conf && i < NLISTS; i++) {
		struct list *l = &lists[i];
		const char *v = conf_get(conf, "orders", l->key), *p, *e;
		size_t cap = 0;

		if (!v)
			continue;
		l->v = xgrow(NULL, sizeof(*l->v), 1, &cap);
		for (p = v; *p; p = *e ? e + 1 : e) {
			if (!(e = strchr(p, ',')))
				e = p + strlen(p);
			ordstat_norm(p, (size_t)(e - p), &tok);
			/* "" is the empty status: write it as "" or (empty) */
			if (!strcmp(tok.buf, "\"\"") || !strcmp(tok.buf, "(empty)"))
				sb_reset(&tok), sb_adds(&tok, "");
			else if (!*tok.buf)
				continue;
			l->v = xgrow(l->v, sizeof(*l->v), l->n + 1, &cap);
			l->v[l->n++] = xstrdup(tok.buf);
		}
	}
	/* a status in two configured lists is a mistake worth stopping for */
	for (size_t i = 0; i < NLISTS; i++)
		for (size_t j = i + 1; j < NLISTS; j++)
			for (size_t k = 0; lists[i].v && lists[j].v && k < lists[i].n; k++)
				if (in_list(&lists[j], lists[i].v[k])) {
					crm_error("%s: [orders] status \"%s\" is in both %s and %s",
						  conf_name(conf), lists[i].v[k], lists[i].key,
						  lists[j].key);
					sb_free(&tok);
					return -1;
				}
	sb_free(&tok);
	make_signature();
	return 0;
}

const char *ordstat_lists(void)
{
	if (!signature.buf)
		make_signature();
	return signature.buf;
}

static void class_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const unsigned char *s = sqlite3_value_text(argv[0]);

	(void)argc;
	sqlite3_result_int(ctx, ordstat_class((const char *)s, sqlite3_value_int64(argv[1]), NULL));
}

void ordstat_register(sqlite3 *db)
{
	if (sqlite3_create_function(db, "crm_order_class", 2,
				    SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY, NULL,
				    class_fn, NULL, NULL) != SQLITE_OK)
		db_die(db, "cannot register crm_order_class");
}

int64_t ordstat_apply(sqlite3 *db)
{
	const char *want = ordstat_lists();
	char *have = db_meta_get(db, "order_classes");
	int64_t changed = 0;

	if (!have || strcmp(have, want)) {
		ordstat_register(db);
		db_exec(db, "UPDATE orders SET purchase = crm_order_class(status, amount)"
			" WHERE purchase IS NOT crm_order_class(status, amount)");
		changed = sqlite3_changes64(db);
		if (changed)
			db_order_stats_rebuild(db);
		db_meta_set(db, "order_classes", want);
	}
	free(have);
	return changed;
}
