// cli-worker.mjs -- a child process of tests/wasm/run.mjs: runs the CLI
// build (wasync.wasm) through the installed package's bin entry,
// runCli(["asyncify", IN, "-o", OUT]), on each file of the job it receives
// ({ bin, files, tmp, id }) and sends { file, code, stderr, out } for each
// (out: the output's bytes, or null when no file was written), then
// { done: true }, and exits.
//
// A process per chunk of files, not the test's own thread: every node:wasi
// instance keeps the directory it preopens ("/") open until it is garbage
// collected, and ending the process closes them all, so a run over
// thousands of modules stays far from the open-file limit.  Two such
// processes run at once, one per core.  (Worker threads did the same, but
// Node 20 crashed with SIGSEGV in one of three full runs, around a worker's
// teardown with node:wasi instances alive; a process ends cleanly.)
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const { bin, files, tmp, id } = await new Promise((resolve) => process.once("message", resolve));
const { runCli } = await import(pathToFileURL(bin));
const send = (m) => new Promise((resolve, reject) => process.send(m, (e) => (e ? reject(e) : resolve())));
const out = path.join(tmp, `spec-cli-${id}.wasm`), err = path.join(tmp, `spec-cli-${id}.err`);
for (const file of files) {
  fs.rmSync(out, { force: true });
  const fd = fs.openSync(err, "w");
  let code;
  try {
    code = await runCli(["asyncify", file, "-o", out], { stdout: fd, stderr: fd });
  } finally {
    fs.closeSync(fd);
  }
  const bytes = fs.existsSync(out) ? fs.readFileSync(out) : null;
  await send({ file, code, stderr: fs.readFileSync(err, "utf8"), out: bytes });
}
await send({ done: true });
process.disconnect();
