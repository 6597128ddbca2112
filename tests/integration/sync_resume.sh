# sync_resume — a pack adopted whole picks up where a cut run left it.
# A partial file as a killed run leaves it (the first 60% of a pack, cut
# mid-entry) makes the next run read only the rest of that pack from the
# source (counted with strace); a partial file damaged the way a power cut
# can damage it (a changed byte in the prefix) is caught by the pack's name,
# dropped, and the chunks are fetched again; both stores verify and check
# out byte-identical.
. "$(dirname "$0")/lib.sh"
if ! command -v strace >/dev/null; then
	fail "strace is needed to count the bytes read (tests/deps.sh installs it)"
	finish
fi
make_key county
R=$T/repo
"$FERRY" repo init "$R" --key "$T/county.pub" >/dev/null
"$GEN" "$T/src" --seed 21 --size 40M >/dev/null
"$FERRY" pack "$R" all/content "$T/src" --key "$T/county" -q
R=$(cd "$R" && pwd -P)
pack=$(find "$R/packs" -name '*.pack' -size +1M | head -n 1)
name=$(basename "$pack" .pack)
size=$(stat -c %s "$pack")

# Bytes returned by reads of one file, from an strace log.
bytes_of() { # log file
	awk -v f="$2" '
	function add(l) { if (match(l, /\) += [0-9]+/)) sum += substr(l, RSTART + 4, RLENGTH - 4) + 0 }
	{
		if (index($0, " resumed>")) { if ($1 in pend) { add($0); delete pend[$1] } next }
		if (!index($0, "<" f ">")) next
		if (index($0, "<unfinished ...>")) { pend[$1] = 1; next }
		add($0)
	}
	END { printf "%d\n", sum }' "$1"
}
partial() { # store: the first 60% of the pack as a cut run leaves it
	mkdir -p "$1/local/partial/${name:0:2}"
	head -c $((size * 6 / 10)) "$pack" >"$1/local/partial/${name:0:2}/$name.pack"
}

S=$T/school
"$FERRY" store init "$S" --trust "$T/county.pub" >/dev/null
partial "$S"
ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 strace -f -qq -y -s 1 -e trace=read,pread64 \
	-e signal=none -o "$T/resume.st" "$FERRY" sync "$S" --source "$R" --channel all/content -q \
	>"$T/last.out" 2>&1 && ok "a run resumes a partial pack" || {
	fail "a run resumes a partial pack"
	sed 's/^/#   /' "$T/last.out" | tail -n 5
}
read_back=$(bytes_of "$T/resume.st" "$pack")
limit=$((size * 4 / 10 + (512 << 10)))
[ "$read_back" -le "$limit" ] && [ "$read_back" -gt 0 ] &&
	ok "it read $read_back of the pack's $size bytes from the source (at most $limit)" ||
	fail "it read $read_back of the pack's $size bytes from the source (wanted 1..$limit)"
[ ! -e "$S/local/partial/${name:0:2}/$name.pack" ] && ok "the partial file became the pack" ||
	fail "the partial file is still there"
check "the store verifies" "$FERRY" verify "$S"
"$FERRY" checkout "$S" all/content "$T/site" -q
check "the checkout is byte-identical" diff -r "$T/src" "$T/site"

S2=$T/school2
"$FERRY" store init "$S2" --trust "$T/county.pub" >/dev/null
partial "$S2"
f=$S2/local/partial/${name:0:2}/$name.pack
printf '\x5a' | dd of="$f" bs=1 seek=$((size / 3)) conv=notrunc status=none
check "a damaged partial pack is dropped and fetched again" \
	"$FERRY" sync "$S2" --source "$R" --channel all/content
grep -q "fetched again" "$T/last.out" && ok "the run says it fetched the pack again" ||
	fail "no word of the damaged partial file"
check "that store verifies" "$FERRY" verify "$S2"
"$FERRY" checkout "$S2" all/content "$T/site2" -q
check "its checkout is byte-identical" diff -r "$T/src" "$T/site2"
finish
