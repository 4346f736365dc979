/*
 * test_quiet.c - unit tests of lib/quiet.c: quiet hours across changes of
 * the local clock (issue 22).
 *
 * For each zone, every change of its clock in 2024-2026 (and historic ones
 * where it has none then: Sao Paulo 2017-2019, Apia 2010-2012 with the day
 * it skipped; UTC gets two dates with nothing to change), every 15 minutes
 * from two days before to two days after, and several quiet hours,
 * quiet_wait() is compared with a brute force that walks the clock minute
 * by minute (quiet.h's rules: quiet while the clock shows [from, to);
 * once quiet, until the clock shows to or jumps over it; a jump of a
 * whole day changes no time of day). Each answer is
 * also checked directly: the clock at t + wait shows to or has just
 * jumped over it, and every minute in between is quiet.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "quiet.h"
#include "tap.h"

#define DAY 86400L
#define MARGIN (2 * DAY)	/* around each change */
#define PAD (27 * 3600L)	/* brute force before and after */

struct win {
	int from, to;
};
static const struct win wins[] = {
	{ 21 * 60, 8 * 60 }, { 22 * 60, 2 * 60 }, { 90, 210 }, { 0, 360 },
	{ 120, 180 }, { 150, 180 }, { 23 * 60 + 30, 7 * 60 }, { 60, 90 },
};
#define NWIN (sizeof(wins) / sizeof(wins[0]))

static void set_tz(const char *tz)
{
	if (tz)
		setenv("TZ", tz, 1);
	else
		unsetenv("TZ");
	tzset();
}

static long wall_sod(time_t t, long *off)
{
	struct tm tm;

	localtime_r(&t, &tm);
	*off = tm.tm_gmtoff;
	return tm.tm_hour * 3600L + tm.tm_min * 60L + tm.tm_sec;
}

static int in_range(long sod, int from, int to)
{
	long m = sod / 60;

	return from <= to ? (m >= from && m < to) : (m >= from || m < to);
}

/* the changes of tz's clock in [y0, y1) (hourly, then to the second) */
static int changes(int64_t lo, int64_t hi, int64_t *out, int max)
{
	long off0, off, n = 0;

	wall_sod((time_t)lo, &off0);
	for (int64_t x = lo + 3600; x < hi && n < max; x += 3600) {
		wall_sod((time_t)x, &off);
		if (off != off0) {
			int64_t a = x - 3600, b = x;
			while (b - a > 1) {
				int64_t m = a + (b - a) / 2;
				long o;
				wall_sod((time_t)m, &o);
				if (o == off0)
					a = m;
				else
					b = m;
			}
			out[n++] = b;
			off0 = off;
		}
	}
	return (int)n;
}

static int64_t utc(int y, int mo, int d)
{
	/* days from civil (Howard Hinnant) */
	y -= mo <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (era * 146097 + doe - 719468) * DAY;
}

static long total, old_wrong, quiet_cases;

