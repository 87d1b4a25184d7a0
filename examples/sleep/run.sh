#!/bin/sh
# examples/sleep/run.sh -- wat2wasm -> wasync asyncify -> node.
# Prints: before / after 54321 / result 54321 (after a real 100 ms setTimeout).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
wasync=${WASYNC:-$root/build/wasync}
node=${NODE:-node}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
wat2wasm "$here/sleep.wat" -o "$tmp/sleep.wasm"
"$wasync" asyncify "$tmp/sleep.wasm" -o "$tmp/sleep.async.wasm"
"$node" "$here/callAsyncWasm.mjs" "$tmp/sleep.async.wasm"
