#!/bin/sh
# crm-score clv: what the CDNOW reproduction does not cover. One-time
# buyers and one-order customers, refunds, zero spend, too little data,
# a failed run keeping the previous scores, past as-of dates and stale
# rows, dry runs, RFM and CLV side by side in one row per customer.
. "$CRM_TOP/tests/lib.sh"

# a digest of the stored scores
digest() {
	sql "SELECT * FROM scores ORDER BY customer_id" | cksum
}

test_expect 'setup: CDNOW, and the published fit as a reference' '
	cdnow_orders "$FIX/cdnow/CDNOW_sample.txt" >cdnow.csv &&
	run 0 crm-import orders cdnow.csv &&
	run 0 crm-score -n clv --as-of 1997-09-30 -f csv &&
	val bgnbd r >r.ref && val gamma_gamma p >p.ref &&
	near "$(cat r.ref)" 0.2426 0.00005 r
'

test_expect 'refunded, cancelled and returned orders change nothing' '
	cat >refunds.csv <<-\EOF &&
	order_id,customer_id,ordered_at,amount,currency,status
	R1,C0001,1997-05-05,500.00,USD,refunded
	R2,C0002,1997-06-06,80.00,USD,cancelled
	R3,C0003,1997-07-07,20.00,USD,returned
	EOF
	run 0 crm-import orders refunds.csv &&
	run 0 crm-score -n clv --as-of 1997-09-30 -f csv &&
	expect_eq "$(cat r.ref)" "$(val bgnbd r)" &&
	expect_eq "$(cat p.ref)" "$(val gamma_gamma p)"
'

test_expect 'a repeat buyer with zero spend is left out of the spend model, and counted' '
	printf "customer_id,ordered_at,amount,currency\nZERO,1997-02-01,0,USD\nZERO,1997-03-01,0.00,USD\n" >zero.csv &&
	run 0 crm-import orders zero.csv &&
	run 0 crm-score clv --as-of 1997-09-30 -f csv &&
	expect_eq "2358|947" "$(val bgnbd customers)|$(val bgnbd repeat_buyers)" &&
	expect_eq "946|1" "$(val gamma_gamma customers)|$(val gamma_gamma excluded_zero_spend)" &&
	expect_grep "left out of the spend model: 1" err &&
	expect_eq 1 "$(sql "SELECT json_extract(stats, '\''$.excluded_zero_spend'\'') FROM models
		WHERE kind = '\''gamma_gamma'\''")"
'

# with x = 1 and an average of 0: p gamma / (p + q - 1)
test_expect 'its expected spend is the model'\''s for x = 1 and an average of 0' '
	expect_eq 1 "$(sql "SELECT abs(s.expected_spend - json_extract(m.params, '\''$.p'\'') *
		json_extract(m.params, '\''$.gamma'\'') / (json_extract(m.params, '\''$.p'\'') +
		json_extract(m.params, '\''$.q'\'') - 1)) < 1e-9
		FROM scores s JOIN customers c ON c.id = s.customer_id
		JOIN models m ON m.id = s.spend_model_id WHERE c.external_id = '\''ZERO'\''")"
'

# C0004 bought once, on 1997-01-01 (13.97), and never again
test_expect 'a one-order customer: alive for sure, the population mean spend' '
	expect_eq 1 "$(sql "SELECT count(*) FROM orders o JOIN customers c ON c.id = o.customer_id
		WHERE c.external_id = '\''C0004'\''")" &&
	expect_eq "1.0|0.0" "$(sql "SELECT p_alive, churn_risk FROM scores s JOIN customers c
		ON c.id = s.customer_id WHERE c.external_id = '\''C0004'\''")" &&
	expect_eq 1 "$(sql "SELECT abs(s.expected_spend - json_extract(m.params, '\''$.p'\'') *
		json_extract(m.params, '\''$.gamma'\'') / (json_extract(m.params, '\''$.q'\'') - 1)) < 1e-9
		FROM scores s JOIN customers c ON c.id = s.customer_id
		JOIN models m ON m.id = s.spend_model_id WHERE c.external_id = '\''C0004'\''")"
'

# Two customers with the same first day and number of purchase days: the
# one whose last purchase is later is more likely alive.
test_expect 'P(alive) falls with the time since the last purchase' '
	expect_eq 1 "$(sql "SELECT count(*) > 100 FROM scores WHERE p_alive < 0.3")" &&
	sql "CREATE TEMP TABLE h AS SELECT s.customer_id AS id, s.p_alive AS pa,
		count(DISTINCT date(o.ordered_at)) AS n, min(o.ordered_at) AS first,
		max(o.ordered_at) AS last FROM scores s JOIN orders o ON o.customer_id = s.customer_id
		AND o.status = '\''completed'\'' AND o.ordered_at < '\''1997-10-01'\''
		GROUP BY s.customer_id;
	     SELECT count(*) > 1000, sum(b.pa <= a.pa) FROM h a JOIN h b
		ON a.n = b.n AND a.first = b.first AND date(a.last) < date(b.last) WHERE a.n > 1" >pairs &&
	expect_eq "1|0" "$(cat pairs)"
