#!/bin/sh
# crm-send's HTTP channels against a real HTTP server on 127.0.0.1: each
# shipped preset makes the request its API expects (method, path,
# headers, body parsed back), the provider's id is kept, consent is
# checked per channel, and re-runs send nothing twice.
. "$CRM_TOP/tests/lib.sh"
# libcurl would send requests to 127.0.0.1 through a proxy named in these
unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY

start_httpd || exit 1
export HTTP_LOG

# (telegram's base_url with a trailing / that the preset's url must lose)
{
	http_section telegram base_url=http://127.0.0.1:$HTTP_PORT/ token_env=TG_TOKEN
	http_section sms preset=sms-twilio account_sid=AC0123456789 auth_token_env=TWILIO_TOKEN \
		from=+12025550100
	http_section whatsapp phone_number_id=106540352242922 token_env=WA_TOKEN
	http_section viber token_env=VIBER_TOKEN sender_name=Shop
	http_section push project_id=shop-app access_token_env=FCM_TOKEN
	http_section webhook "url=http://127.0.0.1:$HTTP_PORT/hooks/crm?src=crmkit" \
		signing_secret_env=HOOK_SECRET
} >crm.conf
TG_TOKEN='123456789:AAH-tg_Secret' TWILIO_TOKEN=tw-secret-token WA_TOKEN=EAAwa-secret
VIBER_TOKEN=445da6az1s345z78-vb-secret FCM_TOKEN=ya29.fcm-secret HOOK_SECRET=hook-signing-key
export TG_TOKEN TWILIO_TOKEN WA_TOKEN VIBER_TOKEN FCM_TOKEN HOOK_SECRET

# C1 consents everywhere; C2 to sms and whatsapp only; C3 nowhere; C4
# everywhere but has no phone, chat id, token or Viber id
cat >people.csv <<'EOF_'
id,email,phone,first_name,telegram_chat_id,push_token,viber_id,sms_consent,whatsapp_consent,telegram_consent,viber_consent,push_consent,webhook_consent
C1,ann@example.com,+12025550101,Анна,100200300,fcm-token-1:APA91b,01234567890A=,yes,yes,yes,yes,yes,yes
C2,bob@example.com,+12025550102,Bob,100200301,fcm-token-2,01234567890B=,yes,yes,no,no,no,no
C3,cem@example.com,+12025550103,Cem,100200302,fcm-token-3,01234567890C=,no,no,no,no,no,no
C4,dan@example.com,,Dan,,,,yes,yes,yes,yes,yes,yes
EOF_

cat >hello.tmpl <<'EOF_'
Subject: Привет, {{first_name}}!

Hi {{first_name|default:"friend"}} & co: 50% off + "free" shipping = 🎁
Line 2 of {{campaign}}
EOF_

send() { crm-send --channel "$1" --campaign "$2" --template hello.tmpl --backoff 0.1 \
	--max-wait 5 -f csv people.ids; }

# send_expect CHANNEL CAMPAIGN WANT: sends, and checks that the outcomes
# ("ID,status[,reason]" of each row, sorted) are WANT
send_expect() {
	run 0 send "$1" "$2" &&
	expect_eq "$3" "$(cut -d, -f1,3,4 out | tail -n +2 | sed "s/,$//" | sort)" "outcomes of $2"
}
ONLY_C1='C1,sent
C2,suppressed,no_consent
C3,suppressed,no_consent
C4,suppressed,invalid_address'
C1_C2='C1,sent
C2,sent
C3,suppressed,no_consent
C4,suppressed,invalid_address'

# h.py: reads the server's log and the outbox
cat >h.py <<'EOF_'
import base64, hashlib, hmac, json, os, sqlite3, sys, urllib.parse
LOG = os.environ["HTTP_LOG"]
CAMPAIGN = os.environ.get("CAMPAIGN")
def reqs():
    return [json.loads(l) for l in open(LOG) if l.strip()]
def one(addr, path_part):
    rs = [r for r in reqs() if r["address"] == addr and path_part in r["path"]]
    assert len(rs) == 1, (addr, path_part, len(rs))
    return rs[0]
