#!/bin/sh
# Installs what crmkit needs to build and test, on Debian and Ubuntu.
# Only what is missing is installed; as a normal user it prints the
# command to run instead.
pkgs="gcc make pkg-config libsqlite3-dev sqlite3 libcsv-dev libcjson-dev
libcurl4-openssl-dev libssl-dev libinih-dev mandoc time python3 python3-aiosmtpd clang
libclang-rt-14-dev valgrind openssl chromium fiu-utils"
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "deps: all build and test dependencies are installed"
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
if ! { apt-get update && apt-get install -y --no-install-recommends $missing; } >"$log" 2>&1; then
	tail -n 20 "$log" >&2
	echo "deps: apt-get failed; see $log" >&2
	exit 1
fi
echo "deps: done"
