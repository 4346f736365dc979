#!/bin/sh
# crm-report products [--by category] [--limit N], and ltv --by category:
# what each product and category sold, from the order lines of the
# counted orders (purchases and refunds) up to --now (issue 15 item 1).
. "$CRM_TOP/tests/lib.sh"

# Now is 2026-11-23 12:00:00. Products: SKU1 Boots and SKU2 Sandals
# (Shoes), SKU3 Hat (Accessories), SKU4 Scarf (no category), SKU5 Gloves
# (accessories: the same category in another case).
#   A Kazan   O1 2026-10-01 RUB  SKU1 x1 100, SKU3 x2 @20     = 140
#             O2 2026-11-01 RUB  SKU1 x1 100, SKU2 x1 50      = 150
#             O6 2026-11-30 RUB  SKU3 x5 @20 = 100: after now, not counted
#   B Moscow  O3 2026-10-05 RUB  SKU1 x2 @100, SKU3 x5 @20    = 300
#             R1 2026-10-20 RUB  refund: SKU1 x-1 @100        = -100
#             O5 2026-11-05 RUB  cancelled: SKU2 x1 50, not counted
#   C Kazan   O4 2026-11-10 EUR  SKU1 x1 @10, SKU4 x1 @5      = 15
#   D Kazan   O7 2026-11-15 RUB  SKU2 x2 @50, return SKU2 x-1 = 50
#   E Omsk    O8 2026-09-01 RUB  no lines                     = 30
#   F Omsk    O9 2026-11-02 RUB  SKU5 x1 30                   = 30
#             R3 2026-11-03 RUB  refund: SKU5 x-1             = -30
test_expect 'setup: customers and orders by crm-import, products and lines by SQL' '
	cat >c.csv <<-\EOF_ &&
	customer_id,email,first_name,city
	A,a@example.com,Ann,Kazan
	B,b@example.com,Bob,Moscow
	C,c@example.com,Cid,Kazan
	D,d@example.com,Dan,Kazan
	E,e@example.com,Eve,Omsk
	F,f@example.com,Fay,Omsk
	EOF_
	cat >o.csv <<-\EOF_ &&
	order_id,customer_id,ordered_at,amount,currency,status
	O1,A,2026-10-01,140,RUB,
	O2,A,2026-11-01,150,RUB,
	O3,B,2026-10-05,300,RUB,
	R1,B,2026-10-20,-100,RUB,refunded
	O4,C,2026-11-10,15,EUR,
	O5,B,2026-11-05,50,RUB,cancelled
	O6,A,2026-11-30,100,RUB,
	O7,D,2026-11-15,50,RUB,partially_refunded
	O8,E,2026-09-01,30,RUB,
	O9,F,2026-11-02,30,RUB,
	R3,F,2026-11-03,-30,RUB,refunded
	EOF_
	run 0 crm-import customers c.csv &&
	run 0 crm-import orders o.csv &&
	expect_eq "O1 1,O2 1,O3 1,O4 1,O5 0,O6 1,O7 1,O8 1,O9 1,R1 -1,R3 -1" \
		"$(sql "SELECT group_concat(external_id || '\'' '\'' || purchase, '\'','\'')
			FROM (SELECT * FROM orders ORDER BY external_id)")" &&
	sql "INSERT INTO products(sku, name, category, updated_at) VALUES
		('\''SKU1'\'', '\''Boots'\'', '\''Shoes'\'', '\''2026-11-15 00:00:00'\''),
		('\''SKU2'\'', '\''Sandals'\'', '\''Shoes'\'', '\''2026-11-15 00:00:00'\''),
		('\''SKU3'\'', '\''Hat'\'', '\''Accessories'\'', '\''2026-11-15 00:00:00'\''),
		('\''SKU4'\'', '\''Scarf'\'', NULL, '\''2026-11-15 00:00:00'\''),
		('\''SKU5'\'', '\''Gloves'\'', '\''accessories'\'', '\''2026-11-15 00:00:00'\'');
	     WITH v(ext, line, sku, q, up, amt) AS (VALUES
		('\''O1'\'', 1, '\''SKU1'\'', 1, 10000, 10000), ('\''O1'\'', 2, '\''SKU3'\'', 2, 2000, 4000),
		('\''O2'\'', 1, '\''SKU1'\'', 1, 10000, 10000), ('\''O2'\'', 2, '\''SKU2'\'', 1, 5000, 5000),
		('\''O3'\'', 1, '\''SKU1'\'', 2, 10000, 20000), ('\''O3'\'', 2, '\''SKU3'\'', 5, 2000, 10000),
		('\''R1'\'', 1, '\''SKU1'\'', -1, 10000, -10000),
		('\''O4'\'', 1, '\''SKU1'\'', 1, 1000, 1000), ('\''O4'\'', 2, '\''SKU4'\'', 1, 500, 500),
		('\''O5'\'', 1, '\''SKU2'\'', 1, 5000, 5000),
		('\''O6'\'', 1, '\''SKU3'\'', 5, 2000, 10000),
		('\''O7'\'', 1, '\''SKU2'\'', 2, 5000, 10000), ('\''O7'\'', 2, '\''SKU2'\'', -1, 5000, -5000),
		('\''O9'\'', 1, '\''SKU5'\'', 1, 3000, 3000), ('\''R3'\'', 1, '\''SKU5'\'', -1, 3000, -3000))
	     INSERT INTO order_lines(order_id, line, product_id, quantity, unit_price, amount)
	     SELECT o.id, v.line, p.id, v.q, v.up, v.amt FROM v
	     JOIN orders o ON o.external_id = v.ext JOIN products p ON p.sku = v.sku" &&
	expect_eq 15 "$(sql "SELECT count(*) FROM order_lines")"
