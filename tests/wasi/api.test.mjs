// wasync/wasi behaviour beyond the official suite, on a C guest built with
// `wasync cc` (tests/wasi/guest.c), in every mode this Node offers: stdin
// from each kind of source, sleeping without blocking the event loop, the
// in-memory and URL-backed file system (fetched lazily), the host-directory
// sandbox (escapes through `..`, absolute paths and symlinks are refused),
// writes and appends, proc_exit, WASYNC_ASYNC_JS, fd_write sinks, and
// errno instead of exceptions. Closing line: `wasi-api: N passed, N failed`.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { Readable, PassThrough, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { WASI, runWasi, errno } from '../../js/wasi/index.js';
import { instantiate, supportedModes } from '../../js/index.js';
import { main as cc } from '../../js/commands/cc.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const outDir = path.join(repo, 'build', 'wasi-tests');
fs.mkdirSync(outDir, { recursive: true });
const guestWasm = path.join(outDir, 'guest.wasm');
const newer = (f) => fs.statSync(f).mtimeMs > fs.statSync(guestWasm).mtimeMs;
if (!fs.existsSync(guestWasm) || newer(path.join(here, 'guest.c')) || newer(path.join(repo, 'js/commands/cc.js'))) {
  if ((await cc([path.join(here, 'guest.c'), '-o', guestWasm])) !== 0) throw new Error('wasync cc failed on tests/wasi/guest.c');
}
const guest = fs.readFileSync(guestWasm);

