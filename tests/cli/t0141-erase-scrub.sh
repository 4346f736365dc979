#!/bin/sh
# Right to erasure in saved segments: an expression (or a description, or
# a tracked run's expression) that names the erased person's e-mail, phone
# or external id has that literal replaced by "<erased>", the segment is
# marked as changed by an erasure, and the old bytes are nowhere in the
# database file or its WAL.
. "$CRM_TOP/tests/lib.sh"

# nowhere FILE...: fails when Anna's e-mail, phone (in any form the
# expressions below use) or external id is in one of the files
nowhere() {
	for f; do
		test -e "$f" || continue
		for s in anna.ivanova 9161234567 "916) 123-45-67" "916 123 45 67" \
			'anna\.ivanova' 'iv\anova' C001 "Иванова"; do
			if grep -a -q -i -F -- "$s" "$f"; then
				echo "\"$s\" found in $f"
				return 1
			fi
		done
	done
}

# the expressions, as a user would type them into a file
cat >ann.expr <<'EOF_'
email = "Anna.Ivanova@Example.COM" or phone = "+7 (916) 123-45-67"
EOF_
cat >rx.expr <<'EOF_'
email ~ "^anna\.ivanova@example\.com$" or email = 'anna.iv\anova@example.com'
EOF_
cat >ids.expr <<'EOF_'
id in ("C001", "C002") and city != ""
EOF_
cat >national.expr <<'EOF_'
attr.mobile = "8 916 123 45 67" or attr.alt = 79161234567
EOF_
cat >commented.expr <<'EOF_'
orders >= 0 # for anna.ivanova@example.com
and city = "Kazan"
EOF_
cat >bob.expr <<'EOF_'
email = "bob@example.com" or phone = "+12125550143"
EOF_

test_expect 'setup: customers and saved segments that name them' '
	crm-import customers "$FIX/customers.csv" 2>/dev/null || true
	for s in ann rx ids national commented bob; do
		crm-segment --save $s "$(cat $s.expr)" 2>/dev/null || return 1
	done &&
	crm-segment --save ann --description "Anna (anna.ivanova@example.com, +7 916 123-45-67)" \
		"$(cat ann.expr)" &&
	crm-segment --save bob --description "just Bob" "$(cat bob.expr)" &&
	crm-segment --save jurgen "phone = \"+49 30 1234567\"" &&
	run 0 crm-segment -s ann --track --entered -f csv --fields id &&
	expect_grep C001 out &&
	run 0 crm-segment -s ids --track --entered -f csv --fields id &&
	expect_eq 2 "$(sql "SELECT count(*) FROM segment_runs")" &&
	grep -a -q -i "anna.ivanova" crm.db crm.db-wal
'

test_expect 'setup: an outbox row whose reason names her (a server said so)' '
	sql "INSERT INTO campaigns(name, channel, created_at) VALUES ('\''c'\'', '\''email'\'', '\''2026-11-01'\'');
	     INSERT INTO messages(campaign_id, customer_id, channel, grp, status, reason, address,
	                          message_id, planned_at, updated_at)
	     SELECT 1, id, '\''email'\'', '\''treatment'\'', '\''bounced'\'',
	            '\''550 5.1.1 <Anna.Ivanova@example.com>: no mailbox; sms to +7 916 123-45-67 failed'\'',
	            email, '\''m1'\'', '\''2026-11-01'\'', '\''2026-11-01'\''
	     FROM customers WHERE external_id = '\''C001'\''" &&
	expect_eq 1 "$(sql "SELECT count(*) FROM messages")"
'

test_expect 'erasing Anna scrubs every expression, description and tracked run naming her' '
	printf "email\nanna.ivanova@example.com\n" >erase.csv &&
	run 0 crm-import -v erase erase.csv &&
	expect_grep "1 customers erased" err &&
	expect_grep "5 saved segments and 2 tracked runs changed" err &&
	expect_no_grep "anna" err &&
	expect_eq "email = \"<erased>\" or phone = \"<erased>\"" "$(sql "SELECT expr FROM segments WHERE name = '\''ann'\''")" &&
	expect_eq "Anna (<erased>, <erased>)" "$(sql "SELECT description FROM segments WHERE name = '\''ann'\''")" &&
	expect_eq "email ~ \"<erased>\" or email = \"<erased>\"" "$(sql "SELECT expr FROM segments WHERE name = '\''rx'\''")" &&
	expect_eq "id in (\"<erased>\", \"C002\") and city != \"\"" "$(sql "SELECT expr FROM segments WHERE name = '\''ids'\''")" &&
	expect_eq "attr.mobile = \"<erased>\" or attr.alt = \"<erased>\"" "$(sql "SELECT expr FROM segments WHERE name = '\''national'\''")" &&
	expect_eq "$(printf "orders >= 0 # for <erased>\nand city = \"Kazan\"")" "$(sql "SELECT expr FROM segments WHERE name = '\''commented'\''")" &&
	expect_eq 0 "$(sql "SELECT count(*) FROM segment_runs WHERE expr NOT LIKE '\''%<erased>%'\'' OR scrubbed_at IS NULL")" &&
	expect_eq "bounced|550 5.1.1 <<erased>>: no mailbox; sms to <erased> failed|" \
		"$(sql "SELECT status, reason, address FROM messages")"
