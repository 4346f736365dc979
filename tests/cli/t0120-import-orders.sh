#!/bin/sh
# Orders: exact money, time zones, stubs, --strict, content keys.
. "$CRM_TOP/tests/lib.sh"

test_expect 'orders import with exact amounts in minor units' '
	crm-import customers "$FIX/customers.csv" 2>/dev/null &&
	run 3 crm-import orders "$FIX/orders.csv" &&
	expect_eq "O1|123450|RUB|2026-01-15 10:00:00|completed" "$(sql "SELECT external_id, amount, currency, ordered_at, status FROM orders WHERE external_id = '\''O1'\''")" &&
	expect_eq "O3|1230|USD|2026-03-15 00:00:00|refunded" "$(sql "SELECT external_id, amount, currency, ordered_at, status FROM orders WHERE external_id = '\''O3'\''")"
'

test_expect 'an offset is converted to UTC; an empty status means completed' '
	expect_eq "2026-03-01 06:30:00|completed" "$(sql "SELECT ordered_at, status FROM orders WHERE external_id = '\''O2'\''")"
'

test_expect 'invalid date and amount are rejected with the value and reason' '
	expect_grep "orders.csv:6: invalid ordered_at" err &&
	expect_grep "orders.csv:7: invalid amount \"12,3.4\"" err &&
	expect_grep "6 read, 4 inserted, 0 updated, 0 unchanged, 2 rejected, 1 stubs created" err
'

test_expect 'an unknown customer becomes a stub with the identifiers given' '
	expect_eq "C999|new.buyer@example.com|1" "$(cust C999 "external_id, email, is_stub")"
'

test_expect 'a customer row for a stub makes it a full customer' '
	printf "id,first_name\nC999,Nina\n" >nina.csv &&
	run 0 crm-import customers nina.csv &&
	expect_eq "Nina|0" "$(cust C999 "first_name, is_stub")"
'

test_expect '--strict rejects unknown customers instead' '
	printf "order_id,customer_id,date,amount,currency\nS1,NOPE,2026-01-01,1,USD\n" >strict.csv &&
	run 3 crm-import --strict orders strict.csv &&
	expect_grep "strict.csv:2: unknown customer (--strict)" err &&
	expect_eq 0 "$(sql "SELECT count(*) FROM customers WHERE external_id = '\''NOPE'\''")"
'

test_expect 're-importing orders changes nothing' '
	sql .dump >before.sql &&
	run 3 crm-import orders "$FIX/orders.csv" &&
	expect_grep "0 inserted, 0 updated, 4 unchanged, 2 rejected, 0 stubs" err &&
	sql .dump >after.sql && expect_same before.sql after.sql
'

test_expect 'a changed order is updated, not duplicated' '
	printf "order_id,customer_id,date,amount,currency,status\nO1,C001,2026-01-15 10:00:00,1234.50,RUB,refunded\n" >o1.csv &&
	run 0 crm-import orders o1.csv &&
	expect_grep "0 inserted, 1 updated" err &&
	expect_eq "refunded|1" "$(sql "SELECT status, count(*) FROM orders WHERE external_id = '\''O1'\''")"
'

test_expect 'rows without order ids: identical rows stay two orders, re-import is idempotent' '
	run 0 crm-import orders "$FIX/orders-noid.csv" &&
	expect_grep "3 read, 3 inserted" err &&
	run 0 crm-import orders "$FIX/orders-noid.csv" &&
	expect_grep "3 read, 0 inserted, 0 updated, 3 unchanged" err &&
	expect_eq "2|20000" "$(sql "SELECT count(*), sum(amount) FROM orders WHERE ordered_at = '\''2026-05-01 00:00:00'\''")"
'

test_expect 'a file without currency needs --currency' '
	printf "customer_id,date,amount\nC001,2026-01-01,10\n" >nocur.csv &&
	run 1 crm-import orders nocur.csv &&
	expect_grep "no currency column (give --currency CODE)" err &&
	run 0 crm-import orders nocur.csv --currency rub &&
	expect_eq "1000|RUB" "$(sql "SELECT amount, currency FROM orders WHERE ordered_at = '\''2026-01-01 00:00:00'\''")"
'

test_expect '--timezone interprets naive times; --date-format dmy decides slashes' '
	printf "order_id,customer_id,date,amount,currency\nTZ1,C001,02/03/2026 10:00,1,EUR\n" >tz.csv &&
	run 0 crm-import orders tz.csv --timezone Europe/Moscow --date-format dmy &&
	expect_eq "2026-03-02 07:00:00" "$(sql "SELECT ordered_at FROM orders WHERE external_id = '\''TZ1'\''")"
'

test_expect 'a column of ambiguous slash dates stops the import with a hint' '
	printf "order_id,customer_id,date,amount,currency\nAMB,C001,02/03/2026,1,EUR\n" >amb.csv &&
	run 1 crm-import orders amb.csv &&
	expect_grep "date-format dmy" err &&
	expect_eq 0 "$(sql "SELECT count(*) FROM orders WHERE external_id = '\''AMB'\''")"
'

test_expect 'foreign keys hold after all these imports' '
	expect_eq "" "$(sql "PRAGMA foreign_key_check")" &&
	expect_eq ok "$(sql "PRAGMA integrity_check")"
'

test_expect 'a large import builds the customer index at the end, same definition' '
	sql "SELECT sql FROM sqlite_schema WHERE name = '\''orders_customer'\''" >idx-before.txt &&
	awk "BEGIN { print \"order_id,customer_id,date,amount,currency\"; for (i = 1; i <= 250000; i++) printf \"BULK-ORDER-%07d,C00%d,2025-%02d-%02d 10:00:00,%d.50,RUB\n\", i, i % 5 + 1, i % 12 + 1, i % 28 + 1, i % 900 }" >big.csv &&
	run 0 crm-import -v orders big.csv &&
	expect_grep "building 1 index(es) at the end" err &&
	expect_grep "crm-import: indexes rebuilt and committed in" err &&
	sql "SELECT sql FROM sqlite_schema WHERE name = '\''orders_customer'\''" >idx-after.txt &&
	expect_same idx-before.txt idx-after.txt && test -s idx-after.txt &&
	expect_eq ok "$(sql "PRAGMA integrity_check")" &&
	expect_grep "USING INDEX orders_customer" "$(sql "EXPLAIN QUERY PLAN SELECT * FROM orders WHERE customer_id = 1" >plan.txt; echo plan.txt)"
'

test_expect 'a small import into a large table keeps its indexes' '
	run 0 crm-import -v orders o1.csv &&
	expect_no_grep "building" err
'

test_done
