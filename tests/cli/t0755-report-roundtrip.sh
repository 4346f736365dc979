#!/bin/sh
# Lossless round trips: crm-report export TABLE (CSV or JSON lines) piped
# into crm-import TABLE of a fresh base gives the same tables.
#
# "The same" is what dump() prints: every column of customers (but
# updated_at, the time of the import), orders, events and consents, with
# each customer named by external id, e-mail and phone instead of a row
# id, attributes compared as JSON values (json_tree: 12.50 and 12.5 are
# one number), everything quoted so that NULL, '' and types differ.
# Erased people are not in it: their erasure (the keyed hashes) does not
# travel in an export, and crm-import skips their rows.
. "$CRM_TOP/tests/lib.sh"

# dump DB: the tables of DB as text
dump() {
	sqlite3 -batch -bail "$1" "
	CREATE TEMP VIEW who AS SELECT id, quote(external_id) || '/' || quote(email) || '/' ||
	  quote(phone) AS k FROM customers;
	CREATE TEMP VIEW attrs_of AS SELECT c.id, (SELECT group_concat(t.fullkey || '=' ||
	  t.type || ':' || coalesce(quote(t.atom), ''), ' ') FROM json_tree(c.attrs) t) AS a
	  FROM customers c;
	SELECT 'customer', w.k, quote(first_name), quote(last_name), quote(birthday), quote(city),
	  quote(country), quote(timezone), quote(created_at), is_stub, a.a
	  FROM customers c JOIN who w ON w.id = c.id JOIN attrs_of a ON a.id = c.id
	  WHERE erased_at IS NULL ORDER BY 2;
	SELECT 'order', quote(external_id), w.k, ordered_at, amount, currency, status,
	  (SELECT group_concat(t.fullkey || '=' || t.type || ':' || coalesce(quote(t.atom), ''), ' ')
	   FROM json_tree(o.attrs) t)
	  FROM orders o JOIN who w ON w.id = o.customer_id ORDER BY 2;
	SELECT 'event', quote(external_id), w.k, type, occurred_at, quote(campaign),
	  quote(message_id), quote(machine), (SELECT group_concat(t.fullkey || '=' || t.type || ':' ||
	  coalesce(quote(t.atom), ''), ' ') FROM json_tree(e.props) t)
	  FROM events e JOIN who w ON w.id = e.customer_id ORDER BY 2;
	SELECT 'consent', w.k, channel, granted, recorded_at, quote(source)
	  FROM consents k JOIN who w ON w.id = k.customer_id ORDER BY 2, 3, 5, 4, 6;
	SELECT 'purchase', quote(external_id), purchase FROM orders ORDER BY 2;
	SELECT 'line', quote(o.external_id), l.line, p.sku, quote(l.quantity), l.unit_price, l.amount
	  FROM order_lines l JOIN orders o ON o.id = l.order_id JOIN products p ON p.id = l.product_id
	  ORDER BY 2, 3;
	SELECT 'product', quote(sku), quote(name), quote(category) FROM products ORDER BY 2;
	SELECT 'alias', quote(alias), w.k FROM customer_aliases a JOIN who w ON w.id = a.customer_id
	  ORDER BY 2;
	SELECT 'erased', count(*) FROM customers WHERE erased_at IS NOT NULL;"
}

