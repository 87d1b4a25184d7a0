// run.mjs -- the test-wasm suite: wasync built for WebAssembly, as npm users
// get it, gives byte for byte what the native CLI gives.
//
//   node tests/wasm/run.mjs [--quick] [--spec-only] [--filter=NAME,...]
//
// --spec-only: steps 1, 3 and the cheap checks only (no real-world modules,
// no browsers), to time or debug the spec comparison.
//
// 1. `npm pack js/` and `npm install <tarball>` into a fresh temporary
//    project (no network: the package has no dependencies).
// 2. `npx wasync asyncify IN -o OUT` there, with a PATH holding only Node's
//    own directory (no clang, no build/wasync), on QuickJS (ours), QuickJS
//    from quickjs-emscripten, sql.js and esbuild.wasm, with and without
//    `--asserts --split-rewind=1` (esbuild: default options only, it is the
//    slow one): OUT must equal build/wasync's output.  Plus validate and a
//    malformed input (same message, exit 1, no output file).
// 3. Every valid module of the spec suites (tests/spec, when ../shared has
//    them; skipped loudly otherwise) through the installed package's
//    `wasync/transform` in one process: asyncify(bytes) must equal
//    build/wasync asyncify's output, or both must fail with the same error;
//    and through the CLI build (wasync.wasm) by the installed package's bin
//    entry, bin/wasync.mjs's runCli(["asyncify", IN, "-o", OUT]) in two
//    worker threads (cli-worker.mjs; what `npx wasync` runs, without a
//    process per module): OUT
//    must equal build/wasync's output, or both exit alike with the same
//    stderr and no output file.
// 4. The package carries its wasm files and the `wasync` bin.
// 5. On-the-fly asyncify in Node 20 (no JSPI): instantiate() of a plain
//    module runs it in asyncify mode; the second load hits the cache.
// 6. Chromium, Firefox and WebKitGTK (tests/wasm/browser.mjs): wasync/transform in a page and a
//    worker gives the native bytes; on-the-fly asyncify hits the Cache API.
// Prints `wasm: N passed, N failed`.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const args = process.argv.slice(2);
const quick = args.includes("--quick");
const specOnly = args.includes("--spec-only");
const filterArg = args.find((a) => a.startsWith("--filter="));
const filter = filterArg ? filterArg.slice(9).split(",") : null;
const NATIVE = path.join(ROOT, "build/wasync");

let passed = 0, failed = 0;
function check(ok, what, detail = "") {
  if (ok) passed++;
  else {
    failed++;
    console.log(`FAIL ${what}${detail ? `: ${detail}` : ""}`);
  }
  return ok;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "wasync-wasm-test-"));
process.on("exit", () => fs.rmSync(tmp, { recursive: true, force: true }));

// ---- 1. pack and install -------------------------------------------------
for (const f of ["js/wasync.wasm", "js/wasync-transform.wasm", "build/wasync"])
  if (!fs.existsSync(path.join(ROOT, f))) {
    console.log(`wasm: ${f} is missing (run make)`);
    console.log("wasm: 0 passed, 1 failed");
    process.exit(1);
  }
const pack = spawnSync("npm", ["pack", "--silent", "--pack-destination", tmp, path.join(ROOT, "js")], { encoding: "utf8" });
const tgz = pack.stdout.trim().split("\n").pop();
if (!check(pack.status === 0 && tgz && fs.existsSync(path.join(tmp, tgz)), "npm pack js/", pack.stderr)) process.exit(1);
const listing = spawnSync("tar", ["tzf", path.join(tmp, tgz)], { encoding: "utf8" }).stdout;
for (const f of ["package/wasync.wasm", "package/wasync-transform.wasm", "package/bin/wasync.mjs", "package/transform.js"])
  check(listing.split("\n").includes(f), `the tarball holds ${f}`);
const project = path.join(tmp, "project");
fs.mkdirSync(project);
fs.writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "fresh", version: "1.0.0", private: true }));
const install = spawnSync("npm", ["install", "--offline", "--no-audit", "--no-fund", path.join(tmp, tgz)], { cwd: project, encoding: "utf8" });
if (!check(install.status === 0, "npm install <tarball> in a fresh project", install.stderr)) process.exit(1);

// A PATH with node, npm, npx and sh only (links in a directory of their own):
// no clang, no native wasync.
const nodeDir = path.join(tmp, "bin");
fs.mkdirSync(nodeDir);
for (const tool of ["node", "npm", "npx", "sh"]) {
  const found = spawnSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim();
  if (found) fs.symlinkSync(fs.realpathSync(found), path.join(nodeDir, tool));
}
const env = { PATH: nodeDir, HOME: tmp, npm_config_cache: path.join(tmp, "npm-cache"), npm_config_offline: "true", npm_config_update_notifier: "false" };
check(spawnSync("sh", ["-c", "command -v clang || command -v cc || command -v wasync"], { env, encoding: "utf8" }).status !== 0, "the PATH has no C compiler and no native wasync");

