#!/bin/sh
# crm-import's warnings and errors never show a personal value, whatever
# column it turns up in (an e-mail address in the time zone, a phone
# number as the amount or the consent), and never write a raw control
# character (ESC, CR, LF) to the terminal; they still name the file, the
# line, the column and the reason. The --rejects file keeps the raw row:
# that is what it is for. And an e-mail "Name <addr>" whose name holds
# CR/LF is rejected (header injection the day the name is reused).
. "$CRM_TOP/tests/lib.sh"

ESC=$(printf '\033')
CR=$(printf '\r')

# no_secrets FILE: none of the addresses, phone numbers or control
# characters of the input in FILE
no_secrets() {
	for s in john.doe example.com maybe@ x.org evil.example Bcc 9161234567 \
		"916 123" 123-45-67 79161234567 "Ann$CR"; do
		expect_no_grep "$s" "$1" || return 1
	done
	if grep -q "$ESC" "$1"; then echo "raw ESC in $1:"; od -c "$1" | head; return 1; fi
	if grep -q "$CR" "$1"; then echo "raw CR in $1:"; od -c "$1" | head; return 1; fi
	# every line is a diagnostic: no LF from a value started one
	if grep -v "^crm-import: " "$1"; then echo "a line that is not a diagnostic in $1"; return 1; fi
	return 0
}

test_expect 'customers: values of the time zone, country and consent columns masked or escaped' '
	{
		printf "id,email,timezone,country,email_consent\n"
		printf "C1,c1@shop.test,john.doe@example.com,+7 916 123-45-67,yes\n"
		printf "C2,c2@shop.test,Europe/Moscow\033[31mX,RU,maybe@x.org\n"
		printf "C3,c3@shop.test,\"Bad\r\nZone\",RU,79161234567\n"
		printf ",\"Ann\r\nBcc: x@evil.example <ann@example.com>\",UTC,RU,yes\n"
	} >cust.csv &&
	run 3 crm-import customers cust.csv --rejects rej.csv &&
	cat err &&
	no_secrets err &&
	expect_grep "cust.csv:2: warning: unknown time zone \"j***@e***.com\"; field dropped" err &&
	expect_grep "cust.csv:2: warning: invalid country (16 characters): " err &&
	expect_grep "cust.csv:3: warning: unknown time zone \"Europe/Moscow\\x1b[31mX\"; field dropped" err &&
	expect_grep "cust.csv:3: warning: invalid email_consent \"m***@x***.org\": " err &&
	expect_grep "cust.csv:4: warning: unknown time zone \"Bad\\r\\nZone\"; field dropped" err &&
	expect_grep "cust.csv:4: warning: invalid email_consent (11 characters): " err &&
	expect_grep "cust.csv:6: no usable key (no id, valid email or phone): invalid email: control character in display name" err &&
	expect_eq "C1 C2 C3" "$(sql "SELECT group_concat(external_id, '\'' '\'') FROM (SELECT external_id FROM customers ORDER BY 1)")" &&
	expect_eq 0 "$(sql "SELECT count(*) FROM customers WHERE email = '\''ann@example.com'\''")"
'

test_expect 'the --rejects file (0600) keeps the raw row with its address' '
	expect_mode 600 rej.csv &&
	expect_grep "Bcc: x@evil.example <ann@example.com>" rej.csv &&
	expect_grep "control character in display name" rej.csv
'

test_expect 'orders: an address or phone number as the amount or currency is masked, ESC escaped' '
	{
		printf "customer_id,ordered_at,amount,currency\n"
		printf "C1,2026-01-01,john.doe@example.com,RUB\n"
		printf "C1,2026-01-02,10.00,+79161234567\n"
		printf "C1,2026-01-03,\033[2J12,RUB\n"
		printf "C1,2026-01-04,12.00,RUB\n"
	} >ord.csv &&
	run 3 crm-import orders ord.csv &&
	cat err &&
	no_secrets err &&
	expect_grep "ord.csv:2: invalid amount \"j***@e***.com\": " err &&
	expect_grep "ord.csv:3: invalid currency (12 characters): " err &&
	expect_grep "ord.csv:4: invalid amount \"\\x1b[2J12\": " err &&
	expect_grep "4 read, 1 inserted, 0 updated, 0 unchanged, 3 rejected" err
'

test_expect 'consents: an address as the channel, a phone number as granted' '
	{
		printf "customer_id,channel,granted\n"
		printf "C1,john.doe@example.com,yes\n"
		printf "C1,email,+7 916 123 45 67\n"
		printf "C1,sms\033]0;title\007,yes\n"
	} >cons.csv &&
	run 3 crm-import consents cons.csv &&
	cat err &&
	no_secrets err &&
	expect_grep "cons.csv:2: unknown channel \"j***@e***.com\" (email, sms" err &&
	expect_grep "cons.csv:3: invalid granted (16 characters): " err &&
	expect_grep "cons.csv:4: unknown channel \"sms\\x1b]0;title\\x07\"" err
'

test_expect 'column names in messages are escaped and masked too' '
	printf "first_name,ann@example.com,col\033[1m\nAnn,x,y\n" >cols.csv &&
	run 1 crm-import customers cols.csv &&
	cat err &&
	no_secrets err &&
	expect_grep "cols.csv:1: cannot import customers: no id, email or phone column; columns are \"first_name\", \"a***@e***.com\", \"col\\x1b[1m\"" err &&
	printf "{\"id\":\"J1\",\"\\\\u001b[2J\":1e999}\n" >keys.jsonl &&
	run 3 crm-import customers keys.jsonl &&
	cat err &&
	no_secrets err &&
	expect_grep "keys.jsonl:1: number out of range in field 2 (\\x1b[2J)" err
'

test_done
