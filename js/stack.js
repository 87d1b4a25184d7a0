// Guest memory regions and the C shadow stack.
//
// Compiled C keeps its stack frames (arrays, address-taken locals) in linear
// memory below a global, `__stack_pointer`. When two export calls are both
// suspended -- each parked in the middle of its own C call chain -- they must
// not share that stack: the second call would push frames on top of the
// first call's live ones, and whichever returns first would reset the pointer
// under the other. So every concurrently suspended call gets its own stack:
//
//   - the first call that runs while no other call holds it uses the module's
//     own stack ("main"), starting from the stack top recorded at
//     instantiation;
//   - every further concurrent call gets a region of `stackSize` bytes and
//     starts with the pointer at the region's top; `stackSize` defaults to
//     the size of the module's own stack (sig.js, moduleStackSize: from the
//     stack pointer's initial value and the data layout), so a call never
//     gets less stack than the module was linked with;
//   - below each such region lies a guard of GUARD bytes filled with a known
//     pattern; a call that ran past the bottom of its stack changed it, and
//     is reported as a stack overflow (overflowed(), checked when the call
//     suspends and when it finishes) instead of going on with the memory
//     below its stack overwritten;
//   - when a call suspends, its current pointer is saved; when it resumes
//     (and before anything else runs guest code) the pointer is restored.
//
// The stack pointer is reached through an exported mutable global
// `__stack_pointer` (clang: -Wl,--export=__stack_pointer; `wasync asyncify`
// can export it) or Emscripten's `stackSave`/`stackRestore` exports. Without
// either, the runtime cannot switch stacks, and the runners fall back to
// running one call at a time (others queue).
//
// Regions (stacks, asyncify data buffers) come from the module's own
// allocator (`malloc`/`free`, or Emscripten's `_malloc`/`_free`) when it
// exports one, otherwise from pages appended with memory.grow -- memory no
// allocator in the module has handed out, so nothing is corrupted. Freed
// regions are kept on a free list by size and reused.

import { StackOverflowError } from './errors.js';

const PAGE = 65536;
const GUARD = 256;
const guardByte = (i) => (0xa5 ^ i) & 0xff;

export class Regions {
  #exports;
  #memory;
  #free = new Map(); // size -> [addr]
  #ownAllocator;
  #inUse = 0; // bytes handed out and not released
  #kept = 0; // bytes on the free lists

  constructor(exports, getMemory) {
    this.#exports = exports;
    this.#memory = getMemory;
    const malloc = exports.malloc ?? exports._malloc;
    const free = exports.free ?? exports._free;
    this.#ownAllocator = typeof malloc === 'function' && typeof free === 'function' ? { malloc, free } : null;
  }

  get canAllocate() {
    return this.#ownAllocator !== null || this.#memory() instanceof WebAssembly.Memory;
  }

  /** {inUse, kept}: bytes of regions handed out now, and kept for reuse. */
  get stats() {
    return { inUse: this.#inUse, kept: this.#kept };
  }

  /** A 16-byte aligned region of `size` bytes. Must be called while no guest code runs. */
  alloc(size) {
    size = Math.ceil(size / 16) * 16;
    const list = this.#free.get(size);
    this.#inUse += size;
    if (list && list.length) {
      this.#kept -= size;
      return list.pop();
    }
    try {
      return this.#fresh(size);
    } catch (e) {
      this.#inUse -= size;
      throw e;
    }
  }

  #fresh(size) {
    if (this.#ownAllocator) {
      const raw = this.#ownAllocator.malloc(size + 16) >>> 0;
      if (raw === 0) throw new Error(`wasync: the module's malloc could not provide ${size} bytes`);
      return (raw + 15) & ~15;
    }
    const mem = this.#memory();
    if (!(mem instanceof WebAssembly.Memory)) throw new Error('wasync: no memory to allocate runtime regions in');
    const pages = Math.ceil(size / PAGE);
    try {
      return mem.grow(pages) * PAGE;
    } catch (e) {
      throw new Error(
        `wasync: no room for a ${size}-byte runtime region (asyncify data buffer or call stack): the module exports ` +
          'no malloc/free and its memory cannot grow; pass options.asyncify.dataAddress and dataSize ' +
          '(a free area of linear memory) or export an allocator',
        { cause: e },
      );
    }
  }

