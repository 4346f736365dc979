#!/bin/sh
# bench/bounces.sh BUILD_DIR - crm-import bounces (issue 14): an mbox of
# BENCH_BOUNCES_N (100000) delivery status notifications, complaints,
# auto-replies and bounce texts made from tests/fixtures/bounces, each
# about its own outbox row of a base of as many customers, read
#   a) by crm-import bounces into a fresh copy of the base (messages/s,
#      peak RSS, its summary; the decisions must be those of the mix and
#      inbound must get one row per message),
#   b) by crm-import bounces again into the same base (every message
#      "read before": the cost of the dedupe),
#   c) by the peer (on the first BENCH_BOUNCES_PY messages of the same
#      file, 20000 by default: it is slow): a Python loop with the standard email module
#      (email.message_from_bytes, policy=default) that parses each message,
#      walks its parts and reads the delivery-status fields (Final-Recipient,
#      Action, Status) and the feedback report (Feedback-Type), or searches
#      the text of a bounce without one for a status code: the parsing
#      without a database,
#   d) by cat (the physical limit: reading the file from the page cache)
#      and sha256sum (hashing every byte, which crm-import does once per
#      message for its dedupe).
# Prints a table, the ratios crmkit/python and crmkit/read-limit (of
# messages/s: above 1, crm-import is faster) and the memory figures.
# The exit status is 1 when a step failed, inbound has not one row per
# message, or the decisions are not those the mix says.
#
# Environment: BENCH_BOUNCES_N (100000 messages, customers and outbox
# rows), BENCH_BOUNCES_PY (20000, or N when less: the messages the
# Python peer reads, the first of the file), BENCH_DATA (bench/data; the base and the mbox are kept in
# $BENCH_DATA/bounces/ and reused while this script, the fixtures and the
# schema are unchanged).
set -u

BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
IMPORT=$BUILD/bin/crm-import
PY=/usr/bin/python3
FIX=$TOP/tests/fixtures/bounces
N=${BENCH_BOUNCES_N:-100000}
NPY=${BENCH_BOUNCES_PY:-}
DATA=${BENCH_DATA:-$HERE/data}
W=$DATA/bounces
# the fixtures are of November 2026: the outbox rows are sent the day
# before "now", well within [bounces] max_age (90 days)
NOW='2026-11-24 12:00:00'
SENT='2026-11-23 12:00:00'
LC_ALL=C
TZ=UTC
CRM_NOW=$NOW
export LC_ALL TZ CRM_NOW
unset CRM_DB CRM_CONFIG

die() { echo "bench/bounces: $*" >&2; exit 1; }

case $N in '' | *[!0-9]*) die "BENCH_BOUNCES_N must be a number" ;; esac
[ "$N" -ge 100 ] || die "BENCH_BOUNCES_N must be at least 100"
case ${NPY:-0} in *[!0-9]*) die "BENCH_BOUNCES_PY must be a number" ;; esac
# the peer parses about 600 messages a second on this machine: it reads
# the first 20000 messages (a fifth of the default run) of the same file
[ -n "$NPY" ] || NPY=20000
[ "$NPY" -le "$N" ] && [ "$NPY" -gt 0 ] || NPY=$N
[ -x "$IMPORT" ] || die "$IMPORT missing (make)"
[ -x "$PY" ] || die "$PY is needed for the generator and the peer"
command -v sqlite3 >/dev/null 2>&1 || die "sqlite3 (the CLI) is needed"
[ -f "$FIX/postfix-hard.eml" ] || die "$FIX: the fixtures are missing"
mkdir -p "$W" || die "cannot create $W"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a)

