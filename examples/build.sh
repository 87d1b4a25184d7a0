#!/bin/sh
# examples/build.sh -- builds every gallery example's modules into
# build/examples/ (the pages fetch them from ../../build/examples/):
#   *.wat       -> wat2wasm
#   *.c         -> clang --target=wasm32-wasi (no libc calls; a reactor)
#   sleep.wasm  -> also `wasync asyncify` (sleep.async.wasm), and both as
#                  text (wasm2wat) for example 05's side-by-side view;
#   04's sleep.c -> `wasync cc --reactor` (wasync-sleep.wasm) and, when emcc
#                  is installed, `emcc -sASYNCIFY` (emcc-sleep.js/.wasm).
# WASYNC=... overrides build/wasync. Idempotent and quick (< 1 s once built;
# the two builds of 04's sleep.c run only when it changed, ~10 s each).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=build/examples
wasync=${WASYNC:-$root/build/wasync}
mkdir -p "$out"
if [ ! -x "$wasync" ]; then
  echo "examples/build.sh: $wasync not found; run: make" >&2
  exit 1
fi
resdir=$(clang -print-resource-dir)
cflags="--target=wasm32-wasi --sysroot=/usr -nostdinc -isystem $resdir/include -isystem /usr/include/wasm32-wasi -O2 -mexec-model=reactor -nostdlib -Wl,--no-entry -Wall -Wextra -Werror"

for wat in examples/*/*.wat; do
  wat2wasm "$wat" -o "$out/$(basename "$wat" .wat).wasm"
done
for c in examples/[0-9]*/*.c; do
  [ -f "$c" ] || continue
  case $c in examples/04-*) continue ;; esac # guest-kit / Emscripten C, below
  clang $cflags "$c" -o "$out/$(basename "$c" .c).wasm"
done
# example 05: Binaryen-style asyncify; the state globals exported under
# their names so the text shows __asyncify_state / __asyncify_data
"$wasync" asyncify "$out/sleep.wasm" -o "$out/sleep.async.wasm" --export-globals
wasm2wat --generate-names "$out/sleep.wasm" -o "$out/sleep.wasm.wat"
wasm2wat --generate-names "$out/sleep.async.wasm" -o "$out/sleep.async.wasm.wat"
# example 04: sleep.c through wasync's guest kit (`wasync cc`: clang for
# wasm32-wasi, the WASYNC_ASYNC_JS body kept in a custom section, asyncified
# for that import), rebuilt only when sleep.c changed
c04=examples/04-c-async-import/sleep.c
if [ ! -f "$out/wasync-sleep.wasm" ] || [ "$c04" -nt "$out/wasync-sleep.wasm" ]; then
  WASYNC_NATIVE="$wasync" "$wasync" cc "$c04" --reactor -O2 -o "$out/wasync-sleep.wasm"
fi
# ... and the same file through Emscripten (comparison only; never in
# wasync's own path). Skipped, with a note, when emcc is not installed;
# rebuilt only when sleep.c changed (emcc takes ~10 s).
if ! command -v emcc >/dev/null; then
  echo "examples/build.sh: emcc not found (apt: emscripten); example 04 will report itself skipped"
elif [ ! -f "$out/emcc-sleep.js" ] || [ "$c04" -nt "$out/emcc-sleep.js" ]; then
  emcc -O1 -sASYNCIFY -sMODULARIZE=1 -sEXPORT_NAME=createSleepModule \
    -sEXPORTED_RUNTIME_METHODS=ccall "$c04" -o "$out/emcc-sleep.js"
fi
echo "examples/build.sh: built $(ls "$out"/*.wasm | wc -l) modules in $out"
