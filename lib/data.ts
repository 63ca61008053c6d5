/**
 * Data for the notebooks: CSV loading (npm `csv-parse`), train/validation/test splits,
 * standardisation fitted on the training part, minibatches, one-hot targets, and the seeded
 * synthetic data sets of the lectures (Bishop's noisy sinusoid, two moons, a sparse linear model,
 * the isotropic Gaussian design and random ReLU features for double descent).
 *
 * Every random draw takes an explicit {@link Rng}, so the same seed gives the same data everywhere.
 *
 * @module
 */
import { parse } from "csv-parse/sync";
import { Tensor } from "./tensor.ts";
import type { Rng } from "./random.ts";

// ---------------------------------------------------------------------------------------------
// CSV

/** Options of {@link loadCSV}. */
export interface LoadCSVOptions {
  /** Name of the target column (returned as `y`); omit it for `y = null`. */
  target?: string | null;
  /** Feature columns to keep, in this order (default: every column but the target). */
  columns?: readonly string[];
  /**
   * Accept non-finite values (default false): `NaN`, `Infinity`, `-Infinity` (also written `nan`,
   * `inf`, any case) and literals too large for a float64 such as `1e999`, which become ±Infinity.
   * By default they are errors, because one of them silently turns every loss into NaN.
   */
  allowNonFinite?: boolean;
}

/** A numeric table loaded by {@link loadCSV}. */
export interface CSVData {
  /** Features [n, d], one row per data row, columns in the order of `columns`. */
  X: Tensor;
  /** Target [n], or null when no target was requested. */
  y: Tensor | null;
  /** Feature names, one per column of X. */
  columns: string[];
  /** Name of the target column, or null. */
  targetName: string | null;
}

// a plain decimal number: optional sign, digits with an optional point, optional exponent
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
// the non-finite spellings accepted with `allowNonFinite` (JavaScript's, NumPy's and pandas')
const NON_FINITE = /^(?:[+-]?(?:inf|infinity)|nan)$/i;

function readIfThere(path: string): string | null {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return null;
  }
}

/**
 * Where a relative data path is looked up when it is not found from the working directory: the
 * kit's `data/` folder beside `lib/`, found from this module's own URL. Leading `./` and `../`
 * segments and one leading `data/` are dropped, so `"../data/digits.csv"`, `"data/digits.csv"`
 * and `"digits.csv"` all name `<kit>/data/digits.csv`. Returns null for an absolute path, a
 * `file:` URL, or when this module was not loaded from a file (no local kit to look in).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { kitDataPath } from "@kit/data.ts";
 * const p = kitDataPath("../data/digits.csv")!;
 * assert.ok(p.endsWith("/data/digits.csv") && !p.includes(".."));
 * assert.strictEqual(kitDataPath("digits.csv"), p);
 * assert.strictEqual(kitDataPath("/tmp/digits.csv"), null);
 * ```
 */
export function kitDataPath(path: string | URL): string | null {
  if (typeof path !== "string" || path === "" || /^([A-Za-z]:)?[\\/]/.test(path)) return null;
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(path)) return null; // a URL, not a relative path
  const base = new URL("../data/", import.meta.url);
  if (base.protocol !== "file:") return null;
  const parts = path.split(/[\\/]+/).filter((p) => p !== "" && p !== ".");
  while (parts[0] === "..") parts.shift();
  if (parts[0] === "data" && parts.length > 1) parts.shift();
  if (parts.length === 0 || parts.includes("..")) return null;
  return decodeURIComponent(new URL(parts.map(encodeURIComponent).join("/"), base).pathname);
}

/**
 * Loads a numeric CSV file with one header row into tensors.
 *
 * The path is resolved against the current working directory (notebooks run with cwd =
 * `notebooks/`, so they load `"../data/digits.csv"`; tests run from the repository root and load
 * `"data/digits.csv"`). A relative path that is not found there is looked up in the kit's own
 * `data/` folder (found from this module's URL, see {@link kitDataPath}), so a notebook opened
 * from another folder (a copy in Downloads, the student kit unpacked anywhere) still finds the
 * course data sets. Empty lines are skipped; a leading byte-order mark is ignored; cells may be
 * quoted, and spaces around cells are ignored. Every cell must be a finite plain decimal number:
 * no empty cells, no NaN or Infinity, no literal beyond float64's range such as `1e999`, unless
 * `allowNonFinite` is set (empty cells stay errors).
 *
 * @throws Error naming the file and, where it applies, its line number (1-based, the header is
 * line 1), the column (1-based number and name) and the offending value: for a missing or empty
 * file, a row whose number of cells differs from the header, a non-numeric or non-finite cell,
 * and an unknown target or feature column (the message lists the available ones).
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { loadCSV } from "@kit/data.ts";
 * const { X, y, columns } = loadCSV("data/diabetes.csv", { target: "progression" });
 * deepStrictEqual([X.shape, y!.shape, columns[2]], [[442, 10], [442], "bmi"]);
 * ```
 *
 * @example Non-finite values are errors unless allowed
 * ```ts
 * import { strictEqual, throws } from "node:assert";
 * import { loadCSV } from "@kit/data.ts";
 * const path = Deno.makeTempFileSync({ suffix: ".csv" });
 * Deno.writeTextFileSync(path, "a,b\n1,2\n3,1e999\n");
 * throws(() => loadCSV(path), /line 3, column 2 "b": "1e999" is not a finite number/);
 * strictEqual(loadCSV(path, { allowNonFinite: true }).X.data[3], Infinity);
 * Deno.removeSync(path);
 * ```
 */
