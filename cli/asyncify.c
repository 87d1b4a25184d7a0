/*
 * asyncify.c -- `wasync asyncify IN -o OUT [options]`: Binaryen's Asyncify
 * transform (`wasm-opt --asyncify IN -o OUT` drop-in).
 *
 * Options come as wasync flags or as Binaryen's --pass-arg spellings:
 *   --imports LIST          --pass-arg=asyncify-imports@LIST
 *   --ignore-imports        --pass-arg=asyncify-ignore-imports
 *   --ignore-indirect       --pass-arg=asyncify-ignore-indirect
 *   --precise-indirect      --pass-arg=asyncify-precise-indirect (wasync's)
 *   --add-list LIST         --pass-arg=asyncify-addlist@LIST
 *   --propagate-add         --pass-arg=asyncify-propagate-addlist
 *   --remove-list LIST      --pass-arg=asyncify-removelist@LIST
 *   --only-list LIST        --pass-arg=asyncify-onlylist@LIST
 *   --asserts               --pass-arg=asyncify-asserts
 *   --split-rewind auto|N|never   (wasync only) rewind-only copies
 *   --import-globals        --pass-arg=asyncify-relocatable / -import-globals
 *   --export-globals        --pass-arg=asyncify-export-globals
 *   --memory N|NAME         --pass-arg=asyncify-memory@N|NAME
 *   --verbose               (wasync's list of instrumented functions)
 *   (Binaryen's report)     --pass-arg=asyncify-verbose
 *   --why NAME              the call chain that makes NAME instrumented
 *   --enable-multivalue, --all-features / --mvp-features,
 *   --disable-multivalue / --detect-features: may the output use
 *                           multi-value (default: if the input does)
 *   --strict-lists          list entries matching nothing are errors
 *   --quiet-imports         ... and no warning for the import list
 *   --diag-omit KINDS       (hidden; bench/asyncify-breakdown.mjs only) leave
 *                           out kinds of added code: checks,entry,dispatch,
 *                           trampoline,conds,save -- the output cannot
 *                           suspend
 * LIST is comma-separated (or one per line), '*' wildcards, @FILE reads it
 * from a file.  `--asyncify` and wasm-opt's other flags (--enable-*, -O*,
 * -g...) are accepted and ignored so wasm-opt command lines work.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void log_line(void *ctx, const char *line) {
  (void)ctx;
  printf("%s\n", line);
}

static void warn_line(void *ctx, const char *line) {
  (void)ctx;
  fprintf(stderr, "wasync asyncify: %s\n", line);
}

static const char usage[] =
    "usage: wasync asyncify IN -o OUT [options]\n\n"
    "Applies Binaryen's Asyncify transform (same ABI as wasm-opt --asyncify).\n"
    "  --imports LIST        imports that may unwind (module.field, '*', "
    "@file);\n"
    "                        default: every import\n"
    "  --ignore-imports      no import unwinds\n"
    "  --ignore-indirect     no indirect call unwinds\n"
    "  --precise-indirect    an imported/exported table or funcrefs crossing\n"
    "                        the boundary do not make every indirect call\n"
    "                        unwind: trust the type analysis alone\n"
    "  --add-list LIST       also instrument these functions\n"
    "  --propagate-add       ... and their callers\n"
    "  --remove-list LIST    never instrument these functions\n"
    "  --only-list LIST      instrument only these functions\n"
    "  --asserts             trap when a call assumed not to unwind does\n"
    "  --split-rewind auto|N|never\n"
    "                        give functions with many call sites that may\n"
    "                        unwind a rewind-only copy (faster normal path,\n"
    "                        larger output); auto (default): the one with\n"
    "                        the most, if >= 256 sites and <= 8% of the code;\n"
    "                        N: every function with >= N sites\n"
    "  --import-globals      import env.__asyncify_state/__asyncify_data\n"
    "  --export-globals      export __asyncify_state/__asyncify_data\n"
    "  --memory N|NAME       memory index or exported memory name for the "
    "data\n"
    "  --verbose             list instrumented functions\n"
    "  --size-report         print where the added bytes go, by category\n"
    "  --why NAME            print why NAME (function or export name, or\n"
    "                        index) is instrumented\n"
    "  --enable-multivalue   the output may use multi-value (also\n"
    "                        --all-features); --mvp-features or\n"
    "                        --disable-multivalue: never; default: when the\n"
    "                        input uses or declares it\n"
    "  --strict-lists        a list entry that matches nothing is an error\n"
    "                        (default: a warning)\n"
    "  --quiet-imports       no warning for import-list entries\n"
    "Binaryen spellings --pass-arg=asyncify-imports@LIST etc. are accepted;\n"
    "--pass-arg=asyncify-verbose prints Binaryen's report.\n";

/* --diag-omit's comma-separated kinds as WASYNC_ASYNCIFY_OMIT_* bits. */
static bool diag_omit(const char *list, uint32_t *bits) {
  static const struct {
    const char *name;
    uint32_t bit;
  } kinds[] = {{"checks", WASYNC_ASYNCIFY_OMIT_CHECKS},
               {"entry", WASYNC_ASYNCIFY_OMIT_ENTRY},
               {"dispatch", WASYNC_ASYNCIFY_OMIT_DISPATCH},
               {"trampoline", WASYNC_ASYNCIFY_OMIT_TRAMPOLINE},
               {"conds", WASYNC_ASYNCIFY_OMIT_CONDS},
               {"save", WASYNC_ASYNCIFY_OMIT_SAVE}};
  *bits = 0;
  for (const char *p = list; *p;) {
    size_t n = strcspn(p, ",");
    bool known = false;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
      if (strlen(kinds[k].name) == n && !strncmp(p, kinds[k].name, n)) {
        *bits |= kinds[k].bit;
        known = true;
      }
    if (!known) return false;
    p += n;
    if (*p == ',') p++;
  }
  return *bits != 0;
}