let passed = 0;
let failed = 0;
async function check(name, fn) {
  try {
    await fn();
    passed++;
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e?.stack ?? e}`);
  }
}
function eq(a, b, what) {
  if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`${what}: got ${JSON.stringify(a)}, expected ${JSON.stringify(b)}`);
}
const dec = new TextDecoder();
async function run(mode, args, opts = {}) {
  const chunks = [];
  const code = await runWasi(guest, { mode, args: ['guest', ...args], stdout: (b) => chunks.push(dec.decode(b)), stderr: () => {}, ...opts });
  return { code, out: chunks.join('') };
}

// a local server for URL-backed files, counting requests
let requests = 0;
const server = http.createServer((req, res) => {
  requests++;
  if (req.url === '/remote.txt') res.end('remote text\n');
  else {
    res.statusCode = 404;
    res.end();
  }
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}`;

// a host directory with an escape attempt of every kind
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wasync-wasi-api-'));
const box = path.join(tmp, 'box');
fs.mkdirSync(path.join(box, 'sub'), { recursive: true });
fs.writeFileSync(path.join(box, 'ok.txt'), 'inside\n');
fs.writeFileSync(path.join(tmp, 'secret.txt'), 'outside\n');
fs.symlinkSync('../secret.txt', path.join(box, 'rel-out'));
fs.symlinkSync(path.join(tmp, 'secret.txt'), path.join(box, 'abs-out'));
fs.symlinkSync('../ok.txt', path.join(box, 'sub', 'rel-in'));
fs.symlinkSync('..', path.join(box, 'sub', 'up'));

const { modes } = supportedModes(new WebAssembly.Module(guest));
for (const m of ['jspi', 'asyncify', 'worker'])
  if (!modes.includes(m)) console.log(`wasi-api: SKIPPED mode ${m} (${supportedModes(new WebAssembly.Module(guest)).why[m]})`);

for (const mode of modes) {
  const T = (n, f) => check(`${mode}: ${n}`, f);
  const lines = '1:alpha\n2:beta\n';
  await T('stdin string', async () => eq((await run(mode, ['cat'], { stdin: 'alpha\nbeta\n' })).out, lines, 'out'));
  await T('stdin bytes', async () => eq((await run(mode, ['cat'], { stdin: new TextEncoder().encode('alpha\nbeta\n') })).out, lines, 'out'));
  await T('stdin async iterable, slow', async () => {
    async function* src() {
      for (const s of ['al', 'pha\nbe', 'ta\n']) {
        await new Promise((r) => setTimeout(r, 10));
        yield s;
      }
    }
    eq((await run(mode, ['cat'], { stdin: src() })).out, lines, 'out');
  });
  await T('stdin ReadableStream', async () => {
    const rs = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode('alpha\n'));
        setTimeout(() => {
          c.enqueue(new TextEncoder().encode('beta\n'));
          c.close();
        }, 20);
      },
    });
    eq((await run(mode, ['cat'], { stdin: rs })).out, lines, 'out');
  });
  await T('stdin Node stream written later', async () => {
    const pt = new PassThrough();
    setTimeout(() => pt.write('alpha\n'), 10);
    setTimeout(() => pt.end('beta\n'), 30);
    eq((await run(mode, ['cat'], { stdin: pt })).out, lines, 'out');
  });
  await T('stdin Readable.from', async () => eq((await run(mode, ['cat'], { stdin: Readable.from(['alpha\n', 'beta\n']) })).out, lines, 'out'));
  await T('stdin callback', async () => {
    const q = ['alpha\n', 'beta\n'];
    eq((await run(mode, ['cat'], { stdin: async () => q.shift() ?? null })).out, lines, 'out');
  });
  await T('sleep waits and the event loop runs', async () => {
    let ticks = 0;
    const iv = setInterval(() => ticks++, 5);
    const { out } = await run(mode, ['sleep', '120']);
    clearInterval(iv);
    const ms = Number(/slept (\d+)/.exec(out)?.[1]);
    if (!(ms >= 115)) throw new Error(`slept ${ms} ms, asked 120`);
    if (ticks < 3) throw new Error(`only ${ticks} timer ticks ran during the sleep: the thread was blocked`);
  });
  await T('in-memory file', async () => {
    const r = await run(mode, ['read', '/data/a.txt'], { preopens: { '/data': { 'a.txt': 'memory text\n' } } });
    eq([r.code, r.out], [0, 'memory text\n'], 'read');
  });
  await T('URL-backed file is fetched on first open only', async () => {
    const before = requests;
    const w = new WASI({ preopens: { '/net': { 'remote.txt': new URL(`${base}/remote.txt`) } } });
    eq(requests, before, 'requests before running');
    const r = await run(mode, ['read', '/net/remote.txt'], { preopens: { '/net': { 'remote.txt': new URL(`${base}/remote.txt`), 'other.txt': new URL(`${base}/other.txt`) } } });
    eq([r.code, r.out, requests - before], [0, 'remote text\n', 1], 'read, requests');
    void w;
  });
  await T('URL-backed file that 404s gives an error, not a trap', async () => {
    const r = await run(mode, ['read', '/net/x.txt'], { preopens: { '/net': { 'x.txt': new URL(`${base}/missing`) } } });
    eq(r.code, 1, 'exit');
    if (!/fopen \/net\/x.txt: /.test(r.out)) throw new Error(`output ${r.out}`);
  });
  await T('Response-backed file', async () => {
    const r = await run(mode, ['read', '/r/a'], { preopens: { '/r': { a: new Response('from a Response') } } });
    eq(r.out, 'from a Response', 'out');
  });
  await T('host sandbox refuses .., absolute paths and symlinks out', async () => {
    const paths = ['/box/ok.txt', '/box/../secret.txt', '/box/sub/../../secret.txt', path.join(tmp, 'secret.txt'), '/etc/hostname', '/box/rel-out', '/box/abs-out', '/box/sub/up/../secret.txt', '/box/sub/rel-in'];
    const r = await run(mode, ['open', ...paths], { preopens: { '/box': box } });
    const opened = r.out.split('\n').filter((l) => l.endsWith(': ok')).map((l) => l.slice(5, -4));
    eq(opened, ['/box/ok.txt', '/box/sub/rel-in'], 'opened');
  });
  await T('write and append, host directory', async () => {
    const r = await run(mode, ['write', '/box/new.txt', 'one', 'two'], { preopens: { '/box': box } });
    eq([r.code, fs.readFileSync(path.join(box, 'new.txt'), 'utf8')], [0, 'onetwo'], 'file');
    fs.unlinkSync(path.join(box, 'new.txt'));
  });
  await T('write and append, memory', async () => {
    const r = await run(mode, ['write', '/m/new.txt', 'one', 'two'], { preopens: { '/m': {} } });
    eq(r.code, 0, 'exit');
  });
  await T('proc_exit resolves with the code, output flushed', async () => eq(Object.values(await run(mode, ['exit', '7'])), [7, 'bye'], 'code, out'));
  await T('WASYNC_ASYNC_JS', async () => eq((await run(mode, ['js'])).out, '42 4\n', 'out'));
  await T('WASYNC_ASYNC_JS through plain instantiate() (the runtime builds wasync_js)', async () => {
    const chunks = [];
    const wasi = new WASI({ args: ['guest', 'js'], stdout: (b) => chunks.push(dec.decode(b)) });
    const inst = await instantiate(guest, wasi.getImportObject(), { mode, asyncify: { dataSize: 65536 } });
    try {
      eq([await wasi.start(inst), chunks.join('')], [0, '42 4\n'], 'code, out');
    } finally {
      inst.terminate?.();
    }
  });
  await T('environment', async () => eq((await run(mode, ['env', 'WHO'], { env: { WHO: 'me' } })).out, 'me\n', 'out'));
  await T('stdout to a Node Writable and a WritableStream', async () => {
    const a = [];
    const b = [];
    const nodeW = new Writable({ write: (c, _e, cb) => (a.push(String(c)), cb()) });
    const webW = new WritableStream({ write: (c) => void b.push(dec.decode(c)) });
    await runWasi(guest, { mode, args: ['g', 'env', 'X'], env: { X: 'node' }, stdout: nodeW });
    await runWasi(guest, { mode, args: ['g', 'env', 'X'], env: { X: 'web' }, stdout: webW });
    eq([a.join(''), b.join('')], ['node\n', 'web\n'], 'outputs');
  });
}

