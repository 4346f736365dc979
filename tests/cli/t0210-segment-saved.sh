#!/bin/sh
# crm-segment: saved segments (--save, -s, --list, --delete) and tracked
# membership over simulated nights (--track, --entered, --exited, --now).
. "$CRM_TOP/tests/lib.sh"

test_expect 'setup: the fixture base' '
	crm-import customers "$FIX/customers.csv" 2>/dev/null || true
	crm-import orders "$FIX/orders.csv" 2>/dev/null || true
	expect_eq 4 "$(sql "SELECT count(*) FROM orders")"
'

test_expect '--save stores a checked expression; --list shows it' '
	run 0 crm-segment --save lapsed --description "no order for 30 days" "days_since_last_order > 30" &&
	expect_eq "crm-segment: segment \"lapsed\" saved" "$(cat err)" &&
	run 0 crm-segment --list -f csv &&
	expect_eq "name,expression,description,members,tracked_at,updated_at
lapsed,days_since_last_order > 30,no order for 30 days,,,2026-11-23 12:00:00" "$(cat out)"
'

test_expect 'a broken expression is not saved (exit 2, with its column)' '
	run 2 crm-segment --save bad "orders >= 1 and ordres > 2" &&
	expect_grep "expression:1:17: unknown field \"ordres\"" err &&
	expect_eq 0 "$(sql "SELECT count(*) FROM segments WHERE name = '\''bad'\''")"
'

test_expect 'invalid names and wrong combinations are usage errors' '
	run 2 crm-segment --save "no spaces" "orders > 1" &&
	expect_grep "invalid segment name" err &&
	run 2 crm-segment --save x &&
	expect_grep "needs the expression" err &&
	run 2 crm-segment -s lapsed "orders > 1" &&
	expect_grep "cannot be combined" err &&
	run 2 crm-segment --track "orders > 1" &&
	expect_grep "needs a saved segment" err &&
	run 2 crm-segment --list --delete lapsed &&
	run 2 crm-segment --description x "orders > 1" &&
	expect_grep "goes with --save" err
'

test_expect '-s runs the saved expression at --now' '
	run 0 crm-segment -s lapsed -f csv --fields id --now 2026-02-20 &&
	expect_eq "id
C001" "$(cat out)" &&
	run 1 crm-segment -s nosuch &&
	expect_eq "crm-segment: no saved segment \"nosuch\" (crm-segment --list shows them)" "$(cat err)"
'

test_expect '--save again replaces the expression and keeps the description' '
	run 0 crm-segment --save tmp --description first "orders >= 1" &&
	run 0 crm-segment --save tmp "orders >= 2" &&
	expect_grep "replaced (it was: orders >= 1)" err &&
	expect_eq "orders >= 2|first" "$(sql "SELECT expr, description FROM segments WHERE name = '\''tmp'\''")"
'

# By hand: C001 ordered on 2026-01-15 and 2026-03-01 (06:30 UTC), C999 on
# 2026-02-02; lapsed means more than 30 days since the last order.
#   night 1, 2026-02-20: C001 36 days (in), C999 18 days (out)
#   night 2, 2026-03-10: C001  9 days (out), C999 36 days (in)
#   night 3, 2026-04-15: C001 45 days (in again), C999 72 days (still in)
test_expect 'night 1: everyone who matches enters' '
	run 0 crm-segment -s lapsed --track --entered -f csv --fields id --now 2026-02-20 &&
	expect_eq "id
C001" "$(cat out)" &&
	expect_grep "tracked at 2026-02-20 00:00:00: 1 members, 1 entered, 0 exited" err
'

test_expect 'a preview of night 2 records nothing' '
	run 0 crm-segment -s lapsed --entered --exited -f csv --fields id --now 2026-03-10 &&
	expect_eq "change,id
entered,C999
exited,C001" "$(cat out)" &&
	expect_eq 1 "$(sql "SELECT count(*) FROM segment_runs")"
'

test_expect '--dry-run --track prints the changes and writes nothing' '
	cp crm.db before.db &&
	run 0 crm-segment -n -s lapsed --track --exited -f csv --fields id --now 2026-03-10 &&
	expect_eq "id
