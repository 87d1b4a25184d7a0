// node --test: js/index.d.ts and js/serve.d.ts as a user's project sees
// them. tsc --noEmit --strict (skipLibCheck false) on tests/js/types/user.ts,
// importing 'wasync' and 'wasync/serve', in a Node-only project (lib es2022,
// no DOM, no @types) and in a browser project (lib es2022 + dom): no errors,
// and every line marked @ts-expect-error is one (a typo in an export, a
// forgotten await, wrong argument types).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
const settings = {
  'Node-only (lib es2022, no DOM)': ['es2022'],
  'browser (lib es2022 + dom)': ['es2022', 'dom'],
};

for (const [name, lib] of Object.entries(settings)) {
  test(`types: tsc --strict in a ${name} project`, { timeout: 120000, skip: existsSync(tsc) ? false : 'typescript is not installed in node_modules' }, () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'wasync-types-'));
    try {
      writeFileSync(
        path.join(dir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            strict: true,
            noEmit: true,
            skipLibCheck: false,
            target: 'es2022',
            module: 'esnext',
            moduleResolution: 'bundler',
            lib,
            types: [],
            paths: {
              wasync: [path.join(root, 'js/index.d.ts')],
              'wasync/serve': [path.join(root, 'js/serve.d.ts')],
            },
          },
          files: [path.join(root, 'tests/js/types/user.ts'), path.join(dir, 'timers.d.ts')],
        }),
      );
      // the user's own platform: setTimeout and console come from it, not from wasync
      writeFileSync(
        path.join(dir, 'timers.d.ts'),
        lib.includes('dom')
          ? 'export {};\n'
          : 'declare function setTimeout(f: () => void, ms: number): unknown;\ndeclare const console: { log(...a: unknown[]): void };\n',
      );
      let out = '';
      try {
        execFileSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8', stdio: 'pipe' });
      } catch (e) {
        out = `${e.stdout}${e.stderr}`;
      }
      assert.equal(out, '', `tsc reported errors:\n${out}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
