/**
 * A small training loop: `fit()` (minibatch training with validation, schedules, clipping,
 * penalties, early stopping and a per-epoch history), `evaluate()` and `predict()`.
 *
 * The loop is the PyTorch one, written once so notebooks can show it:
 *
 * ```text
 * for each epoch:  model.train()
 *   for each shuffled minibatch (x, y):
 *     optimizer.zeroGrad();  loss = lossFn(model(x), y) [+ penalty(model)]
 *     loss.backward();  [clip];  optimizer.step();  [scheduler.step() per batch]
 *   [scheduler.step() per epoch]
 *   model.eval(), no grad: validation loss and accuracy;  [early stopping];  history
 * ```
 *
 * @module
 */
import { concat, noGrad, type Tensor } from "./tensor.ts";
import type { Module } from "./nn.ts";
import type { Rng } from "./random.ts";
import { batches, takeRows } from "./data.ts";
import { accuracy } from "./losses.ts";
import { clipGradNorm, clipGradValue, type Optimizer } from "./optim.ts";
import { CyclicLR, OneCycleLR, ReduceLROnPlateau, type Scheduler } from "./schedules.ts";
import { type EarlyStopping, weightNorm } from "./regularizers.ts";
import { word } from "./lang.ts";

/** Inputs `X` (rows are examples) and targets `y` (class indices `[N]` or values `[N, k]`). */
export interface Dataset {
  X: Tensor;
  y: Tensor;
}

/** A loss function `(prediction, target) => scalar`, with mean reduction (e.g. `crossEntropy`). */
export type LossFn = (pred: Tensor, target: Tensor) => Tensor;

/** One epoch's record, as passed to `onEpochEnd`. */
export interface EpochLog {
  /** Epoch index, from 0. */
  epoch: number;
  /** Mean data loss (no penalty) over the epoch's batches; see {@link FitOptions.trainMetrics}. */
  trainLoss: number;
  /** Validation loss in eval mode (NaN without validation data). */
  valLoss: number;
  /** Training accuracy (NaN unless classifying). */
  trainAcc: number;
  /** Validation accuracy (NaN unless classifying with validation data). */
  valAcc: number;
  /** Learning rate of group 0 at the epoch's first step. */
  lr: number;
  /** √(Σ w²) over the weights (biases excluded) at the end of the epoch. */
  weightNorm: number;
  /** Wall time of the epoch, validation included, in milliseconds. */
  timeMs: number;
}

/**
 * What `fit()` returns: one array per quantity, one entry per epoch (index = epoch), ready to
 * plot: `plot.trainingCurves(history)` or `plot.line(history.valLoss)`. The accuracy arrays are
 * empty when not classifying, the validation arrays empty without validation data (the
 * {@link EpochLog} given to callbacks holds NaN there). `stepLoss` has one entry per optimizer
 * step.
 */
export interface History {
  epoch: number[];
  trainLoss: number[];
  valLoss: number[];
  trainAcc: number[];
  valAcc: number[];
  lr: number[];
  weightNorm: number[];
  timeMs: number[];
  /** Data loss of every minibatch, in order (train mode, before that step's update). */
  stepLoss: number[];
  /** True when early stopping or a callback ended training before `epochs`. */
  stoppedEarly: boolean;
  /** Best epoch according to early stopping (its weights were restored), or null. */
  bestEpoch: number | null;
}

