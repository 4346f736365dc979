#!/bin/sh
# crm-send against a server that answers 451 to 30% of RCPT commands:
# every message is delivered exactly once in the end, through in-run
# retries with backoff; a recipient that always fails gives up after
# --max-attempts; the next run (--retry) picks up what was deferred.
. "$CRM_TOP/tests/lib.sh"

start_smtpd --rcpt-451-rate 0.3 --seed 7 || exit 1
cat >crm.conf <<EOF_
[smtp]
url = smtp://127.0.0.1:$SMTP_PORT
[email]
from = shop@example.com
EOF_
chmod 600 crm.conf
printf 'Subject: hello\n\nHello {{first_name}}.\n' >t.tmpl

test_expect 'setup: 60 customers' '
	awk "BEGIN { print \"id,email,first_name,email_consent\";
		for (i = 1; i <= 60; i++) printf \"R%02d,r%02d@example.com,R%d,yes\n\", i, i, i }" >r.csv &&
	printf "R99,tempfail@example.com,T,yes\n" >>r.csv &&
	crm-import customers r.csv 2>/dev/null &&
	crm-segment --no-input -f csv >all.csv
'

test_expect '30% 451 on RCPT: all 60 delivered exactly once, some after retries' '
	run 3 crm-send --campaign r --channel email --template t.tmpl --backoff 0.02 \
		--max-attempts 8 -f csv all.csv &&
	expect_eq 60 "$(grep -c ",email,sent," out)" &&
	expect_eq 60 "$(cut -f1 spool/log | sort -u | wc -l | tr -d " ")" &&
	expect_eq 60 "$(wc -l <spool/log | tr -d " ")" &&
	retried=$(sql "SELECT count(*) FROM messages WHERE status = '\''sent'\'' AND attempts > 1") &&
	echo "$retried messages needed more than one attempt" &&
	test "$retried" -ge 5
'

test_expect 'an address that always answers 451 fails after --max-attempts' '
	expect_grep "R99,email,failed,gave up after 8 attempts: 451 4.3.0 try again later" out &&
	expect_eq 8 "$(sql "SELECT attempts FROM messages m JOIN customers c ON c.id = m.customer_id WHERE c.external_id = '\''R99'\''")"
'

test_expect 'retries beyond --max-wait are left to the next run' '
	printf "id\nR01\nR02\nR03\nR04\nR05\nR06\nR07\nR08\n" >eight.csv &&
	run 0 crm-send --campaign later --channel email --template t.tmpl --backoff 60 --max-wait 1 -f csv eight.csv &&
	d=$(grep -c ",deferred," out || true) && echo "$d deferred" &&
	s=$(grep -c ",sent," out || true) &&
	expect_eq 8 $((d + s)) &&
	expect_eq "$d" "$(sql "SELECT count(*) FROM messages WHERE status = '\''deferred'\'' AND next_at > '\''2026-11-23 12:00:30'\''")" &&
	run 0 crm-send --campaign later --channel email --template t.tmpl --backoff 0.02 \
		--max-attempts 12 --retry --now "2026-11-23 13:00" -f csv &&
	expect_eq 8 "$(sql "SELECT count(*) FROM messages m JOIN campaigns k ON k.id = m.campaign_id WHERE k.name = '\''later'\'' AND status = '\''sent'\''")"
'

test_expect '--retry or --resend-in-doubt with a misspelt campaign: an error, no new campaign' '
	before=$(sql "SELECT count(*) FROM campaigns") &&
	run 1 crm-send --campaign laterr --channel email --template t.tmpl --retry &&
	expect_grep "no campaign \"laterr\" to continue (--retry continues" err &&
	run 1 crm-send --campaign laterr --channel email --template t.tmpl --resend-in-doubt </dev/null &&
	expect_grep "no campaign \"laterr\" to continue (--resend-in-doubt continues" err &&
	expect_eq "$before" "$(sql "SELECT count(*) FROM campaigns")"
'

test_done
