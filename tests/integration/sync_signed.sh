# sync_signed — a pack the release's signed meta/packs lists is adopted on
# one hash of its bytes (sync/fetch_adopt.c), so that hash must hold the
# line: a source whose copy of a listed pack has one byte altered (same
# size) is named as serving bad data, nothing of that pack is stored, and
# the run completes from the next source; with no other source the run
# ends partial (exit 3), leaves no trace of the bad pack, and the store
# verifies.  A later run from a sound source then completes it.
. "$(dirname "$0")/lib.sh"
make_key county
R=$T/repo
"$FERRY" repo init "$R" --key "$T/county.pub" >/dev/null
"$GEN" "$T/src" --seed 31 --size 24M >/dev/null
"$FERRY" pack "$R" all/content "$T/src" --key "$T/county" -q
R=$(cd "$R" && pwd -P)
pack=$(find "$R/packs" -name '*.pack' -size +1M | head -n 1)
name=$(basename "$pack" .pack)
size=$(stat -c %s "$pack")
rel=${name:0:2}/$name.pack

# The pack is one the signed release lists, with its size.
git --git-dir="$R/manifests.git" show "refs/heads/all/content:meta/packs" >"$T/meta-packs"
grep -qx "$name $size" "$T/meta-packs" && ok "the release's meta/packs lists the pack" ||
	fail "the pack is not in meta/packs"

# A copy of the repository with one byte of that pack changed, in the
# middle (inside some entry's payload), the size unchanged.
cp -r "$R" "$T/bad"
python3 -c 'import sys
p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[len(b)//2]^=0x5a; open(p,"wb").write(b)' \
	"$T/bad/packs/$rel"
[ "$(stat -c %s "$T/bad/packs/$rel")" = "$size" ] && ! cmp -s "$pack" "$T/bad/packs/$rel" &&
	ok "the altered copy has the same size" || fail "the altered copy is not as meant"

no_trace() { # store label: neither the pack nor a partial file of it from the bad source
	if [ -e "$1/local/partial/$rel" ]; then
		fail "$2: a partial file of the altered pack is left"
	elif [ -e "$1/packs/$rel" ] && ! cmp -s "$1/packs/$rel" "$pack"; then
		fail "$2: the store holds the altered bytes"
	else
		ok "$2: nothing of the altered pack is stored"
	fi
}

# The bad copy first, the real repository second.
S=$T/school
"$FERRY" store init "$S" --trust "$T/county.pub" >/dev/null
check "the run completes from the other source" \
	"$FERRY" sync "$S" --source "$T/bad" --source "$R" --channel all/content
grep -q "$T/bad served pack ${name:0:16}.* does not verify" "$T/last.out" &&
	ok "the bad source is named, with the pack" || {
	fail "no report naming the bad source and pack"
	sed 's/^/#   /' "$T/last.out" | tail -n 8
}
no_trace "$S" "two sources"
check "the store verifies" "$FERRY" verify "$S"
"$FERRY" checkout "$S" all/content "$T/site" -q
check "the checkout is byte-identical" diff -r "$T/src" "$T/site"

# The bad copy alone: partial, and nothing of the pack kept.
S2=$T/school2
"$FERRY" store init "$S2" --trust "$T/county.pub" >/dev/null
check_exit "with only the bad source the run ends partial" 3 \
	"$FERRY" sync "$S2" --source "$T/bad" --channel all/content
grep -q "does not verify" "$T/last.out" && ok "the partial run names the bad data" ||
	fail "the partial run says nothing of the bad data"
[ ! -e "$S2/packs/$rel" ] && [ ! -e "$S2/local/partial/$rel" ] &&
	ok "one source: neither the pack nor a partial file of it is there" ||
	fail "one source: the altered pack left a file"
check "the partial store verifies" "$FERRY" verify "$S2"
check "a run from the sound source completes it" \
	"$FERRY" sync "$S2" --source "$R" --channel all/content
cmp -s "$S2/packs/$rel" "$pack" && ok "the pack adopted then is the publisher's" ||
	fail "the pack in the store differs from the publisher's"
check "that store verifies" "$FERRY" verify "$S2"
finish
