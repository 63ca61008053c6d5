/**
 * Loss functions after `torch.nn.functional`: {@link mseLoss}, {@link bceWithLogits},
 * {@link crossEntropy} (with label smoothing and class weights), {@link nllLoss}, plus the
 * {@link accuracy} helper. Every loss is composed of differentiable tensor operations, so
 * `loss.backward()` works on the result.
 *
 * Reductions: `"mean"` (default), `"sum"`, or `"none"` (one value per sample / element).
 *
 * Unlike PyTorch, `mseLoss` and `bceWithLogits` refuse inputs whose shapes differ instead of
 * broadcasting them: `[N, 1]` against `[N]` would silently broadcast to `[N, N]`, a classic bug.
 *
 * @module
 */
import { _crossEntropyMean, stack, Tensor, zeros } from "./tensor.ts";

/** How per-element losses are combined. */
export type Reduction = "mean" | "sum" | "none";

const fmtShape = (s: readonly number[]): string => `[${s.join(", ")}]`;

function reduce(t: Tensor, reduction: Reduction, where: string): Tensor {
  if (reduction === "mean") return t.mean();
  if (reduction === "sum") return t.sum();
  if (reduction === "none") return t;
  throw new RangeError(`${where}: reduction must be "mean", "sum" or "none", got "${reduction}"`);
}

function sameShape(a: Tensor, b: Tensor, where: string, names: [string, string]): void {
  if (a.ndim !== b.ndim || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new RangeError(
      `${where}: ${names[0]} shape ${fmtShape(a.shape)} and ${names[1]} shape ${
        fmtShape(b.shape)
      } ` +
        `must be equal (no broadcasting: [N, 1] against [N] would compare every pair); ` +
        `reshape one of them, e.g. pred.reshape([-1])`,
    );
  }
}

function toTensor(v: Tensor | ArrayLike<number>): Tensor {
  return v instanceof Tensor ? v : new Tensor(Float64Array.from(v), [v.length]);
}

/** Validate class-index targets for `[N, C]` scores; returns the indices as integers. */
function classIndices(targets: Tensor, N: number, C: number, where: string): number[] {
  if (targets.ndim !== 1 || targets.shape[0] !== N) {
    throw new RangeError(
      `${where}: targets must be class indices of shape [${N}] (one per row of the [${N}, ${C}] input), ` +
        `got shape ${fmtShape(targets.shape)}`,
    );
  }
  const idx = new Array<number>(N); // a plain array: cheaper to create than a typed one
  for (let i = 0; i < N; i++) {
    const t = targets.data[i];
    if (!Number.isInteger(t) || t < 0 || t >= C) {
      throw new RangeError(
        `${where}: target ${t} at index ${i} is not a class index for ${C} classes ` +
          `(valid: integers 0..${C - 1}); check the labels (e.g. 1-based labels need y - 1)`,
      );
    }
    idx[i] = t;
  }
  return idx;
}

function classWeights(
  weight: Tensor | ArrayLike<number> | undefined,
  C: number,
  where: string,
): Tensor | null {
  if (weight === undefined) return null;
  const w = toTensor(weight);
  if (w.ndim !== 1 || w.shape[0] !== C) {
    throw new RangeError(
      `${where}: weight must have shape [${C}] (one per class), got ${fmtShape(w.shape)}`,
    );
  }
  return w;
}

function check2d(x: Tensor, where: string, what: string): void {
  if (x.ndim !== 2) {
    throw new RangeError(`${where}: ${what} must have shape [N, C], got ${fmtShape(x.shape)}`);
  }
}

/**
 * Mean squared error `(pred - target)^2`, reduced (PyTorch's `F.mse_loss`).
 *
 * @example
 * ```ts
 * import { mseLoss } from "@kit/losses.ts";
 * import { tensor } from "@kit/tensor.ts";
 * import { assertClose } from "@kit/check.ts";
 * assertClose(mseLoss(tensor([1, 2, 3]), tensor([1, 2, 5])).item(), (0 + 0 + 4) / 3);
 * ```
 */
export function mseLoss(
  pred: Tensor,
  target: Tensor,
  { reduction = "mean" }: { reduction?: Reduction } = {},
): Tensor {
  sameShape(pred, target, "mseLoss", ["pred", "target"]);
  const d = pred.sub(target);
  return reduce(d.mul(d), reduction, "mseLoss");
}

