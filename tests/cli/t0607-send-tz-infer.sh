#!/bin/sh
# Quiet hours for a customer without a time zone (issue 19: a Russian
# customer was mailed at 22:30 Moscow time, the server's TZ=UTC saying
# 19:30): the zone of their country (the most populous zone of a country
# with several), else of their phone's calling code; a stored zone wins;
# crm-report customer says which zone and where it came from.
. "$CRM_TOP/tests/lib.sh"

start_smtpd || exit 1

cat >crm.conf <<EOF_
[smtp]
url = smtp://127.0.0.1:$SMTP_PORT
[email]
from = Shop <shop@example.com>
EOF_
chmod 600 crm.conf

printf 'Subject: Hi\n\nHello.\n' >a.tmpl

cat >people.csv <<'EOF_'
id,email,phone,country,timezone,email_consent
RU1,ru1@example.com,,RU,,yes
PH7,ph7@example.com,+7 916 123-45-67,,,yes
US1,us1@example.com,,US,,yes
ST1,st1@example.com,,RU,America/New_York,yes
NO1,no1@example.com,,,,yes
KZ1,kz1@example.com,+7 701 123 4567,,,yes
BR1,br1@example.com,,Brazil,,yes
EOF_

quiet() { crm-send --campaign "$1" --channel email --template a.tmpl --quiet-hours 21:00-09:00 -f csv "$@"; }

test_expect 'setup' '
	crm-import customers people.csv 2>/dev/null &&
	expect_eq "RU1|RU||" "$(cust RU1 "external_id, country, coalesce(timezone, '\'''\''), coalesce(phone, '\'''\'')")" &&
	expect_eq "+79161234567" "$(cust PH7 phone)"
'

test_expect '19:30 UTC is 22:30 in Moscow: country RU and a +7 phone are deferred to 09:00 Moscow' '
	printf "id\nRU1\nPH7\nST1\nNO1\n" >r.csv &&
	run 0 crm-send --campaign evening --channel email --template a.tmpl --quiet-hours 21:00-09:00 \
		--now "2026-11-23 19:30" -f csv r.csv &&
	expect_grep "RU1,email,deferred,quiet_hours (until 2026-11-24 06:00:00)" out &&
	expect_grep "PH7,email,deferred,quiet_hours (until 2026-11-24 06:00:00)" out &&
	expect_grep "ST1,email,sent" out &&
	expect_grep "NO1,email,sent" out &&
	expect_eq 0 "$(spooled_to ru1@example.com)" &&
	expect_eq 0 "$(spooled_to ph7@example.com)" &&
	expect_eq 1 "$(spooled_to st1@example.com)"
'

test_expect 'then sent by --retry after 09:00 Moscow' '
	run 0 crm-send --campaign evening --channel email --template a.tmpl --quiet-hours 21:00-09:00 \
		--now "2026-11-24 06:00" --retry -f csv &&
	expect_grep "RU1,email,sent" out &&
	expect_grep "PH7,email,sent" out
'

test_expect '12:00 UTC is 07:00 in New York: country US is deferred to 09:00 there, the others sent' '
	printf "id\nUS1\nNO1\nKZ1\n" >u.csv &&
	run 0 crm-send --campaign morning --channel email --template a.tmpl --quiet-hours 21:00-09:00 \
		-f csv u.csv &&
	expect_grep "US1,email,deferred,quiet_hours (until 2026-11-23 14:00:00)" out &&
	expect_grep "NO1,email,sent" out &&
	expect_grep "KZ1,email,sent" out
'

test_expect 'a stored time zone wins over the country' '
	printf "id\nST1\n" >s.csv &&
	run 0 crm-send --campaign late --channel email --template a.tmpl --quiet-hours 21:00-09:00 \
		--now "2026-11-24 03:00" -f csv s.csv &&
	expect_grep "ST1,email,deferred,quiet_hours (until 2026-11-24 14:00:00)" out
'

test_expect 'crm-report customer names the zone used and its source' '
	for c in RU1 PH7 US1 ST1 NO1 KZ1 BR1; do
		crm-report customer $c -f csv | grep ",timezone_used," | cut -d, -f4- | sed "s/^/$c /"
	done >tz &&
	cat >want <<-EOF_ &&
	RU1 Europe/Moscow,country: inferred from RU
	PH7 Europe/Moscow,phone: inferred from +7 (RU)
	US1 America/New_York,country: inferred from US
	ST1 America/New_York,stored
	NO1 UTC,"server: no time zone, country or phone to infer one from"
	KZ1 Asia/Almaty,phone: inferred from +77 (KZ)
	BR1 America/Sao_Paulo,country: inferred from BR
	EOF_
	expect_same want tz
'

test_expect 'without tzdata zone.tab: a warning, and the server zone' '
	mkdir -p notz &&
	TZDIR=$PWD/notz crm-report customer RU1 -f csv >card 2>err &&
	expect_grep "notz/zone.tab: cannot read it (the tzdata package)" err &&
	expect_grep ",timezone_used,UTC,\"server:" card
'

test_done
