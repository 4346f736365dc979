#!/bin/sh
# crm-report deliverability: sent, delivered, bounces by kind (hard, soft,
# policy; from events and from send-time refusals), complaints and
# unsubscribes per campaign, receiving domain and ISO week, and the
# warnings at Google's and Yahoo's bulk-sender limits (complaints 0.1% and
# 0.3% of the delivered, bounces 2% of the sent), each just under and at
# the limit. Campaigns written into the outbox as crm-send records them,
# and one really sent by crm-send to an SMTP server (aiosmtpd).
. "$CRM_TOP/tests/lib.sh"

# Customers U0001..U1010, u<i>@ a domain by i % 10: 0-4 gmail.com, 5-7
# yahoo.com (written Yahoo.COM in the outbox when i % 10 = 5), 8
# mail.example, 9 r<i % 3>.example.
#
# Campaigns (e-mail, a row per customer U0001..Un, sent at their date):
#   c-under  n 1001: 1 complaint (0.0999%: ok); a second one after --now,
#            and one naming c-warn, do not count
#   c-warn   n 1000: 1 complaint by campaign and customer only (0.1%: warn)
#   c-warn2  n 1001: 3 complaints, one of them twice (0.2997%: warn)
#   c-bad    n 1010: 10 hard bounces, 3 complaints: 3 of 1000 delivered
#            (0.3%: bad; over sent it would be 0.297%)
#   b-under  n 1001: 20 hard bounces (1.998%: ok); U1002 U1003 in_doubt
#            (one with a complaint), U1004 failed, U1005 suppressed,
#            U1006 control: in no count but in_doubt
#   b-over   n 1000: U0001..U0600 on Sunday 2026-09-27 (2026-W39), the
#            others on Monday 2026-09-28 (2026-W40); 20 bounces (2%: warn):
#              hard   U0010 U0011 U0015 U0016 U0018 (kind hard), U0020
#                     U0029 (no kind), U0030 (refused at RCPT, 550 5.1.1,
#                     no event), U0085 (a soft and a hard event)
#              soft   U0040 U0046 U0047 U0049 (kind soft), U0050
#                     (refused, 552 5.2.2)
#              policy U0060 U0061 U0065 U0068 (kind policy), U0070
#                     (refused, 550 5.7.1, and its smtp event), U0090
#                     (policy and soft)
#            not bounces: U0100 (kind unknown), U0101 (deferred), U0102
#            (a soft bounce after --now); a complaint of U0601, unsubscribes
#            of U0001 (message) U0605 U0609 (campaign), receipts of
#            U0001-U0005
#   newyear  n 3, sent on Monday 2025-12-29: ISO week 2026-W01
#   sms-1    an SMS campaign: not e-mail, in no line
cat >gen.py <<'EOF'
import datetime, json, sys
def dom(i):
    d = i % 10
    return "gmail.com" if d < 5 else "yahoo.com" if d < 8 else "mail.example" if d == 8 \
        else "r%d.example" % (i % 3)
def addr(i):
    return "u%d@%s" % (i, "Yahoo.COM" if i % 10 == 5 else dom(i))
with open("customers.csv", "w") as f:
    f.write("id,email\n")
    for i in range(1, 1011):
        f.write("U%04d,u%d@%s\n" % (i, i, dom(i)))
camps = [  # id, name, channel, created/sent, n
    (1, "c-under", "email", "2026-10-01 10:00:00", 1001),
    (2, "c-warn", "email", "2026-10-02 10:00:00", 1000),
    (3, "c-warn2", "email", "2026-10-03 10:00:00", 1001),
    (4, "c-bad", "email", "2026-10-04 10:00:00", 1010),
    (5, "b-under", "email", "2026-10-05 10:00:00", 1001),
    (6, "b-over", "email", "2026-09-27 12:00:00", 1000),
    (7, "newyear", "email", "2025-12-29 09:00:00", 3),
    (8, "sms-1", "sms", "2026-10-06 10:00:00", 5),
]
refused = {(6, 30): "550 5.1.1 <u30@gmail.com>: Recipient address rejected: user unknown (after RCPT)",
           (6, 50): "552 5.2.2 <u50@yahoo.com>: mailbox full (after RCPT)",
           (6, 70): "550 5.7.1 <u70@gmail.com>: blocked by policy (after RCPT)"}
