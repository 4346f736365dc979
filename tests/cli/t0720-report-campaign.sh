#!/bin/sh
# crm-report campaign: recipients, engagement, conversions in the window
# after a message (edges included), treatment against control with the
# two-proportion z-test and Welch's t-test, checked against Python (the
# t distribution by numerical integration of its density, independently
# of crm-report's incomplete beta function).
. "$CRM_TOP/tests/lib.sh"

# The campaign "spring" went out at 2026-10-01 10:00:00 to C001..C200
# (sent) and held out C201..C300 (control); C301 was suppressed, C302 is
# deferred. Orders:
#   C001..C030  one order a day after, 10 + i RUB; C001 a second, 7 RUB
#   C031        exactly 7 days after (counts), 50 RUB
#   C032        7 days and 1 second after (does not)
#   C033        at the very second of the message (does not: not after it)
#   C034        a second before (does not)
#   C035        refunded (does not)
#   C036        in USD (converts, but revenue is in RUB)
#   C201..C208  three days after, 20 + j RUB (control converters)
# Events: C001..C010 clicked an hour after, C011 two days after (after
# its order: post-view), C001..C020 opened, C199 bounced.
setup_campaign() {
	"$PY" - <<'EOF'
t0 = "2026-10-01 10:00:00"
with open("customers.csv", "w") as f:
    f.write("customer_id,email\n")
    for i in range(1, 303):
        f.write("C%03d,c%03d@example.com\n" % (i, i))
with open("orders.csv", "w") as f:
    f.write("order_id,customer_id,ordered_at,amount,currency,status\n")
    for i in range(1, 31):
        f.write("O%d,C%03d,2026-10-02 10:00:00,%d.00,RUB,completed\n" % (i, i, 10 + i))
    f.write("O100,C001,2026-10-03 10:00:00,7.00,RUB,completed\n")
    f.write("O101,C031,2026-10-08 10:00:00,50.00,RUB,completed\n")
    f.write("O102,C032,2026-10-08 10:00:01,60.00,RUB,completed\n")
    f.write("O103,C033,2026-10-01 10:00:00,5.00,RUB,completed\n")
    f.write("O104,C034,2026-10-01 09:59:59,70.00,RUB,completed\n")
    f.write("O105,C035,2026-10-02 10:00:00,80.00,RUB,refunded\n")
    f.write("O106,C036,2026-10-02 10:00:00,9.00,USD,completed\n")
    for j in range(1, 9):
        f.write("O2%02d,C%03d,2026-10-04 10:00:00,%d.00,RUB,completed\n" % (j, 200 + j, 20 + j))
with open("events.csv", "w") as f:
    f.write("customer_id,type,occurred_at,campaign\n")
    for i in range(1, 11):
        f.write("C%03d,clicked,2026-10-01 11:00:00,spring\n" % i)
    f.write("C011,clicked,2026-10-03 10:00:00,spring\n")
    for i in range(1, 21):
        f.write("C%03d,opened,2026-10-01 10:30:00,spring\n" % i)
    f.write("C199,bounced,2026-10-01 10:01:00,spring\n")
    f.write("C050,clicked,2026-10-01 11:00:00,other\n")
EOF
	crm-import -q customers customers.csv &&
	crm-import -q orders orders.csv &&
	crm-import -q events events.csv &&
	sql "INSERT INTO campaigns(id, name, channel, created_at)
	       VALUES (1, 'spring', 'email', '2026-10-01 09:00:00');
	     INSERT INTO messages(campaign_id, customer_id, channel, grp, status, reason,
	                          message_id, planned_at, sent_at, updated_at)
	       SELECT 1, id, 'email',
	              CASE WHEN id BETWEEN 201 AND 300 THEN 'control' ELSE 'treatment' END,
	              CASE WHEN id BETWEEN 201 AND 300 THEN 'control'
	                   WHEN id = 301 THEN 'suppressed' WHEN id = 302 THEN 'deferred' ELSE 'sent' END,
	              CASE WHEN id = 301 THEN 'no_consent' END,
	              'm' || id || '@x', '2026-10-01 09:59:00',
	              CASE WHEN id <= 300 THEN '2026-10-01 10:00:00' END, '2026-10-01 10:00:00'
	       FROM customers"
}

