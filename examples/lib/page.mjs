// Browser side of examples/lib/out.mjs: runs an example's core on a page,
// showing every line in <pre id="out"> and on the console, and publishes the
// outcome as window.__example for the gallery tests (tests/examples/run.mjs).
import { printer } from './out.mjs';

/** Fetches `url` (relative to the page) as bytes, with a clear error. */
export async function fetchBytes(url) {
  const res = await fetch(new URL(url, location.href));
  if (!res.ok) throw new Error(`wasync: ${url}: HTTP ${res.status} -- build the examples first: examples/build.sh`);
  return new Uint8Array(await res.arrayBuffer());
}

export async function fetchText(url) {
  const res = await fetch(new URL(url, location.href));
  if (!res.ok) throw new Error(`wasync: ${url}: HTTP ${res.status} -- build the examples first: examples/build.sh`);
  return res.text();
}

/**
 * Runs `main(print)` and reports; main returns the example's data. Starts
 * once the page has loaded and settled (SETTLE_MS after 'load'), so the
 * loading itself does not show up in the event-loop measurements.
 */
const SETTLE_MS = 300;
export async function startPage(main) {
  if (document.readyState !== 'complete') await new Promise((r) => addEventListener('load', r, { once: true }));
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const pre = document.getElementById('out');
  const status = document.getElementById('status');
  const { print, lines } = printer((line) => {
    console.log(line);
    pre.textContent += `${line}\n`;
  });
  try {
    const data = await main(print);
    status.textContent = 'done';
    status.className = 'pass';
    window.__example = { done: true, ok: true, lines, data: data ?? {} };
  } catch (e) {
    print(`error: ${e?.message ?? e}`);
    status.textContent = 'failed';
    status.className = 'fail';
    window.__example = { done: true, ok: false, lines, data: {}, error: String(e?.stack ?? e) };
  }
}
