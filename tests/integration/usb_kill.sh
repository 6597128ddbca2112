# usb_kill — sticks pulled mid-export: `ferry usb export` is SIGKILLed at
# random moments.  After every kill the stick is either still empty or a
# smaller valid repository: `ferry verify` accepts it and a school importing
# from it installs what is complete (exit 0 or 3, never an error), with a
# store that verifies.  A final run completes the stick, which then equals
# an uncut export, and the school checks out byte-identical files.
. "$(dirname "$0")/lib.sh"
make_key county
R=$T/repo
"$FERRY" repo init "$R" --key "$T/county.pub" >/dev/null
"$GEN" "$T/a" --seed 21 --size "${FERRY_USB_KILL_SIZE:-64M}" >/dev/null
"$GEN" "$T/b" --seed 22 --size 16M >/dev/null
"$FERRY" pack "$R" all/video "$T/a" --key "$T/county" -q
"$FERRY" pack "$R" all/docs "$T/b" --key "$T/county" -q

start=$(date +%s%N)
check "an uncut export" "$FERRY" usb export "$R" "$T/whole" -q
ms=$((($(date +%s%N) - start) / 1000000))
[ "$ms" -lt 100 ] && ms=100

# Sticks pulled right after their first files: readable, no head yet (one
# with ferry.json and its signature, one cut between the two).  The teacher
# is told to copy again (exit 3), not that the stick cannot be read.
"$FERRY" store init "$T/early-school" --trust "$T/county.pub" >/dev/null
mkdir -p "$T/early" "$T/early-nosig"
cp "$T/whole/ferry.json" "$T/whole/ferry.json.sig" "$T/early/"
cp "$T/whole/ferry.json" "$T/early-nosig/"
for e in early early-nosig; do
	check_exit "a stick cut before its first head ($e): import exits 3" 3 \
		"$FERRY" usb import "$T/early-school" "$T/$e" --channel all/video
	cp "$T/last.out" "$T/$e.out"
	check "and tells the teacher to copy it again" grep -q "again at the county center" "$T/$e.out"
done

bad=0 cut=0 kills=10
for i in $(seq 1 $kills); do
	# Most kills hit a fresh stick; every third one a stick cut before.
	[ $((i % 3)) = 0 ] || rm -rf "$T/cut"
	"$FERRY" usb export "$R" "$T/cut" -q >/dev/null 2>&1 &
	pid=$!
	d=$((RANDOM % (ms * 6 / 10) + 10)) # ms; computed in the shell, which starts no program
	sleep "$((d / 1000)).$(printf %03d $((d % 1000)))"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	nheads=$(find "$T/cut/heads" -type f 2>/dev/null | wc -l)
	[ "$nheads" -lt 2 ] && cut=$((cut + 1))
	echo "#   kill $i: $nheads heads on the stick" >>"$T/kills.log"
	[ -e "$T/cut/ferry.json" ] || continue # pulled before the first file
	if ! "$FERRY" verify "$T/cut" >"$T/v.out" 2>&1; then
		bad=$((bad + 1))
		echo "#   kill $i: verify failed"
		sed 's/^/#   /' "$T/v.out" | head -n 3
		continue
	fi
	S=$T/school-$i
	"$FERRY" store init "$S" --trust "$T/county.pub" >/dev/null
	"$FERRY" usb import "$S" "$T/cut" --channel all/video --channel all/docs >"$T/i.out" 2>&1
	rc=$?
	if { [ "$rc" != 0 ] && [ "$rc" != 3 ]; } || ! "$FERRY" verify "$S" >"$T/v.out" 2>&1; then
		bad=$((bad + 1))
		echo "#   kill $i: import exit $rc"
		sed 's/^/#   /' "$T/i.out" "$T/v.out" | tail -n 4
	fi
	rm -rf "$S"
done
[ "$bad" = 0 ] && ok "after each of $kills kills the stick verifies and an import from it is safe" ||
	fail "$bad of $kills kills left a stick that is unsound or unsafe to import"
