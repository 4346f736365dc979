#!/bin/sh
# crm-track against real clients (curl, Python's http.client): clicks,
# the pixel, one-click unsubscribe and the preference page, machine
# activity, forged and altered tokens, the collector, limits.
. "$CRM_TOP/tests/lib.sh"

# crm-track records hits when they happen: the other programs look at the
# base as of the real clock here
unset CRM_NOW
UA='Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0'
# hit [CURL ARGS...] URL: status and redirect target, as a person's browser
hit() {
	curl -s -o body -A "$UA" -w '%{http_code} %{redirect_url}' "$@"
}
ev() {
	sql "SELECT count(*) FROM events WHERE $1"
}

export WEB_TOKEN=0123456789abcdef-web-token
start_smtpd || exit 1
cat >crm.conf <<CONF
[smtp]
url = smtp://127.0.0.1:$SMTP_PORT
[email]
from = Shop <shop@example.com>
[tracking]
name = Shop <Example> & Co
[topics.email]
news = Newsletter <weekly>
promo = Offers
[collector.web]
token_env = WEB_TOKEN
kinds = events customers
rate = 1000
[collector.slow]
token_env = SLOW_TOKEN
rate = 1
CONF
export SLOW_TOKEN=slow-token-0123456789abcdef
chmod 600 crm.conf
printf 'Subject: Hi {{first_name}}\n\nHello {{first_name}}.\n' >msg.tmpl
printf "id,email,first_name\n" >c.csv
for i in 1 2 3 4 5 6; do echo "A$i,a$i@example.com,N$i"; done >>c.csv
crm-import customers c.csv 2>/dev/null
printf 'id\nA1\nA2\nA3\nA4\nA5\nA6\n' >to.csv
crm-send --campaign promo --channel email --no-consent --template msg.tmpl \
	--now "2026-11-01 10:00:00" -f csv to.csv >/dev/null 2>&1
start_track

test_expect 'setup: six messages sent, the server answers /healthz' '
	expect_eq 6 "$(sql "SELECT count(*) FROM messages WHERE status = '"'sent'"'")" &&
	expect_eq ok "$(curl -s "$TRACK/healthz")"
'

target="https://shop.example/a?x=1&y=%C3%A9#top"
test_expect 'a click is redirected to its target and recorded as a person'"'"'s' '

	expect_eq "302 $target" "$(hit "$TRACK$(turl click 1 2 "$target")")" &&
	expect_eq 1 "$(ev "type = '"'clicked'"' AND customer_id = 1 AND machine IS NULL
		AND campaign = '"'promo'"' AND json_extract(props, '"'$.link'"') = 2
		AND json_extract(props, '"'$.url'"') = '"'$target'"'
		AND message_id = (SELECT message_id FROM messages WHERE id = 1)")" &&
	# the access log line is written once the answer is out (libmicrohttpd
	# calls back after it): under valgrind it can come after curl returns
	_i=0 &&
	until grep -q "GET /c/1-[0-9a-f]*/2 302 customer=1 " track.log; do
		_i=$((_i + 1))
		[ $_i -le 200 ] || { echo "no access log line:"; cat track.log; exit 1; }
		sleep 0.05
	done &&
	expect_no_grep "a1@example.com" track.log
'

