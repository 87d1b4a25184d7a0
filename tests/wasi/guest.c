/* Test guest for tests/wasi/api.test.mjs: one WASI command, the behaviour
 * chosen by argv[1]. Prints results on stdout; the exit code says how it
 * went (0 = as expected). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wasync/guest.h>

/* clang-format off */
WASYNC_ASYNC_JS(int, js_add_later, (int a, int b), {
  await new Promise((r) => setTimeout(r, 5));
  return a + b;
})

WASYNC_ASYNC_JS(int, js_strlen, (const char *s), {
  return wasync.readString(s).length;
})
/* clang-format on */

static int try_open(const char *path) {
  int fd = open(path, O_RDONLY);
  if (fd >= 0) {
    printf("open %s: ok\n", path);
    close(fd);
    return 1;
  }
  printf("open %s: %s\n", path, strerror(errno));
  return 0;
}

int main(int argc, char **argv) {
  const char *what = argc > 1 ? argv[1] : "";
  if (!strcmp(what, "cat")) { /* echo stdin lines, numbered */
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, stdin))
      printf("%d:%s", ++n, line);
    return 0;
  }
  if (!strcmp(what, "sleep")) { /* sleep argv[2] ms (poll_oneoff) */
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    usleep((useconds_t)atoi(argv[2]) * 1000);
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("slept %ld\n", (long)((b.tv_sec - a.tv_sec) * 1000 +
                                 (b.tv_nsec - a.tv_nsec) / 1000000));
    return 0;
  }
  if (!strcmp(what, "read")) { /* print the file argv[2] */
    FILE *f = fopen(argv[2], "r");
    char buf[256];
    size_t n;
    if (!f) {
      printf("fopen %s: %s\n", argv[2], strerror(errno));
      return 1;
    }
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
      fwrite(buf, 1, n, stdout);
    fclose(f);
    return 0;
  }
  if (!strcmp(what, "open")) { /* try to open each path; exit = number opened */
    int ok = 0;
    for (int i = 2; i < argc; i++)
      ok += try_open(argv[i]);
    return ok;
  }
  if (!strcmp(what,
              "write")) { /* create argv[2] with argv[3], append argv[4] */
    FILE *f = fopen(argv[2], "w");
    if (!f) return 1;
    fputs(argv[3], f);
    fclose(f);
    f = fopen(argv[2], "a");
    fputs(argv[4], f);
    fclose(f);
    return try_open(argv[2]) ? 0 : 1;
  }
  if (!strcmp(what, "exit")) {
    printf("bye");
    exit(atoi(argv[2]));
  }
  if (!strcmp(what, "js")) {
    printf("%d %d\n", js_add_later(20, 22), js_strlen("four"));
    return 0;
  }
  if (!strcmp(what, "env")) {
    printf("%s\n", getenv(argv[2]) ? getenv(argv[2]) : "(unset)");
    return 0;
  }
  return 99;
}
