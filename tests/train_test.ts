import assert from "node:assert/strict";
import { assertClose } from "@kit/check.ts";
import { isGradEnabled, randn, type Tensor, tensor } from "@kit/tensor.ts";
import { Dropout, Linear, Module, ReLU, Sequential } from "@kit/nn.ts";
import { crossEntropy, mseLoss } from "@kit/losses.ts";
import { loadCSV, standardize, trainValTestSplit } from "@kit/data.ts";
import { rng } from "@kit/random.ts";
import { Adam, SGD } from "@kit/optim.ts";
import { OneCycleLR, ReduceLROnPlateau, StepLR } from "@kit/schedules.ts";
import { EarlyStopping, l2Penalty, weightNorm } from "@kit/regularizers.ts";
import { evaluate, fit, predict, TrainingDivergedError } from "@kit/train.ts";

// digits: 1797 8x8 images, standardised with training statistics
const digits = (() => {
  const { X, y } = loadCSV("data/digits.csv", { target: "label" });
  const { train, val } = trainValTestSplit(X, y, [0.7, 0.3], rng(0), { stratify: true });
  const s = standardize(train.x, val.x);
  return {
    train: { X: s.transformed[0], y: train.y! },
    val: { X: s.transformed[1], y: val.y! },
  };
})();

function mlp(seed: number, hidden = 32, p = 0) {
  const g = rng(seed);
  return new Sequential(
    new Linear(64, hidden, { rng: g }),
    new ReLU(),
    new Dropout(p, { rng: g }),
    new Linear(hidden, 10, { rng: g }),
  );
}

Deno.test("fit on digits improves validation accuracy (from chance to > 90%)", () => {
  const model = mlp(1);
  const before = evaluate(model, digits.val, crossEntropy);
  assert.ok(before.accuracy! < 0.3, `untrained accuracy ${before.accuracy}`);
  const h = fit(model, {
    ...digits,
    epochs: 8,
    batchSize: 32,
    optimizer: new Adam(model, { lr: 3e-3 }),
    loss: crossEntropy,
    rng: rng(2),
  });
  assert.deepEqual(h.epoch, [0, 1, 2, 3, 4, 5, 6, 7]);
  for (
    const k of ["trainLoss", "valLoss", "trainAcc", "valAcc", "lr", "weightNorm", "timeMs"] as const
  ) {
    assert.equal(h[k].length, 8, k);
    assert.ok(h[k].every(Number.isFinite), `${k} finite`);
  }
  assert.equal(h.stepLoss.length, 8 * Math.ceil(digits.train.X.shape[0] / 32));
  assert.ok(h.valAcc[7] > 0.9, `final validation accuracy ${h.valAcc[7]}`);
  assert.ok(h.valAcc[7] > h.valAcc[0] && h.valLoss[7] < h.valLoss[0]);
  assert.ok(h.trainLoss[7] < h.trainLoss[0]);
  assert.equal(model.training, false, "fit leaves the model in eval mode");
  const after = evaluate(model, digits.val, crossEntropy);
  assertClose(after.accuracy!, h.valAcc[7], { atol: 1e-15, rtol: 0 });
  assertClose(after.loss, h.valLoss[7], { atol: 1e-12, rtol: 0 });
});

