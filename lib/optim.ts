/**
 * Optimizers with PyTorch's names, defaults and update rules (`torch.optim`), and gradient
 * clipping (`torch.nn.utils.clip_grad_norm_` / `clip_grad_value_`).
 *
 * Every optimizer updates parameters in place through `param.data` and reads `param.grad.data`;
 * parameters whose `grad` is `null` are skipped, as in PyTorch. Each JSDoc writes the update rule
 * as math, in the order PyTorch computes it (single-tensor code path, `foreach=False`). Notation:
 * `g` is the gradient, `p` the parameter, `t` the step count of that parameter (starting at 1).
 *
 * Per-parameter state lives in {@link Optimizer.state}, a `Map` keyed by the parameter tensor,
 * so a notebook can read e.g. Adam's moments: `opt.state.get(w)!.expAvg.data`.
 *
 * @module
 */
import { StateArena } from "./kernels.ts";
import { Tensor } from "./tensor.ts";

/** Anything that owns parameters: a list of tensors or a module with `parameters()`. */
export type ParamSource = Tensor | readonly Tensor[] | { parameters(): Tensor[] };

/** The parameters of a {@link ParamSource}, as an array. */
export function paramsOf(source: ParamSource): Tensor[] {
  if (source instanceof Tensor) return [source];
  if (Array.isArray(source)) return [...source];
  if (typeof (source as { parameters?: unknown }).parameters === "function") {
    return (source as { parameters(): Tensor[] }).parameters();
  }
  throw new TypeError("expected a Tensor, an array of Tensors or a module with parameters()");
}

/**
 * A parameter group as stored by an optimizer: its tensors plus every hyperparameter, filled in
 * from the optimizer's defaults. Schedulers write `lr` (and `momentum` or `betas[0]` when they
 * cycle momentum) and record the starting rate in `initialLr` (PyTorch's `initial_lr`).
 */
export interface ParamGroup {
  params: Tensor[];
  lr: number;
  initialLr?: number;
}

/** What a constructor accepts: tensors, or groups of tensors with their own settings. */
export type ParamsArg<O> =
  | ParamSource
  | readonly ({ params: readonly Tensor[] } & Partial<O>)[];

function isGroupArray<O>(x: ParamsArg<O>): x is readonly ({ params: Tensor[] } & Partial<O>)[] {
  return Array.isArray(x) && x.length > 0 && !(x[0] instanceof Tensor) &&
    typeof x[0] === "object" && x[0] !== null && "params" in x[0];
}

/**
 * Base class of the optimizers, as `torch.optim.Optimizer`: parameter groups, per-parameter state,
 * `step()` and `zeroGrad()`.
 *
 * {@link Optimizer.step} is the one loop every optimizer shares: it walks the groups and their
 * parameters, skips parameters without a gradient, negates the gradient when the group has
 * `maximize: true`, creates a parameter's state on its first step with `initState`, and calls
 * `update` with the parameter, its gradient, its state and its group. A new optimizer supplies
 * only those two methods (and `validate` when it has settings to check beyond `lr >= 0`).
 *
 * @example Using an optimizer
 * ```ts
 * import assert from "node:assert";
 * import { SGD } from "@kit/optim.ts";
 * import { tensor } from "@kit/tensor.ts";
 * const w = tensor([1, 2], { requiresGrad: true });
 * const b = tensor([0], { requiresGrad: true });
 * // two groups: the bias gets its own learning rate
 * const opt = new SGD([{ params: [w] }, { params: [b], lr: 0.5 }], { lr: 0.1 });
 * w.grad = tensor([1, 1]);
 * b.grad = tensor([1]);
 * opt.step();
 * assert.ok(Math.abs(w.data[0] - 0.9) < 1e-15 && b.data[0] === -0.5);
 * opt.zeroGrad(); // grads are null again
 * assert.strictEqual(w.grad, null);
 * ```
 *
 * @example Writing one: sign descent, p ← p − η sign(g), with the shared loop's `maximize`
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { Optimizer, type ParamGroup, type ParamsArg } from "@kit/optim.ts";
 * import { type Tensor, tensor } from "@kit/tensor.ts";
 * type SignOptions = { lr: number; maximize: boolean };
 * class SignSGD extends Optimizer<SignOptions, { steps: number }> {
 *   get name() { return "SignSGD"; }
 *   constructor(params: ParamsArg<SignOptions>, { lr = 0.01, maximize = false } = {}) {
 *     super(params, { lr, maximize });
 *   }
 *   protected initState() { return { steps: 0 }; }
 *   protected update(p: Tensor, g: Float64Array, s: { steps: number }, o: SignOptions & ParamGroup) {
 *     s.steps += 1;
 *     for (let i = 0; i < g.length; i++) p.data[i] -= o.lr * Math.sign(g[i]);
 *   }
 * }
 * const w = tensor([1, -1], { requiresGrad: true });
 * const opt = new SignSGD([w], { lr: 0.5 });
 * w.grad = tensor([3, -0.1]);
 * opt.step();
 * deepStrictEqual([...w.data, opt.state.get(w)!.steps], [0.5, -0.5, 1]);
 * new SignSGD([w], { lr: 0.5, maximize: true }).step(); // gradient ascent
 * deepStrictEqual([...w.data], [1, -1]);
 * ```
 */
