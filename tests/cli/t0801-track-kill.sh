#!/bin/sh
# kill -9 under load: every click crm-track answered with its redirect is
# in the base (answers wait for the group commit); the base stays
# consistent and the server starts again on it.
. "$CRM_TOP/tests/lib.sh"

ROUNDS=${CRASH_ROUNDS:-10}
unset CRM_NOW
start_smtpd || exit 1
cat >crm.conf <<CONF
[smtp]
url = smtp://127.0.0.1:$SMTP_PORT
[email]
from = Shop <shop@example.com>
CONF
chmod 600 crm.conf
printf 'Subject: Hi\n\nHello.\n' >msg.tmpl
printf "id,email\n" >c.csv
for i in $(seq 1 20); do echo "K$i,k$i@example.com"; done >>c.csv
crm-import customers c.csv 2>/dev/null
crm-send --campaign load --channel email --no-consent --template msg.tmpl \
	--now "2026-11-01 10:00:00" -f csv c.csv >/dev/null 2>&1
IDS=$(sql "SELECT group_concat(id) FROM messages")

test_expect "kill -9 at random moments, $ROUNDS times, under load from 4 clients" '
	: >answered &&
	killed=0 &&
	for r in $(seq 1 $ROUNDS); do
		port=$(free_port)
		{ crm-track --no-log --listen 127.0.0.1:$port 2>>track.log & }
		pid=$!
		i=0
		until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do
			sleep 0.02
			i=$((i + 1))
			[ $i -lt 500 ] && kill -0 $pid 2>/dev/null || { cat track.log; exit 1; }
		done
		{ "$PY" "$CRM_TOP/tests/servers/trackc.py" "$CRM_DB" load "http://127.0.0.1:$port" \
			"$IDS" 30 answered 4 & }
		load=$!
		sleep "$(awk -v r=$r "BEGIN { srand(r); printf \"%.2f\", 0.3 + rand() * 0.7 }")"
		kill_now $pid && killed=$((killed + 1))
		wait $load
	done &&
	expect_eq "$ROUNDS" "$killed" "rounds killed" &&
	sort -u answered >a.sorted &&
	sql "SELECT json_extract(props, '"'$.url'"') FROM events WHERE type = '"'clicked'"'" | sort -u >r.sorted &&
	n=$(wc -l <a.sorted) &&
	test "$n" -gt 100 &&
	comm -23 a.sorted r.sorted >lost &&
	if [ -s lost ]; then echo "answered but not recorded:"; head lost; false; fi &&
	echo "$n answered, $(wc -l <r.sorted) recorded"
'

test_expect 'the base is consistent and a new server answers on it' '
	expect_eq ok "$(sql "PRAGMA integrity_check")" &&
	start_track &&
	expect_eq 302 "$(curl -s -o /dev/null -w "%{http_code}" "$TRACK$(turl click 1 1 https://shop.example/after)")" &&
	expect_eq 1 "$(sql "SELECT count(*) FROM events WHERE json_extract(props, '"'$.url'"') = '"'https://shop.example/after'"'")"
'

test_done
