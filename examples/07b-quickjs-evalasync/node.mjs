// node examples/07b-quickjs-evalasync/node.mjs   (after `make quickjs`)
import { existsSync, readFileSync } from 'node:fs';
import { supportedModes } from '../../js/index.js';
import { QuickJS } from '../../quickjs/index.js';
import { runNode, root } from '../lib/node.mjs';
import { run } from './example.mjs';

const NO_PKG = 'build/quickjs/pkg/quickjs.wasm is missing: build wasync-quickjs with `make quickjs` (~2.5 min)';
await runNode(async (print) => {
  if (!existsSync(new URL('build/quickjs/pkg/quickjs.wasm', root))) {
    print(`skipped: ${NO_PKG}`);
    return { skip: NO_PKG };
  }
  const guestSource = readFileSync(new URL('guest.js', import.meta.url), 'utf8');
  return run({ QuickJS, supportedModes, guestSource, print });
});
