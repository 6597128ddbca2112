# sat_spool_cap — the satellite receiver's spool stays under --spool-max:
# a repository of four ~600 KB packs (2.4 MB of packs, 2.9 MB in all) is
# broadcast by `ferry sat send` over multicast in a network namespace this
# test creates, to a receiver whose spool may hold 2 MiB — room for one
# such pack at a time (a one-block pack needs about twice its size while
# it decodes).  The release still installs (each file is placed as it
# decodes, freeing its room; a file that does not fit whole waits, its
# symbols dropped),
# and the spool's object folders, sampled with find all through the
# reception, never hold more than the cap.  No timing is asserted.
. "$(dirname "$0")/lib.sh"
NS=ferry-satcap-$$
if ! ip netns add "$NS" 2>/dev/null; then
	echo "ok integration/$TEST: # skipped: cannot create a network namespace (needs root)"
	finish
fi
sampler=
cleanup() {
	[ -n "$sampler" ] && kill "$sampler" 2>/dev/null
	for p in $(ip netns pids "$NS" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	ip netns del "$NS" 2>/dev/null
}
trap cleanup EXIT
ip netns exec "$NS" sh -c 'ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo'

make_key county
R=$T/repo
"$FERRY" repo init "$R" --key "$T/county.pub" >/dev/null
# Four releases, each adding 1 MB: four packs.
for s in 1 2 3 4; do
	"$GEN" "$T/src/part$s" --seed "$s" --size 1M
	"$FERRY" pack "$R" main "$T/src" --key "$T/county" -q || fail "pack $s"
done
CAP=2097152
packs=$(find "$R/packs" -name '*.pack' -printf '%s\n' | awk '{ n++; s += $1 } END { print n, s }')
set -- $packs
[ "$1" -ge 4 ] && [ "$2" -gt "$CAP" ] &&
	ok "the repository's $1 packs ($2 bytes) exceed the 2 MiB spool cap" ||
	fail "the repository is not larger than the cap: $packs"

check_exit "--spool-max refuses a size that is not one" 2 \
	"$FERRY" sat recv "$T/none" --group 239.255.7.4:5004 --spool-max lots

GROUP=239.255.7.3:5003
ip netns exec "$NS" "$FERRY" sat send "$R" --group "$GROUP" --rate 2M --ttl 0 >"$T/send.log" 2>&1 &

S=$T/school
SPOOL=$S/local/sat/spool
"$FERRY" store init "$S" --trust "$T/county.pub" >/dev/null

# What the object folders hold: file sizes, plus 4096 per folder (as the
# spool counts them; .gone- folders being deleted included).
spool_bytes() {
	find "$SPOOL" -mindepth 1 -maxdepth 1 -type d \( -name '*-*' -o -name '.gone-*' \) \
		-printf 'D\n' -exec find {} -type f -printf 'F %s\n' \; 2>/dev/null |
		awk '$1 == "D" { s += 4096 } $1 == "F" { s += $2 } END { print s + 0 }'
}
(
	while :; do
		spool_bytes >>"$T/samples"
		sleep 0.05
	done
) &
sampler=$!

if timeout 120 ip netns exec "$NS" "$FERRY" sat recv "$S" --group "$GROUP" --channel main \
	--spool-max 2M --until-installed --sync-every 1 --json >"$T/recv.json" 2>"$T/recv.log"; then
	ok "the release installs through a spool capped below its size"
else
	fail "no installation under the cap"
	sed 's/^/#   /' "$T/recv.log" | tail -n 15
fi
kill "$sampler" 2>/dev/null
wait "$sampler" 2>/dev/null
sampler=
spool_bytes >>"$T/samples"
n=$(wc -l <"$T/samples")
max=$(sort -n "$T/samples" | tail -n 1)
[ "$n" -ge 2 ] && [ "$max" -le "$CAP" ] &&
	ok "the spool never held more than the cap: at most $max of $CAP bytes in $n samples" ||
	fail "the spool held $max bytes, over the cap of $CAP ($n samples)"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if 0 < d["spool_peak_bytes"] <= int(sys.argv[2]) and d["objects_evicted"] + d["symbols_dropped"] > 0 else 1)' \
	"$T/recv.json" "$CAP" &&
	ok "the receiver reports a peak within the cap and that the cap bit ($(tr -d '\n' <"$T/recv.json"))" ||
	fail "receiver report: $(cat "$T/recv.json")"
"$FERRY" checkout "$S" main "$T/site" -q
check "its checkout is byte-identical to what was published" diff -r "$T/src" "$T/site"

"$FERRY" sat status "$S" --json >"$T/status.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["spool_max"] == int(sys.argv[2]) and d["spool_bytes"] <= d["spool_max"] and d["objects_evicted"] + d["symbols_dropped"] > 0 else 1)' \
	"$T/status.json" "$CAP" &&
	ok "sat status shows the spool's bytes of its cap, evictions and drops" ||
	fail "sat status: $(cat "$T/status.json")"
"$FERRY" sat status "$S" >"$T/status.txt"
grep -q '^spool: .* used of 2.0 MiB; ' "$T/status.txt" &&
	ok "sat status prints the spool line" || fail "sat status: $(cat "$T/status.txt")"
"$FERRY" status "$S" --json >"$T/st.json"
python3 -c 'import json,sys
a = json.load(open(sys.argv[1]))["satellite_spool"][0]
b = json.load(open(sys.argv[2]))
sys.exit(0 if all(a[k] == b[k] for k in ("spool_max", "objects_evicted", "objects_stale", "symbols_dropped")) else 1)' \
	"$T/st.json" "$T/status.json" &&
	ok "ferry status shows the same spool figures" || fail "ferry status: $(cat "$T/st.json")"
finish
