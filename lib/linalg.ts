/**
 * Dense linear algebra for closed-form fits and double descent: least squares, minimum-norm
 * ("ridgeless") solutions, ridge regression, pseudo-inverse, SVD, Cholesky and LU solves.
 *
 * Everything works in float64 on row-major {@link Tensor}s; the `...Raw` functions take plain
 * `Float64Array`s for sweeps where allocation matters.
 *
 * How the minimum-norm solution is computed (and why it is fast and still accurate at the
 * interpolation threshold p = n):
 *
 * - Householder QR with column pivoting of X (when p <= n) or of X^T (when p > n): about
 *   2 min(n,p)^2 max(n,p) flops instead of a full SVD. For p <= n, w = P R^-1 Q^T y; for p > n,
 *   X^T P = Q R gives X = P R^T Q^T and w = Q [R^-T P^T y; 0], which lies in the row space of X
 *   (the minimum-norm interpolator).
 * - The pivoted R reveals the numerical rank. When its smallest diagonal entry is not safely above
 *   the cut-off `rcond * s_max` (default `rcond = eps * max(n, p)`, the rule of NumPy's `pinv`,
 *   LAPACK and ml-matrix), the small k x k factor R itself goes through a one-sided Jacobi SVD
 *   and singular values below the cut-off are dropped, exactly as a pseudo-inverse would. So a
 *   rank-deficient X gets the pseudo-inverse answer, and a merely ill-conditioned one (a square
 *   Gaussian X at p = n) the backward-stable QR answer.
 *
 * @module
 */
import { Tensor } from "./tensor.ts";

const EPS = 2.220446049250313e-16;

// ---------------------------------------------------------------------------------------------
// validation helpers

function check2d(op: string, name: string, t: Tensor): [number, number] {
  if (!(t instanceof Tensor)) {
    throw new TypeError(`${op}: ${name} must be a Tensor, got ${typeof t}`);
  }
  if (t.shape.length !== 2) {
    throw new RangeError(
      `${op}: ${name} must be 2-D [rows, columns], got shape [${t.shape.join(", ")}]` +
        (t.shape.length === 1 ? ` (use ${name}.reshape([-1, 1]) for a single column)` : ""),
    );
  }
  checkFinite(op, name, t.data);
  return [t.shape[0], t.shape[1]];
}

function checkFinite(op: string, name: string, a: Float64Array): void {
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) {
      throw new RangeError(
        `${op}: ${name} holds a non-finite value ${a[i]} at flat index ${i}; ` +
          `clean or impute the data first`,
      );
    }
  }
}

/** Checks y against X's n rows; returns the number of right-hand sides (k) and whether y was 1-D. */
function checkRhs(op: string, n: number, y: Tensor): { k: number; vector: boolean } {
  if (!(y instanceof Tensor)) throw new TypeError(`${op}: y must be a Tensor, got ${typeof y}`);
  if (y.shape.length === 1 && y.shape[0] === n) {
    checkFinite(op, "y", y.data);
    return { k: 1, vector: true };
  }
  if (y.shape.length === 2 && y.shape[0] === n) {
    checkFinite(op, "y", y.data);
    return { k: y.shape[1], vector: false };
  }
  throw new RangeError(
    `${op}: y must have shape [${n}] or [${n}, k] to match X's ${n} rows, got [${
      y.shape.join(", ")
    }]`,
  );
}

// ---------------------------------------------------------------------------------------------
// kernels on column-major panels (column j of an m x k panel at offset j * m)

/** Result of {@link qrcpInPlace}: Householder scalars, column permutation, |R_00| and min |R_jj|. */
interface QRCP {
  tau: Float64Array;
  perm: Int32Array;
}

/**
 * Householder QR with column pivoting (LAPACK's dgeqp3 / dlaqp2 without blocking), in place on the
 * column-major m x k panel `a`: afterwards R sits on and above the diagonal and the Householder
 * vectors (with implicit leading 1) below it.
 */
