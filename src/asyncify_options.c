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

static bool is_space(char ch) {
  return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

size_t wasync_asyncify_split(char *s, char **items, size_t cap) {
  size_t count = 0;
  int depth = 0;
  char *start = s;
  for (char *p = s;; p++) {
    char ch = *p;
    if (ch == '(' || ch == '[' || ch == '<' || ch == '{')
      depth++;
    else if ((ch == ')' || ch == ']' || ch == '>' || ch == '}') && depth > 0)
      depth--;
    bool split = ch == '\0' || ch == '\n' || (ch == ',' && depth == 0);
    if (!split) continue;
    char *end = p;
    *p = '\0';
    while (start < end && is_space(*start))
      start++;
    while (end > start && is_space(end[-1]))
      *--end = '\0';
    if (end > start) {
      if (count < cap) items[count] = start;
      count++;
    }
    if (ch == '\0') break;
    start = p + 1;
    if (ch == '\n') depth = 0;
  }
  return count;
}
