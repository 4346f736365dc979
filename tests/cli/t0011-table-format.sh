#!/bin/sh
# -f table is for a person (issue 19 item 4): counts and money with
# thousands separators, money to its currency's minor units (GBP 2, JPY
# 0), rates as percentages, numbers on the right, and columns padded by
# display width (a CJK character or an emoji takes two columns, a
# combining mark none) whatever the locale (LC_ALL=C here). csv and JSON
# keep the exact values.
#
# The expected tables are made here, by fmt.py from the JSON output and
# the kinds crm.7 gives each column, with Python's own Unicode data
# (unicodedata.east_asian_width, unicodedata.category) for the widths.
. "$CRM_TOP/tests/lib.sh"

PY=/usr/bin/python3

# fmt.py JSON OUT MODE [COL=KIND...]: the table that JSON (an array of
# objects, as -f json writes) should make; MODE rows, or side for a
# report turned on its side (a line per column: more than 8 columns and
# at most 12 rows). KIND: count, money (in the row's currency), rate.
cat >fmt.py <<'EOF'
import json, sys, unicodedata as ud

DIGITS = {'GBP': 2, 'JPY': 0, 'USD': 2, 'KWD': 3}

def width(s):
	w = 0
	for ch in s:
		cp = ord(ch)
		if (ud.category(ch) in ('Mn', 'Me', 'Cf') and cp != 0xad) or \
		   0x1160 <= cp <= 0x11ff or 0xd7b0 <= cp <= 0xd7ff:
			continue
		w += 2 if ud.east_asian_width(ch) in ('W', 'F') else 1
	return w

def group(num):
	sign = '-' if num.startswith('-') else ''
	num = num.lstrip('-')
	whole, dot, frac = num.partition('.')
	return sign + '{:,}'.format(int(whole)) + dot + frac

def cell(v, kind, cur):
	if v is None or isinstance(v, bool):
		return ('' if v is None else str(v).lower(), False)
	if isinstance(v, str):
		return (v, False)
	if kind == 'count':
		s = '{:,}'.format(v) if isinstance(v, int) else group('%.15g' % v)
	elif kind == 'money':
		s = '{:,.{}f}'.format(v, DIGITS.get(cur, 2))
	elif kind == 'rate':
		p = v * 100
		s = ('%.4g' % p if p and abs(p) < 1 else '{:,.1f}'.format(p)) + '%'
	else:
		s = str(v) if isinstance(v, int) else '%.15g' % v
	return (s, True)

def table(cols, rows):
	w = [width(c) for c in cols]
	for r in rows:
		for i, (s, num) in enumerate(r):
			w[i] = max(w[i], width(s))
	head = []
	for i, c in enumerate(cols):
		nums = sum(1 for r in rows if r[i][1])
		texts = sum(1 for r in rows if not r[i][1] and r[i][0])
		head.append((c, nums > 0 and texts == 0))
	out = []
	for r in [head] + rows:
		line = ''
		for i, (s, num) in enumerate(r):
			if i:
				line += '  '
			pad = ' ' * (w[i] - width(s))
			if num:
				line += pad + s
			else:
				line += s + (pad if i + 1 < len(r) else '')
		out.append(line.rstrip(' '))
	return '\n'.join(out) + '\n'

data = json.loads(open(sys.argv[1], 'rb').read().decode('utf-8'))
mode = sys.argv[3]
kinds = dict(a.split('=') for a in sys.argv[4:])
cols = list(data[0].keys())
if mode == 'side':
	heads = ['metric'] + [cell(r[cols[0]], None, None)[0] for r in data]
	rows = [[(c, False)] + [cell(r[c], kinds.get(c), r.get('currency')) for r in data]
		for c in cols[1:]]
	text = table(heads, rows)
else:
	rows = [[cell(r[c], kinds.get(c), r.get('currency')) for c in cols] for r in data]
	text = table(cols, rows)
open(sys.argv[2], 'wb').write(text.encode('utf-8'))
EOF

# Names: Cyrillic, CJK, an emoji, and an e with a combining acute accent.
# GBP: A 1,234,567.50 and 10.25, B 5.00 and 7.00, C 3.10: 3 buyers, 2 of
# them repeat buyers (2/3), revenue 1,234,592.85; JPY: D 1,752,457.
cat >c.csv <<'EOF'
customer_id,email,first_name
A,a@example.com,Анна
B,b@example.com,王小明
C,c@example.com,Zoe😀
D,d@example.com,José
EOF
cat >o.csv <<'EOF'
order_id,customer_id,ordered_at,amount,currency
O1,A,2026-10-01,1234567.50,GBP
O2,A,2026-10-02,10.25,GBP
O3,B,2026-10-03,5.00,GBP
O4,B,2026-10-04,7.00,GBP
O5,C,2026-10-05,3.10,GBP
O6,D,2026-10-06,1752457,JPY
EOF
# Products: 1,752,457 units of Чай (a count from a sum); 緑茶 bought by A
# (O1, O2), B (O3, O4) and C (O5): 2 of 3 buyers bought it again.
cat >lines.sql <<'EOF'
INSERT INTO products(sku, name, category, updated_at) VALUES
 ('P1', 'Чай', 'Напитки', '2026-10-01 00:00:00'),
 ('P2', '緑茶', 'お茶', '2026-10-01 00:00:00'),
 ('P3', 'Tea 🍵', 'Tea', '2026-10-01 00:00:00'),
 ('P4', 'Café', 'Tea', '2026-10-01 00:00:00');
