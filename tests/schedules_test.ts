// Learning-rate schedules: each sequence against its formula written out here, and against
// PyTorch's recursive (chainable) forms where PyTorch computes them that way.
import assert from "node:assert/strict";
import { assertNear } from "./_util.ts";
import { tensor } from "@kit/tensor.ts";
import { Adagrad, Adam, SGD } from "@kit/optim.ts";
import {
  CosineAnnealingLR,
  CyclicLR,
  ExponentialLR,
  LambdaLR,
  lrSequence,
  MultiStepLR,
  OneCycleLR,
  PiecewiseConstantLR,
  PolynomialLR,
  PowerLR,
  ReduceLROnPlateau,
  StepLR,
} from "@kit/schedules.ts";

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const sgd = (lr = 0.1, momentum = 0) => new SGD([tensor([0])], { lr, momentum });

Deno.test("StepLR: lr0 gamma^floor(t / stepSize), written into the optimizer", () => {
  const opt = sgd(0.5);
  const s = new StepLR(opt, { stepSize: 3 });
  const seen: number[] = [];
  for (let t = 0; t < 8; t++) {
    seen.push(opt.paramGroups[0].lr);
    assert.equal(s.getLastLr()[0], opt.paramGroups[0].lr);
    s.step();
  }
  assertNear(seen, [0.5, 0.5, 0.5, 0.05, 0.05, 0.05, 0.005, 0.005]);
  assert.equal(opt.paramGroups[0].initialLr, 0.5);
  assert.equal(s.lastEpoch, 8);
});

Deno.test("schedules scale each parameter group's own lr", () => {
  const opt = new SGD([{ params: [tensor([0])] }, { params: [tensor([0])], lr: 1 }], { lr: 0.1 });
  const s = new ExponentialLR(opt, { gamma: 0.5 });
  s.step();
  s.step();
  assertNear(s.getLastLr(), [0.025, 0.25]);
});

Deno.test("MultiStepLR and LambdaLR", () => {
  assertNear(
    lrSequence((o) => new MultiStepLR(o, { milestones: [4, 2] }), 6, { lr: 1 }),
    [1, 1, 0.1, 0.1, 0.01, 0.01],
  );
  assertNear(
    lrSequence((o) => new LambdaLR(o, { lrLambda: (t) => 0.9 ** t }), 4, { lr: 2 }),
    [2, 1.8, 1.62, 1.458],
  );
});

Deno.test("ExponentialLR: lr0 gamma^t; the lecture's 0.1^(t/s) is gamma = 0.1^(1/s)", () => {
  const lr0 = 0.01, s = 20;
  const got = lrSequence((o) => new ExponentialLR(o, { gamma: 0.1 ** (1 / s) }), 61, { lr: lr0 });
  assertNear(got, range(61).map((t) => lr0 * 0.1 ** (t / s)), 1e-12);
  assertNear([got[20], got[40], got[60]], [0.001, 0.0001, 0.00001], 1e-12);
});

Deno.test("CosineAnnealingLR closed form equals PyTorch's recursive form, over 3 periods", () => {
  const base = 0.1, etaMin = 0.001, T = 7;
  const got = lrSequence((o) => new CosineAnnealingLR(o, { tMax: T, etaMin }), 3 * T, { lr: base });
  // PyTorch CosineAnnealingLR.get_lr(), chainable branch by branch
  const rec: number[] = [base];
  for (let t = 1; t < 3 * T; t++) {
    const prev = rec[t - 1];
    if ((t - 1 - T) % (2 * T) === 0) {
      rec.push(prev + (base - etaMin) * (1 - Math.cos(Math.PI / T)) / 2);
    } else {
      rec.push(
        (1 + Math.cos(Math.PI * t / T)) / (1 + Math.cos(Math.PI * (t - 1) / T)) * (prev - etaMin) +
          etaMin,
      );
    }
  }
  assertNear(got, rec, 1e-12);
  assertNear([got[T]], [etaMin], 1e-15, "minimum at tMax");
  assertNear([got[2 * T]], [base], 1e-12, "back at lr0 after 2 tMax");
});

