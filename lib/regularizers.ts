/**
 * Regularizers: norm penalties to add to a loss, the proximal L1 step, the max-norm constraint,
 * early stopping, and weight averaging (SWA and EMA).
 *
 * Conventions (the lecture decks differ on where the 1/2 and 1/n go; this is the kit's):
 * - `l2Penalty(w) = Σ w²` (no 1/2), `l1Penalty(w) = Σ |w|`.
 * - `loss + (λ/2) · l2Penalty(model)` has gradient `∇loss + λ w`, so plain SGD on it is exactly
 *   `SGD({ weightDecay: λ })` (each step multiplies w by `1 − ηλ`). Written as `loss + λ · Σ w²`
 *   (as some slides do) it corresponds to `weightDecay: 2λ`. {@link weightDecayFromL2} does the
 *   conversion.
 * - Biases are not penalised by default. When a MODULE is given, a bias is a parameter whose
 *   name ends in "bias" or that is 1-D (so BatchNorm/LayerNorm scales are excluded too, as is
 *   usual). When an explicit list of tensors is given, every tensor in it is penalised (you chose
 *   them). Note that `SGD({ weightDecay })` decays every parameter it holds, biases included:
 *   use {@link decayGroups} to exempt biases when comparing the two.
 *
 * @module
 */
import { noGrad, Tensor } from "./tensor.ts";
import { BatchNorm1d, type Module } from "./nn.ts";

/** A module, or tensors chosen explicitly. */
export type PenaltySource = Module | Tensor | readonly Tensor[];

/** Options shared by the penalties. */
export interface PenaltyOptions {
  /** Include biases (and other 1-D parameters) of a module. Default false. */
  includeBias?: boolean;
}

function isModule(x: unknown): x is Module {
  return typeof x === "object" && x !== null &&
    typeof (x as Module).namedParameters === "function";
}

function isBias(name: string, p: Tensor): boolean {
  return name === "bias" || name.endsWith(".bias") || p.ndim <= 1;
}

/**
 * The tensors a penalty acts on: a module's weights (biases excluded unless `includeBias`), or
 * every tensor of an explicit list.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { penalizedParameters } from "@kit/regularizers.ts";
 * import { Linear } from "@kit/nn.ts";
 * import { rng } from "@kit/random.ts";
 * const lin = new Linear(3, 2, { rng: rng(0) });
 * assert.ok(penalizedParameters(lin).length === 1); // the weight, not the bias
 * ```
 */
export function penalizedParameters(
  source: PenaltySource,
  { includeBias = false }: PenaltyOptions = {},
): Tensor[] {
  if (source instanceof Tensor) return [source];
  if (Array.isArray(source)) return [...source];
  if (isModule(source)) {
    return source.namedParameters()
      .filter(([n, p]) => includeBias || !isBias(n, p))
      .map(([, p]) => p);
  }
  throw new TypeError("expected a Module, a Tensor or an array of Tensors");
}

function sumOver(ps: Tensor[], term: (p: Tensor) => Tensor): Tensor {
  if (ps.length === 0) return new Tensor(new Float64Array(1), []);
  let total = term(ps[0]);
  for (let i = 1; i < ps.length; i++) total = total.add(term(ps[i]));
  return total;
}

/**
 * `Σ |w|` over the weights, as a scalar Tensor in the autograd graph (add `λ · l1Penalty(model)`
 * to the loss). Its subgradient at 0 is 0 (`sign(0) = 0`), so plain (sub)gradient descent hovers
 * around 0 instead of reaching it: use {@link proxL1} for exact zeros.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { l1Penalty } from "@kit/regularizers.ts";
 * import { tensor } from "@kit/tensor.ts";
 * const w = tensor([[1, -2], [0, 3]], { requiresGrad: true });
 * const r = l1Penalty([w]); // 6
 * r.backward(); // w.grad = sign(w) = [[1, -1], [0, 1]]
 * assert.ok(r.item() === 6 && w.grad!.data[1] === -1);
 * ```
 */
export function l1Penalty(source: PenaltySource, opts: PenaltyOptions = {}): Tensor {
  return sumOver(penalizedParameters(source, opts), (p) => p.abs().sum());
}

