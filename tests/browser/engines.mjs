// One launcher for the three browser engines the tests drive.
//
//   const engine = await launchEngine('chromium' | 'firefox' | 'webkit', opts);
//   if (engine.skip) ...                      // the reason, e.g. a missing binary
//   const page = await engine.newPage();
//   await page.goto(url);
//   const v = await page.evaluate(() => window.__results, arg); // JSON value
//   await page.screenshot('/tmp/x.png');
//   page.console();                           // [{type, text}] where the engine reports them
//   await page.close(); await engine.close();
//
// The three engines are reached three ways, and this file hides the
// difference:
//   chromium -- playwright-core over the DevTools protocol (/usr/bin/chromium,
//               headless, the flags tests/browser/run.mjs always used);
//   firefox  -- puppeteer-core over WebDriver BiDi (firefox-esr, headless);
//   webkit   -- WebKitGTK has no headless mode, so we start our own X server
//               (`Xvfb -displayfd 3`: it picks a free display and writes its
//               number to fd 3), then `WebKitWebDriver --port=N`, and speak
//               plain W3C WebDriver over HTTP to it; it starts MiniBrowser in
//               automation mode. `opts.env` is added to the environment of
//               the driver (and so of MiniBrowser), e.g.
//               {JSC_useSharedArrayBuffer: '1'} for Safari's behaviour on a
//               cross-origin isolated page.
//
// evaluate(fnOrSource, arg): a function is sent as its source and called with
// `arg` (which must be JSON); a string is an expression. Promises are awaited
// (WebDriver: `execute/async`). The result must be JSON-serialisable.
//
// Nothing may hang or leak: every wait is bounded (opts.timeout, default
// 30 s per step, 60 s for launches) and fails with a message naming the step;
// every process we start is put in its own process group and killed (the
// whole group, so MiniBrowser and Firefox's content processes go too) on
// engine.close(), on process exit, on an uncaught exception and on
// SIGINT/SIGTERM/SIGHUP.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const ENGINES = ['chromium', 'firefox', 'webkit'];

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const DEFAULTS = {
  chromium: process.env.CHROMIUM ?? '/usr/bin/chromium',
  firefox: process.env.FIREFOX ?? '/usr/bin/firefox-esr',
  webkitDriver: process.env.WEBKIT_WEBDRIVER ?? '/usr/bin/WebKitWebDriver',
  miniBrowser: process.env.WEBKIT_MINIBROWSER ?? '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser',
  xvfb: process.env.XVFB ?? '/usr/bin/Xvfb',
};

// ---- process hygiene ------------------------------------------------------

const groups = new Set(); // pids of process-group leaders we started
const tempDirs = new Set();
function killGroup(pid) {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  groups.delete(pid);
}
function cleanup() {
  for (const pid of [...groups]) killGroup(pid);
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  tempDirs.clear();
}
let hooked = false;
function hookExit() {
  if (hooked) return;
  hooked = true;
  process.on('exit', cleanup);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'])
    process.once(sig, () => {
      cleanup();
      process.exit(128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1 }[sig] ?? 0));
    });
  process.on('uncaughtException', (e) => {
    console.error(e);
    cleanup();
    process.exit(1);
  });
}
function tempDir(prefix) {
  const d = mkdtempSync(path.join(tmpdir(), prefix));
  tempDirs.add(d);
  return d;
}

