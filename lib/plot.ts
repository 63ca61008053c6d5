/**
 * Plotly figures for notebooks and handouts.
 *
 * Every builder returns a {@link Figure}. As the last expression of a notebook cell it displays
 * inline: the Deno kernel calls its `[Symbol.for("Jupyter.display")]()` method, which returns a
 * MIME bundle with
 *
 * - `application/vnd.plotly.v1+json`: `{data, layout, config, frames?}`, drawn natively by
 *   JupyterLab (with the Plotly extension), VS Code and our HTML handouts;
 * - `text/html`: a `<div>` plus a script that loads plotly.js from a CDN when `window.Plotly` is
 *   absent (through require.js in the classic Notebook) and draws only once it has loaded;
 * - `text/plain`: a one-line summary (title, traces, frames) for terminals and logs.
 *
 * Outside the kernel (under `deno test`) a figure is a plain object: inspect `fig.data`,
 * `fig.layout`, `fig.toJSON()` or `fig.toMimeBundle()`.
 *
 * Figure ids are deterministic: `kit-plot-<hash of the figure>-<n>`, where `n` counts the
 * bundles made since the kernel started (or since {@link resetFigureIds}), so the same notebook
 * gives byte-identical outputs on every run.
 *
 * All builders share one template: the Okabe-Ito colour-blind-safe palette ({@link COLORS}),
 * the system font stack, light grid lines, and Viridis for colour scales.
 *
 * In a notebook, import the namespace: `import { plot } from "@kit/mod.ts"`, then
 *
 * | builder | draws |
 * | --- | --- |
 * | `line(y)`, `line(x, y)`, `line(x, {name: y})`, `line([{name, x, y, dash}])` | curves |
 * | `scatter(...)` (same forms), `scatter(x, y, {groups})` | points, one colour per class |
 * | `histogram(values \| {name: values}, {bins})`, `bar(labels, values \| {name: values})` | distributions, comparisons |
 * | `trainingCurves(history \| {run: history}, {metrics})` | train vs validation, runs overlaid |
 * | `contourPaths(f, {xRange, yRange, paths})` | optimizer paths on a 2-D loss surface |
 * | `surface3d(f, {xRange, yRange, paths})` | a loss landscape in 3-D |
 * | `heatmap(matrix, {x, y, diverging})` | weights, confusion matrices, 2-D sweeps |
 * | `decisionBoundary(predictBatch, {xRange, yRange, points})` | a binary classifier on 2-D data |
 * | `slider([{label, data: figure}], {sliderLabel})` | one frame per swept hyperparameter value |
 * | `subplots([figures], {cols})`, `figure({data, layout})` | panels, raw Plotly |
 *
 * Every builder takes the common {@link PlotOptions} (`title`, `xLabel`, `yLabel`, `logX`,
 * `logY`, `xRange`, `yRange`, `height`, `layout`). Numbers may be arrays, typed arrays or 1-D
 * tensors. To show several figures from one cell, `await plot.display(a, b)`.
 *
 * @module
 */

/** Version of plotly.js the kit pins (npm `plotly.js-dist-min`); the HTML fallback loads it. */
export const PLOTLY_VERSION = "4.1.2";

/** Where the HTML fallback loads plotly.js from when the page has no `window.Plotly`. */
export const PLOTLY_CDN =
  `https://cdn.jsdelivr.net/npm/plotly.js-dist-min@${PLOTLY_VERSION}/plotly.min.js`;

/** MIME type of a Plotly figure in Jupyter outputs. */
export const PLOTLY_MIME = "application/vnd.plotly.v1+json";

/**
 * Okabe-Ito palette (colour-blind safe), in the order traces get them. Yellow is replaced by
 * grey, which reads better on white.
 */
export const COLORS: readonly string[] = [
  "#0072B2", // blue
  "#D55E00", // vermillion
  "#009E73", // bluish green
  "#CC79A7", // reddish purple
  "#E69F00", // orange
  "#56B4E9", // sky blue
  "#000000", // black
  "#999999", // grey
];

const FONT =
  'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif';

/** One Plotly trace (`{type: "scatter", x, y, ...}`); see https://plotly.com/javascript/reference/. */
export type Trace = Record<string, unknown>;
/** A Plotly layout object. */
export type Layout = Record<string, unknown>;
/** A Plotly config object (`{responsive, displaylogo, ...}`). */
export type Config = Record<string, unknown>;
/** One animation frame: a name and the trace data (and optionally layout) it shows. */
export interface Frame {
  name: string;
  data: Trace[];
  layout?: Layout;
}

/** What {@link figure} takes: Plotly's figure object. */
export interface FigureSpec {
  data: Trace[];
  layout?: Layout;
  config?: Config;
  frames?: Frame[];
}

/** The JSON form of a figure: exactly what `Plotly.newPlot(div, figure)` accepts. */
export interface FigureJSON {
  data: Trace[];
  layout: Layout;
  config: Config;
  frames?: Frame[];
}

/** A Jupyter MIME bundle as returned by `[Symbol.for("Jupyter.display")]()`. */
export interface MimeBundle {
  "application/vnd.plotly.v1+json": FigureJSON;
  "text/html": string;
  "text/plain": string;
}

/**
 * Numbers a builder accepts: a plain array, a typed array, or anything with a `data` array
 * (a 1-D `Tensor`, or any tensor whose flattened data is the series).
 */
export type Numbers = ArrayLike<number> | { readonly data: ArrayLike<number> };

/** A 2-D grid of values: rows of numbers, or a 2-D tensor (`{data, shape: [rows, cols]}`). */
export type Grid =
  | readonly ArrayLike<number>[]
  | { readonly data: ArrayLike<number>; readonly shape: readonly number[] };

/** Options every builder understands. */
export interface PlotOptions {
  /** Figure title. */
  title?: string;
  /** Horizontal axis title. */
  xLabel?: string;
  /** Vertical axis title. */
  yLabel?: string;
  /** Logarithmic horizontal axis. */
  logX?: boolean;
  /** Logarithmic vertical axis. */
  logY?: boolean;
  /** Fixed horizontal range `[min, max]` (in data units, also for log axes). */
  xRange?: readonly [number, number];
  /** Fixed vertical range `[min, max]` (in data units, also for log axes). */
  yRange?: readonly [number, number];
  /** Height in pixels (default 420). Width follows the page. */
  height?: number;
  /** Fixed width in pixels (default: responsive). */
  width?: number;
  /** Show the legend (default: when there is more than one named trace). */
  showLegend?: boolean;
  /** Extra Plotly layout, deep-merged last (wins over everything above). */
  layout?: Layout;
}

/** A named series for {@link line} and {@link scatter}. */
export interface Series {
  /** Legend entry. */
  name?: string;
  /** Horizontal coordinates (default 0, 1, 2, ...). */
  x?: Numbers;
  /** Vertical coordinates. */
  y: Numbers;
  /** Line/marker colour (default: next colour of the palette). */
  color?: string;
  /** Line dash style. */
  dash?: "solid" | "dash" | "dot" | "dashdot" | "longdash";
  /** Plotly drawing mode (default "lines" for line, "markers" for scatter). */
  mode?: "lines" | "markers" | "lines+markers";
  /** Extra trace properties, merged last. */
  trace?: Trace;
}

// ---------------------------------------------------------------------------------------------
// Figure

const JUPYTER_DISPLAY: unique symbol = Symbol.for("Jupyter.display") as never;

let figureCounter = 0;

/**
 * Restart figure ids at `kit-plot-<hash>-1`. Figure ids only depend on the figure content and
 * on how many bundles were made before, so a fresh kernel already starts at 1; call this in
 * tests that compare bundles.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import * as plot from "@kit/plot.ts";
 * plot.resetFigureIds();
 * const a = plot.line([1, 2, 3]).toMimeBundle()["text/html"];
 * plot.resetFigureIds();
 * const b = plot.line([1, 2, 3]).toMimeBundle()["text/html"];
 * assert.strictEqual(a, b, "ids should repeat after a reset");
 * ```
 */
