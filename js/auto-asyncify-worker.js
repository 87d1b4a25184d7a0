// auto-asyncify-worker.js -- the worker auto-asyncify.js starts for large
// modules (a module worker in browsers, a worker_threads Worker in Node):
// one message {bytes, options} in, one {bytes} or {error, name, offset,
// code, detail} out, progress messages between.
import { asyncify } from "./transform.js";

const inBrowser = typeof self === "object" && typeof self.postMessage === "function";
const port = inBrowser ? self : (await import("node:worker_threads")).parentPort;

async function job(data) {
  try {
    port.postMessage({ progress: "load", fraction: 0.05 });
    port.postMessage({ progress: "transform", fraction: 0.1 });
    const out = await asyncify(data.bytes, data.options);
    port.postMessage({ bytes: out }, [out.buffer]);
  } catch (e) {
    port.postMessage({ error: String(e.message ?? e), name: e.file, offset: e.offset, code: e.code, detail: e.detail });
  }
}

if (inBrowser) self.onmessage = ({ data }) => job(data);
else port.once("message", job);
