#!/bin/sh
# crm-send's HTTP channels (telegram, sms, whatsapp, viber, push, webhook)
# with network faults injected by libfiu (connect, send, recv, poll...
# fail at random), against the test HTTP server, which answers 500 or 429
# to the first request of some addresses and closes the connection
# without a reply for two. Per channel: ROUNDS runs with faults (one
# connection, then three), then --retry without faults, then
# --resend-in-doubt. Checked:
#   - every run exits cleanly (0, 1 or 3 with a message; no signal, no
#     sanitizer report) and the file is intact;
#   - after --retry every row is final: sent, or in_doubt;
#   - a sent row's provider_id is from a 2xx the server gave to a request
#     with its Idempotency-Key: nothing is sent without the server
#     having it;
#   - an in_doubt row's request reached the server whole: a request that
#     never did is deferred and tried again, not in doubt;
#   - no Idempotency-Key reached the server whole twice with a success
#     (or no reply) unless its row was in_doubt and --resend-in-doubt
#     sent it again, and every request for a row carries that row's key.
# FAULT_SEED=S replays a run (the seed is printed; round k of the run
# uses the fiu seed S * 100 + k, shown when a round fails; a replay is
# close, not exact: how many poll() calls a transfer makes depends on
# timing), NETFAULT_ROUNDS=N runs more rounds per channel, NETFAULT_P=P
# sets the probability that a network call fails (default 0.05).
#
# This found messages recorded sent that never left: when
# curl_easy_perform() gave up on a failed poll() (CURLE_BAD_FUNCTION_
# ARGUMENT) before any reply, libcurl still reported the status of the
# previous message, and a 200 made the row sent (a 429/500 deferred it,
# a 400 would have failed it) with no request at all: 2 to 5 such rows
# in each of five runs at the default probability. And rows in doubt
# that the server never had whole (2 runs of 14 at probability 0.08):
# libcurl starts a request again on a fresh connection when a kept-alive
# one turns out dead, and the read callback refused the body even when
# none of it had been read, leaving two incomplete requests and a row in
# doubt.
. "$CRM_TOP/tests/lib.sh"
# libcurl would send requests to 127.0.0.1 through a proxy named in these
unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY

ROUNDS=${NETFAULT_ROUNDS:-3}
SEED=${FAULT_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
P=${NETFAULT_P:-0.05}
echo "# FAULT_SEED=$SEED NETFAULT_ROUNDS=$ROUNDS NETFAULT_P=$P"
FIU_LIB=/usr/lib/fiu
if ! test -e $FIU_LIB/fiu_posix_preload.so; then
	echo "fiu-utils is missing: apt-get install fiu-utils (make deps)" >&2
	exit 1
fi

start_httpd --retry-after 1 || exit 1
export HTTP_LOG
{
	http_section telegram token_env=TG_TOKEN
	http_section sms account_sid=AC0123456789 auth_token_env=TOKEN from=+12025550100
	http_section whatsapp phone_number_id=106540352242922 token_env=TOKEN
	http_section viber token_env=TOKEN sender_name=Shop
	http_section push project_id=shop-app access_token_env=TOKEN
	http_section webhook "url=http://127.0.0.1:$HTTP_PORT/hooks/crm" signing_secret_env=TOKEN
} >crm.conf
TG_TOKEN=123456789:AAH-net_Secret TOKEN=net-secret
export TG_TOKEN TOKEN
printf 'Subject: Hi {{first_name}}\n\nHello {{first_name}}.\n' >t.tmpl
CHANNELS="telegram sms whatsapp viber push webhook"

# 40 customers, every channel: most are fine; the server answers 500
# (flaky) or 429 with Retry-After: 1 (rate) to the first complete request
# of some, and never answers two (close). The address says which: the
# word it starts with, or a phone's last four digits.
test_expect 'setup: 40 customers on six HTTP channels' '
	{
		echo "id,phone,first_name,telegram_chat_id,push_token,viber_id,sms_consent,whatsapp_consent,telegram_consent,viber_consent,push_consent,webhook_consent"
		for i in $(seq -w 1 40); do
			case $i in
			20 | 40) k=close d=0444 ;;
			*[38]) k=flaky d=0503 ;;
			*[16]) k=rate d=0429 ;;
			*) k=ok d=10$i ;;
			esac
			echo "$k$i,+12025$i$d,N$i,$k-tg-$i,$k-push-$i,$k-vb-$i,yes,yes,yes,yes,yes,yes"
		done
	} >people.csv &&
	crm-import customers people.csv 2>/dev/null &&
	expect_eq 40 "$(sql "SELECT count(*) FROM customers WHERE phone IS NOT NULL")" &&
	cut -d, -f1 people.csv >ids.csv
