#!/bin/sh
# bench/track.sh BUILD_DIR - crm-track under wrk (issue 13): signed click
# redirects and the open pixel of 2,000 messages, each answered only after
# its hit is committed (group commit, synchronous=FULL), side by side with
# nginx answering a static "return 302" (the most a redirect can do on
# this machine) and a Python http.server peer (ThreadingHTTPServer) that
# answers the same redirect without recording anything.
#
# Target (reported, not asserted): at least 10,000 answered-and-recorded
# hits a second on 2 cores, p99 under 20 ms, memory flat (RSS after the
# runs within the writer's 32 MiB page cache and 10 MB of RSS after a
# warm-up), every answered hit recorded.
set -u

BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
PY=/usr/bin/python3
SECS=${BENCH_TRACK_SECS:-10}
CONNS=${BENCH_TRACK_CONNS:-64}
W=${BENCH_DATA:-$HERE/data}/track
LC_ALL=C
TZ=UTC
export LC_ALL TZ
unset CRM_DB CRM_NOW CRM_CONFIG http_proxy https_proxy all_proxy ALL_PROXY

die() { echo "bench/track: $*" >&2; exit 1; }
command -v wrk >/dev/null || die "wrk is not installed (make deps-test)"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || die "nginx is not installed (make deps-test)"
port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_up() {
	i=0
	until curl -s -o /dev/null "http://127.0.0.1:$1/"; do
		sleep 0.05
		i=$((i + 1))
		[ $i -lt 200 ] || die "$2 did not start"
	done
}
rss() { awk '/^RssAnon/ { print $2 }' "/proc/$1/status"; }

rm -rf "$W"
mkdir -p "$W"
cd "$W" || die "cannot enter $W"
PIDS=
trap 'for p in $PIDS; do kill $p 2>/dev/null; done' EXIT INT TERM
export CRM_DB=$W/crm.db

# 2,000 sent messages (the outbox rows crm-send would have made)
awk 'BEGIN { print "id,email"; for (i = 1; i <= 2000; i++) printf "T%04d,t%04d@example.com\n", i, i }' >c.csv
"$BUILD/bin/crm-import" customers c.csv 2>/dev/null || die "crm-import failed"
sqlite3 "$CRM_DB" "INSERT INTO campaigns(id, name, channel, created_at) VALUES (1, 'bench', 'email', '2026-11-01 10:00:00');
	INSERT INTO messages(campaign_id, customer_id, channel, grp, status, message_id, planned_at, sent_at, updated_at)
	SELECT 1, id, 'email', 'treatment', 'sent', '<bench-' || id || '@example.com>', '2026-11-01 10:00:00',
	       '2026-11-01 10:00:00', '2026-11-01 10:00:00' FROM customers" || die "cannot make the outbox"
# the paths: a click on one of 5 links, or the pixel, of each message
"$PY" - "$CRM_DB" <<'PYEOF' || die "cannot sign the paths"
import hashlib, hmac, sqlite3, sys, urllib.parse
sec = sqlite3.connect(sys.argv[1]).execute("SELECT value FROM meta WHERE key = 'secret'").fetchone()[0].encode()
def tok(p, i, d=None):
    m = p.encode() + b"\0" + str(i).encode() + (b"\0" + d if d is not None else b"")
    return "%d-%s" % (i, hmac.new(sec, m, hashlib.sha256).hexdigest()[:16])
with open("clicks.txt", "w") as c, open("opens.txt", "w") as o:
    for i in range(1, 2001):
        for n in range(1, 6):
            u = "https://shop.example/p/%d?utm_source=crmkit&utm_campaign=bench" % n
            c.write("/c/%s/%d?u=%s\n" % (tok("click", i, str(n).encode() + b"\0" + u.encode()), n,
                                        urllib.parse.quote(u, safe="-._~")))
        o.write("/o/%s.gif\n" % tok("open", i))
