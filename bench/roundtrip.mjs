// roundtrip.mjs -- wasync's round trip against wasm-opt and wasm-validate on
// real-world modules (make bench).  See bench/README.md.
//
//   node bench/roundtrip.mjs [--runs N] [--only NAME[,NAME]] [--wasync PATH]
//
// Every tool runs N times (default 5) on the same input, as a fresh process
// under /usr/bin/time; the table shows the median wall time (measured here
// with a monotonic clock around the process) and the median peak RSS
// (/usr/bin/time %M).  Results also go to bench/out/roundtrip.json.
import { mkdirSync, readFileSync, writeFileSync, existsSync, rmSync } from "node:fs";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { root, prepareModules } from "../tests/realworld/modules.mjs";

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : null;
};
const RUNS = Number(opt("--runs") ?? process.env.BENCH_RUNS ?? 5);
const only = opt("--only") ? opt("--only").split(",") : null;
const wasync = path.resolve(opt("--wasync") ?? path.join(root, "build/wasync"));
const OUT = path.join(root, "bench/out");
const TIME = "/usr/bin/time";

for (const [bin, hint] of [[wasync, "run: make"], [TIME, "apt install time"]]) {
  if (!existsSync(bin)) {
    console.error(`bench: ${bin} not found (${hint})`);
    process.exit(1);
  }
}
const have = (tool) => spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;
const version = (cmd) => spawnSync(cmd, ["--version"], { encoding: "utf8" }).stdout?.trim().split("\n")[0] ?? "?";

// One measured run: { ok, ms, rssKB, out }.
function measure(argv) {
  const stats = path.join(OUT, "time.txt");
  const t0 = process.hrtime.bigint();
  const r = spawnSync(TIME, ["-f", "%e %M %U %S", "-o", stats, ...argv], { encoding: "utf8", maxBuffer: 1 << 26 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const fields = existsSync(stats) ? readFileSync(stats, "utf8").trim().split("\n").pop().split(" ") : [];
  const cpuMs = (Number(fields[2] ?? NaN) + Number(fields[3] ?? NaN)) * 1000; // user+sys, 10 ms resolution
  return { ok: r.status === 0, ms, rssKB: Number(fields[1] ?? NaN), cpuMs, out: (r.stdout ?? "") + (r.stderr ?? "") };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

// Runs a tool RUNS times; interleaving is done by the caller.
function bench(argv) {
  const runs = [];
  for (let i = 0; i < RUNS; i++) {
    const r = measure(argv);
    if (!r.ok) return { ok: false, out: r.out.trim().split("\n").slice(0, 3).join(" | ") };
    runs.push(r);
  }
  return {
    ok: true,
    ms: median(runs.map((r) => r.ms)),
    rssKB: median(runs.map((r) => r.rssKB)),
    cpuMs: median(runs.map((r) => r.cpuMs)),
    all: runs.map((r) => r.ms),
  };
}

mkdirSync(OUT, { recursive: true });
// The smallest module (8 bytes): its peak RSS is the process's baseline, which
// "RSS net/in" subtracts (for small inputs the baseline dominates).
const empty = path.join(OUT, "empty.wasm");
writeFileSync(empty, Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
const baseRun = measure([wasync, "roundtrip", "--reencode", empty, "-o", path.join(OUT, "empty.out.wasm")]);
const baselineKB = baseRun.ok ? baseRun.rssKB : 0;
const modules = prepareModules(path.join(root, "tests/realworld/out"), only).sort((a, b) => b.size - a.size);
const tools = [
  { key: "reencode", label: "wasync roundtrip --reencode", argv: (i, o) => [wasync, "roundtrip", "--reencode", i, "-o", o] },
  { key: "copy", label: "wasync roundtrip (copy-through)", argv: (i, o) => [wasync, "roundtrip", i, "-o", o] },
  { key: "validate", label: "wasync validate", argv: (i) => [wasync, "validate", i] },
];
if (have("wasm-opt")) tools.push({ key: "wasmopt", label: `wasm-opt -q --all-features IN -o OUT (${version("wasm-opt")})`, argv: (i, o) => ["wasm-opt", "-q", "--all-features", i, "-o", o] });
else console.log("bench: wasm-opt not found, skipped");
if (have("wasm-validate")) tools.push({ key: "wabt", label: `wasm-validate --enable-all IN (wabt ${version("wasm-validate")})`, argv: (i) => ["wasm-validate", "--enable-all", i] });
else console.log("bench: wasm-validate not found, skipped");

console.log(`bench: ${modules.length} modules, median of ${RUNS} runs each, ${new Date().toISOString()}`);
for (const t of tools) console.log(`  ${t.key.padEnd(8)} = ${t.label}`);

const results = [];
for (const m of modules) {
  const o = path.join(OUT, "out.wasm");
  const row = { name: m.name, size: m.size };
  for (const t of tools) {
    row[t.key] = bench(t.argv(m.path, o));
    rmSync(o, { force: true });
  }
  results.push(row);
  process.stdout.write(`  measured ${m.name}\n`);
}

const MB = 1e6;
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : "-");
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : "-");
const cell = (r, k, fn) => (r[k] && r[k].ok ? fn(r[k]) : r[k] ? "FAIL" : "-");
const ratio = (r, k, base) => (r[k]?.ok && r[base]?.ok ? r[k].ms / r[base].ms : NaN);
const header = ["module", "MB", "reenc ms", "MB/s", "copy ms", "valid ms", "wasm-opt ms", "wabt ms", "opt/reenc", "wabt/reenc", "cpu opt/reenc", "RSS MB", "RSS/in", "net/in", "opt RSS MB"];
const rows = results.map((r) => [
  r.name,
  f2(r.size / MB),
  cell(r, "reencode", (x) => f1(x.ms)),
  cell(r, "reencode", (x) => f1(r.size / MB / (x.ms / 1000))),
  cell(r, "copy", (x) => f1(x.ms)),
  cell(r, "validate", (x) => f1(x.ms)),
  cell(r, "wasmopt", (x) => f1(x.ms)),
  cell(r, "wabt", (x) => f1(x.ms)),
  f1(ratio(r, "wasmopt", "reencode")) + "x",
  f1(ratio(r, "wabt", "reencode")) + "x",
  r.reencode.ok && r.wasmopt?.ok && r.reencode.cpuMs > 0 ? f1(r.wasmopt.cpuMs / r.reencode.cpuMs) + "x" : "-",
  cell(r, "reencode", (x) => f1(x.rssKB / 1024)),
  cell(r, "reencode", (x) => f2((x.rssKB * 1024) / r.size)),
  cell(r, "reencode", (x) => f2(((x.rssKB - baselineKB) * 1024) / r.size)),
  cell(r, "wasmopt", (x) => f1(x.rssKB / 1024)),
]);
// Totals over the modules every tool handled.
const sum = (k, f) => results.reduce((a, r) => a + (r[k]?.ok ? f(r) : 0), 0);
const allOk = results.every((r) => tools.every((t) => r[t.key].ok));
if (allOk && results.length > 1) {
  const tot = Object.fromEntries(tools.map((t) => [t.key, sum(t.key, (r) => r[t.key].ms)]));
  const size = results.reduce((a, r) => a + r.size, 0);
  rows.push([
    "TOTAL",
    f2(size / MB),
    f1(tot.reencode),
    f1(size / MB / (tot.reencode / 1000)),
    f1(tot.copy),
    f1(tot.validate),
    f1(tot.wasmopt),
    f1(tot.wabt),
    f1(tot.wasmopt / tot.reencode) + "x",
    f1(tot.wabt / tot.reencode) + "x",
    f1(sum("wasmopt", (r) => r.wasmopt.cpuMs) / sum("reencode", (r) => r.reencode.cpuMs)) + "x",
    "",
    "",
    "",
    "",
  ]);
}
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((t) => String(t[i]).length)));
const line = (cells) => cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join("  ");
console.log(line(header));
for (const r of rows) console.log(line(r));
for (const r of results)
  for (const t of tools) if (!r[t.key].ok) console.log(`  ${r.name}: ${t.key} failed: ${r[t.key].out}`);

