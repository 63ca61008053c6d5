// Losses of lib/losses.ts against values derived by hand from PyTorch's documented formulas,
// their gradients (gradCheck and closed forms), reductions and error messages.
import assert from "node:assert/strict";
import { randn, Tensor, tensor } from "@kit/tensor.ts";
import { rng } from "@kit/random.ts";
import { assertClose, gradCheck } from "@kit/check.ts";
import { accuracy, bceWithLogits, crossEntropy, mseLoss, nllLoss } from "@kit/losses.ts";

const exact = { rtol: 1e-14, atol: 1e-15 };

Deno.test("mseLoss: (pred - target)^2 with mean, sum and none; no silent broadcasting", () => {
  const p = tensor([1, 2, 3]), t = tensor([1, 2, 5]);
  // squared errors [0, 0, 4]: mean 4/3, sum 4
  assertClose(mseLoss(p, t), 4 / 3, exact);
  assert.equal(mseLoss(p, t, { reduction: "sum" }).item(), 4);
  assert.deepEqual(mseLoss(p, t, { reduction: "none" }).toArray(), [0, 0, 4]);
  assert.throws(
    () => mseLoss(tensor([[1], [2], [3]]), t),
    /mseLoss: pred shape \[3, 1\] and target shape \[3\] must be equal/,
  );
  assert.throws(
    () => mseLoss(p, t, { reduction: "avg" as "mean" }),
    /reduction must be "mean", "sum" or "none"/,
  );
  gradCheck((p) => mseLoss(p, t), [randn([3], rng(0), { requiresGrad: true })]);
  // d/dp mean((p - t)^2) = 2 (p - t) / n
  const pg = tensor([1, 2, 3], { requiresGrad: true });
  mseLoss(pg, t).backward();
  assertClose(pg.grad!, [0, 0, -4 / 3], exact);
});

Deno.test("bceWithLogits: max(x, 0) - x y + log(1 + exp(-|x|)) by hand, stable for huge logits", () => {
  const x = tensor([-2, 0, 3]), y = tensor([0, 1, 1]);
  // x = -2, y = 0: 0 - 0 + log(1 + e^-2) = 0.1269280110429725
  // x =  0, y = 1: 0 - 0 + log(2)        = 0.6931471805599453
  // x =  3, y = 1: 3 - 3 + log(1 + e^-3) = 0.04858735157374206
  const per = [0.1269280110429725, 0.6931471805599453, 0.04858735157374206];
  assertClose(bceWithLogits(x, y, { reduction: "none" }), per, exact);
  assertClose(bceWithLogits(x, y), (per[0] + per[1] + per[2]) / 3, exact);
  assertClose(bceWithLogits(x, y, { reduction: "sum" }), per[0] + per[1] + per[2], exact);
  // soft targets: x = 1, y = 0.25: 1 - 0.25 + log(1 + e^-1)
  assertClose(bceWithLogits(tensor([1]), tensor([0.25])), 0.75 + Math.log1p(Math.exp(-1)), exact);
  // |x| = 1000: the naive -y log sigmoid(x) - (1 - y) log(1 - sigmoid(x)) gives Infinity or NaN;
  // the formula gives 1000 (wrong side) and 0 (right side).
  assertClose(
    bceWithLogits(tensor([1000, -1000, 1000]), tensor([0, 1, 1]), { reduction: "none" }),
    [1000, 1000, 0],
    exact,
  );
  assert.throws(
    () => bceWithLogits(tensor([[1], [2]]), tensor([1, 0])),
    /bceWithLogits: logits shape \[2, 1\] and target shape \[2\]/,
  );
});

Deno.test("bceWithLogits: gradient sigmoid(x) - y, right at x = 0 too; posWeight", () => {
  const x = tensor([-2, 0, 3], { requiresGrad: true }), y = tensor([0, 1, 1]);
  bceWithLogits(x, y, { reduction: "sum" }).backward();
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  // at x = 0, y = 1: sigmoid(0) - 1 = -0.5 (the max/abs form would give -1 + 0 there)
  assertClose(x.grad!, [sig(-2) - 0, -0.5, sig(3) - 1], exact);
  gradCheck((x) => bceWithLogits(x, tensor([0, 1, 0.3])), [
    tensor([-1.3, 0.4, 2.2], { requiresGrad: true }),
  ]);
  // posWeight w: -(w y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))); for y = 1: w log(1 + e^-x);
  // for y = 0: log(1 + e^x). x = [0.5, 0.5], y = [1, 0], w = 3:
  const l = bceWithLogits(tensor([0.5, 0.5]), tensor([1, 0]), { posWeight: 3, reduction: "none" });
  assertClose(l, [3 * Math.log1p(Math.exp(-0.5)), Math.log1p(Math.exp(0.5))], exact);
  // per-class posWeight over the last dimension
  const l2 = bceWithLogits(tensor([[0, 0]]), tensor([[1, 1]]), {
    posWeight: tensor([1, 2]),
    reduction: "none",
  });
  assertClose(l2, [[Math.LN2, 2 * Math.LN2]], exact);
  gradCheck(
    (x) => bceWithLogits(x, tensor([[1, 0], [1, 1]]), { posWeight: tensor([2, 0.5]) }),
    [randn([2, 2], rng(1), { requiresGrad: true })],
  );
});

