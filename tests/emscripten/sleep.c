// emscripten_sleep deep in a recursion, with values of every numeric type
// live across each sleep.
// emcc: -sASYNCIFY
#include <emscripten.h>
#include <stdint.h>
#include <stdio.h>

static int64_t walk(int depth, double scale, float bias) {
  int64_t big = (int64_t)depth * 1000000007LL;
  double d = depth * scale;
  float f = bias + (float)depth;
  if (depth == 0) {
    emscripten_sleep(1);
    return big + 1;
  }
  int64_t below = walk(depth - 1, scale * 1.5, bias / 2);
  emscripten_sleep(depth % 3);
  return below * 3 + big + (int64_t)(d * 10) + (int64_t)f;
}

int main(void) {
  for (int i = 0; i < 3; i++) {
    printf("round %d: %lld\n", i, (long long)walk(6 + i, 0.25 + i, 8.0f));
    emscripten_sleep(2);
  }
  puts("done");
  return 0;
}
