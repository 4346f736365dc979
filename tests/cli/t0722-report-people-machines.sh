#!/bin/sh
# crm-report campaign: opens and clicks of people and of machines
# (events.machine, as crm-track records them), rates, unsubscribes and the
# click map (--links), against a campaign sent by crm-send's file channel.
# The expected values are computed by Python from the list of hits below,
# not from the base.
. "$CRM_TOP/tests/lib.sh"

# Twelve customers, all sent "promo" at 2026-10-01 10:00:00. The hits
# (how: both = campaign and message_id set, as crm-track does; msg =
# message_id only; camp = campaign only):
#   P01 a person's open; clicks link 1 three times and link 2 once
#   P02 two machine opens (Apple MPP) only
#   P03 a machine's open and a person's; a link scanner on links 1 and 2,
#       then a person's click on link 2
#   P04 a machine's open; a link scanner on links 1 and 2; an order a day
#       after (post-view: a machine's click is no click)
#   P05 a person's open; a one-click unsubscribe
#   P06 an open and a click imported by crm-import events (machine NULL,
#       no link number)
#   P07 nothing
#   P08 a person's click on link 1 without an open (images off)
#   P09 a person's open of another campaign
#   P10 a person's open, campaign only
#   P11 a person's open, message_id only
#   P12 a machine's open, message_id only
# P01 also orders after its clicks (post-click).
cat >hits.csv <<'EOF'
n,cust,type,at,link,url,machine,how
1,P01,opened,2026-10-01 10:05:00,,,,both
2,P01,clicked,2026-10-01 10:06:00,1,https://shop.example/sale,,both
3,P01,clicked,2026-10-01 10:07:00,1,https://shop.example/sale,,both
4,P01,clicked,2026-10-02 09:00:00,1,https://shop.example/sale,,both
5,P01,clicked,2026-10-02 09:01:00,2,https://shop.example/new,,both
6,P02,opened,2026-10-01 10:00:03,,,ua:apple-mpp,both
7,P02,opened,2026-10-01 12:00:00,,,ua:apple-mpp,both
8,P03,opened,2026-10-01 10:00:02,,,ip:apple,both
9,P03,clicked,2026-10-01 10:00:04,1,https://shop.example/sale,every-link,both
10,P03,clicked,2026-10-01 10:00:04,2,https://shop.example/new,every-link,both
11,P03,opened,2026-10-01 18:00:00,,,,both
12,P03,clicked,2026-10-01 18:01:00,2,https://shop.example/new,,both
13,P04,opened,2026-10-01 10:00:02,,,ua:apple-mpp,both
14,P04,clicked,2026-10-01 10:00:03,1,https://shop.example/sale,fast,both
15,P04,clicked,2026-10-01 10:00:03,2,https://shop.example/new,ua:safelinks,both
16,P05,opened,2026-10-01 11:00:00,,,,both
17,P05,unsubscribed,2026-10-01 11:01:00,,,,both
18,P08,clicked,2026-10-03 08:00:00,1,https://shop.example/sale,,both
19,P10,opened,2026-10-02 08:00:00,,,,camp
20,P11,opened,2026-10-02 08:00:00,,,,msg
21,P12,opened,2026-10-01 10:00:01,,,ua:apple-mpp,msg
EOF

cat >ref.py <<'EOF'
import csv, json, sys
hits = list(csv.DictReader(open("hits.csv")))
# P06's imported events: a person's, no link
hits += [dict(cust="P06", type="opened", link="", url="", machine=""),
         dict(cust="P06", type="clicked", link="", url="", machine="")]
people = lambda t: {h["cust"] for h in hits if h["type"] == t and not h["machine"]}
machines = lambda t: {h["cust"] for h in hits if h["type"] == t and h["machine"]}
sent = 12
o, c = people("opened"), people("clicked")
out = {
    "sent": sent, "opened": len(o), "clicked": len(c),
    "opened_machine_only": len(machines("opened") - o),
    "clicked_machine_only": len(machines("clicked") - c),
    "unsubscribed": len({h["cust"] for h in hits if h["type"] == "unsubscribed"}),
    "open_rate": round(len(o) / sent, 6), "click_rate": round(len(c) / sent, 6),
    "click_to_open_rate": round(len(c) / len(o), 6),
}
for k, v in out.items():
    print(k, v)
# the click map: link, url, clicks, clickers, machine_clicks
links = sorted({h["link"] for h in hits if h["type"] == "clicked"}, key=lambda l: (l == "", l))
for l in links:
    hs = [h for h in hits if h["type"] == "clicked" and h["link"] == l]
    url = min((h["url"] for h in hs if h["url"]), default="")
    p = [h for h in hs if not h["machine"]]
    print("link", "%s,%s,%d,%d,%d" % (l, url, len(p), len({h["cust"] for h in p}),
                                      len(hs) - len(p)))
EOF

