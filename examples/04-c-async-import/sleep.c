/* Example 04: C with an asynchronous import, Emscripten style.
 *
 * js_timeout is written in JavaScript, right here, as an *async* function:
 * it awaits a timer and returns 54321. The C code calls it like any other
 * function and gets the value back. Built with `emcc -sASYNCIFY`, Emscripten
 * runs Asyncify over the module so run() can unwind while the Promise is
 * pending and rewind when it settles; JavaScript calls run() with
 * `Module.ccall('run', 'number', [], [], {async: true})`, which returns a
 * Promise of its result. */
#include <emscripten.h>
#include <stdio.h>

EM_ASYNC_JS(int, js_timeout, (int ms), {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return 54321;
});

EMSCRIPTEN_KEEPALIVE int run(void) {
  printf("before\n");
  int v = js_timeout(100);
  printf("after %d\n", v);
  return v;
}
