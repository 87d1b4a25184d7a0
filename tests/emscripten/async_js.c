// EM_ASYNC_JS functions (imported as env.__asyncjs__*, async by default)
// returning values after a real timer, called from nested C.
// emcc: -sASYNCIFY
#include <emscripten.h>
#include <stdio.h>

EM_ASYNC_JS(int, later, (int x), {
  await new Promise((resolve) => setTimeout(resolve, 1));
  return x * 2 + 1;
});

EM_ASYNC_JS(double, later_d, (double x), {
  await new Promise((resolve) => setTimeout(resolve, 0));
  return x / 4;
});

static int chain(int n) {
  if (n == 0) return later(0);
  int v = chain(n - 1);
  return later(v) + n;
}

int main(void) {
  printf("chain %d\n", chain(5));
  double acc = 1;
  for (int i = 0; i < 4; i++) acc += later_d(acc * 8);
  printf("acc %.3f\n", acc);
  return 0;
}
