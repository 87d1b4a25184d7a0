/* bench/wasi.mjs: N small writes to stdout, timed inside the guest; prints
 * the microseconds per write(1, "x", 1) on stderr. Built with `wasync cc`
 * and with emcc for the comparison. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 20000;
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (int i = 0; i < n; i++)
    write(1, "x", 1);
  clock_gettime(CLOCK_MONOTONIC, &b);
  double us =
      ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) /
      1e3 / n;
  fprintf(stderr, "us_per_write %.4f\n", us);
  return 0;
}
