#!/bin/sh
# crm-segment -f audience: hashes of normalised e-mails and E.164 phones.
. "$CRM_TOP/tests/lib.sh"

# SHA-256 and MD5 of "test@example.com" as published in ad platforms'
# documentation and computed by any implementation; the others are checked
# against coreutils' sha256sum/md5sum, not against crmkit itself.
SHA_TEST=973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b
MD5_TEST=55502f40dc8b7c769880b10874abc9d0

hex() { printf '%s' "$2" | "$1" | cut -d" " -f1; }

test_expect 'setup: customers with messy e-mails and phones' '
	cat >aud.csv <<-EOF_ &&
	id,email,phone,country
	A1, Test@Example.COM ,+1 (650) 253-0000,US
	A2,,8 (916) 123-45-67,RU
	A3,only.mail@example.org,,DE
	A4,,,GB
	EOF_
	crm-import customers aud.csv 2>/dev/null &&
	expect_eq 4 "$(sql "SELECT count(*) FROM customers")"
'

test_expect 'one hash per line: e-mail then phone, per customer; nobody without either' '
	run 0 crm-segment -f audience --min-size 1 &&
	expect_eq "$SHA_TEST
$(hex sha256sum +16502530000)
$(hex sha256sum +79161234567)
$(hex sha256sum only.mail@example.org)" "$(cat out)" &&
	expect_eq "crm-segment: audience of 3 customers" "$(cat err)"
'

test_expect '--audience-hash md5' '
	run 0 crm-segment -f audience --audience-hash md5 --min-size 1 "id = \"A1\"" &&
	expect_eq "$MD5_TEST
$(hex md5sum +16502530000)" "$(cat out)"
'

test_expect '--min-size: below it nothing is printed and the exit is 1' '
	run 1 crm-segment -f audience --min-size 4 &&
	expect_eq "" "$(cat out)" &&
	expect_grep "the audience has 3 customers with an e-mail or phone, fewer than --min-size 4" err &&
	run 1 crm-segment -f audience &&
	expect_grep "fewer than --min-size 100" err &&
	run 0 crm-segment -f audience --min-size 3 &&
	expect_eq 4 "$(wc -l <out | tr -d " ")"
'

test_expect 'an audience is filtered like any output' '
	run 0 crm-segment -f audience --min-size 1 "country = \"DE\"" &&
	expect_eq "$(hex sha256sum only.mail@example.org)" "$(cat out)"
'

test_expect 'audience options are checked' '
	run 2 crm-segment -f audience --audience-hash sha1 &&
	expect_grep "unknown --audience-hash \"sha1\"" err &&
	run 2 crm-segment --min-size 5 &&
	expect_grep "go with -f audience" err &&
	run 2 crm-segment --min-size 100 &&
	expect_grep "go with -f audience" err &&
	run 2 crm-segment -f audience -c &&
	run 2 crm-segment -f nosuch &&
	expect_grep "(csv, tsv, jsonl, json, table, audience)" err
'

test_done