cat >hits.sql.py <<'EOF'
import csv, json
print("BEGIN;")
for h in csv.DictReader(open("hits.csv")):
    props = None
    if h["type"] == "clicked":
        props = json.dumps({"link": int(h["link"]), "url": h["url"]})
    elif h["type"] == "unsubscribed":
        props = json.dumps({"channel": "email", "source": "one-click"})
    q = lambda s: "NULL" if s in (None, "") else "'" + s.replace("'", "''") + "'"
    print("INSERT INTO events(external_id, customer_id, type, occurred_at, campaign,"
          " message_id, props, machine) SELECT 'trk-%s', m.customer_id, %s, %s, %s, %s, %s, %s"
          " FROM messages m JOIN customers c ON c.id = m.customer_id"
          " WHERE c.external_id = %s;" % (
              h["n"], q(h["type"]), q(h["at"]),
              "NULL" if h["how"] == "msg" else "'promo'",
              "NULL" if h["how"] == "camp" else "m.message_id",
              q(props), q(h["machine"]), q(h["cust"])))
print("COMMIT;")
EOF

test_expect 'setup: customers, a campaign sent by crm-send, hits as crm-track records them' '
	{
		echo "id,email"
		for i in 01 02 03 04 05 06 07 08 09 10 11 12; do echo "P$i,p$i@example.com"; done
	} >customers.csv &&
	crm-import -q customers customers.csv &&
	printf "Subject: Sale\n\nHello {{id}}: <https://shop.example/sale>, <https://shop.example/new>\n" >promo.tmpl &&
	cut -d, -f1 customers.csv |
		crm-send -q --now "2026-10-01 10:00:00" --campaign promo --channel file \
			--no-consent --template promo.tmpl -o sent.jsonl -f csv >send.csv &&
	expect_eq 12 "$(grep -c ",sent," send.csv)" &&
	expect_eq 12 "$(sql "SELECT count(DISTINCT message_id) FROM messages WHERE status = '\''sent'\''")" &&
	printf "customer_id,type,occurred_at,campaign\nP06,opened,2026-10-01 12:00:00,promo\nP06,clicked,2026-10-01 12:01:00,promo\nP09,opened,2026-10-01 12:00:00,other\n" >old.csv &&
	crm-import -q events old.csv &&
	printf "order_id,customer_id,ordered_at,amount,currency\nO1,P01,2026-10-03 10:00:00,30.00,RUB\nO4,P04,2026-10-02 10:00:00,40.00,RUB\n" >orders.csv &&
	crm-import -q orders orders.csv &&
	"$PY" hits.sql.py | sqlite3 -batch -bail "$CRM_DB" &&
	expect_eq 21 "$(sql "SELECT count(*) FROM events WHERE external_id LIKE '\''trk-%'\''")" &&
	expect_eq 9 "$(sql "SELECT count(*) FROM events WHERE machine IS NOT NULL")" &&
	"$PY" ref.py >ref.txt &&
	expect_eq 6 "$(awk "\$1 == \"opened\" { print \$2 }" ref.txt)"
'

ref() { awk -v k="$1" '$1 == k { print $2 }' ref.txt; }

test_expect 'people and machines: opened, clicked, machine-only, unsubscribed, as Python counts' '
	run 0 crm-report -f csv --now "2026-10-10 00:00:00" campaign promo &&
	for k in sent opened clicked opened_machine_only clicked_machine_only unsubscribed; do
		expect_eq "$(ref $k)" "$(col treatment $k)" || { echo "column $k"; exit 1; }
	done &&
	# and by hand: P01 P03 P05 P06 P10 P11 opened; P02 P04 P12 machines only
	expect_eq 6 "$(col treatment opened)" &&
	expect_eq 3 "$(col treatment opened_machine_only)" &&
	expect_eq 4 "$(col treatment clicked)" &&
	expect_eq 1 "$(col treatment clicked_machine_only)" &&
	expect_eq 1 "$(col treatment unsubscribed)"
'

test_expect 'rates over sent (no delivered events): open rate, CTR, click-to-open' '
	run 0 crm-report -f csv --now "2026-10-10 00:00:00" campaign promo &&
	for k in open_rate click_rate click_to_open_rate; do
		near "$(col treatment $k)" "$(ref $k)" 0.0000005 $k || exit 1
	done &&
	expect_eq 0.5 "$(col treatment open_rate)" &&
	near "$(col treatment click_to_open_rate)" 0.666667 0.0000005 &&
	expect_eq "" "$(col control open_rate)"
'

test_expect 'a machine'\''s click is no click: P04 converts post-view, P01 post-click' '
	run 0 crm-report -f csv --now "2026-10-10 00:00:00" campaign promo &&
	expect_eq 2 "$(col treatment converted)" &&
	expect_eq 1 "$(col treatment post_click)" &&
	expect_eq 1 "$(col treatment post_view)" &&
	run 0 crm-report -f csv --now "2026-10-10 00:00:00" --attribution click campaign promo &&
	expect_eq 1 "$(col treatment converted)"
'

