#!/bin/sh
# run.sh -- run one libFuzzer harness for a while; used by make fuzz.
#
# Usage: tests/fuzz/run.sh DIR NAME SECONDS
#   DIR/fuzz_NAME runs for SECONDS on DIR/corpus-NAME (created from, and
#   topped up with, tests/fuzz/corpus/NAME) with tests/fuzz/NAME.dict, one
#   process, one job.  New inputs stay in DIR/corpus-NAME; crashes land in
#   DIR/artifacts-NAME/; the whole log in DIR/fuzz-NAME.log.  Prints
#     FUZZ name=NAME execs=N crashes=N seconds=N
#   and exits 1 if the harness found anything.  FUZZ_FLAGS adds options.
set -u
dir=$1 name=$2 secs=$3
bin=$dir/fuzz_$name
corpus=$dir/corpus-$name
art=$dir/artifacts-$name
log=$dir/fuzz-$name.log

mkdir -p "$corpus" "$art"
cp tests/fuzz/corpus/"$name"/* "$corpus"/
stamp=$(mktemp)
trap 'rm -f "$stamp"' EXIT

# shellcheck disable=SC2086
"$bin" -max_total_time="$secs" -print_final_stats=1 \
    -dict=tests/fuzz/"$name".dict -artifact_prefix="$art"/ \
    -timeout=25 -rss_limit_mb=4096 ${FUZZ_FLAGS:-} "$corpus" >"$log" 2>&1
rc=$?

execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
crashes=$(find "$art" -type f -newer "$stamp" | wc -l)
interrupted=0
if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then
	if grep -q 'libFuzzer: run interrupted' "$log"; then
		interrupted=1	# SIGINT or SIGTERM: not a finding
	else
		crashes=1	# died without leaving an input
	fi
fi
echo "FUZZ name=$name execs=${execs:-0} crashes=$crashes seconds=$secs"
if [ "$interrupted" -ne 0 ]; then
	echo "fuzz: $name was interrupted"
	exit 1
fi
if [ "$crashes" -ne 0 ]; then
	tail -n 40 "$log"
	find "$art" -type f -newer "$stamp" | sed 's/^/reproducer: /'
	exit 1
fi
exit 0
