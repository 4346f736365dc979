#!/bin/sh
# crm-send over SMTP to a real server (aiosmtpd on 127.0.0.1): exactly
# once across re-runs, policy, bounces, retries, in-doubt messages, and
# messages that parse back to what was meant.
. "$CRM_TOP/tests/lib.sh"

start_smtpd || exit 1

cat >crm.conf <<EOF_
[smtp]
url = smtp://127.0.0.1:$SMTP_PORT
[email]
from = Shop <shop@example.com>
[unsubscribe]
url = https://shop.example/unsubscribe
EOF_
chmod 600 crm.conf

cat >people.csv <<'EOF_'
id,email,first_name,timezone,email_consent
P1,ann@example.com,Анна,Europe/Moscow,yes
P2,bob@example.com,Bob,America/New_York,yes
P3,cem@example.com,Cem,Europe/Istanbul,yes
P4,nocon@example.com,Nora,,no
P5,bounce@example.com,Bea,,yes
P6,flaky@example.com,Fay,,yes
P7,drop@example.com,Dan,,yes
EOF_

cat >hello.tmpl <<'EOF_'
Subject: {{first_name|default:"Друг"}}, скидка 10% 🎁 для вас
X-Campaign-Tag: {{campaign}}

Hello {{first_name|default:"friend"}}!
Unsubscribe: {{unsubscribe_url}}
--- html ---
<p>Hello <b>{{first_name}}</b>!</p>
<p><a href="{{unsubscribe_url}}">unsubscribe</a></p>
EOF_

send() { crm-send --campaign "${CAMPAIGN:-hello}" --channel email --template hello.tmpl \
	--backoff 0.1 --max-wait 5 -f csv "$@"; }

test_expect 'setup' '
	crm-import customers people.csv 2>/dev/null &&
	expect_eq 7 "$(sql "SELECT count(*) FROM customers")"
'

test_expect 'one message per recipient; bounce, consent and flaky handled' '
	printf "id\nP1\nP2\nP3\nP4\nP5\nP6\n" >r1.csv &&
	run 0 send r1.csv &&
	expect_eq "P1,sent
P2,sent
P3,sent
P4,suppressed,no_consent
P5,bounced,550 5.1.1 no such user (after RCPT)
P6,sent" "$(cut -d, -f1,3,4 out | tail -n +2 | sed "s/,$//" | sort)" &&
	expect_eq 4 "$(spooled)" &&
	expect_grep "6 planned, 4 sent, 0 control, 1 suppressed, 0 deferred, 1 bounced, 0 failed, 0 in doubt" err
'

test_expect 're-running the same command sends nothing again' '
	run 0 send r1.csv &&
	expect_eq "id,channel,status,reason,provider_id,message_id,variant" "$(cat out)" &&
	expect_eq 4 "$(spooled)"
'

test_expect 'the bounce suppressed the address for the next campaign' '
	printf "id\nP5\n" | CAMPAIGN=next send >out 2>err &&
	expect_grep "P5,email,suppressed,bounced" out &&
	expect_eq 1 "$(sql "SELECT count(*) FROM address_suppressions WHERE reason = '\''bounced'\''")" &&
	expect_eq 0 "$(sql "SELECT count(*) FROM address_suppressions WHERE hash LIKE '\''%@%'\''")"
'

test_expect 'the messages parse: subject, parts, unsubscribe headers, Message-ID' '

	f=$(grep -l "^X-Test-Rcpt: ann@example.com" spool/*.eml) &&
	"$PY" - "$f" >parsed <<-EOF_ &&
	import sys, email, email.policy
	raw = open(sys.argv[1], "rb").read().split(b"\r\n", 2)[2]
	m = email.message_from_bytes(raw, policy=email.policy.default)
	print(m["Subject"])
	print(m.get_content_type())
	print([p.get_content_type() for p in m.iter_parts()])
	print(m["List-Unsubscribe-Post"])
	print(m["List-Unsubscribe"].startswith("<https://shop.example/unsubscribe?m="))
	print(m["Message-ID"])
	print(m["X-Campaign-Tag"])
	print(m.get_body(("plain",)).get_content().splitlines()[0])
	head, body = raw.split(b"\r\n\r\n", 1)
	print(max(len(l) for l in raw.split(b"\r\n")))
	print(max(len(l) for l in body.split(b"\r\n")))
	print(b"\n" not in raw.replace(b"\r\n", b""))
	EOF_
	expect_eq "Анна, скидка 10% 🎁 для вас" "$(sed -n 1p parsed)" &&
	expect_eq "multipart/alternative" "$(sed -n 2p parsed)" &&
	expect_eq "['\''text/plain'\'', '\''text/html'\'']" "$(sed -n 3p parsed)" &&
	expect_eq "List-Unsubscribe=One-Click" "$(sed -n 4p parsed)" &&
	expect_eq True "$(sed -n 5p parsed)" &&
	expect_eq "$(sql "SELECT m.message_id FROM messages m JOIN customers c ON c.id = m.customer_id WHERE c.external_id = '\''P1'\''")" "$(sed -n 6p parsed)" &&
	expect_eq hello "$(sed -n 7p parsed)" &&
	expect_eq "Hello Анна!" "$(sed -n 8p parsed)" &&
	test "$(sed -n 9p parsed)" -le 998 &&
	test "$(sed -n 10p parsed)" -le 76 &&
	expect_eq True "$(sed -n 11p parsed)"
'

test_expect 'a lost reply after the final dot is in_doubt, and not sent again' '
	printf "id\nP7\n" | CAMPAIGN=drop send >out 2>err ;
	expect_grep "P7,email,in_doubt,no reply after the message was sent" out &&
	expect_eq 1 "$(spooled_to drop@example.com)" &&
	printf "id\nP7\n" | CAMPAIGN=drop send >out 2>err &&
	expect_eq 1 "$(spooled_to drop@example.com)" &&
	CAMPAIGN=drop send --retry >out 2>err &&
	expect_eq 1 "$(spooled_to drop@example.com)"
'

test_expect '--resend-in-doubt sends it again with the same Message-ID' '
	CAMPAIGN=drop send --retry --resend-in-doubt >out 2>err ;
	expect_eq 2 "$(spooled_to drop@example.com)" &&
	expect_eq 1 "$(grep -h "^Message-ID:" $(grep -l "^X-Test-Rcpt: drop@" spool/*.eml) | sort -u | wc -l | tr -d " ")"
'

test_expect 'a template error is reported before the configuration is needed' '
	printf "Subject: {{frist_name}}\n\nhi\n" >bad.tmpl &&
	: >empty.conf &&
	printf "id\nP1\n" | run 2 crm-send --config empty.conf --campaign bad --channel email --template bad.tmpl &&
	expect_eq "crm-send: bad.tmpl:1:12: unknown field \"frist_name\"; did you mean \"first_name\"?" "$(cat err)" &&
	expect_eq 0 "$(sql "SELECT count(*) FROM campaigns WHERE name = '\''bad'\''")" &&
	printf "Subject: hi\n\nhi\n" >ok.tmpl &&
	printf "id\nP1\n" | run 1 crm-send --config empty.conf --campaign bad --channel email --template ok.tmpl &&
	expect_grep "empty.conf: no [smtp] url" err
'

test_done
