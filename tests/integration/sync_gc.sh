# sync_gc — `ferry gc` after a release drops a folder: the chunks only the
# old release needed go (whole packs removed or mostly-dead packs
# repacked), the store still verifies, the installed release still checks
# out byte-identical, and a second gc finds nothing to do.  A pack part-read
# by a killed sync is kept while its release is pending and removed once
# the channel is unsubscribed.
. "$(dirname "$0")/lib.sh"
make_key county
R=$T/repo S=$T/school
"$FERRY" repo init "$R" --key "$T/county.pub" >/dev/null
"$GEN" "$T/v2" --seed 5 --size 12M
cp -r "$T/v2" "$T/v1"
# The folder dropped is most of the first release: a store adopts the
# publisher's packs whole, so gc must find a pack mostly dead to repack.
"$GEN" "$T/extra" --seed 6 --size 36M
mv "$T/extra" "$T/v1/extra"
"$FERRY" pack "$R" all/content "$T/v1" --key "$T/county" -q
"$FERRY" store init "$S" --trust "$T/county.pub" >/dev/null
"$FERRY" sync "$S" --source "$R" --channel all/content -q
"$FERRY" pack "$R" all/content "$T/v2" --key "$T/county" -q
"$FERRY" sync "$S" --source "$R" -q
if "$FERRY" gc "$S" --json >"$T/gc.json" 2>"$T/gc.err"; then
	python3 - "$T/gc.json" <<'PY' && ok "gc frees what only the old release needed" || fail "gc: $(cat "$T/gc.json")"
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if d["bytes_after"] < d["bytes_before"] and d["packs_removed"] + d["packs_repacked"] >= 1 else 1)
PY
else
	fail "gc failed: $(cat "$T/gc.err")"
fi
check "the store verifies after gc" "$FERRY" verify "$S"
"$FERRY" checkout "$S" all/content "$T/site" -q
check "the installed release checks out byte-identical" diff -r "$T/v2" "$T/site"
"$FERRY" gc "$S" --json >"$T/gc2.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["packs_removed"]+d["packs_repacked"]==0 and d["bytes_after"]==d["bytes_before"] else 1)' "$T/gc2.json" &&
	ok "a second gc finds nothing to do" || fail "second gc: $(cat "$T/gc2.json")"
# A stray pack no database row names (a sync killed before its commit) is swept.
cp "$(find "$S/packs" -name '*.pack' | head -n 1)" "$S/packs/stray.tmp-1"
"$FERRY" gc "$S" -q
[ ! -e "$S/packs/stray.tmp-1" ] && ok "gc sweeps a killed writer's temporary" || fail "temporary left"
check "and the store still verifies" "$FERRY" verify "$S"

# A second channel subscribed by mistake, its first night cut short in the
# middle of a whole-pack read: the part-read pack stays while the release
# is pending (the next night resumes it), and goes once the channel is
# unsubscribed.
"$GEN" "$T/big" --seed 7 --size 24M >/dev/null
"$FERRY" pack "$R" all/big "$T/big" --key "$T/county" -q
"$FERRY" sync "$S" --source "$R" --channel all/big --bwlimit 4M -q >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 300); do # until a part-read pack holds bytes
	[ -n "$(find "$S/local/partial" -name '*.pack' -size +64k 2>/dev/null)" ] && break
	sleep 0.05
done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
part=$(find "$S/local/partial" -name '*.pack' 2>/dev/null | head -n 1)
if [ -n "$part" ]; then
	ok "a killed sync left a part-read pack"
	"$FERRY" gc "$S" --json >"$T/gc3.json"
	[ -e "$part" ] && [ "$(json_field "$T/gc3.json" partial_removed)" = 0 ] &&
		ok "gc keeps it while the release is pending" || fail "gc removed it: $(cat "$T/gc3.json")"
	"$FERRY" store unsubscribe "$S" all/big >/dev/null
	"$FERRY" gc "$S" --json >"$T/gc4.json"
	[ ! -e "$part" ] && [ "$(json_field "$T/gc4.json" partial_removed)" -ge 1 ] &&
		ok "and removes it once the channel is unsubscribed ($(json_field "$T/gc4.json" partial_bytes) bytes)" ||
		fail "after unsubscribe: $(cat "$T/gc4.json")"
	check "the store verifies" "$FERRY" verify "$S"
	"$FERRY" checkout "$S" all/content "$T/site2" -q
	check "and the other channel still checks out byte-identical" diff -r "$T/v2" "$T/site2"
else
	fail "the killed sync left no part-read pack"
fi
finish
