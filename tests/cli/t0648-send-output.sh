#!/bin/sh
# crm-send and what is around it (issue 22): a reader of its output that
# goes away (| head) or is slow, and a kill in the middle of a batch.
#  - a closed standard output stops the run after the batch in flight,
#    says so and how to go on, exits 1, and leaves nothing transmitting;
#    --retry then sends the rest, nobody twice;
#  - a slow reader never holds up another writer of the base: result lines
#    are printed after the commit, never under the write lock;
#  - a kill -9 while one message waits for its reply: only that one is in
#    doubt; the rows of the batch it never started go back to the queue.
. "$CRM_TOP/tests/lib.sh"

start_smtpd || exit 1
cat >crm.conf <<EOF_
[smtp]
url = smtp://127.0.0.1:$SMTP_PORT
timeout = 30
[email]
from = shop@example.com
EOF_
chmod 600 crm.conf
printf 'Subject: hello\n\nHello {{first_name}}.\n' >t.tmpl

# (more result lines than a pipe holds: 64 KiB)
test_expect 'setup: 1,200 customers' '
	awk "BEGIN { print \"id,email,first_name,email_consent\";
		print \"H0000,hang-0@example.com,Hal,yes\";
		for (i = 1; i < 1200; i++) printf \"C%04d,c%04d@example.com,C%d,yes\n\", i, i, i }" >c.csv &&
	crm-import customers c.csv 2>/dev/null &&
	crm-segment --no-input -f csv --fields id "id ~ \"^C\"" >all.csv &&
	expect_eq 1200 "$(wc -l <all.csv | tr -d " ")"
'

# status_counts CAMPAIGN: "status n" lines
status_counts() {
	sql "SELECT m.status || ' ' || count(*) FROM messages m JOIN campaigns k
		ON k.id = m.campaign_id WHERE k.name = '$1' GROUP BY m.status ORDER BY m.status"
}

test_expect 'crm-send | head -3: stops, says how to go on, exit 1, nothing left transmitting' '
	{ crm-send --campaign piped --channel email --template t.tmpl -f csv all.csv 2>err;
	  echo $? >rc; } | head -3 >out &&
	cat err &&
	expect_eq 3 "$(wc -l <out | tr -d " ")" &&
	expect_eq 1 "$(cat rc)" &&
	expect_grep "stopped: standard output was closed (Broken pipe)" err &&
	expect_grep "crm-send --retry --campaign piped sends the rest" err &&
	expect_eq 0 "$(sql "SELECT count(*) FROM messages WHERE status = '\''transmitting'\''")" &&
	sent=$(sql "SELECT count(*) FROM messages WHERE status = '\''sent'\''") &&
	echo "$sent sent before the stop" &&
	test "$sent" -ge 2 && test "$sent" -lt 1199 &&
	expect_eq "$sent" "$(wc -l <"$SPOOL/log" | tr -d " ")"
'

test_expect 'then --retry sends the rest: everyone once' '
	run 0 crm-send --campaign piped --channel email --template t.tmpl --retry -f csv &&
	expect_eq "sent 1199" "$(status_counts piped)" &&
	expect_eq 1199 "$(wc -l <"$SPOOL/log" | tr -d " ")" &&
	expect_eq "" "$(cut -f2 "$SPOOL/log" | sort | uniq -d)"
'

test_expect 'the file channel to a closed stdout: the same, the message not taken is not sent' '
	{ crm-send --campaign filed --channel file --no-consent --template t.tmpl all.csv 2>err;
	  echo $? >rc; } | head -c 3000 >/dev/null &&
	cat err &&
	expect_eq 1 "$(cat rc)" &&
	expect_grep "stopped: standard output was closed" err &&
	expect_eq 0 "$(sql "SELECT count(*) FROM messages m JOIN campaigns k ON k.id = m.campaign_id
		WHERE k.name = '\''filed'\'' AND status IN ('\''transmitting'\'', '\''in_doubt'\'')")"
'

test_expect 'a slow reader of the result lines does not hold up another writer' '
	printf "customer_id,type,occurred_at\nC0001,site_visit,2026-11-20 10:00\n" >ev.csv &&
	( crm-send --campaign slowread --channel file --no-consent --template t.tmpl -o msgs.jsonl \
		-f csv all.csv 2>send.err | { sleep 4; cat >/dev/null; } ) &
	sleep 2 &&
	irc=0 && CRM_BUSY_TIMEOUT=1 crm-import events ev.csv 2>imp.err || irc=$? &&
	wait &&
	cat imp.err send.err &&
	expect_eq 0 "$irc" &&
	expect_eq "sent 1199" "$(status_counts slowread)"
'

test_expect 'kill -9 while one message waits for its reply: that one in doubt, the rest of its batch sent by the next run' '
	{ echo id; echo H0000; head -20 all.csv | tail -n +2; } >k.csv &&
	{ crm-send --campaign killed --channel email --template t.tmpl -f csv k.csv >/dev/null 2>&1 & } &&
	pid=$! &&
	i=0 && while ! grep -q "^hang-0@" "$SPOOL/log" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done &&
	kill_now $pid &&
	expect_eq "transmitting 10" "$(status_counts killed | grep transmitting)" &&
	run 0 crm-send --campaign killed --channel email --template t.tmpl --retry -f csv &&
	cat err &&
	expect_eq "in_doubt 1 sent 19" "$(status_counts killed | tr "\n" " " | sed "s/ \$//")" &&
	expect_eq "H0000" "$(sql "SELECT c.external_id FROM messages m JOIN customers c ON c.id = m.customer_id WHERE m.status = '\''in_doubt'\''")" &&
	expect_eq 0 "$(sql "SELECT sum(attempts) - 20 FROM messages m JOIN campaigns k ON k.id = m.campaign_id WHERE k.name = '\''killed'\''")" &&
	expect_eq "" "$(cut -f2 "$SPOOL/log" | sort | uniq -d)"
'

test_done
