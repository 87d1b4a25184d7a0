// Standard streams. An Input turns any async source into a byte buffer the
// guest reads from: bytes already buffered are returned at once (no
// suspension); when the buffer is empty the guest waits (a Promise) until the
// source produces more or ends, so `fgets(stdin)` suspends the guest without
// blocking the thread. An Output forwards fd_write bytes to a callback or a
// stream and can be flushed (awaited) at exit.

const enc = new TextEncoder();
const isNode = () => typeof globalThis.process?.versions?.node === 'string' && typeof window === 'undefined';

function toBytes(chunk) {
  if (chunk == null) return null;
  if (typeof chunk === 'string') return enc.encode(chunk);
  if (chunk instanceof Uint8Array) return chunk;
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  throw new TypeError('wasync: a WASI stdin chunk must be a string or bytes');
}

/** A pull function () => Promise<Uint8Array|null> (null = end) for any supported source. */
function pullerOf(src) {
  if (src == null) return { pull: async () => null };
  if (typeof src === 'string' || ArrayBuffer.isView(src) || src instanceof ArrayBuffer) {
    let data = toBytes(src);
    return {
      pull: async () => {
        const d = data;
        data = null;
        return d;
      },
    };
  }
  if (typeof src === 'function') return { pull: async () => toBytes(await src()) };
  if (typeof src.getReader === 'function') {
    const reader = src.getReader();
    return {
      pull: async () => {
        const { value, done } = await reader.read();
        return done ? null : toBytes(value);
      },
      close: () => reader.releaseLock?.(),
    };
  }
  if (typeof src.on === 'function' && typeof src.read === 'function') return nodeReadable(src);
  if (typeof src[Symbol.asyncIterator] === 'function' || typeof src[Symbol.iterator] === 'function') {
    const it = src[Symbol.asyncIterator] ? src[Symbol.asyncIterator]() : src[Symbol.iterator]();
    return {
      pull: async () => {
        const { value, done } = await it.next();
        return done ? null : toBytes(value);
      },
      close: () => it.return?.(),
    };
  }
  throw new TypeError(
    'wasync: WASI stdin must be a string, bytes, a function returning a chunk, an (async) iterable, a ReadableStream or a Node stream',
  );
}

// A Node Readable in paused mode: read() what is there, else wait for
// 'readable'/'end'. The listeners go away at close, so process.stdin does not
// keep the process alive after the guest exits.
function nodeReadable(stream) {
  let ended = stream.readableEnded === true;
  let wake = null;
  const onReadable = () => wake?.();
  const onEnd = () => {
    ended = true;
    wake?.();
  };
  const onError = onEnd;
  stream.on('readable', onReadable);
  stream.on('end', onEnd);
  stream.on('error', onError);
  return {
    pull: async () => {
      for (;;) {
        const c = stream.read();
        if (c !== null) return toBytes(c);
        if (ended) return null;
        await new Promise((r) => (wake = r));
        wake = null;
      }
    },
    close: () => {
      stream.off('readable', onReadable);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.pause?.();
      if (stream === globalThis.process?.stdin) stream.unref?.();
    },
  };
}

export class Input {
  constructor(src) {
    this.src = pullerOf(src);
    this.buf = new Uint8Array(0);
    this.eof = false;
    this.waiting = null;
  }
  /** Bytes (or end of input) are available now. */
  ready() {
    return this.buf.length > 0 || this.eof;
  }
  /** Resolves when ready() is true. */
  fill() {
    if (this.ready()) return Promise.resolve();
    return (this.waiting ??= (async () => {
      try {
        for (;;) {
          const c = await this.src.pull();
          if (c === null) {
            this.eof = true;
            break;
          }
          if (c.length) {
            const b = new Uint8Array(this.buf.length + c.length);
            b.set(this.buf);
            b.set(c, this.buf.length);
            this.buf = b;
            break;
          }
        }
      } catch {
        this.eof = true;
      } finally {
        this.waiting = null;
      }
    })());
  }
  /** Takes up to n buffered bytes (call when ready()). */
  take(n) {
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(out.length);
    return out;
  }
  close() {
    try {
      this.src.close?.();
    } catch {
      // a source that cannot be released is left alone
    }
  }
}

export class Output {
  /** sink: (bytes) => void, a Node Writable, a WritableStream, or a default (fd 1/2). */
  constructor(sink, fd) {
    this.pending = [];
    if (typeof sink === 'function') this.write = (b) => this.#track(sink(b.slice()));
    else if (sink && typeof sink.getWriter === 'function') {
      const w = sink.getWriter();
      this.write = (b) => this.#track(w.write(b.slice()));
      this.end = () => w.releaseLock();
    } else if (sink && typeof sink.write === 'function') {
      this.write = (b) => {
        if (!sink.write(b.slice()) && typeof sink.once === 'function')
          this.#track(new Promise((r) => sink.once('drain', r)));
      };
    } else if (sink == null && isNode()) {
      const s = fd === 1 ? process.stdout : process.stderr;
      this.write = (b) => {
        if (!s.write(b.slice())) this.#track(new Promise((r) => s.once('drain', r)));
      };
    } else if (sink == null) {
      // browsers: console, one call per line
      const dec = new TextDecoder();
      let line = '';
      const log = fd === 1 ? console.log : console.error;
      this.write = (b) => {
        line += dec.decode(b, { stream: true });
        const parts = line.split('\n');
        line = parts.pop();
        for (const p of parts) log(p);
      };
      this.end = () => {
        if (line) log(line);
        line = '';
      };
    } else throw new TypeError('wasync: WASI stdout/stderr must be a function, a Node stream or a WritableStream');
  }
  #track(p) {
    if (p && typeof p.then === 'function') {
      const e = Promise.resolve(p).catch(() => {});
      this.pending.push(e);
      e.then(() => this.pending.splice(this.pending.indexOf(e), 1));
    }
  }
  async flush() {
    this.end?.();
    while (this.pending.length) await Promise.all(this.pending);
  }
}

/**
 * stdin from an <input> or <textarea>: each Enter sends the element's value
 * and a newline to the guest and clears the element. Returns an async
 * iterable for WASI's `stdin` option; `end()` on it sends end-of-file.
 */
export function stdinFromElement(el) {
  const queue = [];
  let wake = null;
  let ended = false;
  const push = (v) => {
    queue.push(v);
    wake?.();
  };
  const onKey = (e) => {
    if (e.key !== 'Enter' || e.shiftKey) return;
    e.preventDefault();
    push(el.value + '\n');
    el.value = '';
  };
  el.addEventListener('keydown', onKey);
  return {
    end() {
      ended = true;
      wake?.();
    },
    async *[Symbol.asyncIterator]() {
      try {
        for (;;) {
          if (queue.length) yield queue.shift();
          else if (ended) return;
          else await new Promise((r) => (wake = r));
          wake = null;
        }
      } finally {
        el.removeEventListener('keydown', onKey);
      }
    },
  };
}
