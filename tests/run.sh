#!/usr/bin/env bash
# Runs every test of the build in $MODE (default san) and ends with the one
# line CI reads: "N passed, N failed".
#
#   unit tests      build/$MODE/tests/<module>/test_*   (one "ok"/"FAIL" line per case)
#   fuzz replay     build/$MODE/tests/fuzz/replay_*     (each corpus file one case)
#   integration     tests/integration/*.sh              (their own "ok"/"FAIL" lines)
#
# A program that dies without reporting (a crash, a sanitizer abort) counts
# as one failure under its own name.  Set FERRY_TESTS=pattern to run a subset.
set -u
cd "$(dirname "$0")/.."
MODE=${MODE:-san}
B=build/$MODE
export FERRY_SRC=$PWD FERRY_BIN=$PWD/$B/ferry FERRY_BUILD=$PWD/$B
export FERRY_TEST_TMP=${FERRY_TEST_TMP:-$(mktemp -d /tmp/ferry-check.XXXXXX)}
# The million-row database measurement is a benchmark; tests use a tenth.
export FERRY_DB_BENCH_ROWS=${FERRY_DB_BENCH_ROWS:-100000}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
pattern=${FERRY_TESTS:-}
pass=0
fail=0
log=$FERRY_TEST_TMP/run.log
: >"$log"

run_one() { # name, command...
	local name=$1 out rc p f
	shift
	out=$("$@" 2>&1)
	rc=$?
	printf '%s\n' "$out" >>"$log"
	printf '%s\n' "$out" | grep -E '^(ok|FAIL|#) '
	p=$(printf '%s\n' "$out" | grep -c '^ok ')
	f=$(printf '%s\n' "$out" | grep -c '^FAIL ')
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL $name: exited with status $rc"
		printf '%s\n' "$out" | tail -n 20 | sed 's/^/#   /'
		f=$((f + 1))
	fi
	pass=$((pass + p))
	fail=$((fail + f))
}

for t in $(find "$B/tests" -type f -name 'test_*' -perm -u+x 2>/dev/null | sort); do
	[ -n "$pattern" ] && [[ $t != *$pattern* ]] && continue
	FERRY_TEST_NAME=${t#"$B/tests/"} run_one "${t#"$B/tests/"}" "$t"
done
for t in $(find "$B/tests/fuzz" -type f -name 'replay_*' -perm -u+x 2>/dev/null | sort); do
	[ -n "$pattern" ] && [[ $t != *$pattern* ]] && continue
	name=${t##*/replay_}
	run_one "fuzz/$name" "$t" "tests/fuzz/corpus/$name"
done
for t in tests/integration/*.sh; do
	[ -e "$t" ] || continue
	[ -n "$pattern" ] && [[ $t != *$pattern* ]] && continue
	run_one "${t#tests/}" bash "$t"
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
