#!/bin/sh
# crm-send's policy against a real SMTP server: control groups, variants,
# caps, quiet hours, consent withdrawn during a run, header and envelope
# injection, secrets.
. "$CRM_TOP/tests/lib.sh"

start_smtpd --auth crmuser:s3cret-Pa55 || exit 1
CRM_SMTP_PASSWORD=s3cret-Pa55
export CRM_SMTP_PASSWORD

cat >crm.conf <<EOF_
[smtp]
url = smtp://127.0.0.1:$SMTP_PORT
user = crmuser
password_env = CRM_SMTP_PASSWORD
[email]
from = Shop <shop@example.com>
EOF_
chmod 600 crm.conf

printf 'Subject: Hi {{first_name}}\n\nHello {{first_name}}, variant {{variant}}.\n' >a.tmpl
printf 'Subject: Hey {{first_name}}\n\nHey {{first_name}}, variant {{variant}}.\n' >b.tmpl

test_expect 'setup: 200 customers with e-mail consent' '
	awk "BEGIN { print \"id,email,first_name,email_consent\";
		for (i = 1; i <= 200; i++) printf \"K%03d,k%03d@example.com,Name%d,yes\n\", i, i, i }" >many.csv &&
	crm-import customers many.csv 2>/dev/null &&
	expect_eq 200 "$(sql "SELECT count(*) FROM customers")"
'

# The documented rule: control when the first 13 hex digits of
# SHA-256(campaign NUL "control" NUL id), divided by 16^13, are below P%.
test_expect '--control 20%: the documented deterministic group, never sent' '
	crm-segment --no-input -f csv --fields id "email is not null" >all.csv &&
	run 0 crm-send --campaign ctl --channel email --template a.tmpl --control 20% -f csv all.csv &&
	"$PY" -c "
