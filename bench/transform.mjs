// transform.mjs -- wasync built for WebAssembly (the npm package's
// transform) against the native CLI and npm `binaryen` (v132, Emscripten-
// built wasm + JS), in one run.
//
//   node bench/transform.mjs [--runs N] [--big-runs N] [--binaryen-runs N]
//                            [--only NAME,...] [--no-binaryen] [--no-binaryen-esbuild]
//                            [--binaryen-pages NAME,...] [--no-sizes]
//                            [--engines webkit,chromium,firefox] [--no-browsers]
//                            [--pages-only]
//
// --pages-only: in Node only the native CLI (once per input: its time and
// the hash the pages' outputs must equal), then the pages; for a machine
// too loaded to afford the whole run.
//
// --runs (default 15: Chromium's tier-up needs ~10 calls of ~100 ms before
// its steady state; with 3 it measured 184 ms where 15 give 75-86 ms) is for
// inputs under 4 MB; esbuild.wasm (14 MB, ~20 s of
// CPU per transform) gets --big-runs (default 1).  npm binaryen runs in the
// pages on the inputs named by --binaryen-pages (default quickjs-emscripten:
// a minute or more per engine on QuickJS; esbuild.wasm would take many).
//
// Prints:
//   - download size of the transform: js/wasync-transform.wasm (what
//     wasync/transform loads) and js/wasync.wasm (npx wasync), raw, gzip -9
//     and brotli -11, next to npm binaryen's index.js and bin/wasm-opt (its
//     wasm is embedded in the JS), with ratios;
//   - time to asyncify QuickJS (@jitl/quickjs-wasmfile-release-sync; and
//     our qjs.wasm when built) and esbuild.wasm (every import async):
//       wasm    wasync/transform in this process: first call (load + compile
//               + transform, Liftoff code) and steady state (median of N
//               after one warm-up call)
//       npx     `node js/bin/wasync.mjs asyncify IN -o OUT` (a process; what
//               `npx wasync` runs, without npx's own start-up)
//       native  build/wasync asyncify IN -o OUT (a process)
//       binaryen `node node_modules/binaryen/bin/wasm-opt IN --asyncify -all
//               -o OUT` (a process; median of --binaryen-runs, default 1)
//     wall time and CPU time (user+sys; the machine may be shared, CPU time
//     is the steadier figure), medians, and ratios to native;
//   - every output checked: the wasm build's bytes equal the native CLI's;
//   - the same in Chromium, Firefox and WebKitGTK pages (bench/transform-
//     browsers.mjs): wasync/transform's first call (fetch + compile +
//     transform) and steady state, and npm binaryen's index.js in the page
//     (import, then readBinary + runPasses(['asyncify']) + emitBinary);
//   - on-the-fly asyncify (auto-asyncify.js) of a plain QuickJS: first load
//     (transform + store) vs cached load, in Node (a fresh process each) and
//     as two loads of an app page (bench/transform-otf.html, instantiate()
//     in mode 'auto') in each engine; the one without JSPI (WebKitGTK) is the
//     case that matters.
// Results go to bench/out/transform.json and a markdown table to
// bench/out/transform.md.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import crypto from "node:crypto";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const argv = process.argv.slice(2);
const opt = (name, d) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : d;
};
const runs = Number(opt("runs", 15));
const bigRuns = Number(opt("big-runs", 1));
const runsFor = (size) => (size > 4e6 ? Math.min(runs, bigRuns) : runs);
const binaryenPages = opt("binaryen-pages", "quickjs-emscripten").split(",").filter(Boolean);
const binaryenRuns = Number(opt("binaryen-runs", 1));
const only = opt("only", null)?.split(",");
const noBinaryen = argv.includes("--no-binaryen");
const noBinaryenEsbuild = argv.includes("--no-binaryen-esbuild"); // minutes per run
const pagesOnly = argv.includes("--pages-only");
const engines = argv.includes("--no-browsers") ? [] : opt("engines", "webkit,chromium,firefox").split(",").filter(Boolean);
const noSizes = argv.includes("--no-sizes"); // brotli -11 of 14 MB takes a while
const out = path.join(root, "bench/out");
fs.mkdirSync(out, { recursive: true });
const sha256 = (b) => crypto.createHash("sha256").update(b).digest("hex");
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const kb = (n) => `${(n / 1024).toFixed(0)} KB`;
const fmt = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);

