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
	# node and npm for the browser tests' npm packages (tests/browser);
	# npm is in the nodejs package of NodeSource's builds (that conflicts
	# with Debian's npm)
	pkgs="$pkgs
nodejs"
	command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm"
fi
# browser_deps: the browser tests' npm packages (axe-core, puppeteer-core,
# which drives Debian's chromium), from tests/browser's lock file, into
# tests/browser/node_modules where t0761 looks for them
browser_deps() {
	[ "${1:-}" = test ] || return 0
	b=$(cd "$(dirname "$0")/.." && pwd)/tests/browser
	[ -f "$b/node_modules/.package-lock.json" ] &&
		[ ! "$b/package-lock.json" -nt "$b/node_modules/.package-lock.json" ] && return 0
	echo "deps: npm ci in $b"
	(cd "$b" && npm ci --no-audit --no-fund --ignore-scripts >npm.log 2>&1) || {
		tail -n 20 "$b/npm.log" >&2
		echo "deps: npm ci failed; see $b/npm.log" >&2
		return 1
	}
	rm -f "$b/npm.log"
}
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "deps: all ${1:+test }dependencies are installed"
	browser_deps "${1:-}"
	exit
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
browser_deps "${1:-}" || exit 1
echo "deps: done"
