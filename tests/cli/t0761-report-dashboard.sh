#!/bin/sh
# crm-report --html as a dashboard, checked in headless Chromium: a base
# of 14 months, three campaigns with control groups (one of a single
# customer), e-mail events, RFM and CLV scores, two tracked segments. The
# page is rendered at 1280 and 390 px wide (tests/browser/check.js, with
# puppeteer-core and axe-core from `make deps-test`): no mark of a chart
# lies outside its svg, the page does not scroll sideways on a phone, and
# axe-core finds no serious or critical violation. The screenshots stay
# in the test's directory while it runs (shot-1280.png, shot-390.png), and
# are copied to $CRM_SHOTS when it is set.
. "$CRM_TOP/tests/lib.sh"

BROWSER=$CRM_TOP/tests/browser
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if ! command -v node >/dev/null 2>&1 ||
	! (cd "$BROWSER" && node -e 'require.resolve("puppeteer-core"); require.resolve("axe-core")') \
		>/dev/null 2>&1; then
	echo "ok 1 # skip node, puppeteer-core or axe-core missing in tests/browser (make deps-test)"
	echo "1..1"
	exit 0
fi
if [ ! -x "$CHROMIUM" ]; then
	echo "ok 1 # skip no $CHROMIUM (make deps-test)"
	echo "1..1"
	exit 0
fi
export CHROMIUM

test_expect 'setup: 400 customers over 14 months, 3 campaigns, scores, tracked segments' '
	"$PY" - <<-\EOF2 &&
	import random
	random.seed(19)
	cust = open("c.csv", "w"); cust.write("customer_id,email\n")
	orders = open("o.csv", "w"); orders.write("order_id,customer_id,ordered_at,amount,currency\n")
	n = 0
	for c in range(1, 401):
	    m0 = 9 + (c * 14) // 401          # first orders 2025-09 .. 2026-10
	    y, m = 2025 + (m0 - 1) // 12, (m0 - 1) % 12 + 1
	    d = c % 22 + 1
	    cust.write("C%04d,c%d@example.org\n" % (c, c))
	    k = 0
	    while (y, m, d) <= (2026, 11, 22) and k < 12:
	        n += 1; k += 1
	        orders.write("O%d,C%04d,%04d-%02d-%02d 12:00:00,%d.%02d,EUR\n" % (n, c, y, m, d, 20 + random.randrange(180), random.randrange(100)))
	        if random.random() < 0.45: break
	        m += 1 + random.randrange(3)
	        if m > 12: y, m = y + 1, m - 12
	ev = open("e.jsonl", "w")
	camps = [("spring sale", "2026-04-10", 1), ("summer <new>", "2026-07-05", 1), ("winback", "2026-10-20", 0)]
	sql = ["BEGIN;"]
	for i, (name, day, share) in enumerate(camps, 1):
	    sql.append("INSERT INTO campaigns(id, name, channel, created_at) VALUES (%d, '\''%s'\'', '\''email'\'', '\''%s 08:00:00'\'');" % (i, name, day))
	    for c in (range(1, 401) if i < 3 else range(1, 121)):
	        ctl = c % 5 == 0 if share else c == 5   # winback: a control group of one
	        sql.append("INSERT INTO messages(campaign_id, customer_id, channel, grp, status, message_id, planned_at, sent_at, updated_at) SELECT %d, id, '\''email'\'', '\''%s'\'', '\''%s'\'', '\''m%d-%d'\'', '\''%s 08:00:00'\'', '\''%s 08:00:00'\'', '\''%s 08:00:00'\'' FROM customers WHERE external_id = '\''C%04d'\'';" % (i, "control" if ctl else "treatment", "control" if ctl else "sent", i, c, day, day, day, c))
	        if ctl: continue
	        r = random.random()
	        kind = "bounced" if r < 0.03 else "complained" if r < 0.035 else "unsubscribed" if r < 0.05 else "delivered"
	        ev.write("{\"customer_id\": \"C%04d\", \"type\": \"%s\", \"occurred_at\": \"%sT09:00:00Z\", \"campaign\": \"%s\", \"message_id\": \"m%d-%d\"}\n" % (c, kind, day, name.replace("<", "\\u003c").replace(">", "\\u003e"), i, c))
	sql.append("COMMIT;")
	open("camp.sql", "w").write("\n".join(sql) + "\n")
	EOF2
	run 0 crm-import customers c.csv &&
	run 0 crm-import orders o.csv &&
	sqlite3 -bail "$CRM_DB" <camp.sql &&
	run 0 crm-import events e.jsonl &&
	run 0 crm-score rfm &&
	run 0 crm-score clv &&
	run 0 crm-segment --save lapsed "days_since_last_order > 90" &&
	for d in 2026-09-01 2026-10-01 2026-11-01 2026-11-20; do
		run 0 crm-segment --now "$d 00:00:00" -s lapsed --track -c || exit 1
	done &&
	run 0 crm-segment --save vip "orders >= 4" &&
	for d in 2026-10-01 2026-11-20; do
		run 0 crm-segment --now "$d 00:00:00" -s vip --track -c || exit 1
	done &&
	run 0 crm-report --html page.html
