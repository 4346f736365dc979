#!/bin/sh
# Opening the base (lib/db.c): another application's SQLite file, or a
# file that is not SQLite, is refused by every program, read or write,
# and left byte for byte as it was (no -wal or -shm, journal mode and
# mtime unchanged); crmkit's bases carry PRAGMA application_id, old ones
# get it on their next write open. A read-only file system or a file or
# directory the user may not write gets a plain "cannot write" from the
# writers, and the readers read the base all the same. An existing base,
# -wal and -shm that others may open are set to 0600 with a warning. A
# base on a network file system gets a warning. A damaged index page is
# found by crm-report check and named by every program that reads it.
. "$CRM_TOP/tests/lib.sh"

NSCHEMA=$(ls "$CRM_TOP"/share/schema/[0-9]*.sql | wc -l | tr -d ' ')

awk 'BEGIN { print "id,email,phone,city";
	for (i = 1; i <= 3000; i++) printf "C%d,user%d@example.com,+7916%07d,City%d\n", i, i, i, i % 7 }' >c.csv
awk 'BEGIN { print "customer_id,ordered_at,amount,currency";
	for (i = 1; i <= 3000; i++) printf "C%d,2026-0%d-01,%d.50,RUB\n", i, 1 + i % 9, i }' >o.csv
printf 'Subject: hi\n\nHello\n' >t.tmpl
crm-import --db base.db customers c.csv 2>/dev/null && crm-import --db base.db orders o.csv 2>/dev/null ||
	{ echo "cannot make the base" >&2; exit 1; }

# hexid FILE: the application_id in the file's header (bytes 68-71), hex
hexid() {
	od -An -tx1 -j68 -N4 "$1" | tr -d ' \n'
}

# state FILE: what must not change in a file that is not ours: its bytes,
# its mtime, its journal mode as the header says it, and the files beside
state() {
	sha256sum <"$1"
	stat -c %y "$1"
	od -An -tx1 -j18 -N2 "$1" 2>/dev/null
	ls -a | grep -F "$1" || true
}

# refused_by_all FILE MESSAGE: every program, read or write, leaves FILE
# as it was, and ends with exit 1 and "PROG: FILE: MESSAGE"
refused_by_all() {
	_f=$1
	state "$_f" >before.state
	: >said
	printf "id\nC1\n" >who.csv
	for _p in "crm-import customers c.csv" "crm-import orders o.csv" "crm-segment -c orders>0" \
		"crm-segment --save s orders>0" "crm-segment --track -s s" "crm-score rfm" \
		"crm-score --dry-run rfm" "crm-report summary" "crm-report check" \
		"crm-report export customers" \
		"crm-send --campaign x --channel file --no-consent --template t.tmpl -o sent.eml -f csv who.csv"; do
		# shellcheck disable=SC2086
		${_p%% *} --db "$_f" ${_p#* } >/dev/null 2>err && _rc=0 || _rc=$?
		echo "$_rc $(cat err)" >>said
		echo "1 ${_p%% *}: $_f: $2" >>want.said
	done
	state "$_f" >after.state
	expect_same before.state after.state &&
	expect_same want.said said &&
	rm want.said
}

test_expect 'a new base says it is crmkit'"'"'s: PRAGMA application_id 0x43524d4b in its header' '
	expect_eq 43524d4b "$(hexid base.db)" &&
	expect_eq 1129467211 "$(CRM_DB=base.db sql "PRAGMA application_id")"
'

test_expect 'another application'"'"'s SQLite file (tables, no application_id) is refused unchanged by every program' '
	sqlite3 notes.db "CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes(body) VALUES (1), (2)" &&
	expect_eq delete "$(sqlite3 notes.db "PRAGMA journal_mode")" &&
	refused_by_all notes.db "not a crmkit database (it has tables but no crmkit schema): refusing to open it (the file is left as it was)" &&
	expect_eq delete "$(sqlite3 notes.db "PRAGMA journal_mode")" &&
	test ! -e notes.db-wal && test ! -e notes.db-shm && test ! -e notes.db-journal
'

test_expect 'a WAL file with another application_id, and one with crmkit-like tables but no crmkit schema, are refused unchanged' '
	sqlite3 app.db "PRAGMA application_id = 305419896; PRAGMA journal_mode = WAL; CREATE TABLE meta(key, value)" >/dev/null &&
	test ! -e app.db-wal &&
	refused_by_all app.db "not a crmkit database (its SQLite application_id is 0x12345678, crmkit'"'"'s 0x43524d4b): refusing to open it (the file is left as it was)" &&
	test ! -e app.db-wal && test ! -e app.db-shm &&
	sqlite3 like.db "PRAGMA journal_mode = WAL; CREATE TABLE meta(key, value); CREATE TABLE customers(id); PRAGMA user_version = 3" >/dev/null &&
	refused_by_all like.db "not a crmkit database (it has tables but no crmkit schema): refusing to open it (the file is left as it was)" &&
	test ! -e like.db-wal && test ! -e like.db-shm
