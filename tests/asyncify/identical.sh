#!/usr/bin/env bash
# tests/asyncify/identical.sh -- are two wasync binaries' asyncify outputs
# byte-identical?  For refactorings that must not change the output:
# build the starting commit once (e.g. `git worktree add /tmp/base BASE &&
# make -C /tmp/base`), then
#
#   tests/asyncify/identical.sh /tmp/base/build/wasync build/wasync
#
# Inputs: QuickJS (build/quickjs/qjs.wasm, --imports env.host_call; built by
# scripts/build-quickjs.sh if missing), sql.js, quickjs-emscripten and
# esbuild.wasm from node_modules, each plain and with --asserts
# --split-rewind=1, QuickJS and sql.js with --import-globals, and every
# tests/asyncify/*.wat (plain, and --asserts --split-rewind=1
# --import-globals).  Prints one line per output (sha256 of both) and
# `identical: N same, N different or failed, N skipped`; exits 1 on any
# difference or failed transform (an absent input is skipped, loudly).
set -uo pipefail
cd "$(dirname "$0")/../.."
if [ $# -ne 2 ]; then
  echo "usage: tests/asyncify/identical.sh BEFORE_WASYNC AFTER_WASYNC" >&2
  exit 2
fi
A=$1 B=$2
[ -f build/quickjs/qjs.wasm ] || scripts/build-quickjs.sh >/dev/null
work=$(mktemp -d "${TMPDIR:-/tmp}/identical.XXXXXX")
trap 'rm -rf "$work"' EXIT
same=0 diff=0 skipped=0
check() { # name input args...
  local name=$1 in=$2
  shift 2
  if [ ! -f "$in" ]; then
    echo "SKIP $name: $in is absent"
    skipped=$((skipped + 1))
    return
  fi
  local ha hb
  "$A" asyncify "$in" "$@" -o "$work/a.wasm" 2>"$work/a.err"; local ra=$?
  "$B" asyncify "$in" "$@" -o "$work/b.wasm" 2>"$work/b.err"; local rb=$?
  ha=$([ $ra -eq 0 ] && sha256sum <"$work/a.wasm" | cut -d' ' -f1 || echo "exit $ra: $(head -c 200 "$work/a.err")")
  hb=$([ $rb -eq 0 ] && sha256sum <"$work/b.wasm" | cut -d' ' -f1 || echo "exit $rb: $(head -c 200 "$work/b.err")")
  rm -f "$work/a.wasm" "$work/b.wasm"
  if [ $ra -ne 0 ] || [ $rb -ne 0 ]; then
    diff=$((diff + 1))
    echo "FAILED $name: $ha / $hb"
  elif [ "$ha" = "$hb" ]; then
    same=$((same + 1))
    echo "same $ha $name"
  else
    diff=$((diff + 1))
    echo "DIFFERENT $name: $ha vs $hb"
  fi
}
big=("quickjs build/quickjs/qjs.wasm --imports env.host_call"
  "sql.js node_modules/sql.js/dist/sql-wasm.wasm"
  "quickjs-emscripten node_modules/@jitl/quickjs-wasmfile-release-sync/dist/emscripten-module.wasm"
  "esbuild node_modules/esbuild-wasm/esbuild.wasm")
for x in "${big[@]}"; do
  read -r -a w <<<"$x"
  check "${w[0]}" "${w[1]}" "${w[@]:2}"
  check "${w[0]} --asserts --split-rewind=1" "${w[1]}" "${w[@]:2}" --asserts --split-rewind=1
done
check "quickjs --import-globals" build/quickjs/qjs.wasm --imports env.host_call --import-globals --export-globals
check "sql.js --import-globals" node_modules/sql.js/dist/sql-wasm.wasm --import-globals
for w in tests/asyncify/*.wat; do
  n=$(basename "$w" .wat)
  wat2wasm --enable-all "$w" -o "$work/$n.wasm" 2>/dev/null ||
    node_modules/.bin/wasm-as --enable-reference-types --enable-gc --enable-exception-handling \
      --enable-tail-call --enable-multivalue --enable-simd "$w" -o "$work/$n.wasm" 2>/dev/null || continue
  check "$n" "$work/$n.wasm"
  check "$n --asserts --split-rewind=1 --import-globals" "$work/$n.wasm" --asserts --split-rewind=1 --import-globals
done
echo "identical: $same same, $diff different or failed, $skipped skipped (input absent)"
[ $diff -eq 0 ]
