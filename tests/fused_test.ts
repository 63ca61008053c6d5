// What the training step's fast paths must not change: Sequential's fused Linear + ReLU gives the
// values and gradients of the layers run one by one (bitwise, every backend); hidden activations
// live in reused buffers, so a second backward() through them is refused unless retainGraph;
// gradients go back to the pool through zeroGrad() only when no code outside the engine could
// hold them; and a steady-state training step allocates almost no typed arrays.
import assert from "node:assert/strict";
import {
  Adam,
  AdamW,
  crossEntropy,
  Dropout,
  Linear,
  nllLoss,
  noGrad,
  Optimizer,
  type ParamGroup,
  randn,
  ReLU,
  rng,
  Sequential,
  SGD,
  Tensor,
  tensor,
} from "@kit/mod.ts";
import { fmaFused, gemmBackend, setGemmBackend } from "@kit/kernels.ts";

const BACKENDS = (["wasm-fma", "wasm", "ts"] as const).filter((b) =>
  b !== "wasm-fma" || fmaFused()
);

function on<T>(b: "wasm-fma" | "wasm" | "ts", fn: () => T): T {
  const before = gemmBackend();
  setGemmBackend(b);
  try {
    return fn();
  } finally {
    setGemmBackend(before);
  }
}

/** A 64-128-128-10 MLP as a Sequential, and the same layers (shared) for a one-by-one run. */
function mlp(seed: number, sizes = [64, 128, 128, 10]) {
  const g = rng(seed);
  const linears = sizes.slice(1).map((out, i) => new Linear(sizes[i], out, { rng: g }));
  const relu = new ReLU();
  const seq = new Sequential(...linears.flatMap((l, i) => (i > 0 ? [relu, l] : [l])));
  const byHand = (x: Tensor) => {
    let h = x;
    linears.forEach((l, i) => {
      if (i > 0) h = relu.call(h);
      h = l.call(h);
    });
    return h;
  };
  return { seq, byHand, linears };
}

const data = (n: number, d: number, seed = 9) => randn([n, d], rng(seed));

function snapshot(ls: Linear[]): Float64Array[] {
  return ls.flatMap((l) => [l.weight, l.bias!]).map((p) => p.grad!.data.slice());
}

Deno.test("Sequential's fused Linear + ReLU: the values and gradients of the layers one by one, bitwise", () => {
  for (const b of BACKENDS) {
    on(b, () => {
      const { seq, byHand, linears } = mlp(1);
      const x = data(70, 64), y = tensor(Array.from({ length: 70 }, (_, i) => i % 10));
      const fused = seq.call(x);
      crossEntropy(fused, y).backward();
      const gFused = snapshot(linears);
      seq.zeroGrad();
      const plain = byHand(x);
      crossEntropy(plain, y).backward();
      assert.deepEqual(fused.data, plain.data, `${b}: forward`);
      snapshot(linears).forEach((g, i) => assert.deepEqual(gFused[i], g, `${b}: gradient ${i}`));
    });
  }
});

Deno.test("five Adam steps through Sequential equal five through the layers one by one, bitwise", () => {
  const a = mlp(2), b = mlp(2);
  const x = data(64, 64), y = tensor(Array.from({ length: 64 }, (_, i) => i % 10));
  const oa = new Adam(a.seq, { lr: 1e-2 }), ob = new Adam(b.seq, { lr: 1e-2 });
  for (let t = 0; t < 5; t++) {
    oa.zeroGrad();
    crossEntropy(a.seq.call(x), y).backward();
    oa.step();
    ob.zeroGrad();
    crossEntropy(b.byHand(x), y).backward();
    ob.step();
  }
  a.linears.forEach((l, i) => assert.deepEqual(l.weight.data, b.linears[i].weight.data, `W${i}`));
});

