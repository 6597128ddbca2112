# sync_weak — `ferry sync` on a weak link, against real nginx through
# tests/tools/weakproxy:
#   resume    a 100 MB release synced through 100 connection resets at
#             random byte offsets (over as many runs as it takes) ends
#             byte-identical, and nginx's access log shows at most 1.01x the
#             body bytes of an uncut run through the same proxy;
#   failover  the first of two sources dies mid-run; the run completes
#             from the second, exit 0;
#   bwlimit   a run capped at RATE takes at least its bytes / RATE;
#   window    a run started outside --window exits 3 at once, fetching
#             nothing; one that reaches the window's end stops cleanly with
#             exit 3, and the next run completes;
#   deadline  likewise for --deadline SECONDS.
# For the resume case nginx and the proxy are asked for small socket
# buffers (FERRY_NGINX_SNDBUF, weakproxy --buffer), so a cut leaves little
# "sent but never received" in between and nginx's count measures what
# ferry asked for; ferry's own count of bytes received is checked too.  The
# other cases use a second nginx with ordinary buffers and a 40 MB release.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/servers.sh"
export FERRY_SERVERS_OWNER=$$ FERRY_SERVERS_DIR=$T/srv FERRY_NGINX_SNDBUF=1k
trap 'servers_stop "$T/srv"; servers_stop "$T/srv2"' EXIT
export TZ=UTC
SIZE=${FERRY_WEAK_SIZE:-100M}
CUTS=${FERRY_WEAK_CUTS:-100}

make_key county
R=$T/repo
"$FERRY" repo init "$R" --key "$T/county.pub" >/dev/null
"$GEN" "$T/src" --seed 41 --size "$SIZE" --incompressible 0.9
"$FERRY" pack "$R" all/content "$T/src" --key "$T/county" -q
# Incompressible, so it costs on the wire what it weighs.
"$GEN" "$T/mid" --seed 43 --size 40M --incompressible 1
"$FERRY" pack "$R" all/mid "$T/mid" --key "$T/county" -q
"$GEN" "$T/small" --seed 42 --size 6M --incompressible 1
"$FERRY" pack "$R" all/small "$T/small" --key "$T/county" -q
if ! servers_nginx_start "$R" >/dev/null; then
	fail "nginx starts"
	finish
fi
LOG=$FERRY_NGINX_LOG

# Sum of $body_bytes_sent (last field) over the log lines after line $1
# (from client $2 if given).
body_bytes() {
	awk -v from="$1" -v who="${2:-}" 'NR > from && (who == "" || $1 == who) { s += $NF }
		END { print s + 0 }' "$LOG"
}
lines() { wc -l <"$LOG"; }
new_store() { "$FERRY" store init "$T/$1" --trust "$T/county.pub" >/dev/null; }
elapsed() { python3 -c 'import sys, time; print("%.2f" % (time.time() - float(sys.argv[1])))' "$1"; }
now() { date +%s.%N; }
# cmp_le A B F: A <= B * F
cmp_le() { python3 -c 'import sys; a, b, f = map(float, sys.argv[1:]); sys.exit(0 if a <= b * f else 1)' "$@"; }

echo "# content generated and packed after ${SECONDS}s"
# ---- resume -------------------------------------------------------------------
servers_proxy_start clean --to "127.0.0.1:$FERRY_HTTP_PORT" --buffer 4K >/dev/null
URL_CLEAN=http://127.0.0.1:$FERRY_PROXY_PORT
new_store base
from=$(lines)
check "an uncut sync over HTTP through the proxy completes" \
	"$FERRY" sync "$T/base" --source "$URL_CLEAN" --channel all/content
cp "$T/last.out" "$T/base.log"
uncut=$(body_bytes "$from")

servers_proxy_start cut --to "127.0.0.1:$FERRY_HTTP_PORT" --buffer 4K \
	--reset-after 64K-1536K --faulty "$CUTS" --seed 7 >/dev/null
URL_CUT=http://127.0.0.1:$FERRY_PROXY_PORT
new_store cut
from=$(lines)
runs=0 rc=1
while [ "$rc" != 0 ] && [ "$runs" -lt 40 ]; do
	"$FERRY" sync "$T/cut" --source "$URL_CUT" --channel all/content >>"$T/cut.log" 2>&1
	rc=$?
	runs=$((runs + 1))
