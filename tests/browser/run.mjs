// make test-browser: the runtime scenarios in real headless Chromium.
//
// Builds the fixtures (scripts/test-js.sh --build-only), starts
// `wasync-serve` twice over the repository root -- once with the
// cross-origin isolation headers, once with --no-isolation -- opens
// tests/browser/index.html in each, and prints every result and the totals:
//   browser: N passed, N failed
//
// Nothing here may hang CI. Every wait has a bound that fails with a message
// naming what did not happen: the server's start (SERVER_MS), Chromium's
// launch (LAUNCH_MS), page loads (GOTO_MS), each page's whole run (PAGE_MS;
// inside the page every scenario has its own bound, see page.mjs) and
// Chromium's shutdown (CLOSE_MS). Above them a watchdog (LIMIT_MS, env
// WASYNC_BROWSER_LIMIT in seconds) reports what was still running, kills the
// servers and exits non-zero; Playwright kills the Chromium it launched when
// this process exits. The servers are also killed on any exit.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = fileURLToPath(new URL('../../', import.meta.url));
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';

const SERVER_MS = 15000;
const LAUNCH_MS = 60000;
const GOTO_MS = 30000;
const PAGE_MS = 60000;
const CLOSE_MS = 15000;
const LIMIT_MS = Number(process.env.WASYNC_BROWSER_LIMIT ?? 110) * 1000;

if (!process.argv.includes('--no-build')) execFileSync(path.join(root, 'scripts/test-js.sh'), ['--build-only'], { stdio: 'inherit' });

const profile = mkdtempSync(path.join(tmpdir(), 'wasync-chromium-'));
const children = new Set();
const killChildren = () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
};
process.on('exit', () => {
  killChildren();
  rmSync(profile, { recursive: true, force: true });
});

let stage = 'starting';
const watchdog = setTimeout(() => {
  console.log(`browser: FAIL: no result after ${LIMIT_MS / 1000} s (hung while ${stage}); killing Chromium and the servers`);
  console.log(`browser: ${passed} passed, ${failed + 1} failed`);
  process.exit(1); // 'exit' handlers: ours kills the servers, Playwright's kills Chromium
}, LIMIT_MS);

/** Rejects with a clear message if `promise` has not settled after `ms`. */
function bounded(promise, ms, what) {
  let t;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      t = setTimeout(() => reject(new Error(`${what}: no result after ${ms / 1000} s`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

function startServer(extra) {
  const child = spawn(process.execPath, [path.join(root, 'js/bin/wasync-serve.mjs'), root, '--port', '0', '--quiet', ...extra], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  const started = new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /at (http:\/\/\S+)/.exec(out);
      if (m) resolve({ child, url: m[1] });
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => reject(new Error(`wasync-serve exited (${signal ?? code}) before printing its URL`)));
  });
  return bounded(started, SERVER_MS, 'starting wasync-serve');
}

let passed = 0;
let failed = 0;
let skipped = 0;
let context;
try {
  stage = 'launching Chromium';
  context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    timeout: LAUNCH_MS,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  for (const [label, extra, query] of [
    ['isolated', [], '?isolated=1'],
    ['not isolated', ['--no-isolation'], '?isolated=0'],
  ]) {
    stage = `starting wasync-serve (${label})`;
    const server = await startServer(extra);
    const page = await context.newPage();
    page.setDefaultTimeout(GOTO_MS);
    page.on('pageerror', (e) => console.log(`  [page error] ${e.message}`));
    page.on('console', (m) => {
      const text = m.text();
      // live progress: the page logs every scenario as it starts and ends
      if (text.startsWith('[wasync-test] ')) {
        const line = text.slice(14);
        if (line.startsWith('start ')) stage = `running "${line.slice(6)}" (${label})`;
      } else if (m.type() === 'error') console.log(`  [console] ${text}`);
    });
    const url = `${server.url}tests/browser/index.html${query}`;
    console.log(`browser: ${label}: ${url}`);
    stage = `loading ${url}`;
    await page.goto(url, { timeout: GOTO_MS, waitUntil: 'load' });
    await page.bringToFront(); // the active tab: requestAnimationFrame runs
    stage = `running the page (${label})`;
    let results;
    try {
      await page.waitForFunction(() => window.__results?.done === true, null, { timeout: PAGE_MS, polling: 100 });
      ({ results } = await bounded(
        page.evaluate(() => window.__results),
        GOTO_MS,
        'reading the results',
      ));
    } catch (e) {
      // report what finished and what did not, then go on failing
      const partial = await bounded(
        page.evaluate(() => ({ results: window.__partial ?? [], running: window.__running ?? null })),
        5000,
        'reading partial results',
      ).catch(() => ({ results: [], running: null }));
      results = [
        ...partial.results,
        { name: `${label}: page did not finish`, ok: false, error: `${e.message}; still running: ${partial.running ?? '?'}` },
      ];
    }
    for (const r of results) {
      const tag = r.ok ? (r.skipped ? 'skip' : 'ok  ') : 'FAIL';
      console.log(`  ${tag} ${r.name}${r.ok ? '' : `\n       ${r.error}`}`);
      if (!r.ok) failed++;
      else if (r.skipped) skipped++;
      else passed++;
    }
    await bounded(page.close(), CLOSE_MS, 'closing the page').catch((e) => console.log(`browser: ${e.message}`));
    server.child.kill();
  }
} catch (e) {
  console.log(`browser: driver error while ${stage}: ${e.stack ?? e}`);
  failed++;
} finally {
  stage = 'closing Chromium';
  if (context)
    await bounded(context.close(), CLOSE_MS, 'closing Chromium').catch((e) => {
      console.log(`browser: ${e.message} (it is killed on exit)`);
      failed++;
    });
  killChildren();
  rmSync(profile, { recursive: true, force: true });
}
clearTimeout(watchdog);
if (skipped) console.log(`browser: ${skipped} skipped (not applicable in that mode)`);
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
