/*
 * quiet.c - quiet hours across changes of the local clock. See quiet.h.
 *
 * The local clock is walked forward from t: under the offset in force,
 * it shows to after d seconds; an offset change before that (found by
 * looking every hour, then to the second by bisection) is looked at
 * instead: a jump forward over to ends quiet hours at the jump, any other
 * change starts the walk again from it.
 */
#include "quiet.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DAY 86400
#define LOOK 10800	/* a zone changes its clock at most once in 3 hours */
#define STEP 3600	/* the walk looks for changes this often */

/* The UTC offset at x, and the seconds after local midnight it shows. */
static long offset_at(int64_t x, long *sod)
{
	time_t tt = (time_t)x;
	struct tm tm;

	if (!localtime_r(&tt, &tm)) {
		*sod = (long)(((x % DAY) + DAY) % DAY);
		return 0;
	}
	*sod = tm.tm_hour * 3600L + tm.tm_min * 60L + tm.tm_sec;
	return tm.tm_gmtoff;
}

static long mod_day(int64_t v)
{
	return (long)(((v % DAY) + DAY) % DAY);
}

static int in_range(long sod, int from, int to)
{
	long m = sod / 60;

	return from <= to ? (m >= from && m < to) : (m >= from || m < to);
}

/* The first x in (lo, hi] whose offset is not off, given that hi's is
 * not. */
static int64_t first_change(int64_t lo, int64_t hi, long off)
{
	long sod;

	while (hi - lo > 1) {
		int64_t mid = lo + (hi - lo) / 2;
		if (offset_at(mid, &sod) == off)
			lo = mid;
		else
			hi = mid;
	}
	return hi;
}

/* The first offset change in (c, end], or 0 when there is none. */
static int64_t next_change(int64_t c, int64_t end, long off)
{
	long sod;

	for (int64_t lo = c; lo < end;) {
		int64_t hi = end - lo > STEP ? lo + STEP : end;
		if (offset_at(hi, &sod) != off)
			return first_change(lo, hi, off);
		lo = hi;
	}
	return 0;
}

/* Is t quiet (see quiet.h)? */
static int quiet_at(int64_t t, int from, int to)
{
	long sod_t, sod, off_t = offset_at(t, &sod_t), off_b;
	int64_t jump;

	if (in_range(sod_t, from, to))
		return 1;
	/* a fall-back in the last 3 hours that put the clock back before
	 * from, quiet hours having begun, and to not shown since? */
	if ((off_b = offset_at(t - LOOK, &sod)) <= off_t)
		return 0;
	jump = first_change(t - LOOK, t, off_b);
	offset_at(jump - 1, &sod);
	if (!in_range(sod, from, to))
		return 0;
	offset_at(jump, &sod);
	return mod_day((int64_t)to * 60 - sod) > t - jump;
}

/* The end of the quiet hours t is in. */
static int64_t quiet_end(int64_t t, int from, int to)
{
	int64_t c = t;

	for (int i = 0; i < 32; i++) {
		long sod, off = offset_at(c, &sod), sod2, off2;
		int64_t d = mod_day((int64_t)to * 60 - sod), target, jump, wa, wb, step;

		if (d == 0) {
			if (c > t)
				return c;	/* shows to: ended */
			d = DAY;
		}
		target = c + d;
		if (!(jump = next_change(c, target, off)))
			return target;
		off2 = offset_at(jump, &sod2);
		wa = jump + off;	/* the clock would have shown this */
		wb = jump + off2;	/* and shows this */
		/* the jump in time of day: a skipped (or repeated) day changes
		 * none (Apia, 2011-12-30) */
		step = mod_day(wb - wa);
		if (step > DAY / 2)
			step -= DAY;
		if ((step > 0 && mod_day((int64_t)to * 60 - wa) <= step) ||
		    (step <= 0 && sod2 == (long)to * 60)) {
			/* to skipped (or shown at the jump): ended, unless
			 * the clock jumped into the next quiet hours */
			if (!in_range(sod2, from, to))
				return jump;
		}
		c = jump;
	}
	return c;	/* (a zone changing its clock 32 times a day) */
}

/* ---- the zone, and answers kept per zone ------------------------------ */

static struct kept {
	char tz[64];
	int from, to;
	int64_t lo, hi, end;	/* for t in [lo, hi): end (0: not quiet) */
} kept[16];
static unsigned kept_next;

static struct kept *find_kept(const char *key, int from, int to, int64_t t)
{
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		if (kept[i].hi > kept[i].lo && kept[i].from == from && kept[i].to == to &&
		    t >= kept[i].lo && t < kept[i].hi && !strcmp(kept[i].tz, key))
			return &kept[i];
	return NULL;
}

int64_t quiet_wait(const char *tz, int64_t t, int from, int to)
{
	const char *key, *env = getenv("TZ");
	char *saved = NULL;
	int switched = 0;
	struct kept *k;
	int64_t end = 0;

	if (from < 0 || from >= 1440 || to < 0 || to >= 1440 || from == to)
		return 0;
	key = tz && *tz ? tz : env ? env : "";
	if ((k = find_kept(key, from, to, t)))
		return k->end ? k->end - t : 0;
	if (tz && *tz && (!env || strcmp(env, tz))) {
		if (env && !(saved = strdup(env)))
			return 0;	/* (cannot put it back: not quiet) */
		setenv("TZ", tz, 1);
		tzset();
		switched = 1;
	}
	if (quiet_at(t, from, to))
		end = quiet_end(t, from, to);
	if (switched) {
		if (saved)
			setenv("TZ", saved, 1);
		else
			unsetenv("TZ");
		tzset();
		free(saved);
	}
	if (strlen(key) < sizeof(kept[0].tz)) {
		k = &kept[kept_next++ % (sizeof(kept) / sizeof(kept[0]))];
		strcpy(k->tz, key);
		k->from = from;
		k->to = to;
		k->lo = t;
		k->hi = end ? end : t + 1;
		k->end = end;
	}
	return end ? end - t : 0;
}
