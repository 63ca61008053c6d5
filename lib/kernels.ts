/**
 * Matrix-multiply kernels on `Float64Array`, row-major, used by `matmul` and `linear` in
 * `tensor.ts`. {@link gemm} accumulates `C += op(A) op(B)` where `op` may transpose: backward
 * passes need `A^T B` and `A B^T`, and the kernels read the transposed operand in place instead of
 * materialising it. {@link matmulReference} is the plain triple loop the fast kernel is tested
 * against.
 *
 * @module
 */

/**
 * The plain triple loop `C = A B` with `A` of shape [m, k] and `B` of shape [k, n]: the reference
 * the fast kernels are tested against.
 *
 * @example
 * ```ts
 * import { matmulReference } from "@kit/kernels.ts";
 * import { deepStrictEqual } from "node:assert";
 * const c = matmulReference(Float64Array.of(1, 2, 3, 4), Float64Array.of(5, 6, 7, 8), 2, 2, 2);
 * deepStrictEqual(Array.from(c), [19, 22, 43, 50]);
 * ```
 */
export function matmulReference(
  a: Float64Array,
  b: Float64Array,
  m: number,
  k: number,
  n: number,
): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
      c[i * n + j] = s;
    }
  }
  return c;
}

/**
 * General matrix multiply-accumulate: `C[m, n] += op(A)[m, k] · op(B)[k, n]`.
 *
 * `op(A)` is `A` stored as [m, k] when `transA` is false, or the transpose of `A` stored as
 * [k, m] when true (likewise `B`: stored [k, n], or [n, k] when `transB`). `aOff`, `bOff`, `cOff`
 * are element offsets into the arrays (for batched products). `C` is accumulated into, so pass a
 * zeroed array for a plain product.
 *
 * @example
 * ```ts
 * import { gemm } from "@kit/kernels.ts";
 * // C = A · B^T with A = [[1, 2]], B = [[3, 4], [5, 6]] (stored [n, k])
 * const c = new Float64Array(2);
 * import { deepStrictEqual } from "node:assert";
 * gemm(false, true, 1, 2, 2, Float64Array.of(1, 2), 0, Float64Array.of(3, 4, 5, 6), 0, c, 0);
 * deepStrictEqual(Array.from(c), [11, 17]);
 * ```
 */
export function gemm(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  a: Float64Array,
  aOff: number,
  b: Float64Array,
  bOff: number,
  c: Float64Array,
  cOff: number,
): void {
  if (m === 0 || n === 0 || k === 0) return;
  // element (i, p) of op(A) is a[aOff + i * ars + p * acs]; (p, j) of op(B) is b[bOff + p * brs + j * bcs]
  const ars = transA ? 1 : k, acs = transA ? m : 1;
  const brs = transB ? 1 : n, bcs = transB ? k : 1;
  for (let i = 0; i < m; i++) {
    const ci = cOff + i * n;
    for (let p = 0; p < k; p++) {
      const aip = a[aOff + i * ars + p * acs];
      const bp = bOff + p * brs;
      for (let j = 0; j < n; j++) c[ci + j] += aip * b[bp + j * bcs];
    }
  }
}
