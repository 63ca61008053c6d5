/**
 * The worker side of {@link parallelMap}: compiles the job function from its source once, then
 * runs the jobs it is sent, one at a time.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import * as kit from "./mod.ts";
import type { FromWorker, parallelMap, ToWorker } from "./parallel.ts";

let job: ((item: unknown, k: typeof kit, shared: unknown) => unknown) | undefined;
let shared: unknown;

const post = (m: FromWorker) => self.postMessage(m);

self.onmessage = async (e: MessageEvent<ToWorker>) => {
  const m = e.data;
  if (m.kind === "init") {
    shared = m.shared;
    if ("source" in m) {
      // Indirect eval: the source sees only globals, as the docs of parallelMap say.
      job = (0, eval)(`(${m.source})`);
    } else {
      try {
        job = (await import(m.module))[m.name];
        if (typeof job !== "function") throw new TypeError(`it exports no function "${m.name}"`);
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        return post({ kind: "failed", index: -1, message: `cannot load ${m.module}: ${why}` });
      }
    }
    return post({ kind: "ready" });
  }
  try {
    const result = await job!(m.item, kit, shared);
    try {
      post({ kind: "done", index: m.index, result });
    } catch (err) {
      throw new TypeError(`its result cannot be sent back: ${(err as Error).message}`);
    }
  } catch (err) {
    const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    const hint = err instanceof ReferenceError
      ? " (the function runs in a worker: pass what it needs in the item or in `shared`)"
      : "";
    post({
      kind: "failed",
      index: m.index,
      message: message + hint,
      stack: err instanceof Error ? err.stack : undefined,
    });
  }
};

// Referenced for the doc link above.
export type { parallelMap };
