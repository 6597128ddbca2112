#!/usr/bin/env bash
# bench/import.sh — a school importing a repository from a local folder (a
# USB stick, a drop folder): `ferry sync` into an empty store against
# `cp -r` of the same repository folder, both from a warm page cache, in
# alternating rounds.  Target (issue 3): ferry's time at most 1.25x cp's
# (DESIGN §10: import at >= 0.8x copy speed).  ferry fsyncs what it stores
# and cp does not, so `cp -r && sync` is timed too and the ratio is given
# against both.  Peak RSS is reported too.
set -u
. "$(dirname "$0")/lib.sh"
bench_init
SIZE=${BENCH_IMPORT_SIZE:-1G}
ROUNDS=${BENCH_ROUNDS:-2}
W=$BENCH_DIR/import
rm -rf "$W" && mkdir -p "$W"
corpus=$(bench_corpus mixed "$SIZE" 0.5 1) || exit 1
ssh-keygen -q -t ed25519 -N '' -f "$W/k"
bench_log "import: packing the corpus once (setup, untimed)"
"$FERRY" repo init "$W/repo" --key "$W/k.pub" >/dev/null
"$FERRY" pack "$W/repo" bench/mixed "$corpus" --key "$W/k" -q || exit 1
bytes=$(bench_du "$W/repo")
best_cp= best_cps= best_ferry= rss_ferry=0 rss_cp=0
# CPU seconds (user + system) of one command, next to bench_measure's wall
# clock: on a shared machine the wall clock swings with the load, the CPU
# a tool needs much less.
cpu_of() { awk '/^cpu / { printf "%.2f\n", $2 + $3 }' "$1"; }
cpu_cp= cpu_cps= cpu_ferry=
for round in $(seq 1 "$ROUNDS"); do
	bench_warm "$W/repo"
	rm -rf "$W/copy"
	bench_measure "$W/cp.log" "$BENCH_TIME" -f 'cpu %U %S' -o "$W/cp.cpu" cp -r "$W/repo" "$W/copy"
	[ "$BENCH_RC" = 0 ] || { echo "cp failed"; exit 1; }
	bench_log "import: round $round: cp -r: $BENCH_SECS s"
	[ -z "$best_cp" ] || [ "$(bench_calc "$BENCH_SECS < $best_cp" %d)" = 1 ] && best_cp=$BENCH_SECS
	[ "$BENCH_RSS_KB" -gt "$rss_cp" ] && rss_cp=$BENCH_RSS_KB
	c=$(cpu_of "$W/cp.cpu")
	[ -z "$cpu_cp" ] || [ "$(bench_calc "$c < $cpu_cp" %d)" = 1 ] && cpu_cp=$c
	rm -rf "$W/copy"
	sync
	bench_warm "$W/repo"
	bench_measure "$W/cps.log" "$BENCH_TIME" -f 'cpu %U %S' -o "$W/cps.cpu" sh -c "cp -r '$W/repo' '$W/copy' && sync"
	c=$(cpu_of "$W/cps.cpu")
	[ -z "$cpu_cps" ] || [ "$(bench_calc "$c < $cpu_cps" %d)" = 1 ] && cpu_cps=$c
	bench_log "import: round $round: cp -r && sync: $BENCH_SECS s"
	[ -z "$best_cps" ] || [ "$(bench_calc "$BENCH_SECS < $best_cps" %d)" = 1 ] && best_cps=$BENCH_SECS
	rm -rf "$W/copy" "$W/store"
	sync
	bench_warm "$W/repo"
	"$FERRY" store init "$W/store" --trust "$W/k.pub" >/dev/null
	bench_measure "$W/ferry.log" "$BENCH_TIME" -f 'cpu %U %S' -o "$W/ferry.cpu" "$FERRY" sync "$W/store" --source "$W/repo" --channel bench/mixed -q
	[ "$BENCH_RC" = 0 ] || { echo "ferry sync failed: exit $BENCH_RC"; exit 1; }
	bench_log "import: round $round: ferry sync: $BENCH_SECS s"
	[ -z "$best_ferry" ] || [ "$(bench_calc "$BENCH_SECS < $best_ferry" %d)" = 1 ] && best_ferry=$BENCH_SECS
	[ "$BENCH_RSS_KB" -gt "$rss_ferry" ] && rss_ferry=$BENCH_RSS_KB
	c=$(cpu_of "$W/ferry.cpu")
	[ -z "$cpu_ferry" ] || [ "$(bench_calc "$c < $cpu_ferry" %d)" = 1 ] && cpu_ferry=$c
done
ratio=$(bench_calc "$best_ferry / $best_cp")
ratio_s=$(bench_calc "$best_ferry / $best_cps")
met=$(bench_calc "$ratio <= 1.25" %d)
met_s=$(bench_calc "$ratio_s <= 1.25" %d)
echo "## Import from a local folder (USB stick, drop folder)"
echo
echo "The 1 GiB mixed corpus packed once into a repository ($bytes bytes on disk), then"
echo "imported $ROUNDS times each way from a warm page cache, alternating: \`cp -r\` of the"
echo "repository folder, and \`ferry sync\` into an empty store (whole packs adopted as they"
echo "are: each pack the signed release lists in meta/packs hashed once against its name,"
echo "hashing on one core while the next piece is copied on the other; any other pack"
echo "verified chunk by chunk; packs fsynced, the index committed to SQLite). Fastest run of each."
echo
bench_md_head "tool" "seconds:" "MB/s of repository:" "time vs cp -r:" "time vs cp -r && sync:" "CPU seconds:" "peak RSS MiB:"
bench_md_row "cp -r" "$best_cp" "$(bench_calc "$bytes / $best_cp / 1000000" %.1f)" "1.00×" "$(bench_calc "$best_cp / $best_cps")×" "$cpu_cp" "$(bench_calc "$rss_cp / 1024" %.1f)"
bench_md_row "cp -r && sync" "$best_cps" "$(bench_calc "$bytes / $best_cps / 1000000" %.1f)" "$(bench_calc "$best_cps / $best_cp")×" "1.00×" "$cpu_cps" "—"
bench_md_row "ferry sync" "$best_ferry" "$(bench_calc "$bytes / $best_ferry / 1000000" %.1f)" "${ratio}×" "${ratio_s}×" "$cpu_ferry" "$(bench_calc "$rss_ferry / 1024" %.1f)"
echo
if [ "$met" = 1 ]; then verdict="**met**"; else verdict="**not met**"; fi
if [ "$met_s" = 1 ]; then verdict_s="**met**"; else verdict_s="**not met**"; fi
echo "Target (issue 3): ferry's import time ≤ 1.25× \`cp -r\`'s — $verdict (${ratio}×)."
echo "Against \`cp -r && sync\` (a copy as durable as ferry's store when it returns) — $verdict_s"
echo "(${ratio_s}×). Every byte is still verified, by one SHA-256 pass over the packs"
echo "(CPU seconds above); what is left beyond \`cp -r && sync\` is mostly waiting for the disk."
echo
