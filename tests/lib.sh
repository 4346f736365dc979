# tests/lib.sh - the harness every CLI test sources (after git's t/).
#
#   . "$CRM_TOP/tests/lib.sh"
#   test_expect 'imports the file' '
#           crm-import customers in.csv &&
#           test "$(sql "SELECT count(*) FROM customers")" = 3
#   '
#   test_done
#
# Each test runs in a fresh temporary directory with LC_ALL=C, TZ=UTC,
# CRM_NOW fixed and CRM_DB=./crm.db; the body runs in a subshell with
# set -e, so any failing command fails the test. The body's output is
# shown only when it fails.

set -u
: "${CRM_TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${CRM_BIN:=$CRM_TOP/build/bin}"
PATH=$CRM_BIN:$PATH
LC_ALL=C
TZ=UTC
CRM_NOW='2026-11-23 12:00:00'
export PATH LC_ALL TZ CRM_NOW
unset CRM_CONFIG CRM_DB
FIX=$CRM_TOP/tests/fixtures
TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/crm-test.XXXXXX")
SERVER_PIDS=
# servers started in a test body (a subshell) are listed in .pids too
trap 'for p in $SERVER_PIDS $(cat "$TEST_DIR/.pids" 2>/dev/null); do kill "$p" 2>/dev/null; done
	rm -rf "$TEST_DIR"' EXIT
cd "$TEST_DIR" || exit 1
CRM_DB=$TEST_DIR/crm.db
export CRM_DB
umask 022
test_count=0
test_failed=0

test_expect() {
	test_count=$((test_count + 1))
	( set -e; eval "$2" ) >"$TEST_DIR/.log" 2>&1 </dev/null
	rc=$?
	if [ $rc -eq 0 ]; then
		printf "ok %s - %s\n" "$test_count" "$1"
	else
		printf "not ok %s - %s\n" "$test_count" "$1"
		sed 's/^/#   /' "$TEST_DIR/.log"
		test_failed=$((test_failed + 1))
	fi
}

test_done() {
	echo "1..$test_count"
	[ $test_failed -eq 0 ]
	exit $?
}

# run EXPECTED_STATUS CMD...: runs CMD with stdout in ./out and stderr in
# ./err; fails (showing both) unless it exits with EXPECTED_STATUS.
run() {
	want=$1
	shift
	set +e
	"$@" >out 2>err
	got=$?
	set -e
	if [ "$got" -ne "$want" ]; then
		echo "expected exit $want, got $got: $*"
		echo "--- stdout"; head -c 4000 out
		echo "--- stderr"; head -c 4000 err
		return 1
	fi
}

# sql QUERY: runs QUERY on the test database, list mode, '|' separated.
sql() {
	sqlite3 -batch -bail "$CRM_DB" "$1"
}

# expect_eq WANT GOT [WHAT]
expect_eq() {
	if [ "$1" != "$2" ]; then
		echo "${3:-value}: expected '$1', got '$2'"
		return 1
	fi
}

# expect_same FILE_WANT FILE_GOT
expect_same() {
	diff -u "$1" "$2"
}

# expect_grep PATTERN FILE (fixed string)
expect_grep() {
	if ! grep -qF -- "$1" "$2"; then
		echo "'$1' not found in $2:"
		head -c 3000 "$2"
		return 1
	fi
}

expect_no_grep() {
	if grep -qF -- "$1" "$2"; then
		echo "'$1' unexpectedly found in $2:"
		grep -nF -- "$1" "$2" | head
		return 1
	fi
}

# expect_mode MODE FILE: octal permission bits
expect_mode() {
	m=$(stat -c %a "$2")
	expect_eq "$1" "$m" "mode of $2"
}

# dump_customers: the customer table without row ids and import times, in
# a stable order: what "the same database" means across import orders
dump_customers() {
	sql "SELECT external_id, email, phone, first_name, last_name, birthday, city,
	            country, timezone, attrs, is_stub FROM customers
	     ORDER BY external_id, email, phone"
}

