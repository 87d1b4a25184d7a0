// node --test suite: every runtime scenario (scenarios.mjs) with the PLAIN
// fixtures through on-the-fly asyncify -- instantiate() in mode 'auto' on an
// engine without JSPI asyncifies the module itself (auto-asyncify.js) and
// runs it in asyncify mode. The scenarios check the same results as with the
// pre-asyncified fixtures (runtime.test.mjs); here also:
//   - the transformed bytes equal `wasync asyncify`'s (the .async.wasm
//     fixtures, built by the native CLI with the same options);
//   - the first instantiate of a module transforms it, every later one hits
//     the cache, in this process and in a fresh one.
// Node >= 25 has JSPI, so 'auto' never asyncifies there: skipped with that
// reason (Node 20 runs it, and WebKitGTK in make test-browser).
import { test, after } from 'node:test';
import { readFileSync, existsSync, mkdtempSync, readdirSync, rmSync, cpSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { instantiate, supportedModes } from '../../js/index.js';
import { scenarios, onTheFlyEnv, eq, check, expectedCompute, appImports, delay, wasiCommandOnTheFly } from './scenarios.mjs';
import { tracked } from './harness.mjs';

const fixtures = fileURLToPath(new URL('../../build/js-fixtures/', import.meta.url));
if (!existsSync(`${fixtures}app.wasm`)) throw new Error('fixtures missing: run scripts/test-js.sh --build-only');
const load = (name) => readFileSync(fixtures + name);

const TIMEOUT = 20000;
const { modes } = supportedModes(null);
const skip = modes.includes('jspi')
  ? `this Node (${process.version}) has JSPI, so mode 'auto' picks jspi and never asyncifies on the fly; Node 20 runs this suite`
  : false;

const cacheDir = mkdtempSync(path.join(tmpdir(), 'wasync-otf-cache-'));
after(() => rmSync(cacheDir, { recursive: true, force: true }));
const stages = []; // [{file, stages}] of every instantiate, in order

for (const [name, run] of Object.entries(scenarios)) {
  test(`asyncify (on the fly): ${name}`, { skip, timeout: TIMEOUT }, async (t) => {
    const base = { instantiate: tracked(t, instantiate), mode: 'asyncify', load, note: (m) => t.diagnostic(m) };
    const r = await run(onTheFlyEnv(base, { stages, autoAsyncify: { cacheDir } }));
    if (r === 'skip') t.skip('not applicable in this mode');
  });
}

test('on the fly: the first load of each module transforms, every later one hits the cache', { skip }, () => {
  const seen = new Set();
  check(stages.length > 20, `instantiates recorded: ${stages.length}`);
  for (const { file, stages: s } of stages) {
    const first = !seen.has(file);
    seen.add(file);
    const want = first ? 'transform' : 'cache-hit';
    check(s.includes(want) && !s.includes(first ? 'cache-hit' : 'transform'), `${file}: ${first ? 'first' : 'later'} load: ${s.join(',')}`);
  }
});

test("on the fly: the cached bytes are `wasync asyncify`'s (the .async.wasm fixtures)", { skip }, () => {
  const entries = readdirSync(cacheDir).filter((f) => f.endsWith('.wasm'));
  const files = new Set(stages.map((s) => s.file));
  eq(entries.length, files.size, `cache entries (one per module: ${[...files].join(', ')})`);
  // typo.wasm was asyncified with asyncImports ['env.tick'], as typo.async.wasm with --imports env.tick
  const want = [...files].map((f) => load(f.replace(/\.wasm$/, '.async.wasm')));
  for (const e of entries) {
    const got = readFileSync(path.join(cacheDir, e));
    check(
      want.some((w) => Buffer.compare(w, got) === 0),
      `cache entry ${e} (${got.length} bytes) equals one of the CLI's outputs`,
    );
  }
});

// A changed transform (an upgrade, a rebuild) never serves the old entries:
// a copy of the package whose wasync-transform.wasm has other bytes (a
// custom section appended: a valid module, the same output) misses the
// cache the original filled, then hits its own entry.
test('on the fly: a changed wasync-transform.wasm misses the old cache entries', { skip, timeout: TIMEOUT }, async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'wasync-otf-pkg-'));
  try {
    const js = fileURLToPath(new URL('../../js/', import.meta.url));
    cpSync(js, path.join(dir, 'js'), { recursive: true });
    const wasm = path.join(dir, 'js/wasync-transform.wasm');
    // custom section "x" holding one byte: id 0, size 3, name length 1, 'x', 1
    writeFileSync(wasm, Buffer.concat([readFileSync(wasm), Buffer.from([0, 3, 1, 0x78, 1])]));
    const copy = await import(pathToFileURL(path.join(dir, 'js/index.js')).href);
    const cache = path.join(dir, 'cache');
    const stagesOf = async (inst0) => {
      const stages = [];
      const inst = await tracked(t, inst0)(load('app.wasm'), (ctx) => appImports(ctx, []), {
        autoAsyncify: { cacheDir: cache, onProgress: (p) => stages.push(p.stage) },
      });
      eq(inst.mode, 'asyncify', 'mode');
      eq(await inst.exports.compute(4, 4, 1), expectedCompute(4, 4, 1), 'compute');
      return stages.includes('cache-hit') ? 'hit' : stages.includes('transform') ? 'transform' : stages.join(',');
    };
    eq(await stagesOf(instantiate), 'transform', 'the package, first load');
    eq(await stagesOf(instantiate), 'hit', 'the package, second load');
    eq(await stagesOf(copy.instantiate), 'transform', 'the changed transform, first load');
    eq(await stagesOf(copy.instantiate), 'hit', 'the changed transform, second load');
    eq(readdirSync(cache).filter((f) => f.endsWith('.wasm')).length, 2, 'cache entries');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// A module from `wasync cc` (the guest kit) names its async imports: without
// options.asyncImports only those (and the WASI calls that may wait) are
// instrumented (the bytes of `wasync asyncify --imports env.slow`), and an
// unmarked import that returns a Promise is reported, not mis-run.
test('on the fly: a guest-kit module is asyncified for its marked imports only', { skip, timeout: TIMEOUT }, async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'wasync-otf-kit-'));
  try {
    const answer = (x) => delay(2, x + 100);
    const inst = await tracked(t, instantiate)(load('kit.wasm'), { env: { slow: answer, fast: (x) => x + 1 } }, { autoAsyncify: { cacheDir: dir } });
    eq(inst.mode, 'asyncify', 'mode');
    const local = (x) => Array.from({ length: 8 }, (_, i) => x * 3 + i).reduce((a, b) => a + b, 0);
    eq(await inst.exports.run(5), 105 + 6 + local(5), 'run(5): slow suspended, fast returned at once');
    const entries = readdirSync(dir).filter((f) => f.endsWith('.wasm'));
    eq(entries.length, 1, 'cache entries');
    check(Buffer.compare(readFileSync(path.join(dir, entries[0])), load('kit.async.wasm')) === 0, 'the bytes equal `wasync asyncify --imports env.slow` (kit.async.wasm)');
    const i2 = await tracked(t, instantiate)(load('kit.wasm'), { env: { slow: answer, fast: answer } }, { autoAsyncify: { cacheDir: dir } });
    let err = null;
    await i2.exports.only_fast(1).catch((e) => (err = e));
    check(err?.name === 'AsyncifyImportError' && /import env\.fast .*add env\.fast to options\.asyncImports.*WASYNC_ASYNC_IMPORT/.test(err.message), `an unmarked async import: ${err?.message}`);
    // with options.asyncImports the marks are not used: every listed import may suspend
    const i3 = await tracked(t, instantiate)(load('kit.wasm'), { env: { slow: answer, fast: answer } }, {
      asyncImports: ['env.slow', 'env.fast'],
      autoAsyncify: { cacheDir: dir },
    });
    eq(await i3.exports.only_fast(1), 202, 'only_fast(1) with env.fast listed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// A plain WASI command from `wasync cc --no-asyncify` (the WASI suite's C
// guest) through wasync/wasi's runWasi: asyncified on the fly for its
// WASYNC_ASYNC_JS imports and the WASI calls that may wait; stdin that
// arrives later (fd_read), a sleep (poll_oneoff) and async JS in the C file.
test('on the fly: a plain WASI command (runWasi): late stdin, sleep, WASYNC_ASYNC_JS', { skip, timeout: TIMEOUT }, async () => {
  const { runWasi } = await import('../../js/wasi/index.js');
  const dir = mkdtempSync(path.join(tmpdir(), 'wasync-otf-wasi-'));
  try {
    await wasiCommandOnTheFly({ runWasi, load, autoAsyncify: { cacheDir: dir } });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// The transform in a worker_threads Worker (workerThreshold 0; by default
// for modules over 1 MiB) gives the same bytes, leaves the caller's Buffer
// intact, and a malformed module is a TransformError with its offset there
// as on this thread.
test('on the fly: the transform in a Node worker; TransformError with offset on both paths', { skip, timeout: TIMEOUT }, async (t) => {
  const { asyncifyOnTheFly } = await import('../../js/auto-asyncify.js');
  const { TransformError } = await import('../../js/transform.js');
  const buf = load('app.wasm'); // a Node Buffer
  const size = buf.length;
  const stages = [];
  const out = await asyncifyOnTheFly(buf, { cache: false, workerThreshold: 0, onProgress: (p) => stages.push(p.stage) });
  check(Buffer.compare(Buffer.from(out), load('app.async.wasm')) === 0, 'the worker gives wasync asyncify bytes');
  eq(buf.length, size, "the caller's Buffer is not detached");
  eq(stages.join(','), 'load,transform,done', 'progress from the worker');
  const inst = await tracked(t, instantiate)(buf, (ctx) => appImports(ctx, []), { autoAsyncify: { cache: false, workerThreshold: 0 } });
  eq(await inst.exports.compute(4, 1, 1), expectedCompute(4, 1, 1), 'instantiate with the transform in a worker');
  for (const worker of [true, false]) {
    let err = null;
    await asyncifyOnTheFly(buf.subarray(0, 9), { cache: false, worker, workerThreshold: 0 }).catch((e) => (err = e));
    check(
      err instanceof TransformError && err.offset === 9 && err.code === 'malformed' && /^wasync: input\.wasm:0x9: unexpected end/.test(err.message),
      `${worker ? 'worker' : 'this thread'}: ${err?.name}: ${err?.message}`,
    );
  }
});

// A fresh process: the cache directory outlives it.
test('on the fly: a fresh process hits the cache the first plain module left', { skip, timeout: TIMEOUT }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'wasync-otf-fresh-'));
  try {
    const script = `
      import { instantiate } from ${JSON.stringify(pathToFileURL(fileURLToPath(new URL('../../js/index.js', import.meta.url))).href)};
      import { appImports } from ${JSON.stringify(new URL('./scenarios.mjs', import.meta.url).href)};
      import { readFileSync } from 'node:fs';
      const stages = [];
      const inst = await instantiate(readFileSync(${JSON.stringify(`${fixtures}app.wasm`)}), (ctx) => appImports(ctx, []), {
        autoAsyncify: { cacheDir: ${JSON.stringify(dir)}, onProgress: (p) => stages.push(p.stage) },
      });
      const value = await inst.exports.compute(5, 3, 2);
      console.log(JSON.stringify({ mode: inst.mode, value, stages }));
    `;
    const once = () => JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 15000 }));
    const first = once();
    const second = once();
    for (const r of [first, second]) {
      eq(r.mode, 'asyncify', 'mode');
      eq(r.value, expectedCompute(5, 3, 2), 'compute(5, 3, 2)');
    }
    check(first.stages.includes('transform') && !first.stages.includes('cache-hit'), `first process transforms: ${first.stages.join(',')}`);
    check(second.stages.includes('cache-hit') && !second.stages.includes('transform'), `second process hits the cache: ${second.stages.join(',')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// Every source kind that carries bytes is asyncified on the fly; a compiled
// WebAssembly.Module cannot be, and the error says to pass the bytes.
test("on the fly: every source kind with bytes; a WebAssembly.Module is told to pass bytes, mode 'asyncify' to use 'auto'", { skip, timeout: TIMEOUT }, async (t) => {
  const inst0 = tracked(t, instantiate);
  const file = `${fixtures}app.wasm`;
  const sources = {
    path: file,
    'file: URL': pathToFileURL(file),
    Response: new Response(load('app.wasm')),
    ArrayBuffer: load('app.wasm').buffer.slice(0),
    'Promise of bytes': Promise.resolve(load('app.wasm')),
  };
  for (const [kind, src] of Object.entries(sources)) {
    const inst = await inst0(src, (ctx) => appImports(ctx, []), { autoAsyncify: { cacheDir } });
    eq(inst.mode, 'asyncify', `${kind}: mode`);
    eq(await inst.exports.compute(4, 2, 1), expectedCompute(4, 2, 1), `${kind}: compute`);
  }
  let explicit = null;
  await inst0(load('app.wasm'), (ctx) => appImports(ctx, []), { mode: 'asyncify' }).catch((e) => (explicit = e));
  check(explicit && /not asyncify-instrumented.*leave options\.mode at 'auto'/.test(explicit.message), `mode 'asyncify' on a plain module: ${explicit?.message}`);
  const module = new WebAssembly.Module(load('app.wasm'));
  const w = await inst0(module, (ctx) => appImports(ctx, []), { autoAsyncify: { cacheDir } });
  eq(w.mode, 'worker', 'a plain WebAssembly.Module: auto keeps the worker mode');
  let err = null;
  await inst0(module, (ctx) => appImports(ctx, []), { needs: ['memory'] }).catch((e) => (err = e));
  check(err && /asyncify: .*pass the module's bytes \(not a WebAssembly\.Module\)/.test(err.message), `no mode left: ${err?.message}`);
});

test('on the fly: with options.asyncImports and cache: false (nothing stored)', { skip, timeout: TIMEOUT }, async (t) => {
  const inst0 = tracked(t, instantiate);
  const dir = mkdtempSync(path.join(tmpdir(), 'wasync-otf-nocache-'));
  try {
    const stages = [];
    const asyncImports = ['env.sleep_ms', 'env.fetch_greeting', 'env.fail_async', 'env.nop_async'];
    const inst = await inst0(load('app.wasm'), (ctx) => appImports(ctx, []), {
      asyncImports,
      autoAsyncify: { cacheDir: dir, cache: false, onProgress: (p) => stages.push(p.stage) },
    });
    eq(inst.mode, 'asyncify', 'mode');
    eq(await inst.exports.compute(6, 5, 3), expectedCompute(6, 5, 3), 'compute');
    eq(await inst.exports.sum_sync(100), 5050, 'sum_sync through the sync imports');
    eq(stages.join(','), 'load,transform,done', 'stages without a cache');
    eq(readdirSync(dir).length, 0, 'files in the cache directory');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