function qrcpInPlace(a: Float64Array, m: number, k: number): QRCP {
  const r = Math.min(m, k);
  const tau = new Float64Array(r);
  const perm = new Int32Array(k);
  const vn1 = new Float64Array(k); // partial column norms, downdated
  const vn2 = new Float64Array(k); // norms at the last exact recomputation
  const tol3z = Math.sqrt(EPS);
  for (let j = 0; j < k; j++) {
    perm[j] = j;
    let s = 0;
    const o = j * m;
    for (let i = 0; i < m; i++) s += a[o + i] * a[o + i];
    vn1[j] = vn2[j] = Math.sqrt(s);
  }
  for (let j = 0; j < r; j++) {
    // pivot: largest remaining partial norm
    let pvt = j;
    for (let c = j + 1; c < k; c++) if (vn1[c] > vn1[pvt]) pvt = c;
    if (pvt !== j) {
      const op = pvt * m, oj = j * m;
      for (let i = 0; i < m; i++) {
        const t = a[op + i];
        a[op + i] = a[oj + i];
        a[oj + i] = t;
      }
      const tp = perm[pvt];
      perm[pvt] = perm[j];
      perm[j] = tp;
      vn1[pvt] = vn1[j];
      vn2[pvt] = vn2[j];
    }
    // Householder reflector for a[j..m-1, j]
    const oj = j * m;
    const alpha = a[oj + j];
    let xs = 0;
    for (let i = j + 1; i < m; i++) xs += a[oj + i] * a[oj + i];
    if (xs === 0) {
      tau[j] = 0;
    } else {
      const beta = -(alpha >= 0 ? 1 : -1) * Math.sqrt(alpha * alpha + xs);
      tau[j] = (beta - alpha) / beta;
      const scal = 1 / (alpha - beta);
      for (let i = j + 1; i < m; i++) a[oj + i] *= scal;
      a[oj + j] = beta;
    }
    const tj = tau[j];
    // apply H_j = I - tau v v^T to the trailing columns, then downdate their norms
    for (let c = j + 1; c < k; c++) {
      const oc = c * m;
      if (tj !== 0) {
        let s = a[oc + j];
        for (let i = j + 1; i < m; i++) s += a[oj + i] * a[oc + i];
        s *= tj;
        a[oc + j] -= s;
        for (let i = j + 1; i < m; i++) a[oc + i] -= s * a[oj + i];
      }
      if (vn1[c] !== 0) {
        let t = Math.abs(a[oc + j]) / vn1[c];
        t = Math.max(0, 1 - t * t);
        const t2 = vn1[c] / vn2[c];
        if (t * t2 * t2 <= tol3z) {
          let s = 0;
          for (let i = j + 1; i < m; i++) s += a[oc + i] * a[oc + i];
          vn1[c] = vn2[c] = Math.sqrt(s);
        } else {
          vn1[c] *= Math.sqrt(t);
        }
      }
    }
  }
  return { tau, perm };
}

/** b <- Q^T b for the first `r` reflectors stored in the panel (b has length m). */
function applyQt(a: Float64Array, m: number, r: number, tau: Float64Array, b: Float64Array): void {
  for (let j = 0; j < r; j++) {
    const tj = tau[j];
    if (tj === 0) continue;
    const oj = j * m;
    let s = b[j];
    for (let i = j + 1; i < m; i++) s += a[oj + i] * b[i];
    s *= tj;
    b[j] -= s;
    for (let i = j + 1; i < m; i++) b[i] -= s * a[oj + i];
  }
}

/** b <- Q b for the first `r` reflectors (applied in reverse order). */
function applyQ(a: Float64Array, m: number, r: number, tau: Float64Array, b: Float64Array): void {
  for (let j = r - 1; j >= 0; j--) {
    const tj = tau[j];
    if (tj === 0) continue;
    const oj = j * m;
    let s = b[j];
    for (let i = j + 1; i < m; i++) s += a[oj + i] * b[i];
    s *= tj;
    b[j] -= s;
    for (let i = j + 1; i < m; i++) b[i] -= s * a[oj + i];
  }
}

/**
 * One-sided Jacobi SVD (Hestenes) of the column-major m x k panel `b` (m >= k), in place: on
 * return the columns of `b` are U * diag(s) and `v` (k x k, column-major) holds V. Returns the
 * singular values (unsorted). High relative accuracy; used on small k x k R factors.
 */
function jacobiInPlace(
  b: Float64Array,
  m: number,
  k: number,
  wantV = true,
): { s: Float64Array; v: Float64Array } {
  const v = new Float64Array(wantV ? k * k : 0);
  if (wantV) { for (let i = 0; i < k; i++) v[i * k + i] = 1; }
  const norms = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    let s = 0;
    const o = j * m;
    for (let i = 0; i < m; i++) s += b[o + i] * b[o + i];
    norms[j] = s;
  }
  const tol = EPS * m;
  for (let sweep = 0; sweep < 80; sweep++) {
    let rotated = false;
    for (let p = 0; p < k - 1; p++) {
      const op = p * m;
      for (let q = p + 1; q < k; q++) {
        const oq = q * m;
        const alpha = norms[p], beta = norms[q];
        if (alpha === 0 || beta === 0) continue;
        let gamma = 0;
        for (let i = 0; i < m; i++) gamma += b[op + i] * b[oq + i];
        if (Math.abs(gamma) <= tol * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        let na = 0, nb = 0;
        for (let i = 0; i < m; i++) {
          const x = b[op + i], y = b[oq + i];
          const xn = c * x - s * y, yn = s * x + c * y;
          b[op + i] = xn;
          b[oq + i] = yn;
          na += xn * xn;
          nb += yn * yn;
        }
        norms[p] = na;
        norms[q] = nb;
        if (!wantV) continue;
        const vp = p * k, vq = q * k;
        for (let i = 0; i < k; i++) {
          const x = v[vp + i], y = v[vq + i];
          v[vp + i] = c * x - s * y;
          v[vq + i] = s * x + c * y;
        }
      }
    }
    if (!rotated) break;
  }
  const s = new Float64Array(k);
  for (let j = 0; j < k; j++) s[j] = Math.sqrt(norms[j]);
  return { s, v };
}

/** Indices that sort `s` descending. */
function descendingOrder(s: Float64Array): number[] {
  return Array.from(s.keys()).sort((i, j) => s[j] - s[i]);
}

