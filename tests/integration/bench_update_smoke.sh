# bench_update_smoke — bench/update.sh still works: its ferry and bound
# columns on the corpus's last two tags, with the binary under test.  The
# ferry figure must be a number above 0 and below everything nginx sent
# for that repository (the school's first sync of release A came first),
# the bound a number above 0, and no cell may say "failed".
. "$(dirname "$0")/lib.sh"
corpus_ready || finish
tags=$(corpus_tags | tail -n 2 | paste -sd' ')
out=$T/section.md
if BENCH_DIR=$T/bench FERRY=$FERRY FERRY_BUILD=$BUILD FERRY_SRC=$SRC FERRY_CORPUS=$CORPUS_BUNDLE \
	BENCH_UPDATE_TAGS=$tags BENCH_UPDATE_TOOLS="ferry bound" \
	bash "$SRC/bench/update.sh" >"$out" 2>"$T/section.err"; then
	ok "bench/update.sh runs on $tags"
else
	fail "bench/update.sh exits non-zero"
	sed 's/^/#   /' "$T/section.err" | tail -n 10
	finish
fi
# The one step's row: | A → B | files | ferry | bound | ratio |
row=$(grep -F "| ${tags%% *} → " "$out")
ferry=$(echo "$row" | awk -F'|' '{gsub(/[ ,]/, "", $4); print $4}')
bound=$(echo "$row" | awk -F'|' '{gsub(/[ ,]/, "", $5); print $5}')
all=$(awk '$5 ~ /^\/ferry\// {s += $NF} END {printf "%.0f\n", s}' "$T/bench/update/servers/nginx-access.log")
if [[ $ferry =~ ^[0-9]+$ ]] && [ "$ferry" -gt 0 ] && [ "$ferry" -lt "$all" ]; then
	ok "ferry's update cost ($ferry bytes) is above 0 and below all it fetched ($all)"
else
	fail "ferry's cell is '$ferry' (nginx sent $all bytes for the repository in all): $row"
fi
if [[ $bound =~ ^[0-9]+$ ]] && [ "$bound" -gt 0 ]; then ok "the bound is $bound bytes"; else fail "bound cell: '$bound'"; fi
if grep -q '^|.*failed' "$out"; then fail "a cell failed: $(grep '^|.*failed' "$out")"; else ok "no cell failed"; fi
finish
