#!/bin/sh
# Shell completion (share/completion): bash's COMPREPLY for subcommands,
# options, fixed values, files, saved segments and campaign names (of
# CRM_DB and of --db); zsh driven through zsh/zpty; and every option and
# subcommand of every program's --help present in both files.
. "$CRM_TOP/tests/lib.sh"

COMP=$CRM_TOP/share/completion
Q=\'
PROGS="crm-import crm-segment crm-score crm-send crm-report crm-track crm-loyalty"

# comp WORD...: bash completes the line WORD... (the last word at the
# cursor, "=" a word of its own as bash splits it); COMPREPLY sorted, one
# a line, in ./got, and what the completion printed on stderr in ./cerr
comp() {
	bash --norc --noprofile -c '
		set -u
		. "$1" || exit 1
		shift
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		_crmkit "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}"' comp "$COMP/crmkit.bash" "$@" 2>cerr |
		sed "/^\$/d" | LC_ALL=C sort >got
}

# expect_comp "WANT WANT..." WORD...: the completion of WORD... is WANT...
expect_comp() {
	_want=$1
	shift
	comp "$@"
	# words apart by blanks, "\ " a blank in a word
	printf '%s\n' "$_want" | sed 's/\\ /\\_/g' | tr ' \t' '\n\n' | sed '/^$/d; s/\\_/\\ /g' |
		LC_ALL=C sort >want
	if ! cmp -s want got; then
		echo "completing: $*"
		diff -u want got
		return 1
	fi
	if [ -s cerr ]; then
		echo "completing $* printed:"
		cat cerr
		return 1
	fi
}

# help_opts PROG: the options of PROG --help, one a line (short and long)
help_opts() {
	"$1" --help | awk '/^ +-/ { sub(/,$/, "", $1); print $1
		if ($1 !~ /^--/ && $2 ~ /^--/) print $2 }' | LC_ALL=C sort -u
}

# help_subs PROG [SUB]: the subcommands of PROG's usage lines (the first
# lowercase word of a line, options and [...] left out), or with SUB the
# words that may follow SUB (crm-report export TABLE)
help_subs() {
	"$1" --help | sed -n '/^$/q;s/^usage: //p;s/^       //p' | awk -v sub1="${2:-}" '{
		while (gsub(/\[[^][]*\]/, "")) ;
		n = split($0, w, " "); lvl = 0
		for (i = 2; i <= n; i++) {
			if (w[i] ~ /^-/) { if (w[i + 1] !~ /^[a-z]/) i++; continue }
			if (w[i] !~ /^[a-z][a-z|]*$/) continue
			if (lvl == 0 && sub1 == "") { print w[i]; break }
			if (lvl == 0 && w[i] != sub1) break
			if (lvl == 1) { print w[i]; break }
			lvl = 1
		}
	}' | tr '|' '\n' | LC_ALL=C sort -u
}

# zsh_body PROG: the function of _crmkit that completes PROG
zsh_body() {
	awk -v f="|| _crmkit_${1#crm-}() {" 'index($0, f) { on = 1 } on { print } on && /^}/ { exit }' \
		"$COMP/_crmkit"
}

test_expect 'setup: a base with two saved segments and two campaigns' '
	crm-import customers "$FIX/customers.csv" 2>/dev/null &&
	crm-segment --save lapsed "orders = 0" 2>/dev/null &&
	crm-segment --save loyal "orders > 2" 2>/dev/null &&
	sql "INSERT INTO campaigns(name, channel, created_at) VALUES
	     ('\''winback-2026-11'\'', '\''email'\'', '\''2026-11-01 09:00:00'\''),
	     ('\''spring sale'\'', '\''sms'\'', '\''2026-03-01 09:00:00'\'')" &&
	mkdir other &&
	CRM_DB=$TEST_DIR/other/crm.db crm-import customers "$FIX/customers.csv" 2>/dev/null &&
	CRM_DB=$TEST_DIR/other/crm.db crm-segment --save vip "orders > 5" 2>/dev/null
'

test_expect 'bash: the reports of crm-report' '
	expect_comp "summary campaign campaigns cohorts rfm ltv products customer budget
		holdout loyalty uplift deliverability export check" crm-report "" &&
	expect_comp "campaign campaigns check cohorts customer" crm-report c &&
	expect_comp "campaign campaigns" crm-report -f csv camp &&
	expect_comp "customers orders lines products aliases events consents messages inbound
		rates coupons ledger" crm-report export "" &&
	expect_comp "" crm-report summary ""
