// tests/asyncify/random.mjs -- random structured programs for the compare
// scenario (run.mjs --random=N generates N of them, seeds 1..N).
//
// Each module has functions f0..fK-1 of type (i32 i32) -> i32; fi calls only
// fj with j > i (directly or through call_indirect, with the table index in
// a local), so every program terminates.  Bodies mix i32/i64/f64 locals,
// operand-stack values held across calls, if/else, blocks left with br_if,
// bounded loops, br_table, value-producing ifs and blocks, memory stores and
// loads, host logging and calls to the async host functions sleep and
// sleep_i64.  Nothing traps: no division, masked addresses, bounded loops.
// The same program is run un-instrumented with synchronous imports and
// asyncified with imports that suspend; results and host logs must match.

function rng(seed) {
  let s = (seed * 2654435761) >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}

export function generate(seed) {
  const r = rng(seed);
  const pick = (xs) => xs[Math.floor(r() * xs.length)];
  const chance = (p) => r() < p;
  const K = 3 + Math.floor(r() * 3);
  const funcs = [];

  for (let fi = 0; fi < K; fi++) {
    let fuel = 60; // expression/statement budget per function
    let asyncBudget = 4; // static async call sites per function
    let loopDepth = 0;
    const labels = [];
    let labelN = 0;
    const i32Locals = ['$p0', '$p1', '$a', '$b', '$c'];
    const i64Locals = ['$w', '$z'];
    const f64Locals = ['$d'];
    const callee = () => (fi + 1 < K ? fi + 1 + Math.floor(r() * (K - fi - 1)) : -1);

    function i32(depth) {
      fuel--;
      if (depth <= 0 || fuel <= 0) return chance(0.5) ? `(local.get ${pick(i32Locals)})` : `(i32.const ${Math.floor(r() * 200) - 50})`;
      const k = Math.floor(r() * 14);
      switch (k) {
        case 0: case 1: return `(i32.${pick(['add', 'sub', 'mul', 'xor', 'and', 'or'])} ${i32(depth - 1)} ${i32(depth - 1)})`;
        case 2:
          if (asyncBudget-- > 0) return `(i32.and (call $sleep ${i32(depth - 1)}) (i32.const 0xffff))`;
          return i32(depth - 1);
        case 3: {
          const j = callee();
          if (j < 0 || loopDepth > 1) return i32(depth - 1);
          return `(call $f${j} ${i32(depth - 1)} ${i32(depth - 1)})`;
        }
        case 4: {
          const j = callee();
          if (j < 0 || loopDepth > 1) return i32(depth - 1);
          // the index is a constant or lives in a local set just before:
          // either way it is an operand computed before the call
          if (chance(0.5)) return `(block (result i32) (local.set $idx (i32.const ${j})) (call_indirect $tab (type $ft) ${i32(depth - 1)} ${i32(depth - 1)} (local.get $idx)))`;
          return `(call_indirect $tab (type $ft) ${i32(depth - 1)} ${i32(depth - 1)} (i32.const ${j}))`;
        }
        case 5: return `(i32.wrap_i64 ${i64(depth - 1)})`;
        case 6: return `(select ${i32(depth - 1)} ${i32(depth - 1)} ${i32(depth - 1)})`;
        case 7: return `(if (result i32) ${i32(depth - 1)} (then ${i32(depth - 1)}) (else ${i32(depth - 1)}))`;
        case 8: {
          const l = `$v${labelN++}`;
          return `(block ${l} (result i32) (drop (br_if ${l} ${i32(depth - 1)} ${i32(depth - 1)})) ${i32(depth - 1)})`;
        }
        case 9: return `(i32.load (i32.and ${i32(depth - 1)} (i32.const 0xfc)))`;
        case 10: return `(i32.trunc_sat_f64_s ${f64(depth - 1)})`;
        case 11: return `(i32.shr_u ${i32(depth - 1)} (i32.and ${i32(depth - 1)} (i32.const 7)))`;
        default: return `(local.get ${pick(i32Locals)})`;
      }
    }
    function i64(depth) {
      fuel--;
      if (depth <= 0 || fuel <= 0) return chance(0.5) ? `(local.get ${pick(i64Locals)})` : `(i64.const ${Math.floor(r() * 1e12) - 5e11})`;
      switch (Math.floor(r() * 5)) {
        case 0: return `(i64.${pick(['add', 'sub', 'mul', 'xor'])} ${i64(depth - 1)} ${i64(depth - 1)})`;
        case 1: return `(i64.extend_i32_s ${i32(depth - 1)})`;
        case 2:
          if (asyncBudget-- > 0) return `(call $sleep_i64 ${i64(depth - 1)})`;
          return i64(depth - 1);
        default: return `(local.get ${pick(i64Locals)})`;
      }
    }
    function f64(depth) {
      fuel--;
      if (depth <= 0 || fuel <= 0) return chance(0.5) ? `(local.get $d)` : `(f64.const ${(r() * 100 - 50).toFixed(3)})`;
      switch (Math.floor(r() * 4)) {
        case 0: return `(f64.${pick(['add', 'sub', 'mul', 'min', 'max'])} ${f64(depth - 1)} ${f64(depth - 1)})`;
        case 1: return `(f64.convert_i32_s ${i32(depth - 1)})`;
        default: return '(local.get $d)';
      }
    }
    function stmt(depth) {
      fuel--;
      if (depth <= 0 || fuel <= 0) return `(local.set ${pick(i32Locals)} ${i32(1)})`;
      switch (Math.floor(r() * 10)) {
        case 0: return `(local.set ${pick(i32Locals)} ${i32(3)})`;
        case 1: return `(local.set ${pick(i64Locals)} ${i64(3)})`;
        case 2: return `(local.set $d ${f64(2)})`;
        case 3: return `(call $log ${i32(2)})`;
        case 4: return `(if ${i32(2)} (then ${stmts(depth - 1)}) (else ${stmts(depth - 1)}))`;
        case 5: {
          const l = `$b${labelN++}`;
          labels.push(l);
          const s = `(block ${l} ${stmts(depth - 1)} (br_if ${l} ${i32(2)}) ${stmts(depth - 1)})`;
          labels.pop();
          return s;
        }
        case 6: {
          if (loopDepth >= 2) return `(call $log ${i32(2)})`;
          const l = `$l${labelN++}`, c = `$n${loopDepth}`;
          loopDepth++;
          const body = stmts(depth - 1);
          loopDepth--;
          return `(local.set ${c} (i32.const ${1 + Math.floor(r() * 3)})) (loop ${l} ${body} (local.set ${c} (i32.sub (local.get ${c}) (i32.const 1))) (br_if ${l} (i32.gt_s (local.get ${c}) (i32.const 0))))`;
        }
        case 7: {
          const b = [`$t${labelN++}`, `$t${labelN++}`, `$t${labelN++}`];
          return `(block ${b[0]} (block ${b[1]} (block ${b[2]} (br_table ${b[2]} ${b[1]} ${b[0]} (i32.and ${i32(2)} (i32.const 3)))) ${stmts(depth - 1)}) ${stmts(depth - 1)})`;
        }
        case 8: return `(i32.store (i32.and ${i32(2)} (i32.const 0xfc)) ${i32(2)})`;
        default:
          // a value kept on the operand stack across the statements' calls
          return `(local.set ${pick(i32Locals)} (i32.add ${i32(1)} (block (result i32) ${stmts(depth - 1)} ${i32(2)})))`;
      }
    }
    function stmts(depth) {
      const n = 1 + Math.floor(r() * 3);
      const out = [];
      for (let i = 0; i < n; i++) out.push(stmt(depth));
      return out.join(' ');
    }
    const body = stmts(3);
    const ret = `(i32.add (i32.xor (local.get $a) (local.get $b)) (i32.add (i32.wrap_i64 (i64.xor (local.get $w) (local.get $z))) (i32.add (local.get $c) (i32.trunc_sat_f64_s (local.get $d)))))`;
    funcs.push(`  (func $f${fi} (export "f${fi}") (type $ft) (param $p0 i32) (param $p1 i32) (result i32)
    (local $a i32) (local $b i32) (local $c i32) (local $idx i32) (local $n0 i32) (local $n1 i32)
    (local $w i64) (local $z i64) (local $d f64)
    (local.set $a (i32.add (local.get $p0) (i32.const ${fi})))
    (local.set $w (i64.extend_i32_s (local.get $p1)))${fi === 0 ? '\n    (local.set $c (call $sleep (local.get $p1)))' : ''}
    ${body}
    ${ret})`);
  }
  const runs = [];
  for (let i = 0; i < 3; i++) runs.push(`;; run: f0 ${Math.floor(r() * 100)} ${Math.floor(r() * 100) - 50}`);
  return `;; random program, seed ${seed} (tests/asyncify/random.mjs)
${runs.join('\n')}
(module
  (type $ft (func (param i32 i32) (result i32)))
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (import "env" "sleep_i64" (func $sleep_i64 (param i64) (result i64)))
  (import "env" "log" (func $log (param i32)))
  (memory (export "memory") 1)
  (table $tab ${K} funcref)
  (elem (table $tab) (i32.const 0) func ${Array.from({ length: K }, (_, i) => `$f${i}`).join(' ')})
${funcs.join('\n')})
`;
}

