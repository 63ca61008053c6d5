/**
 * Helpers of the linear-algebra tests (tests/linalg_test.ts, and bench/linalg_reference_test.ts,
 * which compares with ml-matrix): random matrices and plain-loop products, independent of the
 * code under test.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Tensor } from "@kit/tensor.ts";
import { type Rng, rng } from "@kit/random.ts";

export function randn(n: number, p: number, g: Rng): Tensor {
  return new Tensor(Float64Array.from({ length: n * p }, () => g.normal()), [n, p]);
}
export function randv(n: number, g: Rng): Tensor {
  return new Tensor(Float64Array.from({ length: n }, () => g.normal()), [n]);
}
export function matvec(X: Tensor, w: ArrayLike<number>): Float64Array {
  const [n, p] = X.shape;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < p; j++) s += X.data[i * p + j] * w[j];
    out[i] = s;
  }
  return out;
}
export function matmul(A: Tensor, B: Tensor): Tensor {
  const [n, k] = A.shape, m = B.shape[1];
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < k; t++) {
      const a = A.data[i * k + t];
      for (let j = 0; j < m; j++) out[i * m + j] += a * B.data[t * m + j];
    }
  }
  return new Tensor(out, [n, m]);
}
export function transpose(A: Tensor): Tensor {
  const [n, m] = A.shape;
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) out[j * n + i] = A.data[i * m + j];
  return new Tensor(out, [m, n]);
}
export function norm(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}
/** Norm-wise relative difference ||a - b|| / ||b||. */
export function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  const d = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) d[i] = a[i] - b[i];
  return norm(d) / norm(b);
}
/**
 * A random orthogonal n x n matrix: modified Gram-Schmidt, run twice, on the columns of a
 * Gaussian matrix.
 */
export function orthogonal(n: number, g: Rng): Tensor {
  const q = randn(n, n, g).data.slice();
  for (let pass = 0; pass < 2; pass++) {
    for (let k = 0; k < n; k++) {
      for (let j = 0; j < k; j++) {
        let dot = 0;
        for (let i = 0; i < n; i++) dot += q[i * n + j] * q[i * n + k];
        for (let i = 0; i < n; i++) q[i * n + k] -= dot * q[i * n + j];
      }
      let s = 0;
      for (let i = 0; i < n; i++) s += q[i * n + k] ** 2;
      s = Math.sqrt(s);
      for (let i = 0; i < n; i++) q[i * n + k] /= s;
    }
  }
  return new Tensor(q, [n, n]);
}
/**
 * X = U diag(s) V^T with random orthogonal U [n, n], V [p, p] (the first s.length columns used)
 * and prescribed singular values; the factors are returned too.
 */
export function lowRank(
  n: number,
  p: number,
  s: number[],
  g: Rng,
): { X: Tensor; U: Tensor; V: Tensor } {
  const U = orthogonal(n, g), V = orthogonal(p, g);
  const out = new Float64Array(n * p);
  for (let k = 0; k < s.length; k++) {
    for (let i = 0; i < n; i++) {
      const u = U.data[i * n + k] * s[k];
      for (let j = 0; j < p; j++) out[i * p + j] += u * V.data[j * p + k];
    }
  }
  return { X: new Tensor(out, [n, p]), U, V };
}
/** X = U diag(s) V^T (see {@link lowRank}). */
export function withSingularValues(n: number, p: number, s: number[], g: Rng): Tensor {
  return lowRank(n, p, s, g).X;
}

/** A reduced version of the benchmark's double-descent sweep (random ReLU features). */
export function reluSweep(
  seed: number,
  ps: number[],
  solver: (X: Tensor, y: Tensor) => ArrayLike<number>,
) {
  const g = rng(seed);
  const n = 40, nTest = 100, d = 8, pMax = Math.max(...ps);
  const beta = Float64Array.from({ length: d }, () => g.normal() / Math.sqrt(d));
  const draw = (m: number) => {
    const x = randn(m, d, g);
    const y = matvec(x, beta).map((v) => v + 0.5 * g.normal());
    return { x, y: new Tensor(y, [m]) };
  };
  const tr = draw(n), te = draw(nTest);
  const W = randn(d, pMax, g);
  const feats = (x: Tensor, p: number) => {
    const F = matmul(x, W);
    const m = x.shape[0];
    const out = new Float64Array(m * p);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < p; j++) out[i * p + j] = Math.max(0, F.data[i * pMax + j]);
    }
    return new Tensor(out, [m, p]);
  };
  return ps.map((p) => {
    const w = solver(feats(tr.x, p), tr.y);
    const pred = matvec(feats(te.x, p), w);
    let s = 0;
    for (let i = 0; i < nTest; i++) s += (pred[i] - te.y.data[i]) ** 2;
    return s / nTest;
  });
}
