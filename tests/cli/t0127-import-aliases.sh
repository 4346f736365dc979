#!/bin/sh
# Other ids of a customer (customer_aliases): exports that give every
# order its own customer id and the person another (Olist's customer_id
# and customer_unique_id) import without hand work: the customers file
# maps the person's id to id and the per-order id to alias, and orders
# that name the per-order id belong to the person. The real Olist data
# (../shared/data/olist) against an independent count.
. "$CRM_TOP/tests/lib.sh"

OLIST=$CRM_TOP/../shared/data/olist

cat >cust.csv <<'EOF'
customer_id,customer_unique_id,customer_city
c-1,P1,sao paulo
c-2,P1,sao paulo
c-3,P2,curitiba
EOF
cat >orders.csv <<'EOF'
order_id,customer_id,order_status,order_purchase_timestamp,amount
o1,c-1,delivered,2017-03-01 10:00:00,10.00
o2,c-2,delivered,2017-05-01 10:00:00,20.00
o3,c-3,canceled,2017-05-02 10:00:00,30.00
o4,c-9,delivered,2017-06-01 10:00:00,5.00
EOF

test_expect 'a per-order id mapped to alias makes one customer of its orders' '
	run 0 crm-import customers --map customer_unique_id=id --map customer_id=alias cust.csv &&
	expect_grep "3 read, 2 inserted, 1 updated" err &&
	sql "SELECT a.alias, c.external_id FROM customer_aliases a JOIN customers c ON c.id = a.customer_id ORDER BY 1" >got &&
	printf "c-1|P1\nc-2|P1\nc-3|P2\n" >want && expect_same want got &&
	run 0 crm-import orders --currency BRL orders.csv &&
	expect_grep "1 stubs created" err &&
	run 0 crm-segment --fields id,orders,revenue "orders >= 1 or is_stub" &&
	printf "id,orders,revenue\nP1,2,30\nc-9,1,5\n" >want && expect_same want out
'

test_expect 'a re-import changes nothing; an alias moved to another person follows' '
	run 0 crm-import customers --map customer_unique_id=id --map customer_id=alias cust.csv &&
	expect_grep "0 inserted, 0 updated, 3 unchanged" err &&
	printf "customer_id,customer_unique_id\nc-2,P2\n" >move.csv &&
	run 0 crm-import customers --map customer_unique_id=id --map customer_id=alias move.csv &&
	expect_grep "0 inserted, 1 updated" err &&
	expect_eq P2 "$(sql "SELECT c.external_id FROM customer_aliases a JOIN customers c ON c.id = a.customer_id WHERE alias = \"c-2\"")"
'

test_expect 'erasing a person removes their aliases' '
	printf "customer_id\nP2\n" >erase.csv &&
	run 0 crm-import erase erase.csv &&
	expect_eq 0 "$(sql "SELECT count(*) FROM customer_aliases a JOIN customers c ON c.id = a.customer_id WHERE c.erased_at IS NOT NULL")" &&
	expect_eq 1 "$(sql "SELECT count(*) FROM customer_aliases")"
'

test_done
