#!/bin/sh
# crm-import lines (issue 15, item 1): a shop's order lines build orders
# (amount the sum of the lines, the earliest line's time), order_lines and
# products (latest name and category); returns and credit notes are
# refunds; bad rows are rejected with file:line and hold their order back;
# a re-import changes nothing; a real UK retailer's export imports with
# no hand work and agrees with a computation of its own.
. "$CRM_TOP/tests/lib.sh"

# the dirt of real exports: M/D/YYYY dates, a return line (negative
# quantity), a credit note (C3), a product renamed by a later line and
# named by an earlier one (A8), a blank customer, a bad quantity, no sku,
# no order id, a bad price, an order whose last line comes apart (A1), a
# fractional quantity and a price finer than a penny (A9)
cat >lines.csv <<'EOF'
InvoiceNo,StockCode,Description,Category,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
A1,SKU1,Green tea,Tea,2,1/13/2026 9:00,4.50,C1,United Kingdom
A1,SKU2,Mug,Mugs,1,1/13/2026 9:05,7.25,C1,United Kingdom
A2,SKU1,Green Tea (loose),Tea,1,2/1/2026 10:00,4.50,C2,United Kingdom
A2,SKU3,Espresso,Coffee,3,2/1/2026 10:00,3.10,C2,United Kingdom
A2,SKU3,Espresso,Coffee,-1,2/1/2026 10:01,3.10,C2,United Kingdom
C3,SKU2,Mug,Mugs,-2,2/3/2026 11:00,7.25,C1,United Kingdom
A4,SKU4,Filter papers,Coffee,1,2/4/2026 12:00,9.99,,United Kingdom
A5,SKU1,Green tea,Tea,two,2/5/2026 12:00,4.50,C2,United Kingdom
A5,SKU2,Mug,Mugs,1,2/5/2026 12:00,7.25,C2,United Kingdom
A6,,Nothing,Tea,1,2/6/2026 12:00,1.00,C2,United Kingdom
,SKU1,Green tea,Tea,1,2/6/2026 12:00,1.00,C2,United Kingdom
A7,SKU2,Mug,Mugs,1,2/6/2026 12:00,abc,C3,United Kingdom
A8,SKU1,Green tea (old name),Tea,1,1/2/2026 8:00,4.50,C3,United Kingdom
A1,SKU3,Espresso,Coffee,1,1/13/2026 9:10,3.10,C1,United Kingdom
A9,SKU5,Sampler,Coffee,1.5,3/1/2026 9:00,0.333,C3,United Kingdom
EOF

orders() {
	sql "SELECT o.external_id, c.external_id, o.ordered_at, o.amount, o.currency, o.status,
	            o.purchase FROM orders o JOIN customers c ON c.id = o.customer_id ORDER BY 1"
}
lines() {
	sql "SELECT o.external_id, l.line, p.sku, l.quantity, l.unit_price, l.amount
	     FROM order_lines l JOIN orders o ON o.id = l.order_id
	     JOIN products p ON p.id = l.product_id ORDER BY 1, 2"
}

