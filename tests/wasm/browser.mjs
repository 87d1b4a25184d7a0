// browser.mjs -- wasync/transform in Chromium, Firefox and WebKitGTK
// (tests/wasm/page.html): the
// page's and a worker's asyncify output equal build/wasync's, errors carry
// the offset, and on-the-fly asyncify (in its own worker) hits the Cache
// API the second time.  Called by tests/wasm/run.mjs with its check().
// Skips loudly when Chromium is missing.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import crypto from "node:crypto";
import { spawnSync } from "node:child_process";

function checkResults(engine, r, want, check) {
  check(!r.failure, `${engine}: the page ran`, r.failure);
  check(r.page === want, `${engine}: wasync/transform in a page gives build/wasync's bytes`);
  check(r.worker === want, `${engine}: wasync/transform in a worker gives build/wasync's bytes`);
  check(r.error?.isTransformError && r.error.message === "wasync: in.wasm:0x9: unexpected end (reading section size)" && r.error.offset === 9, `${engine}: errors carry message and offset`, JSON.stringify(r.error));
  check(r.validate?.valid === true, `${engine}: validate`);
  const [first, second] = r.onTheFly ?? [];
  check(first?.stages.includes("transform") && !first.stages.includes("cache-hit"), `${engine}: on-the-fly asyncify transforms the first time`, JSON.stringify(first));
  check(second?.stages.includes("cache-hit") && !second.stages.includes("transform"), `${engine}: the second load hits the Cache API`, JSON.stringify(second));
  check(first?.hash === second?.hash && first?.hash === want, `${engine}: cached bytes equal the transformed ones`);
}

// Firefox through puppeteer-core; skips loudly when absent.
async function firefox(url, want, check) {
  const executablePath = process.env.FIREFOX ?? "/usr/bin/firefox-esr";
  if (!fs.existsSync(executablePath)) {
    console.log(`SKIP firefox: no Firefox at ${executablePath}`);
    return;
  }
  const { default: puppeteer } = await import("puppeteer-core");
  const browser = await puppeteer.launch({ browser: "firefox", executablePath, headless: true, timeout: 90000 });
  try {
    const page = await browser.newPage();
    await page.goto(`${url}tests/wasm/page.html`);
    await page.waitForFunction(() => window.__results, { timeout: 120000 });
    checkResults("firefox", await page.evaluate(() => window.__results), want, check);
  } finally {
    await browser.close();
  }
}

// WebKitGTK (JavaScriptCore: no JSPI, the Safari case) through WebDriver
// HTTP to WebKitWebDriver, MiniBrowser under Xvfb; skips loudly when absent.
async function webkit(url, want, check) {
  const minibrowser = process.env.MINIBROWSER ?? "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser";
  const which = (t) => spawnSync("sh", ["-c", `command -v ${t}`]).status === 0;
  if (!fs.existsSync(minibrowser) || !which("WebKitWebDriver") || !which("Xvfb")) {
    console.log("SKIP webkit: needs MiniBrowser, WebKitWebDriver and Xvfb");
    return;
  }
  const { spawn } = await import("node:child_process");
  const xvfb = spawn("Xvfb", ["-displayfd", "1", "-screen", "0", "1024x768x24"], { stdio: ["ignore", "pipe", "ignore"] });
  let driver = null;
  try {
    const display = await new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("Xvfb printed no display in 30 s")), 30000);
      xvfb.stdout.once("data", (d) => (clearTimeout(t), resolve(String(d).trim())));
    });
    const port = 4400 + Math.floor(Math.random() * 2000);
    driver = spawn("WebKitWebDriver", [`--port=${port}`], { env: { ...process.env, DISPLAY: `:${display}` }, stdio: "ignore" });
    const wd = async (method, p, body) => {
      const r = await fetch(`http://127.0.0.1:${port}${p}`, { method, headers: { "content-type": "application/json" }, body: body && JSON.stringify(body), signal: AbortSignal.timeout(60000) });
      return (await r.json()).value;
    };
    let session = null;
    for (let i = 0; i < 30 && !session; i++) {
      await new Promise((r) => setTimeout(r, 500));
      session = await wd("POST", "/session", { capabilities: { alwaysMatch: { "webkitgtk:browserOptions": { binary: minibrowser, args: ["--automation"] } } } }).catch(() => null);
    }
    if (!check(session?.sessionId, "webkit: a WebDriver session", JSON.stringify(session))) return;
    const id = session.sessionId;
    await wd("POST", `/session/${id}/url`, { url: `${url}tests/wasm/page.html` });
    let r = null;
    for (let i = 0; i < 120 && !r; i++) {
      await new Promise((res) => setTimeout(res, 1000));
      r = await wd("POST", `/session/${id}/execute/sync`, { script: "return window.__results ?? null", args: [] });
    }
    check(r, "webkit: the page reported within 120 s");
    if (r) checkResults("webkit", r, want, check);
    await wd("DELETE", `/session/${id}`).catch(() => {});
  } finally {
    driver?.kill();
    xvfb.kill();
  }
}

export async function browserChecks(root, check) {
  const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
  if (!fs.existsSync(executablePath)) {
    console.log(`SKIP browser: no Chromium at ${executablePath}`);
    return;
  }
  const { chromium } = await import("playwright-core");
  const { serve } = await import(path.join(root, "js/serve.js"));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "wasync-wasm-browser-"));
  const nat = path.join(tmp, "n.wasm");
  spawnSync(path.join(root, "build/wasync"), ["asyncify", "--asserts", path.join(root, "tests/regress/pass-arg-short.wasm"), "-o", nat]);
  const want = crypto.createHash("sha256").update(fs.readFileSync(nat)).digest("hex");
  const { server, url } = await serve({ root, port: 0 });
  let context;
  try {
    context = await chromium.launchPersistentContext(path.join(tmp, "profile"), {
      executablePath,
      headless: true,
      timeout: 60000,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    const page = await context.newPage();
    page.setDefaultTimeout(60000);
    await page.goto(`${url}tests/wasm/page.html`);
    await page.waitForFunction(() => window.__results, null, { timeout: 120000 });
    checkResults("chromium", await page.evaluate(() => window.__results), want, check);
    await context.close();
    context = null;
    await firefox(url, want, check);
    await webkit(url, want, check);
  } finally {
    await context?.close();
    server.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
