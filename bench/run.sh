#!/bin/sh
# bench/run.sh BUILD_DIR - `make bench`: crm-import against sqlite3 alone.
#
# Generates (or reuses) customers and orders CSV files, then loads them
#   a) with crm-import into a fresh crmkit database,
#   b) with sqlite3's .import into tables with the same unique keys and
#      indexes (the peer: no validation, no normalisation),
#   c) with a tuned sqlite3 session (WAL, synchronous=NORMAL, a big cache,
#      one transaction): .import into an unindexed staging table, then
#      INSERT INTO crmkit's own tables SELECT ... (the best one does by hand),
# and re-imports the orders with crm-import (a nightly full export); then
# imports events and times crm-segment -c on four questions against the
# same questions written by hand as SQL in the sqlite3 shell, on the same
# file (both must count the same customers), and crm-segment --track of a
# saved segment of about half the base.
# Prints times, rows/s, peak RSS and the ratios against the targets. The
# targets are reported, not asserted: the exit status is 0 unless a step
# crashed, a peer did not load every row, or crm-segment and the hand SQL
# disagree. See bench/README.
#
# Environment: BENCH_CUSTOMERS (1000000), BENCH_ORDERS (5000000),
# BENCH_EVENTS (2 per customer), BENCH_SEED (1), BENCH_DATA (bench/data),
# BENCH_NOW (2026-11-02 00:00:00, the segments' --now), BENCH_RUNS (3: each
# query runs that many times, the best counts), BENCH_KEEP=1 keeps the
# databases, BENCH_TIMER=bash|date forces a fallback timer (no peak RSS).
set -u

BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
HERE=$(cd "$(dirname "$0")" && pwd)
GEN=$BUILD/bench/gen
IMPORT=$BUILD/bin/crm-import
SEGMENT=$BUILD/bin/crm-segment
SCHEMA=$HERE/../share/schema/001-init.sql
NC=${BENCH_CUSTOMERS:-1000000}
NO=${BENCH_ORDERS:-5000000}
SEED=${BENCH_SEED:-1}
SEG_NOW=${BENCH_NOW:-2026-11-02 00:00:00}
RUNS=${BENCH_RUNS:-3}
DATA=${BENCH_DATA:-$HERE/data}
W=$DATA/run
LC_ALL=C
export LC_ALL

die() { echo "bench: $*" >&2; exit 1; }

for v in "$NC" "$NO" "$SEED" "$RUNS"; do
	case $v in
	'' | *[!0-9]*) die "BENCH_CUSTOMERS, BENCH_ORDERS, BENCH_SEED and BENCH_RUNS must be numbers" ;;
	esac
done
NE=${BENCH_EVENTS:-$((NC * 2))}
case $NE in '' | *[!0-9]*) die "BENCH_EVENTS must be a number" ;; esac
[ "$NC" -gt 0 ] || die "BENCH_CUSTOMERS must be at least 1"
[ "$RUNS" -gt 0 ] || die "BENCH_RUNS must be at least 1"
[ -x "$GEN" ] || die "$GEN missing (make $BUILD/bench/gen)"
[ -x "$IMPORT" ] || die "$IMPORT missing (make)"
[ -x "$SEGMENT" ] || die "$SEGMENT missing (make)"
command -v sqlite3 >/dev/null 2>&1 || die "sqlite3 (the CLI) is needed for the peer"
mkdir -p "$W" || die "cannot create $W"

# ---- timing --------------------------------------------------------------
# run_step NAME CMD...: runs CMD with stdin from $STEP_IN (default
# /dev/null), stdout and stderr to $W/NAME.out and $W/NAME.err; leaves
# $W/NAME.time holding "seconds peak_kB" (kB "n/a" without GNU time) and
# sets $rc.
if [ -n "${BENCH_TIMER:-}" ]; then
	TIMER=$BENCH_TIMER # gnu, bash or date: to test the fallbacks
elif /usr/bin/time -f '%e %M' -o /dev/null true 2>/dev/null; then
	TIMER=gnu
elif command -v bash >/dev/null 2>&1; then
	TIMER=bash
else
	TIMER=date
fi

# seconds since the epoch, with nanoseconds where date has %N (GNU)
now() {
	_d=$(date +%s.%N)
	case $_d in *N) date +%s ;; *) echo "$_d" ;; esac
}

