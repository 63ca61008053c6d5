// Layers of lib/nn.ts against values derived by hand from PyTorch's documented formulas, their
// gradients through gradCheck, the Module machinery (names, modes, state dicts), and the
// "done when" run: a two-layer MLP on data/digits.csv above 95 % validation accuracy.
import assert from "node:assert/strict";
import { noGrad, randn, Tensor, tensor } from "@kit/tensor.ts";
import { rng } from "@kit/random.ts";
import { assertClose, gradCheck } from "@kit/check.ts";
import {
  BatchNorm1d,
  Dropout,
  Flatten,
  Identity,
  LayerNorm,
  LeakyReLU,
  Linear,
  Module,
  Parameter,
  ReLU,
  Sequential,
  Sigmoid,
  Tanh,
} from "@kit/nn.ts";
import { accuracy, crossEntropy } from "@kit/losses.ts";
import { batches, loadCSV, standardize, trainValTestSplit } from "@kit/data.ts";

const req = (t: Tensor) => new Tensor(t.data, t.shape, { requiresGrad: true });

// ------------------------------------------------------------------------------------ Linear

Deno.test("Linear: y = x W^T + b on a hand example, shapes, and a clear size error", () => {
  const lin = new Linear(2, 3, { rng: rng(0) });
  lin.weight.data.set([1, 2, 3, 4, 5, 6]); // W = [[1, 2], [3, 4], [5, 6]]
  lin.bias!.data.set([0.5, -0.5, 1]);
  // x = [[1, -1], [2, 0.5]]:
  // row 0: [1 - 2, 3 - 4, 5 - 6] + b = [-1, -1, -1] + [0.5, -0.5, 1] = [-0.5, -1.5, 0]
  // row 1: [2 + 1, 6 + 2, 10 + 3] + b = [3, 8, 13] + b = [3.5, 7.5, 14]
  const y = lin.call(tensor([[1, -1], [2, 0.5]]));
  assert.deepEqual(y.toArray(), [[-0.5, -1.5, 0], [3.5, 7.5, 14]]);
  // bias: false
  const nb = new Linear(2, 3, { bias: false, rng: rng(0) });
  assert.equal(nb.bias, null);
  assert.deepEqual(nb.namedParameters().map(([n]) => n), ["weight"]);
  nb.weight.data.set([1, 2, 3, 4, 5, 6]);
  assert.deepEqual(nb.call(tensor([[1, -1]])).toArray(), [[-1, -1, -1]]);
  // batched leading dimensions
  assert.deepEqual(lin.call(randn([4, 5, 2], rng(1))).shape, [4, 5, 3]);
  assert.throws(
    () => lin.call(tensor([[1, 2, 3]])),
    /Linear\(2 -> 3\): input of shape \[1, 3\] must end in inFeatures = 2/,
  );
  assert.throws(
    () => new Linear(0, 3, { rng: rng(0) }),
    /inFeatures must be a positive integer, got 0/,
  );
  assert.throws(
    () => new Linear(2, 3, {} as { rng: ReturnType<typeof rng> }),
    /Linear\(2, 3\): pass a seeded generator/,
  );
  assert.equal(lin.toString(), "Linear(inFeatures=2, outFeatures=3, bias=true)");
});

Deno.test("Linear: gradients w.r.t. input, weight and bias pass gradCheck", () => {
  const g = rng(2);
  const lin = new Linear(4, 3, { rng: g });
  const x = randn([5, 4], g, { requiresGrad: true });
  gradCheck((x) => lin.call(x), [x, lin.weight, lin.bias!]);
});

// ------------------------------------------------------------------------------- activations

