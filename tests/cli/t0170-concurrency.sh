#!/bin/sh
# Two programs on one file: the second waits for the first's write lock
# instead of failing, and says so.
. "$CRM_TOP/tests/lib.sh"

test_expect 'setup' '
	printf "id,email\nW1,w1@example.com\n" >w.csv &&
	crm-import customers w.csv 2>/dev/null
'

test_expect 'a writer waits for another writer, telling the user' '
	{ echo "BEGIN IMMEDIATE;"; sleep 3; echo "COMMIT;"; } | sqlite3 "$CRM_DB" &
	holder=$!
	sleep 0.5
	printf "id,email\nW2,w2@example.com\n" >w2.csv &&
	run 0 crm-import customers w2.csv &&
	wait $holder &&
	expect_grep "the database is busy (another crm program is writing); waiting up to 600 s" err &&
	expect_eq w2@example.com "$(cust W2 email)"
'

test_expect 'CRM_BUSY_TIMEOUT bounds the wait; the error says why' '
	{ echo "BEGIN IMMEDIATE;"; sleep 3; echo "COMMIT;"; } | sqlite3 "$CRM_DB" &
	holder=$!
	sleep 0.5
	printf "id,email\nW3,w3@example.com\n" >w3.csv &&
	CRM_BUSY_TIMEOUT=1 run 1 crm-import customers w3.csv &&
	wait $holder &&
	expect_grep "database is locked" err &&
	expect_eq "" "$(cust W3 email)"
'

test_expect 'two imports started together both finish, nothing lost' '
	awk "BEGIN { print \"id,email\"; for (i = 1; i <= 30000; i++) printf \"A%d,a%d@example.com\n\", i, i }" >a.csv &&
	awk "BEGIN { print \"id,email\"; for (i = 1; i <= 30000; i++) printf \"B%d,b%d@example.com\n\", i, i }" >b.csv
	crm-import customers a.csv 2>erra & pa=$!
	crm-import customers b.csv 2>errb & pb=$!
	wait $pa; ra=$?
	wait $pb; rb=$?
	cat erra errb
	expect_eq "0 0" "$ra $rb" "exit statuses" &&
	expect_eq 60000 "$(sql "SELECT count(*) FROM customers WHERE external_id GLOB '\''[AB]*'\''")"
'

test_done
