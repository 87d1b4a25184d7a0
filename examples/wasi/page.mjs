// The demo page. Interactive by default; with ?test it runs the program in
// every mode this browser offers, types the input itself, clicks the button
// from a timer, and reports checks in window.__results = {done, checks:
// [{name, ok, detail} | {name, skip: reason}]} for tests/wasi/browser.mjs
// (a mode this browser lacks is a skip with the reason, not a pass).
import { runWasi, stdinFromElement } from '../../js/wasi/index.js';
import { supportedModes } from '../../js/index.js';

const $ = (id) => document.getElementById(id);
const con = $('console');
const dec = new TextDecoder();
let frames = 0;
let clicks = 0;
(function tick() {
  $('frames').textContent = ++frames;
  requestAnimationFrame(tick);
})();
$('btn').addEventListener('click', () => ($('clicks').textContent = ++clicks));
// The event loop's own measure beside the frames: turns of a 10 ms timer
// chain (runs only while the self-test measures).
let turns = 0;
let turning = false;
function turn() {
  if (!turning) return;
  turns++;
  setTimeout(turn, 10);
}

const wasmURL = new URL('../../build/examples/wasi/demo.wasm', import.meta.url);
const dataURL = new URL('../../build/examples/wasi/remote.txt', import.meta.url);

/** Runs the demo once; `onLine(line)` sees every line of output. */
async function runDemo(mode, onLine = () => {}) {
  con.textContent = '';
  let pending = '';
  const stdin = stdinFromElement($('stdin'));
  const code = await runWasi(fetch(wasmURL), {
    mode,
    args: ['demo', '400'],
    stdin,
    stdout: (b) => {
      const text = dec.decode(b);
      con.textContent += text;
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop();
      for (const l of lines) onLine(l);
    },
    preopens: { '/data': { 'remote.txt': dataURL } },
  });
  stdin.end();
  con.textContent += `\n[exit ${code}]\n`;
  return code;
}

$('run').addEventListener('click', () => runDemo($('mode').value).catch((e) => (con.textContent += `\n${e.message}\n`)));

/**
 * Resolves once the engine delivers animation frames on the idle page (5 in
 * 200 ms) to the time waited, or after `ms` to null. WebKitGTK under Xvfb starves
 * requestAnimationFrame for a few seconds after a load even when the page
 * does nothing, so frames measured then would say nothing about wasync.
 */
async function framesFlowing(ms) {
  const t0 = performance.now();
  for (;;) {
    const f0 = frames;
    await new Promise((r) => setTimeout(r, 200));
    if (frames - f0 >= 5) return Math.round(performance.now() - t0);
    if (performance.now() - t0 > ms) return null;
  }
}

async function selfTest() {
  const checks = [];
  const check = (name, ok, detail = '') => checks.push({ name, ok: !!ok, detail });
  const waited = await framesFlowing(10000);
  check('animation frames flow on the idle page before measuring', waited !== null, waited === null ? 'not within 10 s' : `after ${waited} ms`);
  const expected = [
    'hello from C', 'sleeping 400 ms', 'awake', 'type lines (end with an empty line or EOF)',
    'you said: hello', 'you said: world', '2 lines', 'reading /data/remote.txt',
    'file: this line came over HTTP, fetched when the program opened the file', 'bye',
  ];
  const { why } = supportedModes(null);
  let fetches = [];
  const realFetch = globalThis.fetch;
  globalThis.fetch = (u, ...a) => {
    fetches.push({ url: String(u), line: current.lines.length });
    return realFetch(u, ...a);
  };
  let current = { lines: [] };
  for (const mode of ['jspi', 'asyncify', 'worker']) {
    if (mode !== 'asyncify' && why[mode]) {
      checks.push({ name: mode, skip: why[mode] });
      continue;
    }
    const marks = {};
    current = { lines: [] };
    fetches = [];
    const type = (text, ms) => setTimeout(() => {
      const el = $('stdin');
      el.value = text;
      el.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter' }));
    }, ms);
    const clicker = setInterval(() => $('btn').click(), 25);
    turning = true;
    turn();
    const code = await runDemo(mode, (line) => {
      current.lines.push(line);
      marks[line.split(' ')[0] + (line.startsWith('you said') ? ':' + line.slice(10) : '')] = { frames, clicks, turns, t: performance.now() };
      if (line.startsWith('type lines')) {
        type('hello', 300);
        type('world', 500);
        type('', 600);
      }
    }).catch((e) => `error ${e.message}`);
    clearInterval(clicker);
    turning = false;
    check(`${mode}: exit code 0`, code === 0, String(code));
    check(`${mode}: output`, JSON.stringify(current.lines) === JSON.stringify(expected), JSON.stringify(current.lines));
    const during = (a, b) => {
      if (!marks[a] || !marks[b]) return null;
      const d = { ms: Math.round(marks[b].t - marks[a].t) };
      for (const k of ['frames', 'clicks', 'turns']) d[k] = marks[b][k] - marks[a][k];
      return d;
    };
    // a frozen page has none of the three
    const lively = (d) => d && d.frames >= 3 && d.clicks >= 3 && d.turns >= 10;
    const sleep = during('sleeping', 'awake');
    check(`${mode}: frames, clicks and timer turns during sleep(400 ms)`, lively(sleep), JSON.stringify(sleep));
    const wait = during('type', 'you:hello');
    check(`${mode}: frames, clicks and timer turns while fgets waits for input`, lively(wait), JSON.stringify(wait));
    const remote = fetches.filter((f) => f.url.endsWith('remote.txt'));
    check(`${mode}: URL-backed file fetched once, when opened`, remote.length === 1 && remote[0].line >= expected.indexOf('reading /data/remote.txt') + 1, JSON.stringify(remote));
  }
  globalThis.fetch = realFetch;
  return checks;
}

if (new URLSearchParams(location.search).has('test') || navigator.webdriver) {
  window.__results = { done: false };
  selfTest().then(
    (checks) => (window.__results = { done: true, checks }),
    (e) => (window.__results = { done: true, error: String(e?.stack ?? e), checks: [] }),
  );
}
