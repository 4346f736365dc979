#!/bin/sh
# What an order counts as (issue 15, item 2; crm.7 ORDERS): the statuses
# that are purchases, those kept but not counted, refunds; an unknown
# status is a warning with its count and not a purchase; negative amounts
# are refunds that reduce revenue and never count as orders; crm.conf
# [orders] adds to the lists and moves a status between them, and a
# changed list classifies the stored orders again; metrics, reports and
# scores agree; an id given twice in one file is said.
. "$CRM_TOP/tests/lib.sh"

# WooCommerce-style statuses as exports write them
cat >woo.csv <<'EOF'
order_id,customer_id,ordered_at,amount,currency,status
1001,A,2026-01-10 10:00,100.00,EUR,Completed
1002,A,2026-02-10 10:00,50.00,EUR,wc-on-hold
1003,A,2026-03-10 10:00,-30.00,EUR,Refunded
1004,B,2026-01-05 10:00,70.00,EUR,Unpaid
1005,B,2026-01-06 10:00,80.00,EUR,Awaiting Fulfilment
1006,B,2026-01-07 10:00,90.00,EUR,canceled
1007,B,2026-01-08 10:00,20.00,EUR,Processing
1008,C,2026-04-01 10:00,-10.00,EUR,
1009,D,2026-05-01 10:00,40.00,EUR,Pending Payment
1010,D,2026-05-02 10:00,45.00,EUR,AWAITING FULFILMENT
EOF

test_expect 'statuses are stored normalised and classified by the default lists' '
	run 0 crm-import orders woo.csv &&
	sql "SELECT external_id, status, purchase FROM orders ORDER BY 1" >got &&
	cat >want <<-EOF &&
	1001|completed|1
	1002|on_hold|0
	1003|refunded|-1
	1004|unpaid|0
	1005|awaiting_fulfilment|0
	1006|cancelled|0
	1007|processing|1
	1008|completed|-1
	1009|pending_payment|0
	1010|awaiting_fulfilment|0
	EOF
	expect_same want got
'

test_expect 'an unknown status is one warning per file with its count, at its first line' '
	rm -f crm.db && run 0 crm-import orders woo.csv &&
	expect_grep "woo.csv:6: warning: order status \"awaiting_fulfilment\" is in no list of crm.conf [orders]: kept, not counted as a purchase (2 rows)" err &&
	test "$(grep -c "order status" err)" = 1 &&
	expect_grep "data quality: 2 negative amounts (refunds: less revenue, not purchases)" err
'

test_expect 'refunds reduce revenue and are never orders; kept orders count for nothing' '
	run 0 crm-segment --fields id,orders,revenue,aov,first_order_at,last_order_at true &&
	cat >want <<-EOF &&
	id,orders,revenue,aov,first_order_at,last_order_at
	A,1,70,70,2026-01-10 10:00:00,2026-01-10 10:00:00
	B,1,20,20,2026-01-08 10:00:00,2026-01-08 10:00:00
	C,0,-10,,,
	D,0,0,,,
	EOF
	expect_same want out &&
	sql "SELECT customer_id, orders, revenue, first_order_at IS NULL, last_at FROM order_stats ORDER BY 1" >got &&
	printf "1|1|70000|0|2026-03-10 10:00:00\n2|1|20000|0|2026-01-08 10:00:00\n3|0|-10000|1|2026-04-01 10:00:00\n" >want &&
	expect_same want got
'

test_expect 'order_stats and the orders give the same answer before the refund' '
	run 0 crm-segment --now "2026-02-01 00:00:00" --fields id,orders,revenue "revenue > 0" &&
	printf "id,orders,revenue\nA,1,100\nB,1,20\n" >want &&
	expect_same want out &&
	run 0 crm-segment --fields id "revenue(365d) < 100 and orders >= 1" &&
	printf "id\nA\nB\n" >want && expect_same want out
'

