// worker.mjs -- checks spec scripts one by one; runs under Node 26 (V8 with
// GC, exnref, memory64).  Started by run.mjs, it reads one JSON job per line
// on stdin ({ script, wasync, transform, wabt }) and answers each with one
// line `@@R <json>` on stdout (other stdout lines are ignored by the parent).
//
// Per script:
//  1. every module the script says is valid (module, module_definition,
//     assert_unlinkable/uninstantiable, assert_invalid_custom): compile in V8;
//     `wasync validate` (batched: one process per script) must accept what V8
//     accepts; transform it (`wasync roundtrip --reencode` or
//     `wasync asyncify`); the roundtrip output must be byte-identical; where
//     the output differs, it must still pass WebAssembly.validate (if V8
//     accepted the input) and wabt's wasm-validate (if wabt accepted the
//     input).
//  2. every binary assert_invalid / assert_malformed module: `wasync
//     validate` must exit 1 with `FILE:0xOFF: error: MSG` on stderr, no
//     crash, within a timeout; MSG is compared with the script's text
//     (informational).
//  3. all commands run twice in V8 (wast-runner.mjs): with the original
//     modules and with the transformed ones; the sets of passing command
//     indices must be identical.

import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { spawnSync } from 'node:child_process';
import { loadCommands, isValidModuleCommand, isBinaryRejectCommand, OUT } from './common.mjs';
import { run } from './wast-runner.mjs';

const MSG_RE = /^0x([0-9a-fA-F]+): error: (.+)$/;

function spawn(cmd, args, timeout) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout, maxBuffer: 64 << 20 });
  let kind;
  if (r.error && r.error.code === 'ETIMEDOUT') kind = 'timeout';
  else if (r.error) kind = `spawn error ${r.error.code || r.error.message}`;
  else if (r.signal) kind = `crash (signal ${r.signal})`;
  else if (r.status > 128) kind = `crash (exit ${r.status})`;
  else kind = null;
  return { status: r.status, stderr: r.stderr || '', stdout: r.stdout || '', bad: kind };
}

// Parses `FILE:0xOFF: error: MSG` lines of stderr for the given files.
function errorLines(stderr, files) {
  const found = new Map();
  const wanted = new Set(files);
  for (const line of stderr.split('\n')) {
    const i = line.indexOf(':0x');
    if (i < 0) continue;
    let f = line.slice(0, i);
    // A path could itself contain ":0x"; try every split point.
    let j = i;
    while (!wanted.has(f) && (j = line.indexOf(':0x', j + 1)) > 0) f = line.slice(0, j);
    if (!wanted.has(f)) continue;
    const m = MSG_RE.exec(line.slice(f.length + 1));
    if (m && !found.has(f)) found.set(f, { offset: parseInt(m[1], 16), msg: m[2] });
  }
  return found;
}

function validateOne(wasync, file) {
  const r = spawn(wasync, ['validate', file], 20000);
  if (r.bad) return { verdict: r.bad.startsWith('crash') ? 'crash' : r.bad, detail: r.bad };
  const lines = errorLines(r.stderr, [file]);
  if (r.status === 0) return { verdict: 'ok' };
  if (r.status === 1) {
    const l = lines.get(file);
    if (l) return { verdict: 'reject', msg: l.msg, offset: l.offset };
    return { verdict: 'badformat', detail: r.stderr.trim().split('\n')[0]?.slice(0, 200) || '(no message)' };
  }
  return { verdict: `exit ${r.status}`, detail: r.stderr.trim().split('\n')[0]?.slice(0, 200) };
}

// `wasync validate` on many files at once; falls back to one process per file
// for anything the batch leaves ambiguous (a crash, or files without a
// verdict after exit 1, which happens if the CLI stops at the first error).
function validateMany(wasync, files) {
  const res = new Map();
  if (files.length === 0) return res;
  const r = files.length > 1 ? spawn(wasync, ['validate', ...files], 120000) : { bad: 'single' };
  if (!r.bad && (r.status === 0 || r.status === 1)) {
    const lines = errorLines(r.stderr, files);
    for (const f of files) {
      const l = lines.get(f);
      if (l) res.set(f, { verdict: 'reject', msg: l.msg, offset: l.offset });
      else if (r.status === 0) res.set(f, { verdict: 'ok' });
    }
  }
  for (const f of files) if (!res.has(f)) res.set(f, validateOne(wasync, f));
  return res;
}