/** Rejects with "WHAT: no result after N s" if `promise` has not settled in `ms`. */
export function bounded(promise, ms, what) {
  let t;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      t = setTimeout(() => reject(new Error(`${what}: no result after ${ms / 1000} s`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function missing(files) {
  const gone = files.filter((f) => !existsSync(f));
  return gone.length ? `not installed: ${gone.join(', ')} (scripts/deps.sh installs it)` : null;
}

/** `fnOrSource` and `arg` as one expression. */
function expression(fnOrSource, arg) {
  if (typeof fnOrSource === 'function') return `(${fnOrSource.toString()})(${JSON.stringify(arg ?? null)})`;
  return `(${fnOrSource})`;
}

// ---- chromium (playwright-core) -------------------------------------------

async function launchChromium(opts, t) {
  const exe = opts.executablePath ?? DEFAULTS.chromium;
  const why = missing([exe]);
  if (why) return { skip: `chromium ${why}` };
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: exe,
    headless: true,
    timeout: t.launch,
    args: [...CHROMIUM_ARGS, ...(opts.args ?? [])],
    env: { ...process.env, ...(opts.env ?? {}) },
  });
  const pid = browser._initializer?.pid; // not public; Playwright kills it on exit anyway
  const context = await browser.newContext();
  return {
    name: 'chromium',
    version: browser.version(),
    async newPage() {
      const p = await bounded(context.newPage(), t.step, 'chromium: opening a page');
      p.setDefaultTimeout(t.step);
      const log = [];
      p.on('console', (m) => log.push({ type: m.type(), text: m.text() }));
      p.on('pageerror', (e) => log.push({ type: 'pageerror', text: String(e?.message ?? e) }));
      return {
        async goto(url) {
          await p.goto(url, { timeout: t.step, waitUntil: 'load' });
          await p.bringToFront(); // the active tab: requestAnimationFrame runs
        },
        evaluate: (fn, arg) => bounded(p.evaluate(expression(fn, arg)), t.step, 'chromium: evaluate'),
        screenshot: (file) => bounded(p.screenshot({ path: file }), t.step, 'chromium: screenshot'),
        console: () => log.slice(),
        close: () => bounded(p.close(), t.step, 'chromium: closing a page'),
      };
    },
    async close() {
      await bounded(browser.close(), t.step, 'closing chromium').catch(() => pid && killGroup(pid));
    },
  };
}

// ---- firefox (puppeteer-core, WebDriver BiDi) -----------------------------

async function launchFirefox(opts, t) {
  const exe = opts.executablePath ?? DEFAULTS.firefox;
  const why = missing([exe]);
  if (why) return { skip: `firefox ${why}` };
  const { default: puppeteer } = await import('puppeteer-core');
  const profile = tempDir('wasync-firefox-');
  const browser = await bounded(
    puppeteer.launch({
      browser: 'firefox',
      executablePath: exe,
      headless: true,
      userDataDir: profile,
      timeout: t.launch,
      protocolTimeout: t.step,
      env: { ...process.env, ...(opts.env ?? {}) },
      extraPrefsFirefox: opts.prefs ?? {},
      args: opts.args ?? [],
    }),
    t.launch,
    'launching firefox',
  );
  const proc = browser.process();
  if (proc?.pid) groups.add(proc.pid);
  const version = await bounded(browser.version(), t.step, 'firefox: version');
  return {
    name: 'firefox',
    version,
    async newPage() {
      const p = await bounded(browser.newPage(), t.step, 'firefox: opening a page');
      p.setDefaultTimeout(t.step);
      const log = [];
      p.on('console', (m) => log.push({ type: m.type(), text: m.text() }));
      p.on('pageerror', (e) => log.push({ type: 'pageerror', text: String(e?.message ?? e) }));
      return {
        async goto(url) {
          await bounded(p.goto(url, { timeout: t.step, waitUntil: 'load' }), t.step + 1000, 'firefox: goto');
          // the active tab: background tabs get timers throttled to 1 s
          await bounded(p.bringToFront(), t.step, 'firefox: bringToFront');
        },
        // puppeteer treats a string as an expression and awaits promises
        evaluate: (fn, arg) => bounded(p.evaluate(expression(fn, arg)), t.step, 'firefox: evaluate'),
        screenshot: (file) => bounded(p.screenshot({ path: file }), t.step, 'firefox: screenshot'),
        console: () => log.slice(),
        close: () => bounded(p.close(), t.step, 'firefox: closing a page'),
      };
    },
    async close() {
      await bounded(browser.close(), t.step, 'closing firefox').catch(() => {});
      if (proc?.pid) killGroup(proc.pid);
      rmSync(profile, { recursive: true, force: true });
      tempDirs.delete(profile);
    },
  };
}

// ---- webkit (Xvfb + WebKitWebDriver, W3C WebDriver over HTTP) -------------

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Starts Xvfb on a display of its choosing; resolves to ':N'. */
function startXvfb(exe, ms) {
  const child = spawn(exe, ['-displayfd', '3', '-screen', '0', '1280x1024x24', '-nolisten', 'tcp'], {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    detached: true,
  });
  groups.add(child.pid);
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const ready = new Promise((resolve, reject) => {
    let out = '';
    child.stdio[3].on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve({ child, display: `:${out.trim()}` });
    });
    child.on('error', reject);
    child.on('exit', (code, sig) => reject(new Error(`Xvfb exited (${sig ?? code}) before naming its display: ${err.trim().slice(-300)}`)));
  });
  return bounded(ready, ms, 'starting Xvfb');
}

