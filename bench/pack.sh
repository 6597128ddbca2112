#!/usr/bin/env bash
# bench/pack.sh — packing: ferry side by side with restic, borg, casync and
# tar | zstd on the same mixed corpus, in one invocation.
#
# DESIGN.md §10 sets the target: on mixed content (video-like + text) with 2
# cores, `ferry pack` reaches at least 2.5x restic's throughput, writes no
# more bytes than `borg create --compression zstd,3`, and peaks at 64 MiB
# RSS or less.  This section generates (once, cached) a corpus of at least
# 1 GiB that is half incompressible, reads it before every run so each tool
# starts from a warm page cache, and packs it with every tool into a fresh
# repository, alternating tools run by run for BENCH_ROUNDS rounds (the
# order rotates each round).  It keeps each tool's fastest run, and the
# highest peak RSS over all its runs.  The targets line is computed from
# the measured numbers.  A tool that fails gets "failed: ..." in its row,
# never a figure; the others still run.
#
# Markdown goes to stdout (bench/run.sh gathers it into BENCHMARKS.md),
# progress to stderr.  Re-run on its own, e.g. a quick check:
#
#   BENCH_SIZE=200M bash bench/pack.sh
#
# Environment (all optional):
#   BENCH_SIZE=1G              corpus size, K/M/G suffix (powers of 1024)
#   BENCH_INCOMPRESSIBLE=0.5   share of the corpus zstd cannot compress
#   BENCH_SEED=1               generator seed
#   BENCH_ROUNDS=2             rounds (each runs every tool once)
#   BENCH_PACK_TOOLS="ferry restic borg casync tar-zstd"
#   BENCH_TIMEOUT=900          seconds before a run counts as failed
#   FERRY, FERRY_BUILD, BENCH_DIR as in bench/run.sh
set -u
cd "$(dirname "$0")/.." || exit 1
. bench/lib.sh
bench_init || exit 1

SIZE=${BENCH_SIZE:-1G}
FRACTION=${BENCH_INCOMPRESSIBLE:-0.5}
SEED=${BENCH_SEED:-1}
ROUNDS=${BENCH_ROUNDS:-2}
TIMEOUT=${BENCH_TIMEOUT:-900}
read -r -a TOOLS <<<"${BENCH_PACK_TOOLS:-ferry restic borg casync tar-zstd}"
CHANNEL=bench/mixed
RSS_TARGET_KB=$((64 * 1024))
WORK=$BENCH_DIR/pack

export RESTIC_PASSWORD=ferry-bench
export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes BORG_RELOCATED_REPO_ACCESS_IS_OK=yes

if ! [[ $ROUNDS =~ ^[1-9][0-9]*$ && $TIMEOUT =~ ^[1-9][0-9]*$ ]] || ! bench_bytes "$SIZE" >/dev/null; then
	bench_log "pack: BENCH_ROUNDS and BENCH_TIMEOUT must be positive numbers, BENCH_SIZE a size like 1G"
	exit 1
fi
CORPUS=$(bench_corpus mixed "$SIZE" "$FRACTION" "$SEED") || exit 1
META=$CORPUS.tsv
BYTES=$(bench_tree_bytes "$CORPUS")
FILES=$(bench_tree_files "$CORPUS")
# Any real packer stores at least the incompressible bytes once; a tool that
# "succeeds" with much less than half of them did not pack the corpus.
FLOOR=$(bench_calc "$BYTES * $FRACTION / 2" %.0f)

rm -rf "$WORK"
mkdir -p "$WORK" || exit 1
KEY=$WORK/key
ssh-keygen -q -t ed25519 -N '' -C ferry-bench -f "$KEY" || exit 1

label() {
	case $1 in
	tar-zstd) echo 'tar \| zstd -3 -T2' ;;
	*) echo "$1" ;;
	esac
}

# Why a tool cannot run at all, or nothing.
missing() {
	case $1 in
	ferry) [ -x "$FERRY" ] || echo "failed: $FERRY not built" ;;
	tar-zstd) command -v tar >/dev/null && command -v zstd >/dev/null || echo "not installed" ;;
	restic | borg | casync) command -v "$1" >/dev/null || echo "not installed" ;;
	*) echo "unknown tool" ;;
	esac
}

# Untimed setup of a fresh, empty output in $2.
prepare() {
	case $1 in
	ferry) "$FERRY" repo init "$2/repo" --key "$KEY.pub" ;;
	restic) restic init --repo "$2/repo" --cache-dir "$2/cache" ;;
	borg) BORG_BASE_DIR=$2/base borg init -e none "$2/repo" ;;
	*) true ;;
	esac
}

