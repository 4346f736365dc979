#!/bin/sh
# Right to erasure: personal data gone from the file, only a keyed hash
# left, and an old list cannot bring the person back.
. "$CRM_TOP/tests/lib.sh"

test_expect 'erase by e-mail removes the person and their events and consents' '
	crm-import customers "$FIX/customers.csv" 2>/dev/null &&
	crm-import orders "$FIX/orders.csv" 2>/dev/null || true
	crm-import events "$FIX/events.jsonl" 2>/dev/null || true
	printf "email\nAnna.Ivanova@example.com\n" >erase.csv &&
	run 0 crm-import erase erase.csv &&
	expect_grep "1 customers erased" err &&
	expect_eq 0 "$(sql "SELECT count(*) FROM customers WHERE email = '\''anna.ivanova@example.com'\'' OR external_id = '\''C001'\''")" &&
	expect_eq 0 "$(sql "SELECT count(*) FROM events e JOIN customers c ON c.id = e.customer_id WHERE c.erased_at IS NOT NULL")" &&
	expect_eq 1 "$(sql "SELECT count(*) FROM customers WHERE erased_at IS NOT NULL AND email IS NULL AND phone IS NULL AND first_name IS NULL")"
'

test_expect 'orders stay for the totals, without personal attributes' '
	expect_eq 2 "$(sql "SELECT count(*) FROM orders o JOIN customers c ON c.id = o.customer_id WHERE c.erased_at IS NOT NULL")"
'

test_expect 'the erased address and phone are nowhere in the database or WAL file' '
	for f in crm.db crm.db-wal; do
		test ! -e "$f" || { ! grep -a -q -i "anna.ivanova" "$f" && ! grep -a -q "79161234567" "$f" && ! grep -a -q "Иванова" "$f"; } || { echo "found in $f"; exit 1; }
	done
'

test_expect 're-importing the old list flags the person instead of bringing them back' '
	run 3 crm-import customers "$FIX/customers.csv" &&
	expect_grep "customers.csv:2: external_id belongs to an erased person" err &&
	expect_eq 0 "$(sql "SELECT count(*) FROM customers WHERE external_id = '\''C001'\''")"
'

test_expect 'orders of an erased person do not create a stub' '
	printf "order_id,email,date,amount,currency\nX9,anna.ivanova@example.com,2026-01-01,1,RUB\n" >o.csv &&
	run 3 crm-import orders o.csv &&
	expect_grep "erased person" err &&
	expect_eq 0 "$(sql "SELECT count(*) FROM orders WHERE external_id = '\''X9'\''")"
'

test_expect 'a plain list of identifiers works; unknown ones are suppressed anyway' '
	printf "+1 212 555 0143\nnobody@example.com\nC003\n" >list.txt &&
	run 0 crm-import erase list.txt &&
	expect_grep "3 read, 2 customers erased, 1 identifiers not found" err &&
	printf "email\nnobody@example.com\n" >nb.csv &&
	run 3 crm-import customers nb.csv
'

test_expect 'erase reads the column names crm-import reads' '
	printf "Customer ID,Mobile Phone\nC004,\n,+90 532 123 45 67\n" >names.csv &&
	run 0 crm-import erase names.csv &&
	expect_grep "2 read, 2 customers erased, 0 identifiers not found" err
'

test_expect 'the suppression list holds hashes only' '
	expect_eq 0 "$(sql "SELECT count(*) FROM suppressions WHERE length(hash) != 64 OR hash GLOB '\''*[^0-9a-f]*'\''")" &&
	test "$(sql "SELECT count(*) FROM suppressions")" -ge 6
'

test_expect 'the file is intact after erasure' '
	expect_eq ok "$(sql "PRAGMA integrity_check")"
'

test_done
