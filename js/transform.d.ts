// Types of wasync/transform (transform.js).
export interface AsyncifyOptions {
  imports?: string[] | string;
  ignoreImports?: boolean;
  ignoreIndirect?: boolean;
  addList?: string[] | string;
  propagateAdd?: boolean;
  removeList?: string[] | string;
  onlyList?: string[] | string;
  asserts?: boolean;
  splitRewind?: 'auto' | 'never' | number;
  importGlobals?: boolean;
  exportGlobals?: boolean;
  memory?: number | string;
  verbose?: boolean;
  why?: string;
  /** Extra `wasync asyncify` arguments, as on the command line. */
  args?: string[];
  /** Receives the lines `verbose` and `why` print (default console.log). */
  log?: (line: string) => void;
  /** The file name used in error messages (default "input.wasm"). */
  name?: string;
}
export type Bytes = Uint8Array | ArrayBuffer | ArrayBufferView;
export class TransformError extends Error {
  file: string;
  offset?: number;
  code?: 'malformed' | 'invalid' | 'limit' | 'nomem' | 'unsupported' | 'argument' | 'error';
  detail?: string;
}
export interface ValidateResult {
  valid: boolean;
  error?: string;
  offset?: number;
  code?: string;
}
export interface ModuleInfo {
  size: number;
  sections: { id: number; name: string; offset: number; size: number }[];
  counts: Record<string, number>;
  start?: number;
  imports: { module: string; name: string; kind: string; index: number }[];
  exports: { name: string; kind: string; index: number }[];
  functions: { index: number; type: number; imported?: true; offset?: number; size?: number; name?: string }[];
}
export interface Transform {
  asyncify(bytes: Bytes, options?: AsyncifyOptions): Uint8Array;
  validate(bytes: Bytes, options?: { name?: string }): ValidateResult;
  info(bytes: Bytes, options?: { name?: string }): ModuleInfo;
}
export function loadTransform(source?: Bytes | WebAssembly.Module | URL | string | Response): Promise<Transform>;
export function asyncifyArgs(options?: AsyncifyOptions): string[];
export function asyncify(bytes: Bytes, options?: AsyncifyOptions): Promise<Uint8Array>;
export function validate(bytes: Bytes, options?: { name?: string }): Promise<ValidateResult>;
export function info(bytes: Bytes, options?: { name?: string }): Promise<ModuleInfo>;
