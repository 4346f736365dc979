#!/bin/sh
# bench/lines.sh BUILD_DIR - crm-import lines (issue 15): a shop's order
# lines export of BENCH_LINES (5000000) lines, about a fifth as many
# orders (1 to 9 lines each) over BENCH_LINES_CUSTOMERS (200000) customers
# and BENCH_LINES_PRODUCTS (5000) products, 1% of the lines returns
# (a negative quantity), loaded
#   a) by crm-import lines into a fresh base (orders, order_lines,
#      products, order_stats; rows/s, peak RSS),
#   b) by crm-import lines again into the same base (a nightly full
#      export: nothing may change),
#   c) by the peer: a tuned sqlite3 session (WAL, synchronous=NORMAL, one
#      transaction) that .imports the CSV into an unindexed table, then
#      INSERT INTO customers SELECT DISTINCT ... and INSERT INTO orders
#      SELECT order_id, customer, min(time), sum(qty * price) ... GROUP BY
#      order_id, with the same unique keys (customers.external_id,
#      orders.external_id): the orders only, no lines, no products,
#   d) by the peer doing what crm-import does: c) plus products (the
#      latest name by time) and order_lines (with their unique key and
#      index) by hand-written SQL.
# Prints a table, the ratios crm-import/peer of the times (target <= 1.0
# against c) and crm-import's peak RSS (target < 100 MiB). The exit
# status is 1 when a step failed, the re-import changed something, or
# crm-import and the peer disagree on the orders or their sums.
#
# Environment: BENCH_LINES (5000000), BENCH_LINES_CUSTOMERS (200000),
# BENCH_LINES_PRODUCTS (5000), BENCH_DATA (bench/data: the CSV file is kept
# in $BENCH_DATA/lines/ and reused while this script is unchanged).
set -u

BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
HERE=$(cd "$(dirname "$0")" && pwd)
IMPORT=$BUILD/bin/crm-import
N=${BENCH_LINES:-5000000}
NC=${BENCH_LINES_CUSTOMERS:-200000}
NP=${BENCH_LINES_PRODUCTS:-5000}
DATA=${BENCH_DATA:-$HERE/data}
W=$DATA/lines
LC_ALL=C
TZ=UTC
CRM_NOW='2026-11-02 00:00:00'
export LC_ALL TZ CRM_NOW
unset CRM_DB CRM_CONFIG

die() { echo "bench/lines: $*" >&2; exit 1; }

for v in "$N" "$NC" "$NP"; do
	case $v in '' | *[!0-9]*) die "BENCH_LINES, BENCH_LINES_CUSTOMERS and BENCH_LINES_PRODUCTS must be numbers" ;; esac
done
[ "$N" -ge 100 ] && [ "$NC" -ge 1 ] && [ "$NP" -ge 1 ] || die "sizes too small"
[ -x "$IMPORT" ] || die "$IMPORT missing (make)"
command -v sqlite3 >/dev/null 2>&1 || die "sqlite3 (the CLI) is needed for the peer"
if /usr/bin/time -f '%e %M' -o /dev/null true 2>/dev/null; then
	HAVE_TIME=1
else
	HAVE_TIME=
fi
mkdir -p "$W" || die "cannot create $W"

# step NAME CMD...: runs CMD (stdout, stderr in $W/NAME.out, .err); leaves
# "seconds peak_kB" in $W/NAME.time and sets $rc
now() { date +%s.%N; }
step() {
	_n=$1
	shift
	if [ -n "$HAVE_TIME" ]; then
		/usr/bin/time -f '%e %M' -o "$W/$_n.time" "$@" >"$W/$_n.out" 2>"$W/$_n.err"
		rc=$?
		tail -n 1 "$W/$_n.time" >"$W/$_n.t1" && mv "$W/$_n.t1" "$W/$_n.time"
	else
		_t0=$(now)
		"$@" >"$W/$_n.out" 2>"$W/$_n.err"
		rc=$?
		awk -v a="$_t0" -v b="$(now)" 'BEGIN { printf "%.2f n/a\n", b - a }' >"$W/$_n.time"
	fi
}
secs() { awk '{print $1}' "$W/$1.time"; }
kb() { awk '{print $2}' "$W/$1.time"; }
FAILED=
failed() { FAILED="$FAILED $1"; echo "bench/lines: $1: $2" >&2; }

# ---- data: one order's lines together, 1 to 9 of them, 1% returns -------
CSV=$W/lines-$N-$NC-$NP.csv
SUM=$(cksum <"$0")
if [ -f "$CSV" ] && [ "$(cat "$CSV.stamp" 2>/dev/null)" = "$SUM" ]; then
	echo "bench/lines: reusing $CSV"
