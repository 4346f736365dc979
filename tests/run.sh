#!/bin/sh
# Runs every test: the C unit tests built into BUILD/tests and the CLI
# tests in tests/cli (two at a time). Each prints TAP lines ("ok N - ...",
# "not ok N - ..."); this script counts them and ends with the line
# "N passed, N failed". Usage: tests/run.sh [BUILD_DIR] [TEST...]

# run_one TEST: runs one test, its output in $results/NAME.out, its counts
# in $results/NAME.count; prints one line (and the failures) when it ends
run_one() {
	t=$1
	name=$(basename "$t")
	start=$(date +%s)
	case $t in
	*.sh) sh "$t" >"$results/$name.out" 2>&1 ;;
	*) "$t" >"$results/$name.out" 2>&1 ;;
	esac
	rc=$?
	p=$(grep -c '^ok ' "$results/$name.out")
	f=$(grep -c '^not ok ' "$results/$name.out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		# died without saying which check failed: count it as one
		echo "not ok - $name exited with status $rc" >>"$results/$name.out"
		f=1
	fi
	echo "$p $f" >"$results/$name.count"
	el=$(( $(date +%s) - start ))
	if [ "$f" -eq 0 ]; then
		printf '%-40s %4d passed  (%ss)\n' "$name" "$p" "$el"
	else
		printf '%-40s %4d passed, %d FAILED (%ss)\n' "$name" "$p" "$f" "$el"
		grep -A 30 '^not ok' "$results/$name.out" | head -60 | sed 's/^/    /'
	fi
}

BUILD=${1:-build}
[ $# -gt 0 ] && shift
# (tests/run.sh --one RESULTS TEST: what the pool below runs)
if [ "$BUILD" = --one ]; then
	results=$1
	run_one "$2" >"$results/$(basename "$2").report"
	cat "$results/$(basename "$2").report"
	exit 0
fi
top=$(cd "$(dirname "$0")/.." && pwd)
case $BUILD in /*) ;; *) BUILD=$top/$BUILD ;; esac
CRM_BIN=$BUILD/bin
CRM_TOP=$top
export CRM_BIN CRM_TOP
results=$(mktemp -d "${TMPDIR:-/tmp}/crm-results.XXXXXX")
trap 'rm -rf "$results"' EXIT INT TERM

if [ $# -gt 0 ]; then
	tests="$*"
else
	# the slowest first (under ASan above all), so that the two
	# slots run out of work together rather than one waiting on t0150
	slow="t0150-crash t0965-concurrency t0955-faults t0300-order-stats t0640-send-concurrency
		t0950-score-crash t0986-send-http-netfaults t0985-send-net-faults t0630-send-nightly"
	tests="$BUILD/tests/test_expr"
	for t in $slow; do
		tests="$tests $top/tests/cli/$t.sh"
	done
	for t in $(ls "$BUILD"/tests/test_* 2>/dev/null) $(ls "$top"/tests/cli/t[0-9]*.sh); do
		case " $tests " in *" $t "*) ;; *) tests="$tests $t" ;; esac
	done
	for t in $tests; do
		[ -e "$t" ] || { echo "tests/run.sh: no $t (renamed? see the slow list)" >&2; exit 1; }
	done
fi

# two at a time (the machines this runs on have two cores), the next one
# starting as soon as a slot is free; each report is printed whole
printf '%s\n' $tests | xargs -n 1 -P 2 sh "$0" --one "$results"

pass=0
fail=0
for c in "$results"/*.count; do
	read p f <"$c"
	pass=$((pass + p))
	fail=$((fail + f))
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
