import assert from "node:assert/strict";
import {
  cholesky,
  choleskySolve,
  lstsq,
  matrixRank,
  minNormLstsq,
  minNormLstsqRaw,
  pinv,
  ridge,
  solve,
  svd,
} from "@kit/linalg.ts";
import { Tensor, tensor } from "@kit/tensor.ts";
import { assertClose } from "@kit/check.ts";
import { rng } from "@kit/random.ts";
import {
  lowRank,
  matmul,
  matvec,
  norm,
  orthogonal,
  randn,
  randv,
  relDiff,
  reluSweep,
  transpose,
  withSingularValues,
} from "./_linalg_helpers.ts";

// ---------------------------------------------------------------------------------------------
// least squares

Deno.test("lstsq matches the normal equations on a well-conditioned tall problem", () => {
  const g = rng(1);
  const X = randn(60, 6, g), y = randv(60, g);
  const w = lstsq(X, y);
  assert.deepEqual(w.shape, [6]);
  // normal equations (X^T X) w = X^T y, solved by LU: fine here because cond(X) is small
  const Xt = transpose(X);
  const wNe = solve(matmul(Xt, X), new Tensor(matvec(Xt, y.data), [6]));
  assertClose(w, wNe, { rtol: 1e-10, atol: 1e-12 });
  // the residual is orthogonal to the columns of X (first-order optimality)
  const r = matvec(X, w.data).map((v, i) => y.data[i] - v);
  const grad = matvec(Xt, r);
  assert.ok(norm(grad) < 1e-11 * norm(y.data), `X^T r = ${norm(grad)} is not ~0`);
});

Deno.test("lstsq with a 2-D y solves each column", () => {
  const g = rng(2);
  const X = randn(30, 4, g);
  const Y = randn(30, 3, g);
  const W = lstsq(X, Y);
  assert.deepEqual(W.shape, [4, 3]);
  for (let c = 0; c < 3; c++) {
    const yc = new Tensor(Float64Array.from({ length: 30 }, (_, i) => Y.data[i * 3 + c]), [30]);
    const wc = lstsq(X, yc);
    assertClose(Float64Array.from({ length: 4 }, (_, j) => W.data[j * 3 + c]), wc.data, {
      rtol: 1e-12,
      atol: 1e-14,
    });
  }
});

// The comparison with an independent implementation (ml-matrix) is in
// bench/linalg_reference_test.ts, with the benchmarks' dependencies.
for (const [n, p] of [[80, 30], [60, 60], [40, 120], [1, 5], [5, 1], [7, 7]]) {
  Deno.test(`minNormLstsq equals pinv(X) y and is a least-squares solution (n = ${n}, p = ${p})`, () => {
    const g = rng(100 + n + p);
    const X = randn(n, p, g), y = randv(n, g);
    const w = minNormLstsq(X, y);
    assert.deepEqual(w.shape, [p]);
    const P = pinv(X);
    assert.deepEqual(P.shape, [p, n]);
    assert.ok(relDiff(matvec(P, y.data), w.data) < 1e-9);
    // first-order optimality: X^T (X w - y) = 0
    const r = matvec(X, w.data).map((v, i) => v - y.data[i]);
    assert.ok(norm(matvec(transpose(X), r)) < 1e-9 * norm(y.data) * (1 + norm(w.data)));
  });
}

Deno.test("minimum-norm property for p > n: interpolates, lies in the row space, smallest norm", () => {
  const g = rng(3);
  const n = 20, p = 50;
  const X = randn(n, p, g), y = randv(n, g);
  const w = minNormLstsq(X, y);
  // X w = y
  assert.ok(relDiff(matvec(X, w.data), y.data) < 1e-12, "X w != y");
  // w = X^T a for a = (X X^T)^-1 X w: the part of w outside the row space vanishes
  const Xt = transpose(X);
  const a = solve(matmul(X, Xt), new Tensor(matvec(X, w.data), [n]));
  const proj = matvec(Xt, a.data);
  assert.ok(relDiff(proj, w.data) < 1e-11, `w has a component outside the row space`);
  // a null-space direction z (X z = 0): w is orthogonal to it, and w + z interpolates with a
  // larger norm
  const v = randv(p, g);
  const b = solve(matmul(X, Xt), new Tensor(matvec(X, v.data), [n]));
  const z = v.data.map((vi, i) => vi - matvec(Xt, b.data)[i]);
  assert.ok(norm(matvec(X, z)) < 1e-11 * norm(z), "z is not in the null space");
  let dot = 0;
  for (let i = 0; i < p; i++) dot += w.data[i] * z[i];
  assert.ok(Math.abs(dot) < 1e-12 * norm(w.data) * norm(z), `w . z = ${dot}`);
  const other = w.data.map((wi, i) => wi + 0.1 * z[i]);
  assert.ok(relDiff(matvec(X, other), y.data) < 1e-11);
  assert.ok(norm(other) > norm(w.data));
});