# ref: the expected statistics from the counts and per-recipient revenues
cat >ref.py <<'EOF'
import math, sys
from statistics import NormalDist
N = NormalDist()
def t_cdf(t, df):
    # Simpson's rule on the density from 0 to |t|
    c = math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2)) / math.sqrt(df * math.pi)
    f = lambda x: c * (1 + x * x / df) ** (-(df + 1) / 2)
    n, a = 20000, abs(t)
    h = a / n
    s = f(0) + f(a) + sum((4 if k % 2 else 2) * f(k * h) for k in range(1, n))
    half = s * h / 3
    return 0.5 + half if t > 0 else 0.5 - half
def t_quantile(p, df):
    lo, hi = 0.0, 50.0
    for _ in range(100):
        mid = (lo + hi) / 2
        if t_cdf(mid, df) < p: lo = mid
        else: hi = mid
    return (lo + hi) / 2
t_rev = [10 + i for i in range(1, 31)]; t_rev[0] += 7; t_rev += [50]
c_rev = [20 + j for j in range(1, 9)]
n1, x1, n0, x0 = 200, 32, 100, 8
p1, p0 = x1 / n1, x0 / n0
d = p1 - p0
se = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
z975 = N.inv_cdf(0.975)
pp = (x1 + x0) / (n1 + n0)
sp = math.sqrt(pp * (1 - pp) * (1 / n1 + 1 / n0))
pval = 2 * N.cdf(-abs(d / sp))
mde = (z975 + N.inv_cdf(0.8)) * math.sqrt(p0 * (1 - p0) * (1 / n1 + 1 / n0))
def mv(xs, n):
    s = sum(xs); m = s / n
    v = (sum(x * x for x in xs) - s * s / n) / (n - 1)
    return m, v
m1, v1 = mv(t_rev, n1); m0, v0 = mv(c_rev, n0)
a, b = v1 / n1, v0 / n0
df = (a + b) ** 2 / (a * a / (n1 - 1) + b * b / (n0 - 1))
tt = (m1 - m0) / math.sqrt(a + b)
wp = 2 * t_cdf(-abs(tt), df)
q = t_quantile(0.975, df)
print("uplift", d); print("uplift_low", d - z975 * se); print("uplift_high", d + z975 * se)
print("relative_uplift", d / p0); print("p_value", pval); print("mde", mde)
print("rpr_uplift", m1 - m0); print("rpr_low", m1 - m0 - q * math.sqrt(a + b))
print("rpr_high", m1 - m0 + q * math.sqrt(a + b)); print("rpr_p_value", wp)
print("incremental_conversions", d * n1); print("incremental_revenue", (m1 - m0) * n1)
print("revenue", sum(t_rev)); print("control_revenue", sum(c_rev))
EOF

test_expect 'setup' '
	setup_campaign &&
	test "$(sql "SELECT count(*) FROM messages")" = 302 &&
	"$PY" ref.py >ref.txt &&
	test -s ref.txt
'

test_expect 'counts per group: rows, recipients, suppressed, pending, engagement' '
	run 0 crm-report -f csv campaign spring &&
	expect_eq "treatment control" "$(cut -d, -f1 out | sed 1d | tr "\n" " " | sed "s/ $//")" &&
	expect_eq 202 "$(col treatment rows)" &&
	expect_eq 200 "$(col treatment recipients)" &&
	expect_eq 200 "$(col treatment sent)" &&
	expect_eq 1 "$(col treatment suppressed)" &&
	expect_eq 1 "$(col treatment pending)" &&
	expect_eq 20 "$(col treatment opened)" &&
	expect_eq 11 "$(col treatment clicked)" &&
	expect_eq 1 "$(col treatment bounced)" &&
	expect_eq 100 "$(col control recipients)" &&
	expect_eq 0 "$(col control sent)"
'

test_expect 'conversions: window edges, refunds, post-click and post-view' '
	run 0 crm-report -f csv campaign spring &&
	expect_eq 32 "$(col treatment converted)" &&
	expect_eq 10 "$(col treatment post_click)" &&
	expect_eq 22 "$(col treatment post_view)" &&
	expect_eq 8 "$(col control converted)" &&
	expect_eq 0.16 "$(col treatment conversion_rate)" &&
	expect_eq 0.08 "$(col control conversion_rate)" &&
	expect_eq RUB "$(col treatment currency)" &&
	expect_eq 32 "$(col treatment orders)"
