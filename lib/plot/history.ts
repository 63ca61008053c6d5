/**
 * Training curves from training histories (`fit()`'s columns, arrays of per-epoch records, several
 * runs).
 *
 * @module
 */
import { deepMerge, isPlainObject } from "./_template.ts";
import { subplots } from "./compose.ts";
import { Figure, figure } from "./figure.ts";
import { COLORS, type Layout, type PlotOptions, type Trace } from "./types.ts";
import { word } from "../lang.ts";

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
        const shown = splitName(split);
        const name = single ? shown : `${run.name} (${shown})`;
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
              name: single ? word("plot.bestEpoch") : word("plot.runBestEpoch", { run: run.name }),
              legendgroup: single
                ? word("plot.bestEpoch")
                : word("plot.runBestEpoch", { run: run.name }),
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
        xaxis: { title: { text: word("plot.epoch") } },
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
      return h.map((x, i) => run(word("plot.run", { n: i + 1 }), x));
    }
    return [run(word("plot.run", { n: 1 }), h)];
  }
  if (isPlainObject(h)) {
    if (looksColumnar(h) || Array.isArray(h.epochs) || Array.isArray(h.history)) {
      return [run(word("plot.run", { n: 1 }), h)];
    }
    return Object.entries(h).map(([name, x]) => run(name, x));
  }
  if (h !== null && typeof h === "object") {
    // a class instance (e.g. a History object) holding its records
    return [run(word("plot.run", { n: 1 }), h)];
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
    loss: word("plot.loss"),
    acc: word("plot.accuracy"),
    accuracy: word("plot.accuracy"),
    lr: word("plot.learningRate"),
    weightNorm: word("plot.weightNorm"),
  };
  return names[m] ?? m;
}

/** The legend name of a split: train and validation in the notebook's language. */
function splitName(split: string): string {
  return split === "train"
    ? word("plot.train")
    : split === "validation"
    ? word("plot.validation")
    : split;
}
