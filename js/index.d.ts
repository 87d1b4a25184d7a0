// Type declarations for the wasync runtime (js/index.js).
//
// They type-check with or without the DOM library (a Node-only project with
// lib ["es2022"] and no @types/node, a browser project with "dom"): the few
// platform types used -- WebAssembly.*, AbortSignal, Response, URL -- are
// declared below as (nearly) empty interfaces, which merge with the full ones
// where a library provides them.

declare global {
  namespace WebAssembly {
    interface Module {}
    interface Instance {}
    interface Memory {}
    interface Global {}
    interface Table {}
  }
  // the two members import code reads most, declared as lib.dom and @types/node do
  interface AbortSignal {
    readonly aborted: boolean;
    readonly reason: any;
  }
  interface Response {}
  interface URL {}
}

export type Mode = 'jspi' | 'asyncify' | 'worker';

type Bytes = ArrayBuffer | ArrayBufferView | ArrayLike<number>;

/** Typed accessors of guest memory; the same in every mode. */
export interface MemoryAccess {
  /** Copy of bytes [ptr, ptr + len). */
  readBytes(ptr: number, len: number): Uint8Array;
  /** Copies bytes into guest memory at ptr. */
  writeBytes(ptr: number, bytes: Bytes): void;
  /** UTF-8 string of len bytes at ptr; without len, up to the first NUL. */
  readString(ptr: number, len?: number): string;
  /**
   * Writes str as UTF-8 at ptr, at most maxBytes bytes (never splitting a
   * character), plus a NUL with {nul: true}. Returns the string bytes written.
   */
  writeString(ptr: number, str: string, maxBytes?: number, options?: { nul?: boolean }): number;
  readU8(ptr: number): number;
  readI32(ptr: number): number;
  readU32(ptr: number): number;
  readI64(ptr: number): bigint;
  readF32(ptr: number): number;
  readF64(ptr: number): number;
  writeU8(ptr: number, v: number): void;
  writeI32(ptr: number, v: number): void;
  writeU32(ptr: number, v: number): void;
  writeI64(ptr: number, v: bigint | number): void;
  writeF32(ptr: number, v: number): void;
  writeF64(ptr: number, v: number): void;
  /** DataView over the whole memory (JSPI and Asyncify modes; throws in worker mode). */
  view(): DataView;
}

/** Guest linear memory (`inst.memory`, `ctx.memory`). */
export interface GuestMemory extends MemoryAccess {
  /** Current size in bytes. */
  readonly size: number;
  /** Length of the NUL-terminated string at ptr. */
  cStringLength(ptr: number): number;
}

export declare const GuestMemory: {
  prototype: GuestMemory;
  byteLength(str: string): number;
};

/**
 * What import functions receive as `this` (per call) and what an imports
 * factory receives (shared; its signal/callName follow the call running now,
 * or the one call in progress).
 */
export interface ImportContext extends MemoryAccess {
  readonly memory: GuestMemory;
  /** AbortSignal of the export call: fires on its abort or timeout. */
  readonly signal: AbortSignal | undefined;
  /** Name of the export being called. */
  readonly callName: string | undefined;
  readonly instance: WasyncInstance | undefined;
}

export type WasmValue = number | bigint | null | undefined;
/** An import: returns a value (no suspension) or a Promise/thenable (the guest suspends). */
export type AsyncImport = (this: ImportContext, ...args: any[]) => WasmValue | PromiseLike<WasmValue> | void | PromiseLike<void>;
export type ImportValue = AsyncImport | WebAssembly.Memory | WebAssembly.Global | WebAssembly.Table | number | bigint;
export type Imports = Record<string, Record<string, ImportValue>>;

export type Source =
  | ArrayBuffer
  | ArrayBufferView
  | Response
  | URL
  | string
  | WebAssembly.Module
  | PromiseLike<ArrayBuffer | ArrayBufferView | Response | WebAssembly.Module>;

/** What a caller requires of the mode: 'memory' = guest memory reachable between calls. */
export type Need = 'memory';