Deno.test("ReLU, LeakyReLU, Tanh, Sigmoid, Identity, Flatten: values and gradients", () => {
  const x = tensor([-2, -0.5, 0.5, 3]);
  assert.deepEqual(new ReLU().call(x).toArray(), [0, 0, 0.5, 3]);
  // LeakyReLU(0.1): x for x >= 0, 0.1 x otherwise.
  assertClose(new LeakyReLU(0.1).call(x), [-0.2, -0.05, 0.5, 3], { rtol: 1e-15, atol: 0 });
  assertClose(new Tanh().call(x), [-2, -0.5, 0.5, 3].map(Math.tanh), { rtol: 1e-15, atol: 0 });
  // sigmoid(x) = 1 / (1 + e^-x): sigmoid(3) = 0.9525741268224334, sigmoid(-2) = 0.11920292202211755
  assertClose(
    new Sigmoid().call(x),
    [0.11920292202211755, 1 / (1 + Math.exp(0.5)), 1 / (1 + Math.exp(-0.5)), 0.9525741268224334],
    { rtol: 1e-14, atol: 0 },
  );
  assert.equal(new Identity().call(x), x);
  assert.deepEqual(new Flatten().call(randn([2, 3, 4], rng(0))).shape, [2, 12]);
  assert.deepEqual(new Flatten(0).call(randn([2, 3, 4], rng(0))).shape, [24]);
  assert.deepEqual(new Flatten(1, 1).call(randn([2, 3, 4], rng(0))).shape, [2, 3, 4]);
  const xr = randn([3, 4], rng(3), { requiresGrad: true });
  for (const m of [new Tanh(), new Sigmoid(), new LeakyReLU(0.2), new Flatten(0)]) {
    gradCheck((x) => m.call(x), [xr]);
  }
  gradCheck((x) => new ReLU().call(x), [tensor([[-1.5, 0.3], [2, -0.7]], { requiresGrad: true })]);
});

// ----------------------------------------------------------------------------------- Dropout

// np.random.seed(0); np.random.rand(8) (NumPy's documented seed-0 stream; rng(0) reproduces it):
const U0 = [
  0.5488135,
  0.71518937,
  0.60276338,
  0.54488318,
  0.4236548,
  0.64589411,
  0.43758721,
  0.891773,
];

Deno.test("Dropout: the seeded generator gives NumPy's seed-0 uniforms the derivations below use", () => {
  const g = rng(0);
  assertClose(Array.from({ length: 8 }, () => g.uniform()), U0, { atol: 5e-9, rtol: 0 });
});

Deno.test("Dropout inverted (PyTorch): exact mask from rng(0), x * mask / (1 - p) in training, identity in eval", () => {
  // p = 0.4 (drop), keep probability 0.6; element i is kept when u_i < 0.6:
  // u = 0.549 0.715 0.603 0.545 | 0.424 0.646 0.438 0.892 -> mask 1 0 0 1 | 1 0 1 0
  // training output x * mask / 0.6 with x = 1..8.
  const x = tensor([[1, 2, 3, 4], [5, 6, 7, 8]]);
  const d = new Dropout(0.4, { rng: rng(0) });
  assert.equal(d.training, true);
  const y = d.call(x);
  assert.deepEqual(d.lastMask!.toArray(), [[1, 0, 0, 1], [1, 0, 1, 0]]);
  assertClose(y, [[1 / 0.6, 0, 0, 4 / 0.6], [5 / 0.6, 0, 7 / 0.6, 0]], { rtol: 1e-15, atol: 0 });
  d.eval();
  assert.deepEqual(d.call(x).toArray(), x.toArray());
  // the gradient of sum(y) is the scaled mask
  d.train();
  const xg = req(tensor([[1, 2, 3, 4], [5, 6, 7, 8]]));
  new Dropout(0.4, { rng: rng(0) }).call(xg).sum().backward();
  assertClose(xg.grad!, [[1 / 0.6, 0, 0, 1 / 0.6], [1 / 0.6, 0, 1 / 0.6, 0]], {
    rtol: 1e-15,
    atol: 0,
  });
});

Deno.test("Dropout standard (Srivastava et al. 2014): x * mask in training, x * (1 - p) in eval", () => {
  // Same mask as above (same seed and p): 1 0 0 1 | 1 0 1 0; no scaling in training.
  const x = tensor([[1, 2, 3, 4], [5, 6, 7, 8]]);
  const d = new Dropout(0.4, { rng: rng(0), mode: "standard" });
  assert.deepEqual(d.call(x).toArray(), [[1, 0, 0, 4], [5, 0, 7, 0]]);
  // eval: weight scaling by the keep probability 0.6
  assertClose(d.eval().call(x), [[0.6, 1.2, 1.8, 2.4], [3, 3.6, 4.2, 4.8]], {
    rtol: 1e-15,
    atol: 0,
  });
});