PYEOF
shuf --random-source=c.csv clicks.txt >c && mv c clicks.txt
cat >paths.lua <<'LUA'
local paths = {}
local i = 0
function init(args)
	for line in io.lines(args[1]) do paths[#paths + 1] = line end
	i = math.random(#paths)
end
function request()
	i = i % #paths + 1
	return wrk.format("GET", paths[i], { ["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0" })
end
LUA

# run NAME PORT [PATHS]: wrk for SECS seconds; prints "REQS RPS P99MS"
run() {
	if [ -n "${3:-}" ]; then
		wrk -t2 -c"$CONNS" -d"${SECS}s" --latency -s paths.lua "http://127.0.0.1:$2" -- "$3" >"wrk.$1" 2>&1
	else
		wrk -t2 -c"$CONNS" -d"${SECS}s" --latency "http://127.0.0.1:$2/r" >"wrk.$1" 2>&1
	fi
	awk '/requests in/ { n = $1 } /Requests\/sec/ { r = $2 }
		$1 == "99%" { v = $2; if (v ~ /us$/) { sub(/us/, "", v); v /= 1000 }
			else if (v ~ /ms$/) sub(/ms/, "", v); else if (v ~ /s$/) { sub(/s/, "", v); v *= 1000 }
			p = v }
		/Non-2xx or 3xx/ { bad = $NF }
		END { printf "%d %.0f %.1f %d\n", n, r, p, bad }' "wrk.$1"
}

# crm-track
TP=$(port)
"$BUILD/bin/crm-track" --no-log --listen "127.0.0.1:$TP" 2>track.log &
TPID=$!
PIDS="$PIDS $TPID"
wait_up "$TP" crm-track
wrk -t2 -c"$CONNS" -d2s -s paths.lua "http://127.0.0.1:$TP" -- clicks.txt >/dev/null 2>&1
rss0=$(rss $TPID)
before=$(sqlite3 "$CRM_DB" "SELECT count(*) FROM events")
set -- $(run clicks "$TP" clicks.txt)
c_n=$1 c_rps=$2 c_p99=$3 c_bad=$4
mid=$(sqlite3 "$CRM_DB" "SELECT count(*) FROM events")
set -- $(run opens "$TP" opens.txt)
o_n=$1 o_rps=$2 o_p99=$3 o_bad=$4
after=$(sqlite3 "$CRM_DB" "SELECT count(*) FROM events")
rss1=$(rss $TPID)
kill $TPID; wait $TPID 2>/dev/null

# nginx: return 302
NP=$(port)
mkdir -p nginx
cat >nginx/nginx.conf <<NGX
worker_processes 2;
pid $W/nginx/nginx.pid;
error_log $W/nginx/error.log;
daemon off;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $W/nginx; proxy_temp_path $W/nginx; fastcgi_temp_path $W/nginx;
	uwsgi_temp_path $W/nginx; scgi_temp_path $W/nginx;
	server { listen 127.0.0.1:$NP; location / { return 302 https://shop.example/p/1; } }
}
NGX
"$NGINX" -p "$W/nginx" -c "$W/nginx/nginx.conf" 2>nginx.log &
NPID=$!
PIDS="$PIDS $NPID"
wait_up "$NP" nginx
set -- $(run nginx "$NP")
n_rps=$2 n_p99=$3
kill $NPID; wait $NPID 2>/dev/null

# Python http.server, threads, the same redirect, nothing recorded
PP=$(port)
"$PY" - "$PP" 2>python.log <<'PYEOF' &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        self.send_response(302)
        self.send_header("Location", "https://shop.example/p/1")
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PYEOF

PPID_=$!
PIDS="$PIDS $PPID_"
wait_up "$PP" python
set -- $(run python "$PP")
p_rps=$2 p_p99=$3
kill $PPID_

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
echo "track: click redirects  crm-track $c_rps req/s (p99 $c_p99 ms, $c_n answered, $((mid - before)) recorded, $c_bad errors)"
echo "track: open pixel       crm-track $o_rps req/s (p99 $o_p99 ms, $o_n answered, $((after - mid)) recorded, $o_bad errors)"
echo "track: nginx return 302 $n_rps req/s (p99 $n_p99 ms); Python http.server $p_rps req/s (p99 $p_p99 ms)"
echo "track: ratios  clicks/nginx $(ratio "$c_rps" "$n_rps")  clicks/python $(ratio "$c_rps" "$p_rps")  pixel/nginx $(ratio "$o_rps" "$n_rps")  pixel/python $(ratio "$o_rps" "$p_rps")"
echo "track: memory  RssAnon (heap, page cache) $((rss0 / 1024)) MB after warm-up, $((rss1 / 1024)) MB after $((c_n + o_n)) hits"
ok=yes
[ "${c_rps%.*}" -ge 10000 ] && [ "${o_rps%.*}" -ge 10000 ] || ok=no
awk -v a="$c_p99" -v b="$o_p99" 'BEGIN { exit !(a < 20 && b < 20) }' || ok=no
[ $((mid - before)) -ge "$c_n" ] && [ $((after - mid)) -ge "$o_n" ] || ok=no
# the writer's page cache (32 MiB) fills as the base grows; beyond it
# nothing may grow with the number of hits
[ $((rss1 - rss0)) -lt $((32768 + 10240)) ] || ok=no
echo "track: target (>= 10,000 hits/s recorded, p99 < 20 ms, every answered hit recorded, memory within the 32 MiB page cache + 10 MB): $ok"
