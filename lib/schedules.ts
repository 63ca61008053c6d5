/**
 * Learning-rate schedules attached to an optimizer, with PyTorch's names, formulas and defaults
 * (`torch.optim.lr_scheduler`), plus the lecture's power and piecewise-constant schedules.
 *
 * Usage follows PyTorch: create the scheduler after the optimizer (this sets every group's `lr`
 * to the schedule's value at t = 0 and records `initialLr`), call `optimizer.step()` then
 * `scheduler.step()` once per epoch (or once per batch for {@link CyclicLR} and
 * {@link OneCycleLR}), and read the current rates with `getLastLr()`.
 *
 * PyTorch computes most schedules recursively from the group's current `lr` ("chainable"
 * form); this kit uses the closed forms PyTorch documents (`_get_closed_form_lr`). Both give
 * the same sequence (up to rounding) as long as nothing else changes `lr` in between; chaining
 * two schedulers on one optimizer is not supported here.
 *
 * @module
 */
import { Tensor } from "./tensor.ts";
import { type Optimizer, type ParamGroup, SGD } from "./optim.ts";

// deno-lint-ignore no-explicit-any
type AnyOptimizer = Optimizer<any, any>;
type Group = ParamGroup & { momentum?: number; betas?: readonly [number, number] };

function perGroup(opt: AnyOptimizer, v: number | readonly number[], name: string, cls: string) {
  const n = opt.paramGroups.length;
  if (typeof v === "number") return new Array<number>(n).fill(v);
  if (v.length !== n) {
    throw new RangeError(
      `${cls}: expected ${n} values for ${name} (one per group), got ${v.length}`,
    );
  }
  return [...v];
}

/**
 * Base class of the epoch/step schedules (PyTorch's `LRScheduler`). Subclasses give the closed
 * form `lrAt(t)` of the rate of each group after `t` calls of `step()`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SGD } from "@kit/optim.ts";
 * import { LRScheduler } from "@kit/schedules.ts";
 * import { tensor } from "@kit/tensor.ts";
 * // a custom schedule: halve every 3 steps
 * class Halving extends LRScheduler {
 *   constructor(opt: SGD) {
 *     super(opt);
 *     this.initialStep();
 *   }
 *   lrAt(t: number): number[] {
 *     return this.baseLrs.map((lr) => lr * 0.5 ** Math.floor(t / 3));
 *   }
 * }
 * const s = new Halving(new SGD([tensor([0])], { lr: 1 }));
 * for (let i = 0; i < 3; i++) s.step();
 * assert.ok(s.getLastLr()[0] === 0.5);
 * ```
 */
export abstract class LRScheduler {
  /** The optimizer whose groups' `lr` this schedule writes. */
  readonly optimizer: AnyOptimizer;
  /** Number of `step()` calls so far (PyTorch's `last_epoch`; 0 right after construction). */
  lastEpoch = -1;
  /** Each group's starting rate (its `initialLr`). */
  baseLrs: number[];
  #lastLr: number[] = [];

  constructor(optimizer: AnyOptimizer) {
    this.optimizer = optimizer;
    for (const g of optimizer.paramGroups as Group[]) g.initialLr ??= g.lr;
    this.baseLrs = (optimizer.paramGroups as Group[]).map((g) => g.initialLr!);
  }

  /** The rate of each group after `t` steps (closed form). */
  abstract lrAt(t: number): number[];

  /** Hook for schedules that also cycle momentum. */
  protected momentumAt(_t: number): number[] | null {
    return null;
  }

  /** Sets the rates for t = 0; subclasses call it at the end of their constructor. */
  protected initialStep(): void {
    this.step();
  }

  /** Advances the schedule by one step (an epoch or a batch) and writes the new rates. */
  step(): void {
    this.lastEpoch += 1;
    const lrs = this.lrAt(this.lastEpoch);
    const groups = this.optimizer.paramGroups as Group[];
    groups.forEach((g, i) => (g.lr = lrs[i]));
    const ms = this.momentumAt(this.lastEpoch);
    if (ms !== null) {
      groups.forEach((g, i) => {
        if (g.betas !== undefined) g.betas = [ms[i], g.betas[1]];
        else g.momentum = ms[i];
      });
    }
    this.#lastLr = lrs;
  }

