/*
 * list.c -- name lists on the command line (`--imports env.sleep,env.read`,
 * `--only-list @names.txt`), split the way Binaryen splits them.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static bool is_space(char ch) {
  return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

size_t wasync_cli_split_list(char *s, char **items, size_t cap) {
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
    if (ch == '\n') depth = 0; /* a bracket never spans lines */
  }
  return count;
}

/* The list's text: the argument, or the file named after '@'. */
static char *list_text(const char *arg) {
  if (arg[0] != '@') return strdup(arg);
  WasyncCliInput in;
  if (!wasync_cli_open_input(arg + 1, &in)) return NULL;
  char *text = malloc(in.size + 1);
  if (text) {
    if (in.size) memcpy(text, in.data, in.size);
    text[in.size] = '\0';
  }
  wasync_cli_close_input(&in);
  return text;
}

bool wasync_cli_parse_list(WasyncCliLists *ls, const char *arg,
                           WasyncNameList *out) {
  if (ls->count >= WASYNC_CLI_MAX_LISTS) {
    fprintf(stderr, "wasync: more than %d name lists\n", WASYNC_CLI_MAX_LISTS);
    return false;
  }
  char *text = list_text(arg);
  char **items = NULL;
  if (text) {
    /* Counting splits the text too: count on a copy, split the original. */
    char *copy = strdup(text);
    size_t n = copy ? wasync_cli_split_list(copy, NULL, 0) : 0;
    free(copy);
    items = copy ? calloc(n + 1, sizeof *items) : NULL;
    if (items) {
      wasync_cli_split_list(text, items, n);
      out->items = (const char *const *)items;
      out->count = n;
    }
  }
  if (!items) {
    if (text || arg[0] != '@') fprintf(stderr, "wasync: out of memory\n");
    free(text);
    return false;
  }
  ls->texts[ls->count] = text;
  ls->items[ls->count] = items;
  ls->count++;
  return true;
}

void wasync_cli_lists_free(WasyncCliLists *ls) {
  for (int i = 0; i < ls->count; i++) {
    free(ls->texts[i]);
    free(ls->items[i]);
  }
  ls->count = 0;
}
