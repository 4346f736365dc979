/*
 * score_model.h - the statistics behind crm-score, free of the database:
 * special functions, a small quasi-Newton optimiser, the BG/NBD model of
 * purchase counts and P(alive), the Gamma-Gamma model of spend, and RFM
 * quantile scores. lib/score.c feeds them from the orders table.
 *
 * References (formulas re-derived and written from the papers):
 *   Fader, Hardie & Lee (2005), "'Counting your customers' the easy way:
 *   an alternative to the Pareto/NBD model", Marketing Science 24(2).
 *   Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves for
 *   customer base analysis", Journal of Marketing Research 42(4).
 *
 * Time: a customer's history is summarised in whole "ticks" (days for the
 * database) and a model works in units of unit_ticks ticks (1 for days, 7
 * for weeks): t = ticks / unit_ticks, never rounded.
 */
#ifndef CRM_SCORE_MODEL_H
#define CRM_SCORE_MODEL_H

#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------ functions */

/* ln Gamma(x) for x > 0 (thread-safe lgamma_r). */
double sc_lgamma(double x);
/* psi(x) = d/dx ln Gamma(x), x > 0, about 1e-15 relative. */
double sc_digamma(double x);
/* log(1 + e^d) without overflow or loss for large |d|. */
double sc_softplus(double d);
/* 1 / (1 + e^-d) */
double sc_logistic(double d);

/* Runs fn(a0) in this thread and fn(a1) in a second one, and waits for
 * both (both here, one after the other, if no thread can be started).
 * The work is split the same way whatever the machine, so results do not
 * depend on the number of cores. */
void sc_run2(void *(*fn)(void *), void *a0, void *a1);

/* The n Gauss-Legendre nodes and weights on [-1, 1] (Newton's method on
 * the Legendre polynomial P_n). */
void sc_gauss_legendre(int n, double *x, double *w);

/* f(theta) and its gradient by central differences (step 1e-5 in each
 * log-parameter), for likelihoods without a cheap closed derivative; NaN
 * when f is not finite there. */
double sc_numeric_gradient(int n, const double *theta, double *grad,
			   double (*f)(const double *theta, const void *data), const void *data);

/* ------------------------------------------------------------ optimiser */

#define SC_MAXPAR 4

/* f(theta) to minimise and its gradient; returns f, or a non-finite value
 * when theta is outside the domain (the line search then backs off). */
typedef double (*sc_objective)(const double *theta, double *grad, void *data);

struct sc_optim {
	int n;                 /* parameters, <= SC_MAXPAR */
	int max_iter;          /* 0: 500 */
	double gtol;           /* converged when every |grad_i| <= gtol; 0: 1e-9 */
	double lo, hi;         /* bounds of every theta_i (log-parameters) */
	unsigned stop_mask;    /* stop once theta_i > stop_at for i in the mask */
	double stop_at;
	/* results */
	int iterations, evaluations, converged;
	double f, grad[SC_MAXPAR], gmax;
	const char *why;       /* why it stopped without converging */
};

/* fn plus L times the sum of the squares of theta (an L2 penalty on the
 * log-parameters, --penalty): sc_penalised_obj with a struct sc_penalty
 * as its data. */
struct sc_penalty {
	sc_objective fn;
	void *data;
	int n;
	double L;
};
double sc_penalised_obj(const double *theta, double *grad, void *data);

/* BFGS with a backtracking line search from theta (updated in place). */
void sc_minimise(struct sc_optim *o, double *theta, sc_objective fn, void *data);

/* The smallest eigenvalue of the Hessian of fn at theta (central
 * differences of the gradient): the curvature along the flattest
 * direction, about 0 on a ridge where the data do not identify the
 * parameters. */
double sc_min_curvature(int n, const double *theta, sc_objective fn, void *data);

/* ------------------------------------------------------------- BG/NBD */

/*
 * The BG/NBD model, or one of its limits (kind):
 *   SC_BGNBD     dropout probability after each purchase p ~ Beta(a, b)
 *   SC_NBD       a -> 0 (with b finite or not): no one drops out; the
 *                NBD model of purchase counts (r, alpha only)
 *   SC_BG_CONST  a, b -> infinity with a / (a + b) -> p: the same dropout
 *                probability p for every customer (r, alpha, p)
 * The limits are what the likelihood climbs towards when a full fit runs
 * a parameter off to 0 or infinity: they are fitted as models of their
 * own (sc_bgnbd_fit_limit) and predict with their own closed forms.
 */
enum { SC_BGNBD, SC_NBD, SC_BG_CONST, SC_PARETO, SC_MBGNBD };
struct sc_bgnbd {
	double r, alpha, a, b;
	int kind;
	double p;              /* SC_BG_CONST */
	double s, beta;        /* SC_PARETO: the Pareto/NBD model (score_pareto.c),
				* the lifetime rate mu ~ Gamma(s, beta); the
				* sc_bgnbd_ predictions take it too */
};

