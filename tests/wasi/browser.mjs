#!/usr/bin/env node
// wasync/wasi in headless Chromium (and Firefox ESR: --firefox runs every
// page there too, --firefox-quick all but the suite): the official WASI suite with an
// in-memory file system in every mode the page can use (tests/wasi/
// suite-page.html), and the demo with its responsiveness checks
// (examples/wasi/index.html), and persistentFS over IndexedDB
// (tests/wasi/persist-page.html), and the WASYNC_ASYNC_JS error under a
// CSP without 'unsafe-eval' (tests/wasi/csp-page.html). Serves the repository with
// wasync-serve (cross-origin isolated, so the worker mode works); every page
// reports through window.__results, so the gallery's engine launcher can
// drive the same pages. Closing line: `wasi-browser: N passed, N failed`.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { listTests, asyncifiedCopy } from './suite.mjs';
import { main as cc } from '../../js/commands/cc.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const suiteRoot = path.resolve(process.env.WASYNC_SHARED ?? path.join(repo, '../shared'), 'wasi-testsuite');
const LIMIT_MS = 240000;
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

// engines: Chromium (playwright-core) always; Firefox ESR (puppeteer-core)
// with --firefox (every page) or --firefox-quick (all but the suite)
const argv = process.argv.slice(2);
const engines = [['chromium', pages]];
if (argv.includes('--firefox')) engines.push(['firefox', pages]);
else if (argv.includes('--firefox-quick')) engines.push(['firefox', pages.filter((p) => p.name !== 'suite')]);

async function openChromium() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'wasync-wasi-chromium-'));
  process.on('exit', () => fs.rmSync(profile, { recursive: true, force: true }));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    timeout: 60000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return {
    newPage: async () => {
      const page = await context.newPage();
      return {
        on: (ev, fn) => page.on(ev, fn),
        goto: (url) => page.goto(url, { waitUntil: 'load', timeout: 30000 }),
        waitDone: (ms) => page.waitForFunction(() => window.__results?.done === true, null, { timeout: ms, polling: 200 }),
        results: () => page.evaluate(() => window.__results),
        close: () => page.close(),
      };
    },
    close: () => context.close(),
  };
}
async function openFirefox() {
  const { default: puppeteer } = await import('puppeteer-core');
  const exe = process.env.FIREFOX ?? '/usr/bin/firefox-esr';
  if (!fs.existsSync(exe)) return { skip: `${exe} is absent` };
  const browser = await puppeteer.launch({ browser: 'firefox', executablePath: exe, headless: true, timeout: 60000 });
  return {
    newPage: async () => {
      const page = await browser.newPage();
      return {
        on: (ev, fn) => page.on(ev, fn),
        goto: (url) => page.goto(url, { timeout: 30000 }),
        waitDone: (ms) => page.waitForFunction(() => window.__results?.done === true, { timeout: ms, polling: 200 }),
        results: () => page.evaluate(() => window.__results),
        close: () => page.close(),
      };
    },
    close: () => browser.close(),
  };
}

for (const [engine, list] of engines) {
  const b = engine === 'chromium' ? await openChromium() : await openFirefox();
  if (b.skip) {
    console.log(`wasi-browser: SKIPPED ${engine}: ${b.skip}`);
    continue;
  }
  for (const p of list) {
    const page = await b.newPage();
    page.on('pageerror', (e) => {
      // the CSP page provokes the refusal on purpose; Firefox reports it as a page error
      if (!(p.name === 'csp' && /Content-Security-Policy/.test(e.message))) console.log(`  [${engine} ${p.name}] page error: ${e.message}`);
    });
    await page.goto(base + p.url);
    try {
      await page.waitDone(p.ms);
    } catch {
      console.log(`  FAIL ${engine} ${p.name}: no result after ${p.ms / 1000} s`);
      failed++;
      continue;
    }
    const r = await page.results();
    if (r.error) {
      console.log(`  FAIL ${engine} ${p.name}: ${r.error}`);
      failed++;
    }
    if (p.name === 'suite') {
      for (const [mode, why] of Object.entries(r.skipped)) console.log(`wasi-browser: SKIPPED ${engine} suite mode ${mode}: ${why}`);
      for (const [mode, m] of Object.entries(r.modes)) {
        console.log(`${engine} wasync ${mode} memfs: ${m.passed}/${m.passed + m.failed.length}`);
        for (const [id, why] of m.failed) console.log(`  FAIL ${id}: ${why}`);
        passed += m.passed;
        failed += m.failed.length;
      }
    } else {
      for (const c of r.checks ?? []) {
        console.log(`  ${c.ok ? 'ok' : 'FAIL'} ${engine} ${p.name}: ${c.name}${c.detail ? ` (${c.detail})` : ''}`);
        if (c.ok) passed++;
        else failed++;
      }
    }
    await page.close();
  }
  await b.close();
}
clearTimeout(watchdog);
console.log(`wasi-browser: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
