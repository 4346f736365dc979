#!/bin/sh
# SQL injection against the expression language: every expression of
# tests/fixtures/hostile-expr.tsv (quotes, ';', comments, ATTACH,
# load_extension, pragmas, sub-queries, SQL functions, parameters,
# schema names, pathological regular expressions), plus huge nesting and
# very long input, is either a clean error or the right read-only count;
# no string literal reaches the SQL text (--sql shows them as bound
# parameters only); the database is unchanged (a dump before and after)
# and no file appears next to it.
. "$CRM_TOP/tests/lib.sh"

CORPUS=$CRM_TOP/tests/fixtures/hostile-expr.tsv

test_expect 'setup: six customers, one erased, orders, a consent, an event, a send' '
	cat >c.csv <<-\EOF_ &&
	id,email,first_name,city,plan,email_consent
	B1,b1@example.com,"Robert'\''); DROP TABLE customers;--",Kazan,pro,yes
	B2,x'\''or'\''1'\''='\''1@example.com,Eve,Kazan,free,yes
	B3,b3@example.com,Cem,Kazan,,no
	B4,b4@example.com,Dan,Omsk,pro,
	B5,b5@example.com,Fay,Perm,,yes
	B6,b6@example.com,Gus,Perm,,
	EOF_
	run 0 crm-import customers c.csv &&
	printf "customer_id,ordered_at,amount,currency\nB1,2026-11-01,10,EUR\nB2,2026-10-01,20,EUR\nB2,2026-11-01,5,EUR\n" >o.csv &&
	run 0 crm-import orders o.csv &&
	printf "customer_id,type,occurred_at\nB4,cart_add,2026-11-22\n" >e.csv &&
	run 0 crm-import events e.csv &&
	printf "email\nb6@example.com\n" >er.csv &&
	run 0 crm-import erase er.csv &&
	printf "Subject: x\n\nx\n" >t.tmpl &&
	printf "id\nB5\n" | crm-send --campaign c1 --channel file --no-consent --template t.tmpl -o /dev/null -f csv >/dev/null 2>&1 &&
	expect_eq 6 "$(sql "SELECT count(*) FROM customers")" &&
	sql .dump >before.dump &&
	ls >before.ls
'

# check WANT EXPR: one expression of the corpus (shown cut to 200 bytes)
check() {
	_want=$1 _e=$2
	_show=$(printf "%.200s" "$_e")
	set +e
	crm-segment --no-input -c "$_e" >out 2>err
	_rc=$?
	set -e
	case $_rc in
	0)
		if [ "$_want" = E ]; then
			echo "accepted, should be an error: $_show"; cat out; return 1
		fi
		if [ "$_want" != "*" ] && [ "$(cat out)" != "$_want" ]; then
			echo "count $(cat out), expected $_want: $_show"; return 1
		fi
		# the SQL text has no literal of the expression: they are
		# the bound parameters, shown as "-- ?N = ..." comments
		crm-segment --no-input --sql "$_e" >sql.txt 2>&1
		if grep -v "^-- ?[0-9]* = " sql.txt | grep -iq "INJ"; then
			echo "user text in the SQL of: $_show"; cat sql.txt; return 1
		fi
		;;
	1 | 2)
		if [ "$_want" != E ] && [ "$_want" != "*" ]; then
			echo "error, expected $_want: $_show"; cat err; return 1
		fi
		grep -q "^crm-segment: " err || { echo "exit $_rc without a message: $_show"; cat err; return 1; }
		;;
	*)
		echo "exit $_rc (a crash?): $_show"; cat err; return 1 ;;
	esac
	if grep -qi "locked\|readonly\|read-only database\|not authorized" err; then
		echo "reached SQLite before being refused: $_show"; cat err; return 1
	fi
}

test_expect "the corpus ($(grep -vc '^#' "$CORPUS") expressions): clean errors or the right counts" '
	n=0 &&
	while IFS="	" read -r want expr; do
		case $want in "#"* | "") continue ;; esac
		check "$want" "$expr" || exit 1
		n=$((n + 1))
	done <"$CORPUS" &&
	echo "$n expressions" &&
	test $n -ge 80
'

test_expect 'huge nesting: parentheses, not and calls 30000 deep; a clean error' '
	e=$(awk "BEGIN { for (i = 0; i < 30000; i++) printf \"(\"; printf \"orders > 0\"; for (i = 0; i < 30000; i++) printf \")\" }") &&
	check E "$e" &&
	e=$(awk "BEGIN { for (i = 0; i < 30000; i++) printf \"not \"; printf \"orders > 0\" }") &&
	check E "$e" &&
	e=$(awk "BEGIN { for (i = 0; i < 15000; i++) printf \"orders(\"; printf \"1d\" }") &&
	check E "$e"
'

test_expect 'moderate nesting is still answered' '
	e=$(awk "BEGIN { for (i = 0; i < 20; i++) printf \"(\"; printf \"orders > 0\"; for (i = 0; i < 20; i++) printf \")\" }") &&
	check 2 "$e" &&
	e=$(awk "BEGIN { for (i = 0; i < 20; i++) printf \"not \"; printf \"orders > 0\" }") &&
	check 2 "$e"
'

test_expect 'very long input (argv takes 128 kB): a 120 kB string literal, 4000 or-ed conditions, a 100 kB name' '
	e="email = \"$(head -c 120000 /dev/zero | tr "\0" "I")\"" &&
	check "*" "$e" &&
	e=$(awk "BEGIN { printf \"city = \\\"INJ0\\\"\"; for (i = 1; i < 4000; i++) printf \" or city = \\\"INJ%d\\\"\", i }") &&
	check "*" "$e" &&
	e="$(head -c 100000 /dev/zero | tr "\0" "x") > 0" &&
	check E "$e" &&
	e="attr.$(head -c 100000 /dev/zero | tr "\0" "x") = 1" &&
	check "*" "$e"
'

test_expect 'the database is unchanged and no file was created' '
	sql .dump >after.dump &&
	expect_same before.dump after.dump &&
	ls >after.ls &&
	grep -v "^\(out\|err\|sql.txt\|after.dump\|after.ls\)$" after.ls >after2.ls &&
	grep -v "^\(out\|err\|sql.txt\|after.dump\|after.ls\)$" before.ls >before2.ls &&
	expect_same before2.ls after2.ls
'

test_done