/** Options of {@link fit}. */
export interface FitOptions {
  train: Dataset;
  val?: Dataset;
  epochs: number;
  batchSize: number;
  // deno-lint-ignore no-explicit-any
  optimizer: Optimizer<any, any>;
  loss: LossFn;
  /** Added to the loss of every batch, e.g. `(m) => l2Penalty(m).mul(lambda / 2)`. */
  penalty?: (model: Module) => Tensor;
  scheduler?: Scheduler;
  /**
   * When `scheduler.step()` runs. Default "batch" for `OneCycleLR` and `CyclicLR` (as they are
   * meant to be used), "epoch" otherwise. `ReduceLROnPlateau` steps once per epoch with the
   * validation loss (the training loss without validation data).
   */
  schedulerStep?: "epoch" | "batch";
  /** Gradient clipping before each step: by global norm, or by value. */
  clip?: { maxNorm: number; normType?: number } | { value: number };
  callbacks?: {
    /** Called after each epoch; return true to stop training. */
    onEpochEnd?(log: EpochLog, model: Module): boolean | void;
    /** Called after each optimizer step. */
    onStepEnd?(info: { epoch: number; step: number; loss: number }, model: Module): void;
  };
  /** Checked on the validation loss each epoch; the best weights are restored at the end. */
  earlyStopping?: EarlyStopping;
  /** Shuffles the training set each epoch. */
  rng: Rng;
  /**
   * Report accuracies. Default: true when the model outputs `[N, C]` scores with C > 1 and `y`
   * holds class indices `[N]`. For binary logits `[N]` / `[N, 1]` pass true (logit > 0 is class 1).
   */
  classify?: boolean;
  /**
   * "running" (default): trainLoss / trainAcc are averaged over the epoch's batches as they were
   * trained (train mode, dropout on, weights changing), like Keras. "eval": recomputed after the
   * epoch in eval mode, comparable with the validation numbers (costs one more pass).
   */
  trainMetrics?: "running" | "eval";
  /** Drop the last incomplete batch (needed when it could have 1 row and the model has batch norm). */
  dropLast?: boolean;
  /** Print one line per epoch. */
  verbose?: boolean;
}

/** Thrown by {@link fit} when the loss becomes NaN or infinite. */
export class TrainingDivergedError extends Error {
  /**
   * What was recorded before the blow-up: the finished epochs, and `stepLoss` up to the last
   * finite step, so a curve of a diverging run can still be drawn. Set by {@link fit}.
   */
  history: History | null = null;
  constructor(
    readonly epoch: number,
    readonly step: number,
    readonly batch: number,
    readonly loss: number,
    readonly lr: number,
  ) {
    super(
      `fit: the loss became ${loss} at epoch ${epoch}, step ${step} (batch ${batch} of the epoch; ` +
        `all counted from 0) with learning rate ${lr}: training diverged. Lower the learning rate ` +
        `(try ${lr / 10}), clip the gradients (clip: { maxNorm: 1 }), or check the inputs for ` +
        `NaN or unscaled features.`,
    );
    this.name = "TrainingDivergedError";
  }
}

function isClassification(pred: Tensor, y: Tensor): boolean {
  return pred.ndim === 2 && pred.shape[1] > 1 && y.ndim === 1;
}

/**
 * Trains `model` and returns its {@link History}. Sets `model.train()` for the training passes and
 * evaluates in `eval()` mode without gradients; leaves the model in eval mode. With early
 * stopping and `restoreBest`, the best epoch's weights are loaded at the end (whether or not the
 * patience ran out), as in the lecture's pseudo-code. Throws {@link TrainingDivergedError} naming
 * the epoch and step when the loss becomes NaN or infinite.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { fit } from "@kit/train.ts";
 * import { Linear, ReLU, Sequential } from "@kit/nn.ts";
 * import { Adam } from "@kit/optim.ts";
 * import { crossEntropy } from "@kit/losses.ts";
 * import { rng } from "@kit/random.ts";
 * import { tensor } from "@kit/tensor.ts";
 * const g = rng(0);
 * const X = tensor([[0, 0], [0, 1], [1, 0], [1, 1]]), y = tensor([0, 1, 1, 0]); // XOR
 * const model = new Sequential(new Linear(2, 16, { rng: g }), new ReLU(), new Linear(16, 2, { rng: g }));
 * const h = fit(model, {
 *   train: { X, y }, val: { X, y }, epochs: 150, batchSize: 4,
 *   optimizer: new Adam(model, { lr: 0.05 }), loss: crossEntropy, rng: g,
 * });
 * assert.ok(h.valAcc.at(-1) === 1 && h.trainLoss.length === 150);
 * ```
 */