/**
 * `Σ w²` over the weights (no 1/2), as a scalar Tensor in the autograd graph. Its gradient is
 * `2w`; `(λ/2) · l2Penalty(model)` added to the loss is SGD's `weightDecay: λ` (see the module
 * notes).
 *
 * @example
 * ```ts
 * import { l2Penalty } from "@kit/regularizers.ts";
 * import { Linear } from "@kit/nn.ts";
 * import { rng } from "@kit/random.ts";
 * import { tensor } from "@kit/tensor.ts";
 * import { mseLoss } from "@kit/losses.ts";
 * const model = new Linear(2, 1, { rng: rng(0) });
 * const lambda = 0.01; // as in SGD({ weightDecay: 0.01 }), biases excluded
 * const x = tensor([[1, 2]]), y = tensor([[1]]);
 * const loss = mseLoss(model.call(x), y).add(l2Penalty(model).mul(lambda / 2));
 * loss.backward();
 * // d/dw of (lambda / 2) Σ w² is lambda w: the gradient of the weights gains lambda w, the bias none
 * import { assertClose } from "@kit/check.ts";
 * const w = model.weight.data, r = w[0] * 1 + w[1] * 2 + model.bias!.data[0] - 1;
 * assertClose(model.weight.grad!, [[2 * r * 1 + lambda * w[0], 2 * r * 2 + lambda * w[1]]]);
 * assertClose(model.bias!.grad!, [2 * r]);
 * ```
 */
export function l2Penalty(source: PenaltySource, opts: PenaltyOptions = {}): Tensor {
  return sumOver(penalizedParameters(source, opts), (p) => p.mul(p).sum());
}

/**
 * SGD's `weightDecay` equivalent to a penalty `λ · R(w)` with `R = l2Penalty`
 * (`"sum"`, the default: `2λ`) or with `R = ½ l2Penalty` (`"half"`: `λ`).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { weightDecayFromL2 } from "@kit/regularizers.ts";
 * assert.ok(weightDecayFromL2(0.01) === 0.02); // loss + 0.01 Σ w²
 * assert.ok(weightDecayFromL2(0.01, "half") === 0.01); // loss + 0.01/2 Σ w²
 * ```
 */
export function weightDecayFromL2(lambda: number, convention: "sum" | "half" = "sum"): number {
  return convention === "sum" ? 2 * lambda : lambda;
}

/**
 * Two parameter groups for an optimizer: the weights with `weightDecay`, the biases (and other
 * 1-D parameters) with `weightDecay: 0`, matching the penalties' default. A group with no tensor
 * is left out.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { decayGroups } from "@kit/regularizers.ts";
 * import { SGD } from "@kit/optim.ts";
 * import { Linear } from "@kit/nn.ts";
 * import { rng } from "@kit/random.ts";
 * const model = new Linear(4, 2, { rng: rng(0) });
 * const opt = new SGD(decayGroups(model, 1e-3), { lr: 0.1 });
 * assert.ok(opt.paramGroups[1].weightDecay === 0);
 * ```
 */
export function decayGroups(
  model: Module,
  weightDecay: number,
): { params: Tensor[]; weightDecay: number }[] {
  const named = model.namedParameters();
  const weights = named.filter(([n, p]) => !isBias(n, p)).map(([, p]) => p);
  const biases = named.filter(([n, p]) => isBias(n, p)).map(([, p]) => p);
  return [
    { params: weights, weightDecay },
    { params: biases, weightDecay: 0 },
  ].filter((g) => g.params.length > 0);
}

/**
 * The Euclidean norm `√(Σ w²)` of the weights (biases excluded unless `includeBias`), as a number.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { weightNorm } from "@kit/regularizers.ts";
 * import { tensor } from "@kit/tensor.ts";
 * assert.ok(weightNorm([tensor([3, 4])]) === 5);
 * ```
 */
export function weightNorm(source: PenaltySource, opts: PenaltyOptions = {}): number {
  let s = 0;
  for (const p of penalizedParameters(source, opts)) {
    const d = p.data;
    for (let i = 0; i < d.length; i++) s += d[i] * d[i];
  }
  return Math.sqrt(s);
}

