// node examples/04-c-async-import/node.mjs   (after examples/build.sh; the emcc half needs emcc)
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { instantiate, supportedModes } from '../../js/index.js';
import { WASI } from '../../js/wasi/index.js';
import { guestJsImports } from '../../js/wasi/guest-js.js';
import { runNode, readBuilt, root } from '../lib/node.mjs';
import { run } from './example.mjs';

const NO_EMCC = 'build/examples/emcc-sleep.js is missing: examples/build.sh builds it when emcc is installed (apt: emscripten)';
await runNode(async (print) => {
  const loader = new URL('build/examples/emcc-sleep.js', root);
  const emcc = existsSync(loader)
    ? { createModule: createRequire(import.meta.url)(loader.pathname), wasmBinary: readBuilt('build/examples/emcc-sleep.wasm') }
    : { skip: NO_EMCC };
  const wasync = { bytes: readBuilt('build/examples/wasync-sleep.wasm'), instantiate, supportedModes, WASI, guestJsImports };
  return run({ emcc, wasync, print });
});
