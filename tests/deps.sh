#!/usr/bin/env bash
# Installs what ferry needs from Debian 12's packages.
#   tests/deps.sh            build + test dependencies (make check)
#   tests/deps.sh --build    build dependencies only (make, make demo)
#   tests/deps.sh --bench    build + test + the peers make bench compares against
# Skips apt entirely when everything is already installed.
set -eu
build="build-essential pkg-config libzstd-dev libgit2-dev libssh2-1-dev libcurl4-openssl-dev
 libsqlite3-dev libssl-dev zstd git openssh-client ca-certificates"
test="groff-base nginx openssh-server mtools dosfstools exfatprogs exfat-fuse fuse util-linux liblcrq-dev tshark iproute2 procps python3 time strace"
bench="restic borgbackup casync rsync zsync time"
want=$build
case "${1:-}" in
--build) ;;
--bench) want="$build $test $bench" ;;
*) want="$build $test" ;;
esac
missing=
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
if [ "$(id -u)" != 0 ]; then
	echo "tests/deps.sh: run as root (or install:$missing)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