Deno.test("CyclicLR triangular / triangular2 / exp_range against the formula", () => {
  const baseLr = 0.1, maxLr = 1.1, up = 2, down = 3;
  const tri = lrSequence(
    (o) =>
      new CyclicLR(o, { baseLr, maxLr, stepSizeUp: up, stepSizeDown: down, cycleMomentum: false }),
    11,
  );
  assertNear(tri, [
    0.1,
    0.6,
    1.1,
    1.1 - 1 / 3,
    0.1 + 1 / 3,
    0.1,
    0.6,
    1.1,
    1.1 - 1 / 3,
    0.1 + 1 / 3,
    0.1,
  ]);
  const tri2 = lrSequence(
    (o) =>
      new CyclicLR(o, {
        baseLr,
        maxLr,
        stepSizeUp: up,
        stepSizeDown: down,
        mode: "triangular2",
        cycleMomentum: false,
      }),
    13,
  );
  assertNear(tri2.slice(5, 13), [0.1, 0.35, 0.6, 0.6 - 0.5 / 3, 0.1 + 0.5 / 3, 0.1, 0.225, 0.35]);
  const gamma = 0.9;
  const exp = lrSequence(
    (o) =>
      new CyclicLR(o, {
        baseLr,
        maxLr,
        stepSizeUp: up,
        mode: "exp_range",
        gamma,
        cycleMomentum: false,
      }),
    9,
  );
  const expected = range(9).map((t) => {
    const cycle = Math.floor(1 + t / 4), x = 1 + t / 4 - cycle;
    const s = x <= 0.5 ? x / 0.5 : (x - 1) / (0.5 - 1);
    return baseLr + (maxLr - baseLr) * s * gamma ** t;
  });
  assertNear(exp, expected);
  assertNear([exp[2]], [0.1 + 1 * 0.81], 1e-14, "peak damped by gamma^2");
});

Deno.test("CyclicLR cycles SGD momentum inversely (PyTorch default) and sets lr to baseLr", () => {
  const opt = sgd(5, 0);
  const s = new CyclicLR(opt, { baseLr: 0.1, maxLr: 1, stepSizeUp: 2 });
  assert.equal(opt.paramGroups[0].lr, 0.1);
  const ms: number[] = [];
  for (let t = 0; t < 5; t++) {
    ms.push(opt.paramGroups[0].momentum);
    s.step();
  }
  assertNear(ms, [0.9, 0.85, 0.8, 0.85, 0.9]);
  assert.throws(
    () => new CyclicLR(new Adagrad([tensor([0])]), { baseLr: 0.1, maxLr: 1 }),
    /cycleMomentum: false/,
  );
});

/** PyTorch's OneCycleLR written out: phases, end steps and cosine/linear annealing. */
function oneCycleByHand(
  t: number,
  { maxLr = 0.1, N = 100, pct = 0.3, div = 25, finalDiv = 1e4, cos = true, three = false } = {},
) {
  const init = maxLr / div, min = init / finalDiv;
  const ann = (a: number, b: number, p: number) =>
    cos ? b + (a - b) / 2 * (Math.cos(Math.PI * p) + 1) : (b - a) * p + a;
  const e1 = pct * N - 1;
  if (!three) {
    return t <= e1 ? ann(init, maxLr, t / e1) : ann(maxLr, min, (t - e1) / (N - 1 - e1));
  }
  const e2 = 2 * pct * N - 2;
  if (t <= e1) return ann(init, maxLr, t / e1);
  if (t <= e2) return ann(maxLr, init, (t - e1) / (e2 - e1));
  return ann(init, min, (t - e2) / (N - 1 - e2));
}

