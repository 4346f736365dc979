#!/bin/sh
# make demo: the whole pipeline on the example data, with the default
# database ./crm.db. Each command is printed before it runs, after "$ ",
# quoted as one would type it: the lines can be pasted into a shell in
# this directory. Running it again on the same base imports the same
# files again and shows that the base is as it was.
# Usage: sh examples/demo.sh [BIN_DIR]
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:-build/bin}
case $BIN in /*) ;; *) BIN=$top/$BIN ;; esac
cd "$top"
ex=examples
# ./crm.db whatever the environment says: never a real base of the user's
unset CRM_DB CRM_CONFIG

# q ARG...: the arguments as sh needs them typed, each after a space;
# single quotes around any with a character the shell would take for its own
q() {
	for a; do
		case $a in
		'' | *[!A-Za-z0-9_./:=,@%+-]*)
			printf " '%s'" "$(printf '%s' "$a" | sed "s/'/'\\\\''/g")" ;;
		*) printf ' %s' "$a" ;;
		esac
	done
}

# step CMD ARG...: prints the command, quoted, and runs it; exit 3 means
# "done, some rows rejected", expected with this dirty data
step() {
	printf '\n$%s\n' "$(q "$@")"
	"$@" </dev/null || [ $? -eq 3 ]
}

# sh_step LINE: a command line with pipes or redirections, printed as it is
# and run by this shell (eval), so that what is shown is what runs
sh_step() {
	printf '\n$ %s\n' "$1"
	eval "$1" </dev/null || [ $? -eq 3 ]
}

# the base's content: every row of every table but the log of tracked
# segment runs (each crm-segment --track adds a line to it)
content() { sqlite3 crm.db .dump | grep -v '^INSERT INTO segment_runs ' | cksum; }

rerun=
if [ -e crm.db ]; then
	rerun=1
	before=$(content)
	printf './crm.db is there from an earlier run: the same commands again, on the same\n'
	printf 'base, must change nothing (rm crm.db to start afresh).\n'
else
	# a new base: the outbox file of an old one (crm-send appends) goes with it
	rm -f $ex/outbox.mbox
fi

printf '\nThe programs of this tree, and a fixed "now" so that every run prints the same:\n'
sh_step "cd$(q "$top")"
sh_step "export PATH=$(q "$BIN" | cut -c2-):\"\$PATH\" CRM_NOW=$(q "${CRM_NOW:-2026-11-23 09:00:00}" | cut -c2-)"
sh_step "unset CRM_DB CRM_CONFIG    # the base is ./crm.db"

step crm-import customers $ex/customers.csv --default-country RU --rejects $ex/rejects.csv
[ -z "$rerun" ] ||
	printf '(customers.csv has C0003 twice, plan "free" on line 4 and "pro" on line 23:\nboth rows are written again, and C0003 ends as it was.)\n'
step crm-import orders $ex/orders.csv
step crm-import events $ex/events.jsonl
step crm-import consents $ex/consents.csv

printf '\nRejected rows were kept in %s:\n' "$ex/rejects.csv"
step cat $ex/rejects.csv

printf '\nWhat is in the base (./crm.db), money by currency:\n'
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
GROUP BY currency ORDER BY currency;"
sqlite3 -box crm.db "
SELECT external_id, email, phone, first_name, city, country, attrs
FROM customers ORDER BY external_id LIMIT 8;"

printf '\nSegments: who to talk to. revenue adds amounts up as they are, whatever\n'
printf 'their currency, so rank within one: the customers in Russia pay in RUB.\n'
step crm-segment -f table --fields id,first_name,city,orders,revenue,days_since_last_order \
	--order-by revenue:desc --limit 5 'orders >= 1 and country = "RU"'
step crm-segment -c 'orders = 0'
step crm-segment --save lapsed --description 'bought, but not for 90 days' \
	'days_since_last_order > 90 and orders >= 1'
# the nightly job (examples/nightly.sh): record today's members, print the newcomers
step crm-segment -s lapsed --track --entered -f table --fields id,email,last_order_at
step crm-segment -f table --why C0001 -s lapsed
# segments compose in pipes: lapsed customers who may get e-mail
sh_step "crm-segment -s lapsed | crm-segment -f table 'consent(\"email\")'"

if [ -z "$rerun" ]; then
	# crm-track, the return path, on a free port of this machine; its clock
	# starts the evening after the send (--now), when people read their mail
	printf '\nThe return path: crm-track records unsubscribes, clicks and opens.\n'
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
	# (started with port 0 above; shown with the port it took, so that the
	# URLs below reach it when pasted)
	printf '\n$ crm-track --listen 127.0.0.1:%s --now '\''2026-11-24 19:00:00'\'' 2>%s &\n' \
		"$port" "$ex/track.log"
	printf '(port %s: the free port crm-track took when given 127.0.0.1:0)\n' "$port"
	printf '\nThe example configuration, with crm-track'\''s address as the public URL:\n'
	sh_step "{ cat $ex/crm.conf.example; printf '\\n[tracking]\\nurl = http://127.0.0.1:$port\\nopens = yes\\n'; } >$ex/demo.conf && chmod 600 $ex/demo.conf"
else
	printf '\n(The readers'\'' click, open and unsubscribe happened in the first run; done\n'
	printf 'again they would be new clicks, so this run leaves crm-track out.)\n'
	[ -e $ex/demo.conf ] || {
		{ cat $ex/crm.conf.example; printf '\n[tracking]\nurl = http://127.0.0.1:8080\n'; } >$ex/demo.conf
		chmod 600 $ex/demo.conf
	}
fi

printf '\nThe winback message for them, rendered to an mbox instead of sent,\n'
printf 'with 30%% held out as a control group; its links go through crm-track:\n'
sh_step "crm-segment -s lapsed | crm-segment 'consent(\"email\")' |
    crm-send --config $ex/demo.conf --campaign demo-winback --channel file --consent email \\
    --mbox --output $ex/outbox.mbox --template $ex/winback.tmpl --control 30% -f table"
printf '\nThe first message in %s:\n' "$ex/outbox.mbox"
sed -n '/^From MAILER/,/^$/p' $ex/outbox.mbox | head -12

# the Nth message of the mbox, its quoted-printable lines joined
msg() {
	awk -v n="$1" '/^From MAILER-DAEMON/ { k++ } k == n' $ex/outbox.mbox |
		sed -e :a -e '/=$/{N;s/=\n//;ba' -e '}' | sed 's/=3D/=/g'
}

if [ -z "$rerun" ]; then
	# what the readers do: the messages' own URLs, over HTTP (the host and
	# port of this run's crm-track)
	here() { echo "http://127.0.0.1:$port/${1#http://*/}"; }
	click=$(msg 1 | grep -o 'http://[^" <>]*/c/[^" <>]*' | head -n 1)
	pixel=$(msg 2 | grep -o 'http://[^" <>]*/o/[^" <>]*' | head -n 1)
	unsub=$(msg 3 | sed -n 's/^List-Unsubscribe: <\([^>]*\)>.*/\1/p' | head -n 1)
	browser='Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0'
	printf '\nThe first reader clicks "Shop the sale":\n'
	step curl -s -o /dev/null -A "$browser" -w '%{http_code} -> %{redirect_url}\n' "$(here "$click")"
	printf '\nThe second reader'\''s mail program shows the pictures (the pixel):\n'
	step curl -s -o /dev/null -A "$browser" -w '%{http_code} %{content_type}\n' "$(here "$pixel")"
	printf '\nThe third reader presses "Unsubscribe" in the mail program (RFC 8058):\n'
	step curl -s -o /dev/null -w '%{http_code}\n' -X POST -d List-Unsubscribe=One-Click "$(here "$unsub")"
	printf '\nA link checker that tries a forged link gets nothing:\n'
	step curl -s -w ' (%{http_code})\n' \
		"http://127.0.0.1:$port/c/1-0123456789abcdef/1?u=https%3A%2F%2Fevil.example"
	printf '\nThe end of crm-track (the last job started in the background):\n'
	sh_step 'kill $!'
	wait $track_pid || true
	trap - EXIT
	printf '\ncrm-track'\''s log (customers by id, never by address):\n'
	step cat $ex/track.log
