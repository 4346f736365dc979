/*
 * ordstat.h - what an order's status makes it: a purchase, an order kept
 * but not counted, or a refund (crm.7 ORDERS; orders.purchase in
 * share/schema/009-lines-status.sql).
 *
 * Statuses are stored normalised: lower case, spaces and hyphens as
 * underscores, "wc-" (WooCommerce's prefix) dropped, and the spellings
 * canceled/cancel, refund and return as cancelled, refunded, returned.
 * Which status is which comes from crm.conf
 *
 *     [orders]
 *     purchase = completed, paid, ...   ; counted
 *     other    = pending, on_hold, ...  ; kept, not counted
 *     refund   = refunded, returned, ...
 *
 * each list adding to its defaults (ordstat.c), naming a status moving it
 * out of the default list that had it. A status in no list
 * is not a purchase, and crm-import warns about it. An amount below zero
 * is a refund whatever the status.
 */
#ifndef CRM_ORDSTAT_H
#define CRM_ORDSTAT_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

struct conf;
struct sb;

enum { ORD_OTHER = 0, ORD_PURCHASE = 1, ORD_REFUND = -1 };

/* Reads [orders] from conf (NULL: the defaults). Returns 0, or -1 after
 * an error naming the file and key (a status in two lists). */
int ordstat_conf(const struct conf *conf);
/* The normalised form of s[0..n) into out (reset first). */
void ordstat_norm(const char *s, size_t n, struct sb *out);
/* What an order of a normalised status (NULL: none, a purchase) and
 * amount counts as: ORD_PURCHASE, ORD_OTHER or ORD_REFUND. *known, when
 * not NULL, is set to whether a list names the status. */
int ordstat_class(const char *status, int64_t amount, int *known);
/* SQL function crm_order_class(status, amount) on db: ordstat_class(). */
void ordstat_register(sqlite3 *db);
/* When the lists differ from those the base's orders were classified
 * with (meta "order_classes"), classifies them all again and rebuilds
 * order_stats, in the caller's write transaction. Returns the number of
 * orders whose class changed. */
int64_t ordstat_apply(sqlite3 *db);
/* The lists as a text ("purchase=a,b;other=...;refund=..."), for meta and
 * for messages. */
const char *ordstat_lists(void);

#endif
