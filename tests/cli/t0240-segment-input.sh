#!/bin/sh
# crm-segment: customers on standard input (or --input) are filtered
# instead of the whole base, so segments compose in pipes.
. "$CRM_TOP/tests/lib.sh"

test_expect 'setup: the fixture base' '
	crm-import customers "$FIX/customers.csv" 2>/dev/null || true
	crm-import orders "$FIX/orders.csv" 2>/dev/null || true
	crm-import events "$FIX/events.jsonl" 2>/dev/null || true
	expect_eq 7 "$(sql "SELECT count(*) FROM customers")"
'

test_expect 'a pipe of two segments is the intersection, in input order' '
	crm-segment --no-input -f csv --order-by id:desc "city is not null" |
		crm-segment -f csv --fields id "orders = 0" >out &&
	expect_eq "id
C005
C004
C003
C002" "$(cat out)"
'

test_expect 'JSON lines in, and a customer without an id found by e-mail' '
	crm-segment --no-input -f jsonl "orders = 0" |
		crm-segment -f csv --fields id,email "email is not null" >out &&
	expect_eq "id,email
C002,bob@example.com
C005,mehmet@example.com.tr
,fresh@example.com" "$(cat out)"
'

test_expect 'a plain list of ids, e-mails and phones; misses are warnings with lines' '
	printf "C003\nnope\n BOB@example.com\n+7 916 123-45-67\nC003\n\nC404\n" >list &&
	crm-segment -f csv --fields id <list >out 2>err &&
	expect_eq "id
C003
C002
C001" "$(cat out)" &&
	expect_eq "crm-segment: <stdin>:2: warning: no customer with id \"nope\"
crm-segment: <stdin>:7: warning: no customer with id \"C404\"" "$(cat err)"
'

test_expect '--input FILE, with a header naming phone' '
	printf "name,phone\nx,+49 30 1234567\ny,0532 123 45 67\n" >in.csv &&
	run 0 crm-segment --input in.csv -f csv --fields id &&
	expect_eq "id
C003" "$(cat out)" &&
	expect_grep "in.csv:3: warning: invalid phone: no country for national number (-v shows it)" err &&
	expect_no_grep "0532" err
'

test_expect 'a header with no customer column is an error naming it' '
	printf "name,city\nx,Kazan\n" >bad.csv &&
	run 1 crm-segment --input bad.csv &&
	expect_eq "crm-segment: bad.csv:1: no column names the customers (id, customer_id, email or phone)" "$(cat err)"
'

test_expect 'an empty input matches nobody, with a warning; --no-input queries the base' '
	: | crm-segment -c "orders >= 0" >out 2>err &&
	expect_eq 0 "$(cat out)" &&
	expect_grep "no customers in the input" err &&
	: | crm-segment --no-input -c "orders >= 0" >out &&
	expect_eq 7 "$(cat out)"
'

test_expect '-c, --sample and saved segments work on piped customers too' '
	printf "id\nC001\nC002\nC003\n" >three.csv &&
	crm-segment -c <three.csv >out && expect_eq 3 "$(cat out)" &&
	crm-segment -c --sample 2 --seed 9 <three.csv >out && expect_eq 2 "$(cat out)" &&
	crm-segment --save buyers "orders >= 1" 2>/dev/null &&
	crm-segment -s buyers -f csv --fields id <three.csv >out &&
	expect_eq "id
C001" "$(cat out)"
'

test_expect 'erased customers are never found' '
	printf "id\nC004\n" >erase.csv && crm-import erase erase.csv 2>/dev/null &&
	printf "id\nC004\nC005\n" | crm-segment -f csv --fields id >out 2>err &&
	expect_eq "id
C005" "$(cat out)" &&
	expect_grep "<stdin>:2: warning: no customer with id \"C004\"" err
'

test_done
