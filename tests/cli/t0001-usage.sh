#!/bin/sh
# Command-line conventions: --help, --version, usage errors, exit codes.
. "$CRM_TOP/tests/lib.sh"

test_expect '--help prints the synopsis on stdout and exits 0' '
	run 0 crm-import --help &&
	expect_grep "usage: crm-import [options] customers|orders|lines|products|events|consents|rewards|messages [FILE...]" out &&
	expect_grep "--rejects FILE" out &&
	expect_grep "--dry-run" out &&
	test ! -s err
'

test_expect '--version names the program and SQLite' '
	run 0 crm-import --version &&
	expect_grep "crm-import (crmkit)" out &&
	expect_grep "SQLite 3." out
'

test_expect 'no kind is a usage error (exit 2, usage on stderr)' '
	run 2 crm-import &&
	expect_grep "crm-import: no KIND given" err &&
	expect_grep "usage: crm-import" err &&
	test ! -s out
'

test_expect 'unknown kind is a usage error' '
	run 2 crm-import clients x.csv &&
	expect_grep "unknown kind \"clients\"" err
'

test_expect 'unknown option is a usage error' '
	run 2 crm-import --frobnicate customers x.csv &&
	expect_grep "unknown option \"--frobnicate\"" err
'

test_expect 'option missing its argument is a usage error' '
	run 2 crm-import customers x.csv --rejects &&
	expect_grep "needs an argument" err
'

test_expect 'bad --now is a usage error that names the value' '
	run 2 crm-import --now yesterday customers x.csv &&
	expect_grep "invalid --now \"yesterday\"" err
'

test_expect 'a missing file is exit 1 with the file name and reason, no database made' '
	printf "id,email\nC1,a@b.example\n" >good.csv &&
	run 1 crm-import customers good.csv nosuch.csv &&
	expect_grep "crm-import: nosuch.csv: cannot open: No such file or directory" err &&
	test ! -e crm.db
'

test_expect 'a directory is not a file' '
	mkdir dir.csv &&
	run 1 crm-import customers dir.csv &&
	expect_grep "crm-import: dir.csv: cannot open: Is a directory" err
'

test_expect 'options may follow operands; -- ends options' '
	printf "id,email\nC1,a@b.example\n" >-q.csv &&
	run 0 crm-import customers -- -q.csv &&
	expect_eq 1 "$(sql "SELECT count(*) FROM customers")"
'

test_done
