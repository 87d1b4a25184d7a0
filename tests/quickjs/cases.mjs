// cases.mjs -- the wasync-quickjs test cases, run in one engine and one mode:
//
//   node --expose-gc tests/quickjs/cases.mjs MODE [FILTER]
//
// Prints one line per case: "ok NAME", "FAIL NAME: why" or "skip NAME: why"
// (tests/quickjs/run.mjs runs this for every engine and mode and counts).
// The same cases run in a browser page through cases-page.html.
import { QuickJS } from '../../quickjs/index.js';
import { readSource, QUICKJS_TESTS } from './quickjs-tests.mjs';

const mode = globalThis.process?.argv[2] ?? new URLSearchParams(globalThis.location?.search).get('mode');
const filter = globalThis.process?.argv[3] ?? new URLSearchParams(globalThis.location?.search).get('filter') ?? '';
const isWorker = mode === 'worker';
// WebKitGTK (JavaScriptCore): no JSPI; SharedArrayBuffer only with
// JSC_useSharedArrayBuffer=1 (tests/quickjs/browser.mjs sets it).
const ua = globalThis.navigator?.userAgent ?? '';
const isWebKit = /AppleWebKit/.test(ua) && !/Chrome|HeadlessChrome/.test(ua);

const cases = [];
const test = (name, fn) => cases.push({ name, fn });

class Skip extends Error {}

function assert(cond, what) {
  if (!cond) throw new Error(what);
}
function eq(actual, expected, what = 'value') {
  const a = show(actual);
  const e = show(expected);
  if (a !== e) throw new Error(`${what}: got ${a}, expected ${e}`);
}
function show(v) {
  // (Dates show as their ISO text: JSON.stringify applies toJSON first.)
  return JSON.stringify(v, (k, x) => {
    if (typeof x === 'bigint') return `${x}n`;
    if (x === undefined) return '<undefined>';
    if (x instanceof Uint8Array) return `u8[${[...x]}]`;
    return x;
  });
}
async function rejects(p, re, what) {
  try {
    await p;
  } catch (e) {
    if (!re.test(`${e.name}: ${e.message}`)) throw new Error(`${what}: rejected with "${e.name}: ${e.message}", expected ${re}`);
    return e;
  }
  throw new Error(`${what}: resolved, expected a rejection matching ${re}`);
}
const sleep = (ms, v) => new Promise((r) => setTimeout(() => r(v), ms));
const create = (opts = {}) => QuickJS.create({ mode, ...opts });

async function withVM(opts, fn) {
  const vm = await create(opts);
  try {
    return await fn(vm);
  } finally {
    vm.dispose();
  }
}

// ---- values ------------------------------------------------------------------

test('completion values of scripts', () =>
  withVM({}, async (vm) => {
    eq(await vm.evalAsync('1 + 2'), 3);
    eq(await vm.evalAsync('"a" + "b"'), 'ab');
    eq(await vm.evalAsync('undefined'), undefined);
    eq(await vm.evalAsync('var g = 40; g + 2'), 42);
    eq(await vm.evalAsync('g'), 40, 'globals persist between evaluations');
    eq(await vm.evalAsync('Promise.resolve(5)'), 5, 'a Promise completion value is awaited');
    eq(await vm.evalAsync('(async () => { await null; return [1, {a: 2}]; })()'), [1, { a: 2 }]);
  }));

const SAMPLE = {
  n: 1.5, i: -7, big: -123456789012345678901234567890n, s: 'héllo ✓ 𝄞', t: true, f: false, nil: null,
  u: undefined, bytes: new Uint8Array([0, 1, 255]), date: new Date(1700000000123),
  nested: { a: [1, [2, [3, { b: 'c' }]]], empty: {}, arr: [] },
};