else
	echo "bench/lines: generating $CSV"
	rm -f "$CSV" "$CSV.stamp"
	awk -v n="$N" -v nc="$NC" -v np="$NP" 'BEGIN {
		split("Coffee Tea Mugs Kettles Filters Grinders Gifts Syrups", cat, " ")
		print "order_id,customer_id,ordered_at,sku,product_name,category,quantity,unit_price,currency"
		x = 12345; o = 0; left = 0; t = 0
		for (i = 0; i < n; i++) {
			if (left == 0) {
				x = (x * 69069 + 1) % 4294967296
				o++; left = 1 + x % 9; c = 1 + int(x / 9) % nc
				t += 1 + x % 31
				d = 1 + int(t / 86400) % 28; m = 1 + int(t / (86400 * 28)) % 12
				ts = sprintf("2025-%02d-%02d %02d:%02d:%02d", m, d, int(t / 3600) % 24,
					int(t / 60) % 60, t % 60)
			}
			x = (x * 69069 + 1) % 4294967296
			p = 1 + x % np; q = 1 + int(x / np) % 4
			if (int(x / 7) % 100 == 0) q = -q
			# a product is renamed now and then: its name has a version
			printf "SO-%d,C%06d,%s,SKU-%05d,Product %d v%d,%s,%d,%d.%02d,EUR\n", o, c, ts, p, p,
				int(o / 250000), cat[1 + p % 8], q, 1 + p % 97, p % 100
			left--
		}
	}' >"$CSV.tmp" || die "generator failed"
	mv "$CSV.tmp" "$CSV" && echo "$SUM" >"$CSV.stamp"
fi
NO=$(tail -n 1 "$CSV" | sed 's/^SO-\([0-9]*\),.*/\1/')
cat "$CSV" >/dev/null
fresh() { rm -f "$1" "$1-wal" "$1-shm" "$1-journal"; }

# ---- a) b) crm-import ---------------------------------------------------
echo "bench/lines: a) crm-import lines ($N lines, $NO orders)"
CDB=$W/crm.db
fresh "$CDB"
step crm "$IMPORT" --db "$CDB" lines "$CSV"
[ "$rc" = 0 ] || { failed crm "crm-import lines: exit $rc"; tail -n 5 "$W/crm.err" >&2; }
sqlite3 "$CDB" .dump | grep -v "^INSERT INTO meta" | md5sum >"$W/dump1"
echo "bench/lines: b) crm-import lines again"
step crm2 "$IMPORT" --db "$CDB" lines "$CSV"
[ "$rc" = 0 ] || failed crm2 "crm-import lines (again): exit $rc"
sqlite3 "$CDB" .dump | grep -v "^INSERT INTO meta" | md5sum >"$W/dump2"
cmp -s "$W/dump1" "$W/dump2" || failed crm2 "the re-import changed the base"
grep -q " 0 inserted, 0 updated, $N unchanged" "$W/crm2.err" ||
	failed crm2 "the re-import did not say \"0 inserted, 0 updated, $N unchanged\""

# ---- c) d) the peer ------------------------------------------------------
PEER_HEAD="PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -262144;
CREATE TABLE customers(id INTEGER PRIMARY KEY, external_id TEXT NOT NULL UNIQUE);
CREATE TABLE orders(id INTEGER PRIMARY KEY, external_id TEXT NOT NULL UNIQUE,
	customer_id INTEGER NOT NULL, ordered_at TEXT NOT NULL, amount INTEGER NOT NULL,
	currency TEXT NOT NULL);
CREATE INDEX orders_customer ON orders(customer_id, ordered_at);
CREATE TABLE lines(order_id, customer_id, ordered_at, sku, product_name, category, quantity,
	unit_price, currency);
BEGIN;
.import --csv --skip 1 $CSV lines
INSERT INTO customers(external_id) SELECT DISTINCT customer_id FROM lines;
INSERT INTO orders(external_id, customer_id, ordered_at, amount, currency)
	SELECT l.order_id, c.id, min(l.ordered_at), CAST(round(sum(l.quantity * l.unit_price) * 100)
	AS INTEGER), l.currency FROM lines l JOIN customers c ON c.external_id = l.customer_id
	GROUP BY l.order_id;"
PEER_LINES="CREATE TABLE products(id INTEGER PRIMARY KEY, sku TEXT NOT NULL UNIQUE, name TEXT,
	category TEXT, updated_at TEXT NOT NULL);
CREATE TABLE order_lines(id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL, line INTEGER NOT NULL,
	product_id INTEGER NOT NULL, quantity REAL NOT NULL, unit_price INTEGER NOT NULL,
	amount INTEGER NOT NULL, UNIQUE (order_id, line));
CREATE INDEX order_lines_product ON order_lines(product_id, order_id);
INSERT INTO products(sku, name, category, updated_at) SELECT sku, product_name, category,
	max(ordered_at) FROM lines GROUP BY sku;
INSERT INTO order_lines(order_id, line, product_id, quantity, unit_price, amount)
	SELECT o.id, row_number() OVER (PARTITION BY l.order_id ORDER BY l.rowid), p.id, l.quantity,
	CAST(round(l.unit_price * 100) AS INTEGER), CAST(round(l.quantity * l.unit_price * 100) AS INTEGER)
	FROM lines l JOIN orders o ON o.external_id = l.order_id JOIN products p ON p.sku = l.sku;"
