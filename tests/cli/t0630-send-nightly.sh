#!/bin/sh
# examples/nightly.sh, the cron job of the README, over two simulated weeks
# (CRM_NOW) against a real SMTP server and a real SMS API (Twilio preset)
# on 127.0.0.1: the birthday SMS (quiet hours in the customer's zone),
# the three-step welcome chain, the winback with its control group and the
# e-mail-to-SMS cascade each reach the right people on the right day, and
# nobody gets anything twice however often the job runs.
. "$CRM_TOP/tests/lib.sh"
unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY

start_smtpd || exit 1
start_httpd || exit 1

{
	printf '[smtp]\nurl = smtp://127.0.0.1:%s\n' "$SMTP_PORT"
	printf '[email]\nfrom = Example Shop <shop@example.com>\n'
	printf '[unsubscribe]\nurl = https://shop.example/unsubscribe\n'
	http_section sms preset=sms-twilio account_sid=AC0123456789 auth_token_env=TWILIO_TOKEN \
		from=+12025550100
} >crm.conf
chmod 600 crm.conf
TWILIO_TOKEN=tw-secret-token
export TWILIO_TOKEN
mkdir exports

# night DAY TIME: one run of the job, as cron would start it
night() {
	CRM_NOW="$1 $2" EXPORTS=exports OUT=out sh "$CRM_TOP/examples/nightly.sh" \
		</dev/null >night.out 2>night.err
}
# mails ADDR / smses PHONE: what the servers got for one address
mails() { spooled_to "$1"; }
smses() { grep -c "\"address\": \"$1\"" "$HTTP_LOG" || true; }
subjects() { grep -h "^Subject:" $(grep -l "^X-Test-Rcpt: $1" "$SPOOL"/*.eml) | tr -d "\r" | sort; }

# N1, N2 sign up on 1 November (N2's mailbox bounces); B1 (Moscow) and B2
# (Los Angeles, 02:00 at the run) have their birthday then; L01-L20 last
# bought in June.
test_expect 'setup: the exports of 1 November' '
	{
		echo "id,email,phone,first_name,birthday,timezone,created_at,email_consent,sms_consent"
		echo "N1,n1@example.com,+12025550001,nina,,,2026-11-01 08:00:00,yes,yes"
		echo "N2,bounce-n2@example.com,+12025550002,nick,,,2026-11-01 08:00:00,yes,yes"
		echo "B1,b1@example.com,+12025550011,boris,1990-11-01,Europe/Moscow,2025-01-01,yes,yes"
		echo "B2,b2@example.com,+12025550012,bella,1985-11-01,America/Los_Angeles,2025-01-01,yes,yes"
		for i in $(seq -w 1 20); do
			echo "L$i,l$i@example.com,+120255501$i,lee$i,,,2025-01-01,yes,yes"
		done
	} >exports/customers-2026-11-01.csv &&
	{
		echo "id,customer_id,ordered_at,amount,currency"
		for i in $(seq -w 1 20); do echo "O$i,L$i,2026-06-01 12:00:00,50.00,USD"; done
	} >exports/orders-2026-11-01.csv &&
	night 2026-11-01 10:00:00 &&
	expect_eq 24 "$(sql "SELECT count(*) FROM customers")"
'

test_expect '1 Nov 10:00: birthday SMS to B1, B2 deferred (night in Los Angeles)' '
	expect_eq 1 "$(smses +12025550011)" &&
	expect_eq 0 "$(smses +12025550012)" &&
	expect_eq "deferred,quiet_hours" "$(sql "SELECT status || '"','"' || reason FROM messages m
		JOIN customers c ON c.id = m.customer_id WHERE c.external_id = '"'B2'"'")"
'

test_expect '1 Nov 10:00: welcome-1 to N1; N2 bounced and suppressed' '
	expect_eq 1 "$(mails n1@example.com)" &&
	expect_eq 0 "$(mails bounce-n2@example.com)" &&
	expect_eq "N1:sent N2:bounced" "$(sql "SELECT c.external_id || '"':'"' || m.status FROM messages m
		JOIN customers c ON c.id = m.customer_id JOIN campaigns k ON k.id = m.campaign_id
		WHERE k.name = '"'welcome-1'"' ORDER BY 1" | tr "\n" " " | sed "s/ $//")" &&
	expect_eq 1 "$(sql "SELECT count(*) FROM address_suppressions")"
'

test_expect '1 Nov 10:00: winback-2026-11 to the 20 lapsed, about 10% held out' '
	ctl=$(sql "SELECT count(*) FROM messages WHERE grp = '"'control'"'") &&
	test "$ctl" -ge 1 && test "$ctl" -le 6 &&
	sent=0 && for i in $(seq -w 1 20); do sent=$((sent + $(mails l$i@example.com))); done &&
	expect_eq $((20 - ctl)) "$sent" &&
	expect_eq $((20 - ctl)) "$(grep -c ",sent," out/lapsed-2026-11-01.csv)"
'

test_expect '1 Nov 18:00 (09:00 in Los Angeles): B2 gets the birthday SMS, nobody anything else' '
	before=$(spooled) && sms_before=$(wc -l <"$HTTP_LOG") &&
	night 2026-11-01 18:00:00 &&
	expect_eq 1 "$(smses +12025550012)" &&
	expect_eq $((sms_before + 1)) "$(wc -l <"$HTTP_LOG")" &&
	expect_eq "$before" "$(spooled)"
'

test_expect '2 Nov: L01 opens the winback; nothing is sent' '
	printf "customer_id,type,occurred_at,campaign\nL01,opened,2026-11-02 08:00:00,winback-2026-11\n" \
		>exports/events-2026-11-02.csv &&
	before=$(spooled) && sms_before=$(wc -l <"$HTTP_LOG") &&
	night 2026-11-02 10:00:00 &&
	expect_eq "$before" "$(spooled)" && expect_eq "$sms_before" "$(wc -l <"$HTTP_LOG")"
'

test_expect '4 Nov 10:00, exactly 3 days: not yet the second welcome step' '
	night 2026-11-04 10:00:00 &&
	expect_eq 1 "$(mails n1@example.com)"
'

# the lapsed have no time zone or country, but +1 phones: 10:00 UTC is
# 05:00 in New York, quiet hours for the SMS until 09:00 there (issue 19)
test_expect '5 Nov: welcome-2 to N1; the winback by SMS to who did not open it, after 09:00 in New York' '
	night 2026-11-05 10:00:00 &&
	expect_eq 2 "$(mails n1@example.com)" &&
	expect_eq 0 "$(grep -c "\"address\": \"+120255501" "$HTTP_LOG" || true)" &&
	test "$(sql "SELECT count(*) FROM messages m JOIN campaigns k ON k.id = m.campaign_id
		WHERE k.name = '"'winback-2026-11-sms'"' AND m.status = '"'deferred'"'
		AND m.reason = '"'quiet_hours'"' AND m.next_at = '"'2026-11-05 14:00:00'"'")" -ge 1 &&
	night 2026-11-05 14:00:00 &&
	expect_eq 0 "$(smses +12025550101)" &&
	sql "SELECT c.external_id FROM messages m JOIN customers c ON c.id = m.customer_id
		JOIN campaigns k ON k.id = m.campaign_id
		WHERE k.name = '"'winback-2026-11'"' AND m.status = '"'sent'"' AND c.external_id <> '"'L01'"'
		ORDER BY 1" >want &&
	for id in $(cat want); do
		expect_eq 1 "$(smses +1202555$(echo "$id" | sed "s/^L/01/"))" "SMS to $id" || exit 1
	done &&
	for id in $(sql "SELECT c.external_id FROM messages m JOIN customers c ON c.id = m.customer_id
		WHERE m.grp = '"'control'"'"); do
		expect_eq 0 "$(smses +1202555$(echo "$id" | sed "s/^L/01/"))" "SMS to control $id" || exit 1
	done
'

test_expect '9 Nov: welcome-3 to N1, the chain in order; N2 never gets a step' '
	night 2026-11-09 10:00:00 &&
	expect_eq 3 "$(mails n1@example.com)" &&
	expect_eq "Subject: 10% off your first order, Nina
Subject: Nina, our customers'"'"' favourites
Subject: Welcome to Example Shop, Nina" "$(subjects n1@example.com)" &&
	expect_eq 0 "$(mails bounce-n2@example.com)"
'

test_expect 'running the job again and again sends nothing twice' '
	before=$(spooled) && sms_before=$(wc -l <"$HTTP_LOG") &&
	night 2026-11-09 11:00:00 && night 2026-11-10 10:00:00 && night 2026-11-20 10:00:00 &&
	expect_eq "$before" "$(spooled)" && expect_eq "$sms_before" "$(wc -l <"$HTTP_LOG")" &&
	expect_eq "" "$(grep -hi "^Message-ID:" "$SPOOL"/*.eml | sort | uniq -d)" &&
	expect_eq "" "$(grep -o "\"address\": \"[^\"]*\"" "$HTTP_LOG" | sort | uniq -d)" &&
	expect_eq 0 "$(sql "SELECT count(*) FROM messages WHERE status IN ('"'planned','transmitting','in_doubt'"')")"
'

# with [loyalty] in crm.conf the job runs crm-loyalty after the imports
# and reminds members whose points expire within 30 days: the lapsed
# bought 50 USD on 1 June, 250 points that expire 180 days later, on
# 28 November
test_expect '21 Nov with [loyalty]: the points-expiring reminder, once' '
	printf "[loyalty]\nearn = 5%%\npoint_value = 0.01\nexpire = 180d\n" >>crm.conf &&
	{ night 2026-11-21 09:00:00 || { cat night.err; exit 1; }; } &&
	expect_eq 20 "$(sql "SELECT count(*) FROM loyalty_accounts WHERE points = 250")" &&
	expect_eq "Subject: Lee01, 250 of your points expire soon" "$(subjects l01@example.com | grep points)" &&
	expect_grep "250 of your 250 points expire on 2026-11-28 12:00:00 (UTC)." \
		"$(grep -l "^X-Test-Rcpt: l01@example.com" "$SPOOL"/*.eml | xargs grep -l "points expire" | head -1)" &&
	before=$(spooled) &&
	{ night 2026-11-21 09:30:00 || { cat night.err; exit 1; }; } &&
	expect_eq "$before" "$(spooled)" &&
	expect_eq 20 "$(sql "SELECT count(*) FROM messages m JOIN campaigns k ON k.id = m.campaign_id
		WHERE k.name = '"'points-expiring-2026-11'"'")"
'

test_expect 'a failing step is reported, the other triggers still run, the job exits 1' '
	printf "id,email,created_at,email_consent,sms_consent\nN3,n3@example.com,2026-11-21 08:00:00,yes,yes\n" \
		>exports/customers-2026-11-21.csv &&
	sed "s/^account_sid = .*/account_sid =/" crm.conf >c2 && mv c2 crm.conf && chmod 600 crm.conf &&
	! night 2026-11-21 10:00:00 &&
	expect_grep "nightly: crm-send exited with status" night.err &&
	expect_eq 1 "$(mails n3@example.com)"
'
