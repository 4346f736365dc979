#!/bin/sh
# crm-score: usage errors (exit 2 with the reason), a missing database.
. "$CRM_TOP/tests/lib.sh"

usage_error() {
	msg=$1
	shift
	run 2 crm-score "$@" &&
	expect_eq "crm-score: $msg" "$(head -1 err)" &&
	expect_grep "usage: crm-score [options] rfm [--bins N]" err
}

test_expect 'no task, an unknown task, two tasks' '
	usage_error "no task given (rfm, clv or uplift)" &&
	usage_error "unknown task \"ltv\" (rfm, clv or uplift)" ltv &&
	usage_error "one task expected, got 2 arguments" rfm clv
'

test_expect 'options of the other task' '
	usage_error "--bins goes with rfm" clv --bins 4 &&
	usage_error "--horizon goes with clv" rfm --horizon 1y &&
	usage_error "--discount goes with clv" rfm --discount 5% &&
	usage_error "--period goes with clv" rfm --period day &&
	usage_error "--holdout-end goes with clv" rfm --holdout-end 2026-01-01
'

test_expect 'invalid values' '
	usage_error "--bins needs a number from 2 to 9" rfm --bins 10 &&
	usage_error "--bins needs a number from 2 to 9" rfm --bins 1 &&
	usage_error "invalid --as-of \"yesterday\" (a date or a time, such as 2026-06-30)" rfm --as-of yesterday &&
	usage_error "invalid --period \"month\" (day or week)" clv --period month &&
	usage_error "invalid --horizon \"52\" (whole days: 365d, 52w, 12mo, 1y)" clv --horizon 52 &&
	usage_error "invalid --horizon \"1.5d\" (whole days: 365d, 52w, 12mo, 1y)" clv --horizon 1.5d &&
	usage_error "invalid --horizon \"36h\" (whole days: 365d, 52w, 12mo, 1y)" clv --horizon 36h &&
	usage_error "invalid --horizon \"0d\" (whole days: 365d, 52w, 12mo, 1y)" clv --horizon 0d &&
	usage_error "invalid --horizon \"101y\" (whole days: 365d, 52w, 12mo, 1y)" clv --horizon 101y &&
	usage_error "invalid --discount \"-1%\" (a yearly rate such as 0.1 or 10%)" clv --discount -1% &&
	usage_error "invalid --discount \"ten\" (a yearly rate such as 0.1 or 10%)" clv --discount ten &&
	usage_error "invalid --currency \"dollars\": not a currency code" rfm --currency dollars
'

test_expect 'a holdout needs a calibration end before it' '
	usage_error "--holdout-end needs --as-of, the end of the calibration period" clv --holdout-end 2026-01-01 &&
	usage_error "--holdout-end must be a day after --as-of" clv --as-of 2026-01-01 --holdout-end 2026-01-01
'

test_expect 'no database: exit 1, nothing created' '
	run 1 crm-score rfm &&
	expect_grep "crm.db" err &&
	test ! -e crm.db
'

test_expect '--help lists every option and exits 0' '
	run 0 crm-score --help &&
	for o in --as-of --currency --bins --period --horizon --discount --holdout-end --dry-run --db --now --format; do
		expect_grep "$o" out || exit 1
	done
'

test_done
