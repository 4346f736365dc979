#!/bin/sh
# crm-segment over order statuses and order lines (issue 15):
# orders(status = ...), bought(), bought_count(), spent() with and without
# windows, returns and refunds reducing, top_category in --fields, --why
# and a crm-send template, and the fast "c.id IN (SELECT ...)" form
# selecting what the customer-by-customer form selects.
. "$CRM_TOP/tests/lib.sh"

# now is 2026-11-23 12:00:00 (lib.sh)
# A1: O1 2026-11-01 completed 2 x SKU-1 at 500.00 and 1 x SKU-3 at 500.00,
#     O2 2026-06-01 completed 1 x SKU-2 at 300.00,
#     O7 2026-11-15 a refund of -500.00: -1 x SKU-1
# B2: O3 2026-11-20 unpaid 1 x SKU-1 (not counted), O4 2026-10-01
#     completed 1 x SKU-3 at 25.00 USD
# C3: O5 2026-11-22 Pending, O6 2026-11-10 unpaid 1 x SKU-2 (not counted)
# D4: O8 2026-09-01 completed 2 x SKU-2 at 30.00 USD and a return line
#     -1 x SKU-2
# SKU-1 and SKU-2 are in the category Shoes, SKU-3 (Wool Hat) in Hats.
test_expect 'setup: customers and orders imported, products and lines by sqlite3' '
	printf "id,email,first_name\nA1,a@example.com,Ann\nB2,b@example.com,Bob\nC3,c@example.com,Cid\nD4,d@example.com,Dan\n" >c.csv &&
	cat >o.csv <<\EOF_ &&
id,customer_id,ordered_at,amount,currency,status
O1,A1,2026-11-01,1500.00,RUB,completed
O2,A1,2026-06-01,300.00,RUB,completed
O3,B2,2026-11-20,40.00,USD,unpaid
O4,B2,2026-10-01,25.00,USD,completed
O5,C3,2026-11-22,10.00,USD,Pending
O6,C3,2026-11-10,20.00,USD,unpaid
O7,A1,2026-11-15,-500.00,RUB,refunded
O8,D4,2026-09-01,30.00,USD,completed
EOF_
	crm-import customers c.csv 2>/dev/null &&
	crm-import orders o.csv 2>/dev/null &&
	sql "INSERT INTO products(id, sku, name, category, updated_at) VALUES
		(1, '\''SKU-1'\'', '\''Trail Shoe'\'', '\''Shoes'\'', '\''2026-11-01 00:00:00'\''),
		(2, '\''SKU-2'\'', '\''City Shoe'\'', '\''Shoes'\'', '\''2026-11-01 00:00:00'\''),
		(3, '\''SKU-3'\'', '\''Wool Hat'\'', '\''Hats'\'', '\''2026-11-01 00:00:00'\'');
	     WITH v(ext, line, pid, q, up, amt) AS (VALUES
		('\''O1'\'', 1, 1, 2, 50000, 100000), ('\''O1'\'', 2, 3, 1, 50000, 50000),
		('\''O2'\'', 1, 2, 1, 30000, 30000), ('\''O7'\'', 1, 1, -1, 50000, -50000),
		('\''O3'\'', 1, 1, 1, 4000, 4000), ('\''O4'\'', 1, 3, 1, 2500, 2500),
		('\''O6'\'', 1, 2, 1, 2000, 2000), ('\''O8'\'', 1, 2, 2, 3000, 6000),
		('\''O8'\'', 2, 2, -1, 3000, -3000))
	     INSERT INTO order_lines(order_id, line, product_id, quantity, unit_price, amount)
		SELECT o.id, v.line, v.pid, v.q, v.up, v.amt FROM v JOIN orders o ON o.external_id = v.ext" &&
	expect_eq "8|9|3" "$(sql "SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM order_lines), (SELECT count(*) FROM products)")" &&
	expect_eq "pending|0 unpaid|0 unpaid|0" "$(sql "SELECT status, purchase FROM orders WHERE purchase = 0 ORDER BY status" | tr "\n" " " | sed "s/ \$//")"
'

# ids EXPR [OPTIONS]: the ids crm-segment selects, on one line
ids() {
	e=$1
	shift
	crm-segment -f csv --fields id "$@" "$e" | sed 1d | tr "\n" " " | sed "s/ \$//"
}

test_expect 'orders(status = ...): orders of a status, purchases or not, windows' '
	expect_eq "B2 C3" "$(ids "orders(status = \"unpaid\") > 0")" &&
	expect_eq "C3" "$(ids "orders(status = \"unpaid\") > 0 and orders = 0")" &&
	expect_eq "B2" "$(ids "orders(status = \"unpaid\", 7d)")" &&
	expect_eq "C3" "$(ids "orders(status = \"PENDING\")")" &&
	expect_eq "A1" "$(ids "orders(status = \"completed\") = 2")" &&
	expect_eq "A1" "$(ids "orders(status = \"Refunded\")")" &&
	expect_eq "A1 D4" "$(ids "orders(status = \"unpaid\") = 0")" &&
	expect_eq "A1 B2" "$(ids "orders(60d) >= 1")"