C001" "$(cat out)" &&
	expect_grep "not tracked (dry run)" err &&
	expect_eq 1 "$(sql "SELECT count(*) FROM segment_runs")" &&
	expect_eq "$(sqlite3 before.db "SELECT * FROM segment_members")" "$(sql "SELECT * FROM segment_members")"
'

test_expect 'night 2: C001 exits, C999 enters' '
	run 0 crm-segment -s lapsed --track --entered --exited -f csv --fields id,email --now 2026-03-10 &&
	expect_eq "change,id,email
entered,C999,new.buyer@example.com
exited,C001,anna.ivanova@example.com" "$(cat out)" &&
	expect_grep "1 members, 1 entered, 1 exited" err
'

test_expect 'night 3: C001 comes back, C999 stays (not printed again)' '
	run 0 crm-segment -s lapsed --track --entered -f csv --fields id --now 2026-04-15 &&
	expect_eq "id
C001" "$(cat out)" &&
	run 0 crm-segment -s lapsed --track --entered --exited -f csv --fields id --now 2026-04-15 &&
	expect_eq "change,id" "$(cat out)"
'

test_expect 'the history: two stays for C001, one open stay for C999, four runs' '
	expect_eq "C001|2026-02-20 00:00:00|2026-03-10 00:00:00
C001|2026-04-15 00:00:00|
C999|2026-03-10 00:00:00|" "$(sql "SELECT c.external_id, m.entered_at, m.exited_at
		FROM segment_members m JOIN customers c ON c.id = m.customer_id
		ORDER BY c.external_id, m.entered_at")" &&
	expect_eq "2026-02-20 00:00:00|1|1|0
2026-03-10 00:00:00|1|1|1
2026-04-15 00:00:00|2|1|0
2026-04-15 00:00:00|2|0|0" "$(sql "SELECT run_at, members, entered, exited FROM segment_runs ORDER BY id")" &&
	run 0 crm-segment --list -f csv &&
	expect_grep "lapsed,days_since_last_order > 30,no order for 30 days,2,2026-04-15 00:00:00," out
'

test_expect 'runs cannot go back in time' '
	run 1 crm-segment -s lapsed --track --now 2026-04-01 &&
	expect_grep "last tracked at 2026-04-15 00:00:00, after --now 2026-04-01 00:00:00" err &&
	expect_eq 4 "$(sql "SELECT count(*) FROM segment_runs")"
'

test_expect 'erasure removes the history of a member; the next run does not see them' '
	id=$(sql "SELECT id FROM customers WHERE external_id = '\''C999'\''") &&
	expect_eq 1 "$(sql "SELECT count(*) FROM segment_members WHERE customer_id = $id")" &&
	printf "id\nC999\n" >erase.csv &&
	crm-import erase erase.csv 2>/dev/null &&
	expect_eq 0 "$(sql "SELECT count(*) FROM segment_members WHERE customer_id = $id")" &&
	run 0 crm-segment -s lapsed --track --exited -f csv --fields id --now 2026-04-16 &&
	expect_eq "id" "$(cat out)" &&
	expect_grep "1 members, 0 entered, 0 exited" err
'

test_expect 'tracking does not read standard input' '
	printf "id\nC002\n" | crm-segment -s lapsed --entered --exited -f csv --fields id --now 2026-04-17 >out &&
	expect_eq "change,id" "$(cat out)"
'

test_expect '--delete removes the segment and its history' '
	run 0 crm-segment --delete lapsed &&
	expect_eq "0|0|0" "$(sql "SELECT (SELECT count(*) FROM segments WHERE name = '\''lapsed'\''),
		(SELECT count(*) FROM segment_runs), (SELECT count(*) FROM segment_members)")" &&
	run 1 crm-segment --delete lapsed &&
	expect_grep "no saved segment \"lapsed\"" err
'

test_expect 'the integrity of the file after all that' '
	expect_eq ok "$(sql "PRAGMA integrity_check")" &&
	expect_eq "" "$(sql "PRAGMA foreign_key_check")"
'

test_done
