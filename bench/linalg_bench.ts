/**
 * The double-descent sweep of issue 6: 600 minimum-norm least-squares fits (20 seeds x
 * p = 10, 20, ..., 300 random ReLU features, n = 100 training rows, 200 test rows), each followed
 * by its test mean squared error. `minNormLstsqRaw` (pivoted Householder QR, Jacobi SVD of R only
 * near rank deficiency) against ml-matrix's `pseudoInverse` (a full SVD) in the same run, with
 * ml-matrix as the group's baseline (medians printed by bench/_stats.ts). Before the benches run,
 * both sweeps are computed once and their test-error curves (mean over seeds for each p) must
 * agree to a relative 1e-9.
 *
 * Run: `deno bench -A bench/linalg_bench.ts`; `BENCH_SMOKE=1` shrinks the sweep to 2 seeds.
 */
import { Matrix, pseudoInverse } from "ml-matrix";
import { minNormLstsqRaw } from "../lib/linalg.ts";
import { rng } from "../lib/random.ts";
import { bench, SMOKE } from "./_stats.ts";

const SEEDS = SMOKE ? 2 : 20;
const N = 100, N_TEST = 200, D = 10, P_MAX = 300, NOISE = 0.5;
const PS = Array.from({ length: 30 }, (_, i) => 10 * (i + 1));

interface Fit {
  p: number;
  train: Float64Array; // n x p row-major
  test: Float64Array; // nTest x p
  y: Float64Array;
  yTest: Float64Array;
  mat: Matrix; // the same training features for ml-matrix, built outside the timed loop
}

/** Random ReLU features relu(x W), W ~ N(0, 1/d), of a noisy linear teacher on Gaussian inputs. */
function makeFits(): Fit[] {
  const fits: Fit[] = [];
  for (let s = 0; s < SEEDS; s++) {
    const g = rng(s);
    const beta = Float64Array.from({ length: D }, () => g.normal() / Math.sqrt(D));
    const draw = (m: number) => {
      const x = Float64Array.from({ length: m * D }, () => g.normal());
      const y = new Float64Array(m);
      for (let i = 0; i < m; i++) {
        let t = 0;
        for (let j = 0; j < D; j++) t += x[i * D + j] * beta[j];
        y[i] = t + NOISE * g.normal();
      }
      return { x, y };
    };
    const tr = draw(N), te = draw(N_TEST);
    const W = Float64Array.from({ length: D * P_MAX }, () => g.normal() / Math.sqrt(D));
    const feats = (x: Float64Array, m: number, p: number) => {
      const f = new Float64Array(m * p);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < p; j++) {
          let t = 0;
          for (let k = 0; k < D; k++) t += x[i * D + k] * W[k * P_MAX + j];
          f[i * p + j] = t > 0 ? t : 0;
        }
      }
      return f;
    };
    for (const p of PS) {
      const train = feats(tr.x, N, p);
      const rows = Array.from(
        { length: N },
        (_, i) => Array.from(train.subarray(i * p, i * p + p)),
      );
      fits.push({
        p,
        train,
        test: feats(te.x, N_TEST, p),
        y: tr.y,
        yTest: te.y,
        mat: new Matrix(rows),
      });
    }
  }
  return fits;
}

function testMSE(f: Fit, w: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < N_TEST; i++) {
    let t = 0;
    for (let j = 0; j < f.p; j++) t += f.test[i * f.p + j] * w[j];
    s += (t - f.yTest[i]) ** 2;
  }
  return s / N_TEST;
}

/** Test MSE of every fit, with our pivoted-QR minimum-norm solver. */
function sweepOurs(fits: Fit[]): Float64Array {
  return Float64Array.from(fits, (f) => testMSE(f, minNormLstsqRaw(f.train, N, f.p, f.y, 1).w));
}

/** Test MSE of every fit, with ml-matrix: w = pseudoInverse(X) y. */
function sweepMlMatrix(fits: Fit[]): Float64Array {
  return Float64Array.from(fits, (f) => {
    const w = pseudoInverse(f.mat).mmul(Matrix.columnVector(Array.from(f.y))).to1DArray();
    return testMSE(f, w);
  });
}

/** Mean over seeds for each p. */
function curve(errs: Float64Array): Float64Array {
  const c = new Float64Array(PS.length);
  errs.forEach((e, i) => (c[i % PS.length] += e / SEEDS));
  return c;
}

const fits = makeFits();
const ours = curve(sweepOurs(fits)), theirs = curve(sweepMlMatrix(fits));
let worst = 0, worstP = 0;
for (let i = 0; i < PS.length; i++) {
  const r = Math.abs(ours[i] - theirs[i]) / Math.abs(theirs[i]);
  if (r > worst) [worst, worstP] = [r, PS[i]];
}
console.log(
  `double-descent sweep (${fits.length} fits): largest relative difference of the test-error ` +
    `curves ${worst.toExponential(2)} (at p = ${worstP}); curve at p = n: ${ours[PS.indexOf(N)]}`,
);
if (!(worst < 1e-9)) {
  throw new Error(`linalg_bench: test-error curves differ by ${worst} (> 1e-9) at p = ${worstP}`);
}

bench({
  group: "double-descent sweep",
  name: `ml-matrix pseudoInverse, ${fits.length} fits`,
  baseline: true,
  n: 3,
  warmup: 1,
  fn: () => void sweepMlMatrix(fits),
});

bench({
  group: "double-descent sweep",
  name: `minNormLstsqRaw (pivoted QR), ${fits.length} fits`,
  n: 10,
  warmup: 1,
  fn: () => void sweepOurs(fits),
});
