// browser.mjs -- runs tests/quickjs/page.html in headless Chromium (through
// playwright-core, flags as tests/browser/run.mjs) in each mode the browser
// has: prints the cases' lines ("ok ...", "FAIL ...", "skip ...").
//
//   node tests/quickjs/browser.mjs [FILTER]
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '../../js/serve.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const filter = process.argv[2] ?? '';
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const PAGE_MS = 240000;

if (!existsSync(executablePath)) {
  console.log(`skip chromium: ${executablePath} not found (set CHROMIUM)`);
  process.exit(0);
}
let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch {
  console.log('skip chromium: playwright-core is not installed (npm ci)');
  process.exit(0);
}

const { server, url } = await serve({ root, port: 0 });
const profile = mkdtempSync(path.join(tmpdir(), 'wasync-quickjs-chromium-'));
let failed = false;
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    timeout: 60000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  for (const mode of ['jspi', 'asyncify', 'worker']) {
    const page = await context.newPage();
    page.on('console', (m) => {
      const t = m.text();
      if (t.startsWith('[quickjs] ')) console.log(`${t.slice(10).replace(/^(ok|FAIL|skip) /, `$1 ${mode}: `)}`);
    });
    page.on('pageerror', (e) => console.log(`  [page error] ${e.message}`));
    const q = `?mode=${mode}${filter ? `&filter=${encodeURIComponent(filter)}` : ''}`;
    await page.goto(`${url}tests/quickjs/page.html${q}`, { waitUntil: 'load' });
    const has = await page.evaluate((m) => {
      if (m === 'jspi') return typeof WebAssembly.Suspending === 'function' ? '' : 'this Chromium has no JSPI';
      if (m === 'worker') return globalThis.crossOriginIsolated ? '' : 'the page is not cross-origin isolated';
      return '';
    }, mode);
    if (has) {
      console.log(`skip ${mode}: ${has}`);
      await page.close();
      continue;
    }
    try {
      await page.waitForFunction(() => window.__results?.done === true, null, { timeout: PAGE_MS, polling: 200 });
    } catch {
      console.log(`FAIL ${mode}: the page did not finish in ${PAGE_MS / 1000} s`);
      failed = true;
    }
    await page.close();
  }
} catch (e) {
  console.log(`FAIL chromium: ${e.message}`);
  failed = true;
} finally {
  await context?.close();
  server.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