test_expect 'orders, lines, products and order_stats from the lines; bad rows rejected' '
	run 3 crm-import lines --currency GBP --rejects rej.csv lines.csv &&
	expect_grep "lines.csv:8: no customer (no customer_id, valid email or phone)" err &&
	expect_grep "lines.csv:9: invalid quantity \"two\": not a number" err &&
	expect_grep "lines.csv:10: order \"A5\": another line of the order was rejected; the order is kept as stored" err &&
	expect_grep "lines.csv:11: no sku" err &&
	expect_grep "lines.csv:12: no order_id" err &&
	expect_grep "lines.csv:13: invalid unit_price \"abc\"" err &&
	expect_grep "lines.csv: 15 read, 9 inserted, 0 updated, 0 unchanged, 6 rejected, 3 stubs created" err &&
	expect_eq 7 "$(wc -l <rej.csv)" &&
	cat >want <<-\EOF &&
	A1|C1|2026-01-13 09:00:00|1935|GBP|completed|1
	A2|C2|2026-02-01 10:00:00|1070|GBP|completed|1
	A8|C3|2026-01-02 08:00:00|450|GBP|completed|1
	A9|C3|2026-03-01 09:00:00|50|GBP|completed|1
	C3|C1|2026-02-03 11:00:00|-1450|GBP|completed|-1
	EOF
	orders >got && expect_same want got &&
	cat >want <<-\EOF &&
	A1|1|SKU1|2.0|450|900
	A1|2|SKU2|1.0|725|725
	A1|3|SKU3|1.0|310|310
	A2|1|SKU1|1.0|450|450
	A2|2|SKU3|3.0|310|930
	A2|3|SKU3|-1.0|310|-310
	A8|1|SKU1|1.0|450|450
	A9|1|SKU5|1.5|33|50
	C3|1|SKU2|-2.0|725|-1450
	EOF
	lines >got && expect_same want got &&
	cat >want <<-\EOF &&
	SKU1|Green Tea (loose)|Tea|2026-02-01 10:00:00
	SKU2|Mug|Mugs|2026-02-03 11:00:00
	SKU3|Espresso|Coffee|2026-02-01 10:01:00
	SKU5|Sampler|Coffee|2026-03-01 09:00:00
	EOF
	sql "SELECT sku, name, category, updated_at FROM products ORDER BY 1" >got &&
	expect_same want got &&
	cat >want <<-\EOF &&
	C1|1|4850|2026-01-13 09:00:00|2026-01-13 09:00:00|2026-02-03 11:00:00
	C2|1|10700|2026-02-01 10:00:00|2026-02-01 10:00:00|2026-02-01 10:00:00
	C3|2|5000|2026-01-02 08:00:00|2026-03-01 09:00:00|2026-03-01 09:00:00
	EOF
	sql "SELECT c.external_id, s.orders, s.revenue, s.first_order_at, s.last_order_at, s.last_at
	     FROM order_stats s JOIN customers c ON c.id = s.customer_id ORDER BY 1" >got &&
	expect_same want got
'

test_expect 'a re-import changes nothing, in one transaction or with --batch' '
	sql .dump >before.sql &&
	run 3 crm-import lines --currency GBP lines.csv &&
	expect_grep "15 read, 0 inserted, 0 updated, 9 unchanged, 6 rejected, 0 stubs created" err &&
	sql .dump >after.sql && expect_same before.sql after.sql &&
	for b in 1 2 3; do
		run 3 crm-import lines --batch $b --currency GBP lines.csv &&
		expect_grep "0 inserted, 0 updated, 9 unchanged" err &&
		sql .dump >after.sql && expect_same before.sql after.sql || exit 1
	done &&
	run 3 crm-import lines --currency GBP lines.csv lines.csv &&
	expect_grep "total: 30 read, 0 inserted, 0 updated, 18 unchanged, 12 rejected" err &&
	sql .dump >after.sql && expect_same before.sql after.sql
'

test_expect 'an order imported again gets the lines of the file: updated, added, dropped' '
	cat >again.csv <<-\EOF &&
	order_id,sku,product_name,quantity,unit_price,ordered_at,customer_id,currency,status
	A2,SKU1,Green Tea (loose),2,4.50,2026-02-01 10:00,C2,GBP,Shipped
	A8,SKU1,Green tea (old name),1,4.50,2026-01-02 08:00,C3,GBP,
	A8,SKU2,Mug,1,7.25,2026-01-02 08:00,C3,GBP,
	EOF
	run 0 crm-import lines again.csv &&
	expect_grep "3 read, 1 inserted, 1 updated, 1 unchanged, 0 rejected" err &&
	expect_eq "A2|C2|2026-02-01 10:00:00|900|GBP|shipped|1" "$(orders | grep ^A2)" &&
	expect_eq "A2|1|SKU1|2.0|450|900" "$(lines | grep ^A2)" &&
	expect_eq "A8|C3|2026-01-02 08:00:00|1175|GBP|completed|1" "$(orders | grep ^A8)" &&
	expect_eq 2 "$(lines | grep -c ^A8)" &&
	expect_eq "Green Tea (loose)" "$(sql "SELECT name FROM products WHERE sku = '\''SKU1'\''")" &&
	expect_eq "C2|1|9000" "$(sql "SELECT c.external_id, s.orders, s.revenue FROM order_stats s
		JOIN customers c ON c.id = s.customer_id WHERE c.external_id = '\''C2'\''")"