run_step() {
	_n=$1
	shift
	_in=${STEP_IN:-/dev/null}
	case $TIMER in
	gnu)
		/usr/bin/time -f '%e %M' -o "$W/$_n.time" "$@" <"$_in" >"$W/$_n.out" 2>"$W/$_n.err"
		rc=$?
		# GNU time writes "Command exited with non-zero status N" first
		tail -n 1 "$W/$_n.time" >"$W/$_n.time.1" && mv "$W/$_n.time.1" "$W/$_n.time"
		;;
	bash)
		bash -c 'o=$1 e=$2 t=$3 i=$4; shift 4; TIMEFORMAT=%R
			{ time "$@" <"$i" >"$o" 2>"$e"; } 2>"$t"' bench \
			"$W/$_n.out" "$W/$_n.err" "$W/$_n.time" "$_in" "$@"
		rc=$?
		echo "$(tail -n 1 "$W/$_n.time") n/a" >"$W/$_n.time"
		;;
	*)
		_t0=$(now)
		"$@" <"$_in" >"$W/$_n.out" 2>"$W/$_n.err"
		rc=$?
		awk -v a="$_t0" -v b="$(now)" 'BEGIN { printf "%.2f n/a\n", b - a }' >"$W/$_n.time"
		;;
	esac
	echo "$rc" >"$W/$_n.rc"
}

secs() { awk '{print $1}' "$W/$1.time"; }
kb() { awk '{print $2}' "$W/$1.time"; }

# ---- data ----------------------------------------------------------------
CUST=$DATA/customers-$NC-s$SEED.csv
ORD=$DATA/orders-$NO-$NC-s$SEED.csv
EVT=$DATA/events-$NE-$NC-s$SEED.csv
GENSUM=$(cksum <"$HERE/gen.c")

# gen_file FILE ARGS...: regenerates FILE unless it was made by this gen.c
gen_file() {
	_f=$1
	shift
	if [ -f "$_f" ] && [ -f "$_f.stamp" ] && [ "$(cat "$_f.stamp")" = "$GENSUM" ]; then
		echo "bench: reusing $_f"
		return
	fi
	echo "bench: generating $_f"
	rm -f "$_f" "$_f.stamp"
	"$GEN" "$@" --seed "$SEED" >"$_f.tmp" || die "gen $* failed"
	mv "$_f.tmp" "$_f" && echo "$GENSUM" >"$_f.stamp"
}
gen_file "$CUST" customers "$NC"
gen_file "$ORD" orders "$NO" "$NC"
gen_file "$EVT" events "$NE" "$NC"
# every step reads the files from the page cache
cat "$CUST" "$ORD" "$EVT" >/dev/null

fresh() { rm -f "$1" "$1-wal" "$1-shm" "$1-journal"; }
count() { [ -f "$1" ] && sqlite3 "$1" "SELECT count(*) FROM $2" 2>/dev/null || echo 0; }
mib() { [ -f "$1" ] && echo $(($(wc -c <"$1") / 1048576)) || echo 0; }

CRASH= CRM_FAILED=
crashed() { CRASH="$CRASH $1"; echo "bench: $1: $2" >&2; }

# ---- a) crm-import ---------------------------------------------------------
# crm_ok STEP LABEL: exit status 3 (some rows rejected) is a finding, not
# a crash
crm_ok() {
	case $rc in
	0 | 3) ;;
	*)
		CRM_FAILED=1
		crashed "$2" "exit status $rc"
		tail -n 5 "$W/$1.err" >&2
		;;
	esac
}
echo "bench: a) crm-import"
CDB=$W/crm.db
fresh "$CDB"
run_step crm.customers "$IMPORT" --db "$CDB" customers "$CUST"
crm_ok crm.customers "crm-import customers"
run_step crm.orders "$IMPORT" --db "$CDB" orders "$ORD"
crm_ok crm.orders "crm-import orders"
# e) the same orders again: nothing may change
run_step crm.reimport "$IMPORT" --db "$CDB" orders "$ORD"
crm_ok crm.reimport "crm-import orders (re-import)"
CRM_NC=$(count "$CDB" customers)
CRM_NO=$(count "$CDB" orders)
CRM_SIZE=$(mib "$CDB")

