#!/bin/sh
# bench/send.sh BUILD_DIR - crm-send's benchmark (issue 5, "Performance"):
# personalised e-mails to a local SMTP sink and webhook calls to a local
# HTTP sink (bench/sink.c, on 127.0.0.1), against the peers doing the
# same deliveries to the same sink in the same run.
#
#   a) crm-send --channel email of BENCH_SEND (100000) messages, one per
#      customer of a fresh base: messages/s, peak RSS (and the peak RSS of
#      a run of a tenth of the recipients: memory must not grow with
#      them); the sink logs every Message-ID, which must be the outbox's
#      sent rows, each exactly once; then the same command again, which
#      must send nothing;
#   b) crm-send --channel webhook (the generic JSON preset) of as many
#      calls, the Idempotency-Keys checked the same way;
#   c) the peers: Python smtplib (one connection, sendmail per message)
#      and Python http.client (one kept-alive connection), each rendering
#      the same template with plain string formatting, for every
#      recipient; and a shell loop of the curl command line (curl smtp://
#      --mail-from --mail-rcpt -T -, curl -X POST -d), which starts a
#      process per message and so runs on a sample (BENCH_SEND_CURL, 2000)
#      whose rate is extrapolated;
#   d) when crm-send has --concurrency, a) and b) again with
#      --concurrency 4 and 8 (BENCH_SEND_CONCURRENCY).
#
# Targets (reported, not asserted): at least 1,000 e-mails/s to the local
# sink, peak RSS under 100 MiB for 100,000 recipients, and flat in their
# number. Exit status 1 when a step crashed or a sink did not receive
# exactly what the outbox says was sent (then the figures mean nothing).
#
# Environment: BENCH_SEND (100000 messages per run), BENCH_SEND_CURL
# (2000, or a fifth of BENCH_SEND when that is less), BENCH_SEND_CONCURRENCY
# ("4 8"; "" for none), BENCH_SEND_TIMEOUT (900: a crm-send run is stopped
# after this many seconds, and its rate taken from what the sink
# received), BENCH_DATA (bench/data).
set -u

BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
HERE=$(cd "$(dirname "$0")" && pwd)
SEND=$BUILD/bin/crm-send
IMPORT=$BUILD/bin/crm-import
SINK=$BUILD/bench/sink
PY=/usr/bin/python3
N=${BENCH_SEND:-100000}
NCURL=${BENCH_SEND_CURL:-}
CONC=${BENCH_SEND_CONCURRENCY-4 8}
LIMIT=${BENCH_SEND_TIMEOUT:-900}
DATA=${BENCH_DATA:-$HERE/data}
W=$DATA/send
LC_ALL=C
TZ=UTC
export LC_ALL TZ
unset CRM_DB CRM_NOW CRM_CONFIG
# libcurl and curl would take 127.0.0.1 through a proxy named in these
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

die() { echo "bench/send: $*" >&2; exit 1; }

for v in "$N" "${NCURL:-0}" "$LIMIT"; do
	case $v in '' | *[!0-9]*) die "BENCH_SEND, BENCH_SEND_CURL and BENCH_SEND_TIMEOUT must be numbers" ;; esac
done
[ "$N" -ge 10 ] || die "BENCH_SEND must be at least 10"
if [ -z "$NCURL" ]; then # 2000, or a fifth of a small run
	NCURL=$((N / 5))
	[ "$NCURL" -le 2000 ] || NCURL=2000