'

test_expect 'bash: options, short and long, and none after --' '
	expect_comp "--format" crm-send --for &&
	expect_comp "--campaign --cap --cap-policy --channel --check-dns --concurrency --config --consent
		--control --coupons" crm-send --c &&
	expect_comp "" crm-segment -- --for
'

test_expect 'bash: the fixed values of options, as --opt VALUE, -o VALUE and --opt=VALUE' '
	expect_comp "csv tsv jsonl json table audience" crm-segment --format "" &&
	expect_comp "csv tsv jsonl json table" crm-report -f "" &&
	expect_comp "json jsonl" crm-segment --format = j &&
	expect_comp "csv tsv jsonl json table audience" crm-segment --format = &&
	expect_comp "email sms push telegram whatsapp viber webhook file" crm-send --channel "" &&
	expect_comp "bgnbd mbgnbd pareto auto" crm-score clv --model "" &&
	expect_comp "month week" crm-report cohorts --by "" &&
	expect_comp "product category" crm-report products --by "" &&
	expect_comp "segment cohort city category attr." crm-report ltv --by "" &&
	expect_comp "decile qini feature" crm-report uplift --by "" &&
	expect_comp "tlearner ct auto" crm-score uplift --method "" &&
	expect_comp "defer drop" crm-send --cap-policy ""
'

test_expect 'bash: files where a file is expected, directories for a Maildir' '
	mkdir -p in/sub && : >in/a.csv && : >in/b.jsonl &&
	expect_comp "in/a.csv in/b.jsonl in/sub" crm-import orders in/ &&
	expect_comp "in/a.csv in/b.jsonl in/sub" crm-send --template in/ &&
	expect_comp "in/sub" crm-import --quarantine in/ &&
	expect_comp "" crm-import coupons in/ &&
	expect_comp "in/a.csv in/b.jsonl in/sub" crm-import coupons WB in/
'

test_expect 'bash: saved segments of the base (CRM_DB)' '
	expect_comp "lapsed loyal" crm-segment -s "" &&
	expect_comp "loyal" crm-segment --delete lo &&
	expect_comp "lapsed loyal" crm-report summary --segment "" &&
	expect_comp "lapsed" crm-send --segment = la
'

test_expect 'bash: campaign names of the base, a name with a space escaped' '
	expect_comp "spring\\ sale winback-2026-11" crm-report campaign "" &&
	expect_comp "winback-2026-11" crm-send --campaign w &&
	expect_comp "winback-2026-11" crm-score uplift --campaign winback --campaign w &&
	expect_comp "spring\\ sale winback-2026-11" crm-report deliverability --campaign ""
'

test_expect 'bash: --db on the line names the base, in every spelling' '
	expect_comp "vip" crm-segment --db other/crm.db -s "" &&
	expect_comp "vip" crm-segment --db other/crm.db --track -s "" &&
	expect_comp "vip" crm-report --db = "$TEST_DIR/other/crm.db" -s "" &&
	expect_comp "vip" crm-report --db="'\''other/crm.db'\''" summary -s "" &&
	expect_comp "" crm-report --db other/crm.db campaign ""
'

test_expect 'bash: no base, no names and not a word on the terminal; nothing created' '
	expect_comp "" crm-segment --db nosuch.db -s "" &&
	(CRM_DB=$TEST_DIR/nosuch.db && expect_comp "" crm-report campaign "") &&
	(cd in && unset CRM_DB && expect_comp "" crm-segment -s "") &&
	test ! -e nosuch.db && test ! -e in/crm.db
'

test_expect 'bash: a program named by its path asks the programs beside it' '
	(PATH=/usr/bin:/bin && expect_comp "lapsed loyal" "$CRM_BIN/crm-segment" -s "")
'