# ---- f) crm-segment against the same questions as hand-written SQL ---------
# once NAME CMD...: runs CMD once (stdin from $STEP_IN), keeps its output
# in $W/NAME.out and .err, appends its wall time to $W/NAME.runs and sets
# $rc; best NAME RC then leaves the best time in $W/NAME.time ("seconds
# n/a") and RC, the last status, in $W/NAME.rc. Queries take from
# milliseconds to seconds: both sides are timed with date's nanoseconds
# rather than GNU time's hundredths.
once() {
	_n=$1
	shift
	_t0=$(now)
	"$@" <"${STEP_IN:-/dev/null}" >"$W/$_n.out" 2>"$W/$_n.err"
	rc=$?
	awk -v a="$_t0" -v b="$(now)" 'BEGIN { printf "%.3f\n", b - a }' >>"$W/$_n.runs"
}
best() {
	echo "$2" >"$W/$1.rc"
	echo "$(sort -n "$W/$1.runs" | head -n 1) n/a" >"$W/$1.time"
}

echo "bench: f) crm-import events; crm-segment against hand-written SQL"
run_step crm.events "$IMPORT" --db "$CDB" events "$EVT"
crm_ok crm.events "crm-import events"
CRM_NE=$(count "$CDB" events)
cat "$CDB" "$CDB-wal" >/dev/null 2>&1
SEG_FAILED=
# seg_query N EXPR: crm-segment -c EXPR against $W/hand.qN.sql, which
# must count the same customers. Each of the $RUNS rounds runs one and
# then the other, back to back, so that the load of a shared machine
# weighs on both alike; the best time of each counts.
seg_query() {
	echo "$2" >"$W/seg.q$1.expr"
	: >"$W/seg.q$1.runs"
	: >"$W/hand.q$1.runs"
	_r=0
	while [ $_r -lt "$RUNS" ]; do
		once seg.q$1 "$SEGMENT" --db "$CDB" --now "$SEG_NOW" -c "$2"
		_rs=$rc
		STEP_IN=$W/hand.q$1.sql once hand.q$1 sqlite3 -bail "$CDB"
		_rh=$rc
		[ "$_rs" = 0 ] && [ "$_rh" = 0 ] || break
		_r=$((_r + 1))
	done
	best seg.q$1 "$_rs"
	best hand.q$1 "$_rh"
	[ "$_rs" = 0 ] || { SEG_FAILED=1; crashed "crm-segment q$1" "exit status $_rs: $(head -n 3 "$W/seg.q$1.err")"; }
	[ "$_rh" = 0 ] || { SEG_FAILED=1; crashed "hand SQL q$1" "exit status $_rh: $(head -n 3 "$W/hand.q$1.err")"; }
	if [ "$(cat "$W/seg.q$1.out")" != "$(cat "$W/hand.q$1.out")" ]; then
		SEG_FAILED=1
		crashed "segment q$1" "crm-segment counts $(head -c 40 "$W/seg.q$1.out"), the hand SQL $(head -c 40 "$W/hand.q$1.out"): one of them is wrong"
	fi
}
# The hand SQL is what one writes for this base in the sqlite3 shell, with
# its default settings, over the same tables and indexes: completed orders
# grouped by customer, amounts in cents (the data has RUB, USD and EUR
# only), days and windows with SQLite's date functions.
DONE="status NOT IN ('refunded', 'cancelled', 'returned')"
cat >"$W/hand.q1.sql" <<EOF
SELECT count(*) FROM customers c
JOIN (SELECT customer_id FROM orders
	WHERE $DONE AND ordered_at <= '$SEG_NOW'
	GROUP BY customer_id
	HAVING count(*) >= 2 AND (unixepoch('$SEG_NOW') - unixepoch(max(ordered_at))) / 86400 > 90) o
	ON o.customer_id = c.id
WHERE c.erased_at IS NULL;
EOF
seg_query 1 'days_since_last_order > 90 and orders >= 2'
cat >"$W/hand.q2.sql" <<EOF
SELECT count(*) FROM customers c
JOIN (SELECT customer_id FROM orders
	WHERE $DONE AND ordered_at >= datetime('$SEG_NOW', '-365 days') AND ordered_at <= '$SEG_NOW'
	GROUP BY customer_id
	HAVING sum(amount) / 100.0 > 10000) o
	ON o.customer_id = c.id
WHERE c.erased_at IS NULL;
EOF
seg_query 2 'revenue(365d) > 10000'
cat >"$W/hand.q3.sql" <<EOF
SELECT count(*) FROM customers
WHERE erased_at IS NULL AND substr(birthday, 6, 5)
	BETWEEN strftime('%m-%d', '$SEG_NOW') AND strftime('%m-%d', '$SEG_NOW', '+7 days');
