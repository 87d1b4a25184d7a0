// wast-runner.mjs -- runs one wast2json command list in this process's V8.
//
// run(commands, { resolve, compile, scriptName }) walks the commands in order
// and returns one status per command index:
//   'pass'             the command did what the script asserts
//   'fail: <why>'      it did not (V8 and the script disagree, or a module
//                      from an earlier command is missing)
//   'skip: <why>'      not runnable here, identically in every run: v128
//                      values cannot cross the JS boundary, text modules need
//                      a text parser, unknown command kinds
// resolve(filename) gives the path of a command's module (the caller maps
// it to the original or the transformed file); compile(path) returns a
// cached WebAssembly.Module or throws.
//
// The host: a fresh `spectest` instance per run (print*, global_i32 = 666,
// global_i64 = 666n, global_f32/f64 = 666.6, table 10..20 funcref, memory
// 1..2, shared_memory 1..2 shared), `register`ed instances by name, and
// `ref.extern N` / `ref.host N` mapped to one JS object per N (the same
// object for both, so internalize/externalize round trips compare equal).
// Values: i64 as BigInt, f32/f64 compared bit-exactly via typed arrays
// (nan:canonical = quiet NaN with zero payload, nan:arithmetic = quiet bit
// set, either sign), multi-value results as arrays, a reference result
// without "value" = any non-null reference.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);

class NotRunnable extends Error {}
class HarnessError extends Error {}

function f32FromBits(v) {
  u32[0] = Number(BigInt.asUintN(32, BigInt(v)));
  return f32[0];
}
function f64FromBits(v) {
  u64[0] = BigInt.asUintN(64, BigInt(v));
  return f64[0];
}
function bitsOfF32(x) {
  f32[0] = x;
  return u32[0];
}
function bitsOfF64(x) {
  f64[0] = x;
  return u64[0];
}

const REF_TYPES = new Set([
  'externref', 'hostref', 'funcref', 'anyref', 'eqref', 'structref', 'arrayref', 'i31ref', 'exnref',
  'nullref', 'nullfuncref', 'nullexternref', 'nullexnref', 'refnull',
]);

function makeSpectest() {
  const print = () => {};
  return {
    print, print_i32: print, print_i64: print, print_f32: print, print_f64: print,
    print_i32_f32: print, print_f64_f64: print,
    global_i32: new WebAssembly.Global({ value: 'i32', mutable: false }, 666),
    global_i64: new WebAssembly.Global({ value: 'i64', mutable: false }, 666n),
    global_f32: new WebAssembly.Global({ value: 'f32', mutable: false }, 666.6),
    global_f64: new WebAssembly.Global({ value: 'f64', mutable: false }, 666.6),
    table: new WebAssembly.Table({ initial: 10, maximum: 20, element: 'anyfunc' }),
    memory: new WebAssembly.Memory({ initial: 1, maximum: 2 }),
    shared_memory: new WebAssembly.Memory({ initial: 1, maximum: 2, shared: true }),
    ...table64(),
  };
}

function table64() {
  try {
    return { table64: new WebAssembly.Table({ initial: 10n, maximum: 20n, element: 'anyfunc', address: 'i64' }) };
  } catch {
    return {};
  }
}

// ---- bit-exact floats and v128 ----------------------------------------------
// A float crossing the JS boundary may lose its NaN payload (signalling NaNs
// get quieted), and a v128 cannot cross it at all.  So an invoke whose
// parameters and results are all numbers or v128, with at least one float or
// v128, goes through a tiny wrapper module: it imports the function, takes
// f32/f64 parameters as i32/i64 bit patterns and each v128 as four i32 lanes,
// converts them, calls, and converts the results back the same way.  Float
// results then come back as { bits }, v128 results as { v128: Uint8Array }.

// exnref cannot cross the boundary either: as a result it comes back as
// ref.is_null (an i32), then as { isNull }.
const VT = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b, exnref: 0x69, nullexnref: 0x74 };
const AS_INT = {
  i32: ['i32'], i64: ['i64'], f32: ['i32'], f64: ['i64'], v128: ['i32', 'i32', 'i32', 'i32'],
  exnref: ['i32'], nullexnref: ['i32'],
};
const EXN = new Set(['exnref', 'nullexnref']);

