# usb_bitflip — a stick with flipped bits.  Bits are flipped inside a pack
# on the FAT32 image itself; the import installs the channel that is sound,
# takes every sound chunk of the damaged pack too, reports the rest in
# words, exits 3 and leaves a store that verifies; a good copy of the stick
# then completes it.  A head changed on the stick is refused (exit 4).
. "$(dirname "$0")/lib.sh"
make_key county
R=$T/repo
"$FERRY" repo init "$R" --key "$T/county.pub" >/dev/null
"$GEN" "$T/video" --seed 31 --size 24M >/dev/null
"$GEN" "$T/docs" --seed 32 --size 6M >/dev/null
"$FERRY" pack "$R" all/video "$T/video" --key "$T/county" -q
"$FERRY" pack "$R" all/docs "$T/docs" --key "$T/county" -q
"$FERRY" usb export "$R" "$T/stage" -q
fat_image "$T/stick.img" 96
fat_put "$T/stick.img" "$T/stage"

# Find a video pack's bytes inside the image and flip one bit in two places.
video_commit=$(sed -n 's/^commit //p' "$R/heads/all/video")
pack=$(git --git-dir="$R/manifests.git" show "$video_commit:meta/packs" | head -n 1 | cut -d' ' -f1)
pack=$(find "$T/stage/packs" -name "$pack.pack")
python3 - "$T/stick.img" "$pack" <<'PY' && ok "flipped two bits of $(basename "$pack") on the image" || fail "could not find the pack on the image"
import sys
img, pack = sys.argv[1:]
p = open(pack, "rb").read()
with open(img, "r+b") as f:
    data = f.read()
    for off in (len(p) // 3, 2 * len(p) // 3):
        at = data.find(p[off:off + 64])
        if at < 0:
            sys.exit(1)
        f.seek(at + 10)
        b = f.read(1)
        f.seek(at + 10)
        f.write(bytes([b[0] ^ 0x04]))
PY
fat_get "$T/stick.img" "$T/back"
cmp -s "$pack" "$T/back/packs/${pack#"$T/stage/packs/"}" && fail "the pack read back is unchanged" ||
	ok "the pack read back from the image differs"

S=$T/school
"$FERRY" store init "$S" --trust "$T/county.pub" >/dev/null
check_exit "the import of the damaged stick ends partial" 3 "$FERRY" usb import "$S" "$T/back"
grep -q 'damaged' "$T/last.out" && grep -q 'county center' "$T/last.out" &&
	ok "and says what was damaged and what to do" || fail "import said: $(tail -n 5 "$T/last.out")"
grep -q 'installed.*all/docs' "$T/last.out" && ok "the sound channel was installed" ||
	fail "import said: $(tail -n 5 "$T/last.out")"
check "the store verifies" "$FERRY" verify "$S"
"$FERRY" status "$S" --json >"$T/st.json"
python3 - "$T/st.json" "$R" <<'PY' && ok "every sound chunk was taken: $(cat "$T/left")" || fail "status: $(cat "$T/st.json")"
import json, sys
d = json.load(open(sys.argv[1]))
p = [x for x in d["pending"] if x["channel"] == "all/video"][0]
open(sys.argv[2] + "/../left", "w").write(f'{p["bytes_missing"]} of {p["bytes_total"]} bytes still missing')
# Two flipped bits spoil at most two chunks (each at most 256 KiB + header).
sys.exit(0 if 0 < p["bytes_missing"] <= 2 * (256 << 10) + 4096 else 1)
PY
check_exit "a good copy of the stick completes the import" 0 "$FERRY" usb import "$S" "$T/stage"
"$FERRY" checkout "$S" all/video "$T/site" -q
check "and the checkout is byte-identical" diff -r "$T/video" "$T/site"

# A head changed on the stick: signed data does not verify.
cp -r "$T/stage" "$T/forged"
sed -i 's/^files \([0-9]*\)/files 9\1/' "$T/forged/heads/all/docs"
"$FERRY" store init "$T/school2" --trust "$T/county.pub" >/dev/null
check_exit "a stick with a changed head is refused" 4 "$FERRY" usb import "$T/school2" "$T/forged" --channel all/docs
grep -q 'not signed by your county' "$T/last.out" && ok "with a sentence saying so" ||
	fail "import said: $(tail -n 3 "$T/last.out")"

# A stick that lost its release history: nothing of it can be used.
cp -r "$T/stage" "$T/nogit" && rm -rf "$T/nogit/manifests.git"
"$FERRY" store init "$T/school3" --trust "$T/county.pub" >/dev/null
check_exit "a stick without manifests.git ends partial, not done" 3 "$FERRY" usb import "$T/school3" "$T/nogit"
grep -qi 'copy the stick again' "$T/last.out" && ! grep -q 'Done' "$T/last.out" &&
	ok "and tells the teacher to copy it again" || fail "import said: $(tail -n 3 "$T/last.out")"
finish
