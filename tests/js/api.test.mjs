// node --test: instantiate()'s inputs, mode selection and its errors, the
// memory API in every mode, import errors, and wasync-serve's headers.
//
// Every test is bounded (TIMEOUT) and every instance a test makes is
// terminated after it, pass or fail, so that a failing or hanging call can
// neither hang the file nor keep a worker alive.
import http from 'node:http';
import assert from 'node:assert/strict';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { supportedModes } from '../../js/index.js';
import { serve } from '../../js/serve.js';
import { appImports, expectedCompute } from './scenarios.mjs';
import { test, instantiate, dir, bytes } from './harness.mjs';

const { modes, why } = supportedModes(null);
const hasJspi = modes.includes('jspi');
const allModes = ['jspi', 'asyncify', 'worker'].filter((m) => m === 'asyncify' || modes.includes(m));
const file = (mode) => (mode === 'asyncify' ? 'app.async.wasm' : 'app.wasm');

test('sources: path, file URL, Response, Module, Promise', async () => {
  const imps = (ctx) => appImports(ctx, []);
  const sources = [
    dir + 'app.async.wasm',
    pathToFileURL(dir + 'app.async.wasm'),
    new Response(bytes('app.async.wasm')),
    new WebAssembly.Module(bytes('app.async.wasm')),
    Promise.resolve(bytes('app.async.wasm').buffer),
  ];
  for (const src of sources) {
    const inst = await instantiate(src, imps, { mode: 'asyncify' });
    assert.equal(await inst.exports.compute(3, 2, 1), expectedCompute(3, 2, 1));
  }
  await assert.rejects(instantiate(42, {}), /source must be/);
});

test('auto: JSPI if the engine has it, else asyncify (plain modules asyncified on the fly)', async () => {
  const imps = (ctx) => appImports(ctx, []);
  const a = await instantiate(bytes('app.async.wasm'), imps);
  assert.equal(a.mode, hasJspi ? 'jspi' : 'asyncify');
  const p = await instantiate(bytes('app.wasm'), imps);
  assert.equal(p.mode, hasJspi ? 'jspi' : 'asyncify');
  assert.equal(await p.exports.compute(2, 2, 1), expectedCompute(2, 2, 1));
  p.terminate();
  const o = await instantiate(bytes('app.async.wasm'), imps, { modes: ['worker', 'asyncify'] });
  assert.equal(o.mode, 'worker');
  o.terminate();
  await assert.rejects(instantiate(bytes('app.wasm'), imps, { modes: ['asyncify'] }), /asyncify: .*wasync asyncify/);
  await assert.rejects(instantiate(bytes('app.wasm'), imps, { mode: 'asyncify' }), /not asyncify-instrumented/);
  await assert.rejects(instantiate(bytes('app.wasm'), imps, { mode: 'fast' }), /unknown mode/);
  if (!hasJspi)
    await assert.rejects(instantiate(bytes('app.wasm'), imps, { mode: 'jspi' }), /WebAssembly\.Suspending/);
});

test('auto: a plain module without memory is not asyncified on the fly (no room for its unwind data)', async () => {
  // (module (import "env" "f" (func (result i32))) (func (export "g") (result i32) (i32.add (call 0) (i32.const 1))))
  const noMemory = new Uint8Array([
    0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 127, 2, 9, 1, 3, 101, 110, 118, 1, 102, 0, 0, 3, 2, 1, 0, 7, 5, 1, 1, 103, 0, 1, 10, 9, 1, 7,
    0, 16, 0, 65, 1, 106, 11,
  ]);
  const inst = await instantiate(noMemory, { env: { f: () => 41 } });
  assert.equal(inst.mode, hasJspi ? 'jspi' : 'worker');
  assert.equal(await inst.exports.g(), 42);
});

test('without cross-origin isolation the worker mode names the missing headers', async () => {
  globalThis.crossOriginIsolated = false;
  try {
    assert.match(supportedModes(null).why.worker, /crossOriginIsolated is false/);
    await assert.rejects(
      instantiate(bytes('app.wasm'), (ctx) => appImports(ctx, []), { mode: 'worker' }),
      /Cross-Origin-Opener-Policy: same-origin.*Cross-Origin-Embedder-Policy: require-corp/,
    );
    await assert.rejects(
      instantiate(bytes('app.wasm'), (ctx) => appImports(ctx, []), { modes: ['asyncify', 'worker'] }),
      /no way to run async imports here:\n {2}asyncify: .*\n {2}worker: .*crossOriginIsolated/,
    );
    const inst = await instantiate(bytes('app.async.wasm'), (ctx) => appImports(ctx, []), {
      modes: ['worker', 'asyncify'],
    });
    assert.equal(inst.mode, 'asyncify');
  } finally {
    delete globalThis.crossOriginIsolated;
  }
});