'

test_expect 'a bad line keeps its order as stored; --max-rejects rolls everything back' '
	cat >bad.csv <<-\EOF &&
	order_id,sku,quantity,unit_price,ordered_at,customer_id,currency
	A1,SKU1,2,4.50,2026-01-13 09:00,C1,GBP
	A1,SKU2,1,7.25x,2026-01-13 09:05,C1,GBP
	A10,SKU1,1,4.50,2026-04-01 09:00,C1,GBP
	A11,SKU1,"1,500",4.50,2026-04-01 09:00,C1,GBP
	A12,SKU1,1,4.50,2026-04-02 09:00,C1,GBP
	A12,SKU2,1,7.25,2026-04-02 09:00,C2,GBP
	A13,SKU1,1,4.50,2026-04-03 09:00,C1,GBP
	A13,SKU2,1,7.25,2026-04-03 09:00,C1,EUR
	EOF
	sql .dump >before.sql &&
	run 1 crm-import lines --max-rejects 0 bad.csv &&
	expect_grep "nothing was imported" err &&
	sql .dump >after.sql && expect_same before.sql after.sql &&
	run 3 crm-import lines bad.csv &&
	expect_grep "bad.csv:3: invalid unit_price \"7.25x\"" err &&
	expect_grep "bad.csv:2: order \"A1\": another line of the order was rejected" err &&
	expect_grep "bad.csv:5: invalid quantity \"1,500\": a comma and three digits, 1.5 or 1500? (--decimal , reads a decimal comma)" err &&
	expect_eq "A1|C1|2026-01-13 09:00:00|1935|GBP|completed|1" "$(orders | grep "^A1|")" &&
	expect_eq 3 "$(lines | grep -c "^A1|")" &&
	expect_grep "bad.csv:7: another customer than the order'\''s line before" err &&
	expect_grep "bad.csv:9: currency EUR, the order'\''s line before is in GBP" err &&
	expect_grep "bad.csv:6: order \"A12\": another line of the order was rejected" err &&
	expect_grep "bad.csv:8: order \"A13\": another line of the order was rejected" err &&
	expect_eq "" "$(orders | grep -E "^A1[123][|]")" &&
	expect_eq "A10|C1|2026-04-01 09:00:00|450|GBP|completed|1" "$(orders | grep "^A10|")"
'

test_expect 'a status in no list is said once with its count; --check writes nothing' '
	cat >st.csv <<-\EOF &&
	order_id,sku,quantity,unit_price,ordered_at,customer_id,currency,status
	B1,SKU1,1,4.50,2026-05-01 09:00,C1,GBP,Awaiting Pickup
	B1,SKU2,1,7.25,2026-05-01 09:00,C1,GBP,Awaiting Pickup
	B2,SKU1,1,4.50,2026-05-02 09:00,C2,GBP,wc-completed
	EOF
	sql .dump >before.sql &&
	run 0 crm-import lines --check st.csv &&
	expect_grep "3 read, 3 inserted" err &&
	sql .dump >after.sql && expect_same before.sql after.sql &&
	run 0 crm-import lines st.csv &&
	expect_grep "st.csv:2: warning: order status \"awaiting_pickup\" is in no list of crm.conf [orders]: kept, not counted as a purchase (2 rows)" err &&
	expect_eq "B1|C1|2026-05-01 09:00:00|1175|GBP|awaiting_pickup|0" "$(orders | grep "^B1|")" &&
	expect_eq "B2|C2|2026-05-02 09:00:00|450|GBP|completed|1" "$(orders | grep "^B2|")"
'

test_expect 'a file without the columns lines need is refused before anything is written' '
	printf "order_id,product,quantity,price,date,customer_id\nX1,Tea,1,2.00,2026-01-01,C1\n" >nosku.csv &&
	sql .dump >before.sql &&
	run 1 crm-import lines --currency EUR nosku.csv &&
	expect_grep "cannot import lines: no sku column" err &&
	sql .dump >after.sql && expect_same before.sql after.sql
'

