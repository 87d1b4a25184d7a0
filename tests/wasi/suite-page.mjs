// Browser side of tests/wasi/browser.mjs: runs the official WASI preview1
// suite through wasync/wasi with an in-memory file system, in every mode
// this page can use, from build/wasi-suite/manifest.json (written by the
// driver). Results in window.__results = {done, modes: {mode: {passed,
// failed: [[id, reason]]}}, skipped: {mode: reason}}.
import { WASI } from '../../js/wasi/index.js';
import { instantiate, supportedModes } from '../../js/index.js';
import { verdict } from './suite.mjs';

const log = document.getElementById('log');
const b64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const dec = new TextDecoder();

async function runOne(t, mode) {
  const out = [];
  const err = [];
  const tree = t.files ? Object.fromEntries(Object.entries(t.files).map(([k, v]) => [k, v === null ? null : b64(v)])) : null;
  const wasi = new WASI({
    args: [t.name + '.wasm', ...t.spec.args], env: t.spec.env, preopens: tree ? { '/': tree } : {},
    stdin: '', stdout: (b) => out.push(dec.decode(b)), stderr: (b) => err.push(dec.decode(b)),
  });
  let inst;
  let timer;
  try {
    const url = mode === 'asyncify' ? t.asyncWasm : t.wasm;
    inst = await instantiate(fetch(url), wasi.getImportObject(), { mode });
    const code = await Promise.race([
      wasi.start(inst),
      new Promise((_, rej) => (timer = setTimeout(() => rej(new Error('timed out after 10 s')), 10000))),
    ]);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } catch (e) {
    return { code: `trap (${String(e?.message ?? e).split('\n')[0].slice(0, 120)})`, stdout: out.join(''), stderr: err.join('') };
  } finally {
    clearTimeout(timer);
    inst?.terminate();
  }
}

const results = { done: false, modes: {}, skipped: {} };
window.__results = results;
try {
  const manifest = await (await fetch('../../build/wasi-suite/manifest.json')).json();
  const { why } = supportedModes(null);
  for (const mode of ['jspi', 'asyncify', 'worker']) {
    if (mode !== 'asyncify' && why[mode]) {
      results.skipped[mode] = why[mode];
      continue;
    }
    const r = { passed: 0, failed: [] };
    for (const t of manifest.tests) {
      const why1 = verdict(t.spec, await runOne(t, mode));
      if (why1 === null) r.passed++;
      else r.failed.push([t.id, why1]);
    }
    results.modes[mode] = r;
    log.textContent = JSON.stringify(results, null, 1);
  }
} catch (e) {
  results.error = String(e?.stack ?? e);
}
results.done = true;
log.textContent = JSON.stringify(results, null, 1);