export function loadCSV(
  path: string | URL,
  opts: LoadCSVOptions & { target: string },
): CSVData & { y: Tensor; targetName: string };
/** Without a target: `y` is null. */
export function loadCSV(path: string | URL, opts?: LoadCSVOptions): CSVData;
export function loadCSV(path: string | URL, opts: LoadCSVOptions = {}): CSVData {
  let shown = path instanceof URL ? path.pathname : path;
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    const fallback = e instanceof Deno.errors.NotFound ? kitDataPath(path) : null;
    const found = fallback === null ? null : readIfThere(fallback);
    if (found === null) {
      if (e instanceof Deno.errors.NotFound) {
        throw new Error(
          `loadCSV: file not found: "${shown}" (resolved against the working directory ` +
            `${Deno.cwd()}${
              fallback ? `, and not in the kit's data folder as ${fallback}` : ""
            }). ` +
            `Check the name: the course data sets are "../data/<name>.csv" (see data/README.md)`,
        );
      }
      throw new Error(`loadCSV: cannot read "${shown}": ${(e as Error).message}`);
    }
    text = found;
    shown = fallback!;
  }
  if (text.trim() === "") {
    throw new Error(
      `loadCSV: "${shown}" is empty: expected a header row and at least one data row`,
    );
  }
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, {
      bom: true,
      skip_empty_lines: true,
      trim: true,
      relax_column_count: true,
      info: true,
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (e) {
    throw new Error(`loadCSV: "${shown}" is not valid CSV: ${(e as Error).message}`);
  }
  const header = records[0].record.map((h) => h.trim());
  const width = header.length;
  if (records.length < 2) {
    throw new Error(`loadCSV: "${shown}" has a header (${width} columns) but no data rows`);
  }
  const available = () => header.map((h) => `"${h}"`).join(", ");
  const target = opts.target ?? null;
  let targetIdx = -1;
  if (target !== null) {
    targetIdx = header.indexOf(target);
    if (targetIdx < 0) {
      throw new Error(
        `loadCSV: target column "${target}" is not in "${shown}"; available columns: ${available()}`,
      );
    }
  }
  let featureIdx: number[];
  if (opts.columns) {
    featureIdx = opts.columns.map((c) => {
      const i = header.indexOf(c);
      if (i < 0) {
        throw new Error(
          `loadCSV: column "${c}" is not in "${shown}"; available columns: ${available()}`,
        );
      }
      return i;
    });
  } else {
    featureIdx = header.map((_, i) => i).filter((i) => i !== targetIdx);
  }
  const n = records.length - 1, d = featureIdx.length;
  const X = new Float64Array(n * d);
  const y = targetIdx >= 0 ? new Float64Array(n) : null;
  const allowNonFinite = opts.allowNonFinite ?? false;
  const cell = (r: number, c: number): number => {
    const { record, info } = records[r];
    const raw = record[c].trim();
    const where = `loadCSV: "${shown}" line ${info.lines}, column ${c + 1} "${header[c]}"`;
    if (allowNonFinite && NON_FINITE.test(raw)) {
      return /nan/i.test(raw) ? NaN : raw.startsWith("-") ? -Infinity : Infinity;
    }
    if (!NUMBER.test(raw)) {
      const what = raw === ""
        ? "an empty cell (missing value)"
        : NON_FINITE.test(raw)
        ? `"${record[c]}" is not a finite number`
        : `"${record[c]}" is not a number`;
      throw new Error(
        `${where}: ${what}. Every cell must be a finite plain decimal number; fix or drop that ` +
          `row${NON_FINITE.test(raw) ? ", or pass { allowNonFinite: true } to keep it" : ""}`,
      );
    }
    const v = Number(raw);
    if (!Number.isFinite(v) && !allowNonFinite) {
      throw new Error(
        `${where}: "${record[c]}" is not a finite number (beyond float64's range, about ` +
          `±1.8e308, it would be read as ${v}). Fix or drop that row, or pass ` +
          `{ allowNonFinite: true } to read it as ${v}`,
      );
    }
    return v;
  };
  for (let r = 1; r <= n; r++) {
    const { record, info } = records[r];
    if (record.length !== width) {
      throw new Error(
        `loadCSV: "${shown}" line ${info.lines} has ${record.length} cells, expected ${width} ` +
          `(as many as the header's columns)`,
      );
    }
    const o = (r - 1) * d;
    for (let j = 0; j < d; j++) X[o + j] = cell(r, featureIdx[j]);
    if (y) y[r - 1] = cell(r, targetIdx);
  }
  return {
    X: new Tensor(X, [n, d]),
    y: y ? new Tensor(y, [n]) : null,
    columns: featureIdx.map((i) => header[i]),
    targetName: target,
  };
}

