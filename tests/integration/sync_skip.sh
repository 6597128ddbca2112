# sync_skip — a school that skips releases downloads each manifest git pack
# once: the county packs nine releases, the school synced the first over
# HTTP and then jumps to the last.  The packs are listed in no particular
# order and a release's pack refers to objects of earlier ones, so some
# cannot import until another has; nginx's access log must show every
# missing pack fetched exactly once (body bytes equal to the packs' sizes),
# none the school had, and the checkout equal to the last release.
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
# Per pack the school fetched: GETs and body bytes.
tail -n +"$((mark + 1))" "$LOG" | awk '$4 == "GET" && $5 ~ /\/manifests\.git\/objects\/pack\/pack-.*\.pack$/ {
	n = split($5, p, "/"); gets[p[n]]++; bytes[p[n]] += $NF }
	END { for (k in gets) print k, gets[k], bytes[k] }' | sort >"$T/fetched"
bad=0 want=0 got=0
while read -r name; do
	size=$(stat -c %s "$G/$name")
	want=$((want + size))
	line=$(grep "^$name " "$T/fetched") || { fail "$name was never fetched"; bad=1; continue; }
	set -- $line
	got=$(($got + $3))
	[ "$2" = 1 ] && [ "$3" = "$size" ] || { fail "$name: $2 GETs, $3 body bytes for $size"; bad=1; }
done <"$T/missing"
while read -r name _; do
	grep -qx -- "$name" "$T/missing" || { fail "$name fetched though the school had it"; bad=1; }
done <"$T/fetched"
[ "$bad" = 1 ] || ok "each missing manifest pack fetched once: $got body bytes for $want bytes of packs"
finish
