#!/usr/bin/env node
// wasync.mjs -- `npx wasync COMMAND ...`: the wasync CLI without a C
// toolchain.  The CLI built for wasm32-wasi (wasync.wasm, next to this
// package's index.js; the same C sources as the native `wasync`) runs
// under Node's WASI with the real arguments, working directory, standard
// streams and exit code, so its output files are byte for byte those of
// the native CLI.  `cc` and `run` are JavaScript commands
// (js/commands/cc.js, run.js), dispatched here.  As a module it exports
// runCli(argv, options) -> exit code, the same run without a new process.
import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const JS_COMMANDS = new Set(["cc", "run"]);

function fail(message) {
  process.stderr.write(`wasync: ${message}\n`);
  return 1;
}

async function runJsCommand(name, argv) {
  const file = path.join(here, "..", "commands", `${name}.js`);
  if (!existsSync(file))
    return fail(`the '${name}' command is not part of this build (${file} is missing); update the wasync package`);
  const mod = await import(new URL(`../commands/${name}.js`, import.meta.url));
  if (typeof mod.main !== "function") return fail(`${file} exports no main(argv)`);
  return await mod.main(argv);
}

// The CLI may name any file: the whole file system is preopened as "/",
// and the working directory passed as PWD (cli/main.c enters it, so that
// wasi-libc resolves relative paths the way the native CLI does).

// The compiled CLI, once per process: runCli() may run it many times.
let compiled = null;
function compileCli() {
  compiled ??= (async () => {
    const file = path.join(here, "..", "wasync.wasm");
    let bytes;
    try {
      bytes = await readFile(file);
    } catch {
      throw new Error(`wasync: ${file} is missing: this package was packed without its wasm build (run 'make wasm' in the wasync repository, then pack again)`);
    }
    return WebAssembly.compile(bytes);
  })();
  compiled.catch(() => (compiled = null));
  return compiled;
}

// node:wasi announces itself as experimental on stderr; the CLI's stderr
// must carry the CLI's output only.
let quieted = false;
function quietWasiWarning() {
  if (quieted) return;
  quieted = true;
  const emit = process.emitWarning;
  process.emitWarning = (w, ...rest) => {
    if (String(w?.message ?? w).includes("WASI")) return;
    return emit.call(process, w, ...rest);
  };
}

async function runWasm(argv, { cwd = process.cwd(), stdin = 0, stdout = 1, stderr = 2 } = {}) {
  let module;
  try {
    module = await compileCli();
  } catch (e) {
    return fail(String(e.message).replace(/^wasync: /, ""));
  }
  quietWasiWarning();
  const { WASI } = await import("node:wasi");
  const wasi = new WASI({
    version: "preview1",
    args: ["wasync", ...argv],
    env: { PWD: cwd },
    preopens: { "/": "/" },
    stdin,
    stdout,
    stderr,
    returnOnExit: true,
  });
  const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
  return wasi.start(instance);
}

// runCli(argv, { cwd, stdin, stdout, stderr }) -> exit code: the wasm CLI
// (or a JavaScript command) with these arguments, in this process, as
// `npx wasync ARGV...` would run it.  cwd (default process.cwd()) is the
// directory relative paths are resolved from; stdin/stdout/stderr are file
// descriptors (default 0, 1, 2) for the wasm CLI.  The module is compiled on
// the first call only, so a caller may run many commands cheaply (the
// test-wasm suite runs it on every spec module).
export async function runCli(argv, options = {}) {
  if (JS_COMMANDS.has(argv[0])) return runJsCommand(argv[0], argv.slice(1));
  return runWasm(argv, options);
}

export const main = (argv) => runCli(argv);

const invoked = process.argv[1] && path.resolve(process.argv[1]);
if (invoked === fileURLToPath(import.meta.url) || (invoked && existsSync(invoked) && (await import("node:fs")).realpathSync(invoked) === fileURLToPath(import.meta.url))) {
  process.exitCode = await main(process.argv.slice(2));
}
