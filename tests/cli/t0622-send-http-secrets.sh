#!/bin/sh
# Secrets of the HTTP channels: tokens come from the environment (or a
# private config file), never from argv, and never show in crm-send's
# output, its -vvvv trace, its error messages or the outbox, even where
# the provider puts them in the URL (Telegram) or in basic auth (Twilio).
. "$CRM_TOP/tests/lib.sh"
# libcurl would send requests to 127.0.0.1 through a proxy named in these
unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY

TG='987654321:AAF-tg_Secret~Token'
TW='twilio-Secret-9f8e7d'
WA='EAAG-whatsapp-Secret'
start_httpd --hang 5 || exit 1
export HTTP_LOG

{
	http_section telegram token_env=TG_TOKEN
	http_section sms account_sid=AC0123456789 auth_token_env=TW_TOKEN from=+12025550100
	http_section whatsapp phone_number_id=106540352242922 token_env=WA_TOKEN
} >crm.conf
TG_TOKEN=$TG TW_TOKEN=$TW WA_TOKEN=$WA
export TG_TOKEN TW_TOKEN WA_TOKEN

cat >people.csv <<'EOF_'
id,phone,first_name,telegram_chat_id,sms_consent,whatsapp_consent,telegram_consent
S1,+12025550101,Ann,okay-1,yes,yes,yes
S2,+12025550429,Bob,rate-1,yes,yes,yes
S3,+12025550400,Cem,bad-1,yes,yes,yes
S4,+12025550444,Dan,close-1,yes,yes,yes
S5,+12025550408,Eve,hang-1,yes,yes,yes
EOF_
printf 'id\nS1\nS2\nS3\nS4\n' >four.ids
printf 'Hello {{first_name}}\n' >hello.tmpl

# leaks FILE...: fails when a secret, in any form a trace could show it
# (as is, percent-encoded, in base64 basic auth), is in one of the files
leaks() {
	"$PY" - "$@" <<-EOF_
	import base64, sys, urllib.parse
	forms = []
	for s in ("$TG", "$TW", "$WA"):
	    forms += [s, urllib.parse.quote(s, safe=""), urllib.parse.quote(s, safe=":@")]
	forms.append(base64.b64encode(b"AC0123456789:$TW").decode())
	forms.append("Secret")  # a piece of any of them
	bad = [(f, s) for f in sys.argv[1:] for s in forms if s in open(f, errors="replace").read()]
	assert not bad, bad
	EOF_
}

test_expect 'setup' '
	crm-import customers people.csv 2>/dev/null &&
	expect_eq 5 "$(sql "SELECT count(*) FROM customers")"
'

test_expect 'no secret in stdout or stderr, with -v -v -v -v (the whole HTTP trace)' '
	for ch in telegram sms whatsapp; do
		crm-send -v -v -v -v --channel $ch --campaign v-$ch --template hello.tmpl \
			--max-wait 0 -f csv four.ids >out.$ch 2>err.$ch
		test $? -eq 3 || return 1
	done &&
	expect_grep "> POST /bot***/sendMessage HTTP/1.1" err.telegram &&
	expect_grep "> Authorization: ***" err.sms &&
	expect_grep "> Authorization: ***" err.whatsapp &&
	expect_grep "< HTTP/1.1 429 Too Many Requests" err.telegram &&
	expect_grep "S4,telegram,in_doubt" out.telegram &&
	expect_grep "S3,sms,failed,HTTP 400: The '\''To'\'' number is not a valid phone number." out.sms &&
	leaks out.telegram err.telegram out.sms err.sms out.whatsapp err.whatsapp
'

test_expect 'the requests did carry the secrets (so the check above means something)' '
	grep -q "/bot$TG/sendMessage" "$HTTP_LOG" &&
	grep -q "Bearer $WA" "$HTTP_LOG" &&
	grep -q "\"Basic $(printf "AC0123456789:%s" "$TW" | base64 -w0)\"" "$HTTP_LOG" &&
	! leaks "$HTTP_LOG" 2>/dev/null
'

test_expect 'no secret in the outbox or anywhere in the database file' '
	sql ".dump" >dump.sql &&
	expect_grep "v-telegram" dump.sql &&
	leaks dump.sql crm.db $(ls crm.db-wal 2>/dev/null)
'

test_expect 'not on the command line while sending (read from /proc during a request)' '
	printf "id\nS5\n" >hang.ids &&
	crm-send --channel telegram --campaign argv --template hello.tmpl -f csv hang.ids \
		>out 2>err &
	pid=$! &&
	i=0 &&
	until grep -q "hang-1" "$HTTP_LOG"; do
		i=$((i + 1)); test $i -lt 200 || return 1; sleep 0.05
	done &&
	tr "\0" " " </proc/$pid/cmdline >cmdline &&
	wait $pid &&
	expect_grep "--campaign argv" cmdline &&
	leaks cmdline &&
	expect_grep "S5,telegram,in_doubt" out
'

test_expect 'a secret missing from the environment: a clear error, nothing planned' '
	printf "id\nS1\n" >one.ids &&
	run 1 env -u TG_TOKEN crm-send --channel telegram --campaign miss --template hello.tmpl one.ids &&
	expect_grep "[telegram] token_env names the environment variable TG_TOKEN, which is not set" err &&
	expect_eq 0 "$(sql "SELECT count(*) FROM campaigns WHERE name = '\''miss'\''")"
'

test_expect 'a secret in a config file others can read is refused without printing it' '
	sed "s|^token_env = TG_TOKEN|token = $TG|" crm.conf >open.conf &&
	chmod 644 open.conf &&
	run 1 crm-send --config open.conf --channel telegram --campaign open --template hello.tmpl one.ids &&
	expect_grep "token is a secret, but others can read the file" err &&
	leaks out err &&
	chmod 600 open.conf &&
	run 0 crm-send --config open.conf --channel telegram --campaign open --template hello.tmpl -f csv one.ids &&
	expect_grep "S1,telegram,sent," out &&
	leaks out err
'

test_expect 'a config error naming a URL does not show the token in it' '
	printf "[telegram]\nbase_url = ftp://x\ntoken_env = TG_TOKEN\n" >ftp.conf &&
	run 1 crm-send --config ftp.conf --channel telegram --campaign ftp --template hello.tmpl one.ids &&
	expect_grep "must be http:// or https://" err &&
	printf "[telegram]\nbase_url = http://shop.example\ntoken_env = TG_TOKEN\n" >plain.conf &&
	run 1 crm-send --config plain.conf --channel telegram --campaign plain --template hello.tmpl one.ids &&
	expect_grep "plain http:// to shop.example would send the credentials" err &&
	printf "[telegram]\nbase_url = http://[bad\ntoken_env = TG_TOKEN\n" >bad.conf &&
	run 1 crm-send --config bad.conf --channel telegram --campaign bad --template hello.tmpl one.ids &&
	expect_grep "not a URL: \"http://[bad/bot***/sendMessage\"" err &&
	leaks err
'

test_done