mid = lambda c, i: "<c%d-%d@t.example>" % (c, i)
sql = ["BEGIN;"]
for c, name, ch, t, n in camps:
    sql.append("INSERT INTO campaigns(id, name, channel, created_at) VALUES (%d, '%s', '%s', '%s');"
               % (c, name, ch, t))
    rows = [(i, "sent") for i in range(1, n + 1)]
    if name == "b-under":
        rows += [(1002, "in_doubt"), (1003, "in_doubt"), (1004, "failed"), (1005, "suppressed"),
                 (1006, "control")]
    for i, st in rows:
        if (c, i) in refused:
            st = "bounced"
        at = t if name != "b-over" or i <= 600 else "2026-09-28 08:00:00"
        sql.append("INSERT INTO messages(campaign_id, customer_id, channel, grp, status, reason,"
                   " address, message_id, planned_at, sent_at, updated_at) SELECT %d, id, '%s',"
                   " '%s', '%s', %s, '%s', '%s', '%s', %s, '%s' FROM customers"
                   " WHERE external_id = 'U%04d';" % (
                       c, ch, "control" if st == "control" else "treatment", st,
                       "'" + refused[(c, i)] + "'" if (c, i) in refused else "NULL",
                       addr(i) if ch == "email" else "+1555000%04d" % i, mid(c, i), at,
                       "NULL" if st == "suppressed" else "'" + at + "'", at, i))
sql.append("COMMIT;")
open("messages.sql", "w").write("\n".join(sql) + "\n")
ev = []
def e(i, typ, c=None, by="msg", at="2026-10-10 10:00:00", **props):
    d = {"customer_id": "U%04d" % i, "type": typ, "occurred_at": at}
    name = [x[1] for x in camps if x[0] == c][0]
    if by in ("msg", "both"):
        d["message_id"] = mid(c, i)
    if by in ("camp", "both"):
        d["campaign"] = name
    if props:
        d["props"] = props
    ev.append(d)
# c-under
e(1, "complained", 1)
e(2, "complained", 1, at="2026-12-01 10:00:00")
e(3, "complained", 2, by="camp")
# c-warn2
for i in (1, 2, 3):
    e(i, "complained", 3, by="both")
e(1, "complained", 3, at="2026-10-11 10:00:00")
# c-bad
for i in range(1001, 1011):
    e(i, "bounced", 4, kind="hard", status="5.1.1", source="dsn")
for i in (1, 2, 3):
    e(i, "complained", 4)
# b-under
for i in range(11, 31):
    e(i, "bounced", 5, by="both", kind="hard", status="5.1.1")
e(1002, "complained", 5)
# b-over
for i in (10, 11, 15, 16, 18):
    e(i, "bounced", 6, kind="hard", status="5.1.1", diagnostic="550 5.1.1 user unknown", source="dsn")
for i in (20, 29):
    e(i, "bounced", 6, by="both")
for i in (40, 46, 47, 49):
    e(i, "bounced", 6, kind="soft", status="4.2.2", source="dsn")
for i in (60, 61, 65, 68):
    e(i, "bounced", 6, kind="policy", status="5.7.1", source="dsn")
e(70, "bounced", 6, kind="policy", status="5.7.1", source="smtp")
e(85, "bounced", 6, kind="soft", status="4.4.1")
e(85, "bounced", 6, kind="hard", status="5.1.1", at="2026-10-12 10:00:00")
e(90, "bounced", 6, kind="policy", status="5.7.26")
e(90, "bounced", 6, kind="soft", status="4.7.0", at="2026-10-12 10:00:00")
e(100, "bounced", 6, kind="unknown")
e(101, "deferred", 6)
e(102, "bounced", 6, kind="soft", at="2026-12-01 10:00:00")
e(601, "complained", 6, by="both", source="arf")
e(1, "unsubscribed", 6, channel="email")
for i in (605, 609):
    e(i, "unsubscribed", 6, by="camp", channel="email")
for i in range(1, 6):
    e(i, "delivered", 6, by="both")
with open("events.jsonl", "w") as f:
    for d in ev:
        f.write(json.dumps(d) + "\n")
# the reference of b-over by domain and by week: what each message is
bounce = {}
for i in (10, 11, 15, 16, 18, 20, 29, 30, 85):
    bounce[i] = "hard"
for i in (40, 46, 47, 49, 50):
    bounce[i] = "soft"
