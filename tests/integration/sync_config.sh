# sync_config — the nightly run is plain `ferry sync`: ferry.conf names the
# store, sources (by priority), subscriptions and run control; command-line
# options override it; mistakes are refused with the file and line; the
# example in contrib/ parses; the systemd units in contrib/ pass
# `systemd-analyze verify` (skipped, visibly, where it is missing).
. "$(dirname "$0")/lib.sh"
export TZ=UTC
make_key county
R=$T/repo
"$FERRY" repo init "$R" --key "$T/county.pub" >/dev/null
"$GEN" "$T/src" --seed 5 --size 3M
"$FERRY" pack "$R" all/content "$T/src" --key "$T/county" -q
S=$T/school
"$FERRY" store init "$S" --trust "$T/county.pub" >/dev/null
mkdir -p "$T/empty"

# The first source (priority 5) is an empty folder: not a repository, so
# the run must go on to the second.
cat >"$T/ferry.conf" <<CONF
# test school
store = $S
source = 90 $R
source = 5 $T/empty
subscribe = all/content
bwlimit = 1G
window = 00:00-23:59
CONF
FERRY_CONFIG=$T/ferry.conf check "plain ferry sync with FERRY_CONFIG completes" "$FERRY" sync
grep -q "start: 1 channel from 2 sources" "$T/last.out" &&
	grep -q "release 1 from $R" "$T/last.out" &&
	ok "it used the configured sources and subscription" ||
	fail "the log does not show the configured sources: $(head -c 300 "$T/last.out")"
"$FERRY" checkout "$S" all/content "$T/site" -q
check "the checkout is byte-identical" diff -r "$T/src" "$T/site"

# A window in the file: outside it the run exits 3; --window overrides it.
sed -i 's/^window = .*/window = 22:00-06:00/' "$T/ferry.conf"
FERRY_NOW=2026-11-29T12:00 check_exit "outside the configured window: exit 3" 3 \
	"$FERRY" sync --config "$T/ferry.conf"
grep -q "outside the window 22:00-06:00" "$T/last.out" && ok "and it says so" ||
	fail "no line about the window: $(cat "$T/last.out")"
FERRY_NOW=2026-11-29T12:00 "$FERRY" sync --config "$T/ferry.conf" --json >"$T/nw.json" 2>/dev/null
[ "$(json_field "$T/nw.json" not_started 2>/dev/null)" = \
	"outside the window 22:00-06:00 (it opens at 2026-11-29 22:00); nothing done" ] &&
	ok "with --json, one document says why" || fail "--json outside the window: $(cat "$T/nw.json")"
FERRY_NOW=2026-11-29T12:00 check "--window on the command line overrides the file" \
	"$FERRY" sync --config "$T/ferry.conf" --window 11:00-13:00
check_exit "--deadline already past: exit 3" 3 "$FERRY" sync --config "$T/ferry.conf" \
	--window 00:00-23:59 --deadline 2020-01-01T00:00Z

# A path on a subscribe line narrows the channel in the store: a fresh
# school configured for one folder gets that folder and nothing else.
S2=$T/school2
"$FERRY" store init "$S2" --trust "$T/county.pub" >/dev/null
top=$(cd "$T/src" && find . -mindepth 1 -maxdepth 1 -type d | sort | head -n 1 | cut -c3-)
printf 'store = %s\nsource = 10 %s\nsubscribe = all/content %s\n' "$S2" "$R" "$top" \
	>"$T/narrow.conf"
check "a configured path filter syncs" "$FERRY" sync --config "$T/narrow.conf"
"$FERRY" checkout "$S2" all/content "$T/site2" -q
check "its checkout is that folder, byte-identical" diff -r "$T/src/$top" "$T/site2/$top"
[ "$(ls "$T/site2")" = "$top" ] && ok "and nothing else" ||
	fail "the narrowed checkout holds: $(ls "$T/site2" | head -n 5 | tr '\n' ' ')"

# Mistakes are named with the file and line.
printf 'store = %s\nsource = 10 %s\nbwlimit = 2 mbit\n' "$S" "$R" >"$T/bad.conf"
check_exit "a bad rate is a usage error" 2 "$FERRY" sync --config "$T/bad.conf"
grep -q "bad.conf:3: bwlimit \"2 mbit\" is not a rate" "$T/last.out" && ok "naming bad.conf:3" ||
	fail "the bad rate is not named with its line: $(head -n 1 "$T/last.out")"
printf 'store = %s\n\nsubscribe = all/content\nwindow = 25:00-01:00\n' "$S" >"$T/bad2.conf"
check_exit "a bad window is refused" 1 "$FERRY" sync --config "$T/bad2.conf"
grep -q "bad2.conf:4: window" "$T/last.out" && ok "naming bad2.conf:4" ||
	fail "the bad window is not named with its line: $(head -n 1 "$T/last.out")"
check_exit "a named configuration that is missing is an error" 1 \
	"$FERRY" sync --config "$T/nope.conf"
check_exit "no store anywhere is a usage error" 2 env FERRY_CONFIG= "$FERRY" sync --source "$R"

# The shipped example parses (its store does not exist here: the run must
# fail on the store, not on the file).
"$FERRY" sync --config "$SRC/contrib/ferry.conf.example" --dry-run >"$T/ex.out" 2>&1
if grep -q "ferry.conf.example:" "$T/ex.out" || ! grep -q "/var/lib/ferry" "$T/ex.out"; then
	fail "contrib/ferry.conf.example: $(head -n 1 "$T/ex.out")"
else
	ok "contrib/ferry.conf.example parses"
fi

# systemd units: verified with the built ferry in place of /usr/local/bin.
if command -v systemd-analyze >/dev/null 2>&1; then
	mkdir -p "$T/units"
	sed "s#/usr/local/bin/ferry#$FERRY#" "$SRC/contrib/systemd/ferry-sync.service" \
		>"$T/units/ferry-sync.service"
	cp "$SRC/contrib/systemd/ferry-sync.timer" "$T/units/"
	(cd "$T/units" && check "systemd-analyze verify accepts the service and timer" \
		systemd-analyze verify --man=no ./ferry-sync.service ./ferry-sync.timer)
	bad_unit() { # a broken copy must be refused, or the check above proves nothing
		sed 's/^OnCalendar=.*/OnCalendar=every full moon/' "$T/units/ferry-sync.timer" \
			>"$T/units/broken.timer"
		cp "$T/units/ferry-sync.service" "$T/units/broken.service"
		cd "$T/units" && ! systemd-analyze verify --man=no ./broken.timer >/dev/null 2>&1
	}
	check "and refuses a broken timer" bad_unit
else
	echo "# skip integration/$TEST: systemd-analyze is not installed; units not verified"
fi
check "the cron line has five time fields and runs ferry sync" \
	grep -Eq '^[0-9*]+ [0-9*]+ \* \* \* root .*ferry sync' "$SRC/contrib/cron/ferry-sync"
finish
