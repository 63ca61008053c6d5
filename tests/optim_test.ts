// Optimizer conformance: after a fixed sequence of gradients, each optimizer's parameters and
// state equal its update rule written out by hand here (PyTorch's rules, see lib/optim.ts).
import assert from "node:assert/strict";
import { assertClose } from "@kit/check.ts";
import { assertNear } from "./_util.ts";
import { Tensor, tensor } from "@kit/tensor.ts";
import { Adagrad, Adam, AdamW, clipGradNorm, clipGradValue, RMSprop, SGD } from "@kit/optim.ts";

const P0 = [1.0, -2.0];
// Fixed gradient sequence (4 steps, 2 coordinates). Includes a sign flip and a large-then-small
// pair so AMSGrad's max(v) matters.
const G = [[0.5, -1.0], [3.0, 2.0], [-0.2, 0.1], [0.05, 1.0]];

/** Runs `steps` steps of `opt` on a fresh parameter fed the gradients G. */
function run<O extends { step(): void }>(make: (p: Tensor) => O, steps = G.length) {
  const p = tensor(P0, { requiresGrad: true });
  const opt = make(p);
  for (let t = 0; t < steps; t++) {
    p.grad = tensor(G[t]);
    opt.step();
  }
  return { p, opt };
}

Deno.test("SGD plain with weight decay: p <- p - lr (g + wd p)", () => {
  const lr = 0.1, wd = 0.01;
  const { p } = run((p) => new SGD([p], { lr, weightDecay: wd }));
  for (let i = 0; i < 2; i++) {
    let w = P0[i];
    for (const g of G) w = w - lr * (g[i] + wd * w);
    assertNear([p.data[i]], [w], 1e-15, "sgd+wd");
  }
});

Deno.test("SGD weightDecay equals one SGD step on the loss plus (wd/2)||w||^2 (the 1 - lr wd factor)", () => {
  const lr = 0.1, wd = 0.2;
  const { p } = run((p) => new SGD([p], { lr, weightDecay: wd }), 1);
  // (1 - lr wd) w - lr g
  assertNear(p.data, [(1 - lr * wd) * P0[0] - lr * G[0][0], (1 - lr * wd) * P0[1] - lr * G[0][1]]);
});

Deno.test("SGD momentum with dampening: buffer starts at the first gradient, undamped", () => {
  const lr = 0.05, mu = 0.9, tau = 0.3, wd = 0.1;
  const { p, opt } = run((p) =>
    new SGD([p], { lr, momentum: mu, dampening: tau, weightDecay: wd })
  );
  for (let i = 0; i < 2; i++) {
    let w = P0[i];
    // t = 1: b = g1 + wd w0 (no dampening)
    let d = G[0][i] + wd * w;
    let b = d;
    w = w - lr * b;
    for (let t = 1; t < G.length; t++) {
      d = G[t][i] + wd * w;
      b = mu * b + (1 - tau) * d;
      w = w - lr * b;
    }
    assertNear([p.data[i]], [w], 1e-14, "momentum param");
    assertNear([opt.state.get(p)!.momentumBuffer!.data[i]], [b], 1e-14, "momentum buffer");
  }
});

Deno.test("SGD Nesterov: step uses g + mu b", () => {
  const lr = 0.1, mu = 0.9, wd = 0.05;
  const { p, opt } = run((p) =>
    new SGD([p], { lr, momentum: mu, nesterov: true, weightDecay: wd })
  );
  for (let i = 0; i < 2; i++) {
    let w = P0[i];
    let b = 0;
    for (let t = 0; t < G.length; t++) {
      const d = G[t][i] + wd * w;
      b = t === 0 ? d : mu * b + d;
      w = w - lr * (d + mu * b);
    }
    assertNear([p.data[i]], [w], 1e-14, "nesterov param");
    assertNear([opt.state.get(p)!.momentumBuffer!.data[i]], [b], 1e-14, "nesterov buffer");
  }
});