fi
[ "$NCURL" -le "$N" ] || NCURL=$N
[ "$NCURL" -ge 1 ] || NCURL=1
NSMALL=$((N / 10))
[ -x "$SEND" ] || die "$SEND missing (make)"
[ -x "$IMPORT" ] || die "$IMPORT missing (make)"
[ -x "$SINK" ] || die "$SINK missing (make $BUILD/bench/sink)"
[ -x "$PY" ] || die "$PY is needed for the Python peers"
command -v curl >/dev/null 2>&1 || die "curl (the command line tool) is needed for the peer"
command -v sqlite3 >/dev/null 2>&1 || die "sqlite3 (the CLI) is needed for the checks"
mkdir -p "$W" || die "cannot create $W"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a)
rm -f "$W"/*.db "$W"/*.db-wal "$W"/*.db-shm "$W"/*.port "$W"/*.log

# ---- sinks: every one started is stopped, whatever happens -----------------
SINKS=
cleanup() {
	for _p in $SINKS; do
		kill "$_p" 2>/dev/null
	done
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# start_sink NAME smtp|http: sets SINK_PID and SINK_PORT; the sink logs
# each Message-ID (Idempotency-Key) to $W/NAME.log
start_sink() {
	rm -f "$W/$1.port"
	"$SINK" "$2" --port-file "$W/$1.port" --log "$W/$1.log" >"$W/$1.sink" 2>&1 &
	SINK_PID=$!
	SINKS="$SINKS $SINK_PID"
	_i=0
	while [ ! -s "$W/$1.port" ]; do
		kill -0 "$SINK_PID" 2>/dev/null && [ $_i -lt 100 ] ||
			die "the $2 sink did not start: $(cat "$W/$1.sink")"
		sleep 0.05
		_i=$((_i + 1))
	done
	SINK_PORT=$(cat "$W/$1.port")
}

# stop_sink NAME: stops it; sets SINK_MSGS (what it received) and
# SINK_CPU (its CPU seconds)
CLK=$(getconf CLK_TCK 2>/dev/null || echo 100)
stop_sink() {
	SINK_CPU=$(awk -v hz="$CLK" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' \
		"/proc/$SINK_PID/stat" 2>/dev/null || echo n/a)
	kill -TERM "$SINK_PID" 2>/dev/null
	wait "$SINK_PID"
	_left=
	for _p in $SINKS; do
		[ "$_p" = "$SINK_PID" ] || _left="$_left $_p"
	done
	SINKS=$_left
	SINK_MSGS=$(sed -n 's/.* messages=\([0-9]*\).*/\1/p' "$W/$1.sink")
	: "${SINK_MSGS:=0}"
}

# ---- timing ------------------------------------------------------------------
# timed NAME CMD...: runs CMD (stdin from $STEP_IN, default /dev/null;
# stdout and stderr to $W/NAME.out and .err); sets $secs (wall, from
# date's nanoseconds), $kb (peak RSS, GNU time; n/a without it), $cpu
# (user + system seconds) and $rc.
if /usr/bin/time -f '%M' -o /dev/null true 2>/dev/null; then
	HAVE_TIME=1
else
	HAVE_TIME=
fi
now() { date +%s.%N; }
timed() {
	_n=$1
	shift
	_t0=$(now)
	if [ -n "$HAVE_TIME" ]; then
		/usr/bin/time -f '%M %U %S' -o "$W/$_n.time" "$@" <"${STEP_IN:-/dev/null}" \
			>"$W/$_n.out" 2>"$W/$_n.err"
		rc=$?
	else
		"$@" <"${STEP_IN:-/dev/null}" >"$W/$_n.out" 2>"$W/$_n.err"
		rc=$?
		echo "n/a n/a n/a" >"$W/$_n.time"
	fi
	secs=$(awk -v a="$_t0" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }')
	# GNU time writes "Command exited with non-zero status N" first
	set -- $(tail -n 1 "$W/$_n.time")
	kb=$1
	cpu=$(awk -v u="$2" -v s="$3" 'BEGIN { if (u == "n/a") print "n/a"; else printf "%.2f", u + s }')
}

rate() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print "-" }'; }
mib() { case $1 in n/a | '') echo n/a ;; *) awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }' ;; esac; }

# the results, one line each: NAME|LABEL|MESSAGES|SECONDS|RATE|PEAK_KB|CPU|SINK_CPU|NOTE
RES=$W/results
: >"$RES"
result() { echo "$1|$2|$3|$4|$5|$6|$7|$8|${9:-}" >>"$RES"; }
CRASH=
EXACT_FAIL=
crashed() { CRASH="$CRASH $1"; echo "bench/send: $1: $2" >&2; }