# ---- timing ------------------------------------------------------------------
# timed NAME CMD...: runs CMD (stdout and stderr to $W/NAME.out and .err);
# sets $secs (wall, date's nanoseconds), $kb (peak RSS, GNU time, or the
# VmHWM last seen in /proc without it), $cpu (user + system, n/a without
# GNU time), $anon (the largest RssAnon seen in /proc, sampled every 0.1
# s: the heap and stacks, without the pages of the mapped mbox) and $rc.
if /usr/bin/time -f '%M' -o /dev/null true 2>/dev/null; then
	HAVE_TIME=1
else
	HAVE_TIME=
fi
now() { date +%s.%N; }
# watch PID FILE: the largest RssAnon and VmHWM of PID (kB) until it ends
watch() {
	_a=0 _h=0
	while kill -0 "$1" 2>/dev/null; do
		while read -r _k _v _u; do
			case $_k in
			RssAnon:) [ "$_v" -le "$_a" ] || _a=$_v ;;
			VmHWM:) [ "$_v" -le "$_h" ] || _h=$_v ;;
			esac
		done <"/proc/$1/status" 2>/dev/null
		sleep 0.1
	done
	echo "$_a $_h" >"$2"
}
timed() {
	_n=$1
	shift
	rm -f "$W/$_n.time" "$W/$_n.watch"
	_t0=$(now)
	if [ -n "$HAVE_TIME" ]; then
		/usr/bin/time -f '%M %U %S' -o "$W/$_n.time" "$@" </dev/null >"$W/$_n.out" 2>"$W/$_n.err" &
	else
		"$@" </dev/null >"$W/$_n.out" 2>"$W/$_n.err" &
	fi
	_pid=$!
	_w=$_pid
	if [ -n "$HAVE_TIME" ]; then # the command is GNU time's child
		sleep 0.02
		_w=$(pgrep -P "$_pid" | head -n 1)
	fi
	[ -n "$_w" ] && watch "$_w" "$W/$_n.watch" &
	_wp=$!
	wait "$_pid"
	rc=$?
	wait "$_wp" 2>/dev/null
	secs=$(awk -v a="$_t0" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }')
	set -- 0 0
	[ -s "$W/$_n.watch" ] && set -- $(cat "$W/$_n.watch")
	anon=$1
	if [ -n "$HAVE_TIME" ]; then
		set -- $(tail -n 1 "$W/$_n.time")
		kb=$1
		cpu=$(awk -v u="$2" -v s="$3" 'BEGIN { printf "%.2f", u + s }')
	else
		kb=$2
		cpu=n/a
	fi
}
rate() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print "-" }'; }
mib() { case $1 in n/a | '' | 0) echo n/a ;; *) awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }' ;; esac; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf (a / b < 0.1 ? "%.3f" : "%.2f"), a / b; else print "-" }'; }