export abstract class Optimizer<O extends { lr: number }, S> {
  /** Name used in error messages ("SGD", "Adam", ...). A getter, so the base constructor sees it. */
  abstract get name(): string;
  /** The constructor's settings, used for groups that do not override them. */
  readonly defaults: O;
  /** The parameter groups, each with all of its hyperparameters; schedulers write `lr` here. */
  readonly paramGroups: (O & ParamGroup)[] = [];
  /** Per-parameter state (moments, step counts, buffers), created on a parameter's first step. */
  readonly state: Map<Tensor, S> = new Map();

  constructor(params: ParamsArg<O>, defaults: O) {
    this.defaults = defaults;
    const groups = isGroupArray(params) ? params : [{ params: paramsOf(params as ParamSource) }];
    for (const g of groups) this.addParamGroup(g as { params: Tensor[] } & Partial<O>);
  }

  /**
   * Checks one group's hyperparameters; throws a RangeError naming the optimizer and value. The
   * default checks `lr >= 0`; optimizers with more settings override it.
   */
  protected validate(group: O): void {
    check(
      Number.isFinite(group.lr) && group.lr >= 0,
      this.name,
      "learning rate",
      group.lr,
      "lr >= 0",
    );
  }

  /** The state of parameter `p` before its first update (moment buffers at 0, step 0, ...). */
  protected abstract initState(p: Tensor, group: O & ParamGroup): S;

  /**
   * Updates parameter `p` in place (through `p.data`) from its gradient `grad` (already negated
   * when the group maximizes), its state and its group's hyperparameters.
   */
  protected abstract update(p: Tensor, grad: Float64Array, state: S, group: O & ParamGroup): void;

  /** Adds a group of parameters with its own settings (`add_param_group` in PyTorch). */
  addParamGroup(group: { params: readonly Tensor[] } & Partial<O>): void {
    const params = [...group.params];
    const full = { ...this.defaults, ...group, params } as O & ParamGroup;
    this.validate(full);
    if (params.length === 0) {
      throw new Error(`${this.name}: a parameter group has no parameters`);
    }
    if (new Set(params).size !== params.length) {
      throw new Error(`${this.name}: a parameter group lists the same tensor twice`);
    }
    for (const p of params) {
      if (!(p instanceof Tensor)) {
        throw new TypeError(`${this.name}: parameters must be Tensors, got ${typeof p}`);
      }
      for (const other of this.paramGroups) {
        if (other.params.includes(p)) {
          throw new Error(
            `${this.name}: a parameter (shape [${p.shape}]) appears in more than one group; ` +
              "give each tensor to one group only",
          );
        }
      }
    }
    this.paramGroups.push(full);
  }

  /**
   * Sets every parameter's `grad` to `null`, like PyTorch's `zero_grad(set_to_none=True)` (the
   * default since PyTorch 2.0). The next `backward()` then writes fresh gradients, and `step()`
   * skips parameters that received none.
   */
  zeroGrad(): void {
    for (const g of this.paramGroups) for (const p of g.params) p._dropGrad();
  }

  /** Performs one update of every parameter that has a gradient. */
  step(): void {
    // Indexed loops, not for-of: V8 (Deno 2.9) inlines `update` here, and inside a for-of (an
    // implicit try block) the inlined element loops ran 2 to 3 times slower (measured with SGD).
    const groups = this.paramGroups;
    for (let gi = 0; gi < groups.length; gi++) {
      const group = groups[gi];
      const maximize = (group as { maximize?: boolean }).maximize === true;
      const params = group.params;
      for (let pi = 0; pi < params.length; pi++) {
        const p = params[pi];
        let grad = gradOf(this.name, p);
        if (grad === null) continue;
        // an update that is not the kit's own may keep the array: zeroGrad must not recycle it
        if (!BUILTIN_UPDATES.has(this.update)) p._markGradSeen();
        // as PyTorch: the update sees -g (negation is exact, so results are unchanged)
        if (maximize) grad = grad.map((x) => -x);
        let st = this.state.get(p);
        if (st === undefined) {
          st = this.initState(p, group);
          this.state.set(p, st);
        }
        this.update(p, grad, st, group);
      }
    }
  }
}

function check(ok: boolean, opt: string, what: string, value: unknown, expected: string): void {
  if (!ok) throw new RangeError(`${opt}: invalid ${what} ${value}, expected ${expected}`);
}