'

# hot-journal.py DB: an insert into DB's table t, in rollback journal
# mode, ended without a commit (as kill -9 would): the -journal is hot
cat >hot-journal.py <<'EOF_'
import os, sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("PRAGMA cache_size = 1")
c.execute("BEGIN")
c.execute("INSERT INTO t SELECT randomblob(5000) FROM (WITH RECURSIVE r(i) AS"
          " (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 200) SELECT * FROM r)")
os._exit(0)
EOF_

test_expect 'another application'"'"'s file with a hot rollback journal is refused, the journal kept for its owner' '
	sqlite3 hot.db "CREATE TABLE t(x); INSERT INTO t VALUES (1)" &&
	$PY hot-journal.py hot.db &&
	test -s hot.db-journal &&
	sha256sum <hot.db-journal >journal.before &&
	refused_by_all hot.db "cannot tell whose file it is (attempt to write a readonly database): refusing to open it (the file is left as it was)" &&
	sha256sum <hot.db-journal >journal.after &&
	expect_same journal.before journal.after
'

test_expect 'a file that is not SQLite at all is refused unchanged' '
	awk "BEGIN { for (i = 0; i < 50; i++) print \"id,name,note: a CSV file given as --db by mistake\" }" >list.csv &&
	refused_by_all list.csv "not an SQLite database: refusing to open it (the file is left as it was)"
'

test_expect 'an empty file becomes a base (0600, with crmkit'"'"'s application_id); a missing one is created 0600' '
	: >empty.db && chmod 600 empty.db &&
	run 0 crm-import --db empty.db customers c.csv &&
	expect_eq 43524d4b "$(hexid empty.db)" &&
	expect_eq 3000 "$(CRM_DB=empty.db sql "SELECT count(*) FROM customers")" &&
	run 0 crm-import --db new.db customers c.csv &&
	expect_mode 600 new.db &&
	expect_eq 43524d4b "$(hexid new.db)" &&
	expect_eq "$NSCHEMA" "$(CRM_DB=new.db sql "PRAGMA user_version")"
'

test_expect 'a base made before the application_id is read as it is, and gets it on its next write open' '
	cp base.db old.db &&
	sqlite3 old.db "PRAGMA application_id = 0" &&
	expect_eq 00000000 "$(hexid old.db)" &&
	crm-report --db base.db summary -f csv >want.csv &&
	run 0 crm-report --db old.db summary -f csv &&
	expect_same want.csv out &&
	run 0 crm-segment --db old.db -c "orders >= 1" &&
	expect_eq 3000 "$(cat out)" &&
	expect_eq 00000000 "$(hexid old.db)" &&
	run 0 crm-import --db old.db customers c.csv &&
	expect_eq 43524d4b "$(hexid old.db)" &&
	expect_eq ok "$(CRM_DB=old.db sql "PRAGMA integrity_check")"