echo "bench/lines: c) sqlite3: .import, then the orders by GROUP BY"
PDB=$W/peer.db
fresh "$PDB"
printf '%s\nDROP TABLE lines;\nCOMMIT;\n' "$PEER_HEAD" >"$W/peer.sql"
step peer sqlite3 -bail "$PDB" ".read $W/peer.sql"
[ "$rc" = 0 ] || { failed peer "sqlite3: exit $rc"; cat "$W/peer.err" >&2; }
echo "bench/lines: d) sqlite3: the same, plus products and order_lines"
PDB2=$W/peer2.db
fresh "$PDB2"
printf '%s\n%s\nDROP TABLE lines;\nCOMMIT;\n' "$PEER_HEAD" "$PEER_LINES" >"$W/peer2.sql"
step peer2 sqlite3 -bail "$PDB2" ".read $W/peer2.sql"
[ "$rc" = 0 ] || { failed peer2 "sqlite3: exit $rc"; cat "$W/peer2.err" >&2; }

# the same orders and sums on both sides
Q="SELECT count(*), sum(amount), sum(amount < 0) FROM orders"
CRM_Q=$(sqlite3 "$CDB" "$Q")
PEER_Q=$(sqlite3 "$PDB" "$Q")
[ "$CRM_Q" = "$PEER_Q" ] || failed sums "orders, net amount, refunds: crm-import $CRM_Q, sqlite3 $PEER_Q"
CRM_L=$(sqlite3 "$CDB" "SELECT count(*), sum(amount) FROM order_lines")
PEER_L=$(sqlite3 "$PDB2" "SELECT count(*), sum(amount) FROM order_lines")
[ "$CRM_L" = "$PEER_L" ] || failed lines "lines and their sum: crm-import $CRM_L, sqlite3 $PEER_L"

# ---- report --------------------------------------------------------------
echo
echo "crm-import lines: $N lines, $NO orders, $NC customers, $NP products ($(($(wc -c <"$CSV") / 1048576)) MiB CSV)"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a); orders, net amount, refunds: $CRM_Q"
awk -v n="$N" -v a="$(secs crm)" -v ak="$(kb crm)" -v b="$(secs crm2)" -v bk="$(kb crm2)" \
	-v c="$(secs peer)" -v ck="$(kb peer)" -v d="$(secs peer2)" -v dk="$(kb peer2)" '
function mib(k) { return k == "n/a" ? "n/a" : sprintf("%.1f", k / 1024) }
function row(l, t, k) { printf "%-46s %8.2f %11.0f %9s\n", l, t, (t > 0 ? n / t : 0), mib(k) }
BEGIN {
	printf "%-46s %8s %11s %9s\n", "step", "seconds", "lines/s", "peak MiB"
	row("a) crm-import lines", a, ak)
	row("b) crm-import lines, again (no change)", b, bk)
	row("c) sqlite3 .import + orders GROUP BY", c, ck)
	row("d) sqlite3 c) + products + order_lines", d, dk)
	printf "\nratio crm-import / sqlite3 (time; <= 1.0 is the target):\n"
	printf "  a/c  %.2f   (the peer builds the orders only)\n", (c > 0 ? a / c : 0)
	printf "  a/d  %.2f   (the peer builds what crm-import builds)\n", (d > 0 ? a / d : 0)
	printf "  b/c  %.2f   (re-import)\n", (c > 0 ? b / c : 0)
}'
RSS=$(kb crm)
R=$(awk -v a="$(secs crm)" -v c="$(secs peer)" 'BEGIN { printf "%.2f", (c > 0 ? a / c : 99) }')
echo
if awk -v r="$R" 'BEGIN { exit !(r <= 1.0) }'; then
	echo "PASS  crm-import lines <= 1.0 x sqlite3 (.import + GROUP BY) time (ratio $R)"
else
	echo "FAIL  crm-import lines <= 1.0 x sqlite3 (.import + GROUP BY) time (ratio $R)"
fi
if [ "$RSS" = n/a ]; then
	echo "n/a   crm-import lines peak RSS < 100 MiB (no /usr/bin/time)"
elif [ "$RSS" -lt 102400 ]; then
	echo "PASS  crm-import lines peak RSS < 100 MiB ($((RSS / 1024)) MiB)"
else
	echo "FAIL  crm-import lines peak RSS < 100 MiB ($((RSS / 1024)) MiB)"
fi
[ -n "${BENCH_KEEP:-}" ] || { fresh "$CDB"; fresh "$PDB"; fresh "$PDB2"; }
if [ -n "$FAILED" ]; then
	echo "FAIL  steps:$FAILED"
	exit 1
fi
echo "PASS  re-import unchanged; orders, sums and lines agree with sqlite3"
