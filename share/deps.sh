#!/bin/sh
# Installs what crmkit needs on Debian and Ubuntu: `deps.sh` what building
# and running need (make deps, make demo), `deps.sh test` that and what
# the tests need (make deps-test, make check). Only what is missing is
# installed; as a normal user it prints the command to run instead.
pkgs="gcc make pkg-config libsqlite3-dev sqlite3 libcsv-dev libcjson-dev
libcurl4-openssl-dev libssl-dev libinih-dev libmicrohttpd-dev libgmime-3.0-dev curl
iso-codes
tzdata"
if [ "${1:-}" = test ]; then
	# Postfix for crm-send's tests against a real relay: installed without
	# a configuration of its own, so that it starts nothing and takes no
	# mail; the tests run instances of their own on 127.0.0.1
	pkgs="$pkgs mandoc time python3 python3-aiosmtpd clang libclang-rt-14-dev valgrind
openssl chromium fiu-utils postfix wrk nginx-light python3-dkim xz-utils"
	# scikit-learn: crm-score uplift is checked against a T-learner in it
	pkgs="$pkgs python3-sklearn"
	# make lint-man: groff as man runs it (preconv, tbl, nroff -mandoc)
	pkgs="$pkgs groff-base"
	# zsh, bash-completion and shellcheck: the completion test (t0007)
	pkgs="$pkgs zsh bash-completion shellcheck"
fi
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "deps: all ${1:+test }dependencies are installed"
	exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "deps: missing:$missing" >&2
	echo "deps: this is not Debian or Ubuntu; install the equivalents by hand" >&2
	exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing:$missing" >&2
	echo "deps: run as root:  apt-get update && apt-get install -y$missing" >&2
	exit 1
fi
log=${TMPDIR:-/tmp}/crmkit-deps.log
echo "deps: installing$missing (log: $log)"
export DEBIAN_FRONTEND=noninteractive
case " $missing " in
*" postfix "*)
	echo "postfix postfix/main_mailer_type select No configuration" |
		debconf-set-selections ;;
esac
if ! { apt-get update && apt-get install -y --no-install-recommends $missing; } >"$log" 2>&1; then
	tail -n 20 "$log" >&2
	echo "deps: apt-get failed; see $log" >&2
	exit 1
fi
echo "deps: done"
