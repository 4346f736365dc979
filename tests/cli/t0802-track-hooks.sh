#!/bin/sh
# crm-track's provider callbacks (/h/NAME, presets in share/hooks): real
# HTTP requests signed as the providers sign them (computed here in
# Python, not by crmkit), applied once, and an unverified one never.
. "$CRM_TOP/tests/lib.sh"

unset CRM_NOW
export TW_TOKEN=twilio-auth-token-0123 TG_SECRET=tg-secret-0123456789 WA_SECRET=wa-app-secret WA_VERIFY=wa-verify-me
cat >crm.conf <<'CONF'
[tracking]
url = https://t.shop.example
[hook.twilio]
preset = twilio
auth_token_env = TW_TOKEN
[hook.tg]
preset = telegram
secret_token_env = TG_SECRET
[hook.wa]
preset = whatsapp
app_secret_env = WA_SECRET
verify_token_env = WA_VERIFY
CONF
chmod 600 crm.conf
printf 'id,email,phone\nP1,p1@example.com,+12125550101\nP2,p2@example.com,+12125550102\n' >c.csv
crm-import customers c.csv 2>/dev/null
sql "INSERT INTO consents(customer_id, channel, granted, recorded_at, source)
	SELECT id, 'sms', 1, '2026-11-01 00:00:00', 'import' FROM customers"
add_campaign 1 sms-promo sms "2026-11-01 10:00:00" 2
sql "UPDATE messages SET provider_id = 'SM' || customer_id || 'abc'"
start_track

# twilio PATH FORM [SIGNATURE]: POST the form as Twilio does, signed with
# its auth token over the public URL and the sorted parameters
twilio() {
	"$PY" - "$TRACK" "$1" "$2" "${3:-}" <<'PYEOF'
import base64, hashlib, hmac, http.client, os, sys, urllib.parse
base, path, form, sig = sys.argv[1:5]
params = urllib.parse.parse_qsl(form, keep_blank_values=True)
msg = "https://t.shop.example" + path + "".join(k + v for k, v in sorted(params))
sig = sig or base64.b64encode(hmac.new(os.environ["TW_TOKEN"].encode(), msg.encode(), hashlib.sha1).digest()).decode()
u = urllib.parse.urlsplit(base)
c = http.client.HTTPConnection(u.hostname, u.port)
c.request("POST", path, body=form, headers={"Content-Type": "application/x-www-form-urlencoded",
                                            "X-Twilio-Signature": sig})
r = c.getresponse()
print(r.status, r.read().decode())
PYEOF
}
cons() {
	sql "SELECT granted || ' ' || source FROM consents WHERE customer_id = $1 AND channel = '$2'
		ORDER BY recorded_at DESC, id DESC LIMIT 1"
}

test_expect 'Twilio inbound STOP revokes sms consent of the sender'"'"'s number' '
	out=$(twilio /h/twilio "From=%2B12125550101&To=%2B15550000000&Body=Stop.&MessageSid=SMin1") &&
	expect_eq 200 "${out%% *}" &&
	expect_eq "0 hook:twilio" "$(cons 1 sms)" &&
	expect_eq 1 "$(sql "SELECT count(*) FROM events WHERE customer_id = 1 AND type = '"'replied'"'
		AND json_extract(props, '"'$.keyword'"') = '"'STOP'"'")" &&
	expect_eq "1 import" "$(cons 2 sms)"
'

test_expect 'a wrong or missing signature is 401 and changes nothing' '
	before=$(sql "SELECT count(*) FROM consents")/$(sql "SELECT count(*) FROM events") &&
	out=$(twilio /h/twilio "From=%2B12125550102&Body=STOP&MessageSid=SMin2" "AAAAAAAAAAAAAAAAAAAAAAAAAAA=") &&
	expect_eq 401 "${out%% *}" &&
	expect_eq 401 "$(curl -s -o /dev/null -w "%{http_code}" -d "From=%2B12125550102&Body=STOP" "$TRACK/h/twilio")" &&
	expect_eq "$before" "$(sql "SELECT count(*) FROM consents")/$(sql "SELECT count(*) FROM events")" &&
	expect_eq "1 import" "$(cons 2 sms)"
'

test_expect 'START grants it again; HELP is answered with TwiML and records nothing' '
	twilio /h/twilio "From=%2B12125550101&Body=start&MessageSid=SMin3" >/dev/null &&
	expect_eq "1 hook:twilio" "$(cons 1 sms)" &&
	before=$(sql "SELECT count(*) FROM consents") &&
	out=$(twilio /h/twilio "From=%2B12125550101&Body=HELP&MessageSid=SMin4") &&
	case $out in "200 "*"<Message>Reply STOP"*) ;; *) echo "$out"; false;; esac &&
	expect_eq "$before" "$(sql "SELECT count(*) FROM consents")"