test_expect 'a line without a name or category keeps the product'"'"'s' '
	cat >noname.csv <<-\EOF &&
	order_id,sku,product_name,category,quantity,unit_price,ordered_at,customer_id,currency
	D1,SKU9,Kettle,Kettles,1,20.00,2026-06-01 09:00,C1,GBP
	D2,SKU9,,,1,20.00,2026-06-02 09:00,C1,GBP
	EOF
	run 0 crm-import lines noname.csv &&
	expect_eq "Kettle|Kettles|2026-06-02 09:00:00" \
		"$(sql "SELECT name, category, updated_at FROM products WHERE sku = '\''SKU9'\''")"
'

# More lines than one batch (50,000) holds, new orders inserted many at a
# time, and the first line of 100 orders at the end of the file: each of
# those orders gets it as its last line, in the next batch
test_expect 'orders whose lines come apart across batches: all lines, amounts their sum' '
	awk "BEGIN { print \"order_id,sku,quantity,unit_price,ordered_at,customer_id,currency\"
		for (o = 1; o <= 40000; o++) for (k = 1; k <= 3; k++)
			if (o > 100 || k > 1)
				printf \"E%d,SKU%d,%d,1.%02d,2026-07-01 10:00,C%d,EUR\\n\", o, k, k, o % 100, o % 50
		for (o = 1; o <= 100; o++)
			printf \"E%d,SKU1,1,1.%02d,2026-07-01 09:00,C%d,EUR\\n\", o, o % 100, o % 50
	}" >apart.csv &&
	run 0 crm-import lines apart.csv &&
	expect_grep "120000 read, 120000 inserted, 0 updated, 0 unchanged, 0 rejected" err &&
	expect_eq "40000|120000|0" "$(sql "SELECT count(*), sum((SELECT count(*) FROM order_lines l
		WHERE l.order_id = o.id)), sum(o.amount <> (SELECT sum(amount) FROM order_lines l
		WHERE l.order_id = o.id)) FROM orders o WHERE external_id LIKE '\''E%'\''")" &&
	expect_eq "3|SKU1|101|2026-07-01 09:00:00|606" "$(sql "SELECT l.line, p.sku, l.unit_price,
		o.ordered_at, o.amount FROM order_lines l JOIN orders o ON o.id = l.order_id
		JOIN products p ON p.id = l.product_id WHERE o.external_id = '\''E1'\''
		ORDER BY l.line DESC LIMIT 1")" &&
	run 0 crm-import lines apart.csv &&
	expect_grep "120000 read, 0 inserted, 0 updated, 120000 unchanged" err &&
	head -n 119901 apart.csv >shorter.csv &&
	run 0 crm-import lines shorter.csv &&
	expect_grep "119900 read, 0 inserted, 0 updated, 119900 unchanged" err &&
	expect_eq "40000|119900|0" "$(sql "SELECT count(*), sum((SELECT count(*) FROM order_lines l
		WHERE l.order_id = o.id)), sum(o.amount <> (SELECT sum(amount) FROM order_lines l
		WHERE l.order_id = o.id)) FROM orders o WHERE external_id LIKE '\''E%'\''")"
'

# The UCI Online Retail invoice lines as published (InvoiceNo, StockCode,
# Description, Quantity, InvoiceDate M/D/YYYY H:MM, UnitPrice, CustomerID,
# Country; tests/fixtures/online-retail), against Python's own sums
xz -dc "$FIX/online-retail/OnlineRetail.csv.xz" >retail.csv || exit 1
cat >sums.py <<'EOF'
import csv, sys
from decimal import Decimal, ROUND_HALF_EVEN
orders, cust = {}, {}
for r in csv.DictReader(open(sys.argv[1], newline="")):
    c = r["CustomerID"].strip()
    if not c:
        continue
    minor = int((Decimal(r["Quantity"]) * Decimal(r["UnitPrice"]) * 100).to_integral_value(ROUND_HALF_EVEN))
    o = orders.setdefault(r["InvoiceNo"], [c, 0, 0])
    o[1] += 1
    o[2] += minor
    cust[c] = cust.get(c, 0) + minor
print("orders", len(orders), "refunds", sum(1 for o in orders.values() if o[2] < 0))
for k in sorted(orders):
    print("order", k, orders[k][1], orders[k][2])
for k in sorted(cust):
    print("customer", k, cust[k])
