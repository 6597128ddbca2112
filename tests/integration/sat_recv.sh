# sat_recv — the satellite receiver end to end, over real UDP multicast in
# a network namespace this test creates (and removes): a small county
# repository broadcast by `ferry sat send` through tests/tools/mcast_relay
# (10 % random loss and fades) reaches a school store with no other
# command than `ferry sat recv`, joined mid-carousel, and its checkout is
# byte-identical; the receiver is SIGKILLed at random moments and
# restarted, and after every kill the store verifies, the drop holds only
# whole, correct files and the spool reads back; a hostile packet stream
# (tests/integration/sat_hostile.py) beside the real one places nothing
# and breaks nothing.
. "$(dirname "$0")/lib.sh"
RELAY=$BUILD/tests/tools/mcast_relay
NS=ferry-satrecv-$$
if ! ip netns add "$NS" 2>/dev/null; then
	echo "ok integration/$TEST: # skipped: cannot create a network namespace (needs root)"
	finish
fi
cleanup() {
	for p in $(ip netns pids "$NS" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	ip netns del "$NS" 2>/dev/null
}
trap cleanup EXIT
# Background jobs are started with `ip netns exec` itself (which execs the
# command), never through a shell function, so $! is the process to kill.
ip netns exec "$NS" sh -c 'ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo'

make_key county
R=$T/repo
"$FERRY" repo init "$R" --key "$T/county.pub" >/dev/null
"$GEN" "$T/src" --seed 5 --size "${FERRY_SAT_SIZE:-2M}"
"$FERRY" pack "$R" main "$T/src" --key "$T/county" -q || fail "pack"
SEND=239.255.7.1:5001 RECV=239.255.7.2:5002

# The sky: sender -> lossy relay -> receivers.
ip netns exec "$NS" "$RELAY" --in "$SEND" --out "$RECV" --loss 0.1 --fade 200 --fade-every 2000 \
	--seed "${FERRY_SAT_SEED:-$RANDOM}" --stats "$T/relay.stats" &
relay=$!
ip netns exec "$NS" "$FERRY" sat send "$R" --group "$SEND" --rate "${FERRY_SAT_RATE:-1M}" --ttl 0 \
	>"$T/send.log" 2>&1 &
sender=$!

# Same bytes as the repository's file of the same name, for every file of
# the drop; no stray files (temporaries aside: a kill may leave one).
drop_sound() { # drop
	local f rel
	while IFS= read -r f; do
		rel=${f#"$1"/}
		case $rel in *.tmp-*) continue ;; esac
		cmp -s "$f" "$R/$rel" || { echo "drop: $rel differs from the repository's"; return 1; }
	done < <(find "$1" -type f)
}

# 1. Joined mid-carousel, through loss and fades: installed with no other command.
S=$T/school
"$FERRY" store init "$S" --trust "$T/county.pub" >/dev/null
sleep 1.3
start=$(date +%s)
if timeout 90 ip netns exec "$NS" "$FERRY" sat recv "$S" --group "$RECV" --channel main \
	--until-installed --sync-every 1 >"$T/recv1.log" 2>&1; then
	ok "a receiver joining mid-carousel installs the release through 10 % loss and fades ($(($(date +%s) - start)) s)"
else
	fail "the receiver did not install the release"
	sed 's/^/#   /' "$T/recv1.log" | tail -n 15
fi
"$FERRY" checkout "$S" main "$T/site" -q
check "its checkout is byte-identical to what was published" diff -r "$T/src" "$T/site"
check "the store verifies" "$FERRY" verify "$S"
check "the drop holds exactly the repository's files" drop_sound "$S/local/sat/drop"
"$FERRY" sat status "$S" --json >"$T/status.json"
# --until-installed stops once the release is in; a file the release does
# not need (manifests.git/HEAD, say) may still be on its way.
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); n=len(list(open(sys.argv[2]))); sys.exit(0 if 0<d["files_in_drop"]==n<=d["files_listed"] else 1)' \
	"$T/status.json" <(find "$S/local/sat/drop" -type f ! -name '*.tmp-*') &&
	ok "sat status counts the files in the drop" || fail "sat status: $(cat "$T/status.json")"

