/* Example 04: C with an asynchronous import, built two ways from this file.
 *
 * js_timeout is written in JavaScript, right here, as an *async* function:
 * it awaits a timer and returns 54321. The C code calls it like any other
 * function and gets the value back.
 *
 * With Emscripten (`emcc -sASYNCIFY`, __EMSCRIPTEN__ defined) the body is an
 * EM_ASYNC_JS; Emscripten runs Asyncify over the module and JavaScript calls
 * run() with `Module.ccall('run', 'number', [], [], {async: true})`.
 *
 * Without Emscripten (`wasync cc --reactor`) the body is a WASYNC_ASYNC_JS
 * of wasync's guest kit: `wasync cc` keeps the JavaScript in a custom
 * section, asyncifies the module for that import, and wasync's runtime turns
 * the body back into the import (js/wasi guest-js). JavaScript calls the
 * exported run() through instantiate(), in jspi, asyncify or worker mode;
 * printf goes to WASI's stdout (js/wasi). */
#include <stdio.h>

#ifdef __EMSCRIPTEN__
#include <emscripten.h>
#define EXPORT(name) EMSCRIPTEN_KEEPALIVE

/* clang-format off */
EM_ASYNC_JS(int, js_timeout, (int ms), {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return 54321;
});
/* clang-format on */
#else
#include <wasync/guest.h>
#define EXPORT(name) __attribute__((export_name(name)))

/* clang-format off */
WASYNC_ASYNC_JS(int, js_timeout, (int ms), {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return 54321;
})
/* clang-format on */
#endif

EXPORT("run") int run(void) {
  printf("before\n");
  int v = js_timeout(100);
  printf("after %d\n", v);
  return v;
}