function uleb(n) {
  const out = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}
const vec = (items) => [...uleb(items.length), ...items.flat()];
const section = (id, bytes) => [id, ...uleb(bytes.length), ...bytes];
const nameBytes = (s) => vec([...Buffer.from(s)].map((b) => [b]));

const wrapperModules = new Map();
function wrapperModule(params, results) {
  const key = `${params.join(',')}->${results.join(',')}`;
  if (wrapperModules.has(key)) return wrapperModules.get(key);
  const functype = (ps, rs) => [0x60, ...vec(ps.map((t) => [VT[t]])), ...vec(rs.map((t) => [VT[t]]))];
  const flatParams = params.flatMap((t) => AS_INT[t]);
  const flatResults = results.flatMap((t) => AS_INT[t]);
  const body = [];
  body.push(...vec(results.map((t) => [1, VT[t]]))); // one local per result
  let p = 0;
  for (const t of params) {
    if (t === 'v128') {
      body.push(0xfd, 12, ...new Array(16).fill(0)); // v128.const 0
      for (let k = 0; k < 4; k++) body.push(0x20, ...uleb(p++), 0xfd, 28, k); // i32x4.replace_lane k
      continue;
    }
    body.push(0x20, ...uleb(p++));
    if (t === 'f32') body.push(0xbe); // f32.reinterpret_i32
    if (t === 'f64') body.push(0xbf); // f64.reinterpret_i64
  }
  body.push(0x10, 0); // call 0
  const base = flatParams.length;
  for (let i = results.length - 1; i >= 0; i--) body.push(0x21, ...uleb(base + i));
  results.forEach((t, i) => {
    if (t === 'v128') {
      for (let k = 0; k < 4; k++) body.push(0x20, ...uleb(base + i), 0xfd, 27, k); // i32x4.extract_lane k
      return;
    }
    body.push(0x20, ...uleb(base + i));
    if (EXN.has(t)) body.push(0xd1); // ref.is_null
    if (t === 'f32') body.push(0xbc); // i32.reinterpret_f32
    if (t === 'f64') body.push(0xbd); // i64.reinterpret_f64
  });
  body.push(0x0b);
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, vec([functype(params, results), functype(flatParams, flatResults)])),
    ...section(2, vec([[...nameBytes('m'), ...nameBytes('f'), 0x00, 0]])),
    ...section(3, vec([[1]])),
    ...section(7, vec([[...nameBytes('w'), 0x00, 1]])),
    ...section(10, vec([[...uleb(body.length), ...body]])),
  ];
  const mod = new WebAssembly.Module(new Uint8Array(bytes));
  wrapperModules.set(key, mod);
  return mod;
}

const LANES = { i8: [16, 8], i16: [8, 16], i32: [4, 32], i64: [2, 64], f32: [4, 32], f64: [2, 64] };

// The 16 bytes of a v128 value given as lanes (little-endian).
function v128Bytes(v) {
  const [n, bits] = LANES[v.lane_type] || [];
  if (!n || !Array.isArray(v.value) || v.value.length !== n) throw new NotRunnable('v128 literal');
  const bytes = new Uint8Array(16);
  const dv = new DataView(bytes.buffer);
  v.value.forEach((x, i) => {
    const b = BigInt.asUintN(bits, BigInt(x));
    for (let k = 0; k < bits / 8; k++) dv.setUint8(i * (bits / 8) + k, Number((b >> BigInt(8 * k)) & 0xffn));
  });
  return bytes;
}

// Does a v128 result (16 bytes) match an expected v128 (lanes, NaN patterns)?
function v128Matches(e, bytes) {
  const [n, bits] = LANES[e.lane_type] || [];
  if (!n || !Array.isArray(e.value) || e.value.length !== n) throw new NotRunnable('v128 expectation');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, 16);
  for (let i = 0; i < n; i++) {
    let got = 0n;
    for (let k = bits / 8 - 1; k >= 0; k--) got = (got << 8n) | BigInt(dv.getUint8(i * (bits / 8) + k));
    const x = e.value[i];
    if (x === 'nan:canonical' || x === 'nan:arithmetic') {
      const exp = bits === 32 ? 0x7f800000n : 0x7ff0000000000000n;
      const quiet = bits === 32 ? 0x00400000n : 0x0008000000000000n;
      const abs = got & (bits === 32 ? 0x7fffffffn : 0x7fffffffffffffffn);
      if (x === 'nan:canonical' && abs !== (exp | quiet)) return false;
      if (x === 'nan:arithmetic' && (abs & (exp | quiet)) !== (exp | quiet)) return false;
      continue;
    }
    if (got !== BigInt.asUintN(bits, BigInt(x))) return false;
  }
  return true;
}

