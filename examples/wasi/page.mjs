// The demo page. Interactive by default; with ?test it runs the program in
// every mode this browser offers, types the input itself, clicks the button
// from a timer, and reports checks in window.__results = {done, checks:
// [{name, ok, detail}]} for tests/wasi/browser.mjs (or the engine launcher).
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

async function selfTest() {
  const checks = [];
  const check = (name, ok, detail = '') => checks.push({ name, ok: !!ok, detail });
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
      check(`${mode}: skipped`, true, why[mode]);
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
    const code = await runDemo(mode, (line) => {
      current.lines.push(line);
      marks[line.split(' ')[0] + (line.startsWith('you said') ? ':' + line.slice(10) : '')] = { frames, clicks, t: performance.now() };
      if (line.startsWith('type lines')) {
        type('hello', 300);
        type('world', 500);
        type('', 600);
      }
    }).catch((e) => `error ${e.message}`);
    clearInterval(clicker);
    check(`${mode}: exit code 0`, code === 0, String(code));
    check(`${mode}: output`, JSON.stringify(current.lines) === JSON.stringify(expected), JSON.stringify(current.lines));
    const during = (a, b) => (marks[a] && marks[b] ? { frames: marks[b].frames - marks[a].frames, clicks: marks[b].clicks - marks[a].clicks, ms: Math.round(marks[b].t - marks[a].t) } : null);
    const sleep = during('sleeping', 'awake');
    check(`${mode}: frames and clicks during sleep(400 ms)`, sleep && sleep.frames >= 3 && sleep.clicks >= 3, JSON.stringify(sleep));
    const wait = during('type', 'you:hello');
    check(`${mode}: frames and clicks while fgets waits for input`, wait && wait.frames >= 3 && wait.clicks >= 3, JSON.stringify(wait));
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