/** Singular values (descending) and, optionally, vectors of a triangular factor R = U S V^T. */
interface SmallSVD {
  s: Float64Array;
  /** Column-major r x r: column j is u_j. */
  u: Float64Array;
  /** Column-major r x r: column j is v_j (zero when s_j = 0). */
  v: Float64Array;
}

/**
 * SVD of the upper-triangular r x r factor stored on and above the diagonal of the column-major
 * m x r panel `a`. The one-sided Jacobi method runs on the columns of R^T (the rows of R): after a
 * pivoted QR these are graded, and Jacobi converges in fewer sweeps than on the columns of R
 * (Drmac and Veselic 2008). From R^T V' = U' S: R = V' S U'^T, so u_j = v'_j and v_j = u'_j.
 */
function svdOfR(a: Float64Array, m: number, r: number, wantVectors: boolean): SmallSVD {
  const rt = new Float64Array(r * r); // column-major R^T: column i = row i of R
  for (let j = 0; j < r; j++) for (let i = 0; i <= j; i++) rt[i * r + j] = a[j * m + i];
  const { s, v } = jacobiInPlace(rt, r, r, wantVectors);
  const order = descendingOrder(s);
  const S = new Float64Array(r);
  for (let c = 0; c < r; c++) S[c] = s[order[c]];
  if (!wantVectors) return { s: S, u: new Float64Array(0), v: new Float64Array(0) };
  const U = new Float64Array(r * r), V = new Float64Array(r * r);
  for (let c = 0; c < r; c++) {
    const j = order[c], sj = s[j];
    U.set(v.subarray(j * r, j * r + r), c * r);
    if (sj > 0) { for (let i = 0; i < r; i++) V[c * r + i] = rt[j * r + i] / sj; }
  }
  return { s: S, u: U, v: V };
}

// ---------------------------------------------------------------------------------------------
// minimum-norm least squares on raw arrays

/** Options of the minimum-norm solvers. */
export interface LstsqOptions {
  /**
   * Relative cut-off for small singular values: those at or below `rcond * s_max` count as zero.
   * Default `eps * max(n, p)` (NumPy's `lstsq`/`pinv` rule for float64 with rcond=None, LAPACK's, and
   * ml-matrix's `pseudoInverse`).
   */
  rcond?: number;
}

/** Result of {@link minNormLstsqRaw}. */
export interface LstsqRaw {
  /** Solution, row-major p x k. */
  w: Float64Array;
  /** Numerical rank of X. */
  rank: number;
  /** "qr" when the pivoted QR was safely full rank, "svd" when the Jacobi SVD of R decided. */
  method: "qr" | "svd";
}

/**
 * Minimum-norm least-squares solution of X W ~ Y on raw row-major arrays (X is n x p, Y n x k):
 * the W of smallest Frobenius norm among the minimisers of ||Y - X W||_F. X and Y are not modified.
 *
 * @example
 * ```ts
 * import { assertClose } from "@kit/check.ts";
 * import { minNormLstsqRaw } from "@kit/linalg.ts";
 * // one equation, two unknowns: x1 + x2 = 2 -> minimum-norm solution (1, 1)
 * const { w } = minNormLstsqRaw(new Float64Array([1, 1]), 1, 2, new Float64Array([2]), 1);
 * assertClose(w, [1, 1], { atol: 1e-12 });
 * ```
 */
