#!/bin/sh
# I/O errors injected into every program with libfiu (Debian fiu-utils:
# fiu-run -x fails read, write, open, close, fsync... at random), and a
# disk-full run (ulimit -f): each run either succeeds or ends with a clean
# error (exit 1, a message, no signal); the file is intact; what a
# one-transaction run stored is all or nothing; a re-run without faults
# gives the result of a run that never saw one. FAULT_SEED=S replays,
# FAULT_ROUNDS=N runs more rounds per program.
. "$CRM_TOP/tests/lib.sh"

ROUNDS=${FAULT_ROUNDS:-8}
SEED=${FAULT_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}

FIU_LIB=/usr/lib/fiu
if ! command -v fiu-run >/dev/null 2>&1 || ! test -e $FIU_LIB/fiu_posix_preload.so; then
	echo "fiu-run is missing: apt-get install fiu-utils (make deps)" >&2
	exit 1
fi

# faulty I ARGS...: runs ARGS under fiu-run, the I/O calls failing at
# random (probability P, default 0.004; 0.1 in round 1) from the seed
# SEED * 100 + I;
# status in ./rc, stdout in ./out, stderr in ./err
faulty() {
	_i=$1
	_p=${P:-0.004}
	# the first round is all but sure to fail: every test sees an error
	[ "$_i" -ne 1 ] || _p=0.1
	shift
	# what fiu-run -x -f "" -c "enable_random ..." does, with a
	# sanitizer's runtime first when the build has one (it must be)
	_asan=$(ldd "$(command -v "$1")" 2>/dev/null | awk '/libasan/ { print $3 }')
	set +e
	FIU_PRNG_SEED=$((SEED * 100 + _i)) FIU_CTRL_FIFO= \
		FIU_ENABLE="enable_random name=posix/io/*,probability=$_p" \
		LD_PRELOAD="$_asan $FIU_LIB/fiu_run_preload.so $FIU_LIB/fiu_posix_preload.so" \
		ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" "$@" >out 2>err
	echo $? >rc
	set -e
}

# clean PROG: the faulty run ended well (0, or 3 for rejects) or with a
# clean error: status 1, a "PROG: " message, no signal
clean() {
	rc=$(cat rc)
	if grep -q "Sanitizer\|runtime error" err; then
		echo "a sanitizer report:"; cat err; return 1
	fi
	case $rc in
	0 | 3) return 0 ;;
	1) grep -q "^$1: " err || { echo "status 1 without a message:"; cat err; return 1; } ;;
	*) echo "status $rc (signal or crash):"; cat err; return 1 ;;
	esac
}

intact() {
	expect_eq ok "$(CRM_DB=$1 sql "PRAGMA integrity_check")" "integrity of $1"
}

customers() {
	sql "SELECT external_id, email, phone, first_name, city, attrs FROM customers ORDER BY 1"
}
orders() {
	sql "SELECT o.external_id, c.external_id, o.ordered_at, o.amount, o.currency
		FROM orders o JOIN customers c ON c.id = o.customer_id ORDER BY 1, 2"
}
scores() {
	sql "SELECT c.external_id, s.r, s.f, s.m, s.rfm_segment
		FROM scores s JOIN customers c ON c.id = s.customer_id ORDER BY 1"
}

test_expect 'setup: references from runs without faults' '
	awk "BEGIN { print \"id,email,phone,first_name,city,plan\";
		for (i = 1; i <= 3000; i++)
			printf \"F%04d,f%d@example.com,+7916%07d,Name%d,City%d,p%d\n\", i, i, i, i, i % 40, i % 3 }" >cust.csv &&
	awk "BEGIN { print \"customer_id,ordered_at,amount,currency\";
		for (i = 1; i <= 6000; i++)
			printf \"F%04d,2026-%02d-%02d,%d.%02d,RUB\n\", (i * 7) % 3000 + 1, i % 11 + 1, i % 28 + 1, i % 900, i % 100 }" >ord.csv &&
	crm-import --db empty.db customers /dev/null 2>/dev/null &&
	cp empty.db ref.db &&
	crm-import --db ref.db customers cust.csv 2>/dev/null &&
	CRM_DB=ref.db customers >ref-customers.txt &&
	cp ref.db cust.db &&
	crm-import --db ref.db orders ord.csv 2>/dev/null &&
	CRM_DB=ref.db orders >ref-orders.txt &&
	cp ref.db ordered.db &&
	crm-score --db ref.db rfm >/dev/null 2>&1 &&
	CRM_DB=ref.db scores >ref-scores.txt &&
	test "$(wc -l <ref-scores.txt)" -gt 2000 &&
	crm-segment --db ref.db -f csv --fields id,email,revenue "orders >= 2 and city != \"City3\"" >ref-seg.csv &&
	test "$(wc -l <ref-seg.csv)" -gt 1000 &&
	CRM_DB=ref.db sql .dump >ref.dump
