#!/bin/sh
# The whole loop through a real MTA: crm-send with [tracking] hands the
# campaign to Debian's Postfix, which relays it to the final server
# (aiosmtpd); the delivered message is parsed with Python's email
# package, and its links, pixel and List-Unsubscribe are followed with
# curl against crm-track, which records a person's click, an open and the
# one-click unsubscribe for the right customer and campaign.
. "$CRM_TOP/tests/lib.sh"

unset CRM_NOW
start_smtpd || exit 1
PF_PORT=$(free_port)
start_postfix "$PF_PORT" "$SMTP_PORT"
case $? in
0) ;;
2)	echo "ok 1 # skip needs root and Debian's postfix (make deps-test)"
	test_done ;;
*)	exit 1 ;;
esac
TRACK_WANT_PORT=$(free_port)
cat >crm.conf <<EOF_
[smtp]
url = smtp://127.0.0.1:$PF_PORT
timeout = 10
[email]
from = Shop <shop@example.com>
[tracking]
url = http://127.0.0.1:$TRACK_WANT_PORT
opens = yes
# the test clicks at once; a person is not that fast, so say so
machine_seconds = 0
EOF_
chmod 600 crm.conf
cat >m.tmpl <<'EOF_'
Subject: Hi {{first_name}}

Hello {{first_name}}, the sale: https://shop.example/sale?c=1&d=2
--- html ---
<p>Hello {{first_name}}, <a href="https://shop.example/sale?c=1&amp;d=2">the sale</a>
and <a href="https://shop.example/new">what is new</a>.</p>
EOF_
start_track
printf 'id,email,first_name,email_consent\nQ1,q1@example.com,Ann,yes\nQ2,q2@example.com,Bob,yes\n' >c.csv
crm-import customers c.csv 2>/dev/null

test_expect 'two messages through Postfix reach the final server' '
	run 0 crm-send --campaign loop --channel email --template m.tmpl -f csv c.csv &&
	expect_grep "2 planned, 2 sent" err &&
	i=0 &&
	while [ "$(ls "$SPOOL"/*.eml 2>/dev/null | wc -l)" -lt 2 ] && [ $i -lt 600 ]; do
		sleep 0.1; i=$((i + 1))
	done &&
	expect_eq 2 "$(ls "$SPOOL"/*.eml | wc -l | tr -d " ")"
'

test_expect 'the delivered message'"'"'s links, pixel and unsubscribe work and are recorded' '
	f=$(grep -l "^X-Test-Rcpt: q1@example.com" "$SPOOL"/*.eml) &&
	"$PY" - "$f" >links.txt <<-PYEOF &&
	import email, email.policy, re, sys
	raw = open(sys.argv[1], "rb").read().split(b"\n", 2)[2]
	m = email.message_from_bytes(raw, policy=email.policy.default)
	html = m.get_body(("html",)).get_content()
	text = m.get_body(("plain",)).get_content()
	hrefs = [h.replace("&amp;", "&") for h in re.findall(r"href=\"([^\"]+)\"", html)]
	print(hrefs[0])
	print(re.findall(r"src=\"([^\"]+\.gif)\"", html)[0])
	print(m["List-Unsubscribe"].strip("<>"))
	print(re.findall(r"https?://\S+/c/\S+", text)[0])
	PYEOF
	click=$(sed -n 1p links.txt) pixel=$(sed -n 2p links.txt) unsub=$(sed -n 3p links.txt) &&
	textclick=$(sed -n 4p links.txt) &&
	case $click in "$TRACK"/c/*) ;; *) echo "not a tracked link: $click"; false;; esac &&
	UA="Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0" &&
	expect_eq "302 https://shop.example/sale?c=1&d=2" \
		"$(curl -s -o /dev/null -A "$UA" -w "%{http_code} %{redirect_url}" "$click")" &&
	expect_eq "302 https://shop.example/sale?c=1&d=2" \
		"$(curl -s -o /dev/null -A "$UA" -w "%{http_code} %{redirect_url}" "$textclick")" &&
	expect_eq 200 "$(curl -s -o /dev/null -A "$UA" -w "%{http_code}" "$pixel")" &&
	expect_eq 200 "$(curl -s -o /dev/null -w "%{http_code}" -X POST -d List-Unsubscribe=One-Click "$unsub")" &&
	c=$(sql "SELECT id FROM customers WHERE external_id = '"'Q1'"'") &&
	expect_eq "clicked 1 loop|clicked 1 loop|opened 1 loop|unsubscribed 1 loop" \
		"$(sql "SELECT group_concat(x, '"'|'"') FROM (SELECT type || '"' '"' || coalesce(json_extract(props, '"'$.link'"'), 1) || '"' '"' || campaign AS x
			FROM events WHERE customer_id = $c ORDER BY type, id)")" &&
	expect_eq 0 "$(sql "SELECT count(*) FROM events WHERE machine IS NOT NULL")" &&
	expect_eq "0 one-click" "$(sql "SELECT granted || '"' '"' || source FROM consents WHERE customer_id = $c ORDER BY id DESC LIMIT 1")"
'

test_expect 'the campaign report counts the person'"'"'s click and open, and the unsubscribe' '
	crm-report -f csv campaign loop >rep.csv &&
	expect_eq "1 1 1" "$(awk -F, "NR == 1 { for (i = 1; i <= NF; i++) h[\$i] = i; next }
		\$1 == \"treatment\" { print \$h[\"opened\"], \$h[\"clicked\"], \$h[\"unsubscribed\"] }" rep.csv)"
'

test_done
