#!/bin/sh
# A full disk during an import: crm-import prints its summary ("N read,
# N inserted, ...") only once the commit succeeded; when the commit (or a
# write before it) fails it names the database and the reason, says that
# nothing was stored (or, with --batch, up to which line the earlier
# commits stored rows), exits 1, and the base is what it was before.
. "$CRM_TOP/tests/lib.sh"

awk 'BEGIN { print "id,email,phone,first_name,city,plan";
	for (i = 1; i <= 8000; i++)
		printf "F%04d,f%d@example.com,+7916%07d,Name%d,City%d,p%d\n", i, i, i, i, i % 40, i % 3 }' >cust.csv

# A tmpfs of 1 MiB for the database, in a mount namespace of its own
# (unshare -m, as root): the schema fits, 8000 customers do not, and the
# page cache holds them all until COMMIT, which is what fails.
cat >full.sh <<'EOF'
set -u
mnt=$1
mount -t tmpfs -o size=1m tmpfs "$mnt" || exit 99
db=$mnt/crm.db
crm-import --db "$db" customers /dev/null 2>/dev/null || exit 98
crm-import --db "$db" customers seed.csv 2>/dev/null || exit 97
sha256sum <"$db" >sha.before
sqlite3 "$db" "SELECT count(*) FROM customers" >count.before
crm-import --db "$db" customers cust.csv >out 2>err
echo $? >rc
sha256sum <"$db" >sha.after
sqlite3 "$db" "SELECT count(*) FROM customers" >count.after
sqlite3 "$db" "PRAGMA integrity_check" >integrity
EOF
printf 'id,email\nS1,s1@example.com\nS2,s2@example.com\n' >seed.csv

test_expect 'COMMIT fails on a full disk: no summary, the file and the reason, nothing stored, base unchanged' '
	if [ "$(id -u)" -ne 0 ] || ! unshare -m true 2>/dev/null; then
		echo "# skipped: needs root and unshare -m for a small tmpfs" >&2
		exit 0
	fi
	mkdir mnt &&
	set +e
	unshare -m sh full.sh "$PWD/mnt"
	st=$?
	set -e
	expect_eq 0 "$st" "setup in the namespace" &&
	cat err &&
	expect_eq 1 "$(cat rc)" "exit status" &&
	expect_grep "crm-import: $PWD/mnt/crm.db: cannot commit: database or disk is full (No space left on device)" err &&
	expect_grep "crm-import: nothing was stored: the import was rolled back" err &&
	expect_no_grep "inserted" err &&
	expect_no_grep " read, " err &&
	expect_same sha.before sha.after &&
	expect_eq 2 "$(cat count.after)" "customers after" &&
	expect_eq ok "$(cat integrity)"
'

test_expect 'past the file size limit (ulimit -f): no summary, nothing stored, base unchanged' '
	crm-import customers seed.csv 2>/dev/null &&
	sql .dump >before.sql &&
	sha256sum <crm.db >sha.before &&
	awk "BEGIN { print \"id,email,phone,first_name,city,plan\";
		for (i = 1; i <= 20000; i++)
			printf \"G%05d,g%d@example.com,+7917%07d,Name%d,City%d,p%d\n\", i, i, i, i, i % 40, i % 3 }" >big.csv &&
	set +e
	(ulimit -f 1024; exec crm-import customers big.csv) >out 2>err
	rc=$?
	set -e
	cat err &&
	expect_eq 1 "$rc" "exit status" &&
	grep -q "^crm-import: .*crm.db: .*\(disk I/O error\|disk is full\)" err &&
	expect_grep "crm-import: nothing was stored: the import was rolled back" err &&
	expect_no_grep "inserted" err &&
	sha256sum <crm.db >sha.after &&
	expect_same sha.before sha.after &&
	sql .dump >after.sql && expect_same before.sql after.sql &&
	expect_eq ok "$(sql "PRAGMA integrity_check")"
'

test_expect '--batch: the error says up to which line the earlier commits stored rows, and they are there' '
	cp crm.db batch.db &&
	set +e
	(ulimit -f 1024; exec crm-import --db batch.db --batch 1000 customers big.csv) >out 2>err
	rc=$?
	set -e
	cat err &&
	expect_eq 1 "$rc" "exit status" &&
	expect_no_grep "inserted" err &&
	line=$(sed -n "s/^crm-import: the rows up to big.csv:\([0-9]*\) were stored (--batch commits), nothing after them$/\1/p" err) &&
	test -n "$line" &&
	expect_eq $((line - 1 + 2)) "$(CRM_DB=batch.db sql "SELECT count(*) FROM customers")" "customers stored" &&
	expect_eq ok "$(CRM_DB=batch.db sql "PRAGMA integrity_check")"
'

test_expect 'the summary comes after the commit: the same import without a limit, then its line' '
	run 0 crm-import -v customers big.csv &&
	expect_grep "big.csv: 20000 read, 20000 inserted" err &&
	c=$(grep -n "committed in" err | cut -d: -f1) &&
	s=$(grep -n "20000 inserted" err | cut -d: -f1) &&
	test "$c" -lt "$s"
'

test_done
