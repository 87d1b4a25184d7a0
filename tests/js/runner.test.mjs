// node --test: the runner contract (js/runner.js) and the runtime's smaller
// promises that no scenario covers: memory64 refused by asyncify mode, async
// imports returning i64/f64 with a WebAssembly.Module source, ctx.signal and
// ctx.callName after an await, supportedModes(null), inst.concurrency, and
// the typed memory accessors on the import context.
import assert from 'node:assert/strict';
import { supportedModes, AbortError, TimeoutError, WasyncError, AsyncifyImportError } from '../../js/index.js';
import { serve } from '../../js/serve.js';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CallQueue, Runner, contextFor } from '../../js/runner.js';
import { JspiRunner } from '../../js/jspi.js';
import { AsyncifyRunner } from '../../js/asyncify.js';
import { WorkerRunner } from '../../js/worker-host.js';
import { Call } from '../../js/call.js';
import { appImports, delay } from './scenarios.mjs';
import { test, instantiate, bytes } from './harness.mjs';

const { modes } = supportedModes(null);
const allModes = ['jspi', 'asyncify', 'worker'].filter((m) => modes.includes(m));
const file = (mode, name = 'app') => (mode === 'asyncify' ? `${name}.async.wasm` : `${name}.wasm`);

test('every runner follows the contract of runner.js', () => {
  for (const R of [JspiRunner, AsyncifyRunner, WorkerRunner]) {
    assert.ok(R.prototype instanceof Runner, `${R.name} extends Runner`);
    assert.ok(['jspi', 'asyncify', 'worker'].includes(R.mode), `${R.name}.mode`);
    assert.equal(typeof R.unavailable, 'function', `${R.name}.unavailable`);
    for (const m of ['instantiate', 'admit', 'abortStarted', 'start', 'terminate'])
      assert.equal(typeof R.prototype[m], 'function', `${R.name}.prototype.${m}`);
  }
  // one queue with abort: a queued call that is aborted leaves it
  const q = new CallQueue();
  const a = new Call('a', null, []);
  const b = new Call('b', null, []);
  const c = new Call('c', null, []);
  for (const x of [a, b, c]) q.push(x);
  a.promise.catch(() => {});
  a.abort(new Error('x'));
  assert.equal(q.remove(b), true);
  assert.equal(q.remove(b), false);
  assert.equal(q.shift(), c, 'the settled call is skipped');
  assert.equal(q.shift(), null);
  // every per-call field is declared up front (no field appears later)
  const fields = Object.keys(new Call('d', null, [])).sort();
  for (const f of ['stack', 'sp', 'data', 'rewinding', 'resumeWith', 'pending', 'pendingImport', 'suspended', 'dead', 'wake', 'wireId', 'importError', 'ctx', 'onAbort'])
    assert.ok(fields.includes(f), `Call declares ${f}`);
});

test('contextFor: only arrow functions (which ignore `this`) go without a per-call import context', () => {
  const ctxFor = () => 'ctx';
  const arrows = [(x) => x, (x) => x, async (x) => x, async () => 1, (a, b) => a + b];
  const others = [function (x) { return this ?? x; }, async function () { return this; }, { m() { return this; } }.m,
    { async(x) { return this ?? x; } }.async, (a = (1)) => a, Math.max, function () {}.bind(null), class {}];
  for (const f of arrows) assert.notEqual(contextFor(f, ctxFor), ctxFor, String(f));
  for (const f of others) assert.equal(contextFor(f, ctxFor), ctxFor, String(f));
});

test('supportedModes(null): asyncify is available on every engine', () => {
  assert.ok(supportedModes(null).modes.includes('asyncify'));
  assert.ok(!supportedModes(new WebAssembly.Module(bytes('app.wasm'))).modes.includes('asyncify'));
});

test('asyncify mode refuses a memory64 module up front, bytes or Module', async (t) => {
  const b = bytes('mem64.async.wasm');
  if (!WebAssembly.validate(b)) return t.skip(`this engine has no memory64 (Node ${process.version}): cannot load the module`);
  const imports = { env: { sleep: async (x) => x + 1 } };
  for (const src of [b, new WebAssembly.Module(b)]) {
    await assert.rejects(instantiate(src, imports, { mode: 'asyncify' }), /^Error: wasync: asyncify mode does not support memory64 modules.*'jspi' or 'worker'/);
  }
  // the other modes run it
  for (const mode of allModes.filter((m) => m !== 'asyncify')) {
    const inst = await instantiate(bytes('mem64.wasm'), imports, { mode });
    assert.equal(await inst.exports.run(4), 5, mode);
  }
});

