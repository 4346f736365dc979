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

# a new base: the outbox file of an old one (crm-send appends) goes with it
[ -e crm.db ] || rm -f $ex/outbox.mbox

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

# crm-track, the return path, on a free port of this machine; its clock
# starts the evening after the send (--now), when people read their mail
printf '\nThe return path: crm-track records unsubscribes, clicks and opens.\n'
printf '$ crm-track --listen 127.0.0.1:0 --now "2026-11-24 19:00:00" &\n'
rm -f $ex/track.log
crm-track --listen 127.0.0.1:0 --now "2026-11-24 19:00:00" 2>$ex/track.log &
track_pid=$!
trap 'kill $track_pid 2>/dev/null' EXIT
i=0
until port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' $ex/track.log) && [ -n "$port" ]; do
	sleep 0.1
	i=$((i + 1))
	[ $i -lt 100 ] || { cat $ex/track.log; exit 1; }
done
# the example configuration, with crm-track's address as the public URL
{ cat $ex/crm.conf.example; printf '\n[tracking]\nurl = http://127.0.0.1:%s\nopens = yes\n' "$port"; } \
	>$ex/demo.conf
chmod 600 $ex/demo.conf

printf '\nThe winback message for them, rendered to an mbox instead of sent,\n'
printf 'with 30%% held out as a control group; its links go through crm-track:\n'
printf '\n$ crm-segment -s lapsed | crm-segment '\''consent("email")'\'' |\n'
printf '    crm-send --campaign demo-winback --channel file --mbox --output %s ...\n' "$ex/outbox.mbox"
crm-segment -s lapsed </dev/null | crm-segment 'consent("email")' |
	crm-send --config $ex/demo.conf --campaign demo-winback --channel file \
	--consent email --mbox --output $ex/outbox.mbox --template $ex/winback.tmpl \
	--control 30% -f table
printf '\nThe first message in %s:\n' "$ex/outbox.mbox"
sed -n '/^From MAILER/,/^$/p' $ex/outbox.mbox | head -12

# what the readers do: the messages' own URLs, over HTTP (the host and
# port of this run's crm-track: a second run's messages are the first's)
msg() {
	awk -v n="$1" '/^From MAILER-DAEMON/ { k++ } k == n' $ex/outbox.mbox |
		sed -e :a -e '/=$/{N;s/=\n//;ba' -e '}' | sed 's/=3D/=/g'
}
here() { echo "http://127.0.0.1:$port/${1#http://*/}"; }
click=$(msg 1 | grep -o 'http://[^" <>]*/c/[^" <>]*' | head -n 1)
pixel=$(msg 2 | grep -o 'http://[^" <>]*/o/[^" <>]*' | head -n 1)
unsub=$(msg 3 | sed -n 's/^List-Unsubscribe: <\([^>]*\)>.*/\1/p' | head -n 1)
browser='Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0'
printf '\nThe first reader clicks "Shop the sale":\n$ curl %s\n' "$(here "$click")"
curl -s -o /dev/null -A "$browser" -w '%{http_code} -> %{redirect_url}\n' "$(here "$click")"
printf '\nThe second reader'"'"'s mail program shows the pictures (the pixel):\n'
curl -s -o /dev/null -A "$browser" -w '%{http_code} %{content_type}\n' "$(here "$pixel")"
printf '\nThe third reader presses "Unsubscribe" in the mail program (RFC 8058):\n'
printf '$ curl -X POST -d List-Unsubscribe=One-Click %s\n' "$(here "$unsub")"
curl -s -o /dev/null -w '%{http_code}\n' -X POST -d List-Unsubscribe=One-Click "$(here "$unsub")"
printf '\nA link checker that tries a forged link gets nothing:\n'
curl -s -w ' (%{http_code})\n' "http://127.0.0.1:$port/c/1-0123456789abcdef/1?u=https%%3A%%2F%%2Fevil.example"
kill $track_pid
wait $track_pid || true
trap - EXIT
printf '\ncrm-track'"'"'s log (customers by id, never by address):\n'
cat $ex/track.log

# a bounce comes back: a DSN quoting the fourth message (sent for real,
# VERP would name it by its envelope sender; see README "Getting bounces
# back"), as a mail server's pipe hands it to crm-import
rcpt=$(msg 4 | sed -n 's/^To: .*<\(.*\)>.*/\1/p; s/^To: \([^<]*@[^ ]*\)$/\1/p' | head -n 1 | tr -d '\r')
mid=$(msg 4 | sed -n 's/^Message-ID: //p' | head -n 1 | tr -d '\r')
printf '\nThe next night, the fourth message comes back: its server never had %s.\n' "$rcpt"
printf '$ crm-import -v bounces < dsn.eml        # or: bounces: "|crm-import bounces" in /etc/aliases\n'
sed -e "s/@RCPT@/$rcpt/g" -e "s/@MESSAGE_ID@/$mid/" $ex/bounce-dsn.eml |
	crm-import -v --now "2026-11-24 03:13:00" bounces 2>&1 | sed 's/^/  /'
printf '\n$ crm-report customer %s   (the lines about what came back)\n' "$rcpt"
crm-report -f csv --now "2026-11-24 04:00:00" customer "$rcpt" | grep -E '^(section|suppression|returned),'

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
printf '\nNext: man ./man/crm-import.1 ./man/crm-segment.1 ./man/crm-score.1 ./man/crm-send.1\n./man/crm-report.1 ./man/crm-track.1 ./man/crm-loyalty.1 ./man/crm.7,\n'
printf 'examples/nightly.sh, examples/coupons.sh, examples/crm-track.service, or query crm.db\nwith sqlite3.\n'
