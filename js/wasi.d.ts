// Types for wasync/wasi: WASI preview1 whose blocking calls wait asynchronously.
import type { WasyncInstance, InstantiateOptions } from './index.js';

/** Bytes or text a guest reads from stdin. */
export type StdinChunk = string | Uint8Array | ArrayBufferView | ArrayBuffer;
export type StdinSource =
  | StdinChunk
  | null
  | undefined
  | (() => Promise<StdinChunk | null> | StdinChunk | null)
  | AsyncIterable<StdinChunk>
  | Iterable<StdinChunk>
  | ReadableStream<StdinChunk>
  | { on(event: string, fn: (...a: any[]) => void): unknown; read(): any };
export type OutputSink =
  | ((bytes: Uint8Array) => void | Promise<void>)
  | WritableStream<Uint8Array>
  | { write(bytes: Uint8Array): boolean | void }
  | null
  | undefined;

/** A file of an in-memory tree: text, bytes, a URL or Response (fetched on first open), null/{} for a directory. */
export type MemoryFileValue = string | Uint8Array | ArrayBufferView | ArrayBuffer | URL | Response | null | MemoryTree;
export interface MemoryTree {
  [path: string]: MemoryFileValue;
}

export interface MemoryEntry {
  path: string;
  kind: 'dir' | 'file' | 'symlink';
  data?: Uint8Array;
  target?: string;
  atim: bigint;
  mtim: bigint;
}
export class MemoryFS {
  constructor(tree?: MemoryTree);
  snapshot(): MemoryEntry[];
  restore(entries: MemoryEntry[]): void;
}
/** A MemoryFS kept in IndexedDB: loaded now, saved by save() (WASI.start() saves at exit). */
export function persistentFS(name: string, initialTree?: MemoryTree): Promise<MemoryFS & { save(): Promise<void>; clear(): Promise<void> }>;
/** stdin from an <input>/<textarea>: Enter sends the line; end() sends end-of-file. */
export function stdinFromElement(el: HTMLInputElement | HTMLTextAreaElement): AsyncIterable<string> & { end(): void };
/** {wasync_js: {...}} from the WASYNC_ASYNC_JS bodies of a module ({} when none). */
export function guestJsImports(source: Uint8Array | ArrayBuffer | WebAssembly.Module): Record<string, Record<string, (...args: any[]) => Promise<any>>>;
export class HostFS {
  constructor(root: string);
}

export interface WASIOptions {
  args?: string[];
  env?: Record<string, string>;
  /** guest path -> host directory (Node), in-memory tree, or a MemoryFS/HostFS */
  preopens?: Record<string, string | URL | MemoryTree | MemoryFS | HostFS>;
  stdin?: StdinSource;
  stdout?: OutputSink;
  stderr?: OutputSink;
  /** default true: proc_exit resolves start() with the code; false: Node's process exits */
  returnOnExit?: boolean;
}

/** WASI imports that may return a Promise (asyncify a module with these). */
export const ASYNC_IMPORTS: string[];
export const errno: Record<string, number>;

export class WasiExit extends Error {
  code: number;
}
export class WasiError extends Error {
  errno: number;
}

export class WASI {
  constructor(options?: WASIOptions);
  exitCode: number | null;
  getImportObject(): { wasi_snapshot_preview1: Record<string, (...args: any[]) => number | Promise<number>> };
  /** Runs _start; resolves with the exit code (0 when _start returns). */
  start(instance: WasyncInstance | WebAssembly.Instance): Promise<number>;
  initialize(instance: WasyncInstance | WebAssembly.Instance): Promise<void>;
}

export interface RunWasiOptions extends WASIOptions {
  mode?: 'auto' | 'jspi' | 'asyncify' | 'worker';
  /** extra import namespaces (e.g. env), or a factory receiving the import context */
  imports?: Record<string, Record<string, unknown>> | ((ctx: unknown) => Record<string, Record<string, unknown>>);
  instantiateOptions?: InstantiateOptions;
}
/** Instantiates a WASI command with wasync and runs it; resolves with its exit code. */
export function runWasi(source: unknown, options?: RunWasiOptions): Promise<number>;
