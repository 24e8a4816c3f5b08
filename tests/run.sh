#!/bin/sh
# run.sh -- run cmocka test binaries, print each one's output and one total.
#
# Usage: tests/run.sh BINARY...
# Each binary gets TEST_TIMEOUT seconds (default 300).  A binary that dies
# without cmocka's summary counts as one failed test; a test whose teardown
# failed (cmocka prints "[  ERROR   ] name", e.g. the harness found a
# sanitizer report in peerd's log) counts as failed too.
#
# Sanitized builds (make SANITIZER=address|undefined) stop at the first
# error and check for leaks at exit, in the test binaries and in every
# program they start (peerd, peer, peerctl inherit these options); a crash
# gets the sanitizer's report with a stack, not cmocka's bare "Segmentation
# fault" (allow_user_segv_handler=0).  An ASAN_OPTIONS or UBSAN_OPTIONS
# already set is used as it is.
set -u
timeout_s=${TEST_TIMEOUT:-300}
san=halt_on_error=1:abort_on_error=0:allow_user_segv_handler=0:print_summary=1
: "${ASAN_OPTIONS=$san:detect_leaks=1}"
: "${UBSAN_OPTIONS=$san:print_stacktrace=1}"
export ASAN_OPTIONS UBSAN_OPTIONS
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
	e=$(grep -c '^\[  ERROR   \] [A-Za-z_][A-Za-z0-9_]*$' "$out")
	p=${p:-0} f=${f:-0}
	f=$((f + e))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		if grep -q 'Sanitizer\|runtime error: ' "$out"; then
			echo "== $t exited $rc: sanitizer report above"
		else
			echo "== $t exited $rc without a failure summary"
		fi
		f=1
	fi
	passed=$((passed + p)) failed=$((failed + f))
	[ "$f" -gt 0 ] && bad="$bad $(basename "$t")"
done
[ -n "$bad" ] && echo "failing:$bad"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
