#!/bin/sh
# order_stats (schema 3): the per-customer sums of completed orders that
# crm-segment reads instead of the orders. crm-import keeps them equal to
# what the orders say after every kind of write (new orders, re-imports
# that change a status, an amount or the customer, --batch, erasure), and
# crm-segment gives what the orders say at any --now, also before the
# newest order, when the sums must not be used.
. "$CRM_TOP/tests/lib.sh"

DONE="o.status NOT IN ('refunded', 'cancelled', 'returned')"
K="CASE o.currency WHEN 'JPY' THEN 1000 WHEN 'KWD' THEN 1 ELSE 10 END"

# the table, and the same computed from the orders
stats() {
	sql "SELECT customer_id, orders, revenue, first_order_at, last_order_at FROM order_stats ORDER BY 1"
}
stats_fresh() {
	sql "SELECT o.customer_id, count(*), sum(o.amount * $K), min(o.ordered_at), max(o.ordered_at)
		FROM orders o WHERE $DONE GROUP BY 1 ORDER BY 1"
}
stats_ok() {
	stats >s.txt && stats_fresh >f.txt &&
	if ! cmp -s s.txt f.txt; then echo "order_stats differ from the orders ($1):"; diff s.txt f.txt | head; return 1; fi
}

# count_ok NOW EXPR SQL: crm-segment -c EXPR at NOW counts the customers
# for whom SQL (over customers c, with $N for now) holds
count_ok() {
	want=$(sql "SELECT count(*) FROM customers c WHERE c.erased_at IS NULL AND ($(echo "$3" | sed "s/\$N/'$1'/g"))")
	got=$(crm-segment -c --now "$1" "$2")
	if [ "$got" != "$want" ]; then echo "at $1: $2: crm-segment $got, from the orders $want"; return 1; fi
}
n_sql() { echo "(SELECT count(*) FROM orders o WHERE o.customer_id = c.id AND o.ordered_at <= \$N AND $DONE${1:+ AND $1})"; }
rev_sql() { echo "(SELECT total(o.amount * $K) / 1000.0 FROM orders o WHERE o.customer_id = c.id AND o.ordered_at <= \$N AND $DONE${1:+ AND $1})"; }
last_sql() { echo "(SELECT max(o.ordered_at) FROM orders o WHERE o.customer_id = c.id AND o.ordered_at <= \$N AND $DONE)"; }

# queries_ok: the questions of the bench and a few more, at several nows
queries_ok() {
	for now in "2026-11-23 12:00:00" "2026-06-15 00:00:00" "2026-01-10 00:00:00" "2027-06-01 00:00:00"; do
		count_ok "$now" "orders >= 2" "$(n_sql) >= 2" &&
		count_ok "$now" "orders = 0" "$(n_sql) = 0" &&
		count_ok "$now" "revenue > 3000" "$(rev_sql) > 3000" &&
		count_ok "$now" "days_since_last_order > 30 and orders >= 2" \
			"$(n_sql) >= 2 AND (unixepoch(\$N) - unixepoch($(last_sql))) / 86400 > 30" &&
		count_ok "$now" "revenue(90d) > 1000" "$(rev_sql "o.ordered_at >= datetime(\$N, '-90 days')") > 1000" &&
		count_ok "$now" "orders(30d) = 0 and orders >= 1" \
			"$(n_sql "o.ordered_at >= datetime(\$N, '-30 days')") = 0 AND $(n_sql) >= 1" ||
		return 1
	done
}

test_expect 'setup: 3000 customers, 20000 orders in four currencies' '
	awk "BEGIN { print \"id,email\"; for (i = 1; i <= 3000; i++) printf \"K%05d,k%d@example.com\n\", i, i }" >cust.csv &&
	awk "BEGIN { split(\"RUB JPY KWD USD RUB RUB EUR\", cur, \" \");
		print \"order_id,customer_id,date,amount,currency,status\";
		for (i = 1; i <= 20000; i++) {
			st = i % 13 == 0 ? \"cancelled\" : i % 17 == 0 ? \"refunded\" : i % 19 == 0 ? \"returned\" : \"completed\";
			c = cur[i % 7 + 1];
			printf \"O%05d,K%05d,2026-%02d-%02d %02d:00:00,%d%s,%s,%s\n\", i, (i * 7919) % 2500 + 1,
				i % 11 + 1, i % 28 + 1, i % 24, i % 5000 + 1, c == \"JPY\" ? \"\" : c == \"KWD\" ? \".125\" : \".50\", c, st
		} }" >ord.csv &&
	crm-import customers cust.csv 2>/dev/null &&
	crm-import orders ord.csv 2>/dev/null &&
	test "$(sql "SELECT count(*) FROM orders")" -eq 20000 &&
	test "$(sql "SELECT count(*) FROM order_stats")" -eq 2500 &&
	stats_ok "first import"
'

test_expect 'crm-segment counts what the orders say, at every --now' '
	queries_ok
'

