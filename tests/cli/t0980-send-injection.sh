#!/bin/sh
# Header, envelope and SMTP smuggling injection against crm-send, through
# values in the base (names, attributes, addresses changed behind
# crm-import's back) and the campaign name, against a real SMTP server.
# t0605 covers a CRLF in a name (Subject) and a CRLF in an address; this
# adds bare CR and bare LF, other headers, Unicode line breaks, several
# addresses or ESMTP parameters in one address, SMTP smuggling (an end of
# data hidden in the body) and the campaign name. The property: nobody
# but the customer's own address is ever a recipient, no header appears
# that the template did not write, and one send is one message.
. "$CRM_TOP/tests/lib.sh"

start_smtpd || exit 1
cat >crm.conf <<EOF_
[smtp]
url = smtp://127.0.0.1:$SMTP_PORT
[email]
from = Shop <shop@example.com>
EOF_
chmod 600 crm.conf
printf 'Subject: Hi {{first_name}}\nReply-To: {{attr.reply}}\nX-Plan: {{attr.plan}}\n\nHello {{first_name}}.\n' >t.tmpl

# setv ID COLUMN SQL-EXPRESSION: sets a customer's column behind
# crm-import's back (as a broken import or a hand edit could)
setv() {
	sql "UPDATE customers SET $2 = $3 WHERE external_id = '$1'"
}

# headers FILE: the header names of a spooled message, one a line,
# as Python's e-mail parser reads them (X-Test-Rcpt and X-Test-From, the
# server's, left out)
headers() {
	"$PY" - "$1" <<-\EOF_
	import sys, email, email.policy
	raw = open(sys.argv[1], "rb").read().split(b"\r\n", 2)[2]
	m = email.message_from_bytes(raw, policy=email.policy.default)
	for k in m.keys():
	    print(k)
	EOF_
}

test_expect 'setup: 20 customers with e-mail consent' '
	awk "BEGIN { print \"id,email,first_name,email_consent,reply,plan\";
		for (i = 1; i <= 20; i++) printf \"J%02d,j%02d@example.com,Name%d,yes,r%d@example.com,basic\n\", i, i, i, i }" >j.csv &&
	run 0 crm-import customers j.csv &&
	printf "id\nJ20\n" | run 0 crm-send --campaign plain --channel email --template t.tmpl -f csv &&
	headers "$(grep -l "^X-Test-Rcpt: j20@" spool/*.eml)" | sort >plain.headers &&
	expect_grep "Reply-To" plain.headers &&
	expect_grep "X-Plan" plain.headers
'

