#!/bin/sh
# crm-score clv reproduces Fader, Hardie & Lee (2005) on the CDNOW sample
# (tests/fixtures/cdnow): the transactions are converted to an orders CSV,
# imported with crm-import, scored, and the printed and stored results are
# compared with the papers' Table 2 (BG/NBD), the Gamma-Gamma fit of
# "RFM and CLV", and the holdout figures.
. "$CRM_TOP/tests/lib.sh"

test_expect 'setup: the 6919 CDNOW transactions go in through crm-import' '
	cdnow_orders "$FIX/cdnow/CDNOW_sample.txt" >cdnow.csv &&
	run 0 crm-import orders cdnow.csv &&
	expect_eq 6919 "$(sql "SELECT count(*) FROM orders")" &&
	expect_eq 2357 "$(sql "SELECT count(*) FROM customers")"
'

test_expect 'clv on the calibration period (to 1997-09-30, weeks): the BG/NBD of the paper' '
	run 0 crm-score clv --as-of 1997-09-30 -f csv &&
	head -1 out | grep -qx "model,parameter,value" &&
	near "$(val bgnbd r)" 0.2426 0.00005 r &&
	near "$(val bgnbd alpha)" 4.414 0.0005 alpha &&
	near "$(val bgnbd a)" 0.7929 0.0008 a &&
	near "$(val bgnbd b)" 2.426 0.0024 b &&
	near "$(val bgnbd log_likelihood)" -9582.43 0.005 "log-likelihood" &&
	# standard errors from the Hessian, as lifetimes prints them for
	# these data (0.01, 0.38, 0.19, 0.71)
	expect_eq "0.01 0.38 0.19 0.71" "$(printf "%.2f %.2f %.2f %.2f" "$(val bgnbd r_se)" \
		"$(val bgnbd alpha_se)" "$(val bgnbd a_se)" "$(val bgnbd b_se)")" &&
	expect_eq 2357 "$(val bgnbd customers)" &&
	expect_eq 946 "$(val bgnbd repeat_buyers)" &&
	expect_eq 1 "$(val bgnbd converged)"
'

test_expect 'and the Gamma-Gamma of "RFM and CLV" on the 946 repeat buyers' '
	near "$(val gamma_gamma p)" 6.25 0.005 p &&
	near "$(val gamma_gamma q)" 3.74 0.005 q &&
	near "$(val gamma_gamma gamma)" 15.44 0.005 gamma &&
	near "$(val gamma_gamma log_likelihood)" -4055.92 0.005 "log-likelihood" &&
	# lifetimes: p 6.25 (1.19), q 3.74 (0.29), v 15.44 (4.16)
	expect_eq "1.19 0.29 4.16" "$(printf "%.2f %.2f %.2f" "$(val gamma_gamma p_se)" \
		"$(val gamma_gamma q_se)" "$(val gamma_gamma gamma_se)")" &&
	expect_eq 946 "$(val gamma_gamma customers)" &&
	expect_eq 0 "$(val gamma_gamma excluded_zero_spend)" &&
	expect_eq 1 "$(val gamma_gamma converged)" &&
	expect_eq "1997-09-30 23:59:59" "$(val clv as_of)" &&
	expect_eq "1997-01-01 00:00:00" "$(val clv data_from)" &&
	expect_eq USD "$(val clv currency)" &&
	expect_eq week "$(val clv period)" &&
	expect_eq 364 "$(val clv horizon_days)" &&
	expect_eq 0.1 "$(val clv discount)" &&
	expect_eq 2357 "$(val clv customers)" &&
	expect_grep "BG/NBD converged in" err &&
	expect_grep "Gamma-Gamma converged in" err
'

test_expect 'the models are stored with parameters, LL, window and settings' '
	expect_eq "bgnbd|2357|1997-09-30 23:59:59|1997-01-01 00:00:00|week|364|0.1|USD|1|2026-11-23 12:00:00