Deno.test("Dropout: expectations match in both modes; p = 0 and p = 1 edge cases; errors", () => {
  // 100000 ones, p = 0.3. Inverted: mean of x * m / 0.7 is 1 with std sqrt(0.3 / 0.7) / sqrt(n) = 0.0021;
  // standard: mean 0.7 with std sqrt(0.21) / sqrt(n) = 0.0014. Allow 5 standard errors.
  const n = 100000;
  const ones = new Tensor(new Float64Array(n).fill(1), [n]);
  const inv = new Dropout(0.3, { rng: rng(5) }).call(ones).mean().item();
  assert.ok(Math.abs(inv - 1) < 5 * Math.sqrt(0.3 / 0.7 / n), `inverted mean ${inv}`);
  const std = new Dropout(0.3, { rng: rng(6), mode: "standard" }).call(ones).mean().item();
  assert.ok(Math.abs(std - 0.7) < 5 * Math.sqrt(0.21 / n), `standard mean ${std}`);

  const x = tensor([1, -2, 3]);
  // p = 0: nothing is dropped, no generator needed.
  assert.deepEqual(new Dropout(0).call(x).toArray(), [1, -2, 3]);
  assert.deepEqual(new Dropout(0, { mode: "standard" }).eval().call(x).toArray(), [1, -2, 3]);
  // p = 1 (PyTorch): all zeros in training; inverted eval is the identity, standard eval x * 0.
  for (const mode of ["inverted", "standard"] as const) {
    const d = new Dropout(1, { mode });
    assert.ok(d.call(x).data.every((v) => v === 0)); // (-2 * 0 is -0, as in PyTorch)
    assert.deepEqual(Array.from(d.lastMask!.data), [0, 0, 0]);
  }
  assert.deepEqual(new Dropout(1).eval().call(x).toArray(), [1, -2, 3]);
  assert.ok(new Dropout(1, { mode: "standard" }).eval().call(x).data.every((v) => v === 0));
  assert.throws(() => new Dropout(1.5), /p is the drop probability and must be in \[0, 1\]/);
  assert.throws(
    () => new Dropout(0.5).call(x),
    /Dropout\(p=0.5\) in training mode: pass a seeded generator/,
  );
  // a Dropout without generator is fine in eval mode
  assert.deepEqual(new Dropout(0.5).eval().call(x).toArray(), [1, -2, 3]);
});

Deno.test("Dropout: gradient through the mask passes gradCheck (fixed seed per call)", () => {
  const x = randn([3, 5], rng(7), { requiresGrad: true });
  for (const mode of ["inverted", "standard"] as const) {
    gradCheck((x) => new Dropout(0.5, { rng: rng(8), mode }).call(x), [x]);
  }
});

// ------------------------------------------------------------------------------- BatchNorm1d