test('structured values guest -> host', () =>
  withVM({}, async (vm) => {
    const v = await vm.evalAsync(`({n: 1.5, i: -7, big: -123456789012345678901234567890n, s: 'héllo ✓ 𝄞', t: true, f: false,
      nil: null, u: undefined, bytes: new Uint8Array([0, 1, 255]), date: new Date(1700000000123),
      nested: {a: [1, [2, [3, {b: 'c'}]]], empty: {}, arr: []}})`);
    eq(v, SAMPLE);
    assert(v.date instanceof Date && v.date.getTime() === 1700000000123, 'Date arrives as a Date');
    assert(v.bytes instanceof Uint8Array, 'Uint8Array arrives as a Uint8Array');
    assert('u' in v && v.u === undefined, 'undefined properties are kept');
    const e = await vm.evalAsync('new RangeError("r")');
    assert(e instanceof RangeError && e.message === 'r', `Error values arrive as Errors (${e})`);
  }));

test('structured values host -> guest', () =>
  withVM({}, async (vm) => {
    vm.expose('give', () => SAMPLE, { style: 'sync' });
    const r = await vm.evalAsync(`const v = give();
      [typeof v.big, v.big === -123456789012345678901234567890n, v.bytes instanceof Uint8Array, v.bytes[2],
       v.date instanceof Date, v.date.getTime(), 'u' in v, v.u === undefined, v.nested.a[1][1][1].b, v.s, v.i, v.n]`);
    eq(r, ['bigint', true, true, 255, true, 1700000000123, true, true, 'c', 'héllo ✓ 𝄞', -7, 1.5]);
    vm.expose('echo', (x) => x, { style: 'sync' });
    eq(await vm.evalAsync('echo(give())'), SAMPLE, 'round trip');
    vm.expose('err', () => new TypeError('t'), { style: 'sync' });
    eq(await vm.evalAsync('const e = err(); [e instanceof TypeError, e.message]'), [true, 't']);
    // primitives as whole results (written straight into guest memory in
    // jspi/asyncify modes), from every style
    const prims = [0, -1, 2147483647, -2147483648, 2 ** 31, 1.5, -0, NaN, Infinity, true, false, null, undefined, ''];
    vm.expose('prim', (i) => prims[i], { style: 'sync' });
    vm.expose('primB', async (i) => prims[i]);
    vm.expose('primP', async (i) => prims[i], { style: 'promise' });
    const probe = (f) => `(async () => { const out = []; for (let i = 0; i < ${prims.length}; i++) { const v = ${f}; out.push([typeof v, Object.is(v, -0) ? '-0' : String(v)]); } return out; })()`;
    const want = prims.map((v) => [typeof v, Object.is(v, -0) ? '-0' : String(v)]);
    for (const f of ['prim(i)', 'primB(i)', 'await primP(i)']) eq(await vm.evalAsync(probe(f)), want, f);
    // replies too big for the guest's reply buffer (fetched by take_reply), each after a small one
    vm.expose('text', (n) => 'z'.repeat(n) + n, { style: 'sync' });
    vm.expose('textB', async (n) => 'z'.repeat(n) + n);
    vm.expose('textP', async (n) => 'z'.repeat(n) + n, { style: 'promise' });
    for (const f of ['text', 'textB', 'await textP'])
      eq(await vm.evalAsync(`(async () => { const a = ${f}(3), b = ${f}(100000), c = ${f}(2); return [a, b.length, b.slice(-6), c]; })()`),
        ['zzz3', 100006, '100000', 'zz2'], f);
  }));

test('values too big, cyclic or functions are refused', () =>
  withVM({ maxValueSize: 1000 }, async (vm) => {
    await rejects(vm.evalAsync('"x".repeat(2000)'), /maxValueSize/, 'too big guest -> host');
    await rejects(vm.evalAsync('const o = {}; o.o = o; o'), /nests deeper|larger than maxValueSize/, 'cycle');
    await rejects(vm.evalAsync('(function f() {})'), /function cannot be passed/, 'function');
    vm.expose('big', () => 'y'.repeat(5000), { style: 'sync' });
    eq(await vm.evalAsync('try { big(); "no" } catch (e) { e.message }'), 'wasync: the value is larger than maxValueSize (1000 bytes); pass less or raise the limit');
    eq(await vm.evalAsync('1'), 1, 'usable afterwards');
  }));

