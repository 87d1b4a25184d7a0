// tests/asyncify/rewind-args.mjs -- the rewind-argument differential.
//
// Binaryen's asyncify re-enters every instrumented call on the rewind with
// exactly the operands it had when it unwound, and drivers rely on it (an
// async fd_read that starts the read on the first visit and copies into
// `iovs` on the rewind visit).  This runs random programs
// (random.mjs generateRewind: async imports whose last argument is a call-
// site number; arguments of every kind -- i32/i64/f32/f64, lanes of v128
// values, externrefs, block parameters, multi-value results, values held
// across other async calls, indirect calls, recursion) and checks, per
// program and per unwinding policy:
//   - every rewind visit of an import gets the site and the arguments of
//     the visit that unwound (compared exactly: Object.is, BigInt, ref
//     identity);
//   - the first visits (site, args), the results and the memory equal those
//     of the un-instrumented program run with synchronous imports.
// Policies: `every` (every async import call unwinds), `kth` (every k-th,
// k = 2..4 by seed), `random` (seeded, p = 1/2).  wasync runs with
// --split-rewind=1 --asserts on even seeds.
//
// Usage: node tests/asyncify/rewind-args.mjs [--count=N] [--first=SEED]
//          [--tool=wasync|binaryen|both] [--wasync=BIN] [--keep] [--jobs=N]
// --tool=binaryen runs the same harness on `wasm-opt --asyncify` output
// (apt v108, or BINARYEN=path) on the programs it accepts, proving the
// harness; `both` runs both.  Closing line: `rewind-args: N passed, N failed`.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateRewind, REWIND_ASYNC_IMPORTS } from './random.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const opts = { count: 200, first: 1, tool: 'wasync', keep: false, jobs: 2, wasync: join(root, 'build', 'wasync') };
for (const a of process.argv.slice(2)) {
  const [k, v] = a.replace(/^--/, '').split('=');
  if (k === 'keep') opts.keep = true;
  else if (k in opts) opts[k] = k === 'tool' || k === 'wasync' ? v : Number(v);
  else {
    console.error(`rewind-args: unknown option ${a}`);
    process.exit(2);
  }
}
const tools = opts.tool === 'both' ? ['wasync', 'binaryen'] : [opts.tool];
const wasync = opts.wasync;
const work = mkdtempSync(join(tmpdir(), 'rewind-args-'));

function run(cmd, args) {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('error', (e) => resolve({ code: -1, err: String(e) }));
    p.on('close', (code) => resolve({ code, err }));
  });
}

const BINARYEN_FEATURES = ['--enable-multivalue', '--enable-simd', '--enable-reference-types',
  '--enable-bulk-memory', '--enable-sign-ext', '--enable-mutable-globals', '--enable-nontrapping-float-to-int'];

async function transform(tool, input, output, seed) {
  const list = REWIND_ASYNC_IMPORTS.join(',');
  if (tool === 'binaryen')
    return run(process.env.BINARYEN || 'wasm-opt', ['--asyncify', ...BINARYEN_FEATURES,
      `--pass-arg=asyncify-imports@${list}`, input, '-o', output]);
  // even seeds: every function split, asserts on (the widest code paths)
  const extra = seed % 2 === 0 ? ['--split-rewind=1', '--asserts'] : [];
  return run(wasync, ['asyncify', '--imports', list, ...extra, input, '-o', output]);
}

// ---- the host ----------------------------------------------------------------

const DATA = 1024; // {pos, end} at DATA, the unwind buffer after it
const DATA_END = 65536;
const M32 = (x) => x | 0;
const M64 = (x) => BigInt.asIntN(64, x);

// Deterministic results of the imports from their arguments.
function fold(args) {
  let h = 17;
  for (const a of args) {
    let v;
    if (typeof a === 'bigint') v = Number(BigInt.asIntN(32, a ^ (a >> 32n)));
    else if (typeof a === 'object' && a) v = a.tag;
    else if (a === null) v = 7;
    else if (Number.isInteger(a)) v = a;
    else v = Math.trunc(Number.isFinite(a) ? a * 16 : 3);
    h = M32(Math.imul(h, 31) + v);
  }
  return h;
}

