/*
 * test_cli.c -- the CLI's own helpers: the name-list splitter and reader.
 */
#include "cli.h"
#include "test.h"

#include <unistd.h>

static void test_split(void) {
  char text[] = "a, b ,foo(int, char),\nc\n\n d<x,y> ";
  char *items[8];
  size_t n = wasync_cli_split_list(text, items, 8);
  CHECK_EQ(n, 5);
  if (n == 5) {
    CHECK_STR(items[0], "a");
    CHECK_STR(items[1], "b");
    CHECK_STR(items[2], "foo(int, char)");
    CHECK_STR(items[3], "c");
    CHECK_STR(items[4], "d<x,y>");
  }
  char text2[] = "x,y,z";
  CHECK_EQ(wasync_cli_split_list(text2, items, 1), 3); /* count beyond cap */
  char text3[] = " , \n ";
  CHECK_EQ(wasync_cli_split_list(text3, items, 8), 0);
}

static void test_parse_list(void) {
  WasyncCliLists ls;
  memset(&ls, 0, sizeof ls);
  WasyncNameList a = {0}, b = {0};
  CHECK(wasync_cli_parse_list(&ls, "env.sleep, env.read", &a));
  CHECK_EQ(a.count, 2);
  if (a.count == 2) {
    CHECK_STR(a.items[0], "env.sleep");
    CHECK_STR(a.items[1], "env.read");
  }
  /* @FILE: one name per line */
  char path[] = "/tmp/wasync-test-list-XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  if (fd >= 0) {
    const char text[] = "first\nsecond(a, b)\n";
    CHECK_EQ(write(fd, text, sizeof text - 1), (long)(sizeof text - 1));
    close(fd);
    char arg[64];
    snprintf(arg, sizeof arg, "@%s", path);
    CHECK(wasync_cli_parse_list(&ls, arg, &b));
    CHECK_EQ(b.count, 2);
    if (b.count == 2) CHECK_STR(b.items[1], "second(a, b)");
    remove(path);
  }
  CHECK(!wasync_cli_parse_list(&ls, "@/nonexistent/list", &b));
  CHECK_EQ(ls.count, 2);
  wasync_cli_lists_free(&ls);
  CHECK_EQ(ls.count, 0);
}

int main(void) {
  RUN(test_split);
  RUN(test_parse_list);
  return TEST_REPORT();
}
