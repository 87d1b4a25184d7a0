// make-corpus.mjs -- (re)builds the seed corpus tests/fuzz/corpus/ from the
// spec suites: small valid modules (module commands) and small invalid or
// malformed ones (binary assert_invalid / assert_malformed), taken round-robin
// across scripts for variety, each stored under its SHA-1.  Run by hand:
//   node tests/fuzz/make-corpus.mjs [VALID=300] [INVALID=150]
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { discover, loadCommands, isValidModuleCommand, isBinaryRejectCommand, HERE as SPEC } from '../spec/common.mjs';

const [nValid = 300, nInvalid = 150] = process.argv.slice(2).map(Number);
const MAX_SIZE = 4096; // libFuzzer's default -max_len
const dir = path.resolve(SPEC, '../fuzz/corpus');
const { scripts } = discover();
const pools = { valid: [], invalid: [] };
for (const s of scripts) {
  if (s.route === 'none') continue;
  const v = [];
  const iv = [];
  for (const c of loadCommands(s)) {
    const p = path.join(s.base, c.filename || '');
    if (isValidModuleCommand(c)) v.push(p);
    else if (isBinaryRejectCommand(c)) iv.push(p);
  }
  pools.valid.push(v);
  pools.invalid.push(iv);
}
const seen = new Set();
const pick = (lists, n) => {
  const out = [];
  for (let round = 0; out.length < n; round++) {
    let any = false;
    for (const l of lists) {
      if (round >= l.length) continue;
      any = true;
      const b = fs.readFileSync(l[round]);
      const h = crypto.createHash('sha1').update(b).digest('hex');
      if (b.length > MAX_SIZE || seen.has(h)) continue;
      seen.add(h);
      out.push([h, b]);
      if (out.length >= n) break;
    }
    if (!any) break;
  }
  return out;
};
const chosen = [...pick(pools.valid, nValid), ...pick(pools.invalid, nInvalid)];
fs.rmSync(dir, { recursive: true, force: true });
fs.mkdirSync(dir, { recursive: true });
let total = 0;
for (const [h, b] of chosen) {
  fs.writeFileSync(path.join(dir, h), b);
  total += b.length;
}
console.log(`corpus: ${chosen.length} files, ${total} bytes in ${path.relative(process.cwd(), dir)}`);
