// The kit's least squares and SVD against an independent implementation, ml-matrix (the
// baseline of bench/linalg_bench.ts, so it lives with the benchmarks' dependencies). The
// engine's own properties are tested in tests/linalg_test.ts.
import assert from "node:assert/strict";
import { Matrix, pseudoInverse, SingularValueDecomposition } from "ml-matrix";
import { minNormLstsq, pinv, svd } from "@kit/linalg.ts";
import { Tensor } from "@kit/tensor.ts";
import { assertClose } from "@kit/check.ts";
import { rng } from "@kit/random.ts";
import { matvec, randn, randv, relDiff, reluSweep } from "../tests/_linalg_helpers.ts";

function toMatrix(X: Tensor): Matrix {
  const [n, p] = X.shape;
  return new Matrix(
    Array.from({ length: n }, (_, i) => Array.from(X.data.subarray(i * p, i * p + p))),
  );
}

/** ml-matrix's minimum-norm solution pinv(X) y, the reference. */
function mlPinvSolve(X: Tensor, y: Tensor): Float64Array {
  const w = pseudoInverse(toMatrix(X)).mmul(Matrix.columnVector(Array.from(y.data)));
  return Float64Array.from(w.to1DArray());
}

for (
  const [n, p] of [[80, 30], [60, 60], [40, 120], [1, 5], [5, 1], [7, 7], [50, 50], [100, 100]]
) {
  Deno.test(`minNormLstsq and pinv agree with ml-matrix pinv(X) y to 1e-9 (n = ${n}, p = ${p})`, () => {
    const g = rng(100 + n + p);
    const X = randn(n, p, g), y = randv(n, g);
    const ref = mlPinvSolve(X, y);
    const w = minNormLstsq(X, y);
    assert.ok(relDiff(w.data, ref) < 1e-9, `relative difference ${relDiff(w.data, ref)}`);
    assert.ok(relDiff(matvec(pinv(X), y.data), ref) < 1e-9);
  });
}

Deno.test("double-descent test-error curve equals ml-matrix's pseudo-inverse to 1e-9", () => {
  const ps = [10, 20, 35, 40, 45, 80, 160];
  for (let seed = 0; seed < 3; seed++) {
    const ours = reluSweep(seed, ps, (X, y) => minNormLstsq(X, y).data);
    const ref = reluSweep(seed, ps, (X, y) => mlPinvSolve(X, y));
    for (let i = 0; i < ps.length; i++) {
      const r = Math.abs(ours[i] - ref[i]) / ref[i];
      assert.ok(r < 1e-9, `seed ${seed}, p = ${ps[i]}: relative difference ${r}`);
    }
  }
});

for (const [n, p] of [[7, 4], [4, 7], [6, 6], [33, 5]]) {
  Deno.test(`svd's singular values equal ml-matrix's (${n}x${p})`, () => {
    const X = randn(n, p, rng(n * 10 + p));
    const ref = new SingularValueDecomposition(toMatrix(X), { autoTranspose: true }).diagonal;
    assertClose(svd(X, { computeUV: false }).S, ref, { rtol: 1e-12, atol: 0 });
  });
}
