#!/bin/sh
# crm-send over SMTP with network faults injected by libfiu (connect,
# send, recv, poll... fail at random, seeds 1..ROUNDS), then --retry
# without faults: no signal, only clean exits, the file intact, every
# row of the campaign in a final state, everyone reached.
#
# This found duplicate deliveries: under send() and poll() faults libcurl
# can send the final "." before the body (the server stores an empty
# message) and then fail, and crm-send took that for a transient failure
# and sent the message again. Now any failure after the server's 354 to
# DATA, without a 2xx to the whole message, is in doubt. NETFAULT_ROUNDS=N
# runs more rounds.
. "$CRM_TOP/tests/lib.sh"

ROUNDS=${NETFAULT_ROUNDS:-6}
FIU_LIB=/usr/lib/fiu
if ! test -e $FIU_LIB/fiu_posix_preload.so; then
	echo "fiu-utils is missing: apt-get install fiu-utils (make deps)" >&2
	exit 1
fi

start_smtpd || exit 1
cat >crm.conf <<EOF_
[smtp]
url = smtp://127.0.0.1:$SMTP_PORT
timeout = 3
connect_timeout = 2
[email]
from = shop@example.com
EOF_
chmod 600 crm.conf
printf 'Subject: Hi {{first_name}}\n\nHello {{first_name}}.\n' >t.tmpl

test_expect 'setup: 200 customers with e-mail consent' '
	awk "BEGIN { print \"id,email,first_name,email_consent\";
		for (i = 1; i <= 200; i++) printf \"N%03d,n%03d@example.com,N%d,yes\n\", i, i, i }" >n.csv &&
	crm-import customers n.csv 2>/dev/null &&
	cut -d, -f1 n.csv >ids.csv
'

test_expect "$ROUNDS runs with network faults: clean exits, the file intact" '
	i=0 &&
	while [ $i -lt $ROUNDS ]; do
		i=$((i + 1))
		_asan=$(ldd "$(command -v crm-send)" 2>/dev/null | awk "/libasan/ { print \$3 }")
		set +e
		FIU_PRNG_SEED=$i FIU_CTRL_FIFO= \
			FIU_ENABLE="enable_random name=posix/io/net/*,probability=0.02" \
			LD_PRELOAD="$_asan $FIU_LIB/fiu_run_preload.so $FIU_LIB/fiu_posix_preload.so" \
			ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" \
			crm-send --campaign net --channel email --template t.tmpl --max-wait 0 \
			-f csv ids.csv >out.$i 2>err.$i
		rc=$?
		set -e
		case $rc in
		0 | 1 | 3) grep -q "^crm-send: " err.$i || { echo "round $i: exit $rc, no message"; exit 1; } ;;
		*) echo "round $i: exit $rc"; cat err.$i; exit 1 ;;
		esac
		if grep -q "Sanitizer\|runtime error" err.$i; then cat err.$i; exit 1; fi
		expect_eq ok "$(sql "PRAGMA integrity_check")" "round $i: integrity"
	done
'

test_expect '--retry without faults: every row sent or in doubt; sent ones delivered, no one else' '
	run 0 crm-send --campaign net --channel email --template t.tmpl --retry -f csv &&
	expect_eq 200 "$(sql "SELECT count(*) FROM messages")" &&
	expect_eq 0 "$(sql "SELECT count(*) FROM messages WHERE status NOT IN ('\''sent'\'', '\''in_doubt'\'')")" &&
	cut -f1 spool/log | sort -u >delivered &&
	sql "SELECT address FROM messages WHERE status = '\''sent'\'' ORDER BY 1" >sent &&
	sql "SELECT address FROM messages ORDER BY 1" >all &&
	expect_eq "" "$(comm -23 sent delivered)" &&
	expect_eq "" "$(comm -13 all delivered)"
'

test_expect 'nobody received anything twice' '
	cut -f1 spool/log | sort | uniq -d >twice &&
	expect_eq "" "$(cat twice)" "addresses that received the message twice" &&
	echo "$(sql "SELECT count(*) FROM messages WHERE status = '\''in_doubt'\''") rows in doubt"
'

test_done
