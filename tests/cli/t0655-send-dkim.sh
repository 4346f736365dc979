#!/bin/sh
# crm-send signs its e-mails with DKIM when crm.conf has [dkim] (issue 14):
# RSA-SHA256 and Ed25519-SHA256 (RFC 8463) side by side, relaxed/relaxed,
# From over-signed. Every message the SMTP server stores (and every one
# of an mbox) is checked by an independent verifier, Debian's python3-dkim,
# against the TXT records crm-send --check-dns prints: non-ASCII subjects
# and display names (RFC 2047), a subject mime folds, text and HTML parts,
# List-Unsubscribe. An altered body, subject or an added From fails. Bad
# keys (missing, garbage, 512-bit RSA, readable by all, encrypted, EC) and
# a domain that does not align with From are errors before anything is sent.
. "$CRM_TOP/tests/lib.sh"

start_smtpd || exit 1

# verify DNSFILE MSG: one line per DKIM-Signature of MSG, "sig N pass" or
# "sig N fail: why", checked by python3-dkim with the records of DNSFILE
# (the lines "NAME. IN TXT "..." "..."" crm-send --check-dns prints)
cat >verify.py <<'EOF_'
import re, sys
import dkim
recs = {}
for line in open(sys.argv[1]):
    m = re.match(r'^(\S+)\. IN TXT (.*)$', line.strip())
    if m:
        recs[m.group(1).lower() + '.'] = ''.join(re.findall(r'"([^"]*)"', m.group(2))).encode()
def dns(name, timeout=5):
    return recs.get(name.decode().lower())
msg = re.sub(rb'\r?\n', b'\r\n', open(sys.argv[2], 'rb').read())
d = dkim.DKIM(msg)
n = len([h for h in d.headers if h[0].lower() == b'dkim-signature'])
if n == 0:
    print("no signature")
for i in range(n):
    try:
        print("sig %d %s" % (i, "pass" if d.verify(idx=i, dnsfunc=dns) else "fail"))
    except Exception as e:
        print("sig %d fail: %s" % (i, e))
EOF_
verify() {
	"$PY" verify.py "$@"
}

# conf [LINE...]: crm.conf with [smtp], [email], [unsubscribe] and the
# given lines (a [dkim] section)
conf() {
	{
		printf '[smtp]\nurl = smtp://127.0.0.1:%s\n[email]\nfrom = Магазин «Ромашка» <shop@example.com>\n' \
			"$SMTP_PORT"
		printf '[unsubscribe]\nurl = https://shop.example.com/u\n'
		for _l; do echo "$_l"; done
	} >crm.conf
	chmod 600 crm.conf
}
both='[dkim]
domain = example.com
selector = s2026
key_file = '$TEST_DIR'/rsa.key
selector.ed = e2026
key_file.ed = '$TEST_DIR'/ed.key'

# a subject long enough to be folded, with Cyrillic and an emoji
cat >m.tmpl <<'EOF_'
Subject: Привет, {{first_name}}! Our autumn sale ends on Sunday — every item in the shop is 20% off 🍂
From: Магазин «Ромашка» <shop@example.com>

Hello {{first_name}},

the sale ends on Sunday.  Trailing blanks here:   
and a line with a dot:
.
Unsubscribe: {{unsubscribe_url}}
--- html ---
<p>Hello {{first_name}},</p>
<p>the sale ends on <b>Sunday</b>.</p>
EOF_

