#!/bin/sh
# crm-score rfm: quantile scores with ties, the named segments, the
# summary, completed orders only, past as-of dates, stale scores cleared,
# dry runs and currencies. Every expected score is worked out by hand in
# the comments from the mid-rank rule of crm-score(1):
#   score = 1 + floor(bins * (worse + equal/2) / n), at most bins.
. "$CRM_TOP/tests/lib.sh"

# As of 2026-11-23 (CRM_NOW), completed USD orders only:
#   A  2026-09-01 50, 2026-10-01 50, 2026-11-20 100  recency   3  F 3  M 200
#   B  2026-11-22 10 (and a refunded 1000)            recency   1  F 1  M  10
#   C  five orders of 100, the last 2026-05-01        recency 206  F 5  M 500
#   D  2026-03-15 20, 2026-08-01 20                   recency 114  F 2  M  40
#   E  2025-11-01 5 (and one of 70 on 2026-12-01, after now)  recency 387  F 1  M 5
#   F  a cancelled order only: not scored
# Five distinct values score 1..5 by rank; B and E tie on F = 1: 1 + floor(5 * 1/5) = 2.
# (F has four distinct values for five scores: quantiles stay.) A customer
# with one order is in the grid's first column whatever F and M say.
#   A R4 F4 M4 "444": FM 4 -> loyal
#   B R5 F2 M2 "522": one order: column 1 -> new
#   C R2 F5 M5 "255": FM 5 -> cannot_lose
#   D R3 F3 M3 "333": FM 3 -> need_attention
#   E R1 F2 M1 "121": one order: column 1 -> lost
cat >orders.csv <<'EOF'
order_id,customer_id,ordered_at,amount,currency,status
a1,A,2026-09-01 10:00:00,50.00,USD,
a2,A,2026-10-01 10:00:00,50.00,USD,completed
a3,A,2026-11-20 10:00:00,100.00,USD,
b1,B,2026-11-22 09:00:00,10.00,USD,
b2,B,2026-11-22 09:30:00,1000.00,USD,refunded
c1,C,2026-01-10,100,USD,
c2,C,2026-02-10,100,USD,
c3,C,2026-03-10,100,USD,
c4,C,2026-04-10,100,USD,
c5,C,2026-05-01,100,USD,
d1,D,2026-03-15,20,USD,
d2,D,2026-08-01,20,USD,
e1,E,2025-11-01,5,USD,
e2,E,2026-12-01,70,USD,
f1,F,2026-11-01,30,USD,cancelled
EOF

scores() {
	sql "SELECT c.external_id, s.recency_days, s.frequency, s.monetary, s.r, s.f, s.m, s.rfm,
	            s.rfm_segment FROM scores s JOIN customers c ON c.id = s.customer_id
	     ORDER BY c.external_id"
}

test_expect 'setup' '
	run 0 crm-import orders orders.csv &&
	expect_eq 15 "$(sql "SELECT count(*) FROM orders")"
'

test_expect 'rfm scores the five customers with completed orders' '
	run 0 crm-score rfm -f csv &&
	expect_eq "A|3|3|200.0|4|4|4|444|loyal
B|1|1|10.0|5|2|2|522|new
C|206|5|500.0|2|5|5|255|cannot_lose
D|114|2|40.0|3|3|3|333|need_attention
E|387|1|5.0|1|2|1|121|lost" "$(scores)" &&
	expect_grep "rfm: 5 customers scored as of 2026-11-23 12:00:00 (USD, 5 bins)" err
'

test_expect 'the summary: every segment in order, customers, share, revenue' '
	expect_eq "segment,customers,share,revenue
champions,0,0,0
loyal,1,0.2,200
potential_loyalist,0,0,0
new,1,0.2,10
promising,0,0,0
need_attention,1,0.2,40
about_to_sleep,0,0,0
at_risk,0,0,0
cannot_lose,1,0.2,500
hibernating,0,0,0
lost,1,0.2,5" "$(cat out)"
'

test_expect 'the model row and its link' '
	expect_eq "rfm|{\"bins\":5,\"r\":\"quantiles\",\"f\":\"quantiles\",\"m\":\"quantiles\"}|5|2026-11-23 12:00:00|2025-11-01 00:00:00|USD||2026-11-23 12:00:00" \
		"$(sql "SELECT kind, params, customers, as_of, data_from, currency, log_likelihood, fitted_at
			FROM models")" &&
	expect_eq 5 "$(sql "SELECT count(*) FROM scores WHERE rfm_model_id = (SELECT id FROM models)")" &&
	expect_eq "" "$(sql "PRAGMA foreign_key_check")"
