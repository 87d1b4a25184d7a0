// node examples/04-c-async-import/node.mjs   (after examples/build.sh, which needs emcc)
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { runNode, readBuilt, root } from '../lib/node.mjs';
import { run } from './example.mjs';

const NO_EMCC = 'build/examples/emcc-sleep.js is missing: examples/build.sh builds it when emcc is installed (apt: emscripten)';
await runNode(async (print) => {
  const loader = new URL('build/examples/emcc-sleep.js', root);
  if (!existsSync(loader)) {
    print(`skipped: ${NO_EMCC}`);
    return { skip: NO_EMCC };
  }
  const createModule = createRequire(import.meta.url)(loader.pathname);
  return run({ createModule, wasmBinary: readBuilt('build/examples/emcc-sleep.wasm'), print });
});