test_expect 'setup: customers of every shape, a stub, an erased person' '
	cat >c.csv <<-\EOF2 &&
	customer_id,email,phone,first_name,last_name,birthday,city,country,timezone,plan,score,zip,note,formula,email_consent,created_at
	A,ann@example.com,+7 916 123-45-67,Ann,Lee,1990-05-01,Kazan,RU,Europe/Moscow,pro,12.50,007,=1+1,+cmd|x,yes,2026-01-02 03:04:05
	B,bob@example.com,,"=HYPERLINK(""http://evil"")",-2+3,,-Moscow,,,@free,-12.5,,'\''=quoted,-7,no,
	,eve@example.com,,Eve,,,,,,"a, ""b""",,, spaced ,,,
	,,8 (916) 765-43-21,Phil,,,,RU,,,,,'\''tis,'\''+7916,yes,
	D,dan@example.com,,Dan,,,,,,gold,,,,,,
	EOF2
	cat >c.jsonl <<-\EOF2 &&
	{"customer_id":"C","email":"c@example.com","prefs":{"colors":["red","=blue"],"size":{"eu":42}},"flag":true,"off":false,"count":3,"ratio":0.25,"text":"@home","empty":""}
	EOF2
	cat >o.csv <<-\EOF2 &&
	order_id,customer_id,email,ordered_at,amount,currency,status,channel
	O1,A,,2026-11-01 10:00:00,12.50,RUB,,web
	O2,A,,2026-11-05 10:00:00,7.00,RUB,refunded,
	,B,,2026-11-02 10:00:00,-3.00,RUB,,=app
	,B,,2026-11-02 10:00:00,-3.00,RUB,,=app
	O4,S,,2026-11-03 10:00:00,1500,JPY,,
	O5,,eve@example.com,2026-11-04 10:00:00,"1 234,56",EUR,,
	O6,,new@example.com,2026-11-06 10:00:00,5,USD,,
	EOF2
	cat >e.jsonl <<-\EOF2 &&
	{"customer_id":"A","type":"opened","occurred_at":"2026-11-03 09:00:00","campaign":"promo","message_id":"<m1@x>"}
	{"customer_id":"C","type":"cart_add","occurred_at":"2026-11-04 09:00:00","props":{"sku":"=X1","qty":2,"tags":["a","b"]}}
	{"event_id":"E9","phone":"+79167654321","type":"visit","occurred_at":"2026-11-05 09:00:00","url":"/sale"}
	{"customer_id":"T","type":"visit","occurred_at":"2026-11-06 09:00:00"}
	{"customer_id":"A","type":"opened","occurred_at":"2026-11-03 09:00:01","campaign":"promo","machine":"apple-mpp"}
	EOF2
	cat >k.csv <<-\EOF2 &&
	customer_id,email,channel,granted,recorded_at,source
	A,,email,no,2026-06-01 00:00:00,unsubscribe
	A,,sms,yes,2026-01-01 00:00:00,=form
	,eve@example.com,email,yes,2026-02-01 00:00:00,
	C,,push,yes,2026-03-01 00:00:00,app
	EOF2
	run 0 crm-import customers c.csv &&
	run 0 crm-import customers c.jsonl &&
	run 0 crm-import orders o.csv &&
	run 0 crm-import events e.jsonl &&
	run 0 crm-import consents k.csv &&
	printf "id,alias\nA,shop-17\nA,shop-18\nC,=c9\n" >al.csv &&
	run 0 crm-import customers al.csv &&
	printf "sku,name,category\nSKU-1,Mug,Kitchen\nSKU-3,\"Tea \"\"Earl\"\"\",\n" >p.csv &&
	run 0 crm-import products p.csv &&
	cat >l.csv <<-\EOF2 &&
	order_id,customer_id,ordered_at,sku,product_name,category,quantity,unit_price,currency,status
	L1,A,2026-11-07 10:00:00,SKU-1,Mug,Kitchen,2,4.50,RUB,paid
	L1,A,2026-11-07 10:00:00,SKU-2,=Spoon,Kitchen,1,1.25,RUB,paid
	L1,A,2026-11-07 10:00:00,SKU-1,Mug,Kitchen,-1,4.50,RUB,paid
	L2,C,2026-11-08 10:00:00,SKU-3,,Tea,1.5,2.99,EUR,pending
	EOF2
	run 0 crm-import lines l.csv &&
	printf "customer_id\nD\n" >erase.csv &&
	run 0 crm-import erase erase.csv &&
	expect_eq 3 "$(sql "SELECT count(*) FROM customers WHERE is_stub")" &&
	expect_eq 1 "$(sql "SELECT count(*) FROM customers WHERE erased_at IS NOT NULL")" &&
	dump crm.db >orig &&
	expect_grep "customer|'\''A'\''/'\''ann@example.com'\''/'\''+79161234567'\''" orig &&
	expect_grep "\$.formula=text:'\''+cmd|x'\''" orig &&
	expect_grep "\$.prefs.colors[1]=text:'\''=blue'\''" orig &&
	expect_grep "|'\''promo'\''|NULL|'\''apple-mpp'\''|" orig &&
	expect_grep "line|'\''L2'\''|1|SKU-3|1.5|299|449" orig &&
	expect_grep "alias|'\''=c9'\''|'\''C'\''" orig
'

for fmt in csv jsonl; do
test_expect "$fmt: export | crm-import into a fresh base reproduces every table" '
	for t in customers aliases consents orders products lines events; do
		run 0 crm-report --db crm.db -f '$fmt' export $t &&
		mv out $t.'$fmt' &&
		k=$t && { [ $t != aliases ] || k=customers; } &&
		run 0 crm-import --db '$fmt'.db $k <$t.'$fmt' &&
		expect_no_grep invalid err && expect_no_grep dropped err &&
		expect_no_grep "rejected:" err && expect_grep ", 0 rejected," err || return 1
	done &&
	dump '$fmt'.db >got &&
	sed "s/^erased|1\$/erased|0/" orig >want &&
	expect_same want got &&
	expect_eq 3 "$(sqlite3 '$fmt'.db "SELECT count(*) FROM customers WHERE is_stub")"
'

test_expect "$fmt: the same export again changes nothing" '
	for t in customers aliases consents orders products lines events; do
		k=$t && { [ $t != aliases ] || k=customers; } &&
		run 0 crm-import --db '$fmt'.db $k <$t.'$fmt' &&
		grep -q " 0 inserted, 0 updated, [0-9]* unchanged, 0 rejected" err || return 1
	done &&
	dump '$fmt'.db >got2 &&
	expect_same got got2
'
done

test_expect 'csv: formulas guarded, phones and signed numbers left alone' '
	run 0 crm-report --db crm.db export customers &&
	expect_grep ",+79161234567," out &&
	expect_no_grep "'\''+7916" out &&
	expect_grep ",'\''-Moscow," out &&
	expect_grep "\"'\''=HYPERLINK(\"\"http://evil\"\")\",'\''-2+3," out &&
	run 0 crm-report --db crm.db export orders &&
	expect_grep ",-3,RUB,-300," out &&
	run 0 crm-report --db crm.db export consents &&
	expect_grep ",'\''=form," out
'

test_expect 'crm-import takes the guard off: one quote before = @ + - only' '
	cat >g.csv <<-\EOF2 &&
	customer_id,phone,a,b,c,d,e
	G,'\''+79161112233,'\''=x,'\'''\''@y,'\''tis,'\''-5,'\''
	EOF2
	run 0 crm-import customers g.csv &&
	expect_eq "+79161112233|{\"a\":\"=x\",\"b\":\"'\''@y\",\"c\":\"'\''tis\",\"d\":-5,\"e\":\"'\''\"}" \
		"$(sql "SELECT phone, attrs FROM customers WHERE external_id = '\''G'\''")"
'

test_expect 'an erased person in an export is skipped with a warning' '
	run 0 crm-report --db crm.db -f jsonl export customers &&
	grep "\"erased_at\":\"" out >x.jsonl &&
	run 0 crm-import --db e.db customers x.jsonl &&
	expect_grep "erased person" err &&
	expect_eq 0 "$(sqlite3 e.db "SELECT count(*) FROM customers")"
'

test_done
