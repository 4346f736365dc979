#!/bin/sh
# make install and make uninstall with PREFIX and DESTDIR, from the
# programs the harness built (make -o all: nothing is rebuilt, so the
# compiled-in DATADIR is the build's, not this PREFIX's): the installed
# programs find their data beside them (share_dir(), lib/share.h),
# CRM_DATADIR overrides it, and uninstall leaves no file behind.
. "$CRM_TOP/tests/lib.sh"

BUILD_DIR=$(dirname "$CRM_BIN")
unset CRM_DATADIR
DEST=$TEST_DIR/dest
PREFIX=/opt/crm-t0004
INST=$DEST$PREFIX

# mk TARGET: make TARGET into $DEST$PREFIX with the harness's build
mk() {
	(cd "$CRM_TOP" && env -u MAKELEVEL -u MAKEFLAGS -u MFLAGS \
		make -s -o all "$1" BUILD="$BUILD_DIR" PREFIX="$PREFIX" DESTDIR="$DEST")
}

# a customer on Telegram, and a dry run that needs the telegram preset
printf 'id,first_name,telegram_chat_id,telegram_consent\nC1,Ann,100200300,yes\n' >people.csv
printf 'Subject: hi\n\nHello {{first_name}}\n' >hello.tmpl
printf 'id\nC1\n' >one.ids
printf '[telegram]\ntoken_env = TG_TOKEN\n' >crm.conf
crm-import customers people.csv 2>/dev/null
dry() { "$@" -n --channel telegram --campaign dry --template hello.tmpl -f csv one.ids; }

test_expect 'make install puts programs, pages and data under DESTDIR/PREFIX' '
	run 0 mk install &&
	for p in crm-import crm-segment crm-score crm-send crm-report crm-track crm-loyalty; do
		test -x "$INST/bin/$p" || { echo "no $INST/bin/$p"; exit 1; }
	done &&
	test -f "$INST/share/man/man1/crm-send.1" && test -f "$INST/share/man/man7/crm.7" &&
	test -f "$INST/share/crmkit/providers/telegram.json" &&
	test -f "$INST/share/crmkit/track/machines" &&
	test -f "$INST/share/crmkit/hooks/mailgun.json"
'

test_expect 'the installed crm-send finds its presets beside it, CRM_DATADIR unset' '
	run 0 dry "$INST/bin/crm-send" &&
	expect_grep "C1,telegram,sent,,dry run" out &&
	mv "$INST/share/crmkit/providers/telegram.json" tg.json &&
	run 1 dry "$INST/bin/crm-send" &&
	expect_grep "[telegram] preset \"telegram\": no telegram.json in $INST/share/crmkit/providers" err &&
	mv tg.json "$INST/share/crmkit/providers/telegram.json"
'

test_expect 'CRM_DATADIR wins over the installed data' '
	mkdir -p data/providers &&
	cp "$CRM_TOP/share/providers/telegram.json" data/providers/ &&
	mv "$INST/share/crmkit/providers/telegram.json" tg.json &&
	CRM_DATADIR=$PWD/data run 0 dry "$INST/bin/crm-send" &&
	expect_grep "C1,telegram,sent,,dry run" out &&
	mv tg.json "$INST/share/crmkit/providers/telegram.json" &&
	CRM_DATADIR=$PWD/nowhere run 1 dry "$INST/bin/crm-send" &&
	expect_grep "no telegram.json in $PWD/nowhere/providers" err
'

test_expect 'the installed crm-track reads its machine rules from the installed data' '
	mv "$INST/share/crmkit/track/machines" machines &&
	run 1 "$INST/bin/crm-track" --listen 127.0.0.1:0 &&
	expect_grep "no track/machines in $INST/share/crmkit/track" err &&
	mv machines "$INST/share/crmkit/track/machines"
'

test_expect 'a program run from the build tree finds the tree'"'"'s share/' '
	printf "[sms]\npreset = nosuch\n" >nosuch.conf &&
	run 1 crm-send -n --config nosuch.conf --channel sms --campaign x \
		--template hello.tmpl one.ids &&
	expect_grep "no nosuch.json in $CRM_TOP/share/providers" err
'

test_expect 'make uninstall removes every file make install put there' '
	touch "$INST/share/crmkit/providers/mine.json" &&
	run 0 mk uninstall &&
	expect_grep "kept: files of your own are in it" out &&
	expect_eq "$INST/share/crmkit/providers/mine.json" "$(find "$DEST" ! -type d)" &&
	rm "$INST/share/crmkit/providers/mine.json" &&
	run 0 mk install && run 0 mk uninstall &&
	expect_eq "" "$(find "$DEST" ! -type d)" "files left" &&
	test ! -e "$INST/share/crmkit"
'

# (the completion files come with issue 19's completion work: until the
# tree has them, install and uninstall skip them)
test_expect 'the shell completions are installed for every program, and removed' '
	run 0 mk install &&
	if [ -f "$CRM_TOP/share/completion/crmkit.bash" ]; then
		for p in crm-import crm-segment crm-score crm-send crm-report crm-track crm-loyalty; do
			cmp "$CRM_TOP/share/completion/crmkit.bash" "$INST/share/bash-completion/completions/$p"
		done
	else
		test ! -e "$INST/share/bash-completion"
	fi &&
	if [ -f "$CRM_TOP/share/completion/_crmkit" ]; then
		cmp "$CRM_TOP/share/completion/_crmkit" "$INST/share/zsh/site-functions/_crmkit"
	else
		test ! -e "$INST/share/zsh"
	fi &&
	run 0 mk uninstall &&
	expect_eq "" "$(find "$DEST" ! -type d)" "files left"
'

# mkin ARGS: make ARGS in the source tree (without -C: its "Entering
# directory" lines are not the build's)
mkin() { (cd "$CRM_TOP" && env -u MAKELEVEL -u MAKEFLAGS -u MFLAGS make "$@"); }

test_expect 'the build is quiet: "  CC      lib/util.o", V=1 the command, errors in full' '
	run 0 mkin BUILD="$TEST_DIR/b" "$TEST_DIR/b/lib/util.o" &&
	expect_eq "  CC      lib/util.o" "$(cat out)" &&
	rm "$TEST_DIR/b/lib/util.o" &&
	run 0 mkin V=1 BUILD="$TEST_DIR/b" "$TEST_DIR/b/lib/util.o" &&
	expect_grep " -c -o $TEST_DIR/b/lib/util.o lib/util.c" out &&
	expect_no_grep "  CC      " out &&
	rm "$TEST_DIR/b/lib/util.o" &&
	echo "#warning crm-t0004-warning" >bad.h &&
	run 2 mkin BUILD="$TEST_DIR/b" CFLAGS="-include $TEST_DIR/bad.h" "$TEST_DIR/b/lib/util.o" &&
	expect_grep "bad.h:1:2: error: #warning crm-t0004-warning [-Werror=cpp]" err
'

test_done
