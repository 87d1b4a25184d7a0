// Browser side of tests/wasi/browser.mjs: a WASI program writes a file into
// persistentFS (IndexedDB), a second run on a freshly opened persistentFS of
// the same name reads it back; then clear() forgets it. Every mode.
import { runWasi, persistentFS } from '../../js/wasi/index.js';
import { supportedModes } from '../../js/index.js';

const checks = [];
const check = (name, ok, detail = '') => checks.push({ name, ok: !!ok, detail });
const wasm = new URL('../../build/wasi-tests/guest.wasm', import.meta.url);
const dec = new TextDecoder();
async function run(mode, args, fs) {
  let out = '';
  const code = await runWasi(fetch(wasm), { mode, args: ['guest', ...args], stdout: (b) => (out += dec.decode(b)), preopens: { '/p': fs } });
  return { code, out };
}
try {
  const { why } = supportedModes(null);
  for (const mode of ['jspi', 'asyncify', 'worker']) {
    if (mode !== 'asyncify' && why[mode]) continue;
    const name = `test-${mode}-${Math.random()}`;
    const w = await run(mode, ['write', '/p/x.txt', 'one', 'two'], await persistentFS(name, { 'seed.txt': 'seed' }));
    check(`${mode}: write into persistentFS`, w.code === 0, JSON.stringify(w));
    const r = await run(mode, ['read', '/p/x.txt'], await persistentFS(name));
    check(`${mode}: a new persistentFS of the same name has the file`, r.out === 'onetwo', JSON.stringify(r));
    const s = await run(mode, ['read', '/p/seed.txt'], await persistentFS(name));
    check(`${mode}: and the initial tree`, s.out === 'seed', JSON.stringify(s));
    await (await persistentFS(name)).clear();
    const g = await run(mode, ['read', '/p/x.txt'], await persistentFS(name));
    check(`${mode}: clear() forgets it`, g.code === 1, JSON.stringify(g));
  }
  window.__results = { done: true, checks };
} catch (e) {
  window.__results = { done: true, checks, error: String(e?.stack ?? e) };
}
document.getElementById('log').textContent = JSON.stringify(window.__results, null, 1);
