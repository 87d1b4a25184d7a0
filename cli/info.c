/*
 * info.c -- `wasync info FILE`: a module's sections, entity counts,
 * imports, exports and functions.
 */
#include "cli.h"

#include <string.h>

static void print_info(const char *path, size_t size, WasyncModule *m) {
  WasyncModuleCounts c;
  wasync_module_counts(m, &c);
  printf("%s: %zu bytes\n\nsections (%u):\n", path, size, c.sections);
  printf("  %3s  %-20s %10s %10s\n", "id", "name", "offset", "size");
  for (uint32_t i = 0; i < c.sections; i++) {
    WasyncSectionInfo s;
    wasync_module_section(m, i, &s);
    int len = s.name_len > 40 ? 40 : (int)s.name_len;
    if (s.id == 0)
      printf("  %3u  \"%.*s\"%*s %#10llx %10llu\n", s.id, len, s.name,
             len < 18 ? 18 - len : 0, "", (unsigned long long)s.offset,
             (unsigned long long)s.size);
    else
      printf("  %3u  %-20.*s %#10llx %10llu\n", s.id, len, s.name,
             (unsigned long long)s.offset, (unsigned long long)s.size);
  }
  printf("\ncounts:\n");
  printf("  %-10s %u\n", "types", c.types);
  printf("  %-10s %u (%u imported)\n", "functions", c.funcs, c.func_imports);
  printf("  %-10s %u (%u imported)\n", "tables", c.tables, c.table_imports);
  printf("  %-10s %u (%u imported)\n", "memories", c.memories,
         c.memory_imports);
  printf("  %-10s %u (%u imported)\n", "globals", c.globals, c.global_imports);
  printf("  %-10s %u (%u imported)\n", "tags", c.tags, c.tag_imports);
  printf("  %-10s %u\n", "imports", c.imports);
  printf("  %-10s %u\n", "exports", c.exports);
  printf("  %-10s %u\n", "elems", c.elems);
  printf("  %-10s %u\n", "datas", c.datas);
  printf("  %-10s %u\n", "customs", c.customs);
  if (c.has_start) printf("  %-10s func %u\n", "start", c.start);
  if (c.imports) {
    printf("\nimports (%u):\n", c.imports);
    for (uint32_t i = 0; i < c.imports; i++) {
      WasyncImportInfo im;
      wasync_module_import(m, i, &im);
      printf("  %5u  %-6s %-6u %.*s.%.*s\n", i, wasync_cli_kind_name(im.kind),
             im.index, (int)im.module_len, im.module, (int)im.field_len,
             im.field);
    }
  }
  if (c.exports) {
    printf("\nexports (%u):\n", c.exports);
    for (uint32_t i = 0; i < c.exports; i++) {
      WasyncExportInfo ex;
      wasync_module_export(m, i, &ex);
      printf("  %5u  %-6s %-6u %.*s\n", i, wasync_cli_kind_name(ex.kind),
             ex.index, (int)ex.name_len, ex.name);
    }
  }
  if (c.funcs) {
    printf("\nfunctions (%u):\n", c.funcs);
    printf("  %5s  %5s %10s %10s  %s\n", "index", "type", "offset", "size",
           "name");
    for (uint32_t i = 0; i < c.funcs; i++) {
      WasyncFuncInfo f;
      wasync_module_func(m, i, &f);
      if (f.imported)
        printf("  %5u  %5u %10s %10s  ", i, f.type, "import", "-");
      else
        printf("  %5u  %5u %#10llx %10llu  ", i, f.type,
               (unsigned long long)f.body_offset,
               (unsigned long long)f.body_size);
      if (f.name)
        printf("%.*s\n", (int)f.name_len, f.name);
      else
        printf("-\n");
    }
  }
}

int wasync_cli_info(int argc, char **argv) {
  const char *path = NULL;
  for (int i = 1; i < argc; i++) {
    if (wasync_cli_is_help(argv[i])) {
      printf("usage: wasync info FILE\n\n"
             "Prints a module's sections (id, name, offset, size), entity "
             "counts,\nimports, exports and functions (names from the name "
             "section, body\noffsets and sizes).\n");
      return 0;
    }
    if (argv[i][0] == '-' && argv[i][1] != '\0')
      return wasync_cli_usage_error("info", "unknown option");
    if (path) return wasync_cli_usage_error("info", "one input file expected");
    path = argv[i];
  }
  if (!path) return wasync_cli_usage_error("info", "no input file");
  WasyncCliInput input;
  if (!wasync_cli_open_input(path, &input)) return 1;
  WasyncError err = {0};
  WasyncModule *m = wasync_module_decode(input.data, input.size, NULL, &err);
  if (!m) {
    wasync_cli_error(path, &err);
    wasync_cli_close_input(&input);
    return 1;
  }
  print_info(path, input.size, m);
  wasync_module_free(m);
  wasync_cli_close_input(&input);
  return 0;
}
