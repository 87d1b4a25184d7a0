// tests/emscripten/run.mjs -- wasync standing in for Binaryen's asyncify
// step inside Emscripten's emcc (apt's 3.1.6), compared with stock emcc.
//
// Every tests/emscripten/*.c / *.cpp is an Emscripten-style program.  Each
// of its variants is built at -O0, -O1, -O2 and -O3 twice:
//   stock   emcc as installed (Binaryen's wasm-opt does --asyncify);
//   wasync  emcc with scripts/emcc first in PATH, so that its `wasm-opt`
//           front runs `build/wasync asyncify` for the --asyncify part and
//           hands the other passes to Binaryen (scripts/emcc/wasm-opt);
// and each build runs under Emscripten's own JS glue in Node 20
// (`--no-experimental-fetch`: Emscripten 3.1.6's loader takes Node's fetch
// for a browser's otherwise).  The output (stdout and exit status) must be
// the program's NAME.expected.  A case counts only where the stock build
// gives the expected output: there the wasync build must too; a stock
// failure is reported (and the case skipped) loudly.  The wasync build must
// also prove that the front ran wasync (WASYNC_FRONT_LOG).
//
// Directives in the first comment lines of a program:
//   // emcc: FLAGS               flags for every variant (compile and link)
//   // variant NAME: FLAGS       a variant with extra flags (none: one variant)
//   // xfail(wasync): REASON     the wasync build is expected to fail, for a
//                                reason that is someone's open work; when it
//                                passes the run fails, to get the mark removed
//
// Each program is compiled once per level (emcc -c; the -s settings are
// link-time only) and linked by every variant with both toolchains.  Builds
// are cached under build/emscripten/ by a hash of everything that goes into
// them (source, flags, level, emcc version, and for wasync builds the front
// and build/wasync), so only what changed is rebuilt.
//
// WASYNC=PATH tests another wasync binary than build/wasync.
// Usage: node tests/emscripten/run.mjs [--only=SUBSTR] [--levels=0,2]
//                                      [--jobs=N] [--no-cache] [--verbose]
// Without --only, three checks of the front itself run first (a command
// line without --asyncify reaches the real wasm-opt unchanged; source maps
// and a missing -o are refused).
// Prints `emscripten: N passed, N failed` (one case = one variant of one
// program at one -O level, both builds; or one front check); exits 1 on any
// failure.  Without
// emcc or Binaryen's wasm-opt it skips loudly (0 passed, 0 failed).

import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const front = join(root, 'scripts/emcc');
const wasync = process.env.WASYNC ? resolve(process.env.WASYNC) : join(root, 'build/wasync');
const cacheRoot = join(root, 'build/emscripten');

// Default jobs: one per core (emcc spends its time in clang, wasm-opt and
// node, one process at a time).
const opts = { only: null, levels: [0, 1, 2, 3], jobs: Math.max(2, cpus().length), cache: true, verbose: false };
for (const a of process.argv.slice(2)) {
  if (a.startsWith('--only=')) opts.only = a.slice(7);
  else if (a.startsWith('--levels=')) opts.levels = a.slice(9).split(',').map(Number);
  else if (a.startsWith('--jobs=')) opts.jobs = Math.max(1, Number(a.slice(7)));
  else if (a === '--no-cache') opts.cache = false;
  else if (a === '--verbose') opts.verbose = true;
  else {
    console.error(`tests/emscripten/run.mjs: unknown argument ${a}`);
    process.exit(2);
  }
}

function which(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

function skipAll(reason) {
  console.log(`emscripten: SKIPPED -- ${reason}`);
  console.log('emscripten: 0 passed, 0 failed');
  process.exit(0);
}

if (!which('emcc')) skipAll('no emcc in PATH (apt install emscripten, scripts/deps.sh)');
if (!which('wasm-opt')) skipAll("no Binaryen wasm-opt in PATH (emcc needs it; apt install binaryen)");
if (!existsSync(wasync)) {
  console.error('tests/emscripten/run.mjs: build/wasync is missing (run make first)');
  process.exit(1);
}

const emccVersion = spawnSync('emcc', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0];
const sha = (...parts) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(typeof p === 'string' ? p : p).update('\0');
  return h.digest('hex').slice(0, 16);
};
const wasyncHash = sha(readFileSync(wasync), readFileSync(join(front, 'wasm-opt')));

// Apt's Emscripten runs its JS optimizer (acorn) at -O2 and up with the
// config's NODE_JS, which finds Debian's node modules only through NODE_PATH.
const baseEnv = { ...process.env, NODE_PATH: ['/usr/share/nodejs', process.env.NODE_PATH].filter(Boolean).join(':') };

