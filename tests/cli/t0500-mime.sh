#!/bin/sh
# lib/mime.c against an independent parser: messages made by the
# test_mime tool (tests/unit/test_mime.c) are read back with Python's email
# package; headers must decode to what went in and no value may create a
# header of its own.
. "$CRM_TOP/tests/lib.sh"

TM=$CRM_BIN/../tests/test_mime
PY=/usr/bin/python3

if ! [ -x "$TM" ] || ! [ -x "$PY" ]; then
	echo "ok 1 # skip test_mime or python3 missing"
	echo "1..1"
	exit 0
fi
export TM

cat >check.py <<'EOF'
import email, email.policy, os, subprocess, sys
from email.header import decode_header, make_header

TM = os.environ["TM"]

def build(fn, fa, tn, ta, subj, text, html):
    r = subprocess.run([TM, "message", fn, fa, tn, ta, subj, text, html],
                       capture_output=True)
    return r.returncode, r.stdout, r.stderr

def sanitised(s):
    # what mime.h promises: controls but TAB become spaces, ends trimmed
    s = "".join(" " if (ord(c) < 32 and c != "\t") or ord(c) == 127 else c for c in s)
    return s.strip(" \t")

def lines_ok(raw):
    assert raw.endswith(b"\r\n"), "message does not end in CRLF"
    body = raw[:-2]
    for i, line in enumerate(body.split(b"\r\n")):
        assert b"\r" not in line and b"\n" not in line, "bare CR or LF in line %d" % i
        assert len(line) <= 998, "line %d has %d bytes" % (i, len(line))
    head = raw.split(b"\r\n\r\n", 1)[0]
    for line in head.split(b"\r\n"):
        assert len(line) <= 78, "header line over 78: %r" % line

