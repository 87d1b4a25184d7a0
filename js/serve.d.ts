// Type declarations for wasync/serve (js/serve.js), the dev server. They need
// no @types/node: the server is described by the few members callers use.

export interface ServeOptions {
  /** Directory to serve (default '.'); serve() rejects if it is not a directory. */
  root?: string;
  /** Port (default 8080; 0 picks a free one). */
  port?: number;
  /** Address to bind (default '127.0.0.1'). */
  host?: string;
  /** Send COOP/COEP so pages are cross-origin isolated (default true). */
  isolation?: boolean;
  /** Receives one line per request, e.g. '200 GET /index.html'. */
  log?: ((line: string) => void) | null;
}

/** The node:http Server, as far as callers need it. */
export interface DevServer {
  close(callback?: (err?: Error) => void): unknown;
  readonly listening: boolean;
}

/** Creates (does not start) the server: a node:http Server. */
export declare function createServer(options?: Omit<ServeOptions, 'port' | 'host'>): DevServer;

/** Starts a server; resolves once it listens. */
export declare function serve(options?: ServeOptions): Promise<{ server: DevServer; url: string; port: number }>;

/** The Content-Type served for a file name. */
export declare function contentType(file: string): string;