# The drift check: an option or a subcommand added to a program without
# its completion fails here.
for p in $PROGS; do
	test_expect "$p: bash completes exactly the options and subcommands of --help" '
		help_opts '"$p"' >want.opts &&
		test -s want.opts &&
		comp '"$p"' - && mv got got.opts &&
		expect_same want.opts got.opts &&
		help_subs '"$p"' >want.subs &&
		if [ -s want.subs ]; then comp '"$p"' "" && expect_same want.subs got; fi &&
		for s in $(cat want.subs); do
			# (the usage may name only some: crm-report export TABLE)
			help_subs '"$p"' "$s" >want.args
			if [ -s want.args ]; then
				comp '"$p"' "$s" "" && comm -23 want.args got >missing &&
				if [ -s missing ]; then echo "$s: not completed:"; cat missing; exit 1; fi
			fi
		done
	'
	test_expect "$p: _crmkit has every option and subcommand of --help, and no other" '
		zsh_body '"$p"' >body &&
		test -s body &&
		sed "/^[[:space:]]*#/d; s/\\[[^]]*\\]//g" body | grep -o -- "--[a-z][a-z0-9-]*" | LC_ALL=C sort -u >zsh.long &&
		help_opts '"$p"' | grep -- "^--" >help.long &&
		expect_same help.long zsh.long &&
		'"$p"' --help | awk "/^ +-[a-zA-Z],/ { sub(/,\$/, \"\", \$1); print \$1, \$2 }" |
		while read -r s l; do
			grep -qF -e "{$s,$l}" -e "{$s+,$l=}" body ||
				{ echo "_crmkit: no {$s,$l} nor {$s+,$l=}"; exit 1; }
		done &&
		for s in $(help_subs '"$p"'; for s in $(help_subs '"$p"'); do help_subs '"$p"' "$s"; done); do
			grep -qE "[[:space:]($Q]$s([[:space:]:)$Q]|\$)" body || { echo "_crmkit: no $s"; exit 1; }
		done
	'
done

test_expect 'both files name every program' '
	for prog in "$CRM_BIN"/crm-*; do
		p=$(basename "$prog")
		sed -n "s/^complete -F _crmkit //p" "$COMP/crmkit.bash" | tr " " "\n" | grep -qx "$p" ||
			{ echo "crmkit.bash: no complete for $p"; exit 1; }
		sed -n "1s/^#compdef //p" "$COMP/_crmkit" | tr " " "\n" | grep -qx "$p" ||
			{ echo "_crmkit: no #compdef for $p"; exit 1; }
	done
'

test_expect 'shellcheck finds nothing in crmkit.bash' '
	if command -v shellcheck >/dev/null 2>&1; then
		shellcheck -s bash "$COMP/crmkit.bash"
	else
		echo "# shellcheck missing (make deps-test): not checked"
	fi
'

# In a terminal: an interactive zsh -f with compinit, and bash -i, driven
# through zsh/zpty: each line is typed with a TAB, then a key bound to a
# widget that writes the line as completed to $OUT.
if ! command -v zsh >/dev/null 2>&1; then
	test_count=$((test_count + 1))
	echo "ok $test_count # skip zsh missing (make deps-test)"
	test_done
fi
cat >zsh.setup <<'EOF'
PS1='' PROMPT_EOL_MARK=''
fpath=($COMP $fpath)
autoload -U compinit
compinit -u -D
dump() { print -r -- "<$BUFFER>" >>$OUT; BUFFER=; }
zle -N dump
bindkey '^X^D' dump
print ready >$OUT
EOF
cat >bash.setup <<'EOF'
PS1=''
. "$COMP/crmkit.bash"
dump() { printf '<%s>\n' "$READLINE_LINE" >>"$OUT"; READLINE_LINE=; }
bind -x '"\C-x\C-d": dump'
echo ready >"$OUT"
EOF
cat >bashcomp.setup <<'EOF'
PS1=''
. /usr/share/bash-completion/bash_completion
dump() { printf '<%s>\n' "$READLINE_LINE" >>"$OUT"; READLINE_LINE=; }
bind -x '"\C-x\C-d": dump'
echo ready >"$OUT"
EOF
cat >drive.zsh <<'EOF'
# drive.zsh OUT SETUP SHELL LINE...: SHELL (a command) in a terminal
# reads the file SETUP, then each LINE is typed with a TAB and ^X^D
zmodload zsh/zpty || exit 1
export OUT=$1
setup=$2
sh=$3
shift 3
: >$OUT
# until OUT has N lines, reading what the shell prints (a full terminal
# would block it)
wait_lines() {
	local n=0
	while (( $(wc -l <$OUT) < $1 && n < 500 )); do
		zpty -r -t z junk
		sleep 0.02
		(( n++ ))
	done
}
zpty z "$sh"
zpty -w z ". ./$setup"
# keys go in once the line editor reads them: a running command would
# take ^D as EOF
wait_lines 1
: >$OUT
i=0
for l; do
	(( i++ ))
	zpty -w -n z "$l"$'\t\x18\x04'
	wait_lines $i
