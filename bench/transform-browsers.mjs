// transform-browsers.mjs -- the browser half of bench/transform.mjs: the
// same asyncify transforms timed inside Chromium, Firefox and WebKitGTK
// pages, and the first vs cached load of an app that instantiates a plain
// QuickJS on an engine without JSPI.
//
// The pages (bench/transform-page.html, bench/transform-otf.html) are
// served from the repository root by js/bin/wasync-serve.mjs (a child
// process, so serving 14 MB inputs does not run on the bench's own event
// loop; Cache-Control: no-store, so nothing comes from the HTTP cache), and
// the engines are driven through tests/browser/engines.mjs.  Every
// measurement opens a fresh page, so a "first call" really compiles the
// transform (or binaryen's 14 MB index.js) again.
//
//   browserTimes({ root, engines, inputs, binaryenRuns, log })
//     inputs: [{ name, url, runs, nativeHash, binaryen: bool, binaryenHash }]
//     -> { [engine]: { version, skip?, rows: { [input]: { wasync, binaryen } } } }
//   onTheFlyLoads({ root, engines, log }) -> { [engine]: { first, cached } }
//
// A failure of one measurement is recorded ({ error }) and the run goes on.
import { spawn } from "node:child_process";
import path from "node:path";
import { pathToFileURL } from "node:url";

const STEP_MS = 15 * 60 * 1000; // binaryen on esbuild.wasm in a page may take minutes

// Starts js/bin/wasync-serve.mjs on a free port; resolves to { url, stop }.
export function startServer(root) {
  const child = spawn(process.execPath, [path.join(root, "js/bin/wasync-serve.mjs"), root, "--port", "0", "--quiet"], { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr.on("data", (d) => (err += d));
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => (child.kill(), reject(new Error("wasync-serve printed no URL in 30 s"))), 30000);
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/at (http:\/\/\S+)/);
      if (m) {
        clearTimeout(t);
        resolve({ url: m[1].endsWith("/") ? m[1] : `${m[1]}/`, stop: () => child.kill() });
      }
    });
    child.on("exit", (code) => (clearTimeout(t), reject(new Error(`wasync-serve exited (${code}): ${err.trim()}`))));
  });
}

async function launch(root, name) {
  const { launchEngine } = await import(pathToFileURL(path.join(root, "tests/browser/engines.mjs")));
  // Firefox would stop a script that runs for more than 10 s on the main thread
  return launchEngine(name, { timeout: STEP_MS, prefs: { "dom.max_script_run_time": 0 } });
}

// One evaluate in a fresh page of `engine`.
async function inPage(engine, url, source) {
  const page = await engine.newPage();
  try {
    await page.goto(url);
    for (let i = 0; i < 300; i++) {
      if (await page.evaluate("window.benchReady === true")) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    return await page.evaluate(source);
  } finally {
    await page.close().catch(() => {});
  }
}

const call = (fn, arg) => `window.bench.${fn}(${JSON.stringify(arg)})`;

// Serves the repository, then runs fn(engine, server) in each engine that
// launches; an engine that is absent or fails to launch is recorded as
// { skip: reason }.  Resolves to { [engine]: fn's result }.
async function eachEngine(root, engines, log, fn) {
  const server = await startServer(root);
  const out = {};
  try {
    for (const name of engines) {
      let engine;
      try {
        engine = await launch(root, name);
      } catch (e) {
        engine = { skip: `launch failed: ${e.message.split("\n")[0]}` };
      }
      if (engine.skip) {
        out[name] = { skip: engine.skip };
        log(`  ${name}: SKIP ${engine.skip}`);
        continue;
      }
      try {
        out[name] = { version: engine.version, ...(await fn(engine, server)) };
      } finally {
        await engine.close();
      }
    }
  } finally {
    server.stop();
  }
  return out;
}

export function browserTimes({ root, engines, inputs, binaryenRuns, log = console.log }) {
  return eachEngine(root, engines, log, async (engine, server) => {
    const rows = {};
    log(`  ${engine.name} (${engine.version}):`);
    const page = `${server.url}bench/transform-page.html`;
    for (const input of inputs) {
      const row = (rows[input.name] = {});
      try {
        row.wasync = await inPage(engine, page, call("wasync", { url: input.url, runs: input.runs }));
        row.wasync.identical = row.wasync.hash === input.nativeHash;
        log(`    ${input.name}: wasync/transform first call ${ms(row.wasync.first)}, steady ${ms(row.wasync.steady)}; output ${row.wasync.identical ? "= native CLI" : "DIFFERS from the native CLI"}`);
      } catch (e) {
        row.wasync = { error: e.message.split("\n")[0] };
        log(`    ${input.name}: wasync/transform failed: ${row.wasync.error}`);
      }
      if (!input.binaryen) continue;
      try {
        row.binaryen = await inPage(engine, page, call("binaryen", { url: input.url, runs: binaryenRuns }));
        row.binaryen.sameAsWasmOpt = input.binaryenHash ? row.binaryen.hash === input.binaryenHash : null;
        log(`    ${input.name}: npm binaryen load ${ms(row.binaryen.load)} + asyncify ${ms(row.binaryen.steady)}${row.binaryen.sameAsWasmOpt === false ? " (output differs from wasm-opt's)" : ""}`);
      } catch (e) {
        row.binaryen = { error: e.message.split("\n")[0] };
        log(`    ${input.name}: npm binaryen failed: ${row.binaryen.error}`);
      }
    }
    return { rows };
  });
}

// The app page loaded twice in one engine (one profile: the Cache API entry
// the first load stores is there for the second).
export function onTheFlyLoads({ root, engines, log = console.log }) {
  return eachEngine(root, engines, log, async (engine, server) => {
    const loads = [];
    for (let i = 0; i < 2; i++) {
      const page = await engine.newPage();
      try {
        await page.goto(`${server.url}bench/transform-otf.html`);
        let r = null;
        for (let k = 0; k < 1200 && !r; k++) {
          r = await page.evaluate("window.__results ?? null");
          if (!r) await new Promise((res) => setTimeout(res, 100));
        }
        loads.push(r ?? { failure: "no result in 120 s" });
      } finally {
        await page.close().catch(() => {});
      }
    }
    const [first, cached] = loads;
    const line = (r) => (r.failure ? `failed: ${r.failure.split("\n")[0]}` : `${ms(r.done)} (mode ${r.mode}; ${r.stages.join(", ") || "no on-the-fly asyncify"}; QuickJS says ${r.value})`);
    log(`  ${engine.name} (${engine.version}): first load ${line(first)}`);
    log(`  ${" ".repeat(engine.name.length)}   cached load ${line(cached)}`);
    return { first, cached };
  });
}

function ms(v) {
  if (v === null || v === undefined) return "-";
  return v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(0)} ms`;
}
