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
#   bench_group N                 N with thousands separators: 1234567 -> 1,234,567
#   bench_textbook DIR            clones the textbook corpus (a git bundle,
#                                 ../shared/corpus/philosophy.bundle or
#                                 $FERRY_CORPUS) bare into DIR, once
#   bench_textbook_tags DIR       its tags, oldest first
#   bench_textbook_trees DIR OUT [TAG...]
#                                 writes every tag's tree (or these tags',
#                                 oldest first) to OUT/<tag>, with mtimes as
#                                 a mirror that followed every release would
#                                 have them (see there)
#   bench_nginx_mark LOG          the number of lines in nginx's access log now
#   bench_nginx_bytes LOG MARK [PREFIX]
#                                 body bytes nginx sent for the requests logged
#                                 after line MARK whose URI starts with PREFIX
#                                 (tests/servers.sh's log format: the URI is
#                                 field 5, $body_bytes_sent the last field)
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

bench_group() {
	awk -v n="$1" 'BEGIN {
		s = sprintf("%.0f", n); neg = ""
		if (substr(s, 1, 1) == "-") { neg = "-"; s = substr(s, 2) }
		out = ""
		while (length(s) > 3) { out = "," substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3) }
		print neg s out }'
}

bench_textbook() {
	local bundle=${FERRY_CORPUS:-$FERRY_SRC/../shared/corpus/philosophy.bundle}
	[ -d "$1" ] && return 0
	if [ ! -f "$bundle" ]; then
		bench_log "the textbook corpus $bundle is missing (../shared beside the clone, or FERRY_CORPUS)"
		return 1
	fi
	git clone -q --bare "$bundle" "$1"
}

bench_textbook_tags() {
	git -C "$1" for-each-ref --sort=creatordate --format='%(refname:short)' refs/tags
}

# Each tag's tree comes out of `git archive`, which stamps every file with
# the commit's time.  A mirror kept by rsync -a since the first release
# would instead show, for a file unchanged since tag T, T's time; that is
# what rsync's quick check (and casync's and restic's metadata) see at a
# school, so every file gets the time of the oldest tag from which on its
# content stayed the same, and every folder that of the oldest tag from
# which on the names in it stayed the same.
bench_textbook_trees() {
	local repo=$1 out=$2 tag tags
	shift 2
	if [ $# -gt 0 ]; then tags=("$@"); else mapfile -t tags < <(bench_textbook_tags "$repo"); fi
	mkdir -p "$out" || return 1
	for tag in "${tags[@]}"; do
		rm -rf "${out:?}/$tag"
		mkdir -p "$out/$tag" &&
			git -C "$repo" archive "$tag" | tar -x -C "$out/$tag" || return 1
	done
	python3 - "$repo" "$out" "${tags[@]}" <<'EOF'
import os, subprocess, sys
repo, out, tags = sys.argv[1], sys.argv[2], sys.argv[3:]
seen = {}  # path -> (blob, mtime) in the previous tag
seen_dirs = {}  # folder -> (names, mtime) in the previous tag
for tag in tags:
    when = int(subprocess.check_output(
        ["git", "-C", repo, "log", "-1", "--format=%ct", tag + "^{commit}"]))
    listing = subprocess.check_output(["git", "-C", repo, "ls-tree", "-r", "-z", tag])
    now = {}
    for entry in listing.split(b"\0"):
        if not entry:
            continue
        meta, path = entry.split(b"\t", 1)
        blob = meta.split()[2]
        old = seen.get(path)
        mtime = old[1] if old and old[0] == blob else when
        now[path] = (blob, mtime)
        full = os.path.join(out.encode(), tag.encode(), path)
        if not os.path.islink(full):
            os.utime(full, (mtime, mtime))
    seen = now
    # A folder keeps its time while the names in it stay the same.
    root = os.path.join(out, tag)
    dirs = {}
    for top, subdirs, files in os.walk(root):
        rel = os.path.relpath(top, root)
        names = tuple(sorted(subdirs + files))
        old = seen_dirs.get(rel)
        dirs[rel] = (names, old[1] if old and old[0] == names else when)
    for rel in sorted(dirs, key=len, reverse=True):
        mtime = dirs[rel][1]
        os.utime(os.path.join(root, rel), (mtime, mtime))
    seen_dirs = dirs
EOF
}

bench_nginx_mark() {
	if [ -e "$1" ]; then wc -l <"$1"; else echo 0; fi
}

bench_nginx_bytes() {
	tail -n +"$(($2 + 1))" "$1" | awk -v p="${3:-}" '
		index($5, p) == 1 { s += $NF }
		END { printf "%.0f\n", s }'
}
