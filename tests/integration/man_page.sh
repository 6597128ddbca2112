# man_page — docs/ferry.1 renders without a groff warning and keeps up with
# the binary: every command and every option the usage lines print (ferry
# --help, and the sat subcommands' own usage) appears in the manual.
. "$(dirname "$0")/lib.sh"
MAN=$SRC/docs/ferry.1
if groff -man -Tascii -ww -z "$MAN" >"$T/warn" 2>&1 && [ ! -s "$T/warn" ]; then
	ok "groff renders it without a warning"
else
	fail "groff: $(head -n 3 "$T/warn")"
fi
groff -man -Tascii -P-cbou "$MAN" 2>/dev/null >"$T/man.txt"
{
	"$FERRY" --help 2>&1
	for s in send recv status; do "$FERRY" sat "$s" 2>&1; done
} >"$T/usage.txt"
# missing_from TEXT: the commands and options of the usage lines TEXT lacks.
missing_from() {
	local opt cmd
	for opt in $(grep -o -- '--[a-z][a-z-]*' "$T/usage.txt" | sort -u); do
		grep -q -- "$opt" "$1" || printf ' %s' "$opt"
	done
	for cmd in $(sed -n 's/^  ferry \([a-z]*\).*/\1/p' "$T/usage.txt" | sort -u); do
		grep -q "^ *$cmd\b\|ferry $cmd\b" "$1" || printf ' %s' "$cmd"
	done
}
missing=$(missing_from "$T/man.txt")
[ -z "$missing" ] && ok "every command and option of the usage lines is in the manual" ||
	fail "missing from docs/ferry.1:$missing"
# The check must be able to fail: a manual without --bwlimit is caught.
sed 's/bwlimit/bw_cap/g' "$T/man.txt" >"$T/cut.txt"
[ "$(missing_from "$T/cut.txt")" = " --bwlimit" ] && ok "a manual missing an option would be caught" ||
	fail "the check does not catch a missing --bwlimit: $(missing_from "$T/cut.txt")"
finish
