#!/bin/sh
# Importing customers: normalisation, idempotency, merging, the database file.
. "$CRM_TOP/tests/lib.sh"

test_expect 'imports a customer file and normalises its values' '
	run 0 crm-import customers "$FIX/customers.csv" &&
	expect_grep "customers.csv: 5 read, 5 inserted, 0 updated, 0 unchanged, 0 rejected" err &&
	expect_eq "anna.ivanova@example.com|+79161234567|Анна|Иванова|1990-02-14|RU" \
		"$(sql "SELECT email, phone, first_name, last_name, birthday, country FROM customers WHERE external_id = '\''C001'\''")" &&
	expect_eq "+12125550143|Smith, Jr." \
		"$(sql "SELECT phone, last_name FROM customers WHERE external_id = '\''C002'\''")" &&
	expect_eq "+49301234567" "$(sql "SELECT phone FROM customers WHERE external_id = '\''C003'\''")" &&
	expect_eq "+905321234567" "$(sql "SELECT phone FROM customers WHERE external_id = '\''C005'\''")"
'

test_expect 'an invalid field is dropped with a warning, the row is kept' '
	expect_eq "-|+442079460958|O\"Brien|-" "$(cust C004 "coalesce(email, '\''-'\''), phone, last_name, coalesce(birthday, '\''-'\'')")"
'

test_expect 'warnings name file and line, and never echo the e-mail' '
	crm-import customers "$FIX/customers.csv" --db other.db 2>err2 || true
	expect_grep "customers.csv:5: warning: invalid email" err2 &&
	expect_grep "customers.csv:5: warning: invalid birthday" err2 &&
	expect_no_grep "not-an-email" err2
'

test_expect 'unknown columns become attributes with JSON types' '
	expect_eq "{\"plan\":\"pro\"}" "$(sql "SELECT attrs FROM customers WHERE external_id = '\''C001'\''")" &&
	expect_eq "{}" "$(sql "SELECT attrs FROM customers WHERE external_id = '\''C003'\''")"
'

test_expect 'consent columns record consent history' '
	expect_eq "1|0" "$(sql "SELECT (SELECT granted FROM consents c JOIN customers u ON u.id = c.customer_id WHERE u.external_id = '\''C001'\''), (SELECT granted FROM consents c JOIN customers u ON u.id = c.customer_id WHERE u.external_id = '\''C002'\'')")"
'

test_expect 'the database file is created 0600 under umask 022, in WAL mode' '
	expect_mode 600 crm.db &&
	expect_eq wal "$(sql "PRAGMA journal_mode")" &&
	expect_eq "$(ls "$CRM_TOP"/share/schema/[0-9]*.sql | wc -l | tr -d " ")" "$(sql "PRAGMA user_version")"
'

test_expect 'importing the same file twice changes nothing' '
	sql .dump >before.sql &&
	run 0 crm-import customers "$FIX/customers.csv" &&
	expect_grep "5 read, 0 inserted, 0 updated, 5 unchanged, 0 rejected" err &&
	sql .dump >after.sql &&
	expect_same before.sql after.sql
'

test_expect 'the same file shuffled gives the same customers' '
	{ head -1 "$FIX/customers.csv"; tail -n +2 "$FIX/customers.csv" | sort -r; } >shuffled.csv &&
	crm-import --db a.db customers "$FIX/customers.csv" 2>/dev/null &&
	crm-import --db b.db customers shuffled.csv 2>/dev/null &&
	CRM_DB=a.db dump_customers >a.txt && CRM_DB=b.db dump_customers >b.txt &&
	expect_same a.txt b.txt && test -s a.txt
'

test_expect 'a later row updates field by field; an empty field erases nothing' '
	printf "E-Mail,First Name,City,Birthday,plan\nANNA.IVANOVA@example.com,,Moscow,,\n" >update.csv &&
	run 0 crm-import customers update.csv &&
	expect_grep "1 read, 0 inserted, 1 updated" err &&
	expect_eq "C001|Анна|Moscow|1990-02-14|{\"plan\":\"pro\"}" \
		"$(sql "SELECT external_id, first_name, city, birthday, attrs FROM customers WHERE email = '\''anna.ivanova@example.com'\''")"
