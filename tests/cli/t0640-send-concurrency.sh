#!/bin/sh
# crm-send --concurrency N: several connections at once (a curl multi
# handle), against real servers on 127.0.0.1 that fail some requests:
# the outcome of every row is the one a single connection gives, nobody
# gets anything twice, connections are reused, and the HTTP retries keep
# their Idempotency-Key. (t0610 kills --concurrency 4 runs too.)
. "$CRM_TOP/tests/lib.sh"
unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY

start_smtpd --rcpt-451-rate 0.2 --seed 7 || exit 1
start_httpd --hang 1 || exit 1
export HTTP_LOG

{
	printf '[smtp]\nurl = smtp://127.0.0.1:%s\n' "$SMTP_PORT"
	printf '[email]\nfrom = Shop <shop@example.com>\n'
	http_section telegram token_env=TG_TOKEN
} >crm.conf
chmod 600 crm.conf
TG_TOKEN=123456789:AAH-conc_Secret
export TG_TOKEN
printf 'Subject: Hi {{first_name}}\n\nHello {{first_name}} ({{id}}).\n' >m.tmpl

# 120 plain recipients, and two sets (a for one connection, b for four:
# the servers remember who they failed once) that the servers treat badly
test_expect 'setup: 130 customers for e-mail and Telegram' '
	{
		echo "id,email,first_name,telegram_chat_id,email_consent,telegram_consent"
		for i in $(seq -w 1 120); do echo "P$i,p$i@example.com,Pat$i,okay-$i,yes,yes"; done
		for s in a b; do
			echo "X1$s,bounce-1$s@example.com,Bo,flaky-1$s,yes,yes"
			echo "X2$s,drop-1$s@example.com,Dee,flaky-2$s,yes,yes"
			echo "X3$s,flaky-1$s@example.com,Fay,rate-1$s,yes,yes"
			echo "X4$s,reject-1$s@example.com,Rey,hang-1$s,yes,yes"
			echo "X5$s,flaky-2$s@example.com,Fin,close-1$s,yes,yes"
		done
	} >people.csv &&
	crm-import customers people.csv 2>/dev/null &&
	crm-segment --no-input -f csv --fields id "id !~ \"b\$\"" >one.csv &&
	crm-segment --no-input -f csv --fields id "id !~ \"a\$\"" >four.csv &&
	expect_eq 126 "$(wc -l <four.csv | tr -d " ")"
'

# outcomes CAMPAIGN: "id status" of every row, sorted, without the a or b
outcomes() {
	sql "SELECT c.external_id || ' ' || m.status FROM messages m
		JOIN customers c ON c.id = m.customer_id JOIN campaigns k ON k.id = m.campaign_id
		WHERE k.name = '$1'" | sed "s/^\(X[0-9]\)[ab] /\1 /" | sort
}

test_expect 'e-mail over 4 connections: every row ends as over one connection' '
	run 3 crm-send --campaign one --channel email --template m.tmpl --backoff 0.05 \
		--max-wait 20 --concurrency 1 -f csv one.csv &&
	outcomes one >one.txt &&
	mv spool/log one.log &&
	run 3 crm-send --campaign four --channel email --template m.tmpl --backoff 0.05 \
		--max-wait 20 --concurrency 4 -f csv four.csv &&
	mv out four.out && mv err four.err &&
	outcomes four >four.txt &&
	expect_same one.txt four.txt &&
	expect_eq 120 "$(grep -c "^P.* sent\$" four.txt)" &&
	expect_eq "X1 bounced X2 in_doubt X3 sent X4 failed X5 sent" "$(grep ^X four.txt | tr "\n" " " | sed "s/ \$//")"
'

test_expect 'e-mail over 4 connections: each delivered once, result line each' '
	expect_eq "" "$(cut -f1 spool/log | sort | uniq -d)" &&
	expect_eq 123 "$(wc -l <spool/log | tr -d " ")" &&
	expect_eq 125 "$(tail -n +2 four.out | wc -l | tr -d " ")" &&
	expect_eq "" "$(tail -n +2 four.out | cut -d, -f1 | sort | uniq -d)" &&
	expect_grep "125 planned, 122 sent, 0 control, 0 suppressed, 0 deferred, 1 bounced, 1 failed, 1 in doubt" four.err
'

# libcurl closes an SMTP connection after a failed transaction: at most
# the 4 lanes' own plus one per failure
test_expect 'e-mail over 4 connections: several connections, reused' '
	conns=$(cut -f3 spool/log | sort -u | wc -l) &&
	fails=$(sql "SELECT sum(attempts) - count(*) + 3 FROM messages m JOIN campaigns k
		ON k.id = m.campaign_id WHERE k.name = '"'four'"'") &&
	echo "$conns connections for $(wc -l <spool/log) messages, $fails failed transactions" &&
	test "$conns" -ge 2 && test "$conns" -le $((fails + 4))
'

test_expect 'Telegram over 4 connections: outcomes as over one, each chat once' '
	crm-send --campaign tg1 --channel telegram --template m.tmpl --backoff 0.05 --max-wait 5 \
		--max-attempts 3 --concurrency 1 -f csv one.csv >tg1.out 2>tg1.err
	outcomes tg1 >tg1.txt &&
	: >"$HTTP_LOG" &&
	crm-send --campaign tg4 --channel telegram --template m.tmpl --backoff 0.05 --max-wait 5 \
		--max-attempts 3 --concurrency 4 -f csv four.csv >tg4.out 2>tg4.err
	outcomes tg4 >tg4.txt &&
	expect_same tg1.txt tg4.txt &&
	expect_eq 120 "$(grep -c "^P.* sent\$" tg4.txt)" &&
	expect_eq "X1 sent X2 sent X3 deferred X4 in_doubt X5 in_doubt" "$(grep ^X tg4.txt | tr "\n" " " | sed "s/ \$//")" &&
	"$PY" - "$HTTP_LOG" <<-\EOF_
	import collections, json, sys
	reqs = [json.loads(l) for l in open(sys.argv[1])]
	ok = collections.Counter(r["address"] for r in reqs if r["status"] == 200)
	twice = [a for a, n in ok.items() if n > 1]
	assert not twice, twice
	assert len(ok) == 122, len(ok)
	keys = collections.defaultdict(set)
	for r in reqs:
	    keys[r["address"]].add(r["headers"]["idempotency-key"])
	assert all(len(k) == 1 for k in keys.values()), keys
	n = {a: sum(1 for r in reqs if r["address"] == a) for a in ("flaky-1b", "flaky-2b")}
	assert n == {"flaky-1b": 2, "flaky-2b": 2}, n
	conns = {r["conn"] for r in reqs}
	print(len(conns), "connections for", len(reqs), "requests")
	assert 2 <= len(conns) <= 8, conns
	EOF_
'

test_expect '--concurrency is checked' '
	run 2 crm-send --campaign x --channel email --template m.tmpl --concurrency 0 four.csv &&
	expect_grep "concurrency needs a number from 1 to 64" err
'

test_expect 'a progress bar on a terminal, none in a pipe' '
	script -qec "crm-send --campaign bar --channel file --no-consent --template m.tmpl \
		--rate 50/s -o bar.jsonl -f csv one.csv" /dev/null >tty.txt </dev/null &&
	expect_grep "bar [" tty.txt &&
	expect_grep "$(printf "\033[K")" tty.txt &&
	expect_eq 125 "$(wc -l <bar.jsonl | tr -d " ")" &&
	run 0 crm-send --campaign bar2 --channel file --no-consent --template m.tmpl \
		--rate 500/s -o bar2.jsonl -f csv one.csv &&
	expect_no_grep "[" err
'
