# usb_request — the round trip: a school several releases behind writes its
# request onto a stick; the county exports for it, from its publishing
# repository and from a county store; the stick holds exactly the chunks
# the school lacks (the new release's minus the installed one's: nothing it
# already has), and importing it brings the school up to date.  A school
# subscribed to modules/ only gets a stick it installs from; a school that
# lacks nothing gets a stick with no pack, and stays up to date.
. "$(dirname "$0")/lib.sh"
make_key county
R=$T/repo
"$FERRY" repo init "$R" --key "$T/county.pub" >/dev/null
corpus_ready || finish
set -- $(corpus_tags)
"$GEN" "$T/art" --seed 3 --size 4M >/dev/null
"$FERRY" pack "$R" art/pictures "$T/art" --key "$T/county" -q
A=$T/school
"$FERRY" store init "$A" --trust "$T/county.pub" >/dev/null
n=0
for tag in "$@"; do
	n=$((n + 1))
	rm -rf "$T/book" && corpus_tree "$tag" "$T/book"
	"$FERRY" pack "$R" book/philosophy "$T/book" --key "$T/county" -q || fail "pack $tag"
	[ "$n" = 3 ] && "$FERRY" sync "$A" --source "$R" --channel book/philosophy --channel art/pictures -q
done
C=$T/county-store
"$FERRY" store init "$C" --trust "$T/county.pub" >/dev/null
"$FERRY" sync "$C" --source "$R" --channel book/philosophy --channel art/pictures -q

mkdir -p "$T/stick"
check "usb request writes the school's state onto the stick" "$FERRY" usb request "$A" "$T/stick"
python3 - "$T/stick/ferry-request.json" <<'PY' && ok "the request names both channels and release 3 of the book" || fail "request: $(cat "$T/stick/ferry-request.json")"
import json, sys
d = json.load(open(sys.argv[1]))
ch = {c["name"]: c for c in d["channels"]}
sys.exit(0 if d["format"] == "ferry-usb-request" and ch["book/philosophy"]["installed"] == 3
         and ch["art/pictures"]["installed"] == 1 else 1)
PY
cp "$T/stick/ferry-request.json" "$T/request.json"
cp -r "$A" "$T/school-before"
cp -r "$A" "$T/school-modules"

# What the stick must hold: chunks of the newest book release minus those of
# the school's release 3 (art is unchanged, so nothing of it).
exact() { # stick repo-with-git [request] -> exit 0 if the stick's chunks are exactly the missing ones
	python3 - "$1" "$2" "${3:-$T/request.json}" <<'PY'
import json, os, subprocess, sys
stick, repo, req = sys.argv[1:]
git = ["git", "--git-dir", os.path.join(repo, "manifests.git")]
r = json.load(open(req))
paths = {c["name"]: [p.rstrip("/") for p in c["paths"]] for c in r["channels"]}
def chunks(commit, ch):
    out = set()
    tree = subprocess.run(git + ["-c", "core.quotePath=false", "ls-tree", "-r", commit, "files"], capture_output=True, text=True, check=True).stdout
    blobs = []
    for l in tree.splitlines():
        meta, path = l.split("\t", 1)
        rel = path[len("files/"):]
        if paths.get(ch) and not any(rel == p or rel.startswith(p + "/") for p in paths[ch]):
            continue
        blobs.append(meta.split()[2])
    data = subprocess.run(git + ["cat-file", "--batch"], input="\n".join(blobs) + "\n", capture_output=True, text=True, check=True).stdout
    for line in data.splitlines():
        w = line.split()
        if len(w) == 3 and len(w[0]) == 64:
            out.add(w[0])
    return out
def head_commit(path):
    for l in open(path, encoding="utf-8"):
        if l.startswith("commit "):
            return l.split()[1]
have = set()
for c in r["channels"]:
    if c["commit"]:
        have |= chunks(c["commit"], c["name"])
want = set()
for ch in ("book/philosophy", "art/pictures"):
    want |= chunks(head_commit(os.path.join(stick, "heads", ch)), ch)
need = want - have
got = []
for root, _, files in os.walk(os.path.join(stick, "packs")):
    for f in files:
        if f.endswith(".idx"):
            b = open(os.path.join(root, f), "rb").read()
            n = int.from_bytes(b[56:60], "little")
            got += [b[64 + 56 * i: 64 + 56 * i + 32].hex() for i in range(n)]
extra, missing = set(got) - need, need - set(got)
print(f"stick {len(got)} chunks, needed {len(need)}, extra {len(extra)}, missing {len(missing)}, duplicates {len(got) - len(set(got))}")
sys.exit(0 if not extra and not missing and len(got) == len(set(got)) and need else 1)
PY
}

check_exit "usb export --for the request, from the publishing repository" 0 \
	"$FERRY" usb export "$R" "$T/stick" --for "$T/stick/ferry-request.json"
if exact "$T/stick" "$R" >"$T/exact.out" 2>&1; then ok "the stick holds exactly what the school lacks: $(cat "$T/exact.out")"; else
	fail "the stick's chunks: $(cat "$T/exact.out")"
