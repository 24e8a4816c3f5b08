#!/bin/sh
# deps.sh -- install the Debian packages peerd needs, only those missing.
#
# Usage: deploy/deps.sh [build|test|fuzz|memcheck|bench|PACKAGE...]
#   build     what `make` needs (the default)
#   test      that, plus what the test suite drives: tmux for the interactive
#             client, Chromium for the status page, clang's libFuzzer
#   fuzz      clang and its libFuzzer runtime
#   memcheck  valgrind
#   bench     mosquitto, the broker the relay benchmark compares against
# A warm machine pays one dpkg-query.  Needs root, or sudo, to install.
set -eu

BUILD_PKGS="build-essential pkg-config openssl libssl-dev libevent-dev \
libprotobuf-c-dev protobuf-c-compiler libhiredis-dev redis-server redis-tools \
libcmocka-dev"

FUZZ_PKGS="clang libclang-rt-14-dev"

TEST_PKGS="$BUILD_PKGS tmux chromium procps curl $FUZZ_PKGS"

case "${1:-build}" in
build)	pkgs=$BUILD_PKGS ;;
test)	pkgs=$TEST_PKGS ;;
fuzz)	pkgs="$BUILD_PKGS $FUZZ_PKGS" ;;
memcheck) pkgs="$TEST_PKGS valgrind" ;;
bench)	pkgs="$BUILD_PKGS mosquitto libmosquitto-dev" ;;
*)	pkgs=$* ;;
esac
missing=
for p in $pkgs; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "deps: installing$missing" >&2
SUDO=
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null 2>&1 || {
		echo "deps: need root or sudo to install:$missing" >&2; exit 1; }
	SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has no package lists: update once, then install.
$SUDO apt-get update -q >&2
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing >&2