def display(raw, name):
    # the phrase decoded as RFC 2047 says (adjacent encoded words join
    # without their white space); Python's address parser puts a space
    # between them, so it is not used for the name
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    v = msg[name].replace("\r\n", "").replace("\n", "")
    v = v.rsplit("<", 1)[0].strip() if "<" in v else ""
    if v.startswith('"'):
        return v[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return str(make_header(decode_header(v)))

def check(fn, fa, tn, ta, subj, text="Hello\\nworld", html="<p>Hello</p>"):
    rc, raw, err = build(fn, fa, tn, ta, subj, text, html)
    assert rc == 0, err
    lines_ok(raw)
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    names = [k.lower() for k in msg.keys()]
    want = ["date", "from", "to", "subject", "message-id", "mime-version",
            "list-unsubscribe", "list-unsubscribe-post", "x-campaign", "content-type"]
    assert names == want, "headers %r" % names
    assert str(msg["Subject"]) == sanitised(subj), "subject %r != %r" % (str(msg["Subject"]), sanitised(subj))
    assert msg["From"].addresses[0].addr_spec == fa
    assert msg["To"].addresses[0].addr_spec == ta
    assert display(raw, "From") == " ".join(sanitised(fn).replace("\t", " ").split(" ")), \
        "from name %r" % display(raw, "From")
    assert display(raw, "To") == sanitised(tn).replace("\t", " "), "to name %r" % display(raw, "To")
    # exactly the input, its final line end included
    def content(kind):
        return msg.get_body((kind,)).get_content().replace("\r\n", "\n")
    assert content("plain") == text.replace("\\n", "\n"), repr(content("plain")[:200])
    assert content("html") == html.replace("\\n", "\n"), repr(content("html")[:200])
    assert msg.get_content_type() == "multipart/alternative"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    return raw

what = sys.argv[1]
if what == "subjects":
    for s in ["Привет, Анна! Скидка 20% на всё", "Şişli'de İndirim: ğüşöçı İI",
              "🎉 Party 🎉 time 👍🏽", "Mixed Ünïcödé and a very long subject line with "
              "many plain words following after it to fold it twice or more " * 2,
              "日本語のテキスト" * 10, "=?UTF-8?B?SGk=?= is not an encoded word",
              "a  double  space\tand tab", "Ё" * 300, "x" * 950]:
        check("Shop", "news@shop.example", "Anna", "anna@example.com", s)
elif what == "names":
    for n in ["Магазин «Ромашка»", "Çiçek Sepeti", "Smith, John", 'Dr. "Who"',
              "Anna O'Brien", "Анна Каренина-Вронская из Санкт-Петербурга, Российская империя"]:
        check(n, "news@shop.example", n, "anna@example.com", "Hi")
elif what == "injection":
    raw = check("Evil\r\nBcc: victim@example.com", "news@shop.example",
                "Anna\nX-Injected: 1", "anna@example.com",
                "Hi\r\nBcc: victim@example.com\r\n\r\nbody")
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["Bcc"] is None and msg["X-Injected"] is None
    assert b"\r\nBcc:" not in raw and b"\nX-Injected" not in raw
    for bad in ["anna@example.com\r\nBcc: victim@example.com",
                "anna@example.com>, <victim@example.com", "Anna <anna@example.com>",
                "anna@example.com\n", " anna@example.com"]:
        rc, out, err = build("A", "news@shop.example", "B", bad, "s", "t", "h")
        assert rc == 1 and out == b"" and b"invalid To address" in err, bad
elif what == "stable":
    a = build("S", "news@shop.example", "Anna", "anna@example.com", "s", "t", "h")[1]
    b = build("S", "news@shop.example", "Anna", "anna@example.com", "s", "t", "h")[1]
    c = build("S", "news@shop.example", "Bob", "anna@example.com", "s", "t", "h")[1]
    ida = email.message_from_bytes(a)["Message-ID"]
    assert a == b, "two builds differ"
    assert ida == email.message_from_bytes(b)["Message-ID"]
    assert ida != email.message_from_bytes(c)["Message-ID"]
    assert ida.endswith("@shop.example>") and len(ida) == 1 + 32 + 1 + 12 + 1
elif what == "bodies":
    texts = ["plain ascii\\nwith = signs and trailing spaces   \\nFrom the start\\n.\\n",
             "Кириллица целиком, много строк\\n" * 30,
             "x" * 5000, "tab\tand\u00a0nbsp " * 100]
    for t in texts:
        raw = check("S", "news@shop.example", "A", "anna@example.com", "s", t, "<b>" + t + "</b>")
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        p = msg.get_body(("plain",))
        cte = p["Content-Transfer-Encoding"]
        if t.startswith("Кириллица"):
            assert cte == "base64", cte
        else:
            assert cte == "quoted-printable", cte
        assert b"\nFrom " not in raw
print("fine")
EOF

test_expect 'subjects: Cyrillic, Turkish, emoji, CJK, long ones decode back' '
	$PY check.py subjects
'

test_expect 'display names: quoted, atoms, encoded, long' '
	$PY check.py names
'

test_expect 'CR/LF in names and subjects cannot add a header; bad addresses refused' '
	$PY check.py injection
'

test_expect 'the same key gives the same Message-ID and the same message' '
	$PY check.py stable
'

test_expect 'bodies: QP or base64 by the rule, decoded by Python to the input' '
	$PY check.py bodies
'

test_expect 'quoted-printable of random bytes decodes with Python quopri' '
	$PY -c "
import os, random
random.seed(5)
data = bytes(random.choice(b\"ab =\\t\\n\\r.F\\xd0\\x9f\\x00\") for _ in range(20000))
open(\"in.bin\", \"wb\").write(data)
" &&
	"$TM" qp <in.bin >out.qp &&
	$PY -c "
import quopri
data = open(\"in.bin\", \"rb\").read()
enc = open(\"out.qp\", \"rb\").read()
for line in enc.split(b\"\\r\\n\"):
    assert len(line) <= 76, len(line)
    assert not line.endswith((b\" \", b\"\\t\")), line
    assert b\"\\n\" not in line
# the encoder makes LF and CRLF into CRLF; a lone CR stays a byte
want = data.replace(b\"\\r\\n\", b\"\\n\").replace(b\"\\n\", b\"\\r\\n\")
assert quopri.decodestring(enc) == want
"
'

test_done
