#!/bin/sh
# bench/report.sh BUILD_DIR - crm-report's benchmark (issue 6): summary,
# campaign and cohorts on the bench base against the same questions
# written by hand as SQL in the sqlite3 shell.
#
# The base is a copy of the one bench/score.sh makes (1M generated
# customers of whom ~634k buy, 5M orders: BENCH_REPORT_DB, default
# $BENCH_DATA/score/bench-5000000-1000000-s1.db; run `make bench` or
# bench/score.sh first), kept in $BENCH_DATA/report/ and never the
# original. Added by SQL: a campaign "bench-winback" of 200,000 messages
# sent on 2026-09-15 10:00:00 with a 10% control group (by a hash of the
# customer id), and e-mail events for it (opened by 20% of the treatment,
# clicked by 5%, by another hash).
#
# Each question runs BENCH_RUNS times (3), crm-report and the hand SQL
# back to back so that the load of a shared machine weighs on both alike;
# the best wall time of each counts. Targets (reported, not asserted):
# crm-report within 1.5 x the hand SQL and under 2 s. Exit status 1 only
# when a step fails or the two disagree on the numbers compared.
#
# Environment: BENCH_DATA (bench/data), BENCH_REPORT_DB, BENCH_RUNS (3),
# BENCH_NOW (2026-11-02 00:00:00, the day after the generated orders).
set -u

BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
HERE=$(cd "$(dirname "$0")" && pwd)
REPORT=$BUILD/bin/crm-report
DATA=${BENCH_DATA:-$HERE/data}
SRC=${BENCH_REPORT_DB:-$DATA/score/bench-5000000-1000000-s1.db}
RUNS=${BENCH_RUNS:-3}
NOW=${BENCH_NOW:-2026-11-02 00:00:00}
W=$DATA/report
DB=$W/bench.db
LC_ALL=C
TZ=UTC
export LC_ALL TZ
unset CRM_DB CRM_NOW CRM_CONFIG

die() { echo "bench/report: $*" >&2; exit 1; }

[ -x "$REPORT" ] || die "$REPORT missing (make)"
[ -f "$SRC" ] || die "$SRC missing: run bench/score.sh $1 (or make bench) first, or set BENCH_REPORT_DB"
command -v sqlite3 >/dev/null 2>&1 || die "sqlite3 (the CLI) is needed for the hand SQL"
mkdir -p "$W" || die "cannot create $W"

# ---- the copy, with the campaign ------------------------------------------
# Rebuilt when the source or this script is newer than the copy.
if [ ! -f "$DB" ] || [ "$SRC" -nt "$DB" ] || [ "$0" -nt "$DB" ]; then
	echo "bench/report: copying $SRC"
	rm -f "$DB" "$DB-wal" "$DB-shm"
	cp "$SRC" "$DB" || die "cannot copy $SRC"
	# schema migrations of this build, once, outside the timings
	"$REPORT" --db "$DB" --now "$NOW" export messages >/dev/null || die "crm-report cannot open the copy"
	sqlite3 -bail "$DB" >/dev/null <<EOF || die "cannot add the campaign"
PRAGMA journal_mode = WAL;
BEGIN;
DELETE FROM messages WHERE campaign_id IN (SELECT id FROM campaigns WHERE name = 'bench-winback');
DELETE FROM campaigns WHERE name = 'bench-winback';
INSERT INTO campaigns(name, channel, created_at) VALUES ('bench-winback', 'email', '2026-09-15 09:00:00');
-- 200,000 customers spread over the base; every tenth (by a hash of the id) in the control group
CREATE TEMP TABLE pick AS SELECT id FROM customers
	WHERE (id * 2654435761) % 3 = 0 ORDER BY id LIMIT 200000;