Deno.test("BatchNorm1d: running statistics over three batches, step by step (momentum 0.1)", () => {
  const bn = new BatchNorm1d(2);
  // start: runningMean [0, 0], runningVar [1, 1], numBatchesTracked 0
  assert.deepEqual(bn.runningMean!.toArray(), [0, 0]);
  assert.deepEqual(bn.runningVar!.toArray(), [1, 1]);
  assert.equal(bn.numBatchesTracked!.item(), 0);

  // Batch 1, N = 2: [[1, 2], [3, 6]]
  //   mean [2, 4]; biased var [((-1)^2 + 1^2) / 2, (2^2 + 2^2) / 2] = [1, 4]; unbiased (x 2/1) [2, 8]
  //   runningMean = 0.9 [0, 0] + 0.1 [2, 4] = [0.2, 0.4]
  //   runningVar  = 0.9 [1, 1] + 0.1 [2, 8] = [1.1, 1.7]
  //   output: (x - mean) / sqrt(biased var + 1e-5)
  const y1 = bn.call(tensor([[1, 2], [3, 6]]));
  const s0 = Math.sqrt(1 + 1e-5), s1 = Math.sqrt(4 + 1e-5);
  assertClose(y1, [[-1 / s0, -2 / s1], [1 / s0, 2 / s1]], { rtol: 1e-14, atol: 0 });
  assertClose(bn.runningMean!, [0.2, 0.4], { rtol: 1e-14, atol: 0 });
  assertClose(bn.runningVar!, [1.1, 1.7], { rtol: 1e-14, atol: 0 });

  // Batch 2, N = 3: [[0, 1], [3, 1], [6, 4]]
  //   column 0: mean 3, deviations -3 0 3, biased var 18/3 = 6, unbiased 18/2 = 9
  //   column 1: mean 2, deviations -1 -1 2, biased var 6/3 = 2, unbiased 6/2 = 3
  //   runningMean = 0.9 [0.2, 0.4] + 0.1 [3, 2] = [0.48, 0.56]
  //   runningVar  = 0.9 [1.1, 1.7] + 0.1 [9, 3] = [1.89, 1.83]
  bn.call(tensor([[0, 1], [3, 1], [6, 4]]));
  assertClose(bn.runningMean!, [0.48, 0.56], { rtol: 1e-14, atol: 0 });
  assertClose(bn.runningVar!, [1.89, 1.83], { rtol: 1e-14, atol: 0 });

  // Batch 3, N = 4: [[2, -1], [4, 1], [6, 3], [8, 5]]
  //   both columns: deviations -3 -1 1 3 (sum of squares 20), means [5, 2],
  //   biased var 20/4 = 5, unbiased 20/3
  //   runningMean = 0.9 [0.48, 0.56] + 0.1 [5, 2] = [0.932, 0.704]
  //   runningVar  = 0.9 [1.89, 1.83] + 0.1 [20/3, 20/3] = [1.701 + 2/3, 1.647 + 2/3]
  const y3 = bn.call(tensor([[2, -1], [4, 1], [6, 3], [8, 5]]));
  const s5 = Math.sqrt(5 + 1e-5);
  assertClose(y3, [[-3 / s5, -3 / s5], [-1 / s5, -1 / s5], [1 / s5, 1 / s5], [3 / s5, 3 / s5]], {
    rtol: 1e-14,
    atol: 1e-15,
  });
  assertClose(bn.runningMean!, [0.932, 0.704], { rtol: 1e-14, atol: 0 });
  assertClose(bn.runningVar!, [1.701 + 2 / 3, 1.647 + 2 / 3], { rtol: 1e-14, atol: 0 });
  assert.equal(bn.numBatchesTracked!.item(), 3);

  // Eval uses the running statistics: y = (x - runningMean) / sqrt(runningVar + eps) * gamma + beta;
  // with gamma = [2, 0.5], beta = [1, -1] on x = [[1, 1]]:
  bn.weight!.data.set([2, 0.5]);
  bn.bias!.data.set([1, -1]);
  bn.eval();
  const ye = bn.call(tensor([[1, 1]])); // a batch of one is fine in eval mode
  assertClose(ye, [[
    (1 - 0.932) / Math.sqrt(1.701 + 2 / 3 + 1e-5) * 2 + 1,
    (1 - 0.704) / Math.sqrt(1.647 + 2 / 3 + 1e-5) * 0.5 - 1,
  ]], { rtol: 1e-13, atol: 0 });
  // eval does not update the running statistics
  assertClose(bn.runningMean!, [0.932, 0.704], { rtol: 1e-14, atol: 0 });
  assert.equal(bn.numBatchesTracked!.item(), 3);
});

Deno.test("BatchNorm1d: momentum null is the cumulative average of the batch statistics", () => {
  // Factor 1 / numBatchesTracked: after k batches the running values are the plain averages of the
  // k batch means and unbiased variances (same batches as above):
  //   mean: ([2, 4] + [3, 2] + [5, 2]) / 3 = [10/3, 8/3]
  //   var:  ([2, 8] + [9, 3] + [20/3, 20/3]) / 3 = [53/9, 53/9]
  const bn = new BatchNorm1d(2, { momentum: null });
  bn.call(tensor([[1, 2], [3, 6]]));
  bn.call(tensor([[0, 1], [3, 1], [6, 4]]));
  bn.call(tensor([[2, -1], [4, 1], [6, 3], [8, 5]]));
  assertClose(bn.runningMean!, [10 / 3, 8 / 3], { rtol: 1e-14, atol: 0 });
  assertClose(bn.runningVar!, [53 / 9, 53 / 9], { rtol: 1e-14, atol: 0 });
});

