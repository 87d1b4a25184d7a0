// Type declarations for wasync-quickjs (quickjs/index.js).

export type Mode = 'jspi' | 'asyncify' | 'worker';

/**
 * What crosses between host and guest (both ways, copied): JSON types,
 * undefined, BigInt, Uint8Array (other typed arrays/ArrayBuffers arrive as
 * Uint8Array), Date, Error (name, message, stack), nested arrays and plain
 * objects. Functions, symbols, cycles and values larger than maxValueSize
 * are refused.
 */
export type Value =
  | undefined
  | null
  | boolean
  | number
  | string
  | bigint
  | Uint8Array
  | Date
  | Error
  | Value[]
  | { [key: string]: Value };

export interface CreateOptions {
  /** 'auto' (default): 'jspi' where the engine has JSPI, else 'asyncify'. */
  mode?: Mode | 'auto';
  /** Bytes the guest heap may hold (default 64 MiB; 0 = no limit). */
  memoryLimit?: number;
  /**
   * Bytes of C stack QuickJS may use before it throws a catchable
   * InternalError "stack overflow" (default 160 KiB in asyncify and worker
   * modes, 256 KiB in jspi mode; 16 KiB to 960 KiB; ~240 bytes per JS call).
   */
  stackSize?: number;
  /**
   * The most JS call levels on the guest's stack, the script's own included
   * (a deeper call throws a catchable RangeError); default 0: only
   * stackSize limits. Whichever of the two is reached first applies.
   */
  maxStackDepth?: number;
  /** Largest encoded value that may cross, in bytes (default 16 MiB). */
  maxValueSize?: number;
  /** Where the modules are (defaults: build/quickjs/pkg/ next to the package). */
  wasm?: { plain?: string | URL | WebAssembly.Module; asyncify?: string | URL | WebAssembly.Module };
}

/** `this` of a host function while it runs. */
export interface HostCallContext {
  /** Fires when the evaluation that made the call times out, is aborted or the VM is disposed. */
  readonly signal: AbortSignal | undefined;
  readonly vm: QuickJS;
}

export type HostFunction = (this: HostCallContext, ...args: any[]) => Value | void | PromiseLike<Value | void>;
export interface HostNamespace {
  [name: string]: HostFunction | HostNamespace;
}

export interface ExposeOptions {
  /**
   * 'sync': returns a value (a returned Promise is an error in the guest);
   * 'blocking' (default): may return a Promise -- the guest sees the settled
   * value, its stack suspends meanwhile; 'promise': the guest gets a Promise.
   */
  style?: 'sync' | 'blocking' | 'promise';
}

export interface EvalOptions {
  /** 'script' (default): resolves to the completion value; 'module': to undefined (top-level await allowed). */
  type?: 'script' | 'module';
  filename?: string;
  /** ms; covers guest code and time suspended in host calls. Rejects with a TimeoutError. */
  timeout?: number;
  /** Aborting rejects with the signal's reason (an AbortError by default). */
  signal?: AbortSignal;
}

export declare class QuickJS {
  static create(options?: CreateOptions): Promise<QuickJS>;
  readonly mode: Mode;
  readonly disposed: boolean;
  /** Makes fn (or every function of a namespace object) callable from the guest as `name` (dots: nested objects). */
  expose(name: string, fn: HostFunction | HostNamespace, options?: ExposeOptions): this;
  /**
   * Evaluates code; settles when the guest's result (a Promise completion
   * value is awaited) is known and its job queue is drained. Rejects with
   * the guest's exception (an Error keeps the guest's name, message, stack).
   */
  evalAsync(code: string, options?: EvalOptions): Promise<Value>;
  /** Bytes the guest heap holds now (what memoryLimit counts). */
  heapSize(): Promise<number>;
  /** Frees the VM; pending evaluations reject with an AbortError. */
  dispose(): void;
}

export default QuickJS;
