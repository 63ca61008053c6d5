/**
 * Numerical checks for notebooks and tests: {@link assertClose} compares numbers, arrays and
 * tensors within tolerances and says which element failed; {@link gradCheck} compares autograd's
 * gradients with central differences.
 *
 * @module
 */
import { AssertionError } from "node:assert";
import { type NestedArray, noGrad, Tensor } from "./tensor.ts";

/** Tolerances of {@link assertClose}: pass when |actual - expected| <= atol + rtol * |expected|. */
export interface CloseOptions {
  /** Relative tolerance (default 1e-7, PyTorch's `assert_close` default for float64). */
  rtol?: number;
  /** Absolute tolerance (default 1e-7, PyTorch's `assert_close` default for float64). */
  atol?: number;
  /** Treat NaN as equal to NaN (default false). */
  equalNan?: boolean;
  /** Context put at the start of the failure message. */
  msg?: string;
}

/** Anything {@link assertClose} compares. */
export type Numeric = number | NestedArray | Float64Array | readonly number[] | Tensor;

function flatten(v: Numeric, what: string): { data: ArrayLike<number>; shape: number[] } {
  if (typeof v === "number") return { data: [v], shape: [] };
  if (v instanceof Tensor) return { data: v.data, shape: v.shape.slice() };
  if (v instanceof Float64Array) return { data: v, shape: [v.length] };
  if (!Array.isArray(v)) {
    throw new TypeError(
      `assertClose: ${what} must be a number, an array or a Tensor, got ${typeof v}`,
    );
  }
  const shape: number[] = [];
  let probe: unknown = v;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0];
  }
  const data: number[] = [];
  const walk = (x: unknown, dim: number, path: number[]) => {
    if (dim === shape.length) {
      if (typeof x !== "number") {
        throw new TypeError(`assertClose: ${what} at [${path.join(", ")}] is not a number`);
      }
      data.push(x);
      return;
    }
    if (!Array.isArray(x) || x.length !== shape[dim]) {
      throw new TypeError(`assertClose: ${what} is a ragged array (at [${path.join(", ")}])`);
    }
    x.forEach((y, i) => walk(y, dim + 1, [...path, i]));
  };
  walk(v, 0, []);
  return { data, shape };
}

function unravel(flat: number, shape: number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = flat % shape[d];
    flat = Math.floor(flat / shape[d]);
  }
  return idx;
}

/**
 * Asserts that `actual` and `expected` (numbers, arrays, nested arrays, Float64Arrays or
 * tensors, in any combination) have the same shape and agree elementwise:
 * |actual - expected| <= atol + rtol * |expected|, as `torch.testing.assert_close` and
 * `numpy.testing.assert_allclose`. On failure it throws an `AssertionError` that names the
 * worst element (largest excess over its tolerance), its index, both values, the number of
 * mismatches and the tolerances. NaN matches only NaN, and only with `equalNan`.
 *
 * @example
 * ```ts
 * import { assertClose } from "@kit/check.ts";
 * import { tensor } from "@kit/tensor.ts";
 * assertClose(tensor([0.1 + 0.2, 1]), [0.3, 1]);
 * assertClose(Math.PI, 3.14159, { atol: 1e-5, msg: "pi to five decimals" });
 * ```
 */
export function assertClose(actual: Numeric, expected: Numeric, opts: CloseOptions = {}): void {
  const { rtol = 1e-7, atol = 1e-7, equalNan = false, msg } = opts;
  const prefix = msg ? `${msg}: ` : "";
  const a = flatten(actual, "actual"), e = flatten(expected, "expected");
  const sameShape = a.shape.length === e.shape.length && a.shape.every((s, i) => s === e.shape[i]);
  if (!sameShape) {
    throw new AssertionError({
      message: `${prefix}assertClose: shapes differ: actual [${a.shape.join(", ")}] vs ` +
        `expected [${e.shape.join(", ")}]`,
      actual: a.shape,
      expected: e.shape,
      operator: "assertClose",
    });
  }
  let bad = 0, worst = -1, worstScore = -1, maxAbs = 0;
  for (let i = 0; i < a.data.length; i++) {
    const x = a.data[i], y = e.data[i];
    let score: number;
    if (x !== x || y !== y) {
      score = x !== x && y !== y && equalNan ? 0 : Infinity;
    } else if (x === y) score = 0; // equal infinities included
    else if (!Number.isFinite(x) || !Number.isFinite(y)) score = Infinity;
    else {
      const diff = Math.abs(x - y);
      const tol = atol + rtol * Math.abs(y);
      if (diff > maxAbs) maxAbs = diff;
      score = diff <= tol ? 0 : tol > 0 ? diff / tol : Infinity;
    }
    if (score > 0) {
      bad++;
      if (score > worstScore) {
        worstScore = score;
        worst = i;
      }
    }
  }
  if (bad === 0) return;
  const x = a.data[worst], y = e.data[worst];
  const where = a.shape.length === 0 ? "" : ` at index [${unravel(worst, a.shape).join(", ")}]`;
  const diff = Math.abs(x - y);
  const count = a.data.length > 1 ? `${bad} of ${a.data.length} elements differ; worst` : "value";
  throw new AssertionError({
    message: `${prefix}assertClose: ${count}${where}: actual ${x}, expected ${y}, ` +
      `|difference| ${diff} > atol + rtol * |expected| = ${atol + rtol * Math.abs(y)} ` +
      `(rtol ${rtol}, atol ${atol}; largest |difference| overall ${maxAbs})`,
    actual: x,
    expected: y,
    operator: "assertClose",
  });
}