function newBuffer(p: Tensor, fill = 0): Tensor {
  const d = new Float64Array(p.data.length);
  if (fill !== 0) d.fill(fill);
  return new Tensor(d, p.shape);
}

/** The gradient's array, read without marking it seen (the built-in updates keep no reference). */
function gradOf(opt: string, p: Tensor): Float64Array | null {
  const grad = p._peekGrad();
  if (grad === null || grad === undefined) return null;
  const g = grad.data;
  if (g.length !== p.data.length) {
    throw new Error(
      `${opt}.step: gradient of shape [${grad.shape}] does not match parameter [${p.shape}]`,
    );
  }
  return g;
}

/**
 * The `update` methods of the kit's optimizers: they keep no reference to the gradient's array,
 * so `zeroGrad` may recycle it (filled in after the classes below).
 */
// deno-lint-ignore ban-types
const BUILTIN_UPDATES = new Set<Function>();

// ---------------------------------------------------------------------------------------- SGD

/** Settings of {@link SGD}. */
export interface SGDOptions {
  lr: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay: number;
  maximize: boolean;
}

/** State of one parameter under {@link SGD}: the momentum buffer (null when momentum = 0). */
export interface SGDState {
  momentumBuffer: Tensor | null;
}

/**
 * Stochastic gradient descent with optional momentum, as `torch.optim.SGD`:
 *
 * ```text
 * g ← g + λ p                                      (weightDecay λ, coupled: part of the gradient)
 * if μ ≠ 0:  b ← g                          at t = 1 (no dampening on the first step)
 *            b ← μ b + (1 − τ) g            at t > 1 (dampening τ)
 *            g ← g + μ b   if nesterov,  else  g ← b
 * p ← p − η g
 * ```
 * Defaults as PyTorch ≥ 2.2: `lr = 1e-3`, no momentum, no weight decay.
 * With `maximize`, `g` is replaced by `−g` first. Nesterov needs `momentum > 0` and
 * `dampening = 0`. Plain SGD with `weightDecay = λ` is gradient descent on `J + (λ/2)‖p‖²`:
 * each step multiplies `p` by `1 − ηλ` before the gradient step.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SGD } from "@kit/optim.ts";
 * import { tensor } from "@kit/tensor.ts";
 * const w = tensor([1], { requiresGrad: true });
 * const opt = new SGD([w], { lr: 0.1, momentum: 0.9 });
 * for (const g of [1, 1]) {
 *   w.grad = tensor([g]);
 *   opt.step();
 * }
 * // b1 = 1, b2 = 0.9 * 1 + 1 = 1.9; w = 1 - 0.1 * 1 - 0.1 * 1.9 = 0.71
 * assert.ok(Math.abs(w.data[0] - 0.71) < 1e-12);
 * assert.ok(opt.state.get(w)!.momentumBuffer!.data[0] === 1.9);
 * ```
 */
export class SGD extends Optimizer<SGDOptions, SGDState> {
  get name(): string {
    return "SGD";
  }

  constructor(
    params: ParamsArg<SGDOptions>,
    {
      lr = 1e-3,
      momentum = 0,
      dampening = 0,
      nesterov = false,
      weightDecay = 0,
      maximize = false,
    }: Partial<SGDOptions> = {},
  ) {
    super(params, { lr, momentum, dampening, nesterov, weightDecay, maximize });
  }

  protected override validate(g: SGDOptions): void {
    check(Number.isFinite(g.lr) && g.lr >= 0, "SGD", "learning rate", g.lr, "lr >= 0");
    check(g.momentum >= 0, "SGD", "momentum", g.momentum, "momentum >= 0");
    check(g.weightDecay >= 0, "SGD", "weightDecay", g.weightDecay, "weightDecay >= 0");
    check(
      !g.nesterov || (g.momentum > 0 && g.dampening === 0),
      "SGD",
      "Nesterov setting with momentum",
      `${g.momentum} and dampening ${g.dampening}`,
      "momentum > 0 and dampening = 0",
    );
  }

  protected initState(): SGDState {
    return { momentumBuffer: null };
  }

  protected update(p: Tensor, grad: Float64Array, st: SGDState, group: SGDOptions): void {
    const { lr, momentum, dampening, nesterov, weightDecay } = group;
    const w = p.data;
    // the buffer appears on the first step with momentum (a scheduler may turn momentum on later)
    let first = false;
    if (momentum !== 0 && st.momentumBuffer === null) {
      st.momentumBuffer = newBuffer(p);
      first = true;
    }
    const buf = momentum !== 0 ? st.momentumBuffer!.data : null;
    for (let i = 0; i < w.length; i++) {
      let d = grad[i];
      if (weightDecay !== 0) d = d + weightDecay * w[i];
      if (buf !== null) {
        buf[i] = first ? d : buf[i] * momentum + (1 - dampening) * d;
        d = nesterov ? d + momentum * buf[i] : buf[i];
      }
      w[i] = w[i] - lr * d;
    }
  }
}

