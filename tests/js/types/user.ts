// A user's file, type-checked by tests/js/types.test.mjs with tsc --strict,
// once without and once with the DOM library. It must compile cleanly; the
// lines marked @ts-expect-error must each be an error.
import {
  instantiate,
  supportedModes,
  AbortError,
  AsyncifyImportError,
  AsyncifyOverflowError,
  StackOverflowError,
  TimeoutError,
  WasyncError,
  type ImportContext,
  type WasyncInstance,
} from 'wasync';
import { serve, createServer } from 'wasync/serve';

interface AppExports {
  compute(n: number, salt: number, ms: number): number;
  hello(name: number): number;
  mul64(a: bigint, b: bigint): bigint;
  memory: unknown;
}

declare const bytes: Uint8Array;
declare const table: WebAssembly.Table;

export async function main(): Promise<void> {
  const inst: WasyncInstance<AppExports> = await instantiate<AppExports>(
    bytes,
    (ctx: ImportContext) => ({
      env: {
        async sleep_ms(ms: number) {
          await new Promise<void>((r) => setTimeout(r, ms));
          return ms + 1;
        },
        get_name(buf: number, cap: number) {
          ctx.writeI32(buf, ctx.readI32(buf) + 1);
          return ctx.writeString(buf, 'x', cap);
        },
        fetch_greeting: async function (this: ImportContext, p: number, len: number) {
          const s: string = this.readString(p, len);
          const aborted: boolean | undefined = this.signal?.aborted;
          return s.length + (aborted ? 1 : 0) + (this.callName?.length ?? 0);
        },
        table,
      },
    }),
    { mode: 'auto', needs: ['memory'], stackSize: 1 << 18, timeout: 1000 },
  );
  const n: number = await inst.exports.compute(1, 2, 3);
  const big: bigint = await inst.exports.mul64(2n, 3n);
  const greet = inst.exports.hello.with({ args: ['string'], returns: 'string' });
  const g: string | null = await greet('Bob');
  const c: string | null = await inst.ccall('hello', 'string', ['string'], ['Bob']);
  const w = inst.cwrap('hello', 'string', ['string']);
  const out = await inst.ccall('hello', 'i32', [{ out: 8, as: 'string' }, 'i32'], [null, 5]);
  const first: string | Uint8Array | undefined = out.out[0];
  const v: number = out.value;
  const mode: 'parallel' | 'queued' = inst.concurrency;
  console.log(n, big, g, c, await w('x'), first, v, mode, supportedModes(null).modes);

  // @ts-expect-error a typo in an export name
  await inst.exports.compte(1, 2, 3);
  // @ts-expect-error a forgotten await: a Promise is not a number
  const notAwaited: number = inst.exports.compute(1, 2, 3);
  // @ts-expect-error wrong argument type
  await inst.exports.compute('1', 2, 3);
  // @ts-expect-error a marshalled string argument given a number
  await greet(42);
  // @ts-expect-error unknown marshalling type
  inst.exports.hello.with({ args: ['str'] });
  console.log(notAwaited);

  try {
    await inst.call('compute', [1, 2, 3], { timeout: 5 });
  } catch (e) {
    if (e instanceof AsyncifyOverflowError) console.log(e.needed, e.dataSize);
    if (e instanceof AsyncifyImportError) console.log(e.importName);
    if (e instanceof StackOverflowError) console.log(e.stackSize);
    if (e instanceof TimeoutError) console.log(e.timeout);
    if (e instanceof AbortError || e instanceof WasyncError) console.log(e.message);
  }
  inst.terminate();

  const untyped = await instantiate(bytes, {});
  await untyped.exports.anything(1, 'a');

  // on-the-fly asyncify's options (no JSPI, a plain module)
  const stages: string[] = [];
  await instantiate(bytes, {}, {
    asyncImports: ['env.sleep'],
    autoAsyncify: { cacheDir: '/tmp/c', workerThreshold: 0, onProgress: (p) => stages.push(`${p.stage} ${p.fraction}`) },
  });
  await instantiate(bytes, {}, { autoAsyncify: false });
  // @ts-expect-error a progress stage that does not exist
  await instantiate(bytes, {}, { autoAsyncify: { onProgress: (p) => p.stage === 'cache-miss' } });

  const { server, url, port } = await serve({ root: '.', port: 0, log: (line: string) => console.log(line) });
  console.log(url, port, server.listening);
  server.close();
  createServer({ isolation: false }).close();
  // @ts-expect-error serve options are typed
  await serve({ prot: 1 });
}
