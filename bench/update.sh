#!/usr/bin/env bash
# bench/update.sh — update cost: the bytes a school downloads to go from one
# release of a real textbook to the next, ferry next to its peers, all on
# the same two trees.
#
# Issue 4 asks for the figure, issue 5 extends it (target: ferry with deltas
# within 1.2x of the bound on every step).  The data is the textbook corpus
# (../shared/corpus/philosophy.bundle, ten snapshots of OpenStax
# "Introduction to Philosophy"): every tag's tree is written out once, with
# file times as a mirror that followed every release would show them
# (bench_textbook_trees), and every consecutive pair of tags is one step,
# plus the first tag straight to the last.  For each step and each tool the
# school starts from release A and ends with exactly release B — every
# result is compared with B's tree (or tar), and a tool whose result differs
# gets "failed: ..." in its cell, never a figure.
#
# What each column counts (all over loopback, nothing throttled):
#   ferry         a fresh county repository, `ferry pack` A then B, served
#                 by nginx; a school store that synced A over HTTP syncs B;
#                 the body bytes nginx sent for that run (heads, manifest
#                 git objects, packs/list, pack indexes, pack ranges: all).
#   ferry, no deltas
#                 the same with `ferry pack --no-deltas`; the column appears
#                 by itself once `ferry pack --help` offers the option.
#   rsync         `rsync -a --delete -z --no-W` from an rsync daemon on
#                 loopback into a copy of A; rsync's --stats "Total bytes
#                 sent" + "Total bytes received" on the client (both ways).
#   casync        `casync make` of every tree into one chunk store (default
#                 chunking and compression) served by nginx; `casync
#                 extract --seed=A` of B's .caidx over HTTP; nginx's body
#                 bytes (the index and the chunks).
#   zsync         a deterministic tar of each tree and `zsyncmake` of it,
#                 served by nginx; `zsync -i A.tar` of B's .zsync; nginx's
#                 body bytes (the .zsync file and the ranges).
#   restic        a fresh repository (repository v2, default compression)
#                 with A backed up, then B backed up: the bytes of the
#                 repository files the B backup added, i.e. what a school
#                 mirroring the repository copies (restic has no client
#                 that fetches a delta against local files).
#   git thin pack `git pack-objects --revs --thin` of a commit holding B's
#                 tree on top of A's commit: B's objects not in A, deltas
#                 against A's allowed (what a git fetch of the update moves).
#   bound         per file of B: 0 if A has the same content at the same
#                 path, or anywhere (a rename or copy); `zstd -19
#                 --patch-from=A's file` if the path changed, `zstd -19` of
#                 the file if it is new; summed.
# Tool setup (making repositories, stores, indexes, tars) is never counted.
#
# Markdown goes to stdout (bench/run.sh gathers it into BENCHMARKS.md),
# progress to stderr.  Run alone (after `make MODE=release -j2 tests`):
#
#   BENCH_SECTIONS=bench/update.sh bench/run.sh
#
# Environment (all optional):
#   BENCH_UPDATE_TOOLS="ferry ferry-nodelta rsync casync zsync restic git bound"
#   BENCH_UPDATE_TAGS="T1 T2..."  these tags only, in this order (default: all)
#   BENCH_UPDATE_STEPS=N   only the first N consecutive steps (and first -> last)
#   FERRY_CORPUS           another textbook bundle
#   FERRY, FERRY_BUILD, BENCH_DIR as in bench/run.sh
set -u
cd "$(dirname "$0")/.." || exit 1
. bench/lib.sh
. tests/servers.sh
bench_init || exit 1

W=$BENCH_DIR/update
WWW=$W/www
TREES=$W/trees
CG=$W/corpus.git
CHANNEL=book/philosophy
read -r -a TOOLS <<<"${BENCH_UPDATE_TOOLS:-ferry ferry-nodelta rsync casync zsync restic git bound}"
export RESTIC_PASSWORD=ferry-bench

rm -rf "$W"
mkdir -p "$W" "$WWW" || exit 1
export FERRY_SERVERS_OWNER=$$ FERRY_SERVERS_DIR=$W/servers
RSYNC_PID=
cleanup() {
	servers_stop "$W/servers"
	[ -z "$RSYNC_PID" ] || kill "$RSYNC_PID" 2>/dev/null
}
trap cleanup EXIT