test('two evaluations in flight never swap results', () =>
  withVM({}, async (vm) => {
    vm.expose('wait', (ms, v) => sleep(ms, v), { style: 'promise' });
    vm.expose('block', (ms, v) => sleep(ms, v), { style: 'blocking' });
    const a = vm.evalAsync('wait(60, "slow")');
    const b = vm.evalAsync('wait(1, "fast")');
    const c = vm.evalAsync('block(30, "blocked")');
    const d = vm.evalAsync('"plain"');
    eq(await Promise.all([a, b, c, d]), ['slow', 'fast', 'blocked', 'plain']);
    const order = [];
    await Promise.all([vm.evalAsync('wait(400, 1)').then((v) => order.push(v)), vm.evalAsync('wait(1, 2)').then((v) => order.push(v))]);
    eq(order, [2, 1], 'the faster one settles first');
  }));

// ---- errors ------------------------------------------------------------------

test('guest exceptions reject with message and stack', () =>
  withVM({}, async (vm) => {
    const e = await rejects(vm.evalAsync('function inner() { throw new TypeError("boom") }\ninner()', { filename: 'app.js' }), /TypeError: boom/, 'throw');
    assert(e instanceof TypeError, 'a TypeError');
    assert(/at inner \(app\.js/.test(e.stack), `stack names the guest frame: ${e.stack}`);
    await rejects(vm.evalAsync('throw 42'), /.*/, 'throw a number').then((v) => eq(v, 42));
    await rejects(vm.evalAsync('syntax error here'), /SyntaxError/, 'syntax error');
    await rejects(vm.evalAsync('Promise.reject(new Error("later"))'), /Error: later/, 'rejected completion value');
    await rejects(vm.evalAsync('(async () => { await null; null.x })()'), /TypeError/, 'async throw');
  }));

test('host exceptions and rejections are catchable in the guest', () =>
  withVM({}, async (vm) => {
    vm.expose('failSync', () => { throw new RangeError('sync fail'); }, { style: 'sync' });
    vm.expose('failBlocking', async () => { await sleep(1); throw new Error('blocking fail'); });
    vm.expose('failPromise', async () => { await sleep(1); throw new TypeError('promise fail'); }, { style: 'promise' });
    vm.expose('rejectValue', () => Promise.reject({ code: 7 }));
    eq(await vm.evalAsync('try { failSync() } catch (e) { [e instanceof RangeError, e.message] }'), [true, 'sync fail']);
    eq(await vm.evalAsync('try { failBlocking() } catch (e) { [e.name, e.message] }'), ['Error', 'blocking fail']);
    eq(await vm.evalAsync('(async () => { try { await failPromise() } catch (e) { return [e instanceof TypeError, e.message] } })()'), [true, 'promise fail']);
    eq(await vm.evalAsync('try { rejectValue() } catch (e) { e.code }'), 7);
    await rejects(vm.evalAsync('failBlocking()'), /Error: blocking fail/, 'uncaught host error rejects the eval');
    vm.expose('promiseFromSync', () => sleep(1), { style: 'sync' });
    await rejects(vm.evalAsync('promiseFromSync()'), /style: 'blocking'/, 'sync style returning a Promise');
  }));

// ---- many host calls ---------------------------------------------------------

test('1, 5, 10, 1000, 10000 awaited host calls in one eval, then the VM reused', () =>
  withVM({}, async (vm) => {
    vm.expose('inc', async (x) => { await null; return x + 1; });
    vm.expose('incP', async (x) => x + 1, { style: 'promise' });
    const counts = [1, 5, 10, 1000, 10000];
    for (const n of counts) {
      eq(await vm.evalAsync(`let x${n} = 0; for (let i = 0; i < ${n}; i++) x${n} = inc(x${n}); x${n}`), n, `${n} blocking calls`);
      eq(await vm.evalAsync(`(async () => { let x = 0; for (let i = 0; i < ${n}; i++) x = await incP(x); return x; })()`), n, `${n} Promise-style calls`);
    }
    eq(await vm.evalAsync('[1, 2, 3].map((x) => inc(x)).join()'), '2,3,4', 'reused');
  }));

test('Promise-style settlements: many at once, results at once, the VM never held', () =>
  withVM({}, async (vm) => {
    let release;
    const gate = new Promise((r) => (release = r));
    const within = (p, what) => Promise.race([p, sleep(30000).then(() => { throw new Error(`${what}: no result in 30 s`); })]);
    vm.expose('hp', async (x) => x, { style: 'promise' });
    vm.expose('gated', () => gate, { style: 'promise' });
    eq(await vm.evalAsync('Promise.all(Array.from({length: 300}, (_, i) => hp(i))).then((a) => a.reduce((s, x) => s + x, 0))'),
      (300 * 299) / 2, '300 calls in flight at once');
    eq(await within(vm.evalAsync('gated().then((v) => { globalThis.late = v; }); 5'), 'fire and forget'), 5,
      'an evaluation done while a Promise-style call is pending resolves at once');
    const waiting = vm.evalAsync('gated().then((v) => v + "!")');
    eq(await within(vm.evalAsync('hp(2).then((x) => x + 1)'), 'a second evaluation'), 3, 'an evaluation waiting for a host Promise does not hold the VM');
    await rejects(vm.evalAsync('gated()', { timeout: 50 }), /timed out/, 'a deadline while waiting');
    eq(await within(vm.evalAsync('6 * 7'), 'after the deadline'), 42, 'usable after the deadline');
    release('open');
    eq(await waiting, 'open!', 'the waiting evaluation gets its settlement');
    eq(await vm.evalAsync('late'), 'open', 'the fire-and-forget call was settled too');
  }));

test('host calls from promise jobs, async functions, generators, module top-level await', () =>
  withVM({}, async (vm) => {
    vm.expose('get', (k) => sleep(2, `v:${k}`));
    vm.expose('getP', (k) => sleep(2, `p:${k}`), { style: 'promise' });
    eq(await vm.evalAsync('Promise.resolve(1).then((x) => get(x))'), 'v:1', 'in a promise job');
    eq(await vm.evalAsync('(async function () { await null; return get("a") + await getP("b"); })()'), 'v:ap:b', 'async function');
    eq(await vm.evalAsync('function* g() { yield get(1); yield get(2); } [...g()].join()'), 'v:1,v:2', 'generator');
    eq(await vm.evalAsync('(async () => { const out = []; for await (const x of (async function* () { yield await getP(1); yield get(2); })()) out.push(x); return out.join(); })()'), 'p:1,v:2', 'async generator');
    eq(await vm.evalAsync('globalThis.m = await getP("tla") + get("x");', { type: 'module' }), undefined, 'module resolves undefined');
    eq(await vm.evalAsync('m'), 'p:tlav:x', 'module top-level await ran to the end');
    eq(await vm.evalAsync('export const k = 1; globalThis.k2 = k + 1;', { type: 'module' }), undefined);
    eq(await vm.evalAsync('k2'), 2, 'a module with exports');
    await rejects(vm.evalAsync('await null; throw new Error("in module")', { type: 'module' }), /in module/, 'module rejection');
  }));

test('blocking host calls inside sort comparators, getters, toString and Proxy traps', () =>
  withVM({}, async (vm) => {
    // Sorting calls its comparator through a function pointer: the asyncify
    // build must keep that path instrumented (scripts/build-quickjs.sh).
    vm.expose('cmp', async (a, b) => { await sleep(0); return a - b; });
    vm.expose('get', async (k) => { await null; return `v:${k}`; });
    eq(await vm.evalAsync('[5, 3, 9, 1, 7, 2].sort((a, b) => cmp(a, b)).join()'), '1,2,3,5,7,9', 'Array sort');
    eq(await vm.evalAsync('Array.from(new Int32Array([4, -1, 8, 0]).sort((a, b) => cmp(a, b))).join()'), '-1,0,4,8', 'TypedArray sort');
    eq(await vm.evalAsync('({ get x() { return get("g"); } }).x'), 'v:g', 'getter');
    eq(await vm.evalAsync('"" + { toString() { return get("s"); } }'), 'v:s', 'toString');
    eq(await vm.evalAsync('new Proxy({}, { get: (t, k) => get(k) }).key'), 'v:key', 'Proxy trap');
    eq(await vm.evalAsync('JSON.stringify({ a: 1 }, (k, v) => (k === "a" ? get(v) : v))'), '{"a":"v:1"}', 'JSON replacer');
    eq(await vm.evalAsync('"a-b".replace(/-/, () => get("r"))'), 'av:rb', 'replace callback');
  }));

test('namespaces of host functions', () =>
  withVM({}, async (vm) => {
    vm.expose('db', { get: async (k) => `got ${k}`, put: (k, v) => true, nested: { deep: () => 'deep' } });
    vm.expose('api.version', () => 3, { style: 'sync' });
    eq(await vm.evalAsync('[db.get("k"), db.put(1, 2), db.nested.deep(), api.version(), typeof db.get]'), ['got k', true, 'deep', 3, 'function']);
  }));

test('100 VMs each suspended in a host call, evaluated concurrently', async () => {
  // In a browser, worker mode runs 24: each VM is a dedicated worker there.
  const n = isWorker && !globalThis.process?.versions?.node ? 24 : 100;
  const vms = await Promise.all(Array.from({ length: n }, () => create({ memoryLimit: 8 << 20 })));
  try {
    let suspended = 0;
    let release;
    const gate = new Promise((r) => (release = r));
    vms.forEach((vm, i) => vm.expose('wait', async (x) => { if (++suspended === n) release(); await gate; return x * 2 + i; }));
    const results = Promise.all(vms.map((vm, i) => vm.evalAsync(`wait(${i}) + 1`)));
    await Promise.race([gate, sleep(30000).then(() => { throw new Error(`only ${suspended} of ${n} VMs suspended`); })]);
    eq(await results, vms.map((_, i) => i * 3 + 1));
    if (n < 100) console.log(`note 100 VMs: worker mode in a browser ran ${n} (one worker per VM)`);
  } finally {
    for (const vm of vms) vm.dispose();
  }
});

// ---- limits ------------------------------------------------------------------

test('memory limit in bytes holds against many small allocations', () =>
  withVM({ memoryLimit: 4 << 20 }, async (vm) => {
    const before = await vm.heapSize();
    assert(before > 0 && before < 4 << 20, `heap after start: ${before}`);
    const r = await vm.evalAsync('const keep = []; try { for (;;) keep.push({a: 1}); } catch (e) { globalThis.len = keep.length; keep.length = 0; String(e) }');
    assert(/out of memory/.test(r), `catchable out of memory: ${r}`);
    const len = await vm.evalAsync('len');
    assert(len > 1000 && len < (4 << 20) / 16, `objects held before the limit: ${len}`);
    const peak = await vm.heapSize();
    assert(peak <= 4 << 20, `heap ${peak} within the limit`);
    eq(await vm.evalAsync('[1, 2].map((x) => x * 2)'), [2, 4], 'usable afterwards');
    const e = await rejects(vm.evalAsync('"x".repeat(1 << 23)'), /out of memory|InternalError|RangeError/, 'one big allocation');
    assert(e, 'rejected');
  }));

test('stack overflow is a catchable error at any depth, even followed by a host call', () =>
  withVM({}, async (vm) => {
    vm.expose('host', async (d) => d);
    const r = await vm.evalAsync('function f(n) { return f(n + 1) + 1; } try { f(0) } catch (e) { [e.name, e.message, host(1)] }');
    eq(r, ['InternalError', 'stack overflow', 1]);
    let deepest = 0;
    for (const depth of [10, 100, 200, 400, 800, 1600, 3200, 100000]) {
      const out = await vm.evalAsync(`function g(n) { return n === 0 ? host(${depth}) : g(n - 1); }
        try { g(${depth}) } catch (e) { e.name + ': ' + e.message }`);
      if (out === depth) deepest = depth;
      else assert(out === 'InternalError: stack overflow', `depth ${depth}: ${out}`);
    }
    assert(deepest >= 200, `host calls work at depth ${deepest}`);
    eq(await vm.evalAsync('host("after")'), 'after', 'usable afterwards');
  }));

test('maxStackDepth: a catchable RangeError at the limit, host calls at every depth below it', () =>
  withVM({ maxStackDepth: 120 }, async (vm) => {
    vm.expose('host', async (d) => { await null; return d; });
    vm.expose('hostP', async (d) => d, { style: 'promise' });
    // The script is level 1 and the arrow function level 2, so g can go 118
    // levels deep.
    const probe = '(() => { let d = 0; function g() { d++; g(); } try { g() } catch (e) { return [e.name, e.message, d, host(d)] } })()';
    eq(await vm.evalAsync(probe), ['RangeError', 'Maximum call stack depth exceeded (maxStackDepth 120)', 118, 118]);
    eq(await vm.evalAsync(probe), ['RangeError', 'Maximum call stack depth exceeded (maxStackDepth 120)', 118, 118], 'the count is back to 0 after the error');
    for (const depth of [1, 60, 117, 118, 119, 500]) {
      // f(depth) is `depth` levels below the script; the host call at the bottom.
      const out = await vm.evalAsync(`function f(n) { return n === 1 ? host(${depth}) : f(n - 1); }
        try { f(${depth}) } catch (e) { e.name + ': ' + e.message }`);
      if (depth <= 119) eq(out, depth, `a blocking host call ${depth} levels deep`);
      else eq(out, 'RangeError: Maximum call stack depth exceeded (maxStackDepth 120)', `depth ${depth}`);
    }
    eq(await vm.evalAsync(`(async () => { async function a(n) { return n === 1 ? await hostP(7) : a(n - 1); }
      return await a(110); })()`), 7, 'Promise-style host call 110 levels deep in async functions');
    eq(await vm.evalAsync(`function* gen(n) { if (n > 1) yield* gen(n - 1); else yield host('gen'); } [...gen(100)].join()`), 'gen',
      'generators count their frames too and stay below the limit');
    eq(await vm.evalAsync('try { (function r() { r() })() } catch (e) { e instanceof RangeError && host("usable") }'), 'usable');
    await rejects(vm.evalAsync('(function r() { r() })()'), /RangeError: Maximum call stack depth exceeded/, 'uncaught: rejects');
    eq(await vm.evalAsync('host(1) + 1'), 2, 'usable afterwards');
  }));

test('maxStackDepth is validated; a large one leaves stackSize to stop recursion', async () => {
  await rejects(create({ maxStackDepth: -1 }), /maxStackDepth must be a whole number/, 'negative');
  await rejects(create({ maxStackDepth: 1.5 }), /maxStackDepth must be a whole number/, 'fractional');
  await withVM({ maxStackDepth: 1e6 }, async (vm) => {
    vm.expose('host', async (d) => d);
    eq(await vm.evalAsync('function f(n) { return f(n + 1) + 1; } try { f(0) } catch (e) { [e.name, e.message, host(1)] }'),
      ['InternalError', 'stack overflow', 1]);
  });
});

test('timeout interrupts a long guest loop and leaves the VM usable', () =>
  withVM({}, async (vm) => {
    const t0 = Date.now();
    await rejects(vm.evalAsync('for (;;) {}', { timeout: 100 }), /TimeoutError/, 'infinite loop');
    assert(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
    await rejects(vm.evalAsync('for (;;) { try { for (;;) {} } catch (e) {} }', { timeout: 50 }), /TimeoutError/, 'catch cannot swallow it');
    eq(await vm.evalAsync('6 * 7'), 42, 'usable afterwards');
  }));

// The host calls sleep 60 s (timers unref'd in Node); the bounds only show that the deadline,
// not the sleep, ended the evaluation, with room for a loaded machine (WebKitGTK's worker mode
// took > 5 s under a load average of 28).
const longSleep = () => new Promise((r) => { const t = setTimeout(() => r('late'), 60000); t?.unref?.(); });
test('deadline covers time suspended in host calls', () =>
  withVM({}, async (vm) => {
    let aborted = false;
    vm.expose('slow', function () { this.signal.addEventListener('abort', () => (aborted = true)); return longSleep(); });
    vm.expose('slowP', () => longSleep(), { style: 'promise' });
    let t0 = Date.now();
    await rejects(vm.evalAsync('slow()', { timeout: 100 }), /TimeoutError/, 'blocking call');
    assert(Date.now() - t0 < 20000, `blocking: took ${Date.now() - t0} ms`);
    assert(aborted, "the host function's signal fired");
    t0 = Date.now();
    await rejects(vm.evalAsync('try { slow() } catch (e) {} for (;;) {}', { timeout: 100 }), /TimeoutError/, 'catching the interruption');
    await rejects(vm.evalAsync('slowP()', { timeout: 100 }), /TimeoutError/, 'Promise-style call');
    assert(Date.now() - t0 < 30000, `took ${Date.now() - t0} ms`);
    eq(await vm.evalAsync('"still here"'), 'still here', 'usable afterwards');
  }));

test('AbortSignal cancels a running or suspended evaluation', () =>
  withVM({}, async (vm) => {
    vm.expose('slow', () => sleep(10000));
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    await rejects(vm.evalAsync('slow()', { signal: ac.signal }), /AbortError/, 'abort while suspended');
    const ac2 = new AbortController();
    ac2.abort();
    await rejects(vm.evalAsync('1', { signal: ac2.signal }), /AbortError/, 'already aborted');
    eq(await vm.evalAsync('2'), 2);
  }));

// ---- lifetime ----------------------------------------------------------------

test('cycles are refused', () =>
  withVM({}, async (vm) => {
    await rejects(vm.evalAsync('const o = {}; o.o = o; o'), /nests deeper/, 'cycle guest -> host');
    vm.expose('take', () => 1, { style: 'sync' });
    eq(await vm.evalAsync('const a = []; a.push(a); try { take(a) } catch (e) { e.message }'), 'wasync: the value nests deeper than 256 levels (a cycle?); pass a flatter value');
    const o = {};
    o.o = o;
    vm.expose('cyc', () => o, { style: 'sync' });
    eq(await vm.evalAsync('try { cyc() } catch (e) { e.message }'), 'wasync: the value nests deeper than 256 levels (a cycle?); pass a flatter value');
  }));

test('dispose rejects pending evaluations and later calls', async () => {
  const vm = await create();
  vm.expose('never', () => new Promise(() => {}));
  const p = vm.evalAsync('never()');
  await sleep(20);
  vm.dispose();
  await rejects(p, /AbortError: .*disposed/, 'pending');
  await rejects(vm.evalAsync('1'), /disposed/, 'later');
  assert(vm.disposed, 'disposed');
});

test('an evaluation whose Promise can never settle rejects', () =>
  withVM({}, async (vm) => {
    await rejects(vm.evalAsync('new Promise(() => {})'), /can never settle/, 'pending forever');
    eq(await vm.evalAsync('1'), 1);
  }));

test('dispose frees everything: memory returns to its baseline', async () => {
  if (typeof globalThis.gc !== 'function') throw new Skip('needs node --expose-gc');
  const rounds = isWorker ? 2 : 4;
  const per = isWorker ? 8 : 20;
  const measure = async () => {
    for (let i = 0; i < 4; i++) {
      globalThis.gc();
      await sleep(20);
    }
    const m = process.memoryUsage();
    return m.rss;
  };
  const cycle = async () => {
    const vms = await Promise.all(Array.from({ length: per }, () => create({})));
    await Promise.all(vms.map((vm) => vm.evalAsync('globalThis.junk = Array.from({length: 20000}, (_, i) => ({i})); junk.length')));
    for (const vm of vms) vm.dispose();
  };
  await cycle();
  const base = await measure();
  for (let r = 0; r < rounds; r++) await cycle();
  const after = await measure();
  const grown = (after - base) / 2 ** 20;
  // Each round creates per x ~5 MiB; a leak of the VMs would grow by
  // rounds x per x that. Allow allocator noise.
  assert(grown < 48, `RSS grew by ${grown.toFixed(1)} MiB after ${rounds * per} more VMs`);
});

test("README's first example: the result on the caller's last line", async () => {
  if (!globalThis.process?.versions?.node) throw new Skip('reads quickjs/README.md from disk (Node only)');
  const { readFile } = await import('node:fs/promises');
  const md = await readFile(new URL('../../quickjs/README.md', import.meta.url), 'utf8');
  const block = /```js\n([\s\S]*?)```/.exec(md)?.[1];
  assert(block && block.includes("from 'wasync-quickjs'"), 'the first js block imports wasync-quickjs');
  const lines = block.trimEnd().split('\n');
  assert(/^const result = await vm\.evalAsync\(/.test(lines.at(-1)), `last line holds the result: ${lines.at(-1)}`);
  const src = `${block
    .replace("'wasync-quickjs'", `'${new URL('../../quickjs/index.js', import.meta.url)}'`)
    .replace('QuickJS.create()', `QuickJS.create({ mode: '${mode}' })`)}\nvm.dispose();\nexport default result;\n`;
  const m = await import(`data:text/javascript,${encodeURIComponent(src)}`);
  eq(m.default, 42);
});

// ---- QuickJS's own tests -------------------------------------------------------

for (const t of QUICKJS_TESTS) {
  test(`QuickJS tests/${t.file}${t.note ? ` (${t.note})` : ''}`, () =>
    withVM({}, async (vm) => {
      vm.expose('print', () => undefined, { style: 'sync' });
      await vm.evalAsync(await readSource(t), { filename: t.file });
    }));
}

// ---- run ---------------------------------------------------------------------

export async function runAll(log = console.log) {
  let pass = 0;
  let fail = 0;
  for (const c of cases) {
    if (filter && !c.name.includes(filter)) continue;
    const t0 = Date.now();
    try {
      await c.fn();
      pass++;
      log(`ok ${c.name} (${Date.now() - t0} ms)`);
    } catch (e) {
      if (e instanceof Skip) {
        log(`skip ${c.name}: ${e.message}`);
        continue;
      }
      fail++;
      // (JavaScriptCore's stack has no message line)
      const stack = String(e?.stack ?? '');
      log(`FAIL ${c.name}: ${stack.includes(String(e?.message)) ? stack : `${e?.message ?? e}\n${stack}`}`);
    }
  }
  return { pass, fail };
}

if (globalThis.process?.argv[1]?.endsWith('cases.mjs')) {
  const { pass, fail } = await runAll();
  console.log(`totals ${pass} ${fail}`);
  process.exit(fail ? 1 : 0);
}