INSERT INTO messages(campaign_id, customer_id, channel, grp, status, address, message_id,
                     planned_at, sent_at, updated_at)
	SELECT (SELECT id FROM campaigns WHERE name = 'bench-winback'), id, 'email',
	       CASE WHEN ((id * 2246822519) / 4096) % 10 = 0 THEN 'control' ELSE 'treatment' END,
	       CASE WHEN ((id * 2246822519) / 4096) % 10 = 0 THEN 'control' ELSE 'sent' END,
	       'c' || id || '@example.com', '<bench-' || id || '@example.com>',
	       '2026-09-15 09:59:00', '2026-09-15 10:00:00', '2026-09-15 10:00:00'
	FROM pick;
INSERT INTO events(external_id, customer_id, type, occurred_at, campaign, message_id)
	SELECT '~bench-open-' || customer_id, customer_id, 'opened', '2026-09-15 12:00:00',
	       'bench-winback', message_id
	FROM messages WHERE grp = 'treatment' AND message_id LIKE '<bench-%'
	AND ((customer_id * 3266489917) / 4096) % 5 = 0;
INSERT INTO events(external_id, customer_id, type, occurred_at, campaign, message_id)
	SELECT '~bench-click-' || customer_id, customer_id, 'clicked', '2026-09-15 12:05:00',
	       'bench-winback', message_id
	FROM messages WHERE grp = 'treatment' AND message_id LIKE '<bench-%'
	AND ((customer_id * 3266489917) / 4096) % 20 = 0;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
EOF
fi

# ---- the hand SQL ------------------------------------------------------------
DONE="status NOT IN ('refunded', 'cancelled', 'returned')"
# summary: per currency, from the completed orders grouped by customer
cat >"$W/hand.summary.sql" <<EOF
.mode csv
SELECT count(*) FROM customers WHERE erased_at IS NULL;
WITH per AS (
  SELECT customer_id, currency, count(*) AS n, sum(amount) AS s, max(ordered_at) AS last,
         max(ordered_at > datetime('$NOW', '-365 days')) AS recent,
         max(ordered_at > datetime('$NOW', '-730 days')
             AND ordered_at <= datetime('$NOW', '-365 days')) AS prev
  FROM orders WHERE $DONE AND ordered_at <= '$NOW'
  GROUP BY customer_id, currency)
SELECT currency, count(*) AS buyers, sum(n >= 2), round(avg(n >= 2), 4), sum(n), sum(s) / 100.0,
       round(sum(s) / 100.0 / sum(n), 2), round(avg(n), 4),
       sum(last > datetime('$NOW', '-30 days')), sum(last > datetime('$NOW', '-90 days')),
       sum(recent), round(1.0 * sum(prev AND recent) / sum(prev), 4), round(avg(NOT recent), 4)
FROM per GROUP BY currency ORDER BY sum(n) DESC;
SELECT m.currency, avg(s.clv) FROM scores s JOIN models m ON m.id = s.clv_model_id
WHERE s.clv IS NOT NULL GROUP BY m.currency;
EOF
# campaign: per group, conversions in the 7 days after the message, revenue
# per recipient in RUB (sum and sum of squares, for the tests), opens
# and clicks; the statistics from these are a few lines of arithmetic
cat >"$W/hand.campaign.sql" <<EOF
.mode csv
WITH m AS (
  SELECT m.grp, m.customer_id, m.sent_at AS t0, datetime(m.sent_at, '+7 days') AS t1, m.message_id
  FROM messages m JOIN campaigns c ON c.id = m.campaign_id
  WHERE c.name = 'bench-winback' AND m.status IN ('sent', 'bounced', 'failed', 'in_doubt', 'control')),