test_expect 're-import with changed status, amount, customer, time: rows recomputed' '
	crm-import orders ord.csv 2>err && grep -q "0 inserted, 0 updated" err &&
	{
		echo "order_id,customer_id,date,amount,currency,status"
		echo "O00001,K00001,2026-02-02 00:00:00,1.50,RUB,refunded"
		echo "O00002,K00002,2026-02-02 00:00:00,99999.99,RUB,completed"
		echo "O00003,K02999,2026-02-02 00:00:00,4.00,RUB,completed"
		echo "O00013,K00013,2026-03-03 00:00:00,13.00,RUB,completed"
		echo "O00014,K00014,2025-01-01 00:00:00,14.00,USD,completed"
		echo "N00001,K02998,2026-11-01 00:00:00,1.00,RUB,completed"
	} >changes.csv &&
	before=$(sql "SELECT customer_id FROM orders WHERE external_id = '\''O00003'\''") &&
	crm-import orders changes.csv 2>err && grep -q "1 inserted, 5 updated" err &&
	stats_ok "re-import" &&
	# the order moved: its old customer lost it, the new one has it
	test "$(sql "SELECT customer_id FROM orders WHERE external_id = '\''O00003'\''")" != "$before" &&
	test "$(sql "SELECT orders FROM order_stats s JOIN customers c ON c.id = s.customer_id WHERE c.external_id = '\''K02999'\''")" = 1 &&
	queries_ok
'

test_expect 'orders after now are in the sums but not in the metrics' '
	{
		echo "order_id,customer_id,date,amount,currency"
		echo "F1,K00005,2027-03-01 00:00:00,500.00,RUB"
		echo "F2,K02997,2027-03-01 00:00:00,500.00,RUB"
	} >future.csv &&
	crm-import orders future.csv 2>/dev/null &&
	stats_ok "future orders" &&
	test "$(crm-segment -c "id = \"K02997\" and orders >= 1")" = 0 &&
	test "$(crm-segment -c --now 2027-04-01 "id = \"K02997\" and orders >= 1")" = 1 &&
	test "$(crm-segment -f csv --fields orders "id = \"K00005\"" | tail -n 1)" = \
		"$(sql "SELECT count(*) FROM orders o JOIN customers c ON c.id = o.customer_id WHERE c.external_id = '\''K00005'\'' AND o.ordered_at <= '\''2026-11-23 12:00:00'\'' AND $DONE")" &&
	queries_ok
'

test_expect '--batch: every commit brings its customers up to date' '
	awk "BEGIN { print \"order_id,customer_id,date,amount,currency,status\";
		for (i = 1; i <= 400; i++) printf \"B%04d,K%05d,2026-10-%02d 10:00:00,%d.00,RUB,%s\n\", i, (i * 37) % 3000 + 1, i % 28 + 1, i, i % 3 ? \"completed\" : \"cancelled\" }" >batch.csv &&
	crm-import --batch 50 orders batch.csv 2>/dev/null &&
	stats_ok "--batch" &&
	queries_ok
'

test_expect 'erasure keeps the orders and their sums; erased customers never match' '
	id=$(sql "SELECT c.external_id FROM customers c JOIN order_stats s ON s.customer_id = c.id ORDER BY s.orders DESC LIMIT 1") &&
	n=$(crm-segment -c "orders >= 1") &&
	echo "$id" | crm-import erase 2>/dev/null &&
	stats_ok "erase" &&
	test "$(crm-segment -c "orders >= 1")" -eq $((n - 1)) &&
	queries_ok
'

test_expect 'a dry run and a refused file leave the sums alone' '
	stats >before.txt &&
	crm-import --dry-run orders batch.csv 2>/dev/null &&
	printf "order_id,customer_id,date,amount,currency\nX1,K00001,2026-01-01,1.00,RUB\nX2,K00001,nonsense,1.00,RUB\n" >bad.csv &&
	{ crm-import --max-rejects 0 orders bad.csv 2>/dev/null; test $? -eq 1; } &&
	stats >after.txt && cmp before.txt after.txt &&
	stats_ok "dry run"
'

test_expect 'a schema 2 file gets the table filled when it is migrated' '
	rm -f old.db &&
	for f in "$CRM_TOP"/share/schema/001-*.sql "$CRM_TOP"/share/schema/002-*.sql; do sqlite3 old.db <"$f"; done &&
	sqlite3 old.db "PRAGMA user_version = 2;
		INSERT INTO customers(id, external_id, updated_at) VALUES (1, '\''A'\'', '\''2026-01-01 00:00:00'\''), (2, '\''B'\'', '\''2026-01-01 00:00:00'\'');
		INSERT INTO orders(external_id, customer_id, ordered_at, amount, currency, status) VALUES
			('\''1'\'', 1, '\''2026-01-01 00:00:00'\'', 1000, '\''JPY'\'', '\''completed'\''),
			('\''2'\'', 1, '\''2026-02-01 00:00:00'\'', 250, '\''RUB'\'', '\''completed'\''),
			('\''3'\'', 2, '\''2026-02-01 00:00:00'\'', 250, '\''RUB'\'', '\''refunded'\'');" &&
	test "$(crm-segment --db old.db -c "orders >= 2 and revenue = 1002.5")" = 1 &&
	test "$(CRM_DB=old.db sql "PRAGMA user_version")" -ge 3 &&
	expect_eq "1|2|1002500|2026-01-01 00:00:00|2026-02-01 00:00:00" "$(CRM_DB=old.db stats)"
'

test_expect 'a small import into a large base recomputes only its customers' '
	awk "BEGIN { print \"order_id,customer_id,date,amount,currency\";
		for (i = 1; i <= 30; i++) printf \"S%04d,K%05d,2026-11-%02d 10:00:00,%d.00,RUB\n\", i, i * 50, i % 20 + 1, i }" >small.csv &&
	crm-import -v orders small.csv 2>/dev/null &&
	stats_ok "small import" &&
	queries_ok &&
	test "$(sql "PRAGMA integrity_check")" = ok &&
	test -z "$(sql "PRAGMA foreign_key_check")"
'

test_done