  /** The rates last written, one per parameter group (PyTorch's `get_last_lr()`). */
  getLastLr(): number[] {
    return [...this.#lastLr];
  }
}

/**
 * `lr_t = lr₀ · γ^⌊t / stepSize⌋`, as `torch.optim.lr_scheduler.StepLR`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SGD } from "@kit/optim.ts";
 * import { lrSequence, StepLR } from "@kit/schedules.ts";
 * const lrs = lrSequence((o) => new StepLR(o, { stepSize: 2, gamma: 0.5 }), 5, { lr: 1 });
 * assert.ok(lrs.join() === "1,1,0.5,0.5,0.25");
 * ```
 */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;
  constructor(
    optimizer: AnyOptimizer,
    { stepSize, gamma = 0.1 }: { stepSize: number; gamma?: number },
  ) {
    super(optimizer);
    if (!(Number.isInteger(stepSize) && stepSize > 0)) {
      throw new RangeError(`StepLR: stepSize must be a positive integer, got ${stepSize}`);
    }
    this.stepSize = stepSize;
    this.gamma = gamma;
    this.initialStep();
  }
  lrAt(t: number): number[] {
    return this.baseLrs.map((lr) => lr * this.gamma ** Math.floor(t / this.stepSize));
  }
}

/**
 * `lr_t = lr₀ · γ^k` with k the number of milestones ≤ t, as `MultiStepLR`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { lrSequence, MultiStepLR } from "@kit/schedules.ts";
 * const lrs = lrSequence((o) => new MultiStepLR(o, { milestones: [1, 3], gamma: 0.5 }), 4, { lr: 1 });
 * assert.ok(lrs.join() === "1,0.5,0.5,0.25");
 * ```
 */
export class MultiStepLR extends LRScheduler {
  readonly milestones: number[];
  readonly gamma: number;
  constructor(
    optimizer: AnyOptimizer,
    { milestones, gamma = 0.1 }: { milestones: readonly number[]; gamma?: number },
  ) {
    super(optimizer);
    this.milestones = [...milestones].sort((a, b) => a - b);
    this.gamma = gamma;
    this.initialStep();
  }
  lrAt(t: number): number[] {
    const k = this.milestones.filter((m) => m <= t).length;
    return this.baseLrs.map((lr) => lr * this.gamma ** k);
  }
}

/**
 * `lr_t = lr₀ · γ^t`, as `ExponentialLR`. The lecture's exponential schedule
 * `η(t) = η₀ · 0.1^(t/s)` is `gamma = 0.1 ** (1 / s)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { ExponentialLR, lrSequence } from "@kit/schedules.ts";
 * const lrs = lrSequence((o) => new ExponentialLR(o, { gamma: 0.5 }), 3, { lr: 1 });
 * assert.ok(lrs.join() === "1,0.5,0.25");
 * ```
 */
export class ExponentialLR extends LRScheduler {
  readonly gamma: number;
  constructor(optimizer: AnyOptimizer, { gamma }: { gamma: number }) {
    super(optimizer);
    if (!(gamma > 0)) throw new RangeError(`ExponentialLR: gamma must be > 0, got ${gamma}`);
    this.gamma = gamma;
    this.initialStep();
  }
  lrAt(t: number): number[] {
    return this.baseLrs.map((lr) => lr * this.gamma ** t);
  }
}

/**
 * `lr_t = lr₀ · f(t)` for a function you give, as `LambdaLR` (`lrLambda(0)` is usually 1).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { LambdaLR, lrSequence } from "@kit/schedules.ts";
 * const lrs = lrSequence((o) => new LambdaLR(o, { lrLambda: (t) => 1 / (t + 1) }), 3, { lr: 1 });
 * assert.ok(lrs[2] === 1 / 3);
 * ```
 */
export class LambdaLR extends LRScheduler {
  readonly lrLambda: (t: number) => number;
  constructor(optimizer: AnyOptimizer, { lrLambda }: { lrLambda: (t: number) => number }) {
    super(optimizer);
    this.lrLambda = lrLambda;
    this.initialStep();
  }
  lrAt(t: number): number[] {
    return this.baseLrs.map((lr) => lr * this.lrLambda(t));
  }
}

