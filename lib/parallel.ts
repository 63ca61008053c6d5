/**
 * Independent jobs of a sweep (seeds, widths, lambdas) spread over Web Workers, one per core.
 *
 * The job is given in one of two forms:
 * - a function: {@link parallelMap} sends its *source text* to each worker, which compiles it
 *   next to its own copy of the kit. So the function must be self-contained: it sees its
 *   arguments `(item, kit, shared)` and globals, never variables of the surrounding code (a
 *   worker has its own memory). Handy in a notebook;
 * - `{ module, name }`: a function exported by a module file, imported by each worker, so it may
 *   use its module's imports and helpers. Handy in scripts and benches.
 *
 * Items, `shared` and results cross by structured clone: numbers, strings, arrays, plain objects
 * and typed arrays survive; class instances such as `Tensor` arrive as plain objects, so return
 * `t.data` or numbers rather than tensors.
 *
 * Each call starts its workers (about 0.1 s each, mostly loading the kit) and stops them at the
 * end, so a notebook or script exits normally. It pays off when the jobs together take well
 * over a second; `bench/parallel_bench.ts` measures it on the double-descent sweep.
 *
 * @module
 */
import type * as Kit from "./mod.ts";

/** The kit's public API, as the job function receives it in the worker. */
export type KitModule = typeof Kit;

/** Options of {@link parallelMap}. */
export interface ParallelOptions<S> {
  /** Number of workers. Default: `navigator.hardwareConcurrency`, at most the number of items. */
  workers?: number;
  /** A value cloned once into every worker and passed as the job's third argument. */
  shared?: S;
}

/** A job function exported by a module: `{ module: new URL("./jobs.ts", import.meta.url), name }`. */
export interface ModuleJob {
  /** Absolute URL of the module (relative specifiers would resolve against lib/). */
  module: string | URL;
  /** The export's name. */
  name: string;
}

/** Messages between {@link parallelMap} and `parallel_worker.ts`. */
export type ToWorker =
  | { kind: "init"; source: string; shared: unknown }
  | { kind: "init"; module: string; name: string; shared: unknown }
  | { kind: "job"; index: number; item: unknown };
/** The worker's answers. */
export type FromWorker =
  | { kind: "ready" }
  | { kind: "done"; index: number; result: unknown }
  | { kind: "failed"; index: number; message: string; stack?: string };

/**
 * Applies `fn` to every item on a pool of Web Workers and resolves with the results in the
 * items' order (like `Promise.all(items.map(fn))`, but on several cores). Jobs are handed out
 * one at a time, so uneven jobs balance themselves. The first job that throws rejects the call
 * with the item's index and the worker's message, and stops all workers.
 *
 * Deterministic results need per-item randomness: seed a generator from the item (as below),
 * not from a shared one.
 *
 * @example
 * ```ts
 * import { parallelMap } from "@kit/parallel.ts";
 * const seeds = [0, 1, 2, 3];
 * const means = await parallelMap(seeds, (seed, kit) => {
 *   const g = kit.rng(seed);
 *   let s = 0;
 *   for (let i = 0; i < 1000; i++) s += g.normal();
 *   return s / 1000;
 * });
 * import { strictEqual } from "node:assert";
 * import { rng } from "@kit/random.ts";
 * // in the order of `seeds`: each result equals the same computation done here
 * const g = rng(2);
 * let s = 0;
 * for (let i = 0; i < 1000; i++) s += g.normal();
 * strictEqual(means[2], s / 1000);
 * ```
 */
export function parallelMap<T, R, S = undefined>(
  items: readonly T[],
  fn: ((item: T, kit: KitModule, shared: S) => R | Promise<R>) | ModuleJob,
  opts: ParallelOptions<S> = {},
): Promise<Awaited<R>[]> {
  let job: { source: string } | { module: string; name: string };
  if (typeof fn === "function") job = { source: functionSource(fn) };
  else if (fn && (typeof fn.module === "string" || fn.module instanceof URL) && fn.name) {
    const module = String(fn.module);
    if (!/^[a-z][a-z0-9+.-]*:/i.test(module)) {
      throw new TypeError(
        `parallelMap: module "${module}" is not an absolute URL; ` +
          'use new URL("./file.ts", import.meta.url)',
      );
    }
    job = { module, name: fn.name };
  } else {
    throw new TypeError(
      "parallelMap: the second argument must be a function or { module: URL, name: string }",
    );
  }
  const n = items.length;
  const size = Math.min(n, Math.max(1, Math.floor(opts.workers ?? navigator.hardwareConcurrency)));
  const results = new Array<Awaited<R>>(n);
  if (n === 0) return Promise.resolve(results);

  return new Promise((resolve, reject) => {
    const workers: Worker[] = [];
    let next = 0, finished = 0, over = false;
    const stop = () => {
      over = true;
      for (const w of workers) w.terminate();
    };
    const fail = (message: string) => {
      stop();
      reject(new Error(`parallelMap: ${message}`));
    };
    /** postMessage, or a clear failure when `what` cannot be cloned (a function, a class...). */
    const send = (w: Worker, msg: ToWorker, what: string) => {
      try {
        w.postMessage(msg);
      } catch (err) {
        fail(
          `${what} cannot be sent to a worker (${(err as Error).message}); items, shared and ` +
            "results must be structured-cloneable: numbers, strings, arrays, plain objects, " +
            "typed arrays",
        );
      }
    };
    const give = (w: Worker) => {
      if (next < n) {
        const index = next++;
        send(w, { kind: "job", index, item: items[index] }, `item ${index}`);
      }
    };
    for (let k = 0; k < size; k++) {
      const w = new Worker(new URL("./parallel_worker.ts", import.meta.url), { type: "module" });
      workers.push(w);
      w.onmessage = (e: MessageEvent<FromWorker>) => {
        if (over) return;
        const m = e.data;
        if (m.kind === "ready") return give(w);
        if (m.kind === "failed") {
          const what = m.index < 0 ? "a worker could not load the job" : `item ${m.index} failed`;
          return fail(`${what}: ${m.message}`);
        }
        results[m.index] = m.result as Awaited<R>;
        if (++finished === n) {
          stop();
          resolve(results);
        } else give(w);
      };
      w.onerror = (e: ErrorEvent) => {
        e.preventDefault();
        if (!over) fail(`a worker failed to start or crashed: ${e.message}`);
      };
      send(w, { kind: "init", ...job, shared: opts.shared }, "shared");
      if (over) return;
    }
  });
}

/** The function's source as an expression, with a clear error for what cannot be sent. */
function functionSource(fn: (...args: never[]) => unknown): string {
  const src = fn.toString();
  if (src.includes("[native code]")) {
    throw new TypeError(
      `parallelMap: ${fn.name || "the function"} is built in or bound; pass an arrow function ` +
        "such as (item, kit) => kit.someFunction(item)",
    );
  }
  // A method written as `name(x) { ... }` is not an expression; arrows and `function` are.
  if (!/^(async\s*)?(function\b|\(|[\w$]+\s*=>)/.test(src)) {
    throw new TypeError(
      `parallelMap: cannot send the method ${fn.name || "(anonymous)"} to a worker; pass an ` +
        "arrow function or a function expression",
    );
  }
  return src;
}