export function minNormLstsqRaw(
  X: Float64Array,
  n: number,
  p: number,
  Y: Float64Array,
  k = 1,
  opts: LstsqOptions = {},
): LstsqRaw {
  if (X.length !== n * p) {
    throw new RangeError(`minNormLstsqRaw: X has ${X.length} entries, expected n*p = ${n}*${p}`);
  }
  if (Y.length !== n * k) {
    throw new RangeError(`minNormLstsqRaw: Y has ${Y.length} entries, expected n*k = ${n}*${k}`);
  }
  const rcond = opts.rcond ?? EPS * Math.max(n, p);
  const w = new Float64Array(p * k);
  if (n === 0 || p === 0) return { w, rank: 0, method: "qr" };
  const wide = p > n;
  // panel: the tall orientation, column-major (m x r0). Tall X: columns of X; wide: rows of X.
  const m = wide ? p : n, r0 = wide ? n : p;
  let a: Float64Array;
  if (wide) {
    a = X.slice(); // row i of X = column i of X^T
  } else {
    a = new Float64Array(n * p);
    for (let i = 0; i < n; i++) {
      const xo = i * p;
      for (let j = 0; j < p; j++) a[j * n + i] = X[xo + j];
    }
  }
  const { tau, perm } = qrcpInPlace(a, m, r0);
  const r00 = Math.abs(a[0]);
  if (r00 === 0) return { w, rank: 0, method: "qr" };
  let rmin = Infinity;
  for (let j = 0; j < r0; j++) rmin = Math.min(rmin, Math.abs(a[j * m + j]));
  // |R_jj| of a pivoted QR may overestimate sigma_min by a modest factor (and R_00 <= s_max <=
  // sqrt(r0) R_00): keep a wide margin before trusting the triangular solve.
  const safe = rmin > 1e4 * Math.sqrt(r0) * rcond * r00;
  const col = new Float64Array(m);
  if (safe) {
    for (let c = 0; c < k; c++) {
      if (!wide) {
        // w = P R^-1 (Q^T y)[0:p]
        for (let i = 0; i < n; i++) col[i] = Y[i * k + c];
        applyQt(a, m, r0, tau, col);
        for (let i = p - 1; i >= 0; i--) {
          let s = col[i];
          for (let j = i + 1; j < p; j++) s -= a[j * m + i] * col[j];
          col[i] = s / a[i * m + i];
        }
        for (let i = 0; i < p; i++) w[perm[i] * k + c] = col[i];
      } else {
        // R^T u = P^T y (forward substitution), then w = Q [u; 0]
        col.fill(0);
        for (let i = 0; i < n; i++) {
          let s = Y[perm[i] * k + c];
          const oi = i * m; // column i of R: R[j][i] = a[i*m + j], j <= i
          for (let j = 0; j < i; j++) s -= a[oi + j] * col[j];
          col[i] = s / a[oi + i];
        }
        applyQ(a, m, r0, tau, col);
        for (let i = 0; i < p; i++) w[i * k + c] = col[i];
      }
    }
    return { w, rank: r0, method: "qr" };
  }
  // Near rank deficiency: SVD of the r0 x r0 factor R = U S V^T, drop s <= rcond * s_max.
  const { s, u, v } = svdOfR(a, m, r0, true);
  const cut = rcond * s[0];
  let rank = 0;
  while (rank < r0 && s[rank] > cut) rank++;
  const t = new Float64Array(r0);
  for (let c = 0; c < k; c++) {
    t.fill(0);
    if (!wide) {
      // X = Q R P^T, R = U S V^T  =>  w = P V S^+ U^T (Q^T y)[0:p]
      for (let i = 0; i < n; i++) col[i] = Y[i * k + c];
      applyQt(a, m, r0, tau, col);
      for (let j = 0; j < rank; j++) {
        let d = 0;
        for (let i = 0; i < r0; i++) d += u[j * r0 + i] * col[i];
        d /= s[j];
        for (let i = 0; i < r0; i++) t[i] += v[j * r0 + i] * d;
      }
      for (let i = 0; i < p; i++) w[perm[i] * k + c] = t[i];
    } else {
      // X = P R^T Q^T, R^T = V S U^T  =>  w = Q [U S^+ V^T P^T y; 0]
      for (let i = 0; i < n; i++) t[i] = Y[perm[i] * k + c];
      col.fill(0);
      for (let j = 0; j < rank; j++) {
        let d = 0;
        for (let i = 0; i < r0; i++) d += v[j * r0 + i] * t[i];
        d /= s[j];
        for (let i = 0; i < r0; i++) col[i] += u[j * r0 + i] * d;
      }
      applyQ(a, m, r0, tau, col);
      for (let i = 0; i < p; i++) w[i * k + c] = col[i];
    }
  }
  return { w, rank, method: "svd" };
}

// ---------------------------------------------------------------------------------------------
// public Tensor API

/** Shapes a p x k solution like y: [p] for a 1-D y, [p, k] for a 2-D one. */
function asSolution(w: Float64Array, p: number, k: number, vector: boolean): Tensor {
  return new Tensor(w, vector ? [p] : [p, k]);
}

/**
 * Least-squares solution of X w ~ y: minimises ||y - X w||^2. When X has full column rank this is
 * the unique solution (X^T X)^-1 X^T y; otherwise the minimum-norm minimiser is returned (as
 * NumPy's `lstsq` and {@link minNormLstsq}). No intercept: append a column of ones to X for one.
 *
 * @param X design matrix [n, p]
 * @param y targets [n] (returns [p]) or [n, k] (returns [p, k])
 *
 * @example
 * ```ts
 * import { tensor } from "@kit/tensor.ts";
 * import { lstsq } from "@kit/linalg.ts";
 * import { assertClose } from "@kit/check.ts";
 * const X = tensor([[1, 0], [1, 1], [1, 2]]);
 * const w = lstsq(X, tensor([1, 3, 5])); // intercept 1, slope 2
 * assertClose(w, [1, 2], { atol: 1e-12 });
 * ```
 */
export function lstsq(X: Tensor, y: Tensor, opts: LstsqOptions = {}): Tensor {
  const [n, p] = check2d("lstsq", "X", X);
  const { k, vector } = checkRhs("lstsq", n, y);
  return asSolution(minNormLstsqRaw(X.data, n, p, y.data, k, opts).w, p, k, vector);
}

/**
 * Minimum-norm least-squares solution w = X^+ y, the "ridgeless" limit of ridge regression
 * (lambda -> 0+). For p > n it interpolates (X w = y) with the smallest ||w|| (w lies in the row
 * space of X); for p <= n with full column rank it is ordinary least squares. Agrees with
 * `pinv(X).matmul(y)` and with ml-matrix's `pseudoInverse` to rounding, and is much faster (pivoted
 * QR instead of a full SVD; see the module notes).
 *
 * @example
 * ```ts
 * import { tensor } from "@kit/tensor.ts";
 * import { minNormLstsq } from "@kit/linalg.ts";
 * import { assertClose } from "@kit/check.ts";
 * // 1 sample, 3 features: infinitely many interpolators; the smallest is y x / ||x||^2
 * const w = minNormLstsq(tensor([[1, 2, 2]]), tensor([9]));
 * assertClose(w, [1, 2, 2], { atol: 1e-12 });
 * ```
 */
