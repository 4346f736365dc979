/*
 * quiet.h - quiet hours in the recipient's time zone, across changes of
 * its clock (issue 22: the end of quiet hours ignored a DST change inside
 * the window).
 *
 * Quiet hours [from, to) are minutes after local midnight (0..1439); from
 * > to wraps midnight (21:00-08:00); from == to is never quiet; from < 0
 * (or out of range) turns them off.
 *
 * What "quiet" means at an instant t, the local clock being what the zone
 * says it shows at t (it never shows a time of a spring-forward gap; in a
 * fall-back overlap it shows the repeated times twice):
 *  - t is quiet when the clock shows a time in [from, to); so in the
 *    second pass of an overlap, a time of the window is quiet again even
 *    if the first pass already reached to (22:00-02:30 with 03:00 CEST ->
 *    02:00 CET: quiet until 02:30 CEST, then again 02:00-02:30 CET);
 *  - once quiet, it stays quiet until the clock shows to, even when a
 *    fall-back puts the clock back before from (01:30-03:30 in New York,
 *    01:45 EDT -> 01:00 EST: still quiet at 01:00-01:30 EST);
 *  - the end is the first instant after t at which the clock shows to;
 *    when to does not exist that day (it is in a spring-forward gap),
 *    the instant of the jump, the first after the gap; when to occurs
 *    twice (fall-back), the first occurrence. A jump of a whole day
 *    (Pacific/Apia skipped 2011-12-30) changes no time of day: 22:00-08:00
 *    from 23:00 on the 29th ends at 08:00 on the 31st.
 * It is assumed that a zone's clock changes at most once in 3 hours
 * (true of every zone of the tz database).
 */
#ifndef CRM_QUIET_H
#define CRM_QUIET_H

#include <stdint.h>

/*
 * 0 when t (seconds since the epoch) is not in quiet hours [from, to) in
 * time zone tz, else the seconds from t to their end (> 0), as above.
 * tz is an IANA name ("Europe/Berlin"); NULL or "" is the process's TZ;
 * a name glibc does not know is UTC, as glibc has it. The zone is
 * switched with setenv("TZ") and tzset() and put back before returning;
 * answers are kept per zone (the same t, or a t within a quiet window
 * already computed, costs no switch). Not thread-safe (setenv, tzset).
 */
int64_t quiet_wait(const char *tz, int64_t t, int from, int to);

#endif