Deno.test("at the interpolation threshold (square, ill-conditioned X) the solve stays accurate", () => {
  const g = rng(4);
  // a square Gaussian X (condition number in the hundreds to thousands)
  for (const n of [50, 100]) {
    const X = randn(n, n, g), y = randv(n, g);
    const w = minNormLstsq(X, y);
    assert.ok(relDiff(matvec(X, w.data), y.data) < 1e-11, "does not interpolate");
    assert.ok(relDiff(w.data, solve(X, y).data) < 1e-9, "differs from the LU solution");
  }
  // prescribed singular values 1 ... 1e-10 (cond 1e10): full rank for rcond = eps * n, so the
  // exact solution of X w = y must be found to about cond * eps and with a tiny backward error
  const n = 40;
  const s = Array.from({ length: n }, (_, i) => 10 ** (-10 * i / (n - 1)));
  const X = withSingularValues(n, n, s, g);
  const wTrue = randv(n, g);
  const y = new Tensor(matvec(X, wTrue.data), [n]);
  const w = minNormLstsq(X, y);
  const res = relDiff(matvec(X, w.data), y.data);
  assert.ok(res < 1e-13, `relative residual ${res}`);
  assert.ok(relDiff(w.data, wTrue.data) < 1e-4, `forward error ${relDiff(w.data, wTrue.data)}`);
  const raw = minNormLstsqRaw(X.data, n, n, y.data);
  assert.equal(raw.rank, n);
});

Deno.test("rank-deficient X: singular values below rcond are dropped, as a pseudo-inverse does", () => {
  const g = rng(5);
  for (const [n, p] of [[30, 10], [10, 30], [12, 12]]) {
    // rank 4 exactly, plus one singular value far below eps * max(n, p) * s_max
    const s = [3, 2, 1, 0.5, 1e-18];
    const { X, U, V } = lowRank(n, p, s, g);
    const y = randv(n, g);
    const raw = minNormLstsqRaw(X.data, n, p, y.data);
    assert.equal(raw.method, "svd");
    assert.equal(raw.rank, 4);
    assert.equal(matrixRank(X), 4);
    // the exact minimum-norm solution of the rank-4 part: sum_k v_k (u_k . y) / s_k
    const ref = new Float64Array(p);
    for (let k = 0; k < 4; k++) {
      let uy = 0;
      for (let i = 0; i < n; i++) uy += U.data[i * n + k] * y.data[i];
      for (let j = 0; j < p; j++) ref[j] += (V.data[j * p + k] * uy) / s[k];
    }
    assert.ok(relDiff(raw.w, ref) < 1e-9, `n=${n} p=${p}: ${relDiff(raw.w, ref)}`);
    assert.ok(relDiff(matvec(pinv(X), y.data), ref) < 1e-9);
  }
  // duplicated column: the minimum-norm solution splits the weight equally
  const X = tensor([[1, 1, 0], [2, 2, 1], [3, 3, 0], [4, 4, 1]]);
  const w = minNormLstsq(X, tensor([2, 5, 6, 9]));
  assertClose(w, [1, 1, 1], { rtol: 1e-12, atol: 1e-12 });
  // the zero matrix: w = 0
  assertClose(minNormLstsq(new Tensor(new Float64Array(6), [2, 3]), tensor([1, 2])), [0, 0, 0]);
});

Deno.test("double-descent test-error curve of minNormLstsq peaks at p = n", () => {
  const ps = [10, 20, 35, 40, 45, 80, 160];
  const curve = new Float64Array(ps.length);
  for (let seed = 0; seed < 3; seed++) {
    const a = reluSweep(seed, ps, (X, y) => minNormLstsq(X, y).data);
    for (let i = 0; i < ps.length; i++) curve[i] += a[i] / 3;
  }
  const at = (p: number) => curve[ps.indexOf(p)];
  assert.ok(at(40) > at(20) && at(40) > at(160), `no peak at p = n: ${Array.from(curve)}`);
});

