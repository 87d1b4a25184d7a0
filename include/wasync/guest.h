/*
 * wasync/guest.h -- for C code compiled to WebAssembly that runs under the
 * wasync runtime (the JS package `wasync`).
 *
 * Imports. WASYNC_IMPORT(module, name) gives a declaration the import's
 * module and field names. WASYNC_ASYNC_IMPORT(module, name) does the same
 * and marks the import async: `wasync cc` reads the marks (the custom
 * section "wasync.async_imports", one "module.name" per line) and lets
 * exactly those imports, plus the WASI calls that can block, suspend the
 * guest in Asyncify mode. In JSPI and worker modes every import may suspend
 * anyway; the mark costs nothing there.
 *
 *   WASYNC_ASYNC_IMPORT("env", "fetch_text")
 *   int fetch_text(const char *url, char *out, int cap);
 *
 * JavaScript in the C file. WASYNC_ASYNC_JS(ret, name, (params), { body })
 * declares `ret name(params)` as an async import whose body is JavaScript,
 * stored in the custom section "wasync.js" (entries: name NUL params NUL
 * body NUL). The runtime (wasync/guest-js) turns each into an async function
 * of the parameters; `await` works, the value returned goes back to C, and
 * `wasync` in the body is the guest memory (readString, writeBytes, ...):
 *
 *   WASYNC_ASYNC_JS(void, timeout, (int ms), {
 *     await new Promise((r) => setTimeout(r, ms));
 *   })
 *
 * The parameter list must name every parameter. The body goes through the C
 * preprocessor: it becomes one line (end statements with `;`, comments are
 * dropped), and strings are best written with double quotes (a multi-letter
 * 'x' literal draws a warning). Wrap the macro in clang-format off/on. Pages whose
 * Content-Security-Policy forbids `new Function` ('unsafe-eval') cannot use
 * WASYNC_ASYNC_JS; the runtime says so and the import can be supplied by hand.
 */
#ifndef WASYNC_GUEST_H
#define WASYNC_GUEST_H

#define WASYNC__CAT2(a, b) a##b
#define WASYNC__CAT(a, b) WASYNC__CAT2(a, b)

/* One line of a custom section; wasm-ld concatenates them across objects. */
#define WASYNC__SECTION_LINE(sec, text)                                        \
  __attribute__((used, section(sec))) static const char WASYNC__CAT(           \
      wasync__line_, __COUNTER__)[sizeof(text) - 1] = text;

#define WASYNC_IMPORT(module, name)                                            \
  __attribute__((import_module(module), import_name(name)))

#define WASYNC_ASYNC_IMPORT(module, name)                                      \
  WASYNC__SECTION_LINE(".custom_section.wasync.async_imports",                 \
                       module "." name "\n")                                   \
  WASYNC_IMPORT(module, name)

#define WASYNC_ASYNC_JS(ret, name, params, ...)                                \
  WASYNC__SECTION_LINE(".custom_section.wasync.js",                            \
                       #name "\0" #params "\0" #__VA_ARGS__ "\0")              \
  WASYNC_ASYNC_IMPORT("wasync_js", #name) ret name params;

#endif
