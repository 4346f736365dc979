#!/bin/sh
# crm-send's HTTP channels when the provider misbehaves (a real server on
# 127.0.0.1): 429 with Retry-After (seconds and a date) honoured across
# runs, 500 retried with backoff and delivered once, a hang and a close
# without reply in doubt and not sent again without --resend-in-doubt
# (then with the same Idempotency-Key), 400 failed, refused credentials
# and an unreachable provider stop the run.
. "$CRM_TOP/tests/lib.sh"
# libcurl would send requests to 127.0.0.1 through a proxy named in these
unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY

TOKEN='123456789:AAH-fail_Secret'
start_httpd --hang 5 --token "$TOKEN" || exit 1
export HTTP_LOG

{
	http_section telegram token_env=TG_TOKEN
	http_section sms account_sid=AC0123456789 auth_token_env=TG_TOKEN from=+12025550100
	http_section viber token_env=TG_TOKEN sender_name=Shop
} >crm.conf
TG_TOKEN=$TOKEN
export TG_TOKEN

cat >people.csv <<'EOF_'
id,phone,first_name,telegram_chat_id,viber_id,sms_consent,telegram_consent,viber_consent
OK1,+12025550101,Ann,okay-1,vb-ok,yes,yes,yes
RA1,+12025550429,Rae,rate-1,,yes,yes,no
RD1,+12025550102,Red,ratedate-1,,yes,yes,no
FL1,+12025550503,Flo,flaky-1,,yes,yes,no
FA1,+12025550500,Fay,fail-1,,yes,yes,no
HA1,+12025550408,Hal,hang-1,,yes,yes,no
CL1,+12025550444,Cal,close-1,,yes,yes,no
BA1,+12025550400,Bas,bad-1,bad-vb,yes,yes,yes
GA1,+12025550299,Gab,garble-1,,yes,yes,no
EOF_

printf 'Hello {{first_name}}\n' >hello.tmpl

send() {
	ch=$1 camp=$2
	shift 2
	crm-send --channel "$ch" --campaign "$camp" --template hello.tmpl --backoff 0.1 \
		--max-wait 5 --max-attempts 3 -f csv "$@"
}
# requests ADDRESS: how many requests the server had for ADDRESS
requests() {
	"$PY" -c 'import json, sys
print(sum(1 for l in open(sys.argv[1]) if json.loads(l)["address"] == sys.argv[2]))' "$HTTP_LOG" "$1"
}
# keys ADDRESS: the distinct Idempotency-Keys sent for ADDRESS
keys() {
	"$PY" -c 'import json, sys
print(" ".join(sorted({json.loads(l)["headers"]["idempotency-key"] for l in open(sys.argv[1])
    if json.loads(l)["address"] == sys.argv[2]})))' "$HTTP_LOG" "$1"
}
msg() {
	sql "SELECT m.$3 FROM messages m JOIN campaigns c ON c.id = m.campaign_id
	     JOIN customers u ON u.id = m.customer_id WHERE c.name = '$1' AND u.external_id = '$2'"
}

test_expect 'setup' '
	crm-import customers people.csv 2>/dev/null &&
	expect_eq 9 "$(sql "SELECT count(*) FROM customers")"
'

test_expect '429 with Retry-After in seconds: deferred to then, not before' '
	printf "id\nOK1\nRA1\n" | send telegram r1 >out 2>err &&
	expect_grep "OK1,telegram,sent," out &&
	expect_grep "RA1,telegram,deferred,HTTP 429: Too Many Requests: retry after 3600 (until 2026-11-23 13:00:0" out &&
	expect_eq deferred "$(msg r1 RA1 status)" &&
	case "$(msg r1 RA1 next_at)" in "2026-11-23 13:00:0"[01]) ;; *) false ;; esac &&
	expect_eq 1 "$(requests rate-1)" &&
	run 0 send telegram r1 --retry &&
	expect_eq deferred "$(msg r1 RA1 status)" &&
	expect_eq 1 "$(requests rate-1)"
'

test_expect '... and a later --retry run delivers it once, with the same Idempotency-Key' '
	run 0 send telegram r1 --retry --now "2026-11-23 13:05:00" &&
	expect_grep "RA1,telegram,sent," out &&
	expect_eq 2 "$(requests rate-1)" &&
	expect_eq "$(msg r1 RA1 message_id)" "$(keys rate-1)" &&
	expect_eq 2 "$(msg r1 RA1 attempts)" &&
	run 0 send telegram r1 --retry --now "2026-11-24 13:05:00" &&
	expect_eq 2 "$(requests rate-1)" &&
	expect_eq 1 "$(requests okay-1)"
'

test_expect '429 with Retry-After as an HTTP date' '
	printf "id\nRD1\n" | send telegram r2 >out 2>err &&
	expect_grep "RD1,telegram,deferred,HTTP 429" out &&
	next=$(msg r2 RD1 next_at) &&
	test "$next" \> "2026-11-23 12:59:00" && test "$next" \< "2026-11-23 13:00:02" &&
	run 0 send telegram r2 --retry --now "2026-11-23 13:05:00" &&
	expect_grep "RD1,telegram,sent," out &&
	expect_eq 2 "$(requests ratedate-1)"
'

test_expect 'sms: 500 once is retried with backoff in the same run and delivered once' '
	printf "id\nFL1\n" | send sms s1 >out 2>err &&
	expect_grep "FL1,sms,sent,,SM" out &&
	expect_eq 2 "$(requests +12025550503)" &&
	expect_eq "$(msg s1 FL1 message_id)" "$(keys +12025550503)" &&
	expect_eq 2 "$(msg s1 FL1 attempts)" &&
	"$PY" - "$HTTP_LOG" <<-\EOF_
	import json, sys
	st = [json.loads(l)["status"] for l in open(sys.argv[1]) if json.loads(l)["address"] == "+12025550503"]
	assert st == [500, 201], st
	EOF_