/**
 * Cosine annealing (SGDR without restarts, Loshchilov and Hutter 2017), as `CosineAnnealingLR`:
 *
 * ```text
 * lr_t = η_min + (lr₀ − η_min) · (1 + cos(π t / tMax)) / 2
 * ```
 * PyTorch implements it recursively,
 * `lr_{t} = η_min + (lr_{t−1} − η_min)(1 + cos(π t/T))/(1 + cos(π (t−1)/T))`, whose solution is
 * this closed form; both keep following the cosine after `tMax` (the rate rises again, period
 * 2·tMax), so stop at `tMax` or use {@link OneCycleLR} if that is not wanted.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { CosineAnnealingLR, lrSequence } from "@kit/schedules.ts";
 * const lrs = lrSequence((o) => new CosineAnnealingLR(o, { tMax: 4 }), 5, { lr: 1 });
 * assert.ok(lrs[0] === 1 && Math.abs(lrs[2] - 0.5) < 1e-15 && lrs[4] === 0);
 * ```
 */
export class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number;
  readonly etaMin: number;
  constructor(optimizer: AnyOptimizer, { tMax, etaMin = 0 }: { tMax: number; etaMin?: number }) {
    super(optimizer);
    if (!(tMax > 0)) throw new RangeError(`CosineAnnealingLR: tMax must be > 0, got ${tMax}`);
    this.tMax = tMax;
    this.etaMin = etaMin;
    this.initialStep();
  }
  lrAt(t: number): number[] {
    const c = (1 + Math.cos(Math.PI * t / this.tMax)) / 2;
    return this.baseLrs.map((lr) => this.etaMin + (lr - this.etaMin) * c);
  }
}

/** Options of {@link CyclicLR} (PyTorch's names and defaults). */
export interface CyclicLROptions {
  baseLr: number | readonly number[];
  maxLr: number | readonly number[];
  /** Steps (batches) in the rising half of a cycle. Default 2000. */
  stepSizeUp?: number;
  /** Steps in the falling half; default `stepSizeUp`. */
  stepSizeDown?: number;
  /** "triangular" (default), "triangular2" (amplitude halves every cycle), "exp_range". */
  mode?: "triangular" | "triangular2" | "exp_range";
  /** For "exp_range": amplitude × gamma^t (t counts steps). Default 1. */
  gamma?: number;
  /** Cycle momentum inversely to the rate, between the two values below. Default true. */
  cycleMomentum?: boolean;
  baseMomentum?: number;
  maxMomentum?: number;
}

/**
 * Cyclical learning rates (Smith 2017), as `torch.optim.lr_scheduler.CyclicLR`, stepped once per
 * BATCH. With `T = stepSizeUp + stepSizeDown`, `cycle = ⌊1 + t/T⌋`, `x = 1 + t/T − cycle`:
 *
 * ```text
 * s = x / r                 if x ≤ r = stepSizeUp / T      (rising)
 * s = (x − 1) / (r − 1)     otherwise                       (falling)
 * lr_t = baseLr + (maxLr − baseLr) · s · scale
 * scale = 1 (triangular), 1 / 2^(cycle−1) (triangular2), γ^t (exp_range)
 * ```
 * As in PyTorch, `cycleMomentum` defaults to true: the group's `momentum` (or Adam's β₁) moves
 * the other way, `maxMomentum − (maxMomentum − baseMomentum) · s · scale`, and is set to
 * `maxMomentum` (0.9) at construction, EVEN for an SGD that had momentum 0. Pass
 * `cycleMomentum: false` to leave momentum alone; optimizers without momentum (Adagrad) require it.
 * Construction sets every group's rate to `baseLr`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { CyclicLR, lrSequence } from "@kit/schedules.ts";
 * const lrs = lrSequence(
 *   (o) => new CyclicLR(o, { baseLr: 0.1, maxLr: 1, stepSizeUp: 2, cycleMomentum: false }),
 *   5,
 * );
 * assert.ok(lrs.map((x) => x.toFixed(2)).join() === "0.10,0.55,1.00,0.55,0.10");
 * ```
 */
export class CyclicLR extends LRScheduler {
  readonly maxLrs: number[];
  readonly totalSize: number;
  readonly stepRatio: number;
  readonly mode: "triangular" | "triangular2" | "exp_range";
  readonly gamma: number;
  readonly cycleMomentum: boolean;
  readonly baseMomentums: number[];
  readonly maxMomentums: number[];