// ------------------------------------------------------------------------------------- Adagrad

/** Settings of {@link Adagrad}. */
export interface AdagradOptions {
  lr: number;
  lrDecay: number;
  weightDecay: number;
  eps: number;
  initialAccumulatorValue: number;
  maximize: boolean;
}

/** State of one parameter under {@link Adagrad}: step count and the sum of squared gradients. */
export interface AdagradState {
  step: number;
  sum: Tensor;
}

/**
 * AdaGrad (Duchi, Hazan and Singer 2011), as `torch.optim.Adagrad`:
 *
 * ```text
 * t ← t + 1
 * g ← g + λ p                       (weightDecay λ)
 * η_t ← η / (1 + (t − 1) · lrDecay)
 * s ← s + g²                        (s starts at initialAccumulatorValue)
 * p ← p − η_t · g / (√s + ε)         (ε outside the square root, default 1e-10)
 * ```
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { Adagrad } from "@kit/optim.ts";
 * import { tensor } from "@kit/tensor.ts";
 * const w = tensor([1], { requiresGrad: true });
 * const opt = new Adagrad([w], { lr: 0.1 });
 * w.grad = tensor([2]);
 * opt.step(); // s = 4, w = 1 - 0.1 * 2 / (2 + 1e-10)
 * assert.ok(Math.abs(w.data[0] - 0.9) < 1e-10 && opt.state.get(w)!.sum.data[0] === 4);
 * ```
 */
export class Adagrad extends Optimizer<AdagradOptions, AdagradState> {
  get name(): string {
    return "Adagrad";
  }

  constructor(
    params: ParamsArg<AdagradOptions>,
    {
      lr = 0.01,
      lrDecay = 0,
      weightDecay = 0,
      eps = 1e-10,
      initialAccumulatorValue = 0,
      maximize = false,
    }: Partial<AdagradOptions> = {},
  ) {
    super(params, { lr, lrDecay, weightDecay, eps, initialAccumulatorValue, maximize });
  }

  protected override validate(g: AdagradOptions): void {
    check(Number.isFinite(g.lr) && g.lr >= 0, "Adagrad", "learning rate", g.lr, "lr >= 0");
    check(g.lrDecay >= 0, "Adagrad", "lrDecay", g.lrDecay, "lrDecay >= 0");
    check(g.weightDecay >= 0, "Adagrad", "weightDecay", g.weightDecay, "weightDecay >= 0");
    check(
      g.initialAccumulatorValue >= 0,
      "Adagrad",
      "initialAccumulatorValue",
      g.initialAccumulatorValue,
      "initialAccumulatorValue >= 0",
    );
    check(g.eps >= 0, "Adagrad", "epsilon", g.eps, "eps >= 0");
  }

  override addParamGroup(group: { params: readonly Tensor[] } & Partial<AdagradOptions>): void {
    super.addParamGroup(group);
    // PyTorch creates Adagrad's state eagerly, in the constructor.
    const full = this.paramGroups[this.paramGroups.length - 1];
    for (const p of full.params) this.state.set(p, this.initState(p, full));
  }

  protected initState(p: Tensor, group: AdagradOptions): AdagradState {
    return { step: 0, sum: newBuffer(p, group.initialAccumulatorValue) };
  }

  protected update(p: Tensor, grad: Float64Array, st: AdagradState, group: AdagradOptions): void {
    const { lr, lrDecay, weightDecay, eps } = group;
    st.step += 1;
    const clr = lr / (1 + (st.step - 1) * lrDecay);
    const w = p.data, s = st.sum.data;
    for (let i = 0; i < w.length; i++) {
      let d = grad[i];
      if (weightDecay !== 0) d = d + weightDecay * w[i];
      s[i] = s[i] + d * d;
      w[i] = w[i] - clr * (d / (Math.sqrt(s[i]) + eps));
    }
  }
}

// ------------------------------------------------------------------------------------- RMSprop

/** Settings of {@link RMSprop}. */
export interface RMSpropOptions {
  lr: number;
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  centered: boolean;
  maximize: boolean;
}

/**
 * State of one parameter under {@link RMSprop}: step count, the running average of g², and when
 * enabled the momentum buffer and the running average of g (centered).
 */
export interface RMSpropState {
  step: number;
  squareAvg: Tensor;
  momentumBuffer: Tensor | null;
  gradAvg: Tensor | null;
}

