// bench/runtime-ab.mjs -- the runtime's per-call cost in several checkouts,
// measured alternately, in CPU time: for comparing a change with the commit
// before it on a busy machine.
//
//   node bench/runtime-ab.mjs TREE... [--rounds N] [--node EXE] [--modes jspi,asyncify,worker]
//
// Each TREE is a checkout of wasync with its JS fixtures built
// (scripts/test-js.sh --build-only); the first one is the reference. Every
// round runs one fresh process of EXE (default: this node) per tree, in an
// order reversed every other round; the process loads that tree's
// js/index.js and fixtures and times the cases of runtime-cases.mjs
// (suspend+resume round trip, export call with a sync import, sync import
// inside a call) with the same driver code for every tree: after a warm-up,
// seven batches of a fixed number of operations, each measured in process
// CPU time (process.cpuUsage: every thread, so worker mode's worker counts)
// and in wall time; the process reports the medians. The table gives the
// median over the rounds per tree and its ratio to the reference.
//
// Why CPU time: with other processes running, wall time mostly measures how
// long this one waited for a core (the same code varied 3x between runs on a
// loaded 2-core machine); CPU time varies far less. bench/runtime.mjs stays
// the figure of record, on a quiet machine. Two runtimes in one process do
// not compare fairly either: the first one loaded measured up to 1.6x slower
// running identical code.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { imports } from './runtime-cases.mjs';

const argv = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = argv.indexOf(name);
  if (i < 0) return dflt;
  const v = argv[i + 1];
  argv.splice(i, 2);
  return v;
};

// operations per batch: 20-200 ms of CPU each on a 2020s x86 core
const BATCH = {
  jspi: { suspend: 20000, call: 5000, import: 300000 },
  asyncify: { suspend: 40000, call: 20000, import: 300000 },
  worker: { suspend: 1500, call: 800, import: 3000 },
};
const CASES = ['suspend', 'call', 'import'];
const LABEL = { suspend: 'suspend+resume', call: 'export call', import: 'sync import' };

const median = (xs) => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** In a child process: time TREE's runtime; prints {mode: {case: {cpu, wall}}} as JSON. */
async function child(tree, modes) {
  const lib = await import(pathToFileURL(path.join(tree, 'js/index.js')).href);
  const fixtures = path.join(tree, 'build/js-fixtures/');
  const { why } = lib.supportedModes(null);
  const out = {};
  for (const mode of modes) {
    if (mode !== 'asyncify' && why[mode]) continue;
    const file = mode === 'asyncify' ? 'app.async.wasm' : 'app.wasm';
    const inst = await lib.instantiate(readFileSync(fixtures + file), imports, { mode });
    const ex = inst.exports;
    const run = {
      suspend: async (n) => {
        const got = await ex.suspend_n(n);
        if (got !== n) throw new Error(`suspend_n(${n}) = ${got}`);
      },
      call: async (n) => {
        for (let i = 0; i < n; i++) await ex.ping(i);
      },
      import: async (n) => {
        await ex.sum_sync(n);
      },
    };
    out[mode] = {};
    for (const c of CASES) {
      const n = BATCH[mode][c];
      await run[c](n >> 2);
      await run[c](n >> 2);
      const cpu = [];
      const wall = [];
      for (let k = 0; k < 7; k++) {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        await run[c](n);
        const t1 = performance.now();
        const used = process.cpuUsage(c0);
        cpu.push((used.user + used.system) / n);
        wall.push(((t1 - t0) * 1000) / n);
      }
      out[mode][c] = { cpu: median(cpu), wall: median(wall) };
    }
    inst.terminate();
  }
  console.log(JSON.stringify(out));
}

async function parent() {
  const rounds = Number(flag('--rounds', 7));
  const exe = flag('--node', process.execPath);
  const modes = flag('--modes', 'jspi,asyncify,worker');
  const trees = argv.map((t) => path.resolve(t));
  if (!trees.length || trees.some((t) => !existsSync(path.join(t, 'js/index.js')) || !existsSync(path.join(t, 'build/js-fixtures/app.async.wasm')))) {
    console.error('usage: node bench/runtime-ab.mjs TREE... [--rounds N] [--node EXE] [--modes jspi,asyncify,worker]');
    console.error('       (each TREE: a wasync checkout with js/ and build/js-fixtures/, from scripts/test-js.sh --build-only)');
    process.exit(2);
  }
  const self = fileURLToPath(import.meta.url);
  const runs = new Map(trees.map((t) => [t, []]));
  for (let r = 0; r < rounds; r++) {
    for (const t of r % 2 ? [...trees].reverse() : trees) {
      const text = execFileSync(exe, [self, '--child', t, '--modes', modes], { encoding: 'utf8', timeout: 600000 });
      runs.get(t).push(JSON.parse(text.trim().split('\n').pop()));
    }
    process.stderr.write(`round ${r + 1}/${rounds}\r`);
  }
  const version = execFileSync(exe, ['--version'], { encoding: 'utf8' }).trim();
  const f = (v) => (Number.isNaN(v) ? 'n/a' : v < 0.1 ? v.toFixed(3) : v < 10 ? v.toFixed(2) : v.toFixed(1));
  console.log(`node ${version}, ${rounds} rounds: CPU µs per operation (wall µs), medians; ratio of CPU to [0]`);
  trees.forEach((t, i) => console.log(`  [${i}] ${t}`));
  for (const mode of modes.split(',')) {
    for (const c of CASES) {
      const cells = trees.map((t) => {
        const got = runs.get(t).map((x) => x[mode]?.[c]).filter(Boolean);
        return { cpu: median(got.map((x) => x.cpu)), wall: median(got.map((x) => x.wall)) };
      });
      if (cells.every((x) => Number.isNaN(x.cpu))) continue;
      const text = cells.map((x, i) => `[${i}] ${f(x.cpu).padStart(6)} (${f(x.wall).padStart(6)})${i ? ` ${(x.cpu / cells[0].cpu).toFixed(2)}` : '     '}`);
      console.log(`  ${mode.padEnd(9)}${LABEL[c].padEnd(15)}${text.join('   ')}`);
    }
  }
}

if (argv[0] === '--child') {
  const modes = flag('--modes', 'jspi,asyncify,worker').split(',');
  await child(argv[1], modes);
} else {
  await parent();
}
