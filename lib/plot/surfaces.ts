/**
 * Functions of two variables: contours with optimizer paths, heatmaps, 3-D surfaces and decision
 * boundaries.
 *
 * @module
 */
import {
  checkLength,
  labelsOrNumbers,
  sampleGrid,
  toArray,
  toGrid,
  xyFigureFromTraces,
} from "./_data.ts";
import { round6 } from "./_template.ts";
import { scatter } from "./basic.ts";
import { Figure } from "./figure.ts";
import { word } from "../lang.ts";
import { COLORS, type Grid, type Numbers, type PlotOptions, type Trace } from "./types.ts";

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
    colorbar: {
      title: { text: options.logScale ? word("plot.log10Loss") : word("plot.loss") },
      thickness: 14,
    },
    hovertemplate: "x=%{x:.3g}<br>y=%{y:.3g}<br>f=%{z:.4g}<extra></extra>",
    name: word("plot.loss"),
  }];
  data.push(...pathTraces("contourPaths", options.paths ?? [], (x, y) => [x, y], false));
  if (options.minimum) {
    data.push({
      type: "scatter",
      mode: "markers",
      x: [options.minimum[0]],
      y: [options.minimum[1]],
      name: word("plot.minimum"),
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
    name: word("plot.surface"),
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
      zaxis: axis(options.zLabel ?? word("plot.loss")),
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
    name: word("plot.score"),
    colorscale: [[0, "#cfe2f3"], [0.5, "#ffffff"], [1, "#f7d4bf"]],
    ...(prob ? { zmin: 0, zmax: 1 } : { zmid: level }),
    ncontours: 20,
    contours: { coloring: "heatmap", showlines: false },
    line: { width: 0 },
    // The shading reads by itself (blue: class 0, orange: class 1); a colour bar would
    // crowd the legend. Ask for it with {zLabel}.
    showscale: options.zLabel !== undefined,
    colorbar: {
      title: { text: options.zLabel ?? word("plot.probClass1") },
      thickness: 14,
      x: 1.02,
    },
    hovertemplate: `x=%{x:.3g}<br>y=%{y:.3g}<br>${word("plot.score")}=%{z:.3f}<extra></extra>`,
  }, {
    type: "contour",
    x: xs,
    y: ys,
    z,
    name: word("plot.boundary", { level }),
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
