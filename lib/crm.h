/*
 * crm.h - the context every program passes around instead of globals:
 * the database handle, the resolved paths, the output format, "now".
 *
 * opt_parse() fills it from the common options and the environment
 * (CRM_DB, CRM_NOW, CRM_CONFIG); db_open() opens crm->db.
 */
#ifndef CRM_CRM_H
#define CRM_CRM_H

#include <stdint.h>
#include <sqlite3.h>

#include "out.h"

struct crm {
	const char *db_path;     /* --db, $CRM_DB, "crm.db" */
	sqlite3 *db;
	const char *config_path; /* --config, $CRM_CONFIG, ... (NULL: none) */
	enum out_format format;  /* -f; table on a terminal, else csv */
	int format_given;
	int format_extra;        /* -f named the program's extra format */
	int64_t now;             /* --now, $CRM_NOW, else the clock (UTC seconds) */
	int dry_run;
};

/* The entry point each program defines; lib/main.c calls it. */
int cmd_main(int argc, char **argv);

#endif