/* Calibration data of the BG/NBD fit, grouped: w[i] customers share
 * x[i] repeat purchases, recency tx[i] and age T[i] (ticks, tx <= T). */
struct sc_rf {
	size_t n;
	int32_t *x, *tx, *T;
	double *w;
	double unit_ticks;     /* ticks per model time unit (1 day, 7 weeks) */
	double penalty;        /* L2 penalty on the log-parameters (0: none) */
	/* filled by sc_rf_prepare() */
	int32_t max_x, max_T;
	double customers, repeaters, sum_x;
};

/* Groups equal (x, tx, T) rows (the arrays are sorted and compacted in
 * place; w must be set, usually to 1) and fills the totals. */
void sc_rf_prepare(struct sc_rf *d);
void sc_rf_free(struct sc_rf *d);
/* The index of the group (x, T, tx) of a prepared d, or d->n when no
 * group has those values (binary search). */
size_t sc_rf_find(const struct sc_rf *d, int32_t x, int32_t T, int32_t tx);

/* Whether a model can be fitted to d (a repeat purchase, two customers):
 * 0, with the customers' total age in model units in *sumT (when not
 * NULL); or -1 with info cleared and info->why set. */
struct sc_fitinfo;
int sc_rf_fittable(const struct sc_rf *d, struct sc_fitinfo *info, double *sumT);
/* The starting points of the BG/NBD-like fits over (log r, log alpha,
 * log a, log b), alpha from the mean repeat purchase rate. */
void sc_bgnbd_starts(const struct sc_rf *d, double sumT, double starts[4][SC_MAXPAR]);

/* Total log-likelihood over the customers (the paper's LL). */
double sc_bgnbd_ll(const struct sc_bgnbd *m, const struct sc_rf *d);

struct sc_fitinfo {
	double ll;
	int iterations, evaluations, converged, starts;
	double gmax;           /* largest |d LL/N / d log-parameter| at the end */
	double curvature;      /* smallest Hessian eigenvalue of -LL/N there */
	const char *why;       /* not converged: why */
	const char *limit;     /* converged to a limit case: which */
	char why_buf[160], limit_buf[80];
	/* converged: the inverse Hessian of the objective (-LL/N) over the
	 * optimiser's coordinates, that is N times their covariance */
	int have_cov;
	double cov[SC_MAXPAR][SC_MAXPAR];
	/* standard errors of the model's parameters (its own order: r,
	 * alpha, a, b; r, alpha, p; p, q, gamma), NaN when not known */
	double se[SC_MAXPAR];
};

/*
 * Minimises fn (-LL/N over log-parameters, within [-25, 25]) from each
 * starting point in turn until one converges to a point where every
 * |log-parameter| is below its limit (shape parameters beyond 1e6 or
 * 1e-6 mean the model degenerates to a limit case the data cannot tell
 * from it) and the Hessian is positive definite (curvature above 1e-7
 * along every direction); otherwise the data do not identify the
 * parameters and the fit fails with info->why naming the parameter that
 * runs off, or the flat likelihood. theta gets the best point found.
 * Returns 0 or -1; or 1 when a parameter in inf_ok (bit i for parameter
 * i) runs off to infinity, which the caller takes as the limit model:
 * info->limit says which, and theta is where the optimiser stopped.
 */
int sc_fit_starts(int n, const double (*starts)[SC_MAXPAR], int nstarts,
		  const char *const *names, const double *limits, unsigned inf_ok,
		  sc_objective fn, void *data, double *theta, struct sc_fitinfo *info);

/* Maximum likelihood over log-parameters from a few starting points.
 * Returns 0 with *m set, or -1 with info->why when no start converged
 * (*m is then the best point found). */
int sc_bgnbd_fit(const struct sc_rf *d, struct sc_bgnbd *m, struct sc_fitinfo *info);

/* The limit model towards which a failed sc_bgnbd_fit ran (m holds where
 * it stopped): the constant-dropout model, or the NBD model when its p
 * runs off to 0 as well. Returns 0 with *m (kind set) and info, or -1
 * with info->why. */
int sc_bgnbd_fit_limit(const struct sc_rf *d, struct sc_bgnbd *m, struct sc_fitinfo *info);
/* The model's name: "bgnbd", "nbd", "bgnbd_constant_dropout", "pareto" or
 * "mbgnbd". */
const char *sc_bgnbd_kind_name(int kind);

