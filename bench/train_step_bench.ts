/**
 * One full training step of a ReLU MLP on a fixed batch: zero the gradients, forward, loss,
 * backward, Adam step (lr 1e-3). Ours: lib's Sequential / Linear / ReLU, `crossEntropy` or
 * `mseLoss`, autograd and `Adam`, in float64, on each gemm backend: WebAssembly with fused
 * multiply-add (the default where the CPU fuses it), WebAssembly SIMD, TypeScript. Baseline: the same network in TensorFlow.js (float32), written the
 * fastest idiomatic way: `tf.variable` weights, `optimizer.minimize(f, false)` with
 * `tf.train.adam` inside `tf.tidy` (tf.layers' `dense` measured 1 to 16 % slower), on its "wasm"
 * backend (the group's baseline) and its "cpu" backend.
 *
 * Before the benches, every variant trains a few steps and its loss must go down.
 *
 * Run: `deno bench -A bench/train_step_bench.ts`.
 */
import {
  Adam,
  crossEntropy,
  Linear,
  mseLoss,
  noGrad,
  randn,
  ReLU,
  rng,
  Sequential,
  type Tensor,
  tensor,
} from "../lib/mod.ts";
import { fmaFused, gemmBackend, setGemmBackend } from "../lib/kernels.ts";
import { bench, SMOKE } from "./_stats.ts";
import { tf, TF_BACKENDS, useBackend } from "./_tfjs.ts";

const DEFAULT_BACKEND = gemmBackend();

interface Arch {
  sizes: number[];
  batch: number;
  loss: "cross-entropy" | "mse";
}
const ARCHS: Arch[] = [
  { sizes: [64, 128, 128, 10], batch: 64, loss: "cross-entropy" },
  { sizes: [2, 16, 16, 1], batch: 32, loss: "mse" },
];

interface Trainer {
  step(): void;
  loss(): number;
}

/** The batch: Gaussian inputs; class k % C, or a Gaussian target for MSE. */
function batch(a: Arch) {
  const g = rng(1), out = a.sizes.at(-1)!;
  const x = randn([a.batch, a.sizes[0]], g);
  const labels = Array.from({ length: a.batch }, (_, k) => k % out);
  const y = a.loss === "mse" ? randn([a.batch, out], g) : tensor(labels);
  return { x, y, labels };
}

function ours(a: Arch): Trainer {
  const g = rng(0), { x, y } = batch(a);
  const layers = [];
  for (let l = 0; l + 1 < a.sizes.length; l++) {
    if (l > 0) layers.push(new ReLU());
    layers.push(new Linear(a.sizes[l], a.sizes[l + 1], { rng: g }));
  }
  const model = new Sequential(...layers);
  const opt = new Adam(model, { lr: 1e-3 });
  const lossOf = (out: Tensor) => (a.loss === "mse" ? mseLoss(out, y) : crossEntropy(out, y));
  return {
    step() {
      opt.zeroGrad();
      const loss = lossOf(model.call(x));
      loss.backward();
      opt.step();
    },
    loss: () => noGrad(() => lossOf(model.call(x)).item()),
  };
}

/** Call on the backend it is for: the tensors live there. */
function theirs(a: Arch): Trainer {
  const { x, y, labels } = batch(a), out = a.sizes.at(-1)!;
  const xs = tf.tensor2d(Float32Array.from(x.data), [a.batch, a.sizes[0]]);
  const ys = a.loss === "mse"
    ? tf.tensor2d(Float32Array.from(y.data), [a.batch, out])
    : tf.oneHot(tf.tensor1d(labels, "int32"), out);
  const ws: tf.Variable[] = [], bs: tf.Variable[] = [];
  for (let l = 0; l + 1 < a.sizes.length; l++) {
    const [fanIn, fanOut] = [a.sizes[l], a.sizes[l + 1]];
    ws.push(tf.variable(tf.randomNormal([fanIn, fanOut], 0, Math.sqrt(2 / fanIn), "float32", l)));
    bs.push(tf.variable(tf.zeros([fanOut])));
  }
  const opt = tf.train.adam(1e-3);
  const lossFn = (): tf.Scalar => {
    let h: tf.Tensor = xs;
    for (let l = 0; l < ws.length; l++) {
      h = tf.add(tf.matMul(h, ws[l]), bs[l]);
      if (l + 1 < ws.length) h = tf.relu(h);
    }
    return a.loss === "mse"
      ? tf.losses.meanSquaredError(ys, h)
      : tf.losses.softmaxCrossEntropy(ys, h);
  };
  return {
    step: () => tf.tidy(() => void opt.minimize(lossFn, false)),
    loss: () => tf.tidy(() => lossFn().dataSync()[0]),
  };
}

for (const a of ARCHS) {
  const group = `train step MLP ${a.sizes.join("-")} (batch ${a.batch}, ${a.loss}, Adam)`;
  const cases: { name: string; make: () => Trainer; before: () => void | Promise<void> }[] = [];
  for (const b of TF_BACKENDS.toReversed()) {
    cases.push({ name: `tfjs-${b} (f32)`, make: () => theirs(a), before: () => useBackend(b) });
  }
  const label = { "wasm-fma": "WASM FMA", wasm: "WASM SIMD", ts: "TypeScript" } as const;
  for (const k of ["wasm-fma", "wasm", "ts"] as const) {
    if (k === "wasm-fma" && !fmaFused()) continue;
    const name = `ours (f64, gemm ${label[k]})`;
    cases.push({ name, make: () => ours(a), before: () => setGemmBackend(k) });
  }
  for (const c of cases) {
    await c.before();
    const t = c.make();
    const before = t.loss();
    for (let i = 0; i < (SMOKE ? 10 : 50); i++) t.step();
    const after = t.loss();
    if (!(after < before)) throw new Error(`${group}, ${c.name}: loss ${before} -> ${after}`);
    bench({
      group,
      name: c.name,
      baseline: c.name.startsWith("tfjs-wasm"),
      before: c.before,
      fn: t.step,
    });
  }
}
setGemmBackend(DEFAULT_BACKEND);