// ---------------------------------------------------------------------------------------------
// row selection helpers

function rowsOf(op: string, name: string, t: Tensor): number {
  if (!(t instanceof Tensor)) throw new TypeError(`${op}: ${name} must be a Tensor`);
  if (t.shape.length < 1) {
    throw new RangeError(`${op}: ${name} must have a leading row dimension, got a scalar`);
  }
  return t.shape[0];
}

/**
 * The rows `idx` of a tensor (along the first dimension), as a new tensor.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { tensor } from "@kit/tensor.ts";
 * import { takeRows } from "@kit/data.ts";
 * const t = takeRows(tensor([[1, 2], [3, 4], [5, 6]]), [2, 0]);
 * deepStrictEqual(t.toArray(), [[5, 6], [1, 2]]);
 * ```
 */
export function takeRows(t: Tensor, idx: ArrayLike<number>): Tensor {
  const n = rowsOf("takeRows", "t", t);
  const w = n === 0 ? 0 : t.data.length / n;
  const out = new Float64Array(idx.length * w);
  for (let r = 0; r < idx.length; r++) {
    const i = idx[r];
    if (!(i >= 0 && i < n && Number.isInteger(i))) {
      throw new RangeError(`takeRows: index ${i} at position ${r} is out of range for ${n} rows`);
    }
    out.set(t.data.subarray(i * w, i * w + w), r * w);
  }
  return new Tensor(out, [idx.length, ...t.shape.slice(1)]);
}

// ---------------------------------------------------------------------------------------------
// splits

/** One part of a split: rows of X and y, and which original rows they are. */
export interface SplitPart<Y extends Tensor | null = Tensor | null> {
  x: Tensor;
  /** The matching targets (null when y was null). */
  y: Y;
  /** Original row indices, in the order of the part. */
  indices: Int32Array;
}

/** Options of {@link trainValTestSplit}. */
export interface SplitOptions {
  /**
   * Keep the class proportions of y (integer labels) in every part: each class is split with the
   * same fractions (rounded per class, so part sizes can differ by a row or two from the
   * unstratified split).
   */
  stratify?: boolean;
}

/**
 * Splits rows at random into train / validation (/ test) parts with the given fractions (which
 * must sum to 1). Part sizes: train = round(f_train n), validation = round(f_val n) (with two
 * fractions: the rest), test = the rest. The parts are disjoint and cover every row; the same
 * seed gives the same split.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { loadCSV, trainValTestSplit } from "@kit/data.ts";
 * import { rng } from "@kit/random.ts";
 * const { X, y } = loadCSV("data/breast_cancer.csv", { target: "malignant" });
 * const { train, val, test } = trainValTestSplit(X, y, [0.6, 0.2, 0.2], rng(0));
 * deepStrictEqual([train.x.shape, val.x.shape, test.x.shape], [[341, 30], [114, 30], [114, 30]]);
 * ```
 */