Deno.test("SGD maximize ascends", () => {
  const { p } = run((p) => new SGD([p], { lr: 0.1, maximize: true }), 1);
  assertNear(p.data, [P0[0] + 0.1 * G[0][0], P0[1] + 0.1 * G[0][1]], 1e-15);
});

Deno.test("SGD state buffers are allocated once and reused", () => {
  const p = tensor(P0, { requiresGrad: true });
  const opt = new SGD([p], { lr: 0.1, momentum: 0.9 });
  p.grad = tensor(G[0]);
  opt.step();
  const buf = opt.state.get(p)!.momentumBuffer!;
  const data = p.data;
  p.grad = tensor(G[1]);
  opt.step();
  assert.equal(opt.state.get(p)!.momentumBuffer, buf);
  assert.equal(p.data, data, "the update is in place on p.data");
});

Deno.test("Adagrad with lrDecay, weight decay and an initial accumulator", () => {
  const lr = 0.1, lrDecay = 0.5, wd = 0.1, eps = 1e-10, s0 = 0.2;
  const { p, opt } = run((p) =>
    new Adagrad([p], { lr, lrDecay, weightDecay: wd, initialAccumulatorValue: s0 })
  );
  for (let i = 0; i < 2; i++) {
    let w = P0[i], s = s0;
    for (let t = 1; t <= G.length; t++) {
      const g = G[t - 1][i] + wd * w;
      const clr = lr / (1 + (t - 1) * lrDecay);
      s = s + g * g;
      w = w - clr * g / (Math.sqrt(s) + eps);
    }
    assertNear([p.data[i]], [w], 1e-14, "adagrad param");
    assertNear([opt.state.get(p)!.sum.data[i]], [s], 1e-14, "adagrad sum");
  }
  assert.equal(opt.state.get(p)!.step, 4);
});

Deno.test("RMSprop plain: v <- alpha v + (1 - alpha) g^2, p <- p - lr g / (sqrt v + eps)", () => {
  const lr = 0.01, alpha = 0.9, eps = 1e-8;
  const { p, opt } = run((p) => new RMSprop([p], { lr, alpha }));
  for (let i = 0; i < 2; i++) {
    let w = P0[i], v = 0;
    for (const gs of G) {
      const g = gs[i];
      v = alpha * v + (1 - alpha) * g * g;
      w = w - lr * g / (Math.sqrt(v) + eps);
    }
    assertNear([p.data[i]], [w], 1e-14, "rmsprop param");
    assertNear([opt.state.get(p)!.squareAvg.data[i]], [v], 1e-14, "rmsprop v");
  }
  assert.equal(opt.state.get(p)!.momentumBuffer, null);
  assert.equal(opt.state.get(p)!.gradAvg, null);
});

Deno.test("RMSprop centered with momentum and weight decay", () => {
  const lr = 0.01, alpha = 0.8, eps = 1e-8, mu = 0.5, wd = 0.1;
  const { p, opt } = run((p) =>
    new RMSprop([p], { lr, alpha, momentum: mu, centered: true, weightDecay: wd })
  );
  for (let i = 0; i < 2; i++) {
    let w = P0[i], v = 0, gAvg = 0, b = 0;
    for (const gs of G) {
      const g = gs[i] + wd * w;
      v = alpha * v + (1 - alpha) * g * g;
      gAvg = alpha * gAvg + (1 - alpha) * g;
      const denom = Math.sqrt(v - gAvg * gAvg) + eps;
      b = mu * b + g / denom;
      w = w - lr * b;
    }
    const st = opt.state.get(p)!;
    assertNear([p.data[i]], [w], 1e-12, "centered param");
    assertNear([st.squareAvg.data[i]], [v], 1e-14, "centered v");
    assertNear([st.gradAvg!.data[i]], [gAvg], 1e-14, "centered gAvg");
    assertNear([st.momentumBuffer!.data[i]], [b], 1e-10, "centered buffer");
  }
});