Deno.test("a second backward() through Sequential's hidden activations is refused, unless retainGraph", () => {
  const { seq, linears } = mlp(3);
  const x = data(8, 64);
  const loss = seq.call(x).sum();
  loss.backward();
  assert.throws(() => loss.backward(), /freed its hidden activations.*retainGraph: true/s);
  // with retainGraph the graph stays usable and the second call adds the gradients again
  seq.zeroGrad();
  const loss2 = seq.call(x).sum();
  loss2.backward(undefined, { retainGraph: true });
  const once = snapshot(linears);
  loss2.backward();
  snapshot(linears).forEach((g, i) => assert.deepEqual(g, once[i].map((v) => 2 * v)));
});

Deno.test("two forwards, then one backward of their sum: hidden buffers are not shared", () => {
  const { seq, byHand, linears } = mlp(4);
  const x1 = data(16, 64, 1), x2 = data(16, 64, 2);
  seq.call(x1).sum().add(seq.call(x2).mul(2).sum()).backward();
  const fused = snapshot(linears);
  seq.zeroGrad();
  byHand(x1).sum().add(byHand(x2).mul(2).sum()).backward();
  snapshot(linears).forEach((g, i) => assert.deepEqual(fused[i], g, `gradient ${i}`));
});

Deno.test("evaluation under noGrad between training steps changes nothing", () => {
  const { seq, byHand } = mlp(5);
  const x = data(32, 64);
  const first = noGrad(() => seq.call(x)).data.slice();
  for (let i = 0; i < 3; i++) noGrad(() => seq.call(data(32, 64, 10 + i)));
  const loss = seq.call(x).sum();
  noGrad(() => seq.call(data(32, 64, 20))); // reuses buffers while loss's graph is alive
  loss.backward();
  assert.deepEqual(noGrad(() => seq.call(x)).data, first);
  assert.deepEqual(byHand(x).data, first);
});

Deno.test("layers that are not plain Linear / ReLU run as themselves", () => {
  let calls = 0;
  class Logged extends Linear {
    override forward(x: Tensor): Tensor {
      calls++;
      return super.forward(x);
    }
  }
  const g = rng(6);
  const seq = new Sequential(
    new Logged(4, 8, { rng: g }),
    new ReLU(),
    new Dropout(0.5, { rng: g }),
    new Linear(8, 8, { rng: g }),
    new ReLU(),
    new Linear(8, 2, { rng: g }),
  );
  const out = seq.call(randn([5, 4], g));
  assert.equal(calls, 1);
  assert.deepEqual(out.shape, [5, 2]);
  out.sum().backward();
  assert.ok((seq[0] as Linear).weight.grad !== null);
  // a Sequential holding one Linear twice, as in the parameter-sharing example
  const shared = new Linear(6, 6, { rng: g });
  const twice = new Sequential(shared, new ReLU(), shared);
  const x = randn([3, 6], g);
  twice.call(x).sum().backward();
  const viaSeq = shared.weight.grad!.data.slice();
  twice.zeroGrad();
  shared.call(shared.call(x).relu()).sum().backward();
  assert.deepEqual(viaSeq, shared.weight.grad!.data);
});

Deno.test("zeroGrad recycles a gradient only if nobody outside the engine could hold it", () => {
  const { seq, linears } = mlp(7);
  const x = data(16, 64);
  const opt = new Adam(seq, { lr: 1e-3 });
  const w = linears[1].weight;
  const step = () => {
    opt.zeroGrad();
    seq.call(x).sum().backward();
    opt.step();
  };
  step();
  const kept = w.grad!; // read through `grad`: this array must never be reused
  const copy = kept.data.slice();
  for (let i = 0; i < 3; i++) step();
  assert.deepEqual(kept.data, copy, "a gradient the user holds was overwritten");
  assert.notEqual(w.grad, kept);
  // an optimizer of the user's own receives the array in update(): it may keep it
  const stash: Float64Array[] = [];
  class Keeper extends Optimizer<{ lr: number }, Record<string, never>> {
    get name() {
      return "Keeper";
    }
    protected initState() {
      return {};
    }
    protected update(_p: Tensor, g: Float64Array, _s: unknown, _o: ParamGroup) {
      stash.push(g);
    }
  }
  const keeper = new Keeper(seq, { lr: 0 });
  keeper.zeroGrad();
  seq.call(x).sum().backward();
  keeper.step();
  const copies = stash.map((a) => a.slice());
  for (let i = 0; i < 3; i++) {
    keeper.zeroGrad();
    seq.call(data(16, 64, i)).sum().backward();
  }
  stash.slice(0, copies.length).forEach((a, i) => assert.deepEqual(a, copies[i]));
  // SGD's own update keeps nothing: after zeroGrad the next backward reuses the arrays
  const sgd = new SGD(seq, { lr: 0 });
  sgd.zeroGrad();
  seq.call(x).sum().backward();
  sgd.step();
  const before = seq.parameters().map((p) => p._peekGrad()!.data);
  sgd.zeroGrad();
  seq.call(x).sum().backward();
  const after = new Set(seq.parameters().map((p) => p._peekGrad()!.data));
  assert.ok(before.some((a) => after.has(a)), "no gradient array was reused");
});

