// asyncify.mjs -- `wasync asyncify` against `wasm-opt --asyncify -O2`
// (Binaryen v108, apt) on the same inputs, in one run (make bench).
//
//   node bench/asyncify.mjs [--runs N] [--binaryen-runs N] [--only NAME[,NAME]]
//                           [--no-binaryen] [--no-runtime] [--runtime-procs N]
//                           [--engines node20,node26,chromium] [--warmup S]
//                           [--quick] [--extra NAME=FILE ...]
//
// --quick: QuickJS only, one transform run, 3 processes per variant and
// engine (about 5 minutes on 2 cores); the defaults take about 15.
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
// un-instrumented module and in both tools' outputs (wasync's default and
// --enable-multivalue forms), on Node 20, Node 26 and headless Chromium
// (no host call happens, so this is the cost of the instrumentation alone):
// steady state after 5 s of warm-up, median over --runtime-procs (5)
// processes (pages) per variant, run interleaved; see asyncify-runtime.mjs.
// Every output is checked with wasm-validate and WebAssembly.validate.
// Results also go to bench/out/asyncify.json.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENGINES, argValue, slowdown } from './asyncify-runtime.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');

// ---- parent --------------------------------------------------------------
const args = process.argv.slice(2);
const opt = (name) => argValue(args, name);
const quick = args.includes('--quick');
const RUNS = Number(opt('--runs') ?? process.env.BENCH_RUNS ?? (quick ? 1 : 5));
const BRUNS = Number(opt('--binaryen-runs') ?? 1);
const PROCS = Number(opt('--runtime-procs') ?? (quick ? 3 : 5)); // processes per variant
const WARMUP = Number(opt('--warmup') ?? 5) * 1000;
const ENGINE_LIST = opt('--engines') ? opt('--engines').split(',') : ENGINES;
for (const e of ENGINE_LIST) {
  if (!ENGINES.includes(e)) {
    console.error(`bench: unknown engine ${e} (use ${ENGINES.join(',')})`);
    process.exit(2);
  }
}
const extras = args.flatMap((a, i) => (a === '--extra' ? [args[i + 1].split('=')] : [])).map(([n, f]) => [n, path.resolve(f)]);
const only = opt('--only') ? opt('--only').split(',') : quick ? ['quickjs'] : null;
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
    res.wasyncMv = mv.ok ? { ok: true, size: size(mvOut), valid: valid(mvOut), file: mvOut } : { ok: false };
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
    if (r.wasyncMv?.ok) variants.push(['wasync +mv', r.wasyncMv.file]);
    if (r.binaryen?.ok) variants.push(['binaryen -O2', r.binaryen.file]);
    // --extra NAME=FILE: another build to time alongside (e.g. an earlier
    // wasync's output, for a before/after in one run); under the repository.
    for (const x of extras) variants.push(x);
    console.log(`\nrun time of a CPU-bound script (fib(25) + sorting 30000 numbers) in ${r.name}, steady state (after ${WARMUP / 1000} s of warm-up), median over ${PROCS} processes (pages) of the fastest of 7 runs:`);
    const rows = await slowdown(variants, { engines: ENGINE_LIST, procs: PROCS, warmupMs: WARMUP });
    runtime.push(...rows.map((row) => ({ module: r.name, ...row })));
    console.log(`\nslowdown (instrumented / original), ${r.name}:`);
    const vs = variants.slice(1).map(([v]) => v);
    const tab = [['engine', ...vs], ...rows.map((row) => [row.engine, ...vs.map((v) => (row.skip ? 'skipped' : row[v]?.ratio !== undefined ? `${fmt(row[v].ratio, 2)}x` : 'FAIL'))])];
    const w = tab[0].map((_, i) => Math.max(...tab.map((t) => String(t[i]).length)));
    for (const t of tab) console.log('  ' + t.map((c, i) => String(c).padStart(w[i])).join('  '));
  }
}

writeFileSync(path.join(OUT, 'asyncify.json'), JSON.stringify({
  date: new Date().toISOString(),
  runs: RUNS, binaryenRuns: BRUNS,
  transform: results.map(({ inp, ...r }) => r),
  runtime,
}, null, 2));
console.log(`\nresults: bench/out/asyncify.json`);
