#!/bin/sh
# Config and messages (issue 19, item 3): an unknown section or key of
# crm.conf is a warning with file:line and a did-you-mean (once per run),
# an error with --strict that does nothing; did-you-mean for report names,
# channels, template fields and presets; a template's From: is enough
# without [email] from; --version names each library linked, with its
# version.
. "$CRM_TOP/tests/lib.sh"

printf "id,email,first_name,email_consent\nP1,ann@example.com,Ann,yes\nP2,bob@example.com,Bob,yes\n" >people.csv

test_expect 'unknown key and section: a warning naming file:line, with did you mean' '
	printf "[email]\nfrom = a@example.com\n\nform = b@example.com\n[smpt]\nurl = smtp://127.0.0.1:1\n" >crm.conf &&
	run 0 crm-import customers people.csv &&
	expect_grep "crm-import: crm.conf:4: warning: unknown key \"form\" in [email]; did you mean \"from\"?" err &&
	expect_grep "crm-import: crm.conf:5: warning: unknown section [smpt]; did you mean \"smtp\"?" err &&
	expect_eq 2 "$(grep -c "warning: unknown" err)" &&
	expect_eq 2 "$(sql "SELECT count(*) FROM customers")"
'

test_expect 'patterns: free-form sections and stems (hook.*, event.*, selector.NAME)' '
	cat >crm.conf <<-\EOF_ &&
	[hook.ses]
	preset = ses
	anything = goes
	[hooks.tg]
	preset = telegram
	[collector.web]
	tokn = 0123456789abcdef0123
	[loyalty]
	event.review = 50
	evnt.app_install = 10
	[dkim]
	selector.ed = e2026
	selectr.rsa = r2026
	[sms]
	account_sid = AC1
	auth_token_env = X
	EOF_
	run 0 crm-import customers people.csv &&
	expect_grep "crm.conf:4: warning: unknown section [hooks.tg]; did you mean \"hook.tg\"?" err &&
	expect_grep "crm.conf:7: warning: unknown key \"tokn\" in [collector.web]; did you mean \"token\"?" err &&
	expect_grep "crm.conf:10: warning: unknown key \"evnt.app_install\" in [loyalty]; did you mean \"event.app_install\"?" err &&
	expect_grep "crm.conf:13: warning: unknown key \"selectr.rsa\" in [dkim]; did you mean \"selector.rsa\"?" err &&
	expect_eq 4 "$(grep -c "warning: unknown" err)"
'

test_expect 'the example configuration, all of it uncommented, has no unknown name' '
	sed "s/^;\([a-z[]\)/\1/" "$CRM_TOP/examples/crm.conf.example" >crm.conf &&
	grep -q "^\[loyalty\]" crm.conf && grep -q "^selector.ed" crm.conf &&
	run 0 crm-import customers people.csv &&
	expect_no_grep "unknown" err
'

test_expect 'one check a run: a report that reads the file twice warns once' '
	printf "[bounces]\nsoft_limt = 3\n" >crm.conf &&
	run 0 crm-report customer P1 &&
	expect_eq 1 "$(grep -c "unknown key \"soft_limt\" in \[bounces\]; did you mean \"soft_limit\"?" err)"
'

test_expect '--strict: the same names are errors, and nothing is done' '
	cp crm.db before.db &&
	printf "id,email\nP3,cem@example.com\n" >more.csv &&
	printf "[email]\nform = b@example.com\n" >crm.conf &&
	run 1 crm-import --strict customers more.csv &&
	expect_grep "crm-import: crm.conf:2: unknown key \"form\" in [email]; did you mean \"from\"?" err &&
	expect_no_grep "warning" err &&
	expect_grep "crm.conf: 1 unknown name, and --strict: nothing done" err &&
	expect_eq 2 "$(sql "SELECT count(*) FROM customers")" &&
	printf "Subject: hi\n\nHello\n" >s.tmpl &&
	run 1 crm-send --strict --campaign strict --channel file --no-consent --template s.tmpl people.csv &&
	expect_grep "unknown key \"form\"" err &&
	expect_eq 0 "$(sql "SELECT count(*) FROM campaigns")" &&
	expect_eq 0 "$(sql "SELECT count(*) FROM messages")" &&
	test ! -s out &&
	for p in crm-import crm-segment crm-score crm-send crm-report crm-track crm-loyalty; do
		$p --help | grep -q -- "--strict" || { echo "$p --help has no --strict"; exit 1; }
	done
'

test_expect 'crm-loyalty: an unknown [loyalty] key is its error, said once' '
	printf "[loyalty]\nearn = 5%%\npoint_value = 0.01\nbirthdy = 200\n" >crm.conf &&
	run 1 crm-loyalty run &&
	expect_grep "crm.conf:4: [loyalty] birthdy: unknown key (did you mean \"birthday\"?)" err &&
	expect_eq 1 "$(grep -c birthdy err)"
