# usb_exfat — a USB stick formatted exFAT, as Windows formats large sticks:
# an image made with mkfs.exfat, attached to a loop device and mounted with
# exfat-fuse, and ferry writing onto the mount itself (no staging copy).
# Export two channels onto it; an export SIGKILLed part-way leaves a stick
# that verifies and imports safely, and a re-run completes it; fsck.exfat
# finds the filesystem clean after unmounting; mounted again, the stick
# verifies, a school imports from it and checks out byte-identical files.
. "$(dirname "$0")/lib.sh"
MNT=$T/mnt
LOOP=
exfat_umount() {
	mountpoint -q "$MNT" 2>/dev/null && { fusermount -u "$MNT" 2>/dev/null || umount "$MNT"; }
	[ -n "$LOOP" ] && losetup -d "$LOOP" 2>/dev/null
	LOOP=
}
exfat_mount() {
	LOOP=$(losetup -f --show "$T/stick.img") && mkdir -p "$MNT" && mount.exfat-fuse "$LOOP" "$MNT" >/dev/null 2>&1
}
trap exfat_umount EXIT

make_key county
R=$T/repo
"$FERRY" repo init "$R" --key "$T/county.pub" >/dev/null
"$GEN" "$T/a" --seed 31 --size 24M >/dev/null
"$GEN" "$T/b" --seed 32 --size 6M >/dev/null
"$FERRY" pack "$R" all/video "$T/a" --key "$T/county" -q
"$FERRY" pack "$R" all/docs "$T/b" --key "$T/county" -q

truncate -s 96M "$T/stick.img"
check "mkfs.exfat makes the stick's filesystem" mkfs.exfat -L FERRY "$T/stick.img"
if ! exfat_mount; then
	fail "the exFAT image could not be mounted (loop device and exfat-fuse are needed)"
	finish
fi
mount | grep -q "$MNT type fuseblk" && ok "the image is mounted through exfat-fuse" ||
	fail "mount shows: $(mount | grep "$MNT")"

# A teacher pulls the stick part-way through: the export is killed.
"$FERRY" usb export "$R" "$MNT" -q >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 200); do # until the first pack is being written
	find "$MNT/packs" -name '*.tmp-*' 2>/dev/null | grep -q . && break
	find "$MNT/packs" -name '*.pack' 2>/dev/null | grep -q . && break
	sleep 0.02
done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
heads=$(find "$MNT/heads" -type f 2>/dev/null | wc -l)
[ "$heads" -lt 2 ] && ok "the kill cut the export before every head was written ($heads heads)" ||
	fail "the export finished before the kill ($heads heads)"
if [ -e "$MNT/ferry.json" ]; then
	check "the cut stick verifies" "$FERRY" verify "$MNT"
	"$FERRY" store init "$T/early" --trust "$T/county.pub" >/dev/null
	"$FERRY" usb import "$T/early" "$MNT" --channel all/video --channel all/docs >"$T/i.out" 2>&1
	rc=$?
	[ "$rc" = 0 ] || [ "$rc" = 3 ] && ok "a school importing from the cut stick exits $rc" ||
		fail "import from the cut stick exited $rc: $(tail -n 3 "$T/i.out")"
	check "and its store verifies" "$FERRY" verify "$T/early"
else
	ok "the cut stick holds no repository yet"
fi

check "a re-run completes the export onto exFAT" "$FERRY" usb export "$R" "$MNT" -q
ls "$MNT" >"$T/top.txt"
grep -qx README.txt "$T/top.txt" && grep -qx index.html "$T/top.txt" &&
	ok "the stick's top level has README.txt and index.html" || fail "top level: $(tr '\n' ' ' <"$T/top.txt")"
find "$MNT" -name '*.tmp-*' >"$T/tmp.txt"
[ -s "$T/tmp.txt" ] && fail "temporary files left: $(head -n 3 "$T/tmp.txt")" ||
	ok "no temporary file is left on the stick"
"$FERRY" usb export "$R" "$MNT" --json >"$T/again.json" 2>/dev/null
[ "$(json_field "$T/again.json" bytes_written)" = 0 ] && ok "a second export writes nothing new" ||
	fail "second export wrote $(json_field "$T/again.json" bytes_written) bytes"

# Pulled out, checked, plugged in at school.
exfat_umount
check "fsck.exfat finds the stick clean" fsck.exfat -n "$T/stick.img"
exfat_mount || fail "the stick could not be mounted again"
check "ferry verify accepts the stick" "$FERRY" verify "$MNT"
S=$T/school
"$FERRY" store init "$S" --trust "$T/county.pub" >/dev/null
check_exit "usb import from the exFAT stick" 0 "$FERRY" usb import "$S" "$MNT"
"$FERRY" checkout "$S" all/video "$T/site" -q
check "the video channel checks out byte-identical" diff -r "$T/a" "$T/site"
"$FERRY" checkout "$S" all/docs "$T/site-docs" -q
check "the docs channel checks out byte-identical" diff -r "$T/b" "$T/site-docs"
check "the school store verifies" "$FERRY" verify "$S"
exfat_umount
finish
