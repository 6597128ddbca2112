#!/usr/bin/env bash
# bench/fec.sh: the satellite FEC section of BENCHMARKS.md.  Runs the
# RaptorQ benchmark built by `make bench` (build/release) and prints its
# Markdown.  Builds nothing itself.  FEC_BENCH_ARGS=--quick for a short run.
set -u
bin=${FERRY_BUILD:-build/release}/tests/tools/rq_bench
if [ ! -x "$bin" ]; then
	echo "bench/fec.sh: $bin is missing (run make bench)" >&2
	exit 1
fi
echo "## Satellite FEC: RaptorQ (RFC 6330)"
echo
echo "Targets (DESIGN §10): failure ≤ 1 % at K, ≤ 0.01 % at K+1, ≤ 0.0001 % at K+2"
echo "received symbols; decode ≥ 170 MB/s at K = 1024 (a C RaptorQ on this class of"
echo "machine); Debian's liblcrq decodes ~4 MB/s."
echo
# shellcheck disable=SC2086
"$bin" ${FEC_BENCH_ARGS:-}
echo