  constructor(optimizer: AnyOptimizer, {
    baseLr,
    maxLr,
    stepSizeUp = 2000,
    stepSizeDown,
    mode = "triangular",
    gamma = 1,
    cycleMomentum = true,
    baseMomentum = 0.8,
    maxMomentum = 0.9,
  }: CyclicLROptions) {
    super(optimizer);
    const base = perGroup(optimizer, baseLr, "baseLr", "CyclicLR");
    const groups = optimizer.paramGroups as Group[];
    groups.forEach((g, i) => {
      g.lr = base[i];
      g.initialLr = base[i];
    });
    this.baseLrs = base;
    this.maxLrs = perGroup(optimizer, maxLr, "maxLr", "CyclicLR");
    const down = stepSizeDown ?? stepSizeUp;
    if (!(stepSizeUp > 0 && down > 0)) {
      throw new RangeError(
        `CyclicLR: stepSizeUp and stepSizeDown must be > 0, got ${stepSizeUp} and ${down}`,
      );
    }
    if (!["triangular", "triangular2", "exp_range"].includes(mode)) {
      throw new RangeError(
        `CyclicLR: unknown mode "${mode}", expected "triangular", "triangular2" or "exp_range"`,
      );
    }
    this.totalSize = stepSizeUp + down;
    this.stepRatio = stepSizeUp / this.totalSize;
    this.mode = mode;
    this.gamma = gamma;
    this.cycleMomentum = cycleMomentum;
    this.baseMomentums = perGroup(optimizer, baseMomentum, "baseMomentum", "CyclicLR");
    this.maxMomentums = perGroup(optimizer, maxMomentum, "maxMomentum", "CyclicLR");
    if (cycleMomentum) requireMomentum(optimizer, "CyclicLR");
    this.initialStep();
  }

  #position(t: number): { s: number; scale: number } {
    const cycle = Math.floor(1 + t / this.totalSize);
    const x = 1 + t / this.totalSize - cycle;
    const s = x <= this.stepRatio ? x / this.stepRatio : (x - 1) / (this.stepRatio - 1);
    const scale = this.mode === "triangular"
      ? 1
      : this.mode === "triangular2"
      ? 1 / 2 ** (cycle - 1)
      : this.gamma ** t;
    return { s, scale };
  }

  lrAt(t: number): number[] {
    const { s, scale } = this.#position(t);
    return this.baseLrs.map((b, i) => b + (this.maxLrs[i] - b) * s * scale);
  }

  protected override momentumAt(t: number): number[] | null {
    if (!this.cycleMomentum) return null;
    const { s, scale } = this.#position(t);
    return this.maxMomentums.map((m, i) => m - (m - this.baseMomentums[i]) * s * scale);
  }
}

function requireMomentum(opt: AnyOptimizer, cls: string): void {
  for (const g of opt.paramGroups as Group[]) {
    if (g.momentum === undefined && g.betas === undefined) {
      throw new Error(
        `${cls}: cycleMomentum needs an optimizer with momentum or betas (SGD, RMSprop, Adam); ` +
          `${opt.name} has neither: pass cycleMomentum: false`,
      );
    }
  }
}

/** Options of {@link OneCycleLR} (PyTorch's names and defaults). */
export interface OneCycleLROptions {
  maxLr: number | readonly number[];
  /** Total number of `step()` calls (batches); or give `epochs` and `stepsPerEpoch`. */
  totalSteps?: number;
  epochs?: number;
  stepsPerEpoch?: number;
  /** Fraction of the steps spent increasing the rate. Default 0.3. */
  pctStart?: number;
  /** "cos" (default) or "linear" interpolation within each phase. */
  annealStrategy?: "cos" | "linear";
  /** Start at maxLr / divFactor. Default 25. */
  divFactor?: number;
  /** End at (maxLr / divFactor) / finalDivFactor. Default 1e4. */
  finalDivFactor?: number;
  /** Three phases (up, down to the start value, then annihilation) as in fast.ai. Default false. */
  threePhase?: boolean;
  /** Cycle momentum inversely to the rate (default true, as PyTorch). */
  cycleMomentum?: boolean;
  baseMomentum?: number;
  maxMomentum?: number;
}

