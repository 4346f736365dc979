#!/bin/sh
# bench/uplift.sh BUILD_DIR - crm-score uplift's benchmark (issue 21): a
# campaign of 1M recipients, half held out, over customers with 14 numeric
# attributes and up to three orders of history (20 features in all, after
# the 12 of crm-score's own that vary here), a 5% base rate and an effect
# that depends on two attributes.
#
#   peer: the same T-learner in Python scikit-learn (LogisticRegression on
#         the same 20 columns, standardised): 3-fold cross-validated Qini
#         and a final fit, then the 1M customers scored; reading the
#         columns from the base is not counted;
#   crm-score uplift --campaign bench: everything, from reading the base
#         to writing 1M scores, with 4 candidates (two methods, two
#         penalties) cross-validated on 3 folds.
#
# Target (reported, not asserted): under 30 s on 2 cores, and the ratio to
# the peer. Needs python3-sklearn (make deps-test).
#
# Environment: BENCH_RECIPIENTS (1000000), BENCH_DATA (bench/data).
set -u

BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
HERE=$(cd "$(dirname "$0")" && pwd)
IMPORT=$BUILD/bin/crm-import
SCORE=$BUILD/bin/crm-score
N=${BENCH_RECIPIENTS:-1000000}
DATA=${BENCH_DATA:-$HERE/data}
W=$DATA/uplift
PY=/usr/bin/python3
LC_ALL=C
TZ=UTC
export LC_ALL TZ
unset CRM_DB CRM_NOW CRM_CONFIG

die() { echo "bench/uplift: $*" >&2; exit 1; }

[ -x "$SCORE" ] || die "$SCORE missing (make)"
"$PY" -c 'import sklearn' 2>/dev/null || die "scikit-learn missing (make deps-test)"
mkdir -p "$W" || die "cannot create $W"
. "$HERE/base.sh"
db=$W/uplift-$N.db
NOW='2026-11-01 00:00:00'

if [ ! -s "$db" ]; then
	cat >"$W/gen.py" <<-\EOF
	import random, sys
	n, d = int(sys.argv[1]), sys.argv[2]
	rnd = random.Random(21)
	with open(d + "/c.csv", "w") as c, open(d + "/m.csv", "w") as m, open(d + "/o.csv", "w") as o:
	    c.write("id," + ",".join("x%d" % k for k in range(14)) + "\n")
	    m.write("campaign,customer_id,group,sent_at\n")
	    o.write("order_id,customer_id,ordered_at,amount,currency\n")
	    oid = 0
	    for i in range(n):
	        x = [rnd.gauss(0, 1) for k in range(14)]
	        cid = "U%07d" % i
	        c.write(cid + "," + ",".join("%.4f" % v for v in x) + "\n")
	        t = rnd.random() < 0.5
	        m.write("bench,%s,%s,2026-10-01 10:00:00\n" % (cid, "treatment" if t else "control"))
	        for k in range(rnd.randint(0, 3)):
	            oid += 1
	            o.write("O%d,%s,2026-0%d-1%d 12:00:00,%d.00,EUR\n" % (oid, cid, rnd.randint(1, 8), rnd.randint(0, 9), rnd.randint(10, 90)))
	        p = 0.05 + (0.06 * (x[0] > 0) - 0.03 * (x[1] > 1) if t else 0)
	        if rnd.random() < p:
	            oid += 1
	            o.write("O%d,%s,2026-10-0%d 12:00:00,%d.00,EUR\n" % (oid, cid, rnd.randint(2, 9), rnd.randint(10, 90)))
	EOF
	echo "bench/uplift: making the base of $N recipients (once; kept in $db)"
	"$PY" "$W/gen.py" "$N" "$W" || die "cannot generate the data"
	"$IMPORT" --db "$db.tmp" -q customers "$W/c.csv" &&
		"$IMPORT" --db "$db.tmp" -q orders "$W/o.csv" &&
		"$IMPORT" --db "$db.tmp" -q messages "$W/m.csv" &&
		mv "$db.tmp" "$db" || die "cannot import the data"
	rm -f "$W/c.csv" "$W/m.csv" "$W/o.csv" "$db.tmp-wal" "$db.tmp-shm"
