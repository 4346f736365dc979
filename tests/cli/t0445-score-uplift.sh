#!/bin/sh
# crm-score uplift (issue 21) on a simulated campaign with known effects:
# 6,000 customers in three tiers, a 5% base rate, a message that adds 15
# points for tier A, nothing for B and takes 5 off for C, half held out.
# The model must recover the order and the sign (by decile and by tier);
# its printed Qini coefficient equals scikit-uplift's formula written out
# here on its own out-of-fold rows (--rows); a T-learner in scikit-learn
# on the same rows gets about the same; too small a control group is
# refused with the counts and nothing written; the scores serve
# crm-segment (uplift, uplift("NAME"), --order-by uplift:desc) and leave
# with an erased customer.
. "$CRM_TOP/tests/lib.sh"

CRM_NOW='2026-11-01 00:00:00'
export CRM_NOW

cat >gen.py <<-\EOF
	import random, sys
	rnd = random.Random(int(sys.argv[1]))
	eff = {"A": 0.15, "B": 0.0, "C": -0.05}
	with open("c.csv", "w") as c, open("m.csv", "w") as m, open("o.csv", "w") as o:
	    c.write("id,email,tier,age\n")
	    m.write("campaign,customer_id,group,sent_at\n")
	    o.write("order_id,customer_id,ordered_at,amount,currency\n")
	    oid = 0
	    for i in range(6000):
	        g = rnd.choice("ABC")
	        cid = "U%05d" % i
	        c.write("%s,%s@example.org,%s,%d\n" % (cid, cid.lower(), g, rnd.randint(18, 80)))
	        treat = rnd.random() < 0.5
	        m.write("spring,%s,%s,2026-10-01 10:00:00\n" % (cid, "treatment" if treat else "control"))
	        for k in range(rnd.randint(0, 3)):
	            oid += 1
	            o.write("O%d,%s,2026-0%d-1%d 12:00:00,%d.00,EUR\n" % (oid, cid, rnd.randint(1, 8), rnd.randint(0, 9), rnd.randint(10, 90)))
	        if rnd.random() < 0.05 + (eff[g] if treat else 0):
	            oid += 1
	            o.write("O%d,%s,2026-10-0%d 12:00:00,%d.00,EUR\n" % (oid, cid, rnd.randint(2, 9), rnd.randint(10, 90)))
	EOF


test_expect 'setup: a past campaign imported as the outbox (crm-import messages)' '
	"$PY" gen.py 5 &&
	crm-import -q customers c.csv && crm-import -q orders o.csv &&
	run 0 crm-import messages m.csv &&
	expect_grep "6000 read, 6000 inserted, 0 updated, 0 unchanged, 0 rejected" err &&
	expect_eq "treatment|sent|3001 control|control|2999" "$(sql "SELECT grp, status, count(*) FROM messages GROUP BY 1, 2 ORDER BY 1 DESC" | tr "\n" " " | sed "s/ $//")" &&
	run 0 crm-import messages m.csv &&
	expect_grep "0 inserted, 0 updated, 6000 unchanged" err
'

test_expect 'crm-import messages: bad rows with FILE:LINE, crm-send'\''s rows never replaced' '
	printf "campaign,customer_id,group,sent_at\nspring,U00001,maybe,2026-10-01\nspring,U00002,control,\nspring,U00003,control,2026-13-01\n" >bad.csv &&
	run 3 crm-import messages bad.csv &&
	expect_grep "bad.csv:2: invalid group \"maybe\": treatment or control" err &&
	expect_grep "bad.csv:3: no sent_at" err &&
	expect_grep "bad.csv:4: invalid sent_at" err &&
	printf "campaign,customer_id,sent_at\nx,U00001,2026-10-01\n" >nogroup.csv &&
	run 1 crm-import messages nogroup.csv &&
	expect_grep "no group column (treatment or control)" err &&
	sqlite3 crm.db "UPDATE messages SET message_id = '\''<sent@example.org>'\'' WHERE id = 1" &&
	printf "campaign,customer_id,group,sent_at\nspring,U00000,control,2026-10-01\n" >over.csv &&
	run 3 crm-import messages over.csv &&
	expect_grep "over.csv:2: campaign \"spring\" already has crm-send'\''s message for this customer" err &&
	sqlite3 crm.db "UPDATE messages SET message_id = '\''imported-1-1'\'' WHERE id = 1"
'

