#!/usr/bin/env node
// The WASI demo in Node: build/examples/wasi/demo.wasm (examples/wasi/build.sh)
// with this process's stdin/stdout, the file /data/remote.txt backed by a URL
// (a tiny local HTTP server here), fetched when the program first opens it.
//
//   printf 'hi\nthere\n' | node examples/wasi/node.mjs [--mode jspi|asyncify|worker] [--ticks] [sleep-ms]
//
// --ticks reports on stderr how many 10 ms timer ticks ran while the program
// waited (sleep, stdin, fetch): the event loop is never blocked.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runWasi } from '../../js/wasi/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const wasm = path.resolve(here, '../../build/examples/wasi/demo.wasm');
const argv = process.argv.slice(2);
const mi = argv.indexOf('--mode');
const mode = mi >= 0 ? argv.splice(mi, 2)[1] : 'auto';
const ti = argv.indexOf('--ticks');
const ticks = ti >= 0 && argv.splice(ti, 1).length > 0;

const server = http.createServer((req, res) => res.end(fs.readFileSync(path.join(here, 'remote.txt'))));
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const url = new URL(`http://127.0.0.1:${server.address().port}/remote.txt`);

let n = 0;
const iv = setInterval(() => n++, 10);
const code = await runWasi(fs.readFileSync(wasm), {
  mode, args: ['demo', ...argv], stdin: process.stdin, stdout: process.stdout,
  preopens: { '/data': { 'remote.txt': url } },
});
clearInterval(iv);
server.close();
if (ticks) console.error(`ticks: ${n}`);
process.exitCode = code;