'

test_expect "crm-import customers, $ROUNDS runs with I/O faults: all or nothing, then the same (seed $SEED)" '
	i=0 && failed=0 &&
	while [ $i -lt $ROUNDS ]; do
		i=$((i + 1))
		cp empty.db f.db && rm -f f.db-wal f.db-shm
		P=0.002 faulty $i crm-import --db f.db customers cust.csv
		clean crm-import || { echo "round $i"; exit 1; }
		test "$(cat rc)" = 0 || failed=$((failed + 1))
		intact f.db
		n=$(CRM_DB=f.db sql "SELECT count(*) FROM customers")
		test "$n" -eq 0 || test "$n" -eq 3000 || { echo "round $i: $n customers half-stored"; cat err; exit 1; }
		crm-import --db f.db customers cust.csv 2>/dev/null
		CRM_DB=f.db customers >got.txt
		cmp -s got.txt ref-customers.txt || { echo "round $i: the re-run differs"; exit 1; }
	done &&
	echo "$failed of $ROUNDS runs failed on a fault" &&
	test $failed -ge 1
'

test_expect "crm-import orders --batch 1000, $ROUNDS runs with I/O faults, then the same (seed $SEED)" '
	i=0 && failed=0 &&
	while [ $i -lt $ROUNDS ]; do
		i=$((i + 1))
		cp cust.db f.db && rm -f f.db-wal f.db-shm
		P=0.002 faulty $i crm-import --db f.db --batch 1000 orders ord.csv
		clean crm-import || { echo "round $i"; exit 1; }
		test "$(cat rc)" = 0 || failed=$((failed + 1))
		intact f.db
		# whole batches only, and order_stats agrees with them
		n=$(CRM_DB=f.db sql "SELECT count(*) FROM orders")
		test $((n % 1000)) -eq 0 || { echo "round $i: $n orders, not whole batches"; exit 1; }
		crm-import --db f.db orders ord.csv 2>/dev/null
		CRM_DB=f.db orders >got.txt
		cmp -s got.txt ref-orders.txt || { echo "round $i: the re-run differs"; exit 1; }
	done &&
	echo "$failed of $ROUNDS runs failed on a fault" &&
	test $failed -ge 1
'

test_expect "crm-score rfm, $ROUNDS runs with I/O faults, then the same (seed $SEED)" '
	i=0 && failed=0 &&
	while [ $i -lt $ROUNDS ]; do
		i=$((i + 1))
		cp ordered.db f.db && rm -f f.db-wal f.db-shm
		faulty $i crm-score --db f.db rfm
		clean crm-score || { echo "round $i"; exit 1; }
		test "$(cat rc)" = 0 || failed=$((failed + 1))
		intact f.db
		n=$(CRM_DB=f.db sql "SELECT count(*) FROM scores")
		test "$n" -eq 0 || test "$n" -eq "$(wc -l <ref-scores.txt)" || { echo "round $i: $n scores half-stored"; exit 1; }
		crm-score --db f.db rfm >/dev/null 2>&1
		CRM_DB=f.db scores >got.txt
		cmp -s got.txt ref-scores.txt || { echo "round $i: the re-run differs"; exit 1; }
	done &&
	echo "$failed of $ROUNDS runs failed on a fault" &&
	test $failed -ge 1
'

test_expect "crm-segment, $ROUNDS runs with I/O faults: the right rows or an error, the file untouched (seed $SEED)" '
	i=0 && failed=0 &&
	cp ref.db f.db && rm -f f.db-wal f.db-shm &&
	while [ $i -lt $ROUNDS ]; do
		i=$((i + 1))
		faulty $i crm-segment --db f.db -f csv --fields id,email,revenue "orders >= 2 and city != \"City3\""
		clean crm-segment || { echo "round $i"; exit 1; }
		if [ "$(cat rc)" = 0 ]; then
			cmp -s out ref-seg.csv || { echo "round $i: exit 0 with other rows"; diff ref-seg.csv out | head; exit 1; }
		else
			failed=$((failed + 1))
		fi
		intact f.db
	done &&
	CRM_DB=f.db sql .dump >f.dump &&
	cmp -s ref.dump f.dump &&
	echo "$failed of $ROUNDS runs failed on a fault" &&
	test $failed -ge 1