async function webdriver(base, method, route, body, ms, what) {
  const res = await fetch(base + route, {
    method,
    headers: body ? { 'content-type': 'application/json; charset=utf-8' } : {},
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(ms),
  }).catch((e) => {
    throw new Error(`webkit: ${what}: ${e.name === 'TimeoutError' ? `no answer after ${ms / 1000} s` : e.message}`);
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok || json?.value?.error) {
    const v = json?.value ?? {};
    throw new Error(`webkit: ${what}: ${v.error ?? res.status} ${v.message ?? ''}`.trim());
  }
  return json.value;
}

async function launchWebkit(opts, t) {
  const driverExe = opts.driver ?? DEFAULTS.webkitDriver;
  const binary = opts.executablePath ?? DEFAULTS.miniBrowser;
  const why = missing([DEFAULTS.xvfb, driverExe, binary]);
  if (why) return { skip: `webkit ${why}` };
  const xvfb = await startXvfb(DEFAULTS.xvfb, t.launch);
  const port = await freePort();
  const driver = spawn(driverExe, [`--port=${port}`, '--host=127.0.0.1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    env: { ...process.env, DISPLAY: xvfb.display, ...(opts.env ?? {}) },
  });
  groups.add(driver.pid);
  let driverLog = '';
  driver.stdout.on('data', (d) => (driverLog = (driverLog + d).slice(-2000)));
  driver.stderr.on('data', (d) => (driverLog = (driverLog + d).slice(-2000)));
  let driverExit = null;
  driver.on('exit', (code, sig) => (driverExit = sig ?? code));
  const stopAll = () => {
    killGroup(driver.pid);
    killGroup(xvfb.child.pid);
  };
  const base = `http://127.0.0.1:${port}`;
  try {
    // wait for the driver to listen
    const deadline = Date.now() + t.launch;
    for (;;) {
      if (driverExit !== null) throw new Error(`webkit: WebKitWebDriver exited (${driverExit}): ${driverLog.trim()}`);
      const ok = await webdriver(base, 'GET', '/status', null, 2000, 'status').then(
        (v) => v?.ready !== false,
        () => false,
      );
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`webkit: WebKitWebDriver not answering after ${t.launch / 1000} s: ${driverLog.trim()}`);
      await sleep(100);
    }
    const session = await webdriver(
      base,
      'POST',
      '/session',
      {
        capabilities: {
          alwaysMatch: {
            'webkitgtk:browserOptions': { binary, args: ['--automation', ...(opts.args ?? [])] },
          },
        },
      },
      t.launch,
      'starting MiniBrowser (new session)',
    );
    const sid = session.sessionId;
    const S = `/session/${sid}`;
    const call = (method, route, body, what, ms = t.step) => webdriver(base, method, S + route, body, ms, what);
    await call('POST', '/timeouts', { script: t.step, pageLoad: t.step, implicit: 0 }, 'setting timeouts');
    const first = await call('GET', '/window', null, 'window handle');
    let current = first;
    let firstInUse = false;
    const open = new Set();
    const use = async (handle) => {
      if (current !== handle) await call('POST', '/window', { handle }, 'switching window');
      current = handle;
    };
    return {
      name: 'webkit',
      version: `${session.capabilities?.browserName ?? 'MiniBrowser'} ${session.capabilities?.browserVersion ?? '?'}`,
      async newPage() {
        let handle;
        if (!firstInUse) {
          firstInUse = true;
          handle = first;
        } else {
          ({ handle } = await call('POST', '/window/new', { type: 'tab' }, 'opening a page'));
        }
        open.add(handle);
        return {
          async goto(url) {
            await use(handle);
            await call('POST', '/url', { url }, `goto ${url}`, t.step + 1000);
          },
          async evaluate(fn, arg) {
            await use(handle);
            const script =
              'const done = arguments[arguments.length - 1];' +
              `Promise.resolve().then(() => ${expression(fn, arg)})` +
              '.then((v) => done({ ok: true, v: v === undefined ? null : JSON.parse(JSON.stringify(v)) }),' +
              ' (e) => done({ ok: false, e: String(e && e.stack || e) }));';
            const r = await call('POST', '/execute/async', { script, args: [] }, 'evaluate', t.step + 1000);
            if (!r?.ok) throw new Error(`webkit: evaluate: ${r?.e ?? 'no result'}`);
            return r.v;
          },
          async screenshot(file) {
            await use(handle);
            const b64 = await call('GET', '/screenshot', null, 'screenshot');
            writeFileSync(file, Buffer.from(b64, 'base64'));
          },
          console: () => [], // WebDriver classic has no console log
          async close() {
            open.delete(handle);
            if (handle === first) {
              // closing the last window would end the session: blank it instead
              await use(handle);
              await call('POST', '/url', { url: 'about:blank' }, 'blanking the page').catch(() => {});
              firstInUse = false;
              return;
            }
            await use(handle);
            await call('DELETE', '/window', null, 'closing a page').catch(() => {});
            current = null;
          },
        };
      },
      async close() {
        await webdriver(base, 'DELETE', S, null, t.step, 'ending the session').catch(() => {});
        stopAll();
      },
    };
  } catch (e) {
    stopAll();
    throw e;
  }
}