for i in (60, 61, 65, 68, 70, 90):
    bounce[i] = "policy"
def week(i):
    y, w, _ = datetime.date(2026, 9, 27 if i <= 600 else 28).isocalendar()
    return "%d-W%02d" % (y, w)
for key, name in ((dom, "domain"), (week, "week")):
    groups = {}
    for i in range(1, 1001):
        g = groups.setdefault(key(i), dict(sent=0, hard=0, soft=0, policy=0, compl=0, unsub=0))
        g["sent"] += 1
        if i in bounce:
            g[bounce[i]] += 1
        g["compl"] += i == 601
        g["unsub"] += i in (1, 605, 609)
    order = sorted(groups, key=lambda k: (-groups[k]["sent"], k)) if name == "domain" else sorted(groups)
    with open("ref-%s.csv" % name, "w") as f:
        for k in order:
            g = groups[k]
            b = g["hard"] + g["soft"] + g["policy"]
            f.write("%s,%d,%d,%d,%d,%d,%d,%d,%d\n" % (k, g["sent"], g["sent"] - b, b, g["hard"],
                                                     g["soft"], g["policy"], g["compl"], g["unsub"]))
EOF

# the columns compared with the reference: key, sent .. unsubscribed but
# receipts and in_doubt
pick() {
	awk -F, 'NR > 1 && $1 != "(all)" { print $1 "," $2 "," $3 "," $5 "," $6 "," $7 "," $8 "," $9 "," $10 }' out
}

test_expect 'setup: customers, eight campaigns in the outbox, the events that came back' '
	"$PY" gen.py &&
	crm-import -q customers customers.csv &&
	sqlite3 -batch -bail "$CRM_DB" <messages.sql &&
	expect_eq 6026 "$(sql "SELECT count(*) FROM messages")" &&
	crm-import -q events events.jsonl &&
	expect_eq 73 "$(sql "SELECT count(*) FROM events")"
'

test_expect 'by campaign: sent, delivered and bounces per campaign, oldest first' '
	run 0 crm-report -f csv deliverability &&
	expect_eq "campaign,sent,delivered,receipts,bounced,hard_bounced,soft_bounced,policy_blocked,complained,unsubscribed,in_doubt,bounce_rate,hard_bounce_rate,soft_bounce_rate,policy_block_rate,complaint_rate,unsubscribe_rate,level,warnings" "$(head -1 out)" &&
	expect_eq "newyear b-over c-under c-warn c-warn2 c-bad b-under (all)" "$(sed 1d out | cut -d, -f1 | tr "\n" " " | sed "s/ $//")" &&
	expect_eq "b-over,1000,980,5,20,9,5,6,1,3,0,0.02,0.009,0.005,0.006,0.00102,0.003061,warn,complaint_rate 0.102% >= 0.1%; bounce_rate 2% >= 2%" "$(grep "^b-over," out)" &&
	expect_eq "newyear,3,3,0,0,0,0,0,0,0,0,0,0,0,0,0,0,ok," "$(grep "^newyear," out)" &&
	expect_no_grep sms-1 out
'

test_expect 'spam complaints: 0.0999% ok, 0.1% warn, 0.2997% warn, 0.3% of delivered bad' '
	run 0 crm-report -f csv deliverability &&
	expect_eq "1001 1001 0 1 0.000999 ok" "$(for k in sent delivered bounced complained complaint_rate level; do col c-under $k; done | tr "\n" " " | sed "s/ $//")" &&
	expect_eq "1000 1 0.001 warn" "$(for k in delivered complained complaint_rate level; do col c-warn $k; done | tr "\n" " " | sed "s/ $//")" &&
	expect_eq "complaint_rate 0.1% >= 0.1%" "$(col c-warn warnings)" &&
	expect_eq "1001 3 0.002997 warn" "$(for k in delivered complained complaint_rate level; do col c-warn2 $k; done | tr "\n" " " | sed "s/ $//")" &&
	expect_eq "1010 1000 10 10 3 0.003 bad" "$(for k in sent delivered bounced hard_bounced complained complaint_rate level; do col c-bad $k; done | tr "\n" " " | sed "s/ $//")" &&
	expect_eq "complaint_rate 0.3% >= 0.3%" "$(col c-bad warnings)"
'