'

# svg ID: the text of the chart with that id in page.html
svg() {
	sed -n "/<svg class=\"chart\" id=\"$1\"/,/<\/svg>/p" page.html
}

test_expect 'in Chromium at 1280 and 390 px and printed: every mark inside its chart, no sideways scroll, no serious axe violation' '
	timeout 180 node "$BROWSER/check.js" page.html "$TEST_DIR" >check.out 2>check.err ||
		{ cat check.out check.err; exit 1; }
	cat check.out &&
	# CRM_SHOTS=DIR keeps the screenshots for a person to look at
	if [ -n "${CRM_SHOTS:-}" ]; then cp shot-1280.png shot-390.png shot-print.png "$CRM_SHOTS"/; fi &&
	grep -q "^checked [0-9]* marks in 10 charts at 1280 px" check.out &&
	grep -q "^checked [0-9]* marks in 10 charts at 390 px" check.out &&
	grep -q "^checked [0-9]* marks in 10 charts at 794 px" check.out &&
	! grep -E "^(outside|overflow|axe) " check.out &&
	"$PY" - <<-\EOF2
	import struct
	for w in (1280, 390):
	    d = open("shot-%d.png" % w, "rb").read(24)
	    assert d[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">I", d[16:20])[0] == w, w
	EOF2
'

test_expect 'the checker itself: a mark past its chart, a wide page and an image without a name are faults' '
	cat >bad.html <<-\EOF2 &&
	<!DOCTYPE html><html lang="en"><head><title>bad</title></head><body><main>
	<svg class="chart" id="bad" width="100" height="50" viewBox="0 0 100 50" role="img" aria-label="bad">
	<line x1="10" y1="10" x2="207" y2="10" stroke="#000"/></svg>
	<div style="width: 700px">wide</div><svg role="img" width="10" height="10"></svg>
	</main></body></html>
	EOF2
	timeout 180 node "$BROWSER/check.js" bad.html "$TEST_DIR" >bad.out 2>&1 &&
	cat bad.out &&
	grep -q "^outside 1280 bad line: " bad.out &&
	grep -q "^overflow 390: the page is" bad.out &&
	! grep -q "^overflow 1280" bad.out &&
	grep -q "^axe 1280 serious svg-img-alt" bad.out
'