EOF
# sums: the same from the base
sums() {
	sql "SELECT 'orders', count(*), 'refunds', sum(purchase = -1) FROM orders" | tr "|" " "
	sql "SELECT 'order', o.external_id, count(l.id), o.amount FROM orders o
	     JOIN order_lines l ON l.order_id = o.id GROUP BY o.id ORDER BY o.external_id" | tr "|" " "
	sql "SELECT 'customer', c.external_id, sum(o.amount) FROM orders o
	     JOIN customers c ON c.id = o.customer_id GROUP BY c.id ORDER BY c.external_id" | tr "|" " "
}

test_expect 'a UK retailer export as published, no hand work: the sums agree' '
	rm -f crm.db* &&
	run 3 crm-import -v lines --currency GBP --rejects rej.csv retail.csv &&
	expect_grep "retail.csv: column \"InvoiceDate\": dates are month/day/year" err &&
	expect_no_grep "quantity" rej.csv && expect_no_grep "price" rej.csv &&
	expect_no_grep "ordered_at" rej.csv && expect_no_grep "another line" rej.csv &&
	expect_grep "no customer (no customer_id, valid email or phone)" rej.csv &&
	$PY sums.py retail.csv >want && sums >got && expect_same want got &&
	test "$(grep -c "^order " want)" -gt 1000 &&
	test "$(sql "SELECT count(*) FROM orders WHERE purchase = -1")" -gt 100 &&
	expect_eq "" "$(sql "SELECT ordered_at FROM orders WHERE ordered_at NOT LIKE '\''201_-__-__ __:__:00'\''")"
'

test_expect 'its first 2,000 lines (dates that cannot tell: --date-format mdy), again' '
	rm -f crm.db* &&
	head -n 2001 retail.csv >head.csv &&
	run 1 crm-import lines --currency GBP head.csv &&
	expect_grep "ambiguous dates" err &&
	run 3 crm-import lines --currency GBP --date-format mdy head.csv &&
	$PY sums.py head.csv >want && sums >got && expect_same want got &&
	test "$(grep -c "^order " want)" -gt 50 &&
	sql .dump >before.sql &&
	run 3 crm-import lines --currency GBP --date-format mdy --batch 500 head.csv &&
	expect_grep " 0 inserted, 0 updated, " err &&
	sql .dump >after.sql && expect_same before.sql after.sql
'

# A read error in the middle of the file (libfiu fails read(2) at random,
# from fixed seeds, until one fails after some rows): nothing of the file
# is kept, the orders stored before stay as they were; with --batch, what
# the commits before it stored is said
FIU_LIB=/usr/lib/fiu
test_expect 'a read error mid-file rolls the file back; --batch says what its commits kept' '
	if ! test -e $FIU_LIB/fiu_posix_preload.so; then
		echo "# no libfiu (apt-get install fiu-utils): skipped"; exit 0
	fi
	# a sanitizer build: its runtime first (as t0955 does)
	asan=$(ldd "$(command -v crm-import)" 2>/dev/null | awk "/libasan/ { print \$3 }") &&
	rm -f crm.db* &&
	awk "BEGIN { print \"order_id,customer_id,ordered_at,sku,quantity,unit_price,currency\"
		for (i = 0; i < 200000; i++)
			printf \"O%d,C%d,2026-01-%02d 10:00:00,S%d,%d,%d.50,EUR\\n\",
				int(i / 4), int(i / 4) % 500, 1 + i % 28, i % 50, 1 + i % 3, i % 20 }" >big.csv &&
	sed "s/[.]50,EUR\$/.75,EUR/" big.csv >big2.csv &&
	run 0 crm-import lines big.csv &&
	sql .dump >before.sql &&
	seed=0 && while :; do
		seed=$((seed + 1)) && test $seed -le 40 &&
		set +e &&
		FIU_PRNG_SEED=$seed FIU_CTRL_FIFO= \
		FIU_ENABLE="enable_random name=posix/io/rw/read,probability=0.02" \
		LD_PRELOAD="$asan $FIU_LIB/fiu_run_preload.so $FIU_LIB/fiu_posix_preload.so" \
		ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" \
			crm-import lines big2.csv >out 2>err
		rc=$? && set -e &&
		if [ $rc -eq 1 ] && grep -q "big2.csv: read error: .* after [0-9]* rows" err; then break; fi
	done &&
	expect_grep "crm-import: nothing was stored: the import was rolled back" err &&
	sql .dump >after.sql && expect_same before.sql after.sql &&
	sql "VACUUM INTO '\''base.db'\''" &&
	seed=0 && while :; do
		seed=$((seed + 1)) && test $seed -le 40 &&
		rm -f crm.db-wal crm.db-shm && cp base.db crm.db &&
		set +e &&
		FIU_PRNG_SEED=$seed FIU_CTRL_FIFO= \
		FIU_ENABLE="enable_random name=posix/io/rw/read,probability=0.01" \
		LD_PRELOAD="$asan $FIU_LIB/fiu_run_preload.so $FIU_LIB/fiu_posix_preload.so" \
		ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" \
			crm-import lines --batch 20000 big2.csv >out 2>err
		rc=$? && set -e &&
		n=$(sed -n "s/.*the rows up to big2.csv:\([0-9]*\) were stored (--batch commits).*/\1/p" err) &&
		if [ $rc -eq 1 ] && [ -n "$n" ] && [ "$n" -lt 200001 ]; then break; fi
	done &&
	echo "seed $seed: $(cat err)" &&
	kept=$(sql "SELECT count(*) FROM order_lines WHERE unit_price % 100 = 75") &&
	test "$kept" -gt 0 && test "$kept" -lt 200000 &&
	run 0 crm-import lines big2.csv &&
	expect_eq 200000 "$(sql "SELECT count(*) FROM order_lines WHERE unit_price % 100 = 75")" &&
	expect_eq "" "$(sql "SELECT o.external_id FROM orders o
		WHERE o.amount <> (SELECT sum(amount) FROM order_lines WHERE order_id = o.id)")"
