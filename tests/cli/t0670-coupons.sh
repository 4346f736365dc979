#!/bin/sh
# Promo codes: pools imported (one code a line) and generated (HMAC of the
# base's secret, checked against an independent computation), verified
# offline; {{coupon}} in crm-send binds one code to one outbox row, for
# good, across re-runs, retries and --resend-in-doubt; an exhausted pool
# stops the campaign before anything is sent; orders redeem codes
# (promo_code), redeemed() in expressions, crm-report campaign's columns,
# and crm-import erase.
. "$CRM_TOP/tests/lib.sh"

cat >coupon_codes.py <<'EOF_'
# them, independently of lib/coupon_gen.c (t0670-coupons.sh).
import hashlib
import hmac
import sys

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
secret, pool, pattern, first, count = sys.argv[1:6]
key = hmac.new(secret.encode(), ("coupon:" + pool).encode(), hashlib.sha256).digest()
nx = pattern.count("X")
nck = (nx + 2) // 3
nid = nx - nck
space, cspace = 31 ** nid, 31 ** nck
bits = max(1, (space - 1).bit_length())
bits += bits % 2
half = bits // 2
mask = (1 << half) - 1


def prf(tag, v):
    d = hmac.new(key, bytes([tag]) + v.to_bytes(8, "big"), hashlib.sha256).digest()
    return int.from_bytes(d[:8], "big")


def feistel(x):
    left, right = x >> half, x & mask
    for i in range(4):
        left, right = right, left ^ (prf(1 + i, right) & mask)
    return (left << half) | right


def digits(v, n):
    out = []
    for _ in range(n):
        out.append(ALPHABET[v % 31])
        v //= 31
    return "".join(reversed(out))


for n in range(int(first), int(first) + int(count)):
    x = feistel(n)
    while x >= space:
        x = feistel(x)
    sym = iter(digits(x, nid) + digits(prf(0x63, x) % cspace, nck))
    print("".join(next(sym) if c == "X" else c for c in pattern))
EOF_

cat >people.csv <<'EOF_'
id,email,first_name
K1,k1@example.com,Kim
K2,k2@example.com,Lee
K3,k3@example.com,Max
K4,k4@example.com,Ned
K5,k5@example.com,Oli
K6,k6@example.com,Pat
EOF_
printf 'Subject: {{first_name}}, 10%% off\n\nYour code: {{coupon "SPRING"}} (again: {{coupon "SPRING"}})\n' >spring.tmpl
printf 'Subject: {{first_name}}, come back\n\nYour code: {{coupon}}\n' >wb.tmpl
send() {
	crm-send --no-consent --channel file -f csv "$@"
}

test_expect 'setup: six customers' '
	crm-import customers people.csv 2>/dev/null
'

test_expect 'import a pool: header, blank lines, CRLF, spaces around a code, case kept' '
	printf "\357\273\277code\r\nSP-001\r\n\r\n  SP-002 \r\nsp-003\r\nSP-004\r\nSP-005\r\nSP-006\r\nSP-007\r\n" >spring.txt &&
	run 0 crm-import coupons SPRING spring.txt &&
	expect_grep "spring.txt: 7 codes, 7 new in pool \"SPRING\", 0 there already" err &&
	expect_grep "pool \"SPRING\": 7 unused codes" err &&
	expect_eq "SP-001 SP-002 sp-003 SP-004 SP-005 SP-006 SP-007" \
		"$(sql "SELECT code FROM coupons ORDER BY id" | tr "\n" " " | sed "s/ $//")"
'

test_expect 'importing the same file again changes nothing and says so' '
	sql "SELECT * FROM coupons" >before &&
	run 0 crm-import coupons SPRING spring.txt &&
	expect_grep "spring.txt: 7 codes, none new: pool \"SPRING\" has every one already (nothing changed)" err &&
	sql "SELECT * FROM coupons" >after && expect_same before after
'