gamma_gamma|946|1997-09-30 23:59:59|1997-01-01 00:00:00|week|364|0.1|USD|1|2026-11-23 12:00:00" \
		"$(sql "SELECT kind, customers, as_of, data_from, period, horizon_days, discount,
			currency, converged, fitted_at FROM models ORDER BY id")" &&
	near "$(sql "SELECT json_extract(params, '\''$.r'\'') FROM models WHERE kind = '\''bgnbd'\''")" \
		0.2426 0.00005 "stored r" &&
	near "$(sql "SELECT json_extract(params, '\''$.b'\'') FROM models WHERE kind = '\''bgnbd'\''")" \
		2.426 0.0024 "stored b" &&
	near "$(sql "SELECT log_likelihood FROM models WHERE kind = '\''bgnbd'\''")" -9582.43 0.005 "stored LL" &&
	near "$(sql "SELECT json_extract(params, '\''$.q'\'') FROM models WHERE kind = '\''gamma_gamma'\''")" \
		3.74 0.005 "stored q" &&
	near "$(sql "SELECT log_likelihood FROM models WHERE kind = '\''gamma_gamma'\''")" -4055.92 0.005 \
		"stored Gamma-Gamma LL" &&
	expect_eq 946 "$(sql "SELECT json_extract(stats, '\''$.repeat_buyers'\'') FROM models WHERE kind = '\''bgnbd'\''")" &&
	expect_eq 1 "$(sql "SELECT fit_seconds >= 0 FROM models WHERE kind = '\''bgnbd'\''")"
'

test_expect 'every customer has finite scores pointing at the two models' '
	expect_eq "2357|2357|2357|2357|2357" "$(sql "SELECT count(*), count(p_alive), count(expected_orders),
		count(clv), count(expected_spend) FROM scores")" &&
	expect_eq 0 "$(sql "SELECT count(*) FROM scores WHERE p_alive < 0 OR p_alive > 1
		OR abs(churn_risk - (1 - p_alive)) > 1e-12 OR expected_orders < 0 OR clv < 0
		OR clv_model_id != (SELECT id FROM models WHERE kind = '\''bgnbd'\'')
		OR spend_model_id != (SELECT id FROM models WHERE kind = '\''gamma_gamma'\'')")" &&
	expect_eq "" "$(sql "PRAGMA foreign_key_check")"
'

test_expect 'no repeat purchase: P(alive) is 1; printed totals are the stored ones' '
	expect_eq "1411|1.0|1.0" "$(sql "SELECT count(*), min(p_alive), max(p_alive) FROM scores s
		WHERE (SELECT count(DISTINCT date(ordered_at)) FROM orders o
		       WHERE o.customer_id = s.customer_id AND ordered_at <= '\''1997-09-30 23:59:59'\'') = 1")" &&
	near "$(val clv total_clv)" "$(sql "SELECT sum(clv) FROM scores")" 1e-6 "total clv" &&
	near "$(val clv expected_orders)" "$(sql "SELECT sum(expected_orders) FROM scores")" 1e-8 \
		"total expected orders" &&
	near "$(val clv revenue)" 173115.55 0.001 "calibration revenue"
'

test_expect 'an independent check in Python: summary and LL of the stored parameters' '
	sql "SELECT params FROM models WHERE kind = '\''bgnbd'\''" >params.json &&
	/usr/bin/python3 - "$FIX/cdnow/CDNOW_sample.txt" params.json >py.out <<-\EOF &&
	import json, os, sys; sys.path.insert(0, os.environ["CRM_TOP"] + "/tests"); import cdnow
	p = json.load(open(sys.argv[2]))
	rows = cdnow.rows(sys.argv[1], "1997-09-30", 7)
	print("%.6f" % cdnow.bgnbd_ll(rows, p["r"], p["alpha"], p["a"], p["b"]))
	EOF
	near "$(cat py.out)" "$(sql "SELECT log_likelihood FROM models WHERE kind = '\''bgnbd'\''")" 1e-6 \
		"Python LL against crm-score"
'

test_expect 'holdout to 1998-06-30: predicted against actual, like the paper' '
	cp crm.db before.db &&
	run 0 crm-score clv --as-of 1997-09-30 --holdout-end 1998-06-30 -f csv &&
	head -1 out | grep -qx "repeat_purchases,customers,actual,predicted,actual_mean,predicted_mean" &&
	row() { awk -F, -v k="$1" -v c="$2" "\$1 == k { print \$c }" out; } &&
	expect_eq 1411 "$(row 0 2)" &&
	expect_eq 334 "$(row 0 3)" &&
	near "$(row 0 6)" 0.225 0.001 "predicted per customer, x = 0" &&
	expect_eq 100 "$(row 3 2)" &&
	near "$(row 3 6)" 1.52 0.005 "predicted per customer, x = 3" &&
	expect_eq "2357,1882" "$(row total 2),$(row total 3)" &&
	expect_eq "0 1 2 3 4 5 6 7+ total" "$(awk -F, "NR > 1 { printf \"%s \", \$1 }" out | sed "s/ \$//")" &&
	expect_grep "scores unchanged; the validation kept for crm-report holdout" err &&
	expect_eq "$(sqlite3 before.db "SELECT count(*) FROM models")" "$(sql "SELECT count(*) FROM models")" &&
	expect_eq "$(sqlite3 before.db "SELECT * FROM scores ORDER BY 1")" "$(sql "SELECT * FROM scores ORDER BY 1")" &&
	cp out printed.csv
'

# the validation kept: crm-report holdout gives the same table, the
# tracking curve and a row per run; a dry run keeps none
test_expect 'crm-report holdout: the kept validation as a table, a curve and a row per run' '
	expect_eq "bgnbd|1997-09-30 23:59:59|1998-06-30 23:59:59|week|2357|1882|USD" \
		"$(sql "SELECT model, as_of, holdout_end, period, customers, actual, currency FROM validations")" &&
	run 0 crm-report -f csv holdout &&
	cut -d, -f1-3 printed.csv >want && cut -d, -f1-3 out >got && expect_same want got &&
	paste -d, printed.csv out | awk -F, "NR > 1 { d = \$4 - \$10; if (d < 0) d = -d; if (d > 0.005) n++ } END { print n + 0 }" >bad &&
	expect_eq 0 "$(cat bad)" &&
	expect_grep "holdout validation 1: bgnbd fitted to 1997-09-30 23:59:59, holdout to 1998-06-30 23:59:59 (USD)" err &&
	expect_grep "1882 made" err &&
	run 0 crm-report -f csv holdout --by period &&
	expect_eq 78 "$(($(wc -l <out) - 1))" &&
	expect_eq "39,1997-09-30,calibration,2457" "$(grep "^39," out | cut -d, -f1-4)" &&
	expect_eq "40,1997-10-07,holdout" "$(grep "^40," out | cut -d, -f1-3)" &&
	expect_eq "78,1998-06-30,holdout,4339" "$(tail -1 out | cut -d, -f1-4)" &&
	run 0 crm-score -n clv --as-of 1997-09-30 --holdout-end 1998-06-30 -f csv &&
	expect_grep "dry run: the validation not kept" err &&
	run 0 crm-score clv --as-of 1997-06-30 --holdout-end 1998-06-30 --model pareto -f csv &&
	run 0 crm-report -f csv holdout --by run &&
	expect_eq "id,validated_at,model,as_of,holdout_end,period,customers,actual,predicted,error,mae,correlation,currency" "$(head -1 out)" &&
	expect_eq "2,pareto,1997-06-30 23:59:59 1,bgnbd,1997-09-30 23:59:59" \
		"$(sed 1d out | cut -d, -f1,3,4 | tr "\n" " " | sed "s/ $//")" &&
	err=$(awk -F, "\$1 == 1 { print \$10 }" out) &&
	expect_eq "$(awk -F, "NR > 1 && \$1 == \"total\" { printf \"%.4f\", (\$4 - \$3) / \$3 }" printed.csv)" "$err" &&
	run 2 crm-report holdout --where "true" &&
	expect_grep "no --segment, --where or --currency" err &&
	run 2 crm-report holdout --by week &&
	expect_grep "invalid --by \"week\" for holdout (frequency, period or run)" err &&
	run 1 crm-report --db before.db holdout &&
	expect_eq "crm-report: no holdout validation in before.db: run crm-score clv --as-of DATE --holdout-end DATE first" "$(cat err)"
