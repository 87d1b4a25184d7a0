// engine.js -- engine settings wasync applies before it runs a module.
//
// The problem.  V8 before 11.6 (Node 18 and Node 20) gives a WebAssembly
// function whose optimized code needs more than about 9,700 virtual
// registers to its "mid-tier" register allocator instead of the normal one,
// to bound compile time.  The mid-tier allocator gives nearly every spilled
// value a stack slot of its own, so such a function's native frame grows by
// an order of magnitude.  Interpreter loops are the functions near that line,
// and Asyncify instrumentation (wasync's or Binaryen's) pushes them over it:
// QuickJS's JS_CallInternal needs 8,410 virtual registers as compiled by
// clang and 17,452 once instrumented (measured with --trace-turbo on Node
// 20), its optimized frame grows from 192 to 5,231 stack slots, and deep
// recursion that the original survives ends in "RangeError: Maximum call
// stack size exceeded" (maximum JS recursion depth inside QuickJS on Node 20:
// 634 for the original module, 50 for the instrumented one).
//
// The fix.  V8's flag --no-turbo-use-mid-tier-regalloc-for-huge-functions
// keeps the normal allocator for every function.  With it the same
// measurement gives 857 for the original and 857 for the instrumented module.
// The cost is optimizing-compile time for huge functions only, spent in V8's
// background tier-up (eager TurboFan compilation of the whole instrumented
// QuickJS module on Node 20: 1.74 s -> 2.68 s; of the original: 0.76 s ->
// 0.69 s).  V8 11.6 and
// later have no such fallback, so nothing is changed there; browsers are
// never touched (a page cannot set engine flags).
//
// tuneEngine() applies the flag once per process, before code is optimized
// (V8 reads it when it compiles a function, so setting it after a module was
// compiled but before it got hot works too).  instantiate() calls it unless
// {tuneEngine: false} is passed; drivers that run asyncified modules by hand
// can call it themselves.

import { nodeModule } from './platform.js';

const HUGE_FUNCTION_FLAG = '--no-turbo-use-mid-tier-regalloc-for-huge-functions';

let done = null;

/** V8's version as [major, minor], or null outside V8/Node. */
function v8Version() {
  const v = typeof process === 'object' ? process.versions?.v8 : undefined;
  if (typeof v !== 'string') return null;
  const m = /^(\d+)\.(\d+)/.exec(v);
  return m ? [Number(m[1]), Number(m[2])] : null;
}

/** True when this engine has the huge-function fallback described above. */
export function hasHugeFunctionFallback() {
  const v = v8Version();
  return v !== null && (v[0] < 11 || (v[0] === 11 && v[1] < 6));
}

/** Whether tuneEngine() has been called in this realm. */
export function engineTuned() {
  return done !== null;
}

/**
 * Applies wasync's engine settings (see above) once.  Resolves to
 * {applied: string[], reason: string}: the flags set, or why none was.
 */
export async function tuneEngine() {
  if (done) return done;
  done = (async () => {
    if (typeof process !== 'object' || typeof process.versions?.node !== 'string')
      return { applied: [], reason: 'not Node.js: engine flags cannot be set' };
    if (!hasHugeFunctionFallback())
      return { applied: [], reason: `V8 ${process.versions.v8} has no mid-tier fallback for huge functions` };
    let v8;
    try {
      v8 = await nodeModule('node:v8');
    } catch (e) {
      return { applied: [], reason: `node:v8 is not available: ${e.message}` };
    }
    v8 = v8?.default ?? v8;
    if (typeof v8?.setFlagsFromString !== 'function') return { applied: [], reason: 'v8.setFlagsFromString is not available' };
    v8.setFlagsFromString(HUGE_FUNCTION_FLAG);
    return { applied: [HUGE_FUNCTION_FLAG], reason: `V8 ${process.versions.v8} falls back to the mid-tier register allocator for huge functions` };
  })();
  return done;
}