'

# ---- read-only storage ------------------------------------------------

# ro-run.sh, run in a mount namespace of its own (unshare -m): ./ro
# mounted read-only over itself, then each program's status, stdout and
# stderr in ro-NAME.rc, .out and .err
cat >ro-run.sh <<'EOF_'
d=$PWD/ro
mount --bind "$d" "$d" && mount -o remount,ro,bind "$d" || exit 99
if touch "$d/x" 2>/dev/null; then exit 98; fi
r() {
	_n=$1
	shift
	"$@" >ro-$_n.out 2>ro-$_n.err
	echo $? >ro-$_n.rc
}
r import crm-import --db ro/crm.db customers c.csv
r new crm-import --db ro/new.db customers c.csv
r send sh -c 'printf "id\nC1\n" | crm-send --db ro/crm.db --campaign x --channel file --no-consent --template t.tmpl -o sent.eml -f csv'
r summary crm-report --db ro/crm.db summary -f csv
r segment crm-segment --db ro/crm.db -c "orders >= 1"
r check crm-report --db ro/crm.db check
r walsummary crm-report --db ro/wal.db summary -f csv
r walnoshm crm-report --db ro/walnoshm.db summary -f csv
r old crm-report --db ro/old.db summary -f csv
r foreign crm-report --db ro/notes.db summary -f csv
ls -a ro >ro-ls.after
EOF_

# killed-writer.py DB: commits one customer into DB's -wal and ends
# without closing (as kill -9 would): the -wal and -shm stay
cat >killed-writer.py <<'EOF_'
import os, sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("PRAGMA wal_autocheckpoint = 0")
c.execute("INSERT INTO customers(external_id, updated_at) VALUES ('W1', '2026-01-01 00:00:00')")
os._exit(0)
EOF_

if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
test_expect 'on a read-only file system: the writers say so plainly, the readers read' '
	rm -rf ro && mkdir ro &&
	cp base.db ro/crm.db && cp notes.db ro/notes.db &&
	crm-report --db base.db summary -f csv >want.csv &&
	# a base whose -wal holds a commit (the writer was killed), with
	# its -shm, and the same without its -shm
	cp base.db ro/wal.db &&
	$PY killed-writer.py ro/wal.db &&
	test -s ro/wal.db-wal && test -e ro/wal.db-shm &&
	cp ro/wal.db ro/walnoshm.db && cp ro/wal.db-wal ro/walnoshm.db-wal &&
	cp base.db ro/old.db && sqlite3 ro/old.db "PRAGMA user_version = 3" &&
	ls -a ro >ro-ls.before &&
	unshare -m sh ro-run.sh &&
	expect_same ro-ls.before ro-ls.after &&
	expect_eq "1 crm-import: ro/crm.db: cannot write: read-only file system" "$(cat ro-import.rc) $(cat ro-import.err)" &&
	expect_eq "1 crm-import: ro/new.db: cannot create database: read-only file system" "$(cat ro-new.rc) $(cat ro-new.err)" &&
	expect_eq "1 crm-send: ro/crm.db: cannot write: read-only file system" "$(cat ro-send.rc) $(cat ro-send.err)" &&
	expect_eq 0 "$(cat ro-summary.rc)" && expect_same want.csv ro-summary.out &&
	expect_eq "0 3000" "$(cat ro-segment.rc) $(cat ro-segment.out)" &&
	expect_eq "0 ok" "$(cat ro-check.rc) $(cat ro-check.out)" &&
	expect_eq 0 "$(cat ro-walsummary.rc)" &&
	expect_eq 3001 "$(sed -n 2p ro-walsummary.out | cut -d, -f2)" &&
	expect_eq "1 crm-report: ro/walnoshm.db: cannot read: ro/walnoshm.db-wal holds changes that SQLite reads through a ro/walnoshm.db-shm file, which cannot be created in ro: read-only file system (open the base once where it can be written, or copy it with its -wal)" "$(cat ro-walnoshm.rc) $(cat ro-walnoshm.err)" &&
	expect_eq "1 crm-report: ro/old.db: schema version 3 is older than this crmkit'"'"'s ($NSCHEMA), and the file cannot be migrated: cannot write: read-only file system" "$(cat ro-old.rc) $(cat ro-old.err)" &&
	expect_eq "1 crm-report: ro/notes.db: not a crmkit database (it has tables but no crmkit schema): refusing to open it (the file is left as it was)" "$(cat ro-foreign.rc) $(cat ro-foreign.err)"