test_expect 'bounces: 1.998% ok, 2% warn; in_doubt apart, failed, suppressed and control in nothing' '
	run 0 crm-report -f csv deliverability &&
	expect_eq "1001 981 20 20 0.01998 ok 2 0" "$(for k in sent delivered bounced hard_bounced bounce_rate level in_doubt complained; do col b-under $k; done | tr "\n" " " | sed "s/ $//")" &&
	expect_eq "0.02 warn" "$(col b-over bounce_rate) $(col b-over level)"
'

test_expect 'the (all) line adds up every campaign' '
	run 0 crm-report -f csv deliverability &&
	expect_eq "6016 5966 50 2 9" "$(for k in sent delivered bounced in_doubt complained; do col "(all)" $k; done | tr "\n" " " | sed "s/ $//")"
'

test_expect 'a warning on stderr names the lines over a limit; the exit status stays 0' '
	run 0 crm-report -f csv deliverability &&
	expect_grep "crm-report: warning: deliverability: 4 of 7 campaigns at or over the bulk-sender limits of Gmail and Yahoo" err &&
	expect_grep "1 bad" err &&
	expect_grep "\"b-over\" (complaint_rate 0.102% >= 0.1%; bounce_rate 2% >= 2%)" err &&
	expect_grep "\"c-warn2\" (complaint_rate 0.2997% >= 0.1%)" err &&
	expect_grep "\"c-bad\" (complaint_rate 0.3% >= 0.3%)" err &&
	expect_no_grep "c-under" err &&
	expect_no_grep "b-under" err &&
	run 0 crm-report -q -f csv deliverability &&
	expect_eq "" "$(cat err)"
'

test_expect 'by domain: lower-cased after the last @, the largest first, as Python counts' '
	run 0 crm-report -f csv deliverability --by domain --campaign b-over &&
	expect_eq "gmail.com yahoo.com mail.example r0.example r1.example r2.example (all)" "$(sed 1d out | cut -d, -f1 | tr "\n" " " | sed "s/ $//")" &&
	pick >got.csv &&
	expect_same ref-domain.csv got.csv &&
	expect_eq "gmail.com,500,490,10,4,2,4,1,1" "$(sed -n 1p got.csv)" &&
	expect_eq "yahoo.com,300,294,6,3,2,1,0,1" "$(sed -n 2p got.csv)" &&
	expect_eq "r0.example,34 r1.example,33 r2.example,33" "$(sed -n 4,6p got.csv | cut -d, -f1-2 | tr "\n" " " | sed "s/ $//")"
'

test_expect 'by ISO week: Sunday and Monday are two weeks; 2025-12-29 is 2026-W01' '
	run 0 crm-report -f csv deliverability --by week --campaign b-over &&
	pick >got.csv &&
	expect_same ref-week.csv got.csv &&
	expect_eq "2026-W39,600,580,20,9,5,6,0,1" "$(sed -n 1p got.csv)" &&
	run 0 crm-report -f csv deliverability --by week --campaign newyear &&
	expect_eq "2026-W01" "$(sed -n 2p out | cut -d, -f1)" &&
	run 0 crm-report -f csv deliverability --by week &&
	expect_eq "2026-W01 2026-W39 2026-W40 2026-W41 (all)" "$(sed 1d out | cut -d, -f1 | tr "\n" " " | sed "s/ $//")" &&
	expect_eq "4412" "$(col 2026-W40 sent)"
'

test_expect 'by campaign and domain; --top 2 folds the smaller domains into (other)' '
	run 0 crm-report -f csv deliverability --by campaign,domain --campaign b-over &&
	expect_eq "campaign,domain,sent" "$(head -1 out | cut -d, -f1-3)" &&
	expect_eq "b-over,gmail.com,500" "$(sed -n 2p out | cut -d, -f1-3)" &&
	expect_eq 7 "$(sed 1d out | wc -l)" &&
	expect_eq "(all),,1000" "$(tail -1 out | cut -d, -f1-3)" &&
	run 0 crm-report -f csv deliverability --by domain --top 2 --campaign b-over &&
	expect_eq "gmail.com yahoo.com (other) (all)" "$(sed 1d out | cut -d, -f1 | tr "\n" " " | sed "s/ $//")" &&
	expect_eq "200 196 4" "$(for k in sent delivered bounced; do col "(other)" $k; done | tr "\n" " " | sed "s/ $//")"