'

test_expect 'the segments changed are marked with the time; the others are not' '
	expect_eq "ann|2026-11-23 12:00:00
commented|2026-11-23 12:00:00
ids|2026-11-23 12:00:00
national|2026-11-23 12:00:00
rx|2026-11-23 12:00:00" "$(sql "SELECT name, scrubbed_at FROM segments WHERE scrubbed_at IS NOT NULL ORDER BY name")" &&
	expect_eq "email = \"bob@example.com\" or phone = \"+12125550143\"|just Bob" \
		"$(sql "SELECT expr, description FROM segments WHERE name = '\''bob'\''")"
'

test_expect 'nowhere in the database file or its WAL' '
	nowhere crm.db crm.db-wal crm.db-shm &&
	sql ".dump" >dump.sql &&
	nowhere dump.sql
'

test_expect 'the scrubbed segments still run, with a warning; --list says which' '
	run 0 crm-segment -s ann -f csv --fields id &&
	expect_grep "segment \"ann\" was changed by an erasure at 2026-11-23 12:00:00" err &&
	expect_grep "may no longer select what it did" err &&
	expect_eq id "$(cat out)" &&
	run 0 crm-segment -s ids -c &&
	expect_eq 1 "$(cat out)" &&
	run 0 crm-segment -s bob -f csv --fields id &&
	expect_eq "" "$(cat err)" &&
	run 0 crm-segment --list -f csv &&
	expect_grep "segment \"rx\" was changed by an erasure at 2026-11-23 12:00:00" err &&
	expect_no_grep "\"bob\"" err &&
	expect_grep "<erased>" out
'

test_expect 'saving the segment again clears the mark' '
	run 0 crm-segment --save ann "email = \"<erased>\"" &&
	run 0 crm-segment -s ann -c &&
	expect_eq "" "$(cat err)" &&
	expect_eq "" "$(sql "SELECT scrubbed_at FROM segments WHERE name = '\''ann'\''")"
'

test_expect 'an identifier not in the base is scrubbed from the segments all the same' '
	crm-segment --save gone "email = \"gone@example.com\" or phone = \"+4915112345678\"" &&
	printf "gone@example.com\n+49 151 12345678\n" >gone.txt &&
	run 0 crm-import erase gone.txt &&
	expect_eq "email = \"<erased>\" or phone = \"<erased>\"" "$(sql "SELECT expr FROM segments WHERE name = '\''gone'\''")" &&
	! grep -a -q -e gone@example -e 15112345678 crm.db
'

test_expect 'a phone written as a national number is found (Jürgen, +49 30 1234567)' '
	printf "C003\n" >c3.txt &&
	run 0 crm-import erase c3.txt &&
	expect_eq "phone = \"<erased>\"" "$(sql "SELECT expr FROM segments WHERE name = '\''jurgen'\''")" &&
	! grep -a -q -e 301234567 -e "30 1234567" crm.db &&
	nowhere crm.db crm.db-wal
'

test_expect 'a dry run changes no segment' '
	crm-segment --save dry "email = \"bob@example.com\"" &&
	run 0 crm-import --dry-run erase erase.csv &&
	printf "bob@example.com\n" >bob.txt &&
	run 0 crm-import --dry-run erase bob.txt &&
	expect_eq "email = \"bob@example.com\"" "$(sql "SELECT expr FROM segments WHERE name = '\''dry'\''")" &&
	expect_eq "" "$(sql "SELECT scrubbed_at FROM segments WHERE name = '\''dry'\''")"
'

test_expect 'the file is intact' '
	expect_eq ok "$(sql "PRAGMA integrity_check")"
'

test_done
