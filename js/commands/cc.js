// `wasync cc`: C (or C++) to a WebAssembly module that runs under wasync in
// every mode, in one command.
//
//   wasync cc hello.c [more.c ...] -o hello.wasm [--reactor] [--no-asyncify]
//             [--async-imports mod.name,...] [clang flags: -O2 -Ifoo -DX ...]
//
// What it does:
//   1. compiles each C source with clang for wasm32-wasi (wasi-libc; the
//      sysroot from WASI_SYSROOT, else Debian's /usr, else
//      /opt/wasi-sdk/share/wasi-sysroot) to an object file;
//   2. collects the marks of <wasync/guest.h> from the objects: clang keeps a
//      variable placed in section ".custom_section.NAME" as a named data
//      segment of the object (the object's "linking" section names it), so
//      the async-import list and the WASYNC_ASYNC_JS bodies are read there;
//   3. links a command (default, `_start`) or a reactor (--reactor, with
//      `_initialize`), exporting malloc, free and a mutable __stack_pointer so
//      the runtime can give concurrent calls their own C stacks;
//   4. asyncifies it (native `build/wasync asyncify` when present -- found
//      beside this package or through WASYNC_NATIVE -- else the wasm build in
//      ../transform.js) for the imports that can suspend: the WASI calls that
//      may wait (wasync/wasi ASYNC_IMPORTS), the header's async marks and
//      --async-imports; JSPI and worker modes run the same file;
//   5. appends the custom sections "wasync.async_imports" and "wasync.js" to
//      the output, where the runtime (wasync/guest-js) finds the JS bodies.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ASYNC_IMPORTS } from '../wasi/index.js';
import { readLeb as leb } from '../binary.js';

const here = path.dirname(fileURLToPath(import.meta.url));

const USAGE = `usage: wasync cc SOURCES... -o OUT.wasm [options] [clang flags]
  --reactor              build a reactor (exports, _initialize) instead of a command (_start)
  --no-asyncify          skip the Asyncify step (the module then runs in jspi and worker modes,
                         and in mode 'auto' is asyncified on the fly where JSPI is missing)
  --async-imports LIST   more imports that may suspend (module.name, comma-separated)
  -v                     print the commands run
Environment: CC (clang), WASI_SYSROOT, WASYNC_NATIVE (the native wasync binary; 'none' uses\nthe wasm build, wasync/transform).`;

function findSysroot() {
  const c = [process.env.WASI_SYSROOT, '/usr', '/opt/wasi-sdk/share/wasi-sysroot'].filter(Boolean);
  for (const s of c) {
    if (fs.existsSync(path.join(s, 'include', 'wasm32-wasi', 'stdio.h'))) return { root: s, include: path.join(s, 'include', 'wasm32-wasi') };
    if (fs.existsSync(path.join(s, 'include', 'stdio.h')) && s !== '/usr') return { root: s, include: path.join(s, 'include') };
  }
  return null;
}

export function findNative() {
  if (process.env.WASYNC_NATIVE === 'none') return null; // force the wasm build (transform.js)
  const c = [process.env.WASYNC_NATIVE, path.resolve(here, '../../build/wasync')].filter(Boolean);
  return c.find((p) => fs.existsSync(p)) ?? null;
}

