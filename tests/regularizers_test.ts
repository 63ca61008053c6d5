import assert from "node:assert/strict";
import { noGrad, randn, Tensor, tensor } from "@kit/tensor.ts";
import { BatchNorm1d, Linear, ReLU, Sequential } from "@kit/nn.ts";
import { mseLoss } from "@kit/losses.ts";
import { rng } from "@kit/random.ts";
import { SGD } from "@kit/optim.ts";
import { assertClose } from "@kit/check.ts";
import {
  AveragedModel,
  decayGroups,
  EarlyStopping,
  EMA,
  l1Penalty,
  l2Penalty,
  maxNormConstraint,
  penalizedParameters,
  proxL1,
  updateBn,
  weightDecayFromL2,
  weightNorm,
} from "@kit/regularizers.ts";

const sum = (a: ArrayLike<number>, f: (x: number) => number) =>
  Array.from(a).reduce((s, x) => s + f(x), 0);

function net(seed = 0) {
  const g = rng(seed);
  return new Sequential(
    new Linear(3, 4, { rng: g }),
    new BatchNorm1d(4),
    new ReLU(),
    new Linear(4, 2, { rng: g }),
  );
}

Deno.test("l1Penalty / l2Penalty sum over weights only; biases and BN scales excluded by default", () => {
  const m = net();
  const w0 = (m.at(0) as Linear).weight, w3 = (m.at(3) as Linear).weight;
  assert.deepEqual(penalizedParameters(m), [w0, w3]);
  const l1 = sum(w0.data, Math.abs) + sum(w3.data, Math.abs);
  const l2 = sum(w0.data, (x) => x * x) + sum(w3.data, (x) => x * x);
  assertClose(l1Penalty(m).item(), l1, { atol: 1e-12, rtol: 0 });
  assertClose(l2Penalty(m).item(), l2, { atol: 1e-12, rtol: 0 });
  assertClose(weightNorm(m), Math.sqrt(l2), { atol: 1e-12, rtol: 0 });
  const all = m.parameters();
  assert.equal(penalizedParameters(m, { includeBias: true }).length, all.length);
  const l2All = all.reduce((s, p) => s + sum(p.data, (x) => x * x), 0);
  assertClose(l2Penalty(m, { includeBias: true }).item(), l2All, { atol: 1e-12, rtol: 0 });
  // an explicit list is penalised in full, 1-D tensors included
  const v = tensor([3, -4]);
  assert.equal(l2Penalty([v]).item(), 25);
  assert.equal(l1Penalty(v).item(), 7);
  assert.equal(l2Penalty([]).item(), 0);
});

Deno.test("penalty gradients: d/dw sum w^2 = 2w, d/dw sum |w| = sign(w)", () => {
  const w = tensor([[1.5, -2], [0, 0.25]], { requiresGrad: true });
  l2Penalty([w]).backward();
  assert.deepEqual([...w.grad!.data], [3, -4, 0, 0.5]);
  w.grad = null;
  l1Penalty([w]).backward();
  assert.deepEqual([...w.grad!.data], [1, -1, 0, 1]);
});

Deno.test("one SGD step on loss + (lambda/2) l2Penalty equals SGD weightDecay lambda (machine precision)", () => {
  const lambda = 0.05, lr = 0.1;
  const X = randn([8, 3], rng(1)), y = randn([8, 2], rng(2));
  const model = () =>
    new Sequential(
      new Linear(3, 4, { rng: rng(7) }),
      new ReLU(),
      new Linear(4, 2, { rng: rng(8) }),
    );
  // (a) explicit penalty on every parameter
  const a = model();
  const optA = new SGD(a, { lr });
  mseLoss(a.call(X), y).add(l2Penalty(a, { includeBias: true }).mul(lambda / 2)).backward();
  optA.step();
  // (b) weight decay in the optimizer
  const b = model();
  const optB = new SGD(b, { lr, weightDecay: lambda });
  mseLoss(b.call(X), y).backward();
  optB.step();
  // (c) biases exempt: default penalty against decayGroups
  const c = model();
  const optC = new SGD(c, { lr });
  mseLoss(c.call(X), y).add(l2Penalty(c).mul(lambda / 2)).backward();
  optC.step();
  const d = model();
  const optD = new SGD(decayGroups(d, lambda), { lr });
  mseLoss(d.call(X), y).backward();
  optD.step();
  const pa = a.parameters(), pb = b.parameters(), pc = c.parameters(), pd = d.parameters();
  for (let k = 0; k < pa.length; k++) {
    for (let i = 0; i < pa[k].data.length; i++) {
      assertClose(pa[k].data[i], pb[k].data[i], {
        atol: 1e-15,
        rtol: 0,
        msg: `param ${k}[${i}] a vs b`,
      });
      assertClose(pc[k].data[i], pd[k].data[i], {
        atol: 1e-15,
        rtol: 0,
        msg: `param ${k}[${i}] c vs d`,
      });
    }
  }
  assert.equal(optD.paramGroups.length, 2);
  assert.equal(weightDecayFromL2(lambda), 2 * lambda);
  assert.equal(weightDecayFromL2(lambda, "half"), lambda);
});

