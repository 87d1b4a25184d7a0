// The errors wasync rejects calls with, as classes (instanceof works, and
// index.d.ts types their fields). Every message starts with "wasync: " and
// says what to do; `name` is the class name, so code that matched on
// err.name keeps working.

export class WasyncError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The call was aborted (its signal, or terminate()). */
export class AbortError extends WasyncError {}

/** The call did not finish within its timeout. */
export class TimeoutError extends WasyncError {
  constructor(message, ms) {
    super(message);
    this.timeout = ms;
  }
}

/** Asyncify mode: the call's unwound stack did not fit options.asyncify.dataSize. */
export class AsyncifyOverflowError extends WasyncError {
  constructor(message, { dataSize, needed, cause } = {}) {
    super(message, cause ? { cause } : undefined);
    this.dataSize = dataSize;
    this.needed = needed;
  }
}

/** Asyncify mode: an import suspended where the module was not instrumented to. */
export class AsyncifyImportError extends WasyncError {
  constructor(message, { importName, cause } = {}) {
    super(message, cause ? { cause } : undefined);
    this.importName = importName;
  }
}

/** A call ran past the end of its C stack (options.stackSize). */
export class StackOverflowError extends WasyncError {
  constructor(message, stackSize) {
    super(message);
    this.stackSize = stackSize;
  }
}
