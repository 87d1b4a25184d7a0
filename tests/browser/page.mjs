// Browser side of tests/browser/run.mjs: runs the shared scenarios
// (tests/js/scenarios.mjs) in every mode, checks that the main thread stays
// responsive while a call is suspended, and -- on a page served without the
// COOP/COEP headers -- that worker mode fails with the clear error and that
// 'auto' falls back, then every scenario again with the PLAIN fixtures
// through on-the-fly asyncify (onTheFlyRuns). `?cache=1` (a fresh load of
// that origin) checks the Cache API hit (cacheRuns); `?insecure=1` (a LAN
// address: no secure context) runs them without a cache (insecureRuns).
// Results go to window.__results for the driver.
//
// Every scenario is bounded (SCENARIO_MS): one that does not settle is
// recorded as failed with a message, and the instances it made are
// terminated (pending calls aborted, workers stopped) before the next one.
// Progress goes to the console ('[wasync-test] start NAME' / 'end NAME') and
// window.__partial / window.__running, so the driver can say what hung.
import { instantiate as wasyncInstantiate, supportedModes } from '/js/index.js';
import { scenarios, modOf, appImports, expectedCompute, eq, check, within, onTheFlyEnv, wasiCommandOnTheFly } from '/tests/js/scenarios.mjs';

const SCENARIO_MS = 20000;
const results = [];
window.__partial = results;
let live = [];
const instantiate = async (...args) => {
  const inst = await wasyncInstantiate(...args);
  live.push(inst);
  return inst;
};
const list = document.getElementById('results');
let frames = 0;
(function tick() {
  frames++;
  document.getElementById('raf').textContent = String(frames);
  requestAnimationFrame(tick);
})();

// Alternate the source kinds the loader accepts: Response, URL, bytes.
let nth = 0;
function load(name) {
  const url = new URL(`/build/js-fixtures/${name}`, location.href);
  switch (nth++ % 3) {
    case 0:
      return fetch(url);
    case 1:
      return url;
    default:
      return fetch(url).then((r) => r.arrayBuffer());
  }
}

// scenario notes (figures such as how fast an error came) go to the console
// and to window.__notes, for any driver to print
window.__notes = [];
const note = (m) => {
  window.__notes.push(m);
  console.log(`[wasync-test] note ${m}`);
};

async function record(name, fn) {
  const li = document.createElement('li');
  let entry;
  window.__running = name;
  console.log(`[wasync-test] start ${name}`);
  try {
    const r = await within(Promise.resolve().then(fn), SCENARIO_MS, name);
    // a scenario returns 'skip', or {skip: reason} when the engine lacks what it needs
    entry = { name, ok: true, skipped: r === 'skip' || !!r?.skip, reason: r?.skip };
  } catch (e) {
    entry = { name, ok: false, error: `${e?.name}: ${e?.message}` };
  } finally {
    for (const inst of live) inst.terminate();
    live = [];
    window.__running = null;
  }
  console.log(`[wasync-test] end ${name}: ${entry.ok ? 'ok' : entry.error}`);
  results.push(entry);
  li.className = entry.ok ? (entry.skipped ? 'skip' : 'pass') : 'fail';
  li.textContent = `${entry.ok ? (entry.skipped ? 'SKIP' : 'PASS') : 'FAIL'} ${name}${entry.reason ? ` (${entry.reason})` : ''}`;
  if (!entry.ok) {
    const pre = document.createElement('pre');
    pre.textContent = entry.error;
    li.append(pre);
  }
  list.append(li);
}

async function expectError(promise, re, what) {
  try {
    await promise;
  } catch (e) {
    if (!re.test(e.message)) throw new Error(`${what}: wrong message: ${e.message}`);
    return;
  }
  throw new Error(`${what}: expected an error`);
}