/* one change (or date) of one zone, every window */
static void check_around(const char *zone, int64_t at, const char *what)
{
	int64_t t0 = (at - MARGIN) / 900 * 900, t1 = at + MARGIN;
	int64_t b0 = t0 - PAD, b1 = t1 + PAD;
	long nmin = (long)((b1 - b0) / 60) + 1;
	long *wall = malloc(sizeof(long) * (size_t)nmin), *offs = malloc(sizeof(long) * (size_t)nmin);
	char *act = malloc((size_t)nmin);
	long *next_off = malloc(sizeof(long) * (size_t)nmin);

	set_tz(zone);
	for (long i = 0; i < nmin; i++)
		wall[i] = wall_sod((time_t)(b0 + i * 60), &offs[i]);
	for (size_t w = 0; w < NWIN; w++) {
		int from = wins[w].from, to = wins[w].to;
		long bad = 0, n = 0, first_bad = -1, null_bad = 0, direct_bad = 0;
		int64_t got_bad = 0, want_bad = 0;

		/* the brute force, minute by minute */
		act[0] = (char)in_range(wall[0], from, to);
		for (long i = 1; i < nmin; i++) {
			int64_t wp = b0 + (i - 1) * 60 + offs[i - 1], wx = b0 + i * 60 + offs[i];
			int reached;
			/* the step in time of day: a skipped day is none */
			int64_t step = ((wx - wp) % DAY + DAY) % DAY;
			if (step > DAY / 2)
				step -= DAY;
			if (step > 0) {
				int64_t d = (((int64_t)to * 60 - wp - 1) % DAY + DAY) % DAY;
				reached = d < step;
			} else
				reached = wall[i] == to * 60L;
			act[i] = (char)(in_range(wall[i], from, to) || (act[i - 1] && !reached));
		}
		next_off[nmin - 1] = nmin + 100000;
		for (long i = nmin - 2; i >= 0; i--)
			next_off[i] = act[i + 1] ? next_off[i + 1] : i + 1;

		set_tz(zone);
		for (int64_t t = t0; t <= t1; t += 900) {
			long i = (long)((t - b0) / 60);
			int64_t want = act[i] ? (next_off[i] - i) * 60 : 0;
			int64_t got_null = quiet_wait(NULL, t, from, to);
			if (got_null != want)
				null_bad++;
		}
		/* another zone, so that quiet_wait switches; backwards in
		 * time, so that no answer comes from a window kept before */
		set_tz("Asia/Tokyo");
		for (int64_t t = t0 + (t1 - t0) / 900 * 900; t >= t0; t -= 900) {
			long i = (long)((t - b0) / 60), m, tok;
			int64_t want = act[i] ? (next_off[i] - i) * 60 : 0;
			int64_t got = quiet_wait(zone, t, from, to), old;
			/* a fixed zone in between, checked by the simple rule */
			int64_t tw = quiet_wait("Asia/Tokyo", t, from, to);
			tok = ((t + 9 * 3600) % DAY + DAY) % DAY / 60;
			if (tw != (in_range(tok * 60, from, to) ? ((to - tok + 1440) % 1440) * 60 : 0))
				direct_bad++;
			n++;
			total++;
			if (want)
				quiet_cases++;
			if (got != want) {
				first_bad = (long)(t - t0), got_bad = got, want_bad = want;
				bad++;
			}
			/* direct: t + got shows to, or the clock jumped there */
			if (got > 0) {
				long j = i + (long)(got / 60), ok_end;
				ok_end = got % 60 == 0 && j < nmin &&
					 (wall[j] == to * 60L || offs[j] != offs[j - 1]) &&
					 !in_range(wall[j], from, to);
				for (long k = i; ok_end && k < j; k++)
					if (!act[k])
						ok_end = 0;
				if (!ok_end)
					direct_bad++;
			}
			/* the rule before issue 22 */
			m = wall[i] / 60;
			old = in_range(wall[i], from, to) ? ((to - m + 1440) % 1440) * 60 : 0;
			if (old != want)
				old_wrong++;
		}
		ok(!bad && !null_bad && !direct_bad && !strcmp(getenv("TZ"), "Asia/Tokyo"),
		   "%s %s, quiet %02d:%02d-%02d:%02d: %ld instants", zone, what,
		   from / 60, from % 60, to / 60, to % 60, n);
		if (bad) {
			time_t tt = (time_t)(t0 + first_bad);
			char buf[64];
			set_tz(zone);
			strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M %Z", localtime(&tt));
			printf("#   %ld wrong; the first at %s: got %lld, want %lld\n", bad, buf,
			       (long long)got_bad, (long long)want_bad);
		}
		if (null_bad || direct_bad)
			printf("#   %ld wrong with the process's TZ, %ld failed direct checks\n",
			       null_bad, direct_bad);
	}
	free(wall);
	free(offs);
	free(act);
	free(next_off);
}

static void test_zone(const char *zone, int y0, int y1)
{
	int64_t ch[64];
	int n;
	char what[64];

	set_tz(zone);
	n = changes(utc(y0, 1, 1), utc(y1, 1, 1), ch, 64);
	for (int i = 0; i < n; i++) {
		time_t tt = (time_t)ch[i];
		struct tm tm;
		gmtime_r(&tt, &tm);
		strftime(what, sizeof(what), "change %Y-%m-%d %H:%M UTC", &tm);
		check_around(zone, ch[i], what);
	}
	if (!n) {
		check_around(zone, utc(y0, 3, 30), "no change, March");
		check_around(zone, utc(y0, 10, 26), "no change, October");
	}
}