db = sqlite3.connect(os.environ["CRM_DB"])
def row(campaign, ext):
    r = db.execute("SELECT m.status, m.message_id, m.provider_id, m.attempts FROM messages m"
                   " JOIN campaigns c ON c.id = m.campaign_id"
                   " JOIN customers u ON u.id = m.customer_id"
                   " WHERE c.name = ? AND u.external_id = ?", (campaign, ext)).fetchone()
    return dict(zip(("status", "message_id", "provider_id", "attempts"), r))
def text(name):
    return ("Hi %s & co: 50%% off + \"free\" shipping = \U0001F381\nLine 2 of %s"
            % ("Анна" if name == "C1" else "Bob", CAMPAIGN))
def common(r, key, ctype="application/json; charset=utf-8"):
    assert r["method"] == "POST", r["method"]
    h = r["headers"]
    assert h["idempotency-key"] == key, (h, key)
    assert h["content-type"] == ctype, h
    assert h["accept"] == "application/json", h
    assert h["user-agent"].startswith("crmkit/"), h
    assert "expect" not in h, h
EOF_

test_expect 'setup' '
	crm-import customers people.csv 2>/dev/null &&
	printf "id\nC1\nC2\nC3\nC4\n" >people.ids &&
	expect_eq 4 "$(sql "SELECT count(*) FROM customers")"
'

test_expect 'telegram: sendMessage with the chat id and the text, ok and message_id read' '
	send_expect telegram tg1 "$ONLY_C1" &&
	CAMPAIGN=tg1 "$PY" - <<-\EOF_
	exec(open("h.py").read())
	m = row("tg1", "C1")
	r = one("100200300", "/sendMessage")
	common(r, m["message_id"])
	assert r["path"] == "/bot123456789:AAH-tg_Secret/sendMessage", r["path"]
	assert json.loads(r["body"]) == {"chat_id": "100200300", "text": text("C1"),
	    "link_preview_options": {"is_disabled": True}}, r["body"]
	assert m["provider_id"] == str(r["reply"]["result"]["message_id"]), m
	assert m["status"] == "sent" and m["attempts"] == 1, m
	EOF_
'

test_expect 'sms (Twilio): a form POST with basic auth; + and & are encoded; 201 and the sid' '
	send_expect sms sms1 "$C1_C2" &&
	CAMPAIGN=sms1 "$PY" - <<-\EOF_
	exec(open("h.py").read())
	for ext, phone in (("C1", "+12025550101"), ("C2", "+12025550102")):
	    m = row("sms1", ext)
	    r = one(phone, "/Messages.json")
	    common(r, m["message_id"], "application/x-www-form-urlencoded")
	    assert r["path"] == "/2010-04-01/Accounts/AC0123456789/Messages.json", r["path"]
	    auth = r["headers"]["authorization"]
	    assert auth.startswith("Basic "), auth
	    assert base64.b64decode(auth[6:]).decode() == "AC0123456789:tw-secret-token", auth
	    assert urllib.parse.parse_qsl(r["body"], strict_parsing=True) == [
	        ("To", phone), ("From", "+12025550100"), ("Body", text(ext))], r["body"]
	    assert r["body"].startswith("To=%2B1202555010"), r["body"]
	    assert "&co" not in r["body"] and "+%26+co" in r["body"], r["body"]
	    assert r["status"] == 201
	    assert m["provider_id"] == r["reply"]["sid"] and m["provider_id"].startswith("SM"), m
	EOF_
'

test_expect 'whatsapp: Cloud API text message with a bearer token; messages.0.id kept' '
	send_expect whatsapp wa1 "$C1_C2" &&
	CAMPAIGN=wa1 "$PY" - <<-\EOF_
	exec(open("h.py").read())
	m = row("wa1", "C2")
	r = one("+12025550102", "/messages")
	common(r, m["message_id"])
	assert r["path"] == "/v21.0/106540352242922/messages", r["path"]
	assert r["headers"]["authorization"] == "Bearer EAAwa-secret"
	assert json.loads(r["body"]) == {"messaging_product": "whatsapp",
	    "recipient_type": "individual", "to": "+12025550102", "type": "text",
	    "text": {"preview_url": False, "body": text("C2")},
	    "biz_opaque_callback_data": m["message_id"]}, r["body"]
	assert m["provider_id"] == r["reply"]["messages"][0]["id"], m
	assert m["provider_id"].startswith("wamid."), m
	EOF_