// ---------------------------------------------------------------------------------------------
// SVD, pinv, rank

for (const [n, p] of [[7, 4], [4, 7], [6, 6], [33, 5]]) {
  Deno.test(`svd reconstructs X with orthonormal factors, descending singular values (${n}x${p})`, () => {
    const g = rng(n * 10 + p);
    const X = randn(n, p, g);
    const { U, S, Vt } = svd(X);
    const r = Math.min(n, p);
    assert.deepEqual([U!.shape, S.shape, Vt!.shape], [[n, r], [r], [r, p]]);
    for (let i = 1; i < r; i++) assert.ok(S.data[i] <= S.data[i - 1], "not descending");
    const US = new Tensor(U!.data.map((v, i) => v * S.data[i % r]), [n, r]);
    assertClose(matmul(US, Vt!), X, { rtol: 0, atol: 1e-13 });
    assertClose(matmul(transpose(U!), U!), eyeArr(r), { rtol: 0, atol: 1e-13 });
    assertClose(matmul(Vt!, transpose(Vt!)), eyeArr(r), { rtol: 0, atol: 1e-13 });
    assertClose(svd(X, { computeUV: false }).S, S, { rtol: 0, atol: 0 });
  });
}

function eyeArr(r: number): number[][] {
  return Array.from(
    { length: r },
    (_, i) => Array.from({ length: r }, (_, j) => (i === j ? 1 : 0)),
  );
}

Deno.test("svd recovers prescribed singular values spanning ten orders of magnitude", () => {
  const g = rng(6);
  const s = [1e5, 1e3, 10, 1, 1e-2, 1e-5];
  const X = withSingularValues(9, 6, s, g);
  // the smallest values are determined only to about eps * s_max in absolute terms
  assertClose(svd(X, { computeUV: false }).S, s, { rtol: 1e-12, atol: 1e-15 * 1e5 * 10 });
});

Deno.test("svd of matrices with exactly zero singular values still reconstructs X", () => {
  for (
    const X of [
      tensor([[1, 1], [1, 1], [0, 0]]),
      tensor([[1, 2, 3], [2, 4, 6]]),
      tensor([[0, 0], [0, 0]]),
    ]
  ) {
    const { U, S, Vt } = svd(X);
    const r = S.shape[0], n = X.shape[0];
    const US = new Tensor(U!.data.map((v, i) => v * S.data[i % r]), [n, r]);
    assertClose(matmul(US, Vt!), X, { rtol: 0, atol: 1e-14 });
    assert.ok(
      S.data[r - 1] <= 1e-14 * Math.max(1, S.data[0]),
      `smallest singular value ${S.data[r - 1]}`,
    );
  }
  assertClose(svd(tensor([[1, 1], [1, 1], [0, 0]])).S, [2, 0], { rtol: 1e-15, atol: 1e-15 });
});

Deno.test("pinv satisfies the four Penrose conditions on a rank-deficient matrix", () => {
  const g = rng(7);
  const X = withSingularValues(8, 5, [2, 1, 0.3], g);
  const P = pinv(X);
  const XPX = matmul(matmul(X, P), X), PXP = matmul(matmul(P, X), P);
  assertClose(XPX, X, { rtol: 0, atol: 1e-13 });
  assertClose(PXP, P, { rtol: 0, atol: 1e-12 });
  const XP = matmul(X, P), PX = matmul(P, X);
  assertClose(XP, transpose(XP), { rtol: 0, atol: 1e-13 });
  assertClose(PX, transpose(PX), { rtol: 0, atol: 1e-13 });
  assert.equal(matrixRank(X), 3);
});

// ---------------------------------------------------------------------------------------------
// Cholesky and LU solve

