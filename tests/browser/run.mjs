// make test-browser: the runtime scenarios in real headless Chromium.
//
// Builds the fixtures (scripts/test-js.sh --build-only), starts
// `wasync-serve` twice over the repository root -- once with the
// cross-origin isolation headers, once with --no-isolation -- opens
// tests/browser/index.html in each, and prints every result and the totals:
//   browser: N passed, N failed
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = fileURLToPath(new URL('../../', import.meta.url));
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';

if (!process.argv.includes('--no-build')) execFileSync(path.join(root, 'scripts/test-js.sh'), ['--build-only'], { stdio: 'inherit' });

function startServer(extra) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'js/bin/wasync-serve.mjs'), root, '--port', '0', '--quiet', ...extra], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /at (http:\/\/\S+)/.exec(out);
      if (m) resolve({ child, url: m[1] });
    });
    child.on('exit', (code) => reject(new Error(`wasync-serve exited with ${code}`)));
  });
}

const profile = mkdtempSync(path.join(tmpdir(), 'wasync-chromium-'));
const servers = [];
let passed = 0;
let failed = 0;
let skipped = 0;
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
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
    const server = await startServer(extra);
    servers.push(server.child);
    const page = await context.newPage();
    page.on('pageerror', (e) => console.log(`  [page error] ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') console.log(`  [console] ${m.text()}`);
    });
    const url = `${server.url}tests/browser/index.html${query}`;
    console.log(`browser: ${label}: ${url}`);
    await page.goto(url);
    await page.waitForFunction(() => window.__results?.done === true, null, { timeout: 180000 });
    const { results } = await page.evaluate(() => window.__results);
    for (const r of results) {
      const tag = r.ok ? (r.skipped ? 'skip' : 'ok  ') : 'FAIL';
      console.log(`  ${tag} ${r.name}${r.ok ? '' : `\n       ${r.error}`}`);
      if (!r.ok) failed++;
      else if (r.skipped) skipped++;
      else passed++;
    }
    await page.close();
  }
} catch (e) {
  console.log(`browser: driver error: ${e.stack ?? e}`);
  failed++;
} finally {
  await context?.close();
  for (const c of servers) c.kill();
  rmSync(profile, { recursive: true, force: true });
}
if (skipped) console.log(`browser: ${skipped} skipped (not applicable in that mode)`);
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