'
else
	test_count=$((test_count + 1))
	echo "ok $test_count # skip read-only file system: needs root and unshare -m"
fi

NOBODY_GID=$(id -g nobody 2>/dev/null || echo 65534)
as_nobody() {
	setpriv --reuid=nobody --regid="$NOBODY_GID" --clear-groups "$@"
}

if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1 &&
	as_nobody crm-import --version >/dev/null 2>&1; then
test_expect 'a user who may not write the directory or the file: "permission denied" from the writers, the readers read' '
	chmod 711 "$TEST_DIR" &&
	rm -rf nob && mkdir nob && chmod 777 nob &&
	cp c.csv nob/c.csv && chmod 644 nob/c.csv &&
	run 0 as_nobody crm-import --db nob/crm.db customers nob/c.csv &&
	chmod 755 nob &&
	run 1 as_nobody crm-import --db nob/crm.db customers nob/c.csv &&
	expect_eq "crm-import: nob/crm.db: cannot write: permission denied (the directory must be writable for the -wal and -shm files)" "$(cat err)" &&
	run 1 as_nobody crm-import --db nob/new.db customers nob/c.csv &&
	expect_eq "crm-import: nob/new.db: cannot create database: permission denied" "$(cat err)" &&
	run 0 as_nobody crm-segment --db nob/crm.db -c "orders = 0" &&
	expect_eq 3000 "$(cat out)" &&
	run 0 as_nobody crm-report --db nob/crm.db check &&
	expect_eq ok "$(cat out)" &&
	test ! -e nob/crm.db-wal && test ! -e nob/crm.db-shm &&
	# a link in a directory nobody may write, to the base in one it may
	# not: the -wal and -shm would go beside the base
	mkdir lnk && chmod 777 lnk &&
	ln -s ../nob/crm.db lnk/crm.db && chmod 755 nob &&
	run 1 as_nobody crm-import --db lnk/crm.db customers nob/c.csv &&
	expect_eq "crm-import: lnk/crm.db: cannot write: permission denied (the directory must be writable for the -wal and -shm files)" "$(cat err)" &&
	chmod 777 nob && chmod 400 nob/crm.db &&
	run 1 as_nobody crm-import --db nob/crm.db customers nob/c.csv &&
	expect_eq "crm-import: nob/crm.db: cannot write: permission denied" "$(cat err)" &&
	expect_mode 400 nob/crm.db
'
else
	test_count=$((test_count + 1))
	echo "ok $test_count # skip permissions: needs root, setpriv and a user nobody who can run the programs"
fi

# ---- modes ----------------------------------------------------------------

test_expect 'a write open sets an existing 0644 base and its -wal and -shm to 0600, with a warning each' '
	rm -f m.db m.db-wal m.db-shm &&
	cp base.db m.db && chmod 644 m.db &&
	# a reader leaves a -wal and -shm of the mode of the base
	crm-report --db m.db summary >/dev/null &&
	expect_mode 644 m.db-wal && expect_mode 644 m.db-shm &&
	run 0 crm-import --db m.db customers c.csv &&
	expect_eq "crm-import: warning: m.db: mode was 0644, now 0600: it holds personal data
