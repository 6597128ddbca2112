# usb_fat — a USB stick on a real FAT32 image (mkfs.vfat, written and read
# back with mtools): export two channels, copy onto the image, read it back,
# verify, import into a school and check out byte-identical files; the
# readable top level (README.txt with BOM and CRLF, index.html); a second
# export adds nothing; a new release adds only its part; names FAT cannot
# hold are refused with a sentence; --max-size keeps the newest channel and
# says what it left out.
. "$(dirname "$0")/lib.sh"
make_key county
R=$T/repo
"$FERRY" repo init "$R" --key "$T/county.pub" >/dev/null
corpus_ready || finish
set -- $(corpus_tags)
for tag in "$1" "$2" "$3"; do
	rm -rf "$T/book" && corpus_tree "$tag" "$T/book"
	"$FERRY" pack "$R" book/philosophy "$T/book" --key "$T/county" -q || fail "pack $tag"
done
"$GEN" "$T/art" --seed 5 --size 6M >/dev/null
"$FERRY" pack "$R" art/pictures "$T/art" --key "$T/county" -q || fail "pack art"

# Export, onto the image, and back.
check "usb export of every channel" "$FERRY" usb export "$R" "$T/stage"
fat_image "$T/stick.img" 128
check "the export copies onto a FAT32 image" fat_put "$T/stick.img" "$T/stage"
mdir -/ -i "$T/stick.img" ::/packs >"$T/mdir.out" 2>&1 && grep -q '\.pack' "$T/mdir.out" &&
	ok "mdir lists the packs on the image" || fail "mdir: $(head -n 5 "$T/mdir.out")"
check "the image reads back" fat_get "$T/stick.img" "$T/back"
check "what was read back is what was written" diff -r "$T/stage" "$T/back"
check "ferry verify accepts the stick" "$FERRY" verify "$T/back"

[ "$(head -c 3 "$T/back/README.txt" | od -An -tx1 | tr -d ' ')" = efbbbf ] &&
	ok "README.txt starts with a UTF-8 byte-order mark" || fail "README.txt has no BOM"
lf=$(tr -cd '\n' <"$T/back/README.txt" | wc -c)
crlf=$(grep -c $'\r$' "$T/back/README.txt")
[ "$lf" -gt 5 ] && [ "$lf" = "$crlf" ] && ok "README.txt has CRLF line ends only" ||
	fail "README.txt: $lf lines, $crlf end in CRLF"
grep -q '县中心' "$T/back/README.txt" && grep -q 'county center' "$T/back/README.txt" &&
	ok "README.txt speaks Chinese and English" || fail "README.txt text"
grep -q 'book/philosophy' "$T/back/index.html" && grep -q 'art/pictures' "$T/back/index.html" &&
	grep -q 'usb import' "$T/back/index.html" &&
	ok "index.html lists the channels and what to do at school" || fail "index.html"

# At school.
S=$T/school
"$FERRY" store init "$S" --trust "$T/county.pub" >/dev/null
check_exit "usb import from the stick" 0 "$FERRY" usb import "$S" "$T/back"
grep -q 'Done' "$T/last.out" && ok "the import ends with a sentence a teacher understands" ||
	fail "import said: $(tail -n 3 "$T/last.out")"
"$FERRY" checkout "$S" book/philosophy "$T/site" -q
check "the book checks out byte-identical to $3" diff -r "$T/book" "$T/site"
"$FERRY" checkout "$S" art/pictures "$T/site-art" -q
check "the art channel checks out byte-identical" diff -r "$T/art" "$T/site-art"
check "the school store verifies" "$FERRY" verify "$S"

# Again onto the same stick: nothing to add.
"$FERRY" usb export "$R" "$T/back" --json >"$T/again.json" 2>"$T/again.err"
[ "$(json_field "$T/again.json" bytes_written)" = 0 ] && ok "a second export writes nothing new" ||
	fail "second export wrote $(json_field "$T/again.json" bytes_written) bytes"

