#!/bin/sh
# Events (JSON lines) and the consent history.
. "$CRM_TOP/tests/lib.sh"

test_expect 'JSON lines events: good lines kept, bad lines rejected with their line' '
	crm-import customers "$FIX/customers.csv" 2>/dev/null &&
	run 3 crm-import events "$FIX/events.jsonl" &&
	expect_grep "events.jsonl:5: invalid JSON" err &&
	expect_grep "events.jsonl:6: expected a JSON object" err &&
	expect_grep "6 read, 4 inserted, 0 updated, 0 unchanged, 2 rejected, 1 stubs created" err
'

test_expect 'event types are lower-cased; unknown keys go into props' '
	expect_eq "clicked|{\"url\":\"https://shop.example/x\"}" "$(sql "SELECT type, props FROM events WHERE campaign IS NOT NULL AND type = '\''clicked'\''")" &&
	expect_eq "{\"qty\":2,\"sku\":\"A-1\"}" "$(sql "SELECT props FROM events WHERE type = '\''cart_add'\''")" &&
	expect_eq "{\"ua\":\"Mozilla\"}" "$(sql "SELECT props FROM events WHERE type = '\''opened'\''")"
'

test_expect 'an event for an unknown e-mail creates a stub' '
	expect_eq "fresh@example.com|1" "$(sql "SELECT email, is_stub FROM customers WHERE email = '\''fresh@example.com'\''")"
'

test_expect 're-importing events changes nothing' '
	run 3 crm-import events "$FIX/events.jsonl" &&
	expect_grep "0 inserted, 0 updated, 4 unchanged" err
'

test_expect 'consents are appended as history; unknown channels rejected' '
	run 3 crm-import consents "$FIX/consents.csv" &&
	expect_grep "consents.csv:5: unknown channel \"fax\"" err &&
	expect_eq "sms|1|2026-01-01 00:00:00|web-form
sms|0|2026-06-01 00:00:00|call-center" "$(sql "SELECT channel, granted, recorded_at, source FROM consents c JOIN customers u ON u.id = c.customer_id WHERE u.external_id = '\''C001'\'' AND channel = '\''sms'\'' ORDER BY recorded_at")"
'

test_expect 'the current consent is the latest record' '
	expect_eq 0 "$(sql "SELECT granted FROM consent_current c JOIN customers u ON u.id = c.customer_id WHERE u.external_id = '\''C001'\'' AND channel = '\''sms'\''")"
'

test_expect 're-importing consents adds no history' '
	n=$(sql "SELECT count(*) FROM consents") &&
	run 3 crm-import consents "$FIX/consents.csv" &&
	expect_eq "$n" "$(sql "SELECT count(*) FROM consents")"
'

test_expect 'a consent column without a time records only changes of state' '
	printf "id,sms_consent\nC002,yes\n" >c.csv &&
	crm-import customers c.csv 2>/dev/null &&
	crm-import --now "2026-12-01" customers c.csv 2>/dev/null &&
	expect_eq 1 "$(sql "SELECT count(*) FROM consents c JOIN customers u ON u.id = c.customer_id WHERE u.external_id = '\''C002'\'' AND channel = '\''sms'\''")" &&
	printf "id,sms_consent\nC002,no\n" >c2.csv &&
	crm-import --now "2026-12-02" customers c2.csv 2>/dev/null &&
	expect_eq "0|2026-12-02 00:00:00" "$(sql "SELECT granted, recorded_at FROM consent_current c JOIN customers u ON u.id = c.customer_id WHERE u.external_id = '\''C002'\'' AND channel = '\''sms'\''")"
'

test_expect 'customers from JSON lines keep JSON types in attributes' '
	printf "{\"id\":\"J1\",\"email\":\"j1@example.com\",\"vip\":true,\"score\":12.5,\"tags\":[\"a\",\"b\"]}\n" >j.jsonl &&
	run 0 crm-import customers j.jsonl &&
	expect_eq "{\"score\":12.5,\"tags\":[\"a\",\"b\"],\"vip\":true}" "$(cust J1 attrs)"
'

test_expect 'JSON numbers are kept as written, and re-import is unchanged' '
	printf "{\"id\":12345678901234567890,\"email\":\"big@example.com\",\"price\":12.50}\n" >n.jsonl &&
	run 0 crm-import customers n.jsonl &&
	expect_eq "12345678901234567890|{\"price\":12.50}" "$(sql "SELECT external_id, attrs FROM customers WHERE email = '\''big@example.com'\''")" &&
	run 0 crm-import customers n.jsonl &&
	expect_grep "1 read, 0 inserted, 0 updated, 1 unchanged" err
'

test_expect 'consent topics: CHANNEL:TOPIC is kept, a bad topic rejected; what consent() makes of them' '
	printf "customer_id,channel,granted,recorded_at\nT1,email,yes,2026-01-01\nT1,Email:News,yes,2026-01-01\nT1,email:offers,yes,2026-01-01\nT1,email:news,no,2026-03-01\nT2,email:news,yes,2026-01-01\nT2,email,no,2026-04-01\nT3,email:,yes,2026-01-01\nT3,fax:news,yes,2026-01-01\nT3,email:a:b,yes,2026-01-01\n" >topics.csv &&
	run 3 crm-import consents topics.csv &&
	expect_grep "topics.csv:8: invalid topic in channel \"email:\": empty topic after the channel" err &&
	expect_grep "topics.csv:9: unknown channel \"fax:news\"" err &&
	expect_grep "topics.csv:10: invalid topic in channel" err &&
	expect_eq "email:news|1
email:offers|1
email:news|0" "$(sql "SELECT channel, granted FROM consents c JOIN customers u ON u.id = c.customer_id WHERE u.external_id = '\''T1'\'' AND channel LIKE '\''email:%'\'' ORDER BY recorded_at, channel")" &&
	run 0 crm-segment --no-input --fields id "consent(\"email:offers\") and consent(\"email\") and not consent(\"email:news\")" &&
	expect_eq "T1" "$(sed 1d out)" &&
	run 0 crm-segment --no-input -c "unsubscribed(\"email:news\") and id in (\"T1\", \"T2\")" &&
	expect_eq 2 "$(cat out)" &&
	run 0 crm-segment --no-input -c "unsubscribed(\"email\") and id in (\"T1\", \"T2\")" &&
	expect_eq 1 "$(cat out)"
'

test_done