'

test_expect 'the period changes alpha and the LL, not the predictions' '
	sql "SELECT customer_id, printf('\''%.9f %.9f %.6f'\'', p_alive, expected_orders, clv)
	     FROM scores ORDER BY customer_id" >week.txt &&
	run 0 crm-score clv --as-of 1997-09-30 --period day -f csv &&
	near "$(val bgnbd alpha)" "$(awk "BEGIN { printf \"%.8f\", 4.41360202 * 7 }")" 0.005 "alpha in days" &&
	near "$(val bgnbd r)" 0.2426 0.00005 "r in days" &&
	near "$(val bgnbd log_likelihood)" "$(awk "BEGIN { printf \"%.8f\", -9582.42920667 - 2457 * log(7) }")" 0.001 \
		"LL in days" &&
	sql "SELECT customer_id, printf('\''%.9f %.9f %.6f'\'', p_alive, expected_orders, clv)
	     FROM scores ORDER BY customer_id" >day.txt &&
	expect_same week.txt day.txt
'

# Purchases spread evenly over the year would be discounted by the mean of
# 1.1^(-s/365) over s in [0, 364], (1 - 1/1.1) / ln 1.1 = 0.954; dropouts
# move them a little earlier.
test_expect 'without discounting, clv = expected orders x expected spend' '
	run 0 crm-score clv --as-of 1997-09-30 --discount 0 -f csv &&
	expect_eq 0 "$(sql "SELECT count(*) FROM scores
		WHERE abs(clv - expected_orders * expected_spend) > 1e-9 * (1 + clv)")" &&
	sql "SELECT sum(clv) FROM scores" >nodisc.txt &&
	run 0 crm-score clv --as-of 1997-09-30 --discount 10% -f csv &&
	near "$(sql "SELECT sum(clv) / $(cat nodisc.txt) FROM scores")" 0.955 0.01 "a 10% yearly rate over a year"