'

# SKU1: buyers A B C; purchases O1 O2 O3 O4; units 1+1+2-1+1; revenue in
# RUB 100+100+200-100 (C's EUR left out); 1 returned; A bought it twice.
test_expect 'products: per product, by revenue, in the currency of most purchases' '
	run 0 crm-report -f csv products &&
	cat >want <<-\EOF_ &&
	sku,name,category,buyers,orders,units,revenue,returns,repeat_rate,currency
	SKU1,Boots,Shoes,3,4,4,300,1,0.3333,RUB
	SKU3,Hat,Accessories,2,2,7,140,0,0,RUB
	SKU2,Sandals,Shoes,2,2,2,100,1,0,RUB
	SKU4,Scarf,,1,1,1,0,0,0,RUB
	SKU5,Gloves,accessories,1,1,0,0,1,0,RUB
	EOF_
	expect_same want out &&
	expect_grep "revenue in RUB only: 2 order lines in other currencies left out (choose with --currency)" err
'

test_expect 'products --by category: the same per category, (none) for none, case folded' '
	run 0 crm-report -f csv products --by category &&
	cat >want <<-\EOF_ &&
	category,buyers,orders,units,revenue,returns,repeat_rate,currency
	Shoes,4,5,6,400,2,0.25,RUB
	Accessories,3,3,7,140,1,0,RUB
	(none),1,1,1,0,0,0,RUB
	EOF_
	expect_same want out
'

test_expect 'products --currency EUR: revenue in EUR, ties by units; no warning' '
	run 0 crm-report -f csv products --currency eur &&
	cat >want <<-\EOF_ &&
	sku,name,category,buyers,orders,units,revenue,returns,repeat_rate,currency
	SKU1,Boots,Shoes,3,4,4,10,1,0.3333,EUR
	SKU4,Scarf,,1,1,1,5,0,0,EUR
	SKU3,Hat,Accessories,2,2,7,0,0,0,EUR
	SKU2,Sandals,Shoes,2,2,2,0,1,0,EUR
	SKU5,Gloves,accessories,1,1,0,0,1,0,EUR
	EOF_
	expect_same want out &&
	expect_no_grep "left out" err
'

test_expect 'products --where and --segment: the lines of those customers only' '
	run 0 crm-report -f csv products --where "city = \"Kazan\"" &&
	cat >want <<-\EOF_ &&
	sku,name,category,buyers,orders,units,revenue,returns,repeat_rate,currency
	SKU1,Boots,Shoes,2,3,3,200,0,0.5,RUB
	SKU2,Sandals,Shoes,2,2,2,100,1,0,RUB
	SKU3,Hat,Accessories,1,1,2,40,0,0,RUB
	SKU4,Scarf,,1,1,1,0,0,0,RUB
	EOF_
	expect_same want out &&
	run 0 crm-segment --save twice "orders >= 2" &&
	run 0 crm-report -f csv products --segment twice --by category &&
	cat >want <<-\EOF_ &&
	category,buyers,orders,units,revenue,returns,repeat_rate,currency
	Shoes,1,2,3,250,0,1,RUB
	Accessories,1,1,2,40,0,0,RUB
	EOF_
	expect_same want out &&
	run 0 crm-report -f csv products --segment twice --where "city = \"Moscow\"" &&
	expect_eq "sku,name,category,buyers,orders,units,revenue,returns,repeat_rate,currency" "$(cat out)"
'

test_expect 'products --limit N, JSON lines' '
	run 0 crm-report -f jsonl products --limit 2 &&
	cat >want <<-\EOF_ &&
	{"sku":"SKU1","name":"Boots","category":"Shoes","buyers":3,"orders":4,"units":4,"revenue":300,"returns":1,"repeat_rate":0.3333,"currency":"RUB"}
	{"sku":"SKU3","name":"Hat","category":"Accessories","buyers":2,"orders":2,"units":7,"revenue":140,"returns":0,"repeat_rate":0,"currency":"RUB"}
	EOF_
	expect_same want out
'

