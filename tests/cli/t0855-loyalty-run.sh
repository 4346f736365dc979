#!/bin/sh
# crm-loyalty run against an independent model (tests/loyalty_model.py,
# written from crm-loyalty.1): 60 customers over three years of orders,
# refunds and events with every rule (earn, pending, expiry, welcome,
# birthday, events, tiers with multipliers and a quarterly review); the
# ledger and the accounts of one run equal the model's; twelve runs at
# month ends give the same ledger as one run; a second run adds nothing;
# an order refunded after its points were spent leaves a debt that the
# next points pay; purchases in other currencies earn at the rate of their
# day (crm-import rates) what the same purchases converted by hand earn.
. "$CRM_TOP/tests/lib.sh"

CRM_NOW='2026-12-31 12:00:00'
export CRM_NOW

cat >crm.conf <<-\EOF
	[loyalty]
	earn = 5%
	point_value = 0.01
	pending = 14d
	expire = 365d
	welcome = 100
	birthday = 200
	event.review = 50
	event.app_install = 30
	tiers = silver:300, gold:900
	tier_multiplier = silver:1.25, gold:1.5
	tier_review = quarter
EOF

# the data, and the model's answer at each time asked
cat >gen.py <<-\EOF
	import os, random, sys
	sys.path.insert(0, os.environ["CRM_TOP"] + "/tests")
	import loyalty_model as L
	rnd = random.Random(17)
	custs, orders, events = [], [], []
	for c in range(1, 61):
	    bday = None if c % 5 == 0 else (rnd.randint(1, 12), rnd.randint(1, 28))
	    if c == 7:
	        bday = (2, 29)
	    custs.append({"ext": "C%03d" % c, "bday": bday})
	oid = eid = 0
	for c in custs:
	    t = L.ts("2024-01-01") + rnd.randint(0, 600) * L.DAY
	    while t < L.ts("2026-12-31"):
	        oid += 1
	        amount = rnd.choice([1500, 2999, 4500, 8000, 12000, 25000, 40000])
	        status = "refunded" if rnd.random() < 0.08 else "completed"
	        orders.append((oid, c["ext"], t + rnd.randint(0, 86399), amount, status))
	        if status == "completed" and rnd.random() < 0.1:
	            oid += 1
	            orders.append((oid, c["ext"], t + rnd.randint(1, 20) * L.DAY, -amount // 2, "refunded"))
	        if rnd.random() < 0.3:
	            eid += 1
	            events.append((eid, c["ext"], rnd.choice(["review", "app_install", "page_view"]), t + 3600))
	        t += rnd.randint(5, 120) * L.DAY
	with open("customers.csv", "w") as f:
	    f.write("id,email,birthday\n")
	    for c in custs:
	        b = "" if not c["bday"] else "%04d-%02d-%02d" % (1980 if c["bday"] != (2, 29) else 1988, c["bday"][0], c["bday"][1])
	        f.write("%s,%s@example.org,%s\n" % (c["ext"], c["ext"].lower(), b))
	with open("orders.csv", "w") as f:
	    f.write("order_id,customer_id,ordered_at,amount,currency,status\n")
	    for (i, ext, t, a, s) in sorted(orders, key=lambda o: o[2]):
	        f.write("O%d,%s,%s,%d.%02d,EUR,%s\n" % (i, ext, L.fmt(t), a // 100 if a >= 0 else -(-a // 100), abs(a) % 100, s))
	with open("events.csv", "w") as f:
	    f.write("event_id,customer_id,type,occurred_at\n")
	    for (i, ext, ty, t) in events:
	        f.write("E%d,%s,%s,%s\n" % (i, ext, ty, L.fmt(t)))
	EOF

cat >model.py <<-\EOF
	# the model's ledger and accounts at argv[1], from the base's own ids
	import os, sqlite3, sys
	sys.path.insert(0, os.environ["CRM_TOP"] + "/tests")
	import loyalty_model as L
	now = L.ts(sys.argv[1])
	db = sqlite3.connect(sys.argv[2])
	R = L.Rules(0.05, 0.01, pending=14 * L.DAY, expire=365 * L.DAY, welcome=100, birthday=200,
	            events={"review": 50, "app_install": 30},
	            tiers=[("silver", 300, 1.25), ("gold", 900, 1.5)], review="quarter")
	out_rows, out_acct = [], []
	for (cid, ext, created, bday) in db.execute("SELECT id, external_id, created_at, birthday FROM customers ORDER BY id"):
	    c = {"id": cid, "created": L.ts(created), "bday": (int(bday[5:7]), int(bday[8:10])) if bday else None}
	    os_ = [{"id": i, "t": L.ts(t), "amount": a, "purchase": p} for (i, t, a, p) in db.execute(
	        "SELECT id, ordered_at, amount, purchase FROM orders WHERE customer_id = ? AND ordered_at <= ?"
	        " ORDER BY ordered_at, id", (cid, L.fmt(now)))]
	    es = [{"id": i, "type": ty, "t": L.ts(t)} for (i, ty, t) in db.execute(
	        "SELECT id, type, occurred_at FROM events WHERE customer_id = ? AND occurred_at <= ?"
	        " ORDER BY occurred_at, id", (cid, L.fmt(now)))]
	    rows, acct = L.run(R, c, os_, es, now)
	    for (key, kind, pts, t, av, ex) in rows:
	        out_rows.append("%s|%s|%d|%s|%s|%s" % (key, kind, pts, L.fmt(t), L.fmt(av) if av else "", L.fmt(ex) if ex else ""))
	    out_acct.append("%s|%d|%d|%s" % (ext, acct["points"], acct["pending"], acct["tier"] or ""))
	open("model-ledger.txt", "w").write("\n".join(sorted(out_rows)) + "\n")
	open("model-accounts.txt", "w").write("\n".join(sorted(out_acct)) + "\n")
	EOF

# the ledger of a base, expire rows named by their lot's key
ledger() {
	sqlite3 "$1" "SELECT CASE WHEN kind = 'expire' THEN 'expire:' || (SELECT x.key FROM loyalty_ledger x
		WHERE x.id = g.lot_id) ELSE key END, kind, points, occurred_at, coalesce(available_at, ''),
		coalesce(expires_at, '') FROM loyalty_ledger g" | sort
}
accounts() {
	sqlite3 "$1" "SELECT c.external_id, a.points, a.pending, coalesce(a.tier, '') FROM loyalty_accounts a
		JOIN customers c ON c.id = a.customer_id" | sort
}

test_expect 'setup: 60 customers, three years of orders, refunds and events' '
	"$PY" gen.py &&
	CRM_NOW="2024-01-01 00:00:00" run 0 crm-import customers customers.csv &&
	run 0 crm-import orders orders.csv &&
	run 0 crm-import events events.csv &&
	expect_eq 60 "$(sql "SELECT count(*) FROM customers")" &&
	test "$(sql "SELECT count(*) FROM orders")" -gt 500 &&
	test "$(sql "SELECT count(*) FROM orders WHERE purchase = -1")" -gt 10 &&
	cp crm.db one.db && cp crm.db many.db
'

test_expect 'one run: the ledger and the accounts of the model' '
	run 0 crm-loyalty --db one.db run &&
	expect_grep "loyalty: 60 members replayed as of 2026-12-31 12:00:00 (EUR)" err &&
	"$PY" model.py "2026-12-31 12:00:00" one.db &&
	ledger one.db >got-ledger.txt &&
	expect_same model-ledger.txt got-ledger.txt &&
	accounts one.db >got-accounts.txt &&
	expect_same model-accounts.txt got-accounts.txt &&
	for k in earn reverse expire welcome birthday event; do
		test "$(sqlite3 one.db "SELECT count(*) FROM loyalty_ledger WHERE kind = '\''$k'\''")" -gt 0 ||
			{ echo "no $k rows"; exit 1; }
	done &&
	test "$(sqlite3 one.db "SELECT count(*) FROM loyalty_accounts WHERE tier = '\''gold'\''")" -gt 0 &&
	test "$(sqlite3 one.db "SELECT count(*) FROM loyalty_tiers WHERE reason = '\''downgrade'\''")" -gt 0 &&
	test "$(sqlite3 one.db "SELECT count(*) FROM loyalty_ledger WHERE reason LIKE '\''gold x1.5'\''")" -gt 0
'

test_expect 'twelve runs at month ends: the same ledger and accounts as one' '
	for m in 2026-01-31 2026-02-28 2026-03-31 2026-04-30 2026-05-31 2026-06-30 2026-07-31 \
		 2026-08-31 2026-09-30 2026-10-31 2026-11-30; do
		crm-loyalty --db many.db --now "$m 23:59:59" -q run || exit 1
	done &&
	run 0 crm-loyalty --db many.db run &&
	ledger many.db >many-ledger.txt &&
	expect_same got-ledger.txt many-ledger.txt &&
	accounts many.db >many-accounts.txt &&
	expect_same got-accounts.txt many-accounts.txt &&
	expect_eq "$(sqlite3 one.db "SELECT customer_id, since, tier FROM loyalty_tiers ORDER BY 1, 2")" \
		"$(sqlite3 many.db "SELECT customer_id, since, tier FROM loyalty_tiers ORDER BY 1, 2")"
'

test_expect 'a second run adds nothing; an earlier --now is refused, nothing written' '
	sqlite3 one.db .dump >before.sql &&
	run 0 crm-loyalty --db one.db run &&
	expect_grep "nothing new" err &&
	run 1 crm-loyalty --db one.db --now "2026-12-01" run &&
	expect_grep "crm-loyalty: --now 2026-12-01 00:00:00 is before the last run'\''s (2026-12-31 12:00:00): runs go forward in time, nothing written" err &&
	sqlite3 one.db .dump | grep -v "loyalty_accounts\|loyalty_lots" >after.sql &&
	grep -v "loyalty_accounts\|loyalty_lots" before.sql >before2.sql &&
	expect_same before2.sql after.sql
'

# crm-report loyalty against sums of the ledger and accounts in SQL
test_expect 'crm-report loyalty: the summary, months, tiers and members, as the ledger says' '
	printf "[loyalty]\npoint_value = 0.01\ncurrency = EUR\n" >report.conf &&
	CRM_CONFIG=report.conf run 0 crm-report --db one.db -f csv loyalty &&
	expect_eq "currency,members,points,pending,liability,debts,debtors,earned,spent,expired,breakage" "$(head -1 out)" &&
	want=$(sqlite3 one.db "SELECT '\''EUR,'\'' || count(*) || '\'','\'' || sum(max(points, 0)) || '\'','\''
		|| sum(pending) FROM loyalty_accounts") &&
	expect_eq "$want" "$(sed -n 2p out | cut -d, -f1-4)" &&
	pts=$(sqlite3 one.db "SELECT sum(max(points, 0)) FROM loyalty_accounts") &&
	expect_eq "$(awk -v p=$pts "BEGIN { printf \"%g\", p * 0.01 }")" "$(sed -n 2p out | cut -d, -f5)" &&
	expect_eq "$(sqlite3 one.db "SELECT sum(points) FROM loyalty_ledger WHERE points > 0 AND kind <> '\''adjust'\''")" \
		"$(sed -n 2p out | cut -d, -f8)" &&
	expect_eq "$(sqlite3 one.db "SELECT -sum(points) FROM loyalty_ledger WHERE kind = '\''expire'\''")" \
		"$(sed -n 2p out | cut -d, -f10)" &&
	run 0 crm-report --db one.db -f csv loyalty --by month &&
	expect_eq "$(sqlite3 one.db "SELECT sum(points) FROM loyalty_ledger")" \
		"$(awk -F, "NR > 1 { s += \$8 } END { print s }" out)" &&
	expect_eq "$(sqlite3 one.db "SELECT count(DISTINCT substr(occurred_at, 1, 7)) FROM loyalty_ledger")" \
		"$(($(wc -l <out) - 1))" &&
	run 0 crm-report --db one.db -f csv loyalty --by tier &&
	expect_eq "$(sqlite3 one.db "SELECT coalesce(tier, '\''(base)'\'') || '\'','\'' || count(*) FROM loyalty_accounts
		GROUP BY tier ORDER BY 1")" "$(sed 1d out | cut -d, -f1,2 | sort)" &&
	run 0 crm-report --db one.db -f csv loyalty --by member &&
	expect_eq "members,60" "$(sed -n 2p out | cut -d, -f1,2)" &&
	expect_grep "the gap is not its effect" err &&
	run 0 crm-report --db one.db -f csv customer C001 &&
	expect_eq "$(sqlite3 one.db "SELECT a.points FROM loyalty_accounts a JOIN customers c ON c.id = a.customer_id
		WHERE c.external_id = '\''C001'\''")" "$(grep "^loyalty,,points," out | cut -d, -f4)" &&
	expect_eq 10 "$(grep -c "^points," out)" &&
	run 0 crm-report --db one.db --html page.html &&
	expect_grep "<h2>Loyalty</h2>" page.html &&
	run 2 crm-report --db one.db loyalty --by week &&
	expect_grep "invalid --by \"week\" for loyalty (month, tier or member)" err &&
	run 1 crm-report --db crm.db loyalty &&
	expect_grep "no loyalty accounts in crm.db: run crm-loyalty run first" err
'

test_expect '--dry-run: the rows a run would add, nothing written' '
	cp crm.db dry.db &&
	run 0 crm-loyalty --db dry.db -n -f csv run &&
	expect_eq "key,kind,points,occurred_at,expires_at,reason" "$(head -1 out)" &&
	expect_eq "$(wc -l <got-ledger.txt)" "$(($(wc -l <out) - 1))" &&
	expect_eq 0 "$(sqlite3 dry.db "SELECT count(*) FROM loyalty_ledger")" &&
	expect_grep "dry run, nothing written" err
'

# a member whose last purchase is usable and unexpired, and none after:
# everything usable is taken by an adjustment, then that purchase is
# refunded (imported again as refunded): the next run takes its points
# back, which no lot covers any more: a debt, which the next lot pays
test_expect 'an order refunded later: its points taken back at the next run; spent ones leave a debt' '
	cust=$(sqlite3 one.db "SELECT c.external_id FROM customers c JOIN orders o ON o.customer_id = c.id
		GROUP BY c.id HAVING max(o.ordered_at) BETWEEN '\''2026-06-01'\'' AND '\''2026-12-01'\''
		AND max(CASE WHEN o.purchase = 1 THEN o.ordered_at END) = max(o.ordered_at)
		ORDER BY c.id LIMIT 1") &&
	test -n "$cust" &&
	oid=$(sqlite3 one.db "SELECT o.external_id FROM orders o JOIN customers c ON c.id = o.customer_id
		WHERE c.external_id = '\''$cust'\'' ORDER BY o.ordered_at DESC LIMIT 1") &&
	pts=$(sqlite3 one.db "SELECT points FROM loyalty_ledger WHERE key = (SELECT '\''earn:'\'' || id FROM orders
		WHERE external_id = '\''$oid'\'')") &&
	test "$pts" -gt 0 &&
	bal() { sqlite3 one.db "SELECT a.points FROM loyalty_accounts a JOIN customers c ON c.id = a.customer_id
		WHERE c.external_id = '\''$cust'\''"; } &&
	have=$(bal) &&
	CRM_NOW="2027-01-02" run 0 crm-loyalty --db one.db adjust $cust -$have --reason "gift card" &&
	expect_eq 0 "$(bal)" &&
	CRM_NOW="2027-01-02" run 1 crm-loyalty --db one.db adjust $cust -1 --reason "too much" &&
	expect_eq "crm-loyalty: $cust: 1 points to take, 0 available: refused, nothing written" "$(cat err)" &&
	printf "order_id,customer_id,ordered_at,amount,currency,status\n%s\n" \
		"$(grep "^$oid," orders.csv | sed "s/,completed\$/,refunded/")" >refund.csv &&
	CRM_NOW="2027-01-03" run 0 crm-import --db one.db orders refund.csv &&
	CRM_NOW="2027-01-03" run 0 crm-loyalty --db one.db run &&
	expect_eq "reverse|-$pts|2027-01-03 00:00:00|the order no longer counts" "$(sqlite3 one.db "SELECT kind, points,
		occurred_at, reason FROM loyalty_ledger WHERE key = (SELECT '\''reverse:'\'' || id FROM orders
		WHERE external_id = '\''$oid'\'')")" &&
	expect_eq "-$pts" "$(bal)" &&
	CRM_NOW="2027-01-04" run 0 crm-loyalty --db one.db adjust $cust +$((pts + 40)) --reason "goodwill" &&
	expect_eq 40 "$(bal)" &&
	CRM_NOW="2027-01-04" run 0 crm-loyalty --db one.db balance $cust -f csv &&
	expect_eq "$cust,40,0" "$(sed -n 2p out | cut -d, -f1-3)"
'

test_expect 'other currencies earn at the rate of their day (crm-import rates): the ledger of the same orders in EUR' '
	mkdir fx && cd fx &&
	printf "[loyalty]\nearn = 5%%\npoint_value = 0.01\ntiers = silver:300\ntier_multiplier = silver:1.5\n" >crm.conf &&
	printf "id,email\nA,a@example.org\nB,b@example.org\nC,c@example.org\n" >c.csv &&
	printf "currency,rate,valid_from\nUSD,0.9,2026-01-01\nUSD,0.92,2026-06-01\nJPY,0.0061,2026-01-01\n" >rates.csv &&
	cat >o.csv <<-\EOF2 &&
	order_id,customer_id,ordered_at,amount,currency,status
	O1,A,2026-02-01 10:00:00,100.00,USD,completed
	O2,A,2026-07-01 10:00:00,250.55,USD,completed
	O3,B,2026-03-01 10:00:00,33333,JPY,completed
	O4,B,2026-03-02 10:00:00,80.00,EUR,completed
	O5,C,2026-03-03 10:00:00,300.00,USD,completed
	O6,C,2026-08-03 10:00:00,12.00,USD,completed
	O7,A,2026-08-01 10:00:00,40.00,GBP,completed
	EOF2
	cat >conv.py <<-\EOF2 &&
	# the same orders in EUR, converted here: amount x rate of the day, to
	# cents; the GBP one, without a rate, left out
	import csv
	rows = list(csv.reader(open("o.csv")))
	w = csv.writer(open("o-eur.csv", "w"), lineterminator="\n")
	w.writerow(rows[0])
	for r in rows[1:]:
	    a, cur, day = float(r[3]), r[4], r[2][:10]
	    if cur == "USD":
	        a = round(a * (0.92 if day >= "2026-06-01" else 0.9), 2)
	    elif cur == "JPY":
	        a = round(a * 0.0061, 2)
	    if cur != "GBP":
	        w.writerow(r[:3] + ["%.2f" % a, "EUR"] + r[5:])
	EOF2
	"$PY" conv.py &&
	crm-import --db fx.db -q customers c.csv && crm-import --db fx.db -q orders o.csv &&
	crm-import --db eur.db -q customers c.csv && crm-import --db eur.db -q orders o-eur.csv &&
	run 1 crm-loyalty --db fx.db run &&
	expect_grep "purchases in 4 currencies" err &&
	run 0 crm-import --db fx.db rates --currency EUR rates.csv &&
	run 0 crm-loyalty --db fx.db run &&
	expect_grep "5 purchases in other currencies converted to EUR at the rates of crm-import rates" err &&
	expect_grep "1 purchases in currencies other than EUR earned nothing and count for no tier (no exchange rate on their day: crm-import rates)" err &&
	run 0 crm-loyalty --db eur.db run &&
	q="SELECT key, kind, points, coalesce(reason, \"\") FROM loyalty_ledger ORDER BY key" &&
	sqlite3 fx.db "$q" >got.txt && sqlite3 eur.db "$q" >want.txt &&
	test -s want.txt && expect_same want.txt got.txt &&
	q="SELECT c.external_id, a.points, coalesce(a.tier, \"\") FROM loyalty_accounts a JOIN customers c ON c.id = a.customer_id ORDER BY 1" &&
	expect_eq "$(sqlite3 eur.db "$q")" "$(sqlite3 fx.db "$q")" &&
	expect_eq A "$(sqlite3 fx.db "SELECT c.external_id FROM loyalty_accounts a JOIN customers c ON c.id = a.customer_id WHERE tier = \"silver\"")" &&
	# a rate for GBP now: the next run replays everyone, O7 earns at it
	# (40 GBP x 1.2 = 48 EUR, 5% is 240 points, x1.5 for silver)
	printf "currency,rate,valid_from\nGBP,1.2,2026-01-01\n" >gbp.csv &&
	crm-import --db fx.db -q rates --currency EUR gbp.csv &&
	run 0 crm-loyalty --db fx.db run &&
	expect_grep "members replayed" err &&
	run 0 crm-report --db fx.db -f csv loyalty &&
	expect_eq "EUR,3" "$(sed -n 2p out | cut -d, -f1,2)" &&
	expect_eq 360 "$(sqlite3 fx.db "SELECT points FROM loyalty_ledger l JOIN orders o ON o.id = l.order_id WHERE l.kind = \"earn\" AND o.external_id = \"O7\"")" &&
	# crm-report export ledger: every row, the person and the order by their ids
	run 0 crm-report --db fx.db -f csv export ledger &&
	expect_eq "entry,customer_id,kind,points,occurred_at,available_at,expires_at,order_id,lot_id,key,reason,created_at" "$(head -n 1 out)" &&
	expect_eq "$(sqlite3 fx.db "SELECT count(*) FROM loyalty_ledger")" "$(($(wc -l <out) - 1))" &&
	expect_eq "A,earn,360,O7" "$(awk -F, "\$8 == \"O7\" { print \$2 \",\" \$3 \",\" \$4 \",\" \$8 }" out)" &&
	run 0 crm-report --db fx.db -f csv --where "id = \"B\"" export ledger &&
	expect_eq "$(sqlite3 fx.db "SELECT count(*) FROM loyalty_ledger l JOIN customers c ON c.id = l.customer_id WHERE c.external_id = \"B\"")" "$(awk -F, "NR > 1 && \$2 == \"B\"" out | wc -l)" &&
	expect_eq 0 "$(awk -F, "NR > 1 && \$2 != \"B\"" out | wc -l)"
'

test_done
