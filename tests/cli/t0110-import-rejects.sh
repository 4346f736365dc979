#!/bin/sh
# Bad input: every malformed kind is reported with its file, line and
# reason; the good rows are kept; nothing stored is lost.
. "$CRM_TOP/tests/lib.sh"

test_expect 'malformed rows are rejected with the right line, good rows kept (exit 3)' '
	run 3 crm-import customers "$FIX/customers-bad.csv" --rejects rej.csv &&
	expect_grep "customers-bad.csv:3: " err &&
	expect_grep "customers-bad.csv:5: no usable key (no id, valid email or phone): invalid email" err &&
	expect_grep "customers-bad.csv:8: expected 4 fields, found 5" err &&
	expect_grep "customers-bad.csv:10: unterminated quoted field" err &&
	expect_grep "9 read, 5 inserted, 0 updated, 0 unchanged, 4 rejected" err &&
	expect_eq "C010 C012 C013 C015 C017" "$(sql "SELECT group_concat(external_id, '\'' '\'') FROM (SELECT external_id FROM customers ORDER BY 1)")"
'

test_expect 'a quoted newline does not shift later line numbers' '
	expect_grep "customers-bad.csv:6: warning: invalid email" err
'

test_expect 'the rejects file holds file, line, reason and the raw record; mode 0600' '
	expect_mode 600 rej.csv &&
	expect_eq "file,line,reason,record" "$(head -1 rej.csv)" &&
	sqlite3 :memory: ".import --csv rej.csv r" "SELECT line, reason FROM r" >rej.txt &&
	expect_eq "3 5 8 10" "$(cut -d"|" -f1 rej.txt | tr "\n" " " | sed "s/ $//")" &&
	expect_eq "C014,good3@example.com,,Fay,extra" "$(sqlite3 :memory: ".import --csv rej.csv r" "SELECT record FROM r WHERE line = 8")" &&
	expect_grep "8|expected 4 fields, found 5" rej.txt
'

test_expect 'NUL bytes and invalid UTF-8 are rejected, not stored' '
	printf "id,name\nN1,ok\nN2,a\000b\nN3,\377\376\nN4,fine\n" >nul.csv &&
	run 3 crm-import customers nul.csv &&
	expect_grep "nul.csv:3: NUL byte" err &&
	expect_grep "nul.csv:4: invalid UTF-8" err &&
	expect_eq "N1 N4" "$(sql "SELECT group_concat(external_id, '\'' '\'') FROM (SELECT external_id FROM customers WHERE external_id LIKE '\''N%'\'' ORDER BY 1)")"
'

test_expect 'a file without any key column is refused whole (exit 1)' '
	sql .dump >before.sql &&
	printf "first_name,city\nAnn,Kazan\n" >nokey.csv &&
	run 1 crm-import customers nokey.csv &&
	expect_grep "nokey.csv:1: cannot import customers: no id, email or phone column" err &&
	sql .dump >after.sql && expect_same before.sql after.sql
'

test_expect '--max-rejects aborts and rolls back everything' '
	sql .dump >before.sql &&
	run 1 crm-import customers "$FIX/customers-bad.csv" "$FIX/customers.csv" --max-rejects 2 &&
	expect_grep "too many rejected rows (more than 2): nothing was imported" err &&
	sql .dump >after.sql && expect_same before.sql after.sql
'

test_expect '--max-rejects not exceeded keeps the good rows' '
	run 3 crm-import customers "$FIX/customers-bad.csv" --max-rejects 4 &&
	expect_grep "4 rejected" err
'

test_expect 'rejects to stdout, and a closed pipe ends quietly' '
	awk "BEGIN { print \"id,email\"; for (i = 0; i < 200000; i++) print \",bad\" }" >many.csv &&
	crm-import customers many.csv --rejects - 2>err | head -3 >head.txt &&
	expect_eq 3 "$(wc -l <head.txt | tr -d " ")" &&
	expect_eq "file,line,reason,record" "$(head -1 head.txt)" &&
	expect_no_grep "write error" err && expect_no_grep "Broken pipe" err
'

test_done
