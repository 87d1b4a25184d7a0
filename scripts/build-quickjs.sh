#!/usr/bin/env bash
# Builds QuickJS (the 2021-03-27 sources shipped in node_modules/qjsc) for
# wasm32-wasi with clang + wasm-ld, plus examples/quickjs/host.c, into
# build/quickjs/qjs.wasm: a WASI reactor exporting eval_js / qjs_alloc /
# qjs_free and importing env.host_call (see examples/quickjs/host.c).
#
# The QuickJS sources are copied to build/quickjs/src and patched there for
# __wasi__ (nothing of QuickJS is kept in the repository):
#   - no threads: CONFIG_ATOMICS (Atomics.wait via pthreads) is not defined;
#   - no directed rounding: wasi-libc's fenv.h has only FE_TONEAREST, so the
#     CONFIG_PRINTF_RNDN path (which toggles FE_UPWARD/FE_DOWNWARD) is off
#     (consequence: toFixed/toPrecision round exact ties to even, e.g.
#     (2.5).toFixed(0) is "2" where the spec says "3");
#   - malloc.h / malloc_usable_size exist in wasi-libc as on Linux, so the
#     __linux__ branches are taken for __wasi__ too.
#
# Usage: scripts/build-quickjs.sh [--force]      (BUILD=dir, default build)
#        scripts/build-quickjs.sh package [--force]
#
# `package` builds the wasync-quickjs package's modules instead (see
# quickjs/README.md): the same patched sources, size-tuned (-Oz, LTO, no
# names section), linked with quickjs/glue.c + quickjs/value.c into
#   $BUILD/quickjs/pkg/quickjs.wasm          (jspi and worker modes)
#   $BUILD/quickjs/pkg/quickjs.asyncify.wasm (`wasync asyncify`, only the
#                                             import wasync_qjs.host_call
#                                             unwinds; asyncify mode)
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
OUT=$BUILD/quickjs
SRC=node_modules/qjsc/deps/quickjs_2021_03_27
WASM=$OUT/qjs.wasm
PACKAGE=0
if [ "${1:-}" = "package" ]; then
  PACKAGE=1
  shift
fi

if [ ! -f "$SRC/quickjs.c" ]; then
  echo "build-quickjs: $SRC/quickjs.c not found (run: npm ci)" >&2
  exit 1
fi
# One build at a time (the tests, the demo and the benchmarks may all ask).
mkdir -p "$OUT"
exec 9>"$OUT/.lock"
flock 9

if [ $PACKAGE = 0 ] && [ "${1:-}" != "--force" ] && [ -f "$WASM" ] && [ "$WASM" -nt examples/quickjs/host.c ] &&
  [ "$WASM" -nt "$0" ] && [ "$WASM" -nt "$SRC/quickjs.c" ]; then
  echo "build-quickjs: $WASM is up to date"
  exit 0
fi

mkdir -p "$OUT/src" "$OUT/obj"
for f in quickjs.c quickjs.h quickjs-atom.h quickjs-opcode.h cutils.c cutils.h \
  libregexp.c libregexp.h libregexp-opcode.h libunicode.c libunicode.h \
  libunicode-table.h list.h libbf.c libbf.h VERSION; do
  cp "$SRC/$f" "$OUT/src/$f"
done

# The three __wasi__ tweaks, applied to the copy.  Each sed must change
# something; a QuickJS update that moves the code fails loudly here.
patch_line() { # file, sed expression, description
  local before
  before=$(md5sum <"$1")
  sed -i ${SED_Z:-} "$2" "$1" # SED_Z=-z: the file is one "line"
  if [ "$before" = "$(md5sum <"$1")" ]; then
    echo "build-quickjs: patch '$3' did not apply to $1" >&2
    exit 1
  fi
}
Q=$OUT/src/quickjs.c
patch_line "$Q" '/^#if !defined(EMSCRIPTEN)$/{N;s/^#if !defined(EMSCRIPTEN)\n#define CONFIG_ATOMICS/#if !defined(EMSCRIPTEN) \&\& !defined(__wasi__)\n#define CONFIG_ATOMICS/}' \
  "no atomics/pthreads"
patch_line "$Q" 's/^#if !defined(_WIN32)$/#if !defined(_WIN32) \&\& !defined(__wasi__)/' \
  "no FE_UPWARD/FE_DOWNWARD rounding (CONFIG_PRINTF_RNDN)"
patch_line "$Q" 's/^#elif defined(__linux__)$/#elif defined(__linux__) || defined(__wasi__)/' \
  "malloc.h / malloc_usable_size as on Linux"
