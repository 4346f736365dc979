#!/bin/sh
# crm-score on a real retailer (issue 16's acceptance): the UK gift
# retailer's year of invoices (tests/fixtures/online-retail, CC BY 4.0),
# where half the buyers ordered once and BG/NBD's a runs off to 0 at most
# month ends. Every month end gets scores from a model, said by name;
# RFM uses every frequency score and puts no one-order buyer among the
# champions; a holdout prints its error.
. "$CRM_TOP/tests/lib.sh"

CRM_NOW='2011-12-10 00:00:00'
export CRM_NOW

test_expect 'setup: the year of invoices, as published (M/D/YYYY dates, refunds)' '
	xz -dc "$FIX/online-retail/orders_fullyear.csv.xz" >orders.csv &&
	run 0 crm-import orders --currency GBP orders.csv &&
	expect_eq 4372 "$(sql "SELECT count(DISTINCT customer_id) FROM orders")"
'

# the customers with a purchase up to each month end, counted in SQL
test_expect 'clv at every month end from March to November: scores for every buyer, the model named' '
	for m in 2011-03-31 2011-04-30 2011-05-31 2011-06-30 2011-07-31 2011-08-31 \
		 2011-09-30 2011-10-31 2011-11-30; do
		run 0 crm-score clv --as-of $m -f csv || exit 1
		buyers=$(sql "SELECT count(DISTINCT customer_id) FROM orders WHERE purchase = 1
			AND ordered_at <= '\''$m 23:59:59'\''")
		expect_eq "$buyers|$buyers|$buyers" "$(sql "SELECT count(*), count(p_alive), count(clv)
			FROM scores WHERE clv_model_id IS NOT NULL")" || exit 1
		expect_eq "$buyers" "$(val clv customers)" || exit 1
		kind=$(val bgnbd model)
		case $kind in bgnbd | nbd | bgnbd_constant_dropout) ;; *) exit 1 ;; esac
		if [ "$kind" != bgnbd ]; then
			expect_grep "fitted as its limit" err || exit 1
		fi
		echo "$m $kind" >>kinds
	done &&
	expect_eq 9 "$(wc -l <kinds)" &&
	grep -q " nbd$" kinds
'

test_expect 'rfm: every frequency score used, one-order buyers never champions or loyal' '
	run 0 crm-score rfm --as-of 2011-12-09 -f csv &&
	expect_grep "rfm: frequency: ties left a score empty; scored by groups of equal values" err &&
	expect_eq "1 2 3 4 5" "$(sql "SELECT group_concat(f, '\'' '\'') FROM (SELECT DISTINCT f FROM scores
		WHERE f IS NOT NULL ORDER BY f)")" &&
	expect_eq 0 "$(sql "SELECT count(*) FROM scores WHERE frequency = 1 AND rfm_segment IN
		('\''champions'\'', '\''loyal'\'', '\''potential_loyalist'\'')")" &&
	expect_eq 1 "$(sql "SELECT count(*) > 0 FROM scores WHERE rfm_segment = '\''new'\''")" &&
	expect_eq 1 "$(sql "SELECT count(*) > 0 FROM scores WHERE rfm_segment = '\''promising'\''")"
'

# The table of crm-score.1 (RFM ON REAL DATA): each segment's size on the
# whole year as of 2011-12-10, the frequency groups, and the published
# recipe's R x F map applied to these scores
test_expect 'rfm on the whole year: the segment sizes crm-score.1 shows' '
	run 0 crm-score rfm --as-of 2011-12-10 -f csv &&
	cat >want <<-\EOF2 &&
	champions,878
	loyal,539
	potential_loyalist,407
	new,67
	promising,170
	need_attention,177
	about_to_sleep,374
	at_risk,503
	cannot_lose,72
	hibernating,432
	lost,720
	EOF2
	sed 1d out | cut -d, -f1,2 >got &&
	expect_same want got &&
	expect_eq "1|1|1|1494 2|2|2|835 3|3|3|508 4|4|6|802 5|7|210|700" "$(sql "SELECT f, min(frequency),
		max(frequency), count(*) FROM scores GROUP BY f" | tr "\n" " " | sed "s/ $//")" &&
	expect_eq "869 858 863 881 868" "$(sql "SELECT count(*) FROM scores GROUP BY r ORDER BY r" | tr "\n" " " | sed "s/ $//")" &&
	expect_eq "about_to_sleep|478 at_risk|357 cant_loose|35 champions|604 hibernating|1335 loyal|688 need_attention|121 new|67 potential_loyalists|484 promising|170" \
		"$(sql "SELECT CASE WHEN r <= 2 AND f <= 2 THEN '\''hibernating'\'' WHEN r <= 2 AND f <= 4 THEN '\''at_risk'\''
		WHEN r <= 2 THEN '\''cant_loose'\'' WHEN r = 3 AND f <= 2 THEN '\''about_to_sleep'\''
		WHEN r = 3 AND f = 3 THEN '\''need_attention'\'' WHEN r IN (3, 4) AND f >= 4 THEN '\''loyal'\''
		WHEN r = 4 AND f = 1 THEN '\''promising'\'' WHEN r = 5 AND f = 1 THEN '\''new'\''
		WHEN f IN (2, 3) THEN '\''potential_loyalists'\'' ELSE '\''champions'\'' END AS g, count(*)
		FROM scores GROUP BY g ORDER BY g" | tr "\n" " " | sed "s/ $//")"
'

test_expect 'a holdout split: the error is printed, --model auto picks by it' '
	run 0 crm-score clv --as-of 2011-08-31 --holdout-end 2011-11-30 --model auto -f csv &&
	grep -q "^crm-score: model auto: nbd holdout mean absolute error [0-9.]*, pareto" err &&
	grep -q "purchases predicted, [0-9]* made ([-+][0-9.]*%); per customer: mean absolute error" err &&
	expect_eq total "$(tail -1 out | cut -d, -f1)"
'

test_done