crm-import: warning: m.db-wal: mode was 0644, now 0600: it holds personal data
crm-import: warning: m.db-shm: mode was 0644, now 0600: it holds personal data" "$(grep warning err)" &&
	expect_mode 600 m.db &&
	run 0 crm-import --db m.db customers c.csv &&
	expect_no_grep warning err
'

test_expect 'the -wal and -shm made after the base was set to 0600 are 0600 too (0660 base, umask 000)' '
	rm -f m.db m.db-wal m.db-shm &&
	cp base.db m.db && chmod 660 m.db &&
	(umask 000 && crm-import --db m.db customers c.csv 2>err.m) &&
	(umask 000 && crm-report --db m.db summary >/dev/null) &&
	expect_mode 600 m.db && expect_mode 600 m.db-wal && expect_mode 600 m.db-shm &&
	expect_eq "crm-import: warning: m.db: mode was 0660, now 0600: it holds personal data" "$(grep warning err.m)"
'

# ---- network file systems ------------------------------------------------

# fakefs.so: statfs() says the file system is of type $FAKE_FSTYPE
cat >fakefs.c <<'EOF_'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/vfs.h>

static void fake(struct statfs *b)
{
	const char *s = getenv("FAKE_FSTYPE");
	if (s)
		b->f_type = strtol(s, NULL, 0);
}

int statfs(const char *path, struct statfs *b)
{
	int (*real)(const char *, struct statfs *) =
		(int (*)(const char *, struct statfs *))dlsym(RTLD_NEXT, "statfs");
	int rc = real(path, b);
	if (rc == 0)
		fake(b);
	return rc;
}

int statfs64(const char *path, struct statfs64 *b)
{
	int (*real)(const char *, struct statfs64 *) =
		(int (*)(const char *, struct statfs64 *))dlsym(RTLD_NEXT, "statfs64");
	int rc = real(path, b);
	if (rc == 0 && getenv("FAKE_FSTYPE"))
		b->f_type = strtol(getenv("FAKE_FSTYPE"), NULL, 0);
	return rc;
}
EOF_

# on_fs TYPE CMD...: CMD with statfs() saying TYPE (a sanitizer's
# runtime first when the build has one)
on_fs() {
	_t=$1
	shift
	_asan=$(ldd "$(command -v "$1")" 2>/dev/null | awk '/libasan/ { print $3 }')
	FAKE_FSTYPE=$_t LD_PRELOAD="$_asan $TEST_DIR/fakefs.so" \
		ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" "$@"
}

if cc -shared -fPIC -o fakefs.so fakefs.c -ldl 2>/dev/null &&
	on_fs 0x6969 crm-import --version >/dev/null 2>&1; then
test_expect 'a base on NFS or SMB/CIFS: a warning from writers and readers, and the work done' '
	rm -f n.db* &&
	run 0 on_fs 0x6969 crm-import --db n.db customers c.csv &&
	expect_eq "crm-import: warning: n.db: on a network file system (NFS): SQLite'"'"'s locking does not hold there and the base can be damaged; keep it on a local disk" "$(grep warning err)" &&
	expect_eq 3000 "$(CRM_DB=n.db sql "SELECT count(*) FROM customers")" &&
	run 0 on_fs 0xFF534D42 crm-report --db n.db summary &&
	expect_eq "crm-report: warning: n.db: on a network file system (CIFS): SQLite'"'"'s locking does not hold there and the base can be damaged; keep it on a local disk" "$(cat err)" &&
	run 0 on_fs 0xFE534D42 crm-segment --db n.db -c "orders = 0" &&
	expect_grep "(SMB2)" err &&
	run 0 on_fs 0x517B crm-segment --db n.db -c "orders = 0" &&
	expect_grep "(SMB)" err &&
	run 0 on_fs 0xEF53 crm-import --db n.db customers c.csv &&
	expect_no_grep warning err
'
else
	test_count=$((test_count + 1))
	echo "ok $test_count # skip network file systems: no cc, or fakefs.so cannot be preloaded"
fi

# ---- corruption -------------------------------------------------------------