Deno.test("proxL1: soft thresholding gives exact zeros, in place, on arrays, tensors and modules", () => {
  const w = Float64Array.from([0.3, -0.3, 0.1, -0.05, 0, 2]);
  assert.equal(proxL1(w, 0.1), 3);
  const expected = [0.2, -0.2, 0, 0, 0, 1.9];
  expected.forEach((e, i) => assert.ok(Math.abs(w[i] - e) < 1e-15 && (e !== 0 || w[i] === 0)));
  const t = tensor([[1, -1], [0.5, -0.5]]);
  assert.equal(proxL1([t], 0.5), 2);
  assert.deepEqual([...t.data], [0.5, -0.5, 0, 0]);
  const lin = new Linear(2, 2, { rng: rng(3) });
  const bias = lin.bias!.data.slice();
  assert.equal(proxL1(lin, 10), 4, "all 4 weights zeroed by a huge threshold");
  assert.deepEqual([...lin.bias!.data], [...bias], "bias untouched");
  assert.throws(() => proxL1(w, -1), /threshold must be >= 0/);
});

Deno.test("ISTA with proxL1 finds a sparse solution where the L2 path has no zeros", () => {
  // least squares with a design where only 2 of 6 features matter
  const X = randn([40, 6], rng(4));
  const trueW = [2, 0, 0, -1.5, 0, 0];
  const yArr = Array.from(
    { length: 40 },
    (_, i) => sum(trueW.map((w, j) => w * X.data[i * 6 + j]), (x) => x),
  );
  const y = tensor(yArr);
  const w = new Tensor(new Float64Array(6), [6], { requiresGrad: true });
  const lr = 0.05, lambda = 0.3;
  for (let it = 0; it < 500; it++) {
    w.grad = null;
    mseLoss(X.matmul(w), y).backward();
    noGrad(() => {
      for (let j = 0; j < 6; j++) w.data[j] -= lr * w.grad!.data[j];
    });
    proxL1(w, lr * lambda);
  }
  const zeros = [...w.data].filter((x) => x === 0).length;
  assert.ok(zeros >= 3, `expected exact zeros on the irrelevant features, got ${[...w.data]}`);
  assert.ok(w.data[0] > 1 && w.data[3] < -0.8);
});

Deno.test("maxNormConstraint renormalises rows (incoming weights) like torch.renorm", () => {
  const w = tensor([[3, 4], [0.6, 0.8], [0, 10]]);
  assert.equal(maxNormConstraint(w, 2), 2);
  const c1 = 2 / (5 + 1e-7), c3 = 2 / (10 + 1e-7);
  const exp = [3 * c1, 4 * c1, 0.6, 0.8, 0, 10 * c3];
  exp.forEach((e, i) => assert.ok(Math.abs(w.data[i] - e) < 1e-15, `entry ${i}`));
  // dim 1: columns
  const v = tensor([[3, 1], [4, 0]]);
  assert.equal(maxNormConstraint(v, 1, { dim: 1 }), 1);
  assertClose(Math.hypot(v.data[0], v.data[2]), 1, { atol: 1e-6, rtol: 0 });
  assert.deepEqual([v.data[1], v.data[3]], [1, 0]);
  // a module: every weight matrix, biases untouched
  const m = new Sequential(new Linear(5, 4, { rng: rng(0) }), new Linear(4, 3, { rng: rng(1) }));
  for (const p of m.parameters()) p.data.forEach((_, i) => (p.data[i] *= 10));
  const biases = [(m.at(0) as Linear).bias!.data.slice(), (m.at(1) as Linear).bias!.data.slice()];
  maxNormConstraint(m, 0.5);
  for (const k of [0, 1]) {
    const lin = m.at(k) as Linear;
    const [out, inp] = lin.weight.shape;
    for (let r = 0; r < out; r++) {
      const norm = Math.hypot(...lin.weight.data.slice(r * inp, (r + 1) * inp));
      assert.ok(norm <= 0.5 + 1e-12, `layer ${k} row ${r} norm ${norm}`);
    }
    assert.deepEqual([...lin.bias!.data], [...biases[k]]);
  }
});