'

# send CHANNEL WHEN ARGS...: crm-send of the channel's campaign at WHEN
# (each round an hour after the last, so that the retries it deferred
# are due); status in ./rc
send() {
	_ch=$1 _when=$2
	shift 2
	set +e
	crm-send --campaign "net-$_ch" --channel "$_ch" --template t.tmpl --backoff 0.2 \
		--max-wait 0 --now "$_when" -f csv "$@" >out 2>err
	echo $? >rc
	set -e
}

# faulty SEED ARGS...: send ARGS with libfiu failing the network calls at
# random (probability P) from SEED, the sanitizer runtime first when the
# build has one
_asan=$(ldd "$(command -v crm-send)" 2>/dev/null | awk '/libasan/ { print $3 }')
faulty() (
	FIU_PRNG_SEED=$1 FIU_CTRL_FIFO=
	FIU_ENABLE="enable_random name=posix/io/net/*,probability=$P"
	LD_PRELOAD="$_asan $FIU_LIB/fiu_run_preload.so $FIU_LIB/fiu_posix_preload.so"
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"
	export FIU_PRNG_SEED FIU_CTRL_FIFO FIU_ENABLE LD_PRELOAD ASAN_OPTIONS
	shift
	send "$@"
)

# clean WHAT: the last run ended cleanly
clean() {
	if grep -q "Sanitizer\|runtime error" err; then cat err; return 1; fi
	case $(cat rc) in
	0 | 1 | 3) grep -q "^crm-send: " err || { echo "$1: exit $(cat rc), no message"; return 1; } ;;
	*) echo "$1: exit $(cat rc)"; cat err; return 1 ;;
	esac
	expect_eq ok "$(sql "PRAGMA integrity_check")" "$1: integrity"
}

# check.py CHANNEL PHASE: the outbox of net-CHANNEL against the server's
# log. PHASE retry: after --retry (every row sent or in_doubt; in_doubt
# rows are written to doubt.CHANNEL); resend: after --resend-in-doubt.
cat >check.py <<'EOF_'
import json, os, sqlite3, sys
ch, phase = sys.argv[1], sys.argv[2]
db = sqlite3.connect(os.environ["CRM_DB"])
rows = db.execute("SELECT u.external_id, m.status, m.message_id, m.provider_id, m.address,"
                  " m.reason FROM messages m JOIN campaigns c ON c.id = m.campaign_id"
                  " JOIN customers u ON u.id = m.customer_id WHERE c.name = ?",
                  ("net-" + ch,)).fetchall()
assert len(rows) == 40, len(rows)
kind = {"telegram": "/sendMessage", "sms": "/Messages.json", "whatsapp": "/messages",
        "viber": "/pa/send_message", "push": "/messages:send", "webhook": "/hooks/crm"}[ch]
reqs = [json.loads(l) for l in open(os.environ["HTTP_LOG"])]
reqs = [r for r in reqs if r["path"].endswith(kind)]
by_addr = {}
for r in reqs:
    if r["complete"]:
        by_addr.setdefault(r["address"], []).append(r)