/**
 * RMSProp (Hinton's lecture 6e), as `torch.optim.RMSprop`:
 *
 * ```text
 * g ← g + λ p                                    (weightDecay λ)
 * v ← α v + (1 − α) g²                           (v starts at 0)
 * centered:  ḡ ← α ḡ + (1 − α) g,   d ← √(v − ḡ²) + ε
 * else:      d ← √v + ε                          (ε outside the square root)
 * momentum μ > 0:  b ← μ b + g / d,   p ← p − η b   (b starts at 0)
 * else:            p ← p − η g / d
 * ```
 * Note PyTorch's defaults: `lr = 0.01`, `alpha = 0.99` (Keras uses `rho = 0.9`).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { RMSprop } from "@kit/optim.ts";
 * import { tensor } from "@kit/tensor.ts";
 * const w = tensor([0], { requiresGrad: true });
 * const opt = new RMSprop([w], { lr: 0.01 });
 * w.grad = tensor([3]);
 * opt.step(); // v = 0.01 * 9, step = 0.01 * 3 / (sqrt(0.09) + 1e-8) ≈ 0.1
 * assert.ok(Math.abs(w.data[0] + 0.1) < 1e-7);
 * ```
 */
export class RMSprop extends Optimizer<RMSpropOptions, RMSpropState> {
  get name(): string {
    return "RMSprop";
  }

  constructor(
    params: ParamsArg<RMSpropOptions>,
    {
      lr = 0.01,
      alpha = 0.99,
      eps = 1e-8,
      weightDecay = 0,
      momentum = 0,
      centered = false,
      maximize = false,
    }: Partial<RMSpropOptions> = {},
  ) {
    super(params, { lr, alpha, eps, weightDecay, momentum, centered, maximize });
  }

  protected override validate(g: RMSpropOptions): void {
    check(Number.isFinite(g.lr) && g.lr >= 0, "RMSprop", "learning rate", g.lr, "lr >= 0");
    check(g.eps >= 0, "RMSprop", "epsilon", g.eps, "eps >= 0");
    check(g.momentum >= 0, "RMSprop", "momentum", g.momentum, "momentum >= 0");
    check(g.weightDecay >= 0, "RMSprop", "weightDecay", g.weightDecay, "weightDecay >= 0");
    check(g.alpha >= 0 && g.alpha <= 1, "RMSprop", "alpha", g.alpha, "0 <= alpha <= 1");
  }

  protected initState(p: Tensor): RMSpropState {
    return { step: 0, squareAvg: newBuffer(p), momentumBuffer: null, gradAvg: null };
  }

  protected update(p: Tensor, grad: Float64Array, st: RMSpropState, group: RMSpropOptions): void {
    const { lr, alpha, eps, weightDecay, momentum, centered } = group;
    if (momentum > 0 && st.momentumBuffer === null) st.momentumBuffer = newBuffer(p);
    if (centered && st.gradAvg === null) st.gradAvg = newBuffer(p);
    st.step += 1;
    const w = p.data, v = st.squareAvg.data;
    const buf = momentum > 0 ? st.momentumBuffer!.data : null;
    const ga = centered ? st.gradAvg!.data : null;
    const wLerp = 1 - alpha;
    for (let i = 0; i < w.length; i++) {
      let d = grad[i];
      if (weightDecay !== 0) d = d + weightDecay * w[i];
      v[i] = v[i] * alpha + (1 - alpha) * d * d;
      let denom: number;
      if (ga !== null) {
        ga[i] = lerp(ga[i], d, wLerp);
        denom = Math.sqrt(v[i] - ga[i] * ga[i]) + eps;
      } else {
        denom = Math.sqrt(v[i]) + eps;
      }
      if (buf !== null) {
        buf[i] = buf[i] * momentum + d / denom;
        w[i] = w[i] - lr * buf[i];
      } else {
        w[i] = w[i] - lr * (d / denom);
      }
    }
  }
}

/** Parameters smaller than this keep Adam's moments in plain arrays: see `Adam.initState`. */
const ARENA_MIN = 256;

/** `torch.lerp(a, b, weight)` with PyTorch's CPU formula (exact at both ends). */
function lerp(a: number, b: number, weight: number): number {
  return Math.abs(weight) < 0.5 ? a + weight * (b - a) : b - (b - a) * (1 - weight);
}

// ---------------------------------------------------------------------------------------- Adam

