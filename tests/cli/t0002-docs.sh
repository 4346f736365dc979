#!/bin/sh
# The manual pages are lint-clean and document every option --help lists.
. "$CRM_TOP/tests/lib.sh"

test_expect 'mandoc -Tlint finds nothing in the manual pages' '
	mandoc -Tlint -Wwarning "$CRM_TOP"/man/*.[17]
'

for prog in "$CRM_BIN"/crm-*; do
	p=$(basename "$prog")
	test_expect "$p: every long option of --help is in $p.1, and back" '
		'"$p"' --help | grep -o -- "--[a-z][a-z-]*" | sort -u >help.txt &&
		grep -o "Fl -[a-z][a-z-]*" "$CRM_TOP/man/'"$p"'.1" | sed "s/^Fl /-/" | sort -u >man.txt &&
		comm -23 help.txt man.txt >missing.txt &&
		if [ -s missing.txt ]; then echo "in --help, not in the man page:"; cat missing.txt; exit 1; fi &&
		comm -13 help.txt man.txt | grep -v -e "^--$" >extra.txt || true
		if [ -s extra.txt ]; then echo "in the man page, not in --help:"; cat extra.txt; exit 1; fi
	'
	test_expect "$p: the usage lines of --help are the man page SYNOPSIS" '
		'"$p"' --help | sed -n "/^\$/q;s/^usage: //p;s/^       //p" |
			tr -d " \n" | tr A-Z a-z >usage.txt &&
		mandoc -Tascii "$CRM_TOP/man/'"$p"'.1" | sed "s/.\x08//g" |
			sed -n "/^SYNOPSIS/,/^DESCRIPTION/p" | sed "1d;\$d" |
			tr -d " \n" | tr A-Z a-z >synopsis.txt &&
		test -s usage.txt && expect_same synopsis.txt usage.txt
	'
done

test_expect 'crm.7 documents every field crm-segment knows' '
	crm-segment --sql --fields all | grep -o "AS \"[a-z_]*\"" | sed "s/AS //; s/\"//g" >names.txt &&
	test "$(wc -l <names.txt)" -ge 20 &&
	while read -r n; do
		grep -q "^\.It Cm $n\$" "$CRM_TOP/man/crm.7" || { echo "crm.7 lacks $n"; exit 1; }
	done <names.txt
'

test_done