/**
 * The proximal operator of `threshold · ‖w‖₁` (soft thresholding), applied IN PLACE:
 * `w ← sign(w) · max(|w| − threshold, 0)`. Entries with `|w| ≤ threshold` become exactly 0.
 * Proximal gradient descent (ISTA) for `J(w) + λ‖w‖₁` alternates a gradient step on J with
 * `proxL1(w, lr · λ)`. Returns the number of exact zeros in what it processed.
 *
 * Accepts a Float64Array, a Tensor, a list of Tensors, or a module (its weights; biases too with
 * `includeBias`).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { proxL1 } from "@kit/regularizers.ts";
 * const w = Float64Array.from([0.5, -0.05, -2, 0.1]);
 * const zeros = proxL1(w, 0.1); // w = [0.4, 0, -1.9, 0]
 * assert.ok(zeros === 2 && w[1] === 0 && Math.abs(w[2] + 1.9) < 1e-15);
 * ```
 */
export function proxL1(
  target: Float64Array | PenaltySource,
  threshold: number,
  opts: PenaltyOptions = {},
): number {
  if (!(threshold >= 0)) throw new RangeError(`proxL1: threshold must be >= 0, got ${threshold}`);
  const arrays = target instanceof Float64Array
    ? [target]
    : penalizedParameters(target, opts).map((p) => p.data);
  let zeros = 0;
  for (const w of arrays) {
    for (let i = 0; i < w.length; i++) {
      const a = Math.abs(w[i]) - threshold;
      w[i] = a > 0 ? (w[i] > 0 ? a : -a) : 0;
      if (w[i] === 0) zeros++;
    }
  }
  return zeros;
}

/**
 * Max-norm constraint (Srebro et al. 2005; used with dropout by Srivastava et al. 2014), IN
 * PLACE: every slice of `weight` along `dim` whose p-norm exceeds `maxNorm` is rescaled to norm
 * `maxNorm`, as `torch.renorm(w, p, dim, maxnorm)` (scale `maxNorm / (norm + 1e-7)`).
 *
 * For a Linear weight `[out, in]` the default `dim: 0` constrains each ROW, i.e. the incoming
 * weights of each output unit: the lecture's `‖w‖₂ ≤ r` per neuron, and Keras' `MaxNorm` on a
 * Dense kernel (stored `[in, out]`, so Keras reduces over its axis 0). Apply it after each
 * optimizer step. Given a module, it constrains every weight with 2 or more dimensions.
 * Returns the number of slices that were rescaled.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { maxNormConstraint } from "@kit/regularizers.ts";
 * import { tensor } from "@kit/tensor.ts";
 * const w = tensor([[3, 4], [0.3, 0.4]]); // row norms 5 and 0.5
 * maxNormConstraint(w, 1); // first row -> [0.6, 0.8] (up to 1e-7), second unchanged
 * assert.ok(Math.abs(w.data[0] - 0.6) < 1e-7 && w.data[2] === 0.3);
 * ```
 */
export function maxNormConstraint(
  weight: Tensor | Module,
  maxNorm: number,
  { dim = 0, p = 2 }: { dim?: number; p?: number } = {},
): number {
  if (!(maxNorm >= 0)) {
    throw new RangeError(`maxNormConstraint: maxNorm must be >= 0, got ${maxNorm}`);
  }
  if (isModule(weight)) {
    let n = 0;
    for (const [name, w] of weight.namedParameters()) {
      if (!isBias(name, w)) n += maxNormConstraint(w, maxNorm, { dim, p });
    }
    return n;
  }
  const shape = weight.shape;
  const d = dim < 0 ? dim + shape.length : dim;
  if (!(d >= 0 && d < shape.length)) {
    throw new RangeError(
      `maxNormConstraint: dim ${dim} out of range for a weight of shape [${shape}]`,
    );
  }
  const outer = shape.slice(0, d).reduce((a, b) => a * b, 1);
  const size = shape[d];
  const inner = shape.slice(d + 1).reduce((a, b) => a * b, 1);
  const w = weight.data;
  let rescaled = 0;
  for (let k = 0; k < size; k++) {
    let s = 0;
    for (let o = 0; o < outer; o++) {
      const base = (o * size + k) * inner;
      for (let i = 0; i < inner; i++) s += p === 2 ? w[base + i] ** 2 : Math.abs(w[base + i]) ** p;
    }
    const norm = p === 2 ? Math.sqrt(s) : s ** (1 / p);
    if (norm > maxNorm) {
      const c = maxNorm / (norm + 1e-7);
      for (let o = 0; o < outer; o++) {
        const base = (o * size + k) * inner;
        for (let i = 0; i < inner; i++) w[base + i] *= c;
      }
      rescaled++;
    }
  }
  return rescaled;
}