function npx(argv) {
  return spawnSync("npx", ["--no-install", "wasync", ...argv], { cwd: project, env, encoding: "buffer", maxBuffer: 1 << 28 });
}
function native(argv) {
  return spawnSync(NATIVE, argv, { encoding: "buffer", maxBuffer: 1 << 28 });
}
const same = (a, b) => a && b && a.length === b.length && Buffer.compare(a, b) === 0;

// ---- 2. the CLI on real-world modules ------------------------------------
const { prepareModules } = await import(pathToFileURL(path.join(ROOT, "tests/realworld/modules.mjs")));
const wanted = ["qjs", "quickjs-release-sync", "sqljs", "esbuild"].filter((k) => !specOnly && (!filter || filter.some((f) => k.includes(f))));
const mods = prepareModules(path.join(ROOT, "tests/realworld/out"), wanted);
for (const m of mods) {
  const variants = m.kind === "esbuild" || quick ? [[]] : [[], ["--asserts", "--split-rewind=1"]];
  for (const extra of variants) {
    const w = path.join(tmp, "w.wasm"), n = path.join(tmp, "n.wasm");
    const t0 = Date.now();
    const a = npx(["asyncify", m.path, "-o", w, ...extra]);
    const t1 = Date.now();
    const b = native(["asyncify", m.path, "-o", n, ...extra]);
    const t2 = Date.now();
    const label = `npx wasync asyncify ${m.name} ${extra.join(" ")}`.trim();
    if (check(a.status === 0 && b.status === 0, label, `exit ${a.status}/${b.status} ${a.stderr}${b.stderr}`))
      check(same(fs.readFileSync(w), fs.readFileSync(n)), `${label}: byte-identical to build/wasync`);
    console.log(`ok   ${label} (wasm ${t1 - t0} ms, native ${t2 - t1} ms)`);
    fs.rmSync(w, { force: true });
    fs.rmSync(n, { force: true });
  }
  const v = npx(["validate", m.path]);
  check(v.status === 0 && v.stderr.length === 0, `npx wasync validate ${m.name}`, String(v.stderr));
}
// Relative paths from a subdirectory, and a malformed input.
const sub = path.join(project, "sub");
fs.mkdirSync(sub);
const bad = path.join(project, "bad.wasm");
fs.writeFileSync(bad, Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1]));
{
  const r = spawnSync("npx", ["--no-install", "wasync", "asyncify", "../bad.wasm", "-o", "../bad-out.wasm"], { cwd: sub, env, encoding: "utf8" });
  const nr = spawnSync(NATIVE, ["asyncify", "../bad.wasm", "-o", "../bad-out.wasm"], { cwd: sub, encoding: "utf8" });
  check(r.status === 1 && r.stderr === nr.stderr && nr.stderr.includes("../bad.wasm:0x9: error: unexpected end"), "npx wasync: a malformed input fails as natively", r.stderr);
  check(!fs.existsSync(path.join(project, "bad-out.wasm")), "npx wasync: no output file after an error");
  const u = spawnSync("npx", ["--no-install", "wasync", "frobnicate"], { cwd: project, env, encoding: "utf8" });
  check(u.status === 2 && u.stderr.startsWith("wasync: unknown command 'frobnicate'"), "npx wasync: unknown command exits 2", u.stderr);
}

