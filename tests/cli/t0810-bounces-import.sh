#!/bin/sh
# crm-import bounces (issue 14): the reports that come back to the VERP
# return path, read from standard input (an MTA's pipe), an mbox, a Maildir
# or a file; one decision each, kept with its reason, status code and where
# the raw message is; the one suppression rule applied (hard bounces and
# complaints suppress, soft ones after [bounces] soft_limit, policy blocks
# and auto-replies never); forged, expired, foreign and unreadable reports
# quarantined, never dropped; nothing in a mailbox moved or deleted.
. "$CRM_TOP/tests/lib.sh"

start_smtpd || exit 1
conf() {
	{
		printf '[smtp]\nurl = smtp://127.0.0.1:%s\n[email]\nfrom = Shop <shop@example.com>\n' "$SMTP_PORT"
		printf 'envelope_from = bounces@shop.example\n'
		printf '[bounces]\n'
		for _kv; do echo "${_kv%%=*} = ${_kv#*=}"; done
	} >crm.conf
	chmod 600 crm.conf
}
conf soft_limit=2 soft_days=30
printf 'Subject: Winter sale\n\nHello {{first_name}}.\n' >m.tmpl

# row EMAIL CAMPAIGN: the outbox row of that customer's message
row() {
	sql "SELECT m.id FROM messages m JOIN customers c ON c.id = m.customer_id
	     JOIN campaigns k ON k.id = m.campaign_id WHERE c.email = '$1' AND k.name = '$2'"
}
# fix NAME EMAIL CAMPAIGN: the fixture with the VERP token of that row
fix() {
	_t=$("$PY" "$CRM_TOP/tests/servers/trackc.py" "$CRM_DB" token bounce "$(row "$2" "$3")")
	sed "s/@TOKEN@/$_t/g" "$FIX/bounces/$1.eml"
}
# decision: the last inbound row's decision|kind|status
decision() {
	sql "SELECT decision || '|' || kind || '|' || coalesce(status, '') FROM inbound ORDER BY id DESC LIMIT 1"
}
# status EMAIL CAMPAIGN: the outbox row's status and reason
status() {
	sql "SELECT m.status || ':' || coalesce(m.reason, '') FROM messages m JOIN customers c ON c.id = m.customer_id
	     JOIN campaigns k ON k.id = m.campaign_id WHERE c.email = '$1' AND k.name = '$2'"
}

test_expect 'setup: 8 customers, the spring campaign sent with VERP' '
	cat >c.csv <<-EOF_ &&
	id,email,first_name,email_consent
	A,anna.petrova@example.net,Anna,yes
	E,elena@example.com,Elena,yes
	B,boris@example.org,Boris,yes
	D,dmitry@example.com,Dmitry,yes
	O,olga@example.com,Olga,yes
	I,ivan.sidorov@example.ru,Ivan,yes
	G,no.such.person@gmail.com,Gabe,yes
	M,maria.ivanova@contoso.example,Maria,yes
	EOF_
	crm-import --now "2026-11-01 00:00:00" customers c.csv 2>/dev/null &&
	printf "id\nA\nE\nB\nD\nO\nI\nG\nM\n" >all.csv &&
	run 0 crm-send --campaign spring --channel email --template m.tmpl -f csv all.csv &&
	expect_eq 8 "$(spooled)"
'

