#!/bin/sh
# make demo's script (examples/demo.sh) on a copy of examples/: every step
# runs, the winback goes to the consenting lapsed customers with one held
# out, the week-after report counts the click and the order, says the
# control group is too small, and writes the HTML page; a second run
# sends nothing new. The demo uses ./crm.db even when CRM_DB names
# another base.
. "$CRM_TOP/tests/lib.sh"

test_expect 'the demo runs on a copy of examples/, into its own ./crm.db' '
	mkdir tree && cp -r "$CRM_TOP/examples" tree/ &&
	rm -f tree/examples/outbox.mbox tree/examples/report.html &&
	CRM_DB=$TEST_DIR/other.db run 0 sh tree/examples/demo.sh "$CRM_BIN" &&
	test -s tree/crm.db && test ! -e other.db &&
	expect_grep "campaign \"demo-winback\": 6 planned, 5 sent, 1 control, 0 suppressed" err
'

test_expect 'the mbox holds the five messages, each with its unsubscribe headers' '
	expect_eq 5 "$(grep -c "^From MAILER-DAEMON" tree/examples/outbox.mbox)" &&
	expect_eq 5 "$(grep -c "^List-Unsubscribe-Post: List-Unsubscribe=One-Click" tree/examples/outbox.mbox)"
'

test_expect 'crm-track answered the readers over HTTP and logged them by id' '
	expect_grep "302 -> https://shop.example/sale?code=WINBACK10" out &&
	expect_grep "200 image/gif" out &&
	expect_grep "this link is not valid" out &&
	grep -q "POST /u/3-[0-9a-f]* 200 customer=" out &&
	expect_no_grep "@example" tree/examples/track.log &&
	expect_eq 1 "$(sqlite3 tree/crm.db "SELECT count(*) FROM consents WHERE source = '"'one-click'"' AND granted = 0")"
'

test_expect 'the week-after report: 3 opened, 2 clicked (one through crm-track), 1 converted after the click, 2450 RUB' '
	awk "/^\\\$ crm-report -f table campaign demo-winback/ { on = 1; next } /^\\\$ / { on = 0 } on" out >camp.txt &&
	expect_eq "opened 3 0|clicked 2 0|unsubscribed 2 0|converted 1 0|post_click 1 0|revenue 2,450.00 0.00" \
		"$(awk '\''$1 ~ /^(opened|clicked|unsubscribed|converted|post_click|revenue)$/ { printf "%s%s %s %s", n++ ? "|" : "", $1, $2, $3 }'\'' camp.txt)" &&
	expect_grep "the control group (1) is too small to detect the observed effect (+20.00 pp)" err &&
	expect_grep "<svg" tree/examples/report.html &&
	expect_grep "demo-winback" tree/examples/report.html
'

test_expect 'a bounce came back for the fourth message: applied, shown on the customer card' '
	expect_grep "stdin: applied: hard bounce 5.1.1: the address is suppressed" out &&
	expect_grep "suppression,,email,bounced,every e-mail (transactional too)" out &&
	expect_eq "applied|hard|$(sqlite3 tree/crm.db "SELECT customer_id FROM messages WHERE address = '"'harry.evans@example.co.uk'"'")" \
		"$(sqlite3 tree/crm.db "SELECT decision, kind, customer_id FROM inbound")"
'

test_expect 'a second run imports nothing new and sends nothing' '
	run 0 sh tree/examples/demo.sh "$CRM_BIN" &&
	expect_grep "1 read before" out &&
	expect_grep "examples/orders.csv: 63 read, 0 inserted, 0 updated, 62 unchanged" err &&
	expect_grep "campaign \"demo-winback\": 0 planned, 0 sent" err &&
	expect_eq 5 "$(grep -c "^From MAILER-DAEMON" tree/examples/outbox.mbox)"
'

test_done
