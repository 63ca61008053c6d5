import assert from "node:assert/strict";
import { mean, std, tempFile } from "./_util.ts";
import {
  batches,
  gaussianDesign,
  loadCSV,
  noisySinusoid,
  oneHot,
  randomReluFeatures,
  sparseLinear,
  standardize,
  takeRows,
  trainValTestSplit,
  twoMoons,
} from "@kit/data.ts";
import { Tensor, tensor } from "@kit/tensor.ts";
import { assertClose } from "@kit/check.ts";
import { rng } from "@kit/random.ts";

// ---------------------------------------------------------------------------------------------
// helpers

function column(X: Tensor, j: number): Float64Array {
  const [n, d] = X.shape;
  return Float64Array.from({ length: n }, (_, i) => X.data[i * d + j]);
}

/** Writes `text` to a fresh temp file and returns its path. */
function tempCSV(text: string): string {
  return tempFile(text, ".csv");
}

/** Asserts that loadCSV on `text` throws an error whose message matches every pattern. */
function assertCSVError(text: string, patterns: RegExp[], opts = {}) {
  const path = tempCSV(text);
  try {
    assert.throws(
      () => loadCSV(path, opts),
      (e: Error) => {
        assert.ok(e.message.includes(path), `message does not name the file: ${e.message}`);
        for (const p of patterns) assert.match(e.message, p);
        return true;
      },
    );
  } finally {
    Deno.removeSync(path);
  }
}

// ---------------------------------------------------------------------------------------------
// loadCSV on the course's data sets (the test runs from the repository root)