/** Adam written out by hand; returns parameter and raw moments after G. */
function adamByHand(
  i: number,
  {
    lr = 1e-3,
    b1 = 0.9,
    b2 = 0.999,
    eps = 1e-8,
    wd = 0,
    amsgrad = false,
    correct = true,
    decoupled = false,
  } = {},
) {
  let w = P0[i], m = 0, v = 0, vMax = 0;
  for (let t = 1; t <= G.length; t++) {
    if (decoupled) w = w * (1 - lr * wd);
    const g = G[t - 1][i] + (decoupled ? 0 : wd * w);
    m = b1 * m + (1 - b1) * g;
    v = b2 * v + (1 - b2) * g * g;
    vMax = Math.max(vMax, v);
    const vUse = amsgrad ? vMax : v;
    if (correct) {
      const mHat = m / (1 - b1 ** t);
      const vHatSqrt = Math.sqrt(vUse) / Math.sqrt(1 - b2 ** t);
      w = w - lr * mHat / (vHatSqrt + eps);
    } else {
      w = w - lr * m / (Math.sqrt(vUse) + eps);
    }
  }
  return { w, m, v, vMax };
}

Deno.test("Adam with bias correction: parameters and raw moments after 4 steps", () => {
  const lr = 0.01;
  const { p, opt } = run((p) => new Adam([p], { lr }));
  const st = opt.state.get(p)!;
  assert.equal(st.step, 4);
  assert.equal(st.maxExpAvgSq, undefined);
  for (let i = 0; i < 2; i++) {
    const h = adamByHand(i, { lr });
    assertNear([p.data[i]], [h.w], 1e-13, "adam param");
    assertNear([st.expAvg.data[i]], [h.m], 1e-14, "adam m");
    assertNear([st.expAvgSq.data[i]], [h.v], 1e-14, "adam v");
  }
});