fi

# a bounce comes back: a DSN quoting the fourth message (sent for real,
# VERP would name it by its envelope sender; see README "Getting bounces
# back"), as a mail server's pipe hands it to crm-import
rcpt=$(msg 4 | sed -n 's/^To: .*<\(.*\)>.*/\1/p; s/^To: \([^<]*@[^ ]*\)$/\1/p' | head -n 1 | tr -d '\r')
mid=$(msg 4 | sed -n 's/^Message-ID: //p' | head -n 1 | tr -d '\r')
printf '\nThe next night, the fourth message comes back: its server never had %s.\n' "$rcpt"
printf 'A mail server hands such a report to crm-import bounces (in /etc/aliases:\n'
printf 'bounces: "|crm-import bounces"); here, the example report addressed to it:\n'
sh_step "sed$(q -e "s/@RCPT@/$rcpt/g" -e "s/@MESSAGE_ID@/$mid/" $ex/bounce-dsn.eml) |
    crm-import -v --now '2026-11-24 03:13:00' bounces"
printf '\nWhat came back, on the customer'\''s card:\n'
sh_step "crm-report -f csv --now '2026-11-24 04:00:00' customer$(q "$rcpt") |
    grep -E '^(section|suppression|returned),'"

printf '\nA week later, the opens, clicks and orders since then:\n'
sh_step "export CRM_NOW='2026-11-30 09:00:00'"
step crm-import events $ex/week-after-events.jsonl
step crm-import orders $ex/week-after-orders.csv
printf '\nDid it pay off? The campaign against its control group, and the whole base\n'
printf '(money in each currency apart):\n'
step crm-report -f table campaign demo-winback
step crm-report -f table summary
step crm-report --html $ex/report.html campaign demo-winback
printf '(open %s in a browser: charts, no network needed)\n' "$ex/report.html"

if [ -n "$rerun" ]; then
	if [ "$(content)" = "$before" ]; then
		printf '\nRun again on the same base: nothing changed. crm.db holds the same rows as\n'
		printf 'before this run (crm-segment --track logged one more run: 0 entered, 0 exited).\n'
	else
		printf '\nRun again on the same base, and crm.db changed: that is a bug of crmkit.\n' >&2
		exit 1
	fi
fi
printf '\nNext: man ./man/crm-import.1 ./man/crm-segment.1 ./man/crm-score.1 ./man/crm-send.1\n./man/crm-report.1 ./man/crm-track.1 ./man/crm-loyalty.1 ./man/crm.7,\n'
printf 'examples/nightly.sh, examples/coupons.sh, examples/crm-track.service, or query crm.db\nwith sqlite3.\n'
