// cli-worker.mjs -- a worker thread of tests/wasm/run.mjs: runs the CLI
// build (wasync.wasm) through the installed package's bin entry,
// runCli(["asyncify", IN, "-o", OUT]), on each file of workerData.files and
// posts { file, code, stderr, out } for each (out: the output's bytes, or
// null when no file was written), then { done: true }.
//
// A worker per chunk of files, not the test's own thread: every node:wasi
// instance keeps the directory it preopens ("/") open until it is garbage
// collected, and ending the worker closes them all, so a run over thousands
// of modules stays far from the open-file limit.  Two such workers run at
// once, one per core.
import fs from "node:fs";
import path from "node:path";
import { parentPort, workerData } from "node:worker_threads";
import { pathToFileURL } from "node:url";

const { bin, files, tmp, id } = workerData;
const { runCli } = await import(pathToFileURL(bin));
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
  parentPort.postMessage({ file, code, stderr: fs.readFileSync(err, "utf8"), out: bytes });
}
parentPort.postMessage({ done: true });