'

test_expect 'viber: send_message with X-Viber-Auth-Token; a message_token beyond 2^53 keeps its digits' '
	send_expect viber vb1 "$ONLY_C1" &&
	CAMPAIGN=vb1 "$PY" - <<-\EOF_
	exec(open("h.py").read())
	m = row("vb1", "C1")
	r = one("01234567890A=", "/pa/send_message")
	common(r, m["message_id"])
	assert r["headers"]["x-viber-auth-token"] == "445da6az1s345z78-vb-secret"
	assert json.loads(r["body"]) == {"receiver": "01234567890A=", "min_api_version": 1,
	    "sender": {"name": "Shop"}, "tracking_data": m["message_id"], "type": "text",
	    "text": text("C1")}, r["body"]
	assert m["provider_id"] == str(r["reply"]["message_token"]), (m, r["reply"])
	assert int(m["provider_id"]) > 2**53
	EOF_
'

test_expect 'push (FCM HTTP v1): title from the Subject, body from the text, the campaign as data' '
	send_expect push p1 "$ONLY_C1" &&
	CAMPAIGN=p1 "$PY" - <<-\EOF_
	exec(open("h.py").read())
	m = row("p1", "C1")
	r = one("fcm-token-1:APA91b", "/messages:send")
	common(r, m["message_id"])
	assert r["path"] == "/v1/projects/shop-app/messages:send", r["path"]
	assert r["headers"]["authorization"] == "Bearer ya29.fcm-secret"
	assert json.loads(r["body"]) == {"message": {"token": "fcm-token-1:APA91b",
	    "notification": {"title": "Привет, Анна!", "body": text("C1")},
	    "data": {"campaign": "p1", "message_id": m["message_id"]}}}, r["body"]
	assert m["provider_id"] == r["reply"]["name"], m
	EOF_
'

test_expect 'webhook: JSON of customer, campaign and message, signed with HMAC-SHA256 of the body' '
	send_expect webhook w1 "C1,sent
C2,suppressed,no_consent
C3,suppressed,no_consent
C4,sent" &&
	CAMPAIGN=w1 "$PY" - <<-\EOF_
	exec(open("h.py").read())
	m = row("w1", "C1")
	r = one("C1", "/hooks/crm")
	common(r, m["message_id"])
	assert r["path"] == "/hooks/crm?src=crmkit", r["path"]
	assert "authorization" not in r["headers"], r["headers"]
	mac = hmac.new(b"hook-signing-key", r["body"].encode(), hashlib.sha256).hexdigest()
	assert r["headers"]["x-crm-signature"] == "sha256=" + mac, r["headers"]
	assert json.loads(r["body"]) == {"customer": "C1", "campaign": "w1",
	    "message_id": m["message_id"], "to": "C1", "subject": "Привет, Анна!",
	    "text": text("C1"), "html": ""}, r["body"]
	assert m["provider_id"] == r["reply"]["id"], m
	EOF_
'

test_expect 'every request of a channel went over one kept-alive connection' '
	"$PY" - <<-\EOF_
	exec(open("h.py").read())
	for part in ("/sendMessage", "/Messages.json"):
	    conns = {r["conn"] for r in reqs() if part in r["path"]}
	    assert len(conns) == 1, (part, conns)
	EOF_
'

