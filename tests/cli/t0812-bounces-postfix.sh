#!/bin/sh
# The whole return path through Debian's Postfix (issue 14): crm-send
# hands a campaign to Postfix with VERP envelope senders; Postfix relays it
# to the final server (aiosmtpd), which refuses one recipient (550 5.1.1);
# Postfix writes a real DSN to bounces+TOKEN@shop.example and delivers it
# through a pipe transport (master.cf, as examples/postfix-bounces.cf
# shows) to crm-import bounces; the address is then suppressed. A base
# that is locked when the DSN comes (CRM_BUSY_TIMEOUT=1 in the pipe's
# environment) makes the pipe exit 75: Postfix defers
# the DSN and delivers it again once the base is free.
. "$CRM_TOP/tests/lib.sh"

unset CRM_NOW	# the pipe's crm-import runs on the clock: so does all here
start_smtpd || exit 1
PF_PORT=$(free_port)
# the base lives where the pipe's user (nobody) may write it
mkdir db
CRM_DB=$TEST_DIR/db/crm.db
export CRM_DB
# and runs a copy of crm-import: nobody may not reach the tree's (a clone
# in root's home, 0700 on Debian, as a new user makes it)
mkdir pipe && cp "$CRM_BIN/crm-import" pipe/ && chmod 755 pipe pipe/crm-import
POSTFIX_MASTER_EXTRA="crmbounce unix - n n - - pipe flags=R user=nobody
  argv=$TEST_DIR/pipe/crm-import --db $CRM_DB --envelope-to \${original_recipient} bounces"
start_postfix "$PF_PORT" "$SMTP_PORT" \
	"transport_maps = inline:{shop.example=crmbounce:}" \
	"crmbounce_destination_recipient_limit = 1" \
	"import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C CRM_BUSY_TIMEOUT=1" \
	"export_environment = TZ MAIL_CONFIG LANG CRM_BUSY_TIMEOUT" \
	"bounce_queue_lifetime = 1h" "minimal_backoff_time = 2s" "maximal_backoff_time = 4s" \
	"queue_run_delay = 2s" "defer_transports = smtp"
case $? in
0) ;;
2)	echo "ok 1 # skip needs root and Debian's postfix (make deps-test)"
	test_done ;;
*)	exit 1 ;;
esac
cat >crm.conf <<EOF_
[smtp]
url = smtp://127.0.0.1:$PF_PORT
timeout = 10
[email]
from = Shop <shop@shop.example>
envelope_from = bounces@shop.example
EOF_
chmod 600 crm.conf
printf 'Subject: Winter sale\n\nHello {{first_name}}.\n' >m.tmpl

# flush: Postfix relays what crm-send handed it (defer_transports holds it
# until then, so that a test decides when the DSN comes)
flush() { postqueue -c "$TEST_DIR/postfix/etc" -f; }
# flush_until COND: flushes every second until COND holds (a message that
# reached the queue manager after a flush waits for the next one)
flush_until() {
	_k=60
	until eval "$1"; do
		_k=$((_k - 1))
		[ $_k -gt 0 ] || { echo "timed out waiting for: $1"; tail -20 "$POSTFIX_LOG"; return 1; }
		flush
		sleep 1
	done
}
# wait_for COND [SECONDS]: polls the shell condition until it holds
wait_for() {
	_n=$(( ${2:-30} * 10 ))
	until eval "$1"; do
		_n=$((_n - 1))
		[ $_n -gt 0 ] || { echo "timed out waiting for: $1"; tail -20 "$POSTFIX_LOG"; return 1; }
		sleep 0.1
	done
}
status() {
	sql "SELECT m.status || ':' || coalesce(m.reason, '') FROM messages m JOIN customers c ON c.id = m.customer_id
	     JOIN campaigns k ON k.id = m.campaign_id WHERE c.external_id = '$1' AND k.name = '$2'"
}

