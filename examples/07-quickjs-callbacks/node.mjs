// node examples/07-quickjs-callbacks/node.mjs
import { readFileSync } from 'node:fs';
import { newQuickJSWASMModuleFromVariant } from 'quickjs-emscripten-core';
import variant from '@jitl/quickjs-wasmfile-release-sync';
import { runNode } from '../lib/node.mjs';
import { run } from './example.mjs';

const guestSource = readFileSync(new URL('guest.js', import.meta.url), 'utf8');
await runNode((print) => run({ newQuickJSWASMModuleFromVariant, variant, guestSource, print }));