# A new release: only its part is added.
rm -rf "$T/book" && corpus_tree "$4" "$T/book"
"$FERRY" pack "$R" book/philosophy "$T/book" --key "$T/county" -q
full=$(du -sb "$T/back/packs" | cut -f1)
"$FERRY" usb export "$R" "$T/back" --json >"$T/inc.json" 2>/dev/null
w=$(json_field "$T/inc.json" bytes_written)
[ "$w" -gt 0 ] && [ "$w" -lt "$full" ] && ok "a new release adds $w bytes, less than the $full already there" ||
	fail "incremental export wrote $w bytes (stick had $full)"
check "the grown stick copies onto the image again" fat_put "$T/stick.img" "$T/back"
rm -rf "$T/back2" && fat_get "$T/stick.img" "$T/back2"
check_exit "the school imports the new release from the image" 0 "$FERRY" usb import "$S" "$T/back2"
"$FERRY" checkout "$S" book/philosophy "$T/site" -q
check "and checks out $4 byte-identical" diff -r "$T/book" "$T/site"

# Names FAT cannot hold.
"$FERRY" usb export "$R" "$T/names" --channel 'book:philosophy' >"$T/name.out" 2>&1
rc=$?
[ "$rc" != 0 ] && grep -q 'cannot be written to a USB stick' "$T/name.out" && [ ! -e "$T/names" ] &&
	ok "a channel name with ':' is refused with a sentence, before anything is written" ||
	fail "exit $rc: $(cat "$T/name.out")"
cp -r "$R" "$T/odd"
: >"$T/odd/manifests.git/info/what?"
"$FERRY" usb export "$T/odd" "$T/odd-stick" >"$T/odd.out" 2>&1
rc=$?
[ "$rc" != 0 ] && grep -q "what?.*cannot be written to a USB stick" "$T/odd.out" && [ ! -e "$T/odd-stick/heads" ] &&
	ok "a file name with '?' is refused, naming the file, and no head is written" ||
	fail "exit $rc: $(cat "$T/odd.out")"
rm -f "$T/odd/manifests.git/info/what?"
cp "$T/odd/manifests.git/info/refs" "$T/odd/manifests.git/info/REFS"
"$FERRY" usb export "$T/odd" "$T/odd-stick2" >"$T/odd.out" 2>&1
rc=$?
[ "$rc" != 0 ] && grep -q 'upper from lower case' "$T/odd.out" &&
	ok "names that differ only in case are refused" || fail "exit $rc: $(cat "$T/odd.out")"

# --max-size: the newest release (the book's, published last) first, and a
# sentence for what was left out.
"$FERRY" usb export "$R" "$T/small" --json >"$T/full.json" 2>/dev/null
book=$(python3 -c 'import json,sys; print([c["bytes"] for c in json.load(open(sys.argv[1]))["channels"] if c["channel"]=="book/philosophy"][0])' "$T/full.json")
meta=$(find "$R/manifests.git" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
limit=$((meta + 65536 + book + 100000))
rm -rf "$T/small"
"$FERRY" usb export "$R" "$T/small" --max-size "$limit" >"$T/max.out" 2>&1
rc=$?
[ "$rc" = 3 ] && grep -q 'book/philosophy.*is on the stick' "$T/max.out" &&
	grep -q 'art/pictures.*NOT on the stick.*max-size' "$T/max.out" &&
	ok "--max-size $limit keeps the newest release and says what it left out" ||
	fail "exit $rc: $(cat "$T/max.out")"
used=$(find "$T/small" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
[ "$used" -le "$limit" ] && ok "and the stick holds at most that ($used bytes)" ||
	fail "stick holds $used bytes, over $limit"
check "the cut stick verifies" "$FERRY" verify "$T/small"
"$FERRY" store init "$T/school-small" --trust "$T/county.pub" >/dev/null
"$FERRY" usb import "$T/school-small" "$T/small" >"$T/imp.out" 2>&1
"$FERRY" status "$T/school-small" --json >"$T/st.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if [c["channel"] for c in d["installed"]]==["book/philosophy"] else 1)' "$T/st.json" &&
	ok "a school installs the channel that fit from the cut stick" || fail "status: $(cat "$T/st.json") $(cat "$T/imp.out")"
finish
