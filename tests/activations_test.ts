// Leaky ReLU, ELU and SELU against PyTorch: values and gradients at fixed inputs (0 and both
// sides of it included), the modules, the functional forms and argument checks.
//
// Reference values: PyTorch 1.13 (Debian's python3-torch) in float64, printed with repr():
//   import torch, torch.nn.functional as F; torch.set_default_dtype(torch.float64)
//   x = torch.tensor(XS, requires_grad=True); y = F.elu(x)  # or leaky_relu(x, s), selu(x)
//   y.backward(torch.ones_like(y)); print(y.tolist(), x.grad.tolist())
import assert from "node:assert/strict";
import { assertClose } from "@kit/check.ts";
import { SELU_ALPHA, SELU_SCALE, type Tensor, tensor } from "@kit/tensor.ts";
import { ELU, elu, LeakyReLU, leakyRelu, SELU, selu } from "@kit/nn.ts";

const XS = [-40, -3, -1, -0.5, -1e-3, 0, 1e-3, 0.5, 2, 30];

const TORCH: Record<string, { fn: (x: Tensor) => Tensor; y: number[]; g: number[] }> = {
  "leaky_relu(x, 0.2)": {
    fn: (x) => x.leakyRelu(0.2),
    y: [-8.0, -0.6000000000000001, -0.2, -0.1, -0.0002, 0.0, 0.001, 0.5, 2.0, 30.0],
    g: [0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 1, 1, 1, 1],
  },
  "leaky_relu(x) (slope 0.01)": {
    fn: (x) => new LeakyReLU().call(x),
    y: [-0.4, -0.03, -0.01, -0.005, -1e-05, 0.0, 0.001, 0.5, 2.0, 30.0],
    g: [0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 1, 1, 1, 1],
  },
  "leaky_relu(x, 1.5)": {
    fn: (x) => leakyRelu(x, 1.5),
    y: [-60.0, -4.5, -1.5, -0.75, -0.0015, 0.0, 0.001, 0.5, 2.0, 30.0],
    g: [1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1, 1, 1, 1],
  },
  "leaky_relu(x, -0.3)": {
    fn: (x) => new LeakyReLU(-0.3).call(x),
    y: [12.0, 0.8999999999999999, 0.3, 0.15, 0.0003, -0.0, 0.001, 0.5, 2.0, 30.0],
    g: [-0.3, -0.3, -0.3, -0.3, -0.3, -0.3, 1, 1, 1, 1],
  },
  "elu(x)": {
    fn: (x) => new ELU().call(x),
    y: [
      -1.0,
      -0.950212931632136,
      -0.6321205588285577,
      -0.3934693402873666,
      -0.000999500166624978,
      0.0,
      0.001,
      0.5,
      2.0,
      30.0,
    ],
    g: [
      4.248354255291589e-18,
      0.049787068367863944,
      0.36787944117144233,
      0.6065306597126334,
      0.999000499833375,
      1.0,
      1,
      1,
      1,
      1,
    ],
  },
  "elu(x, 0.5)": {
    fn: (x) => elu(x, 0.5),
    y: [
      -0.5,
      -0.475106465816068,
      -0.31606027941427883,
      -0.1967346701436833,
      -0.000499750083312489,
      0.0,
      0.001,
      0.5,
      2.0,
      30.0,
    ],
    g: [
      2.1241771276457944e-18,
      0.024893534183931972,
      0.18393972058572117,
      0.3032653298563167,
      0.4995002499166875,
      0.5,
      1,
      1,
      1,
      1,
    ],
  },
  "selu(x)": {
    fn: (x) => new SELU().call(x),
    y: [
      -1.7580993408473766,
      -1.6705687287671118,
      -1.1113307378125625,
      -0.6917581878028713,
      -0.0017572205841202171,
      0.0,
      0.0010507009873554805,
      0.5253504936777402,
      2.101401974710961,
      31.521029620664414,
    ],
    g: [
      7.46902881591429e-18,
      0.08753061208026487,
      0.646768603034814,
      1.0663411530445053,
      1.7563421202632563,
      1.7580993408473766,
      1.0507009873554805,
      1.0507009873554805,
      1.0507009873554805,
      1.0507009873554805,
    ],
  },
};

for (const [name, ref] of Object.entries(TORCH)) {
  Deno.test(`${name}: values and gradients as PyTorch's, the kink at 0 included`, () => {
    const x = tensor(XS, { requiresGrad: true });
    const y = ref.fn(x);
    // PyTorch 1.13's CPU kernel computes exp(x) - 1, which near 0 is off by up to an ulp of 1
    // times alpha * scale (about 4e-16 absolute); the kit uses expm1, exact to rounding.
    assertClose(y, ref.y, { rtol: 1e-14, atol: 4e-16, msg: `${name} forward` });
    y.sum().backward();
    assertClose(x.grad!, ref.g, { rtol: 1e-14, atol: 1e-300, msg: `${name} backward` });
  });
}

Deno.test("selu: PyTorch's constants; selu = scale * elu(x, alpha); the functional form", () => {
  // torch.nn.SELU's documented alpha and scale, to float64 precision
  assert.equal(SELU_ALPHA, 1.6732632423543772);
  assert.equal(SELU_SCALE, 1.0507009873554805);
  const x = tensor([-2, -0.1, 0.3, 4]);
  assertClose(selu(x), x.elu(SELU_ALPHA).mul(SELU_SCALE), { rtol: 1e-15, atol: 0 });
});

Deno.test("leaky ReLU, ELU, SELU: NaN passes through; no graph without requiresGrad", () => {
  for (
    const f of [(t: Tensor) => t.leakyRelu(0.1), (t: Tensor) => t.elu(), (t: Tensor) => t.selu()]
  ) {
    const y = f(tensor([NaN, 1]));
    assert.ok(Number.isNaN(y.data[0]));
    assert.equal(y.requiresGrad, false);
  }
});

Deno.test("LeakyReLU, ELU: bad arguments name the layer and the value", () => {
  assert.throws(() => new LeakyReLU(NaN), /LeakyReLU\(NaN\): negativeSlope must be a finite/);
  assert.throws(() => new ELU(Infinity), /ELU\(Infinity\): alpha must be a finite/);
  assert.throws(() => tensor([1]).elu(NaN), /elu\(NaN\)/);
  assert.throws(() => tensor([1]).leakyRelu(-Infinity), /leakyRelu\(-Infinity\)/);
  assert.equal(new ELU(0.5).toString().includes("alpha=0.5"), true);
  assert.equal(new LeakyReLU(0.2).toString().includes("negativeSlope=0.2"), true);
});