async function responsive(mode) {
  const log = [];
  const inst = await instantiate(load(modOf(mode, 'app')), (ctx) => appImports(ctx, log), { mode });
  // The event loop's own measure: timer turns (a 10 ms setTimeout chain)
  // that ran during the call. Animation frames are noted, not required:
  // WebKitGTK under Xvfb delivers 0-1 frames per 300 ms in the first seconds
  // after a load even when the page is idle (measured with an export that
  // never suspends), so frames there say nothing about wasync.
  let turns = 0;
  let ticking = true;
  (function turn() {
    if (!ticking) return;
    turns++;
    setTimeout(turn, 10);
  })();
  const before = frames;
  const t0 = performance.now();
  // 3 suspensions of 100 ms each (levels 6, 3, 0)
  const r = await inst.exports.compute(6, 4, 100);
  const ms = performance.now() - t0;
  ticking = false;
  eq(r, expectedCompute(6, 4, 100), 'compute result');
  const advanced = frames - before;
  note(`${mode}: ${turns} timer turns, ${advanced} animation frames during a ${ms.toFixed(0)} ms suspended call`);
  check(turns >= 10, `the event loop ran only ${turns} timer turns during a ${ms.toFixed(0)} ms suspended call`);
  inst.terminate();
}

const params = new URLSearchParams(location.search);
const isolated = params.get('isolated') !== '0';
const cachePage = params.get('cache') === '1';
const insecurePage = params.get('insecure') === '1';

// ---- on-the-fly asyncify: the scenarios with PLAIN modules ------------------
// WebKit has no JSPI, so mode 'auto' asyncifies a plain module itself
// (js/auto-asyncify.js) and caches it in the Cache API. Chromium and Firefox
// have JSPI, which 'auto' would pick: for these runs it is hidden
// (WebAssembly.Suspending/promising removed, then put back), so the page is an
// engine without JSPI as far as the runtime can tell. workerThreshold 0: every
// transform runs in auto-asyncify's module worker, as a big module's would.
const CACHE_NAME = 'wasync-asyncify'; // js/auto-asyncify.js
const OTF_OPTIONS = { workerThreshold: 0 };
async function withoutJspi(fn) {
  const saved = { Suspending: WebAssembly.Suspending, promising: WebAssembly.promising };
  const had = saved.Suspending !== undefined || saved.promising !== undefined;
  delete WebAssembly.Suspending;
  delete WebAssembly.promising;
  try {
    return await fn(had);
  } finally {
    if (saved.Suspending !== undefined) WebAssembly.Suspending = saved.Suspending;
    if (saved.promising !== undefined) WebAssembly.promising = saved.promising;
  }
}
const sha256 = async (buf) =>
  [...new Uint8Array(await crypto.subtle.digest('SHA-256', buf))].map((b) => b.toString(16).padStart(2, '0')).join('');

