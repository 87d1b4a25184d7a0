// node --test: instantiate()'s inputs, mode selection and its errors, the
// memory API in every mode, import errors, and wasync-serve's headers.
import { test } from 'node:test';
import http from 'node:http';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { instantiate, supportedModes } from '../../js/index.js';
import { serve } from '../../js/serve.js';
import { appImports, expectedCompute } from './scenarios.mjs';

const dir = fileURLToPath(new URL('../../build/js-fixtures/', import.meta.url));
const bytes = (n) => readFileSync(dir + n);
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

test('auto: JSPI if the engine has it, else asyncify for instrumented modules, else worker', async () => {
  const imps = (ctx) => appImports(ctx, []);
  const a = await instantiate(bytes('app.async.wasm'), imps);
  assert.equal(a.mode, hasJspi ? 'jspi' : 'asyncify');
  const p = await instantiate(bytes('app.wasm'), imps);
  assert.equal(p.mode, hasJspi ? 'jspi' : 'worker');
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
    const inst = await instantiate(bytes(file(mode)), imports, { mode, timeout: 50 });
    await assert.rejects(inst.exports.sum_sync(10), /sync failure/);
    assert.equal(await inst.exports.sum_sync(3), 6);
    await assert.rejects(inst.call('nope'), /no exported function 'nope'/);
    const t0 = Date.now();
    await assert.rejects(inst.exports.compute(0, 1, 5000), (e) => e.name === 'TimeoutError');
    assert.ok(Date.now() - t0 < 1000);
    assert.equal(await inst.call('compute', [0, 1, 100], { timeout: 2000 }), expectedCompute(0, 1, 100));
    inst.terminate();
    await assert.rejects(
      instantiate(bytes(file(mode)), { env: {} }, { mode }),
      /import env\.sleep_ms must be a function/,
    );
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
    try {
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      assert.ok(port > 0);
      const r = await fetch(`${url}build/js-fixtures/app.wasm`);
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('content-type'), 'application/wasm');
      assert.equal(r.headers.get('cross-origin-opener-policy'), isolation ? 'same-origin' : null);
      assert.equal(r.headers.get('cross-origin-embedder-policy'), isolation ? 'require-corp' : null);
      assert.equal((await fetch(`${url}js/index.js`)).headers.get('content-type'), 'text/javascript; charset=utf-8');
      assert.equal((await fetch(`${url}no/such/file`)).status, 404);
      const status = await new Promise((resolve, reject) => {
        http.get({ host: '127.0.0.1', port, path: '/../../etc/passwd' }, (res) => resolve(res.statusCode)).on('error', reject);
      });
      assert.ok(status === 403 || status === 404, `status ${status}`); // never the file outside root
    } finally {
      server.close();
    }
  }
});
