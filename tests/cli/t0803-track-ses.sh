#!/bin/sh
# crm-track's Amazon SES preset through a real SNS-style exchange: the
# subscription confirmed by fetching its SubscribeURL (from a real HTTP
# server standing in for Amazon), notifications signed with SHA1withRSA
# over the canonical string Amazon documents (by openssl here, not by
# crmkit), a bounce linked to its message, a replay applied once, a stale
# or altered notification refused.
. "$CRM_TOP/tests/lib.sh"

unset CRM_NOW
start_httpd || exit 1
openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -subj /CN=sns.test \
	-days 2 >/dev/null 2>&1
ARN=arn:aws:sns:eu-west-1:123456789012:crm-events
cat >crm.conf <<CONF
[hook.ses]
preset = ses
topic_arn = $ARN
certificate = cert.pem
test_host = 127.0.0.1:$HTTP_PORT
CONF
chmod 600 crm.conf
printf 'id,email\nS1,jane@example.com\nS2,mary@example.com\n' >c.csv
crm-import customers c.csv 2>/dev/null
add_campaign 1 news email "2026-11-01 10:00:00" 2
sql "UPDATE messages SET message_id = '<crm.' || customer_id || '@example.com>'"
start_track

# sns TYPE MESSAGE_JSON [AGE_SECONDS] [TAMPER]: POST an SNS message as
# Amazon does, signed with key.pem; prints the status
sns() {
	"$PY" - "$TRACK" "$ARN" "$HTTP_PORT" "$1" "$2" "${3:-0}" "${4:-}" <<'PYEOF'
import base64, datetime, http.client, json, subprocess, sys, urllib.parse
base, arn, hport, typ, msg, age, tamper = sys.argv[1:8]
ts = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=int(age)))
env = {"Type": typ, "MessageId": "mid-" + str(abs(hash(msg)) % 10**8), "TopicArn": arn,
       "Message": msg, "Timestamp": ts.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
       "SignatureVersion": "1",
       "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-test.pem"}
if typ == "SubscriptionConfirmation":
    env["Token"] = "tok123"
    env["SubscribeURL"] = "http://127.0.0.1:%s/confirm?Action=ConfirmSubscription&Token=tok123" % hport
    keys = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
else:
    keys = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
canon = "".join("%s\n%s\n" % (k, env[k]) for k in keys if k in env)
sig = subprocess.run(["openssl", "dgst", "-sha1", "-sign", "key.pem"], input=canon.encode(),
                     capture_output=True, check=True).stdout
env["Signature"] = base64.b64encode(sig).decode()
if tamper:
    env["Message"] = env["Message"].replace("Permanent", "Transient")
u = urllib.parse.urlsplit(base)
c = http.client.HTTPConnection(u.hostname, u.port)
c.request("POST", "/h/ses", body=json.dumps(env),
          headers={"Content-Type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": typ})
r = c.getresponse()
r.read()
print(r.status)
PYEOF
}
bounce=$(sed 's/<crm.17.42@example.com>/<crm.1@example.com>/g' "$CRM_TOP/tests/fixtures/hooks/ses-bounce.json")

test_expect 'a SubscriptionConfirmation is confirmed by fetching its SubscribeURL' '
	expect_eq 200 "$(sns SubscriptionConfirmation "You have chosen to subscribe")" &&
	grep -q "\"path\": \"/confirm?Action=ConfirmSubscription&Token=tok123\"" "$HTTP_LOG" &&
	grep -q "subscription confirmed" track.log
'

test_expect 'a signed bounce notification is a bounced event of the message'"'"'s customer' '
	expect_eq 200 "$(sns Notification "$bounce")" &&
	expect_eq "1 news Permanent" "$(sql "SELECT customer_id || '"' '"' || campaign || '"' '"' ||
		coalesce(json_extract(props, '"'$.bounce_type'"'), json_extract(props, '"'$.bounceType'"'), '"'?'"')
		FROM events WHERE type = '"'bounced'"' AND customer_id = 1")"
'

test_expect 'the same notification again is applied once' '
	expect_eq 200 "$(sns Notification "$bounce")" &&
	expect_eq 1 "$(sql "SELECT count(*) FROM events WHERE type = '"'bounced'"' AND customer_id = 1")"
'

test_expect 'an altered, a stale or another topic'"'"'s notification changes nothing' '
	before=$(sql "SELECT count(*) FROM events") &&
	other=$(echo "$bounce" | sed "s/<crm.1@example.com>/<crm.2@example.com>/g") &&
	expect_eq 401 "$(sns Notification "$other" 0 tamper)" &&
	code=$(sns Notification "$other" 7200) && case $code in 4??) ;; *) echo "stale: $code"; false;; esac &&
	ARN=arn:aws:sns:eu-west-1:999999999999:other &&
	expect_eq 403 "$(sns Notification "$other")" &&
	expect_eq "$before" "$(sql "SELECT count(*) FROM events")"
'

test_done
