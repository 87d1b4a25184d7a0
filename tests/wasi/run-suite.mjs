#!/usr/bin/env node
// Runs the official WASI preview1 test suite (../shared/wasi-testsuite, 72
// tests) through wasync/wasi in every mode that works in this Node (jspi
// needs Node 26 here; asyncify runs copies instrumented by
// `build/wasync asyncify --imports <the WASI calls that may wait>`; worker),
// optionally in headless Chromium (--browser, in-memory FS), and runs the
// same tests through node:wasi and @bjorn3/browser_wasi_shim (--compare) to
// print their counts beside ours. Each test gets a fresh copy of its
// fixture directory preopened as `/`, an empty stdin, a 10 s limit.
//
//   node tests/wasi/run-suite.mjs [--modes jspi,asyncify,worker] [--compare]
//        [--memfs] [--only SUBSTRING] [--verbose]
//
// --memfs gives each test its fixture as an in-memory tree (wasync/wasi's
// MemoryFS, what browsers use) instead of a host directory.
//
// Closing line: `wasi-suite: N passed, N failed` (one count per test and
// mode). Exits 1 when a test fails that is not in KNOWN (each with its
// reason), or a KNOWN failure now passes (so the list stays true).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { listTests, verdict, asyncifiedCopy } from './suite.mjs';
import { WASI } from '../../js/wasi/index.js';
import { instantiate, supportedModes } from '../../js/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const suiteRoot = path.resolve(process.env.WASYNC_SHARED ?? path.join(repo, '../shared'), 'wasi-testsuite');

// failures we know of and why (test id -> reason); every mode shares them
const KNOWN = {};

const argv = process.argv.slice(2);
const opt = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const verbose = argv.includes('--verbose');
const only = opt('--only');
const memfs = argv.includes('--memfs');

if (!fs.existsSync(suiteRoot)) {
  console.log(`wasi-suite: SKIPPED: ${suiteRoot} is absent (the official WASI test suite lives in ../shared)`);
  console.log('wasi-suite: 0 passed, 0 failed');
  process.exit(0);
}

let tests = await listTests(suiteRoot);
if (only) tests = tests.filter((t) => t.id.includes(only));

const tmpBase = fs.mkdtempSync(path.join(os.tmpdir(), 'wasync-wasi-suite-'));
process.on('exit', () => fs.rmSync(tmpBase, { recursive: true, force: true }));
let tmpN = 0;
function freshRoot(t) {
  if (!t.spec.root) return null;
  const dst = path.join(tmpBase, String(tmpN++));
  fs.cpSync(path.join(t.dir, t.spec.root), dst, { recursive: true });
  const chmod = (p) => {
    fs.chmodSync(p, fs.lstatSync(p).isDirectory() ? 0o755 : 0o644);
    if (fs.lstatSync(p).isDirectory()) for (const e of fs.readdirSync(p)) chmod(path.join(p, e));
  };
  chmod(dst);
  return dst;
}

const dec = new TextDecoder();
const collect = () => {
  const chunks = [];
  return { sink: (b) => chunks.push(b.slice()), text: () => dec.decode(Buffer.concat(chunks)) };
};

function withTimeout(p, ms, onTimeout) {
  let timer;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise((_, rej) => {
      timer = setTimeout(() => {
        onTimeout?.();
        rej(new Error(`timed out after ${ms} ms`));
      }, ms);
    }),
  ]);
}

// ---- asyncify copies ----
const native = path.join(repo, 'build', 'wasync');
const asyncified = (t) => asyncifiedCopy(t, repo);

// ---- implementations: each returns {code, stdout, stderr, error?} ----
// the fixture directory as an in-memory tree {relative path: bytes}
export function treeOf(dir, prefix = '', out = {}) {
  for (const name of fs.readdirSync(dir)) {
    const p = path.join(dir, name);
    const st = fs.lstatSync(p);
    if (st.isDirectory()) {
      out[prefix + name + '/'] = null;
      treeOf(p, prefix + name + '/', out);
    } else if (st.isFile()) out[prefix + name] = new Uint8Array(fs.readFileSync(p));
  }
  return out;
}

async function runWasync(t, mode, memfs) {
  const root = memfs ? (t.spec.root ? treeOf(path.join(t.dir, t.spec.root)) : null) : freshRoot(t);
  const out = collect();
  const err = collect();
  const wasi = new WASI({
    args: [t.name + '.wasm', ...t.spec.args], env: t.spec.env, preopens: root ? { '/': root } : {},
    stdin: '', stdout: out.sink, stderr: err.sink,
  });
  const file = mode === 'asyncify' ? await asyncified(t) : t.wasm;
  let inst;
  try {
    inst = await instantiate(fs.readFileSync(file), wasi.getImportObject(), { mode });
    const code = await withTimeout(wasi.start(inst), 10000, () => inst.terminate());
    return { code, stdout: out.text(), stderr: err.text() };
  } catch (e) {
    return { code: `trap (${String(e?.message ?? e).split('\n')[0].slice(0, 120)})`, stdout: out.text(), stderr: err.text() };
  } finally {
    inst?.terminate();
  }
}

