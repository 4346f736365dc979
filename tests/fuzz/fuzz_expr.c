/*
 * fuzz_expr.c - the expression compiler of crm-segment (lib/expr*.c).
 *
 * The input is the expression text. An in-memory database is created and
 * migrated once with the project's schema through db_open() (lib/db.c),
 * with a few customers, orders, events, consents, scores and messages.
 * Every expression that compiles is put into the statements crm-segment
 * makes of it (the query, and the --why statement of its clauses, after
 * renumbering the parameters as a caller with parameters of its own
 * would), and each of those must:
 *
 * - prepare under expr_authorizer (the compiler promises to refuse what
 *   SQLite would not parse: its nesting limits);
 * - be read-only (expr_check_readonly);
 * - bind every parameter, and run to the end without an SQL error (a
 *   progress handler stops runs longer than 200k VM steps: that is not
 *   an error).
 *
 * Every parameter must also print as an SQL literal (--sql).
 */
#include "crm.h"
#include "db.h"
#include "diag.h"
#include "expr.h"
#include "fuzz.h"
#include "norm.h"
#include "util.h"

static struct crm crm;
static int64_t NOW;

static const char fixture[] =
	"INSERT INTO customers(id, external_id, email, phone, first_name, last_name, birthday,"
	" city, country, timezone, created_at, updated_at, attrs, is_stub, erased_at) VALUES"
	"(1,'C01','anna@example.com','+79161234567','Anna','Ivanova','1990-02-14','Kazan','RU',"
	" 'Europe/Moscow','2025-01-10 00:00:00','2026-11-22 00:00:00',"
	" '{\"plan\":\"pro\",\"age\":34,\"vip\":true,\"score\":7.5,\"tags\":[1,2],\"o\":{\"a\":1}}',0,NULL),"
	"(2,'C02','bob@example.org','+12125550143','Bob','Smith','1985-12-31','New York','US',"
	" 'America/New_York','2024-06-01 00:00:00','2026-11-22 00:00:00',"
	" '{\"plan\":\"free\",\"age\":\"41\",\"vip\":\"no\",\"when\":\"2026-01-02\"}',0,NULL),"
	"(3,'C03',NULL,NULL,NULL,NULL,'2000-02-29',NULL,NULL,NULL,NULL,'2026-11-22 00:00:00','{}',1,NULL),"
	"(4,'C04','x@example.com',NULL,'x''; DROP TABLE customers; --',NULL,NULL,NULL,NULL,'Nowhere/Bad',"
	" 'garbage','2026-11-22 00:00:00','{\"age\":1e308,\"n\":null}',0,NULL),"
	"(5,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,'2026-11-22 00:00:00','{}',0,'2026-01-01 00:00:00');"
	"INSERT INTO orders(id, external_id, customer_id, ordered_at, amount, currency, status) VALUES"
	"(1,'O1',1,'2026-08-25 12:00:00',100050,'RUB','completed'),"
	"(2,'O2',1,'2026-11-01 10:00:00',300000,'RUB','completed'),"
	"(3,'O3',1,'2026-10-01 10:00:00',5000,'RUB','refunded'),"
	"(4,'O4',2,'2025-12-01 00:00:00',12000,'JPY','completed'),"
	"(5,'O5',2,'2026-11-20 00:00:00',5000,'USD','completed'),"
	"(6,'O6',4,'2027-01-01 00:00:00',12345,'KWD','completed'),"
	"(7,'O7',4,'1970-01-01 00:00:00',9223372036854775807,'XXX','completed');"
	"INSERT INTO events(id, external_id, customer_id, type, occurred_at, campaign, message_id, props) VALUES"
	"(1,'E1',1,'cart_add','2026-11-22 10:00:00',NULL,NULL,'{\"sku\":\"A1\"}'),"
	"(2,'E2',1,'email_opened','2026-11-20 10:00:00','promo',NULL,NULL),"
	"(3,'E3',2,'site_visit','2026-11-23 11:00:00',NULL,NULL,NULL),"
	"(4,'E4',4,'email_clicked','2026-11-21 09:00:00','promo','<x@y>',NULL);"
	"INSERT INTO consents(customer_id, channel, granted, recorded_at, source) VALUES"
	"(1,'email',1,'2026-01-01 00:00:00','import'),(1,'sms',0,'2026-02-01 00:00:00','import'),"
	"(2,'email',1,'2026-01-01 00:00:00',''),(2,'email',0,'2026-11-01 00:00:00','');"
	"INSERT INTO campaigns(id, name, channel, created_at) VALUES"
	"(1,'promo','email','2026-11-01 00:00:00'),(2,'welcome-1','email','2026-10-01 00:00:00');"
	"INSERT INTO messages(campaign_id, customer_id, channel, grp, status, message_id, planned_at,"
	" sent_at, updated_at) VALUES"
	"(1,1,'email','treatment','sent','<m1@x>','2026-11-01 00:00:00','2026-11-01 00:00:01','2026-11-01 00:00:01'),"
	"(1,2,'email','control','control','<m2@x>','2026-11-01 00:00:00',NULL,'2026-11-01 00:00:01'),"
	"(2,1,'email','treatment','sent','<m3@x>','2026-10-01 00:00:00','2026-10-01 00:00:01','2026-10-01 00:00:01');"
	"INSERT INTO orders(id, external_id, customer_id, ordered_at, amount, currency, status) VALUES"
	"(8,'O8',2,'2026-11-21 00:00:00',-5000,'USD','refunded'),"
	"(9,'O9',1,'2026-11-22 00:00:00',700,'RUB','unpaid');"
	"INSERT INTO products(id, sku, name, category, updated_at) VALUES"
	"(1,'SKU-1','Red Shoes','Shoes','2026-01-01 00:00:00'),(2,'SKU-2',NULL,NULL,'2026-01-01 00:00:00'),"
	"(3,'x''; --','Hat','hats','2026-01-01 00:00:00');"
	"INSERT INTO order_lines(order_id, line, product_id, quantity, unit_price, amount) VALUES"
	"(1,1,1,2,50025,100050),(2,1,3,1,300000,300000),(4,1,1,1,12000,12000),(5,1,2,1,5000,5000),"
	"(8,1,2,-1,5000,-5000),(7,1,1,1e300,9223372036854775807,9223372036854775807),"
	"(9,1,1,0.5,1400,700),(3,1,3,1,5000,5000);";

