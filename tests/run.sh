#!/bin/sh
# Runs every test: the C unit tests built into BUILD/tests and the CLI
# tests in tests/cli (two at a time). Each prints TAP lines ("ok N - ...",
# "not ok N - ..."); this script counts them and ends with the line
# "N passed, N failed". Usage: tests/run.sh [BUILD_DIR] [TEST...]
BUILD=${1:-build}
[ $# -gt 0 ] && shift
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
	tests="$(ls "$BUILD"/tests/test_* 2>/dev/null) $(ls "$top"/tests/cli/t[0-9]*.sh)"
fi

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

# two at a time: the machines this runs on have two cores
set -- $tests
while [ $# -gt 0 ]; do
	run_one "$1" &
	if [ $# -gt 1 ]; then
		run_one "$2" &
		shift
	fi
	shift
	wait
done

pass=0
fail=0
for c in "$results"/*.count; do
	read p f <"$c"
	pass=$((pass + p))
	fail=$((fail + f))
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
