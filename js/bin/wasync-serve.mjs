#!/usr/bin/env node
// wasync-serve [DIR] [--port N] [--host ADDR] [--no-isolation] [--quiet]
//
// Serves DIR (default .) over HTTP with the cross-origin isolation headers
// (COOP same-origin, COEP require-corp) that SharedArrayBuffer -- and so
// wasync's worker mode -- needs, and .wasm as application/wasm. Binds to
// 127.0.0.1 by default; --port 0 picks a free port. Prints the URL.
import { serve } from '../serve.js';

const usage = 'usage: wasync-serve [DIR] [--port N] [--host ADDR] [--no-isolation] [--quiet]';
let root = '.';
let port = 8080;
let host = '127.0.0.1';
let isolation = true;
let quiet = false;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const value = () => {
    const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
    if (v === undefined) {
      console.error(`wasync-serve: ${a} needs a value\n${usage}`);
      process.exit(2);
    }
    return v;
  };
  if (a === '--port' || a === '-p' || a.startsWith('--port=')) port = Number(value());
  else if (a === '--host' || a.startsWith('--host=')) host = value();
  else if (a === '--no-isolation') isolation = false;
  else if (a === '--quiet' || a === '-q') quiet = true;
  else if (a === '--help' || a === '-h') {
    console.log(usage);
    process.exit(0);
  } else if (a.startsWith('-')) {
    console.error(`wasync-serve: unknown option ${a}\n${usage}`);
    process.exit(2);
  } else root = a;
}
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`wasync-serve: bad port\n${usage}`);
  process.exit(2);
}
try {
  const { url } = await serve({ root, port, host, isolation, log: quiet ? null : (line) => console.log(line) });
  console.log(`wasync-serve: serving ${root} at ${url}${isolation ? '' : ' (without cross-origin isolation headers)'}`);
} catch (e) {
  console.error(`wasync-serve: ${e.message}`);
  process.exit(1);
}
