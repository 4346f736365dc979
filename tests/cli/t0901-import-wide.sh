#!/bin/sh
# Wide input: a row of 100,000 columns (it took 19.5 s: every attribute
# searched the attributes before it), a JSON lines file with a new key on
# every line (every line paid for every column seen so far), and the
# limits past which crm-import says no rather than stalling: 200,000
# columns in a file, 16 MiB of attributes per customer. These tests assert
# what is stored; how long it takes is bench/run.sh's business.
. "$CRM_TOP/tests/lib.sh"

test_expect 'a row of 100,000 columns is imported with all its attributes' '
	awk "BEGIN { n = 100000; printf \"id,email\"; for (i = 0; i < n; i++) printf \",c%d\", i; print \"\";
		printf \"W1,w1@example.com\"; for (i = 0; i < n; i++) printf \",%d\", i * 7; print \"\" }" >wide.csv &&
	run 0 crm-import customers wide.csv &&
	expect_grep "wide.csv: 1 read, 1 inserted" err &&
	expect_eq "100000|0|699993|w1@example.com" "$(sql "SELECT (SELECT count(*) FROM json_each(attrs)), attrs->>'\''c0'\'', attrs->>'\''c99999'\'', email FROM customers WHERE external_id = '\''W1'\''")" &&
	run 0 crm-import customers wide.csv &&
	expect_grep "wide.csv: 1 read, 0 inserted, 0 updated, 1 unchanged" err &&
	sed "2s/^W1,w1@example.com,0,/W1,w1@example.com,zero,/" wide.csv >wide2.csv &&
	run 0 crm-import customers wide2.csv &&
	expect_grep "wide2.csv: 1 read, 0 inserted, 1 updated" err &&
	expect_eq "100000|zero|699993" "$(sql "SELECT (SELECT count(*) FROM json_each(attrs)), attrs->>'\''c0'\'', attrs->>'\''c99999'\'' FROM customers WHERE external_id = '\''W1'\''")"
'

test_expect 'columns with the same attribute key: the last non-empty value wins' '
	printf "id,Loyalty Tier,loyalty_tier,loyalty-tier\nL1,gold,,\nL2,,silver,\nL3,gold,silver,bronze\nL4,gold,,bronze\n" >same.csv &&
	run 0 crm-import customers same.csv &&
	expect_eq "L1|gold L2|silver L3|bronze L4|bronze" "$(sql "SELECT group_concat(external_id || '\''|'\'' || (attrs->>'\''loyalty_tier'\''), '\'' '\'') FROM (SELECT * FROM customers WHERE external_id LIKE '\''L%'\'' ORDER BY 1)")" &&
	expect_eq "1 1 1 1" "$(sql "SELECT group_concat(n, '\'' '\'') FROM (SELECT (SELECT count(*) FROM json_each(attrs)) n FROM customers WHERE external_id LIKE '\''L%'\'' ORDER BY external_id)")"
'

test_expect 'JSON lines with a new key on each of 100,000 lines: every row with its one attribute' '
	awk "BEGIN { for (i = 0; i < 100000; i++) printf \"{\\\"id\\\":\\\"J%d\\\",\\\"k%d\\\":%d}\n\", i, i, i }" >keys.jsonl &&
	run 0 crm-import customers keys.jsonl &&
	expect_grep "keys.jsonl: 100000 read, 100000 inserted" err &&
	expect_eq "100000" "$(sql "SELECT count(*) FROM customers WHERE external_id LIKE '\''J%'\'' AND (SELECT count(*) FROM json_each(attrs)) = 1")" &&
	expect_eq "99999" "$(sql "SELECT attrs->>'\''k99999'\'' FROM customers WHERE external_id = '\''J99999'\''")"
'

test_expect 'a CSV header of more than 200,000 columns is refused: the reason, nothing stored' '
	sql .dump >before.sql &&
	awk "BEGIN { s = \"abcdefghijklmnopqrstuvwxyz0123456789_\"; printf \"id\";
		for (i = 0; i < 200000; i++) {
			n = i; name = \"\";
			for (k = 0; k < 4; k++) { name = name substr(s, n % 37 + 1, 1); n = int(n / 37) }
			printf \",%s\", name }
		print \"\"; print \"X1\" }" >toowide.csv &&
	test "$(head -1 toowide.csv | wc -c)" -lt 1048576 &&
	run 1 crm-import customers toowide.csv &&
	expect_grep "crm-import: toowide.csv: invalid header: more than 200000 columns" err &&
	sql .dump >after.sql && expect_same before.sql after.sql
'

test_expect 'JSON lines: the line whose key would be column 200,001 is rejected, the others kept' '
	awk "BEGIN { for (i = 0; i < 200000; i++) printf \"{\\\"id\\\":\\\"K%d\\\",\\\"q%d\\\":1}\n\", i, i;
		print \"{\\\"id\\\":\\\"K-last\\\",\\\"q5\\\":2}\" }" >manykeys.jsonl &&
	run 3 crm-import customers manykeys.jsonl &&
	expect_grep "manykeys.jsonl:200000: too many columns: key 2 would be column 200001 (at most 200000)" err &&
	expect_grep "200001 read, 200000 inserted, 0 updated, 0 unchanged, 1 rejected" err &&
	expect_eq 2 "$(sql "SELECT attrs->>'\''q5'\'' FROM customers WHERE external_id = '\''K-last'\''")"
'

test_expect 'attributes of more than 16 MiB for one customer: the row is rejected with the reason' '
	# 1 MB of backslashes a file (a record holds at most 1 MiB; control
	# characters, which JSON would make six times longer, are refused),
	# 2 MB as JSON: the ninth is one too many
	for f in 1 2 3 4 5 6 7 8 9; do
		awk -v f=$f "BEGIN { printf \"id,big%d\nB1,\", f; for (i = 0; i < 500000; i++) printf \"\\\\\\\\\"; print \"\" }" >big$f.csv
	done &&
	run 3 crm-import customers big1.csv big2.csv big3.csv big4.csv big5.csv big6.csv \
		big7.csv big8.csv big9.csv &&
	expect_grep "big9.csv:2: attributes too large: " err &&
	expect_grep "bytes as JSON (at most 16 MiB)" err &&
	expect_eq "big1 big2 big3 big4 big5 big6 big7 big8" "$(sql "SELECT group_concat(key, '\'' '\'') FROM (SELECT key FROM customers, json_each(attrs) WHERE external_id = '\''B1'\'' ORDER BY 1)")"
'

test_done