// ---- 3. the spec suites' valid modules through wasync/transform ------------
const transform = await import(pathToFileURL(path.join(project, "node_modules/wasync/transform.js")));
const api = await transform.loadTransform();
let specModules = [];
const { SHARED } = await import(pathToFileURL(path.join(ROOT, "tests/spec/common.mjs")));
const specDir = path.join(SHARED, "spec-testsuite");
if (quick) {
  console.log("SKIP spec modules (--quick)");
} else if (!fs.existsSync(specDir)) {
  console.log(`SKIP spec modules: ${specDir} is absent`);
} else {
  const { discover, loadCommands, isValidModuleCommand } = await import(pathToFileURL(path.join(ROOT, "tests/spec/common.mjs")));
  const { scripts } = discover({ filter });
  const seen = new Set();
  for (const s of scripts) {
    if (!s.json) continue;
    for (const c of loadCommands(s)) {
      if (!isValidModuleCommand(c)) continue;
      const file = path.join(s.base, c.filename);
      if (seen.has(file) || !fs.existsSync(file)) continue;
      seen.add(file);
      specModules.push(file);
    }
  }
  let same_ = 0, bothFail = 0, cliSame = 0, cliBothFail = 0;
  const t0 = Date.now();
  let wasmMs = 0;
  // The CLI build (wasync.wasm) through the installed package's bin entry,
  // runCli() in child processes (tests/wasm/cli-worker.mjs): `npx wasync
  // asyncify IN -o OUT` without a process per module.  Two processes at a
  // time, each on a chunk of 200 modules, while this thread runs the
  // native CLI and wasync/transform.
  const { fork } = await import("node:child_process");
  const cliResults = new Map();
  let cliMs = 0;
  const CHUNK = 200; // Node 20 crashed around the 400th instance in one process (see below)
  const chunks = [];
  for (let i = 0; i < specModules.length; i += CHUNK) chunks.push(specModules.slice(i, i + CHUNK));
  // Node 20 itself crashes now and then (SIGSEGV in worker threads and child
  // processes alike, twice in one run at the 400th module of a 500-module
  // process; the module that was running passes when run again), hence
  // chunks of 200.
  // A crashed process is restarted on the files it had not reported; the
  // same file crashing twice fails the test, and so do more than 5
  // restarts in a run.  Each restart is printed.
  let restarts = 0;
  const runChild = (lane, files) =>
    new Promise((resolve) => {
      const w = fork(fileURLToPath(new URL("./cli-worker.mjs", import.meta.url)), [], { serialization: "advanced" });
      let done = false;
      w.on("message", (m) => {
        if (m.done) done = true;
        else cliResults.set(m.file, { ...m, out: m.out ? Buffer.from(m.out) : null });
      });
      w.on("error", (e) => resolve({ ok: false, why: e.message }));
      w.on("exit", (code, signal) =>
        resolve(code === 0 && done ? { ok: true } : { ok: false, why: `cli-worker exited ${signal ?? code}${done ? "" : " before it was done"}` }));
      w.send({ bin: path.join(project, "node_modules/wasync/bin/wasync.mjs"), files, tmp, id: lane });
    });
  const cliLane = async (lane) => {
    for (let c; (c = chunks.shift()); ) {
      const c0 = Date.now();
      let files = c, lastCrash = null;
      for (;;) {
        const r = await runChild(lane, files);
        if (r.ok) break;
        const left = files.filter((f) => !cliResults.has(f));
        const at = left[0];
        if (!at) { // every file reported: it ended badly after its work
          console.log(`note the CLI build's worker: ${r.why} after reporting every file`);
          break;
        }
        if (at === lastCrash || ++restarts > 5) {
          check(false, "the CLI build's worker", `${r.why}${at ? ` at ${at}` : ""} (${restarts} restarts)`);
          break;
        }
        console.log(`note the CLI build's worker: ${r.why} at ${path.basename(at)}; restarted on the ${left.length} files it had not reported`);
        lastCrash = at;
        files = left;
      }
      cliMs += Date.now() - c0;
    }
  };
  const cliDone = Promise.all([cliLane(0), cliLane(1)]);
  // The native CLI is one process per module: four at a time.
  const { execFile } = await import("node:child_process");
  const nativeOut = (file) =>
    new Promise((resolve) =>
      execFile(NATIVE, ["asyncify", file, "-o", "-"], { encoding: "buffer", maxBuffer: 1 << 28 }, (error, stdout, stderr) =>
        resolve({ status: error ? error.code : 0, stdout, stderr })));
  const nativeResults = new Map();
  let next = 0;
  const compareOne = async () => {
    while (next < specModules.length) {
      const file = specModules[next++];
      const r = await nativeOut(file);
      nativeResults.set(file, r);
      const bytes = fs.readFileSync(file);
      let mine, err = null;
      const w0 = Date.now();
      try {
        mine = api.asyncify(bytes, { name: file });
      } catch (e) {
        err = e;
      }
      wasmMs += Date.now() - w0;
      if (r.status === 0) {
        if (check(!err, `transform.asyncify ${file}`, err?.message) && check(same(Buffer.from(mine), r.stdout), `transform.asyncify ${file}: byte-identical`)) same_++;
      } else {
        const want = r.stderr.toString().trim().replace(/: error: /, ": ");
        if (check(err && `wasync: ${want}` === err.message, `transform.asyncify ${file} fails as natively`, `${err?.message} vs ${want}`)) bothFail++;
      }
    }
  };
  await Promise.all([compareOne(), compareOne(), compareOne(), compareOne()]);
  const nativeDoneMs = Date.now() - t0;
  await cliDone;
  for (const file of specModules) {
    const r = nativeResults.get(file), c = cliResults.get(file);
    if (!check(c, `wasync.wasm asyncify ${file}: ran`)) continue;
    if (r.status === 0) {
      if (check(c.code === 0 && c.out, `wasync.wasm asyncify ${file}`, `exit ${c.code}: ${c.stderr}`) && check(same(Buffer.from(c.out), r.stdout), `wasync.wasm asyncify ${file}: byte-identical to build/wasync`)) cliSame++;
    } else if (check(c.code === r.status && c.stderr === r.stderr.toString() && !c.out, `wasync.wasm asyncify ${file} fails as natively (exit, stderr, no output)`, `exit ${c.code} vs ${r.status}: ${c.stderr} vs ${r.stderr}`)) cliBothFail++;
  }
  console.log(`ok   spec modules through wasync/transform: ${specModules.length} (${same_} byte-identical, ${bothFail} rejected alike)`);
  console.log(`ok   spec modules through the CLI build (bin/wasync.mjs runCli): ${specModules.length} (${cliSame} byte-identical, ${cliBothFail} rejected alike)`);
  console.log(`     in ${Date.now() - t0} ms (native processes + transform ${nativeDoneMs} ms, of it transform ${wasmMs} ms; CLI build: ${cliMs} ms of worker time in 2 workers, ${restarts} restarts)`);
}