Deno.test("BatchNorm1d: a training batch of one is a clear error, as PyTorch", () => {
  const bn = new BatchNorm1d(3);
  assert.throws(
    () => bn.call(tensor([[1, 2, 3]])),
    (e: Error) =>
      e.message.includes(
        "Expected more than 1 value per channel when training, got input size [1, 3]",
      ) &&
      e.message.includes("call .eval()") && e.message.includes("at least 2 samples"),
  );
  assert.equal(bn.numBatchesTracked!.item(), 0, "the failed call did not count");
  assert.throws(
    () => bn.call(tensor([[1, 2], [3, 4]])),
    /BatchNorm1d\(3\): expected input of shape \[N, 3\], got \[2, 2\]/,
  );
});

Deno.test("BatchNorm1d: training output has mean 0 and variance ~1 per feature; options", () => {
  const x = randn([50, 4], rng(9)).mul(3).add(7);
  const bn = new BatchNorm1d(4);
  const y = bn.call(x);
  // biased variance of the output is var / (var + eps), i.e. 1 up to eps / var ~ 1e-6
  assertClose(y.mean(0), [0, 0, 0, 0], { atol: 1e-12, rtol: 0 });
  assertClose(y.var(0, false, 0), [1, 1, 1, 1], { atol: 1e-5, rtol: 0 });
  // affine = false: no parameters; trackRunningStats = false: no buffers, batch statistics in eval
  const plain = new BatchNorm1d(4, { affine: false, trackRunningStats: false });
  assert.deepEqual(plain.parameters(), []);
  assert.deepEqual(Object.keys(plain.stateDict()), []);
  plain.eval();
  assertClose(plain.call(x), y, { rtol: 1e-14, atol: 1e-14 });
  assert.throws(() => plain.call(tensor([[1, 2, 3, 4]])), /Expected more than 1 value per channel/);
});

Deno.test("BatchNorm1d: gradients flow through the batch statistics (gradCheck) and through eval", () => {
  const g = rng(10);
  const bn = new BatchNorm1d(3);
  bn.weight!.data.set([1.5, -0.5, 2]);
  bn.bias!.data.set([0.1, 0.2, -0.3]);
  const x = randn([4, 3], g, { requiresGrad: true });
  gradCheck((x) => bn.call(x), [x, bn.weight!, bn.bias!]);
  // The sum of a normalised column does not depend on x (it is always N * beta): its gradient
  // w.r.t. x is zero only if autograd differentiates through the mean and variance.
  x.grad = null;
  new BatchNorm1d(3).call(x).sum().backward();
  assertClose(x.grad!, new Tensor(new Float64Array(12), [4, 3]), { atol: 1e-12, rtol: 0 });
  bn.eval();
  gradCheck((x) => bn.call(x), [x, bn.weight!, bn.bias!]);
});

// --------------------------------------------------------------------------------- LayerNorm

