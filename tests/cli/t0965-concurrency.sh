#!/bin/sh
# Every program on one file at the same time, ROUNDS times (default 10):
# crm-import (a new customer file each round), crm-score rfm, crm-send
# over the file channel and over SMTP (a new campaign each), crm-segment
# (a count and a tracked saved segment) and crm-report (rfm, cohorts).
# None fails with "database is locked" or anything else, and every
# result equals the one of the same commands run one after another.
# The commands are chosen so that their results do not depend on their
# order (the new customers have no orders; the sends go to a fixed
# list), so "equal to sequential runs" is exact. t0170 covers two
# writers of one kind, and the busy message and time-out.
. "$CRM_TOP/tests/lib.sh"

ROUNDS=${CONCURRENCY_ROUNDS:-10}

start_smtpd || exit 1
cat >crm.conf <<EOF_
[smtp]
url = smtp://127.0.0.1:$SMTP_PORT
[email]
from = shop@example.com
EOF_
chmod 600 crm.conf
printf 'Subject: Hello {{first_name}}\n\nHello {{first_name}}.\n' >t.tmpl

# round DB R: one round's commands, each writing its output to R.PROG
# (stdout and stderr together) and its exit status to R.PROG.rc; with
# "&" after each when CONCURRENT is set
round() {
	_db=$1 _r=$2
	for _p in import score sendf sends segc segt rrfm rcoh; do
		(
			set +e
			case $_p in
			import) crm-import --db "$_db" customers new$_r.csv ;;
			score) crm-score --db "$_db" -f csv rfm ;;
			sendf) crm-send --db "$_db" --campaign file$_r --channel file --consent email -o /dev/null \
				--template t.tmpl -f csv ids.csv ;;
			sends) crm-send --db "$_db" --campaign mail$_r --channel email \
				--template t.tmpl -f csv ids50.csv ;;
			segc) crm-segment --db "$_db" -c "orders >= 2 and revenue > 100" ;;
			segt) crm-segment --db "$_db" -s loyal --track -c ;;
			rrfm) crm-report --db "$_db" -f csv rfm ;;
			rcoh) crm-report --db "$_db" -f csv cohorts --metric customers ;;
			esac >"$_r.$_p" 2>"$_r.$_p.err"
			echo $? >"$_r.$_p.rc"
		) &
		[ -n "${CONCURRENT:-}" ] || wait
	done
	wait
}

# results PREFIX: what a round produced, stderr without the timings
results() {
	for _p in import score sendf sends segc segt rrfm rcoh; do
		echo "== $_p exit $(cat "$1.$_p.rc")"
		# sent messages: customer, channel, status, reason (not the
		# server's queue id and the Message-ID, new in each run)
		cut -d, -f1-4 "$1.$_p"
		grep -v "^crm-score: rfm: \|rows/s)\|busy" "$1.$_p.err" || true
	done
}

final() {
	sql "SELECT external_id, email, first_name, is_stub FROM customers ORDER BY 1"
	sql "SELECT k.name, c.external_id, m.status FROM messages m JOIN campaigns k ON k.id = m.campaign_id
		JOIN customers c ON c.id = m.customer_id ORDER BY 1, 2"
	sql "SELECT c.external_id, s.r, s.f, s.m, s.rfm_segment FROM scores s
		JOIN customers c ON c.id = s.customer_id ORDER BY 1"
}

test_expect 'setup: 1500 customers with orders, a saved segment, new customers per round' '
	awk "BEGIN { print \"id,email,first_name,email_consent\";
		for (i = 1; i <= 1500; i++) printf \"P%04d,p%d@example.com,Pat%d,yes\n\", i, i, i }" >base.csv &&
	awk "BEGIN { print \"customer_id,ordered_at,amount,currency\";
		for (i = 1; i <= 6000; i++) printf \"P%04d,2026-%02d-%02d,%d.%02d,EUR\n\", (i * 13) % 1500 + 1, i % 10 + 1, i % 28 + 1, i % 300, i % 100 }" >orders.csv &&
	r=1 && while [ $r -le $ROUNDS ]; do
		awk -v r=$r "BEGIN { print \"id,email,first_name,email_consent\";
			for (i = 1; i <= 1000; i++) printf \"N%02d%04d,n%d.%d@example.com,New%d,yes\n\", r, i, r, i, i }" >new$r.csv
		r=$((r + 1))
	done &&
	crm-import --db base.db customers base.csv 2>/dev/null &&
	crm-import --db base.db orders orders.csv 2>/dev/null &&
	crm-segment --db base.db --save loyal "orders >= 4" 2>/dev/null &&
	crm-score --db base.db rfm >/dev/null 2>&1 &&
	awk -F, "NR > 1 && NR <= 401 { print \$1 }" base.csv | sed 1i\\id >ids.csv &&
	head -51 ids.csv >ids50.csv &&
	cp base.db seq.db && cp base.db con.db
'

test_expect "$ROUNDS rounds one command after another: the reference" '
	r=1 && while [ $r -le $ROUNDS ]; do
		round seq.db $r && results $r >seq.$r.txt
		grep -q "== import exit 0" seq.$r.txt
		r=$((r + 1))
	done &&
	CRM_DB=seq.db final >seq.final &&
	expect_eq $((ROUNDS * 450)) "$(CRM_DB=seq.db sql "SELECT count(*) FROM messages WHERE status = '\''sent'\''")"
'

test_expect "$ROUNDS rounds with the eight commands started together: no failure, the same results" '
	rm -f [0-9]*.* &&
	r=1 && while [ $r -le $ROUNDS ]; do
		CONCURRENT=1 round con.db $r
		if grep -l "locked" $r.*.err; then
			echo "round $r: database is locked"; cat $r.*.err; exit 1
		fi
		results $r >con.$r.txt
		if ! cmp -s seq.$r.txt con.$r.txt; then
			echo "round $r: results differ from the sequential run"
			diff seq.$r.txt con.$r.txt | head -20
			exit 1
		fi
		r=$((r + 1))
	done &&
	CRM_DB=con.db final >con.final &&
	expect_same seq.final con.final &&
	expect_eq ok "$(CRM_DB=con.db sql "PRAGMA integrity_check")"
'

# the Message-ID is derived from the campaign and the customer: each
# one is in the spool twice, once from each database
test_expect 'every e-mail went out once from each database' '
	expect_eq $((2 * ROUNDS * 50)) "$(spooled)" &&
	expect_eq "" "$(cut -f2 spool/log | sort | uniq -c | awk "\$1 != 2" | head -3)"
'

test_done
