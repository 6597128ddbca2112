#!/usr/bin/env bash
# bench/delta.sh — what a school reads to go from one release of a real
# textbook to the next (issue 5): ferry with deltas, ferry without
# (`ferry pack --no-deltas`), and the bound — the sum over changed files of
# `zstd -19 --patch-from=OLD NEW` (added files: `zstd -19 NEW`).  For each
# consecutive pair of corpus tags and for first -> last.  Target: ferry with
# deltas within 1.2x of the bound on every step.  Also the extra pack time
# deltas cost (the whole chain packed with and without).
#
# Bytes are ferry's own counter (`ferry sync --json` bytes_read: every byte
# read from the source, release metadata, pack indexes and heads included).
# The HTTP comparison against rsync, casync, zsync, restic and git is the
# "update" section's.
set -u
. "$(dirname "$0")/lib.sh"
bench_init
W=$BENCH_DIR/delta
BUNDLE=${FERRY_CORPUS:-$FERRY_SRC/../shared/corpus/philosophy.bundle}
rm -rf "$W" && mkdir -p "$W"
git clone -q --bare "$BUNDLE" "$W/corpus.git" || { echo "corpus bundle $BUNDLE missing"; exit 1; }
tags=($(git -C "$W/corpus.git" tag | sort))
n=${#tags[@]}
ssh-keygen -q -t ed25519 -N '' -f "$W/k"
tree_of() { rm -rf "$2" && mkdir -p "$2" && git -C "$W/corpus.git" archive "$1" | tar -x -C "$2"; }

# Publish the chain twice; keep a copy of each repository after each tag so
# that a school can be brought to any release.
pack_s_d=0 pack_s_n=0 delta_s=0 rss_d=0 rss_n=0
for mode in d n; do
	"$FERRY" repo init "$W/repo-$mode" --key "$W/k.pub" >/dev/null
	for i in "${!tags[@]}"; do
		tree_of "${tags[$i]}" "$W/tree"
		opt=; [ $mode = n ] && opt=--no-deltas
		bench_measure "$W/pack.log" "$FERRY" pack "$W/repo-$mode" book/philosophy "$W/tree" \
			--key "$W/k" --json $opt
		[ "$BENCH_RC" = 0 ] || { echo "pack ${tags[$i]} ($mode) failed"; exit 1; }
		if [ $mode = d ]; then
			pack_s_d=$(bench_calc "$pack_s_d + $BENCH_SECS" %.3f)
			[ "$BENCH_RSS_KB" -gt "$rss_d" ] && rss_d=$BENCH_RSS_KB
			delta_s=$(bench_calc "$delta_s + $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["delta_seconds"])' "$W/pack.log" 2>/dev/null || echo 0)" %.3f)
		else
			pack_s_n=$(bench_calc "$pack_s_n + $BENCH_SECS" %.3f)
			[ "$BENCH_RSS_KB" -gt "$rss_n" ] && rss_n=$BENCH_RSS_KB
		fi
		cp -r "$W/repo-$mode" "$W/snap-$mode-$i"
	done
	bench_log "delta: chain packed ($mode)"
done

# What a school at release i reads to install release j from snapshot mode:
# prints "metadata content".  A --dry-run first reads everything but the
# packs' byte ranges (head, config, the release's git pack, pack indexes:
# all cached in the store); the real run then reads the deltas and chunks
# and the head and config once more, which a third run (nothing to do)
# measures and which is subtracted.
school_bytes() { # mode i j
	local mode=$1 i=$2 j=$3 st=$W/school m c
	rm -rf "$st"
	"$FERRY" store init "$st" --trust "$W/k.pub" >/dev/null
	"$FERRY" sync "$st" --source "$W/snap-$mode-$i" --channel book/philosophy -q || return 1
	"$FERRY" sync "$st" --source "$W/snap-$mode-$j" --dry-run --json >"$W/dry.json" || return 1
	"$FERRY" sync "$st" --source "$W/snap-$mode-$j" --json >"$W/sync.json" || return 1
	rm -rf "$W/site"
	"$FERRY" checkout "$st" book/philosophy "$W/site" -q || return 1
	diff -r "$W/tree" "$W/site" >/dev/null || { bench_log "delta: checkout differs"; return 1; }
	# A third run finds nothing to do: what it reads (head, config) the
	# real run read too, as it did the two lists of packs.
	"$FERRY" sync "$st" --source "$W/snap-$mode-$j" --json >"$W/noop.json" || return 1
	lists=$(($(stat -c %s "$W/snap-$mode-$j/packs/list") +
		$(stat -c %s "$W/snap-$mode-$j/manifests.git/objects/info/packs")))
	python3 -c 'import json,sys
b = [json.load(open(f))["bytes_read"] for f in sys.argv[1:4]]
print(b[0], b[1] - b[2] - int(sys.argv[4]))' "$W/dry.json" "$W/sync.json" "$W/noop.json" "$lists"
}

# The bound: zstd -19 --patch-from per changed file, -19 alone per added one.
bound() { # i j
	tree_of "${tags[$1]}" "$W/old"
	tree_of "${tags[$2]}" "$W/tree"
	(cd "$W/tree" && find . -type f | sort) | while read -r f; do
		if [ -f "$W/old/$f" ]; then
			cmp -s "$W/old/$f" "$W/tree/$f" && continue
			zstd -q -19 -c --patch-from="$W/old/$f" "$W/tree/$f" 2>/dev/null | wc -c
		else
			zstd -q -19 -c "$W/tree/$f" | wc -c
		fi
	done | awk '{ s += $1 } END { print s + 0 }'
}

echo "## Deltas between releases (a real textbook's errata)"
echo
echo "The corpus's $n tags published in turn into one repository with deltas (the default:"
echo "up to 3 releases back, \`zstd -19\`, files up to 64 MiB) and one with \`--no-deltas\`. A"
echo "school at one tag syncs the next (and the first syncs the last), each checkout compared"
echo "byte for byte with the tag. Bytes are ferry's own count of what it read from the source:"
echo "*metadata* is what a \`--dry-run\` reads (head, config, the releases' git packs, pack"
echo "indexes), *content* what the run after it reads for deltas and chunks (its re-read of"
echo "head, config and pack lists subtracted: a third run with nothing to do measures the"
echo "first two, the lists' sizes the rest). The bound is"
echo "the sum over changed files of"
echo "\`zstd -19 --patch-from=OLD NEW\` (added files: \`zstd -19 NEW\`)."
echo
bench_md_head "step" "bound:" "deltas: content:" "metadata:" "no deltas: content:" "metadata:" "content / bound, deltas:" "no deltas:"
worst=0 worst_meta=0
steps=()
for ((i = 0; i + 1 < n; i++)); do steps+=("$i $((i + 1))"); done
steps+=("0 $((n - 1))")
for s in "${steps[@]}"; do
	set -- $s
	b=$(bound "$1" "$2")
	d=($(school_bytes d "$1" "$2")) || { echo "sync with deltas failed at ${tags[$1]}"; exit 1; }
	nd=($(school_bytes n "$1" "$2")) || { echo "sync without deltas failed at ${tags[$1]}"; exit 1; }
	rd=$(bench_calc "${d[1]} / $b")
	[ "$(bench_calc "($rd > $worst)" %d)" = 1 ] && worst=$rd
	[ "$(bench_calc "(${d[0]} > $worst_meta)" %d)" = 1 ] && worst_meta=${d[0]}
	bench_md_row "${tags[$1]} → ${tags[$2]}" "$b" "${d[1]}" "${d[0]}" "${nd[1]}" "${nd[0]}" \
		"${rd}×" "$(bench_calc "${nd[1]} / $b")×"
	bench_log "delta: ${tags[$1]} -> ${tags[$2]}: bound $b, deltas ${d[*]}, none ${nd[*]}"
done
echo
echo "Pack time for the whole chain: $pack_s_d s with deltas (of which $delta_s s making"
echo "them), $pack_s_n s without — $(bench_calc "$pack_s_d / $pack_s_n")× (release build, one run on"
echo "a shared machine: noisy). Peak RSS of \`ferry pack\`: $(bench_calc "$rss_d / 1024" %.1f) MiB with deltas,"
echo "$(bench_calc "$rss_n / 1024" %.1f) MiB without."
echo
if [ "$(bench_calc "$worst <= 1.2" %d)" = 1 ]; then verdict="**met**"; else verdict="**not met**"; fi
echo "Target (issue 5, DESIGN §10): content within 1.2× of the bound on every step — $verdict"
echo "(worst step ${worst}×); metadata per update at most 8 KB — largest here $worst_meta bytes"
echo "(a step spanning several releases carries each one's metadata; \`ferry sync\` also"
echo "re-fetches a release's git pack whose import needs another one first, see the report)."
echo