done
cut=$(body_bytes "$from")
resets=$(grep -c "reset as asked" "$FERRY_SERVERS_DIR/proxy-cut.log")
retries=$(grep -c "retrying from byte" "$T/cut.log")
if [ "$rc" = 0 ]; then ok "the cut sync completes ($runs runs, $retries retries)"; else
	fail "the cut sync did not complete in $runs runs (exit $rc)"
	tail -n 15 "$T/cut.log" | sed 's/^/#   /'
fi
[ "$resets" -ge "$CUTS" ] && ok "the proxy reset $resets connections mid-transfer" ||
	fail "the proxy reset only $resets connections (wanted $CUTS)"
"$FERRY" checkout "$T/cut" all/content "$T/site" -q
check "the checkout after $resets cuts is byte-identical" diff -r "$T/src" "$T/site"
ratio=$(python3 -c 'import sys; print("%.4f" % (int(sys.argv[1]) / int(sys.argv[2])))' "$cut" "$uncut")
if cmp_le "$cut" "$uncut" 1.01; then
	ok "nginx sent $cut body bytes through $resets cuts, $uncut uncut: ${ratio}x (<= 1.01x)"
else
	fail "nginx sent $cut body bytes through $resets cuts, $uncut uncut: ${ratio}x (> 1.01x)"
fi
# What ferry itself received: the sum over its runs' outcome lines.
ferry_bytes() {
	sed -n 's/^ferry: sync: [a-z]* after .* s: read \([0-9]*\) bytes.*/\1/p' "$1" |
		awk '{ s += $1 } END { print s + 0 }'
}
f_uncut=$(ferry_bytes "$T/base.log")
f_cut=$(ferry_bytes "$T/cut.log")
if [ "$f_uncut" -gt 0 ] && cmp_le "$f_cut" "$f_uncut" 1.01; then
	ok "ferry received $f_cut bytes through the cuts, $f_uncut uncut"
else
	fail "ferry received $f_cut bytes through the cuts, $f_uncut uncut (> 1.01x)"
fi
echo "# resume: nginx uncut $uncut B, cut $cut B (${ratio}x); ferry uncut $f_uncut B, cut $f_cut B;" \
	"$resets resets, $runs runs, $retries retries"
servers_stop "$T/srv"
export FERRY_SERVERS_DIR=$T/srv2
unset FERRY_NGINX_SNDBUF
if ! servers_nginx_start "$R" >/dev/null; then
	fail "the second nginx starts"
	finish
fi
LOG=$FERRY_NGINX_LOG

echo "# resume done after ${SECONDS}s"
# ---- failover -----------------------------------------------------------------
# Source 1 goes through a proxy capped at 8 MB/s that is killed mid-run;
# source 2 is nginx itself over IPv6, so the access log tells them apart.
servers_proxy_start dying --to "127.0.0.1:$FERRY_HTTP_PORT" --rate 8M >/dev/null
new_store fo
from=$(lines)
"$FERRY" sync "$T/fo" --source "http://127.0.0.1:$FERRY_PROXY_PORT" \
	--source "http://[::1]:$FERRY_HTTP_PORT" --channel all/mid >"$T/fo.log" 2>&1 &
pid=$!
sleep 1.5
servers_proxy_stop dying
wait "$pid"
rc=$?
first=$(body_bytes "$from" 127.0.0.1)
second=$(body_bytes "$from" ::1)
if [ "$rc" = 0 ]; then ok "the sync completes from the second source when the first dies (exit 0)"; else
	fail "the failover sync exited $rc"
	tail -n 15 "$T/fo.log" | sed 's/^/#   /'
fi
[ "$first" -gt 1000000 ] && [ "$second" -gt 1000000 ] &&
	ok "both sources served: $first bytes before the first died, $second after" ||
	fail "the first source served $first bytes and the second $second (wanted both > 1 MB)"
echo "# failover: nginx sent $first bytes through the dying source, $second from the other;" \
	"ferry received $(ferry_bytes "$T/fo.log")"
grep -q "giving up on it" "$T/fo.log" && ok "the log says the first source was given up" ||
	fail "no log line about giving up the first source"
"$FERRY" checkout "$T/fo" all/mid "$T/site-fo" -q
check "the failover checkout is byte-identical" diff -r "$T/mid" "$T/site-fo"