export function trainValTestSplit<Y extends Tensor | null>(
  X: Tensor,
  y: Y,
  fractions: readonly [number, number, number],
  rng: Rng,
  opts?: SplitOptions,
): { train: SplitPart<Y>; val: SplitPart<Y>; test: SplitPart<Y> };
/** Two parts: train and validation. */
export function trainValTestSplit<Y extends Tensor | null>(
  X: Tensor,
  y: Y,
  fractions: readonly [number, number],
  rng: Rng,
  opts?: SplitOptions,
): { train: SplitPart<Y>; val: SplitPart<Y> };
/** Fractions not known as a tuple at compile time: `test` is present when three were given. */
export function trainValTestSplit<Y extends Tensor | null>(
  X: Tensor,
  y: Y,
  fractions: readonly number[],
  rng: Rng,
  opts?: SplitOptions,
): { train: SplitPart<Y>; val: SplitPart<Y>; test?: SplitPart<Y> };
export function trainValTestSplit(
  X: Tensor,
  y: Tensor | null,
  fractions: readonly number[],
  rng: Rng,
  opts: SplitOptions = {},
): { train: SplitPart; val: SplitPart; test?: SplitPart } {
  const op = "trainValTestSplit";
  const n = rowsOf(op, "X", X);
  if (y !== null && rowsOf(op, "y", y) !== n) {
    throw new RangeError(`${op}: X has ${n} rows but y has ${y.shape[0]}`);
  }
  if (
    (fractions.length !== 2 && fractions.length !== 3) ||
    fractions.some((f) => !(f >= 0 && f <= 1)) ||
    Math.abs(fractions.reduce((a, b) => a + b, 0) - 1) > 1e-9
  ) {
    throw new RangeError(
      `${op}: fractions must be [train, val] or [train, val, test], each in [0, 1], summing to 1; ` +
        `got [${fractions.join(", ")}]`,
    );
  }
  const three = fractions.length === 3;
  const sizes = (m: number): [number, number] => {
    const a = Math.min(m, Math.round(fractions[0] * m));
    const b = three ? Math.min(m - a, Math.round(fractions[1] * m)) : m - a;
    return [a, b];
  };
  const parts: number[][] = [[], [], []];
  if (opts.stratify) {
    if (y === null) throw new RangeError(`${op}: stratify needs class labels y, got null`);
    if (y.shape.length !== 1) {
      throw new RangeError(`${op}: stratify needs 1-D integer labels y, got shape [${y.shape}]`);
    }
    const perm = rng.permutation(n);
    const byClass = new Map<number, number[]>();
    for (const i of perm) {
      const c = y.data[i];
      if (!Number.isInteger(c)) {
        throw new RangeError(`${op}: stratify needs integer labels; y[${i}] = ${c}`);
      }
      if (!byClass.has(c)) byClass.set(c, []);
      byClass.get(c)!.push(i);
    }
    for (const c of [...byClass.keys()].sort((a, b) => a - b)) {
      const rows = byClass.get(c)!;
      const [a, b] = sizes(rows.length);
      parts[0].push(...rows.slice(0, a));
      parts[1].push(...rows.slice(a, a + b));
      parts[2].push(...rows.slice(a + b));
    }
    // mix the classes again so that a part is not sorted by label
    for (const part of parts) {
      const order = rng.permutation(part.length);
      const copy = part.slice();
      for (let i = 0; i < part.length; i++) part[i] = copy[order[i]];
    }
  } else {
    const perm = Array.from(rng.permutation(n));
    const [a, b] = sizes(n);
    parts[0] = perm.slice(0, a);
    parts[1] = perm.slice(a, a + b);
    parts[2] = perm.slice(a + b);
  }
  const make = (idx: number[]): SplitPart => ({
    x: takeRows(X, idx),
    y: y === null ? null : takeRows(y, idx),
    indices: Int32Array.from(idx),
  });
  const out: { train: SplitPart; val: SplitPart; test?: SplitPart } = {
    train: make(parts[0]),
    val: make(parts[1]),
  };
  if (three) out.test = make(parts[2]);
  return out;
}

// ---------------------------------------------------------------------------------------------
// standardisation

/** Result of {@link standardize}. */
export interface Standardizer {
  /** Per-column mean of the training part [d]. */
  mean: Tensor;
  /** Per-column population standard deviation of the training part [d] (1 where it was 0). */
  std: Tensor;
  /** (x - mean) / std with the training statistics, for any [m, d] tensor. */
  apply(x: Tensor): Tensor;
  /** x * std + mean: back to the original units. */
  inverse(z: Tensor): Tensor;
  /** The standardised training part first, then each of `others`, in order. */
  transformed: Tensor[];
}

/**
 * Standardises columns with statistics fitted on the training part only (so no information from
 * validation or test rows leaks into preprocessing), as sklearn's `StandardScaler`: the mean and
 * the population standard deviation (ddof 0) of each column of `trainX`. A column that is constant
 * in the training part (std 0, for instance the always-blank border pixels of digits) gets std 1,
 * so it is only centred instead of producing NaN (sklearn does the same).
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { tensor } from "@kit/tensor.ts";
 * import { standardize } from "@kit/data.ts";
 * const s = standardize(tensor([[1, 5], [3, 5]]), tensor([[5, 6]]));
 * deepStrictEqual(s.transformed[0].toArray(), [[-1, 0], [1, 0]]);
 * deepStrictEqual(s.transformed[1].toArray(), [[3, 1]]);
 * ```
 */
