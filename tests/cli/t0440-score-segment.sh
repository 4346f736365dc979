#!/bin/sh
# The scores crm-score stores are crm-segment's fields: r, f, m, rfm,
# rfm_segment, clv, p_alive, churn_risk, expected_orders.
. "$CRM_TOP/tests/lib.sh"

test_expect 'setup: the CDNOW sample, scored as of 1997-09-30' '
	cdnow_orders "$FIX/cdnow/CDNOW_sample.txt" >cdnow.csv &&
	run 0 crm-import orders cdnow.csv &&
	run 0 crm-score rfm --as-of 1997-09-30 &&
	run 0 crm-score clv --as-of 1997-09-30
'

test_expect 'p_alive < 0.3 selects the customers whose stored p_alive is below 0.3' '
	nwant=$(sql "SELECT count(*) FROM scores WHERE p_alive < 0.3") &&
	test "$nwant" -gt 100 &&
	run 0 crm-segment -c --no-input "p_alive < 0.3" &&
	expect_eq "$nwant" "$(cat out)" &&
	run 0 crm-segment --no-input -f csv --fields id,p_alive,churn_risk --order-by p_alive --limit 1 "p_alive < 0.3" &&
	expect_eq "$(sql "SELECT c.external_id || '\'','\'' || s.p_alive || '\'','\'' || s.churn_risk
		FROM scores s JOIN customers c ON c.id = s.customer_id ORDER BY s.p_alive, c.id LIMIT 1")" \
		"$(sed -n 2p out)"
'

# every selection is non-empty on CDNOW (37 to 471 customers), so that
# two empty answers cannot agree
test_expect 'every score field, compared with the table' '
	for e in "rfm_segment = \"at_risk\"" "rfm = \"555\"" "r >= 4 and f <= 2" "m = 5" \
		 "clv > 100" "churn_risk > 0.9" "expected_orders >= 2"; do
		run 0 crm-segment -c --no-input "$e" &&
		n=$(cat out) &&
		test "$n" -gt 0 &&
		q=$(echo "$e" | sed "s/\"/'\''/g; s/ and / AND /") &&
		expect_eq "$(sql "SELECT count(*) FROM scores WHERE $q")" "$n" "$e" || exit 1
	done
'

test_expect 'a customer without scores is null: no comparison holds' '
	printf "customer_id,email\nNEW,new@example.com\n" >new.csv &&
	run 0 crm-import customers new.csv &&
	run 0 crm-segment -c --no-input "id = \"NEW\" and (p_alive < 2 or p_alive >= 2)" &&
	expect_eq 0 "$(cat out)" &&
	run 0 crm-segment -c --no-input "id = \"NEW\" and p_alive is null" &&
	expect_eq 1 "$(cat out)"
'

test_done