bench_textbook "$CG" || exit 1
if [ -n "${BENCH_UPDATE_TAGS:-}" ]; then
	read -r -a TAGS <<<"$BENCH_UPDATE_TAGS"
else
	mapfile -t TAGS < <(bench_textbook_tags "$CG")
fi
if [ "${#TAGS[@]}" -lt 2 ]; then
	bench_log "update: ${#TAGS[@]} tags (${TAGS[*]}); a step needs two"
	exit 1
fi
bench_log "update: writing the trees of ${#TAGS[@]} tags"
bench_textbook_trees "$CG" "$TREES" "${TAGS[@]}" || exit 1

# The steps: every consecutive pair, then first -> last.
FROM=() TO=()
nsteps=$((${#TAGS[@]} - 1))
[ -z "${BENCH_UPDATE_STEPS:-}" ] || [ "$BENCH_UPDATE_STEPS" -ge "$nsteps" ] || nsteps=$BENCH_UPDATE_STEPS
for ((i = 0; i < nsteps; i++)); do
	FROM+=("${TAGS[$i]}") TO+=("${TAGS[$((i + 1))]}")
done
# With two tags, first -> last is the one step already there.
[ "${#TAGS[@]}" -eq 2 ] || FROM+=("${TAGS[0]}") TO+=("${TAGS[-1]}")
NSTEPS=${#FROM[@]}

ssh-keygen -q -t ed25519 -N '' -C ferry-bench -f "$W/key" || exit 1
servers_nginx_start "$WWW" >/dev/null || exit 1
LOG=$FERRY_NGINX_LOG
HTTP=http://127.0.0.1:$FERRY_HTTP_PORT

# Results: BYTES[tool:step] or FAIL[tool:step].
declare -A BYTES FAIL NOTE SECS
failed() { # tool step why
	FAIL[$1:$2]="failed: $3"
	bench_log "update: step $2 ${FROM[$2]} -> ${TO[$2]}: $1: failed: $3"
}
measured() { # tool step bytes
	BYTES[$1:$2]=$3
	bench_log "update: step $2 ${FROM[$2]} -> ${TO[$2]}: $1: $3 bytes"
}

# ---- ferry ----

# ferry_step COLUMN STEP [PACK-OPTION...]
ferry_step() {
	local col=$1 i=$2 a=${FROM[$2]} b=${TO[$2]} r s url mark bytes repo_bytes t0
	shift 2
	r=$WWW/$col/$i s=$W/$col/store-$i url=$HTTP/$col/$i
	mkdir -p "$W/$col" "$WWW/$col"
	{
		"$FERRY" repo init "$r" --key "$W/key.pub" &&
			"$FERRY" pack "$r" "$CHANNEL" "$TREES/$a" --key "$W/key" -q "$@" &&
			"$FERRY" store init "$s" --trust "$W/key.pub" &&
			"$FERRY" sync "$s" --source "$url" --channel "$CHANNEL" -q
	} >"$W/$col/setup-$i.log" 2>&1 || {
		failed "$col" "$i" "setup (repository with A, school at A): see $W/$col/setup-$i.log"
		return
	}
	t0=$(date +%s%N)
	"$FERRY" pack "$r" "$CHANNEL" "$TREES/$b" --key "$W/key" -q "$@" >"$W/$col/pack-$i.log" 2>&1 || {
		failed "$col" "$i" "ferry pack of B: $(tail -n 1 "$W/$col/pack-$i.log")"
		return
	}
	NOTE[$col:packsecs]=$(bench_calc "${NOTE[$col:packsecs]:-0} + ($(date +%s%N) - $t0) / 1e9" %.3f)
	mark=$(bench_nginx_mark "$LOG")
	"$FERRY" sync "$s" --source "$url" --channel "$CHANNEL" -q >"$W/$col/sync-$i.log" 2>&1 || {
		failed "$col" "$i" "ferry sync exit $?: $(tail -n 1 "$W/$col/sync-$i.log")"
		return
	}
	bytes=$(bench_nginx_bytes "$LOG" "$mark" "/$col/$i/")
	ferry_kinds "$col" "$i" "$mark"
	if ! "$FERRY" checkout "$s" "$CHANNEL" "$W/$col/site-$i" -q >"$W/$col/checkout-$i.log" 2>&1; then
		failed "$col" "$i" "ferry checkout: $(tail -n 1 "$W/$col/checkout-$i.log")"
		return
	fi
	if ! diff -r "$TREES/$b" "$W/$col/site-$i" >"$W/$col/diff-$i.log" 2>&1; then
		failed "$col" "$i" "the checkout differs from B (see $W/$col/diff-$i.log)"
		return
	fi
	repo_bytes=$(bench_du "$r")
	if [ "$bytes" -le 0 ] || [ "$bytes" -gt "$repo_bytes" ]; then
		failed "$col" "$i" "nginx logged $bytes bytes for a repository of $repo_bytes"
		return
	fi
	measured "$col" "$i" "$bytes"
	rm -rf "$s" "$W/$col/site-$i" "$W/$col/site-$i.releases"
}

# Where a ferry run's bytes went, added up per column over the consecutive
# steps: NOTE[col:kind] for data (pack ranges), idx (packs/list and pack
# indexes), manifests (git objects), other (ferry.json, heads) and requests.
ferry_kinds() { # column step mark
	local k v
	[ "$2" -lt "$nsteps" ] || return 0
	while read -r k v; do
		NOTE[$1:$k]=$((${NOTE[$1:$k]:-0} + v))
	done < <(tail -n +"$(($3 + 1))" "$LOG" | awk -v p="/$1/$2/" '
		index($5, p) != 1 { next }
		{ n++ }
		$5 ~ /\/packs\/.*\.pack$/ { k["data"] += $NF; next }
		$5 ~ /\/packs\/(list|.*\.idx)$/ { k["idx"] += $NF; next }
		$5 ~ /\/manifests\.git\// { k["manifests"] += $NF; next }
		{ k["other"] += $NF }
		END {
			printf "requests %d\n", n
			split("data idx manifests other", ks, " ")
			for (j = 1; j <= 4; j++) printf "%s %.0f\n", ks[j], k[ks[j]]
		}')
}

# ---- rsync ----

RSYNC_PORT=
rsync_start() {
	local conf=$W/rsyncd.conf i
	{
		echo "use chroot = no"
		echo "pid file = $W/rsyncd.pid"
		[ "$(id -u)" != 0 ] || printf 'uid = 0\ngid = 0\n'
		echo "[trees]"
		echo "path = $TREES"
		echo "read only = yes"
	} >"$conf"
	RSYNC_PORT=$(servers__port) || return 1
	rsync --daemon --no-detach --config="$conf" --address=127.0.0.1 --port="$RSYNC_PORT" \
		--log-file="$W/rsyncd.log" </dev/null >>"$W/rsyncd.out" 2>&1 &
	RSYNC_PID=$!
	for i in $(seq 1 100); do
		servers__listening 127.0.0.1 "$RSYNC_PORT" && return 0
		kill -0 "$RSYNC_PID" 2>/dev/null || break
		sleep 0.1
	done
	bench_log "update: rsync --daemon did not start: $(tail -n 3 "$W/rsyncd.out" "$W/rsyncd.log" 2>/dev/null)"
	return 1
}

rsync_step() {
	local i=$1 a=${FROM[$1]} b=${TO[$1]} d=$W/rsync/dest-$1 l=$W/rsync/$1.log sent recv
	mkdir -p "$W/rsync" && rm -rf "$d" && cp -a "$TREES/$a" "$d" || return
	rsync -a --delete -z --no-W --stats --no-h "rsync://127.0.0.1:$RSYNC_PORT/trees/$b/" "$d/" >"$l" 2>&1 || {
		failed rsync "$i" "exit $?: $(tail -n 1 "$l")"
		return
	}
	sent=$(awk -F': *' '/^Total bytes sent:/ {gsub(/,/, "", $2); print $2}' "$l")
	recv=$(awk -F': *' '/^Total bytes received:/ {gsub(/,/, "", $2); print $2}' "$l")
	if ! [[ $sent =~ ^[0-9]+$ && $recv =~ ^[0-9]+$ ]]; then
		failed rsync "$i" "no byte counts in its --stats (see $l)"
	elif ! diff -r "$TREES/$b" "$d" >"$W/rsync/diff-$i.log" 2>&1; then
		failed rsync "$i" "the result differs from B (see $W/rsync/diff-$i.log)"
	else
		measured rsync "$i" $((sent + recv))
	fi
	rm -rf "$d"
}

# ---- casync ----

casync_setup() {
	local tag
	mkdir -p "$WWW/casync" "$W/casync" || return 1
	for tag in "${TAGS[@]}"; do
		casync make --store="$WWW/casync/store" "$WWW/casync/$tag.caidx" "$TREES/$tag" \
			>>"$W/casync/make.log" 2>&1 || return 1
	done
}

casync_step() {
	local i=$1 a=${FROM[$1]} b=${TO[$1]} d=$W/casync/out-$1 mark bytes
	rm -rf "$d"
	mark=$(bench_nginx_mark "$LOG")
	casync extract --store="$HTTP/casync/store" --seed="$TREES/$a" \
		"$HTTP/casync/$b.caidx" "$d" >"$W/casync/$i.log" 2>&1 || {
		failed casync "$i" "exit $?: $(tail -n 1 "$W/casync/$i.log")"
		return
	}
	bytes=$(bench_nginx_bytes "$LOG" "$mark" /casync/)
	if ! diff -r "$TREES/$b" "$d" >"$W/casync/diff-$i.log" 2>&1; then
		failed casync "$i" "the result differs from B (see $W/casync/diff-$i.log)"
	else
		measured casync "$i" "$bytes"
	fi
	rm -rf "$d"
}

# ---- zsync ----

zsync_setup() {
	local tag
	mkdir -p "$WWW/zsync" "$W/zsync" || return 1
	for tag in "${TAGS[@]}"; do
		tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu \
			-cf "$WWW/zsync/$tag.tar" -C "$TREES/$tag" . &&
			zsyncmake -u "$tag.tar" -o "$WWW/zsync/$tag.tar.zsync" "$WWW/zsync/$tag.tar" \
				>>"$W/zsync/make.log" 2>&1 || return 1
	done
}

zsync_step() {
	local i=$1 a=${FROM[$1]} b=${TO[$1]} d=$W/zsync/run-$1 mark bytes
	rm -rf "$d" && mkdir -p "$d" && cp "$WWW/zsync/$a.tar" "$d/old.tar" || return
	mark=$(bench_nginx_mark "$LOG")
	(cd "$d" && zsync -q -i old.tar -o new.tar "$HTTP/zsync/$b.tar.zsync") >"$W/zsync/$i.log" 2>&1 || {
		failed zsync "$i" "exit $?: $(tail -n 1 "$W/zsync/$i.log")"
		return
	}
	bytes=$(bench_nginx_bytes "$LOG" "$mark" /zsync/)
	if ! cmp -s "$WWW/zsync/$b.tar" "$d/new.tar"; then
		failed zsync "$i" "the tar it built differs from B's"
	else
		measured zsync "$i" "$bytes"
	fi
	rm -rf "$d"
}

# ---- restic ----

restic_files() { (cd "$1" && find . -type f -printf '%P %s\n' | sort); }

restic_step() {
	local i=$1 a=${FROM[$1]} b=${TO[$1]} r=$W/restic/repo-$1 src=$W/restic/school l=$W/restic/$1.log bytes
	mkdir -p "$W/restic" && rm -rf "$r" "$src" "$W/restic/restore-$i" || return
	{
		restic init --repo "$r" &&
			cp -a "$TREES/$a" "$src" &&
			restic backup --repo "$r" --no-cache -q "$src"
	} >"$l" 2>&1 || {
		failed restic "$i" "setup (repository with A): see $l"
		return
	}
	restic_files "$r" >"$W/restic/before-$i"
	# Updated in place, as on a server that backs up its one folder: files
	# that did not change keep their inode and ctime, which restic records.
	rsync -a --delete "$TREES/$b/" "$src/" || return
	restic backup --repo "$r" --no-cache -q "$src" >>"$l" 2>&1 || {
		failed restic "$i" "backup of B: exit $?: $(tail -n 1 "$l")"
		return
	}
	restic_files "$r" >"$W/restic/after-$i"
	# A file of the repository that is new, or whose size changed.
	bytes=$(comm -13 "$W/restic/before-$i" "$W/restic/after-$i" | awk '{s += $NF} END {printf "%.0f\n", s}')
	if ! restic restore latest --repo "$r" --no-cache -q --target "$W/restic/restore-$i" >>"$l" 2>&1; then
		failed restic "$i" "restic restore: $(tail -n 1 "$l")"
		return
	fi
	if ! diff -r "$TREES/$b" "$W/restic/restore-$i/$src" >"$W/restic/diff-$i.log" 2>&1; then
		failed restic "$i" "restoring B gives another tree (see $W/restic/diff-$i.log)"
		return
	fi
	measured restic "$i" "$bytes"
	rm -rf "$r" "$src" "$W/restic/restore-$i"
}

# ---- git thin pack ----

git_step() {
	local i=$1 a=${FROM[$1]} b=${TO[$1]} d=$W/git base commit pack
	mkdir -p "$d" || return
	if ! base=$(git -C "$CG" rev-parse "$a^{commit}") ||
		! commit=$(git -C "$CG" commit-tree "$b^{tree}" -p "$base" -m "$a -> $b"); then
		failed git "$i" "git commit-tree"
		return
	fi
	pack=$d/$i.pack
	printf '%s\n^%s\n' "$commit" "$base" | git -C "$CG" pack-objects --revs --thin --stdout -q >"$pack" || {
		failed git "$i" "git pack-objects"
		return
	}
	# A school that has A completes the thin pack and reads B back.
	rm -rf "$d/school-$i" "$d/tree-$i"
	if git init -q --bare "$d/school-$i" &&
		git -C "$CG" push -q "$d/school-$i" "refs/tags/$a:refs/tags/$a" &&
		git -C "$d/school-$i" index-pack --stdin --fix-thin <"$pack" >/dev/null 2>&1 &&
		mkdir -p "$d/tree-$i" &&
		git -C "$d/school-$i" archive "$commit" | tar -x -C "$d/tree-$i" &&
		diff -r "$TREES/$b" "$d/tree-$i" >"$d/diff-$i.log" 2>&1; then
		measured git "$i" "$(stat -c %s "$pack")"
	else
		failed git "$i" "the thin pack does not give B on top of A"
	fi
	rm -rf "$d/school-$i" "$d/tree-$i" "$pack"
}

# ---- the bound, and what changed ----

bound_step() {
	local i=$1 a=${FROM[$1]} b=${TO[$1]} meta path blob sum=0 n changed=0 added=0 moved=0
	local -A old had
	while IFS= read -r -d '' meta; do
		path=${meta#*$'\t'} meta=${meta%%$'\t'*}
		old[$path]=${meta##* } had[${meta##* }]=1
	done < <(git -C "$CG" ls-tree -r -z "$a")
	while IFS= read -r -d '' meta; do
		path=${meta#*$'\t'} blob=${meta%%$'\t'*} blob=${blob##* }
		if [ "${old[$path]:-}" = "$blob" ]; then
			unset "old[$path]"
			continue
		elif [ -n "${old[$path]:-}" ]; then
			n=$(zstd -q -19 -c --patch-from="$TREES/$a/$path" "$TREES/$b/$path" 2>/dev/null | wc -c)
			changed=$((changed + 1))
			unset "old[$path]"
		elif [ -n "${had[$blob]:-}" ]; then
			# Renamed or copied: A holds these very bytes under another name.
			moved=$((moved + 1))
			continue
		else
			n=$(zstd -q -19 -c "$TREES/$b/$path" 2>/dev/null | wc -c)
			added=$((added + 1))
		fi
		[ "$n" -gt 0 ] || { failed bound "$i" "zstd wrote nothing for $path"; return; }
		sum=$((sum + n))
	done < <(git -C "$CG" ls-tree -r -z "$b")
	NOTE[files:$i]="$changed / $added / $moved / ${#old[@]}"
	measured bound "$i" "$sum"
}

# ---- run ----

version() {
	case $1 in
	ferry) echo "ferry (source $(git -C "$FERRY_SRC" rev-parse --short HEAD 2>/dev/null || echo unknown))" ;;
	rsync) rsync --version | head -n1 | awk '{print "rsync", $3}' ;;
	casync) echo "casync $(casync --version 2>/dev/null | head -n1 | awk '{print $NF}')" ;;
	zsync) zsync -V 2>&1 | head -n1 | awk '{print "zsync", $2}' ;;
	restic) restic version 2>/dev/null | awk '{print $1, $2; exit}' ;;
	git) git --version ;;
	bound) zstd -V | grep -o 'v[0-9.]*' | head -n1 | sed 's/^/zstd /' ;;
	esac
}

# The columns, in order; ferry-nodelta only when ferry pack offers it.
COLS=()
for t in "${TOOLS[@]}"; do
	case $t in
	ferry)
		if [ -x "$FERRY" ]; then COLS+=(ferry); else bench_log "update: $FERRY is not built"; fi
		;;
	ferry-nodelta)
		if [ -x "$FERRY" ] && "$FERRY" pack --help 2>&1 | grep -q -- '--no-deltas'; then
			COLS+=(ferry-nodelta)
		else
			bench_log "update: ferry pack has no --no-deltas; no such column"
		fi
		;;
	rsync | casync | zsync | restic | git) COLS+=("$t") ;;
	bound)
		if command -v zstd >/dev/null; then COLS+=(bound); else bench_log "update: zstd is not installed"; fi
		;;
	*) bench_log "update: unknown tool $t" ;;
	esac
