#!/bin/sh
# crm-loyalty: the rules of crm.conf [loyalty] checked before anything is
# read (each bad one an error with file:line, nothing written), usage
# errors, category multipliers from order lines, members by expression,
# start, balance/history/adjust (with --key, once), the expressions and
# template fields, and crm-import erase taking the points with the person.
. "$CRM_TOP/tests/lib.sh"

CRM_NOW='2026-06-30 12:00:00'
export CRM_NOW

rules() {
	printf "[smtp]\nurl = smtp://127.0.0.1:1\n[loyalty]\n" >crm.conf
	printf "%s\n" "$@" >>crm.conf
}

test_expect 'setup: customers, orders with lines, events' '
	cat >c.csv <<-\EOF2 &&
	id,email,city,birthday
	A,a@example.org,Kazan,1990-06-10
	B,b@example.org,Omsk,
	C,c@example.org,Kazan,1985-01-20
	EOF2
	CRM_NOW="2026-01-01" run 0 crm-import customers c.csv &&
	cat >l.csv <<-\EOF2 &&
	order_id,customer_id,ordered_at,currency,sku,product_name,category,quantity,unit_price
	1,A,2026-02-01,EUR,K1,Beans,Coffee,2,10.00
	1,A,2026-02-01,EUR,M1,Mug,Kitchen,1,30.00
	2,B,2026-03-01,EUR,K1,Beans,coffee,1,10.00
	3,C,2026-03-05,EUR,M1,Mug,Kitchen,1,30.00
	EOF2
	run 0 crm-import lines l.csv &&
	printf "event_id,customer_id,type,occurred_at\ne1,A,review,2026-04-01\ne2,B,review,2026-04-02\n" >e.csv &&
	run 0 crm-import events e.csv &&
	cp crm.db fresh.db
'

test_expect 'bad rules: each an error with file:line, nothing written' '
	check() {
		want=$1; shift
		rules "$@" &&
		cp fresh.db t.db &&
		crm-loyalty --db t.db run >out 2>err; rc=$?
		test $rc -eq 1 || { echo "rc $rc for: $*"; cat err; return 1; }
		grep -qF "$want" err || { echo "want: $want"; echo "got:"; cat err; return 1; }
		test "$(sqlite3 t.db "SELECT count(*) FROM loyalty_ledger")" = 0
	}
	check "crm.conf:6: [loyalty] pointvalue: unknown key (did you mean \"point_value\"?)" \
		"earn = 5%" "point_value = 0.01" "pointvalue = 0.01" &&
	check "crm.conf:4: [loyalty] earn: \"-5%\": the rate must be from 0 to 100%" \
		"earn = -5%" "point_value = 0.01" &&
	check "crm.conf:6: [loyalty] tiers: tiers out of order: silver:500 is not above the tier before it" \
		"earn = 5%" "point_value = 0.01" "tiers = gold:600, silver:500" &&
	check "crm.conf:7: [loyalty] tier_multiplier: \"glod\" is not a tier of tiers (did you mean \"gold\"?)" \
		"earn = 5%" "point_value = 0.01" "tiers = silver:500, gold:600" "tier_multiplier = glod:2" &&
	check "crm.conf:6: [loyalty] expire: \"soon\" is not a duration" \
		"earn = 5%" "point_value = 0.01" "expire = soon" &&
	check "crm.conf:5: [loyalty] pending: points would expire before they can be used" \
		"earn = 5%" "pending = 30d" "expire = 30d" "point_value = 0.01" &&
	check "crm.conf:6: [loyalty] category.Coffee: \"lots\" is not a multiplier" \
		"earn = 5%" "point_value = 0.01" "category.Coffee = lots" &&
	check "crm.conf:6: [loyalty] members: expression:1:1: unknown field \"citty\" (did you mean \"city\"?)" \
		"earn = 5%" "point_value = 0.01" "members = citty = \"Kazan\"" &&
	check "crm.conf:6: [loyalty] welcome: \"1.5\" is not a whole number of points" \
		"earn = 5%" "point_value = 0.01" "welcome = 1.5" &&
	check "[loyalty] needs point_value" "earn = 5%" &&
	printf "[smtp]\nurl = smtp://x\n" >crm.conf &&
	run 1 crm-loyalty --db fresh.db run &&
	expect_grep "crm.conf: no [loyalty] section: the rules of crm-loyalty go there" err
'

test_expect 'usage errors' '
	rules "earn = 5%" "point_value = 0.01" &&
	run 2 crm-loyalty &&
	expect_grep "no task given (run, balance, history, adjust or redeem)" err &&
	run 2 crm-loyalty earn &&
	expect_grep "unknown task \"earn\"" err &&
	run 2 crm-loyalty adjust A 100 &&
	expect_grep "adjust needs --reason TEXT" err &&
	run 2 crm-loyalty adjust A 0 --reason x &&
	expect_grep "invalid POINTS \"0\"" err &&
	run 2 crm-loyalty run --reason x &&
	expect_grep "--reason goes with adjust" err &&
	run 2 crm-loyalty redeem A &&
	expect_grep "redeem takes a customer and a reward" err &&
	run 1 crm-loyalty balance &&
	expect_grep "no loyalty run yet" err
