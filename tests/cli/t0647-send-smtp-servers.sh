#!/bin/sh
# crm-send against SMTP servers that behave as real ones do (issue 22): a
# reply to the final "." that never comes or comes late, a limit of
# messages per connection (421 at MAIL), 421 at connect and at MAIL, a
# close on DATA, a rate limit (450 at MAIL), a slow reply on every
# message. With 1 and with 4 connections, every recipient ends in a final
# state in one run, nobody receives anything twice, and the only rows in
# doubt are those whose reply the server really withheld.
. "$CRM_TOP/tests/lib.sh"

printf 'Subject: Hi {{first_name}}\n\nHello {{first_name}} ({{id}}).\n' >m.tmpl

# 30 plain recipients P01..P30 and some the server treats badly
test_expect 'setup: 36 customers' '
	{
		echo "id,email,first_name,email_consent"
		for i in $(seq -w 1 30); do echo "P$i,p$i@example.com,Pat$i,yes"; done
		echo "H1,hang-1@example.com,Hal,yes"
		echo "L1,late-1@example.com,Lee,yes"
		echo "C1,closedata-1@example.com,Cy,yes"
		echo "H2,hang-2@example.com,Hal,yes"
		echo "L2,late-2@example.com,Lee,yes"
		echo "C2,closedata-2@example.com,Cy,yes"
	} >people.csv &&
	crm-import customers people.csv 2>/dev/null &&
	crm-segment --no-input -f csv --fields id "id ~ \"^P\"" >plain.csv &&
	expect_eq 31 "$(wc -l <plain.csv | tr -d " ")"
'

# conf [KEY=VALUE...]: crm.conf for the server of start_smtpd, with a
# reply timeout of 1 s
conf() {
	{
		printf '[smtp]\nurl = smtp://127.0.0.1:%s\ntimeout = 1\n' "$SMTP_PORT"
		for _kv; do echo "${_kv%%=*} = ${_kv#*=}"; done
		printf '[email]\nfrom = Shop <shop@example.com>\n'
	} >crm.conf
	chmod 600 crm.conf
}

# statuses CAMPAIGN: "id status" of every row, sorted
statuses() {
	sql "SELECT c.external_id || ' ' || m.status FROM messages m
		JOIN customers c ON c.id = m.customer_id JOIN campaigns k ON k.id = m.campaign_id
		WHERE k.name = '$1' ORDER BY 1"
}

# once: no message (Message-ID: one per campaign and customer) in the
# spool log twice
once() {
	expect_eq "" "$(cut -f2 "$SPOOL/log" | sort | uniq -d)"
}

# restart [OPTIONS]: a new server for this test (it ends with the test's
# shell)
restart() {
	kill $SERVER_PIDS 2>/dev/null || true
	SERVER_PIDS=
	start_smtpd "$@"
}

# send CAMPAIGN CONCURRENCY FILE [OPTIONS]: one run (exit status in $rc)
send() {
	_c=$1 _n=$2 _f=$3
	shift 3
	set +e
	crm-send --campaign "$_c" --channel email --template m.tmpl --concurrency "$_n" \
		--backoff 0.05 --max-attempts 3 --max-wait 30 -f csv "$@" "$_f" >out 2>err
	rc=$?
	set -e
}

start_smtpd --late-delay 3 || exit 1
conf

for n in 1 4; do
	test_expect "hung and late replies to \".\" ($n connections): in doubt, everyone else sent in the same run" '
		{ echo id; echo H1; echo L1; cat plain.csv | tail -n +2; echo H2; echo L2; } >hl.csv &&
		send hl$n $n hl.csv &&
		cat err &&
		expect_eq 0 "$rc" &&
		statuses hl$n >st &&
		expect_eq 30 "$(grep -c "^P.* sent\$" st)" &&
		expect_eq "H1 in_doubt H2 in_doubt L1 in_doubt L2 in_doubt" \
			"$(grep -v "^P" st | tr "\n" " " | sed "s/ \$//")" &&
		expect_grep "no reply after the message was sent" out &&
		once
	'
	test_expect "a close on DATA ($n connections): the message is tried again, then fails; nobody else is held up" '
		{ echo id; echo C1; head -11 plain.csv | tail -n +2; echo C2; } >cd.csv &&
		send cd$n $n cd.csv &&
		expect_eq 3 "$rc" &&
		statuses cd$n >st &&
		expect_eq 10 "$(grep -c "^P.* sent\$" st)" &&
		expect_eq "C1 failed C2 failed" "$(grep -v "^P" st | tr "\n" " " | sed "s/ \$//")" &&
		expect_grep "gave up after 3 attempts: connection lost" out &&
		once
	'