// policy(n) -> does the n-th async visit (0-based) unwind?
function policyOf(name, seed) {
  if (name === 'every') return () => true;
  if (name === 'kth') {
    const k = 2 + (seed % 3);
    return (n) => n % k === k - 1;
  }
  let s = (seed * 40503 + 1) >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return (s & 1) === 1;
  };
}

function same(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++)
    if (!Object.is(a[i], b[i])) return false; // BigInt: Object.is compares values
  return true;
}
const show = (args) => args.map((a) => (typeof a === 'bigint' ? `${a}n` : a && typeof a === 'object' ? `ref${a.tag}` : String(a))).join(', ');
// refs by tag for comparing with the synchronous run (other objects there)
const key = (site, args) => `${site}(${show(args)})`;

// Runs `runs` through export f0.  mode 'sync' (no asyncify) or a policy.
async function execute(bytes, runs, policyName, seed) {
  const instrumented = policyName !== 'sync';
  const policy = instrumented ? policyOf(policyName, seed) : null;
  const refs = new Map();
  const visits = []; // first visits, as keys
  const problems = [];
  let exports = null, mem = null;
  let rewinding = false, unwinding = false, pending = null, nvisit = 0, nunwinds = 0;

  function visit(site, args, result) {
    if (rewinding) {
      exports.asyncify_stop_rewind();
      rewinding = false;
      if (!pending || pending.site !== site || !same(pending.args, args))
        problems.push(`rewind visit of site ${pending ? pending.site : '?'}: unwound with (${pending ? show(pending.args) : '?'}), rewound with site ${site} (${show(args)})`);
      pending = null;
      return result(args);
    }
    visits.push(key(site, args));
    if (instrumented && policy(nvisit++)) {
      pending = { site, args };
      const dv = new DataView(mem.buffer);
      dv.setInt32(DATA, DATA + 8, true);
      dv.setInt32(DATA + 4, DATA_END, true);
      exports.asyncify_start_unwind(DATA);
      unwinding = true;
      nunwinds++;
      return null; // ignored while unwinding
    }
    return result(args);
  }
  const zero = (v, z) => (v === null ? z : v);
  const env = {
    rec_i: (a, b, s) => zero(visit(s, [a, b], (x) => M32(fold(x) + s)), 0),
    rec_l: (a, b, s) => zero(visit(s, [a, b], (x) => M64(BigInt(fold(x)) * 65599n + BigInt(s))), 0n),
    rec_m: (a, b, c, d, s) => zero(visit(s, [a, b, c, d], (x) => M32(fold(x) ^ s)), 0),
    rec_r: (r, a, s) => zero(visit(s, [r, a], (x) => M32(fold(x) + 3 * s)), 0),
    mkref: (n) => {
      const t = n & 7;
      if (!refs.has(t)) refs.set(t, { tag: t });
      return refs.get(t);
    },
    log: (x) => visits.push(`log(${x})`),
  };
  const { instance } = await WebAssembly.instantiate(bytes, { env });
  exports = instance.exports;
  mem = exports.memory;
  const results = [];
  for (const [a, b] of runs) {
    let r;
    try {
      r = exports.f0(a, b);
      while (unwinding) {
        unwinding = false;
        exports.asyncify_stop_unwind();
        exports.asyncify_start_rewind(DATA);
        rewinding = true;
        r = exports.f0(a, b);
      }
      if (rewinding) problems.push('a rewind ended without reaching the import that unwound');
    } catch (e) {
      problems.push(`trap: ${e.message}`);
      break;
    }
    results.push(r);
  }
  const memory = Buffer.from(new Uint8Array(mem.buffer, 0, 256)).toString('hex');
  return { visits, results, memory, problems, nunwinds };
}

// ---- one program ---------------------------------------------------------------