fi

cat >"$W/peer.py" <<-\EOF
	import sqlite3, sys, time
	import numpy as np
	from sklearn.linear_model import LogisticRegression
	from sklearn.model_selection import KFold
	db = sqlite3.connect(sys.argv[1])
	q = ("SELECT " + ", ".join("json_extract(c.attrs, '$.x%d')" % k for k in range(14)) +
	     ", (SELECT count(*) FROM orders o WHERE o.customer_id = c.id AND o.ordered_at < m.sent_at),"
	     " (SELECT total(amount) FROM orders o WHERE o.customer_id = c.id AND o.ordered_at < m.sent_at),"
	     " (SELECT julianday(m.sent_at) - julianday(max(o.ordered_at)) FROM orders o WHERE o.customer_id = c.id AND o.ordered_at < m.sent_at),"
	     " (SELECT julianday(m.sent_at) - julianday(min(o.ordered_at)) FROM orders o WHERE o.customer_id = c.id AND o.ordered_at < m.sent_at),"
	     " m.grp = 'treatment', EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id AND o.ordered_at > m.sent_at"
	     " AND o.ordered_at <= datetime(m.sent_at, '+14 days'))"
	     " FROM messages m JOIN customers c ON c.id = m.customer_id")
	rows = np.array([[0 if v is None else v for v in r] for r in db.execute(q)], dtype=float)
	X = rows[:, :18]
	X = np.c_[X, X[:, 14] > 0, np.where(X[:, 14] > 0, X[:, 15] / np.maximum(X[:, 14], 1), 0)]
	X[:, 14:18] = np.log1p(np.maximum(X[:, 14:18], 0))
	X = (X - X.mean(0)) / np.maximum(X.std(0), 1e-12)
	t, y = rows[:, 18] > 0, rows[:, 19]
	t0 = time.time()
	s = np.zeros(len(y))
	for tr, te in KFold(3, shuffle=True, random_state=1).split(X):
	    m1 = LogisticRegression().fit(X[tr][t[tr]], y[tr][t[tr]])
	    m0 = LogisticRegression().fit(X[tr][~t[tr]], y[tr][~t[tr]])
	    s[te] = m1.predict_proba(X[te])[:, 1] - m0.predict_proba(X[te])[:, 1]
	m1 = LogisticRegression().fit(X[t], y[t])
	m0 = LogisticRegression().fit(X[~t], y[~t])
	u = m1.predict_proba(X)[:, 1] - m0.predict_proba(X)[:, 1]
	print("%.2f %d" % (time.time() - t0, X.shape[1]))
	EOF

printf '%-52s %10s %9s %9s %9s\n' step rows seconds ratio "peak MiB"
timed peer "$PY" "$W/peer.py" "$db"
[ "$rc" -eq 0 ] || { cat "$W/peer.err"; die "the scikit-learn peer failed"; }
read -r peer_secs nfeat <"$W/peer.out"
printf '%-52s %10s %9s %9s %9s\n' "scikit-learn T-learner, 3-fold CV + fit ($nfeat features)" "$N" "$peer_secs" "" "$(mib "$kb")"
timed uplift "$SCORE" --db "$db" --now "$NOW" -v -f csv uplift --campaign bench
[ "$rc" -eq 0 ] || { cat "$W/uplift.err"; die "crm-score uplift failed"; }
ratio=$(awk -v a="$secs" -v b="$peer_secs" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
printf '%-52s %10s %9s %9s %9s\n' "crm-score uplift (4 candidates x 3 folds, 1M scored)" "$N" "$secs" "$ratio" "$(mib "$kb")"
grep "uplift model" "$W/uplift.err" | sed 's/^/    /'
awk -v s="$secs" 'BEGIN { printf "target: under 30 s: %s (%.1f s)\n", s < 30 ? "met" : "NOT MET", s }'