# ---- data ----------------------------------------------------------------------
# N customers, every one with an e-mail address and e-mail and webhook
# consent; names in Latin, Cyrillic and Turkish or German letters; a
# city (a field) and a plan (an attribute) for the template.
CUST=$W/customers-$N.csv
awk -v n="$N" 'BEGIN {
	nf = split("Anna Ivan Olga Dmitry Elena Mehmet Ayşe Jürgen Sophie James Анна Иван Ольга Дмитрий Zeynep Lukas Emily Sergey Мария Özlem Hans", fn, " ")
	nl = split("Smith Ivanov Petrova Yılmaz Müller Schmidt Jones Kaya Brown Orlova Смирнов Öztürk Wagner", ln, " ")
	nc = split("Moscow Berlin Istanbul London New_York Kazan Hamburg İzmir Leeds Boston Санкт-Петербург München", ct, " ")
	split("basic pro premium", pl, " ")
	split("example.com mail.example.org example.net shop.example", dm, " ")
	print "id,email,first_name,last_name,city,country,plan,email_consent,webhook_consent"
	for (i = 1; i <= n; i++) {
		c = ct[i % nc + 1]
		gsub("_", " ", c)
		printf "C%07d,user%d@%s,%s,%s,%s,RU,%s,yes,yes\n", i, i, dm[i % 4 + 1],
			fn[i % nf + 1], ln[int(i / nf) % nl + 1], c, pl[i % 3 + 1]
	}
}' >"$CUST" || die "cannot write $CUST"
awk -F, 'NR == 1 { print "id"; next } { print $1 }' "$CUST" >"$W/ids-$N.csv"
head -n $((NSMALL + 1)) "$W/ids-$N.csv" >"$W/ids-$NSMALL.csv"

cat >"$W/offer.tmpl" <<'EOF'
Subject: {{first_name|default:"Friend"}}, your {{attr.plan|default:"basic"}} offer in {{city|default:"your city"}}
X-Campaign: {{campaign}}

Hi {{first_name|capitalize|default:"friend"}},

this week everything for {{attr.plan|upper|default:"members"}} customers in
{{city|default:"your city"}} is 20% off: new arrivals, the autumn sale and
free delivery on orders over 50.

{{#if last_name}}Yours, the shop team (for {{first_name}} {{last_name}}){{/if}}

Unsubscribe: {{unsubscribe_url}}
--- html ---
<p>Hi <b>{{first_name|default:"friend"}}</b>,</p>
<p>this week everything for {{attr.plan|default:"members"}} customers in
{{city|default:"your city"}} is <b>20% off</b>: new arrivals, the autumn sale
and free delivery on orders over 50.</p>
<p><a href="{{unsubscribe_url}}">Unsubscribe</a></p>
EOF

echo "bench/send: importing $N customers"
BASE=$W/base.db
timed import "$IMPORT" --db "$BASE" -q customers "$CUST"
[ "$rc" = 0 ] || die "crm-import failed: $(tail -n 3 "$W/import.err")"
sqlite3 "$BASE" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null || die "cannot checkpoint $BASE"
IMPORT_SECS=$secs

# conf NAME: a crm.conf (0600) for the sink of start_sink
conf() {
	cat >"$W/$1.conf" <<-EOF
	[smtp]
	url = smtp://127.0.0.1:$SINK_PORT
	[email]
	from = Shop <shop@example.com>
	[unsubscribe]
	url = https://shop.example/unsubscribe
	[webhook]
	url = http://127.0.0.1:$SINK_PORT/hooks/crm
	EOF
	chmod 600 "$W/$1.conf"
}

# summary NAME: crm-send's "P planned, S sent, ..." as "P S"
summary() {
	sed -n 's/.*: \([0-9]*\) planned, \([0-9]*\) sent,.*/\1 \2/p' "$W/$1.err" | tail -n 1
}

# exactly_once NAME DB: the sink's log of NAME against the outbox of DB:
# every logged id once, and the logged ids the outbox's sent rows (all
# of them, unless the run was stopped: then only ids the outbox has)
exactly_once() {
	sort "$W/$1.log" >"$W/$1.ids"
	sqlite3 "$2" "SELECT message_id FROM messages WHERE status = 'sent'" | sort >"$W/$1.sent"
	_got=$(wc -l <"$W/$1.ids" | tr -d ' ')
	_uniq=$(uniq "$W/$1.ids" | wc -l | tr -d ' ')
	_sent=$(wc -l <"$W/$1.sent" | tr -d ' ')
	if [ "$rc" = 124 ]; then
		# stopped: the last batch may not be recorded as sent yet
		sqlite3 "$2" "SELECT message_id FROM messages WHERE status IN
			('sent', 'transmitting', 'in_doubt')" | sort >"$W/$1.sent"
		_extra=$(comm -23 "$W/$1.ids" "$W/$1.sent" | wc -l | tr -d ' ')
		EXACT="$1: the sink received $_got messages, $_uniq distinct ids, $_extra not in the outbox (run stopped after ${LIMIT}s)"
		[ "$_got" = "$_uniq" ] && [ "$_extra" = 0 ] && [ "$_got" = "$SINK_MSGS" ] && return 0
	else
		EXACT="$1: the sink received $_got messages, $_uniq distinct ids; the outbox has $_sent sent"
		[ "$_got" = "$_uniq" ] && [ "$_got" = "$_sent" ] && [ "$_got" = "$SINK_MSGS" ] &&
			cmp -s "$W/$1.ids" "$W/$1.sent" && return 0
	fi
	EXACT_FAIL="$EXACT_FAIL $1"
	return 1
}

# crm_send NAME LABEL CHANNEL IDS [OPTIONS...]: a fresh copy of the base,
# a fresh sink, one timed crm-send run; the result line and the
# exactly-once check. Leaves the database in $W/NAME.db.
crm_send() {
	_name=$1 _label=$2 _ch=$3 _ids=$4
	shift 4
	echo "bench/send: $_label"
	cp "$BASE" "$W/$_name.db" || die "cannot copy $BASE"
	start_sink "$_name" "$([ "$_ch" = email ] && echo smtp || echo http)"
	conf "$_name"
	timed "$_name" timeout -s TERM "$LIMIT" "$SEND" --db "$W/$_name.db" --config "$W/$_name.conf" \
		--campaign "bench-$_name" --channel "$_ch" --template "$W/offer.tmpl" -f csv "$@" "$_ids"
	stop_sink "$_name"
	_note=
	case $rc in
	0) ;;
	124) _note="stopped after ${LIMIT}s: $SINK_MSGS of $(($(wc -l <"$_ids") - 1)) sent" ;;
	*) crashed "$_label" "exit status $rc: $(tail -n 3 "$W/$_name.err")" ;;
	esac
	set -- $(summary "$_name") - -
	if [ "$rc" = 0 ] && [ "$2" != "$SINK_MSGS" ]; then
		crashed "$_label" "crm-send says $2 sent, the sink received $SINK_MSGS"
	fi
	exactly_once "$_name" "$W/$_name.db" || echo "bench/send: $EXACT" >&2
	echo "$EXACT" >>"$W/exact"
	result "$_name" "$_label" "$SINK_MSGS" "$secs" "$(rate "$SINK_MSGS" "$secs")" "$kb" "$cpu" \
		"$SINK_CPU" "$_note"
}