'

# A: lines 2 x 10 Coffee (x2) + 30 Kitchen = 50 EUR, 70 with the multiplier:
# 5% = 3.50 = 350 points; B: 10 EUR of "coffee" (case), 20 -> 100 points;
# C: 30 -> 150; review events 50 each; welcome 100 at 2026-01-01; A's
# birthday on 2026-06-10 and C's on 2026-01-20 (both after the creation):
# 200 each
test_expect 'run: category multipliers from the lines, events, welcome, birthday' '
	rules "earn = 5%" "point_value = 0.01" "welcome = 100" "birthday = 200" \
		"event.review = 50" "category.Coffee = 2x" &&
	run 0 crm-loyalty run &&
	expect_eq "A|earn|350
A|event|50
A|welcome|100
A|birthday|200
B|earn|100
B|event|50
B|welcome|100
C|earn|150
C|welcome|100
C|birthday|200" "$(sql "SELECT c.external_id, g.kind, g.points FROM loyalty_ledger g
		JOIN customers c ON c.id = g.customer_id ORDER BY 1, g.kind = '\''birthday'\'', g.kind, 3")" &&
	run 0 crm-loyalty -f csv balance &&
	expect_eq "id,points,pending,expiring_30d,tier,tier_since,spend_12m,updated_at
A,700,0,0,,,,2026-06-30 12:00:00
B,250,0,0,,,,2026-06-30 12:00:00
C,450,0,0,,,,2026-06-30 12:00:00" "$(cat out)"
'

test_expect 'members by expression, and start: only they earn, from then on' '
	cp fresh.db m.db &&
	rules "earn = 5%" "point_value = 0.01" "members = city = \"Kazan\"" "start = 2026-03-01" &&
	run 0 crm-loyalty --db m.db run &&
	expect_eq "C|earn|150" "$(sqlite3 m.db "SELECT c.external_id, g.kind, g.points FROM loyalty_ledger g
		JOIN customers c ON c.id = g.customer_id")" &&
	expect_grep "loyalty: 2 members replayed as of" err
'

test_expect 'history, adjust with a reason, --key once, expressions and fields' '
	rules "earn = 5%" "point_value = 0.01" "welcome = 100" "birthday = 200" \
		"event.review = 50" "category.Coffee = 2x" "expire = 60d" &&
	run 0 crm-loyalty -f csv history a@example.org &&
	expect_eq "occurred_at,kind,points,available_at,expires_at,reason,key" "$(head -1 out)" &&
	expect_eq "2026-01-01 00:00:00,welcome,100" "$(sed -n 2p out | cut -d, -f1-3)" &&
	run 0 crm-loyalty adjust B +500 --reason "late delivery" --key T-881 &&
	expect_grep "B: +500 points (late delivery): 750 available" err &&
	run 0 crm-loyalty adjust B +500 --reason "late delivery" --key T-881 &&
	expect_grep "already in the ledger (key adjust:" err &&
	run 0 crm-loyalty adjust B -50 --reason "typo" &&
	expect_eq "adjust|500|late delivery|2026-08-29 12:00:00
adjust|-50|typo|" "$(sql "SELECT kind, points, reason, coalesce(expires_at, '\'''\'') FROM loyalty_ledger
		WHERE kind = '\''adjust'\'' ORDER BY id")" &&
	run 0 crm-segment "points > 600" -f csv --fields id,points,points_pending &&
	expect_eq "id,points,points_pending
A,700,0
B,700,0" "$(cat out)" &&
	# the -50 came from the lot that expires first: the +500 (the others never do)
	run 0 crm-segment "points_expiring(70d) = 450" --fields id,points_expiring_30d,points_expiry -f csv &&
	expect_eq "id,points_expiring_30d,points_expiry
B,0,2026-08-29 12:00:00" "$(cat out)" &&
	run 0 crm-segment "earned(365d) >= 700" --fields id -f csv &&
	expect_eq "id
A" "$(cat out)"
'

test_expect 'the template fields {{points}}, {{points_expiring_30d}}, {{tier}}' '
	printf "{{points}} points, {{points_expiring_30d}} expiring, tier {{tier|default:\"none\"}}\n" >t.tmpl &&
	echo A | run 0 crm-send --campaign pts --channel file --no-consent --template t.tmpl -o p.jsonl - &&
	expect_grep "\"text\":\"700 points, 0 expiring, tier none" p.jsonl
'

# the catalogue, then rewards taken for points: the cost from the
# usable points, one of the stock, refused beyond either, --key once
test_expect 'crm-import rewards, crm-loyalty redeem: cost, stock, refusals, --key once' '
	cat >rw.csv <<-\EOF2 &&
	id,name,cost,stock
	MUG,Coffee mug,300,1
	SHIP,Free delivery,100,
	BAD,,50,
	NEG,Negative,-5,
	ZERO,Zero stock,10,x
	EOF2
	run 3 crm-import rewards rw.csv &&
	expect_grep "rw.csv:4: no name" err &&
	expect_grep "rw.csv:5: invalid cost \"-5\": negative" err &&
	expect_grep "rw.csv:6: invalid stock \"x\": not a whole number" err &&
	expect_eq "MUG|300|1
SHIP|100|" "$(sql "SELECT external_id, cost, stock FROM loyalty_rewards ORDER BY 1")" &&
	run 3 crm-import rewards rw.csv &&
	expect_grep "0 inserted, 0 updated, 2 unchanged" err &&
	run 0 crm-loyalty redeem B MUG --key web-1 &&
	expect_grep "B: Coffee mug (MUG) for 300 points: 400 available" err &&
	run 0 crm-loyalty redeem B MUG --key web-1 &&
	expect_grep "already in the ledger (key redeem:" err &&
	expect_eq 0 "$(sql "SELECT stock FROM loyalty_rewards WHERE external_id = '\''MUG'\''")" &&
	run 1 crm-loyalty redeem C MUG &&
	expect_eq "crm-loyalty: C: Coffee mug (MUG) is out of stock: refused, nothing written" "$(cat err)" &&
	run 1 crm-loyalty redeem C TEA &&
	expect_eq "crm-loyalty: C: no reward \"TEA\" (crm-import rewards FILE adds them): refused, nothing written" "$(cat err)" &&
	run 0 crm-loyalty redeem C SHIP && run 0 crm-loyalty redeem C SHIP && run 0 crm-loyalty redeem C SHIP &&
	run 0 crm-loyalty redeem C SHIP &&
	run 1 crm-loyalty redeem C SHIP &&
	expect_eq "crm-loyalty: C: Free delivery (SHIP) costs 100 points, 50 available: refused, nothing written" "$(cat err)" &&
	expect_eq "redeem|4|-400" "$(sql "SELECT kind, count(*), sum(points) FROM loyalty_ledger g
		JOIN customers c ON c.id = g.customer_id WHERE c.external_id = '\''C'\'' AND kind = '\''redeem'\''")"
'

# points paid with orders: checked at import against what the member has
# (as of the last run, less what orders imported since used), then taken
# by the next run at the order's time
test_expect 'points_used in crm-import orders: refused beyond the points, a burn at the next run' '
	cat >pu.csv <<-\EOF2 &&
	order_id,customer_id,ordered_at,amount,currency,points_used
	P1,B,2026-06-30 10:00:00,20,EUR,250
	P2,B,2026-06-30 11:00:00,20,EUR,200
	P3,C,2026-06-30 11:00:00,20,EUR,x
	EOF2
	run 3 crm-import orders pu.csv &&
	expect_grep "pu.csv:3: points_used 200 is more than the 150 points the customer has" err &&
	expect_grep "pu.csv:4: invalid points_used \"x\": not a whole number" err &&
	expect_eq "P1|250" "$(sql "SELECT external_id, points_used FROM orders WHERE points_used IS NOT NULL")" &&
	CRM_NOW="2026-06-30 12:00:00" run 0 crm-loyalty run &&
	# imported after the run of 12:00 with an earlier time: taken as of this run
	expect_eq "burn|-250|2026-06-30 12:00:00|late: of 2026-06-30 10:00:00" "$(sql "SELECT kind, points,
		occurred_at, reason FROM loyalty_ledger
		WHERE key = (SELECT '\''burn:'\'' || id FROM orders WHERE external_id = '\''P1'\'')")" &&
	expect_grep "burn 1 (-250 points)" err &&
	# the order cancelled: the points come back at the next run, a new lot
	printf "order_id,customer_id,ordered_at,amount,currency,status,points_used\nP1,B,2026-06-30 10:00:00,20,EUR,cancelled,250\n" >pc.csv &&
	CRM_NOW="2026-06-30 13:00:00" run 0 crm-import orders pc.csv &&
	CRM_NOW="2026-06-30 13:00:00" run 0 crm-loyalty run &&
	expect_eq "return|250|2026-06-30 13:00:00|the order no longer counts" "$(sql "SELECT kind, points,
		occurred_at, reason FROM loyalty_ledger WHERE key = (SELECT '\''return:'\'' || id FROM orders
		WHERE external_id = '\''P1'\'')")" &&
	CRM_NOW="2026-06-30 13:00:00" run 0 crm-loyalty run &&
	expect_grep "nothing new" err
'

test_expect 'crm-import erase removes the points with the person' '
	id=$(sql "SELECT id FROM customers WHERE external_id = '\''A'\''") &&
	printf "A\n" >erase.txt &&
	run 0 crm-import erase erase.txt &&
	for t in loyalty_ledger loyalty_lots loyalty_accounts loyalty_tiers; do
		expect_eq 0 "$(sql "SELECT count(*) FROM $t WHERE customer_id = $id")" "$t" || exit 1
	done &&
	CRM_NOW="2026-06-30 13:00:00" run 0 crm-loyalty run &&
	expect_eq 0 "$(sql "SELECT count(*) FROM loyalty_ledger WHERE customer_id = $id")"
'

test_done