export function standardize(trainX: Tensor, ...others: Tensor[]): Standardizer {
  const op = "standardize";
  if (!(trainX instanceof Tensor) || trainX.shape.length !== 2) {
    throw new RangeError(`${op}: trainX must be a 2-D Tensor [n, d], got shape [${trainX?.shape}]`);
  }
  const [n, d] = trainX.shape;
  if (n === 0) throw new RangeError(`${op}: trainX has no rows`);
  const mean = new Float64Array(d), std = new Float64Array(d);
  const x = trainX.data;
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += x[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const t = x[i * d + j] - mean[j];
      std[j] += t * t;
    }
  }
  for (let j = 0; j < d; j++) {
    const s = Math.sqrt(std[j] / n);
    std[j] = s > 0 ? s : 1;
  }
  const check = (t: Tensor, what: string) => {
    if (!(t instanceof Tensor) || t.shape.length !== 2 || t.shape[1] !== d) {
      throw new RangeError(
        `${op}: ${what} must be [m, ${d}] like trainX, got shape [${t?.shape?.join(", ")}]`,
      );
    }
  };
  const apply = (t: Tensor): Tensor => {
    check(t, "x");
    const out = new Float64Array(t.data.length);
    for (let i = 0; i < out.length; i++) {
      const j = i % d;
      out[i] = (t.data[i] - mean[j]) / std[j];
    }
    return new Tensor(out, [t.shape[0], d]);
  };
  const inverse = (t: Tensor): Tensor => {
    check(t, "z");
    const out = new Float64Array(t.data.length);
    for (let i = 0; i < out.length; i++) {
      const j = i % d;
      out[i] = t.data[i] * std[j] + mean[j];
    }
    return new Tensor(out, [t.shape[0], d]);
  };
  others.forEach((t, i) => check(t, `others[${i}]`));
  return {
    mean: new Tensor(mean, [d]),
    std: new Tensor(std, [d]),
    apply,
    inverse,
    transformed: [apply(trainX), ...others.map(apply)],
  };
}

// ---------------------------------------------------------------------------------------------
// minibatches and one-hot targets

/** A minibatch from {@link batches}. */
export interface Batch<Y extends Tensor | null = Tensor | null> {
  x: Tensor;
  /** Matching targets (null when y was null). */
  y: Y;
}

/**
 * Iterates over minibatches of `size` rows: in a fresh random order (drawn from `rng`) when an rng
 * is given, in row order for `null`. Each row appears exactly once per pass; the last, smaller batch
 * is kept unless `dropLast` (as PyTorch's `DataLoader(drop_last)`). Call again for each epoch.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { tensor } from "@kit/tensor.ts";
 * import { batches } from "@kit/data.ts";
 * import { rng } from "@kit/random.ts";
 * const X = tensor([[0], [1], [2], [3], [4]]);
 * const y = tensor([0, 1, 0, 1, 0]);
 * const shapes = [...batches(X, y, 2, rng(0))].map((b) => b.x.shape);
 * deepStrictEqual(shapes, [[2, 1], [2, 1], [1, 1]]);
 * ```
 */
export function* batches<Y extends Tensor | null>(
  X: Tensor,
  y: Y,
  size: number,
  rng: Rng | null,
  { dropLast = false }: { dropLast?: boolean } = {},
): Generator<Batch<Y>> {
  const n = rowsOf("batches", "X", X);
  if (y !== null && rowsOf("batches", "y", y) !== n) {
    throw new RangeError(`batches: X has ${n} rows but y has ${y.shape[0]}`);
  }
  if (!Number.isInteger(size) || size < 1) {
    throw new RangeError(`batches: size must be a positive integer, got ${size}`);
  }
  const order = rng ? rng.permutation(n) : Int32Array.from({ length: n }, (_, i) => i);
  for (let s = 0; s < n; s += size) {
    const e = Math.min(n, s + size);
    if (dropLast && e - s < size) return;
    const idx = order.subarray(s, e);
    yield { x: takeRows(X, idx), y: (y === null ? null : takeRows(y, idx)) as Y };
  }
}

/**
 * One-hot encoding of integer class labels [n] into [n, numClasses] (as
 * `torch.nn.functional.one_hot`, in float64).
 *
 * @throws RangeError naming the position and value of a label that is not an integer in
 * [0, numClasses).
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { tensor } from "@kit/tensor.ts";
 * import { oneHot } from "@kit/data.ts";
 * deepStrictEqual(oneHot(tensor([2, 0]), 3).toArray(), [[0, 0, 1], [1, 0, 0]]);
 * ```
 */
