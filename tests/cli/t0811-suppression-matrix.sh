#!/bin/sh
# The one suppression rule (crm.7 SUPPRESSION), cell by cell: every source
# (an SMTP refusal at send time, crm-import bounces, crm-import events,
# crm-track's provider callbacks) x every kind (hard bounce, soft bounce,
# policy block, complaint, unsubscribe) -> its effect on a marketing
# e-mail campaign, a --transactional one and an SMS campaign. One customer
# per cell; each report is made by its real source (aiosmtpd refusing the
# recipient, a DSN through crm-import bounces, JSON lines through
# crm-import events, a Postmark callback to crm-track over HTTP).
. "$CRM_TOP/tests/lib.sh"

unset CRM_NOW	# crm-track runs on the clock; so does everything here
start_smtpd || exit 1
start_httpd || exit 1
export PM_PASS=pm-password-0123 TWILIO_TOKEN=tw-secret-token
TRACK_WANT_PORT=$(free_port)
{
	printf '[smtp]\nurl = smtp://127.0.0.1:%s\n' "$SMTP_PORT"
	printf '[email]\nfrom = Shop <shop@example.com>\nenvelope_from = bounces@shop.example\n'
	printf '[bounces]\nsoft_limit = 2\nsoft_days = 30\n'
	printf '[tracking]\nurl = http://127.0.0.1:%s\n' "$TRACK_WANT_PORT"
	printf '[hook.pm]\npreset = postmark\nuser = pm\npassword_env = PM_PASS\n'
	http_section sms preset=sms-twilio account_sid=AC0123456789 auth_token_env=TWILIO_TOKEN \
		from=+12025550100
} >crm.conf
chmod 600 crm.conf
printf 'Subject: News\n\nHello {{first_name}}.\n' >m.tmpl
printf 'Hello {{first_name}}.\n' >s.tmpl
ago() { date -u -d "$1" '+%Y-%m-%d %H:%M:%S'; }
iso() { date -u -d "$1" '+%Y-%m-%dT%H:%M:%SZ'; }

# one customer per cell: SOURCE-KIND, the e-mail address chosen so that
# aiosmtpd refuses the smtp cells' recipients as asked
cells="smtp-hard smtp-soft smtp-policy dsn-hard dsn-soft dsn-policy dsn-complaint
import-hard import-soft import-softold import-policy import-complaint import-unsub import-smshard import-smsunsub
hook-hard hook-soft hook-policy hook-complaint hook-unsub none"
addr() {
	case $1 in
	smtp-hard) echo bounce.smtp@example.com ;;
	smtp-soft) echo full.smtp@example.com ;;
	smtp-policy) echo policy.smtp@example.com ;;
	*) echo "$1@example.com" ;;
	esac
}
id() { sql "SELECT id FROM customers WHERE external_id = '$1'"; }
row() {
	sql "SELECT m.id FROM messages m JOIN customers c ON c.id = m.customer_id
	     JOIN campaigns k ON k.id = m.campaign_id WHERE c.external_id = '$1' AND k.name = '$2'"
}
status() {
	sql "SELECT m.status || ':' || coalesce(m.reason, '') FROM messages m JOIN customers c ON c.id = m.customer_id
	     JOIN campaigns k ON k.id = m.campaign_id WHERE c.external_id = '$1' AND k.name = '$2'"
}
dsn() {	# dsn FIXTURE CELL CAMPAIGN [SED]: a DSN for that message, through a pipe
	_t=$("$PY" "$CRM_TOP/tests/servers/trackc.py" "$CRM_DB" token bounce "$(row "$2" "$3")")
	sed -e "s/@TOKEN@/$_t/g" -e "s/^Message-Id: </Message-Id: <$2-$3-/" -e "${4:-s/x/x/}" \
		"$FIX/bounces/$1.eml" | crm-import bounces
}
pm() {	# pm JSON: a Postmark webhook, basic authentication
	curl -s -o /dev/null -w '%{http_code}' -u "pm:$PM_PASS" -H 'Content-Type: application/json' \
		--data-binary "$1" "$TRACK/h/pm"
}

test_expect 'setup: a customer per cell, e-mail and SMS consent; two campaigns sent' '
	{ echo "id,email,phone,first_name,email_consent,sms_consent"
	  n=10; for c in $cells; do n=$((n + 1)); echo "$c,$(addr $c),+120255501$n,X,yes,yes"; done; } >c.csv &&
	crm-import customers c.csv 2>/dev/null &&
	echo id >all.csv && for c in $cells; do echo "$c" >>all.csv; done &&
	run 0 crm-send --campaign first --channel email --template m.tmpl -f csv all.csv &&
	expect_eq "bounced:550 5.1.1 no such user (after RCPT)" "$(status smtp-hard first)" &&
	run 0 crm-send --campaign second --channel email --template m.tmpl -f csv all.csv
