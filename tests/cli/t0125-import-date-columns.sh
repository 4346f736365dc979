#!/bin/sh
# The order of day and month is decided per date column from all its
# values (issue 15, item 3): one late row decides a whole column; a column
# no value decides, or one that says both, stops the import before it
# writes anything; --date-format still wins; stdin, FIFOs, JSON lines, the
# collector; a real UK retailer's export (../shared/data/online-retail).
. "$CRM_TOP/tests/lib.sh"

# orders FILE LAST [N]: N-1 (default 5000) orders O1.. whose ordered_at
# reads both ways ("2/7/2026 10:00": a, b <= 12, a != b), then order ON
# dated LAST (omitted when LAST is empty)
orders() {
	awk -v last="$2" -v n="${3:-5000}" 'BEGIN {
		print "order_id,customer_id,ordered_at,amount,currency"
		for (i = 1; i < n; i++)
			printf "O%d,C%d,%d/%d/2026 10:00,%d.50,EUR\n", i, i % 300, i % 12 + 1, (i + 5) % 12 + 1, i % 90
		if (last != "")
			printf "O%d,C1,%s,1,EUR\n", n, last
	}' >"$1"
}

# same: the base is as it was in before.sql
same() {
	sql .dump >after.sql &&
	expect_same before.sql after.sql
}

at() {
	sql "SELECT ordered_at FROM orders WHERE external_id = '$1'"
}

test_expect 'one row out of 5,000, the last, decides day/month for the column' '
	orders dmy.csv "13/1/2026 9:00" &&
	run 0 crm-import orders dmy.csv &&
	expect_eq 5000 "$(sql "SELECT count(*) FROM orders")" &&
	expect_eq "2026-07-02 10:00:00" "$(at O1)" &&
	expect_eq "2026-01-13 09:00:00" "$(at O5000)" &&
	expect_eq "2026-05-12 10:00:00" "$(at O11)"
'

test_expect 'and one row deciding month/day reads the same file the other way' '
	rm -f crm.db* &&
	orders mdy.csv "1/13/2026 9:00" &&
	run 0 crm-import orders mdy.csv &&
	expect_eq 5000 "$(sql "SELECT count(*) FROM orders")" &&
	expect_eq "2026-02-07 10:00:00" "$(at O1)" &&
	expect_eq "2026-01-13 09:00:00" "$(at O5000)" &&
	expect_eq "2026-12-05 10:00:00" "$(at O11)"
'

test_expect 'a column no value decides: exit 1, file, column, sample and the hint; nothing stored' '
	orders amb.csv "" &&
	sql .dump >before.sql &&
	run 1 crm-import orders amb.csv &&
	expect_grep "crm-import: amb.csv: column \"ordered_at\": ambiguous dates" err &&
	expect_grep "\"2/7/2026 10:00\", line 2" err &&
	expect_grep "pass --date-format dmy or --date-format mdy" err &&
	expect_grep "nothing was imported" err &&
	expect_eq 5000 "$(sql "SELECT count(*) FROM orders")" &&
	same
'

test_expect 'a column that says both: exit 1 naming the two lines; nothing stored' '
	awk -F, -v OFS=, "NR == 101 { \$3 = \"13/1/2026 9:00\" } NR == 4001 { \$3 = \"1/13/2026 9:00\" } { print }" \
		amb.csv >both.csv &&
	run 1 crm-import orders both.csv &&
	expect_grep "both.csv: column \"ordered_at\": dates in two orders: line 101 has \"13/1/2026 9:00\", day first, and line 4001 has \"1/13/2026 9:00\", month first" err &&
	expect_grep "nothing was imported" err &&
	same
'

test_expect 'an error in one file keeps the files before it out too (and with --batch)' '
	orders good.csv "13/1/2026" 20 &&
	run 1 crm-import orders good.csv amb.csv &&
	same &&
	run 1 crm-import --batch 5 orders good.csv amb.csv &&
	same &&
	run 1 crm-import --rejects rej.csv orders good.csv both.csv &&
	same &&
	test ! -e rej.csv
'

test_expect '12/1/2010 8:26 (no seconds, one-digit hour) reads month first with 12/13/2010' '
	printf "order_id,customer_id,date,amount,currency\nR1,C1,12/1/2010 8:26,1,GBP\nR2,C1,12/2/2010 17:05,1,GBP\nR3,C1,12/13/2010 9:02,1,GBP\n" >uk.csv &&
	run 0 crm-import orders uk.csv &&
	expect_eq "2010-12-01 08:26:00" "$(at R1)" &&
	expect_eq "2010-12-02 17:05:00" "$(at R2)" &&
	expect_eq "2010-12-13 09:02:00" "$(at R3)"