export function minNormLstsq(X: Tensor, y: Tensor, opts: LstsqOptions = {}): Tensor {
  const [n, p] = check2d("minNormLstsq", "X", X);
  const { k, vector } = checkRhs("minNormLstsq", n, y);
  return asSolution(minNormLstsqRaw(X.data, n, p, y.data, k, opts).w, p, k, vector);
}

/**
 * Numerical rank of X: the number of singular values above `rcond * s_max` (default
 * `rcond = eps * max(n, p)`, as NumPy's `matrix_rank`).
 *
 * @example
 * ```ts
 * import { tensor } from "@kit/tensor.ts";
 * import { matrixRank } from "@kit/linalg.ts";
 * import { strictEqual } from "node:assert";
 * strictEqual(matrixRank(tensor([[1, 2], [2, 4]])), 1);
 * ```
 */
export function matrixRank(X: Tensor, opts: LstsqOptions = {}): number {
  const [n, p] = check2d("matrixRank", "X", X);
  const s = svd(X, { computeUV: false }).S.data;
  const rcond = opts.rcond ?? EPS * Math.max(n, p);
  let r = 0;
  for (let i = 0; i < s.length; i++) if (s[i] > rcond * s[0]) r++;
  return r;
}

/** Result of {@link svd}: X = U diag(S) Vt (thin SVD). */
export interface SVDResult {
  /** Left singular vectors [n, r], r = min(n, p); null when computeUV is false. */
  U: Tensor | null;
  /** Singular values [r], descending. */
  S: Tensor;
  /** Right singular vectors transposed [r, p]; null when computeUV is false. */
  Vt: Tensor | null;
}

/**
 * Thin singular value decomposition X = U diag(S) Vt with S descending (as
 * `torch.linalg.svd(X, full_matrices=False)`), by pivoted Householder QR followed by a one-sided
 * Jacobi SVD of the small triangular factor (accurate even for tiny singular values). Signs of
 * singular vector pairs are arbitrary, as in every SVD routine. Unlike LAPACK, a singular vector
 * of an exactly zero singular value may come back as a zero vector on one side (a column of U or a
 * row of Vt) instead of completing an orthonormal basis; U diag(S) Vt = X holds regardless.
 *
 * @example
 * ```ts
 * import { tensor } from "@kit/tensor.ts";
 * import { svd } from "@kit/linalg.ts";
 * import { assertClose } from "@kit/check.ts";
 * const { S } = svd(tensor([[3, 0], [0, -4]]), { computeUV: false });
 * assertClose(S, [4, 3], { atol: 1e-12 }); // singular values, largest first
 * ```
 */
export function svd(X: Tensor, { computeUV = true }: { computeUV?: boolean } = {}): SVDResult {
  const [n, p] = check2d("svd", "X", X);
  const wide = p > n;
  const m = wide ? p : n, r0 = wide ? n : p;
  if (r0 === 0) {
    return {
      U: computeUV ? new Tensor(new Float64Array(0), [n, 0]) : null,
      S: new Tensor(new Float64Array(0), [0]),
      Vt: computeUV ? new Tensor(new Float64Array(0), [0, p]) : null,
    };
  }
  // panel of the tall orientation T (m x r0): T = X (tall) or X^T (wide)
  let a: Float64Array;
  if (wide) a = X.data.slice();
  else {
    a = new Float64Array(n * p);
    for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) a[j * n + i] = X.data[i * p + j];
  }
  // T P = Q R; R = Ur S Vr^T  =>  T = (Q Ur) S (P Vr)^T
  const { tau, perm } = qrcpInPlace(a, m, r0);
  const { s: S, u: ur, v: vr } = svdOfR(a, m, r0, computeUV);
  if (!computeUV) return { U: null, S: new Tensor(S, [r0]), Vt: null };
  // left vectors of T: Q [Ur; 0] (m x r0); right vectors of T: P Vr (r0 x r0)
  const left = new Float64Array(m * r0); // row-major m x r0
  const right = new Float64Array(r0 * r0); // row-major r0 x r0
  const col = new Float64Array(m);
  for (let c = 0; c < r0; c++) {
    col.fill(0);
    col.set(ur.subarray(c * r0, c * r0 + r0));
    applyQ(a, m, r0, tau, col);
    for (let i = 0; i < m; i++) left[i * r0 + c] = col[i];
    for (let i = 0; i < r0; i++) right[perm[i] * r0 + c] = vr[c * r0 + i];
  }
  // X = T (tall) or T^T (wide): swap roles for wide
  if (!wide) {
    const Vt = new Float64Array(r0 * p);
    for (let i = 0; i < p; i++) for (let c = 0; c < r0; c++) Vt[c * p + i] = right[i * r0 + c];
    return { U: new Tensor(left, [n, r0]), S: new Tensor(S, [r0]), Vt: new Tensor(Vt, [r0, p]) };
  }
  // X = T^T = (P Vr) S (Q Ur)^T: U = right (n x r0), Vt = left^T (r0 x p)
  const Vt = new Float64Array(r0 * p);
  for (let i = 0; i < p; i++) for (let c = 0; c < r0; c++) Vt[c * p + i] = left[i * r0 + c];
  return { U: new Tensor(right, [n, r0]), S: new Tensor(S, [r0]), Vt: new Tensor(Vt, [r0, p]) };
}