export function resetFigureIds(): void {
  figureCounter = 0;
}

/**
 * A Plotly figure. Build one with {@link figure} or any other builder of this module; display
 * it by making it the last expression of a notebook cell (or with {@link display}).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import * as plot from "@kit/plot.ts";
 * const fig = plot.figure({ data: [{ type: "bar", x: ["a", "b"], y: [3, 5] }] });
 * const bundle = fig.toMimeBundle();
 * assert.strictEqual(bundle["application/vnd.plotly.v1+json"].data.length, 1);
 * ```
 */
export class Figure {
  /** Traces, in drawing order. */
  readonly data: Trace[];
  /** Layout, with the kit's template merged in. */
  readonly layout: Layout;
  /** Plotly config (responsive, no logo). */
  readonly config: Config;
  /** Animation frames (slider figures), empty otherwise. */
  readonly frames: Frame[];

  /** Prefer {@link figure}, which applies the kit's template; this constructor takes the spec as is. */
  constructor(spec: FigureSpec) {
    this.data = spec.data.map((t) => sanitize(t) as Trace);
    this.layout = sanitize(spec.layout ?? {}) as Layout;
    this.config = sanitize(spec.config ?? {}) as Config;
    this.frames = (spec.frames ?? []).map((f) => sanitize(f) as Frame);
  }

  /** The figure as Plotly JSON (`frames` only when there are some). */
  toJSON(): FigureJSON {
    const out: FigureJSON = { data: this.data, layout: this.layout, config: this.config };
    if (this.frames.length > 0) out.frames = this.frames;
    return out;
  }

  /** The figure title, or "" when there is none. */
  get title(): string {
    const t = this.layout.title;
    if (typeof t === "string") return t;
    if (isPlainObject(t) && typeof t.text === "string") return t.text;
    return "";
  }

  /** One-line description: title, trace count and types, frames. */
  get summary(): string {
    const counts = new Map<string, number>();
    for (const t of this.data) {
      const type = typeof t.type === "string" ? t.type : "scatter";
      counts.set(type, (counts.get(type) ?? 0) + 1);
    }
    const types = [...counts].map(([k, n]) => (n > 1 ? `${k} x${n}` : k)).join(", ");
    const n = this.data.length;
    let s = `Plotly figure${this.title ? ` "${this.title}"` : ""}: ${n} trace${n === 1 ? "" : "s"}`;
    if (n > 0) s += ` (${types})`;
    if (this.frames.length > 0) {
      const label = sliderPrefix(this.layout);
      s += `, ${this.frames.length} frames${label ? ` (slider: ${label})` : ""}`;
    }
    return s;
  }

  /**
   * A copy with `layout` deep-merged into this figure's layout.
   *
   * @example
   * ```ts
   * import assert from "node:assert";
   * import * as plot from "@kit/plot.ts";
   * const fig = plot.line([1, 4, 9]).withLayout({ title: { text: "Squares" } });
   * assert.strictEqual(fig.title, "Squares");
   * ```
   */
  withLayout(layout: Layout): Figure {
    return new Figure({
      data: this.data,
      layout: deepMerge(this.layout, layout),
      config: this.config,
      frames: this.frames,
    });
  }

  /**
   * The MIME bundle Jupyter displays. Each call takes the next deterministic id for the HTML
   * fallback's `<div>`.
   *
   * @example
   * ```ts
   * import assert from "node:assert";
   * import * as plot from "@kit/plot.ts";
   * const b = plot.scatter([1, 2], [3, 4], { title: "Two points" }).toMimeBundle();
   * assert.match(b["text/plain"], /Two points/, "the text summary names the title");
   * ```
   */
  toMimeBundle(): MimeBundle {
    const json = this.toJSON();
    const text = JSON.stringify(json);
    figureCounter += 1;
    const id = `kit-plot-${fnv1a(text)}-${figureCounter}`;
    return {
      [PLOTLY_MIME]: json,
      "text/html": fallbackHtml(id, text, this.layout),
      "text/plain": this.summary,
    } as MimeBundle;
  }

  /** Called by the Deno Jupyter kernel to display the figure. */
  [JUPYTER_DISPLAY](): MimeBundle {
    return this.toMimeBundle();
  }
}

/**
 * A figure from raw Plotly data and layout, with the kit's template (fonts, palette, grid,
 * margins) merged under your layout.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import * as plot from "@kit/plot.ts";
 * const fig = plot.figure({
 *   data: [{ type: "scatter", mode: "lines", x: [0, 1, 2], y: [0, 1, 4], name: "x^2" }],
 *   layout: { title: { text: "A parabola" }, yaxis: { title: { text: "y" } } },
 * });
 * assert.strictEqual(fig.title, "A parabola");
 * ```
 */
export function figure(spec: FigureSpec): Figure {
  const hasTitle = spec.layout?.title !== undefined;
  const base = deepMerge(templateLayout(hasTitle), spec.layout ?? {});
  styleAxes(base);
  return new Figure({
    data: spec.data,
    layout: base,
    config: { responsive: true, displaylogo: false, ...spec.config },
    frames: spec.frames,
  });
}

/**
 * Displays figures from anywhere in a cell (not only as its last expression). In the Deno
 * kernel this calls `Deno.jupyter.display`; elsewhere (under `deno test`) it does nothing.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import * as plot from "@kit/plot.ts";
 * // outside `deno jupyter` there is nowhere to display to: it returns quietly
 * await assert.doesNotReject(plot.display(plot.line([1, 2, 3]), plot.line([3, 2, 1])));
 * ```
 */
