#!/usr/bin/env bash
# scripts/gallery.sh -- the example gallery (examples/) in your browser.
#
#   scripts/gallery.sh           build the examples, serve the repository with
#                                wasync-serve (COOP/COEP on) and print the URL;
#                                runs until Ctrl-C
#   scripts/gallery.sh --print   build the examples and only print how to serve
#                                them and what to open (the end of `make demo`)
# PORT (default 8080) picks the port.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-8080}
examples/build.sh >/dev/null
url="http://127.0.0.1:$PORT/examples/"
if [ "${1:-}" = "--print" ]; then
  echo "The gallery: every way to bridge synchronous wasm and asynchronous JS, runnable."
  echo "Serve it (from the repository root; wasync-serve sends the COOP/COEP headers):"
  echo "    node js/bin/wasync-serve.mjs . --port $PORT      (or: scripts/gallery.sh)"
  echo "then open $url in Chromium, Firefox or WebKit:"
  for d in examples/[0-9][0-9]*-*/; do # 01-... and 07b-...
    d=${d%/}
    echo "    $url${d#examples/}/  $(sed -n '1s/^# //p' "$d/README.md")"
  done
  exit 0
fi
echo "gallery: open $url (Ctrl-C stops the server)"
exec node js/bin/wasync-serve.mjs . --port "$PORT"
