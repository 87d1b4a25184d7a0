/*
 * validate.c -- `wasync validate [--threads N] FILE...`: decode and validate
 * each module; prints nothing for a valid one.
 */
#include "cli.h"

#include <string.h>

static int check_file(const char *path, unsigned threads) {
  WasyncCliInput input;
  if (!wasync_cli_open_input(path, &input)) return 1;
  WasyncError err = {0};
  WasyncDecodeOptions dopt = {.defer_body_checks = true, /* validated next */
                              .threads = threads};
  WasyncModule *m = wasync_module_decode(input.data, input.size, &dopt, &err);
  int rc = 0;
  if (!m || !wasync_module_validate(m, &err)) {
    wasync_cli_error(path, &err);
    rc = 1;
  }
  wasync_module_free(m);
  wasync_cli_close_input(&input);
  return rc;
}

int wasync_cli_validate(int argc, char **argv) {
  int nfiles = 0, rc = 0;
  unsigned threads = wasync_cli_default_threads();
  for (int i = 1; i < argc; i++) {
    if (wasync_cli_is_help(argv[i])) {
      printf("usage: wasync validate [--threads N] FILE...\n\n"
             "Decodes and validates each module.  Prints nothing for valid "
             "modules;\nfor an invalid one prints FILE:0xOFFSET: error: "
             "MESSAGE and exits 1.\n\n" WASYNC_CLI_THREADS_HELP);
      return 0;
    }
    if (strcmp(argv[i], "--threads") == 0) {
      if (!wasync_cli_parse_threads("validate", i + 1 < argc ? argv[i + 1] : 0,
                                    &threads))
        return 2;
      i++;
    } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
      return wasync_cli_usage_error("validate", "unknown option");
    }
  }
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--threads") == 0) {
      i++;
      continue;
    }
    nfiles++;
    if (check_file(argv[i], threads) != 0) rc = 1;
  }
  if (nfiles == 0) return wasync_cli_usage_error("validate", "no input files");
  return rc;
}