done
# The bound is always computed: it also counts the changed files.
has_bound=0
for t in "${COLS[@]}"; do [ "$t" = bound ] && has_bound=1; done
[ "$has_bound" = 1 ] || COLS+=(bound)

declare -A SETUP_FAIL
for t in "${COLS[@]}"; do
	case $t in
	rsync | casync | zsync | restic)
		command -v "$t" >/dev/null || { SETUP_FAIL[$t]="not installed"; continue; }
		;;
	esac
	case $t in
	rsync) rsync_start || SETUP_FAIL[rsync]="failed: rsync --daemon did not start" ;;
	casync) casync_setup || SETUP_FAIL[casync]="failed: casync make (see $W/casync/make.log)" ;;
	zsync) zsync_setup || SETUP_FAIL[zsync]="failed: tar or zsyncmake (see $W/zsync/make.log)" ;;
	esac
done

versions=()
for t in "${COLS[@]}"; do
	[ "$t" != ferry-nodelta ] || continue
	[ -z "${SETUP_FAIL[$t]:-}" ] || continue
	v=$(version "$t")
	[ -z "$v" ] || versions+=("$v")
done

bench_log "update: ${#FROM[@]} steps; columns: ${COLS[*]}"
LOAD_START=$(cut -d' ' -f1 /proc/loadavg)
T0=$(date +%s)
for ((i = 0; i < NSTEPS; i++)); do
	for t in "${COLS[@]}"; do
		if [ -n "${SETUP_FAIL[$t]:-}" ]; then
			FAIL[$t:$i]=${SETUP_FAIL[$t]}
			continue
		fi
		t1=$(date +%s%N)
		case $t in
		ferry) ferry_step ferry "$i" ;;
		ferry-nodelta) ferry_step ferry-nodelta "$i" --no-deltas ;;
		*) "${t}_step" "$i" ;;
		esac
		SECS[$t]=$(bench_calc "${SECS[$t]:-0} + ($(date +%s%N) - $t1) / 1e9" %.1f)
	done