EOF
seg_query 3 'birthday_in(7d)'
cat >"$W/hand.q4.sql" <<EOF
SELECT count(*) FROM customers c
WHERE c.erased_at IS NULL
	AND c.id IN (SELECT customer_id FROM events WHERE type = 'cart_add'
		AND occurred_at >= datetime('$SEG_NOW', '-7 days') AND occurred_at <= '$SEG_NOW')
	AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id AND o.$DONE
		AND o.ordered_at >= datetime('$SEG_NOW', '-7 days') AND o.ordered_at <= '$SEG_NOW');
EOF
seg_query 4 'event("cart_add", 7d) and orders(7d) = 0'

# g) --track of a saved segment of about half the base: --save, the first
# tracked run (every member enters) and a second one a day later (a few
# leave). Each runs once: the first run happens only once.
echo "bench: g) crm-segment --save and --track"
TRACK_NAME=bench_track
TRACK_EXPR='days_since_last_order <= 500'
TRACK_NOW2=$(sqlite3 :memory: "SELECT datetime('$SEG_NOW', '+1 day')")
echo "$TRACK_EXPR" >"$W/seg.track.expr"
run_step seg.save "$SEGMENT" --db "$CDB" --save "$TRACK_NAME" "$TRACK_EXPR"
[ "$rc" = 0 ] || { SEG_FAILED=1; crashed "crm-segment --save" "exit status $rc: $(head -n 3 "$W/seg.save.err")"; }
run_step seg.track1 "$SEGMENT" --db "$CDB" --now "$SEG_NOW" -s "$TRACK_NAME" --track
[ "$rc" = 0 ] || { SEG_FAILED=1; crashed "crm-segment --track" "exit status $rc: $(head -n 3 "$W/seg.track1.err")"; }
run_step seg.track2 "$SEGMENT" --db "$CDB" --now "$TRACK_NOW2" -s "$TRACK_NAME" --track
[ "$rc" = 0 ] || { SEG_FAILED=1; crashed "crm-segment --track" "exit status $rc: $(head -n 3 "$W/seg.track2.err")"; }
[ "${BENCH_KEEP:-0}" = 1 ] || fresh "$CDB"

# ---- b) sqlite3 .import ----------------------------------------------------
echo "bench: b) sqlite3 .import"
PDB=$W/peer.db
fresh "$PDB"
sqlite3 "$PDB" "
CREATE TABLE customers (id TEXT UNIQUE, email TEXT, phone TEXT, first_name TEXT,
	last_name TEXT, birthday TEXT, city TEXT, country TEXT, created_at TEXT,
	plan TEXT, loyalty_points TEXT);
CREATE UNIQUE INDEX customers_email ON customers(email) WHERE email <> '';
CREATE UNIQUE INDEX customers_phone ON customers(phone) WHERE phone <> '';
CREATE TABLE orders (order_id TEXT NOT NULL UNIQUE, customer_id TEXT NOT NULL,
	ordered_at TEXT NOT NULL, amount TEXT, currency TEXT, status TEXT);
CREATE INDEX orders_customer ON orders(customer_id, ordered_at);" || die "cannot create $PDB"
run_step peer.customers sqlite3 "$PDB" '.mode csv' ".import --skip 1 \"$CUST\" customers"
[ "$rc" = 0 ] || crashed "sqlite3 .import customers" "exit status $rc"
run_step peer.orders sqlite3 "$PDB" '.mode csv' ".import --skip 1 \"$ORD\" orders"
[ "$rc" = 0 ] || crashed "sqlite3 .import orders" "exit status $rc"
PEER_NC=$(count "$PDB" customers)
PEER_NO=$(count "$PDB" orders)
PEER_SIZE=$(mib "$PDB")
[ "$PEER_NC" = "$NC" ] || crashed "sqlite3 .import customers" "loaded $PEER_NC of $NC rows: $(head -n 3 "$W/peer.customers.err")"
[ "$PEER_NO" = "$NO" ] || crashed "sqlite3 .import orders" "loaded $PEER_NO of $NO rows: $(head -n 3 "$W/peer.orders.err")"
[ "${BENCH_KEEP:-0}" = 1 ] || fresh "$PDB"

