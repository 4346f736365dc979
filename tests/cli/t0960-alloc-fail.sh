#!/bin/sh
# Allocation failure at every allocation count of one small import: with
# tests/faults/failmalloc.c preloaded, the Nth malloc/calloc/realloc made
# after main() starts returns NULL, in crm-import itself or in any library
# it calls (SQLite, libcsv, cJSON, glibc's stdio). For N = 1, 2, ... until
# the run makes fewer than N allocations: a clean error (exit 1 and a
# "crm-import: " message) or success, never a signal; the file intact; the
# import (one transaction) stored all or nothing; then a normal re-run
# equals the reference.
#
# Why a preloaded allocator rather than a -D build of util.c's xmalloc
# with SQLITE_CONFIG_MALLOC: it tests the programs as built and the
# libraries as installed, including allocations that never pass through
# xmalloc (libcsv, cJSON, strdup and fopen inside glibc, SQLite's own);
# an xmalloc failure is a clean "out of memory" by construction.
#
# make check tries one count in ALLOC_STEP (default 20, from a random
# offset shown in the title); ALLOC_STEP=1 tries every count (some 2700,
# a minute or two), ALLOC_OFFSET=K replays, ALLOC_END=N stops after N.
. "$CRM_TOP/tests/lib.sh"

SO=$CRM_BIN/../tests/failmalloc.so
STEP=${ALLOC_STEP:-20}
OFFSET=${ALLOC_OFFSET:-$(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % STEP + 1 ))}

if ! LD_PRELOAD=$SO crm-import --version >/dev/null 2>&1; then
	# a sanitizer runtime must be the first library: it cannot be
	# preloaded under, and has its own allocator (make check-asan)
	echo "ok 1 # skip failmalloc.so cannot be preloaded into this build"
	echo "1..1"
	exit 0
fi

dump() {
	sql "SELECT external_id, email, phone, first_name, city, attrs, is_stub
		FROM customers ORDER BY 1"
}

test_expect 'setup: a base, and the reference import (an update, a new customer, a reject)' '
	printf "id,email,phone,first_name,city,plan\nA1,a1@example.com,+79161234567,Ann,Kazan,pro\nA2,a2@example.com,,Bob,Omsk,free\n" >base.csv &&
	crm-import --db base.db customers base.csv 2>/dev/null &&
	printf "id,email,phone,first_name,city,plan\nA1,A1@Example.COM,89161234567,Ann,Izhevsk,pro\nA3,a3@example.com,+79161234569,Cem,Perm,free\n,broken-address,,Dan,,\n" >small.csv &&
	cp base.db ref.db &&
	run 3 crm-import --db ref.db --rejects ref-rej.csv -c RU customers small.csv &&
	CRM_DB=ref.db dump >ref.txt &&
	CRM_DB=base.db dump >base.txt &&
	expect_eq 3 "$(wc -l <ref.txt | tr -d " ")" &&
	! cmp -s ref.txt base.txt
'

test_expect "every ${STEP}th allocation count from $OFFSET fails in turn: clean error or success, never a crash" '
	n=$OFFSET && tries=0 && errors=0 && ok=0 &&
	while :; do
		cp base.db t.db && rm -f t.db-wal t.db-shm log
		set +e
		CRM_FAILMALLOC=$n CRM_FAILMALLOC_LOG=$PWD/log LD_PRELOAD=$SO \
			crm-import --db t.db --rejects rej.csv -c RU customers small.csv >out 2>err
		rc=$?
		set -e
		tries=$((tries + 1))
		case $rc in
		3) ok=$((ok + 1)) ;;
		1)
			errors=$((errors + 1))
			grep -q "^crm-import: " err || { echo "N=$n: exit 1 without a message"; cat err; exit 1; } ;;
		*)
			echo "N=$n: exit status $rc"; cat err; exit 1 ;;
		esac
		expect_eq ok "$(CRM_DB=t.db sql "PRAGMA integrity_check")" "N=$n: integrity"
		CRM_DB=t.db dump >got.txt
		if ! cmp -s got.txt base.txt && ! cmp -s got.txt ref.txt; then
			echo "N=$n (exit $rc): half an import stored"; cat err; diff ref.txt got.txt; exit 1
		fi
		if [ $rc -eq 3 ]; then
			cmp -s got.txt ref.txt || { echo "N=$n: exit 3 without the import"; exit 1; }
		fi
		# the shim logs "ALLOCATIONS FAILED": past the last one, done
		test -s log || { echo "N=$n: no log from failmalloc.so"; exit 1; }
		read count failed <log
		if [ "$failed" = 0 ]; then
			break
		fi
		last=$n
		n=$((n + STEP))
		# ALLOC_END=N stops early (to split a full run in parts)
		if [ -n "${ALLOC_END:-}" ] && [ $n -gt "$ALLOC_END" ]; then
			count=$n
			break
		fi
	done &&
	echo "$tries runs, $count allocations: $errors clean errors, $ok successes" &&
	test $count -gt 100 && test $errors -gt 0 &&
	cp base.db t.db && rm -f t.db-wal t.db-shm &&
	CRM_FAILMALLOC=$last LD_PRELOAD=$SO crm-import --db t.db -c RU customers small.csv 2>/dev/null || true &&
	run 3 crm-import --db t.db --rejects rej.csv -c RU customers small.csv &&
	CRM_DB=t.db dump >got.txt &&
	expect_same ref.txt got.txt &&
	expect_same ref-rej.csv rej.csv
'

test_done