/**
 * Binary cross-entropy on logits (PyTorch's `F.binary_cross_entropy_with_logits`), for targets
 * y in [0, 1]: `-(posWeight * y * log sigmoid(x) + (1 - y) * log(1 - sigmoid(x)))`, which
 * without `posWeight` equals `max(x, 0) - x * y + log(1 + exp(-|x|))`.
 *
 * Numerically stable for any logit: the two log-probabilities come from a log-softmax over the
 * pair (0, x), whose gradient `sigmoid(x) - y` is also right at x = 0 (the max/abs form has a kink
 * there). `posWeight` (a number or a tensor over the last dimension) weighs the positive class.
 *
 * @example
 * ```ts
 * import { bceWithLogits } from "@kit/losses.ts";
 * import { tensor } from "@kit/tensor.ts";
 * import { assertClose } from "@kit/check.ts";
 * assertClose(bceWithLogits(tensor([0]), tensor([1])).item(), Math.LN2); // -log sigmoid(0)
 * ```
 */
export function bceWithLogits(
  logits: Tensor,
  target: Tensor,
  { reduction = "mean", posWeight }: { reduction?: Reduction; posWeight?: Tensor | number } = {},
): Tensor {
  sameShape(logits, target, "bceWithLogits", ["logits", "target"]);
  const ax = logits.ndim;
  // logSoftmax over (0, x): [log(1 - sigmoid(x)), log sigmoid(x)] along a new last axis.
  const logp = stack([zeros(logits.shape), logits], ax).logSoftmax(ax);
  const posW = posWeight === undefined ? target : target.mul(posWeight);
  const w = stack([target.neg().add(1), posW], ax);
  return reduce(logp.mul(w).sum(ax).neg(), reduction, "bceWithLogits");
}

/**
 * Negative log-likelihood of class indices (PyTorch's `F.nll_loss`): `-w[y_i] * logProbs[i, y_i]`.
 * With class weights the mean divides by the sum of the picked weights, as PyTorch.
 *
 * @example
 * ```ts
 * import { nllLoss } from "@kit/losses.ts";
 * import { tensor } from "@kit/tensor.ts";
 * const logp = tensor([[Math.log(0.7), Math.log(0.3)], [Math.log(0.4), Math.log(0.6)]]);
 * import { assertClose } from "@kit/check.ts";
 * assertClose(nllLoss(logp, tensor([0, 1])).item(), -(Math.log(0.7) + Math.log(0.6)) / 2);
 * ```
 */
export function nllLoss(
  logProbs: Tensor,
  targets: Tensor | ArrayLike<number>,
  { reduction = "mean", weight }: { reduction?: Reduction; weight?: Tensor | ArrayLike<number> } =
    {},
): Tensor {
  const where = "nllLoss";
  check2d(logProbs, where, "logProbs");
  const [N, C] = logProbs.shape;
  const idx = classIndices(toTensor(targets), N, C, where);
  return nllFromIndices(logProbs, idx, classWeights(weight, C, where), reduction, where);
}

function nllFromIndices(
  logProbs: Tensor,
  idx: readonly number[],
  w: Tensor | null,
  reduction: Reduction,
  where: string,
): Tensor {
  const N = idx.length;
  const picked = logProbs.gather(1, new Tensor(Float64Array.from(idx), [N, 1])).reshape([N]);
  if (!w) return reduce(picked.neg(), reduction, where);
  const wPicked = new Float64Array(N);
  let wSum = 0;
  for (let i = 0; i < N; i++) wSum += wPicked[i] = w.data[idx[i]];
  const losses = picked.mul(new Tensor(wPicked, [N])).neg();
  if (reduction === "mean") return losses.sum().div(wSum);
  return reduce(losses, reduction, where);
}

/** Options of {@link crossEntropy}. */
export interface CrossEntropyOptions {
  /** epsilon in [0, 1]: mixes the one-hot target with the uniform distribution. Default 0. */
  labelSmoothing?: number;
  /** Default "mean". */
  reduction?: Reduction;
  /** A weight per class (shape [C]). */
  weight?: Tensor | ArrayLike<number>;
}