# peer NAME LABEL MODE EXPECTED CMD...: a fresh sink; CMD runs with
# $PORT in its environment; the sink must receive EXPECTED messages
peer() {
	_name=$1 _label=$2 _mode=$3 _want=$4
	shift 4
	echo "bench/send: $_label"
	start_sink "$_name" "$_mode"
	PORT=$SINK_PORT
	export PORT
	timed "$_name" "$@"
	stop_sink "$_name"
	[ "$rc" = 0 ] || crashed "$_label" "exit status $rc: $(tail -n 3 "$W/$_name.err")"
	[ "$SINK_MSGS" = "$_want" ] || crashed "$_label" "the sink received $SINK_MSGS of $_want messages"
	result "$_name" "$_label" "$SINK_MSGS" "$secs" "$(rate "$SINK_MSGS" "$secs")" "$kb" "$cpu" \
		"$SINK_CPU" "$PEER_NOTE"
	PEER_NOTE=
}
PEER_NOTE=

: >"$W/exact"
HAS_CONC=
"$SEND" --help 2>&1 | grep -q -- '--concurrency' && HAS_CONC=1

# ---- a) e-mail -------------------------------------------------------------------
crm_send email.small "crm-send email, $NSMALL recipients (memory)" email "$W/ids-$NSMALL.csv"
crm_send email "crm-send email" email "$W/ids-$N.csv"
EMAIL_RC=$rc
if [ "$EMAIL_RC" = 0 ]; then
	# the same command again: the campaign has had them all
	echo "bench/send: crm-send email, the same command again"
	start_sink email.again smtp
	conf email.again
	timed email.again timeout -s TERM "$LIMIT" "$SEND" --db "$W/email.db" \
		--config "$W/email.again.conf" --campaign bench-email --channel email \
		--template "$W/offer.tmpl" -f csv "$W/ids-$N.csv"
	stop_sink email.again
	[ "$rc" = 0 ] || crashed "crm-send email again" "exit status $rc: $(tail -n 3 "$W/email.again.err")"
	set -- $(summary email.again) - -
	AGAIN="the same command again: $2 sent, the sink received $SINK_MSGS, $secs s"
	[ "$SINK_MSGS" = 0 ] && [ "$2" = 0 ] || EXACT_FAIL="$EXACT_FAIL email.again"
