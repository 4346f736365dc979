#!/bin/sh
# make lint-man: the manual pages are clean under both formatters a
# reader meets, mandoc -Tlint and groff -ww as Debian's man runs it; a
# warning that only groff gives (an undefined number register), or only
# mandoc, fails it and is printed.
. "$CRM_TOP/tests/lib.sh"

command -v groff >/dev/null && command -v mandoc >/dev/null || {
	echo "ok 1 # skip groff or mandoc missing (make deps-test)"; echo "1..1"; exit 0; }

# lint ARGS: make lint-man in the source tree, as a user runs it (not as a
# sub-make of make check, which would say which directory it enters)
lint() { (cd "$CRM_TOP" && env -u MAKELEVEL -u MAKEFLAGS -u MFLAGS make -s lint-man "$@"); }

page() {
	printf '.Dd November 23, 2026\n.Dt BAD 1\n.Os crmkit\n.Sh NAME\n.Nm bad\n.Nd a bad page\n'
	printf '.Sh DESCRIPTION\n%s\n' "$1"
}

test_expect 'the shipped pages: make lint-man prints nothing' '
	run 0 lint &&
	expect_eq "" "$(cat out err)"
'

test_expect 'a warning only groff gives fails lint-man, with its line' '
	page "Text \\n[nosuch] here." >groff.1 &&
	mandoc -Tlint -Wwarning groff.1 &&
	run 2 lint MANPAGES="$PWD/groff.1" &&
	expect_grep "groff.1:8: warning: number register '\''nosuch'\'' not defined" out
'

test_expect 'a warning only mandoc gives fails it too' '
	page "Text.
.Sh DESCRIPTION
Again." >mandoc.1 &&
	run 2 lint MANPAGES="$PWD/mandoc.1" &&
	expect_grep "mandoc.1:9:2: WARNING: duplicate section title: Sh DESCRIPTION" out
'

test_done