test_expect 'too small a control group is refused with the counts, nothing written' '
	sql "SELECT c.external_id FROM messages m JOIN customers c ON c.id = m.customer_id
		WHERE m.grp = '\''treatment'\'' LIMIT 300" | sed "s/^/small,/; s/$/,treatment,2026-10-01 10:00:00/" >small.csv &&
	sql "SELECT c.external_id FROM messages m JOIN customers c ON c.id = m.customer_id
		WHERE m.grp = '\''control'\'' LIMIT 40" | sed "s/^/small,/; s/$/,control,2026-10-01 10:00:00/" >>small.csv &&
	sed -i "1i campaign,customer_id,group,sent_at" small.csv &&
	crm-import -q messages small.csv &&
	run 1 crm-score uplift --campaign small &&
	expect_grep "crm-score: too few rows to learn who responds: the treatment group has 300 recipients and" err &&
	expect_grep "the control group 40 and" err &&
	expect_grep "at least 100 recipients and 20 conversions in each group are needed" err &&
	expect_eq 0 "$(sql "SELECT count(*) FROM uplift_models")" &&
	run 1 crm-score uplift --campaign sprnig &&
	expect_grep "no campaign \"sprnig\"; did you mean \"spring\"?" err &&
	run 2 crm-score uplift &&
	expect_grep "uplift needs --campaign NAME" err &&
	run 2 crm-score uplift --campaign spring --outcome clicks &&
	expect_grep "invalid --outcome \"clicks\" (converted or revenue)" err &&
	run 2 crm-score rfm --campaign spring &&
	expect_grep "--campaign goes with uplift" err
'

test_expect 'the model recovers the effects: order and sign by decile and by tier' '
	run 0 crm-score -f csv uplift --campaign spring --rows rows.csv &&
	expect_grep "uplift model \"spring\"" err &&
	expect_eq 6000 "$(sql "SELECT count(*) FROM uplift_scores")" &&
	sql "SELECT json_extract(c.attrs, '\''$.tier'\''), avg(u.uplift) FROM uplift_scores u
		JOIN customers c ON c.id = u.customer_id GROUP BY 1 ORDER BY 1" >tiers &&
	awk -F"|" "{ u[\$1] = \$2 } END { exit !(u[\"A\"] > 0.10 && u[\"A\"] < 0.20 && u[\"B\"] > -0.04 && u[\"B\"] < 0.04 && u[\"C\"] < -0.02) }" tiers ||
		{ cat tiers; exit 1; } &&
	run 0 crm-report -f csv uplift spring --by decile &&
	awk -F, "NR == 2 { first = \$6 } NR == 11 { last = \$6 } END { exit !(first > 0.08 && last < 0) }" out ||
		{ cat out; exit 1; } &&
	# the predicted effect falls from the first decile to the last
	awk -F, "NR > 1 { if (NR > 2 && \$9 > prev) bad = 1; prev = \$9 } END { exit bad }" out
'

test_expect 'the printed Qini is scikit-uplift'\''s on the out-of-fold rows; a scikit-learn T-learner agrees' '
	expect_eq 6000 "$(($(wc -l <rows.csv) - 1))" &&
	q=$(crm-report -f csv uplift spring | awk -F, "NR == 2 { print \$13 }") &&
	expect_eq "$q" "$("$PY" "$CRM_TOP/tests/uplift_qini.py" rows.csv)" &&
	cat >sk.py <<-\EOF2 &&
	import csv, os, sqlite3, sys
	import numpy as np
	from sklearn.linear_model import LogisticRegression
	from sklearn.model_selection import KFold
	sys.path.insert(0, os.environ["CRM_TOP"] + "/tests")
	from uplift_qini import qini
	db = sqlite3.connect("crm.db")
	rows = db.execute("SELECT json_extract(c.attrs, '\''$.tier'\''), json_extract(c.attrs, '\''$.age'\''),"
	    " m.grp = '\''treatment'\'', EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = m.customer_id"
	    " AND o.ordered_at > m.sent_at AND o.ordered_at <= datetime(m.sent_at, '\''+14 days'\''))"
	    " FROM messages m JOIN customers c ON c.id = m.customer_id JOIN campaigns p ON p.id = m.campaign_id"
	    " WHERE p.name = '\''spring'\''").fetchall()
	X = np.array([[r[0] == "A", r[0] == "B", float(r[1]) / 80] for r in rows], dtype=float)
	t = np.array([r[2] for r in rows], dtype=bool)
	y = np.array([r[3] for r in rows], dtype=float)
	s = np.zeros(len(y))
	for tr, te in KFold(3, shuffle=True, random_state=1).split(X):
	    m1 = LogisticRegression().fit(X[tr][t[tr]], y[tr][t[tr]])
	    m0 = LogisticRegression().fit(X[tr][~t[tr]], y[tr][~t[tr]])
	    s[te] = m1.predict_proba(X[te])[:, 1] - m0.predict_proba(X[te])[:, 1]
	print("%.6f" % qini(list(y), list(s), list(t)))
	EOF2
	sk=$("$PY" sk.py) &&
	echo "crm-score $q, scikit-learn $sk" &&
	awk -v a="$q" -v b="$sk" "BEGIN { d = a - b; exit !(a > 0.25 && (d < 0 ? -d : d) < 0.05) }"