// Returns a function taking the JSON argument values and returning results
// (floats as { bits }, v128 as { v128 }), or null when the signature has
// references or needs no wrapper.
const wrappers = new WeakMap();
function wrapperFor(fn, params, results) {
  const all = [...params, ...results];
  if (!all.every((t) => t in VT) || !all.some((t) => t !== 'i32' && t !== 'i64')) return null;
  if (params.some((t) => EXN.has(t))) return null;
  const key = `${params.join(',')}->${results.join(',')}`;
  let perFn = wrappers.get(fn);
  if (!perFn) wrappers.set(fn, (perFn = new Map()));
  if (!perFn.has(key)) {
    let w = null;
    try {
      w = new WebAssembly.Instance(wrapperModule(params, results), { m: { f: fn } }).exports.w;
    } catch {
      w = null; // not a wasm function of exactly this type: call it directly
    }
    perFn.set(key, w);
  }
  const w = perFn.get(key);
  if (!w) return null;
  return (args) => {
    const flat = [];
    for (const v of args) {
      if (v.type === 'f32') flat.push(Number(BigInt.asIntN(32, BigInt(v.value))));
      else if (v.type === 'f64') flat.push(BigInt.asIntN(64, BigInt(v.value)));
      else if (v.type === 'i32') flat.push(Number(BigInt.asIntN(32, BigInt(v.value))));
      else if (v.type === 'i64') flat.push(BigInt.asIntN(64, BigInt(v.value)));
      else {
        const dv = new DataView(v128Bytes(v).buffer);
        for (let k = 0; k < 4; k++) flat.push(dv.getInt32(4 * k, true));
      }
    }
    let r = w(...flat);
    const nflat = results.reduce((a, t) => a + AS_INT[t].length, 0);
    if (nflat === 0) return r;
    r = nflat === 1 ? [r] : Array.from(r);
    const out = [];
    let i = 0;
    for (const t of results) {
      if (EXN.has(t)) out.push({ isNull: r[i++] === 1 });
      else if (t === 'f32') out.push({ bits: r[i++] >>> 0 });
      else if (t === 'f64') out.push({ bits: BigInt.asUintN(64, r[i++]) });
      else if (t === 'v128') {
        const bytes = new Uint8Array(16);
        const dv = new DataView(bytes.buffer);
        for (let k = 0; k < 4; k++) dv.setInt32(4 * k, r[i++], true);
        out.push({ v128: bytes });
      } else out.push(r[i++]);
    }
    return results.length === 1 ? out[0] : out;
  };
}

