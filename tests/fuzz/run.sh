#!/bin/sh
# Runs every libFuzzer target built into BUILD/fuzz (make fuzz) for
# SECONDS each, two at a time (the machines have two cores), starting from
# the seed corpus (tests/fuzz/corpus/NAME) and the crashers found before
# (tests/fuzz/regress/NAME); new inputs go to BUILD/fuzz/corpus/NAME and
# are kept for the next run. A crash, leak, timeout or failed property is
# reported with the input that caused it (BUILD/fuzz/artifacts/NAME/); add
# that input to tests/fuzz/regress/NAME once fixed, so make check replays
# it. A failure prints libFuzzer's -seed and every input it wrote (path
# and base64), so that a CI log alone is enough to replay it:
#     echo BASE64 | base64 -d > x && build/tests/replay_NAME x
# FUZZ_SEED=N runs every target with that seed (else a random one each).
# Usage: tests/fuzz/run.sh BUILD SECONDS [NAME...]
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
	seed=${FUZZ_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
	stamp=$BUILD/fuzz/$n.start
	: >"$stamp"
	# -timeout: an input that takes 10 s is a hang; -rss_limit_mb: the
	# default 2 GB is more than a small CI machine has for two
	ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	"$BUILD/fuzz/fuzz_$n" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=1024 \
		-max_len=4096 -print_final_stats=1 -seed="$seed" $dict \
		-artifact_prefix="$BUILD/fuzz/artifacts/$n/" \
		"$BUILD/fuzz/corpus/$n" "$top/tests/fuzz/corpus/$n" \
		$( [ -d "$top/tests/fuzz/regress/$n" ] && echo "$top/tests/fuzz/regress/$n" ) \
		>"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
	if [ $rc -eq 0 ]; then
		printf 'fuzz %-6s ok      %ss, %s runs, %s, corpus %s, seed %s\n' "$n" "$SECS" \
			"${runs:-?}" "${cov:-cov: ?}" "$(ls "$BUILD/fuzz/corpus/$n" | wc -l)" "$seed"
	else
		# what went wrong, then how to replay it: the seed, and each
		# input libFuzzer wrote in this run (crash-, leak-, timeout-,
		# oom-, slow-unit-) by path and as base64
		{
		printf 'fuzz %-6s FAILED  (exit %s) after %s runs, -seed=%s\n' "$n" "$rc" \
			"${runs:-?}" "$seed"
		grep -E -m 12 'ERROR|property failed|SUMMARY|#[0-9] 0x' "$log" | sed 's/^/    /'
		found=0
		for a in $(find "$BUILD/fuzz/artifacts/$n" -type f -newer "$stamp" | sort); do
			found=1
			echo "    input: $a ($(wc -c <"$a") bytes), base64:"
			base64 -w 76 "$a" | sed 's/^/      /'
		done
		[ $found -eq 1 ] || echo "    input: none written (see the log)"
		echo "    replay: build/tests/replay_$n INPUT, or $BUILD/fuzz/fuzz_$n -seed=$seed INPUT"
		echo "    (whole log: $log)"
		} >"$BUILD/fuzz/$n.report"
		: >"$BUILD/fuzz/$n.failed"
	fi
	rm -f "$stamp"
}

rm -f "$BUILD"/fuzz/*.failed "$BUILD"/fuzz/*.report
set -- $names
while [ $# -gt 0 ]; do
	run_one "$1" &
	if [ $# -gt 1 ]; then
		run_one "$2" &
		shift
	fi
	shift
	wait
	# the reports of a pair one after the other, not interleaved
	for f in "$BUILD"/fuzz/*.report; do
		[ -f "$f" ] && cat "$f" && rm -f "$f"
	done
done
failed=$(ls "$BUILD"/fuzz/*.failed 2>/dev/null | wc -l)
echo "fuzz: $(echo $names | wc -w) targets, $failed failed"
[ "$failed" -eq 0 ]
