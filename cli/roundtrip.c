/*
 * roundtrip.c -- `wasync roundtrip [--reencode] [--threads N] IN -o OUT`:
 * decode, validate and encode again (a canonical module comes back byte for
 * byte).
 */
#include "cli.h"

#include <string.h>

int wasync_cli_roundtrip(int argc, char **argv) {
  const char *in = NULL, *out = NULL;
  bool reencode = false;
  unsigned threads = wasync_cli_default_threads();
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (wasync_cli_is_help(a)) {
      printf("usage: wasync roundtrip [--reencode] [--threads N] IN -o OUT\n\n"
             "Decodes and validates IN and encodes it again to OUT.  "
             "Unchanged function\nbodies are copied; with --reencode every "
             "body and constant expression is\nre-encoded instruction by "
             "instruction.  A canonically encoded module\ncomes back byte "
             "for byte.\n\n" WASYNC_CLI_THREADS_HELP);
      return 0;
    } else if (strcmp(a, "--reencode") == 0) {
      reencode = true;
    } else if (strcmp(a, "--threads") == 0) {
      if (!wasync_cli_parse_threads("roundtrip", i + 1 < argc ? argv[i + 1] : 0,
                                    &threads))
        return 2;
      i++;
    } else if (strcmp(a, "-o") == 0) {
      if (i + 1 >= argc)
        return wasync_cli_usage_error("roundtrip", "-o needs a file");
      out = argv[++i];
    } else if (a[0] == '-' && a[1] != '\0') {
      return wasync_cli_usage_error("roundtrip", "unknown option");
    } else if (in) {
      return wasync_cli_usage_error("roundtrip", "one input file expected");
    } else {
      in = a;
    }
  }
  if (!in) return wasync_cli_usage_error("roundtrip", "no input file");
  if (!out) return wasync_cli_usage_error("roundtrip", "no output (-o OUT)");
  WasyncCliInput input;
  if (!wasync_cli_open_input(in, &input)) return 1;
  WasyncError err = {0};
  WasyncDecodeOptions dopt = {.defer_body_checks = true, /* validated next */
                              .threads = threads,
                              /* one decoding per body */
                              .reencode_in_validate = reencode};
  WasyncModule *m = wasync_module_decode(input.data, input.size, &dopt, &err);
  int rc = 1;
  if (!m || !wasync_module_validate(m, &err)) {
    wasync_cli_error(in, &err);
  } else {
    WasyncEncodeOptions opts = {reencode};
    uint8_t *bytes;
    size_t n;
    if (!wasync_module_encode(m, &opts, &bytes, &n, &err)) {
      wasync_cli_error(in, &err);
    } else {
      if (wasync_cli_write_file(out, bytes, n)) rc = 0;
      wasync_buffer_free(m, bytes);
    }
  }
  wasync_module_free(m);
  wasync_cli_close_input(&input);
  return rc;
}