'

test_expect 'upsert by phone when there is no id or e-mail' '
	printf "phone,city,country\n+7 916 123-45-67,Kazan,RU\n" >byphone.csv &&
	run 0 crm-import customers byphone.csv &&
	expect_grep "1 updated" err &&
	expect_eq "C001|Kazan" "$(sql "SELECT external_id, city FROM customers WHERE phone = '\''+79161234567'\''")" &&
	expect_eq 5 "$(sql "SELECT count(*) FROM customers")"
'

test_expect 'an e-mail that belongs to another customer is not stolen' '
	printf "id,email\nC002,anna.ivanova@example.com\n" >steal.csv &&
	run 0 crm-import customers steal.csv &&
	expect_grep "email already belongs to customer" err &&
	expect_eq "bob@example.com" "$(sql "SELECT email FROM customers WHERE external_id = '\''C002'\''")"
'

test_expect '--map renames columns; attr. targets and empty targets' '
	printf "Kunde;Mail;Notiz;Stufe\nK1;k1@example.de;secret note;gold\n" >de.csv &&
	run 0 crm-import customers de.csv --map Kunde=id --map Mail=email --map Notiz= --map Stufe=attr.tier &&
	expect_eq "k1@example.de|{\"tier\":\"gold\"}" "$(sql "SELECT email, attrs FROM customers WHERE external_id = '\''K1'\''")"
'

test_expect '--dry-run validates and reports but writes nothing' '
	sql .dump >before.sql &&
	printf "id,email\nNEW1,new1@example.com\n" >new.csv &&
	run 0 crm-import --dry-run customers new.csv &&
	expect_grep "1 inserted" err && expect_grep "dry run" err &&
	sql .dump >after.sql && expect_same before.sql after.sql
'

test_expect '--dry-run does not create a database' '
	run 0 crm-import --db none.db -n customers new.csv &&
	test ! -e none.db
'

test_expect 'numbers look like numbers, zip codes stay text' '
	printf "id,zip,points,ratio,code\nZ1,01234,42,0.5,-7\n" >typed.csv &&
	run 0 crm-import customers typed.csv &&
	expect_eq "{\"code\":-7,\"points\":42,\"ratio\":0.5,\"zip\":\"01234\"}" \
		"$(sql "SELECT attrs FROM customers WHERE external_id = '\''Z1'\''")"
'

test_expect 'stdin with - and semicolon files with a BOM' '
	printf "\357\273\277id;email\r\nS1;s1@example.com\r\n" | crm-import customers - 2>err &&
	expect_grep "<stdin>: 1 read, 1 inserted" err &&
	expect_eq "s1@example.com" "$(sql "SELECT email FROM customers WHERE external_id = '\''S1'\''")"
'

test_expect '--delimiter reads TAB and pipe files; --input-format forces CSV' '
	printf "id\temail\nT1\tt1@example.com\n" >t.tsv &&
	run 0 crm-import customers --delimiter "\t" t.tsv &&
	printf "id|email\nT2|t2@example.com\n" >p.txt &&
	run 0 crm-import customers -d "|" p.txt &&
	printf "{id},email\nT3,t3@example.com\n" >brace.csv &&
	run 0 crm-import customers --input-format csv --map "{id}=id" brace.csv &&
	expect_eq "t1@example.com t2@example.com t3@example.com" "$(sql "SELECT group_concat(email, '\'' '\'') FROM (SELECT email FROM customers WHERE external_id IN ('\''T1'\'', '\''T2'\'', '\''T3'\'') ORDER BY 1)")"
'

test_expect 'a bad --delimiter or --input-format is a usage error' '
	run 2 crm-import customers --delimiter ab t.tsv &&
	expect_grep "--delimiter must be one character" err &&
	run 2 crm-import customers --input-format xml t.tsv &&
	expect_grep "unknown --input-format \"xml\"" err
'

test_done