done
for t in "${COLS[@]}"; do bench_log "update: $t: ${SECS[$t]:-0} s over all steps, checks included"; done
bench_log "update: done in $(($(date +%s) - T0)) s"

# ---- the Markdown section ----

# The bullet that says how a column was measured.
method() {
	case $1 in
	ferry)
		echo "- **ferry**: a county repository with \`ferry pack\` of A then B, served by nginx; a school"
		echo "  store that synced A over HTTP runs \`ferry sync\` to B. Bytes: nginx's \`\$body_bytes_sent\`"
		echo "  summed over that run's requests — heads, manifest git objects, \`packs/list\`, pack"
		echo "  indexes and pack ranges, everything. Checked: \`ferry checkout\` equals B, and the bytes"
		echo "  are more than 0 and no more than the repository."
		;;
	ferry-nodelta)
		echo "- **ferry, no deltas**: the same, with the repository packed by \`ferry pack --no-deltas\`."
		;;
	rsync)
		echo "- **rsync**: \`rsync -a --delete -z --no-W\` from an rsync daemon on loopback into a copy of A;"
		echo "  the client's \`--stats\` \"Total bytes sent\" plus \"Total bytes received\" (both directions,"
		echo "  rsync protocol bytes). File times are those of a mirror kept by rsync since the first"
		echo "  release, so unchanged files pass rsync's quick check without checksums."
		;;
	casync)
		echo "- **casync**: \`casync make\` of every tree into one chunk store (default chunk size and"
		echo "  compression) served by nginx; \`casync extract --seed=A\` of B's \`.caidx\` over HTTP."
		echo "  Bytes: nginx's body bytes for the index and the chunks."
		;;
	zsync)
		echo "- **zsync**: a deterministic tar of each tree (\`--sort=name --mtime=@0 --owner=0"
		echo "  --group=0 --numeric-owner\`) and \`zsyncmake\` of it, served by nginx; \`zsync -i A.tar\`"
		echo "  of B's \`.zsync\`. Bytes: nginx's body bytes (the \`.zsync\` file and the ranges)."
		;;
	restic)
		echo "- **restic**: a fresh repository with A backed up, the folder updated in place to B, B backed"
		echo "  up; the bytes of the repository files the B backup added (packs, index, snapshot) — what"
		echo "  a school mirroring the repository copies. Not a restore: \`restic restore\` fetches whole"
		echo "  files, with no delta against local ones. Checked: restoring the snapshot gives B."
		;;
	git)
		echo "- **git thin pack**: \`git pack-objects --revs --thin --stdout\` of a commit holding B's tree"
		echo "  on top of A's commit (what a fetch of the update sends; the negotiation not counted)."
		echo "  Checked: \`index-pack --fix-thin\` in a repository holding A, then B's tree read back."
		echo "  Git sends many changed \`modules/*/index.cnxml\` whole, not as deltas: pack-objects looks"
		echo "  up a thin pack's old versions once per *name hash* (\`add_preferred_base_object\`), and"
		echo "  its hash keeps only a path's last characters — v2023-06-01 → v2024-04-01's 29 changed"
		echo "  paths have 10 distinct hashes. \`git bundle create B ^A\` is the same size, so a real"
		echo "  fetch would send this too."
		;;
	bound)
		echo "- **bound**: per file of B, \`zstd -19 --patch-from=\` A's file at the same path if it"
		echo "  changed, \`zstd -19\` of the file if the path is new, and 0 if unchanged or *moved* (a new"
		echo "  path whose exact bytes A holds under another name: renamed or copied); summed."
		;;
	esac
}