fi

# d) with --concurrency
if [ -n "$HAS_CONC" ]; then
	for c in $CONC; do
		crm_send email.c$c "crm-send email --concurrency $c" email "$W/ids-$N.csv" --concurrency "$c"
	done
fi

# ---- b) webhook ------------------------------------------------------------------
crm_send webhook "crm-send webhook" webhook "$W/ids-$N.csv"
if [ -n "$HAS_CONC" ]; then
	for c in $CONC; do
		crm_send webhook.c$c "crm-send webhook --concurrency $c" webhook "$W/ids-$N.csv" \
			--concurrency "$c"
	done
fi

# ---- c) the peers --------------------------------------------------------------
# The Python peers render the same template with str.format (an RFC 2047
# subject, multipart/alternative text and HTML in 8 bits, an HMAC
# unsubscribe link; the webhook body with json.dumps) and send over one
# connection; no outbox, no policy, no retries.
cat >"$W/peer_smtp.py" <<'EOF'
import base64, csv, hashlib, hmac, smtplib, sys, time
from html import escape
port, path, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
KEY = b"bench-secret"
TEXT = ("Hi {first},\r\n\r\nthis week everything for {plan_up} customers in\r\n{city} is 20% off: "
        "new arrivals, the autumn sale and\r\nfree delivery on orders over 50.\r\n\r\n"
        "Yours, the shop team (for {first} {last})\r\n\r\nUnsubscribe: {unsub}\r\n")
HTML = ("<p>Hi <b>{first}</b>,</p>\r\n<p>this week everything for {plan} customers in\r\n{city} "
        "is <b>20% off</b>: new arrivals, the autumn sale\r\nand free delivery on orders over 50.</p>\r\n"
        "<p><a href=\"{unsub}\">Unsubscribe</a></p>\r\n")
MSG = ("From: Shop <shop@example.com>\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\n"
       "Message-ID: <{mid}>\r\nMIME-Version: 1.0\r\nX-Campaign: bench-peer\r\n"
       "List-Unsubscribe: <{unsub}>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
       "Content-Type: multipart/alternative; boundary=\"=_b\"\r\n\r\n"
       "--=_b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
       "{text}--=_b\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
       "{html}--=_b--\r\n")
s = smtplib.SMTP("127.0.0.1", port)
with open(path, newline="", encoding="utf-8") as f:
    rows = csv.reader(f)
    next(rows)
    for i, r in enumerate(rows):
        if i >= n:
            break
        cid, to, first, last, city, plan = r[0], r[1], r[2], r[3], r[4], r[6]
        mid = "%s.%d@peer.example.com" % (cid, i)
        unsub = "https://shop.example/unsubscribe?m=%s&t=%s" % (
            mid, hmac.new(KEY, mid.encode(), hashlib.sha256).hexdigest()[:32])
        subject = "=?UTF-8?B?%s?=" % base64.b64encode(
            ("%s, your %s offer in %s" % (first, plan, city)).encode()).decode()
        text = TEXT.format(first=first, last=last, city=city, plan_up=plan.upper(), unsub=unsub)
        html = HTML.format(first=escape(first), city=escape(city), plan=escape(plan), unsub=escape(unsub))
        msg = MSG.format(to=to, subject=subject, date=time.strftime("%a, %d %b %Y %H:%M:%S +0000",
                         time.gmtime()), mid=mid, unsub=unsub, text=text, html=html)
        s.sendmail("shop@example.com", [to], msg.encode())
s.quit()
EOF
cat >"$W/peer_http.py" <<'EOF'
import csv, http.client, json, sys
port, path, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
TEXT = ("Hi {first},\n\nthis week everything for {plan_up} customers in\n{city} is 20% off: "
        "new arrivals, the autumn sale and\nfree delivery on orders over 50.\n\n"
        "Yours, the shop team (for {first} {last})\n\nUnsubscribe: https://shop.example/unsubscribe")
