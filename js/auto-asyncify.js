// auto-asyncify.js -- asyncify a plain module at load time, for engines
// without JSPI (Safari, older Chromium, Node 20): instantiate() in mode
// 'auto' calls this when JSPI is missing and the module is not
// instrumented, then runs the result in asyncify mode.  One artifact for
// every engine instead of a plain and an asyncified build of everything.
//
//   asyncifyOnTheFly(bytes, { asyncImports, cache, cacheDir, onProgress,
//                             worker, workerThreshold }) -> Promise<Uint8Array>
//
// asyncImports: the imports that may suspend (names as in `wasync asyncify
//   --imports`, e.g. ["env.sleep", "wasi_snapshot_preview1.fd_read"]).
//   Default: for a module built with the guest kit (`wasync cc`: a
//   "wasync.async_imports" section) its marked imports plus the WASI calls
//   that may wait, which is what `wasync cc` asyncifies for; for any other
//   module every import (always correct, a little slower).
// cache: true (default) or false.  The result is stored under the SHA-256
//   of the input + the options + the transform's identity (transformId()
//   below: a rebuilt or upgraded transform never serves old entries): in Node in a
//   directory (cacheDir, else $WASYNC_CACHE_DIR, else $XDG_CACHE_HOME/wasync,
//   else ./node_modules/.cache/wasync when ./node_modules exists, else
//   ~/.cache/wasync), in browsers in the Cache API (`caches`), when the page
//   has it (secure contexts), else not at all (no "hash" or "cache-hit" stage).
// onProgress({stage, fraction}): stages 'hash', 'cache-hit', 'load',
//   'transform', 'store', 'done' (fraction 0..1 of the whole job).
// worker: the transform runs in a worker (a module worker in browsers,
//   worker_threads in Node) when the module is larger than workerThreshold
//   (default 1 MiB), so the page or server stays responsive; `worker: false`
//   keeps it on the calling thread.
//
// Every failure is an Error starting with `wasync:` (a module the transform
// rejects keeps its TransformError: message and byte offset).

import { asyncify, asyncifyArgs, TransformError } from "./transform.js";

const VERSION = "wasync-asyncify-1"; // bump when the key or entry format changes (transformId() covers new transforms)
const isNode = typeof process === "object" && !!process.versions?.node;

function progress(cb, stage, fraction) {
  try {
    cb?.({ stage, fraction });
  } catch {
    /* a failing progress callback must not fail the load */
  }
}

async function sha256Hex(parts) {
  const enc = new TextEncoder();
  const chunks = parts.map((p) => (typeof p === "string" ? enc.encode(p) : p));
  const total = chunks.reduce((n, c) => n + c.length + 1, 0);
  const all = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length + 1; // a zero byte between parts
  }
  if (globalThis.crypto?.subtle) {
    const digest = await crypto.subtle.digest("SHA-256", all);
    return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  }
  if (isNode) {
    const { createHash } = await import("node:crypto");
    return createHash("sha256").update(all).digest("hex");
  }
  throw new Error("wasync: this engine has no crypto.subtle to key the asyncify cache; pass {cache: false}");
}

// ---- the cache -----------------------------------------------------------

// What identifies the transform that made a cache entry, so that a new one
// (an upgraded package, a rebuilt wasync-transform.wasm) misses the old
// entries. In Node: the SHA-256 of the wasm file itself (read from disk, ~1 ms).
// In browsers its bytes are not fetched for a cache hit (the transform is
// loaded only when needed): its URL (bundlers put a content hash in the
// name) and what a HEAD request says (ETag, Last-Modified, Content-Length;
// nothing if the request fails).  VERSION is part of the key as well.
const TRANSFORM_URL = new URL("./wasync-transform.wasm", import.meta.url);
let transformIdOnce = null;
function transformId() {
  transformIdOnce ??= (async () => {
    if (isNode && TRANSFORM_URL.protocol === "file:") {
      const { readFile } = await import("node:fs/promises");
      try {
        return `sha256:${await sha256Hex([await readFile(TRANSFORM_URL)])}`;
      } catch {
        return "unreadable"; // the transform's own load reports it
      }
    }
    try {
      const r = await fetch(TRANSFORM_URL, { method: "HEAD", cache: "no-cache" });
      const h = (n) => r.headers.get(n) ?? "";
      return `${TRANSFORM_URL.href}|${r.status}|${h("etag")}|${h("last-modified")}|${h("content-length")}`;
    } catch {
      return TRANSFORM_URL.href;
    }
  })();
  return transformIdOnce;
}

async function nodeCacheDir(options) {
  const path = await import("node:path");
  const fs = await import("node:fs");
  const os = await import("node:os");
  if (options.cacheDir) return options.cacheDir;
  if (process.env.WASYNC_CACHE_DIR) return process.env.WASYNC_CACHE_DIR;
  if (process.env.XDG_CACHE_HOME) return path.join(process.env.XDG_CACHE_HOME, "wasync");
  const nm = path.join(process.cwd(), "node_modules");
  if (fs.existsSync(nm)) return path.join(nm, ".cache", "wasync");
  return path.join(os.homedir(), ".cache", "wasync");
}

const nodeCache = {
  async get(key, options) {
    const { readFile } = await import("node:fs/promises");
    const path = await import("node:path");
    try {
      return new Uint8Array(await readFile(path.join(await nodeCacheDir(options), `${key}.wasm`)));
    } catch {
      return null;
    }
  },
  async put(key, bytes, options) {
    const fs = await import("node:fs/promises");
    const path = await import("node:path");
    const dir = await nodeCacheDir(options);
    const file = path.join(dir, `${key}.wasm`);
    const tmp = `${file}.${process.pid}.tmp`;
    try {
      await fs.mkdir(dir, { recursive: true });
      await fs.writeFile(tmp, bytes);
      await fs.rename(tmp, file); // readers see the whole file or none
    } catch {
      await fs.rm(tmp, { force: true }).catch(() => {});
      /* a read-only or full cache costs time, not correctness */
    }
  },
};