Deno.test("loadCSV: digits.csv is 1797 x 64 pixels plus a label, first row as in the file", () => {
  const { X, y, columns, targetName } = loadCSV("data/digits.csv", { target: "label" });
  assert.deepEqual(X.shape, [1797, 64]);
  assert.deepEqual(y!.shape, [1797]);
  assert.equal(columns.length, 64);
  assert.deepEqual([columns[0], columns[63], targetName], ["p0", "p63", "label"]);
  // the file's second line: 0,0,5,13,9,1,0,0,0,0,13,15,10,15,5,0,... label 0
  assert.deepEqual(Array.from(X.data.subarray(0, 16)), [
    0,
    0,
    5,
    13,
    9,
    1,
    0,
    0,
    0,
    0,
    13,
    15,
    10,
    15,
    5,
    0,
  ]);
  assert.equal(y!.data[0], 0);
  assert.equal(y!.data[1], 1);
  // pixel counts 0..16, labels 0..9 with every digit present
  assert.ok(X.data.every((v) => Number.isInteger(v) && v >= 0 && v <= 16));
  assert.deepEqual([...new Set(y!.data)].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

Deno.test("loadCSV: breast_cancer.csv is 569 x 30 with a 0/1 target", () => {
  const { X, y, columns } = loadCSV("data/breast_cancer.csv", { target: "malignant" });
  assert.deepEqual(X.shape, [569, 30]);
  assert.deepEqual([columns[0], columns[29]], ["mean radius", "worst fractal dimension"]);
  assertClose(X.data.subarray(0, 4), [17.99, 10.38, 122.8, 1001], { rtol: 0, atol: 0 });
  assert.equal(X.data[29], 0.1189);
  assert.equal(y!.data[0], 1);
  // 212 malignant, 357 benign (the UCI counts)
  assert.equal(y!.data.reduce((s, v) => s + v, 0), 212);
});

Deno.test("loadCSV: diabetes.csv is 442 x 10, progression target; no target and column selection", () => {
  const { X, y, columns } = loadCSV("data/diabetes.csv", { target: "progression" });
  assert.deepEqual(X.shape, [442, 10]);
  assert.deepEqual(columns, ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]);
  assert.deepEqual(Array.from(X.data.subarray(0, 10)), [
    59,
    2,
    32.1,
    101,
    157,
    93.2,
    38,
    4,
    4.8598,
    87,
  ]);
  assert.equal(y!.data[0], 151);
  const all = loadCSV("data/diabetes.csv");
  assert.equal(all.y, null);
  assert.equal(all.targetName, null);
  assert.deepEqual(all.X.shape, [442, 11]);
  assert.equal(all.columns[10], "progression");
  const some = loadCSV("data/diabetes.csv", { target: "progression", columns: ["bmi", "age"] });
  assert.deepEqual(some.X.shape, [442, 2]);
  assert.deepEqual(Array.from(some.X.data.subarray(0, 4)), [32.1, 59, 21.6, 48]);
});

Deno.test("loadCSV: quoted cells, blank lines, a BOM and surrounding spaces are accepted", () => {
  const path = tempCSV('\ufeffa, "b c"\n1, "2.5"\n\n-3e2,+.5\n');
  try {
    const { X, columns } = loadCSV(path);
    assert.deepEqual(columns, ["a", "b c"]);
    assert.deepEqual(X.shape, [2, 2]);
    assert.deepEqual(Array.from(X.data), [1, 2.5, -300, 0.5]);
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test("loadCSV: Windows line endings, no final newline; line numbers still count the header", () => {
  const ok = tempCSV("a,b\r\n1,2\r\n3,4");
  try {
    assert.deepEqual(Array.from(loadCSV(ok).X.data), [1, 2, 3, 4]);
  } finally {
    Deno.removeSync(ok);
  }
  assertCSVError("a,b\r\n1,2\r\n3,x\r\n", [/line 3, column 2 "b": "x" is not a number/]);
});

// ---------------------------------------------------------------------------------------------
// loadCSV error paths

Deno.test("loadCSV error: a missing file names the path and the working directory", () => {
  assert.throws(
    () => loadCSV("no/such/file.csv"),
    (e: Error) => {
      assert.match(e.message, /file not found: "no\/such\/file\.csv"/);
      assert.ok(e.message.includes(Deno.cwd()), e.message);
      assert.match(e.message, /\.\.\/data\/<name>\.csv/);
      return true;
    },
  );
});

Deno.test("loadCSV: a relative path not found from the working directory is read from the kit's data/", () => {
  const dir = Deno.makeTempDirSync();
  const cwd = Deno.cwd();
  try {
    Deno.chdir(dir); // as a notebook opened outside the kit: ../data/ is not there
    const { X } = loadCSV("../data/diabetes.csv", { target: "progression" });
    assert.deepStrictEqual(X.shape, [442, 10]);
    // A file that is neither here nor in the kit's data/ names both places.
    assert.throws(() => loadCSV("../data/no_such_set.csv"), /not in the kit's data folder/);
    // A file of the working directory wins over the kit's copy of the same name.
    Deno.mkdirSync(`${dir}/data`);
    Deno.writeTextFileSync(`${dir}/data/diabetes.csv`, "a,progression\n1,2\n");
    assert.deepStrictEqual(loadCSV("data/diabetes.csv", { target: "progression" }).X.shape, [1, 1]);
  } finally {
    Deno.chdir(cwd);
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("loadCSV error: an empty file and a header without rows", () => {
  assertCSVError("", [/is empty/]);
  assertCSVError("  \n\n", [/is empty/]);
  assertCSVError("a,b,c\n", [/has a header \(3 columns\) but no data rows/]);
});

Deno.test("loadCSV error: a ragged row names its line (header = line 1) and both counts", () => {
  assertCSVError("a,b,c\n1,2,3\n4,5\n", [/line 3 has 2 cells, expected 3/]);
  // a blank line still counts as a line of the file
  assertCSVError("a,b,c\n1,2,3\n\n4,5,6,7\n", [/line 4 has 4 cells, expected 3/]);
});

Deno.test("loadCSV error: a non-numeric cell names line, column and value", () => {
  assertCSVError("a,b\n1,2\n3,abc\n", [/line 3, column 2 "b": "abc" is not a number/]);
  assertCSVError("x,y,z\n1,,3\n", [/line 2, column 2 "y": an empty cell \(missing value\)/]);
  // the target column is checked too
  assertCSVError("x,t\n1,yes\n", [/line 2, column 2 "t": "yes"/], { target: "t" });
});

Deno.test("loadCSV error: non-finite values (1e999, NaN, Infinity) name file, line and column", () => {
  // 1e999 is a valid decimal literal that overflows float64: Number("1e999") is Infinity
  assertCSVError("a,b\n1,2\n3,1e999\n", [
    /line 3, column 2 "b": "1e999" is not a finite number/,
    /allowNonFinite/,
  ]);
  assertCSVError("a,b\n-1e999,2\n", [/line 2, column 1 "a": "-1e999" is not a finite number/]);
  assertCSVError("x,t\nNaN,1\n", [/line 2, column 1 "x": "NaN" is not a finite number/]);
  assertCSVError("x,t\n1,Infinity\n", [/line 2, column 2 "t": "Infinity" is not a finite/], {
    target: "t",
  });
  assertCSVError("x,t\n-inf,1\n", [/line 2, column 1 "x": "-inf" is not a finite number/]);
});

Deno.test("loadCSV: allowNonFinite reads NaN, ±Infinity and overflowing literals", () => {
  const path = tempCSV("a,b,c\n1e999,-1e999,NaN\nInfinity,-inf,nan\n1e-999,2,3\n");
  try {
    const { X } = loadCSV(path, { allowNonFinite: true });
    assert.deepEqual(Array.from(X.data), [
      Infinity,
      -Infinity,
      NaN,
      Infinity,
      -Infinity,
      NaN,
      0,
      2,
      3,
    ]);
  } finally {
    Deno.removeSync(path);
  }
  // an empty cell is still an error: it is a missing value, not a number
  assertCSVError("a,b\n1,\n", [/line 2, column 2 "b": an empty cell/], { allowNonFinite: true });
  assertCSVError("a,b\n1,inf2\n", [/"inf2" is not a number/], { allowNonFinite: true });
});

Deno.test("loadCSV error: an unknown target or feature column lists the available ones", () => {
  assertCSVError("age,bmi\n1,2\n", [
    /target column "label" is not in/,
    /available columns: "age", "bmi"/,
  ], {
    target: "label",
  });
  assertCSVError("age,bmi\n1,2\n", [/column "sex" is not in/, /"age", "bmi"/], {
    columns: ["sex"],
  });
});

// ---------------------------------------------------------------------------------------------
// splits

function toRows(t: Tensor): string[] {
  const w = t.shape.length > 1 ? t.shape[1] : 1;
  return Array.from(
    { length: t.shape[0] },
    (_, i) => Array.from(t.data.subarray(i * w, i * w + w)).join(","),
  );
}

Deno.test("trainValTestSplit: sizes, disjoint parts covering every row, rows kept with their labels", () => {
  const n = 101;
  const X = new Tensor(Float64Array.from({ length: n * 2 }, (_, i) => i), [n, 2]);
  const y = new Tensor(Float64Array.from({ length: n }, (_, i) => 1000 + i), [n]);
  const { train, val, test } = trainValTestSplit(X, y, [0.6, 0.2, 0.2], rng(0));
  assert.deepEqual([train.x.shape[0], val.x.shape[0], test.x.shape[0]], [61, 20, 20]);
  const all = [...train.indices, ...val.indices, ...test.indices].sort((a, b) => a - b);
  assert.deepEqual(all, Array.from({ length: n }, (_, i) => i));
  for (const part of [train, val, test]) {
    assert.deepEqual(toRows(part.x), toRows(takeRows(X, part.indices)));
    for (let r = 0; r < part.indices.length; r++) {
      assert.equal(part.y!.data[r], 1000 + part.indices[r]);
      assert.equal(part.x.data[2 * r], 2 * part.indices[r]);
    }
  }
  // not simply the first rows in order
  assert.notDeepEqual(Array.from(train.indices), Array.from({ length: 61 }, (_, i) => i));
});

Deno.test("trainValTestSplit: the same seed gives the same split, another seed another one", () => {
  const { X, y } = loadCSV("data/diabetes.csv", { target: "progression" });
  const a = trainValTestSplit(X, y, [0.7, 0.15, 0.15], rng(42));
  const b = trainValTestSplit(X, y, [0.7, 0.15, 0.15], rng(42));
  const c = trainValTestSplit(X, y, [0.7, 0.15, 0.15], rng(43));
  assert.deepEqual(a.train.indices, b.train.indices);
  assert.deepEqual(a.test.indices, b.test.indices);
  assert.notDeepEqual(a.train.indices, c.train.indices);
});

Deno.test("trainValTestSplit: two fractions give train and validation only; bad fractions rejected", () => {
  const X = new Tensor(new Float64Array(10), [10, 1]);
  const parts = trainValTestSplit(X, null, [0.8, 0.2], rng(1));
  assert.deepEqual([parts.train.x.shape[0], parts.val.x.shape[0]], [8, 2]);
  assert.equal(parts.train.y, null);
  assert.equal("test" in parts, false);
  // fractions only known as number[] at compile time: test present iff three were given
  const f: number[] = [0.5, 0.3, 0.2];
  const three = trainValTestSplit(X, null, f, rng(1));
  assert.deepEqual(three.test?.x.shape, [2, 1]);
  assert.throws(
    () => trainValTestSplit(X, null, [0.5, 0.2, 0.2], rng(1)),
    /summing to 1; got \[0.5, 0.2, 0.2\]/,
  );
  assert.throws(
    () => trainValTestSplit(X, tensor([1, 2]), [0.5, 0.5], rng(1)),
    /X has 10 rows but y has 2/,
  );
});

Deno.test("trainValTestSplit: stratify keeps the class proportions in every part", () => {
  const { X, y } = loadCSV("data/breast_cancer.csv", { target: "malignant" });
  const { train, val, test } = trainValTestSplit(X, y, [0.6, 0.2, 0.2], rng(3), { stratify: true });
  const overall = 212 / 569;
  for (const part of [train, val, test]) {
    const m = part.y!.data.length;
    const pos = part.y!.data.reduce((s, v) => s + v, 0);
    // per-class rounding: at most one row of each class away from the exact proportion
    assert.ok(Math.abs(pos - overall * m) <= 1.5, `${pos} of ${m} malignant`);
  }
  const all = [...train.indices, ...val.indices, ...test.indices].sort((a, b) => a - b);
  assert.deepEqual(all, Array.from({ length: 569 }, (_, i) => i));
  // classes are mixed within a part, not sorted by label
  const labels = Array.from(train.y!.data);
  assert.notDeepEqual(labels, labels.slice().sort());
  assert.throws(
    () =>
      trainValTestSplit(X, tensor(Array.from({ length: 569 }, () => 0.5)), [0.5, 0.5], rng(0), {
        stratify: true,
      }),
    /integer labels; y\[\d+\] = 0.5/,
  );
});

// ---------------------------------------------------------------------------------------------
// standardize

Deno.test("standardize: fitted on the training part only (population std), applied to the others", () => {
  const train = tensor([[1, 10, 5], [2, 20, 5], [3, 60, 5]]);
  const val = tensor([[4, 30, 6]]);
  const s = standardize(train, val);
  const m = [2, 30, 5];
  const sd = [Math.sqrt(2 / 3), Math.sqrt((400 + 100 + 900) / 3), 1]; // ddof 0; constant column -> 1
  assertClose(s.mean, m, { rtol: 1e-15 });
  assertClose(s.std, sd, { rtol: 1e-15 });
  const [zTrain, zVal] = s.transformed;
  for (let j = 0; j < 2; j++) {
    assertClose(mean(column(zTrain, j)), 0, { atol: 1e-15 });
    assertClose(std(column(zTrain, j)), 1, { rtol: 1e-14 });
  }
  assert.deepEqual(Array.from(column(zTrain, 2)), [0, 0, 0]);
  // the validation row uses the training statistics, not its own (it has a single row)
  assertClose(zVal, [[(4 - 2) / sd[0], 0, 1]], { rtol: 1e-14 });
  assertClose(s.apply(val), zVal, { rtol: 0, atol: 0 });
  assertClose(s.inverse(zVal), val, { rtol: 1e-14 });
  assert.throws(
    () => standardize(train, tensor([[1, 2]])),
    /others\[0\] must be \[m, 3\] like trainX, got shape \[1, 2\]/,
  );
});

Deno.test("standardize on digits: train columns standardized, test statistics differ from 0/1", () => {
  const { X, y } = loadCSV("data/digits.csv", { target: "label" });
  const { train, test } = trainValTestSplit(X, y, [0.5, 0.25, 0.25], rng(0));
  const { transformed: [zTr, zTe], std: sd } = standardize(train.x, test.x);
  // border pixel p0 is always 0: std replaced by 1
  assert.equal(sd.data[0], 1);
  let offMean = 0;
  for (let j = 0; j < 64; j++) {
    const c = column(zTr, j);
    assertClose(mean(c), 0, { atol: 1e-12 });
    if (sd.data[j] !== 1 || std(column(train.x, j)) > 0) assertClose(std(c), 1, { rtol: 1e-12 });
    offMean = Math.max(offMean, Math.abs(mean(column(zTe, j))));
  }
  // the test part is not re-centred on its own statistics
  assert.ok(offMean > 1e-3, `test columns look refitted (max |mean| ${offMean})`);
});

// ---------------------------------------------------------------------------------------------
// batches and oneHot

Deno.test("batches: every row exactly once per epoch, sizes, shuffling, dropLast", () => {
  const n = 23;
  const X = new Tensor(Float64Array.from({ length: n * 3 }, (_, i) => i), [n, 3]);
  const y = new Tensor(Float64Array.from({ length: n }, (_, i) => i), [n]);
  const g = rng(0);
  const orders: number[][] = [];
  for (let epoch = 0; epoch < 3; epoch++) {
    const seen: number[] = [];
    const sizes: number[] = [];
    for (const b of batches(X, y, 5, g)) {
      sizes.push(b.x.shape[0]);
      for (let r = 0; r < b.x.shape[0]; r++) {
        assert.equal(b.x.data[3 * r], 3 * b.y!.data[r], "x row and y do not match");
        seen.push(b.y!.data[r]);
      }
    }
    assert.deepEqual(sizes, [5, 5, 5, 5, 3]);
    assert.deepEqual(seen.slice().sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i));
    orders.push(seen);
  }
  assert.notDeepEqual(orders[0], orders[1], "two epochs used the same order");
  assert.notDeepEqual(orders[0], Array.from({ length: n }, (_, i) => i));
  // in order without an rng; dropLast drops the partial batch
  const plain = [...batches(X, y, 5, null)].map((b) => Array.from(b.y!.data));
  assert.deepEqual(plain[0], [0, 1, 2, 3, 4]);
  assert.deepEqual(plain[4], [20, 21, 22]);
  const dropped = [...batches(X, null, 5, rng(0), { dropLast: true })];
  assert.equal(dropped.length, 4);
  assert.equal(dropped[0].y, null);
  // the same seed gives the same batches
  const a = [...batches(X, y, 4, rng(7))].map((b) => Array.from(b.y!.data));
  const b = [...batches(X, y, 4, rng(7))].map((b) => Array.from(b.y!.data));
  assert.deepEqual(a, b);
  assert.throws(() => [...batches(X, y, 0, null)], /size must be a positive integer, got 0/);
});

Deno.test("oneHot: rows of the identity, errors name the bad label", () => {
  assert.deepEqual(oneHot(tensor([1, 0, 2, 1]), 3).toArray(), [[0, 1, 0], [1, 0, 0], [0, 0, 1], [
    0,
    1,
    0,
  ]]);
  assert.throws(() => oneHot(tensor([0, 3]), 3), /y\[1\] = 3 is not an integer class in \[0, 3\)/);
  assert.throws(() => oneHot(tensor([0.5]), 3), /y\[0\] = 0.5/);
});

// ---------------------------------------------------------------------------------------------
// synthetic generators. Tolerances: about 5 standard errors of the statistic for the sample size.

Deno.test("noisySinusoid: Bishop's sin(2 pi x) plus N(0, noise^2), sorted inputs, deterministic", () => {
  const n = 20000, noise = 0.3;
  const { X, y, truth } = noisySinusoid(n, { noise, rng: rng(0) });
  assert.deepEqual([X.shape, y.shape], [[n, 1], [n]]);
  for (let i = 1; i < n; i++) assert.ok(X.data[i] >= X.data[i - 1], "inputs not sorted");
  assert.ok(X.data[0] >= 0 && X.data[n - 1] < 1);
  const r = Float64Array.from(y.data, (v, i) => v - truth(X.data[i]));
  // mean of residuals: SE = 0.3 / sqrt(20000) = 0.0021; std: SE ~ 0.3 / sqrt(2 * 20000) = 0.0015
  assert.ok(Math.abs(mean(r)) < 0.011, `residual mean ${mean(r)}`);
  assert.ok(Math.abs(std(r) - noise) < 0.008, `residual std ${std(r)}`);
  // uniform inputs: fraction below 0.25 is 1/4, SE = sqrt(3/16 / n) = 0.0031
  const below = X.data.filter((x) => x < 0.25).length / n;
  assert.ok(Math.abs(below - 0.25) < 0.016, `fraction below 0.25: ${below}`);
  assert.deepEqual(
    noisySinusoid(10, { rng: rng(5) }).y.data,
    noisySinusoid(10, { rng: rng(5) }).y.data,
  );
  assert.equal(truth(0.25), 1);
});

Deno.test("noisySinusoid with a gap: no training input inside it, uniform on the rest", () => {
  const n = 10000;
  const { X } = noisySinusoid(n, { rng: rng(1), xRange: [-1, 2], gap: [0.5, 1.5] });
  assert.ok(X.data.every((x) => x >= -1 && x < 2 && !(x > 0.5 && x < 1.5)));
  // [-1, 0.5) is 1.5 long, [1.5, 2) is 0.5 long: 3/4 of the points on the left, SE 0.0043
  const left = X.data.filter((x) => x < 0.5).length / n;
  assert.ok(Math.abs(left - 0.75) < 0.022, `fraction left of the gap: ${left}`);
  assert.throws(
    () => noisySinusoid(5, { rng: rng(0), gap: [0.5, 1.5] }),
    /gap \[0.5, 1.5\] must be a proper sub-interval/,
  );
});

Deno.test("twoMoons: points on the two half circles (as make_moons), labels balanced, noise N(0, s^2)", () => {
  const n = 1001;
  const clean = twoMoons(n, { rng: rng(2) });
  assert.deepEqual([clean.X.shape, clean.y.shape], [[n, 2], [n]]);
  let zeros = 0;
  for (let i = 0; i < n; i++) {
    const [a, b] = [clean.X.data[2 * i], clean.X.data[2 * i + 1]];
    if (clean.y.data[i] === 0) {
      zeros++;
      assertClose(a * a + b * b, 1, { rtol: 1e-12, atol: 1e-12 });
      assert.ok(b >= -1e-12);
    } else {
      assert.equal(clean.y.data[i], 1);
      assertClose((a - 1) ** 2 + (b - 0.5) ** 2, 1, { rtol: 1e-12, atol: 1e-12 });
      assert.ok(b <= 0.5 + 1e-12);
    }
  }
  assert.equal(zeros, 500); // n // 2 outer points, as sklearn
  // shuffled: labels are not in blocks
  assert.notDeepEqual(Array.from(clean.y.data.subarray(0, 20)), new Array(20).fill(0));
  // the same seed draws the same permutation first, so noisy - clean is the noise itself
  const s = 0.2;
  const noisy = twoMoons(n, { noise: s, rng: rng(2) });
  const eps = Float64Array.from(noisy.X.data, (v, i) => v - clean.X.data[i]);
  assert.deepEqual(noisy.y.data, clean.y.data);
  // 2002 draws: SE of the mean 0.0045, of the std about 0.0032
  assert.ok(
    Math.abs(mean(eps)) < 0.023 && Math.abs(std(eps) - s) < 0.016,
    `${mean(eps)} ${std(eps)}`,
  );
});

Deno.test("sparseLinear: exactly `nonzero` true coefficients of magnitude 1..3, y = X coef + noise", () => {
  const { X, y, coef, support } = sparseLinear(5000, 30, { nonzero: 4, noise: 0.5, rng: rng(3) });
  assert.deepEqual([X.shape, y.shape, coef.shape], [[5000, 30], [5000], [30]]);
  assert.equal(support.length, 4);
  assert.deepEqual(support, support.slice().sort((a, b) => a - b));
  for (let j = 0; j < 30; j++) {
    if (support.includes(j)) assert.ok(Math.abs(coef.data[j]) >= 1 && Math.abs(coef.data[j]) <= 3);
    else assert.equal(coef.data[j], 0);
  }
  const r = Float64Array.from({ length: 5000 }, (_, i) => {
    let s = 0;
    for (let j = 0; j < 30; j++) s += X.data[i * 30 + j] * coef.data[j];
    return y.data[i] - s;
  });
  // SE of the std: 0.5 / sqrt(2 * 5000) = 0.005
  assert.ok(Math.abs(std(r) - 0.5) < 0.025 && Math.abs(mean(r)) < 0.035, `residual std ${std(r)}`);
  // X standard normal: 150000 entries, SE of the variance sqrt(2 / 150000) = 0.0037
  assert.ok(Math.abs(std(X.data) ** 2 - 1) < 0.02);
  const exact = sparseLinear(10, 5, { nonzero: 2, noise: 0, rng: rng(4) });
  for (let i = 0; i < 10; i++) {
    let s = 0;
    for (let j = 0; j < 5; j++) s += exact.X.data[i * 5 + j] * exact.coef.data[j];
    assertClose(exact.y.data[i], s, { rtol: 1e-15, atol: 1e-15 });
  }
  assert.throws(
    () => sparseLinear(10, 5, { nonzero: 6, rng: rng(0) }),
    /nonzero must be an integer in \[0, d=5\]/,
  );
});

Deno.test("gaussianDesign: isotropic N(0, I) inputs, ||beta|| = r, noise sigma, a test set with the same teacher", () => {
  const n = 4000, p = 20, r = 2, sigma = 0.7;
  const d = gaussianDesign(n, p, { rng: rng(5), signal: r, noise: sigma, nTest: 3000 });
  assert.deepEqual([d.X.shape, d.y.shape, d.beta.shape, d.XTest.shape, d.yTest.shape], [
    [n, p],
    [n],
    [p],
    [3000, p],
    [3000],
  ]);
  assertClose(Math.hypot(...d.beta.data), r, { rtol: 1e-14 });
  // 80000 entries: SE of the mean 0.0035, of the variance 0.005
  assert.ok(Math.abs(mean(d.X.data)) < 0.018 && Math.abs(std(d.X.data) ** 2 - 1) < 0.025);
  // residuals y - X beta have std sigma on both sets (SE 0.7 / sqrt(2 * 3000) = 0.009)
  for (const [X, y, m] of [[d.X, d.y, n], [d.XTest, d.yTest, 3000]] as const) {
    const res = Float64Array.from({ length: m }, (_, i) => {
      let s = 0;
      for (let j = 0; j < p; j++) s += X.data[i * p + j] * d.beta.data[j];
      return y.data[i] - s;
    });
    assert.ok(Math.abs(std(res) - sigma) < 0.045, `residual std ${std(res)}`);
  }
  // off-diagonal sample covariance of two columns ~ 0 (SE 1 / sqrt(4000) = 0.016)
  const c0 = column(d.X, 0), c1 = column(d.X, 1);
  assert.ok(Math.abs(mean(c0.map((v, i) => v * c1[i]))) < 0.08);
  assert.equal(gaussianDesign(3, 2, { rng: rng(0) }).XTest.shape[0], 0);
});

Deno.test("randomReluFeatures: W ~ N(0, 1/d), features relu(X W), the same map for test inputs", () => {
  const g = rng(6);
  const n = 200, d = 50, p = 400;
  const X = new Tensor(Float64Array.from({ length: n * d }, () => g.normal()), [n, d]);
  const rf = randomReluFeatures(X, p, rng(7));
  assert.deepEqual([rf.features.shape, rf.W.shape], [[n, p], [d, p]]);
  // 20000 weights: variance 1/d within 5 SE (relative SE sqrt(2 / 20000) = 0.01)
  assert.ok(
    Math.abs(std(rf.W.data) ** 2 * d - 1) < 0.05,
    `W variance * d = ${std(rf.W.data) ** 2 * d}`,
  );
  // features equal relu(X W) computed by the tensor engine
  assertClose(rf.features, X.matmul(rf.W).relu(), { rtol: 1e-12, atol: 1e-12 });
  assertClose(rf.apply(X), rf.features, { rtol: 0, atol: 0 });
  // symmetric pre-activations: about half the features are exactly zero
  const zeroFrac = rf.features.data.filter((v) => v === 0).length / (n * p);
  assert.ok(Math.abs(zeroFrac - 0.5) < 0.05, `fraction of zeros ${zeroFrac}`);
  assert.ok(rf.features.data.every((v) => v >= 0));
  assert.throws(() => rf.apply(tensor([[1, 2]])), /x must be \[m, 50\], got shape \[1, 2\]/);
});