Deno.test("EarlyStopping follows the pseudo-code and restores the best weights", () => {
  const model = new Linear(2, 1, { rng: rng(0) });
  const es = new EarlyStopping({ patience: 3 });
  const losses = [1.0, 0.7, 0.75, 0.6, 0.65, 0.61, 0.62, 0.5];
  const snapshots: number[][] = [];
  let stoppedAt = -1;
  for (let epoch = 0; epoch < losses.length; epoch++) {
    // "train": change every weight
    for (const p of model.parameters()) p.data.forEach((_, i) => (p.data[i] += epoch + 1));
    snapshots.push(model.parameters().flatMap((p) => [...p.data]));
    if (es.step(losses[epoch], model)) {
      stoppedAt = epoch;
      break;
    }
  }
  assert.equal(stoppedAt, 6, "three epochs without improvement after epoch 3");
  assert.equal(es.bestEpoch, 3);
  assert.equal(es.bestScore, 0.6);
  assert.equal(es.counter, 3);
  assert.equal(es.stoppedEpoch, 6);
  es.restore(model);
  assert.deepEqual(model.parameters().flatMap((p) => [...p.data]), snapshots[3]);
});

Deno.test("EarlyStopping minDelta, max mode, patience 0 and restoreBest false", () => {
  const m = new Linear(1, 1, { rng: rng(0) });
  const a = new EarlyStopping({ patience: 2, minDelta: 0.1 });
  assert.equal(a.step(1, m), false);
  assert.equal(a.step(0.95, m), false); // not better by more than 0.1
  assert.equal(a.step(0.85, m), false); // 0.85 < 1 - 0.1: improvement
  assert.equal(a.bestEpoch, 2);
  const b = new EarlyStopping({ patience: 1, mode: "max" });
  assert.equal(b.step(0.5, m), false);
  assert.equal(b.step(0.6, m), false);
  assert.equal(b.step(0.6, m), true);
  const c = new EarlyStopping({ patience: 0, restoreBest: false });
  c.step(1, m);
  assert.equal(c.step(2, m), true);
  assert.throws(() => c.restore(m), /restoreBest: false/);
  assert.throws(() => new EarlyStopping({ patience: 1.5 }), /patience must be an integer/);
});

Deno.test("AveragedModel: equal average of the snapshots, written into a model", () => {
  const model = new Linear(3, 2, { rng: rng(0) });
  const swa = new AveragedModel(model);
  const snaps: Float64Array[][] = [];
  const g = rng(5);
  for (let k = 0; k < 4; k++) {
    for (const p of model.parameters()) p.data.forEach((_, i) => (p.data[i] = g.normal()));
    snaps.push(model.parameters().map((p) => p.data.slice()));
    swa.updateParameters(model);
  }
  assert.equal(swa.nAveraged, 4);
  const target = new Linear(3, 2, { rng: rng(9) });
  swa.applyTo(target);
  target.parameters().forEach((p, j) => {
    for (let i = 0; i < p.data.length; i++) {
      const mean = (snaps[0][j][i] + snaps[1][j][i] + snaps[2][j][i] + snaps[3][j][i]) / 4;
      assertClose(p.data[i], mean, { atol: 1e-15, rtol: 0, msg: `param ${j}[${i}]` });
    }
  });
  assert.throws(() => swa.applyTo(new Linear(2, 2, { rng: rng(0) })), /same architecture/);
});

// PyTorch (torch/optim/swa_utils.py, checked with torch 1.13): AveragedModel deep-copies the module
// at construction and, with use_buffers=False, update_parameters only touches the parameters, so
// swa_model's BatchNorm running statistics stay at their construction values (0, 1, 0) until
// update_bn.
Deno.test("AveragedModel keeps the buffers from construction, as PyTorch's deep copy does", () => {
  const m = net(3);
  const bn = m.at(1) as BatchNorm1d;
  const swa = new AveragedModel(m);
  const x = tensor([[1, 2, 0], [3, -1, 1], [0, 5, 2]]);
  for (let k = 0; k < 3; k++) {
    m.train();
    m.call(x); // training mode: the running statistics move
    swa.updateParameters(m);
  }
  const trainedMean = Array.from(bn.runningMean!.data);
  assert.ok(trainedMean.some((v) => v !== 0), "the model's running mean moved");
  const target = net(7);
  swa.applyTo(target);
  assert.deepEqual(Array.from((target.at(1) as BatchNorm1d).runningMean!.data), [0, 0, 0, 0]);
  // the default leaves the target's buffers alone; { buffers: true } writes the construction ones
  m.loadStateDict(m.stateDict());
  swa.applyTo(m);
  assert.deepEqual(Array.from(bn.runningMean!.data), trainedMean);
  swa.applyTo(m, { buffers: true });
  assert.deepEqual(Array.from(bn.runningMean!.data), [0, 0, 0, 0]);
  assert.deepEqual(Array.from(bn.runningVar!.data), [1, 1, 1, 1]);
  assert.equal(bn.numBatchesTracked!.data[0], 0);
});

