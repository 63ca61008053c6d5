/**
 * Argument parsing and data helpers shared by the builders (series, grids, optimizer paths).
 * Internal.
 *
 * @module
 */
import { applyOptions, deepMerge, isPlainObject, round6 } from "./_template.ts";
import { Figure, figure } from "./figure.ts";
import {
  COLORS,
  type Frame,
  type Grid,
  type Layout,
  type Numbers,
  type PlotOptions,
  type Series,
  type Trace,
} from "./types.ts";

export function xyFigureFromTraces(
  data: readonly Trace[],
  options: PlotOptions,
  layout: Layout = {},
  frames?: Frame[],
): Figure {
  return figure({ data: [...data], layout: applyOptions(layout, options), frames });
}

export function xyFigure(series: Series[], options: PlotOptions, defaultMode: string): Figure {
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

export function parseSeriesArgs(
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

export function isNumbersLike(v: unknown): boolean {
  if (v === null || typeof v !== "object") return false;
  if (ArrayBuffer.isView(v)) return true;
  if (Array.isArray(v)) return v.every((x) => typeof x === "number" || typeof x === "string");
  const d = (v as { data?: unknown }).data;
  return d !== undefined && (ArrayBuffer.isView(d) || Array.isArray(d));
}

export function toArray(v: Numbers, what: string): number[] {
  const src = ArrayBuffer.isView(v) || Array.isArray(v)
    ? v as ArrayLike<number>
    : (v as { data?: ArrayLike<number> }).data;
  if (src === undefined) throw new TypeError(`plot: ${what} is not an array of numbers`);
  const out = Array.from(src, Number);
  return out;
}

export function toGrid(z: Grid, fn: string): number[][] {
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

export function labelsOrNumbers(v: readonly (number | string)[] | Numbers): (number | string)[] {
  if (Array.isArray(v)) return [...v];
  return toArray(v as Numbers, "labels");
}

export function checkLength(fn: string, an: string, a: number, bn: string, b: number): void {
  if (a !== b) {
    throw new Error(
      `plot.${fn}: ${an} has ${a} values but ${bn} has ${b}; give them the same length`,
    );
  }
}

export function sampleGrid(
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
