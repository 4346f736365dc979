#!/bin/sh
# bench/loyalty.sh BUILD_DIR - crm-loyalty's benchmark (issue 17): on the
# bench base (bench/gen's orders: 1M customers, 5M orders, loaded as
# bench/score.sh loads them), with rules a hand-written SQL script can
# follow too (5% back in points of 1 RUB, 14 days pending, lots of 365
# days, a welcome of 100; no tiers, and the base has no refund rows, so
# every lot expires whole):
#
#   1. the first run, `crm-loyalty run --now 2026-10-31`, against the same
#      ledger built by hand-written SQL in the sqlite3 shell (three
#      INSERT ... SELECT, the welcome, the earns and the expiries), both
#      from a copy of the base; the two ledgers are compared row by row
#      (key, kind, points, times) and must be the same;
#   2. the nightly run the day after (`--now 2026-11-01`: that day's
#      orders, the lots that became usable or expired).
#
# Targets (reported, not asserted): the first run at most 1.0x the hand
# SQL; the nightly run under 5 s. Exit status 1 when a step fails or the
# ledgers differ.
#
# Environment: BENCH_CUSTOMERS (1000000), BENCH_ORDERS (5000000),
# BENCH_SEED (1), BENCH_DATA (bench/data).
set -u

BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
HERE=$(cd "$(dirname "$0")" && pwd)
IMPORT=$BUILD/bin/crm-import
LOYALTY=$BUILD/bin/crm-loyalty
GEN=$BUILD/bench/gen
NC=${BENCH_CUSTOMERS:-1000000}
NO=${BENCH_ORDERS:-5000000}
SEED=${BENCH_SEED:-1}
DATA=${BENCH_DATA:-$HERE/data}
W=$DATA/loyalty
LC_ALL=C
TZ=UTC
export LC_ALL TZ
unset CRM_DB CRM_NOW CRM_CONFIG

die() { echo "bench/loyalty: $*" >&2; exit 1; }

[ -x "$IMPORT" ] || die "$IMPORT missing (make)"
[ -x "$LOYALTY" ] || die "$LOYALTY missing (make)"
mkdir -p "$W" || die "cannot create $W"
. "$HERE/base.sh"
fail=0

printf '%-46s %12s %9s %9s %9s\n' step rows seconds ratio "peak MiB"
bench_base
NOW1='2026-10-31 00:00:00'
NOW2='2026-11-01 00:00:00'

cat >"$W/crm.conf" <<-EOF
	[loyalty]
	earn = 5%
	point_value = 1
	currency = RUB
	pending = 14d
	expire = 365d
	welcome = 100
EOF

# the same ledger by hand: a customer known only from orders joins with
# the first of them, as crm-loyalty(1) says
cat >"$W/peer.sql" <<-EOF
	PRAGMA cache_size = -65536;
	BEGIN IMMEDIATE;
	INSERT INTO loyalty_ledger (customer_id, key, kind, points, occurred_at, expires_at, created_at)
	SELECT id, 'welcome:' || id, 'welcome', 100, j, datetime(j, '+365 days'), '$NOW1'
	FROM (SELECT c.id, coalesce(c.created_at, (SELECT min(o.ordered_at) FROM orders o
	      WHERE o.customer_id = c.id AND o.purchase IS NOT NULL AND o.ordered_at <= '$NOW1')) AS j
	      FROM customers c WHERE c.erased_at IS NULL)
	WHERE j <= '$NOW1';
	INSERT INTO loyalty_ledger (customer_id, key, kind, points, occurred_at, available_at,
	                            expires_at, order_id, created_at)
	SELECT customer_id, 'earn:' || id, 'earn', CAST(amount / 100.0 * 0.05 + 1e-9 AS INTEGER),
	       ordered_at, datetime(ordered_at, '+14 days'), datetime(ordered_at, '+365 days'), id, '$NOW1'
	FROM orders WHERE purchase = 1 AND currency = 'RUB' AND ordered_at <= '$NOW1'
	  AND CAST(amount / 100.0 * 0.05 + 1e-9 AS INTEGER) > 0;
	INSERT INTO loyalty_ledger (customer_id, key, kind, points, occurred_at, lot_id, created_at)
	SELECT customer_id, 'expire:' || id, 'expire', -points, expires_at, id, '$NOW1'
	FROM loyalty_ledger WHERE points > 0 AND expires_at <= '$NOW1';
	COMMIT;
EOF

# a ledger as text: expire rows by their lot's key (ids differ)
ledger() {
	sqlite3 "$1" "SELECT CASE WHEN kind = 'expire' THEN 'expire:' || (SELECT x.key FROM loyalty_ledger x
		WHERE x.id = g.lot_id) ELSE key END, kind, points, occurred_at, coalesce(expires_at, '')
		FROM loyalty_ledger g" | sort
}

cp "$db" "$W/run.db" && rm -f "$W/run.db-wal" "$W/run.db-shm" || die "cannot copy $db"
cp "$db" "$W/peer.db" && rm -f "$W/peer.db-wal" "$W/peer.db-shm" || die "cannot copy $db"

timed peer sqlite3 "$W/peer.db" <"$W/peer.sql"
[ "$rc" -eq 0 ] || die "the hand SQL failed (see $W/peer.err)"
peer_secs=$secs
rows=$(sqlite3 "$W/peer.db" "SELECT count(*) FROM loyalty_ledger")
printf '%-46s %12s %9s %9s %9s\n' "sqlite3: the ledger by hand SQL" "$rows" "$secs" "" "$(mib "$kb")"

timed first "$LOYALTY" --db "$W/run.db" --config "$W/crm.conf" --now "$NOW1" -v run
[ "$rc" -eq 0 ] || { cat "$W/first.err"; die "crm-loyalty run failed"; }
first_secs=$secs
rows=$(sqlite3 "$W/run.db" "SELECT count(*) FROM loyalty_ledger")
ratio=$(awk -v a="$secs" -v b="$peer_secs" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
printf '%-46s %12s %9s %9s %9s\n' "crm-loyalty run, first (--now $NOW1)" "$rows" "$secs" "$ratio" "$(mib "$kb")"
ledger "$W/run.db" >"$W/run.txt"
ledger "$W/peer.db" >"$W/peer.txt"
if cmp -s "$W/run.txt" "$W/peer.txt"; then
	echo "    the two ledgers are the same, row by row"
else
	fail=1
	echo "bench/loyalty: the ledgers differ:"
	diff "$W/peer.txt" "$W/run.txt" | head -10
fi

timed nightly "$LOYALTY" --db "$W/run.db" --config "$W/crm.conf" --now "$NOW2" -v run
[ "$rc" -eq 0 ] || { cat "$W/nightly.err"; die "the nightly crm-loyalty run failed"; }
nightly_secs=$secs
news=$(sed -n 's/.*loyalty: \([0-9]*\) members with news.*/\1/p' "$W/nightly.err")
printf '%-46s %12s %9s %9s %9s\n' "crm-loyalty run, nightly (--now $NOW2)" "${news:-?} members" "$secs" "" "$(mib "$kb")"

awk -v r="$ratio" -v n="$nightly_secs" 'BEGIN {
	printf "targets: first run <= 1.0x the hand SQL: %s (%.2fx); nightly < 5 s: %s (%.2f s)\n",
		r <= 1.0 ? "met" : "NOT MET", r, n < 5 ? "met" : "NOT MET", n }'
rm -f "$W/run.db" "$W/run.db-wal" "$W/run.db-shm" "$W/peer.db" "$W/peer.db-wal" "$W/peer.db-shm"
exit $fail