doubt_file = "doubt." + ch
resent = {l.split()[0] for l in open(doubt_file)} if phase == "resend" else set()
bad = []
addrs = set()
for ext, status, key, pid, addr, reason in rows:
    addrs.add(addr)
    close = ext.startswith("close")
    got = by_addr.get(addr, [])
    # every request for the row carries the row's key
    keys = {r["headers"].get("idempotency-key") for r in got}
    if keys - {key}:
        bad.append("%s: requests with keys %s, the row's is %s" % (ext, sorted(keys), key))
    # taken by the server: a success, or the server kept it without a reply
    taken = [r for r in got if r["status"] is None or 200 <= r["status"] < 300]
    want = ("in_doubt",) if close else ("sent", "in_doubt") if phase == "retry" else ("sent",)
    if status not in want:
        bad.append("%s: %s (%s), not %s" % (ext, status, reason, " or ".join(want)))
    # (a reply cut short after its status line leaves no id: "HTTP 201")
    if status == "sent" and not any(pid and (pid in json.dumps(r["reply"]) or
                                             pid == "HTTP %s" % r["status"]) for r in taken):
        bad.append("%s: sent (%s) but no 2xx from the server has it" % (ext, pid))
    if status == "in_doubt" and not got:
        bad.append("%s: in_doubt (%s) but no request of it reached the server whole"
                   % (ext, reason))
    if len(taken) > 1 + (key in resent):
        bad.append("%s: taken %d times by the server%s" % (ext, len(taken),
                   " (in doubt and re-sent once)" if key in resent else ""))
for a in by_addr:
    if a not in addrs:
        bad.append("a request for %s, who has no row" % a)
if bad:
    print("\n".join(bad))
    # what the server saw of those rows, complete or not
    for ext, status, key, pid, addr, reason in rows:
        if any(b.startswith(ext + ":") for b in bad):
            for r in reqs:
                if r["headers"].get("idempotency-key") == key:
                    print(ext, json.dumps({k: r[k] for k in ("n", "conn", "complete", "status",
                                                             "reply")}))
    sys.exit(1)
if phase == "retry":
    with open(doubt_file, "w") as f:
        f.write("".join("%s %s\n" % (k, e) for e, s, k, p, a, r in rows if s == "in_doubt"))
EOF_

round=0
for ch in $CHANNELS; do
	test_expect "$ch: $ROUNDS runs with network faults end cleanly, the file intact" '
		i=0 &&
		while [ $i -lt $ROUNDS ]; do
			i=$((i + 1)) &&
			round=$((round + 1)) &&
			c=1 && [ $((i % 2)) -eq 1 ] || c=3 &&
			faulty $((SEED * 100 + round)) $ch "$(printf "2026-11-24 %02d:00:00" $((i % 24)))" \
				--concurrency $c ids.csv &&
			cp rc rc.$ch.$i &&
			clean "$ch round $i (fiu seed $((SEED * 100 + round)), --concurrency $c)" || exit 1
		done
	'
	round=$((round + ROUNDS))
	test_expect "$ch: --retry without faults: every row sent or in_doubt; sent ones the server has" '
		send $ch "2026-11-25 12:00:00" --retry --max-wait 10 &&
		clean "$ch --retry" &&
		"$PY" check.py $ch retry &&
		echo "$(wc -l <doubt.$ch) in doubt"
	'
	test_expect "$ch: --resend-in-doubt: sent once more with the same key, then sent" '
		send $ch "2026-11-25 13:00:00" --retry --resend-in-doubt --max-wait 10 &&
		clean "$ch --resend-in-doubt" &&
		"$PY" check.py $ch resend
	'
	[ ! -s doubt.$ch ] || echo "# $ch: in doubt after the faults: $(grep -vc " close" doubt.$ch), and the 2 the server never answers"
done

test_expect 'the faults hit: runs stopped, rows were deferred or in doubt' '
	stopped=$(cat rc.* | grep -c "^1\$" || true) &&
	doubt=$(cat doubt.* | grep -vc " close" || true) &&
	echo "$stopped runs stopped, $doubt rows in doubt" &&
	[ "$stopped" -gt 0 ] && [ "$doubt" -gt 0 ]
'

test_done