'

test_expect 'did you mean: report names' '
	rm -f crm.conf &&
	run 2 crm-report sumary &&
	expect_grep "unknown report \"sumary\"; did you mean \"summary\"?" err &&
	run 2 crm-report deliverabilty &&
	expect_grep "did you mean \"deliverability\"?" err &&
	run 2 crm-report zzzzzz &&
	expect_no_grep "did you mean" err
'

test_expect 'did you mean: channels' '
	printf "Subject: hi\n\nHello\n" >s.tmpl &&
	run 2 crm-send --campaign c1 --channel emial --template s.tmpl people.csv &&
	expect_grep "unknown channel \"emial\"; did you mean \"email\"?" err &&
	run 2 crm-send --campaign c1 --channel pidgeon-post --template s.tmpl people.csv &&
	expect_grep "unknown channel \"pidgeon-post\" (email, file, sms" err
'

test_expect 'did you mean: template fields, with the template file and line' '
	printf "[smtp]\nurl = smtp://127.0.0.1:1\n[email]\nfrom = a@example.com\n" >crm.conf &&
	printf "Subject: hi\n\nHello,\n{{fisrt_name}}, your {{last_ordr.amount}}\n" >f.tmpl &&
	run 2 crm-send --campaign c1 --channel email --template f.tmpl people.csv &&
	expect_grep "f.tmpl:4:3: unknown field \"fisrt_name\"; did you mean \"first_name\"?" err &&
	expect_grep "f.tmpl:4:24: unknown field \"last_ordr.amount\"; did you mean \"last_order.amount\"?" err
'

test_expect 'did you mean: provider and callback presets' '
	printf "[sms]\npreset = sms-twilo\naccount_sid = AC1\n" >crm.conf &&
	run 1 crm-send --campaign c1 --channel sms --template s.tmpl people.csv &&
	expect_grep "[sms] preset \"sms-twilo\": no sms-twilo.json in" err &&
	expect_grep "; did you mean \"sms-twilio\"?" err &&
	printf "[hook.x]\npreset = sendgird\n" >crm.conf &&
	run 2 crm-track --listen 127.0.0.1:0 &&
	expect_grep "[hook.x] preset \"sendgird\": no sendgird.json in" err &&
	expect_grep "; did you mean \"sendgrid\"?" err
'

start_smtpd || exit 1

test_expect 'From: in the template is enough without [email] from' '
	printf "[smtp]\nurl = smtp://127.0.0.1:$SMTP_PORT\n" >crm.conf &&
	printf "From: Shop <shop@example.com>\nSubject: hi {{first_name}}\n\nHello\n" >from.tmpl &&
	run 0 crm-send --campaign from1 --channel email --template from.tmpl -f csv people.csv &&
	expect_eq 2 "$(grep -c ",email,sent," out)" &&
	expect_eq 2 "$(spooled)" &&
	for f in "$SPOOL"/*.eml; do
		grep -q "^From: Shop <shop@example.com>" "$f" || { cat "$f"; exit 1; }
		# the envelope sender is the From address of the template
		grep -q "^X-Test-From: shop@example.com" "$f" || { cat "$f"; exit 1; }
		# and Message-IDs in its domain, not crmkit.invalid
		grep -q "^Message-ID: <.*@example.com>" "$f" || { cat "$f"; exit 1; }
	done
'

test_expect 'no From anywhere: an error naming the template and the configuration, nothing sent' '
	printf "Subject: hi\n\nHello\n" >nofrom.tmpl &&
	run 1 crm-send --campaign from2 --channel email --template nofrom.tmpl people.csv &&
	expect_grep "nofrom.tmpl: no From address: the template has no From: header, and crm.conf no [email] from" err &&
	expect_eq 2 "$(spooled)" &&
	expect_eq 0 "$(sql "SELECT count(*) FROM messages m JOIN campaigns c ON c.id = m.campaign_id WHERE c.name = '\''from2'\'' AND m.status = '\''sent'\''")"
'

test_expect '--version: every program names each library linked, with a version' '
	for p in crm-import crm-segment crm-score crm-send crm-report crm-track crm-loyalty; do
		$p --version >v.txt &&
		grep -Eq "^$p \(crmkit\) [0-9]+\.[0-9]+" v.txt || { echo "$p:"; cat v.txt; exit 1; }
		for lib in SQLite libcurl OpenSSL cJSON libcsv inih libmicrohttpd GMime GLib; do
			grep -Eq "^$lib [0-9]+(\.[0-9]+)*( |\$)" v.txt ||
				{ echo "$p: no $lib version"; cat v.txt; exit 1; }
		done
	done &&
	expect_grep "SQLite $(sqlite3 -version | cut -d" " -f1)" v.txt &&
	expect_grep "libcurl $(curl-config --version 2>/dev/null | cut -d" " -f2 || echo)" v.txt
'

test_done
