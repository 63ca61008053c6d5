/**
 * `parallelMap` (lib/parallel.ts) on the double-descent sweep: 20 seeds, each building its own
 * random-ReLU-feature data and fitting p = 10, 20, ..., 300 by minimum-norm least squares, on the
 * main thread (the baseline) and on Web Workers. Worker start-up (loading the kit in each) is
 * inside the timing, as a notebook would pay it. The curves must be bit-identical first.
 *
 * Run: `deno bench -A bench/parallel_bench.ts`; `BENCH_SMOKE=1` runs 2 seeds.
 */
import * as kit from "../lib/mod.ts";
import { parallelMap } from "../lib/parallel.ts";
import { bench, SMOKE } from "./_stats.ts";

const SEEDS = Array.from({ length: SMOKE ? 2 : 20 }, (_, i) => i);
const WORKERS = navigator.hardwareConcurrency;

/** Test MSE for p = 10..300 of one seed; self-contained, as parallelMap requires. */
const sweepSeed = (seed: number, k: typeof kit): number[] => {
  const N = 100, NT = 200, D = 10, PMAX = 300, g = k.rng(seed);
  const beta = Float64Array.from({ length: D }, () => g.normal() / Math.sqrt(D));
  const draw = (m: number) => {
    const x = Float64Array.from({ length: m * D }, () => g.normal());
    const y = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      let t = 0;
      for (let j = 0; j < D; j++) t += x[i * D + j] * beta[j];
      y[i] = t + 0.5 * g.normal();
    }
    return { x, y };
  };
  const tr = draw(N), te = draw(NT);
  const W = Float64Array.from({ length: D * PMAX }, () => g.normal() / Math.sqrt(D));
  const feats = (x: Float64Array, m: number, p: number) => {
    const f = new Float64Array(m * p);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < p; j++) {
        let t = 0;
        for (let q = 0; q < D; q++) t += x[i * D + q] * W[q * PMAX + j];
        f[i * p + j] = t > 0 ? t : 0;
      }
    }
    return f;
  };
  const out: number[] = [];
  for (let p = 10; p <= PMAX; p += 10) {
    const w = k.minNormLstsqRaw(feats(tr.x, N, p), N, p, tr.y, 1).w;
    const ft = feats(te.x, NT, p);
    let s = 0;
    for (let i = 0; i < NT; i++) {
      let t = 0;
      for (let j = 0; j < p; j++) t += ft[i * p + j] * w[j];
      s += (t - te.y[i]) ** 2;
    }
    out.push(s / NT);
  }
  return out;
};

const serial = SEEDS.map((s) => sweepSeed(s, kit));
const parallel = await parallelMap(SEEDS, sweepSeed, { workers: WORKERS });
if (JSON.stringify(serial) !== JSON.stringify(parallel)) {
  throw new Error("parallel_bench: the workers' test errors differ from the main thread's");
}

const group = `double-descent sweep on Web Workers (${SEEDS.length} seeds x 30 fits)`;
bench({
  group,
  name: "main thread, one seed after another",
  baseline: true,
  n: 5,
  warmup: 1,
  fn: () => void SEEDS.map((s) => sweepSeed(s, kit)),
});
bench({
  group,
  name: `parallelMap, ${WORKERS} workers (start-up included)`,
  n: 5,
  warmup: 1,
  fn: async () => void (await parallelMap(SEEDS, sweepSeed, { workers: WORKERS })),
});