'

test_expect 'revenue in RUB; the USD order is left out with a warning' '
	run 0 crm-report -f csv campaign spring &&
	near "$(col treatment revenue)" "$(awk "\$1 == \"revenue\" { print \$2 }" ref.txt)" 0.005 &&
	near "$(col control revenue)" "$(awk "\$1 == \"control_revenue\" { print \$2 }" ref.txt)" 0.005 &&
	expect_grep "1 attributed order in other currencies left out" err
'

test_expect '--currency USD: the revenue of the USD order only, the RUB ones left out' '
	run 0 crm-report -f csv --currency usd campaign spring &&
	expect_eq USD "$(col treatment currency)" &&
	expect_eq 9 "$(col treatment revenue)" &&
	expect_eq 1 "$(col treatment orders)" &&
	expect_eq 32 "$(col treatment converted)" &&
	# RUB: C001..C030, the second order of C001, C031, and the 8 control orders
	expect_grep "revenue in USD only; 40 attributed orders in other currencies left out" err &&
	expect_no_grep "choose with --currency" err
'

test_expect 'uplift, interval, p-value, MDE, Welch: as Python computes them' '
	run 0 crm-report -f csv campaign spring &&
	while read -r name ref; do
		case $name in revenue|control_revenue) continue ;; esac
		case $name in
		incremental_revenue) tol=0.01 ;;
		rpr_*) tol=0.0002 ;;
		*) tol=0.000002 ;;
		esac
		case $name in relative_uplift) tol=0.00006 ;; incremental_conversions) tol=0.06 ;; esac
		near "$(col treatment "$name")" "$ref" "$tol" "$name" || exit 1
	done <ref.txt &&
	expect_eq "" "$(col control uplift)"
'

test_expect 'a hand check: p-value of 32/200 against 8/100' '
	run 0 crm-report -f csv campaign spring &&
	# pooled p = 40/300 = 0.133333; z = 0.08 / sqrt(0.133333 * 0.866667 * 0.015)
	# = 0.08 / 0.0416333 = 1.92154; two-sided p = 2 (1 - Phi(1.92154)) = 0.05467
	near "$(col treatment p_value)" 0.05467 0.00001
'

test_expect '--window 3d: the control orders three days after still count, C031 no more' '
	run 0 crm-report -f csv --window 3d campaign spring &&
	expect_eq 31 "$(col treatment converted)" &&
	expect_eq 8 "$(col control converted)"
'

test_expect '--window 1d: an order exactly a day after counts' '
	run 0 crm-report -f csv --window 1d campaign spring &&
	expect_eq 31 "$(col treatment converted)" &&
	expect_eq 0 "$(col control converted)"
'

test_expect '--attribution click: orders after a click only; no uplift, said on stderr' '
	run 0 crm-report -f csv --attribution click campaign spring &&
	expect_eq 10 "$(col treatment converted)" &&
	expect_eq 10 "$(col treatment post_click)" &&
	expect_eq "" "$(col treatment uplift)" &&
	expect_grep "control group receives nothing to click" err
'

test_expect '--now before the window ends: later orders are not seen' '
	run 0 crm-report -f csv --now "2026-10-03 00:00:00" campaign spring &&
	expect_eq 31 "$(col treatment converted)" &&
	expect_eq 0 "$(col control converted)"
'

test_expect 'no control group: uplift unavailable, not zero' '
	add_campaign 2 solo sms "2026-10-05 00:00:00" 40 &&
	run 0 crm-report -f csv campaign solo &&
	expect_eq 40 "$(col treatment recipients)" &&
	expect_eq 0 "$(col control recipients)" &&
	expect_eq "" "$(col treatment uplift)" &&
	expect_eq "" "$(col treatment p_value)" &&
	expect_eq "" "$(col control conversion_rate)" &&
	expect_grep "has no control group: uplift unavailable" err
'