for (const mode of allModes) {
  test(`${mode}: memory API through ctx (this and factory), before and after an await`, async () => {
    const seen = {};
    let shared;
    const imports = (ctx) => {
      shared = ctx;
      const base = appImports(ctx, []);
      base.env.get_name = function (buf, cap) {
        // `this` is the per-call context, ctx the shared one; both reach memory
        assert.equal(this.callName, 'greet');
        assert.equal(ctx.callName, 'greet');
        assert.ok(this.signal instanceof AbortSignal);
        this.memory.writeU32(buf, 0xdeadbeef);
        seen.u32 = ctx.memory.readU32(buf);
        this.memory.writeI64(buf, -5n);
        seen.i64 = ctx.memory.readI64(buf);
        this.memory.writeF64(buf, 2.5);
        seen.f64 = ctx.memory.readF64(buf);
        ctx.writeBytes(buf, [104, 105, 0]);
        seen.cstr = ctx.readString(buf); // NUL-terminated
        seen.size = ctx.memory.size;
        assert.throws(() => ctx.readBytes(seen.size - 2, 4), RangeError);
        // UTF-8 aware truncation: 'é' (2 bytes) does not fit in 1 and is not split
        const n = ctx.writeString(buf, 'éa', 2, { nul: true });
        seen.trunc = [n, ctx.readString(buf)];
        return ctx.writeString(buf, 'x'.repeat(100), cap); // capped at cap
      };
      base.env.fetch_greeting = async function (name, len, out, cap) {
        const s = this.readString(name, len);
        await new Promise((r) => setTimeout(r, 5));
        // more than the worker channel holds: read 100000 bytes, write them back
        const big = this.readBytes(0, 100000);
        this.writeBytes(0, big);
        const again = this.readBytes(0, 100000);
        seen.big = big.length === 100000 && again.every((b, i) => b === big[i]);
        return this.writeString(out, `${s.length}`, cap);
      };
      return base;
    };
    const inst = await instantiate(bytes(file(mode)), imports, { mode });
    assert.equal(await inst.exports.greet(), 2);
    assert.deepEqual(
      { ...seen, size: undefined },
      { u32: 0xdeadbeef, i64: -5n, f64: 2.5, cstr: 'hi', trunc: [0, ''], big: true, size: undefined },
    );
    assert.ok(seen.size >= 65536);
    assert.equal(shared.signal, undefined);
    if (mode === 'worker') {
      assert.throws(() => shared.readBytes(0, 4), /only while an import is running/);
      assert.throws(() => shared.view(), /not available in worker mode/);
    } else {
      assert.ok(shared.view() instanceof DataView);
      assert.equal(inst.memory.readU32(0), shared.view().getUint32(0, true));
    }
    inst.terminate();
  });

  test(`${mode}: import errors, missing exports, timeouts`, async () => {
    const imports = (ctx) => {
      const base = appImports(ctx, []);
      base.env.host_add = (x) => {
        if (x === 3) throw new RangeError('sync failure');
        return x + 1;
      };
      return base;
    };
    // the instance-wide default timeout (50 ms) applies to every call; a
    // loaded machine may take longer than that for plain calls, so those
    // override it per call (timeout: Infinity) -- which is tested too
    const inst = await instantiate(bytes(file(mode)), imports, { mode, timeout: 50 });
    const noLimit = { timeout: Infinity };
    await assert.rejects(inst.call('sum_sync', [10], noLimit), /sync failure/);
    assert.equal(await inst.call('sum_sync', [3], noLimit), 6);
    await assert.rejects(inst.call('nope'), /no exported function 'nope'/);
    // the import sleeps 60 s; the default timeout must end the call long before
    const t0 = Date.now();
    await assert.rejects(inst.exports.compute(0, 1, 60000), (e) => e.name === 'TimeoutError');
    assert.ok(Date.now() - t0 < 10000, `timed out after ${Date.now() - t0} ms`);
    // and leave the instance usable: a per-call timeout overrides the default
    assert.equal(await inst.call('compute', [0, 1, 100], { timeout: 20000 }), expectedCompute(0, 1, 100));
    inst.terminate();
    await assert.rejects(inst.call('noop', [1]), /the instance was terminated/);
    await assert.rejects(
      instantiate(bytes(file(mode)), { env: {} }, { mode }),
      /import env\.sleep_ms must be a function/,
    );
  });
}

