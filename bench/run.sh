#!/usr/bin/env bash
# make bench: runs each bench/<section>.sh in turn; each prints a Markdown
# section on stdout (and progress on stderr).  The sections are gathered
# into BENCHMARKS.md with the machine and date on top.
#
# Every section measures ferry and its peers in the same run on the same data
# and reports ratios; absolute timings are context, never a pass/fail.
# Environment: FERRY (release binary), FERRY_BUILD (build/release),
# BENCH_DIR (scratch, default /tmp/ferry-bench), BENCH_SECTIONS (subset).
set -u
cd "$(dirname "$0")/.."
export FERRY_SRC=$PWD FERRY_BUILD=$PWD/build/release FERRY=$PWD/build/release/ferry
export BENCH_DIR=${BENCH_DIR:-/tmp/ferry-bench}
mkdir -p "$BENCH_DIR"
out=BENCHMARKS.md
tmp=$(mktemp)
{
	echo "# ferry benchmarks"
	echo
	echo "Written by \`make bench\` on $(date -u +%Y-%m-%d), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB RAM,"
	echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'). Every figure below comes from"
	echo "this one run; ratios compare tools measured side by side on the same data."
	echo
} >"$tmp"
for s in ${BENCH_SECTIONS:-$(ls bench/*.sh | grep -vE '/(run|lib).sh$' | sort)}; do
	echo "bench: $s" >&2
	if ! bash "$s" >>"$tmp"; then
		echo "bench: $s failed" >&2
		printf '\n(section %s failed in this run)\n\n' "$s" >>"$tmp"
	fi
done
mv "$tmp" "$out"
echo "bench: wrote $out" >&2