export function run(commands, { resolve, compile, scriptName = '' }) {
  const hosts = new Map();
  const host = (n) => {
    if (!hosts.has(n)) hosts.set(n, { hostref: n });
    return hosts.get(n);
  };
  const spectest = makeSpectest();
  const registry = new Map([['spectest', spectest]]);
  const named = new Map();
  let current = null;

  const toJS = (v) => {
    switch (v.type) {
      case 'i32': return Number(BigInt.asIntN(32, BigInt(v.value)));
      case 'i64': return BigInt.asIntN(64, BigInt(v.value));
      case 'f32': return f32FromBits(v.value);
      case 'f64': return f64FromBits(v.value);
      case 'v128': throw new NotRunnable('v128 value');
      default:
        if (!REF_TYPES.has(v.type)) throw new NotRunnable(`value type ${v.type}`);
        if (v.value === undefined || v.value === 'null') {
          if (v.value === undefined) throw new NotRunnable(`non-null ${v.type} argument`);
          return null;
        }
        if (v.type === 'externref' || v.type === 'hostref' || v.type === 'anyref') return host(Number(v.value));
        throw new NotRunnable(`${v.type} argument ${v.value}`);
    }
  };

  const matches = (e, got) => {
    switch (e.type) {
      case 'i32':
        return typeof got === 'number' && got >>> 0 === Number(BigInt.asUintN(32, BigInt(e.value)));
      case 'i64':
        return typeof got === 'bigint' && BigInt.asUintN(64, got) === BigInt.asUintN(64, BigInt(e.value));
      case 'f32': {
        if (typeof got !== 'number' && typeof got?.bits !== 'number') return false;
        const b = typeof got === 'number' ? bitsOfF32(got) : got.bits;
        if (e.value === 'nan:canonical') return (b & 0x7fffffff) === 0x7fc00000;
        if (e.value === 'nan:arithmetic') return (b & 0x7fc00000) === 0x7fc00000;
        return b === Number(BigInt.asUintN(32, BigInt(e.value)));
      }
      case 'f64': {
        if (typeof got !== 'number' && typeof got?.bits !== 'bigint') return false;
        const b = typeof got === 'number' ? bitsOfF64(got) : got.bits;
        if (e.value === 'nan:canonical') return (b & 0x7fffffffffffffffn) === 0x7ff8000000000000n;
        if (e.value === 'nan:arithmetic') return (b & 0x7ff8000000000000n) === 0x7ff8000000000000n;
        return b === BigInt.asUintN(64, BigInt(e.value));
      }
      case 'either':
        return e.values.some((x) => matches(x, got));
      case 'v128':
        if (!(got?.v128 instanceof Uint8Array)) throw new NotRunnable('v128 result');
        return v128Matches(e, got.v128);
      case 'refnull':
        return got === null || got?.isNull === true;
      default:
        if (!REF_TYPES.has(e.type)) throw new NotRunnable(`result type ${e.type}`);
        if (got && typeof got.isNull === 'boolean') return e.value === 'null' ? got.isNull : e.value === undefined && !got.isNull;
        if (e.value === 'null') return got === null;
        if (e.value === undefined) {
          if (got === null || got === undefined) return false;
          if (e.type === 'funcref') return typeof got === 'function';
          return true;
        }
        if (e.type === 'externref' || e.type === 'hostref' || e.type === 'anyref') return got === host(Number(e.value));
        throw new NotRunnable(`${e.type} result ${e.value}`);
    }
  };

  const imports = (mod) => {
    const obj = {};
    for (const imp of WebAssembly.Module.imports(mod)) {
      if (registry.has(imp.module)) obj[imp.module] = registry.get(imp.module);
    }
    return obj;
  };

  const instantiate = (filename) => {
    const mod = compile(resolve(filename));
    return new WebAssembly.Instance(mod, imports(mod));
  };

  const action = (a, expected = null) => {
    const inst = a.module !== undefined ? named.get(a.module) : current;
    if (!inst) throw new HarnessError(`no module ${a.module || '(current)'}`);
    const ex = inst.exports[a.field];
    if (a.type === 'invoke') {
      if (typeof ex !== 'function') throw new HarnessError(`export ${a.field} is not a function`);
      const params = (a.args || []).map((v) => v.type);
      const resultType = (v) => (v.type === 'either' ? v.values[0].type : v.type);
      let w = expected ? wrapperFor(ex, params, expected.map(resultType)) : null;
      if (!w && !expected && params.includes('v128')) {
        // Result types unknown (assert_trap in spec-testsuite-bin): the
        // wrapper links only with the exact signature, so try the usual ones.
        for (const rs of [[], ['v128'], ['i32'], ['i64'], ['f32'], ['f64']]) {
          if ((w = wrapperFor(ex, params, rs))) break;
        }
      }
      if (w) return w(a.args || []);
      try {
        return ex(...(a.args || []).map(toJS));
      } catch (e) {
        // A reference result JS cannot see (exnref): retry through a wrapper.
        if (!(e instanceof TypeError) || !expected || expected.length !== 1 || !REF_TYPES.has(expected[0].type)) throw e;
        for (const t of ['exnref', 'nullexnref']) {
          const x = wrapperFor(ex, params, [t]);
          if (x) return x(a.args || []);
        }
        throw e;
      }
    }
    if (a.type === 'get') {
      if (ex instanceof WebAssembly.Global) return ex.value;
      throw new HarnessError(`export ${a.field} is not a global`);
    }
    throw new NotRunnable(`action ${a.type}`);
  };

  const expectThrow = (fn, ok, what) => {
    try {
      fn();
    } catch (e) {
      if (e instanceof NotRunnable || e instanceof HarnessError) throw e;
      if (ok(e)) return 'pass';
      return `fail: expected ${what}, got ${e?.constructor?.name}: ${String(e?.message ?? e).slice(0, 120)}`;
    }
    return `fail: expected ${what}, nothing thrown`;
  };

  const one = (c) => {
    switch (c.type) {
      case 'module': {
        current = null;
        if (c.module_type === 'text') throw new NotRunnable('text module');
        current = instantiate(c.filename);
        if (c.name !== undefined) named.set(c.name, current);
        return 'pass';
      }
      case 'module_definition':
        if (scriptName === 'inline-module') {
          current = null;
          current = instantiate(c.filename);
        } else {
          compile(resolve(c.filename));
        }
        return 'pass';
      case 'assert_invalid_custom':
        compile(resolve(c.filename));
        return 'pass';
      case 'register': {
        const inst = c.name !== undefined ? named.get(c.name) : current;
        if (!inst) throw new HarnessError(`register: no module ${c.name || '(current)'}`);
        registry.set(c.as, inst.exports);
        return 'pass';
      }
      case 'action':
        action(c.action, c.expected);
        return 'pass';
      case 'assert_return': {
        const exp = c.expected || [];
        let got = action(c.action, exp);
        if (exp.length === 0) return got === undefined ? 'pass' : `fail: expected no result, got ${got}`;
        got = exp.length === 1 ? [got] : Array.from(got);
        if (got.length !== exp.length) return `fail: expected ${exp.length} results, got ${got.length}`;
        for (let i = 0; i < exp.length; i++) {
          if (!matches(exp[i], got[i])) {
            return `fail: result ${i}: expected ${exp[i].type}:${exp[i].value ?? JSON.stringify(exp[i].values ?? 'non-null')}, got ${String(got[i]).slice(0, 60)}`;
          }
        }
        return 'pass';
      }
      case 'assert_trap':
        if (!c.action) {
          // assert_trap on a module (older converters): instantiation traps.
          return expectThrow(() => instantiate(c.filename), (e) => e instanceof WebAssembly.RuntimeError, 'RuntimeError');
        }
        return expectThrow(() => action(c.action, c.expected), (e) => e instanceof WebAssembly.RuntimeError, 'RuntimeError');
      case 'assert_exhaustion':
        return expectThrow(() => action(c.action, c.expected), (e) => e instanceof RangeError, 'RangeError (stack exhaustion)');
      case 'assert_exception':
        return expectThrow(() => action(c.action, c.expected), (e) => e instanceof WebAssembly.Exception, 'WebAssembly.Exception');
      case 'assert_unlinkable': {
        if (c.module_type === 'text') throw new NotRunnable('text module');
        const mod = compile(resolve(c.filename));
        return expectThrow(() => new WebAssembly.Instance(mod, imports(mod)),
          (e) => e instanceof WebAssembly.LinkError || e instanceof TypeError, 'LinkError');
      }
      case 'assert_uninstantiable': {
        if (c.module_type === 'text') throw new NotRunnable('text module');
        const mod = compile(resolve(c.filename));
        return expectThrow(() => new WebAssembly.Instance(mod, imports(mod)),
          (e) => e instanceof WebAssembly.RuntimeError, 'RuntimeError');
      }
      case 'assert_invalid':
      case 'assert_malformed':
        if (c.module_type !== 'binary') throw new NotRunnable('text module');
        return expectThrow(() => compile(resolve(c.filename)),
          (e) => e instanceof WebAssembly.CompileError, 'CompileError');
      default:
        throw new NotRunnable(`command ${c.type}`);
    }
  };

  const status = [];
  for (let c of commands) {
    // wabt writes relaxed-SIMD alternatives as a command-level "either".
    if (c.either && !c.expected) c = { ...c, expected: [{ type: 'either', values: c.either }] };
    try {
      status.push(one(c));
    } catch (e) {
      if (e instanceof NotRunnable) status.push(`skip: ${e.message}`);
      else status.push(`fail: ${e?.constructor?.name}: ${String(e?.message ?? e).slice(0, 160)}`);
    }
  }
  return status;
}