# cust ID COLUMNS: columns of the customer with external id ID
cust() {
	sql "SELECT $2 FROM customers WHERE external_id = '$1'"
}

# Debian's Python, which sees Debian's packages (python3-aiosmtpd)
PY=/usr/bin/python3

# start_server NAME ARGS...: starts tests/servers/NAME.py ARGS on 127.0.0.1
# in the background and sets SERVER_PORT to the port it chose, once it
# listens. Call it from the test script itself, not from a test body or a
# $(...): a server stops when the shell that started it ends.
start_server() {
	_name=$1
	shift
	rm -f "$TEST_DIR/$_name.port"
	"$PY" "$CRM_TOP/tests/servers/$_name.py" "$@" --port-file "$TEST_DIR/$_name.port" \
		>"$TEST_DIR/$_name.log" 2>&1 &
	SERVER_PIDS="$SERVER_PIDS $!"
	_i=0
	while [ ! -s "$TEST_DIR/$_name.port" ]; do
		sleep 0.1
		_i=$((_i + 1))
		if [ $_i -gt 100 ]; then
			echo "$_name did not start:" >&2
			cat "$TEST_DIR/$_name.log" >&2
			return 1
		fi
	done
	SERVER_PORT=$(cat "$TEST_DIR/$_name.port")
}

# start_smtpd [OPTIONS]: a real SMTP server (tests/servers/smtpd.py) on
# 127.0.0.1 with a fresh spool in $SPOOL; sets SMTP_PORT. It stops when
# the test script ends.
start_smtpd() {
	SPOOL=$TEST_DIR/spool
	rm -rf "$SPOOL"
	start_server smtpd "$SPOOL" "$@" || return 1
	SMTP_PORT=$SERVER_PORT
}

# start_postfix PORT RELAY_PORT [MAIN_CF_LINE...]: Debian's Postfix as an
# unprivileged-looking instance of its own: configuration, queue and log
# under $TEST_DIR/postfix, smtpd on 127.0.0.1:PORT, relaying every message
# to 127.0.0.1:RELAY_PORT (no DNS), the extra main.cf lines given. Its log
# is $POSTFIX_LOG; $POSTFIX_MASTER_EXTRA adds master.cf lines. Needs root
# and the postfix package (make deps-test);
# returns 2 without them. It stops when the test script ends.
start_postfix() {
	[ "$(id -u)" -eq 0 ] && [ -x /usr/lib/postfix/sbin/master ] && id postfix >/dev/null 2>&1 ||
		return 2
	_pd=$TEST_DIR/postfix
	POSTFIX_LOG=$_pd/maillog
	mkdir -p "$_pd/etc" "$_pd/spool" "$_pd/lib"
	chmod 755 "$TEST_DIR" "$_pd"
	_port=$1 _relay=$2
	shift 2
	{
		cat <<EOF_
compatibility_level = 3.6
queue_directory = $_pd/spool
data_directory = $_pd/lib
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
shlib_directory = /usr/lib/postfix
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = relay.crm-test.invalid
mydomain = crm-test.invalid
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mydestination =
alias_maps =
alias_database =
relayhost = [127.0.0.1]:$_relay
smtp_dns_support_level = disabled
maillog_file = $POSTFIX_LOG
maillog_file_prefixes = $_pd
EOF_
		for _l; do echo "$_l"; done
	} >"$_pd/etc/main.cf"
	{
		echo "127.0.0.1:$_port inet n - n - - smtpd"
		for _s in "pickup unix n - n 60 1 pickup" "cleanup unix n - n - 0 cleanup" \
			"qmgr unix n - n 300 1 qmgr" "rewrite unix - - n - - trivial-rewrite" \
			"bounce unix - - n - 0 bounce" "defer unix - - n - 0 bounce" \
			"trace unix - - n - 0 bounce" "verify unix - - n - 1 verify" \
			"flush unix n - n 1000? 0 flush" "proxymap unix - - n - - proxymap" \
			"smtp unix - - n - - smtp" "relay unix - - n - - smtp" \
			"showq unix n - n - - showq" "error unix - - n - - error" \
			"retry unix - - n - - error" "discard unix - - n - - discard" \
			"anvil unix - - n - 1 anvil" "scache unix - - n - 1 scache" \
			"postlog unix-dgram n - n - 1 postlogd"; do
			echo "$_s"
		done
		# more services (a pipe transport), one per line
		if [ -n "${POSTFIX_MASTER_EXTRA:-}" ]; then printf '%s\n' "$POSTFIX_MASTER_EXTRA"; fi
	} >"$_pd/etc/master.cf"
	for _q in active bounce corrupt defer deferred flush hold incoming private saved trace; do
		mkdir -p "$_pd/spool/$_q" && chown postfix "$_pd/spool/$_q" && chmod 700 "$_pd/spool/$_q"
	done
	mkdir -p "$_pd/spool/maildrop" "$_pd/spool/public" "$_pd/spool/pid"
	chown postfix:postdrop "$_pd/spool/maildrop" "$_pd/spool/public"
	chmod 730 "$_pd/spool/maildrop"
	chmod 710 "$_pd/spool/public"
	chown postfix "$_pd/lib"
	/usr/lib/postfix/sbin/master -c "$_pd/etc" -d >"$_pd/master.out" 2>&1 &
	SERVER_PIDS="$SERVER_PIDS $!"
	_i=0
	while ! grep -q "daemon started" "$POSTFIX_LOG" 2>/dev/null; do
		sleep 0.1
		_i=$((_i + 1))
		if [ $_i -gt 100 ]; then
			echo "postfix did not start:" >&2
			cat "$_pd/master.out" "$POSTFIX_LOG" >&2 2>/dev/null
			return 1
		fi
	done
}