/**
 * Launches `name` ('chromium' | 'firefox' | 'webkit'). Resolves to an Engine
 * or to {skip: reason} when the engine is not installed. Options:
 * executablePath, args, env, timeout (ms per step), launchTimeout (ms).
 */
export async function launchEngine(name, opts = {}) {
  hookExit();
  const t = { step: opts.timeout ?? 30000, launch: opts.launchTimeout ?? 60000 };
  switch (name) {
    case 'chromium':
      return bounded(launchChromium(opts, t), t.launch + 5000, 'launching chromium');
    case 'firefox':
      return bounded(launchFirefox(opts, t), t.launch + 5000, 'launching firefox');
    case 'webkit':
      return bounded(launchWebkit(opts, t), t.launch * 2 + 5000, 'launching webkit');
    default:
      throw new Error(`wasync: unknown engine '${name}' (use ${ENGINES.join(', ')})`);
  }
}

/**
 * Waits until `probe` (a function evaluated in the page, no arguments)
 * returns something other than null/undefined, and resolves to it; rejects
 * after `totalMs`. The wait runs inside the page, one evaluate of up to 10 s
 * at a time (few driver round trips instead of a fast poll from here).
 */
export async function waitInPage(page, probe, totalMs, what = 'the page') {
  const deadline = Date.now() + totalMs;
  const source = `new Promise((resolve) => {
    const probe = ${probe.toString()};
    const t0 = performance.now();
    const poll = () => {
      const v = probe();
      if (v !== null && v !== undefined) resolve(v);
      else if (performance.now() - t0 > 10000) resolve(null);
      else setTimeout(poll, 100);
    };
    poll();
  })`;
  for (;;) {
    const r = await page.evaluate(source);
    if (r !== null && r !== undefined) return r;
    if (Date.now() > deadline) throw new Error(`${what} did not finish in ${totalMs / 1000} s`);
  }
}