test_expect 'bad files: every error with FILE:LINE, and nothing written' '
	printf "code\nNEW-1\nSP-002\nNEW-2\nNEW-1\nTWO WORDS\nA,B\n" >bad.txt &&
	printf "NEW-9\nNEW-2\n" >bad2.txt &&
	sql "SELECT * FROM coupon_pools; SELECT * FROM coupons" >before &&
	run 1 crm-import coupons OTHER bad.txt bad2.txt &&
	expect_grep "crm-import: bad.txt:3: code \"SP-002\" is in pool \"SPRING\" already (a code belongs to one pool)" err &&
	expect_grep "crm-import: bad.txt:5: duplicate code \"NEW-1\" (first at bad.txt:2)" err &&
	expect_grep "crm-import: bad.txt:6: \"TWO WORDS\": a space inside a code (one code a line)" err &&
	expect_grep "crm-import: bad.txt:7: \"A,B\": \",\" in a code (one code a line, no other columns)" err &&
	expect_grep "crm-import: bad2.txt:2: duplicate code \"NEW-2\" (first at bad.txt:4)" err &&
	expect_grep "crm-import: pool \"OTHER\": 5 errors: nothing imported" err &&
	sql "SELECT * FROM coupon_pools; SELECT * FROM coupons" >after && expect_same before after &&
	run 2 crm-import coupons SPRING &&
	run 2 crm-import coupons SPRING spring.txt --generate 3 &&
	run 2 crm-import coupons SPRING --verify X spring.txt &&
	run 2 crm-import --pattern WB-XXXXXX orders spring.txt &&
	run 1 crm-import coupons SPRING missing.txt &&
	expect_grep "missing.txt: cannot open" err
'

test_expect 'generated codes: as crm.7 derives them, numbered on, never twice' '
	run 0 crm-import coupons WB --generate 5 --pattern WB-XXXX-XXXX &&
	head -n 1 out >hdr && expect_eq code "$(cat hdr)" &&
	tail -n +2 out >gen1 &&
	expect_grep "pool \"WB\": 5 codes generated (numbers 0 to 4 of WB-XXXX-XXXX), 5 unused" err &&
	secret=$(sql "SELECT value FROM meta WHERE key = '\''secret'\''") &&
	$PY coupon_codes.py "$secret" WB WB-XXXX-XXXX 0 5 >want && expect_same want gen1 &&
	run 0 crm-import coupons WB --generate 300 &&
	tail -n +2 out >gen2 &&
	$PY coupon_codes.py "$secret" WB WB-XXXX-XXXX 5 300 >want && expect_same want gen2 &&
	expect_eq 305 "$(cat gen1 gen2 | sort -u | wc -l | tr -d " ")" &&
	expect_eq 305 "$(sql "SELECT count(DISTINCT n) FROM coupons WHERE pool_id = (SELECT id FROM coupon_pools WHERE name = '\''WB'\'')")" &&
	grep -v "^WB-[2-9A-HJKMNP-Z]\{4\}-[2-9A-HJKMNP-Z]\{4\}$" gen2 >odd || true &&
	expect_eq "" "$(cat odd)" &&
	run 0 crm-import coupons NIGHT --generate 3 --pattern NIGHT/XXXXXXXXXX &&
	tail -n +2 out >gen3 &&
	$PY coupon_codes.py "$secret" NIGHT NIGHT/XXXXXXXXXX 0 3 >want && expect_same want gen3
'

test_expect 'bad patterns and pools are refused, nothing stored' '
	sql "SELECT * FROM coupon_pools; SELECT count(*) FROM coupons" >before &&
	run 2 crm-import coupons G1 --generate 5 --pattern wb-xxxx &&
	expect_grep "invalid --pattern \"wb-xxxx\": \"w\" at 1: a pattern is upper case" err &&
	run 2 crm-import coupons G1 --generate 5 --pattern WB-XXXX &&
	expect_grep "4 X in the pattern: it needs 6 to 16" err &&
	run 2 crm-import coupons G1 --generate 5 &&
	expect_grep "a new pool needs --pattern" err &&
	run 2 crm-import coupons WB --generate 5 --pattern WB-XXXXXX &&
	expect_grep "pool \"WB\" was generated with --pattern WB-XXXX-XXXX, not WB-XXXXXX" err &&
	run 1 crm-import coupons SPRING --generate 5 --pattern SP-XXXXXX &&
	expect_grep "pool \"SPRING\" holds imported codes" err &&
	run 1 crm-import coupons WB spring.txt &&
	expect_grep "pool \"WB\" is generated (pattern WB-XXXX-XXXX)" err &&
	run 1 crm-import coupons TINY --generate 923522 --pattern XXXXXX &&
	expect_grep "923521 codes, 0 made already" err &&
	run 2 crm-import coupons "A B" spring.txt &&
	sql "SELECT * FROM coupon_pools; SELECT count(*) FROM coupons" >after && expect_same before after