# ---- c) tuned sqlite3 session, hand-written SQL -----------------------------
echo "bench: c) sqlite3 tuned session, staging table + INSERT ... SELECT"
TDB=$W/tuned.db
fresh "$TDB"
sqlite3 "$TDB" <"$SCHEMA" || die "cannot create $TDB"
cat >"$W/tuned.customers.sql" <<EOF
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA cache_size = -65536;
BEGIN;
CREATE TEMP TABLE stage (id, email, phone, first_name, last_name, birthday,
	city, country, created_at, plan, loyalty_points);
.mode csv
.import --skip 1 "$CUST" stage
INSERT INTO customers (external_id, email, phone, first_name, last_name,
	birthday, city, country, created_at, updated_at, attrs)
SELECT id, nullif(lower(trim(email)), ''), nullif(phone, ''),
	nullif(first_name, ''), nullif(last_name, ''), nullif(birthday, ''),
	nullif(city, ''), nullif(country, ''), nullif(created_at, ''),
	datetime('now'), json_object('plan', plan, 'loyalty_points', loyalty_points)
FROM stage;
DROP TABLE stage;
COMMIT;
EOF
cat >"$W/tuned.orders.sql" <<EOF
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA cache_size = -65536;
BEGIN;
CREATE TEMP TABLE stage (order_id, customer_id, ordered_at, amount, currency, status);
.mode csv
.import --skip 1 "$ORD" stage
INSERT INTO orders (external_id, customer_id, ordered_at, amount, currency, status)
SELECT o.order_id, c.id, o.ordered_at,
	CAST(round(CAST(replace(replace(o.amount, ' ', ''), ',', '.') AS REAL) * 100) AS INTEGER),
	o.currency, CASE o.status WHEN 'canceled' THEN 'cancelled' ELSE o.status END
FROM stage o JOIN customers c ON c.external_id = o.customer_id;
DROP TABLE stage;
COMMIT;
EOF
STEP_IN=$W/tuned.customers.sql run_step tuned.customers sqlite3 -bail "$TDB"
[ "$rc" = 0 ] || crashed "sqlite3 tuned customers" "exit status $rc: $(head -n 3 "$W/tuned.customers.err")"
STEP_IN=$W/tuned.orders.sql run_step tuned.orders sqlite3 -bail "$TDB"
[ "$rc" = 0 ] || crashed "sqlite3 tuned orders" "exit status $rc: $(head -n 3 "$W/tuned.orders.err")"
TUNED_NC=$(count "$TDB" customers)
TUNED_NO=$(count "$TDB" orders)
sqlite3 "$TDB" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null 2>&1
TUNED_SIZE=$(mib "$TDB")
[ "$TUNED_NC" = "$NC" ] || crashed "sqlite3 tuned customers" "loaded $TUNED_NC of $NC rows"
[ "$TUNED_NO" = "$NO" ] || crashed "sqlite3 tuned orders" "loaded $TUNED_NO of $NO rows"
[ "${BENCH_KEEP:-0}" = 1 ] || fresh "$TDB"

# ---- d) report -------------------------------------------------------------
# crm-import's summary: "crm-import: F: R read, I inserted, U updated,
# X unchanged, J rejected, S stubs created, T s (N rows/s)"
summary() { grep -E ': [0-9]+ read, ' "$W/$1.err" | tail -n 1; }
field() { summary "$1" | sed -n "s/.* \([0-9][0-9]*\) $2.*/\1/p"; }

CPU=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo 2>/dev/null | head -n 1)
MEM=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo 2>/dev/null)
echo
echo "crmkit bench: $NC customers, $NO orders (seed $SEED)"
echo "machine:  $(nproc 2>/dev/null || echo ?) CPUs, ${CPU:-unknown CPU}, ${MEM:-? GiB}, $(uname -sr)"
echo "sqlite3:  $(sqlite3 --version | cut -d' ' -f1,2)   crm-import: $("$IMPORT" --version 2>&1 | head -n 1)"
echo "data:     $CUST ($(($(wc -c <"$CUST") / 1048576)) MiB)"
echo "          $ORD ($(($(wc -c <"$ORD") / 1048576)) MiB)"
echo "timer:    $TIMER$([ "$TIMER" = gnu ] || echo ' (no /usr/bin/time: peak RSS n/a)')"
echo