export interface InstantiateOptions {
  /** Default 'auto': JSPI if available, else Asyncify if instrumented, else the worker. */
  mode?: Mode | 'auto';
  /** Candidates and order for 'auto' (default ['jspi', 'asyncify', 'worker']). */
  modes?: Mode[];
  /** Modes that cannot meet these are never chosen (['memory'] rules out 'worker'). */
  needs?: Need[];
  /** Default timeout (ms) of every call. */
  timeout?: number;
  /** C stack of each extra concurrent call (default: the size of the module's own stack). */
  stackSize?: number;
  asyncify?: {
    /** Bytes per call for the unwound stack (default 16384). */
    dataSize?: number;
    /** A fixed buffer in linear memory (then calls run one at a time). Needs dataSize. */
    dataAddress?: number;
  };
  worker?: {
    /** Size of the shared memory channel's data area (default 65536). */
    dataSize?: number;
    /** URL of worker.js if it is served from elsewhere. */
    url?: string | URL;
    /** Use Atomics.waitAsync for worker requests when available (default true). */
    fast?: boolean;
  };
  /**
   * Apply tuneEngine() first (default true): on Node 18/20 (V8 < 11.6) it turns
   * off V8's mid-tier register allocator for huge functions, whose large
   * frames make instrumented interpreter loops overflow the native stack.
   */
  tuneEngine?: boolean;
  /**
   * On-the-fly asyncify (mode 'auto', no JSPI, a plain module): the imports
   * that may suspend, as in `wasync asyncify --imports` (default: a `wasync cc`
   * module's marked imports + the WASI calls that may wait, else every import).
   */
  asyncImports?: string[];
  /** On-the-fly asyncify: false turns it off, an object configures it. */
  autoAsyncify?: boolean | AutoAsyncifyOptions;
}

/** A step of on-the-fly asyncify; fraction is 0..1 of the whole job. */
export interface AutoAsyncifyProgress {
  stage: 'hash' | 'cache-hit' | 'load' | 'transform' | 'store' | 'done';
  fraction: number;
}

export interface AutoAsyncifyOptions {
  /** Cache the transformed module (default true): a directory in Node, the Cache API in browsers. */
  cache?: boolean;
  /** Node: the cache directory (default $WASYNC_CACHE_DIR, $XDG_CACHE_HOME/wasync, ./node_modules/.cache/wasync or ~/.cache/wasync). */
  cacheDir?: string;
  /** Called at each stage; a 'cache-hit' stage means the transform was skipped. */
  onProgress?(progress: AutoAsyncifyProgress): void;
  /** Browsers: transform in a module worker when the module is larger than workerThreshold (default true). */
  worker?: boolean;
  /** Bytes (default 1 MiB). */
  workerThreshold?: number;
}

/** What tuneEngine() did: the V8 flags it set, or why it set none. */
export interface EngineTuning {
  applied: string[];
  reason: string;
}

/** Applies wasync's engine settings once per process (Node only; see js/engine.js). */
export declare function tuneEngine(): Promise<EngineTuning>;

export interface CallOptions {
  signal?: AbortSignal;
  timeout?: number;
}

// ---- marshalled calls (js/marshal.js) ----

export type NumberType = 'i32' | 'u32' | 'f32' | 'f64' | 'number' | 'pointer';
export type OutBuffer = { out: number; as?: 'bytes' | 'string' };
export type ArgType = NumberType | 'bool' | 'i64' | 'string' | 'bytes' | 'array' | OutBuffer;
export type ResultType = NumberType | 'bool' | 'i64' | 'string' | 'void';

/** The JS value an argument of type T takes. */
export type ArgValue<T> = T extends NumberType
  ? number
  : T extends 'bool'
    ? boolean
    : T extends 'i64'
      ? bigint | number
      : T extends 'string'
        ? string
        : T extends 'bytes' | 'array'
          ? Bytes
          : T extends OutBuffer
            ? null | undefined
            : never;
export type ArgValues<A extends readonly ArgType[]> = { -readonly [K in keyof A]: ArgValue<A[K]> };

/** The JS value a result of type R becomes. */
export type ResultValue<R> = R extends NumberType
  ? number
  : R extends 'bool'
    ? boolean
    : R extends 'i64'
      ? bigint
      : R extends 'string'
        ? string | null
        : undefined;
type HasOut<A extends readonly ArgType[]> = Extract<A[number], OutBuffer> extends never ? false : true;
/** A marshalled call's value: the result, or {value, out} with out-buffers. */
export type Marshalled<R, A extends readonly ArgType[]> = HasOut<A> extends true
  ? { value: ResultValue<R>; out: Array<string | Uint8Array> }
  : ResultValue<R>;