/* Pareto/NBD (score_pareto.c): its total log-likelihood, its fit (as
 * sc_bgnbd_fit; *m gets kind SC_PARETO, r, alpha, s and beta), and the
 * log-odds of having dropped out and the purchases expected of a customer
 * alive at T, for sc_bgnbd_dead_logodds and sc_bgnbd_future. */
double sc_pareto_ll(const struct sc_bgnbd *m, const struct sc_rf *d);
int sc_pareto_fit(const struct sc_rf *d, struct sc_bgnbd *m, struct sc_fitinfo *info);
double sc_pareto_dead_logodds(const struct sc_bgnbd *m, double x, double tx, double T);
double sc_pareto_future(const struct sc_bgnbd *m, double x, double T, double t);

/* MBG/NBD (score_mbg.c): BG/NBD where a customer may drop out right after
 * the first purchase as well; its log-likelihood and fit (*m gets kind
 * SC_MBGNBD, r, alpha, a, b). The sc_bgnbd_ predictions take it. */
double sc_mbgnbd_ll(const struct sc_bgnbd *m, const struct sc_rf *d);
int sc_mbgnbd_fit(const struct sc_rf *d, struct sc_bgnbd *m, struct sc_fitinfo *info);

/* P(alive at T | x, tx, T) (times in model units). */
double sc_bgnbd_p_alive(const struct sc_bgnbd *m, double x, double tx, double T);
/* log of the odds P(dead)/P(alive): p_alive = logistic(-lo). */
double sc_bgnbd_dead_logodds(const struct sc_bgnbd *m, double x, double tx, double T);

/* Expected purchases in (T, T+t] of a customer who is alive at T with x
 * repeat purchases: multiply by P(alive) for the conditional expectation
 * E[X(T, T+t) | x, tx, T] of the paper (its equation 10). */
double sc_bgnbd_future(const struct sc_bgnbd *m, double x, double T, double t);
/* The same by numerical integration over the dropout probability (slow;
 * the fallback of sc_bgnbd_future far out, and a cross-check in tests). */
double sc_bgnbd_future_quad(const struct sc_bgnbd *m, double x, double T, double t);
/* Discounted future purchases of an alive customer: the integral over
 * (0, h] of e^(-delta s) d future(s). delta 0: future(h). */
double sc_bgnbd_future_discounted(const struct sc_bgnbd *m, double x, double T,
				  double h, double delta);
/* Expected purchases in (0, t] of a new customer (the cohort curve). */
double sc_bgnbd_expected(const struct sc_bgnbd *m, double t);

/* --------------------------------------------------------- Gamma-Gamma */

struct sc_gg {
	double p, q, gamma;
};

/* Repeat buyers: x[i] >= 1 repeat purchases of average value mbar[i] > 0
 * (major units). */
struct sc_spend {
	size_t n;
	int32_t *x;
	double *mbar;
	double penalty;        /* L2 penalty on the log-parameters (0: none) */
};

double sc_gg_ll(const struct sc_gg *m, const struct sc_spend *d);
int sc_gg_fit(const struct sc_spend *d, struct sc_gg *m, struct sc_fitinfo *info);
/* E[average order value | x, mbar]; x = 0 gives the population mean
 * p gamma / (q - 1). NaN when it does not exist (p x + q <= 1). */
double sc_gg_expected_spend(const struct sc_gg *m, double x, double mbar);

/* ----------------------------------------------------------------- RFM */

/*
 * Scores 1..bins of n values, higher value = higher score, equal values
 * sharing a score. Quantiles first: a value's score is 1 + floor(bins *
 * P), P being the share of values below it plus half the share of values
 * equal to it (a mid-rank), at most bins; equal-sized groups when all
 * values differ and n is a multiple of bins; a value shared by every
 * customer gets the middle score. When ties leave a score unused (half
 * the customers with one order) although there are at least bins
 * distinct values, groups of equal values instead: the distinct values,
 * worst first, in bins runs as equal in size as the ties allow, every
 * score used (crm-score(1) RFM). Returns SC_QUANTILES or SC_GROUPS.
 */
#define SC_MAX_BINS 100
enum { SC_QUANTILES, SC_GROUPS };
int sc_quantile_scores(const double *v, size_t n, int bins, int *score);

/* The named segment of a customer from R, F and M scores 1..bins: its
 * index in sc_rfm_segments, or -1 when a score is out of range; or its
 * name, or NULL. */
int sc_rfm_segment_index(int r, int f, int m, int bins);
/* The same for a customer with one order: the grid's first column by R
 * alone (new, promising, about_to_sleep, hibernating, lost). */
int sc_rfm_segment_one_order(int r, int bins);
const char *sc_rfm_segment(int r, int f, int m, int bins);
/* The segment names in the order crm-score prints them. */
extern const char *const sc_rfm_segments[];
extern const size_t sc_rfm_nsegments;

#endif
