#!/bin/sh
# crm-report --html: one self-contained page (nothing from the network),
# charts as inline SVG, rendered by headless Chromium into a screenshot
# whose pixels show the charts.
. "$CRM_TOP/tests/lib.sh"

CHROMIUM=$(command -v chromium || command -v chromium-browser || echo chromium)

test_expect 'setup: orders over a year, RFM scores, a campaign with a control group' '
	"$PY" - <<-\EOF2 &&
	with open("o.csv", "w") as f:
	    f.write("order_id,customer_id,ordered_at,amount,currency\n")
	    n = 0
	    for c in range(1, 121):
	        for k in range(c % 4 + 1):
	            n += 1
	            f.write("O%d,C%03d,2026-%02d-%02d 10:00:00,%d.00,EUR\n" % (n, c, (c + 3 * k) % 10 + 1, c % 27 + 1, 10 + c % 50))
	EOF2
	run 0 crm-import orders o.csv &&
	run 0 crm-score rfm &&
	sql "INSERT INTO campaigns(id, name, channel, created_at) VALUES
	       (1, '\''autumn <sale>'\'', '\''email'\'', '\''2026-09-01 00:00:00'\'');
	     INSERT INTO messages(campaign_id, customer_id, channel, grp, status, message_id,
	                          planned_at, sent_at, updated_at)
	       SELECT 1, id, '\''email'\'', CASE WHEN id % 5 THEN '\''treatment'\'' ELSE '\''control'\'' END,
	              CASE WHEN id % 5 THEN '\''sent'\'' ELSE '\''control'\'' END, '\''m'\'' || id,
	              '\''2026-09-01 00:00:00'\'', '\''2026-09-01 00:00:00'\'', '\''2026-09-01 00:00:00'\''
	       FROM customers"
'

test_expect 'the page: 0600, every section, its text escaped' '
	umask 022 &&
	run 0 crm-report --html page.html &&
	expect_mode 600 page.html &&
	test ! -s out &&
	for id in revenue cohorts rfm campaigns; do
		expect_grep "<svg class=\"chart\" id=\"$id\"" page.html || exit 1
	done &&
	expect_grep "autumn &lt;sale&gt;" page.html &&
	expect_no_grep "<sale>" page.html
'

test_expect 'the RFM grid follows crm-score rfm --bins' '
	run 0 crm-report --html page.html &&
	expect_grep ">R5</text>" page.html &&
	expect_no_grep ">R6</text>" page.html &&
	sql ".backup bins.db" &&
	run 0 crm-score --db bins.db rfm --bins 7 &&
	run 0 crm-report --db bins.db --html page7.html &&
	expect_grep ">R7</text>" page7.html &&
	expect_grep ">F7</text>" page7.html
'

# the latest holdout validation of crm-score clv: the tracking curve,
# actual and predicted, inside its chart, and the calibration table
test_expect 'the holdout validation: a sentence, the tracking curve inside its chart, the table' '
	run 0 crm-report --html page.html &&
	expect_grep "No holdout validation: run <code>crm-score clv --as-of DATE --holdout-end DATE</code>." page.html &&
	cdnow_orders "$FIX/cdnow/CDNOW_sample.txt" >cdnow.csv &&
	run 0 crm-import --db cd.db orders cdnow.csv &&
	run 0 crm-score --db cd.db clv --as-of 1997-09-30 --holdout-end 1998-06-30 &&
	run 0 crm-report --db cd.db --html cd.html &&
	expect_grep "<svg class=\"chart\" id=\"holdout\" width=\"480\" height=\"260\"" cd.html &&
	expect_grep "to 1998-06-30; 1,882 were made (" cd.html &&
	expect_grep "Completed orders per month in USD, net of refunds, Jan 1997 to Jun 1998." cd.html &&
	expect_grep ">end of calibration</text>" cd.html &&
	expect_eq 2 "$(grep -c "<polyline" cd.html)" &&
	grep "<polyline" cd.html | sed "s/.*points=\"//; s/\".*//" | tr " " "\n" >pts &&
	expect_eq 156 "$(wc -l <pts)" &&
	expect_eq 0 "$(awk -F, "\$1 < 70 || \$1 > 470 || \$2 < 16 || \$2 > 220 { n++ } END { print n + 0 }" pts)" &&
	expect_grep "<td class=\"t\">7+</td>" cd.html
'

test_expect 'the page refers to nothing outside itself' '
	run 0 crm-report --html page.html &&
	expect_no_grep "http://" page.html &&
	expect_no_grep "https://" page.html &&
	! grep -qiE "<(script|link|img|iframe|object)|src=|href=|url\(" page.html &&
	expect_grep "default-src '\''none'\''" page.html
'

test_expect '--html with campaign NAME: its groups; with --where: a part of the base' '
	run 0 crm-report --html one.html campaign "autumn <sale>" &&
	expect_grep "<th scope=\"col\">treatment</th><th scope=\"col\">control</th>" one.html &&
	run 1 crm-report --html none.html campaign nosuch &&
	expect_grep "no campaign \"nosuch\"" err &&
	test ! -e none.html &&
	run 0 crm-report --html part.html --where "orders >= 4" &&
	expect_grep "customers matching <code>orders &gt;= 4</code>" part.html
'

# png.py PNG: width, height, the share of pixels that are not white, and
# how many are the blue (Okabe-Ito's) of the bars and the grey of the
# control group
cat >png.py <<'EOF'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat = 8, b""
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
assert depth == 8 and ctype in (2, 6), "unexpected PNG type"
bpp = 3 if ctype == 2 else 4
raw = zlib.decompress(idat)
stride = w * bpp
prev = bytearray(stride)
rows, i = [], 0
for y in range(h):
    f = raw[i]; line = bytearray(raw[i + 1:i + 1 + stride]); i += 1 + stride
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0
        b = prev[x]
        c = prev[x - bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(line); prev = line
nonwhite = blue = grey = 0
for line in rows:
    for x in range(0, stride, bpp):
        r, g, b = line[x], line[x + 1], line[x + 2]
        if (r, g, b) != (255, 255, 255): nonwhite += 1
        if abs(r - 0) < 8 and abs(g - 114) < 8 and abs(b - 178) < 8: blue += 1
        if abs(r - 118) < 8 and abs(g - 118) < 8 and abs(b - 118) < 8: grey += 1
print(w, h, round(nonwhite / (w * h), 4), blue, grey)
EOF

test_expect 'headless Chromium renders it: a screenshot with the charts in it' '
	run 0 crm-report --html page.html &&
	timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars \
		--window-size=900,1800 --screenshot="$TEST_DIR/shot.png" "file://$TEST_DIR/page.html" \
		>chromium.log 2>&1 &&
	test -s shot.png &&
	"$PY" png.py shot.png >px &&
	read -r w h share blue grey <px &&
	expect_eq "900 1800" "$w $h" "dimensions" &&
	awk -v s="$share" "BEGIN { exit !(s > 0.03 && s < 0.9) }" &&
	test "$blue" -gt 2000 &&
	test "$grey" -gt 20
'

test_done
