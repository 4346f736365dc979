#!/bin/sh
# A provider that echoes the request's credentials in its reply (its error
# text, or even its message id): crm-send stores and prints that reply
# with the credentials replaced by [redacted], on every HTTP channel, for
# a token in the URL (Telegram), basic auth (Twilio), bearer tokens
# (WhatsApp, FCM, webhook) and a token header (Viber).
. "$CRM_TOP/tests/lib.sh"
# libcurl would send requests to 127.0.0.1 through a proxy named in these
unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY

TG='555666777:AAF-tg_Secret~Tok'
TW='tw-Secret-1a2b3c'
WA='EAAG-wa-Secret'
FCM='ya29.fcm-Secret'
VB='445da6az-vb-Secret'
HOOK='hook-Secret-bearer'
start_httpd || exit 1
export HTTP_LOG

{
	http_section telegram token_env=TG_TOKEN
	http_section sms account_sid=AC0123456789 auth_token_env=TW_TOKEN from=+12025550100
	http_section whatsapp phone_number_id=106540352242922 token_env=WA_TOKEN
	http_section push project_id=shop-app access_token_env=FCM_TOKEN
	http_section viber token_env=VB_TOKEN sender_name=Shop
	http_section webhook "url=http://127.0.0.1:$HTTP_PORT/hooks/crm?src=crmkit" token_env=HOOK_TOKEN
} >crm.conf
TG_TOKEN=$TG TW_TOKEN=$TW WA_TOKEN=$WA FCM_TOKEN=$FCM VB_TOKEN=$VB HOOK_TOKEN=$HOOK
export TG_TOKEN TW_TOKEN WA_TOKEN FCM_TOKEN VB_TOKEN HOOK_TOKEN
CHANNELS='telegram sms whatsapp push viber webhook'

# E1's provider refuses with an error text that echoes the credentials;
# E2's accepts and gives them back as the message id
cat >people.csv <<'EOF_'
id,phone,telegram_chat_id,push_token,viber_id,sms_consent,whatsapp_consent,telegram_consent,push_consent,viber_consent,webhook_consent
echo-E1,+12025550401,echo-1,echo-p1,echo-v1,yes,yes,yes,yes,yes,yes
echoid-E2,+12025550201,echoid-2,echoid-p2,echoid-v2,yes,yes,yes,yes,yes,yes
EOF_
printf 'id\necho-E1\nechoid-E2\n' >two.ids
printf 'Hello\n' >hello.tmpl

# leaks FILE...: fails when a secret, in any form a reply could show it
# (as is, percent-encoded, base64 of basic auth's user:password), or a
# piece of one ("Secret"), is in one of the files
leaks() {
	"$PY" - "$@" <<-EOF_
	import base64, sys, urllib.parse
	forms = []
	for s in ("$TG", "$TW", "$WA", "$FCM", "$VB", "$HOOK"):
	    forms += [s, urllib.parse.quote(s, safe=""), urllib.parse.quote(s, safe=":@")]
	forms.append(base64.b64encode(b"AC0123456789:$TW").decode())
	forms.append("QUMwMTIz")  # the start of that
	forms.append("Secret")
	bad = [(f, s) for f in sys.argv[1:] for s in forms
	       if s.encode() in open(f, "rb").read()]
	assert not bad, bad
	EOF_
}

test_expect 'setup' '
	crm-import customers people.csv 2>/dev/null &&
	expect_eq 2 "$(sql "SELECT count(*) FROM customers")"
'

test_expect 'the provider did echo the credentials (so the checks below mean something)' '
	for ch in $CHANNELS; do
		crm-send --channel $ch --campaign c-$ch --template hello.tmpl -f csv two.ids \
			>out.$ch 2>err.$ch
		test $? -eq 3 || { cat err.$ch; return 1; }
	done &&
	grep -q "/bot$TG/sendMessage" "$HTTP_LOG" &&
	grep -q "Bearer $WA" "$HTTP_LOG" &&
	grep -q "user:password AC0123456789:$TW" "$HTTP_LOG" &&
	grep -q "X-Viber-Auth-Token: $VB\"" "$HTTP_LOG" &&
	grep -q "Bearer $HOOK" "$HTTP_LOG" &&
	expect_eq 6 "$(sql "SELECT count(*) FROM messages WHERE status = '\''failed'\''")" &&
	expect_eq 6 "$(sql "SELECT count(*) FROM messages WHERE status = '\''sent'\''")"
'

test_expect 'no secret on stdout or stderr' '
	for ch in $CHANNELS; do
		expect_grep "echo-E1,$ch,failed," out.$ch &&
		expect_grep "[redacted]" out.$ch &&
		leaks out.$ch err.$ch || return 1
	done
'

test_expect 'the stored reasons and provider ids say [redacted] where the secrets were' '
	sql "SELECT channel, reason FROM messages WHERE status = '\''failed'\'' ORDER BY channel" >reasons &&
	expect_eq 6 "$(grep -c "redacted" reasons)" &&
	expect_grep "sms|HTTP 400: denied POST /2010-04-01/Accounts/AC0123456789/Messages.json with Authorization: Basic [redacted] (user:password AC0123456789:[redacted])" reasons &&
	expect_grep "telegram|HTTP 400: denied POST /bot[redacted]/sendMessage" reasons &&
	expect_grep "/106540352242922/messages with Authorization: Bearer [redacted]" reasons &&
	expect_grep "X-Viber-Auth-Token: [redacted]" reasons &&
	sql "SELECT provider_id FROM messages WHERE status = '\''sent'\''" >ids &&
	expect_eq 6 "$(grep -c "redacted" ids)" &&
	leaks reasons ids
'

test_expect 'no secret in any byte of the database file or its WAL' '
	sql ".dump" >dump.sql &&
	expect_grep "c-telegram" dump.sql &&
	leaks dump.sql crm.db $(ls crm.db-wal 2>/dev/null)
'

test_expect 'nor in the -vvvv trace, which shows the replies' '
	printf "id\necho-E1\n" >one.ids &&
	for ch in $CHANNELS; do
		crm-send -v -v -v -v --channel $ch --campaign t-$ch --template hello.tmpl -f csv one.ids \
			>tout.$ch 2>terr.$ch
		test $? -eq 3 || { echo "exit $? from $ch"; cat terr.$ch; return 1; }
		expect_grep "< {" terr.$ch &&
		leaks tout.$ch terr.$ch || return 1
	done &&
	expect_grep "> Authorization: ***" terr.sms
'

test_done