'

test_expect '--since and --until keep the messages sent in [since, until)' '
	run 0 crm-report -f csv deliverability --by week --since 2026-09-28 --until "2026-09-28 08:00:01" &&
	expect_eq "2026-W40,400,400" "$(sed -n 2p out | cut -d, -f1-3)" &&
	run 0 crm-report -f csv deliverability --since 2026-09-28 --until "2026-09-28 08:00:00" &&
	expect_eq 1 "$(wc -l <out)"
'

test_expect 'events and messages after --now are not seen' '
	run 0 crm-report -f csv --now "2026-10-01 12:00:00" deliverability &&
	expect_eq "newyear b-over c-under (all)" "$(sed 1d out | cut -d, -f1 | tr "\n" " " | sed "s/ $//")" &&
	# only the refusals at RCPT (U0030 U0050 U0070): no event is that old
	expect_eq "3 0" "$(col b-over bounced) $(col c-under complained)" &&
	run 0 crm-report -f csv --now "2026-12-02 00:00:00" deliverability &&
	# U0102 soft and the second complaint of c-under, both of 2026-12-01
	expect_eq "21 2 warn" "$(col b-over bounced) $(col c-under complained) $(col c-under level)"
'

test_expect '--where and --segment restrict the recipients' '
	run 0 crm-report -f csv --where "email ~ \"@gmail\\.com\$\"" deliverability --campaign b-over &&
	expect_eq "b-over,500,490,4,10" "$(sed -n 2p out | cut -d, -f1-5)"
'

test_expect 'JSON lines: numbers as numbers, an empty rate as null' '
	run 0 crm-report -f jsonl deliverability --campaign c-bad &&
	expect_eq "{\"campaign\":\"c-bad\",\"sent\":1010,\"delivered\":1000,\"receipts\":0,\"bounced\":10,\"hard_bounced\":10,\"soft_bounced\":0,\"policy_blocked\":0,\"complained\":3,\"unsubscribed\":0,\"in_doubt\":0,\"bounce_rate\":0.009901,\"hard_bounce_rate\":0.009901,\"soft_bounce_rate\":0,\"policy_block_rate\":0,\"complaint_rate\":0.003,\"unsubscribe_rate\":0,\"level\":\"bad\",\"warnings\":\"complaint_rate 0.3% >= 0.3%\"}" "$(sed -n 1p out)" &&
	expect_eq 2 "$(wc -l <out)" &&
	sql "INSERT INTO campaigns(id, name, channel, created_at) VALUES (9, '\''empty'\'', '\''email'\'', '\''2026-10-07 00:00:00'\'');
	     INSERT INTO messages(campaign_id, customer_id, channel, grp, status, reason, address, message_id, planned_at, sent_at, updated_at)
	       VALUES (9, 1, '\''email'\'', '\''treatment'\'', '\''bounced'\'', '\''550 no such user (after RCPT)'\'', '\''u1@gmail.com'\'', '\''<e1@t>'\'', '\''2026-10-07 00:00:00'\'', '\''2026-10-07 00:00:00'\'', '\''2026-10-07 00:00:00'\'')" &&
	run 0 crm-report -f jsonl deliverability --campaign empty &&
	expect_grep "\"sent\":1,\"delivered\":0,\"receipts\":0,\"bounced\":1,\"hard_bounced\":1," out &&
	expect_grep "\"complaint_rate\":null,\"unsubscribe_rate\":null,\"level\":\"warn\",\"warnings\":\"bounce_rate 100% >= 2%\"" out &&
	sql "DELETE FROM messages WHERE campaign_id = 9; DELETE FROM campaigns WHERE id = 9"
'

test_expect 'the table format turns the lines into columns; -o writes CSV' '
	run 0 crm-report -f table deliverability --campaign c-warn &&
	expect_grep "complaint_rate" out &&
	expect_eq "metric" "$(head -1 out | cut -d" " -f1)" &&
	run 0 crm-report deliverability --campaign c-warn -o d.csv &&
	expect_mode 600 d.csv &&
	expect_eq "c-warn,1000,1000" "$(sed -n 2p d.csv | cut -d, -f1-3)"
'

