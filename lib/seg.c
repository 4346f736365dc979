#include "seg.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "diag.h"
#include "expr.h"
#include "out.h"
#include "util.h"

#define DEFAULT_FIELDS "id,email,phone,first_name"

/* Appends the SQL of one output field with its name as the column alias.
 * Returns 0, or -1 after reporting an unknown or unavailable name. */
static int add_field(struct crm *crm, struct sb *sql, const char *name)
{
	struct sb v = SB_INIT;
	int rc = expr_field_sql(name, crm->now, &v);

	if (rc == -1)
		crm_error("unknown field \"%s\" (crm-segment --fields all lists them)", name);
	else if (rc == -2)
		crm_error("field \"%s\" is not available yet", name);
	if (rc < 0) {
		sb_free(&v);
		return -1;
	}
	sb_adds(sql, v.buf);
	sb_adds(sql, " AS \"");
	for (const char *p = name; *p; p++) {
		if (*p == '"')
			sb_addc(sql, '"');
		sb_addc(sql, *p);
	}
	sb_addc(sql, '"');
	sb_free(&v);
	return 0;
}

static int add_fields(struct crm *crm, struct sb *sql, const char *list)
{
	int n = 0;

	if (!strcmp(list, "all")) {
		struct expr_name en;
		for (size_t i = 0; expr_name_at(i, &en) == 0; i++) {
			if (en.is_function || !en.available)
				continue;
			if (n++)
				sb_adds(sql, ", ");
			if (add_field(crm, sql, en.name) < 0)
				return -1;
		}
		return 0;
	}
	for (const char *p = list; *p;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		const char *t = trim(p, &len);
		char *name = xstrndup(t, len);
		int rc = 0;

		if (*name) {
			if (n++)
				sb_adds(sql, ", ");
			rc = add_field(crm, sql, name);
		}
		free(name);
		if (rc < 0)
			return -1;
		p = comma ? comma + 1 : p + strlen(p);
	}
	if (!n) {
		crm_error("--fields names no field");
		return -1;
	}
	return 0;
}

static int add_order(struct crm *crm, struct sb *sql, const char *spec)
{
	const char *colon = strrchr(spec, ':');
	char *name = xstrndup(spec, colon ? (size_t)(colon - spec) : strlen(spec));
	struct sb v = SB_INIT;
	int desc = 0, rc;

	if (colon && !ascii_casecmp(colon + 1, "desc"))
		desc = 1;
	else if (colon && ascii_casecmp(colon + 1, "asc")) {
		crm_error("invalid --order-by \"%s\" (FIELD, FIELD:asc or FIELD:desc)", spec);
		free(name);
		return -1;
	}
	rc = expr_field_sql(name, crm->now, &v);
	if (rc < 0)
		crm_error("cannot order by \"%s\": %s", name,
			  rc == -1 ? "unknown field" : "not available yet");
	else
		sb_addf(sql, " ORDER BY %s %s NULLS LAST, c.id", v.buf, desc ? "DESC" : "ASC");
	sb_free(&v);
	free(name);
	return rc < 0 ? -1 : 0;
}

static void print_sql(const char *sql, const struct expr *e)
{
	struct sb p = SB_INIT;
	printf("%s;\n", sql);
	for (size_t i = 0; e && i < expr_nparams(e); i++) {
		sb_reset(&p);
		expr_param_text(e, i, &p);
		printf("-- ?%zu = %s\n", i + 1, p.buf);
	}
	sb_free(&p);
}

int seg_run(struct crm *crm, const struct seg_opts *o)
{
	struct expr *e = NULL;
	struct expr_err err;
	struct sb sql = SB_INIT;
	sqlite3_stmt *st = NULL;
	int rc, status = 0;

	if (o->expr && *o->expr) {
		e = expr_compile(o->expr, crm->now, &err);
		if (!e) {
			crm_error("expression:%d:%d: %s", err.line, err.col, err.msg);
			return CRM_EXIT_USAGE;
		}
	}
	if (o->count) {
		sb_adds(&sql, "SELECT count(*) AS count");
	} else {
		sb_adds(&sql, "SELECT ");
		if (add_fields(crm, &sql, o->fields ? o->fields : DEFAULT_FIELDS) < 0) {
			status = CRM_EXIT_USAGE;
			goto out;
		}
	}
	sb_adds(&sql, " FROM customers c WHERE c.erased_at IS NULL");
	if (e)
		sb_addf(&sql, " AND (%s)", expr_sql(e));
	if (!o->count) {
		if (o->order_by) {
			if (add_order(crm, &sql, o->order_by) < 0) {
				status = CRM_EXIT_USAGE;
				goto out;
			}
		} else {
			sb_adds(&sql, " ORDER BY c.id");
		}
		if (o->limit >= 0)
			sb_addf(&sql, " LIMIT %ld", o->limit);
	}
	if (o->show_sql) {
		print_sql(sql.buf, e);
		goto out;
	}

	expr_register(crm->db);
	sqlite3_set_authorizer(crm->db, expr_authorizer, NULL);
	rc = sqlite3_prepare_v2(crm->db, sql.buf, -1, &st, NULL);
	sqlite3_set_authorizer(crm->db, NULL, NULL);
	if (rc != SQLITE_OK)
		crm_die(1, "%s: cannot run the expression: %s", crm->db_path, sqlite3_errmsg(crm->db));
	if (expr_check_readonly(st) < 0)
		crm_die(1, "refusing to run a statement that could write");
	if (e && expr_bind(e, st, 1) != SQLITE_OK)
		crm_die(1, "%s: %s", crm->db_path, sqlite3_errmsg(crm->db));

	if (o->count) {
		/* a bare number, like grep -c and wc -l */
		if (sqlite3_step(st) != SQLITE_ROW)
			crm_die(1, "%s: %s", crm->db_path, sqlite3_errmsg(crm->db));
		printf("%lld\n", (long long)sqlite3_column_int64(st, 0));
		if (fflush(stdout) != 0)
			out_write_failed(stdout);
		goto out;
	}
	struct out *out = out_new(stdout, crm->format);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		out_stmt_row(out, st);
	if (rc != SQLITE_DONE)
		crm_die(1, "%s: %s", crm->db_path, sqlite3_errmsg(crm->db));
	if (!out_has_columns(out)) {
		/* no rows: the header still says what the columns are */
		const char **names = xcalloc(sqlite3_column_count(st) + 1, sizeof(char *));
		for (int i = 0; i < sqlite3_column_count(st); i++)
			names[i] = sqlite3_column_name(st, i);
		out_columns(out, sqlite3_column_count(st), names);
		free(names);
	}
	out_finish(out);
out:
	sqlite3_finalize(st);
	expr_free(e);
	sb_free(&sql);
	return status;
}
