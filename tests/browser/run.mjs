// make test-browser: the runtime scenarios in Chromium, Firefox and WebKit.
//
// Builds the fixtures (scripts/test-js.sh --build-only), starts
// `wasync-serve` twice over the repository root -- once with the
// cross-origin isolation headers, once with --no-isolation -- and opens
// tests/browser/index.html from each in every engine (tests/browser/engines.mjs
// launches them; `--engines=chromium,firefox` picks some). The page without
// isolation also runs every scenario with the plain fixtures through
// on-the-fly asyncify (JSPI hidden where the engine has it), and a fresh load
// of it (`&cache=1`) checks that the Cache API serves them. Scenarios an engine
// cannot run (no JSPI in WebKit, no SharedArrayBuffer off isolated pages) are
// reported as skipped with the reason. Prints every result, a line per engine
// and the totals over all engines:
//   browser: N passed, N failed
// An engine that is not installed is skipped loudly (its line says why).
//
// Nothing here may hang CI. Every wait has a bound that fails with a message
// naming what did not happen: the server's start (SERVER_MS), each engine's
// launch and every page step (engines.mjs: 60 s / STEP_MS), each page's whole
// run (PAGE_MS; inside the page every scenario has its own bound, see
// page.mjs). Above them a watchdog (LIMIT_MS, env WASYNC_BROWSER_LIMIT in
// seconds) reports what was still running and exits non-zero; every browser,
// driver, X server and wasync-serve we started is killed on any exit.
import { spawn, execFileSync } from 'node:child_process';
import path from 'node:path';
import { networkInterfaces } from 'node:os';
import { fileURLToPath } from 'node:url';
import { launchEngine, bounded, waitInPage, ENGINES } from './engines.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));

const SERVER_MS = 15000;
const STEP_MS = 30000;
const PAGE_MS = 90000;
// (600 s: the on-the-fly pages took a run on a busy machine to 419 s)
const LIMIT_MS = Number(process.env.WASYNC_BROWSER_LIMIT ?? 600) * 1000;
const engineArg = process.argv.find((a) => a.startsWith('--engines='));
const engines = engineArg ? engineArg.slice(10).split(',') : ENGINES;

if (!process.argv.includes('--no-build')) execFileSync(path.join(root, 'scripts/test-js.sh'), ['--build-only'], { stdio: 'inherit' });

const children = new Set();
const killChildren = () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
};
process.on('exit', killChildren);

let stage = 'starting';
const watchdog = setTimeout(() => {
  console.log(`browser: FAIL: no result after ${LIMIT_MS / 1000} s (hung while ${stage}); killing the browsers and the servers`);
  console.log(`browser: ${total.passed} passed, ${total.failed + 1} failed`);
  process.exit(1); // 'exit' handlers kill the servers and every engine process
}, LIMIT_MS);

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

const total = { passed: 0, failed: 0, skipped: 0 };
const perEngine = [];

async function runEngine(name, servers) {
  const count = { passed: 0, failed: 0, skipped: 0 };
  let engine;
  const t0 = Date.now();
  try {
    stage = `launching ${name}`;
    // WebKit: Safari enables SharedArrayBuffer on isolated pages; WebKitGTK's
    // MiniBrowser needs the JSC option for it.
    engine = await launchEngine(name, { timeout: STEP_MS, env: name === 'webkit' ? { JSC_useSharedArrayBuffer: '1' } : {} });
    if (engine.skip) {
      console.log(`browser: ${name}: SKIPPED: ${engine.skip}`);
      perEngine.push(`browser (${name}): skipped: ${engine.skip}`);
      return;
    }
    console.log(`browser: ${name} ${engine.version}`);
    for (const { label, server, query } of servers) {
      const page = await engine.newPage();
      const url = `${server.url}tests/browser/index.html${query}`;
      console.log(`browser: ${name}: ${label}: ${url}`);
      const pageStart = Date.now();
      stage = `running ${url} in ${name}`;
      let results;
      try {
        await page.goto(url);
        ({ results } = await waitInPage(page, () => (window.__results?.done === true ? window.__results : null), PAGE_MS));
      } catch (e) {
        // report what finished and what did not, then go on failing
        const partial = await page
          .evaluate(() => ({ results: window.__partial ?? [], running: window.__running ?? null }))
          .catch(() => ({ results: [], running: null }));
        results = [
          ...partial.results,
          { name: `${label}: page did not finish`, ok: false, error: `${e.message}; still running: ${partial.running ?? '?'}` },
        ];
      }
      console.log(`browser: ${name}: ${label}: ${results.length} results in ${((Date.now() - pageStart) / 1000).toFixed(1)} s`);
      for (const m of page.console()) if (m.type === 'error' || m.type === 'pageerror') console.log(`  [${m.type}] ${m.text}`);
      for (const r of results) {
        const tag = r.ok ? (r.skipped ? 'skip' : 'ok  ') : 'FAIL';
        console.log(`  ${tag} ${r.name}${r.reason ? ` -- ${r.reason}` : ''}${r.ok ? '' : `\n       ${r.error}`}`);
        if (!r.ok) count.failed++;
        else if (r.skipped) count.skipped++;
        else count.passed++;
      }
      await page.close().catch((e) => console.log(`browser: ${name}: ${e.message}`));
    }
  } catch (e) {
    console.log(`browser: ${name}: driver error while ${stage}: ${e.stack ?? e}`);
    count.failed++;
  } finally {
    stage = `closing ${name}`;
    if (engine && !engine.skip) await engine.close().catch((e) => console.log(`browser: closing ${name}: ${e.message}`));
  }
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  perEngine.push(`browser (${name}): ${count.passed} passed, ${count.failed} failed, ${count.skipped} skipped (${secs} s)`);
  for (const k of Object.keys(total)) total[k] += count[k];
}

try {
  const servers = [];
  for (const [label, extra, query] of [
    ['isolated', [], '?isolated=1'],
    ['not isolated', ['--no-isolation'], '?isolated=0'],
  ]) {
    stage = `starting wasync-serve (${label})`;
    servers.push({ label, query, server: await startServer(extra) });
  }
  // a fresh page load on the same origin: on-the-fly asyncify's Cache API
  // entries from the page before are hit (page.mjs, cacheRuns)
  servers.push({ ...servers[1], label: 'not isolated, fresh page', query: '?isolated=0&cache=1' });
  // a plain-http origin that is not localhost (a phone testing a LAN dev
  // server): no secure context, so no Cache API and no crypto.subtle;
  // on-the-fly asyncify must work without its cache (page.mjs, insecureRuns)
  const lan = Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal);
  if (lan) {
    stage = `starting wasync-serve on ${lan.address}`;
    servers.push({ label: 'insecure origin', query: '?isolated=0&insecure=1', server: await startServer(['--no-isolation', '--host', lan.address]) });
  } else {
    console.log('browser: SKIPPED the insecure-origin page: this machine has no non-loopback IPv4 address');
  }
  for (const name of engines) await runEngine(name, servers);
} catch (e) {
  console.log(`browser: driver error while ${stage}: ${e.stack ?? e}`);
  total.failed++;
} finally {
  killChildren();
}
clearTimeout(watchdog);
for (const line of perEngine) console.log(line);
if (total.skipped) console.log(`browser: ${total.skipped} skipped (not applicable in that engine or mode; reasons above)`);
console.log(`browser: ${total.passed} passed, ${total.failed} failed`);
process.exit(total.failed ? 1 : 0);