export function oneHot(y: Tensor, numClasses: number): Tensor {
  if (!(y instanceof Tensor) || y.shape.length !== 1) {
    throw new RangeError(`oneHot: y must be a 1-D Tensor of labels, got shape [${y?.shape}]`);
  }
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new RangeError(`oneHot: numClasses must be a positive integer, got ${numClasses}`);
  }
  const n = y.shape[0];
  const out = new Float64Array(n * numClasses);
  for (let i = 0; i < n; i++) {
    const c = y.data[i];
    if (!Number.isInteger(c) || c < 0 || c >= numClasses) {
      throw new RangeError(
        `oneHot: y[${i}] = ${c} is not an integer class in [0, ${numClasses}); ` +
          `map labels to 0..${numClasses - 1} first`,
      );
    }
    out[i * numClasses + c] = 1;
  }
  return new Tensor(out, [n, numClasses]);
}

// ---------------------------------------------------------------------------------------------
// synthetic data

/** A regression or classification sample: inputs X [n, d] and targets y [n]. */
export interface Sample {
  X: Tensor;
  y: Tensor;
}

/**
 * Bishop's running example (PRML section 1.1): y = sin(2 pi x) + Gaussian noise, with x uniform
 * in `xRange` (default [0, 1]) and noise standard deviation `noise` (default 0.3, Bishop's). With
 * `gap: [a, b]` no input falls inside (a, b) (x is uniform on the rest of the range): the setting
 * of Monte Carlo dropout's widening uncertainty away from the data. Inputs are returned sorted
 * ascending, which makes line plots direct.
 *
 * @returns X [n, 1], y [n], and `truth(x) = sin(2 pi x)` for plotting the noise-free curve.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { noisySinusoid } from "@kit/data.ts";
 * import { rng } from "@kit/random.ts";
 * const { X, y } = noisySinusoid(20, { rng: rng(0), gap: [0.4, 0.6] });
 * deepStrictEqual([X.shape, y.shape], [[20, 1], [20]]);
 * // no point falls in the gap
 * deepStrictEqual(X.data.some((x) => x > 0.4 && x < 0.6), false);
 * ```
 */
export function noisySinusoid(
  n: number,
  { noise = 0.3, rng, xRange = [0, 1], gap = null }: {
    noise?: number;
    rng: Rng;
    xRange?: readonly [number, number];
    gap?: readonly [number, number] | null;
  },
): Sample & { truth: (x: number) => number } {
  checkCount("noisySinusoid", "n", n);
  const [lo, hi] = xRange;
  if (!(hi > lo)) throw new RangeError(`noisySinusoid: xRange [${lo}, ${hi}] must have lo < hi`);
  let g0 = hi, g1 = hi; // empty gap
  if (gap) {
    [g0, g1] = gap;
    if (!(g0 >= lo && g1 <= hi && g1 > g0) || (g0 === lo && g1 === hi)) {
      throw new RangeError(
        `noisySinusoid: gap [${g0}, ${g1}] must be a proper sub-interval of xRange [${lo}, ${hi}]`,
      );
    }
  }
  const left = g0 - lo, total = left + (hi - g1);
  const xs = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const u = rng.uniform() * total; // uniform on [lo, g0) U [g1, hi)
    xs[i] = u < left ? lo + u : g1 + (u - left);
  }
  xs.sort();
  const truth = (x: number) => Math.sin(2 * Math.PI * x);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) y[i] = truth(xs[i]) + rng.normal(0, noise);
  return { X: new Tensor(xs, [n, 1]), y: new Tensor(y, [n]), truth };
}

/**
 * Two interleaving half circles, as sklearn's `make_moons(n, noise=noise, shuffle=True)`: n // 2
 * points on the upper unit half circle (label 0), the rest on the lower one shifted to (1, 0.5)
 * (label 1), evenly spaced in angle, shuffled, plus isotropic Gaussian noise of standard
 * deviation `noise`. (Same construction as sklearn; the random numbers differ.)
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { twoMoons } from "@kit/data.ts";
 * import { rng } from "@kit/random.ts";
 * const { X, y } = twoMoons(200, { noise: 0.1, rng: rng(0) });
 * deepStrictEqual([X.shape, y.shape], [[200, 2], [200]]);
 * deepStrictEqual(y.data.filter((c) => c === 1).length, 100); // two balanced classes
 * ```
 */