label() {
	case $1 in
	ferry) echo "ferry (HTTP)" ;;
	ferry-nodelta) echo "ferry, no deltas" ;;
	git) echo "git thin pack" ;;
	*) echo "$1" ;;
	esac
}

cell() { # tool step
	if [ -n "${BYTES[$1:$2]:-}" ]; then
		bench_group "${BYTES[$1:$2]}"
	else
		echo "${FAIL[$1:$2]:-no run}"
	fi
}

ratio() { # step: ferry / bound
	if [ -n "${BYTES[ferry:$1]:-}" ] && [ -n "${BYTES[bound:$1]:-}" ]; then
		echo "$(bench_calc "${BYTES[ferry:$1]} / ${BYTES[bound:$1]}")×"
	else
		echo "–"
	fi
}

# Totals over the consecutive steps: a tool missing one step has none.
declare -A TOTAL
last=$nsteps # the consecutive steps are 0 .. nsteps-1; first -> last follows
for t in "${COLS[@]}"; do
	sum=0
	for ((i = 0; i < last; i++)); do
		if [ -z "${BYTES[$t:$i]:-}" ]; then sum=; break; fi
		sum=$((sum + ${BYTES[$t:$i]}))
	done
	TOTAL[$t]=$sum
done

head=("step" "files changed / new / moved / removed:")
for t in "${COLS[@]}"; do head+=("$(label "$t") bytes:"); done
head+=("ferry / bound:")