  release(addr, size) {
    size = Math.ceil(size / 16) * 16;
    this.#inUse -= size;
    this.#kept += size;
    let list = this.#free.get(size);
    if (!list) this.#free.set(size, (list = []));
    list.push(addr);
  }
}

export class ShadowStack {
  #get;
  #set;
  #regions;
  #size;
  #mainTop;
  #mainOwner = null;
  #bytes;
  // The value the stack pointer is known to hold while no guest code runs
  // (undefined: unknown), so that enter() and release() skip setting a
  // value it already has -- a plain call that starts and returns on the
  // main stack then costs no write of the global at all.
  #known;

  constructor(exports, regions, stackSize, bytes) {
    this.#bytes = bytes;
    const g = exports.__stack_pointer;
    if (g instanceof WebAssembly.Global) {
      let ok = true;
      try {
        g.value = g.value; // throws on an immutable global
      } catch {
        ok = false;
      }
      if (ok) {
        this.#get = () => g.value;
        this.#set = (v) => {
          g.value = v;
        };
      }
    }
    if (!this.#get && typeof exports.stackSave === 'function' && typeof exports.stackRestore === 'function') {
      this.#get = () => exports.stackSave();
      this.#set = (v) => exports.stackRestore(v);
    }
    this.#regions = regions;
    this.#size = stackSize;
    this.#mainTop = this.#get ? this.#get() : 0;
    this.#known = this.#mainTop;
  }

  /** True when calls can each get their own stack. */
  get canSwitch() {
    return this.#get !== undefined && this.#regions.canAllocate;
  }

  /** Bytes of C stack each extra call gets. */
  get size() {
    return this.#size;
  }

  get pointer() {
    return this.#get ? this.#get() : undefined;
  }

  /** Gives `call` a stack (call.stack, call.sp). Guest code must be idle. */
  assign(call) {
    if (!this.#get) return;
    if (this.#mainOwner === null) {
      this.#mainOwner = call;
      call.stack = 'main';
      call.sp = this.#mainTop;
    } else {
      const base = this.#regions.alloc(this.#size + GUARD);
      const mem = this.#bytes();
      for (let i = 0; i < GUARD; i++) mem[base + i] = guardByte(i);
      call.stack = base;
      call.sp = base + GUARD + this.#size;
    }
  }

  /** True when `call` ran past the bottom of its (extra) stack: its guard changed. */
  overflowed(call) {
    if (typeof call.stack !== 'number') return false;
    const mem = this.#bytes();
    for (let i = 0; i < GUARD; i++) if (mem[call.stack + i] !== guardByte(i)) return true;
    return false;
  }

  /** The error for a call that overflowed its stack. */
  overflowError(call) {
    return new StackOverflowError(
      `wasync: C stack overflow in ${call.name}(): the call ran past the end of its ${this.#size}-byte stack ` +
        "(options.stackSize; the default is the size of the module's own stack); raise options.stackSize",
      this.#size,
    );
  }

  /** Points the guest's stack pointer at `call`'s saved position (guest code runs next). */
  enter(call) {
    if (!this.#get || call.sp === undefined) return;
    if (call.sp !== this.#known) this.#set(call.sp);
    this.#known = undefined;
  }

  /** Records where `call` left its stack (at a suspension). */
  save(call) {
    if (this.#get) this.#known = call.sp = this.#get();
  }

  /**
   * Returns `call`'s stack; leaves the pointer at the main stack's top.
   * `returned`: the call's export returned normally, so its epilogues have
   * put the pointer back where the call entered -- on the main stack, at
   * its top, and nothing needs to be written.
   */
  release(call, returned = false) {
    if (!this.#get || call.stack === undefined) return;
    const main = call.stack === 'main';
    if (main) this.#mainOwner = null;
    else this.#regions.release(call.stack, this.#size + GUARD);
    call.stack = undefined;
    if (!(main && returned)) this.#set(this.#mainTop);
    this.#known = this.#mainTop;
  }
}
