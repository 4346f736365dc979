#!/bin/sh
# crm-report: usage errors, the database read-only, -o files 0600.
. "$CRM_TOP/tests/lib.sh"

test_expect 'setup: a few customers and orders' '
	printf "customer_id,email,city\nA,a@example.com,Kazan\nB,b@example.com,Moscow\n" >c.csv &&
	printf "order_id,customer_id,ordered_at,amount,currency\n1,A,2026-11-01,10.00,RUB\n" >o.csv &&
	run 0 crm-import customers c.csv &&
	run 0 crm-import orders o.csv
'

test_expect 'no report is a usage error' '
	run 2 crm-report &&
	expect_grep "a report is needed" err &&
	expect_grep "usage: crm-report [options] summary" err
'

test_expect 'an unknown report, a missing or extra operand are usage errors' '
	run 2 crm-report summery &&
	expect_grep "unknown report \"summery\"" err &&
	run 2 crm-report campaign &&
	expect_grep "campaign needs one campaign NAME" err &&
	run 2 crm-report summary extra &&
	expect_grep "summary takes no operand" err &&
	run 2 crm-report export &&
	expect_grep "export needs one TABLE" err
'

test_expect 'options of another report are usage errors' '
	run 2 crm-report summary --window 3d &&
	expect_grep "--window and --attribution go with campaign" err &&
	run 2 crm-report rfm --metric revenue &&
	expect_grep "--metric and --periods go with cohorts" err &&
	run 2 crm-report summary --margin 0.2 &&
	run 2 crm-report summary --since 2026-01-01 &&
	run 2 crm-report customer A --where "orders > 1" &&
	run 2 crm-report --html x.html export orders
'

test_expect 'invalid values are usage errors' '
	run 2 crm-report campaign x --window soon &&
	expect_grep "invalid --window \"soon\"" err &&
	run 2 crm-report campaign x --attribution touch &&
	run 2 crm-report cohorts --by year &&
	run 2 crm-report ltv --by planet &&
	run 2 crm-report cohorts --metric margin &&
	run 2 crm-report budget --margin 1.5 &&
	run 2 crm-report summary --currency XX &&
	run 2 crm-report export orders --since yesterday
'

test_expect 'a wrong --where points at the column, a missing segment is an error' '
	run 2 crm-report summary --where "ordres > 1" &&
	expect_grep "crm-report: --where:1:1: unknown field \"ordres\"" err &&
	run 1 crm-report summary --segment nosuch &&
	expect_grep "nosuch" err
'

test_expect 'an unknown export table is a usage error' '
	run 2 crm-report export secrets &&
	expect_grep "cannot export \"secrets\"" err
'

test_expect 'a missing database is an error, and is not created' '
	run 1 crm-report --db none.db summary &&
	expect_grep "none.db: cannot open database" err &&
	test ! -e none.db
'

test_expect 'the database is opened read-only: every report leaves the file as it was' '
	sql "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null &&
	before=$(cksum <crm.db) &&
	for r in summary campaigns cohorts rfm ltv budget "customer A" "export orders"; do
		crm-report $r >/dev/null 2>&1 || true
	done &&
	crm-report --html page.html >/dev/null 2>&1 || true &&
	expect_eq "$before" "$(cksum <crm.db)" &&
	test ! -s crm.db-wal
'

test_expect '-o FILE is created 0600, csv by default, even over a 0644 file' '
	umask 022 && echo old >report.csv && chmod 644 report.csv &&
	run 0 crm-report summary -o report.csv &&
	expect_mode 600 report.csv &&
	expect_grep "currency,customers,buyers" report.csv &&
	test ! -s out
'

test_expect '--help lists the reports and options' '
	run 0 crm-report --help &&
	expect_grep "usage: crm-report [options] summary" out &&
	expect_grep "--attribution" out &&
	expect_grep "--html FILE" out
'

test_done
