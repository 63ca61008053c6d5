// Every differentiable operation of lib/tensor.ts against central differences (full Jacobian),
// on seeded random inputs, broadcasting cases included. Acceptance: relative error below 1e-6
// (gradCheck's default rtol; see lib/check.ts for the definition).
import { ok } from "node:assert";
import { gradCheck } from "@kit/check.ts";
import { rng } from "@kit/random.ts";
import { concat, linear, randn, stack, type Tensor, tensor, where } from "@kit/tensor.ts";

const g = rng(1234);
/** Standard normal inputs that require grad. */
const rn = (...shape: number[]) => randn(shape, g, { requiresGrad: true });
/** Inputs bounded away from zero: |x| in [0.5, 2.5], random sign (for abs, relu, sign, div). */
const away = (...shape: number[]) => {
  const t = randn(shape, g, { requiresGrad: true });
  for (let i = 0; i < t.size; i++) {
    const u = g.uniform(0.5, 2.5);
    t.data[i] = t.data[i] < 0 ? -u : u;
  }
  return t;
};
/** Positive inputs in [0.5, 2.5] (for log, sqrt, pow with a tensor exponent). */
const pos = (...shape: number[]) => {
  const t = randn(shape, g, { requiresGrad: true });
  for (let i = 0; i < t.size; i++) t.data[i] = g.uniform(0.5, 2.5);
  return t;
};

function check(name: string, fn: (...xs: Tensor[]) => Tensor, inputs: () => Tensor[]) {
  Deno.test(`gradCheck: ${name}`, () => {
    const r = gradCheck(fn, inputs());
    ok(r.ok && r.maxRelError < 1e-6, `${name}: max relative error ${r.maxRelError}`);
    ok(r.checked > 0, `${name}: nothing was checked`);
  });
}

// Elementwise binary, same shape, broadcast and scalar operands
check("add same shape", (a, b) => a.add(b), () => [rn(2, 3), rn(2, 3)]);
check("add [3,1] + [1,4]", (a, b) => a.add(b), () => [rn(3, 1), rn(1, 4)]);
check("add number", (a) => a.add(2.5), () => [rn(3)]);
check("sub [2,3,4] - [3,1]", (a, b) => a.sub(b), () => [rn(2, 3, 4), rn(3, 1)]);
check("sub [] - [2,3] (0-d minuend)", (a, b) => a.sub(b), () => [rn(), rn(2, 3)]);
check("mul [2,3,4] * [4]", (a, b) => a.mul(b), () => [rn(2, 3, 4), rn(4)]);
check("mul by itself (shared input)", (a) => a.mul(a), () => [rn(5)]);
check("div [2,3] / [2,1]", (a, b) => a.div(b), () => [rn(2, 3), away(2, 1)]);
check("div number / tensor path", (a) => a.div(-3), () => [rn(4)]);
check("pow number exponent", (a) => a.pow(3), () => [rn(2, 3)]);
check("pow fractional exponent", (a) => a.pow(1.7), () => [pos(5)]);
check("pow tensor exponent [3,1] ** [4]", (a, b) => a.pow(b), () => [pos(3, 1), rn(4)]);
check("maximum broadcast [2,3] vs [3]", (a, b) => a.maximum(b), () => [rn(2, 3), rn(3)]);
check("minimum broadcast [4,1] vs [1,3]", (a, b) => a.minimum(b), () => [rn(4, 1), rn(1, 3)]);
check("maximum number", (a) => a.maximum(0.1), () => [away(6)]);

// Elementwise unary
check("neg", (a) => a.neg(), () => [rn(2, 3)]);
check("exp", (a) => a.exp(), () => [rn(2, 3)]);
check("log", (a) => a.log(), () => [pos(2, 3)]);
check("sqrt", (a) => a.sqrt(), () => [pos(2, 3)]);
check("abs", (a) => a.abs(), () => [away(2, 3)]);
check("sign (zero gradient)", (a) => a.sign().mul(a), () => [away(2, 3)]);
check("relu", (a) => a.relu(), () => [away(3, 4)]);
check("sigmoid", (a) => a.sigmoid(), () => [req(rn(3, 4).mul(3).detach())]);
check("tanh", (a) => a.tanh(), () => [rn(3, 4)]);
check("leakyRelu(0.2)", (a) => a.leakyRelu(0.2), () => [away(3, 4)]);
check("leakyRelu(-0.5)", (a) => a.leakyRelu(-0.5), () => [away(3, 4)]);
check("elu (alpha 1)", (a) => a.elu(), () => [away(3, 4)]);
check("elu(0.5)", (a) => a.elu(0.5), () => [away(3, 4)]);
check("selu", (a) => a.selu(), () => [away(3, 4)]);
check("clamp(min, max)", (a) => a.clamp(-0.5, 0.7), () => [clampSafe(rn(3, 4), -0.5, 0.7)]);
check("clamp(min only)", (a) => a.clamp(0.2), () => [clampSafe(rn(8), 0.2, Infinity)]);
check("clamp(null, max)", (a) => a.clamp(null, -0.3), () => [clampSafe(rn(8), -Infinity, -0.3)]);

// Softmax family
check("softmax last axis", (a) => a.softmax(), () => [rn(3, 4)]);
check("softmax axis 0 of 3-D", (a) => a.softmax(0), () => [rn(3, 2, 2)]);
check("softmax middle axis", (a) => a.softmax(1), () => [rn(2, 3, 2)]);
check("logSoftmax last axis", (a) => a.logSoftmax(-1), () => [rn(3, 5)]);
check("logSoftmax axis 1 of 3-D", (a) => a.logSoftmax(1), () => [rn(2, 3, 2)]);
check(
  "logSoftmax large logits",
  (a) => a.logSoftmax(),
  () => [req(rn(2, 3).mul(1).add(500).detach())],
);

