#!/bin/sh
# crm-segment: expressions against an imported base, output, errors.
. "$CRM_TOP/tests/lib.sh"

test_expect 'setup: the fixture base' '
	crm-import customers "$FIX/customers.csv" 2>/dev/null || true
	crm-import orders "$FIX/orders.csv" 2>/dev/null || true
	crm-import events "$FIX/events.jsonl" 2>/dev/null || true
	crm-import consents "$FIX/consents.csv" 2>/dev/null || true
	expect_eq "7|4|4" "$(sql "SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM orders), (SELECT count(*) FROM events)")"
'

# By hand from the fixtures: C001 has O1 (1234.50 RUB, 2026-01-15) and O2
# (990.00 RUB, 2026-03-01); C002 has O3, refunded; C999 (a stub) has O4.
test_expect 'completed orders only: refunds do not count' '
	run 0 crm-segment -f csv "orders >= 1" &&
	expect_eq "id,email,phone,first_name
C001,anna.ivanova@example.com,+79161234567,Анна
C999,new.buyer@example.com,," "$(cat out)"
'

test_expect 'revenue in major units, windows end at --now' '
	run 0 crm-segment -f csv --fields id,orders,revenue "revenue > 2000" &&
	expect_eq "id,orders,revenue
C001,2,2224.5" "$(cat out)" &&
	run 0 crm-segment -f csv --fields id "orders(30d) >= 1" --now 2026-03-15 &&
	expect_eq "id
C001" "$(cat out)" &&
	run 0 crm-segment -c "orders(30d) >= 1" --now 2026-05-15 &&
	expect_eq 0 "$(cat out)"
'

test_expect 'never bought: orders = 0 includes refunded-only customers' '
	run 0 crm-segment -f csv --fields id "orders = 0" &&
	expect_eq "id
C002
C003
C004
C005" "$(head -5 out)" &&
	# and the stub from the events file, which has no id
	expect_eq 6 "$(wc -l <out | tr -d " ")" && expect_eq "" "$(tail -1 out)"
'

test_expect '-c prints a bare number' '
	run 0 crm-segment -c "country = \"RU\"" &&
	expect_eq 1 "$(cat out)"
'

# C002 granted email on 2026-02-01 (consents.csv) but its customer row
# says email_consent=no, recorded at the import time (CRM_NOW), later.
test_expect 'consent() follows the latest record' '
	run 0 crm-segment -f csv --fields id "consent(\"email\")" &&
	expect_eq "id
C001
C005" "$(cat out)" &&
	run 0 crm-segment -c "consent(\"sms\")" &&
	expect_eq 0 "$(cat out)"
'

test_expect 'events in a window' '
	run 0 crm-segment -f csv --fields id "event(\"cart_add\", 7d) > 0" &&
	expect_eq "id
C001" "$(cat out)"
'

test_expect 'an unknown field points at its column and suggests the name (exit 2)' '
	run 2 crm-segment "orders >= 1 and ordres > 2" &&
	expect_eq "crm-segment: expression:1:17: unknown field \"ordres\" (did you mean \"orders\"?)" "$(cat err)"
'

test_expect 'injection attempts are bound values, the base is intact' '
	run 0 crm-segment -c "email = \"x'\''; DROP TABLE customers; --\"" &&
	expect_eq 0 "$(cat out)" &&
	run 2 crm-segment "1; DROP TABLE customers" &&
	expect_eq 7 "$(sql "SELECT count(*) FROM customers")"
'

test_expect '10000 nested parentheses are a clean error' '
	deep=$(awk "BEGIN { for (i = 0; i < 10000; i++) printf \"(\"; printf \"1\"; for (i = 0; i < 10000; i++) printf \")\" }") &&
	run 2 crm-segment "$deep" &&
	expect_grep "expression:1:" err
'

test_expect '--sql shows the query with numbered parameters, runs nothing' '
	run 0 crm-segment --db nosuch.db --sql "city in (\"Kazan\", \"Berlin\")" &&
	expect_grep "c.city IN (?1, ?2)" out &&
	expect_grep "-- ?2 = '\''Berlin'\''" out &&
	test ! -e nosuch.db
'

test_expect '--fields, --order-by, --limit, formats' '
	run 0 crm-segment -f jsonl --fields id,city --order-by city:desc --limit 2 &&
	expect_eq "{\"id\":\"C002\",\"city\":\"New York\"}
{\"id\":\"C004\",\"city\":\"London\"}" "$(cat out)" &&
	expect_eq 2 "$(wc -l <out | tr -d " ")" &&
	run 2 crm-segment --fields id,nosuch &&
	expect_grep "unknown field \"nosuch\"" err
'

test_expect 'no matches: csv still has its header' '
	run 0 crm-segment -f csv "orders > 100" &&
	expect_eq "id,email,phone,first_name" "$(cat out)"
'

test_expect 'the connection is read-only: the file is not changed' '
	cp crm.db before.db && crm-segment -c "orders > 0" >/dev/null &&
	cmp crm.db before.db
'

test_expect 'a missing database is an error that says what to do' '
	run 1 crm-segment --db none.db "orders > 0" &&
	expect_grep "crm-import customers FILE" err && test ! -e none.db
'

test_done