function parseProgram(file) {
  const src = readFileSync(file, 'utf8');
  const header = [];
  for (const line of src.split('\n')) {
    if (!line.startsWith('//')) break;
    header.push(line.slice(2).trim());
  }
  let flags = [];
  const variants = [];
  let xfail = null;
  for (const h of header) {
    let m;
    if ((m = /^emcc:(.*)$/.exec(h))) flags = m[1].trim().split(/\s+/).filter(Boolean);
    else if ((m = /^variant ([\w-]+):(.*)$/.exec(h)))
      variants.push({ name: m[1], flags: m[2].trim().split(/\s+/).filter(Boolean) });
    else if ((m = /^xfail\(wasync\):(.*)$/.exec(h))) xfail = m[1].trim();
  }
  if (variants.length === 0) variants.push({ name: '', flags: [] });
  const expectedFile = file.replace(/\.(c|cpp)$/, '.expected');
  if (!existsSync(expectedFile)) throw new Error(`${file}: no ${expectedFile}`);
  return { file, src, flags, variants, xfail, expected: readFileSync(expectedFile, 'utf8') };
}

// The start and the end of a long log (wasm-opt's validator prints a lot).
function clip(text) {
  const lines = text.split('\n');
  if (lines.length <= 30) return text;
  return [...lines.slice(0, 12), `... (${lines.length - 24} lines)`, ...lines.slice(-12)].join('\n');
}

function exec(cmd, args, { env, cwd, timeoutMs }) {
  return new Promise((resolveRun) => {
    const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolveRun({ code, signal, stdout, stderr, timedOut });
    });
  });
}

// The object file of a program at a level: compiled once, linked by every
// variant and both toolchains (the -s settings are link-time only).
const objects = new Map();
function compile(prog, level) {
  const name = prog.file.split('/').pop().replace(/\.(c|cpp)$/, '');
  const args = [`-O${level}`, ...prog.flags.filter((f) => !f.startsWith('-s')), '-c', prog.file, '-o', 'prog.o'];
  const key = sha(prog.src, args.join(' '), emccVersion);
  if (objects.has(key)) return objects.get(key);
  const dir = join(cacheRoot, `${name}-O${level}-obj`);
  const stamp = join(dir, 'key');
  const p = (async () => {
    if (opts.cache && existsSync(stamp) && readFileSync(stamp, 'utf8') === key) return { ok: true, obj: join(dir, 'prog.o') };
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const r = await exec(prog.file.endsWith('.cpp') ? 'em++' : 'emcc', args, { env: baseEnv, cwd: dir, timeoutMs: 300_000 });
    if (r.code !== 0) return { ok: false, log: clip(r.stdout + r.stderr) };
    writeFileSync(stamp, key);
    return { ok: true, obj: join(dir, 'prog.o'), fresh: true };
  })();
  objects.set(key, p);
  return p;
}