Deno.test("LayerNorm: per-sample normalisation by hand, affine, gradients", () => {
  const ln = new LayerNorm(3);
  // row [1, 2, 3]: mean 2, biased var (1 + 0 + 1) / 3 = 2/3; row [10, 20, 30]: mean 20, var 200/3
  const y = ln.call(tensor([[1, 2, 3], [10, 20, 30]]));
  const a = 1 / Math.sqrt(2 / 3 + 1e-5), b = 10 / Math.sqrt(200 / 3 + 1e-5);
  assertClose(y, [[-a, 0, a], [-b, 0, b]], { rtol: 1e-14, atol: 1e-15 });
  ln.weight!.data.set([1, 2, 3]);
  ln.bias!.data.set([0, 1, 0]);
  assertClose(ln.call(tensor([[1, 2, 3]])), [[-a, 1, 3 * a]], { rtol: 1e-14, atol: 1e-15 });
  // same in eval mode; multi-dimensional normalizedShape
  assertClose(ln.eval().call(tensor([[1, 2, 3]])), [[-a, 1, 3 * a]], { rtol: 1e-14, atol: 1e-15 });
  const ln2 = new LayerNorm([2, 2], { elementwiseAffine: false });
  assert.deepEqual(ln2.parameters(), []);
  // [[1, 3], [5, 7]]: mean 4, biased var (9 + 1 + 1 + 9) / 4 = 5
  const s = Math.sqrt(5 + 1e-5);
  assertClose(ln2.call(tensor([[[1, 3], [5, 7]]])), [[[-3 / s, -1 / s], [1 / s, 3 / s]]], {
    rtol: 1e-14,
    atol: 0,
  });
  assert.throws(
    () => ln.call(tensor([[1, 2]])),
    /LayerNorm\(\[3\]\): input of shape \[1, 2\] must end in \[3\]/,
  );
  const g = rng(11);
  const ln3 = new LayerNorm(4);
  ln3.weight!.data.set([1, -2, 0.5, 3]);
  ln3.bias!.data.set([0.1, 0, 0, -1]);
  gradCheck((x) => ln3.call(x), [randn([3, 4], g, { requiresGrad: true }), ln3.weight!, ln3.bias!]);
});

// ------------------------------------------------------------------------ Module machinery

class Block extends Module {
  features = new Sequential(new Linear(4, 5, { rng: rng(0) }), new BatchNorm1d(5), new ReLU());
  heads = [new Linear(5, 2, { rng: rng(1) }), new Linear(5, 3, { rng: rng(2) })];
  drop = new Dropout(0.5, { rng: rng(3) });
  scale = Parameter.from(tensor([1.5]));
  notAParameter = tensor([1, 2]); // plain tensors are not registered
  forward(x: Tensor): Tensor {
    const h = this.drop.call(this.features.call(x));
    return this.heads[0].call(h).mul(this.scale);
  }
}

Deno.test("Module: PyTorch-style dotted names, own parameters first, arrays of modules, buffers", () => {
  const m = new Block();
  assert.deepEqual(m.namedParameters().map(([n]) => n), [
    "scale",
    "features.0.weight",
    "features.0.bias",
    "features.1.weight",
    "features.1.bias",
    "heads.0.weight",
    "heads.0.bias",
    "heads.1.weight",
    "heads.1.bias",
  ]);
  assert.equal(m.parameters().length, 9);
  assert.equal(m.numParameters(), 1 + 4 * 5 + 5 + 5 + 5 + 5 * 2 + 2 + 5 * 3 + 3);
  assert.deepEqual(m.namedBuffers().map(([n]) => n), [
    "features.1.runningMean",
    "features.1.runningVar",
    "features.1.numBatchesTracked",
  ]);
  assert.deepEqual(m.namedModules().map(([n]) => n), [
    "",
    "features",
    "features.0",
    "features.1",
    "features.2",
    "heads.0",
    "heads.1",
    "drop",
  ]);
  // a parameter shared by two layers is listed once (PyTorch's remove_duplicate)
  const shared = new Linear(3, 3, { rng: rng(4) });
  const twice = new Sequential(shared, new ReLU(), shared);
  assert.equal(twice.parameters().length, 2);
  assert.deepEqual(twice.namedParameters().map(([n]) => n), ["0.weight", "0.bias"]);
});

Deno.test("Module: train() / eval() switch every descendant; Dropout and BatchNorm follow", () => {
  const m = new Block();
  assert.ok(m.modules().every((c) => c.training));
  assert.equal(m.eval(), m, "eval returns the module");
  assert.ok(m.modules().every((c) => !c.training), "eval() reaches every descendant");
  assert.equal(m.features.at(1).training, false);
  assert.equal(m.heads[1].training, false);
  const x = randn([6, 4], rng(5));
  // in eval mode, repeated calls give identical outputs (no dropout, running statistics)
  assert.deepEqual(m.call(x).toArray(), m.call(x).toArray());
  m.train();
  assert.ok(m.modules().every((c) => c.training));
  m.train(false);
  assert.ok(m.modules().every((c) => !c.training));
  assert.throws(() => m.train("yes" as unknown as boolean), /mode must be a boolean/);
});