test_expect 'a hard bounce from standard input (an MTA pipe): applied, the address suppressed, the raw report kept' '
	fix postfix-hard anna.petrova@example.net spring >h.eml &&
	run 0 crm-import bounces <h.eml &&
	expect_grep "1 read: 1 applied, 0 recorded, 0 ignored, 0 quarantined" err &&
	expect_eq "applied|hard|5.1.1" "$(decision)" &&
	expect_eq "stdin|$(wc -c <h.eml | tr -d " ")|$(cust A id)|$(row anna.petrova@example.net spring)" \
		"$(sql "SELECT origin, length(raw), customer_id, outbox_id FROM inbound")" &&
	expect_eq "hard bounce 5.1.1: the address is suppressed" "$(sql "SELECT reason FROM inbound")" &&
	expect_eq "hard|5.1.1|bounces|anna.petrova@example.net|spring" \
		"$(sql "SELECT json_extract(props, '\''$.kind'\''), json_extract(props, '\''$.status'\''),
		        json_extract(props, '\''$.source'\''), json_extract(props, '\''$.address'\''), campaign
		        FROM events WHERE type = '\''bounced'\''")" &&
	expect_eq "bounced|bounces|5.1.1" "$(sql "SELECT reason, source, status FROM address_suppressions")" &&
	expect_eq "$(sql "SELECT message_id FROM messages WHERE id = $(row anna.petrova@example.net spring)")" \
		"$(sql "SELECT message_id FROM events WHERE type = '\''bounced'\''")"
'

test_expect 'the same message again: read before, nothing applied twice' '
	run 0 crm-import bounces <h.eml &&
	expect_grep "1 read: 0 applied, 0 recorded, 0 ignored, 0 quarantined" err &&
	expect_grep "1 read before" err &&
	expect_eq 1 "$(sql "SELECT count(*) FROM inbound")" &&
	expect_eq 1 "$(sql "SELECT count(*) FROM events WHERE type = '\''bounced'\''")"
'

test_expect 'another report of the same bounce (a second DSN): ignored, already recorded' '
	sed "s/^Message-Id: <2026/Message-Id: <again-2026/" h.eml >h2.eml &&
	run 0 crm-import bounces <h2.eml &&
	expect_eq "ignored|hard|5.1.1" "$(decision)" &&
	expect_eq "already recorded: a hard bounce of message $(row anna.petrova@example.net spring)" \
		"$(sql "SELECT reason FROM inbound ORDER BY id DESC LIMIT 1")" &&
	expect_eq 1 "$(sql "SELECT count(*) FROM events WHERE type = '\''bounced'\''")"
'

test_expect 'a complaint (RFC 5965 ARF): applied, no more marketing e-mail to the customer' '
	fix arf-complaint elena@example.com spring >arf.eml &&
	run 0 crm-import bounces arf.eml &&
	expect_eq "applied|complaint|" "$(decision)" &&
	expect_grep "complaint abuse: no more marketing e-mail to customer $(cust E id)" \
		"$(sql "SELECT reason FROM inbound ORDER BY id DESC LIMIT 1" >r.txt; echo r.txt)" &&
	expect_eq "file arf.eml" "$(sql "SELECT origin FROM inbound ORDER BY id DESC LIMIT 1")" &&
	expect_eq "" "$(sql "SELECT raw FROM inbound ORDER BY id DESC LIMIT 1")" &&
	expect_eq "1|abuse" "$(sql "SELECT count(*), json_extract(props, '\''$.feedback_type'\'') FROM events
		WHERE type = '\''complained'\'' AND customer_id = $(cust E id)")" &&
	expect_eq 0 "$(sql "SELECT count(*) FROM address_suppressions WHERE reason != '\''bounced'\''")"
'

test_expect 'a policy block (5.7.1 spam): recorded and counted, never suppressing' '
	fix spam-block dmitry@example.com spring | run 0 crm-import bounces &&
	expect_eq "recorded|policy|5.7.1" "$(decision)" &&
	expect_eq "policy" "$(sql "SELECT json_extract(props, '\''$.kind'\'') FROM events WHERE type = '\''bounced'\'' AND customer_id = $(cust D id)")" &&
	expect_eq 1 "$(sql "SELECT count(*) FROM address_suppressions")"
'

test_expect 'auto-replies (Auto-Submitted, an Out of Office subject) are not bounces' '
	fix vacation-autosubmitted olga@example.com spring | run 0 crm-import bounces &&
	expect_eq "ignored|autoreply|" "$(decision)" &&
	expect_grep "an automatic reply, not a bounce" "$(sql "SELECT reason FROM inbound ORDER BY id DESC LIMIT 1" >r.txt; echo r.txt)" &&
	run 0 crm-import bounces "$FIX/bounces/vacation-subject.eml" &&
	expect_eq "ignored|autoreply|" "$(decision)" &&
	expect_eq 0 "$(sql "SELECT count(*) FROM events WHERE customer_id = $(cust O id) AND type != '\''unsubscribed'\''")"
