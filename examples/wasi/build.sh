#!/usr/bin/env bash
# Builds the WASI demo: demo.wasm with `wasync cc` (runs in every mode) and,
# when emcc is installed, demo-emcc.js/.wasm with Emscripten -sASYNCIFY for
# the comparison in bench/wasi.mjs (not with --no-emcc). Output in
# build/examples/wasi/.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/build/examples/wasi"
mkdir -p "$out"
cc() {
  if [ -e "$root/js/bin/wasync.mjs" ]; then
    node "$root/js/bin/wasync.mjs" cc "$@"
  else
    node --input-type=module -e "import { main } from '$root/js/commands/cc.js'; process.exit(await main(process.argv.slice(1)));" -- "$@"
  fi
}
# rebuilt when demo.c or the cc driver is newer than the output
if [ ! -e "$out/demo.wasm" ] || [ "$root/examples/wasi/demo.c" -nt "$out/demo.wasm" ] ||
  [ "$root/js/commands/cc.js" -nt "$out/demo.wasm" ] || [ "$root/build/wasync" -nt "$out/demo.wasm" ]; then
  cc "$root/examples/wasi/demo.c" -o "$out/demo.wasm"
fi
cp "$root/examples/wasi/remote.txt" "$out/remote.txt"
echo "examples/wasi: built $out/demo.wasm ($(wc -c <"$out/demo.wasm") bytes)"
if [ "${1:-}" = "--no-emcc" ]; then
  :
elif command -v emcc >/dev/null 2>&1; then
  # its JS optimizer needs acorn: Debian has it in /usr/share/nodejs
  NODE_PATH=${NODE_PATH:-/usr/share/nodejs} emcc -O2 -sASYNCIFY -sENVIRONMENT=web,node \
    "$root/examples/wasi/demo.c" -o "$out/demo-emcc.js"
  echo "examples/wasi: built $out/demo-emcc.js + .wasm (Emscripten $(emcc --version | head -1 | grep -o '[0-9]*\.[0-9]*\.[0-9]*'))"
else
  echo "examples/wasi: emcc not installed: no Emscripten comparison build"
fi