c = http.client.HTTPConnection("127.0.0.1", port)
with open(path, newline="", encoding="utf-8") as f:
    rows = csv.reader(f)
    next(rows)
    for i, r in enumerate(rows):
        if i >= n:
            break
        cid, first, last, city, plan = r[0], r[2], r[3], r[4], r[6]
        mid = "%s-%d-peer" % (cid, i)
        body = json.dumps({"customer": cid, "campaign": "bench-peer", "message_id": mid, "to": cid,
                           "subject": "%s, your %s offer in %s" % (first, plan, city),
                           "text": TEXT.format(first=first, last=last, city=city, plan_up=plan.upper())})
        c.request("POST", "/hooks/crm", body=body.encode(),
                  headers={"Content-Type": "application/json", "Idempotency-Key": mid})
        resp = c.getresponse()
        json.loads(resp.read())
        if resp.status != 200:
            sys.exit("HTTP %d" % resp.status)
c.close()
EOF
# The curl loops: a plain sh loop over the CSV, printf for the message
# (the generated data has no quotes, backslashes or commas in values),
# one curl process per message.
cat >"$W/peer_curl_smtp.sh" <<'EOF'
n=0
tail -n +2 "$2" | head -n "$3" | while IFS=, read -r id to first last city country plan rest; do
	printf 'From: Shop <shop@example.com>\r\nTo: %s\r\nSubject: %s, your %s offer in %s\r\nMessage-ID: <%s.curl@peer.example.com>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHi %s,\r\n\r\nthis week everything for %s customers in\r\n%s is 20%% off: new arrivals, the autumn sale and\r\nfree delivery on orders over 50.\r\n\r\nYours, the shop team (for %s %s)\r\n\r\nUnsubscribe: https://shop.example/unsubscribe?m=%s\r\n' \
		"$to" "$first" "$plan" "$city" "$id" "$first" "$plan" "$city" "$first" "$last" "$id" |
		curl -sS "smtp://127.0.0.1:$1" --mail-from shop@example.com --mail-rcpt "$to" -T - || exit 1
done
EOF
cat >"$W/peer_curl_http.sh" <<'EOF'
tail -n +2 "$2" | head -n "$3" | while IFS=, read -r id to first last city country plan rest; do
	curl -sS -o /dev/null -X POST -H 'Content-Type: application/json' -H "Idempotency-Key: $id-curl" \
		-d "$(printf '{"customer":"%s","campaign":"bench-peer","message_id":"%s-curl","to":"%s","subject":"%s, your %s offer in %s","text":"Hi %s,\\n\\nthis week everything for %s customers in\\n%s is 20%% off: new arrivals, the autumn sale and\\nfree delivery on orders over 50.\\n\\nYours, the shop team (for %s %s)\\n\\nUnsubscribe: https://shop.example/unsubscribe"}' \
			"$id" "$id" "$id" "$first" "$plan" "$city" "$first" "$plan" "$city" "$first" "$last")" \
		"http://127.0.0.1:$1/hooks/crm" || exit 1
done
EOF
peer py.smtp "Python smtplib, one connection" smtp "$N" \
	sh -c 'exec "$0" "$1/peer_smtp.py" "$PORT" "$2" "$3"' "$PY" "$W" "$CUST" "$N"
PEER_NOTE="a sample of $NCURL, rate extrapolated"
peer curl.smtp "curl loop (a process per message)" \
	smtp "$NCURL" sh -c 'sh "$1/peer_curl_smtp.sh" "$PORT" "$2" "$3"' sh "$W" "$CUST" "$NCURL"
peer py.http "Python http.client, keep-alive" http "$N" \
	sh -c 'exec "$0" "$1/peer_http.py" "$PORT" "$2" "$3"' "$PY" "$W" "$CUST" "$N"
PEER_NOTE="a sample of $NCURL, rate extrapolated"
peer curl.http "curl loop (a process per message)" \
	http "$NCURL" sh -c 'sh "$1/peer_curl_http.sh" "$PORT" "$2" "$3"' sh "$W" "$CUST" "$NCURL"

# ---- the report --------------------------------------------------------------------
echo
echo "crm-send against its peers: $N personalised messages per run to a sink on"
echo "127.0.0.1 (bench/sink.c), $(nproc 2>/dev/null || echo ?) CPUs, load average $LOAD0 at the start and"
echo "$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a) at the end; base of $N customers imported in $IMPORT_SECS s."
echo "Peak RSS and CPU (user + system) of the client; sink CPU is the sink's."
printf '%-42s %8s %9s %8s %9s %7s %7s  %s\n' run messages seconds msgs/s "peak MiB" "CPU s" \
	"sink s" note
