#!/bin/sh
# Personal data and secrets: files holding personal data are created 0600
# under umask 022 (the database with its -wal and -shm, rejects files,
# crm-report's exports and pages), also when a file of that name already
# exists with a looser mode; no program prints an e-mail address or a
# phone number from its input or the base on stderr by default (dirty
# data fed to every one of them); configuration secrets are refused in a
# file others can read (group or world) and never printed.
# Elsewhere: t0605 and t0622 (secrets of crm-send over SMTP and HTTP: no
# secret in -vvvv traces, error messages, the outbox, /proc/PID/cmdline),
# t0100 and t0110 (database and rejects modes).
. "$CRM_TOP/tests/lib.sh"

# every e-mail address and phone number (E.164 or as typed) of the input
cat >people.csv <<'EOF_'
id,email,phone,first_name,birthday,city
S1,ann.secret@example.com,+7 916 111-22-33,Ann,1990-13-45,Kazan
S2,"bob@@example..com",12,Bob,31/31/2000,Omsk
S3,cem.private@example.com,+79161112244,Cem,,Perm
,dan.nokey@bad,++7999,Dan,,
S1,ann.secret@example.com,+7 916 999-88-77,Ann,,
,,,,,
S5,eve.hidden@example.com,not-a-phone-+79160000005,Eve,,
,fay.unknown@example.com,,Fay,,
EOF_
printf 'Subject: hi {{first_name}}\n\nHello\n' >t.tmpl
PII='ann.secret
bob@
cem.private
dan.nokey
eve.hidden
fay.unknown
ghost.person
nobody.here
9161112233
916 111
9161112244
9169998877
7999
9160000005
9165550000
9169990001'

# no_pii FILE...: none of the addresses or numbers above is in FILE
no_pii() {
	if grep -iF -e "$PII" "$@"; then
		echo "personal data in $*"
		return 1
	fi
}

test_expect 'crm-import: dirty customers, orders, events, consents and erasures; no PII on stderr' '
	run 3 crm-import -c RU --rejects rej.csv customers people.csv &&
	cp err import.err &&
	printf "customer_id,ordered_at,amount,currency\nnobody.here@example.com,2026-01-01,12x,RUB\n+79165550000,2026-01-01,5,RUB\nS1,garbage,5,RUB\n" >o.csv &&
	run 3 crm-import --strict orders o.csv && cat err >>import.err &&
	printf "email,type,occurred_at\nghost.person@example.com,visit,never\ncem.private@example.com,,2026-01-01\n" >e.csv &&
	run 3 crm-import events e.csv && cat err >>import.err &&
	printf "email,channel,granted\nghost.person@example.com,email,yes\ncem.private@example.com,sms,maybe\n+79169990001,fax,yes\n" >c.csv &&
	run 3 crm-import consents c.csv && cat err >>import.err &&
	printf "email\nghost.person@example.com\nnot-an-address\ncem.private@example.com\n" >er.csv &&
	run 3 crm-import erase er.csv && cat err >>import.err &&
	test "$(grep -c "" import.err)" -ge 10 &&
	no_pii import.err
'

test_expect 'crm-segment, crm-send, crm-score, crm-report: customers that are not found or invalid; no PII on stderr' '
	printf "email,phone\nnobody.here@example.com,\nann.secret@example.com,\n,+79169990001\n,12345\n" >who.csv &&
	run 0 crm-segment -f csv --input who.csv "orders >= 0" && cp err seg.err &&
	expect_grep "warning" seg.err &&
	{ crm-send --campaign pii --channel file --no-consent --template t.tmpl -o sent.txt -f csv who.csv 2>send.err >/dev/null || true; } &&
	printf "customer_id,ordered_at,amount,currency\nS1,2026-01-01,5,RUB\nS5,2026-02-01,7,RUB\n" >o2.csv &&
	run 0 crm-import orders o2.csv &&
	run 0 crm-score rfm && cp err score.err &&
	{ crm-report customer nobody.here@example.com >/dev/null 2>report.err || true; } &&
	{ crm-report customer +79169990001 >/dev/null 2>>report.err || true; } &&
	expect_grep "no customer with that e-mail" report.err &&
	no_pii seg.err send.err score.err report.err
'

test_expect 'with -v the value is shown (so that a person can fix the file)' '
	run 0 crm-segment -v -f csv --input who.csv "orders >= 0" &&
	expect_grep "nobody.here@example.com" err
'

test_expect 'the database and its -wal and -shm are 0600 under umask 022' '
	rm -f m.db m.db-wal m.db-shm &&
	run 3 crm-import --db m.db customers people.csv &&
	# a reader keeps the -wal and -shm files alive after the import
	{ echo "BEGIN; SELECT count(*) FROM customers;"; sleep 1; echo "COMMIT;"; } | sqlite3 m.db >/dev/null &
	reader=$!
	sleep 0.3 &&
	run 3 crm-import --db m.db customers people.csv &&
	expect_mode 600 m.db &&
	expect_mode 600 m.db-wal &&
	expect_mode 600 m.db-shm &&
	wait $reader
