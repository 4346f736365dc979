#!/bin/sh
# crm-report cohorts: customers by the month (or week) of their first
# completed order, and what each cohort did in the periods after.
. "$CRM_TOP/tests/lib.sh"

# A  2026-01-05 10, 2026-02-10 20, 2026-04-01 30     cohort 2026-01
# B  2026-01-20 5, 2026-01-25 6 (one month: counted once)  cohort 2026-01
# C  2026-02-01 7, 2026-03-15 8                      cohort 2026-02
# D  2026-02-28 100 refunded, 2026-03-02 9           cohort 2026-03
# (2026-02-01 is a Sunday: C is in the week of Monday 2026-01-26)
test_expect 'setup' '
	cat >o.csv <<-\EOF2 &&
	order_id,customer_id,ordered_at,amount,currency,status
	1,A,2026-01-05 10:00:00,10,EUR,
	2,A,2026-02-10 10:00:00,20,EUR,
	3,A,2026-04-01 10:00:00,30,EUR,
	4,B,2026-01-20 10:00:00,5,EUR,
	5,B,2026-01-25 10:00:00,6,EUR,
	6,C,2026-02-01 10:00:00,7,EUR,
	7,C,2026-03-15 10:00:00,8,EUR,
	8,D,2026-02-28 10:00:00,100,EUR,refunded
	9,D,2026-03-02 10:00:00,9,EUR,
	EOF2
	run 0 crm-import orders o.csv
'

test_expect 'retention by month: the share of each cohort that ordered in each month since' '
	run 0 crm-report -f csv cohorts --periods 4 &&
	cat >want <<-\EOF2 &&
	cohort,customers,currency,m0,m1,m2,m3
	2026-01,2,all,1,0.5,0,0.5
	2026-02,1,all,1,1,0,0
	2026-03,1,all,1,0,0,0
	EOF2
	expect_same want out
'

test_expect '--metric customers and --metric revenue' '
	run 0 crm-report -f csv cohorts --periods 4 --metric customers &&
	expect_eq "2026-01,2,all,2,1,0,1" "$(sed -n 2p out)" &&
	run 0 crm-report -f csv cohorts --periods 4 --metric revenue &&
	cat >want <<-\EOF2 &&
	cohort,customers,currency,m0,m1,m2,m3
	2026-01,2,EUR,21,20,0,30
	2026-02,1,EUR,7,8,0,0
	2026-03,1,EUR,9,0,0,0
	EOF2
	expect_same want out
'

test_expect '--periods 0: every month up to --now; months after it are empty' '
	run 0 crm-report -f csv cohorts --periods 0 &&
	expect_eq "cohort,customers,currency,m0,m1,m2,m3,m4,m5,m6,m7,m8,m9,m10" "$(sed -n 1p out)" &&
	expect_eq "2026-03,1,all,1,0,0,0,0,0,0,0,0,," "$(sed -n 4p out)" &&
	run 0 crm-report -f csv cohorts --periods 0 --now "2026-03-31 00:00:00" &&
	expect_eq "cohort,customers,currency,m0,m1,m2" "$(sed -n 1p out)" &&
	expect_eq "2026-01,2,all,1,0.5,0" "$(sed -n 2p out)"
'

test_expect '--by week: cohorts named by their Monday' '
	run 0 crm-report -f csv cohorts --by week --periods 3 &&
	expect_eq "cohort,customers,currency,w0,w1,w2" "$(sed -n 1p out)" &&
	expect_eq "2026-01-05,1,all,1,0,0" "$(sed -n 2p out)" &&
	expect_eq "2026-01-19,1,all,1,0,0" "$(sed -n 3p out)" &&
	expect_eq "2026-01-26 2026-03-02" "$(sed -n "4p;5p" out | cut -d, -f1 | tr "\n" " " | sed "s/ $//")"
'

test_expect '--where restricts the cohorts; the table is not turned sideways' '
	run 0 crm-report -f csv cohorts --periods 2 --where "id = \"C\"" &&
	expect_eq "2026-02,1,all,1,1" "$(sed -n 2p out)" &&
	expect_eq 2 "$(wc -l <out)" &&
	run 0 crm-report -f table cohorts --periods 12 &&
	expect_grep "cohort   customers" out
'

test_done
