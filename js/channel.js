// The SharedArrayBuffer layout shared by worker-host.js (calling thread) and
// worker.js (the worker running the guest).
//
// While the guest calls an import, the worker sits in Atomics.wait on
// STATE. The calling thread moves STATE forward:
//
//   IDLE ---(host stores a result)----------> RESULT  -> worker returns it
//   IDLE ---(host stores an error)-----------> ERROR   -> worker throws it
//   IDLE ---(host asks for memory)-----------> MEMREQ  -> worker serves it,
//   MEMREQ -(worker done)--------------------> MEMDONE -> host reads, sets IDLE
//
// Requests from the worker (an import call, an export's return value) take
// the fast path when the calling thread has Atomics.waitAsync: the worker
// fills the REQ_* words and the argument slots and bumps REQ; the calling
// thread, parked in Atomics.waitAsync on REQ while a call is in flight,
// picks them up. Anything that does not fit (more than ARG_SLOTS arguments,
// non-numeric values, errors) and engines without waitAsync use postMessage.
// Export calls take the same fast path the other way: the calling thread
// fills REQ_INDEX (export index), the argument slots and bumps CALL; the
// idle worker waits for CALL with Atomics.waitAsync and copies CALL to
// CALL_TAKEN when it takes the call. Calls whose arguments do not fit go by
// postMessage.
//
// JavaScriptCore (WebKitGTK 2.50, measured) can leave a worker's
// Atomics.waitAsync unsettled -- even one with a timeout -- until some other
// task reaches the worker: about 1 in 3 runs of the QuickJS worker cases hung
// on a call the worker never took, and any postMessage to the worker woke it.
// So the calling thread watches each fast-path call: one not taken after
// NUDGE_MS gets a {t:'nudge'} message (again every NUDGE_MS), on which the
// worker takes it.

export const STATE = 0; // i32 index
export const OP = 1;
export const PTR = 2;
export const LEN = 3;
export const STATUS = 4; // memory op result (length, or -1 out of bounds)
export const TAG = 5; // result kind
export const SEQ = 6; // bumps on every import call (debugging aid)
export const CALL = 7; // calling thread -> worker: bumped per fast-path export call
export const CALL_TAKEN = 8; // worker -> calling thread: CALL's value when the worker took that call
// worker -> calling thread requests (ints 12..15)
export const REQ = 12; // sequence number, bumped per request
export const REQ_KIND = 13; // REQ_IMPORT or REQ_RETURN
export const REQ_INDEX = 14; // import index
export const REQ_ARGC = 15; // number of argument slots used
export const ARG_TAG0 = 16; // ints 16..31: tag of each argument slot
export const ARG_OFFSET = 128; // bytes 128..255: 8-byte argument slots
export const ARG_SLOTS = 16;

export const REQ_IMPORT = 1;
export const REQ_RETURN = 2;

export const IDLE = 0;
export const RESULT = 1;
export const ERROR = 2;
export const MEMREQ = 3;
export const MEMDONE = 4;
export const CALLREQ = 5; // calling thread -> worker blocked in an import: run a nested export call
//                            (export index in REQ_INDEX, arguments in the slots)

export const OP_READ = 1;
export const OP_WRITE = 2;
export const OP_STRLEN = 3;
export const OP_SIZE = 4;

export const TAG_UNDEFINED = 0;
export const TAG_NUMBER = 1;
export const TAG_BIGINT = 2;
export const TAG_NULL = 3;

export const F64_OFFSET = 32; // byte offset of the Float64 result slot
export const I64_OFFSET = 40; // byte offset of the BigInt64 result slot
export const DATA_OFFSET = 256; // byte offset of the data area

export const DEFAULT_DATA_SIZE = 1 << 16;

export const NUDGE_MS = 5; // a fast-path call not taken by then gets a message (see above)