/**
 * Cross-entropy of logits `[N, C]` against class indices `[N]` (PyTorch's `F.cross_entropy`):
 * `nll(logSoftmax(logits))`. With label smoothing epsilon, as PyTorch:
 * `loss_i = (1 - eps) * (-log p[i, y_i]) + eps * mean_c(-log p[i, c])`, i.e. the target
 * distribution is `(1 - eps) * onehot + eps / C`. With class weights the smoothing term is
 * `-sum_c w_c log p[i, c]`, and for the mean both terms divide by the sum of `w[y_i]` (PyTorch).
 *
 * Targets may also be class probabilities of shape `[N, C]` (soft labels): then
 * `loss_i = -sum_c w_c q[i, c] log p[i, c]` with q smoothed as above, and the mean divides by N.
 *
 * @example
 * ```ts
 * import { crossEntropy } from "@kit/losses.ts";
 * import { tensor } from "@kit/tensor.ts";
 * const logits = tensor([[2, 0, 0], [0, 1, 0]]);
 * const loss = crossEntropy(logits, tensor([0, 2]), { labelSmoothing: 0.1 });
 * // PyTorch's definition: (1 - eps) * nll(target) + eps * mean over classes of nll(k)
 * import { assertClose } from "@kit/check.ts";
 * const nll = (r: number[], k: number) => Math.log(r.reduce((s, v) => s + Math.exp(v), 0)) - r[k];
 * const row = (r: number[], t: number) => 0.9 * nll(r, t) + 0.1 * (nll(r, 0) + nll(r, 1) + nll(r, 2)) / 3;
 * assertClose(loss.item(), (row([2, 0, 0], 0) + row([0, 1, 0], 2)) / 2);
 * ```
 */
export function crossEntropy(
  logits: Tensor,
  targets: Tensor | ArrayLike<number>,
  { labelSmoothing = 0, reduction = "mean", weight }: CrossEntropyOptions = {},
): Tensor {
  const where = "crossEntropy";
  check2d(logits, where, "logits");
  if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) {
    throw new RangeError(`${where}: labelSmoothing must be in [0, 1], got ${labelSmoothing}`);
  }
  const [N, C] = logits.shape;
  const t = toTensor(targets);
  const w = classWeights(weight, C, where);
  if (t.ndim === 1 && !w && labelSmoothing === 0 && reduction === "mean") {
    // the common case as one operation: the same values and gradients as the general path below
    return _crossEntropyMean(logits, classIndices(t, N, C, where));
  }
  const logp = logits.logSoftmax(1);
  const eps = labelSmoothing;

  if (t.ndim === 2) {
    // Soft labels (class probabilities).
    sameShape(logits, t, where, ["logits", "probability targets"]);
    let q = eps > 0 ? t.mul(1 - eps).add(eps / C) : t;
    if (w) q = q.mul(w);
    const losses = logp.mul(q).sum(1).neg();
    return reduce(losses, reduction, where);
  }

  const idx = classIndices(t, N, C, where);
  const nll = nllFromIndices(logp, idx, w, reduction, where);
  if (eps === 0) return nll;
  const smooth = (w ? logp.mul(w) : logp).sum(1).neg(); // [N]: -sum_c w_c log p[i, c]
  let smoothRed: Tensor;
  if (reduction === "mean") {
    if (w) {
      let wSum = 0;
      for (let i = 0; i < N; i++) wSum += w.data[idx[i]];
      smoothRed = smooth.sum().div(wSum);
    } else {
      smoothRed = smooth.mean();
    }
  } else {
    smoothRed = reduce(smooth, reduction, where);
  }
  return nll.mul(1 - eps).add(smoothRed.mul(eps / C));
}

/**
 * Fraction of rows whose highest score is the target class (the first maximum wins ties).
 * For binary scores (shape `[N]` or `[N, 1]`) a logit above 0 predicts class 1.
 *
 * @example
 * ```ts
 * import { accuracy } from "@kit/losses.ts";
 * import { tensor } from "@kit/tensor.ts";
 * import { strictEqual } from "node:assert";
 * strictEqual(accuracy(tensor([[2, 1], [0, 3], [1, 0]]), tensor([0, 1, 1])), 2 / 3);
 * ```
 */
export function accuracy(logits: Tensor, targets: Tensor | ArrayLike<number>): number {
  const t = toTensor(targets);
  const N = logits.shape[0];
  if (logits.ndim < 1 || logits.ndim > 2 || t.data.length !== N) {
    throw new RangeError(
      `accuracy: expected scores [N, C] (or [N] binary logits) and N targets, got scores ` +
        `${fmtShape(logits.shape)} and targets ${fmtShape(t.shape)}`,
    );
  }
  const C = logits.ndim === 2 ? logits.shape[1] : 1;
  const d = logits.data;
  let correct = 0;
  for (let i = 0; i < N; i++) {
    let pred: number;
    if (C === 1) {
      pred = d[i] > 0 ? 1 : 0;
    } else {
      pred = 0;
      for (let c = 1; c < C; c++) if (d[i * C + c] > d[i * C + pred]) pred = c;
    }
    if (pred === t.data[i]) correct++;
  }
  return N === 0 ? NaN : correct / N;
}
