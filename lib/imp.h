/*
 * imp.h - importing customers, orders, events and consents into the base,
 * and erasing people from it (the engine behind crm-import).
 *
 * Rows are read with rec.h, normalised with norm.h and upserted so that
 * importing the same file twice changes nothing. Bad rows are reported
 * (stderr, --rejects file) and skipped; the good ones are kept. Work is
 * committed in batches, each atomically, so that a killed import can be
 * re-run to the same result.
 */
#ifndef CRM_IMP_H
#define CRM_IMP_H

#include <stdint.h>

#include "crm.h"
#include "norm.h"
#include "rec.h"

enum imp_kind { IMP_CUSTOMERS, IMP_ORDERS, IMP_EVENTS, IMP_CONSENTS, IMP_ERASE, IMP_LINES,
		IMP_PRODUCTS, IMP_RATES, IMP_REWARDS, IMP_MESSAGES };

struct imp_map {
	const char *from; /* column name in the file */
	const char *to;   /* field name, "attr.NAME", or "" to ignore */
};

struct imp_opts {
	enum imp_kind kind;
	struct rec_opts rec;
	struct norm_opts norm;
	const char *currency;     /* when the file has no currency column */
	const char *rejects_path; /* NULL: none */
	long max_rejects;         /* -1: no limit; else abort and roll back */
	int strict;               /* unknown customers are rejected, not stubbed */
	const char *source;       /* consent source, default "import" */
	struct imp_map *maps;
	size_t nmaps;
	long batch;               /* rows per transaction, 0 = default */
	int tz_given;             /* --timezone: naive times are local */
	/* imp_session_feed: each rejected row goes here (its line and the
	 * reason crm-import would print) instead of stderr and the rejects
	 * file, and warnings are not printed */
	void (*on_reject)(void *ud, long line, const char *reason);
	void *reject_ud;
};

struct imp_stats {
	uint64_t read, inserted, updated, unchanged, rejected, stubs, warnings;
	uint64_t erased, not_found;
	/* data quality (imported all the same, said at the end): rows whose
	 * customer id is a placeholder ("(blank)", "0", "n/a"...), negative
	 * amounts, times more than a day after now */
	uint64_t placeholder, negative, future;
	char placeholder_value[24];
	/* rows whose order or event id an earlier row of the file had (the
	 * later row wins), and the first such id */
	uint64_t dupes;
	char dupe_value[24];
};

/* Parses a --kind word; -1 when unknown. */
int imp_kind_parse(const char *s, enum imp_kind *k);
const char *imp_kind_name(enum imp_kind k);

/* Which customer key a column name is, by the same names crm-import
 * accepts ("E-Mail", "customer_id", "mobile", ...): 0 external id,
 * 1 e-mail, 2 phone, -1 none of them. */
int imp_key_column(const char *name);

/* Adds a --map FROM=TO; -1 when spec has no '='. */
int imp_add_map(struct imp_opts *o, const char *spec);

/* Imports every file (NULL-terminated list; "-" is stdin) into crm->db,
 * which must be open for writing. Returns the exit status: 0, 1 (a file
 * could not be read or was refused; or --max-rejects exceeded, in which
 * case nothing was kept), or 3 (some rows were rejected). */
int imp_run(struct crm *crm, const struct imp_opts *o, char **files);

/*
 * The same import inside a transaction someone else holds (crm-track's
 * collector): imp_session_open prepares on crm->db; the caller begins a
 * write transaction, calls imp_session_begin, feeds any number of
 * buffers, calls imp_session_flush and commits (or rolls back and calls
 * imp_session_begin again before the next feed). A row's rejection goes
 * to o->on_reject. imp_session_feed returns 0, or -1 when the buffer as a
 * whole could not be read (a CSV header it refused: a reason was given
 * with line 0); *st gets its counts.
 */
struct imp *imp_session_open(struct crm *crm, const struct imp_opts *o);
void imp_session_begin(struct imp *im);
int imp_session_feed(struct imp *im, const char *name, const char *buf, size_t len,
		     struct imp_stats *st);
void imp_session_flush(struct imp *im);
void imp_session_close(struct imp *im);

#endif