echo "## Update cost: one textbook release to the next"
echo
echo "Bytes a school downloads to go from release A to release B of the textbook corpus"
echo "(\`philosophy.bundle\`: OpenStax *Introduction to Philosophy*, ${#TAGS[@]} tags, $(bench_group "$(bench_tree_bytes "$TREES/${TAGS[-1]}")") bytes"
echo "in $(bench_tree_files "$TREES/${TAGS[-1]}") files at the last), for every consecutive pair of tags and from the first tag"
echo "to the last, every tool on the same two trees over loopback. Every result was checked"
echo "against B; a tool whose result differed shows \"failed\", never a figure."
echo
bench_md_head "${head[@]}"
for ((i = 0; i < NSTEPS; i++)); do
	[ "$i" -ne "$last" ] || [ "$last" -lt 2 ] || {
		row=("**total of the $last steps**" "")
		for t in "${COLS[@]}"; do
			if [ -n "${TOTAL[$t]}" ]; then row+=("**$(bench_group "${TOTAL[$t]}")**"); else row+=("–"); fi
		done
		if [ -n "${TOTAL[ferry]:-}" ] && [ -n "${TOTAL[bound]:-}" ]; then
			row+=("**$(bench_calc "${TOTAL[ferry]} / ${TOTAL[bound]}")×**")
		else
			row+=("–")
		fi
		bench_md_row "${row[@]}"
	}
	name="${FROM[$i]} → ${TO[$i]}"
	[ "$i" -ne "$last" ] || name="$name (first → last)"
	row=("$name" "${NOTE[files:$i]:-–}")
	for t in "${COLS[@]}"; do row+=("$(cell "$t" "$i")"); done
	row+=("$(ratio "$i")")
	bench_md_row "${row[@]}"
