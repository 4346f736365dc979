#!/bin/sh
# Promo codes from pool to report, on the example data in a base of its
# own (examples/coupons.db): a pool of generated codes, a winback whose
# every message carries a code of its own (rendered to an mbox, not
# sent), the week after's orders with the codes the shop's checkout took,
# and what the codes did. Each step is printed before it runs.
# Usage: sh examples/coupons.sh [BIN_DIR] [OUT_DIR (default examples)]
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:-build/bin}
case $BIN in /*) ;; *) BIN=$top/$BIN ;; esac
PATH=$BIN:$PATH
ex=$top/examples
out=${2:-$ex}
CRM_DB=$out/coupons.db
CRM_NOW=${CRM_NOW:-2026-11-23 09:00:00}
export CRM_DB CRM_NOW
unset CRM_CONFIG
rm -f "$CRM_DB" "$CRM_DB-wal" "$CRM_DB-shm" "$out/coupons.mbox" "$out/coupons-orders.csv"
conf=$(mktemp)
trap 'rm -f "$conf"' EXIT
printf '[unsubscribe]\nurl = https://shop.example/unsubscribe\n' >"$conf"

step() {
	printf '\n$ %s\n' "$*"
	"$@" </dev/null || [ $? -eq 3 ]
}

step crm-import customers "$ex/customers.csv" --default-country RU -q
step crm-import orders "$ex/orders.csv" -q
step crm-import consents "$ex/consents.csv" -q

# the codes the shop's checkout loads, made before anyone receives one
step crm-import coupons WB --generate 20 --pattern WB-XXXX-XXXX
step crm-import coupons WB --verify "$(crm-import coupons WB --generate 1 -q | tail -n 1)"

printf '\n$ crm-segment "days_since_last_order > 60 and orders >= 1" | crm-send --coupons ... --template winback-coupon.tmpl\n'
crm-segment --no-input 'days_since_last_order > 60 and orders >= 1' |
	crm-send --config "$conf" --campaign winback-codes --channel file --mbox \
		--output "$out/coupons.mbox" --template "$ex/winback-coupon.tmpl" --control 20% \
		--consent email -f table

# the week after: the shop's export, with the code each order carried
sqlite3 "$CRM_DB" "SELECT 'order_id,customer_id,ordered_at,amount,currency,promo_code';
	SELECT '#2' || m.id || ',' || c.external_id || ',2026-11-26 18:00:00,'
	       || (40 + m.id) || '.00,RUB,' || k.code
	FROM messages m JOIN coupons k ON k.message_id = m.id JOIN customers c ON c.id = m.customer_id
	WHERE m.id % 2 = 1" >"$out/coupons-orders.csv"
CRM_NOW='2026-11-30 09:00:00'
step crm-import orders "$out/coupons-orders.csv"
step crm-segment -c 'redeemed("winback-codes")'
step crm-report -f table campaign winback-codes
