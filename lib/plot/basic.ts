/**
 * Line, scatter, histogram and bar charts.
 *
 * @module
 */
import {
  checkLength,
  isNumbersLike,
  parseSeriesArgs,
  toArray,
  xyFigure,
  xyFigureFromTraces,
} from "./_data.ts";
import { Figure } from "./figure.ts";
import { word } from "../lang.ts";
import { COLORS, type Numbers, type PlotOptions, type Series, type Trace } from "./types.ts";

// ---------------------------------------------------------------------------------------------
// Line, scatter, histogram, bar

/**
 * Line plot. Call it as
 * - `line(y)`: one series against 0, 1, 2, ...;
 * - `line(x, y)`: one series;
 * - `line(x, {name: y, ...})`: several named series sharing `x`;
 * - `line([{name, x, y, dash, color}, ...])`: fully described series.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import * as plot from "@kit/plot.ts";
 * const xs = [0, 1, 2, 3];
 * const fig = plot.line(xs, { "x^2": xs.map((x) => x * x), "2x": xs.map((x) => 2 * x) }, {
 *   title: "Two curves", xLabel: "x", yLabel: "y",
 * });
 * assert.deepStrictEqual(fig.data.map((t) => t.name), ["x^2", "2x"]);
 * ```
 */
export function line(y: Numbers, options?: PlotOptions): Figure;
export function line(
  x: Numbers,
  y: Numbers | Record<string, Numbers>,
  options?: PlotOptions,
): Figure;
export function line(series: readonly Series[], options?: PlotOptions): Figure;
export function line(
  a: Numbers | readonly Series[],
  b?: Numbers | Record<string, Numbers> | PlotOptions,
  c?: PlotOptions,
): Figure {
  const { series, options } = parseSeriesArgs("line", a, b, c);
  return xyFigure(series, options, "lines");
}

/** Options of {@link scatter}. */
export interface ScatterOptions extends PlotOptions {
  /** A class label per point: one trace (colour) per distinct label, in sorted order. */
  groups?: ArrayLike<number | string> | { readonly data: ArrayLike<number> };
  /** Legend names for the groups, by label (`{0: "benign", 1: "malignant"}`) or by index. */
  groupNames?: Readonly<Record<string, string>> | readonly string[];
  /** Marker size in pixels (default 7). */
  markerSize?: number;
}

/**
 * Scatter plot: the same call forms as {@link line}, drawn with markers. With `groups`, each
 * distinct label gets its own trace and colour (a two-class data set in two colours).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import * as plot from "@kit/plot.ts";
 * const fig = plot.scatter([0, 1, 2, 3], [1, 0, 1, 0], {
 *   groups: [0, 1, 0, 1], groupNames: ["even", "odd"], title: "Two classes",
 * });
 * assert.deepStrictEqual(fig.data.map((t) => t.name), ["even", "odd"]); // one trace per class
 * ```
 */
export function scatter(y: Numbers, options?: ScatterOptions): Figure;
export function scatter(
  x: Numbers,
  y: Numbers | Record<string, Numbers>,
  options?: ScatterOptions,
): Figure;
export function scatter(series: readonly Series[], options?: ScatterOptions): Figure;
export function scatter(
  a: Numbers | readonly Series[],
  b?: Numbers | Record<string, Numbers> | ScatterOptions,
  c?: ScatterOptions,
): Figure {
  const parsed = parseSeriesArgs("scatter", a, b, c);
  const options = parsed.options as ScatterOptions;
  let series = parsed.series;
  if (options.groups !== undefined) {
    if (series.length !== 1) {
      throw new Error(
        `plot.scatter: "groups" needs exactly one series, got ${series.length}; ` +
          "pass scatter(x, y, {groups})",
      );
    }
    const s = series[0];
    const ys = toArray(s.y, "scatter y");
    const xs = s.x === undefined ? ys.map((_, i) => i) : toArray(s.x, "scatter x");
    const labels = isNumbersLike(options.groups)
      ? toArray(options.groups as Numbers, "groups")
      : Array.from(options.groups as ArrayLike<number | string>);
    if (labels.length !== ys.length) {
      throw new Error(
        `plot.scatter: groups has ${labels.length} labels but there are ${ys.length} points; ` +
          "give one label per point",
      );
    }
    const distinct = [...new Set(labels)].sort((p, q) =>
      typeof p === "number" && typeof q === "number" ? p - q : String(p).localeCompare(String(q))
    );
    series = distinct.map((label, gi) => {
      const idx = labels.flatMap((l, i) => (l === label ? [i] : []));
      const names = options.groupNames;
      const name = names === undefined
        ? String(label)
        : Array.isArray(names)
        ? names[gi] ?? String(label)
        : (names as Record<string, string>)[String(label)] ?? String(label);
      return { name, x: idx.map((i) => xs[i]), y: idx.map((i) => ys[i]) };
    });
  }
  const fig = xyFigure(series, options, "markers");
  const size = options.markerSize ?? 7;
  for (const t of fig.data) {
    if (String(t.mode).includes("markers")) {
      t.marker = { size, opacity: 0.85, ...(t.marker as object) };
    }
  }
  return fig;
}