test_expect 'the summary report counts buyers and orders from purchases, revenue net of refunds' '
	run 0 crm-report summary -f csv &&
	expect_eq "EUR,4,2,0,0,2,80,40,1,0,0,2,,0," "$(sed -n 2p out | cut -d, -f1-15)"
'

test_expect 'crm.conf [orders] adds statuses; naming one moves it; stored orders are classified again' '
	printf "[orders]\npurchase = Awaiting Fulfilment, on-hold\nother = processing\n" >crm.conf &&
	printf "order_id,customer_id,ordered_at,amount,currency,status\n2001,E,2026-06-01,5,EUR,completed\n" >one.csv &&
	CRM_CONFIG=crm.conf run 0 crm-import orders one.csv &&
	expect_grep "4 stored orders classified again with crm.conf [orders]" err &&
	sql "SELECT external_id, purchase FROM orders WHERE external_id IN (\"1002\", \"1005\", \"1007\", \"1010\") ORDER BY 1" >got &&
	printf "1002|1\n1005|1\n1007|0\n1010|1\n" >want && expect_same want got &&
	run 0 crm-segment --fields id,orders,revenue "id in (\"A\", \"B\", \"D\")" &&
	printf "id,orders,revenue\nA,2,120\nB,1,80\nD,1,45\n" >want && expect_same want out &&
	CRM_CONFIG=crm.conf run 0 crm-import orders one.csv &&
	expect_no_grep "classified again" err
'

test_expect 'a status in two lists is refused, naming the file and both lists, nothing written' '
	sql .dump >before.sql &&
	printf "[orders]\npurchase = paid, Pending\nother = pending\n" >bad.conf &&
	CRM_CONFIG=bad.conf run 2 crm-import orders woo.csv &&
	expect_grep "bad.conf: [orders] status \"pending\" is in both purchase and other" err &&
	sql .dump >after.sql && expect_same before.sql after.sql
'

test_expect 'an order file that gives an id twice says so; the later row wins' '
	rm -f crm.db &&
	printf "order_id,customer_id,ordered_at,amount,currency\nX1,A,2026-01-01,10,EUR\nX2,A,2026-01-02,20,EUR\nX1,A,2026-01-01,15,EUR\nX2,A,2026-01-02,20,EUR\n" >dup.csv &&
	run 0 crm-import orders dup.csv &&
	expect_grep "data quality: 2 rows repeating an id of an earlier row (the later row wins), the first \"X1\"" err &&
	expect_eq 15.00 "$(sql "SELECT printf(\"%.2f\", amount / 100.0) FROM orders WHERE external_id = \"X1\"")" &&
	run 0 crm-import orders dup.csv &&
	expect_no_grep "repeating" err
'

test_expect 'RFM and CLV read purchases; a refund lowers the monetary value' '
	rm -f crm.db &&
	awk "BEGIN { print \"order_id,customer_id,ordered_at,amount,currency,status\";
		for (c = 1; c <= 40; c++) for (k = 0; k < c % 4 + 1; k++)
			printf \"O%d-%d,C%d,2026-%02d-%02d,%d.00,EUR,paid\n\", c, k, c, k * 2 + 1, c % 27 + 1, 10 * c + k;
		print \"R1,C39,2026-10-01,-300.00,EUR,refunded\";
		print \"P1,C40,2026-10-02,999.00,EUR,pending\" }" >rfm.csv &&
	run 0 crm-import orders rfm.csv &&
	run 0 crm-score rfm -q &&
	sql "SELECT c.external_id, s.frequency, s.monetary FROM scores s JOIN customers c ON c.id = s.customer_id WHERE c.external_id IN (\"C35\", \"C39\", \"C40\") ORDER BY 1" >got &&
	printf "C35|4|1406.0\nC39|4|1266.0\nC40|1|400.0\n" >want && expect_same want got &&
	run 0 crm-segment --fields id,orders,revenue "id = \"C40\"" &&
	printf "id,orders,revenue\nC40,1,400\n" >want && expect_same want out
'

test_done