'

test_expect 'a status callback finds its message by the provider id; a retry is applied once' '
	for i in 1 2; do
		twilio /h/twilio "MessageSid=SM2abc&MessageStatus=delivered&To=%2B12125550102" >/dev/null
	done &&
	expect_eq "1 sms-promo" "$(sql "SELECT count(*) || '"' '"' || campaign FROM events WHERE type = '"'delivered'"' AND customer_id = 2")"
'

test_expect 'Telegram /start TOKEN binds the chat to the customer, /stop revokes' '
	tok=$("$PY" "$CRM_TOP/tests/servers/trackc.py" "$CRM_DB" token telegram 2) &&
	upd() { curl -s -o /dev/null -w "%{http_code}" -H "X-Telegram-Bot-Api-Secret-Token: $1" \
		-H "Content-Type: application/json" --data-binary "$2" "$TRACK/h/tg"; } &&
	expect_eq 200 "$(upd "$TG_SECRET" "{\"update_id\":1,\"message\":{\"message_id\":5,\"date\":1765000000,\"chat\":{\"id\":987654321,\"type\":\"private\"},\"text\":\"/start $tok\"}}")" &&
	expect_eq 987654321 "$(sql "SELECT json_extract(attrs, '"'$.telegram_chat_id'"') FROM customers WHERE id = 2")" &&
	expect_eq "1 hook:tg" "$(cons 2 telegram)" &&
	expect_eq 200 "$(upd "$TG_SECRET" "{\"update_id\":2,\"message\":{\"message_id\":6,\"date\":1765000100,\"chat\":{\"id\":987654321,\"type\":\"private\"},\"text\":\"/stop\"}}")" &&
	expect_eq "0 hook:tg" "$(cons 2 telegram)" &&
	expect_eq 401 "$(upd wrong "{\"update_id\":3,\"message\":{\"message_id\":7,\"date\":1765000200,\"chat\":{\"id\":1,\"type\":\"private\"},\"text\":\"/start $tok\"}}")" &&
	expect_eq 987654321 "$(sql "SELECT json_extract(attrs, '"'$.telegram_chat_id'"') FROM customers WHERE id = 2")"
'

test_expect 'Telegram /start with a forged token binds nothing' '
	curl -s -o /dev/null -H "X-Telegram-Bot-Api-Secret-Token: $TG_SECRET" --data-binary \
		"{\"update_id\":4,\"message\":{\"message_id\":8,\"date\":1765000300,\"chat\":{\"id\":555,\"type\":\"private\"},\"text\":\"/start 1-0123456789abcdef\"}}" "$TRACK/h/tg" &&
	expect_eq "" "$(sql "SELECT json_extract(attrs, '"'$.telegram_chat_id'"') FROM customers WHERE id = 1")"
'

test_expect 'WhatsApp: the verification GET, a signed opt-out, a bad signature' '
	expect_eq "200 ch4ll" "$(curl -s -w "%{http_code} " -o b "$TRACK/h/wa?hub.mode=subscribe&hub.verify_token=$WA_VERIFY&hub.challenge=ch4ll")$(cat b)" &&
	expect_eq 403 "$(curl -s -o /dev/null -w "%{http_code}" "$TRACK/h/wa?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=x")" &&
	body="{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"1\",\"changes\":[{\"field\":\"messages\",\"value\":{\"messaging_product\":\"whatsapp\",\"metadata\":{\"phone_number_id\":\"1\"},\"messages\":[{\"from\":\"12125550102\",\"id\":\"wamid.1\",\"timestamp\":\"1765000000\",\"type\":\"text\",\"text\":{\"body\":\"STOP\"}}]}}]}]}" &&
	sig=$(printf %s "$body" | openssl dgst -sha256 -hmac "$WA_SECRET" -r | cut -d" " -f1) &&
	expect_eq 401 "$(curl -s -o /dev/null -w "%{http_code}" -H "X-Hub-Signature-256: sha256=00$sig" -H "Content-Type: application/json" --data-binary "$body" "$TRACK/h/wa")" &&
	expect_eq "" "$(cons 2 whatsapp)" &&
	expect_eq 200 "$(curl -s -o /dev/null -w "%{http_code}" -H "X-Hub-Signature-256: sha256=$sig" -H "Content-Type: application/json" --data-binary "$body" "$TRACK/h/wa")" &&
	expect_eq "0 hook:wa" "$(cons 2 whatsapp)"
'

test_expect 'an unknown hook is 404; the log names no phone number' '
	expect_eq 404 "$(curl -s -o /dev/null -w "%{http_code}" -d x "$TRACK/h/nope")" &&
	expect_no_grep "2125550101" track.log &&
	grep -q "POST /h/twilio 200 customer=1" track.log
'

test_done