echo "# failover done after ${SECONDS}s"
# ---- bwlimit ------------------------------------------------------------------
new_store bw
t0=$(now)
"$FERRY" sync "$T/bw" --source "http://127.0.0.1:$FERRY_HTTP_PORT" --channel all/small \
	--bwlimit 2M --json >"$T/bw.json" 2>"$T/bw.log"
rc=$?
took=$(elapsed "$t0")
read_bytes=$(json_field "$T/bw.json" bytes_read)
# A lower bound: the bucket lets a quarter second of traffic through at once.
want=$(python3 -c 'import sys; print("%.2f" % (int(sys.argv[1]) / (2 << 20) - 0.25))' "$read_bytes")
if [ "$rc" = 0 ] && cmp_le "$want" "$took" 1; then
	ok "--bwlimit 2M: $read_bytes bytes took ${took}s (at least ${want}s)"
else
	fail "--bwlimit 2M: exit $rc, $read_bytes bytes took ${took}s (wanted at least ${want}s)"
fi

# ---- window and deadline ------------------------------------------------------
new_store win
t0=$(now)
FERRY_NOW=2026-11-29T12:00 "$FERRY" sync "$T/win" --source "http://127.0.0.1:$FERRY_HTTP_PORT" \
	--channel all/mid --window 22:00-06:00 >"$T/win.log" 2>&1
rc=$?
took=$(elapsed "$t0")
if [ "$rc" = 3 ] && grep -q "outside the window 22:00-06:00" "$T/win.log" && cmp_le "$took" 2 1; then
	ok "a run outside its window exits 3 at once (${took}s): $(head -n 1 "$T/win.log")"
else
	fail "outside the window: exit $rc after ${took}s: $(head -n 1 "$T/win.log")"
fi
"$FERRY" status "$T/win" --json >"$T/win.json"
grep -q '"installed":\[\]' "$T/win.json" && ! grep -q '"bytes_read":[1-9]' "$T/win.json" &&
	ok "it fetched nothing" || fail "the run outside its window fetched something"

# Three seconds before the window ends, at 4 MB/s: the run must stop at a
# batch boundary (every 8 MB) soon after, keep what it verified, say why.
t0=$(now)
FERRY_NOW=2026-11-29T05:59:57 "$FERRY" sync "$T/win" --source "http://127.0.0.1:$FERRY_HTTP_PORT" \
	--channel all/mid --window 22:00-06:00 --bwlimit 4M >"$T/win2.log" 2>&1
rc=$?
took=$(elapsed "$t0")
if [ "$rc" = 3 ] && grep -q "the window 22:00-06:00 ended" "$T/win2.log" && cmp_le "$took" 12 1; then
	ok "a run reaching the window's end stops with exit 3 after ${took}s"
else
	fail "at the window's end: exit $rc after ${took}s"
	tail -n 5 "$T/win2.log" | sed 's/^/#   /'
fi
"$FERRY" status "$T/win" --json >"$T/win.json"
grep -q '"outcome":"partial"' "$T/win.json" && grep -q 'window 22:00-06:00 ended' "$T/win.json" &&
	ok "status records the partial run and its reason" ||
	fail "status does not show the stopped run: $(head -c 400 "$T/win.json")"
check "the store verifies after the stop" "$FERRY" verify "$T/win"

t0=$(now)
"$FERRY" sync "$T/win" --source "http://127.0.0.1:$FERRY_HTTP_PORT" --deadline 2 --bwlimit 4M \
	>"$T/dl.log" 2>&1
rc=$?
took=$(elapsed "$t0")
if [ "$rc" = 3 ] && grep -q "the deadline 2 came" "$T/dl.log" && cmp_le "$took" 12 1; then
	ok "--deadline 2 stops the next run with exit 3 after ${took}s"
else
	fail "--deadline 2: exit $rc after ${took}s"
	tail -n 5 "$T/dl.log" | sed 's/^/#   /'
fi
check "the run after them completes" "$FERRY" sync "$T/win" \
	--source "http://127.0.0.1:$FERRY_HTTP_PORT" -q
"$FERRY" checkout "$T/win" all/mid "$T/site-win" -q
check "that checkout is byte-identical" diff -r "$T/mid" "$T/site-win"
echo "# all done after ${SECONDS}s"
# Before finish, which removes $T and with it the list of what to stop.
servers_stop "$T/srv2"
finish