Deno.test("OneCycleLR defaults: PyTorch's sequence for maxLr 0.1, 100 steps", () => {
  const got = lrSequence((o) => new OneCycleLR(o, { maxLr: 0.1, totalSteps: 100 }), 100);
  assertNear(got, range(100).map((t) => oneCycleByHand(t)), 1e-14);
  // known values: starts at maxLr/25, peaks at step 29, ends at maxLr/25/1e4
  assertNear([got[0], got[29], got[99]], [0.004, 0.1, 4e-7], 1e-14);
  // first steps of torch.optim.lr_scheduler.OneCycleLR(SGD(lr), max_lr=0.1, total_steps=100)
  assertNear(got.slice(1, 3), [
    0.004 + 0.048 * (1 - Math.cos(Math.PI / 29)),
    0.004 + 0.048 * (1 - Math.cos(2 * Math.PI / 29)),
  ]);
  assert.ok(got.slice(0, 30).every((v, i) => i === 0 || v > got[i - 1]), "rises for 30 steps");
  assert.ok(got.slice(29).every((v, i) => i === 0 || v < got[28 + i]), "then falls");
});

Deno.test("OneCycleLR linear and three-phase variants; momentum cycles 0.95 -> 0.85 -> 0.95", () => {
  const lin = lrSequence(
    (o) =>
      new OneCycleLR(o, { maxLr: 1, totalSteps: 20, annealStrategy: "linear", pctStart: 0.25 }),
    20,
  );
  assertNear(
    lin,
    range(20).map((t) => oneCycleByHand(t, { maxLr: 1, N: 20, pct: 0.25, cos: false })),
  );
  const three = lrSequence(
    (o) => new OneCycleLR(o, { maxLr: 1, totalSteps: 20, threePhase: true }),
    20,
  );
  assertNear(three, range(20).map((t) => oneCycleByHand(t, { maxLr: 1, N: 20, three: true })));
  assertNear([three[10]], [1 / 25], 1e-14, "back at the initial rate at 2 pct N - 2");

  const p = tensor([0]);
  const opt = new Adam([p], { lr: 1 });
  const s = new OneCycleLR(opt, { maxLr: 0.01, epochs: 2, stepsPerEpoch: 5 });
  const b1: number[] = [];
  for (let t = 0; t < 10; t++) {
    b1.push(opt.paramGroups[0].betas[0]);
    assert.equal(opt.paramGroups[0].betas[1], 0.999);
    s.step();
  }
  assertNear([b1[0], b1[2], b1[9]], [0.95, 0.85, 0.95]);
  assert.throws(
    () => s.step(),
    /tried to step 11 times; the specified number of total steps is 10/,
  );
});

Deno.test("PowerLR: the lecture's lr0 / (1 + t/s)^c", () => {
  const lr0 = 0.01, s = 5, c = 2;
  assertNear(
    lrSequence((o) => new PowerLR(o, { s, c }), 30, { lr: lr0 }),
    range(30).map((t) => lr0 / (1 + t / s) ** c),
    1e-14,
  );
});

Deno.test("PolynomialLR: PyTorch's lr0 (1 - min(t, T)/T)^power, values written out", () => {
  // torch.optim.lr_scheduler.PolynomialLR(opt, total_iters=4, power=1.0) with lr 0.001 (its docstring)
  assertNear(
    lrSequence((o) => new PolynomialLR(o, { totalIters: 4 }), 7, { lr: 0.001 }),
    [0.001, 0.00075, 0.0005, 0.00025, 0, 0, 0],
  );
  // power 2, total_iters 4, lr 1: (1 - t/4)^2 = 1, 9/16, 1/4, 1/16, 0
  assertNear(
    lrSequence((o) => new PolynomialLR(o, { totalIters: 4, power: 2 }), 6, { lr: 1 }),
    [1, 0.5625, 0.25, 0.0625, 0, 0],
  );
  // PyTorch's defaults: total_iters 5, power 1
  assertNear(lrSequence((o) => new PolynomialLR(o), 6, { lr: 0.5 }), [0.5, 0.4, 0.3, 0.2, 0.1, 0]);
  // PyTorch's recursive (chainable) form, lr_t = lr_{t-1} ((1 - t/T) / (1 - (t-1)/T))^p for
  // 1 <= t <= T, gives the same sequence
  const T = 7, p = 0.9, lr0 = 0.3;
  const rec = [lr0];
  for (let t = 1; t <= T; t++) rec.push(rec[t - 1] * ((1 - t / T) / (1 - (t - 1) / T)) ** p);
  assertNear(
    lrSequence((o) => new PolynomialLR(o, { totalIters: T, power: p }), T + 1, { lr: lr0 }),
    rec,
  );
  assert.throws(
    () => new PolynomialLR(sgd(), { totalIters: 0 }),
    /totalIters must be a positive integer/,
  );
  assert.throws(() => new PolynomialLR(sgd(), { power: 0 }), /power must be > 0/);
});