FAILED=
failed() { FAILED="$FAILED
  $1"; echo "bench/bounces: FAIL: $1" >&2; }

# ---- the base and the mbox (kept while nothing they come from changed) -------
BASE=$W/base-$N.db
MBOX=$W/bounces-$N.mbox
EXPECT=$W/bounces-$N.expect
STAMP=$(cat "$0" "$FIX"/*.eml "$TOP"/share/schema/*.sql | cksum)
if [ -f "$BASE" ] && [ -f "$MBOX" ] && [ -f "$EXPECT" ] && [ -f "$MBOX.stamp" ] &&
	[ "$(cat "$MBOX.stamp")" = "$STAMP" ]; then
	echo "bench/bounces: reusing $BASE and $MBOX"
else
	rm -f "$BASE" "$BASE-wal" "$BASE-shm" "$MBOX" "$MBOX.stamp" "$EXPECT"
	echo "bench/bounces: making a base of $N customers and $N sent messages"
	# customers: every one with an e-mail address, over common domains
	awk -v n="$N" 'BEGIN {
		split("gmail.com yandex.ru mail.ru outlook.com yahoo.com example.org web.de t-online.de", d, " ")
		split("anna ivan maria sergey olga dmitry elena boris emma lukas ayse mehmet", f, " ")
		print "id,email,first_name"
		for (i = 1; i <= n; i++)
			printf "B%07d,%s.%d@%s,%s\n", i, f[i % 12 + 1], i, d[i % 8 + 1], f[i % 12 + 1]
	}' >"$W/customers.csv"
	"$IMPORT" --db "$BASE" customers "$W/customers.csv" >"$W/base.out" 2>"$W/base.err" ||
		die "crm-import customers failed: $(tail -n 3 "$W/base.err")"
	# one campaign, one sent outbox row per customer (as crm-send writes
	# them; tests/lib.sh add_campaign), message_id <ID@shop.example>
	sqlite3 "$BASE" "
		INSERT INTO campaigns(id, name, channel, created_at) VALUES (1, 'winter-sale', 'email', '$SENT');
		INSERT INTO messages(campaign_id, customer_id, channel, grp, status, address, message_id,
		                     planned_at, sent_at, updated_at)
		  SELECT 1, id, 'email', 'treatment', 'sent', email, '<' || id || '@shop.example>',
		         '$SENT', '$SENT', '$SENT' FROM customers ORDER BY id;
		PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null || die "cannot make the outbox"
	[ "$(sqlite3 "$BASE" 'SELECT count(*) FROM messages')" = "$N" ] || die "the outbox has not $N rows"
	echo "bench/bounces: generating $MBOX"
	"$PY" - "$BASE" "$N" "$FIX" "$MBOX.tmp" "$EXPECT" <<'PYEOF' || die "the generator failed"
# One message per outbox row 1..N, from the fixtures, in a mix drawn with
# a fixed seed: its VERP token (ID-MAC, the base's secret) for @TOKEN@, the
# row's address for the fixture's failed recipient, the row's Message-ID
# for the quoted original's, a Message-Id of its own; an mboxrd "From "
# line, ">From " escapes. The expected decisions go to EXPECT.
import base64, hashlib, hmac, random, re, sqlite3, sys

db, n, fix, out, expect = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
con = sqlite3.connect(db)
sec = con.execute("SELECT value FROM meta WHERE key = 'secret'").fetchone()[0].encode()
rows = con.execute("SELECT id, address, message_id FROM messages ORDER BY id LIMIT ?", (n,)).fetchall()

def token(i):
    return "%d-%s" % (i, hmac.new(sec, b"bounce\0" + str(i).encode(), hashlib.sha256).hexdigest()[:16])

def rd(name):
    return open("%s/%s.eml" % (fix, name), "rb").read()

# name: (fixture, percent, the fixture's recipient, kind, expected decision)
MIX = [
    ("postfix-hard", 20, "anna.petrova@example.net", "hard", "applied"),
    ("gmail-dsn", 12, "no.such.person@gmail.com", "hard", "applied"),
    ("exchange-ndr", 8, "maria.ivanova@contoso.example", "hard", "applied"),
    ("exim-text", 8, "ivan.sidorov@example.ru", "hard", "applied"),
    ("yandex-text", 2, "petr@yandex.ru", "hard", "applied"),
    ("postfix-soft", 10, "anna.petrova@example.net", "soft", "recorded"),
    # two recipients, 5.1.1 and 5.2.2; the row's address is the 5.2.2 one:
    # a DSN about two: the row's own recipient (5.2.2) decides: a soft bounce
    ("multi-rcpt", 5, "Full@Example.org", "soft", "recorded"),
    ("spam-block", 5, "dmitry@example.com", "policy", "recorded"),
    ("arf-complaint", 10, "elena@example.com", "complaint", "applied"),
    ("vacation-autosubmitted", 7, "olga@example.com", "autoreply", "ignored"),
    ("vacation-subject", 3, "s.petrov@example.org", "autoreply", "ignored"),
    ("postfix-delayed", 5, "boris@example.org", "delayed", "ignored"),
    ("no-token", 3, "someone@example.net", "hard", "quarantined"),
    ("forged-token", 2, "anna.petrova@example.net", "hard", "quarantined"),
]
assert sum(m[1] for m in MIX) == 100
tpl = {}
for name, _, _, _, _ in MIX:
    src = "postfix-hard" if name == "postfix-soft" else name
    t = rd(src)
    if name == "postfix-soft":  # the same Postfix DSN, mailbox full
        t = (t.replace(b"550 5.1.1", b"552 5.2.2").replace(b"Status: 5.1.1", b"Status: 5.2.2")
             .replace(b"Recipient address rejected: User unknown in", b"Mailbox full, quota exceeded in"))
    if name == "forged-token":
        t = t.replace(b"1234-0123456789abcdef", b"@TOKEN@")
    tpl[name] = t

ORIG = re.compile(rb"<[0-9a-f]{32}@shop\.example>")
MSGID = re.compile(rb"^(Message-I[dD]:[ \t]*)<[^>]*>", re.M)
FROMESC = re.compile(rb"^(>*From )", re.M)
YB = re.compile(rb"\n\n([A-Za-z0-9+/=\n]+)\n?$")

rnd = random.Random(14)
names = [m[0] for m in MIX]
weights = [m[1] for m in MIX]
info = {m[0]: m for m in MIX}
exp_dec, exp_kind, exp_tpl = {}, {}, {}
with open(out, "wb") as f:
    for (i, addr, mid) in rows:
        name = rnd.choices(names, weights)[0]
        _, _, rcpt, kind, dec = info[name]
        t = tpl[name]
        tok = token(i)
        if name == "forged-token":
            tok = "%d-%016x" % (i, rnd.getrandbits(64))
        a = addr.encode()
        m = t.replace(b"@TOKEN@", tok.encode()).replace(rcpt.encode(), a)
        m = ORIG.sub(mid.encode(), m)
        m = m.replace(b"<not-ours-77@shop.example>", b"<not-ours-%d@shop.example>" % i)
        if name == "yandex-text":  # the bounce text is base64
            b = YB.search(m)
            txt = base64.b64decode(b.group(1)).replace(rcpt.encode(), a)
            enc = base64.encodebytes(txt)
            m = m[:b.start(1)] + enc
        head, sep, body = m.partition(b"\n\n")
        head = MSGID.sub(lambda x: x.group(1) + b"<bench.%d.%s@mx.example>" % (i, name.encode()), head, count=1)
        m = head + sep + FROMESC.sub(rb">\1", body)
        if not m.endswith(b"\n"):
            m += b"\n"
        f.write(b"From MAILER-DAEMON Mon Nov 23 12:00:%02d 2026\n" % (i % 60))
        f.write(m)
        f.write(b"\n")
        exp_dec[dec] = exp_dec.get(dec, 0) + 1
        exp_kind[kind] = exp_kind.get(kind, 0) + 1
        exp_tpl[name] = exp_tpl.get(name, 0) + 1
with open(expect, "w") as e:
    for d in ("applied", "recorded", "ignored", "quarantined"):
        e.write("decision %s %d\n" % (d, exp_dec.get(d, 0)))
    for k in ("hard", "soft", "policy", "complaint", "autoreply", "delayed"):
        e.write("kind %s %d\n" % (k, exp_kind.get(k, 0)))
    for name in names:
        e.write("fixture %s %d\n" % (name, exp_tpl.get(name, 0)))
PYEOF
	mv "$MBOX.tmp" "$MBOX" && echo "$STAMP" >"$MBOX.stamp"
fi
BYTES=$(wc -c <"$MBOX")
MB=$(awk -v b="$BYTES" 'BEGIN { printf "%.1f", b / 1e6 }')
NMSG=$(grep -c '^From ' "$MBOX")
[ "$NMSG" = "$N" ] || die "$MBOX holds $NMSG messages, not $N"

# ---- a) and b) crm-import bounces, twice, into a fresh copy --------------------
DB=$W/run.db
rm -f "$DB" "$DB-wal" "$DB-shm"
cp "$BASE" "$DB" || die "cannot copy the base"
cat "$MBOX" "$DB" >/dev/null # every step reads the file from the page cache
echo "bench/bounces: a) crm-import bounces ($N messages, $MB MB)"
timed crm1 "$IMPORT" --db "$DB" bounces "$MBOX"
c1_s=$secs c1_kb=$kb c1_cpu=$cpu c1_anon=$anon c1_rc=$rc
[ "$rc" = 0 ] || failed "crm-import bounces exited with $rc: $(tail -n 3 "$W/crm1.err")"
echo "bench/bounces: b) crm-import bounces again (everything read before)"
timed crm2 "$IMPORT" --db "$DB" bounces "$MBOX"
c2_s=$secs c2_kb=$kb c2_cpu=$cpu c2_anon=$anon
[ "$rc" = 0 ] || failed "crm-import bounces (again) exited with $rc: $(tail -n 3 "$W/crm2.err")"
# a tenth of the mbox (its first messages) into another fresh copy: the
# peak RSS of N/10 against N's shows whether memory grows with the messages
TENTH=$((N / 10))
awk -v n="$TENTH" '/^From / && ++k > n { exit } { print }' "$MBOX" >"$W/tenth.mbox"
rm -f "$W/tenth.db" "$W/tenth.db-wal" "$W/tenth.db-shm"
cp "$BASE" "$W/tenth.db"
timed crm10 "$IMPORT" --db "$W/tenth.db" bounces "$W/tenth.mbox"
c10_s=$secs c10_kb=$kb c10_anon=$anon c10_cpu=$cpu
[ "$rc" = 0 ] || failed "crm-import bounces (N/10) exited with $rc: $(tail -n 3 "$W/crm10.err")"
rm -f "$W/tenth.db" "$W/tenth.db-wal" "$W/tenth.db-shm" "$W/tenth.mbox"

# ---- c) the peer: Python's email module, parsing only ---------------------------
echo "bench/bounces: c) Python email.message_from_bytes (policy=default), no database, $NPY messages"
cat >"$W/peer.py" <<'PYEOF'
# Splits the mbox as crm-import does (a "From " line after an empty
# line), parses each message with the standard email package and reads
# what a bounce processor needs, from the first MAX messages: the delivery-status fields of each
# recipient, the feedback report's type, or else a status code in the
# text of the first text/plain part; counts them (no database).
import email, email.policy, re, sys
data = open(sys.argv[1], "rb").read()
limit = int(sys.argv[2])
CODE = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")
pol = email.policy.default
n = dsn = arf = text = codes = 0
start = 0
while start < len(data) and n < limit:
    p = data.find(b"\n\nFrom ", start + 1)
    end = len(data) if p < 0 else p + 1
    raw = data[start:end]
    start = end + 1 if p >= 0 else end
    raw = raw[raw.find(b"\n") + 1:]  # the "From " line
    msg = email.message_from_bytes(raw, policy=pol)
    n += 1
    found = False
    to = msg.get("Delivered-To") or msg.get("To")
    for part in msg.walk():
        ct = part.get_content_type()
        if ct == "message/delivery-status":
            found = True
            dsn += 1
            for block in part.get_payload()[1:]:
                st = block.get("Status")
                fr = block.get("Final-Recipient")
                ac = block.get("Action")
                if st and fr and ac:
                    codes += 1
        elif ct == "message/feedback-report":
            found = True
            arf += 1
            fb = part.get_payload()
            fb = fb[0] if isinstance(fb, list) else fb
            if fb.get("Feedback-Type"):
                codes += 1
    if not found:
        for part in msg.walk():
            if part.get_content_type() == "text/plain":
                text += 1
                if CODE.search(part.get_content()):
                    codes += 1
                break
print("%d messages, %d delivery-status parts, %d feedback reports, %d texts searched, "
      "%d status codes or feedback types" % (n, dsn, arf, text, codes))
PYEOF
timed py "$PY" "$W/peer.py" "$MBOX" "$NPY"
p_s=$secs p_kb=$kb p_cpu=$cpu
[ "$rc" = 0 ] || failed "the Python peer exited with $rc: $(tail -n 3 "$W/py.err")"
PY_N=$(sed -n 's/^\([0-9]*\) messages.*/\1/p' "$W/py.out")
[ "$PY_N" = "$NPY" ] || failed "the Python peer read ${PY_N:-no} messages, not $NPY"

# ---- d) the physical limit ------------------------------------------------------
echo "bench/bounces: d) cat and sha256sum of the mbox"
best_of() { # best_of NAME CMD...: the best of 3 wall times in $secs
	_b=
	for _r in 1 2 3; do
		timed "$@"
		_b=$(awk -v a="$secs" -v b="${_b:-$secs}" 'BEGIN { print (a < b ? a : b) }')
	done
	secs=$_b
}
best_of cat sh -c 'cat "$1" >/dev/null' sh "$MBOX"
cat_s=$secs
best_of sha sha256sum "$MBOX"
sha_s=$secs

# ---- checks ----------------------------------------------------------------------
ROWS=$(sqlite3 "$DB" "SELECT count(*) FROM inbound")
[ "$ROWS" = "$N" ] || failed "inbound has $ROWS rows, not $N (one per message)"
sqlite3 "$DB" "SELECT decision, count(*) FROM inbound GROUP BY decision" | tr '|' ' ' >"$W/got.decisions"
sqlite3 "$DB" "SELECT kind, count(*) FROM inbound GROUP BY kind" | tr '|' ' ' >"$W/got.kinds"
got() { awk -v k="$2" '$1 == k { print $2; f = 1 } END { if (!f) print 0 }' "$W/got.$1"; }
want() { awk -v t="$1" -v k="$2" '$1 == t && $2 == k { print $3 }' "$EXPECT"; }
SUMMARY=$(grep ' read: ' "$W/crm1.err" | tail -n 1)
SUMMARY2=$(grep ' read: ' "$W/crm2.err" | tail -n 1)
DEC_LINE=
for d in applied recorded ignored quarantined; do
	g=$(got decisions "$d")
	e=$(want decision "$d")
	DEC_LINE="$DEC_LINE $d $g/$e"
	[ "$g" = "$e" ] || failed "$g messages $d, the mix says $e"
	s=$(echo "$SUMMARY" | sed -n "s/.* \([0-9]*\) $d.*/\1/p")
	[ "$s" = "$e" ] || failed "the summary says ${s:-no} $d, the mix $e"
done
KIND_LINE=
for k in hard soft policy complaint autoreply delayed; do
	KIND_LINE="$KIND_LINE $k $(got kinds "$k")/$(want kind "$k")"
done
AGAIN=$(echo "$SUMMARY2" | sed -n 's/.*; \([0-9]*\) read before.*/\1/p')
[ "$AGAIN" = "$N" ] || failed "the second run read ${AGAIN:-no} messages before, not $N"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM inbound")" = "$N" ] || failed "the second run added rows"
EVENTS=$(sqlite3 "$DB" "SELECT count(*) FROM events")
SUPP=$(sqlite3 "$DB" "SELECT count(*) FROM address_suppressions")
BOUNCED=$(sqlite3 "$DB" "SELECT count(*) FROM messages WHERE status = 'bounced'")
DBMB=$(cat "$DB" "$DB-wal" 2>/dev/null | wc -c | awk '{ printf "%.1f", $1 / 1048576 }')

# ---- report ----------------------------------------------------------------------
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a)
c1_r=$(rate "$N" "$c1_s")
c2_r=$(rate "$N" "$c2_s")
p_r=$(rate "$NPY" "$p_s")
cat_r=$(rate "$N" "$cat_s")
sha_r=$(rate "$N" "$sha_s")
mbs() { # mbs SECONDS [MESSAGES]: MB/s, of the messages' share of the file
	awk -v b="$BYTES" -v s="$1" -v m="${2:-$N}" -v n="$N" \
		'BEGIN { if (s > 0) printf "%.1f", b * m / n / 1e6 / s; else print "-" }'
}
echo
echo "crm-import bounces: $N messages ($MB MB, $(awk -v b="$BYTES" -v n="$N" 'BEGIN { printf "%.0f", b / n }') bytes each) into a base"
echo "of $N customers and $N outbox rows; $(nproc 2>/dev/null || echo ?) CPUs, load average $LOAD0 at the start, $LOAD1 at the end"
printf '%-40s %9s %8s %9s %7s %9s %7s\n' run messages seconds "msgs/s" "MB/s" "peak MiB" "CPU s"
row() { printf '%-40s %9s %8s %9s %7s %9s %7s\n' "$1" "${5:-$N}" "$2" "$(rate "${5:-$N}" "$2")" \
	"$(mbs "$2" "${5:-$N}")" "$3" "$4"; }
