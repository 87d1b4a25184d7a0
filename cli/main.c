/*
 * main.c -- the `wasync` executable: the command table (cli/commands.c)
 * run on the process's arguments.  The only file left out when the CLI's
 * commands are linked into a test or another entry point.
 *
 * Built for WASI (`npx wasync`, js/bin/wasync.mjs), the host preopens the
 * file system root and passes the working directory as PWD: wasi-libc
 * starts in "/" and resolves relative paths against its own working
 * directory, so it moves there first.
 */
#include "cli.h"

#if defined(__wasi__)
#include <stdlib.h>
#include <unistd.h>
#endif

int main(int argc, char **argv) {
#if defined(__wasi__)
  const char *pwd = getenv("PWD");
  if (pwd && *pwd && chdir(pwd) != 0) {
    fprintf(stderr, "wasync: cannot enter the working directory %s\n", pwd);
    return 1;
  }
#endif
  return wasync_cli_main(argc, argv);
}
