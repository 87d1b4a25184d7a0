// setjmp/longjmp (Emscripten's JS-based implementation: calls go through
// invoke_* imports) with sleeps before and after the longjmp.
// emcc: -sASYNCIFY
#include <emscripten.h>
#include <setjmp.h>
#include <stdio.h>

static jmp_buf env;
static int hops;

__attribute__((noinline)) static void deep(int n) {
  emscripten_sleep(1);
  if (n == 0) longjmp(env, 42 + hops);
  deep(n - 1);
}

int main(void) {
  volatile int tries = 0;
  int r = setjmp(env);
  printf("setjmp returned %d (try %d)\n", r, tries);
  emscripten_sleep(1);
  if (tries < 3) {
    tries++;
    hops++;
    deep(tries);
  }
  printf("done after %d tries\n", tries);
  return 0;
}
