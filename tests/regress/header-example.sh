#!/usr/bin/env bash
# Compiles the usage example at the top of include/wasync.h (the lines
# between "Typical use:" and the end of that comment) inside a function,
# links it with libwasync and runs it on a module: it must print the module
# back byte for byte.  Usage: header-example.sh BUILD_DIR (EXAMPLE_CC, EXAMPLE_CFLAGS: compiler, flags)
# (BUILD_DIR holds libwasync.a).  Exit 0 on success.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
cc=${EXAMPLE_CC:-cc}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/wasync-example.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
body=$(sed -n '/^ \* Typical use:/,/^ \*\//p' include/wasync.h |
  sed -e '1d' -e '$d' -e '/^ \* (tests\/regress/d' -e 's/^ \*     //' -e 's/^ \*$//')
if [[ -z "$body" ]]; then
  echo "header-example: no example found in include/wasync.h" >&2
  exit 1
fi
{
  echo '#include <stdio.h>'
  echo '#include <stdlib.h>'
  echo '#include "wasync.h"'
  echo 'static int example(const uint8_t *bytes, size_t size) {'
  printf '%s\n' "$body"
  echo '  return 0;'
  echo '}'
  echo 'int main(void) {'
  echo '  static uint8_t bytes[1 << 20];'
  echo '  size_t size = fread(bytes, 1, sizeof bytes, stdin);'
  echo '  return example(bytes, size);'
  echo '}'
} >"$tmp/example.c"
# shellcheck disable=SC2086
$cc -std=c11 -Wall -Wextra -Werror -Iinclude ${EXAMPLE_CFLAGS:-} "$tmp/example.c" \
  "$build/libwasync.a" -pthread -o "$tmp/example"
module=tests/regress/pass-arg-short.wasm
"$tmp/example" <"$module" >"$tmp/out.wasm"
cmp "$module" "$tmp/out.wasm"
# an invalid module: the example's error path
printf '\0asm\1\0\0\0\1' | { ! "$tmp/example" 2>"$tmp/err"; }
grep -q 'in.wasm:0x9: error: unexpected end' "$tmp/err"