'

test_expect 'bought(): purchases with a line of the product, within a window' '
	expect_eq "A1" "$(ids "bought(\"SKU-1\")")" &&
	expect_eq "A1" "$(ids "bought(sku = \"SKU-1\") = 1")" &&
	expect_eq "" "$(ids "bought(\"sku-1\")")" &&
	expect_eq "A1" "$(ids "bought(category = \"shoes\") = 2")" &&
	expect_eq "A1 D4" "$(ids "bought(category = \"Shoes\", 90d) = 1")" &&
	expect_eq "A1" "$(ids "bought(category = \"Shoes\", 30d)")" &&
	expect_eq "A1 B2" "$(ids "bought(name = \"wool hat\")")" &&
	expect_eq "B2 C3 D4" "$(ids "bought(\"SKU-1\") = 0")"
'

test_expect 'bought_count() and spent(): net of returns and refunds' '
	expect_eq "A1" "$(ids "bought_count(\"SKU-1\") = 1")" &&
	expect_eq "A1" "$(ids "bought_count(category = \"shoes\") = 2")" &&
	expect_eq "D4" "$(ids "bought_count(category = \"shoes\") = 1")" &&
	expect_eq "A1" "$(ids "spent(\"SKU-1\") = 500")" &&
	expect_eq "A1" "$(ids "spent(\"SKU-1\", 30d) = 500")" &&
	expect_eq "A1" "$(ids "spent(\"SKU-1\", 10d) < 0")" &&
	expect_eq "D4" "$(ids "spent(category = \"shoes\") = 30")" &&
	expect_eq "A1 B2" "$(ids "spent(category = \"Hats\") > 0")" &&
	run 0 crm-segment --why A1 "bought_count(\"SKU-1\") = 1 and spent(\"SKU-1\", 10d) < 0" &&
	expect_eq "clause,value,holds
\"bought_count(\"\"SKU-1\"\") = 1 and spent(\"\"SKU-1\"\", 10d) < 0\",,yes
\"  bought_count(\"\"SKU-1\"\") = 1\",1.0,yes
\"  spent(\"\"SKU-1\"\", 10d) < 0\",-500.0,yes" "$(cat out)"
'

test_expect 'the IN (SELECT ...) form selects what the clauses select' '
	for e in "orders(status = \"unpaid\") > 0" "orders(status = \"unpaid\", 7d) >= 1" \
		"bought(\"SKU-1\")" "bought(category = \"Shoes\", 90d) >= 1" \
		"bought_count(category = \"shoes\") >= 2" "spent(\"SKU-3\") > 20" \
		"spent(\"SKU-1\", 10d) < 0 and orders >= 1" "bought(\"SKU-2\") and spent(\"SKU-2\") > 100"; do
		crm-segment --sql "$e" >fast.sql &&
		expect_grep "c.id IN (SELECT" fast.sql &&
		crm-segment --sql "($e) or false" >slow.sql &&
		expect_no_grep "c.id IN (SELECT" slow.sql &&
		expect_eq "$(ids "($e) or false")" "$(ids "$e")" "$e" || exit 1
	done
'

test_expect 'top_category in --fields, --fields all and a template' '
	run 0 crm-segment -f csv --fields id,top_category &&
	expect_eq "id,top_category
A1,Shoes
B2,Hats
C3,
D4,Shoes" "$(cat out)" &&
	run 0 crm-segment -f csv --fields all "id = \"B2\"" &&
	expect_eq Hats "$(sed -n 2p out | tr , "\n" | sed -n "$(sed -n 1p out | tr , "\n" | grep -n "^top_category\$" | cut -d: -f1)p")" &&
	expect_eq "B2" "$(ids "top_category = \"Hats\"")" &&
	printf "Subject: for you\n\nmore {{top_category|default:\"news\"}}\n" >t.tmpl &&
	printf "A1\nC3\n" | run 0 crm-send --campaign cat --channel file --no-consent --template t.tmpl -o t.jsonl - &&
	expect_grep "\"id\":\"A1\"" t.jsonl && expect_grep "\"text\":\"more Shoes\\n\"" t.jsonl &&
	expect_grep "\"text\":\"more news\\n\"" t.jsonl
'

test_expect 'a filter naming no field of the function is an error with its position' '
	run 2 crm-segment -c "bought(colour = \"red\")" &&
	expect_eq "crm-segment: expression:1:8: \"bought\" has no filter \"colour\" (filters: sku, category, name)" "$(cat err)" &&
	run 2 crm-segment -c "orders(category = \"Shoes\")" &&
	expect_eq "crm-segment: expression:1:8: \"orders\" has no filter \"category\" (filters: status)" "$(cat err)" &&
	run 2 crm-segment -c "orders(status = 1)" &&
	expect_eq "crm-segment: expression:1:17: the filter \"status\" needs a string such as \"unpaid\"" "$(cat err)"
'

test_done
