// run.mjs -- the spec-suite test: wasync against V8 and the WebAssembly spec
// test suites (../shared/spec-testsuite and ../shared/spec-testsuite-2.0).
//
//   node tests/spec/run.mjs [--transform=roundtrip|asyncify] [--jobs=N]
//                           [--asyncify-args='ARGS for wasync asyncify']
//        [--timeout=SECONDS] [--filter=SUBSTR,...] [--suite=NAME]
//        [--wasync=PATH] [--verbose]
//
// Converts every .wast with wast2json (cached, see common.mjs), then hands the
// scripts to Node 26 workers (worker.mjs; largest first, one at a time, so
// two workers stay busy); a script that takes longer than --timeout (default
// 120 s) or kills its worker is a failure and the worker is replaced.
//
// What counts (each line of `spec: N passed, N failed` is a check):
//   - one check per valid module of a script (module, module_definition,
//     assert_unlinkable, assert_uninstantiable): wasync accepts it whenever
//     V8 does, the transform succeeds, a roundtrip is byte-identical, and a
//     differing output still validates (V8; wabt where wabt took the input);
//   - one check per binary assert_invalid / assert_malformed: wasync
//     validate exits 1 with `FILE:0xOFF: error: MSG` (a different MSG from the
//     script's text is only reported);
//   - one check per script: it could be converted and run, and the passing
//     command indices with the original and the transformed modules are
//     identical (commands that fail in V8 with the original modules are only
//     reported: that is V8's or the harness's business, not wasync's).
// tests/spec/known.json maps "suite/script:module.wasm", "script:module.wasm",
// "suite/script" or "script" to a reason; matching failures are listed as
// known and not counted.  A full JSON report goes to
// tests/spec/out/report-<transform>.json.

import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { discover, findTool, NODE26, ROOT, HERE, OUT, SHARED } from './common.mjs';

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const a = argv.find((x) => x === `--${name}` || x.startsWith(`--${name}=`));
  if (!a) return dflt;
  return a.includes('=') ? a.slice(a.indexOf('=') + 1) : true;
};
const transform = opt('transform', 'roundtrip');
const jobs = Math.max(1, Number(opt('jobs', process.env.SPEC_JOBS || 2)));
const timeoutMs = Number(opt('timeout', 120)) * 1000;
const filter = opt('filter', null) ? String(opt('filter')).split(',') : null;
const suitesOpt = opt('suite', null) ? String(opt('suite')).split(',') : null;
const wasync = path.resolve(opt('wasync', process.env.WASYNC || path.join(ROOT, 'build/wasync')));
const verbose = !!opt('verbose', false);
// --asyncify-args='--split-rewind=1 ...': extra `wasync asyncify` arguments
const asyncifyArgs = opt('asyncify-args', '') ? String(opt('asyncify-args')).split(/\s+/).filter(Boolean) : [];
const LIMIT = verbose ? Infinity : 40;

if (!['roundtrip', 'asyncify'].includes(transform)) {
  console.error(`spec: unknown --transform=${transform} (roundtrip or asyncify)`);
  process.exit(2);
}

const t0 = Date.now();
if (!fs.existsSync(SHARED)) {
  console.log(`*** SKIP: ${SHARED} is absent: the spec suites were not checked ***`);
  console.log('spec: 0 passed, 0 failed (skipped)');
  process.exit(0);
}
if (!fs.existsSync(NODE26)) {
  console.error(`spec: ${NODE26} is missing (run npm ci / make deps)`);
  console.log('spec: 0 passed, 1 failed');
  process.exit(1);
}
if (!fs.existsSync(wasync)) {
  console.error(`spec: ${wasync} is missing (run make)`);
  console.log('spec: 0 passed, 1 failed');
  process.exit(1);
}
const wabt = findTool('wasm-validate');
if (!wabt) console.log('spec: note: wasm-validate (wabt) not found; output is checked with V8 only');

