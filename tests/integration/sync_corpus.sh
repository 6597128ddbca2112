# sync_corpus — the school side on a real textbook: every tag of the corpus
# published in turn, synced into a school store from the publisher's
# folder, checked out and compared byte for byte with the tag's tree; a
# second school syncs from the first school's store; a half-copied source
# gives partial progress (exit 3) that a later run completes; --dry-run
# reports the cost and changes nothing.
. "$(dirname "$0")/lib.sh"
make_key county
R=$T/repo S=$T/school
SITE="$T/school's site" # a quote and a space: paths reach no shell
"$FERRY" repo init "$R" --key "$T/county.pub" >/dev/null
check "store init" "$FERRY" store init "$S" --trust "$T/county.pub"
corpus_ready || finish
tags=$(corpus_tags)
for tag in $tags; do
	rm -rf "$T/tree" && corpus_tree "$tag" "$T/tree"
	"$FERRY" pack "$R" book/philosophy "$T/tree" --key "$T/county" -q || fail "pack $tag"
	if "$FERRY" sync "$S" --source "$R" --channel book/philosophy -q >"$T/sync.out" 2>&1 &&
		"$FERRY" checkout "$S" book/philosophy "$SITE" -q >>"$T/sync.out" 2>&1 &&
		diff -r "$T/tree" "$SITE" >"$T/diff.out" 2>&1; then
		ok "sync and checkout of $tag are byte-identical to the tag"
	else
		fail "sync/checkout of $tag"
		sed 's/^/#   /' "$T/sync.out" "$T/diff.out" | head -n 10
	fi
done
n=$(find "$SITE.releases" -mindepth 1 -maxdepth 1 -type d | wc -l)
[ "$n" = 2 ] && ok "checkout keeps the current and the previous release only" || fail "$n release folders kept"
check "the store verifies" "$FERRY" verify "$S"
"$FERRY" status "$S" --json >"$T/status.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["installed"][0]["version"]>=9 and not d["pending"] else 1)' "$T/status.json" &&
	ok "status reports the newest release and nothing pending" || fail "status: $(cat "$T/status.json")"
check_exit "a second run has nothing to do" 0 "$FERRY" sync "$S" --source "$R"

# Another school syncs from this school's store.
"$FERRY" store init "$T/school2" --trust "$T/county.pub" >/dev/null
check "a school syncs from another school's store" \
	"$FERRY" sync "$T/school2" --source "$S" --channel book/philosophy
"$FERRY" checkout "$T/school2" book/philosophy "$T/site2" -q
check "and its checkout matches" diff -r "$T/tree" "$T/site2"

# A half-copied stick: the newest release's packs are missing.
"$FERRY" store init "$T/school3" --trust "$T/county.pub" >/dev/null
cp -r "$R" "$T/stick"
# (the two largest: delta packs are small, and a fresh school needs none)
find "$T/stick/packs" -name '*.pack' -printf '%s %p\n' | sort -n | tail -n 2 | cut -d' ' -f2- | xargs rm -f
check_exit "a half-copied source gives partial progress" 3 \
	"$FERRY" sync "$T/school3" --source "$T/stick" --channel book/philosophy
"$FERRY" status "$T/school3" >"$T/st3.out"
grep -q 'still missing' "$T/st3.out" && ok "status shows what is still missing" || fail "status: $(cat "$T/st3.out")"
"$FERRY" sync "$T/school3" --source "$R" --dry-run --json >"$T/dry.json"
python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["channels"][0]; sys.exit(0 if c["state"]=="planned" and 0<c["fetch_bytes"] else 1)' "$T/dry.json" &&
	ok "--dry-run reports the bytes left to fetch" || fail "dry run: $(cat "$T/dry.json")"
check "the next run with a full source completes" \
	"$FERRY" sync "$T/school3" --source "$T/stick" --source "$R"
"$FERRY" checkout "$T/school3" book/philosophy "$T/site3" -q
check "and its checkout matches" diff -r "$T/tree" "$T/site3"
before=$(readlink "$SITE")
check "rollback switches to the previous release" \
	"$FERRY" checkout "$S" book/philosophy "$SITE" --rollback
after=$(readlink "$SITE")
case $before:$after in
*-*0009-*:*0008-*) ok "the site now points at release 8 instead of 9" ;;
*) fail "rollback went from $before to $after" ;;
esac
finish
