// Initializers against PyTorch's documented formulas (torch.nn.init).
//
// Statistical tolerances: for n i.i.d. draws with standard deviation sigma,
// - the sample mean has standard error sigma / sqrt(n);
// - the sample standard deviation s has relative standard error about sqrt((kappa - 1) / (4 n)),
//   with kappa the kurtosis: 3 for a normal (-> sqrt(1 / (2n))), 9/5 for a uniform
//   (-> sqrt(1 / (5n))).
// Every statistical check below allows 5 standard errors (a false alarm has probability < 1e-6,
// and the seeds are fixed anyway, so the outcome is the same on every run).
import assert from "node:assert/strict";
import { assertClose } from "@kit/check.ts";
import { Tensor, zeros } from "@kit/tensor.ts";
import { rng } from "@kit/random.ts";
import * as init from "@kit/init.ts";
import { Linear } from "@kit/nn.ts";

function stats(t: Tensor): { mean: number; std: number; maxAbs: number; min: number; max: number } {
  const d = t.data;
  let s = 0, min = Infinity, max = -Infinity, maxAbs = 0;
  for (const v of d) {
    s += v;
    min = Math.min(min, v);
    max = Math.max(max, v);
    maxAbs = Math.max(maxAbs, Math.abs(v));
  }
  const mean = s / d.length;
  let ss = 0;
  for (const v of d) ss += (v - mean) ** 2;
  return { mean, std: Math.sqrt(ss / (d.length - 1)), maxAbs, min, max };
}

/** 5 standard errors of the sample std, relative (see the header). */
const stdTol = (n: number, kind: "uniform" | "normal") =>
  5 * Math.sqrt(1 / ((kind === "normal" ? 2 : 5) * n));

function checkUniform(t: Tensor, bound: number, label: string) {
  const n = t.data.length;
  const st = stats(t);
  assert.ok(st.maxAbs <= bound, `${label}: max |w| = ${st.maxAbs} exceeds the bound ${bound}`);
  // With n draws, P(max |w| < bound (1 - 1e-3)) = (1 - 1e-3)^n, below 1e-10 for n >= 25000.
  assert.ok(
    n < 25000 || st.maxAbs > bound * (1 - 1e-3),
    `${label}: max |w| = ${st.maxAbs} far below ${bound}`,
  );
  const sigma = bound / Math.sqrt(3); // std of U(-a, a) is a / sqrt(3)
  assert.ok(Math.abs(st.mean) < 5 * sigma / Math.sqrt(n), `${label}: mean ${st.mean} not near 0`);
  assert.ok(
    Math.abs(st.std / sigma - 1) < stdTol(n, "uniform"),
    `${label}: std ${st.std}, expected ${sigma} within ${stdTol(n, "uniform")} relative`,
  );
}

function checkNormal(t: Tensor, mean: number, sigma: number, label: string) {
  const n = t.data.length;
  const st = stats(t);
  assert.ok(
    Math.abs(st.mean - mean) < 5 * sigma / Math.sqrt(n),
    `${label}: mean ${st.mean}, expected ${mean}`,
  );
  assert.ok(
    Math.abs(st.std / sigma - 1) < stdTol(n, "normal"),
    `${label}: std ${st.std}, expected ${sigma} within ${stdTol(n, "normal")} relative`,
  );
}

Deno.test("calculateGain matches torch.nn.init.calculate_gain", () => {
  assert.equal(init.calculateGain("linear"), 1);
  assert.equal(init.calculateGain("conv2d"), 1);
  assert.equal(init.calculateGain("sigmoid"), 1);
  assert.equal(init.calculateGain("tanh"), 5 / 3);
  assert.equal(init.calculateGain("relu"), Math.SQRT2);
  assert.equal(init.calculateGain("selu"), 3 / 4);
  // leaky_relu: sqrt(2 / (1 + slope^2)); default slope 0.01; slope 0 is the ReLU gain.
  assert.equal(init.calculateGain("leaky_relu"), Math.sqrt(2 / (1 + 0.01 ** 2)));
  assert.equal(init.calculateGain("leaky_relu", 0.2), Math.sqrt(2 / 1.04));
  assert.equal(init.calculateGain("leaky_relu", 0), Math.SQRT2);
  assert.equal(init.calculateGain("leaky_relu", Math.sqrt(5)), Math.sqrt(1 / 3));
  assert.throws(
    () => init.calculateGain("softmax" as init.Nonlinearity),
    /unsupported nonlinearity "softmax"/,
  );
});