test_expect 'many domains (the index grows): 300 lines, each once; --top 5 and (other)' '
	sql "INSERT INTO campaigns(id, name, channel, created_at) VALUES (10, '\''many'\'', '\''email'\'', '\''2026-10-08 00:00:00'\'');
	     INSERT INTO messages(campaign_id, customer_id, channel, grp, status, address, message_id, planned_at, sent_at, updated_at)
	       SELECT 10, id, '\''email'\'', '\''treatment'\'', '\''sent'\'', '\''x@d'\'' || (id % 300) || '\''.example'\'',
	              '\''<many-'\'' || id || '\''@t>'\'', '\''2026-10-08 00:00:00'\'', '\''2026-10-08 00:00:00'\'', '\''2026-10-08 00:00:00'\''
	       FROM customers WHERE id <= 1000" &&
	run 0 crm-report -f csv deliverability --by domain --campaign many &&
	expect_eq 301 "$(sed 1d out | wc -l)" &&
	expect_eq 300 "$(sed 1d out | cut -d, -f1 | sort -u | grep -c "^d")" &&
	# ids 1..1000 mod 300: 1..100 four times, the others three
	expect_eq "d1.example,4 d10.example,4 d100.example,4 d11.example,4" "$(sed -n 2,5p out | cut -d, -f1-2 | tr "\n" " " | sed "s/ $//")" &&
	expect_eq "(all),1000" "$(tail -1 out | cut -d, -f1-2)" &&
	run 0 crm-report -f csv deliverability --by campaign,domain --campaign many --top 5 &&
	expect_eq "many,(other),980" "$(sed -n 7p out | cut -d, -f1-3)" &&
	expect_eq 8 "$(wc -l <out)" &&
	sql "DELETE FROM messages WHERE campaign_id = 10; DELETE FROM campaigns WHERE id = 10"
'

cat >page.py <<'EOF'
import sys
from html.parser import HTMLParser
class P(HTMLParser):
    def __init__(self):
        super().__init__()
        self.h2, self.tables, self.cur, self.cell, self.intd = None, [], None, "", False
    def handle_starttag(self, tag, a):
        if tag == "table":
            self.cur = {"after": self.h2, "rows": []}
        elif tag == "tr" and self.cur is not None:
            self.cur["rows"].append([])
        elif tag in ("td", "th"):
            self.intd, self.cell = True, ""
            self.title = dict(a).get("title")
    def handle_endtag(self, tag):
        if tag == "table":
            self.tables.append(self.cur)
            self.cur = None
        elif tag in ("td", "th") and self.cur is not None:
            # a heading's title is the report's column name
            self.cur["rows"][-1].append(self.title if tag == "th" and self.title else self.cell)
            self.intd = False
        elif tag == "h2":
            self.h2 = self.cell
    def handle_starttag_h2(self):
        pass
    def handle_data(self, d):
        self.cell += d
p = P()
class H(P):
    def handle_starttag(self, tag, a):
        if tag == "h2":
            self.cell = ""
        P.handle_starttag(self, tag, a)
p = H()
p.feed(open(sys.argv[1]).read())
t = [t for t in p.tables if t["after"] == "Deliverability"]
assert len(t) == 1, [x["after"] for x in p.tables]
rows = t[0]["rows"]
head = rows[0]
for r in rows[1:]:
    d = dict(zip(head, r))
    print("|".join(d[k] for k in sys.argv[2].split(",")))
EOF

test_expect 'the --html page has the deliverability table, parsed back' '
	run 0 crm-report --html page.html &&
	expect_grep "<h2>Deliverability</h2>" page.html &&
	expect_grep "4 lines at or over a limit" page.html &&
	expect_grep "bounce_rate 2% &gt;= 2%" page.html &&
	"$PY" page.py page.html campaign,sent,delivered,complaint_rate,level >got.txt &&
	expect_eq "c-bad|1,010|1,000|0.300%|bad" "$(grep "^c-bad|" got.txt)" &&
	expect_eq "c-under|1,001|1,001|0.0999%|ok" "$(grep "^c-under|" got.txt)" &&
	expect_eq 8 "$(wc -l <got.txt)" &&
	expect_grep "deliverability: 4 of 7 campaigns" err
'

test_expect 'the page of one campaign: its domains, the ten largest' '
	run 0 crm-report --html one.html campaign b-over &&
	"$PY" page.py one.html domain,sent,bounced,level >got.txt &&
	expect_eq "gmail.com|500|10|warn" "$(sed -n 1p got.txt)" &&
	expect_eq "(all)|1,000|20|warn" "$(tail -1 got.txt)" &&
	expect_eq 7 "$(wc -l <got.txt)"
