#!/usr/bin/env bash
# Builds quickjs/glue.c + quickjs/value.c natively under AddressSanitizer +
# UndefinedBehaviorSanitizer with tests/quickjs/native.c playing the
# module's imports, links QuickJS (the patched copy in build/quickjs/src,
# unsanitized: its own UB is not ours to judge here), and runs it.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SRC=$BUILD/quickjs/src
OUT=$BUILD/quickjs/native
if [ ! -f "$SRC/quickjs.c" ]; then
  echo "quickjs-asan: $SRC missing (run: make quickjs)" >&2
  exit 1
fi
mkdir -p "$OUT"
DEFS=(-D_GNU_SOURCE "-DCONFIG_VERSION=\"$(cat "$SRC/VERSION")\"" -DCONFIG_BIGNUM)
objs=()
for f in quickjs libregexp libunicode cutils libbf; do
  if [ ! -f "$OUT/$f.o" ] || [ "$SRC/$f.c" -nt "$OUT/$f.o" ]; then
    clang -O1 -g -w "${DEFS[@]}" -c "$SRC/$f.c" -o "$OUT/$f.o" &
  fi
  objs+=("$OUT/$f.o")
done
wait
SAN=(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
clang -O1 -g -std=c11 -Wall -Wextra -Werror -Wno-unknown-attributes "${SAN[@]}" "${DEFS[@]}" \
  -isystem "$SRC" -Iquickjs quickjs/glue.c quickjs/value.c tests/quickjs/native.c \
  "${objs[@]}" -lm -lpthread -o "$OUT/native"
"$OUT/native"
