#!/usr/bin/env node
// wasync/wasi in the browser engines, driven through tests/browser/engines.mjs:
// headless Chromium always; Firefox ESR and WebKitGTK on request
// (--firefox / --webkit run every page there too, --firefox-quick /
// --webkit-quick all but the suite): the official WASI suite with an
// in-memory file system in every mode the page can use (tests/wasi/
// suite-page.html), and the demo with its responsiveness checks
// (examples/wasi/index.html), and persistentFS over IndexedDB
// (tests/wasi/persist-page.html), and the WASYNC_ASYNC_JS error under a
// CSP without 'unsafe-eval' (tests/wasi/csp-page.html). Serves the repository with
// wasync-serve (cross-origin isolated, so the worker mode works); every page
// reports through window.__results, which the driver polls inside the page
// (waitInPage). Closing line: `wasi-browser: N passed, N failed`.

import fs from 'node:fs';
import path from 'node:path';
import { spawn, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { launchEngine, waitInPage } from '../browser/engines.mjs';
import { listTests, asyncifiedCopy } from './suite.mjs';
import { main as cc } from '../../js/commands/cc.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const suiteRoot = path.resolve(process.env.WASYNC_SHARED ?? path.join(repo, '../shared'), 'wasi-testsuite');
// the whole run's bound: 4 min, 3 more for each engine that runs the suite
// beside Chromium (--firefox, --webkit)
const LIMIT_MS = 240000 + 180000 * ['--firefox', '--webkit'].filter((f) => process.argv.includes(f)).length;
let passed = 0;
let failed = 0;
const watchdog = setTimeout(() => {
  console.log(`wasi-browser: FAIL: no result after ${LIMIT_MS / 1000} s`);
  console.log(`wasi-browser: ${passed} passed, ${failed + 1} failed`);
  process.exit(1);
}, LIMIT_MS);

const pages = [];
if (fs.existsSync(suiteRoot)) {
  const outDir = path.join(repo, 'build', 'wasi-suite');
  const tests = [];
  for (const t of await listTests(suiteRoot)) {
    const plain = path.join(outDir, 'plain', t.lang, t.name + '.wasm');
    fs.mkdirSync(path.dirname(plain), { recursive: true });
    fs.copyFileSync(t.wasm, plain);
    const asyncWasm = await asyncifiedCopy(t, repo);
    let files = null;
    if (t.spec.root) {
      files = {};
      const walk = (dir, prefix) => {
        for (const name of fs.readdirSync(dir)) {
          const p = path.join(dir, name);
          if (fs.lstatSync(p).isDirectory()) {
            files[prefix + name + '/'] = null;
            walk(p, prefix + name + '/');
          } else files[prefix + name] = fs.readFileSync(p).toString('base64');
        }
      };
      walk(path.join(t.dir, t.spec.root), '');
    }
    const rel = (p) => '/' + path.relative(repo, p).split(path.sep).join('/');
    tests.push({ id: t.id, name: t.name, spec: t.spec, wasm: rel(plain), asyncWasm: rel(asyncWasm), files });
  }
  fs.writeFileSync(path.join(outDir, 'manifest.json'), JSON.stringify({ tests }));
  pages.push({ name: 'suite', url: '/tests/wasi/suite-page.html', ms: 180000 });
} else console.log(`wasi-browser: SKIPPED the WASI suite: ${suiteRoot} is absent`);
execFileSync(path.join(repo, 'examples/wasi/build.sh'), ['--no-emcc'], { stdio: ['ignore', 'ignore', 'inherit'] });
const guestWasm = path.join(repo, 'build', 'wasi-tests', 'guest.wasm');
fs.mkdirSync(path.dirname(guestWasm), { recursive: true });
const stale = (out, ...inputs) => !fs.existsSync(out) || inputs.some((i) => fs.statSync(i).mtimeMs > fs.statSync(out).mtimeMs);
if (stale(guestWasm, path.join(here, 'guest.c'), path.join(repo, 'js/commands/cc.js')) && (await cc([path.join(here, 'guest.c'), '-o', guestWasm])) !== 0)
  throw new Error('wasync cc failed on tests/wasi/guest.c');
pages.push({ name: 'persist', url: '/tests/wasi/persist-page.html', ms: 60000 });
pages.push({ name: 'csp', url: '/tests/wasi/csp-page.html', ms: 30000 });
if (fs.existsSync(path.join(repo, 'examples/wasi/index.html'))) pages.push({ name: 'demo', url: '/examples/wasi/index.html?test', ms: 60000 });

const server = spawn(process.execPath, [path.join(repo, 'js/bin/wasync-serve.mjs'), repo, '--port', '0', '--quiet'], { stdio: ['ignore', 'pipe', 'inherit'] });
process.on('exit', () => server.kill('SIGKILL'));
const base = await new Promise((resolve, reject) => {
  let out = '';
  server.stdout.on('data', (d) => {
    out += d;
    const m = /at (http:\/\/\S+)/.exec(out);
    if (m) resolve(m[1].replace(/\/$/, ''));
  });
  server.on('exit', () => reject(new Error('wasync-serve exited before printing its URL')));
});

// engines, all through the shared launcher (tests/browser/engines.mjs):
// Chromium always (but with --no-chromium); Firefox ESR with --firefox (every page) or
// --firefox-quick (all but the suite); WebKitGTK with --webkit (every page)
// or --webkit-quick (all but the suite), launched with
// JSC_useSharedArrayBuffer=1 so that it behaves like Safari on a
// cross-origin isolated page (no JSPI there: the pages skip that mode and
// say why).
const argv = process.argv.slice(2);
const engines = argv.includes('--no-chromium') ? [] : [['chromium', pages]];
for (const name of ['firefox', 'webkit']) {
  if (argv.includes(`--${name}`)) engines.push([name, pages]);
  else if (argv.includes(`--${name}-quick`)) engines.push([name, pages.filter((p) => p.name !== 'suite')]);
}
const engineEnv = { webkit: { JSC_useSharedArrayBuffer: '1' } };

for (const [engine, list] of engines) {
  const t0 = Date.now();
  let b;
  try {
    b = await launchEngine(engine, { env: engineEnv[engine] ?? {} });
  } catch (e) {
    console.log(`  FAIL ${engine}: ${e.message}`);
    failed++;
    continue;
  }
  if (b.skip) {
    console.log(`wasi-browser: SKIPPED ${engine}: ${b.skip}`);
    continue;
  }
  console.log(`${engine}: ${b.version}`);
  for (const p of list) {
    let page;
    let r;
    try {
      page = await b.newPage();
      await page.goto(base + p.url);
      r = await waitInPage(page, () => (window.__results?.done === true ? window.__results : null), p.ms, `${engine} ${p.name}`);
    } catch (e) {
      console.log(`  FAIL ${engine} ${p.name}: ${e.message}`);
      failed++;
      await page?.close().catch(() => {});
      continue;
    }
    for (const m of page.console().filter((m) => m.type === 'pageerror'))
      // the CSP page provokes the refusal on purpose; Firefox reports it as a page error
      if (!(p.name === 'csp' && /Content-Security-Policy/.test(m.text))) console.log(`  [${engine} ${p.name}] page error: ${m.text}`);
    if (r.error) {
      console.log(`  FAIL ${engine} ${p.name}: ${r.error}`);
      failed++;
    }
    if (p.name === 'suite') {
      for (const [mode, why] of Object.entries(r.skipped ?? {})) console.log(`wasi-browser: SKIPPED ${engine} suite mode ${mode}: ${why}`);
      for (const [mode, m] of Object.entries(r.modes ?? {})) {
        console.log(`${engine} wasync ${mode} memfs: ${m.passed}/${m.passed + m.failed.length}`);
        for (const [id, why] of m.failed) console.log(`  FAIL ${id}: ${why}`);
        passed += m.passed;
        failed += m.failed.length;
      }
    } else {
      for (const c of r.checks ?? []) {
        if (c.skip) {
          console.log(`wasi-browser: SKIPPED ${engine} ${p.name} ${c.name}: ${c.skip}`);
          continue;
        }
        console.log(`  ${c.ok ? 'ok' : 'FAIL'} ${engine} ${p.name}: ${c.name}${c.detail ? ` (${c.detail})` : ''}`);
        if (c.ok) passed++;
        else failed++;
      }
    }
    await page.close().catch(() => {});
  }
  await b.close();
  console.log(`${engine}: ${list.map((p) => p.name).join(', ')} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}
clearTimeout(watchdog);
console.log(`wasi-browser: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
