#!/bin/sh
# crm-report campaign --bootstrap N [--seed S] (and campaigns): the percentile bootstrap
# interval of revenue per recipient, checked to the printed digit against
# boot.py, a Python transcription of the method as the man page states it
# (splitmix64 seeding from the seed and the group's name, xoshiro256**,
# Lemire's draws, sorted revenues, numpy's percentile rule); determinism,
# the stratified treatment of variants, every output format, the edge
# cases (no control group, no revenue, one recipient) and the usage errors.
. "$CRM_TOP/tests/lib.sh"

# The campaign "spring" went out at 2026-10-01 10:00:00 to C001..C200
# (sent) and held out C201..C300 (control). Revenue is skewed: C005,
# C010 ... C200 bought for 3.50 x 1.11^i (C200: 5000.00), C005 a second
# time for 0.99; C201..C210 (control) for 21.70 + 1.7 j.
cat >fixture.py <<'EOF'
import json
t0 = "2026-10-01 10:00:00"
orders = []   # (customer number, time, amount text)
for i in range(1, 41):
    a = "5000.00" if i == 40 else "%.2f" % (3.5 * 1.11 ** i)
    orders.append((5 * i, "2026-10-02 10:%02d:00" % i, a))
orders.append((5, "2026-10-03 10:00:00", "0.99"))
for j in range(1, 11):
    orders.append((200 + j, "2026-10-04 10:00:00", "%.2f" % (20 + 1.7 * j)))
with open("customers.csv", "w") as f:
    f.write("customer_id,email\n")
    for i in range(1, 301):
        f.write("C%03d,c%03d@example.com\n" % (i, i))
with open("orders.csv", "w") as f:
    f.write("order_id,customer_id,ordered_at,amount,currency,status\n")
    for k, (c, t, a) in enumerate(orders):
        f.write("O%d,C%03d,%s,%s,RUB,completed\n" % (k, c, t, a))
# revenue per recipient as crm-report adds it up: major units (minor * 10
# / 1000.0 for RUB), the orders of a customer in time order
rev = {}
for c, t, a in sorted(orders, key=lambda o: (o[0], o[1])):
    minor = int(a.replace(".", ""))
    rev[c] = rev.get(c, 0.0) + minor * 10 / 1000.0
json.dump({"%d" % c: x for c, x in rev.items()}, open("revenue.json", "w"))
EOF

# boot.py SEED NB GROUP=FIRST-LAST[:STEP]...: for each group, the
# interval of its difference with the group "control"; a group "treatment"
# of variants adds up theirs (stratified). Prints "group column value".
cat >boot.py <<'EOF'
import json, math, sys
M = (1 << 64) - 1
def splitmix(x):
    x = (x + 0x9e3779b97f4a7c15) & M
    z = x
    z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & M
    z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & M
    return x, z ^ (z >> 31)
def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & M
class Rng:
    def __init__(self, seed, label):
        h = 0xcbf29ce484222325
        for ch in label.encode():
            h = ((h ^ ch) * 0x100000001b3) & M
        h ^= seed
        self.s = []
        for _ in range(4):
            h, z = splitmix(h)
            self.s.append(z)
    def next(self):
        s = self.s
        out = (rotl((s[1] * 5) & M, 7) * 9) & M
        t = (s[1] << 17) & M
        s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t
        s[3] = rotl(s[3], 45)
        return out
    def below(self, n):
        m = (self.next() >> 32) * n
        if (m & 0xffffffff) < n:
            t = (2 ** 32 - n) % n
            while (m & 0xffffffff) < t:
                m = (self.next() >> 32) * n
        return m >> 32
def sums(xs, nb, rng):
    n, out = len(xs), []
    for _ in range(nb):
        s = 0.0
        for _ in range(n):
            s += xs[rng.below(n)]
        out.append(s)
    return out
def pct(d, p):
    h = (len(d) - 1) * p
    f = math.floor(h)
    if f + 1 >= len(d):
        return d[-1]
    return d[f] + (h - f) * (d[f + 1] - d[f])