// validate and info through the package
{
  const q = mods.find((m) => m.kind === "quickjs-release-sync") ?? mods[0];
  if (q) {
    const bytes = fs.readFileSync(q.path);
    check((await transform.validate(bytes)).valid === true, "transform.validate: a valid module");
    const inf = await transform.info(bytes);
    const text = native(["info", q.path]).stdout.toString();
    check(text.includes(`functions (${inf.counts.functions}):`) && text.includes(`imports (${inf.imports.length}):`), "transform.info agrees with wasync info");
  }
  const v = await transform.validate(fs.readFileSync(bad), { name: "in.wasm" });
  check(!v.valid && v.error === "wasync: in.wasm:0x9: unexpected end (reading section size)" && v.offset === 9, "transform.validate: error with offset", JSON.stringify(v));
  try {
    await transform.asyncify(fs.readFileSync(bad), { name: "in.wasm" });
    check(false, "transform.asyncify throws on a malformed module");
  } catch (e) {
    check(e instanceof transform.TransformError && e.message === "wasync: in.wasm:0x9: unexpected end (reading section size)" && e.offset === 9, "transform.asyncify throws with message and offset", e.message);
  }
}

// ---- 5. on-the-fly asyncify through instantiate() (no JSPI here) ----------
{
  const runtime = await import(pathToFileURL(path.join(project, "node_modules/wasync/index.js")));
  const hasJspi = typeof WebAssembly.Suspending === "function";
  if (hasJspi) {
    console.log(`SKIP on-the-fly asyncify: this Node (${process.version}) has JSPI; run the suite with Node 20`);
  } else {
    const plain = fs.readFileSync(path.join(ROOT, "tests/regress/pass-arg-short.wasm"));
    const cacheDir = path.join(tmp, "cache");
    const runs = [];
    for (let i = 0; i < 2; i++) {
      const stages = [];
      let slept = 0;
      const inst = await runtime.instantiate(plain, {
        env: { sleep: (n) => new Promise((r) => setTimeout(() => r((slept += n)), n)) },
      }, { autoAsyncify: { cacheDir, onProgress: (p) => stages.push(p.stage) } });
      const result = await inst.exports.run(3);
      runs.push({ mode: inst.mode, result, slept, stages });
    }
    check(runs.every((r) => r.mode === "asyncify" && r.result === 4 && r.slept === 3), "instantiate(plain module) without JSPI: asyncified on the fly, the import suspends", JSON.stringify(runs));
    check(runs[0].stages.includes("transform") && !runs[0].stages.includes("cache-hit"), "first load: transformed", runs[0].stages.join(","));
    check(runs[1].stages.includes("cache-hit") && !runs[1].stages.includes("transform"), "second load: from the cache", runs[1].stages.join(","));
    check(fs.readdirSync(cacheDir).filter((f) => f.endsWith(".wasm")).length === 1, "one cache entry");
    let refused = null;
    try {
      await runtime.instantiate(plain, { env: { sleep: () => {} } }, { autoAsyncify: false, modes: ["jspi", "asyncify"] });
    } catch (e) {
      refused = e;
    }
    check(refused && refused.message.startsWith("wasync: no way to run async imports here"), "autoAsyncify: false keeps the old refusal", refused?.message);
  }
}

// ---- 6. in a browser (Chromium) -------------------------------------------------
if (!quick && !specOnly) {
  const { browserChecks } = await import(pathToFileURL(path.join(ROOT, "tests/wasm/browser.mjs")));
  await browserChecks(ROOT, check);
}

console.log(`wasm: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
