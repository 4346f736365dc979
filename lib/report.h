/*
 * report.h - crm-report: what the base and the campaigns earned, read from
 * the database (opened read-only) and written with out.h, or as one
 * self-contained HTML page.
 *
 *   report.c           options, the --segment/--where filter, tables,
 *                      money, the scan of completed orders; summary,
 *                      cohorts, rfm, ltv, budget
 *   report_campaign.c  campaign NAME and campaigns: attribution windows,
 *                      treatment against control, uplift statistics
 *   report_card.c      customer ID, and export TABLE
 *   report_deliv.c     deliverability: sent, delivered, bounces by kind,
 *                      complaints and unsubscribes per campaign, receiving
 *                      domain and ISO week, against the bulk-sender limits
 *   report_stats.c     normal and Student t distributions, two-proportion
 *                      z-test, Welch's t-test, minimum detectable effect,
 *                      the percentile bootstrap and its random numbers
 *   report_html.c      --html FILE
 *   report_products.c  products [--by category]: what each product or
 *                      category sold, from the order lines
 *   report_holdout.c   holdout [--by frequency|period|run]: the holdout
 *                      validations of crm-score clv --holdout-end
 *   report_loyalty.c   loyalty [--by month|tier|member]: crm-loyalty's
 *                      programme from its ledger and accounts
 */
#ifndef CRM_REPORT_H
#define CRM_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "crm.h"
#include "out.h"

/* campaign --bootstrap N: the resamples allowed, and --seed's default */
#define REPORT_BOOTSTRAP_MIN 100
#define REPORT_BOOTSTRAP_MAX 100000
#define REPORT_SEED_DEFAULT 1
#define REPORT_SEED_DEFAULT_S "1"

struct report_opts {
	const char *segment;     /* --segment NAME: only its members */
	const char *where;       /* --where EXPR: only the customers matching it */
	const char *currency;    /* --currency: the one money is reported in */
	int64_t window;          /* --window, seconds (campaign; default 7d) */
	int click;               /* --attribution click (default view) */
	int links;               /* campaign --links: the click map */
	long bootstrap;          /* campaign --bootstrap N resamples (0: none) */
	uint64_t seed;           /* campaign --seed of the bootstrap */
	int by_week;             /* cohorts --by week */
	const char *metric;      /* cohorts --metric retention|revenue|customers */
	long periods;            /* cohorts --periods N (0: all) */
	const char *by;          /* ltv --by segment|cohort|city|category|attr.X;
				  * products --by product|category;
				  * holdout --by frequency|period|run */
	long limit;              /* products --limit N (0: all) */
	double margin, share;    /* budget */
	const char *since;       /* export, deliverability --since (normalised time) */
	const char *until;       /* deliverability --until (normalised time) */
	const char *campaign;    /* deliverability --campaign NAME */
	int deliv_by[3];         /* deliverability --by: REPORT_BY_*, in order */
	size_t ndeliv_by;        /* how many (0: by campaign) */
	long top;                /* deliverability --top N domains (0: all) */
	int raw;                 /* export --raw: no formula neutralising */
	const char *output;      /* -o FILE (created 0600) */
	const char *html;        /* --html FILE (created 0600) */
};

/* The state of one run: the database and what restricts the customers. */
struct report {
	struct crm *crm;
	const struct report_opts *o;
	int filtered;            /* temp.report_filter holds the customers */
	FILE *fp;                /* where the rows go (stdout or -o) */
	enum out_format format;
};

/* Sets up r (filter table, output file); returns 0 or an exit status. */
int report_open(struct report *r, struct crm *crm, const struct report_opts *o);
int report_close(struct report *r);

/* " AND COL IN (SELECT customer_id FROM temp.report_filter)" or "". */
const char *report_filter(const struct report *r, const char *col, char *buf, size_t n);

int report_summary(struct report *r);
int report_cohorts(struct report *r);
int report_rfm(struct report *r);
int report_ltv(struct report *r);
int report_budget(struct report *r);
int report_campaign(struct report *r, const char *name);
int report_campaigns(struct report *r);
int report_customer(struct report *r, const char *who);
int report_export(struct report *r, const char *table);
int report_html(struct report *r, const char *campaign);
int report_deliverability(struct report *r);
int report_products(struct report *r);
int report_holdout(struct report *r);
/* loyalty [--by month|tier|member] (report_loyalty.c); by NULL: the summary */
int report_loyalty(struct report *r);
/* uplift [NAME] [--by decile|qini|feature] (report_uplift.c); NULL: the latest model */
int report_uplift(struct report *r, const char *name);
struct rtab;
int report_build_loyalty(struct report *r, const char *by, struct rtab *t);
/* uplift [NAME] as a table (by: NULL, "decile", "qini" or "feature"); the
 * model's outcome (revenue 1) and its currency; 0, or 1 after an error,
 * said on stderr (no such model) */
int report_build_uplift(struct report *r, const char *name, const char *by, struct rtab *t,
			int *revenue, char cur[4]);

/* The latest holdout validation (report_holdout.c), for holdout and the
 * HTML page. */