'

test_expect 'ISO, dotted and equal-part dates decide nothing and need nothing' '
	printf "order_id,customer_id,date,amount,currency\nI1,C1,2026-03-04,1,EUR\nI2,C1,04.03.2026,1,EUR\nI3,C1,4/4/2026,1,EUR\nI4,C1,20260305,1,EUR\n" >iso.csv &&
	run 0 crm-import orders iso.csv &&
	expect_eq "2026-03-04 00:00:00|2026-03-04 00:00:00|2026-04-04 00:00:00|2026-03-05 00:00:00" \
		"$(sql "SELECT group_concat(ordered_at, \"|\") FROM (SELECT ordered_at FROM orders WHERE external_id IN (\"I1\", \"I2\", \"I3\", \"I4\") ORDER BY external_id)")"
'

test_expect 'dashes are decided like slashes; dotted dates stay day first in a month-first column' '
	printf "order_id,customer_id,date,amount,currency\nD1,C1,03-04-2026,1,EUR\nD2,C1,03-14-2026,1,EUR\nD3,C1,05.06.2026,1,EUR\n" >dash.csv &&
	run 0 crm-import orders dash.csv &&
	expect_eq "2026-03-04 00:00:00" "$(at D1)" &&
	expect_eq "2026-03-14 00:00:00" "$(at D2)" &&
	expect_eq "2026-06-05 00:00:00" "$(at D3)"
'

test_expect '--date-format given wins: no decision, the rows that disagree are rejected' '
	rm -f crm.db* &&
	run 3 crm-import --date-format dmy orders mdy.csv &&
	expect_grep "mdy.csv:5001: invalid ordered_at" err &&
	expect_eq "2026-07-02 10:00:00" "$(at O1)" &&
	expect_eq 4999 "$(sql "SELECT count(*) FROM orders")" &&
	rm -f crm.db* &&
	run 0 crm-import --date-format mdy orders amb.csv &&
	expect_eq "2026-02-07 10:00:00" "$(at O1)" &&
	rm -f crm.db* &&
	run 0 crm-import --date-format "%m/%d/%Y %H:%M" orders amb.csv &&
	expect_eq "2026-02-07 10:00:00" "$(at O1)"
'

test_expect 'stdin: a pipe is read twice (decided by its last row), and named <stdin>' '
	rm -f crm.db* &&
	cat dmy.csv | crm-import orders - 2>err &&
	expect_eq 5000 "$(sql "SELECT count(*) FROM orders")" &&
	expect_eq "2026-07-02 10:00:00" "$(at O1)" &&
	sql .dump >before.sql &&
	mkdir tmp &&
	! cat amb.csv | TMPDIR=$PWD/tmp crm-import orders - 2>err &&
	expect_grep "crm-import: <stdin>: column \"ordered_at\": ambiguous dates" err &&
	same &&
	expect_eq "" "$(ls -A tmp)"
'

test_expect 'stdin from a file is read again from where it started; each input decides its own' '
	rm -f crm.db* &&
	run 0 crm-import orders - <mdy.csv &&
	expect_eq "2026-02-07 10:00:00" "$(at O1)" &&
	rm -f crm.db* &&
	{ echo "a line read before" && cat mdy.csv; } >pre.csv &&
	{ read -r junk && crm-import orders - good.csv 2>err; } <pre.csv &&
	expect_eq 5000 "$(sql "SELECT count(*) FROM orders")" &&
	expect_eq "2026-10-03 10:00:00" "$(at O21)" &&
	expect_eq "2026-07-02 10:00:00" "$(at O1)" &&
	expect_eq "2026-01-13 00:00:00" "$(at O20)"
'

test_expect 'a FIFO is buffered too and keeps its name' '
	rm -f crm.db* &&
	mkfifo fifo &&
	{ cat mdy.csv >fifo & } &&
	run 0 crm-import orders fifo &&
	expect_eq "2026-02-07 10:00:00" "$(at O1)" &&
	sql .dump >before.sql &&
	{ cat amb.csv >fifo & } &&
	run 1 crm-import orders fifo &&
	expect_grep "crm-import: fifo: column \"ordered_at\": ambiguous" err &&
	same
'

