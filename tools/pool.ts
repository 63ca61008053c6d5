/**
 * A concurrency pool: runs an async function over a list with at most `jobs` calls in flight,
 * results in input order. The runner (notebooks, one kernel each) and the grader (submissions,
 * one sandbox each) share it.
 *
 * @module
 */

/**
 * `f` over `items`, at most `jobs` at a time (at least 1), results in the order of `items`.
 * A rejection rejects the whole call (the other calls in flight still finish); callers that
 * want every item's outcome return it rather than throw.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { pool } from "./pool.ts";
 * let inFlight = 0, most = 0;
 * const out = await pool([30, 10, 20, 0], 2, async (ms) => {
 *   most = Math.max(most, ++inFlight);
 *   await new Promise((r) => setTimeout(r, ms));
 *   inFlight--;
 *   return ms * 2;
 * });
 * assert.deepEqual(out, [60, 20, 40, 0]);
 * assert.equal(most, 2);
 * ```
 */
export async function pool<T, R>(
  items: readonly T[],
  jobs: number,
  f: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i], i);
    }
  };
  const n = Math.min(Math.max(1, Math.floor(jobs) || 1), items.length);
  await Promise.all(Array.from({ length: n }, worker));
  return out;
}
