#!/bin/sh
# crm-send over TLS against real servers on 127.0.0.1 (aiosmtpd with a
# certificate made here): STARTTLS before AUTH and MAIL, SMTPS from the
# first byte; the certificate is checked (ca_file) and a server that
# cannot be trusted stops the run with nothing sent and nothing lost.
. "$CRM_TOP/tests/lib.sh"

test_expect 'setup: a certificate for 127.0.0.1' '
	openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 2 \
		-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null &&
	grep -q "BEGIN CERTIFICATE" cert.pem
'
start_server smtpd "$TEST_DIR/spool-starttls" --tls starttls --cert cert.pem --key key.pem \
	--auth crmuser:tls-Pa55 || exit 1
STARTTLS_PORT=$SERVER_PORT
start_server smtpd "$TEST_DIR/spool-smtps" --tls smtps --cert cert.pem --key key.pem || exit 1
SMTPS_PORT=$SERVER_PORT
CRM_SMTP_PASSWORD=tls-Pa55
export CRM_SMTP_PASSWORD

printf 'Subject: Hi {{first_name}}\n\nHello {{first_name}}.\n' >m.tmpl

# conf URL [KEY=VALUE...]: crm.conf for the server at URL
conf() {
	url=$1
	shift
	{
		printf '[smtp]\nurl = %s\n' "$url"
		for kv; do echo "${kv%%=*} = ${kv#*=}"; done
		printf 'timeout = 5\n[email]\nfrom = Shop <shop@example.com>\n'
	} >crm.conf
	chmod 600 crm.conf
}
# send CAMPAIGN ID: sends CAMPAIGN to customer ID
send() {
	printf 'id\n%s\n' "$2" >to.csv
	_c=$1
	shift 2
	crm-send --campaign "$_c" --channel email --template m.tmpl -f csv "$@" to.csv
}
# stored SPOOL: the number of messages the server stored
stored() { ls "$TEST_DIR/$1" 2>/dev/null | grep -c '\.eml$' || true; }

test_expect 'setup: customers' '
	printf "id,email,first_name,email_consent\nT1,t1@example.com,Tia,yes\nT2,t2@example.com,Tom,yes\nT3,t3@example.com,Ted,yes\nT4,echoauth-4@example.com,Eve,yes\n" >c.csv &&
	crm-import customers c.csv 2>/dev/null
'

test_expect 'STARTTLS with the CA: AUTH and the message go over TLS' '
	conf "smtp://127.0.0.1:$STARTTLS_PORT" starttls=yes user=crmuser \
		password_env=CRM_SMTP_PASSWORD ca_file=cert.pem &&
	run 0 send s1 T1 &&
	expect_grep "T1,email,sent," out &&
	expect_eq 1 "$(stored spool-starttls)" &&
	expect_grep "Subject: Hi Tia" "$TEST_DIR"/spool-starttls/000001.eml
'

test_expect 'a server that requires STARTTLS, asked in plain text: stopped, deferred, nothing sent' '
	conf "smtp://127.0.0.1:$STARTTLS_PORT" starttls=no user=crmuser \
		password_env=CRM_SMTP_PASSWORD &&
	run 1 send s2 T2 &&
	expect_grep "stopped:" err &&
	expect_eq deferred "$(sql "SELECT status FROM messages WHERE message_id IN
		(SELECT m.message_id FROM messages m JOIN campaigns k ON k.id = m.campaign_id WHERE k.name = '"'s2'"')")" &&
	expect_eq 1 "$(stored spool-starttls)" &&
	expect_no_grep "tls-Pa55" err
'

test_expect 'SMTPS with the CA' '
	conf "smtps://127.0.0.1:$SMTPS_PORT" ca_file=cert.pem &&
	run 0 send s3 T3 &&
	expect_grep "T3,email,sent," out &&
	expect_eq 1 "$(stored spool-smtps)"
'

test_expect 'SMTPS with a certificate nobody vouches for: stopped, nothing sent, kept for later' '
	conf "smtps://127.0.0.1:$SMTPS_PORT" &&
	run 1 send s4 T1 &&
	expect_grep "certificate" err &&
	expect_grep "deferred" out &&
	expect_eq 1 "$(stored spool-smtps)"
'

test_expect 'the same run after the CA is configured sends it (--retry)' '
	conf "smtps://127.0.0.1:$SMTPS_PORT" ca_file=cert.pem &&
	run 0 crm-send --campaign s4 --channel email --template m.tmpl --retry -f csv &&
	expect_grep "T1,email,sent," out &&
	expect_eq 2 "$(stored spool-smtps)"
'

test_expect 'insecure = yes skips the check (for a test server only)' '
	conf "smtps://127.0.0.1:$SMTPS_PORT" insecure=yes &&
	run 0 send s5 T2 &&
	expect_grep "T2,email,sent," out &&
	expect_eq 3 "$(stored spool-smtps)"
'

test_expect 'a server that repeats the login in its reply: stored and printed redacted' '
	conf "smtp://127.0.0.1:$STARTTLS_PORT" starttls=yes user=crmuser \
		password_env=CRM_SMTP_PASSWORD ca_file=cert.pem &&
	run 0 send echo T4 -vvvv &&
	expect_grep "(password [redacted], Basic [redacted], AUTH PLAIN [redacted])" out &&
	for secret in tls-Pa55 "$(printf crmuser:tls-Pa55 | base64)" \
		"$(printf "\0crmuser\0tls-Pa55" | base64)"; do
		! grep -F -e "$secret" out err || { echo "found $secret"; exit 1; }
		! sqlite3 crm.db .dump | grep -F -e "$secret" || exit 1
		! grep -a -F -e "$secret" crm.db crm.db-wal 2>/dev/null || exit 1
	done &&
	expect_grep "redacted" err
'

test_done
