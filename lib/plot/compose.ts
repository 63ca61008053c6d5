/**
 * Figures made of figures: sliders (one frame per swept value) and subplots.
 *
 * @module
 */
import { xyFigureFromTraces } from "./_data.ts";
import { deepMerge, isPlainObject, round6, sharedLegend, stripTemplateKeys } from "./_template.ts";
import { Figure } from "./figure.ts";
import { escapeHtml } from "./html.ts";
import type { Frame, Layout, PlotOptions, Trace } from "./types.ts";

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