/** Options of {@link EarlyStopping}. */
export interface EarlyStoppingOptions {
  /** Epochs without improvement tolerated; stop when the counter reaches it. */
  patience: number;
  /** An improvement must beat the best score by more than this. Default 0. */
  minDelta?: number;
  /** Keep a copy of the best weights (`stateDict()`) so {@link EarlyStopping.restore} can load them. Default true. */
  restoreBest?: boolean;
  /** "min" for a loss (default), "max" for an accuracy. */
  mode?: "min" | "max";
}

/**
 * Early stopping, following the lecture's pseudo-code:
 *
 * ```text
 * J_best ← +∞, c ← 0
 * for each epoch: train; J ← validation loss
 *   if J < J_best − minDelta:  J_best ← J, W_best ← current weights, c ← 0
 *   else: c ← c + 1; if c ≥ patience: stop
 * set the weights to W_best
 * ```
 * `step(J, model)` runs the body for one epoch and returns true when training should stop.
 * The last line is yours to call: `restore(model)` (`fit()` does it for you). Epochs count from 0
 * (the first `step()` is epoch 0), so `bestEpoch` indexes the history arrays of `fit()`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { EarlyStopping } from "@kit/regularizers.ts";
 * import { Linear } from "@kit/nn.ts";
 * import { rng } from "@kit/random.ts";
 * const model = new Linear(2, 1, { rng: rng(0) });
 * const es = new EarlyStopping({ patience: 2 });
 * for (const valLoss of [1.0, 0.8, 0.9, 0.85, 0.7]) {
 *   // (train one epoch here)
 *   if (es.step(valLoss, model)) break; // stops after 0.9, 0.85: two epochs without improvement
 * }
 * es.restore(model); // weights of epoch 1
 * assert.ok(es.bestEpoch === 1 && es.bestScore === 0.8 && es.stoppedEpoch === 3);
 * ```
 */
export class EarlyStopping {
  readonly patience: number;
  readonly minDelta: number;
  readonly restoreBest: boolean;
  readonly mode: "min" | "max";
  /** Best score so far (+∞ for "min", −∞ for "max" before the first step). */
  bestScore: number;
  /** Epoch (0-based) of the best score; −1 before the first step. */
  bestEpoch = -1;
  /** Epochs since the last improvement (the pseudo-code's c). */
  counter = 0;
  /** Number of `step()` calls minus one: the epoch just reported. */
  epoch = -1;
  /** The epoch at which `step()` first returned true, or null. */
  stoppedEpoch: number | null = null;
  /** Copy of the best weights (with `restoreBest`). */
  bestState: Record<string, Tensor> | null = null;

  constructor({ patience, minDelta = 0, restoreBest = true, mode = "min" }: EarlyStoppingOptions) {
    if (!(Number.isInteger(patience) && patience >= 0)) {
      throw new RangeError(`EarlyStopping: patience must be an integer >= 0, got ${patience}`);
    }
    if (!(minDelta >= 0)) {
      throw new RangeError(`EarlyStopping: minDelta must be >= 0, got ${minDelta}`);
    }
    if (mode !== "min" && mode !== "max") {
      throw new RangeError(`EarlyStopping: mode must be "min" or "max", got ${mode}`);
    }
    this.patience = patience;
    this.minDelta = minDelta;
    this.restoreBest = restoreBest;
    this.mode = mode;
    this.bestScore = mode === "min" ? Infinity : -Infinity;
  }

  /** Reports one epoch's validation score; returns true when training should stop. */
  step(score: number, model: Pick<Module, "stateDict">): boolean {
    this.epoch += 1;
    const improved = this.mode === "min"
      ? score < this.bestScore - this.minDelta
      : score > this.bestScore + this.minDelta;
    if (improved) {
      this.bestScore = score;
      this.bestEpoch = this.epoch;
      this.counter = 0;
      if (this.restoreBest) this.bestState = model.stateDict();
      return false;
    }
    this.counter += 1;
    if (this.counter >= this.patience) {
      this.stoppedEpoch ??= this.epoch;
      return true;
    }
    return false;
  }