{
	for s in crm.customers:$NC peer.customers:$NC tuned.customers:$NC \
		crm.orders:$NO peer.orders:$NO tuned.orders:$NO crm.reimport:$NO; do
		n=${s%%:*}
		echo "$n ${s#*:} $(cat "$W/$n.time")"
	done
} | awk -v vars="$W/verdict.vars" -v nc="$NC" -v no="$NO" -v crm_size="$CRM_SIZE" -v peer_size="$PEER_SIZE" \
	-v tuned_size="$TUNED_SIZE" '
function label(n) {
	split(n, p, ".")
	eng = p[1] == "crm" ? "crm-import" : p[1] == "peer" ? "sqlite3 .import" : "sqlite3 tuned SQL"
	return eng " " (p[2] == "reimport" ? "orders again" : p[2])
}
function mib(k) { return k == "n/a" ? "n/a" : sprintf("%.1f", k / 1024) }
function rate(r, t) { return t > 0 ? sprintf("%.0f", r / t) : "-" }
function ratio(a, b) { return b > 0 ? sprintf("%.2f", a / b) : "-" }
function row(l, r, t, k) { printf "%-31s %10d %9.2f %11s %9s\n", l, r, t, rate(r, t), mib(k) }
function maxk(a, b) { return a == "n/a" || b == "n/a" ? "n/a" : (a > b ? a : b) }
{
	name[NR] = $1; rows[$1] = $2; t[$1] = $3; k[$1] = $4
}
END {
	printf "%-31s %10s %9s %11s %9s\n", "step", "rows", "seconds", "rows/s", "peak MiB"
	for (i = 1; i <= NR; i++) {
		row(label(name[i]), rows[name[i]], t[name[i]], k[name[i]])
		if (name[i] ~ /tuned.customers/) print ""
	}
	print ""
	split("crm peer tuned", e, " ")
	for (j = 1; j <= 3; j++) {
		tot[e[j]] = t[e[j] ".customers"] + t[e[j] ".orders"]
		kt[e[j]] = maxk(k[e[j] ".customers"], k[e[j] ".orders"])
		row(label(e[j] ".total"), nc + no, tot[e[j]], kt[e[j]])
	}
	printf "database size MiB: crm-import %d, sqlite3 .import %d, tuned SQL %d\n\n",
		crm_size, peer_size, tuned_size
	print "crm-import time / peer time (lower is better; target <= 1.0 vs .import, aim 0.5):"
	printf "%-31s %12s %14s\n", "", "vs .import", "vs tuned SQL"
	split("customers orders", s, " ")
	for (j = 1; j <= 2; j++)
		printf "%-31s %12s %14s\n", s[j], ratio(t["crm." s[j]], t["peer." s[j]]),
			ratio(t["crm." s[j]], t["tuned." s[j]])
	printf "%-31s %12s %14s\n", "total", ratio(tot["crm"], tot["peer"]), ratio(tot["crm"], tot["tuned"])
	# machine-readable figures for the verdicts below
	printf "R_CUST=%s\nR_ORD=%s\nR_TOT=%s\nRSS_KB=%s\n", ratio(t["crm.customers"], t["peer.customers"]),
		ratio(t["crm.orders"], t["peer.orders"]), ratio(tot["crm"], tot["peer"]), kt["crm"] > vars
}'
. "$W/verdict.vars"

echo
echo "crm-import's own summaries:"
for n in crm.customers crm.orders crm.reimport; do
	l=$(summary $n)
	[ -n "$l" ] || l="$n: no summary line, exit status $(cat "$W/$n.rc")"
	echo "  $l"
done
for n in crm.customers crm.orders crm.reimport; do
	w=$(grep -v -E ': [0-9]+ read, ' "$W/$n.err" | wc -l)
	[ "$w" -gt 0 ] || continue
	echo "crm-import diagnostics in $n ($w lines, full text in $W/$n.err), by reason:"
	grep -v -E ': [0-9]+ read, ' "$W/$n.err" |
		sed -e 's/^[^:]*: [^:]*:[0-9]*: //' -e 's/^crm-import: //' -e 's/"[^"]*"/"..."/g' |
		sort | uniq -c | sort -rn | head -n 8 | sed 's/^/  /'
done

