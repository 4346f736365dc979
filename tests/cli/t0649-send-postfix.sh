#!/bin/sh
# crm-send through Debian's Postfix (issue 22), relaying to a test SMTP
# server: smtpd_client_message_rate_limit (5 messages per 3 s from us, no
# exception for loopback) and a small smtpd_recipient_limit. Over 1 and 4
# connections every recipient is sent in one run, each message reaches
# the final server once, and the rate limit was met (450 4.7.1; in
# Postfix's log: "Message delivery request rate limit exceeded") and kept to.
. "$CRM_TOP/tests/lib.sh"

start_smtpd || exit 1
PF_PORT=$(free_port)
start_postfix "$PF_PORT" "$SMTP_PORT" \
	"smtpd_client_message_rate_limit = 5" "anvil_rate_time_unit = 3s" \
	"smtpd_client_event_limit_exceptions =" "smtpd_recipient_limit = 2"
case $? in
0) ;;
2)	echo "ok 1 # skip needs root and Debian's postfix (make deps-test)"
	test_done ;;
*)	exit 1 ;;
esac

cat >crm.conf <<EOF_
[smtp]
url = smtp://127.0.0.1:$PF_PORT
timeout = 10
[email]
from = Shop <shop@example.com>
EOF_
chmod 600 crm.conf
printf 'Subject: Hi {{first_name}}\n\nHello {{first_name}}.\n' >m.tmpl

test_expect 'setup: 20 customers' '
	awk "BEGIN { print \"id,email,first_name,email_consent\";
		for (i = 1; i <= 20; i++) printf \"P%02d,p%02d@example.com,P%d,yes\n\", i, i, i }" >c.csv &&
	crm-import customers c.csv 2>/dev/null &&
	crm-segment --no-input -f csv --fields id >all.csv
'

# relayed N: waits (up to 60 s) until the final server has N messages
relayed() {
	_i=0
	while [ "$(wc -l <"$SPOOL/log" 2>/dev/null || echo 0)" -lt "$1" ] && [ $_i -lt 600 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	expect_eq "$1" "$(wc -l <"$SPOOL/log" | tr -d " ")"
}

n_total=0
for n in 1 4; do
	test_expect "through Postfix's rate limit over $n connection(s): all 20 sent in one run, each relayed once" '
		run 0 crm-send --campaign pf$n --channel email --template m.tmpl --concurrency '$n' \
			-f csv all.csv &&
		expect_eq 20 "$(grep -c ",email,sent,,250 2.0.0 Ok: queued as" out)" &&
		expect_grep "20 planned, 20 sent" err &&
		relayed '$((n_total + 20))' &&
		expect_eq "" "$(cut -f2 "$SPOOL/log" | sort | uniq -d)"
	'
	n_total=$((n_total + 20))
done

test_expect 'the rate limit was met, and kept to after it was learnt' '
	r=$(grep -c "Message delivery request rate limit exceeded" "$POSTFIX_LOG" || true) &&
	echo "$r refusals in Postfix log for 40 messages" &&
	test "$r" -ge 2 && test "$r" -le 24
'

test_done