seed, nb = int(sys.argv[1]), int(sys.argv[2])
rev = json.load(open("revenue.json"))
groups = {}
for a in sys.argv[3:]:
    name, r = a.split("=")
    ids = []
    for part in r.split("+"):
        span, _, step = part.partition(":")
        lo, _, hi = span.partition("-")
        ids += list(range(int(lo), int(hi or lo) + 1, int(step or 1)))
    groups[name] = sorted(rev.get(str(i), 0.0) for i in ids)
bs = {g: sums(xs, nb, Rng(seed, g)) for g, xs in groups.items()}
var = sorted(g for g in groups if g.startswith("treatment:"))
if var:
    groups["treatment"] = [x for g in var for x in groups[g]]
    bs["treatment"] = [sum((bs[g][b] for g in var), 0.0) for b in range(nb)]
n0, s0 = len(groups["control"]), bs["control"]
for g in sorted(groups):
    if g == "control":
        continue
    n1, s1 = len(groups[g]), bs[g]
    d = [s1[b] / n1 - s0[b] / n0 for b in range(nb)]
    le = sum(1 for x in d if x <= 0); ge = sum(1 for x in d if x >= 0)
    d.sort()
    lo, hi = pct(d, 0.025), pct(d, 0.975)
    p = min(1.0, 2 * (min(le, ge) + 1) / (nb + 1))
    print(g, "rpr_boot_low", lo); print(g, "rpr_boot_high", hi)
    print(g, "rpr_boot_p_value", p)
    print(g, "incremental_revenue_boot_low", lo * n1)
    print(g, "incremental_revenue_boot_high", hi * n1)
EOF

# check REF: every "group column value" line of REF against ./out, to the
# digits crm-report prints (4 decimals, p-values 6, money 2)
check() {
	n=0
	while read -r g name ref; do
		case $name in
		*p_value) tol=0.0000011 ;;
		incremental_*) tol=0.0051 ;;
		*) tol=0.000051 ;;
		esac
		near "$(col "$g" "$name")" "$ref" "$tol" "$g $name" || return 1
		n=$((n + 1))
	done <"$1"
	test "$n" -gt 0
}

test_expect 'setup' '
	"$PY" fixture.py &&
	crm-import -q customers customers.csv &&
	crm-import -q orders orders.csv &&
	sql "INSERT INTO campaigns(id, name, channel, created_at)
	       VALUES (1, '\''spring'\'', '\''email'\'', '\''2026-10-01 09:00:00'\'');
	     INSERT INTO messages(campaign_id, customer_id, channel, grp, status, message_id,
	                          planned_at, sent_at, updated_at)
	       SELECT 1, id, '\''email'\'',
	              CASE WHEN id > 200 THEN '\''control'\'' ELSE '\''treatment'\'' END,
	              CASE WHEN id > 200 THEN '\''control'\'' ELSE '\''sent'\'' END,
	              '\''m'\'' || id || '\''@x'\'', '\''2026-10-01 09:59:00'\'',
	              '\''2026-10-01 10:00:00'\'', '\''2026-10-01 10:00:00'\''
	       FROM customers" &&
	test "$(sql "SELECT count(*) FROM messages")" = 300 &&
	"$PY" boot.py 1 1000 treatment=1-200 control=201-300 >ref1.txt &&
	"$PY" boot.py 7 500 treatment=1-200 control=201-300 >ref7.txt &&
	test "$(wc -l <ref1.txt)" = 5
'