for (const mode of allModes) {
  test(`${mode}: terminate() aborts pending calls and their imports' signal`, async (t) => {
    let signal;
    let timer;
    const imports = (ctx) => {
      const base = appImports(ctx, []);
      base.env.sleep_ms = function (ms) {
        signal = this.signal;
        // ignores the signal: terminate must not wait for it
        return new Promise((resolve) => (timer = setTimeout(resolve, 60000, ms)));
      };
      return base;
    };
    t.after(() => clearTimeout(timer)); // do not keep the process alive for the 60 s
    const inst = await instantiate(bytes(file(mode)), imports, { mode });
    const p = inst.exports.compute(1, 1, 1);
    const queued = inst.exports.noop(1); // worker mode: waits behind p; others: runs beside it
    if (mode !== 'worker') assert.equal(await queued, 2);
    while (signal === undefined) await new Promise((r) => setTimeout(r, 5));
    const t0 = Date.now();
    inst.terminate();
    await assert.rejects(p, (e) => e.name === 'AbortError' && /terminated/.test(e.message));
    assert.ok(Date.now() - t0 < 10000, 'prompt');
    assert.ok(signal.aborted, "the import's signal fired");
    if (mode === 'worker') await assert.rejects(queued, /terminated/);
    await assert.rejects(inst.exports.noop(1), /terminated/);
  });
}

for (const mode of allModes) {
  // Regression: in worker mode a call aborted before the worker reached its
  // import used to run that import anyway, with an already-aborted signal --
  // whose 'abort' event never fires again -- so the worker, and every call
  // queued behind it, waited for the import's full 60 s.
  test(`${mode}: a call aborted before reaching its import does not block the next call`, async (t) => {
    const timers = new Set();
    t.after(() => timers.forEach(clearTimeout));
    const imports = (ctx) => {
      const base = appImports(ctx, []);
      base.env.sleep_ms = function (ms) {
        const signal = this.signal; // only listens for a *future* abort
        return new Promise((resolve, reject) => {
          const timer = setTimeout(resolve, 60000, ms);
          timers.add(timer);
          signal.addEventListener('abort', () => {
            clearTimeout(timer);
            reject(signal.reason);
          });
        });
      };
      return base;
    };
    const inst = await instantiate(bytes(file(mode)), imports, { mode });
    const ac = new AbortController();
    const p = inst.call('compute', [2, 1, 1], { signal: ac.signal });
    ac.abort(); // synchronously: the worker has not reached sleep_ms yet
    await assert.rejects(p, (e) => e.name === 'AbortError');
    const t0 = Date.now();
    assert.equal(await inst.call('noop', [1], { timeout: 10000 }), 2);
    assert.ok(Date.now() - t0 < 10000);
  });
}

test('asyncify: dataAddress needs dataSize; no room names the option', async () => {
  await assert.rejects(
    instantiate(bytes('app.async.wasm'), (ctx) => appImports(ctx, []), { mode: 'asyncify', asyncify: { dataAddress: 8 } }),
    /dataAddress needs options\.asyncify\.dataSize/,
  );
  const inst = await instantiate(
    bytes('sleep.async.wasm'),
    { env: { js_before() {}, js_after() {}, js_timeout: () => Promise.resolve(1) } },
    { mode: 'asyncify' },
  );
  await assert.rejects(inst.exports.run(), /memory cannot grow; pass options\.asyncify\.dataAddress/);
});

test('wasync-serve: isolation headers, wasm type, 127.0.0.1, no escape', async () => {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  for (const isolation of [true, false]) {
    const { server, url, port } = await serve({ root, port: 0, isolation });
    // every response body is read to the end (and every connection closed
    // below), so closing the server cannot wait on a half-read response
    const get = async (path) => {
      const r = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(10000) });
      return { r, body: new Uint8Array(await r.arrayBuffer()) };
    };
    try {
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      assert.ok(port > 0);
      const { r, body } = await get('build/js-fixtures/app.wasm');
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('content-type'), 'application/wasm');
      assert.equal(r.headers.get('cross-origin-opener-policy'), isolation ? 'same-origin' : null);
      assert.equal(r.headers.get('cross-origin-embedder-policy'), isolation ? 'require-corp' : null);
      assert.deepEqual(body, new Uint8Array(bytes('app.wasm')));
      assert.equal((await get('js/index.js')).r.headers.get('content-type'), 'text/javascript; charset=utf-8');
      assert.equal((await get('no/such/file')).r.status, 404);
      const status = await new Promise((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port, path: '/../../etc/passwd', agent: false, timeout: 10000 }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode));
          res.on('error', reject);
        });
        req.on('timeout', () => req.destroy(new Error('wasync-serve did not answer within 10 s')));
        req.on('error', reject);
      });
      assert.ok(status === 403 || status === 404, `status ${status}`); // never the file outside root
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  }
});
