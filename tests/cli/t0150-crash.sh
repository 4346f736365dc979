#!/bin/sh
# kill -9 during an import, then a re-run: the file is consistent and the
# result equals an uninterrupted run. Rounds of two kills (customers,
# then orders) until N rounds' worth have killed a running import: 50
# kills by default (an import that ends before its kill does not count,
# and the next kills of its kind come earlier). The kill times are random, from a
# seed shown in the test title: CRASH_SEED=S replays a failure,
# CRASH_ROUNDS=N runs more rounds.
. "$CRM_TOP/tests/lib.sh"

N=${CRASH_ROUNDS:-25}
ROWS=20000
SEED=${CRASH_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}

ms() {
	echo $(($(date +%s%N) / 1000000))
}
# pause I KIND PCT: sleeps for a random part of PCT% of what an
# uninterrupted import of KIND took (ref-KIND.ms), the same for the same
# seed and round
pause() {
	sleep "$(awk -v s="$SEED" -v i="$1" -v k="$2" -v p="$3" -v t="$(cat "ref-$2.ms")" 'BEGIN {
		srand(s * 1000 + i * 2 + (k == "orders")); printf "%.3f", rand() * t * p / 100000 }')"
}

# order_stats (schema 3) by customer external id, and the same computed
# from the orders: they must be equal after every run
stats() {
	sql "SELECT c.external_id, s.orders, s.revenue, s.first_order_at, s.last_order_at
		FROM order_stats s JOIN customers c ON c.id = s.customer_id ORDER BY 1"
}
stats_fresh() {
	sql "SELECT c.external_id, count(*), sum(o.amount * 10), min(o.ordered_at), max(o.ordered_at)
		FROM orders o JOIN customers c ON c.id = o.customer_id
		WHERE o.status NOT IN ('refunded', 'cancelled', 'returned') GROUP BY 1 ORDER BY 1"
}

test_expect 'generate a customer and an order file' '
	awk "BEGIN { print \"id,email,phone,city\"; for (i = 1; i <= $ROWS; i++) printf \"K%06d,k%d@example.com,+7916%07d,City%d\n\", i, i, i, i % 50 }" >cust.csv &&
	awk "BEGIN { print \"customer_id,date,amount,currency\"; for (i = 1; i <= $ROWS; i++) printf \"K%06d,2026-01-%02d,%d.%02d,RUB\n\", (i * 7919) % $ROWS + 1, i % 28 + 1, i % 1000, i % 100 }" >ord.csv &&
	t0=$(ms) &&
	crm-import --db ref.db --batch 2500 customers cust.csv 2>/dev/null &&
	echo $(( $(ms) - t0 )) >ref-customers.ms &&
	t0=$(ms) &&
	crm-import --db ref.db --batch 2500 orders ord.csv 2>/dev/null &&
	echo $(( $(ms) - t0 )) >ref-orders.ms &&
	CRM_DB=ref.db sql "SELECT external_id, email, phone, city FROM customers ORDER BY 1" >ref-c.txt &&
	CRM_DB=ref.db sql "SELECT o.external_id, c.external_id, ordered_at, amount FROM orders o JOIN customers c ON c.id = o.customer_id ORDER BY 1" >ref-o.txt &&
	test "$(wc -l <ref-o.txt)" -eq $ROWS &&
	CRM_DB=ref.db stats >ref-s.txt &&
	test "$(wc -l <ref-s.txt)" -gt 1000 &&
	CRM_DB=ref.db stats_fresh >fresh-s.txt &&
	cmp ref-s.txt fresh-s.txt
'

