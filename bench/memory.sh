#!/usr/bin/env bash
# bench/memory.sh — school-side memory with a catalog of a million chunks
# (issue 3: peak RSS of a sync of >= 1,000,000 chunks under 64 MB).
#
# A generated tree is packed into a repository whose ferry.json asks for
# small chunks (FastCDC min 1 KiB, average 2 KiB, max 8 KiB — the smallest
# the format allows is a 1 KiB minimum and an average above it, so a
# million chunks need a little over 2 GB of content), then synced into an
# empty store.  Peak RSS of both, from GNU time.
#
# The chunker parameters are part of the signed ferry.json; they are set
# before the first pack, and `ferry pack` signs the edited file again.
set -u
. "$(dirname "$0")/lib.sh"
bench_init
SIZE=${BENCH_MEMORY_SIZE:-2400M}
W=$BENCH_DIR/memory
rm -rf "$W" && mkdir -p "$W"
corpus=$(bench_corpus mixed "$SIZE" 0.5 7) || exit 1
ssh-keygen -q -t ed25519 -N '' -f "$W/k"
"$FERRY" repo init "$W/repo" --key "$W/k.pub" >/dev/null
sed -i 's/"min":[0-9]*,"avg":[0-9]*,"max":[0-9]*/"min":1024,"avg":2048,"max":8192/' "$W/repo/ferry.json"
rm -f "$W/repo/ferry.json.sig"
grep -q '"min":1024,"avg":2048,"max":8192' "$W/repo/ferry.json" || {
	bench_log "memory: could not set the chunker parameters"
	exit 1
}
bench_log "memory: packing $SIZE with 2 KiB chunks"
bench_measure "$W/pack.log" "$FERRY" pack "$W/repo" bench/million "$corpus" --key "$W/k" --json
[ "$BENCH_RC" = 0 ] || { echo "ferry pack failed: exit $BENCH_RC"; exit 1; }
pack_secs=$BENCH_SECS pack_rss=$BENCH_RSS_KB
chunks=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    l = l.strip()
    if l.startswith("{"):
        print(json.loads(l)["chunks"]); break' "$W/pack.log")
bytes=$(bench_du "$W/repo/packs")
"$FERRY" store init "$W/store" --trust "$W/k.pub" >/dev/null
bench_log "memory: syncing $chunks chunks into an empty store"
bench_measure "$W/sync.log" "$FERRY" sync "$W/store" --source "$W/repo" --channel bench/million -q
[ "$BENCH_RC" = 0 ] || { echo "ferry sync failed: exit $BENCH_RC"; tail -n 3 "$W/sync.log"; exit 1; }
sync_secs=$BENCH_SECS sync_rss=$BENCH_RSS_KB
met=$(bench_calc "($sync_rss < 64 * 1024 && $chunks >= 1000000) ? 1 : 0" %d)
echo "## Memory with a million chunks"
echo
echo "$SIZE of generated content packed with FastCDC min 1 KiB / average 2 KiB / max 8 KiB into"
echo "$chunks chunks ($bytes bytes of packs), then synced from the folder into an empty store."
echo
bench_md_head "step" "chunks:" "seconds:" "peak RSS MiB:"
bench_md_row "ferry pack" "$chunks" "$pack_secs" "$(bench_calc "$pack_rss / 1024" %.1f)"
bench_md_row "ferry sync" "$chunks" "$sync_secs" "$(bench_calc "$sync_rss / 1024" %.1f)"
echo
if [ "$met" = 1 ]; then verdict="**met**"; else verdict="**not met**"; fi
echo "Target (issue 3): peak RSS of the sync of ≥ 1,000,000 chunks under 64 MB — $verdict."
echo
