// Browser side of tests/wasi/browser.mjs: under a Content-Security-Policy
// without 'unsafe-eval', building WASYNC_ASYNC_JS imports fails with the
// wasync: message that says what to do (and nothing else breaks).
import { guestJsImports, guestJsDeclarations } from '../../js/wasi/guest-js.js';

const checks = [];
try {
  const bytes = new Uint8Array(await (await fetch('../../build/wasi-tests/guest.wasm')).arrayBuffer());
  checks.push({ name: 'the module declares WASYNC_ASYNC_JS imports', ok: guestJsDeclarations(bytes).length === 2 });
  let msg = '';
  try {
    guestJsImports(bytes);
    msg = '(no error)';
  } catch (e) {
    msg = e.message;
  }
  checks.push({ name: 'CSP refusal gives the wasync: message', ok: /^wasync: this page's Content-Security-Policy forbids new Function/.test(msg), detail: msg });
} catch (e) {
  checks.push({ name: 'page', ok: false, detail: String(e) });
}
window.__results = { done: true, checks };
document.getElementById('log').textContent = JSON.stringify(window.__results, null, 1);