/**
 * The 1cycle policy (Smith and Topin 2019), as `torch.optim.lr_scheduler.OneCycleLR`, stepped
 * once per BATCH, `totalSteps` times. Rates: `initial = maxLr / divFactor`,
 * `min = initial / finalDivFactor`. Phases (end steps as in PyTorch, N = totalSteps):
 *
 * ```text
 * two phases:   initial → maxLr until step pctStart·N − 1,  then maxLr → min until N − 1
 * three phases: initial → maxLr until pctStart·N − 1, maxLr → initial until 2·pctStart·N − 2,
 *               then initial → min until N − 1
 * within a phase, pct = (t − start) / (end − start) and
 *   cos:    lr = end + (start − end) · (1 + cos(π · pct)) / 2
 *   linear: lr = start + (end − start) · pct
 * ```
 * Momentum (or Adam's β₁) cycles the other way between `maxMomentum` (0.95) and `baseMomentum`
 * (0.85) unless `cycleMomentum: false`; as in PyTorch, this overrides an SGD's momentum even if it
 * was 0. Stepping more than `totalSteps` times throws, as PyTorch does.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { lrSequence, OneCycleLR } from "@kit/schedules.ts";
 * const lrs = lrSequence((o) => new OneCycleLR(o, { maxLr: 1, totalSteps: 10 }), 10);
 * import { assertClose } from "@kit/check.ts";
 * // initial lr maxLr / divFactor, computed by cosine annealing: 0.040000000000000036, as PyTorch
 * assertClose(lrs[0], 1 / 25, { rtol: 1e-12 });
 * assert.strictEqual(lrs[2], 1); // peak at step 0.3 * 10 - 1 = 2
 * assertClose(lrs[9], 1 / 25 / 1e4, { rtol: 1e-9 }); // final lr: initial / finalDivFactor
 * ```
 */
export class OneCycleLR extends LRScheduler {
  readonly totalSteps: number;
  readonly phases: {
    endStep: number;
    startLr: number[];
    endLr: number[];
    startM: number[];
    endM: number[];
  }[];
  readonly annealStrategy: "cos" | "linear";
  readonly cycleMomentum: boolean;

  constructor(optimizer: AnyOptimizer, o: OneCycleLROptions) {
    super(optimizer);
    const {
      maxLr,
      pctStart = 0.3,
      annealStrategy = "cos",
      divFactor = 25,
      finalDivFactor = 1e4,
      threePhase = false,
      cycleMomentum = true,
      baseMomentum = 0.85,
      maxMomentum = 0.95,
    } = o;
    const total = o.totalSteps ??
      (o.epochs !== undefined && o.stepsPerEpoch !== undefined
        ? o.epochs * o.stepsPerEpoch
        : undefined);
    if (total === undefined || !(Number.isInteger(total) && total > 0)) {
      throw new RangeError(
        `OneCycleLR: give totalSteps, or epochs and stepsPerEpoch, as positive integers ` +
          `(got totalSteps ${o.totalSteps}, epochs ${o.epochs}, stepsPerEpoch ${o.stepsPerEpoch})`,
      );
    }
    if (!(pctStart >= 0 && pctStart <= 1)) {
      throw new RangeError(`OneCycleLR: pctStart must be in [0, 1], got ${pctStart}`);
    }
    if (annealStrategy !== "cos" && annealStrategy !== "linear") {
      throw new RangeError(
        `OneCycleLR: annealStrategy must be "cos" or "linear", got ${annealStrategy}`,
      );
    }
    this.totalSteps = total;
    this.annealStrategy = annealStrategy;
    this.cycleMomentum = cycleMomentum;
    const maxLrs = perGroup(optimizer, maxLr, "maxLr", "OneCycleLR");
    const initial = maxLrs.map((m) => m / divFactor);
    const min = initial.map((i) => i / finalDivFactor);
    const groups = optimizer.paramGroups as Group[];
    groups.forEach((g, i) => (g.initialLr = initial[i]));
    this.baseLrs = initial;
    const bm = perGroup(optimizer, baseMomentum, "baseMomentum", "OneCycleLR");
    const mm = perGroup(optimizer, maxMomentum, "maxMomentum", "OneCycleLR");
    if (cycleMomentum) requireMomentum(optimizer, "OneCycleLR");
    const up = pctStart * total - 1;
    this.phases = threePhase
      ? [
        { endStep: up, startLr: initial, endLr: maxLrs, startM: mm, endM: bm },
        {
          endStep: 2 * pctStart * total - 2,
          startLr: maxLrs,
          endLr: initial,
          startM: bm,
          endM: mm,
        },
        { endStep: total - 1, startLr: initial, endLr: min, startM: mm, endM: mm },
      ]
      : [
        { endStep: up, startLr: initial, endLr: maxLrs, startM: mm, endM: bm },
        { endStep: total - 1, startLr: maxLrs, endLr: min, startM: bm, endM: mm },
      ];
    this.initialStep();
  }