# 2. Power cuts: SIGKILL at random moments, restart each time.
S2=$T/school2
"$FERRY" store init "$S2" --trust "$T/county.pub" >/dev/null
kills=0 cut=0 bad=0 sat_diff=0 sat_seen=0
# ferry status's satellite section must list what sat status lists.
sat_compare() {
	"$FERRY" status "$S2" --json >"$T/st.json" && "$FERRY" sat status "$S2" --json >"$T/ss.json" &&
		python3 -c 'import json,sys
a = json.load(open(sys.argv[1])).get("satellite", [])
b = json.load(open(sys.argv[2]))["receiving"]
sys.exit(0 if a == b and all(x["symbols_needed"] > 0 for x in a) else 1)' "$T/st.json" "$T/ss.json" ||
		return 1
	grep -q '"satellite":\[{' "$T/st.json" && sat_seen=$((sat_seen + 1))
	return 0
}
for i in $(seq 1 12); do
	ip netns exec "$NS" "$FERRY" sat recv "$S2" --group "$RECV" --channel main --sync-every 1 \
		>>"$T/recv2.log" 2>&1 &
	pid=$!
	# 0.05-0.59 s: short enough that several kills land before the release
	# is complete even on a fast or idle machine (the spool keeps progress)
	sleep "$(printf "0.%02d" $((5 + RANDOM % 55)))"
	kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
	wait "$pid" 2>/dev/null
	"$FERRY" status "$S2" --json | grep -q '"installed":\[\]' && cut=$((cut + 1))
	sat_compare || sat_diff=$((sat_diff + 1))
	if ! "$FERRY" verify "$S2" >"$T/v.out" 2>&1 || ! drop_sound "$S2/local/sat/drop" >>"$T/v.out" 2>&1 ||
		! "$FERRY" sat status "$S2" >>"$T/v.out" 2>&1; then
		bad=$((bad + 1))
		sed 's/^/#   /' "$T/v.out" | head -n 5
	fi
	[ "$cut" -ge 6 ] && [ "$i" -ge 6 ] && break
done
[ "$bad" = 0 ] && ok "after each of $kills kills the store verifies, the drop is sound, the spool reads back" ||
	fail "$bad of $kills kills left something unsound"
[ "$cut" -ge 5 ] && ok "$cut kills cut the reception before the release was installed" ||
	fail "only $cut kills landed before installation"
# If no kill above caught a file half received, catch one on a fresh store:
# a receiver stopped after 0.1-1.5 s, until ferry status shows one.
S3=$T/school3
for _ in $(seq 1 15); do
	[ "$sat_seen" -ge 1 ] && break
	rm -rf "$S3"
	"$FERRY" store init "$S3" --trust "$T/county.pub" >/dev/null
	ip netns exec "$NS" "$FERRY" sat recv "$S3" --group "$RECV" --channel main >/dev/null 2>&1 &
	pid=$!
	sleep "$(printf "%d.%02d" $((RANDOM % 2)) $((10 + RANDOM % 50)))"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	S2_SAVED=$S2
	S2=$S3
	sat_compare || sat_diff=$((sat_diff + 1))
	S2=$S2_SAVED
done
[ "$sat_diff" = 0 ] && [ "$sat_seen" -ge 1 ] &&
	ok "ferry status showed files in progress ($sat_seen of the kills), the same as sat status" ||
	fail "ferry status vs sat status: $sat_diff differed, $sat_seen showed files in progress"
check "a restarted receiver completes the installation" \
	timeout 90 ip netns exec "$NS" "$FERRY" sat recv "$S2" --group "$RECV" --channel main \
	--until-installed --sync-every 1
"$FERRY" checkout "$S2" main "$T/site2" -q
check "and its checkout is byte-identical" diff -r "$T/src" "$T/site2"

# 3. A hostile stream beside the real one.
S3=$T/school3
"$FERRY" store init "$S3" --trust "$T/county.pub" >/dev/null
ip netns exec "$NS" python3 "$SRC/tests/integration/sat_hostile.py" "$RECV" 0 400 &
hostile=$!
if timeout 90 ip netns exec "$NS" "$FERRY" sat recv "$S3" --group "$RECV" --iface lo --channel main \
	--until-installed --sync-every 1 --json >"$T/recv3.json" 2>"$T/recv3.log"; then
	ok "the release installs despite a hostile stream"
else
	fail "no installation beside the hostile stream"
	sed 's/^/#   /' "$T/recv3.log" | tail -n 15
fi
kill "$hostile" 2>/dev/null
wait "$hostile" 2>/dev/null
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["bad"]>0 and d["foreign"]>0 else 1)' "$T/recv3.json" &&
	ok "malformed and foreign packets were counted and dropped" || fail "counters: $(cat "$T/recv3.json")"
grep -q "do not match the file table" "$T/recv3.log" &&
	ok "a forged entry whose decode does not hash right is not placed" || fail "no hash mismatch seen"
grep -q "not its name" "$T/recv3.log" && ok "a pack whose name is not its hash is refused" ||
	fail "the misnamed pack was not refused"
grep -q "notes/readme.txt: ignored" "$T/recv3.log" &&
	ok "a path outside the repository layout is ignored" || fail "the stray path was not ignored"
check "nothing foreign was placed in the drop" drop_sound "$S3/local/sat/drop"
[ ! -e "$T/etc" ] && [ ! -e "$S3/local/etc" ] && ok "no path escaped the drop" || fail "a path escaped"
check "the store verifies" "$FERRY" verify "$S3"
"$FERRY" checkout "$S3" main "$T/site3" -q
check "and its checkout is byte-identical" diff -r "$T/src" "$T/site3"

kill "$sender" "$relay" 2>/dev/null
wait "$sender" "$relay" 2>/dev/null
read -r _ nin _ nout _ ndrop <"$T/relay.stats" 2>/dev/null &&
	echo "# relay: $nin packets in, $ndrop dropped ($((100 * ndrop / (nin > 0 ? nin : 1))) %)"
finish
