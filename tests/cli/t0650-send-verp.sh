#!/bin/sh
# crm-send's envelope sender with [email] envelope_from (issue 14, VERP):
# bounces+TOKEN@domain, TOKEN naming the outbox row (ID-MAC, lib/token.c)
# so that a later bounce names its message even when it quotes nothing of
# it; one per message, the From: header untouched; verp = no sends the
# plain envelope_from; a local part too long for a token is an error.
. "$CRM_TOP/tests/lib.sh"

start_smtpd || exit 1
# conf [KEY=VALUE...]: crm.conf with the given [email] keys
conf() {
	{
		printf '[smtp]\nurl = smtp://127.0.0.1:%s\n[email]\nfrom = Shop <shop@example.com>\n' \
			"$SMTP_PORT"
		for _kv; do echo "${_kv%%=*} = ${_kv#*=}"; done
	} >crm.conf
	chmod 600 crm.conf
}
printf 'Subject: Hi\n\nHello {{first_name}}.\n' >m.tmpl

test_expect 'setup: 3 customers' '
	printf "id,email,first_name,email_consent\nV1,v1@example.com,Val,yes\nV2,v2@example.com,Vic,yes\nV3,v3@example.com,Vi,yes\n" >c.csv &&
	crm-import customers c.csv 2>/dev/null
'

# envelope ADDR: the envelope sender of the message stored for ADDR
envelope() {
	sed -n "s/^X-Test-From: //p" $(grep -l "^X-Test-Rcpt: $1" "$SPOOL"/*.eml) | tr -d "\r" | tail -n 1
}

test_expect 'envelope_from = bounces@shop.example: bounces+ID-MAC@shop.example, ID the outbox row' '
	conf envelope_from=bounces@shop.example &&
	printf "id\nV1\nV2\nV3\n" >to.csv &&
	run 0 crm-send --campaign verp --channel email --template m.tmpl -f csv to.csv &&
	for c in 1 2 3; do
		e=$(envelope v$c@example.com) &&
		id=$(sql "SELECT m.id FROM messages m JOIN customers c ON c.id = m.customer_id
			WHERE c.external_id = '\''V$c'\''") &&
		echo "$e" | grep -Eq "^bounces\+$id-[0-9a-f]{16}@shop\.example\$" ||
			{ echo "V$c: envelope $e, row $id"; exit 1; }
	done &&
	expect_eq 3 "$(for c in 1 2 3; do envelope v$c@example.com; done | sort -u | wc -l | tr -d " ")" &&
	expect_grep "From: Shop <shop@example.com>" "$(grep -l "^X-Test-Rcpt: v1@" "$SPOOL"/*.eml)"
'

test_expect 'the token is bound to the base: a copy with another secret signs the same row otherwise' '
	a=$(envelope v1@example.com) &&
	cp crm.db other.db && cp crm.conf other.conf &&
	sqlite3 other.db "UPDATE meta SET value = '\''another secret, 32 bytes long..'\'' WHERE key = '\''secret'\''" &&
	printf "id\nV1\n" | run 0 crm-send --db other.db --campaign verp2 --channel email --template m.tmpl -f csv &&
	b=$(envelope v1@example.com) &&
	echo "$a / $b" &&
	test "${a#bounces+}" != "${b#bounces+}"
'

test_expect 'verp = no: the plain envelope_from' '
	conf envelope_from=bounces@shop.example verp=no &&
	printf "id\nV2\n" | run 0 crm-send --campaign plain --channel email --template m.tmpl -f csv &&
	expect_eq "bounces@shop.example" "$(envelope v2@example.com)"
'

test_expect 'no envelope_from: the From address, as before' '
	conf &&
	printf "id\nV3\n" | run 0 crm-send --campaign nofrom --channel email --template m.tmpl -f csv &&
	expect_eq "shop@example.com" "$(envelope v3@example.com)"
'

test_expect 'a local part too long for VERP: an error before anything is planned' '
	conf envelope_from=a-very-long-bounce-mailbox-name@shop.example &&
	printf "id\nV1\n" | run 1 crm-send --campaign long --channel email --template m.tmpl &&
	expect_grep "VERP needs a local part of 1 to 27 characters before the @ (or verp = no)" err &&
	expect_eq 0 "$(sql "SELECT count(*) FROM campaigns WHERE name = '\''long'\''")"
'

test_done