  #anneal(start: number, end: number, pct: number): number {
    return this.annealStrategy === "cos"
      ? end + (start - end) / 2 * (Math.cos(Math.PI * pct) + 1)
      : (end - start) * pct + start;
  }

  #at(t: number, momentum: boolean): number[] {
    if (t > this.totalSteps) {
      throw new RangeError(
        `OneCycleLR: tried to step ${t} times; the specified number of total steps is ` +
          `${this.totalSteps} (create the scheduler with totalSteps = epochs × batches per epoch)`,
      );
    }
    let start = 0;
    for (let k = 0; k < this.phases.length; k++) {
      const ph = this.phases[k];
      if (t <= ph.endStep || k === this.phases.length - 1) {
        const pct = (t - start) / (ph.endStep - start);
        const a = momentum ? ph.startM : ph.startLr, b = momentum ? ph.endM : ph.endLr;
        return a.map((s, i) => this.#anneal(s, b[i], pct));
      }
      start = ph.endStep;
    }
    throw new Error("unreachable");
  }

  lrAt(t: number): number[] {
    return this.#at(t, false);
  }

  protected override momentumAt(t: number): number[] | null {
    return this.cycleMomentum ? this.#at(t, true) : null;
  }
}

/**
 * The lecture's power schedule `η(t) = η₀ / (1 + t/s)^c` (η₀ = the optimizer's lr, `c = 1`
 * by default; Keras' old `decay` argument is `c = 1, s = 1/decay`).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { lrSequence, PowerLR } from "@kit/schedules.ts";
 * const lrs = lrSequence((o) => new PowerLR(o, { s: 2, c: 1 }), 3, { lr: 1 });
 * assert.ok(lrs.join() === [1, 1 / 1.5, 1 / 2].join());
 * ```
 */
export class PowerLR extends LRScheduler {
  readonly s: number;
  readonly c: number;
  constructor(optimizer: AnyOptimizer, { s, c = 1 }: { s: number; c?: number }) {
    super(optimizer);
    if (!(s > 0)) throw new RangeError(`PowerLR: s must be > 0, got ${s}`);
    this.s = s;
    this.c = c;
    this.initialStep();
  }
  lrAt(t: number): number[] {
    return this.baseLrs.map((lr) => lr / (1 + t / this.s) ** this.c);
  }
}

/**
 * Polynomial decay to zero over `totalIters` steps, as `torch.optim.lr_scheduler.PolynomialLR`
 * (closed form `_get_closed_form_lr`):
 *
 * ```text
 * lr_t = lr₀ · (1 − min(t, totalIters) / totalIters)^power
 * ```
 * The rate reaches 0 at `t = totalIters` and stays there. PyTorch's defaults: `totalIters = 5`,
 * `power = 1` (linear decay). This is the "polynomial decay" of the UNAM deck's schedule slide;
 * Keras' `PolynomialDecay` is the same curve with an end rate other than 0. It differs from the
 * lecture's power schedule ({@link PowerLR}), which decays like `t^(−c)` and never reaches 0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lrSequence, PolynomialLR } from "@kit/schedules.ts";
 * // PyTorch's docstring example: lr 0.001, totalIters 4, power 1
 * const lrs = lrSequence((o) => new PolynomialLR(o, { totalIters: 4 }), 6, { lr: 0.001 });
 * assert.deepEqual(lrs.map((x) => +x.toFixed(6)), [0.001, 0.00075, 0.0005, 0.00025, 0, 0]);
 * ```
 */
export class PolynomialLR extends LRScheduler {
  readonly totalIters: number;
  readonly power: number;
  constructor(
    optimizer: AnyOptimizer,
    { totalIters = 5, power = 1 }: { totalIters?: number; power?: number } = {},
  ) {
    super(optimizer);
    if (!(Number.isInteger(totalIters) && totalIters > 0)) {
      throw new RangeError(
        `PolynomialLR: totalIters must be a positive integer, got ${totalIters}`,
      );
    }
    if (!(power > 0)) throw new RangeError(`PolynomialLR: power must be > 0, got ${power}`);
    this.totalIters = totalIters;
    this.power = power;
    this.initialStep();
  }
  lrAt(t: number): number[] {
    const f = (1 - Math.min(t, this.totalIters) / this.totalIters) ** this.power;
    return this.baseLrs.map((lr) => lr * f);
  }
}

/**
 * The lecture's piecewise-constant schedule: `values[0]` while `t < boundaries[0]`, `values[k]`
 * while `boundaries[k−1] ≤ t < boundaries[k]`, the last value after the last boundary. The values
 * are absolute rates, applied to every group (the optimizer's own lr is ignored). This is the
 * slides' `if epoch < 5: 0.01 elif epoch < 15: 0.005 else: 0.001`
 * (`boundaries [5, 15], values [0.01, 0.005, 0.001]`); Keras' `PiecewiseConstantDecay` switches
 * one step later (`t ≤ boundary`).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { lrSequence, PiecewiseConstantLR } from "@kit/schedules.ts";
 * const lrs = lrSequence(
 *   (o) => new PiecewiseConstantLR(o, { boundaries: [2, 3], values: [0.1, 0.01, 0.001] }),
 *   4,
 * );
 * assert.ok(lrs.join() === "0.1,0.1,0.01,0.001");
 * ```
 */
