#!/bin/sh
# bench/score.sh BUILD_DIR - crm-score's benchmark (issue 4): the CDNOW
# fits of the papers and `crm-score clv` on the bench base.
#
#   1. The CDNOW sample (tests/fixtures/cdnow, 2,357 customers) and, when
#      it is there, the full CDNOW cohort (23,570 customers; CDNOW_MASTER,
#      default ../shared/data/cdnow/CDNOW_master.txt): imported with
#      crm-import, then `crm-score -v clv --as-of 1997-09-30`. The BG/NBD
#      and Gamma-Gamma fit times come from crm-score's own report (-v);
#      the command is timed as a whole too.
#   2. The bench base (1M customers, 5M orders from bench/gen): the
#      database BENCH_SCORE_DB if given (for example one that bench/run.sh
#      kept with BENCH_KEEP=1), else the orders file of bench/gen loaded
#      by sqlite3 into a crmkit database (kept in $BENCH_DATA/score/ and
#      reused while the file is unchanged). Timed: the whole
#      `crm-score clv` (orders read and summarised, both fits, predictions
#      written back), `crm-score clv --model pareto` (a dry run: the
#      Pareto/NBD fit and its predictions) and `crm-score rfm`.
#
# Targets (reported, not asserted): the two CDNOW sample fits together
# under 0.05 s; `crm-score clv` on 1M customers under 10 s, Pareto/NBD
# under 30 s. Exit status 1
# only when a step fails or CDNOW does not give the published parameters.
#
# Environment: BENCH_CUSTOMERS (1000000), BENCH_ORDERS (5000000),
# BENCH_SEED (1), BENCH_DATA (bench/data), BENCH_SCORE_DB, BENCH_CURRENCY
# (RUB, the main currency of bench/gen's orders), CDNOW_MASTER.
set -u

BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
IMPORT=$BUILD/bin/crm-import
SCORE=$BUILD/bin/crm-score
GEN=$BUILD/bench/gen
NC=${BENCH_CUSTOMERS:-1000000}
NO=${BENCH_ORDERS:-5000000}
SEED=${BENCH_SEED:-1}
DATA=${BENCH_DATA:-$HERE/data}
CUR=${BENCH_CURRENCY:-RUB}
MASTER=${CDNOW_MASTER:-$TOP/../shared/data/cdnow/CDNOW_master.txt}
W=$DATA/score
LC_ALL=C
TZ=UTC
export LC_ALL TZ
unset CRM_DB CRM_NOW CRM_CONFIG

die() { echo "bench/score: $*" >&2; exit 1; }

[ -x "$IMPORT" ] || die "$IMPORT missing (make)"
[ -x "$SCORE" ] || die "$SCORE missing (make)"
mkdir -p "$W" || die "cannot create $W"
fail=0

. "$HERE/base.sh"


# fit_ms NAME MODEL: the fit time crm-score -v reported, in milliseconds
fit_ms() {
	sed -n "s|^crm-score: $2 converged in .* evaluations, \([0-9.]*\) ms).*|\1|p" "$W/$1.err"
}

# val NAME MODEL PARAMETER: a value of crm-score's csv summary
val() {
	awk -F, -v m="$2" -v p="$3" '$1 == m && $2 == p { print $3 }' "$W/$1.out"
}

printf '%-34s %10s %9s %9s %9s\n' step customers seconds "fit ms" "peak MiB"

# ---- CDNOW ---------------------------------------------------------------
cdnow() { # NAME FILE ID_COLUMN DATE_COLUMN AMOUNT_COLUMN
	_db=$W/$1.db
	rm -f "$_db" "$_db-wal" "$_db-shm"
	awk -v id="$3" -v d="$4" -v a="$5" 'BEGIN { print "customer_id,ordered_at,amount,currency" }
		{ sub(/\r$/, "") } $d !~ /^[0-9]+$/ { next }
		{ printf "C%s,%s-%s-%s,%s,USD\n", $id, substr($d, 1, 4), substr($d, 5, 2),
		  substr($d, 7, 2), $a }' "$2" >"$W/$1.csv"
	"$IMPORT" --db "$_db" -q orders "$W/$1.csv" || die "$1: crm-import failed"
	timed "$1" "$SCORE" --db "$_db" -v -f csv clv --as-of 1997-09-30
	[ "$rc" -eq 0 ] || { fail=1; echo "bench/score: $1: crm-score failed:"; cat "$W/$1.err"; return; }
	bg=$(fit_ms "$1" BG/NBD)
	gg=$(fit_ms "$1" Gamma-Gamma)
	fit=$(awk -v a="$bg" -v b="$gg" 'BEGIN { printf "%.1f", a + b }')
	printf '%-34s %10s %9s %9s %9s\n' "crm-score clv, $1" "$(val "$1" bgnbd customers)" \
		"$secs" "$fit" "$(mib "$kb")"
	printf '    BG/NBD r %.4f alpha %.3f a %.4f b %.3f LL %.2f (%s ms); Gamma-Gamma p %.2f q %.2f gamma %.2f LL %.2f (%s ms)\n' \
		"$(val "$1" bgnbd r)" "$(val "$1" bgnbd alpha)" "$(val "$1" bgnbd a)" \
		"$(val "$1" bgnbd b)" "$(val "$1" bgnbd log_likelihood)" "$bg" \
		"$(val "$1" gamma_gamma p)" "$(val "$1" gamma_gamma q)" \
		"$(val "$1" gamma_gamma gamma)" "$(val "$1" gamma_gamma log_likelihood)" "$gg"
	rm -f "$_db" "$_db-wal" "$_db-shm" "$W/$1.csv"
}