test_expect 'crm-report check: "ok" and exit 0 on a sound base; usage errors' '
	run 0 crm-report --db base.db check &&
	expect_eq ok "$(cat out)" &&
	test ! -s err &&
	run 2 crm-report --db base.db check --where "orders > 1" &&
	run 2 crm-report --db base.db check extra
'

test_expect 'crm-report check: a row that refers to a missing customer' '
	cp base.db fk.db &&
	sqlite3 fk.db "INSERT INTO orders(id, external_id, customer_id, ordered_at, amount, currency)
		VALUES (99999, '"'"'X'"'"', 77777, '"'"'2026-01-01 00:00:00'"'"', 1, '"'"'RUB'"'"')" &&
	run 1 crm-report --db fk.db check &&
	expect_eq "row 99999 of orders refers to a missing row of customers" "$(cat out)" &&
	expect_eq "crm-report: fk.db: 1 row refers to rows that are missing (PRAGMA foreign_key_check)" "$(cat err)"
'

# corrupt_index FILE INDEX: garbage over the root page of INDEX, after a
# checkpoint has put every page into the main file
corrupt_index() {
	sqlite3 "$1" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
	_root=$(sqlite3 "$1" "SELECT rootpage FROM sqlite_schema WHERE name = '$2'")
	_ps=$(sqlite3 "$1" "PRAGMA page_size")
	test "$_root" -gt 1
	printf 'garbage-garbage-garbage-garbage' |
		dd of="$1" bs=1 seek=$(((_root - 1) * _ps)) conv=notrunc 2>/dev/null
	echo "$_root"
}

# hint FILE: what every program says last when SQLite found FILE damaged
hint() {
	echo "$1: the database is corrupt: 'crm-report check' lists the damage; 'sqlite3 $1 .recover >saved.sql' saves what is left"
}

test_expect 'a damaged index page: crm-report check lists it (exit 1); the programs that read it say the base is corrupt and what to do' '
	cp base.db bad.db &&
	root=$(corrupt_index bad.db sqlite_autoindex_customers_1) &&
	run 1 crm-report --db bad.db check &&
	expect_grep "Page $root: " out &&
	expect_eq "crm-report: bad.db: the database is corrupt ($(grep -c "" out) problems found by PRAGMA integrity_check): '"'"'sqlite3 bad.db .recover >saved.sql'"'"' saves what is left" "$(cat err)" &&
	run 1 crm-import --db bad.db customers c.csv &&
	expect_eq "crm-import: $(hint bad.db)" "$(tail -n 1 err)" &&
	expect_grep "database disk image is malformed" err &&
	run 1 crm-report --db bad.db customer C5 &&
	expect_eq "crm-report: $(hint bad.db)" "$(tail -n 1 err)" &&
	run 1 crm-segment --db bad.db -c "external_id > \"C1\"" &&
	expect_eq "crm-segment: $(hint bad.db)" "$(tail -n 1 err)" &&
	printf "id\nC1\n" >who.csv &&
	run 1 crm-send --db bad.db --campaign x --channel file --no-consent --template t.tmpl -o sent.eml -f csv who.csv &&
	expect_eq "crm-send: $(hint bad.db)" "$(tail -n 1 err)"
'

test_expect 'a damaged base is not migrated: PRAGMA quick_check first, the version unchanged' '
	cp base.db bad2.db &&
	corrupt_index bad2.db customers_email >/dev/null &&
	sqlite3 bad2.db "PRAGMA user_version = $((NSCHEMA - 1))" &&
	run 1 crm-import --db bad2.db customers c.csv &&
	expect_grep "crm-import: bad2.db: the database is damaged (PRAGMA quick_check); not migrating it" err &&
	expect_eq "crm-import: $(hint bad2.db)" "$(tail -n 1 err)" &&
	expect_eq $((NSCHEMA - 1)) "$(CRM_DB=bad2.db sql "PRAGMA user_version")"
'

test_done