int wasync_cli_asyncify_options(int argc, char **argv, WasyncAsyncifyOptions *o,
                                WasyncCliLists *ls, const char **in,
                                const char **out) {
  int rc = 2;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *val = NULL;
    char key[64];
    /* --pass-arg=KEY[@VALUE], or --pass-arg / -pa then KEY[@VALUE] */
    bool pass_arg_eq = strncmp(a, "--pass-arg=", 11) == 0;
    if (pass_arg_eq || strcmp(a, "--pass-arg") == 0 || strcmp(a, "-pa") == 0) {
      const char *pa = pass_arg_eq ? a + 11 : (i + 1 < argc ? argv[++i] : "");
      const char *at = strchr(pa, '@');
      size_t kl = at ? (size_t)(at - pa) : strlen(pa);
      if (kl >= sizeof key) {
        rc = wasync_cli_usage_error("asyncify", "unknown --pass-arg");
        goto done;
      }
      memcpy(key, pa, kl);
      key[kl] = '\0';
      val = at ? at + 1 : NULL;
      a = key;
    } else if (a[0] == '-' && a[1] == '-') {
      /* --flag VALUE / --flag=VALUE */
      const char *eq = strchr(a, '=');
      size_t kl = eq ? (size_t)(eq - a) : strlen(a);
      if (kl < sizeof key) {
        memcpy(key, a, kl);
        key[kl] = '\0';
        val = eq ? eq + 1 : NULL;
        a = key;
      }
    }
#define NEEDS_VALUE()                                                          \
  do {                                                                         \
    if (!val) {                                                                \
      if (i + 1 >= argc) {                                                     \
        rc = wasync_cli_usage_error("asyncify", "missing option value");       \
        goto done;                                                             \
      }                                                                        \
      val = argv[++i];                                                         \
    }                                                                          \
  } while (0)
#define LIST(field)                                                            \
  do {                                                                         \
    NEEDS_VALUE();                                                             \
    if (!wasync_cli_parse_list(ls, val, &o->field)) {                          \
      rc = 1;                                                                  \
      goto done;                                                               \
    }                                                                          \
  } while (0)
    if (wasync_cli_is_help(a)) {
      fputs(usage, stdout);
      rc = 0;
      goto done;
    } else if (!strcmp(a, "-o")) {
      if (i + 1 >= argc) {
        rc = wasync_cli_usage_error("asyncify", "-o needs a file");
        goto done;
      }
      if (!out) {
        rc = wasync_cli_usage_error("asyncify", "no files here");
        goto done;
      }
      *out = argv[++i];
    } else if (!strcmp(a, "--imports") || !strcmp(a, "asyncify-imports")) {
      LIST(imports);
      o->imports_given = true;
    } else if (!strcmp(a, "--ignore-imports") ||
               !strcmp(a, "asyncify-ignore-imports")) {
      o->ignore_imports = true;
    } else if (!strcmp(a, "--ignore-indirect") ||
               !strcmp(a, "asyncify-ignore-indirect")) {
      o->ignore_indirect = true;
    } else if (!strcmp(a, "--precise-indirect") ||
               !strcmp(a, "asyncify-precise-indirect")) {
      o->precise_indirect = true;
    } else if (!strcmp(a, "--add-list") || !strcmp(a, "asyncify-addlist")) {
      LIST(add_list);
    } else if (!strcmp(a, "--remove-list") ||
               !strcmp(a, "asyncify-removelist")) {
      LIST(remove_list);
    } else if (!strcmp(a, "--only-list") || !strcmp(a, "asyncify-onlylist")) {
      LIST(only_list);
    } else if (!strcmp(a, "--propagate-add") ||
               !strcmp(a, "asyncify-propagate-addlist")) {
      o->propagate_add = true;
    } else if (!strcmp(a, "--asserts") || !strcmp(a, "asyncify-asserts")) {
      o->asserts = true;
    } else if (!strcmp(a, "--import-globals") ||
               !strcmp(a, "asyncify-relocatable") ||
               !strcmp(a, "asyncify-import-globals")) {
      o->import_globals = true;
    } else if (!strcmp(a, "--export-globals") ||
               !strcmp(a, "asyncify-export-globals")) {
      o->export_globals = true;
    } else if (!strcmp(a, "--memory") || !strcmp(a, "asyncify-memory")) {
      NEEDS_VALUE();
      o->memory = val;
    } else if (!strcmp(a, "--split-rewind")) {
      NEEDS_VALUE();
      char *end = NULL;
      unsigned long n = strtoul(val, &end, 10);
      if (!strcmp(val, "never")) {
        o->split_min_sites = UINT32_MAX;
      } else if (!strcmp(val, "auto")) {
        o->split_min_sites = 0;
      } else if (!end || *end || !*val || n == 0 || n >= UINT32_MAX) {
        rc = wasync_cli_usage_error(
            "asyncify",
            "--split-rewind needs auto, never or a number of call sites >= 1");
        goto done;
      } else {
        o->split_min_sites = (uint32_t)n;
      }
    } else if (!strcmp(a, "--diag-omit")) {
      NEEDS_VALUE();
      if (!diag_omit(val, &o->diag_omit)) {
        rc = wasync_cli_usage_error(
            "asyncify",
            "--diag-omit needs a list of checks, entry, dispatch, trampoline, "
            "conds, save");
        goto done;
      }
    } else if (!strcmp(a, "--verbose")) {
      o->verbose = true;
    } else if (!strcmp(a, "--size-report")) {
      o->size_report = true;
    } else if (!strcmp(a, "asyncify-verbose")) {
      o->binaryen_verbose = true;
    } else if (!strcmp(a, "--strict-lists")) {
      o->strict_lists = true;
    } else if (!strcmp(a, "--quiet-imports")) {
      o->quiet_imports = true;
    } else if (!strcmp(a, "--enable-multivalue") ||
               !strcmp(a, "--all-features") || !strcmp(a, "-all")) {
      o->multivalue = WASYNC_FEATURE_ENABLE;
    } else if (!strcmp(a, "--disable-multivalue") ||
               !strcmp(a, "--mvp-features") || !strcmp(a, "-mvp")) {
      o->multivalue = WASYNC_FEATURE_DISABLE;
    } else if (!strcmp(a, "--detect-features")) {
      o->multivalue = WASYNC_FEATURE_DETECT;
    } else if (!strcmp(a, "--why")) {
      NEEDS_VALUE();
      o->why = val;
    } else if (!strcmp(a, "--asyncify") || !strncmp(a, "--enable-", 9) ||
               !strncmp(a, "--disable-", 10) || !strncmp(argv[i], "-O", 2) ||
               !strcmp(a, "-g") || !strcmp(a, "--debuginfo") ||
               !strcmp(a, "-q") || !strcmp(a, "--quiet")) {
      /* wasm-opt flags: accepted for command-line compatibility */
    } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
      fprintf(stderr, "wasync asyncify: unknown option %s\n", argv[i]);
      rc = 2;
      goto done;
    } else if (in && !*in) {
      *in = argv[i];
    } else if (!in) {
      rc = wasync_cli_usage_error("asyncify", "no files here");
      goto done;
    } else {
      rc = wasync_cli_usage_error("asyncify", "more than one input file");
      goto done;
    }
  }
  return -1;