let known = {};
try {
  known = JSON.parse(fs.readFileSync(path.join(HERE, 'known.json'), 'utf8'));
} catch (e) {
  if (e.code !== 'ENOENT') {
    console.error(`spec: tests/spec/known.json: ${e.message}`);
    process.exit(2);
  }
}
const knownReason = (suite, rel, file) => {
  const keys = file ? [`${suite}/${rel}:${file}`, `${rel}:${file}`] : [];
  keys.push(`${suite}/${rel}`, rel);
  for (const k of keys) if (Object.hasOwn(known, k)) return known[k];
  return null;
};

// ---- conversion -------------------------------------------------------------
const { scripts, skipped } = discover({ filter, suites: suitesOpt });
for (const s of skipped) console.log(`*** SKIP: ../shared/${s} is absent: that suite was not checked ***`);
if (scripts.length === 0) {
  console.log(`*** SKIP: no spec scripts found${filter ? ` matching ${filter}` : ''} ***`);
  console.log('spec: 0 passed, 0 failed (skipped)');
  process.exit(0);
}
const tConv = Date.now();
const runnable = scripts.filter((s) => s.route !== 'none');
const unrunnable = scripts.filter((s) => s.route === 'none');

// ---- workers ------------------------------------------------------------------
const size = (s) => {
  try {
    return fs.statSync(s.json).size;
  } catch {
    return 0;
  }
};
const queue = runnable.map((s) => ({ s, size: size(s) })).sort((a, b) => b.size - a.size).map((x) => x.s);
const results = new Map();

function startWorker(onIdle) {
  // detached: its own process group, so a timeout kills the wasync processes
  // it started as well.
  const child = spawn(NODE26, [path.join(HERE, 'worker.mjs')], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  const w = { child, job: null, timer: null, buf: '', err: '', dead: false };
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => {
    w.err = (w.err + d).slice(-4000);
  });
  child.stdout.on('data', (d) => {
    w.buf += d;
    let nl;
    while ((nl = w.buf.indexOf('\n')) >= 0) {
      const line = w.buf.slice(0, nl);
      w.buf = w.buf.slice(nl + 1);
      if (!line.startsWith('@@R ')) continue;
      const r = JSON.parse(line.slice(4));
      clearTimeout(w.timer);
      results.set(r.id, r);
      w.job = null;
      w.err = '';
      onIdle(w);
    }
  });
  child.on('exit', (code, signal) => {
    w.dead = true;
    clearTimeout(w.timer);
    if (w.job) {
      const why = w.timedOut ? `timeout after ${timeoutMs / 1000} s` : `worker died (${signal || `exit ${code}`})`;
      const tail = w.err.trim().split('\n').slice(-3).join(' | ');
      results.set(w.job.id, { id: w.job.id, error: `${why}${tail ? `: ${tail}` : ''}` });
      w.job = null;
      onIdle(null);
    }
  });
  child.stdin.on('error', () => {});
  return w;
}

await new Promise((resolve) => {
  let live = 0;
  const give = (w) => {
    if (w && w.dead) w = null;
    if (queue.length === 0) {
      if (w) {
        w.child.stdin.end();
        live--;
      } else live--;
      if (live === 0) resolve();
      return;
    }
    if (!w) w = startWorker(give);
    const s = queue.shift();
    w.job = s;
    w.timedOut = false;
    w.timer = setTimeout(() => {
      w.timedOut = true;
      try {
        process.kill(-w.child.pid, 'SIGKILL');
      } catch {
        w.child.kill('SIGKILL');
      }
    }, timeoutMs);
    w.child.stdin.write(`${JSON.stringify({ script: s, wasync, transform, wabt, asyncifyArgs })}\n`);
  };
  const n = Math.min(jobs, queue.length);
  live = n;
  if (n === 0) resolve();
  for (let i = 0; i < n; i++) give(startWorker(give));
});