async function program(seed) {
  const { wat, runs } = generateRewind(seed);
  const base = join(work, `rw-${seed}`);
  writeFileSync(`${base}.wat`, wat);
  const asm = await run('wat2wasm', ['--enable-all', `${base}.wat`, '-o', `${base}.wasm`]);
  if (asm.code !== 0) return [{ tool: '-', ok: false, msg: `wat2wasm: ${asm.err.trim()}` }];
  const ref = await execute(readFileSync(`${base}.wasm`), runs, 'sync', seed);
  if (ref.problems.length) return [{ tool: '-', ok: false, msg: `reference run: ${ref.problems[0]}` }];
  const out = [];
  for (const tool of tools) {
    const res = await transform(tool, `${base}.wasm`, `${base}.${tool}.wasm`, seed);
    if (res.code !== 0) {
      if (tool === 'binaryen') out.push({ tool, skipped: true, msg: res.err.trim().split('\n')[0] });
      else out.push({ tool, ok: false, msg: `wasync asyncify failed: ${res.err.trim()}` });
      continue;
    }
    const bytes = readFileSync(`${base}.${tool}.wasm`);
    for (const policy of ['every', 'kth', 'random']) {
      const got = await execute(bytes, runs, policy, seed);
      let msg = got.problems[0];
      if (!msg && got.results.join() !== ref.results.join()) msg = `results ${got.results} != ${ref.results}`;
      if (!msg && got.visits.join() !== ref.visits.join()) {
        const i = got.visits.findIndex((v, k) => v !== ref.visits[k]);
        msg = `visit ${i}: ${got.visits[i]} != ${ref.visits[i]}`;
      }
      if (!msg && got.memory !== ref.memory) msg = 'memory differs';
      out.push({ tool, policy, ok: !msg, msg, nunwinds: got.nunwinds, problems: got.problems.length });
    }
  }
  if (!opts.keep) for (const f of [`${base}.wat`, `${base}.wasm`, ...tools.map((t) => `${base}.${t}.wasm`)]) rmSync(f, { force: true });
  return out;
}

const t0 = Date.now();
const tally = {};
for (const t of tools) tally[t] = { passed: 0, failed: 0, skipped: 0, unwinds: 0, badPrograms: new Set(), reasons: new Map() };
let passed = 0, failed = 0;
const seeds = Array.from({ length: opts.count }, (_, i) => opts.first + i);
let next = 0;
async function worker() {
  while (next < seeds.length) {
    const seed = seeds[next++];
    for (const o of await program(seed)) {
      const t = tally[o.tool];
      if (o.skipped) {
        t.skipped++;
        const why = o.msg.replace(/\(at [0-9:]+\)/g, '').replace(/^(Fatal: )+/, '').split('Fatal:')[0].trim();
        t.reasons.set(why, (t.reasons.get(why) || 0) + 1);
        continue;
      }
      if (o.ok) {
        passed++;
        if (t) t.passed++;
      } else {
        failed++;
        if (t) {
          t.failed++;
          t.badPrograms.add(seed);
        }
        if (failed <= 20) console.log(`FAIL seed ${seed} ${o.tool}${o.policy ? ` ${o.policy}` : ''}: ${o.msg}`);
      }
      if (t && o.nunwinds) t.unwinds += o.nunwinds;
    }
  }
}
await Promise.all(Array.from({ length: Math.max(1, opts.jobs) }, worker));
for (const t of tools) {
  const x = tally[t];
  console.log(`${t}: ${x.passed} runs passed, ${x.failed} failed (${x.badPrograms.size} of ${opts.count} programs), ` +
    `${x.skipped} programs not accepted, ${x.unwinds} unwinds`);
  for (const [msg, n] of x.reasons) console.log(`  not accepted (${n}): ${msg}`);
}
console.log(`(seeds ${opts.first}..${opts.first + opts.count - 1}, ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
if (!opts.keep) rmSync(work, { recursive: true, force: true });
else console.log(`kept in ${work}`);
console.log(`rewind-args: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