// Build one program variant at one level with one toolchain (cached).
async function build(prog, variant, level, kind) {
  const name = prog.file.split('/').pop().replace(/\.(c|cpp)$/, '');
  const isCpp = prog.file.endsWith('.cpp');
  const obj = await compile(prog, level);
  if (!obj.ok) return { ok: false, log: `compiling: ${obj.log}` };
  const args = [`-O${level}`, ...prog.flags, ...variant.flags, obj.obj, '-o', 'prog.js'];
  const key = sha(prog.src, args.join(' '), emccVersion, kind === 'wasync' ? wasyncHash : 'stock');
  const dir = join(cacheRoot, `${name}${variant.name ? '-' + variant.name : ''}-O${level}-${kind}`);
  const stamp = join(dir, 'key');
  if (opts.cache && existsSync(stamp) && readFileSync(stamp, 'utf8') === key) {
    return JSON.parse(readFileSync(join(dir, 'build.json'), 'utf8'));
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const env = { ...baseEnv };
  if (kind === 'wasync') {
    env.PATH = `${front}:${env.PATH}`;
    env.WASYNC = wasync;
    env.WASYNC_FRONT_LOG = join(dir, 'front.log');
  }
  const t0 = Date.now();
  const r = await exec(isCpp ? 'em++' : 'emcc', args, { env, cwd: dir, timeoutMs: 300_000 });
  const result = {
    ok: r.code === 0 && existsSync(join(dir, 'prog.js')),
    log: clip(r.stdout + r.stderr) + (r.timedOut ? '\n(emcc timed out)' : ''),
    seconds: (Date.now() - t0) / 1000,
    frontRan: kind === 'wasync' && existsSync(join(dir, 'front.log')) &&
      readFileSync(join(dir, 'front.log'), 'utf8').includes(' asyncify '),
  };
  writeFileSync(join(dir, 'build.json'), JSON.stringify(result));
  writeFileSync(stamp, key);
  return { ...result, fresh: true };
}

async function runBuild(dir) {
  const r = await exec(process.execPath, ['--no-experimental-fetch', 'prog.js'], {
    env: baseEnv, cwd: dir, timeoutMs: 30_000,
  });
  return { out: r.stdout, status: r.timedOut ? 'timeout' : r.signal ? r.signal : r.code, err: r.stderr };
}

const outcome = (run) => `exit ${run.status}\n${run.out}`;
const describe = (run) => outcome(run) + (run.err ? `--- stderr\n${run.err.slice(-1500)}` : '');

const files = readdirSync(here)
  .filter((f) => /\.(c|cpp)$/.test(f))
  .sort()
  .map((f) => join(here, f));
const programs = files.map(parseProgram);

const cases = [];
for (const prog of programs)
  for (const variant of prog.variants)
    for (const level of opts.levels) {
      const label = `${prog.file.split('/').pop()}${variant.name ? ' [' + variant.name + ']' : ''} -O${level}`;
      if (opts.only && !label.includes(opts.only)) continue;
      cases.push({ prog, variant, level, label });
    }

let passed = 0;
let failed = 0;
let skipped = 0;
let xfailed = 0;
let built = 0;
const t0 = Date.now();

async function runCase(c) {
  const lines = [];
  const [stock, wasyncBuild] = [await build(c.prog, c.variant, c.level, 'stock'), await build(c.prog, c.variant, c.level, 'wasync')];
  built += (stock.fresh ? 1 : 0) + (wasyncBuild.fresh ? 1 : 0);
  const dirOf = (kind) => join(cacheRoot, `${c.prog.file.split('/').pop().replace(/\.(c|cpp)$/, '')}${c.variant.name ? '-' + c.variant.name : ''}-O${c.level}-${kind}`);
  if (!stock.ok) {
    skipped++;
    console.log(`SKIP ${c.label}: the stock build fails\n${stock.log}`);
    return;
  }
  const stockRun = await runBuild(dirOf('stock'));
  const expected = `exit 0\n${c.prog.expected}`;
  if (outcome(stockRun) !== expected) {
    skipped++;
    console.log(`SKIP ${c.label}: the stock build does not give the expected output:\n${describe(stockRun)}`);
    return;
  }
  let problem = null;
  if (!wasyncBuild.ok) problem = `the wasync build fails:\n${wasyncBuild.log}`;
  else if (!wasyncBuild.frontRan) problem = 'the wasm-opt front did not run wasync (no asyncify line in front.log)';
  else {
    const run = await runBuild(dirOf('wasync'));
    if (outcome(run) !== expected) problem = `output differs; expected\n${expected}got\n${describe(run)}`;
  }
  if (c.prog.xfail) {
    if (problem) {
      xfailed++;
      lines.push(`xfail ${c.label} (${c.prog.xfail})`);
      if (opts.verbose) lines.push(problem);
    } else {
      failed++;
      lines.push(`FAIL ${c.label}: passes although marked xfail(wasync) -- remove the mark (${c.prog.xfail})`);
    }
  } else if (problem) {
    failed++;
    lines.push(`FAIL ${c.label}: ${problem}`);
  } else {
    passed++;
    lines.push(`ok ${c.label}`);
  }
  console.log(lines.join('\n'));
}

// The front's own contract, checked once (no emcc involved).
if (!opts.only) {
  const frontBin = join(front, 'wasm-opt');
  const env = { ...baseEnv, PATH: `${front}:${baseEnv.PATH}`, WASYNC: wasync };
  const real = spawnSync('wasm-opt', ['--version'], { encoding: 'utf8', env: baseEnv });
  const viaFront = spawnSync(frontBin, ['--version'], { encoding: 'utf8', env });
  const frontCheck = (label, ok, detail) => {
    if (ok) passed++;
    else failed++;
    console.log(ok ? `ok front: ${label}` : `FAIL front: ${label}: ${detail}`);
  };
  frontCheck('without --asyncify the command line goes to the real wasm-opt unchanged (--version)',
    viaFront.status === 0 && viaFront.stdout === real.stdout, viaFront.stdout + viaFront.stderr);
  const sm = spawnSync(frontBin, ['--asyncify', 'in.wasm', '-o', 'out.wasm', '--input-source-map=in.wasm.map'], { encoding: 'utf8', env });
  frontCheck('a source map with --asyncify is refused with a clear error',
    sm.status === 1 && /source map cannot be carried through wasync/.test(sm.stderr), sm.stderr);
  const noOut = spawnSync(frontBin, ['--asyncify', 'in.wasm'], { encoding: 'utf8', env });
  frontCheck('--asyncify without -o is refused', noOut.status === 1 && /needs an input file and -o/.test(noOut.stderr), noOut.stderr);
}

// A small pool: emcc is mostly waiting on its subprocesses.
const queue = cases.slice();
await Promise.all(
  Array.from({ length: opts.jobs }, async () => {
    while (queue.length > 0) await runCase(queue.shift());
  }),
);

const secs = ((Date.now() - t0) / 1000).toFixed(1);
console.log(
  `emscripten: ${cases.length} cases, ${built} builds made (others cached), ${skipped} skipped (stock fails), ` +
    `${xfailed} expected failures, ${secs}s`,
);
console.log(`emscripten: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
