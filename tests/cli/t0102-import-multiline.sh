#!/bin/sh
# Multi-line values (issue 15): a quoted CSV field or a JSON string with
# line breaks (an address, a city written on two lines) is kept, its line
# ends as LF; tab is text. Only other control characters are refused,
# and they drop the field, never the row. Identifiers stay one line.
# What crm-segment and crm-report print of such values stays valid CSV
# (quoted) and JSON.
. "$CRM_TOP/tests/lib.sh"

test_expect 'a quoted multi-line city and attribute are imported, CRLF as LF' '
	printf "id,email,city,address\r\nA1,a@example.com,\"New\r\nYork\",\"1 Main St\r\nApt 2\tleft\"\r\nA2,b@example.com,\"Sankt-\nPeterburg\",plain\r\n" >c.csv &&
	run 0 crm-import customers c.csv &&
	expect_no_grep "warning" err &&
	expect_eq "A1|'\''New
York'\''|{\"address\":\"1 Main St\\nApt 2\\tleft\"}
A2|'\''Sankt-
Peterburg'\''|{\"address\":\"plain\"}" "$(sql "SELECT external_id, quote(city), attrs FROM customers ORDER BY external_id")"
'

test_expect 'JSON lines: a string with \n and \r\n is kept the same way' '
	printf "{\"id\":\"J1\",\"city\":\"Nizhny\\\\r\\\\nNovgorod\",\"note\":\"a\\\\nb\"}\n" >j.jsonl &&
	run 0 crm-import customers j.jsonl &&
	expect_eq "'\''Nizhny
Novgorod'\''|{\"note\":\"a\\nb\"}" "$(sql "SELECT quote(city), attrs FROM customers WHERE external_id = '\''J1'\''")"
'

test_expect 'another control character drops the field, with a warning; the row is kept' '
	printf "id,email,city,note,first_name\nB1,b1@example.com,\"Ka\001zan\",\"x\033[2Jy\",\"Ann\nMarie\"\n" >bad.csv &&
	run 0 crm-import customers bad.csv &&
	expect_grep "bad.csv:2: warning: city contains control characters; field dropped" err &&
	expect_grep "bad.csv:2: warning: note contains control characters; field dropped" err &&
	expect_grep "1 inserted" err &&
	expect_eq "1|{}|Ann
Marie" "$(sql "SELECT city IS NULL, attrs, first_name FROM customers WHERE external_id = '\''B1'\''")"
'

test_expect 'an id with a line break is refused (identifiers are one line)' '
	printf "id,email\n\"X\n1\",x1@example.com\n" >id.csv &&
	run 0 crm-import customers id.csv &&
	expect_grep "id.csv:2: warning: id contains control characters; field dropped" err &&
	expect_eq "|x1@example.com" "$(sql "SELECT coalesce(external_id, '\'''\''), email FROM customers WHERE email = '\''x1@example.com'\''")"
'

test_expect 'crm-segment prints such values as valid CSV and JSON' '
	crm-segment --no-input -f csv --fields id,city,attr.address "city is not null" >seg.csv &&
	crm-segment --no-input -f jsonl --fields id,city,attr.address "city is not null" >seg.jsonl &&
	python3 -c "
import csv, json, sys
rows = list(csv.reader(open(\"seg.csv\", newline=\"\")))
assert rows[0] == [\"id\", \"city\", \"attr.address\"], rows
assert [\"A1\", \"New\nYork\", \"1 Main St\nApt 2\tleft\"] in rows, rows
assert [\"A2\", \"Sankt-\nPeterburg\", \"plain\"] in rows, rows
js = [json.loads(l) for l in open(\"seg.jsonl\")]
assert {\"id\": \"A1\", \"city\": \"New\nYork\", \"attr.address\": \"1 Main St\nApt 2\tleft\"} in js, js
print(len(rows), len(js))
"
'

test_expect 'crm-report export customers: the same, CSV and JSON lines' '
	crm-report export customers -f csv >exp.csv &&
	crm-report export customers -f jsonl >exp.jsonl &&
	python3 -c "
import csv, json
rows = list(csv.DictReader(open(\"exp.csv\", newline=\"\")))
a1 = [r for r in rows if r[\"id\"] == \"A1\"][0]
assert a1[\"city\"] == \"New\nYork\", a1
assert json.loads(a1[\"attrs\"]) == {\"address\": \"1 Main St\nApt 2\tleft\"}, a1
js = [json.loads(l) for l in open(\"exp.jsonl\")]
j1 = [r for r in js if r[\"id\"] == \"J1\"][0]
assert j1[\"city\"] == \"Nizhny\nNovgorod\", j1
"
'

test_expect 'a template inserts the multi-line city as it is' '
	printf "{{city}}|\n" >t.tmpl &&
	echo A1 | run 0 crm-send --campaign ml --channel file --no-consent --template t.tmpl -o m.jsonl - &&
	expect_grep "\"text\":\"New\\nYork|" m.jsonl
'

test_done
