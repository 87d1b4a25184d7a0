// A static file server for trying wasync in a browser (Node only, no deps).
//
// Worker mode needs SharedArrayBuffer, which browsers only grant to
// cross-origin isolated pages. This server sends the two headers that make a
// page isolated -- Cross-Origin-Opener-Policy: same-origin and
// Cross-Origin-Embedder-Policy: require-corp -- and serves .wasm as
// application/wasm (needed by WebAssembly.compileStreaming). It binds to
// 127.0.0.1 unless told otherwise. `isolation: false` leaves the two headers
// out (to see how a page behaves without them).

import http from 'node:http';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.cjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.wat': 'text/plain; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.d.ts': 'text/plain; charset=utf-8',
};

export function contentType(file) {
  return TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * Creates (does not start) the server. options: {root = '.', isolation = true,
 * log = null (a function receiving one line per request)}.
 */
export function createServer({ root = '.', isolation = true, log = null } = {}) {
  const base = path.resolve(root);
  return http.createServer(async (req, res) => {
    const headers = { 'Cache-Control': 'no-store', 'Cross-Origin-Resource-Policy': 'same-origin' };
    if (isolation) {
      headers['Cross-Origin-Opener-Policy'] = 'same-origin';
      headers['Cross-Origin-Embedder-Policy'] = 'require-corp';
    }
    const send = (status, text) => {
      res.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(text);
      log?.(`${status} ${req.method} ${req.url}`);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n');
    let rel;
    try {
      rel = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    } catch {
      return send(400, 'bad request\n');
    }
    let file = path.join(base, rel);
    if (file !== base && !file.startsWith(base + path.sep)) return send(403, 'forbidden\n');
    try {
      let st = await stat(file);
      if (st.isDirectory()) {
        file = path.join(file, 'index.html');
        st = await stat(file);
      }
      res.writeHead(200, { ...headers, 'Content-Type': contentType(file), 'Content-Length': st.size });
      if (req.method === 'HEAD') res.end();
      else createReadStream(file).pipe(res);
      log?.(`200 ${req.method} ${req.url}`);
    } catch {
      send(404, 'not found\n');
    }
  });
}

/**
 * Starts a server; resolves to {server, url, port} once it listens. Rejects
 * if `root` is not a directory.
 */
export async function serve({ root = '.', port = 8080, host = '127.0.0.1', isolation = true, log = null } = {}) {
  const st = await stat(root).catch(() => null);
  if (!st?.isDirectory()) throw new Error(`wasync: cannot serve ${root}: ${st ? 'not a directory' : 'no such directory'}`);
  const server = createServer({ root, isolation, log });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const p = server.address().port;
      const h = host.includes(':') ? `[${host}]` : host;
      resolve({ server, port: p, url: `http://${h}:${p}/` });
    });
  });
}
