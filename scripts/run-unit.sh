#!/usr/bin/env bash
# Runs each unit-test binary given as an argument, shows its output, and sums
# the `N passed, N failed` line each one prints into `unit: N passed, N failed`.
# A binary that exits non-zero, dies, or prints no totals line counts as one
# failure.  Exits non-zero on any failure.
set -uo pipefail
passed=0
failed=0
if (($# == 0)); then
  echo "unit: no test binaries given"
fi
for bin in "$@"; do
  echo "== $bin"
  out=$("$bin" 2>&1)
  rc=$?
  printf '%s\n' "$out"
  line=$(printf '%s\n' "$out" | grep -Eo '[0-9]+ passed, [0-9]+ failed' | tail -n 1)
  if [[ -z "$line" ]]; then
    echo "run-unit: $bin printed no 'N passed, N failed' line (exit $rc)"
    failed=$((failed + 1))
    continue
  fi
  p=${line%% passed*}
  f=${line#*passed, }
  f=${f%% failed*}
  passed=$((passed + p))
  failed=$((failed + f))
  if ((rc != 0 && f == 0)); then
    if ((rc > 128)); then
      echo "run-unit: $bin died (signal $((rc - 128)))"
    else
      echo "run-unit: $bin exited $rc"
    fi
    failed=$((failed + 1))
  fi
done
echo "unit: $passed passed, $failed failed"
((failed == 0))