async function runNodeWasi(t) {
  const { WASI: NodeWASI } = await import('node:wasi');
  const root = freshRoot(t);
  const dir = fs.mkdtempSync(path.join(tmpBase, 'io-'));
  const o = fs.openSync(path.join(dir, 'out'), 'w+');
  const e = fs.openSync(path.join(dir, 'err'), 'w+');
  const i = fs.openSync(path.join(dir, 'in'), 'w+');
  try {
    const wasi = new NodeWASI({
      version: 'preview1', args: [t.name + '.wasm', ...t.spec.args], env: t.spec.env,
      preopens: root ? { '/': root } : {}, returnOnExit: true, stdin: i, stdout: o, stderr: e,
    });
    const { instance } = await WebAssembly.instantiate(fs.readFileSync(t.wasm), wasi.getImportObject());
    let code;
    try {
      code = wasi.start(instance);
    } catch (x) {
      code = `trap (${String(x?.message ?? x).slice(0, 80)})`;
    }
    return { code, stdout: fs.readFileSync(path.join(dir, 'out'), 'utf8'), stderr: fs.readFileSync(path.join(dir, 'err'), 'utf8') };
  } finally {
    for (const fd of [o, e, i]) fs.closeSync(fd);
  }
}

async function runShim(t) {
  const shim = await import('@bjorn3/browser_wasi_shim');
  const root = freshRoot(t);
  const tree = (p) => {
    const m = new Map();
    for (const name of fs.readdirSync(p)) {
      const q = path.join(p, name);
      const st = fs.lstatSync(q);
      if (st.isDirectory()) m.set(name, new shim.Directory(tree(q)));
      else if (st.isFile()) m.set(name, new shim.File(fs.readFileSync(q)));
    }
    return m;
  };
  const out = collect();
  const err = collect();
  const fds = [new shim.OpenFile(new shim.File([])), new shim.ConsoleStdout(out.sink), new shim.ConsoleStdout(err.sink)];
  if (root) fds.push(new shim.PreopenDirectory('/', tree(root)));
  const env = Object.entries(t.spec.env).map(([k, v]) => `${k}=${v}`);
  const wasi = new shim.WASI([t.name + '.wasm', ...t.spec.args], env, fds, { debug: false });
  let code;
  try {
    const { instance } = await WebAssembly.instantiate(fs.readFileSync(t.wasm), { wasi_snapshot_preview1: wasi.wasiImport });
    code = wasi.start(instance);
  } catch (x) {
    code = `trap (${String(x?.message ?? x).slice(0, 80)})`;
  }
  return { code, stdout: out.text(), stderr: err.text() };
}

// ---- main ----
const wantModes = (opt('--modes') ?? 'jspi,asyncify,worker').split(',');
const { why } = supportedModes(null);
const runs = [];
for (const m of wantModes) {
  if (m === 'jspi' && why.jspi) console.log(`wasi-suite: SKIPPED mode jspi: ${why.jspi} (Node ${process.versions.node}; use Node 26)`);
  else if (m === 'worker' && why.worker) console.log(`wasi-suite: SKIPPED mode worker: ${why.worker}`);
  else if (m === 'asyncify' && !fs.existsSync(native)) console.log(`wasi-suite: SKIPPED mode asyncify: ${native} is not built (make)`);
  else runs.push({ label: `wasync ${m}${memfs ? ' memfs' : ''}`, mine: true, run: (t) => runWasync(t, m, memfs) });
}
if (argv.includes('--compare')) {
  runs.push({ label: 'node:wasi', run: runNodeWasi });
  runs.push({ label: 'browser_wasi_shim', run: runShim });
}

let passed = 0;
let failed = 0;
let unexpected = 0;
const table = [];
for (const r of runs) {
  let ok = 0;
  const fails = [];
  const t0 = Date.now();
  for (const t of tests) {
    const res = await r.run(t);
    const why1 = verdict(t.spec, res);
    if (verbose) console.log(`  ${r.label} ${t.id}: ${why1 ?? 'ok'}`);
    if (why1 === null) ok++;
    else fails.push([t.id, why1]);
    if (r.mine) {
      if (why1 === null) passed++;
      else failed++;
      if ((why1 === null) === (KNOWN[t.id] !== undefined)) unexpected++;
    }
  }
  table.push([r.label, ok, tests.length, ((Date.now() - t0) / 1000).toFixed(1)]);
  console.log(`${r.label}: ${ok}/${tests.length} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  for (const [id, w] of fails) console.log(`  ${r.mine ? 'FAIL' : 'fails'} ${id}: ${KNOWN[id] && r.mine ? `[known: ${KNOWN[id]}] ` : ''}${w}`);
}
console.log('\nimplementation           passed');
for (const [l, ok, n, s] of table) console.log(`${l.padEnd(24)} ${String(ok).padStart(2)}/${n}   ${s} s`);
console.log(`wasi-suite: ${passed} passed, ${failed} failed`);
process.exit(unexpected ? 1 : 0);
