# wasync -- one Makefile builds the library, the CLI, the tests and the fuzzer.
#
#   make            build build/wasync and build/libwasync.a
#   make demo       install what is needed, build, run the main job
#   make test       install test deps, run every test
#   make fuzz       build the libFuzzer targets (build/fuzz-roundtrip, build/fuzz-asyncify)
#   make bench      run the benchmarks (bench/)
#   make format     apply .clang-format;  make format-check  verify it

CC      ?= cc
BUILD   ?= build
OPT     ?= -O2 -g
WARN    := -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wvla -Wcast-qual -Wwrite-strings \
           -Wimplicit-fallthrough -Wformat=2 -Wundef -Werror
CPPFLAGS += -Iinclude -Isrc -D_POSIX_C_SOURCE=200809L
# -pthread: function bodies are validated and encoded on threads (src/parallel.h)
CFLAGS  += $(OPT) $(WARN) -pthread

LIB_SRCS  := $(sort $(wildcard src/*.c))
CLI_SRCS  := $(sort $(wildcard cli/*.c))
# cli/api.c: the entry points of the wasm reactor (build/wasm only)
NATIVE_CLI_SRCS := $(filter-out cli/api.c,$(CLI_SRCS))
UNIT_SRCS := $(sort $(wildcard tests/unit/*.c))
HDRS      := $(wildcard include/*.h src/*.h src/*.def cli/*.h tests/unit/*.h)

LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
CLI_OBJS  := $(NATIVE_CLI_SRCS:%.c=$(BUILD)/%.o)
# the CLI's commands without main(): linked into tests that run commands
CLI_CMD_OBJS := $(filter-out $(BUILD)/cli/main.o,$(CLI_OBJS))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps demo test test-c test-unit test-asan test-spec test-truncate \
        test-realworld test-fuzz test-asyncify test-emscripten test-js test-browser \
        test-regress test-wasi test-examples quickjs test-quickjs test-wasm wasm fuzz bench \
        format format-check clean

all: $(BUILD)/wasync $(BUILD)/libwasync.a wasm

$(BUILD)/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/libwasync.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/wasync: $(CLI_OBJS) $(BUILD)/libwasync.a
	$(CC) $(CFLAGS) $(LDFLAGS) $(CLI_OBJS) $(BUILD)/libwasync.a -o $@

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libwasync.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $< $(BUILD)/libwasync.a -o $@

# ---- wasync built for wasm32-wasi (the npm package's copy) ---------------
# The same sources with clang for wasm32-wasi, -Oz, no threads (parallel.c
# falls back to one), inputs read instead of mapped (cli/util.c):
#   build/wasm/wasync.wasm            the CLI (a WASI command): `npx wasync`
#   build/wasm/wasync-transform.wasm  a reactor for js/transform.js: the
#                                     library + cli/api.c, no other command
# Both are copied into js/ for `npm pack`.
WASM_BUILD := $(BUILD)/wasm
WASI_CC    := clang --target=wasm32-wasi --sysroot=/usr -nostdinc \
  -isystem $(shell clang -print-resource-dir 2>/dev/null)/include \
  -isystem /usr/include/wasm32-wasi
WASI_LD    := clang --target=wasm32-wasi --sysroot=/usr
WASM_OPT   := -Oz
WASM_LIB_OBJS := $(LIB_SRCS:%.c=$(WASM_BUILD)/%.o)
WASM_CLI_OBJS := $(filter-out $(WASM_BUILD)/cli/api.o $(WASM_BUILD)/cli/node.o,\
  $(CLI_SRCS:%.c=$(WASM_BUILD)/%.o))
WASM_API_OBJS := $(WASM_BUILD)/cli/api.o $(WASM_BUILD)/cli/asyncify.o \
  $(WASM_BUILD)/cli/list.o $(WASM_BUILD)/cli/util.o

wasm: $(WASM_BUILD)/wasync.wasm $(WASM_BUILD)/wasync-transform.wasm \
      js/wasync.wasm js/wasync-transform.wasm js/include/wasync/guest.h

$(WASM_BUILD)/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(WASI_CC) $(CPPFLAGS) $(WASM_OPT) $(WARN) -c $< -o $@

$(WASM_BUILD)/wasync.wasm: $(WASM_CLI_OBJS) $(WASM_LIB_OBJS)
	$(WASI_LD) $(WASM_OPT) -Wl,--strip-all $^ -o $@

$(WASM_BUILD)/wasync-transform.wasm: $(WASM_API_OBJS) $(WASM_LIB_OBJS)
	$(WASI_LD) $(WASM_OPT) -mexec-model=reactor -Wl,--strip-all $^ -o $@

js/%.wasm: $(WASM_BUILD)/%.wasm
	cp $< $@

# the guest kit's header travels in the npm package (wasync cc finds it there)
js/include/wasync/guest.h: include/wasync/guest.h
	@mkdir -p $(dir $@)
	cp $< $@

# Unit tests of the CLI's own code link its commands too.
$(BUILD)/tests/test_cli: tests/unit/test_cli.c $(CLI_CMD_OBJS) $(BUILD)/libwasync.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Icli $(CFLAGS) $(LDFLAGS) $< $(CLI_CMD_OBJS) $(BUILD)/libwasync.a -o $@

# The regression runner (tests/regress/run.c): CLI commands in-process.
$(BUILD)/tests/regress: tests/regress/run.c $(CLI_CMD_OBJS) $(BUILD)/libwasync.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Icli -Itests/unit $(CFLAGS) $(LDFLAGS) $< $(CLI_CMD_OBJS) $(BUILD)/libwasync.a -o $@

# Test tools (tests/tools/NAME.c -> build/tools/NAME), linked with the library.
$(BUILD)/tools/%: tests/tools/%.c $(BUILD)/libwasync.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $< $(BUILD)/libwasync.a -o $@

deps:
	@scripts/deps.sh

# ---- the main job -------------------------------------------------------
demo: deps all
	@scripts/demo.sh

# ---- tests --------------------------------------------------------------
# Every suite below runs in `make test`; each prints its own totals.
test: deps
	@$(MAKE) --no-print-directory all
	@scripts/test.sh

test-c: test-unit test-asan

test-unit: $(UNIT_BINS) $(BUILD)/wasync
	@scripts/run-unit.sh $(UNIT_BINS)

# The same C tests under AddressSanitizer + UndefinedBehaviorSanitizer.
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all
SAN_MAKE  := $(MAKE) --no-print-directory BUILD=build/asan CC=clang \
  OPT="-O1 -g $(SAN_FLAGS) -fno-omit-frame-pointer" LDFLAGS="$(SAN_FLAGS)"
test-asan:
	@$(SAN_MAKE) test-unit
	# the sanitized CLI on every spec module: asyncify (every function
	# split, asserts on) exercises the pass's widest code paths
	node tests/spec/run.mjs --transform=asyncify --wasync=build/asan/wasync \
	  --asyncify-args='--split-rewind=1 --asserts'

# Every fixed bug and fuzz crash leaves a case in tests/regress/ (see
# tests/regress/run.c); the runner is built with ASan + UBSan.
test-regress:
	+@$(SAN_MAKE) build/asan/tests/regress build/asan/libwasync.a
	@EXAMPLE_CC=clang EXAMPLE_CFLAGS="$(SAN_FLAGS)" \
	  build/asan/tests/regress build/asan tests/regress/*.case || { \
	  echo "test-regress: the last case's stderr:"; \
	  cat build/asan/regress.stderr; exit 1; }

test-spec: all
	node tests/spec/run.mjs

test-truncate: all $(BUILD)/tools/truncate
	node tests/spec/truncate.mjs

test-realworld: all
	node tests/realworld/run.mjs

# Own end-to-end tests, then the spec differential: every valid spec module
# asyncified (all imports async) must pass exactly the original's assertions.
test-asyncify: all
	node tests/asyncify/run.mjs
	node tests/asyncify/options.mjs
	node tests/asyncify/run.mjs --wasync-arg=--split-rewind=1
	node tests/asyncify/rewind-args.mjs --count=200
	node tests/spec/run.mjs --transform=asyncify
	node tests/spec/run.mjs --transform=asyncify --asyncify-args=--split-rewind=1

# wasync inside emcc (scripts/emcc/wasm-opt) vs stock emcc on Emscripten-style
# programs at -O0..-O3; builds cached under build/emscripten/.
test-emscripten: all
	nice node tests/emscripten/run.mjs

# wasync built for wasm32-wasi, packed and installed as npm users get it:
# npx wasync and wasync/transform give build/wasync's bytes (tests/wasm).
test-wasm: all
	node tests/wasm/run.mjs

test-js: all
	scripts/test-js.sh

test-browser: all
	node tests/browser/run.mjs

test-wasi: all
	scripts/test-wasi.sh

# The gallery (examples/NN-*/): every example in Chromium, Firefox, WebKit
# and Node 20/26 where it applies (tests/examples/run.mjs).
test-examples: all quickjs
	node tests/examples/run.mjs

# wasync-quickjs (quickjs/): QuickJS for wasm32-wasi, size-tuned, plain +
# asyncified (build/quickjs/pkg/), and its tests in every mode and engine.
quickjs: all
	@scripts/build-quickjs.sh package

test-quickjs: quickjs
	@node tests/quickjs/run.mjs

# ---- fuzzing ------------------------------------------------------------
FUZZ_FLAGS := -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
fuzz: $(BUILD)/fuzz-roundtrip $(BUILD)/fuzz-asyncify
$(BUILD)/fuzz-%: tests/fuzz/%.c tests/fuzz/fuzz.h $(LIB_SRCS) $(HDRS)
	@mkdir -p $(dir $@)
	clang $(CPPFLAGS) $(WARN) $(FUZZ_FLAGS) -pthread $< $(LIB_SRCS) -o $@

# decode -> validate -> encode for FUZZ_SECONDS, then asyncify for half that
FUZZ_SECONDS ?= 60
test-fuzz: $(BUILD)/fuzz-roundtrip $(BUILD)/fuzz-asyncify
	@scripts/fuzz.sh $(FUZZ_SECONDS)
	@FUZZ_BIN=$(BUILD)/fuzz-asyncify scripts/fuzz.sh $$(( $(FUZZ_SECONDS) / 2 ))

# ---- benchmarks -----------------------------------------------------------
bench: deps all
	node bench/roundtrip.mjs
	node bench/asyncify.mjs
	node bench/transform.mjs

# ---- formatting -----------------------------------------------------------
FORMAT_FILES = $(wildcard include/*.h src/*.c src/*.h cli/*.c cli/*.h tests/unit/*.c tests/unit/*.h tests/fuzz/*.c tests/fuzz/*.h tests/regress/*.c quickjs/*.c quickjs/*.h tests/quickjs/*.c)
format:
	clang-format -i $(FORMAT_FILES)
format-check:
	@clang-format --dry-run --Werror $(FORMAT_FILES) && echo "format-check: ok"

clean:
	rm -rf $(BUILD)
