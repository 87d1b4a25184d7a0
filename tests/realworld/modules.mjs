// modules.mjs -- the real-world modules the tests and benchmarks use: large
// third-party .wasm files shipped by npm packages in node_modules, plus
// wasync's own QuickJS build.  Nothing is copied into the repository: files
// are read from node_modules at run time; the two modules that packages embed
// in their JavaScript (wabt, binaryen) are extracted into OUT by running the
// package once (tests/realworld/smoke.mjs --extract).
import { existsSync, mkdirSync, statSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import path from "node:path";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const nm = (p) => path.join(root, "node_modules", p);
const jitl = (v) => nm(`@jitl/quickjs-wasmfile-${v}/dist/emscripten-module.wasm`);

// name: short label; kind: the smoke use in smoke.mjs; file(out): the module.
export const MODULES = [
  { name: "quickjs-release-sync", kind: "quickjs-release-sync", file: () => jitl("release-sync") },
  { name: "quickjs-release-asyncify", kind: "quickjs-release-asyncify", file: () => jitl("release-asyncify") },
  { name: "quickjs-debug-sync", kind: "quickjs-debug-sync", file: () => jitl("debug-sync") },
  { name: "sql.js", kind: "sqljs", file: () => nm("sql.js/dist/sql-wasm.wasm") },
  { name: "esbuild-wasm", kind: "esbuild", file: () => nm("esbuild-wasm/esbuild.wasm") },
  { name: "wabt.js", kind: "wabt", embedded: nm("wabt/index.js"), file: (out) => path.join(out, "wabt.wasm") },
  { name: "binaryen.js", kind: "binaryen", embedded: nm("binaryen/index.js"), file: (out) => path.join(out, "binaryen.wasm") },
  { name: "qjs.wasm (ours)", kind: "qjs", built: true, file: () => path.join(root, "build/quickjs/qjs.wasm") },
];

// Makes sure every module file exists (extracting or building as needed) and
// returns [{name, kind, path, size}].  Throws with a clear message otherwise.
export function prepareModules(out, only = null) {
  mkdirSync(out, { recursive: true });
  const list = [];
  for (const m of MODULES) {
    if (only && !only.some((o) => m.name.includes(o) || m.kind === o)) continue;
    const file = m.file(out);
    if (m.embedded) {
      if (!existsSync(m.embedded)) throw new Error(`${m.name}: ${m.embedded} missing (run: npm ci)`);
      if (!existsSync(file) || statSync(file).mtimeMs < statSync(m.embedded).mtimeMs) {
        const r = spawnSync(process.execPath, [path.join(root, "tests/realworld/smoke.mjs"), "--extract", m.kind, file], {
          encoding: "utf8",
        });
        if (r.status !== 0) throw new Error(`${m.name}: cannot extract the embedded module: ${r.stdout}${r.stderr}`);
      }
    } else if (m.built) {
      const r = spawnSync(path.join(root, "scripts/build-quickjs.sh"), [], { cwd: root, encoding: "utf8" });
      if (r.status !== 0) throw new Error(`${m.name}: scripts/build-quickjs.sh failed:\n${r.stdout}${r.stderr}`);
    }
    if (!existsSync(file)) throw new Error(`${m.name}: ${file} missing (run: npm ci)`);
    list.push({ name: m.name, kind: m.kind, path: file, size: statSync(file).size });
  }
  return list;
}