test_expect 'an altered target, link number or token, or a forged one, gets 400 and records nothing' '
	good=$(turl click 1 2 https://shop.example/a) &&
	before=$(ev 1) &&
	evil=$(echo "$good" | sed "s/shop.example/evil.example/") &&
	expect_eq "400 " "$(hit "$TRACK$evil")" &&
	other=$(echo "$good" | sed "s|/2?u=|/3?u=|") &&
	expect_eq "400 " "$(hit "$TRACK$other")" &&
	row=$(echo "$good" | sed "s|/c/1-|/c/2-|") &&
	expect_eq "400 " "$(hit "$TRACK$row")" &&
	expect_eq "400 " "$(hit "$TRACK/c/1-0123456789abcdef/1?u=https%3A%2F%2Fevil.example")" &&
	expect_eq "400 " "$(hit "$TRACK/c/1-0123456789abcdef/1")" &&
	expect_eq "404 " "$(hit "$TRACK/c/../../etc/passwd")" &&
	expect_eq "400 " "$(hit "$TRACK/u/1-0123456789abcdef")" &&
	expect_eq "400 " "$(hit "$TRACK/o/1-0123456789abcdef.gif")" &&
	expect_eq "$before" "$(ev 1)"
'

test_expect 'a signed target with CR/LF or another scheme is never sent as a Location' '
	before=$(ev 1) &&
	expect_eq "400 " "$(hit "$TRACK$(turl click 1 1 "$(printf "https://a.example/\r\nSet-Cookie: x=1")")")" &&
	expect_eq "400 " "$(hit "$TRACK$(turl click 1 1 "javascript:alert(1)")")" &&
	expect_eq "$before" "$(ev 1)"
'

test_expect 'the pixel is a GIF and records an open' '
	expect_eq "200 " "$(hit "$TRACK$(turl open 2)")" &&
	expect_eq GIF89a "$(head -c 6 body)" &&
	expect_eq 43 "$(wc -c <body | tr -d " ")" &&
	expect_eq 1 "$(ev "type = '"'opened'"' AND customer_id = 2 AND machine IS NULL")"
'

test_expect 'machines: HEAD, a listed user agent, a listed address behind the proxy' '
	curl -s -I -A "$UA" "$TRACK$(turl open 3)" >/dev/null &&
	expect_eq 1 "$(ev "type = '"'opened'"' AND customer_id = 3 AND machine = '"'head'"'")" &&
	curl -s -A "Mozilla/5.0" -o /dev/null "$TRACK$(turl open 3)" &&
	expect_eq 1 "$(ev "type = '"'opened'"' AND customer_id = 3 AND machine = '"'ua:apple-mpp'"'")" &&
	curl -s -A "$UA" -H "X-Forwarded-For: 203.0.113.9, 40.93.1.2" -o /dev/null \
		"$TRACK$(turl click 3 1 https://shop.example/x)" &&
	expect_eq 1 "$(ev "type = '"'clicked'"' AND customer_id = 3 AND machine = '"'ip:microsoft-eop'"'")" &&
	curl -s -o /dev/null "$TRACK$(turl click 3 1 https://shop.example/y)" &&
	expect_eq 1 "$(ev "type = '"'clicked'"' AND customer_id = 3 AND machine = '"'ua:script'"'")"
'

test_expect 'two links of one message within a second: both are a scanner'"'"'s' '
	hit "$TRACK$(turl click 4 1 https://shop.example/one)" >/dev/null &&
	hit "$TRACK$(turl click 4 2 https://shop.example/two)" >/dev/null &&
	expect_eq 2 "$(ev "type = '"'clicked'"' AND customer_id = 4 AND machine = '"'every-link'"'")"
'

test_expect 'a hit within seconds of sending is a machine'"'"'s' '
	printf "id\nA1\n" | crm-send --campaign fresh --channel email --no-consent --template msg.tmpl \
		--now "$(date -u "+%Y-%m-%d %H:%M:%S")" -f csv - >/dev/null 2>&1 &&
	id=$(sql "SELECT m.id FROM messages m JOIN campaigns c ON c.id = m.campaign_id WHERE c.name = '"'fresh'"'") &&
	hit "$TRACK$(turl open "$id")" >/dev/null &&
	expect_eq fast "$(sql "SELECT machine FROM events WHERE campaign = '"'fresh'"'")"
'

test_expect 'GET on the unsubscribe URL shows the page and changes nothing' '
	before=$(sql "SELECT count(*) FROM consents")/$(ev 1) &&
	expect_eq "200 " "$(hit "$TRACK$(turl unsub 5)")" &&
	expect_grep "Unsubscribe from all" body &&
	expect_grep "Shop &lt;Example&gt; &amp; Co" body &&
	expect_grep "Newsletter &lt;weekly&gt;" body &&
	expect_no_grep "<script" body &&
	expect_no_grep "a5@example.com" body &&
	expect_eq "$before" "$(sql "SELECT count(*) FROM consents")/$(ev 1)"
'

test_expect 'one-click POST (RFC 8058) revokes the channel, answers 200 with no page' '
	expect_eq "200 " "$(hit -X POST -d List-Unsubscribe=One-Click "$TRACK$(turl unsub 5)")" &&
	test ! -s body &&
	expect_eq "0 one-click" "$(sql "SELECT granted || '"' '"' || source FROM consents WHERE customer_id = 5 AND channel = '"'email'"'")" &&
	expect_eq 1 "$(ev "type = '"'unsubscribed'"' AND customer_id = 5
		AND json_extract(props, '"'$.channel'"') = '"'email'"' AND campaign = '"'promo'"'")" &&
	crm-segment --no-input --fields id -f csv "unsubscribed(\"email\")" | grep -qx A5
'

test_expect 'a retried one-click is one event' '
	hit -X POST -d List-Unsubscribe=One-Click "$TRACK$(turl unsub 5)" >/dev/null &&
	expect_eq 1 "$(ev "type = '"'unsubscribed'"' AND customer_id = 5")"
'

test_expect 'the next campaign suppresses the one who unsubscribed' '
	printf "id\nA5\nA6\n" | crm-send --campaign next --channel email --no-consent --template msg.tmpl \
		-f csv - >next.csv 2>/dev/null &&
	expect_eq "suppressed unsubscribed" "$(sql "SELECT m.status || '"' '"' || m.reason FROM messages m
		JOIN campaigns c ON c.id = m.campaign_id WHERE c.name = '"'next'"' AND m.customer_id = 5")"
' 

test_expect 'the page (Python http.client): topics saved, unsubscribe, subscribe again' '
	"$PY" - "$TRACK" "$(turl unsub 6)" >py.out <<-PYEOF &&
	import http.client, sys, urllib.parse
	u = urllib.parse.urlsplit(sys.argv[1])
	c = http.client.HTTPConnection(u.hostname, u.port)
	def post(body):
	    c.request("POST", sys.argv[2], body=body,
	              headers={"Content-Type": "application/x-www-form-urlencoded"})
	    r = c.getresponse(); b = r.read().decode()
	    print(r.status, "checked" if "value=\"email:news\" checked" in b else "-",
	          "checked" if "value=\"email:promo\" checked" in b else "-",
	          "unsubscribed" if "You are unsubscribed" in b else "subscribed")
	post("action=save&topic=email%3Anews")
	post("action=save&topic=email%3Apromo")
	post("action=unsubscribe")
	post("action=resubscribe")
	post("action=frobnicate")
	PYEOF
	printf "%s\n" "200 checked - subscribed" "200 - checked subscribed" \
		"200 - checked unsubscribed" "200 - checked subscribed" "400 - - subscribed" >want &&
	expect_same want py.out &&
	expect_eq "email:news 1,email:news 0,email:promo 1,email 0,email 1" \
		"$(sql "SELECT group_concat(channel || '"' '"' || granted, '"','"') FROM
			(SELECT channel, granted FROM consents WHERE customer_id = 6 ORDER BY id)")" &&
	crm-segment --no-input --fields id -f csv "consent(\"email:promo\") and not consent(\"email:news\")" | grep -qx A6
'

test_expect 'crm-send --consent email:news sends only to those who kept the topic' '
	printf "id\nA1\nA6\n" | crm-send --campaign news-1 --channel email --consent email:news \
		--template msg.tmpl -f csv - >news.csv 2>/dev/null &&
	expect_eq "A1 suppressed,A6 suppressed" "$(sed 1d news.csv | cut -d, -f1,3 | tr , " " | sort | paste -sd, -)" &&
	printf "id\nA6\n" | crm-send --campaign promo-1 --channel email --consent email:promo \
		--template msg.tmpl -f csv - >promo.csv 2>/dev/null &&
	expect_eq "A6 sent" "$(sed 1d promo.csv | cut -d, -f1,3 | tr , " ")" &&
	run 2 crm-send --campaign x --channel email --consent email: --template msg.tmpl to.csv &&
	expect_grep "consent" err
'

test_expect 'an erased customer'"'"'s links record nothing' '
	echo "id
A2" | crm-import erase - 2>/dev/null &&
	before=$(ev 1) &&
	expect_eq "302 https://shop.example/z" "$(hit "$TRACK$(turl click 2 1 https://shop.example/z)")" &&
	expect_eq "200 " "$(hit "$TRACK$(turl open 2)")" &&
	expect_eq "200 " "$(hit -X POST -d List-Unsubscribe=One-Click "$TRACK$(turl unsub 2)")" &&
	expect_eq "$before" "$(ev 1)"
'

test_expect 'collector: JSON lines with a bearer token, rejects named per line' '
	printf "%s\n" "{\"customer_id\":\"A1\",\"type\":\"page_view\",\"time\":\"2026-12-01T10:00:00Z\",\"event_id\":\"pv-1\"}" \
		"{\"customer_id\":\"A1\",\"type\":\"page_view\",\"time\":\"yesterday-ish\",\"event_id\":\"pv-2\"}" \
		"{not json" >ev.jsonl &&
	code=$(curl -s -o resp -w "%{http_code}" -H "Authorization: Bearer $WEB_TOKEN" \
		--data-binary @ev.jsonl "$TRACK/v1/events") &&
	expect_eq 200 "$code" &&
	expect_eq "3 1 2 true" "$("$PY" -c "import json; r = json.load(open(\"resp\")); print(r[\"read\"], r[\"inserted\"], r[\"rejected\"], str(r[\"stored\"]).lower())")" &&
	expect_eq "2 3" "$("$PY" -c "import json; print(*[e[\"line\"] for e in json.load(open(\"resp\"))[\"errors\"]])")" &&
	expect_grep "invalid occurred_at" resp &&
	expect_eq 1 "$(ev "external_id = '"'pv-1'"' AND type = '"'page_view'"' AND customer_id = 1")" &&
	code=$(curl -s -o resp -w "%{http_code}" -H "Authorization: Bearer $WEB_TOKEN" \
		--data-binary @ev.jsonl "$TRACK/v1/events") &&
	expect_eq "200 0 1" "$code $("$PY" -c "import json; r = json.load(open(\"resp\")); print(r[\"inserted\"], r[\"unchanged\"])")"
'

test_expect 'collector: ?strict=1 keeps nothing of a batch with a bad line (422)' '
	printf "%s\n" "{\"customer_id\":\"A3\",\"type\":\"cart_add\",\"time\":\"2026-12-01 10:00:00\",\"event_id\":\"ca-1\"}" \
		"{\"customer_id\":\"A3\",\"type\":\"\",\"time\":\"2026-12-01 10:00:00\",\"event_id\":\"ca-2\"}" >s.jsonl &&
	expect_eq 422 "$(curl -s -o resp -w "%{http_code}" -H "Authorization: Bearer $WEB_TOKEN" \
		--data-binary @s.jsonl "$TRACK/v1/events?strict=1")" &&
	expect_eq 0 "$(ev "external_id LIKE '"'ca-%'"'")" &&
	expect_grep "\"stored\":false" resp
'

test_expect 'collector: no or a wrong token 401, a kind not allowed 403, all bad 400, GET 405' '
	expect_eq 401 "$(curl -s -o /dev/null -w "%{http_code}" --data-binary @ev.jsonl "$TRACK/v1/events")" &&
	expect_eq 401 "$(curl -s -o /dev/null -w "%{http_code}" -H "Authorization: Bearer ${WEB_TOKEN}x" --data-binary @ev.jsonl "$TRACK/v1/events")" &&
	expect_eq 403 "$(curl -s -o /dev/null -w "%{http_code}" -H "Authorization: Bearer $WEB_TOKEN" --data-binary @ev.jsonl "$TRACK/v1/orders")" &&
	expect_eq 400 "$(curl -s -o /dev/null -w "%{http_code}" -H "Authorization: Bearer $WEB_TOKEN" --data-binary "{broken" "$TRACK/v1/events")" &&
	expect_eq 405 "$(curl -s -o /dev/null -w "%{http_code}" -H "Authorization: Bearer $WEB_TOKEN" "$TRACK/v1/events")" &&
	expect_eq 404 "$(curl -s -o /dev/null -w "%{http_code}" -H "Authorization: Bearer $WEB_TOKEN" -d x "$TRACK/v1/secrets")"
'

test_expect 'collector: a source over its rate gets 429 with Retry-After' '
	for i in 1 2 3 4 5; do
		curl -s -o /dev/null -D hdr -w "%{http_code}\n" -H "Authorization: Bearer $SLOW_TOKEN" \
			--data-binary @ev.jsonl "$TRACK/v1/events"
	done >codes &&
	grep -q "^429$" codes && grep -q "^200$" codes &&
	grep -qi "^Retry-After: 1" hdr
'

test_expect 'limits: a body over --max-body 413, a huge header 431, the server lives on' '
	head -c 1100000 /dev/zero | tr "\0" x >big &&
	expect_eq 413 "$(curl -s -o /dev/null -w "%{http_code}" -H "Authorization: Bearer $WEB_TOKEN" --data-binary @big "$TRACK/v1/events")" &&
	hdr=$(head -c 40000 /dev/zero | tr "\0" y) &&
	code=$(curl -s -o /dev/null -w "%{http_code}" -H "X-Big: $hdr" "$TRACK/healthz") &&
	case $code in 431|413|400) ;; *) echo "huge header: $code"; false;; esac &&
	expect_eq ok "$(curl -s "$TRACK/healthz")"
'

test_expect 'a truncated body (the client goes away mid-way) stores nothing' '
	before=$(ev 1) &&
	"$PY" - "$TRACK_PORT" "$WEB_TOKEN" <<-PYEOF &&
	import socket, sys, time
	s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
	body = b"{\"customer_id\":\"A1\",\"type\":\"tr\",\"time\":\"2026-12-01 10:00:00\",\"event_id\":\"tr-1\"}\n"
	s.sendall(b"POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + sys.argv[2].encode() +
	          b"\r\nContent-Length: %d\r\n\r\n" % (len(body) + 50) + body)
	time.sleep(0.2)
	s.close()
	time.sleep(0.3)
	PYEOF
	expect_eq "$before" "$(ev 1)" &&
	expect_eq ok "$(curl -s "$TRACK/healthz")"
'

test_expect 'a write lock held by another program: the hit waits and is recorded' '
	before=$(ev "type = '"'clicked'"'") &&
	{ "$PY" -c "
import sqlite3, time
c = sqlite3.connect(\"crm.db\", isolation_level=None)
c.execute(\"BEGIN IMMEDIATE\"); open(\"locked\", \"w\").close(); time.sleep(1.5); c.execute(\"COMMIT\")" & } &&
	while [ ! -e locked ]; do sleep 0.02; done &&
	expect_eq "302 https://shop.example/w" "$(hit "$TRACK$(turl click 1 3 https://shop.example/w)")" &&
	wait &&
	expect_eq $((before + 1)) "$(ev "type = '"'clicked'"'")"
'

test_expect 'other programs write while it runs' '
	printf "id,email\nB1,b1@example.com\n" >b.csv &&
	crm-import customers b.csv 2>/dev/null &&
	hit "$TRACK$(turl open 1)" >/dev/null &&
	expect_eq 1 "$(sql "SELECT count(*) FROM customers WHERE external_id = '"'B1'"'")"
'

stop_track
start_track --timeout 1
test_expect 'a slow client is cut off after --timeout' '
	"$PY" - "$TRACK_PORT" >slow.out <<-PYEOF &&
	import socket, sys, time
	s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
	s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
	t = time.time()
	s.settimeout(10)
	data = s.recv(100)
	print("closed" if not data or b"408" in data else "answered", int(time.time() - t) < 5)
	PYEOF
	expect_eq "closed True" "$(cat slow.out)"
'

test_expect '"'"'--max-connections: past the cap a connection is refused; freed, it is answered'"'"' '
	port=$(free_port) &&
	{ crm-track --listen 127.0.0.1:$port --max-connections 2 --timeout 30 2>cap.log & } &&
	pid=$! &&
	i=0 &&
	until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do
		sleep 0.05; i=$((i + 1)); [ $i -lt 200 ] || { cat cap.log; kill $pid; exit 1; }
	done &&
	"$PY" - "$port" >cap.out <<-PYEOF &&
	import socket, subprocess, sys, time
	port = int(sys.argv[1])
	held = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
	time.sleep(0.3)
	def get():
	    r = subprocess.run(["curl", "-s", "-m", "3", "-o", "/dev/null", "-w", "%{http_code}",
	                        "http://127.0.0.1:%d/healthz" % port], capture_output=True, text=True)
	    return r.stdout
	print("full", get())
	for s in held:
	    s.close()
	time.sleep(0.3)
	print("freed", get())
	PYEOF
	kill $pid && wait $pid &&
	expect_eq "full 000,freed 200" "$(paste -sd, cap.out)"
'

test_expect 'usage errors: a bad --listen, a short collector token (exit 2)' '
	run 2 crm-track --listen 127.0.0.1:99999 &&
	expect_grep "expected ADDR:PORT" err &&
	run 2 crm-track --listen nowhere &&
	printf "[collector.x]\ntoken = short\n" >short.conf && chmod 600 short.conf &&
	run 2 crm-track --config short.conf --listen 127.0.0.1:0 &&
	expect_grep "[collector.x]: token (or token_env) of at least 16 characters" err
'

test_expect 'SIGTERM stops it with status 0' '
	port=$(free_port) &&
	{ crm-track --listen 127.0.0.1:$port 2>own.log & } &&
	pid=$! &&
	i=0 &&
	until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do
		sleep 0.05; i=$((i + 1)); [ $i -lt 200 ] || { cat own.log; kill $pid; exit 1; }
	done &&
	kill -TERM $pid && wait $pid &&
	expect_grep "stopping (SIGTERM)" own.log
'

test_expect 'the base is consistent' '
	expect_eq ok "$(sql "PRAGMA integrity_check")" &&
	test -z "$(sql "PRAGMA foreign_key_check")"
'

test_done