/** Options of {@link gradCheck}. */
export interface GradCheckOptions {
  /** Finite-difference step (default 1e-6). */
  eps?: number;
  /** Largest accepted relative error (default 1e-6). */
  rtol?: number;
  /**
   * Gradients smaller than `atol / rtol` are compared on that scale instead of their own
   * (default 1e-8, i.e. absolute comparison below 1e-2), because central differences carry an
   * absolute rounding error of about 1e-16 |f| / eps.
   */
  atol?: number;
  /** Throw an `AssertionError` when the check fails (default true). */
  throws?: boolean;
}

/** Outcome of {@link gradCheck}. */
export interface GradCheckResult {
  /** Whether every Jacobian entry passed. */
  ok: boolean;
  /** Largest relative error |analytic - numeric| / max(|analytic|, |numeric|, atol / rtol). */
  maxRelError: number;
  /** Largest |analytic - numeric|. */
  maxAbsError: number;
  /** Where the largest relative error occurred (null if every entry matched exactly). */
  worst: {
    input: number;
    index: number[];
    output: number[];
    analytic: number;
    numeric: number;
  } | null;
  /** Number of Jacobian entries compared. */
  checked: number;
}

/**
 * Checks autograd's gradients of `fn` against central differences
 * (f(x + eps) - f(x - eps)) / (2 eps), for every entry of the full Jacobian: each output element
 * is back-propagated on its own (one-hot upstream gradient) and each input element perturbed on
 * its own. The inputs must require grad; their `.grad` is restored afterwards. `fn` must be
 * deterministic (draw any randomness from a generator re-seeded inside `fn`).
 *
 * The error of one entry is |a - n| / max(|a|, |n|, atol / rtol); the check passes when the
 * largest is at most `rtol`. Returns the largest error and where it occurred; throws an
 * `AssertionError` naming the input, element, output, both values when the check fails (unless
 * `throws: false`).
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { gradCheck } from "@kit/check.ts";
 * import { tensor } from "@kit/tensor.ts";
 * const x = tensor([0.5, -1.2, 2], { requiresGrad: true });
 * const r = gradCheck((x) => x.tanh().mul(x), [x]);
 * deepStrictEqual(r.maxRelError < 1e-6, true);
 * ```
 */
export function gradCheck(
  fn: (...inputs: Tensor[]) => Tensor,
  inputs: Tensor[],
  opts: GradCheckOptions = {},
): GradCheckResult {
  const { eps = 1e-6, rtol = 1e-6, atol = 1e-8, throws = true } = opts;
  inputs.forEach((t, i) => {
    if (!(t instanceof Tensor) || !t.requiresGrad) {
      throw new TypeError(
        `gradCheck: input ${i} must be a Tensor created with { requiresGrad: true }`,
      );
    }
  });
  const savedGrads = inputs.map((t) => t.grad);
  const floor = atol / rtol;
  const result: GradCheckResult = {
    ok: true,
    maxRelError: 0,
    maxAbsError: 0,
    worst: null,
    checked: 0,
  };
  try {
    const out = fn(...inputs);
    if (!out.requiresGrad) {
      throw new TypeError(
        "gradCheck: fn's output does not require grad; it must be computed from the inputs",
      );
    }
    const outShape = out.shape.slice();
    const nOut = out.size;
    // analytic Jacobian rows: jac[i][o * n_i + p] = d out[o] / d input_i[p]
    const jac = inputs.map((t) => new Float64Array(nOut * t.size));
    for (let o = 0; o < nOut; o++) {
      for (const t of inputs) t.grad = null;
      const seed = new Float64Array(nOut);
      seed[o] = 1;
      const y = o === 0 ? out : fn(...inputs);
      y.backward(new Tensor(seed, outShape));
      inputs.forEach((t, i) => {
        if (t.grad) jac[i].set(t.grad.data, o * t.size);
      });
    }
    const evalAt = () => noGrad(() => fn(...inputs)).data.slice();
    inputs.forEach((t, i) => {
      for (let p = 0; p < t.size; p++) {
        const orig = t.data[p];
        t.data[p] = orig + eps;
        const plus = evalAt();
        t.data[p] = orig - eps;
        const minus = evalAt();
        t.data[p] = orig;
        for (let o = 0; o < nOut; o++) {
          const numeric = (plus[o] - minus[o]) / (2 * eps);
          const analytic = jac[i][o * t.size + p];
          const diff = Math.abs(analytic - numeric);
          const rel = diff === 0
            ? 0
            : diff / Math.max(Math.abs(analytic), Math.abs(numeric), floor);
          result.checked++;
          if (diff > result.maxAbsError || diff !== diff) result.maxAbsError = diff;
          if (rel > result.maxRelError || rel !== rel) {
            result.maxRelError = rel;
            result.worst = {
              input: i,
              index: unravel(p, t.shape.slice()),
              output: unravel(o, outShape),
              analytic,
              numeric,
            };
          }
        }
      }
    });
  } finally {
    inputs.forEach((t, i) => (t.grad = savedGrads[i]));
  }
  result.ok = result.maxRelError <= rtol;
  if (!result.ok && throws) {
    const w = result.worst!;
    throw new AssertionError({
      message:
        `gradCheck: relative error ${result.maxRelError} > rtol ${rtol} for input ${w.input} ` +
        `at [${w.index.join(", ")}], output [${w.output.join(", ")}]: autograd ${w.analytic}, ` +
        `central difference ${w.numeric} (eps ${eps}, atol ${atol}); ${result.checked} entries checked`,
      actual: w.analytic,
      expected: w.numeric,
      operator: "gradCheck",
    });
  }
  return result;
}