await check('MemoryFS snapshot and restore', async () => {
  const { MemoryFS } = await import('../../js/wasi/index.js');
  const a = new MemoryFS({ 'd/x.txt': 'xx', 'e/': null });
  a.symlink('d/x.txt', ['lnk']);
  const b = new MemoryFS({});
  b.restore(a.snapshot());
  const sum = (fs) => fs.snapshot().map((e) => [e.path, e.kind, e.data ? dec.decode(e.data) : e.target ?? null]);
  eq(sum(b), sum(a), 'entries');
  eq(sum(a).length, 4, 'count');
});

// wasync cc without the native binary: asyncify through wasync/transform (the wasm build)
if (!fs.existsSync(path.join(repo, 'js/transform.js'))) console.log('wasi-api: SKIPPED cc through js/transform.js: absent');
else
  await check('wasync cc with WASYNC_NATIVE=none (wasync/transform) builds a module that waits', async () => {
    const out = path.join(outDir, 'guest-transform.wasm');
    const saved = process.env.WASYNC_NATIVE;
    process.env.WASYNC_NATIVE = 'none';
    try {
      eq(await cc([path.join(here, 'guest.c'), '-o', out]), 0, 'cc exit');
    } finally {
      if (saved === undefined) delete process.env.WASYNC_NATIVE;
      else process.env.WASYNC_NATIVE = saved;
    }
    let text = '';
    async function* slow() {
      await new Promise((r) => setTimeout(r, 20));
      yield 'late line\n';
    }
    const code = await runWasi(fs.readFileSync(out), { mode: 'asyncify', args: ['g', 'cat'], stdin: slow(), stdout: (b) => (text += dec.decode(b)) });
    eq([code, text], [0, '1:late line\n'], 'run');
  });

// errno, never an exception, for bad pointers and bad fds (no guest needed)
await check('errno for bad input', async () => {
  const w = new WASI({});
  const imp = w.getImportObject().wasi_snapshot_preview1;
  const mem = new WebAssembly.Memory({ initial: 1 });
  const ctx = { memory: { readBytes: (p, n) => new Uint8Array(mem.buffer).slice(p, p + n), writeBytes: (p, b) => {
    if (p + b.length > mem.buffer.byteLength) throw new RangeError('out of bounds');
    new Uint8Array(mem.buffer).set(b, p);
  }, readU32: (p) => new DataView(mem.buffer).getUint32(p, true), writeU32: (p, v) => new DataView(mem.buffer).setUint32(p, v, true), writeI64: (p, v) => new DataView(mem.buffer).setBigInt64(p, v, true) } };
  eq(imp.fd_write.call(ctx, 9, 0, 0, 0), errno.BADF, 'fd_write bad fd');
  eq(imp.fd_close.call(ctx, 3), errno.BADF, 'fd_close unknown');
  eq(imp.clock_time_get.call(ctx, 0, 0n, 70000), errno.FAULT, 'clock_time_get out of memory');
  eq(imp.clock_time_get.call(ctx, 9, 0n, 0), errno.INVAL, 'bad clock');
  eq(imp.proc_raise.call(ctx, 1), errno.NOSYS, 'proc_raise');
});

server.close();
fs.rmSync(tmp, { recursive: true, force: true });
console.log(`wasi-api: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