test_expect 'bare LF, bare CR, CRLF, NEL and U+2028 in names and attributes never add a header' '
	setv J01 first_name "'\''Eve'\'' || char(10) || '\''Bcc: evil1@example.com'\''" &&
	setv J02 first_name "'\''Eve'\'' || char(13) || '\''Bcc: evil2@example.com'\''" &&
	setv J03 attrs "json_object('\''reply'\'', '\''r@example.com'\'' || char(13, 10) || '\''Bcc: evil3@example.com'\'', '\''plan'\'', '\''x'\'')" &&
	setv J04 attrs "json_object('\''reply'\'', '\''r@example.com'\'', '\''plan'\'', '\''x'\'' || char(10, 10) || '\''Bcc: evil4@example.com'\'')" &&
	setv J05 first_name "'\''Eve'\'' || char(133) || '\''Bcc: evil5@example.com'\''" &&
	setv J06 first_name "'\''Eve'\'' || char(8232) || '\''Bcc: evil6@example.com'\'' || char(8233)" &&
	setv J07 first_name "'\''Eve'\'' || char(13, 10, 9) || '\''continued'\'' || char(13, 10) || char(13, 10) || '\''body?'\''" &&
	printf "id\nJ01\nJ02\nJ03\nJ04\nJ05\nJ06\nJ07\n" | run 3 crm-send --campaign hdr --channel email --template t.tmpl -f csv &&
	expect_eq 6 "$(grep -c ",email,sent," out)" &&
	# a Reply-To that is not one address is refused, not cleaned
	expect_grep "J03,email,failed,invalid Reply-To address," out &&
	for i in 1 2 4 5 6 7; do
		f=$(grep -l "^X-Test-Rcpt: j0$i@" spool/*.eml) &&
		headers "$f" | sort >h.$i &&
		expect_same plain.headers h.$i &&
		expect_eq 1 "$(grep -c "^Subject:" "$f")" || return 1
	done &&
	expect_eq 0 "$(grep -c "evil" spool/log)"
'

test_expect 'an address with several recipients or ESMTP parameters reaches nobody else' '
	setv J08 email "'\''j08@example.com,evil8@example.com'\''" &&
	setv J09 email "'\''j09@example.com evil9@example.com'\''" &&
	setv J10 email "'\''<evil10@example.com>'\''" &&
	setv J11 email "'\''j11@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;evil11@example.com'\''" &&
	setv J12 email "'\''j12@example.com'\'' || char(9) || '\''SIZE=1'\''" &&
	setv J13 email "'\''j13@example.com'\'' || char(0) || '\''evil13@example.com'\''" &&
	setv J14 email "'\''j14@example.com'\'' || char(10) || '\''RCPT TO:<evil14@example.com>'\''" &&
	setv J15 email "'\''j15@example.com;evil15@example.com'\''" &&
	printf "id\nJ08\nJ09\nJ10\nJ11\nJ12\nJ13\nJ14\nJ15\n" | crm-send --campaign env --channel email --template t.tmpl -f csv >out 2>err
	test $? -le 3 &&
	cat out &&
	expect_eq 0 "$(grep -c "evil" spool/log)" &&
	# the NUL ends the address SQLite hands over: j13 alone
	expect_eq 0 "$(grep -ci "evil" $(grep -l "^X-Test-Rcpt: j13@" spool/*.eml))" &&
	expect_eq 8 "$(grep -c "^J[0-9]*,email,\(sent\|suppressed,invalid_address\)," out)" &&
	expect_eq "" "$(sql "SELECT m.status FROM messages m JOIN campaigns k ON k.id = m.campaign_id WHERE k.name = '\''env'\'' AND m.status NOT IN ('\''sent'\'', '\''suppressed'\'')")"
'

test_expect 'SMTP smuggling: an end of data hidden in a name is body text, one message' '
	before=$(spooled) &&
	for e in "13, 10, 46, 13, 10" "10, 46, 10" "10, 46, 13, 10" "13, 10, 46, 10" "13, 46, 13"; do
		setv J16 first_name "'\''Sam'\'' || char($e) || '\''MAIL FROM:<evil@example.com>'\'' || char(13, 10) ||
			'\''RCPT TO:<smuggled@example.com>'\'' || char(13, 10) || '\''DATA'\'' || char(13, 10) ||
			'\''Subject: smuggled'\'' || char(13, 10, 13, 10) || '\''x'\'' || char($e)" &&
		printf "id\nJ16\n" | run 0 crm-send --campaign "smug $e" --channel email --template t.tmpl -f csv &&
		expect_grep "J16,email,sent," out || return 1
	done &&
	expect_eq $((before + 5)) "$(spooled)" &&
	expect_eq 0 "$(grep -c "smuggled\|evil" spool/log)" &&
	expect_eq 5 "$(grep -l "^X-Test-Rcpt: j16@" spool/*.eml | wc -l | tr -d " ")" &&
	# the lines are in the body (bare CR and LF made CRLF, a lone
	# dot stuffed on the wire), the headers those of the template
	for f in $(grep -l "^X-Test-Rcpt: j16@" spool/*.eml); do
		headers "$f" | sort >h.16 &&
		expect_same plain.headers h.16 || return 1
	done
'

test_expect 'a campaign name with CR/LF: refused, or never a header of its own' '
	printf "id\nJ17\n" | crm-send --campaign "$(printf "c\r\nBcc: evil17@example.com")" --channel email --template t.tmpl -f csv >out 2>err
	rc=$?
	test $rc -le 3 &&
	expect_eq 0 "$(grep -c "evil" spool/log)" &&
	if f=$(grep -l "^X-Test-Rcpt: j17@" spool/*.eml); then
		headers "$f" | sort >h.17 &&
		expect_same plain.headers h.17
	else
		test $rc -ne 0 && grep -q "^crm-send: " err
	fi
'

test_done
