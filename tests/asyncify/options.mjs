// tests/asyncify/options.mjs -- what `wasync asyncify` promises about its
// options and its output's form, checked on small modules:
//   features  the output uses multi-value only when the input uses or
//             declares it (target_features "+multivalue") or when asked
//             (--enable-multivalue, --all-features); --mvp-features and
//             --disable-multivalue forbid it.  Checked with wabt's
//             wasm-validate --disable-multi-value (it rejects the output
//             exactly when the output uses multi-value), and the MVP output
//             is run: it must suspend and resume like the original.
//   names     every function the pass adds has a name in the name section,
//             unique in the module.
//   verbose   --pass-arg=asyncify-verbose prints Binaryen's lines
//             ("[asyncify] NAME can change the state due to REASON").
//   lists     a list entry that matches nothing is a warning on stderr (one
//             line per list), an error with --strict-lists (exit 1, no
//             output); --quiet-imports drops the import-list check.
//   why       --why takes a function name, an export name or an index.
//   size      --size-report: input/output sizes are the files' sizes, the
//             categories add up to the bytes added, the output is the same
//             as without it.
// Prints `asyncify-options: N passed, N failed`; exits 1 on any failure.
// WASYNC=PATH tests another binary than build/wasync.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const wasync = process.env.WASYNC ? resolve(process.env.WASYNC) : join(root, 'build/wasync');
const tmp = mkdtempSync(join(tmpdir(), 'wasync-options-'));
let passed = 0;
let failed = 0;

function check(name, ok, detail = '') {
  if (ok) {
    passed++;
    console.log(`ok ${name}`);
  } else {
    failed++;
    console.log(`FAIL ${name}${detail ? ': ' + detail : ''}`);
  }
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  return r;
}

function wat(name, text, extra = []) {
  const src = join(tmp, `${name}.wat`);
  const out = join(tmp, `${name}.wasm`);
  writeFileSync(src, text);
  const r = run('wat2wasm', ['--debug-names', ...extra, src, '-o', out]);
  if (r.status !== 0) throw new Error(`wat2wasm ${name}: ${r.stderr}`);
  return out;
}

function asyncify(input, args, out = join(tmp, 'out.wasm')) {
  rmSync(out, { force: true });
  const r = run(wasync, ['asyncify', input, '-o', out, ...args]);
  return { ...r, out, wrote: existsSync(out) };
}

// Appends a custom section (name, payload bytes) to a module.
function withCustom(file, name, payload) {
  const bytes = readFileSync(file);
  const nameBytes = Buffer.from(name);
  const body = Buffer.concat([Buffer.from([nameBytes.length]), nameBytes, Buffer.from(payload)]);
  const out = file.replace(/\.wasm$/, `-${name}.wasm`);
  writeFileSync(out, Buffer.concat([bytes, Buffer.from([0, body.length]), body]));
  return out;
}

const mvpValid = (file) => run('wasm-validate', ['--disable-multi-value', file]).status === 0;
const valid = (file) => run('wasm-validate', [file]).status === 0;

// Reads the function names subsection of the name section.
function functionNames(file) {
  const mod = new WebAssembly.Module(readFileSync(file));
  const secs = WebAssembly.Module.customSections(mod, 'name');
  const names = new Map();
  if (secs.length === 0) return names;
  const b = new Uint8Array(secs[0]);
  let p = 0;
  const u32 = () => {
    let v = 0;
    let shift = 0;
    for (;;) {
      const x = b[p++];
      v += (x & 0x7f) * 2 ** shift;
      shift += 7;
      if (!(x & 0x80)) return v;
    }
  };
  while (p < b.length) {
    const id = b[p++];
    const size = u32();
    const end = p + size;
    if (id === 1) {
      const n = u32();
      for (let i = 0; i < n; i++) {
        const idx = u32();
        const len = u32();
        names.set(idx, Buffer.from(b.subarray(p, p + len)).toString());
        p += len;
      }
    }
    p = end;
  }
  return names;
}

