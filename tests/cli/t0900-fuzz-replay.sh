#!/bin/sh
# The fuzz targets of tests/fuzz, built with the normal compiler and
# tests/fuzz/replay.c (make tests), run over their seed corpus and over
# every crasher the fuzzers found (tests/fuzz/regress/NAME): each input
# must pass the target's properties again. Under make check-asan this is
# also an ASan + UBSan run of the same inputs.
. "$CRM_TOP/tests/lib.sh"

FZ=$CRM_TOP/tests/fuzz
for src in "$FZ"/fuzz_*.c; do
	n=$(basename "$src" .c)
	n=${n#fuzz_}
	export n FZ
	test_expect "fuzz target $n replays its corpus and crashers" '
		bin=$CRM_BIN/../tests/replay_$n
		test -x "$bin" || { echo "$bin not built (make tests)"; exit 1; }
		total=$(ls "$FZ/corpus/$n" | wc -l)
		dis=0
		if [ -d "$FZ/regress/$n" ]; then
			total=$((total + $(ls "$FZ/regress/$n" | grep -v -e "^README$" -e "\.disabled$" | wc -l)))
			dis=$(ls "$FZ/regress/$n" | grep -c "\.disabled$" || true)
		fi
		test "$total" -gt 0
		run 0 "$bin" "$FZ/corpus/$n" "$FZ/regress/$n"
		expect_eq "replayed $total inputs ($dis disabled)" "$(cat out)"
	'
done
test_done
