// smoke.mjs -- uses one npm package the way its users do, with the package's
// WebAssembly module replaced by a given .wasm file (tests/realworld/run.mjs
// calls it once with the original module and once with wasync's output).
//
//   node tests/realworld/smoke.mjs KIND WASM_FILE       -> prints one JSON line
//   node tests/realworld/smoke.mjs --extract KIND OUT   -> writes the module the
//                                                          package instantiates
//
// KIND: quickjs-release-sync | quickjs-release-asyncify | quickjs-debug-sync |
//       sqljs | esbuild | wabt | binaryen | qjs | qjs-async (an asyncified
//       qjs.wasm whose host function suspends)
//
// Packages that load their .wasm from a file get the path or bytes through
// their own option (quickjs-emscripten: newVariant({wasmBinary}), sql.js:
// locateFile, esbuild: the wasm_exec_node.js runner's argument).  wabt and
// binaryen embed the module in their JavaScript, so the WebAssembly.*
// entry points are wrapped and the embedded bytes are swapped for the file's.
// Either way the wrapper records the SHA-256 of every module compiled, and
// the run only counts if the file's bytes were among them.
import { readFileSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import path from "node:path";

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const nm = (p) => path.join(root, "node_modules", p);

const sha = (b) => createHash("sha256").update(b).digest("hex");
const compiled = []; // hashes of every module compiled in this process
let replacement = null; // Uint8Array to substitute for embedded modules
let extracted = null;
const Real = { Module: WebAssembly.Module, Instance: WebAssembly.Instance }; // unhooked, for our own checks

function isModuleBytes(b) {
  return (ArrayBuffer.isView(b) || b instanceof ArrayBuffer) && b.byteLength >= 8;
}
function asBytes(b) {
  return b instanceof ArrayBuffer ? new Uint8Array(b) : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
function swap(b) {
  if (!isModuleBytes(b)) return b;
  const bytes = asBytes(b);
  if (bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) return b;
  if (!extracted || bytes.length > extracted.length) extracted = Uint8Array.from(bytes);
  const out = replacement ?? bytes;
  replacement = null; // only the package's own (first) module is swapped
  compiled.push(sha(out));
  return out;
}
function installHook() {
  const W = WebAssembly;
  const { instantiate, compile, Module } = W;
  W.instantiate = function (src, imports) {
    return instantiate.call(W, src instanceof Module ? src : swap(src), imports);
  };
  W.compile = (src) => compile.call(W, swap(src));
  W.instantiateStreaming = async (resp, imports) =>
    W.instantiate(new Uint8Array(await (await resp).arrayBuffer()), imports);
  W.compileStreaming = async (resp) => W.compile(new Uint8Array(await (await resp).arrayBuffer()));
  const Hooked = function (src) {
    return new Module(swap(src));
  };
  Hooked.prototype = Module.prototype;
  Object.assign(Hooked, { imports: Module.imports, exports: Module.exports, customSections: Module.customSections });
  W.Module = Hooked;
}

function check(cond, what) {
  if (!cond) throw new Error(`smoke check failed: ${what}`);
}

async function quickjs(pkg, bytes, asyncify) {
  const core = await import(nm("quickjs-emscripten-core/dist/index.mjs"));
  const base = (await import(nm(`${pkg}/dist/index.mjs`))).default;
  const variant = core.newVariant(base, { wasmBinary: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) });
  const mod = asyncify
    ? await core.newQuickJSAsyncWASMModuleFromVariant(variant)
    : await core.newQuickJSWASMModuleFromVariant(variant);
  const out = [];
  const vm = asyncify ? await mod.newContext() : mod.newContext();
  const ev = (code) => {
    const r = vm.unwrapResult(vm.evalCode(code));
    const v = vm.dump(r);
    r.dispose();
    return v;
  };
  out.push(ev("1+2"));
  out.push(ev("(() => { let n = 0; const inc = () => ++n; inc(); inc(); return inc(); })()"));
  out.push(ev('JSON.stringify(JSON.parse(\'{"a":[1,2,{"b":"c"}]}\'))'));
  check(out[0] === 3 && out[1] === 3 && out[2] === '{"a":[1,2,{"b":"c"}]}', `quickjs results ${JSON.stringify(out)}`);
  if (asyncify) {
    // The asyncify build's reason to exist: a host function that suspends.
    const fn = vm.newAsyncifiedFunction("later", async (h) => {
      const x = vm.getNumber(h);
      await new Promise((r) => setTimeout(r, 5));
      return vm.newNumber(x * 10);
    });
    vm.setProp(vm.global, "later", fn);
    fn.dispose();
    const r = vm.unwrapResult(await vm.evalCodeAsync("later(4) + later(2)"));
    out.push(vm.dump(r));
    r.dispose();
    check(out[3] === 60, `asyncified host function gave ${out[3]}`);
  }
  vm.dispose();
  return out;
}

async function sqljs(file) {
  const initSqlJs = require(nm("sql.js/dist/sql-wasm.js"));
  const SQL = await initSqlJs({ locateFile: () => file });
  const db = new SQL.Database();
  db.run("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, score REAL)");
  const ins = db.prepare("INSERT INTO t (name, score) VALUES (?, ?)");
  for (const [n, s] of [["ada", 9.5], ["bob", 7.25], ["cy", 8]]) ins.run([n, s]);
  ins.free();
  const res = db.exec("SELECT name, score FROM t WHERE score > 7.5 ORDER BY score DESC");
  const agg = db.exec("SELECT count(*), sum(score), group_concat(upper(name), '-') FROM t");
  db.close();
  const out = [res[0].values, agg[0].values];
  check(JSON.stringify(out[0]) === '[["ada",9.5],["cy",8]]', `sql.js select ${JSON.stringify(out[0])}`);
  return out;
}

function esbuild(file) {
  const ts = "interface P { x: number }\nexport const f = (p: P): number => p.x * 2;\nenum E { A = 1, B }\nexport const e: E = E.B;\n";
  const r = spawnSync(process.execPath, [nm("esbuild-wasm/wasm_exec_node.js"), file, "--loader=ts", "--format=esm"], {
    input: ts,
    encoding: "utf8",
    timeout: 120000,
  });
  check(r.status === 0, `esbuild exited ${r.status}: ${r.stderr}`);
  check(/const f = \(p\) => p\.x \* 2;/.test(r.stdout) && /\["B"\] = 2\] = "B"/.test(r.stdout), `esbuild output ${r.stdout}`);
  return [r.stdout];
}