/** Settings of {@link Adam} and {@link AdamW}. */
export interface AdamOptions {
  lr: number;
  betas: readonly [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  /** Divide the moments by 1 − βᵗ (PyTorch always does). `false` is this kit's addition. */
  biasCorrection: boolean;
  maximize: boolean;
}

/**
 * State of one parameter under {@link Adam} / {@link AdamW}: the step count `t`, the first
 * moment `m` (`expAvg`), the second moment `v` (`expAvgSq`), both raw (not bias-corrected), and
 * with AMSGrad the running maximum of `v` (`maxExpAvgSq`).
 */
export interface AdamState {
  step: number;
  expAvg: Tensor;
  expAvgSq: Tensor;
  maxExpAvgSq?: Tensor;
}

/**
 * Adam (Kingma and Ba 2015), as `torch.optim.Adam`:
 *
 * ```text
 * t ← t + 1
 * g ← g + λ p                                  (weightDecay λ: coupled L2, part of the gradient)
 * m ← β₁ m + (1 − β₁) g                        (m, v start at 0)
 * v ← β₂ v + (1 − β₂) g²
 * AMSGrad:  v̂ ← max(v̂, v)  and use v̂ instead of v below
 * p ← p − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
 * ```
 * ε is added OUTSIDE the square root and AFTER the bias correction of v, as PyTorch does (the
 * paper writes m̂ / (√v̂ + ε), which is the same thing). The lecture's Algorithm 8.7 (Goodfellow
 * et al.) writes the same rule with ρ₁, ρ₂ for β₁, β₂ and δ for ε.
 *
 * `biasCorrection: false` (this kit's addition, for the lecture) uses m and v raw:
 * `p ← p − η m / (√v + ε)`. The first step is then `(1 − β₁)/√(1 − β₂)` times the corrected
 * one (≈ 3.16 for the defaults) instead of exactly `η · sign(g)`.
 *
 * m is updated with PyTorch's `lerp` (`m + (1 − β₁)(g − m)`), which equals the formula above up
 * to rounding.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { Adam } from "@kit/optim.ts";
 * import { tensor } from "@kit/tensor.ts";
 * const w = tensor([1], { requiresGrad: true });
 * const opt = new Adam([w], { lr: 0.1 });
 * w.grad = tensor([5]);
 * opt.step(); // the first corrected step is lr * sign(g), whatever |g|
 * assert.ok(Math.abs(w.data[0] - 0.9) < 1e-9);
 * const s = opt.state.get(w)!;
 * assert.ok(s.step === 1 && Math.abs(s.expAvg.data[0] - 0.5) < 1e-15);
 * ```
 */
export class Adam extends Optimizer<AdamOptions, AdamState> {
  get name(): string {
    return "Adam";
  }
  /** Decoupled weight decay (AdamW) instead of an L2 term in the gradient. */
  protected decoupled = false;
  /** Where the moments of each larger parameter live (see `initState`). */
  #arenaOf = new Map<Tensor, StateArena>();
  #arena: StateArena | null = null;

  constructor(
    params: ParamsArg<AdamOptions>,
    {
      lr = 1e-3,
      betas = [0.9, 0.999],
      eps = 1e-8,
      weightDecay = 0,
      amsgrad = false,
      biasCorrection = true,
      maximize = false,
    }: Partial<AdamOptions> = {},
  ) {
    super(params, { lr, betas, eps, weightDecay, amsgrad, biasCorrection, maximize });
  }

  protected override validate(g: AdamOptions): void {
    const n = this.name;
    check(Number.isFinite(g.lr) && g.lr >= 0, n, "learning rate", g.lr, "lr >= 0");
    check(g.eps >= 0, n, "epsilon", g.eps, "eps >= 0");
    check(
      Array.isArray(g.betas) && g.betas.length === 2,
      n,
      "betas",
      JSON.stringify(g.betas),
      "a pair [beta1, beta2]",
    );
    check(g.betas[0] >= 0 && g.betas[0] < 1, n, "beta1", g.betas[0], "0 <= beta1 < 1");
    check(g.betas[1] >= 0 && g.betas[1] < 1, n, "beta2", g.betas[1], "0 <= beta2 < 1");
    check(g.weightDecay >= 0, n, "weightDecay", g.weightDecay, "weightDecay >= 0");
  }

  /**
   * The moments of a parameter of at least 256 values live in WebAssembly memory (a
   * {@link StateArena}, sized for every parameter of the optimizer that has no state yet), where
   * a SIMD kernel updates them in place; smaller ones in plain arrays. Either way `expAvg` and
   * `expAvgSq` are ordinary tensors over `Float64Array`s.
   */
  protected initState(p: Tensor): AdamState {
    const n = p.data.length;
    if (n >= ARENA_MIN) {
      for (let attempt = 0; attempt < 2; attempt++) {
        if (this.#arena === null) this.#arena = this.#newArena();
        const arena = this.#arena;
        if (arena === null) break;
        const m = arena.alloc(n), v = m && arena.alloc(n);
        if (m && v) {
          this.#arenaOf.set(p, arena);
          return { step: 0, expAvg: new Tensor(m, p.shape), expAvgSq: new Tensor(v, p.shape) };
        }
        this.#arena = null; // full: the next attempt sizes a new one
      }
    }
    return { step: 0, expAvg: newBuffer(p), expAvgSq: newBuffer(p) };
  }

  /** An arena for the moments of every large parameter without state yet. */
  #newArena(): StateArena | null {
    let doubles = 0, largest = 0;
    for (const g of this.paramGroups) {
      for (const q of g.params) {
        const n = q.data.length;
        if (n < ARENA_MIN || this.state.has(q)) continue;
        doubles += 2 * (n + (n & 1));
        largest = Math.max(largest, n);
      }
    }
    return doubles > 0 ? StateArena.create(doubles, largest) : null;
  }

