# sync_delta_weak — deltas survive a cut link: a school two releases behind
# syncs through tests/tools/weakproxy, which resets the connection in the
# middle of a delta read (and, on the next faulty connections, wherever the
# same offsets fall); the delta read resumes from the byte it reached
# instead of falling back to the file's chunks.  Checked: the checkout is
# byte-identical to the tag; --json shows the deltas applied and none
# failed; the log shows a delta read retried; ferry's own count of bytes
# read is within 1.2x of an uncut run's.
#
# No timing is asserted and the cut is placed by bytes, not by luck: an
# uncut run through a clean proxy goes first on a copy of the same store,
# and nginx's access log of it ($bytes_sent per response, which is what
# the proxy counts per connection) gives where in the connection's stream
# each delta's body lies (a delta read is a range starting 44 bytes into
# an entry the pack index types as a delta).  The faulty proxy's reset
# offsets are drawn inside the largest delta's body, so the first
# connection, whose bytes up to the cut are those of the uncut run, is cut
# inside a delta read whatever the seed.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/servers.sh"
export FERRY_SERVERS_OWNER=$$ FERRY_SERVERS_DIR=$T/srv FERRY_NGINX_SNDBUF=1k
trap 'servers_stop "$T/srv"' EXIT
FAULTY=${FERRY_DELTA_WEAK_FAULTY:-4}

make_key county
R=$T/repo S=$T/school
"$FERRY" repo init "$R" --key "$T/county.pub" >/dev/null
"$FERRY" store init "$S" --trust "$T/county.pub" >/dev/null
corpus_ready || finish
set -- $(corpus_tags)
[ $# -ge 5 ] || { fail "the corpus has only $# tags"; finish; }
publish() { # tag
	rm -rf "$T/tree" && corpus_tree "$1" "$T/tree"
	"$FERRY" pack "$R" book/philosophy "$T/tree" --key "$T/county" -q || fail "pack $1"
}
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["channels"][0][sys.argv[2]])' "$1" "$2"; }
# cmp_le A B F: A <= B * F
cmp_le() { python3 -c 'import sys; a, b, f = map(float, sys.argv[1:]); sys.exit(0 if a <= b * f else 1)' "$@"; }
lines() { wc -l <"$FERRY_NGINX_LOG"; }

if ! servers_nginx_start "$R" >/dev/null; then
	fail "nginx starts"
	finish
fi
servers_proxy_start clean --to "127.0.0.1:$FERRY_HTTP_PORT" --buffer 4K >/dev/null
CLEAN=http://127.0.0.1:$FERRY_PROXY_PORT

# The window of connection offsets [from, to] holding the body of the
# largest delta read on the first connection among the access log's lines
# after $1.
delta_window() {
	python3 - "$FERRY_NGINX_LOG" "$1" "$R/packs" <<'PY'
import os, re, struct, sys
log, skip, packs = sys.argv[1], int(sys.argv[2]), sys.argv[3]
deltas = set()  # (pack name, body start) of every delta entry
for d, _, files in os.walk(packs):
    for f in files:
        if not f.endswith('.idx'):
            continue
        idx = open(os.path.join(d, f), 'rb').read()
        for i in range(struct.unpack_from('<I', idx, 56)[0]):
            rec = 64 + 56 * i
            off = struct.unpack_from('<Q', idx, rec + 32)[0]
            if idx[rec + 48] == 3:
                deltas.add((f[:-4], off + 44))
pos, best, first = 0, None, None
for line in open(log).read().splitlines()[skip:]:
    w = line.split()
    first = first or w[1]
    if w[1] != first:  # the faulty proxy's first connection is the one placed
        continue
    sent, body = int(w[-2]), int(w[-1])
    m = re.match(r'/packs/../([0-9a-f]{64})\.pack$', w[4])
    r = re.match(r'"bytes=(\d+)-(\d+)"', w[6])
    if m and r and (m.group(1), int(r.group(1))) in deltas and body > 2:
        start = pos + sent - body
        if best is None or body > best[1] - best[0]:
            best = (start + 1, start + body - 1)
    pos += sent
if best is None:
    sys.exit("no delta read on the first connection in the log")
print(best[0], best[1])
PY
}

