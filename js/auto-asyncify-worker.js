// auto-asyncify-worker.js -- the module worker auto-asyncify.js starts in
// browsers for large modules: one message {bytes, options} in, one
// {bytes} or {error, offset, code} out, progress messages between.
import { asyncify } from "./transform.js";

self.onmessage = async ({ data }) => {
  try {
    self.postMessage({ progress: "load", fraction: 0.05 });
    self.postMessage({ progress: "transform", fraction: 0.1 });
    const out = await asyncify(data.bytes, data.options);
    self.postMessage({ bytes: out }, [out.buffer]);
  } catch (e) {
    self.postMessage({ error: String(e.message ?? e), offset: e.offset, code: e.code });
  }
};