  protected update(p: Tensor, grad: Float64Array, st: AdamState, group: AdamOptions): void {
    const { lr, eps, weightDecay, amsgrad, biasCorrection } = group;
    const [beta1, beta2] = group.betas;
    if (amsgrad && st.maxExpAvgSq === undefined) st.maxExpAvgSq = newBuffer(p);
    st.step += 1;
    const t = st.step;
    const bc1 = biasCorrection ? 1 - beta1 ** t : 1;
    const bc2Sqrt = biasCorrection ? Math.sqrt(1 - beta2 ** t) : 1;
    const stepSize = lr / bc1;
    const w = p.data, m = st.expAvg.data, v = st.expAvgSq.data;
    const vMax = amsgrad ? st.maxExpAvgSq!.data : null;
    const decay = this.decoupled ? 1 - lr * weightDecay : 1;
    const wd = this.decoupled ? 0 : weightDecay;
    const w1 = 1 - beta1;
    const arena = this.#arenaOf.get(p);
    if (
      arena && vMax === null && Math.abs(w1) < 0.5 && arena.owns(m) && arena.owns(v) &&
      arena.adam(w, grad, m, v, w1, beta2, stepSize, bc2Sqrt, eps, decay, wd)
    ) {
      return; // the loop below in WebAssembly SIMD, two parameters at a time: the same bits
    }
    if (decay === 1 && wd === 0 && vMax === null && Math.abs(w1) < 0.5) {
      // the common case as one tight loop: the same operations in the same order as below
      adamPlain(w, grad, m, v, w1, beta2, stepSize, bc2Sqrt, eps);
      return;
    }
    for (let i = 0; i < w.length; i++) {
      if (decay !== 1) w[i] = w[i] * decay;
      let d = grad[i];
      if (wd !== 0) d = d + wd * w[i];
      m[i] = lerp(m[i], d, w1);
      v[i] = v[i] * beta2 + (1 - beta2) * d * d;
      let vi = v[i];
      if (vMax !== null) {
        if (vi > vMax[i]) vMax[i] = vi;
        vi = vMax[i];
      }
      w[i] = w[i] - stepSize * (m[i] / (Math.sqrt(vi) / bc2Sqrt + eps));
    }
  }
}

/**
 * One Adam update without weight decay or AMSGrad, for `|1 - β₁| < 0.5` (where {@link lerp} is
 * `a + w (b - a)`): bitwise the general loop of `Adam.update`, without its per-element tests.
 */
function adamPlain(
  w: Float64Array,
  grad: Float64Array,
  m: Float64Array,
  v: Float64Array,
  w1: number,
  beta2: number,
  stepSize: number,
  bc2Sqrt: number,
  eps: number,
): void {
  const w2 = 1 - beta2;
  for (let i = 0; i < w.length; i++) {
    const d = grad[i], mi = m[i] + w1 * (d - m[i]), vi = v[i] * beta2 + w2 * d * d;
    m[i] = mi;
    v[i] = vi;
    w[i] = w[i] - stepSize * (mi / (Math.sqrt(vi) / bc2Sqrt + eps));
  }
}

/**
 * AdamW (Loshchilov and Hutter 2019), as `torch.optim.AdamW`: Adam with DECOUPLED weight decay.
 * The parameter shrinks before the Adam update and the decay never enters m or v:
 *
 * ```text
 * p ← p (1 − η λ)                     (weightDecay λ, default 1e-2)
 * then the Adam update of {@link Adam} with the raw gradient g (no λ p term)
 * ```
 * Adam with `weightDecay` (or with an L2 term in the loss) divides the decay by √v̂ like any
 * gradient; AdamW does not, so the two differ whenever λ > 0.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { AdamW } from "@kit/optim.ts";
 * import { tensor } from "@kit/tensor.ts";
 * const w = tensor([1], { requiresGrad: true });
 * const opt = new AdamW([w], { lr: 0.1, weightDecay: 0.5 });
 * w.grad = tensor([0.001]);
 * opt.step(); // 1 * (1 - 0.05) - 0.1 * sign(g)
 * assert.ok(Math.abs(w.data[0] - 0.85) < 1e-6);
 * ```
 */
export class AdamW extends Adam {
  override get name(): string {
    return "AdamW";
  }

