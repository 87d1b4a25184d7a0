// The measurements of bench/runtime.mjs, shared by Node and the browser page
// (tests/browser/bench.html). Uses the fixture tests/js/fixtures/app.c
// (built by scripts/test-js.sh into build/js-fixtures/).
//
//   suspend   one suspend+resume round trip: suspend_n(N) awaits an import
//             that returns an already-resolved Promise N times in one call;
//             time / N. Shallow stack (export -> import).
//   call      one export call whose import answers synchronously: ping(x)
//             (export -> host_add -> back), per call, including the
//             export's Promise.
//   import    one non-suspending import inside a running call:
//             sum_sync(N) calls host_add N times; time / N.
// "plain" is the same module instantiated with plain WebAssembly and sync
// imports, called synchronously -- the floor the modes are compared with;
// "raw jspi" is the engine's JSPI used directly (Suspending imports,
// promising exports, no wasync), the floor for the jspi mode.

const now = () => performance.now();

async function timeIt(fn, minMs) {
  // warm up, then grow the batch until it takes minMs
  for (let i = 0; i < 3; i++) await fn(1);
  let n = 1;
  for (;;) {
    const t0 = now();
    await fn(n);
    const dt = now() - t0;
    if (dt >= minMs) return (dt * 1000) / n; // µs per unit
    n *= dt < minMs / 16 ? 8 : 2;
  }
}

/** The fixture's imports (shared with runtime-ab.mjs). */
export function imports() {
  return {
    env: {
      sleep_ms: (ms) => new Promise((r) => setTimeout(() => r(ms + 1), ms)),
      get_name: () => 0,
      fetch_greeting: () => 0,
      print: () => {},
      fail_async: () => Promise.reject(new Error('x')),
      host_add: (x) => x + 1,
      nop_async: () => Promise.resolve(1),
    },
  };
}

export async function runBench({ instantiate, supportedModes, load, minMs = 200 }) {
  const out = { plain: {}, modes: {} };
  // plain synchronous instance
  {
    const { instance } = await WebAssembly.instantiate(await load('app.wasm'), imports());
    instance.exports._initialize();
    const ex = instance.exports;
    out.plain.call = await timeIt((n) => {
      for (let i = 0; i < n; i++) ex.ping(i);
    }, minMs);
    out.plain.import = await timeIt((n) => ex.sum_sync(n), minMs);
  }
  const { why } = supportedModes(null);
  // the engine's own JSPI floor: the raw module, Suspending imports, promising exports
  if (!why.jspi) {
    const env = Object.fromEntries(Object.entries(imports().env).map(([k, f]) => [k, new WebAssembly.Suspending(f)]));
    const { instance } = await WebAssembly.instantiate(await load('app.wasm'), { env });
    const p = (name) => WebAssembly.promising(instance.exports[name]);
    await p('_initialize')();
    const [suspendN, ping, sumSync] = [p('suspend_n'), p('ping'), p('sum_sync')];
    out.raw = {
      suspend: await timeIt((n) => suspendN(n), minMs),
      call: await timeIt(async (n) => {
        for (let i = 0; i < n; i++) await ping(i);
      }, minMs),
      import: await timeIt((n) => sumSync(n), minMs),
    };
  }
  for (const mode of ['jspi', 'asyncify', 'worker']) {
    if (mode !== 'asyncify' && why[mode]) {
      out.modes[mode] = { unavailable: why[mode] };
      continue;
    }
    const file = mode === 'asyncify' ? 'app.async.wasm' : 'app.wasm';
    const inst = await instantiate(await load(file), imports, { mode });
    const ex = inst.exports;
    const r = {};
    r.suspend = await timeIt(async (n) => {
      const got = await ex.suspend_n(n);
      if (got !== n) throw new Error(`suspend_n(${n}) = ${got}`);
    }, minMs);
    r.call = await timeIt(async (n) => {
      for (let i = 0; i < n; i++) await ex.ping(i);
    }, minMs);
    r.import = await timeIt(async (n) => {
      await ex.sum_sync(n);
    }, minMs);
    inst.terminate();
    out.modes[mode] = r;
  }
  return out;
}

export function formatBench(engine, res) {
  const f = (v) => (v === undefined ? '-' : v < 0.1 ? v.toFixed(3) : v < 10 ? v.toFixed(2) : v.toFixed(1));
  const cols = ['plain', 'raw jspi', 'jspi', 'asyncify', 'worker'];
  const get = (col, key) => (col === 'plain' ? res.plain[key] : col === 'raw jspi' ? res.raw?.[key] : res.modes[col]?.[key]);
  const rows = [
    ['suspend+resume round trip', 'suspend'],
    ['export call, sync import', 'call'],
    ['sync import inside a call', 'import'],
  ];
  const lines = [`${engine}   (µs; lower is better)`];
  lines.push(`  ${''.padEnd(28)}${cols.map((c) => c.padStart(10)).join('')}`);
  for (const [label, key] of rows)
    lines.push(
      `  ${label.padEnd(28)}${cols
        .map((c) => (res.modes[c]?.unavailable || (c === 'raw jspi' && !res.raw) ? 'n/a' : f(get(c, key))).padStart(10))
        .join('')}`,
    );
  for (const c of cols) if (res.modes[c]?.unavailable) lines.push(`  ${c}: n/a -- ${res.modes[c].unavailable}`);
  return lines.join('\n');
}