static void setup(void)
{
	char *err = NULL;
	int y = 2026, m = 11, d = 23;

	crm_progname = "fuzz_expr";
	crm.db_path = ":memory:";
	db_open(&crm, DB_WRITE);
	if (sqlite3_exec(crm.db, fixture, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "fixture: %s\n", err);
		abort();
	}
	db_order_stats_rebuild(crm.db);
	expr_register(crm.db);
	NOW = norm_days_from_civil(y, m, d) * 86400 + 12 * 3600;
}

static int progress(void *arg)
{
	(void)arg;
	return 1; /* interrupt */
}

/* Prepares, checks, binds and runs sql; first is expr_renumber's. */
static void run(const struct expr *e, const char *sql, int first, int extra)
{
	sqlite3_stmt *st = NULL;
	int rc;

	sqlite3_set_authorizer(crm.db, expr_authorizer, NULL);
	rc = sqlite3_prepare_v2(crm.db, sql, -1, &st, NULL);
	sqlite3_set_authorizer(crm.db, NULL, NULL);
	if (rc != SQLITE_OK)
		fz_dump("sql", sql, strlen(sql));
	FZ_CHECK(rc == SQLITE_OK, "a compiled expression does not prepare: %s",
		 sqlite3_errmsg(crm.db));
	FZ_CHECK(expr_check_readonly(st) == 0, "a compiled expression is not read-only");
	for (int i = 1; i < first; i++)
		FZ_CHECK(sqlite3_bind_int(st, i, 1) == SQLITE_OK, "bind ?%d", i);
	rc = expr_bind(e, st, first);
	FZ_CHECK(rc == SQLITE_OK, "expr_bind: %s", sqlite3_errstr(rc));
	if (extra)
		sqlite3_bind_int(st, extra, 1);
	sqlite3_progress_handler(crm.db, 200000, progress, NULL);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	sqlite3_progress_handler(crm.db, 0, NULL, NULL);
	if (rc != SQLITE_DONE && rc != SQLITE_INTERRUPT)
		fz_dump("sql", sql, strlen(sql));
	FZ_CHECK(rc == SQLITE_DONE || rc == SQLITE_INTERRUPT, "a compiled expression fails to run: %s",
		 sqlite3_errmsg(crm.db));
	sqlite3_finalize(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct expr_err err;
	struct expr *e;
	struct sb sql = SB_INIT, p = SB_INIT;
	char *text;
	size_t n;

	if (!crm.db)
		setup();
	if (size > 4096) /* the limits are tested by the unit tests */
		return 0;
	text = fz_str(data, size);
	e = expr_compile(text, NOW, &err);
	if (!e) {
		FZ_CHECK(err.line >= 1 && err.col >= 1, "error at %d:%d", err.line, err.col);
		FZ_CHECK(err.msg[0] != 0, "error without a message");
		free(text);
		return 0;
	}
	for (size_t i = 0; i < expr_nparams(e); i++) {
		sb_reset(&p);
		expr_param_text(e, i, &p);
		FZ_CHECK(p.len > 0, "parameter %zu prints as nothing", i);
	}
	/* crm-segment's query */
	sb_addf(&sql, "SELECT c.id FROM customers c WHERE (%s) AND c.erased_at IS NULL", expr_sql(e));
	run(e, sql.buf, 1, 0);

	/* --why: every clause's condition and value for one customer, with
	 * the parameters after two of the caller's own */
	expr_renumber(e, 3);
	n = expr_nclauses(e);
	FZ_CHECK(n >= 1, "no clauses");
	if (n > 500)
		n = 500;
	sb_reset(&sql);
	sb_adds(&sql, "SELECT ?1, ?2");
	for (size_t i = 0; i < n; i++) {
		const struct expr_clause *c = expr_clause(e, i);

		FZ_CHECK(c->start + c->len <= size, "clause %zu outside the text", i);
		FZ_CHECK(c->len == strlen(c->text) && !memcmp(c->text, text + c->start, c->len),
			 "clause %zu text is not its range", i);
		sb_addf(&sql, ", (%s), %s", c->cond, c->value ? c->value : "NULL");
	}
	sb_addf(&sql, " FROM customers c WHERE c.id = ?%zu", 3 + expr_nparams(e));
	run(e, sql.buf, 3, (int)(3 + expr_nparams(e)));
	sb_free(&sql);
	sb_free(&p);
	expr_free(e);
	free(text);
	return 0;
}