done
zpty -d z
EOF
export COMP

test_expect 'zsh: _crmkit loads with compinit and completes every program' '
	HOME=$TEST_DIR zsh -f -c "fpath=($COMP \$fpath); autoload -U compinit; compinit -u -D;
		for p in $PROGS; do [[ \$_comps[\$p] == _crmkit ]] || { print no \$p; exit 1; }; done" &&
	zsh -n "$COMP/_crmkit"
'

test_expect 'zsh: subcommands, fixed values, saved segments and campaigns, --db' '
	HOME=$TEST_DIR zsh -f drive.zsh zout zsh.setup "zsh -f -i" \
		"crm-report coh" "crm-score r" "crm-import cu" "crm-loyalty hi" \
		"crm-segment --format au" "crm-report cohorts --by w" "crm-send --channel vi" \
		"crm-segment -s lap" "crm-report --segment=loy" "crm-report campaign wi" \
		"crm-send --campaign sp" "crm-segment --db other/crm.db -s v" \
		"crm-segment --db=other/crm.db --delete v" \
		"crm-segment --db nosuch.db -s l" >/dev/null 2>&1 &&
	cat >want <<-\EOF &&
	<crm-report cohorts >
	<crm-score rfm >
	<crm-import customers >
	<crm-loyalty history >
	<crm-segment --format audience >
	<crm-report cohorts --by week >
	<crm-send --channel viber >
	<crm-segment -s lapsed >
	<crm-report --segment=loyal >
	<crm-report campaign winback-2026-11 >
	<crm-send --campaign spring\ sale >
	<crm-segment --db other/crm.db -s vip >
	<crm-segment --db=other/crm.db --delete vip >
	<crm-segment --db nosuch.db -s l>
	EOF
	expect_same want zout &&
	test ! -e nosuch.db
'

test_expect 'bash in a terminal: --opt=VALUE, quoted and escaped names' '
	HOME=$TEST_DIR zsh -f drive.zsh bout bash.setup "bash --norc --noprofile -i" \
		"crm-report coh" "crm-segment --format=au" "crm-segment --db=other/crm.db -s v" \
		"crm-report campaign sp" "crm-report campaign \"sp" "crm-report campaign '\''sp" \
		"crm-report campaign spring\\ s" "crm-send --variant A=in/a.c" \
		"crm-segment --db nosuch.db -s l" >/dev/null 2>&1 &&
	cat >want <<-\EOF &&
	<crm-report cohorts >
	<crm-segment --format=audience >
	<crm-segment --db=other/crm.db -s vip >
	<crm-report campaign spring\ sale >
	<crm-report campaign "spring sale" >
	<crm-report campaign '\''spring sale'\'' >
	<crm-report campaign spring\ sale >
	<crm-send --variant A=in/a.csv >
	<crm-segment --db nosuch.db -s l>
	EOF
	expect_same want bout &&
	test ! -e nosuch.db
'

# as make install lays it out: PREFIX/share/bash-completion/completions/PROG
test_expect 'bash-completion loads crmkit.bash installed under each program'\''s name' '
	if [ ! -f /usr/share/bash-completion/bash_completion ]; then
		echo "# bash-completion missing (make deps-test): not checked"
		exit 0
	fi
	mkdir -p pfx/bin pfx/share/bash-completion/completions &&
	for p in $PROGS; do
		ln -s "$CRM_BIN/$p" pfx/bin/$p &&
		cp "$COMP/crmkit.bash" pfx/share/bash-completion/completions/$p || exit 1
	done &&
	PATH=$TEST_DIR/pfx/bin:/usr/bin:/bin XDG_DATA_DIRS=$TEST_DIR/pfx/share HOME=$TEST_DIR \
	zsh -f drive.zsh bcout bashcomp.setup "bash --norc --noprofile -i" \
		"crm-score cl" "crm-report campaign wi" "crm-segment -s lap" "crm-import lin" \
		>/dev/null 2>&1 &&
	cat >want <<-\EOF &&
	<crm-score clv >
	<crm-report campaign winback-2026-11 >
	<crm-segment -s lapsed >
	<crm-import lines >
	EOF
	expect_same want bcout
'

test_done