export async function display(...figures: Figure[]): Promise<void> {
  let jupyter: { display(obj: unknown): Promise<void> } | undefined;
  try {
    // The getter throws outside `deno jupyter`.
    jupyter = (Deno as unknown as { jupyter?: typeof jupyter }).jupyter;
  } catch {
    return;
  }
  if (typeof jupyter?.display !== "function") return;
  for (const f of figures) await jupyter.display(f);
}

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
  return xyFigureFromTraces(data, { yLabel: options.density ? "density" : "count", ...options }, {
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

// ---------------------------------------------------------------------------------------------
// Training curves

/**
 * A training history: the `History` that `fit()` returns (one array per quantity:
 * `{epoch, trainLoss, valLoss, trainAcc, valAcc, lr, ...}`), or one record per epoch
 * (`[{epoch, trainLoss, valLoss, ...}, ...]`); an object holding records under `epochs` or
 * `history` works too. Keys pair up as `trainX`/`valX` (also `train_x`/`val_x`, `validX`,
 * `testX`); an `epoch` key of the same length gives the horizontal axis (else 1, 2, ...);
 * empty arrays count as absent; a numeric `bestEpoch` (early stopping) is starred on the
 * validation curve.
 */
// `object`, not `Record<string, unknown>`: an interface such as fit()'s `History` has no index
// signature and would not be accepted; the shape is checked at run time.
export type HistoryLike = readonly object[] | object;

/** Options of {@link trainingCurves}. */
export interface TrainingCurvesOptions extends PlotOptions {
  /**
   * Quantities to plot, one panel each: a metric name paired as train/validation (`"loss"`,
   * `"acc"`), or any key of the history (`"lr"`, `"weightNorm"`). Default: `loss` and the
   * accuracy when the history has one.
   */
  metrics?: readonly string[];
  /** Logarithmic vertical axis for these metrics (or all when `true`). Default false. */
  logMetrics?: boolean | readonly string[];
}

/**
 * Training curves: train (solid) against validation (dashed), one panel per metric. Pass one
 * history, an array of histories, or `{runName: history}` to overlay several runs (one colour
 * per run).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import * as plot from "@kit/plot.ts";
 * const h = (s: number) => [1, 2, 3].map((epoch) => ({
 *   epoch, trainLoss: s / epoch, valLoss: s / epoch + 0.1, trainAcc: 1 - s / (2 * epoch), valAcc: 0.5,
 * }));
 * const fig = plot.trainingCurves({ "no dropout": h(1), "dropout 0.5": h(0.8) });
 * // 2 runs x 2 splits x 2 metrics (loss, acc)
 * assert.strictEqual(fig.data.length, 8);
 * ```
 */
export function trainingCurves(
  histories: HistoryLike | readonly HistoryLike[] | Readonly<Record<string, HistoryLike>>,
  options: TrainingCurvesOptions = {},
): Figure {
  const runs = normalizeRuns(histories);
  if (runs.length === 0) throw new Error("plot.trainingCurves: no history given");
  const metrics = options.metrics ?? defaultMetrics(runs.map((r) => r.columns));
  if (metrics.length === 0) {
    const keys = [...runs[0].columns.keys()].join(", ");
    throw new Error(
      `plot.trainingCurves: found no train/validation metric in the history (keys: ${keys}); ` +
        'pass {metrics: ["key", ...]}',
    );
  }
  const single = runs.length === 1;
  const panels: Figure[] = metrics.map((metric, mi) => {
    const traces: Trace[] = [];
    runs.forEach((run, ri) => {
      const found = findMetric(run.columns, metric);
      if (found.length === 0) {
        throw new Error(
          `plot.trainingCurves: run "${run.name}" has no "${metric}" (keys: ${
            [...run.columns.keys()].join(", ")
          }); pick metrics from these keys`,
        );
      }
      for (const { split, values } of found) {
        const epochs = run.columns.get("epoch");
        const xs = epochs && epochs.length === values.length ? epochs : values.map((_, i) => i + 1);
        const color = single
          ? COLORS[split === "validation" ? 1 : split === "train" ? 0 : 2]
          : COLORS[ri % COLORS.length];
        const name = single ? split : `${run.name} (${split})`;
        traces.push({
          type: "scatter",
          mode: xs.length <= 30 ? "lines+markers" : "lines",
          x: xs,
          y: values,
          name,
          legendgroup: name,
          showlegend: mi === 0,
          line: { color, width: 2, dash: split === "validation" ? "dash" : "solid" },
          marker: { color, size: 5 },
        });
        if (split === "validation" && run.bestEpoch !== null) {
          const j = xs.indexOf(run.bestEpoch);
          if (j >= 0) {
            traces.push({
              type: "scatter",
              mode: "markers",
              x: [xs[j]],
              y: [values[j]],
              name: single ? "best epoch" : `${run.name} (best epoch)`,
              legendgroup: single ? "best epoch" : `${run.name} (best epoch)`,
              showlegend: mi === 0,
              marker: { color, size: 13, symbol: "star", line: { color: "#ffffff", width: 1 } },
            });
          }
        }
      }
    });
    const log = options.logMetrics === true ||
      (Array.isArray(options.logMetrics) && options.logMetrics.includes(metric));
    return figure({
      data: traces,
      layout: {
        title: { text: metricTitle(metric) },
        xaxis: { title: { text: "epoch" } },
        yaxis: { title: { text: metricTitle(metric) }, type: log ? "log" : "linear" },
      },
    });
  });
  const { layout: extra, ...rest } = options;
  const fig = panels.length === 1
    ? panels[0].withLayout({ showlegend: true })
    : subplots(panels, { cols: Math.min(panels.length, 2), ...rest, layout: undefined });
  const layout: Layout = { showlegend: true };
  if (options.title !== undefined) layout.title = { text: options.title };
  if (options.height !== undefined) layout.height = options.height;
  return fig.withLayout(deepMerge(layout, extra ?? {}));
}

// ---------------------------------------------------------------------------------------------
// Surfaces: contours with optimizer paths, heatmaps, 3-D surfaces

/** A path of 2-D points: `[[x, y], ...]`, `{x: [...], y: [...]}`, or an `[n, 2]` tensor. */
export type PathPoints =
  | readonly (readonly number[])[]
  | { readonly x: Numbers; readonly y: Numbers }
  | { readonly data: ArrayLike<number>; readonly shape: readonly number[] };

/** A named optimizer path for {@link contourPaths} and {@link surface3d}. */
export interface Path {
  name: string;
  points: PathPoints;
  color?: string;
}

/** Options of {@link contourPaths}. */
export interface ContourOptions extends PlotOptions {
  /** Horizontal extent of the grid. */
  xRange: readonly [number, number];
  /** Vertical extent of the grid. */
  yRange: readonly [number, number];
  /** Grid points per axis (default 80). */
  resolution?: number;
  /** Optimizer paths drawn on top (markers per step, start circle, end cross). */
  paths?: readonly Path[];
  /** Contour levels of `log10(f - min f + 1e-12)`, for losses spanning several orders. */
  logScale?: boolean;
  /** Number of contour levels (default 25). */
  levels?: number;
  /** A point to mark with a star (the minimum). */
  minimum?: readonly [number, number];
  /** Same scale on both axes (default true), so circles look round. */
  equalAspect?: boolean;
}

/**
 * Contours of a 2-D loss surface `f(x, y)` with optimizer paths on top: the lecture's picture
 * of SGD zig-zagging in a ravine while momentum and Adam cut through.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import * as plot from "@kit/plot.ts";
 * const f = (x: number, y: number) => x * x + 10 * y * y;
 * const fig = plot.contourPaths(f, {
 *   xRange: [-2, 2], yRange: [-1, 1], resolution: 20, minimum: [0, 0],
 *   paths: [{ name: "GD", points: [[-1.5, 0.8], [-1.2, -0.8], [-0.9, 0.6]] }],
 * });
 * assert.deepStrictEqual([fig.data[0].type, fig.data[1].name], ["contour", "GD"]);
 * ```
 */
export function contourPaths(
  f: (x: number, y: number) => number,
  options: ContourOptions,
): Figure {
  const res = options.resolution ?? 80;
  const { xs, ys, z } = sampleGrid("contourPaths", f, options.xRange, options.yRange, res);
  let zz = z;
  if (options.logScale) {
    let min = Infinity;
    for (const row of z) for (const v of row) if (Number.isFinite(v) && v < min) min = v;
    zz = z.map((row) => row.map((v) => round6(Math.log10(v - min + 1e-12))));
  }
  const data: Trace[] = [{
    type: "contour",
    x: xs,
    y: ys,
    z: zz,
    ncontours: options.levels ?? 25,
    colorscale: "Viridis",
    reversescale: false,
    opacity: 0.85,
    contours: { coloring: "heatmap", showlines: true },
    line: { width: 0.5, color: "rgba(255,255,255,0.5)" },
    colorbar: { title: { text: options.logScale ? "log10 loss" : "loss" }, thickness: 14 },
    hovertemplate: "x=%{x:.3g}<br>y=%{y:.3g}<br>f=%{z:.4g}<extra></extra>",
    name: "loss",
  }];
  data.push(...pathTraces("contourPaths", options.paths ?? [], (x, y) => [x, y], false));
  if (options.minimum) {
    data.push({
      type: "scatter",
      mode: "markers",
      x: [options.minimum[0]],
      y: [options.minimum[1]],
      name: "minimum",
      marker: { symbol: "star", size: 16, color: "#ffffff", line: { color: "#000000", width: 1 } },
    });
  }
  const equal = options.equalAspect ?? true;
  return xyFigureFromTraces(data, { xLabel: "x", yLabel: "y", ...options }, {
    xaxis: { range: [...options.xRange], showgrid: false, zeroline: false },
    yaxis: {
      range: [...options.yRange],
      showgrid: false,
      zeroline: false,
      ...(equal ? { scaleanchor: "x", scaleratio: 1 } : {}),
    },
    legend: { bgcolor: "rgba(255,255,255,0.85)", x: 0.01, y: 0.99 },
  });
}

/** Options of {@link heatmap}. */
export interface HeatmapOptions extends PlotOptions {
  /** Column coordinates or labels. */
  x?: readonly (number | string)[] | Numbers;
  /** Row coordinates or labels. */
  y?: readonly (number | string)[] | Numbers;
  /** Plotly colour scale (default "Viridis"; "RdBu" with `diverging`). */
  colorscale?: string;
  /** Centre a diverging scale at 0 (weights, correlations). */
  diverging?: boolean;
  /** Colour range. */
  zRange?: readonly [number, number];
  /** Row 0 at the top, as a matrix (default), or at the bottom, as a function plot. */
  origin?: "top" | "bottom";
  /** Write each value in its cell (default: when at most 12x12 cells). */
  showValues?: boolean;
  /** Colour bar title. */
  zLabel?: string;
}

/**
 * Heatmap of a matrix (rows of numbers or a 2-D tensor): a weight matrix, a confusion matrix,
 * validation accuracy over a grid of two hyperparameters.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import * as plot from "@kit/plot.ts";
 * const fig = plot.heatmap([[1, -1], [0.5, 0]], {
 *   x: ["a", "b"], y: ["r1", "r2"], diverging: true, title: "Weights",
 * });
 * assert.deepStrictEqual([fig.data[0].type, fig.data[0].zmid], ["heatmap", 0]); // diverging
 * ```
 */
export function heatmap(z: Grid, options: HeatmapOptions = {}): Figure {
  const rows = toGrid(z, "heatmap");
  const nr = rows.length;
  const nc = nr > 0 ? rows[0].length : 0;
  const trace: Trace = {
    type: "heatmap",
    z: rows,
    colorscale: options.colorscale ?? (options.diverging ? "RdBu" : "Viridis"),
    colorbar: { thickness: 14, ...(options.zLabel ? { title: { text: options.zLabel } } : {}) },
    hoverongaps: false,
  };
  if (options.diverging) trace.zmid = 0; // Plotly's RdBu: negative blue, positive red
  if (options.zRange) [trace.zmin, trace.zmax] = options.zRange;
  if (options.x !== undefined) trace.x = labelsOrNumbers(options.x);
  if (options.y !== undefined) trace.y = labelsOrNumbers(options.y);
  const show = options.showValues ?? (nr <= 12 && nc <= 12);
  if (show) {
    trace.texttemplate = "%{z:.3g}";
    trace.textfont = { size: 11 };
  }
  // Without coordinates the axes are row and column indices: integer ticks only.
  const indexTicks = (n: number) => (n <= 30 ? { dtick: 1 } : {});
  return xyFigureFromTraces([trace], options, {
    yaxis: {
      autorange: (options.origin ?? "top") === "top" ? "reversed" : true,
      showgrid: false,
      ...(options.y === undefined ? indexTicks(nr) : {}),
    },
    xaxis: { showgrid: false, ...(options.x === undefined ? indexTicks(nc) : {}) },
  });
}

/** Options of {@link surface3d}. */
export interface SurfaceOptions extends PlotOptions {
  /** Horizontal extent (needed when `f` is a function). */
  xRange?: readonly [number, number];
  /** Depth extent (needed when `f` is a function). */
  yRange?: readonly [number, number];
  /** Grid points per axis (default 50). */
  resolution?: number;
  /** Height axis title (default "loss"). */
  zLabel?: string;
  /** Paths drawn on the surface (f evaluated along them); only with a function. */
  paths?: readonly Path[];
  /** Coordinates of the grid's columns and rows when `f` is a grid. */
  x?: Numbers;
  /** Coordinates of the grid's rows when `f` is a grid. */
  y?: Numbers;
}

/**
 * A 3-D surface of `f(x, y)` (a loss landscape), from a function over a range or from a grid
 * of heights (rows = y, columns = x). Drag to rotate.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import * as plot from "@kit/plot.ts";
 * const fig = plot.surface3d((x, y) => x * x - y * y, {
 *   xRange: [-1, 1], yRange: [-1, 1], resolution: 15, title: "A saddle",
 * });
 * assert.strictEqual(fig.data[0].type, "surface");
 * ```
 */
export function surface3d(
  f: ((x: number, y: number) => number) | Grid,
  options: SurfaceOptions = {},
): Figure {
  let xs: number[], ys: number[], z: number[][];
  if (typeof f === "function") {
    if (!options.xRange || !options.yRange) {
      throw new Error("plot.surface3d: with a function, give {xRange: [a, b], yRange: [c, d]}");
    }
    ({ xs, ys, z } = sampleGrid(
      "surface3d",
      f,
      options.xRange,
      options.yRange,
      options.resolution ?? 50,
    ));
  } else {
    z = toGrid(f, "surface3d");
    xs = options.x ? toArray(options.x, "surface3d x") : (z[0] ?? []).map((_, i) => i);
    ys = options.y ? toArray(options.y, "surface3d y") : z.map((_, i) => i);
  }
  const data: Trace[] = [{
    type: "surface",
    x: xs,
    y: ys,
    z,
    colorscale: "Viridis",
    opacity: 0.9,
    colorbar: { thickness: 14, title: { text: options.zLabel ?? "loss" } },
    contours: { z: { show: true, usecolormap: true, project: { z: true } } },
    name: "surface",
  }];
  if (options.paths?.length) {
    if (typeof f !== "function") {
      throw new Error("plot.surface3d: paths need f as a function (to compute their heights)");
    }
    data.push(...pathTraces("surface3d", options.paths, (x, y) => [x, y, f(x, y)], true));
  }
  const axis = (title: string) => ({
    title: { text: title },
    gridcolor: "#e5e7eb",
    backgroundcolor: "#ffffff",
  });
  return xyFigureFromTraces(data, { ...options, xLabel: undefined, yLabel: undefined }, {
    height: options.height ?? 520,
    scene: {
      xaxis: axis(options.xLabel ?? "x"),
      yaxis: axis(options.yLabel ?? "y"),
      zaxis: axis(options.zLabel ?? "loss"),
      camera: { eye: { x: 1.5, y: -1.5, z: 1.0 } },
      aspectmode: "cube",
    },
    margin: { l: 0, r: 0, b: 0, t: options.title ? 50 : 10 },
  });
}

/** Labelled 2-D points drawn over a {@link decisionBoundary}. */
export interface LabelledPoints {
  /** First coordinates. */
  x: Numbers;
  /** Second coordinates. */
  y: Numbers;
  /** Class label of each point (one colour per class). */
  groups: ArrayLike<number | string> | { readonly data: ArrayLike<number> };
  /** Legend names by label or by index. */
  groupNames?: Readonly<Record<string, string>> | readonly string[];
}

/** Options of {@link decisionBoundary}. */
export interface DecisionBoundaryOptions extends PlotOptions {
  /** Horizontal extent of the grid. */
  xRange: readonly [number, number];
  /** Vertical extent of the grid. */
  yRange: readonly [number, number];
  /** Grid points per axis (default 80). */
  resolution?: number;
  /** The boundary is where the score crosses this level (default 0.5, for probabilities). */
  level?: number;
  /** The data set, drawn on top. */
  points?: LabelledPoints;
  /** Colour bar title (default "P(class 1)"). */
  zLabel?: string;
}

/**
 * The decision boundary of a binary classifier on 2-D inputs: its score over a grid (shaded),
 * the level set `score = level` (a black line) and the data points by class. `predict` gets
 * every grid point at once, as an `[n, 2]` array, so a model runs one batch:
 * `(pts) => noGrad(() => model.forward(tensor(pts)).sigmoid())`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import * as plot from "@kit/plot.ts";
 * // a linear classifier: P(class 1) = sigmoid(3 (x + y))
 * const predict = (pts: number[][]) => pts.map(([x, y]) => 1 / (1 + Math.exp(-3 * (x + y))));
 * const fig = plot.decisionBoundary(predict, {
 *   xRange: [-1, 1], yRange: [-1, 1], resolution: 21,
 *   points: { x: [-0.5, 0.5], y: [-0.5, 0.5], groups: [0, 1], groupNames: ["no", "yes"] },
 * });
 * // the probability grid, the 0.5 line, one trace per class
 * assert.deepStrictEqual([fig.data.length, fig.data[3].name], [4, "yes"]);
 * ```
 */
export function decisionBoundary(
  predict: (points: number[][]) => Numbers,
  options: DecisionBoundaryOptions,
): Figure {
  const res = options.resolution ?? 80;
  const level = options.level ?? 0.5;
  const { xs, ys } = sampleGrid("decisionBoundary", () => 0, options.xRange, options.yRange, res);
  const pts = ys.flatMap((y) => xs.map((x) => [x, y]));
  const scores = toArray(predict(pts), "decisionBoundary predict(points)");
  if (scores.length !== pts.length) {
    throw new Error(
      `plot.decisionBoundary: predict returned ${scores.length} scores for ${pts.length} points; ` +
        "return one score per row of its [n, 2] input",
    );
  }
  const z = ys.map((_, j) => xs.map((_, i) => round6(scores[j * res + i])));
  const prob = scores.every((v) => v >= 0 && v <= 1);
  const data: Trace[] = [{
    type: "contour",
    x: xs,
    y: ys,
    z,
    name: "score",
    colorscale: [[0, "#cfe2f3"], [0.5, "#ffffff"], [1, "#f7d4bf"]],
    ...(prob ? { zmin: 0, zmax: 1 } : { zmid: level }),
    ncontours: 20,
    contours: { coloring: "heatmap", showlines: false },
    line: { width: 0 },
    // The shading reads by itself (blue: class 0, orange: class 1); a colour bar would
    // crowd the legend. Ask for it with {zLabel}.
    showscale: options.zLabel !== undefined,
    colorbar: { title: { text: options.zLabel ?? "P(class 1)" }, thickness: 14, x: 1.02 },
    hovertemplate: "x=%{x:.3g}<br>y=%{y:.3g}<br>score=%{z:.3f}<extra></extra>",
  }, {
    type: "contour",
    x: xs,
    y: ys,
    z,
    name: `boundary (${level})`,
    showscale: false,
    hoverinfo: "skip",
    autocontour: false,
    contours: { start: level, end: level, size: 1, coloring: "none" },
    line: { color: "#000000", width: 2 },
  }];
  if (options.points) {
    const p = options.points;
    const groups = scatter(p.x, p.y, { groups: p.groups, groupNames: p.groupNames });
    for (const t of groups.data) {
      t.marker = {
        ...(t.marker as object),
        size: 7,
        opacity: 1,
        line: { color: "#ffffff", width: 1 },
      };
      data.push(t);
    }
  }
  return xyFigureFromTraces(data, { xLabel: "x1", yLabel: "x2", ...options }, {
    xaxis: { range: [...options.xRange], showgrid: false, zeroline: false },
    yaxis: { range: [...options.yRange], showgrid: false, zeroline: false },
  });
}

// ---------------------------------------------------------------------------------------------
// Sliders and subplots

/** One slider position of {@link slider}: a label and the traces (or a whole figure) it shows. */
export interface SliderFrame {
  /** Slider label of this frame (the swept value, e.g. `0.01` or `"p = 0.5"`). */
  label: string | number;
  /** The traces shown at this position, or a figure whose traces (and title) are taken. */
  data: readonly Trace[] | Figure;
  /** Layout changes for this frame (e.g. a title naming the value). */
  layout?: Layout;
}

/** Options of {@link slider}. */
export interface SliderOptions extends PlotOptions {
  /** Name of the swept hyperparameter, shown as "name = value" above the slider. */
  sliderLabel?: string;
  /** Index of the frame shown first (default 0). */
  active?: number;
  /**
   * Keep the axes ranges fixed across frames (default true), computed from all frames, so
   * moving the slider shows the change rather than a rescaled axis.
   */
  fixedRanges?: boolean;
}

/**
 * A figure with a slider: one frame per value of a swept hyperparameter (lambda, the dropout
 * p, beta2, the width). Every frame must have the same number of traces, in the same order,
 * of the same types; build each frame with another builder and pass the figure as `data`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import * as plot from "@kit/plot.ts";
 * const xs = [0, 1, 2, 3, 4];
 * const fig = plot.slider(
 *   [0.5, 1, 2].map((k) => ({ label: k, data: plot.line(xs, xs.map((x) => k * x)) })),
 *   { sliderLabel: "slope", title: "y = k x", xLabel: "x", yLabel: "y" },
 * );
 * assert.strictEqual(fig.frames.length, 3);
 * ```
 */
export function slider(frames: readonly SliderFrame[], options: SliderOptions = {}): Figure {
  if (frames.length === 0) throw new Error("plot.slider: give at least one frame");
  const active = options.active ?? 0;
  if (!Number.isInteger(active) || active < 0 || active >= frames.length) {
    throw new RangeError(
      `plot.slider: active=${active} is not a frame index (there are ${frames.length} frames)`,
    );
  }
  const first = frames[0].data instanceof Figure ? frames[0].data : null;
  const built: Frame[] = frames.map((fr, i) => {
    const traces = fr.data instanceof Figure ? fr.data.data : fr.data.map((t) => ({ ...t }));
    if (i > 0) {
      const n0 = frames[0].data instanceof Figure
        ? (frames[0].data as Figure).data.length
        : (frames[0].data as Trace[]).length;
      if (traces.length !== n0) {
        throw new Error(
          `plot.slider: frame ${i} (label ${fr.label}) has ${traces.length} traces but frame 0 ` +
            `has ${n0}; every frame needs the same traces in the same order`,
        );
      }
    }
    const frame: Frame = { name: String(fr.label), data: traces };
    if (fr.layout) frame.layout = fr.layout;
    return frame;
  });
  const label = options.sliderLabel ?? "";
  const steps = built.map((fr) => ({
    label: fr.name,
    method: "animate",
    args: [[fr.name], {
      mode: "immediate",
      frame: { duration: 0, redraw: true },
      transition: { duration: 0 },
    }],
  }));
  const baseLayout: Layout = first ? stripTemplateKeys(first.layout) : {};
  const extra: Layout = {
    sliders: [{
      active,
      steps,
      currentvalue: { prefix: label ? `${label} = ` : "", font: { size: 14 } },
      pad: { t: 50, b: 10 },
      x: 0.05,
      len: 0.9,
    }],
  };
  const fixed = options.fixedRanges ?? true;
  if (fixed) {
    const xr = rangeOf(built, "x", Boolean(options.logX));
    const yr = rangeOf(built, "y", Boolean(options.logY));
    if (xr && !options.xRange) extra.xaxis = { range: xr };
    if (yr && !options.yRange) extra.yaxis = { range: yr };
  }
  const activeData = built[active].data;
  const layout = deepMerge(
    deepMerge(baseLayout, extra),
    built[active].layout ?? {},
  );
  return xyFigureFromTraces(activeData, options, layout, built);
}

/** Options of {@link subplots}. */
export interface SubplotOptions extends PlotOptions {
  /** Number of columns (default: all figures in one row, at most 3). */
  cols?: number;
  /** Gap between columns, as a fraction of the width (default 0.08). */
  xGap?: number;
  /** Gap between rows, as a fraction of the height (default 0.12). */
  yGap?: number;
}

/**
 * Several 2-D figures side by side on a grid, each keeping its traces, axis titles and title
 * (as a panel heading).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import * as plot from "@kit/plot.ts";
 * const fig = plot.subplots([
 *   plot.line([1, 2, 3], { title: "left" }),
 *   plot.line([3, 2, 1], { title: "right" }),
 * ], { title: "Two panels" });
 * assert.strictEqual(fig.data[1].xaxis, "x2"); // the second panel gets its own axes
 * ```
 */
export function subplots(figures: readonly Figure[], options: SubplotOptions = {}): Figure {
  if (figures.length === 0) throw new Error("plot.subplots: give at least one figure");
  const n = figures.length;
  const cols = options.cols ?? Math.min(n, 3);
  const rows = Math.ceil(n / cols);
  const xGap = options.xGap ?? 0.08;
  const yGap = options.yGap ?? (rows > 1 ? 0.14 : 0);
  const w = (1 - xGap * (cols - 1)) / cols;
  const h = (1 - yGap * (rows - 1)) / rows;
  const data: Trace[] = [];
  const layout: Layout = { annotations: [] as unknown[] };
  const inLegend = new Set<string>();
  figures.forEach((fig, i) => {
    if (fig.layout.scene || fig.data.some((t) => t.type === "surface")) {
      throw new Error(`plot.subplots: figure ${i} is 3-D; 3-D figures cannot be subplots`);
    }
    const r = Math.floor(i / cols);
    const c = i % cols;
    const k = i === 0 ? "" : String(i + 1);
    const x0 = c * (w + xGap);
    const y1 = 1 - r * (h + yGap);
    for (const t of fig.data) {
      data.push({ ...t, ...sharedLegend(t, inLegend), xaxis: `x${k}`, yaxis: `y${k}` });
    }
    const xa = isPlainObject(fig.layout.xaxis) ? fig.layout.xaxis : {};
    const ya = isPlainObject(fig.layout.yaxis) ? fig.layout.yaxis : {};
    layout[`xaxis${k}`] = { ...xa, domain: [round6(x0), round6(x0 + w)], anchor: `y${k}` };
    const yaxis: Record<string, unknown> = {
      ...ya,
      domain: [round6(y1 - h), round6(y1)],
      anchor: `x${k}`,
    };
    if (yaxis.scaleanchor === "x") yaxis.scaleanchor = `x${k}`;
    layout[`yaxis${k}`] = yaxis;
    if (fig.title) {
      (layout.annotations as unknown[]).push({
        text: `<b>${escapeHtml(fig.title)}</b>`,
        x: round6(x0 + w / 2),
        y: round6(y1),
        xref: "paper",
        yref: "paper",
        xanchor: "center",
        yanchor: "bottom",
        yshift: 6,
        showarrow: false,
        font: { size: 13 },
      });
    }
  });
  layout.height = options.height ?? Math.max(380, 340 * rows + 40);
  const { title: _t, ...rest } = options;
  const fig = xyFigureFromTraces(data, { ...rest, xLabel: undefined, yLabel: undefined }, layout);
  const top = options.title !== undefined ? 90 : 50;
  return fig.withLayout({
    ...(options.title !== undefined ? { title: { text: options.title } } : {}),
    margin: { t: top },
    ...(options.layout ?? {}),
  });
}

// ---------------------------------------------------------------------------------------------
// Internals

/**
 * One legend for all panels: unnamed traces stay out (they would show as "trace 3"), and a trace
 * with the name and colour of one listed already joins its legend group instead of repeating
 * it, so one click hides "train" in every panel.
 */
function sharedLegend(t: Trace, inLegend: Set<string>): Partial<Trace> {
  if (t.name === undefined) return { showlegend: false };
  const style = (t.line as { color?: unknown } | undefined)?.color ??
    (t.marker as { color?: unknown } | undefined)?.color ?? "";
  const key = `${t.name}|${String(style)}`;
  const group = { legendgroup: t.legendgroup ?? key };
  if (t.showlegend === false) return group;
  if (inLegend.has(key)) return { ...group, showlegend: false };
  inLegend.add(key);
  return group;
}

function templateLayout(hasTitle: boolean): Layout {
  return {
    font: { family: FONT, size: 13, color: "#1f2937" },
    colorway: [...COLORS],
    paper_bgcolor: "#ffffff",
    plot_bgcolor: "#ffffff",
    margin: { l: 64, r: 24, t: hasTitle ? 56 : 24, b: 56 },
    height: 420,
    autosize: true,
    hovermode: "closest",
    legend: { bgcolor: "rgba(255,255,255,0.8)", borderwidth: 0 },
    hoverlabel: { font: { family: FONT } },
    title: { x: 0.02, xanchor: "left", font: { size: 16 } },
  };
}

const AXIS_STYLE = {
  gridcolor: "#e5e7eb",
  zerolinecolor: "#cbd5e1",
  linecolor: "#9ca3af",
  showline: true,
  ticks: "outside",
  tickcolor: "#9ca3af",
  automargin: true,
};

/** Axis style under every cartesian axis the layout names (xaxis, yaxis2, ...). */
function styleAxes(layout: Layout): void {
  const names = new Set(["xaxis", "yaxis"]);
  for (const k of Object.keys(layout)) if (/^[xy]axis\d*$/.test(k)) names.add(k);
  for (const k of [...names].sort()) {
    const cur = isPlainObject(layout[k]) ? layout[k] as Layout : {};
    layout[k] = deepMerge(AXIS_STYLE, cur);
  }
}

/** Keys the template sets; dropped when a frame's figure layout seeds a slider's layout. */
function stripTemplateKeys(layout: Layout): Layout {
  const out: Layout = {};
  for (const [k, v] of Object.entries(layout)) {
    if (k === "height" || k === "width") continue;
    if (/^[xy]axis\d*$/.test(k) && isPlainObject(v)) {
      const { range: _r, ...axis } = v;
      out[k] = axis;
    } else out[k] = v;
  }
  return out;
}

function applyOptions(layout: Layout, o: PlotOptions): Layout {
  const l: Layout = {};
  if (o.title !== undefined) l.title = { text: o.title };
  const xa: Layout = {};
  const ya: Layout = {};
  if (o.xLabel !== undefined) xa.title = { text: o.xLabel };
  if (o.yLabel !== undefined) ya.title = { text: o.yLabel };
  if (o.logX) xa.type = "log";
  if (o.logY) ya.type = "log";
  if (o.xRange) xa.range = o.logX ? o.xRange.map(Math.log10) : [...o.xRange];
  if (o.yRange) ya.range = o.logY ? o.yRange.map(Math.log10) : [...o.yRange];
  if (Object.keys(xa).length) l.xaxis = xa;
  if (Object.keys(ya).length) l.yaxis = ya;
  if (o.height !== undefined) l.height = o.height;
  if (o.width !== undefined) l.width = o.width;
  if (o.showLegend !== undefined) l.showlegend = o.showLegend;
  return deepMerge(deepMerge(layout, l), o.layout ?? {});
}

function xyFigureFromTraces(
  data: readonly Trace[],
  options: PlotOptions,
  layout: Layout = {},
  frames?: Frame[],
): Figure {
  return figure({ data: [...data], layout: applyOptions(layout, options), frames });
}

function xyFigure(series: Series[], options: PlotOptions, defaultMode: string): Figure {
  const data = series.map((s, i): Trace => {
    const y = toArray(s.y, s.name ? `series "${s.name}" y` : "y");
    const x = s.x === undefined ? y.map((_, j) => j) : toArray(s.x, "x");
    checkLength(defaultMode === "lines" ? "line" : "scatter", "x", x.length, "y", y.length);
    const color = s.color ?? COLORS[i % COLORS.length];
    const mode = s.mode ?? defaultMode;
    const t: Trace = { type: "scatter", mode, x, y };
    if (s.name !== undefined) t.name = s.name;
    if (mode.includes("lines")) t.line = { color, width: 2, dash: s.dash ?? "solid" };
    if (mode.includes("markers")) t.marker = { color };
    return s.trace ? deepMerge(t, s.trace) : t;
  });
  const named = data.filter((t) => t.name !== undefined).length;
  return xyFigureFromTraces(data, { showLegend: named > 1, ...options });
}

function parseSeriesArgs(
  fn: string,
  a: unknown,
  b: unknown,
  c: unknown,
): { series: Series[]; options: PlotOptions } {
  if (Array.isArray(a) && a.length > 0 && isPlainObject(a[0]) && "y" in a[0]) {
    return { series: a as Series[], options: (b ?? {}) as PlotOptions };
  }
  if (!isNumbersLike(a)) {
    throw new TypeError(
      `plot.${fn}: expected numbers, a tensor or an array of {name, x, y} series as first argument`,
    );
  }
  if (b === undefined || (isPlainObject(b) && !isSeriesRecord(b) && !isNumbersLike(b))) {
    return { series: [{ y: a as Numbers }], options: (b ?? {}) as PlotOptions };
  }
  const options = (c ?? {}) as PlotOptions;
  if (isNumbersLike(b)) return { series: [{ x: a as Numbers, y: b as Numbers }], options };
  const series = Object.entries(b as Record<string, Numbers>).map(([name, y]) => ({
    name,
    x: a as Numbers,
    y,
  }));
  return { series, options };
}

function isSeriesRecord(v: Record<string, unknown>): boolean {
  const vals = Object.values(v);
  return vals.length > 0 && vals.every(isNumbersLike);
}

function isNumbersLike(v: unknown): boolean {
  if (v === null || typeof v !== "object") return false;
  if (ArrayBuffer.isView(v)) return true;
  if (Array.isArray(v)) return v.every((x) => typeof x === "number" || typeof x === "string");
  const d = (v as { data?: unknown }).data;
  return d !== undefined && (ArrayBuffer.isView(d) || Array.isArray(d));
}

function toArray(v: Numbers, what: string): number[] {
  const src = ArrayBuffer.isView(v) || Array.isArray(v)
    ? v as ArrayLike<number>
    : (v as { data?: ArrayLike<number> }).data;
  if (src === undefined) throw new TypeError(`plot: ${what} is not an array of numbers`);
  const out = Array.from(src, Number);
  return out;
}

function toGrid(z: Grid, fn: string): number[][] {
  if (Array.isArray(z)) return (z as ArrayLike<number>[]).map((r) => Array.from(r, Number));
  const t = z as { data: ArrayLike<number>; shape: readonly number[] };
  if (!t.shape || t.shape.length !== 2) {
    throw new Error(
      `plot.${fn}: expected a 2-D grid (rows of numbers or a 2-D tensor), got shape [${
        t.shape?.join(", ")
      }]`,
    );
  }
  const [r, c] = t.shape;
  return Array.from(
    { length: r },
    (_, i) => Array.from({ length: c }, (_, j) => t.data[i * c + j]),
  );
}

function labelsOrNumbers(v: readonly (number | string)[] | Numbers): (number | string)[] {
  if (Array.isArray(v)) return [...v];
  return toArray(v as Numbers, "labels");
}

function checkLength(fn: string, an: string, a: number, bn: string, b: number): void {
  if (a !== b) {
    throw new Error(
      `plot.${fn}: ${an} has ${a} values but ${bn} has ${b}; give them the same length`,
    );
  }
}

function sampleGrid(
  fn: string,
  f: (x: number, y: number) => number,
  xRange: readonly [number, number] | undefined,
  yRange: readonly [number, number] | undefined,
  res: number,
): { xs: number[]; ys: number[]; z: number[][] } {
  if (!xRange || !yRange) throw new Error(`plot.${fn}: give {xRange: [a, b], yRange: [c, d]}`);
  if (!Number.isInteger(res) || res < 2) {
    throw new RangeError(`plot.${fn}: resolution must be an integer >= 2, got ${res}`);
  }
  const lin = ([a, b]: readonly [number, number]) =>
    Array.from({ length: res }, (_, i) => round6(a + ((b - a) * i) / (res - 1)));
  const xs = lin(xRange);
  const ys = lin(yRange);
  const z = ys.map((y) => xs.map((x) => round6(f(x, y))));
  return { xs, ys, z };
}

function pathTraces(
  fn: string,
  paths: readonly Path[],
  at: (x: number, y: number) => number[],
  threeD: boolean,
): Trace[] {
  return paths.map((p, i) => {
    const pts = pathPoints(fn, p);
    const color = p.color ?? COLORS[(i + 1) % COLORS.length];
    const coords = pts.map(([x, y]) => at(x, y));
    const xs = coords.map((c) => c[0]);
    const ys = coords.map((c) => c[1]);
    const n = pts.length;
    const symbols = pts.map((_, j) => (j === 0 ? "circle" : j === n - 1 ? "x" : "circle"));
    const sizes = pts.map((_, j) => (j === 0 || j === n - 1 ? 9 : n > 60 ? 0 : 4));
    if (threeD) {
      return {
        type: "scatter3d",
        mode: "lines+markers",
        name: p.name,
        x: xs,
        y: ys,
        z: coords.map((c) => round6(c[2])),
        line: { color, width: 5 },
        marker: { color, size: sizes.map((s) => s / 2) },
      };
    }
    return {
      type: "scatter",
      mode: "lines+markers",
      name: p.name,
      x: xs,
      y: ys,
      line: { color, width: 2 },
      marker: { color, size: sizes, symbol: symbols, line: { color: "#ffffff", width: 1 } },
    };
  });
}

function pathPoints(fn: string, p: Path): [number, number][] {
  const pts = p.points;
  if (Array.isArray(pts)) {
    return (pts as number[][]).map((q, j) => {
      if (q.length !== 2) {
        throw new Error(
          `plot.${fn}: path "${p.name}" point ${j} has ${q.length} coordinates; give [x, y] pairs`,
        );
      }
      return [Number(q[0]), Number(q[1])];
    });
  }
  if ("shape" in pts && "data" in pts) {
    if (pts.shape.length !== 2 || pts.shape[1] !== 2) {
      throw new Error(
        `plot.${fn}: path "${p.name}" tensor has shape [${pts.shape.join(", ")}]; expected [n, 2]`,
      );
    }
    return Array.from({ length: pts.shape[0] }, (_, j) => [pts.data[2 * j], pts.data[2 * j + 1]]);
  }
  const o = pts as { x: Numbers; y: Numbers };
  const xs = toArray(o.x, `path "${p.name}" x`);
  const ys = toArray(o.y, `path "${p.name}" y`);
  checkLength(fn, `path "${p.name}" x`, xs.length, "y", ys.length);
  return xs.map((x, j) => [x, ys[j]]);
}

// --- training histories

interface Run {
  name: string;
  columns: Map<string, number[]>;
  /** `bestEpoch` of the history (early stopping), marked on the validation curve. */
  bestEpoch: number | null;
}

function run(name: string, h: unknown): Run {
  const best = h !== null && typeof h === "object" && !Array.isArray(h)
    ? (h as { bestEpoch?: unknown }).bestEpoch
    : undefined;
  return { name, columns: columns(h), bestEpoch: typeof best === "number" ? best : null };
}

function normalizeRuns(h: unknown): Run[] {
  if (Array.isArray(h)) {
    if (h.length === 0) return [];
    if (Array.isArray(h[0]) || (isPlainObject(h[0]) && looksColumnar(h[0]))) {
      return h.map((x, i) => run(`run ${i + 1}`, x));
    }
    return [run("run 1", h)];
  }
  if (isPlainObject(h)) {
    if (looksColumnar(h) || Array.isArray(h.epochs) || Array.isArray(h.history)) {
      return [run("run 1", h)];
    }
    return Object.entries(h).map(([name, x]) => run(name, x));
  }
  if (h !== null && typeof h === "object") {
    // a class instance (e.g. a History object) holding its records
    return [run("run 1", h)];
  }
  throw new TypeError("plot.trainingCurves: expected a history, an array or a {name: history}");
}

function looksColumnar(o: Record<string, unknown>): boolean {
  const vals = Object.values(o);
  return vals.length > 0 &&
    vals.some((v) => ArrayBuffer.isView(v) || (Array.isArray(v) && typeof v[0] === "number"));
}

function columns(h: unknown): Map<string, number[]> {
  const out = new Map<string, number[]>();
  let records: unknown = h;
  if (!Array.isArray(h) && h !== null && typeof h === "object") {
    const o = h as Record<string, unknown>;
    if (Array.isArray(o.epochs)) records = o.epochs;
    else if (Array.isArray(o.history)) records = o.history;
  }
  if (Array.isArray(records)) {
    const keys: string[] = [];
    for (const r of records) {
      for (const [k, v] of Object.entries(r as object)) {
        if (typeof v === "number" && !keys.includes(k)) keys.push(k);
      }
    }
    for (const k of keys) {
      out.set(
        k,
        records.map((r) => {
          const v = (r as Record<string, unknown>)[k];
          return typeof v === "number" ? v : NaN;
        }),
      );
    }
    return out;
  }
  for (const [k, v] of Object.entries(records as object)) {
    // Empty arrays (no accuracy when regressing, no validation data) count as absent.
    if (
      (ArrayBuffer.isView(v) || (Array.isArray(v) && v.every((x) => typeof x === "number"))) &&
      (v as ArrayLike<number>).length > 0
    ) {
      out.set(k, Array.from(v as ArrayLike<number>, Number));
    }
  }
  return out;
}

const TRAIN_PREFIXES = ["train"];
const VAL_PREFIXES = ["val", "valid", "validation", "test"];

function findMetric(
  cols: Map<string, number[]>,
  metric: string,
): { split: string; values: number[] }[] {
  const cap = metric.charAt(0).toUpperCase() + metric.slice(1);
  const pick = (prefixes: string[]) => {
    for (const p of prefixes) {
      for (const k of [`${p}${cap}`, `${p}_${metric}`]) {
        const v = cols.get(k);
        if (v) return v;
      }
    }
    return undefined;
  };
  const found: { split: string; values: number[] }[] = [];
  const tr = pick(TRAIN_PREFIXES);
  const va = pick(VAL_PREFIXES);
  if (tr) found.push({ split: "train", values: tr });
  if (va) found.push({ split: "validation", values: va });
  if (found.length === 0 && cols.has(metric)) {
    found.push({ split: metric, values: cols.get(metric)! });
  }
  return found;
}

function defaultMetrics(all: Map<string, number[]>[]): string[] {
  const out: string[] = [];
  for (const m of ["loss", "acc", "accuracy"]) {
    if (
      all.some((c) => findMetric(c, m).some((f) => f.split === "train" || f.split === "validation"))
    ) {
      out.push(m);
    }
  }
  if (out.includes("acc") && out.includes("accuracy")) out.pop();
  return out;
}

function metricTitle(m: string): string {
  const names: Record<string, string> = {
    loss: "loss",
    acc: "accuracy",
    accuracy: "accuracy",
    lr: "learning rate",
    weightNorm: "weight norm",
  };
  return names[m] ?? m;
}

// --- slider ranges

function rangeOf(frames: Frame[], axis: "x" | "y", log: boolean): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const f of frames) {
    for (const t of f.data) {
      if (t.type !== undefined && t.type !== "scatter" && t.type !== "bar") return null;
      if (t.xaxis !== undefined && t.xaxis !== "x") return null;
      const v = t[axis];
      if (!Array.isArray(v)) continue;
      for (const a of v) {
        if (typeof a !== "number" || !Number.isFinite(a)) continue;
        if (log && a <= 0) continue;
        const b = log ? Math.log10(a) : a;
        if (b < lo) lo = b;
        if (b > hi) hi = b;
      }
    }
  }
  if (!(hi >= lo)) return null;
  if (frames.some((f) => f.data.some((t) => t.type === "bar")) && axis === "y" && !log) {
    lo = Math.min(lo, 0);
  }
  const pad = hi > lo ? (hi - lo) * 0.05 : Math.abs(hi) * 0.05 || 1;
  return [round6(lo - pad), round6(hi + pad)];
}