export class PiecewiseConstantLR extends LRScheduler {
  readonly boundaries: number[];
  readonly values: number[];
  constructor(
    optimizer: AnyOptimizer,
    { boundaries, values }: { boundaries: readonly number[]; values: readonly number[] },
  ) {
    super(optimizer);
    if (values.length !== boundaries.length + 1) {
      throw new RangeError(
        `PiecewiseConstantLR: need one more value than boundaries, got ${values.length} values ` +
          `for ${boundaries.length} boundaries`,
      );
    }
    for (let i = 1; i < boundaries.length; i++) {
      if (!(boundaries[i] > boundaries[i - 1])) {
        throw new RangeError(`PiecewiseConstantLR: boundaries must increase, got [${boundaries}]`);
      }
    }
    this.boundaries = [...boundaries];
    this.values = [...values];
    this.initialStep();
  }
  lrAt(t: number): number[] {
    let k = 0;
    while (k < this.boundaries.length && t >= this.boundaries[k]) k++;
    return this.baseLrs.map(() => this.values[k]);
  }
}

/** Options of {@link ReduceLROnPlateau} (PyTorch's names and defaults). */
export interface ReduceLROnPlateauOptions {
  /** "min": the metric should decrease (a loss); "max": increase (an accuracy). */
  mode?: "min" | "max";
  /** New lr = lr × factor. Default 0.1. */
  factor?: number;
  /** Epochs without improvement tolerated before reducing. Default 10. */
  patience?: number;
  /** Smallest change that counts as improvement. Default 1e-4. */
  threshold?: number;
  /** "rel": better than best·(1 ∓ threshold); "abs": better than best ∓ threshold. */
  thresholdMode?: "rel" | "abs";
  /** Epochs to wait after a reduction before counting again. Default 0. */
  cooldown?: number;
  /** Lower bound on each group's lr. Default 0. */
  minLr?: number | readonly number[];
  /** Reductions smaller than eps are skipped. Default 1e-8. */
  eps?: number;
}

/**
 * The lecture's "performance scheduling", as `torch.optim.lr_scheduler.ReduceLROnPlateau`: call
 * `step(metric)` once per epoch with the validation loss (or accuracy with `mode: "max"`).
 *
 * ```text
 * better(a) = a < best·(1 − threshold)  (min, rel)  | a < best − threshold (min, abs)
 *           = a > best·(1 + threshold)  (max, rel)  | a > best + threshold (max, abs)
 * if better: best ← a, bad ← 0   else bad ← bad + 1
 * during cooldown: cooldown counter − 1, bad ← 0
 * if bad > patience: lr ← max(lr · factor, minLr) (if that changes lr by more than eps),
 *                    start the cooldown, bad ← 0
 * ```
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SGD } from "@kit/optim.ts";
 * import { ReduceLROnPlateau } from "@kit/schedules.ts";
 * import { tensor } from "@kit/tensor.ts";
 * const opt = new SGD([tensor([0])], { lr: 1 });
 * const s = new ReduceLROnPlateau(opt, { factor: 0.5, patience: 1 });
 * for (const loss of [1, 0.5, 0.6, 0.7]) s.step(loss); // two bad epochs > patience 1
 * assert.ok(s.getLastLr()[0] === 0.5);
 * ```
 */
export class ReduceLROnPlateau {
  readonly optimizer: AnyOptimizer;
  readonly mode: "min" | "max";
  readonly factor: number;
  readonly patience: number;
  readonly threshold: number;
  readonly thresholdMode: "rel" | "abs";
  readonly cooldown: number;
  readonly minLrs: number[];
  readonly eps: number;
  /** Best metric so far (±Infinity before the first step). */
  best: number;
  /** Epochs since the last improvement (reset by a reduction and during cooldown). */
  numBadEpochs = 0;
  /** Epochs of cooldown left. */
  cooldownCounter = 0;
  /** Number of `step()` calls. */
  lastEpoch = 0;

