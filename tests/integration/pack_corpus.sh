# pack_corpus — a real textbook, release after release: every tag of the
# corpus bundle packed as the next release of one channel, verified after
# each; a repack of an unchanged folder adds nothing; stock tools (git,
# ssh-keygen) check the signatures.
. "$(dirname "$0")/lib.sh"
make_key county
R=$T/repo
check "repo init" "$FERRY" repo init "$R" --key "$T/county.pub"
n=0
corpus_ready || finish
tags=$(corpus_tags)
[ "$(echo "$tags" | wc -l)" -ge 9 ] && ok "the corpus has $(echo "$tags" | wc -l) tags" || fail "corpus tags: $tags"
for tag in $tags; do
	n=$((n + 1))
	rm -rf "$T/tree" && corpus_tree "$tag" "$T/tree"
	if "$FERRY" pack "$R" openstax/philosophy "$T/tree" --key "$T/county" --message "$tag" \
		--json >"$T/pack.json" 2>"$T/pack.err"; then
		v=$(json_field "$T/pack.json" version)
		[ "$v" = "$n" ] && ok "pack $tag as release $n" || fail "pack $tag: version $v, wanted $n"
	else
		fail "pack $tag"
		sed 's/^/#   /' "$T/pack.err"
	fi
	check "verify after $tag" "$FERRY" verify "$R"
done
last=$(echo "$tags" | tail -n 1)
"$FERRY" pack "$R" openstax/philosophy "$T/tree" --key "$T/county" --json >"$T/again.json" 2>&1
[ "$(json_field "$T/again.json" new_chunks)" = 0 ] && [ "$(json_field "$T/again.json" unchanged)" = True ] &&
	ok "repacking $last adds no chunks and no release" || fail "repack of unchanged folder: $(cat "$T/again.json")"

# Stock git: clone the manifest repository and check the release signature.
echo "county@county $(cat "$T/county.pub")" >"$T/allowed"
check "git clone of manifests.git" git clone -q "$R/manifests.git" "$T/clone"
check "git verify-commit of the newest release" \
	git -C "$T/clone" -c gpg.format=ssh -c gpg.ssh.allowedSignersFile="$T/allowed" \
	verify-commit refs/remotes/origin/openstax/philosophy
check "git fsck --strict" git -C "$R/manifests.git" fsck --strict --no-dangling
loose=$(git -C "$R/manifests.git" count-objects -v | awk '/^count:/{print $2}')
[ "$loose" = 0 ] && ok "no loose git objects" || fail "$loose loose git objects"
# Stock ssh-keygen: verify a head (split body and signature as the README shows).
sed '/^-----BEGIN SSH SIGNATURE-----$/,$d' "$R/heads/openstax/philosophy" >"$T/head.body"
sed -n '/^-----BEGIN SSH SIGNATURE-----$/,$p' "$R/heads/openstax/philosophy" >"$T/head.sig"
check "ssh-keygen -Y verify of the head" sh -c \
	"ssh-keygen -Y verify -f '$T/allowed' -I county@county -n ferry-head -s '$T/head.sig' < '$T/head.body'"
# A pointer names real bytes: the first file's chunks sum to its size.
f=$(git -C "$T/clone" ls-tree -r --name-only origin/openstax/philosophy -- files | head -n 1)
git -C "$T/clone" show "origin/openstax/philosophy:$f" | head -n 1 | grep -q '^ferry-pointer 1$' &&
	ok "release tree holds pointer blobs" || fail "no pointer at $f"
finish