export function fit(model: Module, o: FitOptions): History {
  const h: History = {
    epoch: [],
    trainLoss: [],
    valLoss: [],
    trainAcc: [],
    valAcc: [],
    lr: [],
    weightNorm: [],
    timeMs: [],
    stepLoss: [],
    stoppedEarly: false,
    bestEpoch: null,
  };
  if (!(Number.isInteger(o.epochs) && o.epochs >= 0)) {
    throw new RangeError(`fit: epochs must be a non-negative integer, got ${o.epochs}`);
  }
  if (o.earlyStopping && !o.val) {
    throw new Error("fit: earlyStopping needs validation data (val: { X, y })");
  }
  // schedulerStep without a scheduler is harmless (a notebook may pass both from one branch)
  const perBatch = o.scheduler !== undefined && (o.schedulerStep ??
        (o.scheduler instanceof OneCycleLR || o.scheduler instanceof CyclicLR
          ? "batch"
          : "epoch")) ===
      "batch";
  if (perBatch && o.scheduler instanceof ReduceLROnPlateau) {
    throw new Error('fit: ReduceLROnPlateau steps once per epoch; remove schedulerStep: "batch"');
  }
  const counter = { step: 0 };
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    const t0 = performance.now();
    const lr = o.optimizer.paramGroups[0].lr;
    model.train();
    let run;
    try {
      run = trainEpoch(model, o, epoch, counter, perBatch, h.stepLoss);
    } catch (e) {
      if (e instanceof TrainingDivergedError) e.history = h;
      throw e;
    }
    const classify = o.classify ?? run.classify;
    let { loss: trainLoss, acc: trainAcc } = run;
    if (o.trainMetrics === "eval") {
      const r = evaluate(model, o.train, o.loss, { classify });
      trainLoss = r.loss;
      trainAcc = r.accuracy ?? NaN;
    }
    const v = o.val ? evaluate(model, o.val, o.loss, { classify }) : null; // eval mode, no grad
    if (o.scheduler instanceof ReduceLROnPlateau) o.scheduler.step(v ? v.loss : trainLoss);
    else if (o.scheduler && !perBatch) o.scheduler.step();

    const log: EpochLog = {
      epoch,
      trainLoss,
      valLoss: v?.loss ?? NaN,
      trainAcc,
      valAcc: v?.accuracy ?? NaN,
      lr,
      weightNorm: weightNorm(model),
      timeMs: performance.now() - t0,
    };
    for (const k of ["epoch", "trainLoss", "lr", "weightNorm", "timeMs"] as const) {
      h[k].push(log[k]);
    }
    if (v) h.valLoss.push(log.valLoss);
    if (classify) h.trainAcc.push(trainAcc);
    if (classify && v) h.valAcc.push(log.valAcc);
    if (o.verbose) console.log(formatLog(log));

    const esStop = o.earlyStopping ? o.earlyStopping.step(log.valLoss, model) : false;
    const cbStop = o.callbacks?.onEpochEnd?.(log, model) === true;
    if (esStop || cbStop) {
      h.stoppedEarly = epoch < o.epochs - 1;
      break;
    }
  }
  if (o.earlyStopping?.restoreBest && o.earlyStopping.bestState) {
    o.earlyStopping.restore(model);
    h.bestEpoch = o.earlyStopping.bestEpoch;
  }
  model.eval();
  return h;
}

/** One pass over the shuffled training set; returns the mean data loss and accuracy. */
function trainEpoch(
  model: Module,
  o: FitOptions,
  epoch: number,
  counter: { step: number },
  perBatch: boolean,
  stepLoss: number[],
): { loss: number; acc: number; classify: boolean } {
  let lossSum = 0, accSum = 0, n = 0, batch = 0, classify = o.classify;
  for (const b of batches(o.train.X, o.train.y, o.batchSize, o.rng, { dropLast: o.dropLast })) {
    o.optimizer.zeroGrad();
    const pred = model.call(b.x);
    const data = o.loss(pred, b.y!);
    const total = o.penalty ? data.add(o.penalty(model)) : data;
    const value = total.item();
    if (!Number.isFinite(value)) {
      const lr = o.optimizer.paramGroups[0].lr;
      throw new TrainingDivergedError(epoch, counter.step, batch, value, lr);
    }
    total.backward();
    if (o.clip && "maxNorm" in o.clip) clipGradNorm(model, o.clip.maxNorm, o.clip.normType);
    else if (o.clip) clipGradValue(model, o.clip.value);
    o.optimizer.step();
    if (perBatch) (o.scheduler as Exclude<Scheduler, ReduceLROnPlateau>).step();

    const bs = b.x.shape[0], dataLoss = data.item();
    classify ??= isClassification(pred, b.y!);
    lossSum += dataLoss * bs;
    if (classify) accSum += accuracy(pred, b.y!) * bs;
    n += bs;
    stepLoss.push(dataLoss);
    o.callbacks?.onStepEnd?.({ epoch, step: counter.step, loss: dataLoss }, model);
    counter.step++;
    batch++;
  }
  if (n === 0) {
    throw new RangeError(
      `fit: no training batch (${o.train.X.shape[0]} rows, batchSize ${o.batchSize}, ` +
        `dropLast ${o.dropLast ?? false}); use a smaller batchSize`,
    );
  }
  return { loss: lossSum / n, acc: classify ? accSum / n : NaN, classify: classify ?? false };
}