// ---- report ---------------------------------------------------------------------
let passed = 0;
let failed = 0;
const failures = [];
const knownHits = [];
const info = { v8Rejects: [], msgDiffers: [], origFails: [], differing: [] };
const suiteNames = [...new Set(scripts.map((s) => s.suite))];
const tot = {};
for (const sn of suiteNames) {
  tot[sn] = {
    scripts: 0, byRoute: {}, unrunnable: 0, errors: 0,
    modules: 0, v8Accepted: 0, v8Rejected: 0, wasyncAccepted: 0, wasyncRejected: 0, mismatched: 0,
    wasyncOnly: 0, transformed: 0, transformFailed: 0, identical: 0, differing: 0, outInvalid: 0,
    rejects: 0, rejected: 0, accepted: 0, crashed: 0, badFormat: 0, msgDiffers: 0,
    skipReasons: {}, commands: 0, origPass: 0, xformPass: 0, origFail: 0, skipped: 0, regressions: 0, improvements: 0,
    passed: 0, failed: 0,
  };
}
const check = (t, ok, suite, rel, file, what) => {
  if (ok) {
    passed++;
    t.passed++;
    return;
  }
  const reason = knownReason(suite, rel, file);
  if (reason !== null) {
    passed++;
    t.passed++;
    knownHits.push(`${suite}/${rel}${file ? `:${file}` : ''}: ${what} [known: ${reason}]`);
    return;
  }
  failed++;
  t.failed++;
  failures.push(`${suite}/${rel}${file ? `:${file}` : ''}: ${what}`);
};

for (const s of scripts) {
  const t = tot[s.suite];
  t.scripts++;
  t.byRoute[s.route] = (t.byRoute[s.route] || 0) + 1;
  if (s.route === 'none') {
    t.unrunnable++;
    check(t, false, s.suite, s.rel, null, `could not be run by any route (${s.why})`);
    continue;
  }
  const r = results.get(s.id);
  if (!r || r.error) {
    t.errors++;
    check(t, false, s.suite, s.rel, null, r ? r.error : 'no result');
    continue;
  }
  for (const m of r.modules) {
    t.modules++;
    if (m.v8) t.v8Accepted++;
    else t.v8Rejected++;
    if (m.wasync === 'ok') t.wasyncAccepted++;
    else t.wasyncRejected++;
    if (m.v8 && m.wasync !== 'ok') t.mismatched++;
    if (!m.v8 && m.wasync === 'ok') {
      t.wasyncOnly++;
    }
    if (!m.v8) info.v8Rejects.push(`${s.id}:${m.file}: ${m.notes.join('; ')}`);
    if (m.transform === 'ok') t.transformed++;
    else if (m.transform) t.transformFailed++;
    if (m.identical === true) t.identical++;
    if (m.identical === false) {
      t.differing++;
      info.differing.push(`${s.id}:${m.file}: first difference at 0x${m.diff.at.toString(16)}, ${m.diff.inSize} -> ${m.diff.outSize} bytes`);
    }
    if (m.problems.some((p) => p.startsWith('output fails'))) t.outInvalid++;
    check(t, m.problems.length === 0, s.suite, s.rel, m.file, m.problems.join('; '));
  }
  for (const j of r.rejects) {
    t.rejects++;
    let ok = false;
    let what;
    if (j.verdict === 'reject') {
      t.rejected++;
      ok = true;
      if (!j.textMatch) {
        t.msgDiffers++;
        info.msgDiffers.push(`${s.id}:${j.file} (line ${j.line}): expected "${j.text}", wasync: "${j.msg}"`);
      }
    } else if (j.verdict === 'ok') {
      t.accepted++;
      what = `${j.type} (line ${j.line}, "${j.text}") ACCEPTED by wasync validate${j.v8 ? ' (V8 accepts it too)' : ''}`;
    } else {
      if (j.verdict === 'badformat') t.badFormat++;
      else t.crashed++;
      what = `${j.type} (line ${j.line}, "${j.text}"): wasync validate ${j.verdict}${j.detail ? `: ${j.detail}` : ''}`;
    }
    check(t, ok, s.suite, s.rel, j.file, what);
  }
  const a = r.assertions;
  for (const [k, v] of Object.entries(r.skipReasons || {})) t.skipReasons[k] = (t.skipReasons[k] || 0) + v;
  t.commands += r.commands;
  t.origPass += a.origPass;
  t.xformPass += a.xformPass;
  t.origFail += a.origFail;
  t.skipped += a.skipped;
  for (const d of a.differences) {
    if (d.orig === 'pass') t.regressions++;
    else t.improvements++;
  }
  for (const f of a.origFails) info.origFails.push(`${s.id}:${f.line} ${f.type}: ${f.why}`);
  const diffText = a.differences.slice(0, verbose ? Infinity : 5)
    .map((d) => `\n      #${d.index} line ${d.line} ${d.type}: original ${d.orig} / transformed ${d.xform}`).join('') +
    (a.differences.length > 5 && !verbose ? `\n      ... ${a.differences.length - 5} more (--verbose)` : '');
  check(t, a.differences.length === 0, s.suite, s.rel, null,
    `${a.differences.length} command(s) differ between original and transformed modules:${diffText}`);
}