async function onTheFlyRuns() {
  if (typeof caches === 'undefined') throw new Error('this page has no Cache API (caches is undefined): on-the-fly asyncify cannot cache');
  await caches.delete(CACHE_NAME); // the first load of each module must transform
  const stages = [];
  const hidden = await withoutJspi(async (had) => {
    for (const [name, run] of Object.entries(scenarios)) {
      await record(`no isolation, asyncify (on the fly): ${name}`, () =>
        run(onTheFlyEnv({ instantiate, mode: 'asyncify', load, note }, { stages, autoAsyncify: OTF_OPTIONS })),
      );
    }
    // a module from `wasync cc` (guest kit): only its marked import may suspend
    await record('no isolation, on the fly: a guest-kit module is asyncified for its marked imports', async () => {
      const answer = (x) => new Promise((r) => setTimeout(() => r(x + 100), 2));
      const inst = await instantiate(load('kit.wasm'), { env: { slow: answer, fast: (x) => x + 1 } }, { autoAsyncify: OTF_OPTIONS });
      eq(inst.mode, 'asyncify', 'mode');
      eq(await inst.exports.run(5), 105 + 6 + (15 * 8 + 28), 'run(5)');
      const i2 = await instantiate(load('kit.wasm'), { env: { slow: answer, fast: answer } }, { autoAsyncify: OTF_OPTIONS });
      await expectError(i2.exports.only_fast(1), /import env\.fast .*add env\.fast to options\.asyncImports/, 'an unmarked async import');
    });
    // a plain WASI command (tests/wasi/guest.c by `wasync cc --no-asyncify`)
    await record('no isolation, on the fly: a plain WASI command (late stdin, sleep, WASYNC_ASYNC_JS)', async () => {
      const { runWasi } = await import('/js/wasi/index.js');
      await wasiCommandOnTheFly({ runWasi, load, autoAsyncify: OTF_OPTIONS });
    });
    // no isolation, no JSPI: a compiled module has no mode left, and is told why
    await record('no isolation, on the fly: a WebAssembly.Module is told to pass its bytes', async () => {
      const module = await WebAssembly.compile(await (await fetch('/build/js-fixtures/app.wasm')).arrayBuffer());
      await expectError(instantiate(module, (ctx) => appImports(ctx, [])), /asyncify: .*pass the module's bytes \(not a WebAssembly\.Module\)/, 'auto');
    });
    return had;
  });
  if (hidden) note('on the fly: JSPI was hidden for these runs (this engine has it)');
  await record('on the fly: the first load of each module transforms, later ones hit the Cache API', () => {
    check(stages.length > 20, `instantiates recorded: ${stages.length}`);
    const seen = new Set();
    for (const { file, stages: s } of stages) {
      const first = !seen.has(file);
      seen.add(file);
      check(s.includes(first ? 'transform' : 'cache-hit') && !s.includes(first ? 'cache-hit' : 'transform'), `${file}: ${first ? 'first' : 'later'} load: ${s.join(',')}`);
    }
  });
}

// A fresh page load (the page above filled the cache): the first instantiate
// of the plain app.wasm here is a cache hit, and every cached module equals
// the native `wasync asyncify` output (the .async.wasm fixtures).
async function cacheRuns() {
  await record('fresh page: the plain module comes from the Cache API', () =>
    withoutJspi(async () => {
      const stages = [];
      const inst = await instantiate(load('app.wasm'), (ctx) => appImports(ctx, []), {
        autoAsyncify: { ...OTF_OPTIONS, onProgress: (p) => stages.push(p.stage) },
      });
      eq(inst.mode, 'asyncify', 'mode');
      eq(await inst.exports.compute(5, 3, 2), expectedCompute(5, 3, 2), 'compute(5, 3, 2)');
      check(stages.includes('cache-hit') && !stages.includes('transform'), `a cache hit: ${stages.join(',')}`);
    }),
  );
  await record("fresh page: the cached modules are `wasync asyncify`'s", async () => {
    const cache = await caches.open(CACHE_NAME);
    const keys = await cache.keys();
    // (plus wasi-guest.wasm's, which has no pre-built counterpart here)
    const fixtures = ['sleep', 'app', 'app-nosp', 'stack', 'typo', 'kit'];
    eq(keys.length, fixtures.length + 1, 'cache entries (one per module)');
    const have = new Set();
    for (const k of keys) have.add(await sha256(await (await cache.match(k)).arrayBuffer()));
    for (const f of fixtures)
      check(have.has(await sha256(await (await fetch(`/build/js-fixtures/${f}.async.wasm`)).arrayBuffer())), `${f}.async.wasm is in the cache`);
  });
}
// What this engine lacks (JSPI in WebKit; SharedArrayBuffer off isolated pages).
const { why } = supportedModes(null);
const needs = (mode, fn) => () => (mode !== 'asyncify' && why[mode] ? { skip: why[mode] } : fn());

// A plain-http origin that is not localhost: no secure context, so neither
// the Cache API nor crypto.subtle. A selection of the scenarios (every
// fixture; each load transforms again, on this thread: kept short for CI)
// runs on the fly without cache stages.
const INSECURE_SCENARIOS = ['sleep', 'nestedC', 'strings', 'concurrent', 'queuedWithoutStackPointer', 'importNotInstrumented', 'marshalled', 'moduleStack'];
async function insecureRuns() {
  await record('insecure origin: not a secure context', () => {
    check(isSecureContext === false, 'isSecureContext');
    check(typeof caches === 'undefined', 'no Cache API');
  });
  const stages = [];
  await withoutJspi(async () => {
    for (const name of INSECURE_SCENARIOS) {
      await record(`insecure origin, asyncify (on the fly, no cache): ${name}`, () =>
        scenarios[name](onTheFlyEnv({ instantiate, mode: 'asyncify', load, note }, { stages })),
      );
    }
  });
  await record('insecure origin: every load transformed, without cache stages', () => {
    check(stages.length >= 10, `instantiates recorded: ${stages.length}`);
    for (const { file, stages: s } of stages) eq(s.join(','), 'load,transform,done', `${file}: stages`);
  });
}

async function main() {
  const modes = ['jspi', 'asyncify', 'worker'];
  if (cachePage) {
    await cacheRuns();
  } else if (insecurePage) {
    await insecureRuns();
  } else if (isolated) {
    await record('page is cross-origin isolated', () => check(crossOriginIsolated === true, 'crossOriginIsolated'));
    for (const mode of modes) {
      for (const [name, run] of Object.entries(scenarios)) {
        await record(`${mode}: ${name}`, needs(mode, () => run({ instantiate, mode, load, note })));
      }
      await record(`${mode}: main thread responsive while suspended`, needs(mode, () => responsive(mode)));
    }
    await record('auto picks jspi here', needs('jspi', async () => {
      const inst = await instantiate(load('app.wasm'), (ctx) => appImports(ctx, []));
      eq(inst.mode, 'jspi', 'auto mode');
      eq(await inst.exports.compute(3, 3, 1), expectedCompute(3, 3, 1), 'result');
    }));
  } else {
    await record('page is not cross-origin isolated', () => check(crossOriginIsolated === false, 'crossOriginIsolated'));
    await record('worker mode fails with the clear error', () =>
      expectError(
        instantiate(load('app.wasm'), (ctx) => appImports(ctx, []), { mode: 'worker' }),
        /crossOriginIsolated is false.*Cross-Origin-Opener-Policy: same-origin.*Cross-Origin-Embedder-Policy: require-corp/,
        'worker mode',
      ),
    );
    await record('supportedModes() reports it', () => {
      const { modes: m, why } = supportedModes(null);
      check(!m.includes('worker'), 'worker not listed');
      check(/crossOriginIsolated/.test(why.worker), 'reason');
    });
    await record('auto falls back to jspi (engine has JSPI)', needs('jspi', async () => {
      const inst = await instantiate(load('app.wasm'), (ctx) => appImports(ctx, []), { mode: 'auto' });
      eq(inst.mode, 'jspi', 'auto mode');
      eq(await inst.exports.compute(4, 1, 2), expectedCompute(4, 1, 2), 'result');
    }));
    await record('auto without jspi falls back to asyncify (instrumented module)', async () => {
      const inst = await instantiate(load('app.async.wasm'), (ctx) => appImports(ctx, []), {
        mode: 'auto',
        modes: ['worker', 'asyncify'],
      });
      eq(inst.mode, 'asyncify', 'auto mode');
      eq(await inst.exports.compute(4, 1, 2), expectedCompute(4, 1, 2), 'result');
    });
    await record('auto with nothing usable names what is missing', () =>
      expectError(
        instantiate(load('app.wasm'), (ctx) => appImports(ctx, []), { mode: 'auto', modes: ['asyncify', 'worker'] }),
        /asyncify: .*wasync asyncify[\s\S]*worker: .*Cross-Origin-Embedder-Policy/,
        'auto',
      ),
    );
    for (const mode of ['jspi', 'asyncify']) {
      for (const [name, run] of Object.entries(scenarios)) {
        await record(`no isolation, ${mode}: ${name}`, needs(mode, () => run({ instantiate, mode, load, note })));
      }
    }
    await onTheFlyRuns();
  }
  document.getElementById('status').textContent = 'done';
  window.__results = { done: true, results };
}

main().catch((e) => {
  results.push({ name: 'page', ok: false, error: String(e?.stack ?? e) });
  window.__results = { done: true, results };
});