import hashlib
n = 0
for i in range(1, 201):
    h = hashlib.sha256(b\"ctl\0control\0K%03d\" % i).hexdigest()
    if int(h[:13], 16) / 16**13 * 100 < 20: print(\"K%03d\" % i)
" >want &&
	grep ",control," out | cut -d, -f1 | sort >got &&
	expect_same want got &&
	test "$(wc -l <got)" -ge 25 && test "$(wc -l <got)" -le 55 &&
	expect_eq $((200 - $(wc -l <got))) "$(spooled)" &&
	for id in $(cat got); do
		test "$(spooled_to "$(echo "$id" | tr K k)@")" = 0 || { echo "$id was sent"; exit 1; }
	done
'

test_expect 'the control group cannot change in a later run of the campaign' '
	run 2 crm-send --campaign ctl --channel email --template a.tmpl --control 30% all.csv &&
	expect_grep "other --control or --variant settings" err
'

test_expect 'variants split by weight, deterministically, each its own template' '
	head -41 all.csv >forty.csv &&
	run 0 crm-send --campaign ab --channel email --variant A=a.tmpl --variant B=b.tmpl:3 -f csv forty.csv &&
	a=$(grep -c ",A\$" out) && b=$(grep -c ",B\$" out) &&
	expect_eq 40 $((a + b)) && test "$b" -gt "$a" &&
	f=$(grep -l "variant B" spool/*.eml | head -1) && grep -q "^Subject: Hey" "$f" &&
	f=$(grep -l "variant A" spool/*.eml | head -1) && grep -q "^Subject: Hi" "$f"
'

test_expect '--cap 1/7d: a second campaign within a week is deferred (t0606), not after' '
	printf "id\nK001\n" >one.csv &&
	run 0 crm-send --campaign cap1 --channel email --template a.tmpl --cap 1/7d -f csv one.csv &&
	expect_grep "K001,email,deferred,cap (until " out &&
	run 0 crm-send --campaign cap2 --channel email --template a.tmpl --cap 1/7d --now "2026-12-05 12:00" -f csv one.csv &&
	expect_grep "K001,email,sent" out
'

test_expect 'quiet hours in the customer time zone: deferred, then sent by --retry' '
	sql "UPDATE customers SET timezone = '\''Europe/Moscow'\'' WHERE external_id = '\''K150'\''" &&
	sql "UPDATE customers SET timezone = '\''America/New_York'\'' WHERE external_id = '\''K151'\''" &&
	printf "id\nK150\nK151\n" >tz.csv &&
	# 19:30 UTC is 22:30 in Moscow (quiet) and 14:30 in New York
	run 0 crm-send --campaign tz --channel email --template a.tmpl --quiet-hours 21:00-09:00 \
		--now "2026-11-23 19:30" -f csv tz.csv &&
	expect_grep "K150,email,deferred,quiet_hours (until 2026-11-24 06:00:00)" out &&
	expect_grep "K151,email,sent" out &&
	run 0 crm-send --campaign tz --channel email --template a.tmpl --quiet-hours 21:00-09:00 \
		--now "2026-11-24 05:00" --retry -f csv &&
	expect_eq "id,channel,status,reason,provider_id,message_id,variant" "$(cat out)" &&
	run 0 crm-send --campaign tz --channel email --template a.tmpl --quiet-hours 21:00-09:00 \
		--now "2026-11-24 06:01" --retry -f csv &&
	expect_grep "K150,email,sent" out
'

test_expect 'a consent withdrawn during the run is honoured from the next batch' '
	printf "id\nK160\nK161\nK162\nK163\nK164\nK165\nK166\nK167\n" >slow.csv &&
	printf "customer_id,channel,granted,recorded_at\nK167,email,no,2026-11-23 12:00:00\n" >revoke.csv &&
	( sleep 1; crm-import consents revoke.csv 2>/dev/null ) &
	crm-send --campaign slow --channel email --template a.tmpl --rate 2/s -f csv slow.csv >out 2>err &&
	wait &&
	expect_grep "K160,email,sent" out &&
	expect_grep "K167,email,suppressed,no_consent" out
'

test_expect 'a name with CR/LF cannot add a header' '
	sql "UPDATE customers SET first_name = '\''Eve'\'' || char(13, 10) || '\''Bcc: evil@example.com'\'' WHERE external_id = '\''K170'\''" &&
	printf "id\nK170\n" | crm-send --campaign inj --channel email --template a.tmpl -f csv >out 2>err &&
	expect_grep "K170,email,sent" out &&
	f=$(grep -l "^Subject: Hi Eve" spool/*.eml) &&
	"$PY" - "$f" >parsed <<-EOF_ &&
	import sys, email, email.policy
	raw = open(sys.argv[1], "rb").read().split(b"\r\n", 2)[2]
	m = email.message_from_bytes(raw, policy=email.policy.default)
	print(m["Subject"]); print(m["Bcc"]); print(len(m.keys()))
	EOF_
	expect_eq "Hi Eve  Bcc: evil@example.com" "$(sed -n 1p parsed)" &&
	expect_eq None "$(sed -n 2p parsed)" &&
	expect_eq 0 "$(grep -c "evil@example.com" spool/log)"
'

test_expect 'an address with CR/LF in the base never reaches the SMTP dialogue' '
	sql "UPDATE customers SET email = '\''k171@example.com'\'' || char(13, 10) || '\''RCPT TO:<evil@example.com>'\'' WHERE external_id = '\''K171'\''" &&
	printf "id\nK171\n" | crm-send --campaign inj2 --channel email --template a.tmpl -f csv >out 2>err &&
	expect_grep "K171,email,suppressed,invalid_address" out &&
	expect_eq 0 "$(grep -c "evil" spool/log)"
'

test_expect 'the password is on no output, not even the SMTP dialogue (-vvvv)' '
	printf "id\nK180\n" | crm-send -vvvv --campaign sec --channel email --template a.tmpl >out 2>err &&
	expect_grep "K180,email,sent" out &&
	expect_grep "> AUTH" err &&
	expect_no_grep "s3cret-Pa55" out && expect_no_grep "s3cret-Pa55" err &&
	expect_no_grep "$(printf "\0crmuser\0s3cret-Pa55" | base64)" err &&
	expect_no_grep "s3cret" crm.db
'

test_expect 'a readable config file holding a secret is refused' '
	sed "s/password_env = CRM_SMTP_PASSWORD/password = s3cret-Pa55/" crm.conf >open.conf &&
	chmod 644 open.conf &&
	printf "id\nK181\n" | run 1 crm-send --config open.conf --campaign sec2 --channel email --template a.tmpl &&
	expect_grep "open.conf: [smtp] password is a secret, but others can read the file (mode 0644)" err &&
	expect_no_grep "s3cret-Pa55" err &&
	chmod 600 open.conf &&
	printf "id\nK181\n" | crm-send --config open.conf --campaign sec2 --channel email --template a.tmpl -f csv >out 2>err &&
	expect_grep "K181,email,sent" out
'

test_expect 'a wrong password stops the run; the messages stay due' '
	printf "id\nK190\nK191\n" >two.csv &&
	before=$(spooled) &&
	export CRM_SMTP_PASSWORD=wrong &&
	run 1 crm-send --campaign auth --channel email --template a.tmpl -f csv two.csv &&
	export CRM_SMTP_PASSWORD=s3cret-Pa55 &&
	expect_grep "stopped: 535 5.7.8 Authentication credentials invalid (after AUTH)" err &&
	expect_eq "$before" "$(spooled)" &&
	expect_eq "deferred|deferred" "$(sql "SELECT group_concat(status, '\''|'\'') FROM messages m JOIN campaigns k ON k.id = m.campaign_id WHERE k.name = '\''auth'\''")" &&
	expect_eq "0|0" "$(sql "SELECT group_concat(attempts, '\''|'\'') FROM messages m JOIN campaigns k ON k.id = m.campaign_id WHERE k.name = '\''auth'\''")"
'

test_expect 'stopped runs spend no attempt: with --max-attempts 1, three more of them fail nothing' '
	export CRM_SMTP_PASSWORD=wrong &&
	for i in 1 2 3; do
		run 1 crm-send --campaign auth --channel email --template a.tmpl --retry --max-attempts 1 -f csv || exit 1
	done &&
	export CRM_SMTP_PASSWORD=s3cret-Pa55 &&
	expect_eq "deferred:0|deferred:0" "$(sql "SELECT group_concat(status || '\'':'\'' || attempts, '\''|'\'') FROM messages m JOIN campaigns k ON k.id = m.campaign_id WHERE k.name = '\''auth'\''")" &&
	run 0 crm-send --campaign auth --channel email --template a.tmpl --retry -f csv &&
	expect_grep "K190,email,sent" out && expect_grep "K191,email,sent" out &&
	expect_eq "sent:1|sent:1" "$(sql "SELECT group_concat(status || '\'':'\'' || attempts, '\''|'\'') FROM messages m JOIN campaigns k ON k.id = m.campaign_id WHERE k.name = '\''auth'\''")"
'

test_done