# Sort comparators return int64_t instead of int.  Only for `wasync
# asyncify`'s type analysis: an indirect call may reach every table function
# of its wasm type, and the comparators (int (*)(const void *, const void *,
# void *)) share (i32, i32, i32) -> i32 with the realloc hooks that every
# allocation calls indirectly (QuickJS's, libbf's, libunicode's, DynBuf's)
# and libc's FILE write.  Array.prototype.sort's comparator calls JS, so
# every allocation "may reach" a host call and nearly every function was
# instrumented.  With their own type, only sorting does (-120 KB asyncified).
CMP='\(js_array_cmp_generic\|js_TA_cmp_[a-z0-9]*\|num_keys_cmp\|exported_names_cmp\)'
patch_line "$Q" "s/^static int $CMP(const void \*/static int64_t \1(const void */" \
  "int64_t sort comparators (definitions)"
patch_line "$Q" 's/^\( *\)int (\*cmpfun)(const void \*a, const void \*b, void \*opaque);/\1int64_t (*cmpfun)(const void *a, const void *b, void *opaque);/' \
  "int64_t sort comparators (typed arrays)"
patch_line "$OUT/src/cutils.c" 's/^typedef int (\*cmp_f)(const void \*, const void \*, void \*opaque);/typedef int64_t (*cmp_f)(const void *, const void *, void *opaque);/' \
  "int64_t sort comparators (cutils.c)"
patch_line "$OUT/src/cutils.h" '/^void rqsort(/{N;s/\n *int (\*cmp)(/\n            int64_t (*cmp)(/}' \
  "int64_t sort comparators (cutils.h)"

# maxStackDepth (quickjs/glue.c): a count of the bytecode frames
# JS_CallInternal has on the stack, and a RangeError where it would exceed
# qjs_frame_depth_limit -- next to QuickJS's own stack check, before the
# frame exists, so the error is as catchable as "stack overflow".  A
# generator or async function resumed counts too (not checked there, as
# QuickJS's stack check is not: the frame exists already).  The one exit
# of JS_CallInternal's frames takes the count down again.
patch_line "$Q" 's/^static JSValue JS_CallInternal(JSContext \*caller_ctx, JSValueConst func_obj,$/int qjs_frame_depth, qjs_frame_depth_limit = 0x7fffffff;\n\n&/' \
  "frame depth: the counters"
patch_line "$Q" '/^    if (js_check_stack_overflow(rt, alloca_size))$/{n;s/$/\n    if (unlikely(qjs_frame_depth >= qjs_frame_depth_limit))\n        return JS_ThrowRangeError(caller_ctx, "Maximum call stack depth exceeded (maxStackDepth %d)", qjs_frame_depth_limit);/}' \
  "frame depth: the check"
patch_line "$Q" 's/^    ctx = b->realm; \/\* set the current realm \*\/$/    qjs_frame_depth++;\n&/' \
  "frame depth: a new frame"
patch_line "$Q" 's/^            rt->current_stack_frame = sf;$/&\n            qjs_frame_depth++;/' \
  "frame depth: a resumed frame"
SED_Z=-z patch_line "$Q" 's/\n    }\n    rt->current_stack_frame = sf->prev_frame;\n    return ret_val;\n/\n    }\n    qjs_frame_depth--;\n    rt->current_stack_frame = sf->prev_frame;\n    return ret_val;\n/' \
  "frame depth: a frame leaves"