# ---- verdicts --------------------------------------------------------------
verdict() { # verdict OK|NO|NA TEXT
	case $1 in
	OK) echo "PASS  $2" ;;
	NA) echo "n/a   $2" ;;
	*) echo "FAIL  $2" ;;
	esac
}
# le A B: OK when A <= B, NA when A is not a number (a peer took 0 s)
le() {
	[ -z "$CRM_FAILED" ] || { echo NO; return; } # a failed run is not fast
	case $1 in
	'' | - | n/a) echo NA ;;
	*) awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 <= b + 0) }' && echo OK || echo NO ;;
	esac
}

RE_INS=$(field crm.reimport inserted)
RE_UPD=$(field crm.reimport updated)
CU_REJ=$(field crm.customers rejected)
OR_REJ=$(field crm.orders rejected)
OR_STUB=$(field crm.orders stubs)
echo
verdict "$(le "$R_CUST" 1.0)" "customers: crm-import <= 1.0 x sqlite3 .import time (ratio $R_CUST)"
verdict "$(le "$R_ORD" 1.0)" "orders: crm-import <= 1.0 x sqlite3 .import time (ratio $R_ORD)"
verdict "$(le "$R_TOT" 1.0)" "total: crm-import <= 1.0 x sqlite3 .import time (ratio $R_TOT)"
verdict "$(le "$R_TOT" 0.5)" "aim: total crm-import <= 0.5 x sqlite3 .import time (ratio $R_TOT)"
if [ "$RSS_KB" = n/a ]; then
	echo "n/a   crm-import peak RSS < 100 MiB (no /usr/bin/time: apt-get install time)"
else
	verdict "$(le "$RSS_KB" 102399)" "crm-import peak RSS < 100 MiB ($((RSS_KB / 1024)) MiB)"
fi
ok=NO
[ "$CRM_NC" = "$NC" ] && [ "$CRM_NO" = "$NO" ] && [ "${CU_REJ:-x}" = 0 ] && [ "${OR_REJ:-x}" = 0 ] &&
	[ "${OR_STUB:-x}" = 0 ] && ok=OK
verdict $ok "crm-import kept every row: $CRM_NC/$NC customers, $CRM_NO/$NO orders, rejected ${CU_REJ:-?}+${OR_REJ:-?}, stubs ${OR_STUB:-?}"
ok=NO
[ "${RE_INS:-x}" = 0 ] && [ "${RE_UPD:-x}" = 0 ] && ok=OK
verdict $ok "re-import of the orders changed nothing: ${RE_INS:-?} inserted, ${RE_UPD:-?} updated, $(secs crm.reimport) s"


# ---- segments --------------------------------------------------------------
echo
echo "crm-segment -c at --now '$SEG_NOW' against the hand-written SQL in the"
echo "sqlite3 shell (seconds, best of $RUNS runs; target: ratio <= 1.0 and under 1 s;"
echo "the queries are in $W/seg.q*.expr and hand.q*.sql):"
printf '%-46s %9s %12s %9s %6s\n' "query" "customers" "crm-segment" "hand SQL" "ratio"
n=1
while [ $n -le 4 ]; do
	printf '%-46s %9s %12s %9s %6s\n' "$(cat "$W/seg.q$n.expr")" "$(head -c 20 "$W/seg.q$n.out")" \
		"$(secs seg.q$n)" "$(secs hand.q$n)" \
		"$(awk -v a="$(secs seg.q$n)" -v b="$(secs hand.q$n)" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')"
	n=$((n + 1))
done
echo "crm-import events: $CRM_NE of $NE rows in $(secs crm.events) s$([ "$(kb crm.events)" = n/a ] || echo ", peak RSS $(($(kb crm.events) / 1024)) MiB")"
echo
# crm-segment's note: 'segment "NAME" tracked at T: M members, E entered, X exited'
tracked() { sed -n "s/.*: \([0-9]*\) members, \([0-9]*\) entered, \([0-9]*\) exited.*/\1 \2 \3/p" "$W/$1.err" | tail -n 1; }
echo "crm-segment --save, then -s $TRACK_NAME --track at --now '$SEG_NOW' (its first"
echo "run: every member enters) and a day later, of the segment"
echo "'$TRACK_EXPR' (one run each; target: under 5 s):"
printf '%-46s %9s %9s %9s %8s %9s\n' "step" "members" "entered" "exited" "seconds" "peak MiB"
for n in save track1 track2; do
	case $n in
	save) l="--save $TRACK_NAME" ;;
	track1) l="--track at $SEG_NOW" ;;
	*) l="--track at $TRACK_NOW2" ;;
	esac
	set -- $(tracked seg.$n) - - -
	k=$(kb seg.$n)
	printf '%-46s %9s %9s %9s %8s %9s\n' "$l" "$1" "$2" "$3" "$(secs seg.$n)" \
		"$([ "$k" = n/a ] && echo n/a || awk -v k="$k" 'BEGIN { printf "%.1f", k / 1024 }')"
