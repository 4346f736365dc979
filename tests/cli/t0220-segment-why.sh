#!/bin/sh
# crm-segment --why: every clause with one customer's value and whether it
# held; --sample.
. "$CRM_TOP/tests/lib.sh"

test_expect 'setup: the fixture base' '
	crm-import customers "$FIX/customers.csv" 2>/dev/null || true
	crm-import orders "$FIX/orders.csv" 2>/dev/null || true
	crm-import events "$FIX/events.jsonl" 2>/dev/null || true
	crm-import consents "$FIX/consents.csv" 2>/dev/null || true
	expect_eq 4 "$(sql "SELECT count(*) FROM orders")"
'

# By hand, at 2026-11-23 12:00: C001 has 2 orders, the last on 2026-03-01
# 06:30 UTC (267 days before), lives in Kazan, revoked sms on 2026-06-01;
# C002 has none (its only order was refunded).
test_expect '--why: each clause, its value, whether it held (nested)' '
	run 0 crm-segment --why C001 -f csv "orders >= 1 and (city = \"Kazan\" or not consent(\"sms\")) and days_since_last_order > 300" &&
	expect_eq "clause,value,holds
\"orders >= 1 and (city = \"\"Kazan\"\" or not consent(\"\"sms\"\")) and days_since_last_order > 300\",,no
\"  orders >= 1\",2,yes
\"  (city = \"\"Kazan\"\" or not consent(\"\"sms\"\"))\",,yes
\"    city = \"\"Kazan\"\"\",Kazan,yes
\"    not consent(\"\"sms\"\")\",,yes
\"      consent(\"\"sms\"\")\",no,no
\"  days_since_last_order > 300\",267,no" "$(cat out)"
'

test_expect '--why: missing values are null and do not hold' '
	run 0 crm-segment --why C002 -f csv "days_since_last_order > 30" &&
	expect_eq "clause,value,holds
days_since_last_order > 30,null,no (null)" "$(cat out)"
'

test_expect '--why: durations in days and hours; the customer by e-mail or phone' '
	run 0 crm-segment --why "Anna.Ivanova@Example.com" -f tsv "opened(\"winback-2026-11\") < 30d" &&
	expect_eq "clause	value	holds
opened(\"winback-2026-11\") < 30d	22d 2h	yes" "$(cat out)" &&
	run 0 crm-segment --why "+7 916 123-45-67" -f tsv "opened(\"winback-2026-11\") < 30d and orders > 0" &&
	expect_grep "  opened(\"winback-2026-11\") < 30d	22d 2h	yes" out
'

test_expect '--why with a saved segment, and for an unknown customer' '
	crm-segment --save buyers "orders >= 1" 2>/dev/null &&
	run 0 crm-segment --why C999 -s buyers -f csv &&
	expect_eq "clause,value,holds
orders >= 1,1,yes" "$(cat out)" &&
	run 1 crm-segment --why C404 "orders >= 1" &&
	expect_eq "crm-segment: --why: no customer with id \"C404\"" "$(cat err)"
'

# --sample: 7 customers in the base.
test_expect '--sample N: N of the matches, the same for the same seed' '
	run 0 crm-segment --sample 3 --seed 7 -f csv --fields id,email &&
	expect_eq 4 "$(wc -l <out | tr -d " ")" &&
	cp out first &&
	run 0 crm-segment --sample 3 --seed 7 -f csv --fields id,email &&
	expect_same first out &&
	crm-segment -f csv --fields id,email >all &&
	while read -r line; do grep -qxF -- "$line" all; done <out
'

test_expect '--sample: other seeds pick other customers; the sample nests' '
	seen=$(for s in 1 2 3 4 5 6 7 8; do crm-segment --sample 3 --seed $s -f csv --fields customer_id | tail -n +2 | sort | tr "\n" " "; echo; done | sort -u | wc -l) &&
	test "$seen" -gt 1 &&
	# the 2-sample is the first two of the 3-sample by key: a subset
	crm-segment --sample 2 --seed 5 -f csv --fields id,email >two &&
	crm-segment --sample 3 --seed 5 -f csv --fields id,email >three &&
	while read -r line; do grep -qxF -- "$line" three; done <two
'

test_expect '--sample P%: rounded share of the matches; -c counts the sample' '
	run 0 crm-segment --sample 50% --seed 1 -c &&
	expect_eq 4 "$(cat out)" &&
	run 0 crm-segment --sample 10% --seed 1 -c &&
	expect_eq 1 "$(cat out)" &&
	run 0 crm-segment --sample 100% --seed 1 -c "orders >= 1" &&
	expect_eq 2 "$(cat out)" &&
	run 0 crm-segment --sample 1000 --seed 1 -c &&
	expect_eq 7 "$(cat out)" &&
	run 0 crm-segment --sample 10% -f csv --fields id "orders > 100" &&
	expect_eq "id" "$(cat out)" &&
	run 2 crm-segment --sample 0% &&
	run 2 crm-segment --sample 101% &&
	run 2 crm-segment --sample ten &&
	expect_grep "invalid --sample \"ten\"" err &&
	run 2 crm-segment --seed 3 &&
	expect_grep "--seed goes with --sample" err
'

test_done
