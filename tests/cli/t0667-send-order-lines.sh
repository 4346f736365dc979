#!/bin/sh
# last_order and {{#each last_order.lines}} in crm-send templates (issue
# 15 item 1): the customer's latest purchase up to --now, its lines with
# money in major units as the other money fields print it; through the
# file channel and over SMTP to a real server (aiosmtpd).
. "$CRM_TOP/tests/lib.sh"

# Now is 2026-11-23 12:00:00.
#   A  O1 2026-10-01 RUB 140    Boots x1 100, Hat x2 @20
#      O2 2026-11-01 RUB 192.50 Sandals <beach> x1 125, Socks x3 @12.50,
#                               Coffee x1.5 @20: the latest purchase
#      R2 2026-11-10 RUB -37.50 a refund (Socks x-3): no purchase
#      O5 2026-11-12 RUB 125    cancelled: no purchase
#      O6 2026-11-30 RUB 20     after now
#   B  O3 2026-11-05 JPY 1500   Tea x2 @750 (no decimals)
#   C  no orders
#   D  O4 2026-11-06 RUB 30     no lines
test_expect 'setup: customers and orders by crm-import, products and lines by SQL' '
	printf "id,email,first_name\nA,a@example.com,Ann\nB,b@example.com,Bob\nC,c@example.com,Cid\nD,d@example.com,Dan\n" >c.csv &&
	cat >o.csv <<-\EOF_ &&
	order_id,customer_id,ordered_at,amount,currency,status
	O1,A,2026-10-01,140,RUB,
	O2,A,2026-11-01,192.50,RUB,shipped
	R2,A,2026-11-10,-37.50,RUB,refunded
	O5,A,2026-11-12,125,RUB,cancelled
	O6,A,2026-11-30,20,RUB,
	O3,B,2026-11-05,1500,JPY,
	O4,D,2026-11-06,30,RUB,
	EOF_
	run 0 crm-import customers c.csv &&
	run 0 crm-import orders o.csv &&
	sql "INSERT INTO products(sku, name, category, updated_at) VALUES
		('\''B1'\'', '\''Boots'\'', '\''Shoes'\'', '\''2026-11-01 00:00:00'\''),
		('\''H1'\'', '\''Hat'\'', '\''Accessories'\'', '\''2026-11-01 00:00:00'\''),
		('\''S1'\'', '\''Sandals <beach>'\'', '\''Shoes'\'', '\''2026-11-01 00:00:00'\''),
		('\''S2'\'', '\''Socks'\'', NULL, '\''2026-11-01 00:00:00'\''),
		('\''C1'\'', '\''Coffee'\'', '\''Food'\'', '\''2026-11-01 00:00:00'\''),
		('\''T1'\'', '\''Tea'\'', '\''Food'\'', '\''2026-11-01 00:00:00'\'');
	     WITH v(ext, line, sku, q, up, amt) AS (VALUES
		('\''O1'\'', 1, '\''B1'\'', 1, 10000, 10000), ('\''O1'\'', 2, '\''H1'\'', 2, 2000, 4000),
		('\''O2'\'', 1, '\''S1'\'', 1, 12500, 12500), ('\''O2'\'', 2, '\''S2'\'', 3, 1250, 3750),
		('\''O2'\'', 3, '\''C1'\'', 1.5, 2000, 3000),
		('\''R2'\'', 1, '\''S2'\'', -3, 1250, -3750),
		('\''O5'\'', 1, '\''S1'\'', 1, 12500, 12500),
		('\''O6'\'', 1, '\''H1'\'', 1, 2000, 2000),
		('\''O3'\'', 1, '\''T1'\'', 2, 750, 1500))
	     INSERT INTO order_lines(order_id, line, product_id, quantity, unit_price, amount)
	     SELECT o.id, v.line, p.id, v.q, v.up, v.amt FROM v
	     JOIN orders o ON o.external_id = v.ext JOIN products p ON p.sku = v.sku" &&
	expect_eq 9 "$(sql "SELECT count(*) FROM order_lines")"
'

cat >lines.tmpl <<'EOF_'
Subject: {{first_name}}, order {{last_order.id|default:"none"}}