'

test_expect '--verify: a generated code by its check characters, any case; a changed one is not' '
	code=$(sed -n 7p gen2) &&
	run 0 crm-import coupons WB --verify "$code" &&
	expect_eq "\"$code\": valid, code 11 of pool \"WB\"; unused" "$(cat out)" &&
	lower=$(echo "$code" | tr A-Z a-z) &&
	run 0 crm-import coupons WB --verify "$lower" &&
	expect_grep "valid, code 11 of pool \"WB\"" out &&
	bad=$(echo "$code" | sed "s/.$/X/; t; s/.$/Y/") &&
	if [ "$bad" = "$code" ]; then bad=$(echo "$code" | sed "s/.$/Y/"); fi &&
	run 1 crm-import coupons WB --verify "$bad" &&
	expect_grep ": invalid: not a code of pool \"WB\"" out &&
	run 0 crm-import coupons SPRING --verify sp-003 &&
	expect_grep "valid, in pool \"SPRING\"; unused" out &&
	run 1 crm-import coupons SPRING --verify SP-999 &&
	run 1 crm-import coupons NOPE --verify SP-001 &&
	expect_grep "no coupon pool \"NOPE\"" err
'

test_expect 'template errors: {{coupon}} without --coupons, an unknown pool, two pools' '
	run 2 send --campaign e1 --template wb.tmpl people.csv &&
	expect_grep "wb.tmpl:3:14: {{coupon}} needs --coupons POOL" err &&
	run 2 send --campaign e1 --template wb.tmpl --coupons NOPE people.csv &&
	expect_grep "wb.tmpl:3:14: no coupon pool \"NOPE\"" err &&
	printf "Subject: x\n\n{{coupon \"WB\"}} {{coupon \"SPRING\"}}\n" >two.tmpl &&
	run 2 send --campaign e1 --template two.tmpl people.csv &&
	expect_grep "a template takes its codes from one pool, not \"WB\" and \"SPRING\"" err &&
	printf "Subject: x\n\n{{coupon \"\"}}\n" >empty.tmpl &&
	run 2 send --campaign e1 --template empty.tmpl people.csv &&
	expect_eq 0 "$(sql "SELECT count(*) FROM campaigns")"
'

test_expect 'an exhausted pool stops the campaign before sending, nothing recorded' '
	printf "S2-1\nS2-2\n" >small.txt && crm-import coupons SMALL small.txt 2>/dev/null &&
	printf "Subject: x\n\n{{coupon \"SMALL\"}}\n" >small.tmpl &&
	run 1 send --campaign small --template small.tmpl -o small.jsonl people.csv &&
	expect_grep "pool \"SMALL\" has 2 unused codes, and campaign \"small\" may need 6" err &&
	expect_grep "nothing was sent or recorded" err &&
	expect_eq 0 "$(sql "SELECT count(*) FROM campaigns WHERE name = '\''small'\''")" &&
	expect_eq 0 "$(sql "SELECT count(*) FROM coupons WHERE assigned_at IS NOT NULL")" &&
	test ! -s small.jsonl
'

test_expect '--dry-run shows the code each row would get, and binds none' '
	run 0 send --dry-run --campaign spring --template spring.tmpl -o dry.jsonl people.csv &&
	test ! -s dry.jsonl &&
	expect_eq "id,channel,status,reason,provider_id,message_id,variant,coupon" "$(head -n 1 out)" &&
	expect_eq "K1,SP-001 K2,SP-002 K3,sp-003 K4,SP-004 K5,SP-005 K6,SP-006" \
		"$(tail -n +2 out | cut -d, -f1,8 | tr "\n" " " | sed "s/ $//")" &&
	expect_eq 0 "$(sql "SELECT count(*) FROM coupons WHERE assigned_at IS NOT NULL")"
