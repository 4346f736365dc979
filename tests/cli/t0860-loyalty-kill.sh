#!/bin/sh
# crm-loyalty run killed with SIGKILL at random moments, and run twice at
# once: the file stays intact, the ledger is either the one before or the
# one of a whole run (one transaction), and a re-run gives exactly the
# ledger of an uninterrupted run; two runs at once take turns, nothing is
# earned twice. $ROUNDS kills (runs that end before their kill do not
# count; the kills then come earlier). CRASH_SEED=N replays a failure,
# CRASH_ROUNDS=N runs more rounds.
. "$CRM_TOP/tests/lib.sh"

ROUNDS=${CRASH_ROUNDS:-15}
SEED=${CRASH_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}

cat >crm.conf <<-\EOF
	[loyalty]
	earn = 3%
	point_value = 0.01
	pending = 14d
	expire = 180d
	welcome = 50
	tiers = silver:500
	tier_multiplier = silver:2
EOF

ledger() {
	sqlite3 "$1" "SELECT key, kind, points, occurred_at, coalesce(lot_id, '') FROM loyalty_ledger ORDER BY key"
}
ms() {
	echo $(($(date +%s%N) / 1000000))
}

test_expect 'setup: 4000 customers with 40000 orders over two years, a first run at mid-2025' '
	"$PY" - <<-\EOF2 &&
	import random
	rnd = random.Random(5)
	with open("orders.csv", "w") as f:
	    f.write("order_id,customer_id,ordered_at,amount,currency,status\n")
	    for i in range(40000):
	        c = rnd.randint(1, 4000)
	        d = rnd.randint(0, 729)
	        y, doy = (2025, d) if d < 365 else (2026, d - 365)
	        m = min(12, doy // 31 + 1)
	        day = min(28, doy % 31 + 1)
	        st = "refunded" if rnd.random() < 0.05 else "completed"
	        f.write("O%d,K%d,%d-%02d-%02d 10:00:00,%d.00,EUR,%s\n" % (i, c, y, m, day, rnd.randint(5, 300), st))
	EOF2
	CRM_NOW="2025-01-01" crm-import --db base.db orders orders.csv 2>/dev/null &&
	crm-loyalty --db base.db --now "2025-06-30" -q run &&
	ledger base.db >old.txt &&
	test "$(wc -l <old.txt)" -gt 10000
'

test_expect 'the reference: an uninterrupted run as of 2026-12-31' '
	cp base.db ref.db &&
	t0=$(ms) &&
	crm-loyalty --db ref.db --now "2026-12-31" -q run &&
	echo $(( $(ms) - t0 )) >run.ms &&
	ledger ref.db >new.txt &&
	! cmp -s old.txt new.txt
'

test_expect "$ROUNDS kills at random moments, then a re-run (seed $SEED)" '
	t=$(cat run.ms) && i=0 && killed=0 &&
	while [ $killed -lt $ROUNDS ] && [ $i -lt $((ROUNDS * 3)) ]; do
		i=$((i + 1))
		cp base.db crash.db && rm -f crash.db-wal crash.db-shm
		d=$(awk -v s=$SEED -v i=$i -v t=$t "BEGIN { srand(s * 1000 + i); printf \"%.3f\", rand() * t * 0.9 / 1000 }")
		crm-loyalty --db crash.db --now "2026-12-31" -q run &
		pid=$!
		sleep $d
		if kill_now $pid; then killed=$((killed + 1)); else t=$((t * 3 / 4)); fi
		expect_eq ok "$(sqlite3 crash.db "PRAGMA integrity_check")" "round $i (kill after $d s): integrity"
		ledger crash.db >l.txt
		if ! cmp -s l.txt old.txt && ! cmp -s l.txt new.txt; then
			echo "round $i (kill after $d s): the ledger is neither the old nor the new one"
			exit 1
		fi
		crm-loyalty --db crash.db --now "2026-12-31" -q run || exit 1
		ledger crash.db >l.txt
		expect_same new.txt l.txt || { echo "round $i: the re-run differs"; exit 1; }
	done &&
	echo "$killed kills in $i rounds" &&
	test $killed -ge $((ROUNDS / 2))
'

test_expect 'two runs at once: both succeed, one ledger, nothing twice' '
	cp base.db two.db || exit 1
	# (a list before "&" would go to the background with it)
	{ crm-loyalty --db two.db --now "2026-12-31" -q run; echo $? >a.rc; } &
	{ crm-loyalty --db two.db --now "2026-12-31" -q run; echo $? >b.rc; } &
	wait
	expect_eq ok "$(sqlite3 two.db "PRAGMA integrity_check")" &&
	expect_eq "0 0" "$(cat a.rc) $(cat b.rc)" &&
	ledger two.db >l.txt &&
	expect_same new.txt l.txt &&
	expect_eq 0 "$(sqlite3 two.db "SELECT count(*) FROM (SELECT order_id FROM loyalty_ledger
		WHERE kind = '\''earn'\'' GROUP BY order_id HAVING count(*) > 1)")"
'

# an adjustment while a run holds the base: it waits for the lock, then
# lands after the run, and the account counts both (a full replay of a
# copy gives the same balance)
test_expect 'an adjustment during a run: both land, the account counts both' '
	cp base.db adj.db || exit 1
	{ crm-loyalty --db adj.db --now "2026-12-31" -q run; echo $? >r.rc; } &
	sleep 0.1
	crm-loyalty --db adj.db --now "2026-12-31" -q adjust K17 +777 --reason "goodwill" --key t-1
	echo $? >a.rc
	wait
	expect_eq "0 0" "$(cat r.rc) $(cat a.rc)" &&
	expect_eq "1|777" "$(sqlite3 adj.db "SELECT count(*), sum(points) FROM loyalty_ledger WHERE kind = '\''adjust'\''")" &&
	bal=$(sqlite3 adj.db "SELECT a.points FROM loyalty_accounts a JOIN customers c ON c.id = a.customer_id
		WHERE c.external_id = '\''K17'\''") &&
	cp adj.db adj2.db && crm-loyalty --db adj2.db --now "2026-12-31" -q run --full &&
	expect_eq "$bal" "$(sqlite3 adj2.db "SELECT a.points FROM loyalty_accounts a JOIN customers c ON c.id = a.customer_id
		WHERE c.external_id = '\''K17'\''")" &&
	expect_eq "$(ledger adj.db)" "$(ledger adj2.db)"
'

test_expect 'the ledger is append-only: UPDATE and DELETE are refused by the database' '
	! sqlite3 ref.db "UPDATE loyalty_ledger SET points = points + 1 WHERE id = 1" 2>err.txt &&
	expect_grep "loyalty_ledger is append-only" err.txt &&
	! sqlite3 ref.db "DELETE FROM loyalty_ledger WHERE id = 1" 2>err.txt &&
	expect_grep "crm-import erase removes a person" err.txt &&
	expect_same new.txt "$(ledger ref.db >l2.txt; echo l2.txt)"
'

test_done
