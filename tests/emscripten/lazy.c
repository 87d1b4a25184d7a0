// ASYNCIFY_LAZY_LOAD_CODE: the first module unwinds at
// emscripten_lazy_load_code() and the rest runs in the lazily loaded copy.
// emcc: -sASYNCIFY_LAZY_LOAD_CODE
#include <emscripten.h>
#include <stdio.h>

__attribute__((noinline)) int work(int n) {
  int s = 0;
  for (int i = 0; i < n; i++) s += i ^ (s << 1);
  return s;
}

int main(void) {
  printf("before %d\n", work(10));
  emscripten_lazy_load_code();
  printf("after %d\n", work(20));
  return 0;
}