export function twoMoons(n: number, { noise = 0, rng }: { noise?: number; rng: Rng }): Sample {
  checkCount("twoMoons", "n", n);
  const nOut = Math.floor(n / 2), nIn = n - nOut;
  const px = new Float64Array(n), py = new Float64Array(n), lab = new Float64Array(n);
  const step = (m: number) => (m > 1 ? Math.PI / (m - 1) : 0); // np.linspace(0, pi, m)
  for (let i = 0; i < nOut; i++) {
    const t = i * step(nOut);
    px[i] = Math.cos(t);
    py[i] = Math.sin(t);
  }
  for (let i = 0; i < nIn; i++) {
    const t = i * step(nIn);
    px[nOut + i] = 1 - Math.cos(t);
    py[nOut + i] = 1 - Math.sin(t) - 0.5;
    lab[nOut + i] = 1;
  }
  const perm = rng.permutation(n);
  const X = new Float64Array(2 * n), y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const j = perm[i];
    X[2 * i] = px[j];
    X[2 * i + 1] = py[j];
    y[i] = lab[j];
  }
  if (noise > 0) { for (let i = 0; i < 2 * n; i++) X[i] += rng.normal(0, noise); }
  return { X: new Tensor(X, [n, 2]), y: new Tensor(y, [n]) };
}

/**
 * A linear model with sparse true coefficients, for L1 against L2: X [n, d] standard normal,
 * `nonzero` coefficients at random positions with random signs and magnitudes uniform in
 * [1, 3] (clearly away from zero), the others exactly 0; y = X coef + noise * N(0, 1).
 *
 * @returns X, y, the true `coef` [d] and its `support` (sorted indices of the nonzeros).
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { sparseLinear } from "@kit/data.ts";
 * import { rng } from "@kit/random.ts";
 * const { X, coef, support } = sparseLinear(100, 20, { nonzero: 3, noise: 0.5, rng: rng(0) });
 * deepStrictEqual([X.shape, coef.shape, support.length], [[100, 20], [20], 3]);
 * deepStrictEqual(coef.data.filter((c) => c !== 0).length, 3);
 * ```
 */
export function sparseLinear(
  n: number,
  d: number,
  { nonzero, noise = 1, rng }: { nonzero: number; noise?: number; rng: Rng },
): Sample & { coef: Tensor; support: number[] } {
  checkCount("sparseLinear", "n", n);
  checkCount("sparseLinear", "d", d);
  if (!Number.isInteger(nonzero) || nonzero < 0 || nonzero > d) {
    throw new RangeError(`sparseLinear: nonzero must be an integer in [0, d=${d}], got ${nonzero}`);
  }
  const support = Array.from(rng.choice(d, nonzero)).sort((a, b) => a - b);
  const coef = new Float64Array(d);
  for (const j of support) coef[j] = (rng.bernoulli(0.5) ? 1 : -1) * rng.uniform(1, 3);
  const X = new Float64Array(n * d);
  for (let i = 0; i < X.length; i++) X[i] = rng.normal();
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (const j of support) s += X[i * d + j] * coef[j];
    y[i] = s + (noise > 0 ? rng.normal(0, noise) : 0);
  }
  return { X: new Tensor(X, [n, d]), y: new Tensor(y, [n]), coef: new Tensor(coef, [d]), support };
}

/** Result of {@link gaussianDesign}. */
export interface GaussianDesign {
  /** Training inputs [n, p], i.i.d. N(0, 1) entries. */
  X: Tensor;
  /** Training targets [n]: X beta + sigma * N(0, 1). */
  y: Tensor;
  /** The teacher [p], with ||beta|| = signal. */
  beta: Tensor;
  /** Test inputs [nTest, p] from the same distribution (0 rows by default). */
  XTest: Tensor;
  /** Test targets [nTest] (with noise, like y). */
  yTest: Tensor;
}

/**
 * The isotropic Gaussian design of Hastie, Montanari, Rosset and Tibshirani (2019), "Surprises in
 * high-dimensional ridgeless least squares interpolation": x ~ N(0, I_p), y = x^T beta + eps with
 * eps ~ N(0, sigma^2) and a teacher beta drawn uniformly on the sphere of radius r = `signal`
 * (default 1; `noise` sigma default 1). For this design the excess test risk of an estimate b is
 * exactly ||b - beta||^2, and their asymptotic ridgeless risk is sigma^2 gamma / (1 - gamma) for
 * gamma = p / n < 1 and r^2 (1 - 1/gamma) + sigma^2 / (gamma - 1) for gamma > 1.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { gaussianDesign } from "@kit/data.ts";
 * import { rng } from "@kit/random.ts";
 * const d = gaussianDesign(100, 50, { rng: rng(0), signal: 1, noise: 0.5, nTest: 200 });
 * deepStrictEqual([d.X.shape, d.beta.shape, d.XTest.shape], [[100, 50], [50], [200, 50]]);
 * ```
 */