test_expect 'the click map: a row per link, a person'\''s clicks and clickers, machines apart' '
	run 0 crm-report -f csv --now "2026-10-10 00:00:00" campaign promo --links &&
	expect_eq "group,campaign,link,url,clicks,clickers,machine_clicks" "$(head -1 out)" &&
	sed 1d out | cut -d, -f3- >got.txt &&
	awk "\$1 == \"link\" { print \$2 }" ref.txt >want.txt &&
	expect_same want.txt got.txt &&
	expect_eq "treatment,promo,1,https://shop.example/sale,4,2,2" "$(sed -n 2p out)" &&
	expect_eq "treatment,promo,2,https://shop.example/new,2,2,2" "$(sed -n 3p out)" &&
	expect_eq "treatment,promo,,,1,1,0" "$(sed -n 4p out)"
'

test_expect 'the click map as JSON lines and restricted by --where' '
	run 0 crm-report -f jsonl --now "2026-10-10 00:00:00" campaign promo --links &&
	expect_eq "{\"group\":\"treatment\",\"campaign\":\"promo\",\"link\":1,\"url\":\"https://shop.example/sale\",\"clicks\":4,\"clickers\":2,\"machine_clicks\":2}" "$(sed -n 1p out)" &&
	expect_eq "{\"group\":\"treatment\",\"campaign\":\"promo\",\"link\":null,\"url\":null,\"clicks\":1,\"clickers\":1,\"machine_clicks\":0}" "$(sed -n 3p out)" &&
	run 0 crm-report -f csv --now "2026-10-10 00:00:00" --where "id = \"P01\"" campaign promo --links &&
	expect_eq "treatment,promo,1,https://shop.example/sale,3,1,0
treatment,promo,2,https://shop.example/new,1,1,0" "$(sed 1d out)"
'

test_expect 'hits after --now are not seen' '
	run 0 crm-report -f csv --now "2026-10-01 12:00:00" campaign promo &&
	# by noon: P01 P05 and P06 (at noon itself) opened; P03 at 18:00, P10 P11
	# the next day
	expect_eq 3 "$(col treatment opened)" &&
	# P02 P03 P04 P12 machines only (P03 a person at 18:00)
	expect_eq 4 "$(col treatment opened_machine_only)" &&
	run 0 crm-report -f csv --now "2026-10-01 12:00:00" campaign promo --links &&
	expect_eq "treatment,promo,1,https://shop.example/sale,2,1,2" "$(sed -n 2p out)"
'

test_expect 'delivered events: the rates are over delivered' '
	sql "INSERT INTO events(external_id, customer_id, type, occurred_at, campaign, message_id)
	     SELECT '\''dlv-'\'' || m.id, m.customer_id, '\''delivered'\'', '\''2026-10-01 10:00:30'\'',
	            '\''promo'\'', m.message_id FROM messages m WHERE m.customer_id <= 8" &&
	run 0 crm-report -f csv --now "2026-10-10 00:00:00" campaign promo &&
	expect_eq 8 "$(col treatment delivered)" &&
	# 6 of 8 opened, 4 of 8 clicked
	expect_eq 0.75 "$(col treatment open_rate)" &&
	expect_eq 0.5 "$(col treatment click_rate)" &&
	sql "DELETE FROM events WHERE external_id LIKE '\''dlv-%'\''"
'

test_expect 'crm-segment agrees: opened() a person'\''s, opened_any() machines too' '
	# P11 and P12 hit by message_id only, which opened() (by campaign) does not see
	run 0 crm-segment --no-input --fields id "opened(\"promo\")" &&
	expect_eq "P01 P03 P05 P06 P10" "$(sed 1d out | tr "\n" " " | sed "s/ $//")" &&
	run 0 crm-segment --no-input --fields id "opened_any(\"promo\") and not opened(\"promo\")" &&
	expect_eq "P02 P04" "$(sed 1d out | tr "\n" " " | sed "s/ $//")" &&
	run 0 crm-segment --no-input --fields id "clicked_any(\"promo\") and not clicked(\"promo\")" &&
	expect_eq "P04" "$(sed 1d out | tr "\n" " " | sed "s/ $//")" &&
	run 0 crm-segment --no-input -c "event(\"clicked\") >= 3" &&
	expect_eq 1 "$(cat out)" &&
	run 0 crm-segment --no-input -c "event_any(\"clicked\") >= 3" &&
	expect_eq 2 "$(cat out)"
'

test_expect 'the --html page has the click map' '
	run 0 crm-report --now "2026-10-10 00:00:00" --html page.html campaign promo &&
	expect_grep "<h2>Click map</h2>" page.html &&
	expect_grep "https://shop.example/new" page.html &&
	expect_grep "opened_machine_only" page.html
'

test_expect '--links goes with campaign NAME only' '
	run 2 crm-report --links summary &&
	expect_grep "links goes with campaign NAME" err &&
	run 2 crm-report --links --bootstrap 100 campaign promo &&
	run 1 crm-report --links campaign nosuch &&
	expect_grep "no campaign \"nosuch\"" err
'

test_done
