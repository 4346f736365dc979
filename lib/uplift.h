/*
 * uplift.h - crm-score uplift: who a campaign changes. Learns from the
 * treatment and control rows of past campaigns (lib/uplift.c), with the
 * statistics of lib/uplift_fit.c, and scores every customer.
 */
#ifndef CRM_UPLIFT_H
#define CRM_UPLIFT_H

#include <stddef.h>
#include <stdint.h>

#include "crm.h"

enum uplift_outcome { UPLIFT_CONVERTED, UPLIFT_REVENUE };
enum uplift_method { UPLIFT_AUTO, UPLIFT_TLEARNER, UPLIFT_CT };

struct uplift_opts {
	const char **campaigns;   /* --campaign, at least one */
	size_t ncampaigns;
	const char *name;         /* --as: default the first campaign's name */
	int64_t window;           /* seconds after the message (default 14 days) */
	enum uplift_outcome outcome;
	enum uplift_method method;
	int folds;                /* cross-validation folds (default 3) */
	uint64_t seed;            /* which fold a customer is in */
	int min_group;            /* the refusal rule: recipients per group ... */
	int min_events;           /* ... and conversions per group */
	const char *rows;         /* --rows FILE: the rows and their out-of-fold predictions */
};

int uplift_run(struct crm *crm, const struct uplift_opts *o);

/* ---- lib/uplift_fit.c: the statistics, on rows of a feature matrix ---- */

/* Rows idx[0..n) of X (row-major, d columns, already standardised) with
 * outcome y and weight w (NULL: 1): an L2-penalised (lambda, intercept
 * free) logistic regression, or ridge regression; beta has d + 1 values,
 * the intercept first. 0, or -1 when the fit failed. */
int ufit_logistic(const double *X, size_t d, const double *y, const double *w,
		  const size_t *idx, size_t n, double lambda, double *beta);
int ufit_ridge(const double *X, size_t d, const double *y, const double *w,
	       const size_t *idx, size_t n, double lambda, double *beta);
double ufit_linear(const double *x, size_t d, const double *beta);
double ufit_sigmoid(double z);

/* The normalised Qini coefficient of scores s for outcomes y of rows
 * treated (t 1) or not: the area between the Qini curve and the random
 * line over the same area for the perfect ordering (scikit-uplift's
 * qini_auc_score). Rows idx[0..n) (NULL: 0..n). NaN when undefined. */
double ufit_qini(const double *s, const double *y, const unsigned char *t, const size_t *idx,
		 size_t n);

#endif