test_expect 're-running every campaign sends nothing again: each recipient received once' '
	n=$(wc -l <"$HTTP_LOG") &&
	for c in telegram:tg1 sms:sms1 whatsapp:wa1 viber:vb1 push:p1 webhook:w1; do
		run 0 send ${c%%:*} ${c#*:} &&
		expect_eq "id,channel,status,reason,provider_id,message_id,variant" "$(cat out)" || return 1
	done &&
	expect_eq "$n" "$(wc -l <"$HTTP_LOG")" &&
	"$PY" - <<-\EOF_
	exec(open("h.py").read())
	keys = [r["headers"]["idempotency-key"] for r in reqs()]
	assert len(keys) == len(set(keys)) == 9, keys
	EOF_
'

test_expect 'a consent granted later is honoured by the next run of the same campaign' '
	printf "customer_id,channel,granted\nC2,telegram,yes\n" >grant.csv &&
	crm-import --now "2026-11-23 12:30:00" consents grant.csv 2>/dev/null &&
	printf "id\nC2\n" >people.ids &&
	CRM_NOW="2026-11-23 13:00:00" run 0 send telegram tg2 &&
	expect_grep "C2,telegram,sent," out
'

test_expect 'a preset given by path; an unknown placeholder is refused before anything is sent' '
	cat >custom.json <<-\EOF_ &&
	{ "address": "email", "config": { "base_url": {} },
	  "url": "{{base_url}}/custom/{{address}}", "json": { "t": "{{text}}", "n": 3 } }
	EOF_
	cat >bad.json <<-\EOF_ &&
	{ "address": "email", "url": "http://127.0.0.1:1/x", "json": { "t": "{{first_name}}" } }
	EOF_
	cat crm.conf >c2.conf &&
	printf "[webhook]\npreset = %s/custom.json\nbase_url = http://127.0.0.1:%s\n" "$PWD" "$HTTP_PORT" >>c2.conf &&
	printf "id\nC1\n" >one.ids &&
	run 0 crm-send --config c2.conf --channel webhook --campaign cu1 --template hello.tmpl -f csv one.ids &&
	expect_grep "C1,webhook,sent,,HTTP 200," out &&
	"$PY" - <<-\EOF_ &&
	exec(open("h.py").read())
	r = [r for r in reqs() if r["path"].startswith("/custom/")]
	assert len(r) == 1 and r[0]["path"] == "/custom/ann@example.com", r
	assert json.loads(r[0]["body"])["n"] == 3
	EOF_
	sed "s|custom.json|bad.json|" c2.conf >c3.conf &&
	n=$(wc -l <"$HTTP_LOG") &&
	run 1 crm-send --config c3.conf --channel webhook --campaign cu2 --template hello.tmpl one.ids &&
	expect_grep "bad.json: json: unknown placeholder {{first_name}}" err &&
	expect_eq "$n" "$(wc -l <"$HTTP_LOG")" &&
	expect_eq 0 "$(sql "SELECT count(*) FROM campaigns WHERE name = '\''cu2'\''")"
'

test_expect 'CRM_DATADIR: presets are looked up in its providers directory' '
	mkdir -p data/providers &&
	sed "s|/bot{{token}}|/v2/bot{{token}}|" "$CRM_TOP/share/providers/telegram.json" \
		>data/providers/telegram.json &&
	printf "id\nC1\n" >one.ids &&
	CRM_DATADIR=$PWD/data run 0 crm-send --channel telegram --campaign dd1 --template hello.tmpl -f csv one.ids &&
	expect_grep "C1,telegram,sent," out &&
	grep -q "\"path\": \"/v2/bot" "$HTTP_LOG" &&
	CRM_DATADIR=$PWD/nowhere run 1 crm-send --channel telegram --campaign dd2 --template hello.tmpl one.ids &&
	expect_grep "[telegram] preset \"telegram\": no telegram.json in $PWD/nowhere/providers" err
'

test_expect 'a dry run needs no secret and sends nothing' '
	n=$(wc -l <"$HTTP_LOG") &&
	printf "id\nC1\n" >one.ids &&
	run 0 env -u TG_TOKEN crm-send -n --channel telegram --campaign dry --template hello.tmpl -f csv one.ids &&
	expect_grep "C1,telegram,sent,,dry run" out &&
	expect_eq "$n" "$(wc -l <"$HTTP_LOG")"
'

test_done
