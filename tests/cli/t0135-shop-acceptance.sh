#!/bin/sh
# Issue 15's acceptance: public real-world shop exports import with the
# documented commands, no hand work (no Miller step, no date flag), and
# give what an independent computation (Python's csv and decimal) gives:
# orders and customers, purchases and net revenue per customer, lines per
# order, returns, and the report of products.
#   ../shared/data/online-retail/OnlineRetail.csv: a UK gift retailer's
#     invoice lines as published (M/D/YYYY H:MM dates, credit notes
#     "C536379" with negative quantities, guest lines without CustomerID)
. "$CRM_TOP/tests/lib.sh"

RETAIL=$CRM_TOP/../shared/data/online-retail/OnlineRetail.csv
PY=/usr/bin/python3

test_expect 'the UK retailer'"'"'s invoice lines import as published; guests are rejected, counted' '
	test -r "$RETAIL" &&
	run 3 crm-import lines --currency GBP "$RETAIL" &&
	expect_grep "OnlineRetail.csv: 70051 read, 42776 inserted, 0 updated, 0 unchanged, 27275 rejected, 1259 stubs created" err &&
	expect_grep "OnlineRetail.csv: 27175 more rejected rows not shown (-v shows all, --rejects FILE keeps them all)" err &&
	test "$(wc -l <err)" -lt 110 &&
	expect_no_grep "ambiguous" err
'

# the same numbers from the file alone
cat >independent.py <<'EOF'
import csv, sys
from decimal import Decimal
orders = {}
for r in csv.DictReader(open(sys.argv[1], encoding="utf-8")):
    if not r["CustomerID"].strip():
        continue
    o = orders.setdefault(r["InvoiceNo"], {"c": r["CustomerID"], "minor": 0, "lines": 0, "ret": 0})
    q = Decimal(r["Quantity"])
    o["minor"] += int((q * Decimal(r["UnitPrice"]) * 100).to_integral_value())
    o["lines"] += 1
    o["ret"] += q < 0
what = sys.argv[2]
if what == "customers":
    cust = {}
    for o in orders.values():
        c = cust.setdefault(o["c"], [0, 0])
        c[0] += o["minor"] >= 0
        c[1] += o["minor"]
    for k in sorted(cust):
        print("%s,%d,%.2f" % (k, cust[k][0], cust[k][1] / 100))
elif what == "orders":
    for k in sorted(orders):
        o = orders[k]
        print("%s|%s|%d|%d|%d|%d" % (k, o["c"], o["minor"], o["lines"], o["ret"],
                                     1 if o["minor"] >= 0 else -1))
else:
    print(len(orders), sum(o["minor"] >= 0 for o in orders.values()),
          sum(o["minor"] < 0 for o in orders.values()), sum(o["ret"] for o in orders.values()))
EOF

test_expect 'orders, purchases and credit notes, lines and returns per order as the file says' '
	$PY independent.py "$RETAIL" orders >want &&
	sql "SELECT o.external_id, c.external_id, o.amount,
		(SELECT count(*) FROM order_lines l WHERE l.order_id = o.id),
		(SELECT count(*) FROM order_lines l WHERE l.order_id = o.id AND l.quantity < 0),
		o.purchase
		FROM orders o JOIN customers c ON c.id = o.customer_id ORDER BY 1" >got &&
	expect_same want got &&
	expect_eq "2591 2115 476 $(sql "SELECT count(*) FROM order_lines WHERE quantity < 0")" \
		"$($PY independent.py "$RETAIL" totals)"
'

test_expect 'purchases and net revenue per customer, as crm-segment computes them' '
	$PY independent.py "$RETAIL" customers >want &&
	crm-segment --fields id,orders,revenue true | tail -n +2 |
		awk -F, "{ printf \"%s,%d,%.2f\n\", \$1, \$2, \$3 }" | sort >got &&
	expect_same want got
'

test_expect 'the dates were read month first (12/1/2010 8:26 is 1 December), none in the future' '
	expect_eq "2010-12-01 08:26:00|2011-01-25 10:38:00" \
		"$(sql "SELECT min(ordered_at), max(ordered_at) FROM orders")"
'

test_expect 'the summary report agrees with the file: buyers, purchases, net revenue' '
	run 0 crm-report summary -f csv --now "2011-01-26 00:00:00" &&
	buyers=$(sql "SELECT count(DISTINCT customer_id) FROM orders WHERE purchase = 1") &&
	expect_eq "GBP,1259,$buyers,2115" "$(sed -n 2p out | cut -d, -f1-3,6)" &&
	net=$($PY independent.py "$RETAIL" customers | awk -F, "{ s += \$3 } END { printf \"%.2f\", s }") &&
	expect_eq "$net" "$(sed -n 2p out | cut -d, -f7 | awk "{ printf \"%.2f\", \$1 }")"
'

test_expect 'the top products report: units net of returns, from the lines' '
	run 0 crm-report products --limit 3 -f csv --now "2011-01-26 00:00:00" &&
	head -1 out | grep -q "^sku,name,category,buyers,orders,units,revenue,returns,repeat_rate" &&
	sku=$(sed -n 2p out | cut -d, -f1) &&
	expect_eq "$(sed -n 2p out | cut -d, -f6)" \
		"$(awk -F, -v s="$sku" "NR > 1 && \$2 == s && \$7 != \"\" { u += \$4 } END { print u }" "$RETAIL")"
'

test_expect 'a re-import of the same file changes nothing' '
	sql .dump >before.sql &&
	run 3 crm-import lines --currency GBP "$RETAIL" &&
	expect_grep "0 inserted, 0 updated, 42776 unchanged, 27275 rejected" err &&
	sql .dump >after.sql && expect_same before.sql after.sql
'

test_done
