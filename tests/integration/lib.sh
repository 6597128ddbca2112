# lib.sh — shared by the integration tests: each sources it, calls `ok` or
# `fail` per check (one "ok"/"FAIL" line each, which tests/run.sh counts),
# and ends with `finish`.  Tests drive the real ferry binary ($FERRY_BIN).
set -u
FERRY=${FERRY_BIN:?run through tests/run.sh}
SRC=${FERRY_SRC:?}
BUILD=${FERRY_BUILD:?}
GEN=$BUILD/tests/tools/gen_content
TEST=$(basename "$0" .sh)
T=$(mktemp -d "${FERRY_TEST_TMP:-/tmp}/it-$TEST.XXXXXX")
CORPUS_BUNDLE=${FERRY_CORPUS:-$SRC/../shared/corpus/philosophy.bundle}
failures=0

ok() { echo "ok integration/$TEST: $*"; }
fail() {
	echo "FAIL integration/$TEST: $*"
	failures=$((failures + 1))
}
# check NAME COMMAND...: ok if the command succeeds.
check() {
	local name=$1
	shift
	if "$@" >"$T/last.out" 2>&1; then ok "$name"; else
		fail "$name"
		sed 's/^/#   /' "$T/last.out" | tail -n 15
	fi
}
# check_exit NAME CODE COMMAND...: ok if the command exits with CODE.
check_exit() {
	local name=$1 want=$2 rc
	shift 2
	"$@" >"$T/last.out" 2>&1
	rc=$?
	if [ "$rc" = "$want" ]; then ok "$name"; else
		fail "$name (exit $rc, wanted $want)"
		sed 's/^/#   /' "$T/last.out" | tail -n 15
	fi
}
finish() {
	[ "$failures" = 0 ] && rm -rf "$T"
	exit 0
}
# A fresh ed25519 key pair: $T/$1 and $T/$1.pub.
make_key() { ssh-keygen -q -t ed25519 -N '' -C "$1@county" -f "$T/$1"; }
# Clones the corpus bundle once (fails visibly if it is missing); then
# corpus_tags lists its tags and corpus_tree checks one out.
corpus_ready() {
	[ -d "$T/corpus.git" ] && return 0
	if ! git clone -q --bare "$CORPUS_BUNDLE" "$T/corpus.git" 2>/dev/null; then
		fail "the corpus bundle $CORPUS_BUNDLE is missing (../shared beside the clone)"
		return 1
	fi
}
corpus_tags() { git -C "$T/corpus.git" tag | sort; }
corpus_tree() { # tag dir
	mkdir -p "$2" && git -C "$T/corpus.git" archive "$1" | tar -x -C "$2"
}
json_field() { # file key -> value of a top-level scalar field
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}
# FAT32 images for the USB tests, written and read with mtools (no mount
# needed): fat_image IMG MiB; fat_put IMG DIR copies DIR's contents onto the
# image's root (overwriting); fat_get IMG DIR copies the whole image out.
export MTOOLS_SKIP_CHECK=1
fat_image() { rm -f "$1" && truncate -s "${2}M" "$1" && mkfs.vfat -F 32 "$1" >/dev/null; }
fat_put() { (cd "$2" && mcopy -s -o -i "$1" ./* ::/); }
fat_get() { mkdir -p "$2" && mcopy -s -n -i "$1" '::/*' "$2/"; }
