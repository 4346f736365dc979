#!/bin/sh
# crm-import rates and crm-score across currencies (issue 16, item 5):
# exchange rates by day into exchange_rates, bad rows rejected with
# file:line, one base currency per base; crm-score then puts every order
# into the base currency at the rate of its day and scores everyone in
# one run; a day without a rate is an error naming it, nothing written.
. "$CRM_TOP/tests/lib.sh"

CRM_NOW='2026-11-23 12:00:00'
export CRM_NOW

# A: 100 EUR, then 100 USD on 2026-07-01 (0.8)     180 EUR
# B: 50 USD on 2026-03-01 (0.9)                    45 EUR
# C: 10 GBP (1.15 from any day) and 1000 JPY       11.5 + 1000 x JPY's rate
test_expect 'setup: orders in four currencies; crm-score wants one' '
	cat >o.csv <<-\EOF2 &&
	order_id,customer_id,ordered_at,amount,currency
	1,A,2026-02-01,100,EUR
	2,A,2026-07-01,100,USD
	3,B,2026-03-01,50,USD
	4,C,2026-04-01,10,GBP
	5,C,2026-05-01,1000,JPY
	EOF2
	run 0 crm-import orders o.csv &&
	run 1 crm-score rfm &&
	expect_grep "choose one with --currency, or give exchange rates with crm-import rates" err
'

test_expect 'crm-import rates: the base first, bad rows rejected with file:line, re-import unchanged' '
	cat >rates.csv <<-\EOF2 &&
	currency,rate,valid_from
	USD,0.9,2026-01-01
	USD,"0,8",2026-06-01
	GBP,1.15,
	xyz,1,2026-01-01
	RUB,-1,2026-01-01
	EUR,1,2026-01-01
	JPY,0.006,2026-13-01
	EOF2
	sql .dump >before.sql &&
	run 1 crm-import rates rates.csv &&
	expect_grep "rates: give --currency CODE, the currency the rates are in" err &&
	sql .dump >after.sql && expect_same before.sql after.sql &&
	run 3 crm-import rates --currency eur rates.csv &&
	expect_grep "rates.csv:5: invalid currency \"xyz\"" err &&
	expect_grep "rates.csv:6: invalid rate \"-1\": not above 0" err &&
	expect_grep "rates.csv:7: the base currency: its rate is 1" err &&
	expect_grep "rates.csv:8: invalid valid_from" err &&
	expect_grep "7 read, 3 inserted, 0 updated, 0 unchanged, 4 rejected" err &&
	expect_eq "GBP|1970-01-01|1.15
USD|2026-01-01|0.9
USD|2026-06-01|0.8" "$(sql "SELECT * FROM exchange_rates ORDER BY 1, 2")" &&
	expect_eq EUR "$(sql "SELECT value FROM meta WHERE key = '\''base_currency'\''")" &&
	run 3 crm-import rates rates.csv &&
	expect_grep "0 inserted, 0 updated, 3 unchanged" err
'

test_expect 'crm-report export rates: back into another base as they are, with the base the note names' '
	run 0 crm-report -f csv export rates &&
	expect_eq "currency,rate,valid_from" "$(head -1 out)" &&
	expect_eq "crm-report: rates in EUR: import them with crm-import rates --currency EUR" "$(cat err)" &&
	mv out rates-out.csv &&
	run 0 crm-import --db copy.db rates --currency EUR rates-out.csv &&
	expect_eq "$(sql "SELECT * FROM exchange_rates ORDER BY 1, 2")" \
		"$(sqlite3 copy.db "SELECT * FROM exchange_rates ORDER BY 1, 2")" &&
	run 2 crm-report export rates --where "true" &&
	expect_grep "rates belong to no customer" err
'

test_expect 'another base is refused before anything is read' '
	sql .dump >before.sql &&
	run 1 crm-import rates --currency USD rates.csv &&
	expect_eq "crm-import: the rates stored are in EUR, not USD: one base currency per base (nothing imported)" "$(cat err)" &&
	sql .dump >after.sql && expect_same before.sql after.sql
'

test_expect 'an order on a day without a rate: an error naming it, nothing written' '
	sql .dump >before.sql &&
	run 1 crm-score rfm &&
	expect_eq "crm-score: no exchange rate for JPY on 2026-05-01 (1 orders without a rate; crm-import rates gives a currency'\''s rate from a day on): nothing written" "$(cat err)" &&
	sql .dump >after.sql && expect_same before.sql after.sql
'

test_expect 'with every rate: one run in the base currency, each order at the rate of its day' '
	printf "currency,rate\nJPY,0.0062\n" >jpy.csv &&
	run 0 crm-import rates jpy.csv &&
	run 0 crm-score rfm -f csv &&
	expect_grep "4 orders in other currencies converted to EUR at the rates of crm-import rates" err &&
	expect_eq "A|180.0|EUR
B|45.0|EUR
C|17.7|EUR" "$(sql "SELECT c.external_id, s.monetary, m.currency FROM scores s
		JOIN customers c ON c.id = s.customer_id JOIN models m ON m.id = s.rfm_model_id
		ORDER BY 1")" &&
	run 0 crm-score rfm --currency USD -f csv &&
	expect_grep "rfm: 2 customers scored" err
'

test_done
