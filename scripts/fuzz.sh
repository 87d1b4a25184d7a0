#!/usr/bin/env bash
# Runs the libFuzzer target build/fuzz-roundtrip (tests/fuzz/roundtrip.c) for
# SECONDS (default 60) on a temporary copy of tests/fuzz/corpus/ (the checked-in
# corpus is never written), prints its statistics, and on a crash saves the
# input under build/ (build/fuzz-crash-*, build/fuzz-timeout-*, ...) and exits
# non-zero.  Ends with `fuzz: N passed, N failed` (1 run).
#   FUZZ_BIN   the target (default build/fuzz-roundtrip; built if missing)
#   FUZZ_ARGS  extra libFuzzer flags
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
bin=${FUZZ_BIN:-build/fuzz-roundtrip}
if [ ! -x "$bin" ]; then
  make --no-print-directory fuzz || { echo "fuzz: 0 passed, 1 failed (build)"; exit 1; }
fi
mkdir -p build
work=$(mktemp -d "${TMPDIR:-/tmp}/wasync-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus"
cp tests/fuzz/corpus/* "$work/corpus/" 2>/dev/null || true
seeds=$(ls "$work/corpus" | wc -l)

echo "fuzz: $bin for ${seconds}s, $seeds seed inputs (working copy in $work)"
# shellcheck disable=SC2086
"$bin" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="build/fuzz-" ${FUZZ_ARGS:-} \
  "$work/corpus" >"$work/log" 2>&1 </dev/null
rc=$?
# libFuzzer is chatty: show the milestones and the final statistics.
grep -E 'INFO: (Seed|Loaded|-max_len)|INITED|DONE|pulse|stat::|^Done ' "$work/log" | tail -n 25
grep -E '^#[0-9]+' "$work/log" | tail -n 1
after=$(ls "$work/corpus" | wc -l)
echo "fuzz: corpus grew from $seeds to $after inputs"
if ((rc != 0)); then
  echo "---- fuzzer output (tail)"
  tail -n 60 "$work/log"
  saved=$(grep -Eo 'Test unit written to [^ ]+' "$work/log" | sed 's/Test unit written to //')
  [ -n "$saved" ] && echo "fuzz: failing input saved as $saved (reproduce: $bin $saved)"
  echo "fuzz: 0 passed, 1 failed (exit $rc)"
  exit 1
fi
echo "fuzz: 1 passed, 0 failed"