Deno.test("nllLoss: -logProbs[i, y_i], class weights normalise the mean by the picked weights", () => {
  const logp = tensor([[Math.log(0.7), Math.log(0.3)], [Math.log(0.4), Math.log(0.6)]]);
  const y = tensor([0, 1]);
  assertClose(nllLoss(logp, y), -(Math.log(0.7) + Math.log(0.6)) / 2, exact);
  assertClose(nllLoss(logp, y, { reduction: "none" }), [-Math.log(0.7), -Math.log(0.6)], exact);
  // weight [1, 2]: mean = (1 * -log 0.7 + 2 * -log 0.6) / (1 + 2); sum = numerator
  assertClose(
    nllLoss(logp, y, { weight: [1, 2] }),
    -(Math.log(0.7) + 2 * Math.log(0.6)) / 3,
    exact,
  );
  assertClose(
    nllLoss(logp, y, { weight: [1, 2], reduction: "sum" }),
    -(Math.log(0.7) + 2 * Math.log(0.6)),
    exact,
  );
  // targets may be a plain array
  assertClose(nllLoss(logp, [1, 0]), -(Math.log(0.3) + Math.log(0.4)) / 2, exact);
  const lp = randn([3, 4], rng(2), { requiresGrad: true });
  gradCheck((lp) => nllLoss(lp, tensor([3, 0, 1]), { weight: [0.5, 1, 2, 1] }), [lp]);
});

Deno.test("crossEntropy with label smoothing on a 2x3 example, by hand (PyTorch's formula)", () => {
  // logits row 0 = [2, 0, 0], target 0; row 1 = [0, 1, 0], target 2. C = 3, eps = 0.1.
  // L0 = logsumexp(row 0) = log(e^2 + 2) = 2.2395447662218846; log p0 = [2 - L0, -L0, -L0]
  // L1 = logsumexp(row 1) = log(2 + e)   = 1.5514447139320509; log p1 = [-L1, 1 - L1, -L1]
  // loss_i = (1 - eps) (-log p[i, y_i]) + eps * mean_c(-log p[i, c])
  //   loss_0 = 0.9 (L0 - 2) + 0.1 (3 L0 - 2) / 3 = 0.37287809955521795
  //   loss_1 = 0.9 L1       + 0.1 (3 L1 - 1) / 3 = 1.5181113805987174
  //   mean = 0.9454947400769677, sum = 1.8909894801539353
  const logits = tensor([[2, 0, 0], [0, 1, 0]]);
  const y = tensor([0, 2]);
  const L0 = Math.log(Math.exp(2) + 2), L1 = Math.log(2 + Math.E);
  assertClose([L0, L1], [2.2395447662218846, 1.5514447139320509], exact);
  const l0 = 0.9 * (L0 - 2) + 0.1 * (3 * L0 - 2) / 3, l1 = 0.9 * L1 + 0.1 * (3 * L1 - 1) / 3;
  assertClose([l0, l1], [0.37287809955521795, 1.5181113805987174], exact);
  assertClose(crossEntropy(logits, y, { labelSmoothing: 0.1 }), 0.9454947400769677, exact);
  assertClose(
    crossEntropy(logits, y, { labelSmoothing: 0.1, reduction: "sum" }),
    1.8909894801539353,
    exact,
  );
  assertClose(crossEntropy(logits, y, { labelSmoothing: 0.1, reduction: "none" }), [l0, l1], exact);
  // The same as cross-entropy against the smoothed distribution q = 0.9 onehot + 0.1 / 3:
  const q = tensor([[0.9 + 0.1 / 3, 0.1 / 3, 0.1 / 3], [0.1 / 3, 0.1 / 3, 0.9 + 0.1 / 3]]);
  assertClose(crossEntropy(logits, q), 0.9454947400769677, exact);
  // ... and as soft targets with labelSmoothing applied to a one-hot target
  assertClose(
    crossEntropy(logits, tensor([[1, 0, 0], [0, 0, 1]]), { labelSmoothing: 0.1 }),
    0.9454947400769677,
    exact,
  );
  // eps = 0: plain cross-entropy ((L0 - 2) + L1) / 2
  assertClose(crossEntropy(logits, y), ((L0 - 2) + L1) / 2, exact);
  assertClose(crossEntropy(logits, y), nllLoss(logits.logSoftmax(1), y), exact);
});

