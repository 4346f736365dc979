#!/bin/sh
# crm-import's data-quality summary (issue 15): what it imports but a
# person should know, said once per file after the import: placeholder
# customer ids ("(blank)", "0", "n/a"...) that make one customer of many
# (rejected with --strict), negative amounts, times in the future, and one
# customer holding an outlying share of all orders.
. "$CRM_TOP/tests/lib.sh"

test_expect 'placeholder ids, negative amounts and future times are counted and said' '
	{ echo "order_id,customer_id,ordered_at,amount,currency"
	  echo "O1,C1,2026-11-01,10.00,GBP"
	  echo "O2,(blank),2026-11-02,12.00,GBP"
	  echo "O3,(blank),2026-11-03,-4.50,GBP"
	  echo "O4,C2,2026-12-31,5.00,GBP"
	  echo "O5,n/a,2026-11-04,7.00,GBP"; } >o.csv &&
	run 0 crm-import orders o.csv &&
	expect_grep "o.csv: data quality: 3 rows with the placeholder customer id \"(blank)\" (all one customer; --strict rejects them), 1 negative amount (refunds: less revenue, not purchases), 1 time more than a day in the future" err &&
	expect_eq 5 "$(sql "SELECT count(*) FROM orders")"
'

test_expect 'a clean file says nothing about quality' '
	printf "order_id,customer_id,ordered_at,amount,currency\nO9,C9,2026-11-01,10.00,GBP\n" >clean.csv &&
	run 0 crm-import orders clean.csv &&
	expect_no_grep "data quality" err
'

test_expect '--strict rejects the placeholder rows, naming the value' '
	rm -f crm.db &&
	run 3 crm-import --strict orders o.csv &&
	expect_grep "placeholder customer id \"(blank)\" (--strict)" err &&
	expect_grep "placeholder customer id \"n/a\" (--strict)" err
'

test_expect 'one customer with an outlying share of the orders is said once, after the import' '
	rm -f crm.db &&
	awk "BEGIN { print \"order_id,customer_id,ordered_at,amount,currency\";
		for (i = 1; i <= 400; i++) printf \"A%d,SHOP,2026-10-%02d,1.00,GBP\n\", i, i % 28 + 1;
		for (i = 1; i <= 600; i++) printf \"B%d,C%d,2026-10-%02d,1.00,GBP\n\", i, i, i % 28 + 1 }" >many.csv &&
	run 0 crm-import orders many.csv &&
	expect_grep "data quality: customer \"SHOP\" (a stub) holds 400 of the 1000 orders (40.0%): a placeholder id or a test account?" err &&
	awk "BEGIN { print \"order_id,customer_id,ordered_at,amount,currency\";
		for (i = 1; i <= 99; i++) printf \"D%d,BIG,2026-10-%02d,1.00,GBP\n\", i, i % 28 + 1 }" >few.csv &&
	rm -f crm.db && run 0 crm-import orders few.csv &&
	expect_no_grep "holds" err
'

test_expect '--check says the same and writes nothing' '
	rm -f crm.db &&
	run 0 crm-import --check orders o.csv &&
	expect_grep "data quality: 3 rows with the placeholder customer id" err &&
	expect_grep "[dry run: nothing written]" err &&
	test ! -e crm.db
'

test_done
