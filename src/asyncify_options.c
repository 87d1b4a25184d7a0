/*
 * asyncify_options.c -- Binaryen's name lists: wildcard matching and list
 * splitting (the CLI turns --pass-arg=asyncify-*@... into options with
 * these).
 */
#include <string.h>

#include "asyncify.h"

bool wasync_asyncify_match(const char *pattern, const uint8_t *s, size_t n) {
  /* Iterative glob with backtracking to the last '*'. */
  size_t pi = 0, si = 0, star = (size_t)-1, mark = 0;
  size_t pn = strlen(pattern);
  while (si < n) {
    if (pi < pn && pattern[pi] == '*') {
      star = pi++;
      mark = si;
    } else if (pi < pn && (uint8_t)pattern[pi] == s[si]) {
      pi++;
      si++;
    } else if (star != (size_t)-1) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < pn && pattern[pi] == '*')
    pi++;
  return pi == pn;
}

bool wasync_asyncify_list_match(const WasyncNameList *list, const uint8_t *s,
                                size_t n) {
  for (size_t i = 0; i < list->count; i++)
    if (wasync_asyncify_match(list->items[i], s, n)) return true;
  return false;
}
