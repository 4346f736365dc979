#!/bin/sh
# A nightly cron job: import the day's exports, then act on the customers
# who entered a tracked segment since last night.
#
#   # m h dom mon dow  command
#   30 2 * * *  cd /srv/crm && sh nightly.sh >>nightly.log 2>&1
#
# Cron runs jobs with standard input from an empty pipe: crm-segment would
# filter that (empty) input, so every query here reads /dev/null or
# tracks (tracking always covers the whole base).
set -eu
export CRM_DB=${CRM_DB:-./crm.db}
exports=${EXPORTS:-./exports}
out=${OUT:-./out}
mkdir -p "$out"
today=$(date -u +%Y-%m-%d)

# 1. The day's data; exit status 3 means some rows were rejected (kept in
#    the rejects files), which must not stop the job.
for kind in customers orders events consents; do
	f=$exports/$kind-$today.csv
	[ -e "$f" ] || continue
	crm-import "$kind" "$f" --rejects "$out/$kind-$today.rejects.csv" </dev/null || [ $? -eq 3 ]
done

# 2. The segments the triggers use, saved once (re-saving is harmless).
crm-segment --save lapsed --description 'bought, not for 90 days' \
	'days_since_last_order > 90 and orders >= 1' </dev/null
crm-segment --save birthday --description 'birthday within 3 days, SMS allowed' \
	'birthday_in(3d) and consent("sms")' </dev/null

# 3. Who entered since the last run: each customer once per stay.
crm-segment -s lapsed --track --entered -f csv >"$out/lapsed-$today.csv"
crm-segment -s birthday --track --entered -f csv >"$out/birthday-$today.csv"
# ... hand them to crm-send, e.g.
#   crm-send --campaign "winback-$today" --channel email --template winback.eml <"$out/lapsed-$today.csv"
