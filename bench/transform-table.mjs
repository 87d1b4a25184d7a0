// transform-table.mjs -- bench/transform.mjs's results (transform.json) as
// the markdown tables of bench/out/transform.md.
//
//   node bench/transform-table.mjs [bench/out/transform.json]   prints them
//
// Times are wall times, medians of the runs.  A ratio "N×" after a wasync
// time is to the native CLI on the same module (goal: ≤ 2×), after a
// binaryen time it is binaryen / wasync in the same engine (goal: ≥ 50×);
// ratios divide the best (fastest) runs of both, the figure least disturbed
// by other jobs on a shared machine (the medians are in transform.json).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ENGINE_NAMES = { chromium: "Chromium", firefox: "Firefox", webkit: "WebKitGTK" };
const kb = (n) => `${Math.round(n / 1024).toLocaleString("en")} KB`;
const t = (ms) => (ms === null || ms === undefined ? "-" : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
const best = (m) => (m.times?.length ? Math.min(...m.times) : m.steady ?? m.first);
const x = (a, b) => (a && b ? `${(a / b).toFixed(a / b >= 10 ? 0 : 1)}×` : "-");

export function markdown(r) {
  const lines = [];
  const row = (cells) => lines.push(`| ${cells.join(" | ")} |`);
  const head = (cells) => (row(cells), row(cells.map(() => "---")));
  const m = r.meta ?? {};
  lines.push(`# wasync built for WebAssembly vs native and npm binaryen`, "");
  lines.push(`${m.date ?? ""} · Node ${m.node ?? "?"} · load average ${m.loadavg ?? "?"} (a shared 2-core machine) · wasync runs ${m.runs ?? "?"}, binaryen runs ${m.binaryenRuns ?? "?"}`, "");

  if (r.sizes?.length) {
    lines.push("## Download size", "");
    head(["file", "raw", "gzip -9", "brotli -11"]);
    for (const s of r.sizes) row([s.name, kb(s.raw), kb(s.gzip), kb(s.brotli)]);
    const ours = r.sizes[0], theirs = r.sizes.find((s) => s.name === "binaryen index.js");
    if (ours && theirs) row([`**binaryen index.js / ${ours.name}**`, x(theirs.raw, ours.raw), x(theirs.gzip, ours.gzip), `${x(theirs.brotli, ours.brotli)} (goal ≥ 20×)`]);
    lines.push("");
  }

  const engines = Object.keys(r.browsers ?? {});
  const skipped = engines.filter((e) => r.browsers[e].skip);
  const live = engines.filter((e) => !r.browsers[e].skip);
  if (r.times?.length) {
    lines.push("## Time to asyncify (every import async)", "");
    lines.push("wasync/transform (`js/wasync-transform.wasm`): steady state (ratio to the native CLI), then the first call of a fresh process or page (fetch/read + compile + transform).", "");
    head(["module", "native CLI", "npx wasync (Node process)", "Node, in process", ...live.map((e) => `${ENGINE_NAMES[e] ?? e} ${r.browsers[e].version?.split(" ").pop() ?? ""}`.trim())]);
    for (const tr of r.times) {
      const nat = tr.native.best ?? tr.native.wall;
      const cell = (steady, best, first, extra = "") => (steady === undefined ? "-" : `${steady === null ? "first call only" : t(steady)} (${x(best, nat)}); first ${t(first)}${extra}`);
      const cpu = !tr.wasm ? "" : ` · CPU ${t(tr.wasm.cpu)} = ${x(tr.wasm.cpu, tr.native.cpu)}`;
      const cells = [`${tr.name} (${kb(tr.size)})`, `${t(tr.native.wall)} · CPU ${t(tr.native.cpu)}`, !tr.npx ? "not run" : `${t(tr.npx.wall)} (${x(tr.npx.best ?? tr.npx.wall, nat)})`, !tr.wasm ? "not run" : cell(tr.wasm.wall, tr.wasm.best ?? tr.wasm.wall, tr.wasmFirst.wall, (tr.identical ? "" : " **output differs**") + cpu)];
      for (const e of live) {
        const b = r.browsers[e].rows?.[tr.name]?.wasync;
        cells.push(!b ? "-" : b.error ? `failed: ${b.error}` : cell(b.steady, best(b), b.first, b.identical ? "" : " **output differs**"));
      }
      row(cells);
    }
    lines.push("", "Every output above is byte-identical to the native CLI's unless marked.", "");

    lines.push("## npm binaryen `--asyncify`", "");
    lines.push("Node: `node node_modules/binaryen/bin/wasm-opt IN --asyncify -all -o OUT` as a process, ratio to `npx wasync` (also a process). Browsers: binaryen's `index.js` imported in the page (load = fetch + compile of its 14 MB), then readBinary + runPasses(['asyncify']) + emitBinary; the ratio is binaryen's transform to wasync/transform's steady state in the same engine.", "");
    head(["module", "Node (process)", ...live.map((e) => ENGINE_NAMES[e] ?? e)]);
    for (const tr of r.times) {
      const cells = [tr.name];
      const nb = tr.binaryen;
      cells.push(!nb || !tr.npx ? "not run" : nb.error ? `failed: ${nb.error}` : `${t(nb.wall)} (${x(nb.wall, tr.npx.best ?? tr.npx.wall)} npx wasync, ${x(nb.wall, tr.wasm.best ?? tr.wasm.wall)} in-process)`);
      for (const e of live) {
        const row_ = r.browsers[e].rows?.[tr.name] ?? {};
        const b = row_.binaryen, w = row_.wasync;
        cells.push(!b ? "not run" : b.error ? `failed: ${b.error}` : `${t(b.steady)} + load ${t(b.load)} (${w?.times ? x(best(b), best(w)) : "-"})`);
      }
      row(cells);
    }
    lines.push("");
  }
  if (skipped.length) lines.push(`Skipped engines: ${skipped.map((e) => `${e} (${r.browsers[e].skip})`).join("; ")}.`, "");

  const otf = r.onTheFly;
  if (otf) {
    lines.push("## On-the-fly asyncify: an app that instantiates a plain QuickJS", "");
    lines.push(`Input: \`${otf.input ?? "build/quickjs/qjs.wasm"}\`. Node: \`asyncifyOnTheFly\` to a compiled module, a fresh process each (cache directory). Browsers: \`bench/transform-otf.html\` (instantiate() in mode 'auto', then a script evaluated in QuickJS), loaded twice in one profile (Cache API); ms from navigation start to the script's result. Only an engine without JSPI asyncifies; the others run the plain module with JSPI.`, "");
    head(["engine", "mode", "first load", "cached load", "first / cached", "stages (first → cached)"]);
    if (otf.node) row([`Node ${otf.node.version}`, "asyncify", t(otf.node.first.ms), t(otf.node.cached.ms), x(otf.node.first.ms, otf.node.cached.ms), `${otf.node.first.stages.join(", ")} → ${otf.node.cached.stages.join(", ")}`]);
    for (const [e, p] of Object.entries(otf.page ?? {})) {
      if (p.skip) {
        row([ENGINE_NAMES[e] ?? e, "skipped", p.skip, "", "", ""]);
        continue;
      }
      const f = p.first ?? {}, c = p.cached ?? {};
      if (f.failure || c.failure) {
        row([`${ENGINE_NAMES[e] ?? e} ${p.version ?? ""}`, f.mode ?? "-", f.failure ? `failed: ${f.failure.split("\n")[0]}` : t(f.done), c.failure ? `failed: ${c.failure.split("\n")[0]}` : t(c.done), "-", ""]);
        continue;
      }
      const asyncified = f.stages.length > 0;
      row([`${ENGINE_NAMES[e] ?? e} ${p.version ?? ""}`, asyncified ? `${f.mode} (on the fly)` : `${f.mode} (plain module as is)`, t(f.done), t(c.done), asyncified ? x(f.done, c.done) : "-", `${f.stages.join(", ") || "none"} → ${c.stages.join(", ") || "none"}`]);
    }
    lines.push("");
  }
  return lines.join("\n");
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), "out/transform.json");
  process.stdout.write(markdown(JSON.parse(fs.readFileSync(file, "utf8"))));
}