async function wabt() {
  const wabtFactory = require(nm("wabt"));
  const w = await wabtFactory();
  const wat = '(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))';
  const m = w.parseWat("t.wat", wat);
  m.validate();
  const { buffer } = m.toBinary({});
  m.destroy();
  const bin = Uint8Array.from(buffer);
  const inst = new Real.Instance(new Real.Module(bin), {});
  const out = [sha(bin), inst.exports.add(40, 2)];
  check(out[1] === 42, `wabt-built add gave ${out[1]}`);
  return out;
}

async function binaryen() {
  const b = (await import(nm("binaryen/index.js"))).default;
  const m = new b.Module();
  const i32 = b.i32;
  m.addFunction(
    "add",
    b.createType([i32, i32]),
    i32,
    [i32],
    m.block(null, [
      m.local.set(2, m.i32.add(m.local.get(0, i32), m.local.get(1, i32))),
      m.return(m.i32.mul(m.local.get(2, i32), m.i32.const(1))),
    ]),
  );
  m.addFunctionExport("add", "add");
  check(m.validate(), "binaryen module validates");
  m.optimize();
  const bin = m.emitBinary();
  const text = m.emitText();
  m.dispose();
  const inst = new Real.Instance(new Real.Module(bin), {});
  const out = [text, inst.exports.add(40, 2)];
  check(out[1] === 42 && !/i32\.mul/.test(text), `binaryen optimized add gave ${out[1]}: ${text}`);
  return out;
}

// async: the module is qjs.wasm asyncified for env.host_call, and host(x)
// replies after a real setTimeout (examples/quickjs/run.mjs --async).
async function qjs(file, async = false) {
  const { instantiateQuickJS } = await import(path.join(root, "examples/quickjs/run.mjs"));
  let printed = "";
  const q = await instantiateQuickJS({ wasm: readFileSync(file), write: (_fd, t) => (printed += t), async });
  const r = await q.evaluate(readFileSync(path.join(root, "examples/quickjs/smoke.js"), "utf8"));
  check(r.ok, `qjs.wasm smoke script threw: ${r.value}`);
  check(r.value === "4,x,5,tqbf,514229,1180591620717411303424,42,SHOUT", `qjs.wasm result ${r.value}`);
  return [printed, r.value];
}

async function run(kind, file, bytes) {
  switch (kind) {
    case "quickjs-release-sync":
      return quickjs("@jitl/quickjs-wasmfile-release-sync", bytes, false);
    case "quickjs-release-asyncify":
      return quickjs("@jitl/quickjs-wasmfile-release-asyncify", bytes, true);
    case "quickjs-debug-sync":
      return quickjs("@jitl/quickjs-wasmfile-debug-sync", bytes, false);
    case "sqljs":
      return sqljs(file);
    case "esbuild":
      return esbuild(file);
    case "wabt":
      return wabt();
    case "binaryen":
      return binaryen();
    case "qjs":
      return qjs(file);
    case "qjs-async":
      return qjs(file, true);
  }
  throw new Error(`unknown kind ${kind}`);
}

async function main() {
  const args = process.argv.slice(2);
  installHook();
  if (args[0] === "--extract") {
    const [, kind, out] = args;
    await run(kind, null, null);
    if (!extracted) throw new Error(`${kind}: no module was instantiated`);
    writeFileSync(out, extracted);
    return;
  }
  const [kind, file] = args;
  const bytes = readFileSync(file);
  if (kind === "wabt" || kind === "binaryen") replacement = Uint8Array.from(bytes);
  const result = await run(kind, file, bytes);
  // esbuild runs the module in a child process: no hook there, the path is its argument.
  const used = kind === "esbuild" || compiled.includes(sha(bytes));
  console.log(JSON.stringify({ ok: used, used, result }));
}

main().catch((e) => {
  console.log(JSON.stringify({ ok: false, error: String(e && e.stack ? e.stack : e) }));
  process.exitCode = 1;
});