# free_port: a TCP port on 127.0.0.1 nobody listens on now
free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# spooled: the number of messages the SMTP server stored
spooled() {
	ls "$SPOOL" 2>/dev/null | grep -c '\.eml$' || true
}

# spooled_to ADDR: how many stored messages went to ADDR
spooled_to() {
	grep -l "^X-Test-Rcpt: $1" "$SPOOL"/*.eml 2>/dev/null | wc -l | tr -d ' '
}

# start_httpd [OPTIONS]: a real HTTP server (tests/servers/httpd.py) on
# 127.0.0.1 that logs every request as a JSON line to $HTTP_LOG and
# misbehaves for some addresses (429, 500, a hang, a close without reply);
# sets HTTP_PORT. It stops when the test script ends.
start_httpd() {
	HTTP_LOG=$TEST_DIR/http.jsonl
	: >"$HTTP_LOG"
	start_server httpd "$HTTP_LOG" "$@" || return 1
	HTTP_PORT=$SERVER_PORT
}

# http_section CHANNEL [KEY=VALUE...]: prints a [CHANNEL] section of
# crm.conf for the server of start_httpd: base_url =
# http://127.0.0.1:$HTTP_PORT (unless a base_url or url is given), the
# given keys as "KEY = VALUE", and timeout = 2.
http_section() {
	echo "[$1]"
	shift
	case " $* " in
	*" base_url="* | *" url="*) ;;
	*) echo "base_url = http://127.0.0.1:$HTTP_PORT" ;;
	esac
	for _kv; do
		echo "${_kv%%=*} = ${_kv#*=}"
	done
	echo "timeout = 2"
}

# start_track [OPTIONS]: crm-track on a free port of 127.0.0.1 with the
# test's base, its log in $TEST_DIR/track.log; sets TRACK (the base URL)
# and TRACK_PID once /healthz answers (on port $TRACK_WANT_PORT when set,
# for a crm.conf written before). Call it from the test script or a test
# body; stop_track ends it (SIGTERM, and waits).
start_track() {
	TRACK_PORT=${TRACK_WANT_PORT:-$(free_port)}
	crm-track --listen "127.0.0.1:$TRACK_PORT" "$@" 2>>"$TEST_DIR/track.log" &
	TRACK_PID=$!
	SERVER_PIDS="$SERVER_PIDS $TRACK_PID"
	echo "$TRACK_PID" >>"$TEST_DIR/.pids"
	TRACK=http://127.0.0.1:$TRACK_PORT
	_i=0
	until curl -sf "$TRACK/healthz" >/dev/null 2>&1; do
		sleep 0.05
		_i=$((_i + 1))
		if [ $_i -gt 200 ] || ! kill -0 "$TRACK_PID" 2>/dev/null; then
			echo "crm-track did not start:" >&2
			cat "$TEST_DIR/track.log" >&2
			return 1
		fi
	done
}

stop_track() {
	kill "$TRACK_PID" 2>/dev/null || true
	wait "$TRACK_PID" 2>/dev/null || true
}

# turl KIND ID [N TARGET]: the path of a crm-track URL of outbox row ID
# (unsub, open, click), signed by tests/servers/trackc.py on its own
turl() {
	"$PY" "$CRM_TOP/tests/servers/trackc.py" "$CRM_DB" url "$@"
}

# near GOT WANT TOL [WHAT]: fails unless |GOT - WANT| <= TOL
near() {
	if ! awk -v g="$1" -v w="$2" -v t="$3" 'BEGIN {
		d = g - w; if (d < 0) d = -d; exit !(g != "" && d <= t) }'; then
		echo "${4:-value}: expected $2 +- $3, got '$1'"
		return 1
	fi
}

# col ROW NAME: the column NAME (by its header) of the row whose first
# field is ROW, in the csv in ./out (crm-report's groups and campaigns)
col() {
	awk -F, -v g="$1" -v c="$2" 'NR == 1 { for (i = 1; i <= NF; i++) h[$i] = i; next }
		$1 == g { print $(h[c]) }' out
}

# add_campaign ID NAME CHANNEL TIME N [half]: a campaign created and sent
# at TIME to the customers with an id up to N, written into the outbox as
# crm-send records it; with "half" the even ids are its control group
add_campaign() {
	_half=0
	[ "${6:-}" = half ] && _half=1
	sql "INSERT INTO campaigns(id, name, channel, created_at) VALUES ($1, '$2', '$3', '$4');
	     INSERT INTO messages(campaign_id, customer_id, channel, grp, status, message_id,
	                          planned_at, sent_at, updated_at)
	       SELECT $1, id, '$3', CASE WHEN $_half AND id % 2 = 0 THEN 'control' ELSE 'treatment' END,
	              CASE WHEN $_half AND id % 2 = 0 THEN 'control' ELSE 'sent' END, '$2-' || id,
	              '$4', '$4', '$4'
	       FROM customers WHERE id <= $5"
}

# kill_now PID: kill -9 the background job PID and reap it; true when the
# kill stopped it, false when it had ended before (its status is not 137)
kill_now() {
	kill -9 "$1" 2>/dev/null || true
	_st=0
	wait "$1" 2>/dev/null || _st=$?
	[ "$_st" -eq 137 ]
}

# val MODEL PARAMETER: a value of crm-score's printed summary (csv in ./out)
val() {
	awk -F, -v m="$1" -v p="$2" '$1 == m && $2 == p { print $3 }' out
}

# cdnow_orders FILE...: the CDNOW transactions (" 00004 0001 19970101  2
# 29.33", CRLF; the papers' customer id is the second column) as an orders
# CSV for crm-import, status empty (completed)
cdnow_orders() {
	awk 'BEGIN { print "customer_id,ordered_at,amount,currency,status" }
	     { sub(/\r$/, ""); printf "C%s,%s-%s-%s,%s,USD,\n", $2,
	       substr($3, 1, 4), substr($3, 5, 2), substr($3, 7, 2), $5 }' "$@"
}
