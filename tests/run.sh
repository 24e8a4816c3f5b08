#!/bin/sh
# run.sh -- run cmocka test binaries, print each one's output and one total.
#
# Usage: tests/run.sh BINARY...
# Each binary gets TEST_TIMEOUT seconds (default 300).  A binary that dies
# without cmocka's summary counts as one failed test.
set -u
timeout_s=${TEST_TIMEOUT:-300}
passed=0 failed=0 bad=
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for t in "$@"; do
	echo "== $t"
	timeout -k 5 "$timeout_s" "$t" >"$out" 2>&1
	rc=$?
	cat "$out"
	p=$(sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) test.*/\1/p' "$out" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) test.*/\1/p' "$out" | tail -1)
	p=${p:-0} f=${f:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "== $t exited $rc without a failure summary"
		f=1
	fi
	passed=$((passed + p)) failed=$((failed + f))
	[ "$f" -gt 0 ] && bad="$bad $(basename "$t")"
done
[ -n "$bad" ] && echo "failing:$bad"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
