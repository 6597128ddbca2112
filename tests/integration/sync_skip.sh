# sync_skip — a school that skips releases downloads each manifest git pack
# once: the county packs nine releases, the school synced the first over
# HTTP and then jumps to the last.  The packs are listed in no particular
# order and a release's pack refers to objects of earlier ones, so some
# cannot import until another has; nginx's access log must show every
# missing pack fetched exactly once (body bytes equal to the packs' sizes),
# none the school had, and the checkout equal to the last release.  Where
# the school holds the release a pack is made against it fetches the thin
# version (manifests/thin.h) instead; a broken or missing thin pack falls
# back to the full one.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/servers.sh"
export FERRY_SERVERS_OWNER=$$ FERRY_SERVERS_DIR=$T/srv
trap 'servers_stop "$T/srv"' EXIT
make_key county
R=$T/repo S=$T/school G=$R/manifests.git/objects/pack
"$FERRY" repo init "$R" --key "$T/county.pub" >/dev/null
"$FERRY" store init "$S" --trust "$T/county.pub" >/dev/null
release() { # revision
	rm -rf "$T/tree" && "$GEN" "$T/tree" --seed 7 --size 2M --revision "$1" >/dev/null &&
		"$FERRY" pack "$R" book/skip "$T/tree" --key "$T/county" -q || fail "pack revision $1"
}
release 0
if ! servers_nginx_start "$R" >/dev/null; then
	fail "nginx starts"
	finish
fi
LOG=$FERRY_NGINX_LOG URL=http://127.0.0.1:$FERRY_HTTP_PORT
check "the school syncs the first release" "$FERRY" sync "$S" --source "$URL" --channel book/skip -q
(cd "$G" && ls -- *.pack) | sort >"$T/had"
for r in 1 2 3 4 5 6 7 8; do release "$r"; done
(cd "$G" && ls -- *.pack) | sort >"$T/all"
comm -13 "$T/had" "$T/all" >"$T/missing"
[ "$(wc -l <"$T/missing")" -ge 8 ] && ok "$(wc -l <"$T/missing") manifest packs published since" ||
	fail "only $(wc -l <"$T/missing") new manifest packs"
mark=$(wc -l <"$LOG")
rm -rf "$T/site"
if "$FERRY" sync "$S" --source "$URL" --channel book/skip -q 2>"$T/sync.err" &&
	"$FERRY" checkout "$S" book/skip "$T/site" -q && diff -r "$T/tree" "$T/site" >/dev/null; then
	ok "eight releases skipped: checkout equals the last"
else
	fail "eight releases skipped: $(tail -n 2 "$T/sync.err")"
fi
# Per release pack the school fetched (full or thin, manifests/thin.h):
# GETs and body bytes.
fetched() { # mark
	tail -n +"$(($1 + 1))" "$LOG" | awk '$4 == "GET" && $5 ~ /\/manifests\.git\/(objects\/pack|thin)\/pack-.*\.pack$/ {
		n = split($5, p, "/"); k = p[n - 1] "/" p[n]; gets[k]++; bytes[k] += $NF }
		END { for (k in gets) print k, gets[k], bytes[k] }' | sort
}
# each_once MISSING-FILE: every missing pack came once, thin or full.
each_once() {
	local missing=$1 name size file line bad=0 n
	got=0 full=0
	fetched "$mark" >"$T/fetched"
	while read -r name; do
		n=$(grep -c " $name\$" <(awk '{split($1, p, "/"); print $1, p[2]}' "$T/fetched"))
		[ "$n" = 1 ] || { fail "$name: fetched as $n files"; bad=1; continue; }
		line=$(grep "/$name " "$T/fetched")
		set -- $line
		case $1 in
		pack/*) file=$G/$name ;;
		thin/*) file=$R/manifests.git/thin/$name ;;
		esac
		size=$(stat -c %s "$file")
		full=$((full + $(stat -c %s "$G/$name")))
		got=$((got + $3))
		[ "$2" = 1 ] && [ "$3" = "$size" ] || { fail "$1: $2 GETs, $3 body bytes for $size"; bad=1; }
	done <"$missing"
	while read -r key _; do
		grep -qx -- "${key#*/}" "$missing" || { fail "$key fetched though the school had it"; bad=1; }
	done <"$T/fetched"
	return $bad
}
each_once "$T/missing" &&
	ok "each missing manifest pack fetched once: $got body bytes for $full bytes of full packs"
thin=$(grep -c '^thin/' "$T/fetched")
[ "$thin" -ge 7 ] && [ "$got" -lt "$full" ] && ok "$thin of them thin" ||
	fail "$thin thin packs used, $got bytes for $full"
check "the school's store verifies" "$FERRY" verify "$S"

# A thin pack that is broken, and one that is gone: those two come full.
release 9
release 10
(cd "$G" && ls -- *.pack) | sort >"$T/all2"
comm -13 "$T/all" "$T/all2" >"$T/missing2"
set -- $(cat "$T/missing2")
printf 'PACK\0\0\0\2garbage' >"$R/manifests.git/thin/$1"
rm -f "$R/manifests.git/thin/$2"
mark=$(wc -l <"$LOG")
rm -rf "$T/site"
if "$FERRY" sync "$S" --source "$URL" --channel book/skip -q 2>"$T/sync.err" &&
	"$FERRY" checkout "$S" book/skip "$T/site" -q && diff -r "$T/tree" "$T/site" >/dev/null; then
	ok "a broken and a missing thin pack: the full ones instead, checkout equals the last"
else
	fail "broken thin packs: $(tail -n 2 "$T/sync.err")"
fi
fetched "$mark" >"$T/fetched2"
for name in $1 $2; do
	grep -q "^pack/$name 1 " "$T/fetched2" && ok "$name came full, once" ||
		fail "$name: $(grep "/$name " "$T/fetched2" | tr '\n' ';')"
done
check "the school's store still verifies" "$FERRY" verify "$S"
check "the repository, thin packs and all, verifies" "$FERRY" verify "$R"
finish