publish "$1"
"$FERRY" sync "$S" --source "$R" -q --channel book/philosophy || fail "the first sync"
round=0
for to in "$3" "$5"; do
	round=$((round + 1))
	# Two releases at a time, so each sync has deltas to choose.
	[ "$round" = 1 ] && publish "$2" || publish "$4"
	publish "$to"
	rm -rf "$T/uncut" && cp -r "$S" "$T/uncut"
	from=$(lines)
	"$FERRY" sync "$T/uncut" --source "$CLEAN" --channel book/philosophy --json >"$T/uncut.json" \
		2>"$T/uncut.log" || fail "round $round: the uncut sync"
	uncut=$(json_field "$T/uncut.json" bytes_read)
	applied=$(field "$T/uncut.json" deltas_applied)
	if ! win=$(delta_window "$from"); then
		fail "round $round: the uncut run read no delta ($applied applied): $(cat "$T/uncut.json")"
		continue
	fi
	set -- $win "$@"
	lo=$1 hi=$2
	shift 2
	servers_proxy_start "cut$round" --to "127.0.0.1:$FERRY_HTTP_PORT" --buffer 4K \
		--reset-after "$lo-$hi" --faulty "$FAULTY" --seed "$((round * 7))" >/dev/null
	"$FERRY" sync "$S" --source "http://127.0.0.1:$FERRY_PROXY_PORT" --channel book/philosophy \
		--json >"$T/cut.json" 2>"$T/cut.log"
	rc=$?
	rm -rf "$T/site"
	if [ "$rc" = 0 ] && "$FERRY" checkout "$S" book/philosophy "$T/site" -q &&
		diff -r "$T/tree" "$T/site" >"$T/diff.out" 2>&1; then
		ok "round $round: the cut sync completes, checkout byte-identical to $to"
	else
		fail "round $round: the cut sync (exit $rc)"
		sed 's/^/#   /' "$T/cut.log" "$T/diff.out" | tail -n 15
	fi
	resets=$(grep -c "reset as asked" "$FERRY_SERVERS_DIR/proxy-cut$round.log")
	dretries=$(grep -c ": delta [0-9a-f]*: .*retrying from byte" "$T/cut.log")
	retries=$(grep -c "retrying from byte" "$T/cut.log")
	[ "$resets" -ge 1 ] && [ "$dretries" -ge 1 ] &&
		ok "round $round: $resets resets (offsets $lo-$hi), $dretries delta reads resumed, $retries retries in all" ||
		{ fail "round $round: $resets resets, $dretries delta read retries (wanted >= 1 each)"
		  sed 's/^/#   /' "$T/cut.log" | tail -n 15; }
	got=$(field "$T/cut.json" deltas_applied)
	failed=$(field "$T/cut.json" deltas_failed)
	[ "$got" -gt 0 ] && [ "$got" = "$applied" ] && [ "$failed" = 0 ] &&
		ok "round $round: $got deltas applied through the cuts (as uncut), none failed" ||
		fail "round $round: $got deltas applied ($applied uncut), $failed failed"
	cut=$(json_field "$T/cut.json" bytes_read)
	ratio=$(python3 -c 'import sys; print("%.3f" % (int(sys.argv[1]) / int(sys.argv[2])))' "$cut" "$uncut")
	cmp_le "$cut" "$uncut" 1.2 &&
		ok "round $round: ferry read $cut bytes through the cuts, $uncut uncut (${ratio}x <= 1.2x)" ||
		fail "round $round: ferry read $cut bytes through the cuts, $uncut uncut (${ratio}x > 1.2x)"
	echo "# round $round: $resets resets at $lo-$hi, $dretries delta retries, $retries in all;" \
		"bytes read $cut cut, $uncut uncut (${ratio}x)"
done
check "the school's store verifies" "$FERRY" verify "$S"
servers_stop "$T/srv"
finish