Deno.test("cholesky: L is lower triangular and L L^T = A; indefinite input names the pivot", () => {
  const g = rng(8);
  const B = randn(12, 6, g);
  const A = matmul(transpose(B), B);
  const L = cholesky(A);
  for (let i = 0; i < 6; i++) for (let j = i + 1; j < 6; j++) assert.equal(L.data[i * 6 + j], 0);
  assertClose(matmul(L, transpose(L)), A, { rtol: 1e-13, atol: 1e-13 });
  assert.throws(
    () => cholesky(tensor([[1, 2], [2, 1]])),
    /cholesky: matrix is not positive definite \(pivot 1 is -3/,
  );
  assert.throws(() => cholesky(tensor([[1, 2, 3], [4, 5, 6]])), /must be square, got \[2, 3\]/);
});

Deno.test("choleskySolve solves A x = b from the factor", () => {
  const g = rng(14);
  const B = randn(9, 5, g);
  const A = matmul(transpose(B), B);
  const xTrue = randn(5, 2, g);
  assertClose(choleskySolve(cholesky(A), matmul(A, xTrue)), xTrue, { rtol: 1e-10, atol: 1e-12 });
  const x1 = choleskySolve(cholesky(A), new Tensor(xTrue.data.filter((_, i) => i % 2 === 0), [5]));
  assert.deepEqual(x1.shape, [5]);
});

Deno.test("solve: LU with pivoting, several right-hand sides, singular input rejected", () => {
  const g = rng(9);
  const A = randn(10, 10, g), xTrue = randn(10, 2, g);
  const b = matmul(A, xTrue);
  assertClose(solve(A, b), xTrue, { rtol: 1e-10, atol: 1e-12 });
  // a zero leading entry needs the row exchange
  assertClose(solve(tensor([[0, 1], [1, 0]]), tensor([2, 3])), [3, 2]);
  assert.throws(() => solve(tensor([[1, 2], [2, 4]]), tensor([1, 2])), /singular.*use lstsq/);
  assert.throws(
    () => solve(tensor([[1, 2], [2, 5]]), tensor([1, 2, 3])),
    /y must have shape \[2\]/,
  );
});

// ---------------------------------------------------------------------------------------------
// ridge

/** (X^T X + lambda I)^-1 X^T y by LU, the textbook closed form. */
function ridgeClosedForm(X: Tensor, y: Tensor, lambda: number): Tensor {
  const p = X.shape[1];
  const Xt = transpose(X);
  const G = matmul(Xt, X);
  for (let i = 0; i < p; i++) G.data[i * p + i] += lambda;
  return solve(G, new Tensor(matvec(Xt, y.data), [p]));
}

Deno.test("ridge equals the closed form (X^T X + lambda I)^-1 X^T y, primal and dual paths", () => {
  const g = rng(10);
  for (const [n, p] of [[50, 8], [15, 40]]) {
    const X = randn(n, p, g), y = randv(n, g);
    for (const lambda of [0.01, 1, 100]) {
      const fit = ridge(X, y, lambda);
      assertClose(fit.coef, ridgeClosedForm(X, y, lambda), { rtol: 1e-9, atol: 1e-12 });
      assert.equal(fit.intercept.shape.length, 0);
      assert.equal(fit.intercept.data[0], 0);
      assertClose(fit.predict(X), matvec(X, fit.coef.data), { rtol: 1e-12, atol: 1e-12 });
    }
  }
});

Deno.test("ridge stays accurate for a tiny lambda on an ill-conditioned X (no squared condition number)", () => {
  // X = U diag(s) V^T with s from 1 to 1e-7 (cond 1e7, so cond(X^T X) = 1e14); the exact ridge
  // solution is V diag(s / (s^2 + lambda)) U^T y
  const g = rng(15);
  for (const [n, p] of [[30, 30], [20, 50], [50, 20]]) {
    const r = Math.min(n, p);
    const s = Array.from({ length: r }, (_, i) => 10 ** (-7 * i / (r - 1)));
    const U = orthogonal(n, g), V = orthogonal(p, g);
    const X = new Float64Array(n * p);
    for (let t = 0; t < r; t++) {
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < p; j++) X[i * p + j] += U.data[i * n + t] * s[t] * V.data[j * p + t];
      }
    }
    const y = randv(n, g);
    const lambda = 1e-12;
    const exact = new Float64Array(p);
    for (let t = 0; t < r; t++) {
      let uy = 0;
      for (let i = 0; i < n; i++) uy += U.data[i * n + t] * y.data[i];
      const f = (s[t] / (s[t] * s[t] + lambda)) * uy;
      for (let j = 0; j < p; j++) exact[j] += V.data[j * p + t] * f;
    }
    const w = ridge(new Tensor(X, [n, p]), y, lambda).coef;
    const err = relDiff(w.data, exact);
    // forward error of a backward-stable QR solve: about cond(X) * eps = 1e7 * 2e-16
    assert.ok(err < 1e-7, `${n}x${p}: relative error ${err}`);
  }
});

