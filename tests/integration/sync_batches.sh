# sync_batches — the plan is worked through in bounded batches (issue 3):
# with FERRY_PLAN_BATCH=1000, a release of ~4,000 small chunks is planned
# exactly (--dry-run figures equal to a one-batch plan's and to the pack's
# own count), fetched in ranges in several batches none of which holds more
# than 1,000 chunks (log lines), and checked out byte-identical; widening
# the filters fetches the rest in batches too; a first import of the whole
# release still adopts the pack whole (no ranged batch at all).
. "$(dirname "$0")/lib.sh"
make_key county
R=$T/repo S=$T/school CH=lib/batches
"$FERRY" repo init "$R" --key "$T/county.pub" >/dev/null
# Small chunks (min 1 KiB, average 2 KiB), as bench/memory.sh sets them.
sed -i 's/"min":[0-9]*,"avg":[0-9]*,"max":[0-9]*/"min":1024,"avg":2048,"max":8192/' "$R/ferry.json"
rm -f "$R/ferry.json.sig"
grep -q '"min":1024,"avg":2048,"max":8192' "$R/ferry.json" || { fail "chunker parameters"; finish; }
mkdir -p "$T/tree/a" "$T/tree/b" "$T/tree/c" "$T/tree/d"
for d in a b c d; do
	for i in 1 2; do head -c $((1 << 20)) /dev/urandom >"$T/tree/$d/f$i.bin"; done
done
"$FERRY" pack "$R" "$CH" "$T/tree" --key "$T/county" --json >"$T/pack.json" ||
	{ fail "pack"; finish; }
chunks=$(json_field "$T/pack.json" chunks)
[ "$chunks" -ge 3000 ] && ok "the release has $chunks chunks (3x a batch of 1000)" ||
	fail "only $chunks chunks"
jget() { python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
for k in sys.argv[2:]: d=d[int(k)] if k.isdigit() else d[k]
print(d)' "$@"; }
# Every "plan: batch" log line holds at most 1000 chunks; prints the count.
batch_lines() {
	awk '/plan: batch [0-9]+: [0-9]+ chunks/ {
		for (i = 1; i <= NF; i++) if ($i == "chunks,") n = $(i - 1)
		if (n + 0 > 1000) big++
		lines++
	} END { if (big) print "over"; else print lines + 0 }' "$1"
}

# --dry-run: the same exact figures whether planned in one batch or in 1000s.
"$FERRY" store init "$S" --trust "$T/county.pub" >/dev/null
"$FERRY" sync "$S" --source "$R" --channel "$CH" --dry-run --json >"$T/dry1.json" 2>/dev/null
FERRY_PLAN_BATCH=1000 "$FERRY" sync "$S" --source "$R" --channel "$CH" --dry-run --json \
	>"$T/dry2.json" 2>/dev/null
m1=$(jget "$T/dry1.json" channels 0 missing_chunks) m2=$(jget "$T/dry2.json" channels 0 missing_chunks)
f1=$(jget "$T/dry1.json" channels 0 fetch_bytes) f2=$(jget "$T/dry2.json" channels 0 fetch_bytes)
b2=$(jget "$T/dry2.json" channels 0 batches) u2=$(jget "$T/dry2.json" channels 0 unavailable_chunks)
[ "$m1" = "$chunks" ] && [ "$m2" = "$chunks" ] && [ "$f1" = "$f2" ] && [ "$f1" -gt 0 ] &&
	ok "--dry-run counts $m2 chunks, $f2 bytes, in one batch or in $b2" ||
	fail "dry-run: $m1/$m2 chunks of $chunks, $f1/$f2 bytes"
[ "$b2" = $(((chunks + 999) / 1000)) ] && [ "$u2" = 0 ] &&
	[ "$(jget "$T/dry1.json" channels 0 batches)" = 1 ] &&
	ok "in $b2 batches of at most 1000, every chunk located" ||
	fail "dry-run batches $b2, unavailable $u2"

# Three of four folders: the pack is partly needed, so ranged, batched.
FERRY_PLAN_BATCH=1000 "$FERRY" sync "$S" --source "$R" --channel "$CH" --only a --only b --only c --json \
	>"$T/s1.json" 2>"$T/s1.log"
rc=$?
n=$(batch_lines "$T/s1.log") b=$(jget "$T/s1.json" channels 0 batches)
[ "$rc" = 0 ] && [ "$(jget "$T/s1.json" channels 0 state)" = installed ] &&
	ok "a filtered sync installs" || fail "filtered sync: exit $rc $(tail -n 3 "$T/s1.log")"
[ "$n" != over ] && [ "$n" -ge 3 ] && [ "$n" = "$b" ] &&
	ok "it fetched in $n batches, none over 1000 chunks" || fail "batches: $n lines, $b in json"
"$FERRY" checkout "$S" "$CH" "$T/site" -q || fail "checkout"
mkdir -p "$T/want" && cp -a "$T/tree/a" "$T/tree/b" "$T/tree/c" "$T/want/"
check "its checkout is byte-identical to those folders" diff -r "$T/want" "$T/site"
check "the store verifies" "$FERRY" verify "$S"

# Widened to everything: the rest comes, in batches of the rest only.
FERRY_PLAN_BATCH=1000 "$FERRY" sync "$S" --source "$R" --channel "$CH" --only a --only b --only c \
	--only d --json >"$T/s2.json" 2>"$T/s2.log" || fail "widening: exit $?"
"$FERRY" checkout "$S" "$CH" "$T/site" -q || fail "checkout after widening"
check "widened, the checkout is byte-identical to the release" diff -r "$T/tree" "$T/site"
n=$(batch_lines "$T/s2.log")
[ "$n" != over ] && [ "$n" -ge 1 ] && ok "widening fetched the rest in $n batch(es)" ||
	fail "widening: $n batch lines: $(tail -n 3 "$T/s2.log")"

# A first import of the whole release adopts its pack: no ranged batch.
"$FERRY" store init "$T/school2" --trust "$T/county.pub" >/dev/null
FERRY_PLAN_BATCH=1000 "$FERRY" sync "$T/school2" --source "$R" --channel "$CH" --json \
	>"$T/s3.json" 2>"$T/s3.log"
[ "$(jget "$T/s3.json" channels 0 state)" = installed ] &&
	[ "$(jget "$T/s3.json" channels 0 batches)" = 0 ] &&
	cmp -s "$(find "$R/packs" -name '*.pack')" "$(find "$T/school2/packs" -name '*.pack')" &&
	ok "a first import adopts the pack whole, byte for byte, with no ranged batch" ||
	fail "first import: $(cat "$T/s3.json") $(tail -n 3 "$T/s3.log")"
"$FERRY" checkout "$T/school2" "$CH" "$T/site2" -q || fail "checkout of the import"
check "and its checkout is byte-identical" diff -r "$T/tree" "$T/site2"
finish