  constructor(
    params: ParamsArg<AdamOptions>,
    { weightDecay = 1e-2, ...rest }: Partial<AdamOptions> = {},
  ) {
    super(params, { weightDecay, ...rest });
    this.decoupled = true;
  }
}

for (const cls of [SGD, Adagrad, RMSprop, Adam]) {
  // deno-lint-ignore ban-types
  BUILTIN_UPDATES.add((cls.prototype as unknown as { update: Function }).update);
}

// ------------------------------------------------------------------------------------ clipping

/**
 * Rescales all gradients together so that their joint norm is at most `maxNorm`, as
 * `torch.nn.utils.clip_grad_norm_`, and returns the total norm BEFORE clipping (a number, where
 * PyTorch returns a 0-d tensor):
 *
 * ```text
 * N = ‖(g₁, …, g_k)‖_q       (all gradients as one vector; q = normType, Infinity for the max-norm)
 * c = maxNorm / (N + 1e-6);  if c < 1: every g ← c g
 * ```
 * This is the lecture's `clip(g) = ν g / ‖g‖` when `‖g‖ ≥ ν` (up to the 1e-6 PyTorch adds).
 * Parameters without a gradient are ignored; with none at all it returns 0. A non-finite norm is
 * returned as is and the gradients are scaled by NaN/0 as in PyTorch (its default
 * `error_if_nonfinite=False`); pass `{ errorIfNonfinite: true }` to throw instead.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { clipGradNorm } from "@kit/optim.ts";
 * import { tensor } from "@kit/tensor.ts";
 * const w = tensor([0, 0], { requiresGrad: true });
 * w.grad = tensor([3, 4]);
 * const norm = clipGradNorm([w], 1); // 5, and the gradient now has norm 1
 * assert.ok(norm === 5 && Math.abs(w.grad.data[0] - 0.6) < 1e-6);
 * ```
 */
export function clipGradNorm(
  params: ParamSource,
  maxNorm: number,
  normType = 2,
  { errorIfNonfinite = false }: { errorIfNonfinite?: boolean } = {},
): number {
  if (!(maxNorm >= 0)) {
    throw new RangeError(`clipGradNorm: maxNorm must be >= 0, got ${maxNorm}`);
  }
  if (!(normType > 0)) {
    throw new RangeError(`clipGradNorm: normType must be > 0 or Infinity, got ${normType}`);
  }
  // the engine's own reads (_peekGrad): clipping keeps no reference, so zeroGrad may recycle them
  const grads = paramsOf(params).filter((p) => p._peekGrad() != null).map((p) =>
    p._peekGrad()!.data
  );
  if (grads.length === 0) return 0;
  let total: number;
  if (normType === Infinity) {
    total = 0;
    for (const g of grads) {
      for (let i = 0; i < g.length; i++) {
        const a = Math.abs(g[i]);
        if (a > total || Number.isNaN(a)) total = a;
      }
    }
  } else {
    // PyTorch: the q-norm of the per-tensor q-norms, which equals the q-norm of everything.
    let acc = 0;
    for (const g of grads) {
      let s = 0;
      if (normType === 2) { for (let i = 0; i < g.length; i++) s += g[i] * g[i]; }
      else for (let i = 0; i < g.length; i++) s += Math.abs(g[i]) ** normType;
      acc += s;
    }
    total = normType === 2 ? Math.sqrt(acc) : acc ** (1 / normType);
  }
  if (errorIfNonfinite && !Number.isFinite(total)) {
    throw new Error(
      `clipGradNorm: the total gradient norm is ${total}; the loss or the gradients diverged ` +
        "(lower the learning rate, or check the loss for log(0) or division by zero)",
    );
  }
  const coef = maxNorm / (total + 1e-6);
  if (coef < 1 || Number.isNaN(coef)) {
    for (const g of grads) for (let i = 0; i < g.length; i++) g[i] *= coef;
  }
  return total;
}

/**
 * Clamps every gradient entry to `[−value, value]`, in place, as
 * `torch.nn.utils.clip_grad_value_`. Unlike {@link clipGradNorm} this changes the gradient's
 * direction.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { clipGradValue } from "@kit/optim.ts";
 * import { tensor } from "@kit/tensor.ts";
 * const w = tensor([0, 0, 0], { requiresGrad: true });
 * w.grad = tensor([-3, 0.5, 2]);
 * clipGradValue([w], 1);
 * assert.ok(w.grad.data.join() === "-1,0.5,1");
 * ```
 */
export function clipGradValue(params: ParamSource, value: number): void {
  if (!(value >= 0)) {
    throw new RangeError(`clipGradValue: value must be >= 0, got ${value}`);
  }
  for (const p of paramsOf(params)) {
    const grad = p._peekGrad();
    if (grad == null) continue;
    const g = grad.data;
    for (let i = 0; i < g.length; i++) {
      if (g[i] > value) g[i] = value;
      else if (g[i] < -value) g[i] = -value;
    }
  }
}