for (const f of ["js/wasync-transform.wasm", "js/wasync.wasm", "build/wasync"])
  if (!fs.existsSync(path.join(root, f))) {
    console.error(`bench/transform: ${f} is missing: run make`);
    process.exit(1);
  }

// ---- sizes -------------------------------------------------------------------
function sizes(file) {
  const b = fs.readFileSync(file);
  const gz = zlib.gzipSync(b, { level: 9 }).length;
  const br = zlib.brotliCompressSync(b, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: b.length } }).length;
  return { raw: b.length, gzip: gz, brotli: br };
}
const sizeRows = [
  ["wasync-transform.wasm", path.join(root, "js/wasync-transform.wasm")],
  ["wasync.wasm (CLI)", path.join(root, "js/wasync.wasm")],
  ["binaryen index.js", path.join(root, "node_modules/binaryen/index.js")],
  ["binaryen bin/wasm-opt", path.join(root, "node_modules/binaryen/bin/wasm-opt")],
].filter(([, f]) => !noSizes && fs.existsSync(f)).map(([name, f]) => ({ name, ...sizes(f) }));
console.log("download size            raw       gzip     brotli");
for (const r of sizeRows) console.log(`${r.name.padEnd(22)} ${kb(r.raw).padStart(9)} ${kb(r.gzip).padStart(9)} ${kb(r.brotli).padStart(9)}`);
const ours = sizeRows[0] ?? {}, theirs = sizeRows.find((r) => r.name === "binaryen index.js");
if (theirs) console.log(`binaryen index.js / wasync-transform.wasm: raw ${(theirs.raw / ours.raw).toFixed(1)}x, gzip ${(theirs.gzip / ours.gzip).toFixed(1)}x, brotli ${(theirs.brotli / ours.brotli).toFixed(1)}x smaller (goal >= 20x)`);

