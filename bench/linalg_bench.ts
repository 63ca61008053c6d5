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
import { mse, N, PS, seedData } from "./_sweep.ts";
import { bench, SMOKE } from "./_stats.ts";

const SEEDS = SMOKE ? 2 : 20;

interface Fit {
  p: number;
  train: Float64Array; // n x p row-major
  test: Float64Array; // nTest x p
  y: Float64Array;
  yTest: Float64Array;
  mat: Matrix; // the same training features for ml-matrix, built outside the timed loop
}

/** Every seed's features for every p, built once outside the timed loops. */
function makeFits(): Fit[] {
  const fits: Fit[] = [];
  for (let s = 0; s < SEEDS; s++) {
    const { train, test, features } = seedData(s);
    for (const p of PS) {
      const f = features(train, p);
      const rows = Array.from({ length: N }, (_, i) => Array.from(f.subarray(i * p, i * p + p)));
      fits.push({
        p,
        train: f,
        test: features(test, p),
        y: train.y,
        yTest: test.y,
        mat: new Matrix(rows),
      });
    }
  }
  return fits;
}

const testMSE = (f: Fit, w: ArrayLike<number>) => mse(f.test, w, f.yTest);

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