r AS (
  SELECT m.grp,
         EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = m.customer_id
                 AND o.ordered_at > m.t0 AND o.ordered_at <= min(m.t1, '$NOW') AND o.$DONE) AS conv,
         (SELECT coalesce(sum(o.amount), 0) / 100.0 FROM orders o WHERE o.customer_id = m.customer_id
                 AND o.ordered_at > m.t0 AND o.ordered_at <= min(m.t1, '$NOW') AND o.$DONE
                 AND o.currency = 'RUB') AS rev,
         EXISTS (SELECT 1 FROM events e WHERE e.customer_id = m.customer_id AND e.type = 'opened'
                 AND (e.message_id = m.message_id OR e.campaign = 'bench-winback')) AS opened,
         EXISTS (SELECT 1 FROM events e WHERE e.customer_id = m.customer_id AND e.type = 'clicked'
                 AND (e.message_id = m.message_id OR e.campaign = 'bench-winback')) AS clicked
  FROM m)
SELECT grp, count(*), sum(opened), sum(clicked), sum(conv), round(sum(rev), 2), sum(rev * rev)
FROM r GROUP BY grp ORDER BY grp DESC;
EOF
# cohorts: customers by first order month, active customers per month since
cat >"$W/hand.cohorts.sql" <<EOF
.mode csv
WITH o AS (
  SELECT customer_id, ordered_at FROM orders WHERE $DONE AND ordered_at <= '$NOW'),
f AS (SELECT customer_id, min(ordered_at) AS first FROM o GROUP BY customer_id),
a AS (
  SELECT DISTINCT o.customer_id, substr(f.first, 1, 7) AS cohort,
         (substr(o.ordered_at, 1, 4) * 12 + substr(o.ordered_at, 6, 2))
         - (substr(f.first, 1, 4) * 12 + substr(f.first, 6, 2)) AS k
  FROM o JOIN f ON f.customer_id = o.customer_id)
SELECT cohort, sum(k = 0), round(1.0 * sum(k = 1) / sum(k = 0), 4), round(1.0 * sum(k = 2) / sum(k = 0), 4),
       round(1.0 * sum(k = 11) / sum(k = 0), 4)
FROM a WHERE k < 12 GROUP BY cohort ORDER BY cohort;
EOF

# ---- timing ------------------------------------------------------------------
now() {
	_d=$(date +%s.%N)
	case $_d in *N) date +%s ;; *) echo "$_d" ;; esac
}
# once NAME CMD...: runs CMD, output in $W/NAME.out/.err, time appended
# to $W/NAME.runs; sets rc
# (and, with GNU time, its CPU seconds, user + system, to $W/NAME.cpu:
# on a busy machine the wall time says more about the others' load)
if /usr/bin/time -f '%U %S' -o /dev/null true 2>/dev/null; then
	CPU=1
else
	CPU=
fi
once() {
	_n=$1
	shift
	_t0=$(now)
	if [ -n "$CPU" ]; then
		/usr/bin/time -f '%U %S' -o "$W/$_n.cpu1" "$@" <"${STEP_IN:-/dev/null}" \
			>"$W/$_n.out" 2>"$W/$_n.err"
		rc=$?
	else
		"$@" <"${STEP_IN:-/dev/null}" >"$W/$_n.out" 2>"$W/$_n.err"
		rc=$?
	fi
	awk -v a="$_t0" -v b="$(now)" 'BEGIN { printf "%.3f\n", b - a }' >>"$W/$_n.runs"
	[ -n "$CPU" ] && tail -n 1 "$W/$_n.cpu1" | awk '{ printf "%.2f\n", $1 + $2 }' >>"$W/$_n.cpu"
}
best() { sort -n "$W/$1.runs" | head -n 1; }
bestcpu() { if [ -n "$CPU" ]; then sort -n "$W/$1.cpu" | head -n 1; else echo -1; fi; }

fail=0
crashed() { echo "bench/report: FAILED: $*" >&2; fail=1; }

