// Type declarations for the wasync runtime (js/index.js).

export type Mode = 'jspi' | 'asyncify' | 'worker';

/** Guest linear memory; the same API in every mode. */
export interface GuestMemory {
  /** Current size in bytes. */
  readonly size: number;
  /** Copy of bytes [ptr, ptr + len). */
  readBytes(ptr: number, len: number): Uint8Array;
  /** Copies bytes into guest memory at ptr. */
  writeBytes(ptr: number, bytes: Uint8Array | ArrayBufferView | ArrayBuffer | ArrayLike<number>): void;
  /** Length of the NUL-terminated string at ptr. */
  cStringLength(ptr: number): number;
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

export declare const GuestMemory: {
  prototype: GuestMemory;
  byteLength(str: string): number;
};

/**
 * What import functions receive as `this` (per call) and what an imports
 * factory receives (shared; its signal/callName follow the call running now).
 */
export interface ImportContext {
  readonly memory: GuestMemory;
  /** AbortSignal of the export call: fires on its abort or timeout. */
  readonly signal: AbortSignal | undefined;
  /** Name of the export being called. */
  readonly callName: string | undefined;
  readonly instance: WasyncInstance | undefined;
  readBytes(ptr: number, len: number): Uint8Array;
  writeBytes(ptr: number, bytes: Uint8Array | ArrayBufferView | ArrayBuffer | ArrayLike<number>): void;
  readString(ptr: number, len?: number): string;
  writeString(ptr: number, str: string, maxBytes?: number, options?: { nul?: boolean }): number;
  view(): DataView;
}

export type WasmValue = number | bigint | null | undefined;
/** An import: returns a value (no suspension) or a Promise/thenable (the guest suspends). */
export type AsyncImport = (this: ImportContext, ...args: any[]) => WasmValue | PromiseLike<WasmValue> | void;
export type Imports = Record<string, Record<string, AsyncImport | WebAssembly.Memory | WebAssembly.Global | number | bigint>>;

export type Source =
  | BufferSource
  | Response
  | URL
  | string
  | WebAssembly.Module
  | PromiseLike<BufferSource | Response | WebAssembly.Module>;

export interface InstantiateOptions {
  /** Default 'auto': JSPI if available, else Asyncify if instrumented, else the worker. */
  mode?: Mode | 'auto';
  /** Candidates and order for 'auto' (default ['jspi', 'asyncify', 'worker']). */
  modes?: Mode[];
  /** Default timeout (ms) of every call. */
  timeout?: number;
  /** Size of the C stack given to each extra concurrent call (default 65536). */
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

export interface WasyncInstance {
  readonly mode: Mode;
  /** Function exports as async functions; other exports as-is (not in worker mode). */
  readonly exports: Record<string, any>;
  readonly memory: GuestMemory;
  /** The WebAssembly.Instance (JSPI and Asyncify modes). */
  readonly instance?: WebAssembly.Instance;
  call(name: string, args?: WasmValue[], options?: CallOptions): Promise<any>;
  /**
   * Ends the instance: pending calls are aborted (they reject with an
   * AbortError, their imports' signal fires), later calls reject, and in
   * worker mode the worker is stopped.
   */
  terminate(): void;
}

export declare const WasyncInstance: { prototype: WasyncInstance };

export function instantiate(
  source: Source,
  imports?: Imports | ((ctx: ImportContext) => Imports),
  options?: InstantiateOptions,
): Promise<WasyncInstance>;

/** Modes usable for `module` here (null: ignore the module), and why the others are not. */
export function supportedModes(module: WebAssembly.Module | null): {
  modes: Mode[];
  why: Partial<Record<Mode, string>>;
};

export function isAsyncified(module: WebAssembly.Module): boolean;