row "crm-import bounces (fresh base)" "$c1_s" "$(mib "$c1_kb")" "$c1_cpu"
row "crm-import bounces, first tenth only" "$c10_s" "$(mib "$c10_kb")" "$c10_cpu" "$TENTH"
row "crm-import bounces again (read before)" "$c2_s" "$(mib "$c2_kb")" "$c2_cpu"
row "Python email, parsing only$([ "$NPY" = "$N" ] || echo " (first $NPY)")" "$p_s" "$(mib "$p_kb")" "$p_cpu" "$NPY"
row "sha256sum (best of 3)" "$sha_s" - -
row "cat > /dev/null (best of 3)" "$cat_s" - -
echo "bounces: ratios  crmkit/python $(ratio "$c1_r" "$p_r")  crmkit/read-limit $(ratio "$c1_r" "$cat_r")  crmkit/sha256sum $(ratio "$c1_r" "$sha_r")  again/python $(ratio "$c2_r" "$p_r")  (of messages/s; above 1: crm-import is faster)"
echo "bounces: memory (MiB)  peak RSS $(mib "$c1_kb") for $N messages, $(mib "$c10_kb") for $TENTH, $(mib "$c2_kb") when all were read before; largest RssAnon seen (heap and stacks, without the pages of the mapped mbox) $(mib "$c1_anon") and $(mib "$c10_anon")"
echo "bounces: first run:  ${SUMMARY#*bounces: }"
echo "bounces: second run: ${SUMMARY2#*bounces: }"
echo "bounces: decisions (inbound/mix):$DEC_LINE"
echo "bounces: kinds (inbound/mix):$KIND_LINE"
echo "bounces: inbound $ROWS rows, events $EVENTS, address suppressions $SUPP, outbox rows bounced $BOUNCED; base $DBMB MiB"
echo "bounces: peer: $(cat "$W/py.out")"
[ "$(awk -v a="$c1_kb" -v b="$c10_kb" 'BEGIN { print (a + 0 <= 1.2 * b + 2048) }')" = 1 ] && flat=yes || flat=no
[ "$(awk -v a="$c1_anon" -v b="$c10_anon" 'BEGIN { print (a + 0 <= 1.2 * b + 2048) }')" = 1 ] && aflat=yes || aflat=no
echo "bounces: memory flat (N's at most 1.2 x N/10's + 2 MiB): RssAnon $aflat; peak RSS $flat (it counts the mapped mbox's pages, dropped behind a 16 MiB window)"
if [ -n "$FAILED" ]; then
	echo "bench/bounces: failed:$FAILED (logs in $W)" >&2
	exit 1
fi
rm -f "$DB" "$DB-wal" "$DB-shm"
exit 0
