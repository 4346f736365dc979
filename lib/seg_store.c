/*
 * Saved segments: --save, -s, --list, --delete (the tracking itself is in
 * seg.c, next to the queries it runs).
 */
#include "seg.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "diag.h"
#include "expr.h"
#include "norm.h"
#include "out.h"
#include "util.h"

int seg_valid_name(const char *name)
{
	size_t n = strlen(name);

	if (n < 1 || n > 64 || !isalnum((unsigned char)name[0]))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("_.-", name[i]))
			return 0;
	return 1;
}

static void no_such(const char *name)
{
	crm_error("no saved segment \"%s\" (crm-segment --list shows them)", name);
}

int64_t seg_id(struct crm *crm, const char *name)
{
	sqlite3_stmt *st = db_prepare(crm->db, "SELECT id FROM segments WHERE name = ?");
	int64_t id = 0;

	db_bind_text(st, 1, name, -1);
	if (db_row(st))
		id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return id;
}

int seg_save(struct crm *crm, const char *name, const char *expr, const char *description)
{
	struct expr_err err;
	struct expr *e;
	sqlite3_stmt *st;
	char now[20];
	char *old = NULL;

	e = expr_compile(expr, crm->now, &err);
	if (!e) {
		crm_error("expression:%d:%d: %s", err.line, err.col, err.msg);
		return CRM_EXIT_USAGE;
	}
	expr_free(e);
	norm_fmt_time(crm->now, now);

	db_begin(crm->db);
	st = db_prepare(crm->db, "SELECT expr FROM segments WHERE name = ?");
	db_bind_text(st, 1, name, -1);
	if (db_row(st))
		old = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);

	st = db_prepare(crm->db,
		"INSERT INTO segments(name, expr, description, created_at, updated_at)"
		" VALUES (?1, ?2, coalesce(?3, ''), ?4, ?4)"
		" ON CONFLICT(name) DO UPDATE SET expr = excluded.expr,"
		" description = coalesce(?3, description), updated_at = ?4, scrubbed_at = NULL");
	db_bind_text(st, 1, name, -1);
	db_bind_text(st, 2, expr, -1);
	db_bind_text(st, 3, description, -1);
	db_bind_text(st, 4, now, -1);
	db_step_done(crm->db, st);
	sqlite3_finalize(st);
	if (crm->dry_run)
		db_rollback(crm->db);
	else
		db_commit(crm->db);

	if (!old)
		crm_note("segment \"%s\" %ssaved", name, crm->dry_run ? "not " : "");
	else if (strcmp(old, expr))
		crm_note("segment \"%s\" %sreplaced (it was: %s)", name,
			 crm->dry_run ? "not " : "", old);
	else
		crm_note("segment \"%s\" unchanged", name);
	free(old);
	return 0;
}

/* A segment that crm-import erase changed (see erase.h) may select
 * others than it did: say so whenever it is used or listed, until it is
 * saved again. */
static void warn_scrubbed(const char *name, const char *when)
{
	crm_warn("segment \"%s\" was changed by an erasure at %s (what named an erased person "
		 "now reads \"<erased>\"): it may no longer select what it did; check it and "
		 "save it again (--save) to clear this warning", name, when);
}

char *seg_load(struct crm *crm, const char *name)
{
	sqlite3_stmt *st = db_prepare(crm->db, "SELECT expr, scrubbed_at FROM segments WHERE name = ?");
	char *expr = NULL;

	db_bind_text(st, 1, name, -1);
	if (db_row(st)) {
		expr = xstrdup((const char *)sqlite3_column_text(st, 0));
		if (sqlite3_column_type(st, 1) != SQLITE_NULL)
			warn_scrubbed(name, (const char *)sqlite3_column_text(st, 1));
	}
	sqlite3_finalize(st);
	if (!expr)
		no_such(name);
	return expr;
}

int seg_list(struct crm *crm)
{
	sqlite3_stmt *st = db_prepare(crm->db,
		"SELECT s.name, s.expr AS expression, s.description,"
		" r.members, r.run_at AS tracked_at, s.updated_at"
		" FROM segments s LEFT JOIN segment_runs r ON r.id ="
		" (SELECT max(id) FROM segment_runs WHERE segment_id = s.id)"
		" ORDER BY s.name");
	struct out *out = out_new(stdout, crm->format);
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		out_stmt_row(out, st);
	if (rc != SQLITE_DONE)
		db_die(crm->db, "cannot list segments");
	if (!out_has_columns(out)) {
		static const char *const cols[] = {
			"name", "expression", "description", "members", "tracked_at", "updated_at",
		};
		out_columns(out, ARRAY_SIZE(cols), cols);
	}
	out_finish(out);
	sqlite3_finalize(st);
	/* the columns stay those scripts know; the mark goes to stderr */
	st = db_prepare(crm->db, "SELECT name, scrubbed_at FROM segments"
			" WHERE scrubbed_at IS NOT NULL ORDER BY name");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		warn_scrubbed((const char *)sqlite3_column_text(st, 0),
			      (const char *)sqlite3_column_text(st, 1));
	if (rc != SQLITE_DONE)
		db_die(crm->db, "cannot list segments");
	sqlite3_finalize(st);
	return 0;
}

int seg_delete(struct crm *crm, const char *name)
{
	static const char *const del[] = {
		"DELETE FROM segment_members WHERE segment_id = ?",
		"DELETE FROM segment_runs WHERE segment_id = ?",
		"DELETE FROM segments WHERE id = ?",
	};
	sqlite3_stmt *st;
	int64_t id = 0;

	db_begin(crm->db);
	if (!(id = seg_id(crm, name))) {
		db_rollback(crm->db);
		no_such(name);
		return 1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(del); i++) {
		st = db_prepare(crm->db, del[i]);
		sqlite3_bind_int64(st, 1, id);
		db_step_done(crm->db, st);
		sqlite3_finalize(st);
	}
	if (crm->dry_run)
		db_rollback(crm->db);
	else
		db_commit(crm->db);
	crm_note("segment \"%s\" %sdeleted", name, crm->dry_run ? "not " : "");
	return 0;
}