  constructor(optimizer: AnyOptimizer, {
    mode = "min",
    factor = 0.1,
    patience = 10,
    threshold = 1e-4,
    thresholdMode = "rel",
    cooldown = 0,
    minLr = 0,
    eps = 1e-8,
  }: ReduceLROnPlateauOptions = {}) {
    if (!(factor < 1 && factor >= 0)) {
      throw new RangeError(`ReduceLROnPlateau: factor should be < 1.0, got ${factor}`);
    }
    if (mode !== "min" && mode !== "max") {
      throw new RangeError(`ReduceLROnPlateau: mode must be "min" or "max", got ${mode}`);
    }
    if (thresholdMode !== "rel" && thresholdMode !== "abs") {
      throw new RangeError(
        `ReduceLROnPlateau: thresholdMode must be "rel" or "abs", got ${thresholdMode}`,
      );
    }
    this.optimizer = optimizer;
    this.mode = mode;
    this.factor = factor;
    this.patience = patience;
    this.threshold = threshold;
    this.thresholdMode = thresholdMode;
    this.cooldown = cooldown;
    this.minLrs = perGroup(optimizer, minLr, "minLr", "ReduceLROnPlateau");
    this.eps = eps;
    this.best = mode === "min" ? Infinity : -Infinity;
  }

  #isBetter(a: number): boolean {
    const { best, threshold: th } = this;
    if (this.mode === "min") {
      return this.thresholdMode === "rel" ? a < best * (1 - th) : a < best - th;
    }
    return this.thresholdMode === "rel" ? a > best * (th + 1) : a > best + th;
  }

  /** Records one epoch's metric and reduces the rates after too many epochs without progress. */
  step(metric: number): void {
    if (typeof metric !== "number" || Number.isNaN(metric)) {
      throw new TypeError(`ReduceLROnPlateau.step: expected a number metric, got ${metric}`);
    }
    this.lastEpoch += 1;
    if (this.#isBetter(metric)) {
      this.best = metric;
      this.numBadEpochs = 0;
    } else {
      this.numBadEpochs += 1;
    }
    if (this.cooldownCounter > 0) {
      this.cooldownCounter -= 1;
      this.numBadEpochs = 0;
    }
    if (this.numBadEpochs > this.patience) {
      (this.optimizer.paramGroups as Group[]).forEach((g, i) => {
        const newLr = Math.max(g.lr * this.factor, this.minLrs[i]);
        if (g.lr - newLr > this.eps) g.lr = newLr;
      });
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
  }

  /** The current rate of each parameter group. */
  getLastLr(): number[] {
    return (this.optimizer.paramGroups as Group[]).map((g) => g.lr);
  }
}

/** Any scheduler of this module. */
export type Scheduler = LRScheduler | ReduceLROnPlateau;

/**
 * The learning rate used at each of `steps` optimizer steps under a schedule, for plots: builds
 * the schedule on a throw-away `SGD({lr})` (with momentum 0.9, so momentum cycling works) and
 * records `getLastLr()[0]` before each `step()`. For {@link ReduceLROnPlateau} pass the metric
 * sequence in `metrics` (entry k is reported after step k).
 *
 * @example
 * ```ts
 * import { lrSequence, StepLR } from "@kit/schedules.ts";
 * import { assertClose } from "@kit/check.ts";
 * const lrs = lrSequence((o) => new StepLR(o, { stepSize: 10 }), 30, { lr: 0.1 });
 * const expected = [...Array(10).fill(0.1), ...Array(10).fill(0.01), ...Array(10).fill(0.001)];
 * assertClose(lrs, expected, { rtol: 1e-12 }); // products of floats: compare within a tolerance
 * ```
 */
export function lrSequence(
  make: (optimizer: SGD) => Scheduler,
  steps: number,
  { lr = 1, metrics }: { lr?: number; metrics?: readonly number[] } = {},
): number[] {
  const opt = new SGD([new Tensor(new Float64Array(1), [1])], { lr, momentum: 0.9 });
  const sched = make(opt);
  const out: number[] = [];
  for (let t = 0; t < steps; t++) {
    out.push(sched.getLastLr()[0]);
    if (sched instanceof ReduceLROnPlateau) {
      if (metrics === undefined || metrics.length <= t) {
        throw new RangeError(
          `lrSequence: ReduceLROnPlateau needs a metric per step; got ${
            metrics?.length ?? 0
          } for ${steps} steps`,
        );
      }
      sched.step(metrics[t]);
    } else if (t < steps - 1) {
      sched.step();
    }
  }
  return out;
}