test_expect 'without --bootstrap: Welch only, no bootstrap columns' '
	run 0 crm-report -f csv campaign spring &&
	expect_no_grep boot out &&
	expect_eq 40 "$(head -1 out | tr , "\n" | wc -l)" &&
	near "$(col treatment revenue_per_recipient)" \
		"$("$PY" -c "import json; r = json.load(open(\"revenue.json\"));
print(sum(r.get(str(i), 0) for i in range(1, 201)) / 200)")" 0.0001
'

test_expect '--bootstrap 1000: the interval, p-value and incremental revenue of boot.py' '
	run 0 crm-report -f csv campaign spring --bootstrap 1000 &&
	check ref1.txt &&
	expect_eq 1000 "$(col treatment bootstrap_resamples)" &&
	expect_eq 1 "$(col treatment bootstrap_seed)" &&
	# the Welch (and engagement) columns are those of a run without --bootstrap
	cp out boot.csv &&
	run 0 crm-report -f csv campaign spring &&
	expect_eq "$(cut -d, -f1-40 boot.csv)" "$(cat out)"
'

test_expect '--seed 7 --bootstrap 500: as boot.py with that seed' '
	run 0 crm-report -f csv campaign spring --bootstrap 500 --seed 7 &&
	check ref7.txt &&
	expect_eq 7 "$(col treatment bootstrap_seed)"
'

test_expect 'the same seed gives the same output, another seed another interval' '
	crm-report -f csv campaign spring --bootstrap 1000 >a.csv &&
	crm-report -f csv campaign spring --bootstrap 1000 --seed 1 >b.csv &&
	expect_same a.csv b.csv &&
	crm-report -f csv campaign spring --bootstrap 1000 --seed 2 >c.csv &&
	cp a.csv out && lo1=$(col treatment rpr_boot_low) && hi1=$(col treatment rpr_boot_high) &&
	cp c.csv out && lo2=$(col treatment rpr_boot_low) && hi2=$(col treatment rpr_boot_high) &&
	test -n "$lo1" && test "$lo1" != "$lo2" && test "$hi1" != "$hi2" &&
	# the Welch columns stay
	expect_eq "$(cut -d, -f1-40 a.csv)" "$(cut -d, -f1-40 c.csv)"
'

test_expect 'the interval does not depend on the order SQLite returns the rows in' '
	# the same base with the customers renumbered (id -> 1000 + 7919 id mod
	# 301, a permutation) and the messages written again in that order
	sql "VACUUM INTO '\''renumbered.db'\''" &&
	sqlite3 -batch -bail renumbered.db "
	     UPDATE customers SET id = 1000 + (id * 7919) % 301;
	     UPDATE orders SET customer_id = 1000 + (customer_id * 7919) % 301;
	     UPDATE order_stats SET customer_id = 1000 + (customer_id * 7919) % 301;
	     CREATE TEMP TABLE m AS SELECT * FROM messages;
	     DELETE FROM messages;
	     INSERT INTO messages(campaign_id, customer_id, channel, grp, status, message_id,
	                          planned_at, sent_at, updated_at)
	       SELECT campaign_id, 1000 + (customer_id * 7919) % 301, channel, grp, status,
	              message_id, planned_at, sent_at, updated_at
	       FROM temp.m ORDER BY 1000 + (customer_id * 7919) % 301" &&
	test "$(sqlite3 renumbered.db "SELECT group_concat(external_id) FROM (SELECT c.external_id
	        FROM messages m JOIN customers c ON c.id = m.customer_id WHERE m.campaign_id = 1 LIMIT 3)")" != \
	     "$(sql "SELECT group_concat(external_id) FROM (SELECT c.external_id
	        FROM messages m JOIN customers c ON c.id = m.customer_id WHERE m.campaign_id = 1 LIMIT 3)")" &&
	crm-report -f csv campaign spring --bootstrap 1000 >a.csv &&
	crm-report --db renumbered.db -f csv campaign spring --bootstrap 1000 >b.csv &&
	expect_same a.csv b.csv
'

test_expect 'the bootstrap interval is within a half-width of Welch'\''s (a sanity check; test_report_stats compares them closely on a large sample)' '
	run 0 crm-report -f csv campaign spring --bootstrap 2000 &&
	w=$(awk "BEGIN { print ($(col treatment rpr_high) - $(col treatment rpr_low)) / 2 }") &&
	near "$(col treatment rpr_boot_low)" "$(col treatment rpr_low)" "$w" low &&
	near "$(col treatment rpr_boot_high)" "$(col treatment rpr_high)" "$w" high
'

test_expect 'variants: each against control, the treatment stratified by variant' '
	sql "UPDATE messages SET variant = CASE WHEN customer_id % 2 THEN '\''A'\'' ELSE '\''B'\'' END
	     WHERE campaign_id = 1 AND grp = '\''treatment'\''" &&
	"$PY" boot.py 1 1000 treatment:A=1-199:2 treatment:B=2-200:2 control=201-300 >refv.txt &&
	test "$(wc -l <refv.txt)" = 15 &&
	run 0 crm-report -f csv campaign spring --bootstrap 1000 &&
	expect_eq "treatment:A treatment:B treatment control" \
		"$(cut -d, -f1 out | sed 1d | tr "\n" " " | sed "s/ $//")" &&
	check refv.txt &&
	expect_eq "" "$(col control rpr_boot_low)" &&
	expect_eq "" "$(col control bootstrap_resamples)" &&
	sql "UPDATE messages SET variant = NULL WHERE campaign_id = 1"
'

test_expect 'campaigns --bootstrap: the treatment as a whole, as campaign NAME gives it (one variant, then two)' '
	for variants in no yes; do
		if [ $variants = yes ]; then
			sql "UPDATE messages SET variant = CASE WHEN customer_id % 2 THEN '\''A'\'' ELSE '\''B'\'' END
			     WHERE campaign_id = 1 AND grp = '\''treatment'\''"
		fi
		run 0 crm-report -f csv campaign spring --bootstrap 1000 --seed 5 &&
		lo=$(col treatment incremental_revenue_boot_low) && hi=$(col treatment incremental_revenue_boot_high) &&
		p=$(col treatment rpr_boot_p_value) &&
		test -n "$lo" && test -n "$hi" &&
		run 0 crm-report -f csv campaigns --bootstrap 1000 --seed 5 &&
		expect_eq "$lo|$hi|$p|1000|5" "$(col spring incremental_revenue_boot_low)|$(col spring incremental_revenue_boot_high)|$(col spring rpr_boot_p_value)|$(col spring bootstrap_resamples)|$(col spring bootstrap_seed)" "variants: $variants" || exit 1
	done &&
	sql "UPDATE messages SET variant = NULL WHERE campaign_id = 1" &&
	run 0 crm-report -f csv campaigns &&
	expect_no_grep boot out
'

test_expect 'every format names the bootstrap columns' '
	run 0 crm-report -f tsv campaign spring --bootstrap 1000 &&
	head -1 out | tr "\t" "\n" | grep -qx rpr_boot_low &&
	head -1 out | tr "\t" "\n" | grep -qx bootstrap_seed &&
	run 0 crm-report -f jsonl campaign spring --bootstrap 1000 &&
	expect_grep "\"rpr_boot_low\":" out &&
	expect_grep "\"bootstrap_resamples\":1000" out &&
	expect_grep "\"rpr_boot_p_value\":null" out &&
	run 0 crm-report -f json campaign spring --bootstrap 1000 &&
	"$PY" -c "import json, sys; d = json.load(open(\"out\"));
t = [r for r in d if r[\"group\"] == \"treatment\"][0]
assert t[\"rpr_boot_low\"] < t[\"rpr_uplift\"] < t[\"rpr_boot_high\"], t
assert t[\"bootstrap_resamples\"] == 1000 and t[\"bootstrap_seed\"] == 1" &&
	run 0 crm-report -f table campaign spring --bootstrap 1000 &&
	grep -q "^rpr_boot_low  *-*[0-9.]*" out &&
	grep -q "^bootstrap_resamples  *1,000" out
'

test_expect '--html FILE campaign NAME --bootstrap: the columns and the method in the page' '
	run 0 crm-report --html page.html campaign spring --bootstrap 1000 --seed 3 &&
	expect_grep "rpr_boot_low" page.html &&
	expect_grep "percentile bootstrap of 1000 resamples (seed 3)" page.html &&
	expect_grep "Welch" page.html &&
	run 0 crm-report --html plain.html campaign spring &&
	expect_no_grep "rpr_boot_low" plain.html &&
	expect_no_grep "percentile bootstrap" plain.html
'

test_expect 'no control group: the bootstrap columns are empty, not zero' '
	add_campaign 2 solo sms "2026-10-05 00:00:00" 40 &&
	run 0 crm-report -f csv campaign solo --bootstrap 1000 &&
	expect_eq 40 "$(col treatment recipients)" &&
	expect_eq "" "$(col treatment rpr_boot_low)" &&
	expect_eq "" "$(col treatment rpr_boot_high)" &&
	expect_eq "" "$(col treatment rpr_boot_p_value)" &&
	expect_eq "" "$(col treatment incremental_revenue_boot_low)" &&
	expect_grep "has no control group: uplift unavailable" err
'

test_expect 'no revenue in either group: [0, 0], p-value 1' '
	add_campaign 3 quiet email "2026-11-01 00:00:00" 20 half &&
	run 0 crm-report -f csv campaign quiet --bootstrap 1000 &&
	expect_eq 0 "$(col treatment rpr_boot_low)" &&
	expect_eq 0 "$(col treatment rpr_boot_high)" &&
	expect_eq 1 "$(col treatment rpr_boot_p_value)" &&
	expect_eq 1 "$(col treatment rpr_p_value)"
'

test_expect 'no revenue in the control group only: as boot.py' '
	"$PY" boot.py 1 1000 treatment=1-200 control=211-300 >ref0.txt &&
	run 0 crm-report -f csv --where "not (id in (\"C201\", \"C202\", \"C203\", \"C204\", \"C205\", \"C206\", \"C207\", \"C208\", \"C209\", \"C210\"))" \
		campaign spring --bootstrap 1000 &&
	expect_eq 0 "$(col control revenue)" &&
	check ref0.txt
'

test_expect 'one recipient in the treatment: no interval, and a warning says why' '
	run 0 crm-report -f csv --where "id in (\"C005\", \"C201\", \"C202\", \"C203\")" \
		campaign spring --bootstrap 1000 &&
	expect_eq 1 "$(col treatment recipients)" &&
	expect_eq "" "$(col treatment rpr_boot_low)" &&
	expect_eq "" "$(col treatment rpr_boot_p_value)" &&
	expect_eq "" "$(col treatment rpr_low)" &&
	expect_grep "treatment has 1 recipient: no bootstrap interval" err &&
	run 0 crm-report -f csv --where "id in (\"C005\", \"C010\", \"C201\")" \
		campaign spring --bootstrap 1000 &&
	expect_eq "" "$(col treatment rpr_boot_low)" &&
	expect_grep "control has 1 recipient: no bootstrap interval" err
'

test_expect 'usage errors: silly resample counts, a bad seed, other reports' '
	for n in 10 99 -5 100001 abc 1e3 ""; do
		run 2 crm-report campaign spring --bootstrap "$n" &&
		expect_grep "invalid --bootstrap \"$n\": 0 (none) or 100 to 100000 resamples" err ||
		exit 1
	done &&
	run 2 crm-report campaign spring --bootstrap 1000 --seed -1 &&
	expect_grep "invalid --seed \"-1\"" err &&
	run 2 crm-report campaign spring --bootstrap 1000 --seed x &&
	expect_grep "invalid --seed \"x\"" err &&
	run 2 crm-report campaign spring --seed 3 &&
	expect_grep "--seed goes with --bootstrap N" err &&
	for r in summary cohorts rfm; do
		run 2 crm-report $r --bootstrap 1000 &&
		expect_grep "--bootstrap and --seed go with campaign NAME and campaigns" err || exit 1
	done &&
	run 2 crm-report --html p.html --bootstrap 1000 &&
	expect_grep "--bootstrap and --seed go with campaign NAME and campaigns" err &&
	test ! -e p.html
'

test_expect '--bootstrap 0 is Welch only; 100 and a large seed work' '
	run 0 crm-report -f csv campaign spring --bootstrap 0 &&
	expect_no_grep boot out &&
	run 0 crm-report -f csv campaign spring --bootstrap 100 --seed 9223372036854775807 &&
	expect_eq 9223372036854775807 "$(col treatment bootstrap_seed)" &&
	test -n "$(col treatment rpr_boot_low)"
'

test_done
