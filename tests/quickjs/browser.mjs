// browser.mjs -- runs tests/quickjs/page.html in one browser engine, through
// the shared launcher (tests/browser/engines.mjs), in each mode the engine
// has: prints the cases' lines ("ok ...", "FAIL ...", "skip ...").
//
//   node tests/quickjs/browser.mjs [chromium|firefox|webkit] [FILTER]
//   (QUICKJS_MODES=asyncify,worker: only these modes)
//
// The repository is served by js/serve.js (cross-origin isolated: the worker
// mode needs SharedArrayBuffer). WebKitGTK is launched with
// JSC_useSharedArrayBuffer=1, as Safari behaves on an isolated page; it has
// no JSPI. A mode the engine lacks is skipped with the reason. The page
// reports through window.__results = {done, pass, fail, lines}, polled
// inside the page (waitInPage): new lines are printed as they come.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '../../js/serve.js';
import { launchEngine, waitInPage } from '../browser/engines.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const engineName = process.argv[2] ?? 'chromium';
const filter = process.argv[3] ?? '';
const PAGE_MS = 300000;
const ENV = { webkit: { JSC_useSharedArrayBuffer: '1' } };

const { server, url } = await serve({ root, port: 0 });
let failed = false;
let engine;
try {
  engine = await launchEngine(engineName, { env: ENV[engineName] ?? {} });
  if (engine.skip) {
    console.log(`skip ${engineName}: ${engine.skip}`);
  } else {
    console.log(`note ${engineName} ${engine.version ?? ''}`);
    for (const mode of (process.env.QUICKJS_MODES ?? 'jspi,asyncify,worker').split(',')) {
      const page = await engine.newPage();
      try {
        const q = `?mode=${mode}${filter ? `&filter=${encodeURIComponent(filter)}` : ''}`;
        await page.goto(`${url}tests/quickjs/page.html${q}`);
        const lacks = await page.evaluate((m) => {
          if (m === 'jspi')
            return typeof WebAssembly.Suspending === 'function' && typeof WebAssembly.promising === 'function'
              ? ''
              : 'this engine has no JSPI (WebAssembly.Suspending)';
          if (m === 'worker') {
            if (!globalThis.crossOriginIsolated) return 'the page is not cross-origin isolated';
            if (typeof SharedArrayBuffer !== 'function') return 'this engine has no SharedArrayBuffer';
          }
          return '';
        }, mode);
        if (lacks) {
          console.log(`skip ${mode}: ${lacks}`);
          continue;
        }
        // Print the page's lines as they come.
        const deadline = Date.now() + PAGE_MS;
        let shown = 0;
        let done = false;
        while (!done) {
          const r = await waitInPage(
            page,
            new Function(`const r = window.__results; return r && (r.done || r.lines.length > ${shown}) ? r : null;`),
            Math.max(0, deadline - Date.now()),
            `${engineName} ${mode}: the page`,
          );
          for (const line of r.lines.slice(shown)) console.log(line.replace(/^(ok|FAIL|skip|note) /, `$1 ${mode}: `));
          shown = r.lines.length;
          done = r.done;
        }
      } catch (e) {
        console.log(`FAIL ${mode}: ${e.message}`);
        failed = true;
      } finally {
        for (const m of page.console?.() ?? []) {
          if (m.type === 'pageerror') console.log(`  [page error] ${m.text}`);
          else if (m.text.startsWith('note ')) console.log(`note ${mode}: ${m.text.slice(5)}`);
        }
        await page.close().catch(() => {});
      }
    }
  }
} catch (e) {
  console.log(`FAIL ${engineName}: ${e.message}`);
  failed = true;
} finally {
  await engine?.close?.();
  server.close();
}
process.exit(failed ? 1 : 0);
