// The official WASI preview1 test suite as data: which tests exist and what
// each expects (../shared/wasi-testsuite/README.md, "How a test is run"), and
// the verdict for one run. Shared by run-suite.mjs (Node) and the browser page.

export const LANGS = ['assemblyscript', 'c', 'rust'];

/** [{name, lang, dir, wasm, spec}] for every preview1 test (Node only). */
export async function listTests(root) {
  const fs = await import('node:fs');
  const path = await import('node:path');
  const out = [];
  for (const lang of LANGS) {
    const dir = path.join(root, 'tests', lang, 'testsuite', 'wasm32-wasip1');
    for (const f of fs.readdirSync(dir).sort()) {
      if (!f.endsWith('.wasm')) continue;
      const name = f.slice(0, -5);
      const json = path.join(dir, name + '.json');
      const spec = { args: [], env: {}, root: null, exit_code: 0, ...(fs.existsSync(json) ? JSON.parse(fs.readFileSync(json, 'utf8')) : {}) };
      out.push({ name, lang, id: `${lang}/${name}`, dir, wasm: path.join(dir, f), spec });
    }
  }
  return out;
}

/** Verdict for a run {code, stdout, stderr, error}: null when it passed, else the reason. */
export function verdict(spec, run) {
  if (run.error) return run.error;
  if (run.code !== (spec.exit_code ?? 0)) {
    const tail = (run.stderr || '').trim().split('\n').slice(-2).join(' | ').slice(0, 200);
    return `exit code ${run.code}, expected ${spec.exit_code ?? 0}${tail ? ` (stderr: ${tail})` : ''}`;
  }
  for (const k of ['stdout', 'stderr']) {
    if (spec[k] === undefined) continue;
    const got = (run[k] ?? '').slice(0, spec[k].length);
    if (got !== spec[k]) return `${k} ${JSON.stringify(got)}, expected ${JSON.stringify(spec[k])}`;
  }
  return null;
}

/** Path of test `t` asyncified by build/wasync for wasync/wasi's ASYNC_IMPORTS (cached under build/). */
export async function asyncifiedCopy(t, repo) {
  const fs = await import('node:fs');
  const path = await import('node:path');
  const { execFileSync } = await import('node:child_process');
  const { ASYNC_IMPORTS } = await import('../../js/wasi/index.js');
  const out = path.join(repo, 'build', 'wasi-suite', t.lang, t.name + '.wasm');
  if (fs.existsSync(out) && fs.statSync(out).mtimeMs >= fs.statSync(t.wasm).mtimeMs) return out;
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const list = ASYNC_IMPORTS.map((n) => `wasi_snapshot_preview1.${n}`).join(',');
  execFileSync(path.join(repo, 'build', 'wasync'), ['asyncify', t.wasm, '-o', out, '--imports', list], { stdio: ['ignore', 'ignore', 'pipe'] });
  return out;
}
