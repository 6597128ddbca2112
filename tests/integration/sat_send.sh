# sat_send — `ferry sat send` over real UDP multicast, checked by tshark.
#
# A small repository (a signed release, with one incompressible 1.5 MB file
# so a pack spans several source blocks at --symbol-size 128) is sent to
# 239.255.42.1 on the loopback of a network namespace this test creates
# (and deletes), while tshark captures.  Wireshark's own ALC/LCT/FEC
# dissector then decodes every packet, and the test checks each field
# against what ferry meant to send: LCT version 1, codepoint 6, the TSI,
# EXT_FTI (F, T, Z, N, Al) per object, EXT_FDT only in TOI 0, SBN and ESI.
# The FDT is rebuilt from the first pass's source symbols, and every object
# is rebuilt from its source symbols by RFC 6330's partition and compared
# by SHA-256 with the FDT and the file on disk.  Later passes must carry
# fresh repair symbols only (no ESI twice).  A release published while the
# carousel runs must join it (a new FDT instance listing the new head).
# The achieved rate, from capture timestamps, must lie within 10 % of
# --rate.  Also: refusals of a bad group and a missing repository.
. "$(dirname "$0")/lib.sh"
NS=ferry-satsend-$$
PORT=4999
GROUP=239.255.42.1
cleanup() {
	[ -n "${TSHARK_PID:-}" ] && kill "$TSHARK_PID" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
}
trap cleanup EXIT

make_key county
R=$T/repo
"$FERRY" repo init "$R" --key "$T/county.pub" >/dev/null
mkdir -p "$T/tree/docs"
head -c 1500000 /dev/urandom >"$T/tree/video.bin"
echo "教材 — release one" >"$T/tree/docs/readme.txt"
"$FERRY" pack "$R" book/x "$T/tree" --key "$T/county" -q || fail "pack release one"

check_exit "a bad group is refused" 1 "$FERRY" sat send "$R" --group 239.1.1.1 --rate 1M --passes 1
check_exit "a bad rate is refused" 1 "$FERRY" sat send "$R" --group $GROUP:$PORT --rate fast
check_exit "a missing repository is refused" 1 "$FERRY" sat send "$T/nowhere" --group $GROUP:$PORT --rate 1M --passes 1

if ! ip netns add "$NS" 2>"$T/netns.err"; then
	fail "cannot create a network namespace: $(cat "$T/netns.err")"
	finish
fi
ip -n "$NS" link set lo up
ip -n "$NS" link set lo multicast on
ip -n "$NS" route add 239.0.0.0/8 dev lo
in_ns() { ip netns exec "$NS" "$@"; }
check_exit "--first with a channel the repository lacks is refused" 1 \
	in_ns "$FERRY" sat send "$R" --group $GROUP:$PORT --rate 1M --passes 1 --first no/such
grep -q "has no channel no/such" "$T/last.out" && ok "and says which" ||
	fail "--first no/such: $(head -n 2 "$T/last.out")"

# Capture, and wait until tshark is really listening.
ip netns exec "$NS" tshark -i lo -f "udp port $PORT" -w "$T/cap.pcap" -q 2>"$T/tshark.err" &
TSHARK_PID=$!
for _ in $(seq 100); do grep -q 'Capturing on' "$T/tshark.err" 2>/dev/null && break; sleep 0.1; done
sleep 0.5

# The carousel: 1 MB/s (about 1.7 s a pass); a second release is published
# once the first pass is done.
RATE=1000000
in_ns "$FERRY" sat send "$R" --group $GROUP:$PORT --rate $RATE --tsi 4242 --symbol-size 128 --first book/x \
	--passes 5 --json >"$T/send.json" 2>"$T/send.err" &
SEND_PID=$!
for _ in $(seq 300); do grep -q 'pass 1 done' "$T/send.err" 2>/dev/null && break; sleep 0.05; done
echo "release two" >"$T/tree/docs/readme.txt"
"$FERRY" pack "$R" book/x "$T/tree" --key "$T/county" -q || fail "pack release two"
if wait "$SEND_PID"; then ok "sat send ran 5 passes and exited 0"; else
	fail "sat send exited $?"
	sed 's/^/#   /' "$T/send.err" | tail -n 10