'

test_expect "crm-report rfm and cohorts, $ROUNDS runs with I/O faults: the right report or an error (seed $SEED)" '
	crm-report --db ref.db -f csv rfm >ref-rfm.csv 2>/dev/null &&
	crm-report --db ref.db -f csv cohorts >ref-coh.csv 2>/dev/null &&
	cp ref.db f.db && rm -f f.db-wal f.db-shm &&
	i=0 && failed=0 &&
	while [ $i -lt $ROUNDS ]; do
		i=$((i + 1))
		for r in rfm coh; do
			if [ $r = rfm ]; then
				faulty $i crm-report --db f.db -f csv rfm
			else
				faulty $i crm-report --db f.db -f csv cohorts
			fi
			clean crm-report || { echo "round $i"; exit 1; }
			if [ "$(cat rc)" = 0 ]; then
				cmp -s out ref-$r.csv || { echo "round $i: exit 0 with another report"; diff ref-$r.csv out | head; exit 1; }
			else
				failed=$((failed + 1))
			fi
		done
		intact f.db
	done &&
	CRM_DB=f.db sql .dump >f.dump &&
	cmp -s ref.dump f.dump &&
	echo "$failed of $((2 * ROUNDS)) runs failed on a fault" &&
	test $failed -ge 1
'

test_expect "crm-send (file channel), $ROUNDS runs with I/O faults, then --retry: one record each (seed $SEED)" '
	printf "Subject: hi {{first_name}}\n\nHello {{first_name}}\n" >t.tmpl &&
	head -401 cust.csv | cut -d, -f1 >ids.csv &&
	cp ref.db s.db && rm -f s.db-wal s.db-shm &&
	i=0 && failed=0 &&
	while [ $i -lt $ROUNDS ]; do
		i=$((i + 1))
		faulty $i crm-send --db s.db --campaign faults --channel file --no-consent \
			--template t.tmpl -o sent.$i.txt -f csv ids.csv
		clean crm-send || { echo "round $i"; exit 1; }
		test "$(cat rc)" = 0 || failed=$((failed + 1))
		intact s.db
	done &&
	crm-send --db s.db --campaign faults --channel file --no-consent --template t.tmpl \
		-o last.txt -f csv ids.csv 2>/dev/null &&
	crm-send --db s.db --campaign faults --channel file --no-consent --template t.tmpl \
		--retry --resend-in-doubt -o retry.txt -f csv 2>/dev/null &&
	echo "$failed of $ROUNDS runs failed on a fault" &&
	test $failed -ge 1 &&
	expect_eq "400|400" "$(CRM_DB=s.db sql "SELECT count(*), count(DISTINCT customer_id) FROM messages")" &&
	expect_eq "sent|400" "$(CRM_DB=s.db sql "SELECT status, count(*) FROM messages GROUP BY 1")"
'

test_expect 'disk full (ulimit -f) during an import: a clean error, nothing stored, then the same' '
	cp empty.db full.db &&
	awk "BEGIN { print \"id,email,phone,first_name,city,plan\";
		for (i = 1; i <= 20000; i++)
			printf \"G%05d,g%d@example.com,+7917%07d,Name%d,City%d,p%d\n\", i, i, i, i, i % 40, i % 3 }" >big.csv &&
	set +e
	(ulimit -f 1024; exec crm-import --db full.db customers big.csv) >out 2>err
	rc=$?
	set -e
	cat err &&
	expect_eq 1 "$rc" "exit status past the file size limit" &&
	grep -q "^crm-import: .*full.db: .*\(disk I/O error\|disk is full\)" err &&
	intact full.db &&
	expect_eq 0 "$(CRM_DB=full.db sql "SELECT count(*) FROM customers")" &&
	run 0 crm-import --db full.db customers big.csv &&
	expect_eq 20000 "$(CRM_DB=full.db sql "SELECT count(*) FROM customers")"
'

test_expect 'disk full while writing --rejects: a clean error' '
	awk "BEGIN { print \"id,email\"; for (i = 1; i <= 20000; i++) printf \",not-an-address-%d-%s\n\", i, \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\" }" >bad.csv &&
	cp empty.db rej.db &&
	set +e
	(ulimit -f 256; exec crm-import --db rej.db --rejects rej.csv customers bad.csv) >out 2>err
	rc=$?
	set -e
	tail -3 err &&
	expect_eq 1 "$rc" "exit status" &&
	grep -q "^crm-import: rej.csv: write error: File too large" err &&
	intact rej.db
'

test_done
