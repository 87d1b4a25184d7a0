#!/bin/sh
# examples/build.sh -- builds every gallery example's modules into
# build/examples/ (the pages fetch them from ../../build/examples/):
#   *.wat       -> wat2wasm
#   *.c         -> clang --target=wasm32-wasi (no libc calls; a reactor)
#   sleep.wasm  -> also `wasync asyncify` (sleep.async.wasm), and both as
#                  text (wasm2wat) for example 05's side-by-side view.
# WASYNC=... overrides build/wasync. Idempotent and quick (< 1 s).
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
  case $c in examples/04-*) continue ;; esac # Emscripten C, below
  clang $cflags "$c" -o "$out/$(basename "$c" .c).wasm"
done
# example 05: Binaryen-style asyncify; the state globals exported under
# their names so the text shows __asyncify_state / __asyncify_data
"$wasync" asyncify "$out/sleep.wasm" -o "$out/sleep.async.wasm" --export-globals
wasm2wat --generate-names "$out/sleep.wasm" -o "$out/sleep.wasm.wat"
wasm2wat --generate-names "$out/sleep.async.wasm" -o "$out/sleep.async.wasm.wat"
# example 04: the same kind of C through Emscripten (comparison only; never
# in wasync's own path). Skipped, with a note, when emcc is not installed;
# rebuilt only when sleep.c changed (emcc takes ~10 s).
c04=examples/04-c-async-import/sleep.c
if ! command -v emcc >/dev/null; then
  echo "examples/build.sh: emcc not found (apt: emscripten); example 04 will report itself skipped"
elif [ ! -f "$out/emcc-sleep.js" ] || [ "$c04" -nt "$out/emcc-sleep.js" ]; then
  emcc -O1 -sASYNCIFY -sMODULARIZE=1 -sEXPORT_NAME=createSleepModule \
    -sEXPORTED_RUNTIME_METHODS=ccall "$c04" -o "$out/emcc-sleep.js"
fi
echo "examples/build.sh: built $(ls "$out"/*.wasm | wc -l) modules in $out"