for (const mode of allModes) {
  test(`${mode}: async imports returning i64 and f64, from bytes and from a WebAssembly.Module`, async () => {
    const imports = {
      env: {
        big: async (x) => {
          await delay(1);
          return x * 3n;
        },
        half: async (x) => x / 2,
      },
    };
    for (const src of [bytes(file(mode, 'i64')), new WebAssembly.Module(bytes(file(mode, 'i64')))]) {
      const inst = await instantiate(src, imports, { mode });
      assert.equal(await inst.exports.twice(5n), 30n);
      assert.equal(await inst.exports.halves(3), 3);
    }
  });

  test(`${mode}: ctx.signal and ctx.callName after an await; typed accessors on ctx`, async () => {
    const seen = [];
    const inst = await instantiate(
      bytes(file(mode)),
      (ctx) => {
        const imps = appImports(ctx, []);
        imps.env.fetch_greeting = async function (name, len, out, cap) {
          seen.push(['before', ctx.callName, ctx.signal instanceof AbortSignal]);
          await delay(2);
          seen.push(['after', ctx.callName, ctx.signal instanceof AbortSignal, this.callName]);
          ctx.writeI32(out, 0x01020304);
          seen.push(['i32', ctx.readI32(out), ctx.readU8(out)]);
          ctx.writeF64(out, 1.5);
          seen.push(['f64', ctx.readF64(out)]);
          return ctx.writeString(out, 'ok', cap);
        };
        return imps;
      },
      { mode },
    );
    assert.equal(await inst.exports.greet(), 2);
    assert.deepEqual(seen, [
      ['before', 'greet', true],
      ['after', 'greet', true, 'greet'],
      ['i32', 0x01020304, 4],
      ['f64', 1.5],
    ]);
  });

  if (mode !== 'worker')
    test(`${mode}: the C stack pointer is back at its top after calls that return, suspend, fail or overlap`, async () => {
      const inst = await instantiate(
        bytes(file(mode)),
        (ctx) => {
          const imps = appImports(ctx, []);
          // code 1: rejects after a suspension; 2: throws at once; else: returns
          imps.env.fail_async = (code) => {
            if (code === 2) throw new Error('sync');
            return code === 1 ? delay(1).then(() => Promise.reject(new Error('async'))) : code;
          };
          return imps;
        },
        { mode },
      );
      const sp = inst.exports.__stack_pointer;
      const top = sp.value;
      const atTop = (what) => assert.equal(sp.value, top, `stack pointer after ${what}`);
      assert.equal(await inst.exports.ping(4), 5);
      atTop('a call that returned');
      assert.equal(await inst.exports.fail_path(5), 10);
      atTop('a call with stack frames that returned');
      assert.equal(await inst.exports.sleep0(), 7);
      atTop('a call that suspended');
      await assert.rejects(inst.exports.fail_path(1), /async/);
      atTop('a call whose import rejected after suspending');
      await assert.rejects(inst.exports.fail_path(2), /sync/);
      atTop('a call whose import threw');
      const both = await Promise.allSettled([inst.exports.fail_path(1), inst.exports.sleep0(), inst.exports.fail_path(5)]);
      assert.deepEqual(both.map((r) => r.status), ['rejected', 'fulfilled', 'fulfilled']);
      atTop('overlapping calls');
      assert.equal(await inst.exports.ping(1), 2);
      atTop('a call after all of them');
    });

  test(`${mode}: inst.concurrency says whether calls overlap`, async () => {
    const a = await instantiate(bytes(file(mode)), (ctx) => appImports(ctx, []), { mode });
    const b = await instantiate(bytes(file(mode, 'app-nosp')), (ctx) => appImports(ctx, []), { mode });
    assert.equal(a.concurrency, mode === 'worker' ? 'queued' : 'parallel');
    assert.equal(b.concurrency, 'queued');
  });
}

test('worker: export calls reach a worker whose Atomics.waitAsync never wakes it (JavaScriptCore)', async (t) => {
  if (!allModes.includes('worker')) return t.skip('worker mode is unavailable here');
  const imports = { env: { big: async (x) => x * 3n, half: (x) => x / 2 } };
  const url = new URL('./fixtures/stuck-waitasync-worker.mjs', import.meta.url);
  const inst = await instantiate(bytes('i64.wasm'), imports, { mode: 'worker', worker: { url } });
  for (let i = 0; i < 20; i++) {
    assert.equal(await inst.exports.twice(BigInt(i)), BigInt(i * 6), `call ${i}`);
    assert.equal(await inst.exports.halves(i), i);
  }
});

