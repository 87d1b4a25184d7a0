#!/usr/bin/env bash
# What `make test` runs after building: every test suite, each timed.  A
# suite whose driver files are missing FAILS (a lost driver must not pass
# silently).  It does not stop at the first
# failure: it runs them all, then prints a table (suite, result, time, the
# suite's own totals line) and `suites: N passed, N failed`.  Exits non-zero
# if any suite failed.  FUZZ_SECONDS (default 60) is passed to test-fuzz; a
# suite running longer than SUITE_TIMEOUT seconds (default 1200) is killed and
# counts as failed (its stdin is /dev/null).
set -uo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
SUITE_TIMEOUT=${SUITE_TIMEOUT:-1200}
MAKE=${MAKE:-make}
logdir=$(mktemp -d "${TMPDIR:-/tmp}/wasync-test.XXXXXX")
trap 'rm -rf "$logdir"' EXIT

# suite name | driver files (all must exist; empty = always) | extra make args
suites=(
  "format-check|.clang-format|"
  "test-unit|scripts/run-unit.sh tests/unit/*.c|"
  "test-asan|scripts/run-unit.sh tests/unit/*.c|"
  "test-regress|tests/regress/run.c tests/regress/*.case|"
  "test-spec|tests/spec/run.mjs|"
  "test-truncate|tests/spec/truncate.mjs tests/tools/truncate.c|"
  "test-fuzz|tests/fuzz/roundtrip.c scripts/fuzz.sh|FUZZ_SECONDS=$FUZZ_SECONDS"
  "test-realworld|tests/realworld/run.mjs|"
  "test-asyncify|tests/asyncify/run.mjs|"
  "test-emscripten|tests/emscripten/run.mjs|"
  "test-js|scripts/test-js.sh|"
  "test-wasm|tests/wasm/run.mjs|"
  "test-browser|tests/browser/run.mjs|"
  "test-wasi|scripts/test-wasi.sh tests/wasi/run-suite.mjs|"
  "test-examples|tests/examples/run.mjs examples/build.sh|"
  "test-quickjs|tests/quickjs/run.mjs|"
)

names=() results=() times=() totals=()
npass=0 nfail=0
for entry in "${suites[@]}"; do
  IFS='|' read -r name drivers extra <<<"$entry"
  missing=""
  for d in $drivers; do
    # shellcheck disable=SC2086
    [ -e "$d" ] || missing="$d"
  done
  if [ -n "$missing" ]; then
    echo "test.sh: $name: driver $missing is missing" >&2
    names+=("$name") results+=("FAIL") times+=("-") totals+=("(missing $missing)")
    nfail=$((nfail + 1))
    continue
  fi
  echo
  echo "======== $name"
  start=$(date +%s.%N)
  # shellcheck disable=SC2086
  timeout --kill-after=10 "$SUITE_TIMEOUT" $MAKE --no-print-directory "$name" $extra 2>&1 </dev/null |
    tee "$logdir/$name.log"
  rc=${PIPESTATUS[0]}
  if ((rc == 124 || rc == 137)); then
    echo "test.sh: $name killed after ${SUITE_TIMEOUT}s" | tee -a "$logdir/$name.log"
  fi
  end=$(date +%s.%N)
  secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
  line=$(grep -E '[0-9]+ passed, [0-9]+ failed|format-check: ok' "$logdir/$name.log" | tail -n 1)
  if ((rc == 0)); then
    results+=("pass")
    npass=$((npass + 1))
  else
    results+=("FAIL")
    nfail=$((nfail + 1))
  fi
  ((rc == 124 || rc == 137)) && line="(timed out after ${SUITE_TIMEOUT}s)"
  names+=("$name") times+=("${secs}s") totals+=("${line:-(exit $rc)}")
done

echo
echo "======== summary"
printf '%-16s %-7s %9s  %s\n' suite result time totals
for i in "${!names[@]}"; do
  printf '%-16s %-7s %9s  %s\n' "${names[$i]}" "${results[$i]}" "${times[$i]}" "${totals[$i]}"
done
echo "suites: $npass passed, $nfail failed"
((nfail == 0))