# eml ADDR: the stored message for ADDR (the last one)
eml() {
	grep -l "^X-Test-Rcpt: $1" "$SPOOL"/*.eml | tail -n 1
}

test_expect 'setup: keys (RSA 2048, Ed25519), customers with non-ASCII names' '
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.key 2>/dev/null &&
	openssl genpkey -algorithm ed25519 -out ed.key 2>/dev/null &&
	chmod 600 rsa.key ed.key &&
	printf "id,email,first_name,email_consent\nD1,d1@example.org,Анна-Мария,yes\nD2,d2@example.org,José,yes\nD3,d3@example.org,Bob,yes\nD4,d4@example.org,Zoë,yes\nD5,d5@example.org,Ann,yes\nD6,d6@example.org,Ann,yes\n" >c.csv &&
	crm-import customers c.csv 2>/dev/null
'

test_expect '--check-dns prints the DKIM records (k=rsa, k=ed25519), SPF and DMARC' '
	conf "$both" &&
	run 0 crm-send --check-dns example.com &&
	cat out &&
	cp out dns.txt &&
	rsa=$(openssl pkey -in rsa.key -pubout -outform DER | base64 -w0) &&
	ed=$(openssl pkey -in ed.key -pubout -outform DER | tail -c 32 | base64 -w0) &&
	grep "^s2026._domainkey.example.com. IN TXT \"v=DKIM1; k=rsa; p=" out | tr -d "\" " |
		grep -qF "k=rsa;p=$rsa" &&
	expect_grep "e2026._domainkey.example.com. IN TXT \"v=DKIM1; k=ed25519; p=$ed\"" out &&
	expect_grep "example.com. IN TXT \"v=spf1 mx ~all\"" out &&
	expect_grep "_dmarc.example.com. IN TXT \"v=DMARC1; p=none; rua=mailto:dmarc-reports@example.com\"" out &&
	expect_eq "" "$(awk "length > 255 + 60" out | grep -v "IN TXT" || true)" &&
	for s in $(grep -o "\"[^\"]*\"" out); do
		test ${#s} -le 257 || { echo "a TXT string over 255 bytes: $s"; exit 1; }
	done
'

test_expect '--check-dns: another domain that does not align, no [dkim], a bad domain' '
	run 1 crm-send --check-dns example.net &&
	expect_grep "[dkim] domain example.com does not align with example.net" err &&
	conf &&
	run 1 crm-send --check-dns example.com &&
	expect_grep "no [dkim] section" err &&
	run 2 crm-send --check-dns "exa mple.com" &&
	expect_grep "not a domain name" err &&
	run 2 crm-send --check-dns example.com --campaign x &&
	expect_grep "takes no campaign" err
'

test_expect 'SMTP: every message carries an RSA and an Ed25519 signature, and both verify' '
	conf "$both" &&
	printf "id\nD1\nD2\nD3\n" >to.csv &&
	run 0 crm-send --campaign dkim1 --channel email --template m.tmpl -f csv to.csv &&
	expect_grep "3 planned, 3 sent" err &&
	for a in d1 d2 d3; do
		f=$(eml $a@example.org) &&
		verify dns.txt "$f" >v.out &&
		cat v.out &&
		expect_eq "sig 0 pass
sig 1 pass" "$(cat v.out)" &&
		expect_eq 1 "$(grep -c "^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com;" "$f")" &&
		expect_eq 1 "$(grep -c "^DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.com;" "$f")" || exit 1
	done
'

test_expect 'the signed message: non-ASCII subject and name encoded, folded subject, From over-signed' '
	f=$(eml d1@example.org) &&
	cat "$f" &&
	expect_grep "From: =?UTF-8?" "$f" &&
	expect_grep "Subject: =?UTF-8?" "$f" &&
	awk "/^Subject:/ { s = 1; next } s && /^[ \t]/ { n++ } s && !/^[ \t]/ { s = 0 } END { exit !(n >= 1) }" "$f" &&
	grep -q "^List-Unsubscribe: <https://shop.example.com/u" "$f" &&
	grep -q "multipart/alternative" "$f" &&
	tr -d "\r\n\t " <"$f" | grep -o ";h=[^;]*;" | head -n 1 | sed "s/^;h=/:/" >h.txt &&
	cat h.txt &&
	expect_eq 2 "$(tr ":;" "\n\n" <h.txt | grep -ci "^from$")" &&
	grep -qi "list-unsubscribe:" h.txt && grep -qi ":subject:" h.txt &&
	grep -q "s=s2026" "$f" && grep -q "s=e2026" "$f" && grep -q "t=1795435200" "$f"
'

test_expect 'an altered body, subject or an added From fails both signatures (the verifier can fail)' '
	f=$(eml d2@example.org) &&
	sed "s/^PHA+SGVsbG8g/PHA+SGVsbG9/; s/^Hello /Hallo /" "$f" >body.eml &&
	! cmp -s "$f" body.eml &&
	verify dns.txt body.eml >v.out && cat v.out &&
	expect_eq 2 "$(grep -c "fail: body hash mismatch" v.out)" &&
	sed "s/^Subject: =?UTF-8?/Subject: =?utf-8?/" "$f" >subj.eml &&
	! cmp -s "$f" subj.eml &&
	verify dns.txt subj.eml >v.out && cat v.out &&
	expect_eq 2 "$(grep -c "fail" v.out)" &&
	awk "/^Date:/ && !done { print \"From: Boss <boss@example.com>\r\"; done = 1 } { print }" "$f" >from.eml &&
	verify dns.txt from.eml >v.out && cat v.out &&
	expect_eq 2 "$(grep -c "fail" v.out)" &&
	verify dns.txt "$f" >v.out && expect_eq 0 "$(grep -c fail v.out || true)"
'

test_expect 'a signature does not verify with the wrong key in DNS' '
	openssl genpkey -algorithm ed25519 -out other.key 2>/dev/null &&
	o=$(openssl pkey -in other.key -pubout -outform DER | tail -c 32 | base64 -w0) &&
	sed "s|^e2026._domainkey.*|e2026._domainkey.example.com. IN TXT \"v=DKIM1; k=ed25519; p=$o\"|" dns.txt >wrong.txt &&
	verify wrong.txt "$(eml d3@example.org)" >v.out && cat v.out &&
	grep -q "^sig 0 pass" v.out && grep -q "^sig 1 fail" v.out
'

test_expect 'one RSA key only (PKCS#1 PEM): one signature, it verifies' '
	openssl pkey -in rsa.key -traditional -out rsa1.key && chmod 600 rsa1.key &&
	head -n 1 rsa1.key | grep -q "BEGIN RSA PRIVATE KEY" &&
	conf "[dkim]" "domain = example.com" "selector = s2026" "key_file = $TEST_DIR/rsa1.key" \
		"headers = From:To:Subject:Date:Message-ID" &&
	printf "id\nD4\n" | run 0 crm-send --campaign dkim2 --channel email --template m.tmpl -f csv &&
	f=$(eml d4@example.org) &&
	expect_eq 1 "$(grep -c "^DKIM-Signature:" "$f")" &&
	verify dns.txt "$f" >v.out && cat v.out &&
	expect_eq "sig 0 pass" "$(cat v.out)"
'

test_expect 'mbox output is signed too, and verifies' '
	conf "$both" &&
	printf "id\nD5\n" | run 0 crm-send --campaign dkim3 --channel file --mbox -o out.mbox --no-consent \
		--template m.tmpl -f csv &&
	expect_eq 2 "$(grep -c "^DKIM-Signature:" out.mbox)" &&
	tail -n +2 out.mbox >m.eml &&
	verify dns.txt m.eml >v.out && cat v.out &&
	expect_eq "sig 0 pass
sig 1 pass" "$(cat v.out)"
'

test_expect 'a subdomain of the From domain signs too (relaxed alignment)' '
	openssl genpkey -algorithm ed25519 -out sub.key 2>/dev/null && chmod 600 sub.key &&
	conf "[dkim]" "domain = mail.example.com" "selector = m1" "key_file = $TEST_DIR/sub.key" &&
	run 0 crm-send --check-dns example.com &&
	cp out subdns.txt &&
	expect_grep "m1._domainkey.mail.example.com. IN TXT" out &&
	printf "id\nD6\n" | run 0 crm-send --campaign dkim4 --channel email --template m.tmpl -f csv &&
	verify subdns.txt "$(eml d6@example.org)" >v.out && cat v.out &&
	expect_eq "sig 0 pass" "$(cat v.out)"
'

# bad KEYFILE REASON [CONF_LINE...]: a run with that key fails with exit 1
# before anything is planned or sent, naming the file and the reason
bad() {
	_k=$1 _why=$2
	shift 2
	conf "[dkim]" "domain = example.com" "selector = s1" "key_file = $_k" "$@" &&
	_n=$(spooled) &&
	printf "id\nD1\nD2\n" | run 1 crm-send --campaign "bad$_n$(date +%N)" --channel email \
		--template m.tmpl -f csv &&
	cat err &&
	expect_grep "crm.conf: [dkim] key_file $_k: $_why" err &&
	expect_eq "$_n" "$(spooled)" &&
	expect_eq 0 "$(sql "SELECT count(*) FROM campaigns WHERE name LIKE 'bad%'")" &&
	run 1 crm-send --check-dns example.com &&
	expect_grep "$_why" err
}

test_expect 'a missing key file: an error naming it, nothing sent' '
	bad "$TEST_DIR/nokey.pem" "cannot read: No such file or directory"
'

test_expect 'a garbage key file: an error, nothing sent' '
	head -c 300 /dev/urandom | base64 >garbage.key && chmod 600 garbage.key &&
	bad "$TEST_DIR/garbage.key" "not a PEM file" &&
	{ echo "-----BEGIN PRIVATE KEY-----"; head -c 300 /dev/urandom | base64;
	  echo "-----END PRIVATE KEY-----"; } >garbage2.key && chmod 600 garbage2.key &&
	bad "$TEST_DIR/garbage2.key" "not a private key OpenSSL can read"
'

test_expect 'a 512-bit RSA key: too short, nothing sent; 1024 bits: a warning' '
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:512 -out short.key 2>/dev/null &&
	chmod 600 short.key &&
	bad "$TEST_DIR/short.key" "an RSA key of 512 bits is too short: DKIM needs 1024 at least (RFC 8301)" &&
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out k1024.key 2>/dev/null &&
	chmod 600 k1024.key &&
	conf "[dkim]" "domain = example.com" "selector = s1" "key_file = $TEST_DIR/k1024.key" &&
	run 0 crm-send --check-dns example.com &&
	expect_grep "an RSA key of 1024 bits: 2048 are recommended" err
'

test_expect 'a key others can read, an encrypted key, an EC key, a public key: errors' '
	cp ed.key open.key && chmod 644 open.key &&
	bad "$TEST_DIR/open.key" "a private key that others can read (mode 644): chmod 600 it" &&
	openssl pkey -in ed.key -aes256 -passout pass:secret -out enc.key && chmod 600 enc.key &&
	bad "$TEST_DIR/enc.key" "an encrypted key: crm-send cannot ask for its passphrase" &&
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.key 2>/dev/null &&
	chmod 600 ec.key &&
	bad "$TEST_DIR/ec.key" "a key of type id-ecPublicKey: DKIM signs with RSA or Ed25519" &&
	openssl pkey -in ed.key -pubout -out pub.key && chmod 600 pub.key &&
	bad "$TEST_DIR/pub.key" "a public key: DKIM signs with the private one"
'

test_expect '[dkim] domain not aligned with [email] from: an error, nothing sent' '
	conf "[dkim]" "domain = example.net" "selector = s1" "key_file = $TEST_DIR/ed.key" &&
	n=$(spooled) &&
	printf "id\nD1\n" | run 1 crm-send --campaign align --channel email --template m.tmpl &&
	expect_grep "crm.conf: [dkim] domain example.net does not align with [email] from" err &&
	expect_grep "DMARC passes only when" err &&
	expect_eq "$n" "$(spooled)"
'

test_expect 'a template whose From does not align: that message fails, with the reason' '
	conf "$both" &&
	printf "From: Other <news@other.example>\nSubject: hi\n\nHello.\n" >other.tmpl &&
	n=$(spooled) &&
	printf "id\nD1\n" | run 3 crm-send --campaign align2 --channel email --template other.tmpl -f csv &&
	cat out &&
	expect_grep "failed,the From domain other.example does not align with [dkim] domain example.com" out &&
	expect_eq "$n" "$(spooled)"
'

test_expect 'configuration errors: no domain, a selector without key_file, an unknown key, From not signed' '
	conf "[dkim]" "selector = s1" "key_file = $TEST_DIR/ed.key" &&
	printf "id\nD1\n" | run 1 crm-send --campaign c1 --channel email --template m.tmpl &&
	expect_grep "[dkim] has no domain" err &&
	conf "[dkim]" "domain = example.com" "selector = s1" "key_file = $TEST_DIR/ed.key" "selector.ed = e1" &&
	printf "id\nD1\n" | run 1 crm-send --campaign c1 --channel email --template m.tmpl &&
	expect_grep "[dkim] selector.ed has no key_file.ed" err &&
	conf "[dkim]" "domain = example.com" "selector = s1" "key-file = $TEST_DIR/ed.key" &&
	printf "id\nD1\n" | run 1 crm-send --campaign c1 --channel email --template m.tmpl &&
	expect_grep "[dkim] unknown key \"key-file\"" err &&
	conf "[dkim]" "domain = example.com" "selector = s1" "key_file = $TEST_DIR/ed.key" "headers = to:subject" &&
	printf "id\nD1\n" | run 1 crm-send --campaign c1 --channel email --template m.tmpl &&
	expect_grep "[dkim] headers must name From" err &&
	conf "[dkim]" "domain = example.com" "selector = s1" "key_file = $TEST_DIR/ed.key" \
		"selector.b = s1" "key_file.b = $TEST_DIR/rsa.key" &&
	printf "id\nD1\n" | run 1 crm-send --campaign c1 --channel email --template m.tmpl &&
	expect_grep "two keys with the selector s1" err &&
	expect_eq 0 "$(sql "SELECT count(*) FROM campaigns WHERE name = '\''c1'\''")"
'

test_expect 'a dry run checks the keys too' '
	conf "[dkim]" "domain = example.com" "selector = s1" "key_file = $TEST_DIR/short.key" &&
	printf "id\nD1\n" | run 1 crm-send -n --campaign dry --channel email --template m.tmpl &&
	expect_grep "too short" err
'

test_done