cdnow cdnow-sample "$TOP/tests/fixtures/cdnow/CDNOW_sample.txt" 2 3 5
sample_fit=${fit:-}
sample_ok=$(awk -v r="$(val cdnow-sample bgnbd r)" -v ll="$(val cdnow-sample bgnbd log_likelihood)" \
	'BEGIN { d = r - 0.2426; e = ll + 9582.43; print (d < 0 ? -d : d) < 5e-5 && (e < 0 ? -e : e) < 0.005 }')
[ "$sample_ok" = 1 ] || { fail=1; echo "bench/score: the CDNOW sample does not give the published fit"; }
if [ -r "$MASTER" ]; then
	cdnow cdnow-master "$MASTER" 1 2 4
else
	echo "    (no $MASTER: the full CDNOW cohort is skipped; set CDNOW_MASTER)"
fi

# ---- the bench base ------------------------------------------------------
db=${BENCH_SCORE_DB:-}
if [ -z "$db" ]; then
	bench_base
fi
[ -r "$db" ] || die "no database $db"

timed bench-clv "$SCORE" --db "$db" -v -f csv clv --currency "$CUR"
if [ "$rc" -eq 0 ]; then
	clv_secs=$secs
	bg=$(fit_ms bench-clv BG/NBD)
	gg=$(fit_ms bench-clv Gamma-Gamma)
	printf '%-34s %10s %9s %9s %9s\n' "crm-score clv, bench base" "$(val bench-clv clv customers)" \
		"$secs" "$(awk -v a="$bg" -v b="$gg" 'BEGIN { printf "%.1f", a + b }')" "$(mib "$kb")"
else
	fail=1
	clv_secs=
	echo "bench/score: crm-score clv on the bench base failed:"
	tail -5 "$W/bench-clv.err"
fi
timed bench-pareto "$SCORE" --db "$db" -v -n -f csv clv --model pareto --currency "$CUR"
if [ "$rc" -eq 0 ]; then
	pareto_secs=$secs
	printf '%-34s %10s %9s %9s %9s\n' "crm-score clv --model pareto (-n)" \
		"$(val bench-pareto clv customers)" "$secs" "$(fit_ms bench-pareto Pareto/NBD)" \
		"$(mib "$kb")"
else
	fail=1
	pareto_secs=
	echo "bench/score: crm-score clv --model pareto on the bench base failed:"
	tail -5 "$W/bench-pareto.err"
fi
timed bench-rfm "$SCORE" --db "$db" -v -f csv rfm --currency "$CUR"
if [ "$rc" -eq 0 ]; then
	printf '%-34s %10s %9s %9s %9s\n' "crm-score rfm, bench base" \
		"$(awk -F, 'NR > 1 { n += $2 } END { print n }' "$W/bench-rfm.out")" "$secs" "" "$(mib "$kb")"
else
	fail=1
	echo "bench/score: crm-score rfm on the bench base failed:"
	tail -5 "$W/bench-rfm.err"
fi
echo
echo "crm-score -v on the bench base:"
sed 's/^/    /' "$W/bench-clv.err"

verdict() { # OK TEXT
	if [ "$1" = 1 ]; then echo "PASS  $2"; else echo "FAIL  $2"; fi
}
echo
verdict "$(awk -v f="${sample_fit:-999}" 'BEGIN { print f < 50 }')" \
	"CDNOW sample: BG/NBD + Gamma-Gamma fits in ${sample_fit:-?} ms (target < 50 ms)"
verdict "$(awk -v s="${clv_secs:-999}" 'BEGIN { print s < 10 }')" \
	"crm-score clv on the bench base in ${clv_secs:-?} s (target < 10 s for 1M customers)"
verdict "$(awk -v s="${pareto_secs:-999}" 'BEGIN { print s < 30 }')" \
	"crm-score clv --model pareto on the bench base in ${pareto_secs:-?} s (target < 30 s for 1M customers)"
exit $fail
