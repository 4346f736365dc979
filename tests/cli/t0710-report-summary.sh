#!/bin/sh
# crm-report summary: customers, buyers, repeat rate, orders, revenue,
# AOV, frequency, active customers, retention and churn, per currency,
# as of --now (2026-11-23 12:00:00). The expected values are worked out
# by hand from the orders below.
. "$CRM_TOP/tests/lib.sh"

# A  2024-12-01 100.00 (the year before last), 2026-11-10 50.00
# B  2025-06-01 200.00 (the year before last; nothing since: churned)
# C  2026-09-01 30.00, 2026-10-01 20.00, 2026-11-20 999.00 refunded
# D  2026-11-22 10.00; and 2026-05-01 15.00 USD
# E  only an order after --now (2026-12-01): not a buyer yet
# (as of 2025-01-01, A's first order is 30.6 days old: not active in 30 days)
#
# RUB: buyers A B C D = 4; repeat A C = 2 (0.5); orders 6; revenue
# 410.00; AOV 410 / 6 = 68.33; frequency 6 / 4 = 1.5; active in 30 days
# A D = 2, in 90 days (since 2026-08-25) A C D = 3, in 365 days A C D = 3;
# bought in the year before the last (2024-11-23 .. 2025-11-23) A B = 2,
# of whom A bought again since: retention 0.5; churned (no order for
# 365 days) B: 1 / 4 = 0.25.
# USD: D alone: 1 buyer, 1 order, 15.00, active in 365 days; no one in
# the year before: retention unknown (empty).
test_expect 'setup' '
	cat >c.csv <<-\EOF2 &&
	customer_id,email,city
	A,a@example.com,Kazan
	B,b@example.com,Kazan
	C,c@example.com,Moscow
	D,d@example.com,Moscow
	E,e@example.com,Moscow
	EOF2
	cat >o.csv <<-\EOF2 &&
	order_id,customer_id,ordered_at,amount,currency,status
	1,A,2024-12-01 10:00:00,100.00,RUB,completed
	2,A,2026-11-10 10:00:00,50.00,RUB,completed
	3,B,2025-06-01 10:00:00,200.00,RUB,completed
	4,C,2026-09-01 10:00:00,30.00,RUB,completed
	5,C,2026-10-01 10:00:00,20.00,RUB,completed
	6,C,2026-11-20 10:00:00,999.00,RUB,refunded
	7,D,2026-11-22 10:00:00,10.00,RUB,completed
	8,D,2026-05-01 10:00:00,15.00,USD,completed
	9,E,2026-12-01 10:00:00,5.00,RUB,completed
	EOF2
	run 0 crm-import customers c.csv &&
	run 0 crm-import orders o.csv
'

test_expect 'per currency, the currency of most orders first' '
	run 0 crm-report -f csv summary &&
	cat >want <<-\EOF2 &&
	currency,customers,buyers,repeat_buyers,repeat_rate,orders,revenue,aov,frequency,active_30d,active_90d,active_365d,retention_rate,churned_share,avg_clv
	RUB,5,4,2,0.5,6,410,68.33,1.5,2,3,3,0.5,0.25,
	USD,5,1,0,0,1,15,15,1,0,0,1,,0,
	EOF2
	expect_same want out
'

test_expect '--now in the past sees only the orders until then' '
	run 0 crm-report -f csv --now 2025-01-01 summary &&
	expect_eq "RUB,5,1,0,0,1,100,100,1,0,1,1,,0," "$(sed -n 2p out)" &&
	expect_eq 2 "$(wc -l <out)"
'

test_expect '--where: only the customers of Kazan' '
	run 0 crm-report -f csv --where "city = \"Kazan\"" summary &&
	expect_eq "RUB,2,2,1,0.5,3,350,116.67,1.5,1,1,1,0.5,0.5," "$(sed -n 2p out)" &&
	expect_eq 2 "$(wc -l <out)"
'

test_expect '--segment: a saved segment, and with --where both must hold' '
	run 0 crm-segment --save movers "city = \"Moscow\"" &&
	run 0 crm-report -f csv --segment movers summary &&
	expect_eq "RUB,3,2,1,0.5,3,60,20,1.5,1,2,2,,0," "$(sed -n 2p out)" &&
	run 0 crm-report -f csv --segment movers --where "id = \"D\"" summary &&
	expect_eq "RUB,1,1,0,0,1,10,10,1,1,1,1,,0," "$(sed -n 2p out)" &&
	expect_eq "USD,1,1,0,0,1,15,15,1,0,0,1,,0," "$(sed -n 3p out)"
'

test_expect 'an empty base: one line of zeros, no division by zero' '
	run 0 crm-report -f csv --where "id = \"nobody\"" summary &&
	expect_eq ",0,0,0,,0,0,,,0,0,0,,," "$(sed -n 2p out)"
'

test_expect 'the average CLV of the scored customers, in the model currency' '
	sql "INSERT INTO models(id, kind, params, customers, as_of, currency, fitted_at)
	       VALUES (1, '\''bgnbd'\'', '\''{}'\'', 2, '\''2026-11-23'\'', '\''RUB'\'', '\''2026-11-23'\'');
	     INSERT INTO currency_scores(customer_id, currency, clv_model_id, clv, updated_at)
	       SELECT id, '\''RUB'\'', 1, CASE external_id WHEN '\''A'\'' THEN 100 ELSE 50.5 END,
	       '\''2026-11-23'\'' FROM customers WHERE external_id IN ('\''A'\'', '\''C'\'')" &&
	run 0 crm-report -f csv summary &&
	expect_eq 75.25 "$(sed -n 2p out | cut -d, -f15)"
'

test_expect 'json and table formats' '
	run 0 crm-report -f jsonl summary &&
	expect_grep "{\"currency\":\"RUB\",\"customers\":5,\"buyers\":4,\"repeat_buyers\":2,\"repeat_rate\":0.5," out &&
	expect_grep "\"aov\":68.33," out &&
	run 0 crm-report -f table summary &&
	grep -q "^repeat_rate  *50.0%  *0.0%$" out
'

test_expect 'a customer paying RUB, then USD, then RUB again is one buyer in each' '
	printf "order_id,customer_id,ordered_at,amount,currency\nF1,F,2026-01-01,1.00,RUB\nF2,F,2026-02-01,2.00,USD\nF3,F,2026-03-01,3.00,RUB\n" >f.csv &&
	run 0 crm-import orders f.csv &&
	run 0 crm-report -f csv --where "id = \"F\"" summary &&
	expect_eq "RUB,1,1,1,1,2,4,2,2,0,0,1,,0," "$(sed -n 2p out)" &&
	expect_eq "USD,1,1,0,0,1,2,2,1,0,0,1,,0," "$(sed -n 3p out)" &&
	expect_eq 3 "$(wc -l <out)"
'

test_done
