#!/bin/sh
# crm-score killed with SIGKILL at random moments while it re-scores a
# base that already has scores: the file stays intact, the scores are
# either all the old ones or all the new ones (one transaction), never a
# mix, no model row is left without its scores, and a re-run gives
# exactly the scores of an uninterrupted run. rfm and clv, $ROUNDS kills
# each (runs that end before their kill do not count; the kills then come
# earlier). The kill times come from a seed in the test titles:
# CRASH_SEED=N replays a failure, CRASH_ROUNDS=N runs more rounds.
. "$CRM_TOP/tests/lib.sh"

ROUNDS=${CRASH_ROUNDS:-20}
SEED=${CRASH_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}

# the scores as the models computed them (not the model ids or the time
# of the run); p_alive and clv rounded: the fits are deterministic, but
# this compares runs, not floating-point paths
scores() {
	sql "SELECT c.external_id, s.recency_days, s.frequency, s.monetary, s.r, s.f, s.m,
		s.rfm, s.rfm_segment, round(s.p_alive, 9), round(s.expected_orders, 9),
		round(s.clv, 6), s.updated_at IS NOT NULL
		FROM scores s JOIN customers c ON c.id = s.customer_id ORDER BY 1"
}
models() {
	sql "SELECT kind, params, customers FROM models ORDER BY id"
}
# ms: a clock in milliseconds
ms() {
	echo $(($(date +%s%N) / 1000000))
}

test_expect 'setup: two copies of the CDNOW sample (4714 customers), scored as of 1997-12-31' '
	{
		echo "customer_id,ordered_at,amount,currency,status"
		for k in 0 1; do
			cdnow_orders "$FIX/cdnow/CDNOW_sample.txt" | sed 1d | sed "s/^C/K${k}C/"
		done
	} >orders.csv &&
	crm-import --db base.db orders orders.csv 2>/dev/null &&
	crm-score --db base.db --as-of 1997-12-31 rfm >/dev/null 2>&1 &&
	crm-score --db base.db --as-of 1997-12-31 clv >/dev/null 2>&1 &&
	CRM_DB=base.db scores >old.txt &&
	test "$(wc -l <old.txt)" -eq 4714
'

for task in rfm clv; do
	test_expect "$task: the reference, an uninterrupted re-score as of 1998-06-30" '
		cp base.db ref.db &&
		t0=$(ms) &&
		crm-score --db ref.db --as-of 1998-06-30 '$task' >/dev/null 2>&1 &&
		echo $(( $(ms) - t0 )) >'$task'.ms &&
		CRM_DB=ref.db scores >'$task'-new.txt &&
		CRM_DB=ref.db models >'$task'-models.txt &&
		! cmp -s old.txt '$task'-new.txt
	'

	test_expect "$task: $ROUNDS kills at random moments, then a re-run (seed $SEED)" '
		t=$(cat '$task'.ms) && i=0 && killed=0 &&
		while [ $killed -lt $ROUNDS ] && [ $i -lt $((ROUNDS * 3)) ]; do
			i=$((i + 1))
			cp base.db crash.db && rm -f crash.db-wal crash.db-shm
			d=$(awk -v s=$SEED -v i=$i -v t=$t "BEGIN { srand(s * 1000 + i); printf \"%.3f\", rand() * t * 0.9 / 1000 }")
			crm-score --db crash.db --as-of 1998-06-30 '$task' >/dev/null 2>&1 &
			pid=$!
			sleep $d
			# a run that ended first (the reference ran on a busier
			# machine): the next kills come earlier
			if kill_now $pid; then killed=$((killed + 1)); else t=$((t * 3 / 4)); fi
			expect_eq ok "$(CRM_DB=crash.db sql "PRAGMA integrity_check")" "round $i (kill after $d s): integrity"
			CRM_DB=crash.db scores >s.txt
			if cmp -s s.txt old.txt; then
				# rolled back: no model of the killed run either
				expect_eq "$(CRM_DB=base.db models)" "$(CRM_DB=crash.db models)" "round $i: models after a rollback"
			elif ! cmp -s s.txt '$task'-new.txt; then
				echo "round $i (kill after $d s): scores are neither the old nor the new ones"
				diff old.txt s.txt | head -5
				exit 1
			fi
			crm-score --db crash.db --as-of 1998-06-30 '$task' >/dev/null 2>&1
			CRM_DB=crash.db scores >s.txt
			cmp -s s.txt '$task'-new.txt || { echo "round $i (kill after $d s): re-run differs"; diff '$task'-new.txt s.txt | head -5; exit 1; }
		done &&
		test -z "$(CRM_DB=crash.db sql "PRAGMA foreign_key_check")" &&
		echo "$killed of $i runs killed before they ended" &&
		test $killed -eq $ROUNDS
	'
done

test_done
