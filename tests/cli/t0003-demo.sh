#!/bin/sh
# make demo's script (examples/demo.sh) on a copy of examples/: every step
# runs, the winback goes to the consenting lapsed customers with one held
# out, the week-after report counts the click and the order, says the
# control group is too small, and writes the HTML page; a second run
# sends nothing new, leaves the base as it was and says so. Every command
# it prints runs when pasted into sh, and its ranking by revenue is in one
# currency. The demo uses ./crm.db even when CRM_DB names another base.
. "$CRM_TOP/tests/lib.sh"

test_expect 'the demo runs on a copy of examples/, into its own ./crm.db' '
	mkdir tree && cp -r "$CRM_TOP/examples" tree/ &&
	rm -f tree/examples/outbox.mbox tree/examples/report.html &&
	CRM_DB=$TEST_DIR/other.db run 0 sh tree/examples/demo.sh "$CRM_BIN" &&
	test -s tree/crm.db && test ! -e other.db && cp out run1.out &&
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
	expect_grep "stdin: applied: hard bounce 5.1.1: the address is suppressed" err &&
	expect_grep "suppression,,email,bounced,every e-mail (transactional too)" out &&
	expect_eq "applied|hard|$(sqlite3 tree/crm.db "SELECT customer_id FROM messages WHERE address = '"'harry.evans@example.co.uk'"'")" \
		"$(sqlite3 tree/crm.db "SELECT decision, kind, customer_id FROM inbound")"
'

test_expect 'the ranking by revenue is in one currency: its customers all paid in RUB' '
	awk "/^\\\$ crm-segment -f table --fields id,first_name,city,orders,revenue/ { on = 1; next }
		on && /^$/ { exit } on && NR > 0 { print \$1 }" run1.out | tail -n +2 >top.ids &&
	expect_eq 5 "$(wc -l <top.ids)" "customers ranked" &&
	ids=$(sed "s/.*/'\''&'\''/" top.ids | paste -sd, -) &&
	expect_eq RUB "$(sqlite3 tree/crm.db "SELECT group_concat(DISTINCT o.currency) FROM orders o
		JOIN customers c ON c.id = o.customer_id WHERE c.external_id IN ($ids)")"
'

test_expect 'a second run imports nothing new, sends nothing, changes nothing and says so' '
	sqlite3 tree/crm.db .dump | grep -v "^INSERT INTO segment_runs " >before.sql &&
	run 0 sh tree/examples/demo.sh "$CRM_BIN" &&
	expect_grep "1 read before" err &&
	expect_grep "examples/orders.csv: 63 read, 0 inserted, 0 updated, 62 unchanged" err &&
	expect_grep "campaign \"demo-winback\": 0 planned, 0 sent" err &&
	expect_eq 5 "$(grep -c "^From MAILER-DAEMON" tree/examples/outbox.mbox)" &&
	expect_grep "Run again on the same base: nothing changed." out &&
	sqlite3 tree/crm.db .dump | grep -v "^INSERT INTO segment_runs " >after.sql &&
	expect_same before.sql after.sql
'

# paste_script OUT: the commands the demo printed in OUT (a line after
# "$ " and the lines that continue it, until sh -n takes it whole) as a
# script that runs each as pasted and names the ones that fail; after one
# that starts a server in the background it waits until the port answers
paste_script() {
	_n=0 _block=
	while IFS= read -r _line; do
		if [ -z "$_block" ]; then
			case $_line in "\$ "*) _block=${_line#??} ;; *) continue ;; esac
		else
			_block="$_block
$_line"
		fi
		case $_line in *\\) continue ;; esac
		printf '%s\n' "$_block" | sh -n 2>/dev/null || continue
		_n=$((_n + 1))
		printf '%s\n' "$_block" >"cmd.$_n"
		printf '%s\n' "$_block"
		case $_block in
		*"&")
			_port=$(printf '%s\n' "$_block" | sed -n "s/.*127\.0\.0\.1:\([0-9]*\).*/\1/p")
			printf 'echo $! >>"%s/.pids"\n' "$TEST_DIR"
			printf 'i=0; until curl -s -o /dev/null http://127.0.0.1:%s/healthz; do sleep 0.1; i=$((i + 1)); [ $i -lt 100 ] || { echo "FAILED: cmd.%s did not start" >&2; break; }; done\n' "$_port" "$_n" ;;
		*)
			printf 'st=$?; [ $st -eq 0 ] || [ $st -eq 3 ] || echo "FAILED ($st): cmd.%s" >&2\n' "$_n" ;;
		esac
		_block=
	done <"$1"
}

test_expect 'every command line the demo printed runs when pasted into sh' '
	paste_script run1.out >paste.sh &&
	test "$(ls cmd.* | wc -l)" -gt 25 &&
	grep -q "crm-send --config" paste.sh && grep -q "^curl " paste.sh &&
	(cd / && sh "$TEST_DIR/paste.sh") >paste.out 2>paste.err &&
	if grep "^FAILED" paste.err; then
		for f in $(sed -n "s/.*: \(cmd\.[0-9]*\)$/\1/p" paste.err); do echo "$f:"; cat "$f"; done
		exit 1
	fi &&
	expect_grep "302 -> https://shop.example/sale?code=WINBACK10" paste.out &&
	expect_grep "segment \"lapsed\" tracked at 2026-11-23 12:00:00: 15 members, 0 entered" paste.err
'

test_done