struct rtab;
struct report_holdout {
	int64_t id;
	char model[32], currency[8], as_of[20], holdout_end[20];
	int week;                        /* the tracking curve's step: week, else day */
	int64_t customers;
	double actual, predicted, mae, corr;
	struct cJSON *calibration;       /* [{repeat_purchases, customers, actual, predicted}] */
	struct cJSON *tracking;          /* [{period, end, actual, predicted}] */
};
/* 0, or 1 after an error naming the cause (none, unless quiet, or
 * damaged). */
int report_holdout_load(struct report *r, struct report_holdout *h, int quiet);
/* The calibration table: actual and predicted holdout purchases by the
 * calibration period's repeat purchases (0 .. 6, 7+, total). */
void report_holdout_table(const struct report_holdout *h, struct rtab *t);
void report_holdout_free(struct report_holdout *h);

/* ---- tables of results (report.c) ------------------------------------ */

/*
 * A small table built in memory, so that a report can be written as rows
 * (csv, tsv, jsonl, json) or, in table format, turned on its side when it
 * is wide (one line per column: "metric" and one column per row).
 */
struct rtab {
	size_t ncols, nrows, cap;
	const char **cols;
	struct out_val *v;   /* nrows * ncols */
	int keep;            /* never sideways (a matrix) */
	char **strs;         /* text owned by the table */
	size_t nstrs, capstrs;
	unsigned char *kind; /* per column: enum out_kind (rtab_kind), or NULL */
	char (*cur)[8];      /* per column: money's fixed currency, or "" */
};

void rtab_init(struct rtab *t, size_t ncols, const char *const *cols);
/* Starts a row (all NULL); returns its values. */
struct out_val *rtab_row(struct rtab *t);
void rtab_text(struct rtab *t, struct out_val *v, const char *s);
void rtab_int(struct out_val *v, int64_t i);
/* A real rounded to digits decimals; NaN and infinities become NULL. */
void rtab_real(struct out_val *v, double d, int digits);
/* What the columns named in the NULL-terminated list names[] hold, for
 * the table format (out_column_kind): money in currency, or with NULL in
 * the row's "currency" column. Names the table lacks are skipped. Called
 * by the printing side (report_summary, not report_build_summary): the
 * tables of --html are freed without rtab_emit. */
void rtab_kind(struct rtab *t, enum out_kind k, const char *currency, const char *const *names);
#define RTAB_KIND(t, k, cur, ...) \
	rtab_kind((t), (k), (cur), (const char *const[]){ __VA_ARGS__, NULL })
/* Writes t in r's format; sideways in table format when it has more than
 * 8 columns. Frees t. */
void rtab_emit(struct report *r, struct rtab *t);

/* The reports as tables, for --html: 0 or an exit status. */
int report_build_summary(struct report *r, struct rtab *t);
int report_build_cohorts(struct report *r, struct rtab *t);
int report_build_rfm(struct report *r, struct rtab *t);
int report_build_campaigns(struct report *r, struct rtab *t);
int report_build_campaign(struct report *r, const char *name, struct rtab *t);
/* campaign NAME --links: a row per group and link (the click map). */
int report_build_links(struct report *r, const char *name, struct rtab *t);
/* deliverability (r->o's --by, --campaign, --since, --until, --top); the
 * rows over a threshold are also warned about on stderr. */
int report_build_deliverability(struct report *r, struct rtab *t);

/* ---- deliverability (report_deliv.c) ----------------------------------- */

/* The keys of deliverability --by. */
enum { REPORT_BY_CAMPAIGN = 1, REPORT_BY_DOMAIN, REPORT_BY_WEEK };

/* Parses --by's "campaign", "domain", "week" or a comma-separated list of
 * them (each at most once) into by[0..3); the count, or -1. */
int report_deliv_by(const char *spec, int by[3]);

/* The bulk-sender limits: spam complaints over delivered (Google's and
 * Yahoo's sender guidelines of 2024: below 0.1%, never 0.3%), bounces
 * over sent (2%: in neither guideline, the figure e-mail service
 * providers commonly give). A rate at or above a limit is over it. */
#define REPORT_COMPLAINT_WARN 0.001
#define REPORT_COMPLAINT_BAD 0.003
#define REPORT_BOUNCE_WARN 0.02

/* The engagement events of outbox row M (an SQL alias) as the campaign
 * reports count them, for a query over events e: the recipient's, naming
 * the message (message_id) or its campaign (CAMP: an SQL expression of
 * the campaign's name). */
#define REPORT_EVENT_OF(M, CAMP) \
	"e.customer_id = " M ".customer_id AND (e.message_id = " M ".message_id" \
	" OR e.campaign = " CAMP ")"

/* a / b; NaN when b is 0 (an empty cell). */
double report_rate(int64_t a, int64_t b);

/* ---- money -------------------------------------------------------------- */

/* An amount in minor units of code, in major units (12345 RUB -> 123.45). */
double report_major(int64_t minor, const char *code);

/* ---- completed orders, customer by customer ---------------------------- */