'

test_expect 'three copies of every customer: the same parameters, three times the LL' '
	for k in 1 2 3; do
		cdnow_orders "$FIX/cdnow/CDNOW_sample.txt" | sed "1!s/^C/K$k/"
	done | awk "NR == 1 || !/^customer_id/" >copies.csv &&
	run 0 crm-import --db copies.db orders copies.csv &&
	run 0 crm-score --db copies.db clv --as-of 1997-09-30 -f csv &&
	near "$(val bgnbd r)" 0.242594523 0.000001 r &&
	near "$(val bgnbd alpha)" 4.41360202 0.00002 alpha &&
	near "$(val bgnbd a)" 0.792922017 0.00002 a &&
	near "$(val bgnbd b)" 2.42590678 0.0001 b &&
	near "$(val bgnbd log_likelihood)" "$(awk "BEGIN { printf \"%.8f\", 3 * -9582.42920667 }")" 0.001 "3 x LL" &&
	near "$(val gamma_gamma log_likelihood)" "$(awk "BEGIN { printf \"%.8f\", 3 * -4055.91769480 }")" 0.001 \
		"3 x Gamma-Gamma LL" &&
	expect_eq 7071 "$(val bgnbd customers)"
'

# Pareto/NBD on the same data: Fader, Hardie and Lee's note and the BTYD
# package publish r 0.553, alpha 10.58, s 0.606, beta 11.67, LL -9595.0
test_expect '--model pareto: the published Pareto/NBD fit, and scores from it' '
	run 0 crm-import --db p.db orders cdnow.csv &&
	run 0 crm-score --db p.db clv --as-of 1997-09-30 --model pareto -f csv &&
	expect_eq pareto "$(val bgnbd model)" &&
	expect_eq "0.553 10.58 0.606 11.67 -9595.0" "$(printf "%.3f %.2f %.3f %.2f %.1f" \
		"$(val bgnbd r)" "$(val bgnbd alpha)" "$(val bgnbd s)" "$(val bgnbd beta)" \
		"$(val bgnbd log_likelihood)")" &&
	expect_eq pareto "$(sqlite3 p.db "SELECT json_extract(params, '\''$.model'\'')
		FROM models WHERE kind = '\''bgnbd'\''")" &&
	expect_eq "2357|2357|1" "$(sqlite3 p.db "SELECT count(*), count(clv),
		min(p_alive) > 0 AND max(p_alive) <= 1 FROM scores")" &&
	expect_grep "Pareto/NBD converged" err