function sliderPrefix(layout: Layout): string {
  const s = layout.sliders;
  if (!Array.isArray(s) || !isPlainObject(s[0])) return "";
  const cv = s[0].currentvalue;
  if (!isPlainObject(cv) || typeof cv.prefix !== "string") return "";
  return cv.prefix.replace(/\s*=\s*$/, "");
}

// --- HTML fallback

/**
 * A div plus a script that draws the figure once plotly.js is there: `window.Plotly` when the
 * page has it; otherwise one shared promise that loads it (require.js in the classic Notebook,
 * where a plain script tag would hit "Mismatched anonymous define()"; a script tag elsewhere).
 * The promise is cached on `window`, so several figures never load plotly.js twice and none
 * draws before it has loaded.
 */
function fallbackHtml(id: string, json: string, layout: Layout): string {
  const height = typeof layout.height === "number" ? layout.height : 420;
  const width = typeof layout.width === "number" ? `${layout.width}px` : "100%";
  const src = PLOTLY_CDN;
  const amdPath = src.replace(/\.js$/, "");
  return `<div id="${id}" class="kit-plot" style="width:${width};height:${height}px;"></div>
<script type="text/javascript">
(function () {
  var fig = ${scriptSafe(json)};
  var el = document.getElementById(${JSON.stringify(id)});
  function loadPlotly() {
    if (window.Plotly) return Promise.resolve(window.Plotly);
    if (!window.__kitPlotly) {
      window.__kitPlotly = new Promise(function (resolve, reject) {
        if (typeof window.requirejs === "function" && typeof window.define === "function" && window.define.amd) {
          window.requirejs.config({ paths: { "kit-plotly": ${JSON.stringify(amdPath)} } });
          // plotly.js 4 sets window.Plotly and defines no AMD module: P is then undefined.
          window.requirejs(["kit-plotly"], function (P) {
            P = P || window.Plotly;
            if (P) { window.Plotly = P; resolve(P); } else reject(new Error("plotly.js did not load"));
          }, reject);
        } else {
          var s = document.createElement("script");
          s.src = ${JSON.stringify(src)};
          s.onload = function () { resolve(window.Plotly); };
          s.onerror = function () { reject(new Error("could not load " + s.src)); };
          document.head.appendChild(s);
        }
      }).catch(function (e) { window.__kitPlotly = null; throw e; });
    }
    return window.__kitPlotly;
  }
  loadPlotly().then(function (Plotly) { return Plotly.newPlot(el, fig); }).catch(function (e) {
    el.style.height = "auto";
    el.textContent = "Plotly figure not drawn: " + (e && e.message ? e.message : e);
  });
})();
</script>`;
}

