# sync_hostile — sources that lie.  A flipped bit in one source's pack is
# caught and the chunk fetched from the next source; a truncated pack gives
# partial progress; a head signed by an untrusted key, a rolled-back head, a
# signed release holding "../../etc/passwd" and one whose pointer claims
# 1 TB are refused with one clear line — and after each the store still
# verifies and nothing outside it was written.
. "$(dirname "$0")/lib.sh"
make_key county
make_key stranger
R=$T/repo S=$T/school
"$FERRY" repo init "$R" --key "$T/county.pub" >/dev/null
"$GEN" "$T/v1" --seed 3 --size 6M
"$GEN" "$T/v2" --seed 3 --size 6M --revision 1
"$FERRY" pack "$R" g7/all "$T/v1" --key "$T/county" -q
cp -r "$R" "$T/old"                       # a stick from release 1
"$FERRY" pack "$R" g7/all "$T/v2" --key "$T/county" -q
"$FERRY" store init "$S" --trust "$T/county.pub" >/dev/null
sound() { "$FERRY" verify "$S" >/dev/null 2>&1 && ok "$1: the store still verifies" || fail "$1: store unsound"; }

# A corrupted copy first, the real repository second.
cp -r "$R" "$T/bad"
pack=$(find "$T/bad/packs" -name '*.pack' | head -n 1)
python3 -c 'import sys
p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[200]^=0x10; open(p,"wb").write(b)' "$pack"
check "a flipped bit in one source is survived through the next" \
	"$FERRY" sync "$S" --source "$T/bad" --source "$R" --channel g7/all
grep -q 'does not verify' "$T/last.out" && ok "the bad source is named" || fail "no report of the bad chunk"
"$FERRY" checkout "$S" g7/all "$T/site" -q
check "the checkout is byte-identical" diff -r "$T/v2" "$T/site"
sound "after a corrupt source"

# A truncated pack, alone: partial.
"$FERRY" store init "$T/s2" --trust "$T/county.pub" >/dev/null
cp -r "$R" "$T/trunc"
pack=$(find "$T/trunc/packs" -name '*.pack' | head -n 1)
truncate -s 5000 "$pack"
check_exit "a truncated pack gives partial progress" 3 \
	"$FERRY" sync "$T/s2" --source "$T/trunc" --channel g7/all
"$FERRY" verify "$T/s2" >/dev/null 2>&1 && ok "the partial store verifies" || fail "partial store unsound"

# A head re-signed by a stranger.
cp -r "$R" "$T/forged"
H=$T/forged/heads/g7/all
sed '/^-----BEGIN SSH SIGNATURE-----$/,$d' "$H" >"$T/body"
ssh-keygen -q -Y sign -f "$T/stranger" -n ferry-head "$T/body"
cat "$T/body" "$T/body.sig" >"$H"
"$FERRY" store init "$T/s3" --trust "$T/county.pub" >/dev/null
check_exit "a head signed by an untrusted key is refused" 4 \
	"$FERRY" sync "$T/s3" --source "$T/forged" --channel g7/all
grep -q 'heads/g7/all' "$T/last.out" && ok "the refusal names the source and file" || fail "unclear refusal"

# Release 1's head offered to a school at release 2: rolled back.
check_exit "a rolled-back head is refused" 4 "$FERRY" sync "$S" --source "$T/old"
grep -q 'rolled-back' "$T/last.out" && ok "the refusal says rolled back" || fail "unclear rollback refusal"
sound "after a rollback attempt"

# A release signed by the trusted key but hostile inside, made with stock git.
craft() { # repo tree-oid name: a signed commit and head on top of the channel
	local G=$1/manifests.git tree=$2 prev ver body commit
	prev=$(sed -n 's/^commit //p' "$1/heads/g7/all")
	ver=$(($(sed -n 's/^version //p' "$1/heads/g7/all") + 1))
	commit=$(git -C "$G" -c gpg.format=ssh -c user.signingkey="$T/county" \
		-c user.name=x -c user.email=x@x commit-tree -S -p "$prev" -m "$3" "$tree")
	printf '%s\n^%s\n' "$commit" "$prev" | git -C "$G" pack-objects -q --revs "$G/objects/pack/pack" >/dev/null
	git -C "$G" update-server-info
	gp=$(basename "$(ls -t "$G"/objects/pack/*.pack | head -n 1)")
	sed '/^-----BEGIN SSH SIGNATURE-----$/,$d' "$1/heads/g7/all" |
		sed "s/^version .*/version $ver/; s/^commit .*/commit $commit/; s/^git-pack .*/git-pack $gp/" >"$T/body"
	rm -f "$T/body.sig"
	ssh-keygen -q -Y sign -f "$T/county" -n ferry-head "$T/body"
	cat "$T/body" "$T/body.sig" >"$1/heads/g7/all"
}
cp -r "$R" "$T/evil"
G=$T/evil/manifests.git
meta=$(git -C "$G" rev-parse "refs/heads/g7/all^{tree}:meta")
b=$(echo "root:x:0:0::/root:/bin/sh" | git -C "$G" hash-object -w --stdin)
t=$(printf '100644 blob %s\tpasswd\n' "$b" | git -C "$G" mktree)
t=$(printf '040000 tree %s\tetc\n' "$t" | git -C "$G" mktree)
t=$(printf '040000 tree %s\t..\n' "$t" | git -C "$G" mktree)
t=$(printf '040000 tree %s\t..\n' "$t" | git -C "$G" mktree)
root=$(printf '040000 tree %s\tfiles\n040000 tree %s\tmeta\n' "$t" "$meta" | git -C "$G" mktree)
craft "$T/evil" "$root" "escape"
check_exit "a release holding ../../etc/passwd is refused" 4 "$FERRY" sync "$S" --source "$T/evil"
[ ! -e "$T/etc/passwd" ] && [ ! -e "$S/../etc/passwd" ] && ok "nothing was written outside the store" ||
	fail "a file escaped the store"
sound "after a path-escape attempt"

# A signed pointer claiming 1 TB.
cp -r "$R" "$T/huge"
G=$T/huge/manifests.git
python3 - "$T/ptr" <<'PY'
import sys
n = 262144
with open(sys.argv[1], "w") as f:
    f.write("ferry-pointer 1\nsize %d\nsha256 %s\nchunks %d\n" % (n * 4194304, "ab" * 32, n))
    for i in range(n):
        f.write("%064x 4194304 4194304\n" % i)
PY
b=$(git -C "$G" hash-object -w "$T/ptr")
t=$(printf '100644 blob %s\tbig.mp4\n' "$b" | git -C "$G" mktree)
root=$(printf '040000 tree %s\tfiles\n040000 tree %s\tmeta\n' "$t" "$(git -C "$G" rev-parse "refs/heads/g7/all^{tree}:meta")" | git -C "$G" mktree)
craft "$T/huge" "$root" "huge"
check_exit "a pointer claiming 1 TB is refused before anything is fetched" 1 \
	"$FERRY" sync "$S" --source "$T/huge"
grep -q 'only .* MiB are free' "$T/last.out" && ok "the refusal says how much is needed" || fail "unclear space refusal"
sound "after a 1 TB pointer"
finish