test_expect 'JSON lines: a field of dates is decided the same way' '
	rm -f crm.db* &&
	awk "BEGIN { for (i = 1; i < 3000; i++)
		printf \"{\\\"event_id\\\":\\\"E%d\\\",\\\"customer_id\\\":\\\"C%d\\\",\\\"type\\\":\\\"visit\\\",\\\"time\\\":\\\"%d/%d/2026 8:%02d\\\"}\\n\",
			i, i % 50, i % 12 + 1, (i + 5) % 12 + 1, i % 60 }" >ev.jsonl &&
	cp ev.jsonl ev-amb.jsonl &&
	echo "{\"event_id\":\"E3000\",\"customer_id\":\"C1\",\"type\":\"visit\",\"time\":\"1/31/2026 8:00\"}" >>ev.jsonl &&
	run 0 crm-import events ev.jsonl &&
	expect_eq 3000 "$(sql "SELECT count(*) FROM events")" &&
	expect_eq "2026-02-07 08:01:00" "$(sql "SELECT occurred_at FROM events WHERE external_id = '\''E1'\''")" &&
	sql .dump >before.sql &&
	run 1 crm-import events ev-amb.jsonl &&
	expect_grep "ev-amb.jsonl: column \"time\": ambiguous dates" err &&
	same &&
	run 1 crm-import events - <ev-amb.jsonl &&
	expect_grep "<stdin>: column \"time\": ambiguous dates" err &&
	same
'

test_expect 'customers: birthday and created_at are decided apart; a birthday is never shown' '
	rm -f crm.db* &&
	printf "id,birthday,created_at\nK1,3/4/1990,3/4/2026\nK2,25/12/1985,1/20/2026\n" >k.csv &&
	run 0 crm-import customers k.csv &&
	expect_eq "1990-04-03|2026-03-04 00:00:00" "$(cust K1 "birthday, created_at")" &&
	printf "id,birthday\nK3,3/4/1990\n" >k2.csv &&
	run 1 crm-import customers k2.csv &&
	expect_grep "k2.csv: column \"birthday\": ambiguous dates" err &&
	expect_no_grep "3/4/1990" err &&
	expect_grep "(8 characters)" err
'

test_expect 'the collector decides per batch, and refuses an undecidable one (400)' '
	export WEB_TOKEN=0123456789abcdef-web-token &&
	printf "[collector.web]\ntoken_env = WEB_TOKEN\nkinds = events\n" >crm.conf &&
	chmod 600 crm.conf &&
	start_track &&
	code=$(curl -s -o resp -w "%{http_code}" -H "Authorization: Bearer $WEB_TOKEN" \
		--data-binary @ev.jsonl "$TRACK/v1/events") &&
	expect_eq 200 "$code" &&
	code=$(curl -s -o resp -w "%{http_code}" -H "Authorization: Bearer $WEB_TOKEN" \
		--data-binary @ev-amb.jsonl "$TRACK/v1/events") &&
	stop_track &&
	expect_eq 400 "$code" &&
	expect_grep "ambiguous dates" resp &&
	expect_eq 3000 "$(sql "SELECT count(*) FROM events")"
'

# The UCI Online Retail invoice lines (InvoiceDate M/D/YYYY H:MM; the
# first value above 12 in the day is on line 26,323; tests/fixtures)
RETAIL=$FIX/online-retail/OnlineRetail.csv.xz
test_expect 'a UK retailer export: InvoiceDate decided month first, no date rejected' '
	rm -f crm.db* &&
	xz -dc "$RETAIL" >retail.csv &&
	head -n 2 retail.csv | grep -q "^536365,.*,12/1/2010 8:26," &&
	run 3 crm-import -v orders --currency GBP --map InvoiceNo=order_id --map CustomerID=customer_id \
		--map InvoiceDate=ordered_at --map UnitPrice=amount --rejects rej.csv retail.csv &&
	expect_grep "retail.csv: column \"InvoiceDate\": dates are month/day/year" err &&
	expect_no_grep "ordered_at" rej.csv &&
	expect_no_grep "date" rej.csv &&
	test "$(sql "SELECT count(*) FROM orders")" -gt 2000 &&
	expect_eq "2010-12-01 08:26:00" "$(at 536365)" &&
	expect_eq 2010-12-01 "$(sql "SELECT date(min(ordered_at)) FROM orders")" &&
	test "$(sql "SELECT max(ordered_at) FROM orders")" \> "2011-01-01" &&
	expect_eq 0 "$(sql "SELECT count(*) FROM orders WHERE ordered_at < \"2010-12-01\"")"
'

test_expect 'foreign keys and integrity hold' '
	expect_eq "" "$(sql "PRAGMA foreign_key_check")" &&
	expect_eq ok "$(sql "PRAGMA integrity_check")"
'

test_done
