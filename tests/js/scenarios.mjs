// Runtime scenarios shared by the Node suites (tests/js/*.test.mjs) and the
// browser page (tests/browser/index.html). Each scenario is
//   async (env) => void      // throws on failure
// with env = { instantiate, mode, load(name) -> source, modOf(name) -> fixture
// name for this mode ('app' -> 'app.async.wasm' in asyncify mode) }.
// onTheFlyEnv(env) runs the asyncify-mode scenarios with the plain fixtures,
// which the runtime asyncifies itself (tests/js/otf.test.mjs, the browser page).
// The fixtures are built by scripts/test-js.sh into build/js-fixtures/.

export function check(cond, message) {
  if (!cond) throw new Error(`check failed: ${message}`);
}

export function eq(actual, expected, what) {
  if (actual !== expected) throw new Error(`${what}: expected ${String(expected)}, got ${String(actual)}`);
}

export function delay(ms, v, signal) {
  return new Promise((resolve, reject) => {
    // an 'abort' listener added to an already-aborted signal never fires
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => resolve(v), ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

/**
 * Settles like `promise`, or rejects with a clear message after `ms`
 * (then calls `onTimeout`): every wait in the tests is bounded.
 */
export function within(promise, ms, what, onTimeout) {
  let t;
  const timer = new Promise((_, reject) => {
    t = setTimeout(() => {
      onTimeout?.();
      reject(new Error(`${what}: no result after ${ms} ms (hang)`));
    }, ms);
  });
  return Promise.race([promise, timer]).finally(() => clearTimeout(t));
}

async function rejects(promise, test, what) {
  let err;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  if (err === undefined) throw new Error(`${what}: expected a rejection`);
  if (!test(err)) throw new Error(`${what}: unexpected rejection ${err?.name}: ${err?.message}`);
  return err;
}

/** Mirror of rec() in fixtures/app.c: what compute(n, salt, ms) must return. */
export function expectedCompute(n, salt, ms) {
  let total = 0;
  for (let level = n; level >= 0; level--) {
    let s = 0;
    for (let i = 0; i < 64; i++) s += (level * 7 + salt + i) & 0xff;
    total += s + (level % 3 === 0 ? ms + 1 : 0);
  }
  return total;
}

/** The app.c imports; `log` collects what happened. */
export function appImports(ctx, log, opts = {}) {
  return {
    env: {
      // resolves after a real setTimeout, with ms+1; `this` is the per-call
      // context, whose signal fires when the export call is aborted
      sleep_ms(ms) {
        return delay(opts.sleepMs ?? ms, ms + 1, this.signal);
      },
      get_name: (buf, cap) => {
        const name = opts.name ?? 'wörld';
        return ctx.writeString(buf, name, cap);
      },
      fetch_greeting: async (namePtr, len, out, cap) => {
        const name = ctx.readString(namePtr, len);
        log.push(`fetch ${name}`);
        await delay(5);
        const reply = `Hello, ${name}! ✓`;
        // written after the await: the guest is still suspended in this import
        return ctx.writeString(out, reply, cap);
      },
      print: (ptr, len) => {
        log.push(`print ${ctx.readString(ptr, len)}`);
      },
      fail_async: async (code) => {
        await delay(2);
        const e = new Error(`import failed with ${code}`);
        e.code = code;
        throw e;
      },
      host_add: (x) => x + 1,
      nop_async: () => Promise.resolve(7),
    },
  };
}

export function modOf(mode, name) {
  return mode === 'asyncify' ? `${name}.async.wasm` : `${name}.wasm`;
}

/**
 * The on-the-fly variant of an asyncify-mode env: every fixture handed to
 * instantiate() is the PLAIN module ('app.async.wasm' -> 'app.wasm') and the
 * mode is left to 'auto', so the runtime itself asyncifies it (auto-asyncify.js:
 * every import may suspend, as in the pre-built fixtures) on an engine
 * without JSPI. Every instantiate must end in asyncify mode after a progress
 * report of the transform or of a cache hit; the stages of each instantiate
 * are pushed to `stages` ([{file, stages: [...]}]). The scenarios then check
 * the same results as with the pre-asyncified fixtures. `autoAsyncify` is
 * merged into options.autoAsyncify (e.g. a cacheDir in Node).
 */
export function onTheFlyEnv(env, { stages = [], autoAsyncify = {} } = {}) {
  let lastFile = null;
  return {
    ...env,
    mode: 'asyncify',
    onTheFly: true,
    load(name) {
      lastFile = name.replace(/\.async\.wasm$/, '.wasm');
      return env.load(lastFile);
    },
    async instantiate(source, imports, options = {}) {
      const { mode, ...rest } = options;
      if (mode !== undefined && mode !== 'asyncify') throw new Error(`on-the-fly variant: a scenario asked for mode ${mode}`);
      const seen = [];
      const file = lastFile;
      const inst = await env.instantiate(source, imports, {
        ...rest,
        mode: 'auto',
        autoAsyncify: { ...autoAsyncify, ...rest.autoAsyncify, onProgress: (p) => seen.push(p.stage) },
      });
      stages.push({ file, stages: seen });
      eq(inst.mode, 'asyncify', `mode auto chose for plain ${file}`);
      check(seen.at(-1) === 'done' && (seen.includes('transform') || seen.includes('cache-hit')), `the runtime asyncified ${file} on the fly (progress: ${seen.join(',')})`);
      return inst;
    },
  };
}

/**
 * A plain WASI command (tests/wasi/guest.c by `wasync cc --no-asyncify`,
 * fixture wasi-guest.wasm) through wasync/wasi's runWasi, asyncified on the
 * fly: stdin that arrives later (fd_read), a sleep (poll_oneoff) and the
 * WASYNC_ASYNC_JS imports of the C file. `autoAsyncify`: options for it.
 */
export async function wasiCommandOnTheFly({ runWasi, load, autoAsyncify = {} }) {
  const dec = new TextDecoder();
  const run = async (args, opts = {}) => {
    let text = '';
    const stages = [];
    const code = await runWasi(load('wasi-guest.wasm'), {
      args: ['guest', ...args],
      stdout: (b) => (text += dec.decode(b)),
      stderr: () => {},
      instantiateOptions: { autoAsyncify: { ...autoAsyncify, onProgress: (p) => stages.push(p.stage) } },
      ...opts,
    });
    check(stages.includes('transform') || stages.includes('cache-hit'), `${args[0]}: asyncified on the fly (${stages.join(',')})`);
    return `${code}|${text}`;
  };
  async function* late() {
    await delay(20);
    yield 'late line\n';
  }
  eq(await run(['cat'], { stdin: late() }), '0|1:late line\n', 'cat with stdin that comes later');
  const t0 = Date.now();
  const slept = await run(['sleep', '50']);
  check(/^0\|slept \d+/.test(slept) && Date.now() - t0 >= 45, `sleep 50: ${slept}`);
  eq(await run(['js']), '0|42 4\n', 'WASYNC_ASYNC_JS imports');
}

async function app(env, opts = {}, file = 'app', instOpts = {}) {
  const log = [];
  const inst = await env.instantiate(env.load(modOf(env.mode, file)), (ctx) => appImports(ctx, log, opts), {
    mode: env.mode,
    ...instOpts,
  });
  eq(inst.mode, env.mode, 'mode');
  return { inst, log };
}

export const scenarios = {
  async sleep(env) {
    const events = [];
    const inst = await env.instantiate(
      env.load(modOf(env.mode, 'sleep')),
      {
        env: {
          js_before: () => {
            events.push('before');
          },
          js_timeout: (ms) => delay(ms, 54321),
          js_after: (v) => {
            events.push(`after ${v}`);
          },
        },
      },
      // sleep.wat has a fixed one-page memory and no allocator: place the buffer
      { mode: env.mode, asyncify: { dataAddress: 1024, dataSize: 1024 } },
    );
    const t0 = Date.now();
    const r = await inst.exports.run();
    eq(r, 54321, 'run() result');
    eq(events.join(','), 'before,after 54321', 'events');
    check(Date.now() - t0 >= 90, 'run() waited for the 100 ms timeout');
    inst.terminate();
  },

  async nestedC(env) {
    const { inst } = await app(env);
    const r = await inst.exports.compute(7, 3, 10);
    eq(r, expectedCompute(7, 3, 10), 'compute(7, 3, 10)');
    eq(await inst.exports.noop(41), 42, 'noop');
    eq(await inst.exports.sum_sync(100), 5050, 'sum_sync(100) through sync imports');
    inst.terminate();
  },

  async strings(env) {
    const { inst, log } = await app(env);
    const n = await inst.exports.greet();
    const expected = 'Hello, wörld! ✓';
    eq(log.join('|'), `fetch wörld|print ${expected}`, 'import log');
    eq(n, new TextEncoder().encode(expected).length, 'greet() byte length');
    inst.terminate();
  },

  async concurrent(env) {
    const { inst } = await app(env);
    // two calls suspended at once, with different stack contents and timing;
    // the short one (2 x 10 ms) finishes while the long one (3 x 30 ms) waits
    const order = [];
    const [a, b] = await Promise.all([
      inst.exports.compute(8, 1, 30).then((v) => (order.push('long'), v)),
      inst.exports.compute(5, 100, 10).then((v) => (order.push('short'), v)),
    ]);
    eq(a, expectedCompute(8, 1, 30), 'first concurrent call');
    eq(b, expectedCompute(5, 100, 10), 'second concurrent call');
    // several more, interleaved
    const many = await Promise.all([1, 2, 3, 4].map((k) => inst.exports.compute(3 + k, k * 11, 5 + k)));
    many.forEach((v, i) => eq(v, expectedCompute(4 + i, (i + 1) * 11, 6 + i), `call ${i}`));
    // worker mode has one guest stack: a call that arrives while the running
    // one is still in guest code waits for it (long,short); one that arrives
    // while the running call waits in its import runs on top of it in the
    // blocked worker and finishes first (short,long) -- which of the two
    // depends on how far the worker got, so either order is right there
    if (env.mode === 'worker') check(['long,short', 'short,long'].includes(order.join(',')), `completion order ${order}`);
    else eq(order.join(','), 'short,long', 'completion order');
    inst.terminate();
  },

  async sameTickResumes(env) {
    // all suspended calls become ready in the same microtask checkpoint: each
    // resumption must still run with its own stack pointer
    let open;
    let gate = new Promise((r) => (open = r));
    const log = [];
    const i2 = await env.instantiate(
      env.load(modOf(env.mode, 'app')),
      (ctx) => {
        const base = appImports(ctx, log);
        base.env.sleep_ms = (ms) => gate.then(() => ms + 1);
        return base;
      },
      { mode: env.mode },
    );
    const calls = [0, 1, 2, 3, 4, 5].map((k) => i2.exports.compute(6 + k, 13 * k, k));
    for (let round = 0; round < 8; round++) {
      await delay(5);
      open();
      gate = new Promise((r) => (open = r));
    }
    open();
    const results = await Promise.all(calls);
    results.forEach((v, k) => eq(v, expectedCompute(6 + k, 13 * k, k), `call ${k}`));
    i2.terminate();
  },

  async queuedWithoutStackPointer(env) {
    const { inst } = await app(env, {}, 'app-nosp');
    const order = [];
    const pa = inst.exports.compute(4, 9, 20).then((v) => (order.push('a'), v));
    const pb = inst.exports.compute(2, 50, 1).then((v) => (order.push('b'), v));
    const [a, b] = await Promise.all([pa, pb]);
    eq(a, expectedCompute(4, 9, 20), 'first call');
    eq(b, expectedCompute(2, 50, 1), 'second call');
    // one shared C stack: in jspi/asyncify mode b starts on top of the
    // suspended a, and a resumes only after b finished (last in, first out);
    // in worker mode b waits if it arrives before the worker blocks in a's
    // import, and is served on top of a if after (a race either way)
    if (env.mode === 'worker') check(['ab', 'ba'].includes(order.join('')), `order ${order.join('')}`);
    else eq(order.join(''), 'ba', 'calls shared the stack in LIFO order');
    eq(inst.concurrency, 'queued', 'inst.concurrency');
    inst.terminate();
  },

  // An import that awaits a call into its own instance -- before or after its
  // own await, the nested call suspending too -- with and without a
  // switchable C stack: it runs (on its own stack, on top of the suspended
  // caller's, or in the blocked worker) instead of deadlocking.
  async reentrant(env) {
    for (const file of ['app', 'app-nosp']) {
      for (const awaitFirst of [false, true]) {
        let inst;
        inst = await env.instantiate(
          env.load(modOf(env.mode, file)),
          (ctx) => {
            const imps = appImports(ctx, []);
            imps.env.fail_async = async (code) => {
              if (awaitFirst) await delay(1);
              return inst.exports.compute(4, code, 2);
            };
            return imps;
          },
          { mode: env.mode },
        );
        const what = `${file}, nested call ${awaitFirst ? 'after' : 'before'} the import's await`;
        eq(await within(inst.exports.fail_path(9), 5000, what), expectedCompute(4, 9, 2) + 9, what);
        // twice over, and alongside a plain call
        const [a, b] = await within(Promise.all([inst.exports.fail_path(3), inst.exports.compute(5, 1, 3)]), 5000, what);
        eq(a, expectedCompute(4, 3, 2) + 3, `${what}: again`);
        eq(b, expectedCompute(5, 1, 3), `${what}: a plain call alongside`);
        inst.terminate();
      }
    }
  },

  async rejection(env) {
    const { inst } = await app(env);
    const err = await rejects(inst.exports.fail_path(5), (e) => e.message === 'import failed with 5', 'fail_path');
    if (env.mode !== 'worker') eq(err.code, 5, 'the import error object itself');
    eq(await inst.exports.compute(4, 2, 1), expectedCompute(4, 2, 1), 'usable after a rejection');
    inst.terminate();
  },

  async abort(env) {
    const { inst } = await app(env, { sleepMs: 60000 });
    const ac = new AbortController();
    const p = inst.call('compute', [3, 1, 5], { signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    const t0 = Date.now();
    await rejects(p, (e) => e.name === 'AbortError', 'aborted call');
    // prompt: far sooner than the 60 s the import would sleep (with slack for a loaded machine)
    check(Date.now() - t0 < 10000, `abort was prompt (took ${Date.now() - t0} ms)`);
    await rejects(inst.call('compute', [3, 1, 5], { timeout: 30 }), (e) => e.name === 'TimeoutError', 'timed-out call');
    inst.terminate();
    // and a fresh instance where the abort hits while another call is fine
    const { inst: i2 } = await app(env, { sleepMs: 10 });
    const ac2 = new AbortController();
    const slow = i2.call('fail_path', [1], { signal: ac2.signal });
    ac2.abort();
    await rejects(slow, (e) => e.name === 'AbortError', 'aborted before start');
    eq(await i2.exports.compute(5, 7, 3), expectedCompute(5, 7, 3), 'usable after aborts');
    const { inst: i3 } = await app(env, { sleepMs: 60000 });
    const ac3 = new AbortController();
    const p3 = i3.call('compute', [2, 1, 1], { signal: ac3.signal });
    await delay(10);
    ac3.abort();
    await rejects(p3, (e) => e.name === 'AbortError', 'aborted while suspended');
    eq(await i3.exports.noop(1), 2, 'usable after abort of a suspended call');
    eq(await i3.exports.sum_sync(10), 55, 'sync imports after abort');
    i2.terminate();
    i3.terminate();
  },

  // An async import the module was not instrumented for (a typo in
  // `wasync asyncify --imports`): asyncify mode rejects at once naming the
  // import and the fix, never spins or returns a wrong result, and the
  // instance stays usable; the other modes run the same module correctly.
  // On the fly the same gap is options.asyncImports without env.tock (the
  // --asserts build has no on-the-fly counterpart: noted, not run).
  async importNotInstrumented(env) {
    let files = env.mode === 'asyncify' ? ['typo.async.wasm', 'typo-asserts.async.wasm'] : ['typo.wasm'];
    const fix = env.onTheFly ? /add env\.tock to options\.asyncImports/ : /add env\.tock to --imports/;
    if (env.onTheFly) {
      env.note?.('typo-asserts.async.wasm not run on the fly: instantiate() has no --asserts option');
      files = ['typo.async.wasm'];
    }
    for (const file of files) {
      for (const later of [false, true]) {
        const answer = (x) => (later ? delay(2, x + 1) : Promise.resolve(x + 1));
        const opts = env.onTheFly ? { mode: env.mode, asyncImports: ['env.tick'] } : { mode: env.mode };
        const inst = await env.instantiate(env.load(file), { env: { tick: answer, tock: answer } }, opts);
        const cases = [
          ['run', 3, 4 + 1 + 2 + 3],
          ['only_tock', 3, 4],
          ['spin', 3, 8],
        ];
        for (const [name, arg, expected] of cases) {
          const what = `${env.onTheFly ? 'typo.wasm asyncified on the fly' : file} ${name}(${arg}), tock ${later ? 'after a timer' : 'at once'}`;
          const t0 = Date.now();
          let value;
          let error;
          // bounded: a spinning guest would never let this timer fire
          await within(inst.exports[name](arg), 5000, what).then(
            (v) => (value = v),
            (e) => (error = e),
          );
          if (env.mode !== 'asyncify') {
            if (error) throw error;
            eq(value, expected, what);
            continue;
          }
          check(error !== undefined, `${what}: expected a rejection, got ${value}`);
          check(
            /^wasync: import env\.tock /.test(error.message) && fix.test(error.message),
            `${what}: message names the import and the fix: ${error.message}`,
          );
          eq(error.name, 'AsyncifyImportError', `${what}: error name`);
          env.note?.(`${what}: rejected after ${Date.now() - t0} ms`);
          eq(await inst.exports.only_tick(5), 6, `${what}: a correct suspension afterwards`);
        }
        inst.terminate();
      }
    }
  },

  // The same source in every mode: arguments and results described once,
  // converted where the memory lives (in the worker in worker mode).
  async marshalled(env) {
    const { inst, log } = await app(env, { name: 'unused' });
    const greet = inst.exports.hello.with({ args: ['string'], returns: 'string' });
    eq(await greet('Bob'), 'Hello, Bob! ✓', "greet('Bob')");
    eq(await inst.ccall('hello', 'string', ['string'], ['Zoë']), 'Hello, Zoë! ✓', 'ccall hello');
    const hello = inst.cwrap('hello', 'string', ['string']);
    eq(await hello('x'.repeat(100)), `Hello, ${'x'.repeat(100)}! ✓`, 'cwrap hello, long name');
    eq(log.join('|'), `fetch Bob|fetch Zoë|fetch ${'x'.repeat(100)}`, 'the async import saw the strings');
    eq(await inst.ccall('sum_bytes', 'i32', ['bytes', 'i32'], [new Uint8Array([1, 2, 3, 250]), 4]), 256, 'bytes');
    eq(await inst.ccall('sum_bytes', 'i32', ['bytes', 'i32'], [new Uint16Array([1, 256]), 4]), 2, 'a typed array as bytes');
    eq(await inst.ccall('sum_bytes', 'i32', ['array', 'i32'], [[7, 8], 2]), 15, 'an array of bytes');
    const s = await inst.ccall('fill_out', 'i32', [{ out: 8, as: 'string' }, 'i32'], [null, 5]);
    eq(s.value, 5, 'out-buffer call result');
    eq(s.out[0], 'abcde', 'out-buffer as a string');
    const b = await inst.ccall('fill_out', 'i32', [{ out: 4 }, 'i32'], [null, 3]);
    eq([...b.out[0]].join(','), '97,98,99,0', 'out-buffer as bytes');
    eq(await inst.ccall('mul64', 'i64', ['i64', 'i64'], [1n << 40n, 3n]), 3n << 40n, 'i64 as BigInt');
    eq(await inst.ccall('noop', 'bool', ['i32'], [-1]), false, 'bool result');
    await rejects(inst.ccall('hello', 'string', ['str'], ['x']), (e) => e instanceof TypeError && /unknown argument type "str"/.test(e.message), 'bad type');
    await rejects(inst.ccall('nope', 'void', [], []), (e) => /no exported function 'nope'/.test(e.message), 'missing export');
    // the allocations went back: the same call again gets the same memory
    eq(await greet('Bob'), 'Hello, Bob! ✓', 'again');
    inst.terminate();
    // a module without malloc/free: a clear error for string arguments
    const { inst: i2 } = await app(env, {}, 'app-nosp');
    await rejects(i2.ccall('hello', 'string', ['string'], ['x']), (e) => /export malloc and free/.test(e.message), 'no allocator');
    eq(await i2.ccall('noop', 'i32', ['i32'], [1]), 2, 'numbers need no allocator');
    i2.terminate();
  },

  // A module linked with a 256 KiB stack whose calls use 100 KiB of it
  // across a suspension: overlapping calls each get the module's own stack
  // size (64 KiB before: heap corruption or a trap); a smaller
  // options.stackSize is reported as a stack overflow.
  async moduleStack(env) {
    const expected = (kb, salt) => {
      let s = 0;
      for (let i = 0; i < kb * 1024; i++) s += (i * 31 + salt) & 0xff;
      return s;
    };
    const imports = { env: { pause: (x) => delay(5, x) } };
    const inst = await env.instantiate(env.load(modOf(env.mode, 'stack')), imports, { mode: env.mode });
    await inst.exports.heap_set(0x5a);
    const rs = await Promise.all([1, 2, 3].map((k) => inst.exports.deep(100, k)));
    rs.forEach((r, k) => eq(r, expected(100, k + 1), `overlapping call ${k}`));
    eq(await inst.exports.heap_check(0x5a), 1, 'the heap is intact');
    inst.terminate();
    if (env.mode === 'worker') return; // one worker, one stack: nothing to size
    const small = await env.instantiate(env.load(modOf(env.mode, 'stack')), imports, { mode: env.mode, stackSize: 32768 });
    const first = small.exports.deep(100, 1); // the module's own stack
    const second = small.exports.deep(100, 2); // an extra stack of 32 KiB
    // what lay below the small stack was overwritten before anyone could
    // stop it (the first call's data among it): only the report is checked
    first.catch(() => {});
    await rejects(
      second,
      (e) => e.name === 'StackOverflowError' && /32768-byte stack/.test(e.message) && /options\.stackSize/.test(e.message),
      'a call past its 32 KiB stack',
    );
    small.terminate();
  },

  // Load and faults at CI size (the full size: bench/runtime.mjs --load).
  async loadAndFaults(env) {
    const { runLoad } = await import('./load.mjs');
    const calls = env.mode === 'worker' ? 100 : 1000;
    const r = await runLoad({ ...env, calls, aborts: env.mode === 'worker' ? 50 : 200 });
    env.note?.(`load ${env.mode}: ${JSON.stringify(r)}`);
    eq(r.calls, 2 * calls + calls, 'calls made');
    eq(r.wrong, 0, 'wrong results');
    eq(r.rejections, calls / 2, 'rejections');
    eq(r.leakedBytes, 0, 'runtime memory still in use after every call settled');
    if (r.grownBytes !== null) eq(r.grownBytes, 0, 'guest memory grown in the second round');
  },

  async asyncifyOverflow(env) {
    if (env.mode !== 'asyncify') return 'skip';
    const { inst } = await app(env, {}, 'app', { asyncify: { dataSize: 128 } });
    const err = await rejects(
      inst.exports.compute(30, 1, 1),
      (e) => /asyncify data buffer overflow/.test(e.message) && /options\.asyncify\.dataSize/.test(e.message),
      'overflowing call',
    );
    check(/\d+ bytes/.test(err.message), 'message names a size');
    eq(await inst.exports.noop(5), 6, 'usable after overflow');
    eq(await inst.exports.sleep0(), 7, 'a shallow suspension still fits');
    inst.terminate();
  },
};
