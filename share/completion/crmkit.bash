# crmkit.bash - bash completion for the crm-* programs of crmkit.
#
# One file for every program: installed as
# share/bash-completion/completions/<prog> (one copy or link per program,
# which bash-completion loads on the first TAB after that name), or
# sourced from ~/.bashrc. Needs no bash-completion helper.
#
# Options, subcommands and the fixed values of options are listed here;
# tests/cli/t0007-completion.sh fails when a program's --help names an
# option or a subcommand that is missing here. Saved segments and campaign
# names are read at completion time from the base of --db on the line
# being completed, else $CRM_DB, else ./crm.db, with the program's own
# listing (nothing is printed when there is no base).

# The word lists below are split on purpose (and hold no glob characters).
# shellcheck disable=SC2086

# Each program's options: "-s,--long=" takes a value, "--long" does not.
_crmkit_common='-q,--quiet -v,--verbose -h,--help --version --strict'
_crmkit_opts_import='--rejects= --max-rejects= -m,--map= -c,--default-country=
--date-format= --timezone= --currency= --decimal= -d,--delimiter= --input-format= --source=
--batch= --check --mbox --envelope-to= --quarantine= --generate= --pattern= --verify=
--db= --now= -n,--dry-run'
_crmkit_opts_loyalty='--reason= --key= --full --db= -f,--format= --now= --config= -n,--dry-run'
_crmkit_opts_report='-s,--segment= --where= --currency= --window= --attribution= --links
--bootstrap= --seed= --by= --metric= --periods= --margin= --share= --since= --until=
--campaign= --top= --limit= --raw -o,--output= --html= --db= -f,--format= --now='
_crmkit_opts_score='--as-of= --currency= --bins= --period= --horizon= --discount= --model=
--penalty= --holdout-end= --campaign= --window= --outcome= --as= --method= --rows= --tracking --db= -f,--format= --now= -n,--dry-run'
_crmkit_opts_segment='-c,--count --fields= --order-by= --limit= --sample= --seed= --input=
--no-input -s,--segment= --save= --description= --list --delete= --track --entered --exited
--why= --sql --audience-hash= --min-size= --db= -f,--format= --now= -n,--dry-run'
_crmkit_opts_send='--campaign= --channel= --template= --variant= --segment= --retry
--resend-in-doubt --control= --cap= --cap-policy= --quiet-hours= --consent= --no-consent --transactional
--rate= --concurrency= --backoff= --max-wait= --max-attempts= --limit= -o,--output= --mbox
--coupons= --no-track --check-dns= --db= -f,--format= --now= --config= -n,--dry-run'
_crmkit_opts_track='-l,--listen= --threads= --max-connections= --timeout= --max-body= --no-log
--db= --now= --config='

# Subcommands (the first operand) and fixed values.
_crmkit_subs_import='customers orders lines products events consents rewards messages rates
erase coupons bounces'
_crmkit_subs_loyalty='run balance history adjust redeem'
_crmkit_subs_report='summary campaign campaigns cohorts rfm ltv products customer budget
holdout loyalty uplift deliverability export check'
_crmkit_subs_score='rfm clv uplift'
_crmkit_formats='csv tsv jsonl json table'
_crmkit_channels='email sms push telegram whatsapp viber webhook'
_crmkit_exports='customers orders lines products aliases events consents messages inbound
rates coupons ledger'

# _crmkit_add WORD...: the words that start with $cur, added to COMPREPLY
_crmkit_add() {
	local w
	for w; do
		[[ $w == "$cur"* ]] && COMPREPLY+=("$w")
	done
	return 0
}

# _crmkit_files [-d]: file (or directory) names
_crmkit_files() {
	compopt -o filenames 2>/dev/null
	local IFS=$'\n'
	# shellcheck disable=SC2207 # one name a line
	COMPREPLY+=($(compgen "${1:--f}" -- "$cur"))
}