/* the cases the issue names, by hand */
static void test_cases(void)
{
	/* Berlin, 2025-03-30: 02:00 CET -> 03:00 CEST (01:00 UTC) */
	int64_t t = utc(2025, 3, 29) + 21 * 3600;	/* 22:00 CET */
	is_int(quiet_wait("Europe/Berlin", t, 21 * 60, 8 * 60), 9 * 3600,
	       "Berlin 22:00 CET before spring-forward: 9 hours to 08:00 CEST, not 10");
	is_int(quiet_wait("Europe/Berlin", utc(2025, 3, 30) + 30 * 60, 90, 150), 30 * 60,
	       "Berlin 01:30 CET, quiet until 02:30 (in the gap): ends at 03:00 CEST");
	/* 2025-10-26: 03:00 CEST -> 02:00 CET (01:00 UTC) */
	t = utc(2025, 10, 25) + 20 * 3600;		/* 22:00 CEST */
	is_int(quiet_wait("Europe/Berlin", t, 21 * 60, 8 * 60), 11 * 3600,
	       "Berlin 22:00 CEST before fall-back: 11 hours to 08:00 CET, not 10");
	is_int(quiet_wait("Europe/Berlin", utc(2025, 10, 26) + 30 * 60, 22 * 60, 150), 0,
	       "02:30 CEST, 22:00-02:30: ended at the first 02:30");
	is_int(quiet_wait("Europe/Berlin", utc(2025, 10, 26) + 60 * 60, 22 * 60, 150), 30 * 60,
	       "02:00 CET (second pass), 22:00-02:30: quiet again until 02:30 CET");
	/* New York, 2025-11-02: 02:00 EDT -> 01:00 EST (06:00 UTC) */
	is_int(quiet_wait("America/New_York", utc(2025, 11, 2) + 6 * 3600, 90, 210), 150 * 60,
	       "New York 01:00 EST after 01:30-01:59 EDT, 01:30-03:30: still quiet, to 03:30 EST");
	is_int(quiet_wait("America/New_York", utc(2025, 11, 2) + 5 * 3600 + 15 * 60, 90, 210), 0,
	       "New York 01:15 EDT, 01:30-03:30: not yet");
	/* Apia skipped 2011-12-30: 23:59:59 -10 on the 29th -> 00:00 +14 on
	 * the 31st (2011-12-30 10:00 UTC): a whole day, which leaves the time
	 * of day as it was: 08:00 is the one of the 31st */
	is_int(quiet_wait("Pacific/Apia", utc(2011, 12, 30) + 9 * 3600, 22 * 60, 8 * 60), 9 * 3600,
	       "Apia 23:00 on the 29th, 22:00-08:00: until 08:00 on the 31st, 9 hours later");
	is_int(quiet_wait("Pacific/Apia", utc(2011, 12, 30) + 9 * 3600, 22 * 60, 0), 3600,
	       "Apia 23:00 on the 29th, 22:00-00:00: until the jump to 00:00 on the 31st");
	/* off and empty */
	is_int(quiet_wait("UTC", 0, -1, 480), 0, "from < 0: off");
	is_int(quiet_wait("UTC", 0, 480, 480), 0, "from == to: never quiet");
	is_int(quiet_wait("UTC", 0, 0, 1440), 0, "to out of range: off");
	is_int(quiet_wait("UTC", 30, 0, 1), 30, "UTC 00:00:30, 00:00-00:01: 30 s");
	is_int(quiet_wait("", 30, 0, 1), 30, "\"\": the process's TZ");
}

int main(void)
{
	set_tz("UTC");
	test_cases();
	if (!strcmp(getenv("TZ"), "UTC"))
		ok(1, "TZ is put back");
	else
		ok(0, "TZ is put back: %s", getenv("TZ"));
	unsetenv("TZ");
	quiet_wait("Europe/Berlin", 0, 0, 60);
	ok(!getenv("TZ"), "an unset TZ stays unset");

	test_zone("Europe/Berlin", 2024, 2027);
	test_zone("America/New_York", 2024, 2027);
	test_zone("Australia/Lord_Howe", 2024, 2027);
	test_zone("Europe/London", 2024, 2027);
	test_zone("America/Sao_Paulo", 2024, 2027);
	test_zone("America/Sao_Paulo", 2017, 2020);
	test_zone("Pacific/Apia", 2024, 2027);
	test_zone("Pacific/Apia", 2010, 2013);
	test_zone("UTC", 2025, 2026);
	printf("# %ld instants x windows, %ld of them quiet; the rule before issue 22 "
	       "was wrong in %ld\n", total, quiet_cases, old_wrong);
	ok(old_wrong > 0, "the old rule fails here (the test sees the bug)");
	return tap_done();
}