// The goals of the core issue, judged on the largest module and on the total.
const big = results[0];
if (big && allOk) {
  const worstOpt = Math.min(...results.map((r) => ratio(r, "wasmopt", "reencode")));
  const worstWabt = Math.min(...results.map((r) => ratio(r, "wabt", "reencode")));
  const net = (r) => ((r.reencode.rssKB - baselineKB) * 1024) / r.size;
  const worstMem = Math.max(...results.map(net));
  const verdict = (ok) => (ok ? "met" : "NOT met");
  console.log(`goal >= 20x faster than wasm-opt: ${verdict(worstOpt >= 20)} (worst module ${f1(worstOpt)}x, largest ${big.name} ${f1(ratio(big, "wasmopt", "reencode"))}x)`);
  console.log(`goal faster than wasm-validate:   ${verdict(worstWabt > 1)} (worst module ${f1(worstWabt)}x)`);
  console.log(`goal peak RSS < 4x input:         ${verdict((big.reencode.rssKB * 1024) / big.size < 4)} on the largest (${big.name}: ${f2((big.reencode.rssKB * 1024) / big.size)}x raw); above the ${f1(baselineKB / 1024)} MB process baseline the worst module needs ${f2(worstMem)}x`);
}
writeFileSync(path.join(OUT, "roundtrip.json"), JSON.stringify({ runs: RUNS, baselineKB, date: new Date().toISOString(), tools: tools.map((t) => t.label), results }, null, 1));
for (const f of ["time.txt", "empty.wasm", "empty.out.wasm"]) rmSync(path.join(OUT, f), { force: true });
const wasyncFailed = results.some((r) => !r.reencode.ok || !r.copy.ok || !r.validate.ok);
process.exit(wasyncFailed ? 1 : 0);
