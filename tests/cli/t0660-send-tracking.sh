#!/bin/sh
# crm-send's side of crm-track (issue 13): with [tracking] url the
# unsubscribe URL is BASE/u/TOKEN of the outbox row (header and template
# field), every http(s) link of both parts of an e-mail becomes
# BASE/c/TOKEN/N?u=TARGET with a MAC over the row, N and the target, N the
# same in both parts; opens = yes adds the pixel, utm = yes the UTM
# parameters; --no-track leaves links alone; without [tracking] nothing
# changes. Checked by parsing the messages (file channel's mbox, and SMTP
# to tests/servers/smtpd.py) with Python's email package and computing
# the HMACs in Python.
. "$CRM_TOP/tests/lib.sh"

start_smtpd || exit 1
BASE=https://t.shop.example
# a long link: several hundred bytes, longer again once signed and escaped
LONG=https://shop.example/long/$(printf '%0300d' 0 | tr 0 x)?ref=a-very-long-query-value

# conf [LINE...]: crm.conf with SMTP, From, [unsubscribe] url and the lines
conf() {
	{
		printf '[smtp]\nurl = smtp://127.0.0.1:%s\n[email]\nfrom = Shop <shop@example.com>\n' \
			"$SMTP_PORT"
		printf '[unsubscribe]\nurl = https://shop.example/unsubscribe\n'
		for _l; do echo "$_l"; done
	} >crm.conf
	chmod 600 crm.conf
}

cat >m.tmpl <<EOF_
Subject: Hello {{first_name}}