'

test_expect 'SMTP at send time: 5.1.1 hard, 5.2.2 soft, 5.7.1 policy, as bounced events of their kind' '
	expect_eq "hard|5.1.1|smtp" "$(sql "SELECT json_extract(props, '\''$.kind'\''), json_extract(props, '\''$.status'\''),
		json_extract(props, '\''$.source'\'') FROM events WHERE type = '\''bounced'\'' AND customer_id = $(id smtp-hard)")" &&
	expect_eq "soft soft" "$(sql "SELECT json_extract(props, '\''$.kind'\'') FROM events WHERE type = '\''bounced'\''
		AND customer_id = $(id smtp-soft)" | xargs)" &&
	expect_eq "policy policy" "$(sql "SELECT json_extract(props, '\''$.kind'\'') FROM events WHERE type = '\''bounced'\''
		AND customer_id = $(id smtp-policy)" | xargs)" &&
	expect_eq "suppressed:bounced" "$(status smtp-hard second)"
'

test_expect 'crm-import bounces (the dsn cells): a hard DSN, two soft ones, a policy block, an ARF complaint' '
	sleep 1 &&	# a complaint comes later than the consent it takes back
	dsn postfix-hard dsn-hard first 2>/dev/null &&
	for k in first second; do
		dsn postfix-hard dsn-soft $k "s/5\.1\.1/5.2.2/g" 2>/dev/null || exit 1
	done &&
	dsn spam-block dsn-policy first 2>/dev/null &&
	dsn arf-complaint dsn-complaint first 2>/dev/null &&
	expect_eq "applied complaint|applied hard|applied soft|recorded policy|recorded soft" \
		"$(sql "SELECT decision || '\'' '\'' || kind FROM inbound ORDER BY 1" | paste -sd"|" -)"
'

test_expect 'crm-import events: bounced (hard, soft twice, soft long ago, policy), complained, unsubscribed, and SMS ones' '
	sleep 1 && now=$(ago now) old=$(ago "-40 days") old2=$(ago "-35 days") &&
	cat >ev.jsonl <<-EOF_ &&
	{"customer_id":"import-hard","type":"bounced","occurred_at":"$now","props":{"kind":"hard","status":"5.1.1"}}
	{"customer_id":"import-soft","type":"bounced","occurred_at":"$now","props":{"kind":"soft","status":"4.2.2"}}
	{"customer_id":"import-soft","type":"bounced","occurred_at":"$(ago "-2 hours")","props":{"kind":"soft","status":"4.2.2"}}
	{"customer_id":"import-softold","type":"bounced","occurred_at":"$old","props":{"kind":"soft"}}
	{"customer_id":"import-softold","type":"bounced","occurred_at":"$old2","props":{"kind":"soft"}}
	{"customer_id":"import-policy","type":"bounced","occurred_at":"$now","props":{"kind":"policy","status":"5.7.1"}}
	{"customer_id":"import-complaint","type":"complained","occurred_at":"$now"}
	{"customer_id":"import-unsub","type":"unsubscribed","occurred_at":"$now","props":{"channel":"email"}}
	{"customer_id":"import-smshard","type":"bounced","occurred_at":"$now","props":{"channel":"sms","kind":"hard"}}
	{"customer_id":"import-smsunsub","type":"unsubscribed","occurred_at":"$now","props":{"channel":"sms"}}
	EOF_
	run 0 crm-import events ev.jsonl &&
	expect_eq "bounced|import|email
bounced|import|sms" "$(sql "SELECT reason, source, channel FROM address_suppressions WHERE source = '\''import'\'' ORDER BY 1, 3")"
'