Deno.test("Adam's plain fast path equals its general loop bitwise (maximize on -g)", () => {
  // no decay, AMSGrad or maximize takes a separate loop; maximize on the negated gradients runs
  // the general loop on the same numbers, so both must agree to the last bit
  let seed = 1;
  const rand = () => (seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5;
  const init = Array.from({ length: 37 }, rand);
  const a = new Tensor(Float64Array.from(init), [37], { requiresGrad: true });
  const b = new Tensor(Float64Array.from(init), [37], { requiresGrad: true });
  const plain = new Adam([a], { lr: 0.01 }), general = new Adam([b], { lr: 0.01, maximize: true });
  for (let t = 0; t < 5; t++) {
    const g = Float64Array.from({ length: 37 }, rand);
    a.grad = new Tensor(g, [37]);
    b.grad = new Tensor(g.map((x) => -x), [37]);
    plain.step();
    general.step();
  }
  assert.deepEqual(a.data, b.data);
  assert.deepEqual(plain.state.get(a)!.expAvg.data, general.state.get(b)!.expAvg.data);
  assert.deepEqual(plain.state.get(a)!.expAvgSq.data, general.state.get(b)!.expAvgSq.data);
});

Deno.test("Adam without bias correction uses m and v raw", () => {
  const lr = 0.01;
  const { p } = run((p) => new Adam([p], { lr, biasCorrection: false }));
  for (let i = 0; i < 2; i++) {
    assertNear([p.data[i]], [adamByHand(i, { lr, correct: false }).w], 1e-13, "uncorrected");
  }
});

Deno.test("Adam first step: lr sign(g) corrected, (1-b1)/sqrt(1-b2) times that uncorrected", () => {
  const lr = 0.1;
  for (const b2 of [0.99, 0.999, 0.9999]) {
    const a = run((p) => new Adam([p], { lr, betas: [0.9, b2], eps: 0 }), 1).p;
    const b = run((p) => new Adam([p], { lr, betas: [0.9, b2], eps: 0, biasCorrection: false }), 1)
      .p;
    const stepA = [a.data[0] - P0[0], a.data[1] - P0[1]];
    const stepB = [b.data[0] - P0[0], b.data[1] - P0[1]];
    assertNear(
      stepA,
      [-lr * Math.sign(G[0][0]), -lr * Math.sign(G[0][1])],
      1e-14,
      "corrected step",
    );
    const ratio = 0.1 / Math.sqrt(1 - b2);
    assertNear([stepB[0] / stepA[0], stepB[1] / stepA[1]], [ratio, ratio], 1e-12, "ratio");
  }
  // about 3.16 for the default beta2
  assertClose(0.1 / Math.sqrt(0.001), 3.1623, { atol: 1e-4, rtol: 0 });
});

Deno.test("Adam AMSGrad keeps the running max of v (then the correction)", () => {
  const lr = 0.01;
  const { p, opt } = run((p) => new Adam([p], { lr, amsgrad: true, betas: [0.8, 0.9] }));
  const st = opt.state.get(p)!;
  for (let i = 0; i < 2; i++) {
    const h = adamByHand(i, { lr, b1: 0.8, b2: 0.9, amsgrad: true });
    assertNear([p.data[i]], [h.w], 1e-13, "amsgrad param");
    assertNear([st.maxExpAvgSq!.data[i]], [h.vMax], 1e-14, "amsgrad vmax");
    assertNear([st.expAvgSq.data[i]], [h.v], 1e-14, "amsgrad v");
  }
  // with this gradient sequence v shrinks after the large step 2: the max differs from v
  assert.ok(st.maxExpAvgSq!.data[0] > st.expAvgSq.data[0]);
  const plain = run((p) => new Adam([p], { lr, betas: [0.8, 0.9] })).p;
  assert.notEqual(plain.data[0], p.data[0]);
});

Deno.test("Adam weightDecay is coupled (added to the gradient); AdamW decouples it", () => {
  const lr = 0.05, wd = 0.1;
  const adam = run((p) => new Adam([p], { lr, weightDecay: wd })).p;
  const adamw = run((p) => new AdamW([p], { lr, weightDecay: wd })).p;
  for (let i = 0; i < 2; i++) {
    assertNear([adam.data[i]], [adamByHand(i, { lr, wd }).w], 1e-13, "adam coupled");
    assertNear([adamw.data[i]], [adamByHand(i, { lr, wd, decoupled: true }).w], 1e-13, "adamw");
  }
  assert.ok(Math.abs(adam.data[0] - adamw.data[0]) > 1e-4, "Adam+L2 and AdamW differ");
});

Deno.test("AdamW default weightDecay is 1e-2, Adam's is 0", () => {
  const p = tensor([1], { requiresGrad: true });
  assert.equal(new AdamW([p]).paramGroups[0].weightDecay, 1e-2);
  assert.equal(new Adam([p]).paramGroups[0].weightDecay, 0);
  assert.deepEqual(new Adam([p]).paramGroups[0].betas, [0.9, 0.999]);
});

Deno.test("parameter groups: each group uses its own lr and settings", () => {
  const a = tensor([1], { requiresGrad: true });
  const b = tensor([1], { requiresGrad: true });
  const opt = new SGD([{ params: [a] }, { params: [b], lr: 0.5, momentum: 0.9 }], { lr: 0.1 });
  assert.equal(opt.paramGroups.length, 2);
  assert.equal(opt.paramGroups[0].momentum, 0);
  for (let t = 0; t < 2; t++) {
    a.grad = tensor([1]);
    b.grad = tensor([1]);
    opt.step();
  }
  assertNear(a.data, [1 - 0.1 - 0.1]);
  assertNear(b.data, [1 - 0.5 * 1 - 0.5 * 1.9]);
});

Deno.test("params without grad are skipped; zeroGrad sets grads to null", () => {
  const a = tensor([1, 2], { requiresGrad: true });
  const b = tensor([3], { requiresGrad: true });
  const opt = new Adam([a, b], { lr: 0.1 });
  a.grad = tensor([1, 1]);
  opt.step();
  assert.deepEqual([...b.data], [3]);
  assert.equal(opt.state.has(b), false);
  assert.equal(opt.state.get(a)!.step, 1);
  opt.zeroGrad();
  assert.equal(a.grad, null);
  assert.equal(b.grad, null);
});

Deno.test("optimizers accept a module-like object with parameters()", () => {
  const w = tensor([1], { requiresGrad: true });
  const opt = new SGD({ parameters: () => [w] }, { lr: 0.1 });
  w.grad = tensor([1]);
  opt.step();
  assertNear(w.data, [0.9]);
});

Deno.test("invalid hyperparameters throw clear errors", () => {
  const p = tensor([1], { requiresGrad: true });
  assert.throws(
    () => new Adam([p], { betas: [0.9, 1.2] }),
    { message: "Adam: invalid beta2 1.2, expected 0 <= beta2 < 1" },
  );
  assert.throws(() => new AdamW([p], { betas: [1, 0.9] }), /AdamW: invalid beta1 1/);
  assert.throws(() => new SGD([p], { lr: -1 }), /SGD: invalid learning rate -1/);
  assert.throws(() => new SGD([p], { lr: 0.1, nesterov: true }), /Nesterov/);
  assert.throws(() => new RMSprop([p], { alpha: 1.5 }), /RMSprop: invalid alpha 1.5/);
  assert.throws(() => new Adagrad([p], { lrDecay: -1 }), /Adagrad: invalid lrDecay -1/);
  assert.throws(() => new SGD([p, p], { lr: 0.1 }), /same tensor twice/);
  assert.throws(() => new SGD([{ params: [p] }, { params: [p] }], { lr: 0.1 }), /more than one/);
});

Deno.test("clipGradNorm returns the norm before clipping and rescales when above maxNorm", () => {
  const a = tensor([0], { requiresGrad: true });
  const b = tensor([0, 0], { requiresGrad: true });
  const none = tensor([0], { requiresGrad: true });
  a.grad = tensor([3]);
  b.grad = tensor([0, 4]);
  assert.equal(clipGradNorm([a, b, none], 10), 5);
  assert.deepEqual([...a.grad.data, ...b.grad.data], [3, 0, 4], "below maxNorm: untouched");
  const total = clipGradNorm([a, b], 1);
  assert.equal(total, 5);
  const c = 1 / (5 + 1e-6);
  assertNear([...a.grad.data, ...b.grad.data], [3 * c, 0, 4 * c], 1e-15);
  // after clipping the joint norm is maxNorm (up to the 1e-6 guard)
  assertClose(clipGradNorm([a, b], 100), 1, { atol: 1e-6, rtol: 0 });
  // other norms
  a.grad = tensor([-3]);
  b.grad = tensor([1, 2]);
  assert.equal(clipGradNorm([a, b], 100, Infinity), 3);
  assert.equal(clipGradNorm([a, b], 100, 1), 6);
  assert.equal(clipGradNorm([none], 1), 0, "no gradients: norm 0");
  a.grad = tensor([NaN]);
  assert.throws(
    () => clipGradNorm([a], 1, 2, { errorIfNonfinite: true }),
    /total gradient norm is NaN/,
  );
});

Deno.test("clipGradValue clamps each entry", () => {
  const a = tensor([0, 0, 0, 0], { requiresGrad: true });
  a.grad = tensor([-5, -0.5, 0.25, 7]);
  clipGradValue([a], 0.5);
  assert.deepEqual([...a.grad.data], [-0.5, -0.5, 0.25, 0.5]);
});