'

test_expect 'crm-segment: uplift, uplift("NAME"), --order-by uplift:desc; erase takes the scores' '
	run 0 crm-segment --fields id,attr.tier "uplift(\"spring\") > 0.08" &&
	a=$(sql "SELECT count(*) FROM customers WHERE json_extract(attrs, '\''$.tier'\'') = '\''A'\''") &&
	n=$(($(wc -l <out) - 1)) &&
	# nearly all of tier A, and few others (precision 95%)
	test "$(awk -F, "NR > 1 && \$2 != \"A\"" out | wc -l)" -le $((n / 20)) &&
	test "$(awk -F, "NR > 1 && \$2 == \"A\"" out | wc -l)" -ge $((a * 9 / 10)) &&
	run 0 crm-segment -f csv --fields id,uplift --order-by uplift:desc --limit 3 "uplift > 0" &&
	expect_eq "$(sql "SELECT c.external_id FROM uplift_scores u JOIN customers c ON c.id = u.customer_id
		ORDER BY u.uplift DESC, c.id LIMIT 3" | tr "\n" " ")" "$(awk -F, "NR > 1 { printf \"%s \", \$1 }" out)" &&
	id=$(awk -F, "NR == 2 { print \$1 }" out) &&
	printf "id\n%s\n" "$id" | crm-import -q erase - &&
	expect_eq 5999 "$(sql "SELECT count(*) FROM uplift_scores")"
'

test_expect 'revenue: the effect on spend ranks tier A first; a re-fit under a name replaces it' '
	run 0 crm-score -f csv uplift --campaign spring --outcome revenue --as spend &&
	sql "SELECT json_extract(c.attrs, '\''$.tier'\''), avg(u.uplift) FROM uplift_scores u
		JOIN uplift_models k ON k.id = u.model_id JOIN customers c ON c.id = u.customer_id
		WHERE k.name = '\''spend'\'' GROUP BY 1 ORDER BY 2 DESC" >rev &&
	expect_eq "A B C" "$(cut -d"|" -f1 rev | tr "\n" " " | sed "s/ $//")" &&
	expect_eq "EUR|revenue" "$(sql "SELECT currency, outcome FROM uplift_models WHERE name = '\''spend'\''")" &&
	run 0 crm-score -f csv uplift --campaign spring --method tlearner &&
	expect_eq "tlearner" "$(awk -F, "NR == 2 { print \$2 }" out)" &&
	expect_eq "2|tlearner" "$(sql "SELECT count(*), max(CASE WHEN name = '\''spring'\'' THEN method END) FROM uplift_models")" &&
	expect_eq 5999 "$(sql "SELECT count(*) FROM uplift_scores u JOIN uplift_models k ON k.id = u.model_id WHERE k.name = '\''spring'\''")"
'

test_expect 'the HTML page says who to message: the model in words, its Qini curve inside its chart, the deciles' '
	run 0 crm-report --html page.html &&
	expect_grep "<h2>Who to message</h2>" page.html &&
	q=$(sql "SELECT printf('\''%.3f'\'', qini) FROM uplift_models ORDER BY id DESC LIMIT 1") &&
	expect_grep "its Qini coefficient is $q (0 is a random order" page.html &&
	expect_grep "aria-label=\"Uplift by decile (table)\"" page.html &&
	"$PY" - <<-\EOF2
	import re
	s = open("page.html").read()
	svg = s[s.index("<svg class=\"chart\" id=\"qini\""):]
	svg = svg[:svg.index("</svg>")]
	w, h = map(float, re.search(r"viewBox=\"0 0 (\d+) (\d+)\"", svg).groups())
	pts = re.findall(r"points=\"([^\"]+)\"", svg)
	assert len(pts) == 2, pts
	for p in pts:
	    xy = [tuple(map(float, q.split(","))) for q in p.split()]
	    assert len(xy) == 21, len(xy)
	    assert all(0 <= x <= w and 0 <= y <= h for x, y in xy), xy
	EOF2
'

test_done