test_expect 'nobody converts: uplift 0, p-value 1, relative uplift undefined' '
	add_campaign 3 quiet email "2026-11-01 00:00:00" 20 half &&
	run 0 crm-report -f csv campaign quiet &&
	expect_eq 0 "$(col treatment uplift)" &&
	expect_eq 1 "$(col treatment p_value)" &&
	expect_eq "" "$(col treatment relative_uplift)" &&
	expect_eq 0 "$(col treatment revenue_per_recipient)"
'

test_expect 'a small control group: the minimum detectable effect warning' '
	# 2 of 4 against 1 of 3: +16.7 pp, not significant, MDE about 100 pp
	run 0 crm-report -f csv --where "id in (\"C001\", \"C002\", \"C040\", \"C041\", \"C201\", \"C209\", \"C210\")" campaign spring &&
	expect_eq 0.5 "$(col treatment conversion_rate)" &&
	expect_grep "too small to detect the observed effect (+16.67 pp)" err &&
	# spring: +8 pp, p = 0.055, MDE 9.3 pp: too small as well
	run 0 crm-report -f csv campaign spring &&
	expect_grep "too small to detect the observed effect (+8.00 pp)" err &&
	# without the control converters the effect is significant: no warning
	run 0 crm-report -f csv --where "not (id in (\"C201\", \"C202\", \"C203\", \"C204\", \"C205\", \"C206\", \"C207\", \"C208\"))" campaign spring &&
	expect_eq 92 "$(col control recipients)" &&
	expect_no_grep "too small" err
'

test_expect 'variants: a row each, the treatment as a whole, then control' '
	sql "UPDATE messages SET variant = CASE WHEN customer_id % 2 THEN '\''A'\'' ELSE '\''B'\'' END
	     WHERE campaign_id = 1 AND grp = '\''treatment'\''" &&
	run 0 crm-report -f csv campaign spring &&
	expect_eq "treatment:A treatment:B treatment control" "$(cut -d, -f1 out | sed 1d | tr "\n" " " | sed "s/ $//")" &&
	expect_eq 200 $(( $(col treatment:A recipients) + $(col treatment:B recipients) )) &&
	expect_eq 32 $(( $(col treatment:A converted) + $(col treatment:B converted) )) &&
	expect_eq 32 "$(col treatment converted)" &&
	sql "UPDATE messages SET variant = NULL WHERE campaign_id = 1"
'

test_expect '--where and --segment restrict the recipients' '
	run 0 crm-report -f csv --where "id in (\"C001\", \"C002\", \"C201\")" campaign spring &&
	expect_eq 2 "$(col treatment recipients)" &&
	expect_eq 1 "$(col control recipients)" &&
	run 0 crm-segment --save firsts "orders >= 1" &&
	run 0 crm-report -f csv --segment firsts campaign spring &&
	expect_eq 35 "$(col treatment recipients)"
'

test_expect 'campaigns: one line each, the uplift of spring as campaign reports it' '
	run 0 crm-report -f csv campaign spring &&
	up=$(col treatment uplift) &&
	run 0 crm-report -f csv campaigns &&
	expect_eq "campaign,channel,created_at,recipients,control,converted" "$(head -1 out | cut -d, -f1-6)" &&
	expect_eq "spring,email,2026-10-01 09:00:00,200,100,32" "$(sed -n 2p out | cut -d, -f1-6)" &&
	expect_eq "$up" "$(sed -n 2p out | cut -d, -f10)" &&
	expect_eq "solo,sms" "$(sed -n 3p out | cut -d, -f1-2)" &&
	expect_eq "" "$(sed -n 3p out | cut -d, -f10)"
'

test_expect 'the converters are those of crm-segment'\''s converted()' '
	run 0 crm-report -f csv campaign spring &&
	n=$(col treatment converted) &&
	run 0 crm-segment -c --no-input "converted(\"spring\") >= 0s" &&
	expect_eq "$n" "$(cat out)"
'

test_expect 'an unknown campaign is an error' '
	run 1 crm-report campaign autumn &&
	expect_grep "no campaign \"autumn\"" err
'

test_expect 'table format shows the comparison sideways, JSON lines keep nulls' '
	run 0 crm-report -f table campaign spring &&
	expect_grep "metric" out &&
	grep -q "^p_value  *[0-9.]*$" out &&
	run 0 crm-report -f jsonl campaign solo &&
	expect_grep "\"uplift\":null" out
'

test_done