'

# A campaign really sent over SMTP: bounce@ is refused at RCPT (550
# 5.1.1), drop@ is stored but the reply to "." never comes (in_doubt).
start_smtpd || exit 1
cat >crm.conf <<EOF_
[smtp]
url = smtp://127.0.0.1:$SMTP_PORT
[email]
from = Shop <shop@example.com>
[unsubscribe]
url = https://shop.example/unsubscribe
EOF_
chmod 600 crm.conf

test_expect 'crm-send over SMTP: a refusal at RCPT is a hard bounce, in_doubt apart' '
	printf "id,email\nL1,ann@live.example\nL2,bounce@live.example\nL3,drop@other.example\nL4,bob@live.example\n" >live.csv &&
	crm-import -q customers live.csv &&
	printf "Subject: Live\n\nHello {{id}}\nUnsubscribe: {{unsubscribe_url}}\n" >live.tmpl &&
	printf "L1\nL2\nL3\nL4\n" |
		crm-send -q --config crm.conf --now "2026-10-20 10:00:00" --campaign live --channel email \
			--no-consent --template live.tmpl -f csv >send.csv || true &&
	expect_eq "bounced|1 in_doubt|1 sent|2" "$(sql "SELECT status, count(*) FROM messages m JOIN campaigns c ON c.id = m.campaign_id WHERE c.name = '\''live'\'' GROUP BY status ORDER BY status" | tr "\n" " " | sed "s/ $//")" &&
	m=$(sql "SELECT message_id FROM messages m JOIN customers c ON c.id = m.customer_id WHERE c.external_id = '\''L1'\''") &&
	printf "{\"customer_id\":\"L1\",\"type\":\"complained\",\"occurred_at\":\"2026-10-21 10:00:00\",\"message_id\":\"%s\",\"props\":{\"source\":\"arf\"}}\n" "$m" >live.jsonl &&
	printf "{\"customer_id\":\"L4\",\"type\":\"unsubscribed\",\"occurred_at\":\"2026-10-21 10:00:00\",\"campaign\":\"live\",\"props\":{\"channel\":\"email\"}}\n" >>live.jsonl &&
	crm-import -q events live.jsonl &&
	run 0 crm-report -f csv deliverability --campaign live &&
	expect_eq "live,3,2,0,1,1,0,0,1,1,1,0.333333,0.333333,0,0,0.5,0.5,bad" "$(sed -n 2p out | cut -d, -f1-18)" &&
	run 0 crm-report -f csv deliverability --campaign live --by domain &&
	expect_eq "live.example,3,2,0,1,1" "$(sed -n 2p out | cut -d, -f1-6)" &&
	expect_eq "other.example,0,0,0,0,0" "$(sed -n 3p out | cut -d, -f1-6)" &&
	expect_eq 1 "$(col other.example in_doubt)"
'

test_expect 'usage errors: --by, --top, --until, --campaign; an unknown campaign' '
	run 2 crm-report deliverability --by month &&
	expect_grep "invalid --by \"month\" for deliverability (campaign, domain, week" err &&
	run 2 crm-report deliverability --by domain,domain &&
	run 2 crm-report deliverability --by domain, &&
	run 2 crm-report deliverability --top 3 &&
	expect_grep "--top goes with --by domain" err &&
	run 2 crm-report deliverability --by domain --top 0 &&
	expect_grep "--top needs a number of domains >= 1" err &&
	run 2 crm-report summary --until 2026-10-01 &&
	expect_grep "--until, --campaign and --top go with deliverability" err &&
	run 2 crm-report campaigns --campaign c-bad &&
	run 2 crm-report deliverability --until yesterday-ish &&
	expect_grep "invalid --until \"yesterday-ish\"" err &&
	run 2 crm-report deliverability --since 2026-10-02 --until 2026-10-01 &&
	expect_grep "is not before --until" err &&
	run 2 crm-report deliverability extra &&
	expect_grep "deliverability takes no operand" err &&
	run 1 crm-report deliverability --campaign nosuch &&
	expect_grep "no campaign \"nosuch\"" err &&
	run 0 crm-report --help &&
	expect_grep "deliverability [--by campaign|domain|week[,...]]" out
'

test_done