test('asyncify: with one fixed buffer, a call from an import rejects instead of deadlocking', async () => {
  const first = await instantiate(bytes('app.async.wasm'), (ctx) => appImports(ctx, []), { mode: 'asyncify' });
  const free = first.exports.memory.buffer.byteLength; // pages appended below are free
  let inst;
  inst = await instantiate(
    bytes('app.async.wasm'),
    (ctx) => {
      const imps = appImports(ctx, []);
      imps.env.fail_async = (code) => inst.exports.noop(code);
      return imps;
    },
    { mode: 'asyncify', asyncify: { dataAddress: free, dataSize: 4096 } },
  );
  inst.exports.memory.grow(1);
  await assert.rejects(inst.exports.fail_path(1), /^Error: wasync: noop\(\) was called from an import of fail_path\(\) .*leave out dataAddress/);
  assert.equal(await inst.exports.compute(3, 1, 1), (await first.exports.compute(3, 1, 1)), 'usable afterwards');
  assert.equal(inst.concurrency, 'queued');
});

test("options.needs: ['memory'] keeps auto and an explicit mode off worker mode", async () => {
  const imps = (ctx) => appImports(ctx, []);
  await assert.rejects(
    instantiate(bytes('app.wasm'), imps, { modes: ['worker'], needs: ['memory'] }),
    /worker: guest memory lives in the worker and is out of reach between calls \(options.needs has 'memory'\)/,
  );
  await assert.rejects(instantiate(bytes('app.wasm'), imps, { mode: 'worker', needs: ['memory'] }), /mode 'worker' is unavailable/);
  await assert.rejects(instantiate(bytes('app.wasm'), imps, { needs: ['speed'] }), /unknown need 'speed'/);
  const inst = await instantiate(bytes('app.async.wasm'), imps, { modes: ['worker', 'asyncify'], needs: ['memory'] });
  assert.equal(inst.mode, 'asyncify');
  // without the need, worker mode points out of its error to the marshalling API
  if (modes.includes('worker')) {
    const w = await instantiate(bytes('app.wasm'), imps, { mode: 'worker' });
    assert.throws(() => w.memory.readBytes(0, 4), /inst\.ccall\/inst\.cwrap .*needs: \['memory'\]/);
  }
});

test('errors are classes: instanceof, name, fields', async () => {
  const inst = await instantiate(bytes('app.async.wasm'), (ctx) => appImports(ctx, [], { sleepMs: 60000 }), { mode: 'asyncify' });
  await assert.rejects(inst.call('compute', [3, 1, 1], { timeout: 5 }), (e) => e instanceof TimeoutError && e.timeout === 5 && e.name === 'TimeoutError');
  // an AbortSignal's own reason is passed on as is; terminate() aborts with wasync's AbortError
  const p = inst.call('compute', [3, 1, 1]);
  inst.terminate();
  await assert.rejects(p, (e) => e instanceof AbortError && e instanceof WasyncError && e.name === 'AbortError');
  const typo = await instantiate(bytes('typo.async.wasm'), { env: { tick: async (x) => x, tock: async (x) => x } }, { mode: 'asyncify' });
  await assert.rejects(typo.exports.only_tock(1), (e) => e instanceof AsyncifyImportError && e.importName === 'env.tock');
});

test('wasync-serve refuses a directory that does not exist', async () => {
  await assert.rejects(serve({ root: '/nonexistent/wasync', port: 0 }), /^Error: wasync: cannot serve \/nonexistent\/wasync: no such directory/);
  const bin = fileURLToPath(new URL('../../js/bin/wasync-serve.mjs', import.meta.url));
  let status = 0;
  let stderr = '';
  try {
    execFileSync(process.execPath, [bin, '/nonexistent/wasync', '--port', '0'], { stdio: 'pipe', timeout: 10000 });
  } catch (e) {
    status = e.status;
    stderr = String(e.stderr);
  }
  assert.equal(status, 1);
  assert.match(stderr, /no such directory/);
});

// Node 20 has no JSPI; say so instead of passing silently
if (!modes.includes('jspi')) test('jspi tests of this file', (t) => t.skip('this engine has no JSPI'));
