#!/bin/sh
# crm-send with {{coupon}} killed with SIGKILL at random moments, again
# and again, then run to the end and --resend-in-doubt: every message
# delivered carries exactly one code, the code bound to its outbox row;
# every sent or in-doubt row has exactly one code, no code is bound to two
# rows, a message sent again carries its first code, and rows never
# transmitted have none.
. "$CRM_TOP/tests/lib.sh"

ROUNDS=${CRASH_ROUNDS:-16}
start_smtpd || exit 1
cat >crm.conf <<EOF_
[smtp]
url = smtp://127.0.0.1:$SMTP_PORT
[email]
from = shop@example.com
EOF_
chmod 600 crm.conf
printf 'Subject: {{first_name}}, your code {{coupon "WB"}}\n\nUse {{coupon "WB"}} at checkout.\n' >t.tmpl

# the code each delivered message carries: "RCPT CODE" per message file,
# and a line "BAD file" for a message whose subject and body disagree
codes() {
	for f in spool/*.eml; do
		tr -d "\r" <"$f" | awk -v f="$f" '
		     /^X-Test-Rcpt: / { r = $2 }
		     /^Subject: / { s = $NF }
		     /^Use / { b = $2 }
		     END { if (s != b || s == "") print "BAD " f; else print r, s }'
	done
}

test_expect 'setup: 800 customers, 1000 generated codes' '
	awk "BEGIN { print \"id,email,first_name,email_consent\";
		for (i = 1; i <= 800; i++) printf \"Z%03d,z%03d@example.com,Zed%d,yes\n\", i, i, i }" >z.csv &&
	crm-import customers z.csv 2>/dev/null &&
	crm-import coupons WB --generate 1000 --pattern WB-XXXX-XXXX >/dev/null 2>&1 &&
	crm-segment --no-input -f csv >all.csv
'

test_expect "$ROUNDS kills at random moments" '
	i=0; killed=0
	while [ $i -lt $ROUNDS ]; do
		i=$((i + 1))
		crm-send --campaign crash --channel email --template t.tmpl --rate 100/s \
			--concurrency $((i % 2 ? 4 : 1)) -q -f csv all.csv >>results.csv 2>>errors.log &
		pid=$!
		sleep "$(awk -v s=$i "BEGIN { srand(s); printf \"%.2f\", 0.05 + rand() * 0.35 }")"
		if kill_now $pid; then killed=$((killed + 1)); fi
	done
	echo "$killed of $ROUNDS runs killed mid-way" &&
	test $killed -eq $ROUNDS &&
	expect_eq ok "$(sql "PRAGMA integrity_check")"
'

test_expect 'a last run and --resend-in-doubt finish the campaign' '
	run 0 crm-send --campaign crash --channel email --template t.tmpl -f csv all.csv &&
	run 0 crm-send --campaign crash --channel email --template t.tmpl --retry --resend-in-doubt -f csv &&
	expect_eq 800 "$(sql "SELECT count(*) FROM messages WHERE status = '\''sent'\''")" &&
	expect_eq 800 "$(cut -f1 spool/log | sort -u | wc -l | tr -d " ")"
'

test_expect 'every sent row has exactly one code, no code is bound twice, none unsent' '
	expect_eq 0 "$(sql "SELECT count(*) FROM messages m WHERE m.status = '\''sent'\''
		AND (SELECT count(*) FROM coupons k WHERE k.message_id = m.id) <> 1")" &&
	expect_eq 0 "$(sql "SELECT count(*) FROM (SELECT message_id FROM coupons
		WHERE message_id IS NOT NULL GROUP BY message_id HAVING count(*) > 1)")" &&
	expect_eq 800 "$(sql "SELECT count(*) FROM coupons WHERE assigned_at IS NOT NULL")" &&
	expect_eq 200 "$(sql "SELECT count(*) FROM coupons WHERE assigned_at IS NULL AND message_id IS NULL")"
'

test_expect 'every delivery carries its row'\''s code, a message sent twice the same code' '
	codes >delivered &&
	expect_eq "" "$(grep "^BAD" delivered || true)" &&
	sort -u delivered >pairs &&
	expect_eq 800 "$(wc -l <pairs | tr -d " ")" &&
	sql "SELECT m.address || '\'' '\'' || k.code FROM messages m JOIN coupons k ON k.message_id = m.id
		ORDER BY 1" >bound &&
	expect_same bound pairs &&
	echo "$(($(wc -l <delivered) - 800)) messages delivered twice (in doubt, sent again)"
'

test_done