# The timed command, into the array CMD.
# shellcheck disable=SC2016 # tar | zstd's script is expanded by its own bash
command_for() {
	case $1 in
	ferry) CMD=("$FERRY" pack "$2/repo" "$CHANNEL" "$CORPUS" --key "$KEY" --meta "$META") ;;
	restic) CMD=(restic backup --repo "$2/repo" --cache-dir "$2/cache" --quiet "$CORPUS") ;;
	borg) CMD=(env BORG_BASE_DIR="$2/base" borg create --compression "zstd,3" "$2/repo::bench" "$CORPUS") ;;
	casync) CMD=(casync make --store="$2/store" "$2/out.caidx" "$CORPUS") ;;
	tar-zstd) CMD=(bash -o pipefail -c 'tar -C "$1" -cf - "$2" | zstd -3 -T2 -q >"$3"' _
		"$(dirname "$CORPUS")" "$(basename "$CORPUS")" "$2/out.tar.zst") ;;
	esac
}

# What the tool wrote (restic's local cache and borg's are not counted).
outputs() {
	case $1 in
	casync) printf '%s\n' "$2/store" "$2/out.caidx" ;;
	tar-zstd) printf '%s\n' "$2/out.tar.zst" ;;
	*) printf '%s\n' "$2/repo" ;;
	esac
}

declare -A FAIL SECS OUT RSS
run_once() { # tool round
	local t=$1 round=$2 out=$WORK/$1 paths p absent='' bytes rc
	rm -rf "$out" && mkdir -p "$out" || return 1
	prepare "$t" "$out" >"$WORK/$t.init.log" 2>&1
	rc=$?
	if [ "$rc" -ne 0 ]; then
		FAIL[$t]="failed: init exit $rc"
		bench_log "pack: round $round: $t: ${FAIL[$t]} (log: $WORK/$t.init.log)"
		return
	fi
	sync
	bench_warm "$CORPUS"
	command_for "$t" "$out"
	bench_measure "$WORK/$t.$round.log" timeout -k 10 "$TIMEOUT" "${CMD[@]}"
	mapfile -t paths < <(outputs "$t" "$out")
	for p in "${paths[@]}"; do [ -e "$p" ] || absent=$p; done
	bytes=$(bench_du "${paths[@]}")
	if [ "$BENCH_RC" -eq 124 ]; then
		FAIL[$t]="failed: timed out after $TIMEOUT s"
	elif [ "$BENCH_RC" -ne 0 ]; then
		FAIL[$t]="failed: exit $BENCH_RC"
	elif [ -n "$absent" ]; then
		FAIL[$t]="failed: exit 0 but wrote no $(basename "$absent")"
	elif [ "${bytes:-0}" -lt "$FLOOR" ]; then
		FAIL[$t]="failed: exit 0 but wrote only ${bytes:-0} bytes"
	else
		if [ -z "${SECS[$t]:-}" ] || awk -v a="$BENCH_SECS" -v b="${SECS[$t]}" 'BEGIN {exit !(a < b)}'; then
			SECS[$t]=$BENCH_SECS
			OUT[$t]=$bytes
		fi
		[ "${RSS[$t]:-0}" -ge "$BENCH_RSS_KB" ] || RSS[$t]=$BENCH_RSS_KB
		bench_log "pack: round $round: $t: $BENCH_SECS s, $bytes bytes, peak RSS $BENCH_RSS_KB KiB"
	fi
	[ -z "${FAIL[$t]:-}" ] || bench_log "pack: round $round: $t: ${FAIL[$t]} (log: $WORK/$t.$round.log)"
	rm -rf "$out"
}

for t in "${TOOLS[@]}"; do
	why=$(missing "$t")
	[ -z "$why" ] || FAIL[$t]=$why
done

version() {
	case $1 in
	ferry) echo "ferry (source $(git -C "$FERRY_SRC" rev-parse --short HEAD 2>/dev/null || echo unknown))" ;;
	restic) restic version 2>/dev/null | awk '{print $1, $2; exit}' ;;
	borg) borg --version 2>/dev/null ;;
	casync) casync --version 2>/dev/null | head -n1 ;;
	tar-zstd) echo "$(tar --version | head -n1 | awk '{print "tar", $NF}'), zstd $(zstd -V | grep -o 'v[0-9.]*' | head -n1)" ;;
	esac
}

# Versions now: the source tree may move on while the runs take minutes.
versions=()
for t in "${TOOLS[@]}"; do
	v=$(version "$t")
	[ -z "$v" ] || [ "${FAIL[$t]:-}" = "not installed" ] || versions+=("$v")
done

