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

# Three weeks of history: BG/NBD's a runs off to 0 (the data show no
# dropout); the limit is a model of its own, fitted and used. Checked
# independently: the stored parameters maximise the limit model's
# likelihood (written out in Python) and give the stored LL.
test_expect 'three weeks of history: the fit runs to a limit, and the limit model answers' '
	run 0 crm-score clv --as-of 1997-01-25 -f csv &&
	expect_grep "crm-score: BG/NBD: parameter a runs off to 0: fitted as its limit" err &&
	kind=$(val bgnbd model) &&
	case $kind in nbd | bgnbd_constant_dropout) ;; *) false ;; esac &&
	expect_eq "$kind" "$(sql "SELECT coalesce(json_extract(params, '\''$.model'\''), '\''bgnbd'\'')
		FROM models WHERE kind = '\''bgnbd'\'' ORDER BY id DESC LIMIT 1")" &&
	n=$(val clv customers) && test "$n" -gt 500 &&
	expect_eq "$n|$n|$n" "$(sql "SELECT count(*), count(p_alive), count(clv) FROM scores")" &&
	if [ "$kind" = nbd ]; then
		expect_eq "1.0|0.0" "$(sql "SELECT min(p_alive), max(churn_risk) FROM scores")"
	fi &&
	sql "SELECT params, log_likelihood FROM models WHERE kind = '\''bgnbd'\''
		ORDER BY id DESC LIMIT 1" >lim &&
	/usr/bin/python3 - "$FIX/cdnow/CDNOW_sample.txt" lim "$(val clv period)" >py.out <<-\EOF &&
	import json, math, os, sys; sys.path.insert(0, os.environ["CRM_TOP"] + "/tests"); import cdnow
	params, stored = open(sys.argv[2]).read().rsplit("|", 1)
	p = json.loads(params)
	rows = cdnow.rows(sys.argv[1], "1997-01-25", 7 if sys.argv[3] == "week" else 1)
	def ll(v):
	    r, al, q = v; tot = 0
	    for x, t, T in rows:
	        A = math.lgamma(r + x) - math.lgamma(r) + r * math.log(al)
	        l = (1 - q) ** x * math.exp(A - (r + x) * math.log(al + T))
	        if x and q: l += q * (1 - q) ** (x - 1) * math.exp(A - (r + x) * math.log(al + t))
	        tot += math.log(l)
	    return tot
	v = [p["r"], p["alpha"], p.get("p", 0)]
	print("%d %.6f" % (cdnow.best_nearby(ll, v, tol=1e-6), ll(v) - float(stored)))
	EOF
	set -- $(cat py.out) &&
	expect_eq 1 "$1" &&
	near "$2" 0 1e-6 "Python LL of the stored limit model minus the stored LL"
'

# Every order of the same price: the within-customer spread is nil, the
# Gamma-Gamma p runs off to infinity and no spend model fits. P(alive)
# and expected orders stand; the clv takes each repeat buyer's own mean
# spend on repeat purchase days, and the mean of those for the others.
test_expect 'no spend model fits: P(alive) and expected orders stand, clv from mean spend' '
	cdnow_orders "$FIX/cdnow/CDNOW_sample.txt" | awk -F, -v OFS=, "NR > 1 { \$3 = 10 } 1" >same.csv &&
	run 0 crm-import --db same.db orders same.csv &&
	run 0 crm-score --db same.db clv --as-of 1997-09-30 -f csv &&
	expect_grep "crm-score: warning: no Gamma-Gamma fit: parameter p runs off to infinity" err &&
	expect_grep "the clv uses each repeat buyer'\''s own mean spend" err &&
	expect_eq own_mean "$(val clv spend)" &&
	expect_eq "" "$(val gamma_gamma p)" &&
	expect_eq "2357|2357|2357|2357|0" "$(sqlite3 same.db "SELECT count(*), count(p_alive),
		count(expected_orders), count(clv), count(spend_model_id) FROM scores")" &&
	expect_eq "own_mean" "$(sqlite3 same.db "SELECT json_extract(stats, '\''$.spend'\'')
		FROM models WHERE kind = '\''bgnbd'\''")" &&
	sqlite3 same.db "CREATE TEMP TABLE d AS SELECT customer_id AS c, date(ordered_at) AS day,
		sum(amount) / 100.0 AS v FROM orders WHERE ordered_at <= '\''1997-09-30 23:59:59'\''
		GROUP BY 1, 2;
	     CREATE TEMP TABLE m AS SELECT c, avg(v) AS mean FROM d
		WHERE day > (SELECT min(day) FROM d d2 WHERE d2.c = d.c) GROUP BY c;
	     SELECT count(*), sum(abs(s.expected_spend - m.mean) < 1e-9) FROM scores s
		JOIN m ON m.c = s.customer_id;
	     SELECT count(DISTINCT s.expected_spend), abs(max(s.expected_spend) -
		(SELECT avg(mean) FROM m)) < 1e-9 FROM scores s WHERE s.customer_id NOT IN
		(SELECT c FROM m)" >mean.out &&
	expect_eq "946|946
