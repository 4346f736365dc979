/*
 * score_rfm.c - RFM quantile scores and the named segments of the R x FM
 * grid (score_model.h).
 */
#include "score_model.h"

#include <stdlib.h>

#include "util.h"

struct iv {
	double v;
	size_t i;
};

static int cmp_iv(const void *pa, const void *pb)
{
	const struct iv *a = pa, *b = pb;

	if (a->v != b->v)
		return a->v < b->v ? -1 : 1;
	return (a->i > b->i) - (a->i < b->i);
}

/*
 * Scores of the sorted values s[0..n) in groups of equal values: the
 * distinct values, worst first, split into bins runs as equal in size as
 * the ties allow. A run takes the next value while it is empty or while
 * the value's middle stays below its share of what is left (the customers
 * left over the runs left), and stops when the values left are as many
 * as the runs left, so that every score is used.
 */
static void group_scores(const struct iv *s, size_t n, size_t distinct, int bins, int *score)
{
	size_t lo = 0, left = n, vleft = distinct;

	for (int g = 1; g <= bins; g++) {
		double target = (double)left / (double)(bins - g + 1);
		size_t size = 0;
		while (lo < n) {
			size_t hi = lo + 1;
			while (hi < n && s[hi].v == s[lo].v)
				hi++;
			size_t eq = hi - lo;
			if (size && (g == bins ? 0 : (double)size + (double)eq / 2 >= target ||
					      vleft <= (size_t)(bins - g)))
				break;
			for (size_t k = lo; k < hi; k++)
				score[s[k].i] = g;
			size += eq;
			vleft--;
			lo = hi;
			/* as many values left as runs after this one */
			if (g < bins && vleft == (size_t)(bins - g))
				break;
		}
		left -= size;
	}
}

int sc_quantile_scores(const double *v, size_t n, int bins, int *score)
{
	struct iv *s;
	size_t distinct = 0;
	int used_max = 0, method = SC_QUANTILES;
	unsigned char used[SC_MAX_BINS + 1] = { 0 };

	if (!n)
		return method;
	s = xmalloc(n * sizeof(*s));
	for (size_t i = 0; i < n; i++) {
		s[i].v = v[i];
		s[i].i = i;
	}
	qsort(s, n, sizeof(*s), cmp_iv);
	for (size_t lo = 0; lo < n;) {
		size_t hi = lo + 1;
		while (hi < n && s[hi].v == s[lo].v)
			hi++;
		/* 1 + floor(bins * (below + equal/2) / n), in integers */
		uint64_t num = (uint64_t)bins * (2 * (uint64_t)lo + (hi - lo));
		int sc = 1 + (int)(num / (2 * (uint64_t)n));
		if (sc > bins)
			sc = bins;
		for (size_t k = lo; k < hi; k++)
			score[s[k].i] = sc;
		if (sc <= SC_MAX_BINS && !used[sc]) {
			used[sc] = 1;
			used_max++;
		}
		distinct++;
		lo = hi;
	}
	/* ties swallowed a score while there are values enough for each */
	if (used_max < bins && distinct >= (size_t)bins && bins <= SC_MAX_BINS) {
		group_scores(s, n, distinct, bins, score);
		method = SC_GROUPS;
	}
	free(s);
	return method;
}

/* the indexes of sc_rfm_segments, in its order */
enum {
	CHAMPIONS, LOYAL, POTENTIAL_LOYALIST, NEW, PROMISING, NEED_ATTENTION,
	ABOUT_TO_SLEEP, AT_RISK, CANNOT_LOSE, HIBERNATING, LOST,
};

const char *const sc_rfm_segments[] = {
	[CHAMPIONS] = "champions", [LOYAL] = "loyal",
	[POTENTIAL_LOYALIST] = "potential_loyalist", [NEW] = "new",
	[PROMISING] = "promising", [NEED_ATTENTION] = "need_attention",
	[ABOUT_TO_SLEEP] = "about_to_sleep", [AT_RISK] = "at_risk",
	[CANNOT_LOSE] = "cannot_lose", [HIBERNATING] = "hibernating", [LOST] = "lost",
};
const size_t sc_rfm_nsegments = sizeof(sc_rfm_segments) / sizeof(sc_rfm_segments[0]);

/*
 * The grid of R (rows, 5 = most recent) and FM = the rounded-up mean of F
 * and M (columns), on a 1..5 scale; scores of other bin counts are
 * mapped to it first by ceil(5 s / bins).
 *
 *   R\FM   1               2                   3                   4          5
 *   5      new             potential_loyalist  potential_loyalist  champions  champions
 *   4      promising       potential_loyalist  potential_loyalist  loyal      champions
 *   3      about_to_sleep  about_to_sleep      need_attention      loyal      loyal
 *   2      hibernating     hibernating         at_risk             at_risk    cannot_lose
 *   1      lost            lost                at_risk             at_risk    cannot_lose
 */
int sc_rfm_segment_index(int r, int f, int m, int bins)
{
	static const signed char grid[5][5] = {
		{ LOST, LOST, AT_RISK, AT_RISK, CANNOT_LOSE },
		{ HIBERNATING, HIBERNATING, AT_RISK, AT_RISK, CANNOT_LOSE },
		{ ABOUT_TO_SLEEP, ABOUT_TO_SLEEP, NEED_ATTENTION, LOYAL, LOYAL },
		{ PROMISING, POTENTIAL_LOYALIST, POTENTIAL_LOYALIST, LOYAL, CHAMPIONS },
		{ NEW, POTENTIAL_LOYALIST, POTENTIAL_LOYALIST, CHAMPIONS, CHAMPIONS },
	};
	int r5 = (5 * r + bins - 1) / bins, f5 = (5 * f + bins - 1) / bins;
	int m5 = (5 * m + bins - 1) / bins, fm = (f5 + m5 + 1) / 2;

	if (r5 < 1 || r5 > 5 || fm < 1 || fm > 5)
		return -1;
	return grid[r5 - 1][fm - 1];
}

int sc_rfm_segment_one_order(int r, int bins)
{
	/* R mapped to the 1..5 grid, then its first column */
	return sc_rfm_segment_index((5 * r + bins - 1) / bins, 1, 1, 5);
}

const char *sc_rfm_segment(int r, int f, int m, int bins)
{
	int k = sc_rfm_segment_index(r, f, m, bins);

	return k < 0 ? NULL : sc_rfm_segments[k];
}
