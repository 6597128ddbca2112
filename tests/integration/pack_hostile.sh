# pack_hostile — a publisher's mistakes and a damaged repository: every
# single-byte corruption of a pack, index, git object or head makes verify
# fail with exit 4; symlinks are skipped (refused with --strict); a key the
# repository does not trust, a bad channel name and a second publisher are
# refused with one clear line.
. "$(dirname "$0")/lib.sh"
make_key county
make_key stranger
R=$T/repo
"$FERRY" repo init "$R" --key "$T/county.pub" >/dev/null
mkdir -p "$T/src/七年级/数学/第一章 有理数" "$T/src/བོད་ཡིག" "$T/src/ئۇيغۇر تىلى"
head -c 3000000 /dev/urandom >"$T/src/七年级/数学/第一章 有理数/1.1 正数和负数.mp4"
seq 1 200000 >"$T/src/བོད་ཡིག/ཀ་ཁ.txt"
seq 5 90000 >"$T/src/ئۇيغۇر تىلى/دەرس 1.html"
: >"$T/src/empty.txt"
ln -s /etc/passwd "$T/src/link"
check "pack skips a symlink" "$FERRY" pack "$R" grade7/math "$T/src" --key "$T/county"
grep -q 'skipped link: symbolic link' "$T/last.out" && ok "the skip is reported" || fail "no skip line"
check_exit "--strict refuses the symlink" 1 "$FERRY" pack "$R" grade7/math "$T/src" --key "$T/county" --strict
check_exit "an untrusted key is refused" 4 "$FERRY" pack "$R" grade7/math "$T/src" --key "$T/stranger"
check_exit "a bad channel name is refused" 1 "$FERRY" pack "$R" "Grade7/../x" "$T/src" --key "$T/county"
# A second publisher while the first holds the lock.
flock "$R/local/lock" sleep 3 &
sleep 0.5
check_exit "a second publisher exits with a clear message" 1 \
	"$FERRY" pack "$R" grade7/math "$T/src" --key "$T/county"
grep -q 'another ferry pack is publishing' "$T/last.out" && ok "the message says why" || fail "unclear lock message"
check "--wait waits for the lock" "$FERRY" pack "$R" grade7/math "$T/src" --key "$T/county" --wait
wait
check "the repository verifies" "$FERRY" verify "$R"

flip() { # file offset: xor one byte
	python3 -c 'import sys
p,o=sys.argv[1],int(sys.argv[2])
with open(p,"r+b") as f:
    f.seek(o); b=f.read(1); f.seek(o); f.write(bytes([b[0]^0x5a]))' "$1" "$2"
}
corrupt_each() { # label file: flip bytes at several offsets, expect exit 4 each time
	local label=$1 f=$2 size off
	size=$(stat -c %s "$f")
	for off in 0 $((size / 3)) $((size / 2)) $((size - 40)) $((size - 1)); do
		cp "$f" "$T/saved"
		flip "$f" "$off"
		check_exit "verify catches a flipped byte at $off of the $label" 4 "$FERRY" verify "$R"
		cp "$T/saved" "$f"
	done
}
pack=$(find "$R/packs" -name '*.pack' | head -n 1)
corrupt_each pack "$pack"
corrupt_each index "${pack%.pack}.idx"
corrupt_each "git packfile" "$(find "$R/manifests.git/objects/pack" -name '*.pack' | head -n 1)"
corrupt_each head "$R/heads/grade7/math"
check "the restored repository verifies again" "$FERRY" verify "$R"
finish
