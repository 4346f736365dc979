#!/bin/sh
# Issue 22: a crm-send in another PID namespace (a container with the
# host's name: unshare --pid) is busy transmitting a batch, and beside it
# `crm-send --resend-in-doubt` of the same campaign runs on the host. The
# host run must not take the other for dead: no row it has claimed turns
# in_doubt, and nobody receives a message twice.
#
# Before lib/claimant.c, recover() looked the namespace's pid up in the
# host's /proc, marked its 10 transmitting rows in_doubt and the host run
# sent them again (with --mount-proc, as containers have it, every time).
# Needs root for unshare; skipped when unshare is refused.
. "$CRM_TOP/tests/lib.sh"

if ! unshare --pid --fork --mount-proc true 2>/dev/null; then
	echo "ok 1 # skip unshare --pid --fork --mount-proc is refused here (needs root)"
	test_done
fi

start_smtpd || exit 1
cat >crm.conf <<EOF_
[smtp]
url = smtp://127.0.0.1:$SMTP_PORT
[email]
from = shop@example.com
EOF_
# the host run gives up on a slow reply sooner (with the bug it would
# send slow0 again and wait for it)
sed 's/^\[smtp\]$/[smtp]\ntimeout = 5/' crm.conf >host.conf
chmod 600 crm.conf host.conf
printf 'Subject: hello\n\nHello {{first_name}}.\n' >t.tmpl

# 20 customers: slow0@ first (the server stores it, then waits 30 s before
# its reply), then plain ones: a batch is 10 rows, all transmitting while
# slow0 waits
test_expect 'setup' '
	awk "BEGIN { print \"id,email,first_name,email_consent\";
		print \"S0,slow0@example.com,Slow,yes\";
		for (i = 1; i < 20; i++) printf \"N%02d,n%02d@example.com,N%d,yes\n\", i, i, i }" >c.csv &&
	crm-import customers c.csv 2>/dev/null &&
	crm-segment --no-input -f csv >all.csv &&
	expect_eq 21 "$(wc -l <all.csv | tr -d " ")"
'

# how many times slow0@ was stored
slow_seen() {
	if [ -f "$SPOOL/log" ]; then grep -c "^slow0@example.com" "$SPOOL/log" || true; else echo 0; fi
}

# scenario CAMPAIGN UNSHARE_OPTION...: the run in a PID namespace of its
# own (in the background, sending to slow0@ first), then, while it waits
# for slow0, the host run with --resend-in-doubt
scenario() {
	c=$1
	shift
	SEEN=$(($(slow_seen) + 1))
	LOG_FROM=$(($(cat "$SPOOL/log" 2>/dev/null | wc -l) + 1))
	: >"$c.ns.out"
	unshare --pid --fork "$@" sh -c 'echo "ns pid $$"; exec crm-send --campaign "$1" \
		--channel email --template t.tmpl -f csv all.csv' sh "$c" \
		>"$c.ns.out" 2>"$c.ns.err" &
	NS_PID=$!
	# wait until slow0 is stored: the namespace run is in its first batch
	i=0
	while [ "$(slow_seen)" -lt "$SEEN" ]; do
		sleep 0.2
		i=$((i + 1))
		[ $i -lt 100 ] || break
	done
	sql "SELECT status, count(*), claimed_by FROM messages m JOIN campaigns k
	     ON k.id = m.campaign_id WHERE k.name = '$c' GROUP BY 1, 3" >"$c.before"
	crm-send --config host.conf --campaign "$c" --channel email --template t.tmpl \
		--retry --resend-in-doubt -f csv >"$c.host.out" 2>"$c.host.err" || true
	sql "SELECT status, count(*) FROM messages m JOIN campaigns k
	     ON k.id = m.campaign_id WHERE k.name = '$c' GROUP BY 1" >"$c.after_host"
	wait $NS_PID || true
	# the deliveries of this scenario
	tail -n +"$LOG_FROM" "$SPOOL/log" >"$c.log"
}

scenario mp --mount-proc
test_expect 'with its own /proc: the namespace run was transmitting when the host run came' '
	cat mp.before mp.ns.err &&
	grep -q "^transmitting|10|" mp.before
'
test_expect 'the host run did not take it for dead: nothing in doubt' '
	cat mp.host.err mp.after_host &&
	expect_no_grep "stopped: marked in_doubt" mp.host.err &&
	expect_no_grep "in_doubt" mp.after_host &&
	grep -q "^transmitting|10$" mp.after_host
'
test_expect 'with its own /proc: the namespace run ends, all 20 sent once' '
	cat mp.ns.err &&
	expect_eq "sent|20" "$(sql "SELECT status, count(*) FROM messages m JOIN campaigns k
		ON k.id = m.campaign_id WHERE k.name = '\''mp'\'' GROUP BY 1")" &&
	expect_eq 20 "$(wc -l <mp.log | tr -d " ")" &&
	cut -f1 mp.log | sort | uniq -d >mp.twice &&
	expect_eq "" "$(cat mp.twice)"
'

# the same without a /proc of its own: claimant_self reads /proc/self,
# not /proc/<its namespace pid>
scenario np
test_expect 'with the host'\''s /proc: the namespace run was transmitting when the host run came' '
	cat np.before np.ns.err &&
	grep -q "^transmitting|10|" np.before
'
test_expect 'with the host'\''s /proc: nothing in doubt' '
	cat np.host.err np.after_host &&
	expect_no_grep "stopped: marked in_doubt" np.host.err &&
	expect_no_grep "in_doubt" np.after_host
'
test_expect 'with the host'\''s /proc: all 20 sent, nobody received anything twice' '
	expect_eq "sent|20" "$(sql "SELECT status, count(*) FROM messages m JOIN campaigns k
		ON k.id = m.campaign_id WHERE k.name = '\''np'\'' GROUP BY 1")" &&
	cut -f1 np.log | sort | uniq -d >np.twice &&
	expect_eq "" "$(cat np.twice)" &&
	expect_eq 20 "$(wc -l <np.log | tr -d " ")"
'

test_done
