/*
 * seg.h - running segment expressions against the base (the engine behind
 * crm-segment): builds one read-only query around a compiled expression
 * (expr.h), guarded by the expression authorizer, and writes the matching
 * customers with out.h; saved segments and their tracked membership.
 *
 * Where the candidates come from:
 *   - the whole base (customers not erased), or
 *   - the customers of an input file (o->input: rows from another crm
 *     program, or ids, e-mails or phones; see who.h), in input order;
 *   - with --sample, a deterministic subset of the matches;
 *   - with --entered/--exited, the change between the current members
 *     of the saved segment and the matches now (recorded with --track).
 */
#ifndef CRM_SEG_H
#define CRM_SEG_H

#include <stdint.h>

#include "crm.h"

enum seg_hash { SEG_SHA256, SEG_MD5 };

struct seg_opts {
	const char *expr;      /* NULL or "": every customer */
	const char *label;     /* what errors in expr are called: "expression" */
	const char *fields;    /* comma-separated names, "all", NULL: default */
	const char *order_by;  /* FIELD or FIELD:desc, NULL: by customer */
	long limit;            /* -1: none */
	int count;             /* print the number of matches only */
	int show_sql;          /* print the query and parameters, run nothing */
	const char *why;       /* explain this customer (id, e-mail, phone) */
	const char *input;     /* filter the customers in this file ("-": stdin) */

	/* --sample: n customers, or pct percent of the matches */
	int sample;
	long sample_n;
	double sample_pct;     /* used when sample_n < 0 */
	uint64_t seed;

	/* --format audience */
	int audience;
	enum seg_hash hash;
	long min_size;

	/* tracking: segment (the saved segment's name) is needed */
	const char *segment;
	int track;             /* record the membership now */
	int entered, exited;   /* print who entered / exited */
};

/* Runs o on crm->db (open for reading, or for writing with o->track);
 * returns the exit status. Errors in the expression are reported as
 * "PROG: LABEL:LINE:COL: MSG" (status 2). */
int seg_run(struct crm *crm, const struct seg_opts *o);

/* Calls fn(arg, customer id) for every member of the saved segment name
 * now (crm->now), in customer order; returns their number, or -1 after
 * reporting an unknown segment or an expression that no longer compiles. */
long seg_foreach(struct crm *crm, const char *name, void (*fn)(void *, int64_t), void *arg);

/* Parses --sample: "N" or "P%" (0 < P <= 100). 0 or -1. */
int seg_parse_sample(const char *s, struct seg_opts *o);

/*
 * Saved segments (tables segments, segment_runs, segment_members).
 * Names are 1 to 64 of [A-Za-z0-9_.-], starting with a letter or digit.
 */
int seg_valid_name(const char *name);

/* Compiles expr (errors as for seg_run) and stores it under name,
 * replacing an earlier expression of that name; needs a write connection.
 * Returns the exit status. */
int seg_save(struct crm *crm, const char *name, const char *expr, const char *description);

/* The row id of a saved segment, or 0 when there is none. */
int64_t seg_id(struct crm *crm, const char *name);

/* The expression of a saved segment (malloc'd), or NULL after reporting
 * that there is none. */
char *seg_load(struct crm *crm, const char *name);

/* Prints the saved segments; returns the exit status. */
int seg_list(struct crm *crm);

/* Deletes a saved segment with its tracking history; write connection.
 * Returns the exit status. */
int seg_delete(struct crm *crm, const char *name);

#endif
