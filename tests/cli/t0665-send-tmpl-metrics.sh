#!/bin/sh
# Every field and metric of the expression language (crm.7) in a
# crm-send template (issue 15 item 7): the money metrics call the
# currency factor, an SQL function crm-send's connection must have
# ("no such function: crm_currency_k" before). Numbers print as
# crm-segment prints them: money in major units (revenue sums the
# currencies as they are), the shortest form (1334.5, 10).
. "$CRM_TOP/tests/lib.sh"

test_expect 'setup: two customers, three orders in two currencies, one refunded' '
	printf "id,email,first_name,city,birthday\nA1,a@example.com,Ann,Kazan,1990-05-17\nB2,b@example.com,Bob,,\nC3,c@example.com,Cid,,\n" >c.csv &&
	printf "id,customer_id,ordered_at,amount,currency,status\nO1,A1,2026-10-01,1234.50,RUB,\nO2,A1,2026-11-03,100,RUB,\nO3,B2,2026-11-01,10,JPY,\nO4,B2,2026-11-02,99,JPY,refunded\n" >o.csv &&
	crm-import customers c.csv 2>/dev/null &&
	crm-import orders o.csv 2>/dev/null &&
	crm-segment --no-input -f csv --fields id "customer_id > 0" >all.csv
'

test_expect 'revenue, aov, orders, days_since_last_order, last_order_at in a template' '
	printf "Subject: {{first_name}}: {{revenue}}\n\nrevenue={{revenue}} aov={{aov|default:\"none\"}} orders={{orders}}\ndays={{days_since_last_order|default:\"-\"}} last={{last_order_at|default:\"never\"}}\nfirst={{first_order_at}}\n--- html ---\n<p>{{revenue}}</p>\n" >m.tmpl &&
	run 0 crm-send --campaign money --channel file --no-consent --template m.tmpl -o msgs.jsonl all.csv &&
	expect_grep "3 sent" err &&
	cat >want <<EOF_ &&
{"id":"A1","campaign":"money","to":"a@example.com","headers":{"Subject":"Ann: 1334.5"},"text":"revenue=1334.5 aov=667.25 orders=2\\ndays=20 last=2026-11-03 00:00:00\\nfirst=2026-10-01 00:00:00\\n","html":"<p>1334.5</p>\\n"}
{"id":"B2","campaign":"money","to":"b@example.com","headers":{"Subject":"Bob: 10"},"text":"revenue=10 aov=10 orders=1\\ndays=22 last=2026-11-01 00:00:00\\nfirst=2026-11-01 00:00:00\\n","html":"<p>10</p>\\n"}
{"id":"C3","campaign":"money","to":"c@example.com","headers":{"Subject":"Cid: 0"},"text":"revenue=0 aov=none orders=0\\ndays=- last=never\\nfirst=\\n","html":"<p>0</p>\\n"}
EOF_
	sed "s/,\"message_id\":\"[^\"]*\"//" msgs.jsonl >got &&
	expect_same want got
'

test_expect 'scores (clv, p_alive, churn_risk, expected_orders, rfm) in a template' '
	sql "INSERT INTO scores(customer_id, r, f, m, rfm, rfm_segment, p_alive, churn_risk,
		expected_orders, clv, updated_at) SELECT id, 5, 4, 3, '\''543'\'', '\''loyal'\'',
		0.75, 0.25, 1.5, 2500.125, '\''2026-11-23 12:00:00'\'' FROM customers WHERE external_id = '\''A1'\''" &&
	printf "clv={{clv}} p={{p_alive}} risk={{churn_risk}} exp={{expected_orders}} rfm={{rfm}} {{rfm_segment}} r={{r}}{{f}}{{m}}\n" >s.tmpl &&
	echo A1 | run 0 crm-send --campaign scores --channel file --no-consent --template s.tmpl -o s.jsonl - &&
	expect_grep "\"text\":\"clv=2500.125 p=0.75 risk=0.25 exp=1.5 rfm=543 loyal r=543" s.jsonl
'

test_expect 'every field of crm.7 renders (none is unknown or fails in SQL)' '
	names="id external_id customer_id email phone first_name last_name birthday city country
		timezone created_at updated_at is_stub orders revenue aov first_order_at last_order_at
		days_since_last_order tenure_days r f m rfm rfm_segment clv p_alive churn_risk
		expected_orders points points_pending points_expiring_30d points_expiry tier tier_since" &&
	: >e.tmpl &&
	for n in $names; do printf "%s={{%s}}\n" $n $n >>e.tmpl; done &&
	echo A1 | run 0 crm-send --campaign every --channel file --no-consent --template e.tmpl -o e.jsonl - &&
	expect_grep "birthday=1990-05-17" e.jsonl &&
	expect_grep "tenure_days=53" e.jsonl &&
	expect_grep "city=Kazan" e.jsonl &&
	expect_grep "is_stub=0" e.jsonl
'

test_expect '{{#each}} over an attribute holding an array of objects, through crm-send' '
	printf "{\"id\":\"A1\",\"recommendations\":[{\"name\":\"Boots <new>\",\"price\":129.5},{\"name\":\"Hat\",\"price\":20}]}\n" |
		crm-import customers 2>/dev/null &&
	cat >each.tmpl <<\EOF_ &&
Subject: {{first_name}}, {{#each attr.recommendations}}{{name}}{{#unless @last}} and {{/unless}}{{else}}news{{/each}}

{{#each attr.recommendations}}
{{@number}}. {{name}}: {{price}} for {{../first_name}}
{{else}}
Nothing yet.
{{/each}}
--- html ---
<ul>{{#each attr.recommendations}}<li>{{name}}</li>{{/each}}</ul>
EOF_
	printf "A1\nB2\n" | run 0 crm-send --campaign each --channel file --no-consent --template each.tmpl -o each.jsonl - &&
	cat >want <<\EOF_ &&
{"id":"A1","campaign":"each","to":"a@example.com","headers":{"Subject":"Ann, Boots <new> and Hat"},"text":"1. Boots <new>: 129.5 for Ann\n2. Hat: 20 for Ann\n","html":"<ul><li>Boots &lt;new&gt;</li><li>Hat</li></ul>\n"}
{"id":"B2","campaign":"each","to":"b@example.com","headers":{"Subject":"Bob, news"},"text":"Nothing yet.\n","html":"<ul></ul>\n"}
EOF_
	sed "s/,\"message_id\":\"[^\"]*\"//" each.jsonl >got &&
	expect_same want got
'

test_expect 'a template error in {{#each}} is reported with its line and column' '
	printf "Subject: x\n\n{{#each attr.recommendations}}\n{{@idx}}\n{{/each}}\n" >bad.tmpl &&
	echo A1 | run 2 crm-send --campaign bad --channel file --no-consent --template bad.tmpl - &&
	expect_grep "bad.tmpl:4:3: unknown @idx" err &&
	printf "Subject: x\n\n{{#each attr.recommendations}}{{../frist_name}}{{/each}}\n" >bad2.tmpl &&
	echo A1 | run 2 crm-send --campaign bad --channel file --no-consent --template bad2.tmpl - &&
	expect_grep "bad2.tmpl:3:36: unknown field \"frist_name\"" err
'

test_done
