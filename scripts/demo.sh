#!/usr/bin/env bash
# The main job, shown to a new user (`make demo` builds wasync first):
#   1. build QuickJS for wasm32-wasi (scripts/build-quickjs.sh) and run a
#      script in it;
#   2. `wasync info` on it;
#   3. validate + round-trip it and a large npm module (esbuild.wasm), with
#      timings, and run the round-tripped QuickJS;
#   4. if `wasync asyncify` is available: examples/sleep/run.sh;
#   5. QuickJS whose host function really suspends: `wasync asyncify` on
#      qjs.wasm (--imports env.host_call), then examples/quickjs/run.mjs
#      --async, where host(x) answers after a setTimeout.
#      (DEMO_QJS_ASYNC=0 skips this step.)
#   5b. blocking C with WASI: examples/wasi/demo-step.sh (`wasync cc` +
#      `wasync run`, then sleep/stdin/a URL-backed file in each Node mode).
#   6. the example gallery: scripts/gallery.sh --print builds examples/ and
#      prints how to serve it and the URL to open.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
WASYNC=$BUILD/wasync
OUT=$BUILD/demo
mkdir -p "$OUT"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# Runs a command and prints its wall time in ms after it.
timed() {
  local t0 t1
  t0=$(date +%s%N)
  "$@"
  t1=$(date +%s%N)
  echo "   ($(((t1 - t0) / 1000000)) ms: $*)"
}
size() { stat -c %s "$1"; }

if [ ! -x "$WASYNC" ]; then
  echo "demo: $WASYNC not found; run: make demo" >&2
  exit 1
fi

step "1. QuickJS (the 2021-03-27 sources from npm qjsc) for wasm32-wasi"
BUILD=$BUILD scripts/build-quickjs.sh
QJS=$BUILD/quickjs/qjs.wasm
node examples/quickjs/run.mjs --wasm "$QJS" examples/quickjs/smoke.js

step "2. wasync info $QJS"
"$WASYNC" info "$QJS" >"$OUT/qjs-info.txt"
head -n 45 "$OUT/qjs-info.txt"
echo "   ... ($(wc -l <"$OUT/qjs-info.txt") lines in all: $OUT/qjs-info.txt)"

ESB=node_modules/esbuild-wasm/esbuild.wasm
for f in "$QJS" "$ESB"; do
  [ -f "$f" ] || continue
  name=$(basename "$(dirname "$f")")-$(basename "$f")
  step "3. validate + round-trip $f ($(size "$f") bytes)"
  timed "$WASYNC" validate "$f"
  timed "$WASYNC" roundtrip --reencode "$f" -o "$OUT/$name"
  timed "$WASYNC" roundtrip "$f" -o "$OUT/copy-$name"
  echo "   re-encoded: $(size "$OUT/$name") bytes, copy-through: $(size "$OUT/copy-$name") bytes"
  if command -v wasm-opt >/dev/null; then
    timed wasm-opt -q --all-features "$f" -o "$OUT/wasm-opt-$name"
  fi
  if command -v wasm-validate >/dev/null; then
    timed wasm-validate --enable-all "$OUT/$name"
  fi
done

step "3b. the re-encoded QuickJS still runs"
node examples/quickjs/run.mjs --wasm "$OUT/quickjs-qjs.wasm" -e \
  'print("hello from the round-tripped QuickJS; host(20) =", host(20)); [1,2,3].map(x => x * x).join(" ")'

step "4. asyncify"
if [ -x examples/sleep/run.sh ]; then
  if ! WASYNC=$WASYNC examples/sleep/run.sh; then
    echo "demo: examples/sleep/run.sh failed" >&2
    exit 1
  fi
else
  echo "(skipped: examples/sleep/run.sh is not there yet)"
fi
status=0
step "5. QuickJS with a host function that really suspends (asyncify)"
if [ "${DEMO_QJS_ASYNC:-1}" = 0 ]; then
  echo "(skipped: DEMO_QJS_ASYNC=0)"
elif ! "$WASYNC" asyncify --help >/dev/null 2>&1; then
  echo "(skipped: wasync asyncify is not available)"
else
  timed "$WASYNC" asyncify "$QJS" -o "$OUT/qjs.async.wasm" --imports env.host_call
  echo "   $(size "$QJS") -> $(size "$OUT/qjs.async.wasm") bytes"
  if ! node examples/quickjs/run.mjs --async --wasm "$OUT/qjs.async.wasm" -e \
    'const t0 = Date.now(); const a = host(20), b = host("slept"); print("host(20) =", a, " host(\"slept\") =", b, " (each reply came from a 10 ms setTimeout; both took", Date.now() - t0, "ms)"); a + 1'; then
    echo "demo: QuickJS with the asyncified host_call failed" >&2
    status=1
  fi
fi
step "5b. blocking C with WASI: wasync cc + wasync run (examples/wasi)"
if ! examples/wasi/demo-step.sh; then
  echo "demo: examples/wasi/demo-step.sh failed" >&2
  status=1
fi
[ $status = 0 ] && echo "demo: every step ran; last, the gallery"
step "6. the gallery (examples/)"
# its URLs stay the last thing the demo prints
if ! scripts/gallery.sh --print; then
  echo "demo: building the examples failed (examples/build.sh)" >&2
  status=1
fi
exit $status
