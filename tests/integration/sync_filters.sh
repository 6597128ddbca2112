# sync_filters — a school that takes only part of a channel, on the real
# textbook: `--only modules` is kept with the subscription; sync, checkout,
# verify and gc all follow it; a later release is narrowed the same way
# with no arguments; widening fetches just the newly included files and
# narrowing drops them from the next checkout; damage inside the filter
# still fails verify; and after a half-copied source, status shows the
# filters and exactly what is still missing, checked against an
# independent count from the release's pointers and the source's indexes.
. "$(dirname "$0")/lib.sh"
make_key county
R=$T/repo S=$T/school CH=book/philosophy
SITE="$T/school's site" # a quote and a space: paths reach no shell
"$FERRY" repo init "$R" --key "$T/county.pub" >/dev/null
"$FERRY" store init "$S" --trust "$T/county.pub" >/dev/null
corpus_ready || finish
set -- $(corpus_tags)
first=$1
shift $(($# - 1))
last=$1

# The tag's tree restricted to prefixes: what a narrowed checkout must be.
restricted() { # tag dir prefix...
	local tag=$1 dir=$2
	shift 2
	rm -rf "$T/full" "$dir" && corpus_tree "$tag" "$T/full" && mkdir -p "$dir"
	for p in "$@"; do
		mkdir -p "$dir/$(dirname "$p")" && cp -a "$T/full/$p" "$dir/$p"
	done
}
# check_site NAME DIR: the site is byte-identical to DIR (nothing more).
check_site() {
	if diff -r "$2" "$SITE" >"$T/diff.out" 2>&1; then ok "$1"; else
		fail "$1"
		sed 's/^/#   /' "$T/diff.out" | head -n 10
	fi
}
jget() { python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
for k in sys.argv[2:]: d=d[int(k)] if k.isdigit() else d[k]
print(json.dumps(d) if isinstance(d,(list,dict)) or d is None else d)' "$@"; }
packs_of() { find "$1/packs" -name '*.pack' | sort; }

# Release 1, narrowed to modules/.
restricted "$first" "$T/want" modules
"$FERRY" pack "$R" "$CH" "$T/full" --key "$T/county" -q || fail "pack $first"
packs_of "$R" >"$T/packs1"
full_bytes=$(du -sb --apparent-size "$T/full" | cut -f1)
check_exit "--only needs a --channel" 2 "$FERRY" sync "$S" --source "$R" --only modules
check_exit "a filter escaping the tree is refused" 1 \
	"$FERRY" sync "$S" --source "$R" --channel "$CH" --only ../etc
grep -q 'path filter "../etc"' "$T/last.out" && ok "and the refusal names the filter" ||
	fail "refusal: $(cat "$T/last.out")"
"$FERRY" sync "$S" --source "$R" --channel "$CH" --only modules/ --json >"$T/s1.json"
rc=$?
written=$(jget "$T/s1.json" bytes_written)
[ "$rc" = 0 ] && [ "$written" -gt 0 ] && [ "$written" -lt $((full_bytes / 2)) ] &&
	ok "a narrowed sync installs and stores only part ($written of $full_bytes bytes)" ||
	fail "narrowed sync: exit $rc, $(cat "$T/s1.json")"
"$FERRY" checkout "$S" "$CH" "$SITE" -q || fail "checkout $first"
check_site "the checkout is the tag's modules/ and nothing else" "$T/want"
check "the narrowed store verifies" "$FERRY" verify "$S"
"$FERRY" status "$S" --json >"$T/st1.json"
[ "$(jget "$T/st1.json" subscribed 0 filters)" = '["modules"]' ] &&
	[ "$(jget "$T/st1.json" installed 0 filters)" = '["modules"]' ] &&
	[ "$(jget "$T/st1.json" installed 0 files)" = "$(find "$T/want" -type f | wc -l)" ] &&
	ok "status shows the filter and the files it holds" || fail "status: $(cat "$T/st1.json")"

# The store must not pass verify by skipping checks: one claiming the whole
# release (filters forgotten, subscribed whole) lacks chunks and fails.
cp -a "$S" "$T/claim"
python3 -c 'import sqlite3,sys
db=sqlite3.connect(sys.argv[1]); db.execute("DELETE FROM meta WHERE key LIKE ?", ("filters/%",))
db.execute("DELETE FROM subscriptions"); db.execute("INSERT INTO subscriptions VALUES(?, ?)", (sys.argv[2], ""))
db.commit()' "$T/claim/store.db" "$CH"
check_exit "a store claiming the whole release it does not hold fails verify" 4 \
	"$FERRY" verify "$T/claim"

# Release 2: the nightly run needs no --channel and no --only.
restricted "$last" "$T/want" modules
"$FERRY" pack "$R" "$CH" "$T/full" --key "$T/county" -q || fail "pack $last"
check "the next release syncs with the stored filter" "$FERRY" sync "$S" --source "$R"
"$FERRY" checkout "$S" "$CH" "$SITE" -q || fail "checkout $last"
check_site "its checkout is the new tag's modules/" "$T/want"

# Widen: only the newly included files are fetched.
"$FERRY" store subscribe "$S" "$CH" --only modules --only media -q
media_bytes=$(du -sb --apparent-size "$T/full/media" | cut -f1)
"$FERRY" status "$S" --json >"$T/st3.json"
"$FERRY" sync "$S" --source "$R" --json >"$T/s3.json"
rc=$?
written=$(jget "$T/s3.json" bytes_written)
[ "$rc" = 0 ] && [ "$written" -gt 0 ] && [ "$written" -le $((media_bytes + media_bytes / 20)) ] &&
	ok "widening to media/ fetches $written bytes ($media_bytes in media/)" ||
	fail "widen: exit $rc, $(cat "$T/s3.json")"
[ "$(jget "$T/st3.json" installed 0 subscription_bytes_missing)" = "$written" ] &&
	ok "status said beforehand what widening would fetch" || fail "$(cat "$T/st3.json")"
"$FERRY" checkout "$S" "$CH" "$SITE" -q || fail "checkout widened"
restricted "$last" "$T/want" media modules
check_site "the widened checkout shows media/ too" "$T/want"
check "the widened store verifies" "$FERRY" verify "$S"

# Narrow: the next checkout drops media/ at once; gc frees it.
"$FERRY" store unsubscribe "$S" "$CH" --only media/ -q
"$FERRY" checkout "$S" "$CH" "$SITE" -q || fail "checkout narrowed"
restricted "$last" "$T/want" modules
check_site "the narrowed checkout drops media/" "$T/want"
"$FERRY" status "$S" --json >"$T/before.json"
"$FERRY" gc "$S" -q
"$FERRY" status "$S" --json >"$T/after.json"
b=$(jget "$T/before.json" pack_bytes) a=$(jget "$T/after.json" pack_bytes)
[ "$a" -lt "$b" ] && ok "gc frees what the narrowed filter dropped ($b -> $a bytes)" ||
	fail "gc kept $a of $b bytes"
check "the store verifies after gc" "$FERRY" verify "$S"
rm -rf "$SITE" "$SITE.releases"
"$FERRY" checkout "$S" "$CH" "$SITE" -q || fail "checkout after gc"
check_site "a fresh checkout after gc is still whole" "$T/want"
check_exit "removing the last filter is refused (it would take the whole channel)" 1 \
	"$FERRY" store unsubscribe "$S" "$CH" --only modules

# Damage inside the filter still fails verify: flip a byte of the chunk of
# a modules/ file (found through its pointer and the packs' own indexes).
cp -a "$S" "$T/bad"
commit=$(git -C "$S/manifests.git" rev-parse "refs/heads/$CH")
file=$(git -C "$S/manifests.git" ls-tree -r --name-only "$commit" files/modules | grep cnxml | head -n 1)
id=$(git -C "$S/manifests.git" show "$commit:$file" | awk 'NR>4 {print $1; exit}')
python3 - "$T/bad/packs" "$id" <<'EOF' && ok "a byte of $file's chunk flipped" || fail "no chunk to damage"
import glob, struct, sys
want = bytes.fromhex(sys.argv[2])
for p in glob.glob(sys.argv[1] + "/*/*.pack"):
    b = bytearray(open(p, "rb").read())
    off, count = struct.unpack_from("<QI", b, len(b) - 24)
    for i in range(count):
        r = off + 56 * i
        if b[r:r + 32] == want:
            at, stored = struct.unpack_from("<QI", b, r + 32)
            b[at + 44 + stored // 2] ^= 1
            open(p, "wb").write(b)
            sys.exit(0)
sys.exit(1)
EOF
check_exit "verify fails on a damaged chunk inside the filter" 4 "$FERRY" verify "$T/bad"

# A half-copied source: the stick lacks the packs of release 2 (and their
# indexes: the copy stopped before them).
cp -r "$R" "$T/stick"
packs_of "$R" | comm -13 "$T/packs1" - | while read -r p; do
	p=$T/stick${p#"$R"}
	rm -f "$p" "${p%.pack}.idx"
done
"$FERRY" store init "$T/school2" --trust "$T/county.pub" >/dev/null
check_exit "a narrowed sync from a half-copied stick is partial" 3 \
	"$FERRY" sync "$T/school2" --source "$T/stick" --channel "$CH" --only modules --only collections
"$FERRY" status "$T/school2" --json >"$T/st2.json"
"$FERRY" status "$T/school2" >"$T/st2.txt"
grep -q 'still missing' "$T/st2.txt" && grep -q 'collections, modules' "$T/st2.txt" &&
	ok "status names the filters and what is still missing" || fail "$(cat "$T/st2.txt")"
# What is really missing: every chunk of a file under the filters that no
# pack left on the stick holds (the release's pointers against the .idx
# records), counted independently of ferry.
rcommit=$(git -C "$R/manifests.git" rev-parse "refs/heads/$CH")
git -C "$R/manifests.git" ls-tree -r "$rcommit" files/modules files/collections |
	awk '{print $3}' | git -C "$R/manifests.git" cat-file --batch >"$T/pointers"
python3 - "$T/stick/packs" "$T/pointers" "$T/st2.json" <<'EOF' >"$T/count.out" 2>&1
import glob, json, sys
have = set()
for x in glob.glob(sys.argv[1] + "/*/*.idx"):
    b = open(x, "rb").read()
    n = int.from_bytes(b[56:60], "little")
    have.update(b[64 + 56 * i:64 + 56 * i + 32] for i in range(n))
files = 0
missing = {}
for blob in open(sys.argv[2], encoding="utf-8").read().split("ferry-pointer 1\n")[1:]:
    lost = False
    for line in blob.splitlines()[3:]:
        w = line.split()
        if len(w) == 3 and len(w[0]) == 64 and bytes.fromhex(w[0]) not in have:
            missing[w[0]] = int(w[2])
            lost = True
    files += lost
p = json.load(open(sys.argv[3]))["pending"][0]
got = (p["files_missing"], p["chunks_missing"], p["bytes_missing"])
want = (files, len(missing), sum(missing.values()))
print("status says", got, "really missing", want)
sys.exit(0 if got == want and files > 0 else 1)
EOF
[ $? = 0 ] && ok "status counts exactly the missing files, chunks and bytes: $(cat "$T/count.out")" ||
	fail "missing counts: $(cat "$T/count.out")"
"$FERRY" sync "$T/school2" --source "$T/stick" --source "$R" --json >"$T/s4.json"
[ "$(jget "$T/s4.json" bytes_written)" = "$(jget "$T/st2.json" pending 0 bytes_missing)" ] &&
	ok "the completing run stores exactly the bytes status said were missing" ||
	fail "completing run: $(cat "$T/s4.json")"
"$FERRY" checkout "$T/school2" "$CH" "$SITE" -q || fail "checkout school2"
restricted "$last" "$T/want" collections modules
check_site "its checkout is the tag's collections/ and modules/" "$T/want"

"$FERRY" status "$T/school2" --json >"$T/st2b.json"
[ "$(jget "$T/st2b.json" runs 0 outcome)" = done ] && [ "$(jget "$T/st2b.json" runs 1 outcome)" = partial ] &&
	[ "$(jget "$T/st2b.json" runs 0 bytes_written)" = "$(jget "$T/s4.json" bytes_written)" ] &&
	[ "$(jget "$T/st2b.json" pending)" = "[]" ] &&
	ok "status lists the partial run, then the completing one, and nothing pending" ||
	fail "runs: $(cat "$T/st2b.json")"
on_disk=$(find "$T/school2/packs" -name '*.pack' -printf '%s\n' | awk '{s+=$1} END {print s+0}')
[ "$(jget "$T/st2b.json" pack_bytes)" = "$on_disk" ] &&
	ok "status's disk use is what the pack files hold ($on_disk bytes)" ||
	fail "pack_bytes $(jget "$T/st2b.json" pack_bytes), on disk $on_disk"

# A stale release (published 40 days ago, re-signed by the county) is
# installed, and status says how old it is.
cp -r "$R" "$T/old"
old=$(($(date +%s) - 40 * 86400))
sed -n '/^-----BEGIN/q;p' "$R/heads/$CH" | sed "s/^time .*/time $old/" >"$T/head.body"
ssh-keygen -q -Y sign -n ferry-head -f "$T/county" "$T/head.body" 2>/dev/null
cat "$T/head.body" "$T/head.body.sig" >"$T/old/heads/$CH"
"$FERRY" store init "$T/school3" --trust "$T/county.pub" >/dev/null
check "a stale head is still installed" \
	"$FERRY" sync "$T/school3" --source "$T/old" --channel "$CH" --only collections
"$FERRY" status "$T/school3" --json >"$T/st5.json"
"$FERRY" status "$T/school3" >"$T/st5.txt"
[ "$(jget "$T/st5.json" installed 0 stale)" = True ] &&
	[ "$(jget "$T/st5.json" installed 0 age_seconds)" -ge $((40 * 86400)) ] &&
	grep -q 'published 40 days ago (stale' "$T/st5.txt" &&
	ok "status says the release is 40 days old and stale" || fail "stale: $(cat "$T/st5.txt")"

# Dropping the channel: status and gc forget it; the store still verifies.
"$FERRY" store unsubscribe "$T/school2" "$CH" -q
"$FERRY" gc "$T/school2" -q
"$FERRY" status "$T/school2" --json >"$T/st3.json"
[ "$(jget "$T/st3.json" installed)" = "[]" ] && [ "$(jget "$T/st3.json" pack_bytes)" = 0 ] &&
	ok "an unsubscribed channel is forgotten and gc frees all of it" ||
	fail "after unsubscribe: $(cat "$T/st3.json")"
check "and the store still verifies" "$FERRY" verify "$T/school2"
finish
