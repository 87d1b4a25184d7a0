// browser.mjs -- wasync/transform in Chromium (tests/wasm/page.html): the
// page's and a worker's asyncify output equal build/wasync's, errors carry
// the offset, and on-the-fly asyncify (in its own worker) hits the Cache
// API the second time.  Called by tests/wasm/run.mjs with its check().
// Skips loudly when Chromium is missing.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import crypto from "node:crypto";
import { spawnSync } from "node:child_process";

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
    const r = await page.evaluate(() => window.__results);
    check(!r.failure, "browser: the page ran", r.failure);
    check(r.page === want, "browser: wasync/transform in a page gives build/wasync's bytes");
    check(r.worker === want, "browser: wasync/transform in a worker gives build/wasync's bytes");
    check(r.error?.isTransformError && r.error.message === "wasync: in.wasm:0x9: unexpected end" && r.error.offset === 9, "browser: errors carry message and offset", JSON.stringify(r.error));
    check(r.validate?.valid === true, "browser: validate");
    const [first, second] = r.onTheFly ?? [];
    check(first?.stages.includes("transform") && !first.stages.includes("cache-hit"), "browser: on-the-fly asyncify transforms the first time", JSON.stringify(first));
    check(second?.stages.includes("cache-hit") && !second.stages.includes("transform"), "browser: the second load hits the Cache API", JSON.stringify(second));
    check(first?.hash === second?.hash, "browser: cached bytes equal the transformed ones");
  } finally {
    await context?.close();
    server.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