done:
  return rc;
}

int wasync_cli_asyncify(int argc, char **argv) {
  WasyncAsyncifyOptions o;
  memset(&o, 0, sizeof o);
  o.log = log_line;
  o.warn = warn_line;
  WasyncCliLists ls;
  memset(&ls, 0, sizeof ls);
  const char *in = NULL, *out = NULL;
  int rc = wasync_cli_asyncify_options(argc, argv, &o, &ls, &in, &out);
  if (rc >= 0) goto done;
  if (!in) {
    rc = wasync_cli_usage_error("asyncify", "no input file");
    goto done;
  }
  if (!out) {
    rc = wasync_cli_usage_error("asyncify", "no output file (-o OUT)");
    goto done;
  }
  {
    WasyncCliInput input;
    rc = 1;
    if (!wasync_cli_open_input(in, &input)) goto done;
    WasyncError err;
    memset(&err, 0, sizeof err);
    WasyncModule *m = wasync_module_decode(input.data, input.size, NULL, &err);
    uint8_t *bytes = NULL;
    size_t nbytes = 0;
    if (m && wasync_module_validate(m, &err) && wasync_asyncify(m, &o, &err) &&
        wasync_module_encode(m, NULL, &bytes, &nbytes, &err)) {
      if (wasync_cli_write_file(out, bytes, nbytes)) rc = 0;
      wasync_buffer_free(m, bytes);
    } else {
      wasync_cli_error(in, &err);
    }
    wasync_module_free(m);
    wasync_cli_close_input(&input);
  }
done:
  wasync_cli_lists_free(&ls);
  return rc;
}