/** Median typed-array bytes allocated by one call of `step` (V8's external memory counter). */
function bytesPerStep(step: () => void): number {
  for (let i = 0; i < 50; i++) step();
  const d: number[] = [];
  for (let i = 0; i < 101; i++) {
    const m0 = Deno.memoryUsage().external;
    step();
    d.push(Deno.memoryUsage().external - m0);
  }
  return d.sort((p, q) => p - q)[50];
}

Deno.test("a steady-state training step of the 64-128-128-10 MLP allocates almost no typed arrays", () => {
  // before the buffer pool the step allocated 625 KB of arrays (measured); what is left are the
  // model's output [64, 10] and the loss's small tensors, which the caller can see
  const { seq } = mlp(8);
  const x = data(64, 64), y = tensor(Array.from({ length: 64 }, (_, i) => i % 10));
  const opt = new Adam(seq, { lr: 1e-3 });
  const bytes = bytesPerStep(() => {
    opt.zeroGrad();
    crossEntropy(seq.call(x), y).backward();
    opt.step();
  });
  assert.ok(bytes < 32 * 1024, `${bytes} bytes of typed arrays per step`);
  // the layers one by one: their outputs are the caller's, so each step allocates them
  const other = mlp(8);
  const opt2 = new Adam(other.seq, { lr: 1e-3 });
  const unfused = bytesPerStep(() => {
    opt2.zeroGrad();
    crossEntropy(other.byHand(x), y).backward();
    opt2.step();
  });
  assert.ok(unfused > 4 * bytes, `layers one by one ${unfused} bytes, Sequential ${bytes}`);
  assert.ok(unfused > 4 * bytes, `unfused ${unfused} bytes against fused ${bytes}`);
});

Deno.test("crossEntropy's one-operation path: the values and gradients of logSoftmax + nllLoss, bitwise", () => {
  const g = rng(11);
  for (const [n, c, scale] of [[64, 10, 1], [5, 3, 300], [1, 7, 1e-3], [33, 2, 40]]) {
    const data = Float64Array.from({ length: n * c }, () => g.normal() * scale);
    const y = tensor(Array.from({ length: n }, (_, i) => (i * 7) % c));
    const a = new Tensor(data.slice(), [n, c], { requiresGrad: true });
    const b = new Tensor(data.slice(), [n, c], { requiresGrad: true });
    const fused = crossEntropy(a, y), composed = nllLoss(b.logSoftmax(1), y);
    assert.ok(Object.is(fused.item(), composed.item()), `n=${n} c=${c}: loss`);
    fused.backward(tensor(2.5));
    composed.backward(tensor(2.5));
    assert.deepEqual(a.grad!.data, b.grad!.data, `n=${n} c=${c}: gradient`);
  }
});