1|1" "$(cat mean.out)"
'

# --penalty L: the fit maximises LL/N - L (sum of the squared log
# parameters); checked in Python on the stored parameters (every step
# away lowers that objective), with the stored LL the plain likelihood
test_expect '--penalty: a penalised fit, the plain LL stored, 0 the same as none' '
	run 0 crm-score -n clv --as-of 1997-09-30 -f csv &&
	val bgnbd r >r.none &&
	run 0 crm-score -n clv --as-of 1997-09-30 --penalty 0 -f csv &&
	expect_eq "$(cat r.none)" "$(val bgnbd r)" &&
	run 2 crm-score clv --penalty -1 &&
	expect_grep "invalid --penalty \"-1\"" err &&
	run 2 crm-score rfm --penalty 0.1 &&
	expect_grep "penalty goes with clv" err &&
	run 0 crm-import --db pen.db orders cdnow.csv &&
	run 0 crm-score --db pen.db clv --as-of 1997-09-30 --penalty 0.01 -f csv &&
	expect_eq 0.01 "$(val clv penalty)" &&
	sqlite3 pen.db "SELECT params, log_likelihood, json_extract(stats, '\''$.penalty'\'')
		FROM models WHERE kind = '\''bgnbd'\''" >pen &&
	/usr/bin/python3 - "$FIX/cdnow/CDNOW_sample.txt" pen >py.out <<-\EOF &&
	import json, math, os, sys; sys.path.insert(0, os.environ["CRM_TOP"] + "/tests"); import cdnow
	params, stored, L = open(sys.argv[2]).read().strip().split("|")
	p = json.loads(params); L = float(L)
	rows = cdnow.rows(sys.argv[1], "1997-09-30", 7)
	def obj(v):
	    return cdnow.bgnbd_ll(rows, *v) / len(rows) - L * sum(math.log(z) ** 2 for z in v)
	v = [p["r"], p["alpha"], p["a"], p["b"]]; ll = cdnow.bgnbd_ll(rows, *v)
	print("%d %.6f %d" % (cdnow.best_nearby(obj, v, tol=1e-12), ll - float(stored), ll < -9582.43))
	EOF
	set -- $(cat py.out) &&
	expect_eq "1 1" "$1 $3" &&
	near "$2" 0 1e-6 "Python LL of the stored penalised fit minus the stored LL"
'

# A tiny, uniform base (30 customers, every third bought again a month
# later): BG/NBD and its limits run off; a small penalty gives the answer,
# said and recorded
test_expect 'no fit without a penalty: fitted with --penalty 0.001, said and recorded' '
	{
		echo "customer_id,ordered_at,amount,currency"
		for i in $(seq 1 30); do
			d=$((i % 9 + 1))
			echo "D$i,2026-01-0$d,10,EUR"
			[ $((i % 3)) = 0 ] && echo "D$i,2026-02-0$d,12,EUR"
		done
	} >tiny.csv &&
	run 0 crm-import --db tiny.db orders tiny.csv &&
	run 0 crm-score --db tiny.db clv --as-of 2026-03-01 -f csv &&
	expect_grep "crm-score: warning: no fit without a penalty (parameter b runs off to 0): fitted with --penalty 0.001" err &&
	expect_eq 0.001 "$(val clv penalty)" &&
	expect_eq "30|30|0.001" "$(sqlite3 tiny.db "SELECT count(*), count(clv),
		(SELECT json_extract(stats, '\''$.penalty'\'') FROM models WHERE kind = '\''bgnbd'\'')
		FROM scores")"
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
	expect_eq "crm-score: completed orders in 2 currencies up to 1997-09-30 23:59:59 (USD $usd, EUR 1): choose one with --currency, or give exchange rates with crm-import rates" "$(cat err)" &&
	run 0 crm-score clv --as-of 1997-09-30 --currency USD -f csv &&
	expect_eq USD "$(val clv currency)" &&
	expect_eq 2358 "$(val clv customers)" &&
	expect_eq "USD|2358" "$(sql "SELECT currency, count(*) FROM currency_scores WHERE clv IS NOT NULL GROUP BY 1")" &&
	expect_eq 0 "$(sql "SELECT count(*) FROM scores s JOIN currency_scores u ON u.customer_id = s.customer_id
		AND u.currency = '\''USD'\'' WHERE s.clv IS NOT u.clv OR s.p_alive IS NOT u.p_alive")"
'

test_done