build_package() {
  local pkg=$OUT/pkg plain=$OUT/pkg/quickjs.wasm async=$OUT/pkg/quickjs.asyncify.wasm
  local newest=$plain
  if [ "${1:-}" != "--force" ] && [ -f "$async" ]; then
    local stale=0
    for f in quickjs/glue.c quickjs/value.c quickjs/value.h "$0" "$SRC/quickjs.c" "$BUILD/wasync"; do
      [ "$f" -nt "$newest" ] && stale=1
    done
    if [ $stale = 0 ]; then
      echo "build-quickjs: $plain is up to date"
      return 0
    fi
  fi
  if [ ! -x "$BUILD/wasync" ]; then
    echo "build-quickjs: $BUILD/wasync not found (run: make)" >&2
    exit 1
  fi
  mkdir -p "$pkg/obj"
  local res
  res=$(clang -print-resource-dir)
  # -Oz + LTO + NDEBUG (QuickJS's asserts and their file/line strings): size
  # first (the goals are in quickjs/README.md).  BigInt needs CONFIG_BIGNUM;
  # BigFloat/BigDecimal/operator overloading, String.prototype.normalize and
  # the std/os modules are never added to a context (quickjs/glue.c), so the
  # linker drops what only they reach.
  local flags=(--target=wasm32-wasi --sysroot=/usr -nostdinc -isystem "$res/include"
    -isystem /usr/include/wasm32-wasi -Oz -flto -mnontrapping-fptoint -msign-ext -mbulk-memory -funsigned-char -D_GNU_SOURCE -DNDEBUG
    "-DCONFIG_VERSION=\"$(cat "$OUT/src/VERSION")\"" -DCONFIG_BIGNUM)
  local objs=() pids=() start
  start=$(date +%s)
  for f in quickjs libregexp libunicode cutils libbf; do
    clang "${flags[@]}" -w -c "$OUT/src/$f.c" -o "$pkg/obj/$f.o" &
    pids+=($!)
    objs+=("$pkg/obj/$f.o")
  done
  for f in glue value; do
    clang "${flags[@]}" -std=c11 -Wall -Wextra -Werror -isystem "$OUT/src" \
      -c "quickjs/$f.c" -o "$pkg/obj/$f.o" &
    pids+=($!)
    objs+=("$pkg/obj/$f.o")
  done
  for p in "${pids[@]}"; do wait "$p"; done
  # Linked by wasm-ld itself: the clang driver would run Binaryen's wasm-opt
  # on the output whenever one is on PATH, and the package must not depend
  # on that.  A 1 MiB C stack: the largest `stackSize` a VM may ask for.
  # malloc/free are exported so that the wasync runtime takes its regions
  # (asyncify buffers) from them: pages it appended with memory.grow would
  # sit inside the heap of wasi-libc's malloc, which assumes it owns
  # memory.grow.
  local ld
  ld=$(command -v wasm-ld-14 || command -v wasm-ld || true)
  if [ -z "$ld" ]; then
    echo "build-quickjs: wasm-ld not found (apt-get install lld-14)" >&2
    exit 1
  fi
  "$ld" -m wasm32 -L/usr/lib/wasm32-wasi /usr/lib/wasm32-wasi/crt1-reactor.o \
    --entry _initialize "${objs[@]}" -lc "$res/lib/wasi/libclang_rt.builtins-wasm32.a" \
    -z stack-size=1048576 --strip-all --export=malloc --export=free -o "$plain.tmp"
  mv "$plain.tmp" "$plain"
  # Only the two imports that wait for the host unwind.  --split-rewind 200:
  # JS_CallInternal (the interpreter loop, 226 call sites that may unwind;
  # the next function has 168) gets a rewind-only copy, so its normal path
  # carries no rewind checks: +31 KB, CPU-bound eval 10-17% faster (Node 20
  # and 26, same-process medians).  The default (auto) wants >= 256 sites.
  "$BUILD/wasync" asyncify "$plain" -o "$async.tmp" --imports wasync_qjs.host_call,wasync_qjs.next_settled \
    --split-rewind 200
  mv "$async.tmp" "$async"
  echo "build-quickjs: $plain ($(stat -c %s "$plain") bytes), $async ($(stat -c %s "$async") bytes), $(($(date +%s) - start)) s"
}

RES=$(clang -print-resource-dir)
if [ $PACKAGE = 1 ]; then
  build_package "${1:-}"
  exit 0
fi
CFLAGS=(--target=wasm32-wasi --sysroot=/usr -nostdinc -isystem "$RES/include"
  -isystem /usr/include/wasm32-wasi -O2 -funsigned-char -D_GNU_SOURCE
  "-DCONFIG_VERSION=\"$(cat "$OUT/src/VERSION")\"" -DCONFIG_BIGNUM)

objs=()
pids=()
start=$(date +%s)
for f in quickjs libregexp libunicode cutils libbf; do
  clang "${CFLAGS[@]}" -w -c "$OUT/src/$f.c" -o "$OUT/obj/$f.o" &
  pids+=($!)
  objs+=("$OUT/obj/$f.o")
done
clang "${CFLAGS[@]}" -std=gnu11 -Wall -Wextra -isystem "$OUT/src" -c examples/quickjs/host.c \
  -o "$OUT/obj/host.o" &
pids+=($!)
objs+=("$OUT/obj/host.o")
for p in "${pids[@]}"; do wait "$p"; done

clang --target=wasm32-wasi --sysroot=/usr -O2 -mexec-model=reactor \
  -Wl,-z,stack-size=1048576 \
  "${objs[@]}" -o "$WASM.tmp"
mv "$WASM.tmp" "$WASM"
echo "build-quickjs: $WASM ($(stat -c %s "$WASM") bytes, $(($(date +%s) - start)) s)"
