/**
 * The double-descent sweep shared by `linalg_bench.ts` and `parallel_bench.ts`: per seed, a noisy
 * linear teacher on Gaussian inputs (n = 100 training rows, 200 test rows, d = 10) and random
 * ReLU features relu(x W), W ~ N(0, 1/d), of which the first p = 10, 20, ..., 300 are fitted by
 * minimum-norm least squares.
 *
 * @module
 */
import { minNormLstsqRaw } from "../lib/linalg.ts";
import { rng } from "../lib/random.ts";

export const N = 100, N_TEST = 200, D = 10, P_MAX = 300, NOISE = 0.5;
export const PS: readonly number[] = Array.from({ length: 30 }, (_, i) => 10 * (i + 1));

/** One seed's data; `features(split, p)` is relu(x W) of the first p columns, row-major. */
export function seedData(seed: number) {
  const g = rng(seed);
  const beta = Float64Array.from({ length: D }, () => g.normal() / Math.sqrt(D));
  const draw = (m: number) => {
    const x = Float64Array.from({ length: m * D }, () => g.normal());
    const y = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      let t = 0;
      for (let j = 0; j < D; j++) t += x[i * D + j] * beta[j];
      y[i] = t + NOISE * g.normal();
    }
    return { x, y, m };
  };
  const train = draw(N), test = draw(N_TEST);
  const W = Float64Array.from({ length: D * P_MAX }, () => g.normal() / Math.sqrt(D));
  const features = (split: { x: Float64Array; m: number }, p: number) => {
    const f = new Float64Array(split.m * p);
    for (let i = 0; i < split.m; i++) {
      for (let j = 0; j < p; j++) {
        let t = 0;
        for (let k = 0; k < D; k++) t += split.x[i * D + k] * W[k * P_MAX + j];
        f[i * p + j] = t > 0 ? t : 0;
      }
    }
    return f;
  };
  return { train, test, features };
}

/** Mean squared error of the predictions `features · w` against `y`. */
export function mse(features: Float64Array, w: ArrayLike<number>, y: Float64Array): number {
  const m = y.length, p = features.length / m;
  let s = 0;
  for (let i = 0; i < m; i++) {
    let t = 0;
    for (let j = 0; j < p; j++) t += features[i * p + j] * w[j];
    s += (t - y[i]) ** 2;
  }
  return s / m;
}

/** Test error for every p of one seed, data generation included (a `parallelMap` job). */
export function sweepSeed(seed: number): number[] {
  const { train, test, features } = seedData(seed);
  return PS.map((p) => {
    const w = minNormLstsqRaw(features(train, p), N, p, train.y, 1).w;
    return mse(features(test, p), w, test.y);
  });
}