Deno.test("crossEntropy with class weights and label smoothing follows PyTorch's normalisation", () => {
  // Same 2x3 example, weight w = [1, 2, 3], eps = 0.1. PyTorch (LossNLL.cpp):
  //   nll  = (w0 (L0 - 2) + w2 L1) / (w0 + w2)                    = ((L0 - 2) + 3 L1) / 4
  //   smooth_i = -sum_c w_c log p[i, c]: row 0: 6 L0 - 2, row 1: 6 L1 - 2
  //   smooth = sum_i smooth_i / (w0 + w2)                         = (6 L0 + 6 L1 - 4) / 4
  //   loss = (1 - eps) nll + eps / C * smooth                     = 1.2573388949784217
  const logits = tensor([[2, 0, 0], [0, 1, 0]]);
  assertClose(
    crossEntropy(logits, tensor([0, 2]), { weight: [1, 2, 3], labelSmoothing: 0.1 }),
    1.2573388949784217,
    exact,
  );
  const L0 = Math.log(Math.exp(2) + 2), L1 = Math.log(2 + Math.E);
  assertClose(
    crossEntropy(logits, tensor([0, 2]), { weight: [1, 2, 3] }),
    ((L0 - 2) + 3 * L1) / 4,
    exact,
  );
});

Deno.test("crossEntropy: gradient (softmax - q) / N, gradCheck, stability, errors", () => {
  const x = tensor([[2, 0, 0], [0, 1, 0]], { requiresGrad: true });
  crossEntropy(x, tensor([0, 2]), { labelSmoothing: 0.1 }).backward();
  const sm = x.softmax(1).data;
  const q = [0.9 + 0.1 / 3, 0.1 / 3, 0.1 / 3, 0.1 / 3, 0.1 / 3, 0.9 + 0.1 / 3];
  assertClose(x.grad!, [
    [0, 1, 2].map((c) => (sm[c] - q[c]) / 2),
    [3, 4, 5].map((c) => (sm[c] - q[c]) / 2),
  ], exact);
  const g = rng(3);
  const z = randn([4, 5], g, { requiresGrad: true });
  const t = tensor([4, 0, 2, 2]);
  gradCheck((z) => crossEntropy(z, t), [z]);
  gradCheck((z) => crossEntropy(z, t, { labelSmoothing: 0.2, weight: [1, 2, 0.5, 1, 3] }), [z]);
  gradCheck((z) => crossEntropy(z, t, { labelSmoothing: 0.2, reduction: "none" }), [z]);
  // huge logits stay finite: [1000, 0] against class 1 costs 1000
  assertClose(crossEntropy(tensor([[1000, 0], [0, 1000]]), tensor([1, 1]), { reduction: "none" }), [
    1000,
    0,
  ], exact);
  // errors name the problem
  assert.throws(
    () => crossEntropy(tensor([[1, 2, 3], [1, 2, 3]]), tensor([0, 3])),
    /crossEntropy: target 3 at index 1 is not a class index for 3 classes \(valid: integers 0..2\)/,
  );
  assert.throws(
    () => crossEntropy(tensor([[1, 2], [3, 4]]), tensor([0.5, 1])),
    /target 0.5 at index 0/,
  );
  assert.throws(
    () => crossEntropy(tensor([[1, 2], [3, 4]]), tensor([0, 1, 1])),
    /crossEntropy: targets must be class indices of shape \[2\].*got shape \[3\]/,
  );
  assert.throws(
    () => crossEntropy(tensor([1, 2]), tensor([0])),
    /crossEntropy: logits must have shape \[N, C\], got \[2\]/,
  );
  assert.throws(
    () => crossEntropy(tensor([[1, 2]]), tensor([0]), { labelSmoothing: 2 }),
    /labelSmoothing must be in \[0, 1\]/,
  );
  assert.throws(
    () => crossEntropy(tensor([[1, 2]]), tensor([0]), { weight: [1, 2, 3] }),
    /weight must have shape \[2\]/,
  );
});

Deno.test("accuracy: argmax against targets; binary logits thresholded at 0", () => {
  // predictions 0, 1, 0 against 0, 1, 1: 2 of 3
  assert.equal(accuracy(tensor([[2, 1], [0, 3], [1, 0]]), tensor([0, 1, 1])), 2 / 3);
  assert.equal(accuracy(tensor([[1, 1, 0]]), [0]), 1, "ties go to the first maximum");
  assert.equal(accuracy(tensor([0.3, -2, 5, -0.1]), tensor([1, 0, 0, 0])), 3 / 4);
  assert.equal(accuracy(tensor([[0.3], [-2]]), tensor([1, 1])), 1 / 2);
  assert.throws(
    () => accuracy(tensor([[1, 2]]), tensor([0, 1])),
    /accuracy: expected scores \[N, C\]/,
  );
});

Deno.test("losses return tensors that backpropagate into a model's parameters", () => {
  const w = new Tensor(new Float64Array([0.5, -0.5, 0.25, 1, 0, -1]), [2, 3], {
    requiresGrad: true,
  });
  const x = tensor([[1, 2], [0, -1]]);
  const loss = crossEntropy(x.matmul(w), tensor([2, 0]));
  loss.backward();
  assert.ok(w.grad !== null && w.grad.data.some((v) => v !== 0));
  gradCheck((w) => crossEntropy(x.matmul(w), tensor([2, 0]), { labelSmoothing: 0.05 }), [w]);
});