# compare NAME: crm-report and the hand SQL, RUNS rounds back to back
compare() {
	_q=$1
	shift
	: >"$W/crm.$_q.runs"
	: >"$W/hand.$_q.runs"
	: >"$W/crm.$_q.cpu"
	: >"$W/hand.$_q.cpu"
	_r=0
	while [ $_r -lt "$RUNS" ]; do
		once crm.$_q "$REPORT" --db "$DB" --now "$NOW" -f csv "$@"
		[ $rc = 0 ] || { crashed "crm-report $*: exit $rc: $(head -n 3 "$W/crm.$_q.err")"; return; }
		STEP_IN=$W/hand.$_q.sql once hand.$_q sqlite3 -bail "$DB"
		[ $rc = 0 ] || { crashed "hand SQL $_q: exit $rc: $(head -n 3 "$W/hand.$_q.err")"; return; }
		_r=$((_r + 1))
	done
}

# read the file once so that the first round does not pay for the disk
cat "$DB" >/dev/null
echo "bench/report: $(sqlite3 "$DB" 'SELECT count(*) FROM orders') orders," \
	"$(sqlite3 "$DB" "SELECT count(*) FROM messages m JOIN campaigns c ON c.id = m.campaign_id
	                  WHERE c.name = 'bench-winback'") campaign messages; --now '$NOW', best of $RUNS"
compare summary summary
compare campaign campaign bench-winback
compare cohorts cohorts

# ---- the same numbers ----------------------------------------------------------
# summary: RUB buyers, orders and revenue
got=$(awk -F, '$1 == "RUB" { print $3, $6, $7 }' "$W/crm.summary.out")
want=$(awk -F, '$1 == "RUB" && NF > 5 { printf "%s %s %.2f\n", $2, $5, $6 }' "$W/hand.summary.out" |
	awk '{ r = $3; sub(/\.?0+$/, "", r); print $1, $2, r }')
[ -n "$got" ] && [ "$got" = "$want" ] ||
	crashed "summary: crm-report says buyers, orders, revenue '$got', the hand SQL '$want'"
# campaign: recipients, opened, clicked, converted per group
for g in treatment control; do
	got=$(awk -F, -v g=$g 'NR == 1 { for (i = 1; i <= NF; i++) h[$i] = i; next }
		$1 == g { print $(h["recipients"]), $(h["opened"]), $(h["clicked"]), $(h["converted"]) }' \
		"$W/crm.campaign.out")
	want=$(awk -F, -v g=$g '$1 == g { print $2, $3, $4, $5 }' "$W/hand.campaign.out")
	[ -n "$got" ] && [ "$got" = "$want" ] ||
		crashed "campaign $g: crm-report says recipients, opened, clicked, converted '$got', the hand SQL '$want'"
done
# cohorts: size and the m1 retention of every cohort
got=$(awk -F, 'NR > 1 { print $1, $2, $5 + 0 }' "$W/crm.cohorts.out" | sort)
want=$(awk -F, '{ print $1, $2, $3 + 0 }' "$W/hand.cohorts.out" | sort)
[ -n "$got" ] && [ "$got" = "$want" ] ||
	crashed "cohorts: crm-report and the hand SQL disagree on the cohorts' sizes or m1 retention"

# ---- the report -------------------------------------------------------------
echo "bench/report: $(getconf _NPROCESSORS_ONLN 2>/dev/null || echo ?) CPUs; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo ?)"
printf '\n%-10s %11s %9s %6s %10s %9s  %s\n' "best of $RUNS" "crm-report" "hand SQL" "ratio" \
	"CPU: crm" "hand" "target (wall <= 1.5 x and < 2 s)"
for q in summary campaign cohorts; do
	awk -v q="$q" -v c="$(best crm.$q)" -v h="$(best hand.$q)" -v cc="$(bestcpu crm.$q)" \
	    -v hc="$(bestcpu hand.$q)" 'BEGIN {
		r = h > 0 ? c / h : 0
		printf "%-10s %11.3f %9.3f %6.2f %10s %9s  %s\n", q, c, h, r,
			cc < 0 ? "n/a" : sprintf("%.2f", cc), hc < 0 ? "n/a" : sprintf("%.2f", hc),
			(r <= 1.5 && c < 2) ? "PASS" : "FAIL"
	}'
done
echo "(outputs, errors and the time of every run in $W/)"
exit $fail
