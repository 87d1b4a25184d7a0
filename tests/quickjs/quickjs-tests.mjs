// quickjs-tests.mjs -- QuickJS's own test scripts (tests/*.js of the
// 2021-03-27 sources in node_modules/qjsc) that apply without the std/os
// modules, and how each is run. Each script asserts itself and throws on the
// first failure; a script passes when its evaluation resolves.
//
// Left out, and why:
//   test_std.js, test_bjson.js, test_worker*.js, microbench.js  need std/os/bjson
//   test_op_overloading.js, test_qjscalc.js   need the BigFloat/operator
//                                             overloading extensions (not built)
//   test_bignum.js past test_bigint2          BigFloat/BigDecimal literals and
//                                             the bignum extension (not built)
//   test_builtin.js: test_number()            wasi-libc has no FE_UPWARD /
//     FE_DOWNWARD, so toFixed/toExponential round exact ties to even:
//     (25).toExponential(0) is "2e+1", the test expects "3e+1"
//     (scripts/build-quickjs.sh, CONFIG_PRINTF_RNDN).
export const QUICKJS_TESTS = [
  { file: 'test_closure.js' },
  { file: 'test_language.js' },
  { file: 'test_loop.js' },
  { file: 'test_builtin.js', note: 'without test_number', drop: ['test_number();'] },
  { file: 'test_bignum.js', note: 'BigInt part', until: 'function test_divrem', append: 'test_bigint1();\ntest_bigint2();\n' },
];

const DIR = 'node_modules/qjsc/deps/quickjs_2021_03_27/tests/';

/** The script text to evaluate for test `t`. */
export async function readSource(t) {
  let text;
  if (globalThis.process?.versions?.node) {
    const { readFile } = await import('node:fs/promises');
    text = await readFile(new URL(`../../${DIR}${t.file}`, import.meta.url), 'utf8');
  } else {
    const r = await fetch(`/${DIR}${t.file}`);
    if (!r.ok) throw new Error(`fetching ${t.file}: ${r.status}`);
    text = await r.text();
  }
  for (const line of t.drop ?? []) {
    if (!text.includes(`\n${line}\n`)) throw new Error(`${t.file} has no line "${line}" (a new QuickJS version?)`);
    text = text.replace(`\n${line}\n`, `\n// (not run: ${line})\n`);
  }
  if (t.until) {
    const at = text.indexOf(t.until);
    if (at < 0) throw new Error(`${t.file} has no "${t.until}" (a new QuickJS version?)`);
    text = text.slice(0, at) + t.append;
  }
  return text;
}