/** Options of {@link histogram}. */
export interface HistogramOptions extends PlotOptions {
  /** Number of bins (default: Plotly's choice). */
  bins?: number;
  /** Normalize to a probability density (default false: counts). */
  density?: boolean;
}

/**
 * Histogram of one sample, or overlaid histograms of several named samples (e.g. the weights
 * of an L1- and an L2-regularized model).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import * as plot from "@kit/plot.ts";
 * const fig = plot.histogram({ L1: [0, 0, 0, 0.5], L2: [0.1, 0.2, 0.2, 0.4] }, { bins: 10 });
 * assert.deepStrictEqual([fig.data.length, fig.layout.barmode], [2, "overlay"]);
 * ```
 */
export function histogram(
  values: Numbers | Record<string, Numbers>,
  options: HistogramOptions = {},
): Figure {
  const samples: [string | undefined, number[]][] = isNumbersLike(values)
    ? [[undefined, toArray(values as Numbers, "histogram values")]]
    : Object.entries(values as Record<string, Numbers>).map((
      [k, v],
    ) => [k, toArray(v, `histogram "${k}"`)]);
  const data: Trace[] = samples.map(([name, xs], i) => {
    const t: Trace = {
      type: "histogram",
      x: xs,
      marker: { color: COLORS[i % COLORS.length], line: { color: "#ffffff", width: 0.5 } },
      opacity: samples.length > 1 ? 0.6 : 0.9,
    };
    if (name !== undefined) t.name = name;
    if (options.bins !== undefined) t.nbinsx = options.bins;
    if (options.density) t.histnorm = "probability density";
    return t;
  });
  return xyFigureFromTraces(data, {
    yLabel: options.density ? word("plot.density") : word("plot.count"),
    ...options,
  }, {
    barmode: "overlay",
  });
}

/**
 * Bar chart: one group of bars, or grouped bars for several named series.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import * as plot from "@kit/plot.ts";
 * const fig = plot.bar(["SGD", "Adam"], { train: [0.9, 0.95], val: [0.85, 0.88] });
 * assert.strictEqual(fig.data.length, 2); // two series
 * ```
 */
export function bar(
  labels: readonly (string | number)[],
  values: Numbers | Record<string, Numbers>,
  options: PlotOptions = {},
): Figure {
  const groups: [string | undefined, number[]][] = isNumbersLike(values)
    ? [[undefined, toArray(values as Numbers, "bar values")]]
    : Object.entries(values as Record<string, Numbers>).map(([k, v]) => [k, toArray(v, k)]);
  const data = groups.map(([name, ys], i) => {
    checkLength("bar", "labels", labels.length, name ?? "values", ys.length);
    const t: Trace = {
      type: "bar",
      x: labels.map(String),
      y: ys,
      marker: { color: COLORS[i % COLORS.length] },
    };
    if (name !== undefined) t.name = name;
    return t;
  });
  return xyFigureFromTraces(data, options, { barmode: "group" });
}
