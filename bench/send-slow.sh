#!/bin/sh
# bench/send-slow.sh BUILD_DIR - crm-send against a slow SMTP server
# (issue 22): every reply to the final "." comes after BENCH_SLOW_DELAY
# seconds (1), as a relay that checks content or writes to slow disks
# does. BENCH_SLOW (20) messages with --concurrency 1, 4 and 8, and the
# peer: Python smtplib, one connection, sendmail per message. The server
# is tests/servers/smtpd.py (aiosmtpd) with --dot-delay; it waits for
# each connection's reply on its own, so the time a sender takes shows how
# many replies it waits for at once.
#
# Target (reported, not asserted): with 4 connections, at most 0.30 of the
# time of one (a quarter, plus connecting); every message stored once.
set -u

BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
PY=/usr/bin/python3
N=${BENCH_SLOW:-20}
DELAY=${BENCH_SLOW_DELAY:-1}
W=${BENCH_DATA:-$HERE/data}/send-slow
LC_ALL=C
TZ=UTC
export LC_ALL TZ
unset CRM_DB CRM_NOW CRM_CONFIG http_proxy https_proxy all_proxy ALL_PROXY

die() { echo "bench/send-slow: $*" >&2; exit 1; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

rm -rf "$W"
mkdir -p "$W"
cd "$W" || die "cannot enter $W"
"$PY" "$TOP/tests/servers/smtpd.py" spool --port-file port --dot-delay "$DELAY" >server.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null' EXIT INT TERM
i=0
while [ ! -s port ]; do
	sleep 0.1
	i=$((i + 1))
	[ $i -lt 100 ] || die "the test server did not start: $(cat server.log)"
done
PORT=$(cat port)
export CRM_DB=$W/crm.db
awk -v n="$N" 'BEGIN { print "id,email,first_name,email_consent";
	for (i = 1; i <= n; i++) printf "S%04d,s%04d@example.com,S%d,yes\n", i, i, i }' >c.csv
"$BUILD/bin/crm-import" customers c.csv 2>/dev/null || die "crm-import failed"
printf '[smtp]\nurl = smtp://127.0.0.1:%s\ntimeout = 30\n[email]\nfrom = Shop <shop@example.com>\n' \
	"$PORT" >crm.conf
chmod 600 crm.conf
printf 'Subject: Hi {{first_name}}\n\nHello {{first_name}}.\n' >m.tmpl
"$BUILD/bin/crm-segment" --no-input -f csv --fields id >ids.csv

RES=$W/results
: >"$RES"
for c in 1 4 8; do
	t0=$(now)
	"$BUILD/bin/crm-send" --campaign slow$c --channel email --template m.tmpl --concurrency $c \
		-f csv ids.csv >out$c 2>err$c || die "crm-send --concurrency $c failed: $(cat err$c)"
	echo "c$c|crm-send --concurrency $c|$(secs "$t0" "$(now)")" >>"$RES"
done
cat >peer.py <<'EOF_'
import smtplib, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
s = smtplib.SMTP("127.0.0.1", port)
for i in range(1, n + 1):
    msg = "Subject: Hi S%d\r\nMessage-ID: <py%d@example.com>\r\n\r\nHello S%d.\r\n" % (i, i, i)
    s.sendmail("shop@example.com", ["s%04d@example.com" % i], msg)
s.quit()
EOF_
t0=$(now)
"$PY" peer.py "$PORT" "$N" || die "the Python peer failed"
echo "py|Python smtplib, one connection|$(secs "$t0" "$(now)")" >>"$RES"

stored=$(wc -l <spool/log | tr -d ' ')
dups=$(cut -f2 spool/log | sort | uniq -d | wc -l | tr -d ' ')
field() { awk -F'|' -v n="$1" -v c="$2" '$1 == n { print $c }' "$RES"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-" }'; }

echo
echo "crm-send against a slow SMTP server: $N messages, each reply to the final \".\" after"
echo "$DELAY s (tests/servers/smtpd.py --dot-delay), $(nproc 2>/dev/null || echo ?) CPUs."
printf '%-42s %9s %14s %14s\n' run seconds "vs 1 conn." "vs Python"
while IFS='|' read -r name label s; do
	printf '%-42s %9s %14s %14s\n' "$label" "$s" "$(ratio "$s" "$(field c1 3)")" \
		"$(ratio "$s" "$(field py 3)")"
done <"$RES"
echo "(time ratios: lower is better)"
echo "stored by the server: $stored of $((4 * N)), Message-IDs stored twice: $dups"
r4=$(ratio "$(field c4 3)" "$(field c1 3)")
if awk -v r="$r4" 'BEGIN { exit !(r != "-" && r <= 0.30) }'; then
	echo "verdict: 4 connections take $r4 of the time of one (target <= 0.30): met"
else
	echo "verdict: 4 connections take $r4 of the time of one (target <= 0.30): NOT met"
fi
[ "$stored" -eq $((4 * N)) ] && [ "$dups" -eq 0 ] || die "the server did not store each message once"
