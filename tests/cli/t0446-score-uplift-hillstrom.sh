#!/bin/sh
# crm-score uplift on real data: Kevin Hillstrom's e-mail test of 2008
# (tests/fixtures/hillstrom; 64,000 customers, a men's and a women's
# e-mail and a no-e-mail control, chosen at random). It goes in as a user
# brings a past experiment: customers with their history as attributes,
# crm-import messages for the groups (the two e-mails as variants of one
# campaign), an order for each conversion. The rates the model learnt
# from equal the published counts; its Qini coefficient is scikit-uplift's
# on its own out-of-fold rows, and a scikit-learn T-learner on the same
# customers, cross-validated apart, finds about as much.
. "$CRM_TOP/tests/lib.sh"

CRM_NOW='2008-06-01 00:00:00'
export CRM_NOW

cat >conv.py <<-\EOF
	import csv, lzma, os
	src = lzma.open(os.environ["FIX"] + "/hillstrom/hillstrom.csv.xz", "rt", newline="")
	with open("c.csv", "w") as c, open("m.csv", "w") as m, open("o.csv", "w") as o:
	    c.write("id,recency,history,mens,womens,zip_code,newbie,channel\n")
	    m.write("campaign,customer_id,group,variant,sent_at\n")
	    o.write("order_id,customer_id,ordered_at,amount,currency\n")
	    for i, r in enumerate(csv.DictReader(src)):
	        cid = "H%05d" % (i + 1)
	        c.write("%s,%s,%s,%s,%s,%s,%s,%s\n" % (cid, r["recency"], r["history"], r["mens"],
	                r["womens"], r["zip_code"], r["newbie"], r["channel"]))
	        seg = r["segment"]
	        m.write("hillstrom,%s,%s,%s,2008-03-20 09:00:00\n" % (cid,
	                "control" if seg == "No E-Mail" else "treatment",
	                "" if seg == "No E-Mail" else seg.split()[0].lower()))
	        if r["conversion"] == "1":
	            o.write("%s-1,%s,2008-03-25 12:00:00,%s,USD\n" % (cid, cid, r["spend"]))
	EOF
export FIX

test_expect 'a past experiment goes in: customers, the outbox of the test, the purchases' '
	"$PY" conv.py &&
	crm-import -q customers c.csv && crm-import -q orders o.csv &&
	run 0 crm-import messages m.csv &&
	expect_grep "64000 read, 64000 inserted" err &&
	expect_eq "control||21306 treatment|mens|21307 treatment|womens|21387" \
		"$(sql "SELECT grp, coalesce(variant, '\'''\''), count(*) FROM messages GROUP BY 1, 2 ORDER BY 1, 2" | tr "\n" " " | sed "s/ $//")" &&
	expect_eq 578 "$(sql "SELECT count(*) FROM orders")"
'

test_expect 'crm-report campaign sees the published conversions per e-mail' '
	run 0 crm-report -f csv campaign hillstrom --window 14d &&
	col() { awk -F, -v g="$1" -v c="$2" "NR == 1 { for (i = 1; i <= NF; i++) h[\$i] = i; next }
		\$1 == g { print \$h[c] }" out; } &&
	expect_eq 267 "$(col treatment:mens converted)" &&
	expect_eq 189 "$(col treatment:womens converted)" &&
	expect_eq 122 "$(col control converted)"
'

test_expect 'crm-score uplift learns from the 64,000: the rates are the published ones, the Qini is scikit-uplift'\''s' '
	run 0 crm-score -f csv uplift --campaign hillstrom --rows rows.csv &&
	expect_eq 64000 "$(($(wc -l <rows.csv) - 1))" &&
	run 0 crm-report -f csv uplift hillstrom &&
	head -n 1 out | tr , "\n" >cols &&
	val() { awk -F, -v c="$1" "NR == 1 { for (i = 1; i <= NF; i++) h[\$i] = i; next } { print \$h[c] }" out; } &&
	expect_eq "42694 21306" "$(val treated) $(val controls)" &&
	expect_eq "$(awk "BEGIN { printf \"%.6f\", 456 / 42694 }")" "$(val treated_rate)" &&
	expect_eq "$(awk "BEGIN { printf \"%.6f\", 122 / 21306 }")" "$(val control_rate)" &&
	q=$(val qini) &&
	expect_eq "$q" "$("$PY" "$CRM_TOP/tests/uplift_qini.py" rows.csv)" &&
	cat >sk.py <<-\EOF2 &&
	import csv, lzma, os, sys
	import numpy as np
	from sklearn.linear_model import LogisticRegression
	from sklearn.model_selection import KFold
	sys.path.insert(0, os.environ["CRM_TOP"] + "/tests")
	from uplift_qini import qini
	rows = list(csv.DictReader(lzma.open(os.environ["FIX"] + "/hillstrom/hillstrom.csv.xz", "rt", newline="")))
	def x(r):
	    return [float(r["recency"]), np.log1p(float(r["history"])), float(r["mens"]), float(r["womens"]),
	            float(r["newbie"]), r["zip_code"] == "Urban", r["zip_code"] == "Rural",
	            r["channel"] == "Web", r["channel"] == "Phone"]
	X = np.array([x(r) for r in rows], dtype=float)
	X = (X - X.mean(0)) / X.std(0)
	t = np.array([r["segment"] != "No E-Mail" for r in rows])
	y = np.array([float(r["conversion"]) for r in rows])
	s = np.zeros(len(y))
	for tr, te in KFold(3, shuffle=True, random_state=1).split(X):
	    m1 = LogisticRegression(C=1.0).fit(X[tr][t[tr]], y[tr][t[tr]])
	    m0 = LogisticRegression(C=1.0).fit(X[tr][~t[tr]], y[tr][~t[tr]])
	    s[te] = m1.predict_proba(X[te])[:, 1] - m0.predict_proba(X[te])[:, 1]
	print("%.6f" % qini(list(y), list(s), list(t)))
	EOF2
	sk=$("$PY" sk.py) &&
	echo "Hillstrom Qini: crm-score $q, scikit-learn T-learner $sk" &&
	awk -v a="$q" -v b="$sk" "BEGIN { d = a - b; exit !((d < 0 ? -d : d) < 0.1) }"
'

test_expect 'examples/uplift.sh brings the test in with sh, awk and xz alone, and learns the same' '
	mkdir ex &&
	run 0 sh "$CRM_TOP/examples/uplift.sh" "$CRM_BIN" "$TEST_DIR/ex" &&
	for q in "SELECT grp, coalesce(variant, \"\"), count(*) FROM messages GROUP BY 1, 2 ORDER BY 1, 2" \
		"SELECT c.external_id, o.amount, o.currency FROM orders o JOIN customers c ON c.id = o.customer_id ORDER BY 1" \
		"SELECT c.external_id, c.attrs FROM customers c ORDER BY 1" \
		"SELECT qini, treated, controls FROM uplift_models WHERE name = \"hillstrom\""; do
		expect_eq "$(sql "$q" | md5sum)" "$(CRM_DB=ex/uplift.db sql "$q" | md5sum)" || exit 1
	done &&
	expect_grep "$ crm-segment -c uplift(\"hillstrom\") > 0.01" out
'

test_done