Deno.test("Adam's moments in WebAssembly memory: the TypeScript loop's bits for Adam, AdamW and L2", () => {
  // the rule of Adam.update, written out: decay, L2, lerp (|1 - beta1| < 0.5), v, the step
  function byHand(w: Float64Array, grads: Float64Array[], o: Required<AdamCase>) {
    const m = new Float64Array(w.length), v = new Float64Array(w.length);
    const [b1, b2] = [0.9, 0.999], w1 = 1 - b1;
    grads.forEach((g, k) => {
      const t = k + 1, stepSize = o.lr / (1 - b1 ** t), c = Math.sqrt(1 - b2 ** t);
      const decay = o.decoupled ? 1 - o.lr * o.wd : 1, wd = o.decoupled ? 0 : o.wd;
      for (let i = 0; i < w.length; i++) {
        if (decay !== 1) w[i] = w[i] * decay;
        let d = g[i];
        if (wd !== 0) d = d + wd * w[i];
        m[i] = m[i] + w1 * (d - m[i]);
        v[i] = v[i] * b2 + (1 - b2) * d * d;
        w[i] = w[i] - stepSize * (m[i] / (Math.sqrt(v[i]) / c + 1e-8));
      }
    });
    return { w, m, v };
  }
  interface AdamCase {
    lr: number;
    wd: number;
    decoupled: boolean;
  }
  const g = rng(12);
  const cases: Required<AdamCase>[] = [
    { lr: 1e-2, wd: 0, decoupled: false },
    { lr: 1e-2, wd: 0.1, decoupled: false },
    { lr: 3e-2, wd: 0.05, decoupled: true },
  ];
  for (const o of cases) {
    const sizes = [257, 1000, 3]; // two in an arena (odd and even), one in a plain array
    const init = sizes.map((n) => Float64Array.from({ length: n }, () => g.normal()));
    const grads = sizes.map((n) =>
      Array.from({ length: 4 }, () => Float64Array.from({ length: n }, () => g.normal()))
    );
    const ps = init.map((w) => new Tensor(w.slice(), [w.length], { requiresGrad: true }));
    const opt = o.decoupled
      ? new AdamW(ps, { lr: o.lr, weightDecay: o.wd })
      : new Adam(ps, { lr: o.lr, weightDecay: o.wd });
    for (let k = 0; k < 4; k++) {
      ps.forEach((p, i) => (p.grad = new Tensor(grads[i][k].slice(), p.shape)));
      opt.step();
    }
    ps.forEach((p, i) => {
      const ref = byHand(init[i].slice(), grads[i], o), st = opt.state.get(p)!;
      const msg = `${JSON.stringify(o)} n=${sizes[i]}`;
      assert.deepEqual(p.data, ref.w, msg);
      assert.deepEqual(st.expAvg.data, ref.m, msg);
      assert.deepEqual(st.expAvgSq.data, ref.v, msg);
      const inArena = st.expAvg.data.buffer.byteLength > st.expAvg.data.byteLength;
      assert.equal(inArena, sizes[i] >= 256, `${msg}: where m lives`);
    });
  }
});

Deno.test("the moments' views stay valid while other optimizers come and go", () => {
  const g = rng(13);
  const w = new Tensor(Float64Array.from({ length: 500 }, () => g.normal()), [500], {
    requiresGrad: true,
  });
  const opt = new Adam([w], { lr: 0.1 });
  w.grad = new Tensor(new Float64Array(500).fill(1), [500]);
  opt.step();
  const m = opt.state.get(w)!.expAvg.data;
  const before = m.slice();
  for (let i = 0; i < 50; i++) {
    const q = new Tensor(new Float64Array(4000), [4000], { requiresGrad: true });
    q.grad = new Tensor(new Float64Array(4000).fill(2), [4000]);
    new Adam([q]).step();
  }
  assert.equal(m.length, 500);
  assert.deepEqual(m, before);
  // a group added after the first step gets room too
  const extra = new Tensor(new Float64Array(300).fill(1), [300], { requiresGrad: true });
  opt.addParamGroup({ params: [extra] });
  extra.grad = new Tensor(new Float64Array(300).fill(-1), [300]);
  w.grad = new Tensor(new Float64Array(500).fill(1), [500]);
  opt.step();
  assert.ok(
    extra.data.every((x) => Math.abs(x - 1.1) < 1e-8),
    `first step: +lr * sign, got ${extra.data[0]}`,
  );
  assert.equal(m, opt.state.get(w)!.expAvg.data);
});
