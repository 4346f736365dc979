/*
 * score.h - crm-score's runs: RFM scores and CLV (BG/NBD + Gamma-Gamma)
 * from the completed orders of the base, stored in the scores and models
 * tables (share/schema/004-scores.sql). The statistics are in
 * score_model.h; this is the part that reads orders, writes scores and
 * prints summaries.
 */
#ifndef CRM_SCORE_H
#define CRM_SCORE_H

#include <stdint.h>

#include "crm.h"

enum score_period { SCORE_DAY = 1, SCORE_WEEK = 7 };

struct score_opts {
	int64_t as_of;          /* orders up to this time (UTC seconds) */
	const char *currency;   /* NULL: the orders must be in one currency */
	int bins;               /* rfm: 2..9 */
	enum score_period period;
	int64_t horizon_days;
	double discount;        /* annual rate, >= 0 */
	int64_t holdout_end;    /* 0: none; else a validation run to this time */
	double penalty;         /* clv: L2 penalty on the log-parameters, >= 0 */
	enum score_model { SCORE_BGNBD, SCORE_PARETO, SCORE_MBGNBD, SCORE_AUTO } model; /* --model */
	int tracking;           /* clv --holdout-end --tracking: the tracking table */
};

int score_rfm(struct crm *crm, const struct score_opts *o);
int score_clv(struct crm *crm, const struct score_opts *o);

/* --as-of and --holdout-end: a date means the end of that day. 0 or -1. */
int score_parse_time(const char *s, int64_t *epoch);
/* --horizon: a norm_duration() of whole days, 1 to 36500: 52w, 365d,
 * 12mo (30 days), 1y (365 days). 0 or -1. */
int score_parse_duration(const char *s, int64_t *days);
/* --discount: 0.1 or 10%, per year, 0 <= rate < 10. 0 or -1. */
int score_parse_rate(const char *s, double *rate);

#endif
