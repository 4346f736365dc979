#!/bin/sh
# A progress bar on a terminal's stderr, nothing when stderr is not one.
. "$CRM_TOP/tests/lib.sh"

test_expect 'setup: a file of 20000 customers' '
	awk "BEGIN { print \"id,email\"; for (i = 1; i <= 20000; i++) printf \"P%d,p%d@example.com\n\", i, i }" >big.csv
'

test_expect 'a terminal gets a progress bar, erased at the end' '
	script -qec "crm-import --db tty.db customers big.csv" /dev/null >tty.txt </dev/null &&
	expect_grep "big.csv [" tty.txt &&
	expect_grep "rows/s" tty.txt &&
	expect_grep "$(printf "\033[K")" tty.txt &&
	expect_grep "20000 read, 20000 inserted" tty.txt
'

test_expect 'no progress bar when stderr is not a terminal' '
	run 0 crm-import --db pipe.db customers big.csv &&
	expect_no_grep "[" err &&
	expect_eq 1 "$(wc -l <err | tr -d " ")"
'

test_expect '-q prints nothing at all on success' '
	run 0 crm-import -q --db q.db customers big.csv &&
	test ! -s err && test ! -s out
'

test_done
