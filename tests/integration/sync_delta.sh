# sync_delta — deltas on the real textbook corpus: a school that skips
# several releases patches the files it has instead of fetching their
# chunks, and every checkout is byte-identical to its tag; a corrupted delta
# is dropped and its chunks fetched (the run still succeeds, nothing bad is
# stored); a school without the listed base fetches chunks; --dry-run
# shows the saving; --no-deltas publishes none; ferry verify checks
# delta entries and meta/deltas.
. "$(dirname "$0")/lib.sh"
make_key county
R=$T/repo S=$T/school
"$FERRY" repo init "$R" --key "$T/county.pub" >/dev/null
"$FERRY" store init "$S" --trust "$T/county.pub" >/dev/null
corpus_ready || finish
set -- $(corpus_tags)
[ $# -ge 6 ] || { fail "the corpus has only $# tags"; finish; }
publish() { # tag [pack options...]
	local tag=$1
	shift
	rm -rf "$T/tree" && corpus_tree "$tag" "$T/tree"
	"$FERRY" pack "$R" book/philosophy "$T/tree" --key "$T/county" --json "$@" >"$T/pack.json" ||
		fail "pack $tag"
}
sync_check() { # name store [sync options...] -> $T/sync.json
	local name=$1 st=$2
	shift 2
	rm -rf "$T/site"
	if "$FERRY" sync "$st" --source "$R" --channel book/philosophy --json "$@" >"$T/sync.json" \
		2>"$T/sync.err" && "$FERRY" checkout "$st" book/philosophy "$T/site" -q &&
		diff -r "$T/tree" "$T/site" >"$T/diff.out" 2>&1; then
		ok "$name: checkout byte-identical to the tag"
	else
		fail "$name"
		sed 's/^/#   /' "$T/sync.err" "$T/diff.out" | head -n 10
	fi
}
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["channels"][0][sys.argv[2]])' "$T/sync.json" "$1"; }

# The school installs the first tag, then skips three releases.
publish "$1"
sync_check "first tag" "$S"
publish "$2"
publish "$3"
publish "$4"
[ "$(json_field "$T/pack.json" deltas)" -gt 0 ] && ok "pack lists deltas ($(json_field "$T/pack.json" deltas))" ||
	fail "pack made no deltas: $(cat "$T/pack.json")"
"$FERRY" sync "$S" --source "$R" --dry-run --json >"$T/sync.json"
[ "$(field deltas)" -gt 0 ] && [ "$(field delta_saved_bytes)" -gt 0 ] &&
	ok "--dry-run shows $(field deltas) files by delta, $(field delta_saved_bytes) bytes saved" ||
	fail "dry run: $(cat "$T/sync.json")"
cp -r "$S" "$T/school-nodelta"
sync_check "three releases skipped, with deltas" "$S"
with=$(json_field "$T/sync.json" bytes_read)
[ "$(field deltas_applied)" -gt 0 ] && [ "$(field deltas_failed)" = 0 ] &&
	ok "$(field deltas_applied) deltas applied from three releases back" ||
	fail "deltas: $(cat "$T/sync.json")"
sync_check "the same without deltas" "$T/school-nodelta" --no-deltas
without=$(json_field "$T/sync.json" bytes_read)
[ "$with" -lt "$without" ] && ok "deltas read $with bytes instead of $without" ||
	fail "deltas read $with bytes, chunks $without"
check "the school's store verifies" "$FERRY" verify "$S"

# The rest of the chain, one release at a time.
shift 4
for tag in "$@"; do
	publish "$tag"
	sync_check "$tag" "$S"
done
check "the publisher's repository verifies (delta entries, meta/deltas)" "$FERRY" verify "$R"
"$FERRY" pack "$R" book/philosophy "$T/tree" --key "$T/county" >"$T/again.out"
grep -q "nothing changed" "$T/again.out" && ok "an unchanged folder still publishes nothing" ||
	fail "republish: $(cat "$T/again.out")"

# A mirror whose delta entries are corrupted: dropped, chunks fetched.
"$FERRY" store init "$T/school2" --trust "$T/county.pub" >/dev/null
set -- $(corpus_tags)
publish2() { # tag: publish into R2
	rm -rf "$T/tree" && corpus_tree "$1" "$T/tree"
	"$FERRY" pack "$T/r2" book/philosophy "$T/tree" --key "$T/county" -q || fail "pack $1 into r2"
}
"$FERRY" repo init "$T/r2" --key "$T/county.pub" >/dev/null
publish2 "$1"
"$FERRY" sync "$T/school2" --source "$T/r2" -q --channel book/philosophy || fail "school2 first sync"
cp -r "$T/school2" "$T/school3"
publish2 "$2"
publish2 "$3"
cp -r "$T/r2" "$T/bad"
python3 - "$T/bad/packs" <<'EOF' || fail "no delta entry to corrupt"
import os, struct, sys
n = 0
for d, _, files in os.walk(sys.argv[1]):
    for f in files:
        if not f.endswith('.idx'):
            continue
        idx = open(os.path.join(d, f), 'rb').read()
        count = struct.unpack_from('<I', idx, 56)[0]
        pack = os.path.join(d, f[:-4] + '.pack')
        with open(pack, 'r+b') as p:
            for i in range(count):
                rec = 64 + 56 * i
                off, stored = struct.unpack_from('<QI', idx, rec + 32)
                if idx[rec + 48] != 3:
                    continue
                p.seek(off + 44 + stored // 2)
                b = p.read(1)
                p.seek(off + 44 + stored // 2)
                p.write(bytes([b[0] ^ 0x55]))
                n += 1
sys.exit(0 if n else 1)
EOF
check_exit "verify reports the corrupted delta entries" 4 "$FERRY" verify "$T/bad"
R_SAVE=$R
R=$T/bad
sync_check "corrupted deltas" "$T/school2"
[ "$(field deltas_failed)" -gt 0 ] && [ "$(field deltas_applied)" = 0 ] &&
	ok "$(field deltas_failed) corrupted deltas dropped, their chunks fetched" ||
	fail "corrupted deltas: $(cat "$T/sync.json")"
check "and the store holds nothing bad" "$FERRY" verify "$T/school2"

# A school whose version of a file is no listed base: chunks.
R=$T/r2
publish2 "$4" 2>/dev/null
"$FERRY" pack "$T/r2" book/philosophy "$T/tree" --key "$T/county" -q # unchanged: no release
rm -rf "$T/tree" && corpus_tree "$5" "$T/tree"
"$FERRY" pack "$T/r2" book/philosophy "$T/tree" --key "$T/county" --delta-depth 1 -q ||
	fail "pack with --delta-depth 1"
sync_check "base not held (depth 1, school four releases behind)" "$T/school3"
[ "$(field deltas)" = 0 ] && ok "no delta chosen without its base" ||
	fail "a delta was chosen without its base: $(cat "$T/sync.json")"
R=$R_SAVE

# --no-deltas publishes none.
"$FERRY" repo init "$T/r4" --key "$T/county.pub" >/dev/null
for tag in "$1" "$2"; do
	rm -rf "$T/tree" && corpus_tree "$tag" "$T/tree"
	"$FERRY" pack "$T/r4" book/philosophy "$T/tree" --key "$T/county" --no-deltas --json >"$T/pack.json"
done
[ "$(json_field "$T/pack.json" deltas)" = 0 ] && ok "--no-deltas makes no deltas" ||
	fail "--no-deltas: $(cat "$T/pack.json")"
finish
