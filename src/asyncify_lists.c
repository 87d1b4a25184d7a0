/*
 * asyncify_lists.c -- list entries that match nothing.
 *
 * A typo in an import list or a function list does not make the pass fail:
 * the entry simply matches nothing, and the output is a module whose
 * driver hangs or traps at the first pause (an async import that is not
 * instrumented for) -- the hardest kind of bug to trace back to a command
 * line.  So every entry of --imports (asyncify-imports), the remove-list,
 * the add-list and the only-list is checked against the module before the
 * analysis: an import entry must match some function import "module.field",
 * a function-list entry some defined function by the name the lists use
 * (the name section's name; an unnamed function: its index, or "$" and its
 * index).  Entries that match nothing are reported in one line per list
 * through WasyncAsyncifyOptions.warn, or, with strict_lists, make the pass
 * fail (WASYNC_ERR_ARGUMENT) before it changes anything.
 */
#include <stdio.h>
#include <string.h>

#include "asyncify.h"
#include "reader.h"

static bool import_matches(const WasyncModule *m, const char *pattern) {
  for (uint32_t f = 0; f < m->nfunc_imports; f++) {
    const WasyncImport *imp = &m->imports[m->funcs[f].import];
    char buf[512];
    int n = snprintf(buf, sizeof buf, "%.*s.%.*s", (int)imp->module.len,
                     (const char *)imp->module.bytes, (int)imp->field.len,
                     (const char *)imp->field.bytes);
    if (n > 0 && (size_t)n < sizeof buf &&
        wasync_asyncify_match(pattern, (const uint8_t *)buf, (size_t)n))
      return true;
  }
  return false;
}

static bool function_matches(WasyncModule *m, const char *pattern) {
  const WasyncName *names = wasync_module_func_names(m);
  for (uint32_t f = m->nfunc_imports; f < m->nfuncs; f++) {
    if (names && names[f].bytes) {
      if (wasync_asyncify_match(pattern, names[f].bytes, names[f].len))
        return true;
      continue;
    }
    char buf[16];
    int n = snprintf(buf, sizeof buf, "$%u", f);
    if (wasync_asyncify_match(pattern, (const uint8_t *)buf + 1,
                              (size_t)n - 1) ||
        wasync_asyncify_match(pattern, (const uint8_t *)buf, (size_t)n))
      return true;
  }
  return false;
}

static bool check(WasyncModule *m, const WasyncAsyncifyOptions *o,
                  const WasyncNameList *list, const char *what, bool imports,
                  WasyncError *err) {
  char line[1024];
  size_t len = 0;
  uint32_t unmatched = 0;
  for (size_t i = 0; i < list->count; i++) {
    const char *e = list->items[i];
    if (imports ? import_matches(m, e) : function_matches(m, e)) continue;
    if (o->strict_lists)
      return wasync_fail(err, WASYNC_ERR_ARGUMENT, 0,
                         "asyncify %s entry '%s' matches no %s "
                         "(--strict-lists)",
                         what, e, imports ? "import" : "function");
    if (len < sizeof line)
      len += (size_t)snprintf(line + len, sizeof line - len, "%s%s",
                              unmatched ? ", " : "", e);
    unmatched++;
  }
  if (unmatched && o->warn) {
    char msg[1200];
    snprintf(msg, sizeof msg, "warning: %u %s entr%s match%s no %s: %s",
             unmatched, what, unmatched == 1 ? "y" : "ies",
             unmatched == 1 ? "es" : "", imports ? "import" : "function", line);
    o->warn(o->log_ctx, msg);
  }
  return true;
}

bool wasync_asyncify_check_lists(WasyncModule *m,
                                 const WasyncAsyncifyOptions *o,
                                 WasyncError *err) {
  return (!o->imports_given || o->quiet_imports ||
          check(m, o, &o->imports, "import-list", true, err)) &&
         check(m, o, &o->remove_list, "remove-list", false, err) &&
         check(m, o, &o->add_list, "add-list", false, err) &&
         check(m, o, &o->only_list, "only-list", false, err);
}