'

# --bins 3: 1 + floor(3 (2i+1) / 10) for ranks i = 0..4 gives 1 1 2 3 3;
# the tie at F = 1 gets 1 + floor(3 * 2/10) = 1. On the 1..5 grid
# (ceil(5 s / 3)): 1 -> 2, 2 -> 4, 3 -> 5.
#   A "333" -> R5 FM5 champions     B "311" -> R5, one order: new
#   C "133" -> R2 FM5 cannot_lose   D "222" -> R4 FM4 loyal
#   E "111" -> R2 FM2 hibernating
test_expect '--bins 3' '
	run 0 crm-score rfm --bins 3 -f csv &&
	expect_eq "A|333|champions
B|311|new
C|133|cannot_lose
D|222|loyal
E|111|hibernating" "$(sql "SELECT c.external_id, s.rfm, s.rfm_segment FROM scores s
		JOIN customers c ON c.id = s.customer_id ORDER BY 1")" &&
	expect_eq "{\"bins\":3,\"r\":\"quantiles\",\"f\":\"quantiles\",\"m\":\"quantiles\"}" "$(sql "SELECT params FROM models ORDER BY id DESC LIMIT 1")"
'

# As of 2026-06-30 only C (recency 60, F 5, M 500), D (107, 1, 20) and
# E (241, 1, 5) have orders; three ranks score 1 + floor(5 (2i+1)/6) =
# 1, 3, 5 and the tie of D and E at F = 1 gets 1 + floor(5 * 2/6) = 2.
#   C "555" champions, D "323" one order: about_to_sleep, E "121" lost
test_expect 'an as-of date in the past sees the orders up to its end only' '
	run 0 crm-score rfm --as-of 2026-06-30 -f csv &&
	expect_eq "C|60|5|500.0|5|5|5|555|champions
D|107|1|20.0|3|2|3|323|about_to_sleep
E|241|1|5.0|1|2|1|121|lost" "$(scores)" &&
	expect_grep "rfm: 3 customers scored as of 2026-06-30 23:59:59" err &&
	expect_eq "2026-06-30 23:59:59" "$(sql "SELECT as_of FROM models ORDER BY id DESC LIMIT 1")"
'

test_expect 'A and B, not scored any more, lost their rows' '
	expect_eq 3 "$(sql "SELECT count(*) FROM scores")" &&
	expect_eq 0 "$(sql "SELECT count(*) FROM scores s JOIN customers c ON c.id = s.customer_id
		WHERE c.external_id IN ('\''A'\'', '\''B'\'')")"
'

test_expect '--dry-run prints the summary and writes nothing' '
	cp crm.db before.db &&
	run 0 crm-score -n rfm -f csv &&
	expect_grep "loyal,1,0.2,200" out &&
	expect_grep "dry run, nothing written" err &&
	expect_eq "$(sqlite3 before.db "SELECT * FROM scores ORDER BY 1")" "$(sql "SELECT * FROM scores ORDER BY 1")" &&
	expect_eq "$(sqlite3 before.db "SELECT count(*) FROM models")" "$(sql "SELECT count(*) FROM models")"
'

# one order each: R 3 is the first column's about_to_sleep
test_expect 'ties: everyone alike gets the middle score' '
	printf "customer_id,ordered_at,amount,currency\nX1,2026-01-05,10,EUR\nX2,2026-01-05,10,EUR\nX3,2026-01-05,10,EUR\n" >same.csv &&
	run 0 crm-import --db same.db orders same.csv &&
	run 0 crm-score --db same.db rfm -f csv &&
	expect_eq "333|about_to_sleep|3" "$(sqlite3 same.db "SELECT DISTINCT rfm, rfm_segment, count(*) FROM scores")" &&
	expect_grep "about_to_sleep,3,1,30" out
'

test_expect 'one customer gets the middle score too' '
	printf "customer_id,ordered_at,amount,currency\nS,2026-01-05,10,EUR\n" >one.csv &&
	run 0 crm-import --db one.db orders one.csv &&
	run 0 crm-score --db one.db rfm -f csv &&
	expect_eq "333|about_to_sleep" "$(sqlite3 one.db "SELECT rfm, rfm_segment FROM scores")"
'

# Half the customers with one order (a real shop): 20 customers with 1
# (10 of them), 2 (3), 3 (2), 4 (2), 6, 8 and 12 orders. Quantiles give
# the ones 1 + floor(5 * 5/20) = 2 and no customer F 1, so F is scored by
# groups of equal counts, worst first, each taking counts while the
# count's middle stays below its share of what is left:
#   run 1: share 20/5 = 4: {1} (10 customers); 2 would be past it
#   run 2: share 10/4 = 2.5: {2} (3); 3 (middle 3 + 1 = 4) past it
#   run 3: share 7/3 = 2.33: {3} (2); 4 (2 + 1 = 3) past it
#   run 4: share 5/2 = 2.5: {4} (2); 6 (2 + 0.5 = 2.5) not below it
#   run 5: {6, 8, 12}
# (M, 20 a order but 10 for O2..O10, ties as much: groups too.) O1
# ordered yesterday, the most money of anyone: one order, so "new"
test_expect 'ties that swallow a score: groups of equal counts, every score used' '
	awk "BEGIN { print \"order_id,customer_id,ordered_at,amount,currency\"
		printf \"o1,O1,2026-11-22,1000,EUR\\n\"
		for (c = 2; c <= 10; c++) printf \"o%d,O%d,2026-%02d-10,10,EUR\\n\", c, c, c - 1
		split(\"2 2 2 3 3 4 4 6 8 12\", k, \" \")
		for (c = 1; c <= 10; c++) for (j = 1; j <= k[c]; j++)
			printf \"r%d-%d,R%02d,2026-%02d-%02d,20,EUR\\n\", c, j, c, 1 + j % 10, c + 1
	}" >ties.csv &&
	run 0 crm-import --db ties.db orders ties.csv &&
	run 0 crm-score --db ties.db rfm -f csv &&
	expect_eq "1|1
2|2
3|3
4|4
6|5
8|5
12|5" "$(sqlite3 ties.db "SELECT frequency, group_concat(DISTINCT f) FROM scores GROUP BY 1 ORDER BY 1")" &&
	expect_grep "rfm: frequency: ties left a score empty; scored by groups of equal values" err &&
	expect_eq "{\"bins\":5,\"r\":\"quantiles\",\"f\":\"groups\",\"m\":\"groups\"}" \
		"$(sqlite3 ties.db "SELECT params FROM models")" &&
	expect_eq "new" "$(sqlite3 ties.db "SELECT rfm_segment FROM scores s JOIN customers c
		ON c.id = s.customer_id WHERE c.external_id = '\''O1'\''")" &&
	expect_eq 0 "$(sqlite3 ties.db "SELECT count(*) FROM scores WHERE frequency = 1 AND
		rfm_segment NOT IN ('\''new'\'', '\''promising'\'', '\''about_to_sleep'\'',
		'\''hibernating'\'', '\''lost'\'')")"
'

test_expect '-q prints errors only: no summary' '
	run 0 crm-score --db ties.db -q rfm &&
	expect_eq "" "$(cat out)" && expect_eq "" "$(cat err)" &&
	expect_eq 20 "$(sqlite3 ties.db "SELECT count(*) FROM scores WHERE rfm IS NOT NULL")"
'

# a run in one currency leaves the other currency's scores (C, D, E
# keep theirs from the run as of 2026-06-30); A, who bought in both, has
# the scores of the currency scored last
test_expect 'orders in two currencies: an error naming them, then --currency' '
	printf "customer_id,ordered_at,amount,currency\nA,2026-11-01,7,EUR\n" >eur.csv &&
	run 0 crm-import orders eur.csv &&
	cp crm.db before.db &&
	run 1 crm-score rfm &&
	expect_eq "crm-score: completed orders in 2 currencies up to 2026-11-23 12:00:00 (USD 12, EUR 1): choose one with --currency, or give exchange rates with crm-import rates" "$(cat err)" &&
	expect_eq "$(sqlite3 before.db "SELECT * FROM scores ORDER BY 1")" "$(sql "SELECT * FROM scores ORDER BY 1")" &&
	run 0 crm-score rfm --currency eur -f csv &&
	expect_eq "A|22|1|7.0|333|EUR
C|60|5|500.0|555|USD
D|107|1|20.0|323|USD
E|241|1|5.0|121|USD" "$(sql "SELECT c.external_id, s.recency_days, s.frequency, s.monetary,
		s.rfm, m.currency FROM scores s JOIN customers c ON c.id = s.customer_id
		JOIN models m ON m.id = s.rfm_model_id ORDER BY 1")" &&
	run 0 crm-score rfm --currency USD -f csv &&
	expect_eq 5 "$(sql "SELECT count(*) FROM scores")"
'

# currency_scores keeps each currency's scores: A has a row in each, the
# USD run did not remove A's EUR scores, and the rfm report counts each
# currency's customers apart
test_expect 'scores by currency: a customer buying in two has two rows, each run clears only its own' '
	expect_eq "A|EUR|22|1|7.0
A|USD|3|3|200.0" "$(sql "SELECT c.external_id, s.currency, s.recency_days, s.frequency, s.monetary
		FROM currency_scores s JOIN customers c ON c.id = s.customer_id
		WHERE c.external_id = '\''A'\'' ORDER BY 2" | cut -d"|" -f1-5)" &&
	expect_eq "EUR|1
USD|5" "$(sql "SELECT currency, count(*) FROM currency_scores GROUP BY 1")" &&
	expect_eq "$(sql "SELECT customer_id, rfm, rfm_segment FROM scores ORDER BY 1")" \
		"$(sql "SELECT customer_id, rfm, rfm_segment FROM currency_scores WHERE currency = '\''USD'\'' ORDER BY 1")" &&
	run 0 crm-report -f csv rfm &&
	expect_eq 5 "$(awk -F, "\$10 == \"USD\" { n += \$2 } END { print n }" out)" &&
	expect_eq "1,1,7,EUR" "$(awk -F, -v OFS=, "\$10 == \"EUR\" { print \$2, \$3, \$4, \$10 }" out)" &&
	id=$(sql "SELECT id FROM customers WHERE external_id = '\''A'\''") &&
	run 0 crm-report -f csv customer A &&
	expect_grep "scores,,rfm_segment," out &&
	expect_eq "EUR USD" "$(grep "^scores,,rfm," out | cut -d, -f5 | tr "\n" " " | sed "s/ \$//")"
'

# a base at schema 11 made from the migration files up to 011, holding
# this base's customers, orders, models and scores
test_expect 'a schema 11 base gets currency_scores from its scores when migrated' '
	rm -f old.db &&
	for f in "$CRM_TOP"/share/schema/*.sql; do
		n=$(basename "$f" | cut -d- -f1 | sed "s/^0*//")
		[ "$n" -le 11 ] || continue
		sqlite3 old.db <"$f" || exit 1
	done &&
	sqlite3 old.db "PRAGMA user_version = 11" &&
	for t in customers orders models scores; do
		cols=$(sqlite3 old.db "SELECT group_concat(name, '\'', '\'') FROM pragma_table_info('\''$t'\'')") &&
		sqlite3 old.db "ATTACH '\''crm.db'\'' AS src; INSERT INTO main.$t ($cols) SELECT $cols FROM src.$t" ||
			exit 1
	done &&
	run 0 crm-report --db old.db -f csv rfm &&
	expect_eq "USD|5" "$(sqlite3 old.db "SELECT currency, count(*) FROM currency_scores GROUP BY 1")" &&
	expect_eq "$(sqlite3 old.db "SELECT customer_id, rfm_model_id, rfm, monetary FROM scores ORDER BY 1")" \
		"$(sqlite3 old.db "SELECT customer_id, rfm_model_id, rfm, monetary FROM currency_scores ORDER BY 1")" &&
	expect_eq "$(sql "PRAGMA user_version")" "$(sqlite3 old.db "PRAGMA user_version")"
'

test_expect 'an erased customer is not scored again' '
	id=$(sql "SELECT id FROM customers WHERE external_id = '\''C'\''") &&
	printf "C\n" >erase.txt &&
	run 0 crm-import erase erase.txt &&
	expect_eq 0 "$(sql "SELECT count(*) FROM scores WHERE customer_id = $id")" &&
	expect_eq 0 "$(sql "SELECT count(*) FROM currency_scores WHERE customer_id = $id")" &&
	run 0 crm-score rfm --currency USD -f csv &&
	expect_grep "rfm: 4 customers scored" err &&
	expect_eq 0 "$(sql "SELECT count(*) FROM scores WHERE customer_id = $id")" &&
	expect_eq 4 "$(sql "SELECT count(*) FROM scores")"
'

test_expect 'nothing to score is an error' '
	printf "customer_id,ordered_at,amount,currency,status\nZ,2026-01-05,10,EUR,refunded\n" >none.csv &&
	run 0 crm-import --db none.db orders none.csv &&
	run 1 crm-score --db none.db rfm &&
	expect_eq "crm-score: no completed orders up to 2026-11-23 12:00:00: nothing to score" "$(cat err)"
'

test_done