test_expect 'crm-track callbacks (Postmark): HardBounce, SoftBounce, Blocked, SpamComplaint, SubscriptionChange' '
	start_track && sleep 1 &&
	t=$(iso now) &&
	expect_eq 200 "$(pm "{\"RecordType\":\"Bounce\",\"ID\":1,\"Type\":\"HardBounce\",\"TypeCode\":1,\"MessageID\":\"pm-1\",\"Email\":\"hook-hard@example.com\",\"BouncedAt\":\"$t\",\"Details\":\"550 5.1.1 unknown\"}")" &&
	expect_eq 200 "$(pm "{\"RecordType\":\"Bounce\",\"ID\":2,\"Type\":\"SoftBounce\",\"TypeCode\":4096,\"MessageID\":\"pm-2\",\"Email\":\"hook-soft@example.com\",\"BouncedAt\":\"$t\"}")" &&
	expect_eq 200 "$(pm "{\"RecordType\":\"Bounce\",\"ID\":3,\"Type\":\"SoftBounce\",\"TypeCode\":4096,\"MessageID\":\"pm-3\",\"Email\":\"hook-soft@example.com\",\"BouncedAt\":\"$t\"}")" &&
	expect_eq 200 "$(pm "{\"RecordType\":\"Bounce\",\"ID\":4,\"Type\":\"Blocked\",\"TypeCode\":100000,\"MessageID\":\"pm-4\",\"Email\":\"hook-policy@example.com\",\"BouncedAt\":\"$t\"}")" &&
	expect_eq 200 "$(pm "{\"RecordType\":\"SpamComplaint\",\"ID\":5,\"MessageID\":\"pm-5\",\"Email\":\"hook-complaint@example.com\",\"BouncedAt\":\"$t\"}")" &&
	expect_eq 200 "$(pm "{\"RecordType\":\"SubscriptionChange\",\"MessageID\":\"pm-6\",\"Recipient\":\"hook-unsub@example.com\",\"SuppressSending\":true,\"ChangedAt\":\"$t\"}")" &&
	stop_track &&
	expect_eq "bounced|hook:pm" "$(sql "SELECT reason, source FROM address_suppressions WHERE source LIKE '\''hook%'\'' ORDER BY 1")" &&
	expect_eq 2 "$(sql "SELECT count(*) FROM events WHERE type = '\''deferred'\'' AND customer_id = $(id hook-soft)")"'

test_expect 'the campaigns after it all: marketing e-mail, transactional e-mail, SMS' '
	run 0 crm-send --campaign mkt --channel email --template m.tmpl -f csv all.csv &&
	run 0 crm-send --campaign tx --transactional --channel email --template m.tmpl -f csv all.csv &&
	run 0 crm-send --campaign sms --channel sms --template s.tmpl -f csv all.csv &&
	for c in $cells; do
		echo "$c $(status $c mkt) $(status $c tx) $(status $c sms)"
	done >got &&
	cat >want <<-EOF_ &&
	smtp-hard suppressed:bounced suppressed:bounced sent:
	smtp-soft suppressed:soft_bounced suppressed:soft_bounced sent:
	smtp-policy bounced:550 5.7.1 message refused as spam (after RCPT) bounced:550 5.7.1 message refused as spam (after RCPT) sent:
	dsn-hard suppressed:bounced suppressed:bounced sent:
	dsn-soft suppressed:soft_bounced suppressed:soft_bounced sent:
	dsn-policy sent: sent: sent:
	dsn-complaint suppressed:complained sent: sent:
	import-hard suppressed:bounced suppressed:bounced sent:
	import-soft suppressed:soft_bounced suppressed:soft_bounced sent:
	import-softold sent: sent: sent:
	import-policy sent: sent: sent:
	import-complaint suppressed:complained sent: sent:
	import-unsub suppressed:unsubscribed sent: sent:
	import-smshard sent: sent: suppressed:bounced
	import-smsunsub sent: sent: suppressed:unsubscribed
	hook-hard suppressed:bounced suppressed:bounced sent:
	hook-soft sent: sent: sent:
	hook-policy sent: sent: sent:
	hook-complaint suppressed:complained sent: sent:
	hook-unsub suppressed:unsubscribed sent: sent:
	none sent: sent: sent:
	EOF_
	expect_same want got
'

test_expect 'a later explicit grant lifts a complaint or an unsubscribe, never a hard bounce' '
	sleep 1 && t=$(ago now) &&
	printf "customer_id,channel,granted,recorded_at\nimport-complaint,email,yes,$t\nimport-unsub,email,yes,$t\nimport-hard,email,yes,$t\nhook-unsub,email,yes,$t\n" >grant.csv &&
	run 0 crm-import consents grant.csv &&
	run 0 crm-send --campaign again --channel email --template m.tmpl -f csv all.csv &&
	expect_eq "sent: sent: suppressed:bounced sent:" \
		"$(echo $(status import-complaint again) $(status import-unsub again) $(status import-hard again) $(status hook-unsub again))"
'

test_expect 'a hard bounce is of the address: a new address is sent to, the old one stays suppressed for anyone' '
	printf "id,email\nimport-hard,moved@example.com\ndsn-hard,moved2@example.com\n" >moved.csv &&
	run 0 crm-import customers moved.csv &&
	printf "id,email,email_consent\nnew-hard,import-hard@example.com,yes\nnew-hard2,dsn-hard@example.com,yes\n" >re.csv &&
	run 0 crm-import customers re.csv &&
	printf "id\nimport-hard\ndsn-hard\nnew-hard\nnew-hard2\n" >four.csv &&
	run 0 crm-send --campaign late --channel email --template m.tmpl -f csv four.csv &&
	expect_eq "sent: sent: suppressed:bounced suppressed:bounced" \
		"$(echo $(status import-hard late) $(status dsn-hard late) $(status new-hard late) $(status new-hard2 late))"
'

test_done