// PyTorch: AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay)).update_parameters
// copies the parameters when n_averaged == 0, else torch._foreach_lerp_(ema, current, 1 - decay).
// The values below are that definition worked out by hand for the weights w = 4, 8, 2 (bias 1, 3,
// 5) with decay 0.5 (exact in binary floating point) after construction at w = 0, bias = 10.
function emaRun(ema: EMA, model: Linear): number[][] {
  const seen: number[][] = [];
  for (const [w, b] of [[4, 1], [8, 3], [2, 5]]) {
    model.weight.data[0] = w;
    model.bias!.data[0] = b;
    ema.update();
    seen.push([ema.shadow.get("weight")!.data[0], ema.shadow.get("bias")!.data[0]]);
  }
  return seen;
}

function emaModel(): Linear {
  const model = new Linear(1, 1, { rng: rng(0) });
  model.weight.data[0] = 0;
  model.bias!.data[0] = 10;
  return model;
}

Deno.test("EMA as PyTorch's EMA AveragedModel: the first update copies, later ones blend", () => {
  const model = emaModel();
  const ema = new EMA(model, 0.5);
  assert.equal(ema.start, "firstUpdate");
  // before any update: the weights at construction (PyTorch's deepcopy)
  assert.deepEqual([ema.shadow.get("weight")!.data[0], ema.shadow.get("bias")!.data[0]], [0, 10]);
  // weight: 4 (copy), 0.5*4 + 0.5*8 = 6, 0.5*6 + 0.5*2 = 4; bias: 1, 2, 3.5
  assert.deepEqual(emaRun(ema, model), [[4, 1], [6, 2], [4, 3.5]]);
  assert.equal(ema.numUpdates, 3);
  ema.applyTo();
  assert.deepEqual([model.weight.data[0], model.bias!.data[0]], [4, 3.5]);
});

Deno.test("EMA with start 'construction' blends from the weights at construction", () => {
  const model = emaModel();
  const ema = new EMA(model, 0.5, { start: "construction" });
  // weight: 0.5*0 + 0.5*4 = 2, 0.5*2 + 0.5*8 = 5, 0.5*5 + 0.5*2 = 3.5; bias: 5.5, 4.25, 4.625
  assert.deepEqual(emaRun(ema, model), [[2, 5.5], [5, 4.25], [3.5, 4.625]]);
});

Deno.test("EMA with decay 0.9: second update 0.9 * first + 0.1 * second (PyTorch's lerp)", () => {
  const model = emaModel();
  const ema = new EMA(model, 0.9);
  const seen = emaRun(ema, model);
  // 4, then lerp(4, 8, 0.1) = 4 + 0.1 * 4 = 4.4, then lerp(4.4, 2, 0.1) = 4.4 - 0.24 = 4.16
  assertClose(seen.map(([w]) => w), [4, 4.4, 4.16], { rtol: 1e-15, atol: 0 });
  assert.throws(() => new EMA(model, 1.5), /decay must be in \[0, 1\]/);
  assert.throws(() => ema.update(new Linear(2, 1, { rng: rng(0) })), /not in the average/);
});

Deno.test("updateBn recomputes running stats as the cumulative average over the data", () => {
  const model = new Sequential(
    new Linear(2, 3, { rng: rng(0) }),
    new BatchNorm1d(3, { momentum: 0.1 }),
  );
  model.eval();
  const X = randn([12, 2], rng(1));
  updateBn(X, model, { batchSize: 4 });
  const bn = model.at(1) as BatchNorm1d;
  const h = noGrad(() => (model.at(0) as Linear).call(X));
  for (let c = 0; c < 3; c++) {
    let mean = 0;
    for (let i = 0; i < 12; i++) mean += h.data[i * 3 + c] / 12;
    assertClose(bn.runningMean!.data[c], mean, { atol: 1e-12, rtol: 0, msg: `running mean ${c}` });
  }
  assert.equal(bn.numBatchesTracked!.data[0], 3);
  assert.equal(bn.momentum, 0.1, "momentum restored");
  assert.equal(model.training, false, "mode restored");
  // also from batches {x, y}
  updateBn([{ x: X }], model);
  assert.equal(bn.numBatchesTracked!.data[0], 1);
});