/**
 * Moore-Penrose pseudo-inverse X^+ [p, n] through {@link svd}, dropping singular values at or
 * below `rcond * s_max` (default `rcond = eps * max(n, p)`, as ml-matrix's `pseudoInverse` and
 * NumPy's `lstsq`). To solve, prefer {@link minNormLstsq}: same answer, far cheaper.
 *
 * @example
 * ```ts
 * import { tensor } from "@kit/tensor.ts";
 * import { pinv } from "@kit/linalg.ts";
 * import { assertClose } from "@kit/check.ts";
 * const P = pinv(tensor([[2, 0], [0, 0]]));
 * assertClose(P, [[0.5, 0], [0, 0]], { atol: 1e-12 });
 * ```
 */
export function pinv(X: Tensor, opts: LstsqOptions = {}): Tensor {
  const [n, p] = check2d("pinv", "X", X);
  const out = new Float64Array(p * n);
  if (n === 0 || p === 0) return new Tensor(out, [p, n]);
  const { U, S, Vt } = svd(X);
  const r = S.data.length;
  const rcond = opts.rcond ?? EPS * Math.max(n, p);
  const cut = rcond * S.data[0];
  const u = U!.data, vt = Vt!.data;
  for (let c = 0; c < r; c++) {
    const sc = S.data[c];
    if (!(sc > cut)) continue;
    const inv = 1 / sc;
    for (let i = 0; i < p; i++) {
      const vi = vt[c * p + i] * inv;
      if (vi === 0) continue;
      const o = i * n;
      for (let j = 0; j < n; j++) out[o + j] += vi * u[j * r + c];
    }
  }
  return new Tensor(out, [p, n]);
}

// ---------------------------------------------------------------------------------------------
// Cholesky, LU solve, ridge

/**
 * Cholesky factor L (lower triangular, A = L L^T) of a symmetric positive definite matrix, as
 * `torch.linalg.cholesky`. Only the lower triangle of A is read.
 *
 * @throws RangeError naming the pivot when A is not (numerically) positive definite.
 *
 * @example
 * ```ts
 * import { tensor } from "@kit/tensor.ts";
 * import { cholesky } from "@kit/linalg.ts";
 * import { assertClose } from "@kit/check.ts";
 * const L = cholesky(tensor([[4, 2], [2, 5]]));
 * assertClose(L, [[2, 0], [1, 2]], { atol: 1e-12 });
 * ```
 */
export function cholesky(A: Tensor): Tensor {
  const [n, n2] = check2d("cholesky", "A", A);
  if (n !== n2) throw new RangeError(`cholesky: A must be square, got [${n}, ${n2}]`);
  const L = A.data.slice();
  choleskyInPlace(L, n, "cholesky");
  return new Tensor(L, [n, n]);
}

/** Row-major in-place Cholesky: lower triangle becomes L, upper triangle is zeroed. */
function choleskyInPlace(L: Float64Array, n: number, op: string): void {
  for (let j = 0; j < n; j++) {
    const oj = j * n;
    let d = L[oj + j];
    for (let t = 0; t < j; t++) d -= L[oj + t] * L[oj + t];
    if (!(d > 0)) {
      throw new RangeError(
        `${op}: matrix is not positive definite (pivot ${j} is ${d.toPrecision(3)}); ` +
          `a Gram matrix X^T X of rank-deficient X is only semi-definite: add lambda I, or ` +
          `use lstsq / minNormLstsq on X instead`,
      );
    }
    const ljj = Math.sqrt(d);
    L[oj + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      const oi = i * n;
      let s = L[oi + j];
      for (let t = 0; t < j; t++) s -= L[oi + t] * L[oj + t];
      L[oi + j] = s / ljj;
    }
    for (let t = j + 1; t < n; t++) L[oj + t] = 0;
  }
}

/** Solves L L^T x = b in place for k right-hand sides (b row-major n x k). */
function choleskySolveInPlace(L: Float64Array, n: number, b: Float64Array, k: number): void {
  for (let c = 0; c < k; c++) {
    for (let i = 0; i < n; i++) {
      let s = b[i * k + c];
      for (let t = 0; t < i; t++) s -= L[i * n + t] * b[t * k + c];
      b[i * k + c] = s / L[i * n + i];
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = b[i * k + c];
      for (let t = i + 1; t < n; t++) s -= L[t * n + i] * b[t * k + c];
      b[i * k + c] = s / L[i * n + i];
    }
  }
}