/** An export as the instance offers it: async, plus .with() for marshalled calls. */
export interface AsyncExport<F extends (...args: any[]) => any = (...args: any[]) => any> {
  (...args: Parameters<F>): Promise<Awaited<ReturnType<F>>>;
  /** The export with arguments and result converted by type: .with({args: ['string'], returns: 'string'}). */
  with<const A extends readonly ArgType[] = [], R extends ResultType = 'void'>(signature: {
    args?: A;
    returns?: R;
  }): (...args: ArgValues<A>) => Promise<Marshalled<R, A>>;
}

/** `inst.exports` for a module whose exports are described by E (functions as the guest sees them). */
export type AsyncExports<E> = {
  readonly [K in keyof E]: E[K] extends (...args: any[]) => any ? AsyncExport<E[K]> : E[K];
};

/** Exports when no type is given: any name, any arguments. */
export type UntypedExports = Record<string, (...args: any[]) => any>;

export interface WasyncInstance<E extends object = UntypedExports> {
  readonly mode: Mode;
  /**
   * 'parallel': suspended calls overlap, each on its own C stack; 'queued':
   * the calls share one stack (no switchable stack pointer, a fixed
   * asyncify buffer, or worker mode) and run one at a time or nested.
   */
  readonly concurrency: 'parallel' | 'queued';
  /** Function exports as async functions; other exports as-is (not in worker mode). */
  readonly exports: AsyncExports<E>;
  readonly memory: GuestMemory;
  /** The WebAssembly.Instance (JSPI and Asyncify modes). */
  readonly instance?: WebAssembly.Instance;
  call<K extends keyof E & string>(name: K, args?: WasmValue[], options?: CallOptions): Promise<any>;
  /** Calls export `name` with arguments and result converted by type, where the memory lives. */
  ccall<const A extends readonly ArgType[], R extends ResultType>(
    name: keyof E & string,
    returns: R,
    argTypes: A,
    args: ArgValues<A>,
    options?: CallOptions,
  ): Promise<Marshalled<R, A>>;
  /** A function calling ccall(name, returns, argTypes, args). */
  cwrap<const A extends readonly ArgType[], R extends ResultType>(
    name: keyof E & string,
    returns: R,
    argTypes: A,
  ): (...args: ArgValues<A>) => Promise<Marshalled<R, A>>;
  /**
   * Ends the instance: pending calls are aborted (they reject with an
   * AbortError, their imports' signal fires), later calls reject, and in
   * worker mode the worker is stopped.
   */
  terminate(): void;
}

export declare const WasyncInstance: { prototype: WasyncInstance };

/**
 * Instantiates `source`. Give the module's exports as a type argument to
 * have them checked: instantiate<{ add(a: number, b: number): number }>(...).
 */
export declare function instantiate<E extends object = UntypedExports>(
  source: Source,
  imports?: Imports | ((ctx: ImportContext) => Imports),
  options?: InstantiateOptions,
): Promise<WasyncInstance<E>>;

/** Modes usable for `module` here (null: any module), and why the others are not. */
export declare function supportedModes(module: WebAssembly.Module | null): {
  modes: Mode[];
  why: Partial<Record<Mode, string>>;
};

export declare function isAsyncified(module: WebAssembly.Module): boolean;

// ---- errors (js/errors.js); every message starts with "wasync: " ----

export declare class WasyncError extends Error {}
/** The call was aborted (its signal, or terminate()). */
export declare class AbortError extends WasyncError {
  name: 'AbortError';
}
/** The call did not finish within its timeout. */
export declare class TimeoutError extends WasyncError {
  name: 'TimeoutError';
  /** The timeout in ms. */
  readonly timeout: number;
}
/** Asyncify mode: the unwound stack did not fit options.asyncify.dataSize. */
export declare class AsyncifyOverflowError extends WasyncError {
  name: 'AsyncifyOverflowError';
  readonly dataSize: number;
  /** Bytes that would have been enough, when known. */
  readonly needed: number | undefined;
}
/** Asyncify mode: an import suspended where the module was not instrumented to. */
export declare class AsyncifyImportError extends WasyncError {
  name: 'AsyncifyImportError';
  /** 'module.name' of the import to add to `wasync asyncify --imports`. */
  readonly importName: string | undefined;
}
/** A call ran past the end of its C stack (options.stackSize). */
export declare class StackOverflowError extends WasyncError {
  name: 'StackOverflowError';
  readonly stackSize: number;
}
