#!/bin/sh
# Countries (issue 15): every ISO 3166-1 country by code, English name or
# any translation of iso-codes, and the aliases of share/countries.aliases;
# case, accents, spaces and punctuation do not matter; a value that is
# not a country is one warning per file and value, with its row count.
. "$CRM_TOP/tests/lib.sh"

test_expect 'country names in many languages and spellings are stored as ISO alpha-2 codes' '
	{
		printf "id,email,country\n"
		printf "C01,c01@shop.test,Ireland\n"
		printf "C02,c02@shop.test,Österreich\n"
		printf "C03,c03@shop.test,Suomi\n"
		printf "C04,c04@shop.test,Ελλάδα\n"
		printf "C05,c05@shop.test,Россия\n"
		printf "C06,c06@shop.test,Deutschland\n"
		printf "C07,c07@shop.test,\"Korea, Republic of\"\n"
		printf "C08,c08@shop.test,EIRE\n"
		printf "C09,c09@shop.test,UK\n"
		printf "C10,c10@shop.test,USA\n"
		printf "C11,c11@shop.test,fi\n"
		printf "C12,c12@shop.test,AUT\n"
		printf "C13,c13@shop.test,Côte d'\''Ivoire\n"
		printf "C14,c14@shop.test,COTE D IVOIRE\n"
		printf "C15,c15@shop.test,Türkiye\n"
		printf "C16,c16@shop.test,holland\n"
		printf "C17,c17@shop.test,Czechia\n"
		printf "C18,c18@shop.test,Vietnam\n"
		printf "C19,c19@shop.test,Great Britain\n"
		printf "C20,c20@shop.test,United States of America\n"
	} >c.csv &&
	run 0 crm-import customers c.csv &&
	expect_no_grep "warning" err &&
	expect_eq "C01 IE,C02 AT,C03 FI,C04 GR,C05 RU,C06 DE,C07 KR,C08 IE,C09 GB,C10 US,C11 FI,C12 AT,C13 CI,C14 CI,C15 TR,C16 NL,C17 CZ,C18 VN,C19 GB,C20 US" \
		"$(sql "SELECT group_concat(external_id || '\'' '\'' || country, '\'','\'') FROM (SELECT external_id, country FROM customers ORDER BY external_id)")"
'

test_expect 'a value that is not a country: one warning per file and value, with its count; the row is kept' '
	{
		printf "id,email,country\n"
		printf "A1,a1@shop.test,Atlantis\n"
		printf "A2,a2@shop.test,Ireland\n"
		printf "A3,a3@shop.test,Atlantis\n"
		printf "A4,a4@shop.test,N/A\n"
		printf "A5,a5@shop.test,Atlantis\n"
	} >a.csv &&
	cp a.csv b.csv &&
	run 0 crm-import customers a.csv b.csv &&
	cat err &&
	expect_grep "crm-import: a.csv:2: warning: invalid country \"Atlantis\": unknown country; field dropped (3 rows)" err &&
	expect_grep "crm-import: a.csv:5: warning: invalid country \"N/A\": unknown country; field dropped (1 row)" err &&
	expect_grep "crm-import: b.csv:2: warning: invalid country \"Atlantis\": unknown country; field dropped (3 rows)" err &&
	expect_eq 4 "$(grep -c "warning: invalid country" err)" &&
	expect_eq "A1 -,A2 IE,A3 -,A4 -,A5 -" \
		"$(sql "SELECT group_concat(external_id || '\'' '\'' || coalesce(country, '\''-'\''), '\'','\'') FROM (SELECT * FROM customers WHERE external_id LIKE '\''A%'\'' ORDER BY external_id)")"
'

test_expect 'the warnings come in the order of their first rows, after the per-row ones' '
	{
		printf "{\"id\":\"J1\",\"email\":\"j1@shop.test\",\"country\":\"Mordor\"}\n"
		printf "{\"id\":\"J2\",\"email\":\"not-an-email\",\"country\":\"Narnia\"}\n"
		printf "{\"id\":\"J3\",\"email\":\"j3@shop.test\",\"country\":\"Mordor\"}\n"
	} >j.jsonl &&
	run 0 crm-import customers j.jsonl &&
	expect_eq "crm-import: j.jsonl:2: warning: invalid email: no '\''@'\''; field dropped
crm-import: j.jsonl:1: warning: invalid country \"Mordor\": unknown country; field dropped (2 rows)
crm-import: j.jsonl:2: warning: invalid country \"Narnia\": unknown country; field dropped (1 row)" \
		"$(grep warning err)"
'

test_expect 'past 100 distinct values the rest are summed up; -v shows all, -q none' '
	{
		printf "id,country\n"
		i=1
		while [ $i -le 150 ]; do
			printf "X%d,Nowhere%d\nY%d,Nowhere%d\n" $i $i $i $i
			i=$((i + 1))
		done
	} >many.csv &&
	run 0 crm-import customers many.csv &&
	expect_eq 100 "$(grep -c "warning: invalid country" err)" &&
	expect_grep "many.csv:200: warning: invalid country \"Nowhere100\": unknown country; field dropped (2 rows)" err &&
	expect_grep "crm-import: many.csv: warning: 50 more values with warnings not shown (-v shows all)" err &&
	run 0 crm-import -v customers many.csv &&
	expect_eq 150 "$(grep -c "warning: invalid country" err)" &&
	run 0 crm-import -q customers many.csv &&
	expect_eq "" "$(cat err)"
'

test_expect 'a country given by name sets the phone rules; --default-country takes names' '
	printf "id,phone,country\nP1,030 1234567,Deutschland\nP2,8 916 123-45-67,Россия\n" >p.csv &&
	run 0 crm-import customers p.csv &&
	expect_eq "+49301234567|DE" "$(cust P1 "phone, country")" &&
	expect_eq "+79161234567|RU" "$(cust P2 "phone, country")" &&
	printf "id,phone\nP3,0612345678\n" >q.csv &&
	run 0 crm-import customers --default-country "Nederland" q.csv &&
	expect_eq "+31612345678" "$(cust P3 phone)" &&
	run 2 crm-import customers --default-country Atlantis q.csv &&
	expect_grep "invalid --default-country \"Atlantis\": unknown country" err
'

test_expect 'the locale of the process changes nothing' '
	printf "id,email,country\nL1,l1@shop.test,Suomi\nL2,l2@shop.test,Atlantis\n" >l.csv &&
	LC_ALL=de_DE.UTF-8 LANG=de_DE.UTF-8 LANGUAGE=de crm-import customers l.csv --db l1.db 2>e1 &&
	LC_ALL=C crm-import customers l.csv --db l2.db 2>e2 &&
	expect_eq "$(sqlite3 l2.db "SELECT group_concat(country) FROM customers")" \
		"$(sqlite3 l1.db "SELECT group_concat(country) FROM customers")" &&
	expect_eq FI "$(sqlite3 l1.db "SELECT group_concat(country) FROM customers")" &&
	expect_eq "$(grep warning e2)" "$(grep warning e1)" &&
	expect_grep "l.csv:3: warning: invalid country \"Atlantis\"" e1
'

test_expect 'crm-segment reads a country literal by any of its names' '
	run 0 crm-segment -c "country = \"Suomi\"" &&
	expect_eq 2 "$(cat out)" &&
	run 0 crm-segment -c "country = \"Éire\"" &&
	expect_eq 3 "$(cat out)"
'

test_done