fi
grep -q 'repository changed: FDT instance 1' "$T/send.err" &&
	ok "the sender noticed the new release between passes" || fail "no rescan: $(tail -n 3 "$T/send.err")"
sleep 0.5
kill -INT "$TSHARK_PID" 2>/dev/null
wait "$TSHARK_PID" 2>/dev/null
TSHARK_PID=

tshark -r "$T/cap.pcap" -d udp.port==$PORT,alc -T fields -E separator=/t -E occurrence=f \
	-e frame.time_epoch -e ip.len -e rmt-lct.version -e rmt-lct.codepoint -e rmt-lct.tsi \
	-e rmt-lct.toi -e rmt-lct.fdt_instance_id -e rmt-fec.encoding_id \
	-e rmt-fec.fti.transfer_length -e rmt-fec.fti.encoding_symbol_length \
	-e rmt-fec.fti.num_blocks -e rmt-fec.fti.num_subblocks -e rmt-fec.fti.alignment \
	-e rmt-fec.sbn -e rmt-fec.esi -e rmt-lct.hlen -e udp.payload >"$T/fields.tsv" 2>"$T/tshark2.err"

python3 - "$T/fields.tsv" "$R" "$T/send.json" $RATE >"$T/verdict.txt" 2>&1 <<'EOF'
import hashlib, json, math, os, sys, xml.etree.ElementTree as ET
rows = [l.rstrip('\n').split('\t') for l in open(sys.argv[1]) if l.strip()]
for r in rows:  # the symbol: the UDP payload after the LCT header and the payload ID
    r[15] = bytes.fromhex(r[16])[int(r[15]) + 4:].hex()
repo, sent, rate = sys.argv[2], json.load(open(sys.argv[3])), int(sys.argv[4])
def say(ok, what):
    print(("ok " if ok else "FAIL ") + what)
say(len(rows) >= 1000, "tshark dissected %d packets" % len(rows))
say(len(rows) == sent["packets"], "tshark saw every packet the sender counted (%d of %d)" % (len(rows), sent["packets"]))
bad = [r for r in rows if r[2] != "1" or r[3] != "6" or r[4] != "4242" or r[7] != "6"]
say(not bad, "every packet: LCT version 1, codepoint 6, TSI 4242, FEC encoding ID 6 (%d bad)" % len(bad))
bad = [r for r in rows if r[11] != "1" or r[12] != "4"]
say(not bad, "every packet: EXT_FTI with N = 1 and Al = 4 (%d bad)" % len(bad))
bad = [r for r in rows if (r[5] == "0") != (r[6] != "")]
say(not bad, "EXT_FDT in exactly the TOI 0 packets (%d bad)" % len(bad))
bad = [r for r in rows if int(r[9]) != (124 if r[5] == "0" else 128) or len(r[15]) != 2 * int(r[9])]
say(not bad, "T is 128 (124 for the FDT) and every payload holds one symbol of T bytes (%d bad)" % len(bad))

def partition(F, T, Z):
    Kt = math.ceil(F / T); KL = math.ceil(Kt / Z); KS = Kt // Z; ZL = Kt - KS * Z
    return [KL] * ZL + [KS] * (Z - ZL)
# objects keyed by (TOI, FDT instance for TOI 0)
objs = {}
for r in rows:
    key = (int(r[5]), r[6])
    o = objs.setdefault(key, {"F": int(r[8]), "T": int(r[9]), "Z": int(r[10]), "sym": {}, "n": 0, "esis": {}})
    if (o["F"], o["T"], o["Z"]) != (int(r[8]), int(r[9]), int(r[10])):
        o["inconsistent"] = True
    sbn, esi = int(r[13]), int(r[14], 16)
    o["n"] += 1
    o["esis"].setdefault(sbn, []).append(esi)
    o["sym"].setdefault((sbn, esi), bytes.fromhex(r[15]))