/** JSON that is safe inside a <script> element (no "</script>", no "<!--", no U+2028/9). */
function scriptSafe(json: string): string {
  return json.replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

// --- generic helpers

/** FNV-1a 32-bit hash, hex: a short, stable content fingerprint for figure ids. */
function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, "0");
}

function round6(v: number): number {
  return Number.isFinite(v) ? Number(v.toPrecision(6)) : v;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v) || ArrayBuffer.isView(v)) {
    return false;
  }
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Recursive merge of plain objects; arrays and other values of `b` replace those of `a`. */
function deepMerge(a: Layout, b: Layout): Layout {
  const out: Layout = { ...a };
  for (const [k, v] of Object.entries(b)) {
    if (v === undefined) continue;
    const cur = out[k];
    out[k] = isPlainObject(cur) && isPlainObject(v) ? deepMerge(cur, v) : v;
  }
  return out;
}

/**
 * A JSON-ready deep copy: typed arrays become plain arrays, tensors (`{data, shape}` class
 * instances) become nested arrays via their `toArray()`, non-finite numbers become null.
 */
function sanitize(v: unknown): unknown {
  if (typeof v === "number") return Number.isFinite(v) ? v : null;
  if (v === null || typeof v !== "object") return v;
  if (ArrayBuffer.isView(v)) {
    return Array.from(v as unknown as ArrayLike<number>, (x) => sanitize(x));
  }
  if (Array.isArray(v)) return v.map(sanitize);
  if (!isPlainObject(v)) {
    const t = v as { toArray?: () => unknown; data?: unknown };
    if (typeof t.toArray === "function") return sanitize(t.toArray());
    if (ArrayBuffer.isView(t.data)) return sanitize(t.data);
    if (v instanceof Figure) return v.toJSON();
  }
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as object)) {
    if (x !== undefined) out[k] = sanitize(x);
  }
  return out;
}