Deno.test("Module: zeroGrad sets gradients to null (or zeros with setToNone: false)", () => {
  const m = new Sequential(new Linear(3, 2, { rng: rng(6) }), new Tanh());
  m.call(randn([4, 3], rng(7))).sum().backward();
  assert.ok(m.parameters().every((p) => p.grad !== null && p.grad.data.some((v) => v !== 0)));
  m.zeroGrad({ setToNone: false });
  assert.ok(m.parameters().every((p) => p.grad !== null && p.grad.data.every((v) => v === 0)));
  m.zeroGrad();
  assert.ok(m.parameters().every((p) => p.grad === null));
});

Deno.test("Module: stateDict holds copies of parameters and buffers; loadStateDict round trip", () => {
  const a = new Block();
  // one training step changes the BatchNorm buffers
  a.call(randn([8, 4], rng(8)));
  const sd = a.stateDict();
  assert.deepEqual(Object.keys(sd), [
    "scale",
    "features.0.weight",
    "features.0.bias",
    "features.1.weight",
    "features.1.bias",
    "features.1.runningMean",
    "features.1.runningVar",
    "features.1.numBatchesTracked",
    "heads.0.weight",
    "heads.0.bias",
    "heads.1.weight",
    "heads.1.bias",
  ]);
  assert.equal(sd["features.1.numBatchesTracked"].item(), 1);
  // copies: changing the model afterwards leaves the snapshot alone
  const w = a.features.at(0).parameters()[0].data;
  const before = w[0];
  w[0] = 42;
  assert.equal(sd["features.0.weight"].data[0], before);
  w[0] = before;

  const b = new Block();
  b.heads[0].weight.data.fill(0); // differs from a before loading
  const wRef = b.heads[0].weight;
  const res = b.loadStateDict(sd);
  assert.deepEqual(res, { missingKeys: [], unexpectedKeys: [] });
  assert.equal(
    b.heads[0].weight,
    wRef,
    "loaded in place: the same Parameter object (optimizers stay valid)",
  );
  const x = randn([5, 4], rng(9));
  a.eval();
  b.eval();
  assert.deepEqual(b.call(x).toArray(), a.call(x).toArray());
  assert.deepEqual(b.features.at(1).stateDict(), a.features.at(1).stateDict());
});

Deno.test("Module: loadStateDict names missing keys, unexpected keys and shape mismatches", () => {
  const g = rng(10);
  const m = new Sequential(new Linear(2, 3, { rng: g }), new ReLU(), new Linear(3, 1, { rng: g }));
  const sd = m.stateDict();
  const { ["2.bias"]: _dropped, ...missing } = sd;
  assert.throws(
    () => m.loadStateDict(missing),
    (e: Error) =>
      e.message.startsWith("Error(s) in loading state_dict for Sequential:") &&
      e.message.includes('Missing key(s) in state_dict: "2.bias".') &&
      e.message.includes("strict: false"),
  );
  assert.throws(
    () => m.loadStateDict({ ...sd, "3.weight": tensor([1]) }),
    /Unexpected key\(s\) in state_dict: "3.weight"\./,
  );
  assert.throws(
    () => m.loadStateDict({ ...sd, "0.weight": tensor([[1, 2, 3], [4, 5, 6]]) }),
    /size mismatch for 0.weight: copying a param with shape \[2, 3\] from checkpoint, the shape in current model is \[3, 2\]/,
  );
  // non-strict: loads what matches, reports the rest; shape mismatches stay errors
  const w0 = m.at(0).stateDict().weight.data.slice();
  const other = new Sequential(new Linear(2, 3, { rng: rng(11) }));
  const res = m.loadStateDict({ ...other.stateDict(), extra: tensor([0]) }, { strict: false });
  assert.deepEqual(res, { missingKeys: ["2.weight", "2.bias"], unexpectedKeys: ["extra"] });
  assert.notDeepEqual(Array.from(m.at(0).stateDict().weight.data), Array.from(w0));
  assert.deepEqual(m.at(0).stateDict().weight.toArray(), other.at(0).stateDict().weight.toArray());
});