test_expect 'KPI tiles: revenue of the last 30 days against the 30 before, in euros with separators' '
	expect_eq 7 "$(grep -c "<div class=\"kpi\">" page.html)" &&
	now=$(sql "SELECT sum(amount) FROM orders WHERE purchase = 1 AND ordered_at > datetime('\''2026-11-23 12:00:00'\'', '\''-30 days'\'')") &&
	before=$(sql "SELECT sum(amount) FROM orders WHERE purchase = 1 AND ordered_at > datetime('\''2026-11-23 12:00:00'\'', '\''-60 days'\'') AND ordered_at <= datetime('\''2026-11-23 12:00:00'\'', '\''-30 days'\'')") &&
	want=$("$PY" -c "import sys; print(\"\\u20ac{:,.2f}\".format(int(sys.argv[1]) / 100))" "$now") &&
	diff=$("$PY" -c "import sys; print(\"\\u20ac{:,.2f}\".format(abs(int(sys.argv[1]) - int(sys.argv[2])) / 100))" "$now" "$before") &&
	expect_grep "Revenue, 30 days</div><div class=\"v\">$want</div>" page.html &&
	expect_grep "$diff" page.html &&
	expect_grep "<div class=\"k\">Churned</div>" page.html
'

test_expect 'revenue by month: from the first month with orders, the current month marked partial, money on the axis' '
	svg revenue >rev.svg &&
	first=$(sql "SELECT min(substr(ordered_at, 1, 7)) FROM orders") &&
	expect_eq 2025-09 "$first" &&
	expect_eq 15 "$(grep -c "<rect .*<title>" rev.svg)" &&
	expect_grep "<title>Sep 2025: " rev.svg &&
	grep -q "<title>Nov 2026: .* so far (partial month)</title>" rev.svg &&
	expect_grep ">(partial)</text>" rev.svg &&
	grep -q ">€[0-9],000</text>" rev.svg &&
	! grep -q ">[0-9]\{5,\}</text>" rev.svg
'

test_expect 'campaigns: a one-customer control group said in words, an interval past the axis cut with a mark' '
	svg campaigns >camp.svg &&
	expect_grep "control: 0.0% of 1, too few for an interval" camp.svg &&
	expect_no_grep "0.00% to 0.00%" page.html &&
	test "$(grep -c "<polygon" camp.svg)" -ge 1 &&
	expect_grep "<title>goes on past the chart</title>" camp.svg &&
	svg camptime >ct.svg &&
	expect_grep "<title>summer &lt;new&gt;, Jul 2026: €" ct.svg
'

test_expect 'cohorts, RFM, CLV, churn risk and tracked segments: partial cells marked, segment names, distributions' '
	# the cohorts of the last 12 months reach the current month
	cohorts=$(sql "SELECT count(DISTINCT substr(min_at, 1, 7)) FROM (SELECT min(ordered_at) AS min_at FROM orders GROUP BY customer_id) WHERE min_at >= '\''2025-12'\''") &&
	expect_eq 11 "$cohorts" &&
	expect_eq "$cohorts" "$(svg cohorts | grep -c "so far (partial month)")" &&
	svg rfm | grep -q ">Champions</text>" &&
	svg rfm | grep -q ">At risk</text>" &&
	expect_eq 10 "$(svg clv | grep -c "<rect .*customers</title>")" &&
	expect_eq 10 "$(svg churn | grep -c "<rect .*customers</title>")" &&
	svg segment-1 | grep -q "2026-11-20: 28 entered" &&
	svg segment-2 | grep -q "2026-11-20: 44 members"
'

test_expect 'tables in words: no snake_case heading, rates as percentages; deliverability rates against the limits' '
	! grep -E "<th[^>]*>[a-z]+_[a-z_]+</th>" page.html &&
	! grep -E "<td>0\.[0-9]{4,}</td>" page.html &&
	expect_grep "<th class=\"t\" scope=\"row\" title=\"complaint_rate\">Complaint rate</th>" page.html &&
	expect_grep "<td>2.81%</td>" page.html &&
	svg deliverability >dv.svg &&
	expect_grep "<title>winback: spam complaints 0.885%, at or over the limit</title>" dv.svg &&
	expect_grep "<title>summer &lt;new&gt;: spam complaints 0.0%</title>" dv.svg
'

test_done