test_expect 'products as of an earlier --now: later orders are not counted' '
	run 0 crm-report -f csv --now "2026-10-10 00:00:00" products &&
	cat >want <<-\EOF_ &&
	sku,name,category,buyers,orders,units,revenue,returns,repeat_rate,currency
	SKU1,Boots,Shoes,2,2,3,300,0,0,RUB
	SKU3,Hat,Accessories,2,2,7,140,0,0,RUB
	EOF_
	expect_same want out
'

test_expect 'products: wrong options are usage errors' '
	run 2 crm-report products --by city &&
	expect_grep "invalid --by \"city\" for products (product or category)" err &&
	run 2 crm-report products --limit 0 &&
	expect_grep "--limit needs a number of products >= 1" err &&
	run 2 crm-report summary --limit 3 &&
	expect_grep "--limit goes with products" err
'

# Top category as crm-segment's top_category: the most net spent over the
# lines (returns and refunds taken off): A Shoes 250 against 40; B Shoes
# 200-100 and Accessories 100, a tie: the first by name; D Shoes; E has
# no lines and F none with a positive net spend: (none); C buys in EUR
# only (not in a RUB report).
test_expect 'ltv --by category: each customer by their top category' '
	run 0 crm-report -f csv ltv --by category &&
	cat >want <<-\EOF_ &&
	category,customers,historic_revenue,historic_avg,scored,predicted_clv,predicted_avg,currency
	Shoes,2,340,170,0,,,RUB
	Accessories,1,200,200,0,,,RUB
	(none),2,30,15,0,,,RUB
	(all),5,570,114,0,,,RUB
	EOF_
	expect_same want out &&
	run 0 crm-report -f csv ltv --by category --currency EUR &&
	cat >want <<-\EOF_ &&
	category,customers,historic_revenue,historic_avg,scored,predicted_clv,predicted_avg,currency
	Shoes,1,15,15,0,,,EUR
	EOF_
	expect_same want out
'

# The same base from a line file, when crm-import lines is there (issue
# 15 item 1's importer, on another branch until it is merged): the same
# orders, lines and products, so the same reports.
test_expect 'the base that crm-import lines builds gives the same reports' '
	if crm-import --db "$PWD/probe.db" lines /dev/null 2>&1 | grep -q "unknown kind"; then
		echo "# crm-import lines is not there yet: nothing to compare" && exit 0
	fi
	cat >l.csv <<-\EOF_ &&
	order_id,customer_id,ordered_at,sku,product_name,category,quantity,unit_price,currency,status
	O1,A,2026-10-01,SKU1,Boots,Shoes,1,100,RUB,
	O1,A,2026-10-01,SKU3,Hat,Accessories,2,20,RUB,
	O2,A,2026-11-01,SKU1,Boots,Shoes,1,100,RUB,
	O2,A,2026-11-01,SKU2,Sandals,Shoes,1,50,RUB,
	O3,B,2026-10-05,SKU1,Boots,Shoes,2,100,RUB,
	O3,B,2026-10-05,SKU3,Hat,Accessories,5,20,RUB,
	R1,B,2026-10-20,SKU1,Boots,Shoes,-1,100,RUB,refunded
	O4,C,2026-11-10,SKU1,Boots,Shoes,1,10,EUR,
	O4,C,2026-11-10,SKU4,Scarf,,1,5,EUR,
	O5,B,2026-11-05,SKU2,Sandals,Shoes,1,50,RUB,cancelled
	O6,A,2026-11-30,SKU3,Hat,Accessories,5,20,RUB,
	O7,D,2026-11-15,SKU2,Sandals,Shoes,2,50,RUB,partially_refunded
	O7,D,2026-11-15,SKU2,Sandals,Shoes,-1,50,RUB,partially_refunded
	O9,F,2026-11-02,SKU5,Gloves,accessories,1,30,RUB,
	R3,F,2026-11-03,SKU5,Gloves,accessories,-1,30,RUB,refunded
	EOF_
	printf "order_id,customer_id,ordered_at,amount,currency,status\nO8,E,2026-09-01,30,RUB,\n" >o8.csv &&
	for r in "products" "products --by category" "ltv --by category"; do
		crm-report -f csv $r >"want.$r" 2>/dev/null || exit 1
	done &&
	CRM_DB=$PWD/lines.db && export CRM_DB &&
	run 0 crm-import customers c.csv &&
	run 0 crm-import lines l.csv &&
	run 0 crm-import orders o8.csv &&
	for r in "products" "products --by category" "ltv --by category"; do
		run 0 crm-report -f csv $r && expect_same "want.$r" out || exit 1
	done
'

test_expect 'products without order lines: an empty report and a note' '
	rm -f crm.db &&
	run 0 crm-import customers c.csv &&
	run 0 crm-report -f csv products &&
	expect_eq "sku,name,category,buyers,orders,units,revenue,returns,repeat_rate,currency" "$(cat out)" &&
	expect_grep "no order lines" err
'

test_done
