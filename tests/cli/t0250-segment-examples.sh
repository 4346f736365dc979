#!/bin/sh
# The examples of the documentation run: every expression of crm(7)'s
# example block against the fixture base, with the answer worked out by
# hand, and every command of crm-segment(1)'s EXAMPLES.
. "$CRM_TOP/tests/lib.sh"

# The fixture base at 2026-11-23 12:00 (CRM_NOW), by hand:
#   C001 Anna, Kazan RU, plan pro, birthday 02-14, e-mail consent, sms
#        revoked 2026-06-01; orders 2026-01-15 and 2026-03-01 (2224.50);
#        opened winback-2026-11 on 11-01, cart_add on 11-20
#   C002 Bob, New York US, plan free, only order refunded, e-mail revoked
#   C003 Jürgen, Berlin DE, no e-mail, birthday 12-01 (in 8 days)
#   C004 Olivia, London GB, plan pro, no e-mail
#   C005 Mehmet, Istanbul TR, plan free, e-mail ...com.tr with consent
#   C999 stub from an order (2026-02-02, 5 EUR), no country
#   a stub from an event, fresh@example.com, no id, no country
cat >"$TEST_DIR/answers" <<'EOF_'
orders = 0	5
days_since_last_order > 30 and orders >= 1	2
orders >= 2 and orders(90d) = 0	1
birthday_in(10d) or consent("sms")	1
revenue(365d) > 1000 and city in ("Kazan", "Izhevsk")	1
event("cart_add", 7d) and orders(7d) = 0	1
opened("winback-2026-11") and orders(30d) = 0	1
attr.plan = "pro" and email ~ "@example\.com$"	1
email !~ "\.tr$"	4
consent("email") and not unsubscribed("email")	2
first_name like "O%" or country is null	3
aov * orders >= 1000 and last_order_at < 2026-06-01	1
phone is not null and not (country in ("RU", "KZ"))	4
tenure_days between 300 and 400	1
first_order_at between 2026-01-01 and now() - 30d	2
revenue / 2 > 1000 or -orders < -1	1
is_stub	2
EOF_

test_expect 'setup: the fixture base' '
	crm-import customers "$FIX/customers.csv" 2>/dev/null || true
	crm-import orders "$FIX/orders.csv" 2>/dev/null || true
	crm-import events "$FIX/events.jsonl" 2>/dev/null || true
	crm-import consents "$FIX/consents.csv" 2>/dev/null || true
	expect_eq 7 "$(sql "SELECT count(*) FROM customers")"
'

# The example block: from ".Ss Expressions" to its first ".Ed", without
# mdoc requests and comments, with mdoc escapes undone.
sed -n '/^\.Ss Expressions/,/^\.Ed/p' "$CRM_TOP/man/crm.7" |
	sed -n '/^\.Bd/,/^\.Ed/p' | grep -v '^\.' |
	sed -e 's/\\e/\\/g' -e 's/[[:space:]]*#.*$//' >"$TEST_DIR/examples"

test_expect 'crm.7 has examples, and the test knows the answer of each' '
	test "$(wc -l <examples)" -ge 15 &&
	cut -f1 answers | sort >known && sort examples >shown &&
	expect_same known shown
'

while IFS="	" read -r expr answer; do
	test_expect "crm.7 example: $expr" '
		run 0 crm-segment -c "$expr" &&
		expect_eq "$answer" "$(cat out)"
	'
done <"$TEST_DIR/answers"

# crm-segment(1) EXAMPLES: each .Dl command runs in order on the same base
# (the saved segment of one is used by the next) without error.
sed -n '/^\.Sh EXAMPLES/,/^\.Sh /p' "$CRM_TOP/man/crm-segment.1" |
	sed -n 's/^\.Dl //p' | sed -e 's/\\(dq/"/g' -e 's/\\e/\\/g' >"$TEST_DIR/commands"

test_expect 'crm-segment(1) EXAMPLES are all crm-segment commands' '
	test "$(wc -l <commands)" -ge 8 &&
	expect_eq "$(wc -l <commands)" "$(grep -c "crm-segment " commands)"
'

n=0
while IFS= read -r cmd; do
	n=$((n + 1))
	test_expect "crm-segment(1) example $n: $cmd" '
		( eval "$cmd" ) >out 2>err || { echo "exit $?: $cmd"; cat err; exit 1; } &&
		expect_no_grep "error" err &&
		case $cmd in
		*" -c "*) grep -qx "[0-9][0-9]*" out ;;
		*"--why"*) expect_grep "clause" out ;;
		*"-f audience"*) test "$(wc -l <audience.txt)" -ge 2 ;;
		*"--save"*) expect_grep "saved" err ;;
		*"--track"*) expect_grep "tracked at" err && expect_grep "id,email" out ;;
		*"--entered --exited"*) expect_grep "change,id" out ;;
		*) expect_grep "id," out ;;
		esac
	'
done <"$TEST_DIR/commands"

test_done
