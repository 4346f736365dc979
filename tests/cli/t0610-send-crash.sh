#!/bin/sh
# crm-send killed with SIGKILL at random moments, again and again, then
# run to the end: nobody receives anything twice, every outbox row ends
# in a final state, the file is intact, and only rows that were being
# transmitted when a kill came are in doubt. Every other round sends over
# four connections at once (--concurrency 4).
. "$CRM_TOP/tests/lib.sh"

ROUNDS=${CRASH_ROUNDS:-20}
start_smtpd || exit 1
cat >crm.conf <<EOF_
[smtp]
url = smtp://127.0.0.1:$SMTP_PORT
[email]
from = shop@example.com
EOF_
chmod 600 crm.conf
printf 'Subject: {{first_name}}, hello\n\nHello {{first_name}}.\n' >t.tmpl

test_expect 'setup: 800 customers' '
	awk "BEGIN { print \"id,email,first_name,email_consent\";
		for (i = 1; i <= 800; i++) printf \"Z%03d,z%03d@example.com,Zed%d,yes\n\", i, i, i }" >z.csv &&
	crm-import customers z.csv 2>/dev/null &&
	crm-segment --no-input -f csv >all.csv &&
	expect_eq 801 "$(wc -l <all.csv | tr -d " ")"
'

test_expect "$ROUNDS kills at random moments" '
	i=0; killed=0
	while [ $i -lt $ROUNDS ]; do
		i=$((i + 1))
		crm-send --campaign crash --channel email --template t.tmpl --rate 100/s \
			--concurrency $((i % 2 ? 4 : 1)) -q -f csv all.csv >>results.csv 2>>errors.log &
		pid=$!
		sleep "$(awk -v s=$i "BEGIN { srand(s); printf \"%.2f\", 0.05 + rand() * 0.35 }")"
		if kill_now $pid; then killed=$((killed + 1)); fi
	done
	echo "$killed of $ROUNDS runs killed mid-way" &&
	test $killed -eq $ROUNDS	# (800 at 100/s cannot end in 0.4 s)
'

test_expect 'the file is intact after the kills' '
	expect_eq ok "$(sql "PRAGMA integrity_check")"
'

test_expect 'a last run finishes the campaign' '
	run 0 crm-send --campaign crash --channel email --template t.tmpl -f csv all.csv &&
	expect_eq 0 "$(sql "SELECT count(*) FROM messages WHERE status NOT IN
		('\''sent'\'', '\''in_doubt'\'', '\''suppressed'\'', '\''control'\'', '\''bounced'\'', '\''failed'\'')")" &&
	expect_eq 800 "$(sql "SELECT count(*) FROM messages")"
'

test_expect 'nobody received anything twice; sent rows were delivered once' '
	cut -f1 spool/log | sort | uniq -d >twice &&
	expect_eq "" "$(cat twice)" &&
	sql "SELECT address FROM messages WHERE status = '\''sent'\'' ORDER BY 1" >sent &&
	cut -f1 spool/log | sort >delivered &&
	comm -23 sent delivered >sent_not_delivered &&
	expect_eq "" "$(cat sent_not_delivered)"
'

test_expect 'every delivery is a sent or in_doubt row; in doubt only what a kill interrupted' '
	sql "SELECT address FROM messages WHERE status IN ('\''sent'\'', '\''in_doubt'\'') ORDER BY 1" >may &&
	comm -13 may delivered >unexpected &&
	expect_eq "" "$(cat unexpected)" &&
	doubt=$(sql "SELECT count(*) FROM messages WHERE status = '\''in_doubt'\''") &&
	echo "$doubt rows in doubt" &&
	test "$doubt" -le $((ROUNDS * 10)) &&
	expect_eq "$doubt" "$(sql "SELECT count(*) FROM messages WHERE status = '\''in_doubt'\'' AND reason = '\''interrupted while transmitting'\''")"
'

test_expect '--resend-in-doubt delivers the rest, with their first Message-IDs' '
	run 0 crm-send --campaign crash --channel email --template t.tmpl --retry --resend-in-doubt -f csv &&
	expect_eq 800 "$(cut -f1 spool/log | sort -u | wc -l | tr -d " ")" &&
	expect_eq "" "$(sql "SELECT message_id FROM messages" | sort >ids; cut -f2 spool/log | sort -u >got; comm -13 ids got)"
'

test_done