Deno.test("a diverging run stops with the NaN error naming the epoch and the step", () => {
  const model = mlp(3);
  let err: unknown;
  try {
    fit(model, {
      ...digits,
      epochs: 5,
      batchSize: 64,
      optimizer: new SGD(model, { lr: 1e4 }),
      loss: crossEntropy,
      rng: rng(0),
    });
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof TrainingDivergedError, `expected TrainingDivergedError, got ${err}`);
  assert.match(
    err.message,
    /^fit: the loss became (NaN|Infinity) at epoch \d+, step \d+ \(batch \d+ of the epoch.*Lower the learning rate \(try 1000\)/,
  );
  assert.ok(err.step >= 1, "the first step is finite: the blow-up comes from the updates");
  assert.equal(err.epoch, Math.floor(err.step / Math.ceil(digits.train.X.shape[0] / 64)));
  assert.match(err.message, new RegExp(`epoch ${err.epoch}, step ${err.step} `));
  const h = err.history!;
  assert.equal(h.trainLoss.length, err.epoch, "the finished epochs are kept");
  assert.equal(h.stepLoss.length, err.step, "one loss per finite step before the blow-up");
  assert.ok(h.stepLoss.every(Number.isFinite));
});

/** A layer that records the mode and grad state of each forward pass. */
class Probe extends Module {
  seen: string[] = [];
  forward(x: Tensor): Tensor {
    this.seen.push(`${this.training ? "train" : "eval"}/${isGradEnabled() ? "grad" : "nograd"}`);
    return x;
  }
}

Deno.test("fit trains in train mode with gradients and evaluates in eval mode without", () => {
  const probe = new Probe();
  const g = rng(0);
  const model = new Sequential(new Linear(64, 10, { rng: g }), probe);
  const small = { X: digits.train.X, y: digits.train.y };
  fit(model, {
    train: small,
    val: digits.val,
    epochs: 1,
    batchSize: 1000,
    optimizer: new SGD(model, { lr: 0.01 }),
    loss: crossEntropy,
    rng: g,
  });
  // 2 training batches (1258 rows / 1000), then 2 validation batches (539 rows / 512)
  assert.deepEqual(probe.seen, ["train/grad", "train/grad", "eval/nograd", "eval/nograd"]);
});

Deno.test("fit with early stopping restores the best epoch's weights", () => {
  const model = mlp(4, 64);
  const snapshots: Record<string, Tensor>[] = [];
  const es = new EarlyStopping({ patience: 2 });
  const h = fit(model, {
    ...digits,
    epochs: 40,
    batchSize: 32,
    optimizer: new Adam(model, { lr: 2e-2 }), // large: the validation loss soon rises
    loss: crossEntropy,
    earlyStopping: es,
    callbacks: { onEpochEnd: (_log, m) => void snapshots.push(m.stateDict()) },
    rng: rng(5),
  });
  assert.ok(h.stoppedEarly, `ran all ${h.epoch.length} epochs`);
  const best = h.valLoss.indexOf(Math.min(...h.valLoss));
  assert.equal(h.bestEpoch, best);
  assert.equal(es.bestEpoch, best);
  assert.equal(h.epoch.length, best + 3, "stopped patience epochs after the best");
  const now = model.stateDict();
  for (const [k, t] of Object.entries(snapshots[best])) {
    assert.deepEqual([...now[k].data], [...t.data], k);
  }
  const again = evaluate(model, digits.val, crossEntropy);
  assertClose(again.loss, h.valLoss[best], { atol: 1e-12, rtol: 0 });
});

Deno.test("schedulers: per-epoch StepLR, per-batch OneCycleLR by default, plateau on val loss", () => {
  const base = { ...digits, batchSize: 256, loss: crossEntropy, rng: rng(0) };
  const m1 = mlp(0);
  const o1 = new SGD(m1, { lr: 0.1 });
  const h1 = fit(m1, {
    ...base,
    epochs: 5,
    optimizer: o1,
    scheduler: new StepLR(o1, { stepSize: 2, gamma: 0.5 }),
  });
  assert.deepEqual(h1.lr, [0.1, 0.1, 0.05, 0.05, 0.025]);

  const m2 = mlp(0);
  const o2 = new SGD(m2, { lr: 0.1, momentum: 0.9 });
  const steps = 3 * Math.ceil(digits.train.X.shape[0] / 256);
  const s2 = new OneCycleLR(o2, { maxLr: 0.5, totalSteps: steps });
  fit(m2, { ...base, epochs: 3, optimizer: o2, scheduler: s2 });
  assert.equal(s2.lastEpoch, steps, "one scheduler step per batch");

  const m3 = mlp(0);
  const o3 = new SGD(m3, { lr: 0.1 });
  const s3 = new ReduceLROnPlateau(o3, { patience: 0, factor: 0.5 });
  const h3 = fit(m3, { ...base, epochs: 4, optimizer: o3, scheduler: s3 });
  assert.equal(s3.lastEpoch, 4);
  assert.equal(s3.best, Math.min(...h3.valLoss), "stepped with the validation loss");
});

Deno.test("clip bounds each update; a penalty shrinks the weights", () => {
  const model = mlp(6);
  const before = model.parameters().map((p) => p.data.slice());
  fit(model, {
    train: digits.train,
    epochs: 1,
    batchSize: 2000, // one step
    optimizer: new SGD(model, { lr: 1 }),
    loss: crossEntropy,
    clip: { maxNorm: 1e-3 },
    rng: rng(0),
  });
  let sq = 0;
  model.parameters().forEach((p, j) => p.data.forEach((v, i) => (sq += (v - before[j][i]) ** 2)));
  assert.ok(Math.sqrt(sq) <= 1e-3 + 1e-12, `update norm ${Math.sqrt(sq)}`);
  assert.ok(Math.sqrt(sq) > 0.9e-3, "the gradient was larger, so the step is exactly maxNorm");

  const run = (lambda: number) => {
    const m = mlp(7);
    const h = fit(m, {
      ...digits,
      epochs: 3,
      batchSize: 64,
      optimizer: new Adam(m, { lr: 1e-2 }),
      loss: crossEntropy,
      penalty: lambda ? (mm) => l2Penalty(mm).mul(lambda / 2) : undefined,
      rng: rng(1),
    });
    return h.weightNorm.at(-1)!;
  };
  assert.ok(run(0.05) < 0.8 * run(0), "L2 penalty gives a smaller weight norm");
});

Deno.test("trainMetrics eval recomputes train loss in eval mode; a callback can stop training", () => {
  const model = mlp(8, 32, 0.5);
  const h = fit(model, {
    ...digits,
    epochs: 10,
    batchSize: 64,
    optimizer: new Adam(model, { lr: 1e-2 }),
    loss: crossEntropy,
    trainMetrics: "eval",
    callbacks: { onEpochEnd: (log) => log.epoch === 2 },
    rng: rng(0),
  });
  assert.equal(h.epoch.length, 3);
  assert.ok(h.stoppedEarly);
  const r = evaluate(model, digits.train, crossEntropy);
  assertClose(r.loss, h.trainLoss[2], { atol: 1e-12, rtol: 0 });
  assertClose(r.accuracy!, h.trainAcc[2], { atol: 1e-15, rtol: 0 });
  assertClose(weightNorm(model), h.weightNorm[2], { atol: 1e-12, rtol: 0 });
});

Deno.test("regression: no accuracies; evaluate and predict do not depend on the batch size", () => {
  const g = rng(3);
  const X = randn([50, 3], g);
  const y = X.matmul(tensor([[1], [-2], [0.5]]));
  const model = new Linear(3, 1, { rng: g });
  const h = fit(model, {
    train: { X, y },
    val: { X, y },
    epochs: 30,
    batchSize: 10,
    optimizer: new SGD(model, { lr: 0.05 }),
    loss: mseLoss,
    rng: g,
  });
  assert.deepEqual([h.valAcc.length, h.trainAcc.length, h.valLoss.length], [0, 0, 30]);
  assert.ok(h.valLoss[29] < 0.01 * h.valLoss[0]);
  const a = predict(model, X, { batchSize: 7 }), b = predict(model, X);
  assert.deepEqual(a.shape, [50, 1]);
  assert.deepEqual([...a.data], [...b.data]);
  const e7 = evaluate(model, { X, y }, mseLoss, { batchSize: 7 }).loss;
  const full = mseLoss(b, y).item();
  assertClose(e7, full, { atol: 1e-12, rtol: 0 });
  assert.equal(evaluate(model, { X, y }, mseLoss).accuracy, undefined);
});

Deno.test("fit option errors and value clipping", () => {
  const model = mlp(9);
  const opt = new SGD(model, { lr: 0.1 });
  const base = {
    train: digits.train,
    epochs: 1,
    batchSize: 64,
    optimizer: opt,
    loss: crossEntropy,
    rng: rng(0),
  };
  assert.throws(
    () => fit(model, { ...base, earlyStopping: new EarlyStopping({ patience: 1 }) }),
    /earlyStopping needs validation data/,
  );
  assert.throws(
    () => fit(model, { ...base, scheduler: new ReduceLROnPlateau(opt), schedulerStep: "batch" }),
    /ReduceLROnPlateau steps once per epoch/,
  );
  // schedulerStep without a scheduler: the rate stays as set
  const noSched = fit(model, { ...base, schedulerStep: "batch" });
  assert.deepEqual(noSched.lr, [0.1]);
  // clip by value: every gradient entry seen by the optimizer is within [-1e-4, 1e-4]
  let maxAbs = 0;
  fit(model, {
    ...base,
    clip: { value: 1e-4 },
    callbacks: {
      onStepEnd: (_info, m) => {
        for (const p of m.parameters()) {
          for (const g of p.grad!.data) maxAbs = Math.max(maxAbs, Math.abs(g));
        }
      },
    },
  });
  assert.ok(maxAbs > 0 && maxAbs <= 1e-4, `max |grad| ${maxAbs}`);
});