'

test_expect 'items without customer, time or quantity take them from the stored order; a catalogue names the products' '
	rm -f crm.db &&
	printf "order_id,customer_id,ordered_at,status\nS1,K1,2026-03-01 10:00,processing\nS2,K2,2026-03-02 10:00,unavailable\n" >so.csv &&
	run 0 crm-import orders --currency BRL so.csv &&
	printf "order_id,order_item_id,product_id,price\nS1,1,P-1,10.50\nS1,2,P-1,10.50\nS1,3,P-2,3\nS9,1,P-2,3\n" >items.csv &&
	run 3 crm-import lines items.csv &&
	expect_grep "items.csv:5: no ordered_at (and no stored order of the id)" err &&
	expect_grep "4 read, 3 inserted, 0 updated, 0 unchanged, 1 rejected" err &&
	sql "SELECT o.external_id, c.external_id, o.ordered_at, o.amount, o.currency, o.status, o.purchase FROM orders o JOIN customers c ON c.id = o.customer_id ORDER BY 1" >got &&
	printf "S1|K1|2026-03-01 10:00:00|2400|BRL|processing|1\nS2|K2|2026-03-02 10:00:00|0|BRL|unavailable|0\n" >want &&
	expect_same want got &&
	expect_eq "1.0 1.0 1.0" "$(sql "SELECT group_concat(quantity, \" \") FROM order_lines")" &&
	printf "product_id,product_category_name,product_weight_g\nP-1,Coffee,200\nP-2,,10\nP-3,Tea,50\n" >cat.csv &&
	run 0 crm-import products cat.csv &&
	expect_grep "3 read, 1 inserted, 1 updated, 1 unchanged, 0 rejected" err &&
	sql "SELECT sku, name, category FROM products ORDER BY 1" >got &&
	printf "P-1||Coffee\nP-2||\nP-3||Tea\n" >want && expect_same want got &&
	run 0 crm-import products cat.csv &&
	expect_grep "3 read, 0 inserted, 0 updated, 3 unchanged" err &&
	run 0 crm-import orders --currency BRL so.csv &&
	expect_eq 2400 "$(sql "SELECT amount FROM orders WHERE external_id = \"S1\"")" &&
	printf "name,category\nx,y\n" >nosku.csv && run 1 crm-import products nosku.csv &&
	expect_grep "cannot import products: no sku column" err
'

test_expect 'foreign keys and integrity hold' '
	expect_eq "" "$(sql "PRAGMA foreign_key_check")" &&
	expect_eq ok "$(sql "PRAGMA integrity_check")"
'

test_done
