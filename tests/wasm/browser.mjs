// browser.mjs -- wasync/transform in Chromium and Firefox
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
  check(r.error?.isTransformError && r.error.message === "wasync: in.wasm:0x9: unexpected end" && r.error.offset === 9, `${engine}: errors carry message and offset`, JSON.stringify(r.error));
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
  } finally {
    await context?.close();
    server.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