/**
 * Solves A x = b given the Cholesky factor L of A (from {@link cholesky}): a forward and a back
 * substitution, as `torch.cholesky_solve(b, L)`.
 *
 * @param L lower-triangular factor [n, n]
 * @param b right-hand side [n] (returns [n]) or [n, k] (returns [n, k])
 *
 * @example
 * ```ts
 * import { tensor } from "@kit/tensor.ts";
 * import { cholesky, choleskySolve } from "@kit/linalg.ts";
 * import { assertClose } from "@kit/check.ts";
 * const x = choleskySolve(cholesky(tensor([[4, 2], [2, 5]])), tensor([6, 7]));
 * assertClose(x, [1, 1], { atol: 1e-12 });
 * ```
 */
export function choleskySolve(L: Tensor, b: Tensor): Tensor {
  const [n, n2] = check2d("choleskySolve", "L", L);
  if (n !== n2) throw new RangeError(`choleskySolve: L must be square, got [${n}, ${n2}]`);
  for (let i = 0; i < n; i++) {
    if (!(L.data[i * n + i] !== 0)) {
      throw new RangeError(
        `choleskySolve: L has a zero diagonal entry at ${i}; factor with cholesky(A)`,
      );
    }
  }
  const { k, vector } = checkRhs("choleskySolve", n, b);
  const x = b.data.slice();
  choleskySolveInPlace(L.data, n, x, k);
  return new Tensor(x, vector ? [n] : [n, k]);
}

/**
 * Solves the square system A x = b by LU with partial pivoting (as `torch.linalg.solve`).
 *
 * @param A square matrix [n, n]
 * @param b right-hand side [n] (returns [n]) or [n, k] (returns [n, k])
 * @throws RangeError when A is singular to working precision (then use {@link lstsq}).
 *
 * @example
 * ```ts
 * import { tensor } from "@kit/tensor.ts";
 * import { solve } from "@kit/linalg.ts";
 * import { assertClose } from "@kit/check.ts";
 * const x = solve(tensor([[2, 1], [1, 3]]), tensor([3, 5]));
 * assertClose(x, [0.8, 1.4], { atol: 1e-12 });
 * ```
 */
export function solve(A: Tensor, b: Tensor): Tensor {
  const [n, n2] = check2d("solve", "A", A);
  if (n !== n2) {
    throw new RangeError(
      `solve: A must be square, got [${n}, ${n2}]; use lstsq for a non-square A`,
    );
  }
  const { k, vector } = checkRhs("solve", n, b);
  const a = A.data.slice();
  const x = b.data.slice();
  let amax = 0;
  for (let i = 0; i < a.length; i++) amax = Math.max(amax, Math.abs(a[i]));
  for (let j = 0; j < n; j++) {
    let piv = j;
    for (let i = j + 1; i < n; i++) if (Math.abs(a[i * n + j]) > Math.abs(a[piv * n + j])) piv = i;
    if (!(Math.abs(a[piv * n + j]) > EPS * n * amax)) {
      throw new RangeError(
        `solve: A [${n}, ${n}] is singular to working precision (pivot ${j} is ${
          a[piv * n + j]
        }); use lstsq or minNormLstsq instead`,
      );
    }
    if (piv !== j) {
      for (let t = 0; t < n; t++) {
        const u = a[j * n + t];
        a[j * n + t] = a[piv * n + t];
        a[piv * n + t] = u;
      }
      for (let t = 0; t < k; t++) {
        const u = x[j * k + t];
        x[j * k + t] = x[piv * k + t];
        x[piv * k + t] = u;
      }
    }
    const d = a[j * n + j];
    for (let i = j + 1; i < n; i++) {
      const f = a[i * n + j] / d;
      if (f === 0) continue;
      for (let t = j + 1; t < n; t++) a[i * n + t] -= f * a[j * n + t];
      for (let t = 0; t < k; t++) x[i * k + t] -= f * x[j * k + t];
    }
  }
  for (let i = n - 1; i >= 0; i--) {
    for (let t = 0; t < k; t++) {
      let s = x[i * k + t];
      for (let j = i + 1; j < n; j++) s -= a[i * n + j] * x[j * k + t];
      x[i * k + t] = s / a[i * n + i];
    }
  }
  return new Tensor(x, vector ? [n] : [n, k]);
}

/** Options of {@link ridge}. */
export interface RidgeOptions {
  /**
   * Fit an unpenalised intercept (default false): X's columns and y are centred, the ridge problem
   * is solved on the centred data and intercept = mean(y) - mean(X) w, as sklearn's Ridge does.
   */
  fitIntercept?: boolean;
}

/** A fitted ridge model: prediction = X coef + intercept. */
export interface RidgeResult {
  /** Coefficients [p] (or [p, k] for a 2-D y). */
  coef: Tensor;
  /** Intercept: a scalar Tensor (shape []) for a 1-D y, [k] for a 2-D y; zero without fitIntercept. */
  intercept: Tensor;
  /** X coef + intercept for new inputs [m, p]. */
  predict(X: Tensor): Tensor;
}