// The spec's wording of a wasync message: without the trailing context
// groups " (reading WHAT)" and " (in function N)", " (in global N)"...
// (src/reader.h), and
// without the details wasync gives after "type mismatch: " (the
// reference interpreter words its own details differently: "instruction
// requires [i32] but stack has [i64]").
export function specPart(msg) {
  const s = msg.replace(/( \((reading [^()]*|in [a-z ]+ \d+)\))+$/, '');
  return s.startsWith('type mismatch: ') ? 'type mismatch' : s;
}

function firstDiff(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

function checkScript(job) {
  const { script, wasync, transform, wabt, asyncifyArgs = [] } = job;
  const commands = loadCommands(script);
  const scriptName = path.basename(script.rel);
  const xdir = path.join(OUT, script.suite, `${script.rel}.${transform}`);
  fs.mkdirSync(xdir, { recursive: true });

  const cache = new Map();
  const compile = (p) => {
    if (!cache.has(p)) {
      try {
        cache.set(p, { mod: new WebAssembly.Module(fs.readFileSync(p)) });
      } catch (e) {
        cache.set(p, { err: e });
      }
    }
    const c = cache.get(p);
    if (c.err) throw c.err;
    return c.mod;
  };
  const v8check = (p) => {
    try {
      compile(p);
      return { ok: true };
    } catch (e) {
      return { ok: false, why: String(e.message || e).slice(0, 200) };
    }
  };

  // ---- 1. valid modules -------------------------------------------------
  const validFiles = [...new Set(commands.filter(isValidModuleCommand).map((c) => c.filename))];
  const orig = (f) => path.join(script.base, f);
  const verdicts = validateMany(wasync, validFiles.map(orig));
  const xpath = new Map();
  const modules = [];
  for (const f of validFiles) {
    const inPath = orig(f);
    const outPath = path.join(xdir, f);
    const rec = { file: f, problems: [], notes: [] };
    const v8 = v8check(inPath);
    rec.v8 = v8.ok;
    if (!v8.ok) rec.notes.push(`V8 rejects: ${v8.why}`);
    const w = verdicts.get(inPath);
    rec.wasync = w.verdict;
    if (w.verdict === 'ok') {
      if (!v8.ok) rec.notes.push('wasync accepts what V8 rejects');
    } else if (w.verdict === 'reject') {
      if (v8.ok) rec.problems.push(`mismatch: V8 accepts, wasync rejects: 0x${w.offset.toString(16)}: ${w.msg}`);
      else rec.notes.push(`wasync rejects too: ${w.msg}`);
    } else {
      rec.problems.push(`wasync validate: ${w.verdict}${w.detail ? ` (${w.detail})` : ''}`);
    }
    try {
      fs.unlinkSync(outPath);
    } catch {}
    if (w.verdict === 'ok') {
      const args = transform === 'asyncify' ? ['asyncify', ...asyncifyArgs, inPath, '-o', outPath]
        : ['roundtrip', '--reencode', inPath, '-o', outPath];
      const r = spawn(wasync, args, 60000);
      if (r.bad || r.status !== 0 || !fs.existsSync(outPath)) {
        rec.transform = r.bad || `exit ${r.status}`;
        rec.problems.push(`transform failed: ${rec.transform}: ${r.stderr.trim().split('\n')[0]?.slice(0, 200) || ''}`);
      } else {
        rec.transform = 'ok';
        xpath.set(f, outPath);
        const a = fs.readFileSync(inPath);
        const b = fs.readFileSync(outPath);
        rec.identical = a.equals(b);
        if (!rec.identical) {
          rec.diff = { at: firstDiff(a, b), inSize: a.length, outSize: b.length };
          if (transform !== 'asyncify') {
            rec.problems.push(`differs: first difference at 0x${rec.diff.at.toString(16)}, ${a.length} -> ${b.length} bytes`);
          }
          if (v8.ok) {
            let ok = false;
            try {
              ok = WebAssembly.validate(b);
            } catch {}
            if (!ok) rec.problems.push(`output fails WebAssembly.validate: ${v8check(outPath).why || ''}`);
          }
          if (wabt) {
            const vin = spawn(wabt, ['--enable-all', inPath], 20000);
            if (!vin.bad && vin.status === 0) {
              const vout = spawn(wabt, ['--enable-all', outPath], 20000);
              if (vout.bad || vout.status !== 0) {
                rec.problems.push(`output fails wasm-validate: ${vout.bad || vout.stderr.trim().split('\n')[0]?.slice(0, 200)}`);
              }
            }
          }
        }
      }
    }
    modules.push(rec);
  }

  // ---- 2. invalid / malformed modules ---------------------------------------
  const rejCmds = commands.filter(isBinaryRejectCommand);
  const rejFiles = [...new Set(rejCmds.map((c) => orig(c.filename)))];
  const rv = validateMany(wasync, rejFiles);
  const rejects = rejCmds.map((c) => {
    const w = rv.get(orig(c.filename));
    const rec = { file: c.filename, line: c.line, type: c.type, text: c.text, verdict: w.verdict };
    if (w.verdict === 'ok') rec.v8 = v8check(orig(c.filename)).ok;
    if (w.verdict === 'reject') {
      rec.msg = w.msg;
      // wasync's message is the spec's wording, then context in parentheses
      // ("unexpected end (reading function count) (in function 3)"); the
      // script's text is compared with the spec's part.
      const spec = specPart(w.msg);
      rec.textMatch = spec.includes(c.text) || (c.text.length > 0 && c.text.startsWith(spec));
    } else if (w.detail) {
      rec.detail = w.detail;
    }
    return rec;
  });

  // ---- 3. assertions, original vs transformed -------------------------------
  const origStatus = run(commands, { resolve: (f) => orig(f), compile, scriptName });
  const xformStatus = run(commands, {
    resolve: (f) => xpath.get(f) || (validFiles.includes(f) ? path.join(xdir, `${f}.missing`) : orig(f)),
    compile, scriptName,
  });
  const count = (st, p) => st.filter((s) => s.startsWith(p)).length;
  const differences = [];
  const origFails = [];
  for (let i = 0; i < commands.length; i++) {
    const a = origStatus[i];
    const b = xformStatus[i];
    if ((a === 'pass') !== (b === 'pass') || a.startsWith('skip') !== b.startsWith('skip')) {
      differences.push({ index: i, line: commands[i].line, type: commands[i].type, orig: a, xform: b });
    }
    if (a.startsWith('fail')) origFails.push({ index: i, line: commands[i].line, type: commands[i].type, why: a });
  }
  const skipReasons = {};
  for (const st of origStatus) if (st.startsWith('skip: ')) skipReasons[st.slice(6)] = (skipReasons[st.slice(6)] || 0) + 1;
  return {
    id: script.id, route: script.route, commands: commands.length, modules, rejects, skipReasons,
    assertions: {
      origPass: count(origStatus, 'pass'), xformPass: count(xformStatus, 'pass'),
      origFail: count(origStatus, 'fail'), xformFail: count(xformStatus, 'fail'),
      skipped: count(origStatus, 'skip'), differences, origFails,
    },
  };
}

const rl = readline.createInterface({ input: process.stdin, terminal: false });
for await (const line of rl) {
  if (!line.trim()) continue;
  const job = JSON.parse(line);
  let result;
  try {
    result = checkScript(job);
  } catch (e) {
    result = { id: job.script.id, error: `harness error: ${e?.stack || e}` };
  }
  process.stdout.write(`@@R ${JSON.stringify(result)}\n`);
}
