/*
 * seg.h - running segment expressions against the base (the engine behind
 * crm-segment): builds one read-only query around a compiled expression
 * (expr.h), guarded by the expression authorizer, and writes the matching
 * customers with out.h.
 */
#ifndef CRM_SEG_H
#define CRM_SEG_H

#include "crm.h"

struct seg_opts {
	const char *expr;      /* NULL or "": every customer */
	const char *fields;    /* comma-separated names, "all", NULL: default */
	const char *order_by;  /* FIELD or FIELD:desc, NULL: by customer */
	long limit;            /* -1: none */
	int count;             /* print the number of matches only */
	int show_sql;          /* print the query and parameters, run nothing */
};

/* Runs o on crm->db (open for reading); returns the exit status. Errors
 * in the expression are reported as "PROG: expression:LINE:COL: MSG"
 * (status 2). */
int seg_run(struct crm *crm, const struct seg_opts *o);

#endif