bench_log "pack: $FILES files, $BYTES bytes in $CORPUS; rounds: $ROUNDS; tools: ${TOOLS[*]}"
n=${#TOOLS[@]}
LOAD_START=$(cut -d' ' -f1 /proc/loadavg)
for ((round = 1; round <= ROUNDS; round++)); do
	for ((k = 0; k < n; k++)); do
		t=${TOOLS[$(((k + round - 1) % n))]}
		[ -n "${FAIL[$t]:-}" ] || run_once "$t" "$round"
	done
done

# ---- the Markdown section ----

mbps() { bench_calc "$BYTES / ${SECS[$1]} / 1e6" %.1f; }

row() {
	local t=$1 rel_restic='–' rel_borg='–'
	if [ -n "${FAIL[$t]:-}" ] || [ -z "${SECS[$t]:-}" ]; then
		bench_md_row "$(label "$t")" "${FAIL[$t]:-no run}" '–' '–' '–' '–' '–'
		return
	fi
	[ -z "${SECS[restic]:-}" ] || rel_restic=$(bench_calc "${SECS[restic]} / ${SECS[$t]}")×
	[ -z "${OUT[borg]:-}" ] || rel_borg=$(bench_calc "${OUT[$t]} / ${OUT[borg]}")×
	bench_md_row "$(label "$t")" "$(bench_calc "${SECS[$t]}")" "$(mbps "$t")" "$rel_restic" \
		"${OUT[$t]}" "$rel_borg" "$(bench_calc "${RSS[$t]} / 1024" %.1f)"
}

# One target: "<what>: met|not met (<evidence>)", or "not judged" when the
# peer it is measured against has no figure.
verdict() { # what, awk condition (empty: not judged), evidence
	if [ -z "$2" ]; then
		printf '%s: **not judged** (%s)' "$1" "$3"
	elif awk "BEGIN {exit !($2)}"; then
		printf '%s: **met** (%s)' "$1" "$3"
	else
		printf '%s: **not met** (%s)' "$1" "$3"
	fi
}

targets() {
	local thr out rss x f=${FAIL[ferry]:-}
	if [ -n "$f" ] || [ -z "${SECS[ferry]:-}" ]; then
		# A ferry that did not pack met none of its targets.
		f="ferry ${f:-did not run}"
		thr=$(verdict "throughput ≥ 2.5× restic's" 0 "$f")
		out=$(verdict "output ≤ borg's" 0 "$f")
		rss=$(verdict "peak RSS ≤ 64 MiB" 0 "$f")
	else
		if [ -n "${SECS[restic]:-}" ]; then
			x=$(bench_calc "${SECS[restic]} / ${SECS[ferry]}")
			thr=$(verdict "throughput ≥ 2.5× restic's" "$x >= 2.5" "${x}×")
		else
			thr=$(verdict "throughput ≥ 2.5× restic's" "" "restic ${FAIL[restic]:-did not run}")
		fi
		if [ -n "${OUT[borg]:-}" ]; then
			out=$(verdict "output ≤ borg's" "${OUT[ferry]} <= ${OUT[borg]}" \
				"$(bench_calc "${OUT[ferry]} / ${OUT[borg]}")× borg's bytes")
		else
			out=$(verdict "output ≤ borg's" "" "borg ${FAIL[borg]:-did not run}")
		fi
		rss=$(verdict "peak RSS ≤ 64 MiB" "${RSS[ferry]} <= $RSS_TARGET_KB" \
			"$(bench_calc "${RSS[ferry]} / 1024" %.1f) MiB")
	fi
	printf 'Targets (DESIGN.md §10) in this run — %s; %s; %s.\n' "$thr" "$out" "$rss"
}

echo "## Packing"
echo
echo "Corpus: \`gen_content --seed $SEED --size $SIZE --incompressible $FRACTION\`, $BYTES bytes in $FILES files"
echo "(videos, PDFs, HTML courseware, e-textbooks, notes; $(bench_calc "$FRACTION * 100" %.0f)% of the bytes incompressible), read once"
echo "before every run so each tool starts from a warm page cache. Each run packs it into a fresh, empty"
echo "repository; $ROUNDS rounds, tools alternating run by run with the order rotated each round."
echo "Seconds: the fastest of the $ROUNDS runs (output bytes from that run); peak RSS: the highest of all"
echo "runs (for \`tar | zstd\`, the larger process). MB/s counts 10^6 bytes of corpus per second."
[ "$BYTES" -ge $((1 << 30)) ] || echo "**Scaled down** (BENCH_SIZE=$SIZE): the targets are defined on a corpus of at least 1 GiB."
echo "Load average (1 min) when the runs began and ended: $LOAD_START and $(cut -d' ' -f1 /proc/loadavg)."
echo
bench_md_head tool 'seconds:' 'MB/s:' 'throughput vs restic:' 'output bytes:' 'output vs borg:' 'peak RSS MiB:'
for t in "${TOOLS[@]}"; do row "$t"; done
echo
targets
echo
echo "Commands (\`K\` from \`ssh-keygen -t ed25519 -N ''\`; setup untimed):"
echo
echo "- ferry: \`ferry repo init R --key K.pub\`, then timed \`ferry pack R $CHANNEL DIR --key K --meta DIR.tsv\`"
echo "- restic: \`restic init\`, then timed \`restic backup\` (repository v2, default compression)"
echo "- borg: \`borg init -e none\`, then timed \`borg create --compression zstd,3\`"
echo "- casync: timed \`casync make --store=S out.caidx DIR\`"
echo "- tar | zstd: timed \`tar -cf - DIR | zstd -3 -T2\`"
echo
joined=$(IFS=';' && echo "${versions[*]}")
echo "Versions: ${joined//;/; }."
echo
rm -rf "$WORK"