'

test_expect 'a delayed-delivery DSN: ignored, the message may still arrive' '
	fix postfix-delayed boris@example.org spring | run 0 crm-import bounces &&
	expect_eq "ignored|delayed|4.2.2" "$(decision)" &&
	expect_eq 0 "$(sql "SELECT count(*) FROM events WHERE customer_id = $(cust B id) AND type = '\''bounced'\''")"
'

test_expect 'soft bounces (5.2.2 mailbox full) are recorded until [bounces] soft_limit in soft_days' '
	printf "id\nB\n" >b.csv &&
	run 0 crm-send --campaign summer --channel email --template m.tmpl -f csv b.csv &&
	for c in spring summer; do
		fix postfix-hard boris@example.org $c |
		sed -e "s/anna.petrova@example.net/boris@example.org/g" -e "s/5\.1\.1/5.2.2/g" \
		    -e "s/User unknown in/Mailbox full in/" -e "s/^Message-Id: </Message-Id: <$c-/" >soft-$c.eml || exit 1
	done &&
	run 0 crm-import bounces soft-spring.eml &&
	expect_eq "recorded|soft|5.2.2" "$(decision)" &&
	expect_eq "soft bounce 5.2.2, 1 in 30 days (suppressed at 2)" "$(sql "SELECT reason FROM inbound ORDER BY id DESC LIMIT 1")" &&
	run 0 crm-import bounces soft-summer.eml &&
	expect_eq "applied|soft|5.2.2" "$(decision)" &&
	expect_eq "soft bounce 5.2.2, 2 in 30 days: the address is suppressed ([bounces] soft_limit = 2)" \
		"$(sql "SELECT reason FROM inbound ORDER BY id DESC LIMIT 1")"
'

test_expect 'the next campaign: hard bounce, complaint and soft limit suppressed; policy, auto-reply and delayed sent' '
	run 0 crm-send --campaign winter --channel email --template m.tmpl -f csv all.csv &&
	expect_eq "suppressed:bounced" "$(status anna.petrova@example.net winter)" &&
	expect_eq "suppressed:complained" "$(status elena@example.com winter)" &&
	expect_eq "suppressed:soft_bounced" "$(status boris@example.org winter)" &&
	expect_eq "sent:" "$(status dmitry@example.com winter)" &&
	expect_eq "sent:" "$(status olga@example.com winter)" &&
	expect_eq "sent:" "$(status ivan.sidorov@example.ru winter)"
'

test_expect '--transactional: a complaint is a marketing opt-out (sent), a hard or soft-limit bounce is not (suppressed)' '
	run 0 crm-send --campaign receipt --transactional --channel email --template m.tmpl -f csv all.csv &&
	expect_eq "sent:" "$(status elena@example.com receipt)" &&
	expect_eq "suppressed:bounced" "$(status anna.petrova@example.net receipt)" &&
	expect_eq "suppressed:soft_bounced" "$(status boris@example.org receipt)"
'

test_expect 'crm-report customer shows the suppression in force and every report with its decision, reason and origin' '
	run 0 crm-report customer A -f csv &&
	expect_grep "suppression,,email,bounced,every e-mail (transactional too)" out &&
	expect_grep "returned,2026-11-23 12:00:00,hard 5.1.1,applied,hard bounce 5.1.1: the address is suppressed; stdin (kept as inbound 1)" out &&
	expect_grep "returned,2026-11-23 12:00:00,hard 5.1.1,ignored,already recorded: a hard bounce of message" out &&
	run 0 crm-report customer E -f csv &&
	expect_grep "suppression,,email,complained,marketing e-mail (transactional goes on)" out &&
	expect_grep ",complaint,applied,complaint abuse: no more marketing e-mail to customer $(cust E id); file arf.eml" out &&
	run 0 crm-report customer B -f csv &&
	expect_grep "suppression,,email,soft_bounced,every e-mail (transactional too)" out &&
	expect_grep "delayed 4.2.2,ignored,\"delivery delayed, still being tried: 4.2.2; stdin (kept as inbound" out &&
	run 0 crm-report customer D -f csv &&
	expect_grep "suppression,,email,none," out &&
	expect_grep "policy 5.7.1,recorded,\"policy block 5.7.1: the sender" out