done
echo
n=1
while [ $n -le 4 ]; do
	s=$(secs seg.q$n)
	h=$(secs hand.q$n)
	ok=NO
	if [ -z "$SEG_FAILED" ] && awk -v a="$s" -v b="$h" 'BEGIN { exit !(b > 0 && a / b <= 1.0 && a < 1.0) }'; then
		ok=OK
	fi
	verdict $ok "segment q$n: crm-segment <= 1.0 x hand SQL and < 1 s ($s s, hand SQL $h s): $(cat "$W/seg.q$n.expr")"
	n=$((n + 1))
done
for n in track1 track2; do
	s=$(secs seg.$n)
	set -- $(tracked seg.$n) - - -
	ok=NO
	if [ "$(cat "$W/seg.$n.rc")" = 0 ] && awk -v a="$s" 'BEGIN { exit !(a < 5.0) }'; then
		ok=OK
	fi
	verdict $ok "segment --track $([ $n = track1 ] && echo "(first run)" || echo "(a day later)") < 5 s ($s s, $1 members, $2 entered, $3 exited)"
done
ok=NO
[ "$CRM_NE" = "$NE" ] && ok=OK
verdict $ok "crm-import kept every event: $CRM_NE/$NE"
[ -z "$SEG_FAILED" ] && ok=OK || ok=NO
verdict $ok "crm-segment and the hand SQL count the same customers"

# ---- h) wide rows ------------------------------------------------------------
# The same 100,000 cells as one row of 100,000 attribute columns and as
# 100 rows of 1,000: the work of a row must grow with its width, not with
# its square (the wide row took 19.5 s while the narrow file took 0.1 s).
# sqlite3 cannot be the peer here: a table has at most 2,000 columns.
echo
echo "bench: h) wide rows"
wide_csv() { # ROWS COLS
	awk -v r="$1" -v c="$2" 'BEGIN { printf "id"; for (i = 0; i < c; i++) printf ",a%d", i; print "";
		for (j = 0; j < r; j++) { printf "W%d", j; for (i = 0; i < c; i++) printf ",%d", i + j; print "" } }'
}
wide_csv 1 100000 >"$W/wide-1x100000.csv"
wide_csv 100 1000 >"$W/wide-100x1000.csv"
for f in 1x100000 100x1000; do
	fresh "$W/wide.db"
	run_step "wide.$f" "$IMPORT" --db "$W/wide.db" customers "$W/wide-$f.csv"
	[ "$rc" = 0 ] || crashed "crm-import wide-$f.csv" "exit status $rc: $(head -n 3 "$W/wide.$f.err")"
	n=$(sqlite3 "$W/wide.db" "SELECT sum((SELECT count(*) FROM json_each(attrs))) FROM customers" 2>/dev/null)
	[ "$n" = 100000 ] || crashed "crm-import wide-$f.csv" "stored $n of 100000 attributes"
done
fresh "$W/wide.db"
WS=$(secs wide.1x100000)
NS=$(secs wide.100x1000)
printf '%-46s %9s %9s\n' "100,000 cells (crm-import customers)" "seconds" "peak MiB"
for f in 1x100000 100x1000; do
	k=$(kb wide.$f)
	printf '%-46s %9s %9s\n' "as $(echo $f | sed 's/x/ row(s) of /') columns" "$(secs wide.$f)" \
		"$([ "$k" = n/a ] && echo n/a || awk -v k="$k" 'BEGIN { printf "%.1f", k / 1024 }')"
done
ok=NO
if awk -v a="$WS" -v b="$NS" 'BEGIN { exit !(a < 2.0 && (a <= 3 * b || a < 0.5)) }'; then
	ok=OK
fi
verdict $ok "one row of 100,000 columns <= 3 x 100 rows of 1,000 (or < 0.5 s), < 2 s ($WS s, $NS s)"

if [ -n "$CRASH" ]; then
	echo "bench: failed steps:$CRASH (logs in $W)" >&2

	exit 1
fi
exit 0