'

# MBG/NBD (Batislam et al. 2007): checked in Python, its likelihood at
# the stored parameters is the stored LL and every step away lowers it
test_expect '--model mbgnbd: its own fit, the stored parameters maximise its likelihood' '
	run 0 crm-score --db p.db clv --as-of 1997-09-30 --model mbgnbd -f csv &&
	expect_eq mbgnbd "$(val bgnbd model)" &&
	sqlite3 p.db "SELECT params, log_likelihood FROM models WHERE kind = '\''bgnbd'\''
		ORDER BY id DESC LIMIT 1" >mbg &&
	/usr/bin/python3 - "$FIX/cdnow/CDNOW_sample.txt" mbg >py.out <<-\EOF &&
	import json, math, os, sys; sys.path.insert(0, os.environ["CRM_TOP"] + "/tests"); import cdnow
	params, stored = open(sys.argv[2]).read().strip().rsplit("|", 1)
	p = json.loads(params)
	rows = cdnow.rows(sys.argv[1], "1997-09-30", 7)
	def ll(v):
	    r, al, a, b = v; tot = 0
	    for x, t, T in rows:
	        A = (math.lgamma(r + x) - math.lgamma(r) + r * math.log(al) + math.lgamma(a + b)
	             + math.lgamma(b + x + 1) - math.lgamma(b) - math.lgamma(a + b + x + 1))
	        tot += A + math.log((al + T) ** -(r + x) + a / (b + x) * (al + t) ** -(r + x))
	    return tot
	v = [p["r"], p["alpha"], p["a"], p["b"]]
	print("%d %.6f" % (cdnow.best_nearby(ll, v, (1.001, 0.999)), ll(v) - float(stored)))
	EOF
	set -- $(cat py.out) &&
	expect_eq 1 "$1" &&
	near "$2" 0 1e-6 "Python LL of the stored MBG/NBD fit minus the stored LL"
'

