#!/bin/sh
# crm-report rfm, ltv and budget: value per RFM segment, per city or
# attribute, and the yearly CRM budget per customer.
. "$CRM_TOP/tests/lib.sh"

# Six buyers in RUB (completed orders up to 2026-11-23 12:00:00):
#   A Kazan  pro   2026-11-01 100, 2026-06-01 50      last 365 days: 150
#   B Kazan  free  2026-10-01 200                                    200
#   C Moscow pro   2025-01-01 300 (more than a year ago)               0
#   D Moscow free  2026-11-20 40, 2026-11-21 60, 2026-09-01 999 refunded  100
#   E Omsk   -     2024-05-05 10                                       0
#   F Omsk   pro   2026-08-08 25                                      25
test_expect 'setup, and crm-score rfm' '
	cat >c.csv <<-\EOF2 &&
	customer_id,email,city,plan
	A,a@example.com,Kazan,pro
	B,b@example.com,Kazan,free
	C,c@example.com,Moscow,pro
	D,d@example.com,Moscow,free
	E,e@example.com,Omsk,
	F,f@example.com,Omsk,pro
	G,g@example.com,Omsk,pro
	EOF2
	cat >o.csv <<-\EOF2 &&
	order_id,customer_id,ordered_at,amount,currency,status
	1,A,2026-11-01,100,RUB,
	2,A,2026-06-01,50,RUB,
	3,B,2026-10-01,200,RUB,
	4,C,2025-01-01,300,RUB,
	5,D,2026-11-20,40,RUB,
	6,D,2026-11-21,60,RUB,
	7,D,2026-09-01,999,RUB,refunded
	8,E,2024-05-05,10,RUB,
	9,F,2026-08-08,25,RUB,
	EOF2
	run 0 crm-import customers c.csv &&
	run 0 crm-import orders o.csv
'

test_expect 'rfm without scores says how to get them' '
	run 1 crm-report rfm &&
	expect_grep "no rfm scores" err &&
	expect_grep "crm-score rfm" err
'

test_expect 'rfm: customers and revenue per segment, as in the scores table' '
	run 0 crm-score rfm &&
	run 0 crm-report -f csv rfm &&
	expect_eq "segment,customers,customer_share,revenue,revenue_share,avg_recency_days,avg_frequency,avg_monetary,avg_clv,currency" "$(head -1 out)" &&
	sql "SELECT rfm_segment, count(*), sum(monetary) FROM scores GROUP BY 1" | sort >want &&
	sed 1d out | awk -F, "{ printf \"%s|%s|%s\n\", \$1, \$2, \$4 }" | sed "s/|\([0-9]*\)$/|\1.0/" | sort >got &&
	expect_same want got &&
	expect_eq 6 "$(sed 1d out | awk -F, "{ n += \$2 } END { print n }")" &&
	expect_eq 1 "$(sed 1d out | awk -F, "{ s += \$5 } END { printf \"%.3f\", s }" | sed "s/1.000/1/")"
'

test_expect 'ltv --by city: historic revenue per city, by hand' '
	run 0 crm-report -f csv ltv --by city &&
	cat >want <<-\EOF2 &&
	city,customers,historic_revenue,historic_avg,scored,predicted_clv,predicted_avg,currency
	Moscow,2,400,200,0,,,RUB
	Kazan,2,350,175,0,,,RUB
	Omsk,2,35,17.5,0,,,RUB
	(all),6,785,130.83,0,,,RUB
	EOF2
	expect_same want out &&
	expect_grep "no CLV scores" err
'

test_expect 'ltv --by attr.plan, with predicted CLV where scored' '
	sql "INSERT INTO models(id, kind, params, customers, as_of, currency, fitted_at)
	       VALUES (90, '\''bgnbd'\'', '\''{}'\'', 3, '\''2026-11-23'\'', '\''RUB'\'', '\''2026-11-23'\'');
	     UPDATE currency_scores SET clv_model_id = 90, clv = CASE (SELECT external_id FROM customers
	       WHERE id = customer_id) WHEN '\''A'\'' THEN 120 WHEN '\''C'\'' THEN 30 WHEN '\''B'\'' THEN 80 END
	     WHERE currency = '\''RUB'\'' AND customer_id IN (SELECT id FROM customers
	       WHERE external_id IN ('\''A'\'', '\''B'\'', '\''C'\''))" &&
	run 0 crm-report -f csv ltv --by attr.plan &&
	cat >want <<-\EOF2 &&
	attr.plan,customers,historic_revenue,historic_avg,scored,predicted_clv,predicted_avg,currency
	pro,3,475,158.33,2,150,75,RUB
	free,2,300,150,1,80,80,RUB
	(unknown),1,10,10,0,,,RUB
	(all),6,785,130.83,3,230,76.67,RUB
	EOF2
	expect_same want out
'

test_expect 'ltv --by segment and --by cohort name their groups' '
	run 0 crm-report -f csv ltv &&
	expect_eq segment "$(head -1 out | cut -d, -f1)" &&
	run 0 crm-report -f csv ltv --by cohort &&
	expect_eq "2025-01,1,300,300,1,30,30,RUB" "$(grep "^2025-01," out)"
'

test_expect 'budget: revenue of the last year per buyer, times margin, times share' '
	# last 365 days: 150 + 200 + 0 + 100 + 0 + 25 = 475 over 6 buyers = 79.17;
	# profit at 30%: 23.75; budget at 10%: 2.375 -> 2.38; total 475 * 0.03 = 14.25
	run 0 crm-report -f csv budget &&
	expect_eq "segment,customers,revenue_365d,revenue_per_customer,profit_per_customer,budget_per_customer,budget_total,currency" "$(head -1 out)" &&
	expect_eq "(all),6,475,79.17,23.75,2.38,14.25,RUB" "$(sed -n 2p out)" &&
	expect_eq 6 "$(sed "1,2d" out | awk -F, "{ n += \$2 } END { print n }")" &&
	run 0 crm-report -f csv budget --margin 50% --share 0.2 &&
	expect_eq "(all),6,475,79.17,39.58,7.92,47.5,RUB" "$(sed -n 2p out)"
'

test_expect 'budget --where: the customers of Kazan' '
	run 0 crm-report -f csv budget --where "city = \"Kazan\"" &&
	expect_eq "(all),2,350,175,52.5,5.25,10.5,RUB" "$(sed -n 2p out)"
'

test_done