test_expect 'setup: three customers, the base writable by the pipe'\''s user' '
	printf "id,email,first_name,email_consent\nK1,kate@example.org,Kate,yes\nK2,bounce.ken@example.org,Ken,yes\nK3,bounce.kim@example.org,Kim,yes\n" >c.csv &&
	crm-import --now "2026-11-01 00:00:00" customers c.csv 2>/dev/null &&
	chown -R nobody:nogroup db && chmod 700 db
'

test_expect 'crm-send through Postfix: accepted for all; the refused recipient comes back as a DSN, piped to crm-import bounces' '
	printf "id\nK1\nK2\n" >to.csv &&
	run 0 crm-send --campaign winter --channel email --template m.tmpl -f csv to.csv &&
	expect_eq "sent: sent:" "$(echo $(status K1 winter | cut -c1-5) $(status K2 winter | cut -c1-5))" &&
	flush_until "[ \"\$(sql \"SELECT count(*) FROM inbound\")\" = 1 ]" &&
	expect_eq 1 "$(spooled_to kate@example.org)" &&
	expect_eq "applied|hard|5.1.1" "$(sql "SELECT decision || '\''|'\'' || kind || '\''|'\'' || status FROM inbound")" &&
	expect_eq "stdin|$(sql "SELECT id FROM customers WHERE external_id = '\''K2'\''")" \
		"$(sql "SELECT origin, customer_id FROM inbound")" &&
	expect_grep "Undelivered Mail Returned to Sender" "$(sql "SELECT raw FROM inbound" >raw.eml; echo raw.eml)" &&
	expect_grep "bounce.ken@example.org" raw.eml &&
	grep -q "to=<bounces+$(sql "SELECT m.id FROM messages m JOIN customers c ON c.id = m.customer_id
		WHERE c.external_id = '\''K2'\''")-[0-9a-f]*@shop.example>.*relay=crmbounce.*status=sent" "$POSTFIX_LOG"
'

test_expect 'the next campaign suppresses the bounced address, not the others' '
	run 0 crm-send --campaign spring --channel email --template m.tmpl -f csv to.csv &&
	expect_eq "suppressed:bounced" "$(status K2 spring)" &&
	expect_eq "sent" "$(status K1 spring | cut -d: -f1)"
'

test_expect 'crm-report deliverability counts the late bounce against its campaign' '
	run 0 crm-report deliverability -f csv &&
	expect_eq "2 1 1" "$(echo $(col winter sent) $(col winter delivered) $(col winter hard_bounced))"
'

test_expect 'a locked base: the pipe exits 75, Postfix defers the DSN and delivers it once the base is free' '
	printf "id\nK3\n" >k3.csv &&
	run 0 crm-send --campaign k3 --channel email --template m.tmpl -f csv k3.csv &&
	n=$(sql "SELECT count(*) FROM inbound") &&
	{ "$PY" -c "
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
c.execute(\"BEGIN EXCLUSIVE\")
open(\"locked\", \"w\").close()
time.sleep(float(sys.argv[2]))
" "$CRM_DB" 8 & }
	holder=$! &&
	wait_for "[ -e locked ]" &&
	flush_until "grep -q \"relay=crmbounce.*status=deferred\" \"$POSTFIX_LOG\"" &&
	wait "$holder" &&
	wait_for "[ \"\$(sql \"SELECT count(*) FROM inbound\")\" -gt $n ]" 60 &&
	expect_eq "applied|hard" "$(sql "SELECT decision || '\''|'\'' || kind FROM inbound ORDER BY id DESC LIMIT 1")" &&
	expect_eq "$(sql "SELECT id FROM customers WHERE external_id = '\''K3'\''")" \
		"$(sql "SELECT customer_id FROM inbound ORDER BY id DESC LIMIT 1")" &&
	grep "relay=crmbounce.*status=deferred" "$POSTFIX_LOG" | grep -q "the mail server keeps it"
'

test_expect 'integrity' '
	expect_eq ok "$(sql "PRAGMA integrity_check")"
'

test_done
