#!/bin/sh
# Runs every libFuzzer target built into BUILD/fuzz (make fuzz) for
# SECONDS each, two at a time (the machines have two cores), starting from
# the seed corpus (tests/fuzz/corpus/NAME) and the crashers found before
# (tests/fuzz/regress/NAME); new inputs go to BUILD/fuzz/corpus/NAME and
# are kept for the next run. A crash, leak, timeout or failed property is
# reported with the input that caused it (BUILD/fuzz/artifacts/NAME/); add
# that input to tests/fuzz/regress/NAME once fixed, so make check replays
# it. Usage: tests/fuzz/run.sh BUILD SECONDS [NAME...]
BUILD=${1:-build-fuzz}
SECS=${2:-60}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] && shift
top=$(cd "$(dirname "$0")/../.." && pwd)
case $BUILD in /*) ;; *) BUILD=$top/$BUILD ;; esac
if [ $# -gt 0 ]; then
	names="$*"
else
	names=$(cd "$BUILD/fuzz" && ls fuzz_* | sed 's/^fuzz_//')
fi

run_one() {
	n=$1
	dict=
	[ -f "$top/tests/fuzz/$n.dict" ] && dict=-dict=$top/tests/fuzz/$n.dict
	mkdir -p "$BUILD/fuzz/corpus/$n" "$BUILD/fuzz/artifacts/$n"
	log=$BUILD/fuzz/$n.log
	# -timeout: an input that takes 10 s is a hang; -rss_limit_mb: the
	# default 2 GB is more than a small CI machine has for two
	ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	"$BUILD/fuzz/fuzz_$n" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=1024 \
		-max_len=4096 -print_final_stats=1 $dict \
		-artifact_prefix="$BUILD/fuzz/artifacts/$n/" \
		"$BUILD/fuzz/corpus/$n" "$top/tests/fuzz/corpus/$n" \
		$( [ -d "$top/tests/fuzz/regress/$n" ] && echo "$top/tests/fuzz/regress/$n" ) \
		>"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
	if [ $rc -eq 0 ]; then
		printf 'fuzz %-6s ok      %ss, %s runs, %s, corpus %s\n' "$n" "$SECS" "${runs:-?}" \
			"${cov:-cov: ?}" "$(ls "$BUILD/fuzz/corpus/$n" | wc -l)"
	else
		printf 'fuzz %-6s FAILED  (exit %s) after %s runs; input: %s\n' "$n" "$rc" "${runs:-?}" \
			"$(ls -t "$BUILD/fuzz/artifacts/$n" | head -1 | sed "s|^|$BUILD/fuzz/artifacts/$n/|")"
		grep -E -m 12 'ERROR|property failed|SUMMARY|#[0-9] 0x' "$log" | sed 's/^/    /'
		echo "    (whole log: $log)"
		: >"$BUILD/fuzz/$n.failed"
	fi
}

rm -f "$BUILD"/fuzz/*.failed
set -- $names
while [ $# -gt 0 ]; do
	run_one "$1" &
	if [ $# -gt 1 ]; then
		run_one "$2" &
		shift
	fi
	shift
	wait
done
failed=$(ls "$BUILD"/fuzz/*.failed 2>/dev/null | wc -l)
echo "fuzz: $(echo $names | wc -w) targets, $failed failed"
[ "$failed" -eq 0 ]
