// truncate.mjs -- feeds every valid module of the spec suites (the files of
// module / module_definition / assert_unlinkable / assert_uninstantiable
// commands, both suites, deduplicated by content) to build/tools/truncate,
// which checks that every truncated prefix fails cleanly (see
// tests/tools/truncate.c).  Uses the same cached wast2json conversion as
// run.mjs.
//
//   node tests/spec/truncate.mjs [--tool=PATH] [--filter=SUBSTR,...]

import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { discover, loadCommands, isValidModuleCommand, ROOT, OUT, SHARED } from './common.mjs';

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const a = argv.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(a.indexOf('=') + 1) : dflt;
};
const tool = path.resolve(opt('tool', path.join(ROOT, 'build/tools/truncate')));
const filter = opt('filter', null)?.split(',') ?? null;

if (!fs.existsSync(SHARED)) {
  console.log(`*** SKIP: ${SHARED} is absent: no spec modules to truncate ***`);
  console.log('truncate: 0 passed, 0 failed (skipped)');
  process.exit(0);
}
if (!fs.existsSync(tool)) {
  console.error(`truncate: ${tool} is missing (make build/tools/truncate)`);
  console.log('truncate: 0 passed, 1 failed');
  process.exit(1);
}

const { scripts, skipped } = discover({ filter });
for (const s of skipped) console.log(`*** SKIP: ../shared/${s} is absent ***`);
const seen = new Set();
const files = [];
for (const s of scripts) {
  if (s.route === 'none') continue;
  for (const c of loadCommands(s)) {
    if (!isValidModuleCommand(c)) continue;
    const p = path.join(s.base, c.filename);
    const h = crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex');
    if (seen.has(h)) continue;
    seen.add(h);
    files.push(p);
  }
}
fs.mkdirSync(OUT, { recursive: true });
const list = path.join(OUT, 'truncate-list.txt');
fs.writeFileSync(list, files.join('\n') + '\n');
console.log(`truncate: ${files.length} distinct valid spec modules from ${scripts.length} scripts`);
const t0 = Date.now();
const r = spawnSync(tool, [`@${list}`], { stdio: 'inherit', timeout: 15 * 60 * 1000 });
console.log(`truncate: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
if (r.error || r.signal || r.status > 2) {
  // Find the modules it dies on: one process per module.
  console.log(`truncate: the tool died (${r.error?.code || r.signal || `exit ${r.status}`}); rerunning module by module`);
  let passed = 0;
  let failed = 0;
  for (const f of files) {
    const one = spawnSync(tool, [f], { encoding: 'utf8', timeout: 120000 });
    if (one.status === 0) passed++;
    else {
      failed++;
      const why = one.error?.code || one.signal || `exit ${one.status}`;
      console.log(`FAIL ${f}: ${why}${one.status === 1 ? `: ${one.stdout.split('\n')[0]}` : ''}`);
    }
  }
  console.log(`truncate: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}
process.exit(r.status);