test_expect '--model auto: the lowest AIC, said with the BIC; an unknown model is a usage error' '
	ll=$(sqlite3 p.db "SELECT log_likelihood FROM models WHERE kind = '\''bgnbd'\''
		ORDER BY id DESC LIMIT 1") &&
	run 0 crm-score --db p.db -n clv --as-of 1997-09-30 --model auto -f csv &&
	# BIC = 4 ln 2357 - 2 LL: AIC + 4 ln 2357 - 8 = AIC + 23.06
	expect_grep "model auto: bgnbd AIC 19172.86 (BIC 19195.92), pareto AIC 19197.95 (BIC 19221.01), mbgnbd AIC $(awk -v l="$ll" "BEGIN { printf \"%.2f (BIC %.2f)\", 8 - 2 * l, 4 * log(2357) - 2 * l }"): mbgnbd" err &&
	expect_eq mbgnbd "$(val bgnbd model)" &&
	run 2 crm-score --db p.db clv --model weibull &&
	expect_grep "invalid --model \"weibull\" (bgnbd, mbgnbd, pareto or auto)" err
'

# the holdout's figures: the total error from the table's own total row;
# auto with a holdout takes the model with the lower mean absolute error,
# the figure each model's own validation run prints
test_expect '--holdout-end: total error, mean absolute error, correlation; auto by them' '
	mae() { sed -n "s/.*mean absolute error \([0-9.]*\), correlation \([0-9.]*\);.*/\1 \2/p" err; } &&
	run 0 crm-score --db p.db clv --as-of 1997-09-30 --holdout-end 1998-06-30 -f csv &&
	set -- $(mae) && eb=$1 && test "$(awk -v c="$2" "BEGIN { print (c > 0.5 && c < 1) }")" = 1 &&
	tot=$(grep "^total," out) &&
	expect_grep "$(echo "$tot" | awk -F, "{ printf \"(%+.1f%%)\", 100 * (\$4 - \$3) / \$3 }")" err &&
	run 0 crm-score --db p.db clv --as-of 1997-09-30 --holdout-end 1998-06-30 --model pareto -f csv &&
	set -- $(mae) && ep=$1 &&
	run 0 crm-score --db p.db clv --as-of 1997-09-30 --holdout-end 1998-06-30 --model mbgnbd -f csv &&
	set -- $(mae) && em=$1 &&
	run 0 crm-score --db p.db clv --as-of 1997-09-30 --holdout-end 1998-06-30 --model auto -f csv &&
	pick=$(printf "%s bgnbd\n%s pareto\n%s mbgnbd\n" "$eb" "$ep" "$em" | sort -n | head -1 | cut -d" " -f2) &&
	expect_grep "model auto: bgnbd holdout mean absolute error $eb, pareto holdout mean absolute error $ep, mbgnbd holdout mean absolute error $em: $pick" err
'

# --tracking: the cohort's cumulative repeat purchase days week by week;
# actual at the end of the calibration and of the holdout are the
# paper's 2,457 and 2,457 + 1,882; predicted checked in Python against the
# paper's equation 7 summed over the customers' first purchase days
test_expect '--tracking: the weekly cumulative tracking table, actual and predicted' '
	run 0 crm-score --db p.db clv --as-of 1997-09-30 --holdout-end 1998-06-30 --tracking -f csv &&
	expect_eq "period,end,phase,actual,predicted" "$(head -1 out)" &&
	expect_eq "39,1997-09-30,calibration,2457" "$(grep "^39," out | cut -d, -f1-4)" &&
	expect_eq "78,1998-06-30,holdout,4339" "$(tail -1 out | cut -d, -f1-4)" &&
	expect_eq 78 "$(($(wc -l <out) - 1))" &&
	expect_eq 0 "$(awk -F, "NR > 2 && (\$4 < a || \$5 < p) { n++ } { a = \$4; p = \$5 } END { print n + 0 }" out)" &&
	grep -E "^(39|78)," out | cut -d, -f5 >got &&
	run 0 crm-score --db p.db -n clv --as-of 1997-09-30 -f csv &&
	printf "%s %s %s %s\n" "$(val bgnbd r)" "$(val bgnbd alpha)" "$(val bgnbd a)" "$(val bgnbd b)" >bg &&
	/usr/bin/python3 - "$FIX/cdnow/CDNOW_sample.txt" bg >want <<-\EOF &&
	import datetime, os, sys; sys.path.insert(0, os.environ["CRM_TOP"] + "/tests"); import cdnow
	r, al, a, b = map(float, open(sys.argv[2]).read().split())
	first = {}
	for line in open(sys.argv[1]):
	    f = line.split(); d = datetime.date(int(f[2][:4]), int(f[2][4:6]), int(f[2][6:]))
	    if d <= datetime.date(1997, 9, 30): first[f[1]] = min(first.get(f[1], d), d)
	for end in (datetime.date(1997, 9, 30), datetime.date(1998, 6, 30)):
	    print(sum(cdnow.bgnbd_expected((end - d).days / 7, r, al, a, b) for d in first.values()))
	EOF
	paste -d" " got want >both &&
	expect_eq 0 "$(awk "{ d = \$1 - \$2; if (d < 0) d = -d; if (d > 1e-6 * \$2) n++ } END { print n + 0 }" both)" &&
	run 2 crm-score --db p.db clv --tracking &&
	expect_grep "tracking goes with --holdout-end" err
'

test_done