done
echo

# Issue 5's target: ferry within 1.2x of the bound on every step.
worst='' worst_step='' judged=1
for ((i = 0; i < NSTEPS; i++)); do
	if [ -z "${BYTES[ferry:$i]:-}" ] || [ -z "${BYTES[bound:$i]:-}" ]; then judged=0; continue; fi
	x=$(bench_calc "${BYTES[ferry:$i]} / ${BYTES[bound:$i]}" %.4f)
	if [ -z "$worst" ] || awk -v a="$x" -v b="$worst" 'BEGIN {exit !(a > b)}'; then
		worst=$x worst_step="${FROM[$i]} → ${TO[$i]}"
	fi
done
if [ "$judged" = 0 ] || [ -z "$worst" ]; then
	echo "Target (issue 5): ferry within 1.2× of the bound on every step — **not judged** (a step has no ferry or bound figure)."
elif awk -v a="$worst" 'BEGIN {exit !(a <= 1.2)}'; then
	echo "Target (issue 5): ferry within 1.2× of the bound on every step — **met** (worst $(bench_calc "$worst")×, $worst_step)."
else
	echo "Target (issue 5): ferry within 1.2× of the bound on every step — **not met** (worst $(bench_calc "$worst")×, $worst_step)."
fi
for t in ferry ferry-nodelta; do
	[ -n "${NOTE[$t:requests]:-}" ] || continue
	name=ferry
	[ "$t" = ferry ] || name="ferry without deltas"
	echo "Where $name's bytes went, over the $nsteps consecutive steps: $(bench_group "${NOTE[$t:data]}") of pack"
	echo "ranges (chunks), $(bench_group "${NOTE[$t:idx]}") of \`packs/list\` and pack indexes, $(bench_group "${NOTE[$t:manifests]}") of manifest git"
	echo "objects, $(bench_group "${NOTE[$t:other]}") of \`ferry.json\`, its signature and heads; ${NOTE[$t:requests]} requests (HEADs included)."
done
if [ -n "${NOTE[ferry:packsecs]:-}" ] && [ -n "${NOTE[ferry-nodelta:packsecs]:-}" ]; then
	echo "Packing release B, summed over the steps: $(bench_calc "${NOTE[ferry:packsecs]}") s with deltas, $(bench_calc "${NOTE[ferry-nodelta:packsecs]}") s with \`--no-deltas\`."
fi
echo
echo "What each column counts (setup — repositories, stores, indexes, tars, release A at the"
echo "school — is never counted):"
echo
for t in "${COLS[@]}"; do method "$t"; done
echo "  The **total** row sums the consecutive steps only (not first → last)."
echo
echo "Columns served over HTTP count response bodies only (no headers, no requests); rsync's"
echo "count is its protocol in both directions; none counts TCP/IP overhead. Load average (1 min)"
echo "when the runs began and ended: $LOAD_START and $(cut -d' ' -f1 /proc/loadavg)."
echo
joined=$(IFS=';' && echo "${versions[*]}")
echo "Versions: ${joined//;/; }."
echo
# The logs stay in $W for a look; the bulk (repositories, stores, trees) goes.
cleanup
RSYNC_PID=
rm -rf "$WWW" "$TREES" "$W"/ferry*/store-* "$W/restic/school"