export function gaussianDesign(
  n: number,
  p: number,
  { rng, signal = 1, noise = 1, nTest = 0 }: {
    rng: Rng;
    signal?: number;
    noise?: number;
    nTest?: number;
  },
): GaussianDesign {
  checkCount("gaussianDesign", "n", n);
  checkCount("gaussianDesign", "p", p);
  checkCount("gaussianDesign", "nTest", nTest);
  const beta = new Float64Array(p);
  let nb = 0;
  for (let j = 0; j < p; j++) {
    beta[j] = rng.normal();
    nb += beta[j] * beta[j];
  }
  nb = Math.sqrt(nb);
  for (let j = 0; j < p; j++) beta[j] *= nb > 0 ? signal / nb : 0;
  const draw = (m: number): [Float64Array, Float64Array] => {
    const X = new Float64Array(m * p), y = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      let s = 0;
      for (let j = 0; j < p; j++) {
        const v = rng.normal();
        X[i * p + j] = v;
        s += v * beta[j];
      }
      y[i] = s + (noise > 0 ? rng.normal(0, noise) : 0);
    }
    return [X, y];
  };
  const [X, y] = draw(n);
  const [Xt, yt] = draw(nTest);
  return {
    X: new Tensor(X, [n, p]),
    y: new Tensor(y, [n]),
    beta: new Tensor(beta, [p]),
    XTest: new Tensor(Xt, [nTest, p]),
    yTest: new Tensor(yt, [nTest]),
  };
}

/** Result of {@link randomReluFeatures}: the features of X and the map that made them. */
export interface RandomFeatures {
  /** relu(X W) [n, p]. */
  features: Tensor;
  /** The random first-layer weights [d, p], W_ij ~ N(0, 1/d). */
  W: Tensor;
  /** relu(X' W) with the same W, for test inputs [m, d]. */
  apply(x: Tensor): Tensor;
}

/**
 * Random ReLU features (a two-layer network whose first layer is random and frozen, as in the
 * random-features models of double descent: Belkin et al. 2019, Mei and Montanari 2019):
 * W [d, p] with entries N(0, 1/d), features relu(X W) [n, p]. Fit the second layer with
 * `minNormLstsq(features, y)`; apply the same map to test inputs with `apply`.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { tensor } from "@kit/tensor.ts";
 * import { randomReluFeatures } from "@kit/data.ts";
 * import { rng } from "@kit/random.ts";
 * const rf = randomReluFeatures(tensor([[1, 0], [0, 1], [1, 1]]), 5, rng(0));
 * deepStrictEqual([rf.features.shape, rf.apply(tensor([[2, 2]])).shape], [[3, 5], [1, 5]]);
 * deepStrictEqual(rf.features.data.every((v) => v >= 0), true); // ReLU features
 * ```
 */
export function randomReluFeatures(X: Tensor, p: number, rng: Rng): RandomFeatures {
  if (!(X instanceof Tensor) || X.shape.length !== 2) {
    throw new RangeError(`randomReluFeatures: X must be 2-D [n, d], got shape [${X?.shape}]`);
  }
  checkCount("randomReluFeatures", "p", p);
  const d = X.shape[1];
  const W = new Float64Array(d * p);
  const sd = 1 / Math.sqrt(d);
  for (let i = 0; i < W.length; i++) W[i] = rng.normal(0, sd);
  const apply = (x: Tensor): Tensor => {
    if (!(x instanceof Tensor) || x.shape.length !== 2 || x.shape[1] !== d) {
      throw new RangeError(
        `randomReluFeatures.apply: x must be [m, ${d}], got shape [${x?.shape?.join(", ")}]`,
      );
    }
    const m = x.shape[0];
    const out = new Float64Array(m * p);
    for (let i = 0; i < m; i++) {
      const o = i * p;
      for (let t = 0; t < d; t++) {
        const v = x.data[i * d + t];
        if (v === 0) continue;
        const wo = t * p;
        for (let j = 0; j < p; j++) out[o + j] += v * W[wo + j];
      }
      for (let j = 0; j < p; j++) if (out[o + j] < 0) out[o + j] = 0;
    }
    return new Tensor(out, [m, p]);
  };
  return { features: apply(X), W: new Tensor(W, [d, p]), apply };
}

function checkCount(op: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0) {
    throw new RangeError(`${op}: ${name} must be a non-negative integer, got ${v}`);
  }
}
