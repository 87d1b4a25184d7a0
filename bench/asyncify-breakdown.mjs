// asyncify-breakdown.mjs -- where the run-time cost of wasync's asyncify
// instrumentation goes: the CPU-bound QuickJS script's slowdown (as in
// bench/asyncify.mjs) for diagnostic builds that each leave one kind of
// added code out.
//
//   node bench/asyncify-breakdown.mjs [--engines node20,node26,chromium]
//        [--procs N] [--warmup S] [--only VARIANT[,VARIANT]] [--mv]
//
// Variants (`wasync asyncify --imports env.host_call` plus):
//   full          nothing left out (wasync's output)
//   -checks       the check after each call that may unwind
//                 (i32.const site; global.get state; br_if $save; drop)
//   -entry        the function-entry rewind check and frame restore (and the
//                 split function's trampoline check)
//   -dispatch     the rewind dispatches at the start of hot sequences
//   -trampoline   the split function's trampoline (its body is `fast`)
//   -conds        a hot if's guarded condition (cl = state ? cl : c)
//   -save         the frame's locals (checks and save block stay, but
//                 nothing is saved or restored)
//   -all          the first five: what remains is the structure (piece blocks,
//                 operand-stack temps, frame-sized locals)
//   no-split      --split-rewind never (what the split rewind path buys)
// with --diag-omit (a hidden, diagnostic-only option: such outputs cannot
// unwind or rewind; the script never suspends, so they run it correctly,
// and its result is checked against the original's). --mv builds every
// variant with --enable-multivalue too. The original module is the
// baseline; the share of a kind is (full - variant) / (full - original).
// Results also go to bench/out/asyncify-breakdown.json.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENGINES, argValue, slowdown } from './asyncify-runtime.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const args = process.argv.slice(2);
const opt = (name) => argValue(args, name);
const engines = opt('--engines') ? opt('--engines').split(',') : ENGINES;
const procs = Number(opt('--procs') ?? 3);
const warmupMs = Number(opt('--warmup') ?? 5) * 1000;
const mv = args.includes('--mv');

const wasync = path.join(root, 'build/wasync');
const input = path.join(root, 'build/quickjs/qjs.wasm');
if (!existsSync(wasync)) {
  console.error('bench: build/wasync not found (run: make)');
  process.exit(1);
}
if (!existsSync(input)) spawnSync(path.join(root, 'scripts/build-quickjs.sh'), [], { stdio: 'inherit' });
const OUT = path.join(root, 'bench/out/breakdown');
mkdirSync(OUT, { recursive: true });

const KINDS = [
  ['full', []],
  ['-checks', ['--diag-omit', 'checks']],
  ['-entry', ['--diag-omit', 'entry']],
  ['-dispatch', ['--diag-omit', 'dispatch']],
  ['-trampoline', ['--diag-omit', 'trampoline']],
  ['-conds', ['--diag-omit', 'conds']],
  ['-save', ['--diag-omit', 'save']],
  ['-all', ['--diag-omit', 'checks,entry,dispatch,trampoline,conds']],
  ['no-split', ['--split-rewind', 'never']],
];
const only = opt('--only') ? opt('--only').split(',') : null;
const variants = [['original', input]];
for (const [name, extra] of KINDS.filter(([n]) => !only || n === 'full' || only.includes(n))) {
  for (const m of mv ? [false, true] : [false]) {
    const vname = m ? `${name} +mv` : name;
    const file = path.join(OUT, `qjs.${name.replace(/^-/, 'no-')}${m ? '.mv' : ''}.wasm`);
    const r = spawnSync(wasync, ['asyncify', '--imports', 'env.host_call', ...(m ? ['--enable-multivalue'] : []), ...extra, input, '-o', file], { encoding: 'utf8' });
    if (r.status !== 0) {
      console.error(`bench: ${vname}: ${r.stderr.trim()}`);
      process.exit(1);
    }
    const v = spawnSync('wasm-validate', ['--enable-all', file], { encoding: 'utf8' });
    if (v.status !== 0) {
      console.error(`bench: ${vname} does not validate: ${v.stderr.trim()}`);
      process.exit(1);
    }
    variants.push([vname, file]);
  }
}
console.log(`CPU-bound QuickJS script, slowdown per diagnostic variant; ${procs} processes (pages) per variant and engine, at least ${warmupMs / 1000} s of warm-up, fastest of 7 runs each:`);
const rows = await slowdown(variants, { engines, procs, warmupMs });

const fmt = (x, d = 2) => (x === undefined || Number.isNaN(x) ? '-' : x.toFixed(d));
const names = variants.slice(1).map(([v]) => v);
const live = rows.filter((r) => !r.skip);
const table = [['variant', ...live.map((r) => r.engine), ...live.map((r) => `share ${r.engine}`)]];
for (const v of names) {
  const full = v.endsWith('+mv') ? 'full +mv' : 'full';
  table.push([
    v,
    ...live.map((r) => (r[v]?.ratio !== undefined ? `${fmt(r[v].ratio)}x` : 'FAIL')),
    ...live.map((r) => {
      if (v === full || v.startsWith('no-split') || r[v]?.ratio === undefined || r[full]?.ratio === undefined) return '';
      return `${fmt((100 * (r[full].ratio - r[v].ratio)) / (r[full].ratio - 1), 0)}%`;
    }),
  ]);
}
const w = table[0].map((_, i) => Math.max(...table.map((t) => String(t[i]).length)));
console.log('');
for (const t of table) console.log('  ' + t.map((c, i) => String(c).padStart(w[i])).join('  '));
console.log('\n(share: how much of full\'s slowdown over the original the variant removes)');
writeFileSync(path.join(root, 'bench/out/asyncify-breakdown.json'), JSON.stringify({ date: new Date().toISOString(), procs, warmupMs, rows }, null, 2));
console.log('results: bench/out/asyncify-breakdown.json');