fi
whole=$(du -sb "$R/packs" | cut -f1)
got=$(find "$T/stick/packs" -name '*.pack' -printf '%s\n' | awk '{s+=$1} END {print s}')
[ "$got" -lt "$whole" ] && ok "its packs ($got bytes) are smaller than the repository's ($whole)" ||
	fail "stick packs $got bytes, repository $whole"
fat_image "$T/stick.img" 64
fat_put "$T/stick.img" "$T/stick" && fat_get "$T/stick.img" "$T/back" &&
	ok "the stick goes through a FAT32 image" || fail "mtools round trip"
check_exit "usb import brings the school up to date" 0 "$FERRY" usb import "$A" "$T/back"
"$FERRY" checkout "$A" book/philosophy "$T/site" -q
check "its checkout equals the newest tag" diff -r "$T/book" "$T/site"
check "the school store verifies" "$FERRY" verify "$A"

# The same request answered from a county store (whose packs are its own).
check_exit "usb export --for the request, from a county store" 0 \
	"$FERRY" usb export "$C" "$T/stick2" --for "$T/request.json"
if exact "$T/stick2" "$C" >"$T/exact.out" 2>&1; then ok "that stick also holds exactly what the school lacks: $(cat "$T/exact.out")"; else
	fail "the store's stick: $(cat "$T/exact.out")"
fi
check_exit "and a school importing it is up to date" 0 "$FERRY" usb import "$T/school-before" "$T/stick2"
"$FERRY" checkout "$T/school-before" book/philosophy "$T/site2" -q
check "with the newest tag's files" diff -r "$T/book" "$T/site2"

# A school subscribed to part of the book (its modules/ folder) gets only that part.
python3 - "$T/request.json" "$T/request-modules.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for c in d["channels"]:
    if c["name"] == "book/philosophy":
        c["paths"] = ["modules/"]
json.dump(d, open(sys.argv[2], "w"))
PY
check_exit "usb export --for a request narrowed to modules/" 0 \
	"$FERRY" usb export "$R" "$T/stick4" --for "$T/request-modules.json"
if exact "$T/stick4" "$R" "$T/request-modules.json" >"$T/exact.out" 2>&1; then
	ok "that stick holds exactly what the school lacks under modules/: $(cat "$T/exact.out")"
else
	fail "the narrowed stick: $(cat "$T/exact.out")"
fi
n4=$(find "$T/stick4/packs" -name '*.idx' -exec cat {} + | wc -c)
n1=$(find "$T/stick/packs" -name '*.idx' -exec cat {} + | wc -c)
[ "$n4" -lt "$n1" ] && ok "and less than the whole channel's" || fail "narrowed idx bytes $n4, whole $n1"

# A school that subscribes to modules/ only writes that into its request;
# the stick made for it carries that part, and the school installs it.
M=$T/school-modules
"$FERRY" store subscribe "$M" book/philosophy --only modules/ >/dev/null
mkdir -p "$T/stick5"
"$FERRY" usb request "$M" "$T/stick5" -q
grep -q '"paths":\["modules' "$T/stick5/ferry-request.json" && ok "a filtered school's request names its path filter" ||
	fail "request: $(cat "$T/stick5/ferry-request.json")"
check_exit "usb export --for that request" 0 "$FERRY" usb export "$R" "$T/stick5" --for "$T/stick5/ferry-request.json"
check_exit "the filtered school imports the stick" 0 "$FERRY" usb import "$M" "$T/stick5"
"$FERRY" checkout "$M" book/philosophy "$T/site5" -q
check "its checkout is the newest tag's modules/ and nothing else" diff -r "$T/book/modules" "$T/site5/modules"
[ "$(ls "$T/site5")" = modules ] && ok "(only modules/ is checked out)" || fail "checked out: $(ls "$T/site5")"
check "the filtered school's store verifies" "$FERRY" verify "$M"

# A school that lacks nothing: the export for it adds no content, and the
# import says the school is up to date.
mkdir -p "$T/stick6"
"$FERRY" usb request "$M" "$T/stick6" -q
check_exit "usb export --for a school that lacks nothing" 0 \
	"$FERRY" usb export "$R" "$T/stick6" --for "$T/stick6/ferry-request.json"
n6=$(find "$T/stick6/packs" -name '*.pack' | wc -l)
[ "$n6" = 0 ] && ok "that stick holds no pack" || fail "that stick holds $n6 packs"
check_exit "and importing it leaves the school up to date" 0 "$FERRY" usb import "$M" "$T/stick6"

# A request for another repository is refused.
make_key other
"$FERRY" repo init "$T/other-repo" --key "$T/other.pub" >/dev/null
"$FERRY" pack "$T/other-repo" art/pictures "$T/art" --key "$T/other" -q
"$FERRY" usb export "$T/other-repo" "$T/stick3" --for "$T/request.json" >"$T/o.out" 2>&1
rc=$?
[ "$rc" != 0 ] && grep -q 'another repository' "$T/o.out" && ok "a request for another repository is refused" ||
	fail "exit $rc: $(cat "$T/o.out")"
finish