# _crmkit_list WHAT: saved segments or campaign names of the base, from
# crm-segment --list and crm-report campaigns (--where false measures no
# customer, so it costs a read of the campaigns table); quietly nothing
# when there is no base
_crmkit_list() {
	local i w db=() names
	for ((i = 1; i < cword; i++)); do
		w=${words[i]}
		if [[ $w == --db && ${words[i + 1]} == = ]]; then
			db=(--db "${words[i + 2]-}")
		elif [[ $w == --db ]]; then
			db=(--db "${words[i + 1]-}")
		elif [[ $w == --db=* ]]; then
			db=(--db "${w#--db=}")
		fi
	done
	if [[ ${#db[@]} -gt 0 ]]; then
		# as the shell would pass it: a leading ~/ and one level of quotes
		w=${db[1]}
		[[ $w == \'*\' || $w == \"*\" ]] && w=${w:1:${#w}-2}
		# shellcheck disable=SC2088 # the ~ as typed, not expanded
		[[ $w == '~/'* ]] && w=$HOME/${w#'~/'}
		db[1]=$w
	fi
	case $1 in
	segments)
		names=$("${bindir}crm-segment" "${db[@]}" --list -f tsv </dev/null 2>/dev/null |
			tail -n +2 | cut -f1) ;;
	campaigns)
		names=$("${bindir}crm-report" "${db[@]}" campaigns --where false --raw -f tsv \
			</dev/null 2>/dev/null | tail -n +2 | cut -f1) ;;
	esac
	# the word as typed: "spr, 'spr or spring\ s
	local q=${cur:0:1} IFS=$'\n'
	[[ $q == [\"\'] ]] && cur=${cur:1} || q=
	[[ -z $q ]] && cur=${cur//\\/}
	# shellcheck disable=SC2086 # one name a line
	_crmkit_add $names
	# a name with a space or a quote goes in as one word (readline
	# closes a quote the user opened)
	[[ -n $q ]] && return 0
	for ((i = 0; i < ${#COMPREPLY[@]}; i++)); do
		[[ ${COMPREPLY[i]} == *[!A-Za-z0-9_.,:@%+=/-]* ]] &&
			COMPREPLY[i]=$(printf '%q' "${COMPREPLY[i]}")
	done
	return 0
}

# _crmkit_value OPTION: the values of OPTION (the long name)
_crmkit_value() {
	case $prog:$1 in
	*:--db | *:--config | *:--rejects | *:--template | *:--output | *:--html | *:--input | \
		score:--rows)
		_crmkit_files ;;
	*:--quarantine) _crmkit_files -d ;;
	segment:--format) _crmkit_add $_crmkit_formats audience ;;
	*:--format) _crmkit_add $_crmkit_formats ;;
	*:--segment | segment:--delete) _crmkit_list segments ;;
	*:--campaign) _crmkit_list campaigns ;;
	*:--channel) _crmkit_add $_crmkit_channels file ;;
	*:--consent) _crmkit_add $_crmkit_channels ;;
	*:--date-format) _crmkit_add auto dmy mdy ymd ;;
	*:--input-format) _crmkit_add csv jsonl ;;
	*:--decimal) _crmkit_add . , ;;
	*:--attribution) _crmkit_add view click ;;
	*:--metric) _crmkit_add retention revenue customers ;;
	*:--model) _crmkit_add bgnbd mbgnbd pareto auto ;;
	*:--period) _crmkit_add week day ;;
	*:--audience-hash) _crmkit_add sha256 md5 ;;
	score:--outcome) _crmkit_add converted revenue ;;
	score:--method) _crmkit_add tlearner ct auto ;;
	send:--cap-policy) _crmkit_add defer drop ;;
	report:--by)
		case ${args[0]-} in
		cohorts) _crmkit_add month week ;;
		ltv) _crmkit_add segment cohort city category attr. ;;
		products) _crmkit_add product category ;;
		holdout) _crmkit_add frequency period run ;;
		loyalty) _crmkit_add month tier member ;;
		uplift) _crmkit_add decile qini feature ;;
		deliverability) _crmkit_add campaign domain week ;;
		esac ;;
	esac
	return 0
}

# _crmkit_operand: the operand at $cur, the ones before it in args
_crmkit_operand() {
	local n=${#args[@]}
	case $prog in
	import)
		if ((n == 0)); then
			_crmkit_add $_crmkit_subs_import
		elif [[ ${args[0]} != coupons ]] || ((n > 1)); then
			_crmkit_files
		fi ;;
	loyalty) ((n == 0)) && _crmkit_add $_crmkit_subs_loyalty ;;
	score) ((n == 0)) && _crmkit_add $_crmkit_subs_score ;;
	report)
		if ((n == 0)); then
			_crmkit_add $_crmkit_subs_report
		elif ((n == 1)); then
			case ${args[0]} in
			# an uplift model is named after its first campaign
			# unless crm-score uplift --as named it otherwise
			campaign | uplift) _crmkit_list campaigns ;;
			export) _crmkit_add $_crmkit_exports ;;
			esac
		fi ;;
	send) _crmkit_files ;;
	esac
	return 0
}

_crmkit() {
	local cur prev words cword prog bindir opts spec o i w valued=' ' all=() args=()
	words=("${COMP_WORDS[@]}")
	cword=$COMP_CWORD
	cur=${words[cword]}
	prog=${1##*/}
	prog=${prog#crm-}
	# the programs next to the one completed (./build/bin/crm-report)
	bindir=
	[[ $1 == */* ]] && bindir=${1%/*}/
	opts=_crmkit_opts_$prog
	[[ -n ${!opts-} ]] || return 0
	for spec in ${!opts} $_crmkit_common; do
		# shellcheck disable=SC2086 # -s,--long= is two names
		for o in ${spec//,/ }; do
			all+=("${o%=}")
			[[ $spec == *= ]] && valued+="${o%=} "
		done
	done

	# the operands before the cursor, and the option whose value it is
	local want='' dashdash=''
	for ((i = 1; i < cword; i++)); do
		w=${words[i]}
		if [[ -n $want ]]; then
			want=
			[[ $w == = ]] && want=x
			continue
		fi
		case $w in
		--) dashdash=x; break ;;
		--*=*) ;;
		-?*)
			[[ $valued == *" $w "* ]] && want=x ;;
		=) ;;
		*) [[ ${words[i - 1]} != = ]] && args+=("$w") ;;
		esac
	done
	for ((i++; i < cword; i++)); do
		args+=("${words[i]}")
	done

	COMPREPLY=()
	# --opt=VALUE: bash splits the word at '=' (COMP_WORDBREAKS)
	prev=${words[cword - 1]-}
	if [[ $cur == = && $prev == --* ]]; then
		o=$prev cur=
	elif [[ $prev == = ]]; then
		o=${words[cword - 2]}
	else
		o=$prev
	fi
	if ((cword > 1)) && [[ $valued == *" $o "* ]]; then
		# a short name stands for its long one
		if [[ $o != --* ]]; then
			for spec in ${!opts}; do
				[[ $spec == "$o",* ]] && o=${spec#*,} && o=${o%=}
			done
		fi
		_crmkit_value "$o"
		return 0
	fi
	# --variant NAME=FILE
	if [[ $prog == send && $prev == = && ${words[cword - 3]-} == --variant ]]; then
		_crmkit_files
		return 0
	fi
	if [[ $cur == -* && -z $dashdash ]]; then
		_crmkit_add "${all[@]}"
		return 0
	fi
	_crmkit_operand
}

complete -F _crmkit crm-import crm-segment crm-score crm-send crm-report crm-track crm-loyalty
