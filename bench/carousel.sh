#!/usr/bin/env bash
# bench/carousel.sh: the satellite carousel section of BENCHMARKS.md.
# Drives ferry's real carousel schedule, symbol source and RaptorQ decoder
# through a simulated link (tests/tools/carousel_sim, no sockets) and
# reports the passes a receiver needs to complete (a) one 28 MB file and
# (b) a realistic ~70 MB repository (meta files, a manifests pack, five
# content packs with their indexes), under 10 % random loss and under
# 30-second fades every 15 minutes at a random phase, for ferry's fresh-
# symbol carousel against one that repeats the same symbols every pass;
# and the header overhead.  Builds nothing itself (make bench does).
# CAROUSEL_TRIALS=N changes the trials per row (default 12).
set -u
bin=${FERRY_BUILD:-build/release}/tests/tools/carousel_sim
if [ ! -x "$bin" ]; then
	echo "bench/carousel.sh: $bin is missing (run make bench)" >&2
	exit 1
fi
n=${CAROUSEL_TRIALS:-12}
echo "## Satellite carousel: passes to complete"
echo
echo "Target (DESIGN §10): the fresh-symbol carousel finishes a file in ≤ 1.1 passes on"
echo "average under burst loss. A pass is every packet of one full carousel cycle (meta"
echo "rounds included); symbol size 1436; $n trials per row, each fade row at random fade"
echo "phases. \"repeat\" sends the same ESIs (the source symbols) in every pass."
echo
echo "| repository | loss | link rate | fresh: passes mean (min–max) | repeat: passes mean (min–max) | repeat / fresh |"
echo "| --- | --- | --- | --- | --- | --- |"
overhead=
for repo in single:28000000 multi; do
	for case in "random:10 250000" "fade:30:900 250000" "fade:30:900 32000"; do
		set -- $case
		loss=$1 rate=$2
		echo "bench: carousel $repo $loss $rate" >&2
		f=$("$bin" "$repo" fresh "$loss" "$rate" "$n" 1) || exit 1
		r=$("$bin" "$repo" repeat "$loss" "$rate" "$n" 1) || exit 1
		fm=$(echo "$f" | awk '{print $3}') rm=$(echo "$r" | awk '{print $3}')
		frange=$(echo "$f" | awk '{printf "%s–%s", $5, $7}')
		rrange=$(echo "$r" | awk '{printf "%s–%s", $5, $7}')
		ratio=$(awk -v a="$rm" -v b="$fm" 'BEGIN{printf "%.2f×", a/b}')
		case $repo in single:*) name="one 28 MB file" ;; *) name="~70 MB repository, 17 files" ;; esac
		case $loss in random:*) lname="10 % random" ;; *) lname="30 s fade / 15 min" ;; esac
		rname=$(awk -v r="$rate" 'BEGIN{printf "%d kbit/s", r*8/1000}')
		echo "| $name | $lname | $rname | $fm ($frange) | $rm ($rrange) | $ratio |"
		overhead="$overhead
$repo $(echo "$f" | awk '{printf "%s %s %s", $11, $12, $14}')"
	done
done
echo
echo "Header overhead per pass (FLUTE headers: LCT 32 bytes with EXT_FTI, +4 for EXT_FDT,"
echo "FEC payload ID 4; then with IPv4 + UDP):"
echo
echo "| repository | packets per pass | FLUTE headers / bytes on the wire | FLUTE + IP + UDP |"
echo "| --- | --- | --- | --- |"
echo "$overhead" | sort -u | while read -r repo flute wire pk; do
	[ -n "$repo" ] || continue
	echo "| $repo | $pk | $flute % | $wire % |"
done
echo
