#!/usr/bin/env bash
# The README's main job, on built-in sample content: a county resource
# center generates a national-platform-like export, packs it as release 1,
# applies a round of errata and packs release 2, then verifies the
# repository and shows what a stock git and ssh-keygen see.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${MODE:-release}
B=build/$MODE
FERRY=$PWD/$B/ferry
GEN=$PWD/$B/tests/tools/gen_content
D=${FERRY_DEMO_DIR:-/tmp/ferry-demo}
SIZE=${FERRY_DEMO_SIZE:-200M}
rm -rf "$D" && mkdir -p "$D"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "county: generating $SIZE of sample content (Chinese, Tibetan, Uyghur names; video, PDF, courseware)"
"$GEN" "$D/export-v1" --seed 2026 --size "$SIZE" --meta "$D/catalog-v1.tsv"
"$GEN" "$D/export-v2" --seed 2026 --size "$SIZE" --revision 1 --meta "$D/catalog-v2.tsv"
find "$D/export-v1" -type f | head -n 5 | sed "s|$D/export-v1/|  |"
ssh-keygen -q -t ed25519 -N '' -C county-center -f "$D/county"

say "county: ferry repo init"
"$FERRY" repo init "$D/repo" --key "$D/county.pub"

say "county: ferry pack — release 1"
"$FERRY" pack "$D/repo" renjiao/all "$D/export-v1" --key "$D/county" --meta "$D/catalog-v1.tsv" \
	--message "National platform export, term 1"

say "county: ferry pack — release 2 (one round of errata)"
"$FERRY" pack "$D/repo" renjiao/all "$D/export-v2" --key "$D/county" --meta "$D/catalog-v2.tsv" \
	--message "Errata round 1"

say "anyone: ferry verify"
"$FERRY" verify "$D/repo"

say "anyone: stock git sees the release history"
git clone -q "$D/repo/manifests.git" "$D/manifests-clone"
echo "county-center $(cat "$D/county.pub")" >"$D/allowed_signers"
git -C "$D/manifests-clone" -c gpg.format=ssh -c gpg.ssh.allowedSignersFile="$D/allowed_signers" \
	log --format='%h %G? %s' origin/renjiao/all
git -C "$D/manifests-clone" diff --stat origin/renjiao/all~1 origin/renjiao/all | tail -n 3

say "anyone: stock ssh-keygen checks the signed head"
sed '/^-----BEGIN SSH SIGNATURE-----$/,$d' "$D/repo/heads/renjiao/all" >"$D/head.body"
sed -n '/^-----BEGIN SSH SIGNATURE-----$/,$p' "$D/repo/heads/renjiao/all" >"$D/head.sig"
ssh-keygen -Y verify -f "$D/allowed_signers" -I county-center -n ferry-head -s "$D/head.sig" <"$D/head.body"
cat "$D/head.body"
echo
echo "Everything is in $D."
