/**
 * Helpers shared by the engine tests. Comparisons go through the kit's own `assertClose`
 * (re-exported here), so a failure names the worst element, its index and the tolerances.
 *
 * @module
 */
import { assertClose } from "@kit/check.ts";
import { childrenOf, processAlive } from "../tools/proc.ts";

export { assertClose };

/**
 * Elementwise |actual − expected| ≤ tol · max(1, |expected|) or stricter: `assertClose` with
 * `rtol = atol = tol / 2`, whose bound tol/2 · (1 + |expected|) never exceeds that one. For
 * values written out by hand that may be near 0 or large; the default 1e-13 is a few hundred
 * ulps at 1.
 */
export function assertNear(
  actual: ArrayLike<number> | number,
  expected: ArrayLike<number> | number,
  tol = 1e-13,
  msg = "",
): void {
  const arr = (v: ArrayLike<number> | number) => typeof v === "number" ? v : Array.from(v);
  assertClose(arr(actual), arr(expected), { rtol: tol / 2, atol: tol / 2, msg });
}

/** Arithmetic mean. */
export function mean(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s / a.length;
}

/** Population standard deviation (divides by n). */
export function std(a: ArrayLike<number>): number {
  const m = mean(a);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - m) ** 2;
  return Math.sqrt(s / a.length);
}

/** Writes `text` to a fresh temporary file with the given suffix and returns its path. */
export function tempFile(text: string, suffix = ".txt"): string {
  const path = Deno.makeTempFileSync({ suffix });
  Deno.writeTextFileSync(path, text);
  return path;
}

/** True while process `pid` runs; an exited child not yet reaped (a zombie) is not. */
export const processRunning = (pid: number): boolean => processAlive(pid);

export { childrenOf };