'

test_expect 'a campaign binds one code to each message sent, as the message says' '
	run 0 send --campaign spring --template spring.tmpl --control 30% -o spring.jsonl people.csv &&
	sql "SELECT c.external_id, k.code FROM coupons k JOIN messages m ON m.id = k.message_id
	     JOIN customers c ON c.id = m.customer_id ORDER BY 1" | tr "|" , >bound &&
	grep -v ",control," out | tail -n +2 | cut -d, -f1,8 | sort >printed &&
	expect_same bound printed &&
	$PY -c "import json,sys
for l in open(\"spring.jsonl\"):
    m = json.loads(l); t = m[\"text\"]
    print(m[\"id\"] + \",\" + t.split(\"code: \")[1].split(\" \")[0])
    assert t.count(m[\"text\"].split(\"code: \")[1].split(\" \")[0]) == 2" | sort >inmail &&
	expect_same bound inmail &&
	expect_eq 0 "$(sql "SELECT count(*) FROM messages m WHERE m.status = '\''sent'\''
		AND (SELECT count(*) FROM coupons k WHERE k.message_id = m.id) <> 1")" &&
	expect_eq 0 "$(sql "SELECT count(*) FROM messages m WHERE m.status <> '\''sent'\''
		AND EXISTS (SELECT 1 FROM coupons k WHERE k.message_id = m.id)")" &&
	test "$(sql "SELECT count(*) FROM messages WHERE grp = '\''control'\''")" -ge 1
'

test_expect 'a re-run, --retry and --resend-in-doubt never bind a second code' '
	sql "SELECT * FROM coupons" >before &&
	run 0 send --campaign spring --template spring.tmpl --control 30% -o again.jsonl people.csv &&
	test ! -s again.jsonl &&
	id=$(sql "SELECT id FROM messages WHERE status = '\''sent'\'' ORDER BY id LIMIT 1") &&
	code=$(sql "SELECT code FROM coupons WHERE message_id = $id") &&
	sql "UPDATE messages SET status = '\''in_doubt'\'' WHERE id = $id" &&
	run 0 send --campaign spring --template spring.tmpl --retry -o none.jsonl &&
	test ! -s none.jsonl &&
	run 0 send --campaign spring --template spring.tmpl --retry --resend-in-doubt -o doubt.jsonl &&
	expect_eq 1 "$(wc -l <doubt.jsonl | tr -d " ")" &&
	expect_grep "Your code: $code (again: $code)" doubt.jsonl &&
	expect_grep ",$code" out &&
	sql "SELECT * FROM coupons" >after && expect_same before after
'

test_expect '{{coupon}} takes from --coupons; a generated pool serves a campaign' '
	printf "id\nK1\nK2\n" >two.csv &&
	run 0 send --campaign wb --template wb.tmpl --coupons WB -o wb.jsonl two.csv &&
	expect_eq "$(sed -n 1,2p gen1 | tr "\n" " ")" "$(sql "SELECT k.code FROM coupons k JOIN messages m ON m.id = k.message_id
		JOIN campaigns c ON c.id = m.campaign_id WHERE c.name = '\''wb'\'' ORDER BY m.id" | tr "\n" " ")" &&
	code=$(sed -n 1p gen1) &&
	run 0 crm-import coupons WB --verify "$code" &&
	expect_grep "; sent by campaign \"wb\" on 2026-11-23 12:00:00; not redeemed" out
'

test_expect 'orders redeem codes: warnings with FILE:LINE, orders kept, nothing twice on re-import' '
	k1=$(sql "SELECT k.code FROM coupons k JOIN messages m ON m.id = k.message_id
		JOIN customers c ON c.id = m.customer_id WHERE c.external_id = '\''K3'\'' AND m.campaign_id =
		(SELECT id FROM campaigns WHERE name = '\''spring'\'')") &&
	test -n "$k1" &&
	other=$(sql "SELECT c.external_id FROM customers c JOIN messages m ON m.customer_id = c.id
		JOIN campaigns p ON p.id = m.campaign_id
		WHERE p.name = '\''spring'\'' AND m.status = '\''control'\'' LIMIT 1") &&
	cat >orders.csv <<-EOF_ &&
	order_id,customer_id,ordered_at,amount,currency,promo_code
	R1,K3,2026-11-24 10:00,50.00,EUR,$k1
	R2,$other,2026-11-25 10:00,20.00,EUR,$k1
	R3,K2,2026-11-24 11:00,30.00,EUR,NOSUCH
	R4,K3,2026-11-24 12:00,40.00,EUR,
	EOF_
	CRM_NOW="2026-11-30 12:00:00" run 0 crm-import orders orders.csv &&
	expect_grep "crm-import: orders.csv:3: warning: promo_code \"$k1\" is on another order too (R1): redeemed twice; the order is kept" err &&
	expect_grep "crm-import: orders.csv:3: warning: promo_code \"$k1\" was sent to another customer (campaign \"spring\"): the order is kept" err &&
	expect_grep "crm-import: orders.csv:4: warning: promo_code \"NOSUCH\" is in no coupon pool" err &&
	expect_no_grep "orders.csv:2:" err &&
	expect_eq 4 "$(sql "SELECT count(*) FROM orders")" &&
	expect_eq "R1|$k1|1 R2|$k1|1 R3|NOSUCH|0" "$(sql "SELECT o.external_id, r.code, r.coupon_id IS NOT NULL
		FROM coupon_redemptions r JOIN orders o ON o.id = r.order_id ORDER BY 1" | tr "\n" " " | sed "s/ $//")" &&
	expect_eq "2026-11-24 10:00:00" "$(sql "SELECT redeemed_at FROM coupons WHERE code = '\''$k1'\''")" &&
	sql "SELECT * FROM coupon_redemptions; SELECT * FROM coupons" >before &&
	CRM_NOW="2026-11-30 12:00:00" run 0 crm-import orders orders.csv &&
	expect_grep "4 read, 0 inserted, 0 updated, 4 unchanged" err &&
	expect_no_grep "orders.csv:2:" err &&
	sql "SELECT * FROM coupon_redemptions; SELECT * FROM coupons" >after && expect_same before after
'

test_expect 'redeemed("campaign") in expressions' '
	CRM_NOW="2026-11-30 12:00:00" run 0 crm-segment --fields id "redeemed(\"spring\")" &&
	other=$(sql "SELECT c.external_id FROM customers c JOIN orders o ON o.customer_id = c.id WHERE o.external_id = '\''R2'\''") &&
	printf "K3\n$other\n" | sort >want && tail -n +2 out | sort >got && expect_same want got &&
	CRM_NOW="2026-11-30 12:00:00" run 0 crm-segment -c "redeemed(\"spring\") > 5d" &&
	expect_eq 2 "$(cat out)" &&
	CRM_NOW="2026-11-30 12:00:00" run 0 crm-segment -c "redeemed(\"spring\") > 6d" &&
	expect_eq 1 "$(cat out)" &&
	CRM_NOW="2026-11-24 10:30:00" run 0 crm-segment -c "redeemed(\"spring\")" &&
	expect_eq 1 "$(cat out)" &&
	run 0 crm-segment -c "redeemed(\"wb\")" && expect_eq 0 "$(cat out)"
'

test_expect 'crm-report campaign: codes, redemptions, their rate, orders and revenue per group' '
	CRM_NOW="2026-11-30 12:00:00" run 0 crm-report campaign spring -f csv &&
	col() { awk -F, -v g="$1" -v c="$2" "NR == 1 { for (i = 1; i <= NF; i++) h[\$i] = i; next }
		\$1 == g { print \$h[c] }" out; } &&
	sent=$(sql "SELECT count(*) FROM messages m JOIN campaigns c ON c.id = m.campaign_id
		WHERE c.name = '\''spring'\'' AND m.status = '\''sent'\''") &&
	expect_eq "$sent" "$(col treatment codes)" &&
	expect_eq 1 "$(col treatment redemptions)" &&
	expect_eq 2 "$(col treatment redeemed_orders)" &&
	expect_eq 70 "$(col treatment redeemed_revenue)" &&
	expect_eq "$($PY -c "print(round(1 / $sent, 6))")" "$(col treatment redemption_rate)" &&
	expect_eq "" "$(col control codes)" &&
	CRM_NOW="2026-11-30 12:00:00" run 0 crm-report campaign wb -f csv &&
	expect_eq "2 0" "$(col treatment codes) $(col treatment redemptions)" &&
	run 0 crm-report campaign small -f csv || true
'

test_expect 'crm-report export coupons: each code with its pool, person, campaign and redemptions' '
	run 0 crm-report -f csv export coupons &&
	expect_eq "pool,code,customer_id,campaign,assigned_at,redeemed_at,redemptions,imported_at" "$(head -n 1 out)" &&
	expect_eq "$(sql "SELECT count(*) FROM coupons")" "$(($(wc -l <out) - 1))" &&
	k=$(sql "SELECT k.code FROM coupons k JOIN coupon_redemptions r ON r.coupon_id = k.id LIMIT 1") &&
	want=$(sql "SELECT p.name || \",\" || k.code || \",\" || c.external_id || \",\" || cp.name || \",\" ||
		(SELECT count(*) FROM coupon_redemptions r WHERE r.coupon_id = k.id)
		FROM coupons k JOIN coupon_pools p ON p.id = k.pool_id JOIN messages m ON m.id = k.message_id
		JOIN customers c ON c.id = m.customer_id JOIN campaigns cp ON cp.id = m.campaign_id
		WHERE k.code = '\''$k'\''") &&
	expect_eq "$want" "$(awk -F, -v k="$k" "\$2 == k { print \$1 \",\" \$2 \",\" \$3 \",\" \$4 \",\" \$7 }" out)" &&
	run 0 crm-report -f csv --where "id = \"K3\"" export coupons &&
	test "$(wc -l <out)" -gt 1 &&
	expect_eq 0 "$(awk -F, "NR > 1 && \$3 != \"K3\"" out | wc -l)"
'

test_expect 'crm-import erase: the codes stay used but name the person no more' '
	k1=$(sql "SELECT k.code FROM coupons k JOIN messages m ON m.id = k.message_id
		JOIN customers c ON c.id = m.customer_id WHERE c.external_id = '\''K3'\'' AND m.campaign_id =
		(SELECT id FROM campaigns WHERE name = '\''spring'\'')") &&
	printf "id\nK3\n" | crm-import erase - 2>/dev/null &&
	expect_eq "|0|2026-11-24 10:00:00" "$(sql "SELECT message_id, assigned_at IS NULL, redeemed_at FROM coupons WHERE code = '\''$k1'\''")" &&
	expect_eq 0 "$(sql "SELECT count(*) FROM coupons k JOIN messages m ON m.id = k.message_id
		JOIN customers c ON c.id = m.customer_id WHERE c.erased_at IS NOT NULL")" &&
	expect_eq 0 "$(sql "SELECT count(*) FROM coupon_redemptions r JOIN orders o ON o.id = r.order_id
		JOIN customers c ON c.id = o.customer_id WHERE c.erased_at IS NOT NULL")" &&
	run 0 crm-import coupons SPRING --verify "$k1" &&
	expect_grep "assigned on 2026-11-23 12:00:00 (to someone since erased)" out &&
	run 0 crm-import coupons SPRING spring.txt &&
	expect_eq 0 "$(sql "SELECT count(*) FROM coupons WHERE code = '\''$k1'\'' AND assigned_at IS NULL")"
'

test_expect 'examples/coupons.sh runs: a code in every message, two redeemed' '
	mkdir ex &&
	run 0 sh "$CRM_TOP/examples/coupons.sh" "$CRM_BIN" "$TEST_DIR/ex" &&
	expect_eq 2 "$(awk "\$1 == \"redeemed_orders\" { print \$2 }" out)" &&
	n=$(CRM_DB=ex/coupons.db sql "SELECT count(*) FROM messages WHERE status = '\''sent'\''") &&
	expect_eq "$n" "$(grep -c "^    WB-[2-9A-Z]\{4\}-[2-9A-Z]\{4\}\$" ex/coupons.mbox)"
'

test_done