  /** Loads the best weights into `model` (the pseudo-code's last line). */
  restore(model: Pick<Module, "loadStateDict">): void {
    if (this.bestState === null) {
      throw new Error(
        this.restoreBest
          ? "EarlyStopping.restore: no best weights yet (step() has not recorded an improvement)"
          : "EarlyStopping.restore: created with restoreBest: false, so no weights were kept",
      );
    }
    model.loadStateDict(this.bestState);
  }
}

function copyParams(model: Module): Map<string, Tensor> {
  return new Map(
    model.namedParameters().map(([n, p]) => [n, new Tensor(p.data.slice(), [...p.shape])]),
  );
}

function writeParams(store: Map<string, Tensor>, model: Module, who: string): void {
  for (const [n, p] of model.namedParameters()) {
    const s = store.get(n);
    if (s === undefined || s.data.length !== p.data.length) {
      throw new Error(
        `${who}: the model's parameter "${n}" (shape [${p.shape}]) has no match in the average; ` +
          "use a model of the same architecture",
      );
    }
    p.data.set(s.data);
  }
}

/**
 * Stochastic weight averaging (Izmailov et al. 2018), as `torch.optim.swa_utils.AveragedModel`
 * with its default equal average: after n updates the average is the mean of the n snapshots,
 *
 * ```text
 * w̄ ← w̄ + (w − w̄) / (n + 1),   n ← n + 1        (the first update copies w)
 * ```
 * PyTorch keeps a deep copy of the module; here the averages are kept by parameter name and
 * `applyTo(model)` writes them into a model of the same architecture (for instance the trained
 * model itself, after saving its `stateDict()` if you want to continue training). Buffers are not
 * averaged (PyTorch's `use_buffers=False`): a model with batch norm needs {@link updateBn} after
 * `applyTo`, because its running statistics belong to the last weights, not to the average.
 * PyTorch's averaged module keeps the buffers it had at construction (its deep copy is never
 * updated), so before `update_bn` it predicts with those; `applyTo(model, { buffers: true })`
 * writes them too (kept in {@link AveragedModel.buffers}), and `model` then computes what
 * PyTorch's `swa_model(x)` computes before `update_bn`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { AveragedModel } from "@kit/regularizers.ts";
 * import { Linear } from "@kit/nn.ts";
 * import { rng } from "@kit/random.ts";
 * const model = new Linear(1, 1, { rng: rng(0), bias: false });
 * const swa = new AveragedModel(model);
 * for (const w of [1, 2, 6]) {
 *   model.weight.data[0] = w; // (a training epoch would change the weights)
 *   swa.updateParameters(model);
 * }
 * swa.applyTo(model);
 * assert.ok(swa.nAveraged === 3 && model.weight.data[0] === 3);
 * ```
 */
export class AveragedModel {
  /** Number of snapshots averaged so far. */
  nAveraged = 0;
  /** The running averages, by parameter name. */
  readonly averages: Map<string, Tensor>;
  /** The model's buffers (batch-norm statistics) at construction, by name; never updated. */
  readonly buffers: Map<string, Tensor>;

  constructor(model: Module) {
    this.averages = copyParams(model);
    this.buffers = new Map(
      model.namedBuffers().map(([n, b]) => [n, new Tensor(b.data.slice(), [...b.shape])]),
    );
  }

  /** Adds the model's current parameters to the average. */
  updateParameters(model: Module): void {
    const n = this.nAveraged;
    for (const [name, p] of model.namedParameters()) {
      const a = this.averages.get(name);
      if (a === undefined || a.data.length !== p.data.length) {
        throw new Error(`AveragedModel.updateParameters: unknown parameter "${name}" [${p.shape}]`);
      }
      const ad = a.data, pd = p.data;
      if (n === 0) ad.set(pd);
      else for (let i = 0; i < ad.length; i++) ad[i] = ad[i] + (pd[i] - ad[i]) / (n + 1);
    }
    this.nAveraged += 1;
  }