const list = (title, items) => {
  if (items.length === 0) return;
  console.log(`\n${title} (${items.length}):`);
  for (const x of items.slice(0, LIMIT)) console.log(`  ${x}`);
  if (items.length > LIMIT) console.log(`  ... ${items.length - LIMIT} more (--verbose shows all; full list in the JSON report)`);
};

console.log(`spec: transform=${transform}${asyncifyArgs.length ? ` (${asyncifyArgs.join(' ')})` : ''}, wasync=${path.relative(ROOT, wasync) || wasync}, ${jobs} worker(s)`);
list('scripts that could not be run by any route', unrunnable.map((s) => `${s.id}: ${s.why}`));
if (unrunnable.length === 0) console.log(`scripts that could not be run by any route: none (of ${scripts.length})`);
list('valid modules V8 rejects (informational)', info.v8Rejects);
list('rejected with a message other than the script\'s (informational)', info.msgDiffers);
list('commands failing in V8 with the ORIGINAL modules (informational)', info.origFails);
list('known failures (tests/spec/known.json)', knownHits);
list('FAILURES', failures);

console.log('\nper suite:');
for (const sn of suiteNames) {
  const t = tot[sn];
  const routes = Object.entries(t.byRoute).map(([k, v]) => `${k} ${v}`).join(', ');
  console.log(`  ${sn}: ${t.scripts} scripts (${routes}), ${t.errors} harness errors/timeouts`);
  console.log(`    valid modules: ${t.modules}; V8 accepts ${t.v8Accepted}, rejects ${t.v8Rejected}; ` +
    `wasync accepts ${t.wasyncAccepted}, rejects ${t.wasyncRejected}; mismatched ${t.mismatched}; ` +
    `wasync-only accepts ${t.wasyncOnly}`);
  console.log(`    transform (${transform}): ${t.transformed} ok, ${t.transformFailed} failed; ` +
    (transform === 'roundtrip' ? `byte-identical ${t.identical}, differing ${t.differing}; ` : `differing ${t.differing}; `) +
    `invalid outputs ${t.outInvalid}`);
  console.log(`    binary invalid/malformed: ${t.rejects}; rejected ${t.rejected}, ACCEPTED ${t.accepted}, ` +
    `crash/timeout ${t.crashed}, bad message format ${t.badFormat}; other message ${t.msgDiffers}`);
  console.log(`    commands: ${t.commands}; passed original ${t.origPass}, transformed ${t.xformPass}; ` +
    `failed original ${t.origFail}; not runnable ${t.skipped}; regressions ${t.regressions}, other differences ${t.improvements}`);
  const why = Object.entries(t.skipReasons).sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k} ${v}`).join(', ');
  if (why) console.log(`    not runnable: ${why}`);
  console.log(`    checks: ${t.passed} passed, ${t.failed} failed`);
}
console.log(`time: conversion ${((tConv - t0) / 1000).toFixed(1)} s, total ${((Date.now() - t0) / 1000).toFixed(1)} s`);

fs.mkdirSync(OUT, { recursive: true });
fs.writeFileSync(path.join(OUT, `report-${transform}.json`), JSON.stringify({
  transform, totals: tot, failures, known: knownHits, info,
  unrunnable: unrunnable.map((s) => ({ id: s.id, why: s.why })),
  results: Object.fromEntries(results),
}, null, 1));
console.log(`spec: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