WITH v(ext, line, sku, q, amt) AS (VALUES
 ('O1', 1, 'P1', 1752457, 123456000), ('O1', 2, 'P2', 1, 750),
 ('O2', 1, 'P2', 1, 1025),
 ('O3', 1, 'P2', 1, 400), ('O3', 2, 'P4', 1, 100),
 ('O4', 1, 'P2', 2, 700),
 ('O5', 1, 'P3', 1, 200), ('O5', 2, 'P2', 1, 110))
INSERT INTO order_lines(order_id, line, product_id, quantity, unit_price, amount)
SELECT o.id, v.line, p.id, v.q, v.amt / v.q, v.amt FROM v
JOIN orders o ON o.external_id = v.ext JOIN products p ON p.sku = v.sku;
EOF

test_expect 'setup: customers and orders by crm-import, products and lines by SQL' '
	run 0 crm-import customers c.csv &&
	run 0 crm-import orders o.csv &&
	sqlite3 -batch -bail "$CRM_DB" <lines.sql &&
	expect_eq 8 "$(sql "SELECT count(*) FROM order_lines")"
'

summary_kinds="customers=count buyers=count repeat_buyers=count orders=count
	active_30d=count active_90d=count active_365d=count revenue=money aov=money
	avg_clv=money repeat_rate=rate retention_rate=rate churned_share=rate"

test_expect 'summary: csv and JSON keep the exact values' '
	run 0 crm-report -f csv summary &&
	expect_eq "GBP,4,3,2,0.6667,5,1234592.85,246918.57,1.6667,0,3,3,,0," "$(sed -n 2p out)" &&
	expect_eq "JPY,4,1,0,0,1,1752457,1752457,1,0,1,1,,0," "$(sed -n 3p out)" &&
	run 0 crm-report -f jsonl summary &&
	expect_grep "\"repeat_rate\":0.6667,\"orders\":5,\"revenue\":1234592.85,\"aov\":246918.57," out
'

test_expect 'summary -f table: on its side, percentages, separators, each currency'\''s decimals' '
	run 0 crm-report -f table summary &&
	mv out got &&
	run 0 crm-report -f json summary &&
	$PY fmt.py out want side $summary_kinds &&
	expect_eq "$(cat want)" "$(cat got)" &&
	expect_grep "repeat_rate            66.7%       0.0%" got &&
	expect_grep "revenue         1,234,592.85  1,752,457" got &&
	expect_grep "metric                   GBP        JPY" got
'

products_kinds="buyers=count orders=count units=count returns=count revenue=money
	repeat_rate=rate"

test_expect 'products -f table: a count over a million, names by display width' '
	run 0 crm-report -f csv products &&
	expect_eq "P1,Чай,Напитки,1,1,1752457,1234560,0,0,GBP" "$(sed -n 2p out)" &&
	expect_eq "P2,緑茶,お茶,3,5,6,29.85,0,0.6667,GBP" "$(sed -n 3p out)" &&
	run 0 crm-report -f table products &&
	mv out got &&
	run 0 crm-report -f json products &&
	$PY fmt.py out want rows $products_kinds &&
	expect_eq "$(cat want)" "$(cat got)" &&
	expect_grep "1,752,457  1,234,560.00" got &&
	expect_grep "29.85        0        66.7%  GBP" got
'

test_expect 'crm-segment -f table: customer names in Cyrillic, CJK and emoji line up' '
	run 0 crm-segment -f csv --fields id,first_name,orders,revenue "orders > 0" &&
	cat >want.csv <<-\EOF_ &&
	id,first_name,orders,revenue
	A,Анна,2,1234577.75
	B,王小明,2,12
	C,Zoe😀,1,3.1
	D,José,1,1752457
	EOF_
	expect_eq "$(cat want.csv)" "$(cat out)" &&
	run 0 crm-segment -f table --fields id,first_name,orders,revenue "orders > 0" &&
	mv out got &&
	run 0 crm-segment -f json --fields id,first_name,orders,revenue "orders > 0" &&
	$PY fmt.py out want rows orders=count revenue=money &&
	expect_eq "$(cat want)" "$(cat got)" &&
	cat >want2 <<-\EOF_ &&
	id  first_name  orders       revenue
	A   Анна             2  1,234,577.75
	B   王小明           2         12.00
	C   Zoe😀            1          3.10
	D   José             1  1,752,457.00
	EOF_
	expect_eq "$(cat want2)" "$(cat got)"
'

test_done