  /**
   * Writes the averaged parameters into `model` (same architecture), in place; with
   * `{ buffers: true }` also the buffers from construction, as PyTorch's averaged module holds
   * them.
   *
   * @example
   * ```ts
   * import assert from "node:assert";
   * import { AveragedModel } from "@kit/regularizers.ts";
   * import { BatchNorm1d, Sequential } from "@kit/nn.ts";
   * import { tensor } from "@kit/tensor.ts";
   * const model = new Sequential(new BatchNorm1d(1));
   * const swa = new AveragedModel(model); // running mean 0 at construction
   * model.call(tensor([[4], [6]])); // training mode: the running mean moves to 0.1 * 5
   * swa.updateParameters(model);
   * swa.applyTo(model);
   * assert.strictEqual((model.at(0) as BatchNorm1d).runningMean!.data[0], 0.5);
   * swa.applyTo(model, { buffers: true });
   * assert.strictEqual((model.at(0) as BatchNorm1d).runningMean!.data[0], 0);
   * ```
   */
  applyTo(model: Module, { buffers = false }: { buffers?: boolean } = {}): void {
    writeParams(this.averages, model, "AveragedModel.applyTo");
    if (!buffers) return;
    for (const [n, b] of model.namedBuffers()) {
      const s = this.buffers.get(n);
      if (s === undefined || s.data.length !== b.data.length) {
        throw new Error(
          `AveragedModel.applyTo: the model's buffer "${n}" (shape [${b.shape}]) was not in the ` +
            "model the average was built from; use a model of the same architecture",
        );
      }
      b.data.set(s.data);
    }
  }
}

/** Options of {@link EMA}. */
export interface EMAOptions {
  /**
   * Where the average starts. `"firstUpdate"` (default, PyTorch's `AveragedModel`): the first
   * `update()` copies the weights, later updates blend. `"construction"`: the average starts at
   * the weights the model had when the `EMA` was constructed, and every update blends, the first
   * included (the lecture's EMA with e₀ = the initial weights).
   */
  start?: "firstUpdate" | "construction";
}

/**
 * Exponential moving average of the weights (Polyak averaging with decay; the lecture's EMA
 * applied to parameters), as PyTorch's
 * `AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay))`:
 *
 * ```text
 * first update:  ŵ ← w
 * later updates: ŵ ← decay · ŵ + (1 − decay) · w
 * ```
 * computed as PyTorch's `lerp` (`ŵ + (1 − decay)(w − ŵ)`). No bias correction is needed: the
 * average starts at the first weights it sees, not at 0. With `{ start: "construction" }` the
 * first update blends too, from the weights at construction. Before any update the average holds
 * the weights at construction (PyTorch's deep copy). Call `update()` after each optimizer step;
 * evaluate with `applyTo(model)` (save `model.stateDict()` first to resume training with the raw
 * weights). Buffers (batch-norm statistics) are not averaged (PyTorch's `use_buffers=False`).
 *
 * @example
 * ```ts
 * import { assertClose } from "@kit/check.ts";
 * import { EMA } from "@kit/regularizers.ts";
 * import { Linear } from "@kit/nn.ts";
 * import { rng } from "@kit/random.ts";
 * const model = new Linear(1, 1, { rng: rng(0), bias: false });
 * const ema = new EMA(model, 0.9);
 * model.weight.data[0] = 1;
 * ema.update(); // the first update copies: 1
 * model.weight.data[0] = 3;
 * ema.update(); // 0.9 * 1 + 0.1 * 3
 * assertClose(ema.shadow.get("weight")!.data[0], 1.2);
 * ```
 */
export class EMA {
  readonly model: Module;
  readonly decay: number;
  /** Where the average starts (see {@link EMAOptions}). */
  readonly start: "firstUpdate" | "construction";
  /** The averaged parameters, by name. */
  readonly shadow: Map<string, Tensor>;
  /** Number of `update()` calls (PyTorch's `n_averaged`). */
  numUpdates = 0;

