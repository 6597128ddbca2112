# sync_kill — power cuts during a sync, to the letter of issue 3: `ferry
# sync` of a few hundred MB from a folder is SIGKILLed at 30 random moments,
# every one of them after the run began reading packs and before the
# release was installed; after every kill `ferry verify STORE` passes; a
# final run completes with a byte-identical checkout; and the bytes read
# from the source over all 31 runs are at most 1.05x those of an uncut run.
#
# Bytes read are counted from outside, by strace: every read or pread64 on
# a file under the source folder that returned, in every run, killed or
# not.  strace records a call's result before ferry sees it, so a kill
# cannot hide bytes ferry received; a call the kill interrupted delivered
# nothing.  (The runs table's bytes_read is written when a run ends, so it
# would miss the killed runs.)
#
# Size: FERRY_KILL_SIZE (default 300M of content, ~195 MB of packs) keeps
# the whole test near a minute on 2 cores with the sanitizer build (64 s on
# a busy shared machine): each kill comes within a window sized from the
# uncut run's fetch so that all 30 together cover well under that fetch.
. "$(dirname "$0")/lib.sh"
if ! command -v strace >/dev/null; then
	fail "strace is needed to count the bytes read (tests/deps.sh installs it)"
	finish
fi
make_key county
R=$T/repo
"$FERRY" repo init "$R" --key "$T/county.pub" >/dev/null
"$GEN" "$T/src" --seed 11 --size "${FERRY_KILL_SIZE:-300M}" >/dev/null
"$FERRY" pack "$R" all/content "$T/src" --key "$T/county" -q
R=$(cd "$R" && pwd -P)

# traced LOG COMMAND...: runs COMMAND under strace, logging its reads, with
# its own pid in LOG.pid.  (LeakSanitizer cannot run under ptrace; the other
# sanitizers do.)
traced() {
	local log=$1
	shift
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
		strace -f -qq -ttt -y -s 1 -e trace=read,pread64,readv,preadv,preadv2 \
		-e signal=none -o "$log" sh -c 'echo $$ >"$0.pid"; exec "$@"' "$log" "$@"
}
# Sums the bytes returned by reads of files under $R in strace logs.
source_bytes() {
	awk -v root="$R/" '
	function ret(l) { return match(l, /\) += -?[0-9]+/) ? substr(l, RSTART, RLENGTH) : "" }
	function add(l,   s) { s = ret(l); sub(/^\) += /, "", s); if (s + 0 > 0) sum += s }
	{
		pid = $1
		if (index($0, " resumed>")) { if (pid in pend) { add($0); delete pend[pid] } next }
		if (!match($0, /\([0-9]+<[^>]*>/)) next
		p = substr($0, RSTART + 1, RLENGTH - 2); sub(/^[0-9]+</, "", p)
		if (index(p, root) != 1) next
		if (index($0, "<unfinished ...>")) { pend[pid] = 1; next }
		add($0)
	}
	END { printf "%d\n", sum }' "$@"
}

# The uncut run, for the byte count and to time the fetch.
"$FERRY" store init "$T/uncut" --trust "$T/county.pub" >/dev/null
check "an uncut run completes" traced "$T/uncut.st" "$FERRY" sync "$T/uncut" --source "$R" \
	--channel all/content -q
uncut=$(source_bytes "$T/uncut.st")
fetch_secs=$(awk -v root="$R/packs/" '
	$3 ~ /^pread64\(/ && index($0, root) && !t0 { t0 = $2 }
	{ t1 = $2 }
	END { printf "%.3f\n", t0 ? t1 - t0 : 1 }' "$T/uncut.st")
# Each kill comes a random moment within this window after the run starts
# reading packs; 30 windows span 0.6 of the uncut fetch.
window_ms=$(awk -v s="$fetch_secs" 'BEGIN { w = s * 1000 * 0.6 / 30; printf "%d\n", w < 5 ? 5 : w }')
echo "# uncut run: $uncut bytes read from the source; fetch ${fetch_secs}s; kill window ${window_ms}ms"

S=$T/school
"$FERRY" store init "$S" --trust "$T/county.pub" >/dev/null
bad=0 cut=0
# Waiting without forking (a `sleep` costs milliseconds on a busy machine).
exec {napfd}<> <(:)
nap() { read -r -t "$1" -u "$napfd" _ || true; }
for i in $(seq 1 30); do
	log=$T/kill.$i.st
	delay=$(awk -v w="$window_ms" -v r="$RANDOM" 'BEGIN { printf "%.3f\n", w * r / 32768 / 1000 }')
	: >"$log"
	traced "$log" "$FERRY" sync "$S" --source "$R" --channel all/content -q >/dev/null 2>&1 &
	spid=$!
	# Follow the trace until the run reads its first pack, then wait a
	# random moment more.
	exec {logfd}<"$log"
	for _ in $(seq 1 20000); do
		if IFS= read -r line <&"$logfd"; then
			[[ $line == *"<$R/packs/"*".pack>"* ]] && break
		else
			kill -0 "$spid" 2>/dev/null || break
			nap 0.005
		fi
	done
	exec {logfd}<&-
	nap "$delay"
	fpid= && read -r fpid <"$log.pid" 2>/dev/null
	[ -n "$fpid" ] && kill -9 "$fpid" 2>/dev/null
	wait "$spid" 2>/dev/null
	# A kill that counts is one that cut the release before it was installed.
	"$FERRY" status "$S" --json | grep -q '"installed":\[\]' && cut=$((cut + 1))
	if ! "$FERRY" verify "$S" >"$T/v.out" 2>&1; then
		bad=$((bad + 1))
		sed 's/^/#   /' "$T/v.out" | head -n 3
	fi
done
[ "$bad" = 0 ] && ok "the store verifies after each of 30 kills" ||
	fail "$bad of 30 kills left the store unsound"
[ "$cut" = 30 ] && ok "all 30 kills cut the sync mid-run" || fail "only $cut of 30 kills cut the sync mid-run"
check "a final run completes" traced "$T/final.st" "$FERRY" sync "$S" --source "$R" \
	--channel all/content -q
"$FERRY" checkout "$S" all/content "$T/site" -q
check "the checkout is byte-identical" diff -r "$T/src" "$T/site"
total=$(source_bytes "$T"/kill.*.st "$T/final.st")
ratio=$(awk -v a="$total" -v b="$uncut" 'BEGIN { printf "%.3f\n", b ? a / b : 99 }')
if awk -v r="$ratio" 'BEGIN { exit !(r <= 1.05) }' && [ "$uncut" -gt 100000000 ]; then
	ok "bytes read over 31 runs: $total, ${ratio}x the uncut run's $uncut (at most 1.05x)"
else
	fail "bytes read over 31 runs: $total, ${ratio}x the uncut run's $uncut (wanted at most 1.05x of > 100 MB)"
fi
finish