'

test_expect 'sms: 500 every time fails after --max-attempts, each try with the same key' '
	printf "id\nFA1\n" >fa.ids &&
	run 3 send sms s2 fa.ids &&
	expect_grep "FA1,sms,failed,gave up after 3 attempts: HTTP 500: Internal Server Error" out &&
	expect_eq 3 "$(requests +12025550500)" &&
	expect_eq "$(msg s2 FA1 message_id)" "$(keys +12025550500)"
'

test_expect 'a hang past the timeout is in_doubt and not sent again by re-runs or --retry' '
	printf "id\nHA1\n" | send telegram h1 >out 2>err &&
	expect_grep "HA1,telegram,in_doubt,no reply after the request was sent: " out &&
	expect_eq in_doubt "$(msg h1 HA1 status)" &&
	expect_eq 1 "$(requests hang-1)" &&
	printf "id\nHA1\n" | send telegram h1 >out 2>err &&
	run 0 send telegram h1 --retry --now "2026-11-30 12:00:00" &&
	expect_eq 1 "$(requests hang-1)" &&
	expect_eq in_doubt "$(msg h1 HA1 status)"
'

test_expect '--resend-in-doubt sends it once more with the same Idempotency-Key' '
	run 0 send telegram h1 --retry --resend-in-doubt &&
	expect_grep "HA1,telegram,in_doubt," out &&
	expect_eq 2 "$(requests hang-1)" &&
	expect_eq "$(msg h1 HA1 message_id)" "$(keys hang-1)"
'

test_expect 'a close without reply after the request is in_doubt; libcurl did not send it twice' '
	printf "id\nOK1\nCL1\n" | send telegram c1 >out 2>err &&
	expect_grep "CL1,telegram,in_doubt,no reply after the request was sent: the connection was closed without a reply" out &&
	expect_eq 1 "$(requests close-1)" &&
	"$PY" - "$HTTP_LOG" <<-\EOF_ &&
	import json, sys
	rs = [json.loads(l) for l in open(sys.argv[1])]
	ok = [r for r in rs if r["address"] == "okay-1"][-1]
	cl = [r for r in rs if r["address"] == "close-1"]
	# the close came on the connection kept alive after the first message,
	# where libcurl would re-send a request on a fresh connection by itself
	assert len(cl) == 1 and cl[0]["conn"] == ok["conn"], (ok["conn"], cl)
	EOF_
	printf "id\nCL1\n" | send sms c2 >out 2>err &&
	expect_grep "CL1,sms,in_doubt,no reply after the request was sent" out &&
	expect_eq 1 "$(requests +12025550444)"
'

test_expect '400 is failed with the provider error; Viber refusing with status 6 in a 200 too' '
	printf "id\nBA1\n" >ba.ids &&
	run 3 send telegram b1 ba.ids &&
	expect_grep "BA1,telegram,failed,HTTP 400: Bad Request: chat not found" out &&
	expect_eq 1 "$(requests bad-1)" &&
	printf "id\nOK1\nBA1\n" >ba2.ids &&
	run 3 send viber b2 ba2.ids &&
	expect_grep "OK1,viber,sent," out &&
	expect_grep "BA1,viber,failed,refused (HTTP 200): notSubscribed" out &&
	expect_eq 1 "$(requests bad-vb)" &&
	expect_grep "0 deferred, 0 bounced, 1 failed, 0 in doubt" err
'

test_expect 'a 2xx whose reply cannot be read (Telegram wants "ok") is in_doubt, not sent or failed' '
	printf "id\nGA1\n" >ga.ids &&
	run 0 send telegram g1 ga.ids &&
	expect_grep "GA1,telegram,in_doubt,HTTP 200 but the reply cannot be read: <html><body>Service" out &&
	run 0 send telegram g1 --retry --now "2026-11-30 12:00:00" &&
	expect_eq 1 "$(requests garble-1)"
'

test_expect 'credentials refused (401): the run stops, nothing is failed, the rows stay due' '
	printf "id\nOK1\nFL1\n" >two.ids &&
	TG_TOKEN=wrong-token run 1 send sms w1 two.ids &&
	expect_grep "stopped: HTTP 401: Authenticate" err &&
	expect_eq 1 "$("$PY" -c "import json,sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l)[\"status\"] == 401))" "$HTTP_LOG")" &&
	expect_eq "deferred|deferred" "$(sql "SELECT group_concat(status, '\''|'\'') FROM messages m JOIN campaigns c ON c.id = m.campaign_id WHERE c.name = '\''w1'\''")" &&
	run 0 send sms w1 --retry --now "2026-11-23 13:00:00" &&
	expect_eq 2 "$(grep -c ",sms,sent," out)"
'

test_expect 'an unreachable provider stops the run; the message is deferred, not lost' '
	sed "s|^base_url = http://127.0.0.1:$HTTP_PORT|base_url = http://127.0.0.1:1|" crm.conf >down.conf &&
	printf "id\nOK1\n" >ok.ids &&
	run 1 crm-send --config down.conf --channel telegram --campaign d1 \
		--template hello.tmpl -f csv ok.ids &&
	expect_grep "stopped: " err &&
	expect_eq deferred "$(msg d1 OK1 status)" &&
	run 0 send telegram d1 --retry --now "2026-11-23 13:00:00" &&
	expect_grep "OK1,telegram,sent," out
'

test_done