Deno.test("Sequential: indexable children named 0, 1, ...; forward composes; printout; errors", () => {
  const g = rng(12);
  const l1 = new Linear(4, 3, { rng: g }), act = new Tanh(), l2 = new Linear(3, 2, { rng: g });
  const s = new Sequential(l1, act, l2);
  assert.equal(s.length, 3);
  assert.equal(s[0], l1);
  assert.equal(s.at(-1), l2);
  assert.deepEqual([...s], [l1, act, l2]);
  assert.deepEqual(s.namedChildren().map(([n]) => n), ["0", "1", "2"]);
  assert.deepEqual(s.namedParameters().map(([n]) => n), [
    "0.weight",
    "0.bias",
    "2.weight",
    "2.bias",
  ]);
  const x = randn([5, 4], g);
  assert.deepEqual(s.call(x).toArray(), l2.call(act.call(l1.call(x))).toArray());
  assert.equal(
    s.toString(),
    "Sequential(\n  (0): Linear(inFeatures=4, outFeatures=3, bias=true)\n  (1): Tanh()\n" +
      "  (2): Linear(inFeatures=3, outFeatures=2, bias=true)\n)",
  );
  s.append(new Sigmoid());
  assert.equal(s.length, 4);
  assert.throws(() => s.at(4), /Sequential.at\(4\): index out of range for 4 modules/);
  assert.throws(
    () => new Sequential(new ReLU(), ReLU as unknown as Module),
    /argument 1 is not a Module instance \(got the class\/function ReLU; use new\)/,
  );
  // gradients through a whole stack
  const xr = randn([3, 4], g, { requiresGrad: true });
  gradCheck((x) => s.call(x), [xr, l1.weight, l2.bias!]);
});

// ---------------------------------------------------------------------------------- done when

Deno.test("done when: a two-layer MLP on data/digits.csv reaches > 95 % validation accuracy in 5 epochs", () => {
  const { X, y } = loadCSV("data/digits.csv", { target: "label" });
  assert.deepEqual(X.shape, [1797, 64]);
  const g = rng(0);
  const { train, val } = trainValTestSplit(X, y!, [0.8, 0.2], g);
  const [xTrain, xVal] = standardize(train.x, val.x).transformed;
  const model = new Sequential(
    new Linear(64, 64, { rng: g }),
    new ReLU(),
    new Linear(64, 10, { rng: g }),
  );
  // SGD with momentum 0.9 and lr 0.05, written out (PyTorch's rule: v = mu v + g; p -= lr v).
  const params = model.parameters();
  const velocity = params.map((p) => new Float64Array(p.data.length));
  const valAcc = () => noGrad(() => accuracy(model.eval().call(xVal), val.y!));
  const acc0 = valAcc();
  let firstLoss = NaN, lastEpochLoss = 0;
  for (let epoch = 0; epoch < 5; epoch++) {
    model.train();
    let sum = 0, count = 0;
    for (const b of batches(xTrain, train.y, 32, g)) {
      model.zeroGrad();
      const loss = crossEntropy(model.call(b.x), b.y!);
      loss.backward();
      if (Number.isNaN(firstLoss)) firstLoss = loss.item();
      sum += loss.item() * b.x.shape[0];
      count += b.x.shape[0];
      params.forEach((p, k) => {
        const v = velocity[k], grad = p.grad!.data, w = p.data;
        for (let i = 0; i < w.length; i++) {
          v[i] = 0.9 * v[i] + grad[i];
          w[i] -= 0.05 * v[i];
        }
      });
    }
    lastEpochLoss = sum / count;
  }
  const acc = valAcc();
  // An untrained network is near chance (10 classes); the initial loss is near log(10) = 2.30.
  assert.ok(acc0 < 0.3, `untrained accuracy ${acc0}`);
  assert.ok(Math.abs(firstLoss - Math.log(10)) < 0.5, `first loss ${firstLoss}`);
  assert.ok(lastEpochLoss < 0.1, `mean training loss in the last epoch ${lastEpochLoss}`);
  assert.ok(
    acc > 0.95,
    `validation accuracy ${acc} (${val.y!.shape[0]} samples) should exceed 0.95`,
  );
});