/**
 * Ridge regression in closed form: minimises ||y - X w||^2 + lambda ||w||^2 (sums, no 1/n, no
 * 1/2), i.e. w = (X^T X + lambda I)^-1 X^T y.
 *
 * Conventions: this lambda is sklearn's `Ridge(alpha=lambda)`. The lecture's mean-scaled cost
 * (1/n) sum_i (y_i - x_i w)^2 + (lambda/n) ||w||^2 (the "2 lambda / n" update) has the same
 * minimiser with the same lambda; a cost (1/n) ||y - X w||^2 + lambda' ||w||^2 corresponds to
 * lambda = n lambda'; (1/2n) ||y - X w||^2 + (lambda'/2) ||w||^2 also to lambda = n lambda'; and
 * PyTorch's SGD `weight_decay = wd` on a mean-squared-error loss to lambda = n wd / 2.
 *
 * Computed without forming X^T X (whose condition number is the square of X's, which would cost
 * half the digits near the interpolation threshold at small lambda): by pivoted QR of the augmented
 * least-squares problem [X; sqrt(lambda) I_p] w ~ [y; 0] when p <= n, and, when p > n, as the
 * first p entries of the minimum-norm solution of [X, sqrt(lambda) I_n] z = y, which is the dual
 * form w = X^T (X X^T + lambda I)^-1 y at the cost of an n x (n + p) problem. lambda = 0 returns
 * the ridgeless limit {@link minNormLstsq} (well defined even when X^T X is singular); the solution
 * is continuous as lambda -> 0+. As lambda -> infinity, w ~ X^T y / lambda -> 0.
 *
 * @example
 * ```ts
 * import { tensor } from "@kit/tensor.ts";
 * import { ridge } from "@kit/linalg.ts";
 * const X = tensor([[1], [2], [3]]);
 * import { assertClose } from "@kit/check.ts";
 * const fit = ridge(X, tensor([2, 4, 6]), 14); // w = X^T y / (X^T X + lambda) = 28 / 28
 * assertClose(fit.coef, [1], { atol: 1e-12 });
 * ```
 */
export function ridge(X: Tensor, y: Tensor, lambda: number, opts: RidgeOptions = {}): RidgeResult {
  const [n, p] = check2d("ridge", "X", X);
  const { k, vector } = checkRhs("ridge", n, y);
  if (!(lambda >= 0) || !Number.isFinite(lambda)) {
    throw new RangeError(`ridge: lambda must be a finite number >= 0, got ${lambda}`);
  }
  const fitIntercept = opts.fitIntercept ?? false;
  let x = X.data, yy = y.data;
  const xm = new Float64Array(p), ym = new Float64Array(k);
  if (fitIntercept) {
    if (n === 0) throw new RangeError("ridge: cannot fit an intercept on 0 rows");
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < p; j++) xm[j] += x[i * p + j];
      for (let c = 0; c < k; c++) ym[c] += yy[i * k + c];
    }
    for (let j = 0; j < p; j++) xm[j] /= n;
    for (let c = 0; c < k; c++) ym[c] /= n;
    const xc = new Float64Array(n * p), yc = new Float64Array(n * k);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < p; j++) xc[i * p + j] = x[i * p + j] - xm[j];
      for (let c = 0; c < k; c++) yc[i * k + c] = yy[i * k + c] - ym[c];
    }
    x = xc;
    yy = yc;
  }
  let w: Float64Array;
  if (lambda === 0) {
    w = minNormLstsqRaw(x, n, p, yy, k).w;
  } else if (p <= n) {
    // primal: least squares of [X; sqrt(lambda) I_p] w ~ [y; 0]
    const sl = Math.sqrt(lambda);
    const A = new Float64Array((n + p) * p);
    A.set(x);
    for (let j = 0; j < p; j++) A[(n + j) * p + j] = sl;
    const B = new Float64Array((n + p) * k);
    B.set(yy);
    w = minNormLstsqRaw(A, n + p, p, B, k).w;
  } else {
    // dual: the minimum-norm z of [X, sqrt(lambda) I_n] z = y is z = [X^T mu; sqrt(lambda) mu]
    // with (X X^T + lambda I) mu = y, so its first p entries are the ridge solution
    const sl = Math.sqrt(lambda), q = p + n;
    const A = new Float64Array(n * q);
    for (let i = 0; i < n; i++) {
      A.set(x.subarray(i * p, i * p + p), i * q);
      A[i * q + p + i] = sl;
    }
    w = minNormLstsqRaw(A, n, q, yy, k).w.slice(0, p * k);
  }
  const b = new Float64Array(k);
  if (fitIntercept) {
    for (let c = 0; c < k; c++) {
      let s = ym[c];
      for (let j = 0; j < p; j++) s -= xm[j] * w[j * k + c];
      b[c] = s;
    }
  }
  const coef = asSolution(w, p, k, vector);
  const intercept = new Tensor(b, vector ? [] : [k]);
  return {
    coef,
    intercept,
    predict(Xn: Tensor): Tensor {
      const [m, p2] = check2d("ridge.predict", "X", Xn);
      if (p2 !== p) {
        throw new RangeError(`ridge.predict: X has ${p2} columns but the model was fit on ${p}`);
      }
      const out = new Float64Array(m * k);
      for (let i = 0; i < m; i++) {
        for (let c = 0; c < k; c++) {
          let s = b[c];
          for (let j = 0; j < p; j++) s += Xn.data[i * p + j] * w[j * k + c];
          out[i * k + c] = s;
        }
      }
      return new Tensor(out, vector ? [m] : [m, k]);
    },
  };
}