const CACHE_NAME = "wasync-asyncify";
const cacheUrl = (key) => `https://wasync.invalid/asyncify/${key}.wasm`;
const browserCache = {
  async get(key) {
    if (typeof caches === "undefined") return null;
    try {
      const r = await (await caches.open(CACHE_NAME)).match(cacheUrl(key));
      return r ? new Uint8Array(await r.arrayBuffer()) : null;
    } catch {
      return null;
    }
  },
  async put(key, bytes) {
    if (typeof caches === "undefined") return;
    try {
      const headers = { "content-type": "application/wasm" };
      await (await caches.open(CACHE_NAME)).put(cacheUrl(key), new Response(bytes, { headers }));
    } catch {
      /* quota or private mode: no cache */
    }
  },
};

// ---- the transform, here or in a worker -----------------------------------

// A module worker in browsers, a worker_threads Worker in Node (the same
// file, auto-asyncify-worker.js). A TransformError stays one across it.
async function transformInWorker(bytes, options, onProgress) {
  const url = new URL("./auto-asyncify-worker.js", import.meta.url);
  const w = isNode ? new (await import("node:worker_threads")).Worker(url) : new Worker(url, { type: "module" });
  const on = (event, fn) => (isNode ? w.on(event, fn) : w.addEventListener(event, fn));
  return new Promise((resolve, reject) => {
    on("message", (m) => {
      const data = isNode ? m : m.data;
      if (data.progress) return progress(onProgress, data.progress, data.fraction);
      w.terminate();
      if (data.error) reject(new TransformError(data.error, { name: data.name, offset: data.offset, code: data.code, detail: data.detail }));
      else resolve(new Uint8Array(data.bytes));
    });
    on("error", (e) => {
      w.terminate();
      reject(new Error(`wasync: the asyncify worker failed: ${e.message ?? e}; pass {worker: false} to transform on this thread`));
    });
    // a copy to hand over (not bytes.slice(): a Node Buffer's is a view, and
    // the transfer would detach the caller's buffer)
    const copy = new Uint8Array(bytes);
    w.postMessage({ bytes: copy, options }, [copy.buffer]);
  });
}

// The guest kit's marks (include/wasync/guest.h: WASYNC_ASYNC_IMPORT, and
// WASYNC_ASYNC_JS's wasync_js imports) plus the WASI calls that may wait
// (wasync/wasi ASYNC_IMPORTS), those the module imports; null for a module
// without marks.
async function guestKitImports(bytes) {
  const { customSections } = await import("./wasi/guest-js.js");
  const dec = new TextDecoder();
  let marks;
  try {
    marks = customSections(bytes, "wasync.async_imports").flatMap((b) => dec.decode(b).split(/[\n\0]+/));
  } catch {
    return null; // malformed: the transform reports it, with the offset
  }
  if (!marks.some(Boolean)) return null;
  const [{ ASYNC_IMPORTS }, { readImportSignatures }] = await Promise.all([import("./wasi/index.js"), import("./sig.js")]);
  const imported = new Set((readImportSignatures(bytes)?.funcs ?? []).map((f) => `${f.module}.${f.name}`));
  const wasi = ASYNC_IMPORTS.map((n) => `wasi_snapshot_preview1.${n}`);
  return [...new Set([...wasi, ...marks])].filter((n) => imported.has(n));
}

export async function asyncifyOnTheFly(bytes, options = {}) {
  const { cache = true, onProgress, worker = true, workerThreshold = 1 << 20 } = options;
  if (!(bytes instanceof Uint8Array))
    bytes = ArrayBuffer.isView(bytes) ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : new Uint8Array(bytes);
  const asyncImports = options.asyncImports ?? (await guestKitImports(bytes));
  // an empty list: no import may suspend (as `wasync cc` does)
  const transformOptions = !asyncImports ? {} : asyncImports.length ? { imports: [...asyncImports] } : { ignoreImports: true };
  asyncifyArgs(transformOptions); // option errors before any work
  let key = null;
  const store = isNode ? nodeCache : browserCache;
  // browsers keep entries in the Cache API, which (like crypto.subtle) only
  // secure contexts have: on a plain-http origin other than localhost (a
  // phone testing http://192.168.1.2:8080) every load transforms again
  const canCache = isNode || (typeof caches !== "undefined" && !!globalThis.crypto?.subtle);
  if (cache && canCache) {
    progress(onProgress, "hash", 0);
    key = await sha256Hex([VERSION, await transformId(), JSON.stringify(transformOptions), bytes]);
    const hit = await store.get(key, options);
    if (hit) {
      progress(onProgress, "cache-hit", 1);
      progress(onProgress, "done", 1);
      return hit;
    }
  }
  let out;
  const useWorker = worker && (isNode || typeof Worker === "function") && bytes.length > workerThreshold;
  if (useWorker) {
    out = await transformInWorker(bytes, transformOptions, onProgress);
  } else {
    progress(onProgress, "load", 0.05);
    progress(onProgress, "transform", 0.1);
    out = await asyncify(bytes, transformOptions);
  }
  if (key) {
    progress(onProgress, "store", 0.95);
    await store.put(key, out, options);
  }
  progress(onProgress, "done", 1);
  return out;
}
