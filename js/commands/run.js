// `wasync run prog.wasm [args...]`: runs a WASI command in Node with the
// terminal's stdin, stdout and stderr, through wasync/wasi (reads from stdin
// suspend the guest; the event loop keeps running).
//
//   wasync run [--mode auto|jspi|asyncify|worker] [--dir HOST[:GUEST]]...
//              [--env NAME=VALUE]... prog.wasm [program args...]

import fs from 'node:fs';
import { runWasi } from '../wasi/index.js';

const USAGE = `usage: wasync run [options] prog.wasm [args...]
  --mode M             auto (default), jspi, asyncify or worker
  --dir HOST[:GUEST]   preopen host directory HOST as GUEST (default: the same path)
  --env NAME=VALUE     set a guest environment variable (repeatable)
  --inherit-env        pass this process's environment to the guest`;

export async function main(argv) {
  let mode = 'auto';
  const preopens = {};
  const env = {};
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') {
      console.log(USAGE);
      return 0;
    } else if (a === '--mode') mode = argv[++i];
    else if (a === '--dir') {
      const spec = argv[++i] ?? '';
      const c = spec.indexOf(':');
      const host = c >= 0 ? spec.slice(0, c) : spec;
      preopens[c >= 0 ? spec.slice(c + 1) : spec] = host;
    } else if (a === '--env') {
      const kv = argv[++i] ?? '';
      const e = kv.indexOf('=');
      if (e < 1) {
        console.error(`wasync run: --env wants NAME=VALUE, got '${kv}'`);
        return 2;
      }
      env[kv.slice(0, e)] = kv.slice(e + 1);
    } else if (a === '--inherit-env') Object.assign(env, process.env);
    else if (a === '--') {
      i++;
      break;
    } else if (a.startsWith('--')) {
      console.error(`wasync run: unknown option ${a}\n${USAGE}`);
      return 2;
    } else break;
  }
  const file = argv[i];
  if (!file) {
    console.error(`wasync run: no program given\n${USAGE}`);
    return 2;
  }
  let bytes;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    console.error(`wasync run: cannot read ${file}: ${e.code ?? e.message}`);
    return 1;
  }
  try {
    return await runWasi(bytes, {
      mode, args: [file, ...argv.slice(i + 1)], env, preopens,
      stdin: process.stdin, stdout: process.stdout, stderr: process.stderr,
    });
  } catch (e) {
    const msg = String(e?.message ?? e);
    console.error(msg.startsWith('wasync') ? msg : `wasync run: ${file} failed: ${msg}`);
    return 1;
  }
}