function formatLog(l: EpochLog): string {
  const f = (x: number) => (Number.isNaN(x) ? "-" : x.toFixed(4));
  return word("fit.log", {
    epoch: l.epoch,
    trainLoss: f(l.trainLoss),
    trainAcc: f(l.trainAcc),
    valLoss: f(l.valLoss),
    valAcc: f(l.valAcc),
    lr: l.lr.toPrecision(3),
    ms: l.timeMs.toFixed(0),
  });
}

/**
 * Loss (and accuracy when classifying) of `model` on a data set, in eval mode without gradients,
 * batch by batch; the loss is the batch losses' mean weighted by batch size, which equals the
 * loss over the whole set for a mean-reduced loss. The model's previous mode is restored.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { evaluate } from "@kit/train.ts";
 * import { Linear } from "@kit/nn.ts";
 * import { mseLoss } from "@kit/losses.ts";
 * import { rng } from "@kit/random.ts";
 * import { tensor } from "@kit/tensor.ts";
 * const model = new Linear(1, 1, { rng: rng(0) });
 * model.weight.data[0] = 2;
 * model.bias!.data[0] = 0;
 * const { loss } = evaluate(model, { X: tensor([[1], [2]]), y: tensor([[2], [5]]) }, mseLoss);
 * assert.ok(loss === 0.5); // errors 0 and 1
 * ```
 */
export function evaluate(
  model: Module,
  data: Dataset,
  loss: LossFn,
  { batchSize = 512, classify }: { batchSize?: number; classify?: boolean } = {},
): { loss: number; accuracy?: number } {
  const wasTraining = model.training;
  model.eval();
  try {
    return noGrad(() => {
      let lossSum = 0, accSum = 0, n = 0, cls = classify;
      for (const b of batches(data.X, data.y, batchSize, null)) {
        const pred = model.call(b.x);
        const bs = b.x.shape[0];
        cls ??= isClassification(pred, b.y!);
        lossSum += loss(pred, b.y!).item() * bs;
        if (cls) accSum += accuracy(pred, b.y!) * bs;
        n += bs;
      }
      return cls ? { loss: lossSum / n, accuracy: accSum / n } : { loss: lossSum / n };
    });
  } finally {
    model.train(wasTraining);
  }
}

/**
 * The model's outputs for every row of `X`, in eval mode without gradients, computed in batches
 * and concatenated. The model's previous mode is restored.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { predict } from "@kit/train.ts";
 * import { Linear } from "@kit/nn.ts";
 * import { rng } from "@kit/random.ts";
 * import { tensor } from "@kit/tensor.ts";
 * const out = predict(new Linear(2, 3, { rng: rng(0) }), tensor([[1, 2], [3, 4], [5, 6]]), { batchSize: 2 });
 * assert.ok(out.shape.join() === "3,3");
 * ```
 */
export function predict(model: Module, X: Tensor, { batchSize = 512 } = {}): Tensor {
  const wasTraining = model.training;
  model.eval();
  try {
    return noGrad(() => {
      const n = X.shape[0];
      if (!(n > 0)) throw new RangeError(`predict: X has no rows (shape [${X.shape}])`);
      const parts: Tensor[] = [];
      for (let s = 0; s < n; s += batchSize) {
        const idx = Array.from({ length: Math.min(batchSize, n - s) }, (_, i) => s + i);
        parts.push(model.call(takeRows(X, idx)));
      }
      return parts.length === 1 ? parts[0] : concat(parts, 0);
    });
  } finally {
    model.train(wasTraining);
  }
}
