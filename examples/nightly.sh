#!/bin/sh
# examples/nightly.sh: a nightly cron job. It imports the day's exports,
# then runs the triggers, each a crm-segment expression piped (through a
# file) into crm-send:
#   - a birthday SMS, once a year per customer;
#   - a three-step welcome chain by e-mail, each step a few days after the
#     previous one was received;
#   - a winback e-mail for customers who entered the "lapsed" segment, with
#     a 10% control group to measure it by (crm-report campaign);
#   - a cascade: the winback by SMS to those who did not open the e-mail
#     within 3 days;
#   - with a [loyalty] section in crm.conf, the points: crm-loyalty run
#     after the imports, and a monthly reminder to members whose points
#     expire within 30 days.
# No state of its own: crm-send's outbox remembers who got what (one message
# per campaign and customer, ever), so running it twice a night, or again
# after a crash, sends nothing twice. Deferred messages (quiet hours, a
# server that said "try later") go out with the next run of their campaign.
#
#   # m h dom mon dow  command
#   30 * * * *  cd /srv/crm && sh nightly.sh >>nightly.log 2>&1
#
# Hourly is as good as nightly and better for birthdays: a birthday SMS
# deferred by quiet hours goes out in the first run after 09:00 local time.
#
# Configuration: ./crm.conf (see crm.conf.example: [smtp], [email],
# [unsubscribe], [sms]), secrets in the environment it names.
# Environment: CRM_DB (./crm.db), EXPORTS (./exports: KIND-YYYY-MM-DD.csv),
# OUT (./out: rejects and result files), TEMPLATES (this script's
# directory), CRM_NOW (now: the run's time, for every program it starts).
#
# Cron runs jobs with standard input from an empty pipe, which crm-segment
# would filter: every query here reads --no-input.
set -u
export CRM_DB=${CRM_DB:-./crm.db}
exports=${EXPORTS:-./exports}
out=${OUT:-./out}
tmpl=${TEMPLATES:-$(cd "$(dirname "$0")" && pwd)}
# one time for the whole run, so that all its steps agree on "today"
CRM_NOW=${CRM_NOW:-$(date -u '+%Y-%m-%d %H:%M:%S')}
export CRM_NOW
today=${CRM_NOW%% *}
year=${today%%-*}
month=${today%-*}
mkdir -p "$out"
failed=0

# step CMD...: runs CMD; exit status 3 ("done, some rows rejected") is not
# a failure. A failed step is reported and the job goes on with the next
# trigger; the job's exit status says that something failed.
step() {
	"$@" </dev/null && return 0
	rc=$?
	[ $rc -eq 3 ] && return 0
	echo "nightly: $1 exited with status $rc" >&2
	failed=1
	return 1
}

# trigger NAME EXPR CAMPAIGN CHANNEL TEMPLATE [CRM-SEND OPTION...]: who
# matches EXPR now gets CAMPAIGN's message; results in OUT/NAME-DAY.csv.
trigger() {
	name=$1 expr=$2 campaign=$3 channel=$4 template=$5
	shift 5
	step crm-segment --no-input -f csv --fields id "$expr" >"$out/$name-$today.to.csv" &&
		step crm-send --campaign "$campaign" --channel "$channel" \
			--template "$tmpl/$template" -f csv "$@" \
			"$out/$name-$today.to.csv" >"$out/$name-$today.csv"
}

# 1. The day's data.
for kind in customers orders events consents; do
	f=$exports/$kind-$today.csv
	[ -e "$f" ] || continue
	step crm-import "$kind" "$f" --rejects "$out/$kind-$today.rejects.csv"
done

# 1b. Loyalty points, when crm.conf has a [loyalty] section: earn on the
#     day's orders, take back refunds, expire what is due, move tiers.
conf=${CRM_CONFIG:-crm.conf}
loyalty=0
if [ -f "$conf" ] && grep -qi '^\[loyalty\]' "$conf"; then
	loyalty=1
	step crm-loyalty run
fi

# 2. Birthdays today, by SMS (consent "sms" is checked by crm-send), not at
#    night in the customer's time zone; the year in the campaign's name
#    makes it once a year.
trigger birthday 'birthday_in(0d)' "birthday-$year" sms birthday.sms.tmpl \
	--quiet-hours 21:00-09:00

# 3. The welcome chain: step 1 to customers created in the last 2 days,
#    each next step 3 days after the previous one was received (sent, and
#    no bounce came back).
trigger welcome-1 'created_at > now() - 2d' welcome-1 email welcome-1.tmpl
trigger welcome-2 'received("welcome-1") > 3d and not received("welcome-2")' \
	welcome-2 email welcome-2.tmpl
trigger welcome-3 'received("welcome-2") > 3d and not received("welcome-3")' \
	welcome-3 email welcome-3.tmpl

# 4. Winback: who entered "lapsed" since the last run (tracked membership),
#    one campaign a month with a 10% control group that is never sent to.
step crm-segment --save lapsed --description 'bought, but not for 90 days' \
	'days_since_last_order > 90 and orders >= 1' >/dev/null
step crm-segment -s lapsed --track --entered -f csv --fields id >"$out/lapsed-$today.to.csv" &&
	step crm-send --campaign "winback-$month" --channel email --template "$tmpl/winback.tmpl" \
		--control 10% --cap 2/7d -f csv "$out/lapsed-$today.to.csv" >"$out/lapsed-$today.csv"

# 5. The cascade: the winback e-mail was sent over 3 days ago and not
#    opened: the same offer by SMS (this month's campaign only).
trigger winback-sms "sent(\"winback-$month\") > 3d and not opened(\"winback-$month\")" \
	"winback-$month-sms" sms winback.sms.tmpl --quiet-hours 21:00-09:00

# 6. Points about to expire: once a month, members with 100 points or more
#    whose lots expire within 30 days hear how many and when.
if [ $loyalty = 1 ]; then
	trigger points-expiring 'points_expiring(30d) >= 100' "points-expiring-$month" email \
		points-expiring.tmpl
fi

exit $failed