struct rorder {
	int64_t t;           /* epoch seconds */
	int64_t amount;      /* minor units */
	int cur;             /* index in report_currency() */
	int refund;          /* a refund (orders.purchase -1): revenue only */
};

/* Calls fn for each customer with purchases or refunds up to now (the
 * filter applied), with those orders in time order. */
void report_scan_orders(struct report *r,
			void (*fn)(void *arg, int64_t customer, const struct rorder *o, size_t n),
			void *arg);
/* The same in two threads over two halves of the customers, into arg0
 * and arg1 (which the caller then adds up); returns 0 when it scanned all
 * into arg0 alone (a --segment/--where filter, a single customer). */
int report_scan_orders2(struct report *r,
			void (*fn)(void *arg, int64_t customer, const struct rorder *o, size_t n),
			void *arg0, void *arg1);
/* The currency codes seen by the scans so far: index -> code. */
const char *report_currency(size_t i);
size_t report_ncurrencies(void);
int report_currency_index(const char *code);

/* Parses "YYYY-MM-DD HH:MM:SS" (as the tables hold times) to epoch
 * seconds; -1 if it is not that. */
int64_t report_time(const char *s);

/* ---- statistics (report_stats.c) --------------------------------------- */

double rs_norm_cdf(double z);
double rs_norm_quantile(double p);
/* Regularised incomplete beta I_x(a, b). */
double rs_betai(double a, double b, double x);
double rs_t_cdf(double t, double df);
double rs_t_quantile(double p, double df);

struct rs_prop {
	double p1, p0;       /* treatment, control rates */
	double diff;         /* p1 - p0 */
	double lo, hi;       /* 95% interval of diff (unpooled standard error) */
	double rel;          /* diff / p0, NaN when p0 = 0 */
	double z, p;         /* pooled z statistic and two-sided p-value */
	double mde;          /* minimum detectable effect, 5% two-sided, 80% power */
};
/* x1 of n1 against x0 of n0; NaN where undefined (n = 0). */
void rs_ztest(double x1, double n1, double x0, double n0, struct rs_prop *r);

struct rs_welch {
	double m1, m0, diff, lo, hi, t, df, p;
};
/* Means from n, sum and sum of squares of each sample. */
void rs_welch(double n1, double s1, double ss1, double n0, double s0, double ss0,
	      struct rs_welch *r);

/*
 * Random numbers for the bootstrap: xoshiro256** (Blackman and Vigna), its
 * state filled by splitmix64, so that a seed gives the same numbers on
 * every machine. rs_rng_seed() starts the stream of one sample: splitmix64
 * from seed XOR the 64-bit FNV-1a hash of label (the group's name), so
 * that each group has its own stream and adding a variant leaves the
 * others' resamples as they were.
 */
struct rs_rng {
	uint64_t s[4];
};
void rs_rng_seed(struct rs_rng *g, uint64_t seed, const char *label);
uint64_t rs_rng_next(struct rs_rng *g);
/* Uniform in [0, n), n >= 1, without bias: Lemire's multiply-and-shift
 * on the upper 32 bits of rs_rng_next(), rejecting the few low products
 * that would favour some values. */
uint32_t rs_rng_below(struct rs_rng *g, uint32_t n);
/* Uniform in [0, 1), 53 bits. */
double rs_rng_unit(struct rs_rng *g);

/* The largest sample rs_boot_sums() resamples (rs_rng_below's range). */
#define RS_BOOT_MAX_N 4294967295.0

/*
 * Resamples x[0..n) with replacement nb times, n draws each, and stores
 * the sum of resample b in sums[b]; the draws come from g in order,
 * sums added left to right. O(1) memory beyond sums.
 */
void rs_boot_sums(const double *x, size_t n, size_t nb, struct rs_rng *g, double *sums);

struct rs_boot {
	double lo, hi;       /* percentile 95% interval of m1 - m0 */
	double p;            /* two-sided bootstrap p-value of m1 - m0 = 0 */
};
/*
 * From the resample sums of two independent samples of sizes n1 and n0
 * (rs_boot_sums, nb each): the differences of means d_b = s1[b] / n1 -
 * s0[b] / n0, sorted; lo and hi their 2.5th and 97.5th percentiles
 * (rs_quantile_sorted), and p = min(1, 2 (min(#{d_b <= 0}, #{d_b >= 0})
 * + 1) / (nb + 1)): the interval's own test, below 0.05 about when 0 is
 * outside the interval, never 0. NaN where n1 or n0 is under 2 or nb 0.
 */
void rs_boot_diff(const double *s1, double n1, const double *s0, double n0, size_t nb,
		  struct rs_boot *r);
/* Sorts x[0..n) in ascending order (no NaN in it). */
void rs_sort(double *x, size_t n);
/* The p quantile of sorted x[0..n) by linear interpolation between order
 * statistics (Hyndman and Fan's type 7, numpy's default): h = (n - 1) p,
 * x[floor h] + (h - floor h) (x[floor h + 1] - x[floor h]). */
double rs_quantile_sorted(const double *x, size_t n, double p);

#endif
