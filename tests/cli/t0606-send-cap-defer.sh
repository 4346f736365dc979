#!/bin/sh
# crm-send --cap against a real SMTP server (issue 19): a message over the
# cap is deferred to the moment the cap allows it (the oldest send counted
# in the window, plus the window) and sent by a later run then, the cap
# checked again at that time; --cap-policy drop suppresses it as before.
. "$CRM_TOP/tests/lib.sh"

start_smtpd || exit 1

cat >crm.conf <<EOF_
[smtp]
url = smtp://127.0.0.1:$SMTP_PORT
[email]
from = Shop <shop@example.com>
EOF_
chmod 600 crm.conf

printf 'Subject: Hi {{first_name}}\n\nHello {{first_name}}.\n' >a.tmpl

send() { c=$1; shift; crm-send --campaign "$c" --channel email --template a.tmpl -f csv "$@"; }
# the outbox row of campaign $1 and customer $2: COLUMNS $3
row() { sql "SELECT $3 FROM messages m JOIN campaigns k ON k.id = m.campaign_id
	JOIN customers c ON c.id = m.customer_id WHERE k.name = '$1' AND c.external_id = '$2'"; }

test_expect 'setup: four customers, each sent the first campaign' '
	printf "id,email,first_name,email_consent\n" >c.csv &&
	for i in 1 2 3 4; do echo "K$i,k$i@example.com,N$i,yes" >>c.csv; done &&
	crm-import customers c.csv 2>/dev/null &&
	printf "id\nK1\nK2\nK3\nK4\n" >all.csv &&
	run 0 send first --cap 1/7d all.csv &&
	expect_eq 4 "$(grep -c ",email,sent," out)" &&
	expect_eq 4 "$(spooled)"
'

test_expect 'over the cap: deferred to the first send plus 7 days, and printed so' '
	run 0 send second --cap 1/7d --now "2026-11-25 09:00" all.csv &&
	want=$(row first K1 "datetime(sent_at, '\''+7 days'\'')") &&
	test -n "$want" &&
	expect_eq "deferred|cap|$want" "$(row second K1 "status, reason, next_at")" &&
	expect_grep "K1,email,deferred,cap (until $want)" out &&
	expect_grep "4 planned, 0 sent, 0 control, 0 suppressed, 4 deferred" err &&
	expect_eq 4 "$(spooled)"
'

test_expect 'crm-report shows the deferral: the card with its time, the campaign as pending' '
	want=$(row second K1 next_at) &&
	crm-report customer K1 -f csv >card &&
	expect_grep "message second,deferred,email treatment (cap) until $want" card &&
	crm-report campaign second -f csv >camp &&
	col=$(head -1 camp | tr , "\n" | grep -nx pending | cut -d: -f1) &&
	test -n "$col" &&
	expect_eq 4 "$(sed -n 2p camp | cut -d, -f"$col")"
'

test_expect '--retry before then sends nothing' '
	run 0 send second --retry --cap 1/7d --now "2026-11-29 12:00" &&
	expect_eq "id,channel,status,reason,provider_id,message_id,variant" "$(cat out)" &&
	expect_eq 4 "$(spooled)" &&
	expect_eq deferred "$(row second K1 status)"
'

test_expect 'a send in the meantime counts at the retry: deferred again, from that send' '
	printf "id\nK2\n" >k2.csv &&
	run 0 send other --now "2026-11-29 10:00" k2.csv &&
	expect_grep "K2,email,sent" out &&
	expect_eq 5 "$(spooled)"
'

test_expect '--retry at the deferral time sends exactly the one the cap allows' '
	next=$(row second K1 next_at) &&
	expect_eq "$next" "$(row second K3 next_at)" &&
	run 0 send second --retry --cap 1/7d --now "$next" &&
	expect_eq 3 "$(grep -c ",email,sent," out)" &&
	expect_eq 8 "$(spooled)" &&
	expect_eq 2 "$(spooled_to k1@example.com)" &&
	expect_eq "deferred|cap|2026-12-06 10:00:00" "$(row second K2 "status, reason, next_at")" &&
	expect_eq 2 "$(spooled_to k2@example.com)"
'

test_expect 'a later retry sends nothing twice, and K2 when its window ends' '
	run 0 send second --retry --cap 1/7d --now "2026-12-06 10:00" &&
	expect_eq "K2,email,sent" "$(tail -n +2 out | cut -d, -f1-3)" &&
	expect_eq 9 "$(spooled)" &&
	run 0 send second --retry --cap 1/7d --now "2026-12-20 10:00" &&
	expect_eq 1 "$(wc -l <out)" &&
	expect_eq 9 "$(spooled)"
'

test_expect '--cap 2/7d: deferred until the older of the two sends leaves the window' '
	printf "id\nK4\n" >k4.csv &&
	run 0 send k4a --now "2026-12-21 08:00" k4.csv &&
	run 0 send k4b --now "2026-12-22 09:30" k4.csv &&
	run 0 send k4c --cap 2/7d --now "2026-12-23 12:00" k4.csv &&
	expect_eq "deferred|cap|2026-12-28 08:00:00" "$(row k4c K4 "status, reason, next_at")"
'

test_expect '--cap-policy drop: suppressed with reason cap, and --retry leaves it so' '
	printf "id\nK3\n" >k3.csv &&
	run 0 send dropped --cap 1/7d --cap-policy drop --now "2026-12-01 12:00" k3.csv &&
	expect_grep "K3,email,suppressed,cap" out &&
	expect_eq "suppressed|cap|" "$(row dropped K3 "status, reason, next_at")" &&
	run 0 send dropped --retry --cap 1/7d --cap-policy drop --now "2026-12-13 12:00" &&
	expect_eq 1 "$(wc -l <out)" &&
	expect_eq suppressed "$(row dropped K3 status)"
'

test_expect 'a misspelt --cap-policy is a usage error with a suggestion' '
	run 2 send x --cap 1/7d --cap-policy dorp all.csv &&
	expect_grep "invalid --cap-policy \"dorp\" (defer or drop); did you mean \"drop\"?" err
'

# kill -9 between a claim and its outcome: a capped row is deferred in
# the claim's own transaction, so a kill leaves it planned (claimed again
# by the next run) or deferred with its time, never half done
test_expect 'kill -9 at random moments: capped rows end deferred to their time, the rest sent once' '
	awk "BEGIN { print \"id,email,first_name,email_consent\";
		for (i = 1; i <= 300; i++) printf \"Z%03d,z%03d@example.com,Zed%d,yes\n\", i, i, i }" >z.csv &&
	crm-import customers z.csv 2>/dev/null &&
	awk "BEGIN { print \"id\"; for (i = 1; i <= 300; i += 2) printf \"Z%03d\n\", i }" >odd.csv &&
	awk "BEGIN { print \"id\"; for (i = 1; i <= 300; i++) printf \"Z%03d\n\", i }" >z300.csv &&
	run 0 send zfirst --now "2027-01-10 10:00" odd.csv &&
	before=$(spooled) && i=0 && killed=0 &&
	while [ $i -lt 6 ]; do
		i=$((i + 1))
		crm-send --campaign zcap --channel email --template a.tmpl --cap 1/7d --rate 100/s \
			--now "2027-01-12 10:00" -q -f csv z300.csv >>zres.csv 2>>zerr.log &
		pid=$!
		sleep "$(awk -v s=$i "BEGIN { srand(s); printf \"%.2f\", 0.05 + rand() * 0.3 }")"
		if kill_now $pid; then killed=$((killed + 1)); fi
	done &&
	echo "$killed of 6 runs killed mid-way" && test $killed -ge 3 &&
	expect_eq ok "$(sql "PRAGMA integrity_check")" &&
	run 0 send zcap --cap 1/7d --now "2027-01-12 10:00" z300.csv &&
	expect_eq "" "$(sql "SELECT c.external_id FROM messages m JOIN campaigns k ON k.id = m.campaign_id
		JOIN customers c ON c.id = m.customer_id WHERE k.name = '\''zcap'\''
		AND CAST(substr(c.external_id, 2) AS INTEGER) % 2 = 1
		AND NOT (m.status = '\''deferred'\'' AND m.reason = '\''cap'\''
		AND m.next_at = (SELECT datetime(f.sent_at, '\''+7 days'\'') FROM messages f
			JOIN campaigns fk ON fk.id = f.campaign_id
			WHERE fk.name = '\''zfirst'\'' AND f.customer_id = m.customer_id))")" &&
	expect_eq 0 "$(sql "SELECT count(*) FROM messages m JOIN campaigns k ON k.id = m.campaign_id
		JOIN customers c ON c.id = m.customer_id WHERE k.name = '\''zcap'\''
		AND CAST(substr(c.external_id, 2) AS INTEGER) % 2 = 0
		AND m.status NOT IN ('\''sent'\'', '\''in_doubt'\'')")" &&
	expect_eq 300 "$(sql "SELECT count(*) FROM messages m JOIN campaigns k ON k.id = m.campaign_id
		WHERE k.name = '\''zcap'\''")" &&
	for a in $(awk "BEGIN { for (i = 1; i <= 300; i += 2) printf \"z%03d@example.com\n\", i }"); do
		expect_eq 1 "$(grep -c "^$a	" spool/log)" "deliveries to $a" || exit 1
	done &&
	expect_eq "" "$(cut -f1 spool/log | grep "^z" | sort | uniq -d)"
'

test_done