  constructor(model: Module, decay: number, { start = "firstUpdate" }: EMAOptions = {}) {
    if (!(decay >= 0 && decay <= 1)) {
      throw new RangeError(`EMA: decay must be in [0, 1], got ${decay}`);
    }
    if (start !== "firstUpdate" && start !== "construction") {
      throw new RangeError(`EMA: start must be "firstUpdate" or "construction", got ${start}`);
    }
    this.model = model;
    this.decay = decay;
    this.start = start;
    this.shadow = copyParams(model);
  }

  /** Moves the average towards the model's current weights (the first update copies them). */
  update(model: Module = this.model): void {
    const copy = this.numUpdates === 0 && this.start === "firstUpdate";
    const w = 1 - this.decay;
    for (const [name, p] of model.namedParameters()) {
      const s = this.shadow.get(name);
      if (s === undefined || s.data.length !== p.data.length) {
        throw new Error(
          `EMA.update: the model's parameter "${name}" [${p.shape}] is not in the average; ` +
            "update with the model the EMA was built from (or one of the same architecture)",
        );
      }
      const sd = s.data, pd = p.data;
      if (copy) {
        sd.set(pd);
        continue;
      }
      // torch.lerp's two formulas, for the same rounding as PyTorch
      for (let i = 0; i < sd.length; i++) {
        sd[i] = w < 0.5 ? sd[i] + w * (pd[i] - sd[i]) : pd[i] - (pd[i] - sd[i]) * (1 - w);
      }
    }
    this.numUpdates += 1;
  }

  /** Writes the averaged weights into `model` (default: the tracked model), in place. */
  applyTo(model: Module = this.model): void {
    writeParams(this.shadow, model, "EMA.applyTo");
  }
}

/** What {@link updateBn} iterates over: inputs, or batches `{x}` / `[x, y]` as from `batches()`. */
export type BnLoader = Tensor | Iterable<Tensor | { x: Tensor } | readonly Tensor[]>;

/**
 * Recomputes the running statistics of every `BatchNorm1d` in `model` with one pass over the
 * data, as `torch.optim.swa_utils.update_bn`: the statistics are reset, the momentum is set to
 * `null` (cumulative average over the pass), the model runs in training mode without gradients,
 * then momenta and the model's mode are restored. Needed after {@link AveragedModel.applyTo}.
 * As in PyTorch, dropout layers are active during the pass.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { updateBn } from "@kit/regularizers.ts";
 * import { BatchNorm1d, Sequential } from "@kit/nn.ts";
 * import { tensor } from "@kit/tensor.ts";
 * const model = new Sequential(new BatchNorm1d(1));
 * updateBn(tensor([[1], [3], [5], [7]]), model, { batchSize: 2 });
 * const bn = model.at(0) as BatchNorm1d;
 * assert.ok(bn.runningMean!.data[0] === 4); // mean of the batch means 2 and 6
 * ```
 */
export function updateBn(loader: BnLoader, model: Module, { batchSize = 64 } = {}): void {
  const bns = model.modules().filter((m): m is BatchNorm1d => m instanceof BatchNorm1d);
  if (bns.length === 0) return;
  const momenta = bns.map((b) => b.momentum);
  const wasTraining = model.training;
  for (const b of bns) {
    if (b.runningMean) b.runningMean.data.fill(0);
    if (b.runningVar) b.runningVar.data.fill(1);
    if (b.numBatchesTracked) b.numBatchesTracked.data.fill(0);
    b.momentum = null;
  }
  model.train();
  try {
    noGrad(() => {
      for (const x of inputsOf(loader, batchSize)) model.call(x);
    });
  } finally {
    bns.forEach((b, i) => (b.momentum = momenta[i]));
    model.train(wasTraining);
  }
}

function* inputsOf(loader: BnLoader, batchSize: number): Generator<Tensor> {
  if (loader instanceof Tensor) {
    const n = loader.shape[0];
    const w = n === 0 ? 0 : loader.data.length / n;
    for (let s = 0; s < n; s += batchSize) {
      const e = Math.min(n, s + batchSize);
      yield new Tensor(loader.data.slice(s * w, e * w), [e - s, ...loader.shape.slice(1)]);
    }
    return;
  }
  for (const item of loader) {
    if (item instanceof Tensor) yield item;
    else if (Array.isArray(item)) yield item[0];
    else yield (item as { x: Tensor }).x;
  }
}
