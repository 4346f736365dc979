#!/bin/sh
# crm-segment over crm-send's message history: sent(), received() and
# converted() read the outbox, opened() the imported events; the chain and
# cascade expressions of examples/nightly.sh, over simulated nights (--now).
. "$CRM_TOP/tests/lib.sh"

printf 'Subject: Hi {{first_name}}\n\nHello {{first_name}}.\n' >msg.tmpl

# send CAMPAIGN NOW IDS...: the campaign through the file channel at NOW.
send() {
	c=$1 now=$2
	shift 2
	printf '%s\n' id "$@" >to.csv
	crm-send --campaign "$c" --channel file --no-consent --template msg.tmpl \
		--now "$now" -o /dev/null -f csv to.csv >sent.out 2>sent.err
}

# seg NOW EXPR: the matching ids on one line.
seg() {
	crm-segment --no-input --now "$1" --fields id -f csv "$2" | sed 1d | tr '\n' ' ' | sed 's/ $//'
}

test_expect 'setup: five customers, welcome-1 to four of them on 1 November' '
	printf "id,email,first_name\n" >c.csv &&
	for i in 1 2 3 4 5; do echo "A$i,a$i@example.com,N$i"; done >>c.csv &&
	crm-import customers c.csv 2>/dev/null &&
	send welcome-1 "2026-11-01 10:00:00" A1 A2 A3 A4 &&
	expect_eq 4 "$(sql "SELECT count(*) FROM messages WHERE status = '"'sent'"'")" &&
	expect_eq "2026-11-01 10:00:00" "$(sql "SELECT min(sent_at) FROM messages")"
'

test_expect 'a bounce of A2, orders of A3 (day 2) and A4 (day 9), an open of A1' '
	cat >ev.csv <<-\EOF_ &&
	customer_id,type,occurred_at,campaign
	A2,bounced,2026-11-01 12:00:00,welcome-1
	A1,opened,2026-11-01 18:00:00,welcome-1
	EOF_
	crm-import events ev.csv 2>/dev/null &&
	printf "id,customer_id,ordered_at,amount,currency\nO1,A3,2026-11-03 10:00:00,10.00,EUR\nO2,A4,2026-11-10 10:00:00,20.00,EUR\nO3,A5,2026-11-02 10:00:00,30.00,EUR\n" >o.csv &&
	crm-import orders o.csv 2>/dev/null
'

test_expect 'sent(): the time since the message was handed over, null before it and for others' '
	expect_eq "A1 A2 A3 A4" "$(seg "2026-11-05 00:00:00" "sent(\"welcome-1\") > 3d")" &&
	expect_eq "" "$(seg "2026-11-04 09:00:00" "sent(\"welcome-1\") > 3d")" &&
	expect_eq "" "$(seg "2026-10-31 00:00:00" "sent(\"welcome-1\") is not null")" &&
	expect_eq "A5" "$(seg "2026-11-05 00:00:00" "sent(\"welcome-1\") is null")" &&
	expect_eq "" "$(seg "2026-11-05 00:00:00" "sent(\"no-such-campaign\") is not null")"
'

test_expect 'received(): sent and not bounced' '
	expect_eq "A1 A3 A4" "$(seg "2026-11-05 00:00:00" "received(\"welcome-1\") > 3d")" &&
	expect_eq "A1 A2 A3 A4" "$(seg "2026-11-01 11:00:00" "received(\"welcome-1\") is not null")"
'

test_expect 'the chain step: received welcome-1 over 3 days ago and not welcome-2' '
	expr="received(\"welcome-1\") > 3d and not received(\"welcome-2\")" &&
	expect_eq "A1 A3 A4" "$(seg "2026-11-05 00:00:00" "$expr")" &&
	send welcome-2 "2026-11-05 00:00:00" A1 &&
	expect_eq "A3 A4" "$(seg "2026-11-06 00:00:00" "$expr")"
'

test_expect 'the cascade: sent over 2 days ago and not opened' '
	expect_eq "A2 A3 A4" "$(seg "2026-11-05 00:00:00" "sent(\"welcome-1\") > 2d and not opened(\"welcome-1\")")"
'

test_expect 'converted(): an order within 7 days after the message, not before it, not later' '
	expect_eq "A3" "$(seg "2026-11-12 00:00:00" "converted(\"welcome-1\") is not null")" &&
	expect_eq "" "$(seg "2026-11-03 09:00:00" "converted(\"welcome-1\") is not null")" &&
	expect_eq "A3" "$(seg "2026-11-03 11:00:00" "converted(\"welcome-1\") <= 1h")" &&
	expect_eq "A1 A2 A4" "$(seg "2026-11-12 00:00:00" "sent(\"welcome-1\") is not null and not converted(\"welcome-1\")")"
'

test_expect 'control-group rows are not sent: sent() is null for them' '
	printf "id\n" >all.csv && for i in $(seq 1 60); do echo "B$i"; done >>all.csv &&
	(echo id,email; for i in $(seq 1 60); do echo "B$i,b$i@example.com"; done) >b.csv &&
	crm-import customers b.csv 2>/dev/null &&
	crm-send --campaign promo --channel file --no-consent --template msg.tmpl --control 20% \
		--now "2026-11-01 10:00:00" -o /dev/null -f csv all.csv >p.out 2>/dev/null &&
	ctl=$(grep -c ",control," p.out) && test "$ctl" -gt 0 &&
	expect_eq $((60 - ctl)) "$(crm-segment --no-input -c --now "2026-11-02 00:00:00" "sent(\"promo\") is not null")"
'

test_expect '--why shows the time since the message' '
	run 0 crm-segment --no-input --now "2026-11-05 10:00:00" --why A3 "received(\"welcome-1\") > 3d" &&
	expect_grep "4d" out
'