// Matrix products
check("matmul 2-D", (a, b) => a.matmul(b), () => [rn(3, 4), rn(4, 5)]);
check("matmul 1-D · 1-D (dot)", (a, b) => a.matmul(b), () => [rn(4), rn(4)]);
check("matmul 1-D · 2-D", (a, b) => a.matmul(b), () => [rn(4), rn(4, 3)]);
check("matmul 2-D · 1-D", (a, b) => a.matmul(b), () => [rn(3, 4), rn(4)]);
check("matmul batched", (a, b) => a.matmul(b), () => [rn(2, 3, 4), rn(2, 4, 2)]);
check(
  "matmul batched with broadcast [2,1,3,4] · [3,4,2]",
  (a, b) => a.matmul(b),
  () => [rn(2, 1, 3, 4), rn(3, 4, 2)],
);
check("matmul batched · 2-D", (a, b) => a.matmul(b), () => [rn(2, 3, 4), rn(4, 2)]);
check("matmul 1-D · batched", (a, b) => a.matmul(b), () => [rn(4), rn(2, 4, 3)]);
check("matmul shared input x·x^T", (a) => a.matmul(a.T), () => [rn(3, 4)]);
check("linear with bias", (x, w, b) => linear(x, w, b), () => [rn(5, 3), rn(4, 3), rn(4)]);
check("linear without bias", (x, w) => linear(x, w), () => [rn(5, 3), rn(4, 3)]);
check("linear 1-D input", (x, w, b) => linear(x, w, b), () => [rn(3), rn(2, 3), rn(2)]);
check("linear 3-D input", (x, w, b) => linear(x, w, b), () => [rn(2, 3, 4), rn(2, 4), rn(2)]);

// Shape operations
check("transpose default", (a) => a.transpose(), () => [rn(3, 4)]);
check("transpose(0, 2) of 3-D", (a) => a.transpose(0, 2), () => [rn(2, 3, 4)]);
check("T", (a) => a.T, () => [rn(2, 5)]);
check("reshape with -1", (a) => a.reshape([-1, 2]), () => [rn(3, 4)]);
check("unsqueeze / squeeze", (a) => a.unsqueeze(1).mul(a.unsqueeze(0)).squeeze(), () => [rn(3)]);
check("clone", (a) => a.clone().mul(a), () => [rn(4)]);
check("concat axis 0", (a, b) => concat([a, b], 0), () => [rn(2, 3), rn(1, 3)]);
check("concat axis -1", (a, b) => concat([a, b, a], -1), () => [rn(2, 3), rn(2, 1)]);
check("stack axis 1", (a, b) => stack([a, b], 1), () => [rn(2, 3), rn(2, 3)]);

// Reductions
check("sum all", (a) => a.sum(), () => [rn(3, 4)]);
check("sum axis 0", (a) => a.sum(0), () => [rn(3, 4)]);
check("sum axes [0, 2] keepdim", (a) => a.sum([0, 2], true), () => [rn(2, 3, 4)]);
check("sum negative axis", (a) => a.sum(-1), () => [rn(2, 3, 4)]);
check("mean all", (a) => a.mean(), () => [rn(3, 4)]);
check("mean axis 1 keepdim", (a) => a.mean(1, true), () => [rn(3, 4)]);
check("var all (unbiased)", (a) => a.var(), () => [rn(3, 4)]);
check("var axis 0 biased", (a) => a.var(0, false, 0), () => [rn(5, 3)]);
check("var axes [0, 2] keepdim", (a) => a.var([0, 2], true), () => [rn(2, 3, 4)]);
check("max all", (a) => a.max(), () => [rn(3, 4)]);
check("max axis 1", (a) => a.max(1), () => [rn(3, 4)]);
check("max axis 0 keepdim", (a) => a.max(0, true), () => [rn(3, 4)]);
check("min axis -1", (a) => a.min(-1), () => [rn(2, 3, 4)]);

// Indexing and selection
check(
  "gather dim 1 (cross-entropy pick)",
  (a) => a.gather(1, tensor([[2], [0], [1]])),
  () => [rn(3, 4)],
);
check(
  "gather dim 0 with repeated indices",
  (a) => a.gather(0, tensor([[0, 1, 0], [0, 0, 1]])),
  () => [rn(2, 3)],
);
check(
  "where with broadcasting",
  (a, b) => where(tensor([[1, 0, 1], [0, 0, 1]]), a, b),
  () => [rn(2, 3), rn(3)],
);
check("where with a number", (a) => where(tensor([1, 0, 1, 0]), a, 0.5), () => [rn(4)]);

// Compositions a network uses
check(
  "two-layer MLP with cross-entropy-like loss",
  (x, w1, b1, w2, b2) =>
    linear(linear(x, w1, b1).tanh(), w2, b2).logSoftmax().gather(1, tensor([[1], [0], [2]]))
      .mean().neg(),
  () => [rn(3, 4), rn(5, 4), rn(5), rn(3, 5), rn(3)],
);
check(
  "layer norm by hand",
  (x) => x.sub(x.mean(-1, true)).div(x.var(-1, true, 0).add(1e-5).sqrt()),
  () => [rn(3, 4)],
);

function req(t: Tensor): Tensor {
  t.requiresGrad = true;
  return t;
}

/** Moves values off the clamp bounds, where the gradient has a kink. */
function clampSafe(t: Tensor, lo: number, hi: number): Tensor {
  for (let i = 0; i < t.size; i++) {
    if (Math.abs(t.data[i] - lo) < 1e-3 || Math.abs(t.data[i] - hi) < 1e-3) t.data[i] += 0.01;
  }
  return t;
}