while IFS='|' read -r name label msgs s r k c sc note; do
	case $name in py.smtp | webhook) echo ;; esac
	printf '%-42s %8s %9s %8s %9s %7s %7s  %s\n' "$label" "$msgs" "$s" "$r" "$(mib "$k")" "$c" \
		"$sc" "$note"
done <"$RES"
echo

# field NAME COLUMN: a result's column (1 name ... 9 note)
field() { awk -F'|' -v n="$1" -v c="$2" '$1 == n { print $c }' "$RES"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-" }'; }
echo "crm-send's rate / the peer's rate (higher is better; above 1: crm-send is faster):"
printf '%-42s %16s %12s\n' "" "vs Python loop" "vs curl loop"
for name in email $(for c in $CONC; do echo email.c$c; done) webhook $(for c in $CONC; do echo webhook.c$c; done); do
	[ -n "$(field "$name" 1)" ] || continue
	case $name in email*) py=py.smtp cu=curl.smtp ;; *) py=py.http cu=curl.http ;; esac
	printf '%-42s %16s %12s\n' "$(field "$name" 2)" "$(ratio "$(field "$name" 5)" "$(field "$py" 5)")" \
		"$(ratio "$(field "$name" 5)" "$(field "$cu" 5)")"
done
[ -n "$HAS_CONC" ] || echo "(crm-send has no --concurrency option: d) skipped)"
echo
echo "Exactly once (the sink's logged Message-IDs / Idempotency-Keys against the outbox):"
sed 's/^/  /' "$W/exact"
[ -z "${AGAIN:-}" ] || echo "  email: $AGAIN"
echo

# ---- verdicts (reported, not asserted) ---------------------------------------------
verdict() { # 1|0 TEXT
	if [ "$1" = 1 ]; then echo "PASS  $2"; else echo "FAIL  $2"; fi
}
ge() { awk -v a="$1" -v b="$2" 'BEGIN { print (a != "-" && a + 0 >= b + 0) ? 1 : 0 }'; }
er=$(field email 5)
verdict "$(ge "$er" 1000)" "crm-send email >= 1000 messages/s to the local sink ($er/s)"
best= bestname=
for c in $CONC; do
	r=$(field email.c$c 5)
	[ -n "$r" ] || continue
	if [ -z "$best" ] || [ "$(ge "$r" "$best")" = 1 ]; then best=$r bestname="--concurrency $c"; fi
done
[ -z "$best" ] || verdict "$(ge "$best" 1000)" "crm-send email $bestname >= 1000 messages/s ($best/s)"
maxk=$(for n in email webhook $(for c in $CONC; do echo email.c$c webhook.c$c; done); do field "$n" 6; done |
	awk '$1 != "n/a" && $1 > m { m = $1 } END { print m + 0 }')
if [ -n "$HAVE_TIME" ]; then
	verdict "$(awk -v k="$maxk" 'BEGIN { print (k < 102400) ? 1 : 0 }')" \
		"crm-send peak RSS < 100 MiB for $N recipients (at most $(mib "$maxk") MiB)"
	ks=$(field email.small 6)
	k=$(field email 6)
	verdict "$(awk -v a="$k" -v b="$ks" 'BEGIN { print (a <= 1.2 * b + 2048) ? 1 : 0 }')" \
		"crm-send memory flat in the recipients: $(mib "$ks") MiB for $NSMALL, $(mib "$k") MiB for $(field email 3)"
else
	echo "n/a   peak RSS (no /usr/bin/time: apt-get install time)"
fi
for n in $(cut -d'|' -f1 "$RES"); do
	case $(field "$n" 9) in stopped*) echo "note  $(field "$n" 2): $(field "$n" 9)" ;; esac
done
[ -z "$EXACT_FAIL" ] && ok=1 || ok=0
if [ -n "${AGAIN:-}" ]; then
	verdict $ok "every message sent exactly once (sinks against outboxes; the re-run sent nothing)"
else
	verdict $ok "every message sent exactly once (sinks against outboxes; no re-run: the e-mail run did not finish)"
fi

if [ -n "$CRASH$EXACT_FAIL" ]; then
	echo "bench/send: failed:$CRASH$EXACT_FAIL (logs in $W)" >&2
	exit 1
fi
exit 0