done

# a limit per connection, 421 at connect and at MAIL: all sent, each once
for mode in "--max-per-conn 3" "--connect-421 3" "--mail-421-rate 0.2 --seed 3"; do
	name=$(echo "$mode" | tr -dc a-z0-9)
	test_expect "$mode: every recipient sent in one run, over 1 and over 4 connections" '
		restart $mode &&
		conf &&
		send a$name 1 plain.csv &&
		cat err &&
		expect_eq 0 "$rc" &&
		expect_eq 30 "$(statuses a$name | grep -c " sent\$")" &&
		send b$name 4 plain.csv &&
		cat err &&
		expect_eq 0 "$rc" &&
		expect_eq 30 "$(statuses b$name | grep -c " sent\$")" &&
		expect_eq 60 "$(wc -l <"$SPOOL/log" | tr -d " ")" &&
		once &&
		test -s "$SPOOL/refusals"
	'
done

test_expect 'a limit of 3 per connection is learnt: after the first 421 a new connection every 3' '
	restart --max-per-conn 3 &&
	conf &&
	send learn 1 plain.csv &&
	expect_eq 0 "$rc" &&
	expect_eq 1 "$(grep -c "421 mail" "$SPOOL/refusals")" &&
	expect_eq 10 "$(cut -f3 "$SPOOL/log" | sort -u | wc -l | tr -d " ")"
'

test_expect '[smtp] max_messages_per_connection = 3: no 421 at all' '
	restart --max-per-conn 3 &&
	conf max_messages_per_connection=3 &&
	send conf3 1 plain.csv &&
	expect_eq 0 "$rc" &&
	test ! -e "$SPOOL/refusals" &&
	expect_eq 10 "$(cut -f3 "$SPOOL/log" | sort -u | wc -l | tr -d " ")"
'

test_expect 'a max_messages_per_connection that is no number: an error naming the file and key' '
	conf max_messages_per_connection=ten &&
	run 1 crm-send --campaign badconf --channel email --template m.tmpl plain.csv &&
	expect_grep "crm.conf: [smtp] max_messages_per_connection: \"ten\" is not a whole number from 1 to 1000000" err &&
	expect_eq 0 "$(sql "SELECT count(*) FROM campaigns WHERE name = '\''badconf'\''")"
'

# 450 at MAIL after 5 messages in 2 s (a rate limit): crm-send waits,
# learns the rate and keeps below it
test_expect 'a rate limit (450 at MAIL): every recipient sent in one run, few refusals' '
	restart --rate-limit 5/2 &&
	conf &&
	head -16 plain.csv >fifteen.csv &&
	send rate 4 fifteen.csv &&
	cat err &&
	expect_eq 0 "$rc" &&
	expect_eq 15 "$(statuses rate | grep -c " sent\$")" &&
	once &&
	r=$(grep -c "450 rate" "$SPOOL/refusals") &&
	echo "$r refusals" &&
	test "$r" -ge 1 && test "$r" -le 8
'

test_expect 'a server that refuses every MAIL (450): stopped after --max-wait, nothing lost or transmitting' '
	restart --rate-limit 0/60 &&
	conf &&
	head -6 plain.csv >five.csv &&
	set +e
	crm-send --campaign refused --channel email --template m.tmpl --concurrency 2 \
		--max-wait 3 -f csv five.csv >out 2>err
	rc=$?
	set -e
	cat err &&
	expect_eq 1 "$rc" &&
	expect_grep "stopped: the server has refused every message for" err &&
	expect_grep "450 4.7.1 Error: too much mail" err &&
	expect_eq 0 "$(statuses refused | grep -c -v " deferred\$")" &&
	expect_eq 0 "$(sql "SELECT sum(attempts) FROM messages m JOIN campaigns k ON k.id = m.campaign_id WHERE k.name = '\''refused'\''")" &&
	test ! -e "$SPOOL/log"
'

# every reply to "." takes 1 s: 4 connections wait for theirs at once
test_expect 'a slow reply to "." on every message: 4 connections wait for theirs at once' '
	restart --dot-delay 1 &&
	conf timeout=5 &&
	head -13 plain.csv >twelve.csv &&
	send slow4 4 twelve.csv &&
	expect_eq 0 "$rc" &&
	expect_eq 12 "$(statuses slow4 | grep -c " sent\$")" &&
	expect_eq 4 "$(cat "$SPOOL/inflight")"
'

test_done