'

test_expect 'every program that can create the database creates it 0600' '
	rm -f s.db* &&
	run 0 crm-segment --db s.db --save lapsed "orders = 0" &&
	expect_mode 600 s.db &&
	rm -f n.db* &&
	{ printf "id\nS1\n" | crm-send --db n.db --campaign x --channel file --no-consent --template t.tmpl -o /dev/null 2>/dev/null || true; } &&
	if test -e n.db; then expect_mode 600 n.db; fi
'

test_expect 'rejects, exports and HTML pages: 0600, also over an existing 0644 file' '
	touch rej2.csv exp.csv page.html && chmod 644 rej2.csv exp.csv page.html &&
	run 3 crm-import -c RU --rejects rej2.csv customers people.csv &&
	expect_mode 600 rej2.csv &&
	expect_grep "dan.nokey@bad" rej2.csv &&
	run 0 crm-report export customers -o exp.csv &&
	expect_mode 600 exp.csv &&
	expect_grep "ann.secret@example.com" exp.csv &&
	run 0 crm-report export customers -o new-exp.csv &&
	expect_mode 600 new-exp.csv &&
	run 0 crm-report --html page.html &&
	expect_mode 600 page.html &&
	run 0 crm-report --html new-page.html &&
	expect_mode 600 new-page.html
'

test_expect 'crm-send --channel file -o: the rendered messages are 0600, also appended to an existing 0644 file' '
	rm -f out.eml &&
	printf "id\nS1\n" | crm-send --campaign modes --channel file --no-consent --template t.tmpl -o out.eml -f csv >/dev/null 2>&1 &&
	expect_mode 600 out.eml &&
	printf "earlier hand-off\n" >old.eml && chmod 644 old.eml &&
	printf "id\nS1\n" | crm-send --campaign modes2 --channel file --no-consent --template t.tmpl -o old.eml -f csv >/dev/null 2>&1 &&
	expect_mode 600 old.eml &&
	expect_eq "earlier hand-off" "$(head -1 old.eml)" &&
	test "$(wc -l <old.eml)" -gt 1
'

test_expect 'a FIFO (as /dev/null or a pipe) given as an output keeps its mode: only regular files are made 0600' '
	mkfifo fifo && chmod 644 fifo &&
	{ cat fifo >fifo.out & } &&
	run 0 crm-report export customers -o fifo &&
	wait &&
	expect_grep "ann.secret@example.com" fifo.out &&
	expect_mode 644 fifo &&
	{ cat fifo >fifo.out & } &&
	run 3 crm-import -c RU --rejects fifo customers people.csv &&
	wait &&
	expect_grep "dan.nokey@bad" fifo.out &&
	expect_mode 644 fifo &&
	{ cat fifo >fifo.out & } &&
	printf "id\nS1\n" | crm-send --campaign modes3 --channel file --no-consent --template t.tmpl -o fifo -f csv >/dev/null 2>&1 &&
	wait &&
	expect_grep "S1" fifo.out &&
	expect_mode 644 fifo
'

test_expect 'a secret in a config file that the group or others can read is refused, without printing it' '
	for m in 640 604 660 644; do
		printf "[smtp]\nurl = smtp://127.0.0.1:9\npassword = Zq9-top-secret\n[email]\nfrom = shop@example.com\n" >sec.conf &&
		chmod $m sec.conf &&
		printf "id\nS3\n" | run 1 crm-send --config sec.conf --campaign conf$m --channel email --template t.tmpl &&
		expect_grep "password is a secret, but others can read the file (mode 0$m)" err &&
		expect_no_grep "Zq9-top-secret" err &&
		expect_no_grep "Zq9-top-secret" out || return 1
	done &&
	expect_eq 0 "$(sql "SELECT count(*) FROM campaigns WHERE name LIKE '\''conf%'\''")"
'

test_expect 'a secret named by _env in a readable file is fine, and never printed' '
	printf "[smtp]\nurl = smtp://127.0.0.1:9\npassword_env = T_SECRET\n[email]\nfrom = shop@example.com\n" >env.conf &&
	chmod 644 env.conf &&
	{ printf "id\nS1\n" | T_SECRET=Zq9-env-secret crm-send -v -v --config env.conf --campaign envsec \
		--channel email --template t.tmpl --max-wait 0 -f csv >out 2>err || true; } &&
	expect_grep "S1,email," out &&
	expect_no_grep "password is a secret" err &&
	expect_no_grep "Zq9-env-secret" err &&
	expect_no_grep "Zq9-env-secret" out &&
	expect_no_grep "Zq9-env-secret" crm.db
'

test_done