Hi {{first_name}},
Sale: https://shop.example/sale?a=1&b=2.
Your page: https://shop.example/p/{{first_name}}
Text only: (https://shop.example/text-only)
Long: $LONG
Unsubscribe: {{unsubscribe_url}}
--- html ---
<html><body>
<p><a href="https://shop.example/sale?a=1&amp;b=2">Sale</a>
<a class="btn" href='https://shop.example/p/{{first_name}}'>Your page</a>
<a href=https://shop.example/html-only#top>H</a>
<a href="mailto:help@shop.example">mail</a> <a href="#top">top</a> <a href="tel:+15550100">call</a>
<a data-crm-notrack href="https://shop.example/privacy">privacy</a>
<!-- <a href="https://shop.example/commented">x</a> -->
<a href="$LONG">long</a>
<a href="{{unsubscribe_url}}">unsubscribe</a></p>
</body></html>
EOF_

# check.py CAMPAIGN FILES...: per message (by recipient) the unsubscribe
# URL, every http(s) link of both parts (tracked ones with their number
# and target, after checking their MAC) and the pixel; fails on a bad MAC,
# a line over 998 bytes or a number used for two targets
cat >check.py <<'EOF_'
import email, email.policy, hashlib, hmac, mailbox, os, re, sqlite3, sys
from html.parser import HTMLParser
from urllib.parse import unquote

base, secret = os.environ["BASE"], os.environ["SECRET"].encode()
camp, files = sys.argv[1], sys.argv[2:]
db = sqlite3.connect("crm.db")
rows = dict(db.execute("SELECT m.address, m.id FROM messages m JOIN campaigns c"
                       " ON c.id = m.campaign_id WHERE c.name = ?", (camp,)))

def mac(purpose, row, data=None):
    b = purpose.encode() + b"\0" + str(row).encode()
    if data is not None:
        b += b"\0" + data
    return hmac.new(secret, b, hashlib.sha256).hexdigest()[:16]

def raws():
    for f in files:
        if f.endswith(".mbox"):
            for m in mailbox.mbox(f):
                yield m.as_bytes()
        else:
            yield open(f, "rb").read()

class Hrefs(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.hrefs, self.imgs = [], []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("a", "area") and a.get("href"):
            self.hrefs.append(a["href"])
        if tag == "img":
            self.imgs.append(a.get("src"))

click = re.compile(re.escape(base) + r"/c/(\d+)-([0-9a-f]{16})/(\d+)\?u=([A-Za-z0-9._~%-]*)$")
out = []
for raw in raws():
    for line in raw.split(b"\n"):
        assert len(line.rstrip(b"\r")) <= 998, "a line over 998 bytes"
    m = email.message_from_bytes(raw, policy=email.policy.default)
    to = str(m["To"])
    row = rows[to]
    res = [to]
    lu, lup = m["List-Unsubscribe"], m["List-Unsubscribe-Post"]
    unsub = str(lu).strip()[1:-1] if lu else None
    want = "%s/u/%d-%s" % (base, row, mac("unsubscribe", row))
    res.append("unsub " + ("tracked" if unsub == want else str(unsub)) + " post " + str(lup))
    parts = {"html": None, "text": None}
    for p in m.walk():
        if p.get_content_type() == "text/html":
            parts["html"] = p.get_content()
        elif p.get_content_type() == "text/plain":
            parts["text"] = p.get_content()
    numbers = {}
    for kind in ("html", "text"):
        body = parts[kind]
        if body is None:
            continue
        if kind == "html":
            h = Hrefs()
            h.feed(body)
            urls, imgs = h.hrefs, h.imgs
        else:
            urls = [u.rstrip(".,)") for u in re.findall(r"https?://[^\s<>\"]+", body)]
            imgs = []
        for u in urls:
            c = click.match(u)
            if c:
                r, mc, n, target = int(c[1]), c[2], int(c[3]), unquote(c[4])
                assert r == row, "row %d, not %d" % (r, row)
                assert mc == mac("click", row, str(n).encode() + b"\0" + target.encode()), \
                    "bad MAC: " + u
                assert numbers.setdefault(n, target) == target, "link %d twice" % n
                res.append("%s %d %s" % (kind, n, target))
            elif u == unsub:
                res.append("%s unsubscribe" % kind)
            elif u.startswith("http"):
                res.append("%s keep %s" % (kind, u))
        for src in imgs:
            ok = src == "%s/o/%d-%s.gif" % (base, row, mac("open", row))
            near = re.search(r'<img src="[^"]*" width="1" height="1" alt="" style="[^"]*"></body>', body)
            res.append("pixel " + ("ok" if ok and near else src))
    out.append(res)
for res in sorted(out):
    print("\n".join(res))
EOF_

# check CAMPAIGN FILES...: check.py's listing in ./links, with $LONG as LONG
check() {
	BASE=$BASE SECRET=$(sql "SELECT value FROM meta WHERE key = 'secret'") \
		"$PY" check.py "$@" >links.raw &&
	sed "s|$LONG|LONG|g" links.raw >links
}

# the listing expected for recipient $1 (first name $2), tracked
tracked() {
	cat <<EOF_
$1
unsub tracked post List-Unsubscribe=One-Click
html 1 https://shop.example/sale?a=1&b=2
html 2 https://shop.example/p/$2
html 3 https://shop.example/html-only#top
html keep https://shop.example/privacy
html 4 LONG
html unsubscribe
text 1 https://shop.example/sale?a=1&b=2
text 2 https://shop.example/p/$2
text 5 https://shop.example/text-only
text 4 LONG
text unsubscribe
EOF_
}

test_expect 'setup: 2 customers' '
	printf "id,email,first_name,email_consent\nV1,v1@example.com,Val,yes\nV2,v2@example.com,Vic,yes\n" >c.csv &&
	crm-import customers c.csv 2>/dev/null &&
	printf "id\nV1\nV2\n" >to.csv
'

test_expect 'file channel (mbox): every link of both parts signed, one numbering, unsubscribe at crm-track' '
	conf "[tracking]" "url = $BASE" &&
	run 0 crm-send --campaign t1 --channel file --mbox --no-consent --template m.tmpl -o t1.mbox to.csv &&
	check t1 t1.mbox &&
	{ tracked v1@example.com Val; tracked v2@example.com Vic; } >want &&
	expect_same want links &&
	expect_no_grep "<img" t1.mbox &&
	expect_no_grep "/unsubscribe?m=" t1.mbox
'

test_expect 'the long link is whole once decoded, and the encoded lines are short' '
	"$PY" - >py.out <<-\EOF_ &&
	import mailbox
	for m in mailbox.mbox("t1.mbox"):
	    for p in m.walk():
	        if p.get_content_maintype() == "text":
	            assert p["Content-Transfer-Encoding"] == "quoted-printable", p["Content-Transfer-Encoding"]
	            assert max(len(l) for l in p.get_payload().splitlines()) <= 76
	            body = p.get_payload(decode=True).decode()
	            whole = "%2Flong%2F" + "x" * 300 + "%3Fref%3Da-very-long-query-value"
	            assert any(len(l) > 400 and whole in l for l in body.splitlines())
	print("ok")
	EOF_
	expect_eq ok "$(cat py.out)"
'

test_expect 'SMTP: the same, and the pixel with opens = yes' '
	conf "[tracking]" "url = $BASE/" "opens = yes" &&
	run 0 crm-send --campaign t2 --channel email --template m.tmpl -f csv to.csv &&
	expect_eq 2 "$(spooled)" &&
	check t2 spool/*.eml &&
	{ tracked v1@example.com Val; tracked v2@example.com Vic; } |
		sed "/^html unsubscribe\$/a pixel ok" >want &&
	expect_same want links
'

test_expect 'utm = yes: utm_source, utm_medium and utm_campaign added before signing' '
	conf "[tracking]" "url = $BASE" "utm = yes" "utm_source = news" &&
	printf "id\nV1\n" | run 0 crm-send --campaign "spring sale" --channel file --mbox --no-consent \
		--template m.tmpl -o t3.mbox &&
	check "spring sale" t3.mbox &&
	u="utm_source=news&utm_medium=email&utm_campaign=spring%20sale" &&
	cat >want <<-EOF_ &&
	v1@example.com
	unsub tracked post List-Unsubscribe=One-Click
	html 1 https://shop.example/sale?a=1&b=2&$u
	html 2 https://shop.example/p/Val?$u
	html 3 https://shop.example/html-only?$u#top
	html keep https://shop.example/privacy
	html 4 LONG&$u
	html unsubscribe
	text 1 https://shop.example/sale?a=1&b=2&$u
	text 2 https://shop.example/p/Val?$u
	text 5 https://shop.example/text-only?$u
	text 4 LONG&$u
	text unsubscribe
	EOF_
	expect_same want links
'

test_expect 'utm = yes without [tracking] url: the parameters on the links themselves' '
	conf "[tracking]" "utm = yes" &&
	printf "id\nV1\n" | run 0 crm-send --campaign u1 --channel file --mbox --no-consent \
		--template m.tmpl -o u1.mbox &&
	check u1 u1.mbox &&
	u="utm_source=crmkit&utm_medium=email&utm_campaign=u1" &&
	expect_grep "html keep https://shop.example/html-only?$u#top" links &&
	expect_grep "text keep https://shop.example/text-only?$u" links &&
	expect_grep "html keep https://shop.example/privacy" links &&
	expect_no_grep "/c/" u1.mbox &&
	expect_grep "unsub https://shop.example/unsubscribe?m=" links &&
	expect_grep "html unsubscribe" links &&
	expect_grep "text unsubscribe" links
'

test_expect '--no-track: links as written, no pixel; the unsubscribe URL still crm-track'"'"'s' '
	conf "[tracking]" "url = $BASE" "opens = yes" &&
	run 0 crm-send --campaign t4 --channel file --mbox --no-consent --no-track --template m.tmpl \
		-o t4.mbox to.csv &&
	check t4 t4.mbox &&
	expect_no_grep "/c/" t4.mbox &&
	expect_no_grep "/o/" t4.mbox &&
	expect_eq 2 "$(grep -c "^unsub tracked post List-Unsubscribe=One-Click\$" links)" &&
	expect_eq 10 "$(grep -c "^html keep" links)" &&
	expect_eq "text keep https://shop.example/sale?a=1&b=2" "$(grep "^text keep" links | head -n 1)"
'

test_expect 'without [tracking]: the parts as rendered, the [unsubscribe] URL as before' '
	conf &&
	run 0 crm-send --campaign t5 --channel file --mbox --no-consent --template m.tmpl -o t5.mbox to.csv &&
	run 0 crm-send --campaign t5j --channel file --no-consent --template m.tmpl -o t5.jsonl to.csv &&
	expect_no_grep "t.shop.example" t5.mbox &&
	"$PY" - "$(sql "SELECT value FROM meta WHERE key = '\''secret'\''")" >py.out <<-\EOF_ &&
	import hashlib, hmac, json, mailbox, sys
	secret = sys.argv[1].encode()
	want = {}
	for l in open("t5.jsonl"):
	    j = json.loads(l)
	    want[j["to"]] = (j["text"], j["html"])
	for m in mailbox.mbox("t5.mbox"):
	    mid = m["Message-ID"].strip("<>")
	    t = hmac.new(secret, b"unsubscribe:" + mid.encode(), hashlib.sha256).hexdigest()[:32]
	    u = "https://shop.example/unsubscribe?m=%s&t=%s" % (mid.replace("@", "%40"), t)
	    assert m["List-Unsubscribe"] == "<%s>" % u, m["List-Unsubscribe"]
	    parts = [p.get_payload(decode=True).decode() for p in m.walk() if p.get_content_maintype() == "text"]
	    text, html = want[m["To"]]
	    # the JSON lines render the same template for another campaign: its
	    # own unsubscribe URL
	    jid = [json.loads(l)["message_id"] for l in open("t5.jsonl") if json.loads(l)["to"] == m["To"]][0].strip("<>")
	    jt = hmac.new(secret, b"unsubscribe:" + jid.encode(), hashlib.sha256).hexdigest()[:32]
	    ju = "https://shop.example/unsubscribe?m=%s&t=%s" % (jid.replace("@", "%40"), jt)
	    assert parts == [text.replace(ju, u), html.replace(ju.replace("&", "&amp;"), u.replace("&", "&amp;"))], parts
	print("ok")
	EOF_
	expect_eq ok "$(cat py.out)"
'

test_expect 'the JSON lines of the file channel keep the links as rendered' '
	conf "[tracking]" "url = $BASE" "opens = yes" &&
	run 0 crm-send --campaign t6 --channel file --no-consent --template m.tmpl -o t6.jsonl to.csv &&
	expect_no_grep "$BASE/c/" t6.jsonl &&
	expect_no_grep "$BASE/o/" t6.jsonl &&
	expect_grep "Unsubscribe: $BASE/u/" t6.jsonl
'

test_expect '{{unsubscribe_url}} with only [tracking] url' '
	printf "[email]\nfrom = shop@example.com\n[tracking]\nurl = %s\n" "$BASE" >crm.conf &&
	printf "id\nV1\n" | run 0 crm-send --campaign t7 --channel file --mbox --no-consent \
		--template m.tmpl -o t7.mbox &&
	check t7 t7.mbox &&
	tracked v1@example.com Val >want &&
	expect_same want links &&
	: >none.conf &&
	printf "id\nV1\n" | run 2 crm-send --config none.conf --campaign t8 --channel file --mbox \
		--no-consent --template m.tmpl &&
	expect_grep "no [unsubscribe] url or [tracking] url" err
'

test_expect 'crm-track follows what crm-send wrote: clicks redirect to their targets, the pixel and one-click unsubscribe count' '
	start_track &&
	conf "[tracking]" "url = $TRACK" "opens = yes" "utm = yes" &&
	printf "id\nV2\n" | run 0 crm-send --campaign e2e --channel file --mbox --no-consent \
		--template m.tmpl -o e2e.mbox &&
	"$PY" - "$TRACK" >py.out <<-\EOF_ &&
	import mailbox, re, sys, urllib.request, urllib.error
	class NoRedirect(urllib.request.HTTPRedirectHandler):
	    def redirect_request(self, *a):
	        return None
	op = urllib.request.build_opener(NoRedirect)
	track = sys.argv[1]
	for m in mailbox.mbox("e2e.mbox"):
	    for p in m.walk():
	        if p.get_content_maintype() != "text":
	            continue
	        body = p.get_payload(decode=True).decode()
	        for u in re.findall(re.escape(track) + r"/[^\s\"<>]+", body):
	            u = u.rstrip(".)").replace("&amp;", "&")
	            post = "/u/" in u
	            req = urllib.request.Request(u, data=b"List-Unsubscribe=One-Click" if post else None)
	            try:
	                r = op.open(req)
	                print(p.get_content_subtype(), r.status, u[len(track):len(track) + 3])
	            except urllib.error.HTTPError as e:
	                print(p.get_content_subtype(), e.code, e.headers.get("Location"))
	EOF_
	stop_track &&
	u="utm_source=crmkit&utm_medium=email&utm_campaign=e2e" &&
	cat >want <<-EOF_ &&
	plain 302 https://shop.example/sale?a=1&b=2&$u
	plain 302 https://shop.example/p/Vic?$u
	plain 302 https://shop.example/text-only?$u
	plain 302 $LONG&$u
	plain 200 /u/
	html 302 https://shop.example/sale?a=1&b=2&$u
	html 302 https://shop.example/p/Vic?$u
	html 302 https://shop.example/html-only?$u#top
	html 302 $LONG&$u
	html 200 /u/
	html 200 /o/
	EOF_
	expect_same want py.out &&
	expect_eq "clicked|8
opened|1
unsubscribed|1" "$(sql "SELECT type, count(*) FROM events WHERE campaign = '\''e2e'\'' GROUP BY type ORDER BY type")"
'

test_expect 'a bad [tracking] url or opens without a url: an error before anything is planned' '
	for u in ftp://t.example "https://t.example/?x=1" "https://t example" "https://t.example/#f"; do
		conf "[tracking]" "url = $u" &&
		printf "id\nV1\n" | run 1 crm-send --campaign bad --channel file --mbox --no-consent \
			--template m.tmpl &&
		expect_grep "[tracking] url" err || exit 1
	done &&
	conf "[tracking]" "opens = yes" &&
	printf "id\nV1\n" | run 1 crm-send --campaign bad --channel file --mbox --no-consent --template m.tmpl &&
	expect_grep "opens = yes needs [tracking] url" err &&
	conf "[tracking]" "url = $BASE" "utm = maybe" &&
	printf "id\nV1\n" | run 1 crm-send --campaign bad --channel file --mbox --no-consent --template m.tmpl &&
	expect_grep "[tracking] utm" err &&
	expect_eq 0 "$(sql "SELECT count(*) FROM campaigns WHERE name = '\''bad'\''")"
'

test_done
