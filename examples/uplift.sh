#!/bin/sh
# Who to message: a past experiment brought into a base of its own
# (examples/uplift.db) and learnt from. Kevin Hillstrom's e-mail test of
# 2008 (tests/fixtures/hillstrom: 64,000 customers, a men's and a women's
# e-mail and a third held out at random) goes in as a shop would bring a
# test run elsewhere: the customers with what was known of them as
# attributes, the outbox of the test (crm-import messages: campaign,
# customer, group, variant, sent_at), an order for each purchase. Then
# crm-score uplift learns who bought because of the e-mail, crm-report
# uplift shows it by decile, and crm-segment picks the customers to
# message next. Each step is printed before it runs.
# Usage: sh examples/uplift.sh [BIN_DIR] [OUT_DIR (default examples)]
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:-build/bin}
case $BIN in /*) ;; *) BIN=$top/$BIN ;; esac
PATH=$BIN:$PATH
out=${2:-$top/examples}
CRM_DB=$out/uplift.db
CRM_NOW=${CRM_NOW:-2008-06-01 00:00:00}
export CRM_DB CRM_NOW
unset CRM_CONFIG
rm -f "$CRM_DB" "$CRM_DB-wal" "$CRM_DB-shm"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

step() {
	printf '\n$ %s\n' "$*"
	"$@" </dev/null
}

# the published CSV (CRLF; its only quoted column, history_segment, is
# left out: history has the same in dollars) as three files crm-import
# reads: recency,history_segment,history,mens,womens,zip_code,newbie,
# channel,segment,visit,conversion,spend
xz -dc "$top/tests/fixtures/hillstrom/hillstrom.csv.xz" | tr -d '\r' |
	sed 's/"[^"]*"/band/' | awk -F, -v dir="$tmp" '
	NR == 1 {
		print "id,recency,history,mens,womens,zip_code,newbie,channel" >dir "/customers.csv"
		print "campaign,customer_id,group,variant,sent_at" >dir "/messages.csv"
		print "order_id,customer_id,ordered_at,amount,currency" >dir "/orders.csv"
		next
	}
	{
		id = sprintf("H%05d", NR - 1)
		print id "," $1 "," $3 "," $4 "," $5 "," $6 "," $7 "," $8 >dir "/customers.csv"
		split($9, s, " ")
		if ($9 == "No E-Mail")
			print "hillstrom," id ",control,,2008-03-20 09:00:00" >dir "/messages.csv"
		else
			print "hillstrom," id ",treatment," tolower(s[1]) ",2008-03-20 09:00:00" >dir "/messages.csv"
		if ($11 == 1)
			print id "-1," id ",2008-03-25 12:00:00," $12 ",USD" >dir "/orders.csv"
	}'

step crm-import -q customers "$tmp/customers.csv"
step crm-import -q orders "$tmp/orders.csv"
step crm-import messages "$tmp/messages.csv"
step crm-report -f table campaign hillstrom --window 14d
step crm-score -f table uplift --campaign hillstrom
step crm-report -f table uplift hillstrom --by decile
step crm-segment -c 'uplift("hillstrom") > 0.01'
step crm-segment -f table --fields id,attr.channel,attr.history,uplift --order-by uplift:desc --limit 5
printf '\nThe base is %s; crm-score.1 (Uplift) says how the model is chosen.\n' "$CRM_DB"
