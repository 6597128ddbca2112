# pack_kill — SIGKILL `ferry pack` at random moments: after every kill the
# repository still verifies and still names the previous release, and the
# next run completes.
. "$(dirname "$0")/lib.sh"
make_key county
R=$T/repo
"$FERRY" repo init "$R" --key "$T/county.pub" >/dev/null
"$GEN" "$T/v0" --seed 7 --size 64M
"$GEN" "$T/v1" --seed 7 --size 64M --revision 3
"$FERRY" pack "$R" demo/all "$T/v0" --key "$T/county" -q
before=$(head -n 5 "$R/heads/demo/all")
bad=0 cut=0
for i in $(seq 1 12); do
	"$FERRY" pack "$R" demo/all "$T/v$((i % 2))" --key "$T/county" -q >/dev/null 2>&1 &
	pid=$!
	sleep "0.$((RANDOM % 4))$((RANDOM % 10))"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	[ $? = 137 ] && cut=$((cut + 1)) # killed while still running
	if ! "$FERRY" verify "$R" >"$T/v.out" 2>&1; then
		bad=$((bad + 1))
		sed 's/^/#   /' "$T/v.out" | head -n 5
	fi
	# Either the old head, or the new release complete: never anything else.
	if [ "$(head -n 5 "$R/heads/demo/all")" != "$before" ]; then
		"$FERRY" verify "$R" >/dev/null 2>&1 || bad=$((bad + 1))
	fi
done
[ "$bad" = 0 ] && ok "the repository verifies after each of 12 kills" || fail "$bad kills left it unsound"
[ "$cut" -ge 3 ] && ok "$cut of the kills cut a publish mid-way" || fail "only $cut kills landed mid-publish"
check "a run after the kills completes" "$FERRY" pack "$R" demo/all "$T/v1" --key "$T/county"
check "and verifies" "$FERRY" verify "$R"
finish