// Runs EXPORT(args) with env.sleep(n) suspending once and resuming with
// n * 3: { result: { v, unwinds } } or { detail }.
function pauseAndResume(file, name, args) {
  try {
    let pending = 0;
    let instance;
    const DATA = 16;
    const imports = {
      env: {
        sleep(n) {
          const ex = instance.exports;
          if (ex.asyncify_get_state() === 2) {
            ex.asyncify_stop_rewind();
            return pending;
          }
          pending = n * 3;
          const view = new DataView(ex.memory.buffer);
          view.setUint32(DATA, DATA + 8, true);
          view.setUint32(DATA + 4, 1024, true);
          ex.asyncify_start_unwind(DATA);
          return 0;
        },
      },
    };
    instance = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(file)), imports);
    const ex = instance.exports;
    let v = ex[name](...args);
    let unwinds = 0;
    while (ex.asyncify_get_state() === 1) {
      unwinds++;
      ex.asyncify_stop_unwind();
      ex.asyncify_start_rewind(DATA);
      v = ex[name](...args);
    }
    return { result: { v, unwinds }, detail: `${v} after ${unwinds} unwinds` };
  } catch (e) {
    return { detail: String(e) };
  }
}

function countFunctions(file) {
  const r = run('wasm-objdump', ['-h', file]);
  const m = /Function start=.*count: (\d+)/.exec(r.stdout);
  const imports = (run('wasm-objdump', ['-j', 'Import', '-x', file]).stdout.match(/ - func\[/g) || []).length;
  return (m ? Number(m[1]) : 0) + imports;
}

// --- a module whose frames need the shared push/pop and a save/restore
// pair (two numeric locals live across the call)
const frames = wat('frames', `(module
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (memory (export "memory") 1)
  (func $work (export "work") (param $n i32) (param $big i64) (result i64)
    (local $d f64)
    (local.set $d (f64.convert_i32_s (local.get $n)))
    (drop (call $sleep (local.get $n)))
    (i64.add (local.get $big) (i64.trunc_f64_s (f64.mul (local.get $d) (f64.const 2))))))`);

try {
  // ---- features
  let r = asyncify(frames, []);
  check('features: MVP input -> MVP output (wasm-validate --disable-multi-value)', r.status === 0 && mvpValid(r.out), r.stderr);
  r = asyncify(frames, ['--mvp-features']);
  check('features: --mvp-features -> MVP output', r.status === 0 && mvpValid(r.out), r.stderr);
  r = asyncify(frames, ['--enable-multivalue']);
  check('features: --enable-multivalue -> output uses multi-value', r.status === 0 && valid(r.out) && !mvpValid(r.out), r.stderr);
  r = asyncify(frames, ['--all-features']);
  check('features: --all-features -> output uses multi-value', r.status === 0 && valid(r.out) && !mvpValid(r.out), r.stderr);
  r = asyncify(frames, ['--enable-multivalue', '--mvp-features']);
  check('features: the last of --enable-multivalue / --mvp-features wins', r.status === 0 && mvpValid(r.out), r.stderr);
  // target_features: count 1, '+', "multivalue"
  const declared = withCustom(frames, 'target_features', [1, 0x2b, 10, ...Buffer.from('multivalue')]);
  r = asyncify(declared, []);
  check('features: target_features +multivalue -> output may use multi-value', r.status === 0 && valid(r.out) && !mvpValid(r.out), r.stderr);
  r = asyncify(declared, ['--disable-multivalue']);
  check('features: --disable-multivalue overrides target_features', r.status === 0 && mvpValid(r.out), r.stderr);
  const undeclared = withCustom(frames, 'target_features', [1, 0x2d, 10, ...Buffer.from('multivalue')]);
  r = asyncify(undeclared, []);
  check('features: target_features -multivalue -> MVP output', r.status === 0 && mvpValid(r.out), r.stderr);
  const usesMv = wat('usesmv', `(module
    (import "env" "sleep" (func $sleep (param i32) (result i32)))
    (memory 1)
    (func $pair (export "pair") (param i32 i64) (result i32 i64)
      (local f64)
      (local.set 2 (f64.convert_i32_s (local.get 0)))
      (drop (call $sleep (local.get 0)))
      (i32.trunc_f64_s (local.get 2)) (local.get 1)))`);
  r = asyncify(usesMv, []);
  check('features: input with a multi-result type -> output may use multi-value', r.status === 0 && valid(r.out) && !mvpValid(r.out), r.stderr);

  // The MVP output suspends and resumes (a real pause through memory).
  for (const [label, args] of [['MVP', []], ['multi-value', ['--enable-multivalue']]]) {
    r = asyncify(frames, args, join(tmp, `run-${label}.wasm`));
    const got = pauseAndResume(r.out, 'work', [21, 1000n]);
    check(`features: the ${label} output pauses and resumes`, got.result && got.result.v === 1042n && got.result.unwinds === 1, got.detail);
  }

  // ---- the add-list with --ignore-indirect (Emscripten's ASYNCIFY_ADD +
  // ASYNCIFY_IGNORE_INDIRECT): $via suspends through an indirect call; as an
  // add-listed function it can change the state, so $mid's direct call of
  // it is a call site (a missed one re-runs $mid from the top on the
  // rewind: $leaf is called again and the frames no longer match).
  const addlist = wat('addlist', `(module
    (import "env" "sleep" (func $sleep (param i32) (result i32)))
    (memory (export "memory") 1)
    (type $t (func (param i32) (result i32)))
    (table 1 funcref)
    (elem (i32.const 0) $leaf)
    (func $leaf (param i32) (result i32) (i32.add (call $sleep (local.get 0)) (i32.const 1)))
    (func $via (param i32) (result i32) (call_indirect (type $t) (local.get 0) (i32.const 0)))
    (func $mid (export "work") (param i32) (param i64) (result i64)
      (local i32)
      (local.set 2 (call $leaf (local.get 0)))
      (i64.add (local.get 1) (i64.extend_i32_u (i32.add (local.get 2)
        (call $via (i32.mul (local.get 0) (i32.const 2))))))))`);
  r = asyncify(addlist, ['--ignore-indirect', '--add-list', 'via,mid', '--asserts', '--imports', 'env.sleep']);
  {
    const got = r.status === 0 ? pauseAndResume(r.out, 'work', [7, 1000n]) : { detail: r.stderr };
    check('add-list: a call of an add-listed function is a call site (ignore-indirect, asserts)', got.result && got.result.v === 1065n && got.result.unwinds === 2, got.detail);
  }

  // ---- names of added functions
  for (const [label, args] of [['MVP', []], ['multi-value', ['--enable-multivalue']], ['split rewind', ['--split-rewind=1']]]) {
    r = asyncify(frames, args);
    const names = functionNames(r.out);
    const n = countFunctions(r.out);
    const missing = [];
    for (let f = 0; f < n; f++) if (!names.has(f)) missing.push(f);
    const unique = new Set(names.values()).size === names.size;
    check(`names (${label}): all ${n} functions named, uniquely`, r.status === 0 && n > 3 && missing.length === 0 && unique,
      `missing ${missing.join(',')}; names ${[...names.values()].join(',')}`);
    if (label === 'MVP')
      check('names: runtime and frame functions by role', ['asyncify_start_unwind', 'asyncify_get_state', '__asyncify_frame_push', '__asyncify_frame_pop'].every((x) => [...names.values()].includes(x)) &&
        [...names.values()].some((x) => /^__asyncify_(save|store)_(\d+i32_)?1i64_1f64$/.test(x)), [...names.values()].join(','));
  }
  // An existing function already named like an added one: a suffix.
  const clash = wat('clash', `(module
    (import "env" "sleep" (func $sleep (param i32)))
    (func $asyncify_start_unwind (export "f") (call $sleep (i32.const 1))))`);
  r = asyncify(clash, []);
  {
    const names = [...functionNames(r.out).values()];
    check('names: a clash with an existing name gets a suffix', r.status === 0 && names.includes('asyncify_start_unwind') && names.includes('asyncify_start_unwind_1') && new Set(names).size === names.length, names.join(','));
  }
  // Without a name section: one is written for the added functions.
  const nameless = join(tmp, 'nameless.wasm');
  {
    const src = join(tmp, 'clash.wat');
    const rr = run('wat2wasm', [src, '-o', nameless]);
    if (rr.status !== 0) throw new Error(rr.stderr);
    r = asyncify(nameless, []);
    const names = functionNames(r.out);
    check('names: a module without names gets names for the added functions', r.status === 0 && [...names.values()].includes('asyncify_start_unwind') && !names.has(0) && !names.has(1) && names.size === countFunctions(r.out) - 2, JSON.stringify([...names]));
  }

  // ---- Binaryen's verbose format
  const graph = wat('graph', `(module
    (import "env" "sleep" (func $sleep (param i32)))
    (import "env" "other" (func $other))
    (type $t (func (param i32)))
    (table 2 funcref)
    (elem (i32.const 0) $leaf $mid)
    (func $leaf (param i32) (call $sleep (local.get 0)))
    (func $mid (param i32) (call $leaf (local.get 0)))
    (func $top (export "top") (call $mid (i32.const 1)) (call_indirect (type $t) (i32.const 3) (i32.const 0)))
    (func $pure (export "pure") (call $other))
    (func $added (export "added") (nop)))`);
  {
    const rr = run('wat2wasm', [join(tmp, 'graph.wat'), '-o', join(tmp, 'graph-nameless.wasm')]);
    if (rr.status !== 0) throw new Error(rr.stderr);
  }
  const V = '--pass-arg=asyncify-verbose';
  const can = (f, why) => `${f} can change the state due to ${why}`;
  const imp = (f) => `${f} is an import that can change the state`;
  const only = (f, v) => `${f}'s state is set based on the only-list to ${v}`;
  for (const [label, file, args, lines, tail] of [
    ['imports then the scan then each wave of callers', graph, ['--pass-arg=asyncify-imports@env.sleep'],
      [imp('sleep'), can('leaf', 'sleep'), can('top', 'initial scan'), can('mid', 'leaf')]],
    ['add-list and remove-list', graph, ['--pass-arg=asyncify-addlist@added', '--pass-arg=asyncify-removelist@mid'],
      [imp('sleep'), imp('other'), can('leaf', 'sleep'), can('top', 'initial scan'), can('pure', 'other'), 'added is in the add-list, add']],
    ['only-list', graph, ['--pass-arg=asyncify-onlylist@top,leaf'],
      [only('leaf', 1), only('mid', 0), only('top', 1), only('pure', 0), only('added', 0)], true],
    ["Binaryen's default names without a name section", join(tmp, 'graph-nameless.wasm'), ['--pass-arg=asyncify-imports@env.sleep'],
      [imp('fimport$0'), can('0', 'fimport$0'), can('2', 'initial scan'), can('1', '0')]],
  ]) {
    r = asyncify(file, [V, ...args]);
    const want = lines.map((l) => `[asyncify] ${l}\n`).join('');
    check(`verbose: ${label}`, tail ? r.stdout.endsWith(want) : r.stdout === want, r.stdout);
  }
  r = asyncify(graph, ['--verbose', '--imports', 'env.sleep']);
  check('verbose: --verbose names functions by their names', /instrumented: mid\n/.test(r.stdout) && /instrumented: top\n/.test(r.stdout), r.stdout);

  // ---- lists
  r = asyncify(graph, ['--imports', 'env.sleep,env.nosuch,env.typo*', '--remove-list', 'mid,ghost']);
  check('lists: unmatched entries are warnings, one line per list',
    r.status === 0 && r.wrote &&
    r.stderr.includes('warning: 2 import-list entries match no import: env.nosuch, env.typo*') &&
    r.stderr.includes('warning: 1 remove-list entry matches no function: ghost') &&
    r.stderr.trim().split('\n').length === 2, r.stderr);
  r = asyncify(graph, ['--pass-arg=asyncify-addlist@added,nothere', '--pass-arg=asyncify-imports@env.sleep']);
  check('lists: add-list warning (Binaryen spelling)', r.status === 0 && r.stderr.includes('1 add-list entry matches no function: nothere'), r.stderr);
  r = asyncify(graph, ['--only-list', 'top,nothere']);
  check('lists: only-list warning', r.status === 0 && r.stderr.includes('1 only-list entry matches no function: nothere'), r.stderr);
  r = asyncify(graph, ['--imports', 'env.sleep', '--add-list', 'le*', '--remove-list', 'pure']);
  check('lists: patterns and names that match give no warning', r.status === 0 && r.stderr === '', r.stderr);
  r = asyncify(join(tmp, 'graph-nameless.wasm'), ['--imports', 'env.sleep', '--add-list', '$2,3']);
  check('lists: an unnamed function by index or $index gives no warning', r.status === 0 && r.stderr === '', r.stderr);
  r = asyncify(graph, ['--imports', 'env.nosuch', '--quiet-imports']);
  check('lists: --quiet-imports', r.status === 0 && r.stderr === '', r.stderr);
  r = asyncify(graph, ['--strict-lists', '--remove-list', 'ghost']);
  check('lists: --strict-lists makes it an error, no output', r.status === 1 && !r.wrote && /remove-list entry 'ghost' matches no function/.test(r.stderr), r.stderr);
  r = asyncify(graph, ['--strict-lists', '--imports', 'env.sleep,env.nosuch']);
  check('lists: --strict-lists on the import list', r.status === 1 && !r.wrote && /import-list entry 'env.nosuch' matches no import/.test(r.stderr), r.stderr);

  // ---- --why
  r = asyncify(graph, ['--imports', 'env.sleep', '--why', 'mid']);
  check('why: by function name', r.stdout.startsWith('mid is instrumented:\n  mid calls leaf\n'), r.stdout);
  r = asyncify(graph, ['--imports', 'env.sleep', '--why', 'top']);
  check('why: by export name (here equal to the name)', r.stdout.startsWith('top is instrumented:'), r.stdout);
  r = asyncify(join(tmp, 'graph-nameless.wasm'), ['--imports', 'env.sleep', '--why', 'top']);
  check('why: by export name without a name section', r.stdout.startsWith('4 is instrumented:'), r.stdout);
  r = asyncify(graph, ['--imports', 'env.sleep', '--why', '3']);
  check('why: by index even where functions have names', r.stdout.startsWith('mid is instrumented:'), r.stdout);
  r = asyncify(graph, ['--imports', 'env.sleep', '--why', 'nosuch']);
  check('why: an unknown name says so', /nosuch: no such function/.test(r.stdout), r.stdout);

  // ---- --size-report
  for (const [label, file, args] of [['frames', frames, []], ['graph', graph, ['--imports', 'env.sleep']]]) {
    const plain = readFileSync(asyncify(file, args).out);
    r = asyncify(file, [...args, '--size-report']);
    const out = readFileSync(r.out);
    const head = /^size report: input (\d+) bytes, output (\d+) bytes \([\d.]+x\), added (-?\d+)$/m.exec(r.stdout);
    const rows = [...r.stdout.matchAll(/^  (\S.*?)\s+(-?\d+)\s+-?[\d.]+%\s+-?[\d.]+%$/gm)];
    const sum = rows.reduce((a, m) => a + Number(m[2]), 0);
    check(`size-report (${label}): sizes are the files', categories add up`,
      r.status === 0 && head && Number(head[1]) === readFileSync(file).length && Number(head[2]) === out.length &&
      Number(head[3]) === out.length - readFileSync(file).length && rows.length >= 5 && sum === Number(head[3]) &&
      rows.some((m) => m[1].startsWith('save block') && Number(m[2]) > 0) && /functions adding the most:\n\s+\d+\s+\d+ sites\s+\S/.test(r.stdout),
      r.stdout + r.stderr);
    check(`size-report (${label}): the same output as without it`, Buffer.compare(plain, out) === 0);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

console.log(`asyncify-options: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