Deno.test("fan in / fan out follow PyTorch: size(1) * receptive field, size(0) * receptive field", () => {
  assert.deepEqual(init.calculateFanInAndFanOut(zeros([10, 64])), [64, 10]);
  // conv weight [out=8, in=3, 5, 5]: receptive field 25.
  assert.deepEqual(init.calculateFanInAndFanOut(zeros([8, 3, 5, 5])), [75, 200]);
  assert.throws(
    () => init.calculateFanInAndFanOut(zeros([7])),
    /fewer than 2 dimensions \(shape \[7\]\)/,
  );
});

Deno.test("xavierUniform: U(-a, a), a = gain sqrt(6 / (fanIn + fanOut))", () => {
  const w = zeros([200, 300]);
  const out = init.xavierUniform(w, { rng: rng(1) });
  assert.equal(out, w, "returns the same tensor (in place)");
  checkUniform(w, Math.sqrt(6 / 500), "xavierUniform");
  const w2 = init.xavierUniform(zeros([200, 300]), {
    gain: init.calculateGain("tanh"),
    rng: rng(2),
  });
  checkUniform(w2, (5 / 3) * Math.sqrt(6 / 500), "xavierUniform(tanh gain)");
});

Deno.test("xavierNormal: N(0, gain^2 * 2 / (fanIn + fanOut))", () => {
  const w = init.xavierNormal(zeros([200, 300]), { rng: rng(3) });
  checkNormal(w, 0, Math.sqrt(2 / 500), "xavierNormal");
  const w2 = init.xavierNormal(zeros([200, 300]), { gain: 2, rng: rng(4) });
  checkNormal(w2, 0, 2 * Math.sqrt(2 / 500), "xavierNormal(gain 2)");
});

Deno.test("kaimingUniform: bound sqrt(3) * gain / sqrt(fan); defaults give sqrt(6 / fanIn)", () => {
  checkUniform(
    init.kaimingUniform(zeros([256, 128]), { rng: rng(5) }),
    Math.sqrt(6 / 128),
    "kaiming fan_in",
  );
  checkUniform(
    init.kaimingUniform(zeros([256, 128]), { mode: "fan_out", rng: rng(6) }),
    Math.sqrt(6 / 256),
    "kaiming fan_out",
  );
  checkUniform(
    init.kaimingUniform(zeros([256, 128]), { nonlinearity: "tanh", rng: rng(7) }),
    Math.sqrt(3) * (5 / 3) / Math.sqrt(128),
    "kaiming tanh",
  );
  // a = sqrt(5), PyTorch's nn.Linear default: gain sqrt(2 / 6), bound = sqrt(3) sqrt(1/3) / sqrt(fanIn) = 1 / sqrt(fanIn).
  checkUniform(
    init.kaimingUniform(zeros([256, 128]), { a: Math.sqrt(5), rng: rng(8) }),
    (1 / Math.sqrt(128)) * (1 + 1e-12),
    "kaiming a=sqrt(5)",
  );
  assert.throws(
    () => init.kaimingUniform(zeros([2, 2]), { mode: "fan_middle" as "fan_in", rng: rng(0) }),
    /mode must be "fan_in" or "fan_out"/,
  );
});

Deno.test("kaimingNormal: std gain / sqrt(fan); ReLU fan_in gives sqrt(2 / fanIn)", () => {
  checkNormal(
    init.kaimingNormal(zeros([256, 128]), { rng: rng(9) }),
    0,
    Math.sqrt(2 / 128),
    "kaimingNormal",
  );
  checkNormal(
    init.kaimingNormal(zeros([256, 128]), { nonlinearity: "relu", mode: "fan_out", rng: rng(10) }),
    0,
    Math.sqrt(2 / 256),
    "kaimingNormal fan_out",
  );
});

Deno.test("draw order: row-major, one rng.uniform(low, high) / rng.normal(mean, std) per element", () => {
  const b = Math.sqrt(6 / 3);
  const w = init.kaimingUniform(zeros([2, 3]), { rng: rng(0) });
  const g = rng(0);
  const expected = Array.from({ length: 6 }, () => g.uniform(-b, b));
  assert.deepEqual(Array.from(w.data), expected);
  // NumPy: np.random.seed(0); np.random.rand() = 0.5488135039273248, so w[0] = -b + 2b * 0.5488...
  assertClose(w.data[0], -b + 2 * b * 0.5488135039273248, { atol: 1e-15, rtol: 0 });
  const n = init.normal(zeros([4]), { mean: 1, std: 2, rng: rng(0) });
  // np.random.seed(0); np.random.randn() = 1.764052345967664 -> 1 + 2 * 1.764...
  assertClose(n.data[0], 1 + 2 * 1.764052345967664, { atol: 1e-14, rtol: 0 });
});