// ---- rewind-argument programs (rewind-args.mjs) ---------------------------
// generateRewind(seed) -> { wat, features }: programs whose async imports
// take a call-site number as their last argument, so a host that records
// (site, args) on every visit can check that the rewind visit of a call
// sees exactly the arguments of the visit that unwound.  Arguments are
// arbitrary expressions: constants, locals (live or dead after the call),
// values computed before other async calls and held on the operand stack,
// block parameters, the two results of a multi-value call, lanes of v128
// values, externrefs (when `features.refs`), i64/f32/f64.  Functions f0..fK-1
// ($ft: (i32 i32) -> i32) call only higher-numbered ones (directly or
// through call_indirect) and themselves (bounded recursion), so every
// program terminates; nothing traps.
//
// Imports (site last):  rec_i (i32 i32 site) -> i32   rec_l (i64 i64 site) -> i64
//   rec_m (i32 i64 f32 f64 site) -> i32   rec_r (externref i32 site) -> i32
// and the synchronous mkref (i32) -> externref and log (i32).
export const REWIND_ASYNC_IMPORTS = ['env.rec_i', 'env.rec_l', 'env.rec_m', 'env.rec_r'];


export function generateRewind(seed) {
  const r = rng(seed * 7919 + 17);
  const pick = (xs) => xs[Math.floor(r() * xs.length)];
  const chance = (p) => r() < p;
  const int = (lo, hi) => lo + Math.floor(r() * (hi - lo + 1));
  const refs = chance(0.35);
  const bparams = chance(0.5); // Binaryen v108 cannot read block parameters
  const K = int(2, 5);
  let site = 0;
  const S = () => `(i32.const ${site++})`;
  const funcs = [];

  // Helpers with other signatures: multi-value results, a v128 parameter.
  funcs.push(`  (func $mv (param i32 i64) (result i32 i64)
    (call $rec_i (local.get 0) (i32.wrap_i64 (local.get 1)) ${S()})
    (call $rec_l (local.get 1) (i64.extend_i32_s (local.get 0)) ${S()}))`);
  funcs.push(`  (func $vf (param v128 i32) (result v128)
    (i64x2.add (local.get 0) (i64x2.splat (call $rec_l (i64x2.extract_lane 0 (local.get 0))
      (i64x2.extract_lane 1 (local.get 0)) (i32.add (local.get 1) ${S()})))))`);

  for (let fi = 0; fi < K; fi++) {
    let fuel = 70;
    let calls = 3; // internal call sites per function (bounds the call tree)
    let recursed = false;
    let loopDepth = 0;
    let labelN = 0;
    const I32L = ['$p0', '$p1', '$a', '$b', '$c'];
    const I64L = ['$w', '$z'];
    const callee = () => (fi + 1 < K ? int(fi + 1, K - 1) : -1);
    const leaf = () => fuel-- <= 0;

    function i32(d) {
      if (d <= 0 || leaf()) return chance(0.6) ? `(local.get ${pick(I32L)})` : `(i32.const ${int(-50, 150)})`;
      switch (int(0, 15)) {
        case 0: case 1: return `(i32.${pick(['add', 'sub', 'mul', 'xor', 'and', 'or'])} ${i32(d - 1)} ${i32(d - 1)})`;
        case 2: case 3: return `(call $rec_i ${i32(d - 1)} ${i32(d - 1)} ${S()})`;
        case 4: return `(call $rec_m ${i32(d - 1)} ${i64(d - 1)} ${f32(d - 1)} ${f64(d - 1)} ${S()})`;
        case 5: return refs ? `(call $rec_r ${ref(d - 1)} ${i32(d - 1)} ${S()})` : i32(d - 1);
        case 6: {
          const j = callee();
          if (j < 0 || calls <= 0 || loopDepth > 0) return i32(d - 1);
          calls--;
          return `(call $f${j} ${i32(d - 1)} ${i32(d - 1)})`;
        }
        case 7: {
          const j = callee();
          if (j < 0 || calls <= 0 || loopDepth > 0) return i32(d - 1);
          calls--;
          // table index computed before the call (kept across it)
          const idx = j + 1 < K ? `(i32.add (i32.const ${j}) (i32.and ${i32(d - 1)} (i32.const 1)))` : `(i32.const ${j})`;
          return `(call_indirect $tab (type $ft) ${i32(d - 1)} ${i32(d - 1)} ${idx})`;
        }
        case 8: {
          // the two results of a multi-value call as arguments
          if (calls <= 0 || loopDepth > 0) return i32(d - 1);
          calls--;
          return `(call $rec_m (call $mv ${i32(d - 1)} ${i64(d - 1)}) ${f32(d - 1)} ${f64(d - 1)} ${S()})`;
        }
        case 9: {
          // block parameters held across an async call, then arguments
          if (!bparams) return `(call $rec_i ${i32(d - 1)} (local.get ${pick(I32L)}) ${S()})`;
          return `(block (result i32) ${i32(d - 1)} ${i64(d - 1)} (block (param i32 i64) (result i32) ${stmt(1)} ${f32(d - 1)} ${f64(d - 1)} ${S()} (call $rec_m)))`;
        }
        case 10: return `(i32.wrap_i64 ${i64(d - 1)})`;
        case 11: return `(if (result i32) ${i32(d - 1)} (then ${i32(d - 1)}) (else ${i32(d - 1)}))`;
        case 12: return `(select ${i32(d - 1)} ${i32(d - 1)} ${i32(d - 1)})`;
        case 13: return `(i32.load (i32.and ${i32(d - 1)} (i32.const 0xfc)))`;
        case 14: return `(i32.trunc_sat_f64_s ${f64(d - 1)})`;
        default: {
          // a local written and read around an async call (dead after it)
          const x = pick(I32L);
          return `(block (result i32) (local.set ${x} ${i32(d - 1)}) (call $rec_i (local.get ${x}) ${i32(d - 1)} ${S()}))`;
        }
      }
    }
    function i64(d) {
      if (d <= 0 || leaf()) return chance(0.6) ? `(local.get ${pick(I64L)})` : `(i64.const ${int(-1e6, 1e6) * 1000003})`;
      switch (int(0, 6)) {
        case 0: return `(i64.${pick(['add', 'sub', 'mul', 'xor'])} ${i64(d - 1)} ${i64(d - 1)})`;
        case 1: return `(i64.extend_i32_s ${i32(d - 1)})`;
        case 2: case 3: return `(call $rec_l ${i64(d - 1)} ${i64(d - 1)} ${S()})`;
        case 4: return `(i64x2.extract_lane ${int(0, 1)} ${v128(d - 1)})`;
        default: return `(local.get ${pick(I64L)})`;
      }
    }
    function f32(d) {
      if (d <= 0 || leaf()) return chance(0.5) ? '(local.get $f)' : `(f32.const ${(int(-4000, 4000) / 8).toFixed(3)})`;
      switch (int(0, 3)) {
        case 0: return `(f32.${pick(['add', 'sub', 'mul', 'min', 'max'])} ${f32(d - 1)} ${f32(d - 1)})`;
        case 1: return `(f32.convert_i32_s ${i32(d - 1)})`;
        case 2: return `(f32.demote_f64 ${f64(d - 1)})`;
        default: return '(local.get $f)';
      }
    }
    function f64(d) {
      if (d <= 0 || leaf()) return chance(0.5) ? '(local.get $d)' : `(f64.const ${(int(-4000, 4000) / 16).toFixed(4)})`;
      switch (int(0, 3)) {
        case 0: return `(f64.${pick(['add', 'sub', 'mul', 'min', 'max'])} ${f64(d - 1)} ${f64(d - 1)})`;
        case 1: return `(f64.convert_i32_s ${i32(d - 1)})`;
        case 2: return `(f64.promote_f32 ${f32(d - 1)})`;
        default: return '(local.get $d)';
      }
    }
    function v128(d) {
      if (d <= 0 || leaf()) return chance(0.5) ? '(local.get $v)' : `(v128.const i64x2 ${int(-1e6, 1e6)} ${int(-1e6, 1e6)})`;
      switch (int(0, 3)) {
        case 0: return `(i64x2.add ${v128(d - 1)} ${v128(d - 1)})`;
        case 1: return `(i64x2.splat ${i64(d - 1)})`;
        case 2: {
          if (calls <= 0 || loopDepth > 0) return '(local.get $v)';
          calls--;
          return `(call $vf ${v128(d - 1)} ${i32(d - 1)})`;
        }
        default: return '(local.get $v)';
      }
    }
    function ref(d) {
      if (d <= 0 || leaf() || chance(0.5)) return '(local.get $r)';
      return `(call $mkref ${i32(d - 1)})`;
    }
    function stmt(d) {
      if (d <= 0 || leaf()) return `(local.set ${pick(I32L)} ${i32(1)})`;
      switch (int(0, 11)) {
        case 0: case 1: return `(local.set ${pick(I32L)} ${i32(3)})`;
        case 2: return `(local.set ${pick(I64L)} ${i64(3)})`;
        case 3: return `(local.set $f ${f32(2)})`;
        case 4: return `(local.set $d ${f64(2)})`;
        case 5: return `(local.set $v ${v128(2)})`;
        case 6: return refs ? `(local.set $r ${ref(2)})` : `(call $log ${i32(2)})`;
        case 7: return `(if ${i32(2)} (then ${stmts(d - 1)}) (else ${stmts(d - 1)}))`;
        case 8: {
          const l = `$b${labelN++}`;
          return `(block ${l} ${stmts(d - 1)} (br_if ${l} ${i32(2)}) ${stmts(d - 1)})`;
        }
        case 9: {
          if (loopDepth >= 2) return `(call $log ${i32(2)})`;
          const l = `$l${labelN++}`, c = `$n${loopDepth}`;
          loopDepth++;
          const body = stmts(d - 1);
          loopDepth--;
          return `(local.set ${c} (i32.const ${int(1, 3)})) (loop ${l} ${body} (local.set ${c} (i32.sub (local.get ${c}) (i32.const 1))) (br_if ${l} (i32.gt_s (local.get ${c}) (i32.const 0))))`;
        }
        case 10: {
          if (recursed || loopDepth > 0) return `(i32.store (i32.and ${i32(2)} (i32.const 0xfc)) ${i32(2)})`;
          recursed = true;
          // bounded recursion: $dep = p1 & 3 on entry, never written after
          return `(if (i32.gt_s (local.get $dep) (i32.const 0)) (then (local.set $c (call $f${fi} ${i32(2)} (i32.sub (local.get $dep) (i32.const 1))))))`;
        }
        default: return `(i32.store (i32.and ${i32(2)} (i32.const 0xfc)) ${i32(2)})`;
      }
    }
    function stmts(d) {
      const n = int(1, 3);
      const out = [];
      for (let i = 0; i < n; i++) out.push(stmt(d));
      return out.join(' ');
    }
    const body = stmts(3);
    const ret = `(i32.add (i32.xor (local.get $a) (local.get $b)) (i32.add (i32.wrap_i64 (i64.xor (local.get $w) (i64x2.extract_lane 1 (local.get $v)))) (i32.add (local.get $c) (i32.add (i32.trunc_sat_f32_s (local.get $f)) (i32.trunc_sat_f64_s (local.get $d))))))`;
    funcs.push(`  (func $f${fi} (export "f${fi}") (type $ft) (param $p0 i32) (param $p1 i32) (result i32)
    (local $a i32) (local $b i32) (local $c i32) (local $n0 i32) (local $n1 i32) (local $dep i32)
    (local $w i64) (local $z i64) (local $f f32) (local $d f64) (local $v v128)${refs ? ' (local $r externref)' : ''}
    (local.set $dep (i32.and (local.get $p1) (i32.const 3)))
    (local.set $a (i32.add (local.get $p0) (i32.const ${fi})))
    (local.set $w (i64.extend_i32_s (local.get $p1)))${refs ? '\n    (local.set $r (call $mkref (local.get $p0)))' : ''}
    ${body}
    ${ret})`);
  }
  const runs = [];
  for (let i = 0; i < 3; i++) runs.push([int(0, 99), int(-50, 50)]);
  const wat = `;; rewind-argument program, seed ${seed} (tests/asyncify/random.mjs)
(module
  (type $ft (func (param i32 i32) (result i32)))
  (import "env" "rec_i" (func $rec_i (param i32 i32 i32) (result i32)))
  (import "env" "rec_l" (func $rec_l (param i64 i64 i32) (result i64)))
  (import "env" "rec_m" (func $rec_m (param i32 i64 f32 f64 i32) (result i32)))
${refs ? `  (import "env" "rec_r" (func $rec_r (param externref i32 i32) (result i32)))
  (import "env" "mkref" (func $mkref (param i32) (result externref)))
` : ''}  (import "env" "log" (func $log (param i32)))
  (memory (export "memory") 1)
  (table $tab ${K} funcref)
  (elem (table $tab) (i32.const 0) func ${Array.from({ length: K }, (_, i) => `$f${i}`).join(' ')})
${funcs.join('\n')})
`;
  return { wat, runs, refs, bparams };
}
