# sync_kill — power cuts during a sync: `ferry sync` is SIGKILLed at 30
# random moments; after every kill the store still verifies, and a final
# run completes with a byte-identical checkout.  (The bytes read across cut
# runs are counted by the HTTP tests, where nginx's access log sees them.)
. "$(dirname "$0")/lib.sh"
make_key county
R=$T/repo
"$FERRY" repo init "$R" --key "$T/county.pub" >/dev/null
"$GEN" "$T/src" --seed 11 --size "${FERRY_KILL_SIZE:-300M}"
"$FERRY" pack "$R" all/content "$T/src" --key "$T/county" -q

S=$T/school
"$FERRY" store init "$S" --trust "$T/county.pub" >/dev/null
bad=0 kills=0
for i in $(seq 1 30); do
	"$FERRY" sync "$S" --source "$R" --channel all/content -q >/dev/null 2>&1 &
	pid=$!
	sleep "0.$((RANDOM % 4))$((RANDOM % 10))"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	# A kill that counts is one that cut the release before it was installed.
	"$FERRY" status "$S" --json | grep -q '"installed":\[\]' && kills=$((kills + 1))
	if ! "$FERRY" verify "$S" >"$T/v.out" 2>&1; then
		bad=$((bad + 1))
		sed 's/^/#   /' "$T/v.out" | head -n 3
	fi
done
[ "$bad" = 0 ] && ok "the store verifies after each of 30 kills ($kills cut the sync before it completed)" ||
	fail "$bad of 30 kills left the store unsound"
# Kills that all land after the sync finished would test nothing.
[ "$kills" -ge 5 ] && ok "at least 5 kills cut the sync mid-way" || fail "only $kills kills cut the sync"
check "a final run completes" "$FERRY" sync "$S" --source "$R"
"$FERRY" checkout "$S" all/content "$T/site" -q
check "the checkout is byte-identical" diff -r "$T/src" "$T/site"
finish