{{#if last_order}}
Order {{last_order.id}} of {{last_order.ordered_at}}: {{last_order.amount}} {{last_order.currency}} ({{last_order.status}})
{{/if}}
{{#each last_order.lines}}
{{@number}}. {{name}} x {{quantity}} {{amount}} ({{sku}}, {{category|default:"-"}}, {{unit_price}} each){{#if @last}}, {{../first_name}}{{/if}}
{{else}}
No lines.
{{/each}}
--- html ---
<ul>{{#each last_order.lines}}<li>{{name}} x {{quantity}} {{amount}}</li>{{/each}}</ul>
EOF_

test_expect 'last_order and its lines, rendered exactly (file channel)' '
	printf "A\nB\nC\nD\n" | run 0 crm-send --campaign lines --channel file --no-consent \
		--template lines.tmpl -o m.jsonl - &&
	expect_grep "4 sent" err &&
	cat >want <<\EOF_ &&
{"id":"A","campaign":"lines","to":"a@example.com","headers":{"Subject":"Ann, order O2"},"text":"Order O2 of 2026-11-01 00:00:00: 192.5 RUB (shipped)\n1. Sandals <beach> x 1 125 (S1, Shoes, 125 each)\n2. Socks x 3 37.5 (S2, -, 12.5 each)\n3. Coffee x 1.5 30 (C1, Food, 20 each), Ann\n","html":"<ul><li>Sandals &lt;beach&gt; x 1 125</li><li>Socks x 3 37.5</li><li>Coffee x 1.5 30</li></ul>\n"}
{"id":"B","campaign":"lines","to":"b@example.com","headers":{"Subject":"Bob, order O3"},"text":"Order O3 of 2026-11-05 00:00:00: 1500 JPY (completed)\n1. Tea x 2 1500 (T1, Food, 750 each), Bob\n","html":"<ul><li>Tea x 2 1500</li></ul>\n"}
{"id":"C","campaign":"lines","to":"c@example.com","headers":{"Subject":"Cid, order none"},"text":"No lines.\n","html":"<ul></ul>\n"}
{"id":"D","campaign":"lines","to":"d@example.com","headers":{"Subject":"Dan, order O4"},"text":"Order O4 of 2026-11-06 00:00:00: 30 RUB (completed)\nNo lines.\n","html":"<ul></ul>\n"}
EOF_
	sed "s/,\"message_id\":\"[^\"]*\"//" m.jsonl >got &&
	expect_same want got
'

test_expect 'as of an earlier --now the latest purchase is the one before' '
	printf "id\nA\n" >a.csv &&
	run 0 crm-send --now "2026-10-15 00:00:00" --campaign early --channel file --no-consent \
		--template lines.tmpl -o e.jsonl a.csv &&
	expect_grep "\"text\":\"Order O1 of 2026-10-01 00:00:00: 140 RUB (completed)\n1. Boots x 1 100 (B1, Shoes, 100 each)\n2. Hat x 2 40 (H1, Accessories, 20 each), Ann\n\"" e.jsonl
'

test_expect 'last_order.NAME that does not exist is an error with its place' '
	printf "Subject: x\n\n{{last_order.total}}\n" >bad.tmpl &&
	echo A | run 2 crm-send --campaign bad --channel file --no-consent --template bad.tmpl - &&
	expect_grep "bad.tmpl:3:3: unknown field \"last_order.total\"" err
'

test_expect 'over SMTP: the text and HTML parts as rendered' '
	start_smtpd &&
	cat >crm.conf <<-EOF_ &&
	[smtp]
	url = smtp://127.0.0.1:$SMTP_PORT
	[email]
	from = Shop <shop@example.com>
	EOF_
	chmod 600 crm.conf &&
	printf "id\nA\n" | run 0 crm-send --config crm.conf --campaign smtp --channel email \
		--no-consent --transactional --template lines.tmpl - &&
	expect_eq 1 "$(spooled)" &&
	"$PY" - spool/*.eml >parsed <<-\EOF_ &&
	import sys, email, email.policy
	raw = open(sys.argv[1], "rb").read().split(b"\r\n", 2)[2]
	m = email.message_from_bytes(raw, policy=email.policy.default)
	print(m["Subject"])
	for kind in ("plain", "html"):
	    sys.stdout.write(m.get_body((kind,)).get_content().replace("\r\n", "\n"))
	EOF_
	cat >want <<-\EOF_ &&
	Ann, order O2
	Order O2 of 2026-11-01 00:00:00: 192.5 RUB (shipped)
	1. Sandals <beach> x 1 125 (S1, Shoes, 125 each)
	2. Socks x 3 37.5 (S2, -, 12.5 each)
	3. Coffee x 1.5 30 (C1, Food, 20 each), Ann
	<ul><li>Sandals &lt;beach&gt; x 1 125</li><li>Socks x 3 37.5</li><li>Coffee x 1.5 30</li></ul>
	EOF_
	expect_same want parsed
'

test_done