test_expect "kill -9 at random moments ($((2 * N)) kills), re-run, same result (seed $SEED)" '
	i=0
	partial=0
	killed=0
	pct_customers=100
	pct_orders=100
	while [ $killed -lt $((2 * '"$N"')) ] && [ $i -lt $((3 * '"$N"')) ]; do
		rm -f crash.db crash.db-wal crash.db-shm
		for kind in customers orders; do
			f=cust.csv; [ $kind = orders ] && f=ord.csv
			crm-import --db crash.db --batch 2500 $kind $f 2>/dev/null &
			pid=$!
			eval "pct=\$pct_$kind"
			pause $i $kind $pct
			if kill_now $pid; then
				killed=$((killed + 1))
			else
				eval "pct_$kind=$((pct * 3 / 4))"
			fi
			test "$(CRM_DB=crash.db sql "PRAGMA integrity_check")" = ok
			# killed before the schema was committed: an empty file,
			# which the re-run migrates
			if [ "$(CRM_DB=crash.db sql "SELECT count(*) FROM sqlite_schema")" -eq 0 ]; then
				crm-import --db crash.db --batch 2500 $kind $f 2>/dev/null
				continue
			fi
			# what was committed is summed up in order_stats
			CRM_DB=crash.db stats >s.txt
			CRM_DB=crash.db stats_fresh >f.txt
			cmp -s s.txt f.txt || { echo "round $i: order_stats differ from the orders after a kill"; exit 1; }
			# was it killed half-way (some but not all batches committed)?
			n=$(CRM_DB=crash.db sql "SELECT count(*) FROM $kind")
			if [ "$n" -gt 0 ] && [ "$n" -lt $ROWS ]; then partial=$((partial + 1)); fi
			crm-import --db crash.db --batch 2500 $kind $f 2>/dev/null
		done
		CRM_DB=crash.db sql "SELECT external_id, email, phone, city FROM customers ORDER BY 1" >c.txt
		CRM_DB=crash.db sql "SELECT o.external_id, c.external_id, ordered_at, amount FROM orders o JOIN customers c ON c.id = o.customer_id ORDER BY 1" >o.txt
		cmp -s c.txt ref-c.txt || { echo "round $i: customers differ"; exit 1; }
		cmp -s o.txt ref-o.txt || { echo "round $i: orders differ"; exit 1; }
		CRM_DB=crash.db stats >s.txt
		cmp -s s.txt ref-s.txt || { echo "round $i: order_stats differ"; exit 1; }
		i=$((i + 1))
	done
	echo "$killed runs killed in $i rounds, $partial of them half-way"
	test $killed -ge $((2 * '"$N"')) &&
	# the test means nothing unless kills interrupt real work
	test $partial -ge $(( '"$N"' / 4 ))
'

test_expect "kill -9 of a one-transaction import: nothing or everything, then the same result" '
	i=0
	while [ $i -lt 5 ]; do
		rm -f one.db one.db-wal one.db-shm
		crm-import --db one.db customers cust.csv 2>/dev/null
		crm-import --db one.db orders ord.csv 2>/dev/null &
		pid=$!
		sleep 0.$(( i * 15 + 10 ))
		kill -9 $pid 2>/dev/null || true
		wait $pid 2>/dev/null || true
		test "$(CRM_DB=one.db sql "PRAGMA integrity_check")" = ok
		n=$(CRM_DB=one.db sql "SELECT count(*) FROM orders")
		test "$n" -eq 0 || test "$n" -eq $ROWS || { echo "round $i: $n orders after kill"; exit 1; }
		crm-import --db one.db orders ord.csv 2>/dev/null
		CRM_DB=one.db sql "SELECT o.external_id, c.external_id, ordered_at, amount FROM orders o JOIN customers c ON c.id = o.customer_id ORDER BY 1" >o.txt
		cmp -s o.txt ref-o.txt || { echo "round $i: orders differ"; exit 1; }
		CRM_DB=one.db stats >s.txt
		cmp -s s.txt ref-s.txt || { echo "round $i: order_stats differ"; exit 1; }
		test -z "$(CRM_DB=one.db sql "PRAGMA foreign_key_check")"
		i=$((i + 1))
	done
'

test_done
