// The WASI demo in Node (examples/wasi/node.mjs) with piped stdin, in every
// mode this Node offers: the whole output, and that the event loop kept
// running while the program slept and waited for input (a 10 ms timer must
// tick; a blocked thread gives ~0 ticks). Closing line: `wasi-demo: N passed, N failed`.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { supportedModes } from '../../js/index.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
execFileSync(path.join(repo, 'examples/wasi/build.sh'), ['--no-emcc'], { stdio: ['ignore', 'ignore', 'inherit'] });

const expected = [
  'hello from C', 'sleeping 300 ms', 'awake', 'type lines (end with an empty line or EOF)',
  'you said: first', 'you said: second', '2 lines', 'reading /data/remote.txt',
  'file: this line came over HTTP, fetched when the program opened the file', 'bye', '',
].join('\n');

let passed = 0;
let failed = 0;
const { why } = supportedModes(null);
for (const mode of ['jspi', 'asyncify', 'worker']) {
  if (mode !== 'asyncify' && why[mode]) {
    console.log(`wasi-demo: SKIPPED mode ${mode} on Node ${process.versions.node}: ${why[mode]}`);
    continue;
  }
  const child = spawn(process.execPath, [path.join(repo, 'examples/wasi/node.mjs'), '--mode', mode, '--ticks', '300'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  setTimeout(() => child.stdin.write('first\n'), 500);
  setTimeout(() => child.stdin.end('second\n'), 700);
  const killer = setTimeout(() => child.kill('SIGKILL'), 20000);
  const code = await new Promise((r) => child.on('exit', (c, s) => r(c ?? s)));
  clearTimeout(killer);
  const ticks = Number(/ticks: (\d+)/.exec(err)?.[1] ?? -1);
  const problems = [];
  if (code !== 0) problems.push(`exit ${code}`);
  if (out !== expected) problems.push(`output ${JSON.stringify(out)}`);
  if (ticks < 10) problems.push(`only ${ticks} timer ticks in ~700 ms of waiting: the event loop was blocked`);
  if (problems.length) {
    failed++;
    console.log(`FAIL ${mode}: ${problems.join('; ')}${err ? ` (stderr: ${err.trim().slice(0, 300)})` : ''}`);
  } else {
    passed++;
    console.log(`ok ${mode}: output right, ${ticks} timer ticks while the program waited`);
  }
}
// the Emscripten build of the same program, when built (examples/wasi/build.sh
// without --no-emcc); its 3.1.6 loader runs on Node 20 only
const emccJs = path.join(repo, 'build/examples/wasi/demo-emcc.js');
if (!fs.existsSync(emccJs)) console.log('wasi-demo: SKIPPED the Emscripten build: not built (examples/wasi/build.sh builds it when emcc is installed)');
else if (Number(process.versions.node.split('.')[0]) >= 21) console.log(`wasi-demo: SKIPPED the Emscripten build on Node ${process.versions.node} (its loader needs --no-experimental-fetch)`);
else {
  const child = spawn(process.execPath, ['--no-experimental-fetch', path.join(repo, 'examples/wasi/emcc-node.cjs'), '--ticks', '300'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  // all input up front: Emscripten's Node stdin cannot wait (a read of an
  // empty pipe is end-of-file), so late lines would be lost
  child.stdin.end('first\nsecond\n');
  const killer = setTimeout(() => child.kill('SIGKILL'), 20000);
  const code = await new Promise((r) => child.on('exit', (c, s) => r(c ?? s)));
  clearTimeout(killer);
  const ticks = /ticks: (\d+)/.exec(err)?.[1];
  // Emscripten's Browser module prints a warning on stdout in Node
  out = out.replace(/^warning: Browser does not support creating object URLs.*\n/m, '');
  if (code === 0 && out === expected) {
    passed++;
    console.log(`ok emcc -sASYNCIFY (Node 20): same output with its input given up front; ${ticks} timer ticks`);
  } else {
    failed++;
    console.log(`FAIL emcc -sASYNCIFY: exit ${code}, output ${JSON.stringify(out)}`);
  }
}
console.log(`wasi-demo: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