'

test_expect 'a forged VERP token: quarantined whole (and copied into --quarantine), nothing applied' '
	n=$(sql "SELECT count(*) FROM events") &&
	run 0 crm-import bounces --quarantine q <"$FIX/bounces/forged-token.eml" &&
	expect_eq "quarantined|hard|5.1.1" "$(decision)" &&
	expect_grep "the VERP token does not check" "$(sql "SELECT reason FROM inbound ORDER BY id DESC LIMIT 1" >r.txt; echo r.txt)" &&
	expect_eq "$n" "$(sql "SELECT count(*) FROM events")" &&
	expect_eq 1 "$(ls q/new | wc -l | tr -d " ")" &&
	cmp q/new/* "$FIX/bounces/forged-token.eml" &&
	sql "SELECT writefile('\''raw.eml'\'', raw) FROM inbound ORDER BY id DESC LIMIT 1" >/dev/null &&
	cmp raw.eml "$FIX/bounces/forged-token.eml"
'

test_expect 'a report about someone else'\''s mail (no token, a Message-ID not ours): quarantined' '
	run 0 crm-import bounces "$FIX/bounces/no-token.eml" &&
	expect_eq "quarantined|hard|5.1.1" "$(decision)" &&
	expect_grep "a hard report about no message of this base (no VERP token, Message-ID unknown)" \
		"$(sql "SELECT reason FROM inbound ORDER BY id DESC LIMIT 1" >r.txt; echo r.txt)" &&
	expect_eq "" "$(sql "SELECT outbox_id FROM inbound ORDER BY id DESC LIMIT 1")"
'

test_expect 'no token but the quoted Message-ID of one of our messages: applied to that message' '
	mid=$(sql "SELECT message_id FROM messages WHERE id = $(row no.such.person@gmail.com spring)") &&
	sed -e "s/bounces+@TOKEN@@/bounces@/g" -e "s/<0f1e2d3c4b5a69788796a5b4c3d2e1f0@shop.example>/$mid/" \
		"$FIX/bounces/gmail-dsn.eml" >g.eml &&
	run 0 crm-import bounces g.eml &&
	expect_eq "applied|hard|5.1.1" "$(decision)" &&
	expect_eq "$(row no.such.person@gmail.com spring)" "$(sql "SELECT outbox_id FROM inbound ORDER BY id DESC LIMIT 1")"
'

test_expect 'a token naming a row this base does not have, malformed MIME: quarantined, exit 0' '
	t=$("$PY" "$CRM_TOP/tests/servers/trackc.py" "$CRM_DB" token bounce 99999) &&
	sed "s/@TOKEN@/$t/g" "$FIX/bounces/postfix-hard.eml" | run 0 crm-import bounces &&
	expect_eq "quarantined|hard|5.1.1" "$(decision)" &&
	expect_grep "names outbox row 99999, which this base does not have" \
		"$(sql "SELECT reason FROM inbound ORDER BY id DESC LIMIT 1" >r.txt; echo r.txt)" &&
	fix malformed maria.ivanova@contoso.example spring | run 0 crm-import bounces &&
	expect_eq quarantined "$(sql "SELECT decision FROM inbound ORDER BY id DESC LIMIT 1")" &&
	head -c 3000 /dev/zero | tr "\\0" "\\377" | run 0 crm-import bounces &&
	expect_eq "quarantined|unknown" "$(sql "SELECT decision || '\''|'\'' || kind FROM inbound ORDER BY id DESC LIMIT 1")"
'

test_expect 'an expired token: a report about a message older than [bounces] max_age is quarantined' '
	conf soft_limit=2 soft_days=30 max_age=30 &&
	fix exim-text ivan.sidorov@example.ru spring | run 0 crm-import --now "2027-01-10 00:00:00" bounces &&
	expect_eq "quarantined|hard|5.1.1" "$(decision)" &&
	expect_grep "expired: message $(row ivan.sidorov@example.ru spring) was sent 47 days ago ([bounces] max_age = 30 days)" \
		"$(sql "SELECT reason FROM inbound ORDER BY id DESC LIMIT 1" >r.txt; echo r.txt)" &&
	fix exim-text ivan.sidorov@example.ru spring | sed "s/^Message-Id: </Message-Id: <x/" | run 0 crm-import bounces &&
	expect_eq "applied|hard|5.1.1" "$(decision)" &&
	conf soft_limit=2 soft_days=30
'

test_expect 'an mbox of several reports (Exchange, Yandex, Mail.ru, a person): each decided, the file untouched; read again: all read before' '
	{ echo "From MAILER-DAEMON Mon Nov 23 12:00:05 2026"; fix exchange-ndr maria.ivanova@contoso.example spring; echo;
	  echo "From MAILER-DAEMON Mon Nov 23 12:01:05 2026"; fix yandex-text olga@example.com winter; echo;
	  echo "From mailer-daemon@corp.mail.ru Mon Nov 23 12:01:35 2026"; fix mailru-text ivan.sidorov@example.ru winter; echo;
	  echo "From someone Mon Nov 23 12:02:05 2026"; printf "Subject: hello\n\nHello,\nFrom the shop: a line that starts with From\n\n>From an escaped one\n"; echo; } >box &&
	sum=$(sha256sum box) &&
	run 0 crm-import bounces box &&
	expect_grep "4 read: 3 applied, 0 recorded, 0 ignored, 1 quarantined" err &&
	expect_eq "applied|hard|user not found" "$(sql "SELECT decision, kind, substr(diagnostic, -14) FROM inbound
		WHERE outbox_id = $(row ivan.sidorov@example.ru winter)")" &&
	expect_eq "mbox box at byte 0|hard" "$(sql "SELECT origin, kind FROM inbound WHERE customer_id = $(cust M id) AND origin LIKE '\''mbox%'\''")" &&
	expect_eq "not a report" "$(sql "SELECT substr(reason, 1, 12) FROM inbound WHERE origin LIKE '\''mbox box at byte %'\'' AND decision = '\''quarantined'\''")" &&
	run 0 crm-import bounces box &&
	expect_grep "4 read: 0 applied" err &&
	expect_grep "4 read before" err &&
	expect_eq "$sum" "$(sha256sum box)"
'

test_expect 'a Maildir: new/ and cur/ read, nothing moved, renamed or deleted; the same message from a pipe is read before' '
	mkdir -p md/new md/cur md/tmp &&
	fix gmail-dsn no.such.person@gmail.com winter >md/new/1700000000.M1P1.host &&
	fix vacation-autosubmitted no.such.person@gmail.com winter >md/cur/1700000001.M2P2.host:2,S &&
	ls -lR md >before &&
	run 0 crm-import bounces md &&
	expect_grep "2 read: 1 applied, 0 recorded, 1 ignored, 0 quarantined" err &&
	expect_eq "maildir md/new/1700000000.M1P1.host" "$(sql "SELECT origin FROM inbound WHERE outbox_id = $(row no.such.person@gmail.com winter) AND kind = '\''hard'\''")" &&
	ls -lR md >after && expect_same before after &&
	{ echo "From MAILER-DAEMON Mon Nov 23 12:00:05 2026"; cat md/new/1700000000.M1P1.host; } | run 0 crm-import bounces &&
	expect_grep "1 read before" err
'

test_expect 'a base that cannot be written: exit 75 (EX_TEMPFAIL), the MTA keeps the message; later it is applied' '
	fix gmail-dsn no.such.person@gmail.com receipt >late.eml &&
	{ "$PY" -c "
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute(\"BEGIN EXCLUSIVE\")
open(\"locked\", \"w\").close()
time.sleep(4)
" "$CRM_DB" & }
	while [ ! -e locked ]; do sleep 0.05; done &&
	n=$(sql "SELECT count(*) FROM inbound" 2>/dev/null || echo busy) &&
	CRM_BUSY_TIMEOUT=1 run 75 crm-import bounces <late.eml &&
	expect_grep "the mail server keeps it and tries again" err &&
	wait &&
	expect_eq 0 "$(sql "SELECT count(*) FROM inbound WHERE outbox_id = $(row no.such.person@gmail.com receipt)")" &&
	run 0 crm-import bounces <late.eml &&
	expect_eq "applied|hard|5.1.1" "$(decision)"
'

test_expect 'a 50 MB message: decided from its first megabyte, kept whole' '
	{ fix postfix-hard maria.ivanova@contoso.example winter | sed "s/anna.petrova@example.net/maria.ivanova@contoso.example/g"
	  head -c 52428800 /dev/zero | tr "\0" "x" | fold -w 76; } >big.eml &&
	run 0 crm-import bounces <big.eml &&
	expect_eq "applied|hard|5.1.1" "$(decision)" &&
	expect_eq "$(wc -c <big.eml | tr -d " ")" "$(sql "SELECT length(raw) FROM inbound ORDER BY id DESC LIMIT 1")"
'

test_expect 'crm-report export inbound: every report read, the quarantined ones by their decision' '
	run 0 crm-report export inbound -f csv &&
	expect_eq "$(sql "SELECT count(*) FROM inbound")" "$(($(wc -l <out) - 1))" &&
	head -1 out >h.txt &&
	expect_eq "inbound,received_at,origin,kind,status,decision,reason,address,diagnostic,campaign,message_id,customer_id,raw_bytes,customer_key" "$(cat h.txt)" &&
	expect_eq "$(sql "SELECT count(*) FROM inbound WHERE decision = '\''quarantined'\''")" \
		"$(awk -F, "\$6 == \"quarantined\"" out | wc -l | tr -d " ")" &&
	run 0 crm-report export inbound -f jsonl --where "id = \"A\"" &&
	expect_eq 2 "$(wc -l <out | tr -d " ")" &&
	expect_grep "\"campaign\":\"spring\"" out
'

test_expect 'usage: a missing path, options of other kinds, --dry-run' '
	run 1 crm-import bounces no-such-box &&
	expect_grep "no-such-box: cannot open" err &&
	run 2 crm-import --map a=b bounces box &&
	expect_grep "bounces takes only --mbox, --envelope-to, --quarantine and --batch" err &&
	run 2 crm-import --dry-run bounces box &&
	expect_grep "bounces has no --dry-run" err &&
	conf soft_limit=many &&
	run 1 crm-import bounces box &&
	expect_grep "crm.conf: [bounces] soft_limit = \"many\": expected a whole number from 0 to 1000" err &&
	conf soft_limit=2 soft_days=30
'

test_expect 'erasing a customer clears their reports'\'' raw text and addresses, keeps the decisions' '
	a=$(cust A id) &&
	printf "id\nA\n" >erase.csv &&
	run 0 crm-import erase erase.csv &&
	expect_eq "applied|hard|hard bounce 5.1.1: the address is suppressed" \
		"$(sql "SELECT decision, kind, reason FROM inbound WHERE customer_id = $a ORDER BY id LIMIT 1")" &&
	expect_eq 0 "$(sql "SELECT count(*) FROM inbound WHERE customer_id = $a
		AND (raw IS NOT NULL OR address IS NOT NULL OR diagnostic IS NOT NULL)")" &&
	expect_eq 2 "$(sql "SELECT count(*) FROM inbound WHERE customer_id = $a")" &&
	expect_eq 0 "$(sql "SELECT count(*) FROM inbound WHERE address = '\''anna.petrova@example.net'\''")"
'

test_expect 'integrity: the base is consistent after it all' '
	expect_eq ok "$(sql "PRAGMA integrity_check")" &&
	expect_eq "" "$(sql "PRAGMA foreign_key_check")"
'

test_done