'

test_expect 'too few repeat buyers: exit 1 with the reason; the scores stay as they were' '
	digest >before.sum &&
	models=$(sql "SELECT count(*) FROM models") &&
	run 1 crm-score clv --as-of 1997-01-08 &&
	expect_eq "crm-score: 3 of 175 customers made a repeat purchase up to 1997-01-08 23:59:59: the models need at least 10 (nothing written)" "$(cat err)" &&
	expect_eq "$(cat before.sum)" "$(digest)" &&
	expect_eq "$models" "$(sql "SELECT count(*) FROM models")"
'

test_expect 'three weeks of history cannot identify the model: refused, nothing written' '
	run 1 crm-score clv --as-of 1997-01-25 &&
	expect_grep "crm-score: no BG/NBD fit to the orders up to 1997-01-25 23:59:59: parameter a runs off to 0" err &&
	expect_grep "nothing written" err &&
	expect_eq "$(cat before.sum)" "$(digest)"
'

# the cohort's first purchases run to 1997-03-25
test_expect 'a past as-of: only the customers who had bought by then keep scores' '
	run 0 crm-score clv --as-of 1997-03-15 -f csv &&
	buyers=$(sql "SELECT count(DISTINCT customer_id) FROM orders WHERE ordered_at <= '\''1997-03-15 23:59:59'\''
		AND status = '\''completed'\''") &&
	test "$buyers" -lt 2357 && echo "$buyers" >buyers &&
	expect_eq "$buyers" "$(val clv customers)" &&
	expect_eq "$buyers|$buyers" "$(sql "SELECT count(*), count(clv) FROM scores")" &&
	expect_eq 0 "$(sql "SELECT count(*) FROM scores s WHERE (SELECT min(ordered_at) FROM orders o
		WHERE o.customer_id = s.customer_id AND status = '\''completed'\'') > '\''1997-03-15 23:59:59'\''")" &&
	expect_eq "1997-03-15 23:59:59" "$(sql "SELECT DISTINCT m.as_of FROM scores s JOIN models m ON m.id = s.clv_model_id")"
'

test_expect 'RFM and CLV share one row per customer; each run keeps the other'\''s columns' '
	run 0 crm-score rfm --as-of 1997-09-30 -f csv &&
	expect_eq 2358 "$(sql "SELECT count(*) FROM scores")" &&
	expect_eq "$(cat buyers)" "$(sql "SELECT count(*) FROM scores WHERE clv IS NOT NULL AND rfm IS NOT NULL")" &&
	run 0 crm-score clv --as-of 1997-09-30 -f csv &&
	expect_eq "2358|2358|2358" "$(sql "SELECT count(*), count(rfm), count(clv) FROM scores")" &&
	expect_eq "" "$(sql "PRAGMA foreign_key_check")"
'

test_expect '--dry-run prints the fit and writes nothing' '
	digest >before.sum &&
	models=$(sql "SELECT count(*) FROM models") &&
	run 0 crm-score -n clv --as-of 1997-06-30 --horizon 26w -f csv &&
	expect_eq 182 "$(val clv horizon_days)" &&
	expect_grep "dry run, nothing written" err &&
	expect_eq "$(cat before.sum)" "$(digest)" &&
	expect_eq "$models" "$(sql "SELECT count(*) FROM models")"
'

test_expect 'orders in two currencies need --currency' '
	printf "customer_id,ordered_at,amount,currency\nC0001,1997-03-03,10,EUR\n" >eur.csv &&
	run 0 crm-import orders eur.csv &&
	usd=$(sql "SELECT count(*) FROM orders WHERE currency = '\''USD'\'' AND status = '\''completed'\''
		AND ordered_at <= '\''1997-09-30 23:59:59'\''") &&
	run 1 crm-score clv --as-of 1997-09-30 &&
	expect_eq "crm-score: completed orders in 2 currencies up to 1997-09-30 23:59:59 (USD $usd, EUR 1): choose one with --currency" "$(cat err)" &&
	run 0 crm-score clv --as-of 1997-09-30 --currency USD -f csv &&
	expect_eq USD "$(val clv currency)" &&
	expect_eq 2358 "$(val clv customers)"
'

test_done