Deno.test("ridge with an intercept: the intercept is unpenalised and the optimality conditions hold", () => {
  const g = rng(11);
  const n = 40, p = 5, lambda = 3;
  const X = randn(n, p, g);
  const y = new Tensor(randv(n, g).data.map((v) => v + 7), [n]);
  const fit = ridge(X, y, lambda, { fitIntercept: true });
  const b = fit.intercept.data[0];
  const r = matvec(X, fit.coef.data).map((v, i) => y.data[i] - v - b);
  // d/db: sum of residuals = 0; d/dw: -X^T r + lambda w = 0
  assert.ok(Math.abs(r.reduce((s, v) => s + v, 0)) < 1e-10);
  const grad = matvec(transpose(X), r).map((v, j) => -v + lambda * fit.coef.data[j]);
  assert.ok(norm(grad) < 1e-10, `gradient ${norm(grad)}`);
  assert.ok(Math.abs(b - 7) < 1, `intercept ${b} far from the offset 7`);
});

Deno.test("ridge limits: lambda -> 0 gives least squares / minimum norm, lambda -> inf gives X^T y / lambda", () => {
  const g = rng(12);
  for (const [n, p] of [[30, 6], [10, 25]]) {
    const X = randn(n, p, g), y = randv(n, g);
    const w0 = minNormLstsq(X, y);
    assert.ok(relDiff(ridge(X, y, 1e-9).coef.data, w0.data) < 1e-7, `${n}x${p}: lambda -> 0`);
    assertClose(ridge(X, y, 0).coef, w0, { rtol: 0, atol: 0 });
    const big = 1e12;
    const wInf = ridge(X, y, big).coef;
    const xty = matvec(transpose(X), y.data).map((v) => v / big);
    assert.ok(relDiff(wInf.data, xty) < 1e-9, `${n}x${p}: lambda -> inf`);
    // the coefficient norm shrinks monotonically along the path
    let prev = Infinity;
    for (const lambda of [1e-3, 1e-1, 1, 10, 1e3]) {
      const nw = norm(ridge(X, y, lambda).coef.data);
      assert.ok(nw < prev, `norm did not shrink at lambda = ${lambda}`);
      prev = nw;
    }
  }
});

Deno.test("ridge: 2-D targets give [p, k] coefficients and a [k] intercept", () => {
  const g = rng(13);
  const X = randn(20, 3, g), Y = randn(20, 2, g);
  const fit = ridge(X, Y, 0.5, { fitIntercept: true });
  assert.deepEqual([fit.coef.shape, fit.intercept.shape], [[3, 2], [2]]);
  const col1 = new Tensor(Float64Array.from({ length: 20 }, (_, i) => Y.data[i * 2 + 1]), [20]);
  const f1 = ridge(X, col1, 0.5, { fitIntercept: true });
  assertClose([fit.coef.data[1], fit.coef.data[3], fit.coef.data[5]], f1.coef, { rtol: 1e-12 });
  assertClose(fit.intercept.data[1], f1.intercept.data[0], { rtol: 1e-12 });
  assert.deepEqual(fit.predict(X).shape, [20, 2]);
});

// ---------------------------------------------------------------------------------------------
// errors

Deno.test("errors name the operation and the shapes", () => {
  const X = tensor([[1, 2], [3, 4], [5, 6]]);
  assert.throws(
    () => lstsq(X, tensor([1, 2])),
    /lstsq: y must have shape \[3\] or \[3, k\].*got \[2\]/,
  );
  assert.throws(() => minNormLstsq(tensor([1, 2, 3]), tensor([1, 2, 3])), /must be 2-D.*reshape/);
  assert.throws(
    () => ridge(X, tensor([1, 2, 3]), -1),
    /lambda must be a finite number >= 0, got -1/,
  );
  assert.throws(
    () => lstsq(tensor([[1, NaN], [0, 1]]), tensor([1, 1])),
    /non-finite value NaN at flat index 1/,
  );
  assert.throws(
    () => ridge(X, tensor([1, 2, 3]), 1).predict(tensor([[1, 2, 3]])),
    /3 columns.*fit on 2/,
  );
});