[ "$cut" -ge 3 ] && ok "$cut kills cut the export before every head was written" ||
	fail "only $cut kills landed mid-export (export takes $ms ms)"

"$FERRY" usb export "$R" "$T/cut" -q >/dev/null 2>&1 &
pid=$!
d=$((ms / 2))
sleep "$((d / 1000)).$(printf %03d $((d % 1000)))"
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
# What a kill can leave at any depth, planted so the sweep is always tried.
xx=$(find "$T/whole/packs" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | head -n 1)
mkdir -p "$T/cut/heads/all" "$T/cut/packs/$xx"
echo torn >"$T/cut/heads/all/docs.tmp-0123456789ab"
echo torn >"$T/cut/packs/$xx/x.pack.tmp-0123456789ab"
check "a final run completes the stick" "$FERRY" usb export "$R" "$T/cut" -q
check "which then holds what an uncut export holds (no temporary left anywhere)" diff -r -x README.txt -x index.html "$T/whole" "$T/cut"
S=$T/school
"$FERRY" store init "$S" --trust "$T/county.pub" >/dev/null
check_exit "a school imports the completed stick" 0 "$FERRY" usb import "$S" "$T/cut"
"$FERRY" checkout "$S" all/video "$T/site" -q
check "and checks out byte-identical files" diff -r "$T/a" "$T/site"

# The same with --for: new packs holding just what a school lacks (here a
# school that has only all/docs asks for all/video too), cut while they are
# written; the school imports safely from every cut stick.
D=$T/docs-school
"$FERRY" store init "$D" --trust "$T/county.pub" >/dev/null
"$FERRY" sync "$D" --source "$R" --channel all/docs -q
mkdir -p "$T/req" && "$FERRY" usb request "$D" "$T/req" -q
start=$(date +%s%N)
"$FERRY" usb export "$R" "$T/for-whole" --channel all/video --channel all/docs --for "$T/req/ferry-request.json" -q
ms=$((($(date +%s%N) - start) / 1000000))
[ "$ms" -lt 100 ] && ms=100
bad=0 cut=0
for i in 1 2 3 4 5; do
	[ "$i" = 3 ] || rm -rf "$T/for"
	"$FERRY" usb export "$R" "$T/for" --channel all/video --channel all/docs \
		--for "$T/req/ferry-request.json" -q >/dev/null 2>&1 &
	pid=$!
	d=$((RANDOM % (ms * 6 / 10) + 10))
	sleep "$((d / 1000)).$(printf %03d $((d % 1000)))"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	[ -e "$T/for/heads/all/video" ] || cut=$((cut + 1))
	[ -e "$T/for/ferry.json" ] || continue
	rm -rf "$T/d2" && cp -r "$D" "$T/d2"
	"$FERRY" usb import "$T/d2" "$T/for" --channel all/video >"$T/i.out" 2>&1
	rc=$?
	if { [ "$rc" != 0 ] && [ "$rc" != 3 ]; } || ! "$FERRY" verify "$T/d2" >"$T/v.out" 2>&1; then
		bad=$((bad + 1))
		echo "#   --for kill $i: import exit $rc"
		sed 's/^/#   /' "$T/i.out" "$T/v.out" | tail -n 4
	fi
done
[ "$bad" = 0 ] && ok "after each of 5 kills of an export --for, a school imports from the stick safely" ||
	fail "$bad of 5 kills of an export --for left a stick unsafe to import"
[ "$cut" -ge 2 ] && ok "$cut of them cut the export before the video's head" || fail "only $cut kills landed mid-export ($ms ms)"
check "a re-run completes the --for stick" "$FERRY" usb export "$R" "$T/for" --channel all/video \
	--channel all/docs --for "$T/req/ferry-request.json" -q
check_exit "the school imports the video from it" 0 "$FERRY" usb import "$D" "$T/for" --channel all/video
"$FERRY" checkout "$D" all/video "$T/site-d" -q
check "byte-identical" diff -r "$T/a" "$T/site-d"
finish
