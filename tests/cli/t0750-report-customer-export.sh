#!/bin/sh
# crm-report customer (the card) and export (tables for data engineers,
# spreadsheet formulas neutralised, files 0600).
. "$CRM_TOP/tests/lib.sh"

test_expect 'setup' '
	cat >c.csv <<-\EOF2 &&
	customer_id,email,phone,first_name,city,plan
	A,ann@example.com,+79161234567,Ann,Kazan,pro
	B,bob@example.com,,"=HYPERLINK(""http://evil"")",-Moscow,@free
	EOF2
	cat >o.csv <<-\EOF2 &&
	order_id,customer_id,ordered_at,amount,currency,status
	O1,A,2026-11-01 10:00:00,12.50,RUB,
	O2,A,2026-11-05 10:00:00,7.00,RUB,refunded
	O3,B,2026-11-02 10:00:00,-3.00,RUB,
	EOF2
	cat >e.csv <<-\EOF2 &&
	customer_id,type,occurred_at,campaign
	A,opened,2026-11-03 09:00:00,promo
	EOF2
	cat >k.csv <<-\EOF2 &&
	customer_id,channel,granted,recorded_at,source
	A,email,yes,2026-01-01 00:00:00,signup
	A,email,no,2026-06-01 00:00:00,unsubscribe
	EOF2
	run 0 crm-import customers c.csv &&
	run 0 crm-import orders o.csv &&
	run 0 crm-import events e.csv &&
	run 0 crm-import consents k.csv
'

test_expect 'customer: found by id, e-mail or phone, the same card' '
	run 0 crm-report -f csv customer A && mv out a1 &&
	run 0 crm-report -f csv customer " Ann@Example.COM" && mv out a2 &&
	run 0 crm-report -f csv customer "+7 916 123-45-67" &&
	expect_same a1 a2 && expect_same a1 out
'

test_expect 'customer: profile, metrics, consent history, then the history in time order' '
	run 0 crm-report -f csv customer A &&
	expect_eq "section,time,item,value,detail" "$(head -1 out)" &&
	expect_grep "profile,,email,ann@example.com," out &&
	expect_grep "profile,,phone,+79161234567," out &&
	expect_grep "metrics,,orders,1," out &&
	expect_grep "metrics,,revenue,12.5,RUB" out &&
	expect_grep "consent,2026-01-01 00:00:00,email,granted,signup" out &&
	expect_grep "consent,2026-06-01 00:00:00,email,revoked,unsubscribe; in force" out &&
	grep "^history," out | cut -d, -f2,3 >got &&
	cat >want <<-\EOF2 &&
	2026-11-01 10:00:00,order O1
	2026-11-03 09:00:00,event opened
	2026-11-05 10:00:00,order O2
	EOF2
	expect_same want got &&
	expect_grep "history,2026-11-05 10:00:00,order O2,7,RUB refunded" out
'

test_expect 'customer: an unknown one is an error' '
	run 1 crm-report customer Z &&
	expect_grep "no customer with id \"Z\"" err
'

test_expect 'export orders: every order, amounts in major and minor units' '
	run 0 crm-report export orders &&
	cat >want <<-\EOF2 &&
	order_id,customer_id,email,phone,ordered_at,amount,currency,amount_minor,status,attrs,customer_key
	O1,A,,,2026-11-01 10:00:00,12.5,RUB,1250,completed,,1
	O3,B,,,2026-11-02 10:00:00,-3,RUB,-300,completed,,2
	O2,A,,,2026-11-05 10:00:00,7,RUB,700,refunded,,1
	EOF2
	expect_same want out
'

test_expect 'export: formula cells neutralised, numbers kept; --raw leaves them' '
	run 0 crm-report export customers &&
	cat >want <<-\EOF2 &&
	,"'\''=HYPERLINK(""http://evil"")",,,'\''-Moscow,
	EOF2
	grep -qF -f want out &&
	run 0 crm-report export orders &&
	expect_grep ",-3,RUB,-300," out &&
	run 0 crm-report export customers --raw &&
	cat >want <<-\EOF2 &&
	,"=HYPERLINK(""http://evil"")",,,-Moscow,
	EOF2
	grep -qF -f want out &&
	run 0 crm-report -f tsv export customers &&
	expect_grep "	'\''-Moscow	" out
'

test_expect 'export --since, --where; jsonl keeps attributes as JSON' '
	run 0 crm-report export orders --since "2026-11-02" &&
	expect_eq "O3 O2" "$(sed 1d out | cut -d, -f1 | tr "\n" " " | sed "s/ $//")" &&
	run 0 crm-report export orders --where "city = \"Kazan\"" &&
	expect_eq "O1 O2" "$(sed 1d out | cut -d, -f1 | tr "\n" " " | sed "s/ $//")" &&
	run 0 crm-report -f jsonl export customers --where "id = \"A\"" &&
	expect_grep "\"attrs\":{\"plan\":\"pro\"}" out
'

test_expect 'export events, consents and messages' '
	run 0 crm-report export events &&
	expect_grep ",A,,,opened,2026-11-03 09:00:00,promo," out &&
	run 0 crm-report export consents &&
	expect_eq 3 "$(wc -l <out)" &&
	run 0 crm-report export messages &&
	expect_eq "campaign,customer_id,channel,group,variant,status" "$(head -1 out | cut -d, -f1-6)"
'

test_expect 'export -o: a new file 0600 with a header even when empty' '
	umask 022 &&
	run 0 crm-report export messages -o m.csv &&
	expect_mode 600 m.csv &&
	expect_eq 1 "$(wc -l <m.csv)" &&
	test ! -s out
'

test_done