say(not any("inconsistent" in o for o in objs.values()), "each object's EXT_FTI is the same in all its packets")
def rebuild(o):
    ks = partition(o["F"], o["T"], o["Z"])
    out = b""
    for sbn, k in enumerate(ks):
        for esi in range(k):
            if (sbn, esi) not in o["sym"]:
                return None
            out += o["sym"][(sbn, esi)]
    return out[:o["F"]]
fdts = {}
for (toi, inst), o in objs.items():
    if toi == 0:
        x = rebuild(o)
        fdts[int(inst)] = ET.fromstring(x) if x else None
say(sorted(fdts) == [0, 1] and all(fdts.values()), "FDT instances 0 and 1 rebuilt from their source symbols")
ns = "{urn:IETF:metadata:2005:FLUTE:FDT}"
sha_attr = "{urn:ferry:fdt:1}sha256"
files = {}
for inst in sorted(fdts):
    for f in fdts[inst].iter(ns + "File"):
        files[int(f.get("TOI"))] = (f.get("Content-Location"), int(f.get("Content-Length")), f.get(sha_attr))
listed = {v[0] for v in files.values()}
on_disk = set()
for d, _, fs in os.walk(repo):
    for n in fs:
        p = os.path.relpath(os.path.join(d, n), repo)
        if p.startswith("local/") or p.startswith("manifests.git/hooks/") or p in ("manifests.git/description", "manifests.git/info/exclude"):
            continue
        on_disk.add(p)
say(on_disk <= listed, "the FDTs list every file of the repository (missing: %s)" % sorted(on_disk - listed)[:3])
bad = []
zmax = 0
for (toi, inst), o in objs.items():
    if toi == 0:
        continue
    loc, length, sha = files.get(toi, (None, None, None))
    data = rebuild(o)
    if loc is None or data is None or o["F"] != length or hashlib.sha256(data).hexdigest() != sha:
        bad.append((toi, loc))
    zmax = max(zmax, o["Z"])
say(not bad, "every object rebuilt from its SBN/ESI source symbols matches the FDT's length and SHA-256 (%s)" % bad[:3])
say(zmax >= 2, "a large object spans %d source blocks" % zmax)
cur = {v[0]: v[2] for v in files.values()}
head = open(os.path.join(repo, "heads/book/x"), "rb").read()
say(hashlib.sha256(head).hexdigest() in [v[2] for k, v in files.items() if v[0] == "heads/book/x"],
    "the new head was broadcast after the rescan")
# freshness: no (object, SBN, ESI) twice; later passes are repair symbols
dups = sum(len(e) - len(set(e)) for o in objs.values() for e in o["esis"].values())
say(dups == 0, "no symbol is sent twice: later passes send fresh repair symbols (%d repeats)" % dups)
big = max((o for (t, _), o in objs.items() if t != 0), key=lambda o: o["F"])
ks = partition(big["F"], big["T"], big["Z"])
okpass = all(len(big["esis"][s]) == 5 * k and max(big["esis"][s]) >= 4 * k for s, k in enumerate(ks))
say(okpass, "the large object got K symbols per block in each of the 5 passes")
# rate: bytes on the wire (IP length) over the capture's time span
t = [float(r[0]) for r in rows]
wire = sum(int(r[1]) for r in rows[:-1])
achieved = wire / (t[-1] - t[0])
say(0.9 * rate <= achieved <= 1.1 * rate, "achieved rate %.0f B/s for --rate %d (within 10 %%)" % (achieved, rate))
say(sent["wire_bytes"] == sum(int(r[1]) for r in rows), "the sender's wire byte count matches the capture")
EOF
while read -r verdict rest; do
	if [ "$verdict" = ok ]; then ok "$rest"; else fail "$verdict $rest"; fi
done <"$T/verdict.txt"
grep -q '^ok the large object' "$T/verdict.txt" || sed 's/^/#   /' "$T/tshark2.err" | head -n 5
finish