Deno.test("normal, uniform, zeros, ones, constant", () => {
  checkNormal(
    init.normal(zeros([100, 100]), { mean: 3, std: 0.5, rng: rng(11) }),
    3,
    0.5,
    "normal(3, 0.5)",
  );
  const u = init.uniform(zeros([100, 100]), { a: -2, b: 5, rng: rng(12) });
  const st = stats(u);
  assert.ok(st.min >= -2 && st.max < 5, `uniform(-2, 5) out of range: [${st.min}, ${st.max}]`);
  // mean of U(-2, 5) is 1.5, std 7 / sqrt(12).
  assert.ok(Math.abs(st.mean - 1.5) < 5 * (7 / Math.sqrt(12)) / 100);
  const u01 = stats(init.uniform(zeros([1000]), { rng: rng(13) }));
  assert.ok(u01.min >= 0 && u01.max < 1);
  const t = zeros([2, 2]);
  const data = t.data;
  assert.deepEqual(Array.from(init.ones(t).data), [1, 1, 1, 1]);
  assert.deepEqual(Array.from(init.constant(t, 0.25).data), [0.25, 0.25, 0.25, 0.25]);
  assert.deepEqual(Array.from(init.zeros(t).data), [0, 0, 0, 0]);
  assert.equal(t.data, data, "in place: the same Float64Array");
});

Deno.test("random initializers need a seeded generator", () => {
  assert.throws(
    () => init.xavierUniform(zeros([2, 2]), {} as { rng: ReturnType<typeof rng> }),
    /init\.xavierUniform: pass a seeded generator/,
  );
});

Deno.test("Linear is initialised as PyTorch: U(-1/sqrt(in), 1/sqrt(in)) for weight then bias", () => {
  const lin = new Linear(128, 256, { rng: rng(14) });
  const bound = 1 / Math.sqrt(128);
  checkUniform(lin.weight, bound * (1 + 1e-12), "Linear.weight");
  assert.ok(stats(lin.bias!).maxAbs <= bound);
  // Exact draws: weight row-major first, then bias, from the same generator.
  const small = new Linear(3, 2, { rng: rng(0) });
  const g = rng(0);
  const b3 = 1 / Math.sqrt(3);
  const w = Array.from({ length: 6 }, () => g.uniform(-b3, b3));
  const bias = Array.from({ length: 2 }, () => g.uniform(-b3, b3));
  for (let i = 0; i < 6; i++) {
    assertClose(small.weight.data[i], w[i], { atol: 1e-15, rtol: 0, msg: `weight[${i}]` });
  }
  for (let i = 0; i < 2; i++) {
    assertClose(small.bias!.data[i], bias[i], { atol: 1e-15, rtol: 0, msg: `bias[${i}]` });
  }
});

Deno.test("lecunNormal: N(0, 1 / fanIn), the same draws as kaimingNormal with 'linear'", () => {
  // fan_in 128, fan_out 256: a fan_out or Glorot variance would be off by far more than 5 SE
  checkNormal(
    init.lecunNormal(zeros([256, 128]), { rng: rng(21) }),
    0,
    Math.sqrt(1 / 128),
    "lecun",
  );
  const a = init.lecunNormal(zeros([5, 7]), { rng: rng(22) });
  const b = init.kaimingNormal(zeros([5, 7]), { nonlinearity: "linear", rng: rng(22) });
  assert.deepEqual(Array.from(a.data), Array.from(b.data));
  // PyTorch's SELU gain is 3/4, not LeCun's 1: kaiming_normal_(w, nonlinearity="selu")
  checkNormal(
    init.kaimingNormal(zeros([256, 128]), { nonlinearity: "selu", rng: rng(23) }),
    0,
    0.75 / Math.sqrt(128),
    "kaimingNormal selu",
  );
  assert.equal(init.lecunNormal(zeros([0, 3]), { rng: rng(0) }).size, 0);
});

Deno.test("lecunUniform: U(-a, a) with a = sqrt(3 / fanIn)", () => {
  checkUniform(init.lecunUniform(zeros([256, 128]), { rng: rng(24) }), Math.sqrt(3 / 128), "lecun");
});
