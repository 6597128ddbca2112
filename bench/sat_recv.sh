#!/usr/bin/env bash
# bench/sat_recv.sh: the satellite receiver section of BENCHMARKS.md.
# Times tests/tools/sat_recv_bench: one 28 MB pack coded as `ferry sat
# send` codes it (T = 1436, blocks of up to 8192 symbols), with 0 % and
# 10 % of the packets lost and repair symbols up to K + 2 per block, fed
# in-process to a fresh receiver that parses, spools to disk, decodes each
# block, checks the SHA-256 and places the file.  The figure that matters
# is the ratio to the link: the receiver must keep up with the fastest
# broadcast it may be given.  Builds nothing itself (make bench does).
set -u
bin=${FERRY_BUILD:-build/release}/tests/tools/sat_recv_bench
dir=${BENCH_DIR:-/tmp/ferry-bench}/sat_recv
if [ ! -x "$bin" ]; then
	echo "bench/sat_recv.sh: $bin is missing (run make bench)" >&2
	exit 1
fi
rounds=${SAT_RECV_ROUNDS:-3}
echo "## Satellite receiver: packets in, file placed"
echo
echo "One 28 MB pack through the whole receiver (parse, spool on disk, decode, hash, place),"
echo "packets fed in-process; median of $rounds runs. \"× 4 Mbit/s\" is the throughput over a"
echo "4 Mbit/s Ku-band data broadcast (DESIGN §7: links of a few kbit/s to a few Mbit/s)."
echo
echo "| loss | packets | seconds (median) | MB/s of file | × 4 Mbit/s |"
echo "| --- | --- | --- | --- | --- |"
for loss in 0 10; do
	echo "bench: sat_recv loss $loss" >&2
	times=
	for r in $(seq 1 "$rounds"); do
		rm -rf "$dir" && mkdir -p "$dir"
		line=$("$bin" "$dir" 28 "$loss" "$r") || { echo "bench/sat_recv.sh: run failed" >&2; exit 1; }
		set -- $line
		bytes=$2 packets=$4
		times="$times $6"
	done
	med=$(echo $times | tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
	awk -v l="$loss" -v p="$packets" -v s="$med" -v b="$bytes" 'BEGIN{
		printf "| %s %% | %s | %.2f | %.1f | %.0f× |\n", l, p, s, b/s/1e6, (b*8/s)/4e6 }'
done
rm -rf "$dir"
echo