Deno.test("PiecewiseConstantLR reproduces the lecture's piecewise_constant_fn", () => {
  const fn = (epoch: number) => (epoch < 5 ? 0.01 : epoch < 15 ? 0.005 : 0.001);
  const got = lrSequence(
    (o) => new PiecewiseConstantLR(o, { boundaries: [5, 15], values: [0.01, 0.005, 0.001] }),
    25,
  );
  assert.deepEqual(got, range(25).map(fn));
  assert.throws(
    () => new PiecewiseConstantLR(sgd(), { boundaries: [5], values: [1] }),
    /one more value than boundaries/,
  );
});

Deno.test("ReduceLROnPlateau: patience, cooldown and relative threshold, step by step", () => {
  const metrics = [10, 9, 9, 9, 9, 9, 9, 8, 8, 8, 8];
  const opt = sgd(1);
  const s = new ReduceLROnPlateau(opt, { factor: 0.5, patience: 2, cooldown: 1 });
  const lrs = metrics.map((m) => {
    s.step(m);
    return s.getLastLr()[0];
  });
  // e5: three bad epochs (> patience 2) -> 0.5, then cooldown absorbs e6; e8 improves; e11 -> 0.25
  assert.deepEqual(lrs, [1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.25]);
});

Deno.test("ReduceLROnPlateau thresholds (rel/abs), max mode and minLr", () => {
  // rel: 8.9995 is not better than 9 * (1 - 1e-4) = 8.9991
  const a = new ReduceLROnPlateau(sgd(1), { patience: 0 });
  a.step(9);
  a.step(8.9995);
  assert.equal(a.getLastLr()[0], 0.1);
  // abs with threshold 0.1: 8.95 does not count, 8.85 does
  const b = new ReduceLROnPlateau(sgd(1), { patience: 0, thresholdMode: "abs", threshold: 0.1 });
  b.step(9);
  b.step(8.85);
  assert.equal(b.getLastLr()[0], 1);
  b.step(8.8);
  assert.equal(b.getLastLr()[0], 0.1);
  // max mode: rising accuracy is progress; minLr bounds the decay
  const c = new ReduceLROnPlateau(sgd(1), { mode: "max", patience: 0, minLr: 0.05 });
  for (const acc of [0.5, 0.6, 0.7]) c.step(acc);
  assert.equal(c.getLastLr()[0], 1);
  for (const acc of [0.6, 0.6, 0.6]) c.step(acc);
  assert.equal(c.getLastLr()[0], 0.05);
  assert.equal(c.best, 0.7);
  assert.throws(() => new ReduceLROnPlateau(sgd(), { factor: 1 }), /factor should be < 1.0/);
  // lrSequence drives it with a metric sequence
  assert.deepEqual(
    lrSequence((o) => new ReduceLROnPlateau(o, { patience: 0, factor: 0.5 }), 4, {
      metrics: [3, 4, 4, 2],
    }),
    [1, 1, 0.5, 0.25],
  );
});