function encLeb(n) {
  const out = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

/** Named data segments of a wasm object file: [[name, bytes], ...] (names repeat). */
export function objectSegments(bytes) {
  const segs = [];
  const names = [];
  let o = 8;
  while (o < bytes.length) {
    const id = bytes[o++];
    let size;
    [size, o] = leb(bytes, o);
    const end = o + size;
    if (id === 11) {
      let n;
      let p;
      [n, p] = leb(bytes, o);
      for (let i = 0; i < n; i++) {
        let flags;
        [flags, p] = leb(bytes, p);
        if (flags === 2) [, p] = leb(bytes, p);
        if (flags !== 1) {
          while (bytes[p] !== 0x0b) p++; // init expression (i32.const N with a relocation)
          p++;
        }
        let len;
        [len, p] = leb(bytes, p);
        segs.push(bytes.subarray(p, p + len));
        p += len;
      }
    } else if (id === 0) {
      let nl;
      let p;
      [nl, p] = leb(bytes, o);
      const name = new TextDecoder().decode(bytes.subarray(p, p + nl));
      p += nl;
      if (name === 'linking') {
        [, p] = leb(bytes, p); // version
        while (p < end) {
          const type = bytes[p++];
          let sz;
          [sz, p] = leb(bytes, p);
          const subEnd = p + sz;
          if (type === 5) {
            let count;
            let q;
            [count, q] = leb(bytes, p);
            for (let i = 0; i < count; i++) {
              let l;
              [l, q] = leb(bytes, q);
              names.push(new TextDecoder().decode(bytes.subarray(q, q + l)));
              q += l;
              [, q] = leb(bytes, q);
              [, q] = leb(bytes, q);
            }
          }
          p = subEnd;
        }
      }
    }
    o = end;
  }
  return names.map((n, i) => [n, segs[i]]).filter(([, b]) => b);
}

/** bytes + a custom section `name` holding `payload`. */
export function appendCustomSection(bytes, name, payload) {
  const nb = new TextEncoder().encode(name);
  const body = [...encLeb(nb.length), ...nb];
  const size = encLeb(body.length + payload.length);
  const out = new Uint8Array(bytes.length + 1 + size.length + body.length + payload.length);
  out.set(bytes);
  let o = bytes.length;
  out[o++] = 0;
  out.set(size, o);
  o += size.length;
  out.set(body, o);
  o += body.length;
  out.set(payload, o);
  return out;
}

function run(cmd, args, verbose) {
  if (verbose) console.error(`+ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.error) throw new Error(`wasync cc: cannot run ${cmd}: ${r.error.message} (install clang, or set CC)`);
  return r.status;
}

export async function main(argv) {
  const sources = [];
  const passthrough = [];
  let out = null;
  let reactor = false;
  let asyncify = true;
  let verbose = false;
  const extra = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') {
      console.log(USAGE);
      return 0;
    } else if (a === '-o') out = argv[++i];
    else if (a === '--reactor') reactor = true;
    else if (a === '--command') reactor = false;
    else if (a === '--no-asyncify') asyncify = false;
    else if (a === '--async-imports') extra.push(...(argv[++i] ?? '').split(',').filter(Boolean));
    else if (a === '-v') verbose = true;
    else if (!a.startsWith('-') && /\.(c|cc|cpp|cxx|o|a)$/.test(a)) sources.push(a);
    else passthrough.push(a);
  }
  if (!sources.length || !out) {
    console.error(`wasync cc: ${!sources.length ? 'no source files' : 'no output (-o OUT.wasm)'}\n${USAGE}`);
    return 2;
  }
  const cc = process.env.CC ?? 'clang';
  const sys = findSysroot();
  if (!sys) {
    console.error('wasync cc: no wasi-libc found: install wasi-libc (Debian: apt install wasi-libc) or set WASI_SYSROOT');
    return 1;
  }
  const res = spawnSync(cc, ['-print-resource-dir'], { encoding: 'utf8' });
  if (res.error || res.status !== 0) {
    console.error(`wasync cc: cannot run ${cc}: install clang (with the wasm32 target) or set CC`);
    return 1;
  }
  const resource = res.stdout.trim();
  const include = [path.resolve(here, '../../include'), path.resolve(here, '../include')].find((p) => fs.existsSync(path.join(p, 'wasync', 'guest.h')));
  const base = ['--target=wasm32-wasi', `--sysroot=${sys.root}`, '-nostdinc', '-isystem', path.join(resource, 'include'), '-isystem', sys.include];
  if (include) base.push('-I', include);
  if (!passthrough.some((f) => /^-O/.test(f))) base.push('-O2');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wasync-cc-'));
  try {
    const objects = [];
    for (const [i, src] of sources.entries()) {
      if (/\.(o|a)$/.test(src)) {
        objects.push(src);
        continue;
      }
      const obj = path.join(tmp, `${i}.o`);
      if (run(cc, [...base, '-mmutable-globals', ...passthrough, '-c', src, '-o', obj], verbose) !== 0) return 1;
      objects.push(obj);
    }
    const marks = new Set(extra);
    const bodies = [];
    for (const obj of objects) {
      if (!obj.endsWith('.o')) continue;
      const segs = objectSegments(new Uint8Array(fs.readFileSync(obj)));
      for (const [name, data] of segs) {
        const text = new TextDecoder().decode(data);
        if (name.startsWith('.custom_section.wasync.async_imports')) for (const l of text.split(/[\n\0]+/)) if (l) marks.add(l);
        if (name.startsWith('.custom_section.wasync.js')) bodies.push(data);
      }
    }
    const linked = path.join(tmp, 'linked.wasm');
    const exportsFlag = '-Wl,--export=malloc,--export=free,--export=__stack_pointer' + (passthrough.includes('-g') ? '' : ',--strip-debug');
    const link = ['--target=wasm32-wasi', `--sysroot=${sys.root}`, `-mexec-model=${reactor ? 'reactor' : 'command'}`, '-mmutable-globals', exportsFlag, ...passthrough.filter((f) => !/^-[IDU]/.test(f)), ...objects, '-o', linked];
    if (run(cc, link, verbose) !== 0) return 1;
    let bytes = new Uint8Array(fs.readFileSync(linked));
    if (asyncify) {
      const mod = new WebAssembly.Module(bytes);
      const imported = new Set(WebAssembly.Module.imports(mod).filter((i) => i.kind === 'function').map((i) => `${i.module}.${i.name}`));
      const wasiAsync = ASYNC_IMPORTS.map((n) => `wasi_snapshot_preview1.${n}`);
      const list = [...new Set([...wasiAsync, ...marks])].filter((n) => imported.has(n));
      const native = findNative();
      if (native) {
        const outTmp = path.join(tmp, 'async.wasm');
        const args = ['asyncify', linked, '-o', outTmp, ...(list.length ? ['--imports', list.join(',')] : ['--ignore-imports'])];
        if (run(native, args, verbose) !== 0) return 1;
        bytes = new Uint8Array(fs.readFileSync(outTmp));
      } else {
        let transform;
        try {
          transform = await import('../transform.js');
        } catch (e) {
          console.error(`wasync cc: no asyncify available: build the native wasync (make) or set WASYNC_NATIVE (${e.message})`);
          return 1;
        }
        bytes = new Uint8Array(await transform.asyncify(bytes, list.length ? { imports: list } : { ignoreImports: true }));
      }
      if (verbose) console.error(`wasync cc: async imports: ${list.join(', ') || '(none)'}`);
    }
    if (marks.size) bytes = appendCustomSection(bytes, 'wasync.async_imports', new TextEncoder().encode([...marks].join('\n') + '\n'));
    if (bodies.length) {
      const all = new Uint8Array(bodies.reduce((s, b) => s + b.length, 0));
      let o = 0;
      for (const b of bodies) {
        all.set(b, o);
        o += b.length;
      }
      bytes = appendCustomSection(bytes, 'wasync.js', all);
    }
    fs.writeFileSync(out, bytes);
    return 0;
  } catch (e) {
    console.error(String(e.message ?? e).startsWith('wasync') ? e.message : `wasync cc: ${e.message ?? e}`);
    return 1;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