// ---- times -------------------------------------------------------------------
// A process's wall and CPU time (/usr/bin/time).
function timed(cmd, args) {
  const r = spawnSync("/usr/bin/time", ["-f", "%e %U %S", cmd, ...args], { encoding: "utf8", maxBuffer: 1 << 26 });
  const last = r.stderr.trim().split("\n").pop().split(" ").map(Number);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: exit ${r.status}\n${r.stderr}`);
  return { wall: last[0] * 1000, cpu: (last[1] + last[2]) * 1000 };
}

const nm = (p) => path.join(root, "node_modules", p);
const inputs = [
  { name: "quickjs-emscripten", file: nm("@jitl/quickjs-wasmfile-release-sync/dist/emscripten-module.wasm") },
  { name: "qjs.wasm (ours)", file: path.join(root, "build/quickjs/qjs.wasm") },
  { name: "esbuild.wasm", file: nm("esbuild-wasm/esbuild.wasm") },
].filter((i) => fs.existsSync(i.file) && (!only || only.some((o) => i.name.includes(o))));

const transform = await import(pathToFileURL(path.join(root, "js/transform.js")));
const results = {
  meta: { date: new Date().toISOString().slice(0, 16).replace("T", " ") + " UTC", node: process.version, loadavg: (await import("node:os")).loadavg().map((l) => l.toFixed(1)).join(" "), runs, bigRuns, binaryenRuns },
  sizes: sizeRows,
  times: [],
};
for (const input of inputs) {
  const bytes = fs.readFileSync(input.file);
  const nat = path.join(out, "t-native.wasm"), npx = path.join(out, "t-npx.wasm"), bin = path.join(out, "t-binaryen.wasm");
  const row = { name: input.name, size: bytes.length, runs: runsFor(bytes.length) };
  const runs = row.runs;
  // native
  const n = [];
  for (let i = 0; i < Math.max(1, pagesOnly ? 1 : runs); i++) n.push(timed(path.join(root, "build/wasync"), ["asyncify", input.file, "-o", nat]));
  row.native = { wall: median(n.map((x) => x.wall)), cpu: median(n.map((x) => x.cpu)), best: Math.min(...n.map((x) => x.wall)) };
  input.nativeHash = row.nativeHash = sha256(fs.readFileSync(nat));
  input.binaryen = !noBinaryen && !(noBinaryenEsbuild && input.name.includes("esbuild")) && fs.existsSync(nm("binaryen/bin/wasm-opt"));
  if (pagesOnly) {
    results.times.push(row);
    console.log(`\n${input.name} (${kb(bytes.length)}): native CLI ${fmt(row.native.wall)} wall / ${fmt(row.native.cpu)} CPU`);
    fs.rmSync(nat, { force: true });
    continue;
  }
  // the wasm CLI in a process
  const p = [];
  for (let i = 0; i < runs; i++) p.push(timed(process.execPath, [path.join(root, "js/bin/wasync.mjs"), "asyncify", input.file, "-o", npx]));
  row.npx = { wall: median(p.map((x) => x.wall)), cpu: median(p.map((x) => x.cpu)), best: Math.min(...p.map((x) => x.wall)) };
  // wasync/transform in this process
  let c0 = process.cpuUsage(), t0 = performance.now();
  const api = await transform.loadTransform(fs.readFileSync(path.join(root, "js/wasync-transform.wasm")));
  const first = api.asyncify(bytes);
  let c1 = process.cpuUsage(c0);
  row.wasmFirst = { wall: performance.now() - t0, cpu: (c1.user + c1.system) / 1000 };
  const w = [];
  for (let i = 0; i < runs; i++) {
    c0 = process.cpuUsage();
    t0 = performance.now();
    api.asyncify(bytes);
    c1 = process.cpuUsage(c0);
    w.push({ wall: performance.now() - t0, cpu: (c1.user + c1.system) / 1000 });
  }
  row.wasm = { wall: median(w.map((x) => x.wall)), cpu: median(w.map((x) => x.cpu)), best: Math.min(...w.map((x) => x.wall)) };
  const nativeBytes = fs.readFileSync(nat);
  row.identical = Buffer.compare(Buffer.from(first), nativeBytes) === 0 && Buffer.compare(fs.readFileSync(npx), nativeBytes) === 0;
  // npm binaryen
  if (input.binaryen) {
    const b = [];
    try {
      for (let i = 0; i < binaryenRuns; i++) b.push(timed(process.execPath, [nm("binaryen/bin/wasm-opt"), input.file, "--asyncify", "-all", "-o", bin]));
      row.binaryen = { wall: median(b.map((x) => x.wall)), cpu: median(b.map((x) => x.cpu)) };
      input.binaryenHash = sha256(fs.readFileSync(bin));
    } catch (e) {
      row.binaryen = { error: e.message.split("\n")[0] };
    }
  }
  results.times.push(row);
  const r = (a) => `${fmt(a.wall)} wall / ${fmt(a.cpu)} CPU`;
  console.log(`\n${input.name} (${kb(bytes.length)}): outputs ${row.identical ? "byte-identical" : "DIFFER"}`);
  console.log(`  native CLI           ${r(row.native)}`);
  console.log(`  wasm, in process     ${r(row.wasm)}  (${(row.wasm.cpu / row.native.cpu).toFixed(2)}x native CPU; goal <= 2x); first call ${r(row.wasmFirst)}`);
  console.log(`  wasm CLI (node)      ${r(row.npx)}  (${(row.npx.cpu / row.native.cpu).toFixed(2)}x native CPU)`);
  if (row.binaryen?.cpu) console.log(`  npm binaryen         ${r(row.binaryen)}  (wasm in process ${(row.binaryen.cpu / row.wasm.cpu).toFixed(1)}x faster by CPU, ${(row.binaryen.wall / row.wasm.wall).toFixed(1)}x by wall; goal >= 50x)`);
  else if (row.binaryen) console.log(`  npm binaryen         failed: ${row.binaryen.error}`);
  for (const f of [nat, npx, bin]) fs.rmSync(f, { force: true });
}
// Written after every phase, so an interrupted run keeps what it measured.
const { markdown } = await import(pathToFileURL(path.join(root, "bench/transform-table.mjs")));
const save = () => {
  fs.writeFileSync(path.join(out, "transform.json"), JSON.stringify(results, null, 2));
  fs.writeFileSync(path.join(out, "transform.md"), markdown(results));
};
save();

const { browserTimes, onTheFlyLoads } = await import(pathToFileURL(path.join(root, "bench/transform-browsers.mjs")));

// ---- on-the-fly asyncify: first load vs cached load -----------------------------
// asyncifyOnTheFly (what instantiate() runs on an engine without JSPI) on a
// plain QuickJS (ours when built, with only env.host_call async, as the app
// page says; else quickjs-emscripten, every import async), in a fresh Node
// process each, with an empty cache directory and then with the entry the
// first one stored.  Then the app page, loaded twice, in each engine.
{
  const ours = path.join(root, "build/quickjs/qjs.wasm");
  const plain = fs.existsSync(ours) ? ours : nm("@jitl/quickjs-wasmfile-release-sync/dist/emscripten-module.wasm");
  const asyncImports = plain === ours ? ["env.host_call"] : undefined;
  if (fs.existsSync(plain)) {
    const cacheDir = fs.mkdtempSync(path.join(out, "cache-"));
    const script = `
      const t0 = performance.now();
      const { asyncifyOnTheFly } = await import(${JSON.stringify(pathToFileURL(path.join(root, "js/auto-asyncify.js")).href)});
      const fs = await import("node:fs");
      const stages = [];
      const bytes = await asyncifyOnTheFly(fs.readFileSync(${JSON.stringify(plain)}), { asyncImports: ${JSON.stringify(asyncImports)}, cacheDir: ${JSON.stringify(cacheDir)}, onProgress: (p) => stages.push(p.stage) });
      await WebAssembly.compile(bytes);
      console.log(JSON.stringify({ ms: performance.now() - t0, stages }));`;
    const once = () => JSON.parse(spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" }).stdout);
    const first = once(), cached = once();
    results.onTheFly = { input: path.relative(root, plain), node: { version: process.version, first, cached } };
    console.log(`\non-the-fly asyncify of a plain QuickJS (${path.relative(root, plain)}), load to compiled module:`);
    console.log(`  node ${process.version} (a fresh process each): first load ${fmt(first.ms)} (${first.stages.join(", ")}); cached load ${fmt(cached.ms)} (${cached.stages.join(", ")}); ${(first.ms / cached.ms).toFixed(1)}x`);
    fs.rmSync(cacheDir, { recursive: true, force: true });
  }
  if (engines.length && fs.existsSync(ours)) {
    console.log(`the app page (bench/transform-otf.html: instantiate() of build/quickjs/qjs.wasm in mode 'auto', then a script), loaded twice, ms since navigation start:`);
    results.onTheFly ??= {};
    results.onTheFly.page = await onTheFlyLoads({ root, engines });
  } else if (engines.length) console.log(`the app page: SKIP, build/quickjs/qjs.wasm is missing (scripts/build-quickjs.sh)`);
  save();
}

// ---- in browsers -----------------------------------------------------------------
if (engines.length && inputs.length) {
  console.log(`\nin browsers (a fresh page per measurement; wall time in the page):`);
  results.browsers = await browserTimes({
    root,
    engines,
    binaryenRuns,
    inputs: inputs.map((i) => ({
      name: i.name,
      url: `/${path.relative(root, i.file)}`,
      runs: runsFor(fs.statSync(i.file).size),
      nativeHash: i.nativeHash,
      binaryen: i.binaryen && binaryenPages.some((b) => i.name.includes(b)),
      binaryenHash: i.binaryenHash,
    })),
  });
}

save();
console.log(`\nwrote bench/out/transform.json and bench/out/transform.md`);
