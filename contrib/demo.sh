#!/usr/bin/env bash
# The README's main job, end to end on built-in sample content:
#   county:  generate a national-platform-like export, publish release 1
#   link:    nginx serves the repository; a weak-link proxy in front of it
#            limits the rate, adds latency and cuts connections
#   school:  sync over that link (a cut night resumes), check out, compare
#   county:  publish an errata round as release 2
#   school:  see the cost (--dry-run), sync it, check out, status
#   anyone:  ferry verify, and stock git / ssh-keygen checking signatures
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
MODE=${MODE:-release}
B=$SRC/build/$MODE
FERRY=$B/ferry
GEN=$B/tests/tools/gen_content
D=${FERRY_DEMO_DIR:-/tmp/ferry-demo}
SIZE=${FERRY_DEMO_SIZE:-64M}
RATE=${FERRY_DEMO_RATE:-4M}
rm -rf "$D" && mkdir -p "$D"
export FERRY_BUILD=$B FERRY_TEST_TMP=$D
. tests/servers.sh
trap 'servers_stop >/dev/null 2>&1 || true' EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "county: generating $SIZE of sample content (Chinese, Tibetan, Uyghur names; video, PDF, courseware)"
"$GEN" "$D/export-v1" --seed 2026 --size "$SIZE" --meta "$D/catalog-v1.tsv"
"$GEN" "$D/export-v2" --seed 2026 --size "$SIZE" --revision 1 --meta "$D/catalog-v2.tsv"
(cd "$D/export-v1" && find . -type f | sed 's|^\./|  |' | sort | awk 'NR <= 6')  # awk reads to the end: no SIGPIPE under pipefail
ssh-keygen -q -t ed25519 -N '' -C county-center -f "$D/county"

say "county: ferry repo init, then ferry pack — release 1"
"$FERRY" repo init "$D/repo" --key "$D/county.pub"
"$FERRY" pack "$D/repo" renjiao/all "$D/export-v1" --key "$D/county" --meta "$D/catalog-v1.tsv" \
	--message "National platform export, term 1"

say "link: nginx serves the repository; weakproxy makes it a $RATE/s line with 100 ms latency that drops"
servers_nginx_start "$D/repo" >/dev/null
servers_proxy_start link --to "127.0.0.1:$FERRY_HTTP_PORT" --rate "$RATE" --latency 100 \
	--reset-after 3M-9M --faulty 4 --seed 7 >/dev/null
URL=http://127.0.0.1:$FERRY_PROXY_PORT/
echo "  school source: $URL"

say "school: ferry store init, then the first night's ferry sync (cut connections resume)"
"$FERRY" store init "$D/school" --trust "$D/county.pub"
for night in 1 2 3 4 5; do
	set +e
	"$FERRY" sync "$D/school" --source "$URL" --channel renjiao/all
	rc=$?
	set -e
	echo "  (run $night: exit $rc)"
	[ "$rc" = 0 ] && break
done
"$FERRY" checkout "$D/school" renjiao/all "$D/site"
diff -r "$D/export-v1" "$D/site" && echo "  the school's files are byte-identical to the county's export"

say "county: ferry pack — release 2 (one round of errata)"
"$FERRY" pack "$D/repo" renjiao/all "$D/export-v2" --key "$D/county" --meta "$D/catalog-v2.tsv" \
	--message "Errata round 1"

say "school: what will release 2 cost? (ferry sync --dry-run), then sync and check out"
"$FERRY" sync "$D/school" --source "$URL" --dry-run
"$FERRY" sync "$D/school" --source "$URL" || "$FERRY" sync "$D/school" --source "$URL"
"$FERRY" checkout "$D/school" renjiao/all "$D/site"
diff -r "$D/export-v2" "$D/site" && echo "  release 2 is byte-identical to the county's export"
"$FERRY" status "$D/school"

say "anyone: ferry verify (the county's repository and the school's store)"
"$FERRY" verify "$D/repo"
"$FERRY" verify "$D/school"

say "anyone: stock git and ssh-keygen check the signatures"
git clone -q "$D/repo/manifests.git" "$D/manifests-clone"
echo "county-center $(cat "$D/county.pub")" >"$D/allowed_signers"
git -C "$D/manifests-clone" -c gpg.format=ssh -c gpg.ssh.allowedSignersFile="$D/allowed_signers" \
	log --format='  %h %G? %s' origin/renjiao/all
sed '/^-----BEGIN SSH SIGNATURE-----$/,$d' "$D/repo/heads/renjiao/all" >"$D/head.body"
sed -n '/^-----BEGIN SSH SIGNATURE-----$/,$p' "$D/repo/heads/renjiao/all" >"$D/head.sig"
ssh-keygen -Y verify -f "$D/allowed_signers" -I county-center -n ferry-head -s "$D/head.sig" <"$D/head.body"
echo
echo "Everything is in $D."
