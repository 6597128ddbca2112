# shellcheck shell=bash
# bench/lib.sh — helpers every bench/<section>.sh sources.
#
# A section measures ferry and its peers on the same data in the same run
# and prints one Markdown section on stdout; progress goes to stderr.  This
# file gives them the common parts, so every section times, sizes and
# reports the same way:
#
#   bench_init                    defaults for FERRY_SRC, FERRY_BUILD, FERRY,
#                                 BENCH_DIR; checks for GNU time
#   bench_log MSG...              one progress line on stderr
#   bench_bytes SIZE              "200M" -> 209715200 (K/M/G/T, powers of 1024)
#   bench_corpus NAME SIZE FRACTION SEED [REVISION]
#                                 prints the directory of a gen_content tree,
#                                 generating it once and caching it under
#                                 $BENCH_DIR/corpus keyed by every parameter and
#                                 a hash of the generator's source; its sidecar
#                                 is "<dir>.tsv"
#   bench_tree_bytes DIR          sum of the sizes of the files under DIR
#   bench_tree_files DIR          number of files under DIR
#   bench_warm DIR                reads every file once, so a timed run starts
#                                 from a warm page cache
#   bench_measure LOG CMD...      runs CMD under GNU time with output to LOG and
#                                 sets BENCH_RC, BENCH_SECS (wall, from the
#                                 monotonic clock) and BENCH_RSS_KB (peak RSS of
#                                 the largest process in CMD's tree)
#   bench_du PATH...              bytes on disk of PATHs (du -sb, summed)
#   bench_calc EXPR               awk arithmetic, printed with %.2f unless
#                                 EXPR is followed by a printf format
#   bench_md_row CELL...          one Markdown table row
#   bench_md_head CELL...         header row and separator; a cell ending in
#                                 ":" is right-aligned (the ":" is dropped)
#
# Everything is plain bash + coreutils + awk, with LC_ALL=C so numbers print
# with a '.' whatever the caller's locale.

export LC_ALL=C

bench_log() {
	printf 'bench: %s\n' "$*" >&2
}

bench_init() {
	FERRY_SRC=${FERRY_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
	FERRY_BUILD=${FERRY_BUILD:-$FERRY_SRC/build/release}
	FERRY=${FERRY:-$FERRY_BUILD/ferry}
	BENCH_DIR=${BENCH_DIR:-/tmp/ferry-bench}
	BENCH_TIME=${BENCH_TIME:-/usr/bin/time}
	export FERRY_SRC FERRY_BUILD FERRY BENCH_DIR
	mkdir -p "$BENCH_DIR" || return 1
	if ! "$BENCH_TIME" -f %M true >/dev/null 2>&1; then
		bench_log "GNU time not found at $BENCH_TIME (Debian package 'time'; tests/deps.sh --bench)"
		return 1
	fi
}

bench_bytes() {
	awk -v s="$1" 'BEGIN {
		if (!match(s, /^[0-9]+[KkMmGgTt]?$/)) exit 1
		n = s + 0; u = toupper(substr(s, length(s)))
		m = u == "K" ? 1 : u == "M" ? 2 : u == "G" ? 3 : u == "T" ? 4 : 0
		for (i = 0; i < m; i++) n *= 1024
		printf "%.0f\n", n }'
}

bench_corpus() {
	local name=$1 size=$2 frac=$3 seed=$4 rev=${5:-0}
	local gen=$FERRY_BUILD/tests/tools/gen_content key dir old
	if [ ! -x "$gen" ]; then
		bench_log "$gen is not built (make MODE=release tests)"
		return 1
	fi
	key=$(cat "$FERRY_SRC"/tests/tools/gen_content.c "$FERRY_SRC"/tests/tools/gen_content_*.h |
		sha256sum | cut -c1-12)
	dir=$BENCH_DIR/corpus/$name-$size-f$frac-s$seed-r$rev-$key
	# Trees from another version of the generator will never be used again.
	for old in "$BENCH_DIR"/corpus/*; do
		[ -e "$old" ] || continue
		case $old in *-"$key" | *-"$key".tsv | *-"$key".done) ;; *) rm -rf "$old" ;; esac
	done
	if [ ! -e "$dir.done" ]; then
		rm -rf "$dir" "$dir.tsv"
		mkdir -p "$BENCH_DIR/corpus" || return 1
		bench_log "generating $name corpus: --seed $seed --size $size --incompressible $frac --revision $rev"
		"$gen" "$dir" --seed "$seed" --size "$size" --incompressible "$frac" --revision "$rev" \
			--meta "$dir.tsv" >&2 || return 1
		: >"$dir.done"
	fi
	printf '%s\n' "$dir"
}

bench_tree_bytes() {
	find "$1" -type f -printf '%s\n' | awk '{s += $1} END {printf "%.0f\n", s}'
}

bench_tree_files() {
	find "$1" -type f | wc -l
}

bench_warm() {
	find "$1" -type f -print0 | xargs -0 cat >/dev/null
}

# shellcheck disable=SC2034 # BENCH_* are results for the caller
bench_measure() {
	local log=$1 tf t0 t1 line
	shift
	tf=$(mktemp)
	t0=$(date +%s%N)
	"$BENCH_TIME" -o "$tf" -f 'bench_measure %e %M' "$@" >"$log" 2>&1
	BENCH_RC=$?
	t1=$(date +%s%N)
	BENCH_SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", (b - a) / 1e9}')
	line=$(grep '^bench_measure ' "$tf" | tail -n1)
	BENCH_RSS_KB=${line##* }
	[ -n "$line" ] || BENCH_RSS_KB=0
	grep -v '^bench_measure ' "$tf" >>"$log"
	rm -f "$tf"
}

bench_du() {
	du -sbc "$@" 2>/dev/null | tail -n1 | cut -f1
}

bench_calc() {
	awk "BEGIN {printf \"${2:-%.2f}\", $1}"
}

bench_md_row() {
	local out="|" c
	for c in "$@"; do out="$out $c |"; done
	printf '%s\n' "$out"
}

bench_md_head() {
	local c sep=() names=()
	for c in "$@"; do
		case $c in
		*:) names+=("${c%:}") sep+=("---:") ;;
		*) names+=("$c") sep+=("---") ;;
		esac
	done
	bench_md_row "${names[@]}"
	bench_md_row "${sep[@]}"
}
