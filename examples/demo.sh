#!/bin/sh
# make demo: the whole pipeline on the example data, with the default
# database ./crm.db. Each step is printed before it runs. Running it again
# shows that importing the same files twice changes nothing.
# Usage: sh examples/demo.sh [BIN_DIR]
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:-build/bin}
case $BIN in /*) ;; *) BIN=$top/$BIN ;; esac
PATH=$BIN:$PATH
cd "$top"
ex=examples
# ./crm.db whatever the environment says: never a real base of the user's
unset CRM_DB CRM_CONFIG
# a fixed "now" so that the demo prints the same every time
CRM_NOW=${CRM_NOW:-2026-11-23 09:00:00}
export CRM_NOW

step() {
	printf '\n$ %s\n' "$*"
	# exit 3 means "done, some rows rejected": expected with this dirty data
	"$@" </dev/null || [ $? -eq 3 ]
}

step crm-import customers $ex/customers.csv --default-country RU --rejects $ex/rejects.csv
step crm-import orders $ex/orders.csv
step crm-import events $ex/events.jsonl
step crm-import consents $ex/consents.csv

printf '\nRejected rows were kept in %s:\n' "$ex/rejects.csv"
cat $ex/rejects.csv

printf '\nWhat is in the base (./crm.db):\n'
sqlite3 -box crm.db "
SELECT (SELECT count(*) FROM customers WHERE NOT is_stub) AS customers,
       (SELECT count(*) FROM customers WHERE is_stub) AS stubs,
       (SELECT count(*) FROM orders) AS orders,
       (SELECT count(*) FROM events) AS events,
       (SELECT count(*) FROM consents) AS consent_records;"
sqlite3 -box crm.db "
SELECT currency,
       count(*) AS completed_orders,
       count(DISTINCT customer_id) AS buyers,
       printf('%.2f', sum(amount) / 100.0) AS revenue,
       printf('%.2f', avg(amount) / 100.0) AS aov
FROM orders WHERE status NOT IN ('refunded', 'cancelled', 'returned')
GROUP BY currency ORDER BY sum(amount) DESC;"
sqlite3 -box crm.db "
SELECT external_id, email, phone, first_name, city, country, attrs
FROM customers ORDER BY external_id LIMIT 8;"

printf '\nSegments: who to talk to.\n'
step crm-segment -f table --fields id,first_name,orders,revenue,days_since_last_order \
	--order-by revenue:desc --limit 5 'orders >= 1'
step crm-segment -c 'orders = 0'
step crm-segment --save lapsed --description 'bought, but not for 90 days' \
	'days_since_last_order > 90 and orders >= 1'
# the nightly job (examples/nightly.sh): record today's members, print the newcomers
step crm-segment -s lapsed --track --entered -f table --fields id,email,last_order_at
step crm-segment -f table --why C0001 -s lapsed
# segments compose in pipes: lapsed customers who may get e-mail
printf '\n$ crm-segment -s lapsed | crm-segment -f table '\''consent("email")'\''\n'
crm-segment -s lapsed </dev/null | crm-segment -f table 'consent("email")'

printf '\nThe winback message for them, rendered to an mbox instead of sent,\n'
printf 'with 30%% held out as a control group:\n'
printf '\n$ crm-segment -s lapsed | crm-segment '\''consent("email")'\'' |\n'
printf '    crm-send --campaign demo-winback --channel file --mbox --output %s ...\n' "$ex/outbox.mbox"
crm-segment -s lapsed </dev/null | crm-segment 'consent("email")' |
	crm-send --config $ex/crm.conf.example --campaign demo-winback --channel file \
	--consent email --mbox --output $ex/outbox.mbox --template $ex/winback.tmpl \
	--control 30% -f table
printf '\nThe first message in %s:\n' "$ex/outbox.mbox"
sed -n '/^From MAILER/,/^$/p' $ex/outbox.mbox | head -12

# a week later: the opens, clicks and orders that came in since
CRM_NOW="2026-11-30 09:00:00"
printf '\nA week later (now = %s), the opens, clicks and orders since then:\n' "$CRM_NOW"
step crm-import events $ex/week-after-events.jsonl
step crm-import orders $ex/week-after-orders.csv
printf '\nDid it pay off? The campaign against its control group, and the whole base:\n'
step crm-report -f table campaign demo-winback
step crm-report -f table summary
step crm-report --html $ex/report.html campaign demo-winback
printf '(open %s in a browser: charts, no network needed)\n' "$ex/report.html"
printf '\nNext: man ./man/crm-import.1 ./man/crm-segment.1 ./man/crm-send.1 ./man/crm-report.1\n./man/crm.7,\n'
printf 'examples/nightly.sh, or query crm.db with sqlite3.\n'
